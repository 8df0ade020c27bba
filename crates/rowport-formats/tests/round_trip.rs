//! Writing rows and reading them back through the public entry points, and streaming.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;
use rowport_formats::{
    open_reader, open_writer, Cell, Encoding, Format, ReadOptions, Row, WriteOptions,
};

fn write(
    format: Format,
    encoding: Option<Encoding>,
    headers: &[String],
    rows: &[Vec<Cell>],
) -> Vec<u8> {
    let mut buf = Vec::new();
    let options = WriteOptions {
        encoding,
        ..WriteOptions::default()
    };
    let mut writer = open_writer(format, Box::new(&mut buf), &options).unwrap();
    writer.write_header(headers).unwrap();
    for cells in rows {
        writer.write_row(cells).unwrap();
    }
    writer.finish().unwrap();
    buf
}

fn read(format: Format, encoding: Option<Encoding>, bytes: &[u8]) -> (Vec<String>, Vec<Vec<Cell>>) {
    let options = ReadOptions {
        encoding,
        ..ReadOptions::default()
    };
    let mut reader = open_reader(format, Box::new(bytes), "back", &options).unwrap();
    let headers = reader.headers().to_vec();
    let mut row = Row::default();
    let mut rows = Vec::new();
    while reader.read_row(&mut row).unwrap() {
        rows.push(row.cells.clone());
    }
    (headers, rows)
}

/// The formats written as text, which this crate reads and writes itself.
const TEXT_FORMATS: [Format; 6] = [
    Format::Csv,
    Format::Tsv,
    Format::Json,
    Format::Jsonl,
    Format::Yaml,
    Format::Html,
];

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn headers() -> Vec<String> {
    ["id", "name, full", "note \"q\"", "ünï"]
        .map(String::from)
        .to_vec()
}

/// Awkward text: every character CSV and JSON must escape, and some that need no escaping.
fn awkward_rows() -> Vec<Vec<Cell>> {
    vec![
        vec![text("1"), text("plain"), Cell::Empty, text("é ß 日本 🎉")],
        vec![
            text("2"),
            text("a,b"),
            text("say \"hi\""),
            text("line\nbreak"),
        ],
        vec![
            text("3"),
            text("crlf\r\ninside"),
            text("lone\rcr"),
            text("tab\there"),
        ],
        vec![
            text("4"),
            text(" padded "),
            text("\\back\\slash"),
            text("\u{1}ctl"),
        ],
        vec![Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty],
        vec![text("\"")],
    ]
}

/// What a text format gives back: the cell's text, or Empty; short rows padded.
fn as_text_cells(rows: &[Vec<Cell>], width: usize) -> Vec<Vec<Cell>> {
    rows.iter()
        .map(|cells| {
            (0..width)
                .map(|i| match cells.get(i).map(Cell::to_string) {
                    Some(s) if !s.is_empty() => Cell::Text(s),
                    _ => Cell::Empty,
                })
                .collect()
        })
        .collect()
}

#[test]
fn text_formats_round_trip_awkward_text() {
    let encodings = [None, Some("utf-8-sig"), Some("utf-16le"), Some("utf-16be")];
    for format in TEXT_FORMATS {
        for label in encodings {
            let encoding = label.map(|l| l.parse::<Encoding>().unwrap());
            let bytes = write(format, encoding, &headers(), &awkward_rows());
            let (back_headers, back_rows) = read(format, encoding, &bytes);
            assert_eq!(back_headers, headers(), "{format} {label:?}");
            assert_eq!(
                back_rows,
                as_text_cells(&awkward_rows(), 4),
                "{format} {label:?}"
            );
        }
    }
}

#[test]
fn typed_cells_become_text_in_csv() {
    let date = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let rows = vec![vec![
        Cell::Int(-3),
        Cell::Float(2.5),
        Cell::Bool(true),
        Cell::Date(date),
    ]];
    let headers: Vec<String> = ["i", "f", "b", "d"].map(String::from).to_vec();
    let bytes = write(Format::Csv, None, &headers, &rows);
    // Booleans are written 1/0, as django-import-export writes them.
    assert_eq!(bytes, b"i,f,b,d\n-3,2.5,1,2024-01-02\n");
    let back = read(Format::Csv, None, &bytes).1;
    assert_eq!(back[0][2], text("1"));
    assert_eq!(back[0][3], text("2024-01-02"));
}

#[test]
fn latin1_round_trip() {
    let latin1: Encoding = "latin1".parse().unwrap();
    let headers = vec!["név".to_owned()];
    let rows = vec![vec![text("à la carte, €5")]];
    for format in TEXT_FORMATS {
        let bytes = write(format, Some(latin1), &headers, &rows);
        assert!(bytes.contains(&0xE0), "{format}: à is one byte");
        assert_eq!(
            read(format, Some(latin1), &bytes),
            (headers.clone(), rows.clone())
        );
        // And without being told, the encoding is detected.
        assert_eq!(
            read(format, None, &bytes),
            (headers.clone(), rows.clone()),
            "{format}"
        );
    }
}

