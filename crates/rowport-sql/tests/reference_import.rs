//! django-import-export's reference, sections 1.1 (resource options), 1.5 (import workflow
//! and hooks), 1.6 (transactions and dry runs), 1.7 (results), 1.9 (bulk), 1.10 (instance
//! loaders) and 1.18 (signals), row by row, against a real SQLite database. Each test is
//! named after the reference row it exercises: `meta_<option>_…`, `hook_<hook>_…`,
//! `result_<item>_…`, `signal_<signal>_…`.

use std::sync::{Arc, Mutex};

use rowport::config::Config;
use rowport::hooks::Observer;
use rowport::result::FailedRowsWriter;
use rowport::{
    export, import, import_into, Context, ExportOptions, Field, HookError, Hooks, ImportError,
    ImportOptions, ImportResult, Record, Resource, RowData, RowError, RowOutcome, RowResult, Store,
    Value,
};
use rowport_formats::{open_reader, open_writer, Format, ReadOptions, WriteOptions};
use rowport_sql::SqliteStore;

const SCHEMA: &str = r#"
CREATE TABLE author (id integer PRIMARY KEY AUTOINCREMENT, name varchar(100) NOT NULL UNIQUE);
CREATE TABLE book (
  id integer PRIMARY KEY AUTOINCREMENT,
  isbn varchar(13) NOT NULL UNIQUE,
  name varchar(20) NOT NULL,
  slug varchar(30) NULL UNIQUE,
  price decimal(10, 2) NULL CHECK (price >= 0),
  pages integer NOT NULL DEFAULT 0,
  author_id bigint NULL REFERENCES author (id)
);
CREATE TABLE entry (id integer PRIMARY KEY AUTOINCREMENT, code text NULL, n integer NULL);
INSERT INTO book (isbn, name, slug, price, pages) VALUES
  ('1', 'Dune', 'dune', 10.5, 412),
  ('2', 'Emma', 'emma', 5, 300);
INSERT INTO entry (code, n) VALUES ('a', 1);
"#;

fn store() -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    store.connection().execute_batch(SCHEMA).unwrap();
    store
}

/// The default book resource keyed by isbn, changed by `edit` before `finish`.
fn book(store: &mut SqliteStore, edit: impl FnOnce(&mut Resource)) -> Resource {
    let schema = store.describe("book").unwrap();
    let mut resource = Resource::from_schema("book", &schema);
    resource.options.import_id_fields = vec!["isbn".into()];
    edit(&mut resource);
    resource.finish().unwrap()
}

fn reader(csv: &str) -> Box<dyn rowport_formats::RowReader + '_> {
    open_reader(
        Format::Csv,
        Box::new(csv.as_bytes()),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap()
}

fn run(
    store: &mut SqliteStore,
    resource: &Resource,
    csv: &str,
    options: &ImportOptions,
) -> Result<ImportResult, ImportError> {
    import(resource, store, reader(csv).as_mut(), options)
}

fn skip_invalid() -> ImportOptions {
    ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    }
}

fn preview() -> ImportOptions {
    ImportOptions {
        preview_rows: 100,
        ..ImportOptions::default()
    }
}

/// isbn and name of every book, by id.
fn books(store: &SqliteStore) -> Vec<(String, String)> {
    query(store, "SELECT isbn, name FROM book ORDER BY id")
}

fn query(store: &SqliteStore, sql: &str) -> Vec<(String, String)> {
    let mut stmt = store.connection().prepare(sql).unwrap();
    stmt.query_map([], |r| {
        let text = |i: usize| -> rusqlite::Result<String> {
            Ok(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => "NULL".into(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                rusqlite::types::ValueRef::Real(f) => f.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(_) => "<blob>".into(),
            })
        };
        Ok((text(0)?, text(1)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn original_books() -> Vec<(String, String)> {
    pairs(&[("1", "Dune"), ("2", "Emma")])
}

// ---------------------------------------------------------------------------------------
// 1.1 Resource Meta options
// ---------------------------------------------------------------------------------------

#[test]
fn meta_model_is_the_table_the_resource_writes() {
    let mut store = store();
    let schema = store.describe("book").unwrap();
    // A resource named otherwise still writes its table (DJE `model`).
    let mut novel = Resource::from_schema("novel", &schema);
    novel.options.import_id_fields = vec!["isbn".into()];
    let novel = novel.finish().unwrap();
    assert_eq!(novel.table, "book");
    run(
        &mut store,
        &novel,
        "isbn,name\n3,Walden\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(books(&store)[2], ("3".into(), "Walden".into()));
}

#[test]
fn meta_fields_whitelist_imports_only_the_listed_fields() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.fields = Some(vec!["isbn".into(), "name".into()]);
    });
    run(
        &mut store,
        &resource,
        "isbn,name,price\n1,Dune II,99\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        query(&store, "SELECT name, price FROM book WHERE isbn = '1'"),
        pairs(&[("Dune II", "10.5")])
    );
}

#[test]
fn meta_exclude_leaves_an_excluded_column_untouched() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.exclude = vec!["price".into()]);
    run(
        &mut store,
        &resource,
        "isbn,name,price\n2,Emma,1\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        query(&store, "SELECT name, price FROM book WHERE isbn = '2'"),
        pairs(&[("Emma", "5")])
    );
}

#[test]
fn meta_import_id_fields_update_the_row_with_that_key() {
    let mut store = store();
    let resource = book(&mut store, |_| {});
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n2,Emma (2nd ed.)\n3,Walden\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!((result.totals.update, result.totals.new), (1, 1));
    assert_eq!(
        books(&store),
        pairs(&[("1", "Dune"), ("2", "Emma (2nd ed.)"), ("3", "Walden")])
    );
}

#[test]
fn meta_import_id_fields_composite_key_matches_on_every_column() {
    let mut store = store();
    let schema = store.describe("entry").unwrap();
    let mut entry = Resource::from_schema("entry", &schema);
    entry.options.import_id_fields = vec!["code".into(), "n".into()];
    let entry = entry.finish().unwrap();
    // (a, 1) exists: updated in place; (a, 2) is another key: new.
    let result = run(
        &mut store,
        &entry,
        "code,n\na,1\na,2\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!((result.totals.update, result.totals.new), (1, 1));
    assert_eq!(
        query(&store, "SELECT code, n FROM entry ORDER BY id"),
        pairs(&[("a", "1"), ("a", "2")])
    );
}

#[test]
fn meta_import_order_orders_the_columns_of_a_row_diff() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.import_order = vec!["price".into(), "name".into()];
    });
    let result = run(
        &mut store,
        &resource,
        "isbn,name,price\n1,Dune II,11.00\n",
        &preview(),
    )
    .unwrap();
    let columns: Vec<&str> = result.rows[0]
        .changes
        .iter()
        .map(|c| c.column.as_str())
        .collect();
    assert_eq!(columns, ["price", "name"]);
}

