//! JSON (an array of objects, one object per row, keyed by header) and JSON Lines (one
//! object per line).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::{self, BufRead, BufReader, Read, Write};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::limits::{cell_too_big, max_row_cells, row_too_big, too_many_cells};
use crate::transcode::{decode_input, Detection, TextOutput, OUTPUT_NAME};
use crate::{
    Cell, Encoding, FormatError, InputInfo, Limits, ReadOptions, Row, RowReader, RowWriter,
    WriteOptions,
};

/// The columns of a JSON or JSON Lines file: the keys of its first object, in order.
#[derive(Debug, Default)]
struct Columns {
    headers: Vec<String>,
    index: HashMap<String, usize>,
    /// Set once the first object has been read: later keys must be among these.
    fixed: bool,
    /// Which cells the object being read has set.
    seen: Vec<bool>,
}

/// Where an object being read is, for messages, and what it may hold.
struct Place<'p> {
    source: &'p str,
    row: u64,
    limits: &'p Limits,
}

/// Why reading an object stopped, when serde's own error cannot say it (its message is
/// replaced by this one).
type Stop = Option<FormatError>;

/// Reads one JSON object into `row.cells`, by column; the first object sets the columns.
/// Scalars keep their type; arrays and objects become their compact JSON text. Memory is
/// bounded by the input's own size, with no tree of values built.
fn read_object<'de, D: de::Deserializer<'de>>(
    deserializer: D,
    columns: &mut Columns,
    cells: &mut Vec<Cell>,
    place: &Place<'_>,
    stop: &mut Stop,
) -> Result<(), D::Error> {
    columns.seen.clear();
    columns.seen.resize(columns.headers.len(), false);
    cells.resize(columns.headers.len(), Cell::Empty);
    deserializer.deserialize_map(ObjectVisitor {
        columns: &mut *columns,
        cells: &mut *cells,
        place,
        stop,
    })?;
    for (cell, seen) in cells.iter_mut().zip(&columns.seen) {
        if !seen {
            *cell = Cell::Empty;
        }
    }
    Ok(())
}

struct ObjectVisitor<'v, 'p> {
    columns: &'v mut Columns,
    cells: &'v mut Vec<Cell>,
    place: &'v Place<'p>,
    stop: &'v mut Stop,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let place = self.place;
        while let Some(key) = map.next_key::<String>()? {
            let index = match self.columns.index.get(&key) {
                Some(&index) => index,
                None if !self.columns.fixed => {
                    if self.columns.headers.len() >= max_row_cells(place.limits) {
                        *self.stop =
                            Some(too_many_cells(place.source, Some(place.row), place.limits));
                        return Err(de::Error::custom("stop"));
                    }
                    let index = self.columns.headers.len();
                    self.columns.headers.push(key.clone());
                    self.columns.index.insert(key, index);
                    self.columns.seen.push(false);
                    self.cells.push(Cell::Empty);
                    index
                }
                None => {
                    *self.stop = Some(FormatError::Malformed {
                        source_name: place.source.to_owned(),
                        row: Some(place.row),
                        message: format!(
                            "the key {key:?} is not in the first object, which sets the columns"
                        ),
                    });
                    return Err(de::Error::custom("stop"));
                }
            };
            let (Some(cell), Some(seen)) =
                (self.cells.get_mut(index), self.columns.seen.get_mut(index))
            else {
                return Err(de::Error::custom("a column without a cell"));
            };
            *seen = true;
            let over = std::cell::Cell::new(false);
            let result = map.next_value_seed(CellSeed {
                cell,
                max: place.limits.max_cell_bytes,
                over: &over,
            });
            if over.get() {
                let column = self.columns.headers.get(index).map(String::as_str);
                *self.stop = Some(cell_too_big(
                    place.source,
                    Some(place.row),
                    column,
                    place.limits,
                ));
            }
            result?;
        }
        Ok(())
    }
}

/// Reads one value into a cell; sets `over` (and fails) when its text is over `max` bytes.
struct CellSeed<'c> {
    cell: &'c mut Cell,
    max: usize,
    over: &'c std::cell::Cell<bool>,
}

