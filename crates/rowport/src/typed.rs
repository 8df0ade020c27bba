//! Typed rows: Rust structs as resources ([`Model`], usually derived with
//! [`#[derive(rowport::Resource)]`](derive@crate::Resource)), files read into `Vec<T>`
//! with full validation and no database ([`read_all`]), and `&[T]` written to any format
//! ([`write_all`]).
//!
//! ```
//! use rowport::formats::{open_reader, open_writer, Format, ReadOptions, WriteOptions};
//! use rust_decimal::Decimal;
//!
//! #[derive(Debug, PartialEq, rowport::Resource)]
//! #[rowport(import_id = "isbn")]
//! struct Book {
//!     isbn: String,
//!     title: String,
//!     price: Option<Decimal>,
//! }
//!
//! let csv = "isbn,title,price\n978-0441013593,Dune,9.99\n978-0141439587,Emma,\n";
//! let mut reader = open_reader(Format::Csv, Box::new(csv.as_bytes()), "books.csv", &ReadOptions::default())?;
//! let books = rowport::read_all::<Book>(reader.as_mut())?;
//! assert!(!books.result.has_failures());
//! assert_eq!(books.rows[1], Book { isbn: "978-0141439587".into(), title: "Emma".into(), price: None });
//!
//! let mut out = Vec::new();
//! let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default())?;
//! rowport::write_all(&books.rows, writer)?;
//! assert_eq!(String::from_utf8(out)?, csv);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use rowport_formats::{Cell, RowReader, RowWriter};
use rust_decimal::Decimal;

use crate::builder::ResourceBuilder;
use crate::export::{ExportError, ExportOptions};
use crate::hooks::HookError;
use crate::import::{import, ImportError, ImportOptions};
use crate::memory::MemoryStore;
use crate::record::Record;
use crate::resource::{Resource, ResourceError};
use crate::result::ImportResult;
use crate::value::{Value, ValueKind};
use crate::widgets::{self, Relation, Widget, WidgetError};

/// A Rust type that a field can hold: its default widget, and its conversion from and to
/// a [`Value`].
///
/// Implemented for the integers (`i8` … `u64`, checked against their range), `f32`,
/// `f64`, [`Decimal`], `String`, `bool`, chrono's `NaiveDate`, `NaiveTime`,
/// `NaiveDateTime`, `DateTime<Utc>`, `DateTime<FixedOffset>` and `TimeDelta`,
/// `serde_json::Value`, `Option<T>` (nullable) and `Vec<T>` (a
/// [`SimpleArrayWidget`](crate::widgets::SimpleArrayWidget), comma-separated).
/// Implement it for a type of your own to use it in a derived resource.
///
/// ```
/// use rowport::typed::FieldType;
/// use rowport::Value;
///
/// assert_eq!(u8::from_value(&Value::Int(200)), Ok(200));
/// assert_eq!(
///     u8::from_value(&Value::Int(300)).unwrap_err(),
///     "is out of range for u8 (0 to 255)"
/// );
/// assert_eq!(Option::<String>::from_value(&Value::Null), Ok(None));
/// assert_eq!(vec!["a".to_string(), "b".to_string()].to_value(), Value::List(vec!["a".into(), "b".into()]));
/// ```
#[diagnostic::on_unimplemented(
    message = "rowport cannot hold a `{Self}` in a field",
    label = "this field's type has no rowport::typed::FieldType implementation",
    note = "supported: i8…u64, f32, f64, rust_decimal::Decimal, String, bool, chrono dates and times, serde_json::Value, Option<T>, Vec<T>",
    note = "implement rowport::typed::FieldType for it, or leave the field out with #[rowport(skip)]"
)]
pub trait FieldType: Sized {
    /// True when the type has a value for null (`Option<T>`): an empty cell is then
    /// `None` rather than an error.
    const NULLABLE: bool = false;

    /// The widget a field of this type gets unless told otherwise. `nullable` asks for
    /// the variant that reads an empty cell as null (text: null rather than `""`).
    fn widget(nullable: bool) -> Box<dyn Widget>;

    /// Converts a value (as a widget cleaned it, or a store read it back) to the type. The
    /// error completes a sentence that starts with the value: `is out of range for u8`.
    fn from_value(value: &Value) -> Result<Self, String>;

    /// Converts the type to a value.
    fn to_value(&self) -> Value;
}

