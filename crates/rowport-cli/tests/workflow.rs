//! `rowport import` and the resource workflow: `--failed-out` (DJE's collect_failed_rows),
//! `extends` and `delete_when` in rowport.toml, and `clean_model_instances` from the
//! command line. Tests in `backend_tests!` run on SQLite, PostgreSQL and MySQL/MariaDB.

mod common;

use common::{rows, Backend, Sandbox, LIBRARY_CONFIG, LIBRARY_SCHEMA};
use rowport_testkit::backend_tests;

fn library(backend: Backend, extra_config: &str) -> Sandbox {
    let sandbox = Sandbox::with_schema_on(backend, LIBRARY_SCHEMA);
    sandbox.write("rowport.toml", format!("{LIBRARY_CONFIG}{extra_config}"));
    sandbox
}

const BOOKS_SQL: &str = "SELECT isbn, name, price FROM book ORDER BY isbn";

backend_tests! {
    fn failed_out_writes_the_failed_rows_and_the_fixed_file_imports(backend) {
        let sandbox = library(backend, "");
        sandbox.write(
            "books.csv",
            "isbn,name,price,author\n\
             111,The Dispossessed,9.99,Ursula K. Le Guin\n\
             222,Invisible Cities,cheap,Italo Calvino\n\
             333,Kindred,12.75,Nobody Known\n",
        );
        let run = sandbox.rowport(&[
            "import", "book", "books.csv", "--skip-invalid", "--failed-out", "failed.csv",
        ]);
        run.success().stderr_has_line("wrote 2 failed rows to failed.csv");
        assert_eq!(sandbox.query(BOOKS_SQL), rows(&[&["111", "The Dispossessed", "9.99"]]));
        let failed = String::from_utf8(sandbox.read("failed.csv")).unwrap();
        let lines: Vec<&str> = failed.lines().collect();
        assert_eq!(lines[0], "isbn,name,price,author,Error");
        assert!(lines[1].starts_with("222,Invisible Cities,cheap,Italo Calvino,\"column \"\"price\"\": \"\"cheap\"\" "), "{failed}");
        assert!(lines[2].starts_with("333,Kindred,12.75,Nobody Known,\"column \"\"author\"\": \"\"Nobody Known\"\" matches no author row"), "{failed}");
        assert_eq!(lines.len(), 3);

        // Fix both rows in the failed file itself (its Error column stays) and import it.
        let fixed = failed
            .replace(",cheap,", ",7.25,")
            .replace("Nobody Known", "Octavia E. Butler");
        sandbox.write("failed.csv", fixed);
        sandbox
            .rowport(&["import", "book", "failed.csv", "--failed-out", "failed-again.csv"])
            .success()
            .stderr_has_line("wrote 0 failed rows to failed-again.csv");
        assert_eq!(
            sandbox.query(BOOKS_SQL),
            rows(&[
                &["111", "The Dispossessed", "9.99"],
                &["222", "Invisible Cities", "7.25"],
                &["333", "Kindred", "12.75"],
            ])
        );
        assert_eq!(
            String::from_utf8(sandbox.read("failed-again.csv")).unwrap(),
            "isbn,name,price,author,Error\n"
        );
    }
}

#[test]
fn failed_out_takes_the_format_of_its_extension() {
    let sandbox = library(Backend::Sqlite, "");
    sandbox.write(
        "books.csv",
        "isbn,name,price\n111,The Dispossessed,9.99\n222,Invisible Cities,cheap\n",
    );
    sandbox
        .rowport(&["import", "book", "books.csv", "--failed-out", "failed.json"])
        .expect_code(1);
    let failed: serde_json::Value = serde_json::from_slice(&sandbox.read("failed.json")).unwrap();
    let rows = failed.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["isbn"], "222");
    assert_eq!(rows[0]["price"], "cheap");
    assert!(rows[0]["Error"]
        .as_str()
        .unwrap()
        .starts_with("column \"price\": \"cheap\" "));
    // Without --skip-invalid nothing was committed: the file holds only the failed row.
    assert_eq!(sandbox.query(BOOKS_SQL), rows_none());
}

fn rows_none() -> Vec<Vec<String>> {
    Vec::new()
}

#[test]
fn failed_out_to_a_format_rowport_cannot_write_is_a_usage_error() {
    let sandbox = library(Backend::Sqlite, "");
    sandbox.write("books.csv", "isbn,name\n111,The Dispossessed\n");
    sandbox
        .rowport(&["import", "book", "books.csv", "--failed-out", "failed.xls"])
        .expect_code(2)
        .stderr_contains("--failed-out cannot write xls");
}

