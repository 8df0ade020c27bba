//! HTML: rows from the first `<table>` of a page, streamed; written as a small page with
//! every cell escaped.
//!
//! Reading: the table's first row (of `<th>` or `<td>` cells) is the header; a row's number
//! is its position in the table, the header being row 1. A cell's text is what a browser
//! shows: tags dropped, entities decoded, runs of whitespace in the source made one space and
//! trimmed at the ends, `<br>` a line break. Whitespace written as a character reference
//! (`&#10;`, `&#32;`) is kept as it is, which is how the writer keeps a value's exact
//! spacing. `colspan` repeats nothing: the cells it spans after the first are empty.

use std::io::{self, Read, Write};

use crate::limits::{cell_too_big, max_row_cells, row_too_big, too_many_cells};
use crate::transcode::{decode_input, Detection, TextOutput, OUTPUT_NAME};
use crate::{
    Cell, FormatError, InputInfo, Limits, ReadOptions, Row, RowReader, RowWriter, WriteOptions,
};

/// How many bytes of a tag are kept to read its name and attributes; the rest of a longer
/// tag is skipped over.
const TAG_KEPT: usize = 4096;

/// Browsers cap `colspan` at 1000.
const MAX_COLSPAN: usize = 1000;

pub(crate) fn open_reader<'a>(
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    let (decoded, encoding) = decode_input(input, options.encoding, Detection::Html, source)?;
    let mut reader = HtmlReader {
        source: source.to_owned(),
        input: Input {
            inner: Box::new(decoded),
            buf: vec![0; 1 << 16],
            start: 0,
            end: 0,
        },
        limits: options.limits,
        headers: Vec::new(),
        header_done: false,
        depth: 0,
        table_done: false,
        raw_text_end: None,
        row: None,
        rows: 0,
        ready: None,
        tag: Vec::new(),
        info: InputInfo::with_encoding(encoding),
    };
    while !reader.header_done && !reader.table_done {
        reader.step()?;
    }
    Ok(Box::new(reader))
}

/// Buffered input that can be asked for a few bytes more than it holds (to see what
/// follows a `<`, or an end tag cut by a read).
struct Input<'a> {
    inner: Box<dyn Read + 'a>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Input<'_> {
    /// At least `n` bytes, or all that is left when fewer.
    fn ensure(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < n.min(self.buf.len()) {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(0) => break,
                    Ok(read) => self.end += read,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }
}

/// A row of the table being read.
#[derive(Debug, Default)]
struct RowState {
    number: u64,
    /// Texts of the finished cells.
    cells: Vec<String>,
    /// The cell being read: its raw text and where `<br>` tags fell in it.
    cell: Option<RawCell>,
    /// Bytes of the input this row has taken so far.
    bytes: usize,
}

#[derive(Debug, Default)]
struct RawCell {
    raw: Vec<u8>,
    breaks: Vec<usize>,
    colspan: usize,
}

/// A tag as the tokenizer saw it.
struct Tag {
    name: String,
    end: bool,
    colspan: usize,
}

struct HtmlReader<'a> {
    source: String,
    input: Input<'a>,
    limits: Limits,
    headers: Vec<String>,
    header_done: bool,
    /// Tables open: 1 inside the first table, more inside tables nested in it.
    depth: usize,
    /// The first table has closed: nothing more is read.
    table_done: bool,
    /// Inside `<script>` or `<style>`: the end tag that closes it.
    raw_text_end: Option<&'static str>,
    row: Option<RowState>,
    /// Rows of the table begun so far.
    rows: u64,
    /// A finished data row, waiting to be handed out.
    ready: Option<(u64, Vec<String>)>,
    /// The tag being read.
    tag: Vec<u8>,
    info: InputInfo,
}

