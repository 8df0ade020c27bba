//! What the server says, in the user's terms: connection failures naming host, port and
//! database (never the password), and refused rows in the words the SQLite store uses.

use ::mysql::{DriverError, Error as MyError, MySqlError, UrlError};

use rowport::store::{StoreError, StoreErrorKind};

/// Where a store connects, for messages.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl Target {
    /// `the MySQL server at 127.0.0.1:3306`
    pub fn server(&self) -> String {
        format!("the MySQL server at {}:{}", self.host, self.port)
    }

    /// `database "test" at 127.0.0.1:3306`
    pub fn name(&self) -> String {
        format!(
            "database \"{}\" at {}:{}",
            self.database, self.host, self.port
        )
    }
}

/// The URL with its password replaced by `***`, fit to be shown.
pub(super) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A malformed `mysql://` URL.
pub(super) fn url_error(url: &str, e: &UrlError) -> StoreError {
    let why = match e {
        UrlError::ParseError(e) => format!("is not a valid URL ({e})"),
        UrlError::UnknownParameter(p) => format!("has an unknown parameter \"{p}\""),
        UrlError::InvalidValue(p, v) => format!("has an invalid value \"{v}\" for \"{p}\""),
        UrlError::FeatureRequired(_, p) => {
            format!("uses \"{p}\", which this build does not support")
        }
        _ => "is incomplete".to_owned(),
    };
    StoreError::new(
        StoreErrorKind::Config,
        format!(
            "database URL \"{}\" {why} (expected mysql://user:password@host:port/database)",
            redact(url)
        ),
    )
}

/// An I/O error's description without its OS error number, in lower case.
fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        TimedOut | WouldBlock => "timed out".into(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
            "the connection was closed".into()
        }
        _ => {
            let text = e.to_string();
            let text = match text.find(" (os error") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

/// Why connecting failed: one sentence naming the server and the database.
pub(super) fn connect_error(target: &Target, e: &MyError) -> StoreError {
    let server = target.server();
    let db = &target.database;
    let message = match e {
        MyError::MySqlError(e) => match e.code {
            // 1698: MariaDB's answer for an unknown user.
            1045 | 1698 => format!(
                "{server} refused user \"{}\": wrong password or unknown user",
                target.user
            ),
            1044 => format!(
                "user \"{}\" may not use database \"{db}\" on {server}",
                target.user
            ),
            1049 => format!("there is no database \"{db}\" on {server}"),
            _ => format!(
                "cannot connect to database \"{db}\" on {server}: {}",
                e.message
            ),
        },
        MyError::IoError(io) => format!(
            "cannot connect to database \"{db}\" on {server}: {}",
            io_text(io)
        ),
        MyError::DriverError(DriverError::CouldNotConnect(Some((_, text, kind)))) => {
            let why = io_text(&std::io::Error::new(*kind, text.clone()));
            format!("cannot connect to database \"{db}\" on {server}: {why}")
        }
        MyError::DriverError(DriverError::ConnectTimeout | DriverError::Timeout) => {
            format!("cannot connect to database \"{db}\" on {server}: timed out")
        }
        other => format!("cannot connect to database \"{db}\" on {server}: {other}"),
    };
    StoreError::new(StoreErrorKind::Connection, message)
}

/// A failed statement as a store error: a lost connection, a missing table or column, or
/// anything else the server refused.
pub(super) fn db_error(target: &Target, e: &MyError) -> StoreError {
    match e {
        MyError::MySqlError(e) => {
            let kind = match e.code {
                // no such table, unknown column, unknown database
                1146 | 1054 | 1049 => StoreErrorKind::NotFound,
                _ => StoreErrorKind::Database,
            };
            StoreError::new(kind, without_row(&e.message).to_owned())
        }
        MyError::IoError(io) => StoreError::new(
            StoreErrorKind::Connection,
            format!(
                "lost the connection to {}: {}",
                target.server(),
                io_text(io)
            ),
        ),
        MyError::CodecError(_) => StoreError::new(
            StoreErrorKind::Connection,
            format!("lost the connection to {}", target.server()),
        ),
        MyError::DriverError(DriverError::PacketTooLarge) => StoreError::new(
            StoreErrorKind::Database,
            format!(
                "a statement is larger than {} accepts (max_allowed_packet)",
                target.server()
            ),
        ),
        other => StoreError::new(StoreErrorKind::Database, other.to_string()),
    }
}

/// Whether the server refused the rows of a statement (a constraint, a value that does
/// not fit), so that the rows are worth trying one by one, rather than the statement or
/// the transaction failing as a whole.
pub(super) fn is_row_refusal(e: &MyError) -> bool {
    let MyError::MySqlError(e) = e else {
        return false;
    };
    match e.code {
        // The transaction is gone: a deadlock, a lock wait that rolled back.
        1213 | 1205 => false,
        1048 | 1062 | 1216 | 1217 | 1264 | 1265 | 1292 | 1364 | 1366 | 1367 | 1406 | 1451
        | 1452 | 1690 | 3140 | 3156 | 3819 | 4025 | 1586 | 1557 => true,
        _ => e.state.starts_with("22") || e.state.starts_with("23"),
    }
}

/// The server message without the statement-relative " at row N" (rows are retried one
/// per statement, so the row is always 1).
pub(super) fn without_row(message: &str) -> &str {
    match message.rfind(" at row ") {
        Some(i) if message[i + 8..].chars().all(|c| c.is_ascii_digit()) => &message[..i],
        _ => message,
    }
}

/// What a refusal is about, parsed from the server's message, for the store to fill in.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A duplicate in the unique index with this name.
    Unique(String),
    /// A NOT NULL column got no value.
    NotNull(String),
    /// The row points at a missing row.
    MissingParent,
    /// Other rows point at the row being deleted or changed.
    Referenced,
    /// The value does not fit the column (too long, out of range, not of its type, not one
    /// of an enum's choices): how, and the column.
    Fit(&'static str, String),
    /// A check constraint, by name (MariaDB's JSON columns are `json_valid` checks).
    Check(String),
    /// Not valid JSON for the column.
    Json(String),
    /// Anything else: the server's words.
    Other(String),
}

/// Parses a refused row's error.
pub(super) fn refusal(e: &MySqlError) -> Refusal {
    let m = e.message.as_str();
    match e.code {
        1062 | 1586 | 1557 => match m.rfind(" for key ") {
            Some(i) => Refusal::Unique(unquote(&m[i + 9..])),
            None => Refusal::Other(without_row(m).to_owned()),
        },
        1048 | 1364 => match quoted_after(m, if e.code == 1048 { "Column " } else { "Field " }) {
            Some(column) => Refusal::NotNull(column),
            None => Refusal::Other(without_row(m).to_owned()),
        },
        1216 | 1452 => Refusal::MissingParent,
        1217 | 1451 => Refusal::Referenced,
        1406 | 1264 | 1265 | 1366 | 1292 | 1690 | 1367 => {
            let how = match e.code {
                1406 => "too long",
                1264 | 1690 => "out of range",
                1265 => "truncated",
                _ => "invalid",
            };
            match m.rfind("for column ") {
                Some(i) => Refusal::Fit(how, unquote(without_row(&m[i + 11..]))),
                None => Refusal::Other(without_row(m).to_owned()),
            }
        }
        3140 => match m.rfind("for column ") {
            Some(i) => Refusal::Json(unquote(m[i + 11..].trim_end_matches('.'))),
            None => Refusal::Other(m.to_owned()),
        },
        4025 => match quoted_after(m, "CONSTRAINT ") {
            Some(name) => Refusal::Check(name),
            None => Refusal::Other(m.to_owned()),
        },
        3819 => match quoted_after(m, "constraint ") {
            Some(name) => Refusal::Check(name),
            None => Refusal::Other(m.to_owned()),
        },
        _ => Refusal::Other(without_row(m).to_owned()),
    }
}

/// The quoted name right after `prefix`: `Column 'name' cannot be null` → `name`.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let i = message.find(prefix)?;
    let rest = &message[i + prefix.len()..];
    let quote = rest
        .chars()
        .next()
        .filter(|c| matches!(c, '\'' | '`' | '"'))?;
    let end = rest[1..].find(quote)?;
    Some(rest[1..1 + end].to_owned())
}

