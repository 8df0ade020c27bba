//! rowport's database stores. [`SqliteStore`] is the embedded default, [`PgStore`] (with
//! its [`PgPool`]) works on PostgreSQL; [`connect`] opens whichever store a database URL
//! names.
//!
//! ```
//! use rowport::Store;
//!
//! let mut store = rowport_sql::connect("sqlite::memory:", true).unwrap();
//! assert!(store.table_names().unwrap().is_empty());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod mysql;
mod postgres;
mod scan_sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::PathBuf;

pub use mysql::MysqlStore;
pub use postgres::{PgPool, PgStore};
pub use sqlite::{kind_of, SqliteStore};

use rowport::store::{Store, StoreError, StoreErrorKind};

/// A database URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://path/to/file.db` (relative) or `sqlite:///abs/path.db`.
    Sqlite(PathBuf),
    /// `sqlite::memory:`
    SqliteMemory,
    /// `postgres://user@host:port/database` (also `postgresql://`), kept whole.
    Postgres(String),
    /// `mysql://user:password@host:port/database` (also `mariadb://`), kept whole.
    Mysql(String),
}

impl DatabaseUrl {
    /// Parses a URL; the error says which schemes rowport knows.
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(DatabaseUrl::SqliteMemory);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            return Ok(DatabaseUrl::Mysql(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::new(
                    StoreErrorKind::Connection,
                    format!(
                        "database URL \"{url}\" names no file (expected sqlite://path/to/file.db)"
                    ),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        let message = match url.split_once(':') {
            Some((scheme, _)) => {
                format!("database URL \"{url}\" has an unsupported scheme \"{scheme}\" (expected sqlite://, postgres:// or mysql://)")
            }
            None => format!("database URL \"{url}\" has no scheme (expected sqlite://, postgres:// or mysql://)"),
        };
        Err(StoreError::new(StoreErrorKind::Config, message))
    }
}

/// Opens the store a URL names. With `create`, a missing SQLite file is created.
pub fn connect(url: &str, create: bool) -> Result<Box<dyn Store>, StoreError> {
    match DatabaseUrl::parse(url)? {
        DatabaseUrl::Sqlite(path) => Ok(Box::new(SqliteStore::open(&path, create)?)),
        DatabaseUrl::SqliteMemory => Ok(Box::new(SqliteStore::in_memory()?)),
        DatabaseUrl::Postgres(url) => Ok(Box::new(PgStore::connect(&url)?)),
        DatabaseUrl::Mysql(url) => Ok(Box::new(MysqlStore::connect(&url)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://rowport.db").unwrap(),
            DatabaseUrl::Sqlite("rowport.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:").unwrap(),
            DatabaseUrl::SqliteMemory
        );
        let err = DatabaseUrl::parse("oracle://x").unwrap_err();
        assert!(
            err.message.contains("unsupported scheme \"oracle\""),
            "{}",
            err.message
        );
    }
}
