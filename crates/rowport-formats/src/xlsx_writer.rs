//! XLSX written with rust_xlsxwriter in constant-memory mode: each row is flushed to a
//! temporary file as soon as the next one starts, and the workbook is assembled at
//! `finish` and copied to the output, so memory does not grow with the rows.
//!
//! Cells keep their type: numbers are numbers, booleans booleans, dates, times and dates
//! with times are Excel serial numbers with a date format (`yyyy-mm-dd`, `hh:mm:ss`,
//! `yyyy-mm-dd hh:mm:ss`, with milliseconds when a value has them, Excel's precision), and
//! text is text, even when it looks like a number (`"007"` keeps its zeros) or a formula
//! (`=1+1` is written as text, never as a formula). The header row is bold and frozen.
//!
//! What a spreadsheet cannot hold is written so that nothing is lost: a whole number
//! beyond 2^53 (a float would round it) and a date before 1900 are written as text; a
//! non-finite float as `NaN`, `inf` or `-inf`. A date and time that carries a UTC offset —
//! the text rowport's date-time widget renders, `2021-03-04 12:30:00+02:00` — becomes the
//! date and time it reads as in its own offset (12:30), since Excel has no time zones.

use std::io::{self, Seek, SeekFrom, Write};

use chrono::{NaiveTime, Timelike};
use rust_xlsxwriter::{Format as Style, Workbook, XlsxError};

use crate::spreadsheet::{
    column_label, datetime_to_excel_serial, offset_datetime_text, time_to_fraction, MAX_COLUMNS,
};
use crate::transcode::{output_io_error, OUTPUT_NAME};
use crate::{Cell, FormatError, RowWriter, WriteOptions};

/// The most rows a worksheet has.
const MAX_ROWS: u64 = 1_048_576;

/// Integers beyond this lose digits in a float.
const EXACT_INTEGER: i64 = 1 << 53;

pub(crate) fn open_writer<'a>(
    output: Box<dyn Write + 'a>,
    _options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    let mut workbook = Workbook::new();
    workbook.add_worksheet_with_constant_memory();
    Ok(Box::new(XlsxWriter {
        output,
        workbook,
        headers: Vec::new(),
        rows: 0,
        widths_set: false,
        styles: Styles::new(),
    }))
}

struct Styles {
    header: Style,
    date: Style,
    time: Style,
    time_ms: Style,
    datetime: Style,
    datetime_ms: Style,
    /// `0`, `0.0`, `0.00`, … : decimals shown with their own number of places.
    decimals: Vec<Style>,
}

/// The most decimal places given their own number format.
const DECIMAL_STYLES: usize = 10;

/// A decimal's value as a double and its number of decimal places, when it has at most 15
/// significant digits (what a double keeps exactly enough to show them back).
fn excel_decimal(digits: &str) -> Option<(f64, usize)> {
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let significant = whole.trim_start_matches('0').len() + fraction.len();
    if significant > 15 {
        return None;
    }
    Some((digits.parse().ok()?, fraction.len()))
}

impl Styles {
    fn new() -> Self {
        Styles {
            header: Style::new().set_bold(),
            date: Style::new().set_num_format("yyyy-mm-dd"),
            time: Style::new().set_num_format("hh:mm:ss"),
            time_ms: Style::new().set_num_format("hh:mm:ss.000"),
            datetime: Style::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            datetime_ms: Style::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
            decimals: (0..DECIMAL_STYLES)
                .map(|places| match places {
                    0 => Style::new().set_num_format("0"),
                    _ => Style::new().set_num_format(format!("0.{}", "0".repeat(places))),
                })
                .collect(),
        }
    }
}

struct XlsxWriter<'a> {
    output: Box<dyn Write + 'a>,
    workbook: Workbook,
    headers: Vec<String>,
    /// Data rows written.
    rows: u64,
    widths_set: bool,
    styles: Styles,
}

/// The error for what rust_xlsxwriter refused, at data row `row` (0 for the header) and
/// column `column`.
fn refused(headers: &[String], error: XlsxError, row: u64, column: usize) -> FormatError {
    let place = column_label(headers, column);
    let message = match error {
        XlsxError::IoError(error) => return output_io_error(error),
        XlsxError::MaxStringLengthExceeded => format!(
            "{place}: the text is longer than the 32,767 characters a spreadsheet cell holds"
        ),
        XlsxError::RowColumnLimitError => {
            "a worksheet holds at most 1,048,576 rows and 16,384 columns".to_owned()
        }
        other => format!("{place}: {other}"),
    };
    FormatError::Malformed {
        source_name: OUTPUT_NAME.to_owned(),
        row: Some(row + 1),
        message,
    }
}

impl XlsxWriter<'_> {
    /// Column widths from the header and the first row's types, so that dates do not
    /// show as `#####`.
    fn set_widths(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.widths_set = true;
        for (column, header) in self.headers.iter().enumerate() {
            let header_width = header.chars().count() as f64 * 1.2 + 2.0;
            let value_width = match cells.get(column) {
                Some(Cell::DateTime(_)) => 20.0,
                Some(Cell::Text(t)) if offset_datetime_text(t).is_some() => 20.0,
                Some(Cell::Date(_)) => 11.0,
                _ => 10.0,
            };
            let width = header_width.max(value_width).min(60.0);
            let sheet = self
                .workbook
                .worksheet_from_index(0)
                .map_err(workbook_error)?;
            sheet
                .set_column_width(column as u16, width)
                .map_err(workbook_error)?;
        }
        Ok(())
    }
}

