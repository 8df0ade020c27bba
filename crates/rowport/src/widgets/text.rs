//! Text and boolean widgets.

use super::{render_plain, Widget, WidgetError};
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

/// Text. An empty cell is `""` when `allow_blank` (the default for `NOT NULL` text
/// columns, so an empty spreadsheet cell does not break the constraint) and null otherwise.
/// A whole-number spreadsheet cell reads as `66`, never `66.0`; text is kept exactly as
/// written, leading zeros included.
///
/// With `choices` (an enum column's labels), any other text is refused with a message that
/// lists them; null is left to the column's nullability.
#[derive(Debug, Clone)]
pub struct CharWidget {
    /// Empty cells become `""` instead of null.
    pub allow_blank: bool,
    /// The only values accepted, when set.
    pub choices: Option<Vec<String>>,
    /// Reads a number, boolean or date cell as its text (`66`, never `66.0`); when off,
    /// such a cell is refused, for a column that must hold text as typed.
    pub coerce_to_string: bool,
}

impl Default for CharWidget {
    fn default() -> Self {
        CharWidget {
            allow_blank: true,
            choices: None,
            coerce_to_string: true,
        }
    }
}

impl CharWidget {
    /// A text widget; `allow_blank` reads empty cells as `""` rather than null.
    pub fn new(allow_blank: bool) -> Self {
        CharWidget {
            allow_blank,
            choices: None,
            coerce_to_string: true,
        }
    }

    /// Refuses cells that are not text (a number, a boolean, a date) instead of reading
    /// them as their text.
    pub fn text_only(mut self) -> Self {
        self.coerce_to_string = false;
        self
    }

    /// Accepts only these values.
    pub fn with_choices(mut self, choices: Vec<String>) -> Self {
        self.choices = Some(choices);
        self
    }
}

impl Widget for CharWidget {
    fn name(&self) -> &str {
        "char"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Text
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let value = match cell {
            c if c.is_empty() => {
                if self.allow_blank {
                    Value::Text(String::new())
                } else {
                    Value::Null
                }
            }
            Cell::Text(s) => Value::Text(s.clone()),
            _ if !self.coerce_to_string => {
                return Err(WidgetError::new(
                    "is not text (the cell holds a number, boolean or date)",
                ))
            }
            other => Value::Text(other.to_string()),
        };
        match (&self.choices, &value) {
            (Some(choices), Value::Text(s)) if !choices.iter().any(|c| c == s) => {
                Err(WidgetError::new(format!(
                    "is not one of the choices ({})",
                    choices.join(", ")
                )))
            }
            _ => Ok(value),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::Text(s) => Cell::Text(s.clone()),
            Value::Null => Cell::Empty,
            other => Cell::Text(other.to_string()),
        }
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(choices) = &self.choices {
            parts.push(format!("choices {}", choices.join(" | ")));
        }
        if !self.coerce_to_string {
            parts.push("text only".to_owned());
        }
        parts.join("; ")
    }
}

/// Booleans. Reads `1`/`0`, `true`/`false`, `yes`/`no`, `y`/`n`, `t`/`f`, `on`/`off` in any
/// case; empty, `null` and `none` are null. Anything else is an error: django-import-export
/// reads every unknown spelling as false, which loses data silently. `unknown_is_false`
/// restores that behaviour for files where it is wanted.
///
/// ```
/// use rowport::widgets::{BooleanWidget, Widget};
/// use rowport::{Cell, Value};
///
/// let mut ja = BooleanWidget::default();
/// ja.true_values = vec!["ja".into()];
/// ja.false_values = vec!["nein".into()];
/// assert_eq!(ja.clean(&Cell::Text("Ja".into())), Ok(Value::Bool(true)));
/// assert!(ja.clean(&Cell::Text("vielleicht".into())).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct BooleanWidget {
    /// Spellings read as true (compared without case).
    pub true_values: Vec<String>,
    /// Spellings read as false (compared without case).
    pub false_values: Vec<String>,
    /// Spellings read as null (compared without case), besides the empty cell.
    pub null_values: Vec<String>,
    /// Reads every other value as false, as django-import-export does, instead of refusing it.
    pub unknown_is_false: bool,
}

impl Default for BooleanWidget {
    fn default() -> Self {
        let v = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        BooleanWidget {
            true_values: v(&["1", "true", "yes", "y", "t", "on"]),
            false_values: v(&["0", "false", "no", "n", "f", "off"]),
            null_values: v(&["null", "none"]),
            unknown_is_false: false,
        }
    }
}

impl Widget for BooleanWidget {
    fn name(&self) -> &str {
        "boolean"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Bool
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        let error = || {
            // Pair the spellings (`yes/no`) when the lists match up; otherwise list each side,
            // so that no accepted spelling is left out of the message.
            let expected = if self.true_values.len() == self.false_values.len() {
                self.true_values
                    .iter()
                    .zip(&self.false_values)
                    .map(|(t, f)| format!("{t}/{f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                format!(
                    "{} (true) or {} (false)",
                    self.true_values.join(", "),
                    self.false_values.join(", ")
                )
            };
            WidgetError::new(format!("is not a boolean (expected one of {expected})"))
        };
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Bool(b) => Ok(Value::Bool(*b)),
            Cell::Int(1) => Ok(Value::Bool(true)),
            Cell::Int(0) => Ok(Value::Bool(false)),
            Cell::Float(f) if *f == 1.0 => Ok(Value::Bool(true)),
            Cell::Float(f) if *f == 0.0 => Ok(Value::Bool(false)),
            Cell::Text(s) => {
                let s = s.trim();
                let is = |list: &[String]| list.iter().any(|v| v.eq_ignore_ascii_case(s));
                if s.is_empty() || is(&self.null_values) {
                    Ok(Value::Null)
                } else if is(&self.true_values) {
                    Ok(Value::Bool(true))
                } else if is(&self.false_values) || self.unknown_is_false {
                    Ok(Value::Bool(false))
                } else {
                    Err(error())
                }
            }
            _ if self.unknown_is_false => Ok(Value::Bool(false)),
            _ => Err(error()),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::Bool(b) => Cell::Bool(*b),
            Value::Int(i) => Cell::Bool(*i != 0),
            other => render_plain(other),
        }
    }
}