impl CellSeed<'_> {
    fn too_long<E: de::Error>(&self) -> E {
        self.over.set(true);
        E::custom("the cell is over its limit")
    }
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        *self.cell = Cell::Empty;
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        *self.cell = Cell::Bool(v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        *self.cell = Cell::Int(v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        *self.cell = match i64::try_from(v) {
            Ok(i) => Cell::Int(i),
            Err(_) => Cell::Float(v as f64),
        };
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        *self.cell = Cell::Float(v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v.len() > self.max {
            return Err(self.too_long());
        }
        if v.is_empty() {
            *self.cell = Cell::Empty;
        } else {
            self.cell.set_text(v);
        }
        Ok(())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        if v.len() > self.max {
            return Err(self.too_long());
        }
        *self.cell = if v.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(v)
        };
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let mut text = String::new();
        Nested {
            out: &mut text,
            max: self.max,
            over: self.over,
        }
        .visit_seq(seq)?;
        *self.cell = Cell::Text(text);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let mut text = String::new();
        Nested {
            out: &mut text,
            max: self.max,
            over: self.over,
        }
        .visit_map(map)?;
        *self.cell = Cell::Text(text);
        Ok(())
    }
}

/// Writes a nested value as compact JSON text, straight from the parser; sets `over` and
/// fails when the text grows past `max` bytes.
struct Nested<'o> {
    out: &'o mut String,
    max: usize,
    over: &'o std::cell::Cell<bool>,
}

impl Nested<'_> {
    fn check<E: de::Error>(&self) -> Result<(), E> {
        if self.out.len() > self.max {
            self.over.set(true);
            Err(E::custom("the cell is over its limit"))
        } else {
            Ok(())
        }
    }

    fn inner(&mut self) -> Nested<'_> {
        Nested {
            out: &mut *self.out,
            max: self.max,
            over: self.over,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Nested<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Nested<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.push_str("null");
        self.check()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.out.push_str(if v { "true" } else { "false" });
        self.check()
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        let _ = write!(self.out, "{v}");
        self.check()
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let _ = write!(self.out, "{v}");
        self.check()
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        push_json_value(self.out, &Cell::Float(v));
        self.check()
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        push_json_string(self.out, v);
        self.check()
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.out.push('[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(',');
            }
            if seq.next_element_seed(self.inner())?.is_none() {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(']');
        self.check()
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.out.push('{');
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if !first {
                self.out.push(',');
            }
            first = false;
            push_json_string(self.out, &key);
            self.out.push(':');
            map.next_value_seed(self.inner())?;
        }
        self.out.push('}');
        self.check()
    }
}

/// Counts the bytes serde_json takes for one object and stops it past the line limit.
struct Budget<'r, R> {
    inner: &'r mut R,
    left: usize,
    exceeded: bool,
}

impl<R: Read> Read for Budget<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            self.exceeded = true;
            return Err(io::Error::other("the object is over the line limit"));
        }
        let len = buf.len().min(self.left);
        let n = self.inner.read(buf.get_mut(..len).unwrap_or_default())?;
        self.left -= n;
        Ok(n)
    }
}

