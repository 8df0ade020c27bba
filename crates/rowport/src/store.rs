//! The [`Store`] trait: what the engines ask of a database, always a batch at a time.
//!
//! Seven verbs are enough for import and export with relations: describe a table, fetch rows
//! by keys, insert, update and delete batches, scan for export, and transactions. A store
//! answers each call for a whole batch; how it does that (one statement, a prepared
//! statement run per row inside an embedded database, `COPY`) is its own business.

use crate::value::{Value, ValueKind};
use crate::widgets::LinkTable;

/// A column as the database declares it.
///
/// Build one with struct update syntax from [`ColumnSchema::new`] (or `Default`), so that
/// later additions do not break the stores that introspect.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnSchema {
    /// The column's name.
    pub name: String,
    /// The type as declared (`varchar(100)`, `decimal(10,2)`).
    pub declared_type: String,
    /// What kind of value the column holds.
    pub kind: ValueKind,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Filled by the database when not given (a default or an auto-increment key).
    pub has_default: bool,
    /// The default as the database declares it (`nextval('book_id_seq'::regclass)`,
    /// `0`), for people to read; `has_default` is what the engines use.
    pub default_sql: Option<String>,
    /// The table and column a declared foreign key points to.
    pub foreign_key: Option<(String, String)>,
    /// The only values the column accepts (the labels of an enum type), when it has such a
    /// list. An import value outside it is an invalid field that lists them.
    pub choices: Option<Vec<String>>,
    /// For an array column (kind [`ValueKind::List`]), the kind of its items.
    pub array_of: Option<ValueKind>,
    /// For a date-time column: it holds instants (PostgreSQL `timestamptz`), so a date and
    /// time without an offset is read as UTC, as Django does with `USE_TZ`.
    pub with_time_zone: bool,
    /// The most characters a text column holds (`varchar(100)`, `character varying(100)`,
    /// `char(2)`), read from the declared type by [`ColumnSchema::new`].
    /// `clean_model_instances` refuses longer values before writing, as Django's
    /// `max_length` does, also in SQLite, which does not enforce it.
    pub max_length: Option<usize>,
}

impl ColumnSchema {
    /// A nullable column of `kind` without a default, key or constraint (its
    /// `max_length` read from `declared_type`).
    pub fn new(name: &str, declared_type: &str, kind: ValueKind) -> Self {
        ColumnSchema {
            name: name.to_owned(),
            declared_type: declared_type.to_owned(),
            kind,
            nullable: true,
            max_length: max_length_of(declared_type),
            ..ColumnSchema::default()
        }
    }
}

/// The length in `varchar(100)`, `character varying(100)`, `nvarchar(20)`, `char(2)`.
fn max_length_of(declared: &str) -> Option<usize> {
    let lower = declared.trim().to_ascii_lowercase();
    let open = lower.find('(')?;
    let base = lower[..open].trim();
    let text_type = matches!(
        base,
        "varchar"
            | "character varying"
            | "char"
            | "character"
            | "nvarchar"
            | "nchar"
            | "varchar2"
            | "nvarchar2"
            | "varying character"
            | "native character"
    );
    if !text_type {
        return None;
    }
    let close = lower[open..].find(')')? + open;
    lower[open + 1..close].trim().parse().ok()
}

/// A table as the database declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// The table's name.
    pub name: String,
    /// Its columns, in declaration order.
    pub columns: Vec<ColumnSchema>,
    /// Column sets with a unique constraint (the primary key included).
    pub unique: Vec<Vec<String>>,
}

impl TableSchema {
    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The primary key column (the first, for a composite key).
    pub fn primary_key(&self) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.primary_key)
    }
}

/// A request to read rows by key: `SELECT columns FROM table WHERE key_columns IN keys`.
#[derive(Debug, Clone, Copy)]
pub struct Fetch<'a> {
    /// The table.
    pub table: &'a str,
    /// The columns the keys are matched against.
    pub key_columns: &'a [String],
    /// The columns to return, each converted to its kind.
    pub columns: &'a [(String, ValueKind)],
}

