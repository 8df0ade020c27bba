//! What an import reports: totals per outcome, every row error, and the first row diffs.

use std::fmt;

use rowport_formats::{Cell, FormatError, RowWriter};
use serde::Serialize;

use crate::record::Record;

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOutcome {
    /// A record was created.
    New,
    /// An existing record was changed.
    Update,
    /// Nothing was written (unchanged, or a delete that matched nothing).
    Skip,
    /// An existing record was deleted.
    Delete,
    /// A value could not be read (a widget or lookup refused it).
    Invalid,
    /// The row failed for another reason (the database refused it, a hook failed).
    Error,
}

/// Rows counted by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Rows that created a record.
    pub new: u64,
    /// Rows that changed a record.
    pub update: u64,
    /// Rows skipped.
    pub skip: u64,
    /// Rows that deleted a record.
    pub delete: u64,
    /// Rows with values that could not be read.
    pub invalid: u64,
    /// Rows that failed otherwise.
    pub error: u64,
}

impl Totals {
    /// Counts one row.
    pub fn add(&mut self, outcome: RowOutcome) {
        match outcome {
            RowOutcome::New => self.new += 1,
            RowOutcome::Update => self.update += 1,
            RowOutcome::Skip => self.skip += 1,
            RowOutcome::Delete => self.delete += 1,
            RowOutcome::Invalid => self.invalid += 1,
            RowOutcome::Error => self.error += 1,
        }
    }

    /// Every row counted.
    pub fn rows(&self) -> u64 {
        self.new + self.update + self.skip + self.delete + self.invalid + self.error
    }

    /// Rows that were invalid or in error.
    pub fn failed(&self) -> u64 {
        self.invalid + self.error
    }
}

/// `950 new, 40 updated, 10 skipped, 0 deleted, 0 invalid, 0 errors`
impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} new, {} updated, {} skipped, {} deleted, {} invalid, {} errors",
            group(self.new),
            group(self.update),
            group(self.skip),
            group(self.delete),
            group(self.invalid),
            group(self.error)
        )
    }
}

/// Writes a count with thousands separators: `1,000,000`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One problem with one row: where it is, what the value was, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row's number in the file.
    pub row: u64,
    /// The column's header, when one column is at fault.
    pub column: Option<String>,
    /// The value as it was in the file, when one value is at fault.
    pub value: Option<String>,
    /// What is wrong. With a value, it completes the sentence that starts with the value.
    pub message: String,
    /// Invalid (a value could not be read) or error (it failed otherwise).
    pub outcome: RowOutcome,
}

impl RowError {
    /// The error without the file and row, for an `Error` column beside the row:
    /// `column "published": "2019-13-45" is not a date (expected YYYY-MM-DD)`.
    pub fn describe_in_row(&self) -> String {
        let mut out = String::new();
        if let Some(column) = &self.column {
            out.push_str(&format!("column \"{column}\": "));
        }
        if let Some(value) = &self.value {
            out.push_str(&format!("\"{}\" ", cut(value, 60)));
        }
        out.push_str(&self.message);
        out
    }

    /// The error as one sentence for a person, naming the file, row and column:
    /// `books.csv, row 501, column "published": "2019-13-45" is not a date (expected YYYY-MM-DD)`.
    pub fn describe(&self, file: &str) -> String {
        let mut out = format!("{file}, row {}", self.row);
        if let Some(column) = &self.column {
            out.push_str(&format!(", column \"{column}\""));
        }
        out.push_str(": ");
        if let Some(value) = &self.value {
            out.push_str(&format!("\"{}\" ", cut(value, 60)));
        }
        out.push_str(&self.message);
        out
    }
}

/// Cuts long text with `…`, on a character boundary.
pub fn cut(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max_chars).collect();
        out.push('…');
        out
    }
}

/// One changed value of an updated row, as rendered for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The column's header.
    pub column: String,
    /// The value before the import (empty for a new row).
    pub old: String,
    /// The value after it (empty for a delete).
    pub new: String,
}

/// The outcome and diff of one row, kept for the first rows of an import (the preview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowResult {
    /// The row's number in the file.
    pub row: u64,
    /// What happened.
    pub outcome: RowOutcome,
    /// The record's primary key, once known.
    pub key: Option<String>,
    /// Changed values (every value for new rows and deletes), unless the diff is off.
    pub changes: Vec<Change>,
    /// The record as imported (as it was, for a delete), with the `store_instance` option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<Record>,
    /// The row's cells as text, by column in file order, with the `store_row_values`
    /// option (DJE `RowResult.row_values`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_values: Option<Vec<(String, String)>>,
}

impl RowResult {
    /// True for new, updated, deleted and skipped rows (DJE `is_valid`).
    pub fn is_valid(&self) -> bool {
        !matches!(self.outcome, RowOutcome::Invalid | RowOutcome::Error)
    }
}

