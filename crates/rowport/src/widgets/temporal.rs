//! Date, time and date-time widgets, each with an optional list of `strftime` formats.
//!
//! On import each format is tried in turn; on export the first one is used. With no list,
//! ISO 8601 is read and written, and values are exported as typed cells (a date cell, not
//! the text of a date), so spreadsheets get real dates while text formats get the same
//! ISO 8601 text. With a list, the export is text in its first format.
//!
//! Typed cells from spreadsheets and JSON are read as they are: a date, time or date-time
//! cell is that value. A plain number in a date or date-time column is read as an Excel
//! serial number in the 1900 date system, Excel's default (43831 is 2020-01-01, 43831.5
//! its noon): that is what a date cell whose date format was lost looks like. Workbooks in
//! the 1904 date system are read with their dates right when the cells are formatted as
//! dates; a bare number cannot tell which system it came from. In a time column, a number
//! from 0 up to 1 is a fraction of a day (0.75 is 18:00).

use chrono::offset::LocalResult;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::{parse, render_plain, Widget, WidgetError};
use crate::value::{Value, ValueKind};
use rowport_formats::{excel_serial_to_datetime, Cell};

/// The date and time of a number cell read as an Excel serial (1900 date system).
fn from_serial(cell: &Cell) -> Option<NaiveDateTime> {
    match cell {
        Cell::Int(i) => excel_serial_to_datetime(*i as f64, false),
        Cell::Float(x) => excel_serial_to_datetime(*x, false),
        _ => None,
    }
}

/// The time of day of a number cell from 0 up to 1, read as a fraction of a day.
fn from_fraction(cell: &Cell) -> Option<NaiveTime> {
    let fraction = match cell {
        Cell::Int(0) => 0.0,
        Cell::Float(x) if (0.0..1.0).contains(x) => *x,
        _ => return None,
    };
    // 1900-01-01 plus the fraction: the serial of day 1 carries the same time of day.
    excel_serial_to_datetime(1.0 + fraction, false).map(|dt| dt.time())
}

