//! What an import reports: totals per outcome, every row error, and the first row diffs.

use std::fmt;

use serde::Serialize;

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
