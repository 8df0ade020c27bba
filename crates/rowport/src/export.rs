//! The export engine: scan the store once, with the filters and the order pushed down into
//! it, render each value with its field's widget, stream the rows to a writer. Related
//! values (an author's name, a publisher's name two joins away, a book's category names)
//! come from joins in the same scan, never from a query per row.
//!
//! ```
//! use rowport::export::{export, ExportOptions, Filter};
//! use rowport::memory::MemoryStore;
//! use rowport::{Resource, ValueKind};
//! use rowport_formats::{open_writer, Format, WriteOptions};
//!
//! let mut store = MemoryStore::new();
//! store.create_table("book", &[("id", ValueKind::Int), ("name", ValueKind::Text), ("price", ValueKind::Decimal)]);
//! # use rowport::Store;
//! # store.insert("book", &["name".into(), "price".into()], &[
//! #     vec!["Dune".into(), rust_decimal::Decimal::new(1250, 2).into()],
//! #     vec!["Emma".into(), rust_decimal::Decimal::new(550, 2).into()],
//! # ], None).unwrap();
//! let schema = store.describe("book").unwrap();
//! let book = Resource::from_schema("book", &schema).finish().unwrap();
//! let options = ExportOptions {
//!     fields: Some(vec!["name".into(), "price".into()]),
//!     filters: vec!["price>=10".parse().unwrap()],
//!     order_by: vec!["-name".into()],
//!     ..ExportOptions::default()
//! };
//! let mut out = Vec::new();
//! let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
//! let rows = export(&book, &mut store, writer, &options).unwrap();
//! assert_eq!(rows, 1);
//! assert_eq!(String::from_utf8(out).unwrap(), "name,price\nDune,12.50\n");
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rowport_formats::{Cell, FormatError, RowWriter};

use crate::field::{template_message, Dehydrate, Field, PATH_SEPARATOR};
use crate::hooks::{Context, HookError};
use crate::record::Record;
use crate::resource::Resource;
use crate::store::{
    ColumnSchema, CompareOp, Condition, Join, Scan, ScanColumn, ScanFilter, ScanOrder, Store,
    StoreError, StoreErrorKind,
};
use crate::value::Value;
use crate::widgets::{self, RelationKind, Widget};

/// How one export runs.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only these fields, by field name or column header, in this order. `None`: every
    /// export field in export order.
    pub fields: Option<Vec<String>>,
    /// Conditions that every exported row meets, pushed down into the store's query.
    pub filters: Vec<Filter>,
    /// A condition in Rust over the exported record, checked after the scan. With it, the
    /// offset and limit count the rows it keeps.
    pub record_filter: Option<RecordFilter>,
    /// The order: field names, column names or relation paths, each `-` first for
    /// descending (`["-published", "name"]`). The primary key always ends it.
    pub order_by: Vec<String>,
    /// Rows skipped first (for a page of a list).
    pub offset: u64,
    /// The most rows exported.
    pub limit: Option<u64>,
    /// What the hooks are told.
    pub context: Context,
}

/// A condition in Rust over the exported record (see [`ExportOptions::record_filter`]):
/// true keeps the row.
#[derive(Clone)]
pub struct RecordFilter(pub Arc<dyn Fn(&Record) -> bool + Send + Sync>);

impl RecordFilter {
    /// Wraps a closure.
    pub fn new(f: impl Fn(&Record) -> bool + Send + Sync + 'static) -> Self {
        RecordFilter(Arc::new(f))
    }
}

impl fmt::Debug for RecordFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordFilter(..)")
    }
}

/// One condition of an export: a field (or column, or relation path such as
/// `author__name`), a comparison, and a value written as in a file, which the field's
/// widget cleans (so `price>=10` compares decimals, `published<2000-01-01` dates).
///
/// Parse one from the CLI's form, `FIELD OP VALUE` with OP one of `= != < <= > >=`
/// (`<>` is `!=`). An empty value with `=` means null, with `!=` not null.
///
/// ```
/// use rowport::export::{Filter, FilterOp};
///
/// let filter: Filter = "author__name=Frank Herbert".parse().unwrap();
/// assert_eq!(filter.field, "author__name");
/// assert_eq!(filter.op, FilterOp::Eq);
/// assert_eq!(filter.value, "Frank Herbert");
/// assert!("price".parse::<Filter>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// A field's name or column header, a table column, or a relation path.
    pub field: String,
    /// The comparison.
    pub op: FilterOp,
    /// The value, as text.
    pub value: String,
}

/// The comparison of a [`Filter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// `=`
    Eq,
    /// `!=`
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

impl Filter {
    /// A condition `field op value`.
    pub fn new(field: &str, op: FilterOp, value: &str) -> Self {
        Filter {
            field: field.to_owned(),
            op,
            value: value.to_owned(),
        }
    }

    /// The filter as it is written (`price>=10`).
    pub fn expression(&self) -> String {
        format!("{}{}{}", self.field, self.op.symbol(), self.value)
    }
}

impl FilterOp {
    /// The operator as it is written (`>=`).
    fn symbol(self) -> &'static str {
        match self {
            FilterOp::Eq => "=",
            FilterOp::Ne => "!=",
            FilterOp::Lt => "<",
            FilterOp::Le => "<=",
            FilterOp::Gt => ">",
            FilterOp::Ge => ">=",
        }
    }
}

/// A filter expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{expression}\" is not a condition (expected FIELD OP VALUE with OP one of = != < <= > >=, e.g. \"price>=10\")")]
pub struct FilterSyntaxError {
    /// The expression.
    pub expression: String,
}

