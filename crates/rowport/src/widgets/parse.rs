//! Parsing helpers shared by the widgets and by [`Value::coerce`](crate::Value::coerce).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
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
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
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

const MICROS_PER_SECOND: i128 = 1_000_000;
const MICROS_PER_DAY: i128 = 86_400 * MICROS_PER_SECOND;

/// A duration, in the forms Django's `parse_duration` reads:
///
/// - Python's own `str(timedelta)`: `1 day, 2:03:04`, `-1 day, 23:59:59.500000`, and its
///   shorter forms `2:03:04`, `03:04` (minutes and seconds), `4` (seconds);
/// - ISO 8601 with days, hours, minutes and seconds: `P1DT2H`, `PT1.5S`, `-P2D`;
/// - PostgreSQL's interval output: `3 days 04:05:06`, `1 day`, `-02:00:00`.
pub fn duration(raw: &str) -> Option<TimeDelta> {
    let s = raw.trim();
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let micros = if unsigned.starts_with(['P', 'p']) {
        let negative = s.starts_with('-');
        let m = iso_duration(&unsigned[1..])?;
        if negative {
            -m
        } else {
            m
        }
    } else {
        clock_duration(s)?
    };
    let millis = i64::try_from(micros.div_euclid(1000)).ok()?;
    let sub = i64::try_from(micros.rem_euclid(1000)).ok()?;
    TimeDelta::try_milliseconds(millis)?.checked_add(&TimeDelta::microseconds(sub))
}

/// `[D day[s][,] ][-]H:MM:SS[.ffffff]` and its shorter forms, in microseconds.
fn clock_duration(s: &str) -> Option<i128> {
    let (days, rest) = match s.split_once(' ') {
        Some((d, rest)) => {
            let days: i128 = d.parse().ok()?;
            let rest = rest.trim_start();
            let rest = ["days,", "day,", "days", "day"]
                .iter()
                .find_map(|w| rest.strip_prefix(w))
                .unwrap_or(rest)
                .trim_start();
            (days, rest)
        }
        None => (0, s),
    };
    if rest.is_empty() {
        // `3 days` alone (PostgreSQL); a bare number is seconds, handled below.
        return (s.contains(' ')).then_some(days * MICROS_PER_DAY);
    }
    let (negative, clock) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest.strip_prefix('+').unwrap_or(rest)),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() > 3 {
        return None;
    }
    let (whole, fraction) = parts[parts.len() - 1]
        .split_once(['.', ','])
        .map_or((parts[parts.len() - 1], None), |(w, f)| (w, Some(f)));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !parts[..parts.len() - 1].iter().all(|p| digits(p)) || !digits(whole) {
        return None;
    }
    // [[hours:]minutes:]seconds
    let mut seconds: i128 = 0;
    for part in &parts[..parts.len() - 1] {
        seconds = seconds * 60 + part.parse::<i128>().ok()?;
    }
    let seconds = seconds * 60 + whole.parse::<i128>().ok()?;
    let micros_fraction = match fraction {
        None => 0,
        Some(f) if digits(f) && f.len() <= 12 => {
            // Microseconds: the first six digits, padded on the right (Django's rule).
            let six: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
            six.parse::<i128>().ok()?
        }
        Some(_) => return None,
    };
    let clock = seconds * MICROS_PER_SECOND + micros_fraction;
    Some(days * MICROS_PER_DAY + if negative { -clock } else { clock })
}

/// The part of an ISO 8601 duration after `P`: `1DT2H3M4.5S`, in microseconds.
fn iso_duration(s: &str) -> Option<i128> {
    let (date, time) = match s.split_once(['T', 't']) {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (s, None),
    };
    let mut total: i128 = 0;
    let mut any = false;
    let mut take = |text: &str, units: &[(char, i128)]| -> Option<()> {
        let mut rest = text;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
            let (number, tail) = rest.split_at(end);
            let unit = tail.chars().next()?.to_ascii_uppercase();
            let position = units[next_unit..].iter().position(|(u, _)| *u == unit)?;
            let per_unit = units[next_unit + position].1;
            next_unit += position + 1;
            let number = number.replace(',', ".");
            let amount = Decimal::from_str(&number).ok()?;
            if amount.is_sign_negative() || number.starts_with(['+', '-']) {
                return None;
            }
            let micros = (amount * Decimal::from(per_unit as i64)).round();
            total += i128::try_from(micros).ok()?;
            any = true;
            rest = &tail[1..];
        }
        Some(())
    };
    take(date, &[('D', MICROS_PER_DAY)])?;
    if let Some(time) = time {
        take(
            time,
            &[
                ('H', 3600 * MICROS_PER_SECOND),
                ('M', 60 * MICROS_PER_SECOND),
                ('S', MICROS_PER_SECOND),
            ],
        )?;
    }
    any.then_some(total)
}

/// A duration as Python's `str(timedelta)` writes it, which is what django-import-export
/// exports: `1 day, 2:03:04`, `2 days, 0:00:00.500000`, `-1 day, 23:59:59`.
pub fn format_duration(d: TimeDelta) -> String {
    let micros =
        i128::from(d.num_seconds()) * MICROS_PER_SECOND + i128::from(d.subsec_nanos() / 1000);
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rest = micros.rem_euclid(MICROS_PER_DAY);
    let (h, rest) = (
        rest / (3600 * MICROS_PER_SECOND),
        rest % (3600 * MICROS_PER_SECOND),
    );
    let (m, rest) = (
        rest / (60 * MICROS_PER_SECOND),
        rest % (60 * MICROS_PER_SECOND),
    );
    let (s, us) = (rest / MICROS_PER_SECOND, rest % MICROS_PER_SECOND);
    let mut out = String::new();
    if days != 0 {
        let plural = if days.abs() == 1 { "" } else { "s" };
        out.push_str(&format!("{days} day{plural}, "));
    }
    out.push_str(&format!("{h}:{m:02}:{s:02}"));
    if us != 0 {
        out.push_str(&format!(".{us:06}"));
    }
    out
}

/// A UUID in any of the forms Python's `uuid.UUID` reads: hyphenated or not, any case,
/// in braces, or as a `urn:uuid:` URN.
pub fn uuid(raw: &str) -> Option<u128> {
    let s = raw.trim();
    let s = match s.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("urn:uuid:") => &s[9..],
        _ => s,
    };
    let s = s
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(s);
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// A UUID in its usual form: `123e4567-e89b-12d3-a456-426614174000`.
pub fn format_uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
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