fn mismatch(value: &Value, expected: &str) -> String {
    match value {
        Value::Null => "is empty".to_owned(),
        _ => format!("is not {expected}"),
    }
}

macro_rules! integer_field {
    ($($t:ty),*) => {$(
        impl FieldType for $t {
            fn widget(nullable: bool) -> Box<dyn Widget> {
                widgets::for_kind(ValueKind::Int, nullable)
            }

            fn from_value(value: &Value) -> Result<Self, String> {
                match value {
                    Value::Int(i) => <$t>::try_from(*i).map_err(|_| {
                        format!(
                            "is out of range for {} ({} to {})",
                            stringify!($t),
                            <$t>::MIN,
                            <$t>::MAX
                        )
                    }),
                    // How a u64 above i64::MAX is held (see to_value).
                    Value::Decimal(d) if d.fract().is_zero() => d.to_string().parse().map_err(|_| {
                        format!(
                            "is out of range for {} ({} to {})",
                            stringify!($t),
                            <$t>::MIN,
                            <$t>::MAX
                        )
                    }),
                    other => Err(mismatch(other, "a whole number")),
                }
            }

            fn to_value(&self) -> Value {
                // Only u64 above i64::MAX cannot be held; it becomes a decimal.
                i64::try_from(*self)
                    .map(Value::Int)
                    .unwrap_or_else(|_| Value::Decimal(Decimal::from(*self)))
            }
        }
    )*};
}

integer_field!(i8, i16, i32, i64, u8, u16, u32, u64);

impl FieldType for f64 {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Float, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Decimal(d) => d
                .to_string()
                .parse()
                .map_err(|_| mismatch(value, "a number")),
            other => Err(mismatch(other, "a number")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}

impl FieldType for f32 {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Float, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        let wide = f64::from_value(value)?;
        let narrow = wide as f32;
        if wide.is_finite() && !narrow.is_finite() {
            return Err("is out of range for f32".to_owned());
        }
        Ok(narrow)
    }

    fn to_value(&self) -> Value {
        Value::Float(f64::from(*self))
    }
}

impl FieldType for Decimal {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Decimal, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Decimal(d) => Ok(*d),
            Value::Int(i) => Ok(Decimal::from(*i)),
            other => Err(mismatch(other, "a decimal number")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Decimal(*self)
    }
}

impl FieldType for String {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Text, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(mismatch(other, "text")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl FieldType for bool {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Bool, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            other => Err(mismatch(other, "a boolean")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FieldType for NaiveDate {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Date, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Date(d) => Ok(*d),
            other => Err(mismatch(other, "a date")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Date(*self)
    }
}

impl FieldType for NaiveTime {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Time, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Time(t) => Ok(*t),
            other => Err(mismatch(other, "a time of day")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Time(*self)
    }
}

impl FieldType for NaiveDateTime {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::DateTime, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::DateTime(dt) => Ok(*dt),
            Value::DateTimeTz(_) => Err(
                "has a UTC offset, which a NaiveDateTime cannot keep (use DateTime<Utc>)".into(),
            ),
            other => Err(mismatch(other, "a date and time")),
        }
    }

    fn to_value(&self) -> Value {
        Value::DateTime(*self)
    }
}

impl FieldType for DateTime<Utc> {
    /// Reads a date and time without an offset as UTC, and writes UTC.
    fn widget(_nullable: bool) -> Box<dyn Widget> {
        Box::new(widgets::DateTimeWidget::default().in_utc())
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::DateTimeTz(dt) => Ok(dt.with_timezone(&Utc)),
            Value::DateTime(dt) => Ok(dt.and_utc()),
            other => Err(mismatch(other, "a date and time")),
        }
    }

    fn to_value(&self) -> Value {
        Value::DateTimeTz(self.fixed_offset())
    }
}

impl FieldType for DateTime<FixedOffset> {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::DateTime, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::DateTimeTz(dt) => Ok(*dt),
            Value::DateTime(_) => Err("has no UTC offset (expected e.g. +02:00 or Z)".into()),
            other => Err(mismatch(other, "a date and time")),
        }
    }

    fn to_value(&self) -> Value {
        Value::DateTimeTz(*self)
    }
}

impl FieldType for TimeDelta {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Duration, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Duration(d) => Ok(*d),
            other => Err(mismatch(other, "a duration")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Duration(*self)
    }
}