impl FromStr for Filter {
    type Err = FilterSyntaxError;

    fn from_str(expression: &str) -> Result<Self, Self::Err> {
        let error = || FilterSyntaxError {
            expression: expression.to_owned(),
        };
        let start = expression.find(['=', '!', '<', '>']).ok_or_else(error)?;
        let rest = &expression[start..];
        let (op, len) = [
            (">=", FilterOp::Ge),
            ("<=", FilterOp::Le),
            ("!=", FilterOp::Ne),
            ("<>", FilterOp::Ne),
            ("=", FilterOp::Eq),
            ("<", FilterOp::Lt),
            (">", FilterOp::Gt),
        ]
        .iter()
        .find(|(text, _)| rest.starts_with(text))
        .map(|(text, op)| (*op, text.len()))
        .ok_or_else(error)?;
        let field = expression[..start].trim();
        if field.is_empty() {
            return Err(error());
        }
        Ok(Filter {
            field: field.to_owned(),
            op,
            value: rest[len..].trim().to_owned(),
        })
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the file failed.
    #[error(transparent)]
    Write(#[from] FormatError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A hook refused.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// `fields` names a field the resource does not have.
    #[error("resource \"{resource}\" has no field \"{field}\" (fields: {known})")]
    UnknownField {
        /// The resource.
        resource: String,
        /// The unknown name.
        field: String,
        /// The fields there are.
        known: String,
    },
    /// A filter names something the resource cannot filter on, or a value its widget
    /// refuses.
    #[error("filter \"{expression}\": {message}")]
    Filter {
        /// The filter as written.
        expression: String,
        /// What is wrong, with the fields there are.
        message: String,
    },
    /// An order key names something the resource cannot order by.
    #[error("order \"{key}\": {message}")]
    Order {
        /// The key as written.
        key: String,
        /// What is wrong, with the fields there are.
        message: String,
    },
    /// A field's relation path or dehydrate does not fit the database, or its template
    /// failed on a row.
    #[error("field \"{field}\": {message}")]
    Field {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// Where a name (a field, a column, a relation path) is read from in a scan.
enum Target<'r> {
    /// A column of the table or of a table reached through foreign keys; with `json_keys`,
    /// a JSON column whose document is read at those keys (`data__address__city`).
    Column {
        joins: Vec<Join>,
        column: String,
        json_keys: Vec<String>,
        widget: Arc<dyn Widget>,
    },
    /// A many-to-many field's list.
    Linked(&'r Field),
    /// A computed field.
    Dehydrated,
}

/// Where a relation path ends (see [`resolve_path`]).
#[derive(Debug, Clone)]
pub struct PathEnd {
    /// The foreign keys the path follows, in order.
    pub joins: Vec<Join>,
    /// The column it reads, in the table the joins reach.
    pub column: ColumnSchema,
    /// When the column is JSON and the path goes on past it: the keys read from its
    /// document, in order (an all-digit key also indexes an array). Empty otherwise.
    pub json_keys: Vec<String>,
}

/// Resolves a relation path (`["author", "publisher", "name"]`) from `resource`'s table:
/// the foreign keys it follows and the column it ends at. The first step may be a
/// foreign-key field of the resource (`author`, whatever its column); every step may be a
/// column with a declared foreign key, named as it is or without its `_id` (`author_id`).
/// A step that names a JSON column (after any number of foreign keys) ends the joins: the
/// steps after it are keys in that column's document (`data__address__city`,
/// `author__profile__city`, `data__tags__0`). `Ok(Err(message))` when the path does not
/// fit the database.
pub fn resolve_path(
    resource: &Resource,
    store: &mut dyn Store,
    segments: &[&str],
) -> Result<Result<PathEnd, String>, StoreError> {
    let Some((last, hops)) = segments.split_last() else {
        return Ok(Err("the path is empty".into()));
    };
    let mut schema = store.describe(&resource.table)?;
    let mut joins = Vec::new();
    for (i, segment) in hops.iter().enumerate() {
        let field = (i == 0).then(|| resource.field(segment)).flatten();
        let from_field = field.and_then(|f| {
            let rel = f.widget.relation()?;
            matches!(rel.kind, RelationKind::ForeignKey).then(|| Join {
                fk_column: f.attribute.clone(),
                table: rel.table.clone(),
                key: rel.key.clone(),
            })
        });
        let from_column = || {
            [segment.to_string(), format!("{segment}_id")]
                .iter()
                .find_map(|name| {
                    let c = schema.column(name)?;
                    let (table, key) = c.foreign_key.clone()?;
                    Some(Join {
                        fk_column: c.name.clone(),
                        table,
                        key,
                    })
                })
        };
        let Some(join) = from_field.or_else(from_column) else {
            // Not a foreign key: a JSON column (by its name, or a field of the resource
            // stored in one) ends the joins, and the rest of the path are its keys.
            let json = field
                .filter(|f| f.relation_path().is_none() && f.dehydrate.is_none())
                .and_then(|f| schema.column(&f.attribute))
                .or_else(|| schema.column(segment))
                .filter(|c| c.kind == crate::ValueKind::Json);
            if let Some(column) = json {
                return Ok(Ok(PathEnd {
                    joins,
                    column: column.clone(),
                    json_keys: segments[i + 1..].iter().map(|k| (*k).to_owned()).collect(),
                }));
            }
            return Ok(Err(format!(
                "\"{segment}\" is not a foreign key of table \"{}\"",
                schema.name
            )));
        };
        schema = store.describe(&join.table)?;
        joins.push(join);
    }
    let column = schema
        .column(last)
        .or_else(|| schema.column(&format!("{last}_id")))
        .cloned();
    Ok(match column {
        Some(column) => Ok(PathEnd {
            joins,
            column,
            json_keys: Vec::new(),
        }),
        None => Err(format!(
            "table \"{}\" has no column \"{last}\" (columns: {})",
            schema.name,
            schema
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })
}

/// A read-only field for a relation path (`author__name`), named as the path, with the
/// widget of the column the path ends at: what `fields = ["author__name"]` declares. A
/// path into a JSON column (`data__name`) gets the JSON widget, which writes a string key
/// as its text and a number as a number. A name without `__` is the table's column of
/// that name.
pub fn path_field(
    resource: &Resource,
    store: &mut dyn Store,
    path: &str,
) -> Result<Field, ExportError> {
    let segments: Vec<&str> = path.split(PATH_SEPARATOR).collect();
    let end = resolve_path(resource, store, &segments)?.map_err(|message| ExportError::Field {
        field: path.to_owned(),
        message,
    })?;
    let widget: Arc<dyn Widget> = Arc::from(widgets::for_column(&end.column));
    Ok(Field::new(path, widget).attribute(path).readonly(true))
}

/// Finds what a name means for `resource`: a field (by name or header), a relation path,
/// or a column of the table. `Ok(Err(message))` when it means nothing.
fn resolve<'r>(
    resource: &'r Resource,
    store: &mut dyn Store,
    name: &str,
) -> Result<Result<Target<'r>, String>, StoreError> {
    let field = resource
        .field(name)
        .or_else(|| resource.fields.iter().find(|f| f.column_name == name));
    if let Some(field) = field {
        return field_target(resource, store, field);
    }
    if name.contains(PATH_SEPARATOR) {
        let segments: Vec<&str> = name.split(PATH_SEPARATOR).collect();
        return Ok(
            resolve_path(resource, store, &segments)?.map(|end| Target::Column {
                joins: end.joins,
                widget: Arc::from(widgets::for_column(&end.column)),
                column: end.column.name,
                json_keys: end.json_keys,
            }),
        );
    }
    let schema = store.describe(&resource.table)?;
    Ok(match schema.column(name) {
        Some(column) => Ok(Target::Column {
            joins: Vec::new(),
            column: column.name.clone(),
            json_keys: Vec::new(),
            widget: Arc::from(widgets::for_column(column)),
        }),
        None => Err(format!(
            "resource \"{}\" has no field \"{name}\" (fields: {})",
            resource.name,
            known_fields(resource)
        )),
    })
}

fn field_target<'r>(
    resource: &'r Resource,
    store: &mut dyn Store,
    field: &'r Field,
) -> Result<Result<Target<'r>, String>, StoreError> {
    if field.dehydrate.is_some() {
        return Ok(Ok(Target::Dehydrated));
    }
    if let Some(segments) = field.relation_path() {
        return Ok(
            resolve_path(resource, store, &segments)?.map(|end| Target::Column {
                joins: end.joins,
                column: end.column.name,
                json_keys: end.json_keys,
                widget: field.widget.clone(),
            }),
        );
    }
    Ok(Ok(match field.widget.relation() {
        Some(rel) => match rel.kind {
            RelationKind::ForeignKey => Target::Column {
                joins: vec![Join {
                    fk_column: field.attribute.clone(),
                    table: rel.table.clone(),
                    key: rel.key.clone(),
                }],
                column: rel.lookup.clone(),
                json_keys: Vec::new(),
                widget: field.widget.clone(),
            },
            RelationKind::ManyToMany { .. } => Target::Linked(field),
        },
        None => Target::Column {
            joins: Vec::new(),
            column: field.attribute.clone(),
            json_keys: Vec::new(),
            widget: field.widget.clone(),
        },
    }))
}

fn known_fields(resource: &Resource) -> String {
    resource
        .export_fields()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The headers an export writes with these options: the chosen fields' column names. The
/// store is asked about the tables a chosen relation path or column crosses.
pub fn headers(
    resource: &Resource,
    store: &mut dyn Store,
    options: &ExportOptions,
) -> Result<Vec<String>, ExportError> {
    Ok(chosen_fields(resource, store, options)?
        .iter()
        .map(|f| f.column_name.clone())
        .collect())
}

/// The fields an export writes: every export field, or the ones `options.fields` names. A
/// name that is no field may be a relation path (`author__name`, `data__city`) or a column
/// of the table, which becomes a read-only field as [`path_field`] makes it.
fn chosen_fields<'r>(
    resource: &'r Resource,
    store: &mut dyn Store,
    options: &ExportOptions,
) -> Result<Vec<Cow<'r, Field>>, ExportError> {
    let Some(names) = &options.fields else {
        return Ok(resource.export_fields().map(Cow::Borrowed).collect());
    };
    let mut fields = Vec::with_capacity(names.len());
    for name in names {
        let declared = resource
            .field(name)
            .or_else(|| resource.fields.iter().find(|f| &f.column_name == name));
        if let Some(field) = declared {
            fields.push(Cow::Borrowed(field));
            continue;
        }
        match path_field(resource, store, name) {
            Ok(field) => fields.push(Cow::Owned(field)),
            Err(ExportError::Field { message, .. }) if name.contains(PATH_SEPARATOR) => {
                return Err(ExportError::Field {
                    field: name.clone(),
                    message: format!("{message} (fields: {})", known_fields(resource)),
                })
            }
            Err(ExportError::Field { .. }) => {
                return Err(ExportError::UnknownField {
                    resource: resource.name.clone(),
                    field: name.clone(),
                    known: known_fields(resource),
                })
            }
            Err(other) => return Err(other),
        }
    }
    Ok(fields)
}

/// Names that minijinja provides itself, which a template may use without the record
/// having them.
const TEMPLATE_GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "debug",
    "loop",
    "self",
    "super",
    "caller",
    "varargs",
    "kwargs",
    "none",
    "true",
    "false",
];

