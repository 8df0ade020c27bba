//! Number widgets: integer, exact decimal, float, and the separators they read.

use std::borrow::Cow;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::{parse, render_plain, Widget, WidgetError};
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

/// How numbers are written in a file's text cells: the decimal separator and the
/// thousands separator. Typed spreadsheet cells are numbers already and ignore it.
///
/// By default (`.` for decimals, no thousands separator named) grouping spaces — plain,
/// no-break and narrow no-break, as French and other locales write `1 234` — and commas
/// every three digits (`1,234,567.5`) are ignored, and a comma anywhere else is refused, so
/// `1,5` is never silently read as 15. With `decimal = ','`, dots every three digits group
/// thousands instead (`1.234,5`). Naming a thousands separator removes exactly that one
/// (and the spaces) wherever it appears.
///
/// ```
/// use rowport::widgets::{DecimalWidget, NumberFormat, Widget};
/// use rowport::{Cell, Value};
///
/// let german = DecimalWidget::with_format(NumberFormat::new(',', Some('.')));
/// let value = german.clean(&Cell::Text("1.234,50".into())).unwrap();
/// assert_eq!(value.to_string(), "1234.50");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    /// The decimal separator (default `.`).
    pub decimal: char,
    /// The thousands separator; `None` ignores spaces and groups of three digits split by
    /// the other of `,` and `.`.
    pub thousands: Option<char>,
}

impl Default for NumberFormat {
    fn default() -> Self {
        NumberFormat {
            decimal: '.',
            thousands: None,
        }
    }
}

impl NumberFormat {
    /// Numbers written with `decimal` and, when given, `thousands`.
    pub fn new(decimal: char, thousands: Option<char>) -> Self {
        NumberFormat { decimal, thousands }
    }

    /// The text with grouping removed and `.` as the decimal separator.
    pub fn normalize<'a>(&self, raw: &'a str) -> Cow<'a, str> {
        if *self == NumberFormat::default() {
            return parse::strip_grouping(raw);
        }
        let spaced = |c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}';
        let mut s: String = raw.chars().filter(|c| !spaced(*c)).collect();
        match self.thousands {
            Some(t) => s.retain(|c| c != t),
            None => {
                let group = if self.decimal == ',' { '.' } else { ',' };
                if is_grouped(&s, group, self.decimal) {
                    s.retain(|c| c != group);
                }
            }
        }
        if self.decimal != '.' {
            // A dot that is left is not this format's decimal point: refuse it rather than
            // read `1.5` as one and a half in a file that writes `1,5`.
            if s.contains('.') {
                return Cow::Owned(String::from("x"));
            }
            s = s.replace(self.decimal, ".");
        }
        Cow::Owned(s)
    }

    fn describe(&self) -> String {
        if *self == NumberFormat::default() {
            return String::new();
        }
        match self.thousands {
            Some(t) => format!("decimal \"{}\", thousands \"{t}\"", self.decimal),
            None => format!("decimal \"{}\"", self.decimal),
        }
    }
}

/// Groups of three digits split by `group` in the integer part (before `decimal`).
fn is_grouped(s: &str, group: char, decimal: char) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let int_part = s.split(decimal).next().unwrap_or("");
    let mut groups = int_part.split(group);
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

/// Whole numbers. Empty or whitespace-only cells are null; `0` is not empty. Grouping is
/// read as [`NumberFormat`] says. A fraction is an error rather than truncated (`1.5` is
/// refused; `2.0` is 2) unless `truncate` is set, which drops it as django-import-export
/// does (`1.5` → 1, `-1.5` → -1).
#[derive(Debug, Clone, Copy, Default)]
pub struct IntegerWidget {
    /// Separators of text cells.
    pub format: NumberFormat,
    /// Drop a fraction instead of refusing the value.
    pub truncate: bool,
}

impl IntegerWidget {
    /// An integer widget reading numbers written as `format` says.
    pub fn with_format(format: NumberFormat) -> Self {
        IntegerWidget {
            format,
            truncate: false,
        }
    }

    /// Drops fractions (`1.5` → 1) instead of refusing them.
    pub fn truncating(mut self) -> Self {
        self.truncate = true;
        self
    }

    fn whole(&self, d: Decimal) -> Result<Value, WidgetError> {
        let d = if self.truncate { d.trunc() } else { d };
        if !d.fract().is_zero() {
            return Err(WidgetError::new("is not a whole number"));
        }
        d.to_i64()
            .map(Value::Int)
            .ok_or_else(|| WidgetError::new("is too large for a whole number column"))
    }
}

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
            Cell::Float(f) if f.is_finite() && f.abs() < 9.0e15 => {
                if f.fract() == 0.0 {
                    Ok(Value::Int(*f as i64))
                } else {
                    Decimal::try_from(*f)
                        .map_err(|_| not_whole())
                        .and_then(|d| self.whole(d))
                }
            }
            Cell::Bool(_) | Cell::Float(_) | Cell::Date(_) | Cell::Time(_) | Cell::DateTime(_) => {
                Err(not_whole())
            }
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Decimal(s) => parse::decimal(s)
                .ok_or_else(not_whole)
                .and_then(|d| self.whole(d)),
            Cell::Text(s) => {
                let normalized = self.format.normalize(s);
                if let Ok(i) = normalized.parse::<i64>() {
                    return Ok(Value::Int(i));
                }
                let d = parse::decimal(&normalized).ok_or_else(not_whole)?;
                self.whole(d)
            }
        }
    }

    fn render(&self, value: &Value) -> Cell {
        render_plain(value)
    }

    fn describe(&self) -> String {
        let format = self.format.describe();
        match (self.truncate, format.is_empty()) {
            (false, _) => format,
            (true, true) => "truncate".to_owned(),
            (true, false) => format!("{format}; truncate"),
        }
    }
}

/// Exact decimals, for money and every `NUMERIC`/`DECIMAL` column: `12.34` stays 12.34.
/// Grouping is read as [`NumberFormat`] says; scientific notation (`1e3`) is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecimalWidget {
    /// Separators of text cells.
    pub format: NumberFormat,
}

impl DecimalWidget {
    /// A decimal widget reading numbers written as `format` says.
    pub fn with_format(format: NumberFormat) -> Self {
        DecimalWidget { format }
    }
}

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
            // A spreadsheet's decimal is digits with a dot, whatever the format says.
            Cell::Decimal(s) => parse::decimal(s).map(Value::Decimal).ok_or_else(not_number),
            Cell::Text(s) => parse::decimal(&self.format.normalize(s))
                .map(Value::Decimal)
                .ok_or_else(not_number),
            _ => Err(not_number()),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::Decimal(d) => Cell::Decimal(d.to_string()),
            other => render_plain(other),
        }
    }

    fn describe(&self) -> String {
        self.format.describe()
    }
}

/// Floating-point numbers, for `REAL`/`DOUBLE` columns. Grouping is read as
/// [`NumberFormat`] says.
#[derive(Debug, Clone, Copy, Default)]
pub struct FloatWidget {
    /// Separators of text cells.
    pub format: NumberFormat,
}

impl FloatWidget {
    /// A float widget reading numbers written as `format` says.
    pub fn with_format(format: NumberFormat) -> Self {
        FloatWidget { format }
    }
}

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
            Cell::Text(s) | Cell::Decimal(s) => {
                let normalized = match cell {
                    Cell::Decimal(_) => Cow::Borrowed(s.as_str()),
                    _ => self.format.normalize(s),
                };
                match normalized.parse::<f64>() {
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

    fn describe(&self) -> String {
        self.format.describe()
    }
}
