//! ODS written as a zip streamed to a temporary file: the `mimetype` member first and
//! stored, as OpenDocument requires, then `content.xml` deflated row by row as rows
//! arrive, then the view settings (the header row frozen) and the manifest. At `finish` the
//! file is copied to the output, so memory does not grow with the rows.
//!
//! Cells keep their type (`office:value-type` float, boolean, date, time or string), with
//! the same rules as the XLSX writer: text stays text, a whole number beyond 2^53 is
//! written as text, and a date and time with a UTC offset (as rowport's date-time widget
//! renders it) becomes the date and time it reads as in its own offset. Text keeps its
//! spaces, tabs and line breaks (runs of spaces as `text:s`, lines as paragraphs); the
//! control characters XML cannot hold are refused with the row and column.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

use chrono::{NaiveDateTime, Timelike};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::spreadsheet::{column_label, offset_datetime_text};
use crate::transcode::{output_io_error, OUTPUT_NAME};
use crate::{Cell, FormatError, RowWriter, WriteOptions};

const MIMETYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";
const SHEET_NAME: &str = "Sheet1";

/// Integers beyond this lose digits in the float ODS stores.
const EXACT_INTEGER: i64 = 1 << 53;

const CONTENT_START: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    "\n",
    r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
    r#"xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" "#,
    r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" "#,
    r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
    r#"xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" "#,
    r#"xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" "#,
    r#"office:version="1.2">"#,
    "<office:automatic-styles>",
    r#"<number:date-style style:name="N_DATE"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/></number:date-style>"#,
    r#"<number:date-style style:name="N_DATETIME"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/><number:text> </number:text><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/><number:text>:</number:text><number:seconds number:style="long"/></number:date-style>"#,
    r#"<number:time-style style:name="N_TIME"><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/><number:text>:</number:text><number:seconds number:style="long"/></number:time-style>"#,
    r#"<style:style style:name="ce_head" style:family="table-cell"><style:text-properties fo:font-weight="bold"/></style:style>"#,
    r#"<style:style style:name="ce_date" style:family="table-cell" style:data-style-name="N_DATE"/>"#,
    r#"<style:style style:name="ce_datetime" style:family="table-cell" style:data-style-name="N_DATETIME"/>"#,
    r#"<style:style style:name="ce_time" style:family="table-cell" style:data-style-name="N_TIME"/>"#,
    r#"<style:style style:name="co_narrow" style:family="table-column"><style:table-column-properties style:column-width="2.5cm"/></style:style>"#,
    r#"<style:style style:name="co_wide" style:family="table-column"><style:table-column-properties style:column-width="4.2cm"/></style:style>"#,
    "</office:automatic-styles>",
    "<office:body><office:spreadsheet>",
);

const CONTENT_END: &str =
    "</table:table></office:spreadsheet></office:body></office:document-content>\n";

const MANIFEST: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    "\n",
    r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#,
    r#"<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>"#,
    r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>"#,
    r#"<manifest:file-entry manifest:full-path="settings.xml" manifest:media-type="text/xml"/>"#,
    "</manifest:manifest>\n",
);

/// The view settings: the header row frozen, the sheet active.
const SETTINGS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    "\n",
    r#"<office:document-settings xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
    r#"xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0" office:version="1.2">"#,
    "<office:settings>",
    r#"<config:config-item-set config:name="ooo:view-settings">"#,
    r#"<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>"#,
    r#"<config:config-item config:name="ViewId" config:type="string">view1</config:config-item>"#,
    r#"<config:config-item-map-named config:name="Tables">"#,
    r#"<config:config-item-map-entry config:name="Sheet1">"#,
    r#"<config:config-item config:name="VerticalSplitMode" config:type="short">2</config:config-item>"#,
    r#"<config:config-item config:name="VerticalSplitPosition" config:type="int">1</config:config-item>"#,
    r#"<config:config-item config:name="ActiveSplitRange" config:type="short">2</config:config-item>"#,
    r#"<config:config-item config:name="PositionTop" config:type="int">0</config:config-item>"#,
    r#"<config:config-item config:name="PositionBottom" config:type="int">1</config:config-item>"#,
    "</config:config-item-map-entry></config:config-item-map-named>",
    r#"<config:config-item config:name="ActiveTable" config:type="string">Sheet1</config:config-item>"#,
    "</config:config-item-map-entry></config:config-item-map-indexed>",
    "</config:config-item-set></office:settings></office:document-settings>\n",
);

pub(crate) fn open_writer<'a>(
    output: Box<dyn Write + 'a>,
    _options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    let mut zip = ZipWriter::new(tempfile::tempfile().map_err(output_io_error)?);
    let stored = options(CompressionMethod::Stored);
    zip.start_file("mimetype", stored).map_err(zip_error)?;
    zip.write_all(MIMETYPE.as_bytes())
        .map_err(output_io_error)?;
    zip.start_file("content.xml", options(CompressionMethod::Deflated))
        .map_err(zip_error)?;
    zip.write_all(CONTENT_START.as_bytes())
        .map_err(output_io_error)?;
    Ok(Box::new(OdsWriter {
        output,
        zip,
        headers: Vec::new(),
        rows: 0,
        table_started: false,
        line: String::new(),
    }))
}