impl HtmlReader<'_> {
    fn io_error(&self, error: io::Error) -> FormatError {
        FormatError::Io {
            source_name: self.source.clone(),
            error,
        }
    }

    /// At least `n` bytes of input, fewer only at its end.
    fn ensure(&mut self, n: usize) -> Result<&[u8], FormatError> {
        match self.input.ensure(n) {
            Ok(_) => Ok(&self.input.buf[self.input.start..self.input.end]),
            Err(error) => Err(self.io_error(error)),
        }
    }

    /// Some input; empty at its end.
    fn fill(&mut self) -> Result<&[u8], FormatError> {
        self.ensure(1)
    }

    /// Notes that the current row has taken `n` more bytes of input.
    fn charge(&mut self, n: usize) -> Result<(), FormatError> {
        if let Some(row) = &mut self.row {
            row.bytes += n;
            if row.bytes > self.limits.max_line_bytes {
                return Err(row_too_big(&self.source, Some(row.number), &self.limits));
            }
        }
        Ok(())
    }

    /// Reads until a data row is finished (into `row`), the table ends or the input does.
    fn next_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        loop {
            if let Some((number, texts)) = self.ready.take() {
                self.fill_row(row, number, texts)?;
                return Ok(true);
            }
            if self.table_done {
                return Ok(false);
            }
            self.step()?;
        }
    }

    /// Reads one piece of the input: a run of text, a tag, a comment.
    fn step(&mut self) -> Result<(), FormatError> {
        let raw_text_end = self.raw_text_end;
        let in_cell = self.row.as_ref().is_some_and(|row| row.cell.is_some());
        let buf = self.fill()?;
        if buf.is_empty() {
            // The page ended with the table open: what was read is still the table.
            self.end_row()?;
            self.table_done = true;
            return Ok(());
        }
        if let Some(end) = raw_text_end {
            self.skip_raw_text(end)
        } else if buf[0] == b'<' {
            self.read_markup()
        } else {
            let len = memchr::memchr(b'<', buf).unwrap_or(buf.len());
            // Text outside the table's cells is skipped without a copy.
            let text = if in_cell {
                buf[..len].to_vec()
            } else {
                Vec::new()
            };
            self.input.consume(len);
            self.charge(len)?;
            self.text(&text)
        }
    }

    /// Adds text to the cell being read, if any.
    fn text(&mut self, text: &[u8]) -> Result<(), FormatError> {
        let Some(row) = &mut self.row else {
            return Ok(());
        };
        let Some(cell) = &mut row.cell else {
            return Ok(());
        };
        if cell.raw.len() + text.len() > self.limits.max_cell_bytes {
            let column = self
                .headers
                .get(row.cells.len())
                .filter(|_| self.header_done);
            return Err(cell_too_big(
                &self.source,
                Some(row.number),
                column.map(String::as_str),
                &self.limits,
            ));
        }
        cell.raw.extend_from_slice(text);
        Ok(())
    }

    /// Skips the content of `<script>` or `<style>` up to its end tag.
    fn skip_raw_text(&mut self, end: &'static str) -> Result<(), FormatError> {
        let buf = self.ensure(end.len())?;
        if buf.len() < end.len() {
            // Too little input left to hold the end tag: it never comes.
            let len = buf.len();
            self.input.consume(len);
            self.raw_text_end = None;
            return self.charge(len);
        }
        let lower = buf.to_ascii_lowercase();
        let skip = match crate::transcode::find(&lower, end.as_bytes()) {
            Some(at) => {
                self.raw_text_end = None;
                at
            }
            // Keep what could be the start of the end tag, cut by the end of the buffer.
            None => buf.len() + 1 - end.len(),
        };
        self.input.consume(skip);
        self.charge(skip)
    }

    /// Reads what starts at a `<`: a tag, a comment, a declaration, or a plain `<`.
    fn read_markup(&mut self) -> Result<(), FormatError> {
        let head = self.peek(4)?;
        if head.starts_with(b"<!--") {
            return self.skip_past(b"-->", 4);
        }
        if head.starts_with(b"<!") || head.starts_with(b"<?") {
            return self.skip_past(b">", 2);
        }
        let second = head.get(1).copied();
        let is_tag = match second {
            Some(b'/') => head.get(2).is_some_and(u8::is_ascii_alphabetic),
            Some(c) => c.is_ascii_alphabetic(),
            None => false,
        };
        if !is_tag {
            self.input.consume(1);
            self.charge(1)?;
            return self.text(b"<");
        }
        let tag = self.read_tag()?;
        self.on_tag(tag)
    }

    /// Up to `n` bytes from the input's start.
    fn peek(&mut self, n: usize) -> Result<Vec<u8>, FormatError> {
        let buf = self.ensure(n)?;
        Ok(buf[..buf.len().min(n)].to_vec())
    }

    /// Skips past `end`, which starts no sooner than `from` bytes in.
    fn skip_past(&mut self, end: &[u8], from: usize) -> Result<(), FormatError> {
        let mut matched = 0;
        let mut skip_first = from;
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(());
            }
            let start = skip_first.min(buf.len());
            skip_first -= start;
            let mut consumed = start;
            let mut found = false;
            for &byte in &buf[start..] {
                consumed += 1;
                if byte == end[matched] {
                    matched += 1;
                    if matched == end.len() {
                        found = true;
                        break;
                    }
                } else {
                    matched = usize::from(byte == end[0]);
                }
            }
            self.input.consume(consumed);
            self.charge(consumed)?;
            if found {
                return Ok(());
            }
        }
    }

    /// Reads a start or end tag, from its `<` to its `>`; keeps its first bytes.
    fn read_tag(&mut self) -> Result<Tag, FormatError> {
        let mut tag = std::mem::take(&mut self.tag);
        tag.clear();
        let mut quote: Option<u8> = None;
        let mut after_equals = false;
        let mut total = 0usize;
        'read: loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                break;
            }
            let mut consumed = 0;
            let mut done = false;
            for &byte in buf {
                consumed += 1;
                match quote {
                    Some(q) if byte == q => quote = None,
                    Some(_) => {}
                    None if byte == b'>' && total + consumed > 1 => {
                        done = true;
                        break;
                    }
                    None if (byte == b'"' || byte == b'\'') && after_equals => quote = Some(byte),
                    None => {}
                }
                if !byte.is_ascii_whitespace() {
                    after_equals = byte == b'=';
                }
            }
            let kept = consumed.min(TAG_KEPT.saturating_sub(tag.len()));
            tag.extend_from_slice(&buf[..kept]);
            self.input.consume(consumed);
            total += consumed;
            self.charge(consumed)?;
            if done {
                break 'read;
            }
        }
        let parsed = parse_tag(&tag);
        self.tag = tag;
        Ok(parsed)
    }

    /// What a tag does to the table being read.
    fn on_tag(&mut self, tag: Tag) -> Result<(), FormatError> {
        let name = tag.name.as_str();
        if !tag.end && (name == "script" || name == "style") {
            self.raw_text_end = Some(if name == "script" {
                "</script"
            } else {
                "</style"
            });
            return Ok(());
        }
        if self.depth == 0 {
            if name == "table" && !tag.end {
                self.depth = 1;
            }
            return Ok(());
        }
        let in_cell = self.row.as_ref().is_some_and(|row| row.cell.is_some());
        if self.depth > 1 {
            match (name, tag.end) {
                ("table", false) => self.depth += 1,
                ("table", true) => self.depth -= 1,
                ("br", _) => self.line_break(),
                // Cells of a nested table are set apart in the outer cell's text.
                ("td" | "th", false) | ("tr", true) => self.text(b" ")?,
                _ => {}
            }
            return Ok(());
        }
        match (name, tag.end) {
            ("table", false) if in_cell => self.depth += 1,
            ("table", false) => {}
            ("table", true) => {
                self.end_row()?;
                self.table_done = true;
            }
            ("tr", false) => {
                self.end_row()?;
                self.start_row();
            }
            ("tr", true) | ("thead" | "tbody" | "tfoot", _) => self.end_row()?,
            ("td" | "th", false) => {
                self.end_cell()?;
                if self.row.is_none() {
                    self.start_row();
                }
                if let Some(row) = &mut self.row {
                    row.cell = Some(RawCell {
                        colspan: tag.colspan,
                        ..RawCell::default()
                    });
                }
            }
            ("td" | "th", true) => self.end_cell()?,
            ("br", _) => self.line_break(),
            _ => {}
        }
        Ok(())
    }

    fn line_break(&mut self) {
        if let Some(cell) = self.row.as_mut().and_then(|row| row.cell.as_mut()) {
            cell.breaks.push(cell.raw.len());
        }
    }

    fn start_row(&mut self) {
        self.rows += 1;
        self.row = Some(RowState {
            number: self.rows,
            ..RowState::default()
        });
    }

    /// Finishes the cell being read, if any: its text joins the row's cells.
    fn end_cell(&mut self) -> Result<(), FormatError> {
        let Some(row) = &mut self.row else {
            return Ok(());
        };
        let Some(cell) = row.cell.take() else {
            return Ok(());
        };
        let number = row.number;
        let Ok(raw) = std::str::from_utf8(&cell.raw) else {
            return Err(FormatError::Encoding {
                source_name: self.source.clone(),
                row: number,
                encoding: "UTF-8".to_owned(),
            });
        };
        let text = cell_text(raw, &cell.breaks);
        let width = row.cells.len() + cell.colspan.clamp(1, MAX_COLSPAN);
        if width > max_row_cells(&self.limits) {
            return Err(too_many_cells(&self.source, Some(number), &self.limits));
        }
        row.cells.push(text);
        row.cells.resize(width, String::new());
        Ok(())
    }

    /// Finishes the row being read, if any: the first is the header, the others wait in
    /// `ready`.
    fn end_row(&mut self) -> Result<(), FormatError> {
        self.end_cell()?;
        let Some(row) = self.row.take() else {
            return Ok(());
        };
        if row.cells.is_empty() {
            return Ok(());
        }
        if self.header_done {
            self.ready = Some((row.number, row.cells));
        } else {
            self.headers = row.cells.iter().map(|h| h.trim().to_owned()).collect();
            self.header_done = true;
        }
        Ok(())
    }

    fn fill_row(&self, row: &mut Row, number: u64, texts: Vec<String>) -> Result<(), FormatError> {
        let expected = self.headers.len();
        if texts.len() > expected {
            return Err(FormatError::RowTooLong {
                source_name: self.source.clone(),
                row: number,
                expected,
                found: texts.len(),
            });
        }
        row.number = number;
        row.cells.resize(expected, Cell::Empty);
        for (i, cell) in row.cells.iter_mut().enumerate() {
            match texts.get(i) {
                Some(text) if !text.is_empty() => cell.set_text(text),
                _ => *cell = Cell::Empty,
            }
        }
        Ok(())
    }
}

