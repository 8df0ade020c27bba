//! The web admin in a real browser: `rowport serve --demo` driven by headless Chromium
//! (e2e/admin.mjs, playwright-core) through login, an import with its diff, the change list,
//! column mapping and an XLSX export; then the demo database and the downloaded workbook are
//! checked from here. Screenshots of every page land in `<target>/e2e/`.
//!
//! Compiled in when `ROWPORT_TEST_BROWSER` names Chromium (`bash scripts/test` sets
//! `/usr/bin/chromium`; `bash scripts/setup` installs it and e2e/'s npm packages). When it is
//! set, a missing browser, node or npm package fails the test. Without it the test is listed
//! as ignored.

mod common;
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{rows, Sandbox};
use rowport_formats::{open_reader, Format, ReadOptions, Row};
use server::Server;

/// The demo's five books (as `rowport demo` writes them), with book #1 renamed, and one new
/// book: an import with one update, one new row and four skipped.
const CHANGED_BOOKS: &str = r#"isbn,name,author,author_email,published,price,in_stock,added,categories
9780000012345,River garden of the night #0,Author 0265,anna.ben12@example.com,2019-04-23,12.34,1,2021-03-04 12:30:00,Category 01|Category 06
9780000020264,"The silence engine, revised #1",Author 0007,carla.dmitri7@example.com,1987-11-02,8.50,0,2020-06-15 09:00:00,Category 03
9780000028183,"Winter, volume 2 #2",Author 0512,elena.farid301@example.com,2003-01-31,25.00,1,2022-12-01 18:45:10,Category 00|Category 11|Category 19
9780000036102,Café über alles #3,Author 0099,grace.hiro44@example.com,,,1,2023-02-28 07:05:00,Category 05
9780000044021,"The ""mirror"" edition #4",Author 0999,ines.jonas999@example.com,1950-07-14,199.99,0,2024-08-08 23:59:59,Category 02|Category 04
9780000067778,Paper lanterns #7,Author 0042,mira.noor42@example.com,2015-03-03,9.99,1,2024-02-02 08:00:00,Category 10
"#;

/// Headers a spreadsheet user might have typed: some close to the fields, two not at all
/// ("Title", "Writer"), one to ignore ("Shelf"). Book #0's price changes; book #8 is new.
const RENAMED_BOOKS: &str = r#"ISBN number,Title,Writer,Author e-mail,Published,Price,In stock,Added,Categories,Shelf
9780000012345,River garden of the night #0,Author 0265,anna.ben12@example.com,2019-04-23,14.00,1,2021-03-04 12:30:00,Category 01|Category 06,A3
9780000083616,Orchard of glass #8,Author 0010,nora.ode10@example.com,2008-08-08,31.50,0,2024-03-03 09:30:00,Category 09,B1
"#;

/// The browser the tests drive: `ROWPORT_TEST_BROWSER` as it was at build time (the switch
/// that compiled the test in), else as it is now.
fn browser() -> String {
    option_env!("ROWPORT_TEST_BROWSER")
        .map(str::to_owned)
        .or_else(|| std::env::var("ROWPORT_TEST_BROWSER").ok())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "/usr/bin/chromium".to_owned())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `<target>/e2e/<name>`, emptied: where the screenshots of one run go.
