//! django-import-export's Field options (reference 1.3), relation paths in `fields` and
//! `export_order` (1.1, 1.11) and the export workflow (1.12), each against a real SQLite
//! database. Test names start with the reference row they prove.

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rowport::config::Config;
use rowport::export::{count, export, export_rows, ExportOptions, Filter, RecordFilter};
use rowport::store::{Fetch, RowWriteResult, Scan, ScanFilter, TableSchema};
use rowport::widgets::CharWidget;
use rowport::{
    import, Context, Field, HookError, Hooks, ImportOptions, Record, Resource, Store, StoreError,
    Value,
};
use rowport_formats::{open_reader, open_writer, Format, ReadOptions, WriteOptions};
use rowport_sql::SqliteStore;

const SCHEMA: &str = r#"
CREATE TABLE publisher (id integer PRIMARY KEY AUTOINCREMENT, name varchar(100) NOT NULL);
CREATE TABLE author (
  id integer PRIMARY KEY AUTOINCREMENT,
  name varchar(100) NOT NULL UNIQUE,
  publisher_id bigint NULL REFERENCES publisher (id)
);
CREATE TABLE category (id integer PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL UNIQUE);
CREATE TABLE book (
  id integer PRIMARY KEY AUTOINCREMENT,
  isbn varchar(20) NOT NULL UNIQUE,
  name varchar(200) NOT NULL,
  price decimal(10, 2) NULL,
  published date NULL,
  author_id bigint NULL REFERENCES author (id)
);
CREATE TABLE book_categories (
  id integer PRIMARY KEY AUTOINCREMENT,
  book_id bigint NOT NULL REFERENCES book (id),
  category_id bigint NOT NULL REFERENCES category (id)
);
INSERT INTO publisher (name) VALUES ('Chilton'), ('Penguin');
INSERT INTO author (name, publisher_id) VALUES ('Frank Herbert', 1), ('Jane Austen', 2), ('Anonymous', NULL);
INSERT INTO category (name) VALUES ('Fiction'), ('Classic'), ('Science');
INSERT INTO book (isbn, name, price, published, author_id) VALUES
  ('100', 'Dune', 12.50, '1965-08-01', 1),
  ('200', 'Emma', 5.00, '1815-12-23', 2),
  ('300', 'Persuasion', 9.99, '1817-12-20', 2),
  ('400', 'Beowulf', NULL, NULL, NULL),
  ('500', 'Children of Dune', 15.00, '1976-04-01', 1);
INSERT INTO book_categories (book_id, category_id) VALUES (1, 1), (1, 3), (2, 2), (2, 1), (3, 2);
"#;

const CONFIG: &str = r#"
[resources.book]
import_id_fields = ["isbn"]
fields = ["isbn", "name", "price", "published", "author", "categories"]

[resources.book.field.author]
widget = "foreign_key"
lookup = "name"

[resources.book.field.categories]
widget = "many_to_many"
table = "category"
lookup = "name"
through = "book_categories"
separator = "|"
"#;

fn store() -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    store.connection().execute_batch(SCHEMA).unwrap();
    store
}

fn resource(config: &str, name: &str, store: &mut dyn Store) -> Resource {
    Config::parse(config, Path::new("rowport.toml"))
        .unwrap()
        .resource(name, store)
        .unwrap()
}

fn book(store: &mut dyn Store) -> Resource {
    resource(CONFIG, "book", store)
}

fn csv(resource: &Resource, store: &mut dyn Store, options: &ExportOptions) -> String {
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    export(resource, store, writer, options).unwrap();
    String::from_utf8(out).unwrap()
}

fn fields(names: &[&str]) -> ExportOptions {
    ExportOptions {
        fields: Some(names.iter().map(|n| (*n).to_owned()).collect()),
        ..ExportOptions::default()
    }
}