#[test]
fn meta_export_order_puts_the_listed_columns_first() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.export_order = vec!["name".into(), "isbn".into()];
    });
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    export(&resource, &mut store, writer, &ExportOptions::default()).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("name,isbn,id,slug,price,pages,author\n"),
        "{text}"
    );
}

#[test]
fn meta_use_transactions_true_rolls_back_every_row_when_one_fails() {
    let mut store = store();
    let resource = book(&mut store, |_| {});
    let result = run(
        &mut store,
        &resource,
        "isbn,name,pages\n3,Walden,10\n4,Ulysses,many\n",
        &Default::default(),
    )
    .unwrap();
    assert!(!result.committed);
    assert_eq!(books(&store), original_books());
}

#[test]
fn meta_use_transactions_false_keeps_the_rows_written_before_a_failure() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.use_transactions = false);
    let result = run(
        &mut store,
        &resource,
        "isbn,name,pages\n3,Walden,10\n4,Ulysses,many\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!((result.totals.new, result.totals.invalid), (1, 1));
    assert!(result.committed);
    assert_eq!(
        books(&store),
        pairs(&[("1", "Dune"), ("2", "Emma"), ("3", "Walden")])
    );
}

#[test]
fn meta_skip_unchanged_skips_rows_equal_to_the_database() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.skip_unchanged = true;
        r.options.fields = Some(vec!["isbn".into(), "name".into()]);
    });
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n1,Dune\n2,Emma!\n",
        &preview(),
    )
    .unwrap();
    assert_eq!((result.totals.skip, result.totals.update), (1, 1));
    assert_eq!(result.rows[0].outcome, RowOutcome::Skip);
}

#[test]
fn meta_report_skipped_false_counts_skipped_rows_but_does_not_list_them() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.skip_unchanged = true;
        r.options.report_skipped = false;
        r.options.fields = Some(vec!["isbn".into(), "name".into()]);
    });
    let mut sink: Vec<(RowResult, Vec<RowError>)> = Vec::new();
    let result = import_into(
        &resource,
        &mut store,
        reader("isbn,name\n1,Dune\n2,Emma!\n").as_mut(),
        &preview(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(result.totals.skip, 1);
    let listed: Vec<(u64, RowOutcome)> = result.rows.iter().map(|r| (r.row, r.outcome)).collect();
    assert_eq!(listed, [(3, RowOutcome::Update)]);
    assert_eq!(sink.len(), 1);
}

/// The errors of a result as `row column: message`.
fn error_lines(result: &ImportResult) -> Vec<String> {
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

#[test]
fn meta_clean_model_instances_reports_not_null_before_writing() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.clean_model_instances = true);
    let result = run(
        &mut store,
        &resource,
        "isbn,name,pages\n3,Walden,\n4,Ulysses,700\n",
        &skip_invalid(),
    )
    .unwrap();
    assert_eq!((result.totals.invalid, result.totals.new), (1, 1));
    assert_eq!(
        error_lines(&result),
        ["2 pages: is required: book.pages cannot be empty (NOT NULL)"]
    );
    assert_eq!(result.errors[0].outcome, RowOutcome::Invalid);
    assert_eq!(books(&store)[2..], pairs(&[("4", "Ulysses")]));
}

#[test]
fn meta_clean_model_instances_reports_a_not_null_column_no_file_column_fills() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.clean_model_instances = true);
    // `name` is NOT NULL without a default; an update leaves it as it is.
    let result = run(
        &mut store,
        &resource,
        "isbn,pages\n1,413\n5,1\n",
        &skip_invalid(),
    )
    .unwrap();
    assert_eq!((result.totals.update, result.totals.invalid), (1, 1));
    assert_eq!(
        error_lines(&result),
        ["3 -: book.name cannot be empty (NOT NULL, no default), and no column of the file fills it"]
    );
}

