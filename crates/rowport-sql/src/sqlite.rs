//! [`SqliteStore`]: the embedded default.
//!
//! SQLite runs in this process, so a statement costs no round trip: each batch call runs
//! one cached prepared statement per row inside the import's transaction, which is how
//! SQLite's own `.import` loads files. Reads that find rows by key use one statement per
//! batch (`WHERE key IN (…)`), and an export is one streaming `SELECT` with joins.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, OpenFlags, ToSql};
use rust_decimal::Decimal;

use rowport::store::{
    ColumnSchema, Fetch, RowWriteResult, Scan, ScanColumn, Store, StoreError, StoreErrorKind,
    TableSchema,
};
use rowport::{Value, ValueKind};

/// A SQLite database file.
pub struct SqliteStore {
    conn: Connection,
    name: String,
    /// Each table's rowid alias (its `INTEGER PRIMARY KEY`), once looked up.
    rowid_aliases: HashMap<String, Option<String>>,
}

/// How many values one statement binds at most (SQLite allows 32,766).
const MAX_PARAMS: usize = 30_000;

impl SqliteStore {
    /// Opens an existing database file; `create` makes it when missing.
    pub fn open(path: &Path, create: bool) -> Result<SqliteStore, StoreError> {
        let name = path.display().to_string();
        if !create && !path.exists() {
            return Err(StoreError::new(
                StoreErrorKind::Connection,
                format!("database file {name} does not exist"),
            ));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Connection,
                format!("cannot open database file {name}: {}", message(&e)),
            )
        })?;
        Self::setup(conn, name)
    }

    /// A private database in memory (for tests and throwaway work).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| db_error(&e))?;
        Self::setup(conn, ":memory:".into())
    }

    fn setup(conn: Connection, name: String) -> Result<SqliteStore, StoreError> {
        // Foreign keys are enforced, as Django enforces them; a busy database is waited for.
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Connection,
                    format!("{name} is not a usable SQLite database: {}", message(&e)),
                )
            })?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteStore {
            conn,
            name,
            rowid_aliases: HashMap::new(),
        })
    }

    /// The underlying connection, for schema set-up and checks.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The table's `INTEGER PRIMARY KEY` column, which is its rowid.
    fn rowid_alias(&mut self, table: &str) -> Option<&str> {
        if !self.rowid_aliases.contains_key(table) {
            // A primary key with its own index (WITHOUT ROWID, `INTEGER PRIMARY KEY DESC`)
            // is not the rowid.
            let has_key_index = self
                .conn
                .query_row(
                    "SELECT count(*) FROM pragma_index_list(?1) WHERE origin = 'pk'",
                    [table],
                    |r| r.get::<_, i64>(0),
                )
                .map_or(true, |n| n > 0);
            let schema = if has_key_index {
                None
            } else {
                self.describe(table).ok()
            };
            let alias = schema.and_then(|schema| {
                let mut keys = schema.columns.iter().filter(|c| c.primary_key);
                match (keys.next(), keys.next()) {
                    (Some(key), None) if key.declared_type.eq_ignore_ascii_case("integer") => {
                        Some(key.name.clone())
                    }
                    _ => None,
                }
            });
            self.rowid_aliases.insert(table.to_owned(), alias);
        }
        self.rowid_aliases.get(table).and_then(Option::as_deref)
    }

    fn decimal_scale(&mut self, table: &str, column: &str) -> Option<u32> {
        let schema = self.describe(table).ok()?;
        decimal_scale(&schema.column(column)?.declared_type)
    }
}

/// The scale of `decimal(10,2)`: 2.
fn decimal_scale(declared: &str) -> Option<u32> {
    let lower = declared.to_ascii_lowercase();
    if !(lower.contains("dec") || lower.contains("numeric")) {
        return None;
    }
    let inner = lower.split('(').nth(1)?.trim_end_matches(')');
    inner.split(',').nth(1)?.trim().parse().ok()
}

/// The kind of value a column of this declared type holds, by SQLite's affinity rules
/// refined by the names people (and Django) give types.
pub fn kind_of(declared: &str) -> ValueKind {
    let t = declared.to_ascii_lowercase();
    if t.starts_with("bool") {
        ValueKind::Bool
    } else if t.contains("datetime") || t.contains("timestamp") {
        ValueKind::DateTime
    } else if t.starts_with("date") {
        ValueKind::Date
    } else if t.starts_with("time") {
        ValueKind::Time
    } else if t.contains("int") {
        ValueKind::Int
    } else if t.contains("dec") || t.contains("numeric") {
        ValueKind::Decimal
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        ValueKind::Float
    } else if t.contains("json") {
        ValueKind::Json
    } else {
        ValueKind::Text
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    }
}

