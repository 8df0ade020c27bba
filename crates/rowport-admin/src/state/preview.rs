//! The rows of a dry run, kept in the state database by upload token so that any instance
//! can page through a preview of any size.
//!
//! Each row gets its number among all rows (`seq`) and among the rows of its outcome
//! (`oseq`), both without gaps, so a page is a range scan of an index, as fast at row
//! 900,000 as at row 1.

use chrono::{DateTime, Utc};
use rowport::result::{Change, RowError, RowOutcome, RowResult, RowSink, Totals};
use rowport_formats::Cell;
use serde::{Deserialize, Serialize};

use super::db::{Conn, Kind, P, V};
use super::{secret, time, StateError, StateStore, SweepReport};

/// Rows buffered before they are written (in one transaction).
const FLUSH_ROWS: usize = 1000;
/// Rows per INSERT statement (9 parameters each).
const ROWS_PER_STATEMENT: usize = 100;

const OUTCOMES: [RowOutcome; 6] = [
    RowOutcome::New,
    RowOutcome::Update,
    RowOutcome::Skip,
    RowOutcome::Delete,
    RowOutcome::Invalid,
    RowOutcome::Error,
];

fn outcome_index(outcome: RowOutcome) -> usize {
    match outcome {
        RowOutcome::New => 0,
        RowOutcome::Update => 1,
        RowOutcome::Skip => 2,
        RowOutcome::Delete => 3,
        RowOutcome::Invalid => 4,
        RowOutcome::Error => 5,
    }
}

fn outcome_str(outcome: RowOutcome) -> &'static str {
    match outcome {
        RowOutcome::New => "new",
        RowOutcome::Update => "update",
        RowOutcome::Skip => "skip",
        RowOutcome::Delete => "delete",
        RowOutcome::Invalid => "invalid",
        RowOutcome::Error => "error",
    }
}

fn parse_outcome(text: &str) -> RowOutcome {
    OUTCOMES
        .into_iter()
        .find(|o| outcome_str(*o) == text)
        .unwrap_or(RowOutcome::Error)
}

fn totals_count(totals: &Totals, outcome: RowOutcome) -> u64 {
    match outcome {
        RowOutcome::New => totals.new,
        RowOutcome::Update => totals.update,
        RowOutcome::Skip => totals.skip,
        RowOutcome::Delete => totals.delete,
        RowOutcome::Invalid => totals.invalid,
        RowOutcome::Error => totals.error,
    }
}

/// A row error as stored (the row number and outcome are the row's).
#[derive(Serialize, Deserialize)]
struct StoredError {
    column: Option<String>,
    value: Option<String>,
    message: String,
    outcome: String,
}

#[derive(Serialize, Deserialize)]
struct StoredChange {
    column: String,
    old: String,
    new: String,
}

/// One row of a preview: its outcome and diff, and its errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewRow {
    /// Its position among all the preview's rows, from 0.
    pub seq: u64,
    /// Its outcome, key and changed values; `row_values` holds the file's values of a
    /// failed row when the sink kept them ([`PreviewSink::keep_file_values`]).
    pub result: RowResult,
    /// Its errors, in column order (empty for a valid row).
    pub errors: Vec<RowError>,
}

/// A page of a preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewPage {
    /// The rows of the page, in file order.
    pub rows: Vec<PreviewRow>,
    /// How many rows match the page's filter in all (every row without a filter).
    pub matching: u64,
    /// The offset asked for.
    pub offset: u64,
    /// The limit asked for.
    pub limit: u64,
    /// Rows counted by outcome, for the whole preview.
    pub totals: Totals,
}

/// What is known of a preview as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewSummary {
    /// The upload's token.
    pub token: String,
    /// Rows counted by outcome.
    pub totals: Totals,
    /// True once the dry run ended and [`PreviewSink::finish`] was called.
    pub complete: bool,
    /// What the web layer gave `finish` (e.g. the import's errors that belong to no row).
    pub summary: serde_json::Value,
    /// When the preview started.
    pub created: DateTime<Utc>,
    /// When it expires, with its upload.
    pub expires: DateTime<Utc>,
}

struct Pending {
    seq: i64,
    oseq: i64,
    outcome: RowOutcome,
    row_no: i64,
    key: Option<String>,
    changes: String,
    errors: String,
    /// The file's values of a failed row, as JSON `[[header, value], …]`.
    row_values: Option<String>,
}

