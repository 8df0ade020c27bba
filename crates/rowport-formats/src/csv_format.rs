//! CSV and TSV: a header record, then one record per row.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::str;

use crate::limits::{cell_too_big, max_row_cells, row_too_big, too_many_cells};
use crate::sniff::{sniff_dialect, Dialect, SNIFF_BYTES};
use crate::transcode::{
    decode_input, output_io_error, read_prefix, Detection, TextOutput, Unwritable, OUTPUT_NAME,
};
use crate::{
    Cell, Encoding, Format, FormatError, InputInfo, Limits, ReadOptions, Row, RowReader, RowWriter,
};

/// Reads CSV or TSV (any ASCII delimiter and quote) one record at a time.
///
/// The parsing is csv_core's (the `csv` crate's own parser), driven here so that the buffers
/// a record fills never grow past the [`Limits`], and so that the end of the file inside a
/// quoted cell is an error rather than a silent last cell holding the rest of the file.
pub(crate) struct CsvReader<'a> {
    source: String,
    input: BufReader<Box<dyn Read + 'a>>,
    core: csv_core::Reader,
    limits: Limits,
    /// The unescaped bytes of the record just read, and where each of its fields ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// How many fields the record just read has.
    field_count: usize,
    headers: Vec<String>,
    info: InputInfo,
    lines: Lines,
    state: State,
}

/// Where the reader is in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// The input ended inside a record: a line break is fed to the parser to end it, which
    /// it takes as part of a cell only when a quote is still open.
    Closing,
    Finished,
}

/// Line numbers. LF, CRLF and a lone CR each end one line.
#[derive(Debug, Clone, Copy)]
struct Lines {
    /// The line of the next byte.
    line: u64,
    /// The last byte passed was a CR, so an LF next ends no new line.
    after_cr: bool,
    /// The line on which the record being read starts, once a byte of it has been passed.
    record_start: Option<u64>,
}

impl Lines {
    /// Notes the bytes the parser has just consumed.
    fn advance(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        if self.record_start.is_none() {
            // The record starts at the first byte that is not a line break.
            let skip = rest
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .unwrap_or(rest.len());
            let (breaks, after) = rest.split_at(skip);
            self.count_breaks(breaks);
            rest = after;
            if !rest.is_empty() {
                self.record_start = Some(self.line);
            }
        }
        self.count_breaks(rest);
    }

    fn count_breaks(&mut self, bytes: &[u8]) {
        for i in memchr::memchr2_iter(b'\r', b'\n', bytes) {
            let previous_cr = match i.checked_sub(1) {
                Some(j) => bytes.get(j) == Some(&b'\r'),
                None => self.after_cr,
            };
            if !(bytes[i] == b'\n' && previous_cr) {
                self.line += 1;
            }
        }
        if let Some(&last) = bytes.last() {
            self.after_cr = last == b'\r';
        }
    }

    /// The row of the record being read, for messages about it.
    fn row(&self) -> u64 {
        self.record_start.unwrap_or(self.line)
    }
}

