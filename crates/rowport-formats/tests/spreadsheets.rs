//! Workbooks: XLSX, XLS and ODS read with their types, sheets chosen, phantom rows ignored,
//! rows written and read back, and hostile files refused. Files are made in the tests:
//! by hand (zip of XML), so that each case says exactly what the file holds, or by the
//! writers under test.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rowport_formats::{
    open_reader, open_writer, Cell, Format, FormatError, Limits, ReadOptions, Row, SheetRef,
    WriteOptions,
};
use zip::write::SimpleFileOptions;

// ---------------------------------------------------------------------------------------
// Making files

/// A zip archive of `(name, content)` members, deflated.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in members {
        zip.start_file(*name, SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// An XLSX workbook made by hand.
struct Xlsx {
    /// (sheet name, the XML inside `<sheetData>`).
    sheets: Vec<(String, String)>,
    /// The items of the shared strings table (the XML inside `<sst>`), if it has one.
    strings: Option<String>,
    /// The number formats and cell formats of styles.xml, if it has one.
    styles: Option<String>,
    date_1904: bool,
    active: Option<usize>,
    /// What `<dimension>` declares.
    dimension: String,
}

impl Xlsx {
    fn new(rows: &str) -> Xlsx {
        Xlsx {
            sheets: vec![("Sheet1".to_owned(), rows.to_owned())],
            strings: None,
            styles: None,
            date_1904: false,
            active: None,
            dimension: "A1".to_owned(),
        }
    }

    fn strings(mut self, items: &str) -> Xlsx {
        self.strings = Some(items.to_owned());
        self
    }

    fn styles(mut self, styles: &str) -> Xlsx {
        self.styles = Some(styles.to_owned());
        self
    }

    fn sheet(mut self, name: &str, rows: &str) -> Xlsx {
        self.sheets.push((name.to_owned(), rows.to_owned()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut members: Vec<(String, Vec<u8>)> = Vec::new();
        let mut sheets = String::new();
        let mut rels = String::new();
        for (i, (name, rows)) in self.sheets.iter().enumerate() {
            let n = i + 1;
            sheets.push_str(&format!(
                r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
            ));
            rels.push_str(&format!(
                r#"<Relationship Id="rId{n}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>"#
            ));
            members.push((
                format!("xl/worksheets/sheet{n}.xml"),
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><dimension ref="{}"/><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetData>{rows}</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#,
                    self.dimension
                )
                .into_bytes(),
            ));
        }
        if let Some(items) = &self.strings {
            rels.push_str(&format!(
                r#"<Relationship Id="rIdS" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>"#
            ));
            members.push((
                "xl/sharedStrings.xml".to_owned(),
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">{items}</sst>"#
                )
                .into_bytes(),
            ));
        }
        if let Some(styles) = &self.styles {
            rels.push_str(&format!(
                r#"<Relationship Id="rIdT" Type="{REL_NS}/styles" Target="styles.xml"/>"#
            ));
            members.push((
                "xl/styles.xml".to_owned(),
                format!(r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN_NS}">{styles}</styleSheet>"#)
                    .into_bytes(),
            ));
        }
        let pr = if self.date_1904 {
            r#"<workbookPr date1904="1"/>"#
        } else {
            "<workbookPr/>"
        };
        let views = match self.active {
            Some(tab) => format!(r#"<bookViews><workbookView activeTab="{tab}"/></bookViews>"#),
            None => String::new(),
        };
        members.push((
            "xl/workbook.xml".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">{pr}{views}<sheets>{sheets}</sheets></workbook>"#
            )
            .into_bytes(),
        ));
        members.push((
            "xl/_rels/workbook.xml.rels".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
            )
            .into_bytes(),
        ));
        members.push((
            "_rels/.rels".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            )
            .into_bytes(),
        ));
        let members: Vec<(&str, &[u8])> = members
            .iter()
            .map(|(name, content)| (name.as_str(), content.as_slice()))
            .collect();
        zip_of(&members)
    }
}

/// An ODS workbook made by hand: the XML of each `<table:table>` (name, inner XML), and
/// the active table's name for settings.xml.
fn ods(tables: &[(&str, &str)], active: Option<&str>) -> Vec<u8> {
    let mut body = String::new();
    for (name, inner) in tables {
        body.push_str(&format!(
            r#"<table:table table:name="{name}">{inner}</table:table>"#
        ));
    }
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" office:version="1.3"><office:body><office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"#
    );
    let mut members: Vec<(&str, Vec<u8>)> = vec![
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet".to_vec(),
        ),
        ("content.xml", content.into_bytes()),
    ];
    if let Some(active) = active {
        members.push((
            "settings.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><office:document-settings xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"><office:settings><config:config-item-set config:name="ooo:view-settings"><config:config-item-map-indexed config:name="Views"><config:config-item-map-entry><config:config-item config:name="ActiveTable" config:type="string">{active}</config:config-item></config:config-item-map-entry></config:config-item-map-indexed></config:config-item-set></office:settings></office:document-settings>"#
            )
            .into_bytes(),
        ));
    }
    let members: Vec<(&str, &[u8])> = members.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    zip_of(&members)
}

// ---------------------------------------------------------------------------------------
// Reading

type Rows = Vec<(u64, Vec<Cell>)>;

fn read_with(
    format: Format,
    bytes: &[u8],
    options: &ReadOptions,
) -> Result<(Vec<String>, Rows), FormatError> {
    let mut reader = open_reader(format, Box::new(bytes), "book", options)?;
    let headers = reader.headers().to_vec();
    let mut row = Row::default();
    let mut rows = Vec::new();
    while reader.read_row(&mut row)? {
        rows.push((row.number, row.cells.clone()));
    }
    Ok((headers, rows))
}

