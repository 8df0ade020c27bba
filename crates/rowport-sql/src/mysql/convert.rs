//! Values between rowport and the MySQL wire protocol.
//!
//! Writes bind temporal values, decimals and JSON as text, which the server parses by the
//! column's type under the strict SQL mode the session runs in: a value that does not fit
//! is an error, never a silent truncation. Reads use the binary protocol's typed values
//! and convert them to the kind the caller asked for.

use ::mysql::Value as MyValue;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use rowport::{Value, ValueKind};

/// The value bound for a parameter.
pub(super) fn bind(value: &Value) -> MyValue {
    match value {
        Value::Null => MyValue::NULL,
        Value::Bool(b) => MyValue::Int(i64::from(*b)),
        Value::Int(i) => MyValue::Int(*i),
        Value::Float(f) => MyValue::Double(*f),
        Value::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
        Value::DateTimeTz(dt) => MyValue::Bytes(
            dt.naive_utc()
                .format("%Y-%m-%d %H:%M:%S%.f")
                .to_string()
                .into_bytes(),
        ),
        // As Django keeps them on MySQL: a duration as whole microseconds (a BIGINT
        // column), a UUID as 32 hexadecimal digits (CHAR(32); MariaDB's UUID type reads
        // that too).
        Value::Duration(d) => match d.num_microseconds() {
            Some(us) => MyValue::Int(us),
            None => MyValue::Bytes(value.to_string().into_bytes()),
        },
        Value::Uuid(u) => MyValue::Bytes(format!("{u:032x}").into_bytes()),
        Value::List(items) => MyValue::Bytes(
            serde_json::Value::Array(
                items
                    .iter()
                    .map(|v| serde_json::Value::String(v.to_string()))
                    .collect(),
            )
            .to_string()
            .into_bytes(),
        ),
        other => MyValue::Bytes(other.to_string().into_bytes()),
    }
}

/// About how many bytes a value takes in an execute packet (for chunking under
/// `max_allowed_packet`).
pub(super) fn size(value: &Value) -> usize {
    // Type bytes, the null bitmap and length prefixes are covered by the constant.
    12 + match value {
        Value::Text(s) => s.len(),
        Value::Json(j) => j.to_string().len(),
        Value::List(items) => items.iter().map(|v| v.to_string().len() + 4).sum(),
        Value::Decimal(_) => 32,
        _ => 8,
    }
}

/// A value read from the server, converted to `kind`.
pub(super) fn read(value: MyValue, kind: ValueKind) -> Value {
    let raw = match value {
        MyValue::NULL => Value::Null,
        MyValue::Int(i) => Value::Int(i),
        MyValue::UInt(u) => match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Text(u.to_string()),
        },
        // A FLOAT column holds an f32: its shortest decimal form is what was written.
        MyValue::Float(f) => Value::Float(f.to_string().parse().unwrap_or(f64::from(f))),
        MyValue::Double(d) => Value::Float(d),
        MyValue::Bytes(bytes) => {
            // BIT(1) arrives as one raw byte.
            if kind == ValueKind::Bool && bytes.len() == 1 && bytes[0] <= 1 {
                return Value::Bool(bytes[0] == 1);
            }
            match String::from_utf8(bytes) {
                Ok(s) => Value::Text(s),
                Err(e) => Value::Text(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            }
        }
        MyValue::Date(y, mo, d, h, mi, s, us) => {
            // A zero date ('0000-00-00', allowed by lax servers) is no date.
            let Some(date) = NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))
            else {
                return Value::Null;
            };
            if kind == ValueKind::Date {
                Value::Date(date)
            } else {
                match NaiveTime::from_hms_micro_opt(u32::from(h), u32::from(mi), u32::from(s), us) {
                    Some(time) => Value::DateTime(NaiveDateTime::new(date, time)),
                    None => Value::Date(date),
                }
            }
        }
        MyValue::Time(negative, days, h, mi, s, us) => {
            let time = (!negative && days == 0)
                .then(|| {
                    NaiveTime::from_hms_micro_opt(u32::from(h), u32::from(mi), u32::from(s), us)
                })
                .flatten();
            match time {
                Some(t) => Value::Time(t),
                // A MySQL TIME is a duration up to 838 hours; beyond a day it stays text.
                None => {
                    let hours = u64::from(days) * 24 + u64::from(h);
                    let sign = if negative { "-" } else { "" };
                    let fraction = if us > 0 {
                        format!(".{us:06}")
                    } else {
                        String::new()
                    };
                    Value::Text(format!("{sign}{hours:02}:{mi:02}:{s:02}{fraction}"))
                }
            }
        }
    };
    raw.coerce(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_wire_values_convert_to_the_asked_kind() {
        assert_eq!(read(MyValue::Int(1), ValueKind::Bool), Value::Bool(true));
        assert_eq!(
            read(MyValue::Bytes(b"12.30".to_vec()), ValueKind::Decimal).to_string(),
            "12.30"
        );
        assert_eq!(
            read(MyValue::Float(0.1), ValueKind::Float),
            Value::Float(0.1)
        );
        assert_eq!(
            read(MyValue::Date(2021, 3, 4, 12, 30, 0, 0), ValueKind::DateTime).to_string(),
            "2021-03-04 12:30:00"
        );
        assert_eq!(
            read(MyValue::Date(2021, 3, 4, 0, 0, 0, 0), ValueKind::Date).to_string(),
            "2021-03-04"
        );
        assert_eq!(
            read(MyValue::Date(0, 0, 0, 0, 0, 0, 0), ValueKind::Date),
            Value::Null
        );
        assert_eq!(
            read(MyValue::Time(false, 0, 9, 5, 0, 0), ValueKind::Time).to_string(),
            "09:05:00"
        );
        assert_eq!(
            read(MyValue::Time(true, 1, 2, 3, 4, 0), ValueKind::Time),
            Value::Text("-26:03:04".into())
        );
        assert_eq!(
            read(MyValue::Bytes(vec![1]), ValueKind::Bool),
            Value::Bool(true)
        );
        assert_eq!(
            read(MyValue::UInt(u64::MAX), ValueKind::Int),
            Value::Text(u64::MAX.to_string())
        );
    }

    #[test]
    fn values_bind_as_the_server_parses_them() {
        assert_eq!(bind(&Value::Bool(true)), MyValue::Int(1));
        assert_eq!(
            bind(&Value::Decimal("0.10".parse().unwrap())),
            MyValue::Bytes(b"0.10".to_vec())
        );
        let date = NaiveDate::from_ymd_opt(2021, 3, 4).unwrap();
        assert_eq!(
            bind(&Value::Date(date)),
            MyValue::Bytes(b"2021-03-04".to_vec())
        );
        assert_eq!(
            bind(&Value::Duration(chrono::TimeDelta::seconds(90))),
            MyValue::Int(90_000_000)
        );
        assert_eq!(
            bind(&Value::Uuid(0x123e4567_e89b_12d3_a456_426655440000)),
            MyValue::Bytes(b"123e4567e89b12d3a456426655440000".to_vec())
        );
        assert_eq!(
            bind(&Value::List(vec![Value::Int(1), Value::Text("a".into())])),
            MyValue::Bytes(br#"["1","a"]"#.to_vec())
        );
    }
}
