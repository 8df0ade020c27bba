//! Import jobs that run in the background, their progress and results (the import history
//! of a resource), and the column mappings remembered per resource.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{P, V};
use super::{secret, time, StateError, StateStore};

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Running (or waiting to run).
    Running,
    /// Finished: the import ran to its end (rows may still have failed; see the result).
    Done,
    /// Failed: the import stopped (the file could not be read, the database went away).
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> JobStatus {
        match text {
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            _ => JobStatus::Running,
        }
    }
}

/// What starts an import job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The resource imported into.
    pub resource: String,
    /// The name of the user who confirmed it.
    pub user: String,
    /// The file's name.
    pub file_name: String,
    /// The upload it reads, if any.
    pub upload_token: Option<String>,
    /// The file's size in bytes (the progress bar's end).
    pub bytes_total: u64,
}

/// An import job, as any instance reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Its id: 64 hex digits, random (a job's page cannot be guessed).
    pub id: String,
    /// The resource imported into.
    pub resource: String,
    /// Who confirmed it.
    pub user: String,
    /// The file's name.
    pub file_name: String,
    /// The upload it reads, if any.
    pub upload_token: Option<String>,
    /// Where it is.
    pub status: JobStatus,
    /// Rows read so far.
    pub rows_done: u64,
    /// Bytes of the file read so far.
    pub bytes_done: u64,
    /// The file's size in bytes.
    pub bytes_total: u64,
    /// The result, once done: whatever JSON the web layer stored (totals and errors).
    pub result: Option<serde_json::Value>,
    /// Why it failed, once failed.
    pub error: Option<String>,
    /// When it started.
    pub created: DateTime<Utc>,
    /// When it last reported.
    pub updated: DateTime<Utc>,
    /// When it ended.
    pub finished: Option<DateTime<Utc>>,
}

impl Job {
    /// Progress from 0.0 to 1.0 by bytes read (1.0 once ended).
    pub fn fraction(&self) -> f64 {
        if self.status != JobStatus::Running {
            1.0
        } else if self.bytes_total == 0 {
            0.0
        } else {
            (self.bytes_done as f64 / self.bytes_total as f64).clamp(0.0, 1.0)
        }
    }
}

/// One column of a file, mapped to a field of the resource or ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedColumn {
    /// The column's header in the file.
    pub file_column: String,
    /// The field it fills, or `None` when it is ignored.
    pub field: Option<String>,
}

const JOB_COLUMNS: &str = "id, resource, user_name, file_name, upload_token, status, rows_done, bytes_done, bytes_total, result, error, created, updated, finished";