impl FieldType for serde_json::Value {
    fn widget(nullable: bool) -> Box<dyn Widget> {
        widgets::for_kind(ValueKind::Json, nullable)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Json(j) => Ok(j.clone()),
            other => Err(mismatch(other, "JSON")),
        }
    }

    fn to_value(&self) -> Value {
        Value::Json(self.clone())
    }
}

impl<T: FieldType> FieldType for Option<T> {
    const NULLABLE: bool = true;

    fn widget(_nullable: bool) -> Box<dyn Widget> {
        T::widget(true)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

impl<T: FieldType> FieldType for Vec<T> {
    /// An empty cell, or no column at all, is an empty list.
    const NULLABLE: bool = true;

    /// Comma-separated items, each read by `T`'s widget.
    fn widget(_nullable: bool) -> Box<dyn Widget> {
        Box::new(widgets::SimpleArrayWidget::new(",", T::widget(false)))
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            // An absent list is an empty one (the array widget reads an empty cell so).
            Value::Null => Ok(Vec::new()),
            Value::List(items) => items
                .iter()
                .map(|item| {
                    T::from_value(item).map_err(|e| format!("has an item \"{item}\" that {e}"))
                })
                .collect(),
            other => Err(mismatch(other, "a list")),
        }
    }

    fn to_value(&self) -> Value {
        Value::List(self.iter().map(FieldType::to_value).collect())
    }
}

/// The widget of a typed field: the field's own widget, then two checks, so that a value
/// the Rust type cannot hold is an invalid field of its row rather than a failure after
/// the import — an empty cell for a field that is not an `Option`, and a value out of the
/// type's range (`300` for a `u8`).
///
/// The derive wraps every field's widget in one; reach for it when building a resource by
/// hand for a [`Model`] of your own.
///
/// ```
/// use rowport::typed::TypedWidget;
/// use rowport::widgets::{IntegerWidget, Widget};
/// use rowport::{Cell, Value};
///
/// let pages = TypedWidget::new::<u16>("pages", Box::new(IntegerWidget::default()), true);
/// assert_eq!(pages.clean(&Cell::Text("320".into())), Ok(Value::Int(320)));
/// assert_eq!(pages.clean(&Cell::Text("70000".into())).unwrap_err().message, "is out of range for u16 (0 to 65535)");
/// assert_eq!(pages.clean(&Cell::Empty).unwrap_err().message, "is empty, but field \"pages\" needs a value");
/// ```
#[derive(Debug)]
pub struct TypedWidget {
    inner: Box<dyn Widget>,
    field: String,
    required: bool,
    check: fn(&Value) -> Result<(), String>,
}

impl TypedWidget {
    /// Wraps `inner` for a field called `field` of Rust type `T`. `required` refuses an
    /// empty cell (pass `false` for a primary key that the store assigns, or a field with a
    /// default).
    pub fn new<T: FieldType>(field: &str, inner: Box<dyn Widget>, required: bool) -> Self {
        TypedWidget {
            inner,
            field: field.to_owned(),
            required: required && !T::NULLABLE,
            check: |value| T::from_value(value).map(drop),
        }
    }
}

impl Widget for TypedWidget {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn kind(&self) -> ValueKind {
        self.inner.kind()
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let value = self.inner.clean(cell)?;
        if value.is_null() {
            if self.required {
                return Err(WidgetError::new(format!(
                    "is empty, but field \"{}\" needs a value",
                    self.field
                )));
            }
            return Ok(value);
        }
        // A relation's cell holds a lookup key, not the field's final value.
        if self.inner.relation().is_some() {
            return Ok(value);
        }
        (self.check)(&value).map_err(WidgetError::new)?;
        Ok(value)
    }

    fn render(&self, value: &Value) -> Cell {
        self.inner.render(value)
    }

