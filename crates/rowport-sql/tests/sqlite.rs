//! The SQLite store: introspection into default resources, batched writes, constraint
//! errors as row errors, transactions.

use rowport::config::Config;
use rowport::{import, ImportOptions, Resource, Store, Value, ValueKind};
use rowport_formats::{open_reader, Format, ReadOptions};
use rowport_sql::SqliteStore;

const SCHEMA: &str = r#"
CREATE TABLE author (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(100) NOT NULL UNIQUE, birthday date NULL);
CREATE TABLE book (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  isbn varchar(20) NOT NULL UNIQUE,
  name varchar(200) NOT NULL,
  price decimal(10, 2) NULL,
  in_stock bool NOT NULL DEFAULT 0,
  added datetime NULL,
  rating real NULL,
  author_id bigint NULL REFERENCES author (id)
);
INSERT INTO author (name, birthday) VALUES ('Frank Herbert', '1920-10-08'), ('Jane Austen', '1775-12-16');
"#;

fn store() -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    store.connection().execute_batch(SCHEMA).unwrap();
    store
}

fn run(store: &mut SqliteStore, resource: &Resource, csv: &str) -> rowport::ImportResult {
    let mut reader = open_reader(
        Format::Csv,
        Box::new(csv.as_bytes()),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    import(resource, store, reader.as_mut(), &ImportOptions::default()).unwrap()
}

/// isbn, name, price, in_stock, author_id
type BookRow = (String, String, Option<f64>, i64, Option<i64>);

fn books(store: &SqliteStore) -> Vec<BookRow> {
    let mut stmt = store
        .connection()
        .prepare("SELECT isbn, name, price, in_stock, author_id FROM book ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn introspection_reads_types_nullability_keys_and_foreign_keys() {
    let mut store = store();
    assert_eq!(store.table_names().unwrap(), ["author", "book"]);
    let book = store.describe("book").unwrap();
    let kinds: Vec<(&str, ValueKind, bool)> = book
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind, c.nullable))
        .collect();
    assert_eq!(
        kinds,
        [
            ("id", ValueKind::Int, false),
            ("isbn", ValueKind::Text, false),
            ("name", ValueKind::Text, false),
            ("price", ValueKind::Decimal, true),
            ("in_stock", ValueKind::Bool, false),
            ("added", ValueKind::DateTime, true),
            ("rating", ValueKind::Float, true),
            ("author_id", ValueKind::Int, true),
        ]
    );
    assert_eq!(book.primary_key().unwrap().name, "id");
    assert_eq!(
        book.column("author_id").unwrap().foreign_key,
        Some(("author".to_owned(), "id".to_owned()))
    );
    assert!(book.unique.contains(&vec!["isbn".to_owned()]));
}

#[test]
fn a_default_resource_has_a_field_per_column_and_a_foreign_key_by_primary_key() {
    let mut store = store();
    let schema = store.describe("book").unwrap();
    let book = Resource::from_schema("book", &schema).finish().unwrap();
    let fields: Vec<(&str, &str, &str)> = book
        .import_fields()
        .map(|f| (f.name.as_str(), f.attribute.as_str(), f.widget.name()))
        .collect();
    assert_eq!(
        fields,
        [
            ("id", "id", "integer"),
            ("isbn", "isbn", "char"),
            ("name", "name", "char"),
            ("price", "price", "decimal"),
            ("in_stock", "in_stock", "boolean"),
            ("added", "added", "datetime"),
            ("rating", "rating", "float"),
            ("author", "author_id", "foreign_key"),
        ]
    );
    let result = run(
        &mut store,
        &book,
        "isbn,name,price,in_stock,author\n1,Dune,12.30,yes,1\n2,Emma,,0,2\n",
    );
    assert_eq!(result.totals.new, 2);
    assert!(result.committed);
    assert_eq!(
        books(&store),
        [
            ("1".into(), "Dune".into(), Some(12.3), 1, Some(1)),
            ("2".into(), "Emma".into(), None, 0, Some(2)),
        ]
    );
}

