//! One test (at least) per widget and relation row of the django-import-export reference
//! (sections 1.4 and 1.11, the Field option `m2m_add`, the Meta options `widgets` and
//! `use_natural_foreign_keys`), each importing a small file into a real SQLite database
//! through the Rust API and reading back what the database holds.
//!
//! Test names start with the reference row's widget (`boolean_widget_…`,
//! `foreign_key_widget_…`) so a reader finds them from the reference.

use std::sync::Arc;

use rowport::config::Config;
use rowport::store::{CompareOp, Condition};
use rowport::widgets::{
    BooleanWidget, CharWidget, DateTimeWidget, DateWidget, DecimalWidget, DurationWidget,
    FloatWidget, ForeignKeyWidget, IntegerWidget, JsonWidget, LinkTable, ManyToManyWidget,
    NumberFormat, OnMissing, SimpleArrayWidget, TimeWidget, Widget, WidgetError, Zone,
};
use rowport::{
    export, import, Cell, ExportOptions, Field, ImportOptions, ImportResult, Resource, Store,
    Value, ValueKind,
};
use rowport_formats::{open_reader, open_writer, Format, ReadOptions, WriteOptions};
use rowport_sql::SqliteStore;

const SCHEMA: &str = r#"
CREATE TABLE author (
  id integer PRIMARY KEY AUTOINCREMENT,
  last_name varchar(100) NOT NULL,
  first_name varchar(100) NOT NULL DEFAULT '',
  active bool NOT NULL DEFAULT 1,
  UNIQUE (last_name, first_name)
);
CREATE TABLE category (id integer PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL UNIQUE);
CREATE TABLE item (
  id integer PRIMARY KEY AUTOINCREMENT,
  code varchar(20) NOT NULL UNIQUE,
  label varchar(100) NULL,
  note varchar(100) NOT NULL DEFAULT '',
  qty integer NULL,
  weight real NULL,
  price decimal(12, 2) NULL,
  flag bool NULL,
  day date NULL,
  at_time time NULL,
  stamp datetime NULL,
  span bigint NULL,
  doc text NULL,
  tags text NULL,
  author_id integer NULL REFERENCES author (id)
);
CREATE TABLE item_categories (
  id integer PRIMARY KEY AUTOINCREMENT,
  item_id integer NOT NULL REFERENCES item (id),
  category_id integer NOT NULL REFERENCES category (id),
  UNIQUE (item_id, category_id)
);
INSERT INTO author (last_name, first_name, active) VALUES
  ('Tolkien', 'J. R. R.', 1), ('Tolkien', 'Christopher', 1), ('Austen', 'Jane', 0);
INSERT INTO category (name) VALUES ('Fantasy'), ('Classics'), ('Poetry');
"#;

fn store() -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    store.connection().execute_batch(SCHEMA).unwrap();
    store
}

/// The item resource keyed by `code`, with these fields replacing the defaults.
fn item(store: &mut SqliteStore, fields: Vec<Field>) -> Resource {
    let schema = store.describe("item").unwrap();
    let mut resource = Resource::from_schema("item", &schema);
    for field in fields {
        resource.replace_field(field);
    }
    resource.options.import_id_fields = vec!["code".into()];
    resource.finish().unwrap()
}

fn field(name: &str, widget: impl Widget + 'static) -> Field {
    Field::new(name, Arc::new(widget))
}

fn import_as(
    store: &mut SqliteStore,
    resource: &Resource,
    format: Format,
    text: &str,
) -> ImportResult {
    let mut reader = open_reader(
        format,
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        "items",
        &ReadOptions::default(),
    )
    .unwrap();
    import(resource, store, reader.as_mut(), &ImportOptions::default()).unwrap()
}

fn import_csv(store: &mut SqliteStore, resource: &Resource, csv: &str) -> ImportResult {
    import_as(store, resource, Format::Csv, csv)
}

