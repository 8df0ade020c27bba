//! Number widgets: integer, exact decimal, float.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::{parse, render_plain, Widget, WidgetError};
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

/// Whole numbers. Empty or whitespace-only cells are null; `0` is not empty. Grouping
/// spaces and thousands commas are ignored (`1 234`, `1,234`). A fraction is an error rather
/// than truncated (`1.5` is refused; `2.0` is 2).
#[derive(Debug, Clone, Copy, Default)]
pub struct IntegerWidget;

impl Widget for IntegerWidget {
    fn name(&self) -> &str {
        "integer"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Int
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let not_whole = || WidgetError::new("is not a whole number");
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Int(i) => Ok(Value::Int(*i)),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::Int(*f as i64)),
            Cell::Bool(_) | Cell::Float(_) | Cell::Date(_) | Cell::Time(_) | Cell::DateTime(_) => {
                Err(not_whole())
            }
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) | Cell::Decimal(s) => {
                let stripped = parse::strip_grouping(s);
                if let Ok(i) = stripped.parse::<i64>() {
                    return Ok(Value::Int(i));
                }
                let d = parse::decimal(s).ok_or_else(not_whole)?;
                if d.fract().is_zero() {
                    d.to_i64()
                        .map(Value::Int)
                        .ok_or_else(|| WidgetError::new("is too large for a whole number column"))
                } else {
                    Err(not_whole())
                }
            }
        }
    }

    fn render(&self, value: &Value) -> Cell {
        render_plain(value)
    }
}

/// Exact decimals, for money and every `NUMERIC`/`DECIMAL` column: `12.34` stays 12.34.
/// Grouping as for [`IntegerWidget`]; scientific notation (`1e3`) is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecimalWidget;

impl Widget for DecimalWidget {
    fn name(&self) -> &str {
        "decimal"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Decimal
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let not_number = || WidgetError::new("is not a number");
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Int(i) => Ok(Value::Decimal(Decimal::from(*i))),
            Cell::Float(f) if f.is_finite() => parse::decimal(&f.to_string())
                .map(Value::Decimal)
                .ok_or_else(not_number),
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) | Cell::Decimal(s) => {
                parse::decimal(s).map(Value::Decimal).ok_or_else(not_number)
            }
            _ => Err(not_number()),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::Decimal(d) => Cell::Decimal(d.to_string()),
            other => render_plain(other),
        }
    }
}

/// Floating-point numbers, for `REAL`/`DOUBLE` columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct FloatWidget;

impl Widget for FloatWidget {
    fn name(&self) -> &str {
        "float"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Float
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let not_number = || WidgetError::new("is not a number");
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Int(i) => Ok(Value::Float(*i as f64)),
            Cell::Float(f) => Ok(Value::Float(*f)),
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) => {
                let stripped = parse::strip_grouping(s);
                match stripped.parse::<f64>() {
                    Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                    _ => Err(not_number()),
                }
            }
            _ => Err(not_number()),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        render_plain(value)
    }
}