/// Turns serde_json's error about the object at `row` into the reader's.
fn json_error(error: serde_json::Error, source: &str, row: u64, stop: Stop) -> FormatError {
    if let Some(stop) = stop {
        return stop;
    }
    if error.is_io() {
        return FormatError::Io {
            source_name: source.to_owned(),
            error: error.into(),
        };
    }
    // serde_json reports invalid UTF-8 in a string only this way.
    let message = error.to_string();
    if message.starts_with("invalid unicode code point") {
        return FormatError::Encoding {
            source_name: source.to_owned(),
            row,
            encoding: "UTF-8".to_owned(),
        };
    }
    // Its line and column count from the start of this object, so they would mislead.
    let position = format!(" at line {} column {}", error.line(), error.column());
    let message = message.strip_suffix(&position).unwrap_or(&message);
    FormatError::Malformed {
        source_name: source.to_owned(),
        row: Some(row),
        message: format!("invalid JSON: {message}"),
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

/// Reads a JSON array of objects one object at a time: the reader steps over the array's
/// brackets and commas itself and hands each object to serde_json, so only one row is ever
/// held in memory.
pub(crate) struct JsonReader<'a> {
    source: String,
    input: BufReader<Box<dyn Read + 'a>>,
    columns: Columns,
    limits: Limits,
    /// The first object, read early for its keys, still to be returned as row 1.
    pending: Option<Vec<Cell>>,
    /// How many objects have been read: the number of the last one.
    objects: u64,
    /// The closing `]` has been read.
    done: bool,
    info: InputInfo,
}

impl<'a> JsonReader<'a> {
    /// Opens the reader and reads the first object, whose keys are the headers.
    pub(crate) fn new(
        input: Box<dyn Read + 'a>,
        source: &str,
        options: &ReadOptions,
    ) -> Result<Self, FormatError> {
        let (decoded, encoding) = decode_input(input, options.encoding, Detection::Text, source)?;
        let mut reader = JsonReader {
            source: source.to_owned(),
            input: BufReader::new(Box::new(decoded)),
            columns: Columns::default(),
            limits: options.limits,
            pending: None,
            objects: 0,
            done: false,
            info: InputInfo::with_encoding(encoding),
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
        let mut first = Vec::new();
        if reader.next_object(&mut first)? {
            reader.pending = Some(first);
        }
        reader.columns.fixed = true;
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

    /// Reads past the `,` or `]` that follows the previous object, then the next object
    /// into `cells`. Returns `false` after the last object.
    fn next_object(&mut self, cells: &mut Vec<Cell>) -> Result<bool, FormatError> {
        if self.done {
            return Ok(false);
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
                    None => Ok(false),
                    Some(_) => Err(self.malformed(None, "unexpected data after the closing ]")),
                }
            }
            Some(b'{') => {
                self.objects += 1;
                let place = Place {
                    source: &self.source,
                    row: self.objects,
                    limits: &self.limits,
                };
                let mut stop = None;
                let mut budget = Budget {
                    inner: &mut self.input,
                    left: self.limits.max_line_bytes,
                    exceeded: false,
                };
                let result = {
                    let mut de = serde_json::Deserializer::from_reader(&mut budget);
                    read_object(&mut de, &mut self.columns, cells, &place, &mut stop)
                };
                let exceeded = budget.exceeded;
                match result {
                    Ok(()) => Ok(true),
                    Err(_) if exceeded => {
                        Err(row_too_big(&self.source, Some(self.objects), &self.limits))
                    }
                    Err(error) if error.is_eof() && stop.is_none() => Err(self.unexpected_end()),
                    Err(error) => Err(json_error(error, &self.source, self.objects, stop)),
                }
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

impl RowReader for JsonReader<'_> {
    fn headers(&self) -> &[String] {
        &self.columns.headers
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        match self.pending.take() {
            Some(cells) => {
                row.cells = cells;
                row.number = 1;
                Ok(true)
            }
            None => {
                if !self.next_object(&mut row.cells)? {
                    return Ok(false);
                }
                row.number = self.objects;
                Ok(true)
            }
        }
    }

    fn info(&self) -> InputInfo {
        self.info
    }
}

/// Reads JSON Lines: one object per line, blank lines skipped. The first object's keys are
/// the headers; a row's number is its line.
pub(crate) struct JsonLinesReader<'a> {
    source: String,
    input: BufReader<Box<dyn Read + 'a>>,
    columns: Columns,
    limits: Limits,
    /// The line being parsed.
    line: Vec<u8>,
    /// Lines read so far: the number of the last one.
    lines: u64,
    pending: Option<(u64, Vec<Cell>)>,
    info: InputInfo,
}

/// Opens a JSON Lines reader and reads its first object, whose keys are the headers.
pub(crate) fn open_lines_reader<'a>(
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    let (decoded, encoding) = decode_input(input, options.encoding, Detection::Text, source)?;
    let mut reader = JsonLinesReader {
        source: source.to_owned(),
        input: BufReader::new(Box::new(decoded)),
        columns: Columns::default(),
        limits: options.limits,
        line: Vec::new(),
        lines: 0,
        pending: None,
        info: InputInfo::with_encoding(encoding),
    };
    let mut first = Vec::new();
    if let Some(number) = reader.next_object(&mut first)? {
        reader.pending = Some((number, first));
    }
    reader.columns.fixed = true;
    Ok(Box::new(reader))
}

impl JsonLinesReader<'_> {
    /// Reads the next line that is not blank into `line`; returns its number.
    fn next_line(&mut self) -> Result<Option<u64>, FormatError> {
        loop {
            self.line.clear();
            let mut started = false;
            loop {
                let buf = match self.input.fill_buf() {
                    Ok(buf) => buf,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => {
                        return Err(FormatError::Io {
                            source_name: self.source.clone(),
                            error,
                        })
                    }
                };
                if buf.is_empty() {
                    break;
                }
                started = true;
                let (chunk, ends) = match memchr::memchr(b'\n', buf) {
                    Some(at) => (&buf[..at], Some(at + 1)),
                    None => (buf, None),
                };
                if self.line.len() + chunk.len() > self.limits.max_line_bytes {
                    return Err(row_too_big(
                        &self.source,
                        Some(self.lines + 1),
                        &self.limits,
                    ));
                }
                self.line.extend_from_slice(chunk);
                let used = ends.unwrap_or(buf.len());
                self.input.consume(used);
                if ends.is_some() {
                    break;
                }
            }
            if !started {
                return Ok(None);
            }
            self.lines += 1;
            if !self.line.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(self.lines));
            }
        }
    }

    /// Reads the next object into `cells`; returns its line, or `None` at the end.
    fn next_object(&mut self, cells: &mut Vec<Cell>) -> Result<Option<u64>, FormatError> {
        let Some(number) = self.next_line()? else {
            return Ok(None);
        };
        let first = self.line.iter().copied().find(|b| !b.is_ascii_whitespace());
        if first != Some(b'{') {
            return Err(FormatError::Malformed {
                source_name: self.source.clone(),
                row: Some(number),
                message: format!(
                    "expected a JSON object on each line, but this line holds {}",
                    describe(first.unwrap_or(b' '))
                ),
            });
        }
        let place = Place {
            source: &self.source,
            row: number,
            limits: &self.limits,
        };
        let mut stop = None;
        let mut de = serde_json::Deserializer::from_slice(&self.line);
        let result = read_object(&mut de, &mut self.columns, cells, &place, &mut stop)
            .and_then(|()| de.end());
        match result {
            Ok(()) => Ok(Some(number)),
            Err(error) if error.is_eof() && stop.is_none() => Err(FormatError::Malformed {
                source_name: self.source.clone(),
                row: Some(number),
                message: "the object does not end on its line".to_owned(),
            }),
            Err(error) => Err(json_error(error, &self.source, number, stop)),
        }
    }
}

