//! [`ResourceBuilder`]: a resource declared in Rust, one call at a time.
//!
//! A builder starts empty ([`Resource::builder`]), from a table's schema
//! ([`ResourceBuilder::from_schema`]) or from another resource ([`Resource::to_builder`],
//! rowport's form of resource inheritance), and ends in [`ResourceBuilder::build`], which
//! checks that the declaration holds together.

use std::sync::Arc;

use crate::field::Field;
use crate::hooks::Hooks;
use crate::resource::{Resource, ResourceError, ResourceOptions};
use crate::store::TableSchema;
use crate::typed::FieldType;
use crate::widgets::Widget;

/// Declares a [`Resource`]: its table, fields, import id, options and hooks.
///
/// Every call returns the builder, so a resource reads as one expression. Mistakes (an
/// import id that names no field, editing a field that does not exist) are collected and
/// reported by [`build`](ResourceBuilder::build), never by a panic.
///
/// ```
/// use rowport::widgets::{CharWidget, DateWidget};
/// use rowport::{Field, Resource};
///
/// let book = Resource::builder("book")
///     .table("library_book")
///     .field_of::<i64>("id")
///     .field_of::<String>("isbn")
///     .field(Field::new("title", std::sync::Arc::new(CharWidget::new(false))).column_name("Title"))
///     .widget("published", DateWidget::new(vec!["%d.%m.%Y".into()]))
///     .import_id_fields(["isbn"])
///     .skip_unchanged(true)
///     .build()
///     .unwrap();
///
/// assert_eq!(book.table, "library_book");
/// assert_eq!(book.import_id_fields(), ["isbn"]);
/// let headers: Vec<&str> = book.export_fields().map(|f| f.column_name.as_str()).collect();
/// assert_eq!(headers, ["id", "isbn", "Title", "published"]);
/// ```
///
/// Inheritance: start from a finished resource and change what differs.
///
/// ```
/// use rowport::Resource;
///
/// let base = Resource::builder("book")
///     .field_of::<i64>("id")
///     .field_of::<String>("title")
///     .field_of::<Option<String>>("notes")
///     .build()
///     .unwrap();
/// let public = base
///     .to_builder()
///     .name("public_book")
///     .edit_field("title", |f| f.column_name("Title"))
///     .remove_field("notes")
///     .build()
///     .unwrap();
/// assert_eq!(public.table, "book");
/// let headers: Vec<&str> = public.export_fields().map(|f| f.column_name.as_str()).collect();
/// assert_eq!(headers, ["id", "Title"]);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct ResourceBuilder {
    resource: Resource,
    /// Mistakes seen along the way, reported by `build`.
    problems: Vec<String>,
}

impl Resource {
    /// Starts a resource called `name` for the table of the same name, keyed by `id`.
    ///
    /// ```
    /// let tag = rowport::Resource::builder("tag").field_of::<i64>("id").build().unwrap();
    /// assert_eq!((tag.table.as_str(), tag.primary_key.as_str()), ("tag", "id"));
    /// ```
    pub fn builder(name: &str) -> ResourceBuilder {
        ResourceBuilder::new(name)
    }

    /// A builder that starts from this resource: its table, fields, options and hooks.
    /// This is how one resource extends another in Rust.
    pub fn to_builder(&self) -> ResourceBuilder {
        ResourceBuilder {
            resource: self.clone(),
            problems: Vec::new(),
        }
    }
}

impl ResourceBuilder {
    /// An empty resource called `name`, for the table `name`, keyed by `id`.
    pub fn new(name: &str) -> Self {
        ResourceBuilder {
            resource: Resource::new(name, name, "id"),
            problems: Vec::new(),
        }
    }

    /// The default resource of a table ([`Resource::from_schema`]): a field per column.
    pub fn from_schema(name: &str, schema: &TableSchema) -> Self {
        ResourceBuilder {
            resource: Resource::from_schema(name, schema),
            problems: Vec::new(),
        }
    }

    /// Renames the resource (the table stays).
    pub fn name(mut self, name: &str) -> Self {
        self.resource.name = name.to_owned();
        self
    }

    /// Sets the table the resource reads and writes.
    pub fn table(mut self, table: &str) -> Self {
        self.resource.table = table.to_owned();
        self
    }

    /// Sets the table's primary key column (default `id`).
    pub fn primary_key(mut self, column: &str) -> Self {
        self.resource.primary_key = column.to_owned();
        self
    }

    /// Adds a field, or replaces the field of the same name in place.
    pub fn field(mut self, field: Field) -> Self {
        self.resource.replace_field(field);
        self
    }

    /// Adds (or replaces) a field called `name` read and written by `widget`.
    pub fn widget(self, name: &str, widget: impl Widget + 'static) -> Self {
        self.field(Field::new(name, Arc::new(widget)))
    }

