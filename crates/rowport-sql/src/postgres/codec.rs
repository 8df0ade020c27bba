//! Values to and from PostgreSQL's binary format.
//!
//! Every value goes to the server as one of a few built-in types ([`Wire`]) that rowport
//! encodes itself — in `COPY … (FORMAT binary)` rows and in parameters — and each statement
//! casts it to the column's own type (`s.c0::integer`, `$1::text::book_status`). A batch
//! whose values do not all fit a column's natural wire type (text in an integer column, set
//! by a custom widget) sends that column as text, which the cast then parses, so PostgreSQL
//! itself decides what it accepts.
//!
//! Reading is the reverse: [`Received`] decodes any column the catalog maps to a
//! [`ValueKind`]; other types are selected as `::text`.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use postgres::types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};
use rust_decimal::Decimal;

use rowport::{Value, ValueKind};

type BoxError = Box<dyn Error + Sync + Send>;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A built-in type a value travels as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Wire {
    Int8,
    Numeric,
    Float8,
    Bool,
    Text,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Json,
    Jsonb,
}

/// A wire type, or an array of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct WireType {
    pub base: Wire,
    pub array: bool,
}

impl Wire {
    fn name(self) -> &'static str {
        match self {
            Wire::Int8 => "int8",
            Wire::Numeric => "numeric",
            Wire::Float8 => "float8",
            Wire::Bool => "bool",
            Wire::Text => "text",
            Wire::Date => "date",
            Wire::Time => "time",
            Wire::Timestamp => "timestamp",
            Wire::Timestamptz => "timestamptz",
            Wire::Interval => "interval",
            Wire::Uuid => "uuid",
            Wire::Json => "json",
            Wire::Jsonb => "jsonb",
        }
    }

    fn pg_type(self) -> Type {
        match self {
            Wire::Int8 => Type::INT8,
            Wire::Numeric => Type::NUMERIC,
            Wire::Float8 => Type::FLOAT8,
            Wire::Bool => Type::BOOL,
            Wire::Text => Type::TEXT,
            Wire::Date => Type::DATE,
            Wire::Time => Type::TIME,
            Wire::Timestamp => Type::TIMESTAMP,
            Wire::Timestamptz => Type::TIMESTAMPTZ,
            Wire::Interval => Type::INTERVAL,
            Wire::Uuid => Type::UUID,
            Wire::Json => Type::JSON,
            Wire::Jsonb => Type::JSONB,
        }
    }

    fn array_type(self) -> Type {
        match self {
            Wire::Int8 => Type::INT8_ARRAY,
            Wire::Numeric => Type::NUMERIC_ARRAY,
            Wire::Float8 => Type::FLOAT8_ARRAY,
            Wire::Bool => Type::BOOL_ARRAY,
            Wire::Text => Type::TEXT_ARRAY,
            Wire::Date => Type::DATE_ARRAY,
            Wire::Time => Type::TIME_ARRAY,
            Wire::Timestamp => Type::TIMESTAMP_ARRAY,
            Wire::Timestamptz => Type::TIMESTAMPTZ_ARRAY,
            Wire::Interval => Type::INTERVAL_ARRAY,
            Wire::Uuid => Type::UUID_ARRAY,
            Wire::Json => Type::JSON_ARRAY,
            Wire::Jsonb => Type::JSONB_ARRAY,
        }
    }

    /// Whether `value` is sent as this type as it is (null fits everything; text takes
    /// every scalar through its text form).
    fn fits(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (_, Value::Null)
                | (Wire::Int8, Value::Int(_) | Value::Bool(_))
                | (Wire::Numeric, Value::Decimal(_) | Value::Int(_))
                | (
                    Wire::Float8,
                    Value::Float(_) | Value::Int(_) | Value::Decimal(_)
                )
                | (Wire::Bool, Value::Bool(_))
                | (Wire::Date, Value::Date(_))
                | (Wire::Time, Value::Time(_))
                | (Wire::Timestamp, Value::DateTime(_) | Value::DateTimeTz(_))
                | (Wire::Timestamptz, Value::DateTimeTz(_) | Value::DateTime(_))
                | (Wire::Interval, Value::Duration(_))
                | (Wire::Uuid, Value::Uuid(_))
                | (Wire::Json | Wire::Jsonb, Value::Json(_))
        ) || self == Wire::Text
    }
}

