//! JSON: an array of objects, one object per row, keyed by header.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::transcode::{decode_input, DecodedInput, TextOutput, OUTPUT_NAME};
use crate::{Cell, Encoding, FormatError, ReadOptions, Row, RowReader, RowWriter, WriteOptions};

type Object = Map<String, Value>;

/// Reads a JSON array of objects one object at a time: the reader steps over the array's
/// brackets and commas itself and hands each object to serde_json, so only one row is ever
/// held in memory.
pub(crate) struct JsonReader<'a> {
    source: String,
    input: BufReader<DecodedInput<'a>>,
    headers: Vec<String>,
    columns: HashMap<String, usize>,
    /// The first object, read early for its keys, still to be returned as row 1.
    pending: Option<Object>,
    /// How many objects have been read: the number of the last one.
    objects: u64,
    /// The closing `]` has been read.
    done: bool,
}

impl<'a> JsonReader<'a> {
    /// Opens the reader and reads the first object, whose keys are the headers.
    pub(crate) fn new(
        input: Box<dyn Read + 'a>,
        source: &str,
        encoding: Option<Encoding>,
    ) -> Result<Self, FormatError> {
        let mut reader = JsonReader {
            source: source.to_owned(),
            input: BufReader::new(decode_input(input, encoding)),
            headers: Vec::new(),
            columns: HashMap::new(),
            pending: None,
            objects: 0,
            done: false,
        };
        match reader.peek()? {
            Some(b'[') => reader.input.consume(1),
            Some(_) => return Err(reader.malformed(None, "expected a JSON array of objects")),
            None => {
                return Err(reader.malformed(
                    None,
                    "the file is empty, but a JSON array of objects was expected",
                ))
            }
        }
        if let Some(first) = reader.next_object()? {
            reader.headers = first.keys().cloned().collect();
            reader.columns = reader
                .headers
                .iter()
                .enumerate()
                .map(|(i, key)| (key.clone(), i))
                .collect();
            reader.pending = Some(first);
        }
        Ok(reader)
    }

    /// Skips whitespace and returns the next byte without consuming it; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, FormatError> {
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(self.io_error(error)),
            };
            if buf.is_empty() {
                return Ok(None);
            }
            match buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(i) => {
                    let byte = buf[i];
                    self.input.consume(i);
                    return Ok(Some(byte));
                }
                None => {
                    let len = buf.len();
                    self.input.consume(len);
                }
            }
        }
    }

    /// Reads past the `,` or `]` that follows the previous object, then the next object.
    fn next_object(&mut self) -> Result<Option<Object>, FormatError> {
        if self.done {
            return Ok(None);
        }
        let mut next = self.peek()?;
        if self.objects > 0 {
            match next {
                Some(b',') => {
                    self.input.consume(1);
                    next = self.peek()?;
                    if next == Some(b']') {
                        return Err(self.malformed(
                            Some(self.objects),
                            "a comma follows the last object, which JSON does not allow",
                        ));
                    }
                }
                Some(b']') => {}
                Some(_) => {
                    return Err(
                        self.malformed(Some(self.objects), "expected , or ] after the object")
                    )
                }
                None => return Err(self.unexpected_end()),
            }
        }
        match next {
            Some(b']') => {
                self.input.consume(1);
                self.done = true;
                match self.peek()? {
                    None => Ok(None),
                    Some(_) => Err(self.malformed(None, "unexpected data after the closing ]")),
                }
            }
            Some(b'{') => {
                self.objects += 1;
                let parsed = {
                    let mut de = serde_json::Deserializer::from_reader(&mut self.input);
                    Object::deserialize(&mut de)
                };
                parsed.map(Some).map_err(|error| self.json_error(error))
            }
            Some(other) => Err(self.malformed(
                Some(self.objects + 1),
                &format!(
                    "expected a JSON array of objects, but this item is {}",
                    describe(other)
                ),
            )),
            None => Err(self.unexpected_end()),
        }
    }

    fn json_error(&self, error: serde_json::Error) -> FormatError {
        let row = Some(self.objects);
        if error.is_io() {
            return self.io_error(error.into());
        }
        if error.is_eof() {
            return self.unexpected_end();
        }
        // serde_json reports invalid UTF-8 in a string only this way.
        let message = error.to_string();
        if message.starts_with("invalid unicode code point") {
            return FormatError::Encoding {
                source_name: self.source.clone(),
                row: self.objects,
                encoding: "UTF-8".to_owned(),
            };
        }
        // Its line and column count from the start of this object, so they would mislead.
        let position = format!(" at line {} column {}", error.line(), error.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        self.malformed(row, &format!("invalid JSON: {message}"))
    }

    fn unexpected_end(&self) -> FormatError {
        self.malformed(None, "the file ends before the array's closing ]")
    }

    fn malformed(&self, row: Option<u64>, message: &str) -> FormatError {
        FormatError::Malformed {
            source_name: self.source.clone(),
            row,
            message: message.to_owned(),
        }
    }

    fn io_error(&self, error: io::Error) -> FormatError {
        FormatError::Io {
            source_name: self.source.clone(),
            error,
        }
    }
}