    /// Adds (or replaces) a field called `name` with the default widget of the Rust type
    /// `T` (see [`FieldType`]): `field_of::<Option<NaiveDate>>("published")`.
    pub fn field_of<T: FieldType>(self, name: &str) -> Self {
        self.field(Field::new(name, T::widget(false).into()))
    }

    /// Changes the field called `name` (one inherited, say). A name that is not a field is
    /// reported by [`build`](ResourceBuilder::build).
    pub fn edit_field(mut self, name: &str, edit: impl FnOnce(Field) -> Field) -> Self {
        match self.resource.fields.iter().position(|f| f.name == name) {
            Some(i) => {
                let field = self.resource.fields[i].clone();
                self.resource.fields[i] = edit(field);
            }
            None => self.problems.push(format!(
                "edit_field names \"{name}\", which is not a field (fields: {})",
                self.field_names()
            )),
        }
        self
    }

    /// Removes the field called `name`. A name that is not a field is reported by
    /// [`build`](ResourceBuilder::build).
    pub fn remove_field(mut self, name: &str) -> Self {
        let before = self.resource.fields.len();
        self.resource.fields.retain(|f| f.name != name);
        if self.resource.fields.len() == before {
            self.problems.push(format!(
                "remove_field names \"{name}\", which is not a field (fields: {})",
                self.field_names()
            ));
        }
        self
    }

    /// The fields whose values identify an existing record (default: the primary key's
    /// field).
    pub fn import_id_fields<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource.options.import_id_fields = names.into_iter().map(Into::into).collect();
        self
    }

    /// Only these fields, in this order (django-import-export's `fields`).
    pub fn fields<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource.options.fields = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Leaves these fields out (django-import-export's `exclude`).
    pub fn exclude<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource.options.exclude = names.into_iter().map(Into::into).collect();
        self
    }

    /// Fields read first on import.
    pub fn import_order<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource.options.import_order = names.into_iter().map(Into::into).collect();
        self
    }

    /// Fields written first on export.
    pub fn export_order<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource.options.export_order = names.into_iter().map(Into::into).collect();
        self
    }

    /// Skips rows whose values equal the existing record's.
    pub fn skip_unchanged(mut self, on: bool) -> Self {
        self.resource.options.skip_unchanged = on;
        self
    }

    /// Reports skipped rows among the row results.
    pub fn report_skipped(mut self, on: bool) -> Self {
        self.resource.options.report_skipped = on;
        self
    }

    /// Computes no diff (faster; disables `skip_unchanged`).
    pub fn skip_diff(mut self, on: bool) -> Self {
        self.resource.options.skip_diff = on;
        self
    }

    /// Runs each import in one transaction (required for dry runs).
    pub fn use_transactions(mut self, on: bool) -> Self {
        self.resource.options.use_transactions = on;
        self
    }

    /// Rows per batch.
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.resource.options.batch_size = rows;
        self
    }

    /// Changes any option, including those without a method of their own here.
    ///
    /// ```
    /// let book = rowport::Resource::builder("book")
    ///     .field_of::<i64>("id")
    ///     .options(|o| o.report_skipped = false)
    ///     .build()
    ///     .unwrap();
    /// assert!(!book.options.report_skipped);
    /// ```
    pub fn options(mut self, change: impl FnOnce(&mut ResourceOptions)) -> Self {
        change(&mut self.resource.options);
        self
    }

    /// Sets the hooks (see [`Hooks`]).
    pub fn hooks(self, hooks: impl Hooks + 'static) -> Self {
        self.shared_hooks(Arc::new(hooks))
    }

    /// Sets hooks shared with other resources or with the caller (who may keep a handle to
    /// read what they recorded).
    pub fn shared_hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.resource.hooks = hooks;
        self
    }

    /// The resource as declared so far, before checks (for inspection).
    pub fn peek(&self) -> &Resource {
        &self.resource
    }

    /// Checks the declaration and returns the resource the engines use: every option names
    /// real fields, the import id is known, the import and export orders are fixed.
    pub fn build(self) -> Result<Resource, ResourceError> {
        if let Some(problem) = self.problems.into_iter().next() {
            return Err(ResourceError {
                resource: self.resource.name,
                message: problem,
            });
        }
        if let Some(field) = self.resource.fields.iter().find(|f| f.name.is_empty()) {
            return Err(ResourceError {
                resource: self.resource.name.clone(),
                message: format!(
                    "a field for column \"{}\" has an empty name",
                    field.column_name
                ),
            });
        }
        self.resource.finish()
    }

    fn field_names(&self) -> String {
        self.resource
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl From<Resource> for ResourceBuilder {
    fn from(resource: Resource) -> Self {
        ResourceBuilder {
            resource,
            problems: Vec::new(),
        }
    }
}