/// Options for a member: a fixed date (the same rows make the same bytes) and quick
/// compression.
fn options(method: CompressionMethod) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(if method == CompressionMethod::Stored {
            None
        } else {
            Some(6)
        })
        .last_modified_time(zip::DateTime::default())
}

fn zip_error(error: zip::result::ZipError) -> FormatError {
    match error {
        zip::result::ZipError::Io(error) => output_io_error(error),
        other => output_io_error(io::Error::other(other.to_string())),
    }
}

struct OdsWriter<'a> {
    output: Box<dyn Write + 'a>,
    zip: ZipWriter<File>,
    headers: Vec<String>,
    /// Data rows written.
    rows: u64,
    /// The table's start, columns and header row are written.
    table_started: bool,
    /// The XML of the row being written.
    line: String,
}

impl OdsWriter<'_> {
    /// Writes the table's start, its columns (wide ones for dates and times, as the first
    /// row shows them) and the header row.
    fn start_table(&mut self, first: &[Cell]) -> Result<(), FormatError> {
        self.table_started = true;
        self.line.clear();
        let _ = write!(self.line, r#"<table:table table:name="{SHEET_NAME}">"#);
        for column in 0..self.headers.len() {
            let wide = self.headers[column].chars().count() > 12
                || matches!(first.get(column), Some(Cell::DateTime(_) | Cell::Date(_)))
                || matches!(first.get(column), Some(Cell::Text(t)) if offset_datetime_text(t).is_some());
            let style = if wide { "co_wide" } else { "co_narrow" };
            let _ = write!(
                self.line,
                r#"<table:table-column table:style-name="{style}"/>"#
            );
        }
        self.line
            .push_str("<table:table-header-rows><table:table-row>");
        for (column, header) in self.headers.iter().enumerate() {
            self.line.push_str(
                r#"<table:table-cell table:style-name="ce_head" office:value-type="string">"#,
            );
            push_paragraphs(&mut self.line, header)
                .map_err(|c| bad_character(&self.headers, 1, column, c))?;
            self.line.push_str("</table:table-cell>");
        }
        self.line
            .push_str("</table:table-row></table:table-header-rows>");
        self.flush_line()
    }

    fn flush_line(&mut self) -> Result<(), FormatError> {
        self.zip
            .write_all(self.line.as_bytes())
            .map_err(output_io_error)
    }
}

impl RowWriter for OdsWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.headers = headers.to_vec();
        Ok(())
    }

    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.rows += 1;
        let row = self.rows + 1;
        if cells.len() > self.headers.len() {
            return Err(FormatError::RowTooLong {
                source_name: OUTPUT_NAME.to_owned(),
                row,
                expected: self.headers.len(),
                found: cells.len(),
            });
        }
        if !self.table_started {
            self.start_table(cells)?;
        }
        self.line.clear();
        self.line.push_str("<table:table-row>");
        for (column, cell) in cells.iter().enumerate() {
            push_cell(&mut self.line, cell)
                .map_err(|c| bad_character(&self.headers, row, column, c))?;
        }
        self.line.push_str("</table:table-row>");
        self.flush_line()
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        if !self.table_started {
            self.start_table(&[])?;
        }
        self.zip
            .write_all(CONTENT_END.as_bytes())
            .map_err(output_io_error)?;
        let deflated = options(CompressionMethod::Deflated);
        self.zip
            .start_file("settings.xml", deflated)
            .map_err(zip_error)?;
        self.zip
            .write_all(SETTINGS.as_bytes())
            .map_err(output_io_error)?;
        self.zip
            .start_file("META-INF/manifest.xml", deflated)
            .map_err(zip_error)?;
        self.zip
            .write_all(MANIFEST.as_bytes())
            .map_err(output_io_error)?;
        let OdsWriter {
            mut output, zip, ..
        } = *self;
        let mut file = zip.finish().map_err(zip_error)?;
        file.seek(SeekFrom::Start(0)).map_err(output_io_error)?;
        io::copy(&mut file, &mut output).map_err(output_io_error)?;
        output.flush().map_err(output_io_error)
    }
}

/// The error for a control character XML cannot hold.
fn bad_character(headers: &[String], row: u64, column: usize, c: char) -> FormatError {
    let place = column_label(headers, column);
    FormatError::Malformed {
        source_name: OUTPUT_NAME.to_owned(),
        row: Some(row),
        message: format!(
            "{place}: the text holds the control character U+{:04X}, which an ODS file cannot hold",
            u32::from(c)
        ),
    }
}

