//! Helpers shared by the CLI's integration tests: a sandbox folder with its own SQLite
//! database, a way to run the real `rowport` binary in it, and queries that read the
//! database back with rusqlite.
//!
//! Every run checks that nothing a user reads looks like a crash or a Rust internal (a
//! panic, a `Debug` dump, a type name), whatever the test asserts besides.
#![allow(dead_code)] // each test binary uses its own subset of these helpers

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
pub use rowport_testkit::Backend;
use rowport_testkit::TestDatabase;
use rusqlite::Connection;
use tempfile::TempDir;

/// The schema most tests use: books with an author (foreign key) and categories (many to
/// many through a link table), shaped like the benchmark workload's. Written for every
/// backend (see [`Backend::dialect`]).
pub const LIBRARY_SCHEMA: &str = r#"
CREATE TABLE author (id {pk}, name {text} NOT NULL UNIQUE, birthday DATE NULL);
CREATE TABLE category (id {pk}, name {text} NOT NULL UNIQUE);
CREATE TABLE book (
    id {pk},
    isbn VARCHAR(20) NOT NULL UNIQUE,
    name VARCHAR(200) NOT NULL,
    author_email VARCHAR(254) NULL,
    published DATE NULL,
    price DECIMAL(10, 2) NULL,
    in_stock BOOL NOT NULL DEFAULT {true},
    author_id BIGINT NULL,
    FOREIGN KEY (author_id) REFERENCES author (id)
);
CREATE TABLE book_categories (
    id {pk},
    book_id BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    FOREIGN KEY (book_id) REFERENCES book (id),
    FOREIGN KEY (category_id) REFERENCES category (id)
);
CREATE UNIQUE INDEX book_categories_uniq ON book_categories (book_id, category_id);
INSERT INTO author (name, birthday) VALUES ('Ursula K. Le Guin', '1929-10-21'), ('Italo Calvino', '1923-10-15'), ('Octavia E. Butler', '1947-06-22');
INSERT INTO category (name) VALUES ('Fiction'), ('Poetry'), ('History'), ('Science');
"#;

/// The `rowport.toml` for [`LIBRARY_SCHEMA`]: books identified by isbn, the author by
/// name, the categories by name joined with `|`.
pub const LIBRARY_CONFIG: &str = r#"
[resources.book]
fields = ["isbn", "name", "author", "author_email", "published", "price", "in_stock", "categories"]
import_id_fields = ["isbn"]
skip_unchanged = true

[resources.book.field.author]
widget = "foreign_key"
lookup = "name"

[resources.book.field.categories]
widget = "many_to_many"
table = "category"
lookup = "name"
through = "book_categories"
separator = "|"
"#;

/// A plain table with no relations, for tests about files rather than resources.
pub const SIMPLE_BOOK_SCHEMA: &str = r#"
CREATE TABLE book (
    id {pk},
    name {text} NOT NULL,
    author_email {text} NULL,
    published DATE NULL,
    price DECIMAL(10, 2) NULL
);
"#;

