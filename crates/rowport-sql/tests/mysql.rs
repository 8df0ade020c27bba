//! The MySQL/MariaDB store against a real server: what the SQLite suite proves, plus the
//! server's own types, AUTO_INCREMENT, `database.table`, a refused row in the middle of a
//! big batch, and connection errors.
//!
//! Runs only when `ROWPORT_TEST_MYSQL` holds the URL of a server where the tests may create
//! databases (`mysql://root@127.0.0.1:3306/test`); each test makes its own database and
//! drops it at the end. Without the variable every test here is reported as ignored.

use mysql::prelude::Queryable;
use rowport::config::Config;
use rowport::store::{Fetch, StoreErrorKind};
use rowport::{ImportOptions, Resource, Store, Value, ValueKind};
use rowport_formats::Format;
use rowport_sql::MysqlStore;

mod common;
use common::{import_csv as run, import_csv_with as run_with, rows};

const SCHEMA: &str = r#"
CREATE TABLE author (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL UNIQUE, birthday date NULL) ENGINE=InnoDB;
CREATE TABLE book (
  id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
  isbn varchar(20) NOT NULL UNIQUE,
  name varchar(200) NOT NULL,
  price decimal(10, 2) NULL,
  in_stock bool NOT NULL DEFAULT 0,
  added datetime NULL,
  rating double NULL,
  author_id bigint NULL,
  CONSTRAINT book_author FOREIGN KEY (author_id) REFERENCES author (id)
) ENGINE=InnoDB;
INSERT INTO author (name, birthday) VALUES ('Frank Herbert', '1920-10-08'), ('Jane Austen', '1775-12-16');
"#;

/// A fresh name from the test kit, after dropping the leftovers of crashed runs.
fn unique_name(conn: &mut mysql::PooledConn) -> String {
    let existing: Vec<String> = conn
        .query("SHOW DATABASES LIKE 'rowport\\_t\\_%'")
        .expect("list the test databases");
    let now = rowport_testkit::unix_now();
    for name in existing
        .iter()
        .filter(|name| rowport_testkit::is_leftover(name, now))
    {
        let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"));
    }
    rowport_testkit::database_name()
}

/// The server URL the tests were given, as the `mysql` driver spells it.
fn server_url() -> String {
    let url = std::env::var("ROWPORT_TEST_MYSQL")
        .expect("ROWPORT_TEST_MYSQL is set when this suite is compiled to run");
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url,
    }
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
    format!("{scheme}://{authority}/{database}{query}")
}

/// A database of its own for one test, dropped at the end even when the test fails.
struct TestDb {
    name: String,
    url: String,
    admin: mysql::Pool,
}

impl TestDb {
    fn new() -> TestDb {
        let server = server_url();
        let admin = mysql::Pool::new(server.as_str()).unwrap_or_else(|e| {
            panic!("the MySQL server of ROWPORT_TEST_MYSQL cannot be reached: {e}")
        });
        // Unique per process, per test and per run, so that a crashed run's leftovers
        // never collide with this one.
        let mut conn = admin.get_conn().expect("a connection to the test server");
        let name = unique_name(&mut conn);
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .expect("drop a leftover test database");
        conn.query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .expect("create the test database");
        let url = with_database(&server, &name);
        TestDb { name, url, admin }
    }

    fn with_schema(schema: &str) -> TestDb {
        let db = TestDb::new();
        db.execute(schema);
        db
    }

    fn store(&self) -> MysqlStore {
        MysqlStore::connect(&self.url).expect("connect to the test database")
    }

    /// Runs SQL (several statements allowed) in the test database.
    fn execute(&self, sql: &str) {
        let mut conn = self.admin.get_conn().expect("a connection");
        // UTC, as the store's sessions, so that TIMESTAMP values read the same.
        conn.query_drop(format!("USE `{}`; SET time_zone = '+00:00'", self.name))
            .expect("use the test database");
        conn.query_drop(sql).expect("run the test's SQL");
    }