fn import_csv(resource: &Resource, store: &mut SqliteStore, text: &str) -> rowport::ImportResult {
    let mut reader = open_reader(
        Format::Csv,
        Box::new(text.as_bytes()),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    import(resource, store, reader.as_mut(), &ImportOptions::default()).unwrap()
}

fn query(store: &SqliteStore, sql: &str) -> Vec<String> {
    let mut stmt = store.connection().prepare(sql).unwrap();
    stmt.query_map([], |r| {
        let v: rusqlite_value::Value = r.get(0)?;
        Ok(v.to_string())
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Reads any SQLite value as text for the assertions.
mod rusqlite_value {
    pub struct Value(String);
    impl rusqlite::types::FromSql for Value {
        fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
            use rusqlite::types::ValueRef::*;
            Ok(Value(match v {
                Null => "NULL".into(),
                Integer(i) => i.to_string(),
                Real(f) => f.to_string(),
                Text(t) | Blob(t) => String::from_utf8_lossy(t).into_owned(),
            }))
        }
    }
    impl std::fmt::Display for Value {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
}

// ---- 1.3 Field ------------------------------------------------------------------------

#[test]
fn field_column_name_names_the_exported_header_and_the_imported_column() {
    let mut store = store();
    let config = format!("{CONFIG}\n[resources.book.field.name]\ncolumn_name = \"Title\"\n");
    let book = resource(&config, "book", &mut store);
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "name"]))
            .lines()
            .take(2)
            .collect::<Vec<_>>(),
        ["isbn,Title", "100,Dune"]
    );
    let result = import_csv(&book, &mut store, "isbn,Title\n100,Dune Messiah\n");
    assert_eq!(result.totals.update, 1);
    assert_eq!(
        query(&store, "SELECT name FROM book WHERE isbn = '100'"),
        ["Dune Messiah"]
    );
}

#[test]
fn field_attribute_relation_path_exports_the_related_value() {
    let mut store = store();
    let config = format!(
        "{CONFIG}\n[resources.book.field.writer]\nattribute = \"author__name\"\ncolumn_name = \"Writer\"\n"
    );
    let book = resource(&config, "book", &mut store);
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "writer"])),
        "isbn,Writer\n100,Frank Herbert\n200,Jane Austen\n300,Jane Austen\n400,\n500,Frank Herbert\n"
    );
}

#[test]
fn field_attribute_multi_hop_relation_path_exports_through_two_joins() {
    let mut store = store();
    let config = format!(
        "{CONFIG}\n[resources.book.field.publisher]\nattribute = \"author__publisher__name\"\n"
    );
    let book = resource(&config, "book", &mut store);
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "publisher"])),
        "isbn,publisher\n100,Chilton\n200,Penguin\n300,Penguin\n400,\n500,Chilton\n"
    );
}

#[test]
fn field_attribute_relation_path_is_read_only_on_import() {
    let mut store = store();
    let config = format!("{CONFIG}\n[resources.book.field.writer]\nattribute = \"author__name\"\n");
    let book = resource(&config, "book", &mut store);
    // The file carries the path's column with another value: the book is updated, the
    // author's name is left alone and no column "author__name" is looked for.
    let result = import_csv(
        &book,
        &mut store,
        "isbn,name,writer\n100,Dune (1965),Somebody Else\n",
    );
    assert_eq!(result.totals.update, 1, "{:?}", result.errors);
    assert_eq!(
        query(&store, "SELECT name FROM book WHERE isbn = '100'"),
        ["Dune (1965)"]
    );
    assert_eq!(
        query(&store, "SELECT name FROM author ORDER BY id"),
        ["Frank Herbert", "Jane Austen", "Anonymous"]
    );
}

#[test]
fn field_attribute_relation_path_that_is_not_a_foreign_key_is_a_config_error() {
    let mut store = store();
    let config = format!("{CONFIG}\n[resources.book.field.x]\nattribute = \"name__first\"\n");
    let err = Config::parse(&config, Path::new("rowport.toml"))
        .unwrap()
        .resource("book", &mut store)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rowport.toml: resource \"book\": field \"x\": \"name\" is not a foreign key of table \"book\""
    );
}

#[test]
fn field_default_fills_an_empty_cell_on_import() {
    let mut store = store();
    let config = format!("{CONFIG}\n[resources.book.field.price]\ndefault = \"1.25\"\n");
    let book = resource(&config, "book", &mut store);
    let result = import_csv(&book, &mut store, "isbn,name,price\n600,Nausicaa,\n");
    assert_eq!(result.totals.new, 1, "{:?}", result.errors);
    assert_eq!(
        query(&store, "SELECT price FROM book WHERE isbn = '600'"),
        ["1.25"]
    );
}

#[test]
fn field_readonly_is_exported_but_never_written() {
    let mut store = store();
    let config = format!("{CONFIG}\n[resources.book.field.price]\nreadonly = true\n");
    let book = resource(&config, "book", &mut store);
    assert!(csv(&book, &mut store, &fields(&["isbn", "price"])).contains("\n100,12.50\n"));
    let result = import_csv(&book, &mut store, "isbn,name,price\n100,Dune,99.00\n");
    assert_eq!(result.errors.len(), 0);
    assert_eq!(
        query(&store, "SELECT price FROM book WHERE isbn = '100'"),
        ["12.5"]
    );
}