fn expected(formats: &[String], iso: &str) -> String {
    if formats.is_empty() {
        iso.to_owned()
    } else {
        formats
            .iter()
            .map(|f| parse::human_format(f))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Calendar dates. Default format: `%Y-%m-%d`. A number is an Excel serial (1900 date
/// system); a date-and-time cell gives its date.
#[derive(Debug, Clone, Default)]
pub struct DateWidget {
    /// Formats tried in order; empty means ISO 8601.
    pub formats: Vec<String>,
}

impl DateWidget {
    /// A date widget that reads these formats and writes the first.
    pub fn new(formats: Vec<String>) -> Self {
        DateWidget { formats }
    }
}

impl Widget for DateWidget {
    fn name(&self) -> &str {
        "date"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Date
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let error = || {
            WidgetError::new(format!(
                "is not a date (expected {})",
                expected(&self.formats, "YYYY-MM-DD")
            ))
        };
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Date(d) => Ok(Value::Date(*d)),
            Cell::DateTime(dt) => Ok(Value::Date(dt.date())),
            Cell::Int(_) | Cell::Float(_) => from_serial(cell)
                .map(|dt| Value::Date(dt.date()))
                .ok_or_else(error),
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) => {
                let s = s.trim();
                if self.formats.is_empty() {
                    return parse::iso_date(s).map(Value::Date).ok_or_else(error);
                }
                self.formats
                    .iter()
                    .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                    .map(Value::Date)
                    .ok_or_else(error)
            }
            _ => Err(error()),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match (value, self.formats.first()) {
            (Value::Date(d), Some(f)) => Cell::Text(d.format(f).to_string()),
            (other, _) => render_plain(other),
        }
    }

    fn describe(&self) -> String {
        describe_formats(&self.formats)
    }
}

/// Times of day. Default: `%H:%M:%S`, also reading `%H:%M` and fractions of a second; a
/// number from 0 up to 1 is a fraction of a day.
#[derive(Debug, Clone, Default)]
pub struct TimeWidget {
    /// Formats tried in order; empty means ISO 8601.
    pub formats: Vec<String>,
}

impl TimeWidget {
    /// A time widget that reads these formats and writes the first.
    pub fn new(formats: Vec<String>) -> Self {
        TimeWidget { formats }
    }
}

impl Widget for TimeWidget {
    fn name(&self) -> &str {
        "time"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Time
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let error = || {
            WidgetError::new(format!(
                "is not a time (expected {})",
                expected(&self.formats, "HH:MM:SS")
            ))
        };
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Time(t) => Ok(Value::Time(*t)),
            Cell::DateTime(dt) => Ok(Value::Time(dt.time())),
            Cell::Int(_) | Cell::Float(_) => from_fraction(cell).map(Value::Time).ok_or_else(error),
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) => {
                let s = s.trim();
                if self.formats.is_empty() {
                    return parse::iso_time(s).map(Value::Time).ok_or_else(error);
                }
                self.formats
                    .iter()
                    .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
                    .map(Value::Time)
                    .ok_or_else(error)
            }
            _ => Err(error()),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match (value, self.formats.first()) {
            (Value::Time(t), Some(f)) => Cell::Text(t.format(f).to_string()),
            (other, _) => render_plain(other),
        }
    }

    fn describe(&self) -> String {
        describe_formats(&self.formats)
    }
}

/// The time zone a [`DateTimeWidget`] reads and writes in.
///
/// ```
/// use rowport::widgets::Zone;
///
/// assert_eq!(Zone::parse("naive"), Ok(Zone::Naive));
/// assert!(matches!(Zone::parse("+02:00"), Ok(Zone::Fixed(_))));
/// assert!(matches!(Zone::parse("Europe/Ljubljana"), Ok(Zone::Named(_))));
/// assert!(Zone::parse("Mars/Olympus").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// No zone: a value without an offset stays a wall-clock time, and is written as read.
    #[default]
    Naive,
    /// A fixed offset from UTC (`UTC`, `+02:00`).
    Fixed(FixedOffset),
    /// A named zone of the IANA database (`Europe/Paris`), with its daylight-saving rules.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// UTC.
    pub fn utc() -> Self {
        Zone::Fixed(chrono::Offset::fix(&chrono::Utc))
    }

    /// Reads `naive`, `UTC` (or `Z`), an offset such as `+02:00` or `-0530`, or an IANA
    /// zone name such as `Europe/Paris`.
    pub fn parse(text: &str) -> Result<Zone, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("naive") || t.is_empty() {
            return Ok(Zone::Naive);
        }
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(Zone::utc());
        }
        if t.starts_with(['+', '-']) {
            let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
            let ok = digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit());
            let (h, m) = if ok {
                (
                    digits[..2].parse::<i32>().unwrap_or(99),
                    digits[2..].parse::<i32>().unwrap_or(99),
                )
            } else {
                (99, 99)
            };
            let seconds = (h * 3600 + m * 60) * if t.starts_with('-') { -1 } else { 1 };
            return match (h < 24 && m < 60, FixedOffset::east_opt(seconds)) {
                (true, Some(offset)) => Ok(Zone::Fixed(offset)),
                _ => Err(format!(
                    "\"{t}\" is not a UTC offset (expected such as +02:00)"
                )),
            };
        }
        t.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            format!("\"{t}\" is not a time zone (expected naive, UTC, an offset such as +02:00, or a name such as Europe/Paris)")
        })
    }

    /// A wall-clock date and time in this zone as an instant; `None` for [`Zone::Naive`].
    /// A time the clocks skip is an error; a time they repeat is the earlier instant, as
    /// Python's `zoneinfo` reads it.
    fn localize(&self, naive: NaiveDateTime) -> Option<Result<DateTime<FixedOffset>, WidgetError>> {
        match self {
            Zone::Naive => None,
            Zone::Fixed(offset) => Some(
                offset
                    .from_local_datetime(&naive)
                    .earliest()
                    .ok_or_else(|| WidgetError::new("is out of range")),
            ),
            Zone::Named(tz) => Some(match tz.from_local_datetime(&naive) {
                LocalResult::Single(dt) => Ok(dt.fixed_offset()),
                LocalResult::Ambiguous(earlier, _) => Ok(earlier.fixed_offset()),
                LocalResult::None => Err(WidgetError::new(format!(
                    "does not exist in {} (the clocks skip it)",
                    tz.name()
                ))),
            }),
        }
    }

    /// An instant as this zone's wall clock.
    fn wall_clock(&self, instant: &DateTime<FixedOffset>) -> NaiveDateTime {
        match self {
            Zone::Naive => instant.naive_local(),
            Zone::Fixed(offset) => instant.with_timezone(offset).naive_local(),
            Zone::Named(tz) => instant.with_timezone(tz).naive_local(),
        }
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Zone::Naive => f.write_str("naive"),
            Zone::Fixed(offset) if offset.local_minus_utc() == 0 => f.write_str("UTC"),
            Zone::Fixed(offset) => write!(f, "{offset}"),
            Zone::Named(tz) => f.write_str(tz.name()),
        }
    }
}

