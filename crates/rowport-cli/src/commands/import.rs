//! `rowport import RESOURCE FILE`: read a file, import its rows, report.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Read, Write};

use anyhow::Result;
use rowport::result::FailedRowsWriter;
use rowport::{Context, ImportOptions, ImportResult, RowOutcome};
use rowport_formats::{
    open_reader, open_writer, sniff_format, EncodingSource, Format, Limits, ReadOptions,
    WriteOptions, SNIFF_BYTES,
};
use serde::Serialize;

use super::{display_name, open_session, parse_encoding, temp_beside};
use crate::cli::{GlobalArgs, ImportArgs, LimitArgs};
use crate::failure::{ExitCode, Failure};
use crate::progress::{self, Progress};

/// Row errors printed on the terminal before the rest are only counted.
const SHOWN_ERRORS: usize = 20;

/// Rows whose outcome and changes a dry run shows.
const PREVIEW_ROWS: usize = 20;

pub fn run(global: &GlobalArgs, args: ImportArgs) -> Result<ExitCode> {
    let stdin = args.file.as_os_str() == "-";
    let file_name = display_name(&args.file);
    let given_format = args
        .format
        .as_deref()
        .map(|name| {
            name.parse::<Format>()
                .map_err(|e| Failure::usage(e.to_string()))
        })
        .transpose()?;
    let encoding = parse_encoding(args.encoding.as_deref())?;
    let mut session = open_session(global, &args.resource)?;
    let wanted = progress::wanted(global.no_progress, args.json);
    let (mut input, progress): (Box<dyn Read>, Progress) = if stdin {
        let progress = Progress::import(wanted, &file_name, None);
        let input = progress.wrap_read(Box::new(std::io::stdin()));
        (Box::new(BufReader::new(input)), progress)
    } else {
        let file = File::open(&args.file).map_err(|e| cannot_read(&file_name, &e))?;
        let size = file.metadata().ok().map(|m| m.len());
        let progress = Progress::import(wanted, &file_name, size);
        let input = progress.wrap_read(Box::new(file));
        (Box::new(BufReader::with_capacity(1 << 16, input)), progress)
    };
    let by_name = given_format.or_else(|| {
        if stdin {
            None
        } else {
            Format::from_path(&args.file)
        }
    });
    let format = match by_name {
        Some(format) => format,
        None => {
            // No format given and no extension that names one: the first bytes decide.
            let mut prefix = Vec::new();
            input
                .by_ref()
                .take(SNIFF_BYTES as u64)
                .read_to_end(&mut prefix)
                .map_err(|e| cannot_read(&file_name, &e))?;
            let format = sniff_format(&prefix).ok_or_else(|| {
                Failure::usage(format!(
                    "cannot tell the format of {file_name} from its name or its content"
                ))
                .hint("pass --format csv, tsv, json, jsonl, yaml, html, xlsx, xls or ods")
            })?;
            input = Box::new(Cursor::new(prefix).chain(input));
            eprintln!("note: {file_name} read as {format}, from its content (pass --format to choose another)");
            format
        }
    };
    if (args.delimiter.is_some() || args.quote.is_some())
        && !matches!(format, Format::Csv | Format::Tsv)
    {
        return Err(Failure::usage(format!(
            "--delimiter and --quote apply to csv and tsv files, and {file_name} is read as {format}"
        ))
        .into());
    }
    if args.sheet.is_some() && !matches!(format, Format::Xlsx | Format::Xls | Format::Ods) {
        return Err(Failure::usage(format!(
            "--sheet chooses a worksheet of a workbook, and {file_name} is read as {format}"
        ))
        .hint("leave out --sheet, or pass --format xlsx, xls or ods")
        .into());
    }
    let options = ReadOptions {
        encoding,
        sheet: args.sheet.clone(),
        delimiter: args.delimiter,
        quote: args.quote,
        limits: limits(&args.limits, session.limits),
    };
    let mut reader = open_reader(format, input, &file_name, &options).map_err(Failure::from)?;
    let info = reader.info();
    if let Some(used) = info.encoding.filter(|used| !used.encoding.is_utf8()) {
        let how = match used.source {
            EncodingSource::Detected => "detected; pass --encoding to choose another",
            EncodingSource::Declared => "declared in the file",
            source => source.as_str(),
        };
        eprintln!("note: {file_name} read as {} ({how})", used.encoding);
    }
    let import_options = ImportOptions {
        dry_run: args.dry_run,
        skip_invalid: args.skip_invalid,
        raise_errors: args.raise_errors,
        preview_rows: if args.dry_run { PREVIEW_ROWS } else { 0 },
        context: Context {
            dry_run: args.dry_run,
            file_name: file_name.clone(),
            ..Context::default()
        },
        ..ImportOptions::default()
    };
    let result = match &args.failed_out {
        None => rowport::import(
            &session.resource,
            session.store.as_mut(),
            reader.as_mut(),
            &import_options,
        )
        .map_err(Failure::from)?,
        Some(path) => {
            let out_format = Format::from_path(path).unwrap_or(format);
            if !out_format.writable() {
                return Err(Failure::usage(format!(
                    "--failed-out cannot write {out_format} ({})",
                    path.display()
                ))
                .hint("give the file an extension rowport writes, e.g. failed.csv or failed.xlsx")
                .into());
            }
            let mut temp = temp_beside(path)?;
            let (result, failed) = {
                let writer = open_writer(
                    out_format,
                    Box::new(BufWriter::with_capacity(1 << 16, temp.as_file_mut())),
                    &WriteOptions::default(),
                )
                .map_err(Failure::from)?;
                let mut failed =
                    FailedRowsWriter::new(writer, reader.headers()).map_err(Failure::from)?;
                let result = rowport::import_into(
                    &session.resource,
                    session.store.as_mut(),
                    reader.as_mut(),
                    &import_options,
                    &mut failed,
                )
                .map_err(Failure::from)?;
                (result, failed.finish().map_err(Failure::from)?)
            };
            temp.as_file_mut().flush()?;
            temp.persist(path).map_err(|e| {
                Failure::new(
                    ExitCode::Io,
                    format!("cannot write {}: {}", path.display(), io_reason(&e.error)),
                )
            })?;
            eprintln!(
                "wrote {} failed {} to {}",
                rowport::result::group(failed),
                if failed == 1 { "row" } else { "rows" },
                path.display()
            );
            result
        }
    };
    progress.finish();

    report(&file_name, &result, args.skip_invalid);
    if args.json {
        let out = JsonReport {
            file: &file_name,
            resource: &session.resource.name,
            format: format.name(),
            encoding: info.encoding.map(|used| EncodingReport {
                name: used.encoding.name(),
                source: used.source.as_str(),
            }),
            delimiter: info.delimiter.map(|b| char::from(b).to_string()),
            quote: info.quote.map(|b| char::from(b).to_string()),
            result: &result,
        };
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &out)?;
        writeln!(stdout)?;
    }
    Ok(if result.has_failures() && !args.skip_invalid {
        ExitCode::Data
    } else {
        ExitCode::Success
    })
}