fn db_error(e: &rusqlite::Error) -> StoreError {
    let text = message(e);
    let kind = if text.starts_with("no such table") || text.starts_with("no such column") {
        StoreErrorKind::NotFound
    } else {
        StoreErrorKind::Database
    };
    StoreError::new(kind, text)
}

/// A value bound as SQLite stores it: dates and times as ISO 8601 text (as Django does),
/// decimals as text so that no float rounding happens before the column's affinity applies.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(SqlValue::Null),
            Value::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::DateTimeTz(dt) => ToSqlOutput::Owned(SqlValue::Text(
                dt.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string(),
            )),
            // As Django keeps them where there is no native type: a duration as whole
            // microseconds, a UUID as 32 hexadecimal digits.
            Value::Duration(d) => ToSqlOutput::Owned(match d.num_microseconds() {
                Some(us) => SqlValue::Integer(us),
                None => SqlValue::Text(self.0.to_string()),
            }),
            Value::Uuid(u) => ToSqlOutput::Owned(SqlValue::Text(format!("{u:032x}"))),
            Value::List(items) => ToSqlOutput::Owned(SqlValue::Text(
                serde_json::Value::Array(
                    items
                        .iter()
                        .map(|v| serde_json::Value::String(v.to_string()))
                        .collect(),
                )
                .to_string(),
            )),
            other => ToSqlOutput::Owned(SqlValue::Text(other.to_string())),
        })
    }
}

fn read(value: ValueRef<'_>, kind: ValueKind, scale: Option<u32>) -> Value {
    let raw = match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
    };
    match (raw.coerce(kind), scale) {
        (Value::Decimal(d), Some(s)) => Value::Decimal(rescaled(d, s)),
        (v, _) => v,
    }
}

fn rescaled(mut d: Decimal, scale: u32) -> Decimal {
    if d.scale() < scale {
        d.rescale(scale);
    }
    d
}

/// The CHECK constraints of a `CREATE TABLE` statement, each as written
/// (`CHECK (price >= 0)`), found outside string literals and quoted names.
fn check_constraints(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                i += 1;
            }
            b'[' => {
                while i < bytes.len() && bytes[i] != b']' {
                    i += 1;
                }
                i += 1;
            }
            _ if bytes.len() - i >= 5
                && bytes[i..i + 5].eq_ignore_ascii_case(b"check")
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let start = i;
                let mut j = i + 5;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j >= bytes.len() || bytes[j] != b'(' {
                    i += 5;
                    continue;
                }
                let mut depth = 0usize;
                let mut k = j;
                while k < bytes.len() {
                    match bytes[k] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        quote @ (b'\'' | b'"' | b'`') => {
                            k += 1;
                            while k < bytes.len() && bytes[k] != quote {
                                k += 1;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                if k >= bytes.len() {
                    break;
                }
                out.push(sql[start..=k].to_owned());
                i = k + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// A value bound for a CHECK evaluation: as [`Bind`], but decimals as numbers, as a
/// NUMERIC or REAL column's affinity makes them before the check sees them.
struct CheckBind<'a>(&'a Value);

impl ToSql for CheckBind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self.0 {
            Value::Decimal(d) => Ok(ToSqlOutput::Owned(match d.to_string().parse::<f64>() {
                Ok(f) => SqlValue::Real(f),
                Err(_) => SqlValue::Text(d.to_string()),
            })),
            other => Ok(match Bind(other).to_sql()? {
                ToSqlOutput::Borrowed(v) => ToSqlOutput::Owned(v.into()),
                ToSqlOutput::Owned(v) => ToSqlOutput::Owned(v),
                _ => ToSqlOutput::Owned(SqlValue::Text(other.to_string())),
            }),
        }
    }
}

