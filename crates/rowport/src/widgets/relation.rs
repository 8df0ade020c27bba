//! Widgets for values that live in another table: foreign keys and many-to-many links.
//!
//! `clean` only reads the lookup key from the cell (an author's name, a category's code);
//! the import engine resolves the keys of a whole batch to primary keys with one store
//! query per relation, never one per row.

use super::{Widget, WidgetError};
use crate::store::Condition;
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

/// Where a related value lives and how it is found.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// The related table (`author`).
    pub table: String,
    /// The column the file's values are matched against (`name`); unique in practice.
    pub lookup: String,
    /// The related table's primary key (`id`), what the field stores.
    pub key: String,
    /// Foreign key or many-to-many.
    pub kind: RelationKind,
    /// The lookup columns after `lookup`, for a key of several columns (a natural key such
    /// as `last_name, first_name`); the cell then holds a JSON list of one value per column.
    pub more_lookups: Vec<String>,
    /// Conditions the related rows must meet to be found (django-import-export's
    /// `get_queryset`): only authors with `active = 1`, say. Applied in the same query.
    pub filter: Vec<Condition>,
    /// What a key that matches no related row does.
    pub on_missing: OnMissing,
}

impl Relation {
    /// Every lookup column, `lookup` first.
    pub fn lookups(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.lookup).chain(self.more_lookups.iter())
    }

    fn new(table: &str, lookup: &str, key: &str, kind: RelationKind) -> Self {
        Relation {
            table: table.to_owned(),
            lookup: lookup.to_owned(),
            key: key.to_owned(),
            kind,
            more_lookups: Vec::new(),
            filter: Vec::new(),
            on_missing: OnMissing::Error,
        }
    }
}

/// What a lookup key that matches no related row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnMissing {
    /// The row is invalid, with a field error naming the key (the default).
    #[default]
    Error,
    /// The related row is created from the key (its lookup columns, plus the columns an
    /// `=` filter fixes); the missing rows of a batch are inserted with one statement.
    Create,
    /// The key is dropped: a many-to-many list leaves it out, as django-import-export
    /// does; a foreign key becomes null.
    Ignore,
}

/// The two shapes of relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationKind {
    /// The field's column holds the related row's key.
    ForeignKey,
    /// A link table joins owners and targets.
    ManyToMany {
        /// The link table and its columns.
        link: LinkTable,
        /// What separates the keys in one cell (`|` in `Category 01|Category 06`).
        separator: String,
        /// Adds the file's links to those a row has, instead of replacing them
        /// (django-import-export's `m2m_add`).
        add: bool,
    },
}

/// A many-to-many link table: `book_categories(book_id, category_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTable {
    /// The table's name.
    pub table: String,
    /// The column holding the owner's key (`book_id`).
    pub owner_column: String,
    /// The column holding the target's key (`category_id`).
    pub target_column: String,
}

/// A foreign key, looked up by any column of the related table (by default its primary
/// key), or by several columns as a natural key written as a JSON list.
///
/// ```
/// use rowport::widgets::{CharWidget, ForeignKeyWidget, OnMissing, Widget};
/// use rowport::store::{CompareOp, Condition};
/// use rowport::{Cell, Value};
///
/// // Authors by last and first name, only active ones, created when missing.
/// let author = ForeignKeyWidget::natural_key(
///     "author",
///     vec![("last_name", Box::new(CharWidget::new(false))), ("first_name", Box::new(CharWidget::new(false)))],
///     "id",
/// )
/// .with_filter(vec![Condition::Compare {
///     column: "active".into(),
///     op: CompareOp::Eq,
///     value: Value::Int(1),
/// }])
/// .on_missing(OnMissing::Create);
/// let key = author.clean(&Cell::Text(r#"["Tolkien", "J. R. R."]"#.into())).unwrap();
/// assert_eq!(key, Value::List(vec![Value::Text("Tolkien".into()), Value::Text("J. R. R.".into())]));
/// assert!(author.clean(&Cell::Text("Tolkien".into())).is_err());
/// ```
#[derive(Debug)]
pub struct ForeignKeyWidget {
    /// The related table and lookup column.
    pub relation: Relation,
    /// Reads the lookup value itself (text for a name, integer for an id).
    pub key_widget: Box<dyn Widget>,
    /// Read the values of `relation.more_lookups`, in order.
    pub more_key_widgets: Vec<Box<dyn Widget>>,
    /// The cell holds a JSON list of the lookup values (django-import-export's natural
    /// keys); always so with several lookup columns.
    pub natural: bool,
}

