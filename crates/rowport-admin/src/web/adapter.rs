//! [`AdminState`] over [`crate::state::StateStore`]: the thin layer between the views and
//! rowport's state store.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use rowport::config::Config;
use rowport::result::RowResult;
use rowport::{RowError, RowOutcome, RowSink};
use rowport_formats::Cell;

use super::port::{
    AdminState, JobInfo, NewUploadInfo, Perms, PortError, PreviewRow, PreviewSink, PreviewSummary,
    SessionInfo, UploadMeta, UserInfo,
};
use crate::state::{
    is_token, JobStatus, LoginCheck, MappedColumn, NewJob, NewUpload, StateConfig, StateError,
    StateStore, User,
};

fn port(e: StateError) -> PortError {
    PortError(e.to_string())
}

/// The state store's settings from rowport.toml's `[admin.state]` table (its defaults when
/// absent), with relative paths resolved against the config file's folder.
pub fn state_config(config: &Config) -> Result<StateConfig, PortError> {
    let table = config
        .admin
        .as_ref()
        .and_then(|a| a.get("state"))
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    let state: StateConfig = table.try_into().map_err(|e: toml::de::Error| {
        PortError(format!(
            "{}: [admin.state] {}",
            config.path.display(),
            e.message()
        ))
    })?;
    let dir = config
        .path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(state.with_base_dir(dir))
}

/// Opens (and migrates) the state store that `config` names, for [`crate::Admin::new`].
pub fn open_state(config: &Config) -> Result<Arc<dyn AdminState>, PortError> {
    let store = StateStore::open(&state_config(config)?).map_err(port)?;
    Ok(Arc::new(StateAdapter::new(store)))
}

/// The state store, as the views see it.
pub struct StateAdapter {
    store: StateStore,
}

impl StateAdapter {
    /// Wraps an open store.
    pub fn new(store: StateStore) -> StateAdapter {
        StateAdapter { store }
    }

    /// The store itself (for sweeping, and for tools).
    pub fn store(&self) -> &StateStore {
        &self.store
    }

    fn info(&self, user: User) -> Result<UserInfo, PortError> {
        let grants = self
            .store
            .grants(&user)
            .map_err(port)?
            .into_iter()
            .map(|(resource, p)| {
                (
                    resource,
                    Perms {
                        view: p.view,
                        import: p.import,
                        export: p.export,
                    },
                )
            })
            .collect();
        Ok(UserInfo {
            name: user.name,
            superuser: user.superuser,
            grants,
        })
    }
}

struct Sink<'a>(crate::state::PreviewSink<'a>);

impl RowSink for Sink<'_> {
    fn row(&mut self, row: &RowResult, errors: &[RowError]) {
        self.0.row(row, errors);
    }

    fn wants_failed_rows(&self) -> bool {
        self.0.wants_failed_rows()
    }

    fn failed_row(&mut self, number: u64, cells: &[Cell], errors: &[RowError]) {
        self.0.failed_row(number, cells, errors);
    }
}

impl PreviewSink for Sink<'_> {
    fn finish(self: Box<Self>, summary: &PreviewSummary) -> Result<(), PortError> {
        let value = serde_json::to_value(summary).map_err(PortError::from_display)?;
        self.0.finish(value).map(|_| ()).map_err(port)
    }
}

/// A missing or expired upload, preview or job is `None`, not an error.
fn absent<T>(r: Result<T, StateError>) -> Result<Option<T>, PortError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(
            StateError::UploadNotFound | StateError::MalformedToken | StateError::PreviewNotFound,
        ) => Ok(None),
        Err(e) => Err(port(e)),
    }
}

impl AdminState for StateAdapter {
    fn authenticate(&self, name: &str, password: &str) -> Result<Option<UserInfo>, PortError> {
        match self.store.verify_login(name, password).map_err(port)? {
            Some(user) => Ok(Some(self.info(user)?)),
            None => Ok(None),
        }
    }

    fn user(&self, name: &str) -> Result<Option<UserInfo>, PortError> {
        match self.store.user(name).map_err(port)? {
            Some(user) => Ok(Some(self.info(user)?)),
            None => Ok(None),
        }
    }

    fn create_session(&self, user: &str) -> Result<String, PortError> {
        let user = self
            .store
            .user(user)
            .map_err(port)?
            .ok_or_else(|| PortError(format!("there is no user named \"{user}\"")))?;
        Ok(self.store.create_session(&user).map_err(port)?.id)
    }

    fn session(&self, id: &str) -> Result<Option<SessionInfo>, PortError> {
        let Some(session) = self.store.session(id).map_err(port)? else {
            return Ok(None);
        };
        let Some(user) = self.store.user_by_id(session.user_id).map_err(port)? else {
            return Ok(None);
        };
        Ok(Some(SessionInfo {
            user: user.name,
            csrf: session.csrf_token,
        }))
    }

    fn end_session(&self, id: &str) -> Result<(), PortError> {
        self.store.delete_session(id).map_err(port)
    }

