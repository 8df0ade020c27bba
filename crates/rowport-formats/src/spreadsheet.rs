//! Workbooks: XLSX and XLSM, ODS, and XLS.
//!
//! XLSX and ODS are zip archives of XML. rowport reads them itself, streaming the chosen
//! sheet's XML row by row (quick-xml over the inflating zip member), so a million-row sheet
//! reads in flat memory; XLS, a small binary format, is read through calamine. The input is
//! first spooled to a temporary file, since a zip archive must be read from its end.
//!
//! What every workbook reader does:
//! - the sheet is `--sheet` (a name, or a 0-based position), else the active sheet (the one
//!   the workbook opens on; XLS: the first), else the first;
//! - the header is the first row that holds a value; header cells are trimmed; columns after
//!   the last non-empty header cell are ignored, as are empty rows wherever they are, so
//!   files that declare a million empty rows cost nothing;
//! - a row's number is the spreadsheet's own row number (the header is row 1 when it is the
//!   first row), so messages point at the row a person sees;
//! - cells keep their type: a whole number is [`Cell::Int`] (`66`, never `66.0`), other
//!   numbers [`Cell::Float`], text stays text exactly (`"007"`), booleans are booleans,
//!   and cells formatted as dates, times or both become [`Cell::Date`], [`Cell::Time`] or
//!   [`Cell::DateTime`] in the workbook's date system (1900 or 1904);
//! - formulas give their cached value, the one the spreadsheet last calculated (a formula
//!   never calculated reads as empty);
//! - a cell holding a spreadsheet error (`#DIV/0!`, `#N/A`, …) reads as that error's text, as
//!   Excel shows it and as a CSV saved by Excel holds it: a number or date column then
//!   reports the row and column as invalid, a text column keeps the text;
//! - a value in a column after the header's last one is an error, as in CSV.
//!
//! Hostile files are refused with [`FormatError::LimitExceeded`] before they cost memory:
//! zip members are counted as they inflate (the sizes an archive declares are never
//! trusted) against [`Limits::max_decompressed_bytes`] and
//! [`Limits::max_compression_ratio`]; any XML text or tag longer than
//! [`Limits::max_cell_bytes`] is refused while it is read; a sheet is refused past
//! [`Limits::max_cells`] cells actually present (a declared `<dimension>` is ignored); a
//! document type declaration (`<!DOCTYPE>`), which no workbook has, is refused, so entities
//! are never expanded.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::{Cell, Format, FormatError, Limits, ReadOptions, Row, RowReader, SheetRef};

mod ods;
mod strings;
mod xls;
mod xlsx;
mod xml;
mod zipped;

/// The most columns a worksheet has (Excel's XFD, LibreOffice's limit since 7.4).
pub(crate) const MAX_COLUMNS: usize = 16_384;

pub(crate) fn open_reader<'a>(
    format: Format,
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    let file = spool(input, source)?;
    let sheet = options.sheet.as_ref();
    let limits = options.limits;
    Ok(match format {
        Format::Xls => Box::new(SheetReader::new(
            xls::open(file, source, sheet, limits)?,
            source,
        )?),
        Format::Ods => Box::new(SheetReader::new(
            ods::open(file, source, sheet, limits)?,
            source,
        )?),
        _ => Box::new(SheetReader::new(
            xlsx::open(file, source, sheet, limits)?,
            source,
        )?),
    })
}

/// Copies the input to an anonymous temporary file, which the system deletes once closed.
fn spool(mut input: Box<dyn Read + '_>, source: &str) -> Result<File, FormatError> {
    let io_error = |error| FormatError::Io {
        source_name: source.to_owned(),
        error,
    };
    let mut file = tempfile::tempfile().map_err(io_error)?;
    io::copy(&mut input, &mut file).map_err(io_error)?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    Ok(file)
}

/// A worksheet as rows of cells, each row read when asked for.
pub(crate) trait SheetSource {
    /// Reads the next row that holds at least one cell into `cells`: afterwards
    /// `cells.len() == width` and `cells[c]` is the cell of column `c` (0 = A), empty where
    /// the row has none. Returns `None` after the last row.
    fn next_row(
        &mut self,
        cells: &mut Vec<Cell>,
        width: usize,
    ) -> Result<Option<SourceRow>, FormatError>;
}