/// Everything fixed before the first row: the scan, the record's layout, the fields.
struct Plan<'r> {
    /// The exported fields; owned where `use_natural_foreign_keys` changed a widget.
    fields: Vec<Cow<'r, Field>>,
    scan: Scan,
    /// The record's attribute names; the first `scan.columns.len()` come from the scan,
    /// the rest are computed fields.
    names: Arc<[String]>,
    /// For each exported field, its slot in the record.
    slots: Vec<usize>,
    /// Foreign keys looked up by several columns: the field's slot and the slots of its
    /// lookup columns, first lookup (the field's own slot) first. After the scan the
    /// field's slot holds them as one [`Value::List`], which the widget renders.
    composites: Vec<(usize, Vec<usize>)>,
    /// Paths into JSON columns: the slot that holds the document after the scan, and the
    /// keys read from it into the same slot before anything else sees the row.
    json_paths: Vec<(usize, Vec<String>)>,
    /// Computed fields in export order (indexes into `fields`), with their slots.
    computed: Vec<(usize, usize)>,
    /// The record's names as a tree for templates (`author__name` → author.name).
    tree: Option<Node>,
    /// The record filter and the page applied after the scan (when there is a record
    /// filter, the store cannot count the page).
    page_after: Option<(u64, Option<u64>)>,
}