/// Every value of a query as text (`NULL` for null), the way SQLite holds it.
fn query(store: &SqliteStore, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = store.connection().prepare(sql).unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |row| {
        (0..width)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Real(f) => format!("{f:?}"),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(_) => "<blob>".to_owned(),
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn column(store: &SqliteStore, sql: &str) -> Vec<String> {
    query(store, sql)
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect()
}

fn rows(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// The result's errors as `row column: message`.
fn errors(result: &ImportResult) -> Vec<String> {
    result
        .errors
        .iter()
        .map(|e| {
            format!(
                "{} {}: {}",
                e.row,
                e.column.as_deref().unwrap_or("-"),
                e.message
            )
        })
        .collect()
}

fn assert_clean(result: &ImportResult) {
    assert!(result.errors.is_empty(), "{:?}", errors(result));
    assert!(result.committed);
}

fn export_csv(store: &mut SqliteStore, resource: &Resource, fields: &[&str]) -> String {
    let mut out = Vec::new();
    {
        let writer =
            open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
        let options = ExportOptions {
            fields: Some(fields.iter().map(|f| f.to_string()).collect()),
            ..ExportOptions::default()
        };
        export(resource, store, writer, &options).unwrap();
    }
    String::from_utf8(out).unwrap().replace("\r\n", "\n")
}

fn author_fk() -> ForeignKeyWidget {
    ForeignKeyWidget::new(
        "author",
        "last_name",
        "id",
        Box::new(CharWidget::new(false)),
    )
}

fn categories() -> ManyToManyWidget {
    ManyToManyWidget::new(
        "category",
        "name",
        "id",
        LinkTable {
            table: "item_categories".into(),
            owner_column: "item_id".into(),
            target_column: "category_id".into(),
        },
        "|",
        Box::new(CharWidget::new(false)),
    )
}

// ---------------------------------------------------------------------------------------
// Widget (base) and Char

#[test]
fn char_widget_passes_text_through_unchanged() {
    let mut store = store();
    let resource = item(&mut store, vec![]);
    let result = import_csv(&mut store, &resource, "code,label\n007,  spaced  \n");
    assert_clean(&result);
    assert_eq!(
        query(&store, "SELECT code, label FROM item"),
        rows(&[&["007", "  spaced  "]])
    );
}

#[test]
fn char_widget_allow_blank_stores_empty_string_in_not_null_column() {
    let mut store = store();
    // `note` is NOT NULL: its default widget allows blanks, as django-import-export's
    // CharWidget(allow_blank=True) does for blank=True fields.
    let resource = item(&mut store, vec![]);
    assert_clean(&import_csv(&mut store, &resource, "code,note\na,\n"));
    assert_eq!(column(&store, "SELECT quote(note) FROM item"), ["''"]);
}

#[test]
fn char_widget_allow_blank_false_stores_null() {
    let mut store = store();
    let resource = item(&mut store, vec![field("label", CharWidget::new(false))]);
    assert_clean(&import_csv(&mut store, &resource, "code,label\na,\n"));
    assert_eq!(column(&store, "SELECT quote(label) FROM item"), ["NULL"]);
}

#[test]
fn char_widget_coerce_to_string_reads_spreadsheet_66_0_as_66() {
    let mut store = store();
    let resource = item(&mut store, vec![]);
    // JSON numbers arrive as typed cells, like a spreadsheet's: 66.0 is a float cell.
    let result = import_as(
        &mut store,
        &resource,
        Format::Json,
        r#"[{"code": "a", "label": 66.0}, {"code": "b", "label": 2.5}, {"code": "c", "label": true}]"#,
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT label FROM item ORDER BY code"),
        ["66", "2.5", "true"]
    );
}

#[test]
fn char_widget_coerce_to_string_off_refuses_numbers() {
    let mut store = store();
    let resource = item(
        &mut store,
        vec![field("label", CharWidget::new(false).text_only())],
    );
    let result = import_as(
        &mut store,
        &resource,
        Format::Json,
        r#"[{"code": "a", "label": 66.0}, {"code": "b", "label": "66"}]"#,
    );
    assert_eq!(
        errors(&result),
        ["1 label: is not text (the cell holds a number, boolean or date)"]
    );
    assert!(!result.committed);
    assert_eq!(column(&store, "SELECT count(*) FROM item"), ["0"]);
}

// ---------------------------------------------------------------------------------------
// Number, Integer, Float, Decimal

#[test]
fn number_widget_whitespace_only_is_null_and_zero_is_not() {
    let mut store = store();
    let resource = item(&mut store, vec![]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,qty,weight,price\na,   ,  , \nb,0,0,0\n",
    );
    assert_clean(&result);
    assert_eq!(
        query(
            &store,
            "SELECT quote(qty), quote(weight), quote(price) FROM item ORDER BY code"
        ),
        rows(&[&["NULL", "NULL", "NULL"], &["0", "0.0", "0"]])
    );
}

#[test]
fn integer_widget_fraction_is_invalid_by_default() {
    let mut store = store();
    let resource = item(&mut store, vec![]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,qty\na,\"1,234.5\"\nb,1.5\nc,2.0\n",
    );
    assert_eq!(
        errors(&result),
        [
            "2 qty: is not a whole number",
            "3 qty: is not a whole number"
        ]
    );
    assert_eq!(result.totals.invalid, 2);
    assert_eq!(column(&store, "SELECT count(*) FROM item"), ["0"]);
}

#[test]
fn integer_widget_truncate_opt_in_drops_the_fraction() {
    let mut store = store();
    let resource = item(
        &mut store,
        vec![field("qty", IntegerWidget::default().truncating())],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,qty\na,\"1,234.5\"\nb,-1.5\nc,0.0\n",
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT qty FROM item ORDER BY code"),
        ["1234", "-1", "0"]
    );
}

#[test]
fn integer_widget_thousands_separators_and_spaces() {
    let mut store = store();
    let resource = item(
        &mut store,
        vec![field(
            "qty",
            IntegerWidget::with_format(NumberFormat::new(',', Some('.'))),
        )],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,qty\na,1.234.567\nb,\u{a0}12\u{202f}345 \nc,\"1,5\"\n",
    );
    assert_eq!(errors(&result), ["4 qty: is not a whole number"]);
    let default = item(&mut store, vec![]);
    let result = import_csv(
        &mut store,
        &default,
        "code,qty\na,\"1,234,567\"\nb,12 345\n",
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT qty FROM item ORDER BY code"),
        ["1234567", "12345"]
    );
}

#[test]
fn float_widget_decimal_comma_option() {
    let mut store = store();
    let resource = item(
        &mut store,
        vec![field(
            "weight",
            FloatWidget::with_format(NumberFormat::new(',', None)),
        )],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,weight\na,\"1,5\"\nb,\"1.234,25\"\nc,1.5\n",
    );
    assert_eq!(errors(&result), ["4 weight: is not a number"]);
    let default = item(&mut store, vec![]);
    let result = import_csv(&mut store, &default, "code,weight\na,\"1,5\"\n");
    // With the default format, "1,5" is neither grouping nor a decimal: refused, never 15.
    assert_eq!(errors(&result), ["2 weight: is not a number"]);
    let lenient = item(
        &mut store,
        vec![field(
            "weight",
            FloatWidget::with_format(NumberFormat::new(',', None)),
        )],
    );
    assert_clean(&import_csv(
        &mut store,
        &lenient,
        "code,weight\na,\"1,5\"\nb,\"1.234,25\"\n",
    ));
    assert_eq!(
        column(&store, "SELECT weight FROM item ORDER BY code"),
        ["1.5", "1234.25"]
    );
}

#[test]
fn decimal_widget_keeps_exact_digits_and_reads_separators() {
    let mut store = store();
    let resource = item(
        &mut store,
        vec![field(
            "price",
            DecimalWidget::with_format(NumberFormat::new(',', Some('.'))),
        )],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,price\na,\"1.234,50\"\nb,\"0,10\"\nc,x\n",
    );
    assert_eq!(errors(&result), ["4 price: is not a number"]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,price\na,\"1.234,50\"\nb,\"0,10\"\n",
    ));
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "price"]),
        "code,price\na,1234.50\nb,0.10\n"
    );
}

