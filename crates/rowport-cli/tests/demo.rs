//! `rowport demo` and the walk-through it prints: import the sample file, export, inspect.
//! Snapshots hold what a newcomer reads.

mod common;

use common::{rows, Sandbox};

/// A sandbox with the demo written into its `demo` folder.
fn demo() -> Sandbox {
    let sandbox = Sandbox::new();
    let run = sandbox.rowport_bare(&["demo", "--path", "demo"]);
    run.success()
        .stderr_contains("demo/demo.db")
        .stderr_contains("rowport import book new-books.csv");
    sandbox
}

/// `rowport ARGS…` run inside the demo folder, as the demo's instructions say.
fn in_demo(sandbox: &Sandbox, args: &[&str]) -> common::Run {
    sandbox.rowport_in(&sandbox.path("demo"), args)
}

fn demo_query(sandbox: &Sandbox, sql: &str) -> Vec<Vec<String>> {
    sandbox.query_on("demo/demo.db", sql)
}

fn book_count(sandbox: &Sandbox) -> String {
    demo_query(sandbox, "SELECT count(*) FROM book")[0][0].clone()
}

#[test]
fn demo_writes_a_database_a_config_and_a_sample_file() {
    let sandbox = demo();
    for file in ["demo.db", "rowport.toml", "new-books.csv"] {
        assert!(sandbox.path("demo").join(file).is_file(), "{file}");
    }
    assert_eq!(
        demo_query(
            &sandbox,
            "SELECT (SELECT count(*) FROM author), (SELECT count(*) FROM category), \
             (SELECT count(*) FROM book), (SELECT count(*) FROM book_categories)"
        ),
        rows(&[&["1000", "20", "5", "9"]])
    );
}

