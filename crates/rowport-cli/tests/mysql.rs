//! `rowport --db mysql://…`: import, export, inspect and their failures against a real
//! MySQL or MariaDB server, on the library schema of the other CLI tests translated to
//! MySQL.
//!
//! Runs only when `ROWPORT_TEST_MYSQL` holds the URL of a server where the tests may create
//! databases (`mysql://root@127.0.0.1:3306/test`); each test makes its own database and
//! drops it at the end. Without the variable every test here is reported as ignored.

mod common;

use common::{rows, Run, Sandbox, LIBRARY_CONFIG};
use mysql::prelude::Queryable;

/// `common::LIBRARY_SCHEMA` in MySQL's words (foreign keys as table constraints, which
/// MySQL enforces; VARCHAR where a TEXT column would need a key prefix).
const LIBRARY_SCHEMA: &str = r#"
CREATE TABLE author (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL UNIQUE, birthday date NULL) ENGINE=InnoDB;
CREATE TABLE category (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE book (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    isbn varchar(20) NOT NULL UNIQUE,
    name varchar(200) NOT NULL,
    author_email varchar(254) NULL,
    published date NULL,
    price decimal(10, 2) NULL,
    in_stock bool NOT NULL DEFAULT 1,
    author_id bigint NULL,
    CONSTRAINT book_author FOREIGN KEY (author_id) REFERENCES author (id)
) ENGINE=InnoDB;
CREATE TABLE book_categories (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    book_id bigint NOT NULL,
    category_id bigint NOT NULL,
    UNIQUE KEY book_categories_uniq (book_id, category_id),
    CONSTRAINT book_categories_book FOREIGN KEY (book_id) REFERENCES book (id),
    CONSTRAINT book_categories_category FOREIGN KEY (category_id) REFERENCES category (id)
) ENGINE=InnoDB;
INSERT INTO author (name, birthday) VALUES ('Ursula K. Le Guin', '1929-10-21'), ('Italo Calvino', '1923-10-15'), ('Octavia E. Butler', '1947-06-22');
INSERT INTO category (name) VALUES ('Fiction'), ('Poetry'), ('History'), ('Science');
"#;

const BOOKS_CSV: &str = "isbn,name,author,author_email,published,price,in_stock,categories\n\
    111,The Dispossessed,Ursula K. Le Guin,ursula@example.com,1974-05-01,8.99,1,Fiction|Science\n\
    222,\"Invisible Cities, a novel\",Italo Calvino,,,,0,Poetry\n\
    333,\"The \"\"mirror\"\" edition\",,o@example.com,1979-06-01,12.00,1,\n\
    444,\"Café über alles\nsecond line\",Octavia E. Butler,cafe@example.com,2001-01-01,0.50,0,History|Fiction|Poetry\n";

const BOOKS_SQL: &str = "SELECT b.isbn, b.name, a.name, b.author_email, b.published, b.price, \
    b.in_stock FROM book b LEFT JOIN author a ON a.id = b.author_id ORDER BY b.isbn";

const LINKS_SQL: &str = "SELECT b.isbn, c.name FROM book_categories bc \
    JOIN book b ON b.id = bc.book_id JOIN category c ON c.id = bc.category_id ORDER BY bc.id";

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

fn server_url() -> String {
    std::env::var("ROWPORT_TEST_MYSQL")
        .expect("ROWPORT_TEST_MYSQL is set when this suite is compiled to run")
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
    format!("{scheme}://{authority}/{database}{query}")
}

/// A database of its own for one test (dropped at the end even when the test fails), and
/// a sandbox folder for its files.
struct ServerDb {
    name: String,
    /// The URL as the test was given it (`mariadb://` stays `mariadb://`).
    url: String,
    admin: mysql::Pool,
    sandbox: Sandbox,
}

impl ServerDb {
    fn new() -> ServerDb {
        let server = server_url();
        let driver_url = match server.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => server.clone(),
        };
        let admin = mysql::Pool::new(driver_url.as_str()).unwrap_or_else(|e| {
            panic!("the MySQL server of ROWPORT_TEST_MYSQL cannot be reached: {e}")
        });
        let mut conn = admin.get_conn().expect("a connection to the test server");
        let name = unique_name(&mut conn);
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .expect("drop a leftover test database");
        conn.query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .expect("create the test database");
        let url = with_database(&server, &name);
        ServerDb {
            name,
            url,
            admin,
            sandbox: Sandbox::new(),
        }
    }

    /// The library schema and the library's `rowport.toml`.
    fn library() -> ServerDb {
        let db = ServerDb::new();
        db.execute(LIBRARY_SCHEMA);
        db.sandbox.write("rowport.toml", LIBRARY_CONFIG);
        db
    }

    fn execute(&self, sql: &str) {
        let mut conn = self.admin.get_conn().expect("a connection");
        conn.query_drop(format!("USE `{}`", self.name))
            .expect("use the test database");
        conn.query_drop(sql).expect("run the test's SQL");
    }

    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let mut conn = self.admin.get_conn().expect("a connection");
        conn.query_drop(format!("USE `{}`", self.name))
            .expect("use the test database");
        let result: Vec<mysql::Row> = conn.query(sql).expect("run the test's query");
        result
            .into_iter()
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

    /// `rowport --db <this database> ARGS…`, run in the sandbox.
    fn rowport(&self, args: &[&str]) -> Run {
        let mut all = vec!["--db", self.url.as_str()];
        all.extend_from_slice(args);
        self.sandbox.rowport_bare(&all)
    }
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = self.admin.get_conn() {
            let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

/// The library with [`BOOKS_CSV`] imported.
fn library_with_books() -> ServerDb {
    let db = ServerDb::library();
    db.sandbox.write("books.csv", BOOKS_CSV);
    let run = db.rowport(&["import", "book", "books.csv"]);
    run.success();
    assert_eq!(
        run.summary(),
        "4 rows: 4 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    db
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn import_looks_up_authors_and_categories_by_name_and_stores_typed_values() {
    let db = library_with_books();
    assert_eq!(
        db.query(BOOKS_SQL),
        rows(&[
            &[
                "111",
                "The Dispossessed",
                "Ursula K. Le Guin",
                "ursula@example.com",
                "1974-05-01",
                "8.99",
                "1"
            ],
            &[
                "222",
                "Invisible Cities, a novel",
                "Italo Calvino",
                "NULL",
                "NULL",
                "NULL",
                "0"
            ],
            &[
                "333",
                "The \"mirror\" edition",
                "NULL",
                "o@example.com",
                "1979-06-01",
                "12.00",
                "1"
            ],
            &[
                "444",
                "Café über alles\nsecond line",
                "Octavia E. Butler",
                "cafe@example.com",
                "2001-01-01",
                "0.50",
                "0"
            ],
        ])
    );
    assert_eq!(
        db.query(LINKS_SQL),
        rows(&[
            &["111", "Fiction"],
            &["111", "Science"],
            &["222", "Poetry"],
            &["444", "History"],
            &["444", "Fiction"],
            &["444", "Poetry"],
        ])
    );
    // The same file again: nothing changed, nothing written.
    let again = db.rowport(&["import", "book", "books.csv"]);
    again.success();
    assert_eq!(
        again.totals(),
        "0 new, 0 updated, 4 skipped, 0 deleted, 0 invalid, 0 errors"
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_dry_run_reports_what_the_real_run_does_and_commits_nothing() {
    let db = library_with_books();
    let before = (db.query(BOOKS_SQL), db.query(LINKS_SQL));
    db.sandbox.write(
        "next.csv",
        "isbn,name,author,price,categories\n\
         111,The Dispossessed,Ursula K. Le Guin,9.99,Fiction|Science\n\
         222,\"Invisible Cities, a novel\",Italo Calvino,,Poetry\n\
         555,Parable of the Sower,Octavia E. Butler,14.50,Fiction\n",
    );
    let dry = db.rowport(&["import", "book", "next.csv", "--dry-run"]);
    dry.success()
        .stderr_has_line("dry run: nothing was committed");
    assert_eq!((db.query(BOOKS_SQL), db.query(LINKS_SQL)), before);
    let real = db.rowport(&["import", "book", "next.csv"]);
    real.success().stderr_lacks("dry run");
    assert_eq!(dry.summary(), real.summary());
    assert_eq!(
        real.summary(),
        "3 rows: 1 new, 1 updated, 1 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(
        db.query("SELECT isbn, price FROM book WHERE isbn IN ('111', '555') ORDER BY isbn"),
        rows(&[&["111", "9.99"], &["555", "14.50"]])
    );
    // The new book's key came from AUTO_INCREMENT after the dry run's rolled-back rows.
    assert_eq!(
        db.query(
            "SELECT c.name FROM book_categories bc JOIN book b ON b.id = bc.book_id \
             JOIN category c ON c.id = bc.category_id WHERE b.isbn = '555'"
        ),
        rows(&[&["Fiction"]])
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn export_writes_the_books_with_author_names_and_categories_in_link_order() {
    let db = library_with_books();
    let run = db.rowport(&["export", "csv", "book"]);
    run.success()
        .stderr_contains("exported 4 rows to standard output");
    assert_eq!(
        run.stdout,
        "isbn,name,author,author_email,published,price,in_stock,categories\n\
         111,The Dispossessed,Ursula K. Le Guin,ursula@example.com,1974-05-01,8.99,1,Fiction|Science\n\
         222,\"Invisible Cities, a novel\",Italo Calvino,,,,0,Poetry\n\
         333,\"The \"\"mirror\"\" edition\",,o@example.com,1979-06-01,12.00,1,\n\
         444,\"Café über alles\nsecond line\",Octavia E. Butler,cafe@example.com,2001-01-01,0.50,0,History|Fiction|Poetry\n"
    );
    assert_eq!(run.stdout, BOOKS_CSV);
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_json_export_imports_into_another_database_unchanged() {
    let db = library_with_books();
    db.rowport(&["export", "json", "book", "-o", "books.json"])
        .success()
        .stderr_contains("exported 4 rows to books.json");
    let copy = ServerDb::library();
    let file = db.sandbox.path("books.json");
    let file = file.to_str().expect("a UTF-8 path");
    let run = copy.rowport(&["import", "book", file]);
    run.success();
    assert_eq!(
        run.totals(),
        "4 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(copy.query(BOOKS_SQL), db.query(BOOKS_SQL));
    assert_eq!(copy.query(LINKS_SQL), db.query(LINKS_SQL));
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn inspect_lists_the_tables_and_a_resource_fields() {
    let db = ServerDb::library();
    let run = db.rowport(&["inspect"]);
    run.success();
    assert_eq!(
        run.stdout,
        "resource         table            import id  import fields  export fields\n\
         author           author           id         3              3\n\
         book             book             isbn       8              8\n\
         book_categories  book_categories  id         3              3\n\
         category         category         id         2              2\n"
    );
    let run = db.rowport(&["inspect", "book"]);
    run.success();
    assert_eq!(
        run.stdout,
        "resource book (table book)\n\
         import id: isbn\n\
         options: skip_unchanged=true report_skipped=true skip_diff=false use_transactions=true batch_size=1000\n\
         \n\
         field         column        attribute     widget        notes\n\
         isbn          isbn          isbn          char          import id\n\
         name          name          name          char\n\
         author        author        author_id     foreign_key   author.name\n\
         author_email  author_email  author_email  char\n\
         published     published     published     date\n\
         price         price         price         decimal\n\
         in_stock      in_stock      in_stock      boolean\n\
         categories    categories    -             many_to_many  category.name via book_categories, separator \"|\"\n"
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_row_the_database_refuses_is_reported_and_the_import_rolls_back() {
    let db = ServerDb::new();
    db.execute(
        "CREATE TABLE tag (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(20) NOT NULL UNIQUE);
         INSERT INTO tag (name) VALUES ('kept');",
    );
    // Row 3 repeats row 2's unique name; row 4's name is too long for the column.
    db.sandbox.write(
        "tags.csv",
        "name\nfresh\nfresh\nmuch too long for twenty\nother\n",
    );
    let run = db.rowport(&["import", "tag", "tags.csv"]);
    run.expect_code(1)
        .stderr_has_line("error: tags.csv, row 3: another row already has this tag.name (UNIQUE)")
        .stderr_has_line(
            "error: tags.csv, row 4: the value is too long for tag.name (varchar(20))",
        );
    assert_eq!(
        run.totals(),
        "2 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 2 errors"
    );
    assert_eq!(db.query("SELECT name FROM tag"), rows(&[&["kept"]]));

    let run = db.rowport(&["import", "tag", "tags.csv", "--skip-invalid"]);
    run.success();
    assert_eq!(
        db.query("SELECT name FROM tag ORDER BY id"),
        rows(&[&["kept"], &["fresh"], &["other"]])
    );
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn a_misspelt_table_suggests_the_closest_name() {
    let db = ServerDb::library();
    db.sandbox.write("books.csv", BOOKS_CSV);
    let run = db.rowport(&["import", "bok", "books.csv"]);
    run.expect_code(2)
        .stderr_has_line("error: no resource or table named \"bok\"; did you mean \"book\"?");
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "set ROWPORT_TEST_MYSQL=mysql://… to run"
)]
fn an_unreachable_server_and_a_missing_database_exit_3_without_the_password() {
    let sandbox = Sandbox::new();
    sandbox.write("books.csv", BOOKS_CSV);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("mysql://root:s3cret@127.0.0.1:{port}/library");
    let run = sandbox.rowport_bare(&["--db", &url, "import", "book", "books.csv"]);
    run.expect_code(3).stderr_has_line(&format!(
        "error: cannot connect to database \"library\" on the MySQL server at 127.0.0.1:{port}: connection refused"
    ));
    run.stderr_lacks("s3cret");

    let missing = with_database(&server_url(), "rowport_no_such_database");
    let run = sandbox.rowport_bare(&["--db", &missing, "inspect"]);
    run.expect_code(3).stderr_contains(
        "error: there is no database \"rowport_no_such_database\" on the MySQL server at ",
    );
}
