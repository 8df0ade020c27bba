//! Streaming readers and writers for the files rowport moves rows through.
//!
//! A [`RowReader`] yields one [`Row`] of [`Cell`]s at a time into a buffer the caller
//! reuses, so memory does not grow with the file. A [`RowWriter`] takes rows one at a time
//! and streams them out. Nothing here knows about databases or resources.
//!
//! Row numbers follow the file: for CSV, TSV and JSON Lines a row's number is the line on
//! which its record starts (the header is line 1, so the first data row of a plain CSV file is
//! row 2); for JSON and YAML it is the 1-based position of the object in the list; for HTML
//! the position of the row in the table, the header row being row 1; for a workbook (XLSX,
//! XLS, ODS) the spreadsheet's own row number, so the header is row 1 when it is the sheet's
//! first row.
//!
//! Text is decoded from the encoding given in [`ReadOptions::encoding`], else the one a
//! byte-order mark names, else the one detected from the first 64 KiB (see
//! [`RowReader::info`] for which was used). The delimiter and quote of CSV are sniffed from
//! the first 64 KiB when not given. Every reader keeps within [`Limits`]: what would make it
//! hold more is refused with [`FormatError::LimitExceeded`].
//!
//! ```
//! use rowport_formats::{open_reader, Format, ReadOptions, Row};
//!
//! let data = "isbn,name\n978,Dune\n979,Emma\n";
//! let mut reader = open_reader(Format::Csv, Box::new(data.as_bytes()), "books.csv", &ReadOptions::default()).unwrap();
//! assert_eq!(reader.headers(), ["isbn", "name"]);
//! let mut row = Row::default();
//! let mut names = Vec::new();
//! while reader.read_row(&mut row).unwrap() {
//!     names.push(row.cells[1].to_string());
//! }
//! assert_eq!(names, ["Dune", "Emma"]);
//! ```
#![forbid(unsafe_code)]

mod cell;
mod csv_format;
mod encoding;
mod error;
mod format;
mod html_format;
mod json_format;
mod limits;
mod ods_writer;
mod sniff;
mod spreadsheet;
mod transcode;
mod xlsx_writer;
mod yaml_format;

pub use cell::Cell;
pub use encoding::{Encoding, EncodingError, EncodingSource, EncodingUsed};
pub use error::FormatError;
pub use format::{Format, UnknownFormat};
pub use limits::{format_size, parse_size, SizeError};
pub use sniff::{sniff_format, SNIFF_BYTES};
pub use spreadsheet::excel_serial_to_datetime;

use std::io::{Read, Write};

/// One data row as read from a file: its number in the file and its cells, in header order.
///
/// Readers fill a `Row` the caller owns and reuses, so the cell buffers are recycled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// The row's number as the file numbers it (see the crate docs).
    pub number: u64,
    /// One cell per header, short rows padded with [`Cell::Empty`].
    pub cells: Vec<Cell>,
}

/// Options that shape how a file is read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The text encoding; `None` means detect it (byte-order mark, else valid UTF-8, else a
    /// statistical guess). A byte-order mark in the file wins over a given encoding.
    pub encoding: Option<Encoding>,
    /// The field delimiter for CSV; `None` means sniff it for CSV (among `,` `;` tab `|`)
    /// and tab for TSV.
    pub delimiter: Option<u8>,
    /// The quote character for CSV and TSV; `None` means sniff it (`"` or `'`).
    pub quote: Option<u8>,
    /// The worksheet of a workbook; `None` means the active (else the first) sheet.
    pub sheet: Option<SheetRef>,
    /// Bounds on what a file may make the reader hold in memory.
    pub limits: Limits,
}

/// A worksheet chosen by name or by 0-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetRef {
    /// The sheet with this name.
    Name(String),
    /// The sheet at this position, counting from 0.
    Index(usize),
}

impl std::str::FromStr for SheetRef {
    type Err = std::convert::Infallible;

    /// A number is a position, anything else a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse::<usize>() {
            Ok(index) => SheetRef::Index(index),
            Err(_) => SheetRef::Name(s.to_owned()),
        })
    }
}