/// The record's names as nested maps, for a template's context.
enum Node {
    Leaf(usize),
    Map(BTreeMap<String, Node>),
}

impl Node {
    fn insert(&mut self, path: &[&str], slot: usize) {
        let Node::Map(map) = self else { return };
        match path {
            [] => {}
            [last] => {
                // A map already there (author.name) wins over the scalar (author).
                map.entry((*last).to_owned()).or_insert(Node::Leaf(slot));
            }
            [first, rest @ ..] => {
                let entry = map
                    .entry((*first).to_owned())
                    .or_insert_with(|| Node::Map(BTreeMap::new()));
                if let Node::Leaf(_) = entry {
                    *entry = Node::Map(BTreeMap::new());
                }
                entry.insert(rest, slot);
            }
        }
    }

    fn value(&self, values: &[Value]) -> minijinja::Value {
        match self {
            Node::Leaf(slot) => template_value(&values[*slot]),
            Node::Map(map) => minijinja::Value::from(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.value(values)))
                    .collect::<BTreeMap<String, minijinja::Value>>(),
            ),
        }
    }
}

/// A value as a template sees it: null is undefined (renders as nothing), decimals and
/// dates as the text rowport writes.
fn template_value(value: &Value) -> minijinja::Value {
    match value {
        Value::Null => minijinja::Value::UNDEFINED,
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Int(i) => minijinja::Value::from(*i),
        Value::Float(f) => minijinja::Value::from(*f),
        Value::List(items) => minijinja::Value::from(
            items
                .iter()
                .map(template_value)
                .collect::<Vec<minijinja::Value>>(),
        ),
        Value::Json(json) => json_template_value(json),
        other => minijinja::Value::from(other.to_string()),
    }
}

/// A JSON document as a template sees it: maps and lists, so `data.address.city` and
/// `data.tags[0]` walk it; a JSON null is undefined, like a null column.
fn json_template_value(json: &serde_json::Value) -> minijinja::Value {
    match json {
        serde_json::Value::Null => minijinja::Value::UNDEFINED,
        serde_json::Value::Object(map) => minijinja::Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), json_template_value(v)))
                .collect::<BTreeMap<String, minijinja::Value>>(),
        ),
        serde_json::Value::Array(items) => minijinja::Value::from(
            items
                .iter()
                .map(json_template_value)
                .collect::<Vec<minijinja::Value>>(),
        ),
        other => minijinja::Value::from_serialize(other),
    }
}

struct Layout {
    names: Vec<String>,
    columns: Vec<ScanColumn>,
}

impl Layout {
    fn slot(&mut self, name: &str, column: impl FnOnce() -> ScanColumn) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_owned());
                self.columns.push(column());
                self.names.len() - 1
            }
        }
    }
}

fn scan_column(
    target: &Target<'_>,
    resource: &Resource,
    store: &mut dyn Store,
) -> Result<ScanColumn, StoreError> {
    Ok(match target {
        Target::Column {
            joins,
            column,
            json_keys,
            widget,
        } => {
            // A path into a JSON column reads the whole document; the keys are read after.
            let kind = if json_keys.is_empty() {
                widget.kind()
            } else {
                crate::ValueKind::Json
            };
            if joins.is_empty() {
                ScanColumn::Column {
                    name: column.clone(),
                    kind,
                }
            } else {
                ScanColumn::Related {
                    joins: joins.clone(),
                    column: column.clone(),
                    kind,
                }
            }
        }
        Target::Linked(field) => linked_column(field, resource, store)?,
        // Computed fields are not scanned; callers never ask.
        Target::Dehydrated => ScanColumn::Column {
            name: resource.primary_key.clone(),
            kind: crate::ValueKind::Int,
        },
    })
}