#[test]
fn field_saves_null_values_false_keeps_the_stored_value() {
    let mut store = store();
    let config = format!(
        "{CONFIG}\n[resources.book.field.price]\nsaves_null_values = false\n\n[resources.book.field.published]\n"
    );
    let book = resource(&config, "book", &mut store);
    // price is empty (kept), published is empty (saves nulls: cleared).
    let result = import_csv(&book, &mut store, "isbn,name,price,published\n100,Dune,,\n");
    assert_eq!(result.totals.update, 1, "{:?}", result.errors);
    assert_eq!(
        query(
            &store,
            "SELECT price || '/' || coalesce(published, 'NULL') FROM book WHERE isbn = '100'"
        ),
        ["12.5/NULL"]
    );
    // A value still overwrites.
    import_csv(&book, &mut store, "isbn,name,price\n100,Dune,13.00\n");
    assert_eq!(
        query(&store, "SELECT price FROM book WHERE isbn = '100'"),
        ["13"]
    );
}

#[test]
fn field_dehydrate_closure_computes_the_exported_value() {
    let mut store = store();
    let mut book = book(&mut store);
    book.replace_field(
        Field::new("label", Arc::new(CharWidget::new(false))).dehydrate(
            &["author__publisher__name"],
            |record| {
                let text = |k: &str| record.get(k).map(Value::to_string).unwrap_or_default();
                Value::Text(format!(
                    "{} ({}, {})",
                    text("name"),
                    text("author"),
                    text("author__publisher__name")
                ))
            },
        ),
    );
    let book = book.finish().unwrap();
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "author", "label"]))
            .lines()
            .take(3)
            .collect::<Vec<_>>(),
        [
            "isbn,author,label",
            "100,Frank Herbert,\"Dune (Frank Herbert, Chilton)\"",
            "200,Jane Austen,\"Emma (Jane Austen, Penguin)\""
        ]
    );
}

#[test]
fn field_dehydrate_template_renders_related_values() {
    let mut store = store();
    let config = format!(
        "{CONFIG}\n[resources.book.field.label]\ndehydrate = \"{{{{ name }}}} by {{{{ author.name }}}}{{% if price %}}, {{{{ price }}}}{{% endif %}}\"\n"
    );
    let book = resource(&config, "book", &mut store);
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "label"])),
        "isbn,label\n100,\"Dune by Frank Herbert, 12.50\"\n200,\"Emma by Jane Austen, 5.00\"\n\
         300,\"Persuasion by Jane Austen, 9.99\"\n400,Beowulf by \n500,\"Children of Dune by Frank Herbert, 15.00\"\n"
    );
    // Export only: an import file with a "label" column leaves the books as they were.
    let result = import_csv(&book, &mut store, "isbn,name,label\n100,Dune,whatever\n");
    assert_eq!(result.errors.len(), 0);
    assert_eq!(
        query(&store, "SELECT count(*) FROM book WHERE name = 'whatever'"),
        ["0"]
    );
}

#[test]
fn field_dehydrate_template_that_does_not_parse_is_a_config_error() {
    let mut store = store();
    let config = format!("{CONFIG}\n[resources.book.field.label]\ndehydrate = \"{{{{ name \"\n");
    let err = Config::parse(&config, Path::new("rowport.toml"))
        .unwrap()
        .resource("book", &mut store)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("rowport.toml: resource \"book\": field \"label\": dehydrate: "),
        "{err}"
    );
}

#[test]
fn field_dehydrate_template_reading_an_unknown_name_says_which() {
    let mut store = store();
    let config =
        format!("{CONFIG}\n[resources.book.field.label]\ndehydrate = \"{{{{ titel }}}}\"\n");
    let book = resource(&config, "book", &mut store);
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let err = export(&book, &mut store, writer, &fields(&["label"])).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "field \"label\": it reads \"titel\", but resource \"book\" has no field \"titel\""
        ),
        "{err}"
    );
}

// ---- 1.11 JSONField sub-keys ----------------------------------------------------------

/// The books and authors with a JSON column each: nested objects, arrays, numbers, a
/// boolean, a document that is not an object, a null document, a key that is null.
const JSON_DATA: &str = r#"
ALTER TABLE book ADD COLUMN data JSON NULL;
ALTER TABLE author ADD COLUMN profile JSON NULL;
UPDATE book SET data = '{"name": "Dune, the novel", "pages": 412, "rating": 4.5, "signed": true,
  "address": {"city": "Arrakeen", "zip": "10191"}, "tags": ["sf", "desert"], "big": 18446744073709551615}'
  WHERE isbn = '100';