fn job_from(row: Vec<V>) -> Job {
    let mut it = row.into_iter();
    let mut next = || it.next().unwrap_or(V::Null);
    Job {
        id: next().text(),
        resource: next().text(),
        user: next().text(),
        file_name: next().text(),
        upload_token: next().opt_text(),
        status: JobStatus::parse(&next().text()),
        rows_done: next().i64().max(0).unsigned_abs(),
        bytes_done: next().i64().max(0).unsigned_abs(),
        bytes_total: next().i64().max(0).unsigned_abs(),
        result: next()
            .opt_text()
            .and_then(|t| serde_json::from_str(&t).ok()),
        error: next().opt_text(),
        created: time(next().i64()),
        updated: time(next().i64()),
        finished: next().opt_i64().map(time),
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl StateStore {
    /// Records a new running job.
    pub fn create_job(&self, job: &NewJob) -> Result<Job, StateError> {
        let id = secret::token();
        let now = self.now();
        let mut conn = self.db.conn()?;
        conn.exec(
            "INSERT INTO rowport_jobs (id, resource, user_name, file_name, upload_token, status, bytes_total, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                P::T(&id),
                P::T(&job.resource),
                P::T(&job.user),
                P::T(&job.file_name),
                P::opt_t(job.upload_token.as_deref()),
                P::T(JobStatus::Running.as_str()),
                P::I(int(job.bytes_total)),
                P::I(now),
                P::I(now),
            ],
        )?;
        drop(conn);
        self.job(&id)?.ok_or(StateError::UnknownJob(id))
    }

    /// Reports a running job's progress.
    pub fn job_progress(
        &self,
        id: &str,
        rows_done: u64,
        bytes_done: u64,
    ) -> Result<(), StateError> {
        let now = self.now();
        let mut conn = self.db.conn()?;
        let n = conn.exec(
            "UPDATE rowport_jobs SET rows_done = ?, bytes_done = ?, updated = ? WHERE id = ? AND status = ?",
            &[P::I(int(rows_done)), P::I(int(bytes_done)), P::I(now), P::T(id), P::T(JobStatus::Running.as_str())],
        )?;
        if n == 0
            && conn.count(
                "SELECT COUNT(*) FROM rowport_jobs WHERE id = ?",
                &[P::T(id)],
            )? == 0
        {
            return Err(StateError::UnknownJob(id.to_owned()));
        }
        Ok(())
    }

    /// Ends a job with its result (totals and errors, as JSON).
    pub fn finish_job(
        &self,
        id: &str,
        rows_done: u64,
        result: &serde_json::Value,
    ) -> Result<(), StateError> {
        self.end_job(
            id,
            JobStatus::Done,
            rows_done,
            Some(&result.to_string()),
            None,
        )
    }

    /// Ends a job that failed, with the reason.
    pub fn fail_job(&self, id: &str, error: &str) -> Result<(), StateError> {
        self.end_job(id, JobStatus::Failed, 0, None, Some(error))
    }

    fn end_job(
        &self,
        id: &str,
        status: JobStatus,
        rows_done: u64,
        result: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StateError> {
        let now = self.now();
        let mut conn = self.db.conn()?;
        // A failed job keeps the rows it reported; a finished one takes the final count.
        let bytes_done = if status == JobStatus::Done {
            "bytes_total"
        } else {
            "bytes_done"
        };
        let n = conn.exec(
            &format!("UPDATE rowport_jobs SET status = ?, rows_done = CASE WHEN ? > rows_done THEN ? ELSE rows_done END, bytes_done = {bytes_done}, result = ?, error = ?, updated = ?, finished = ? WHERE id = ?"),
            &[
                P::T(status.as_str()),
                P::I(int(rows_done)),
                P::I(int(rows_done)),
                P::opt_t(result),
                P::opt_t(error),
                P::I(now),
                P::I(now),
                P::T(id),
            ],
        )?;
        if n == 0 {
            return Err(StateError::UnknownJob(id.to_owned()));
        }
        Ok(())
    }

    /// The job with this id (`None` for an unknown id or text that is not an id).
    pub fn job(&self, id: &str) -> Result<Option<Job>, StateError> {
        if !secret::is_token(id) {
            return Ok(None);
        }
        let mut conn = self.db.conn()?;
        Ok(conn
            .first(
                &format!("SELECT {JOB_COLUMNS} FROM rowport_jobs WHERE id = ?"),
                &[P::T(id)],
            )?
            .map(job_from))
    }

    /// The import history of a resource, newest first, at most `limit` jobs.
    pub fn jobs(&self, resource: &str, limit: u64) -> Result<Vec<Job>, StateError> {
        let mut conn = self.db.conn()?;
        Ok(conn
            .query(
                &format!("SELECT {JOB_COLUMNS} FROM rowport_jobs WHERE resource = ? ORDER BY created DESC, id LIMIT ?"),
                &[P::T(resource), P::I(int(limit))],
            )?
            .into_iter()
            .map(job_from)
            .collect())
    }

    /// Remembers how a file's columns map to a resource's fields, replacing what was
    /// remembered before.
    pub fn save_mapping(&self, resource: &str, columns: &[MappedColumn]) -> Result<(), StateError> {
        let now = self.now();
        self.db.transaction(|conn| {
            conn.exec("DELETE FROM rowport_mappings WHERE resource = ?", &[P::T(resource)])?;
            for (i, column) in columns.iter().enumerate() {
                conn.exec(
                    "INSERT INTO rowport_mappings (resource, position, file_column, field, updated) VALUES (?, ?, ?, ?, ?)",
                    &[
                        P::T(resource),
                        P::I(int(i as u64)),
                        P::T(&column.file_column),
                        P::opt_t(column.field.as_deref()),
                        P::I(now),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// The mapping remembered for a resource, in file column order (empty when none).
    pub fn mapping(&self, resource: &str) -> Result<Vec<MappedColumn>, StateError> {
        let mut conn = self.db.conn()?;
        Ok(conn
            .query(
                "SELECT file_column, field FROM rowport_mappings WHERE resource = ? ORDER BY position",
                &[P::T(resource)],
            )?
            .into_iter()
            .map(|row| {
                let mut it = row.into_iter();
                MappedColumn {
                    file_column: it.next().unwrap_or(V::Null).text(),
                    field: it.next().unwrap_or(V::Null).opt_text(),
                }
            })
            .collect())
    }
}
