//! Export over HTTP: bytes, file name, chosen fields, filters, selection, formula escaping.

mod common;

use axum::http::StatusCode;
use common::Site;
use rowport_formats::{open_reader, Format, ReadOptions, Row};

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn the_export_form_lists_fields_and_formats() {
    let site = Site::new();
    let root = site.login("root").await;
    let page = site
        .get("/r/book/export?q=dune&f=in_stock:1", Some(&root))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has(r#"<input type="checkbox" name="fields" value="isbn" id="field-book-isbn" data-field="field-book" checked> Isbn (isbn)"#), "{}", page.text);
    assert!(page.has(r#"id="select-all-book" data-select-all="field-book""#));
    assert!(page.has(r#"<option value="xlsx">XLSX</option>"#));
    assert!(
        !page.has(r#"<option value="xls">"#),
        "xls cannot be written"
    );
    assert!(page.has(r#"<input type="hidden" name="q" value="dune">"#));
    assert!(page.has(r#"<input type="hidden" name="f" value="in_stock:1">"#));
    assert!(page.has("matching “dune”"));
}

#[tokio::test]
async fn csv_export_streams_the_chosen_fields_with_a_dated_name() {
    let site = Site::new();
    let exporter = site.login("exporter").await;
    let page = site
        .post(
            "/r/book/export",
            &exporter,
            &[
                ("format", "csv"),
                ("fields", "isbn"),
                ("fields", "author"),
                ("fields", "price"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.header("content-type"), "text/csv");
    assert_eq!(
        page.header("content-disposition"),
        format!("attachment; filename=\"book-{}.csv\"", today())
    );
    assert_eq!(
        page.text,
        "isbn,author,price\n9780000000001,Frank Herbert,12.34\n9780000000002,Jane Austen,8.50\n9780000000003,Jane Austen,9.99\n"
    );
}

#[tokio::test]
async fn export_keeps_the_search_filters_and_selection() {
    let site = Site::new();
    let root = site.login("root").await;
    let fields = [("format", "csv"), ("fields", "name")];
    let search = site
        .post(
            "/r/book/export",
            &root,
            &[fields[0], fields[1], ("q", "sion")],
        )
        .await;
    assert_eq!(search.text, "name\nPersuasion\n");
    let filter = site
        .post(
            "/r/book/export",
            &root,
            &[fields[0], fields[1], ("f", "in_stock:1")],
        )
        .await;
    assert_eq!(filter.text, "name\nDune\nPersuasion\n");
    // "Export selected" from the change list: the form first, then the file.
    let chosen = site
        .post(
            "/r/book/export",
            &root,
            &[("step", "choose"), ("selected", "1"), ("selected", "3")],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::OK);
    assert!(chosen.has("Export 2 selected rows."), "{}", chosen.text);
    assert!(chosen.has(r#"<input type="hidden" name="selected" value="3">"#));
    let selected = site
        .post(
            "/r/book/export",
            &root,
            &[fields[0], fields[1], ("selected", "1"), ("selected", "3")],
        )
        .await;
    assert_eq!(selected.text, "name\nDune\nPersuasion\n");
    let none = site
        .post("/r/book/export", &root, &[("step", "choose")])
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert!(none.has("Select at least one row to export."));
}

#[tokio::test]
async fn export_refuses_no_fields_and_formats_outside_the_allow_list() {
    let site = Site::with("export_formats = [\"csv\"]", |a| a);
    let root = site.login("root").await;
    let page = site
        .post("/r/book/export", &root, &[("format", "csv")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Select at least one field of &quot;book&quot; to export."));
    let page = site
        .post(
            "/r/book/export",
            &root,
            &[("format", "xlsx"), ("fields", "isbn")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Choose a format (accepted: csv)."));
}

#[tokio::test]
async fn spreadsheet_exports_escape_formulas() {
    let site = Site::new();
    site.db()
        .execute(
            "INSERT INTO book (isbn, name, in_stock) VALUES ('x1', '=HYPERLINK(\"http://evil\")', 1), ('x2', '@SUM(A1)', 1), ('x3', '-2+3', 1), ('x4', '\tTab', 1)",
            [],
        )
        .unwrap();
    let root = site.login("root").await;
    let csv = site
        .post(
            "/r/book/export",
            &root,
            &[("format", "csv"), ("fields", "name"), ("q", "x")],
        )
        .await;
    // Search "x" matches the isbns x1..x4 (and nothing else).
    assert_eq!(
        csv.text,
        "name\n\"'=HYPERLINK(\"\"http://evil\"\")\"\n'@SUM(A1)\n'-2+3\n'\tTab\n"
    );
    let json = site
        .post(
            "/r/book/export",
            &root,
            &[("format", "json"), ("fields", "name"), ("q", "x1")],
        )
        .await;
    assert!(
        json.text.contains(r#""=HYPERLINK(\"http://evil\")""#),
        "JSON is not a spreadsheet: {}",
        json.text
    );
    let xlsx = site
        .post(
            "/r/book/export",
            &root,
            &[
                ("format", "xlsx"),
                ("fields", "isbn"),
                ("fields", "name"),
                ("q", "x2"),
            ],
        )
        .await;
    assert_eq!(
        xlsx.header("content-disposition"),
        format!("attachment; filename=\"book-{}.xlsx\"", today())
    );
    let mut reader = open_reader(
        Format::Xlsx,
        Box::new(std::io::Cursor::new(xlsx.bytes.clone())),
        "export.xlsx",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(reader.headers(), ["isbn", "name"]);
    let mut row = Row::default();
    assert!(reader.read_row(&mut row).unwrap());
    assert_eq!(row.cells[0], rowport::Cell::Text("x2".into()));
    assert_eq!(row.cells[1], rowport::Cell::Text("'@SUM(A1)".into()));
    assert!(!reader.read_row(&mut row).unwrap());
}

#[tokio::test]
async fn escaping_can_be_turned_off() {
    let site = Site::with("escape_formulae = false", |a| a);
    site.db()
        .execute(
            "INSERT INTO book (isbn, name, in_stock) VALUES ('x1', '=1+1', 1)",
            [],
        )
        .unwrap();
    let root = site.login("root").await;
    let csv = site
        .post(
            "/r/book/export",
            &root,
            &[("format", "csv"), ("fields", "name"), ("q", "x1")],
        )
        .await;
    assert_eq!(csv.text, "name\n=1+1\n");
}