impl WireType {
    /// A scalar wire type.
    pub fn scalar(base: Wire) -> WireType {
        WireType { base, array: false }
    }

    /// The SQL name, for casts: `int8`, `text[]`.
    pub fn sql(self) -> String {
        if self.array {
            format!("{}[]", self.base.name())
        } else {
            self.base.name().to_owned()
        }
    }

    /// The type `COPY` is told the column has.
    pub fn pg_type(self) -> Type {
        if self.array {
            self.base.array_type()
        } else {
            self.base.pg_type()
        }
    }

    /// Whether `value` can be sent as this type.
    pub fn fits(self, value: &Value) -> bool {
        match (self.array, value) {
            (_, Value::Null) => true,
            (true, Value::List(items)) => items.iter().all(|i| self.base.fits(i)),
            (true, _) => false,
            (false, v) => self.base.fits(v),
        }
    }

    /// The type a column's values are sent as in one batch: `natural` when every value
    /// fits it, else text (an array of text for lists), which the statement's cast parses.
    pub fn for_values<'a>(natural: WireType, values: impl Iterator<Item = &'a Value>) -> WireType {
        let text_array = WireType {
            base: Wire::Text,
            array: true,
        };
        let mut chosen = natural;
        for value in values {
            if chosen.fits(value) {
                continue;
            }
            if natural.array && chosen != text_array && text_array.fits(value) {
                chosen = text_array;
                continue;
            }
            return WireType::scalar(Wire::Text);
        }
        chosen
    }
}

/// The natural wire type of a column of `kind`.
pub(crate) fn natural_wire(kind: ValueKind, with_time_zone: bool, jsonb: bool) -> Wire {
    match kind {
        ValueKind::Int => Wire::Int8,
        ValueKind::Decimal => Wire::Numeric,
        ValueKind::Float => Wire::Float8,
        ValueKind::Bool => Wire::Bool,
        ValueKind::Date => Wire::Date,
        ValueKind::Time => Wire::Time,
        ValueKind::DateTime if with_time_zone => Wire::Timestamptz,
        ValueKind::DateTime => Wire::Timestamp,
        ValueKind::Duration => Wire::Interval,
        ValueKind::Uuid => Wire::Uuid,
        ValueKind::Json if jsonb => Wire::Jsonb,
        ValueKind::Json => Wire::Json,
        ValueKind::Text | ValueKind::List => Wire::Text,
    }
}

/// A value on its way to the server as `wire`.
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    pub wire: WireType,
    pub value: &'a Value,
}

impl ToSql for Outgoing<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match (self.wire.array, self.value) {
            (_, Value::Null) => Ok(IsNull::Yes),
            (true, Value::List(items)) => {
                encode_array(self.wire.base, items.iter(), out)?;
                Ok(IsNull::No)
            }
            (_, value) => encode(self.wire.base, value, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Several values sent as one array parameter (the keys of a lookup).
#[derive(Debug)]
pub(crate) struct SendArray<'a> {
    pub base: Wire,
    pub values: Vec<&'a Value>,
}

impl ToSql for SendArray<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        encode_array(self.base, self.values.iter().copied(), out)?;
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn encode_array<'a>(
    base: Wire,
    items: impl ExactSizeIterator<Item = &'a Value>,
    out: &mut BytesMut,
) -> Result<(), BoxError> {
    let len = i32::try_from(items.len())?;
    let oid = base.pg_type().oid();
    out.put_i32(i32::from(len > 0));
    let flags_at = out.len();
    out.put_i32(0);
    out.put_u32(oid);
    if len > 0 {
        out.put_i32(len);
        out.put_i32(1);
    }
    let mut has_null = false;
    for item in items {
        let len_at = out.len();
        out.put_i32(0);
        match encode(base, item, out)? {
            IsNull::Yes => {
                has_null = true;
                out[len_at..len_at + 4].copy_from_slice(&(-1i32).to_be_bytes());
            }
            IsNull::No => {
                let written = i32::try_from(out.len() - len_at - 4)?;
                out[len_at..len_at + 4].copy_from_slice(&written.to_be_bytes());
            }
        }
    }
    if has_null {
        out[flags_at..flags_at + 4].copy_from_slice(&1i32.to_be_bytes());
    }
    Ok(())
}