/// An error of the workbook itself, outside any cell.
fn workbook_error(error: XlsxError) -> FormatError {
    match error {
        XlsxError::IoError(error) => output_io_error(error),
        other => FormatError::Malformed {
            source_name: OUTPUT_NAME.to_owned(),
            row: None,
            message: format!("the workbook cannot be written ({other})"),
        },
    }
}

impl RowWriter for XlsxWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        if headers.len() > MAX_COLUMNS {
            return Err(FormatError::Malformed {
                source_name: OUTPUT_NAME.to_owned(),
                row: Some(1),
                message: format!(
                    "the header has {} columns, more than the 16,384 a worksheet holds",
                    headers.len()
                ),
            });
        }
        self.headers = headers.to_vec();
        let sheet = self
            .workbook
            .worksheet_from_index(0)
            .map_err(workbook_error)?;
        for (column, header) in headers.iter().enumerate() {
            if let Err(e) = sheet.write_string_with_format(
                0,
                column as u16,
                header.as_str(),
                &self.styles.header,
            ) {
                return Err(refused(&self.headers, e, 0, column));
            }
        }
        if let Err(e) = sheet.set_freeze_panes(1, 0) {
            return Err(refused(&self.headers, e, 0, 0));
        }
        Ok(())
    }

    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.rows += 1;
        if cells.len() > self.headers.len() {
            return Err(FormatError::RowTooLong {
                source_name: OUTPUT_NAME.to_owned(),
                row: self.rows + 1,
                expected: self.headers.len(),
                found: cells.len(),
            });
        }
        if self.rows >= MAX_ROWS {
            return Err(FormatError::Malformed {
                source_name: OUTPUT_NAME.to_owned(),
                row: Some(self.rows + 1),
                message: "a worksheet holds at most 1,048,576 rows (the header and 1,048,575 rows of data); export to csv for more".to_owned(),
            });
        }
        if !self.widths_set {
            self.set_widths(cells)?;
        }
        let row = self.rows as u32;
        let styles = &self.styles;
        let sheet = self
            .workbook
            .worksheet_from_index(0)
            .map_err(workbook_error)?;
        for (column, cell) in cells.iter().enumerate() {
            let col = column as u16;
            let written = match cell {
                Cell::Empty => continue,
                Cell::Text(text) => match offset_datetime_text(text) {
                    Some(local) => match datetime_to_excel_serial(local) {
                        Some(serial) => sheet.write_number_with_format(
                            row,
                            col,
                            serial,
                            datetime_style(styles, local.and_utc().timestamp_subsec_millis()),
                        ),
                        None => sheet.write_string(row, col, text.as_str()),
                    },
                    None => sheet.write_string(row, col, text.as_str()),
                },
                Cell::Int(i) if (-EXACT_INTEGER..=EXACT_INTEGER).contains(i) => {
                    sheet.write_number(row, col, *i as f64)
                }
                Cell::Int(i) => sheet.write_string(row, col, i.to_string()),
                Cell::Float(x) if x.is_finite() => sheet.write_number(row, col, *x),
                Cell::Float(x) => sheet.write_string(row, col, x.to_string()),
                // A number shown with the digits' decimal places (`8.90` stays `8.90`), when
                // a double holds it exactly enough (15 significant digits); else the digits.
                Cell::Decimal(digits) => match excel_decimal(digits) {
                    Some((number, places)) => match styles.decimals.get(places) {
                        Some(style) => sheet.write_number_with_format(row, col, number, style),
                        None => sheet.write_number(row, col, number),
                    },
                    None => sheet.write_string(row, col, digits.as_str()),
                },
                Cell::Bool(b) => sheet.write_boolean(row, col, *b),
                Cell::Date(date) => match datetime_to_excel_serial(date.and_time(NaiveTime::MIN)) {
                    Some(serial) => sheet.write_number_with_format(row, col, serial, &styles.date),
                    None => sheet.write_string(row, col, cell.to_string()),
                },
                Cell::DateTime(dt) => match datetime_to_excel_serial(*dt) {
                    Some(serial) => sheet.write_number_with_format(
                        row,
                        col,
                        serial,
                        datetime_style(styles, dt.and_utc().timestamp_subsec_millis()),
                    ),
                    None => sheet.write_string(row, col, cell.to_string()),
                },
                Cell::Time(time) => {
                    let style = if time.nanosecond() >= 1_000_000 {
                        &styles.time_ms
                    } else {
                        &styles.time
                    };
                    sheet.write_number_with_format(row, col, time_to_fraction(*time), style)
                }
            };
            if let Err(e) = written {
                return Err(refused(&self.headers, e, self.rows, column));
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        // rust_xlsxwriter writes the zip into a seekable file; it is then copied out.
        let mut file = tempfile::tempfile().map_err(output_io_error)?;
        self.workbook
            .save_to_writer(&mut file)
            .map_err(workbook_error)?;
        file.seek(SeekFrom::Start(0)).map_err(output_io_error)?;
        io::copy(&mut file, &mut self.output).map_err(output_io_error)?;
        self.output.flush().map_err(output_io_error)
    }
}

fn datetime_style(styles: &Styles, millis: u32) -> &Style {
    if millis > 0 {
        &styles.datetime_ms
    } else {
        &styles.datetime
    }
}