impl RowReader for HtmlReader<'_> {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        self.next_row(row)
    }

    fn info(&self) -> InputInfo {
        self.info
    }
}

/// A tag's name (lower case), whether it is an end tag, and its `colspan`.
fn parse_tag(bytes: &[u8]) -> Tag {
    let inner = bytes.strip_prefix(b"<").unwrap_or(bytes);
    let (end, inner) = match inner.strip_prefix(b"/") {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let name_len = inner
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(inner.len());
    let name = String::from_utf8_lossy(&inner[..name_len]).to_ascii_lowercase();
    let colspan = attribute(&inner[name_len..], b"colspan")
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(1);
    Tag { name, end, colspan }
}

/// The value of attribute `wanted` in a tag's attribute text.
fn attribute(mut attrs: &[u8], wanted: &[u8]) -> Option<String> {
    loop {
        let start = attrs
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != b'/')?;
        attrs = &attrs[start..];
        let name_len = attrs
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'=' | b'>' | b'/'))
            .unwrap_or(attrs.len());
        if name_len == 0 {
            return None;
        }
        let name = &attrs[..name_len];
        attrs = &attrs[name_len..];
        let eq = attrs.iter().position(|b| !b.is_ascii_whitespace());
        let mut value = None;
        if let Some(eq) = eq.filter(|&i| attrs[i] == b'=') {
            attrs = &attrs[eq + 1..];
            let skip = attrs
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(attrs.len());
            attrs = &attrs[skip..];
            let (text, rest) = match attrs.first() {
                Some(&q) if q == b'"' || q == b'\'' => {
                    let body = &attrs[1..];
                    let end = body.iter().position(|&b| b == q).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or_default())
                }
                _ => {
                    let end = attrs
                        .iter()
                        .position(|b| b.is_ascii_whitespace() || *b == b'>')
                        .unwrap_or(attrs.len());
                    (&attrs[..end], &attrs[end..])
                }
            };
            value = Some(String::from_utf8_lossy(text).into_owned());
            attrs = rest;
        }
        if name.eq_ignore_ascii_case(wanted) {
            return Some(value.unwrap_or_default());
        }
    }
}

