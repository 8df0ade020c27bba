//! The batched import engine.
//!
//! Rows stream from a [`RowReader`] in batches of `batch_size`. For each batch the engine
//! cleans every field of every row, resolves the batch's foreign-key and many-to-many
//! values with one store query per relation (cached for the rest of the import), loads the
//! existing records the batch's import ids name with one query, classifies each row (new,
//! update, skip, delete, invalid, error), and writes the batch. Memory holds one batch, the
//! lookup caches, the totals and the errors — never the file.
//!
//! The whole import runs in one transaction. A dry run, or any invalid or error row without
//! `skip_invalid`, rolls it back at the end, so what a dry run reports is exactly what the
//! real run will do, database constraints included.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use rowport_formats::{FormatError, Row, RowReader};

use crate::field::Field;
use crate::hooks::{Context, HookError, RowData};
use crate::record::Record;
use crate::resource::Resource;
use crate::result::{Change, ImportResult, RowError, RowOutcome, RowResult, RowSink};
use crate::store::{Fetch, Store, StoreError, TableSchema};
use crate::value::{Value, ValueKind};
use crate::widgets::{LinkTable, OnMissing, Relation, RelationKind};

/// How one import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Run everything, then roll back.
    pub dry_run: bool,
    /// Commit the valid rows even when some rows are invalid or in error.
    pub skip_invalid: bool,
    /// Stop at the first invalid or error row (and roll back).
    pub raise_errors: bool,
    /// How many row results (outcome and diff) to keep, from the first row.
    pub preview_rows: usize,
    /// How many row errors to keep; later ones are counted in the totals only.
    pub max_errors: usize,
    /// What the hooks are told.
    pub context: Context,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dry_run: false,
            skip_invalid: false,
            raise_errors: false,
            preview_rows: 0,
            max_errors: 100_000,
            context: Context::default(),
        }
    }
}

/// Why an import stopped before its end. Nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] FormatError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file lacks a column the import needs.
    #[error("{file}: {message}")]
    Columns {
        /// The file.
        file: String,
        /// Which column is missing, and which there are.
        message: String,
    },
    /// A `before_import` or `after_import` hook refused.
    #[error("{0}")]
    Hook(#[from] HookError),
    /// `raise_errors` was set and this row failed.
    #[error("{}", .0.describe(.1))]
    RowFailed(RowError, String),
}

/// Imports every row `reader` yields into `resource`'s table in `store`.
///
/// ```
/// use rowport::{import, memory::MemoryStore, ImportOptions, Resource};
/// use rowport_formats::{open_reader, Format, ReadOptions};
///
/// let mut store = MemoryStore::new();
/// store.create_table("book", &[("id", rowport::ValueKind::Int), ("name", rowport::ValueKind::Text)]);
/// let schema = rowport::Store::describe(&mut store, "book").unwrap();
/// let book = Resource::from_schema("book", &schema).finish().unwrap();
///
/// let csv = "id,name\n1,Dune\n2,Emma\n";
/// let mut reader = open_reader(Format::Csv, Box::new(csv.as_bytes()), "books.csv", &ReadOptions::default()).unwrap();
/// let result = import(&book, &mut store, reader.as_mut(), &ImportOptions::default()).unwrap();
/// assert_eq!(result.totals.new, 2);
/// assert!(result.committed);
/// ```
pub fn import(
    resource: &Resource,
    store: &mut dyn Store,
    reader: &mut dyn RowReader,
    options: &ImportOptions,
) -> Result<ImportResult, ImportError> {
    import_into(resource, store, reader, options, &mut ())
}

/// [`import`], also handing every reported row (its outcome, diff and errors) to `sink` as
/// it is decided, in file order. The result still keeps only `preview_rows` of them, so a
/// sink that writes rows away (the admin's paged preview) lets a preview of any size run in
/// flat memory.
pub fn import_into(
    resource: &Resource,
    store: &mut dyn Store,
    reader: &mut dyn RowReader,
    options: &ImportOptions,
    sink: &mut dyn RowSink,
) -> Result<ImportResult, ImportError> {
    let started = Instant::now();
    let plan = Plan::new(resource, store, reader.headers(), reader.source())?;
    let transactional = resource.options.use_transactions || options.dry_run;
    if transactional {
        store.begin()?;
    }
    let mut run = Run {
        resource,
        plan: &plan,
        options,
        result: ImportResult {
            dry_run: options.dry_run,
            ..ImportResult::default()
        },
        lookups: vec![HashMap::new(); plan.columns.len()],
        reverse: vec![HashMap::new(); plan.columns.len()],
        sink,
    };
    let outcome = run.run_all(store, reader);
    let mut result = run.result;
    let outcome = outcome.and_then(|()| {
        resource
            .hooks
            .after_import(&result, &options.context)
            .map_err(ImportError::from)
    });
    match outcome {
        Ok(()) => {
            let keep = !options.dry_run && (!result.has_failures() || options.skip_invalid);
            if transactional {
                if keep {
                    store.commit()?;
                } else {
                    store.rollback()?;
                }
            }
            result.committed = keep || (!transactional && !options.dry_run);
            result.seconds = started.elapsed().as_secs_f64();
            for observer in &resource.observers {
                observer.post_import(&resource.name, &result, &options.context);
            }
            Ok(result)
        }
        Err(e) => {
            if transactional {
                // The original error matters more than a failed rollback.
                let _ = store.rollback();
            }
            Err(e)
        }
    }
}

/// One import field, resolved against the file's headers and the table's schema.
struct Column {
    field: Field,
    /// Index of the field's column in the file, `None` when the file lacks it.
    header: Option<usize>,
    /// Position of the field's attribute in the record (`None` for many-to-many).
    slot: Option<usize>,
    relation: Option<ResolvedRelation>,
}

struct ResolvedRelation {
    relation: Relation,
    /// The kinds of the lookup columns (as the widget cleans them) and of the key.
    lookup_kinds: Vec<ValueKind>,
    key_kind: ValueKind,
}

/// What is fixed for the whole import: columns, record layout, which columns are written.
struct Plan {
    table: String,
    primary_key: String,
    file: String,
    columns: Vec<Column>,
    /// Attribute names of a record, the primary key last.
    names: Arc<[String]>,
    kinds: Vec<(String, ValueKind)>,
    pk_slot: usize,
    /// Record slots of the import-id fields, when the file has every import-id column.
    id_slots: Option<Vec<usize>>,
    /// Plan columns of the import-id fields, in `id_slots` order.
    id_columns: Vec<usize>,
    id_attributes: Vec<String>,
    /// Record slots written on insert and update (present in the file or defaulted).
    write_slots: Vec<usize>,
    headers: Vec<String>,
    /// The table as the database declares it (for `clean_model_instances`).
    schema: TableSchema,
}