/// What a [`SheetSource`] says of the row it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceRow {
    /// The spreadsheet's row number, from 1.
    pub number: u64,
    /// The last column (0-based) at or after `width` that holds a value, if any.
    pub beyond: Option<usize>,
}

/// The header logic every workbook shares, over a format's [`SheetSource`].
struct SheetReader<S> {
    sheet: S,
    source: String,
    headers: Vec<String>,
}

impl<S: SheetSource> SheetReader<S> {
    /// Reads up to the header: the first row that holds a value.
    fn new(mut sheet: S, source: &str) -> Result<Self, FormatError> {
        let mut cells = Vec::new();
        let mut headers = Vec::new();
        while let Some(row) = sheet.next_row(&mut cells, MAX_COLUMNS)? {
            if row.beyond.is_some() {
                return Err(FormatError::Malformed {
                    source_name: source.to_owned(),
                    row: Some(row.number),
                    message: format!(
                        "the header has a value after column {}, the last a worksheet has",
                        column_name(MAX_COLUMNS - 1)
                    ),
                });
            }
            if let Some(last) = cells.iter().rposition(|cell| !cell.is_empty()) {
                headers = cells[..=last]
                    .iter()
                    .map(|cell| cell.to_string().trim().to_owned())
                    .collect();
                break;
            }
        }
        Ok(SheetReader {
            sheet,
            source: source.to_owned(),
            headers,
        })
    }
}

impl<S: SheetSource> RowReader for SheetReader<S> {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        let width = self.headers.len();
        if width == 0 {
            return Ok(false);
        }
        while let Some(read) = self.sheet.next_row(&mut row.cells, width)? {
            if let Some(column) = read.beyond {
                return Err(FormatError::RowTooLong {
                    source_name: self.source.clone(),
                    row: read.number,
                    expected: width,
                    found: column + 1,
                });
            }
            if row.cells.iter().any(|cell| !cell.is_empty()) {
                row.number = read.number;
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The sheet to read among `names` (in workbook order): `wanted`, else the `active` one,
/// else the first. A position is tried first; a number past the last sheet is also tried
/// as a name, so a sheet called `2024` can be chosen with `--sheet 2024`.
pub(crate) fn choose_sheet(
    names: &[String],
    wanted: Option<&SheetRef>,
    active: Option<usize>,
    source: &str,
) -> Result<usize, FormatError> {
    if names.is_empty() {
        return Err(FormatError::Malformed {
            source_name: source.to_owned(),
            row: None,
            message: "the workbook has no worksheet".to_owned(),
        });
    }
    let by_name = |name: &str| names.iter().position(|n| n == name);
    let found = match wanted {
        None => Some(active.filter(|&i| i < names.len()).unwrap_or(0)),
        Some(SheetRef::Index(i)) if *i < names.len() => Some(*i),
        Some(SheetRef::Index(i)) => by_name(&i.to_string()),
        Some(SheetRef::Name(name)) => {
            by_name(name).or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)))
        }
    };
    found.ok_or_else(|| {
        let listed = names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let asked = match wanted {
            Some(SheetRef::Index(i)) => format!(
                "no sheet {i} (sheets are numbered from 0; it has {}: {listed})",
                names.len()
            ),
            Some(SheetRef::Name(name)) => {
                format!("no sheet named \"{name}\" (its sheets are {listed})")
            }
            None => format!("no sheet (its sheets are {listed})"),
        };
        FormatError::Malformed {
            source_name: source.to_owned(),
            row: None,
            message: format!("the workbook has {asked}"),
        }
    })
}

/// The letters of a 0-based column: 0 → `A`, 26 → `AA`.
pub(crate) fn column_name(mut column: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// A column as messages name it: by its header, else by its letters.
pub(crate) fn column_label(headers: &[String], column: usize) -> String {
    match headers.get(column) {
        Some(header) if !header.is_empty() => format!("column \"{header}\""),
        _ => format!("column {}", column_name(column)),
    }
}

/// What a cell's number format shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    /// A plain number.
    Number,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and a time.
    DateTime,
}

