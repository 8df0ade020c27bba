//! [`MysqlStore`]: MySQL 8 and MariaDB 10.x, with the same behaviour as the SQLite store.
//!
//! Writes are set-based: one prepared multi-row statement per chunk of a batch, the chunk
//! kept under [`MAX_PARAMS`] placeholders (the protocol allows 65,535) and the server's
//! `max_allowed_packet`:
//!
//! - insert: `INSERT … VALUES (…), (…)`. New keys are `LAST_INSERT_ID()` plus the row's
//!   position times `@@auto_increment_increment`. That holds because such a statement is a
//!   "simple insert" (its row count is known up front), for which InnoDB reserves
//!   consecutive values in every `innodb_autoinc_lock_mode` (0, 1 and MySQL 8's default
//!   2); rows that bring their own key are inserted by a separate statement, so no insert
//!   is "mixed-mode". `RETURNING` would be simpler but exists on MariaDB only.
//! - update: `UPDATE t JOIN (SELECT ? AS k, ? AS v0 … UNION ALL SELECT ?, ? …) v ON t.key
//!   = v.k SET t.c = v.v0, …`, which both servers accept. `INSERT … ON DUPLICATE KEY
//!   UPDATE` was rejected: it matches any unique key, not just the primary key, so an
//!   update that collides with another row's unique value would silently change that
//!   other row, and in strict mode it demands values for NOT NULL columns it then ignores.
//! - delete and fetch: `WHERE key IN (…)`, row constructors `(a, b) IN ((…), …)` for
//!   composite keys.
//!
//! A chunk the server refuses because of its rows (a constraint, a value that does not
//! fit) is rolled back to a savepoint (outside a transaction, the failed statement undid
//! itself) and split in halves, in order, until each refused row stands alone and gets its
//! own error; the rows around it are written, exactly as row-by-row statements would write
//! them, in about 2·log₂(chunk) statements per refused row instead of one per row. Only a
//! failing chunk costs more than one statement. The session runs in strict SQL mode, so a bad value is
//! such an error rather than a warning and a silent truncation, and with the UTC time zone,
//! so `TIMESTAMP` columns read and write UTC.
//!
//! An export is one prepared `SELECT`, read row by row from the socket (the driver does
//! not buffer result sets), with `LEFT JOIN`s for foreign keys and an ordered
//! `GROUP_CONCAT` of JSON-quoted values per many-to-many column.
//!
//! Per-row errors and rollback rely on InnoDB, whose failed statements leave no partial
//! rows; on a non-transactional engine (MyISAM) a refused chunk may be partly written.

mod convert;
mod errors;
mod schema;

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use ::mysql::prelude::Queryable;
use ::mysql::{
    Error as MyError, Opts, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, PooledConn,
    Value as MyValue,
};

use rowport::store::{
    ColumnSchema, Fetch, RowWriteResult, Scan, ScanColumn, ScanFilter, Store, StoreError,
    StoreErrorKind, TableSchema,
};

use crate::scan_sql::{condition_column, condition_sql, order_sql, page_sql, where_sql, Joins};
use rowport::{Value, ValueKind};

use errors::{db_error, Refusal, Target};

/// How many placeholders one statement gets at most. The protocol allows 65,535, but the
/// driver keeps a column description per placeholder of every cached statement, and past a
/// few thousand rows a bigger statement saves no time: 16,384 holds a 1,000-row batch of
/// up to 16 columns in one statement.
const MAX_PARAMS: usize = 16_384;

/// Prepared statements kept per connection. The shapes that repeat (a full batch's insert,
/// its fetch by import id) stay cached; the others come and go, and a bigger cache would
/// only hold their descriptions in memory (a cache of 64 took the benchmark's 100,000-row
/// create from 31 MB to 64 MB peak).
const STATEMENT_CACHE: usize = 16;

/// Session settings for every pooled connection: strict values, UTC timestamps, and
/// many-to-many lists that are not cut at `GROUP_CONCAT`'s default 1,024 bytes.
const SESSION: [&str; 2] = [
    "SET NAMES utf8mb4",
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,\
     ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', \
     group_concat_max_len = 4294967295",
];

/// A database on a MySQL or MariaDB server.
///
/// The store holds one connection of a pool for its life (an import's transaction needs
/// one connection); [`MysqlStore::try_clone`] takes another from the same pool for
/// another thread.
pub struct MysqlStore {
    pool: Pool,
    conn: PooledConn,
    target: Target,
    in_transaction: bool,
    max_packet: usize,
    autoinc_step: u64,
    mariadb: bool,
}

