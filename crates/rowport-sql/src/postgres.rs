//! [`PgStore`]: PostgreSQL, written set by set.
//!
//! Every batch call is a few statements whatever its size:
//!
//! - **insert**: the batch is streamed with `COPY … FROM STDIN (FORMAT binary)` into a
//!   temporary staging table, then one `INSERT … SELECT … ORDER BY ord` moves it into the
//!   table. When the engine wants each new row's generated key, the keys are reserved first
//!   by evaluating the column's default once per row (`nextval(…)` for serial and identity
//!   columns) and inserted as explicit values: row *i* gets key *i* by construction, not by
//!   trusting the order of `RETURNING`. Rows that bring their own ids move the column's
//!   sequence past them, so the next ordinary insert does not collide.
//! - **update**: the same staging, then one `UPDATE … FROM` joined on the key.
//! - **delete**: one `DELETE … WHERE key = ANY($1)` (`DELETE … USING unnest(…)` for a
//!   composite key).
//! - **fetch**: one `SELECT … WHERE key = ANY($1)` (a row comparison with `unnest` for a
//!   composite key), prepared once per connection.
//! - **scan**: one streaming `SELECT` with `LEFT JOIN`s for foreign keys and an ordered
//!   `array_agg` subquery for many-to-many links.
//!
//! A batch statement runs inside a savepoint. Only when PostgreSQL refuses it for a row's
//! sake (a constraint, a value it cannot store) is the batch rolled back to the savepoint
//! and retried row by row, each row in a savepoint of its own, so the refused rows get their
//! own error and the others go on — the same outcome as the SQLite store's per-row
//! statements.
//!
//! No statement uses `ON CONFLICT`: the engine loads a batch's existing rows first and asks
//! for inserts and updates separately, so an upsert would only hide a row that another
//! session inserted meanwhile, which the unique constraint reports instead.
//!
//! Connections come from a [`PgPool`]; the CLI uses a pool of one.

mod catalog;
mod codec;
mod errors;

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::config::Host;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};

use rowport::store::{
    Fetch, RowWriteResult, Scan, ScanColumn, ScanFilter, Store, StoreError, StoreErrorKind,
    TableSchema,
};
use rowport::{Value, ValueKind};

use crate::scan_sql::{condition_column, condition_sql, order_sql, page_sql, where_sql, Joins};
use catalog::{quote, ColumnInfo, TableInfo};
use codec::{Outgoing, Received, SendArray, Wire, WireType};
use errors::{connect_error, is_row_level, masked, row_message, store_error, Place};

/// How long a store waits for a pooled connection when all are in use.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// The connect timeout when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keys per lookup statement (one array parameter each).
const KEYS_PER_STATEMENT: usize = 50_000;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// An open connection and what it has prepared.
struct Session {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Session {
    fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

struct PoolState {
    idle: Vec<Session>,
    open: usize,
}

/// A pool of connections to one PostgreSQL database, shared by the stores made from it
/// (each [`PgStore`] holds one connection until it is dropped).
///
/// ```no_run
/// use rowport::Store;
///
/// let pool = rowport_sql::PgPool::connect("postgres://app@127.0.0.1:5432/library", 8)?;
/// let mut store = pool.store()?;
/// println!("{:?}", store.table_names()?);
/// # Ok::<(), rowport::StoreError>(())
/// ```
pub struct PgPool {
    config: Config,
    place: Place,
    max_size: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

impl fmt::Debug for PgPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgPool")
            .field("server", &self.place.server())
            .field("database", &self.place.database)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

impl PgPool {
    /// A pool of at most `max_size` connections to the database a `postgres://` URL names.
    /// One connection is opened at once, so a wrong host, password or database name is
    /// reported here.
    pub fn connect(url: &str, max_size: usize) -> Result<Arc<PgPool>, StoreError> {
        let mut config = Config::from_str(url).map_err(|e| {
            let reason = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            StoreError::new(
                StoreErrorKind::Config,
                format!(
                    "database URL \"{}\" is not a valid PostgreSQL URL ({reason})",
                    masked(url)
                ),
            )
        })?;
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("rowport");
        }
        let user = config
            .get_user()
            .map(str::to_owned)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_default();
        let place = Place {
            host: match config.get_hosts().first() {
                Some(Host::Tcp(host)) => host.clone(),
                #[cfg(unix)]
                Some(Host::Unix(path)) => path.display().to_string(),
                None => "localhost".to_owned(),
            },
            port: config.get_ports().first().copied().unwrap_or(5432),
            database: config
                .get_dbname()
                .map(str::to_owned)
                .unwrap_or_else(|| user.clone()),
            user,
        };
        let pool = PgPool {
            config,
            place,
            max_size: max_size.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 1,
            }),
            returned: Condvar::new(),
        };
        let first = pool.open()?;
        pool.lock().idle.push(first);
        Ok(Arc::new(pool))
    }

