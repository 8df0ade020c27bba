//! `rowport export`: round trips through CSV and JSON back into a database, field
//! selection, encodings, and failures that must leave no file behind.

mod common;

use common::{Sandbox, LIBRARY_CONFIG, LIBRARY_SCHEMA};

/// Books written straight with SQL (not through rowport), with the awkward values: commas,
/// quotes, a line break, accents, nulls, integer and real prices, no author, no category.
const BOOKS_SQL: &str = r#"
INSERT INTO book (isbn, name, author_email, published, price, in_stock, author_id) VALUES
    ('111', 'The Dispossessed', 'ursula@example.com', '1974-05-01', 8.99, 1, 1),
    ('222', 'Invisible Cities, a novel', NULL, NULL, NULL, 0, 2),
    ('333', 'The "mirror" edition', 'o@example.com', '1979-06-01', 12, 1, NULL),
    ('444', 'Café über alles
second line', 'cafe@example.com', '2001-01-01', 0.5, 0, 3);
INSERT INTO book_categories (book_id, category_id) VALUES
    (1, 1), (1, 4), (2, 2), (4, 3), (4, 1), (4, 2);
"#;

/// The library with [`BOOKS_SQL`] in `test.db` and the library's config.
fn library_with_books() -> Sandbox {
    let sandbox = Sandbox::with_schema(LIBRARY_SCHEMA);
    sandbox.execute(BOOKS_SQL);
    sandbox.write("rowport.toml", LIBRARY_CONFIG);
    sandbox
}

/// Each book by isbn with its author's name and its categories' names: what must survive
/// a round trip whatever the ids.
const BOOKS_BY_NAME: &str = "SELECT b.isbn, b.name, a.name, b.author_email, b.published, \
    b.price, typeof(b.price), b.in_stock, \
    (SELECT group_concat(name, '|') FROM (SELECT c.name FROM book_categories bc \
        JOIN category c ON c.id = bc.category_id WHERE bc.book_id = b.id ORDER BY c.name)) \
    FROM book b LEFT JOIN author a ON a.id = b.author_id ORDER BY b.isbn";

/// Exports the books as `format`, imports the file into `copy.db` (the same schema, no
/// books), and checks the copy holds the same books, authors and links.
#[track_caller]
fn assert_round_trip(format: &str) {
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
    // Imported in order into empty tables, even the ids and stored types match.
    assert_eq!(sandbox.dump_on("copy.db", "book"), sandbox.dump("book"));

    // Importing the same file again changes nothing.
    let again = sandbox.rowport_bare(&["--db", &copy, "import", "book", &file]);
    again.success();
    assert_eq!(
        again.summary(),
        "4 rows: 0 new, 0 updated, 4 skipped, 0 deleted, 0 invalid, 0 errors"
    );

    // And the copy exports byte for byte the same file.
    sandbox
        .rowport_bare(&["--db", &copy, "export", format, "book", "-o", "again.out"])
        .success();
    assert_eq!(
        String::from_utf8_lossy(&sandbox.read("again.out")),
        String::from_utf8_lossy(&sandbox.read(&file))
    );
}

#[test]
fn csv_round_trip_keeps_books_authors_and_categories() {
    assert_round_trip("csv");
}

#[test]
fn json_round_trip_keeps_books_authors_and_categories() {
    assert_round_trip("json");
}

#[test]
fn tsv_round_trip_keeps_books_authors_and_categories() {
    assert_round_trip("tsv");
}

#[test]
fn csv_export_names_authors_and_joins_categories() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--fields",
        "isbn,author,categories",
    ]);
    run.success()
        .stderr_contains("exported 4 rows to standard output");
    let mut lines: Vec<&str> = run.stdout.lines().collect();
    let header = lines.remove(0);
    assert_eq!(header, "isbn,author,categories");
    // Category order within a cell is not promised; compare the sets.
    let parsed: Vec<(String, String, Vec<&str>)> = lines
        .iter()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let mut categories: Vec<&str> = cells[2].split('|').filter(|c| !c.is_empty()).collect();
            categories.sort_unstable();
            (cells[0].to_owned(), cells[1].to_owned(), categories)
        })
        .collect();
    assert_eq!(
        parsed,
        vec![
            (
                "111".into(),
                "Ursula K. Le Guin".into(),
                vec!["Fiction", "Science"]
            ),
            ("222".into(), "Italo Calvino".into(), vec!["Poetry"]),
            ("333".into(), String::new(), vec![]),
            (
                "444".into(),
                "Octavia E. Butler".into(),
                vec!["Fiction", "History", "Poetry"]
            ),
        ]
    );
}

#[test]
fn json_export_is_an_array_of_objects_with_typed_values() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&[
        "export",
        "json",
        "book",
        "--fields",
        "isbn,price,in_stock,published",
    ]);
    run.success();
    let books = run.json();
    assert_eq!(
        books,
        serde_json::json!([
            {"isbn": "111", "price": "8.99", "in_stock": true, "published": "1974-05-01"},
            {"isbn": "222", "price": null, "in_stock": false, "published": null},
            {"isbn": "333", "price": "12.00", "in_stock": true, "published": "1979-06-01"},
            {"isbn": "444", "price": "0.50", "in_stock": false, "published": "2001-01-01"},
        ])
    );
    let keys: Vec<&String> = books[0].as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["isbn", "price", "in_stock", "published"]);
}

