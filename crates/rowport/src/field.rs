//! [`Field`]: one column of a file mapped to one attribute of a table, through a widget.

use std::sync::Arc;

use crate::value::Value;
use crate::widgets::{RelationKind, Widget};

/// One column of a file, mapped to a table attribute through a widget.
#[derive(Debug, Clone)]
pub struct Field {
    /// The field's key in the resource.
    pub name: String,
    /// The header in the file.
    pub column_name: String,
    /// The table column it is stored in (for a many-to-many field, the field's name).
    pub attribute: String,
    /// Reads and writes the cells.
    pub widget: Arc<dyn Widget>,
    /// Used when the cleaned value is null or empty text.
    pub default: Option<Value>,
    /// Exported and compared, never written on import.
    pub readonly: bool,
}

impl Field {
    /// A field whose name, column name and attribute are all `name`.
    pub fn new(name: &str, widget: Arc<dyn Widget>) -> Self {
        Field {
            name: name.to_owned(),
            column_name: name.to_owned(),
            attribute: name.to_owned(),
            widget,
            default: None,
            readonly: false,
        }
    }

    /// Sets the header this field reads and writes.
    pub fn column_name(mut self, column_name: &str) -> Self {
        self.column_name = column_name.to_owned();
        self
    }

    /// Sets the table column this field is stored in.
    pub fn attribute(mut self, attribute: &str) -> Self {
        self.attribute = attribute.to_owned();
        self
    }

    /// Sets the value used for empty cells.
    pub fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// Marks the field read-only: exported, never imported.
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.readonly = readonly;
        self
    }

    /// True when the field's values live in a link table rather than a column.
    pub fn is_many_to_many(&self) -> bool {
        matches!(
            self.widget.relation().map(|r| &r.kind),
            Some(RelationKind::ManyToMany { .. })
        )
    }
}