/// A temporary folder holding the test's files, and its database: `test.db` in the folder
/// on SQLite, a database of its own on a server.
pub struct Sandbox {
    dir: TempDir,
    /// The server database, when the sandbox is on a server backend.
    server: Option<TestDatabase>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox::on(Backend::Sqlite)
    }

    /// An empty sandbox whose database lives on `backend`.
    pub fn on(backend: Backend) -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("rowport-cli-test")
                .tempdir()
                .expect("create a temporary folder"),
            server: (backend != Backend::Sqlite).then(|| TestDatabase::new(backend)),
        }
    }

    /// A SQLite sandbox whose `test.db` has `schema` (SQL run as one batch).
    pub fn with_schema(schema: &str) -> Sandbox {
        Sandbox::with_schema_on(Backend::Sqlite, schema)
    }

    /// A sandbox on `backend` whose database has `schema`, written for every backend.
    pub fn with_schema_on(backend: Backend, schema: &str) -> Sandbox {
        let sandbox = Sandbox::on(backend);
        sandbox.execute(&backend.dialect(schema));
        sandbox
    }

    /// The backend the sandbox's database lives on.
    pub fn backend(&self) -> Backend {
        self.server
            .as_ref()
            .map_or(Backend::Sqlite, TestDatabase::backend)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file (parents created); returns its full path.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent folders");
        }
        std::fs::write(&path, contents).expect("write a test file");
        path
    }

    pub fn read(&self, relative: &str) -> Vec<u8> {
        std::fs::read(self.path(relative)).expect("read a file the test expects")
    }

    /// The names in the sandbox's top folder, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root())
            .expect("list the sandbox")
            .map(|e| {
                e.expect("a folder entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// `sqlite://` URL of a database file in the sandbox.
    pub fn url_of(&self, db_file: &str) -> String {
        format!("sqlite://{}", self.path(db_file).display())
    }

    /// URL of the sandbox's database: `test.db`, or its server database.
    pub fn url(&self) -> String {
        match &self.server {
            Some(db) => db.url(),
            None => self.url_of("test.db"),
        }
    }

    /// Runs SQL on the sandbox's database.
    pub fn execute(&self, sql: &str) {
        match &self.server {
            Some(db) => db.execute(sql),
            None => self.execute_on("test.db", sql),
        }
    }

    /// Runs SQL on a database file of the sandbox (created if missing), written for SQLite
    /// or for every backend (see [`Backend::dialect`]).
    pub fn execute_on(&self, db_file: &str, sql: &str) {
        if let Some(parent) = self.path(db_file).parent() {
            std::fs::create_dir_all(parent).expect("create the database's folder");
        }
        let conn = Connection::open(self.path(db_file)).expect("open the test database");
        conn.execute_batch(&Backend::Sqlite.dialect(sql))
            .expect("run the test's SQL");
    }

    /// Rows of a query on the sandbox's database, every value rendered as text (`NULL` for
    /// null).
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        match &self.server {
            Some(db) => db.query(sql),
            None => self.query_on("test.db", sql),
        }
    }

    pub fn query_on(&self, db_file: &str, sql: &str) -> Vec<Vec<String>> {
        rowport_testkit::sqlite_rows(&self.path(db_file), sql)
    }

    /// One value (the first column of the first row) of a query on `test.db`.
    pub fn scalar(&self, sql: &str) -> String {
        self.query(sql)
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .unwrap_or_else(|| panic!("no rows for {sql}"))
    }

    /// Every row of a table, ordered by its first column, each value tagged with its
    /// storage class (`int:1`, `text:a`, `real:2.5`, `null`): two dumps are equal only when
    /// the tables hold exactly the same values.
    pub fn dump(&self, table: &str) -> Vec<Vec<String>> {
        match &self.server {
            Some(db) => db.dump(table),
            None => self.dump_on("test.db", table),
        }
    }

    pub fn dump_on(&self, db_file: &str, table: &str) -> Vec<Vec<String>> {
        rowport_testkit::sqlite_dump(&self.path(db_file), table)
    }

    /// `rowport --db URL ARGS…` on the sandbox's database, run in the sandbox.
    pub fn rowport(&self, args: &[&str]) -> Run {
        let url = self.url();
        let mut all = vec!["--db", url.as_str()];
        all.extend_from_slice(args);
        self.rowport_bare(&all)
    }

    /// `rowport ARGS…`, run in the sandbox with nothing added (the database then comes from
    /// the arguments or a `rowport.toml`).
    pub fn rowport_bare(&self, args: &[&str]) -> Run {
        self.rowport_in(self.root(), args)
    }

    /// `rowport ARGS…`, run in the sandbox with extra environment variables.
    pub fn rowport_env(&self, vars: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = self.command(self.root(), args);
        command.envs(vars.iter().copied());
        run(command)
    }

    /// `rowport ARGS…`, run in `dir`.
    pub fn rowport_in(&self, dir: &Path, args: &[&str]) -> Run {
        run(self.command(dir, args))
    }

    /// `rowport --db URL ARGS…` reading `stdin`, run in the sandbox.
    pub fn rowport_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let url = self.url();
        let mut all = vec!["--db", url.as_str()];
        all.extend_from_slice(args);
        let mut command = self.command(self.root(), &all);
        command.write_stdin(stdin.to_vec());
        run(command)
    }

    /// `rowport --db sqlite://…/test.db ARGS…` with its address space capped at `cap_kib`
    /// KiB (`ulimit -v`), reading `stdin` as the test streams it. A run that needs more
    /// memory than the cap dies (Rust aborts when an allocation fails), which this reports
    /// as a test failure rather than as a run.
    pub fn rowport_capped(&self, cap_kib: u64, args: &[&str], stdin: Stream) -> Run {
        let binary = assert_cmd::cargo::cargo_bin("rowport");
        let url = self.url();
        let mut command = std::process::Command::new("bash");
        command
            .arg("-c")
            .arg(format!("ulimit -v {cap_kib} && exec \"$0\" \"$@\""))
            .arg(&binary)
            .args(["--db", url.as_str()])
            .args(args)
            .current_dir(self.root())
            .env_remove("ROWPORT_DATABASE_URL")
            .env_remove("RUST_BACKTRACE")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start rowport under bash");
        let mut pipe = child.stdin.take().expect("the child's standard input");
        // The child stops reading at its first error; the write then fails, which ends this.
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_to(&mut pipe);
        });
        let output = child.wait_with_output().expect("wait for rowport");
        feeder.join().expect("the feeding thread ends");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let Some(code) = output.status.code() else {
            panic!(
                "rowport was killed ({}), most likely for going past the memory cap of {cap_kib} KiB\n--- stderr\n{stderr}",
                output.status
            );
        };
        let run = Run {
            code,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
            stdout_bytes: output.stdout,
        };
        run.assert_no_internals();
        run
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("rowport").expect("the rowport binary is built");
        command
            .current_dir(dir)
            .env_remove("ROWPORT_DATABASE_URL")
            .env_remove("RUST_BACKTRACE")
            .env("NO_COLOR", "1")
            .args(args);
        command
    }
}

