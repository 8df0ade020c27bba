//! rowport's core: values, widgets, fields, resources, and the batched import and export
//! engines. It knows nothing of SQL, HTTP or terminals: a [`Store`] is the seam to a
//! database, a [`RowReader`](rowport_formats::RowReader) the seam to a file.
//!
//! The flow of a row: a reader yields cells → each [`Field`]'s [`Widget`](widgets::Widget)
//! cleans its cell into a [`Value`] → the engine resolves relations and existing records
//! a batch at a time → the [`Store`] writes the batch.
//!
//! # A struct as a resource
//!
//! [`#[derive(rowport::Resource)]`](derive@Resource) makes a struct the rows of a table:
//! each field a column, with the widget of its Rust type. [`read_all`] reads a file into
//! `Vec<T>` with every value validated and no database; [`write_all`] writes `&[T]` to any
//! format.
//!
//! ```
//! use chrono::NaiveDate;
//! use rowport::formats::{open_reader, Format, ReadOptions};
//!
//! #[derive(Debug, rowport::Resource)]
//! #[rowport(table = "library_book", import_id = "isbn")]
//! struct Book {
//!     isbn: String,
//!     #[rowport(column_name = "Title")]
//!     title: String,
//!     published: Option<NaiveDate>,
//!     pages: u32,
//! }
//!
//! let csv = "isbn,Title,published,pages\n\
//!            978-0441013593,Dune,1965-08-01,412\n\
//!            978-0141439587,Emma,,-3\n";
//! let mut reader = open_reader(Format::Csv, Box::new(csv.as_bytes()), "books.csv", &ReadOptions::default())?;
//! let books = rowport::read_all::<Book>(reader.as_mut())?;
//!
//! assert_eq!(books.rows.len(), 1);
//! assert_eq!(books.rows[0].title, "Dune");
//! assert_eq!(
//!     books.result.errors[0].describe("books.csv"),
//!     "books.csv, row 3, column \"pages\": \"-3\" is out of range for u32 (0 to 4294967295)"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A resource against a database
//!
//! A [`Resource`] says how one table is imported and exported; declare one with
//! [`Resource::builder`], derive it, or take the default of a table's schema
//! ([`Resource::from_schema`]). [`import`] and [`export`] run it against any [`Store`]:
//! [`memory::MemoryStore`] here, `rowport_sql::SqliteStore` and the server stores in
//! `rowport-sql`.
//!
//! ```
//! use rowport::formats::{open_reader, Format, ReadOptions};
//! use rowport::memory::MemoryStore;
//! use rowport::widgets::DateWidget;
//! use rowport::{import, ImportOptions, Resource, Store, ValueKind};
//!
//! let mut store = MemoryStore::new();
//! store.create_table("book", &[("id", ValueKind::Int), ("title", ValueKind::Text), ("published", ValueKind::Date)]);
//! let book = Resource::builder("book")
//!     .field_of::<i64>("id")
//!     .field_of::<String>("title")
//!     .widget("published", DateWidget::new(vec!["%d.%m.%Y".into()]))
//!     .import_id_fields(["title"])
//!     .build()?;
//!
//! let csv = "title,published\nDune,01.08.1965\n";
//! let mut reader = open_reader(Format::Csv, Box::new(csv.as_bytes()), "books.csv", &ReadOptions::default())?;
//! let result = import(&book, &mut store, reader.as_mut(), &ImportOptions::default())?;
//! assert_eq!(result.summary().split(" (").next(), Some("1 row: 1 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"));
//! assert_eq!(store.rows("book")[0][2].to_string(), "1965-08-01");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Your own widgets and hooks
//!
//! A widget is an implementation of [`widgets::Widget`]; hooks are an implementation of
//! [`Hooks`], overriding only the steps it needs. Both plug into the builder and the derive.
//!
//! ```
//! use rowport::widgets::{Widget, WidgetError};
//! use rowport::{Cell, Context, HookError, Hooks, Record, RowData, Value, ValueKind};
//!
//! /// Prices written in cents ("1999") held as whole cents.
//! #[derive(Debug)]
//! struct Cents;
//!
//! impl Widget for Cents {
//!     fn name(&self) -> &str { "cents" }
//!     fn kind(&self) -> ValueKind { ValueKind::Int }
//!     fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
//!         match cell.to_string().trim() {
//!             "" => Ok(Value::Null),
//!             text => text.parse().map(Value::Int).map_err(|_| WidgetError::new("is not a number of cents")),
//!         }
//!     }
//!     fn render(&self, value: &Value) -> Cell {
//!         match value { Value::Int(c) => Cell::Int(*c), _ => Cell::Empty }
//!     }
//! }
//!
//! /// Refuses to save a book without a title.
//! struct NeedTitle;
//!
//! impl Hooks for NeedTitle {
//!     fn before_save_instance(&self, book: &mut Record, _: &RowData<'_>, _: &Context) -> Result<(), HookError> {
//!         match book.get("title") {
//!             Some(Value::Text(t)) if !t.is_empty() => Ok(()),
//!             _ => Err(HookError("a book needs a title".into())),
//!         }
//!     }
//! }
//!
//! #[derive(Debug, rowport::Resource)]
//! struct Book {
//!     id: i64,
//!     title: String,
//!     #[rowport(widget = Cents)]
//!     price: Option<i64>,
//! }
//!
//! use rowport::typed::Model;
//! let book = Book::builder().hooks(NeedTitle).build()?;
//! let csv = "title,price\nDune,1999\n,500\nEmma,£5\n";
//! let mut reader = rowport::formats::open_reader(
//!     rowport::formats::Format::Csv, Box::new(csv.as_bytes()), "books.csv", &Default::default())?;
//! let options = rowport::ImportOptions { skip_invalid: true, ..Default::default() };
//! let books = rowport::read_with::<Book>(&book, reader.as_mut(), &options)?;
//!
//! assert_eq!(books.rows[0].price, Some(1999));
//! let errors: Vec<String> = books.result.errors.iter().map(|e| e.describe("books.csv")).collect();
//! assert_eq!(errors, [
//!     "books.csv, row 3: a book needs a title",
//!     "books.csv, row 4, column \"price\": \"£5\" is not a number of cents",
//! ]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The derive's expansion names `::rowport`, which this makes work inside the crate too.
extern crate self as rowport;