impl<'a> CsvReader<'a> {
    /// Opens the reader, finds the encoding and the dialect unless given, and reads the
    /// header. An empty file has no header and no rows.
    pub(crate) fn new(
        format: Format,
        input: Box<dyn Read + 'a>,
        source: &str,
        options: &ReadOptions,
    ) -> Result<Self, FormatError> {
        let given_delimiter = match format {
            Format::Tsv => Some(options.delimiter.unwrap_or(b'\t')),
            _ => options.delimiter,
        };
        if let Some(delimiter) = given_delimiter {
            check_ascii("delimiter", delimiter, source)?;
        }
        if let Some(quote) = options.quote {
            check_ascii("quote", quote, source)?;
        }
        let (decoded, encoding) = decode_input(input, options.encoding, Detection::Text, source)?;
        let mut decoded: Box<dyn Read + 'a> = Box::new(decoded);
        let dialect = match (given_delimiter, options.quote) {
            (Some(delimiter), Some(quote)) => Dialect { delimiter, quote },
            (delimiter, quote) => {
                let sample =
                    read_prefix(&mut decoded, SNIFF_BYTES).map_err(|error| FormatError::Io {
                        source_name: source.to_owned(),
                        error,
                    })?;
                let dialect = sniff_dialect(&sample, sample.len() < SNIFF_BYTES, delimiter, quote);
                decoded = Box::new(io::Cursor::new(sample).chain(decoded));
                dialect
            }
        };
        if dialect.delimiter == dialect.quote {
            return Err(FormatError::Malformed {
                source_name: source.to_owned(),
                row: None,
                message: format!(
                    "the delimiter and the quote cannot both be {:?}",
                    char::from(dialect.delimiter)
                ),
            });
        }
        let core = csv_core::ReaderBuilder::new()
            .delimiter(dialect.delimiter)
            .quote(dialect.quote)
            .build();
        let mut reader = CsvReader {
            source: source.to_owned(),
            input: BufReader::with_capacity(1 << 16, decoded),
            core,
            limits: options.limits,
            fields: vec![0; 1024],
            ends: vec![0; 16],
            field_count: 0,
            headers: Vec::new(),
            info: InputInfo {
                encoding: Some(encoding),
                delimiter: Some(dialect.delimiter),
                quote: Some(dialect.quote),
            },
            lines: Lines {
                line: 1,
                after_cr: false,
                record_start: None,
            },
            state: State::Reading,
        };
        if let Some(line) = reader.next_record()? {
            let mut headers = Vec::with_capacity(reader.field_count);
            for i in 0..reader.field_count {
                match str::from_utf8(reader.field(i)) {
                    Ok(text) => headers.push(text.trim().to_owned()),
                    Err(_) => return Err(reader.encoding_error(line)),
                }
            }
            reader.headers = headers;
        }
        Ok(reader)
    }