fn linked_column(
    field: &Field,
    resource: &Resource,
    store: &mut dyn Store,
) -> Result<ScanColumn, StoreError> {
    let Some(rel) = field.widget.relation() else {
        return Err(StoreError::new(StoreErrorKind::Database, "not a relation"));
    };
    let RelationKind::ManyToMany { link, .. } = &rel.kind else {
        return Err(StoreError::new(StoreErrorKind::Database, "not a link"));
    };
    Ok(ScanColumn::Linked {
        link: link.clone(),
        owner_key: resource.primary_key.clone(),
        table: rel.table.clone(),
        key: rel.key.clone(),
        column: rel.lookup.clone(),
        kind: store
            .describe(&rel.table)?
            .column(&rel.lookup)
            .map(|c| c.kind)
            .unwrap_or(crate::ValueKind::Text),
    })
}

impl<'r> Plan<'r> {
    fn new(
        resource: &'r Resource,
        store: &mut dyn Store,
        options: &ExportOptions,
        filters: &[Filter],
    ) -> Result<Plan<'r>, ExportError> {
        let chosen = chosen_fields(resource, store, options)?;
        // A plain foreign key is exported as the related table's natural key (a JSON
        // list), as django-import-export's `use_natural_foreign_keys` does.
        let fields: Vec<Cow<'r, Field>> = if resource.options.use_natural_foreign_keys {
            chosen
                .into_iter()
                .map(|f| widgets::with_natural_key(&f, store).map(Cow::Owned))
                .collect::<Result<_, _>>()?
        } else {
            chosen
        };
        let field_error = |field: &Field, message: String| ExportError::Field {
            field: field.name.clone(),
            message,
        };
        let mut layout = Layout {
            names: Vec::new(),
            columns: Vec::new(),
        };
        let mut slots = Vec::with_capacity(fields.len());
        let mut composites: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut json_paths: Vec<(usize, Vec<String>)> = Vec::new();
        let mut computed_fields = Vec::new();
        for field in &fields {
            let target =
                field_target(resource, store, field)?.map_err(|m| field_error(field, m))?;
            if let Target::Dehydrated = target {
                computed_fields.push(&**field);
                slots.push(usize::MAX);
                continue;
            }
            let column = scan_column(&target, resource, store)?;
            let slot = layout.slot(&field.name, || column);
            slots.push(slot);
            if let Target::Column { json_keys, .. } = &target {
                if !json_keys.is_empty() && !json_paths.iter().any(|(s, _)| *s == slot) {
                    json_paths.push((slot, json_keys.clone()));
                }
            }
            let more = more_lookup_columns(field, store)?;
            if !more.is_empty() && !composites.iter().any(|(s, _)| *s == slot) {
                let mut parts = vec![slot];
                for (name, column) in more {
                    parts.push(layout.slot(&name, || column));
                }
                composites.push((slot, parts));
            }
        }
        // The record always names the primary key; with a computed field or a record
        // filter it holds every column of the table and what the dehydrates read.
        let schema = store.describe(&resource.table)?;
        let pk = schema
            .column(&resource.primary_key)
            .map_or(crate::ValueKind::Int, |c| c.kind);
        layout.slot(&resource.primary_key, || ScanColumn::Column {
            name: resource.primary_key.clone(),
            kind: pk,
        });
        let full = !computed_fields.is_empty() || options.record_filter.is_some();
        let mut templates = false;
        if full {
            for column in &schema.columns {
                layout.slot(&column.name, || ScanColumn::Column {
                    name: column.name.clone(),
                    kind: column.kind,
                });
            }
            for field in &computed_fields {
                let uses: Vec<String> = match &field.dehydrate {
                    Some(Dehydrate::Closure { uses, .. }) => uses.clone(),
                    Some(Dehydrate::Template(source)) => {
                        templates = true;
                        let env = minijinja::Environment::new();
                        let template = env
                            .template_from_str(source)
                            .map_err(|e| field_error(field, template_message(&e)))?;
                        let mut names: Vec<String> = template
                            .undeclared_variables(true)
                            .into_iter()
                            .filter(|v| !TEMPLATE_GLOBALS.contains(&v.as_str()))
                            .map(|v| v.replace('.', PATH_SEPARATOR))
                            .collect();
                        names.sort();
                        names
                    }
                    None => Vec::new(),
                };
                for name in uses {
                    if layout.names.contains(&name) {
                        continue;
                    }
                    let mut target = resolve(resource, store, &name)?;
                    // `author.name.upper` style attribute chains that go past a column
                    // are methods in the template; read the longest path that resolves.
                    let mut used = name.clone();
                    while target.is_err() && used.contains(PATH_SEPARATOR) {
                        used = used
                            .rsplit_once(PATH_SEPARATOR)
                            .map(|(head, _)| head.to_owned())
                            .unwrap_or_default();
                        target = resolve(resource, store, &used)?;
                    }
                    let mut target = target
                        .map_err(|m| field_error(field, format!("it reads \"{name}\", but {m}")))?;
                    if let Target::Dehydrated = target {
                        continue;
                    }
                    // `data.name` reads the JSON column `data` whole: the template sees
                    // its document as a map and walks it itself.
                    if let Target::Column { json_keys, .. } = &mut target {
                        if !json_keys.is_empty() {
                            let steps = used.split(PATH_SEPARATOR).count() - json_keys.len();
                            used = used
                                .split(PATH_SEPARATOR)
                                .take(steps)
                                .collect::<Vec<_>>()
                                .join(PATH_SEPARATOR);
                            json_keys.clear();
                        }
                    }
                    let column = scan_column(&target, resource, store)?;
                    layout.slot(&used, || column);
                }
            }
        }
        let scanned = layout.names.len();
        let mut names = layout.names;
        let mut computed = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            if slots[i] == usize::MAX {
                let slot = match names.iter().position(|n| n == &field.name) {
                    Some(s) if s >= scanned => s,
                    _ => {
                        names.push(field.name.clone());
                        names.len() - 1
                    }
                };
                slots[i] = slot;
                computed.push((i, slot));
            }
        }
        let tree = templates.then(|| {
            let mut root = Node::Map(BTreeMap::new());
            // Deeper paths first, so `author` is a map when `author__name` is read too.
            let mut order: Vec<usize> = (0..names.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(names[i].matches(PATH_SEPARATOR).count()));
            for i in order {
                let path: Vec<&str> = names[i].split(PATH_SEPARATOR).collect();
                root.insert(&path, i);
            }
            root
        });

        let mut scan = Scan::new(&resource.table);
        scan.columns = layout.columns;
        for filter in filters {
            scan.filter.extend(scan_filter(resource, store, filter)?);
        }
        for key in &options.order_by {
            let (name, descending) = match key.strip_prefix('-') {
                Some(name) => (name.trim(), true),
                None => (key.trim_start_matches('+').trim(), false),
            };
            let order_error = |message: String| ExportError::Order {
                key: key.clone(),
                message,
            };
            match resolve(resource, store, name)?.map_err(order_error)? {
                Target::Column { json_keys, .. } if !json_keys.is_empty() => {
                    return Err(order_error(json_key_unsupported(name, "order")))
                }
                Target::Column { joins, column, .. } => scan.order_by.push(ScanOrder {
                    joins,
                    column,
                    descending,
                }),
                Target::Linked(_) | Target::Dehydrated => {
                    return Err(order_error(format!(
                        "\"{name}\" is not a column; order by a field stored in a column or a relation path"
                    )))
                }
            }
        }
        if !scan
            .order_by
            .iter()
            .any(|o| o.joins.is_empty() && o.column == resource.primary_key)
        {
            scan.order_by
                .push(ScanOrder::ascending(&resource.primary_key));
        }
        let page_after = match options.record_filter {
            Some(_) => Some((options.offset, options.limit)),
            None => {
                scan.offset = options.offset;
                scan.limit = options.limit;
                None
            }
        };
        Ok(Plan {
            fields,
            scan,
            names: names.into(),
            slots,
            composites,
            json_paths,
            computed,
            tree,
            page_after,
        })
    }
}