#[test]
fn fields_option_chooses_and_orders_the_columns() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&["export", "csv", "book", "--fields", "isbn,name"]);
    run.success();
    assert_eq!(
        run.stdout,
        "isbn,name\n\
         111,The Dispossessed\n\
         222,\"Invisible Cities, a novel\"\n\
         333,\"The \"\"mirror\"\" edition\"\n\
         444,\"Café über alles\nsecond line\"\n"
    );
    let reversed = sandbox.rowport(&["export", "csv", "book", "--fields", "name,isbn"]);
    reversed.success();
    assert_eq!(
        reversed.stdout.lines().take(2).collect::<Vec<_>>(),
        ["name,isbn", "The Dispossessed,111"]
    );
}

#[test]
fn tsv_export_separates_with_tabs() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&["export", "tsv", "book", "--fields", "isbn,author"]);
    run.success();
    assert_eq!(
        run.stdout.lines().take(2).collect::<Vec<_>>(),
        ["isbn\tauthor", "111\tUrsula K. Le Guin"]
    );
}

#[test]
fn failing_export_to_a_file_leaves_no_file_behind() {
    let sandbox = library_with_books();
    let before = sandbox.listing();
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--fields",
        "isbn,nope",
        "-o",
        "out.csv",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr_line("error: ").contains("\"nope\""),
        "{}",
        run.stderr
    );
    assert_eq!(
        sandbox.listing(),
        before,
        "no file, not even a temporary one"
    );
}

#[test]
fn failing_export_keeps_an_existing_file_as_it_was() {
    let sandbox = library_with_books();
    sandbox.write("out.csv", "precious,old\n1,2\n");
    sandbox
        .rowport(&["export", "csv", "book", "--fields", "nope", "-o", "out.csv"])
        .expect_code(2);
    assert_eq!(sandbox.read("out.csv"), b"precious,old\n1,2\n");
}

#[test]
fn successful_export_replaces_an_existing_file() {
    let sandbox = library_with_books();
    sandbox.write("out.csv", "precious,old\n1,2\n");
    sandbox
        .rowport(&["export", "csv", "book", "--fields", "isbn", "-o", "out.csv"])
        .success();
    assert_eq!(sandbox.read("out.csv"), b"isbn\n111\n222\n333\n444\n");
}

#[test]
fn utf8_sig_export_starts_with_a_bom() {
    let sandbox = library_with_books();
    sandbox
        .rowport(&[
            "export",
            "csv",
            "book",
            "--fields",
            "isbn,name",
            "--encoding",
            "utf-8-sig",
            "-o",
            "excel.csv",
        ])
        .success();
    let bytes = sandbox.read("excel.csv");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    assert!(bytes[3..].starts_with(b"isbn,name\n"));
    assert_eq!(
        bytes.iter().filter(|b| **b == 0xEF).count(),
        1,
        "one BOM only"
    );
}

#[test]
fn latin1_export_writes_latin1_bytes() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--fields",
        "name",
        "--encoding",
        "latin1",
    ]);
    run.success();
    assert!(
        run.stdout_bytes.windows(4).any(|w| w == b"Caf\xE9"),
        "é is the byte E9"
    );
}

#[test]
fn latin1_export_of_a_value_latin1_cannot_hold_fails_and_leaves_no_file() {
    let sandbox = library_with_books();
    sandbox.execute("UPDATE book SET name = 'Łódź 東京' WHERE isbn = '222';");
    let before = sandbox.listing();
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--encoding",
        "latin1",
        "-o",
        "out.csv",
    ]);
    run.expect_code(1).stderr_contains("hint: ");
    assert_eq!(sandbox.listing(), before);
}

#[test]
fn unknown_resource_suggests_the_close_name() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&["export", "csv", "bok"]);
    run.expect_code(2).stderr_contains("did you mean \"book\"");
    assert!(run.stdout.is_empty());
}

#[test]
fn unknown_resource_far_from_any_name_suggests_nothing() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&["export", "csv", "zzzzzzzz"]);
    run.expect_code(2)
        .stderr_contains("\"zzzzzzzz\"")
        .stderr_lacks("did you mean");
}

#[test]
fn unknown_export_format_is_a_usage_error() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&["export", "docx", "book", "-o", "out.docx"]);
    run.expect_code(2).stderr_contains("\"docx\"");
    assert!(!sandbox.path("out.docx").exists());
}

#[test]
fn unknown_export_encoding_is_a_usage_error() {
    let sandbox = library_with_books();
    sandbox
        .rowport(&["export", "csv", "book", "--encoding", "klingon"])
        .expect_code(2)
        .stderr_contains("klingon");
}

#[test]
fn export_of_an_undeclared_table_uses_its_columns() {
    let sandbox = library_with_books();
    let run = sandbox.rowport(&["export", "csv", "author"]);
    run.success();
    assert_eq!(
        run.stdout,
        "id,name,birthday\n\
         1,Ursula K. Le Guin,1929-10-21\n\
         2,Italo Calvino,1923-10-15\n\
         3,Octavia E. Butler,1947-06-22\n"
    );
}
