//! Widgets for structured values: JSON documents, simple arrays and UUIDs.

use super::{parse, render_plain, Widget, WidgetError};
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

/// JSON documents (Django's `JSONField`, PostgreSQL `json`/`jsonb`). An empty cell is null;
/// falsy documents such as `0`, `[]` and `{}` are kept. As django-import-export does, text
/// that is not JSON is tried once more with its single quotes made double (`{'a': 1}`);
/// `single_quotes = false` turns that retry off, so only strict JSON is read.
/// Written as compact JSON text.
#[derive(Debug, Clone, Copy)]
pub struct JsonWidget {
    /// Retry text that is not JSON with `'` replaced by `"`.
    pub single_quotes: bool,
}

impl Default for JsonWidget {
    fn default() -> Self {
        JsonWidget {
            single_quotes: true,
        }
    }
}

impl JsonWidget {
    /// Reads strict JSON only: no retry with single quotes made double.
    pub fn strict() -> Self {
        JsonWidget {
            single_quotes: false,
        }
    }
}

impl Widget for JsonWidget {
    fn name(&self) -> &str {
        "json"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Json
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) => match serde_json::from_str(s) {
                Ok(json) => Ok(Value::Json(json)),
                Err(first) if !self.single_quotes => {
                    Err(WidgetError::new(format!("is not valid JSON ({first})")))
                }
                Err(first) => serde_json::from_str(&s.replace('\'', "\""))
                    .map(Value::Json)
                    .map_err(|_| WidgetError::new(format!("is not valid JSON ({first})"))),
            },
            Cell::Bool(b) => Ok(Value::Json(serde_json::Value::Bool(*b))),
            Cell::Int(i) => Ok(Value::Json(serde_json::Value::from(*i))),
            Cell::Float(f) => serde_json::Number::from_f64(*f)
                .map(|n| Value::Json(serde_json::Value::Number(n)))
                .ok_or_else(|| WidgetError::new("is not valid JSON (not a finite number)")),
            _ => Err(WidgetError::new("is not valid JSON")),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::Json(json) => Cell::Text(json.to_string()),
            other => render_plain(other),
        }
    }

    fn describe(&self) -> String {
        if self.single_quotes {
            String::new()
        } else {
            "strict".to_owned()
        }
    }
}

/// A list in one cell, items joined by a separator (default `,`): a PostgreSQL array
/// column, as django-import-export's `SimpleArrayWidget` reads it. An empty cell is an empty
/// list; items are not trimmed (as in django-import-export), and each is cleaned by the
/// item widget, so an `integer[]` column refuses `1,x`.
#[derive(Debug)]
pub struct SimpleArrayWidget {
    /// What separates the items in a cell.
    pub separator: String,
    /// Reads and writes each item.
    pub item: Box<dyn Widget>,
}

impl SimpleArrayWidget {
    /// Items joined by `separator`, each read by `item`.
    pub fn new(separator: &str, item: Box<dyn Widget>) -> Self {
        SimpleArrayWidget {
            separator: separator.to_owned(),
            item,
        }
    }
}

impl Widget for SimpleArrayWidget {
    fn name(&self) -> &str {
        "simple_array"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::List
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        match cell {
            Cell::Empty => Ok(Value::List(Vec::new())),
            Cell::Text(s) if s.is_empty() => Ok(Value::List(Vec::new())),
            Cell::Text(s) => {
                let separator = if self.separator.is_empty() {
                    ","
                } else {
                    &self.separator
                };
                s.split(separator)
                    .map(|part| {
                        self.item.clean(&Cell::Text(part.to_owned())).map_err(|e| {
                            WidgetError::new(format!("has an item \"{part}\" that {}", e.message))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::List)
            }
            other => Ok(Value::List(vec![self.item.clean(other)?])),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::List(items) => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.separator);
                    }
                    out.push_str(&self.item.render(item).to_string());
                }
                Cell::Text(out)
            }
            Value::Null => Cell::Text(String::new()),
            other => self.item.render(other),
        }
    }

    fn describe(&self) -> String {
        format!(
            "items {}, separator \"{}\"",
            self.item.name(),
            self.separator
        )
    }
}

/// UUIDs, in any form Python's `uuid.UUID` reads (hyphens or not, any case, braces, a
/// `urn:uuid:` URN); written in the usual hyphenated lower-case form. Anything else is
/// refused (django-import-export passes it on for the database to refuse).
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidWidget;

impl Widget for UuidWidget {
    fn name(&self) -> &str {
        "uuid"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::Uuid
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        match cell {
            Cell::Empty => Ok(Value::Null),
            Cell::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Cell::Text(s) => parse::uuid(s).map(Value::Uuid).ok_or_else(|| {
                WidgetError::new(
                    "is not a UUID (expected 32 hexadecimal digits, such as 123e4567-e89b-12d3-a456-426614174000)",
                )
            }),
            _ => Err(WidgetError::new(
                "is not a UUID (expected 32 hexadecimal digits, such as 123e4567-e89b-12d3-a456-426614174000)",
            )),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::Uuid(u) => Cell::Text(parse::format_uuid(*u)),
            other => render_plain(other),
        }
    }
}
