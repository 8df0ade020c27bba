//! Hostile text files: each is generated here and streamed into the real binary, whose
//! address space is capped far below what the input would take if a limit did not hold.
//! Every one must end in a clear error (exit 1) that names the limit and how to raise it,
//! with nothing committed — never a crash.

mod common;

use common::{Run, Sandbox, Stream, MEMORY_CAP_KIB, SIMPLE_BOOK_SCHEMA};

/// Far more than the cap: what a reader without limits would try to hold.
const HUGE: u64 = 4 * MEMORY_CAP_KIB * 1024;

const MIB: u64 = 1 << 20;

fn sandbox() -> Sandbox {
    Sandbox::with_schema(SIMPLE_BOOK_SCHEMA)
}

/// `rowport import book - ARGS…` under the memory cap, reading `input`.
fn import_capped(sandbox: &Sandbox, args: &[&str], input: Stream) -> Run {
    let mut all = vec!["import", "book", "-"];
    all.extend_from_slice(args);
    sandbox.rowport_capped(MEMORY_CAP_KIB, &all, input)
}

/// The run failed on the file (exit 1) with exactly `error`, a hint to raise the limit,
/// and left the table empty.
#[track_caller]
fn assert_refused(sandbox: &Sandbox, run: &Run, error: &str) {
    run.expect_code(1)
        .stderr_has_line(&format!("error: {error}"));
    assert!(
        run.stderr_line("hint: ")
            .contains("if you trust the file, raise the limit"),
        "{}",
        run.stderr
    );
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

/// The cap leaves room for an ordinary import: the failures below are the limits at work,
/// not the cap.
#[test]
fn an_ordinary_import_fits_under_the_cap() {
    let sandbox = sandbox();
    let mut csv = String::from("id,name,author_email,published,price\n");
    for i in 1..=20_000 {
        csv.push_str(&format!(
            "{i},Book {i},a{i}@example.com,2001-02-03,{i}.50\n"
        ));
    }
    let run = import_capped(&sandbox, &["--format", "csv"], Stream::bytes(csv));
    run.success();
    assert_eq!(sandbox.scalar("SELECT count(*) FROM book"), "20000");
}

#[test]
fn a_csv_line_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    // Cells of 1 MiB each, never a line break: the cell limit never trips, the line's does.
    let cell = format!("{},", "x".repeat(MIB as usize - 1));
    let run = import_capped(&sandbox, &[], Stream::repeat("name\n", &cell, HUGE, "\n"));
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the row exceeds the limit of 64 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)",
    );
    run.stderr_has_line(
        "hint: if you trust the file, raise the limit, e.g. --max-line-bytes 128MiB",
    );
}

#[test]
fn a_tsv_line_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    let cell = format!("{}\t", "x".repeat(MIB as usize - 1));
    let run = import_capped(
        &sandbox,
        &["--format", "tsv"],
        Stream::repeat("name\n", &cell, HUGE, "\n"),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the row exceeds the limit of 64 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)",
    );
}

#[test]
fn a_csv_cell_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    // A quoted cell that goes on over line after line.
    let run = import_capped(
        &sandbox,
        &["--format", "csv"],
        Stream::repeat("id,name\n1,\"", "more text\n", HUGE, "\"\n"),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the cell in column \"name\" exceeds the limit of 32 MiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)",
    );
}

#[test]
fn a_row_of_countless_empty_cells_is_refused() {
    let sandbox = sandbox();
    // A million empty cells are a few bytes each in the file but far more in memory.
    let run = import_capped(
        &sandbox,
        &["--format", "csv"],
        Stream::repeat("", ",", HUGE, "\n"),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 1: a row of more than 1,048,576 cells (each counts as 64 bytes) exceeds the limit of 64 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)",
    );
}

#[test]
fn lower_limits_from_flags_and_config_are_kept() {
    let sandbox = sandbox();
    let input = || Stream::repeat("id,name\n1,\"", "more text\n", HUGE, "\"\n");
    let run = import_capped(
        &sandbox,
        &["--format", "csv", "--max-cell-bytes", "1MiB"],
        input(),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the cell in column \"name\" exceeds the limit of 1 MiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)",
    );
    run.stderr_has_line("hint: if you trust the file, raise the limit, e.g. --max-cell-bytes 2MiB");

    sandbox.write("rowport.toml", "[limits]\nmax_cell_bytes = \"2MiB\"\n");
    let run = import_capped(&sandbox, &["--format", "csv"], input());
    run.expect_code(1)
        .stderr_contains("exceeds the limit of 2 MiB");
    // The flag wins over the config.
    let run = import_capped(
        &sandbox,
        &["--format", "csv", "--max-cell-bytes", "3MiB"],
        input(),
    );
    run.expect_code(1)
        .stderr_contains("exceeds the limit of 3 MiB");
}