/// The cell for a number: [`Cell::Int`] when it is whole and exact in a float, else
/// [`Cell::Float`].
pub(crate) fn number_cell(x: f64) -> Cell {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if x.fract() == 0.0 && x.abs() <= EXACT {
        Cell::Int(x as i64)
    } else {
        Cell::Float(x)
    }
}

/// The cell for a number shown as `shown`: a date, time or date and time when the serial is
/// one, else the number.
pub(crate) fn serial_cell(serial: f64, shown: Shown, date_1904: bool) -> Cell {
    let time_only = (0.0..1.0).contains(&serial);
    match shown {
        Shown::Number => number_cell(serial),
        Shown::Time | Shown::DateTime if time_only => match fraction_to_time(serial) {
            Some(time) => Cell::Time(time),
            None => number_cell(serial),
        },
        _ => match excel_serial_to_datetime(serial, date_1904) {
            Some(dt) if shown == Shown::Date => Cell::Date(dt.date()),
            Some(dt) => Cell::DateTime(dt),
            None => number_cell(serial),
        },
    }
}

const MS_PER_DAY: f64 = 86_400_000.0;

/// The time of day of a fraction of a day, to the millisecond (Excel's precision).
fn fraction_to_time(fraction: f64) -> Option<NaiveTime> {
    let ms = (fraction * MS_PER_DAY).round() as u32;
    let ms = ms.min(86_399_999);
    NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000)
}

/// The date and time an Excel serial number stands for: days since the epoch, the fraction
/// being the time of day (rounded to the millisecond).
///
/// In the 1900 date system (`date_1904 == false`, Excel's default) day 1 is 1900-01-01 and,
/// as in Excel, day 60 is the 29 February 1900 that never was, so it is refused; in the 1904
/// system (old Mac workbooks) day 0 is 1904-01-01. Negative serials and serials past
/// 9999-12-31 are refused, as is day 0 of the 1900 system.
///
/// ```
/// use rowport_formats::excel_serial_to_datetime;
///
/// let noon = excel_serial_to_datetime(43831.5, false).unwrap();
/// assert_eq!(noon.to_string(), "2020-01-01 12:00:00");
/// let mac = excel_serial_to_datetime(42369.0, true).unwrap();
/// assert_eq!(mac.to_string(), "2020-01-01 00:00:00");
/// assert!(excel_serial_to_datetime(60.0, false).is_none());
/// ```
pub fn excel_serial_to_datetime(serial: f64, date_1904: bool) -> Option<NaiveDateTime> {
    if !(0.0..3_000_000.0).contains(&serial) {
        return None;
    }
    let mut days = serial.floor() as i64;
    let mut ms = ((serial - serial.floor()) * MS_PER_DAY).round() as i64;
    if ms >= MS_PER_DAY as i64 {
        days += 1;
        ms -= MS_PER_DAY as i64;
    }
    let (epoch, days) = if date_1904 {
        (NaiveDate::from_ymd_opt(1904, 1, 1)?, days)
    } else {
        match days {
            0 | 60 => return None,
            1..=59 => (NaiveDate::from_ymd_opt(1899, 12, 31)?, days),
            _ => (NaiveDate::from_ymd_opt(1899, 12, 30)?, days),
        }
    };
    let date = epoch.checked_add_signed(Duration::try_days(days)?)?;
    if date > NaiveDate::from_ymd_opt(9999, 12, 31)? {
        return None;
    }
    date.and_hms_opt(0, 0, 0)?
        .checked_add_signed(Duration::try_milliseconds(ms)?)
}

/// The Excel serial number (1900 date system) of a date and time, `None` before
/// 1900-01-01 or after 9999-12-31, which Excel cannot show. Precision is Excel's: the
/// millisecond.
pub(crate) fn datetime_to_excel_serial(dt: NaiveDateTime) -> Option<f64> {
    let date = dt.date();
    if date < NaiveDate::from_ymd_opt(1900, 1, 1)? || date > NaiveDate::from_ymd_opt(9999, 12, 31)?
    {
        return None;
    }
    let mut days = (date - NaiveDate::from_ymd_opt(1899, 12, 30)?).num_days();
    // Excel counts the 29 February 1900 that never was: dates before it are one day less.
    if date < NaiveDate::from_ymd_opt(1900, 3, 1)? {
        days -= 1;
    }
    Some(days as f64 + time_to_fraction(dt.time()))
}