/// What a JSON value starting with `byte` is, for an error message.
fn describe(byte: u8) -> &'static str {
    match byte {
        b'"' => "a string",
        b'[' => "an array",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        b'-' | b'0'..=b'9' => "a number",
        _ => "not a JSON value",
    }
}

/// The cell for a JSON value: scalars keep their type, nested values become their JSON text.
fn to_cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Cell::Int(i),
            (None, Some(x)) => Cell::Float(x),
            (None, None) => Cell::Text(n.to_string()),
        },
        Value::String(s) if s.is_empty() => Cell::Empty,
        Value::String(s) => Cell::Text(s),
        nested => Cell::Text(nested.to_string()),
    }
}

impl RowReader for JsonReader<'_> {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        let object = match self.pending.take() {
            Some(object) => object,
            None => match self.next_object()? {
                Some(object) => object,
                None => return Ok(false),
            },
        };
        row.number = self.objects;
        row.cells.clear();
        row.cells.resize(self.headers.len(), Cell::Empty);
        for (key, value) in object {
            let cell = self.columns.get(&key).and_then(|&i| row.cells.get_mut(i));
            match cell {
                Some(cell) => *cell = to_cell(value),
                None => {
                    return Err(self.malformed(
                        Some(self.objects),
                        &format!(
                            "the key {key:?} is not in the first object, which sets the columns"
                        ),
                    ))
                }
            }
        }
        Ok(true)
    }
}

/// Writes a JSON array with one object per line: `[\n{…},\n{…}\n]\n`.
pub(crate) struct JsonWriter<'a> {
    out: TextOutput<'a>,
    headers: Vec<String>,
    /// Each header as a JSON string literal.
    keys: Vec<String>,
    rows: u64,
    line: String,
}

impl<'a> JsonWriter<'a> {
    pub(crate) fn new(
        output: Box<dyn Write + 'a>,
        encoding: Option<Encoding>,
    ) -> Result<Self, FormatError> {
        Ok(JsonWriter {
            out: TextOutput::new(output, encoding)?,
            headers: Vec::new(),
            keys: Vec::new(),
            rows: 0,
            line: String::new(),
        })
    }

    fn emit(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.out.write(&self.line).map_err(|e| {
            let values = self.headers.iter().cloned();
            e.into_format_error(
                self.out.encoding_name(),
                values.chain(cells.iter().map(Cell::to_string)),
            )
        })
    }
}

impl RowWriter for JsonWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.headers = headers.to_vec();
        self.keys = headers
            .iter()
            .map(|header| {
                let mut key = String::new();
                push_json_string(&mut key, header);
                key
            })
            .collect();
        Ok(())
    }

    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.rows += 1;
        if cells.len() > self.keys.len() {
            return Err(FormatError::RowTooLong {
                source_name: OUTPUT_NAME.to_owned(),
                row: self.rows,
                expected: self.keys.len(),
                found: cells.len(),
            });
        }
        self.line.clear();
        self.line
            .push_str(if self.rows == 1 { "[\n{" } else { ",\n{" });
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            self.line.push_str(key);
            self.line.push(':');
            push_json_value(&mut self.line, cells.get(i).unwrap_or(&Cell::Empty));
        }
        self.line.push('}');
        self.emit(cells)
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.line.clear();
        self.line
            .push_str(if self.rows == 0 { "[]\n" } else { "\n]\n" });
        self.emit(&[])?;
        self.out.finish()
    }
}

