//! YAML: a list of mappings, one mapping per row (or a stream of documents, each one
//! mapping), read event by event so that only one row is held in memory.
//!
//! Plain scalars are typed as the YAML 1.2 core schema types them — null, booleans,
//! integers, floats — plus ISO dates and date-times (YAML 1.1 timestamps, which PyYAML and so
//! tablib read as dates). Quoted scalars are always text. A plain integer with a leading
//! zero (`007`) stays text: YAML 1.1 reads it as octal and YAML 1.2 as decimal, and the
//! writer quotes such text anyway. Lists and mappings inside a row become their JSON text.

use std::cell::{Cell as Counter, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::rc::Rc;

use chrono::{NaiveDate, NaiveDateTime};
use saphyr_parser::{BufferedInput, Event, Parser, ScalarStyle, Tag};

use crate::limits::{cell_too_big, max_row_cells, row_too_big, too_many_cells};
use crate::transcode::{decode_input, Detection, TextOutput, OUTPUT_NAME};
use crate::{
    Cell, FormatError, InputInfo, Limits, ReadOptions, Row, RowReader, RowWriter, WriteOptions,
};

/// How far past its limit a row may run before the reader stops feeding the parser (the
/// exact limits are checked on each value the parser yields; this bounds what the parser
/// can gather before it yields one).
const SLACK: u64 = 64 << 10;

pub(crate) fn open_reader<'a>(
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    let (decoded, encoding) = decode_input(input, options.encoding, Detection::Text, source)?;
    let meter = Rc::new(Meter::default());
    let chars = CharSource {
        input: BufReader::new(Box::new(decoded)),
        chunk: String::new(),
        at: 0,
        carry: Vec::new(),
        bad_bytes: false,
        max_row: options.limits.max_line_bytes as u64 + SLACK,
        max_value: options.limits.max_cell_bytes as u64 + SLACK,
        meter: Rc::clone(&meter),
    };
    let mut reader = YamlReader {
        source: source.to_owned(),
        parser: Parser::new(BufferedInput::new(chars)),
        meter,
        limits: options.limits,
        level: Level::Top,
        headers: Vec::new(),
        index: HashMap::new(),
        seen: Vec::new(),
        anchors: HashMap::new(),
        anchored_bytes: 0,
        rows: 0,
        in_record: false,
        value_column: None,
        pending: None,
        info: InputInfo::with_encoding(encoding),
    };
    let mut cells = Vec::new();
    if reader.next_record(&mut cells, true)? {
        reader.pending = Some(cells);
    }
    Ok(Box::new(reader))
}

/// Why the characters stopped before the end of the input.
#[derive(Debug)]
enum Stop {
    Io(io::Error),
    Encoding,
    Row,
    Cell,
}

/// What the reader and its character source share: how far the input has been read, and
/// where the current row and value began (in bytes).
#[derive(Debug, Default)]
struct Meter {
    position: Counter<u64>,
    record_start: Counter<u64>,
    value_start: Counter<u64>,
    /// A row's value is being read: a long stretch without an event is that value.
    watching_value: Counter<bool>,
    /// Characters handed to the parser so far.
    chars: Counter<u64>,
    /// Why the characters stopped early, and after how many.
    stop: RefCell<Option<(Stop, u64)>>,
    /// `stop` has been set (read on every character, so kept apart).
    halted: Counter<bool>,
}

impl Meter {
    fn halt(&self, stop: Stop) {
        *self.stop.borrow_mut() = Some((stop, self.chars.get()));
        self.halted.set(true);
    }

    /// Where the input was cut, when it was.
    fn cut_at(&self) -> Option<u64> {
        self.stop.borrow().as_ref().map(|(_, at)| *at)
    }

    /// Marks the start of a value (or of a row) at the current position.
    fn mark_value(&self) {
        self.value_start.set(self.position.get());
    }
}

/// The decoded input as characters for the parser, which can only be fed an iterator: it
/// stops early (and says why in the meter) on bad bytes, on a read error, or when a row or
/// value has run past its limit.
struct CharSource<'a> {
    input: BufReader<Box<dyn Read + 'a>>,
    /// Decoded text not yet handed out, from `at`.
    chunk: String,
    at: usize,
    /// The start of a character cut by the end of the last read.
    carry: Vec<u8>,
    /// The bytes after `chunk` are not UTF-8.
    bad_bytes: bool,
    /// How far past its start a row, and a value, may run before the source stops.
    max_row: u64,
    max_value: u64,
    meter: Rc<Meter>,
}