pub mod builder;
pub mod config;
pub mod export;
mod field;
pub mod hooks;
pub mod import;
pub mod memory;
mod record;
mod resource;
pub mod result;
pub mod store;
pub mod typed;
mod value;
pub mod widgets;

pub use builder::ResourceBuilder;
pub use export::{export, ExportError, ExportOptions};
pub use field::{Dehydrate, Field};
pub use hooks::{Context, HookError, Hooks, NoHooks, Observer, RowData};
pub use import::{import, import_into, ImportError, ImportOptions};
pub use record::Record;
pub use resource::{DeleteRule, Resource, ResourceError, ResourceOptions};
pub use result::{
    ErrorRow, FailedRowsWriter, ImportResult, InvalidRow, RowError, RowOutcome, RowResult, RowSink,
    Totals,
};
/// Derives [`typed::Model`] for a struct: its resource and its conversion from and to
/// records. See [the derive's documentation](rowport_derive::Resource).
pub use rowport_derive::Resource;
/// The file formats: readers and writers ([`open_reader`](formats::open_reader),
/// [`open_writer`](formats::open_writer)) for CSV, TSV, JSON, YAML, HTML and workbooks.
pub use rowport_formats as formats;
pub use rowport_formats::Cell;
pub use store::{Store, StoreError};
pub use typed::{read_all, read_in, read_with, write_all, write_with, FieldType, Model, Typed};
pub use value::{Value, ValueKind};

/// The README's examples, run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