impl fmt::Debug for MysqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlStore")
            .field("database", &self.target.name())
            .finish_non_exhaustive()
    }
}

fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

fn quoted_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?, ?, ?` or, for rows of several values, `(?, ?), (?, ?)`.
fn placeholders(rows: usize, width: usize) -> String {
    let tuple = format!("({})", vec!["?"; width].join(", "));
    let mut out = String::with_capacity(rows * (tuple.len() + 2));
    for i in 0..rows {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(if width == 1 { "?" } else { &tuple });
    }
    out
}

fn params(values: Vec<MyValue>) -> Params {
    if values.is_empty() {
        Params::Empty
    } else {
        Params::Positional(values)
    }
}

/// Runs one statement over a range of a batch's rows; one result per row.
type Exec<'a, T> = dyn FnMut(&mut PooledConn, Range<usize>) -> Result<Vec<T>, MyError> + 'a;

/// Consecutive ranges of `n` items, each within the placeholder limit and, unless one item
/// alone exceeds it, the byte budget.
fn chunks(
    n: usize,
    width: usize,
    budget: usize,
    size: &dyn Fn(usize) -> usize,
) -> Vec<Range<usize>> {
    let max_rows = (MAX_PARAMS / width.max(1)).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = start;
        let mut bytes = 0;
        while end < n && end - start < max_rows {
            let b = size(end);
            if end > start && bytes + b > budget {
                break;
            }
            bytes += b;
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

impl MysqlStore {
    /// Connects to the database a `mysql://` or `mariadb://` URL names
    /// (`mysql://user:password@host:port/database`, with the driver's `?options`).
    pub fn connect(url: &str) -> Result<MysqlStore, StoreError> {
        let mysql_url = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        let opts = Opts::from_url(&mysql_url).map_err(|e| errors::url_error(url, &e))?;
        let Some(database) = opts.get_db_name().filter(|d| !d.is_empty()) else {
            return Err(StoreError::new(
                StoreErrorKind::Config,
                format!(
                    "database URL \"{}\" names no database (expected mysql://user:password@host:port/database)",
                    errors::redact(url)
                ),
            ));
        };
        let target = Target {
            host: opts.get_ip_or_hostname().into_owned(),
            port: opts.get_tcp_port(),
            database: database.to_owned(),
            user: opts.get_user().unwrap_or_default().to_owned(),
        };
        let mut init = opts.get_init();
        init.extend(SESSION.iter().map(|s| (*s).to_owned()));
        let timeout = opts
            .get_tcp_connect_timeout()
            .or(Some(Duration::from_secs(10)));
        let mut builder = OptsBuilder::from_opts(opts)
            .init(init)
            .tcp_connect_timeout(timeout)
            .stmt_cache_size(STATEMENT_CACHE);
        // A command-line run needs one connection; a pool of up to eight serves a
        // program that clones the store for its threads. The URL's pool_min/pool_max win.
        if !mysql_url.contains("pool_min") && !mysql_url.contains("pool_max") {
            if let Some(constraints) = PoolConstraints::new(1, 8) {
                builder = builder.pool_opts(PoolOpts::default().with_constraints(constraints));
            }
        }
        let pool = Pool::new(builder).map_err(|e| errors::connect_error(&target, &e))?;
        let conn = pool
            .get_conn()
            .map_err(|e| errors::connect_error(&target, &e))?;
        Self::setup(pool, conn, target)
    }

    fn setup(pool: Pool, mut conn: PooledConn, target: Target) -> Result<MysqlStore, StoreError> {
        let row: Option<(u64, u64, String)> = conn
            .query_first("SELECT @@max_allowed_packet, @@auto_increment_increment, VERSION()")
            .map_err(|e| errors::connect_error(&target, &e))?;
        let (max_packet, autoinc_step, version) = row.unwrap_or((4 << 20, 1, String::new()));
        Ok(MysqlStore {
            pool,
            conn,
            target,
            in_transaction: false,
            max_packet: usize::try_from(max_packet).unwrap_or(usize::MAX),
            autoinc_step: autoinc_step.max(1),
            mariadb: version.contains("MariaDB"),
        })
    }

    /// Another store on the same database, with its own connection from the same pool.
    pub fn try_clone(&self) -> Result<MysqlStore, StoreError> {
        let conn = self
            .pool
            .get_conn()
            .map_err(|e| errors::connect_error(&self.target, &e))?;
        Self::setup(self.pool.clone(), conn, self.target.clone())
    }

    /// The connection pool, for schema set-up and checks on connections of its own.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Whether the server is MariaDB rather than MySQL.
    pub fn is_mariadb(&self) -> bool {
        self.mariadb
    }

    /// The database and the table of `table` or `database.table`.
    fn split<'a>(&'a self, table: &'a str) -> (&'a str, &'a str) {
        table
            .split_once('.')
            .unwrap_or((self.target.database.as_str(), table))
    }

    /// `` `table` `` or `` `database`.`table` ``.
    fn qualified(table: &str) -> String {
        match table.split_once('.') {
            Some((db, t)) => format!("{}.{}", quote(db), quote(t)),
            None => quote(table),
        }
    }

    fn error(&self, e: &MyError) -> StoreError {
        db_error(&self.target, e)
    }

    /// Bytes of parameters one statement may carry: the packet limit with room to spare.
    fn budget(&self) -> usize {
        (self.max_packet - self.max_packet / 8).max(1024)
    }

    fn tables_in(&mut self, database: &str) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self
            .conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
                (database,),
            )
            .map_err(|e| db_error(&self.target, &e))?;
        names.sort();
        Ok(names)
    }

    /// Runs `exec` over chunks of `n` rows; a chunk refused because of its rows is split
    /// until each refused row has its own error.
    fn write<T>(
        &mut self,
        table: &str,
        n: usize,
        width: usize,
        size: &dyn Fn(usize) -> usize,
        exec: &mut Exec<'_, T>,
    ) -> Result<Vec<RowWriteResult<T>>, StoreError> {
        let budget = self.budget();
        let mut out = Vec::with_capacity(n);
        for range in chunks(n, width, budget, size) {
            if range.len() == 1 && size(range.start) > budget {
                // Sending it would make the server drop the connection.
                out.push(Err(format!(
                    "the row is larger than the server accepts (max_allowed_packet is {} bytes)",
                    self.max_packet
                )));
                continue;
            }
            self.attempt(table, range, exec, &mut out)?;
        }
        Ok(out)
    }

    fn attempt<T>(
        &mut self,
        table: &str,
        range: Range<usize>,
        exec: &mut Exec<'_, T>,
        out: &mut Vec<RowWriteResult<T>>,
    ) -> Result<(), StoreError> {
        if self.in_transaction {
            self.conn
                .query_drop("SAVEPOINT rowport_chunk")
                .map_err(|e| self.error(&e))?;
        }
        match exec(&mut self.conn, range.clone()) {
            Ok(results) => {
                out.extend(results.into_iter().map(Ok));
                Ok(())
            }
            Err(e) if errors::is_row_refusal(&e) => {
                if self.in_transaction {
                    self.conn
                        .query_drop("ROLLBACK TO SAVEPOINT rowport_chunk")
                        .map_err(|e| self.error(&e))?;
                }
                if range.len() == 1 {
                    let message = self.refusal_message(table, &e);
                    out.push(Err(message));
                    return Ok(());
                }
                let middle = range.start + range.len() / 2;
                self.attempt(table, range.start..middle, exec, out)?;
                self.attempt(table, middle..range.end, exec, out)
            }
            Err(e) => Err(self.error(&e)),
        }
    }

    /// A refused row's error in the words the SQLite store uses.
    fn refusal_message(&mut self, table: &str, e: &MyError) -> String {
        let MyError::MySqlError(e) = e else {
            return e.to_string();
        };
        let (db, name) = self.split(table);
        let (db, name) = (db.to_owned(), name.to_owned());
        match errors::refusal(e) {
            Refusal::Unique(index) => {
                let columns: Vec<String> = self
                    .conn
                    .exec(
                        "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
                         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ? \
                         ORDER BY SEQ_IN_INDEX",
                        (&db, &name, &index),
                    )
                    .unwrap_or_default();
                if columns.is_empty() {
                    format!("another row already has this value of {name}.{index} (UNIQUE)")
                } else {
                    let columns: Vec<String> =
                        columns.iter().map(|c| format!("{name}.{c}")).collect();
                    format!(
                        "another row already has this {} (UNIQUE)",
                        columns.join(", ")
                    )
                }
            }
            Refusal::NotNull(column) => {
                format!("a value is required for {name}.{column} (NOT NULL)")
            }
            Refusal::MissingParent => "a related row does not exist (FOREIGN KEY)".to_owned(),
            Refusal::Referenced => "rows of another table refer to it (FOREIGN KEY)".to_owned(),
            Refusal::Fit(how, column) => {
                let declared: String = self
                    .conn
                    .exec_first(
                        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS \
                         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                        (&db, &name, &column),
                    )
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                let place = format!("{name}.{column}");
                match (how, schema::enum_choices(&declared)) {
                    (_, Some(choices)) => format!(
                        "the value is not one of the choices of {place} ({})",
                        choices.join(", ")
                    ),
                    ("too long", _) => format!("the value is too long for {place} ({declared})"),
                    ("out of range", _) => {
                        format!("the value is out of range for {place} ({declared})")
                    }
                    _ if declared.is_empty() => format!("the value does not fit {place}"),
                    _ => format!("the value is not a valid {declared} for {place}"),
                }
            }
            Refusal::Json(column) => format!("the value is not valid JSON for {name}.{column}"),
            Refusal::Check(constraint) => {
                // MariaDB names a column's check "table.column".
                let constraint = constraint
                    .strip_prefix(&format!("{name}."))
                    .unwrap_or(&constraint)
                    .to_owned();
                let clause: Option<String> = if self.mariadb {
                    self.conn
                        .exec_first(
                            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?",
                            (&db, &name, &constraint),
                        )
                        .ok()
                        .flatten()
                } else {
                    None
                };
                match clause.as_deref().and_then(schema::json_check_column) {
                    Some(column) => format!("the value is not valid JSON for {name}.{column}"),
                    None => format!("the row fails the check {constraint} of {name} (CHECK)"),
                }
            }
            Refusal::Other(message) => message,
        }
    }

    fn describe_columns(&mut self, db: &str, name: &str) -> Result<Vec<ColumnSchema>, StoreError> {
        type ColumnRow = (String, String, String, String, Option<String>, String);
        let rows: Vec<ColumnRow> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 ORDER BY ORDINAL_POSITION",
                (db, name),
            )
            .map_err(|e| self.error(&e))?;
        let mut columns = Vec::with_capacity(rows.len());
        for (column, data_type, column_type, nullable, default, extra) in rows {
            // MariaDB writes a NULL default as the text NULL (and a string default quoted).
            let default = default.filter(|d| !(self.mariadb && d == "NULL"));
            let extra = extra.to_ascii_lowercase();
            let generated = extra.contains("auto_increment") || extra.contains("generated");
            let kind = schema::kind_of(&data_type, &column_type);
            columns.push(ColumnSchema {
                nullable: nullable == "YES",
                has_default: default.is_some() || generated,
                default_sql: default,
                choices: schema::enum_choices(&column_type),
                ..ColumnSchema::new(&column, &column_type, kind)
            });
        }
        Ok(columns)
    }
}