impl ForeignKeyWidget {
    /// A foreign key into `table`, matched on `lookup`, storing `key`.
    pub fn new(table: &str, lookup: &str, key: &str, key_widget: Box<dyn Widget>) -> Self {
        ForeignKeyWidget {
            relation: Relation::new(table, lookup, key, RelationKind::ForeignKey),
            key_widget,
            more_key_widgets: Vec::new(),
            natural: false,
        }
    }

    /// A foreign key into `table` found by a natural key: the cell is a JSON list with one
    /// value per column of `lookups` (`["Tolkien", "J. R. R."]`), each read by its widget.
    /// An empty `lookups` makes a key of the primary key alone, read as text.
    pub fn natural_key(table: &str, lookups: Vec<(&str, Box<dyn Widget>)>, key: &str) -> Self {
        let mut columns = lookups.iter().map(|(c, _)| (*c).to_owned());
        let first = columns.next().unwrap_or_else(|| key.to_owned());
        let mut relation = Relation::new(table, &first, key, RelationKind::ForeignKey);
        relation.more_lookups = columns.collect();
        let mut widgets = lookups.into_iter().map(|(_, w)| w);
        ForeignKeyWidget {
            relation,
            key_widget: widgets
                .next()
                .unwrap_or_else(|| Box::new(super::CharWidget::new(false))),
            more_key_widgets: widgets.collect(),
            natural: true,
        }
    }

    /// Only related rows that meet every condition are found.
    pub fn with_filter(mut self, filter: Vec<Condition>) -> Self {
        self.relation.filter = filter;
        self
    }

    /// What a key that matches no related row does.
    pub fn on_missing(mut self, on_missing: OnMissing) -> Self {
        self.relation.on_missing = on_missing;
        self
    }

    /// The cell is a JSON list: asked for, or implied by several lookup columns.
    fn is_natural(&self) -> bool {
        self.natural || !self.more_key_widgets.is_empty()
    }

    fn clean_natural(&self, text: &str) -> Result<Value, WidgetError> {
        let count = 1 + self.more_key_widgets.len();
        let columns: Vec<&str> = self.relation.lookups().map(String::as_str).collect();
        let expected = || {
            WidgetError::new(format!(
                "is not a natural key (expected a JSON list of {count} value{}: {})",
                if count == 1 { "" } else { "s" },
                columns.join(", ")
            ))
        };
        let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| expected())?;
        if items.len() != count {
            return Err(expected());
        }
        let mut parts = Vec::with_capacity(count);
        let widgets = std::iter::once(&self.key_widget).chain(self.more_key_widgets.iter());
        for ((item, widget), column) in items.iter().zip(widgets).zip(&columns) {
            let cell = match item {
                serde_json::Value::String(s) => Cell::Text(s.clone()),
                serde_json::Value::Bool(b) => Cell::Bool(*b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Cell::Int(i),
                    None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                _ => return Err(expected()),
            };
            let value = widget.clean(&cell).map_err(|e| {
                WidgetError::new(format!("has a {column} \"{cell}\" that {}", e.message))
            })?;
            parts.push(value);
        }
        Ok(if count == 1 {
            parts.pop().unwrap_or_default()
        } else {
            Value::List(parts)
        })
    }
}

fn json_of(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::Json(j) => j.clone(),
        other => serde_json::Value::String(other.to_string()),
    }
}

