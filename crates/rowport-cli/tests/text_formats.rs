//! Text files as people bring them: encodings detected and reported, CSV dialects sniffed,
//! formats guessed from the content of files without an extension and of standard input.

mod common;

use common::{rows, Run, Sandbox, SIMPLE_BOOK_SCHEMA};

const BOOKS_SQL: &str = "SELECT id, name, author_email FROM book ORDER BY id";

/// Imports `bytes`, written as `file`, with `--json` and the `extra` arguments, into an empty
/// book table; checks it succeeded.
#[track_caller]
fn import(file: &str, bytes: &[u8], extra: &[&str]) -> (Sandbox, Run) {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write(file, bytes);
    let mut args = vec!["import", "book", file, "--json"];
    args.extend_from_slice(extra);
    let run = sandbox.rowport(&args);
    run.success();
    (sandbox, run)
}

// ---------------------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------------------

/// A CSV of books with these names (ids 1, 2, …).
fn books_csv(names: &[&str]) -> String {
    let mut csv = String::from("id,name,author_email\r\n");
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("{},{name},reader{i}@example.com\r\n", i + 1));
    }
    csv
}

fn expected_books(names: &[&str]) -> Vec<Vec<String>> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            vec![
                (i + 1).to_string(),
                (*name).to_owned(),
                format!("reader{i}@example.com"),
            ]
        })
        .collect()
}

