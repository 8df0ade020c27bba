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

/// The SQL dialects of the stores, where they write literals differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

/// ` AND …` for each condition of a fetch's filter, with `column` quoting a column name.
///
/// Values are written as literals rather than bound: a filter's values come from the
/// resource (code or rowport.toml), there are few of them, and a literal lets each database
/// compare it with the column's own type (a PostgreSQL `date` with `'2020-01-01'`), which
/// a parameter of a fixed type would not.
pub(crate) fn filter_sql(
    filter: &[rowport::store::Condition],
    column: &dyn Fn(&str) -> String,
    dialect: Dialect,
) -> String {
    use rowport::store::Condition;
    let mut sql = String::new();
    for condition in filter {
        let clause = match condition {
            Condition::Compare {
                column: c,
                op,
                value,
            } => {
                format!("{} {} {}", column(c), op.sql(), literal(value, dialect))
            }
            Condition::IsNull { column: c, negated } => format!(
                "{} IS {}NULL",
                column(c),
                if *negated { "NOT " } else { "" }
            ),
            Condition::In { values, .. } if values.is_empty() => "1 = 0".to_owned(),
            Condition::In { column: c, values } => format!(
                "{} IN ({})",
                column(c),
                values
                    .iter()
                    .map(|v| literal(v, dialect))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        sql.push_str(" AND ");
        sql.push_str(&clause);
    }
    sql
}

/// A value as an SQL literal of `dialect`, quoted and escaped.
fn literal(value: &rowport::Value, dialect: Dialect) -> String {
    use rowport::Value;
    let text = |s: &str| {
        let s = s.replace('\'', "''");
        match dialect {
            // MySQL reads backslashes in strings as escapes (unless NO_BACKSLASH_ESCAPES).
            Dialect::Mysql => format!("'{}'", s.replace('\\', "\\\\")),
            _ => format!("'{s}'"),
        }
    };
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => match (dialect, b) {
            (Dialect::Sqlite, true) => "1".to_owned(),
            (Dialect::Sqlite, false) => "0".to_owned(),
            (_, true) => "TRUE".to_owned(),
            (_, false) => "FALSE".to_owned(),
        },
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Float(f) if f.is_finite() => format!("{f:?}"),
        Value::Text(s) => text(s),
        other => text(&other.to_string()),
    }
}