impl Widget for ForeignKeyWidget {
    fn name(&self) -> &str {
        "foreign_key"
    }

    fn kind(&self) -> ValueKind {
        self.key_widget.kind()
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        if cell.is_empty() || matches!(cell, Cell::Text(s) if s.trim().is_empty()) {
            return Ok(Value::Null);
        }
        if self.is_natural() {
            return match cell {
                Cell::Text(s) => self.clean_natural(s.trim()),
                _ => self.clean_natural(&cell.to_string()),
            };
        }
        match self.key_widget.clean(cell)? {
            Value::Text(s) => Ok(Value::Text(s.trim().to_owned())),
            v => Ok(v),
        }
    }

    /// A natural key is written as a JSON list, as django-import-export writes
    /// `natural_key()`; otherwise the lookup value as its widget writes it.
    fn render(&self, value: &Value) -> Cell {
        if !self.is_natural() || value.is_null() {
            return self.key_widget.render(value);
        }
        let items = match value {
            Value::List(parts) => parts.iter().map(json_of).collect(),
            single => vec![json_of(single)],
        };
        Cell::Text(serde_json::Value::Array(items).to_string())
    }

    fn relation(&self) -> Option<&Relation> {
        Some(&self.relation)
    }

    fn describe(&self) -> String {
        let columns: Vec<&str> = self.relation.lookups().map(String::as_str).collect();
        let mut text = if columns.len() > 1 || self.natural {
            format!(
                "{}.[{}] (natural key)",
                self.relation.table,
                columns.join(", ")
            )
        } else {
            format!("{}.{}", self.relation.table, self.relation.lookup)
        };
        describe_options(&self.relation, &mut text);
        text
    }
}

/// Many-to-many links: a cell of keys joined by a separator, each looked up in the
/// related table. Unknown keys are an error (django-import-export drops them silently;
/// [`OnMissing::Ignore`] does the same). By default a row's links become exactly the
/// file's list; [`ManyToManyWidget::adding`] only adds.
///
/// ```
/// use rowport::widgets::{CharWidget, LinkTable, ManyToManyWidget, OnMissing, Widget};
/// use rowport::{Cell, Value};
///
/// let link = LinkTable {
///     table: "book_categories".into(),
///     owner_column: "book_id".into(),
///     target_column: "category_id".into(),
/// };
/// let categories = ManyToManyWidget::new("category", "name", "id", link, "|", Box::new(CharWidget::new(false)))
///     .adding()
///     .on_missing(OnMissing::Create);
/// assert_eq!(
///     categories.clean(&Cell::Text("Fantasy | Classics|".into())).unwrap(),
///     Value::List(vec![Value::Text("Fantasy".into()), Value::Text("Classics".into())])
/// );
/// ```
#[derive(Debug)]
pub struct ManyToManyWidget {
    /// The related table, lookup column and link table.
    pub relation: Relation,
    /// Reads each key.
    pub key_widget: Box<dyn Widget>,
}

impl ManyToManyWidget {
    /// Links through `link` to `table`, each key matched on `lookup`.
    pub fn new(
        table: &str,
        lookup: &str,
        key: &str,
        link: LinkTable,
        separator: &str,
        key_widget: Box<dyn Widget>,
    ) -> Self {
        ManyToManyWidget {
            relation: Relation::new(
                table,
                lookup,
                key,
                RelationKind::ManyToMany {
                    link,
                    separator: separator.to_owned(),
                    add: false,
                },
            ),
            key_widget,
        }
    }

    /// Adds the file's links to those a row already has, instead of setting exactly the
    /// file's list (django-import-export's `m2m_add`).
    pub fn adding(mut self) -> Self {
        if let RelationKind::ManyToMany { add, .. } = &mut self.relation.kind {
            *add = true;
        }
        self
    }

    /// Only related rows that meet every condition are found.
    pub fn with_filter(mut self, filter: Vec<Condition>) -> Self {
        self.relation.filter = filter;
        self
    }

