//! `rowport.toml`: resources declared without Rust code.
//!
//! ```toml
//! database = "sqlite://library.db"
//!
//! [resources.book]
//! table = "book"                     # default: the resource's name
//! import_id_fields = ["isbn"]
//! skip_unchanged = true
//!
//! [resources.book.field.author]
//! widget = "foreign_key"
//! lookup = "name"                    # match the file's values against author.name
//! filter = { active = true }         # only among active authors
//! create_missing = true              # insert the authors no value matches
//!
//! [resources.book.field.categories]
//! widget = "many_to_many"
//! table = "category"
//! lookup = "name"
//! through = "book_categories"
//! separator = "|"
//! m2m_add = true                     # add links instead of replacing them
//!
//! [resources.book.field.publisher]
//! attribute = "author__publisher__name"  # a relation path: exported through joins, never imported
//!
//! [resources.book.field.label]
//! dehydrate = "{{ name }} by {{ author.name }}"  # a computed export column
//! ```
//!
//! A relation path may also be listed directly: `fields = ["isbn", "author__name"]`.
//!
//! Every widget parameter is a key of the field's table (`format`, `time_zone`,
//! `true_values`, `decimal_separator`, `truncate`, …); `docs/reference/widgets.md` lists
//! them all.
//!
//! Every table of the database is also a resource of its own name, with the defaults that
//! introspection gives it; a `[resources.X]` entry refines or renames one. Unknown keys are
//! an error that names them.
//!
//! A `[limits]` table raises or lowers the bounds that keep a hostile file from exhausting
//! memory (command-line flags win over it):
//!
//! ```toml
//! [limits]
//! max_line_bytes = "256MiB"          # a size: bytes, or with a unit (KiB, MiB, GiB, MB, …)
//! max_cell_bytes = "64MiB"
//! max_decompressed_bytes = "8GiB"
//! max_compression_ratio = 500
//! max_cells = 1_000_000_000
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::field::{Field, PATH_SEPARATOR};
use crate::resource::{DeleteRule, Resource};
use crate::store::{Store, StoreError, StoreErrorKind, TableSchema};
use crate::value::{Value, ValueKind};
use crate::widgets::{self, Widget};
use rowport_formats::{Cell, Limits};

/// A `rowport.toml` that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not valid TOML or has keys rowport does not know.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// What the parser said, with the line.
        message: String,
    },
    /// A resource's declaration does not fit the database.
    #[error("{path}: resource \"{resource}\": {message}")]
    Resource {
        /// The file (or `the database` for an undeclared resource).
        path: String,
        /// The resource.
        resource: String,
        /// What is wrong.
        message: String,
    },
    /// No resource or table has that name.
    #[error("no resource or table named \"{name}\"{}", suggestion.as_ref().map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default())]
    UnknownResource {
        /// The name asked for.
        name: String,
        /// The closest known name.
        suggestion: Option<String>,
    },
    /// The database failed while resources were being built.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The parsed `rowport.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The database URL (`sqlite://path`); a relative SQLite path is relative to the file.
    pub database: Option<String>,
    /// Declared resources by name.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceConfig>,
    /// The `[limits]` table.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The `[admin]` table, passed through untouched: the web admin (`rowport-admin`)
    /// reads its own settings from it.
    #[serde(default)]
    pub admin: Option<toml::Table>,
    /// Where the file was read from (empty for a config built in code).
    #[serde(skip)]
    pub path: PathBuf,
}

/// The `[limits]` table: each key, when set, replaces the default of the
/// [`Limits`] field of the same name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// The longest row (line or record) of a text file.
    pub max_line_bytes: Option<Size>,
    /// The longest single cell.
    pub max_cell_bytes: Option<Size>,
    /// The most a compressed workbook may expand to.
    pub max_decompressed_bytes: Option<Size>,
    /// The highest ratio of expanded to compressed size of one archive member.
    pub max_compression_ratio: Option<u64>,
    /// The most cells a worksheet may declare or hold.
    pub max_cells: Option<u64>,
}

impl LimitsConfig {
    /// `limits` with the values this table sets.
    pub fn apply(&self, limits: Limits) -> Limits {
        let bytes = |size: Option<Size>, default: usize| {
            size.map_or(default, |s| usize::try_from(s.0).unwrap_or(usize::MAX))
        };
        Limits {
            max_line_bytes: bytes(self.max_line_bytes, limits.max_line_bytes),
            max_cell_bytes: bytes(self.max_cell_bytes, limits.max_cell_bytes),
            max_decompressed_bytes: self
                .max_decompressed_bytes
                .map_or(limits.max_decompressed_bytes, |s| s.0),
            max_compression_ratio: self
                .max_compression_ratio
                .unwrap_or(limits.max_compression_ratio),
            max_cells: self.max_cells.unwrap_or(limits.max_cells),
        }
    }
}