impl Plan {
    fn new(
        resource: &Resource,
        store: &mut dyn Store,
        headers: &[String],
        file_name: &str,
    ) -> Result<Plan, ImportError> {
        let schema = store.describe(&resource.table)?;
        let mut names: Vec<String> = Vec::new();
        let mut columns = Vec::new();
        // Relation paths (`author__name`) and computed fields are export only: a file
        // with their column leaves them alone.
        for field in resource.import_fields().filter(|f| !f.is_export_only()) {
            let natural;
            let field = if resource.options.use_natural_foreign_keys {
                natural = crate::widgets::with_natural_key(field, store)?;
                &natural
            } else {
                field
            };
            let header = headers.iter().position(|h| h == &field.column_name);
            let relation = match field.widget.relation() {
                Some(relation) => Some(resolve_relation(store, relation, field)?),
                None => None,
            };
            let slot = if field.is_many_to_many() {
                None
            } else {
                if schema.column(&field.attribute).is_none() {
                    return Err(missing_column(&resource.table, &field.attribute, field).into());
                }
                Some(match names.iter().position(|n| n == &field.attribute) {
                    Some(i) => i,
                    None => {
                        names.push(field.attribute.clone());
                        names.len() - 1
                    }
                })
            };
            columns.push(Column {
                field: field.clone(),
                header,
                slot,
                relation,
            });
        }
        if !headers.is_empty() && columns.iter().all(|c| c.header.is_none()) {
            return Err(ImportError::Columns {
                file: file_name.to_owned(),
                message: format!(
                    "no column matches a field of \"{}\" (the file's columns are: {}; the fields' columns are: {})",
                    resource.name,
                    headers.join(", "),
                    columns
                        .iter()
                        .map(|c| c.field.column_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let pk_slot = match names.iter().position(|n| n == &resource.primary_key) {
            Some(i) => i,
            None => {
                names.push(resource.primary_key.clone());
                names.len() - 1
            }
        };
        // Existing values are read back as the kinds the widgets clean to, so that an
        // unchanged row compares equal (a date kept in a TEXT column, a decimal in REAL).
        let kinds = names
            .iter()
            .enumerate()
            .map(|(slot, n)| {
                let kind = columns
                    .iter()
                    .find(|c: &&Column| c.slot == Some(slot))
                    .map(|c| match &c.relation {
                        Some(rel) => rel.key_kind,
                        None => c.field.widget.kind(),
                    })
                    .unwrap_or_else(|| column_kind(&schema, n));
                (n.clone(), kind)
            })
            .collect();

        let id_columns: Vec<&Column> = resource
            .import_id_fields()
            .iter()
            .filter_map(|id| columns.iter().find(|c| &c.field.name == id))
            .collect();
        let missing: Vec<&str> = id_columns
            .iter()
            .filter(|c| c.header.is_none())
            .map(|c| c.field.column_name.as_str())
            .collect();
        let explicit_ids = !resource.options.import_id_fields.is_empty()
            && resource.import_id_fields() != [resource.primary_key.as_str()];
        let id_slots = if missing.is_empty() {
            Some(id_columns.iter().filter_map(|c| c.slot).collect())
        } else if explicit_ids && !headers.is_empty() {
            return Err(ImportError::Columns {
                file: file_name.to_owned(),
                message: format!(
                    "the import id column{} {} {} missing (the file's columns are: {})",
                    if missing.len() > 1 { "s" } else { "" },
                    missing
                        .iter()
                        .map(|m| format!("\"{m}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if missing.len() > 1 { "are" } else { "is" },
                    headers.join(", ")
                ),
            });
        } else {
            // The default id (the primary key) is absent: every row is new.
            None
        };
        let id_column_indices = resource
            .import_id_fields()
            .iter()
            .filter_map(|id| columns.iter().position(|c| &c.field.name == id))
            .collect();
        let id_attributes = id_columns
            .iter()
            .map(|c| c.field.attribute.clone())
            .collect();
        let mut write_slots: Vec<usize> = columns
            .iter()
            .filter(|c| !c.field.readonly && (c.header.is_some() || c.field.default.is_some()))
            .filter_map(|c| c.slot)
            .collect();
        write_slots.dedup();
        Ok(Plan {
            table: resource.table.clone(),
            primary_key: resource.primary_key.clone(),
            file: file_name.to_owned(),
            columns,
            names: names.into(),
            kinds,
            pk_slot,
            id_slots,
            id_columns: id_column_indices,
            id_attributes,
            write_slots,
            headers: headers.to_vec(),
            schema,
        })
    }
}

fn column_kind(schema: &TableSchema, name: &str) -> ValueKind {
    schema
        .column(name)
        .map(|c| c.kind)
        .unwrap_or(ValueKind::Text)
}

/// A column a field needs is not in its table.
fn missing_column(table: &str, column: &str, field: &Field) -> StoreError {
    StoreError::new(
        crate::store::StoreErrorKind::NotFound,
        format!(
            "table \"{table}\" has no column \"{column}\" (field \"{}\")",
            field.name
        ),
    )
}

fn resolve_relation(
    store: &mut dyn Store,
    relation: &Relation,
    field: &Field,
) -> Result<ResolvedRelation, ImportError> {
    let target = store.describe(&relation.table)?;
    let not_found = |column: &str| missing_column(&relation.table, column, field);
    for lookup in relation.lookups() {
        target.column(lookup).ok_or_else(|| not_found(lookup))?;
    }
    for condition in &relation.filter {
        target
            .column(condition.column())
            .ok_or_else(|| not_found(condition.column()))?;
    }
    let key_kind = target
        .column(&relation.key)
        .ok_or_else(|| not_found(&relation.key))?
        .kind;
    if let RelationKind::ManyToMany { link, .. } = &relation.kind {
        let link_schema = store.describe(&link.table)?;
        for column in [&link.owner_column, &link.target_column] {
            if link_schema.column(column).is_none() {
                return Err(missing_column(&link.table, column, field).into());
            }
        }
    }
    // The widget cleans a single lookup to its own kind; the columns of a composite key
    // or of a many-to-many list are read back as the related table declares them.
    let lookup_kinds =
        if field.widget.kind() == ValueKind::List || !relation.more_lookups.is_empty() {
            relation
                .lookups()
                .map(|c| target.column(c).map(|c| c.kind).unwrap_or(ValueKind::Text))
                .collect()
        } else {
            vec![field.widget.kind()]
        };
    Ok(ResolvedRelation {
        relation: relation.clone(),
        lookup_kinds,
        key_kind,
    })
}

/// A lookup key's resolution: the related row's key, or how many rows matched.
#[derive(Debug, Clone)]
enum Hit {
    Found(Value),
    Ambiguous(usize),
    Missing,
    /// `create_missing` tried, and the database refused the row, for this reason.
    Refused(String),
}

/// One file row on its way through a batch.
#[derive(Default)]
struct Pending {
    row: Row,
    /// The import key, once the row is classified (its values move into the record).
    key: Option<Vec<Value>>,
    /// Cleaned value per plan column (lookup keys resolved to related keys).
    values: Vec<Value>,
    errors: Vec<RowError>,
    outcome: Option<RowOutcome>,
    instance: Option<Record>,
    original: Option<Record>,
    /// Many-to-many targets per plan column (empty for other columns).
    links: Vec<Option<Vec<Value>>>,
    /// The existing links, for updates that compare or replace them.
    old_links: Vec<Option<Vec<Value>>>,
}

struct Run<'a> {
    resource: &'a Resource,
    plan: &'a Plan,
    options: &'a ImportOptions,
    result: ImportResult,
    /// Per plan column: lookup key → hit, kept for the whole import.
    lookups: Vec<HashMap<Value, Hit>>,
    /// Per plan column: related key → lookup key, to show names rather than ids in diffs.
    reverse: Vec<HashMap<Value, Value>>,
    sink: &'a mut dyn RowSink,
}

impl Run<'_> {
    fn run_all(
        &mut self,
        store: &mut dyn Store,
        reader: &mut dyn RowReader,
    ) -> Result<(), ImportError> {
        self.resource
            .hooks
            .before_import(&self.plan.headers, &self.options.context)?;
        let batch_size = self.resource.options.batch_size.max(1);
        let mut batch: Vec<Pending> = Vec::with_capacity(batch_size);
        let mut spare: Vec<Pending> = Vec::new();
        loop {
            let mut pending = spare.pop().unwrap_or_default();
            if !reader.read_row(&mut pending.row)? {
                break;
            }
            batch.push(pending);
            if batch.len() == batch_size {
                self.process_batch(store, &mut batch)?;
                spare.append(&mut batch);
            }
        }
        if !batch.is_empty() {
            self.process_batch(store, &mut batch)?;
        }
        Ok(())
    }

    fn process_batch(
        &mut self,
        store: &mut dyn Store,
        batch: &mut [Pending],
    ) -> Result<(), ImportError> {
        for pending in batch.iter_mut() {
            self.clean_row(pending);
        }
        self.resolve_lookups(store, batch)?;
        let existing = self.load_existing(store, batch)?;
        self.classify_and_write(store, batch, existing)
    }

    /// Runs `before_import_row` and cleans every field of one row, collecting every error.
    fn clean_row(&mut self, pending: &mut Pending) {
        pending.values.clear();
        pending.errors.clear();
        pending.outcome = None;
        pending.key = None;
        pending.instance = None;
        pending.original = None;
        pending.links.clear();
        pending.old_links.clear();
        let number = pending.row.number;
        let ctx = &self.options.context;
        let mut data = RowData {
            number,
            headers: &self.plan.headers,
            cells: &mut pending.row.cells,
        };
        if let Err(e) = self.resource.hooks.before_import_row(&mut data, ctx) {
            pending
                .errors
                .push(row_error(number, None, None, e.0, RowOutcome::Error));
        }
        for column in &self.plan.columns {
            let cell = column.header.and_then(|h| pending.row.cells.get(h));
            let cleaned = match cell {
                Some(cell) => column.field.widget.clean(cell),
                None => Ok(Value::Null),
            };
            let value = match cleaned {
                Ok(v) => apply_default(v, &column.field),
                Err(e) => {
                    pending.errors.push(row_error(
                        number,
                        Some(&column.field.column_name),
                        cell.map(|c| c.to_string()),
                        e.message,
                        RowOutcome::Invalid,
                    ));
                    Value::Null
                }
            };
            pending.values.push(value);
        }
    }

    /// Resolves every relation's lookup keys for the batch: one query per relation, and
    /// only for keys not seen earlier in the import.
    fn resolve_lookups(
        &mut self,
        store: &mut dyn Store,
        batch: &mut [Pending],
    ) -> Result<(), ImportError> {
        for (ci, column) in self.plan.columns.iter().enumerate() {
            let Some(rel) = &column.relation else {
                continue;
            };
            let relation = &rel.relation;
            let cache = &mut self.lookups[ci];
            // A key of several columns is one `Value::List` of a foreign key's cell; every
            // other key is one value (each item of a many-to-many list).
            let composite = !relation.more_lookups.is_empty();
            let mut wanted: Vec<Vec<Value>> = Vec::new();
            let mut seen: HashSet<&Value> = HashSet::new();
            for pending in batch.iter() {
                for key in lookup_keys(&pending.values[ci], composite) {
                    if !cache.contains_key(key) && seen.insert(key) {
                        wanted.push(fetch_key(key, composite));
                    }
                }
            }
            if !wanted.is_empty() {
                let key_columns: Vec<String> = relation.lookups().cloned().collect();
                let mut columns: Vec<(String, ValueKind)> = key_columns
                    .iter()
                    .zip(&rel.lookup_kinds)
                    .map(|(c, k)| (c.clone(), *k))
                    .collect();
                columns.push((relation.key.clone(), rel.key_kind));
                let rows = store.fetch(
                    &Fetch {
                        table: &relation.table,
                        key_columns: &key_columns,
                        columns: &columns,
                        filter: &relation.filter,
                    },
                    &wanted,
                )?;
                for key in &wanted {
                    cache.insert(cache_key(key.clone(), composite), Hit::Missing);
                }
                for mut row in rows {
                    let key = row.pop().unwrap_or_default();
                    let lookup = cache_key(row, composite);
                    self.reverse[ci].insert(key.clone(), lookup.clone());
                    let hit = match cache.get(&lookup) {
                        Some(Hit::Found(_)) => Hit::Ambiguous(2),
                        Some(Hit::Ambiguous(n)) => Hit::Ambiguous(n + 1),
                        _ => Hit::Found(key),
                    };
                    cache.insert(lookup, hit);
                }
                if relation.on_missing == OnMissing::Create {
                    let missing: Vec<Vec<Value>> = wanted
                        .into_iter()
                        .filter(|k| {
                            matches!(
                                cache.get(&cache_key(k.clone(), composite)),
                                Some(Hit::Missing)
                            )
                        })
                        .collect();
                    create_missing(
                        store,
                        relation,
                        &key_columns,
                        missing,
                        cache,
                        &mut self.reverse[ci],
                        composite,
                    )?;
                }
            }
            for pending in batch.iter_mut() {
                let number = pending.row.number;
                let raw = column
                    .header
                    .and_then(|h| pending.row.cells.get(h))
                    .map(|c| c.to_string());
                let value = std::mem::take(&mut pending.values[ci]);
                let resolved = match value {
                    Value::Null => Ok(Value::Null),
                    Value::List(keys) if !composite => {
                        let mut targets = Vec::with_capacity(keys.len());
                        let mut problems = Vec::new();
                        for key in &keys {
                            match cache.get(key) {
                                Some(Hit::Found(k)) => {
                                    if !targets.contains(k) {
                                        targets.push(k.clone())
                                    }
                                }
                                Some(Hit::Ambiguous(n)) => {
                                    problems.push(format!("\"{key}\" matches {n}"))
                                }
                                Some(Hit::Refused(why)) => problems
                                    .push(format!("\"{key}\", which could not be created: {why}")),
                                _ if relation.on_missing == OnMissing::Ignore => {}
                                _ => problems.push(format!("\"{key}\"")),
                            }
                        }
                        if problems.is_empty() {
                            Ok(Value::List(targets))
                        } else {
                            Err(format!(
                                "names no {} row for {} (looked up by {})",
                                rel.relation.table,
                                problems.join(", "),
                                rel.relation.lookup
                            ))
                        }
                    }
                    key => match cache.get(&key) {
                        Some(Hit::Found(k)) => Ok(k.clone()),
                        Some(Hit::Refused(why)) => Err(format!(
                            "matches no {} row, and one could not be created: {why}",
                            rel.relation.table
                        )),
                        Some(Hit::Missing) | None if relation.on_missing == OnMissing::Ignore => {
                            Ok(Value::Null)
                        }
                        Some(Hit::Ambiguous(n)) => Err(format!(
                            "matches {n} {} rows (looked up by {}); it must match one",
                            rel.relation.table,
                            lookup_names(relation)
                        )),
                        _ => Err(format!(
                            "matches no {} row (looked up by {}{})",
                            rel.relation.table,
                            lookup_names(relation),
                            if relation.filter.is_empty() {
                                ""
                            } else {
                                " among the rows its filter allows"
                            }
                        )),
                    },
                };
                match resolved {
                    Ok(v) => pending.values[ci] = v,
                    Err(message) => pending.errors.push(row_error(
                        number,
                        Some(&column.field.column_name),
                        raw,
                        message,
                        RowOutcome::Invalid,
                    )),
                }
            }
        }
        Ok(())
    }

    /// The import key of a row: its import-id values, `None` when the row has none.
    fn key_of(&self, pending: &Pending) -> Option<Vec<Value>> {
        self.plan.id_slots.as_ref()?;
        let mut key = Vec::with_capacity(self.plan.id_columns.len());
        for &ci in &self.plan.id_columns {
            let v = &pending.values[ci];
            if v.is_null() || matches!(v, Value::Text(s) if s.is_empty()) {
                return None;
            }
            key.push(v.clone());
        }
        Some(key)
    }

    /// Loads the existing records the batch's keys name, with one query.
    fn load_existing(
        &mut self,
        store: &mut dyn Store,
        batch: &mut [Pending],
    ) -> Result<HashMap<Vec<Value>, Record>, ImportError> {
        let mut existing = HashMap::new();
        if self.resource.options.force_init_instance {
            // Every row is new: no query for existing records.
            return Ok(existing);
        }
        let mut keys: Vec<Vec<Value>> = Vec::new();
        let mut seen = HashSet::new();
        for pending in batch.iter() {
            if !pending.errors.is_empty() {
                continue;
            }
            if let Some(key) = self.key_of(pending) {
                if seen.insert(key.clone()) {
                    keys.push(key);
                }
            }
        }
        if keys.is_empty() {
            return Ok(existing);
        }
        let slots = self.plan.id_slots.clone().unwrap_or_default();
        let rows = store.fetch(
            &Fetch {
                table: &self.plan.table,
                key_columns: &self.plan.id_attributes,
                columns: &self.plan.kinds,
                filter: &[],
            },
            &keys,
        )?;
        // The widget of each record slot, to read stored values as `clean` makes them.
        let readers: Vec<Option<&Field>> = (0..self.plan.names.len())
            .map(|slot| {
                self.plan
                    .columns
                    .iter()
                    .find(|c| c.slot == Some(slot) && c.relation.is_none())
                    .map(|c| &c.field)
            })
            .collect();
        for values in rows {
            let mut record = Record::new(self.plan.names.clone());
            for ((slot, v), reader) in record.values_mut().iter_mut().zip(values).zip(&readers) {
                *slot = match reader {
                    Some(field) => field.widget.read_stored(v),
                    None => v,
                };
            }
            let key: Vec<Value> = slots.iter().map(|&s| record.values()[s].clone()).collect();
            existing.insert(key, record);
        }
        Ok(existing)
    }

    fn classify_and_write(
        &mut self,
        store: &mut dyn Store,
        batch: &mut [Pending],
        mut existing: HashMap<Vec<Value>, Record>,
    ) -> Result<(), ImportError> {
        self.load_links(store, batch, &existing)?;
        let ctx = &self.options.context;
        let hooks = self.resource.hooks.clone();
        let mut start = 0;
        let mut keys_in_flight: HashSet<Vec<Value>> = HashSet::new();
        for i in 0..batch.len() {
            let key = if batch[i].errors.is_empty() {
                self.key_of(&batch[i])
            } else {
                None
            };
            if let Some(key) = &key {
                // The same key twice in one batch: write what came before, so this row
                // sees the record the earlier one made.
                if keys_in_flight.contains(key) {
                    self.write(store, &mut batch[start..i], &mut existing)?;
                    start = i;
                    keys_in_flight.clear();
                    self.load_links(store, &mut batch[i..i + 1], &existing)?;
                }
                keys_in_flight.insert(key.clone());
            }
            let pending = &mut batch[i];
            pending.key = key.clone();
            if !pending.errors.is_empty() {
                let outcome = if pending
                    .errors
                    .iter()
                    .any(|e| e.outcome == RowOutcome::Error)
                {
                    RowOutcome::Error
                } else {
                    RowOutcome::Invalid
                };
                pending.outcome = Some(outcome);
                continue;
            }
            let original = key.as_ref().and_then(|k| existing.get(k)).cloned();
            let number = pending.row.number;
            let data = RowData {
                number,
                headers: &self.plan.headers,
                cells: &mut pending.row.cells,
            };
            let mut instance = match &original {
                Some(record) => record.clone(),
                None => {
                    let mut record = Record::new(self.plan.names.clone());
                    hooks.init_instance(&mut record, &data, ctx);
                    record
                }
            };
            hooks.after_init_instance(&mut instance, original.is_none(), &data, ctx);
            let delete_rule = self
                .resource
                .options
                .delete_when
                .as_ref()
                .is_some_and(|rule| rule.matches(&data));
            if delete_rule || hooks.for_delete(&data, &instance, ctx) {
                // before_delete_instance runs just before the batch is written.
                pending.outcome = Some(if original.is_some() {
                    RowOutcome::Delete
                } else {
                    RowOutcome::Skip
                });
                pending.instance = Some(instance);
                pending.original = original;
                continue;
            }
            let mut failure = None;
            pending.links = vec![None; self.plan.columns.len()];
            for (ci, column) in self.plan.columns.iter().enumerate() {
                if column.field.readonly
                    || (column.header.is_none() && column.field.default.is_none())
                {
                    continue;
                }
                // saves_null_values = false: a cleaned null keeps the stored value.
                if !column.field.saves_null_values && pending.values[ci].is_null() {
                    continue;
                }
                let value = std::mem::take(&mut pending.values[ci]);
                if column.slot.is_none() {
                    if let Value::List(mut targets) = value {
                        // m2m_add: the row keeps the links it has and gains the file's.
                        if adds_links(column) {
                            if let Some(Some(old)) = pending.old_links.get(ci) {
                                let mut all = old.clone();
                                all.extend(targets.into_iter().filter(|t| !old.contains(t)));
                                targets = all;
                            }
                        }
                        pending.links[ci] = Some(targets);
                    }
                    continue;
                }
                if let Err(e) = hooks.import_field(&column.field, &mut instance, value, &data, ctx)
                {
                    failure = Some(e);
                    break;
                }
            }
            if let Some(e) = failure {
                pending
                    .errors
                    .push(row_error(number, None, None, e.0, RowOutcome::Error));
                pending.outcome = Some(RowOutcome::Error);
                continue;
            }
            let skip = hooks
                .skip_row(&instance, original.as_ref(), &data, ctx)
                .unwrap_or_else(|| {
                    let options = &self.resource.options;
                    options.skip_unchanged
                        && !options.skip_diff
                        && original.as_ref() == Some(&instance)
                        && links_unchanged(&pending.links, &pending.old_links)
                });
            // New and updated rows meet the constraint checks and before_save_instance
            // just before the batch is written (see `write`).
            pending.outcome = Some(if skip {
                RowOutcome::Skip
            } else if original.is_some() {
                RowOutcome::Update
            } else {
                RowOutcome::New
            });
            pending.instance = Some(instance);
            pending.original = original;
        }
        self.write(store, &mut batch[start..], &mut existing)
    }

    /// Loads the current links of the rows that update existing records, when a
    /// many-to-many field is imported: one query per such field.
    fn load_links(
        &mut self,
        store: &mut dyn Store,
        batch: &mut [Pending],
        existing: &HashMap<Vec<Value>, Record>,
    ) -> Result<(), ImportError> {
        let pk_slot = self.plan.pk_slot;
        for (ci, column) in self.plan.columns.iter().enumerate() {
            let Some(link) = link_of(column) else {
                continue;
            };
            if column.header.is_none() {
                continue;
            }
            let mut owners: Vec<Vec<Value>> = Vec::new();
            let mut owner_of_row: Vec<Option<Value>> = Vec::with_capacity(batch.len());
            for pending in batch.iter() {
                let owner = if pending.errors.is_empty() {
                    self.key_of(pending)
                        .and_then(|k| existing.get(&k))
                        .map(|r| r.values()[pk_slot].clone())
                } else {
                    None
                };
                if let Some(o) = &owner {
                    owners.push(vec![o.clone()]);
                }
                owner_of_row.push(owner);
            }
            let mut current: HashMap<Value, Vec<Value>> = HashMap::new();
            if !owners.is_empty() {
                let key_kind = self.plan.kinds[pk_slot].1;
                let rel = column
                    .relation
                    .as_ref()
                    .map(|r| r.key_kind)
                    .unwrap_or(ValueKind::Int);
                let rows = store.fetch(
                    &Fetch {
                        table: &link.table,
                        key_columns: std::slice::from_ref(&link.owner_column),
                        columns: &[
                            (link.owner_column.clone(), key_kind),
                            (link.target_column.clone(), rel),
                        ],
                        filter: &[],
                    },
                    &owners,
                )?;
                for mut row in rows {
                    let target = row.pop().unwrap_or_default();
                    let owner = row.pop().unwrap_or_default();
                    current.entry(owner).or_default().push(target);
                }
            }
            for (pending, owner) in batch.iter_mut().zip(owner_of_row) {
                if pending.old_links.len() < self.plan.columns.len() {
                    pending.old_links = vec![None; self.plan.columns.len()];
                }
                if let Some(owner) = owner {
                    pending.old_links[ci] = Some(current.remove(&owner).unwrap_or_default());
                }
            }
        }
        Ok(())
    }

    /// Writes a run of classified rows: inserts, updates, deletes, then links; then the
    /// after-hooks and the bookkeeping, row by row in file order.
    fn write(
        &mut self,
        store: &mut dyn Store,
        rows: &mut [Pending],
        existing: &mut HashMap<Vec<Value>, Record>,
    ) -> Result<(), ImportError> {
        if self.resource.options.clean_model_instances {
            self.clean_instances(store, rows)?;
        }
        self.before_write(rows);
        let plan = self.plan;
        let pk = plan.pk_slot;
        let names = &plan.names;

        // Inserts, split by whether the row brings its own primary key (decided before
        // the first insert gives the others theirs), and by the attributes a hook set
        // beyond the file's columns (so that a NULL never overrides a column's default).
        let mut groups: BTreeMap<(bool, Vec<usize>), Vec<usize>> = BTreeMap::new();
        for (i, pending) in rows.iter().enumerate() {
            if pending.outcome != Some(RowOutcome::New) {
                continue;
            }
            let values = pending.instance.as_ref().map(|r| r.values()).unwrap_or(&[]);
            let with_key = values.get(pk).is_some_and(|v| !v.is_null());
            let extra = (0..values.len())
                .filter(|&s| s != pk && !plan.write_slots.contains(&s) && !values[s].is_null())
                .collect();
            groups.entry((with_key, extra)).or_default().push(i);
        }
        for ((with_key, extra), idx) in groups {
            let mut slots: Vec<usize> = plan
                .write_slots
                .iter()
                .copied()
                .filter(|&s| s != pk)
                .collect();
            slots.extend(extra);
            if with_key {
                slots.push(pk);
            }
            let columns: Vec<String> = slots.iter().map(|&s| names[s].clone()).collect();
            let values: Vec<Vec<Value>> = idx
                .iter()
                .map(|&i| {
                    let record = rows[i].instance.as_ref().map(|r| r.values()).unwrap_or(&[]);
                    slots
                        .iter()
                        .map(|&s| record.get(s).cloned().unwrap_or_default())
                        .collect()
                })
                .collect();
            let outcomes = store.insert(&plan.table, &columns, &values, Some(&plan.primary_key))?;
            for (&i, outcome) in idx.iter().zip(outcomes) {
                match outcome {
                    Ok(key) => {
                        if let Some(record) = rows[i].instance.as_mut() {
                            record.values_mut()[pk] = key;
                        }
                    }
                    Err(message) => fail(&mut rows[i], message),
                }
            }
        }

        // Updates, grouped by the attributes a hook changed beyond the file's columns.
        let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
        for (i, pending) in rows.iter().enumerate() {
            if pending.outcome != Some(RowOutcome::Update) {
                continue;
            }
            let values = pending.instance.as_ref().map(|r| r.values()).unwrap_or(&[]);
            let before = pending.original.as_ref().map(|r| r.values()).unwrap_or(&[]);
            let extra = (0..values.len())
                .filter(|&s| {
                    s != pk && !plan.write_slots.contains(&s) && before.get(s) != values.get(s)
                })
                .collect();
            groups.entry(extra).or_default().push(i);
        }
        for (extra, idx) in groups {
            let mut slots: Vec<usize> = plan
                .write_slots
                .iter()
                .copied()
                .filter(|&s| s != pk)
                .collect();
            slots.extend(extra);
            if slots.is_empty() {
                continue;
            }
            let columns: Vec<String> = slots.iter().map(|&s| names[s].clone()).collect();
            let values: Vec<(Value, Vec<Value>)> = idx
                .iter()
                .map(|&i| {
                    let record = rows[i].instance.as_ref().map(|r| r.values()).unwrap_or(&[]);
                    (
                        record.get(pk).cloned().unwrap_or_default(),
                        slots
                            .iter()
                            .map(|&s| record.get(s).cloned().unwrap_or_default())
                            .collect(),
                    )
                })
                .collect();
            let outcomes = store.update(&plan.table, &plan.primary_key, &columns, &values)?;
            for (&i, outcome) in idx.iter().zip(outcomes) {
                if let Err(message) = outcome {
                    fail(&mut rows[i], message);
                }
            }
        }

        // Deletes: links first, so that no link is left pointing at a deleted row.
        let idx: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, p)| p.outcome == Some(RowOutcome::Delete))
            .map(|(i, _)| i)
            .collect();
        if !idx.is_empty() {
            let keys: Vec<Vec<Value>> = idx
                .iter()
                .map(|&i| {
                    vec![rows[i]
                        .instance
                        .as_ref()
                        .map(|r| r.values()[pk].clone())
                        .unwrap_or_default()]
                })
                .collect();
            for column in &plan.columns {
                if let Some(link) = link_of(column) {
                    store.delete(&link.table, std::slice::from_ref(&link.owner_column), &keys)?;
                }
            }
            let outcomes =
                store.delete(&plan.table, std::slice::from_ref(&plan.primary_key), &keys)?;
            for (&i, outcome) in idx.iter().zip(outcomes) {
                if let Err(message) = outcome {
                    fail(&mut rows[i], message);
                }
            }
        }

        self.write_links(store, rows)?;
        self.finish_rows(rows, existing)
    }

    /// `before_save_instance` and `before_delete_instance`, for the rows about to be
    /// written, in file order. A refusal makes the row an error row, left unwritten.
    fn before_write(&mut self, rows: &mut [Pending]) {
        let ctx = &self.options.context;
        let hooks = self.resource.hooks.clone();
        for pending in rows.iter_mut() {
            let number = pending.row.number;
            let Some(instance) = pending.instance.as_mut() else {
                continue;
            };
            let data = RowData {
                number,
                headers: &self.plan.headers,
                cells: &mut pending.row.cells,
            };
            let done = match pending.outcome {
                Some(RowOutcome::New | RowOutcome::Update) => {
                    hooks.before_save_instance(instance, &data, ctx)
                }
                Some(RowOutcome::Delete) => hooks.before_delete_instance(instance, &data, ctx),
                _ => Ok(()),
            };
            if let Err(e) = done {
                fail(pending, e.0);
            }
        }
    }

    /// `clean_model_instances`: checks each new and updated row against the table's
    /// constraints before anything is written, and makes a row that breaks one invalid with
    /// an error that names the field. NOT NULL and lengths are checked in memory; unique
    /// constraints with one query per constraint and batch (rows written earlier in the
    /// import are in the table by then); CHECK constraints with one query per batch, by the
    /// store.
    fn clean_instances(
        &mut self,
        store: &mut dyn Store,
        rows: &mut [Pending],
    ) -> Result<(), ImportError> {
        let plan = self.plan;
        let schema = &plan.schema;
        let pk = plan.pk_slot;
        let candidate =
            |p: &Pending| matches!(p.outcome, Some(RowOutcome::New | RowOutcome::Update));
        let column_of_slot =
            |slot: usize| -> Option<&Column> { plan.columns.iter().find(|c| c.slot == Some(slot)) };
        let header_of = |slot: usize| -> Option<String> {
            column_of_slot(slot).map(|c| c.field.column_name.clone())
        };
        let table = &plan.table;

        // NOT NULL and length, in memory.
        let unfilled: Vec<&str> = schema
            .columns
            .iter()
            .filter(|c| !c.nullable && !c.has_default && !c.primary_key)
            .filter(|c| !plan.write_slots.iter().any(|&s| plan.names[s] == c.name))
            .map(|c| c.name.as_str())
            .collect();
        for pending in rows.iter_mut().filter(|p| candidate(p)) {
            let number = pending.row.number;
            let Some(instance) = pending.instance.as_ref() else {
                continue;
            };
            let mut errors = Vec::new();
            for &slot in &plan.write_slots {
                let Some(column) = schema.column(&plan.names[slot]) else {
                    continue;
                };
                let value = &instance.values()[slot];
                let header = header_of(slot);
                if value.is_null() && !column.nullable && slot != pk {
                    errors.push(row_error(
                        number,
                        header.as_deref(),
                        None,
                        format!(
                            "is required: {table}.{} cannot be empty (NOT NULL)",
                            column.name
                        ),
                        RowOutcome::Invalid,
                    ));
                }
                if let (Value::Text(text), Some(max)) = (value, column.max_length) {
                    let length = text.chars().count();
                    if length > max {
                        errors.push(row_error(
                            number,
                            header.as_deref(),
                            Some(text.clone()),
                            format!(
                                "is {length} characters long, and {table}.{} holds at most {max} ({})",
                                column.name, column.declared_type
                            ),
                            RowOutcome::Invalid,
                        ));
                    }
                }
            }
            if pending.outcome == Some(RowOutcome::New) {
                // A hook may have filled the column (init_instance, after_init_instance).
                let filled = |name: &str| instance.get(name).is_some_and(|v| !v.is_null());
                for name in unfilled.iter().filter(|n| !filled(n)) {
                    errors.push(row_error(
                        number,
                        None,
                        None,
                        format!(
                            "{table}.{name} cannot be empty (NOT NULL, no default), and no column of the file fills it"
                        ),
                        RowOutcome::Invalid,
                    ));
                }
            }
            if !errors.is_empty() {
                pending.errors.extend(errors);
                pending.outcome = Some(RowOutcome::Invalid);
            }
        }

        // Unique constraints whose columns the record holds.
        for unique in &schema.unique {
            let slots: Option<Vec<usize>> = unique
                .iter()
                .map(|c| plan.names.iter().position(|n| n == c))
                .collect();
            let Some(slots) = slots else {
                continue;
            };
            let key_of = |p: &Pending| -> Option<Vec<Value>> {
                let instance = p.instance.as_ref()?;
                let key: Vec<Value> = slots
                    .iter()
                    .map(|&s| instance.values()[s].clone())
                    .collect();
                (!key.iter().any(Value::is_null)).then_some(key)
            };
            let mut first_row: HashMap<Vec<Value>, u64> = HashMap::new();
            let mut wanted: Vec<Vec<Value>> = Vec::new();
            let mut duplicate: Vec<Option<u64>> = vec![None; rows.len()];
            for (i, pending) in rows.iter().enumerate() {
                if !candidate(pending) {
                    continue;
                }
                let Some(key) = key_of(pending) else {
                    continue;
                };
                match first_row.get(&key) {
                    Some(&n) => duplicate[i] = Some(n),
                    None => {
                        first_row.insert(key.clone(), pending.row.number);
                        wanted.push(key);
                    }
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let mut columns: Vec<(String, ValueKind)> =
                slots.iter().map(|&s| plan.kinds[s].clone()).collect();
            columns.push(plan.kinds[pk].clone());
            let mut holders: HashMap<Vec<Value>, Vec<Value>> = HashMap::new();
            for mut row in store.fetch(
                &Fetch {
                    table,
                    key_columns: unique,
                    columns: &columns,
                    filter: &[],
                },
                &wanted,
            )? {
                let holder = row.pop().unwrap_or_default();
                holders.entry(row).or_default().push(holder);
            }
            let one = slots.len() == 1;
            let header = if one { header_of(slots[0]) } else { None };
            let described = if one {
                format!("{table}.{} is unique", unique[0])
            } else {
                format!("({}) is unique in {table}", unique.join(", "))
            };
            for (i, pending) in rows.iter_mut().enumerate() {
                if !candidate(pending) {
                    continue;
                }
                let Some(key) = key_of(pending) else {
                    continue;
                };
                let own = pending
                    .instance
                    .as_ref()
                    .map(|r| r.values()[pk].clone())
                    .unwrap_or_default();
                let taken_by_other = holders
                    .get(&key)
                    .is_some_and(|h| h.iter().any(|k| own.is_null() || k != &own));
                let shown = key
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let message = match duplicate[i] {
                    Some(n) => Some(format!("is also in row {n}, and {described}")),
                    None if taken_by_other => Some(format!(
                        "is already used by another {table} row, and {described}"
                    )),
                    None => None,
                };
                if let Some(message) = message {
                    let number = pending.row.number;
                    pending.errors.push(row_error(
                        number,
                        header.as_deref(),
                        Some(shown),
                        message,
                        RowOutcome::Invalid,
                    ));
                    pending.outcome = Some(RowOutcome::Invalid);
                }
            }
        }

        // CHECK constraints, which the store evaluates without writing.
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| candidate(&rows[i])).collect();
        if !idx.is_empty() {
            let names: Vec<String> = plan.names.to_vec();
            let values: Vec<Vec<Value>> = idx
                .iter()
                .map(|&i| {
                    rows[i]
                        .instance
                        .as_ref()
                        .map(|r| r.values().to_vec())
                        .unwrap_or_default()
                })
                .collect();
            for (at, check) in store.check_rows(table, &names, &values)? {
                let Some(&i) = idx.get(at) else {
                    continue;
                };
                let pending = &mut rows[i];
                let number = pending.row.number;
                pending.errors.push(row_error(
                    number,
                    None,
                    None,
                    format!("breaks the {table} table's check {check}"),
                    RowOutcome::Invalid,
                ));
                pending.outcome = Some(RowOutcome::Invalid);
            }
        }
        Ok(())
    }

    /// Sets each saved row's many-to-many links to exactly the file's list.
    fn write_links(
        &mut self,
        store: &mut dyn Store,
        rows: &mut [Pending],
    ) -> Result<(), ImportError> {
        let pk = self.plan.pk_slot;
        for (ci, column) in self.plan.columns.iter().enumerate() {
            let Some(link) = link_of(column) else {
                continue;
            };
            let mut add: Vec<Vec<Value>> = Vec::new();
            let mut remove: Vec<Vec<Value>> = Vec::new();
            for pending in rows.iter() {
                if !matches!(pending.outcome, Some(RowOutcome::New | RowOutcome::Update)) {
                    continue;
                }
                let Some(Some(targets)) = pending.links.get(ci) else {
                    continue;
                };
                let owner = pending
                    .instance
                    .as_ref()
                    .map(|r| r.values()[pk].clone())
                    .unwrap_or_default();
                let old: &[Value] = match pending.old_links.get(ci) {
                    Some(Some(old)) => old,
                    _ => &[],
                };
                for t in targets {
                    if !old.contains(t) {
                        add.push(vec![owner.clone(), t.clone()]);
                    }
                }
                for t in old {
                    if !targets.contains(t) {
                        remove.push(vec![owner.clone(), t.clone()]);
                    }
                }
            }
            let columns = [link.owner_column.clone(), link.target_column.clone()];
            if !remove.is_empty() {
                store.delete(&link.table, &columns, &remove)?;
            }
            if !add.is_empty() {
                for outcome in store.insert(&link.table, &columns, &add, None)? {
                    if let Err(message) = outcome {
                        return Err(StoreError::new(
                            crate::store::StoreErrorKind::Database,
                            message,
                        )
                        .into());
                    }
                }
            }
        }
        Ok(())
    }

    /// After-hooks, totals, errors and previews for written rows, in file order.
    fn finish_rows(
        &mut self,
        rows: &mut [Pending],
        existing: &mut HashMap<Vec<Value>, Record>,
    ) -> Result<(), ImportError> {
        let ctx = &self.options.context;
        let hooks = self.resource.hooks.clone();
        for pending in rows.iter_mut() {
            let number = pending.row.number;
            let mut outcome = pending.outcome.unwrap_or(RowOutcome::Error);
            if let Some(instance) = pending.instance.as_ref() {
                let data = RowData {
                    number,
                    headers: &self.plan.headers,
                    cells: &mut pending.row.cells,
                };
                let after = match outcome {
                    RowOutcome::New | RowOutcome::Update => {
                        hooks.after_save_instance(instance, &data, ctx)
                    }
                    RowOutcome::Delete => hooks.after_delete_instance(instance, &data, ctx),
                    _ => Ok(()),
                };
                if let Err(e) = after {
                    pending
                        .errors
                        .push(row_error(number, None, None, e.0, RowOutcome::Error));
                    outcome = RowOutcome::Error;
                }
            }
            if let Some(key) = pending.key.clone() {
                match (outcome, pending.instance.take()) {
                    (RowOutcome::New | RowOutcome::Update, Some(instance)) => {
                        existing.insert(key, instance.clone());
                        pending.instance = Some(instance);
                    }
                    (RowOutcome::Delete, instance) => {
                        existing.remove(&key);
                        pending.instance = instance;
                    }
                    (_, instance) => pending.instance = instance,
                }
            }
            {
                let data = RowData {
                    number,
                    headers: &self.plan.headers,
                    cells: &mut pending.row.cells,
                };
                hooks.after_import_row(&data, outcome, ctx);
            }
            self.result.totals.add(outcome);
            let reported = outcome != RowOutcome::Skip || self.resource.options.report_skipped;
            // A row's errors in column order, lookups included.
            let position = |e: &RowError| {
                self.plan
                    .columns
                    .iter()
                    .position(|c| Some(&c.field.column_name) == e.column.as_ref())
                    .unwrap_or(usize::MAX)
            };
            pending.errors.sort_by_key(position);
            if matches!(outcome, RowOutcome::Invalid | RowOutcome::Error)
                && self.sink.wants_failed_rows()
            {
                self.sink
                    .failed_row(number, &pending.row.cells, &pending.errors);
            }
            let keep = self.result.rows.len() < self.options.preview_rows;
            if reported && (keep || self.sink.wants_rows()) {
                let row_result = self.row_result(pending, outcome);
                self.sink.row(&row_result, &pending.errors);
                if keep {
                    self.result.rows.push(row_result);
                }
            }
            for error in pending.errors.drain(..) {
                if self.options.raise_errors {
                    return Err(ImportError::RowFailed(error, self.plan.file.clone()));
                }
                if self.result.errors.len() < self.options.max_errors {
                    self.result.errors.push(error);
                }
            }
        }
        Ok(())
    }

    /// The preview of one row: its outcome and what changes, values rendered as in a file.
    fn row_result(&self, pending: &Pending, outcome: RowOutcome) -> RowResult {
        let pk = self.plan.pk_slot;
        let key = pending
            .instance
            .as_ref()
            .map(|r| r.values()[pk].to_string())
            .filter(|k| !k.is_empty());
        let mut changes = Vec::new();
        let show = matches!(
            outcome,
            RowOutcome::New | RowOutcome::Update | RowOutcome::Delete
        );
        if show && !self.resource.options.skip_diff {
            for (ci, column) in self.plan.columns.iter().enumerate() {
                let (old, new) = match column.slot {
                    Some(slot) => (
                        pending.original.as_ref().map(|r| r.values()[slot].clone()),
                        pending.instance.as_ref().map(|r| r.values()[slot].clone()),
                    ),
                    None => (
                        pending
                            .old_links
                            .get(ci)
                            .cloned()
                            .flatten()
                            .map(Value::List),
                        pending.links.get(ci).cloned().flatten().map(Value::List),
                    ),
                };
                let new = if outcome == RowOutcome::Delete {
                    None
                } else {
                    new
                };
                let old = self.render(ci, old);
                let new = match (column.slot, new) {
                    (None, None) => old.clone(),
                    (_, new) => self.render(ci, new),
                };
                if old != new {
                    changes.push(Change {
                        column: column.field.column_name.clone(),
                        old,
                        new,
                    });
                }
            }
        }
        let options = &self.resource.options;
        let instance = if options.store_instance {
            match outcome {
                RowOutcome::Delete => pending.original.clone().or(pending.instance.clone()),
                _ => pending.instance.clone(),
            }
        } else {
            None
        };
        let row_values = options.store_row_values.then(|| {
            self.plan
                .headers
                .iter()
                .zip(&pending.row.cells)
                .map(|(h, c)| (h.clone(), c.to_string()))
                .collect()
        });
        RowResult {
            row: pending.row.number,
            outcome,
            key,
            changes,
            instance,
            row_values,
        }
    }

    /// Renders a stored value as the file would hold it; related keys are shown by their
    /// lookup value (the author's name, not its id) when the import has seen it.
    fn render(&self, ci: usize, value: Option<Value>) -> String {
        let Some(value) = value else {
            return String::new();
        };
        let column = &self.plan.columns[ci];
        let value = if column.relation.is_some() {
            let reverse = &self.reverse[ci];
            let shown = |v: Value| reverse.get(&v).cloned().unwrap_or(v);
            match value {
                Value::List(items) => Value::List(items.into_iter().map(shown).collect()),
                v => shown(v),
            }
        } else {
            value
        };
        column.field.widget.render(&value).to_string()
    }
}

fn apply_default(value: Value, field: &Field) -> Value {
    let empty = value.is_null() || matches!(&value, Value::Text(s) if s.is_empty());
    match (&field.default, empty) {
        (Some(default), true) => default.clone(),
        _ => value,
    }
}

/// The keys a cleaned relation value asks for: each item of a many-to-many list, or the
/// foreign key's one value (a `Value::List` of parts for a composite key).
fn lookup_keys(value: &Value, composite: bool) -> &[Value] {
    match value {
        Value::List(_) if composite => std::slice::from_ref(value),
        other => keys_of(other),
    }
}

/// A key as the store is asked for it: one value per lookup column.
fn fetch_key(key: &Value, composite: bool) -> Vec<Value> {
    match key {
        Value::List(parts) if composite => parts.clone(),
        other => vec![other.clone()],
    }
}

/// A key as the lookup cache holds it (the inverse of [`fetch_key`]).
fn cache_key(mut parts: Vec<Value>, composite: bool) -> Value {
    if composite {
        Value::List(parts)
    } else {
        parts.pop().unwrap_or_default()
    }
}

fn lookup_names(relation: &Relation) -> String {
    relation
        .lookups()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts the related rows that a batch names and that do not exist, with one statement:
/// their lookup columns, plus every column that an `=` condition of the filter fixes, so that
/// the new rows are found by the same filter.
fn create_missing(
    store: &mut dyn Store,
    relation: &Relation,
    key_columns: &[String],
    missing: Vec<Vec<Value>>,
    cache: &mut HashMap<Value, Hit>,
    reverse: &mut HashMap<Value, Value>,
    composite: bool,
) -> Result<(), ImportError> {
    if missing.is_empty() {
        return Ok(());
    }
    let mut columns = key_columns.to_vec();
    let mut fixed = Vec::new();
    for condition in &relation.filter {
        if let crate::store::Condition::Compare {
            column,
            op: crate::store::CompareOp::Eq,
            value,
        } = condition
        {
            if !columns.contains(column) {
                columns.push(column.clone());
                fixed.push(value.clone());
            }
        }
    }
    let rows: Vec<Vec<Value>> = missing
        .iter()
        .map(|k| k.iter().chain(&fixed).cloned().collect())
        .collect();
    let outcomes = store.insert(&relation.table, &columns, &rows, Some(&relation.key))?;
    for (key, outcome) in missing.into_iter().zip(outcomes) {
        let lookup = cache_key(key, composite);
        match outcome {
            Ok(new_key) => {
                reverse.insert(new_key.clone(), lookup.clone());
                cache.insert(lookup, Hit::Found(new_key));
            }
            Err(why) => {
                cache.insert(lookup, Hit::Refused(why));
            }
        }
    }
    Ok(())
}

fn keys_of(value: &Value) -> &[Value] {
    match value {
        Value::Null => &[],
        Value::List(items) => items,
        other => std::slice::from_ref(other),
    }
}

fn adds_links(column: &Column) -> bool {
    column
        .relation
        .as_ref()
        .is_some_and(|r| matches!(r.relation.kind, RelationKind::ManyToMany { add: true, .. }))
}

fn link_of(column: &Column) -> Option<&LinkTable> {
    match &column.relation.as_ref()?.relation.kind {
        RelationKind::ManyToMany { link, .. } => Some(link),
        RelationKind::ForeignKey => None,
    }
}

fn links_unchanged(new: &[Option<Vec<Value>>], old: &[Option<Vec<Value>>]) -> bool {
    new.iter().enumerate().all(|(i, targets)| match targets {
        None => true,
        Some(targets) => {
            let old: &[Value] = match old.get(i) {
                Some(Some(o)) => o,
                _ => &[],
            };
            targets.len() == old.len() && targets.iter().all(|t| old.contains(t))
        }
    })
}

fn fail(pending: &mut Pending, message: String) {
    let number = pending.row.number;
    pending
        .errors
        .push(row_error(number, None, None, message, RowOutcome::Error));
    pending.outcome = Some(RowOutcome::Error);
}

fn row_error(
    row: u64,
    column: Option<&str>,
    value: Option<String>,
    message: String,
    outcome: RowOutcome,
) -> RowError {
    RowError {
        row,
        column: column.map(str::to_owned),
        value,
        message,
        outcome,
    }
}