    /// A store on a connection of the pool (waiting, when all are in use, up to 30 s).
    pub fn store(self: &Arc<Self>) -> Result<PgStore, StoreError> {
        let session = self.checkout()?;
        Ok(PgStore {
            session: Some(session),
            pool: Arc::clone(self),
            in_transaction: false,
            tables: HashMap::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A panic elsewhere while the lock was held leaves a list of connections that is
        // still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open(&self) -> Result<Session, StoreError> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| connect_error(&self.place, &e))?;
        // Date-times without an offset are UTC on their way in and out, as in Django; the
        // notices of `CREATE … IF NOT EXISTS` for each batch's staging table are not wanted.
        client
            .batch_execute("SET TIME ZONE 'UTC'; SET client_min_messages = warning")
            .map_err(|e| connect_error(&self.place, &e))?;
        Ok(Session {
            client,
            statements: HashMap::new(),
        })
    }

    fn checkout(&self) -> Result<Session, StoreError> {
        let mut state = self.lock();
        loop {
            while let Some(session) = state.idle.pop() {
                if session.client.is_closed() {
                    state.open = state.open.saturating_sub(1);
                } else {
                    return Ok(session);
                }
            }
            if state.open < self.max_size {
                state.open += 1;
                drop(state);
                return self.open().inspect_err(|_| self.discard());
            }
            let (next, timeout) = self
                .returned
                .wait_timeout(state, CHECKOUT_TIMEOUT)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max_size {
                return Err(StoreError::new(
                    StoreErrorKind::Connection,
                    format!(
                        "all {} connections to {} (database \"{}\") stayed in use for {} s",
                        self.max_size,
                        self.place.server(),
                        self.place.database,
                        CHECKOUT_TIMEOUT.as_secs()
                    ),
                ));
            }
        }
    }

    fn discard(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }

    fn give_back(&self, session: Session) {
        let mut state = self.lock();
        if session.client.is_closed() {
            state.open = state.open.saturating_sub(1);
        } else {
            state.idle.push(session);
        }
        drop(state);
        self.returned.notify_one();
    }
}

/// A [`Store`] on a PostgreSQL database.
///
/// Tables are found through the connection's `search_path` (`book`) or by schema
/// (`library.book`); `table_names` lists the current schema's. See the module
/// documentation for how each call is done in a few statements.
pub struct PgStore {
    /// Always `Some` until the store is dropped and the connection goes back to the pool.
    session: Option<Session>,
    pool: Arc<PgPool>,
    in_transaction: bool,
    tables: HashMap<String, Arc<TableInfo>>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("server", &self.pool.place.server())
            .field("database", &self.pool.place.database)
            .field("in_transaction", &self.in_transaction)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(mut session) = self.session.take() {
            if self.in_transaction && session.client.batch_execute("ROLLBACK").is_err() {
                // A connection in an unknown state is closed, not lent again.
                drop(session);
                self.pool.discard();
                return;
            }
            self.pool.give_back(session);
        }
    }
}

static NULL: Value = Value::Null;

impl PgStore {
    /// Connects to the database a `postgres://` (or `postgresql://`) URL names, on a pool
    /// of one connection. A refused connection, a wrong password or a missing database is
    /// a [`StoreErrorKind::Connection`] error naming the server and database.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgPool::connect(url, 1)?.store()
    }

    /// Runs SQL statements (separated by `;`, no parameters), for schema set-up and tools.
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let place = self.pool.place.clone();
        self.tables.clear();
        self.session()?
            .client
            .batch_execute(sql)
            .map_err(|e| store_error(&place, &e))
    }

    fn session(&mut self) -> Result<&mut Session, StoreError> {
        self.session.as_mut().ok_or_else(|| {
            StoreError::new(StoreErrorKind::Connection, "the store has no connection")
        })
    }

    fn fail(&self, e: &postgres::Error) -> StoreError {
        store_error(&self.pool.place, e)
    }

    /// The table's catalog information, described once per store.
    fn info(&mut self, table: &str) -> Result<Arc<TableInfo>, StoreError> {
        match self.tables.get(table) {
            Some(info) => Ok(Arc::clone(info)),
            None => {
                self.describe(table)?;
                self.tables.get(table).cloned().ok_or_else(|| {
                    StoreError::new(
                        StoreErrorKind::NotFound,
                        format!("table \"{table}\" not found"),
                    )
                })
            }
        }
    }

    /// A write of `n` rows: the set-based statements inside a savepoint, and only when
    /// PostgreSQL refuses them for a row's sake, one statement per row, each in its own
    /// savepoint. Outside the import's transaction the call is a transaction of its own.
    fn write_batch(
        &mut self,
        n: usize,
        prelude: &str,
        set_based: &mut SetBased<'_>,
        one_row: &mut OneRow<'_>,
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        let own = !self.in_transaction;
        let session = self.session()?;
        let outcome = run_batch(session, own, n, prelude, set_based, one_row);
        let outcome = match (own, outcome) {
            (true, Ok(results)) => session.client.batch_execute("COMMIT").map(|()| results),
            (true, Err(e)) => {
                // The statement's error matters more than a failed rollback.
                let _ = session.client.batch_execute("ROLLBACK");
                Err(e)
            }
            (false, outcome) => outcome,
        };
        outcome.map_err(|e| self.fail(&e))
    }

    /// `n` values of a column's default (`nextval('book_id_seq'::regclass)`), reserved
    /// before an insert so that each row's generated key is known.
    fn reserve(&mut self, expr: &str, n: usize, kind: ValueKind) -> Result<Vec<Value>, StoreError> {
        let sql = format!("SELECT {expr} FROM generate_series(1, $1::int8)");
        let count = i64::try_from(n).unwrap_or(i64::MAX);
        let session = self.session()?;
        let rows = session
            .prepare(&sql)
            .and_then(|statement| session.client.query(&statement, &[&count]));
        let rows = rows.map_err(|e| self.fail(&e))?;
        rows.iter()
            .map(|row| {
                row.try_get::<_, Received>(0)
                    .map(|r| r.0.coerce(kind))
                    .map_err(|e| self.fail(&e))
            })
            .collect()
    }

    /// Moves a column's sequence past the largest id the rows brought, so that the next
    /// ordinary insert does not take one of them. A sequence already beyond is left alone.
    fn move_sequence(&mut self, sequence: &str, max: i64) -> Result<(), StoreError> {
        let session = self.session()?;
        let sql = "SELECT setval(s.seqrelid, $2) FROM pg_sequence s \
                   WHERE s.seqrelid = $1::text::regclass \
                   AND $2 >= COALESCE(pg_sequence_last_value(s.seqrelid) + s.seqincrement, s.seqstart)";
        let result = session
            .prepare(sql)
            .and_then(|statement| session.client.query(&statement, &[&sequence, &max]));
        result.map(|_| ()).map_err(|e| self.fail(&e))
    }
}