// ---------------------------------------------------------------------------------------
// Boolean

#[test]
fn boolean_widget_unknown_spelling_is_invalid() {
    let mut store = store();
    let resource = item(&mut store, vec![]);
    let result = import_csv(&mut store, &resource, "code,flag\na,yes\nb,maybe\n");
    assert_eq!(
        errors(&result),
        ["3 flag: is not a boolean (expected one of 1/0, true/false, yes/no, y/n, t/f, on/off)"]
    );
    assert_eq!(column(&store, "SELECT count(*) FROM item"), ["0"]);
}

#[test]
fn boolean_widget_true_false_null_spellings_are_configurable() {
    let mut store = store();
    let widget = BooleanWidget {
        true_values: vec!["ja".into(), "x".into()],
        false_values: vec!["nein".into()],
        null_values: vec!["?".into()],
        ..BooleanWidget::default()
    };
    let resource = item(&mut store, vec![field("flag", widget)]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,flag\na,JA\nb,nein\nc,?\nd,x\ne,\n",
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT quote(flag) FROM item ORDER BY code"),
        ["1", "0", "NULL", "1", "NULL"]
    );
    let result = import_csv(&mut store, &resource, "code,flag\nf,yes\n");
    assert_eq!(
        result.totals.invalid, 1,
        "yes is not a spelling of this widget"
    );
}

#[test]
fn boolean_widget_unknown_is_false_opt_in_as_django_import_export() {
    let mut store = store();
    let widget = BooleanWidget {
        unknown_is_false: true,
        ..BooleanWidget::default()
    };
    let resource = item(&mut store, vec![field("flag", widget)]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,flag\na,maybe\nb,yes\nc,null\n",
    ));
    assert_eq!(
        column(&store, "SELECT quote(flag) FROM item ORDER BY code"),
        ["0", "1", "NULL"]
    );
}

// ---------------------------------------------------------------------------------------
// Date, Time, DateTime

#[test]
fn date_widget_format_list_is_tried_in_order_and_first_is_exported() {
    let mut store = store();
    let widget = DateWidget::new(vec!["%d.%m.%Y".into(), "%Y-%m-%d".into()]);
    let resource = item(&mut store, vec![field("day", widget)]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,day\na,23.04.2019\nb,2019-04-24\n",
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT day FROM item ORDER BY code"),
        ["2019-04-23", "2019-04-24"]
    );
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "day"]),
        "code,day\na,23.04.2019\nb,24.04.2019\n"
    );
}

#[test]
fn date_widget_unparsable_value_is_invalid_with_expected_formats() {
    let mut store = store();
    let resource = item(&mut store, vec![]);
    let result = import_csv(&mut store, &resource, "code,day\na,1996x-01-01\n");
    assert_eq!(
        errors(&result),
        ["2 day: is not a date (expected YYYY-MM-DD)"]
    );
}

#[test]
fn time_widget_format_list() {
    let mut store = store();
    let widget = TimeWidget::new(vec!["%H.%M".into(), "%I:%M %p".into()]);
    let resource = item(&mut store, vec![field("at_time", widget)]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,at_time\na,18.30\nb,06:15 PM\nc,25.00\n",
    );
    assert_eq!(result.totals.invalid, 1);
    assert_eq!(
        errors(&result)[0],
        "4 at_time: is not a time (expected HH.MM or hh:MM AM/PM)"
    );
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,at_time\na,18.30\nb,06:15 PM\n",
    ));
    assert_eq!(
        column(&store, "SELECT at_time FROM item ORDER BY code"),
        ["18:30:00", "18:15:00"]
    );
}