    fn relation(&self) -> Option<&Relation> {
        self.inner.relation()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// A value that a typed row cannot hold, found converting a [`Record`] to the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{model}.{field}: \"{value}\" {message}")]
pub struct ModelError {
    /// The Rust type (`Book`).
    pub model: String,
    /// The struct field.
    pub field: String,
    /// The value, as text.
    pub value: String,
    /// What is wrong, completing the sentence that starts with the value.
    pub message: String,
}

/// A Rust type whose values are the rows of a resource: usually derived with
/// [`#[derive(rowport::Resource)]`](derive@crate::Resource).
///
/// ```
/// use rowport::typed::Model;
/// use rowport::Value;
///
/// #[derive(Debug, PartialEq, rowport::Resource)]
/// #[rowport(table = "library_author")]
/// struct Author {
///     id: i64,
///     #[rowport(column_name = "Name")]
///     name: String,
/// }
///
/// let resource = Author::resource().unwrap();
/// assert_eq!(resource.table, "library_author");
/// assert_eq!(resource.field("name").unwrap().column_name, "Name");
///
/// let record = Author { id: 7, name: "Le Guin".into() }.to_record();
/// assert_eq!(record.get("name"), Some(&Value::Text("Le Guin".into())));
/// assert_eq!(Author::from_record(&record).unwrap(), Author { id: 7, name: "Le Guin".into() });
/// ```
pub trait Model: Sized {
    /// The table attributes the type holds, in field order.
    const ATTRIBUTES: &'static [&'static str];

    /// True for an attribute that must have a value (neither an `Option`, nor a primary key
    /// the store assigns, nor read-only, nor with a default): a file that lacks its column
    /// cannot be read into the type.
    fn is_required(attribute: &str) -> bool;

    /// The resource as the type declares it, ready to extend before [`build`]:
    /// `Book::builder().hooks(MyHooks).build()`.
    ///
    /// [`build`]: ResourceBuilder::build
    fn builder() -> ResourceBuilder;

    /// The resource as the type declares it.
    fn resource() -> Result<Resource, ResourceError> {
        Self::builder().build()
    }

    /// Makes a row from a record: each field from its attribute.
    fn from_record(record: &Record) -> Result<Self, ModelError>;

    /// Writes each field to its attribute in `record` (attributes the record lacks are
    /// left out).
    fn write_record(&self, record: &mut Record);

    /// The row as a record of [`Model::ATTRIBUTES`].
    fn to_record(&self) -> Record {
        let mut record = Record::new(attribute_names::<Self>());
        self.write_record(&mut record);
        record
    }
}

fn attribute_names<T: Model>() -> Arc<[String]> {
    T::ATTRIBUTES.iter().map(|a| (*a).to_owned()).collect()
}

/// Reads a field of a record for a derived [`Model::from_record`]: a missing attribute
/// reads as null, and a read-only field (never imported) falls back to its default.
#[doc(hidden)]
pub fn field_from_record<T: FieldType + Default>(
    record: &Record,
    model: &str,
    field: &str,
    attribute: &str,
    lenient: bool,
) -> Result<T, ModelError> {
    let value = record.get(attribute).unwrap_or(&Value::Null);
    if lenient && value.is_null() {
        return Ok(T::default());
    }
    T::from_value(value).map_err(|message| ModelError {
        model: model.to_owned(),
        field: field.to_owned(),
        value: value.to_string(),
        message,
    })
}

/// [`field_from_record`] for a field whose type has no `Default` (it is never lenient).
#[doc(hidden)]
pub fn strict_field_from_record<T: FieldType>(
    record: &Record,
    model: &str,
    field: &str,
    attribute: &str,
) -> Result<T, ModelError> {
    let value = record.get(attribute).unwrap_or(&Value::Null);
    T::from_value(value).map_err(|message| ModelError {
        model: model.to_owned(),
        field: field.to_owned(),
        value: value.to_string(),
        message,
    })
}

/// The rows a file held, and the import's report of it.
#[derive(Debug, Clone)]
pub struct Typed<T> {
    /// Every row that was read without error, in file order (a row that updated an earlier
    /// one by its import id is the earlier one, changed).
    pub rows: Vec<T>,
    /// Totals and every row error, naming file, row and column.
    pub result: ImportResult,
}

impl<T> Typed<T> {
    /// The rows when no row failed; otherwise every error, one sentence each, naming the
    /// file (`source`), row and column.
    ///
    /// ```
    /// #[derive(Debug, rowport::Resource)]
    /// struct Reading { id: i64, celsius: f64 }
    ///
    /// let csv = "id,celsius\n1,21.5\n2,warm\n";
    /// let mut reader = rowport::formats::open_reader(
    ///     rowport::formats::Format::Csv, Box::new(csv.as_bytes()), "readings.csv", &Default::default())?;
    /// let errors = rowport::read_all::<Reading>(reader.as_mut())?.into_rows("readings.csv").unwrap_err();
    /// assert_eq!(errors, ["readings.csv, row 3, column \"celsius\": \"warm\" is not a number"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_rows(self, source: &str) -> Result<Vec<T>, Vec<String>> {
        if self.result.has_failures() {
            Err(self
                .result
                .errors
                .iter()
                .map(|e| e.describe(source))
                .collect())
        } else {
            Ok(self.rows)
        }
    }
}

/// Reads every row of a file into `Vec<T>`, validating each value with its field's widget,
/// without a database.
///
/// The rows go through the import engine into a [`MemoryStore`], so every rule of an
/// import applies: widgets, import ids (a second row with the same id updates the first),
/// hooks. Invalid rows are left out of [`Typed::rows`] and reported in
/// [`Typed::result`], each error with its row and column; the valid rows are kept
/// (`skip_invalid`). A file that lacks the column of a field which must have a value is an
/// [`ImportError::Columns`].
///
/// The store holds only the type's own table; a type with a relation field (a foreign-key
/// or many-to-many widget) is read with [`read_in`], into a store that holds the related
/// rows too.
///
/// ```
/// use chrono::NaiveDate;
///
/// #[derive(Debug, rowport::Resource)]
/// struct Loan {
///     id: i64,
///     #[rowport(column_name = "Reader")]
///     reader: String,
///     due: NaiveDate,
///     returned: Option<NaiveDate>,
/// }
///
/// let csv = "Reader,due,returned\nAda,2024-05-01,\nGrace,2024-13-01,\nAlan,,2024-04-02\n";
/// let mut input = rowport::formats::open_reader(
///     rowport::formats::Format::Csv, Box::new(csv.as_bytes()), "loans.csv", &Default::default())?;
/// let loans = rowport::read_all::<Loan>(input.as_mut())?;
///
/// assert_eq!(loans.rows.len(), 1);
/// assert_eq!(loans.rows[0].reader, "Ada");
/// assert_eq!(loans.rows[0].id, 1); // assigned, as a database would
/// let errors: Vec<String> = loans.result.errors.iter().map(|e| e.describe("loans.csv")).collect();
/// assert_eq!(errors, [
///     "loans.csv, row 3, column \"due\": \"2024-13-01\" is not a date (expected YYYY-MM-DD)",
///     "loans.csv, row 4, column \"due\": \"\" is empty, but field \"due\" needs a value",
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_all<T: Model>(reader: &mut dyn RowReader) -> Result<Typed<T>, ImportError> {
    let resource = T::resource().map_err(|e| ImportError::Hook(HookError(e.to_string())))?;
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    read_with(&resource, reader, &options)
}

/// [`read_all`] with a resource of your own (the type's, extended with hooks or other
/// options) and import options (with `skip_invalid: false`, one failed row leaves
/// [`Typed::rows`] empty).
pub fn read_with<T: Model>(
    resource: &Resource,
    reader: &mut dyn RowReader,
    options: &ImportOptions,
) -> Result<Typed<T>, ImportError> {
    read_in(resource, &mut MemoryStore::new(), reader, options)
}

/// [`read_with`] into a [`MemoryStore`] you prepared: put in it the rows that the type's
/// foreign keys and many-to-many fields look up (an `author` table for a book's author
/// name), and they are resolved and checked as a database would, still without one. The
/// type's own table is made for it when the store lacks it; rows already in it are
/// updated by a file row with the same import id. [`Typed::rows`] holds the table's rows
/// after the import.
///
/// ```
/// use rowport::memory::MemoryStore;
/// use rowport::widgets::{CharWidget, ForeignKeyWidget};
/// use rowport::{ImportOptions, Model, Store, Value, ValueKind};
///
/// #[derive(Debug, rowport::Resource)]
/// struct Book {
///     id: i64,
///     title: String,
///     #[rowport(column_name = "author", widget = ForeignKeyWidget::new("author", "name", "id", Box::new(CharWidget::new(false))))]
///     author_id: i64,
/// }
///
/// let mut store = MemoryStore::new();
/// store.create_table("author", &[("id", ValueKind::Int), ("name", ValueKind::Text)]);
/// let names = [vec![Value::Text("Le Guin".into())], vec![Value::Text("Herbert".into())]];
/// store.insert("author", &["name".to_owned()], &names, None)?;
///
/// let csv = "title,author\nDune,Herbert\nEmma,Austen\n";
/// let mut input = rowport::formats::open_reader(
///     rowport::formats::Format::Csv, Box::new(csv.as_bytes()), "books.csv", &Default::default())?;
/// let options = ImportOptions { skip_invalid: true, ..ImportOptions::default() };
/// let books = rowport::read_in::<Book>(&Book::resource()?, &mut store, input.as_mut(), &options)?;
///
/// assert_eq!(books.rows.len(), 1);
/// assert_eq!((books.rows[0].title.as_str(), books.rows[0].author_id), ("Dune", 2));
/// assert_eq!(
///     books.result.errors[0].describe("books.csv"),
///     "books.csv, row 3, column \"author\": \"Austen\" matches no author row (looked up by name)"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_in<T: Model>(
    resource: &Resource,
    store: &mut MemoryStore,
    reader: &mut dyn RowReader,
    options: &ImportOptions,
) -> Result<Typed<T>, ImportError> {
    let headers = reader.headers();
    // An empty input has no header and no rows: nothing is missing from it.
    let missing: Vec<&str> = resource
        .import_fields()
        .filter(|f| T::is_required(&f.attribute))
        .filter(|f| !f.readonly && f.default.is_none())
        .filter(|f| !headers.is_empty() && !headers.contains(&f.column_name))
        .map(|f| f.column_name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::Columns {
            file: reader.source().to_owned(),
            message: format!(
                "the column{} {} {} missing, and {} cannot be read without {} (the file's columns are: {})",
                if missing.len() > 1 { "s" } else { "" },
                missing
                    .iter()
                    .map(|m| format!("\"{m}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                if missing.len() > 1 { "are" } else { "is" },
                resource.name,
                if missing.len() > 1 { "them" } else { "it" },
                headers.join(", ")
            ),
        });
    }
    if store.columns(&resource.table).is_empty() {
        store.create_table_for(resource);
    }
    let result = import(resource, store, reader, options)?;
    let names: Arc<[String]> = store
        .columns(&resource.table)
        .into_iter()
        .collect::<Vec<_>>()
        .into();
    let mut rows = Vec::new();
    for values in store.rows(&resource.table) {
        let mut record = Record::new(names.clone());
        for (slot, value) in record.values_mut().iter_mut().zip(values) {
            *slot = value;
        }
        // Every value passed its field's typed widget, so only a hook that set a value the
        // type cannot hold gets here.
        rows.push(T::from_record(&record).map_err(|e| {
            ImportError::Hook(HookError(format!(
                "{e} (set by a hook after the value was read)"
            )))
        })?);
    }
    Ok(Typed { rows, result })
}

/// Writes `rows` to `writer` through the type's resource: a header of column names, then a
/// row per value, each rendered by its field's widget. Returns the number of rows.
///
/// ```
/// use rowport::formats::{open_writer, Format, WriteOptions};
///
/// #[derive(rowport::Resource)]
/// struct Tag { id: i64, #[rowport(column_name = "Label")] label: String, #[rowport(skip)] cache: Vec<u8> }
///
/// let tags = [Tag { id: 1, label: "sf".into(), cache: vec![] }, Tag { id: 2, label: "classic".into(), cache: vec![] }];
/// let mut out = Vec::new();
/// rowport::write_all(&tags, open_writer(Format::Json, Box::new(&mut out), &WriteOptions::default())?)?;
/// assert_eq!(String::from_utf8(out)?, r#"[
/// {"id":1,"Label":"sf"},
/// {"id":2,"Label":"classic"}
/// ]
/// "#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_all<T: Model>(
    rows: &[T],
    writer: Box<dyn RowWriter + '_>,
) -> Result<u64, ExportError> {
    let resource = T::resource().map_err(|e| ExportError::Hook(HookError(e.to_string())))?;
    write_with(&resource, rows, writer, &ExportOptions::default())
}

