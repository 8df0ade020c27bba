//! rowport's core: values, widgets, fields, resources, and the batched import and export
//! engines. It knows nothing of SQL, HTTP or terminals: a [`Store`] is the seam to a
//! database, a [`RowReader`](rowport_formats::RowReader) the seam to a file.
//!
//! The flow of a row: a reader yields cells → each [`Field`]'s [`Widget`](widgets::Widget)
//! cleans its cell into a [`Value`] → the engine resolves relations and existing records
//! a batch at a time → the [`Store`] writes the batch.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
mod value;
pub mod widgets;

pub use export::{export, ExportError, ExportOptions};
pub use field::Field;
pub use hooks::{Context, HookError, Hooks, NoHooks, Observer, RowData};
pub use import::{import, import_into, ImportError, ImportOptions};
pub use record::Record;
pub use resource::{DeleteRule, Resource, ResourceError, ResourceOptions};
pub use result::{
    ErrorRow, FailedRowsWriter, ImportResult, InvalidRow, RowError, RowOutcome, RowResult, RowSink,
    Totals,
};
pub use rowport_formats::Cell;
pub use store::{Store, StoreError};
pub use value::{Value, ValueKind};

/// The README's examples, run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