#[test]
fn datetime_widget_naive_keeps_the_wall_clock() {
    let mut store = store();
    let resource = item(&mut store, vec![]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,stamp\na,2024-07-01 12:00:00\n",
    ));
    assert_eq!(
        column(&store, "SELECT stamp FROM item"),
        ["2024-07-01 12:00:00"]
    );
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "stamp"]),
        "code,stamp\na,2024-07-01 12:00:00\n"
    );
}

#[test]
fn datetime_widget_named_zone_applies_on_import_and_export() {
    let mut store = store();
    let paris = DateTimeWidget::default().in_zone(Zone::parse("Europe/Paris").unwrap());
    let resource = item(&mut store, vec![field("stamp", paris)]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,stamp\nsummer,2024-07-01 12:00:00\nwinter,2024-01-15 12:00:00\noffset,2024-07-01 12:00:00+00:00\n",
    );
    assert_clean(&result);
    // Stored as UTC instants, as Django stores aware datetimes.
    assert_eq!(
        column(&store, "SELECT stamp FROM item ORDER BY code"),
        [
            "2024-07-01 12:00:00",
            "2024-07-01 10:00:00",
            "2024-01-15 11:00:00"
        ]
    );
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "stamp"]),
        "code,stamp\nsummer,2024-07-01 12:00:00\nwinter,2024-01-15 12:00:00\noffset,2024-07-01 14:00:00\n"
    );
}

#[test]
fn datetime_widget_zone_reimport_of_the_same_file_is_unchanged() {
    let mut store = store();
    let paris = DateTimeWidget::default().in_zone(Zone::parse("Europe/Paris").unwrap());
    let schema = store.describe("item").unwrap();
    let mut resource = Resource::from_schema("item", &schema);
    resource.replace_field(field("stamp", paris));
    resource.options.import_id_fields = vec!["code".into()];
    resource.options.skip_unchanged = true;
    let resource = resource.finish().unwrap();
    let csv = "code,stamp\na,2024-07-01 12:00:00\n";
    assert_eq!(import_csv(&mut store, &resource, csv).totals.new, 1);
    let again = import_csv(&mut store, &resource, csv);
    assert_eq!((again.totals.skip, again.totals.update), (1, 0));
    let changed = import_csv(&mut store, &resource, "code,stamp\na,2024-07-01 13:00:00\n");
    assert_eq!(changed.totals.update, 1);
    assert_eq!(
        column(&store, "SELECT stamp FROM item"),
        ["2024-07-01 11:00:00"]
    );
}

#[test]
fn datetime_widget_fixed_offset_zone() {
    let mut store = store();
    let widget =
        DateTimeWidget::new(vec!["%d/%m/%Y %H:%M".into()]).in_zone(Zone::parse("-05:00").unwrap());
    let resource = item(&mut store, vec![field("stamp", widget)]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,stamp\na,01/03/2024 20:30\n",
    ));
    assert_eq!(
        column(&store, "SELECT stamp FROM item"),
        ["2024-03-02 01:30:00"]
    );
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "stamp"]),
        "code,stamp\na,01/03/2024 20:30\n"
    );
}

#[test]
fn datetime_widget_time_the_clocks_skip_is_invalid() {
    let mut store = store();
    let paris = DateTimeWidget::default().in_zone(Zone::parse("Europe/Paris").unwrap());
    let resource = item(&mut store, vec![field("stamp", paris)]);
    let result = import_csv(&mut store, &resource, "code,stamp\na,2024-03-31 02:30:00\n");
    assert_eq!(
        errors(&result),
        ["2 stamp: does not exist in Europe/Paris (the clocks skip it)"]
    );
}

// ---------------------------------------------------------------------------------------
// Duration

#[test]
fn duration_widget_reads_every_django_form_and_exports_timedelta_text() {
    let mut store = store();
    let resource = item(&mut store, vec![field("span", DurationWidget)]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,span\na,2:03:04\nb,1 02:03:04\nc,\"1 day, 2:03:04\"\nd,P1DT2H3M4S\ne,1 day 02:03:04\nf,\n",
    );
    assert_clean(&result);
    // Whole microseconds, as Django keeps a DurationField where there is no interval type.
    assert_eq!(
        column(&store, "SELECT quote(span) FROM item ORDER BY code"),
        [
            "7384000000",
            "93784000000",
            "93784000000",
            "93784000000",
            "93784000000",
            "NULL"
        ]
    );
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "span"]),
        "code,span\na,2:03:04\nb,\"1 day, 2:03:04\"\nc,\"1 day, 2:03:04\"\nd,\"1 day, 2:03:04\"\ne,\"1 day, 2:03:04\"\nf,\n"
    );
}

#[test]
fn duration_widget_unknown_text_is_invalid() {
    let mut store = store();
    let resource = item(&mut store, vec![field("span", DurationWidget)]);
    let result = import_csv(&mut store, &resource, "code,span\na,two hours\n");
    assert_eq!(result.totals.invalid, 1);
    assert!(errors(&result)[0].starts_with("2 span: is not a duration"));
}