/// `text` in the encoding labelled `label`.
fn encode(text: &str, label: &str) -> Vec<u8> {
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).expect("a known label");
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "{label} holds every character of the test");
    bytes.into_owned()
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
    for unit in units {
        bytes.extend_from_slice(&if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

/// Imports the books `names` from `bytes` without `--encoding`, checks the rows arrived
/// intact and the report names `encoding` found by `source`; returns the run.
#[track_caller]
fn assert_encoding(bytes: &[u8], names: &[&str], encoding: &str, source: &str) -> Run {
    let (sandbox, run) = import("books.csv", bytes, &[]);
    assert_eq!(sandbox.query(BOOKS_SQL), expected_books(names));
    assert_eq!(
        run.json()["encoding"],
        serde_json::json!({"name": encoding, "source": source})
    );
    run
}

const LATIN: &[&str] = &[
    "Merci à toi",
    "Café über alles",
    "Señor Niño",
    "Garçon déjà vu",
];

#[test]
fn utf8_is_detected_and_needs_no_note() {
    let run = assert_encoding(books_csv(LATIN).as_bytes(), LATIN, "UTF-8", "detected");
    run.stderr_lacks("note:");
}

#[test]
fn utf8_with_a_bom_is_named_by_it() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(books_csv(LATIN).as_bytes());
    assert_encoding(&bytes, LATIN, "UTF-8", "byte-order mark").stderr_lacks("note:");
}

#[test]
fn utf16_little_endian_with_a_bom() {
    let bytes = utf16(&books_csv(LATIN), false, true);
    assert_encoding(&bytes, LATIN, "UTF-16LE", "byte-order mark")
        .stderr_has_line("note: books.csv read as UTF-16LE (byte-order mark)");
}

#[test]
fn utf16_big_endian_with_a_bom() {
    let bytes = utf16(&books_csv(LATIN), true, true);
    assert_encoding(&bytes, LATIN, "UTF-16BE", "byte-order mark");
}

#[test]
fn utf16_without_a_bom_is_detected() {
    let bytes = utf16(&books_csv(LATIN), false, false);
    assert_encoding(&bytes, LATIN, "UTF-16LE", "detected");
}

#[test]
fn windows_1252_and_latin1_are_detected() {
    let names = [
        "Merci à toi",
        "“Quoted” for 5 €",
        "Señor Niño",
        "Garçon déjà vu",
    ];
    let bytes = encode(&books_csv(&names), "windows-1252");
    assert!(
        bytes.contains(&0xE0) && bytes.contains(&0x80),
        "single bytes for à and €"
    );
    assert_encoding(&bytes, &names, "windows-1252", "detected").stderr_has_line(
        "note: books.csv read as windows-1252 (detected; pass --encoding to choose another)",
    );
    // ISO-8859-1 is the same bytes for these letters; the web's name for both is windows-1252.
    let bytes = encode(&books_csv(LATIN), "iso-8859-1");
    assert_encoding(&bytes, LATIN, "windows-1252", "detected");
}

#[test]
fn shift_jis_is_detected() {
    let names = ["吾輩は猫である", "雪国", "ノルウェイの森", "羅生門"];
    let bytes = encode(&books_csv(&names), "shift_jis");
    assert_encoding(&bytes, &names, "Shift_JIS", "detected");
}

#[test]
fn gbk_is_detected() {
    let names = ["红楼梦", "西游记", "三国演义", "水浒传"];
    let bytes = encode(&books_csv(&names), "gbk");
    assert_encoding(&bytes, &names, "GBK", "detected");
}

#[test]
fn a_given_encoding_is_reported_as_given() {
    let bytes = encode(&books_csv(LATIN), "windows-1252");
    let (sandbox, run) = import("books.csv", &bytes, &["--encoding", "latin1"]);
    assert_eq!(sandbox.query(BOOKS_SQL), expected_books(LATIN));
    assert_eq!(
        run.json()["encoding"],
        serde_json::json!({"name": "windows-1252", "source": "given"})
    );
    run.stderr_has_line("note: books.csv read as windows-1252 (given)");
}

#[test]
fn encodings_are_detected_in_every_text_format() {
    let names = ["Merci à toi", "Café über alles"];
    let cases = [
        ("books.json", "[{\"id\": 1, \"name\": \"Merci à toi\", \"author_email\": \"reader0@example.com\"},\n {\"id\": 2, \"name\": \"Café über alles\", \"author_email\": \"reader1@example.com\"}]"),
        ("books.jsonl", "{\"id\": 1, \"name\": \"Merci à toi\", \"author_email\": \"reader0@example.com\"}\n{\"id\": 2, \"name\": \"Café über alles\", \"author_email\": \"reader1@example.com\"}\n"),
        ("books.yaml", "- id: 1\n  name: Merci à toi\n  author_email: reader0@example.com\n- id: 2\n  name: Café über alles\n  author_email: reader1@example.com\n"),
        ("books.html", "<table><tr><th>id</th><th>name</th><th>author_email</th></tr><tr><td>1</td><td>Merci à toi</td><td>reader0@example.com</td></tr><tr><td>2</td><td>Café über alles</td><td>reader1@example.com</td></tr></table>"),
    ];
    for (file, text) in cases {
        let (sandbox, run) = import(file, &encode(text, "windows-1252"), &[]);
        assert_eq!(sandbox.query(BOOKS_SQL), expected_books(&names), "{file}");
        assert_eq!(run.json()["encoding"]["name"], "windows-1252", "{file}");
    }
}

// ---------------------------------------------------------------------------------------
// CSV dialects
// ---------------------------------------------------------------------------------------

/// Imports a two-book CSV written with `delimiter` and quoting names with `quote`, and
/// checks the books and the dialect the report names.
#[track_caller]
fn assert_dialect(delimiter: &str, quote: &str, extra: &[&str]) {
    let q = quote;
    let d = delimiter;
    let text = format!(
        "id{d}name{d}author_email\n1{d}{q}One{d} with the delimiter{q}{d}a@example.com\n2{d}{q}Two {q}{q}quoted{q}{q}{q}{d}b@example.com\n"
    );
    let (sandbox, run) = import("books.csv", text.as_bytes(), extra);
    assert_eq!(
        sandbox.query(BOOKS_SQL),
        rows(&[
            &["1", &format!("One{d} with the delimiter"), "a@example.com"],
            &["2", &format!("Two {q}quoted{q}"), "b@example.com"],
        ]),
        "delimiter {d:?}, quote {q:?}"
    );
    let report = run.json();
    assert_eq!(report["delimiter"], delimiter);
    assert_eq!(report["quote"], quote);
    assert_eq!(report["format"], "csv");
}

#[test]
fn a_comma_is_sniffed() {
    assert_dialect(",", "\"", &[]);
}

#[test]
fn a_semicolon_is_sniffed() {
    assert_dialect(";", "\"", &[]);
}

#[test]
fn a_tab_is_sniffed_even_in_a_csv_file() {
    assert_dialect("\t", "\"", &[]);
}

#[test]
fn a_pipe_is_sniffed() {
    assert_dialect("|", "\"", &[]);
}

#[test]
fn a_single_quote_is_sniffed() {
    assert_dialect(";", "'", &[]);
}

#[test]
fn delimiter_and_quote_flags_are_used() {
    assert_dialect("|", "'", &["--delimiter", "|", "--quote", "'"]);
    assert_dialect("\t", "\"", &["--delimiter", "tab"]);
}

#[test]
fn the_delimiter_flag_wins_over_sniffing() {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write("books.csv", "id;name\n1;Semi\n2;Colon\n");
    // Told the file is comma-separated, rowport sees one column named "id;name".
    sandbox
        .rowport(&["import", "book", "books.csv", "--delimiter", ","])
        .expect_code(1)
        .stderr_contains("the file's columns are: id;name");
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}

#[test]
fn a_delimiter_that_is_not_one_character_is_a_usage_error() {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write("books.csv", "id,name\n1,x\n");
    sandbox
        .rowport(&["import", "book", "books.csv", "--delimiter", ";;"])
        .expect_code(2)
        .stderr_contains("\";;\" is not one character");
    sandbox
        .rowport(&[
            "import",
            "book",
            "books.csv",
            "--format",
            "json",
            "--delimiter",
            ";",
        ])
        .expect_code(2)
        .stderr_contains("--delimiter and --quote apply to csv and tsv files");
}

#[test]
fn export_takes_a_delimiter() {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.execute("INSERT INTO book (id, name, price) VALUES (1, 'A; B', 2.5), (2, 'C', NULL);");
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--fields",
        "id,name,price",
        "--delimiter",
        ";",
    ]);
    run.success();
    assert_eq!(run.stdout, "id;name;price\n1;\"A; B\";2.50\n2;C;\n");
    // And what it wrote is sniffed back.
    sandbox.write("out.csv", run.stdout_bytes.clone());
    sandbox.execute("DELETE FROM book;");
    sandbox.rowport(&["import", "book", "out.csv"]).success();
    assert_eq!(
        sandbox.query("SELECT id, name, price FROM book ORDER BY id"),
        rows(&[&["1", "A; B", "2.5"], &["2", "C", "NULL"]])
    );
    sandbox
        .rowport(&["export", "json", "book", "--delimiter", ";"])
        .expect_code(2)
        .stderr_contains("--delimiter applies to csv and tsv");
}