impl CharSource<'_> {
    /// Decodes the next stretch of input into `chunk`; `false` at the end or on a stop.
    fn refill(&mut self) -> bool {
        self.chunk.clear();
        self.at = 0;
        if self.bad_bytes {
            self.meter.halt(Stop::Encoding);
            return false;
        }
        while self.chunk.is_empty() {
            let buf = loop {
                match self.input.fill_buf() {
                    Ok(buf) => break buf,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => {
                        self.meter.halt(Stop::Io(error));
                        return false;
                    }
                }
            };
            if buf.is_empty() {
                if !self.carry.is_empty() {
                    self.meter.halt(Stop::Encoding);
                }
                return false;
            }
            let take = buf.len().min(8192);
            let mut bytes = std::mem::take(&mut self.carry);
            bytes.extend_from_slice(&buf[..take]);
            self.input.consume(take);
            match std::str::from_utf8(&bytes) {
                Ok(text) => self.chunk.push_str(text),
                Err(error) => {
                    let (valid, rest) = bytes.split_at(error.valid_up_to());
                    self.chunk
                        .push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match error.error_len() {
                        None => self.carry = rest.to_vec(),
                        Some(_) => {
                            self.bad_bytes = true;
                            if self.chunk.is_empty() {
                                self.meter.halt(Stop::Encoding);
                                return false;
                            }
                        }
                    }
                }
            }
        }
        true
    }
}

impl Iterator for CharSource<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let meter = &*self.meter;
        let position = meter.position.get();
        if position - meter.record_start.get() > self.max_row {
            meter.halt(Stop::Row);
        } else if meter.watching_value.get() && position - meter.value_start.get() > self.max_value
        {
            meter.halt(Stop::Cell);
        }
        if meter.halted.get() {
            return None;
        }
        if self.at >= self.chunk.len() && !self.refill() {
            return None;
        }
        let c = self.chunk.get(self.at..)?.chars().next()?;
        self.at += c.len_utf8();
        let meter = &*self.meter;
        meter.position.set(position + c.len_utf8() as u64);
        meter.chars.set(meter.chars.get() + 1);
        Some(c)
    }
}

/// Where the reader is in the stream's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Between documents, or at the top of one.
    Top,
    /// Inside a document's top-level list, whose items are rows.
    List,
}

/// A value an anchor (`&name`) names, for the aliases (`*name`) that repeat it.
#[derive(Debug, Clone)]
enum Anchored {
    Scalar(Cell),
    /// A list or mapping, as JSON text.
    Json(String),
}

type YamlParser<'a> = Parser<'a, BufferedInput<CharSource<'a>>>;

/// Reads a YAML list of mappings, one row per mapping.
struct YamlReader<'a> {
    source: String,
    parser: YamlParser<'a>,
    meter: Rc<Meter>,
    limits: Limits,
    level: Level,
    headers: Vec<String>,
    index: HashMap<String, usize>,
    seen: Vec<bool>,
    anchors: HashMap<usize, Anchored>,
    anchored_bytes: usize,
    /// Rows read so far: the number of the last one.
    rows: u64,
    /// Row `rows` is being read.
    in_record: bool,
    /// The column whose value is being read.
    value_column: Option<usize>,
    pending: Option<Vec<Cell>>,
    info: InputInfo,
}