/// Receives each reported row of an import as it is decided, in file order (see
/// [`import_into`](crate::import::import_into)).
///
/// `()` is the sink that wants nothing; the engine then skips building row results beyond
/// the preview.
pub trait RowSink {
    /// False when the sink ignores rows, so the engine need not build them.
    fn wants_rows(&self) -> bool {
        true
    }

    /// One row: its outcome and diff, and its errors in column order (empty for valid rows).
    fn row(&mut self, row: &RowResult, errors: &[RowError]);

    /// True when the sink wants every failed row's cells ([`RowSink::failed_row`]).
    fn wants_failed_rows(&self) -> bool {
        false
    }

    /// One invalid or error row as the file had it (after `before_import_row`), with its
    /// errors: DJE's `collect_failed_rows`. Called whether or not the row is reported.
    fn failed_row(&mut self, number: u64, cells: &[Cell], errors: &[RowError]) {
        let _ = (number, cells, errors);
    }
}

impl RowSink for () {
    fn wants_rows(&self) -> bool {
        false
    }

    fn row(&mut self, _row: &RowResult, _errors: &[RowError]) {}
}

impl RowSink for Vec<(RowResult, Vec<RowError>)> {
    fn row(&mut self, row: &RowResult, errors: &[RowError]) {
        self.push((row.clone(), errors.to_vec()));
    }
}

/// Everything an import reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportResult {
    /// Rows counted by outcome.
    pub totals: Totals,
    /// Every row error, in file order.
    pub errors: Vec<RowError>,
    /// The first rows' outcomes and diffs, up to the preview limit.
    pub rows: Vec<RowResult>,
    /// True when the import ran as a dry run.
    pub dry_run: bool,
    /// True when the changes were committed.
    pub committed: bool,
    /// Seconds the import took.
    pub seconds: f64,
}

impl ImportResult {
    /// True when any row was invalid or in error.
    pub fn has_failures(&self) -> bool {
        self.totals.failed() > 0
    }

    /// The one-line summary: `1,000 rows: 950 new, … (0.42 s)`.
    pub fn summary(&self) -> String {
        let rows = self.totals.rows();
        format!(
            "{} {}: {} ({:.2} s)",
            group(rows),
            if rows == 1 { "row" } else { "rows" },
            self.totals,
            self.seconds
        )
    }
}

/// An invalid row: its number and its errors split into field errors (one column at fault)
/// and non-field errors (the row as a whole), as DJE's `InvalidRow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidRow<'a> {
    /// The row's number in the file.
    pub number: u64,
    /// Errors of one column each, in column order.
    pub field_errors: Vec<&'a RowError>,
    /// Errors of the whole row (a unique constraint over several columns, a CHECK).
    pub non_field_errors: Vec<&'a RowError>,
}

impl InvalidRow<'_> {
    /// Every error of the row (DJE `error_count`).
    pub fn error_count(&self) -> usize {
        self.field_errors.len() + self.non_field_errors.len()
    }
}

/// A row in error (the database refused it, a hook failed): its number and errors, as DJE's
/// `ErrorRow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRow<'a> {
    /// The row's number in the file.
    pub number: u64,
    /// Its errors.
    pub errors: Vec<&'a RowError>,
}

/// The kept errors grouped by row, for rows of `outcome`.
fn rows_of(errors: &[RowError], outcome: RowOutcome) -> Vec<(u64, Vec<&RowError>)> {
    let mut out: Vec<(u64, Vec<&RowError>)> = Vec::new();
    for e in errors.iter().filter(|e| e.outcome == outcome) {
        match out.last_mut() {
            Some((n, list)) if *n == e.row => list.push(e),
            _ => out.push((e.row, vec![e])),
        }
    }
    out
}

impl ImportResult {
    /// The invalid rows among the kept errors, in file order (DJE `invalid_rows`).
    ///
    /// A row counts as invalid when a value could not be read or broke a constraint;
    /// [`ImportResult::error_rows`] has the rows that failed otherwise.
    pub fn invalid_rows(&self) -> Vec<InvalidRow<'_>> {
        // An error row may also carry invalid-value errors; it is an error row then.
        let failed: std::collections::HashSet<u64> = self
            .errors
            .iter()
            .filter(|e| e.outcome == RowOutcome::Error)
            .map(|e| e.row)
            .collect();
        rows_of(&self.errors, RowOutcome::Invalid)
            .into_iter()
            .filter(|(n, _)| !failed.contains(n))
            .map(|(number, errors)| {
                let (field_errors, non_field_errors) =
                    errors.into_iter().partition(|e| e.column.is_some());
                InvalidRow {
                    number,
                    field_errors,
                    non_field_errors,
                }
            })
            .collect()
    }

    /// The rows in error among the kept errors, in file order (DJE `error_rows`).
    pub fn error_rows(&self) -> Vec<ErrorRow<'_>> {
        let mut rows: Vec<ErrorRow<'_>> = Vec::new();
        for e in &self.errors {
            let in_error = self
                .errors
                .iter()
                .any(|o| o.row == e.row && o.outcome == RowOutcome::Error);
            if !in_error {
                continue;
            }
            match rows.last_mut() {
                Some(r) if r.number == e.row => r.errors.push(e),
                _ => rows.push(ErrorRow {
                    number: e.row,
                    errors: vec![e],
                }),
            }
        }
        rows
    }

    /// The kept row results that are valid: new, update, delete, skip (DJE `valid_rows`).
    pub fn valid_rows(&self) -> impl Iterator<Item = &RowResult> {
        self.rows.iter().filter(|r| r.is_valid())
    }

    /// True when a row failed for a reason other than its values (DJE `has_errors`; the
    /// import-wide errors DJE calls base errors end a rowport import with an
    /// [`ImportError`](crate::ImportError) instead).
    pub fn has_errors(&self) -> bool {
        self.totals.error > 0
    }

    /// True when a row had values that could not be read or broke a constraint (DJE
    /// `has_validation_errors`).
    pub fn has_validation_errors(&self) -> bool {
        self.totals.invalid > 0
    }
}