#[test]
fn typed_formats_round_trip_keeps_types() {
    let rows = vec![
        vec![
            Cell::Int(i64::MIN),
            Cell::Float(0.1),
            Cell::Bool(false),
            text("x\n\"y\"\\ 🎉"),
        ],
        vec![
            Cell::Int(i64::MAX),
            Cell::Float(-3.0),
            Cell::Empty,
            Cell::Empty,
        ],
        vec![
            Cell::Empty,
            Cell::Float(1e-300),
            Cell::Bool(true),
            text("\u{7f}\u{1f}"),
        ],
    ];
    for format in [Format::Json, Format::Jsonl, Format::Yaml] {
        for label in [None, Some("utf-8-sig"), Some("utf-16le")] {
            let encoding = label.map(|l| l.parse::<Encoding>().unwrap());
            let bytes = write(format, encoding, &headers(), &rows);
            assert_eq!(
                read(format, encoding, &bytes),
                (headers(), rows.clone()),
                "{format} {label:?}"
            );
        }
    }
}

#[test]
fn json_dates_and_nested_text_come_back_as_text() {
    let date = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap();
    let rows = vec![vec![
        Cell::Date(date),
        Cell::DateTime(date.and_hms_opt(1, 2, 3).unwrap()),
        text("[1,2]"),
        Cell::Float(f64::INFINITY),
    ]];
    let bytes = write(Format::Json, None, &headers(), &rows);
    let (_, back) = read(Format::Json, None, &bytes);
    assert_eq!(
        back,
        [vec![
            text("1999-12-31"),
            text("1999-12-31 01:02:03"),
            text("[1,2]"),
            Cell::Empty
        ]]
    );
}

#[test]
fn empty_exports_read_back_empty() {
    for format in Format::ALL.into_iter().filter(|f| f.writable()) {
        let bytes = write(format, None, &headers(), &[]);
        let (back_headers, rows) = read(format, None, &bytes);
        assert!(rows.is_empty(), "{format}");
        match format {
            // Lists of objects have nowhere to keep the headers of no rows.
            Format::Json | Format::Yaml => {
                assert_eq!(bytes, b"[]\n", "{format}");
                assert!(back_headers.is_empty(), "{format}");
            }
            Format::Jsonl => {
                assert!(bytes.is_empty());
                assert!(back_headers.is_empty());
            }
            _ => assert_eq!(back_headers, headers(), "{format}"),
        }
    }
}

/// An endless file: `head`, then `item(n)` for n = 1, 2, 3, … forever.
struct Endless {
    head: Vec<u8>,
    item: fn(u64) -> String,
    next: u64,
    pending: Vec<u8>,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            self.pending = if self.head.is_empty() {
                self.next += 1;
                (self.item)(self.next).into_bytes()
            } else {
                std::mem::take(&mut self.head)
            };
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// Readers must stream: on an endless input they can only ever return rows if they do.
#[test]
fn readers_stream_endless_input() {
    type Item = fn(u64) -> String;
    let cases: [(Format, &str, Item); 6] = [
        (Format::Csv, "n,text\n", |n| {
            format!("{n},\"line\nbreak\"\r\n")
        }),
        (Format::Tsv, "n\ttext\n", |n| format!("{n}\tx\r")),
        (Format::Json, "[\n", |n| {
            format!("{{\"n\": {n}, \"text\": \"x\"}},\n")
        }),
        (Format::Jsonl, "", |n| {
            format!("{{\"n\": {n}, \"text\": \"x\"}}\n")
        }),
        (Format::Yaml, "# endless\n", |n| {
            format!("- n: {n}\n  text: x\n")
        }),
        (
            Format::Html,
            "<table><tr><th>n</th><th>text</th></tr>\n",
            |n| format!("<tr><td>{n}</td><td>x</td></tr>\n"),
        ),
    ];
    for (format, head, item) in cases {
        let input = Endless {
            head: head.as_bytes().to_vec(),
            item,
            next: 0,
            pending: Vec::new(),
        };
        let mut reader =
            open_reader(format, Box::new(input), "endless", &ReadOptions::default()).unwrap();
        assert_eq!(reader.headers(), ["n", "text"], "{format}");
        let mut row = Row::default();
        for n in 1..=20_000u64 {
            assert!(reader.read_row(&mut row).unwrap(), "{format}");
            assert_eq!(row.cells[0].to_string(), n.to_string(), "{format}");
        }
        let expected_number = match format {
            Format::Csv => 2 * 20_000,
            Format::Tsv | Format::Html => 20_001,
            _ => 20_000,
        };
        assert_eq!(row.number, expected_number, "{format}");
    }
}

/// Counts the bytes that reach it.
struct Counting(Arc<AtomicUsize>);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writers must stream too: output reaches the sink long before `finish`. Workbooks are
/// the exception: their zip is assembled at `finish` from a temporary file (memory stays
/// flat; see spreadsheets.rs).
#[test]
fn writers_stream_output() {
    for format in TEXT_FORMATS {
        let count = Arc::new(AtomicUsize::new(0));
        let mut writer = open_writer(
            format,
            Box::new(Counting(count.clone())),
            &WriteOptions::default(),
        )
        .unwrap();
        writer.write_header(&headers()).unwrap();
        for _ in 0..10_000 {
            writer.write_row(&awkward_rows()[1]).unwrap();
        }
        assert!(count.load(Ordering::Relaxed) > 100_000, "{format}");
        writer.finish().unwrap();
    }
}