/// The scan columns of a foreign key's lookup columns after the first
/// (`Relation::more_lookups`), each read through the field's foreign key and named so no
/// field or relation path can share its slot. Empty for every other field.
fn more_lookup_columns(
    field: &Field,
    store: &mut dyn Store,
) -> Result<Vec<(String, ScanColumn)>, StoreError> {
    let Some(rel) = field.widget.relation() else {
        return Ok(Vec::new());
    };
    if rel.kind != RelationKind::ForeignKey
        || rel.more_lookups.is_empty()
        || field.dehydrate.is_some()
        || field.relation_path().is_some()
    {
        return Ok(Vec::new());
    }
    let target = store.describe(&rel.table)?;
    Ok(rel
        .more_lookups
        .iter()
        .map(|column| {
            let scan_column = ScanColumn::Related {
                joins: vec![Join {
                    fk_column: field.attribute.clone(),
                    table: rel.table.clone(),
                    key: rel.key.clone(),
                }],
                column: column.clone(),
                kind: target
                    .column(column)
                    .map_or(crate::ValueKind::Text, |c| c.kind),
            };
            (format!("{}[{column}]", field.name), scan_column)
        })
        .collect())
}

/// A filter as the store runs it: its target resolved, its value cleaned by the widget;
/// one condition per column for a foreign key found by several columns.
fn scan_filter(
    resource: &Resource,
    store: &mut dyn Store,
    filter: &Filter,
) -> Result<Vec<ScanFilter>, ExportError> {
    let error = |message: String| ExportError::Filter {
        expression: filter.expression(),
        message,
    };
    // With `use_natural_foreign_keys` the user writes a foreign key as the export shows it:
    // the related table's natural key.
    let natural = match resource.field(&filter.field).or_else(|| {
        resource
            .fields
            .iter()
            .find(|f| f.column_name == filter.field)
    }) {
        Some(field) if resource.options.use_natural_foreign_keys => {
            Some(widgets::with_natural_key(field, store)?)
        }
        _ => None,
    };
    let target = match &natural {
        Some(field) => field_target(resource, store, field)?,
        None => resolve(resource, store, &filter.field)?,
    };
    let (joins, column, widget) = match target.map_err(error)? {
        Target::Column { json_keys, .. } if !json_keys.is_empty() => {
            return Err(error(json_key_unsupported(&filter.field, "filter")))
        }
        Target::Column {
            joins,
            column,
            widget,
            ..
        } => (joins, column, widget),
        Target::Linked(_) | Target::Dehydrated => {
            return Err(error(format!(
                "\"{}\" is not a column; filter on a field stored in a column or a relation path (fields: {})",
                filter.field,
                known_fields(resource)
            )))
        }
    };
    if filter.value.is_empty() && matches!(filter.op, FilterOp::Eq | FilterOp::Ne) {
        return Ok(vec![ScanFilter {
            joins,
            condition: Condition::IsNull {
                column,
                negated: filter.op == FilterOp::Ne,
            },
        }]);
    }
    let value = widget
        .clean(&Cell::Text(filter.value.clone()))
        .map_err(|e| error(format!("\"{}\" {}", filter.value, e.message)))?;
    if value.is_null() {
        return Err(error(format!(
            "\"{}\" is null for this field; write FIELD= for null",
            filter.value
        )));
    }
    // A foreign key found by several columns: its value is one value per column, each
    // compared through the same join. Filters only AND, so only `=` can be expressed.
    let composite = widget
        .relation()
        .filter(|r| r.kind == RelationKind::ForeignKey && !r.more_lookups.is_empty())
        .filter(|r| r.lookup == column && !joins.is_empty());
    if let Some(relation) = composite {
        let lookups: Vec<String> = relation.lookups().cloned().collect();
        if filter.op != FilterOp::Eq {
            let op = filter.op.symbol();
            return Err(error(format!(
                "\"{}\" is a key of several columns ({}), which only = compares; filter on one of them with a relation path ({}__{}{op}…)",
                filter.field,
                lookups.join(", "),
                filter.field,
                lookups[0]
            )));
        }
        let parts = match value {
            Value::List(parts) if parts.len() == lookups.len() => parts,
            // The widget reads exactly one value per column; anything else cannot match.
            _ => {
                return Err(error(format!(
                    "\"{}\" is not a natural key of {} values ({})",
                    filter.value,
                    lookups.len(),
                    lookups.join(", ")
                )))
            }
        };
        return Ok(lookups
            .into_iter()
            .zip(parts)
            .map(|(column, value)| ScanFilter {
                joins: joins.clone(),
                condition: if value.is_null() {
                    Condition::IsNull {
                        column,
                        negated: false,
                    }
                } else {
                    Condition::Compare {
                        column,
                        op: CompareOp::Eq,
                        value,
                    }
                },
            })
            .collect());
    }
    let condition = Condition::Compare {
        column,
        op: match filter.op {
            FilterOp::Eq => CompareOp::Eq,
            FilterOp::Ne => CompareOp::Ne,
            FilterOp::Lt => CompareOp::Lt,
            FilterOp::Le => CompareOp::Le,
            FilterOp::Gt => CompareOp::Gt,
            FilterOp::Ge => CompareOp::Ge,
        },
        value,
    };
    Ok(vec![ScanFilter { joins, condition }])
}

