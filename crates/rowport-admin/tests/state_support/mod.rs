//! Shared set-up of the state store tests: a store on a fresh database of each backend,
//! with sessions and uploads where a test wants them, and a Redis key prefix of its own.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use rowport_admin::state::{ManualClock, SessionStorage, StateConfig, StateStore, UploadStorage};
use rowport_testkit::{Backend, TestDatabase};

/// The environment variable naming the Redis server the Redis tests use.
pub const REDIS_VAR: &str = "ROWPORT_TEST_REDIS";

/// A state store on a test database, with the clock it goes by.
pub struct Env {
    pub db: TestDatabase,
    pub uploads_dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub config: StateConfig,
    redis_prefix: Option<String>,
}

impl Env {
    /// A configuration on a fresh database of `backend`: sessions and uploads as given
    /// (Redis under a key prefix unique to this test).
    pub fn new(backend: Backend, sessions: SessionStorage, uploads: UploadStorage) -> Env {
        let db = TestDatabase::new(backend);
        let uploads_dir = tempfile::tempdir().expect("a temporary upload folder");
        let uses_redis = sessions == SessionStorage::Redis || uploads == UploadStorage::Redis;
        let redis_prefix = uses_redis.then(|| format!("{}:", rowport_testkit::database_name()));
        let mut config = StateConfig {
            database: db.url(),
            sessions,
            uploads,
            upload_dir: Some(uploads_dir.path().join("uploads")),
            max_upload_bytes: 1000,
            ..StateConfig::default()
        };
        if let Some(prefix) = &redis_prefix {
            config.redis_url = std::env::var(REDIS_VAR).unwrap_or_else(|_| {
                panic!("{REDIS_VAR} is not set: it names the Redis server these tests use")
            });
            config.redis_prefix = prefix.clone();
        }
        Env {
            db,
            uploads_dir,
            clock: Arc::new(ManualClock::new()),
            config,
            redis_prefix,
        }
    }

    /// A store in the database only (sessions in the database, uploads in a folder).
    pub fn database(backend: Backend) -> Env {
        Env::new(backend, SessionStorage::Database, UploadStorage::Folder)
    }

    /// Opens a store (another instance each call), going by the test's clock.
    pub fn open(&self) -> StateStore {
        StateStore::open_with_clock(&self.config, self.clock.clone()).expect("open the state store")
    }

    /// The folder uploads are written to.
    pub fn upload_folder(&self) -> PathBuf {
        self.config.upload_folder()
    }

    /// A state table's name as SQL that reaches it from the test database's own connection
    /// (PostgreSQL keeps the tables in their own schema).
    pub fn table(&self, name: &str) -> String {
        match self.db.backend() {
            Backend::Postgres => format!("{}.{name}", self.config.schema),
            _ => name.to_owned(),
        }
    }

    /// How many rows a state table holds.
    pub fn count(&self, table: &str) -> u64 {
        let rows = self
            .db
            .query(&format!("SELECT COUNT(*) FROM {}", self.table(table)));
        rows[0][0].parse().expect("a count")
    }

    /// The Redis keys this test's store wrote.
    pub fn redis_keys(&self) -> Vec<String> {
        let Some(prefix) = &self.redis_prefix else {
            return Vec::new();
        };
        let client = redis::Client::open(self.config.redis_url.as_str()).expect("a Redis URL");
        let mut conn = client.get_connection().expect("connect to Redis");
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut conn)
            .expect("list the test's Redis keys");
        keys.sort();
        keys
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.redis_prefix.is_some() {
            let keys = self.redis_keys();
            if !keys.is_empty() {
                if let Ok(client) = redis::Client::open(self.config.redis_url.as_str()) {
                    if let Ok(mut conn) = client.get_connection() {
                        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut conn);
                    }
                }
            }
        }
    }
}

/// Writes a test once for sessions or uploads kept in Redis: it runs when the crate was
/// built with `ROWPORT_TEST_REDIS` set, and is listed as ignored otherwise.
#[macro_export]
macro_rules! redis_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[test]
        #[cfg_attr(
            not(rowport_redis_tests),
            ignore = "Redis suite not run: set ROWPORT_TEST_REDIS=redis://host:port to run it"
        )]
        fn $name() $body
    };
}