/// Bounds on what a file may make a reader hold or expand, so that a hostile file is refused
/// with [`FormatError::LimitExceeded`] instead of exhausting memory. Each can be raised by a
/// flag and in `rowport.toml` (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line or record of a text file, in bytes (`--max-line-bytes`).
    pub max_line_bytes: usize,
    /// The longest single cell, in bytes (`--max-cell-bytes`).
    pub max_cell_bytes: usize,
    /// The most bytes a compressed file (XLSX, ODS) may expand to (`--max-decompressed-bytes`).
    pub max_decompressed_bytes: u64,
    /// The highest ratio of expanded to compressed size for one archive member
    /// (`--max-compression-ratio`).
    pub max_compression_ratio: u64,
    /// The most cells a worksheet may declare or hold (`--max-cells`).
    pub max_cells: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 64 << 20,
            max_cell_bytes: 32 << 20,
            max_decompressed_bytes: 4 << 30,
            max_compression_ratio: 200,
            max_cells: 500_000_000,
        }
    }
}

/// Options that shape how a file is written.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// The text encoding; `None` means UTF-8 without a byte-order mark.
    pub encoding: Option<Encoding>,
    /// The field delimiter for CSV; `None` means the format's own.
    pub delimiter: Option<u8>,
}

/// What a reader found out about its input while opening it, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputInfo {
    /// The text encoding used and how it was chosen; `None` for binary formats.
    pub encoding: Option<EncodingUsed>,
    /// The CSV or TSV delimiter used (given or sniffed).
    pub delimiter: Option<u8>,
    /// The CSV or TSV quote character used (given or sniffed).
    pub quote: Option<u8>,
}

impl InputInfo {
    /// Information naming only the encoding used.
    pub fn with_encoding(encoding: EncodingUsed) -> Self {
        InputInfo {
            encoding: Some(encoding),
            ..InputInfo::default()
        }
    }
}

/// A source of rows: the header first, then one row per call.
pub trait RowReader {
    /// The header cells, trimmed, in file order.
    fn headers(&self) -> &[String];

    /// The input as the user named it (a file name, or `-`), for messages.
    fn source(&self) -> &str;

    /// Reads the next row into `row`, reusing its buffers. Returns `Ok(false)` at the end.
    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError>;

    /// What the reader found out about its input: the encoding used for text formats, the
    /// dialect for CSV. Binary formats keep the default, which says nothing.
    fn info(&self) -> InputInfo {
        InputInfo::default()
    }
}

/// A sink for rows: the header first, then rows, then `finish`.
pub trait RowWriter {
    /// Writes the header. Called once, before any row.
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError>;

    /// Writes one row of cells, in header order.
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError>;

    /// Completes the file (closing brackets, flushing buffers).
    fn finish(self: Box<Self>) -> Result<(), FormatError>;
}

/// Opens a streaming reader for `format` over `input`. `source` names the input in errors
/// (the file name as the user gave it, or `-` for standard input).
pub fn open_reader<'a>(
    format: Format,
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    match format {
        Format::Csv | Format::Tsv => Ok(Box::new(csv_format::CsvReader::new(
            format, input, source, options,
        )?)),
        Format::Json => Ok(Box::new(json_format::JsonReader::new(
            input, source, options,
        )?)),
        Format::Jsonl => json_format::open_lines_reader(input, source, options),
        Format::Yaml => yaml_format::open_reader(input, source, options),
        Format::Html => html_format::open_reader(input, source, options),
        Format::Xlsx | Format::Xls | Format::Ods => {
            spreadsheet::open_reader(format, input, source, options)
        }
    }
}

/// Opens a streaming writer for `format` over `output`.
pub fn open_writer<'a>(
    format: Format,
    output: Box<dyn Write + 'a>,
    options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    match format {
        Format::Csv | Format::Tsv => Ok(Box::new(csv_format::CsvWriter::new(
            output,
            options.delimiter.unwrap_or(format.default_delimiter()),
            options.encoding,
        )?)),
        Format::Json => Ok(Box::new(json_format::JsonWriter::new(
            output,
            options.encoding,
        )?)),
        Format::Jsonl => json_format::open_lines_writer(output, options),
        Format::Yaml => yaml_format::open_writer(output, options),
        Format::Html => html_format::open_writer(output, options),
        Format::Xlsx => xlsx_writer::open_writer(output, options),
        Format::Ods => ods_writer::open_writer(output, options),
        Format::Xls => Err(FormatError::ReadOnly { format }),
    }
}
