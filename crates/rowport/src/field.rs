//! [`Field`]: one column of a file mapped to one attribute of a table, through a widget.

use std::fmt;
use std::sync::Arc;

use crate::record::Record;
use crate::value::Value;
use crate::widgets::{RelationKind, Widget};

/// The separator of a relation path: `author__name` is the `name` of the row `author`
/// points to, as in Django.
pub const PATH_SEPARATOR: &str = "__";

/// One column of a file, mapped to a table attribute through a widget.
///
/// ```
/// use std::sync::Arc;
/// use rowport::{Field, Value};
/// use rowport::widgets::CharWidget;
///
/// // The author's name, exported through a join; never written on import.
/// let author_name = Field::new("author_name", Arc::new(CharWidget::new(false)))
///     .attribute("author__name");
/// assert!(author_name.is_export_only());
///
/// // A computed column: a closure over the exported record.
/// let label = Field::new("label", Arc::new(CharWidget::new(false))).dehydrate(
///     &["name", "author__name"],
///     |record| {
///         let name = record.get("name").map(Value::to_string).unwrap_or_default();
///         let author = record.get("author__name").map(Value::to_string).unwrap_or_default();
///         Value::Text(format!("{name} by {author}"))
///     },
/// );
/// assert!(label.is_export_only());
/// ```
#[derive(Debug, Clone)]
pub struct Field {
    /// The field's key in the resource.
    pub name: String,
    /// The header in the file.
    pub column_name: String,
    /// The table column it is stored in (for a many-to-many field, the field's name), or a
    /// relation path through foreign keys (`author__name`, `author__publisher__name`),
    /// which is exported through joins and never written on import.
    pub attribute: String,
    /// Reads and writes the cells.
    pub widget: Arc<dyn Widget>,
    /// Used when the cleaned value is null or empty text.
    pub default: Option<Value>,
    /// Exported and compared, never written on import.
    pub readonly: bool,
    /// When false, a cell that cleans to null leaves the stored value as it is instead of
    /// overwriting it (django-import-export's `saves_null_values`). Default true.
    pub saves_null_values: bool,
    /// Computes the exported value instead of reading the attribute. The field is then
    /// export only.
    pub dehydrate: Option<Dehydrate>,
}

/// How a computed export column gets its value from the exported record.
///
/// The record holds every column of the table (by column name), the value of every
/// exported field (by field name: `author` is the author's lookup value), and each
/// relation path the dehydrate names (`author__name`). All of it comes from the export's
/// one scan, never from a query per row.
#[derive(Clone)]
pub enum Dehydrate {
    /// A Rust closure, with the relation paths it reads.
    Closure {
        /// Relation paths the closure reads (`author__name`); the table's own columns and
        /// the exported fields are always in the record.
        uses: Vec<String>,
        /// The function.
        function: Arc<dyn Fn(&Record) -> Value + Send + Sync>,
    },
    /// A template over the record (`"{{ name }} by {{ author.name }}"`, minijinja's
    /// syntax), as `rowport.toml` declares it: `author.name` reads the path `author__name`;
    /// a null value renders as nothing.
    Template(String),
}

impl fmt::Debug for Dehydrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dehydrate::Closure { uses, .. } => f
                .debug_struct("Closure")
                .field("uses", uses)
                .finish_non_exhaustive(),
            Dehydrate::Template(source) => f.debug_tuple("Template").field(source).finish(),
        }
    }
}

impl Dehydrate {
    /// Checks a template's syntax; the error is the template engine's message.
    pub fn template(source: &str) -> Result<Dehydrate, String> {
        let env = minijinja::Environment::new();
        env.template_from_str(source)
            .map_err(|e| template_message(&e))?;
        Ok(Dehydrate::Template(source.to_owned()))
    }
}

/// A template error in one line, without the engine's source listing.
pub(crate) fn template_message(e: &minijinja::Error) -> String {
    let mut message = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_owned);
    if let Some(line) = e.line() {
        message = format!("{message} (line {line})");
    }
    message
}

impl Field {
    /// A field whose name, column name and attribute are all `name`.
    pub fn new(name: &str, widget: Arc<dyn Widget>) -> Self {
        Field {
            name: name.to_owned(),
            column_name: name.to_owned(),
            attribute: name.to_owned(),
            widget,
            default: None,
            readonly: false,
            saves_null_values: true,
            dehydrate: None,
        }
    }

    /// Sets the header this field reads and writes.
    pub fn column_name(mut self, column_name: &str) -> Self {
        self.column_name = column_name.to_owned();
        self
    }

    /// Sets the table column this field is stored in.
    pub fn attribute(mut self, attribute: &str) -> Self {
        self.attribute = attribute.to_owned();
        self
    }

    /// Sets the value used for empty cells.
    pub fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// Marks the field read-only: exported, never imported.
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.readonly = readonly;
        self
    }

    /// Sets whether a cell that cleans to null overwrites the stored value.
    pub fn saves_null_values(mut self, saves: bool) -> Self {
        self.saves_null_values = saves;
        self
    }

    /// Computes the exported value with `function` over the exported record, which holds
    /// the table's columns, the exported fields, and the relation paths in `uses`. The
    /// result is rendered by the field's widget. The field becomes export only.
    pub fn dehydrate(
        mut self,
        uses: &[&str],
        function: impl Fn(&Record) -> Value + Send + Sync + 'static,
    ) -> Self {
        self.dehydrate = Some(Dehydrate::Closure {
            uses: uses.iter().map(|u| (*u).to_owned()).collect(),
            function: Arc::new(function),
        });
        self
    }

    /// Computes the exported value with a template over the exported record
    /// (`"{{ name }} by {{ author.name }}"`); an error when the template does not parse.
    pub fn dehydrate_template(mut self, source: &str) -> Result<Self, String> {
        self.dehydrate = Some(Dehydrate::template(source)?);
        Ok(self)
    }

    /// The relation path the attribute names (`["author", "name"]` for `author__name`),
    /// or `None` for a plain column.
    pub fn relation_path(&self) -> Option<Vec<&str>> {
        self.attribute
            .contains(PATH_SEPARATOR)
            .then(|| self.attribute.split(PATH_SEPARATOR).collect())
    }

    /// True for a field that is exported but never read on import: a relation path or a
    /// dehydrated (computed) field. An import file with its column leaves it alone.
    pub fn is_export_only(&self) -> bool {
        self.dehydrate.is_some() || self.relation_path().is_some()
    }

    /// True when the field's values live in a link table rather than a column.
    pub fn is_many_to_many(&self) -> bool {
        matches!(
            self.widget.relation().map(|r| &r.kind),
            Some(RelationKind::ManyToMany { .. })
        )
    }
}
