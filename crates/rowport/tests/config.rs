//! rowport.toml: declared resources over introspected tables, and errors that name the key.

use std::cell::RefCell;
use std::collections::BTreeMap;

use rowport::config::{Config, ConfigError};
use rowport::memory::MemoryStore;
use rowport::store::{Fetch, RowWriteResult, Scan, TableSchema};
use rowport::{import, ImportOptions, Store, StoreError, Value, ValueKind};
use rowport_formats::{open_reader, Format, ReadOptions};

fn library() -> MemoryStore {
    let mut store = MemoryStore::new();
    store.create_table(
        "author",
        &[("id", ValueKind::Int), ("name", ValueKind::Text)],
    );
    store.create_table(
        "category",
        &[("id", ValueKind::Int), ("name", ValueKind::Text)],
    );
    store.create_table(
        "book",
        &[
            ("id", ValueKind::Int),
            ("isbn", ValueKind::Text),
            ("name", ValueKind::Text),
            ("author_id", ValueKind::Int),
        ],
    );
    store.create_table(
        "book_categories",
        &[
            ("id", ValueKind::Int),
            ("book_id", ValueKind::Int),
            ("category_id", ValueKind::Int),
        ],
    );
    store.add_foreign_key("book", "author_id", "author");
    store.add_foreign_key("book_categories", "book_id", "book");
    store.add_foreign_key("book_categories", "category_id", "category");
    let authors: Vec<Vec<Value>> = (0..50)
        .map(|i| vec![Value::Text(format!("Author {i}"))])
        .collect();
    store
        .insert("author", &["name".into()], &authors, None)
        .unwrap();
    let categories: Vec<Vec<Value>> = (0..5)
        .map(|i| vec![Value::Text(format!("Category {i}"))])
        .collect();
    store
        .insert("category", &["name".into()], &categories, None)
        .unwrap();
    store
}

const BOOK: &str = r#"
[resources.book]
import_id_fields = ["isbn"]
batch_size = 10

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

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "rowport.toml".as_ref())
}

#[test]
fn unknown_keys_are_errors_that_name_them() {
    let err = parse("[resources.book]\nskip_unchanged = true\nskip_unchnged = true\n").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("rowport.toml: line 3: unknown field `skip_unchnged`"),
        "{message}"
    );

    let err = parse("[resources.book.field.name]\nwidget = \"char\"\nseparator = \"|\"\n").unwrap();
    let err = err.resource("book", &mut library()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rowport.toml: resource \"book\": field \"name\": \"separator\" does not apply to widget \"char\""
    );
}

#[test]
fn options_that_name_unknown_fields_are_errors() {
    let config = parse("[resources.book]\nimport_id_fields = [\"isbm\"]\n").unwrap();
    let err = config.resource("book", &mut library()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rowport.toml: resource \"book\": import_id_fields names \"isbm\", which is not a field (fields: id, isbn, name, author)"
    );
}

#[test]
fn an_unknown_resource_suggests_the_closest() {
    let err = parse("")
        .unwrap()
        .resource("bok", &mut library())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no resource or table named \"bok\"; did you mean \"book\"?"
    );
}

#[test]
fn declared_relations_infer_their_columns() {
    let book = parse(BOOK)
        .unwrap()
        .resource("book", &mut library())
        .unwrap();
    let author = book.field("author").unwrap();
    assert_eq!(author.attribute, "author_id");
    assert_eq!(author.widget.describe(), "author.name");
    assert_eq!(
        book.field("categories").unwrap().widget.describe(),
        "category.name via book_categories, separator \"|\""
    );
}

/// A store that counts the calls the engine makes, to prove they are per batch.
struct Counting {
    inner: MemoryStore,
    calls: RefCell<BTreeMap<&'static str, usize>>,
}

impl Counting {
    fn count(&self, verb: &'static str) {
        *self.calls.borrow_mut().entry(verb).or_default() += 1;
    }
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
    fn fetch(
        &mut self,
        fetch: &Fetch<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        self.count(match fetch.table {
            "author" => "fetch author",
            "category" => "fetch category",
            "book" => "fetch book",
            _ => "fetch links",
        });
        self.inner.fetch(fetch, keys)
    }
    fn insert(
        &mut self,
        t: &str,
        c: &[String],
        r: &[Vec<Value>],
        ret: Option<&str>,
    ) -> Result<Vec<RowWriteResult<Value>>, StoreError> {
        self.count("insert");
        self.inner.insert(t, c, r, ret)
    }
    fn update(
        &mut self,
        t: &str,
        k: &str,
        c: &[String],
        r: &[(Value, Vec<Value>)],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        self.count("update");
        self.inner.update(t, k, c, r)
    }
    fn delete(
        &mut self,
        t: &str,
        k: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        self.count("delete");
        self.inner.delete(t, k, keys)
    }
    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.scan(scan, sink)
    }
}