fn push_json_value(out: &mut String, cell: &Cell) {
    // Writing to a String cannot fail, so the fmt::Results below are ignored.
    match cell {
        Cell::Empty => out.push_str("null"),
        Cell::Text(s) => push_json_string(out, s),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        // serde_json's Number prints floats the shortest way that reads back the same.
        Cell::Float(x) => match serde_json::Number::from_f64(*x) {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        },
        Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Cell::Date(_) | Cell::Time(_) | Cell::DateTime(_) => {
            push_json_string(out, &cell.to_string())
        }
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime};

    use super::*;

    fn open(text: &[u8]) -> Result<JsonReader<'_>, FormatError> {
        JsonReader::new(Box::new(text), "data.json", None)
    }

    fn read_all(reader: &mut JsonReader<'_>) -> Result<Vec<Row>, FormatError> {
        let mut rows = Vec::new();
        let mut row = Row::default();
        while reader.read_row(&mut row)? {
            rows.push(row.clone());
        }
        Ok(rows)
    }

    fn error_of(text: &str) -> String {
        let result = open(text.as_bytes()).and_then(|mut reader| read_all(&mut reader));
        match result {
            Err(err @ FormatError::Malformed { .. }) => err.to_string(),
            other => panic!("expected Malformed for {text:?}, got {other:?}"),
        }
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    #[test]
    fn reads_typed_values() {
        let json = r#" [
            {"s": "x", "e": "", "n": null, "t": true, "i": -7, "big": 18446744073709551615,
             "f": 2.5, "arr": [1, "a"], "obj": {"k": [true]}}
        ] "#;
        let mut reader = open(json.as_bytes()).unwrap();
        assert_eq!(
            reader.headers(),
            ["s", "e", "n", "t", "i", "big", "f", "arr", "obj"]
        );
        let rows = read_all(&mut reader).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].number, 1);
        assert_eq!(
            rows[0].cells,
            [
                text("x"),
                Cell::Empty,
                Cell::Empty,
                Cell::Bool(true),
                Cell::Int(-7),
                Cell::Float(18446744073709551615.0),
                Cell::Float(2.5),
                text(r#"[1,"a"]"#),
                text(r#"{"k":[true]}"#),
            ]
        );
    }

    #[test]
    fn missing_keys_are_empty_and_order_follows_the_first_object() {
        let json = br#"[{"a": 1, "b": 2}, {"b": 3}, {"b": 4, "a": 5}]"#;
        let mut reader = open(json).unwrap();
        let rows = read_all(&mut reader).unwrap();
        let cells: Vec<_> = rows.iter().map(|r| (r.number, r.cells.clone())).collect();
        assert_eq!(
            cells,
            [
                (1, vec![Cell::Int(1), Cell::Int(2)]),
                (2, vec![Cell::Empty, Cell::Int(3)]),
                (3, vec![Cell::Int(5), Cell::Int(4)]),
            ]
        );
    }

    #[test]
    fn extra_key_names_row_and_key() {
        assert_eq!(
            error_of(r#"[{"a": 1}, {"a": 2}, {"a": 3, "zz": 4}]"#),
            "data.json, row 3: the key \"zz\" is not in the first object, which sets the columns"
        );
    }

    #[test]
    fn empty_array_has_no_headers_or_rows() {
        let mut reader = open(b" [ ] \n").unwrap();
        assert!(reader.headers().is_empty());
        assert!(read_all(&mut reader).unwrap().is_empty());
    }

    #[test]
    fn malformed_input_is_explained() {
        let cases = [
            (
                "",
                "data.json: the file is empty, but a JSON array of objects was expected",
            ),
            (r#"{"a": 1}"#, "data.json: expected a JSON array of objects"),
            (
                "[1, 2]",
                "data.json, row 1: expected a JSON array of objects, but this item is a number",
            ),
            (
                r#"[{"a": 1}, "x"]"#,
                "data.json, row 2: expected a JSON array of objects, but this item is a string",
            ),
            (
                r#"[{"a": 1},]"#,
                "data.json, row 1: a comma follows the last object, which JSON does not allow",
            ),
            (
                r#"[{"a": 1} {"a": 2}]"#,
                "data.json, row 1: expected , or ] after the object",
            ),
            (
                r#"[{"a": 1}"#,
                "data.json: the file ends before the array's closing ]",
            ),
            (
                r#"[{"a": "#,
                "data.json: the file ends before the array's closing ]",
            ),
            (
                r#"[{"a": 1}] x"#,
                "data.json: unexpected data after the closing ]",
            ),
            (
                r#"[{"a": 1}, {"a": tru}]"#,
                "data.json, row 2: invalid JSON: expected ident",
            ),
        ];
        for (json, message) in cases {
            assert_eq!(error_of(json), message, "{json:?}");
        }
    }

    #[test]
    fn encoding_bom_and_invalid_utf8() {
        let latin1 = b"[{\"name\": \"voil\xE0\"}]";
        let mut reader = JsonReader::new(
            Box::new(&latin1[..]),
            "l.json",
            Some("latin1".parse().unwrap()),
        )
        .unwrap();
        assert_eq!(read_all(&mut reader).unwrap()[0].cells, [text("voilà")]);

        let err = open(latin1).err().unwrap();
        assert!(
            matches!(err, FormatError::Encoding { row: 1, .. }),
            "{err:?}"
        );

        let mut reader = open("\u{feff}[{\"a\": \"é\"}]".as_bytes()).unwrap();
        assert_eq!(reader.headers(), ["a"]);
        assert_eq!(read_all(&mut reader).unwrap()[0].cells, [text("é")]);
    }

    fn write(headers: &[&str], rows: &[Vec<Cell>], encoding: Option<&str>) -> Vec<u8> {
        let mut buf = Vec::new();
        let encoding = encoding.map(|label| label.parse().unwrap());
        let mut writer = Box::new(JsonWriter::new(Box::new(&mut buf), encoding).unwrap());
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        writer.write_header(&headers).unwrap();
        for cells in rows {
            writer.write_row(cells).unwrap();
        }
        writer.finish().unwrap();
        buf
    }

    #[test]
    fn writes_one_object_per_line() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let rows = [
            vec![
                Cell::Empty,
                text("a \"q\"\n\u{1}\\"),
                Cell::Int(3),
                Cell::Float(0.1),
                Cell::Bool(false),
            ],
            vec![
                Cell::Date(date),
                Cell::Time(NaiveTime::from_hms_opt(9, 5, 0).unwrap()),
                Cell::DateTime(date.and_hms_opt(23, 59, 1).unwrap()),
                Cell::Float(f64::NAN),
                Cell::Float(1e300),
            ],
            vec![Cell::Int(1)],
        ];
        let out = write(&["a", "b\"", "c", "d", "e"], &rows, None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                "[\n",
                r#"{"a":null,"b\"":"a \"q\"\n\u0001\\","c":3,"d":0.1,"e":false},"#,
                "\n",
                r#"{"a":"2024-02-29","b\"":"09:05:00","c":"2024-02-29 23:59:01","d":null,"e":1e+300},"#,
                "\n",
                r#"{"a":1,"b\"":null,"c":null,"d":null,"e":null}"#,
                "\n]\n"
            )
        );
    }

    #[test]
    fn zero_rows_is_an_empty_array() {
        assert_eq!(write(&["a"], &[], None), b"[]\n");
        assert_eq!(write(&["a"], &[], Some("utf-8-sig")), b"\xEF\xBB\xBF[]\n");
    }

    #[test]
    fn unencodable_value_is_an_error() {
        let mut buf = Vec::new();
        let mut writer =
            Box::new(JsonWriter::new(Box::new(&mut buf), Some("latin1".parse().unwrap())).unwrap());
        writer.write_header(&["name".into()]).unwrap();
        writer.write_row(&[text("café")]).unwrap();
        let err = writer.write_row(&[text("日本")]).unwrap_err();
        assert!(
            matches!(&err, FormatError::Unencodable { value, .. } if value == "日本"),
            "{err:?}"
        );
    }
}

/// JSON Lines reader (owner: text-formats helper).
pub(crate) fn open_lines_reader<'a>(
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    let _ = (input, options);
    Err(FormatError::Malformed {
        source_name: source.to_owned(),
        row: None,
        message: "TODO(issue 3): reader not written yet".into(),
    })
}

/// JSON Lines writer (owner: text-formats helper).
pub(crate) fn open_lines_writer<'a>(
    output: Box<dyn Write + 'a>,
    options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    let _ = (output, options);
    Err(FormatError::Malformed {
        source_name: "-".into(),
        row: None,
        message: "TODO(issue 3): writer not written yet".into(),
    })
}