impl<'a> YamlReader<'a> {
    /// The next event, or the error that stopped the parser.
    ///
    /// When the characters stopped early, the parser takes the cut for the end of the input:
    /// what it yields from before the cut is sound (it may have looked ahead past rows it
    /// has not yielded yet), but an event at or after the cut is made up by the cut, so the
    /// reason for the cut is the error from there on.
    fn next_event(&mut self) -> Result<Event<'a>, FormatError> {
        let next = self.parser.next_event();
        let cut_at = self.meter.cut_at();
        let event = match next {
            Some(Ok((event, span))) => {
                let made_up = cut_at.is_some_and(|at| span.start.index() as u64 >= at);
                if made_up || (cut_at.is_some() && matches!(event, Event::StreamEnd)) {
                    return Err(self.stop_error());
                }
                event
            }
            None if cut_at.is_some() => return Err(self.stop_error()),
            None => Event::StreamEnd,
            Some(Err(_)) if cut_at.is_some() => return Err(self.stop_error()),
            Some(Err(error)) => {
                let marker = error.marker();
                return Err(FormatError::Malformed {
                    source_name: self.source.clone(),
                    row: (self.rows > 0).then_some(self.current_row()),
                    message: format!(
                        "invalid YAML at line {}, column {}: {}",
                        marker.line(),
                        marker.col() + 1,
                        error.info()
                    ),
                });
            }
        };
        self.meter.mark_value();
        Ok(event)
    }

    /// The row being read, or the next one between rows.
    fn current_row(&self) -> u64 {
        if self.in_record {
            self.rows
        } else {
            self.rows + 1
        }
    }

    /// The error for the reason the characters stopped early.
    fn stop_error(&mut self) -> FormatError {
        let row = self.current_row();
        let stop = self.meter.stop.borrow_mut().take();
        match stop {
            Some((Stop::Io(error), _)) => FormatError::Io {
                source_name: self.source.clone(),
                error,
            },
            Some((Stop::Encoding, _)) | None => FormatError::Encoding {
                source_name: self.source.clone(),
                row,
                encoding: "UTF-8".to_owned(),
            },
            Some((Stop::Row, _)) => row_too_big(&self.source, Some(row), &self.limits),
            Some((Stop::Cell, _)) => {
                let column = self.value_column.and_then(|i| self.headers.get(i));
                cell_too_big(
                    &self.source,
                    Some(row),
                    column.map(String::as_str),
                    &self.limits,
                )
            }
        }
    }

    fn malformed(&self, row: Option<u64>, message: impl Into<String>) -> FormatError {
        FormatError::Malformed {
            source_name: self.source.clone(),
            row,
            message: message.into(),
        }
    }

    /// Reads the next row into `cells`; `false` at the end. `first`: the row sets the
    /// columns.
    fn next_record(&mut self, cells: &mut Vec<Cell>, first: bool) -> Result<bool, FormatError> {
        loop {
            let event = self.next_event()?;
            match (self.level, event) {
                (_, Event::StreamEnd) => return Ok(false),
                (Level::Top, Event::StreamStart | Event::Nothing) => {}
                (Level::Top, Event::DocumentStart(_) | Event::DocumentEnd) => {
                    // Anchors belong to their document.
                    self.anchors.clear();
                    self.anchored_bytes = 0;
                }
                (Level::Top, Event::SequenceStart(..)) => self.level = Level::List,
                (Level::List, Event::SequenceEnd) => self.level = Level::Top,
                (_, Event::MappingStart(..)) => {
                    self.read_mapping(cells, first)?;
                    return Ok(true);
                }
                // An empty document (`---` and nothing).
                (Level::Top, Event::Scalar(value, ScalarStyle::Plain, _, None))
                    if value.is_empty() => {}
                (Level::Top, _) => {
                    return Err(self.malformed(
                        None,
                        "expected a list of mappings, but the document is a single value",
                    ))
                }
                (Level::List, event) => {
                    let what = match event {
                        Event::SequenceStart(..) => "a list",
                        Event::Alias(_) => {
                            "an alias (*name), which rowport does not expand into a whole row"
                        }
                        _ => "a single value",
                    };
                    return Err(self.malformed(
                        Some(self.rows + 1),
                        format!("expected a mapping, but this item is {what}"),
                    ));
                }
            }
        }
    }

    /// Reads one mapping's keys and values into `cells`, after its `MappingStart`.
    fn read_mapping(&mut self, cells: &mut Vec<Cell>, first: bool) -> Result<(), FormatError> {
        self.rows += 1;
        self.in_record = true;
        let row = self.rows;
        self.meter.record_start.set(self.meter.value_start.get());
        self.seen.clear();
        self.seen.resize(self.headers.len(), false);
        cells.resize(self.headers.len(), Cell::Empty);
        loop {
            let key = match self.next_event()? {
                Event::MappingEnd => break,
                Event::Scalar(value, ..) => value.into_owned(),
                Event::Alias(id) => match self.anchors.get(&id) {
                    Some(Anchored::Scalar(cell)) => cell.to_string(),
                    _ => return Err(self.malformed(Some(row), "a key must be text")),
                },
                _ => {
                    return Err(
                        self.malformed(Some(row), "a key must be text, not a list or a mapping")
                    )
                }
            };
            let index = match self.index.get(&key) {
                Some(&index) => index,
                None if first => {
                    if self.headers.len() >= max_row_cells(&self.limits) {
                        return Err(too_many_cells(&self.source, Some(row), &self.limits));
                    }
                    self.headers.push(key.clone());
                    self.index.insert(key, self.headers.len() - 1);
                    self.seen.push(false);
                    cells.push(Cell::Empty);
                    self.headers.len() - 1
                }
                None => {
                    return Err(self.malformed(
                        Some(row),
                        format!(
                            "the key {key:?} is not in the first mapping, which sets the columns"
                        ),
                    ))
                }
            };
            self.meter.watching_value.set(true);
            self.value_column = Some(index);
            let value = self.read_value(row, index);
            self.value_column = None;
            self.meter.watching_value.set(false);
            let value = value?;
            if let Some(seen) = self.seen.get_mut(index) {
                *seen = true;
            }
            if let Some(cell) = cells.get_mut(index) {
                *cell = value;
            }
        }
        for (cell, seen) in cells.iter_mut().zip(&self.seen) {
            if !seen {
                *cell = Cell::Empty;
            }
        }
        self.in_record = false;
        Ok(())
    }

    /// Reads the value of column `index` in `row`.
    fn read_value(&mut self, row: u64, index: usize) -> Result<Cell, FormatError> {
        let cell = match self.next_event()? {
            Event::Scalar(value, style, anchor, tag) => {
                let cell = typed(&value, style, tag.as_deref());
                self.remember(anchor, Anchored::Scalar(cell.clone()), row)?;
                cell
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(Anchored::Scalar(cell)) => cell.clone(),
                Some(Anchored::Json(text)) => Cell::Text(text.clone()),
                None => return Err(self.malformed(Some(row), "an alias (*name) names no anchor")),
            },
            Event::SequenceStart(anchor, _) => {
                Cell::Text(self.read_nested(row, index, anchor, '[')?)
            }
            Event::MappingStart(anchor, _) => {
                Cell::Text(self.read_nested(row, index, anchor, '{')?)
            }
            _ => return Err(self.malformed(Some(row), "a value is missing")),
        };
        if let Cell::Text(text) = &cell {
            if text.len() > self.limits.max_cell_bytes {
                return Err(self.cell_error(row, index));
            }
        }
        Ok(cell)
    }

    fn cell_error(&self, row: u64, index: usize) -> FormatError {
        let column = self.headers.get(index).map(String::as_str);
        cell_too_big(&self.source, Some(row), column, &self.limits)
    }

    /// Keeps an anchored value for its aliases, within the line limit for the document.
    fn remember(&mut self, anchor: usize, value: Anchored, row: u64) -> Result<(), FormatError> {
        if anchor == 0 {
            return Ok(());
        }
        let size = match &value {
            Anchored::Scalar(cell) => cell.as_text().map_or(16, str::len),
            Anchored::Json(text) => text.len(),
        };
        self.anchored_bytes += size;
        if self.anchored_bytes > self.limits.max_line_bytes {
            return Err(row_too_big(&self.source, Some(row), &self.limits));
        }
        self.anchors.insert(anchor, value);
        Ok(())
    }

    /// Reads a list (`open` is `[`) or mapping (`{`) inside a row, after its start event,
    /// into JSON text, refusing it once it is longer than a cell may be.
    fn read_nested(
        &mut self,
        row: u64,
        index: usize,
        anchor: usize,
        open: char,
    ) -> Result<String, FormatError> {
        struct Frame {
            mapping: bool,
            items: usize,
            anchor: usize,
            start: usize,
        }
        let mut out = String::new();
        let mut stack = vec![Frame {
            mapping: open == '{',
            items: 0,
            anchor,
            start: 0,
        }];
        out.push(open);
        while let Some(top) = stack.last_mut() {
            if out.len() > self.limits.max_cell_bytes {
                return Err(self.cell_error(row, index));
            }
            let event = self.next_event()?;
            // Mapping items alternate key, value: a key is written as a JSON string.
            let is_key = top.mapping && top.items % 2 == 0;
            let ends = matches!(event, Event::SequenceEnd | Event::MappingEnd);
            if !ends {
                if top.items > 0 {
                    out.push(if is_key || !top.mapping { ',' } else { ':' });
                } else if top.mapping && !is_key {
                    out.push(':');
                }
                top.items += 1;
            }
            match event {
                Event::SequenceEnd | Event::MappingEnd => {
                    out.push(if top.mapping { '}' } else { ']' });
                    let (anchor, start) = (top.anchor, top.start);
                    stack.pop();
                    let text = out.get(start..).unwrap_or_default().to_owned();
                    self.remember(anchor, Anchored::Json(text), row)?;
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let cell = if is_key {
                        Cell::Text(value.to_string())
                    } else {
                        typed(&value, style, tag.as_deref())
                    };
                    if is_key {
                        push_json_text(&mut out, &value);
                    } else {
                        push_json_cell(&mut out, &cell);
                    }
                    self.remember(anchor, Anchored::Scalar(cell), row)?;
                }
                Event::Alias(id) => match self.anchors.get(&id) {
                    Some(Anchored::Scalar(cell)) if is_key => {
                        push_json_text(&mut out, &cell.to_string())
                    }
                    Some(Anchored::Scalar(cell)) => push_json_cell(&mut out, cell),
                    Some(Anchored::Json(text)) if !is_key => out.push_str(text),
                    Some(Anchored::Json(_)) => {
                        return Err(self
                            .malformed(Some(row), "a key must be text, not a list or a mapping"))
                    }
                    None => {
                        return Err(self.malformed(Some(row), "an alias (*name) names no anchor"))
                    }
                },
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if is_key {
                        return Err(self
                            .malformed(Some(row), "a key must be text, not a list or a mapping"));
                    }
                    let mapping = matches!(event, Event::MappingStart(..));
                    stack.push(Frame {
                        mapping,
                        items: 0,
                        anchor,
                        start: out.len(),
                    });
                    out.push(if mapping { '{' } else { '[' });
                }
                _ => return Err(self.malformed(Some(row), "the list or mapping is not closed")),
            }
        }
        Ok(out)
    }
}

