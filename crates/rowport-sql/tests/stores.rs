//! What every store must do, written once and run on SQLite, PostgreSQL and MySQL/MariaDB
//! (`backend_tests!`): introspection into default resources, lookups, constraint errors as
//! row errors, typed round trips, composite import ids and imports without a transaction.
//! Each server's own types, keys and errors are in `postgres.rs`, `mysql.rs` and
//! `sqlite.rs`.

use rowport::store::{Fetch, StoreErrorKind};
use rowport::{Resource, Store, Value, ValueKind};
use rowport_testkit::{backend_tests, Backend, TestDatabase};

mod common;
use common::{import_csv, resource, rows};

/// The books schema, in `Backend::dialect`'s placeholders plus `{instant}` (a date-time
/// column: with a time zone on PostgreSQL) and `{fk}` (MySQL reads only a table-level
/// foreign key).
const SCHEMA: &str = r#"
CREATE TABLE author (id {pk}, name varchar(100) NOT NULL UNIQUE, birthday date NULL);
CREATE TABLE book (
  id {pk},
  isbn varchar(20) NOT NULL UNIQUE,
  name varchar(200) NOT NULL,
  price decimal(10, 2) NULL,
  in_stock bool NOT NULL DEFAULT {false},
  added {instant} NULL,
  rating {real} NULL,
  author_id bigint NULL{fk}
);
INSERT INTO author (name, birthday) VALUES ('Frank Herbert', '1920-10-08'), ('Jane Austen', '1775-12-16');
"#;

/// isbn, name, price, in_stock, author_id, the same text on every backend.
const BOOKS: &str = "SELECT isbn, name, price, CASE WHEN in_stock THEN 1 ELSE 0 END, author_id \
                     FROM book ORDER BY id";

/// A new database holding `schema` (in the dialect's placeholders), and a store on it.
fn database(backend: Backend, schema: &str) -> (TestDatabase, Box<dyn Store>) {
    let (instant, real, fk) = match backend {
        Backend::Sqlite => ("datetime", "real", " REFERENCES author (id)"),
        Backend::Postgres => ("timestamptz", "real", " REFERENCES author (id)"),
        Backend::Mysql => (
            "datetime",
            "double",
            ", FOREIGN KEY (author_id) REFERENCES author (id)",
        ),
    };
    let db = TestDatabase::new(backend);
    db.execute(
        &backend
            .dialect(schema)
            .replace("{instant}", instant)
            .replace("{real}", real)
            .replace("{fk}", fk),
    );
    let store = rowport_sql::connect(&db.url(), false).expect("connect to the test database");
    (db, store)
}