UPDATE book SET data = '{"name": "Emma", "tags": [], "address": "Highbury"}' WHERE isbn = '200';
UPDATE book SET data = '"just text"' WHERE isbn = '300';
UPDATE book SET data = '{"name": null, "pages": "n/a", "tags": [{"x": 1}]}' WHERE isbn = '500';
UPDATE author SET profile = '{"city": "Tacoma"}' WHERE name = 'Frank Herbert';
UPDATE author SET profile = '{"town": "Steventon"}' WHERE name = 'Jane Austen';
"#;

fn json_store() -> SqliteStore {
    let store = store();
    store.connection().execute_batch(JSON_DATA).unwrap();
    store
}

#[test]
fn json_sub_key_path_exports_the_key_of_a_json_column() {
    let mut store = json_store();
    let config = format!(
        "{CONFIG}\n[resources.book.field.title]\nattribute = \"data__name\"\ncolumn_name = \"Title\"\n"
    );
    let book = resource(&config, "book", &mut store);
    // A string key is its text (quoted by CSV only for the comma), never "quoted" JSON; a
    // null key, a document that is not an object and a null document are empty.
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "title"])),
        "isbn,Title\n100,\"Dune, the novel\"\n200,Emma\n300,\n400,\n500,\n"
    );
    assert!(book.field("title").unwrap().readonly);
}

#[test]
fn json_sub_key_path_reads_nested_keys_array_indexes_and_gives_null_for_a_missing_key() {
    let mut store = json_store();
    let book = book(&mut store);
    // None of these is declared: `fields` takes any path, as `--fields` does.
    let options = fields(&[
        "isbn",
        "data__address__city",
        "data__tags__0",
        "data__tags__1",
        "data__pages",
        "data__rating",
        "data__signed",
        "data__big",
        "data__address",
        "data__tags",
        "data__missing",
    ]);
    assert_eq!(
        csv(&book, &mut store, &options),
        "isbn,data__address__city,data__tags__0,data__tags__1,data__pages,data__rating,\
         data__signed,data__big,data__address,data__tags,data__missing\n\
         100,Arrakeen,sf,desert,412,4.5,1,18446744073709551615,\
         \"{\"\"city\"\":\"\"Arrakeen\"\",\"\"zip\"\":\"\"10191\"\"}\",\"[\"\"sf\"\",\"\"desert\"\"]\",\n\
         200,,,,,,,,Highbury,[],\n\
         300,,,,,,,,,,\n\
         400,,,,,,,,,,\n\
         500,,\"{\"\"x\"\":1}\",,n/a,,,,,\"[{\"\"x\"\":1}]\",\n"
    );
    // Integers stay integers and text stays text in a typed format.
    let mut out = Vec::new();
    let writer = open_writer(Format::Json, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let options = ExportOptions {
        filters: vec!["isbn=100".parse().unwrap()],
        ..fields(&["data__pages", "data__rating", "data__signed", "data__name"])
    };
    export(&book, &mut store, writer, &options).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"data__pages": 412, "data__rating": 4.5, "data__signed": true,
            "data__name": "Dune, the novel"}])
    );
}

#[test]
fn json_sub_key_path_follows_foreign_keys_to_a_json_column() {
    let mut store = json_store();
    let config = CONFIG.replace(
        "fields = [\"isbn\", \"name\", \"price\", \"published\", \"author\", \"categories\"]",
        "fields = [\"isbn\", \"author__profile__city\"]",
    );
    let book = resource(&config, "book", &mut store);
    assert_eq!(
        csv(&book, &mut store, &ExportOptions::default()),
        "isbn,author__profile__city\n100,Tacoma\n200,\n300,\n400,\n500,Tacoma\n"
    );
}

#[test]
fn json_sub_key_template_reads_the_json_column_as_a_map() {
    let mut store = json_store();
    let config = format!(
        "{CONFIG}\n[resources.book.field.label]\n\
         dehydrate = \"{{{{ data.name }}}} in {{{{ data.address.city }}}} [{{{{ data.tags[0] }}}}] {{{{ author.profile.city }}}}\"\n"
    );
    let book = resource(&config, "book", &mut store);
    // A key a row lacks, a null and a null document render as nothing.
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "label"])),
        "isbn,label\n100,\"Dune, the novel in Arrakeen [sf] Tacoma\"\n200,Emma in  [] \n\
         300, in  [] \n400, in  [] \n500,\" in  [{\"\"x\"\": 1}] Tacoma\"\n"
    );
}