// ---------------------------------------------------------------------------------------
// JSON, SimpleArray

#[test]
fn json_widget_keeps_falsy_json_and_empty_is_null() {
    let mut store = store();
    let resource = item(&mut store, vec![field("doc", JsonWidget::default())]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,doc\na,0\nb,[]\nc,{}\nd,\ne,\"{\"\"k\"\": [1, 2]}\"\n",
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT quote(doc) FROM item ORDER BY code"),
        ["'0'", "'[]'", "'{}'", "NULL", "'{\"k\":[1,2]}'"]
    );
}

#[test]
fn json_widget_single_quote_retry_is_an_option() {
    let mut store = store();
    let lenient = item(&mut store, vec![field("doc", JsonWidget::default())]);
    assert_clean(&import_csv(
        &mut store,
        &lenient,
        "code,doc\na,{'k': 'v'}\n",
    ));
    assert_eq!(column(&store, "SELECT doc FROM item"), ["{\"k\":\"v\"}"]);
    let strict = item(&mut store, vec![field("doc", JsonWidget::strict())]);
    let result = import_csv(&mut store, &strict, "code,doc\nb,{'k': 'v'}\n");
    assert_eq!(
        errors(&result),
        ["2 doc: is not valid JSON (key must be a string at line 1 column 2)"]
    );
}

#[test]
fn simple_array_widget_separator() {
    let mut store = store();
    let widget = SimpleArrayWidget::new(";", Box::new(CharWidget::new(false)));
    let resource = item(&mut store, vec![field("tags", widget)]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,tags\na,red;green; blue\nb,\n",
    ));
    // Items are not trimmed, as in django-import-export.
    assert_eq!(
        column(&store, "SELECT tags FROM item ORDER BY code"),
        ["[\"red\",\"green\",\" blue\"]", "[]"]
    );
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "tags"]),
        "code,tags\na,red;green; blue\nb,\n"
    );
    let numbers = SimpleArrayWidget::new(";", Box::new(IntegerWidget::default()));
    let resource = item(&mut store, vec![field("tags", numbers)]);
    let result = import_csv(&mut store, &resource, "code,tags\nc,1;x\n");
    assert_eq!(
        errors(&result),
        ["2 tags: has an item \"x\" that is not a whole number"]
    );
}

// ---------------------------------------------------------------------------------------
// ForeignKey

#[test]
fn foreign_key_widget_lookup_by_a_unique_column() {
    let mut store = store();
    let widget = ForeignKeyWidget::new("category", "name", "id", Box::new(CharWidget::new(false)));
    // The item has no category column: its plain integer `qty` holds a category's id.
    let resource = item(&mut store, vec![field("category", widget).attribute("qty")]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,category\na,Poetry\nb, Fantasy \n",
    ));
    assert_eq!(
        column(&store, "SELECT qty FROM item ORDER BY code"),
        ["3", "1"]
    );
}

#[test]
fn foreign_key_widget_unknown_and_ambiguous_keys_are_invalid() {
    let mut store = store();
    let resource = item(
        &mut store,
        vec![field("author", author_fk()).attribute("author_id")],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,author\na,Tolkien\nb,Pratchett\nc,Austen\n",
    );
    assert_eq!(
        errors(&result),
        [
            "2 author: matches 2 author rows (looked up by last_name); it must match one",
            "3 author: matches no author row (looked up by last_name)",
        ]
    );
    assert_eq!(column(&store, "SELECT count(*) FROM item"), ["0"]);
}

#[test]
fn foreign_key_widget_several_lookup_columns_natural_key_json_list() {
    let mut store = store();
    let widget = ForeignKeyWidget::natural_key(
        "author",
        vec![
            ("last_name", Box::new(CharWidget::new(false))),
            ("first_name", Box::new(CharWidget::new(false))),
        ],
        "id",
    );
    let resource = item(
        &mut store,
        vec![field("author", widget).attribute("author_id")],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,author\na,\"[\"\"Tolkien\"\", \"\"Christopher\"\"]\"\nb,\"[\"\"Tolkien\"\", \"\"J. R. R.\"\"]\"\n",
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT author_id FROM item ORDER BY code"),
        ["2", "1"]
    );
    // Exported as django-import-export writes natural_key(): a JSON list.
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "author"]),
        "code,author\na,\"[\"\"Tolkien\"\",\"\"Christopher\"\"]\"\nb,\"[\"\"Tolkien\"\",\"\"J. R. R.\"\"]\"\n"
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,author\nc,Tolkien\nd,\"[\"\"Tolkien\"\"]\"\n",
    );
    assert_eq!(
        errors(&result),
        [
            "2 author: is not a natural key (expected a JSON list of 2 values: last_name, first_name)",
            "3 author: is not a natural key (expected a JSON list of 2 values: last_name, first_name)",
        ]
    );
}