    /// What a key that matches no related row does: an error by default, or
    /// [`OnMissing::Ignore`] to drop it as django-import-export does, or
    /// [`OnMissing::Create`].
    pub fn on_missing(mut self, on_missing: OnMissing) -> Self {
        self.relation.on_missing = on_missing;
        self
    }

    fn separator(&self) -> &str {
        match &self.relation.kind {
            RelationKind::ManyToMany { separator, .. } => separator,
            RelationKind::ForeignKey => ",",
        }
    }
}

impl Widget for ManyToManyWidget {
    fn name(&self) -> &str {
        "many_to_many"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::List
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        match cell {
            Cell::Empty => Ok(Value::List(Vec::new())),
            Cell::Text(s) => {
                let mut keys = Vec::new();
                for part in s.split(self.separator()) {
                    let part = part.trim();
                    if part.is_empty() {
                        continue;
                    }
                    let key = self.key_widget.clean(&Cell::Text(part.to_owned()))?;
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                Ok(Value::List(keys))
            }
            other => Ok(Value::List(vec![self.key_widget.clean(other)?])),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::List(items) => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(self.separator());
                    }
                    out.push_str(&self.key_widget.render(item).to_string());
                }
                Cell::Text(out)
            }
            Value::Null => Cell::Text(String::new()),
            other => self.key_widget.render(other),
        }
    }

    fn relation(&self) -> Option<&Relation> {
        Some(&self.relation)
    }

    fn describe(&self) -> String {
        match &self.relation.kind {
            RelationKind::ManyToMany {
                link,
                separator,
                add,
            } => {
                let mut text = format!(
                    "{}.{} via {}, separator \"{}\"",
                    self.relation.table, self.relation.lookup, link.table, separator
                );
                if *add {
                    text.push_str(", m2m_add");
                }
                describe_options(&self.relation, &mut text);
                text
            }
            RelationKind::ForeignKey => String::new(),
        }
    }
}

fn describe_options(relation: &Relation, text: &mut String) {
    match relation.on_missing {
        OnMissing::Error => {}
        OnMissing::Create => text.push_str(", create_missing"),
        OnMissing::Ignore => text.push_str(", ignore_missing"),
    }
    if !relation.filter.is_empty() {
        text.push_str(&format!(", {} filter condition(s)", relation.filter.len()));
    }
}

/// The field with its foreign key turned into a natural key, for a resource with
/// `use_natural_foreign_keys`: a foreign key looked up by the related table's primary key
/// is looked up instead by the table's first unique constraint besides the primary key,
/// and its cells are JSON lists. Other fields, and keys to tables without such a
/// constraint, are returned as they are.
pub(crate) fn with_natural_key(
    field: &crate::Field,
    store: &mut dyn crate::Store,
) -> Result<crate::Field, crate::store::StoreError> {
    let Some(relation) = field.widget.relation() else {
        return Ok(field.clone());
    };
    let plain = relation.kind == RelationKind::ForeignKey
        && relation.lookup == relation.key
        && relation.more_lookups.is_empty();
    if !plain {
        return Ok(field.clone());
    }
    let target = store.describe(&relation.table)?;
    let Some(natural) = target
        .unique
        .iter()
        .find(|columns| !columns.is_empty() && columns.as_slice() != [relation.key.as_str()])
    else {
        return Ok(field.clone());
    };
    let mut widgets = Vec::with_capacity(natural.len());
    for column in natural {
        let kind = target
            .column(column)
            .map(|c| c.kind)
            .unwrap_or(ValueKind::Text);
        widgets.push((column.as_str(), super::for_kind(kind, false)));
    }
    let widget = ForeignKeyWidget::natural_key(&relation.table, widgets, &relation.key)
        .with_filter(relation.filter.clone())
        .on_missing(relation.on_missing);
    let mut natural_field = field.clone();
    natural_field.widget = std::sync::Arc::new(widget);
    Ok(natural_field)
}
