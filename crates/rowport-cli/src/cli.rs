//! The command line, as clap reads it. Behaviour lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rowport_formats::SheetRef;

/// Move rows between files and databases, with validation, lookups, a diff preview and
/// all-or-nothing commits.
#[derive(Debug, Parser)]
#[command(name = "rowport", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database URL, e.g. sqlite://books.db [default: the config's `database`, else sqlite://rowport.db]
    #[arg(long, global = true, env = "ROWPORT_DATABASE_URL", value_name = "URL")]
    pub db: Option<String>,

    /// Config file declaring resources [default: ./rowport.toml when present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a file's rows into a resource's table.
    Import(ImportArgs),
    /// Export a resource's rows to a file.
    Export(ExportArgs),
    /// Show resources, or one resource's fields and options.
    Inspect(InspectArgs),
    /// Create a demo database and rowport.toml with the books workload.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The resource (a table, or a name declared in rowport.toml).
    pub resource: String,

    /// The file to read, or - for standard input.
    pub file: PathBuf,

    /// The file's format: csv, tsv or json [default: from the file's extension]
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: Option<String>,

    /// The file's text encoding, e.g. latin1, windows-1252, utf-16le [default: utf-8]
    #[arg(long, value_name = "ENCODING")]
    pub encoding: Option<String>,

    /// The worksheet of a workbook (xlsx, xls, ods), by name or 0-based position [default: the active sheet]
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<SheetRef>,

    /// Run the whole import, then roll it back: nothing is committed.
    #[arg(long, short = 'n')]
    pub dry_run: bool,

    /// Commit the valid rows even when some rows are invalid (they are reported).
    #[arg(long)]
    pub skip_invalid: bool,

    /// Stop at the first invalid row.
    #[arg(long)]
    pub raise_errors: bool,

    /// Print the full result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format to write: csv, tsv or json.
    pub format: String,

    /// The resource (a table, or a name declared in rowport.toml).
    pub resource: String,

    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Only these fields, in this order (names or column headers, comma-separated).
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub fields: Option<Vec<String>>,

    /// Text encoding of the output, e.g. utf-8-sig (for Excel), latin1 [default: utf-8]
    #[arg(long, value_name = "ENCODING")]
    pub encoding: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A resource to show in detail.
    pub resource: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The folder to write the demo into (created if missing).
    #[arg(long, default_value = "rowport-demo", value_name = "DIR")]
    pub path: PathBuf,

    /// Replace an existing demo in that folder.
    #[arg(long)]
    pub force: bool,
}
