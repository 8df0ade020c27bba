//! What the web layer needs from rowport's state, as one trait. The views speak only to
//! this; [`crate::web::adapter`] implements it over [`crate::state`].

use std::collections::BTreeMap;
use std::io::Read;

use rowport::result::RowResult;
use rowport::{RowError, RowOutcome, RowSink};
use serde::{Deserialize, Serialize};

/// A failure of the state store, as one sentence.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);

impl PortError {
    /// Wraps any displayable error.
    pub fn from_display(e: impl std::fmt::Display) -> PortError {
        PortError(e.to_string())
    }
}

/// What one user may do with one resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Perms {
    /// See the change list and the row counts.
    pub view: bool,
    /// Upload, preview and confirm imports.
    pub import: bool,
    /// Export.
    pub export: bool,
}

/// A signed-in user, with every grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The login name.
    pub name: String,
    /// May do everything.
    pub superuser: bool,
    /// Grants by resource name.
    pub grants: BTreeMap<String, Perms>,
}

impl UserInfo {
    /// What the user may do with `resource`.
    pub fn perms(&self, resource: &str) -> Perms {
        if self.superuser {
            return Perms {
                view: true,
                import: true,
                export: true,
            };
        }
        self.grants.get(resource).copied().unwrap_or_default()
    }
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Whose it is.
    pub user: String,
    /// The CSRF token every form of the session carries.
    pub csrf: String,
}

/// What starts an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUploadInfo {
    /// Who uploads it (only they may use the token).
    pub user: String,
    /// The resource it goes to.
    pub resource: String,
    /// The file name as the browser sent it (a base name, for messages only).
    pub file_name: String,
    /// The format's short name.
    pub format: String,
}

/// What the admin knows about a stored upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadMeta {
    /// Who uploaded it.
    pub user: String,
    /// The resource it goes to.
    pub resource: String,
    /// The file name, for messages.
    pub file_name: String,
    /// The format's short name.
    pub format: String,
    /// Its size in bytes.
    pub size: u64,
    /// The dry run's summary, once previewed.
    pub preview: Option<PreviewSummary>,
}

/// A dry run's outcome, kept beside its rows for the preview's pages and the confirm.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewSummary {
    /// Totals as `[new, update, skip, delete, invalid, error]`.
    pub totals: [u64; 6],
    /// The headers the diff shows, in order.
    pub columns: Vec<String>,
    /// An error that stopped the dry run (not a row error).
    pub fatal: Option<String>,
    /// The one-line summary.
    pub summary: String,
    /// File column → field column (`""` ignores it), when the columns were mapped.
    pub mapping: Option<BTreeMap<String, String>>,
    /// The custom import fields' values, passed to the hooks again at confirm.
    pub extra: BTreeMap<String, String>,
}

/// An import job's state, as any instance reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    /// The job's id (opaque; empty until created).
    pub id: String,
    /// Who started it.
    pub user: String,
    /// The resource.
    pub resource: String,
    /// The file name.
    pub file_name: String,
    /// The upload it reads.
    pub upload_token: Option<String>,
    /// Rows done so far.
    pub rows_done: u64,
    /// Bytes of the file read so far (the progress bar).
    pub bytes_done: u64,
    /// The file's size in bytes.
    pub bytes_total: u64,
    /// True once it ended (done or failed).
    pub finished: bool,
    /// The result as JSON of [`crate::web::JobResult`], once done.
    pub result: Option<String>,
    /// Why it failed, once failed.
    pub error: Option<String>,
}

/// One stored preview row: its outcome and diff, and its errors.
pub type PreviewRow = (RowResult, Vec<RowError>);

/// A sink that stores a dry run's rows for paging.
pub trait PreviewSink: RowSink {
    /// Completes the stored rows with the dry run's summary.
    fn finish(self: Box<Self>, summary: &PreviewSummary) -> Result<(), PortError>;
}

/// rowport's state, as the web layer uses it. Every method blocks; views call them on the
/// blocking pool.
pub trait AdminState: Send + Sync + 'static {
    /// The user when the password is right, else `None`.
    fn authenticate(&self, name: &str, password: &str) -> Result<Option<UserInfo>, PortError>;
    /// The user called `name`.
    fn user(&self, name: &str) -> Result<Option<UserInfo>, PortError>;
    /// Starts a session for `user`; returns its id.
    fn create_session(&self, user: &str) -> Result<String, PortError>;
    /// The live session `id`, else `None`.
    fn session(&self, id: &str) -> Result<Option<SessionInfo>, PortError>;
    /// Ends a session.
    fn end_session(&self, id: &str) -> Result<(), PortError>;
    /// Whether `name` may try to log in from `address` now; `Err(seconds)` to wait.
    fn login_allowed(&self, name: &str, address: &str) -> Result<Result<(), u64>, PortError>;
    /// Counts a failed login.
    fn login_failed(&self, name: &str, address: &str) -> Result<(), PortError>;
    /// Forgets the failures of `name` (after a good login).
    fn login_succeeded(&self, name: &str) -> Result<(), PortError>;
    /// Stores an upload's bytes; returns its opaque token.
    fn put_upload(&self, meta: &NewUploadInfo, data: &mut dyn Read) -> Result<String, PortError>;
    /// An upload; `None` when the token is unknown, expired or swept.
    fn upload(&self, token: &str) -> Result<Option<UploadMeta>, PortError>;
    /// The upload's bytes.
    fn open_upload(&self, token: &str) -> Result<Option<Box<dyn Read + Send>>, PortError>;
    /// Removes an upload and its preview rows.
    fn remove_upload(&self, token: &str) -> Result<(), PortError>;
    /// A sink storing the dry run's rows of upload `token` (replacing earlier ones). With
    /// `file_headers` (the file's headers, in order) it also keeps the file's values of the
    /// invalid and error rows, returned in their `RowResult::row_values`.
    fn preview_sink<'a>(
        &'a self,
        token: &str,
        file_headers: Option<Vec<String>>,
    ) -> Result<Box<dyn PreviewSink + 'a>, PortError>;
    /// Stored preview rows `offset..offset + limit` of upload `token` (of one outcome, or
    /// all), and how many rows match in all.
    fn preview_rows(
        &self,
        token: &str,
        outcome: Option<RowOutcome>,
        offset: u64,
        limit: usize,
    ) -> Result<(Vec<PreviewRow>, u64), PortError>;
    /// The column mapping remembered for `resource`.
    fn mapping(&self, resource: &str) -> Result<Option<BTreeMap<String, String>>, PortError>;
    /// Remembers a column mapping for `resource`.
    fn set_mapping(
        &self,
        resource: &str,
        mapping: &BTreeMap<String, String>,
    ) -> Result<(), PortError>;
    /// Records a new job; returns its id.
    fn create_job(&self, job: &JobInfo) -> Result<String, PortError>;
    /// Records a job's progress.
    fn job_progress(&self, id: &str, rows: u64, bytes: u64) -> Result<(), PortError>;
    /// Records a job's result (JSON of [`crate::web::JobResult`]).
    fn finish_job(&self, id: &str, rows: u64, result: &str) -> Result<(), PortError>;
    /// Records that a job stopped.
    fn fail_job(&self, id: &str, error: &str) -> Result<(), PortError>;
    /// A job.
    fn job(&self, id: &str) -> Result<Option<JobInfo>, PortError>;
}