#[test]
fn meta_clean_model_instances_reports_length_before_writing() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.clean_model_instances = true);
    // SQLite itself would store the 27 characters: the check is rowport's, as Django's.
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n3,The Left Hand of Darkness!!\n",
        &skip_invalid(),
    )
    .unwrap();
    assert_eq!(result.totals.invalid, 1);
    assert_eq!(
        result.errors[0].describe("books.csv"),
        "books.csv, row 2, column \"name\": \"The Left Hand of Darkness!!\" is 27 characters long, and book.name holds at most 20 (varchar(20))"
    );
    assert_eq!(books(&store), original_books());
}

#[test]
fn meta_clean_model_instances_reports_unique_before_writing() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.clean_model_instances = true);
    let result = run(
        &mut store,
        &resource,
        "isbn,name,slug\n3,Dune copy,dune\n4,Walden,walden\n5,Walden again,walden\n2,Emma,emma\n",
        &skip_invalid(),
    )
    .unwrap();
    assert_eq!(
        error_lines(&result),
        [
            "2 slug: is already used by another book row, and book.slug is unique",
            "4 slug: is also in row 3, and book.slug is unique",
        ]
    );
    // Row 5 keeps its own slug: no conflict with itself.
    assert_eq!(
        (
            result.totals.new,
            result.totals.update,
            result.totals.invalid
        ),
        (1, 1, 2)
    );
    assert_eq!(
        books(&store),
        pairs(&[("1", "Dune"), ("2", "Emma"), ("4", "Walden")])
    );
}

#[test]
fn meta_clean_model_instances_reports_unique_against_rows_of_earlier_batches() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.clean_model_instances = true;
        r.options.batch_size = 1;
    });
    let result = run(
        &mut store,
        &resource,
        "isbn,name,slug\n4,Walden,walden\n5,Walden again,walden\n",
        &skip_invalid(),
    )
    .unwrap();
    assert_eq!(
        error_lines(&result),
        ["3 slug: is already used by another book row, and book.slug is unique"]
    );
}

#[test]
fn meta_clean_model_instances_reports_check_before_writing() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.clean_model_instances = true);
    let result = run(
        &mut store,
        &resource,
        "isbn,name,price\n3,Walden,-1\n4,Ulysses,0\n",
        &skip_invalid(),
    )
    .unwrap();
    assert_eq!(
        error_lines(&result),
        ["2 -: breaks the book table's check CHECK (price >= 0)"]
    );
    let invalid = result.invalid_rows();
    assert_eq!(invalid.len(), 1);
    assert_eq!(
        (
            invalid[0].field_errors.len(),
            invalid[0].non_field_errors.len()
        ),
        (0, 1)
    );
    assert_eq!(books(&store)[2..], pairs(&[("4", "Ulysses")]));
}

#[test]
fn meta_clean_model_instances_off_leaves_constraints_to_the_database() {
    let mut store = store();
    let resource = book(&mut store, |_| {});
    let result = run(
        &mut store,
        &resource,
        "isbn,name,price\n3,Walden,-1\n",
        &skip_invalid(),
    )
    .unwrap();
    // The database refuses the row when it is written: an error row, not an invalid one.
    assert_eq!((result.totals.error, result.totals.invalid), (1, 0));
    assert_eq!(result.errors[0].outcome, RowOutcome::Error);
}

#[test]
fn meta_skip_diff_computes_no_changes_and_never_skips_unchanged() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.skip_diff = true;
        r.options.skip_unchanged = true;
        r.options.fields = Some(vec!["isbn".into(), "name".into()]);
    });
    let result = run(&mut store, &resource, "isbn,name\n1,Dune\n", &preview()).unwrap();
    assert_eq!(result.totals.update, 1);
    assert!(result.rows[0].changes.is_empty());
}

#[test]
fn meta_use_bulk_writes_what_the_row_by_row_reference_would() {
    let csv = "isbn,name\n1,Dune II\n3,Walden\n4,Ulysses\n3,Walden (revised)\n";
    let mut contents = Vec::new();
    for use_bulk in [false, true] {
        let mut store = store();
        let resource = book(&mut store, |r| {
            r.options.use_bulk = use_bulk;
            r.options.batch_size = 2;
        });
        let result = run(&mut store, &resource, csv, &Default::default()).unwrap();
        assert_eq!((result.totals.new, result.totals.update), (2, 2));
        contents.push(books(&store));
    }
    assert_eq!(
        contents[1],
        pairs(&[
            ("1", "Dune II"),
            ("2", "Emma"),
            ("3", "Walden (revised)"),
            ("4", "Ulysses")
        ])
    );
    assert_eq!(contents[0], contents[1]);
}

#[test]
fn meta_batch_size_zero_is_refused_before_the_import() {
    let mut store = store();
    let schema = store.describe("book").unwrap();
    let mut resource = Resource::from_schema("book", &schema);
    resource.options.batch_size = 0;
    let error = resource.finish().unwrap_err();
    assert_eq!(
        error.to_string(),
        "resource \"book\": batch_size must be at least 1"
    );
    let config = Config::parse(
        "[resources.book]\nbatch_size = 0\n",
        std::path::Path::new("rowport.toml"),
    )
    .unwrap();
    let error = config.resource("book", &mut store).unwrap_err();
    assert_eq!(
        error.to_string(),
        "rowport.toml: resource \"book\": batch_size must be at least 1"
    );
}

#[test]
fn meta_batch_size_one_imports_every_row_in_its_own_batch() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.batch_size = 1);
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n3,Walden II\n4,Ulysses\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!((result.totals.new, result.totals.update), (2, 1));
    assert_eq!(
        books(&store)[2..],
        pairs(&[("3", "Walden II"), ("4", "Ulysses")])
    );
}