/// The header of the column that [`FailedRowsWriter`] adds for the errors.
pub const ERROR_COLUMN: &str = "Error";

/// A [`RowSink`] that writes each failed row, as the file had it plus an `Error` column, to
/// a [`RowWriter`] as it fails: DJE's `collect_failed_rows` dataset, kept on disk rather
/// than in memory. Fix the rows and import the file again: the `Error` column matches no
/// field, so it is ignored (and replaced, not repeated, if the fixed file fails again).
///
/// ```
/// use rowport::{import_into, memory::MemoryStore, result::FailedRowsWriter, ImportOptions, Resource, Store, ValueKind};
/// use rowport_formats::{open_reader, open_writer, Format, ReadOptions, WriteOptions};
///
/// let mut store = MemoryStore::new();
/// store.create_table("book", &[("id", ValueKind::Int), ("pages", ValueKind::Int)]);
/// let book = Resource::from_schema("book", &store.describe("book").unwrap()).finish().unwrap();
/// let csv = "id,pages\n1,100\n2,many\n";
/// let mut reader = open_reader(Format::Csv, Box::new(csv.as_bytes()), "books.csv", &ReadOptions::default()).unwrap();
/// let mut out = Vec::new();
/// {
///     let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
///     let mut failed = FailedRowsWriter::new(writer, reader.headers()).unwrap();
///     let options = ImportOptions { skip_invalid: true, ..ImportOptions::default() };
///     import_into(&book, &mut store, reader.as_mut(), &options, &mut failed).unwrap();
///     assert_eq!(failed.finish().unwrap(), 1);
/// }
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("id,pages,Error\n2,many,"), "{text}");
/// ```
pub struct FailedRowsWriter<'a> {
    writer: Box<dyn RowWriter + 'a>,
    /// Where the errors go among the cells: after the file's columns, or the file's own
    /// `Error` column.
    error_at: usize,
    width: usize,
    cells: Vec<Cell>,
    rows: u64,
    error: Option<FormatError>,
}

impl<'a> FailedRowsWriter<'a> {
    /// Writes the header (the file's `headers`, then `Error` unless they have it) and is
    /// ready for rows.
    pub fn new(
        mut writer: Box<dyn RowWriter + 'a>,
        headers: &[String],
    ) -> Result<Self, FormatError> {
        let mut out = headers.to_vec();
        let error_at = match headers.iter().position(|h| h == ERROR_COLUMN) {
            Some(i) => i,
            None => {
                out.push(ERROR_COLUMN.to_owned());
                headers.len()
            }
        };
        writer.write_header(&out)?;
        Ok(FailedRowsWriter {
            writer,
            error_at,
            width: out.len(),
            cells: Vec::with_capacity(out.len()),
            rows: 0,
            error: None,
        })
    }

    /// Completes the file; returns how many failed rows it holds, or the first write error.
    pub fn finish(self) -> Result<u64, FormatError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.writer.finish()?;
        Ok(self.rows)
    }
}

impl RowSink for FailedRowsWriter<'_> {
    fn wants_rows(&self) -> bool {
        false
    }

    fn row(&mut self, _row: &RowResult, _errors: &[RowError]) {}

    fn wants_failed_rows(&self) -> bool {
        true
    }

    fn failed_row(&mut self, _number: u64, cells: &[Cell], errors: &[RowError]) {
        if self.error.is_some() {
            return;
        }
        self.cells.clear();
        self.cells.extend(cells.iter().take(self.width).cloned());
        self.cells.resize(self.width, Cell::Empty);
        let text = errors
            .iter()
            .map(RowError::describe_in_row)
            .collect::<Vec<_>>()
            .join("; ");
        self.cells[self.error_at] = Cell::Text(text);
        match self.writer.write_row(&self.cells) {
            Ok(()) => self.rows += 1,
            Err(e) => self.error = Some(e),
        }
    }
}
