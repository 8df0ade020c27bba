//! CSV and TSV: a header record, then one record per row.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::str;

use crate::transcode::{
    decode_input, output_io_error, DecodedInput, TextOutput, Unwritable, OUTPUT_NAME,
};
use crate::{Cell, Encoding, FormatError, Row, RowReader, RowWriter};

/// Reads CSV or TSV (any ASCII delimiter) one record at a time.
pub(crate) struct CsvReader<'a> {
    source: String,
    csv: csv::Reader<LineTracker<DecodedInput<'a>>>,
    record: csv::ByteRecord,
    headers: Vec<String>,
}

impl<'a> CsvReader<'a> {
    /// Opens the reader and reads the header. An empty file has no header and no rows.
    pub(crate) fn new(
        input: Box<dyn Read + 'a>,
        source: &str,
        delimiter: u8,
        encoding: Option<Encoding>,
    ) -> Result<Self, FormatError> {
        check_delimiter(delimiter, source)?;
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(LineTracker::new(decode_input(input, encoding)));
        let mut reader = CsvReader {
            source: source.to_owned(),
            csv,
            record: csv::ByteRecord::new(),
            headers: Vec::new(),
        };
        if reader.next_record()? {
            let line = reader.record_line();
            let headers = reader
                .record
                .iter()
                .map(|field| str::from_utf8(field).map(|text| text.trim().to_owned()))
                .collect::<Result<Vec<_>, _>>();
            reader.headers = headers.map_err(|_| reader.encoding_error(line))?;
        }
        Ok(reader)
    }

    fn next_record(&mut self) -> Result<bool, FormatError> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(more) => Ok(more),
            Err(error) => {
                let message = error.to_string();
                Err(match error.into_kind() {
                    csv::ErrorKind::Io(error) => FormatError::Io {
                        source_name: self.source.clone(),
                        error,
                    },
                    _ => FormatError::Malformed {
                        source_name: self.source.clone(),
                        row: None,
                        message,
                    },
                })
            }
        }
    }

    /// The line on which the record just read starts.
    fn record_line(&mut self) -> u64 {
        let offset = self.record.position().map_or(0, |position| position.byte());
        self.csv.get_mut().line_at(offset)
    }

    fn encoding_error(&self, row: u64) -> FormatError {
        FormatError::Encoding {
            source_name: self.source.clone(),
            row,
            encoding: "UTF-8".to_owned(),
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
        if !self.next_record()? {
            return Ok(false);
        }
        let number = self.record_line();
        let expected = self.headers.len();
        if self.record.len() > expected {
            return Err(FormatError::RowTooLong {
                source_name: self.source.clone(),
                row: number,
                expected,
                found: self.record.len(),
            });
        }
        row.number = number;
        row.cells.resize(expected, Cell::Empty);
        for (i, cell) in row.cells.iter_mut().enumerate() {
            match self.record.get(i) {
                None | Some(b"") => *cell = Cell::Empty,
                Some(field) => match str::from_utf8(field) {
                    Ok(text) => cell.set_text(text),
                    Err(_) => return Err(self.encoding_error(number)),
                },
            }
        }
        Ok(true)
    }
}

/// A delimiter byte that is not ASCII would split UTF-8 characters apart.
fn check_delimiter(delimiter: u8, source: &str) -> Result<(), FormatError> {
    if delimiter.is_ascii() {
        Ok(())
    } else {
        Err(FormatError::Malformed {
            source_name: source.to_owned(),
            row: None,
            message: format!("the delimiter (byte {delimiter:#04x}) must be an ASCII character"),
        })
    }
}

/// Passes bytes through to the CSV parser while noting where line breaks are, so that a
/// record's byte offset can be turned into the line it starts on.
///
/// csv's own record position cannot give that line: it counts only LF, and it is taken where
/// the previous record ended — before any blank lines, and with CRLF before the LF. The byte
/// offset it gives is exact, though, and the record starts at the first byte after it that is
/// not part of a line break, so it starts on the line that follows every run of line-break
/// bytes beginning at or before that offset. LF, CRLF and a lone CR each end one line.
struct LineTracker<R> {
    inner: R,
    /// Bytes passed through so far.
    offset: u64,
    /// Runs of consecutive CR and LF bytes at or after the last offset asked about.
    runs: VecDeque<BreakRun>,
    /// The offset just past the last CR or LF byte, to tell whether a run goes on.
    run_end: u64,
    /// The offset just past the last CR, to tell CRLF from LF.
    cr_end: u64,
    /// Line breaks in runs already dropped from `runs`.
    breaks_before: u64,
}

struct BreakRun {
    start: u64,
    breaks: u64,
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            runs: VecDeque::new(),
            run_end: u64::MAX,
            cr_end: u64::MAX,
            breaks_before: 0,
        }
    }

    /// The 1-based line of the first non-line-break byte at or after `offset`. Offsets asked
    /// about must not decrease, and that byte must have been read already (a record has been
    /// parsed from it, so it has).
    fn line_at(&mut self, offset: u64) -> u64 {
        while let Some(run) = self.runs.front() {
            if run.start > offset {
                break;
            }
            self.breaks_before += run.breaks;
            self.runs.pop_front();
        }
        self.breaks_before + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let base = self.offset;
        for (i, &byte) in buf.iter().take(n).enumerate() {
            if byte != b'\r' && byte != b'\n' {
                continue;
            }
            let at = base + i as u64;
            if at != self.run_end {
                self.runs.push_back(BreakRun {
                    start: at,
                    breaks: 0,
                });
            }
            self.run_end = at + 1;
            let lf_after_cr = byte == b'\n' && self.cr_end == at;
            if byte == b'\r' {
                self.cr_end = at + 1;
            }
            if !lf_after_cr {
                if let Some(run) = self.runs.back_mut() {
                    run.breaks += 1;
                }
            }
        }
        self.offset = base + n as u64;
        Ok(n)
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
        check_delimiter(delimiter, OUTPUT_NAME)?;
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

    fn open<'b>(bytes: &'b [u8], delimiter: u8, encoding: Option<&str>) -> CsvReader<'b> {
        let encoding = encoding.map(|label| label.parse().unwrap());
        CsvReader::new(Box::new(bytes), "test.csv", delimiter, encoding).unwrap()
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
            let mut reader =
                CsvReader::new(Box::new(Trickle(text, chunk)), "t.csv", b',', None).unwrap();
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
    fn latin1_needs_its_encoding() {
        let bytes = b"name\nvoil\xE0\n";
        let mut reader = open(bytes, b',', Some("latin1"));
        assert_eq!(rows_of(&mut reader).unwrap(), [row(2, &["voilà"])]);

        let mut reader = open(bytes, b',', None);
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
        let err = CsvReader::new(Box::new(&b"\n\xE0\n1\n"[..]), "h.csv", b',', None)
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
    fn rejects_non_ascii_delimiter() {
        assert!(CsvReader::new(Box::new(&b"a"[..]), "x.csv", 0xA7, None).is_err());
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