#[test]
fn an_unknown_foreign_key_is_an_invalid_value_naming_the_table() {
    let mut store = store();
    let schema = store.describe("book").unwrap();
    let book = Resource::from_schema("book", &schema).finish().unwrap();
    let result = run(&mut store, &book, "isbn,name,author\n1,Dune,7\n");
    assert_eq!(result.totals.invalid, 1);
    assert_eq!(
        result.errors[0].describe("books.csv"),
        "books.csv, row 2, column \"author\": \"7\" matches no author row (looked up by id)"
    );
    assert!(books(&store).is_empty());
}

#[test]
fn a_database_constraint_makes_an_error_row_with_its_number_and_rolls_back() {
    let mut store = store();
    let config = Config::parse(
        "[resources.book]\nimport_id_fields = [\"isbn\"]\n",
        "rowport.toml".as_ref(),
    )
    .unwrap();
    let book = config.resource("book", &mut store).unwrap();
    // name is NOT NULL but allow_blank makes "" for an empty cell; a duplicate isbn in a
    // row the engine cannot merge (a different key column) is refused by UNIQUE instead.
    store
        .connection()
        .execute_batch("CREATE UNIQUE INDEX book_name ON book (name)")
        .unwrap();
    let result = run(&mut store, &book, "isbn,name\n1,Dune\n2,Emma\n3,Dune\n");
    assert_eq!((result.totals.new, result.totals.error), (2, 1));
    assert_eq!(result.errors[0].row, 4);
    assert_eq!(
        result.errors[0].describe("books.csv"),
        "books.csv, row 4: another row already has this book.name (UNIQUE)"
    );
    assert!(!result.committed);
    assert!(books(&store).is_empty());
}

#[test]
fn a_foreign_key_declared_in_config_is_looked_up_by_name_with_one_cache() {
    let mut store = store();
    let config = Config::parse(
        "[resources.book]\nimport_id_fields = [\"isbn\"]\nskip_unchanged = true\n\
         [resources.book.field.author]\nwidget = \"foreign_key\"\nlookup = \"name\"\n",
        "rowport.toml".as_ref(),
    )
    .unwrap();
    let book = config.resource("book", &mut store).unwrap();
    let csv =
        "isbn,name,author\n1,Dune,Frank Herbert\n2,Emma,Jane Austen\n3,Persuasion,Jane Austen\n";
    assert_eq!(run(&mut store, &book, csv).totals.new, 3);
    let ids: Vec<Option<i64>> = books(&store).into_iter().map(|b| b.4).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(2)]);
    // Unchanged on the second run, foreign key included.
    assert_eq!(run(&mut store, &book, csv).totals.skip, 3);
}

#[test]
fn values_round_trip_through_the_store_with_their_types() {
    let mut store = store();
    let schema = store.describe("book").unwrap();
    let book = Resource::from_schema("book", &schema).finish().unwrap();
    run(
        &mut store,
        &book,
        "isbn,name,price,in_stock,added,rating\n1,Dune,0.10,1,2021-03-04 12:30:00,4.5\n",
    );
    let fetched = store
        .fetch(
            &rowport::store::Fetch {
                table: "book",
                key_columns: &["isbn".to_owned()],
                filter: &[],
                columns: &[
                    ("price".to_owned(), ValueKind::Decimal),
                    ("in_stock".to_owned(), ValueKind::Bool),
                    ("added".to_owned(), ValueKind::DateTime),
                    ("rating".to_owned(), ValueKind::Float),
                ],
            },
            &[vec![Value::Text("1".into())]],
        )
        .unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0][0].to_string(), "0.10");
    assert_eq!(fetched[0][1], Value::Bool(true));
    assert_eq!(fetched[0][2].to_string(), "2021-03-04 12:30:00");
    assert_eq!(fetched[0][3], Value::Float(4.5));
}

#[test]
fn a_missing_table_suggests_the_closest_name() {
    let mut store = store();
    let err = store.describe("bok").unwrap_err();
    assert_eq!(
        err.message,
        "table \"bok\" not found in :memory:; did you mean \"book\"?"
    );
}