impl Store for SqliteStore {
    fn check_rows(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<Vec<(usize, String)>, StoreError> {
        let sql: Option<String> = self
            .conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .map_err(|e| db_error(&e))
            .ok()
            .flatten();
        let checks = sql.as_deref().map(check_constraints).unwrap_or_default();
        if checks.is_empty() || rows.is_empty() {
            return Ok(Vec::new());
        }
        // Every column of the table, so that a check names only known columns; those the
        // import does not fill are NULL, on which a CHECK passes.
        let all: Vec<String> = self
            .describe(table)?
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect();
        let given: Vec<Option<usize>> = all
            .iter()
            .map(|c| columns.iter().position(|g| g == c))
            .collect();
        let header = std::iter::once("\"__rowport_n\"".to_owned())
            .chain(all.iter().map(|c| quote(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let width = all.len() + 1;
        // SQLite allows 32,766 parameters per statement.
        let per_statement = (32_000 / width).max(1);
        let null = Value::Null;
        let mut failed = Vec::new();
        for check in &checks {
            let expr = check[5..].trim();
            for (chunk_no, chunk) in rows.chunks(per_statement).enumerate() {
                let tuple = format!("({})", vec!["?"; width].join(", "));
                let sql = format!(
                    "WITH t({header}) AS (VALUES {}) SELECT \"__rowport_n\" FROM t WHERE NOT {expr}",
                    vec![tuple; chunk.len()].join(", ")
                );
                let base = chunk_no * per_statement;
                let numbers: Vec<Value> = (0..chunk.len())
                    .map(|i| Value::Int((base + i) as i64))
                    .collect();
                let mut params: Vec<CheckBind<'_>> = Vec::with_capacity(width * chunk.len());
                for (i, row) in chunk.iter().enumerate() {
                    params.push(CheckBind(&numbers[i]));
                    for g in &given {
                        params.push(CheckBind(g.and_then(|g| row.get(g)).unwrap_or(&null)));
                    }
                }
                let mut stmt = self.conn.prepare(&sql).map_err(|e| db_error(&e))?;
                let hits = stmt
                    .query_map(params_from_iter(params.iter()), |r| r.get::<_, i64>(0))
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| db_error(&e))?;
                for n in hits {
                    failed.push((n as usize, check.clone()));
                }
            }
        }
        failed.sort();
        Ok(failed)
    }

    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .map_err(|e| db_error(&e))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| db_error(&e))?;
        Ok(names)
    }

    fn describe(&mut self, table: &str) -> Result<TableSchema, StoreError> {
        let mut columns = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
                )
                .map_err(|e| db_error(&e))?;
            let rows = stmt
                .query_map([table], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| db_error(&e))?;
            for (name, declared, notnull, default_sql, pk) in rows {
                let has_default = default_sql.is_some();
                let kind = kind_of(&declared);
                let rowid_alias = pk > 0 && declared.eq_ignore_ascii_case("integer");
                columns.push(ColumnSchema {
                    nullable: !notnull && pk == 0,
                    primary_key: pk > 0,
                    has_default: has_default || rowid_alias,
                    default_sql,
                    ..ColumnSchema::new(&name, &declared, kind)
                });
            }
        }
        if columns.is_empty() {
            let known = self.table_names()?;
            let hint = rowport::config::closest(table, &known)
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                format!("table \"{table}\" not found in {}{hint}", self.name),
            ));
        }
        let fks = {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)",
                )
                .map_err(|e| db_error(&e))?;
            stmt.query_map([table], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| db_error(&e))?
        };
        for (from, target, to) in fks {
            let to = match to {
                Some(to) => to,
                // A foreign key without a column refers to the target's primary key.
                None => self
                    .describe(&target)?
                    .primary_key()
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| "rowid".into()),
            };
            if let Some(c) = columns.iter_mut().find(|c| c.name == from) {
                c.foreign_key = Some((target, to));
            }
        }
        let mut unique: Vec<Vec<String>> = Vec::new();
        let pk: Vec<String> = columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect();
        if !pk.is_empty() {
            unique.push(pk);
        }
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT il.name, ii.name FROM pragma_index_list(?1) il \
                     JOIN pragma_index_info(il.name) ii WHERE il.\"unique\" ORDER BY il.name, ii.seqno",
                )
                .map_err(|e| db_error(&e))?;
            let rows = stmt
                .query_map([table], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| db_error(&e))?;
            let mut current: Option<(String, Vec<String>)> = None;
            for (index, column) in rows {
                match &mut current {
                    Some((name, cols)) if *name == index => cols.push(column),
                    _ => {
                        if let Some((_, cols)) = current.take() {
                            unique.push(cols);
                        }
                        current = Some((index, vec![column]));
                    }
                }
            }
            if let Some((_, cols)) = current {
                unique.push(cols);
            }
        }
        Ok(TableSchema {
            name: table.to_owned(),
            columns,
            unique,
        })
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN").map_err(|e| db_error(&e))
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(|e| db_error(&e))
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("ROLLBACK")
            .map_err(|e| db_error(&e))
    }

    fn fetch(
        &mut self,
        fetch: &Fetch<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        let scales: Vec<Option<u32>> = fetch
            .columns
            .iter()
            .map(|(c, kind)| match kind {
                ValueKind::Decimal => self.decimal_scale(fetch.table, c),
                _ => None,
            })
            .collect();
        let select = fetch
            .columns
            .iter()
            .map(|(c, _)| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let width = fetch.key_columns.len().max(1);
        let key_expr = if width == 1 {
            quote(&fetch.key_columns[0])
        } else {
            format!(
                "({})",
                fetch
                    .key_columns
                    .iter()
                    .map(|c| quote(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut out = Vec::new();
        for chunk in keys.chunks((MAX_PARAMS / width).max(1)) {
            let tuple = if width == 1 {
                "?".to_owned()
            } else {
                format!("({})", vec!["?"; width].join(", "))
            };
            let list = if width == 1 {
                vec![tuple; chunk.len()].join(", ")
            } else {
                format!("VALUES {}", vec![tuple; chunk.len()].join(", "))
            };
            let sql = format!(
                "SELECT {select} FROM {} WHERE {key_expr} IN ({list})",
                quote(fetch.table)
            );
            let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| db_error(&e))?;
            let params = chunk.iter().flat_map(|k| k.iter().map(Bind));
            let mut rows = stmt
                .query(params_from_iter(params))
                .map_err(|e| db_error(&e))?;
            while let Some(row) = rows.next().map_err(|e| db_error(&e))? {
                let mut values = Vec::with_capacity(fetch.columns.len());
                for (i, (_, kind)) in fetch.columns.iter().enumerate() {
                    let v = row.get_ref(i).map_err(|e| db_error(&e))?;
                    values.push(read(v, *kind, scales[i]));
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
        let sql = if columns.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES", quote(table))
        } else {
            format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote(table),
                columns
                    .iter()
                    .map(|c| quote(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                vec!["?"; columns.len()].join(", ")
            )
        };
        // A new row's rowid is known without RETURNING, which costs SQLite a temporary
        // table per statement: a third of the time of a create, measured by callgrind.
        let by_rowid = returning.is_some_and(|r| self.rowid_alias(table) == Some(r));
        let sql = match returning {
            Some(r) if !by_rowid => format!("{sql} RETURNING {}", quote(r)),
            _ => sql,
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| db_error(&e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let params = params_from_iter(row.iter().map(Bind));
            let result = if by_rowid {
                stmt.execute(params)
                    .map(|_| Value::Int(self.conn.last_insert_rowid()))
            } else if returning.is_some() {
                stmt.query_row(params, |r| {
                    Ok(match r.get_ref(0)? {
                        ValueRef::Integer(i) => Value::Int(i),
                        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Real(f) => Value::Float(f),
                        _ => Value::Null,
                    })
                })
            } else {
                stmt.execute(params).map(|_| Value::Null)
            };
            out.push(result.map_err(|e| constraint_message(&e)));
        }
        Ok(out)
    }

    fn update(
        &mut self,
        table: &str,
        key_column: &str,
        columns: &[String],
        rows: &[(Value, Vec<Value>)],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = ?",
            quote(table),
            columns
                .iter()
                .map(|c| format!("{} = ?", quote(c)))
                .collect::<Vec<_>>()
                .join(", "),
            quote(key_column)
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| db_error(&e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (key, values) in rows {
            let params = params_from_iter(values.iter().chain(std::iter::once(key)).map(Bind));
            out.push(
                stmt.execute(params)
                    .map(|_| ())
                    .map_err(|e| constraint_message(&e)),
            );
        }
        Ok(out)
    }

    fn delete(
        &mut self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE {}",
            quote(table),
            key_columns
                .iter()
                .map(|c| format!("{} = ?", quote(c)))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| db_error(&e))?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let params = params_from_iter(key.iter().map(Bind));
            out.push(
                stmt.execute(params)
                    .map(|_| ())
                    .map_err(|e| constraint_message(&e)),
            );
        }
        Ok(out)
    }

    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let base = quote(&scan.table);
        let mut select = Vec::new();
        let mut joins = Vec::new();
        let mut scales = Vec::new();
        for (i, column) in scan.columns.iter().enumerate() {
            match column {
                ScanColumn::Column { name, kind } => {
                    select.push(format!("t.{}", quote(name)));
                    scales.push(match kind {
                        ValueKind::Decimal => self.decimal_scale(&scan.table, name),
                        _ => None,
                    });
                }
                ScanColumn::Related {
                    fk_column,
                    table,
                    key,
                    column,
                    kind,
                } => {
                    let alias = format!("j{i}");
                    joins.push(format!(
                        "LEFT JOIN {} {alias} ON {alias}.{} = t.{}",
                        quote(table),
                        quote(key),
                        quote(fk_column)
                    ));
                    select.push(format!("{alias}.{}", quote(column)));
                    scales.push(match kind {
                        ValueKind::Decimal => self.decimal_scale(table, column),
                        _ => None,
                    });
                }
                ScanColumn::Linked {
                    link,
                    owner_key,
                    table,
                    key,
                    column,
                    ..
                } => {
                    // One correlated, index-backed subquery inside the same statement;
                    // the list keeps link order and arrives as JSON.
                    select.push(format!(
                        "(SELECT json_group_array(c.{col} ORDER BY l.rowid) FROM {link} l \
                         JOIN {target} c ON c.{key} = l.{target_col} WHERE l.{owner_col} = t.{owner_key})",
                        col = quote(column),
                        link = quote(&link.table),
                        target = quote(table),
                        key = quote(key),
                        target_col = quote(&link.target_column),
                        owner_col = quote(&link.owner_column),
                        owner_key = quote(owner_key),
                    ));
                    scales.push(None);
                }
            }
        }
        let order = scan
            .order_by
            .iter()
            .map(|c| format!("t.{}", quote(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {} FROM {base} t {} {}",
            select.join(", "),
            joins.join(" "),
            if order.is_empty() {
                String::new()
            } else {
                format!("ORDER BY {order}")
            }
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| db_error(&e))?;
        let mut rows = stmt.query([]).map_err(|e| db_error(&e))?;
        while let Some(row) = rows.next().map_err(|e| db_error(&e))? {
            let mut values = Vec::with_capacity(scan.columns.len());
            for (i, column) in scan.columns.iter().enumerate() {
                let raw = row.get_ref(i).map_err(|e| db_error(&e))?;
                values.push(match column {
                    ScanColumn::Column { kind, .. } | ScanColumn::Related { kind, .. } => {
                        read(raw, *kind, scales[i])
                    }
                    ScanColumn::Linked { kind, .. } => {
                        let text = match raw {
                            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                            _ => "[]".to_owned(),
                        };
                        let items: Vec<serde_json::Value> =
                            serde_json::from_str(&text).unwrap_or_default();
                        Value::List(
                            items
                                .into_iter()
                                .map(|item| {
                                    let v = match item {
                                        serde_json::Value::Null => Value::Null,
                                        serde_json::Value::String(s) => Value::Text(s),
                                        serde_json::Value::Number(n) => match n.as_i64() {
                                            Some(i) => Value::Int(i),
                                            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                                        },
                                        other => Value::Text(other.to_string()),
                                    };
                                    v.coerce(*kind)
                                })
                                .collect(),
                        )
                    }
                });
            }
            sink(values)?;
        }
        Ok(())
    }
}

/// A refused row write in the user's terms.
fn constraint_message(e: &rusqlite::Error) -> String {
    let text = message(e);
    if let Some(column) = text.strip_prefix("NOT NULL constraint failed: ") {
        format!("a value is required for {column} (NOT NULL)")
    } else if let Some(columns) = text.strip_prefix("UNIQUE constraint failed: ") {
        format!("another row already has this {columns} (UNIQUE)")
    } else if text.starts_with("FOREIGN KEY constraint failed") {
        "a related row does not exist (FOREIGN KEY)".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_kinds() {
        assert_eq!(kind_of("bool"), ValueKind::Bool);
        assert_eq!(kind_of("datetime"), ValueKind::DateTime);
        assert_eq!(kind_of("date"), ValueKind::Date);
        assert_eq!(kind_of("time"), ValueKind::Time);
        assert_eq!(kind_of("integer"), ValueKind::Int);
        assert_eq!(kind_of("bigint"), ValueKind::Int);
        assert_eq!(kind_of("decimal(10, 2)"), ValueKind::Decimal);
        assert_eq!(kind_of("real"), ValueKind::Float);
        assert_eq!(kind_of("varchar(100)"), ValueKind::Text);
        assert_eq!(kind_of(""), ValueKind::Text);
        assert_eq!(decimal_scale("decimal(10, 2)"), Some(2));
        assert_eq!(decimal_scale("varchar(10)"), None);
    }
}
