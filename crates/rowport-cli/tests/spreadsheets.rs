//! Workbooks through the real binary: XLSX and ODS round trips, django-import-export's
//! workbooks, `--sheet`, typed cells into typed columns, XLS refused as an export, and
//! hostile workbooks refused by a process whose memory is capped.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::{rows, Sandbox, LIBRARY_CONFIG, LIBRARY_SCHEMA};
use rowport_formats::{open_reader, Cell, Format, ReadOptions, Row};
use rust_xlsxwriter::{ExcelDateTime, Format as Style, Formula, Workbook};

/// Books written with SQL, with the values that are easy to lose: a comma, quotes, a line
/// break, accents, nulls, whole and fractional prices, no author, no category.
const BOOKS_SQL: &str = r#"
INSERT INTO book (isbn, name, author_email, published, price, in_stock, author_id) VALUES
    ('007', 'The Dispossessed', 'ursula@example.com', '1974-05-01', 8.99, 1, 1),
    ('222', 'Invisible Cities, a novel', NULL, NULL, NULL, 0, 2),
    ('333', 'The "mirror" edition', 'o@example.com', '1979-06-01', 12, 1, NULL),
    ('444', 'Café über alles
second line', 'cafe@example.com', '2001-01-01', 0.5, 0, 3);
INSERT INTO book_categories (book_id, category_id) VALUES
    (1, 1), (1, 4), (2, 2), (4, 3), (4, 1), (4, 2);
"#;

/// Each book by isbn with its author's name and its categories' names, and the storage
/// class of the price: what must survive a round trip whatever the ids.
const BOOKS_BY_NAME: &str = "SELECT b.isbn, b.name, a.name, b.author_email, b.published, \
    b.price, typeof(b.price), b.in_stock, \
    (SELECT group_concat(name, '|') FROM (SELECT c.name FROM book_categories bc \
        JOIN category c ON c.id = bc.category_id WHERE bc.book_id = b.id ORDER BY c.name)) \
    FROM book b LEFT JOIN author a ON a.id = b.author_id ORDER BY b.isbn";

fn library_with_books() -> Sandbox {
    let sandbox = Sandbox::with_schema(LIBRARY_SCHEMA);
    sandbox.execute(BOOKS_SQL);
    sandbox.write("rowport.toml", LIBRARY_CONFIG);
    sandbox
}

/// Exports the library's books as `format`, imports the file into an empty copy, and
/// checks the copy holds the same books, typed as they were.
#[track_caller]
fn assert_library_round_trip(format: &str) {
    let sandbox = library_with_books();
    let file = format!("books.{format}");
    sandbox
        .rowport(&["export", format, "book", "-o", &file])
        .success()
        .stderr_contains(&format!("exported 4 rows to {file}"));

    sandbox.execute_on("copy.db", LIBRARY_SCHEMA);
    let copy = sandbox.url_of("copy.db");
    let run = sandbox.rowport_bare(&["--db", &copy, "import", "book", &file]);
    run.success();
    assert_eq!(
        run.summary(),
        "4 rows: 4 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(
        sandbox.query_on("copy.db", BOOKS_BY_NAME),
        sandbox.query(BOOKS_BY_NAME),
        "books differ after a {format} round trip"
    );
    assert_eq!(sandbox.dump_on("copy.db", "book"), sandbox.dump("book"));
    assert_eq!(
        sandbox.dump_on("copy.db", "book_categories"),
        sandbox.dump("book_categories")
    );

    let again = sandbox.rowport_bare(&["--db", &copy, "import", "book", &file]);
    again.success();
    assert_eq!(
        again.summary(),
        "4 rows: 0 new, 0 updated, 4 skipped, 0 deleted, 0 invalid, 0 errors"
    );
}

#[test]
fn xlsx_round_trip_keeps_books_authors_and_categories() {
    assert_library_round_trip("xlsx");
}

#[test]
fn ods_round_trip_keeps_books_authors_and_categories() {
    assert_library_round_trip("ods");
}

/// The demo's books exported as `format` and imported into a copy of the demo database
/// whose books were deleted: the tables are equal again, datetimes included.
#[track_caller]
fn assert_demo_round_trip(format: &str) {
    let sandbox = Sandbox::new();
    sandbox.rowport_bare(&["demo", "--path", "demo"]).success();
    let demo = sandbox.path("demo");
    let file = format!("books.{format}");
    sandbox
        .rowport_in(&demo, &["export", format, "book", "-o", &file])
        .success();
    std::fs::copy(demo.join("demo.db"), demo.join("copy.db")).expect("copy the demo database");
    sandbox.execute_on(
        "demo/copy.db",
        "DELETE FROM book_categories; DELETE FROM book; DELETE FROM sqlite_sequence WHERE name IN ('book', 'book_categories');",
    );
    let copy = sandbox.url_of("demo/copy.db");
    let run = sandbox.rowport_in(&demo, &["--db", &copy, "import", "book", &file]);
    run.success();
    assert_eq!(
        run.summary(),
        "5 rows: 5 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    for table in ["book", "book_categories"] {
        assert_eq!(
            sandbox.dump_on("demo/copy.db", table),
            sandbox.dump_on("demo/demo.db", table),
            "{table} after a {format} round trip"
        );
    }
}

#[test]
fn xlsx_round_trip_of_the_demo() {
    assert_demo_round_trip("xlsx");
}

#[test]
fn ods_round_trip_of_the_demo() {
    assert_demo_round_trip("ods");
}

/// The cells of a workbook as rowport reads them.
fn cells_of(path: &Path, format: Format) -> (Vec<String>, Vec<Vec<Cell>>) {
    let file = std::fs::File::open(path).expect("the exported workbook");
    let mut reader = open_reader(format, Box::new(file), "out", &ReadOptions::default())
        .expect("a readable workbook");
    let headers = reader.headers().to_vec();
    let mut row = Row::default();
    let mut cells = Vec::new();
    while reader.read_row(&mut row).expect("a row") {
        cells.push(row.cells.clone());
    }
    (headers, cells)
}

#[test]
fn exported_workbooks_hold_typed_cells() {
    let sandbox = library_with_books();
    for (format, kind) in [("xlsx", Format::Xlsx), ("ods", Format::Ods)] {
        let file = format!("typed.{format}");
        sandbox
            .rowport(&[
                "export",
                format,
                "book",
                "--fields",
                "isbn,published,price,in_stock,author_email",
                "-o",
                &file,
            ])
            .success();
        let (headers, cells) = cells_of(&sandbox.path(&file), kind);
        assert_eq!(
            headers,
            ["isbn", "published", "price", "in_stock", "author_email"]
        );
        let date = chrono::NaiveDate::from_ymd_opt(1974, 5, 1).expect("a date");
        assert_eq!(
            cells[0],
            [
                // Text stays text, leading zeros and all.
                Cell::Text("007".into()),
                Cell::Date(date),
                // Decimals are numbers (shown with their own decimal places), and read
                // back as the same decimal.
                Cell::Float(8.99),
                Cell::Bool(true),
                Cell::Text("ursula@example.com".into()),
            ],
            "{format}"
        );
        assert_eq!(cells[1][1], Cell::Empty, "{format}: a null date");
    }
}

#[test]
fn timezone_aware_datetimes_export_as_their_wall_clock() {
    let sandbox = Sandbox::with_schema(
        "CREATE TABLE event (id INTEGER PRIMARY KEY, name TEXT NOT NULL, starts DATETIME NULL);\
         INSERT INTO event VALUES (1, 'launch', '2021-03-04 12:30:00+02:00'), (2, 'naive', '2021-03-04 08:00:00');",
    );
    let noon_thirty = chrono::NaiveDate::from_ymd_opt(2021, 3, 4)
        .and_then(|d| d.and_hms_opt(12, 30, 0))
        .expect("a date and time");
    let eight = chrono::NaiveDate::from_ymd_opt(2021, 3, 4)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .expect("a date and time");
    for (format, kind) in [("xlsx", Format::Xlsx), ("ods", Format::Ods)] {
        let file = format!("events.{format}");
        sandbox
            .rowport(&["export", format, "event", "-o", &file])
            .success();
        let (_, cells) = cells_of(&sandbox.path(&file), kind);
        assert_eq!(cells[0][2], Cell::DateTime(noon_thirty), "{format}");
        assert_eq!(cells[1][2], Cell::DateTime(eight), "{format}");
    }
    // Text formats keep the offset.
    let csv = sandbox.rowport(&["export", "csv", "event"]);
    csv.success();
    assert!(
        csv.stdout.contains("launch,2021-03-04 12:30:00+02:00"),
        "{}",
        csv.stdout
    );
}

// ---------------------------------------------------------------------------------------
// Workbooks made as Excel makes them (shared strings, styles), by rust_xlsxwriter

/// A workbook with a "Notes" sheet first, then "Books" (the active one) holding the cells
/// that django-import-export gets wrong, then "Later".
fn books_workbook(path: &Path) {
    let mut workbook = Workbook::new();
    let bold = Style::new().set_bold();
    let date_style = Style::new().set_num_format("dd/mm/yyyy");
    let notes = workbook.add_worksheet();
    notes.set_name("Notes").expect("a sheet name");
    notes
        .write_string(0, 0, "Books are on the next sheet")
        .expect("a cell");

    let books = workbook.add_worksheet();
    books.set_name("Books").expect("a sheet name");
    books.set_active(true);
    let header = [
        " isbn ",
        "name",
        "published",
        "price",
        "in_stock",
        "author",
        "author_email",
    ];
    for (col, name) in header.iter().enumerate() {
        books
            .write_string_with_format(0, col as u16, *name, &bold)
            .expect("a header cell");
    }
    // A number in a text column, a date cell, an exact price, a boolean, a formula.
    books.write_number(1, 0, 9780000012345.0).expect("a cell");
    books.write_number(1, 1, 66.0).expect("a cell");
    let published = ExcelDateTime::from_ymd(2019, 4, 23).expect("a date");
    books
        .write_datetime_with_format(1, 2, &published, &date_style)
        .expect("a cell");
    books.write_number(1, 3, 12.34).expect("a cell");
    books.write_boolean(1, 4, true).expect("a cell");
    books
        .write_formula(
            1,
            5,
            Formula::new("=\"Italo \"&\"Calvino\"").set_result("Italo Calvino"),
        )
        .expect("a cell");
    books
        .write_formula(
            1,
            6,
            Formula::new("=LOWER(\"X@EXAMPLE.COM\")").set_result("x@example.com"),
        )
        .expect("a cell");
    // Text that looks like a number, a date without its format (an Excel serial), a
    // price from a formula.
    books.write_string(2, 0, "007").expect("a cell");
    books.write_string(2, 1, "Licence to kill").expect("a cell");
    books.write_number(2, 2, 43578.0).expect("a cell");
    books
        .write_formula(2, 3, Formula::new("=ABS(-4)").set_result("4"))
        .expect("a cell");
    books.write_number(2, 4, 0.0).expect("a cell");
    // Phantom formatting far below and to the right.
    books.write_blank(5000, 40, &bold).expect("a cell");

    let later = workbook.add_worksheet();
    later.set_name("Later").expect("a sheet name");
    later.write_string(0, 0, "isbn").expect("a cell");
    later.write_string(0, 1, "name").expect("a cell");
    later.write_string(1, 0, "999").expect("a cell");
    later.write_string(1, 1, "Later book").expect("a cell");
    workbook.save(path).expect("save the workbook");
}

const BOOKS_TYPED: &str =
    "SELECT b.isbn, b.name, b.published, b.price, typeof(b.price), b.in_stock, a.name, b.author_email \
     FROM book b LEFT JOIN author a ON a.id = b.author_id ORDER BY b.isbn";

#[test]
fn workbook_cells_land_in_typed_columns() {
    let sandbox = Sandbox::with_schema(LIBRARY_SCHEMA);
    sandbox.write("rowport.toml", LIBRARY_CONFIG);
    books_workbook(&sandbox.path("books.xlsx"));
    let run = sandbox.rowport(&["import", "book", "books.xlsx"]);
    run.success();
    assert_eq!(
        run.summary(),
        "2 rows: 2 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );
    assert_eq!(
        sandbox.query(BOOKS_TYPED),
        rows(&[
            // Leading zeros kept; a serial number in a date column is a date; a formula's
            // cached value.
            &[
                "007",
                "Licence to kill",
                "2019-04-23",
                "4",
                "integer",
                "0",
                "NULL",
                "NULL"
            ],
            // A whole number into a text column is "66", never "66.0".
            &[
                "9780000012345",
                "66",
                "2019-04-23",
                "12.34",
                "real",
                "1",
                "Italo Calvino",
                "x@example.com"
            ],
        ])
    );
}

#[test]
fn sheet_is_chosen_by_name_or_position_and_defaults_to_the_active_one() {
    let sandbox = Sandbox::with_schema(LIBRARY_SCHEMA);
    sandbox.write("rowport.toml", LIBRARY_CONFIG);
    books_workbook(&sandbox.path("books.xlsx"));
    let isbns = |sandbox: &Sandbox| sandbox.query("SELECT isbn FROM book ORDER BY isbn");

    sandbox
        .rowport(&["import", "book", "books.xlsx", "--sheet", "Later"])
        .success();
    assert_eq!(isbns(&sandbox), rows(&[&["999"]]));
    sandbox
        .rowport(&["import", "book", "books.xlsx", "--sheet", "1", "--dry-run"])
        .success()
        .stderr_contains("2 rows: 2 new");
    sandbox
        .rowport(&["import", "book", "books.xlsx", "--dry-run"])
        .success()
        .stderr_contains("2 rows: 2 new");

    sandbox
        .rowport(&["import", "book", "books.xlsx", "--sheet", "Sales"])
        .expect_code(1)
        .stderr_has_line(
            "error: books.xlsx: the workbook has no sheet named \"Sales\" (its sheets are \"Notes\", \"Books\", \"Later\")",
        );
    sandbox
        .rowport(&["import", "book", "books.xlsx", "--sheet", "3"])
        .expect_code(1)
        .stderr_contains("the workbook has no sheet 3 (sheets are numbered from 0; it has 3:");
    sandbox.write("books.csv", "isbn,name\n1,a\n");
    sandbox
        .rowport(&["import", "book", "books.csv", "--sheet", "Books"])
        .expect_code(2)
        .stderr_has_line(
            "error: --sheet chooses a worksheet of a workbook, and books.csv is read as csv",
        );
    assert_eq!(isbns(&sandbox), rows(&[&["999"]]));
}

#[test]
fn workbook_from_standard_input() {
    let sandbox = Sandbox::with_schema(LIBRARY_SCHEMA);
    sandbox.write("rowport.toml", LIBRARY_CONFIG);
    books_workbook(&sandbox.path("books.xlsx"));
    let bytes = sandbox.read("books.xlsx");
    sandbox
        .rowport_stdin(
            &[
                "import", "book", "-", "--format", "xlsx", "--sheet", "Later",
            ],
            &bytes,
        )
        .success();
    assert_eq!(sandbox.query("SELECT isbn FROM book"), rows(&[&["999"]]));
}

#[test]
fn xls_export_is_refused_with_a_pointer_to_xlsx() {
    let sandbox = library_with_books();
    sandbox
        .rowport(&["export", "xls", "book", "-o", "books.xls"])
        .expect_code(2)
        .stderr_has_line(
            "error: rowport reads xls files but cannot write them; export to xlsx instead",
        );
    assert!(!sandbox.path("books.xls").exists());
    assert!(!sandbox.listing().iter().any(|name| name.starts_with('.')));
}

// ---------------------------------------------------------------------------------------
// django-import-export's workbooks

/// django-import-export's core book model, as Django creates it on SQLite.
const CORE_BOOK: &str = r#"
CREATE TABLE book (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(100) NOT NULL,
    author_email VARCHAR(75) NOT NULL DEFAULT '',
    price DECIMAL(10, 2) NULL
);
"#;

#[track_caller]
fn import_fixture(file: &str) -> Option<Sandbox> {
    let fixtures = common::dje_fixtures()?;
    let sandbox = Sandbox::with_schema(CORE_BOOK);
    let url = sandbox.url();
    let path = fixtures.join(file);
    let path = path.to_str().expect("a UTF-8 fixture path");
    let run = sandbox.rowport_bare(&["--db", &url, "import", "book", path]);
    run.success();
    assert_eq!(
        run.totals(),
        "1 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors",
        "{file}"
    );
    Some(sandbox)
}

#[test]
fn dje_books_xlsx_formula_imports_as_its_value() {
    let Some(sandbox) = import_fixture("books.xlsx") else {
        return;
    };
    assert_eq!(
        sandbox.query("SELECT id, name, author_email, price FROM book"),
        rows(&[&["1", "Some book", "test@example.com", "4"]])
    );
}

#[test]
fn dje_books_xls() {
    let Some(sandbox) = import_fixture("books.xls") else {
        return;
    };
    assert_eq!(
        sandbox.query("SELECT id, name, author_email, price FROM book"),
        rows(&[&["1", "Some book", "test@example.com", "NULL"]])
    );
}

// ---------------------------------------------------------------------------------------
// Hostile workbooks, read by a process whose address space is capped

/// The address space the capped process gets. A normal import needs far less (a few tens
/// of MiB); each hostile file below would need far more if it were expanded.
const ADDRESS_SPACE_KIB: u64 = 256 * 1024;

/// What a capped run did.
struct Capped {
    code: Option<i32>,
    stderr: String,
}

/// `rowport --db … import book FILE` with its address space capped by `ulimit -v`.
fn import_capped(sandbox: &Sandbox, file: &str) -> Capped {
    let rowport = assert_cmd::cargo::cargo_bin("rowport");
    let url = sandbox.url();
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB}; exec \"$0\" \"$@\""))
        .arg(rowport)
        .args(["--db", &url, "import", "book", file])
        .current_dir(sandbox.root())
        .env_remove("ROWPORT_DATABASE_URL")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run rowport under bash");
    Capped {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Capped {
    #[track_caller]
    fn refused(&self, line: &str) {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit code 1 (killed or crashed when None)\n{}",
            self.stderr
        );
        assert!(
            self.stderr.lines().any(|l| l == line),
            "stderr has no line {line:?}\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }
}

/// A zip archive written by hand, so that members can be inflated from repeated chunks
/// and can lie about their size.
struct Zip {
    bytes: Vec<u8>,
    central: Vec<u8>,
    count: u16,
}

impl Zip {
    fn new() -> Zip {
        Zip {
            bytes: Vec::new(),
            central: Vec::new(),
            count: 0,
        }
    }

    /// A deflated member whose data is `raw`.
    fn member(self, name: &str, raw: &[u8]) -> Zip {
        let data = deflate(raw, true);
        let crc = crc32(raw);
        self.raw_member(name, &data, crc, raw.len() as u32)
    }

    /// A member from deflated `data`, declaring `crc` and `declared_size`.
    fn raw_member(mut self, name: &str, data: &[u8], crc: u32, declared_size: u32) -> Zip {
        let offset = self.bytes.len() as u32;
        let header = |signature: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&signature.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // needed to extract
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&8u16.to_le_bytes()); // deflated
            h.extend_from_slice(&0u32.to_le_bytes()); // time and date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&declared_size.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        self.bytes.extend(header(0x0403_4b50, false));
        self.bytes.extend_from_slice(data);
        self.central.extend(header(0x0201_4b50, true));
        self.count += 1;
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(&self.central);
        self.bytes.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.bytes.extend_from_slice(&[0; 4]);
        self.bytes.extend_from_slice(&self.count.to_le_bytes());
        self.bytes.extend_from_slice(&self.count.to_le_bytes());
        self.bytes
            .extend_from_slice(&(self.central.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&start.to_le_bytes());
        self.bytes.extend_from_slice(&0u16.to_le_bytes());
        self.bytes
    }
}

/// Raw deflate of `data`; `last` ends the stream, otherwise the output ends on a byte
/// boundary with no final block, so that copies of it can be chained.
fn deflate(data: &[u8], last: bool) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("deflate");
    if last {
        encoder.finish().expect("deflate")
    } else {
        encoder.flush().expect("deflate");
        encoder.get_ref().clone()
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut hasher = flate2::Crc::new();
    hasher.update(data);
    hasher.sum()
}

/// The deflated form of `head`, then `chunk` `times` over, then `tail`, without ever
/// holding the expanded data: each piece is deflated alone (it refers to nothing before
/// it), so copies of a piece can follow each other.
fn repeated(head: &[u8], chunk: &[u8], times: usize, tail: &[u8]) -> Vec<u8> {
    let mut data = deflate(head, false);
    let once = deflate(chunk, false);
    for _ in 0..times {
        data.extend_from_slice(&once);
    }
    data.extend(deflate(tail, true));
    data
}

const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>isbn</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>"#;

/// A workbook whose sheet (and shared strings, when given) are `sheet` and `strings`.
fn workbook_with(sheet: (&[u8], u32, u32), strings: Option<&str>) -> Vec<u8> {
    let rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
    let workbook = r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Books" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let mut zip = Zip::new()
        .member("xl/workbook.xml", workbook.as_bytes())
        .member("xl/_rels/workbook.xml.rels", rels.as_bytes());
    if let Some(strings) = strings {
        zip = zip.member("xl/sharedStrings.xml", strings.as_bytes());
    }
    let (data, crc, declared) = sheet;
    zip.raw_member("xl/worksheets/sheet1.xml", data, crc, declared)
        .finish()
}

/// A plain sheet: the header, `rows`, the end.
fn sheet_of(rows: &str) -> Vec<u8> {
    let xml = format!("{SHEET_HEAD}{rows}</sheetData></worksheet>");
    workbook_with(
        (
            &deflate(xml.as_bytes(), true),
            crc32(xml.as_bytes()),
            xml.len() as u32,
        ),
        None,
    )
}

fn capped_sandbox() -> Sandbox {
    Sandbox::with_schema(
        "CREATE TABLE book (id INTEGER PRIMARY KEY, isbn TEXT NOT NULL, name TEXT NOT NULL);",
    )
}

#[test]
fn zip_bomb_is_refused_by_its_compression_ratio() {
    // 2 GiB of empty rows spaced out by blanks, in 2 MiB of file, declaring 1 KiB.
    let mut chunk = vec![b' '; 1 << 20];
    chunk.extend_from_slice(b"<row/>");
    let data = repeated(
        SHEET_HEAD.as_bytes(),
        &chunk,
        2048,
        b"</sheetData></worksheet>",
    );
    let sandbox = capped_sandbox();
    sandbox.write("bomb.xlsx", workbook_with((&data, 0, 1024), None));
    import_capped(&sandbox, "bomb.xlsx").refused(
        "error: bomb.xlsx: the compression ratio of xl/worksheets/sheet1.xml exceeds the limit of 200 to 1 (raise it with --max-compression-ratio or `limits.max_compression_ratio` in rowport.toml)",
    );
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

#[test]
fn a_cell_of_hundreds_of_megabytes_is_refused_while_it_is_read() {
    // 320 MiB of text in one cell, compressing about 100 to 1 (under the ratio limit).
    let block: Vec<u8> = (0..320u32)
        .map(|i| b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26)
        .collect();
    let chunk = block.repeat((1 << 20) / block.len());
    let head = format!(r#"{SHEET_HEAD}<row r="2"><c r="A2" t="inlineStr"><is><t>"#);
    let data = repeated(
        head.as_bytes(),
        &chunk,
        320,
        b"</t></is></c></row></sheetData></worksheet>",
    );
    let sandbox = capped_sandbox();
    sandbox.write("big.xlsx", workbook_with((&data, 0, 1024), None));
    import_capped(&sandbox, "big.xlsx").refused(
        "error: big.xlsx, row 2: a cell exceeds the limit of 32 MiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)",
    );
}

#[test]
fn entity_expansion_is_refused_in_shared_strings_and_sheets() {
    let mut laughs = String::from(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lolololololololololololololololol">"#,
    );
    for i in 1..=12 {
        let previous = format!("&lol{};", i - 1).repeat(10);
        laughs.push_str(&format!(r#"<!ENTITY lol{i} "{previous}">"#));
    }
    laughs.push_str("]>");
    let sandbox = capped_sandbox();
    let strings = format!(
        r#"{laughs}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol12;</t></si></sst>"#
    );
    let sheet = format!(
        r#"{SHEET_HEAD}<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>"#
    );
    let xml = sheet.as_bytes();
    sandbox.write(
        "laughs.xlsx",
        workbook_with(
            (&deflate(xml, true), crc32(xml), xml.len() as u32),
            Some(&strings),
        ),
    );
    import_capped(&sandbox, "laughs.xlsx").refused(
        "error: laughs.xlsx: xl/sharedStrings.xml declares a document type (<!DOCTYPE>), which workbooks never do; rowport refuses it rather than expand the entities it may define",
    );

    let sheet = format!(
        r#"{laughs}{}<row r="2"><c r="A2" t="inlineStr"><is><t>&lol12;</t></is></c></row></sheetData></worksheet>"#,
        SHEET_HEAD.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    let xml = sheet.as_bytes();
    sandbox.write(
        "laughs-in-sheet.xlsx",
        workbook_with((&deflate(xml, true), crc32(xml), xml.len() as u32), None),
    );
    import_capped(&sandbox, "laughs-in-sheet.xlsx").refused(
        "error: laughs-in-sheet.xlsx: xl/worksheets/sheet1.xml declares a document type (<!DOCTYPE>), which workbooks never do; rowport refuses it rather than expand the entities it may define",
    );
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

#[test]
fn a_sheet_declaring_billions_of_cells_imports_what_it_holds() {
    // The dimension claims A1:XFD1048576 (17 billion cells); the last row has a formatted
    // empty cell in the last column. Only the cells there are cost anything.
    let sandbox = capped_sandbox();
    sandbox.write(
        "vast.xlsx",
        sheet_of(concat!(
            r#"<row r="2"><c r="A2" t="inlineStr"><is><t>111</t></is></c><c r="B2" t="inlineStr"><is><t>Dune</t></is></c></row>"#,
            r#"<row r="3"><c r="A3"><v>222</v></c><c r="B3" t="inlineStr"><is><t>Emma</t></is></c><c r="XFD3" s="0"/></row>"#,
            r#"<row r="1048576"><c r="XFD1048576" s="0"/></row>"#,
        )),
    );
    let run = import_capped(&sandbox, "vast.xlsx");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        sandbox.query("SELECT isbn, name FROM book ORDER BY isbn"),
        rows(&[&["111", "Dune"], &["222", "Emma"]])
    );
}