#[test]
fn a_missing_database_file_is_a_connection_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    let err = SqliteStore::open(&path, false).err().unwrap();
    assert!(
        err.message.ends_with("missing.db does not exist"),
        "{}",
        err.message
    );
    assert!(!path.exists());
}

#[test]
fn a_composite_import_id_finds_rows_by_both_columns() {
    let mut store = SqliteStore::in_memory().unwrap();
    store
        .connection()
        .execute_batch(
            "CREATE TABLE edition (id integer PRIMARY KEY, isbn text NOT NULL, lang text NOT NULL, \
             title text NOT NULL, UNIQUE (isbn, lang))",
        )
        .unwrap();
    let config = Config::parse(
        "[resources.edition]\nimport_id_fields = [\"isbn\", \"lang\"]\n",
        "rowport.toml".as_ref(),
    )
    .unwrap();
    let edition = config.resource("edition", &mut store).unwrap();
    let first = run(
        &mut store,
        &edition,
        "isbn,lang,title\n1,en,Dune\n1,fr,Dune (fr)\n",
    );
    assert_eq!(first.totals.new, 2);
    let second = run(
        &mut store,
        &edition,
        "isbn,lang,title\n1,fr,\"Dune, version française\"\n1,de,Der Wüstenplanet\n",
    );
    assert_eq!((second.totals.new, second.totals.update), (1, 1));
    let titles: Vec<(String, String)> = store
        .connection()
        .prepare("SELECT lang, title FROM edition ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        titles,
        [
            ("en".into(), "Dune".into()),
            ("fr".into(), "Dune, version française".into()),
            ("de".into(), "Der Wüstenplanet".into()),
        ]
    );
}

#[test]
fn without_transactions_the_valid_rows_stay_when_another_row_is_invalid() {
    let mut store = store();
    let config = Config::parse(
        "[resources.book]\nimport_id_fields = [\"isbn\"]\nuse_transactions = false\n",
        "rowport.toml".as_ref(),
    )
    .unwrap();
    let book = config.resource("book", &mut store).unwrap();
    let result = run(
        &mut store,
        &book,
        "isbn,name,price\n1,Dune,1.00\n2,Emma,cheap\n",
    );
    assert_eq!((result.totals.new, result.totals.invalid), (1, 1));
    assert_eq!(books(&store).len(), 1);
}

#[test]
fn inserts_report_each_new_key_whether_or_not_the_key_is_the_rowid() {
    let mut store = SqliteStore::in_memory().unwrap();
    store
        .connection()
        .execute_batch(
            "CREATE TABLE plain (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO plain VALUES (41, 'before');
             CREATE TABLE keyed (id INTEGER PRIMARY KEY, name TEXT) WITHOUT ROWID;
             CREATE TABLE coded (code TEXT PRIMARY KEY, name TEXT);",
        )
        .unwrap();
    let names = ["name".to_owned()];
    let rows = vec![vec![Value::Text("a".into())], vec![Value::Text("b".into())]];
    let keys = |results: Vec<Result<Value, String>>| -> Vec<Value> {
        results.into_iter().map(Result::unwrap).collect()
    };
    assert_eq!(
        keys(store.insert("plain", &names, &rows, Some("id")).unwrap()),
        [Value::Int(42), Value::Int(43)]
    );
    let with_ids = ["id".to_owned(), "name".to_owned()];
    let keyed_rows = vec![
        vec![Value::Int(7), Value::Text("a".into())],
        vec![Value::Int(3), Value::Text("b".into())],
    ];
    assert_eq!(
        keys(
            store
                .insert("keyed", &with_ids, &keyed_rows, Some("id"))
                .unwrap()
        ),
        [Value::Int(7), Value::Int(3)]
    );
    let coded = ["code".to_owned(), "name".to_owned()];
    let coded_rows = vec![vec![Value::Text("x1".into()), Value::Text("a".into())]];
    assert_eq!(
        keys(
            store
                .insert("coded", &coded, &coded_rows, Some("code"))
                .unwrap()
        ),
        [Value::Text("x1".into())]
    );
}