/// A cell's text as a browser shows it: whitespace runs in the source made one space and
/// trimmed, entities decoded (whitespace they spell is kept), `<br>` (at the byte offsets
/// in `breaks`) a line break.
fn cell_text(raw: &str, breaks: &[usize]) -> String {
    let mut out = String::with_capacity(raw.len());
    // A space is owed before the next character, unless a line break or the end comes first.
    let mut space = false;
    let mut next_break = breaks.iter().peekable();
    let mut chars = raw.char_indices().peekable();
    loop {
        let at = chars.peek().map_or(raw.len(), |(i, _)| *i);
        while next_break.next_if(|&&b| b <= at).is_some() {
            out.push('\n');
            space = false;
        }
        let Some((i, c)) = chars.next() else {
            break;
        };
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}') {
            // Not at the start of the cell or of a line.
            space = !out.is_empty() && !out.ends_with('\n');
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c == '&' {
            if let Some((decoded, len)) = entity(&raw[i..]) {
                out.push_str(&decoded);
                for _ in 1..len {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The character reference at the start of `text` (which starts with `&`): what it stands
/// for, and how many characters it takes. Named references need their `;`.
fn entity(text: &str) -> Option<(String, usize)> {
    let body = text.get(1..)?;
    let end = body.bytes().take(41).position(|b| b == b';')?;
    let name = &body[..end];
    let len = end + 2;
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        let c = char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{fffd}');
        return Some((c.to_string(), len));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric()) || name.is_empty() {
        return None;
    }
    let table = &html_escape::NAMED_ENTITIES;
    let at = table
        .binary_search_by(|(known, _)| (*known).cmp(name.as_bytes()))
        .ok()?;
    Some((table[at].1.to_owned(), len))
}

/// Writes a small HTML page holding one table.
pub(crate) fn open_writer<'a>(
    output: Box<dyn Write + 'a>,
    options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    let charset = match options.encoding {
        Some(encoding) if !encoding.is_utf8() => encoding.name().to_ascii_lowercase(),
        _ => "utf-8".to_owned(),
    };
    Ok(Box::new(HtmlWriter {
        out: TextOutput::new(output, options.encoding)?,
        charset,
        columns: 0,
        rows: 0,
        text: String::new(),
        headers: Vec::new(),
    }))
}

struct HtmlWriter<'a> {
    out: TextOutput<'a>,
    charset: String,
    columns: usize,
    rows: u64,
    text: String,
    headers: Vec<String>,
}

impl HtmlWriter<'_> {
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

impl RowWriter for HtmlWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.columns = headers.len();
        self.headers = headers.to_vec();
        self.text.clear();
        self.text
            .push_str("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"");
        self.text.push_str(&self.charset);
        self.text.push_str(
            "\">\n<title>rowport export</title>\n<style>\n\
             table { border-collapse: collapse; }\n\
             th, td { border: 1px solid #999; padding: 0.2em 0.5em; text-align: left; \
             vertical-align: top; white-space: pre-wrap; }\n\
             </style>\n</head>\n<body>\n<table>\n<thead>\n<tr>",
        );
        for header in headers {
            self.text.push_str("<th>");
            push_escaped(&mut self.text, header);
            self.text.push_str("</th>");
        }
        self.text.push_str("</tr>\n</thead>\n<tbody>\n");
        self.emit(&[])
    }

    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.rows += 1;
        if cells.len() > self.columns {
            return Err(FormatError::RowTooLong {
                source_name: OUTPUT_NAME.to_owned(),
                row: self.rows,
                expected: self.columns,
                found: cells.len(),
            });
        }
        self.text.clear();
        self.text.push_str("<tr>");
        for i in 0..self.columns {
            self.text.push_str("<td>");
            match cells.get(i) {
                Some(Cell::Text(text)) => push_escaped(&mut self.text, text),
                Some(cell) => push_escaped(&mut self.text, &cell.to_string()),
                None => {}
            }
            self.text.push_str("</td>");
        }
        self.text.push_str("</tr>\n");
        self.emit(cells)
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.text.clear();
        self.text.push_str("</tbody>\n</table>\n</body>\n</html>\n");
        self.emit(&[])?;
        self.out.finish()
    }
}