/// Dates with times. Default: ISO 8601 with a space or `T`, optional fraction and optional
/// UTC offset (`Z`, `+02:00`); a value with an offset keeps it. A number is an Excel serial
/// (1900 date system); a date cell is its midnight.
///
/// With a [`Zone`] other than naive (django-import-export's `USE_TZ` with a `TIME_ZONE`), a
/// value without an offset is read as that zone's wall clock and stored as the instant it
/// names; on export every value is written in that zone's wall clock without an offset
/// (spreadsheets have no time zones), and a value the store gives back without an offset
/// is taken as UTC, as stores keep instants. A column that holds instants (PostgreSQL's
/// `timestamptz`) gets UTC by default.
///
/// ```
/// use rowport::widgets::{DateTimeWidget, Widget, Zone};
/// use rowport::{Cell, Value};
///
/// let paris = DateTimeWidget::default().in_zone(Zone::parse("Europe/Paris").unwrap());
/// let summer = paris.clean(&Cell::Text("2024-07-01 12:00:00".into())).unwrap();
/// assert_eq!(summer.to_string(), "2024-07-01 12:00:00+02:00");
/// let cell = paris.render(&summer);
/// assert_eq!(cell.to_string(), "2024-07-01 12:00:00");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DateTimeWidget {
    /// Formats tried in order; empty means ISO 8601.
    pub formats: Vec<String>,
    /// The zone values without an offset are read in, and every value is written in.
    pub zone: Zone,
}

impl DateTimeWidget {
    /// A date-time widget that reads these formats and writes the first.
    pub fn new(formats: Vec<String>) -> Self {
        DateTimeWidget {
            formats,
            zone: Zone::Naive,
        }
    }

    /// Reads values without an offset as UTC, and writes values in UTC.
    pub fn in_utc(self) -> Self {
        self.in_zone(Zone::utc())
    }

    /// Reads values without an offset in `zone`, and writes values in `zone`.
    pub fn in_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    fn aware(&self, value: Value) -> Result<Value, WidgetError> {
        match value {
            Value::DateTime(dt) => match self.zone.localize(dt) {
                Some(instant) => instant.map(Value::DateTimeTz),
                None => Ok(Value::DateTime(dt)),
            },
            other => Ok(other),
        }
    }
}

impl Widget for DateTimeWidget {
    fn name(&self) -> &str {
        "datetime"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::DateTime
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let error = || {
            WidgetError::new(format!(
                "is not a date and time (expected {})",
                expected(&self.formats, "YYYY-MM-DD HH:MM:SS")
            ))
        };
        let value = match cell {
            Cell::Empty => Value::Null,
            Cell::DateTime(dt) => Value::DateTime(*dt),
            Cell::Date(d) => Value::DateTime(d.and_time(NaiveTime::MIN)),
            Cell::Int(_) | Cell::Float(_) => {
                from_serial(cell).map(Value::DateTime).ok_or_else(error)?
            }
            Cell::Text(s) if s.trim().is_empty() => Value::Null,
            Cell::Text(s) => {
                let s = s.trim();
                if self.formats.is_empty() {
                    parse::iso_datetime(s).ok_or_else(error)?
                } else {
                    self.formats
                        .iter()
                        .find_map(|f| {
                            DateTime::parse_from_str(s, f)
                                .map(Value::DateTimeTz)
                                .or_else(|_| {
                                    NaiveDateTime::parse_from_str(s, f).map(Value::DateTime)
                                })
                                .ok()
                        })
                        .ok_or_else(error)?
                }
            }
            _ => return Err(error()),
        };
        self.aware(value)
    }