    fn login_allowed(&self, name: &str, address: &str) -> Result<Result<(), u64>, PortError> {
        Ok(match self.store.check_login(name, address).map_err(port)? {
            LoginCheck::Allowed => Ok(()),
            LoginCheck::Blocked { retry_after } => Err(retry_after.as_secs().max(1)),
        })
    }

    fn login_failed(&self, name: &str, address: &str) -> Result<(), PortError> {
        self.store.record_login_failure(name, address).map_err(port)
    }

    fn login_succeeded(&self, name: &str) -> Result<(), PortError> {
        self.store.clear_login_failures(name).map_err(port)
    }

    fn put_upload(&self, meta: &NewUploadInfo, data: &mut dyn Read) -> Result<String, PortError> {
        let new = NewUpload {
            resource: meta.resource.clone(),
            file_name: meta.file_name.clone(),
            format: meta.format.clone(),
            user: meta.user.clone(),
        };
        Ok(self.store.put_upload(&new, data).map_err(port)?.token)
    }

    fn upload(&self, token: &str) -> Result<Option<UploadMeta>, PortError> {
        if !is_token(token) {
            return Ok(None);
        }
        let Some(upload) = absent(self.store.upload(token))? else {
            return Ok(None);
        };
        let preview = absent(self.store.preview_summary(token))?
            .filter(|s| s.complete)
            .and_then(|s| serde_json::from_value::<PreviewSummary>(s.summary).ok());
        Ok(Some(UploadMeta {
            user: upload.user,
            resource: upload.resource,
            file_name: upload.file_name,
            format: upload.format,
            size: upload.size,
            preview,
        }))
    }

    fn open_upload(&self, token: &str) -> Result<Option<Box<dyn Read + Send>>, PortError> {
        Ok(absent(self.store.open_upload(token))?
            .map(|(_, reader)| Box::new(reader) as Box<dyn Read + Send>))
    }

    fn remove_upload(&self, token: &str) -> Result<(), PortError> {
        absent(self.store.remove_upload(token)).map(|_| ())
    }

    fn preview_sink<'a>(
        &'a self,
        token: &str,
        file_headers: Option<Vec<String>>,
    ) -> Result<Box<dyn PreviewSink + 'a>, PortError> {
        let sink = self.store.preview_sink(token).map_err(port)?;
        Ok(Box::new(Sink(match file_headers {
            Some(headers) => sink.keep_file_values(headers),
            None => sink,
        })))
    }

    fn preview_rows(
        &self,
        token: &str,
        outcome: Option<RowOutcome>,
        offset: u64,
        limit: usize,
    ) -> Result<(Vec<PreviewRow>, u64), PortError> {
        let page = self
            .store
            .preview_page(token, outcome, offset, limit as u64)
            .map_err(port)?;
        Ok((
            page.rows
                .into_iter()
                .map(|r| (r.result, r.errors))
                .collect(),
            page.matching,
        ))
    }

    fn mapping(&self, resource: &str) -> Result<Option<BTreeMap<String, String>>, PortError> {
        let columns = self.store.mapping(resource).map_err(port)?;
        if columns.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            columns
                .into_iter()
                .map(|c| (c.file_column, c.field.unwrap_or_default()))
                .collect(),
        ))
    }

    fn set_mapping(
        &self,
        resource: &str,
        mapping: &BTreeMap<String, String>,
    ) -> Result<(), PortError> {
        let columns: Vec<MappedColumn> = mapping
            .iter()
            .map(|(file_column, field)| MappedColumn {
                file_column: file_column.clone(),
                field: Some(field.clone()).filter(|f| !f.is_empty()),
            })
            .collect();
        self.store.save_mapping(resource, &columns).map_err(port)
    }

    fn create_job(&self, job: &JobInfo) -> Result<String, PortError> {
        let new = NewJob {
            resource: job.resource.clone(),
            user: job.user.clone(),
            file_name: job.file_name.clone(),
            upload_token: job.upload_token.clone(),
            bytes_total: job.bytes_total,
        };
        Ok(self.store.create_job(&new).map_err(port)?.id)
    }

    fn job_progress(&self, id: &str, rows: u64, bytes: u64) -> Result<(), PortError> {
        self.store.job_progress(id, rows, bytes).map_err(port)
    }

    fn finish_job(&self, id: &str, rows: u64, result: &str) -> Result<(), PortError> {
        let value: serde_json::Value =
            serde_json::from_str(result).map_err(PortError::from_display)?;
        self.store.finish_job(id, rows, &value).map_err(port)
    }

    fn fail_job(&self, id: &str, error: &str) -> Result<(), PortError> {
        self.store.fail_job(id, error).map_err(port)
    }

    fn job(&self, id: &str) -> Result<Option<JobInfo>, PortError> {
        let Some(job) = self.store.job(id).map_err(port)? else {
            return Ok(None);
        };
        Ok(Some(JobInfo {
            id: job.id,
            user: job.user,
            resource: job.resource,
            file_name: job.file_name,
            upload_token: job.upload_token,
            rows_done: job.rows_done,
            bytes_done: job.bytes_done,
            bytes_total: job.bytes_total,
            finished: job.status != JobStatus::Running,
            result: job.result.map(|r| r.to_string()),
            error: job.error,
        }))
    }
}