impl RowReader for YamlReader<'_> {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        if let Some(cells) = self.pending.take() {
            row.cells = cells;
            row.number = 1;
            return Ok(true);
        }
        if !self.next_record(&mut row.cells, false)? {
            return Ok(false);
        }
        row.number = self.rows;
        Ok(true)
    }

    fn info(&self) -> InputInfo {
        self.info
    }
}

/// The cell a scalar stands for: by its tag when it has a core-schema one, as text when
/// quoted or otherwise tagged, else by what a plain scalar resolves to.
fn typed(value: &str, style: ScalarStyle, tag: Option<&Tag>) -> Cell {
    if let Some(tag) = tag {
        let core = if tag.is_yaml_core_schema() {
            tag.suffix.as_str()
        } else {
            ""
        };
        return match core {
            "null" => Cell::Empty,
            "bool" | "int" | "float" | "timestamp" => resolve_plain(value),
            _ => text_cell(value),
        };
    }
    match style {
        ScalarStyle::Plain => resolve_plain(value),
        _ => text_cell(value),
    }
}

fn text_cell(value: &str) -> Cell {
    if value.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(value.to_owned())
    }
}

/// What a plain scalar means: null, a boolean, an integer, a float, a date or date-time, or
/// text.
fn resolve_plain(value: &str) -> Cell {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return Cell::Empty,
        "true" | "True" | "TRUE" => return Cell::Bool(true),
        "false" | "False" | "FALSE" => return Cell::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Cell::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Cell::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Cell::Float(f64::NAN),
        _ => {}
    }
    if let Some(cell) = integer(value) {
        return cell;
    }
    if is_float(value) {
        if let Ok(x) = value.parse::<f64>() {
            return Cell::Float(x);
        }
    }
    if value.len() == 10 {
        if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            return Cell::Date(date);
        }
    }
    if value.len() >= 19 && value.as_bytes().get(4) == Some(&b'-') {
        for format in [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dt%H:%M:%S%.f",
        ] {
            if let Ok(datetime) = NaiveDateTime::parse_from_str(value, format) {
                return Cell::DateTime(datetime);
            }
        }
    }
    Cell::Text(value.to_owned())
}

