use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// One cell as a file holds it, before any widget has cleaned it.
///
/// CSV, TSV and HTML yield only [`Cell::Text`] and [`Cell::Empty`]; typed formats (JSON,
/// JSON Lines, YAML and spreadsheets) keep the type the file gave the cell, so that a widget
/// can tell the number `66` from the text `"066"`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    /// No value: an empty CSV field, a JSON `null`, an empty spreadsheet cell.
    #[default]
    Empty,
    /// Text, exactly as written.
    Text(String),
    /// A whole number the file typed as a number.
    Int(i64),
    /// A number with a fraction, or one too large for `i64`.
    Float(f64),
    /// An exact decimal number as its digits (`8.99`, `-12.50`), as a database's
    /// `decimal(10, 2)` holds it. Text formats write the digits unchanged; spreadsheets store
    /// a number shown with as many decimal places as the digits have.
    Decimal(String),
    /// A boolean the file typed as one.
    Bool(bool),
    /// A date cell.
    Date(NaiveDate),
    /// A time-of-day cell.
    Time(NaiveTime),
    /// A date-and-time cell (spreadsheets carry no time zone).
    DateTime(NaiveDateTime),
}

impl Cell {
    /// True for [`Cell::Empty`] and for text that is empty.
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.is_empty(),
            _ => false,
        }
    }

    /// The text of a [`Cell::Text`], `None` for any other cell.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Sets this cell to `text`, reusing the cell's string buffer when it already holds text.
    pub fn set_text(&mut self, text: &str) {
        match self {
            Cell::Text(s) => {
                s.clear();
                s.push_str(text);
            }
            other => *other = Cell::Text(text.to_owned()),
        }
    }
}

/// Formats a cell as a person would read it in a CSV file: empty for [`Cell::Empty`],
/// ISO 8601 for dates and times, and floats without a trailing `.0` when they are whole.
impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Empty => Ok(()),
            Cell::Text(s) => f.write_str(s),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{}", *x as i64)
                } else {
                    write!(f, "{x}")
                }
            }
            Cell::Decimal(digits) => f.write_str(digits),
            Cell::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Cell::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Cell::Time(t) => write!(f, "{}", t.format("%H:%M:%S%.f")),
            Cell::DateTime(dt) => write!(f, "{}", dt.format("%Y-%m-%d %H:%M:%S%.f")),
        }
    }
}
