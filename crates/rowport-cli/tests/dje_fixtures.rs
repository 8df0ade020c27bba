//! django-import-export's own test files, imported in place (they live outside the
//! repository, in /work/shared/fixtures/django-import-export) into tables shaped like its
//! `core` test app's models. When the folder is missing each test says so and passes.

mod common;

use std::path::{Path, PathBuf};

use common::{rows, Run, Sandbox};

/// django-import-export's `core` models (Author, Category, Book with its categories,
/// Parent and Child), as Django creates them on SQLite, with the rows the files refer to.
const CORE_SCHEMA: &str = r#"
CREATE TABLE author (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(100) NOT NULL, birthday DATETIME NULL);
CREATE TABLE category (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(100) NOT NULL UNIQUE);
CREATE TABLE book (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(100) NOT NULL,
    author_id BIGINT NULL REFERENCES author (id),
    author_email VARCHAR(75) NOT NULL DEFAULT '',
    imported BOOL NOT NULL DEFAULT 0,
    published DATE NULL,
    published_time TIME NULL,
    price DECIMAL(10, 2) NULL,
    added DATETIME NULL
);
CREATE TABLE book_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    book_id BIGINT NOT NULL REFERENCES book (id),
    category_id BIGINT NOT NULL REFERENCES category (id)
);
CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(100) NOT NULL);
CREATE TABLE child (id INTEGER PRIMARY KEY AUTOINCREMENT, parent_id BIGINT NOT NULL REFERENCES parent (id), name VARCHAR(100) NOT NULL);
INSERT INTO author (id, name, birthday) VALUES (5, 'Ian Fleming', '1908-05-28'), (11, 'George R. R. Martin', '1948-09-20');
INSERT INTO category (id, name) VALUES (1, 'Category 1'), (2, 'Category 2');
"#;

/// The book resource as the fixtures expect it: categories by id, comma-separated
/// (django-import-export's ManyToManyWidget defaults), and `imported` false when empty.
const CORE_CONFIG: &str = r#"
[resources.book.field.categories]
widget = "many_to_many"
table = "category"
through = "book_categories"

[resources.book.field.imported]
default = false
"#;

/// The fixture folder and a sandbox with the core schema, or `None` (after saying so) when
/// the fixtures are not on this machine.
fn setup() -> Option<(PathBuf, Sandbox)> {
    let fixtures = common::dje_fixtures()?;
    let sandbox = Sandbox::with_schema(CORE_SCHEMA);
    sandbox.write("rowport.toml", CORE_CONFIG);
    Some((fixtures, sandbox))
}

/// `rowport import RESOURCE FILE EXTRA…` run inside the fixture folder (so messages name
/// the file as django-import-export's tests do), against the sandbox's database and config.
fn import(fixtures: &Path, sandbox: &Sandbox, resource: &str, file: &str, extra: &[&str]) -> Run {
    let url = sandbox.url();
    let config = sandbox.path("rowport.toml");
    let config = config.to_str().expect("a UTF-8 temporary path");
    let mut args = vec!["--db", &url, "--config", config, "import", resource, file];
    args.extend_from_slice(extra);
    sandbox.rowport_in(fixtures, &args)
}

const BOOK_SQL: &str = "SELECT id, name, author_email FROM book ORDER BY id";

/// Imports a one-book fixture into an empty book table and checks the book.
#[track_caller]
fn assert_one_book(file: &str, extra: &[&str], name: &str) {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    let run = import(&fixtures, &sandbox, "book", file, extra);
    run.success();
    assert_eq!(
        run.totals(),
        "1 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors",
        "{file}"
    );
    assert_eq!(
        sandbox.query(BOOK_SQL),
        rows(&[&["1", name, "test@example.com"]]),
        "{file}"
    );
}

#[test]
fn books_csv() {
    assert_one_book("books.csv", &[], "Some book");
}

#[test]
fn books_dos_csv_crlf() {
    assert_one_book("books-dos.csv", &[], "Some book");
}

#[test]
fn books_mac_csv_cr_only() {
    assert_one_book("books-mac.csv", &[], "Some book");
}

#[test]
fn books_mac_tsv() {
    assert_one_book("books-mac.tsv", &[], "Some book");
}

#[test]
fn books_unicode_csv() {
    assert_one_book("books-unicode.csv", &[], "Some bookš");
}

#[test]
fn books_unicode_tsv() {
    assert_one_book("books-unicode.tsv", &[], "Some bookš");
}

#[test]
fn books_iso_8859_1_csv_with_encoding() {
    assert_one_book(
        "books-ISO-8859-1.csv",
        &["--encoding", "latin1"],
        "Merci à toi",
    );
}

#[test]
fn books_iso_8859_1_csv_without_encoding_fails_with_a_hint() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    let run = import(&fixtures, &sandbox, "book", "books-ISO-8859-1.csv", &[]);
    run.expect_code(1)
        .stderr_contains("error: books-ISO-8859-1.csv, row 2")
        .stderr_contains("--encoding");
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