fn encode(wire: Wire, value: &Value, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match (wire, value) {
        (_, Value::Null) => return Ok(IsNull::Yes),
        (Wire::Int8, Value::Int(i)) => out.put_i64(*i),
        // As the SQLite store keeps a boolean in an integer column: 1 or 0.
        (Wire::Int8, Value::Bool(b)) => out.put_i64(i64::from(*b)),
        (Wire::Numeric, Value::Decimal(d)) => return d.to_sql(&Type::NUMERIC, out),
        (Wire::Numeric, Value::Int(i)) => return Decimal::from(*i).to_sql(&Type::NUMERIC, out),
        (Wire::Float8, Value::Float(f)) => out.put_f64(*f),
        (Wire::Float8, Value::Int(i)) => out.put_f64(*i as f64),
        (Wire::Float8, Value::Decimal(d)) => out.put_f64(d.to_string().parse()?),
        (Wire::Bool, Value::Bool(b)) => out.put_u8(u8::from(*b)),
        (Wire::Date, Value::Date(d)) => return d.to_sql(&Type::DATE, out),
        (Wire::Time, Value::Time(t)) => return t.to_sql(&Type::TIME, out),
        (Wire::Timestamp, Value::DateTime(dt)) => return dt.to_sql(&Type::TIMESTAMP, out),
        // An instant in a column without a zone is kept in UTC, as the SQLite store keeps it.
        (Wire::Timestamp, Value::DateTimeTz(dt)) => {
            return dt.naive_utc().to_sql(&Type::TIMESTAMP, out)
        }
        (Wire::Timestamptz, Value::DateTimeTz(dt)) => return dt.to_sql(&Type::TIMESTAMPTZ, out),
        // A naive value in an instant column is UTC, as the date-time widget reads it.
        (Wire::Timestamptz, Value::DateTime(dt)) => {
            return dt.and_utc().to_sql(&Type::TIMESTAMPTZ, out)
        }
        (Wire::Interval, Value::Duration(d)) => {
            let micros = d
                .num_microseconds()
                .ok_or("the duration is too long for PostgreSQL")?;
            // Whole days apart from the time, as PostgreSQL writes an interval itself.
            out.put_i64(micros % MICROS_PER_DAY);
            out.put_i32(i32::try_from(micros / MICROS_PER_DAY)?);
            out.put_i32(0);
        }
        (Wire::Uuid, Value::Uuid(u)) => out.put_u128(*u),
        (Wire::Json, Value::Json(j)) => return j.to_sql(&Type::JSON, out),
        (Wire::Jsonb, Value::Json(j)) => return j.to_sql(&Type::JSONB, out),
        (Wire::Text, v) => out.put_slice(text_of(v).as_bytes()),
        (wire, v) => {
            return Err(format!("{v} cannot be sent as {}", wire.name()).into());
        }
    }
    Ok(IsNull::No)
}

/// A value's text as PostgreSQL's input functions read it.
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        Value::List(items) => {
            let mut out = String::from("{");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match item {
                    Value::Null => out.push_str("NULL"),
                    other => {
                        out.push('"');
                        for c in text_of(other).chars() {
                            if c == '"' || c == '\\' {
                                out.push('\\');
                            }
                            out.push(c);
                        }
                        out.push('"');
                    }
                }
            }
            out.push('}');
            out
        }
        other => other.to_string(),
    }
}

/// A value read from the server, whatever the column's type.
#[derive(Debug)]
pub(crate) struct Received(pub Value);