/// The address-space cap, in KiB, that the hostile-file tests run rowport under. Far less
/// than their inputs would need if a limit did not hold; `hostile.rs` checks first that an
/// ordinary import fits under it.
pub const MEMORY_CAP_KIB: u64 = 512 * 1024;

/// An input streamed to a child's standard input without ever being held whole: `head`,
/// then `body` repeated until `body_bytes` bytes of it have gone, then `tail`.
pub struct Stream {
    pub head: Vec<u8>,
    pub body: Vec<u8>,
    pub body_bytes: u64,
    pub tail: Vec<u8>,
}

impl Stream {
    /// A small input, given whole.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Stream {
        Stream {
            head: bytes.into(),
            body: Vec::new(),
            body_bytes: 0,
            tail: Vec::new(),
        }
    }

    /// `head`, then `body` repeated for `body_bytes` bytes, then `tail`.
    pub fn repeat(head: &str, body: &str, body_bytes: u64, tail: &str) -> Stream {
        Stream {
            head: head.as_bytes().to_vec(),
            body: body.as_bytes().to_vec(),
            body_bytes,
            tail: tail.as_bytes().to_vec(),
        }
    }

    fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(&self.head)?;
        if !self.body.is_empty() {
            // Whole copies of the body in 1 MiB blocks, then the rest of the last copy.
            let copies = ((1 << 20) / self.body.len()).max(1);
            let block = self.body.repeat(copies);
            let mut left = self.body_bytes;
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                out.write_all(&block[..n])?;
                left -= n as u64;
            }
        }
        out.write_all(&self.tail)?;
        out.flush()
    }
}

fn run(mut command: Command) -> Run {
    let output = command.output().expect("run rowport");
    let run = Run {
        code: output
            .status
            .code()
            .expect("rowport exited (not killed by a signal)"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout_bytes: output.stdout,
    };
    run.assert_no_internals();
    run
}

/// Rows written as string slices, for comparing with [`Sandbox::query`].
pub fn rows(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|row| row.iter().map(|v| (*v).to_owned()).collect())
        .collect()
}

/// What one run of `rowport` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
}

