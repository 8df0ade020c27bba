//! Test support for rowport: a fresh, uniquely named database on each backend, and
//! [`backend_tests!`], which writes a test once and runs it on SQLite, PostgreSQL and
//! MySQL/MariaDB.
//!
//! SQLite always runs. The server variants run when the crate that expands the macro was
//! built with `ROWPORT_TEST_POSTGRES` / `ROWPORT_TEST_MYSQL` set (its build script turns them
//! into the `rowport_pg_tests` / `rowport_mysql_tests` cfgs); otherwise `cargo test` lists
//! them as ignored, with the variable that enables them. A server variant that is enabled
//! and cannot reach its server fails: it is never skipped.
//!
//! Servers are reached through their own command-line clients (`psql`, `mariadb`), so the
//! tests check the database with a client that shares no code with the store under test.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod server;

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use tempfile::TempDir;

pub use server::{database_name, is_leftover, unix_now, ServerDatabase};

/// The environment variable naming the PostgreSQL server the tests may create databases on.
pub const POSTGRES_VAR: &str = "ROWPORT_TEST_POSTGRES";
/// The environment variable naming the MySQL/MariaDB server the tests may create databases on.
pub const MYSQL_VAR: &str = "ROWPORT_TEST_MYSQL";

/// A database product rowport stores rows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded: always available.
    Sqlite,
    /// PostgreSQL, a server named by [`POSTGRES_VAR`].
    Postgres,
    /// MySQL or MariaDB, a server named by [`MYSQL_VAR`].
    Mysql,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        })
    }
}

impl Backend {
    /// Rewrites a schema written for all backends into this backend's SQL.
    ///
    /// The placeholders are `{pk}` (an auto-increment integer primary key), `{true}` and
    /// `{false}`, and `{text}` (text that can be unique and indexed). Everything else must be
    /// SQL all three accept.
    ///
    /// ```
    /// use rowport_testkit::Backend;
    ///
    /// let sql = "CREATE TABLE t (id {pk}, ok BOOL DEFAULT {true})";
    /// assert_eq!(Backend::Postgres.dialect(sql), "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, ok BOOL DEFAULT TRUE)");
    /// ```
    pub fn dialect(self, sql: &str) -> String {
        let (pk, text) = match self {
            Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT"),
            Backend::Postgres => ("BIGSERIAL PRIMARY KEY", "TEXT"),
            Backend::Mysql => ("BIGINT AUTO_INCREMENT PRIMARY KEY", "VARCHAR(255)"),
        };
        let (yes, no) = match self {
            Backend::Sqlite => ("1", "0"),
            _ => ("TRUE", "FALSE"),
        };
        sql.replace("{pk}", pk)
            .replace("{text}", text)
            .replace("{true}", yes)
            .replace("{false}", no)
    }
}

/// A database made for one test and dropped when the test ends.
pub enum TestDatabase {
    /// A SQLite file in a temporary folder.
    Sqlite {
        /// The folder holding the file.
        dir: TempDir,
        /// The file.
        path: PathBuf,
    },
    /// A database created on a server.
    Server(ServerDatabase),
}

