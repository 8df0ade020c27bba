//! [`Hooks`]: the points where a program steps into an import or export.
//!
//! Every method has a default that does nothing, so an implementation overrides only what
//! it needs. Within one row they are called in django-import-export's order:
//!
//! `before_import_row` → `init_instance` (new rows) → `after_init_instance` → `for_delete`
//! (and the resource's `delete_when` rule) → `import_field` (each field) → `skip_row` →
//! `before_save_instance` | `before_delete_instance` → *(the batch is written)* →
//! `after_save_instance` | `after_delete_instance` → `after_import_row`.
//!
//! rowport writes a batch of rows at a time, so the rows of one batch each reach
//! `before_save_instance` before any of them reaches `after_save_instance`.
//! `before_import` runs once before the first row, `after_import` once after the last,
//! inside the transaction; then, after the commit or rollback, every [`Observer`] of the
//! resource hears `post_import` (django-import-export's `post_import` signal).
//!
//! A row that fails to clean (an invalid value) still gets `before_import_row` and
//! `after_import_row`, and no other row hook. Every hook sees the row's number in the file
//! ([`RowData::number`]), the dry-run flag and the caller's values ([`Context`]).

use std::collections::BTreeMap;

use crate::field::Field;
use crate::record::Record;
use crate::result::{ImportResult, RowOutcome};
use crate::value::Value;
use rowport_formats::Cell;

/// A hook's refusal: the row becomes an error row with this message (or, from
/// `before_import`/`after_import`, the whole import fails).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HookError(pub String);

/// What every hook call knows about the import it belongs to.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// True when the import will be rolled back at the end.
    pub dry_run: bool,
    /// The file as the user named it.
    pub file_name: String,
    /// Values the caller passes through to the hooks (the admin passes the user).
    pub extra: BTreeMap<String, String>,
}

/// A file row as the hooks see it: the headers and the row's cells, by column name.
#[derive(Debug)]
pub struct RowData<'a> {
    /// The row's number in the file.
    pub number: u64,
    pub(crate) headers: &'a [String],
    pub(crate) cells: &'a mut Vec<Cell>,
}

impl RowData<'_> {
    /// The file's headers, in file order.
    pub fn headers(&self) -> &[String] {
        self.headers
    }

    /// The row's cells, in header order.
    pub fn cells(&self) -> &[Cell] {
        self.cells
    }

    /// The cell under `column`.
    pub fn get(&self, column: &str) -> Option<&Cell> {
        let i = self.headers.iter().position(|h| h == column)?;
        self.cells.get(i)
    }

    /// Replaces the cell under `column`; false when the file has no such column.
    pub fn set(&mut self, column: &str, cell: Cell) -> bool {
        match self.headers.iter().position(|h| h == column) {
            Some(i) if i < self.cells.len() => {
                self.cells[i] = cell;
                true
            }
            _ => false,
        }
    }
}

/// Steps into the import and export workflows. See the module docs for the order.
#[allow(unused_variables)]
pub trait Hooks: Send + Sync {
    /// Once, before the first row is read.
    fn before_import(&self, headers: &[String], ctx: &Context) -> Result<(), HookError> {
        Ok(())
    }

    /// Before a row is cleaned; may change its cells.
    fn before_import_row(&self, row: &mut RowData<'_>, ctx: &Context) -> Result<(), HookError> {
        Ok(())
    }

    /// For a row that matches no existing record, on the fresh (all-null) record.
    fn init_instance(&self, instance: &mut Record, row: &RowData<'_>, ctx: &Context) {}

    /// After the instance is ready and before anything is imported into it: `new` is true
    /// for a fresh record (after `init_instance`), false for an existing record as loaded.
    fn after_init_instance(
        &self,
        instance: &mut Record,
        new: bool,
        row: &RowData<'_>,
        ctx: &Context,
    ) {
    }

    /// True deletes the existing record the row matches (a row that matches none is skipped).
    fn for_delete(&self, row: &RowData<'_>, instance: &Record, ctx: &Context) -> bool {
        false
    }

    /// Sets one field's cleaned value on the instance. The default stores it.
    fn import_field(
        &self,
        field: &Field,
        instance: &mut Record,
        value: Value,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        instance.set(&field.attribute, value);
        Ok(())
    }

    /// `Some(true)` skips the row, `Some(false)` saves it, `None` (the default) lets the
    /// resource decide (`skip_unchanged`). `original` is the record before the import.
    fn skip_row(
        &self,
        instance: &Record,
        original: Option<&Record>,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Option<bool> {
        None
    }

    /// Before the instance is written; may change it.
    fn before_save_instance(
        &self,
        instance: &mut Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        Ok(())
    }

    /// After the instance was written (its key set, when new).
    fn after_save_instance(
        &self,
        instance: &Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        Ok(())
    }

    /// Before a record is deleted.
    fn before_delete_instance(
        &self,
        instance: &Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        Ok(())
    }

    /// After a record was deleted.
    fn after_delete_instance(
        &self,
        instance: &Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        Ok(())
    }

    /// After each row, with its outcome.
    fn after_import_row(&self, row: &RowData<'_>, outcome: RowOutcome, ctx: &Context) {}

    /// Once, after the last row, before the transaction ends; an error rolls it back.
    fn after_import(&self, result: &ImportResult, ctx: &Context) -> Result<(), HookError> {
        Ok(())
    }

    /// Once, before an export starts.
    fn before_export(&self, ctx: &Context) -> Result<(), HookError> {
        Ok(())
    }

    /// Once, after `before_export`: may add, change or remove the export's filters (which
    /// the store then applies in its query), as django-import-export's `filter_export`
    /// narrows the queryset.
    fn filter_export(
        &self,
        filters: &mut Vec<crate::export::Filter>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        Ok(())
    }

    /// For each exported cell: `Some(value)` exports that value (rendered by the field's
    /// widget) instead of the field's own; `None` (the default) keeps it. `record` holds
    /// the row's exported fields by name and its primary key.
    fn export_field(
        &self,
        field: &Field,
        record: &Record,
        ctx: &Context,
    ) -> Result<Option<Value>, HookError> {
        Ok(None)
    }

    /// Once, after an export ends, with the number of rows written.
    fn after_export(&self, rows: u64, ctx: &Context) -> Result<(), HookError> {
        Ok(())
    }
}

/// Told when an import or export has ended (django-import-export's `post_import` and
/// `post_export` signals). Register one with [`Resource::observe`](crate::Resource::observe);
/// unlike [`Hooks`], observers cannot change or stop anything: an import has been committed
/// or rolled back when they hear of it.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use rowport::{hooks::Observer, Context, ImportResult};
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<String>>);
/// impl Observer for Log {
///     fn post_import(&self, resource: &str, result: &ImportResult, ctx: &Context) {
///         self.0.lock().unwrap().push(format!("{resource}: {}", result.totals));
///     }
/// }
/// let log = Arc::new(Log::default());
/// log.post_import("book", &ImportResult::default(), &Context::default());
/// assert_eq!(log.0.lock().unwrap()[0], "book: 0 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors");
/// ```
#[allow(unused_variables)]
pub trait Observer: Send + Sync {
    /// After an import of `resource` ended, committed or not (see `result.committed`).
    /// Not called when the import stopped with an error.
    fn post_import(&self, resource: &str, result: &ImportResult, ctx: &Context) {}

    /// After an export of `resource` wrote its last row (`rows` rows).
    fn post_export(&self, resource: &str, rows: u64, ctx: &Context) {}
}

/// The hooks of a resource that declares none.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