/// A time of day as the fraction of a day Excel and LibreOffice store, to the millisecond.
pub(crate) fn time_to_fraction(time: NaiveTime) -> f64 {
    let ms = u64::from(time.num_seconds_from_midnight()) * 1000
        + u64::from(time.nanosecond().min(999_999_999) / 1_000_000);
    ms as f64 / MS_PER_DAY
}

/// A cell from ISO 8601 text as workbooks store dates (`2024-05-06`,
/// `2024-05-06T11:22:33.5`, `11:22:33`); `None` when the text is none of these.
pub(crate) fn iso_cell(text: &str) -> Option<Cell> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Cell::Date(date));
    }
    for pattern in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, pattern) {
            return Some(Cell::DateTime(dt));
        }
    }
    NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
        .ok()
        .map(Cell::Time)
}

/// The wall-clock date and time of text exactly as rowport's date-time widget renders a
/// value that carries a UTC offset (`2021-03-04 12:30:00+02:00`, with an optional fraction
/// of a second). Spreadsheets have no time zones, so the writers store such a value as the
/// date and time it reads as in its own offset (12:30 here), which is what a person
/// there sees on the clock.
pub(crate) fn offset_datetime_text(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    // `YYYY-MM-DD HH:MM:SS` (19 bytes), an optional fraction, then `+HH:MM` or `-HH:MM`.
    if bytes.len() < 25 || bytes.get(10) != Some(&b' ') {
        return None;
    }
    let (local, offset) = text.split_at(text.len() - 6);
    let offset = offset.as_bytes();
    if !matches!(offset[0], b'+' | b'-') || offset[3] != b':' {
        return None;
    }
    chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z")
        .ok()
        .and_then(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S%.f").ok())
}

/// A byte count as a person reads it: `32 MiB`, `4 GiB`, `1,500 bytes`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size && n % size == 0 {
            return format!("{} {unit}", n / size);
        }
    }
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.1} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} bytes")
}

/// `1234567` → `1,234,567`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The error for a cell (or XML text) longer than [`Limits::max_cell_bytes`].
pub(crate) fn cell_too_long(source: &str, row: Option<u64>, limits: &Limits) -> FormatError {
    FormatError::LimitExceeded {
        source_name: source.to_owned(),
        row,
        what: "a cell".to_owned(),
        limit: human_bytes(limits.max_cell_bytes as u64),
        flag: "--max-cell-bytes",
        setting: "limits.max_cell_bytes",
    }
}

