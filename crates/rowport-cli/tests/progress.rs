//! The progress bar: drawn on a terminal, never with `--no-progress`, in CI or down a pipe.
//! A terminal is made with `script`, which runs the command on a pseudo-terminal and copies
//! what it drew.

mod common;

use std::path::Path;
use std::process::Command;

use common::Sandbox;

/// Runs `rowport ARGS…` in `dir` on a pseudo-terminal; returns everything it drew.
fn on_terminal(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let binary = assert_cmd::cargo::cargo_bin("rowport");
    let mut line = shell_quote(&binary.to_string_lossy());
    for arg in args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    let mut command = Command::new("script");
    command
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir)
        .env_remove("CI")
        .env("TERM", "xterm");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("script runs");
    assert!(
        output.status.success(),
        "rowport failed on the terminal: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn demo() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.rowport_bare(&["demo", "--path", "demo"]).success();
    sandbox
}

#[test]
fn an_import_on_a_terminal_draws_a_bar_over_the_file_then_its_summary() {
    let sandbox = demo();
    let drawn = on_terminal(
        &sandbox.path("demo"),
        &[],
        &["import", "book", "new-books.csv"],
    );
    assert!(drawn.contains("importing new-books.csv"), "{drawn}");
    assert!(drawn.contains("rows: "), "the summary follows: {drawn}");
}

#[test]
fn no_progress_draws_nothing_on_a_terminal() {
    let sandbox = demo();
    let drawn = on_terminal(
        &sandbox.path("demo"),
        &[],
        &["--no-progress", "import", "book", "new-books.csv"],
    );
    assert!(!drawn.contains("importing"), "{drawn}");
    assert!(drawn.contains("rows: "), "{drawn}");
}

#[test]
fn ci_draws_nothing_on_a_terminal() {
    let sandbox = demo();
    let drawn = on_terminal(
        &sandbox.path("demo"),
        &[("CI", "true")],
        &["export", "csv", "book", "-o", "out.csv"],
    );
    assert!(!drawn.contains("exporting to"), "{drawn}");
    assert!(drawn.contains("exported"), "{drawn}");
}

#[test]
fn an_export_on_a_terminal_counts_rows_then_clears() {
    let sandbox = demo();
    let drawn = on_terminal(
        &sandbox.path("demo"),
        &[],
        &["export", "csv", "book", "-o", "out.csv"],
    );
    assert!(drawn.contains("exporting to out.csv"), "{drawn}");
    assert!(drawn.contains("exported"), "{drawn}");
}

#[test]
fn nothing_is_drawn_when_stderr_is_not_a_terminal() {
    let sandbox = demo();
    let run = sandbox.rowport_in(&sandbox.path("demo"), &["import", "book", "new-books.csv"]);
    run.success().stderr_lacks("importing");
}
