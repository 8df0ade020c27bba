//! Parsing helpers shared by the widgets and by [`Value::coerce`](crate::Value::coerce).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

use crate::value::Value;

/// Removes the grouping people put in numbers: spaces (including the no-break and narrow
/// no-break spaces that French and other locales group thousands with), and commas that
/// group thousands (`1,234,567`). A comma in any other place is left alone, so `1,5` is not
/// silently read as 15.
pub fn strip_grouping(raw: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{202f}');
    let spaced = |c: char| c == ' ' || c == '\u{a0}' || c == '\u{202f}' || c == '\u{2009}';
    let has_space = trimmed.contains(spaced);
    let has_comma = trimmed.contains(',');
    if !has_space && !has_comma {
        return std::borrow::Cow::Borrowed(trimmed);
    }
    let no_space: String = trimmed.chars().filter(|c| !spaced(*c)).collect();
    if has_comma && is_comma_grouped(&no_space) {
        std::borrow::Cow::Owned(no_space.replace(',', ""))
    } else {
        std::borrow::Cow::Owned(no_space)
    }
}

/// `1,234` or `-12,345,678.90`: commas every three digits of the integer part.
fn is_comma_grouped(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let int_part = s.split('.').next().unwrap_or("");
    let mut groups = int_part.split(',');
    let first = groups.next().unwrap_or("");
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut any = false;
    for g in groups {
        any = true;
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    any
}

/// An exact decimal from text: `12.34`, `-0.5`, `1e3`, with grouping stripped.
pub fn decimal(raw: &str) -> Option<Decimal> {
    let s = strip_grouping(raw);
    if s.is_empty() || s.contains(|c: char| c.is_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    Decimal::from_str(&s)
        .or_else(|_| Decimal::from_scientific(&s))
        .ok()
}

/// An ISO 8601 date: `2019-04-23`.
pub fn iso_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    match s.as_bytes() {
        // The common shape is read by hand: chrono's format-string parser costs a sixth of
        // an export (callgrind).
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] => NaiveDate::from_ymd_opt(
            digits(&[*y0, *y1, *y2, *y3])? as i32,
            digits(&[*m0, *m1])?,
            digits(&[*d0, *d1])?,
        ),
        _ => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
    }
}

/// The number written by ASCII digits, `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DD HH:MM:SS` or with `T`, without fraction or offset: the shape databases and
/// most files write, read without chrono's format-string parser.
fn plain_datetime(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 19 || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let date = iso_date(&s[..10])?;
    let time = NaiveTime::from_hms_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    )?;
    Some(date.and_time(time))
}

/// An ISO 8601 time: `12:30`, `12:30:00`, `12:30:00.25`.
pub fn iso_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

/// An ISO 8601 date and time, with `T` or a space, optional fraction, optional offset
/// (`Z`, `+02:00`). A value with an offset becomes [`Value::DateTimeTz`].
pub fn iso_datetime(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Some(dt) = plain_datetime(s) {
        return Some(Value::DateTime(dt));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(Value::DateTimeTz(dt));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(Value::DateTimeTz(dt));
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Value::DateTime(dt));
        }
    }
    None
}

/// Turns a strftime format into the pattern people read: `%Y-%m-%d` → `YYYY-MM-DD`.
pub fn human_format(fmt: &str) -> String {
    fmt.replace("%Y", "YYYY")
        .replace("%y", "YY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%H", "HH")
        .replace("%M", "MM")
        .replace("%S", "SS")
        .replace("%.f", "[.ffffff]")
        .replace("%f", "ffffff")
        .replace("%b", "Mon")
        .replace("%B", "Month")
        .replace("%z", "+HHMM")
        .replace("%:z", "+HH:MM")
        .replace("%p", "AM/PM")
        .replace("%I", "hh")
}