/// A batch's set-based statements.
type SetBased<'a> = dyn FnMut(&mut Session) -> Result<(), postgres::Error> + 'a;
/// One row's statement: `Ok(Err(message))` when the database refused that row.
type OneRow<'a> =
    dyn FnMut(&mut Session, usize) -> Result<RowWriteResult<()>, postgres::Error> + 'a;

/// One row's statement, run alone after PostgreSQL refused its batch: `param(j)` is the value
/// sent as `$j+1` with `wires[j]`; a refusal for the row's sake becomes that row's error,
/// naming the `targets` columns with `shown(j)`, and anything else fails the write.
fn execute_one_row<'v>(
    session: &mut Session,
    sql: &str,
    wires: &[WireType],
    param: &dyn Fn(usize) -> &'v Value,
    table: &str,
    targets: &[&ColumnInfo],
    shown: &dyn Fn(usize) -> Value,
) -> Result<RowWriteResult<()>, postgres::Error> {
    let statement = session.prepare(sql)?;
    let params: Vec<Outgoing<'_>> = wires
        .iter()
        .enumerate()
        .map(|(j, w)| Outgoing {
            wire: *w,
            value: param(j),
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    match session.client.execute(&statement, &refs) {
        Ok(_) => Ok(Ok(())),
        Err(e) if is_row_level(&e) => Ok(Err(row_message(&e, table, targets, shown))),
        Err(e) => Err(e),
    }
}

/// The savepoint dance of [`PgStore::write_batch`], on one session.
fn run_batch(
    session: &mut Session,
    own: bool,
    n: usize,
    prelude: &str,
    set_based: &mut SetBased<'_>,
    one_row: &mut OneRow<'_>,
) -> Result<Vec<RowWriteResult<()>>, postgres::Error> {
    let begin = if own {
        "BEGIN; SET CONSTRAINTS ALL IMMEDIATE; "
    } else {
        ""
    };
    session
        .client
        .batch_execute(&format!("{begin}SAVEPOINT rowport_batch; {prelude}"))?;
    match set_based(session) {
        Ok(()) => {
            session
                .client
                .batch_execute("RELEASE SAVEPOINT rowport_batch")?;
            return Ok(vec![Ok(()); n]);
        }
        Err(e) if is_row_level(&e) => {}
        Err(e) => return Err(e),
    }
    session
        .client
        .batch_execute("ROLLBACK TO SAVEPOINT rowport_batch; SAVEPOINT rowport_row")?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        match one_row(session, i)? {
            Ok(()) => {
                session
                    .client
                    .batch_execute("RELEASE SAVEPOINT rowport_row; SAVEPOINT rowport_row")?;
                out.push(Ok(()));
            }
            Err(message) => {
                session
                    .client
                    .batch_execute("ROLLBACK TO SAVEPOINT rowport_row")?;
                out.push(Err(message));
            }
        }
    }
    session
        .client
        .batch_execute("RELEASE SAVEPOINT rowport_batch")?;
    Ok(out)
}

/// The values of a batch, by row and column, without copying them.
struct Grid<'a> {
    rows: usize,
    value: &'a dyn Fn(usize, usize) -> &'a Value,
}

/// The staging table for a shape of batch: `ord`, then one column per value, each of its
/// wire type. Batches of the same shape share it; it is emptied before each.
fn staging(wires: &[WireType]) -> (String, String) {
    let mut hasher = DefaultHasher::new();
    wires.hash(&mut hasher);
    let name = format!("rowport_stage_{:016x}", hasher.finish());
    let mut columns = String::from("ord int8");
    for (j, wire) in wires.iter().enumerate() {
        columns.push_str(&format!(", c{j} {}", wire.sql()));
    }
    let prelude = format!("CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}); TRUNCATE {name};");
    (name, prelude)
}

/// One field of a `COPY` row: the row's position, or a value.
#[derive(Debug)]
enum Field<'a> {
    Ord(i64),
    Value(Outgoing<'a>),
}