/// A [`RowSink`] that writes the rows of a dry run into the state store, keyed by the
/// upload's token. Give it to `rowport::import_into`, then call [`finish`](Self::finish).
///
/// `RowSink::row` cannot fail, so the first storage error is kept and returned by
/// `finish`; rows after it are dropped.
pub struct PreviewSink<'a> {
    store: &'a StateStore,
    token: String,
    pending: Vec<Pending>,
    seq: i64,
    oseq: [i64; 6],
    totals: Totals,
    failed: Option<StateError>,
    /// The file's headers, when the file's values of failed rows are kept.
    headers: Option<Vec<String>>,
    /// The cells of the failed row the engine is about to report: `failed_row` comes just
    /// before `row` for the same row, so one row is held, never more.
    failed_cells: Option<(u64, Vec<String>)>,
}

impl std::fmt::Debug for PreviewSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewSink")
            .field("rows", &self.seq)
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

impl RowSink for PreviewSink<'_> {
    fn wants_failed_rows(&self) -> bool {
        self.headers.is_some()
    }

    fn failed_row(&mut self, number: u64, cells: &[Cell], _errors: &[RowError]) {
        if self.headers.is_some() && self.failed.is_none() {
            self.failed_cells = Some((number, cells.iter().map(|c| c.to_string()).collect()));
        }
    }

    fn row(&mut self, row: &RowResult, errors: &[RowError]) {
        let held = self.failed_cells.take();
        if self.failed.is_some() {
            return;
        }
        let index = outcome_index(row.outcome);
        let changes: Vec<StoredChange> = row
            .changes
            .iter()
            .map(|c| StoredChange {
                column: c.column.clone(),
                old: c.old.clone(),
                new: c.new.clone(),
            })
            .collect();
        let stored_errors: Vec<StoredError> = errors
            .iter()
            .map(|e| StoredError {
                column: e.column.clone(),
                value: e.value.clone(),
                message: e.message.clone(),
                outcome: outcome_str(e.outcome).to_owned(),
            })
            .collect();
        let encoded = serde_json::to_string(&changes).and_then(|c| {
            let e = serde_json::to_string(&stored_errors)?;
            let v = self.file_values(row, held)?;
            Ok((c, e, v))
        });
        let (changes, errors, row_values) = match encoded {
            Ok(encoded) => encoded,
            Err(e) => {
                self.failed = Some(StateError::Database(format!(
                    "cannot encode preview row {}: {e}",
                    row.row
                )));
                return;
            }
        };
        self.pending.push(Pending {
            seq: self.seq,
            oseq: self.oseq[index],
            outcome: row.outcome,
            row_no: i64::try_from(row.row).unwrap_or(i64::MAX),
            key: row.key.clone(),
            changes,
            errors,
            row_values,
        });
        self.seq += 1;
        self.oseq[index] += 1;
        self.totals.add(row.outcome);
        if self.pending.len() >= FLUSH_ROWS {
            if let Err(e) = self.flush() {
                self.failed = Some(e);
            }
        }
    }
}

impl PreviewSink<'_> {
    /// The file's values of a failed row as JSON `[[header, value], …]`, from the cells
    /// `failed_row` held. `None` for valid rows, and when values are not kept.
    fn file_values(
        &self,
        row: &RowResult,
        held: Option<(u64, Vec<String>)>,
    ) -> serde_json::Result<Option<String>> {
        if row.is_valid() {
            return Ok(None);
        }
        match (held, &self.headers) {
            (Some((number, cells)), Some(headers)) if number == row.row => {
                // A short row's missing cells are empty, as the engine reads them.
                let pairs: Vec<(&str, &str)> = headers
                    .iter()
                    .map(String::as_str)
                    .zip(
                        cells
                            .iter()
                            .map(String::as_str)
                            .chain(std::iter::repeat("")),
                    )
                    .collect();
                serde_json::to_string(&pairs).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Keeps the file's values of every invalid and error row (`import_error_display =
    /// ["row"]`), paired with `headers`, the file's headers in order. Valid rows keep
    /// none, so a large preview stays small.
    pub fn keep_file_values(mut self, headers: Vec<String>) -> Self {
        self.headers = Some(headers);
        self
    }

    fn flush(&mut self) -> Result<(), StateError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let token = self.token.clone();
        let pending = std::mem::take(&mut self.pending);
        self.store.db.transaction(|conn| {
            if conn.kind() == Kind::Postgres {
                return insert_rows(conn, &token, &pending);
            }
            for chunk in pending.chunks(ROWS_PER_STATEMENT) {
                insert_rows(conn, &token, chunk)?;
            }
            Ok(())
        })
    }

    /// Rows written so far, by outcome.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Writes the last rows and marks the preview complete, with `summary` (any JSON the
    /// web layer wants back on every instance: the import's errors that belong to no row,
    /// say). Returns the first error met while storing rows, if any.
    pub fn finish(mut self, summary: serde_json::Value) -> Result<PreviewSummary, StateError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.flush()?;
        let text = summary.to_string();
        let t = self.totals;
        let count = |n: u64| P::I(i64::try_from(n).unwrap_or(i64::MAX));
        let mut conn = self.store.db.conn()?;
        conn.exec(
            "UPDATE rowport_previews SET rows_new = ?, rows_update = ?, rows_skip = ?, rows_delete = ?, rows_invalid = ?, rows_error = ?, complete = 1, summary = ? WHERE token = ?",
            &[
                count(t.new),
                count(t.update),
                count(t.skip),
                count(t.delete),
                count(t.invalid),
                count(t.error),
                P::T(&text),
                P::T(&self.token),
            ],
        )?;
        drop(conn);
        self.store.preview_summary(&self.token)
    }
}