#[test]
fn demo_dry_run_previews_and_changes_nothing() {
    let sandbox = demo();
    let before = sandbox.dump_on("demo/demo.db", "book");
    let run = in_demo(&sandbox, &["import", "book", "new-books.csv", "--dry-run"]);
    run.success()
        .stderr_has_line("dry run: nothing was committed");
    assert_eq!(
        run.summary(),
        "4 rows: 2 new, 1 updated, 1 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(sandbox.dump_on("demo/demo.db", "book"), before);
}

#[test]
fn demo_import_adds_two_books_and_updates_one() {
    let sandbox = demo();
    let run = in_demo(&sandbox, &["import", "book", "new-books.csv"]);
    run.success().stderr_lacks("dry run");
    assert_eq!(
        run.summary(),
        "4 rows: 2 new, 1 updated, 1 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(book_count(&sandbox), "7");
    assert_eq!(
        demo_query(
            &sandbox,
            "SELECT b.isbn, b.price, a.name, \
             (SELECT group_concat(name, '|') FROM (SELECT c.name FROM book_categories bc \
               JOIN category c ON c.id = bc.category_id WHERE bc.book_id = b.id ORDER BY c.name)) \
             FROM book b JOIN author a ON a.id = b.author_id \
             WHERE b.isbn IN ('9780000012345', '9780000051940', '9780000059859') ORDER BY b.isbn"
        ),
        rows(&[
            &[
                "9780000012345",
                "13.34",
                "Author 0265",
                "Category 01|Category 06"
            ],
            &[
                "9780000051940",
                "17",
                "Author 0003",
                "Category 07|Category 08"
            ],
            &["9780000059859", "42.1", "Author 0420", "Category 12"],
        ])
    );

    // The same file again: nothing left to do.
    let again = in_demo(&sandbox, &["import", "book", "new-books.csv"]);
    again.success();
    assert_eq!(
        again.summary(),
        "4 rows: 0 new, 0 updated, 4 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(book_count(&sandbox), "7");
}

#[test]
fn demo_summary_snapshot() {
    let sandbox = demo();
    let run = in_demo(&sandbox, &["import", "book", "new-books.csv"]);
    run.success();
    let summary = run.stderr_line("4 rows: ").to_owned();
    common::untimed().bind(|| insta::assert_snapshot!("demo_import_summary", summary));
}

#[test]
fn demo_twice_without_force_exits_2_and_keeps_the_database() {
    let sandbox = demo();
    in_demo(&sandbox, &["import", "book", "new-books.csv"]).success();
    let before = sandbox.dump_on("demo/demo.db", "book");

    let run = sandbox.rowport_bare(&["demo", "--path", "demo"]);
    run.expect_code(2)
        .stderr_contains("already exists")
        .stderr_contains("--force");
    assert_eq!(sandbox.dump_on("demo/demo.db", "book"), before);

    sandbox
        .rowport_bare(&["demo", "--path", "demo", "--force"])
        .success();
    assert_eq!(book_count(&sandbox), "5", "--force starts the demo afresh");
}

#[test]
fn demo_config_works_from_another_folder() {
    let sandbox = demo();
    // The config's relative database path is relative to the config, not to the caller.
    let run = sandbox.rowport_bare(&[
        "--config",
        "demo/rowport.toml",
        "export",
        "csv",
        "book",
        "--fields",
        "isbn",
    ]);
    run.success();
    assert_eq!(run.stdout.lines().count(), 6);
}

#[test]
fn demo_export_snapshot() {
    let sandbox = demo();
    let run = in_demo(&sandbox, &["export", "csv", "book"]);
    run.success()
        .stderr_contains("exported 5 rows to standard output");
    insta::assert_snapshot!("demo_export_csv", run.stdout);
}

#[test]
fn demo_inspect_book_snapshot() {
    let sandbox = demo();
    let run = in_demo(&sandbox, &["inspect", "book"]);
    run.success();
    insta::assert_snapshot!("demo_inspect_book", run.stdout);
}

#[test]
fn demo_inspect_lists_every_table_snapshot() {
    let sandbox = demo();
    let run = in_demo(&sandbox, &["inspect"]);
    run.success();
    insta::assert_snapshot!("demo_inspect", run.stdout);
}

/// The demo's config with a resource of export-only fields: a relation path, a template
/// and a name for people.
fn with_labels(sandbox: &Sandbox) {
    let config = String::from_utf8(sandbox.read("demo/rowport.toml")).unwrap();
    sandbox.write(
        "demo/rowport.toml",
        format!(
            "{config}\n\
             [resources.book_labels]\n\
             extends = \"book\"\n\
             verbose_name = \"Book labels\"\n\
             fields = [\"isbn\", \"name\", \"author__name\", \"label\"]\n\
             [resources.book_labels.field.label]\n\
             dehydrate = \"{{{{ name }}}} by {{{{ author.name }}}}\"\n"
        ),
    );
}

#[test]
fn demo_inspect_shows_export_only_fields_and_the_verbose_name_snapshot() {
    let sandbox = demo();
    with_labels(&sandbox);
    let run = in_demo(&sandbox, &["inspect", "book_labels"]);
    run.success();
    insta::assert_snapshot!("demo_inspect_book_labels", run.stdout);
    // The export writes exactly the fields inspect lists, in its order.
    let run = in_demo(&sandbox, &["export", "csv", "book_labels"]);
    run.success();
    assert_eq!(
        run.stdout.lines().next(),
        Some("isbn,name,author__name,label")
    );
}

#[test]
fn demo_inspect_lists_export_fields_and_names_snapshot() {
    let sandbox = demo();
    with_labels(&sandbox);
    let run = in_demo(&sandbox, &["inspect"]);
    run.success();
    insta::assert_snapshot!("demo_inspect_with_labels", run.stdout);
}

#[test]
fn demo_invalid_row_snapshot() {
    let sandbox = demo();
    sandbox.write(
        "demo/bad.csv",
        "isbn,name,author,author_email,published,price,in_stock,added,categories\n\
         9780000099999,Good book,Author 0001,a@example.com,2001-01-01,1.00,1,,Category 01\n\
         9780000099998,Bad book,Author 9999,b@example.com,2001-13-01,abc,maybe,,Category 01|Nope\n",
    );
    let before = sandbox.dump_on("demo/demo.db", "book");
    let run = in_demo(&sandbox, &["import", "book", "bad.csv"]);
    run.expect_code(1);
    assert_eq!(sandbox.dump_on("demo/demo.db", "book"), before);
    common::untimed().bind(|| insta::assert_snapshot!("demo_invalid_row_stderr", run.stderr));
}