#[test]
fn meta_force_init_instance_makes_every_row_new() {
    let csv = "code,n\na,5\n";
    let mut results = Vec::new();
    for force in [false, true] {
        let mut store = store();
        let schema = store.describe("entry").unwrap();
        let mut entry = Resource::from_schema("entry", &schema);
        entry.options.import_id_fields = vec!["code".into()];
        entry.options.force_init_instance = force;
        let entry = entry.finish().unwrap();
        let result = run(&mut store, &entry, csv, &Default::default()).unwrap();
        results.push((
            result.totals.new,
            result.totals.update,
            query(&store, "SELECT code, n FROM entry ORDER BY id"),
        ));
    }
    assert_eq!(results[0], (0, 1, pairs(&[("a", "5")])));
    assert_eq!(results[1], (1, 0, pairs(&[("a", "1"), ("a", "5")])));
}

#[test]
fn meta_store_instance_keeps_the_record_in_the_row_result() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.store_instance = true);
    let result = run(&mut store, &resource, "isbn,name\n3,Walden\n", &preview()).unwrap();
    let instance = result.rows[0].instance.as_ref().unwrap();
    assert_eq!(instance.get("id"), Some(&Value::Int(3)));
    assert_eq!(instance.get("name"), Some(&Value::Text("Walden".into())));
    let without = book(&mut store, |_| {});
    let result = run(&mut store, &without, "isbn,name\n4,Emma\n", &preview()).unwrap();
    assert!(result.rows[0].instance.is_none());
}

#[test]
fn meta_store_row_values_keeps_the_cells_in_the_row_result() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.store_row_values = true);
    let result = run(
        &mut store,
        &resource,
        "isbn,name,note\n3,Walden,woods\n",
        &preview(),
    )
    .unwrap();
    assert_eq!(
        result.rows[0].row_values.as_deref(),
        Some(&pairs(&[("isbn", "3"), ("name", "Walden"), ("note", "woods")])[..])
    );
}

#[test]
fn meta_name_is_the_display_name() {
    let mut store = store();
    let plain = book(&mut store, |_| {});
    assert_eq!(plain.display_name(), "book");
    let named = book(&mut store, |r| {
        r.options.verbose_name = Some("Books".into())
    });
    assert_eq!(named.display_name(), "Books");
    let config = Config::parse(
        "[resources.book]\nverbose_name = \"Library books\"\n",
        std::path::Path::new("rowport.toml"),
    )
    .unwrap();
    assert_eq!(
        config.resource("book", &mut store).unwrap().display_name(),
        "Library books"
    );
}

