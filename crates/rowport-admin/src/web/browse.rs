//! The change list's reads: counts, one sorted and filtered page, distinct values for the
//! filters, and the keys an export of a filtered list keeps. The `Store` trait is shaped for
//! import and export, not for browsing, so this speaks SQL to the user's database directly,
//! rendering every value as text in the database (`CAST … AS TEXT`).

use std::collections::HashSet;

use rowport::store::{StoreError, StoreErrorKind, TableSchema};
use rowport::ValueKind;
use rowport_sql::DatabaseUrl;

/// The sentinel a filter uses for "is NULL".
pub const NULL_FILTER: &str = "\u{2205}";

/// What the change list shows: search text, column filters, selected keys, order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Text searched (case-insensitively) in every text column.
    pub search: String,
    /// `column = value` filters (value [`NULL_FILTER`] for NULL).
    pub filters: Vec<(String, String)>,
    /// Only these primary keys (as text), for "Export selected".
    pub selected: Option<Vec<String>>,
    /// The column to sort by, and whether descending.
    pub order: Option<(String, bool)>,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
    Mysql(mysql::PooledConn),
}

/// A read-only connection to the user's database for browsing.
pub struct Browser {
    conn: Conn,
}

#[derive(Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

fn db_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Database, e.to_string())
}

impl Browser {
    /// Connects to the database `url` names.
    pub fn open(url: &str) -> Result<Browser, StoreError> {
        let conn = match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                if !path.exists() {
                    return Err(StoreError::new(
                        StoreErrorKind::Connection,
                        format!("database file {} does not exist", path.display()),
                    ));
                }
                let c = rusqlite::Connection::open(&path).map_err(db_error)?;
                c.busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(db_error)?;
                Conn::Sqlite(c)
            }
            DatabaseUrl::SqliteMemory => {
                Conn::Sqlite(rusqlite::Connection::open_in_memory().map_err(db_error)?)
            }
            DatabaseUrl::Postgres(url) => Conn::Postgres(Box::new(
                postgres::Client::connect(&url, postgres::NoTls)
                    .map_err(|e| StoreError::new(StoreErrorKind::Connection, e.to_string()))?,
            )),
            DatabaseUrl::Mysql(url) => {
                let url = match url.strip_prefix("mariadb://") {
                    Some(rest) => format!("mysql://{rest}"),
                    None => url,
                };
                let opts = mysql::Opts::from_url(&url)
                    .map_err(|e| StoreError::new(StoreErrorKind::Config, e.to_string()))?;
                let pool = mysql::Pool::new(opts)
                    .map_err(|e| StoreError::new(StoreErrorKind::Connection, e.to_string()))?;
                Conn::Mysql(
                    pool.get_conn()
                        .map_err(|e| StoreError::new(StoreErrorKind::Connection, e.to_string()))?,
                )
            }
        };
        Ok(Browser { conn })
    }

    fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
            Conn::Mysql(_) => Dialect::Mysql,
        }
    }

    fn quote(&self, ident: &str) -> String {
        match self.dialect() {
            Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    fn text(&self, ident: &str) -> String {
        let q = self.quote(ident);
        match self.dialect() {
            Dialect::Sqlite => format!("CAST({q} AS TEXT)"),
            Dialect::Postgres => format!("{q}::text"),
            Dialect::Mysql => format!("CAST({q} AS CHAR)"),
        }
    }

    /// Runs `sql` (placeholders written `?`) with text parameters; every result column is
    /// read as optional text.
    fn rows(
        &mut self,
        sql: &str,
        params: &[String],
    ) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        match &mut self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare(sql).map_err(db_error)?;
                let n = stmt.column_count();
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                        (0..n)
                            .map(|i| r.get::<_, Option<String>>(i))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(db_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
            }
            Conn::Postgres(c) => {
                let mut n = 0;
                let sql: String = sql
                    .chars()
                    .map(|ch| {
                        if ch == '?' {
                            n += 1;
                            format!("${n}")
                        } else {
                            ch.to_string()
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as _).collect();
                let rows = c.query(sql.as_str(), &refs).map_err(db_error)?;
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.try_get::<_, Option<String>>(i).map_err(db_error))
                            .collect()
                    })
                    .collect()
            }
            Conn::Mysql(c) => {
                use mysql::prelude::Queryable;
                let values: Vec<mysql::Value> = params
                    .iter()
                    .map(|p| mysql::Value::from(p.as_str()))
                    .collect();
                let params = if values.is_empty() {
                    mysql::Params::Empty
                } else {
                    mysql::Params::Positional(values)
                };
                let rows: Vec<mysql::Row> = c.exec(sql, params).map_err(db_error)?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| match r.as_ref(i) {
                                None | Some(mysql::Value::NULL) => None,
                                Some(mysql::Value::Bytes(b)) => {
                                    Some(String::from_utf8_lossy(b).into_owned())
                                }
                                Some(v) => Some(v.as_sql(true).trim_matches('\'').to_owned()),
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    /// The number of rows in `table`.
    pub fn row_count(&mut self, table: &str) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT CAST(COUNT(*) AS {}) FROM {}",
            self.count_type(),
            self.quote(table)
        );
        let rows = self.rows(&sql, &[])?;
        Ok(first_number(&rows))
    }

    fn count_type(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => "TEXT",
            Dialect::Mysql => "CHAR",
        }
    }

    fn where_clause(&self, schema: &TableSchema, q: &Query, params: &mut Vec<String>) -> String {
        let mut parts = Vec::new();
        let search = q.search.trim();
        if !search.is_empty() {
            // MySQL's LIKE escapes with a backslash already, and '\' would be an
            // unterminated literal there.
            let (like, escape) = match self.dialect() {
                Dialect::Postgres => ("ILIKE", " ESCAPE '\\'"),
                Dialect::Sqlite => ("LIKE", " ESCAPE '\\'"),
                Dialect::Mysql => ("LIKE", ""),
            };
            let pattern = format!(
                "%{}%",
                search
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let columns: Vec<String> = schema
                .columns
                .iter()
                .filter(|c| matches!(c.kind, ValueKind::Text) || c.primary_key)
                .map(|c| {
                    params.push(pattern.clone());
                    format!("{} {like} ?{escape}", self.text(&c.name))
                })
                .collect();
            if !columns.is_empty() {
                parts.push(format!("({})", columns.join(" OR ")));
            }
        }
        for (column, value) in &q.filters {
            if schema.column(column).is_none() {
                continue;
            }
            if value == NULL_FILTER {
                parts.push(format!("{} IS NULL", self.quote(column)));
            } else {
                params.push(value.clone());
                parts.push(format!("{} = ?", self.text(column)));
            }
        }
        if let (Some(keys), Some(pk)) = (&q.selected, schema.primary_key()) {
            if keys.is_empty() {
                parts.push("1 = 0".into());
            } else {
                let marks = vec!["?"; keys.len()].join(", ");
                params.extend(keys.iter().cloned());
                parts.push(format!("{} IN ({marks})", self.text(&pk.name)));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", parts.join(" AND "))
        }
    }

    /// How many rows the query matches.
    pub fn count(&mut self, schema: &TableSchema, q: &Query) -> Result<u64, StoreError> {
        let mut params = Vec::new();
        let clause = self.where_clause(schema, q, &mut params);
        let sql = format!(
            "SELECT CAST(COUNT(*) AS {}) FROM {}{clause}",
            self.count_type(),
            self.quote(&schema.name)
        );
        Ok(first_number(&self.rows(&sql, &params)?))
    }

    /// One page of the query's rows, every column of the table as text, in schema order.
    pub fn page(
        &mut self,
        schema: &TableSchema,
        q: &Query,
        offset: u64,
        limit: usize,
    ) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        let mut params = Vec::new();
        let clause = self.where_clause(schema, q, &mut params);
        let columns: Vec<String> = schema.columns.iter().map(|c| self.text(&c.name)).collect();
        let order = match &q.order {
            Some((column, desc)) if schema.column(column).is_some() => {
                format!(
                    "{} {}",
                    self.quote(column),
                    if *desc { "DESC" } else { "ASC" }
                )
            }
            _ => String::new(),
        };
        let tie = schema
            .primary_key()
            .map(|pk| self.quote(&pk.name))
            .unwrap_or_else(|| self.quote(&schema.columns[0].name));
        let order = if order.is_empty() {
            tie
        } else {
            format!("{order}, {tie}")
        };
        let sql = format!(
            "SELECT {} FROM {}{clause} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            columns.join(", "),
            self.quote(&schema.name)
        );
        self.rows(&sql, &params)
    }

    /// The distinct values of `column`, when there are at most `max` (else `None`).
    pub fn distinct(
        &mut self,
        table: &str,
        column: &str,
        max: usize,
    ) -> Result<Option<Vec<Option<String>>>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT {} FROM {} LIMIT {}",
            self.text(column),
            self.quote(table),
            max + 1
        );
        let mut values: Vec<Option<String>> = self
            .rows(&sql, &[])?
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect();
        if values.len() > max {
            return Ok(None);
        }
        values.sort();
        Ok(Some(values))
    }

    /// The primary keys (as text) of every row the query matches.
    pub fn keys(&mut self, schema: &TableSchema, q: &Query) -> Result<HashSet<String>, StoreError> {
        let Some(pk) = schema.primary_key() else {
            return Ok(HashSet::new());
        };
        let mut params = Vec::new();
        let clause = self.where_clause(schema, q, &mut params);
        let sql = format!(
            "SELECT {} FROM {}{clause}",
            self.text(&pk.name),
            self.quote(&schema.name)
        );
        Ok(self
            .rows(&sql, &params)?
            .into_iter()
            .filter_map(|mut r| r.remove(0))
            .collect())
    }
}

fn first_number(rows: &[Vec<Option<String>>]) -> u64 {
    rows.first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