/// The error for a sheet with more than [`Limits::max_cells`] cells.
pub(crate) fn too_many_cells(source: &str, sheet: &str, limits: &Limits) -> FormatError {
    FormatError::LimitExceeded {
        source_name: source.to_owned(),
        row: None,
        what: format!("the number of cells in sheet \"{sheet}\""),
        limit: grouped(limits.max_cells),
        flag: "--max-cells",
        setting: "limits.max_cells",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, s)
            .unwrap()
    }

    #[test]
    fn serials_in_both_date_systems() {
        let cases = [
            (1.0, false, dt(1900, 1, 1, 0, 0, 0)),
            (59.0, false, dt(1900, 2, 28, 0, 0, 0)),
            (61.0, false, dt(1900, 3, 1, 0, 0, 0)),
            (43831.5, false, dt(2020, 1, 1, 12, 0, 0)),
            (2958465.0, false, dt(9999, 12, 31, 0, 0, 0)),
            (0.0, true, dt(1904, 1, 1, 0, 0, 0)),
            (42369.75, true, dt(2020, 1, 1, 18, 0, 0)),
        ];
        for (serial, mac, expected) in cases {
            assert_eq!(
                excel_serial_to_datetime(serial, mac),
                Some(expected),
                "{serial}"
            );
            if !mac {
                assert_eq!(datetime_to_excel_serial(expected), Some(serial), "{serial}");
            }
        }
        for refused in [0.0, 60.0, -1.0, 2958466.0, f64::NAN, f64::INFINITY] {
            assert_eq!(excel_serial_to_datetime(refused, false), None, "{refused}");
        }
        // A time just short of midnight rounds into the next day, not to 24:00.
        assert_eq!(
            excel_serial_to_datetime(43_831.999_999_999, false),
            Some(dt(2020, 1, 2, 0, 0, 0))
        );
        assert_eq!(
            datetime_to_excel_serial(dt(1899, 12, 31, 0, 0, 0)),
            None,
            "before Excel's calendar"
        );
    }

    #[test]
    fn serial_cells_follow_the_format() {
        let date = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        assert_eq!(serial_cell(43831.0, Shown::Date, false), Cell::Date(date));
        assert_eq!(
            serial_cell(43831.25, Shown::DateTime, false),
            Cell::DateTime(dt(2020, 1, 1, 6, 0, 0))
        );
        assert_eq!(
            serial_cell(0.75, Shown::Time, false),
            Cell::Time(NaiveTime::from_hms_opt(18, 0, 0).unwrap())
        );
        assert_eq!(serial_cell(60.0, Shown::Date, false), Cell::Int(60));
        assert_eq!(serial_cell(66.0, Shown::Number, false), Cell::Int(66));
        assert_eq!(serial_cell(66.5, Shown::Number, false), Cell::Float(66.5));
        assert_eq!(number_cell(1e20), Cell::Float(1e20));
        assert_eq!(number_cell(-0.0), Cell::Int(0));
    }

    #[test]
    fn offset_datetimes_are_recognised_exactly() {
        assert_eq!(
            offset_datetime_text("2021-03-04 12:30:00+02:00"),
            Some(dt(2021, 3, 4, 12, 30, 0))
        );
        assert_eq!(
            offset_datetime_text("2021-03-04 12:30:00.250-05:00")
                .map(|d| d.and_utc().timestamp_subsec_millis()),
            Some(250)
        );
        for not in [
            "2021-03-04 12:30:00",
            "2021-03-04T12:30:00+02:00",
            "2021-03-04 12:30:00Z",
            "2021-03-04 12:30:00+0200",
            "x2021-03-04 12:30:00+02:00",
            "2021-13-04 12:30:00+02:00",
            "héllo wörld, a longer text",
        ] {
            assert_eq!(offset_datetime_text(not), None, "{not}");
        }
    }

    #[test]
    fn sheet_choice() {
        let names: Vec<String> = ["Books", "Authors", "2024"].map(String::from).to_vec();
        let choose = |wanted: Option<SheetRef>, active| {
            choose_sheet(&names, wanted.as_ref(), active, "w.xlsx").map_err(|e| e.to_string())
        };
        assert_eq!(choose(None, None), Ok(0));
        assert_eq!(choose(None, Some(1)), Ok(1));
        assert_eq!(choose(None, Some(7)), Ok(0));
        assert_eq!(choose(Some(SheetRef::Index(2)), Some(1)), Ok(2));
        assert_eq!(choose(Some(SheetRef::Index(2024)), None), Ok(2));
        assert_eq!(choose(Some(SheetRef::Name("authors".into())), None), Ok(1));
        assert_eq!(
            choose(Some(SheetRef::Name("Sales".into())), None),
            Err(
                "w.xlsx: the workbook has no sheet named \"Sales\" (its sheets are \"Books\", \"Authors\", \"2024\")"
                    .to_owned()
            )
        );
        assert_eq!(
            choose(Some(SheetRef::Index(3)), None),
            Err("w.xlsx: the workbook has no sheet 3 (sheets are numbered from 0; it has 3: \"Books\", \"Authors\", \"2024\")".to_owned())
        );
    }

    #[test]
    fn names_and_sizes() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(MAX_COLUMNS - 1), "XFD");
        assert_eq!(human_bytes(32 << 20), "32 MiB");
        assert_eq!(human_bytes(4 << 30), "4 GiB");
        assert_eq!(human_bytes(1500), "1.5 KiB");
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(grouped(500_000_000), "500,000,000");
        assert_eq!(grouped(7), "7");
    }
}
