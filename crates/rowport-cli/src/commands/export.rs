//! `rowport export FORMAT RESOURCE`: stream a resource's rows to a file or stdout.

use std::io::{BufWriter, Write};
use std::time::Instant;

use anyhow::Result;
use rowport::export::Filter;
use rowport::{Context, ExportOptions};
use rowport_formats::{open_writer, Format, FormatError, WriteOptions};

use super::{open_session, parse_encoding, temp_beside};
use crate::cli::{ExportArgs, GlobalArgs};
use crate::failure::{ExitCode, Failure};
use crate::progress::{self, Progress};

pub fn run(global: &GlobalArgs, args: ExportArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let format: Format = args
        .format
        .parse()
        .map_err(|e: rowport_formats::UnknownFormat| Failure::usage(e.to_string()))?;
    if !format.writable() {
        return Err(Failure::from(FormatError::ReadOnly { format }).into());
    }
    if args.delimiter.is_some() && !matches!(format, Format::Csv | Format::Tsv) {
        return Err(
            Failure::usage(format!("--delimiter applies to csv and tsv, not {format}")).into(),
        );
    }
    let write_options = WriteOptions {
        encoding: parse_encoding(args.encoding.as_deref())?,
        delimiter: args.delimiter,
    };
    let mut session = open_session(global, &args.resource)?;
    let mut filters = Vec::with_capacity(args.filters.len());
    for expression in &args.filters {
        filters.push(expression.parse::<Filter>().map_err(|e| {
            Failure::usage(format!("--where {e}")).hint(format!(
                "the fields of \"{}\" are: {}",
                session.resource.name,
                session
                    .resource
                    .export_fields()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?);
    }
    let options = ExportOptions {
        fields: args.fields.clone(),
        filters,
        order_by: args
            .order_by
            .iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect(),
        offset: args.offset,
        limit: args.limit,
        context: Context::default(),
        ..ExportOptions::default()
    };
    let target = args
        .output
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "standard output".to_owned());
    let progress = Progress::export(progress::wanted(global.no_progress, false), &target);
    let rows = match &args.output {
        None => {
            let stdout = std::io::stdout().lock();
            let writer = open_writer(format, Box::new(BufWriter::new(stdout)), &write_options)
                .map_err(Failure::from)?;
            let writer = progress.wrap_writer(writer);
            rowport::export(&session.resource, session.store.as_mut(), writer, &options)
                .map_err(Failure::from)?
        }
        Some(path) => {
            let mut temp = temp_beside(path)?;
            let rows = {
                let writer = open_writer(
                    format,
                    Box::new(BufWriter::with_capacity(1 << 16, temp.as_file_mut())),
                    &write_options,
                )
                .map_err(Failure::from)?;
                let writer = progress.wrap_writer(writer);
                rowport::export(&session.resource, session.store.as_mut(), writer, &options)
                    .map_err(Failure::from)?
            };
            temp.as_file_mut().flush()?;
            temp.persist(path).map_err(|e| {
                Failure::new(
                    ExitCode::Io,
                    format!(
                        "cannot write {}: {}",
                        path.display(),
                        super::import::io_reason(&e.error)
                    ),
                )
            })?;
            rows
        }
    };
    progress.finish();
    eprintln!(
        "exported {} rows to {target} ({:.2} s)",
        rowport::result::group(rows),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::Success)
}
