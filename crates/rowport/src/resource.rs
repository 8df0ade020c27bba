//! [`Resource`]: how one table is imported and exported — its fields, options and hooks.

use std::fmt;
use std::sync::Arc;

use crate::field::Field;
use crate::hooks::{Hooks, NoHooks, Observer, RowData};
use crate::store::TableSchema;
use crate::widgets::{self, ForeignKeyWidget, Widget};

/// The options of a resource: django-import-export's `Meta` options that apply to rowport.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceOptions {
    /// Only these fields, in this order (`None`: every field).
    pub fields: Option<Vec<String>>,
    /// Fields left out (ignored when `fields` is given).
    pub exclude: Vec<String>,
    /// The fields whose values identify an existing record. Empty: the primary key.
    pub import_id_fields: Vec<String>,
    /// Fields listed first on import.
    pub import_order: Vec<String>,
    /// Fields listed first on export.
    pub export_order: Vec<String>,
    /// Skip rows whose values equal the existing record's.
    pub skip_unchanged: bool,
    /// Report skipped rows among the row results (totals count them regardless).
    pub report_skipped: bool,
    /// Compute no diff (faster; disables `skip_unchanged`).
    pub skip_diff: bool,
    /// Run the import in one transaction (required for dry runs).
    pub use_transactions: bool,
    /// Rows per batch: one lookup query per relation and one write per batch.
    pub batch_size: usize,
    /// Never look up existing records: every row is new (DJE `force_init_instance`). Saves
    /// the existing-record query; a row whose key exists then fails on the unique key.
    pub force_init_instance: bool,
    /// Keep each reported row's record (after the import) in [`RowResult::instance`](crate::result::RowResult::instance).
    pub store_instance: bool,
    /// Keep each reported row's cells by column in [`RowResult::row_values`](crate::result::RowResult::row_values).
    pub store_row_values: bool,
    /// Check the table's constraints (NOT NULL, length, unique, CHECK) on every row before
    /// writing, and report a violation as that row's field error instead of a database error.
    pub clean_model_instances: bool,
    /// Accepted for django-import-export compatibility. rowport always writes in batches of
    /// `batch_size` (what DJE calls bulk mode) while still calling every hook and writing
    /// many-to-many links; the flag changes nothing.
    pub use_bulk: bool,
    /// The name people see (the admin's resource chooser, `rowport inspect`); default: the
    /// resource's name.
    pub verbose_name: Option<String>,
    /// Rows that delete the record they match, besides those the `for_delete` hook picks
    /// (`delete_when = { column = "delete", equals = "1" }` in rowport.toml).
    pub delete_when: Option<DeleteRule>,
}

/// A rule that marks a row for deletion by one of its cells: the row deletes the record it
/// matches when the cell under `column`, trimmed, is one of `equals` (compared without
/// regard to ASCII case, so `equals = ["yes"]` also takes `YES`). A row that matches no
/// record is skipped, as with `for_delete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRule {
    /// The file's column (its header).
    pub column: String,
    /// The values that delete.
    pub equals: Vec<String>,
}

impl DeleteRule {
    /// Whether `row` asks for a delete.
    pub fn matches(&self, row: &RowData<'_>) -> bool {
        match row.get(&self.column) {
            Some(cell) => {
                let text = cell.to_string();
                let text = text.trim();
                self.equals
                    .iter()
                    .any(|e| e.trim().eq_ignore_ascii_case(text))
            }
            None => false,
        }
    }
}

impl Default for ResourceOptions {
    fn default() -> Self {
        ResourceOptions {
            fields: None,
            exclude: Vec::new(),
            import_id_fields: Vec::new(),
            import_order: Vec::new(),
            export_order: Vec::new(),
            skip_unchanged: false,
            report_skipped: true,
            skip_diff: false,
            use_transactions: true,
            batch_size: 1000,
            force_init_instance: false,
            store_instance: false,
            store_row_values: false,
            clean_model_instances: false,
            use_bulk: false,
            verbose_name: None,
            delete_when: None,
        }
    }
}

/// A resource definition that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource \"{resource}\": {message}")]
pub struct ResourceError {
    /// The resource's name.
    pub resource: String,
    /// What is wrong.
    pub message: String,
}