impl RowReader for JsonLinesReader<'_> {
    fn headers(&self) -> &[String] {
        &self.columns.headers
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        if let Some((number, cells)) = self.pending.take() {
            row.number = number;
            row.cells = cells;
            return Ok(true);
        }
        match self.next_object(&mut row.cells)? {
            Some(number) => {
                row.number = number;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn info(&self) -> InputInfo {
        self.info
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

    /// Counts the row and refuses one wider than the header.
    fn check_width(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.rows += 1;
        if cells.len() > self.keys.len() {
            return Err(FormatError::RowTooLong {
                source_name: OUTPUT_NAME.to_owned(),
                row: self.rows,
                expected: self.keys.len(),
                found: cells.len(),
            });
        }
        Ok(())
    }

    /// Appends the row as one JSON object to `line`.
    fn push_object(&mut self, cells: &[Cell]) {
        self.line.push('{');
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            self.line.push_str(key);
            self.line.push(':');
            push_json_value(&mut self.line, cells.get(i).unwrap_or(&Cell::Empty));
        }
        self.line.push('}');
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
        self.check_width(cells)?;
        self.line.clear();
        self.line
            .push_str(if self.rows == 1 { "[\n" } else { ",\n" });
        self.push_object(cells);
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

/// Writes JSON Lines: one object per row, each on its own line. No rows is an empty file.
pub(crate) struct JsonLinesWriter<'a> {
    inner: JsonWriter<'a>,
}

/// Opens a JSON Lines writer.
pub(crate) fn open_lines_writer<'a>(
    output: Box<dyn Write + 'a>,
    options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    Ok(Box::new(JsonLinesWriter {
        inner: JsonWriter::new(output, options.encoding)?,
    }))
}

impl RowWriter for JsonLinesWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.inner.write_header(headers)
    }

    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        let writer = &mut self.inner;
        writer.check_width(cells)?;
        writer.line.clear();
        writer.push_object(cells);
        writer.line.push('\n');
        writer.emit(cells)
    }

    fn finish(self: Box<Self>) -> Result<(), FormatError> {
        self.inner.out.finish()
    }
}