/// Why a filter or an order key on a key inside a JSON column is refused: the stores would
/// each compare the extracted text differently, so rowport does not pretend to.
fn json_key_unsupported(name: &str, what: &str) -> String {
    format!(
        "\"{name}\" reads a key inside a JSON column, and rowport cannot {what} by keys inside JSON; {what} by a column or a relation path, or use a record filter in Rust"
    )
}

/// The filters of an export: the options' and what `filter_export` adds.
fn all_filters(resource: &Resource, options: &ExportOptions) -> Result<Vec<Filter>, ExportError> {
    let mut filters = options.filters.clone();
    resource
        .hooks
        .filter_export(&mut filters, &options.context)?;
    Ok(filters)
}

/// How many rows an export with these options would write, ignoring its offset and limit
/// (a change list's total). One `count(*)` unless there is a record filter.
pub fn count(
    resource: &Resource,
    store: &mut dyn Store,
    options: &ExportOptions,
) -> Result<u64, ExportError> {
    let filters = all_filters(resource, options)?;
    if options.record_filter.is_none() {
        let mut scan_filters = Vec::with_capacity(filters.len());
        for filter in &filters {
            scan_filters.extend(scan_filter(resource, store, filter)?);
        }
        return Ok(store.count_rows(&resource.table, &scan_filters)?);
    }
    let whole = ExportOptions {
        offset: 0,
        limit: None,
        ..options.clone()
    };
    let plan = Plan::new(resource, store, &whole, &filters)?;
    run(resource, store, &whole, plan, &mut |_, _| Ok(()))
}

/// Exports the rows of `resource`'s table that the options select to `writer`; returns
/// the number of rows. Hooks: `before_export`, `filter_export`, `export_field` per cell,
/// `after_export`.
pub fn export(
    resource: &Resource,
    store: &mut dyn Store,
    writer: Box<dyn RowWriter + '_>,
    options: &ExportOptions,
) -> Result<u64, ExportError> {
    let mut writer = writer;
    resource.hooks.before_export(&options.context)?;
    let filters = all_filters(resource, options)?;
    // Everything that can be wrong with the fields, filters and order is found here,
    // before the header: a refused export writes nothing.
    let plan = Plan::new(resource, store, options, &filters)?;
    let header: Vec<String> = plan.fields.iter().map(|f| f.column_name.clone()).collect();
    writer.write_header(&header)?;
    let rows = run(resource, store, options, plan, &mut |_, cells| {
        writer.write_row(cells).map_err(ExportError::Write)
    })?;
    writer.finish()?;
    resource.hooks.after_export(rows, &options.context)?;
    for observer in &resource.observers {
        observer.post_export(&resource.name, rows, &options.context);
    }
    Ok(rows)
}

/// What [`export_rows`] hands each row to: the record and the rendered cells.
pub type ExportSink<'a> = dyn FnMut(&Record, &[Cell]) -> Result<(), ExportError> + 'a;