#[test]
fn foreign_key_widget_natural_key_json_list_of_one_column() {
    let mut store = store();
    let widget = ForeignKeyWidget::natural_key(
        "category",
        vec![("name", Box::new(CharWidget::new(false)))],
        "id",
    );
    let resource = item(&mut store, vec![field("category", widget).attribute("qty")]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,category\na,\"[\"\"Classics\"\"]\"\n",
    ));
    assert_eq!(column(&store, "SELECT qty FROM item"), ["2"]);
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "category"]),
        "code,category\na,\"[\"\"Classics\"\"]\"\n"
    );
}

#[test]
fn foreign_key_widget_filter_narrows_the_candidates() {
    let mut store = store();
    let active = vec![Condition::Compare {
        column: "active".into(),
        op: CompareOp::Eq,
        value: Value::Bool(true),
    }];
    let widget = ForeignKeyWidget::new(
        "author",
        "first_name",
        "id",
        Box::new(CharWidget::new(false)),
    )
    .with_filter(active);
    let resource = item(
        &mut store,
        vec![field("author", widget).attribute("author_id")],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,author\na,Christopher\nb,Jane\n",
    );
    assert_eq!(
        errors(&result),
        ["3 author: matches no author row (looked up by first_name among the rows its filter allows)"]
    );
    // Without the filter Jane (inactive) is found.
    let widget = ForeignKeyWidget::new(
        "author",
        "first_name",
        "id",
        Box::new(CharWidget::new(false)),
    );
    let resource = item(
        &mut store,
        vec![field("author", widget).attribute("author_id")],
    );
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,author\na,Christopher\nb,Jane\n",
    ));
    assert_eq!(
        column(&store, "SELECT author_id FROM item ORDER BY code"),
        ["2", "3"]
    );
}

#[test]
fn foreign_key_widget_create_missing_inserts_the_batch_missing_rows() {
    let mut store = store();
    let widget = ForeignKeyWidget::new("category", "name", "id", Box::new(CharWidget::new(false)))
        .on_missing(OnMissing::Create);
    let resource = item(&mut store, vec![field("category", widget).attribute("qty")]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,category\na,Horror\nb,Poetry\nc,Horror\nd,Essays\n",
    );
    assert_clean(&result);
    assert_eq!(
        query(&store, "SELECT id, name FROM category ORDER BY id"),
        rows(&[
            &["1", "Fantasy"],
            &["2", "Classics"],
            &["3", "Poetry"],
            &["4", "Horror"],
            &["5", "Essays"],
        ])
    );
    assert_eq!(
        column(&store, "SELECT qty FROM item ORDER BY code"),
        ["4", "3", "4", "5"]
    );
}

#[test]
fn foreign_key_widget_create_missing_with_filter_sets_the_filtered_columns() {
    let mut store = store();
    let widget = ForeignKeyWidget::natural_key(
        "author",
        vec![
            ("last_name", Box::new(CharWidget::new(false))),
            ("first_name", Box::new(CharWidget::new(false))),
        ],
        "id",
    )
    .with_filter(vec![Condition::Compare {
        column: "active".into(),
        op: CompareOp::Eq,
        value: Value::Bool(false),
    }])
    .on_missing(OnMissing::Create);
    let resource = item(
        &mut store,
        vec![field("author", widget).attribute("author_id")],
    );
    let result = import_csv(
        &mut store,
        &resource,
        "code,author\na,\"[\"\"Austen\"\", \"\"Jane\"\"]\"\nb,\"[\"\"Woolf\"\", \"\"Virginia\"\"]\"\n",
    );
    assert_clean(&result);
    assert_eq!(
        query(
            &store,
            "SELECT id, last_name, first_name, active FROM author WHERE id > 3"
        ),
        rows(&[&["4", "Woolf", "Virginia", "0"]])
    );
    assert_eq!(
        column(&store, "SELECT author_id FROM item ORDER BY code"),
        ["3", "4"]
    );
}

#[test]
fn foreign_key_widget_create_missing_refused_by_the_database_is_an_invalid_row() {
    let mut store = store();
    store
        .connection()
        .execute_batch(
            "CREATE TABLE tag (id integer PRIMARY KEY, name text UNIQUE, colour text NOT NULL);",
        )
        .unwrap();
    let widget = ForeignKeyWidget::new("tag", "name", "id", Box::new(CharWidget::new(false)))
        .on_missing(OnMissing::Create);
    let resource = item(
        &mut store,
        vec![field("author", widget).attribute("author_id")],
    );
    let result = import_csv(&mut store, &resource, "code,author\na,red\n");
    assert_eq!(result.totals.invalid, 1);
    let message = &errors(&result)[0];
    assert!(
        message.starts_with("2 author: matches no tag row, and one could not be created: "),
        "{message}"
    );
    assert_eq!(column(&store, "SELECT count(*) FROM tag"), ["0"]);
}

#[test]
fn foreign_key_widget_ignore_missing_leaves_the_key_empty() {
    let mut store = store();
    let widget = ForeignKeyWidget::new("category", "name", "id", Box::new(CharWidget::new(false)))
        .on_missing(OnMissing::Ignore);
    let resource = item(&mut store, vec![field("category", widget).attribute("qty")]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,category\na,Nope\nb,Poetry\n",
    ));
    assert_eq!(
        column(&store, "SELECT quote(qty) FROM item ORDER BY code"),
        ["NULL", "3"]
    );
}

// ---------------------------------------------------------------------------------------
// ManyToMany and m2m_add

