//! One small SQL layer over SQLite, PostgreSQL and MySQL/MariaDB, so that every query of the
//! state store is written once: `?` placeholders (rewritten to `$n` for PostgreSQL), integers,
//! text and blobs only (booleans and times are integers), and one exclusive connection per
//! unit of work.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::StateError;

/// A parameter of a statement. Nulls carry their type: PostgreSQL checks it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum P<'a> {
    I(i64),
    T(&'a str),
    B(&'a [u8]),
    NullT,
}

impl<'a> P<'a> {
    pub(crate) fn opt_t(value: Option<&'a str>) -> P<'a> {
        value.map_or(P::NullT, P::T)
    }
}

/// A value read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Null,
    I(i64),
    T(String),
    B(Vec<u8>),
}

impl V {
    pub(crate) fn i64(&self) -> i64 {
        match self {
            V::I(i) => *i,
            V::T(t) => t.trim().parse().unwrap_or(0),
            V::B(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0),
            V::Null => 0,
        }
    }

    pub(crate) fn opt_i64(&self) -> Option<i64> {
        match self {
            V::Null => None,
            other => Some(other.i64()),
        }
    }

    pub(crate) fn text(self) -> String {
        match self {
            V::T(t) => t,
            V::B(b) => String::from_utf8_lossy(&b).into_owned(),
            V::I(i) => i.to_string(),
            V::Null => String::new(),
        }
    }

    pub(crate) fn opt_text(self) -> Option<String> {
        match self {
            V::Null => None,
            other => Some(other.text()),
        }
    }

    pub(crate) fn bytes(self) -> Vec<u8> {
        match self {
            V::B(b) => b,
            V::T(t) => t.into_bytes(),
            V::I(i) => i.to_string().into_bytes(),
            V::Null => Vec::new(),
        }
    }
}

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

/// A connection, lent for one unit of work.
pub(crate) trait Conn {
    fn kind(&self) -> Kind;
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64, StateError>;
    /// The rows of a query.
    fn query(&mut self, sql: &str, params: &[P<'_>]) -> Result<Vec<Vec<V>>, StateError>;
    /// Runs statements without parameters (separated by `;`).
    fn batch(&mut self, sql: &str) -> Result<(), StateError>;
    /// Loads rows into `table (columns)` in one stream where the database has one
    /// (PostgreSQL's COPY); false when it has none and the caller must INSERT.
    fn copy_in(&mut self, _target: &str, _rows: &[Vec<Option<&str>>]) -> Result<bool, StateError> {
        Ok(false)
    }
}

impl dyn Conn + '_ {
    /// The first row of a query, if any.
    pub(crate) fn first(
        &mut self,
        sql: &str,
        params: &[P<'_>],
    ) -> Result<Option<Vec<V>>, StateError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// One integer (a count): 0 when the query returns no row.
    pub(crate) fn count(&mut self, sql: &str, params: &[P<'_>]) -> Result<i64, StateError> {
        Ok(self
            .first(sql, params)?
            .and_then(|row| row.into_iter().next())
            .map_or(0, |v| v.i64()))
    }

    /// `INSERT … ` that does nothing when the row's key exists already.
    pub(crate) fn insert_ignore(&self, rest: &str) -> String {
        match self.kind() {
            Kind::Mysql => format!("INSERT IGNORE INTO {rest}"),
            _ => format!("INSERT INTO {rest} ON CONFLICT DO NOTHING"),
        }
    }
}

fn db_error(what: &str, e: impl std::fmt::Display) -> StateError {
    StateError::Database(format!("{what}: {e}"))
}

// ---------------------------------------------------------------------------------------
// SQLite

struct SqliteConn<'a>(MutexGuard<'a, rusqlite::Connection>);

fn sqlite_params<'p>(params: &'p [P<'p>]) -> Vec<rusqlite::types::ToSqlOutput<'p>> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    params
        .iter()
        .map(|p| match p {
            P::I(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            P::T(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            P::B(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            P::NullT => ToSqlOutput::Borrowed(ValueRef::Null),
        })
        .collect()
}

impl Conn for SqliteConn<'_> {
    fn kind(&self) -> Kind {
        Kind::Sqlite
    }

    fn exec(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64, StateError> {
        let values = sqlite_params(params);
        let mut statement = self
            .0
            .prepare_cached(sql)
            .map_err(|e| db_error("the state database refused a statement", e))?;
        let n = statement
            .execute(rusqlite::params_from_iter(values.iter()))
            .map_err(|e| db_error("the state database refused a statement", e))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[P<'_>]) -> Result<Vec<Vec<V>>, StateError> {
        use rusqlite::types::ValueRef;
        let values = sqlite_params(params);
        let mut statement = self
            .0
            .prepare_cached(sql)
            .map_err(|e| db_error("the state database refused a query", e))?;
        let width = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(values.iter()))
            .map_err(|e| db_error("the state database refused a query", e))?;
        let mut out = Vec::new();
        while let Some(row) = rows
            .next()
            .map_err(|e| db_error("reading the state database failed", e))?
        {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let value = row
                    .get_ref(i)
                    .map_err(|e| db_error("reading the state database failed", e))?;
                values.push(match value {
                    ValueRef::Null => V::Null,
                    ValueRef::Integer(i) => V::I(i),
                    ValueRef::Real(r) => V::I(r as i64),
                    ValueRef::Text(t) => V::T(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => V::B(b.to_vec()),
                });
            }
            out.push(values);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StateError> {
        self.0
            .execute_batch(sql)
            .map_err(|e| db_error("the state database refused a statement", e))
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/// PostgreSQL connections kept open between units of work.
const MAX_IDLE: usize = 8;

struct PgConn<'a> {
    client: Option<postgres::Client>,
    db: &'a Db,
}

impl Drop for PgConn<'_> {
    fn drop(&mut self) {
        if let (Some(client), Inner::Postgres { idle, .. }) = (self.client.take(), &self.db.inner) {
            let mut idle = lock(idle);
            // Keep a few connections for the next requests; close the rest.
            if !client.is_closed() && idle.len() < MAX_IDLE {
                idle.push(client);
            }
        }
    }
}

/// `?` → `$1`, `$2`, … (the state store's SQL has no `?` inside literals).
fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

static PG_NULL_T: Option<&str> = None;

fn pg_params<'p>(params: &'p [P<'p>]) -> Vec<&'p (dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &(dyn postgres::types::ToSql + Sync) {
            match p {
                P::I(i) => i,
                P::T(t) => t,
                P::B(b) => b,
                P::NullT => &PG_NULL_T,
            }
        })
        .collect()
}

impl PgConn<'_> {
    fn client(&mut self) -> &mut postgres::Client {
        self.client
            .as_mut()
            .expect("a lent connection is present until dropped")
    }
}

impl Conn for PgConn<'_> {
    fn kind(&self) -> Kind {
        Kind::Postgres
    }

    fn exec(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64, StateError> {
        let sql = pg_placeholders(sql);
        let values = pg_params(params);
        self.client()
            .execute(sql.as_str(), &values)
            .map_err(|e| db_error("the state database refused a statement", pg_reason(&e)))
    }

    fn query(&mut self, sql: &str, params: &[P<'_>]) -> Result<Vec<Vec<V>>, StateError> {
        use postgres::types::Type;
        let sql = pg_placeholders(sql);
        let values = pg_params(params);
        let rows = self
            .client()
            .query(sql.as_str(), &values)
            .map_err(|e| db_error("the state database refused a query", pg_reason(&e)))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let ty = column.type_();
                let read = |e: postgres::Error| db_error("reading the state database failed", e);
                let value = if *ty == Type::INT8 {
                    row.try_get::<_, Option<i64>>(i).map_err(read)?.map(V::I)
                } else if *ty == Type::INT4 {
                    row.try_get::<_, Option<i32>>(i)
                        .map_err(read)?
                        .map(|v| V::I(v.into()))
                } else if *ty == Type::INT2 {
                    row.try_get::<_, Option<i16>>(i)
                        .map_err(read)?
                        .map(|v| V::I(v.into()))
                } else if *ty == Type::BOOL {
                    row.try_get::<_, Option<bool>>(i)
                        .map_err(read)?
                        .map(|v| V::I(v.into()))
                } else if *ty == Type::VOID {
                    None
                } else if *ty == Type::BYTEA {
                    row.try_get::<_, Option<Vec<u8>>>(i)
                        .map_err(read)?
                        .map(V::B)
                } else {
                    row.try_get::<_, Option<String>>(i).map_err(read)?.map(V::T)
                };
                values.push(value.unwrap_or(V::Null));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StateError> {
        self.client()
            .batch_execute(sql)
            .map_err(|e| db_error("the state database refused a statement", pg_reason(&e)))
    }

    fn copy_in(&mut self, target: &str, rows: &[Vec<Option<&str>>]) -> Result<bool, StateError> {
        use std::io::Write;
        let mut text = String::new();
        for row in rows {
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                match value {
                    None => text.push_str("\\N"),
                    Some(v) => copy_escape(v, &mut text),
                }
            }
            text.push('\n');
        }
        let refused =
            |e: postgres::Error| db_error("the state database refused a COPY", pg_reason(&e));
        let mut writer = self
            .client()
            .copy_in(&format!("COPY {target} FROM STDIN"))
            .map_err(refused)?;
        writer
            .write_all(text.as_bytes())
            .map_err(|e| db_error("the state database refused a COPY", e))?;
        writer.finish().map_err(refused)?;
        Ok(true)
    }
}

/// A value in COPY's text format: backslash, tab, newline and carriage return escaped.
fn copy_escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn pg_reason(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// MySQL / MariaDB

struct MysqlConn(mysql::PooledConn);

fn mysql_params(params: &[P<'_>]) -> mysql::Params {
    if params.is_empty() {
        return mysql::Params::Empty;
    }
    mysql::Params::Positional(
        params
            .iter()
            .map(|p| match p {
                P::I(i) => mysql::Value::Int(*i),
                P::T(t) => mysql::Value::Bytes(t.as_bytes().to_vec()),
                P::B(b) => mysql::Value::Bytes(b.to_vec()),
                P::NullT => mysql::Value::NULL,
            })
            .collect(),
    )
}

impl Conn for MysqlConn {
    fn kind(&self) -> Kind {
        Kind::Mysql
    }

    fn exec(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64, StateError> {
        use mysql::prelude::Queryable;
        self.0
            .exec_drop(sql, mysql_params(params))
            .map_err(|e| db_error("the state database refused a statement", e))?;
        Ok(self.0.affected_rows())
    }

    fn query(&mut self, sql: &str, params: &[P<'_>]) -> Result<Vec<Vec<V>>, StateError> {
        use mysql::prelude::Queryable;
        let rows: Vec<mysql::Row> = self
            .0
            .exec(sql, mysql_params(params))
            .map_err(|e| db_error("the state database refused a query", e))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql::Value::NULL => V::Null,
                        mysql::Value::Int(i) => V::I(i),
                        mysql::Value::UInt(u) => V::I(i64::try_from(u).unwrap_or(i64::MAX)),
                        mysql::Value::Bytes(b) => V::B(b),
                        other => V::T(other.as_sql(true)),
                    })
                    .collect()
            })
            .collect())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StateError> {
        use mysql::prelude::Queryable;
        self.0
            .query_drop(sql)
            .map_err(|e| db_error("the state database refused a statement", e))
    }
}

// ---------------------------------------------------------------------------------------

enum Inner {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres {
        config: Box<postgres::Config>,
        schema: String,
        idle: Mutex<Vec<postgres::Client>>,
    },
    Mysql(mysql::Pool),
}

/// The state database: one SQLite connection, a small PostgreSQL pool, or a MySQL pool.
pub(crate) struct Db {
    inner: Inner,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // What the lock guards (a connection or a list of them) stays usable after a panic.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A name that can go into SQL unquoted.
pub(crate) fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl Db {
    /// Opens the database a URL names: `sqlite://path` (created when missing),
    /// `postgres://…` (tables in `schema`, created when missing) or `mysql://…/database`
    /// (created when missing).
    pub(crate) fn open(url: &str, schema: &str) -> Result<Db, StateError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StateError::Config(format!(
                    "state database URL \"{url}\" names no file (expected sqlite://path/to/rowport-admin.db)"
                )));
            }
            return Self::open_sqlite(path);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::open_postgres(url, schema);
        }
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            return Self::open_mysql(url);
        }
        Err(StateError::Config(format!(
            "state database URL \"{}\" has an unsupported scheme (expected sqlite://, postgres:// or mysql://)",
            redact(url)
        )))
    }

    fn open_sqlite(path: &str) -> Result<Db, StateError> {
        let conn = if path == ":memory:" {
            rusqlite::Connection::open_in_memory()
        } else {
            if let Some(parent) = Path::new(path).parent() {
                if !parent.as_os_str().is_empty() && !parent.exists() {
                    return Err(StateError::Config(format!(
                        "the state database's folder {} does not exist",
                        parent.display()
                    )));
                }
            }
            rusqlite::Connection::open(path)
        }
        .map_err(|e| db_error(&format!("cannot open the state database {path}"), e))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| db_error("cannot configure the state database", e))?;
        // WAL lets readers of other instances go on while one writes.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
        )
        .map_err(|e| db_error(&format!("cannot configure the state database {path}"), e))?;
        Ok(Db {
            inner: Inner::Sqlite(Mutex::new(conn)),
        })
    }

    fn open_postgres(url: &str, schema: &str) -> Result<Db, StateError> {
        use std::str::FromStr;
        if !is_identifier(schema) {
            return Err(StateError::Config(format!(
                "state schema \"{schema}\" is not a plain lower-case name (letters, digits, _)"
            )));
        }
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            StateError::Config(format!(
                "state database URL \"{}\" is not a valid PostgreSQL URL ({e})",
                redact(url)
            ))
        })?;
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("rowport-admin");
        let db = Db {
            inner: Inner::Postgres {
                config: Box::new(config),
                schema: schema.to_owned(),
                idle: Mutex::new(Vec::new()),
            },
        };
        // Connect once now, so that a wrong URL is reported when the store opens.
        drop(db.conn()?);
        Ok(db)
    }

    fn open_mysql(url: &str) -> Result<Db, StateError> {
        let mysql_url = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        let opts = mysql::Opts::from_url(&mysql_url).map_err(|e| {
            StateError::Config(format!(
                "state database URL \"{}\" is not a valid MySQL URL ({e})",
                redact(url)
            ))
        })?;
        let Some(database) = opts
            .get_db_name()
            .map(str::to_owned)
            .filter(|d| !d.is_empty())
        else {
            return Err(StateError::Config(format!(
                "state database URL \"{}\" names no database (expected mysql://user@host:port/rowport_admin)",
                redact(url)
            )));
        };
        let session = vec![
            "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
                .to_owned(),
            "SET NAMES utf8mb4".to_owned(),
            "SET time_zone = '+00:00'".to_owned(),
        ];
        let constraints = mysql::PoolConstraints::new(1, 8).unwrap_or_default();
        let builder = |db: Option<String>| {
            mysql::OptsBuilder::from_opts(opts.clone())
                .db_name(db)
                .init(session.clone())
                .tcp_connect_timeout(Some(Duration::from_secs(10)))
                .pool_opts(mysql::PoolOpts::default().with_constraints(constraints))
        };
        let pool = mysql::Pool::new(builder(Some(database.clone())));
        let pool = match pool {
            Ok(pool) => pool,
            // 1049: unknown database. The state database is rowport's to create.
            Err(mysql::Error::MySqlError(e)) if e.code == 1049 => {
                if !is_identifier(&database) {
                    return Err(StateError::Config(format!(
                        "state database \"{database}\" does not exist and is not a plain name rowport may create"
                    )));
                }
                use mysql::prelude::Queryable;
                let admin = mysql::Pool::new(builder(None))
                    .map_err(|e| db_error("cannot connect to the state database server", e))?;
                let mut conn = admin
                    .get_conn()
                    .map_err(|e| db_error("cannot connect to the state database server", e))?;
                conn.query_drop(format!(
                    "CREATE DATABASE IF NOT EXISTS {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ))
                .map_err(|e| db_error("cannot create the state database", e))?;
                mysql::Pool::new(builder(Some(database.clone())))
                    .map_err(|e| db_error("cannot connect to the state database", e))?
            }
            Err(e) => return Err(db_error("cannot connect to the state database", e)),
        };
        Ok(Db {
            inner: Inner::Mysql(pool),
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        match self.inner {
            Inner::Sqlite(_) => Kind::Sqlite,
            Inner::Postgres { .. } => Kind::Postgres,
            Inner::Mysql(_) => Kind::Mysql,
        }
    }

    /// Lends a connection for one unit of work.
    pub(crate) fn conn(&self) -> Result<Box<dyn Conn + '_>, StateError> {
        match &self.inner {
            Inner::Sqlite(conn) => Ok(Box::new(SqliteConn(lock(conn)))),
            Inner::Postgres {
                config,
                schema,
                idle,
            } => {
                let idle_client = lock(idle).pop();
                let client = match idle_client {
                    Some(client) => client,
                    None => {
                        let mut client = config.connect(postgres::NoTls).map_err(|e| {
                            db_error("cannot connect to the state database", pg_reason(&e))
                        })?;
                        client
                            .batch_execute(&format!(
                                "SET client_min_messages = warning; SET search_path TO {schema}"
                            ))
                            .map_err(|e| {
                                db_error("cannot configure the state database", pg_reason(&e))
                            })?;
                        client
                    }
                };
                Ok(Box::new(PgConn {
                    client: Some(client),
                    db: self,
                }))
            }
            Inner::Mysql(pool) => {
                Ok(Box::new(MysqlConn(pool.get_conn().map_err(|e| {
                    db_error("cannot connect to the state database", e)
                })?)))
            }
        }
    }

    /// Runs `work` in a transaction: committed when it returns `Ok`, rolled back otherwise.
    pub(crate) fn transaction<T>(
        &self,
        work: impl FnOnce(&mut dyn Conn) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let mut conn = self.conn()?;
        let begin = match self.kind() {
            // IMMEDIATE takes the write lock at once, so two writers wait instead of
            // failing on a lock upgrade.
            Kind::Sqlite => "BEGIN IMMEDIATE",
            Kind::Postgres => "BEGIN",
            Kind::Mysql => "START TRANSACTION",
        };
        conn.batch(begin)?;
        match work(&mut *conn) {
            Ok(value) => {
                conn.batch("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                // The work's error is the one to report.
                let _ = conn.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// The PostgreSQL schema the tables live in.
    pub(crate) fn pg_schema(&self) -> Option<&str> {
        match &self.inner {
            Inner::Postgres { schema, .. } => Some(schema),
            _ => None,
        }
    }
}

/// A URL with its password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            pg_placeholders("SELECT a FROM t WHERE b = ? AND c > ?"),
            "SELECT a FROM t WHERE b = $1 AND c > $2"
        );
    }

    #[test]
    fn passwords_are_hidden_in_urls() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