/// A number of bytes, written in `rowport.toml` as an integer or as text with a unit
/// (`"64MiB"`, see [`rowport_formats::parse_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(
    /// The number of bytes.
    pub u64,
);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer) {
            Ok(Raw::Bytes(bytes)) => Ok(Size(bytes)),
            Ok(Raw::Text(text)) => rowport_formats::parse_size(&text)
                .map(Size)
                .map_err(serde::de::Error::custom),
            Err(_) => Err(serde::de::Error::custom(
                "expected a size: a number of bytes, or text such as \"64MiB\"",
            )),
        }
    }
}

/// One `[resources.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// Another resource (declared, or a table) this one starts from: its table, options and
    /// fields, which this one's keys then override (`extends = "book"`).
    pub extends: Option<String>,
    /// The name people see (DJE `name`, the admin's resource chooser).
    pub verbose_name: Option<String>,
    /// The table (default: the resource's name).
    pub table: Option<String>,
    /// Only these fields, in this order.
    pub fields: Option<Vec<String>>,
    /// Fields left out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Fields that identify an existing row (default: the primary key).
    #[serde(default)]
    pub import_id_fields: Vec<String>,
    /// Fields first on import.
    #[serde(default)]
    pub import_order: Vec<String>,
    /// Fields first on export.
    #[serde(default)]
    pub export_order: Vec<String>,
    /// Skip rows equal to the existing record.
    pub skip_unchanged: Option<bool>,
    /// List skipped rows in results.
    pub report_skipped: Option<bool>,
    /// Compute no diff.
    pub skip_diff: Option<bool>,
    /// One transaction per import.
    pub use_transactions: Option<bool>,
    /// Rows per batch.
    pub batch_size: Option<usize>,
    /// Foreign keys to tables with a natural key (a unique constraint besides the primary
    /// key) are read and written as that key, a JSON list.
    pub use_natural_foreign_keys: Option<bool>,
    /// Every row is new: no lookup of existing rows.
    pub force_init_instance: Option<bool>,
    /// Keep each reported row's record in the result.
    pub store_instance: Option<bool>,
    /// Keep each reported row's cells in the result.
    pub store_row_values: Option<bool>,
    /// Check NOT NULL, length, unique and CHECK constraints before writing.
    pub clean_model_instances: Option<bool>,
    /// Accepted for django-import-export compatibility; rowport always writes in batches.
    pub use_bulk: Option<bool>,
    /// Rows that delete the record they match: `{ column = "delete", equals = "1" }`
    /// (`equals` may be a list).
    pub delete_when: Option<DeleteWhenConfig>,
    /// Field declarations by field name.
    #[serde(default)]
    pub field: BTreeMap<String, FieldConfig>,
}

/// One `[resources.NAME.field.FIELD]` table: the field's options and its widget's
/// parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The header in the file (default: the field's name).
    pub column_name: Option<String>,
    /// The table column (default: the field's name, or `NAME_id` for a foreign key).
    pub attribute: Option<String>,
    /// The widget: integer, decimal, float, char, boolean, date, time, datetime, duration,
    /// json, simple_array, uuid, foreign_key, many_to_many (default: from the column's
    /// type).
    pub widget: Option<String>,
    /// The value for empty cells.
    pub default: Option<toml::Value>,
    /// Export only.
    #[serde(default)]
    pub readonly: bool,
    /// false: an empty cell (a cleaned null) leaves the stored value as it is (default
    /// true).
    pub saves_null_values: Option<bool>,
    /// A computed export column: a template over the exported record, e.g.
    /// `"{{ name }} by {{ author.name }}"` (`author.name` follows the foreign key). The
    /// field is export only.
    pub dehydrate: Option<String>,
    /// date/time/datetime: one `strftime` format or a list, tried in order.
    pub format: Option<OneOrMany>,
    /// char: empty cells become "" rather than null.
    pub allow_blank: Option<bool>,
    /// char: the only values accepted (default: an enum column's labels).
    pub choices: Option<Vec<String>>,
    /// boolean: spellings of true.
    pub true_values: Option<Vec<String>>,
    /// boolean: spellings of false.
    pub false_values: Option<Vec<String>>,
    /// boolean: spellings of null.
    pub null_values: Option<Vec<String>>,
    /// foreign_key/many_to_many: the related table.
    pub table: Option<String>,
    /// foreign_key/many_to_many: the column the file's values are matched against; for a
    /// foreign key, a list of columns makes a natural key written as a JSON list.
    pub lookup: Option<OneOrMany>,
    /// foreign_key: the cell is a JSON list of the lookup values (django-import-export's
    /// natural keys), even with one lookup column.
    pub natural_key: Option<bool>,
    /// foreign_key/many_to_many: conditions the related rows must meet, by column:
    /// `{ active = true, year = { ge = 2000 }, deleted = { is_null = true } }`.
    pub filter: Option<BTreeMap<String, toml::Value>>,
    /// foreign_key/many_to_many: create the related rows that no key matches.
    pub create_missing: Option<bool>,
    /// foreign_key/many_to_many: drop keys that match nothing (a foreign key becomes
    /// empty) instead of refusing the row.
    pub ignore_missing: Option<bool>,
    /// many_to_many: add the file's links to a row's links instead of replacing them.
    pub m2m_add: Option<bool>,
    /// integer/decimal/float: the decimal separator of text cells (default ".").
    pub decimal_separator: Option<String>,
    /// integer/decimal/float: the thousands separator of text cells (default: spaces, and
    /// groups of three digits split by whichever of "," and "." is not the decimal one).
    pub thousands_separator: Option<String>,
    /// integer: drop a fraction (1.5 → 1) instead of refusing the value.
    pub truncate: Option<bool>,
    /// char: read number, boolean and date cells as text (default true); false refuses them.
    pub coerce_to_string: Option<bool>,
    /// boolean: read every unknown spelling as false instead of refusing it.
    pub unknown_is_false: Option<bool>,
    /// datetime: "naive", "UTC", an offset such as "+02:00", or a zone such as
    /// "Europe/Paris", applied on import and export.
    pub time_zone: Option<String>,
    /// json: retry text that is not JSON with its single quotes made double (default true).
    pub single_quotes: Option<bool>,
    /// many_to_many: the link table.
    pub through: Option<String>,
    /// many_to_many: the link table's column for this resource's rows.
    pub owner_column: Option<String>,
    /// many_to_many: the link table's column for the related rows.
    pub target_column: Option<String>,
    /// many_to_many/simple_array: what separates the values in a cell (default `,`).
    pub separator: Option<String>,
}