fn insert_rows(conn: &mut dyn Conn, token: &str, rows: &[Pending]) -> Result<(), StateError> {
    let numbers: Vec<[String; 3]> = rows
        .iter()
        .map(|r| [r.seq.to_string(), r.oseq.to_string(), r.row_no.to_string()])
        .collect();
    let copied: Vec<Vec<Option<&str>>> = rows
        .iter()
        .zip(&numbers)
        .map(|(r, n)| {
            vec![
                Some(token),
                Some(n[0].as_str()),
                Some(outcome_str(r.outcome)),
                Some(n[1].as_str()),
                Some(n[2].as_str()),
                r.key.as_deref(),
                Some(r.changes.as_str()),
                Some(r.errors.as_str()),
                r.row_values.as_deref(),
            ]
        })
        .collect();
    if conn.copy_in(
        "rowport_preview_rows (token, seq, outcome, oseq, row_no, record_key, changes, errors, row_values)",
        &copied,
    )? {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO rowport_preview_rows (token, seq, outcome, oseq, row_no, record_key, changes, errors, row_values) VALUES ",
    );
    let mut params = Vec::with_capacity(rows.len() * 9);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?)");
        params.extend([
            P::T(token),
            P::I(row.seq),
            P::T(outcome_str(row.outcome)),
            P::I(row.oseq),
            P::I(row.row_no),
            P::opt_t(row.key.as_deref()),
            P::T(&row.changes),
            P::T(&row.errors),
            P::opt_t(row.row_values.as_deref()),
        ]);
    }
    conn.exec(&sql, &params)?;
    Ok(())
}

fn row_from(row: Vec<V>) -> PreviewRow {
    let mut it = row.into_iter();
    let mut next = || it.next().unwrap_or(V::Null);
    let seq = next().i64().max(0).unsigned_abs();
    let outcome = parse_outcome(&next().text());
    let row_no = next().i64().max(0).unsigned_abs();
    let key = next().opt_text();
    let changes: Vec<StoredChange> = serde_json::from_str(&next().text()).unwrap_or_default();
    let errors: Vec<StoredError> = serde_json::from_str(&next().text()).unwrap_or_default();
    let row_values: Option<Vec<(String, String)>> = next()
        .opt_text()
        .and_then(|t| serde_json::from_str(&t).ok());
    PreviewRow {
        seq,
        result: RowResult {
            row: row_no,
            outcome,
            key,
            changes: changes
                .into_iter()
                .map(|c| Change {
                    column: c.column,
                    old: c.old,
                    new: c.new,
                })
                .collect(),
            instance: None,
            row_values,
        },
        errors: errors
            .into_iter()
            .map(|e| RowError {
                row: row_no,
                column: e.column,
                value: e.value,
                message: e.message,
                outcome: parse_outcome(&e.outcome),
            })
            .collect(),
    }
}

