//! Conformance against shared fixture files, which live outside the repository (CI always has
//! them). When they are missing the tests say so and pass.

use std::fs;
use std::path::{Path, PathBuf};

use rowport_formats::{open_reader, Cell, EncodingSource, Format, FormatError, ReadOptions, Row};
use serde_json::Value;

fn fixture_dir(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(name);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("{} not found: fixture test not run", dir.display());
        None
    }
}

/// Rows as (number, cells rendered).
type Rows = Vec<(u64, Vec<String>)>;

/// Headers and rows of `bytes` read as `format`.
fn read(
    format: Format,
    bytes: &[u8],
    name: &str,
    options: &ReadOptions,
) -> Result<(Vec<String>, Rows), FormatError> {
    let mut reader = open_reader(format, Box::new(bytes), name, options)?;
    let headers = reader.headers().to_vec();
    let mut row = Row::default();
    let mut rows = Vec::new();
    while reader.read_row(&mut row)? {
        rows.push((row.number, row.cells.iter().map(Cell::to_string).collect()));
    }
    Ok((headers, rows))
}

/// Expected records: each a list of (header, value) in the JSON object's key order.
type Records = Vec<Vec<(String, String)>>;

fn expected_records(json: &Path) -> Records {
    let value: Value = serde_json::from_slice(&fs::read(json).unwrap()).unwrap();
    // location_coordinates.json holds a bare object rather than an array of one.
    let objects = match value {
        Value::Array(items) => items,
        object => vec![object],
    };
    objects
        .into_iter()
        .map(|object| match object {
            Value::Object(map) => map
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(s) => (key, s),
                    other => panic!("{}: non-string value {other}", json.display()),
                })
                .collect(),
            other => panic!("{}: not an object: {other}", json.display()),
        })
        .collect()
}

/// Known mistakes in the fixtures: (file stem, header, value in the JSON, value in the CSV).
const ERRATA: &[(&str, &str, &str, &str)] = &[(
    "location_coordinates",
    "Contact Phone Number",
    "1234567890",
    "2095257564",
)];

fn map_values(records: &Records, f: impl Fn(&str) -> String) -> Records {
    records
        .iter()
        .map(|record| record.iter().map(|(k, v)| (k.clone(), f(v))).collect())
        .collect()
}

/// Reads `csv` and checks it against `expected`; returns the row numbers.
fn check(label: &str, csv: &[u8], expected: &Records) -> Vec<u64> {
    let (headers, rows) = read(Format::Csv, csv, label, &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    if let Some(first) = expected.first() {
        let keys: Vec<&String> = first.iter().map(|(k, _)| k).collect();
        assert_eq!(headers.iter().collect::<Vec<_>>(), keys, "{label}: headers");
    }
    let actual: Records = rows
        .iter()
        .map(|(_, cells)| headers.iter().cloned().zip(cells.iter().cloned()).collect())
        .collect();
    assert_eq!(&actual, expected, "{label}");
    rows.iter().map(|(number, _)| *number).collect()
}

#[test]
fn csv_spectrum() {
    let Some(dir) = fixture_dir("csv-spectrum") else {
        return;
    };
    let mut csvs: Vec<PathBuf> = fs::read_dir(dir.join("csvs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "csv"))
        .collect();
    csvs.sort();
    assert!(!csvs.is_empty(), "no fixtures in {}", dir.display());

    for csv_path in csvs {
        let stem = csv_path.file_stem().unwrap().to_str().unwrap().to_owned();
        let bytes = fs::read(&csv_path).unwrap();
        let mut expected = expected_records(&dir.join("json").join(format!("{stem}.json")));
        for (file, header, wrong, right) in ERRATA {
            if *file == stem {
                for record in &mut expected {
                    for (key, value) in record.iter_mut() {
                        if key == header && value == wrong {
                            *value = (*right).to_owned();
                        }
                    }
                }
            }
        }
        // The *_crlf files may have had their CRLFs turned into LF on the way here; their
        // expected values then follow the file.
        if !bytes.contains(&b'\r') {
            expected = map_values(&expected, |v| v.replace("\r\n", "\n"));
        }
        let lf_numbers = check(&stem, &bytes, &expected);

        // The same file with every LF made CRLF, and then CR alone, must read the same,
        // embedded line breaks included, with the same row numbers.
        if !bytes.contains(&b'\r') {
            for ending in ["\r\n", "\r"] {
                let converted = String::from_utf8(bytes.clone())
                    .unwrap()
                    .replace('\n', ending);
                let expected = map_values(&expected, |v| v.replace('\n', ending));
                let numbers = check(
                    &format!("{stem} ({ending:?})"),
                    converted.as_bytes(),
                    &expected,
                );
                assert_eq!(numbers, lf_numbers, "{stem} ({ending:?}): row numbers");
            }
        }
    }
}

fn book(id: &str, name: &str) -> Vec<String> {
    vec![
        id.to_owned(),
        name.to_owned(),
        "test@example.com".to_owned(),
    ]
}

#[test]
fn django_import_export_books() {
    let Some(dir) = fixture_dir("django-import-export") else {
        return;
    };
    let latin1 = ReadOptions {
        encoding: Some("latin1".parse().unwrap()),
        ..ReadOptions::default()
    };
    let cases = [
        (
            "books-dos.csv",
            Format::Csv,
            ReadOptions::default(),
            book("1", "Some book"),
        ),
        (
            "books-mac.csv",
            Format::Csv,
            ReadOptions::default(),
            book("1", "Some book"),
        ),
        (
            "books-mac.tsv",
            Format::Tsv,
            ReadOptions::default(),
            book("1", "Some book"),
        ),
        (
            "books-ISO-8859-1.csv",
            Format::Csv,
            latin1,
            book("1", "Merci à toi"),
        ),
        (
            "books-unicode.csv",
            Format::Csv,
            ReadOptions::default(),
            book("1", "Some bookš"),
        ),
    ];
    for (file, format, options, first_row) in cases {
        let bytes = fs::read(dir.join(file)).unwrap();
        let (headers, rows) =
            read(format, &bytes, file, &options).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(headers, ["id", "name", "author_email"], "{file}");
        assert_eq!(rows.first(), Some(&(2, first_row)), "{file}");
    }

    // Without its encoding, the Latin-1 file's encoding is detected.
    let bytes = fs::read(dir.join("books-ISO-8859-1.csv")).unwrap();
    let mut reader = open_reader(
        Format::Csv,
        Box::new(&bytes[..]),
        "books-ISO-8859-1.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    let used = reader.info().encoding.unwrap();
    assert_eq!(used.encoding.name(), "windows-1252");
    assert_eq!(used.source, EncodingSource::Detected);
    let mut row = Row::default();
    assert!(reader.read_row(&mut row).unwrap());
    assert_eq!(row.cells[1], Cell::Text("Merci à toi".to_owned()));

    // Told it is UTF-8, it is refused, not mangled.
    let utf8 = ReadOptions {
        encoding: Some("utf-8".parse().unwrap()),
        ..ReadOptions::default()
    };
    let err = read(Format::Csv, &bytes, "books-ISO-8859-1.csv", &utf8).unwrap_err();
    assert_eq!(
        err.to_string(),
        "books-ISO-8859-1.csv, row 2: the text is not valid UTF-8"
    );
}