fn links(store: &SqliteStore) -> Vec<Vec<String>> {
    query(
        store,
        "SELECT i.code, group_concat(c.name, '|') FROM (SELECT * FROM item_categories ORDER BY category_id) ic \
         JOIN item i ON i.id = ic.item_id JOIN category c ON c.id = ic.category_id \
         GROUP BY i.code ORDER BY i.code",
    )
}

#[test]
fn many_to_many_widget_separator_and_lookup_column_set_the_links() {
    let mut store = store();
    let resource = item(&mut store, vec![field("categories", categories())]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,categories\na,Fantasy| Classics\nb,Poetry\n",
    ));
    assert_eq!(
        links(&store),
        rows(&[&["a", "Fantasy|Classics"], &["b", "Poetry"]])
    );
    // Set semantics: the row's links become exactly the file's list.
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,categories\na,Poetry\n",
    ));
    assert_eq!(links(&store), rows(&[&["a", "Poetry"], &["b", "Poetry"]]));
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "categories"]),
        "code,categories\na,Poetry\nb,Poetry\n"
    );
}

#[test]
fn many_to_many_widget_unknown_names_are_invalid() {
    let mut store = store();
    let resource = item(&mut store, vec![field("categories", categories())]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,categories\na,Fantasy|Sci-Fi|Horror\n",
    );
    assert_eq!(
        errors(&result),
        ["2 categories: names no category row for \"Sci-Fi\", \"Horror\" (looked up by name)"]
    );
    assert_eq!(column(&store, "SELECT count(*) FROM item"), ["0"]);
}

#[test]
fn many_to_many_widget_ignore_missing_opt_in_drops_unknown_names() {
    let mut store = store();
    let widget = categories().on_missing(OnMissing::Ignore);
    let resource = item(&mut store, vec![field("categories", widget)]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,categories\na,Fantasy|Sci-Fi\n",
    ));
    assert_eq!(links(&store), rows(&[&["a", "Fantasy"]]));
}

#[test]
fn many_to_many_widget_create_missing_inserts_new_targets_once() {
    let mut store = store();
    let widget = categories().on_missing(OnMissing::Create);
    let resource = item(&mut store, vec![field("categories", widget)]);
    assert_clean(&import_csv(
        &mut store,
        &resource,
        "code,categories\na,Fantasy|Sci-Fi\nb,Sci-Fi|Horror\n",
    ));
    assert_eq!(
        column(&store, "SELECT name FROM category ORDER BY id"),
        ["Fantasy", "Classics", "Poetry", "Sci-Fi", "Horror"]
    );
    assert_eq!(
        links(&store),
        rows(&[&["a", "Fantasy|Sci-Fi"], &["b", "Sci-Fi|Horror"]])
    );
}

#[test]
fn many_to_many_widget_filter_narrows_the_candidates() {
    let mut store = store();
    let widget = categories().with_filter(vec![Condition::In {
        column: "name".into(),
        values: vec!["Fantasy".into(), "Poetry".into()],
    }]);
    let resource = item(&mut store, vec![field("categories", widget)]);
    let result = import_csv(
        &mut store,
        &resource,
        "code,categories\na,Fantasy|Classics\n",
    );
    assert_eq!(
        errors(&result),
        ["2 categories: names no category row for \"Classics\" (looked up by name)"]
    );
}

#[test]
fn m2m_add_field_option_adds_links_and_keeps_existing_ones() {
    let mut store = store();
    let set = item(&mut store, vec![field("categories", categories())]);
    assert_clean(&import_csv(
        &mut store,
        &set,
        "code,categories\na,Fantasy\n",
    ));
    let add = item(&mut store, vec![field("categories", categories().adding())]);
    let result = import_csv(&mut store, &add, "code,categories\na,Poetry|Fantasy\n");
    assert_clean(&result);
    assert_eq!(result.totals.update, 1);
    assert_eq!(links(&store), rows(&[&["a", "Fantasy|Poetry"]]));
    // Adding nothing new leaves the links as they are.
    assert_clean(&import_csv(&mut store, &add, "code,categories\na,Poetry\n"));
    assert_eq!(links(&store), rows(&[&["a", "Fantasy|Poetry"]]));
}

// ---------------------------------------------------------------------------------------
// Meta: use_natural_foreign_keys, widgets; custom widgets

#[test]
fn use_natural_foreign_keys_reads_and_exports_json_lists() {
    let mut store = store();
    let schema = store.describe("item").unwrap();
    let mut resource = Resource::from_schema("item", &schema);
    resource.options.import_id_fields = vec!["code".into()];
    resource.options.use_natural_foreign_keys = true;
    let resource = resource.finish().unwrap();
    let result = import_csv(
        &mut store,
        &resource,
        "code,author\na,\"[\"\"Austen\"\", \"\"Jane\"\"]\"\nb,\n",
    );
    assert_clean(&result);
    assert_eq!(
        column(&store, "SELECT quote(author_id) FROM item ORDER BY code"),
        ["3", "NULL"]
    );
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "author"]),
        "code,author\na,\"[\"\"Austen\"\",\"\"Jane\"\"]\"\nb,\n"
    );
    // Without the option the same foreign key is read by the primary key.
    let mut plain = Resource::from_schema("item", &schema);
    plain.options.import_id_fields = vec!["code".into()];
    let plain = plain.finish().unwrap();
    assert_clean(&import_csv(&mut store, &plain, "code,author\nb,1\n"));
    assert_eq!(
        column(&store, "SELECT author_id FROM item WHERE code = 'b'"),
        ["1"]
    );
}

