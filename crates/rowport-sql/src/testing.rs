//! Throwaway PostgreSQL databases for tests (feature `testing`).
//!
//! `ROWPORT_TEST_POSTGRES` names a database on a server where the tests may create
//! databases (`postgres://postgres@127.0.0.1:5432/postgres`). Each [`TestDatabase`] is a new
//! database named `rowport_t_<pid>_<counter>_<random>`, dropped when the value is dropped;
//! databases left behind by test processes that died are dropped by the next run.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use postgres::{Client, Config, NoTls, SimpleQueryMessage};
use rowport::store::{StoreError, StoreErrorKind};

/// The environment variable that names the test server.
pub const POSTGRES_ENV: &str = "ROWPORT_TEST_POSTGRES";

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static SWEEP: Once = Once::new();

/// A database created for one test and dropped after it.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
    client: RefCell<Option<Client>>,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn error(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::Connection, message)
}

fn connect(url: &str) -> Result<Client, StoreError> {
    let config = Config::from_str(url)
        .map_err(|e| error(format!("{POSTGRES_ENV} is not a PostgreSQL URL: {e}")))?;
    config.connect(NoTls).map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        error(format!(
            "cannot connect to the test server {POSTGRES_ENV} names: {text}"
        ))
    })
}

/// `url` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
    format!("{scheme}://{authority}/{database}{query}")
}

impl TestDatabase {
    /// Creates a new empty database on the server `ROWPORT_TEST_POSTGRES` names.
    pub fn create() -> Result<TestDatabase, StoreError> {
        let admin_url = std::env::var(POSTGRES_ENV).map_err(|_| {
            error(format!(
                "set {POSTGRES_ENV}=postgres://… to run the PostgreSQL tests"
            ))
        })?;
        let mut admin = connect(&admin_url)?;
        SWEEP.call_once(|| sweep(&mut admin));
        let random = RandomState::new().build_hasher().finish();
        let name = format!(
            "rowport_t_{}_{}_{:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            random & 0xffff_ffff
        );
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(|e| error(format!("cannot create the test database {name}: {e}")))?;
        let url = with_database(&admin_url, &name);
        let mut client = connect(&url)?;
        // Instants are shown in UTC, whatever the server's own zone.
        client
            .batch_execute("SET TIME ZONE 'UTC'")
            .map_err(|e| error(describe(&e)))?;
        Ok(TestDatabase {
            admin_url,
            name,
            url,
            client: RefCell::new(Some(client)),
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL statements on the database.
    pub fn execute(&self, sql: &str) -> Result<(), StoreError> {
        let mut client = self.client.borrow_mut();
        let client = client
            .as_mut()
            .ok_or_else(|| error("the test database is closed".into()))?;
        client
            .batch_execute(sql)
            .map_err(|e| error(format!("{sql}: {}", describe(&e))))
    }

    /// The rows of a query, every value as PostgreSQL writes it as text (`NULL` for null).
    pub fn query(&self, sql: &str) -> Result<Vec<Vec<String>>, StoreError> {
        let mut client = self.client.borrow_mut();
        let client = client
            .as_mut()
            .ok_or_else(|| error("the test database is closed".into()))?;
        let messages = client
            .simple_query(sql)
            .map_err(|e| error(format!("{sql}: {}", describe(&e))))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or("NULL").to_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.client.borrow_mut().take();
        if let Ok(mut admin) = connect(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Drops the test databases of processes that are gone (a crashed or killed run).
fn sweep(admin: &mut Client) {
    let Ok(rows) = admin.query(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'rowport\\_t\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}
