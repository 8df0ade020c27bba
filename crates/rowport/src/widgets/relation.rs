//! Widgets for values that live in another table: foreign keys and many-to-many links.
//!
//! `clean` only reads the lookup key from the cell (an author's name, a category's code);
//! the import engine resolves the keys of a whole batch to primary keys with one store
//! query per relation, never one per row.

use super::{Widget, WidgetError};
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

/// Where a related value lives and how it is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The related table (`author`).
    pub table: String,
    /// The column the file's values are matched against (`name`); unique in practice.
    pub lookup: String,
    /// The related table's primary key (`id`), what the field stores.
    pub key: String,
    /// Foreign key or many-to-many.
    pub kind: RelationKind,
}

/// The two shapes of relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationKind {
    /// The field's column holds the related row's key.
    ForeignKey,
    /// A link table joins owners and targets.
    ManyToMany {
        /// The link table and its columns.
        link: LinkTable,
        /// What separates the keys in one cell (`|` in `Category 01|Category 06`).
        separator: String,
    },
}

/// A many-to-many link table: `book_categories(book_id, category_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTable {
    /// The table's name.
    pub table: String,
    /// The column holding the owner's key (`book_id`).
    pub owner_column: String,
    /// The column holding the target's key (`category_id`).
    pub target_column: String,
}

/// A foreign key, looked up by any column of the related table (by default its primary key).
#[derive(Debug)]
pub struct ForeignKeyWidget {
    /// The related table and lookup column.
    pub relation: Relation,
    /// Reads the lookup value itself (text for a name, integer for an id).
    pub key_widget: Box<dyn Widget>,
}

impl ForeignKeyWidget {
    /// A foreign key into `table`, matched on `lookup`, storing `key`.
    pub fn new(table: &str, lookup: &str, key: &str, key_widget: Box<dyn Widget>) -> Self {
        ForeignKeyWidget {
            relation: Relation {
                table: table.to_owned(),
                lookup: lookup.to_owned(),
                key: key.to_owned(),
                kind: RelationKind::ForeignKey,
            },
            key_widget,
        }
    }
}

impl Widget for ForeignKeyWidget {
    fn name(&self) -> &str {
        "foreign_key"
    }

    fn kind(&self) -> ValueKind {
        self.key_widget.kind()
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        if cell.is_empty() || matches!(cell, Cell::Text(s) if s.trim().is_empty()) {
            return Ok(Value::Null);
        }
        match self.key_widget.clean(cell)? {
            Value::Text(s) => Ok(Value::Text(s.trim().to_owned())),
            v => Ok(v),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        self.key_widget.render(value)
    }

    fn relation(&self) -> Option<&Relation> {
        Some(&self.relation)
    }

    fn describe(&self) -> String {
        format!("{}.{}", self.relation.table, self.relation.lookup)
    }
}

/// Many-to-many links: a cell of keys joined by a separator, each looked up in the
/// related table. Unknown keys are an error (django-import-export drops them silently).
#[derive(Debug)]
pub struct ManyToManyWidget {
    /// The related table, lookup column and link table.
    pub relation: Relation,
    /// Reads each key.
    pub key_widget: Box<dyn Widget>,
}

impl ManyToManyWidget {
    /// Links through `link` to `table`, each key matched on `lookup`.
    pub fn new(
        table: &str,
        lookup: &str,
        key: &str,
        link: LinkTable,
        separator: &str,
        key_widget: Box<dyn Widget>,
    ) -> Self {
        ManyToManyWidget {
            relation: Relation {
                table: table.to_owned(),
                lookup: lookup.to_owned(),
                key: key.to_owned(),
                kind: RelationKind::ManyToMany {
                    link,
                    separator: separator.to_owned(),
                },
            },
            key_widget,
        }
    }

    fn separator(&self) -> &str {
        match &self.relation.kind {
            RelationKind::ManyToMany { separator, .. } => separator,
            RelationKind::ForeignKey => ",",
        }
    }
}

impl Widget for ManyToManyWidget {
    fn name(&self) -> &str {
        "many_to_many"
    }

    fn kind(&self) -> ValueKind {
        ValueKind::List
    }

    fn clean(&self, cell: &Cell) -> Result<Value, WidgetError> {
        match cell {
            Cell::Empty => Ok(Value::List(Vec::new())),
            Cell::Text(s) => {
                let mut keys = Vec::new();
                for part in s.split(self.separator()) {
                    let part = part.trim();
                    if part.is_empty() {
                        continue;
                    }
                    let key = self.key_widget.clean(&Cell::Text(part.to_owned()))?;
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                Ok(Value::List(keys))
            }
            other => Ok(Value::List(vec![self.key_widget.clean(other)?])),
        }
    }

    fn render(&self, value: &Value) -> Cell {
        match value {
            Value::List(items) => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(self.separator());
                    }
                    out.push_str(&self.key_widget.render(item).to_string());
                }
                Cell::Text(out)
            }
            Value::Null => Cell::Text(String::new()),
            other => self.key_widget.render(other),
        }
    }

    fn relation(&self) -> Option<&Relation> {
        Some(&self.relation)
    }

    fn describe(&self) -> String {
        match &self.relation.kind {
            RelationKind::ManyToMany { link, separator } => format!(
                "{}.{} via {}, separator \"{}\"",
                self.relation.table, self.relation.lookup, link.table, separator
            ),
            RelationKind::ForeignKey => String::new(),
        }
    }
}