/// A YAML 1.2 core integer: decimal (not with a leading zero), `0o` octal, `0x` hex.
fn integer(value: &str) -> Option<Cell> {
    let (sign, digits) = match value.as_bytes().first()? {
        b'-' => (-1, value.get(1..)?),
        b'+' => (1, value.get(1..)?),
        _ => (1, value),
    };
    let radix_digits = |prefix: &str, radix: u32| {
        let rest = value.strip_prefix(prefix)?;
        i64::from_str_radix(rest, radix).ok().map(Cell::Int)
    };
    if let Some(cell) = radix_digits("0o", 8).or_else(|| radix_digits("0x", 16)) {
        return Some(cell);
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Some(Cell::Text(value.to_owned()));
    }
    match value.parse::<i64>() {
        Ok(i) => Some(Cell::Int(i)),
        // Too big for an integer cell: kept as written, every digit exact.
        Err(_) => Some(Cell::Text(value.to_owned())).filter(|_| sign != 0),
    }
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`, the core schema's
/// float.
fn is_float(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let whole = digits(&mut i);
    let mut fraction = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        fraction = digits(&mut i);
    } else if whole == 0 {
        return false;
    }
    if whole == 0 && fraction == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

/// A cell as a JSON value, for lists and mappings inside a row.
fn push_json_cell(out: &mut String, cell: &Cell) {
    match cell {
        Cell::Empty => out.push_str("null"),
        Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Cell::Float(x) => match serde_json::Number::from_f64(*x) {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        },
        other => push_json_text(out, &other.to_string()),
    }
}

fn push_json_text(out: &mut String, text: &str) {
    crate::json_format::push_json_string(out, text);
}

/// Writes a YAML list of mappings:
///
/// ```yaml
/// - isbn: "111"
///   name: The Dispossessed
///   price: "8.99"
/// ```
///
/// Text is written plain only when it reads back as the same text in YAML 1.2 and 1.1;
/// anything else (`"007"`, `"true"`, `"null"`, `"2024-01-02"`, `"yes"`) is double-quoted.
/// No rows is `[]`.
pub(crate) fn open_writer<'a>(
    output: Box<dyn Write + 'a>,
    options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    Ok(Box::new(YamlWriter {
        out: TextOutput::new(output, options.encoding)?,
        keys: Vec::new(),
        headers: Vec::new(),
        rows: 0,
        text: String::new(),
    }))
}

struct YamlWriter<'a> {
    out: TextOutput<'a>,
    /// Each header as written before its value: `name: `.
    keys: Vec<String>,
    headers: Vec<String>,
    rows: u64,
    text: String,
}

impl YamlWriter<'_> {
    fn emit(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.out.write(&self.text).map_err(|e| {
            let values = self.headers.iter().cloned();
            e.into_format_error(
                self.out.encoding_name(),
                values.chain(cells.iter().map(Cell::to_string)),
            )
        })
    }
}

impl RowWriter for YamlWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.headers = headers.to_vec();
        self.keys = headers
            .iter()
            .map(|header| {
                let mut key = String::new();
                push_yaml_text(&mut key, header);
                key.push(':');
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
        self.text.clear();
        if self.keys.is_empty() {
            self.text.push_str("- {}\n");
        }
        for (i, key) in self.keys.iter().enumerate() {
            self.text.push_str(if i == 0 { "- " } else { "  " });
            self.text.push_str(key);
            self.text.push(' ');
            push_yaml_value(&mut self.text, cells.get(i).unwrap_or(&Cell::Empty));
            self.text.push('\n');
        }
        self.emit(cells)
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        if self.rows == 0 {
            self.text.clear();
            self.text.push_str("[]\n");
            self.emit(&[])?;
        }
        self.out.finish()
    }
}