/// Appends one `table:table-cell`.
fn push_cell(out: &mut String, cell: &Cell) -> Result<(), char> {
    match cell {
        Cell::Empty => out.push_str("<table:table-cell/>"),
        Cell::Text(text) => match offset_datetime_text(text) {
            Some(local) => push_datetime(out, local),
            None => push_string(out, text)?,
        },
        Cell::Int(i) if (-EXACT_INTEGER..=EXACT_INTEGER).contains(i) => {
            let _ = write!(
                out,
                r#"<table:table-cell office:value-type="float" office:value="{i}"><text:p>{i}</text:p></table:table-cell>"#
            );
        }
        Cell::Int(i) => push_string(out, &i.to_string())?,
        Cell::Float(x) if x.is_finite() => {
            let _ = write!(
                out,
                r#"<table:table-cell office:value-type="float" office:value="{x}"><text:p>{x}</text:p></table:table-cell>"#
            );
        }
        Cell::Float(x) => push_string(out, &x.to_string())?,
        // ODF keeps the value as its decimal text, so the digits stay exact.
        Cell::Decimal(digits) => {
            let _ = write!(
                out,
                r#"<table:table-cell office:value-type="float" office:value="{digits}"><text:p>{digits}</text:p></table:table-cell>"#
            );
        }
        Cell::Bool(b) => {
            let (value, shown) = if *b {
                ("true", "TRUE")
            } else {
                ("false", "FALSE")
            };
            let _ = write!(
                out,
                r#"<table:table-cell office:value-type="boolean" office:boolean-value="{value}"><text:p>{shown}</text:p></table:table-cell>"#
            );
        }
        Cell::Date(date) => {
            let value = date.format("%Y-%m-%d");
            let _ = write!(
                out,
                r#"<table:table-cell table:style-name="ce_date" office:value-type="date" office:date-value="{value}"><text:p>{value}</text:p></table:table-cell>"#
            );
        }
        Cell::DateTime(dt) => push_datetime(out, *dt),
        Cell::Time(time) => {
            let fraction = match time.nanosecond() {
                0 => String::new(),
                ns => format!(".{:09}", ns.min(999_999_999))
                    .trim_end_matches('0')
                    .to_owned(),
            };
            let _ = write!(
                out,
                r#"<table:table-cell table:style-name="ce_time" office:value-type="time" office:time-value="PT{:02}H{:02}M{:02}{fraction}S"><text:p>{}</text:p></table:table-cell>"#,
                time.hour(),
                time.minute(),
                time.second(),
                time.format("%H:%M:%S")
            );
        }
    }
    Ok(())
}

fn push_datetime(out: &mut String, dt: NaiveDateTime) {
    let _ = write!(
        out,
        r#"<table:table-cell table:style-name="ce_datetime" office:value-type="date" office:date-value="{}"><text:p>{}</text:p></table:table-cell>"#,
        dt.format("%Y-%m-%dT%H:%M:%S%.f"),
        dt.format("%Y-%m-%d %H:%M:%S")
    );
}

fn push_string(out: &mut String, text: &str) -> Result<(), char> {
    out.push_str(r#"<table:table-cell office:value-type="string">"#);
    push_paragraphs(out, text)?;
    out.push_str("</table:table-cell>");
    Ok(())
}

/// Appends `text` as paragraphs, one per line, keeping every space: ODF collapses runs of
/// spaces in a paragraph, so leading, trailing and repeated spaces are written as
/// `text:s`, tabs as `text:tab`. Refuses (returns) a character XML cannot hold.
fn push_paragraphs(out: &mut String, text: &str) -> Result<(), char> {
    for line in text.split('\n') {
        out.push_str("<text:p>");
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                ' ' => {
                    let run = chars[i..].iter().take_while(|&&c| c == ' ').count();
                    let at_edge = i == 0 || i + run == chars.len();
                    // A single space between words is kept as it is.
                    if run == 1 && !at_edge {
                        out.push(' ');
                    } else if run == 1 {
                        out.push_str("<text:s/>");
                    } else {
                        let _ = write!(out, r#"<text:s text:c="{run}"/>"#);
                    }
                    i += run;
                    continue;
                }
                '\t' => out.push_str("<text:tab/>"),
                '\r' => out.push_str("&#13;"),
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => return Err(c),
                c => out.push(c),
            }
            i += 1;
        }
        out.push_str("</text:p>");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paragraphs(text: &str) -> String {
        let mut out = String::new();
        push_paragraphs(&mut out, text).unwrap();
        out
    }

    #[test]
    fn spaces_lines_and_escapes() {
        assert_eq!(paragraphs("a b"), "<text:p>a b</text:p>");
        assert_eq!(
            paragraphs(" a  b "),
            r#"<text:p><text:s/>a<text:s text:c="2"/>b<text:s/></text:p>"#
        );
        assert_eq!(
            paragraphs("x\n\ny\tz"),
            "<text:p>x</text:p><text:p></text:p><text:p>y<text:tab/>z</text:p>"
        );
        assert_eq!(paragraphs("<&>\r"), "<text:p>&lt;&amp;&gt;&#13;</text:p>");
        let mut out = String::new();
        assert_eq!(push_paragraphs(&mut out, "bell\u{7}"), Err('\u{7}'));
    }
}
