//! [`Value`]: a typed cell after a widget has cleaned it, and what stores read and write.

use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use rust_decimal::Decimal;

/// A typed value: what a widget makes of a cell, what a store writes to a column.
///
/// Decimals are exact ([`rust_decimal::Decimal`]); money never passes through a float.
/// Values compare and hash by content, so they can serve as import-id keys; two decimals
/// that differ only in scale (`1.5` and `1.50`) are equal.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// No value (SQL `NULL`).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// An exact decimal.
    Decimal(Decimal),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A time of day.
    Time(NaiveTime),
    /// A date and time without a zone.
    DateTime(NaiveDateTime),
    /// A date and time with a UTC offset.
    DateTimeTz(DateTime<FixedOffset>),
    /// A length of time (PostgreSQL `interval`, Django's `DurationField`).
    Duration(TimeDelta),
    /// A UUID, as its 128 bits (so `ABC…` and `abc…` are the same value).
    Uuid(u128),
    /// A JSON document.
    Json(serde_json::Value),
    /// Several values: the targets of a many-to-many field.
    List(Vec<Value>),
}

/// The kind of a [`Value`], without its content: what a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ValueKind {
    /// [`Value::Bool`]
    Bool,
    /// [`Value::Int`]
    Int,
    /// [`Value::Decimal`]
    Decimal,
    /// [`Value::Float`]
    Float,
    /// [`Value::Text`]
    #[default]
    Text,
    /// [`Value::Date`]
    Date,
    /// [`Value::Time`]
    Time,
    /// [`Value::DateTime`] or [`Value::DateTimeTz`]
    DateTime,
    /// [`Value::Duration`]
    Duration,
    /// [`Value::Uuid`]
    Uuid,
    /// [`Value::Json`]
    Json,
    /// [`Value::List`]
    List,
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value's kind, `None` for null.
    pub fn kind(&self) -> Option<ValueKind> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ValueKind::Bool,
            Value::Int(_) => ValueKind::Int,
            Value::Decimal(_) => ValueKind::Decimal,
            Value::Float(_) => ValueKind::Float,
            Value::Text(_) => ValueKind::Text,
            Value::Date(_) => ValueKind::Date,
            Value::Time(_) => ValueKind::Time,
            Value::DateTime(_) | Value::DateTimeTz(_) => ValueKind::DateTime,
            Value::Duration(_) => ValueKind::Duration,
            Value::Uuid(_) => ValueKind::Uuid,
            Value::Json(_) => ValueKind::Json,
            Value::List(_) => ValueKind::List,
        })
    }

    /// The text of a [`Value::Text`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Converts a value read back from a store into `kind`, so that it compares equal to
    /// the value a widget cleaned from a file. Stores with loose typing (SQLite keeps a
    /// decimal as REAL, a date as TEXT) need this; a value that does not convert is
    /// returned unchanged, and then compares unequal, which is the safe direction (an
    /// update, never a wrong skip).
    pub fn coerce(self, kind: ValueKind) -> Value {
        use crate::widgets::parse;
        match (kind, self) {
            (_, Value::Null) => Value::Null,
            (ValueKind::Bool, Value::Int(i)) => Value::Bool(i != 0),
            (ValueKind::Int, Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::Int(f as i64)
            }
            (ValueKind::Int, Value::Text(s)) => {
                s.trim().parse().map(Value::Int).unwrap_or(Value::Text(s))
            }
            (ValueKind::Decimal, Value::Int(i)) => Value::Decimal(Decimal::from(i)),
            (ValueKind::Decimal, Value::Float(f)) => {
                // The shortest decimal that round-trips the float: 12.34, not 12.339999…
                parse::decimal(&f.to_string())
                    .map(Value::Decimal)
                    .unwrap_or(Value::Float(f))
            }
            (ValueKind::Decimal, Value::Text(s)) => parse::decimal(&s)
                .map(Value::Decimal)
                .unwrap_or(Value::Text(s)),
            (ValueKind::Float, Value::Int(i)) => Value::Float(i as f64),
            (ValueKind::Float, Value::Decimal(d)) => {
                Value::Float(d.to_string().parse().unwrap_or(f64::NAN))
            }
            (ValueKind::Date, Value::Text(s)) => parse::iso_date(&s)
                .map(Value::Date)
                .unwrap_or(Value::Text(s)),
            (ValueKind::Time, Value::Text(s)) => parse::iso_time(&s)
                .map(Value::Time)
                .unwrap_or(Value::Text(s)),
            (ValueKind::DateTime, Value::Text(s)) => {
                parse::iso_datetime(&s).unwrap_or(Value::Text(s))
            }
            (ValueKind::Json, Value::Text(s)) => serde_json::from_str(&s)
                .map(Value::Json)
                .unwrap_or(Value::Text(s)),
            // Django keeps a duration as whole microseconds where the database has no
            // interval type (SQLite, MySQL).
            (ValueKind::Duration, Value::Int(us)) => Value::Duration(TimeDelta::microseconds(us)),
            (ValueKind::Duration, Value::Text(s)) => parse::duration(&s)
                .map(Value::Duration)
                .unwrap_or(Value::Text(s)),
            (ValueKind::Uuid, Value::Text(s)) => {
                parse::uuid(&s).map(Value::Uuid).unwrap_or(Value::Text(s))
            }
            // A list kept as a JSON array (how the SQLite store writes one).
            (ValueKind::List, Value::Text(s)) => match serde_json::from_str(&s) {
                Ok(serde_json::Value::Array(items)) => {
                    Value::List(items.into_iter().map(Value::from_json_item).collect())
                }
                _ => Value::Text(s),
            },
            (ValueKind::Text, Value::Int(i)) => Value::Text(i.to_string()),
            (_, v) => v,
        }
    }
}