fn read(format: Format, bytes: &[u8]) -> (Vec<String>, Rows) {
    read_with(format, bytes, &ReadOptions::default()).unwrap()
}

fn read_sheet(
    format: Format,
    bytes: &[u8],
    sheet: SheetRef,
) -> Result<(Vec<String>, Rows), String> {
    let options = ReadOptions {
        sheet: Some(sheet),
        ..ReadOptions::default()
    };
    read_with(format, bytes, &options).map_err(|e| e.to_string())
}

fn error_with(format: Format, bytes: &[u8], limits: Limits) -> FormatError {
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    match read_with(format, bytes, &options) {
        Ok((headers, rows)) => panic!(
            "expected an error, read {headers:?} and {} rows",
            rows.len()
        ),
        Err(error) => error,
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn datetime(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_opt(h, min, s).unwrap()
}

fn time(h: u32, m: u32, s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, s).unwrap()
}

fn strings(headers: &[String]) -> Vec<&str> {
    headers.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------
// XLSX: types

#[test]
fn xlsx_cells_keep_their_types() {
    let book = Xlsx::new(concat!(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t xml:space="preserve"> code </t></is></c><c r="C1" t="s"><v>1</v></c><c r="D1" t="s"><v>2</v></c><c r="E1" t="s"><v>3</v></c><c r="F1" t="s"><v>4</v></c></row>"#,
        r#"<row r="2"><c r="A2"><v>66</v></c><c r="B2" t="s"><v>5</v></c><c r="C2" t="inlineStr"><is><t>007</t></is></c><c r="D2"><v>66.5</v></c><c r="E2" t="b"><v>1</v></c><c r="F2"><v>-0</v></c></row>"#,
        r#"<row r="3"><c r="A3"><v>12345678901234</v></c><c r="B3" t="s"><v>6</v></c><c r="C3" t="s"><v>7</v></c><c r="D3"><v>1E+20</v></c><c r="E3" t="b"><v>0</v></c><c r="F3" t="inlineStr"><is><t></t></is></c></row>"#,
    ))
    .strings(concat!(
        "<si><t> id </t></si><si><t>price</t></si><si><t>text</t></si><si><t>yes</t></si><si><t>zero</t></si>",
        "<si><t>007</t></si>",
        // Rich text: runs joined, the phonetic guide left out.
        r#"<si><r><rPr><b/></rPr><t>Bold</t></r><r><t xml:space="preserve"> and plain</t></r><rPh sb="0" eb="1"><t>ボ</t></rPh></si>"#,
        // XML's escapes, a character reference, and OOXML's escape for a control character.
        "<si><t>a &lt;b&gt; &amp; &#233;_x000D_&#10;line</t></si>",
    ));
    let (headers, rows) = read(Format::Xlsx, &book.bytes());
    assert_eq!(
        strings(&headers),
        ["id", "code", "price", "text", "yes", "zero"]
    );
    assert_eq!(
        rows,
        [
            (
                2,
                vec![
                    Cell::Int(66),
                    text("007"),
                    text("007"),
                    Cell::Float(66.5),
                    Cell::Bool(true),
                    Cell::Int(0),
                ]
            ),
            (
                3,
                vec![
                    Cell::Int(12_345_678_901_234),
                    text("Bold and plain"),
                    text("a <b> & é\r\nline"),
                    Cell::Float(1e20),
                    Cell::Bool(false),
                    Cell::Empty,
                ]
            ),
        ]
    );
}

#[test]
fn xlsx_formulas_give_their_cached_values_and_errors_their_text() {
    let book = Xlsx::new(concat!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>abs</t></is></c><c r="B1" t="inlineStr"><is><t>joined</t></is></c><c r="C1" t="inlineStr"><is><t>ratio</t></is></c><c r="D1" t="inlineStr"><is><t>never</t></is></c><c r="E1" t="inlineStr"><is><t>iso</t></is></c></row>"#,
        r#"<row r="2"><c r="A2"><f>ABS(-4)</f><v>4</v></c><c r="B2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D2"><f>NOW()</f></c><c r="E2" t="d"><v>2024-05-06T11:22:33</v></c></row>"#,
    ));
    let (_, rows) = read(Format::Xlsx, &book.bytes());
    assert_eq!(
        rows,
        [(
            2,
            vec![
                Cell::Int(4),
                text("ab"),
                text("#DIV/0!"),
                Cell::Empty,
                Cell::DateTime(datetime(2024, 5, 6, 11, 22, 33)),
            ]
        )]
    );
}

/// Cell formats: 0 General, 1 a date, 2 a date and time, 3 a time (built in), 4 a custom
/// date and time, 5 a custom number, 6 an elapsed time (a duration: a number).
const DATE_STYLES: &str = concat!(
    r##"<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy\ hh:mm"/><numFmt numFmtId="165" formatCode="#,##0.00"/><numFmt numFmtId="166" formatCode="[h]:mm"/></numFmts>"##,
    r#"<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>"#,
    r#"<cellXfs count="7"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="22"/><xf numFmtId="21"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="166"/></cellXfs>"#,
);

fn dated_rows(serials: [&str; 7]) -> String {
    let mut header = String::from(r#"<row r="1">"#);
    let mut values = String::from(r#"<row r="2">"#);
    for (i, serial) in serials.iter().enumerate() {
        let column = (b'A' + i as u8) as char;
        header.push_str(&format!(
            r#"<c r="{column}1" t="inlineStr"><is><t>c{i}</t></is></c>"#
        ));
        values.push_str(&format!(r#"<c r="{column}2" s="{i}"><v>{serial}</v></c>"#));
    }
    format!("{header}</row>{values}</row>")
}

#[test]
fn xlsx_date_cells_in_the_1900_date_system() {
    let book = Xlsx::new(&dated_rows([
        "43831", "43831", "43831.5", "0.75", "43831.25", "25", "1.5",
    ]))
    .styles(DATE_STYLES);
    let (_, rows) = read(Format::Xlsx, &book.bytes());
    assert_eq!(
        rows[0].1,
        [
            Cell::Int(43831),
            Cell::Date(date(2020, 1, 1)),
            Cell::DateTime(datetime(2020, 1, 1, 12, 0, 0)),
            Cell::Time(time(18, 0, 0)),
            Cell::DateTime(datetime(2020, 1, 1, 6, 0, 0)),
            Cell::Int(25),
            Cell::Float(1.5),
        ]
    );
}

#[test]
fn xlsx_date_cells_in_the_1904_date_system() {
    let mut book = Xlsx::new(&dated_rows([
        "42369", "42369", "42369.5", "0.75", "0", "25", "1.5",
    ]))
    .styles(DATE_STYLES);
    book.date_1904 = true;
    let (_, rows) = read(Format::Xlsx, &book.bytes());
    assert_eq!(
        rows[0].1,
        [
            Cell::Int(42369),
            Cell::Date(date(2020, 1, 1)),
            Cell::DateTime(datetime(2020, 1, 1, 12, 0, 0)),
            Cell::Time(time(18, 0, 0)),
            Cell::Time(time(0, 0, 0)),
            Cell::Int(25),
            Cell::Float(1.5),
        ]
    );
}

#[test]
fn xlsx_serial_that_is_no_date_stays_a_number() {
    // Day 60 of the 1900 system is the 29 February 1900 that never was.
    let book =
        Xlsx::new(&dated_rows(["1", "60", "61", "-1", "3000000", "0", "0"])).styles(DATE_STYLES);
    let (_, rows) = read(Format::Xlsx, &book.bytes());
    assert_eq!(
        rows[0].1[1..5],
        [
            Cell::Int(60),
            Cell::DateTime(datetime(1900, 3, 1, 0, 0, 0)),
            Cell::Int(-1),
            Cell::Int(3_000_000),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// XLSX: sheets, header, phantom rows

fn named_rows(first: &str) -> String {
    format!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>{first}</t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row>"#
    )
}

#[test]
fn xlsx_sheet_by_name_by_position_or_the_active_one() {
    let mut book = Xlsx::new(&named_rows("books"))
        .sheet("Authors", &named_rows("authors"))
        .sheet("Empty", "");
    book.sheets[0].0 = "Books".to_owned();
    let first = book.bytes();
    assert_eq!(
        read(Format::Xlsx, &first).0,
        ["books"],
        "no active tab: the first"
    );
    book.active = Some(1);
    let bytes = book.bytes();
    assert_eq!(read(Format::Xlsx, &bytes).0, ["authors"], "the active tab");
    assert_eq!(
        read_sheet(Format::Xlsx, &bytes, SheetRef::Name("Books".into()))
            .unwrap()
            .0,
        ["books"]
    );
    assert_eq!(
        read_sheet(Format::Xlsx, &bytes, SheetRef::Index(0))
            .unwrap()
            .0,
        ["books"]
    );
    let (headers, rows) = read_sheet(Format::Xlsx, &bytes, "Empty".parse().unwrap()).unwrap();
    assert!(headers.is_empty() && rows.is_empty());
    assert_eq!(
        read_sheet(Format::Xlsx, &bytes, "Sales".parse().unwrap()).unwrap_err(),
        "book: the workbook has no sheet named \"Sales\" (its sheets are \"Books\", \"Authors\", \"Empty\")"
    );
    assert_eq!(
        read_sheet(Format::Xlsx, &bytes, SheetRef::Index(3)).unwrap_err(),
        "book: the workbook has no sheet 3 (sheets are numbered from 0; it has 3: \"Books\", \"Authors\", \"Empty\")"
    );
}

#[test]
fn xlsx_header_is_the_first_row_with_a_value_and_phantom_cells_are_ignored() {
    let mut book = Xlsx::new(concat!(
        // Formatted but empty cells before the header, a gap, then the header in row 3.
        r#"<row r="1"><c r="A1" s="1"/><c r="Z1" s="1"/></row>"#,
        r#"<row r="3" spans="1:3"><c r="A3" t="inlineStr"><is><t>id</t></is></c><c r="B3" t="inlineStr"><is><t> name </t></is></c><c r="C3" s="1"/><c r="XFD3" t="inlineStr"><is><t></t></is></c></row>"#,
        r#"<row r="4"><c r="A4"><v>1</v></c><c r="B4" t="inlineStr"><is><t>Dune</t></is></c><c r="C4" s="1"/></row>"#,
        r#"<row r="5"><c r="A5" s="1"/><c r="XFD5" s="1"/></row>"#,
        r#"<row r="6"><c r="B6" t="inlineStr"><is><t>Emma</t></is></c></row>"#,
        // Cells without references follow the previous one.
        r#"<row><c><v>3</v></c><c t="inlineStr"><is><t>Ubik</t></is></c></row>"#,
        r#"<row r="1048576"><c r="XFD1048576" s="1"/></row>"#,
    ))
    .styles(r#"<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>"#);
    book.dimension = "A1:XFD1048576".to_owned();
    let (headers, rows) = read(Format::Xlsx, &book.bytes());
    assert_eq!(strings(&headers), ["id", "name"]);
    assert_eq!(
        rows,
        [
            (4, vec![Cell::Int(1), text("Dune")]),
            (6, vec![Cell::Empty, text("Emma")]),
            (7, vec![Cell::Int(3), text("Ubik")]),
        ]
    );
}

#[test]
fn xlsx_value_after_the_last_header_column_is_an_error() {
    let book = Xlsx::new(concat!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>"#,
        r#"<row r="2"><c r="A2"><v>1</v></c><c r="D2"><v>9</v></c></row>"#,
    ));
    let error = error_with(Format::Xlsx, &book.bytes(), Limits::default());
    assert_eq!(
        error.to_string(),
        "book, row 2: the row has 4 cells but the header has 2"
    );
}

#[test]
fn not_a_workbook_is_explained() {
    let cases: [(&[u8], &str); 3] = [
        (b"id,name\n1,Dune\n", "book: is not an XLSX workbook (it is not a zip archive)"),
        (b"", "book: is empty, not an XLSX workbook"),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest of an OLE file",
            "book: is not an XLSX workbook but an OLE file, as legacy .xls workbooks and password-protected workbooks are (remove the password, or pass --format xls)",
        ),
    ];
    for (bytes, message) in cases {
        assert_eq!(
            error_with(Format::Xlsx, bytes, Limits::default()).to_string(),
            message
        );
    }
    let no_workbook = zip_of(&[("hello.txt", b"hi")]);
    assert_eq!(
        error_with(Format::Xlsx, &no_workbook, Limits::default()).to_string(),
        "book: is not an XLSX workbook (it has no xl/workbook.xml)"
    );
    assert_eq!(
        error_with(Format::Ods, &no_workbook, Limits::default()).to_string(),
        "book: is not an ODS workbook (it has no content.xml)"
    );
    assert_eq!(
        error_with(Format::Xls, b"id,name\n", Limits::default()).to_string(),
        "book: is not an XLS workbook (it is not an OLE file)"
    );
    assert_eq!(
        error_with(Format::Xls, &no_workbook, Limits::default()).to_string(),
        "book: is not an XLS workbook but a zip archive, as XLSX and ODS workbooks are (pass --format xlsx or --format ods)"
    );
}

// ---------------------------------------------------------------------------------------
// ODS

const ODS_TYPES: &str = concat!(
    r#"<table:table-column table:number-columns-repeated="1024"/>"#,
    "<table:table-header-rows>",
    r#"<table:table-row><table:table-cell office:value-type="string"><text:p> id </text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>text</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>when</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>at</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>ok</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>ratio</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1018"/></table:table-row>"#,
    "</table:table-header-rows>",
    // Typed values, text with kept spaces, a tab, two paragraphs and a comment to leave out.
    r#"<table:table-row><table:table-cell office:value-type="float" office:value="66" calcext:value-type="float"><text:p>66.00</text:p></table:table-cell><table:table-cell office:value-type="string"><office:annotation><text:p>a comment</text:p></office:annotation><text:p><text:s/>two<text:s text:c="2"/>spaces<text:tab/>tab</text:p><text:p>and <text:span>a  second</text:span> line<text:s/></text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2019-04-23"><text:p>23/04/19</text:p></table:table-cell><table:table-cell office:value-type="time" office:time-value="PT12H30M05S"><text:p>12:30</text:p></table:table-cell><table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>TRUE</text:p></table:table-cell><table:table-cell office:value-type="percentage" office:value="0.125"><text:p>12.5%</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1018"/></table:table-row>"#,
    // A formula's cached value, an error shown as text, a date and time, a currency, and
    // text that looks like a number.
    r#"<table:table-row><table:table-cell table:formula="of:=ABS(-4)" office:value-type="float" office:value="4"><text:p>4</text:p></table:table-cell><table:table-cell table:formula="of:=1/0" office:value-type="string" office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2019-04-23T08:15:00.5"><text:p>x</text:p></table:table-cell><table:table-cell/><table:table-cell office:value-type="currency" office:currency="EUR" office:value="12.34"><text:p>12,34 €</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>007</text:p></table:table-cell></table:table-row>"#,
    // A million empty rows, as LibreOffice writes its used area.
    r#"<table:table-row table:number-rows-repeated="1048573"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#,
);

#[test]
fn ods_cells_keep_their_types_and_phantom_rows_cost_nothing() {
    let (headers, rows) = read(Format::Ods, &ods(&[("Books", ODS_TYPES)], None));
    assert_eq!(
        strings(&headers),
        ["id", "text", "when", "at", "ok", "ratio"]
    );
    assert_eq!(
        rows,
        [
            (
                2,
                vec![
                    Cell::Int(66),
                    text(" two  spaces\ttab\nand a second line "),
                    Cell::Date(date(2019, 4, 23)),
                    Cell::Time(time(12, 30, 5)),
                    Cell::Bool(true),
                    Cell::Float(0.125),
                ]
            ),
            (
                3,
                vec![
                    Cell::Int(4),
                    text("#DIV/0!"),
                    Cell::DateTime(date(2019, 4, 23).and_hms_milli_opt(8, 15, 0, 500).unwrap()),
                    Cell::Empty,
                    Cell::Float(12.34),
                    text("007"),
                ]
            ),
        ]
    );
}

#[test]
fn ods_repeated_rows_and_cells_and_merged_cells() {
    let table = concat!(
        r#"<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>"#,
        r#"<table:table-row><table:table-cell office:value-type="string"><text:p>a</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>b</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>c</text:p></table:table-cell></table:table-row>"#,
        r#"<table:table-row-group><table:table-row table:number-rows-repeated="3"><table:table-cell office:value-type="float" office:value="7" table:number-columns-repeated="2"/><table:table-cell/></table:table-row></table:table-row-group>"#,
        r#"<table:table-row><table:table-cell table:number-columns-spanned="2" office:value-type="string"><text:p>merged</text:p></table:table-cell><table:covered-table-cell/><table:table-cell office:value-type="float" office:value="1"/></table:table-row>"#,
    );
    let (headers, rows) = read(Format::Ods, &ods(&[("S", table)], None));
    assert_eq!(strings(&headers), ["a", "b", "c"]);
    let sevens = vec![Cell::Int(7), Cell::Int(7), Cell::Empty];
    assert_eq!(
        rows,
        [
            (4, sevens.clone()),
            (5, sevens.clone()),
            (6, sevens),
            (7, vec![text("merged"), Cell::Empty, Cell::Int(1)]),
        ]
    );
}

#[test]
fn ods_sheet_by_name_by_position_or_the_active_one() {
    let one = |name: &str| {
        format!(
            r#"<table:table-row><table:table-cell office:value-type="string"><text:p>{name}</text:p></table:table-cell></table:table-row>"#
        )
    };
    let (books, authors) = (one("books"), one("authors"));
    let tables = [
        ("Books", books.as_str()),
        ("Authors", authors.as_str()),
        ("2024", ""),
    ];
    assert_eq!(read(Format::Ods, &ods(&tables, None)).0, ["books"]);
    let bytes = ods(&tables, Some("Authors"));
    assert_eq!(read(Format::Ods, &bytes).0, ["authors"]);
    assert_eq!(
        read_sheet(Format::Ods, &bytes, SheetRef::Index(0))
            .unwrap()
            .0,
        ["books"]
    );
    assert_eq!(
        read_sheet(Format::Ods, &bytes, "books".parse().unwrap())
            .unwrap()
            .0,
        ["books"],
        "any case"
    );
    assert!(
        read_sheet(Format::Ods, &bytes, "2024".parse().unwrap())
            .unwrap()
            .0
            .is_empty(),
        "a numeric name"
    );
    assert_eq!(
        read_sheet(Format::Ods, &bytes, "Sales".parse().unwrap()).unwrap_err(),
        "book: the workbook has no sheet named \"Sales\" (its sheets are \"Books\", \"Authors\", \"2024\")"
    );
}

// ---------------------------------------------------------------------------------------
// django-import-export's workbooks

fn fixture(name: &str) -> Option<Vec<u8>> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/django-import-export")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!("{} not found: fixture test not run", path.display());
            None
        }
    }
}

#[test]
fn dje_books_xlsx_formula_reads_as_its_value() {
    let Some(bytes) = fixture("books.xlsx") else {
        return;
    };
    let (headers, rows) = read(Format::Xlsx, &bytes);
    assert_eq!(strings(&headers), ["id", "name", "author_email", "price"]);
    assert_eq!(
        rows,
        [(
            2,
            vec![
                Cell::Int(1),
                text("Some book"),
                text("test@example.com"),
                Cell::Int(4)
            ]
        )]
    );
}

#[test]
fn dje_books_empty_author_email_xlsx() {
    let Some(bytes) = fixture("books-empty-author-email.xlsx") else {
        return;
    };
    let (headers, rows) = read(Format::Xlsx, &bytes);
    assert_eq!(strings(&headers), ["id", "name", "author_email"]);
    assert_eq!(
        rows,
        [
            (
                2,
                vec![Cell::Int(1), text("Some book"), text("author@example.com")]
            ),
            (3, vec![Cell::Int(2), text("book2"), Cell::Empty]),
        ]
    );
}

#[test]
fn dje_books_xls() {
    let Some(bytes) = fixture("books.xls") else {
        return;
    };
    let (headers, rows) = read(Format::Xls, &bytes);
    assert_eq!(strings(&headers), ["id", "name", "author_email"]);
    assert_eq!(
        rows,
        [(
            2,
            vec![Cell::Int(1), text("Some book"), text("test@example.com")]
        )]
    );
    assert_eq!(
        read_sheet(Format::Xls, &bytes, SheetRef::Index(1)).unwrap_err(),
        "book: the workbook has no sheet 1 (sheets are numbered from 0; it has 1: \"books\")"
    );
}

// ---------------------------------------------------------------------------------------
// Writing, and reading back

fn write(format: Format, headers: &[&str], rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut writer = open_writer(format, Box::new(&mut buf), &WriteOptions::default()).unwrap();
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    writer.write_header(&headers).unwrap();
    for cells in rows {
        writer.write_row(cells).unwrap();
    }
    writer.finish().unwrap();
    buf
}

const TYPED_HEADERS: [&str; 8] = [
    "int", "float", "text", "bool", "date", "time", "datetime", "big",
];

fn typed_rows() -> Vec<Vec<Cell>> {
    vec![
        vec![
            Cell::Int(66),
            Cell::Float(0.1),
            text("007"),
            Cell::Bool(true),
            Cell::Date(date(2019, 4, 23)),
            Cell::Time(time(12, 30, 5)),
            Cell::DateTime(datetime(2021, 3, 4, 12, 30, 0)),
            Cell::Int(9_007_199_254_740_993),
        ],
        vec![
            Cell::Int(-5),
            Cell::Float(-1234.5678),
            text("=1+1"),
            Cell::Bool(false),
            Cell::Date(date(1900, 1, 1)),
            Cell::Time(NaiveTime::from_hms_milli_opt(0, 0, 1, 250).unwrap()),
            Cell::DateTime(
                date(2024, 2, 29)
                    .and_hms_milli_opt(23, 59, 59, 500)
                    .unwrap(),
            ),
            Cell::Empty,
        ],
        vec![
            Cell::Empty,
            Cell::Float(1e300),
            text(" spaced  out \n\tsecond line "),
            Cell::Empty,
            Cell::Date(date(1850, 6, 1)),
            Cell::Empty,
            text("2021-03-04 12:30:00+02:00"),
            text("12.50"),
        ],
    ]
}

/// What reading gives back for [`typed_rows`]: the same, except what a spreadsheet cannot
/// hold natively (a whole number past 2^53 comes back as text, and a date before 1900 too
/// from XLSX, whose calendar starts in 1900) and the offset date and time (its wall clock).
fn typed_rows_read_back(format: Format) -> Vec<(u64, Vec<Cell>)> {
    let mut rows = typed_rows();
    rows[0][7] = text("9007199254740993");
    if format == Format::Xlsx {
        rows[2][4] = text("1850-06-01");
    }
    rows[2][6] = Cell::DateTime(datetime(2021, 3, 4, 12, 30, 0));
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 2, r))
        .collect()
}

#[test]
fn xlsx_round_trip_keeps_types() {
    let bytes = write(Format::Xlsx, &TYPED_HEADERS, &typed_rows());
    let (headers, rows) = read(Format::Xlsx, &bytes);
    assert_eq!(strings(&headers), TYPED_HEADERS);
    assert_eq!(rows, typed_rows_read_back(Format::Xlsx));
}

#[test]
fn ods_round_trip_keeps_types() {
    let bytes = write(Format::Ods, &TYPED_HEADERS, &typed_rows());
    let (headers, rows) = read(Format::Ods, &bytes);
    assert_eq!(strings(&headers), TYPED_HEADERS);
    assert_eq!(rows, typed_rows_read_back(Format::Ods));
}

/// The text of an archive's member.
fn member(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn xlsx_header_is_bold_and_frozen_and_text_is_never_a_formula() {
    let bytes = write(
        Format::Xlsx,
        &["a", "b"],
        &[vec![text("=HYPERLINK(\"x\")"), Cell::Int(1)]],
    );
    let sheet = member(&bytes, "xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ),
        "{sheet}"
    );
    assert!(
        sheet.contains(r#"<c r="A1" s="1" t="inlineStr"><is><t>a</t></is></c>"#),
        "{sheet}"
    );
    assert!(!sheet.contains("<f>"), "{sheet}");
    let styles = member(&bytes, "xl/styles.xml");
    assert!(styles.contains("<b/>"), "{styles}");
    assert!(sheet.contains("<cols>"), "column widths: {sheet}");
}

#[test]
fn ods_is_a_valid_package_with_a_bold_frozen_header() {
    let bytes = write(Format::Ods, &["a"], &[vec![Cell::Int(1)]]);
    // The mimetype is the first member, stored, so that tools recognise the file by its
    // first bytes.
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    assert_eq!(&bytes[30..38], b"mimetype");
    assert_eq!(
        &bytes[38..84],
        b"application/vnd.oasis.opendocument.spreadsheet"
    );
    let content = member(&bytes, "content.xml");
    assert!(content.contains(r#"<table:table-cell table:style-name="ce_head" office:value-type="string"><text:p>a</text:p>"#), "{content}");
    assert!(member(&bytes, "META-INF/manifest.xml").contains("content.xml"));
    assert!(member(&bytes, "settings.xml").contains("VerticalSplitMode"));
    // The same rows make the same bytes.
    assert_eq!(bytes, write(Format::Ods, &["a"], &[vec![Cell::Int(1)]]));
}

#[test]
fn empty_exports_read_back_as_a_header() {
    for format in [Format::Xlsx, Format::Ods] {
        let bytes = write(format, &["id", "name"], &[]);
        let (headers, rows) = read(format, &bytes);
        assert_eq!(strings(&headers), ["id", "name"], "{format}");
        assert!(rows.is_empty(), "{format}");
    }
}

#[test]
fn what_a_workbook_cannot_hold_is_refused_with_row_and_column() {
    let mut buf = Vec::new();
    let mut writer =
        open_writer(Format::Xlsx, Box::new(&mut buf), &WriteOptions::default()).unwrap();
    writer.write_header(&["id".into(), "note".into()]).unwrap();
    writer.write_row(&[Cell::Int(1), text("ok")]).unwrap();
    let error = writer
        .write_row(&[Cell::Int(2), text(&"x".repeat(40_000))])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "output, row 3: column \"note\": the text is longer than the 32,767 characters a spreadsheet cell holds"
    );

    let mut buf = Vec::new();
    let mut writer =
        open_writer(Format::Ods, Box::new(&mut buf), &WriteOptions::default()).unwrap();
    writer.write_header(&["id".into(), "note".into()]).unwrap();
    let error = writer
        .write_row(&[Cell::Int(2), text("bell\u{7}")])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "output, row 2: column \"note\": the text holds the control character U+0007, which an ODS file cannot hold"
    );
    // XLSX escapes control characters as Excel does, and they read back.
    let bytes = write(Format::Xlsx, &["note"], &[vec![text("bell\u{7} _x0041_")]]);
    assert_eq!(
        read(Format::Xlsx, &bytes).1,
        [(2, vec![text("bell\u{7} _x0041_")])]
    );
}

#[test]
fn xls_is_read_only() {
    let error = open_writer(Format::Xls, Box::new(Vec::new()), &WriteOptions::default())
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "rowport reads xls files but cannot write them; export to xlsx instead"
    );
}

// ---------------------------------------------------------------------------------------
// Hostile workbooks

fn limits() -> Limits {
    Limits {
        max_cell_bytes: 1000,
        max_decompressed_bytes: 64 << 20,
        max_compression_ratio: 10,
        max_cells: 1_000_000,
        ..Limits::default()
    }
}

fn sheet_of(rows: &str) -> Vec<u8> {
    Xlsx::new(rows).bytes()
}

#[test]
fn zip_bomb_by_ratio_is_refused_as_it_inflates() {
    // 3 MB of empty rows compress to a few KiB: far past 10 to 1.
    let bomb = sheet_of(&"<row/>".repeat(500_000));
    assert_eq!(
        error_with(Format::Xlsx, &bomb, limits()).to_string(),
        "book: the compression ratio of xl/worksheets/sheet1.xml exceeds the limit of 10 to 1 (raise it with --max-compression-ratio or `limits.max_compression_ratio` in rowport.toml)"
    );
    let ok = Limits {
        max_compression_ratio: 10_000,
        ..limits()
    };
    assert!(read_with(
        Format::Xlsx,
        &bomb,
        &ReadOptions {
            limits: ok,
            ..ReadOptions::default()
        }
    )
    .is_ok());
}

#[test]
fn zip_bomb_by_total_size_is_refused_whatever_the_archive_declares() {
    let mut rows = String::new();
    for i in 1..=3000 {
        rows.push_str(&format!(r#"<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>"#));
    }
    let mut book = sheet_of(&rows);
    let small = Limits {
        max_decompressed_bytes: 64 << 10,
        max_compression_ratio: 1000,
        ..limits()
    };
    let expected = "book: the uncompressed size of the workbook exceeds the limit of 64 KiB (raise it with --max-decompressed-bytes or `limits.max_decompressed_bytes` in rowport.toml)";
    assert_eq!(error_with(Format::Xlsx, &book, small).to_string(), expected);
    // The archive now claims the sheet is 100 bytes: the bytes are counted, not believed.
    declare_sizes(&mut book, "xl/worksheets/sheet1.xml", 100);
    assert_eq!(error_with(Format::Xlsx, &book, small).to_string(), expected);
}

/// Overwrites the uncompressed size a zip declares for `name`, in its local header and in
/// the central directory.
fn declare_sizes(zip: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    let mut i = 0;
    while i + 46 < zip.len() {
        let (signature, size_at, name_len_at, name_at) = match &zip[i..i + 4] {
            b"PK\x03\x04" => ("local", 22, 26, 30),
            b"PK\x01\x02" => ("central", 24, 28, 46),
            _ => {
                i += 1;
                continue;
            }
        };
        let name_len =
            u16::from_le_bytes([zip[i + name_len_at], zip[i + name_len_at + 1]]) as usize;
        if zip.get(i + name_at..i + name_at + name_len) == Some(name.as_bytes()) {
            zip[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
        let _ = signature;
        i += 4;
    }
    assert_eq!(patched, 2, "both headers of {name}");
}

#[test]
fn entity_expansion_is_never_attempted() {
    let laughs = concat!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">"#,
        r#"<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">"#,
        r#"<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">"#,
        r#"<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>"#,
    );
    let mut book = Xlsx::new(r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#).bytes();
    // The shared strings of a hand-made archive, with a document type inside.
    let strings = format!(r#"{laughs}<sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>"#);
    book = replace_member(&book, "xl/sharedStrings.xml", strings.as_bytes(), true);
    assert_eq!(
        error_with(Format::Xlsx, &book, limits()).to_string(),
        "book: xl/sharedStrings.xml declares a document type (<!DOCTYPE>), which workbooks never do; rowport refuses it rather than expand the entities it may define"
    );
    // Without the declaration, the reference is to nothing.
    let plain = sheet_of(r#"<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>"#);
    assert_eq!(
        error_with(Format::Xlsx, &plain, limits()).to_string(),
        "book, row 1: xl/worksheets/sheet1.xml: refers to the entity &lol9;, which XML does not define (rowport does not expand entities a document declares)"
    );
    let content = format!(
        r#"{laughs}<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>"#
    );
    let ods = zip_of(&[("content.xml", content.as_bytes())]);
    assert!(error_with(Format::Ods, &ods, limits())
        .to_string()
        .contains("declares a document type"));
}

/// The archive with `name` replaced (or added) with `content`; other members kept.
fn replace_member(zip: &[u8], name: &str, content: &[u8], add_relationship: bool) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        if file.name() == name {
            continue;
        }
        if add_relationship && file.name() == "xl/_rels/workbook.xml.rels" {
            let text = String::from_utf8(bytes).unwrap().replace(
                "</Relationships>",
                &format!(r#"<Relationship Id="rIdX" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#),
            );
            bytes = text.into_bytes();
        }
        members.push((file.name().to_owned(), bytes));
    }
    members.push((name.to_owned(), content.to_vec()));
    let members: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    zip_of(&members)
}

#[test]
fn a_cell_past_max_cell_bytes_is_refused_while_it_is_read() {
    let long = "7".repeat(5000);
    let expected = |row: &str| {
        format!("book{row}: a cell exceeds the limit of 1000 bytes (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)")
    };
    let cases = [
        (
            sheet_of(&format!(r#"<row r="2"><c r="A2"><v>{long}</v></c></row>"#)),
            ", row 2",
        ),
        (
            sheet_of(&format!(
                r#"<row r="3"><c r="A3" t="inlineStr"><is><t>{long}</t></is></c></row>"#
            )),
            ", row 3",
        ),
        // A text split by references still adds up.
        (
            sheet_of(&format!(
                r#"<row r="4"><c r="A4" t="inlineStr"><is><t>{}</t></is></c></row>"#,
                "a&amp;".repeat(600)
            )),
            ", row 4",
        ),
        // A tag of any kind is a token too.
        (
            sheet_of(&format!(
                r#"<row r="5" x="{long}{long}"><c r="A5"><v>1</v></c></row>"#
            )),
            "",
        ),
        (
            Xlsx::new(r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#)
                .strings(&format!("<si><t>{long}</t></si>"))
                .bytes(),
            "",
        ),
    ];
    for (bytes, row) in cases {
        assert_eq!(
            error_with(Format::Xlsx, &bytes, limits()).to_string(),
            expected(row)
        );
    }
    let cell = format!(
        r#"<table:table-row><table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell></table:table-row>"#,
        "ab ".repeat(400)
    );
    assert_eq!(
        error_with(Format::Ods, &ods(&[("S", &cell)], None), limits()).to_string(),
        expected(", row 1")
    );
    let spaces = r#"<table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="1000000000"/></text:p></table:table-cell></table:table-row>"#;
    assert_eq!(
        error_with(Format::Ods, &ods(&[("S", spaces)], None), limits()).to_string(),
        expected(", row 1")
    );
}

#[test]
fn cells_past_max_cells_are_refused_but_declared_sizes_are_not_counted() {
    let few = Limits {
        max_cells: 5,
        ..limits()
    };
    let mut rows = String::new();
    for r in 1..=3 {
        rows.push_str(&format!(
            r#"<row r="{r}"><c r="A{r}"><v>1</v></c><c r="B{r}"><v>2</v></c></row>"#
        ));
    }
    let mut book = Xlsx::new(&rows);
    // The declaration says seventeen billion cells; only six are there.
    book.dimension = "A1:XFD1048576".to_owned();
    assert_eq!(
        error_with(Format::Xlsx, &book.bytes(), few).to_string(),
        "book: the number of cells in sheet \"Sheet1\" exceeds the limit of 5 (raise it with --max-cells or `limits.max_cells` in rowport.toml)"
    );
    let six = Limits {
        max_cells: 6,
        ..limits()
    };
    assert_eq!(
        read_with(
            Format::Xlsx,
            &book.bytes(),
            &ReadOptions {
                limits: six,
                ..ReadOptions::default()
            }
        )
        .unwrap()
        .1
        .len(),
        2
    );
    // A repeated row counts every time it is repeated.
    let repeated = r#"<table:table-row table:number-rows-repeated="1000000000"><table:table-cell office:value-type="float" office:value="1"/></table:table-row>"#;
    assert_eq!(
        error_with(Format::Ods, &ods(&[("S", repeated)], None), few).to_string(),
        "book: the number of cells in sheet \"S\" exceeds the limit of 5 (raise it with --max-cells or `limits.max_cells` in rowport.toml)"
    );
}

#[test]
fn damaged_archives_are_malformed_not_crashes() {
    let mut book = sheet_of(r#"<row r="1"><c r="A1"><v>1</v></c></row>"#);
    // Flip a byte inside the sheet's compressed data.
    let at = find(&book, b"xl/worksheets/sheet1.xml").unwrap() + 40;
    book[at] ^= 0x55;
    let error = error_with(Format::Xlsx, &book, limits());
    assert!(matches!(error, FormatError::Malformed { .. }), "{error:?}");
    // Cut short.
    let book = sheet_of(r#"<row r="1"><c r="A1"><v>1</v></c></row>"#);
    let error = error_with(Format::Xlsx, &book[..book.len() / 2], limits());
    assert!(matches!(error, FormatError::Malformed { .. }), "{error:?}");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn decimals_are_numbers_shown_with_their_own_places() {
    let decimals = vec![vec![
        Cell::Decimal("8.90".into()),
        Cell::Decimal("-12".into()),
        // Seventeen significant digits: a double would round it, so it stays its digits.
        Cell::Decimal("123456789.12345678".into()),
    ]];
    let xlsx = write(Format::Xlsx, &["price", "whole", "long"], &decimals);
    let styles = member(&xlsx, "xl/styles.xml");
    assert!(styles.contains(r#"formatCode="0.00""#), "{styles}");
    let (_, rows) = read(Format::Xlsx, &xlsx);
    assert_eq!(
        rows[0].1,
        [Cell::Float(8.9), Cell::Int(-12), text("123456789.12345678")]
    );

    let ods = write(Format::Ods, &["price", "whole", "long"], &decimals);
    let content = member(&ods, "content.xml");
    assert!(
        content.contains(r#"office:value-type="float" office:value="8.90""#),
        "{content}"
    );
    let (_, rows) = read(Format::Ods, &ods);
    assert_eq!(rows[0].1[..2], [Cell::Float(8.9), Cell::Int(-12)]);
}