impl Run {
    /// Panics, showing everything the run printed, unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        self.expect_code(0)
    }

    /// Panics unless stderr has a line equal to `line`.
    #[track_caller]
    pub fn stderr_has_line(&self, line: &str) -> &Run {
        assert!(
            self.stderr.lines().any(|l| l == line),
            "stderr has no line {line:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    /// Panics unless stderr contains `text`.
    #[track_caller]
    pub fn stderr_contains(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr does not contain {text:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    /// Panics when stderr contains `text`.
    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Run {
        assert!(
            !self.stderr.contains(text),
            "stderr contains {text:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    /// The first stderr line starting with `prefix`.
    #[track_caller]
    pub fn stderr_line(&self, prefix: &str) -> &str {
        self.stderr
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no stderr line starts with {prefix:?}\n{}", self.stderr))
    }

    /// The import summary line without its timing: `3 rows: 1 new, … 0 errors`.
    #[track_caller]
    pub fn summary(&self) -> String {
        let line = self
            .stderr
            .lines()
            .find(|l| is_summary(l))
            .unwrap_or_else(|| panic!("no summary line on stderr\n{}", self.stderr));
        strip_timing(line)
    }

    /// The summary's counts without the row count (whose noun differs for one row):
    /// `1 new, 0 updated, …, 0 errors`.
    #[track_caller]
    pub fn totals(&self) -> String {
        let summary = self.summary();
        match summary.split_once(": ") {
            Some((_, totals)) => totals.to_owned(),
            None => panic!("summary without counts: {summary}"),
        }
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n--- stdout\n{}", self.stdout))
    }

    /// Panics when the output shows a crash or Rust internals rather than a message.
    #[track_caller]
    fn assert_no_internals(&self) {
        for (stream, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            // Exported or `--json` data may hold escaped quotes; messages may not.
            let escaped_quote = stream == "stderr" && text.contains("\\\"");
            if let Some(bad) = internal_marker(text).or(escaped_quote.then(|| "\\\"".to_owned())) {
                panic!(
                    "{stream} shows Rust internals ({bad:?}), exit code {}\n--- stdout\n{}\n--- stderr\n{}",
                    self.code, self.stdout, self.stderr
                );
            }
        }
        assert!(
            self.code != 101,
            "exit code 101 is a panic\n--- stderr\n{}",
            self.stderr
        );
    }
}

/// What would give away a panic, a backtrace, a `Debug` dump or a Rust type name.
fn internal_marker(text: &str) -> Option<String> {
    const MARKERS: &[&str] = &[
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "::",
        "Error {",
        "Error(",
        "Os {",
        "kind: ",
        "Some(",
        "None)",
        "Err(",
        "Ok(",
        "Custom {",
        "(os error",
        ".tmp",
    ];
    if let Some(m) = MARKERS.iter().find(|m| text.contains(*m)) {
        return Some((*m).to_owned());
    }
    // CamelCase words such as `FormatError` or `StoreErrorKind`.
    text.split(|c: char| !c.is_alphanumeric())
        .find(|word| {
            let capitals = word.chars().filter(char::is_ascii_uppercase).count();
            word.starts_with(|c: char| c.is_ascii_uppercase())
                && capitals >= 2
                && word.chars().any(|c| c.is_ascii_lowercase())
                && (word.ends_with("Error") || word.ends_with("Kind") || word.ends_with("Store"))
        })
        .map(str::to_owned)
}

fn is_summary(line: &str) -> bool {
    let digits = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ',');
    digits.len() < line.len() && (digits.starts_with(" rows: ") || digits.starts_with(" row: "))
}

/// `3 rows: … 0 errors (0.01 s)` → `3 rows: … 0 errors`.
pub fn strip_timing(line: &str) -> String {
    match line.rfind(" (") {
        Some(i) if line.ends_with(" s)") => line[..i].to_owned(),
        _ => line.to_owned(),
    }
}

/// insta settings that replace timings such as `(0.01 s)` with `([time] s)`, so the
/// snapshots of what users read hold still.
pub fn untimed() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\(\d+\.\d+ s\)", "([time] s)");
    settings
}

/// The django-import-export fixture folder, when it is there (it lives outside the
/// repository). When it is missing, says so on stderr and returns `None`.
pub fn dje_fixtures() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/django-import-export");
    if dir.is_dir() {
        Some(dir.canonicalize().expect("canonical fixture path"))
    } else {
        eprintln!(
            "{} not found: django-import-export fixture tests skipped",
            dir.display()
        );
        None
    }
}