impl Value {
    /// A scalar of a JSON array as a value: strings as text, numbers as integers or floats.
    fn from_json_item(item: serde_json::Value) -> Value {
        match item {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::String(s) => Value::Text(s),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            other => Value::Json(other),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Decimal(a), Decimal(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits() || a == b,
            (Text(a), Text(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (DateTime(a), DateTime(b)) => a == b,
            (DateTimeTz(a), DateTimeTz(b)) => a == b,
            (Duration(a), Duration(b)) => a == b,
            (Uuid(a), Uuid(b)) => a == b,
            (Json(a), Json(b)) => a == b,
            (List(a), List(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Decimal(d) => d.normalize().hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Text(s) => s.hash(state),
            Value::Date(d) => d.hash(state),
            Value::Time(t) => t.hash(state),
            Value::DateTime(dt) => dt.hash(state),
            Value::DateTimeTz(dt) => dt.hash(state),
            Value::Duration(d) => d.hash(state),
            Value::Uuid(u) => u.hash(state),
            Value::Json(j) => j.to_string().hash(state),
            Value::List(items) => items.hash(state),
        }
    }
}

/// Formats a value the way rowport writes it to text files and messages: ISO 8601 dates,
/// decimals as written, durations as Python prints them (`1 day, 2:03:04`), UUIDs in the
/// hyphenated lower-case form, an empty string for null, list items joined by `, `.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::Time(t) => write!(f, "{}", t.format("%H:%M:%S%.f")),
            Value::DateTime(dt) => write!(f, "{}", dt.format("%Y-%m-%d %H:%M:%S%.f")),
            Value::DateTimeTz(dt) => write!(f, "{}", dt.format("%Y-%m-%d %H:%M:%S%.f%:z")),
            Value::Duration(d) => f.write_str(&crate::widgets::parse::format_duration(*d)),
            Value::Uuid(u) => f.write_str(&crate::widgets::parse::format_uuid(*u)),
            Value::Json(j) => write!(f, "{j}"),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Decimal> for Value {
    fn from(d: Decimal) -> Self {
        Value::Decimal(d)
    }
}

impl From<NaiveDate> for Value {
    fn from(d: NaiveDate) -> Self {
        Value::Date(d)
    }
}