/// A cell as a YAML value that reads back as the same cell.
fn push_yaml_value(out: &mut String, cell: &Cell) {
    match cell {
        Cell::Empty => out.push_str("null"),
        // Quoted, like JSON's string: a YAML float would lose the exact digits.
        Cell::Text(text) | Cell::Decimal(text) => push_yaml_text(out, text),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Cell::Float(x) => push_yaml_float(out, *x),
        Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Cell::Date(_) | Cell::DateTime(_) => {
            let _ = write!(out, "{cell}");
        }
        // Plain, 09:05:00 would be a base-60 number in YAML 1.1.
        Cell::Time(_) => push_quoted(out, &cell.to_string()),
    }
}

/// A float that both YAML 1.1 and 1.2 read as one: always with a `.`, and a signed exponent.
fn push_yaml_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str(".nan");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { ".inf" } else { "-.inf" });
    } else {
        // Debug prints the shortest text that reads back as the same float.
        let text = format!("{x:?}");
        match text.split_once('e') {
            Some((mantissa, exponent)) => {
                out.push_str(mantissa);
                if !mantissa.contains('.') {
                    out.push_str(".0");
                }
                out.push('e');
                if !exponent.starts_with('-') {
                    out.push('+');
                }
                out.push_str(exponent);
            }
            None => out.push_str(&text),
        }
    }
}

/// Text, plain when that is safe, else double-quoted.
fn push_yaml_text(out: &mut String, text: &str) {
    if plain_is_safe(text) {
        out.push_str(text);
    } else {
        push_quoted(out, text);
    }
}

/// Whether `text` written plain reads back as the same text, in YAML 1.2 and in 1.1.
fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if first.is_ascii_digit()
        || first.is_whitespace()
        || "-?:,[]{}#&*!|>'\"%@`.+~=<".contains(first)
        || text.ends_with(|c: char| c.is_whitespace() || c == ':')
        || text.contains(": ")
        || text.contains(" #")
        || text.contains(['\t', '\n', '\r'])
        || text
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'))
    {
        return false;
    }
    // YAML 1.1 booleans and the words every version reads as something else.
    const RESERVED: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "=",
    ];
    let lower = text.to_ascii_lowercase();
    !RESERVED.contains(&lower.as_str()) && matches!(resolve_plain(text), Cell::Text(_))
}