/// Like [`export`], but hands each row to `sink` (the record, with the primary key, and
/// the rendered cells in [`headers`] order) instead of a file: what a web page's list uses.
pub fn export_rows(
    resource: &Resource,
    store: &mut dyn Store,
    options: &ExportOptions,
    sink: &mut ExportSink<'_>,
) -> Result<u64, ExportError> {
    resource.hooks.before_export(&options.context)?;
    let filters = all_filters(resource, options)?;
    let plan = Plan::new(resource, store, options, &filters)?;
    let rows = run(resource, store, options, plan, sink)?;
    resource.hooks.after_export(rows, &options.context)?;
    Ok(rows)
}

fn run(
    resource: &Resource,
    store: &mut dyn Store,
    options: &ExportOptions,
    plan: Plan<'_>,
    sink: &mut ExportSink<'_>,
) -> Result<u64, ExportError> {
    let mut env = minijinja::Environment::new();
    // A key one row's JSON lacks (`data.address.city` where `data` has no address) renders
    // as nothing, as a null does, rather than failing the export.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    let mut templates = Vec::with_capacity(plan.computed.len());
    for &(i, _) in &plan.computed {
        let field = &plan.fields[i];
        templates.push(match &field.dehydrate {
            Some(Dehydrate::Template(source)) => Some(env.template_from_str(source).map_err(
                |e| ExportError::Field {
                    field: field.name.clone(),
                    message: template_message(&e),
                },
            )?),
            _ => None,
        });
    }
    let width = plan.names.len();
    let scanned = plan.scan.columns.len();
    let (mut skip, mut left) = match plan.page_after {
        Some((offset, limit)) => (offset, limit),
        None => (0, None),
    };
    let mut cells: Vec<Cell> = Vec::with_capacity(plan.fields.len());
    let mut rows = 0u64;
    // The sink's own error travels out of the store's scan beside a placeholder.
    let mut failure: Option<ExportError> = None;
    let hooks = resource.hooks.clone();
    let ctx = &options.context;
    let result = store.scan(&plan.scan, &mut |mut values| {
        let stop = |e: ExportError, failure: &mut Option<ExportError>| {
            let message = e.to_string();
            *failure = Some(e);
            StoreError::new(StoreErrorKind::Database, message)
        };
        if left == Some(0) {
            return Ok(());
        }
        values.resize(width.max(scanned), Value::Null);
        for (slot, keys) in &plan.json_paths {
            values[*slot] = json_at(std::mem::take(&mut values[*slot]), keys);
        }
        // A key of several columns is one value: null when every column is (no related
        // row), else the list of them.
        for (slot, parts) in &plan.composites {
            let items: Vec<Value> = parts.iter().map(|&p| values[p].clone()).collect();
            values[*slot] = if items.iter().all(Value::is_null) {
                Value::Null
            } else {
                Value::List(items)
            };
        }
        let mut record = Record::with_values(plan.names.clone(), values);
        if let Some(filter) = &options.record_filter {
            if !(filter.0)(&record) {
                return Ok(());
            }
            if skip > 0 {
                skip -= 1;
                return Ok(());
            }
            if let Some(l) = &mut left {
                *l -= 1;
            }
        }
        for (i, &(index, slot)) in plan.computed.iter().enumerate() {
            let field = &plan.fields[index];
            let value = match (&field.dehydrate, &templates[i], &plan.tree) {
                (Some(Dehydrate::Closure { function, .. }), _, _) => function(&record),
                (_, Some(template), Some(tree)) => {
                    match template.render(tree.value(record.values())) {
                        Ok(text) => Value::Text(text),
                        Err(e) => {
                            return Err(stop(
                                ExportError::Field {
                                    field: field.name.clone(),
                                    message: template_message(&e),
                                },
                                &mut failure,
                            ))
                        }
                    }
                }
                _ => Value::Null,
            };
            record.values_mut()[slot] = value;
        }
        cells.clear();
        for (field, &slot) in plan.fields.iter().zip(&plan.slots) {
            let replaced = hooks
                .export_field(field, &record, ctx)
                .map_err(|e| stop(ExportError::Hook(e), &mut failure))?;
            let value = replaced.as_ref().unwrap_or(&record.values()[slot]);
            cells.push(field.widget.render(value));
        }
        rows += 1;
        sink(&record, &cells).map_err(|e| stop(e, &mut failure))
    });
    match result {
        Ok(()) => Ok(rows),
        Err(e) => Err(failure.take().unwrap_or(ExportError::Store(e))),
    }
}

/// The value at `keys` in a JSON document (as a store reads a JSON column: a document, or
/// its text): an object's key, or an array's index for an all-digit key. A key that is
/// missing, or a step into something that is not an object or an array, gives null. A
/// string comes out as text, a number as an integer when it is whole, else a float, and an
/// object or an array as JSON.
fn json_at(document: Value, keys: &[String]) -> Value {
    let document = match document {
        Value::Json(json) => json,
        Value::Text(text) => match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(_) => return Value::Null,
        },
        _ => return Value::Null,
    };
    let mut at = &document;
    for key in keys {
        let next = match at {
            serde_json::Value::Object(map) => map.get(key),
            serde_json::Value::Array(items) if key.bytes().all(|b| b.is_ascii_digit()) => {
                key.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        match next {
            Some(value) => at = value,
            None => return Value::Null,
        }
    }
    match at {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            // Whole but past i64: exact as a decimal, never rounded through a float.
            (None, Some(u)) => Value::Decimal(rust_decimal::Decimal::from(u)),
            _ => n.as_f64().map_or(Value::Null, Value::Float),
        },
        other => Value::Json(other.clone()),
    }
}