backend_tests! {
    fn toml_extends_imports_through_the_base_resources_fields(backend) {
        let sandbox = library(
            backend,
            r#"
[resources.book_titles]
extends = "book"
verbose_name = "Book titles"
fields = ["isbn", "name", "author"]
"#,
        );
        sandbox.write(
            "titles.csv",
            "isbn,name,author,price\n111,The Dispossessed,Ursula K. Le Guin,99\n",
        );
        sandbox.rowport(&["import", "book_titles", "titles.csv"]).success();
        // The base's author lookup by name applies; price is not among the fields.
        assert_eq!(
            sandbox.query("SELECT isbn, name, author_id, price FROM book"),
            rows(&[&["111", "The Dispossessed", "1", "NULL"]])
        );
        // And the base's import id (isbn): the same file again updates, nothing new.
        sandbox.write(
            "titles.csv",
            "isbn,name,author\n111,The Dispossessed (2nd ed.),Ursula K. Le Guin\n",
        );
        let run = sandbox.rowport(&["import", "book_titles", "titles.csv"]);
        run.success();
        assert_eq!(run.totals(), "0 new, 1 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors");
    }

    fn toml_delete_when_deletes_the_marked_rows(backend) {
        let sandbox = library(backend, "");
        sandbox.write(
            "rowport.toml",
            LIBRARY_CONFIG.replace(
                "skip_unchanged = true\n",
                "skip_unchanged = true\ndelete_when = { column = \"delete\", equals = [\"1\", \"yes\"] }\n",
            ),
        );
        sandbox.write(
            "books.csv",
            "isbn,name\n111,The Dispossessed\n222,Invisible Cities\n333,Kindred\n",
        );
        sandbox.rowport(&["import", "book", "books.csv"]).success();
        sandbox.write(
            "changes.csv",
            "isbn,name,delete\n111,The Dispossessed,YES\n222,Invisible Cities,0\n333,Kindred,1\n999,Never there,1\n",
        );
        let run = sandbox.rowport(&["import", "book", "changes.csv"]);
        run.success();
        assert_eq!(run.totals(), "0 new, 0 updated, 2 skipped, 2 deleted, 0 invalid, 0 errors");
        assert_eq!(
            sandbox.query("SELECT isbn FROM book ORDER BY isbn"),
            rows(&[&["222"]])
        );
    }
}

#[test]
fn toml_delete_when_without_values_is_a_configuration_error() {
    let sandbox = library(Backend::Sqlite, "");
    sandbox.write(
        "rowport.toml",
        LIBRARY_CONFIG.replace(
            "skip_unchanged = true\n",
            "skip_unchanged = true\ndelete_when = { column = \"delete\", equals = [] }\n",
        ),
    );
    sandbox.write("books.csv", "isbn,name\n111,The Dispossessed\n");
    sandbox
        .rowport(&["import", "book", "books.csv"])
        .expect_code(2)
        .stderr_contains("delete_when needs a column and at least one value to compare with");
}

#[test]
fn toml_clean_model_instances_reports_a_too_long_value_as_a_field_error() {
    let sandbox = library(Backend::Sqlite, "");
    sandbox.write(
        "rowport.toml",
        LIBRARY_CONFIG.replace(
            "skip_unchanged = true\n",
            "skip_unchanged = true\nclean_model_instances = true\n",
        ),
    );
    let long = "x".repeat(21);
    sandbox.write("books.csv", format!("isbn,name\n{long},A book\n"));
    sandbox
        .rowport(&["import", "book", "books.csv"])
        .expect_code(1)
        .stderr_has_line(&format!(
            "error: books.csv, row 2, column \"isbn\": \"{long}\" is 21 characters long, and book.isbn holds at most 20 (VARCHAR(20))"
        ));
    assert_eq!(sandbox.query("SELECT count(*) FROM book"), rows(&[&["0"]]));
}

backend_tests! {
    fn toml_clean_model_instances_reports_a_check_violation_before_writing(backend) {
        let sandbox = Sandbox::with_schema_on(
            backend,
            "CREATE TABLE item (id {pk}, name VARCHAR(50) NOT NULL, qty INTEGER NOT NULL CHECK (qty >= 0), \
             low DECIMAL(6, 2) NULL, high DECIMAL(6, 2) NULL, CONSTRAINT item_range CHECK (low <= high));",
        );
        sandbox.write("rowport.toml", "[resources.item]\nclean_model_instances = true\n");
        // Row 5's 10.00 <= 9.50 holds as text but not as numbers; row 6 leaves high NULL.
        sandbox.write(
            "items.csv",
            "name,qty,low,high\nbolt,5,1.00,2.00\nnut,-2,1.00,2.00\nwasher,0,9.50,10.00\nscrew,1,10.00,9.50\npin,1,3.00,\n",
        );
        // Each store reports the constraint as its catalog spells it.
        let (qty, range) = match backend {
            Backend::Sqlite => ("CHECK (qty >= 0)", "CHECK (low <= high)"),
            Backend::Postgres => ("CHECK ((qty >= 0))", "CHECK ((low <= high))"),
            Backend::Mysql => ("CHECK (`qty` >= 0)", "CHECK (`low` <= `high`)"),
        };

        // Without --skip-invalid nothing is written: exit 1, both rows named.
        let run = sandbox.rowport(&["import", "item", "items.csv"]);
        run.expect_code(1)
            .stderr_has_line(&format!("error: items.csv, row 3: breaks the item table's check {qty}"))
            .stderr_has_line(&format!("error: items.csv, row 5: breaks the item table's check {range}"));
        assert_eq!(run.totals(), "3 new, 0 updated, 0 skipped, 0 deleted, 2 invalid, 0 errors");
        assert_eq!(sandbox.query("SELECT count(*) FROM item"), rows(&[&["0"]]));

        let run = sandbox.rowport(&["import", "item", "items.csv", "--skip-invalid"]);
        run.success()
            .stderr_has_line(&format!("warning: items.csv, row 3: breaks the item table's check {qty}"));
        assert_eq!(run.totals(), "3 new, 0 updated, 0 skipped, 0 deleted, 2 invalid, 0 errors");
        assert_eq!(
            sandbox.query("SELECT name, qty FROM item ORDER BY name"),
            rows(&[&["bolt", "5"], &["pin", "1"], &["washer", "0"]])
        );
    }
}