    /// Rows of a query, every value as the server writes it as text (`NULL` for null).
    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let mut conn = self.admin.get_conn().expect("a connection");
        // UTC, as the store's sessions, so that TIMESTAMP values read the same.
        conn.query_drop(format!("USE `{}`; SET time_zone = '+00:00'", self.name))
            .expect("use the test database");
        let rows: Vec<mysql::Row> = conn.query(sql).expect("run the test's query");
        rows.into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql::Value::NULL => "NULL".to_owned(),
                        mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                        other => other.as_sql(true),
                    })
                    .collect()
            })
            .collect()
    }

    fn scalar(&self, sql: &str) -> String {
        self.query(sql)
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or_else(|| panic!("no rows for {sql}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = self.admin.get_conn() {
            let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

fn config(text: &str) -> Config {
    Config::parse(text, "rowport.toml".as_ref()).unwrap()
}

/// isbn, name, price, in_stock, author_id
fn books(db: &TestDb) -> Vec<Vec<String>> {
    db.query("SELECT isbn, name, price, in_stock, author_id FROM book ORDER BY id")
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn introspection_reads_declared_types_and_the_primary_key_first_among_unique_keys() {
    let db = TestDb::with_schema(SCHEMA);
    let mut store = db.store();
    let book = store.describe("book").unwrap();
    assert_eq!(book.column("price").unwrap().declared_type, "decimal(10,2)");
    assert_eq!(book.unique[0], ["id"]);
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_missing_table_names_the_database_and_the_server() {
    let db = TestDb::with_schema(SCHEMA);
    let mut store = db.store();
    let err = store.describe("bok").unwrap_err();
    assert!(
        err.message.starts_with(&format!(
            "table \"bok\" not found in database \"{}\" at ",
            db.name
        )),
        "{}",
        err.message
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn without_transactions_a_refused_row_leaves_the_rest_of_its_batch_written() {
    let db = TestDb::with_schema(SCHEMA);
    let mut store = db.store();
    let book =
        config("[resources.book]\nimport_id_fields = [\"isbn\"]\nuse_transactions = false\n")
            .resource("book", &mut store)
            .unwrap();
    db.execute("CREATE UNIQUE INDEX book_name ON book (name)");
    let result = run(
        &mut store,
        &book,
        "isbn,name\n1,Dune\n2,Emma\n3,Dune\n4,Persuasion\n",
    );
    assert_eq!((result.totals.new, result.totals.error), (3, 1));
    assert_eq!(result.errors[0].row, 4);
    assert_eq!(
        db.query("SELECT isbn FROM book ORDER BY isbn"),
        rows(&[&["1"], &["2"], &["4"]])
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_dry_run_writes_nothing_but_reports_what_the_database_refuses() {
    let db = TestDb::with_schema(SCHEMA);
    let mut store = db.store();
    let book = config("[resources.book]\nimport_id_fields = [\"isbn\"]\n")
        .resource("book", &mut store)
        .unwrap();
    db.execute("CREATE UNIQUE INDEX book_name ON book (name)");
    let options = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    let result = run_with(
        &mut store,
        &book,
        "isbn,name\n1,Dune\n2,Dune\n3,Emma\n",
        &options,
    );
    assert_eq!((result.totals.new, result.totals.error), (2, 1));
    assert_eq!(result.errors[0].row, 3);
    assert!(!result.committed);
    assert!(books(&db).is_empty());
    // The next ordinary import is not disturbed by the rolled-back one.
    let result = run(&mut store, &book, "isbn,name\n1,Dune\n");
    assert!(result.committed);
    assert_eq!(books(&db).len(), 1);
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn refused_rows_get_their_own_errors_in_the_sqlite_words_and_the_others_are_written() {
    let db = TestDb::with_schema(SCHEMA);
    let mut store = db.store();
    let columns: Vec<String> = ["isbn", "name", "price", "author_id"]
        .map(String::from)
        .to_vec();
    let row = |isbn: &str, name: Value, price: &str, author: i64| {
        vec![
            Value::Text(isbn.into()),
            name,
            Value::Decimal(price.parse().unwrap()),
            Value::Int(author),
        ]
    };
    let results = store
        .insert(
            "book",
            &columns,
            &[
                row("1", "Dune".into(), "1.00", 1),
                row("2", Value::Null, "1.00", 1),
                row("3", "Emma".into(), "1.00", 9),
                row("123456789012345678901", "Long".into(), "1.00", 1),
                row("5", "Dear".into(), "123456789.00", 1),
                row("1", "Again".into(), "1.00", 1),
                row("7", "Persuasion".into(), "2.50", 2),
            ],
            Some("id"),
        )
        .unwrap();
    let errors: Vec<Option<String>> = results.iter().map(|r| r.clone().err()).collect();
    assert_eq!(
        errors,
        [
            None,
            Some("a value is required for book.name (NOT NULL)".to_owned()),
            Some("a related row does not exist (FOREIGN KEY)".to_owned()),
            Some("the value is too long for book.isbn (varchar(20))".to_owned()),
            Some("the value is out of range for book.price (decimal(10,2))".to_owned()),
            Some("another row already has this book.isbn (UNIQUE)".to_owned()),
            None,
        ]
    );
    let stored = db.query("SELECT id, isbn, name FROM book ORDER BY id");
    assert_eq!(
        stored.iter().map(|r| &r[1..]).collect::<Vec<_>>(),
        [["1", "Dune"], ["7", "Persuasion"]]
    );
    // Each written row reports the key it got (refused attempts use up AUTO_INCREMENT
    // values, so the keys are not 1 and 2).
    let id = |row: &Vec<String>| Ok(Value::Int(row[0].parse().unwrap()));
    assert_eq!(results[0], id(&stored[0]));
    assert_eq!(results[6], id(&stored[1]));
    let (dune, persuasion) = (stored[0][0].clone(), stored[1][0].clone());

    // Updates and deletes, set-based, with the same per-row errors.
    let updates = store
        .update(
            "book",
            "id",
            &["isbn".to_owned(), "name".to_owned()],
            &[
                (
                    id(&stored[0]).unwrap(),
                    vec!["1".into(), "Dune Messiah".into()],
                ),
                (
                    id(&stored[1]).unwrap(),
                    vec!["1".into(), "Persuasion".into()],
                ),
            ],
        )
        .unwrap();
    assert_eq!(
        updates,
        [
            Ok(()),
            Err("another row already has this book.isbn (UNIQUE)".to_owned())
        ]
    );
    let deletes = store
        .delete(
            "author",
            &["id".to_owned()],
            &[vec![Value::Int(1)], vec![Value::Int(2)]],
        )
        .unwrap();
    assert_eq!(
        deletes,
        [
            Err("rows of another table refer to it (FOREIGN KEY)".to_owned()),
            Err("rows of another table refer to it (FOREIGN KEY)".to_owned()),
        ]
    );
    assert_eq!(
        db.query("SELECT id, isbn, name FROM book ORDER BY id"),
        rows(&[
            &[dune.as_str(), "1", "Dune Messiah"],
            &[persuasion.as_str(), "7", "Persuasion"]
        ])
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_unique_violation_in_the_middle_of_a_10000_row_batch_is_reported_at_its_row() {
    let db = TestDb::with_schema(SCHEMA);
    db.execute("INSERT INTO book (isbn, name) VALUES ('existing', 'Already here')");
    let mut store = db.store();
    let book = config(
        "[resources.book]\nimport_id_fields = [\"name\"]\nbatch_size = 10000\n\
         fields = [\"isbn\", \"name\", \"price\"]\n",
    )
    .resource("book", &mut store)
    .unwrap();
    let mut csv = String::from("isbn,name,price\n");
    for i in 0..10_000 {
        // The file's row 5,002 (header = row 1) reuses the isbn of the existing book.
        let isbn = if i == 5_000 {
            "existing".to_owned()
        } else {
            format!("isbn-{i}")
        };
        csv.push_str(&format!("{isbn},Book {i},{i}.25\n"));
    }
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let result = run_with(&mut store, &book, &csv, &options);
    assert_eq!((result.totals.new, result.totals.error), (9_999, 1));
    assert_eq!(result.errors.len(), 1);
    assert_eq!(
        result.errors[0].describe("books.csv"),
        "books.csv, row 5002: another row already has this book.isbn (UNIQUE)"
    );
    assert!(result.committed);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM book"), "10000");
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM book WHERE name = 'Book 5000'"),
        "0"
    );
    assert_eq!(
        db.query(
            "SELECT isbn, price FROM book WHERE name IN ('Book 4999', 'Book 5001') ORDER BY id"
        ),
        rows(&[&["isbn-4999", "4999.25"], &["isbn-5001", "5001.25"]])
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn auto_increment_moves_past_explicit_ids_and_new_keys_come_back_in_row_order() {
    let db = TestDb::with_schema(SCHEMA);
    let mut store = db.store();
    let schema = store.describe("book").unwrap();
    let book = Resource::from_schema("book", &schema).finish().unwrap();
    let explicit = run(&mut store, &book, "id,isbn,name\n100,a,Dune\n101,b,Emma\n");
    assert_eq!(explicit.totals.new, 2);
    let ordinary = run(
        &mut store,
        &book,
        "isbn,name\nc,Persuasion\nd,Ulysses\ne,Middlemarch\n",
    );
    assert_eq!(ordinary.totals.new, 3);
    assert_eq!(
        db.query("SELECT id, isbn FROM book ORDER BY id"),
        rows(&[
            &["100", "a"],
            &["101", "b"],
            &["102", "c"],
            &["103", "d"],
            &["104", "e"]
        ])
    );
    // The keys the store reports are the ones the rows got, in row order.
    let keys = store
        .insert(
            "book",
            &["isbn".to_owned(), "name".to_owned()],
            &[
                vec!["f".into(), "F".into()],
                vec!["g".into(), "G".into()],
                vec!["h".into(), "H".into()],
            ],
            Some("id"),
        )
        .unwrap();
    let keys: Vec<Value> = keys.into_iter().map(Result::unwrap).collect();
    let stored: Vec<Value> = db
        .query("SELECT id FROM book WHERE isbn IN ('f', 'g', 'h') ORDER BY isbn")
        .into_iter()
        .map(|r| Value::Int(r[0].parse().unwrap()))
        .collect();
    assert_eq!(keys, stored);
    assert_eq!(keys, [Value::Int(105), Value::Int(106), Value::Int(107)]);
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn server_types_map_to_widgets_and_round_trip() {
    let db = TestDb::with_schema(
        "CREATE TABLE thing (
           id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
           code varchar(10) NOT NULL UNIQUE,
           flag tinyint(1) NOT NULL DEFAULT 0,
           small tinyint NULL,
           amount decimal(20, 6) NULL,
           ratio float NULL,
           day date NULL,
           at_time time NULL,
           happened datetime(6) NULL,
           stamped timestamp NULL,
           doc json NULL,
           format enum('paperback','hard cover','it''s an ebook') NOT NULL DEFAULT 'paperback'
         ) ENGINE=InnoDB",
    );
    let mut store = db.store();
    let schema = store.describe("thing").unwrap();
    let kinds: Vec<(&str, ValueKind)> = schema
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("id", ValueKind::Int),
            ("code", ValueKind::Text),
            ("flag", ValueKind::Bool),
            ("small", ValueKind::Int),
            ("amount", ValueKind::Decimal),
            ("ratio", ValueKind::Float),
            ("day", ValueKind::Date),
            ("at_time", ValueKind::Time),
            ("happened", ValueKind::DateTime),
            ("stamped", ValueKind::DateTime),
            ("doc", ValueKind::Json),
            ("format", ValueKind::Text),
        ]
    );
    let format = schema.column("format").unwrap();
    assert_eq!(
        format.choices.as_deref(),
        Some(
            &[
                "paperback".to_owned(),
                "hard cover".into(),
                "it's an ebook".into()
            ][..]
        )
    );
    assert!(format.has_default);
    assert_eq!(
        format.default_sql.as_deref().map(|d| d.trim_matches('\'')),
        Some("paperback")
    );
    let thing = config("[resources.thing]\nimport_id_fields = [\"code\"]\nskip_unchanged = true\n")
        .resource("thing", &mut store)
        .unwrap();
    let widgets: Vec<&str> = thing.import_fields().map(|f| f.widget.name()).collect();
    assert_eq!(
        widgets,
        [
            "integer", "char", "boolean", "integer", "decimal", "float", "date", "time",
            "datetime", "datetime", "json", "char"
        ]
    );
    let csv = "code,flag,small,amount,ratio,day,at_time,happened,stamped,doc,format\n\
               a,yes,-7,12345678901234.123456,0.5,2024-02-29,23:59:58,2021-03-04 12:30:00.250000,2021-03-04 12:30:00,\"{\"\"k\"\": [1, 2]}\",it's an ebook\n\
               b,no,,0.000001,,,,,,,paperback\n";
    let first = run(&mut store, &thing, csv);
    assert_eq!(first.totals.new, 2, "{:?}", first.errors);
    assert_eq!(
        db.query(
            "SELECT code, flag, small, amount, ratio, day, at_time, happened, stamped, \
             JSON_EXTRACT(doc, '$.k[1]'), format FROM thing ORDER BY id"
        ),
        rows(&[
            &[
                "a",
                "1",
                "-7",
                "12345678901234.123456",
                "0.5",
                "2024-02-29",
                "23:59:58",
                "2021-03-04 12:30:00.250000",
                "2021-03-04 12:30:00",
                "2",
                "it's an ebook",
            ],
            &[
                "b",
                "0",
                "NULL",
                "0.000001",
                "NULL",
                "NULL",
                "NULL",
                "NULL",
                "NULL",
                "NULL",
                "paperback"
            ],
        ])
    );
    // Read back, every value equals what the widgets cleaned: nothing to update.
    let second = run(&mut store, &thing, csv);
    assert_eq!(second.totals.skip, 2, "{:?}", second.errors);
    // A label the enum does not have is an invalid field that lists the choices.
    let bad = run(&mut store, &thing, "code,format\nc,audiobook\n");
    assert_eq!(
        bad.errors[0].describe("things.csv"),
        "things.csv, row 2, column \"format\": \"audiobook\" is not one of the choices \
         (paperback, hard cover, it's an ebook)"
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn values_the_columns_cannot_hold_are_row_errors_not_silent_truncations() {
    let db = TestDb::with_schema(
        "CREATE TABLE thing (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, small tinyint NULL,
           day date NULL, doc json NULL, format enum('paperback','ebook') NULL) ENGINE=InnoDB",
    );
    let mut store = db.store();
    let columns: Vec<String> = ["small", "day", "doc", "format"].map(String::from).to_vec();
    let text = |s: &str| Value::Text(s.to_owned());
    let results = store
        .insert(
            "thing",
            &columns,
            &[
                vec![Value::Int(300), Value::Null, Value::Null, Value::Null],
                vec![Value::Null, text("2021-02-30"), Value::Null, Value::Null],
                vec![Value::Null, Value::Null, text("{not json"), Value::Null],
                vec![Value::Null, Value::Null, Value::Null, text("audiobook")],
                vec![
                    Value::Int(1),
                    text("2021-02-28"),
                    text("[1]"),
                    text("ebook"),
                ],
            ],
            None,
        )
        .unwrap();
    let errors: Vec<Option<String>> = results.into_iter().map(Result::err).collect();
    // MySQL 8 no longer shows an integer's display width.
    let tinyint = if store.is_mariadb() {
        "tinyint(4)"
    } else {
        "tinyint"
    };
    assert_eq!(
        errors,
        [
            Some(format!(
                "the value is out of range for thing.small ({tinyint})"
            )),
            Some("the value is not a valid date for thing.day".to_owned()),
            Some("the value is not valid JSON for thing.doc".to_owned()),
            Some(
                "the value is not one of the choices of thing.format (paperback, ebook)".to_owned()
            ),
            None,
        ]
    );
    assert_eq!(
        db.query("SELECT small, day, doc, format FROM thing"),
        rows(&[&["1", "2021-02-28", "[1]", "ebook"]])
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_table_of_another_database_is_named_database_dot_table() {
    let main = TestDb::new();
    let other = TestDb::with_schema(SCHEMA);
    let mut store = main.store();
    assert!(store.table_names().unwrap().is_empty());
    let qualified = format!("{}.book", other.name);
    let schema = store.describe(&qualified).unwrap();
    assert_eq!(
        schema.column("author_id").unwrap().foreign_key,
        Some((format!("{}.author", other.name), "id".to_owned()))
    );
    let book = config(&format!(
        "[resources.book]\ntable = \"{qualified}\"\nimport_id_fields = [\"isbn\"]\n\
         fields = [\"isbn\", \"name\", \"author\"]\n\
         [resources.book.field.author]\nwidget = \"foreign_key\"\nlookup = \"name\"\n"
    ))
    .resource("book", &mut store)
    .unwrap();
    let result = run(
        &mut store,
        &book,
        "isbn,name,author\n1,Dune,Frank Herbert\n",
    );
    assert_eq!(result.totals.new, 1, "{:?}", result.errors);
    assert_eq!(books(&other), rows(&[&["1", "Dune", "NULL", "0", "1"]]));
    let err = store.describe(&format!("{}.bok", other.name)).unwrap_err();
    assert!(
        err.message
            .ends_with(&format!("; did you mean \"{}.book\"?", other.name)),
        "{}",
        err.message
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_missing_database_a_closed_port_and_a_wrong_password_are_connection_errors() {
    let server = server_url();
    let missing = with_database(&server, "rowport_no_such_database");
    let err = MysqlStore::connect(&missing).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Connection);
    assert!(
        err.message.starts_with(
            "there is no database \"rowport_no_such_database\" on the MySQL server at "
        ),
        "{}",
        err.message
    );

    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = MysqlStore::connect(&format!("mysql://root@127.0.0.1:{port}/test")).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Connection);
    assert_eq!(
        err.message,
        format!(
            "cannot connect to database \"test\" on the MySQL server at 127.0.0.1:{port}: connection refused"
        )
    );

    let (_, rest) = server.split_once("://").unwrap();
    let host_and_path = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let err =
        MysqlStore::connect(&format!("mysql://rowport_nobody:s3cret@{host_and_path}")).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Connection);
    assert!(
        err.message
            .contains("refused user \"rowport_nobody\": wrong password or unknown user"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("s3cret"), "{}", err.message);
    let err = MysqlStore::connect(&format!("mysql://root:s3cret@{host_and_path}")).unwrap_err();
    assert!(
        err.message
            .contains("refused user \"root\": wrong password or unknown user"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("s3cret"), "{}", err.message);

    let err = MysqlStore::connect("mysql://root:s3cret@127.0.0.1:3306").unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Config);
    assert_eq!(
        err.message,
        "database URL \"mysql://root:***@127.0.0.1:3306\" names no database (expected mysql://user:password@host:port/database)"
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn export_scans_join_foreign_keys_and_list_many_to_many_targets_in_link_order() {
    let db = TestDb::with_schema(SCHEMA);
    db.execute(
        "CREATE TABLE category (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL UNIQUE);
         CREATE TABLE book_categories (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, book_id bigint NOT NULL,
           category_id int NOT NULL, UNIQUE (book_id, category_id),
           FOREIGN KEY (book_id) REFERENCES book (id), FOREIGN KEY (category_id) REFERENCES category (id));
         INSERT INTO category (name) VALUES ('Fiction'), ('Sci, \"Fi\"'), ('Classics');
         INSERT INTO book (isbn, name, price, author_id) VALUES ('1', 'Dune', 9.50, 1), ('2', 'Emma', NULL, NULL);
         INSERT INTO book_categories (book_id, category_id) VALUES (1, 2), (1, 1);",
    );
    let mut store = db.store();
    let book = config(
        "[resources.book]\nimport_id_fields = [\"isbn\"]\n\
         fields = [\"isbn\", \"price\", \"author\", \"categories\"]\n\
         [resources.book.field.author]\nwidget = \"foreign_key\"\nlookup = \"name\"\n\
         [resources.book.field.categories]\nwidget = \"many_to_many\"\ntable = \"category\"\n\
         lookup = \"name\"\nthrough = \"book_categories\"\nseparator = \"|\"\n",
    )
    .resource("book", &mut store)
    .unwrap();
    let mut out = Vec::new();
    let writer = rowport_formats::open_writer(
        Format::Csv,
        Box::new(&mut out),
        &rowport_formats::WriteOptions::default(),
    )
    .unwrap();
    let count = rowport::export(
        &book,
        &mut store,
        writer,
        &rowport::ExportOptions::default(),
    )
    .unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "isbn,price,author,categories\n1,9.50,Frank Herbert,\"Sci, \"\"Fi\"\"|Fiction\"\n2,,,\n"
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_cloned_store_has_its_own_connection_from_the_pool() {
    let db = TestDb::with_schema(SCHEMA);
    let mut writer = db.store();
    let mut reader = writer.try_clone().unwrap();
    let fetch_all = |store: &mut MysqlStore| {
        store
            .fetch(
                &Fetch {
                    table: "author",
                    key_columns: &["name".to_owned()],
                    filter: &[],
                    columns: &[("id".to_owned(), ValueKind::Int)],
                },
                &[vec!["Octavia E. Butler".into()]],
            )
            .unwrap()
    };
    writer.begin().unwrap();
    let id = writer
        .insert(
            "author",
            &["name".to_owned()],
            &[vec!["Octavia E. Butler".into()]],
            Some("id"),
        )
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(fetch_all(&mut writer), [[id.clone()]]);
    // The other connection does not see the open transaction's row…
    assert!(fetch_all(&mut reader).is_empty());
    writer.commit().unwrap();
    // …until it is committed.
    assert_eq!(fetch_all(&mut reader), [[id]]);
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn clean_model_instances_reports_check_violations_as_invalid_rows_before_writing() {
    // Two tables with a check on a column of the same name: MariaDB names both checks
    // `qty`, and only the item table's may apply to items.
    let db = TestDb::with_schema(
        "CREATE TABLE item (
           id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
           name varchar(50) NOT NULL,
           qty int NOT NULL CHECK (qty >= 0),
           low decimal(6, 2) NULL,
           high decimal(6, 2) NULL,
           made date NULL,
           doc json NULL,
           CONSTRAINT item_range CHECK (low <= high),
           CONSTRAINT item_made CHECK (made >= '2000-01-01')
         ) ENGINE=InnoDB;
         CREATE TABLE crate (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, qty int NOT NULL CHECK (qty > 100)) ENGINE=InnoDB;",
    );
    let mut store = db.store();
    let item = config("[resources.item]\nclean_model_instances = true\nbatch_size = 10000\n")
        .resource("item", &mut store)
        .unwrap();
    // 6,000 rows of 7 or 8 values are checked in three statements per check (16,384
    // placeholders at most), so row 5,502's number crosses a statement's boundary.
    let mut csv = String::from("name,qty,low,high,made,doc\n");
    for i in 0..6_000 {
        let line = match i {
            // 10.00 <= 9.50 holds as text, not as numbers.
            1 => "screw,1,10.00,9.50,2020-05-01,\"{\"\"a\"\": 1}\"".to_owned(),
            2 => "nut,-2,1.00,2.00,,".to_owned(),
            3 => "old,1,,,1999-12-31,".to_owned(),
            5_500 => "late,-1,,,,".to_owned(),
            _ => format!("part {i},{},9.50,10.00,2020-05-01,[1]", i % 7),
        };
        csv.push_str(&line);
        csv.push('\n');
    }
    let result = run(&mut store, &item, &csv);
    let messages: Vec<(String, rowport::RowOutcome)> = result
        .errors
        .iter()
        .map(|e| (e.describe("items.csv"), e.outcome))
        .collect();
    let invalid = |text: &str| (text.to_owned(), rowport::RowOutcome::Invalid);
    assert_eq!(
        messages,
        [
            invalid("items.csv, row 3: breaks the item table's check CHECK (`low` <= `high`)"),
            invalid("items.csv, row 4: breaks the item table's check CHECK (`qty` >= 0)"),
            invalid(
                "items.csv, row 5: breaks the item table's check CHECK (`made` >= '2000-01-01')"
            ),
            invalid("items.csv, row 5502: breaks the item table's check CHECK (`qty` >= 0)"),
        ]
    );
    assert_eq!(
        (
            result.totals.new,
            result.totals.invalid,
            result.totals.error
        ),
        (5_996, 4, 0)
    );
    assert!(!result.committed);
    assert_eq!(db.scalar("SELECT count(*) FROM item"), "0");

    // Asked to keep the valid rows, they are written and the refused ones are not.
    let result = run_with(
        &mut store,
        &item,
        &csv,
        &ImportOptions {
            skip_invalid: true,
            ..ImportOptions::default()
        },
    );
    assert_eq!((result.totals.new, result.totals.invalid), (5_996, 4));
    assert_eq!(db.scalar("SELECT count(*) FROM item"), "5996");
    assert_eq!(
        db.scalar("SELECT count(*) FROM item WHERE name IN ('screw', 'nut', 'old', 'late')"),
        "0"
    );
}