/// How one table is imported and exported.
///
/// Build one from a table's schema with [`Resource::from_schema`] (as rowport does for
/// every table it finds), then replace fields and set options:
///
/// ```
/// use std::sync::Arc;
/// use rowport::{Field, Resource, widgets::DateWidget};
/// use rowport::store::{ColumnSchema, TableSchema};
/// use rowport::ValueKind;
///
/// let column = |name: &str, kind: ValueKind, pk: bool| ColumnSchema {
///     nullable: !pk, primary_key: pk, has_default: pk,
///     ..ColumnSchema::new(name, "", kind)
/// };
/// let schema = TableSchema {
///     name: "book".into(),
///     columns: vec![column("id", ValueKind::Int, true), column("published", ValueKind::Date, false)],
///     unique: vec![vec!["id".into()]],
/// };
/// let mut book = Resource::from_schema("book", &schema);
/// book.replace_field(Field::new("published", Arc::new(DateWidget::new(vec!["%d.%m.%Y".into()]))));
/// let resource = book.finish().unwrap();
/// assert_eq!(resource.import_id_fields(), ["id"]);
/// ```
#[derive(Clone)]
pub struct Resource {
    /// The resource's name (`book`).
    pub name: String,
    /// The table it reads and writes.
    pub table: String,
    /// The table's primary key column.
    pub primary_key: String,
    /// Every declared field, in declaration order.
    pub fields: Vec<Field>,
    /// Options.
    pub options: ResourceOptions,
    /// Hooks.
    pub hooks: Arc<dyn Hooks>,
    /// Told when an import or export has ended.
    pub observers: Vec<Arc<dyn Observer>>,
    import_fields: Vec<usize>,
    export_fields: Vec<usize>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("name", &self.name)
            .field("table", &self.table)
            .field("fields", &self.fields)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Resource {
    /// An empty resource for `table`, keyed by `primary_key`.
    pub fn new(name: &str, table: &str, primary_key: &str) -> Self {
        Resource {
            name: name.to_owned(),
            table: table.to_owned(),
            primary_key: primary_key.to_owned(),
            fields: Vec::new(),
            options: ResourceOptions::default(),
            hooks: Arc::new(NoHooks),
            observers: Vec::new(),
            import_fields: Vec::new(),
            export_fields: Vec::new(),
        }
    }

    /// The default resource for a table: a field per column, each with the widget for its
    /// type ([`widgets::for_column`]); a declared foreign key becomes a [`ForeignKeyWidget`] on the related primary key,
    /// named without its `_id` suffix (`author_id` → field `author`).
    pub fn from_schema(name: &str, schema: &TableSchema) -> Self {
        let pk = schema
            .primary_key()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "rowid".to_owned());
        let mut resource = Resource::new(name, &schema.name, &pk);
        for column in &schema.columns {
            let widget: Arc<dyn Widget> = match &column.foreign_key {
                Some((table, key)) => Arc::new(ForeignKeyWidget::new(
                    table,
                    key,
                    key,
                    widgets::for_kind(column.kind, column.nullable),
                )),
                None => Arc::from(widgets::for_column(column)),
            };
            let name = match &column.foreign_key {
                Some(_) => column.name.strip_suffix("_id").unwrap_or(&column.name),
                None => &column.name,
            };
            resource
                .fields
                .push(Field::new(name, widget).attribute(&column.name));
        }
        resource
    }

    /// Replaces the field of the same name, or adds it at the end.
    pub fn replace_field(&mut self, field: Field) {
        match self.fields.iter_mut().find(|f| f.name == field.name) {
            Some(existing) => *existing = field,
            None => self.fields.push(field),
        }
    }

    /// The name people see: `verbose_name` when set, else the resource's name (DJE
    /// `get_display_name`).
    pub fn display_name(&self) -> &str {
        self.options.verbose_name.as_deref().unwrap_or(&self.name)
    }

