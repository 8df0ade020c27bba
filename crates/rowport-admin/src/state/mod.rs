//! rowport's own state, apart from the user's tables: users and their permissions, sessions,
//! login rate limits, uploads waiting between preview and confirm, the rows of a preview,
//! remembered column mappings and import jobs.
//!
//! A [`StateStore`] keeps it in a SQLite file (the default, beside rowport.toml), a
//! PostgreSQL schema or a MySQL/MariaDB database, chosen by [`StateConfig::database`]'s URL;
//! sessions and login failures may live in Redis instead, and uploads in a folder (the
//! default), the database or Redis. rowport creates and migrates the tables itself.
//!
//! Everything is synchronous: the web layer calls it from `spawn_blocking`. A store is
//! `Send + Sync`; share one behind an `Arc`.
//!
//! ```
//! use rowport_admin::state::{Permission, StateConfig, StateStore};
//!
//! let dir = tempfile::tempdir()?;
//! let config = StateConfig::default().with_base_dir(dir.path());
//! let store = StateStore::open(&config)?;
//! let ada = store.add_user("ada", "correct horse battery staple", false)?;
//! store.grant("ada", "books", &[Permission::View, Permission::Import])?;
//!
//! let user = store.verify_login("ada", "correct horse battery staple")?.expect("right password");
//! assert_eq!(user.id, ada.id);
//! assert!(store.verify_login("ada", "wrong")?.is_none());
//! assert!(store.permissions(&user, "books")?.import);
//! assert!(!store.permissions(&user, "books")?.export);
//!
//! let session = store.create_session(&user)?;
//! assert_eq!(store.session(&session.id)?.map(|s| s.user_id), Some(user.id));
//! store.delete_session(&session.id)?;
//! assert!(store.session(&session.id)?.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod db;
mod jobs;
mod kv;
mod migrate;
mod preview;
mod secret;
mod sessions;
mod uploads;
mod users;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use jobs::{Job, JobStatus, MappedColumn, NewJob};
pub use preview::{PreviewPage, PreviewRow, PreviewSink, PreviewSummary};
pub use secret::is_token;
pub use sessions::{LoginCheck, Session};
pub use uploads::{NewUpload, Upload, UploadReader};
pub use users::{Permission, Permissions, User};

/// Where sessions and login failures are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStorage {
    /// In the state database (the default).
    #[default]
    Database,
    /// In Redis, at [`StateConfig::redis_url`].
    Redis,
}

/// Where uploads wait between preview and confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStorage {
    /// Files in [`StateConfig::upload_dir`] (the default). Several instances must share the
    /// folder.
    #[default]
    Folder,
    /// A table of the state database.
    Database,
    /// Redis, at [`StateConfig::redis_url`].
    Redis,
}