impl StateStore {
    /// A sink for the dry run of the upload `token`, replacing any earlier preview of it.
    /// The preview expires with the upload.
    pub fn preview_sink(&self, token: &str) -> Result<PreviewSink<'_>, StateError> {
        let upload = self.upload(token)?;
        let now = self.now();
        let expires = upload.expires.timestamp_millis();
        self.db.transaction(|conn| {
            conn.exec(
                "DELETE FROM rowport_preview_rows WHERE token = ?",
                &[P::T(token)],
            )?;
            conn.exec(
                "DELETE FROM rowport_previews WHERE token = ?",
                &[P::T(token)],
            )?;
            conn.exec(
                "INSERT INTO rowport_previews (token, created, expires) VALUES (?, ?, ?)",
                &[P::T(token), P::I(now), P::I(expires)],
            )?;
            Ok(())
        })?;
        Ok(PreviewSink {
            store: self,
            token: token.to_owned(),
            pending: Vec::with_capacity(FLUSH_ROWS),
            seq: 0,
            oseq: [0; 6],
            totals: Totals::default(),
            failed: None,
            headers: None,
            failed_cells: None,
        })
    }

    /// The preview of an upload as a whole. [`StateError::PreviewNotFound`] when there is
    /// none (or it expired); [`StateError::MalformedToken`] for text that is not a token.
    pub fn preview_summary(&self, token: &str) -> Result<PreviewSummary, StateError> {
        if !secret::is_token(token) {
            return Err(StateError::MalformedToken);
        }
        let now = self.now();
        let mut conn = self.db.conn()?;
        let row = conn
            .first(
                "SELECT rows_new, rows_update, rows_skip, rows_delete, rows_invalid, rows_error, complete, summary, created, expires FROM rowport_previews WHERE token = ? AND expires > ?",
                &[P::T(token), P::I(now)],
            )?
            .ok_or(StateError::PreviewNotFound)?;
        let mut it = row.into_iter();
        let mut next = || it.next().unwrap_or(V::Null);
        let mut count = || next().i64().max(0).unsigned_abs();
        let totals = Totals {
            new: count(),
            update: count(),
            skip: count(),
            delete: count(),
            invalid: count(),
            error: count(),
        };
        let complete = next().i64() != 0;
        let summary = next()
            .opt_text()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null);
        Ok(PreviewSummary {
            token: token.to_owned(),
            totals,
            complete,
            summary,
            created: time(next().i64()),
            expires: time(next().i64()),
        })
    }

    /// A page of a preview: `limit` rows (at most 10,000) from `offset`, of every outcome
    /// or of one. Offsets count rows of the filter's outcome, so page `k` of the invalid
    /// rows starts at `k * limit`; any page costs the same, however deep.
    pub fn preview_page(
        &self,
        token: &str,
        outcome: Option<RowOutcome>,
        offset: u64,
        limit: u64,
    ) -> Result<PreviewPage, StateError> {
        let summary = self.preview_summary(token)?;
        let from = i64::try_from(offset).unwrap_or(i64::MAX);
        let take = i64::try_from(limit.min(10_000)).unwrap_or(0);
        // Numbers are dense, so the page is exactly the rows numbered `from..from + take`.
        // Both bounds keep the plan a short range scan: with the lower bound alone,
        // MariaDB reads the (token, outcome) index from its start and filters on `oseq`,
        // which grows with the offset (7.8 ms instead of 1.6 at the middle of a 1,000,000-row
        // preview's updates; BENCHMARKS.md).
        let to = from.saturating_add(take);
        let mut conn = self.db.conn()?;
        const COLUMNS: &str = "seq, outcome, row_no, record_key, changes, errors, row_values";
        let (rows, matching) = match outcome {
            None => (
                conn.query(
                    &format!("SELECT {COLUMNS} FROM rowport_preview_rows WHERE token = ? AND seq >= ? AND seq < ? ORDER BY seq LIMIT ?"),
                    &[P::T(token), P::I(from), P::I(to), P::I(take)],
                )?,
                summary.totals.rows(),
            ),
            Some(outcome) => (
                conn.query(
                    &format!("SELECT {COLUMNS} FROM rowport_preview_rows WHERE token = ? AND outcome = ? AND oseq >= ? AND oseq < ? ORDER BY oseq LIMIT ?"),
                    &[P::T(token), P::T(outcome_str(outcome)), P::I(from), P::I(to), P::I(take)],
                )?,
                totals_count(&summary.totals, outcome),
            ),
        };
        Ok(PreviewPage {
            rows: rows.into_iter().map(row_from).collect(),
            matching,
            offset,
            limit,
            totals: summary.totals,
        })
    }

    pub(crate) fn remove_preview(&self, token: &str) -> Result<(), StateError> {
        self.db.transaction(|conn| {
            conn.exec(
                "DELETE FROM rowport_preview_rows WHERE token = ?",
                &[P::T(token)],
            )?;
            conn.exec(
                "DELETE FROM rowport_previews WHERE token = ?",
                &[P::T(token)],
            )?;
            Ok(())
        })
    }

    pub(crate) fn sweep_previews(
        &self,
        now: i64,
        report: &mut SweepReport,
    ) -> Result<(), StateError> {
        let tokens: Vec<String> = {
            let mut conn = self.db.conn()?;
            conn.query(
                "SELECT token FROM rowport_previews WHERE expires <= ?",
                &[P::I(now)],
            )?
            .into_iter()
            .filter_map(|row| row.into_iter().next().map(V::text))
            .collect()
        };
        for token in tokens {
            self.remove_preview(&token)?;
            report.previews += 1;
        }
        Ok(())
    }
}