// ---------------------------------------------------------------------------------------
// Formats guessed from content
// ---------------------------------------------------------------------------------------

const TWO_BOOKS: &[&[&str]] = &[
    &["1", "Dune", "a@example.com"],
    &["2", "Emma", "b@example.com"],
];

/// The same two books in each text format.
fn two_books_as(format: &str) -> String {
    match format {
        "csv" => "id,name,author_email\n1,Dune,a@example.com\n2,Emma,b@example.com\n".to_owned(),
        "tsv" => "id\tname\tauthor_email\n1\tDune\ta@example.com\n2\tEmma\tb@example.com\n".to_owned(),
        "json" => r#"[{"id": 1, "name": "Dune", "author_email": "a@example.com"}, {"id": 2, "name": "Emma", "author_email": "b@example.com"}]"#.to_owned(),
        "jsonl" => "{\"id\": 1, \"name\": \"Dune\", \"author_email\": \"a@example.com\"}\n{\"id\": 2, \"name\": \"Emma\", \"author_email\": \"b@example.com\"}\n".to_owned(),
        "yaml" => "---\n- id: 1\n  name: Dune\n  author_email: a@example.com\n- id: 2\n  name: Emma\n  author_email: b@example.com\n".to_owned(),
        "html" => "<!DOCTYPE html>\n<html><body><table>\n<tr><th>id</th><th>name</th><th>author_email</th></tr>\n<tr><td>1</td><td>Dune</td><td>a@example.com</td></tr>\n<tr><td>2</td><td>Emma</td><td>b@example.com</td></tr>\n</table></body></html>\n".to_owned(),
        other => panic!("no sample for {other}"),
    }
}