#[test]
fn lookups_and_loads_are_one_query_per_batch_never_one_per_row() {
    let mut store = Counting {
        inner: library(),
        calls: RefCell::default(),
    };
    let book = parse(BOOK).unwrap().resource("book", &mut store).unwrap();
    // 100 rows in batches of 10, naming 50 authors and 5 categories over and over.
    let mut csv = String::from("isbn,name,author,categories\n");
    for i in 0..100 {
        csv.push_str(&format!(
            "{i},Book {i},Author {},Category {}|Category {}\n",
            i % 50,
            i % 5,
            (i + 1) % 5
        ));
    }
    let mut reader = open_reader(
        Format::Csv,
        Box::new(csv.as_bytes()),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    let result = import(
        &book,
        &mut store,
        reader.as_mut(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(result.totals.new, 100);
    let calls = store.calls.borrow().clone();
    // Authors: batches 1–5 each bring 10 unseen names; from batch 6 on every name is cached.
    assert_eq!(calls["fetch author"], 5);
    // Categories: all five are seen in the first batch.
    assert_eq!(calls["fetch category"], 1);
    // Existing books: one load per batch; no links to load for new books.
    assert_eq!(calls["fetch book"], 10);
    assert!(!calls.contains_key("fetch links"));
    // One insert of books and one of links per batch.
    assert_eq!(calls["insert"], 20);
    assert_eq!(store.inner.rows("book_categories").len(), 200);
}

/// A table with a column for each structured widget; the kinds are what the widgets make.
fn events() -> MemoryStore {
    let mut store = MemoryStore::new();
    store.create_table(
        "event",
        &[
            ("id", ValueKind::Int),
            ("length", ValueKind::Duration),
            ("payload", ValueKind::Json),
            ("token", ValueKind::Uuid),
            ("tags", ValueKind::List),
            ("status", ValueKind::Text),
        ],
    );
    store
}

const EVENT: &str = r#"
[resources.event.field.length]
widget = "duration"

[resources.event.field.payload]
widget = "json"

[resources.event.field.token]
widget = "uuid"

[resources.event.field.tags]
widget = "simple_array"
separator = ";"

[resources.event.field.status]
widget = "char"
choices = ["draft", "published"]
"#;

fn import_events(store: &mut MemoryStore, csv: &str) -> rowport::ImportResult {
    let event = parse(EVENT).unwrap().resource("event", store).unwrap();
    let mut reader = open_reader(
        Format::Csv,
        Box::new(csv.as_bytes()),
        "events.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    import(&event, store, reader.as_mut(), &ImportOptions::default()).unwrap()
}

#[test]
fn structured_widgets_are_declared_by_name() {
    let mut store = events();
    let event = parse(EVENT).unwrap().resource("event", &mut store).unwrap();
    let widgets: Vec<(&str, &str, String)> = event
        .import_fields()
        .map(|f| (f.name.as_str(), f.widget.name(), f.widget.describe()))
        .collect();
    assert_eq!(
        widgets,
        [
            ("id", "integer", String::new()),
            ("length", "duration", String::new()),
            ("payload", "json", String::new()),
            ("token", "uuid", String::new()),
            ("tags", "simple_array", "items char, separator \";\"".into()),
            ("status", "char", "choices draft | published".into()),
        ]
    );
    let result = import_events(
        &mut store,
        "length,payload,token,tags,status\n\
         \"1 day, 2:03:04\",\"{\"\"a\"\": 1}\",123E4567E89B12D3A456426614174000,x;y,draft\n",
    );
    assert_eq!(result.totals.new, 1, "{:?}", result.errors);
    let row = &store.rows("event")[0];
    assert_eq!(row[1].to_string(), "1 day, 2:03:04");
    assert_eq!(row[2].to_string(), "{\"a\":1}");
    assert_eq!(row[3].to_string(), "123e4567-e89b-12d3-a456-426614174000");
    assert_eq!(
        row[4],
        Value::List(vec![Value::from("x"), Value::from("y")])
    );
    assert_eq!(row[5], Value::from("draft"));
}

#[test]
fn structured_values_that_do_not_parse_are_invalid_fields_naming_the_column() {
    let mut store = events();
    let result = import_events(
        &mut store,
        "length,payload,token,status\nsoon,{oops,42,lost\n",
    );
    assert_eq!(result.totals.invalid, 1);
    let messages: Vec<String> = result
        .errors
        .iter()
        .map(|e| e.describe("events.csv"))
        .collect();
    assert_eq!(
        messages,
        [
            "events.csv, row 2, column \"length\": \"soon\" is not a duration (expected [D day[s], ]HH:MM:SS[.ffffff] or ISO 8601 such as P1DT2H)",
            "events.csv, row 2, column \"payload\": \"{oops\" is not valid JSON (key must be a string at line 1 column 2)",
            "events.csv, row 2, column \"token\": \"42\" is not a UUID (expected 32 hexadecimal digits, such as 123e4567-e89b-12d3-a456-426614174000)",
            "events.csv, row 2, column \"status\": \"lost\" is not one of the choices (draft, published)",
        ]
    );
    assert!(store.rows("event").is_empty());
}

#[test]
fn structured_widget_parameters_are_checked() {
    let config =
        parse("[resources.event.field.token]\nwidget = \"uuid\"\nseparator = \"|\"\n").unwrap();
    assert_eq!(
        config.resource("event", &mut events()).unwrap_err().to_string(),
        "rowport.toml: resource \"event\": field \"token\": \"separator\" does not apply to widget \"uuid\""
    );
    let config = parse("[resources.event.field.tags]\nwidget = \"array\"\n").unwrap();
    assert_eq!(
        config.resource("event", &mut events()).unwrap_err().to_string(),
        "rowport.toml: resource \"event\": field \"tags\": unknown widget \"array\" (expected one of: integer, decimal, float, char, boolean, date, time, datetime, duration, json, simple_array, uuid, foreign_key, many_to_many)"
    );
}

#[test]
fn undeclared_columns_get_the_widget_of_their_kind() {
    let event = parse("").unwrap().resource("event", &mut events()).unwrap();
    let names: Vec<&str> = event.import_fields().map(|f| f.widget.name()).collect();
    assert_eq!(
        names,
        [
            "integer",
            "duration",
            "json",
            "uuid",
            "simple_array",
            "char"
        ]
    );
    // A declared field without a widget also takes its column's.
    let event = parse("[resources.event.field.length]\ncolumn_name = \"Length\"\n")
        .unwrap()
        .resource("event", &mut events())
        .unwrap();
    assert_eq!(event.field("length").unwrap().widget.name(), "duration");
}