/// The last dotted part of a quoted name: `'book.book_name'` → `book_name`,
/// `` `test`.`x`.`d` `` → `d`.
fn unquote(text: &str) -> String {
    let text = text.trim().trim_end_matches('.');
    let last = text.rsplit('.').next().unwrap_or(text);
    last.trim_matches(|c| matches!(c, '\'' | '`' | '"'))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: u16, state: &str, message: &str) -> MySqlError {
        MySqlError {
            code,
            state: state.into(),
            message: message.into(),
        }
    }

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("mysql://root:s3cret@db:3306/app?x=1"),
            "mysql://root:***@db:3306/app?x=1"
        );
        assert_eq!(redact("mysql://root@db/app"), "mysql://root@db/app");
        assert_eq!(redact("mariadb://db/app"), "mariadb://db/app");
    }

    #[test]
    fn refusals_are_read_from_mysql_and_mariadb_messages() {
        assert_eq!(
            refusal(&err(
                1062,
                "23000",
                "Duplicate entry 'Dune' for key 'book_name'"
            )),
            Refusal::Unique("book_name".into())
        );
        assert_eq!(
            refusal(&err(
                1062,
                "23000",
                "Duplicate entry 'Dune' for key 'book.book_name'"
            )),
            Refusal::Unique("book_name".into())
        );
        assert_eq!(
            refusal(&err(1048, "23000", "Column 'name' cannot be null")),
            Refusal::NotNull("name".into())
        );
        assert_eq!(
            refusal(&err(
                1364,
                "HY000",
                "Field 'name' doesn't have a default value"
            )),
            Refusal::NotNull("name".into())
        );
        assert_eq!(
            refusal(&err(
                1406,
                "22001",
                "Data too long for column 'isbn' at row 3"
            )),
            Refusal::Fit("too long", "isbn".into())
        );
        assert_eq!(
            refusal(&err(
                1366,
                "22007",
                "Incorrect decimal value: 'abc' for column `test`.`x`.`d` at row 1"
            )),
            Refusal::Fit("invalid", "d".into())
        );
        assert_eq!(
            refusal(&err(
                4025,
                "23000",
                "CONSTRAINT `x.j` failed for `test`.`x`"
            )),
            Refusal::Check("x.j".into())
        );
        assert_eq!(
            refusal(&err(
                3819,
                "HY000",
                "Check constraint 'price_positive' is violated."
            )),
            Refusal::Check("price_positive".into())
        );
        assert_eq!(
            refusal(&err(
                3140,
                "22032",
                "Invalid JSON text: \"Missing a comma\" at position 4 in value for column 'x.j'."
            )),
            Refusal::Json("j".into())
        );
        assert_eq!(
            without_row("Out of range value for column 'n' at row 12"),
            "Out of range value for column 'n'"
        );
    }
}