impl ToSql for Field<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Field::Ord(i) => i.to_sql(ty, out),
            Field::Value(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Streams the grid into the staging table.
fn copy_in(
    session: &mut Session,
    stage: &str,
    wires: &[WireType],
    grid: &Grid<'_>,
) -> Result<(), postgres::Error> {
    let mut columns = String::from("ord");
    for j in 0..wires.len() {
        columns.push_str(&format!(", c{j}"));
    }
    let sink = session.client.copy_in(&format!(
        "COPY {stage} ({columns}) FROM STDIN (FORMAT binary)"
    ))?;
    let mut types = vec![Type::INT8];
    types.extend(wires.iter().map(|w| w.pg_type()));
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    for i in 0..grid.rows {
        writer.write_raw((0..wires.len() + 1).map(|j| {
            if j == 0 {
                Field::Ord(i64::try_from(i).unwrap_or(i64::MAX))
            } else {
                Field::Value(Outgoing {
                    wire: wires[j - 1],
                    value: (grid.value)(i, j - 1),
                })
            }
        }))?;
    }
    writer.finish()?;
    Ok(())
}

fn missing_column(table: &str, column: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::NotFound,
        format!("table \"{table}\" has no column \"{column}\""),
    )
}

fn columns_of<'a>(
    info: &'a TableInfo,
    table: &str,
    names: &[String],
) -> Result<Vec<&'a ColumnInfo>, StoreError> {
    names
        .iter()
        .map(|n| info.column(n).ok_or_else(|| missing_column(table, n)))
        .collect()
}

