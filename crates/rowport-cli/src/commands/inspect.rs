//! `rowport inspect [RESOURCE]`: what rowport knows about the resources.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use rowport::Resource;

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
            let mut rows = vec![[
                "resource".to_owned(),
                "table".into(),
                "import id".into(),
                "fields".into(),
            ]];
            for name in config
                .resource_names(store.as_mut())
                .map_err(Failure::from)?
            {
                let resource = config
                    .resource(&name, store.as_mut())
                    .map_err(Failure::from)?;
                rows.push([
                    resource.name.clone(),
                    resource.table.clone(),
                    resource.import_id_fields().join(", "),
                    resource.import_fields().count().to_string(),
                ]);
            }
            table(&rows)
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::Success)
}

/// One resource: its table, options and fields.
fn describe(resource: &Resource) -> String {
    let o = &resource.options;
    let mut out = String::new();
    let _ = writeln!(out, "resource {} (table {})", resource.name, resource.table);
    let _ = writeln!(out, "import id: {}", resource.import_id_fields().join(", "));
    let _ = writeln!(
        out,
        "options: skip_unchanged={} report_skipped={} skip_diff={} use_transactions={} batch_size={}",
        o.skip_unchanged, o.report_skipped, o.skip_diff, o.use_transactions, o.batch_size
    );
    let _ = writeln!(out);
    let mut rows = vec![[
        "field".to_owned(),
        "column".into(),
        "attribute".into(),
        "widget".into(),
        "notes".into(),
    ]];
    for field in resource.import_fields() {
        let mut notes = Vec::new();
        let params = field.widget.describe();
        if !params.is_empty() {
            notes.push(params);
        }
        if resource.import_id_fields().contains(&field.name) {
            notes.push("import id".into());
        }
        if field.readonly {
            notes.push("readonly".into());
        }
        if let Some(default) = &field.default {
            notes.push(format!("default {default}"));
        }
        rows.push([
            field.name.clone(),
            field.column_name.clone(),
            if field.is_many_to_many() {
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
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
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
