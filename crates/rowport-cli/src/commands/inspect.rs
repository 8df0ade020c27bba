//! `rowport inspect [RESOURCE]`: what rowport knows about the resources.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use rowport::{Dehydrate, Resource};

use super::{database_url, load_config};
use crate::cli::{GlobalArgs, InspectArgs};
use crate::failure::{ExitCode, Failure};

pub fn run(global: &GlobalArgs, args: InspectArgs) -> Result<ExitCode> {
    let config = load_config(global)?;
    let mut store =
        rowport_sql::connect(&database_url(global, &config), false).map_err(Failure::from)?;
    let text = match &args.resource {
        Some(name) => describe(
            &config
                .resource(name, store.as_mut())
                .map_err(Failure::from)?,
        ),
        None => {
            let mut resources = Vec::new();
            for name in config
                .resource_names(store.as_mut())
                .map_err(Failure::from)?
            {
                resources.push(
                    config
                        .resource(&name, store.as_mut())
                        .map_err(Failure::from)?,
                );
            }
            list(&resources)
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::Success)
}

/// Every resource, one line each; the name people see only when one of them has one.
fn list(resources: &[Resource]) -> String {
    let named = resources.iter().any(|r| r.options.verbose_name.is_some());
    let mut rows = vec![vec![
        "resource".to_owned(),
        "table".into(),
        "import id".into(),
        "import fields".into(),
        "export fields".into(),
    ]];
    if named {
        rows[0].push("name".into());
    }
    for resource in resources {
        let mut row = vec![
            resource.name.clone(),
            resource.table.clone(),
            resource.import_id_fields().join(", "),
            // Relation paths and computed fields are exported, never read on import.
            resource
                .import_fields()
                .filter(|f| !f.is_export_only())
                .count()
                .to_string(),
            resource.export_fields().count().to_string(),
        ];
        if named {
            row.push(resource.options.verbose_name.clone().unwrap_or_default());
        }
        rows.push(row);
    }
    table(&rows)
}

/// One resource: its table, options and fields, in export order.
fn describe(resource: &Resource) -> String {
    let o = &resource.options;
    let mut out = String::new();
    match &o.verbose_name {
        Some(verbose) => {
            let _ = writeln!(
                out,
                "resource {} \"{verbose}\" (table {})",
                resource.name, resource.table
            );
        }
        None => {
            let _ = writeln!(out, "resource {} (table {})", resource.name, resource.table);
        }
    }
    let _ = writeln!(out, "import id: {}", resource.import_id_fields().join(", "));
    let _ = writeln!(
        out,
        "options: skip_unchanged={} report_skipped={} skip_diff={} use_transactions={} batch_size={}",
        o.skip_unchanged, o.report_skipped, o.skip_diff, o.use_transactions, o.batch_size
    );
    let _ = writeln!(out);
    let mut rows = vec![vec![
        "field".to_owned(),
        "column".into(),
        "attribute".into(),
        "widget".into(),
        "notes".into(),
    ]];
    // Export order lists every field; the import reads the same fields, less the export-only.
    for field in resource.export_fields() {
        let mut notes = Vec::new();
        if field.is_export_only() {
            notes.push("export only".to_owned());
        }
        match &field.dehydrate {
            Some(Dehydrate::Closure { .. }) => notes.push("dehydrate".into()),
            Some(Dehydrate::Template(source)) => notes.push(format!("template \"{source}\"")),
            None => {}
        }
        let params = field.widget.describe();
        if !params.is_empty() {
            notes.push(params);
        }
        if resource.import_id_fields().contains(&field.name) {
            notes.push("import id".into());
        }
        if field.readonly && !field.is_export_only() {
            notes.push("readonly".into());
        }
        if let Some(default) = &field.default {
            notes.push(format!("default {default}"));
        }
        rows.push(vec![
            field.name.clone(),
            field.column_name.clone(),
            if field.is_many_to_many() || field.dehydrate.is_some() {
                "-".into()
            } else {
                field.attribute.clone()
            },
            field.widget.name().to_owned(),
            notes.join("; "),
        ]);
    }
    out.push_str(&table(&rows));
    out
}

/// Left-aligned columns, two spaces apart, trailing spaces trimmed.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