    fn read_stored(&self, value: Value) -> Value {
        match value {
            Value::DateTime(dt) if self.zone != Zone::Naive => {
                Value::DateTimeTz(dt.and_utc().fixed_offset())
            }
            other => other,
        }
    }

    /// A value with a UTC offset is rendered as text that keeps the offset
    /// (`2021-03-04 12:30:00+02:00`): there is no typed cell for it. The XLSX and ODS
    /// writers recognise exactly that text and store the date and time it reads as in its
    /// own offset (12:30), since spreadsheets have no time zones; text formats keep the
    /// offset.
    fn render(&self, value: &Value) -> Cell {
        let first = self.formats.first();
        if self.zone != Zone::Naive {
            let instant = match value {
                Value::DateTimeTz(dt) => *dt,
                Value::DateTime(dt) => dt.and_utc().fixed_offset(),
                other => return render_plain(other),
            };
            let local = self.zone.wall_clock(&instant);
            return match first {
                Some(f) => Cell::Text(local.format(f).to_string()),
                None => Cell::DateTime(local),
            };
        }
        match value {
            Value::DateTime(dt) => match first {
                Some(f) => Cell::Text(dt.format(f).to_string()),
                None => Cell::DateTime(*dt),
            },
            Value::DateTimeTz(dt) => Cell::Text(match first {
                Some(f) => dt.format(f).to_string(),
                None => dt.format("%Y-%m-%d %H:%M:%S%.f%:z").to_string(),
            }),
            other => render_plain(other),
        }
    }

    fn describe(&self) -> String {
        let formats = describe_formats(&self.formats);
        match (self.zone, formats.is_empty()) {
            (Zone::Naive, _) => formats,
            (zone, true) => format!("in {zone}"),
            (zone, false) => format!("{formats}; in {zone}"),
        }
    }
}

/// Lengths of time (Django's `DurationField`, PostgreSQL's `interval`), read as Django's
/// `parse_duration` reads them — `1 day, 2:03:04`, `2:03:04`, ISO 8601 `P1DT2H`, PostgreSQL
/// `3 days 04:05:06` — and written as Python prints a `timedelta` (`1 day, 2:03:04`).
/// A number is seconds. A value that matches no form is refused (django-import-export
/// silently reads it as empty).
#[derive(Debug, Clone, Copy, Default)]
pub struct DurationWidget;

impl Widget for DurationWidget {
    fn name(&self) -> &str {
        "duration"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Duration
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let error = || {
            WidgetError::new(
                "is not a duration (expected [D day[s], ]HH:MM:SS[.ffffff] or ISO 8601 such as P1DT2H)",
            )
        };
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) => parse::duration(s).map(Value::Duration).ok_or_else(error),
            Cell::Int(i) => chrono::TimeDelta::try_seconds(*i)
                .map(Value::Duration)
                .ok_or_else(error),
            Cell::Float(f) => parse::duration(&f.to_string())
                .map(Value::Duration)
                .ok_or_else(error),
            Cell::Time(t) => Ok(Value::Duration(*t - NaiveTime::MIN)),
            _ => Err(error()),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::Duration(d) => Cell::Text(parse::format_duration(*d)),
            other => render_plain(other),
        }
    }
}

fn describe_formats(formats: &[String]) -> String {
    if formats.is_empty() {
        String::new()
    } else {
        format!("format {}", formats.join(" | "))
    }
}