impl Store for MysqlStore {
    /// Evaluates the table's CHECK constraints on the batch's values with one query per
    /// constraint per chunk, without writing: the rows become a derived table
    /// (`SELECT ? AS n, ? AS col … UNION ALL SELECT ?, ? …`) whose columns are named as the
    /// table's, so the constraint's own text applies to them.
    fn check_rows(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<Vec<(usize, String)>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let (db, name) = self.split(table);
        let (db, name) = (db.to_owned(), name.to_owned());
        // MariaDB names a column's check after the column, so its names repeat across the
        // tables of a database: only its CHECK_CONSTRAINTS.TABLE_NAME tells them apart.
        // MySQL has no TABLE_NAME there, but unique names, and checks it does not enforce.
        let sql = if self.mariadb {
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? ORDER BY CONSTRAINT_NAME"
        } else {
            "SELECT cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc \
             JOIN information_schema.CHECK_CONSTRAINTS cc \
             ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
             WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.ENFORCED = 'YES' \
             AND tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ? ORDER BY tc.CONSTRAINT_NAME"
        };
        let clauses: Vec<String> = self
            .conn
            .exec(sql, (&db, &name))
            .map_err(|e| self.error(&e))?;
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        type ColumnRow = (String, String, Option<u64>, Option<u64>, Option<u64>);
        let table_columns: Vec<ColumnRow> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 ORDER BY ORDINAL_POSITION",
                (&db, &name),
            )
            .map_err(|e| self.error(&e))?;
        // Every column of the table, so that a check names only known columns: those the
        // batch fills are sent (cast to the column's type where a text parameter would
        // compare as text), the others are NULL, on which a CHECK passes.
        let mut first = vec![format!("? AS {}", quote("__rowport_n"))];
        let mut later = vec!["?".to_owned()];
        let mut sent: Vec<usize> = Vec::new();
        for (column, data_type, precision, scale, datetime_precision) in &table_columns {
            match columns.iter().position(|c| c == column) {
                Some(j) => {
                    let value =
                        schema::check_cast(data_type, *precision, *scale, *datetime_precision);
                    first.push(format!("{value} AS {}", quote(column)));
                    later.push(value);
                    sent.push(j);
                }
                None => {
                    first.push(format!("NULL AS {}", quote(column)));
                    later.push("NULL".to_owned());
                }
            }
        }
        let (first, later) = (first.join(", "), later.join(", "));
        let width = sent.len() + 1;
        let size = |i: usize| {
            8 + sent
                .iter()
                .map(|&j| rows[i].get(j).map_or(8, convert::size))
                .sum::<usize>()
        };
        let ranges = chunks(rows.len(), width, self.budget(), &size);
        let mut failed = Vec::new();
        for clause in &clauses {
            let check = schema::check_text(clause);
            for range in &ranges {
                let mut derived = format!("SELECT {first}");
                for _ in 1..range.len() {
                    derived.push_str(" UNION ALL SELECT ");
                    derived.push_str(&later);
                }
                let sql = format!(
                    "SELECT t.{} FROM ({derived}) AS t WHERE NOT ({clause})",
                    quote("__rowport_n")
                );
                let mut values = Vec::with_capacity(width * range.len());
                for i in range.clone() {
                    values.push(MyValue::Int(i64::try_from(i).unwrap_or(i64::MAX)));
                    for &j in &sent {
                        values.push(rows[i].get(j).map_or(MyValue::NULL, convert::bind));
                    }
                }
                // A failed SELECT leaves the transaction as it was on both servers. A check
                // the server cannot evaluate here refuses no row: the INSERT still enforces
                // it, and a refused row then becomes an error row.
                let hits: Vec<i64> = match self.conn.exec(&sql, params(values)) {
                    Ok(hits) => hits,
                    Err(MyError::MySqlError(_)) => break,
                    Err(e) => return Err(self.error(&e)),
                };
                for n in hits {
                    failed.push((usize::try_from(n).unwrap_or(usize::MAX), check.clone()));
                }
            }
        }
        failed.sort();
        Ok(failed)
    }

    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        let db = self.target.database.clone();
        self.tables_in(&db)
    }

    fn describe(&mut self, table: &str) -> Result<TableSchema, StoreError> {
        let (db, name) = self.split(table);
        let (db, name) = (db.to_owned(), name.to_owned());
        let mut columns = self.describe_columns(&db, &name)?;
        if columns.is_empty() {
            let mut known = self.tables_in(&db)?;
            if table.contains('.') {
                known = known.into_iter().map(|t| format!("{db}.{t}")).collect();
            }
            let hint = rowport::config::closest(table, &known)
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            let place = Target {
                database: db,
                ..self.target.clone()
            };
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                format!("table \"{table}\" not found in {}{hint}", place.name()),
            ));
        }

        let indexes: Vec<(String, Option<String>)> = self
            .conn
            .exec(
                "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
                 ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                (&db, &name),
            )
            .map_err(|e| self.error(&e))?;
        let mut unique: Vec<(String, Vec<String>)> = Vec::new();
        for (index, column) in indexes {
            match unique.last_mut() {
                Some((name, cols)) if *name == index => cols.extend(column),
                _ => unique.push((index, column.into_iter().collect())),
            }
        }
        // An index over an expression has no column names; it cannot identify rows here.
        unique.retain(|(_, cols)| !cols.is_empty());
        unique.sort_by_key(|(index, _)| index != "PRIMARY");
        if let Some((_, pk)) = unique.iter().find(|(index, _)| index == "PRIMARY") {
            for c in columns.iter_mut().filter(|c| pk.contains(&c.name)) {
                c.primary_key = true;
                c.nullable = false;
            }
        }

        let fks: Vec<(String, String, String, String)> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, \
                 REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL \
                 ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
                (&db, &name),
            )
            .map_err(|e| self.error(&e))?;
        for (from, target_db, target, to) in fks {
            // A table of another database is named as `database.table`, which describe,
            // fetch and scan accept.
            let target = if target_db == self.target.database {
                target
            } else {
                format!("{target_db}.{target}")
            };
            if let Some(c) = columns.iter_mut().find(|c| c.name == from) {
                c.foreign_key = Some((target, to));
            }
        }

        if self.mariadb {
            // MariaDB's JSON is LONGTEXT guarded by a json_valid() check.
            let clauses: Vec<String> = self
                .conn
                .exec(
                    "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                     WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
                    (&db, &name),
                )
                .map_err(|e| self.error(&e))?;
            for clause in &clauses {
                if let Some(json) = schema::json_check_column(clause) {
                    for c in columns.iter_mut().filter(|c| c.name == json) {
                        c.kind = ValueKind::Json;
                    }
                }
            }
        }

        Ok(TableSchema {
            name: table.to_owned(),
            columns,
            unique: unique.into_iter().map(|(_, cols)| cols).collect(),
        })
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn
            .query_drop("START TRANSACTION")
            .map_err(|e| self.error(&e))?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.in_transaction = false;
        self.conn.query_drop("COMMIT").map_err(|e| self.error(&e))
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.in_transaction = false;
        self.conn.query_drop("ROLLBACK").map_err(|e| self.error(&e))
    }

    fn fetch(
        &mut self,
        fetch: &Fetch<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        if keys.is_empty() || fetch.key_columns.is_empty() {
            return Ok(Vec::new());
        }
        let select = fetch
            .columns
            .iter()
            .map(|(c, _)| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let width = fetch.key_columns.len();
        let key_expr = if width == 1 {
            quote(&fetch.key_columns[0])
        } else {
            format!("({})", quoted_list(fetch.key_columns))
        };
        let table = Self::qualified(fetch.table);
        let size = |i: usize| keys[i].iter().map(convert::size).sum();
        let mut out = Vec::new();
        let filter = crate::filter_sql(fetch.filter, &|c| quote(c), crate::Dialect::Mysql);
        for range in chunks(keys.len(), width, self.budget(), &size) {
            let sql = format!(
                "SELECT {select} FROM {table} WHERE {key_expr} IN ({}){filter}",
                placeholders(range.len(), width)
            );
            let values = keys[range].iter().flatten().map(convert::bind).collect();
            let target = &self.target;
            let result = self
                .conn
                .exec_iter(sql, params(values))
                .map_err(|e| db_error(target, &e))?;
            for row in result {
                let row = row.map_err(|e| db_error(target, &e))?;
                out.push(
                    row.unwrap()
                        .into_iter()
                        .zip(fetch.columns)
                        .map(|(v, (_, kind))| convert::read(v, *kind))
                        .collect(),
                );
            }
        }
        Ok(out)
    }

    fn insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
        returning: Option<&str>,
    ) -> Result<Vec<RowWriteResult<Value>>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let head = format!(
            "INSERT INTO {} ({}) VALUES ",
            Self::qualified(table),
            quoted_list(columns)
        );
        let tuple = format!("({})", vec!["?"; columns.len()].join(", "));
        let given = returning.and_then(|r| columns.iter().position(|c| c == r));
        let step = self.autoinc_step;
        let size = |i: usize| rows[i].iter().map(convert::size).sum::<usize>() + 4;
        let mut exec = |conn: &mut PooledConn, range: Range<usize>| {
            let mut sql = String::with_capacity(head.len() + range.len() * (tuple.len() + 2));
            sql.push_str(&head);
            for i in 0..range.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&tuple);
            }
            let values = rows[range.clone()]
                .iter()
                .flatten()
                .map(convert::bind)
                .collect();
            conn.exec_drop(sql, params(values))?;
            // The first new key of the statement; the others follow it by the step.
            let first = conn.last_insert_id();
            Ok(range
                .enumerate()
                .map(|(i, r)| match (returning, given) {
                    (None, _) => Value::Null,
                    (Some(_), Some(g)) => rows[r][g].clone(),
                    (Some(_), None) if first > 0 => {
                        let id = first + i as u64 * step;
                        i64::try_from(id).map_or_else(|_| Value::Text(id.to_string()), Value::Int)
                    }
                    (Some(_), None) => Value::Null,
                })
                .collect())
        };
        self.write(table, rows.len(), columns.len(), &size, &mut exec)
    }

    fn update(
        &mut self,
        table: &str,
        key_column: &str,
        columns: &[String],
        rows: &[(Value, Vec<Value>)],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        if columns.is_empty() {
            return Ok(rows.iter().map(|_| Ok(())).collect());
        }
        let target = Self::qualified(table);
        let key = quote(key_column);
        let one = format!(
            "UPDATE {target} SET {} WHERE {key} = ?",
            columns
                .iter()
                .map(|c| format!("{} = ?", quote(c)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let first_select = format!(
            "SELECT ? AS k, {}",
            (0..columns.len())
                .map(|i| format!("? AS v{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let other_select = format!("SELECT {}", vec!["?"; columns.len() + 1].join(", "));
        let set = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("rowport_t.{} = rowport_v.v{i}", quote(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let size = |i: usize| {
            convert::size(&rows[i].0) + rows[i].1.iter().map(convert::size).sum::<usize>() + 16
        };
        let mut exec = |conn: &mut PooledConn, range: Range<usize>| {
            let rows = &rows[range.clone()];
            if let [(k, values)] = rows {
                let values = values.iter().chain([k]).map(convert::bind).collect();
                conn.exec_drop(&one, params(values))?;
                return Ok(vec![()]);
            }
            let mut derived =
                String::with_capacity(first_select.len() + rows.len() * (other_select.len() + 11));
            derived.push_str(&first_select);
            for _ in 1..rows.len() {
                derived.push_str(" UNION ALL ");
                derived.push_str(&other_select);
            }
            let sql = format!(
                "UPDATE {target} AS rowport_t JOIN ({derived}) AS rowport_v \
                 ON rowport_t.{key} = rowport_v.k SET {set}"
            );
            let values = rows
                .iter()
                .flat_map(|(k, values)| std::iter::once(k).chain(values))
                .map(convert::bind)
                .collect();
            conn.exec_drop(sql, params(values))?;
            Ok(vec![(); rows.len()])
        };
        self.write(table, rows.len(), columns.len() + 1, &size, &mut exec)
    }

    fn delete(
        &mut self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        if keys.is_empty() || key_columns.is_empty() {
            return Ok(keys.iter().map(|_| Ok(())).collect());
        }
        let target = Self::qualified(table);
        let width = key_columns.len();
        let one = format!(
            "DELETE FROM {target} WHERE {}",
            key_columns
                .iter()
                .map(|c| format!("{} = ?", quote(c)))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        let key_expr = if width == 1 {
            quote(&key_columns[0])
        } else {
            format!("({})", quoted_list(key_columns))
        };
        let size = |i: usize| keys[i].iter().map(convert::size).sum();
        let mut exec = |conn: &mut PooledConn, range: Range<usize>| {
            let values = keys[range.clone()]
                .iter()
                .flatten()
                .map(convert::bind)
                .collect();
            if range.len() == 1 {
                conn.exec_drop(&one, params(values))?;
            } else {
                let sql = format!(
                    "DELETE FROM {target} WHERE {key_expr} IN ({})",
                    placeholders(range.len(), width)
                );
                conn.exec_drop(sql, params(values))?;
            }
            Ok(vec![(); range.len()])
        };
        self.write(table, keys.len(), width, &size, &mut exec)
    }

    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let qualify = |t: &str| Self::qualified(t);
        let mut joins = Joins::new(quote, &qualify);
        let mut select = Vec::with_capacity(scan.columns.len());
        for column in &scan.columns {
            match column {
                ScanColumn::Column { name, .. } => select.push(format!("t.{}", quote(name))),
                ScanColumn::Related {
                    joins: path,
                    column,
                    ..
                } => {
                    let alias = joins.alias(path);
                    select.push(format!("{alias}.{}", quote(column)));
                }
                ScanColumn::Linked {
                    link,
                    owner_key,
                    table,
                    key,
                    column,
                    ..
                } => {
                    // The links in the order they were made (the link table's key), each
                    // target JSON-quoted so that no separator can split a value.
                    let link_key: Vec<String> = self
                        .describe(&link.table)?
                        .columns
                        .iter()
                        .filter(|c| c.primary_key)
                        .map(|c| format!("l.{}", quote(&c.name)))
                        .collect();
                    let order = if link_key.is_empty() {
                        format!("l.{}", quote(&link.target_column))
                    } else {
                        link_key.join(", ")
                    };
                    select.push(format!(
                        "(SELECT CONCAT('[', GROUP_CONCAT(COALESCE(JSON_QUOTE(CAST(c.{col} AS CHAR)), 'null') \
                         ORDER BY {order} SEPARATOR ','), ']') FROM {link} l \
                         JOIN {target} c ON c.{key} = l.{target_col} WHERE l.{owner_col} = t.{owner_key})",
                        col = quote(column),
                        link = Self::qualified(&link.table),
                        target = Self::qualified(table),
                        key = quote(key),
                        target_col = quote(&link.target_column),
                        owner_col = quote(&link.owner_column),
                        owner_key = quote(owner_key),
                    ));
                }
            }
        }
        if select.is_empty() {
            select.push("1".to_owned());
        }
        let mut values = Vec::new();
        let conditions = conditions(&mut joins, &scan.filter, &mut values);
        let order: Vec<String> = scan
            .order_by
            .iter()
            .map(|o| {
                let alias = joins.alias(&o.joins);
                format!(
                    "{alias}.{} {}",
                    quote(&o.column),
                    if o.descending { "DESC" } else { "ASC" }
                )
            })
            .collect();
        let sql = format!(
            "SELECT {} {}{}{}{}",
            select.join(", "),
            joins.from(&scan.table),
            where_sql(&conditions),
            order_sql(&order),
            page_sql(scan.offset, scan.limit, Some("18446744073709551615"))
        );
        let target = &self.target;
        let result = self
            .conn
            .exec_iter(sql, params(values))
            .map_err(|e| db_error(target, &e))?;
        for row in result {
            let row = row.map_err(|e| db_error(target, &e))?;
            let values = row
                .unwrap()
                .into_iter()
                .zip(&scan.columns)
                .map(|(raw, column)| match column {
                    ScanColumn::Column { kind, .. } | ScanColumn::Related { kind, .. } => {
                        convert::read(raw, *kind)
                    }
                    ScanColumn::Linked { kind, .. } => linked(raw, *kind),
                })
                .collect();
            sink(values)?;
        }
        Ok(())
    }

    fn count_rows(&mut self, table: &str, filter: &[ScanFilter]) -> Result<u64, StoreError> {
        let qualify = |t: &str| Self::qualified(t);
        let mut joins = Joins::new(quote, &qualify);
        let mut values = Vec::new();
        let conditions = conditions(&mut joins, filter, &mut values);
        let sql = format!(
            "SELECT count(*) {}{}",
            joins.from(table),
            where_sql(&conditions)
        );
        let target = &self.target;
        let count: Option<u64> = self
            .conn
            .exec_first(sql, params(values))
            .map_err(|e| db_error(target, &e))?;
        Ok(count.unwrap_or(0))
    }
}

/// The WHERE conditions of a scan, their values appended to `values`.
fn conditions(
    joins: &mut Joins<'_>,
    filter: &[ScanFilter],
    values: &mut Vec<MyValue>,
) -> Vec<String> {
    filter
        .iter()
        .map(|f| {
            let alias = joins.alias(&f.joins);
            let expr = format!("{alias}.{}", quote(condition_column(&f.condition)));
            condition_sql(&expr, &f.condition, &mut |v| {
                values.push(convert::bind(v));
                "?".to_owned()
            })
        })
        .collect()
}

/// A many-to-many column's JSON array of quoted values, as a list of `kind`.
fn linked(raw: MyValue, kind: ValueKind) -> Value {
    let text = match raw {
        MyValue::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => return Value::List(Vec::new()),
    };
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    Value::List(
        items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::String(s) => Value::Text(s).coerce(kind),
                other => Value::Text(other.to_string()).coerce(kind),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_placeholders_and_bytes() {
        let sizes = [10usize; 10];
        let size = |i: usize| sizes[i];
        assert_eq!(
            chunks(10, 1, 1000, &size),
            vec![Range { start: 0, end: 10 }]
        );
        assert_eq!(chunks(10, 1, 35, &size), [0..3, 3..6, 6..9, 9..10]);
        assert_eq!(chunks(10, 1, 5, &size).len(), 10);
        let big = |_: usize| 1usize;
        let ranges = chunks(10_000, 8, usize::MAX, &big);
        assert_eq!(ranges[0], 0..2048);
        assert_eq!(ranges.len(), 5);
        assert_eq!(ranges[4], 8192..10_000);
    }

    #[test]
    fn placeholders_for_single_and_composite_keys() {
        assert_eq!(placeholders(3, 1), "?, ?, ?");
        assert_eq!(placeholders(2, 2), "(?, ?), (?, ?)");
        assert_eq!(MysqlStore::qualified("db.t`x"), "`db`.`t``x`");
    }

    #[test]
    fn linked_lists_keep_order_and_kind() {
        let raw = MyValue::Bytes(br#"["b","a",null]"#.to_vec());
        assert_eq!(
            linked(raw, ValueKind::Text),
            Value::List(vec!["b".into(), "a".into(), Value::Null])
        );
        assert_eq!(
            linked(MyValue::Bytes(br#"["7"]"#.to_vec()), ValueKind::Int),
            Value::List(vec![Value::Int(7)])
        );
        assert_eq!(linked(MyValue::NULL, ValueKind::Text), Value::List(vec![]));
    }
}