/// `delete_when = { column = "delete", equals = ["1", "yes"] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteWhenConfig {
    /// The file's column.
    pub column: String,
    /// The value (or values) that delete, compared trimmed and without regard to case.
    pub equals: OneOrMany,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        let mut config = Config::parse(&text, path)?;
        config.path = path.to_owned();
        Ok(config)
    }

    /// Parses config text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.display().to_string(),
            message: one_line(&e, text),
        })?;
        config.path = path.to_owned();
        Ok(config)
    }

    /// The names of every resource: the declared ones and every table of the database.
    pub fn resource_names(&self, store: &mut dyn Store) -> Result<Vec<String>, ConfigError> {
        let mut names: Vec<String> = self.resources.keys().cloned().collect();
        for table in store.table_names()? {
            if !names.contains(&table) {
                names.push(table);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The declaration of `name` with what it `extends` merged in (the base's fields and
    /// options, overridden by its own), `None` when `name` is not declared.
    pub fn declaration(&self, name: &str) -> Result<Option<ResourceConfig>, ConfigError> {
        let mut chain: Vec<String> = vec![name.to_owned()];
        let Some(mut merged) = self.resources.get(name).cloned() else {
            return Ok(None);
        };
        while let Some(base_name) = merged.extends.take() {
            if chain.contains(&base_name) {
                return Err(ConfigError::Resource {
                    path: self.display_path(),
                    resource: name.to_owned(),
                    message: format!(
                        "extends goes round in a circle: {} → {base_name}",
                        chain.join(" → ")
                    ),
                });
            }
            let base = match self.resources.get(&base_name) {
                Some(base) => ResourceConfig {
                    table: base.table.clone().or_else(|| Some(base_name.clone())),
                    ..base.clone()
                },
                // A table that is not declared: its defaults.
                None => ResourceConfig {
                    table: Some(base_name.clone()),
                    ..ResourceConfig::default()
                },
            };
            chain.push(base_name);
            merged = merge(base, merged);
        }
        Ok(Some(merged))
    }

    fn display_path(&self) -> String {
        if self.path.as_os_str().is_empty() {
            "rowport.toml".to_owned()
        } else {
            self.path.display().to_string()
        }
    }

    /// Builds the resource called `name`: a declared one, or the default for a table.
    pub fn resource(&self, name: &str, store: &mut dyn Store) -> Result<Resource, ConfigError> {
        let declaration = self.declaration(name)?;
        let declared = declaration.as_ref();
        let table = declared
            .and_then(|d| d.table.clone())
            .unwrap_or_else(|| name.to_owned());
        let schema = match store.describe(&table) {
            Ok(schema) => schema,
            Err(e) if e.kind == StoreErrorKind::NotFound && declared.is_none() => {
                let known = self.resource_names(store)?;
                return Err(ConfigError::UnknownResource {
                    name: name.to_owned(),
                    suggestion: closest(name, &known),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let mut resource = Resource::from_schema(name, &schema);
        let path = if self.path.as_os_str().is_empty() {
            "rowport.toml".to_owned()
        } else {
            self.path.display().to_string()
        };
        let error = |message: String| ConfigError::Resource {
            path: path.clone(),
            resource: name.to_owned(),
            message,
        };
        if let Some(declared) = declared {
            // Relation paths and computed fields last: their first step may be a declared
            // foreign key.
            let (export_only, stored): (Vec<_>, Vec<_>) =
                declared.field.iter().partition(|(name, c)| {
                    c.dehydrate.is_some()
                        || c.attribute
                            .as_deref()
                            .unwrap_or(name)
                            .contains(PATH_SEPARATOR)
                });
            for (field_name, field_config) in stored {
                let field = build_field(field_name, field_config, &schema, store)
                    .map_err(|m| error(format!("field \"{field_name}\": {m}")))?;
                resource.replace_field(field);
            }
            for (field_name, field_config) in export_only {
                let field = build_export_field(field_name, field_config, &resource, store)
                    .map_err(|m| error(format!("field \"{field_name}\": {m}")))?;
                resource.replace_field(field);
            }
            // `fields = ["author__name"]`: a relation path named in a list is a read-only
            // field of its own, as in django-import-export.
            let listed = declared
                .fields
                .iter()
                .flatten()
                .chain(&declared.export_order);
            for path in listed {
                if path.contains(PATH_SEPARATOR) && resource.field(path).is_none() {
                    let field = crate::export::path_field(&resource, store, path)
                        .map_err(|e| error(e.to_string()))?;
                    resource.replace_field(field);
                }
            }
            let options = &mut resource.options;
            options.fields = declared.fields.clone();
            options.exclude = declared.exclude.clone();
            options.import_id_fields = declared.import_id_fields.clone();
            options.import_order = declared.import_order.clone();
            options.export_order = declared.export_order.clone();
            let d = declared;
            options.skip_unchanged = d.skip_unchanged.unwrap_or(options.skip_unchanged);
            options.report_skipped = d.report_skipped.unwrap_or(options.report_skipped);
            options.skip_diff = d.skip_diff.unwrap_or(options.skip_diff);
            options.use_transactions = d.use_transactions.unwrap_or(options.use_transactions);
            options.batch_size = d.batch_size.unwrap_or(options.batch_size);
            options.use_natural_foreign_keys = d
                .use_natural_foreign_keys
                .unwrap_or(options.use_natural_foreign_keys);
            options.force_init_instance =
                d.force_init_instance.unwrap_or(options.force_init_instance);
            options.store_instance = d.store_instance.unwrap_or(options.store_instance);
            options.store_row_values = d.store_row_values.unwrap_or(options.store_row_values);
            options.clean_model_instances = d
                .clean_model_instances
                .unwrap_or(options.clean_model_instances);
            options.use_bulk = d.use_bulk.unwrap_or(options.use_bulk);
            options.verbose_name = d.verbose_name.clone();
            options.delete_when = d.delete_when.clone().map(|rule| DeleteRule {
                column: rule.column,
                equals: rule.equals.into_vec(),
            });
        }
        resource.finish().map_err(|e| error(e.message))
    }
}

/// `child` over `base`: the child's keys win, fields merge by name, and the base's
/// `extends` is followed next.
fn merge(base: ResourceConfig, child: ResourceConfig) -> ResourceConfig {
    let list = |child: Vec<String>, base: Vec<String>| if child.is_empty() { base } else { child };
    let mut field = base.field;
    field.extend(child.field);
    ResourceConfig {
        extends: base.extends,
        verbose_name: child.verbose_name.or(base.verbose_name),
        table: child.table.or(base.table),
        fields: child.fields.or(base.fields),
        exclude: list(child.exclude, base.exclude),
        import_id_fields: list(child.import_id_fields, base.import_id_fields),
        import_order: list(child.import_order, base.import_order),
        export_order: list(child.export_order, base.export_order),
        skip_unchanged: child.skip_unchanged.or(base.skip_unchanged),
        report_skipped: child.report_skipped.or(base.report_skipped),
        skip_diff: child.skip_diff.or(base.skip_diff),
        use_transactions: child.use_transactions.or(base.use_transactions),
        batch_size: child.batch_size.or(base.batch_size),
        force_init_instance: child.force_init_instance.or(base.force_init_instance),
        store_instance: child.store_instance.or(base.store_instance),
        store_row_values: child.store_row_values.or(base.store_row_values),
        clean_model_instances: child.clean_model_instances.or(base.clean_model_instances),
        use_bulk: child.use_bulk.or(base.use_bulk),
        use_natural_foreign_keys: child
            .use_natural_foreign_keys
            .or(base.use_natural_foreign_keys),
        delete_when: child.delete_when.or(base.delete_when),
        field,
    }
}

/// Builds one declared field against the table's schema.
fn build_field(
    name: &str,
    config: &FieldConfig,
    schema: &TableSchema,
    store: &mut dyn Store,
) -> Result<Field, String> {
    let fk_column = format!("{name}_id");
    let column_for = |attr: &str| schema.column(attr).cloned();
    let widget_name = match &config.widget {
        Some(w) => w.clone(),
        None if config.through.is_some() => "many_to_many".into(),
        None => {
            let attr = config.attribute.clone().unwrap_or_else(|| name.to_owned());
            match column_for(&attr).or_else(|| column_for(&fk_column)) {
                Some(c) if c.foreign_key.is_some() => "foreign_key".into(),
                Some(c) => kind_widget_name(c.kind).into(),
                None => {
                    return Err(format!(
                        "table \"{}\" has no column \"{attr}\"; set attribute, or widget = \"many_to_many\"",
                        schema.name
                    ))
                }
            }
        }
    };
    let attribute = config.attribute.clone().unwrap_or_else(|| {
        if widget_name == "foreign_key"
            && schema.column(name).is_none()
            && schema.column(&fk_column).is_some()
        {
            fk_column.clone()
        } else {
            name.to_owned()
        }
    });
    let column = schema.column(&attribute).cloned();
    if column.is_none() && widget_name != "many_to_many" {
        return Err(format!(
            "table \"{}\" has no column \"{attribute}\" (columns: {})",
            schema.name,
            schema
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let nullable = column.as_ref().is_none_or(|c| c.nullable);
    check_params(&widget_name, config)?;
    let formats = config
        .format
        .clone()
        .map(OneOrMany::into_vec)
        .unwrap_or_default();
    let number_format = number_format(config)?;
    let widget: Arc<dyn Widget> = match widget_name.as_str() {
        "integer" => Arc::new(widgets::IntegerWidget {
            format: number_format,
            truncate: config.truncate.unwrap_or(false),
        }),
        "decimal" => Arc::new(widgets::DecimalWidget::with_format(number_format)),
        "float" => Arc::new(widgets::FloatWidget::with_format(number_format)),
        "char" => {
            let mut widget = widgets::CharWidget::new(config.allow_blank.unwrap_or(!nullable));
            widget.coerce_to_string = config.coerce_to_string.unwrap_or(true);
            let choices = config
                .choices
                .clone()
                .or_else(|| column.as_ref().and_then(|c| c.choices.clone()));
            Arc::new(match choices {
                Some(choices) => widget.with_choices(choices),
                None => widget,
            })
        }
        "boolean" => {
            let mut w = widgets::BooleanWidget::default();
            if let Some(v) = &config.true_values {
                w.true_values = v.clone();
            }
            if let Some(v) = &config.false_values {
                w.false_values = v.clone();
            }
            if let Some(v) = &config.null_values {
                w.null_values = v.clone();
            }
            w.unknown_is_false = config.unknown_is_false.unwrap_or(false);
            Arc::new(w)
        }
        "date" => Arc::new(widgets::DateWidget::new(formats)),
        "time" => Arc::new(widgets::TimeWidget::new(formats)),
        "datetime" => {
            let widget = widgets::DateTimeWidget::new(formats);
            match &config.time_zone {
                Some(zone) => Arc::new(widget.in_zone(widgets::Zone::parse(zone)?)),
                None if column.as_ref().is_some_and(|c| c.with_time_zone) => {
                    Arc::new(widget.in_utc())
                }
                None => Arc::new(widget),
            }
        }
        "duration" => Arc::new(widgets::DurationWidget),
        "json" => Arc::new(widgets::JsonWidget {
            single_quotes: config.single_quotes.unwrap_or(true),
        }),
        "uuid" => Arc::new(widgets::UuidWidget),
        "simple_array" => {
            let item = column
                .as_ref()
                .and_then(|c| c.array_of)
                .unwrap_or(ValueKind::Text);
            Arc::new(widgets::SimpleArrayWidget::new(
                config.separator.as_deref().unwrap_or(","),
                widgets::for_kind(item, false),
            ))
        }
        "foreign_key" => {
            let declared_fk = column.as_ref().and_then(|c| c.foreign_key.clone());
            let table = config
                .table
                .clone()
                .or_else(|| declared_fk.as_ref().map(|(t, _)| t.clone()))
                .ok_or("set table: the column has no declared foreign key")?;
            let target = store.describe(&table).map_err(|e| e.message)?;
            let key = declared_fk
                .filter(|(t, _)| t == &table)
                .map(|(_, k)| k)
                .or_else(|| target.primary_key().map(|c| c.name.clone()))
                .ok_or_else(|| format!("table \"{table}\" has no primary key"))?;
            let lookups = config
                .lookup
                .clone()
                .map(OneOrMany::into_vec)
                .unwrap_or_else(|| vec![key.clone()]);
            if lookups.is_empty() {
                return Err("lookup is an empty list; name at least one column".into());
            }
            let mut key_widgets = Vec::with_capacity(lookups.len());
            for lookup in &lookups {
                let lookup_column = target
                    .column(lookup)
                    .ok_or_else(|| format!("table \"{table}\" has no column \"{lookup}\""))?;
                key_widgets.push((lookup.as_str(), widgets::for_kind(lookup_column.kind, false)));
            }
            let widget = if lookups.len() > 1 || config.natural_key == Some(true) {
                widgets::ForeignKeyWidget::natural_key(&table, key_widgets, &key)
            } else {
                let (lookup, key_widget) = key_widgets.remove(0);
                widgets::ForeignKeyWidget::new(&table, lookup, &key, key_widget)
            };
            Arc::new(
                widget
                    .with_filter(filter_conditions(config, &target)?)
                    .on_missing(on_missing(config)?),
            )
        }
        "many_to_many" => {
            let table = config.table.clone().ok_or("set table: the related table")?;
            let through = config
                .through
                .clone()
                .ok_or("set through: the link table")?;
            let target = store.describe(&table).map_err(|e| e.message)?;
            let link = store.describe(&through).map_err(|e| e.message)?;
            let key = target
                .primary_key()
                .map(|c| c.name.clone())
                .ok_or_else(|| format!("table \"{table}\" has no primary key"))?;
            let lookup = match config.lookup.clone() {
                None => key.clone(),
                Some(OneOrMany::One(lookup)) => lookup,
                Some(OneOrMany::Many(_)) => {
                    return Err("lookup of a many_to_many field is one column".into())
                }
            };
            let lookup_column = target
                .column(&lookup)
                .ok_or_else(|| format!("table \"{table}\" has no column \"{lookup}\""))?;
            let pointing_to = |t: &str| {
                link.columns
                    .iter()
                    .find(|c| c.foreign_key.as_ref().is_some_and(|(ft, _)| ft == t))
                    .map(|c| c.name.clone())
            };
            let owner_column = config
                .owner_column
                .clone()
                .or_else(|| pointing_to(&schema.name))
                .unwrap_or_else(|| format!("{}_id", schema.name));
            let target_column = config
                .target_column
                .clone()
                .or_else(|| pointing_to(&table))
                .unwrap_or_else(|| format!("{table}_id"));
            for c in [&owner_column, &target_column] {
                if link.column(c).is_none() {
                    return Err(format!("table \"{through}\" has no column \"{c}\"; set owner_column and target_column"));
                }
            }
            let widget = widgets::ManyToManyWidget::new(
                &table,
                &lookup,
                &key,
                widgets::LinkTable {
                    table: through,
                    owner_column,
                    target_column,
                },
                config.separator.as_deref().unwrap_or(","),
                widgets::for_kind(lookup_column.kind, false),
            )
            .with_filter(filter_conditions(config, &target)?)
            .on_missing(on_missing(config)?);
            Arc::new(if config.m2m_add == Some(true) {
                widget.adding()
            } else {
                widget
            })
        }
        other => {
            return Err(format!(
                "unknown widget \"{other}\" (expected one of: integer, decimal, float, char, boolean, date, time, datetime, duration, json, simple_array, uuid, foreign_key, many_to_many)"
            ))
        }
    };
    let mut field = Field::new(name, widget.clone())
        .attribute(&attribute)
        .readonly(config.readonly)
        .saves_null_values(config.saves_null_values.unwrap_or(true));
    if let Some(column_name) = &config.column_name {
        field = field.column_name(column_name);
    }
    if let Some(default) = &config.default {
        let cell = match default {
            toml::Value::String(s) => Cell::Text(s.clone()),
            toml::Value::Integer(i) => Cell::Int(*i),
            toml::Value::Float(f) => Cell::Float(*f),
            toml::Value::Boolean(b) => Cell::Bool(*b),
            other => Cell::Text(other.to_string()),
        };
        let value: Value = widget
            .clean(&cell)
            .map_err(|e| format!("default \"{cell}\" {}", e.message))?;
        field = field.default(value);
    }
    Ok(field)
}

/// Builds a relation-path field (`attribute = "author__name"`) or a computed one
/// (`dehydrate = "…"`): export only, so its widget only renders.
fn build_export_field(
    name: &str,
    config: &FieldConfig,
    resource: &Resource,
    store: &mut dyn Store,
) -> Result<Field, String> {
    if let Some(widget) = &config.widget {
        return Err(format!(
            "widget \"{widget}\" does not apply to a relation path or a dehydrated field (they take the widget of the column they read, or text)"
        ));
    }
    check_params("", config)?;
    if config.default.is_some() || config.saves_null_values.is_some() {
        return Err(
            "default and saves_null_values apply to imported fields; this one is export only"
                .into(),
        );
    }
    let mut field = match &config.dehydrate {
        Some(template) => {
            let widget: Arc<dyn Widget> = Arc::new(widgets::CharWidget::new(true));
            Field::new(name, widget)
                .dehydrate_template(template)
                .map_err(|m| format!("dehydrate: {m}"))?
        }
        None => {
            let path = config.attribute.as_deref().unwrap_or(name);
            let mut field =
                crate::export::path_field(resource, store, path).map_err(|e| match e {
                    crate::export::ExportError::Field { message, .. } => message,
                    other => other.to_string(),
                })?;
            field.name = name.to_owned();
            field.column_name = name.to_owned();
            field
        }
    };
    field.readonly = true;
    if let Some(column_name) = &config.column_name {
        field = field.column_name(column_name);
    }
    Ok(field)
}

/// Refuses parameters that do not belong to the widget, so a typo is not silently ignored.
fn check_params(widget: &str, c: &FieldConfig) -> Result<(), String> {
    let given = [
        ("format", c.format.is_some()),
        ("allow_blank", c.allow_blank.is_some()),
        ("choices", c.choices.is_some()),
        ("true_values", c.true_values.is_some()),
        ("false_values", c.false_values.is_some()),
        ("null_values", c.null_values.is_some()),
        ("table", c.table.is_some()),
        ("lookup", c.lookup.is_some()),
        ("through", c.through.is_some()),
        ("owner_column", c.owner_column.is_some()),
        ("target_column", c.target_column.is_some()),
        ("separator", c.separator.is_some()),
        ("natural_key", c.natural_key.is_some()),
        ("filter", c.filter.is_some()),
        ("create_missing", c.create_missing.is_some()),
        ("ignore_missing", c.ignore_missing.is_some()),
        ("m2m_add", c.m2m_add.is_some()),
        ("decimal_separator", c.decimal_separator.is_some()),
        ("thousands_separator", c.thousands_separator.is_some()),
        ("truncate", c.truncate.is_some()),
        ("coerce_to_string", c.coerce_to_string.is_some()),
        ("unknown_is_false", c.unknown_is_false.is_some()),
        ("time_zone", c.time_zone.is_some()),
        ("single_quotes", c.single_quotes.is_some()),
    ];
    let allowed: &[&str] = match widget {
        "date" | "time" => &["format"],
        "datetime" => &["format", "time_zone"],
        "char" => &["allow_blank", "choices", "coerce_to_string"],
        "simple_array" => &["separator"],
        "boolean" => &[
            "true_values",
            "false_values",
            "null_values",
            "unknown_is_false",
        ],
        "integer" => &["decimal_separator", "thousands_separator", "truncate"],
        "decimal" | "float" => &["decimal_separator", "thousands_separator"],
        "json" => &["single_quotes"],
        "foreign_key" => &[
            "table",
            "lookup",
            "natural_key",
            "filter",
            "create_missing",
            "ignore_missing",
        ],
        "many_to_many" => &[
            "table",
            "lookup",
            "through",
            "owner_column",
            "target_column",
            "separator",
            "filter",
            "create_missing",
            "ignore_missing",
            "m2m_add",
        ],
        _ => &[],
    };
    match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
        Some((key, _)) => Err(format!("\"{key}\" does not apply to widget \"{widget}\"")),
        None => Ok(()),
    }
}

/// The separators of a number widget's text cells, from `decimal_separator` and
/// `thousands_separator` (each one character).
fn number_format(c: &FieldConfig) -> Result<widgets::NumberFormat, String> {
    let one = |key: &str, value: &Option<String>| -> Result<Option<char>, String> {
        match value.as_deref() {
            None => Ok(None),
            Some(s) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(ch), None) => Ok(Some(ch)),
                    _ => Err(format!("{key} \"{s}\" must be one character")),
                }
            }
        }
    };
    let decimal = one("decimal_separator", &c.decimal_separator)?.unwrap_or('.');
    let thousands = one("thousands_separator", &c.thousands_separator)?;
    if thousands == Some(decimal) {
        return Err(format!(
            "decimal_separator and thousands_separator are both \"{decimal}\""
        ));
    }
    Ok(widgets::NumberFormat::new(decimal, thousands))
}

/// `create_missing` and `ignore_missing` as one choice.
fn on_missing(c: &FieldConfig) -> Result<widgets::OnMissing, String> {
    match (
        c.create_missing == Some(true),
        c.ignore_missing == Some(true),
    ) {
        (true, true) => Err("create_missing and ignore_missing cannot both be true".into()),
        (true, false) => Ok(widgets::OnMissing::Create),
        (false, true) => Ok(widgets::OnMissing::Ignore),
        (false, false) => Ok(widgets::OnMissing::Error),
    }
}

/// A relation's `filter` table as conditions, each value read by the widget of its
/// column's kind (so `"2020-01-01"` compares as a date with a date column).
fn filter_conditions(
    c: &FieldConfig,
    target: &TableSchema,
) -> Result<Vec<crate::store::Condition>, String> {
    use crate::store::{CompareOp, Condition};
    let Some(filter) = &c.filter else {
        return Ok(Vec::new());
    };
    let mut conditions = Vec::new();
    for (column, spec) in filter {
        let schema = target.column(column).ok_or_else(|| {
            format!(
                "filter: table \"{}\" has no column \"{column}\"",
                target.name
            )
        })?;
        let value_of = |v: &toml::Value| -> Result<Value, String> {
            let cell = match v {
                toml::Value::String(s) => Cell::Text(s.clone()),
                toml::Value::Integer(i) => Cell::Int(*i),
                toml::Value::Float(f) => Cell::Float(*f),
                toml::Value::Boolean(b) => Cell::Bool(*b),
                other => Cell::Text(other.to_string()),
            };
            widgets::for_kind(schema.kind, true)
                .clean(&cell)
                .map_err(|e| format!("filter: {column}: \"{cell}\" {}", e.message))
        };
        let compare = |op: CompareOp, v: &toml::Value| -> Result<Condition, String> {
            Ok(Condition::Compare {
                column: column.clone(),
                op,
                value: value_of(v)?,
            })
        };
        match spec {
            toml::Value::Array(items) => conditions.push(Condition::In {
                column: column.clone(),
                values: items.iter().map(value_of).collect::<Result<_, _>>()?,
            }),
            toml::Value::Table(ops) => {
                for (op, v) in ops {
                    conditions.push(match op.as_str() {
                        "eq" => compare(CompareOp::Eq, v)?,
                        "ne" => compare(CompareOp::Ne, v)?,
                        "lt" => compare(CompareOp::Lt, v)?,
                        "le" => compare(CompareOp::Le, v)?,
                        "gt" => compare(CompareOp::Gt, v)?,
                        "ge" => compare(CompareOp::Ge, v)?,
                        "in" => match v {
                            toml::Value::Array(items) => Condition::In {
                                column: column.clone(),
                                values: items.iter().map(value_of).collect::<Result<_, _>>()?,
                            },
                            _ => return Err(format!("filter: {column}: \"in\" takes a list")),
                        },
                        "is_null" => match v {
                            toml::Value::Boolean(b) => Condition::IsNull {
                                column: column.clone(),
                                negated: !b,
                            },
                            _ => {
                                return Err(format!(
                                    "filter: {column}: \"is_null\" takes true or false"
                                ))
                            }
                        },
                        other => {
                            return Err(format!(
                                "filter: {column}: unknown operator \"{other}\" (expected eq, ne, lt, le, gt, ge, in or is_null)"
                            ))
                        }
                    });
                }
            }
            scalar => conditions.push(compare(CompareOp::Eq, scalar)?),
        }
    }
    Ok(conditions)
}

fn kind_widget_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Bool => "boolean",
        ValueKind::Int => "integer",
        ValueKind::Decimal => "decimal",
        ValueKind::Float => "float",
        ValueKind::Date => "date",
        ValueKind::Time => "time",
        ValueKind::DateTime => "datetime",
        ValueKind::Duration => "duration",
        ValueKind::Uuid => "uuid",
        ValueKind::Json => "json",
        ValueKind::List => "simple_array",
        ValueKind::Text => "char",
    }
}

/// The parser's message on one line, with the line it refers to.
fn one_line(e: &toml::de::Error, text: &str) -> String {
    let message = e
        .message()
        .trim()
        .trim_end_matches('.')
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

/// The known name closest to `name` by edit distance, when it is close enough to be a typo.
pub fn closest(name: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("rowport.toml"))
    }

    #[test]
    fn limits_take_sizes_with_units_or_bytes() {
        let config = parse(
            "[limits]\nmax_line_bytes = \"256MiB\"\nmax_cell_bytes = 1024\n\
             max_decompressed_bytes = \"1.5GiB\"\nmax_compression_ratio = 50\nmax_cells = 1_000\n",
        )
        .unwrap();
        let limits = config.limits.apply(Limits::default());
        assert_eq!(
            limits,
            Limits {
                max_line_bytes: 256 << 20,
                max_cell_bytes: 1024,
                max_decompressed_bytes: 3 << 29,
                max_compression_ratio: 50,
                max_cells: 1000,
            }
        );
    }

    #[test]
    fn unset_limits_keep_their_defaults() {
        let config = parse("[limits]\nmax_cells = 7\n").unwrap();
        let limits = config.limits.apply(Limits::default());
        assert_eq!(limits.max_cells, 7);
        assert_eq!(limits.max_line_bytes, Limits::default().max_line_bytes);
        assert_eq!(
            parse("").unwrap().limits.apply(Limits::default()),
            Limits::default()
        );
    }

    #[test]
    fn bad_limits_are_named_with_their_line() {
        let err = parse("[limits]\nmax_line_bytes = \"lots\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "rowport.toml: line 2: \"lots\" is not a size (expected a number of bytes, optionally with a unit: 512KiB, 64MiB, 4GiB, 10MB)"
        );
        let err = parse("[limits]\nmax_cell_bytse = 5\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rowport.toml: line 2: unknown field `max_cell_bytse`"),
            "{err}"
        );
        let err = parse("[limits]\nmax_cells = \"many\"\n").unwrap_err();
        assert!(
            err.to_string().starts_with("rowport.toml: line 2:"),
            "{err}"
        );
    }
}