fn push_json_value(out: &mut String, cell: &Cell) {
    // Writing to a String cannot fail, so the fmt::Results below are ignored.
    match cell {
        Cell::Empty => out.push_str("null"),
        Cell::Text(s) => push_json_string(out, s),
        // As a string, as django-import-export writes decimals: a JSON number would pass
        // through a float in most readers.
        Cell::Decimal(digits) => push_json_string(out, digits),
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

pub(crate) fn push_json_string(out: &mut String, s: &str) {
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
        JsonReader::new(Box::new(text), "data.json", &ReadOptions::default())
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
        describe_error(result)
    }

    fn describe_error<T: std::fmt::Debug>(result: Result<T, FormatError>) -> String {
        match result {
            Err(err @ FormatError::Malformed { .. }) => err.to_string(),
            other => panic!("expected Malformed, got {other:?}"),
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
        let given = |label: &str| ReadOptions {
            encoding: Some(label.parse().unwrap()),
            ..ReadOptions::default()
        };
        let mut reader =
            JsonReader::new(Box::new(&latin1[..]), "l.json", &given("latin1")).unwrap();
        assert_eq!(read_all(&mut reader).unwrap()[0].cells, [text("voilà")]);
        let mut reader = open(latin1).unwrap();
        assert_eq!(
            reader.info().encoding.unwrap().encoding.name(),
            "windows-1252"
        );
        assert_eq!(read_all(&mut reader).unwrap()[0].cells, [text("voilà")]);

        let err = JsonReader::new(Box::new(&latin1[..]), "l.json", &given("utf-8"))
            .err()
            .unwrap();
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

    fn limited(max_line_bytes: usize, max_cell_bytes: usize) -> ReadOptions {
        ReadOptions {
            limits: Limits {
                max_line_bytes,
                max_cell_bytes,
                ..Limits::default()
            },
            ..ReadOptions::default()
        }
    }

    fn limit_error(reader: Result<JsonReader<'_>, FormatError>) -> FormatError {
        match reader.and_then(|mut reader| read_all(&mut reader)) {
            Err(err @ FormatError::LimitExceeded { .. }) => err,
            other => panic!("expected LimitExceeded, got {other:?}"),
        }
    }

    #[test]
    fn limits_hold_for_cells_objects_and_widths() {
        let json = format!(
            r#"[{{"a": 1, "b": "x"}}, {{"a": 2, "b": "{}"}}]"#,
            "y".repeat(101)
        );
        let err = limit_error(JsonReader::new(
            Box::new(json.as_bytes()),
            "data.json",
            &limited(10_000, 100),
        ));
        assert_eq!(
            err.to_string(),
            "data.json, row 2: the cell in column \"b\" exceeds the limit of 100 bytes (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)"
        );
        // A nested value is measured as the text it becomes.
        let json = format!(r#"[{{"a": [{}]}}]"#, vec!["1"; 60].join(","));
        let err = limit_error(JsonReader::new(
            Box::new(json.as_bytes()),
            "data.json",
            &limited(10_000, 100),
        ));
        assert!(
            matches!(
                err,
                FormatError::LimitExceeded {
                    flag: "--max-cell-bytes",
                    ..
                }
            ),
            "{err:?}"
        );
        // An object longer than the line limit, whatever it holds.
        let json = format!(r#"[{{"a": 1}}, {{"a": [{}]}}]"#, vec!["0"; 600].join(","));
        let err = limit_error(JsonReader::new(
            Box::new(json.as_bytes()),
            "data.json",
            &limited(1000, 1 << 20),
        ));
        assert_eq!(
            err.to_string(),
            "data.json, row 2: the row exceeds the limit of 1000 bytes (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)"
        );
        // Too many keys for the line limit.
        let keys: Vec<String> = (0..20).map(|i| format!("\"k{i}\": 0")).collect();
        let json = format!("[{{{}}}]", keys.join(","));
        let err = limit_error(JsonReader::new(
            Box::new(json.as_bytes()),
            "data.json",
            &limited(1024, 100),
        ));
        assert!(
            matches!(
                err,
                FormatError::LimitExceeded {
                    row: Some(1),
                    flag: "--max-line-bytes",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn nested_values_are_compact_json_text() {
        let json = r#"[{"a": [ 1 , 2.5e300, -0.0, "q\"", null, [], {} ], "b": {"x": {"y": [true, false]}}}]"#;
        let mut reader = open(json.as_bytes()).unwrap();
        assert_eq!(
            read_all(&mut reader).unwrap()[0].cells,
            [
                text(r#"[1,2.5e+300,-0.0,"q\"",null,[],{}]"#),
                text(r#"{"x":{"y":[true,false]}}"#)
            ]
        );
    }

    fn read_lines(
        text: &[u8],
        options: &ReadOptions,
    ) -> Result<(Vec<String>, Vec<Row>), FormatError> {
        let mut reader = open_lines_reader(Box::new(text), "data.jsonl", options)?;
        let headers = reader.headers().to_vec();
        let mut rows = Vec::new();
        let mut row = Row::default();
        while reader.read_row(&mut row)? {
            rows.push(row.clone());
        }
        Ok((headers, rows))
    }

    #[test]
    fn reads_json_lines_numbered_by_line() {
        let lines = b"{\"id\": 1, \"name\": \"Dune\", \"ok\": true}\r\n\n  \n{\"name\": \"Emma\", \"id\": 2}\n{\"id\": 3, \"ok\": null}";
        let (headers, rows) = read_lines(lines, &ReadOptions::default()).unwrap();
        assert_eq!(headers, ["id", "name", "ok"]);
        let rows: Vec<_> = rows.into_iter().map(|r| (r.number, r.cells)).collect();
        assert_eq!(
            rows,
            [
                (1, vec![Cell::Int(1), text("Dune"), Cell::Bool(true)]),
                (4, vec![Cell::Int(2), text("Emma"), Cell::Empty]),
                (5, vec![Cell::Int(3), Cell::Empty, Cell::Empty]),
            ]
        );
        let (headers, rows) = read_lines(b"\n\n", &ReadOptions::default()).unwrap();
        assert!(headers.is_empty() && rows.is_empty());
    }

    #[test]
    fn json_lines_mistakes_name_the_line() {
        let cases: [(&[u8], &str); 5] = [
            (b"{\"a\": 1}\n[1]\n", "data.jsonl, row 2: expected a JSON object on each line, but this line holds an array"),
            (b"{\"a\": 1}\n{\"a\": 2} x\n", "data.jsonl, row 2: invalid JSON: trailing characters"),
            (b"{\"a\": 1}\n{\"a\":\n2}\n", "data.jsonl, row 2: the object does not end on its line"),
            (b"{\"a\": 1}\n\n{\"b\": 1}\n", "data.jsonl, row 3: the key \"b\" is not in the first object, which sets the columns"),
            (b"{\"a\": tru}\n", "data.jsonl, row 1: invalid JSON: expected ident"),
        ];
        for (text, message) in cases {
            let err = read_lines(text, &ReadOptions::default()).unwrap_err();
            assert_eq!(
                err.to_string(),
                message,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn json_lines_limits() {
        let text = format!("{{\"a\": 1}}\n{{\"a\": \"{}\"}}\n", "x".repeat(2000));
        let err = read_lines(text.as_bytes(), &limited(1000, 1 << 20)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data.jsonl, row 2: the row exceeds the limit of 1000 bytes (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)"
        );
        let err = read_lines(text.as_bytes(), &limited(1 << 20, 100)).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::LimitExceeded {
                    row: Some(2),
                    flag: "--max-cell-bytes",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn writes_json_lines() {
        let mut buf = Vec::new();
        let mut writer = open_lines_writer(Box::new(&mut buf), &WriteOptions::default()).unwrap();
        writer.write_header(&["a".into(), "b".into()]).unwrap();
        writer.write_row(&[Cell::Int(1), text("x\ny")]).unwrap();
        writer.write_row(&[Cell::Empty]).unwrap();
        writer.finish().unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"a\":1,\"b\":\"x\\ny\"}\n{\"a\":null,\"b\":null}\n"
        );
    }
}