    /// The bytes of field `i` of the record just read.
    fn field(&self, i: usize) -> &[u8] {
        let start = match i.checked_sub(1) {
            Some(previous) => self.ends.get(previous).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.fields.get(start..end).unwrap_or_default()
    }

    /// Reads the next record into `fields` and `ends`; returns the line it starts on, or
    /// `None` at the end of the input.
    fn next_record(&mut self) -> Result<Option<u64>, FormatError> {
        use csv_core::ReadRecordResult as R;
        let mut written = 0;
        let mut ended = 0;
        loop {
            let CsvReader {
                input,
                core,
                fields,
                ends,
                lines,
                state,
                ..
            } = self;
            let output = fields.get_mut(written..).unwrap_or_default();
            let ends_left = ends.get_mut(ended..).unwrap_or_default();
            let (result, nout, nend) = match *state {
                State::Reading => {
                    let buf = loop {
                        match input.fill_buf() {
                            Ok(buf) => break buf,
                            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                            Err(error) => {
                                return Err(FormatError::Io {
                                    source_name: self.source.clone(),
                                    error,
                                })
                            }
                        }
                    };
                    if buf.is_empty() {
                        *state = if lines.record_start.is_some() {
                            State::Closing
                        } else {
                            State::Finished
                        };
                        continue;
                    }
                    let (result, nin, nout, nend) = core.read_record(buf, output, ends_left);
                    lines.advance(buf.get(..nin).unwrap_or_default());
                    input.consume(nin);
                    (result, nout, nend)
                }
                State::Closing => {
                    let (result, nin, nout, nend) = core.read_record(b"\n", output, ends_left);
                    if nin == 1 {
                        *state = State::Finished;
                        if result != R::Record {
                            return Err(FormatError::Malformed {
                                source_name: self.source.clone(),
                                row: Some(lines.row()),
                                message: "the quote that opens a cell in this row is never \
                                          closed, so the rest of the file would be one cell"
                                    .to_owned(),
                            });
                        }
                    }
                    (result, nout, nend)
                }
                State::Finished => {
                    let (result, _, nout, nend) = core.read_record(&[], output, ends_left);
                    (result, nout, nend)
                }
            };
            written += nout;
            ended += nend;
            match result {
                R::InputEmpty => {}
                R::OutputFull => self.grow_fields(written, ended)?,
                R::OutputEndsFull => self.grow_ends(ended)?,
                R::Record => {
                    self.field_count = ended;
                    let row = self.lines.row();
                    self.lines.record_start = None;
                    if written > self.limits.max_line_bytes {
                        return Err(row_too_big(&self.source, Some(row), &self.limits));
                    }
                    for i in 0..ended {
                        if self.field(i).len() > self.limits.max_cell_bytes {
                            return Err(self.cell_error(row, i));
                        }
                    }
                    return Ok(Some(row));
                }
                R::End => return Ok(None),
            }
        }
    }

    /// Makes room for more of the record's bytes, within the limits.
    fn grow_fields(&mut self, written: usize, ended: usize) -> Result<(), FormatError> {
        let row = self.lines.row();
        let field_start = match ended.checked_sub(1) {
            Some(last) => self.ends.get(last).copied().unwrap_or(0),
            None => 0,
        };
        if written - field_start > self.limits.max_cell_bytes {
            return Err(self.cell_error(row, ended));
        }
        if written > self.limits.max_line_bytes {
            return Err(row_too_big(&self.source, Some(row), &self.limits));
        }
        let len = (self.fields.len() * 2).min(self.limits.max_line_bytes.saturating_add(1));
        self.fields.resize(len.max(written + 1), 0);
        Ok(())
    }

    /// Makes room for more field ends, within the limits.
    fn grow_ends(&mut self, ended: usize) -> Result<(), FormatError> {
        let most = max_row_cells(&self.limits);
        if ended >= most {
            return Err(too_many_cells(
                &self.source,
                Some(self.lines.row()),
                &self.limits,
            ));
        }
        let len = (self.ends.len() * 2).min(most.saturating_add(1));
        self.ends.resize(len.max(ended + 1), 0);
        Ok(())
    }

    /// The error for field `i` of the record at `row` being too long.
    fn cell_error(&self, row: u64, i: usize) -> FormatError {
        let column = self.headers.get(i).map(String::as_str);
        cell_too_big(&self.source, Some(row), column, &self.limits)
    }

    fn encoding_error(&self, row: u64) -> FormatError {
        let encoding = self
            .info
            .encoding
            .map_or("UTF-8", |used| used.encoding.name());
        FormatError::Encoding {
            source_name: self.source.clone(),
            row,
            encoding: if encoding == "utf-8-sig" {
                "UTF-8"
            } else {
                encoding
            }
            .to_owned(),
        }
    }
}

impl RowReader for CsvReader<'_> {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        let Some(number) = self.next_record()? else {
            return Ok(false);
        };
        let expected = self.headers.len();
        if self.field_count > expected {
            return Err(FormatError::RowTooLong {
                source_name: self.source.clone(),
                row: number,
                expected,
                found: self.field_count,
            });
        }
        row.number = number;
        row.cells.resize(expected, Cell::Empty);
        for i in 0..expected {
            let field = if i < self.field_count {
                self.field(i)
            } else {
                &[]
            };
            let cell = &mut row.cells[i];
            if field.is_empty() {
                *cell = Cell::Empty;
                continue;
            }
            match str::from_utf8(field) {
                Ok(text) => cell.set_text(text),
                Err(_) => return Err(self.encoding_error(number)),
            }
        }
        Ok(true)
    }

    fn info(&self) -> InputInfo {
        self.info
    }
}

/// A delimiter or quote that is not ASCII would split UTF-8 characters apart.
fn check_ascii(what: &str, byte: u8, source: &str) -> Result<(), FormatError> {
    if byte.is_ascii() {
        Ok(())
    } else {
        Err(FormatError::Malformed {
            source_name: source.to_owned(),
            row: None,
            message: format!("the {what} (byte {byte:#04x}) must be an ASCII character"),
        })
    }
}