impl TestDatabase {
    /// A new, empty database on `backend`. Panics with the reason when the backend's server
    /// is not configured or not reachable: an enabled server test must fail, not skip.
    pub fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("rowport-testdb")
                    .tempdir()
                    .expect("create a temporary folder");
                let path = dir.path().join("test.db");
                TestDatabase::Sqlite { dir, path }
            }
            Backend::Postgres | Backend::Mysql => {
                TestDatabase::Server(ServerDatabase::create(backend))
            }
        }
    }

    /// The backend it lives on.
    pub fn backend(&self) -> Backend {
        match self {
            TestDatabase::Sqlite { .. } => Backend::Sqlite,
            TestDatabase::Server(db) => db.backend(),
        }
    }

    /// The URL rowport connects to it with.
    pub fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            TestDatabase::Server(db) => db.url(),
        }
    }

    /// The SQLite file, for tests that only make sense on SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            TestDatabase::Sqlite { path, .. } => Some(path),
            TestDatabase::Server(_) => None,
        }
    }

    /// The temporary folder of a SQLite database.
    pub fn sqlite_dir(&self) -> Option<&Path> {
        match self {
            TestDatabase::Sqlite { dir, .. } => Some(dir.path()),
            TestDatabase::Server(_) => None,
        }
    }

    /// Runs SQL statements (written for this backend, see [`Backend::dialect`]).
    pub fn execute(&self, sql: &str) {
        match self {
            TestDatabase::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open the test database");
                conn.execute_batch(sql).expect("run the test's SQL");
            }
            TestDatabase::Server(db) => db.execute(sql),
        }
    }

    /// The rows of a query, every value as text (`NULL` for null). PostgreSQL prints
    /// booleans as `t`/`f`: a query meant for every backend selects
    /// `CASE WHEN flag THEN 1 ELSE 0 END`.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            TestDatabase::Sqlite { path, .. } => sqlite_rows(path, sql),
            TestDatabase::Server(db) => db.query(sql),
        }
    }

    /// Every row of a table ordered by its first column. On SQLite each value is tagged with
    /// its storage class (`int:1`, `text:a`), so equal dumps mean equal values and types; a
    /// server's columns are typed by the table, so its values are compared as the server
    /// prints them.
    pub fn dump(&self, table: &str) -> Vec<Vec<String>> {
        match self {
            TestDatabase::Sqlite { path, .. } => sqlite_dump(path, table),
            TestDatabase::Server(db) => db.query(&format!("SELECT * FROM {table} ORDER BY 1")),
        }
    }
}

/// The rows of a query on a SQLite file, every value as text (`NULL` for null).
pub fn sqlite_rows(path: &Path, sql: &str) -> Vec<Vec<String>> {
    sqlite_query(path, sql, render_plain)
}

/// Every row of a table of a SQLite file ordered by its first column, each value tagged
/// with its storage class (`int:1`, `text:a`, `real:2.5`, `null`).
pub fn sqlite_dump(path: &Path, table: &str) -> Vec<Vec<String>> {
    sqlite_query(
        path,
        &format!("SELECT * FROM \"{table}\" ORDER BY 1"),
        render_typed,
    )
}

fn sqlite_query(path: &Path, sql: &str, render: fn(ValueRef<'_>) -> String) -> Vec<Vec<String>> {
    let conn = rusqlite::Connection::open(path).expect("open the database to check it");
    let mut statement = conn.prepare(sql).expect("prepare the test's query");
    let width = statement.column_count();
    let rows = statement
        .query_map([], |row| {
            (0..width)
                .map(|i| row.get_ref(i).map(render))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("run the test's query");
    rows.collect::<Result<_, _>>()
        .expect("read the query's rows")
}

fn render_plain(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(r) => r.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("blob:{b:02x?}"),
    }
}

fn render_typed(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "null".to_owned(),
        ValueRef::Integer(i) => format!("int:{i}"),
        ValueRef::Real(r) => format!("real:{r}"),
        ValueRef::Text(t) => format!("text:{}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("blob:{b:02x?}"),
    }
}

/// Writes each test once and runs it on every backend: `name::sqlite`, `name::postgres`
/// and `name::mysql`. The body gets a `Backend`.
///
/// ```ignore
/// rowport_testkit::backend_tests! {
///     /// New rows are inserted.
///     fn imports_new_rows(backend) {
///         let db = rowport_testkit::TestDatabase::new(backend);
///         // …
///     }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* fn $name:ident($backend:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($backend: $crate::Backend) $body

                #[test]
                fn sqlite() {
                    run($crate::Backend::Sqlite)
                }

                #[test]
                #[cfg_attr(
                    not(rowport_pg_tests),
                    ignore = "PostgreSQL suite not run: set ROWPORT_TEST_POSTGRES=postgres://user@host:port/db to run it"
                )]
                fn postgres() {
                    run($crate::Backend::Postgres)
                }

                #[test]
                #[cfg_attr(
                    not(rowport_mysql_tests),
                    ignore = "MySQL/MariaDB suite not run: set ROWPORT_TEST_MYSQL=mysql://user@host:port/db to run it"
                )]
                fn mysql() {
                    run($crate::Backend::Mysql)
                }
            }
        )*
    };
}