fn artifacts(name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .to_path_buf();
    let dir = target.join("e2e").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

/// Runs e2e/`script` with node and `args` (one JSON object); returns what it printed, parsed.
/// Fails, never skips, when the browser, node or the npm packages are missing.
fn run_script(script: &str, args: &serde_json::Value) -> serde_json::Value {
    let browser = browser();
    assert!(
        Path::new(&browser).is_file(),
        "ROWPORT_TEST_BROWSER is {browser}, which does not exist\n\
         hint: run `bash scripts/setup` (it installs Debian's chromium), or unset \
         ROWPORT_TEST_BROWSER and rebuild to leave the browser tests out"
    );
    let e2e = repo_root().join("e2e");
    assert!(
        e2e.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules/playwright-core is missing\nhint: run `bash scripts/setup`",
        e2e.display()
    );
    let mut args = args.clone();
    args["browser"] = browser.into();
    let output = Command::new("node")
        .current_dir(&e2e)
        .arg(script)
        .arg(args.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e})\nhint: install Node.js 18 or later"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "e2e/{script} failed ({}):\n{stderr}\nit saw: {stdout}",
        output.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("e2e/{script} printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// Header and rows of a workbook, every cell as text.
fn workbook(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let file = std::fs::File::open(path).expect("the downloaded workbook");
    let mut reader = open_reader(
        Format::Xlsx,
        Box::new(file),
        "download",
        &ReadOptions::default(),
    )
    .expect("a workbook rowport reads");
    let headers = reader.headers().to_vec();
    let mut row = Row::default();
    let mut out = Vec::new();
    while reader.read_row(&mut row).expect("a row of the workbook") {
        out.push(row.cells.iter().map(ToString::to_string).collect());
    }
    (headers, out)
}

#[test]
#[cfg_attr(
    not(rowport_browser_tests),
    ignore = "browser tests not run: set ROWPORT_TEST_BROWSER=/usr/bin/chromium (bash scripts/test does; bash scripts/setup installs it) and rebuild"
)]
fn admin_in_chromium_imports_maps_and_exports() {
    let sandbox = Sandbox::new();
    let changed = sandbox.write("books.csv", CHANGED_BOOKS);
    let renamed = sandbox.write("renamed.csv", RENAMED_BOOKS);
    let download = sandbox.path("download.xlsx");
    let server = Server::start(sandbox.root(), &[], &["--demo"]);
    let password = server
        .demo_password
        .clone()
        .expect("serve --demo prints the admin's password");
    let shots = artifacts("admin");

    let seen = run_script(
        "admin.mjs",
        &serde_json::json!({
            "base": server.base,
            "user": "admin",
            "password": password,
            "changed": changed,
            "renamed": renamed,
            "artifacts": shots,
            "download": download,
        }),
    );
    drop(server);

    // What the pages showed.
    assert_eq!(seen["rowsBefore"], 5, "{seen}");
    let totals = |new: u64, update: u64, skip: u64| serde_json::json!({"new": new, "update": update, "skip": skip, "delete": 0, "invalid": 0, "error": 0});
    assert_eq!(seen["previewTotals"], totals(1, 1, 4));
    assert_eq!(
        seen["diff"],
        serde_json::json!({
            "column": "name",
            "old": "The silence engine #1",
            "new": "The silence engine, revised #1",
        })
    );
    assert_eq!(seen["newName"], "Paper lanterns #7");
    assert_eq!(seen["resultTotals"], totals(1, 1, 4));
    assert_eq!(seen["rowsAfter"], 6);
    let listed = seen["listedNames"].to_string();
    assert!(
        listed.contains("The silence engine, revised #1") && listed.contains("Paper lanterns #7"),
        "the change list after the import: {listed}"
    );
    assert!(
        seen["phoneScrollWidth"].as_u64().expect("a width") <= 390,
        "at 390 px the page scrolls sideways: {}",
        seen["phoneScrollWidth"]
    );
    // Suggestions from the names; "Title" and "Writer" resemble no field.
    assert_eq!(
        seen["suggested"],
        serde_json::json!({
            "ISBN number": "isbn", "Title": "", "Writer": "", "Author e-mail": "author_email",
            "Published": "published", "Price": "price", "In stock": "in_stock",
            "Added": "added", "Categories": "categories", "Shelf": "",
        })
    );
    assert_eq!(seen["mappedPreviewTotals"], totals(1, 1, 0));
    assert_eq!(seen["mappedResultTotals"], totals(1, 1, 0));
    assert_eq!(seen["remembered"]["Writer"], "author");
    let today = chrono::Local::now().format("%Y-%m-%d");
    assert_eq!(seen["downloadName"], format!("book-{today}.xlsx"));
    assert_eq!(seen["afterLogout"], "login");

    // The database holds both imports.
    let books = sandbox.query_on(
        "rowport-demo/demo.db",
        "SELECT b.isbn, b.name, printf('%.2f', b.price), b.in_stock, a.name, \
           (SELECT group_concat(name, '|') FROM (SELECT c.name FROM book_categories bc \
             JOIN category c ON c.id = bc.category_id WHERE bc.book_id = b.id ORDER BY c.name)) \
         FROM book b JOIN author a ON a.id = b.author_id \
         WHERE b.isbn IN ('9780000012345', '9780000020264', '9780000067778', '9780000083616') \
         ORDER BY b.isbn",
    );
    assert_eq!(
        books,
        rows(&[
            &[
                "9780000012345",
                "River garden of the night #0",
                "14.00",
                "1",
                "Author 0265",
                "Category 01|Category 06"
            ],
            &[
                "9780000020264",
                "The silence engine, revised #1",
                "8.50",
                "0",
                "Author 0007",
                "Category 03"
            ],
            &[
                "9780000067778",
                "Paper lanterns #7",
                "9.99",
                "1",
                "Author 0042",
                "Category 10"
            ],
            &[
                "9780000083616",
                "Orchard of glass #8",
                "31.50",
                "0",
                "Author 0010",
                "Category 09"
            ],
        ])
    );
    assert_eq!(
        sandbox.query_on("rowport-demo/demo.db", "SELECT count(*) FROM book"),
        rows(&[&["7"]])
    );

    // The workbook: the two chosen columns, every book.
    let (headers, mut cells) = workbook(&download);
    assert_eq!(headers, ["isbn", "name"]);
    cells.sort();
    let expected = sandbox.query_on(
        "rowport-demo/demo.db",
        "SELECT isbn, name FROM book ORDER BY isbn",
    );
    assert_eq!(cells, expected);

    // A screenshot of every page, the change list at both widths among them.
    for shot in [
        "change-list-1280",
        "change-list-390",
        "preview",
        "map",
        "export",
    ] {
        let found = std::fs::read_dir(&shots)
            .expect("the screenshot folder")
            .filter_map(Result::ok)
            .any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(&format!("-{shot}.png"))
                    && e.metadata().is_ok_and(|m| m.len() > 1000)
            });
        assert!(found, "no screenshot {shot} in {}", shots.display());
    }
}