impl<'a> FromSql<'a> for Received {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        decode(ty, raw).map(Received)
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, BoxError> {
        Ok(Received(Value::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Type OIDs of the built-in types decoded here (fixed by PostgreSQL).
mod oid {
    pub const BOOL: u32 = 16;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// Whether values of the built-in type `name` are decoded natively (other types are read
/// through their text form).
pub(crate) fn decodes_natively(name: &str) -> bool {
    matches!(
        name,
        "bool"
            | "name"
            | "int8"
            | "int2"
            | "int4"
            | "text"
            | "oid"
            | "json"
            | "float4"
            | "float8"
            | "bpchar"
            | "varchar"
            | "date"
            | "time"
            | "timestamp"
            | "timestamptz"
            | "interval"
            | "numeric"
            | "uuid"
            | "jsonb"
    )
}

fn decode(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    Ok(match ty.oid() {
        oid::BOOL => Value::Bool(bool::from_sql(&Type::BOOL, raw)?),
        oid::INT2 => Value::Int(i64::from(i16::from_sql(&Type::INT2, raw)?)),
        oid::INT4 => Value::Int(i64::from(i32::from_sql(&Type::INT4, raw)?)),
        oid::INT8 => Value::Int(i64::from_sql(&Type::INT8, raw)?),
        oid::OID => Value::Int(i64::from(u32::from_sql(&Type::OID, raw)?)),
        oid::NUMERIC => Value::Decimal(Decimal::from_sql(&Type::NUMERIC, raw)?),
        // The shortest decimal that round-trips the `real`: 0.1, not 0.10000000149011612.
        oid::FLOAT4 => Value::Float(f32::from_sql(&Type::FLOAT4, raw)?.to_string().parse()?),
        oid::FLOAT8 => Value::Float(f64::from_sql(&Type::FLOAT8, raw)?),
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN => {
            Value::Text(std::str::from_utf8(raw)?.to_owned())
        }
        oid::DATE => Value::Date(NaiveDate::from_sql(&Type::DATE, raw)?),
        oid::TIME => Value::Time(NaiveTime::from_sql(&Type::TIME, raw)?),
        oid::TIMESTAMP => Value::DateTime(NaiveDateTime::from_sql(&Type::TIMESTAMP, raw)?),
        oid::TIMESTAMPTZ => {
            Value::DateTimeTz(DateTime::<FixedOffset>::from_sql(&Type::TIMESTAMPTZ, raw)?)
        }
        oid::INTERVAL => Value::Duration(interval(raw)?),
        oid::UUID => {
            let bytes: [u8; 16] = raw.try_into()?;
            Value::Uuid(u128::from_be_bytes(bytes))
        }
        oid::JSON => Value::Json(serde_json::Value::from_sql(&Type::JSON, raw)?),
        oid::JSONB => Value::Json(serde_json::Value::from_sql(&Type::JSONB, raw)?),
        _ => match ty.kind() {
            Kind::Enum(_) => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            Kind::Domain(base) => decode(base, raw)?,
            Kind::Array(item) => Value::List(array(item, raw)?),
            _ => Value::Text(std::str::from_utf8(raw)?.to_owned()),
        },
    })
}

/// An interval as a length of time; a month counts 30 days, as psycopg converts it.
fn interval(raw: &[u8]) -> Result<TimeDelta, BoxError> {
    if raw.len() != 16 {
        return Err("an interval is 16 bytes".into());
    }
    let micros = i64::from_be_bytes(raw[0..8].try_into()?);
    let days = i64::from(i32::from_be_bytes(raw[8..12].try_into()?));
    let months = i64::from(i32::from_be_bytes(raw[12..16].try_into()?));
    let total = i128::from(micros)
        + i128::from(days) * i128::from(MICROS_PER_DAY)
        + i128::from(months) * 30 * i128::from(MICROS_PER_DAY);
    let total = i64::try_from(total)?;
    Ok(TimeDelta::microseconds(total))
}

/// The items of an array (of any number of dimensions, flattened).
fn array(item: &Type, raw: &[u8]) -> Result<Vec<Value>, BoxError> {
    let mut at = 0usize;
    let next_i32 = |at: &mut usize| -> Result<i32, BoxError> {
        let bytes = raw.get(*at..*at + 4).ok_or("the array is cut short")?;
        *at += 4;
        Ok(i32::from_be_bytes(bytes.try_into()?))
    };
    let dimensions = next_i32(&mut at)?;
    let _has_null = next_i32(&mut at)?;
    let _item_oid = next_i32(&mut at)?;
    let mut count: usize = if dimensions == 0 { 0 } else { 1 };
    for _ in 0..dimensions {
        count *= usize::try_from(next_i32(&mut at)?)?;
        let _lower_bound = next_i32(&mut at)?;
    }
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let len = next_i32(&mut at)?;
        if len < 0 {
            items.push(Value::Null);
            continue;
        }
        let len = usize::try_from(len)?;
        let bytes = raw.get(at..at + len).ok_or("the array is cut short")?;
        at += len;
        items.push(decode(item, bytes)?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(wire: WireType, ty: &Type, value: Value) -> Value {
        let mut out = BytesMut::new();
        let send = Outgoing {
            wire,
            value: &value,
        };
        assert!(matches!(send.to_sql(ty, &mut out).unwrap(), IsNull::No));
        Received::from_sql(ty, &out).unwrap().0
    }

    #[test]
    fn values_survive_their_wire_types() {
        let d = |s: &str| Value::Decimal(s.parse().unwrap());
        assert_eq!(
            round_trip(WireType::scalar(Wire::Numeric), &Type::NUMERIC, d("12.30")).to_string(),
            "12.30"
        );
        let duration = Value::Duration(TimeDelta::days(-1) + TimeDelta::microseconds(5));
        assert_eq!(
            round_trip(
                WireType::scalar(Wire::Interval),
                &Type::INTERVAL,
                duration.clone()
            ),
            duration
        );
        let uuid = Value::Uuid(0x123e4567_e89b_12d3_a456_426614174000);
        assert_eq!(
            round_trip(WireType::scalar(Wire::Uuid), &Type::UUID, uuid.clone()),
            uuid
        );
        let list = Value::List(vec![Value::Int(1), Value::Null, Value::Int(3)]);
        assert_eq!(
            round_trip(
                WireType {
                    base: Wire::Int8,
                    array: true
                },
                &Type::INT8_ARRAY,
                list.clone()
            ),
            list
        );
        let empty = Value::List(Vec::new());
        assert_eq!(
            round_trip(
                WireType {
                    base: Wire::Text,
                    array: true
                },
                &Type::TEXT_ARRAY,
                empty.clone()
            ),
            empty
        );
    }

    #[test]
    fn values_of_another_kind_are_stored_as_the_sqlite_store_stores_them() {
        // A boolean in an integer column is 1 or 0.
        assert_eq!(
            round_trip(WireType::scalar(Wire::Int8), &Type::INT8, Value::Bool(true)),
            Value::Int(1)
        );
        // An instant in a column without a zone is kept in UTC.
        let instant = chrono::DateTime::parse_from_rfc3339("2021-03-04T14:30:00+02:00").unwrap();
        assert_eq!(
            round_trip(
                WireType::scalar(Wire::Timestamp),
                &Type::TIMESTAMP,
                Value::DateTimeTz(instant)
            )
            .to_string(),
            "2021-03-04 12:30:00"
        );
    }

    #[test]
    fn a_batch_falls_back_to_text_when_a_value_does_not_fit() {
        let int = WireType::scalar(Wire::Int8);
        let values = [Value::Int(1), Value::Null];
        assert_eq!(WireType::for_values(int, values.iter()), int);
        let values = [Value::Int(1), Value::from("2")];
        assert_eq!(
            WireType::for_values(int, values.iter()),
            WireType::scalar(Wire::Text)
        );
        let ints = WireType {
            base: Wire::Int8,
            array: true,
        };
        let lists = [Value::List(vec![Value::from("1")])];
        assert_eq!(
            WireType::for_values(ints, lists.iter()),
            WireType {
                base: Wire::Text,
                array: true
            }
        );
        let literal = [Value::from("{1,2}")];
        assert_eq!(
            WireType::for_values(ints, literal.iter()),
            WireType::scalar(Wire::Text)
        );
    }

    #[test]
    fn lists_become_array_literals_in_text() {
        let list = Value::List(vec![Value::from("a \"b\""), Value::Null, Value::Int(3)]);
        assert_eq!(text_of(&list), r#"{"a \"b\"",NULL,"3"}"#);
    }
}