/// Writes CSV or TSV with Unix line endings (`\n`), quoting only the fields that need it.
pub(crate) struct CsvWriter<'a> {
    csv: csv::Writer<RecordSink<'a>>,
    columns: usize,
    rows: u64,
    field: String,
}

/// Collects the bytes csv writes and encodes them into the output when csv flushes, which
/// the writer makes it do after every record: the encoder then sees whole UTF-8 records (a
/// partial buffer could split a character), and an unwritable character is met while the
/// row it belongs to is still at hand to be named.
struct RecordSink<'a> {
    out: TextOutput<'a>,
    pending: Vec<u8>,
    /// The character the last flush could not encode.
    unwritable: Option<char>,
}

impl Write for RecordSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = {
            // Always borrowed: every field is a str and the delimiter is ASCII.
            let text = String::from_utf8_lossy(&self.pending);
            self.out.write(&text)
        };
        self.pending.clear();
        match result {
            Ok(()) => Ok(()),
            Err(Unwritable::Io(error)) => Err(error),
            Err(Unwritable::Char(c)) => {
                self.unwritable = Some(c);
                Err(io::Error::other("a character cannot be encoded"))
            }
        }
    }
}

impl<'a> CsvWriter<'a> {
    pub(crate) fn new(
        output: Box<dyn Write + 'a>,
        delimiter: u8,
        encoding: Option<Encoding>,
    ) -> Result<Self, FormatError> {
        check_ascii("delimiter", delimiter, OUTPUT_NAME)?;
        let sink = RecordSink {
            out: TextOutput::new(output, encoding)?,
            pending: Vec::new(),
            unwritable: None,
        };
        let csv = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .from_writer(sink);
        Ok(CsvWriter {
            csv,
            columns: 0,
            rows: 0,
            field: String::new(),
        })
    }

    /// Encodes the record written so far into the output. `values` are the texts in it,
    /// looked through only to name one that the encoding cannot write.
    fn emit<I: IntoIterator<Item = String>>(
        &mut self,
        values: impl FnOnce() -> I,
    ) -> Result<(), FormatError> {
        self.csv.flush().map_err(|error| {
            let sink = self.csv.get_ref();
            let failure = match sink.unwritable {
                Some(c) => Unwritable::Char(c),
                None => Unwritable::Io(error),
            };
            failure.into_format_error(sink.out.encoding_name(), values())
        })
    }
}

fn csv_write_error(error: csv::Error) -> FormatError {
    let message = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(error) => output_io_error(error),
        _ => output_io_error(io::Error::other(message)),
    }
}