#[test]
fn books_invalid_date_csv_fails_on_row_3_and_commits_nothing() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    let run = import(&fixtures, &sandbox, "book", "books-invalid-date.csv", &[]);
    run.expect_code(1).stderr_has_line(
        "error: books-invalid-date.csv, row 3, column \"published\": \"1996x-01-01\" is not a date (expected YYYY-MM-DD)",
    );
    assert!(sandbox.query("SELECT * FROM book").is_empty());

    let skipping = import(
        &fixtures,
        &sandbox,
        "book",
        "books-invalid-date.csv",
        &["--skip-invalid"],
    );
    skipping.success();
    assert_eq!(
        sandbox.query("SELECT id, name, published FROM book"),
        rows(&[&["1", "book", "1996-01-01"]])
    );
}

#[test]
fn books_for_delete_csv_updates_the_book_with_a_blank_name() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    sandbox.execute(
        "INSERT INTO book (id, name, author_email) VALUES (1, 'Some book', 'old@example.com');",
    );
    let run = import(&fixtures, &sandbox, "book", "books-for-delete.csv", &[]);
    run.success();
    assert_eq!(
        run.totals(),
        "0 new, 1 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    // name is NOT NULL: a blank cell stays blank, as in Django's CharField.
    assert_eq!(
        sandbox.query(BOOK_SQL),
        rows(&[&["1", "", "test@example.com"]])
    );
}

#[test]
fn books_json_with_authors_and_categories_by_id() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    let run = import(&fixtures, &sandbox, "book", "books.json", &[]);
    run.success();
    assert_eq!(
        run.summary(),
        "3 rows: 3 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(
        sandbox.query(
            "SELECT id, name, author_id, author_email, imported, published, published_time, price, added \
             FROM book ORDER BY id"
        ),
        rows(&[
            &["5", "Squares", "5", "geo@met.ry", "0", "1999-08-01", "21:00:00", "5", "NULL"],
            &["6", "Circles", "11", "geo@met.ry", "0", "2020-08-01", "21:00:00", "15", "NULL"],
            &["11", "A Game of Thrones", "11", "martin@got.com", "0", "1996-08-01", "21:00:00", "25", "NULL"],
        ])
    );
    assert_eq!(
        sandbox.query("SELECT book_id, category_id FROM book_categories ORDER BY 1, 2"),
        rows(&[&["5", "2"], &["6", "2"], &["11", "1"]])
    );
}

#[test]
fn books_sample_csv_with_empty_cells() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    let run = import(&fixtures, &sandbox, "book", "books-sample.csv", &[]);
    run.success();
    assert_eq!(
        sandbox.query(
            "SELECT id, name, author_id, imported, published, published_time, price, added \
             FROM book ORDER BY id"
        ),
        rows(&[
            &[
                "3",
                "Rhombus",
                "5",
                "0",
                "2019-10-25",
                "NULL",
                "5.5",
                "NULL"
            ],
            &[
                "12",
                "Triangles",
                "5",
                "0",
                "2020-01-12",
                "NULL",
                "12",
                "NULL"
            ],
            &[
                "13",
                "Rectangles",
                "5",
                "0",
                "2020-04-20",
                "NULL",
                "20",
                "NULL"
            ],
        ])
    );
    assert_eq!(
        sandbox.query("SELECT book_id, category_id FROM book_categories ORDER BY 1, 2"),
        rows(&[&["3", "1"], &["12", "1"], &["13", "2"]])
    );
}

#[test]
fn authors_csv() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    import(&fixtures, &sandbox, "author", "authors.csv", &[]).success();
    assert_eq!(
        sandbox.query("SELECT id, name FROM author ORDER BY id"),
        rows(&[
            &["1", "J. R. R. Tolkien"],
            &["5", "Ian Fleming"],
            &["11", "George R. R. Martin"],
        ])
    );
}

#[test]
fn ebooks_csv_with_a_custom_column_header() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    sandbox.write(
        "rowport.toml",
        "[resources.book.field.author_email]\ncolumn_name = \"Email of the author\"\n",
    );
    import(&fixtures, &sandbox, "book", "ebooks.csv", &[]).success();
    assert_eq!(
        sandbox.query(BOOK_SQL),
        rows(&[&["1", "Some book", "test@example.com"]])
    );
}

#[test]
fn child_csv_with_a_missing_parent_is_invalid() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    let run = import(&fixtures, &sandbox, "child", "child.csv", &[]);
    run.expect_code(1)
        .stderr_contains("error: child.csv, row 2, column \"parent\": \"1234\"");
    assert!(sandbox.query("SELECT * FROM child").is_empty());

    sandbox.execute("INSERT INTO parent (id, name) VALUES (1234, 'Parent');");
    import(&fixtures, &sandbox, "child", "child.csv", &[]).success();
    assert_eq!(
        sandbox.query("SELECT id, parent_id, name FROM child"),
        rows(&[&["1", "1234", "Some"]])
    );
}

#[test]
fn books_no_headers_csv_is_refused_naming_its_columns() {
    let Some((fixtures, sandbox)) = setup() else {
        return;
    };
    // django-import-export answers this file with "No valid data to import"; rowport says
    // which columns the file has and which the resource reads.
    import(&fixtures, &sandbox, "book", "books-no-headers.csv", &[])
        .expect_code(1)
        .stderr_contains("books-no-headers.csv: no column matches a field of \"book\" (the file's columns are: abc;");
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}
