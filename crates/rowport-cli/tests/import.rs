//! `rowport import`: files in every line ending and encoding, invalid rows, lookups, dry
//! runs, updates and all-or-nothing commits — each checked in the database itself. Tests in
//! `backend_tests!` run on SQLite, PostgreSQL and MySQL/MariaDB alike.

mod common;

use common::{rows, Backend, Sandbox, LIBRARY_CONFIG, LIBRARY_SCHEMA, SIMPLE_BOOK_SCHEMA};
use rowport_testkit::backend_tests;

// ---------------------------------------------------------------------------------------
// Line endings and encodings
// ---------------------------------------------------------------------------------------

/// The same two books, lines joined by `eol`. The ids are not 1 and 2 so that a header
/// that fails to match (a BOM glued to `id`) cannot pass unnoticed: the rows would then
/// get the table's own ids.
fn two_books(eol: &str) -> String {
    [
        "id,name,author_email",
        "7,Merci à toi,anna@example.com",
        "9,Second book,ben@example.com",
    ]
    .join(eol)
        + eol
}

const TWO_BOOKS_SQL: &str = "SELECT id, name, author_email FROM book ORDER BY id";

fn expected_two_books() -> Vec<Vec<String>> {
    rows(&[
        &["7", "Merci à toi", "anna@example.com"],
        &["9", "Second book", "ben@example.com"],
    ])
}

/// Imports `bytes` as `file` into an empty book table and checks both rows arrived intact
/// (no stray `\r`, no BOM, accents decoded).
#[track_caller]
fn assert_imports_two_books(file: &str, bytes: &[u8], extra_args: &[&str]) {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write(file, bytes);
    let mut args = vec!["import", "book", file];
    args.extend_from_slice(extra_args);
    let run = sandbox.rowport(&args);
    run.success();
    assert_eq!(
        run.summary(),
        "2 rows: 2 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(sandbox.query(TWO_BOOKS_SQL), expected_two_books(), "{file}");
}

#[test]
fn imports_lf_line_endings() {
    assert_imports_two_books("books-lf.csv", two_books("\n").as_bytes(), &[]);
}

#[test]
fn imports_crlf_line_endings() {
    assert_imports_two_books("books-dos.csv", two_books("\r\n").as_bytes(), &[]);
}

#[test]
fn imports_cr_only_line_endings() {
    assert_imports_two_books("books-mac.csv", two_books("\r").as_bytes(), &[]);
}

#[test]
fn imports_a_file_without_a_final_newline() {
    let text = two_books("\n");
    assert_imports_two_books("books.csv", text.trim_end().as_bytes(), &[]);
}

#[test]
fn imports_utf8_with_bom_and_matches_the_first_header() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(two_books("\r\n").as_bytes());
    assert_imports_two_books("books-bom.csv", &bytes, &[]);
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

#[test]
fn imports_latin1_with_encoding_option() {
    let bytes = latin1(&two_books("\n"));
    assert!(bytes.contains(&0xE0), "the fixture holds à as the byte E0");
    assert_imports_two_books("books-latin1.csv", &bytes, &["--encoding", "latin1"]);
}

#[test]
fn imports_utf16le_with_bom_with_encoding_option() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in two_books("\r\n").encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    assert_imports_two_books("books-utf16.csv", &bytes, &["--encoding", "utf-16le"]);
}

#[test]
fn latin1_without_encoding_option_is_detected() {
    assert_imports_two_books("books-latin1.csv", &latin1(&two_books("\n")), &[]);
}