/// How the state store is set up: the `[admin.state]` part of rowport.toml.
///
/// Every field has a default, so an empty table (or none) gives a SQLite file
/// `rowport-admin.db`, uploads in a temporary folder, sessions in the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    /// The state database: `sqlite://rowport-admin.db` (relative to the base folder, see
    /// [`with_base_dir`](Self::with_base_dir)), `postgres://…` or `mysql://…/database`.
    pub database: String,
    /// The PostgreSQL schema of the state tables (created when missing).
    pub schema: String,
    /// Where sessions and login failures are kept.
    pub sessions: SessionStorage,
    /// Where uploads wait between preview and confirm.
    pub uploads: UploadStorage,
    /// The folder of [`UploadStorage::Folder`]; by default `rowport-uploads` in the system's
    /// temporary folder.
    pub upload_dir: Option<PathBuf>,
    /// The Redis server of [`SessionStorage::Redis`] and [`UploadStorage::Redis`].
    pub redis_url: String,
    /// The prefix of every Redis key rowport writes, so that several deployments may share
    /// one server.
    pub redis_prefix: String,
    /// How long a session lasts after login, in seconds (default 12 hours).
    pub session_ttl_secs: u64,
    /// How long an upload and its preview wait for confirm, in seconds (default 24 hours).
    pub upload_ttl_secs: u64,
    /// The largest upload accepted, in bytes (default 100 MiB).
    pub max_upload_bytes: u64,
    /// The window login failures are counted in, in seconds (default 15 minutes).
    pub login_window_secs: u64,
    /// Failed logins for one user name within the window before further attempts are
    /// refused (default 5).
    pub login_max_failures_per_user: u32,
    /// Failed logins from one client address within the window before further attempts
    /// are refused (default 20).
    pub login_max_failures_per_address: u32,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            database: "sqlite://rowport-admin.db".to_owned(),
            schema: "rowport_admin".to_owned(),
            sessions: SessionStorage::Database,
            uploads: UploadStorage::Folder,
            upload_dir: None,
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            redis_prefix: "rowport:".to_owned(),
            session_ttl_secs: 12 * 3600,
            upload_ttl_secs: 24 * 3600,
            max_upload_bytes: 100 << 20,
            login_window_secs: 15 * 60,
            login_max_failures_per_user: 5,
            login_max_failures_per_address: 20,
        }
    }
}

impl StateConfig {
    /// Resolves a relative SQLite path and upload folder against `dir` (the folder of
    /// rowport.toml), so that the state file sits beside the configuration. Without an
    /// upload folder, the uploads go to `dir/.rowport-uploads`.
    pub fn with_base_dir(mut self, dir: &Path) -> StateConfig {
        for prefix in ["sqlite://", "sqlite:"] {
            if let Some(path) = self.database.strip_prefix(prefix) {
                if !path.is_empty() && path != ":memory:" && Path::new(path).is_relative() {
                    self.database = format!("sqlite://{}", dir.join(path).display());
                }
                break;
            }
        }
        self.upload_dir = Some(match self.upload_dir.take() {
            Some(path) if path.is_relative() => dir.join(path),
            Some(path) => path,
            None => dir.join(".rowport-uploads"),
        });
        self
    }

    /// The folder of [`UploadStorage::Folder`].
    pub fn upload_folder(&self) -> PathBuf {
        self.upload_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("rowport-uploads"))
    }
}

/// What went wrong in the state store. The messages are sentences for a person; none
/// contains a password, a session id or a path in place of a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The configuration is wrong (a URL, a schema name, a folder).
    #[error("{0}")]
    Config(String),
    /// The state database failed or refused a statement.
    #[error("{0}")]
    Database(String),
    /// Redis failed.
    #[error("{0}")]
    Redis(String),
    /// Reading or writing an upload file failed.
    #[error("{0}")]
    Io(String),
    /// The upload is larger than the limit; nothing of it was kept.
    #[error("the file is larger than the upload limit of {limit} bytes\nhint: split the file, or raise max_upload_bytes in [admin.state]")]
    UploadTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// No upload has this token: it was confirmed, removed, or has expired.
    #[error("this upload was not found or has expired\nhint: upload the file again")]
    UploadNotFound,
    /// The text given as a token is not one rowport makes (a path, say): refused before
    /// any storage is touched.
    #[error("the upload token is not valid")]
    MalformedToken,
    /// No preview is stored for this token.
    #[error("this preview was not found or has expired\nhint: upload the file again")]
    PreviewNotFound,
    /// A user of this name exists already.
    #[error("a user named \"{0}\" exists already")]
    UserExists(String),
    /// No user has this name.
    #[error("there is no user named \"{0}\"")]
    UnknownUser(String),
    /// A user name that rowport does not accept.
    #[error("\"{0}\" is not a valid user name (1 to 150 characters, no control characters, no spaces at either end)")]
    InvalidUserName(String),
    /// An empty password.
    #[error("the password is empty")]
    EmptyPassword,
    /// A permission name other than view, import or export.
    #[error("\"{0}\" is not a permission (expected view, import or export)")]
    UnknownPermission(String),
    /// No import job has this id.
    #[error("there is no import job {0}")]
    UnknownJob(String),
}

