//! [`MemoryStore`]: a [`Store`] that keeps tables in memory — for programs that validate a
//! file into records without a database, and for tests of the engines.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use rust_decimal::Decimal;

use crate::resource::Resource;

use crate::store::{
    ColumnSchema, CompareOp, Condition, Fetch, Join, RowWriteResult, Scan, ScanColumn, Store,
    StoreError, StoreErrorKind, TableSchema,
};
use crate::value::{Value, ValueKind};

#[derive(Debug, Clone)]
struct Table {
    schema: TableSchema,
    /// Rows by an internal sequence number, in insertion order.
    rows: BTreeMap<u64, Vec<Value>>,
    /// Each row's primary key and its sequence number, so that an insert or an update by
    /// key does not walk the table (which made reading a large file quadratic).
    by_key: HashMap<Value, u64>,
    next_row: u64,
    next_id: i64,
}

impl Table {
    fn reindex(&mut self) {
        self.by_key = self.rows.iter().map(|(n, r)| (r[0].clone(), *n)).collect();
    }
}

/// Tables in memory. The first column of each table is its primary key; an integer key is
/// assigned on insert when not given, counting up from 1 as a database's would.
///
/// Everything an import does runs against it — widgets, lookups, hooks, transactions (a
/// rollback restores the tables as they were at `begin`) — so a program can validate a file
/// without a database. [`read_all`](crate::read_all) uses one to read a file into `Vec<T>`.
///
/// ```
/// use rowport::memory::MemoryStore;
/// use rowport::formats::{open_reader, Format, ReadOptions};
/// use rowport::{import, ImportOptions, Resource, Store, Value, ValueKind};
///
/// let mut store = MemoryStore::new();
/// store.create_table("book", &[("id", ValueKind::Int), ("title", ValueKind::Text), ("pages", ValueKind::Int)]);
/// let book = Resource::from_schema("book", &store.describe("book")?).finish()?;
///
/// let csv = "title,pages\nDune,412\nEmma,many\n";
/// let mut reader = open_reader(Format::Csv, Box::new(csv.as_bytes()), "books.csv", &ReadOptions::default())?;
/// let options = ImportOptions { skip_invalid: true, ..ImportOptions::default() };
/// let result = import(&book, &mut store, reader.as_mut(), &options)?;
///
/// assert_eq!((result.totals.new, result.totals.invalid), (1, 1));
/// assert_eq!(store.rows("book"), [vec![Value::Int(1), Value::Text("Dune".into()), Value::Int(412)]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tables: HashMap<String, Table>,
    snapshot: Option<HashMap<String, Table>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a table; the first column is the primary key.
    pub fn create_table(&mut self, name: &str, columns: &[(&str, ValueKind)]) {
        let columns = columns
            .iter()
            .enumerate()
            .map(|(i, (n, kind))| ColumnSchema {
                nullable: i > 0,
                primary_key: i == 0,
                has_default: i == 0,
                ..ColumnSchema::new(n, "", *kind)
            })
            .collect();
        let schema = TableSchema {
            name: name.to_owned(),
            columns,
            unique: Vec::new(),
        };
        self.tables.insert(
            name.to_owned(),
            Table {
                schema,
                rows: BTreeMap::new(),
                by_key: HashMap::new(),
                next_row: 0,
                next_id: 1,
            },
        );
    }

    /// Creates the table a resource needs: its primary key first (the key field's kind, or
    /// an integer when no field holds it), then a nullable column for each field's
    /// attribute, of the kind its widget cleans to. Many-to-many fields get no column. An
    /// existing table of that name is replaced.
    ///
    /// ```
    /// use rowport::memory::MemoryStore;
    /// use rowport::{Resource, Store};
    ///
    /// let book = Resource::builder("book").field_of::<String>("title").import_id_fields(["title"]).build()?;
    /// let mut store = MemoryStore::new();
    /// store.create_table_for(&book);
    /// assert_eq!(store.columns("book"), ["id", "title"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_table_for(&mut self, resource: &Resource) {
        let stored = |f: &&crate::Field| !f.is_many_to_many();
        let key_kind = resource
            .fields
            .iter()
            .filter(stored)
            .find(|f| f.attribute == resource.primary_key)
            .map(|f| f.widget.kind())
            .unwrap_or(ValueKind::Int);
        let mut columns: Vec<(&str, ValueKind)> = vec![(&resource.primary_key, key_kind)];
        for field in resource.fields.iter().filter(stored) {
            if !columns.iter().any(|(n, _)| *n == field.attribute) {
                columns.push((&field.attribute, field.widget.kind()));
            }
        }
        self.create_table(&resource.table, &columns);
    }

    /// The column names of `table`, in order (empty when there is no such table).
    pub fn columns(&self, table: &str) -> Vec<String> {
        self.tables
            .get(table)
            .map(|t| t.schema.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Declares that `column` of `table` refers to `target`'s primary key.
    pub fn add_foreign_key(&mut self, table: &str, column: &str, target: &str) {
        let target_key = self
            .tables
            .get(target)
            .and_then(|t| t.schema.primary_key())
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "id".into());
        if let Some(c) = self
            .tables
            .get_mut(table)
            .and_then(|t| t.schema.columns.iter_mut().find(|c| c.name == column))
        {
            c.foreign_key = Some((target.to_owned(), target_key));
        }
    }

    /// Every row of `table`, each as its column values in order.
    pub fn rows(&self, table: &str) -> Vec<Vec<Value>> {
        self.tables
            .get(table)
            .map(|t| t.rows.values().cloned().collect())
            .unwrap_or_default()
    }

    fn table(&mut self, name: &str) -> Result<&mut Table, StoreError> {
        self.tables.get_mut(name).ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::NotFound,
                format!("table \"{name}\" not found"),
            )
        })
    }
}