/// [`write_all`] with a resource of your own and export options (a field selection; the
/// context the export hooks see).
pub fn write_with<T: Model>(
    resource: &Resource,
    rows: &[T],
    writer: Box<dyn RowWriter + '_>,
    options: &ExportOptions,
) -> Result<u64, ExportError> {
    let fields: Vec<&crate::Field> = match &options.fields {
        None => resource.export_fields().collect(),
        Some(names) => names
            .iter()
            .map(|name| {
                resource
                    .fields
                    .iter()
                    .find(|f| &f.name == name || &f.column_name == name)
                    .ok_or_else(|| ExportError::UnknownField {
                        resource: resource.name.clone(),
                        field: name.clone(),
                        known: resource
                            .export_fields()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    resource.hooks.before_export(&options.context)?;
    let mut writer = writer;
    let headers: Vec<String> = fields.iter().map(|f| f.column_name.clone()).collect();
    writer.write_header(&headers)?;
    let names = attribute_names::<T>();
    let mut cells = Vec::with_capacity(fields.len());
    for row in rows {
        let mut record = Record::new(names.clone());
        row.write_record(&mut record);
        cells.clear();
        for field in &fields {
            cells.push(
                field
                    .widget
                    .render(record.get(&field.attribute).unwrap_or(&Value::Null)),
            );
        }
        writer.write_row(&cells)?;
    }
    writer.finish()?;
    let count = rows.len() as u64;
    resource.hooks.after_export(count, &options.context)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_beyond_i64_round_trip_through_a_decimal() {
        let big = u64::MAX;
        assert_eq!(u64::from_value(&big.to_value()), Ok(big));
        assert_eq!(
            i64::from_value(&big.to_value()).unwrap_err(),
            format!("is out of range for i64 ({} to {})", i64::MIN, i64::MAX)
        );
        assert_eq!(u8::from_value(&Value::Null).unwrap_err(), "is empty");
        assert_eq!(
            u8::from_value(&Value::Text("x".into())).unwrap_err(),
            "is not a whole number"
        );
    }

    #[test]
    fn dates_and_times_convert_both_ways() {
        let dt = NaiveDate::from_ymd_opt(2024, 5, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let utc = dt.and_utc();
        assert_eq!(DateTime::<Utc>::from_value(&utc.to_value()), Ok(utc));
        // A naive value read into a UTC field is taken as UTC.
        assert_eq!(DateTime::<Utc>::from_value(&Value::DateTime(dt)), Ok(utc));
        assert_eq!(
            NaiveDateTime::from_value(&utc.to_value()).unwrap_err(),
            "has a UTC offset, which a NaiveDateTime cannot keep (use DateTime<Utc>)"
        );
        assert_eq!(
            DateTime::<FixedOffset>::from_value(&Value::DateTime(dt)).unwrap_err(),
            "has no UTC offset (expected e.g. +02:00 or Z)"
        );
        let d = TimeDelta::minutes(90);
        assert_eq!(TimeDelta::from_value(&d.to_value()), Ok(d));
        let j = serde_json::json!({"a": [1, 2]});
        assert_eq!(serde_json::Value::from_value(&j.to_value()), Ok(j));
    }

    #[test]
    fn lists_name_the_item_that_does_not_fit() {
        let list = Value::List(vec![Value::Int(1), Value::Int(300)]);
        assert_eq!(
            Vec::<u8>::from_value(&list).unwrap_err(),
            "has an item \"300\" that is out of range for u8 (0 to 255)"
        );
        assert_eq!(Vec::<String>::from_value(&Value::Null), Ok(vec![]));
    }

    #[test]
    fn typed_widget_keeps_relations_and_nullable_types() {
        let optional =
            TypedWidget::new::<Option<u8>>("n", Box::new(widgets::IntegerWidget::default()), true);
        assert_eq!(optional.clean(&Cell::Empty), Ok(Value::Null));
        let key = TypedWidget::new::<i64>("id", Box::new(widgets::IntegerWidget::default()), false);
        assert_eq!(key.clean(&Cell::Empty), Ok(Value::Null));
        let fk = TypedWidget::new::<i64>(
            "author",
            Box::new(widgets::ForeignKeyWidget::new(
                "author",
                "name",
                "id",
                Box::new(widgets::CharWidget::new(false)),
            )),
            true,
        );
        // The cell is a lookup key (a name), which the engine resolves to the i64 key later.
        assert_eq!(
            fk.clean(&Cell::Text("Le Guin".into())),
            Ok(Value::Text("Le Guin".into()))
        );
        assert!(fk.relation().is_some());
    }
}