/// One column of an export scan.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanColumn {
    /// A column of the table itself.
    Column {
        /// Column name.
        name: String,
        /// Kind to convert it to.
        kind: ValueKind,
    },
    /// A column of the row a foreign key points to (`author.name` for `book.author_id`).
    Related {
        /// The foreign key column in the scanned table.
        fk_column: String,
        /// The related table.
        table: String,
        /// Its key column, which `fk_column` holds.
        key: String,
        /// The column wanted.
        column: String,
        /// Kind to convert it to.
        kind: ValueKind,
    },
    /// A column of every row linked through a link table, as a [`Value::List`].
    Linked {
        /// The link table.
        link: LinkTable,
        /// The scanned table's key that the link's owner column holds.
        owner_key: String,
        /// The target table.
        table: String,
        /// Its key column, which the link's target column holds.
        key: String,
        /// The column wanted from each target.
        column: String,
        /// Kind to convert each item to.
        kind: ValueKind,
    },
}

/// A request to stream rows out of a table for export, ordered by `order_by`.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The table.
    pub table: String,
    /// What to read for each row.
    pub columns: Vec<ScanColumn>,
    /// The columns to order by (the primary key, by default).
    pub order_by: Vec<String>,
}

/// Why a store call failed.
/// A condition on one column of a table: a relation's lookup narrowed by a filter, an
/// export narrowed by `--where`. Conditions in a list all hold (AND).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `column <op> value`.
    Compare {
        /// The column.
        column: String,
        /// How it compares.
        op: CompareOp,
        /// With what.
        value: Value,
    },
    /// `column IS NULL`, or `IS NOT NULL` when negated.
    IsNull {
        /// The column.
        column: String,
        /// True for `IS NOT NULL`.
        negated: bool,
    },
    /// `column IN (values…)`.
    In {
        /// The column.
        column: String,
        /// The values.
        values: Vec<Value>,
    },
}

/// The comparison of a [`Condition::Compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A database failure or refusal, in the user's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// One sentence, in the user's terms.
    pub message: String,
    /// What kind of failure it is.
    pub kind: StoreErrorKind,
}

/// The kinds of store failure, which decide exit codes and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The database could not be reached or opened.
    Connection,
    /// A table or column does not exist.
    NotFound,
    /// Anything else the database refused.
    Database,
    /// The database was named wrongly (a malformed or unsupported URL).
    Config,
}

impl StoreError {
    /// A store error of `kind`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            kind,
        }
    }
}

/// One row's write that the database refused (a constraint, a type), while the batch went on.
pub type RowWriteResult<T> = Result<T, String>;

/// What the engines ask of a database. Every call takes a whole batch.
pub trait Store {
    /// Names of the tables a default resource can be made from.
    fn table_names(&mut self) -> Result<Vec<String>, StoreError>;

    /// The table's columns, keys and foreign keys.
    fn describe(&mut self, table: &str) -> Result<TableSchema, StoreError>;

    /// Starts the transaction that an import runs in.
    fn begin(&mut self) -> Result<(), StoreError>;

    /// Commits it.
    fn commit(&mut self) -> Result<(), StoreError>;

    /// Rolls it back.
    fn rollback(&mut self) -> Result<(), StoreError>;

    /// The rows among `rows` that a CHECK constraint of `table` refuses, as (index in
    /// `rows`, the constraint as declared), without writing anything. Columns of the table
    /// that `columns` does not name count as NULL (so a check on them passes, as SQL's
    /// CHECK does on NULL). Used by `clean_model_instances`; the default knows no checks.
    fn check_rows(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<Vec<(usize, String)>, StoreError> {
        let _ = (table, columns, rows);
        Ok(Vec::new())
    }

    /// Rows whose key columns equal one of `keys`, each with `fetch.columns` in order.
    fn fetch(
        &mut self,
        fetch: &Fetch<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, StoreError>;

    /// Inserts rows; with `returning`, reports each new row's value of that column (its
    /// generated key). A row the database refuses gets its own error; the others go on.
    fn insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
        returning: Option<&str>,
    ) -> Result<Vec<RowWriteResult<Value>>, StoreError>;

    /// Sets `columns` on the rows whose `key_column` equals each row's key.
    fn update(
        &mut self,
        table: &str,
        key_column: &str,
        columns: &[String],
        rows: &[(Value, Vec<Value>)],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError>;

    /// Deletes the rows whose `key_columns` equal each of `keys`.
    fn delete(
        &mut self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError>;

    /// Streams the rows of a scan to `sink`, one at a time, in order.
    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}