#[test]
fn meta_widgets_are_rowport_toml_field_parameters() {
    let mut store = store();
    let config = Config::parse(
        r#"
[resources.item]
import_id_fields = ["code"]
use_natural_foreign_keys = false

[resources.item.field.qty]
thousands_separator = "."
decimal_separator = ","
truncate = true

[resources.item.field.flag]
true_values = ["ja"]
false_values = ["nein"]
unknown_is_false = true

[resources.item.field.stamp]
format = ["%d.%m.%Y %H:%M"]
time_zone = "Europe/Ljubljana"

[resources.item.field.doc]
widget = "json"
single_quotes = false

[resources.item.field.label]
coerce_to_string = false

[resources.item.field.author]
widget = "foreign_key"
lookup = ["last_name", "first_name"]
filter = { active = true }
create_missing = true

[resources.item.field.categories]
widget = "many_to_many"
table = "category"
lookup = "name"
through = "item_categories"
separator = ";"
m2m_add = true
ignore_missing = true
"#,
        std::path::Path::new("rowport.toml"),
    )
    .unwrap();
    let resource = config.resource("item", &mut store).unwrap();
    let result = import_csv(
        &mut store,
        &resource,
        "code,qty,flag,stamp,doc,label,author,categories\n\
         a,\"1.234,9\",vielleicht,01.07.2024 12:00,[1],x,\"[\"\"Le Guin\"\", \"\"Ursula\"\"]\",Poetry;Nope\n",
    );
    assert_clean(&result);
    assert_eq!(
        query(
            &store,
            "SELECT qty, flag, stamp, doc, label, a.last_name, a.active FROM item JOIN author a ON a.id = author_id"
        ),
        rows(&[&["1234", "0", "2024-07-01 10:00:00", "[1]", "x", "Le Guin", "1"]])
    );
    assert_eq!(links(&store), rows(&[&["a", "Poetry"]]));
}

#[test]
fn rowport_toml_widget_parameters_that_do_not_apply_are_errors_naming_them() {
    let mut store = store();
    for (toml, expected) in [
        ("[resources.item.field.qty]\ntime_zone = \"UTC\"\n", "\"time_zone\" does not apply to widget \"integer\""),
        ("[resources.item.field.stamp]\ntime_zone = \"Mars/Olympus\"\n", "\"Mars/Olympus\" is not a time zone"),
        ("[resources.item.field.qty]\ndecimal_separator = \",,\"\n", "decimal_separator \",,\" must be one character"),
        (
            "[resources.item.field.author]\nwidget = \"foreign_key\"\nlookup = \"last_name\"\nfilter = { colour = \"red\" }\n",
            "filter: table \"author\" has no column \"colour\"",
        ),
        (
            "[resources.item.field.author]\nwidget = \"foreign_key\"\ncreate_missing = true\nignore_missing = true\n",
            "create_missing and ignore_missing cannot both be true",
        ),
        ("[resources.item.field.flag]\nm2m_add = true\n", "\"m2m_add\" does not apply to widget \"boolean\""),
    ] {
        let config = Config::parse(toml, std::path::Path::new("rowport.toml")).unwrap();
        let err = config.resource("item", &mut store).unwrap_err().to_string();
        assert!(err.contains(expected), "{toml}: {err}");
    }
    let err = Config::parse(
        "[resources.item.field.qty]\ntruncat = true\n",
        std::path::Path::new("rowport.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `truncat`"), "{err}");
}

/// A widget of one's own: upper-cases codes on import, lower-cases them on export.
#[derive(Debug)]
struct Shouting;

impl Widget for Shouting {
    fn name(&self) -> &str {
        "shouting"
    }
    fn kind(&self) -> ValueKind {
        ValueKind::Text
    }
    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        match cell {
            Cell::Text(s) if s.chars().all(|c| c.is_ascii_alphabetic()) => {
                Ok(Value::Text(s.to_ascii_uppercase()))
            }
            _ => Err(WidgetError::new("is not a word")),
        }
    }
    fn render(&self, value: &Value) -> Cell {
        Cell::Text(value.to_string().to_ascii_lowercase())
    }
}

#[test]
fn custom_widget_is_a_trait_impl() {
    let mut store = store();
    let resource = item(&mut store, vec![field("label", Shouting)]);
    let result = import_csv(&mut store, &resource, "code,label\na,hello\nb,h3llo\n");
    assert_eq!(errors(&result), ["3 label: is not a word"]);
    assert_clean(&import_csv(&mut store, &resource, "code,label\na,hello\n"));
    assert_eq!(column(&store, "SELECT label FROM item"), ["HELLO"]);
    assert_eq!(
        export_csv(&mut store, &resource, &["code", "label"]),
        "code,label\na,hello\n"
    );
}