backend_tests! {
    fn introspection_reads_types_nullability_keys_and_foreign_keys(backend) {
        let (_db, mut store) = database(backend, SCHEMA);
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
        // The key and the flag with a default may be left out of an insert.
        let defaults: Vec<&str> = book
            .columns
            .iter()
            .filter(|c| c.has_default)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(defaults, ["id", "in_stock"]);
        assert_eq!(book.primary_key().unwrap().name, "id");
        assert_eq!(
            book.column("author_id").unwrap().foreign_key,
            Some(("author".to_owned(), "id".to_owned()))
        );
        assert!(book.unique.contains(&vec!["isbn".to_owned()]));
    }

    fn a_default_resource_has_a_field_per_column_and_a_foreign_key_by_primary_key(backend) {
        let (db, mut store) = database(backend, SCHEMA);
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
        let result = import_csv(
            store.as_mut(),
            &book,
            "isbn,name,price,in_stock,author\n1,Dune,12.30,yes,1\n2,Emma,,0,2\n",
        );
        assert_eq!(result.totals.new, 2);
        assert!(result.committed);
        assert_eq!(
            db.query(BOOKS),
            rows(&[&["1", "Dune", "12.3", "1", "1"], &["2", "Emma", "NULL", "0", "2"]])
        );
    }

    fn an_unknown_foreign_key_is_an_invalid_value_naming_the_table(backend) {
        let (db, mut store) = database(backend, SCHEMA);
        let schema = store.describe("book").unwrap();
        let book = Resource::from_schema("book", &schema).finish().unwrap();
        let result = import_csv(store.as_mut(), &book, "isbn,name,author\n1,Dune,7\n");
        assert_eq!(result.totals.invalid, 1);
        assert_eq!(
            result.errors[0].describe("books.csv"),
            "books.csv, row 2, column \"author\": \"7\" matches no author row (looked up by id)"
        );
        assert!(db.query(BOOKS).is_empty());
    }

    fn a_database_constraint_makes_an_error_row_with_its_number_and_rolls_back(backend) {
        let (db, mut store) = database(backend, SCHEMA);
        let book = resource(
            store.as_mut(),
            "[resources.book]\nimport_id_fields = [\"isbn\"]\n",
            "book",
        );
        // A second "Dune" under another isbn is not a row the engine can merge: the
        // database's UNIQUE index refuses it.
        db.execute("CREATE UNIQUE INDEX book_name ON book (name)");
        let result = import_csv(store.as_mut(), &book, "isbn,name\n1,Dune\n2,Emma\n3,Dune\n");
        assert_eq!((result.totals.new, result.totals.error), (2, 1));
        assert_eq!(result.errors[0].row, 4);
        assert_eq!(
            result.errors[0].describe("books.csv"),
            "books.csv, row 4: another row already has this book.name (UNIQUE)"
        );
        assert!(!result.committed);
        assert!(db.query(BOOKS).is_empty());
    }

    fn a_foreign_key_declared_in_config_is_looked_up_by_name_and_unchanged_rows_skip(backend) {
        let (db, mut store) = database(backend, SCHEMA);
        let book = resource(
            store.as_mut(),
            "[resources.book]\nimport_id_fields = [\"isbn\"]\nskip_unchanged = true\n\
             [resources.book.field.author]\nwidget = \"foreign_key\"\nlookup = \"name\"\n",
            "book",
        );
        let csv = "isbn,name,price,added,rating,author\n\
                   1,Dune,9.99,2021-03-04 12:30:00,4.1,Frank Herbert\n\
                   2,Emma,,2021-03-04 14:30:00,,Jane Austen\n\
                   3,Persuasion,0.10,,0.1,Jane Austen\n";
        assert_eq!(import_csv(store.as_mut(), &book, csv).totals.new, 3);
        assert_eq!(
            db.query("SELECT author_id FROM book ORDER BY id"),
            rows(&[&["1"], &["2"], &["2"]])
        );
        // Unchanged on the second run: decimals, date-times, reals and the foreign key
        // compare equal to what the file says.
        let again = import_csv(store.as_mut(), &book, csv);
        assert_eq!(again.totals.skip, 3, "{:?}", again.errors);
    }

    fn values_round_trip_through_the_store_with_their_types(backend) {
        let (_db, mut store) = database(backend, SCHEMA);
        let schema = store.describe("book").unwrap();
        let book = Resource::from_schema("book", &schema).finish().unwrap();
        import_csv(
            store.as_mut(),
            &book,
            "isbn,name,price,in_stock,added,rating\n1,Dune,0.10,1,2021-03-04 12:30:00,4.5\n",
        );
        let fetched = store
            .fetch(
                &Fetch {
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
        // A PostgreSQL timestamptz column reads a file's naive date-time as UTC.
        let added = match backend {
            Backend::Postgres => "2021-03-04 12:30:00+00:00",
            _ => "2021-03-04 12:30:00",
        };
        assert_eq!(fetched[0][2].to_string(), added);
        assert_eq!(fetched[0][3], Value::Float(4.5));
    }

    fn a_missing_table_suggests_the_closest_name(backend) {
        let (_db, mut store) = database(backend, SCHEMA);
        let err = store.describe("bok").unwrap_err();
        assert_eq!(err.kind, StoreErrorKind::NotFound);
        // Where it looked (a file, or a database on a server) sits between the two.
        assert!(err.message.starts_with("table \"bok\" not found in "), "{}", err.message);
        assert!(err.message.ends_with("; did you mean \"book\"?"), "{}", err.message);
    }

    fn a_composite_import_id_finds_rows_by_both_columns(backend) {
        let (db, mut store) = database(
            backend,
            "CREATE TABLE edition (id {pk}, isbn varchar(20) NOT NULL, lang varchar(5) NOT NULL, \
             title varchar(100) NOT NULL, UNIQUE (isbn, lang))",
        );
        let edition = resource(
            store.as_mut(),
            "[resources.edition]\nimport_id_fields = [\"isbn\", \"lang\"]\n",
            "edition",
        );
        let first = import_csv(
            store.as_mut(),
            &edition,
            "isbn,lang,title\n1,en,Dune\n1,fr,Dune (fr)\n",
        );
        assert_eq!(first.totals.new, 2);
        let second = import_csv(
            store.as_mut(),
            &edition,
            "isbn,lang,title\n1,fr,\"Dune, version française\"\n1,de,Der Wüstenplanet\n",
        );
        assert_eq!((second.totals.new, second.totals.update), (1, 1));
        assert_eq!(
            db.query("SELECT lang, title FROM edition ORDER BY id"),
            rows(&[
                &["en", "Dune"],
                &["fr", "Dune, version française"],
                &["de", "Der Wüstenplanet"],
            ])
        );
    }

    fn without_transactions_the_valid_rows_stay_when_another_row_is_invalid(backend) {
        let (db, mut store) = database(backend, SCHEMA);
        let book = resource(
            store.as_mut(),
            "[resources.book]\nimport_id_fields = [\"isbn\"]\nuse_transactions = false\n",
            "book",
        );
        let result = import_csv(
            store.as_mut(),
            &book,
            "isbn,name,price\n1,Dune,1.00\n2,Emma,cheap\n3,Persuasion,2\n",
        );
        assert_eq!((result.totals.new, result.totals.invalid), (2, 1));
        assert_eq!(
            db.query("SELECT isbn FROM book ORDER BY id"),
            rows(&[&["1"], &["3"]])
        );
    }
}