#[test]
fn json_sub_key_path_is_read_only_on_import_and_leaves_the_document_alone() {
    let mut store = json_store();
    let config = format!("{CONFIG}\n[resources.book.field.title]\nattribute = \"data__name\"\n");
    let book = resource(&config, "book", &mut store);
    let before = query(&store, "SELECT data FROM book WHERE isbn = '100'");
    let result = import_csv(
        &book,
        &mut store,
        "isbn,name,title,data__pages\n100,Dune (1965),Something Else,1\n",
    );
    assert_eq!(result.totals.update, 1, "{:?}", result.errors);
    assert_eq!(
        query(&store, "SELECT name FROM book WHERE isbn = '100'"),
        ["Dune (1965)"]
    );
    assert_eq!(
        query(&store, "SELECT data FROM book WHERE isbn = '100'"),
        before
    );
}

#[test]
fn json_sub_key_filter_and_order_are_refused_with_a_sentence() {
    let mut store = json_store();
    let book = book(&mut store);
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let options = ExportOptions {
        filters: vec!["data__name=Emma".parse().unwrap()],
        ..ExportOptions::default()
    };
    let err = export(&book, &mut store, writer, &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "filter \"data__name=Emma\": \"data__name\" reads a key inside a JSON column, and rowport \
         cannot filter by keys inside JSON; filter by a column or a relation path, or use a record filter in Rust"
    );
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let options = ExportOptions {
        order_by: vec!["-author__profile__city".into()],
        ..ExportOptions::default()
    };
    let err = export(&book, &mut store, writer, &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "order \"-author__profile__city\": \"author__profile__city\" reads a key inside a JSON \
         column, and rowport cannot order by keys inside JSON; order by a column or a relation path, or use a record filter in Rust"
    );
}