impl Store for PgStore {
    /// Evaluates the table's CHECK constraints on the batch's values with one query per
    /// constraint, without writing: the values travel as arrays, are cast to the columns'
    /// types and named as the columns, so the constraint's own text applies to them.
    fn check_rows(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<Vec<(usize, String)>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let info = self.info(table)?;
        let checks: Vec<String> = {
            let session = self.session()?;
            let result = session.client.query(
                "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c \
                 WHERE c.conrelid = $1::text::regclass AND c.contype = 'c' ORDER BY c.conname",
                &[&info.qualified],
            );
            let rows = result.map_err(|e| self.fail(&e))?;
            rows.iter().map(|r| r.get::<_, String>(0)).collect()
        };
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        // The columns whose values are sent; arrays stay NULL (a check on them passes).
        let sent: Vec<(usize, &ColumnInfo)> = columns
            .iter()
            .enumerate()
            .filter_map(|(j, n)| info.column(n).filter(|c| !c.wire.array).map(|c| (j, c)))
            .collect();
        let mut failed = Vec::new();
        for (chunk_no, chunk) in rows.chunks(KEYS_PER_STATEMENT).enumerate() {
            let numbers: Vec<Value> = (0..chunk.len())
                .map(|i| {
                    Value::Int(i64::try_from(chunk_no * KEYS_PER_STATEMENT + i).unwrap_or(i64::MAX))
                })
                .collect();
            let wires: Vec<WireType> = sent
                .iter()
                .map(|(j, c)| {
                    WireType::for_values(c.wire, chunk.iter().map(|r| r.get(*j).unwrap_or(&NULL)))
                })
                .collect();
            let mut args = vec!["$1::int8[]".to_owned()];
            let mut aliases = vec!["n".to_owned()];
            for (k, w) in wires.iter().enumerate() {
                args.push(format!("${}::{}[]", k + 2, w.sql()));
                aliases.push(format!("c{k}"));
            }
            let projection = info
                .columns
                .iter()
                .map(|c| match sent.iter().position(|(_, s)| s.name == c.name) {
                    Some(k) => format!("u.c{k}::{} AS {}", c.cast, quote(&c.name)),
                    None => format!("NULL::{} AS {}", c.cast, quote(&c.name)),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let mut params: Vec<SendArray<'_>> = vec![SendArray {
                base: Wire::Int8,
                values: numbers.iter().collect(),
            }];
            for ((j, _), w) in sent.iter().zip(&wires) {
                params.push(SendArray {
                    base: w.base,
                    values: chunk.iter().map(|r| r.get(*j).unwrap_or(&NULL)).collect(),
                });
            }
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            for check in &checks {
                let expr = check.strip_prefix("CHECK ").unwrap_or(check);
                let expr = expr.strip_suffix(" NOT VALID").unwrap_or(expr);
                let sql = format!(
                    "SELECT t.n FROM (SELECT u.n, {projection} FROM unnest({}) AS u({})) t WHERE NOT {expr}",
                    args.join(", "),
                    aliases.join(", ")
                );
                let in_transaction = self.in_transaction;
                let session = self.session()?;
                // A check that cannot be evaluated must not abort the import's transaction.
                let mut evaluate = || -> Result<Vec<postgres::Row>, postgres::Error> {
                    if in_transaction {
                        session.client.batch_execute("SAVEPOINT rowport_check")?;
                    }
                    match session.client.query(&sql, &refs) {
                        Ok(hits) => {
                            if in_transaction {
                                session
                                    .client
                                    .batch_execute("RELEASE SAVEPOINT rowport_check")?;
                            }
                            Ok(hits)
                        }
                        Err(e) => {
                            if in_transaction {
                                session
                                    .client
                                    .batch_execute("ROLLBACK TO SAVEPOINT rowport_check")?;
                            }
                            Err(e)
                        }
                    }
                };
                let result = evaluate();
                let hits = result.map_err(|e| self.fail(&e))?;
                for hit in hits {
                    let n: i64 = hit.get(0);
                    failed.push((usize::try_from(n).unwrap_or(usize::MAX), check.clone()));
                }
            }
        }
        failed.sort();
        Ok(failed)
    }

    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        let session = self.session()?;
        let names = catalog::table_names(&mut session.client);
        names.map_err(|e| self.fail(&e))
    }

    fn describe(&mut self, table: &str) -> Result<TableSchema, StoreError> {
        let session = self.session()?;
        let found = catalog::describe(&mut session.client, table);
        match found.map_err(|e| self.fail(&e))? {
            Some(info) => {
                let schema = info.schema.clone();
                self.tables.insert(table.to_owned(), Arc::new(info));
                Ok(schema)
            }
            None => {
                let known = match table.split_once('.') {
                    Some((schema, _)) => {
                        let session = self.session()?;
                        let names = catalog::tables_in(&mut session.client, schema);
                        names.map_err(|e| self.fail(&e))?
                    }
                    None => self.table_names()?,
                };
                let hint = rowport::config::closest(table, &known)
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                Err(StoreError::new(
                    StoreErrorKind::NotFound,
                    format!(
                        "table \"{table}\" not found in database \"{}\"{hint}",
                        self.pool.place.database
                    ),
                ))
            }
        }
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        let session = self.session()?;
        // Deferred constraints are checked per statement, so that a refused row is
        // reported as that row's error rather than as a failed commit.
        let result = session
            .client
            .batch_execute("BEGIN; SET CONSTRAINTS ALL IMMEDIATE");
        result.map_err(|e| self.fail(&e))?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.in_transaction = false;
        let session = self.session()?;
        let result = session.client.batch_execute("COMMIT");
        result.map_err(|e| self.fail(&e))
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.in_transaction = false;
        let session = self.session()?;
        let result = session.client.batch_execute("ROLLBACK");
        result.map_err(|e| self.fail(&e))
    }

    fn fetch(
        &mut self,
        fetch: &Fetch<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        if keys.is_empty() || fetch.key_columns.is_empty() {
            return Ok(Vec::new());
        }
        let info = self.info(fetch.table)?;
        let key_columns = columns_of(&info, fetch.table, fetch.key_columns)?;
        let wanted: Vec<&ColumnInfo> = fetch
            .columns
            .iter()
            .map(|(c, _)| info.column(c).ok_or_else(|| missing_column(fetch.table, c)))
            .collect::<Result<_, _>>()?;
        let select = wanted
            .iter()
            .map(|c| c.select("t"))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = crate::filter_sql(
            fetch.filter,
            &|c| format!("t.{}", catalog::quote(c)),
            crate::Dialect::Postgres,
        );
        let mut out = Vec::new();
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let wires: Vec<WireType> = key_columns
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    let natural = if c.wire.array {
                        WireType::scalar(Wire::Text)
                    } else {
                        c.wire
                    };
                    WireType::for_values(natural, chunk.iter().map(|k| k.get(j).unwrap_or(&NULL)))
                })
                .collect();
            let condition = if key_columns.len() == 1 {
                format!(
                    "{} = ANY($1::{}[])",
                    key_columns[0].key_expr("t", wires[0]),
                    wires[0].sql()
                )
            } else {
                let exprs: Vec<String> = key_columns
                    .iter()
                    .zip(&wires)
                    .map(|(c, w)| c.key_expr("t", *w))
                    .collect();
                let arrays: Vec<String> = wires
                    .iter()
                    .enumerate()
                    .map(|(j, w)| format!("${}::{}[]", j + 1, w.sql()))
                    .collect();
                format!(
                    "({}) IN (SELECT * FROM unnest({}))",
                    exprs.join(", "),
                    arrays.join(", ")
                )
            };
            let sql = format!(
                "SELECT {select} FROM {} t WHERE {condition}{filter}",
                info.qualified
            );
            let params: Vec<SendArray<'_>> = wires
                .iter()
                .enumerate()
                .map(|(j, w)| SendArray {
                    base: w.base,
                    values: chunk.iter().map(|k| k.get(j).unwrap_or(&NULL)).collect(),
                })
                .collect();
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let session = self.session()?;
            let rows = session
                .prepare(&sql)
                .and_then(|statement| session.client.query(&statement, &refs));
            let rows = rows.map_err(|e| self.fail(&e))?;
            for row in rows {
                let mut values = Vec::with_capacity(fetch.columns.len());
                for (i, (_, kind)) in fetch.columns.iter().enumerate() {
                    let received: Received = row.try_get(i).map_err(|e| self.fail(&e))?;
                    values.push(received.0.coerce(*kind));
                }
                out.push(values);
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
        let info = self.info(table)?;
        let mut targets = columns_of(&info, table, columns)?;
        // Keys the database generates are reserved first and inserted as values, so that
        // each row's is known without relying on the order RETURNING reports them in.
        let given = returning.and_then(|r| columns.iter().position(|c| c == r));
        let reserved: Option<Vec<Value>> = match returning {
            Some(r) if given.is_none() => {
                let column = info.column(r).ok_or_else(|| missing_column(table, r))?;
                let kind = info.schema.column(r).map(|c| c.kind).unwrap_or_default();
                match &column.default_expr {
                    Some(expr) => {
                        targets.push(column);
                        Some(self.reserve(expr, rows.len(), kind)?)
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let width = columns.len();
        let value = |i: usize, j: usize| -> &Value {
            if j < width {
                rows[i].get(j).unwrap_or(&NULL)
            } else {
                reserved.as_ref().and_then(|r| r.get(i)).unwrap_or(&NULL)
            }
        };
        let grid = Grid {
            rows: rows.len(),
            value: &value,
        };
        let wires: Vec<WireType> = targets
            .iter()
            .enumerate()
            .map(|(j, c)| WireType::for_values(c.wire, (0..rows.len()).map(|i| value(i, j))))
            .collect();
        let names = targets
            .iter()
            .map(|c| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let overriding = if targets.iter().any(|c| c.identity_always) {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let (stage, prelude) = staging(&wires);
        let insert_sql = if targets.is_empty() {
            format!(
                "INSERT INTO {} SELECT FROM {stage} s ORDER BY s.ord",
                info.qualified
            )
        } else {
            let casts = targets
                .iter()
                .enumerate()
                .map(|(j, c)| format!("s.c{j}::{}", c.cast))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO {} ({names}){overriding} SELECT {casts} FROM {stage} s ORDER BY s.ord",
                info.qualified
            )
        };
        let row_sql = if targets.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES", info.qualified)
        } else {
            let params = targets
                .iter()
                .zip(&wires)
                .enumerate()
                .map(|(j, (c, w))| format!("${}::{}::{}", j + 1, w.sql(), c.cast))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO {} ({names}){overriding} VALUES ({params})",
                info.qualified
            )
        };
        let name = info.schema.name.clone();
        let outcomes = self.write_batch(
            rows.len(),
            &prelude,
            &mut |session| {
                copy_in(session, &stage, &wires, &grid)?;
                session.client.batch_execute(&insert_sql)
            },
            &mut |session, i| {
                execute_one_row(
                    session,
                    &row_sql,
                    &wires,
                    &|j| value(i, j),
                    &name,
                    &targets,
                    &|j| value(i, j).clone(),
                )
            },
        )?;
        // Ids the rows brought: the sequence must not hand them out again.
        for (j, column) in targets.iter().enumerate().take(width) {
            let Some(sequence) = &column.sequence else {
                continue;
            };
            let max = outcomes
                .iter()
                .enumerate()
                .filter(|(_, o)| o.is_ok())
                .filter_map(|(i, _)| match value(i, j) {
                    Value::Int(id) => Some(*id),
                    _ => None,
                })
                .max();
            if let Some(max) = max {
                self.move_sequence(sequence, max)?;
            }
        }
        Ok(outcomes
            .into_iter()
            .enumerate()
            .map(|(i, outcome)| {
                outcome.map(|()| match (given, &reserved) {
                    (Some(p), _) => value(i, p).clone(),
                    (None, Some(keys)) => keys.get(i).cloned().unwrap_or_default(),
                    (None, None) => Value::Null,
                })
            })
            .collect())
    }

    fn update(
        &mut self,
        table: &str,
        key_column: &str,
        columns: &[String],
        rows: &[(Value, Vec<Value>)],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        if rows.is_empty() || columns.is_empty() {
            return Ok(vec![Ok(()); rows.len()]);
        }
        let info = self.info(table)?;
        let key = info
            .column(key_column)
            .ok_or_else(|| missing_column(table, key_column))?;
        let targets = columns_of(&info, table, columns)?;
        // Column 0 of the grid is the key, then the values in `columns` order.
        let value = |i: usize, j: usize| -> &Value {
            if j == 0 {
                &rows[i].0
            } else {
                rows[i].1.get(j - 1).unwrap_or(&NULL)
            }
        };
        let grid = Grid {
            rows: rows.len(),
            value: &value,
        };
        let key_wire = WireType::for_values(key.wire, rows.iter().map(|r| &r.0));
        let mut wires = vec![key_wire];
        wires.extend(
            targets.iter().enumerate().map(|(j, c)| {
                WireType::for_values(c.wire, (0..rows.len()).map(|i| value(i, j + 1)))
            }),
        );
        let (stage, prelude) = staging(&wires);
        let sets = targets
            .iter()
            .enumerate()
            .map(|(j, c)| format!("{} = s.c{}::{}", quote(&c.name), j + 1, c.cast))
            .collect::<Vec<_>>()
            .join(", ");
        let update_sql = format!(
            "UPDATE {} AS t SET {sets} FROM {stage} s WHERE {} = s.c0",
            info.qualified,
            key.key_expr("t", key_wire)
        );
        let row_sets = targets
            .iter()
            .enumerate()
            .map(|(j, c)| {
                format!(
                    "{} = ${}::{}::{}",
                    quote(&c.name),
                    j + 2,
                    wires[j + 1].sql(),
                    c.cast
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let row_sql = format!(
            "UPDATE {} AS t SET {row_sets} WHERE {} = $1::{}",
            info.qualified,
            key.key_expr("t", key_wire),
            key_wire.sql()
        );
        let name = info.schema.name.clone();
        self.write_batch(
            rows.len(),
            &prelude,
            &mut |session| {
                copy_in(session, &stage, &wires, &grid)?;
                session.client.batch_execute(&update_sql)
            },
            &mut |session, i| {
                execute_one_row(
                    session,
                    &row_sql,
                    &wires,
                    &|j| value(i, j),
                    &name,
                    &targets,
                    &|j| value(i, j + 1).clone(),
                )
            },
        )
    }

    fn delete(
        &mut self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let info = self.info(table)?;
        let targets = columns_of(&info, table, key_columns)?;
        let value = |i: usize, j: usize| -> &Value { keys[i].get(j).unwrap_or(&NULL) };
        let wires: Vec<WireType> = targets
            .iter()
            .enumerate()
            .map(|(j, c)| WireType::for_values(c.wire, (0..keys.len()).map(|i| value(i, j))))
            .collect();
        let delete_sql = if targets.len() == 1 {
            format!(
                "DELETE FROM {} AS t WHERE {} = ANY($1::{}[])",
                info.qualified,
                targets[0].key_expr("t", wires[0]),
                wires[0].sql()
            )
        } else {
            let arrays = wires
                .iter()
                .enumerate()
                .map(|(j, w)| format!("${}::{}[]", j + 1, w.sql()))
                .collect::<Vec<_>>()
                .join(", ");
            let names = (0..wires.len())
                .map(|j| format!("k{j}"))
                .collect::<Vec<_>>()
                .join(", ");
            let matches = targets
                .iter()
                .zip(&wires)
                .enumerate()
                .map(|(j, (c, w))| format!("{} = k.k{j}", c.key_expr("t", *w)))
                .collect::<Vec<_>>()
                .join(" AND ");
            format!(
                "DELETE FROM {} AS t USING unnest({arrays}) AS k({names}) WHERE {matches}",
                info.qualified
            )
        };
        let row_sql = format!(
            "DELETE FROM {} AS t WHERE {}",
            info.qualified,
            targets
                .iter()
                .zip(&wires)
                .enumerate()
                .map(|(j, (c, w))| format!("{} = ${}::{}", c.key_expr("t", *w), j + 1, w.sql()))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        let name = info.schema.name.clone();
        self.write_batch(
            keys.len(),
            "",
            &mut |session| {
                let params: Vec<SendArray<'_>> = wires
                    .iter()
                    .enumerate()
                    .map(|(j, w)| SendArray {
                        base: w.base,
                        values: (0..keys.len()).map(|i| value(i, j)).collect(),
                    })
                    .collect();
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                let statement = session.prepare(&delete_sql)?;
                session.client.execute(&statement, &refs).map(|_| ())
            },
            &mut |session, i| {
                execute_one_row(
                    session,
                    &row_sql,
                    &wires,
                    &|j| value(i, j),
                    &name,
                    &targets,
                    &|j| value(i, j).clone(),
                )
            },
        )
    }

    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let info = self.info(&scan.table)?;
        let tables = self.scan_tables(scan)?;
        let qualify = |t: &str| {
            tables
                .get(t)
                .map_or_else(|| quote(t), |i| i.qualified.clone())
        };
        let mut joins = Joins::new(quote, &qualify);
        let mut select = Vec::with_capacity(scan.columns.len());
        let mut kinds = Vec::with_capacity(scan.columns.len());
        for column in &scan.columns {
            match column {
                ScanColumn::Column { name, kind } => {
                    let c = info
                        .column(name)
                        .ok_or_else(|| missing_column(&scan.table, name))?;
                    select.push(c.select("t"));
                    kinds.push(*kind);
                }
                ScanColumn::Related {
                    joins: path,
                    column,
                    kind,
                } => {
                    let table = path.last().map_or(scan.table.as_str(), |j| &j.table);
                    let wanted = tables[table]
                        .column(column)
                        .ok_or_else(|| missing_column(table, column))?;
                    let alias = joins.alias(path);
                    select.push(wanted.select(&alias));
                    kinds.push(*kind);
                }
                ScanColumn::Linked {
                    link,
                    owner_key,
                    table,
                    key,
                    column,
                    ..
                } => {
                    let target = &tables[table.as_str()];
                    let links = &tables[link.table.as_str()];
                    let wanted = target
                        .column(column)
                        .ok_or_else(|| missing_column(table, column))?;
                    // Links in the order they were made (the link table's key), as the
                    // SQLite store lists them.
                    let order = links
                        .schema
                        .primary_key()
                        .map(|pk| format!("l.{}", quote(&pk.name)))
                        .unwrap_or_else(|| format!("l.{}", quote(&link.target_column)));
                    select.push(format!(
                        "(SELECT array_agg({item} ORDER BY {order}) FROM {links} l \
                         JOIN {target} c ON c.{key} = l.{target_col} WHERE l.{owner_col} = t.{owner_key})",
                        item = wanted.select("c"),
                        links = links.qualified,
                        target = target.qualified,
                        key = quote(key),
                        target_col = quote(&link.target_column),
                        owner_col = quote(&link.owner_column),
                        owner_key = quote(owner_key),
                    ));
                    kinds.push(ValueKind::List);
                }
            }
        }
        if select.is_empty() {
            select.push("1".to_owned());
        }
        let mut params = Vec::new();
        let conditions = conditions(&scan.table, &tables, &mut joins, &scan.filter, &mut params)?;
        // Nulls first going up and last going down, as SQLite and MySQL sort them, so
        // every store exports the same order.
        let order: Vec<String> = scan
            .order_by
            .iter()
            .map(|o| {
                let alias = joins.alias(&o.joins);
                format!(
                    "{alias}.{} {}",
                    quote(&o.column),
                    if o.descending {
                        "DESC NULLS LAST"
                    } else {
                        "ASC NULLS FIRST"
                    }
                )
            })
            .collect();
        let sql = format!(
            "SELECT {} {}{}{}{}",
            select.join(", "),
            joins.from(&scan.table),
            where_sql(&conditions),
            order_sql(&order),
            page_sql(scan.offset, scan.limit, None)
        );
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let place = self.pool.place.clone();
        let fail = |e: postgres::Error| store_error(&place, &e);
        let session = self.session()?;
        let statement = session.client.prepare(&sql).map_err(fail)?;
        // Rows stream from the server as the sink takes them; nothing is collected.
        let mut rows = session
            .client
            .query_raw(&statement, refs.iter().copied())
            .map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            let mut values = Vec::with_capacity(kinds.len());
            for (i, column) in scan.columns.iter().enumerate() {
                let received: Received = row.try_get(i).map_err(fail)?;
                values.push(match (column, received.0) {
                    (ScanColumn::Linked { kind, .. }, Value::List(items)) => {
                        Value::List(items.into_iter().map(|v| v.coerce(*kind)).collect())
                    }
                    (ScanColumn::Linked { .. }, _) => Value::List(Vec::new()),
                    (_, v) => v.coerce(kinds[i]),
                });
            }
            sink(values)?;
        }
        Ok(())
    }

    fn count_rows(&mut self, table: &str, filter: &[ScanFilter]) -> Result<u64, StoreError> {
        let scan = Scan {
            filter: filter.to_vec(),
            ..Scan::new(table)
        };
        let tables = self.scan_tables(&scan)?;
        let qualify = |t: &str| {
            tables
                .get(t)
                .map_or_else(|| quote(t), |i| i.qualified.clone())
        };
        let mut joins = Joins::new(quote, &qualify);
        let mut params = Vec::new();
        let conditions = conditions(table, &tables, &mut joins, filter, &mut params)?;
        let sql = format!(
            "SELECT count(*) {}{}",
            joins.from(table),
            where_sql(&conditions)
        );
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let session = self.session()?;
        let row = session
            .prepare(&sql)
            .and_then(|statement| session.client.query_one(&statement, &refs));
        let row = row.map_err(|e| self.fail(&e))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}

impl PgStore {
    /// The catalog entry of every table a scan reads, by name.
    fn scan_tables(&mut self, scan: &Scan) -> Result<HashMap<String, Arc<TableInfo>>, StoreError> {
        let mut names: Vec<&str> = vec![&scan.table];
        let joined = |joins: &'_ [rowport::store::Join]| -> Vec<String> {
            joins.iter().map(|j| j.table.clone()).collect()
        };
        let mut owned: Vec<String> = Vec::new();
        for column in &scan.columns {
            match column {
                ScanColumn::Column { .. } => {}
                ScanColumn::Related { joins, .. } => owned.extend(joined(joins)),
                ScanColumn::Linked { link, table, .. } => {
                    owned.push(link.table.clone());
                    owned.push(table.clone());
                }
            }
        }
        for f in &scan.filter {
            owned.extend(joined(&f.joins));
        }
        for o in &scan.order_by {
            owned.extend(joined(&o.joins));
        }
        names.extend(owned.iter().map(String::as_str));
        let mut tables = HashMap::new();
        for name in names {
            if !tables.contains_key(name) {
                tables.insert(name.to_owned(), self.info(name)?);
            }
        }
        Ok(tables)
    }
}

/// The WHERE conditions of a scan: each value sent as the column's own wire type when it
/// fits (else as text, which the cast parses), compared as `fetch` compares keys.
fn conditions<'v>(
    table: &str,
    tables: &HashMap<String, Arc<TableInfo>>,
    joins: &mut Joins<'_>,
    filter: &'v [ScanFilter],
    params: &mut Vec<Outgoing<'v>>,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::with_capacity(filter.len());
    for f in filter {
        let on = f.joins.last().map_or(table, |j| &j.table);
        let name = condition_column(&f.condition);
        let column = tables
            .get(on)
            .and_then(|t| t.column(name))
            .ok_or_else(|| missing_column(on, name))?;
        let natural = if column.wire.array {
            WireType::scalar(Wire::Text)
        } else {
            column.wire
        };
        let values: Vec<&'v Value> = match &f.condition {
            rowport::store::Condition::Compare { value, .. } => vec![value],
            rowport::store::Condition::In { values, .. } => values.iter().collect(),
            rowport::store::Condition::IsNull { .. } => Vec::new(),
        };
        let wire = WireType::for_values(natural, values.iter().copied());
        let alias = joins.alias(&f.joins);
        let expr = column.key_expr(&alias, wire);
        let mut pending = values.into_iter();
        let sql = condition_sql(&expr, &f.condition, &mut |_| {
            if let Some(value) = pending.next() {
                params.push(Outgoing { wire, value });
            }
            format!("${}::{}", params.len(), wire.sql())
        });
        out.push(sql);
    }
    Ok(out)
}