/// Text in double quotes, with YAML's escapes.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;

    use super::*;

    fn options() -> ReadOptions {
        ReadOptions::default()
    }

    type Rows = Vec<(u64, Vec<Cell>)>;

    fn read_with(yaml: &str, options: &ReadOptions) -> Result<(Vec<String>, Rows), FormatError> {
        let mut reader = open_reader(Box::new(yaml.as_bytes()), "books.yaml", options)?;
        let headers = reader.headers().to_vec();
        let mut row = Row::default();
        let mut rows = Vec::new();
        while reader.read_row(&mut row)? {
            rows.push((row.number, row.cells.clone()));
        }
        Ok((headers, rows))
    }

    fn read(yaml: &str) -> (Vec<String>, Rows) {
        read_with(yaml, &options()).unwrap()
    }

    fn error(yaml: &str) -> String {
        read_with(yaml, &options()).unwrap_err().to_string()
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn reads_a_list_of_mappings_with_types() {
        let yaml = "\
# books
- isbn: '007'
  name: Dune
  price: 8.99
  pages: 412
  in_stock: true
  published: 1965-08-01
  note: ~
  code: 007
  big: 123456789012345678901234567890
- isbn: \"008\"
  pages: -3
  in_stock: False
  name: |
    two
    lines
";
        let (headers, rows) = read(yaml);
        assert_eq!(
            headers,
            [
                "isbn",
                "name",
                "price",
                "pages",
                "in_stock",
                "published",
                "note",
                "code",
                "big"
            ]
        );
        assert_eq!(
            rows,
            [
                (
                    1,
                    vec![
                        text("007"),
                        text("Dune"),
                        Cell::Float(8.99),
                        Cell::Int(412),
                        Cell::Bool(true),
                        Cell::Date(date(1965, 8, 1)),
                        Cell::Empty,
                        text("007"),
                        text("123456789012345678901234567890"),
                    ]
                ),
                (
                    2,
                    vec![
                        text("008"),
                        text("two\nlines\n"),
                        Cell::Empty,
                        Cell::Int(-3),
                        Cell::Bool(false),
                        Cell::Empty,
                        Cell::Empty,
                        Cell::Empty,
                        Cell::Empty,
                    ]
                ),
            ]
        );
    }

    #[test]
    fn resolves_plain_scalars_as_the_core_schema_does() {
        let cases = [
            ("0x1F", Cell::Int(31)),
            ("0o17", Cell::Int(15)),
            ("+5", Cell::Int(5)),
            ("0", Cell::Int(0)),
            ("1e3", Cell::Float(1000.0)),
            (".5", Cell::Float(0.5)),
            ("-.inf", Cell::Float(f64::NEG_INFINITY)),
            (
                "2001-02-03T04:05:06",
                Cell::DateTime(date(2001, 2, 3).and_hms_opt(4, 5, 6).unwrap()),
            ),
            (
                "2001-02-03 04:05:06.5",
                Cell::DateTime(date(2001, 2, 3).and_hms_milli_opt(4, 5, 6, 500).unwrap()),
            ),
            ("2001-02-30", text("2001-02-30")),
            ("yes", text("yes")),
            ("1.2.3", text("1.2.3")),
            ("e3", text("e3")),
            (".", text(".")),
        ];
        for (plain, cell) in cases {
            assert_eq!(resolve_plain(plain), cell, "{plain}");
        }
    }

    #[test]
    fn tags_decide_before_style() {
        let (_, rows) = read("- a: !!str 12\n  b: !!int \"12\"\n  c: !!null x\n  d: !custom 5\n");
        assert_eq!(
            rows[0].1,
            [text("12"), Cell::Int(12), Cell::Empty, text("5")]
        );
    }

    #[test]
    fn nested_values_become_json_text_and_aliases_repeat_anchors() {
        let yaml = "\
- name: &n Dune
  tags: &t [sf, 1, true, null, {k: v}]
  copy: *n
  again: *t
  deep: {a: [1, [2, {b: c}]], 'x y': 2.5}
";
        let (_, rows) = read(yaml);
        assert_eq!(
            rows[0].1,
            [
                text("Dune"),
                text(r#"["sf",1,true,null,{"k":"v"}]"#),
                text("Dune"),
                text(r#"["sf",1,true,null,{"k":"v"}]"#),
                text(r#"{"a":[1,[2,{"b":"c"}]],"x y":2.5}"#),
            ]
        );
    }

    #[test]
    fn a_stream_of_mapping_documents_is_a_list_of_rows() {
        let (headers, rows) = read("---\na: 1\n---\na: 2\n...\n---\n");
        assert_eq!(headers, ["a"]);
        assert_eq!(rows, [(1, vec![Cell::Int(1)]), (2, vec![Cell::Int(2)])]);
    }

    #[test]
    fn empty_inputs_have_no_rows() {
        for yaml in ["", "\n# nothing\n", "[]\n", "---\n"] {
            let (headers, rows) = read(yaml);
            assert!(headers.is_empty() && rows.is_empty(), "{yaml:?}");
        }
    }

    #[test]
    fn structural_mistakes_are_explained() {
        assert_eq!(
            error("just text\n"),
            "books.yaml: expected a list of mappings, but the document is a single value"
        );
        assert_eq!(
            error("- a: 1\n- [1, 2]\n"),
            "books.yaml, row 2: expected a mapping, but this item is a list"
        );
        assert_eq!(
            error("- a: 1\n- 5\n"),
            "books.yaml, row 2: expected a mapping, but this item is a single value"
        );
        assert_eq!(
            error("- a: 1\n- a: 2\n  zz: 3\n"),
            "books.yaml, row 2: the key \"zz\" is not in the first mapping, which sets the columns"
        );
        assert_eq!(
            error("- a: 1\n- a: [1, 2\n"),
            "books.yaml, row 2: invalid YAML at line 3, column 1: while parsing a flow sequence, expected ',' or ']'"
        );
    }

    #[test]
    fn bad_bytes_name_the_row() {
        let mut bytes = b"- a: 1\n- a: 2\n- a: x".to_vec();
        bytes.push(0xFF);
        bytes.extend_from_slice("é".repeat(30).as_bytes());
        let options = ReadOptions {
            encoding: Some("utf-8".parse().unwrap()),
            ..ReadOptions::default()
        };
        let mut reader = open_reader(Box::new(&bytes[..]), "b.yaml", &options).unwrap();
        let mut row = Row::default();
        let mut result = Ok(true);
        while let Ok(true) = result {
            result = reader.read_row(&mut row);
        }
        assert_eq!(
            result.unwrap_err().to_string(),
            "b.yaml, row 3: the text is not valid UTF-8"
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

    #[test]
    fn limits_hold_for_cells_rows_and_anchors() {
        let yaml = format!("- a: x\n  b: {}\n", "y".repeat(101));
        assert_eq!(
            read_with(&yaml, &limited(10_000, 100)).unwrap_err().to_string(),
            "books.yaml, row 1: the cell in column \"b\" exceeds the limit of 100 bytes (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)"
        );
        let yaml = format!("- a: x\n  b: [{}]\n", vec!["1"; 60].join(", "));
        assert!(matches!(
            read_with(&yaml, &limited(10_000, 100)).unwrap_err(),
            FormatError::LimitExceeded {
                flag: "--max-cell-bytes",
                ..
            }
        ));
        // A billion laughs stops at the cell limit.
        let mut yaml = String::from("- a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            yaml.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
        }
        let err = read_with(&yaml, &limited(1 << 20, 1 << 16)).unwrap_err();
        assert!(matches!(err, FormatError::LimitExceeded { .. }), "{err:?}");
        // Too many columns.
        let yaml: String = (0..20).map(|i| format!("k{i}: 1\n")).collect();
        assert!(matches!(
            read_with(&yaml, &limited(1024, 1024)).unwrap_err(),
            FormatError::LimitExceeded {
                flag: "--max-line-bytes",
                ..
            }
        ));
    }

    #[test]
    fn deep_nesting_is_refused() {
        // The parser's own depth limit: nesting costs it memory at every level.
        let yaml = format!("- a: {}\n", "[".repeat(100_000));
        let err = read_with(&yaml, &options()).unwrap_err().to_string();
        assert!(
            err.starts_with("books.yaml, row 1: invalid YAML at line 1, column ")
                && err.ends_with(": recursion limit exceeded"),
            "{err}"
        );
        let yaml = format!("- a: {}1{}\n", "[".repeat(128), "]".repeat(128));
        assert_eq!(read(&yaml).1.len(), 1);
    }

    #[test]
    fn a_huge_value_stops_the_parser_early() {
        // More than the slack past the cell limit: the source stops feeding the parser.
        let yaml = format!("- a: \"{}\"\n", "z".repeat(300_000));
        let err = read_with(&yaml, &limited(1 << 30, 1000)).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::LimitExceeded {
                    flag: "--max-cell-bytes",
                    row: Some(1),
                    ..
                }
            ),
            "{err:?}"
        );
        let yaml = format!("- a: 1\n- a: \"{}\"\n", "z".repeat(300_000));
        let err = read_with(&yaml, &limited(1000, 1 << 30)).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::LimitExceeded {
                    flag: "--max-line-bytes",
                    row: Some(2),
                    ..
                }
            ),
            "{err:?}"
        );
    }

    fn write(headers: &[&str], rows: &[Vec<Cell>]) -> String {
        let mut buf = Vec::new();
        let mut writer = open_writer(Box::new(&mut buf), &WriteOptions::default()).unwrap();
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        writer.write_header(&headers).unwrap();
        for cells in rows {
            writer.write_row(cells).unwrap();
        }
        writer.finish().unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn writes_a_list_of_mappings_quoting_what_would_retype() {
        let rows = [vec![
            text("007"),
            text("true"),
            text("null"),
            text("2024-01-02"),
            text("yes"),
            text("Dune"),
            text("a: b"),
            text(""),
            Cell::Empty,
            Cell::Int(3),
            Cell::Float(2.0),
            Cell::Float(1e300),
            Cell::Bool(false),
            Cell::Date(date(2024, 2, 29)),
            Cell::Time(NaiveTime::from_hms_opt(9, 5, 0).unwrap()),
            text("line\nbreak\t\u{1}\"q\" \\"),
        ]];
        let headers = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p q",
        ];
        assert_eq!(
            write(&headers, &rows),
            "- a: \"007\"\n  b: \"true\"\n  c: \"null\"\n  d: \"2024-01-02\"\n  e: \"yes\"\n  f: Dune\n  g: \"a: b\"\n  h: \"\"\n  i: null\n  j: 3\n  k: 2.0\n  l: 1.0e+300\n  m: false\n  \"n\": 2024-02-29\n  o: \"09:05:00\"\n  p q: \"line\\nbreak\\t\\x01\\\"q\\\" \\\\\"\n"
        );
        assert_eq!(write(&["a"], &[]), "[]\n");
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let awkward = [
            "007",
            "-",
            "- x",
            "#x",
            "x #y",
            "trailing ",
            " leading",
            "on",
            "Off",
            "N",
            "~",
            "12:30",
            "1_000",
            "1e5",
            "0x1F",
            ".5",
            "+1",
            "[x]",
            "{x}",
            "*x",
            "&x",
            "!x",
            "%x",
            "@x",
            "`x",
            "'x'",
            "\"x\"",
            "a: b",
            "a:",
            "x\u{85}y",
            "\u{feff}x",
            "tab\tin",
            "é ß 日本 🎉",
            "plain words",
            "O'Brien",
            "a, b",
            "x: y: z",
            "null",
            "NULL",
            "=",
            "<<",
            "?",
            "? x",
            "2001-02-03 04:05:06",
        ];
        let headers: Vec<&str> = awkward.to_vec();
        let rows = vec![awkward.iter().map(|s| text(s)).collect::<Vec<_>>()];
        let yaml = write(&headers, &rows);
        let (back_headers, back_rows) = read(&yaml);
        assert_eq!(back_headers, awkward, "{yaml}");
        assert_eq!(back_rows[0].1, rows[0], "{yaml}");

        let typed = vec![vec![
            Cell::Int(i64::MIN),
            Cell::Float(0.1),
            Cell::Float(-3.0),
            Cell::Float(1e-300),
            Cell::Float(f64::INFINITY),
            Cell::Bool(true),
            Cell::Date(date(1999, 12, 31)),
            Cell::DateTime(
                date(1999, 12, 31)
                    .and_hms_micro_opt(23, 59, 59, 250)
                    .unwrap(),
            ),
            Cell::Empty,
        ]];
        let yaml = write(&["a", "b", "c", "d", "e", "f", "g", "h", "i"], &typed);
        assert_eq!(read(&yaml).1[0].1, typed[0], "{yaml}");
    }
}
