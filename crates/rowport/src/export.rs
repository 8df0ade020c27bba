//! The export engine: scan the store in order, render each value with its field's widget,
//! stream the rows to a writer. Related values come from joins in the same scan (an
//! author's name, a book's category names), never from a query per row.

use rowport_formats::{Cell, FormatError, RowWriter};

use crate::hooks::{Context, HookError};
use crate::resource::Resource;
use crate::store::{Scan, ScanColumn, Store, StoreError};
use crate::widgets::RelationKind;

/// How one export runs.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only these fields, by field name or column header, in this order. `None`: every
    /// export field in export order.
    pub fields: Option<Vec<String>>,
    /// What the hooks are told.
    pub context: Context,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the file failed.
    #[error(transparent)]
    Write(#[from] FormatError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A hook refused.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// `fields` names a field the resource does not have.
    #[error("resource \"{resource}\" has no field \"{field}\" (fields: {known})")]
    UnknownField {
        /// The resource.
        resource: String,
        /// The unknown name.
        field: String,
        /// The fields there are.
        known: String,
    },
}

/// Exports every row of `resource`'s table to `writer`; returns the number of rows.
pub fn export(
    resource: &Resource,
    store: &mut dyn Store,
    writer: Box<dyn RowWriter + '_>,
    options: &ExportOptions,
) -> Result<u64, ExportError> {
    let fields: Vec<&crate::Field> = match &options.fields {
        None => resource.export_fields().collect(),
        Some(names) => names
            .iter()
            .map(|name| {
                resource
                    .fields
                    .iter()
                    .find(|f| &f.name == name)
                    .or_else(|| resource.fields.iter().find(|f| &f.column_name == name))
                    .ok_or_else(|| ExportError::UnknownField {
                        resource: resource.name.clone(),
                        field: name.clone(),
                        known: resource
                            .export_fields()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let natural: Vec<crate::Field>;
    let fields: Vec<&crate::Field> = if resource.options.use_natural_foreign_keys {
        natural = fields
            .iter()
            .map(|f| crate::widgets::with_natural_key(f, store))
            .collect::<Result<_, _>>()?;
        natural.iter().collect()
    } else {
        fields
    };
    let mut columns = Vec::with_capacity(fields.len());
    // How many scan columns each field reads: a key of several columns reads one each,
    // gathered into a list for its widget.
    let mut widths = Vec::with_capacity(fields.len());
    for field in &fields {
        widths.push(1);
        columns.push(match field.widget.relation() {
            Some(rel) => match &rel.kind {
                RelationKind::ForeignKey if !rel.more_lookups.is_empty() => {
                    let target = store.describe(&rel.table)?;
                    for column in &rel.more_lookups {
                        columns.push(ScanColumn::Related {
                            fk_column: field.attribute.clone(),
                            table: rel.table.clone(),
                            key: rel.key.clone(),
                            column: column.clone(),
                            kind: target
                                .column(column)
                                .map(|c| c.kind)
                                .unwrap_or(crate::ValueKind::Text),
                        });
                    }
                    widths.pop();
                    widths.push(1 + rel.more_lookups.len());
                    // The first lookup column goes first: insert it before the others.
                    let at = columns.len() - rel.more_lookups.len();
                    columns.insert(
                        at,
                        ScanColumn::Related {
                            fk_column: field.attribute.clone(),
                            table: rel.table.clone(),
                            key: rel.key.clone(),
                            column: rel.lookup.clone(),
                            kind: target
                                .column(&rel.lookup)
                                .map(|c| c.kind)
                                .unwrap_or(crate::ValueKind::Text),
                        },
                    );
                    continue;
                }
                RelationKind::ForeignKey => ScanColumn::Related {
                    fk_column: field.attribute.clone(),
                    table: rel.table.clone(),
                    key: rel.key.clone(),
                    column: rel.lookup.clone(),
                    kind: field.widget.kind(),
                },
                RelationKind::ManyToMany { link, .. } => ScanColumn::Linked {
                    link: link.clone(),
                    owner_key: resource.primary_key.clone(),
                    table: rel.table.clone(),
                    key: rel.key.clone(),
                    column: rel.lookup.clone(),
                    kind: store
                        .describe(&rel.table)?
                        .column(&rel.lookup)
                        .map(|c| c.kind)
                        .unwrap_or(crate::ValueKind::Text),
                },
            },
            None => ScanColumn::Column {
                name: field.attribute.clone(),
                kind: field.widget.kind(),
            },
        });
    }
    let scan = Scan {
        table: resource.table.clone(),
        columns,
        order_by: vec![resource.primary_key.clone()],
    };
    resource.hooks.before_export(&options.context)?;
    let mut writer = writer;
    let headers: Vec<String> = fields.iter().map(|f| f.column_name.clone()).collect();
    writer.write_header(&headers)?;
    let mut cells: Vec<Cell> = Vec::with_capacity(fields.len());
    let mut rows = 0u64;
    let mut write_error = None;
    store
        .scan(&scan, &mut |values| {
            cells.clear();
            let mut values = values.into_iter();
            for (field, &width) in fields.iter().zip(&widths) {
                let value = if width == 1 {
                    values.next().unwrap_or_default()
                } else {
                    let parts: Vec<_> = values.by_ref().take(width).collect();
                    if parts.iter().all(|v| v.is_null()) {
                        crate::Value::Null
                    } else {
                        crate::Value::List(parts)
                    }
                };
                cells.push(field.widget.render(&value));
            }
            rows += 1;
            writer.write_row(&cells).map_err(|e| {
                let message = e.to_string();
                write_error = Some(e);
                StoreError::new(crate::store::StoreErrorKind::Database, message)
            })
        })
        .map_err(|e| match write_error.take() {
            Some(w) => ExportError::Write(w),
            None => ExportError::Store(e),
        })?;
    writer.finish()?;
    resource.hooks.after_export(rows, &options.context)?;
    for observer in &resource.observers {
        observer.post_export(&resource.name, rows, &options.context);
    }
    Ok(rows)
}