#[test]
fn latin1_read_as_utf8_fails_naming_file_and_row() {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write("books-latin1.csv", latin1(&two_books("\n")));
    let run = sandbox.rowport(&["import", "book", "books-latin1.csv", "--encoding", "utf-8"]);
    run.expect_code(1);
    let error = run.stderr_line("error: ");
    assert!(
        error.contains("books-latin1.csv") && error.contains("row 2"),
        "the error names the file and the row: {error}"
    );
    assert!(
        run.stderr_line("hint: ").contains("--encoding"),
        "{}",
        run.stderr
    );
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

// ---------------------------------------------------------------------------------------
// Empty files
// ---------------------------------------------------------------------------------------

backend_tests! {
    fn header_only_file_imports_nothing_and_changes_nothing(backend)     {
        let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
        sandbox.execute("INSERT INTO book (id, name) VALUES (1, 'Already here');");
        let before = sandbox.dump("book");
        sandbox.write("header-only.csv", "id,name,author_email\n");
        let run = sandbox.rowport(&["import", "book", "header-only.csv"]);
        run.success();
        assert_eq!(
            run.summary(),
            "0 rows: 0 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(sandbox.dump("book"), before);
    }
}

// ---------------------------------------------------------------------------------------
// Invalid rows
// ---------------------------------------------------------------------------------------

/// Row 2 (the first under the header) has a date that is not one.
const INVALID_DATE_CSV: &str = "id,name,published\n\
    1,First book,1996x-01-01\n\
    2,Second book,1996-01-01\n\
    3,Third book,2001-02-03\n";

const INVALID_DATE_ERROR: &str = "books-bad-date.csv, row 2, column \"published\": \"1996x-01-01\" is not a date (expected YYYY-MM-DD)";

fn invalid_date_sandbox(backend: Backend) -> Sandbox {
    let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
    sandbox.write("books-bad-date.csv", INVALID_DATE_CSV);
    sandbox
}

backend_tests! {
    fn invalid_date_fails_the_import_and_commits_nothing(backend)     {
        let sandbox = invalid_date_sandbox(backend);
        let run = sandbox.rowport(&["import", "book", "books-bad-date.csv"]);
        run.expect_code(1)
            .stderr_has_line(&format!("error: {INVALID_DATE_ERROR}"))
            .stderr_contains("nothing was committed");
        assert_eq!(
            run.summary(),
            "3 rows: 2 new, 0 updated, 0 skipped, 0 deleted, 1 invalid, 0 errors"
        );
        assert!(sandbox.query("SELECT * FROM book").is_empty());
    }
}

#[test]
fn invalid_date_stderr_snapshot() {
    let sandbox = invalid_date_sandbox(Backend::Sqlite);
    let run = sandbox.rowport(&["import", "book", "books-bad-date.csv"]);
    run.expect_code(1);
    common::untimed().bind(|| insta::assert_snapshot!("invalid_date_stderr", run.stderr));
}

backend_tests! {
    fn skip_invalid_commits_the_valid_rows_and_warns(backend)     {
        let sandbox = invalid_date_sandbox(backend);
        let run = sandbox.rowport(&["import", "book", "books-bad-date.csv", "--skip-invalid"]);
        run.success()
            .stderr_has_line(&format!("warning: {INVALID_DATE_ERROR}"))
            .stderr_lacks("error:");
        assert_eq!(
            sandbox.query("SELECT id, name, published FROM book ORDER BY id"),
            rows(&[
                &["2", "Second book", "1996-01-01"],
                &["3", "Third book", "2001-02-03"],
            ])
        );
    }
}

backend_tests! {
    fn json_report_lists_totals_and_row_errors(backend)     {
        let sandbox = invalid_date_sandbox(backend);
        let run = sandbox.rowport(&["import", "book", "books-bad-date.csv", "--json"]);
        run.expect_code(1);
        let report = run.json();
        assert_eq!(report["file"], "books-bad-date.csv");
        assert_eq!(report["resource"], "book");
        assert_eq!(report["format"], "csv");
        assert_eq!(
            report["encoding"],
            serde_json::json!({"name": "UTF-8", "source": "detected"})
        );
        assert_eq!(report["delimiter"], ",");
        assert_eq!(report["quote"], "\"");
        assert_eq!(
            report["totals"],
            serde_json::json!({"new": 2, "update": 0, "skip": 0, "delete": 0, "invalid": 1, "error": 0})
        );
        assert_eq!(report["committed"], false);
        assert_eq!(report["dry_run"], false);
        let errors = report["errors"].as_array().expect("an errors array");
        assert_eq!(errors.len(), 1, "{report:#}");
        assert_eq!(errors[0]["row"], 2);
        assert_eq!(errors[0]["column"], "published");
        assert_eq!(errors[0]["value"], "1996x-01-01");
        assert_eq!(errors[0]["message"], "is not a date (expected YYYY-MM-DD)");
        assert!(sandbox.query("SELECT * FROM book").is_empty());
    }
}

backend_tests! {
    fn raise_errors_stops_and_commits_nothing(backend)     {
        let sandbox = invalid_date_sandbox(backend);
        let run = sandbox.rowport(&["import", "book", "books-bad-date.csv", "--raise-errors"]);
        run.expect_code(1)
            .stderr_has_line(&format!("error: {INVALID_DATE_ERROR}"))
            .stderr_contains("hint: ");
        assert!(sandbox.query("SELECT * FROM book").is_empty());
    }
}

backend_tests! {
    fn many_invalid_rows_are_all_reported_in_json_and_counted_on_stderr(backend)     {
        let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
        let mut csv = String::from("id,name,price\n");
        for i in 1..=30 {
            csv.push_str(&format!("{i},Book {i},not-a-price-{i}\n"));
        }
        sandbox.write("prices.csv", csv);
        let run = sandbox.rowport(&["import", "book", "prices.csv", "--json"]);
        run.expect_code(1);
        assert_eq!(run.json()["errors"].as_array().map(Vec::len), Some(30));
        let shown = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count();
        assert!(shown < 30, "a long list of errors is cut on the terminal");
        run.stderr_contains("… and 10 more row errors");
        assert!(sandbox.query("SELECT * FROM book").is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Declared fields: column names, foreign keys, many-to-many
// ---------------------------------------------------------------------------------------

backend_tests! {
    fn custom_column_header_from_config(backend)     {
        let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
        sandbox.write(
            "rowport.toml",
            "[resources.book.field.author_email]\ncolumn_name = \"Email of the author\"\n",
        );
        sandbox.write(
            "ebooks.csv",
            "id,name,Email of the author\n1,Some book,test@example.com\n2,Other book,other@example.com\n",
        );
        sandbox.rowport(&["import", "book", "ebooks.csv"]).success();
        assert_eq!(
            sandbox.query("SELECT id, name, author_email FROM book ORDER BY id"),
            rows(&[
                &["1", "Some book", "test@example.com"],
                &["2", "Other book", "other@example.com"],
            ])
        );
        // The export speaks the same header.
        let export = sandbox.rowport(&["export", "csv", "book", "--fields", "id,author_email"]);
        export.success();
        assert_eq!(
            export.stdout,
            "id,Email of the author\n1,test@example.com\n2,other@example.com\n"
        );
    }
}

fn library(backend: Backend) -> Sandbox {
    let sandbox = Sandbox::with_schema_on(backend, LIBRARY_SCHEMA);
    sandbox.write("rowport.toml", LIBRARY_CONFIG);
    sandbox
}

backend_tests! {
    fn foreign_key_looked_up_by_name(backend)     {
        let sandbox = library(backend);
        sandbox.write(
            "books.csv",
            "isbn,name,author\n\
             111,The Dispossessed,Ursula K. Le Guin\n\
             222,Invisible Cities,Italo Calvino\n\
             333,Kindred,Octavia E. Butler\n\
             444,Anonymous book,\n",
        );
        sandbox.rowport(&["import", "book", "books.csv"]).success();
        assert_eq!(
            sandbox.query("SELECT isbn, author_id FROM book ORDER BY isbn"),
            rows(&[
                &["111", "1"],
                &["222", "2"],
                &["333", "3"],
                &["444", "NULL"],
            ])
        );
    }
}

backend_tests! {
    fn unknown_foreign_key_name_is_an_invalid_row(backend)     {
        let sandbox = library(backend);
        sandbox.write(
            "books.csv",
            "isbn,name,author\n111,The Dispossessed,Ursula K. Le Guin\n222,Ghost book,Nobody Atall\n",
        );
        let run = sandbox.rowport(&["import", "book", "books.csv"]);
        run.expect_code(1)
            .stderr_contains("error: books.csv, row 3, column \"author\": \"Nobody Atall\"");
        assert!(sandbox.query("SELECT * FROM book").is_empty());
    }
}

const LINKS_SQL: &str = "SELECT b.isbn, c.name FROM book_categories bc \
    JOIN book b ON b.id = bc.book_id JOIN category c ON c.id = bc.category_id ORDER BY 1, 2";

fn library_with_links(backend: Backend) -> Sandbox {
    let sandbox = library(backend);
    sandbox.write(
        "books.csv",
        "isbn,name,categories\n\
         111,The Dispossessed,Fiction|Science\n\
         222,Invisible Cities,Fiction|Poetry\n\
         333,Kindred,\n",
    );
    sandbox.rowport(&["import", "book", "books.csv"]).success();
    sandbox
}

backend_tests! {
    fn many_to_many_links_from_separated_names(backend)     {
        let sandbox = library_with_links(backend);
        assert_eq!(
            sandbox.query(LINKS_SQL),
            rows(&[
                &["111", "Fiction"],
                &["111", "Science"],
                &["222", "Fiction"],
                &["222", "Poetry"],
            ])
        );
    }
}

backend_tests! {
    fn many_to_many_reimport_replaces_the_links(backend)     {
        let sandbox = library_with_links(backend);
        sandbox.write(
            "changed.csv",
            "isbn,name,categories\n111,The Dispossessed,History|Science\n333,Kindred,Fiction\n",
        );
        let run = sandbox.rowport(&["import", "book", "changed.csv"]);
        run.success();
        assert_eq!(
            run.summary(),
            "2 rows: 0 new, 2 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(
            sandbox.query(LINKS_SQL),
            rows(&[
                &["111", "History"],
                &["111", "Science"],
                &["222", "Fiction"],
                &["222", "Poetry"],
                &["333", "Fiction"],
            ])
        );
        // The same list again changes nothing, whatever its order: links are a set.
        sandbox.write(
            "same.csv",
            "isbn,name,categories\n111,The Dispossessed,Science|History\n",
        );
        let run = sandbox.rowport(&["import", "book", "same.csv"]);
        run.success();
        assert_eq!(
            run.totals(),
            "0 new, 0 updated, 1 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(sandbox.scalar("SELECT count(*) FROM book_categories"), "5");
    }
}

backend_tests! {
    fn many_to_many_unknown_name_is_an_invalid_row(backend)     {
        let sandbox = library_with_links(backend);
        let links = sandbox.dump("book_categories");
        sandbox.write(
            "unknown.csv",
            "isbn,name,categories\n222,Invisible Cities,Poetry|Nope\n",
        );
        let run = sandbox.rowport(&["import", "book", "unknown.csv"]);
        run.expect_code(1);
        let error = run.stderr_line("error: ");
        assert!(
            error.starts_with("error: unknown.csv, row 2, column \"categories\"")
                && error.contains("Nope"),
            "{error}"
        );
        assert_eq!(sandbox.dump("book_categories"), links);
    }
}

backend_tests! {
    fn many_to_many_names_are_trimmed_and_repeats_linked_once(backend)     {
        let sandbox = library(backend);
        sandbox.write(
            "spaced.csv",
            "isbn,name,categories\n111,The Dispossessed,Fiction | Science\n222,Invisible Cities,Poetry|Poetry\n",
        );
        sandbox.rowport(&["import", "book", "spaced.csv"]).success();
        assert_eq!(
            sandbox.query(LINKS_SQL),
            rows(&[&["111", "Fiction"], &["111", "Science"], &["222", "Poetry"]])
        );
    }
}

// ---------------------------------------------------------------------------------------
// Dry runs, updates, skip_unchanged
// ---------------------------------------------------------------------------------------

/// One book whose price changes, one unchanged, one new.
const NEXT_BOOKS: &str = "isbn,name,author,price,categories\n\
    111,The Dispossessed,Ursula K. Le Guin,9.99,Fiction|Science\n\
    222,Invisible Cities,Italo Calvino,12.00,Fiction|Poetry\n\
    555,Parable of the Sower,Octavia E. Butler,14.50,Fiction\n";

fn library_with_books(backend: Backend) -> Sandbox {
    let sandbox = library(backend);
    sandbox.write(
        "books.csv",
        "isbn,name,author,price,categories\n\
         111,The Dispossessed,Ursula K. Le Guin,8.99,Fiction|Science\n\
         222,Invisible Cities,Italo Calvino,12.00,Fiction|Poetry\n\
         333,Kindred,Octavia E. Butler,10.00,\n",
    );
    sandbox.rowport(&["import", "book", "books.csv"]).success();
    sandbox.write("next.csv", NEXT_BOOKS);
    sandbox
}

backend_tests! {
    fn dry_run_reports_what_the_real_run_does_and_commits_nothing(backend)     {
        let sandbox = library_with_books(backend);
        let books = sandbox.dump("book");
        let links = sandbox.dump("book_categories");

        let dry = sandbox.rowport(&["import", "book", "next.csv", "--dry-run", "--json"]);
        dry.success()
            .stderr_has_line("dry run: nothing was committed");
        let dry_report = dry.json();
        assert_eq!(dry_report["dry_run"], true);
        assert_eq!(dry_report["committed"], false);
        assert_eq!(sandbox.dump("book"), books);
        assert_eq!(sandbox.dump("book_categories"), links);

        let real = sandbox.rowport(&["import", "book", "next.csv", "--json"]);
        real.success().stderr_lacks("dry run");
        let real_report = real.json();
        assert_eq!(real_report["committed"], true);
        assert_eq!(dry_report["totals"], real_report["totals"]);
        assert_eq!(dry.summary(), real.summary());
        assert_eq!(
            real.summary(),
            "3 rows: 1 new, 1 updated, 1 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_ne!(sandbox.dump("book"), books);
    }
}

backend_tests! {
    fn short_dry_run_flag_works_too(backend)     {
        let sandbox = library_with_books(backend);
        let books = sandbox.dump("book");
        sandbox
            .rowport(&["import", "-n", "book", "next.csv"])
            .success()
            .stderr_has_line("dry run: nothing was committed");
        assert_eq!(sandbox.dump("book"), books);
    }
}

backend_tests! {
    fn skip_unchanged_updates_only_the_changed_row(backend)     {
        let sandbox = library_with_books(backend);
        sandbox.write(
            "one-change.csv",
            "isbn,name,author,price,categories\n\
             111,The Dispossessed,Ursula K. Le Guin,9.99,Fiction|Science\n\
             222,Invisible Cities,Italo Calvino,12.00,Fiction|Poetry\n\
             333,Kindred,Octavia E. Butler,10.00,\n",
        );
        let run = sandbox.rowport(&["import", "book", "one-change.csv"]);
        run.success();
        assert_eq!(
            run.summary(),
            "3 rows: 0 new, 1 updated, 2 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(
            sandbox.query("SELECT isbn, price FROM book ORDER BY isbn"),
            rows(&[&["111", "9.99"], &["222", "12"], &["333", "10"]])
        );
    }
}

backend_tests! {
    fn without_skip_unchanged_every_existing_row_is_updated(backend)     {
        let sandbox = library_with_books(backend);
        sandbox.write(
            "rowport.toml",
            LIBRARY_CONFIG.replace("skip_unchanged = true", "skip_unchanged = false"),
        );
        let run = sandbox.rowport(&["import", "book", "next.csv"]);
        run.success();
        assert_eq!(
            run.summary(),
            "3 rows: 1 new, 2 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(sandbox.scalar("SELECT count(*) FROM book"), "4");
    }
}

backend_tests! {
    /// One row is `1 row`, not `1 rows`.
    fn one_row_summary_is_singular(backend)     {
        let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
        sandbox.write("one.csv", "id,name\n1,Only book\n");
        let run = sandbox.rowport(&["import", "book", "one.csv"]);
        run.success();
        assert_eq!(
            run.summary(),
            "1 row: 1 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
        );
    }
}

// ---------------------------------------------------------------------------------------
// All or nothing
// ---------------------------------------------------------------------------------------

const ITEM_SCHEMA: &str = "CREATE TABLE item (id {pk}, name {text} NOT NULL, qty INTEGER NOT NULL);\n\
    INSERT INTO item VALUES (1, 'old one', 1), (2, 'old two', 2), (250, 'old 250', 250), (5000, 'beyond the file', 7);";

/// 1,000 rows with ids 1…1000; the 500th (file row 501) has a quantity that is not a
/// number. Earlier rows update the table's own rows 1, 2 and 250.
fn thousand_items() -> String {
    let mut csv = String::from("id,name,qty\n");
    for i in 1..=1000 {
        let qty = if i == 500 {
            "12x".to_owned()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("{i},item {i},{qty}\n"));
    }
    csv
}

fn atomicity_sandbox(backend: Backend) -> Sandbox {
    let sandbox = Sandbox::with_schema_on(backend, ITEM_SCHEMA);
    // Batches of 100: four batches are written before row 501 is even read.
    sandbox.write("rowport.toml", "[resources.item]\nbatch_size = 100\n");
    sandbox.write("items.csv", thousand_items());
    sandbox
}

backend_tests! {
    fn an_invalid_row_late_in_a_big_file_leaves_the_table_exactly_as_before(backend)     {
        let sandbox = atomicity_sandbox(backend);
        let before = sandbox.dump("item");
        let run = sandbox.rowport(&["import", "item", "items.csv"]);
        run.expect_code(1)
            .stderr_contains("error: items.csv, row 501, column \"qty\": \"12x\"")
            .stderr_contains("nothing was committed");
        assert_eq!(
            run.summary(),
            "1,000 rows: 996 new, 3 updated, 0 skipped, 0 deleted, 1 invalid, 0 errors"
        );
        assert_eq!(sandbox.dump("item"), before);
    }
}

backend_tests! {
    fn raise_errors_in_a_big_file_also_leaves_the_table_as_before(backend)     {
        let sandbox = atomicity_sandbox(backend);
        let before = sandbox.dump("item");
        sandbox
            .rowport(&["import", "item", "items.csv", "--raise-errors"])
            .expect_code(1)
            .stderr_contains("row 501");
        assert_eq!(sandbox.dump("item"), before);
    }
}

backend_tests! {
    fn skip_invalid_in_a_big_file_commits_every_other_row(backend)     {
        let sandbox = atomicity_sandbox(backend);
        sandbox
            .rowport(&["import", "item", "items.csv", "--skip-invalid"])
            .success();
        assert_eq!(sandbox.scalar("SELECT count(*) FROM item"), "1000");
        assert_eq!(
            sandbox.query(
                "SELECT id, name, qty FROM item WHERE id IN (1, 499, 500, 501, 5000) ORDER BY id"
            ),
            rows(&[
                &["1", "item 1", "1"],
                &["499", "item 499", "499"],
                &["501", "item 501", "501"],
                &["5000", "beyond the file", "7"],
            ])
        );
    }
}

backend_tests! {
    fn a_database_constraint_failure_rolls_back_the_whole_import(backend)     {
        let sandbox = Sandbox::with_schema_on(backend,
            "CREATE TABLE tag (id {pk}, name {text} NOT NULL UNIQUE);\n\
             INSERT INTO tag (name) VALUES ('kept');",
        );
        let before = sandbox.dump("tag");
        // Row 3 repeats row 2's unique name: the database refuses it.
        sandbox.write("tags.csv", "name\nfresh\nfresh\nother\n");
        let run = sandbox.rowport(&["import", "tag", "tags.csv"]);
        run.expect_code(1).stderr_contains("tags.csv, row 3");
        assert_eq!(sandbox.dump("tag"), before);
    }
}

// ---------------------------------------------------------------------------------------
// Other formats and sources
// ---------------------------------------------------------------------------------------

backend_tests! {
    fn imports_tsv(backend)     {
        let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
        sandbox.write(
            "books.tsv",
            "id\tname\tauthor_email\tprice\n\
             1\tTabs, with a comma\ttab@example.com\t3.50\n\
             2\tA \"quoted\" word\tq@example.com\t\n",
        );
        sandbox.rowport(&["import", "book", "books.tsv"]).success();
        assert_eq!(
            sandbox.query("SELECT id, name, author_email, price FROM book ORDER BY id"),
            rows(&[
                &["1", "Tabs, with a comma", "tab@example.com", "3.5"],
                &["2", "A \"quoted\" word", "q@example.com", "NULL"],
            ])
        );
    }
}

backend_tests! {
    fn imports_a_json_array_of_objects(backend)     {
        let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
        sandbox.write(
            "books.json",
            r#"[
      {"id": 1, "name": "Json book", "author_email": "j@example.com", "published": "2001-02-03", "price": 12.5},
      {"id": 2, "name": "Nulls", "author_email": null, "published": null, "price": null},
      {"id": 3, "name": "Text price", "price": "7.25"}
    ]"#,
        );
        let run = sandbox.rowport(&["import", "book", "books.json"]);
        run.success();
        assert_eq!(
            run.summary(),
            "3 rows: 3 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(
            sandbox.query("SELECT id, name, author_email, published, price FROM book ORDER BY id"),
            rows(&[
                &["1", "Json book", "j@example.com", "2001-02-03", "12.5"],
                &["2", "Nulls", "NULL", "NULL", "NULL"],
                &["3", "Text price", "NULL", "NULL", "7.25"],
            ])
        );
    }
}

backend_tests! {
    fn imports_standard_input_with_a_format(backend)     {
        let sandbox = Sandbox::with_schema_on(backend, SIMPLE_BOOK_SCHEMA);
        let run = sandbox.rowport_stdin(
            &["import", "book", "-", "--format", "csv"],
            two_books("\n").as_bytes(),
        );
        run.success();
        assert_eq!(sandbox.query(TWO_BOOKS_SQL), expected_two_books());
    }
}

#[test]
fn format_option_overrides_the_extension() {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write("books.txt", "id\tname\n1\tTabbed\n");
    sandbox
        .rowport(&["import", "book", "books.txt", "-f", "tsv"])
        .success();
    assert_eq!(
        sandbox.query("SELECT id, name FROM book"),
        rows(&[&["1", "Tabbed"]])
    );
}

// ---------------------------------------------------------------------------------------
// Where the database comes from
// ---------------------------------------------------------------------------------------

#[test]
fn the_config_names_the_database_relative_to_itself() {
    let sandbox = Sandbox::new();
    sandbox.execute_on("conf/library.db", SIMPLE_BOOK_SCHEMA);
    sandbox.write("conf/rowport.toml", "database = \"sqlite://library.db\"\n");
    sandbox.write("books.csv", two_books("\n"));
    sandbox
        .rowport_bare(&[
            "--config",
            "conf/rowport.toml",
            "import",
            "book",
            "books.csv",
        ])
        .success();
    assert_eq!(
        sandbox.query_on("conf/library.db", TWO_BOOKS_SQL),
        expected_two_books()
    );
}

#[test]
fn rowport_toml_in_the_current_folder_is_used_by_default() {
    let sandbox = Sandbox::new();
    sandbox.execute_on("library.db", SIMPLE_BOOK_SCHEMA);
    sandbox.write("rowport.toml", "database = \"sqlite://library.db\"\n");
    sandbox.write("books.csv", two_books("\n"));
    sandbox
        .rowport_bare(&["import", "book", "books.csv"])
        .success();
    assert_eq!(
        sandbox.query_on("library.db", TWO_BOOKS_SQL),
        expected_two_books()
    );
}

#[test]
fn db_option_wins_over_the_config() {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.execute_on("other.db", SIMPLE_BOOK_SCHEMA);
    sandbox.write("rowport.toml", "database = \"sqlite://other.db\"\n");
    sandbox.write("books.csv", two_books("\n"));
    sandbox.rowport(&["import", "book", "books.csv"]).success();
    assert_eq!(sandbox.query(TWO_BOOKS_SQL), expected_two_books());
    assert!(sandbox
        .query_on("other.db", "SELECT * FROM book")
        .is_empty());
}