fn positions(schema: &TableSchema, names: &[String]) -> Result<Vec<usize>, StoreError> {
    names
        .iter()
        .map(|n| {
            schema
                .columns
                .iter()
                .position(|c| &c.name == n)
                .ok_or_else(|| {
                    StoreError::new(
                        StoreErrorKind::NotFound,
                        format!("table \"{}\" has no column \"{n}\"", schema.name),
                    )
                })
        })
        .collect()
}

impl Store for MemoryStore {
    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self.tables.keys().cloned().collect();
        names.sort();
        Ok(names)
    }

    fn describe(&mut self, table: &str) -> Result<TableSchema, StoreError> {
        Ok(self.table(table)?.schema.clone())
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.snapshot = Some(self.tables.clone());
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.snapshot = None;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if let Some(tables) = self.snapshot.take() {
            self.tables = tables;
        }
        Ok(())
    }

    fn fetch(
        &mut self,
        fetch: &Fetch<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        let table = self.table(fetch.table)?;
        let key_pos = positions(&table.schema, fetch.key_columns)?;
        let names: Vec<String> = fetch.columns.iter().map(|(n, _)| n.clone()).collect();
        let col_pos = positions(&table.schema, &names)?;
        let filter_names: Vec<String> =
            fetch.filter.iter().map(|c| c.column().to_owned()).collect();
        let filter_pos = positions(&table.schema, &filter_names)?;
        let wanted: HashSet<&Vec<Value>> = keys.iter().collect();
        let mut out = Vec::new();
        for row in table.rows.values() {
            let key: Vec<Value> = key_pos.iter().map(|&p| row[p].clone()).collect();
            let passes = fetch
                .filter
                .iter()
                .zip(&filter_pos)
                .all(|(c, &p)| c.holds(&row[p]));
            if passes && wanted.contains(&key) {
                out.push(
                    col_pos
                        .iter()
                        .zip(fetch.columns)
                        .map(|(&p, (_, kind))| row[p].clone().coerce(*kind))
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
        let table = self.table(table)?;
        let pos = positions(&table.schema, columns)?;
        let ret = match returning {
            Some(r) => Some(positions(&table.schema, &[r.to_owned()])?[0]),
            None => None,
        };
        let width = table.schema.columns.len();
        let mut out = Vec::with_capacity(rows.len());
        for values in rows {
            let mut row = vec![Value::Null; width];
            for (&p, v) in pos.iter().zip(values) {
                row[p] = v.clone();
            }
            match &row[0] {
                Value::Null => {
                    row[0] = Value::Int(table.next_id);
                    table.next_id += 1;
                }
                Value::Int(i) => table.next_id = table.next_id.max(i + 1),
                _ => {}
            }
            if table.by_key.contains_key(&row[0]) {
                out.push(Err(format!("a row with key {} already exists", row[0])));
                continue;
            }
            out.push(Ok(ret.map(|p| row[p].clone()).unwrap_or_default()));
            table.by_key.insert(row[0].clone(), table.next_row);
            table.rows.insert(table.next_row, row);
            table.next_row += 1;
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
        let table = self.table(table)?;
        let key = positions(&table.schema, &[key_column.to_owned()])?[0];
        let pos = positions(&table.schema, columns)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, values) in rows {
            let set = |row: &mut Vec<Value>| {
                for (&p, v) in pos.iter().zip(values) {
                    row[p] = v.clone();
                }
            };
            if key == 0 {
                if let Some(row) = table.by_key.get(k).and_then(|n| table.rows.get_mut(n)) {
                    set(row);
                }
            } else {
                table
                    .rows
                    .values_mut()
                    .filter(|r| &r[key] == k)
                    .for_each(set);
            }
            out.push(Ok(()));
        }
        if pos.contains(&0) {
            table.reindex();
        }
        Ok(out)
    }

    fn delete(
        &mut self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        let table = self.table(table)?;
        let pos = positions(&table.schema, key_columns)?;
        let wanted: HashSet<&Vec<Value>> = keys.iter().collect();
        table.rows.retain(|_, row| {
            let key: Vec<Value> = pos.iter().map(|&p| row[p].clone()).collect();
            !wanted.contains(&key)
        });
        table.reindex();
        Ok(vec![Ok(()); keys.len()])
    }

    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tables = &self.tables;
        let table = lookup(tables, &scan.table)?;
        let mut rows: Vec<&Vec<Value>> = Vec::new();
        for row in table.rows.values() {
            let mut pass = true;
            for filter in &scan.filter {
                let (t, r) = follow(tables, table, row, &filter.joins)?;
                let value = match r {
                    Some(r) => {
                        let column = condition_column(&filter.condition);
                        &r[pos_of(t, column)?]
                    }
                    None => &Value::Null,
                };
                if !holds(&filter.condition, value) {
                    pass = false;
                    break;
                }
            }
            if pass {
                rows.push(row);
            }
        }
        let mut keys: Vec<Vec<Value>> = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut key = Vec::with_capacity(scan.order_by.len());
            for order in &scan.order_by {
                let (t, r) = follow(tables, table, row, &order.joins)?;
                key.push(match r {
                    Some(r) => r[pos_of(t, &order.column)?].clone(),
                    None => Value::Null,
                });
            }
            keys.push(key);
        }
        let mut indices: Vec<usize> = (0..rows.len()).collect();
        indices.sort_by(|&a, &b| {
            for (i, order) in scan.order_by.iter().enumerate() {
                let o = order_values(&keys[a][i], &keys[b][i]);
                let o = if order.descending { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        let skip = usize::try_from(scan.offset).unwrap_or(usize::MAX);
        let take = scan
            .limit
            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        for &i in indices.iter().skip(skip).take(take) {
            let row = rows[i];
            let mut out = Vec::with_capacity(scan.columns.len());
            for column in &scan.columns {
                out.push(match column {
                    ScanColumn::Column { name, kind } => {
                        row[pos_of(table, name)?].clone().coerce(*kind)
                    }
                    ScanColumn::Related {
                        joins,
                        column,
                        kind,
                    } => match follow(tables, table, row, joins)? {
                        (t, Some(r)) => r[pos_of(t, column)?].clone().coerce(*kind),
                        (_, None) => Value::Null,
                    },
                    ScanColumn::Linked {
                        link,
                        owner_key,
                        table: t,
                        key,
                        column,
                        kind,
                    } => {
                        let owner = &row[pos_of(table, owner_key)?];
                        let links = lookup(tables, &link.table)?;
                        let (op, tp) = (
                            pos_of(links, &link.owner_column)?,
                            pos_of(links, &link.target_column)?,
                        );
                        let target = lookup(tables, t)?;
                        let (kp, cp) = (pos_of(target, key)?, pos_of(target, column)?);
                        let items = links
                            .rows
                            .values()
                            .filter(|l| &l[op] == owner)
                            .filter_map(|l| target.rows.values().find(|r| r[kp] == l[tp]))
                            .map(|r| r[cp].clone().coerce(*kind))
                            .collect();
                        Value::List(items)
                    }
                });
            }
            sink(out)?;
        }
        Ok(())
    }
}

fn lookup<'t>(tables: &'t HashMap<String, Table>, name: &str) -> Result<&'t Table, StoreError> {
    tables.get(name).ok_or_else(|| {
        StoreError::new(
            StoreErrorKind::NotFound,
            format!("table \"{name}\" not found"),
        )
    })
}

fn pos_of(t: &Table, name: &str) -> Result<usize, StoreError> {
    positions(&t.schema, &[name.to_owned()]).map(|p| p[0])
}

/// The row reached from `row` of `table` through `joins` (`None` when a key on the way is
/// null or dangling), with its table.
fn follow<'t>(
    tables: &'t HashMap<String, Table>,
    table: &'t Table,
    row: &'t Vec<Value>,
    joins: &[Join],
) -> Result<(&'t Table, Option<&'t Vec<Value>>), StoreError> {
    let (mut table, mut row) = (table, Some(row));
    for join in joins {
        let next = lookup(tables, &join.table)?;
        let fk = match row {
            Some(r) => r[pos_of(table, &join.fk_column)?].clone(),
            None => Value::Null,
        };
        let kp = pos_of(next, &join.key)?;
        row = if fk.is_null() {
            None
        } else {
            next.rows.values().find(|r| r[kp] == fk)
        };
        table = next;
    }
    Ok((table, row))
}

fn condition_column(condition: &Condition) -> &str {
    match condition {
        Condition::Compare { column, .. }
        | Condition::IsNull { column, .. }
        | Condition::In { column, .. } => column,
    }
}

/// Whether `value` passes `condition`, with SQL's rule that a comparison with null fails.
fn holds(condition: &Condition, value: &Value) -> bool {
    match condition {
        Condition::IsNull { negated, .. } => value.is_null() != *negated,
        Condition::In { values, .. } => {
            !value.is_null()
                && values
                    .iter()
                    .any(|v| compare(value, v) == Some(Ordering::Equal))
        }
        Condition::Compare { op, value: v, .. } => match compare(value, v) {
            None => false,
            Some(o) => match op {
                CompareOp::Eq => o == Ordering::Equal,
                CompareOp::Ne => o != Ordering::Equal,
                CompareOp::Lt => o == Ordering::Less,
                CompareOp::Le => o != Ordering::Greater,
                CompareOp::Gt => o == Ordering::Greater,
                CompareOp::Ge => o != Ordering::Less,
            },
        },
    }
}

/// Orders two values for a sort: nulls first, then by [`compare`], then by their text.
fn order_values(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => compare(a, b).unwrap_or_else(|| a.to_string().cmp(&b.to_string())),
    }
}

/// Compares two non-null values of comparable kinds (numbers with numbers, whatever their
/// representation); `None` for a null or kinds that do not compare.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    let number = |v: &Value| -> Option<Decimal> {
        match v {
            Value::Int(i) => Some(Decimal::from(*i)),
            Value::Decimal(d) => Some(*d),
            Value::Float(f) => Decimal::try_from(*f).ok(),
            _ => None,
        }
    };
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y)) => Some(x.cmp(y)),
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.cmp(y)),
        (Value::DateTimeTz(x), Value::DateTimeTz(y)) => Some(x.cmp(y)),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Uuid(x), Value::Uuid(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => (a == b).then_some(Ordering::Equal),
        },
    }
}