/// The limits of an import: the flags, over the config's `[limits]`, over the defaults.
fn limits(args: &LimitArgs, base: Limits) -> Limits {
    let bytes = |flag: Option<u64>, base: usize| {
        flag.map_or(base, |n| usize::try_from(n).unwrap_or(usize::MAX))
    };
    Limits {
        max_line_bytes: bytes(args.max_line_bytes, base.max_line_bytes),
        max_cell_bytes: bytes(args.max_cell_bytes, base.max_cell_bytes),
        max_decompressed_bytes: args
            .max_decompressed_bytes
            .unwrap_or(base.max_decompressed_bytes),
        max_compression_ratio: args
            .max_compression_ratio
            .unwrap_or(base.max_compression_ratio),
        max_cells: args.max_cells.unwrap_or(base.max_cells),
    }
}

fn cannot_read(file_name: &str, e: &std::io::Error) -> Failure {
    Failure::new(
        ExitCode::Io,
        format!("cannot read {file_name}: {}", io_reason(e)),
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: &'a str,
    resource: &'a str,
    /// The format the file was read as.
    format: &'static str,
    /// The text encoding used and how it was chosen; null for workbooks.
    encoding: Option<EncodingReport>,
    /// The CSV/TSV delimiter and quote used; null for other formats.
    delimiter: Option<String>,
    quote: Option<String>,
    #[serde(flatten)]
    result: &'a ImportResult,
}

#[derive(Serialize)]
struct EncodingReport {
    name: &'static str,
    /// `given`, `byte-order mark`, `declared` or `detected`.
    source: &'static str,
}

/// The human report on stderr: row errors, the summary line, what was committed.
fn report(file_name: &str, result: &ImportResult, skip_invalid: bool) {
    let mut err = std::io::stderr().lock();
    let label = if skip_invalid { "warning" } else { "error" };
    for e in result.errors.iter().take(SHOWN_ERRORS) {
        let _ = writeln!(err, "{label}: {}", e.describe(file_name));
    }
    let failed = result.totals.failed() as usize;
    if failed > SHOWN_ERRORS.min(result.errors.len()) && result.errors.len() > SHOWN_ERRORS {
        let _ = writeln!(
            err,
            "… and {} more row errors (--json lists every one)",
            result.errors.len() - SHOWN_ERRORS
        );
    }
    preview(&mut err, result);
    let _ = writeln!(err, "{}", result.summary());
    if result.dry_run {
        let _ = writeln!(err, "dry run: nothing was committed");
    } else if result.has_failures() && !skip_invalid {
        let _ = writeln!(
            err,
            "nothing was committed: {} {} failed",
            rowport::result::group(result.totals.failed()),
            if result.totals.failed() == 1 {
                "row"
            } else {
                "rows"
            }
        );
        let _ = writeln!(
            err,
            "hint: fix the rows above, or pass --skip-invalid to commit the valid rows"
        );
    } else if result.has_failures() {
        let skipped = result.totals.invalid + result.totals.error;
        let _ = writeln!(
            err,
            "committed the valid rows; {} failed {} left out",
            rowport::result::group(skipped),
            if skipped == 1 { "row was" } else { "rows were" }
        );
    }
}

/// What a dry run would do to its first rows: `row 2  update  price: 12.34 → 13.34`.
fn preview(err: &mut impl Write, result: &ImportResult) {
    let shown: Vec<_> = result
        .rows
        .iter()
        .filter(|r| !matches!(r.outcome, RowOutcome::Invalid | RowOutcome::Error))
        .collect();
    for row in &shown {
        let outcome = match row.outcome {
            RowOutcome::New => "new",
            RowOutcome::Update => "update",
            RowOutcome::Skip => "skip",
            RowOutcome::Delete => "delete",
            RowOutcome::Invalid | RowOutcome::Error => continue,
        };
        let changes = if row.outcome == RowOutcome::Update {
            row.changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.column, quoted(&c.old), quoted(&c.new)))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            String::new()
        };
        let line = format!("row {:<5} {outcome:<7}{changes}", row.row);
        let _ = writeln!(err, "{}", line.trim_end());
    }
    let listed = result.rows.len() as u64;
    let total = result.totals.rows() - result.totals.failed();
    if listed > 0 && total > listed {
        let _ = writeln!(
            err,
            "… and {} more rows",
            rowport::result::group(total - listed)
        );
    }
}

/// A value for a diff line: quoted when empty or when spaces would blur its edges.
fn quoted(value: &str) -> String {
    if value.is_empty() || value.trim() != value {
        format!("\"{value}\"")
    } else {
        rowport::result::cut(value, 40)
    }
}

/// An I/O error's reason without the OS error number.
pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let text = e.to_string();
            text.split(" (os error").next().unwrap_or(&text).to_owned()
        }
    }
}