#[test]
fn raised_limits_let_a_big_cell_through() {
    let sandbox = sandbox();
    let input = || Stream::repeat("id,name\n1,", "n", 40 * MIB, "\n");
    import_capped(&sandbox, &["--format", "csv"], input())
        .expect_code(1)
        .stderr_contains("exceeds the limit of 32 MiB");
    import_capped(
        &sandbox,
        &["--format", "csv", "--max-cell-bytes", "48MiB"],
        input(),
    )
    .success();
    assert_eq!(
        sandbox.scalar("SELECT length(name) FROM book"),
        (40 * MIB).to_string()
    );
}

#[test]
fn an_unterminated_quote_is_an_error_naming_its_row() {
    let sandbox = sandbox();
    let run = import_capped(
        &sandbox,
        &["--format", "csv"],
        Stream::bytes("id,name\n1,Fine\n2,\"Never closed\n3,Swallowed\n4,Too\n"),
    );
    run.expect_code(1).stderr_has_line(
        "error: standard input, row 3: the quote that opens a cell in this row is never closed, so the rest of the file would be one cell",
    );
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

#[test]
fn a_json_string_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    let run = import_capped(
        &sandbox,
        &["--format", "json"],
        Stream::repeat("[{\"id\": 1, \"name\": \"", "x", HUGE, "\"}]"),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 1: the row exceeds the limit of 64 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)",
    );
}

#[test]
fn a_json_cell_over_the_limit_is_refused() {
    let sandbox = sandbox();
    let run = import_capped(
        &sandbox,
        &["--format", "json"],
        Stream::repeat(
            "[{\"id\": 1, \"name\": \"x\"}, {\"id\": 2, \"name\": \"",
            "y",
            40 * MIB,
            "\"}]",
        ),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the cell in column \"name\" exceeds the limit of 32 MiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)",
    );
}

#[test]
fn a_json_lines_line_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    let run = import_capped(
        &sandbox,
        &["--format", "jsonl"],
        Stream::repeat(
            "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"name\": [",
            "0,",
            HUGE,
            "0]}\n",
        ),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the row exceeds the limit of 64 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)",
    );
}

#[test]
fn a_yaml_value_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    let run = import_capped(
        &sandbox,
        &["--format", "yaml"],
        Stream::repeat("- id: 1\n  name: \"", "words and words ", HUGE, "\"\n"),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 1: the cell in column \"name\" exceeds the limit of 32 MiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)",
    );
}

#[test]
fn a_yaml_row_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    // A flow list inside a row, as long as it gets: each item is small, the row is not.
    // (A lower line limit keeps the test quick: YAML is parsed an event at a time.)
    let run = import_capped(
        &sandbox,
        &[
            "--format",
            "yaml",
            "--max-cell-bytes",
            "1GiB",
            "--max-line-bytes",
            "8MiB",
        ],
        Stream::repeat("- id: 1\n  name: [", "item, ", HUGE, "x]\n"),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 1: the row exceeds the limit of 8 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)",
    );
}

#[test]
fn yaml_billion_laughs_are_refused() {
    let sandbox = sandbox();
    let mut yaml = String::from("- id: 1\n  name: x\n  author_email: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        yaml.push_str(&format!(
            "- id: {}\n  name: x\n  author_email: &a{i} [{refs}]\n",
            i + 1
        ));
    }
    let run = import_capped(&sandbox, &["--format", "yaml"], Stream::bytes(yaml));
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 7: the cell in column \"author_email\" exceeds the limit of 32 MiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)",
    );
}

#[test]
fn an_html_cell_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    let run = import_capped(
        &sandbox,
        &["--format", "html"],
        Stream::repeat(
            "<table><tr><th>id</th><th>name</th></tr><tr><td>1</td><td>",
            "text &amp; more ",
            HUGE,
            "</td></tr></table>",
        ),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the cell in column \"name\" exceeds the limit of 32 MiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)",
    );
}

#[test]
fn an_html_row_of_unbounded_length_is_refused() {
    let sandbox = sandbox();
    // Comments inside a row hold no cell, but the row still has to be read through.
    let run = import_capped(
        &sandbox,
        &["--format", "html"],
        Stream::repeat(
            "<table><tr><th>id</th><th>name</th></tr><tr><td>1</td><!--",
            "<td>x</td>",
            HUGE,
            "--></tr></table>",
        ),
    );
    assert_refused(
        &sandbox,
        &run,
        "standard input, row 2: the row exceeds the limit of 64 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)",
    );
}
