//! PostgreSQL's errors in the user's terms: failed connections, and rows a constraint
//! refused.

use std::io::ErrorKind;

use postgres::error::{DbError, SqlState};
use rowport::store::{StoreError, StoreErrorKind};
use rowport::Value;

use super::catalog::ColumnInfo;

/// Where a store connects, for messages (never the password).
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl Place {
    /// `PostgreSQL at 127.0.0.1:5432`
    pub fn server(&self) -> String {
        if self.host.starts_with('/') {
            format!("PostgreSQL at {} (port {})", self.host, self.port)
        } else {
            format!("PostgreSQL at {}:{}", self.host, self.port)
        }
    }
}

/// A URL with its password, if any, replaced by `***`.
pub(crate) fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Why a connection could not be opened, in one sentence naming the server and database.
pub(crate) fn connect_error(place: &Place, e: &postgres::Error) -> StoreError {
    let server = place.server();
    let database = &place.database;
    let user = &place.user;
    let message = if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_CATALOG_NAME {
            format!("{server} has no database \"{database}\"")
        } else if *code == SqlState::INVALID_PASSWORD {
            format!("{server} refused the password of user \"{user}\" (database \"{database}\")")
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && db.message().starts_with("role ")
        {
            format!("{server} has no user \"{user}\" (database \"{database}\")")
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            format!("{server} has no free connection for database \"{database}\"")
        } else {
            format!(
                "cannot connect to {server} (database \"{database}\"): {}",
                db.message()
            )
        }
    } else {
        let reason = match io_kind(e) {
            Some(ErrorKind::ConnectionRefused) => {
                "the connection was refused; is the server running?".to_owned()
            }
            Some(ErrorKind::TimedOut) => "the server did not answer in time".to_owned(),
            Some(ErrorKind::NotFound) => "there is no such socket".to_owned(),
            Some(kind) => kind.to_string(),
            None => {
                let text = chain(e);
                if text.contains("password missing") {
                    format!("it asks for a password for user \"{user}\", and the URL has none")
                } else if text.contains("failed to lookup address")
                    || text.contains("Name or service not known")
                {
                    "the host name is unknown".to_owned()
                } else if text.contains("timeout") || text.contains("timed out") {
                    "the server did not answer in time".to_owned()
                } else {
                    text
                }
            }
        };
        format!("cannot connect to {server} (database \"{database}\"): {reason}")
    };
    StoreError::new(StoreErrorKind::Connection, message)
}

fn io_kind(e: &postgres::Error) -> Option<ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.raw_os_error().is_some() || io.kind() != ErrorKind::Other {
                return Some(io.kind());
            }
        }
        source = s.source();
    }
    None
}

/// An error and its causes, joined, without the OS error numbers.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// An error while the store was working (not connecting).
pub(crate) fn store_error(place: &Place, e: &postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let kind = if [SqlState::UNDEFINED_TABLE, SqlState::UNDEFINED_COLUMN].contains(db.code()) {
            StoreErrorKind::NotFound
        } else {
            StoreErrorKind::Database
        };
        return StoreError::new(kind, db.message().to_owned());
    }
    if e.is_closed() || io_kind(e).is_some() {
        return StoreError::new(
            StoreErrorKind::Connection,
            format!(
                "the connection to {} (database \"{}\") was lost",
                place.server(),
                place.database
            ),
        );
    }
    StoreError::new(StoreErrorKind::Database, chain(e))
}

/// Whether a statement failed because of the values of some row (a constraint, a value
/// PostgreSQL cannot store, a trigger's exception) rather than for every row alike.
pub(crate) fn is_row_level(e: &postgres::Error) -> bool {
    e.code().is_some_and(|code| {
        let code = code.code();
        code.starts_with("22") || code.starts_with("23") || code == "P0001"
    })
}

/// A row the database refused, in the words the SQLite store uses where it can.
pub(crate) fn row_message(
    e: &postgres::Error,
    table: &str,
    columns: &[&ColumnInfo],
    value: &dyn Fn(usize) -> Value,
) -> String {
    let Some(db) = e.as_db_error() else {
        return chain(e);
    };
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        let names = key_columns(db)
            .map(|cols| {
                cols.iter()
                    .map(|c| format!("{table}.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| db.constraint().unwrap_or("key").to_owned());
        format!("another row already has this {names} (UNIQUE)")
    } else if *code == SqlState::NOT_NULL_VIOLATION {
        format!(
            "a value is required for {table}.{} (NOT NULL)",
            db.column().unwrap_or("a column")
        )
    } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
        if db.detail().is_some_and(|d| d.contains("still referenced")) {
            "other rows still refer to this row (FOREIGN KEY)".to_owned()
        } else {
            "a related row does not exist (FOREIGN KEY)".to_owned()
        }
    } else if *code == SqlState::CHECK_VIOLATION {
        format!(
            "the row breaks the check \"{}\" (CHECK)",
            db.constraint().unwrap_or("?")
        )
    } else if *code == SqlState::STRING_DATA_RIGHT_TRUNCATION {
        columns
            .iter()
            .enumerate()
            .find_map(|(i, c)| {
                let max = c.max_chars?;
                match value(i) {
                    Value::Text(s) if s.chars().count() > max => Some(format!(
                        "a value is too long for {table}.{} (at most {max} characters)",
                        c.name
                    )),
                    _ => None,
                }
            })
            .unwrap_or_else(|| db.message().to_owned())
    } else if *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE {
        columns
            .iter()
            .enumerate()
            .find_map(|(i, c)| out_of_range(c, &value(i)))
            .map(|c| format!("a value is out of range for {table}.{c}"))
            .unwrap_or_else(|| db.message().to_owned())
    } else {
        db.message().to_owned()
    }
}

/// The columns of `Key (a, b)=(…) already exists.`
fn key_columns(db: &DbError) -> Option<Vec<String>> {
    let detail = db.detail()?;
    let inner = detail.strip_prefix("Key (")?;
    let end = inner.find(")=(")?;
    Some(
        inner[..end]
            .split(", ")
            .map(|c| c.trim_matches('"').to_owned())
            .collect(),
    )
}

/// The column's name when `value` is too large for it.
fn out_of_range(column: &ColumnInfo, value: &Value) -> Option<String> {
    let too_large = match (value, column.int_max, column.precision) {
        (Value::Int(i), Some(max), _) => i.unsigned_abs() > max.unsigned_abs(),
        (Value::Decimal(d), Some(max), _) => d.abs() > rust_decimal::Decimal::from(max),
        (Value::Decimal(d), _, Some((p, s))) => {
            let limit = rust_decimal::Decimal::from_i128_with_scale(10i128.pow(p - s.min(p)), 0);
            d.abs().round_dp(s) >= limit
        }
        (Value::Int(i), _, Some((p, s))) => {
            u128::from(i.unsigned_abs()) >= 10u128.pow(p - s.min(p))
        }
        _ => false,
    };
    too_large.then(|| column.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            masked("postgres://ann:secret@db:5432/books?sslmode=disable"),
            "postgres://ann:***@db:5432/books?sslmode=disable"
        );
        assert_eq!(masked("postgres://ann@db/books"), "postgres://ann@db/books");
        assert_eq!(masked("postgres://db/books"), "postgres://db/books");
    }
}
