//! What only the SQLite store does: its error for a missing file or table, and new keys
//! with and without a rowid. What every store does is in `stores.rs`.

use rowport::{Store, Value};
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