    /// A new resource named `name` that starts as a copy of `base`: its table, fields,
    /// options and hooks (django-import-export's resource inheritance). Change what differs,
    /// then call [`finish`](Resource::finish).
    ///
    /// ```
    /// use rowport::{memory::MemoryStore, Resource, Store, ValueKind};
    ///
    /// let mut store = MemoryStore::new();
    /// store.create_table("book", &[("id", ValueKind::Int), ("isbn", ValueKind::Text)]);
    /// let book = Resource::from_schema("book", &store.describe("book").unwrap());
    /// let mut by_isbn = Resource::extend("book_by_isbn", &book);
    /// by_isbn.options.import_id_fields = vec!["isbn".into()];
    /// let by_isbn = by_isbn.finish().unwrap();
    /// assert_eq!(by_isbn.table, "book");
    /// assert_eq!(by_isbn.import_id_fields(), ["isbn"]);
    /// ```
    pub fn extend(name: &str, base: &Resource) -> Resource {
        let mut resource = base.clone();
        resource.name = name.to_owned();
        resource.options.verbose_name = None;
        resource
    }

    /// Adds an observer, told after every import and export of this resource ends.
    pub fn observe(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Sets the hooks.
    pub fn with_hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Checks the options against the fields and fixes the import and export order.
    /// Call it after the last change; the engines use what it computed.
    pub fn finish(mut self) -> Result<Resource, ResourceError> {
        let error = |message: String| ResourceError {
            resource: self.name.clone(),
            message,
        };
        let known = |name: &String| self.fields.iter().any(|f| &f.name == name);
        let lists = [
            ("fields", self.options.fields.clone().unwrap_or_default()),
            ("exclude", self.options.exclude.clone()),
            ("import_id_fields", self.options.import_id_fields.clone()),
            ("import_order", self.options.import_order.clone()),
            ("export_order", self.options.export_order.clone()),
        ];
        for (option, names) in &lists {
            if let Some(unknown) = names.iter().find(|n| !known(n)) {
                return Err(error(format!(
                    "{option} names \"{unknown}\", which is not a field (fields: {})",
                    self.field_names().join(", ")
                )));
            }
        }
        if let Some(rule) = &self.options.delete_when {
            if rule.column.is_empty() || rule.equals.is_empty() {
                return Err(error(
                    "delete_when needs a column and at least one value to compare with".into(),
                ));
            }
        }
        if self.options.batch_size == 0 {
            return Err(error("batch_size must be at least 1".into()));
        }
        if self.options.import_id_fields.is_empty() {
            match self.fields.iter().find(|f| f.attribute == self.primary_key) {
                Some(f) => self.options.import_id_fields = vec![f.name.clone()],
                None => {
                    return Err(error(format!(
                        "it has no field for the primary key \"{}\"; set import_id_fields",
                        self.primary_key
                    )))
                }
            }
        }
        let chosen: Vec<usize> = match &self.options.fields {
            Some(names) => names
                .iter()
                .filter_map(|n| self.fields.iter().position(|f| &f.name == n))
                .collect(),
            None => (0..self.fields.len())
                .filter(|&i| !self.options.exclude.contains(&self.fields[i].name))
                .collect(),
        };
        for id in &self.options.import_id_fields {
            if !chosen.iter().any(|&i| &self.fields[i].name == id) {
                return Err(error(format!(
                    "import id field \"{id}\" is left out by fields/exclude"
                )));
            }
        }
        let ordered = |first: &[String]| -> Vec<usize> {
            let mut out: Vec<usize> = first
                .iter()
                .filter_map(|n| chosen.iter().copied().find(|&i| &self.fields[i].name == n))
                .collect();
            let rest: Vec<usize> = chosen
                .iter()
                .copied()
                .filter(|i| !out.contains(i))
                .collect();
            out.extend(rest);
            out
        };
        self.import_fields = ordered(&self.options.import_order);
        self.export_fields = ordered(&self.options.export_order);
        Ok(self)
    }

    /// The fields read on import, in import order (read-only fields included: they are
    /// compared, never written).
    pub fn import_fields(&self) -> impl Iterator<Item = &Field> {
        self.import_fields.iter().map(|&i| &self.fields[i])
    }

    /// The fields written on export, in export order.
    pub fn export_fields(&self) -> impl Iterator<Item = &Field> {
        self.export_fields.iter().map(|&i| &self.fields[i])
    }

    /// The import-id field names.
    pub fn import_id_fields(&self) -> &[String] {
        &self.options.import_id_fields
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }
}