#[test]
fn json_sub_key_after_a_column_that_is_not_json_keeps_the_foreign_key_error() {
    let mut store = json_store();
    let book = book(&mut store);
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let err = export(
        &book,
        &mut store,
        writer,
        &fields(&["isbn", "author__name__first"]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "field \"author__name__first\": \"name\" is not a foreign key of table \"author\" \
         (fields: isbn, name, price, published, author, categories)"
    );
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let err = export(&book, &mut store, writer, &fields(&["isbn", "nmae"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource \"book\" has no field \"nmae\" (fields: isbn, name, price, published, author, categories)"
    );
}

#[test]
fn json_sub_key_export_is_one_scan() {
    let mut store = Counting {
        inner: json_store(),
        scans: RefCell::default(),
        fetches: RefCell::default(),
    };
    let config =
        format!("{CONFIG}\n[resources.book.field.label]\ndehydrate = \"{{{{ data.name }}}}\"\n");
    let book = resource(&config, "book", &mut store);
    let text = csv(
        &book,
        &mut store,
        &fields(&["isbn", "data__name", "author__profile__city", "label"]),
    );
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "100,\"Dune, the novel\",Tacoma,\"Dune, the novel\""
    );
    assert_eq!((*store.scans.borrow(), *store.fetches.borrow()), (1, 0));
}

// ---- 1.1 Meta options on export -------------------------------------------------------

#[test]
fn meta_fields_with_relation_path_adds_a_readonly_export_field() {
    let mut store = store();
    let config = CONFIG.replace(
        "fields = [\"isbn\", \"name\", \"price\", \"published\", \"author\", \"categories\"]",
        "fields = [\"isbn\", \"author__name\", \"author__publisher__name\"]",
    );
    let book = resource(&config, "book", &mut store);
    assert_eq!(
        csv(&book, &mut store, &ExportOptions::default())
            .lines()
            .take(2)
            .collect::<Vec<_>>(),
        [
            "isbn,author__name,author__publisher__name",
            "100,Frank Herbert,Chilton"
        ]
    );
    assert!(book.field("author__name").unwrap().readonly);
}

#[test]
fn meta_export_order_puts_its_fields_first() {
    let mut store = store();
    let config = CONFIG.replace(
        "fields = [\"isbn\", \"name\", \"price\", \"published\", \"author\", \"categories\"]",
        "export_order = [\"name\", \"author__name\"]",
    );
    let book = resource(&config, "book", &mut store);
    assert_eq!(
        csv(&book, &mut store, &ExportOptions::default())
            .lines()
            .take(2)
            .collect::<Vec<_>>(),
        [
            "name,author__name,id,isbn,price,published,author,categories",
            "Dune,Frank Herbert,1,100,12.50,1965-08-01,Frank Herbert,Fiction|Science"
        ]
    );
}

// ---- 1.12 Export workflow -------------------------------------------------------------

#[test]
fn export_fields_selects_and_orders_the_columns() {
    let mut store = store();
    let book = book(&mut store);
    assert_eq!(
        csv(&book, &mut store, &fields(&["price", "isbn"]))
            .lines()
            .take(2)
            .collect::<Vec<_>>(),
        ["price,isbn", "12.50,100"]
    );
}

#[test]
fn export_many_to_many_joins_the_targets_with_the_separator() {
    let mut store = store();
    let book = book(&mut store);
    assert_eq!(
        csv(&book, &mut store, &fields(&["isbn", "categories"])),
        "isbn,categories\n100,Fiction|Science\n200,Classic|Fiction\n300,Classic\n400,\n500,\n"
    );
}

#[test]
fn export_filters_are_anded_and_follow_relation_paths() {
    let mut store = store();
    let book = book(&mut store);
    let options = ExportOptions {
        filters: vec![
            "price>=10".parse().unwrap(),
            "author__name=Frank Herbert".parse().unwrap(),
            "published<1970-01-01".parse().unwrap(),
        ],
        ..fields(&["isbn", "name"])
    };
    assert_eq!(csv(&book, &mut store, &options), "isbn,name\n100,Dune\n");
    // A foreign-key field filters by its lookup value; an empty value means null.
    let options = ExportOptions {
        filters: vec![Filter::new("author", rowport::export::FilterOp::Eq, "")],
        ..fields(&["isbn"])
    };
    assert_eq!(csv(&book, &mut store, &options), "isbn\n400\n");
    let options = ExportOptions {
        filters: vec!["author__publisher__name!=Chilton".parse().unwrap()],
        ..fields(&["isbn"])
    };
    assert_eq!(csv(&book, &mut store, &options), "isbn\n200\n300\n");
}

/// Essays by writers found by (last_name, first_name), declared two ways: as a lookup of
/// two columns, and through `use_natural_foreign_keys` and the table's unique pair.
const NATURAL_SCHEMA: &str = r#"
CREATE TABLE writer (
  id integer PRIMARY KEY AUTOINCREMENT,
  last_name varchar(50) NOT NULL,
  first_name varchar(50) NOT NULL,
  UNIQUE (last_name, first_name)
);
CREATE TABLE essay (
  id integer PRIMARY KEY AUTOINCREMENT,
  title varchar(100) NOT NULL,
  writer_id bigint NULL REFERENCES writer (id)
);
INSERT INTO writer (last_name, first_name) VALUES
  ('Woolf', 'Virginia'), ('Woolf', 'Leonard'), ('Orwell', 'George'), ('Virginia', 'Woolf');
INSERT INTO essay (title, writer_id) VALUES
  ('A Room of One''s Own', 1), ('The Wise Virgins', 2), ('Animal Farm', 3), ('Anonymous', NULL),
  ('Mirror', 4);
"#;

const NATURAL_CONFIG: &str = r#"
[resources.essay]
import_id_fields = ["title"]

[resources.essay.field.writer]
widget = "foreign_key"
lookup = ["last_name", "first_name"]

[resources.natural_essay]
table = "essay"
import_id_fields = ["title"]
use_natural_foreign_keys = true
"#;

fn filtered(resource: &Resource, store: &mut SqliteStore, filter: &str) -> Result<String, String> {
    let options = ExportOptions {
        filters: vec![filter.parse().unwrap()],
        ..fields(&["title"])
    };
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    export(resource, store, writer, &options).map_err(|e| e.to_string())?;
    let total = count(resource, store, &options).map_err(|e| e.to_string())?;
    let text = String::from_utf8(out).unwrap();
    // The change list's count agrees with the export's rows.
    assert_eq!(total as usize, text.lines().count() - 1, "{text}");
    Ok(text)
}

#[test]
fn export_filter_on_a_natural_key_compares_each_lookup_column() {
    let mut store = SqliteStore::in_memory().unwrap();
    store.connection().execute_batch(NATURAL_SCHEMA).unwrap();
    for name in ["essay", "natural_essay"] {
        let essay = resource(NATURAL_CONFIG, name, &mut store);
        // The value is written as the export writes it: a JSON list, one value per column.
        let exported = csv(&essay, &mut store, &fields(&["title", "writer"]));
        assert!(
            exported.contains("The Wise Virgins,\"[\"\"Woolf\"\",\"\"Leonard\"\"]\""),
            "{exported}"
        );
        assert_eq!(
            filtered(&essay, &mut store, r#"writer=["Woolf","Leonard"]"#).unwrap(),
            "title\nThe Wise Virgins\n",
            "{name}"
        );
        assert_eq!(
            filtered(&essay, &mut store, r#"writer=["Woolf", "Virginia"]"#).unwrap(),
            "title\nA Room of One's Own\n",
            "{name}"
        );
        assert_eq!(
            filtered(&essay, &mut store, r#"writer=["Austen","Jane"]"#).unwrap(),
            "title\n",
            "{name}"
        );
        assert_eq!(
            filtered(&essay, &mut store, "writer=").unwrap(),
            "title\nAnonymous\n",
            "{name}"
        );
        // One column of the key is a relation path, with every operator.
        assert_eq!(
            filtered(&essay, &mut store, "writer__last_name!=Woolf").unwrap(),
            "title\nAnimal Farm\nMirror\n",
            "{name}"
        );
        assert_eq!(
            filtered(&essay, &mut store, r#"writer!=["Woolf","Leonard"]"#).unwrap_err(),
            "filter \"writer!=[\"Woolf\",\"Leonard\"]\": \"writer\" is a key of several columns \
             (last_name, first_name), which only = compares; filter on one of them with a \
             relation path (writer__last_name!=…)",
            "{name}"
        );
        assert!(
            filtered(&essay, &mut store, r#"writer>["Woolf","Leonard"]"#)
                .unwrap_err()
                .contains("which only = compares"),
            "{name}"
        );
        assert_eq!(
            filtered(&essay, &mut store, "writer=Woolf").unwrap_err(),
            "filter \"writer=Woolf\": \"Woolf\" is not a natural key (expected a JSON list of 2 values: last_name, first_name)",
            "{name}"
        );
    }
}

#[test]
fn export_filter_value_the_widget_refuses_is_an_error_naming_it() {
    let mut store = store();
    let book = book(&mut store);
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let options = ExportOptions {
        filters: vec!["published>=yesterday".parse().unwrap()],
        ..ExportOptions::default()
    };
    let err = export(&book, &mut store, writer, &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("filter \"published>=yesterday\": \"yesterday\" "),
        "{err}"
    );
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let options = ExportOptions {
        filters: vec!["pricee>=1".parse().unwrap()],
        ..ExportOptions::default()
    };
    let err = export(&book, &mut store, writer, &options)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "filter \"pricee>=1\": resource \"book\" has no field \"pricee\" (fields: isbn, name, price, published, author, categories)"
    );
}

#[test]
fn export_record_filter_closure_keeps_the_rows_it_accepts() {
    let mut store = store();
    let book = book(&mut store);
    let options = ExportOptions {
        record_filter: Some(RecordFilter::new(|r| {
            r.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.contains("Dune"))
        })),
        limit: Some(1),
        offset: 1,
        ..fields(&["isbn", "name"])
    };
    assert_eq!(
        csv(&book, &mut store, &options),
        "isbn,name\n500,Children of Dune\n"
    );
    assert_eq!(count(&book, &mut store, &options).unwrap(), 2);
}

#[test]
fn export_order_by_descending_then_ascending_and_through_relations() {
    let mut store = store();
    let book = book(&mut store);
    let options = ExportOptions {
        order_by: vec!["-published".into(), "name".into()],
        ..fields(&["isbn"])
    };
    assert_eq!(
        csv(&book, &mut store, &options),
        "isbn\n500\n100\n300\n200\n400\n"
    );
    let options = ExportOptions {
        order_by: vec!["author__name".into(), "-price".into()],
        ..fields(&["isbn"])
    };
    // Nulls first going up: the book without an author leads.
    assert_eq!(
        csv(&book, &mut store, &options),
        "isbn\n400\n500\n100\n300\n200\n"
    );
}

#[test]
fn export_count_and_pages_for_a_change_list() {
    let mut store = store();
    let book = book(&mut store);
    let filters = vec!["price>5".parse().unwrap()];
    let options = ExportOptions {
        filters: filters.clone(),
        order_by: vec!["name".into()],
        offset: 1,
        limit: Some(2),
        ..fields(&["name"])
    };
    assert_eq!(count(&book, &mut store, &options).unwrap(), 3);
    let mut names = Vec::new();
    let mut ids = Vec::new();
    export_rows(&book, &mut store, &options, &mut |record, cells| {
        ids.push(record.get("id").cloned().unwrap_or_default());
        names.push(cells[0].to_string());
        Ok(())
    })
    .unwrap();
    assert_eq!(names, ["Dune", "Persuasion"]);
    assert_eq!(ids, [Value::Int(1), Value::Int(3)]);
    // The store's own count, with no filter and with one.
    assert_eq!(store.count_rows("book", &[]).unwrap(), 5);
    let none: Vec<ScanFilter> = Vec::new();
    assert_eq!(store.count_rows("author", &none).unwrap(), 3);
}

/// Counts the store calls an export makes.
struct Counting {
    inner: SqliteStore,
    scans: RefCell<u32>,
    fetches: RefCell<u32>,
}

impl Store for Counting {
    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        self.inner.table_names()
    }
    fn describe(&mut self, table: &str) -> Result<TableSchema, StoreError> {
        self.inner.describe(table)
    }
    fn begin(&mut self) -> Result<(), StoreError> {
        self.inner.begin()
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<(), StoreError> {
        self.inner.rollback()
    }
    fn fetch(&mut self, f: &Fetch<'_>, keys: &[Vec<Value>]) -> Result<Vec<Vec<Value>>, StoreError> {
        *self.fetches.borrow_mut() += 1;
        self.inner.fetch(f, keys)
    }
    fn insert(
        &mut self,
        t: &str,
        c: &[String],
        r: &[Vec<Value>],
        ret: Option<&str>,
    ) -> Result<Vec<RowWriteResult<Value>>, StoreError> {
        self.inner.insert(t, c, r, ret)
    }
    fn update(
        &mut self,
        t: &str,
        k: &str,
        c: &[String],
        r: &[(Value, Vec<Value>)],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        self.inner.update(t, k, c, r)
    }
    fn delete(
        &mut self,
        t: &str,
        k: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        self.inner.delete(t, k, keys)
    }
    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        *self.scans.borrow_mut() += 1;
        self.inner.scan(scan, sink)
    }
}

#[test]
fn export_is_one_scan_with_relations_filters_and_dehydrate_never_a_query_per_row() {
    let mut store = Counting {
        inner: store(),
        scans: RefCell::default(),
        fetches: RefCell::default(),
    };
    store
        .inner
        .connection()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
             INSERT INTO book (isbn, name, price, author_id) SELECT 'x' || i, 'Book ' || i, i, 1 + i % 2 FROM n;",
        )
        .unwrap();
    let config = format!(
        "{CONFIG}\n[resources.book.field.label]\ndehydrate = \"{{{{ name }}}} / {{{{ author.publisher.name }}}}\"\n"
    );
    let book = resource(&config, "book", &mut store);
    let options = ExportOptions {
        filters: vec!["author__name=Frank Herbert".parse().unwrap()],
        order_by: vec!["-price".into()],
        ..fields(&["isbn", "author", "categories", "label"])
    };
    let text = csv(&book, &mut store, &options);
    assert_eq!(text.lines().count(), 1 + 2 + 250);
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "x500,Frank Herbert,,Book 500 / Chilton"
    );
    assert_eq!((*store.scans.borrow(), *store.fetches.borrow()), (1, 0));
}

// ---- Hooks on export (1.12) -----------------------------------------------------------

#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Hooks for Recorder {
    fn before_export(&self, ctx: &Context) -> Result<(), HookError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("before_export user={}", ctx.extra["user"]));
        Ok(())
    }
    fn filter_export(&self, filters: &mut Vec<Filter>, ctx: &Context) -> Result<(), HookError> {
        self.calls.lock().unwrap().push(format!(
            "filter_export {} user={}",
            filters.len(),
            ctx.extra["user"]
        ));
        filters.push("author__name=Jane Austen".parse().unwrap());
        Ok(())
    }
    fn export_field(
        &self,
        field: &Field,
        record: &Record,
        _ctx: &Context,
    ) -> Result<Option<Value>, HookError> {
        self.calls.lock().unwrap().push(format!(
            "export_field {} {}",
            field.name,
            record.get("id").unwrap()
        ));
        Ok((field.name == "name")
            .then(|| Value::Text(record.get("name").unwrap().to_string().to_uppercase())))
    }
    fn after_export(&self, rows: u64, _ctx: &Context) -> Result<(), HookError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("after_export {rows}"));
        Ok(())
    }
}

#[test]
fn hooks_before_export_filter_export_export_field_after_export_in_order_with_context() {
    let mut store = store();
    let recorder = Arc::new(Recorder::default());
    let book = book(&mut store).with_hooks(recorder.clone());
    let mut context = Context::default();
    context.extra.insert("user".into(), "ada".into());
    let options = ExportOptions {
        filters: vec!["price>6".parse().unwrap()],
        context,
        ..fields(&["isbn", "name"])
    };
    assert_eq!(
        csv(&book, &mut store, &options),
        "isbn,name\n300,PERSUASION\n"
    );
    assert_eq!(
        *recorder.calls.lock().unwrap(),
        [
            "before_export user=ada",
            "filter_export 1 user=ada",
            "export_field isbn 3",
            "export_field name 3",
            "after_export 1"
        ]
    );
}