#[test]
fn meta_inheritance_extend_in_rust_keeps_the_base_fields_options_and_hooks() {
    let mut store = store();
    let recorder = Arc::new(Recorder::default());
    let base = book(&mut store, |r| {
        r.options.skip_unchanged = true;
        r.options.fields = Some(vec!["isbn".into(), "name".into()]);
        r.hooks = recorder.clone();
    });
    let mut child = Resource::extend("book_by_slug", &base);
    child.options.import_id_fields = vec!["slug".into()];
    child.options.fields = Some(vec!["slug".into(), "name".into()]);
    let child = child.finish().unwrap();
    assert_eq!(
        (child.name.as_str(), child.table.as_str()),
        ("book_by_slug", "book")
    );
    assert!(child.options.skip_unchanged);
    let result = run(
        &mut store,
        &child,
        "slug,name\ndune,Dune\nemma,Emma!\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!((result.totals.skip, result.totals.update), (1, 1));
    assert!(recorder
        .calls()
        .contains(&"after_import_row(Update):3".to_owned()));
}

#[test]
fn meta_inheritance_extends_in_toml_merges_the_base_options_and_fields() {
    let mut store = store();
    let config = Config::parse(
        r#"
[resources.book]
import_id_fields = ["isbn"]
skip_unchanged = true
exclude = ["price"]

[resources.book.field.name]
column_name = "title"

[resources.renamed_book]
extends = "book"
verbose_name = "Books, by slug"
import_id_fields = ["slug"]
"#,
        std::path::Path::new("rowport.toml"),
    )
    .unwrap();
    let child = config.resource("renamed_book", &mut store).unwrap();
    assert_eq!(child.table, "book");
    assert_eq!(child.import_id_fields(), ["slug"]);
    assert!(child.options.skip_unchanged);
    assert_eq!(child.display_name(), "Books, by slug");
    let result = run(
        &mut store,
        &child,
        "slug,title,price\nemma,Emma (new),99\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(result.totals.update, 1);
    assert_eq!(
        query(&store, "SELECT name, price FROM book WHERE slug = 'emma'"),
        pairs(&[("Emma (new)", "5")])
    );
}

#[test]
fn meta_inheritance_extends_in_a_circle_is_an_error() {
    let mut store = store();
    let config = Config::parse(
        "[resources.a]\nextends = \"b\"\n[resources.b]\nextends = \"a\"\n",
        std::path::Path::new("rowport.toml"),
    )
    .unwrap();
    assert_eq!(
        config.resource("a", &mut store).unwrap_err().to_string(),
        "rowport.toml: resource \"a\": extends goes round in a circle: a → b → a"
    );
}

// ---------------------------------------------------------------------------------------
// 1.5 Import workflow and hooks
// ---------------------------------------------------------------------------------------

/// Records every hook call as `hook:row`, and what each was told.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    contexts: Mutex<Vec<(String, bool, Option<String>)>>,
}

impl Recorder {
    fn log(&self, hook: &str, row: u64, ctx: &Context) {
        self.calls.lock().unwrap().push(format!("{hook}:{row}"));
        self.contexts.lock().unwrap().push((
            hook.to_owned(),
            ctx.dry_run,
            ctx.extra.get("user").cloned(),
        ));
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Hooks for Recorder {
    fn before_import(&self, _: &[String], ctx: &Context) -> Result<(), HookError> {
        self.log("before_import", 0, ctx);
        Ok(())
    }
    fn before_import_row(&self, row: &mut RowData<'_>, ctx: &Context) -> Result<(), HookError> {
        self.log("before_import_row", row.number, ctx);
        Ok(())
    }
    fn init_instance(&self, _: &mut Record, row: &RowData<'_>, ctx: &Context) {
        self.log("init_instance", row.number, ctx);
    }
    fn after_init_instance(&self, _: &mut Record, new: bool, row: &RowData<'_>, ctx: &Context) {
        self.log(&format!("after_init_instance(new={new})"), row.number, ctx);
    }
    fn for_delete(&self, row: &RowData<'_>, _: &Record, ctx: &Context) -> bool {
        self.log("for_delete", row.number, ctx);
        row.get("delete").map(|c| c.to_string()).as_deref() == Some("1")
    }
    fn import_field(
        &self,
        field: &Field,
        instance: &mut Record,
        value: Value,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        self.log(&format!("import_field({})", field.name), row.number, ctx);
        instance.set(&field.attribute, value);
        Ok(())
    }
    fn skip_row(
        &self,
        _: &Record,
        _: Option<&Record>,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Option<bool> {
        self.log("skip_row", row.number, ctx);
        None
    }
    fn before_save_instance(
        &self,
        _: &mut Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        self.log("before_save_instance", row.number, ctx);
        Ok(())
    }
    fn after_save_instance(
        &self,
        _: &Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        self.log("after_save_instance", row.number, ctx);
        Ok(())
    }
    fn before_delete_instance(
        &self,
        _: &Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        self.log("before_delete_instance", row.number, ctx);
        Ok(())
    }
    fn after_delete_instance(
        &self,
        _: &Record,
        row: &RowData<'_>,
        ctx: &Context,
    ) -> Result<(), HookError> {
        self.log("after_delete_instance", row.number, ctx);
        Ok(())
    }
    fn after_import_row(&self, row: &RowData<'_>, outcome: RowOutcome, ctx: &Context) {
        self.log(&format!("after_import_row({outcome:?})"), row.number, ctx);
    }
    fn after_import(&self, _: &ImportResult, ctx: &Context) -> Result<(), HookError> {
        self.log("after_import", 0, ctx);
        Ok(())
    }
}

impl Observer for Recorder {
    fn post_import(&self, resource: &str, result: &ImportResult, ctx: &Context) {
        self.log(
            &format!("post_import({resource}, committed={})", result.committed),
            0,
            ctx,
        );
    }
    fn post_export(&self, resource: &str, rows: u64, ctx: &Context) {
        self.log(&format!("post_export({resource}, {rows} rows)"), 0, ctx);
    }
}

fn recorded_book(store: &mut SqliteStore, recorder: &Arc<Recorder>) -> Resource {
    let resource = book(store, |r| {
        r.options.skip_unchanged = true;
        r.options.fields = Some(vec!["isbn".into(), "name".into(), "pages".into()]);
        r.hooks = recorder.clone();
    });
    resource.observe(recorder.clone())
}

#[test]
fn hook_order_with_a_delete_an_update_a_skip_a_new_and_an_invalid_row() {
    let mut store = store();
    store
        .connection()
        .execute(
            "INSERT INTO book (isbn, name, pages) VALUES ('3', 'Ulysses', 730)",
            [],
        )
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let resource = recorded_book(&mut store, &recorder);
    // Row 2 deletes, 3 updates, 4 is unchanged, 5 is new, 6 is invalid.
    let csv = "isbn,name,pages,delete\n\
               1,Dune,412,1\n\
               2,Emma (2nd ed.),300,0\n\
               3,Ulysses,730,0\n\
               4,Walden,200,0\n\
               5,Beloved,many,0\n";
    let result = run(&mut store, &resource, csv, &skip_invalid()).unwrap();
    assert_eq!(
        result.totals.to_string(),
        "1 new, 1 updated, 1 skipped, 1 deleted, 1 invalid, 0 errors"
    );
    let expected = [
        "before_import:0",
        // The batch is cleaned first: every row's before_import_row.
        "before_import_row:2",
        "before_import_row:3",
        "before_import_row:4",
        "before_import_row:5",
        "before_import_row:6",
        // Then each valid row through classification, in file order.
        "after_init_instance(new=false):2",
        "for_delete:2",
        "after_init_instance(new=false):3",
        "for_delete:3",
        "import_field(isbn):3",
        "import_field(name):3",
        "import_field(pages):3",
        "skip_row:3",
        "after_init_instance(new=false):4",
        "for_delete:4",
        "import_field(isbn):4",
        "import_field(name):4",
        "import_field(pages):4",
        "skip_row:4",
        "init_instance:5",
        "after_init_instance(new=true):5",
        "for_delete:5",
        "import_field(isbn):5",
        "import_field(name):5",
        "import_field(pages):5",
        "skip_row:5",
        // Just before the batch is written.
        "before_delete_instance:2",
        "before_save_instance:3",
        "before_save_instance:5",
        // After it is written, row by row.
        "after_delete_instance:2",
        "after_import_row(Delete):2",
        "after_save_instance:3",
        "after_import_row(Update):3",
        "after_import_row(Skip):4",
        "after_save_instance:5",
        "after_import_row(New):5",
        "after_import_row(Invalid):6",
        "after_import:0",
        "post_import(book, committed=true):0",
    ];
    assert_eq!(recorder.calls(), expected);
    assert_eq!(
        books(&store),
        pairs(&[("2", "Emma (2nd ed.)"), ("3", "Ulysses"), ("4", "Walden")])
    );
}

#[test]
fn hook_context_reaches_every_hook_with_dry_run_and_the_callers_values() {
    let mut store = store();
    let recorder = Arc::new(Recorder::default());
    let resource = recorded_book(&mut store, &recorder);
    let mut context = Context {
        dry_run: true,
        file_name: "books.csv".into(),
        ..Context::default()
    };
    context.extra.insert("user".into(), "ada".into());
    let options = ImportOptions {
        dry_run: true,
        context,
        ..ImportOptions::default()
    };
    run(
        &mut store,
        &resource,
        "isbn,name\n1,Dune!\n3,Walden\n",
        &options,
    )
    .unwrap();
    let contexts = recorder.contexts.lock().unwrap().clone();
    assert!(contexts.len() > 10);
    for (hook, dry_run, user) in contexts {
        assert!(dry_run, "{hook}");
        assert_eq!(user.as_deref(), Some("ada"), "{hook}");
    }
}

#[test]
fn hook_init_and_after_init_instance_fill_a_new_record() {
    struct Fill;
    impl Hooks for Fill {
        fn init_instance(&self, instance: &mut Record, _: &RowData<'_>, _: &Context) {
            instance.set("pages", Value::Int(1));
        }
        fn after_init_instance(
            &self,
            instance: &mut Record,
            new: bool,
            row: &RowData<'_>,
            _: &Context,
        ) {
            if new {
                instance.set("name", Value::Text(format!("Untitled {}", row.number)));
            }
        }
    }
    let mut store = store();
    // Neither column is in the file: the values the hooks set are written.
    let resource = book(&mut store, |r| r.hooks = Arc::new(Fill));
    let result = run(&mut store, &resource, "isbn\n7\n1\n", &Default::default()).unwrap();
    assert_eq!((result.totals.new, result.totals.update), (1, 1));
    assert_eq!(
        query(&store, "SELECT name, pages FROM book ORDER BY id"),
        pairs(&[("Dune", "412"), ("Emma", "300"), ("Untitled 2", "1")])
    );
}

#[test]
fn hook_for_delete_deletes_an_existing_row_and_skips_a_new_one() {
    struct DeleteAll;
    impl Hooks for DeleteAll {
        fn for_delete(&self, _: &RowData<'_>, _: &Record, _: &Context) -> bool {
            true
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| r.hooks = Arc::new(DeleteAll));
    let result = run(&mut store, &resource, "isbn\n1\n9\n", &Default::default()).unwrap();
    assert_eq!((result.totals.delete, result.totals.skip), (1, 1));
    assert_eq!(books(&store), pairs(&[("2", "Emma")]));
}

#[test]
fn hook_for_delete_as_a_delete_when_rule() {
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.delete_when = Some(rowport::DeleteRule {
            column: "delete".into(),
            equals: vec!["1".into(), "yes".into()],
        });
    });
    let result = run(
        &mut store,
        &resource,
        "isbn,name,delete\n1,Dune, YES \n2,Emma (2nd ed.),no\n9,Gone,1\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        (
            result.totals.delete,
            result.totals.update,
            result.totals.skip
        ),
        (1, 1, 1)
    );
    assert_eq!(books(&store), pairs(&[("2", "Emma (2nd ed.)")]));
}

#[test]
fn hook_import_field_can_transform_a_value() {
    struct Upper;
    impl Hooks for Upper {
        fn import_field(
            &self,
            field: &Field,
            instance: &mut Record,
            value: Value,
            _: &RowData<'_>,
            _: &Context,
        ) -> Result<(), HookError> {
            let value = match (field.name.as_str(), value) {
                ("name", Value::Text(t)) => Value::Text(t.to_uppercase()),
                (_, v) => v,
            };
            instance.set(&field.attribute, value);
            Ok(())
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| r.hooks = Arc::new(Upper));
    run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(books(&store)[2], ("3".into(), "WALDEN".into()));
}

#[test]
fn hook_skip_row_overrides_skip_unchanged() {
    struct SkipOdd;
    impl Hooks for SkipOdd {
        fn skip_row(
            &self,
            instance: &Record,
            _: Option<&Record>,
            _: &RowData<'_>,
            _: &Context,
        ) -> Option<bool> {
            Some(instance.get("isbn") == Some(&Value::Text("3".into())))
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| r.hooks = Arc::new(SkipOdd));
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n4,Ulysses\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!((result.totals.skip, result.totals.new), (1, 1));
    assert_eq!(books(&store)[2..], pairs(&[("4", "Ulysses")]));
}

#[test]
fn hook_before_save_instance_changes_what_is_written_and_after_save_sees_the_key() {
    #[derive(Default)]
    struct Stamp(Mutex<Vec<Value>>);
    impl Hooks for Stamp {
        fn before_save_instance(
            &self,
            instance: &mut Record,
            _: &RowData<'_>,
            _: &Context,
        ) -> Result<(), HookError> {
            let name = instance.get("name").cloned().unwrap_or_default();
            instance.set("name", Value::Text(format!("{name} (imported)")));
            Ok(())
        }
        fn after_save_instance(
            &self,
            instance: &Record,
            _: &RowData<'_>,
            _: &Context,
        ) -> Result<(), HookError> {
            self.0
                .lock()
                .unwrap()
                .push(instance.get("id").cloned().unwrap_or_default());
            Ok(())
        }
    }
    let mut store = store();
    let stamp = Arc::new(Stamp::default());
    let resource = book(&mut store, |r| r.hooks = stamp.clone());
    run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(books(&store)[2], ("3".into(), "Walden (imported)".into()));
    assert_eq!(*stamp.0.lock().unwrap(), [Value::Int(3)]);
}

#[test]
fn hook_before_delete_instance_refusal_makes_an_error_row_and_keeps_the_record() {
    struct Keep;
    impl Hooks for Keep {
        fn for_delete(&self, _: &RowData<'_>, _: &Record, _: &Context) -> bool {
            true
        }
        fn before_delete_instance(
            &self,
            _: &Record,
            _: &RowData<'_>,
            _: &Context,
        ) -> Result<(), HookError> {
            Err(HookError("books are never deleted".into()))
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| r.hooks = Arc::new(Keep));
    let result = run(&mut store, &resource, "isbn\n1\n", &skip_invalid()).unwrap();
    assert_eq!(result.totals.error, 1);
    assert_eq!(
        result.errors[0].describe("books.csv"),
        "books.csv, row 2: books are never deleted"
    );
    assert_eq!(books(&store), original_books());
}

#[test]
fn hook_before_import_row_can_fix_a_cell() {
    struct Trim;
    impl Hooks for Trim {
        fn before_import_row(&self, row: &mut RowData<'_>, _: &Context) -> Result<(), HookError> {
            let pages = row.get("pages").map(|c| c.to_string()).unwrap_or_default();
            row.set(
                "pages",
                rowport::Cell::Text(pages.trim_end_matches(" pages").to_owned()),
            );
            Ok(())
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| r.hooks = Arc::new(Trim));
    run(
        &mut store,
        &resource,
        "isbn,name,pages\n3,Walden,352 pages\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        query(&store, "SELECT isbn, pages FROM book WHERE isbn = '3'"),
        pairs(&[("3", "352")])
    );
}

#[test]
fn hook_after_import_refusal_rolls_the_import_back() {
    struct Veto;
    impl Hooks for Veto {
        fn after_import(&self, result: &ImportResult, _: &Context) -> Result<(), HookError> {
            Err(HookError(format!(
                "{} new rows: imports are closed today",
                result.totals.new
            )))
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| r.hooks = Arc::new(Veto));
    let error = run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n",
        &Default::default(),
    )
    .unwrap_err();
    // DJE would record a base error; rowport ends the import with it, nothing committed.
    assert!(matches!(error, ImportError::Hook(_)));
    assert_eq!(error.to_string(), "1 new rows: imports are closed today");
    assert_eq!(books(&store), original_books());
}

#[test]
fn hook_before_import_refusal_stops_before_the_first_row() {
    struct Closed;
    impl Hooks for Closed {
        fn before_import(&self, headers: &[String], _: &Context) -> Result<(), HookError> {
            Err(HookError(format!(
                "unexpected columns: {}",
                headers.join(", ")
            )))
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| r.hooks = Arc::new(Closed));
    let error = run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n",
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "unexpected columns: isbn, name");
    assert_eq!(books(&store), original_books());
}

// ---------------------------------------------------------------------------------------
// 1.6 Transactions and dry runs; 1.18 signals
// ---------------------------------------------------------------------------------------

#[test]
fn dry_run_runs_everything_then_rolls_back() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.clean_model_instances = true);
    let options = ImportOptions {
        dry_run: true,
        preview_rows: 10,
        ..ImportOptions::default()
    };
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n1,Dune II\n3,Walden\n",
        &options,
    )
    .unwrap();
    assert_eq!((result.totals.update, result.totals.new), (1, 1));
    // The new row got a key from the database, then the rollback took it back.
    assert_eq!(result.rows[1].key.as_deref(), Some("3"));
    assert!(result.dry_run && !result.committed);
    assert_eq!(books(&store), original_books());
}

#[test]
fn signal_post_import_and_post_export_observers_hear_the_end() {
    let mut store = store();
    let recorder = Arc::new(Recorder::default());
    let resource = book(&mut store, |_| {}).observe(recorder.clone());
    run(
        &mut store,
        &resource,
        "isbn,name,pages\n3,Walden,1\n4,Ulysses,many\n",
        &Default::default(),
    )
    .unwrap();
    let writer = open_writer(
        Format::Csv,
        Box::new(std::io::sink()),
        &WriteOptions::default(),
    )
    .unwrap();
    export(&resource, &mut store, writer, &ExportOptions::default()).unwrap();
    assert_eq!(
        recorder.calls(),
        [
            "post_import(book, committed=false):0",
            "post_export(book, 2 rows):0"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// 1.7 Results
// ---------------------------------------------------------------------------------------

#[test]
fn result_totals_rows_invalid_rows_and_error_rows() {
    struct NoWalden;
    impl Hooks for NoWalden {
        fn before_save_instance(
            &self,
            instance: &mut Record,
            _: &RowData<'_>,
            _: &Context,
        ) -> Result<(), HookError> {
            match instance.get("name") {
                Some(Value::Text(t)) if t == "Walden" => Err(HookError("no Walden".into())),
                _ => Ok(()),
            }
        }
    }
    let mut store = store();
    let resource = book(&mut store, |r| {
        r.options.clean_model_instances = true;
        r.hooks = Arc::new(NoWalden);
    });
    let csv = "isbn,name,pages,price\n\
               1,Dune II,412,10\n\
               3,Walden,1,1\n\
               4,Ulysses,many,-2\n\
               5,Beloved,300,-1\n\
               6,Jazz,200,1\n";
    let result = run(&mut store, &resource, csv, &preview()).unwrap();
    assert_eq!(
        result.totals.to_string(),
        "1 new, 1 updated, 0 skipped, 0 deleted, 2 invalid, 1 errors"
    );
    let outcomes: Vec<(u64, RowOutcome)> = result.rows.iter().map(|r| (r.row, r.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (2, RowOutcome::Update),
            (3, RowOutcome::Error),
            (4, RowOutcome::Invalid),
            (5, RowOutcome::Invalid),
            (6, RowOutcome::New),
        ]
    );
    assert_eq!(result.valid_rows().count(), 2);
    // Row 4's bad number is a field error (its check is not reached: it never cleaned);
    // row 5's CHECK is a non-field error.
    let invalid: Vec<(u64, Vec<Option<&str>>, usize)> = result
        .invalid_rows()
        .iter()
        .map(|r| {
            (
                r.number,
                r.field_errors.iter().map(|e| e.column.as_deref()).collect(),
                r.non_field_errors.len(),
            )
        })
        .collect();
    assert_eq!(invalid, [(4, vec![Some("pages")], 0), (5, vec![], 1)]);
    let errors: Vec<(u64, Vec<&str>)> = result
        .error_rows()
        .iter()
        .map(|r| {
            (
                r.number,
                r.errors.iter().map(|e| e.message.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(errors, [(3, vec!["no Walden"])]);
    assert!(result.has_errors() && result.has_validation_errors());
    // Without --skip-invalid nothing was committed.
    assert_eq!(books(&store), original_books());
}

#[test]
fn result_collect_failed_rows_writes_them_with_an_error_column_and_the_fixed_file_imports() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.clean_model_instances = true);
    let csv = "isbn,name,pages\n3,Walden,352\n4,Ulysses,many\n5,The Left Hand of Darkness!!,10\n";
    let mut failed_csv = Vec::new();
    {
        let mut input = reader(csv);
        let writer = open_writer(
            Format::Csv,
            Box::new(&mut failed_csv),
            &WriteOptions::default(),
        )
        .unwrap();
        let mut failed = FailedRowsWriter::new(writer, input.headers()).unwrap();
        let result = import_into(
            &resource,
            &mut store,
            input.as_mut(),
            &skip_invalid(),
            &mut failed,
        )
        .unwrap();
        assert_eq!((result.totals.new, result.totals.invalid), (1, 2));
        assert_eq!(failed.finish().unwrap(), 2);
    }
    let failed_csv = String::from_utf8(failed_csv).unwrap();
    assert_eq!(
        failed_csv,
        "isbn,name,pages,Error\n\
         4,Ulysses,many,\"column \"\"pages\"\": \"\"many\"\" is not a whole number\"\n\
         5,The Left Hand of Darkness!!,10,\"column \"\"name\"\": \"\"The Left Hand of Darkness!!\"\" is 27 characters long, and book.name holds at most 20 (varchar(20))\"\n"
    );
    // Fix the two rows, keep the Error column, import the file again.
    let fixed = failed_csv
        .replace("4,Ulysses,many,", "4,Ulysses,730,")
        .replace("The Left Hand of Darkness!!", "Beloved");
    let result = run(&mut store, &resource, &fixed, &Default::default()).unwrap();
    assert_eq!(
        result.totals.to_string(),
        "2 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(
        books(&store)[2..],
        pairs(&[("3", "Walden"), ("4", "Ulysses"), ("5", "Beloved")])
    );
}

// ---------------------------------------------------------------------------------------
// 1.10 Instance loaders
// ---------------------------------------------------------------------------------------

#[test]
fn instance_loader_without_the_default_id_column_makes_every_row_new() {
    let mut store = store();
    let schema = store.describe("book").unwrap();
    // Keyed by the primary key (DJE's default ["id"]), and the file has no id column.
    let resource = Resource::from_schema("book", &schema).finish().unwrap();
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!(result.totals.new, 1);
}

#[test]
fn instance_loader_finds_existing_rows_by_the_id_across_batches() {
    let mut store = store();
    let resource = book(&mut store, |r| r.options.batch_size = 2);
    let result = run(
        &mut store,
        &resource,
        "isbn,name\n3,Walden\n4,Ulysses\n1,Dune II\n3,Walden II\n",
        &Default::default(),
    )
    .unwrap();
    assert_eq!((result.totals.new, result.totals.update), (2, 2));
    assert_eq!(
        books(&store),
        pairs(&[
            ("1", "Dune II"),
            ("2", "Emma"),
            ("3", "Walden II"),
            ("4", "Ulysses")
        ])
    );
}
