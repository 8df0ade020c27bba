//! Widgets turn a file's cells into typed [`Value`]s on import (`clean`) and values back into
//! cells on export (`render`).
//!
//! Every built-in widget refuses what it cannot read with a [`WidgetError`] whose message
//! completes the sentence `"<value>" …`, e.g. `is not a date (expected YYYY-MM-DD)`.
//! Where django-import-export silently guesses (a boolean `"yes"` read as false, an integer
//! `"1.5"` truncated to 1), rowport reports the value instead.
//!
//! ```
//! use rowport::widgets::{DateWidget, Widget};
//! use rowport::{Cell, Value};
//!
//! let widget = DateWidget::new(vec!["%d.%m.%Y".into()]);
//! let date = widget.clean(&Cell::Text("23.04.2019".into())).unwrap();
//! assert_eq!(date.to_string(), "2019-04-23");
//! assert_eq!(widget.render(&date), Cell::Text("23.04.2019".into()));
//! assert!(widget.clean(&Cell::Text("2019-04-23".into())).is_err());
//! ```

use std::fmt;

use crate::store::ColumnSchema;
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

mod number;
pub mod parse;
mod relation;
mod structured;
mod temporal;
mod text;

pub use number::{DecimalWidget, FloatWidget, IntegerWidget, NumberFormat};
pub(crate) use relation::with_natural_key;
pub use relation::{
    ForeignKeyWidget, LinkTable, ManyToManyWidget, OnMissing, Relation, RelationKind,
};
pub use structured::{JsonWidget, SimpleArrayWidget, UuidWidget};
pub use temporal::{DateTimeWidget, DateWidget, DurationWidget, TimeWidget, Zone};
pub use text::{BooleanWidget, CharWidget};

/// Why a widget refused a cell: the rest of the sentence that starts with the quoted value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WidgetError {
    /// E.g. `is not a whole number`.
    pub message: String,
}

impl WidgetError {
    /// A widget error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        WidgetError {
            message: message.into(),
        }
    }
}

/// Converts between a file's cells and typed values, for one field.
///
/// Implement it to teach rowport a type of your own; the built-ins live in this module.
/// A custom widget is the Rust equivalent of subclassing django-import-export's `Widget`:
///
/// ```
/// use std::sync::Arc;
/// use rowport::widgets::{Widget, WidgetError};
/// use rowport::{Cell, Field, Value, ValueKind};
///
/// /// Prices written in cents in the file (`1250`), kept as text `12.50` in the table.
/// #[derive(Debug)]
/// struct Cents;
///
/// impl Widget for Cents {
///     fn name(&self) -> &str {
///         "cents"
///     }
///     fn kind(&self) -> ValueKind {
///         ValueKind::Text
///     }
///     fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
///         match cell.to_string().trim().parse::<u64>() {
///             Ok(c) => Ok(Value::Text(format!("{}.{:02}", c / 100, c % 100))),
///             Err(_) => Err(WidgetError::new("is not a number of cents")),
///         }
///     }
///     fn render(&self, value: &Value) -> Cell {
///         Cell::Text(value.to_string().replace('.', ""))
///     }
/// }
///
/// let price = Field::new("price", Arc::new(Cents));
/// assert_eq!(price.widget.clean(&Cell::Int(1250)), Ok(Value::Text("12.50".into())));
/// assert_eq!(price.widget.render(&Value::Text("12.50".into())), Cell::Text("1250".into()));
/// assert!(price.widget.clean(&Cell::Text("12,50 €".into())).is_err());
/// ```
pub trait Widget: Send + Sync + fmt::Debug {
    /// The widget's name as `rowport.toml` spells it (`date`, `foreign_key`, …).
    fn name(&self) -> &str;

    /// The kind of value `clean` produces (and the store column holds).
    fn kind(&self) -> ValueKind;

    /// Reads a cell from a file.
    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError>;

    /// Writes a value out as a cell.
    fn render(&self, value: &Value) -> Cell;

    /// A value as a store gives it back, put in the form `clean` produces, so that an
    /// unchanged row compares equal (`skip_unchanged`). Most widgets need nothing here; a
    /// date-time widget with a time zone reads a stored value without an offset as UTC.
    fn read_stored(&self, value: Value) -> Value {
        value
    }

    /// The related table, for widgets whose values live in another table.
    fn relation(&self) -> Option<&Relation> {
        None
    }

    /// The widget's parameters, for `rowport inspect` (e.g. `format %d.%m.%Y`).
    fn describe(&self) -> String {
        String::new()
    }
}

/// Makes the default widget for a column of `kind`. A list gets a [`SimpleArrayWidget`] of
/// text items; [`for_column`] knows more (an array's item kind, an enum's choices).
pub fn for_kind(kind: ValueKind, nullable: bool) -> Box<dyn Widget> {
    match kind {
        ValueKind::Bool => Box::new(BooleanWidget::default()),
        ValueKind::Int => Box::new(IntegerWidget::default()),
        ValueKind::Decimal => Box::new(DecimalWidget::default()),
        ValueKind::Float => Box::new(FloatWidget::default()),
        ValueKind::Date => Box::new(DateWidget::default()),
        ValueKind::Time => Box::new(TimeWidget::default()),
        ValueKind::DateTime => Box::new(DateTimeWidget::default()),
        ValueKind::Duration => Box::new(DurationWidget),
        ValueKind::Uuid => Box::new(UuidWidget),
        ValueKind::Json => Box::new(JsonWidget::default()),
        ValueKind::List => Box::new(SimpleArrayWidget::new(",", Box::new(CharWidget::new(true)))),
        ValueKind::Text => Box::new(CharWidget::new(!nullable)),
    }
}

/// Makes the default widget for an introspected column (what a default resource gets):
/// [`for_kind`], and besides an array column's items read by the widget of their kind, an
/// enum's labels as the text's choices, a `timestamptz` column read and written in UTC.
pub fn for_column(column: &ColumnSchema) -> Box<dyn Widget> {
    match column.kind {
        ValueKind::List => Box::new(SimpleArrayWidget::new(
            ",",
            for_kind(column.array_of.unwrap_or(ValueKind::Text), false),
        )),
        ValueKind::Text => {
            let widget = CharWidget::new(!column.nullable);
            Box::new(match &column.choices {
                Some(choices) => widget.with_choices(choices.clone()),
                None => widget,
            })
        }
        ValueKind::DateTime if column.with_time_zone => {
            Box::new(DateTimeWidget::default().in_utc())
        }
        kind => for_kind(kind, column.nullable),
    }
}

/// Renders a value through the default rules when no widget-specific form applies.
pub(crate) fn render_plain(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Int(i) => Cell::Int(*i),
        Value::Float(f) => Cell::Float(*f),
        Value::Text(s) => Cell::Text(s.clone()),
        Value::Date(d) => Cell::Date(*d),
        Value::Time(t) => Cell::Time(*t),
        Value::DateTime(dt) => Cell::DateTime(*dt),
        other => Cell::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