/// The time the store goes by, in milliseconds since the Unix epoch. The system clock
/// unless a test sets a [`ManualClock`].
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}

/// A clock that moves only when told: tests of expiry use it instead of sleeping.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing the system time now.
    pub fn new() -> ManualClock {
        ManualClock(AtomicI64::new(Utc::now().timestamp_millis()))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What [`StateStore::sweep`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired uploads (with their files or stored data).
    pub uploads: u64,
    /// Expired previews (their rows go with them).
    pub previews: u64,
    /// Expired sessions.
    pub sessions: u64,
    /// Login failures older than the window.
    pub login_failures: u64,
    /// Pieces of uploads cut off by a crash (files of the upload folder, chunks in the
    /// database) that no upload owns and that are older than the TTL.
    pub stray_files: u64,
}

/// rowport's state: see the [module documentation](self).
pub struct StateStore {
    config: StateConfig,
    db: db::Db,
    redis: Option<kv::Redis>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for StateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateStore")
            .field("database", &db::redact(&self.config.database))
            .field("sessions", &self.config.sessions)
            .field("uploads", &self.config.uploads)
            .finish_non_exhaustive()
    }
}

impl StateStore {
    /// Opens the state store the configuration describes, creating and migrating its
    /// tables (and the upload folder) as needed. Two instances opening the same database at
    /// once both succeed; the second finds the migrations done.
    pub fn open(config: &StateConfig) -> Result<StateStore, StateError> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`open`](Self::open) with another clock (tests move a [`ManualClock`]).
    pub fn open_with_clock(
        config: &StateConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<StateStore, StateError> {
        let db = db::Db::open(&config.database, &config.schema)?;
        let needs_redis =
            config.sessions == SessionStorage::Redis || config.uploads == UploadStorage::Redis;
        let redis = if needs_redis {
            Some(kv::Redis::connect(&config.redis_url, &config.redis_prefix)?)
        } else {
            None
        };
        if config.uploads == UploadStorage::Folder {
            uploads::create_folder(&config.upload_folder())?;
        }
        let store = StateStore {
            config: config.clone(),
            db,
            redis,
            clock,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Applies the migrations this build knows and the database lacks; the versions
    /// applied (empty when there was nothing to do). [`open`](Self::open) calls it.
    pub fn migrate(&self) -> Result<Vec<u32>, StateError> {
        migrate::migrate(&self.db, self.now())
    }

    /// The schema version of the state database.
    pub fn schema_version(&self) -> Result<u32, StateError> {
        let mut conn = self.db.conn()?;
        migrate::version(&mut *conn)
    }

    /// The newest schema version this build of rowport knows.
    pub fn latest_schema_version() -> u32 {
        migrate::LATEST
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    /// Now, by the store's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Removes what has expired: uploads and their previews, sessions, old login failures,
    /// and files in the upload folder that no upload owns. Call it now and then (the web
    /// layer does every few minutes); Redis expires its own keys.
    pub fn sweep(&self) -> Result<SweepReport, StateError> {
        let now = self.now();
        let mut report = SweepReport::default();
        self.sweep_uploads(now, &mut report)?;
        self.sweep_previews(now, &mut report)?;
        self.sweep_sessions(now, &mut report)?;
        Ok(report)
    }

    fn redis(&self) -> Result<&kv::Redis, StateError> {
        self.redis.as_ref().ok_or_else(|| {
            StateError::Config("Redis is used but no Redis connection was opened".to_owned())
        })
    }
}

/// Milliseconds since the epoch as a date-time (the epoch itself if out of range).
pub(crate) fn time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// Seconds as milliseconds, saturating.
pub(crate) fn secs_to_millis(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
