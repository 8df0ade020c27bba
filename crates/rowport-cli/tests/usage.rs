//! Usage, configuration and I/O failures: the exit code the style guide promises (2 for
//! usage or configuration, 3 for I/O or the database), one `error:` sentence that names
//! what is wrong, a `hint:` when there is a next step — and nothing written.
//!
//! Every run also checks (in `common`) that no output shows a panic or Rust internals.

mod common;

use common::{Sandbox, LIBRARY_SCHEMA, SIMPLE_BOOK_SCHEMA};

const BOOKS_CSV: &str = "id,name\n1,Some book\n";

fn books_sandbox() -> Sandbox {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write("books.csv", BOOKS_CSV);
    sandbox
}

#[track_caller]
fn assert_book_table_empty(sandbox: &Sandbox) {
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

/// Every line of stderr is an `error:` or a `hint:` line, the error first.
#[track_caller]
fn assert_error_then_hints(stderr: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("error: ")),
        "{stderr}"
    );
    assert!(
        lines[1..].iter().all(|l| l.starts_with("hint: ")),
        "one error line, then hints only:\n{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// Formats and encodings
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_import_format_exits_2() {
    let sandbox = books_sandbox();
    let run = sandbox.rowport(&["import", "book", "books.csv", "--format", "docx"]);
    run.expect_code(2).stderr_contains("\"docx\"");
    assert_error_then_hints(&run.stderr);
    assert_book_table_empty(&sandbox);
}

#[test]
fn file_without_extension_needs_a_format() {
    let sandbox = books_sandbox();
    sandbox.write("books", BOOKS_CSV);
    let run = sandbox.rowport(&["import", "book", "books"]);
    run.expect_code(2)
        .stderr_contains("books")
        .stderr_contains("hint: ")
        .stderr_contains("--format");
    assert_error_then_hints(&run.stderr);
    assert_book_table_empty(&sandbox);
    // With --format the same file imports.
    sandbox
        .rowport(&["import", "book", "books", "--format", "csv"])
        .success();
    assert_eq!(sandbox.scalar("SELECT name FROM book"), "Some book");
}

#[test]
fn standard_input_needs_a_format() {
    let sandbox = books_sandbox();
    let run = sandbox.rowport_stdin(&["import", "book", "-"], BOOKS_CSV.as_bytes());
    run.expect_code(2).stderr_contains("--format");
    assert_book_table_empty(&sandbox);
}

#[test]
fn unknown_import_encoding_exits_2() {
    let sandbox = books_sandbox();
    let run = sandbox.rowport(&["import", "book", "books.csv", "--encoding", "klingon"]);
    run.expect_code(2).stderr_contains("\"klingon\"");
    assert_book_table_empty(&sandbox);
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

#[track_caller]
fn assert_config_rejected(config: &str, named: &[&str]) {
    let sandbox = books_sandbox();
    sandbox.write("rowport.toml", config);
    let run = sandbox.rowport(&["import", "book", "books.csv"]);
    run.expect_code(2);
    let error = run.stderr_line("error: ");
    assert!(error.contains("rowport.toml"), "names the file: {error}");
    for name in named {
        assert!(error.contains(name), "names {name}: {error}");
    }
    assert_book_table_empty(&sandbox);
}

#[test]
fn unknown_top_level_config_key_is_named() {
    assert_config_rejected("databse = \"sqlite://x.db\"\n", &["databse", "line 1"]);
}

#[test]
fn unknown_resource_config_key_is_named() {
    assert_config_rejected(
        "[resources.book]\nimport_id_fields = [\"id\"]\nbatchsize = 10\n",
        &["batchsize", "line 3"],
    );
}

#[test]
fn unknown_field_config_key_is_named() {
    assert_config_rejected(
        "[resources.book.field.author_email]\ncolum_name = \"Email\"\n",
        &["colum_name"],
    );
}

#[test]
fn widget_parameter_that_does_not_apply_is_named() {
    assert_config_rejected(
        "[resources.book.field.name]\nlookup = \"name\"\n",
        &["\"lookup\"", "\"name\""],
    );
}

#[test]
fn unknown_widget_is_named() {
    assert_config_rejected(
        "[resources.book.field.price]\nwidget = \"money\"\n",
        &["\"money\""],
    );
}

#[test]
fn field_for_a_missing_column_is_named() {
    assert_config_rejected(
        "[resources.book.field.subtitle]\nwidget = \"char\"\n",
        &["\"subtitle\""],
    );
}

#[test]
fn import_id_field_that_is_not_a_field_is_named() {
    assert_config_rejected(
        "[resources.book]\nimport_id_fields = [\"isbn\"]\n",
        &["\"isbn\""],
    );
}

/// A TOML syntax error is one `error:` line, the parser's detail folded into it.
#[test]

fn toml_syntax_error_is_one_line() {
    let sandbox = books_sandbox();
    sandbox.write("rowport.toml", "[resources.book\n");
    let run = sandbox.rowport(&["import", "book", "books.csv"]);
    run.expect_code(2).stderr_contains("rowport.toml: line 1");
    assert_error_then_hints(&run.stderr);
}

#[test]
fn toml_syntax_error_exits_2_and_names_the_line() {
    let sandbox = books_sandbox();
    sandbox.write("rowport.toml", "[resources.book\n");
    sandbox
        .rowport(&["import", "book", "books.csv"])
        .expect_code(2)
        .stderr_contains("error: rowport.toml: line 1");
    assert_book_table_empty(&sandbox);
}

#[test]
fn missing_config_file_exits_2() {
    let sandbox = books_sandbox();
    sandbox
        .rowport(&["--config", "nowhere.toml", "import", "book", "books.csv"])
        .expect_code(2)
        .stderr_contains("nowhere.toml");
    assert_book_table_empty(&sandbox);
}

#[test]
fn unknown_resource_on_import_suggests_the_close_name() {
    let sandbox = books_sandbox();
    let run = sandbox.rowport(&["import", "boook", "books.csv"]);
    run.expect_code(2)
        .stderr_contains("\"boook\"")
        .stderr_contains("did you mean \"book\"")
        .stderr_contains("hint: ");
    assert_error_then_hints(&run.stderr);
}

#[test]
fn file_missing_the_declared_import_id_column_is_refused() {
    let sandbox = Sandbox::with_schema(LIBRARY_SCHEMA);
    sandbox.write("rowport.toml", common::LIBRARY_CONFIG);
    sandbox.write("no-isbn.csv", "name\nNameless\n");
    let run = sandbox.rowport(&["import", "book", "no-isbn.csv"]);
    run.expect_code(1)
        .stderr_contains("no-isbn.csv")
        .stderr_contains("\"isbn\"");
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

// ---------------------------------------------------------------------------------------
// Databases and files that are not there
// ---------------------------------------------------------------------------------------

#[track_caller]
fn assert_missing_database(args: &[&str]) {
    let sandbox = books_sandbox();
    let url = sandbox.url_of("missing.db");
    let mut all = vec!["--db", url.as_str()];
    all.extend_from_slice(args);
    let run = sandbox.rowport_bare(&all);
    run.expect_code(3).stderr_contains("missing.db");
    assert!(
        run.stderr_line("hint: ").contains("rowport demo"),
        "{}",
        run.stderr
    );
    assert!(
        !sandbox.path("missing.db").exists(),
        "a missing database is not created"
    );
}

#[test]
fn missing_database_on_import_exits_3_with_a_demo_hint() {
    assert_missing_database(&["import", "book", "books.csv"]);
}

#[test]
fn missing_database_on_export_exits_3_with_a_demo_hint() {
    assert_missing_database(&["export", "csv", "book"]);
}

#[test]
fn missing_database_on_inspect_exits_3_with_a_demo_hint() {
    assert_missing_database(&["inspect"]);
}

#[test]
fn default_database_missing_exits_3_with_a_demo_hint() {
    let sandbox = Sandbox::new();
    sandbox.write("books.csv", BOOKS_CSV);
    let run = sandbox.rowport_bare(&["import", "book", "books.csv"]);
    run.expect_code(3)
        .stderr_contains("rowport.db")
        .stderr_contains("rowport demo");
    assert!(!sandbox.path("rowport.db").exists());
}

#[test]
fn missing_input_file_exits_3() {
    let sandbox = books_sandbox();
    let run = sandbox.rowport(&["import", "book", "nothere.csv"]);
    run.expect_code(3)
        .stderr_has_line("error: cannot read nothere.csv: no such file");
    assert_book_table_empty(&sandbox);
}

/// A folder given as the input file is an I/O error (exit 3) without the OS error number.
#[test]

fn a_folder_as_input_file_exits_3() {
    let sandbox = books_sandbox();
    std::fs::create_dir(sandbox.path("folder.csv")).expect("create a folder");
    let run = sandbox.rowport(&["import", "book", "folder.csv"]);
    run.expect_code(3).stderr_contains("folder.csv");
    assert_book_table_empty(&sandbox);
}

#[test]
fn a_file_that_is_not_a_database_exits_3() {
    let sandbox = books_sandbox();
    sandbox.write("text.db", "this is not SQLite\n".repeat(100));
    let url = sandbox.url_of("text.db");
    sandbox
        .rowport_bare(&["--db", &url, "import", "book", "books.csv"])
        .expect_code(3)
        .stderr_contains("not a database");
    assert_eq!(
        sandbox.read("text.db"),
        "this is not SQLite\n".repeat(100).as_bytes()
    );
}

/// A database URL without a scheme is a usage mistake (exit 2) with a hint.
#[test]

fn database_url_without_scheme_is_a_usage_error() {
    let sandbox = books_sandbox();
    sandbox
        .rowport_bare(&["--db", "test.db", "import", "book", "books.csv"])
        .expect_code(2)
        .stderr_contains("sqlite://");
}

#[test]
fn database_url_with_an_unsupported_scheme_fails_with_a_message() {
    let sandbox = books_sandbox();
    let run = sandbox.rowport_bare(&[
        "--db",
        "postgres://localhost/books",
        "import",
        "book",
        "books.csv",
    ]);
    assert_ne!(run.code, 0);
    run.stderr_contains("\"postgres\"")
        .stderr_contains("sqlite://");
    assert_error_then_hints(&run.stderr);
}

#[test]
fn database_url_from_the_environment() {
    let sandbox = books_sandbox();
    let url = sandbox.url();
    sandbox
        .rowport_env(
            &[("ROWPORT_DATABASE_URL", url.as_str())],
            &["import", "book", "books.csv"],
        )
        .success();
    assert_eq!(sandbox.scalar("SELECT name FROM book"), "Some book");
}

#[test]
fn export_into_a_missing_folder_exits_3_and_says_where() {
    let sandbox = books_sandbox();
    let run = sandbox.rowport(&["export", "csv", "book", "-o", "no/such/folder/out.csv"]);
    run.expect_code(3).stderr_contains("no/such/folder");
    assert_error_then_hints(&run.stderr);
}

// ---------------------------------------------------------------------------------------
// The command line itself
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_subcommand_exits_2() {
    let sandbox = Sandbox::new();
    sandbox
        .rowport_bare(&["imprt", "book", "books.csv"])
        .expect_code(2)
        .stderr_contains("imprt");
}

#[test]
fn missing_argument_exits_2() {
    let sandbox = books_sandbox();
    sandbox
        .rowport(&["import", "book"])
        .expect_code(2)
        .stderr_contains("<FILE>");
}

#[test]
fn help_and_version_exit_0() {
    let sandbox = Sandbox::new();
    let help = sandbox.rowport_bare(&["--help"]);
    help.success();
    for command in ["import", "export", "inspect", "demo"] {
        assert!(help.stdout.contains(command), "{}", help.stdout);
    }
    let version = sandbox.rowport_bare(&["--version"]);
    version.success();
    assert!(version.stdout.starts_with("rowport "), "{}", version.stdout);
}