impl RowWriter for CsvWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.columns = headers.len();
        // With no columns there is nothing to write: csv would write `""`, a column.
        if headers.is_empty() {
            return Ok(());
        }
        self.csv.write_record(headers).map_err(csv_write_error)?;
        self.emit(|| headers.to_vec())
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
        if self.columns == 0 {
            return Ok(());
        }
        for i in 0..self.columns {
            self.field.clear();
            match cells.get(i) {
                // Booleans as 1/0, as django-import-export writes them and spreadsheets read them.
                Some(Cell::Bool(b)) => self.field.push(if *b { '1' } else { '0' }),
                // Writing to a String cannot fail.
                Some(cell) => {
                    let _ = write!(self.field, "{cell}");
                }
                None => {}
            }
            self.csv.write_field(&self.field).map_err(csv_write_error)?;
        }
        self.csv
            .write_record(None::<&[u8]>)
            .map_err(csv_write_error)?;
        self.emit(|| cells.iter().map(Cell::to_string))
    }

    fn finish(self: Box<Self>) -> Result<(), FormatError> {
        let sink = self
            .csv
            .into_inner()
            .map_err(|error| output_io_error(error.into_error()))?;
        sink.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes a few at a time, to cross every buffer boundary.
    struct Trickle<'b>(&'b [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn options(delimiter: Option<u8>, encoding: Option<&str>) -> ReadOptions {
        ReadOptions {
            delimiter,
            encoding: encoding.map(|label| label.parse().unwrap()),
            ..ReadOptions::default()
        }
    }

    fn try_open<'b>(bytes: &'b [u8], options: &ReadOptions) -> Result<CsvReader<'b>, FormatError> {
        CsvReader::new(Format::Csv, Box::new(bytes), "test.csv", options)
    }

    fn open<'b>(bytes: &'b [u8], delimiter: u8, encoding: Option<&str>) -> CsvReader<'b> {
        try_open(bytes, &options(Some(delimiter), encoding)).unwrap()
    }

    /// Every row as (number, cells rendered), or the first error.
    fn rows_of(reader: &mut CsvReader<'_>) -> Result<Vec<(u64, Vec<String>)>, FormatError> {
        let mut row = Row::default();
        let mut rows = Vec::new();
        while reader.read_row(&mut row)? {
            rows.push((row.number, row.cells.iter().map(Cell::to_string).collect()));
        }
        Ok(rows)
    }

    fn read(bytes: &[u8]) -> (Vec<String>, Vec<(u64, Vec<String>)>) {
        let mut reader = open(bytes, b',', None);
        let rows = rows_of(&mut reader).unwrap();
        (reader.headers().to_vec(), rows)
    }

    fn row(number: u64, cells: &[&str]) -> (u64, Vec<String>) {
        (number, cells.iter().map(|c| c.to_string()).collect())
    }

    #[test]
    fn reads_lf_crlf_and_cr_only_with_line_numbers() {
        for text in [
            "h1,h2\na,b\nc,d\n",
            "h1,h2\r\na,b\r\nc,d\r\n",
            "h1,h2\ra,b\rc,d\r",
        ] {
            let (headers, rows) = read(text.as_bytes());
            assert_eq!(headers, ["h1", "h2"], "{text:?}");
            assert_eq!(rows, [row(2, &["a", "b"]), row(3, &["c", "d"])], "{text:?}");
        }
    }

    #[test]
    fn line_numbers_survive_tiny_reads() {
        let text = b"\xEF\xBB\xBFh\r\n\r\na\r\r\"b\r\nc\"\n\nd";
        for chunk in 1..6 {
            let mut reader = CsvReader::new(
                Format::Csv,
                Box::new(Trickle(text, chunk)),
                "t.csv",
                &options(Some(b','), None),
            )
            .unwrap();
            assert_eq!(reader.headers(), ["h"]);
            let rows = rows_of(&mut reader).unwrap();
            assert_eq!(
                rows,
                [row(3, &["a"]), row(5, &["b\r\nc"]), row(8, &["d"])],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn strips_bom_and_trims_headers() {
        let (headers, rows) = read("\u{feff} id , name\n1, Dune \n".as_bytes());
        assert_eq!(headers, ["id", "name"]);
        // Data cells are kept exactly as written.
        assert_eq!(rows, [row(2, &["1", " Dune "])]);
    }

    #[test]
    fn skips_blank_lines_and_counts_them() {
        let (headers, rows) = read(b"\n\na,b\n\n1,2\n\r\n\n3,4\n\n");
        assert_eq!(headers, ["a", "b"]);
        assert_eq!(rows, [row(5, &["1", "2"]), row(8, &["3", "4"])]);
    }

    #[test]
    fn pads_short_rows_and_rejects_long_ones() {
        let mut reader = open(b"a,b,c\n1\n1,2,3,4\n", b',', None);
        let mut row = Row::default();
        assert!(reader.read_row(&mut row).unwrap());
        assert_eq!(
            row.cells,
            [Cell::Text("1".into()), Cell::Empty, Cell::Empty]
        );
        let err = reader.read_row(&mut row).unwrap_err();
        assert!(matches!(
            err,
            FormatError::RowTooLong {
                row: 3,
                expected: 3,
                found: 4,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "test.csv, row 3: the row has 4 cells but the header has 3"
        );
    }

    #[test]
    fn quoted_fields_and_later_line_numbers() {
        let text = "a,b\n\"x\ny\nz\",\"say \"\"hi\"\", ok\"\n2,\"\"\n\"\",3\n";
        let (_, rows) = read(text.as_bytes());
        assert_eq!(
            rows,
            [
                row(2, &["x\ny\nz", "say \"hi\", ok"]),
                row(5, &["2", ""]),
                row(6, &["", "3"]),
            ]
        );
    }

    #[test]
    fn empty_fields_are_empty_cells() {
        let mut reader = open(b"a,b\n,\"\"\n", b',', None);
        let mut row = Row::default();
        assert!(reader.read_row(&mut row).unwrap());
        assert_eq!(row.cells, [Cell::Empty, Cell::Empty]);
    }

    #[test]
    fn reuses_cell_buffers() {
        let mut reader = open(b"a\nfirst value\nsecond\n", b',', None);
        let mut row = Row::default();
        assert!(reader.read_row(&mut row).unwrap());
        let before = match &row.cells[0] {
            Cell::Text(s) => s.as_ptr(),
            other => panic!("{other:?}"),
        };
        assert!(reader.read_row(&mut row).unwrap());
        assert_eq!(row.cells[0], Cell::Text("second".into()));
        assert_eq!(row.cells[0].as_text().unwrap().as_ptr(), before);
    }

    #[test]
    fn reads_tsv() {
        let mut reader = open(b"id\tname\n1\tA, B\n2\t\"q\"\n", b'\t', None);
        assert_eq!(reader.headers(), ["id", "name"]);
        assert_eq!(
            rows_of(&mut reader).unwrap(),
            [row(2, &["1", "A, B"]), row(3, &["2", "q"])]
        );
    }

    #[test]
    fn latin1_is_detected_or_given() {
        let bytes = b"name\nvoil\xE0, d\xE9j\xE0 vu\n";
        let mut reader = open(bytes, b';', Some("latin1"));
        assert_eq!(rows_of(&mut reader).unwrap(), [row(2, &["voilà, déjà vu"])]);

        let mut reader = open(bytes, b';', None);
        let used = reader.info().encoding.unwrap();
        assert_eq!(
            (used.encoding.name(), used.source),
            ("windows-1252", crate::EncodingSource::Detected)
        );
        assert_eq!(rows_of(&mut reader).unwrap(), [row(2, &["voilà, déjà vu"])]);

        // Told it is UTF-8, the reader refuses the bytes instead of mangling them.
        let mut reader = open(bytes, b';', Some("utf-8"));
        let err = rows_of(&mut reader).unwrap_err();
        assert!(
            matches!(err, FormatError::Encoding { row: 2, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "test.csv, row 2: the text is not valid UTF-8"
        );
    }

    #[test]
    fn invalid_utf8_in_header_is_an_error() {
        let err = try_open(b"\n\xE0\n1\n", &options(None, Some("utf-8")))
            .err()
            .unwrap();
        assert!(
            matches!(err, FormatError::Encoding { row: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn reads_utf16() {
        let text: Vec<u8> = "a,b\r\n1,é\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let mut reader = open(&text, b',', Some("utf-16le"));
        assert_eq!(reader.headers(), ["a", "b"]);
        assert_eq!(rows_of(&mut reader).unwrap(), [row(2, &["1", "é"])]);
    }

    #[test]
    fn empty_and_header_only_files() {
        let (headers, rows) = read(b"");
        assert!(headers.is_empty() && rows.is_empty());
        let (headers, rows) = read(b"\n\n");
        assert!(headers.is_empty() && rows.is_empty());
        let (headers, rows) = read(b"a,b\n");
        assert_eq!(headers, ["a", "b"]);
        assert!(rows.is_empty());
    }

    #[test]
    fn rejects_non_ascii_delimiter_and_quote() {
        assert!(try_open(b"a", &options(Some(0xA7), None)).is_err());
        let quote = ReadOptions {
            quote: Some(0xA7),
            ..ReadOptions::default()
        };
        assert!(try_open(b"a", &quote).is_err());
        let same = ReadOptions {
            delimiter: Some(b';'),
            quote: Some(b';'),
            ..ReadOptions::default()
        };
        assert_eq!(
            try_open(b"a", &same).err().unwrap().to_string(),
            "test.csv: the delimiter and the quote cannot both be ';'"
        );
    }

    #[test]
    fn sniffs_the_dialect_unless_given() {
        let mut reader = try_open(b"a;b\n1;'x;y'\n2;'it''s'\n", &ReadOptions::default()).unwrap();
        assert_eq!(reader.headers(), ["a", "b"]);
        assert_eq!(
            (reader.info().delimiter, reader.info().quote),
            (Some(b';'), Some(b'\''))
        );
        assert_eq!(
            rows_of(&mut reader).unwrap(),
            [row(2, &["1", "x;y"]), row(3, &["2", "it's"])]
        );
        // A given delimiter wins.
        let mut reader = open(b"a;b\n1;2\n", b',', None);
        assert_eq!(reader.headers(), ["a;b"]);
        assert_eq!(rows_of(&mut reader).unwrap(), [row(2, &["1;2"])]);
        // TSV is tab-separated whatever the content.
        let reader = CsvReader::new(
            Format::Tsv,
            Box::new(&b"a,b\tc\n"[..]),
            "t.tsv",
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(reader.headers(), ["a,b", "c"]);
    }

    #[test]
    fn an_unterminated_quote_is_an_error_naming_its_row() {
        for text in [
            "a,b\n1,2\n3,\"open\n4,5\n6,7\n",
            "a,b\n1,2\r\n3,\"open\"\"\r\n",
            "a,b\n1,2\n3,\"",
        ] {
            let mut reader = open(text.as_bytes(), b',', None);
            let err = rows_of(&mut reader).unwrap_err();
            assert_eq!(
                err.to_string(),
                "test.csv, row 3: the quote that opens a cell in this row is never closed, \
                 so the rest of the file would be one cell",
                "{text:?}"
            );
        }
        // A closed quote at the very end is fine, with or without a final line break.
        for text in ["a,b\n1,\"x\"", "a,b\n1,\"x\"\n", "a,b\n1,\"x\ny\""] {
            let mut reader = open(text.as_bytes(), b',', None);
            assert_eq!(rows_of(&mut reader).unwrap().len(), 1, "{text:?}");
        }
    }

    fn limited(max_line_bytes: usize, max_cell_bytes: usize) -> ReadOptions {
        ReadOptions {
            delimiter: Some(b','),
            limits: Limits {
                max_line_bytes,
                max_cell_bytes,
                ..Limits::default()
            },
            ..ReadOptions::default()
        }
    }

    #[test]
    fn a_cell_over_the_limit_is_refused_naming_row_and_column() {
        let text = format!("id,name\n1,{}\n2,{}\n", "x".repeat(100), "y".repeat(101));
        let mut reader = try_open(text.as_bytes(), &limited(10_000, 100)).unwrap();
        let err = rows_of(&mut reader).unwrap_err();
        assert_eq!(
            err.to_string(),
            "test.csv, row 3: the cell in column \"name\" exceeds the limit of 100 bytes \
             (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)"
        );
        // In the header too, and in a huge cell that fills the buffers.
        let text = format!("id,{}\n", "h".repeat(5000));
        let err = try_open(text.as_bytes(), &limited(100_000, 1000))
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                FormatError::LimitExceeded {
                    row: Some(1),
                    flag: "--max-cell-bytes",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_row_over_the_limit_is_refused() {
        let text = format!(
            "a,b,c\n{}\n",
            ["x".repeat(80), "y".repeat(80), "z".repeat(80)].join(",")
        );
        let mut reader = try_open(text.as_bytes(), &limited(200, 100)).unwrap();
        let err = rows_of(&mut reader).unwrap_err();
        assert_eq!(
            err.to_string(),
            "test.csv, row 2: the row exceeds the limit of 200 bytes \
             (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)"
        );
    }

    #[test]
    fn a_row_of_too_many_cells_is_refused() {
        // 64 bytes per cell: 1 KiB allows 16 cells.
        let text = format!("{}\n", ",".repeat(16));
        let err = try_open(text.as_bytes(), &limited(1024, 1024))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "test.csv, row 1: a row of more than 16 cells (each counts as 64 bytes) exceeds \
             the limit of 1 KiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)"
        );
        let text = format!("{}\n", ",".repeat(15));
        assert_eq!(
            try_open(text.as_bytes(), &limited(1024, 1024))
                .unwrap()
                .headers()
                .len(),
            16
        );
    }

    #[test]
    fn an_unterminated_quote_in_a_big_file_stops_at_the_cell_limit() {
        let mut text = String::from("a,b\n1,\"never closed\n");
        for i in 0..1000 {
            text.push_str(&format!("{i},more text\n"));
        }
        let mut reader = try_open(text.as_bytes(), &limited(1 << 20, 1000)).unwrap();
        let err = rows_of(&mut reader).unwrap_err();
        assert!(
            matches!(err, FormatError::LimitExceeded { row: Some(2), .. }),
            "{err:?}"
        );
    }

    fn write(
        encoding: Option<&str>,
        delimiter: u8,
        headers: &[&str],
        rows: &[Vec<Cell>],
    ) -> Vec<u8> {
        let mut buf = Vec::new();
        let encoding = encoding.map(|label| label.parse().unwrap());
        let mut writer = Box::new(CsvWriter::new(Box::new(&mut buf), delimiter, encoding).unwrap());
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        writer.write_header(&headers).unwrap();
        for cells in rows {
            writer.write_row(cells).unwrap();
        }
        writer.finish().unwrap();
        buf
    }

    #[test]
    fn writes_unix_lines_and_quotes_only_when_needed() {
        let rows = [
            vec![Cell::Int(1), Cell::Text("plain".into()), Cell::Empty],
            vec![
                Cell::Float(2.5),
                Cell::Text("a, \"b\"\nc".into()),
                Cell::Bool(true),
            ],
            vec![Cell::Text("short".into())],
        ];
        let out = write(None, b',', &["n", "text", "flag"], &rows);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "n,text,flag\n1,plain,\n2.5,\"a, \"\"b\"\"\nc\",1\nshort,,\n"
        );
        let out = write(
            None,
            b'\t',
            &["a", "b"],
            &[vec![Cell::Text("x,y".into()), Cell::Text("t\tu".into())]],
        );
        assert_eq!(out, b"a\tb\nx,y\t\"t\tu\"\n");
    }

    #[test]
    fn writes_bom_and_other_encodings() {
        let rows = [vec![Cell::Text("à".into())]];
        assert_eq!(
            write(Some("utf-8-sig"), b',', &["h"], &rows),
            b"\xEF\xBB\xBFh\n\xC3\xA0\n"
        );
        assert_eq!(write(Some("latin1"), b',', &["h"], &rows), b"h\n\xE0\n");
    }

    #[test]
    fn unencodable_cell_is_named() {
        let mut buf = Vec::new();
        let mut writer = Box::new(
            CsvWriter::new(Box::new(&mut buf), b',', Some("latin1".parse().unwrap())).unwrap(),
        );
        writer.write_header(&["a".into(), "b".into()]).unwrap();
        let err = writer
            .write_row(&[Cell::Int(1), Cell::Text("check ✓".into())])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a value cannot be written in windows-1252: \"check ✓\""
        );
    }

    #[test]
    fn row_longer_than_header_is_refused() {
        let mut buf = Vec::new();
        let mut writer = Box::new(CsvWriter::new(Box::new(&mut buf), b',', None).unwrap());
        writer.write_header(&["a".into()]).unwrap();
        writer.write_row(&[Cell::Int(1)]).unwrap();
        let err = writer.write_row(&[Cell::Int(1), Cell::Int(2)]).unwrap_err();
        assert!(
            matches!(err, FormatError::RowTooLong { row: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn no_columns_writes_nothing() {
        assert!(write(None, b',', &[], &[]).is_empty());
    }
}