#[test]
fn a_file_without_an_extension_is_read_by_its_content() {
    for format in ["csv", "tsv", "json", "jsonl", "yaml", "html"] {
        let (sandbox, run) = import("data", two_books_as(format).as_bytes(), &[]);
        assert_eq!(sandbox.query(BOOKS_SQL), rows(TWO_BOOKS), "{format}");
        assert_eq!(run.json()["format"], format);
        run.stderr_has_line(&format!(
            "note: data read as {format}, from its content (pass --format to choose another)"
        ));
    }
}

#[test]
fn an_unknown_extension_is_read_by_its_content() {
    let (sandbox, run) = import("books.txt", two_books_as("tsv").as_bytes(), &[]);
    assert_eq!(sandbox.query(BOOKS_SQL), rows(TWO_BOOKS));
    assert_eq!(run.json()["format"], "tsv");
}

#[test]
fn standard_input_is_read_by_its_content() {
    for format in ["csv", "json", "yaml"] {
        let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
        let run = sandbox.rowport_stdin(&["import", "book", "-"], two_books_as(format).as_bytes());
        run.success().stderr_has_line(&format!(
            "note: standard input read as {format}, from its content (pass --format to choose another)"
        ));
        assert_eq!(sandbox.query(BOOKS_SQL), rows(TWO_BOOKS), "{format}");
    }
}

#[test]
fn the_extension_and_the_format_flag_come_before_the_content() {
    // JSON Lines content in a .csv file is read as CSV, as the name says.
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write("odd.csv", two_books_as("jsonl"));
    sandbox
        .rowport(&["import", "book", "odd.csv", "--json"])
        .expect_code(1)
        .stderr_lacks("note:");
    let (sandbox, run) = import(
        "odd.csv",
        two_books_as("jsonl").as_bytes(),
        &["--format", "jsonl"],
    );
    assert_eq!(sandbox.query(BOOKS_SQL), rows(TWO_BOOKS));
    assert_eq!(run.json()["format"], "jsonl");
}

#[test]
fn workbooks_are_recognised_by_their_signature() {
    let zip_member = |name: &str, data: &[u8]| {
        let mut bytes =
            b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    };
    let xlsx = [
        zip_member("[Content_Types].xml", b"<Types/>"),
        zip_member("xl/workbook.xml", b"<workbook/>"),
    ]
    .concat();
    let ods = zip_member(
        "mimetype",
        b"application/vnd.oasis.opendocument.spreadsheet",
    );
    let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00\x00\x00".to_vec();
    for (format, bytes) in [("xlsx", xlsx), ("ods", ods), ("xls", xls)] {
        let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
        sandbox.write("upload", bytes);
        // These are only signatures, not whole workbooks: what matters here is the guess.
        sandbox
            .rowport(&["import", "book", "upload"])
            .stderr_has_line(&format!(
                "note: upload read as {format}, from its content (pass --format to choose another)"
            ))
            .stderr_lacks("cannot tell the format");
    }
}

#[test]
fn content_that_is_no_known_format_is_a_usage_error() {
    let sandbox = Sandbox::with_schema(SIMPLE_BOOK_SCHEMA);
    sandbox.write("blob", b"\x00\x01\x02\x03binary\x00\xFF");
    let run = sandbox.rowport(&["import", "book", "blob"]);
    run.expect_code(2)
        .stderr_has_line("error: cannot tell the format of blob from its name or its content")
        .stderr_has_line("hint: pass --format csv, tsv, json, jsonl, yaml, html, xlsx, xls or ods");
    assert!(sandbox.query("SELECT * FROM book").is_empty());
}