/// Text escaped for an HTML element, with every whitespace character a browser (or the
/// reader) would fold written as a character reference, so the value reads back exactly.
fn push_escaped(out: &mut String, text: &str) {
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\u{c}' => out.push_str("&#12;"),
            ' ' => {
                let folds = |j: Option<usize>| {
                    j.and_then(|j| chars.get(j))
                        .is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}'))
                };
                // A lone space between other characters survives folding; any other does not.
                if folds(i.checked_sub(1)) || folds(Some(i + 1)) {
                    out.push_str("&#32;");
                } else {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rows = Vec<(u64, Vec<Cell>)>;

    fn read_with(html: &[u8], options: &ReadOptions) -> Result<(Vec<String>, Rows), FormatError> {
        let mut reader = open_reader(Box::new(html), "page.html", options)?;
        let headers = reader.headers().to_vec();
        let mut row = Row::default();
        let mut rows = Vec::new();
        while reader.read_row(&mut row)? {
            rows.push((row.number, row.cells.clone()));
        }
        Ok((headers, rows))
    }

    fn read(html: &str) -> (Vec<String>, Rows) {
        read_with(html.as_bytes(), &ReadOptions::default()).unwrap()
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    #[test]
    fn reads_the_first_table_only() {
        let html = r#"<!DOCTYPE html>
<html><head><title>Books &amp; more</title>
<script>var s = "<table><tr><td>not this</td></tr></table>";</script>
<style>td { color: red }</style></head>
<body><p>Intro <b>text</b> &lt;table&gt;</p>
<!-- <table><tr><td>commented</td></tr></table> -->
<TABLE class="books">
  <caption>Our books</caption>
  <thead><tr><th> isbn </th><th>name</th><th>price</th></tr></thead>
  <tbody>
    <tr><td>111</td><td>
        The   Dispossessed
    </td><td>8.99</td></tr>
    <tr><td>222<td>Caf&eacute; &amp; <i>cr&egrave;me</i><br>second line<td></tr>
    <tr></tr>
    <tr><td>333</td><td>Tom&#39;s&#x20;&#32;book &unknown; &amp</td><td>&nbsp;</td></tr>
  </tbody>
</TABLE>
<table><tr><th>other</th></tr><tr><td>x</td></tr></table>
</body></html>"#;
        let (headers, rows) = read(html);
        assert_eq!(headers, ["isbn", "name", "price"]);
        assert_eq!(
            rows,
            [
                (2, vec![text("111"), text("The Dispossessed"), text("8.99")]),
                (
                    3,
                    vec![text("222"), text("Café & crème\nsecond line"), Cell::Empty]
                ),
                (
                    5,
                    vec![
                        text("333"),
                        text("Tom's  book &unknown; &amp"),
                        text("\u{a0}")
                    ]
                ),
            ]
        );
    }

    #[test]
    fn header_from_the_first_row_of_tds_and_implicit_rows() {
        let (headers, rows) = read("<table><td>a<td>b<tr><td>1<td>2</table>");
        assert_eq!(headers, ["a", "b"]);
        assert_eq!(rows, [(2, vec![text("1"), text("2")])]);
    }

    #[test]
    fn colspan_nested_tables_and_quoted_attributes() {
        let html = "<table><tr><th>a</th><th>b</th><th>c</th></tr>\
            <tr><td colspan=\"2\" title='x > y'>wide</td><td>z</td></tr>\
            <tr><td>n<table><tr><td>in</td><td>ner</td></tr></table>ext</td><td data-x=\">\">2</td></tr>\
            </table>";
        let (_, rows) = read(html);
        assert_eq!(
            rows,
            [
                (2, vec![text("wide"), Cell::Empty, text("z")]),
                (3, vec![text("n in ner ext"), text("2"), Cell::Empty]),
            ]
        );
    }

    #[test]
    fn no_table_means_no_rows_and_an_open_table_still_reads() {
        let (headers, rows) = read("<html><body><p>nothing</p></body></html>");
        assert!(headers.is_empty() && rows.is_empty());
        let (headers, rows) = read("<table><tr><th>a</th></tr><tr><td>1");
        assert_eq!(headers, ["a"]);
        assert_eq!(rows, [(2, vec![text("1")])]);
    }

    #[test]
    fn a_wide_row_is_refused() {
        let err = read_with(
            b"<table><tr><th>a</th></tr><tr><td>1</td><td>2</td></tr></table>",
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "page.html, row 2: the row has 2 cells but the header has 1"
        );
    }

    #[test]
    fn declared_and_detected_encodings() {
        let page = b"<html><head><meta charset=\"windows-1252\"></head><table><tr><th>n</th></tr><tr><td>caf\xE9</td></tr></table>";
        let (_, rows) = read_with(page, &ReadOptions::default()).unwrap();
        assert_eq!(rows[0].1, [text("café")]);
        let reader = open_reader(Box::new(&page[..]), "p.html", &ReadOptions::default()).unwrap();
        assert_eq!(
            reader.info().encoding.unwrap().source,
            crate::EncodingSource::Declared
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
    fn limits_hold_for_cells_rows_and_widths() {
        let html = format!(
            "<table><tr><th>a</th><th>name</th></tr><tr><td>1</td><td>{}</td></tr></table>",
            "x".repeat(101)
        );
        assert_eq!(
            read_with(html.as_bytes(), &limited(10_000, 100)).unwrap_err().to_string(),
            "page.html, row 2: the cell in column \"name\" exceeds the limit of 100 bytes (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)"
        );
        let html = format!(
            "<table><tr><th>a</th></tr><tr><td>1</td><!-- {} --></tr></table>",
            "x".repeat(2000)
        );
        assert!(matches!(
            read_with(html.as_bytes(), &limited(1000, 100)).unwrap_err(),
            FormatError::LimitExceeded {
                flag: "--max-line-bytes",
                row: Some(2),
                ..
            }
        ));
        let html = format!("<table><tr>{}</tr></table>", "<th>h</th>".repeat(20));
        assert!(matches!(
            read_with(html.as_bytes(), &limited(1024, 100)).unwrap_err(),
            FormatError::LimitExceeded {
                flag: "--max-line-bytes",
                row: Some(1),
                ..
            }
        ));
        let html = "<table><tr><td colspan=999999>h</td></tr></table>";
        assert!(matches!(
            read_with(html.as_bytes(), &limited(1024, 100)).unwrap_err(),
            FormatError::LimitExceeded { .. }
        ));
    }

    #[test]
    fn bad_bytes_name_the_row() {
        let options = ReadOptions {
            encoding: Some("utf-8".parse().unwrap()),
            ..ReadOptions::default()
        };
        let err = read_with(
            b"<table><tr><th>a</th></tr><tr><td>1</td></tr><tr><td>\xFF</td></tr></table>",
            &options,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "page.html, row 3: the text is not valid UTF-8"
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
    fn writes_a_page_with_every_cell_escaped() {
        let page = write(
            &["<b>", "a&b"],
            &[
                vec![text("<script>alert('x')</script>"), text("\"q\" & 'a'")],
                vec![Cell::Int(3)],
            ],
        );
        assert!(page.starts_with("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"));
        assert!(
            page.contains("<tr><th>&lt;b&gt;</th><th>a&amp;b</th></tr>"),
            "{page}"
        );
        assert!(
            page.contains("<tr><td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td><td>&quot;q&quot; &amp; &#39;a&#39;</td></tr>\n<tr><td>3</td><td></td></tr>\n"),
            "{page}"
        );
        assert!(page.ends_with("</tbody>\n</table>\n</body>\n</html>\n"));
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let values = [
            " padded ",
            "two  spaces",
            "line\nbreak",
            "crlf\r\ninside",
            "tab\there",
            "a < b > c",
            "&amp; literally",
            "é ß 日本 🎉",
            "\u{a0}nbsp",
            "plain",
            "\u{1}ctl",
            "   ",
            "x&#10;y",
        ];
        let headers: Vec<&str> = values.iter().map(|_| "h").collect::<Vec<_>>();
        let headers: Vec<String> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| format!("{h}{i}"))
            .collect();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let row: Vec<Cell> = values.iter().map(|v| text(v)).collect();
        let page = write(
            &header_refs,
            &[row.clone(), vec![Cell::Empty, Cell::Bool(true)]],
        );
        let (back_headers, rows) = read(&page);
        assert_eq!(back_headers, headers);
        assert_eq!(rows[0].1, row, "{page}");
        let mut second = vec![Cell::Empty; values.len()];
        second[1] = text("true");
        assert_eq!(rows[1], (3, second));
    }
}
