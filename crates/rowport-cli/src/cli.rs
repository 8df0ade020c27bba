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

    /// Never draw a progress bar (it is drawn only when stderr is a terminal)
    #[arg(long, global = true)]
    pub no_progress: bool,
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
    /// Run the web admin.
    Serve(ServeArgs),
    /// Manage the web admin's users and their permissions.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "HOST:PORT")]
    pub addr: String,

    /// Create the demo (./rowport-demo, as `rowport demo` does) when missing, serve it, and
    /// create an admin user whose password is printed once.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input, or made up and printed once.
    Add(UserAddArgs),
    /// Give a user permissions on a resource.
    Grant(UserGrantArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// The login name.
    pub name: String,

    /// The user may do everything with every resource.
    #[arg(long)]
    pub superuser: bool,

    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserGrantArgs {
    /// The user.
    pub name: String,

    /// The resource (a table, or a name declared in rowport.toml).
    pub resource: String,

    /// Comma-separated: view, import, export.
    #[arg(value_name = "PERMISSIONS")]
    pub permissions: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The resource (a table, or a name declared in rowport.toml).
    pub resource: String,

    /// The file to read, or - for standard input.
    pub file: PathBuf,

    /// The file's format: csv, tsv, json, jsonl, yaml, html, xlsx, xls or ods [default: from the file's extension, else from its content]
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: Option<String>,

    /// The file's text encoding, e.g. utf-8, latin1, windows-1252, shift_jis, gbk, utf-16le [default: detected: a byte-order mark, else UTF-8 when valid, else the likeliest]
    #[arg(long, value_name = "ENCODING")]
    pub encoding: Option<String>,

    /// CSV/TSV field delimiter: one character, or `tab` [default: sniffed among , ; tab | for CSV; tab for TSV]
    #[arg(long, short = 'd', value_name = "CHAR", value_parser = parse_char)]
    pub delimiter: Option<u8>,

    /// CSV/TSV quote character [default: sniffed: " or ']
    #[arg(long, value_name = "CHAR", value_parser = parse_char)]
    pub quote: Option<u8>,
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

    /// Write the rows that failed, with an Error column, to FILE, in FILE's format (by its extension) or else the input's: fix them and import FILE again (with --skip-invalid, the valid rows are committed meanwhile)
    #[arg(long, value_name = "FILE")]
    pub failed_out: Option<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Bounds on what a file may make rowport hold in memory; each also in rowport.toml's
/// `[limits]`, which these flags override.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits (for untrusted files; also [limits] in rowport.toml)")]
pub struct LimitArgs {
    /// The longest row (line or record) of a text file, e.g. 256MiB [default: 64MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_line_bytes: Option<u64>,

    /// The longest single cell, e.g. 64MiB [default: 32MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_cell_bytes: Option<u64>,

    /// The most a compressed workbook (xlsx, ods) may expand to, e.g. 8GiB [default: 4GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_decompressed_bytes: Option<u64>,

    /// The highest expanded-to-compressed ratio of one workbook part [default: 200]
    #[arg(long, value_name = "RATIO", value_parser = parse_count)]
    pub max_compression_ratio: Option<u64>,

    /// The most cells a worksheet may declare or hold [default: 500000000]
    #[arg(long, value_name = "COUNT", value_parser = parse_count)]
    pub max_cells: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format to write: csv, tsv, json, jsonl, yaml, html, xlsx or ods (xls is read only).
    pub format: String,

    /// The resource (a table, or a name declared in rowport.toml).
    pub resource: String,

    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Only these fields, in this order (names or column headers, comma-separated).
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub fields: Option<Vec<String>>,

    /// Only rows where FIELD compares so with VALUE; repeat for several (all must hold).
    /// OP is one of = != < <= > >=; FIELD may be a relation path (author__name); an empty
    /// VALUE with = or != means null, e.g. --where "price>=10" --where "author__name=Frank Herbert"
    #[arg(long = "where", value_name = "FIELD OP VALUE")]
    pub filters: Vec<String>,

    /// Order of the rows: fields or relation paths, comma-separated, - first for
    /// descending, e.g. -published,name [default: the primary key]
    #[arg(
        long,
        value_name = "[-]A,B",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub order_by: Vec<String>,

    /// Export at most N rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Skip the first N rows (of the order).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: u64,

    /// Text encoding of the output, e.g. utf-8-sig (for Excel), latin1 [default: utf-8]
    #[arg(long, value_name = "ENCODING")]
    pub encoding: Option<String>,

    /// CSV/TSV field delimiter: one character, or `tab` [default: , for CSV, tab for TSV]
    #[arg(long, short = 'd', value_name = "CHAR", value_parser = parse_char)]
    pub delimiter: Option<u8>,
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

/// A delimiter or quote: one ASCII character, or `tab`.
fn parse_char(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ => match text.as_bytes() {
            [byte] if byte.is_ascii() && !byte.is_ascii_control() => Ok(*byte),
            _ => Err(format!(
                "\"{text}\" is not one character (write one ASCII character, or `tab`)"
            )),
        },
    }
}

/// A size in bytes: `1048576`, `64MiB`, `1.5GiB`, `10MB`.
fn parse_size(text: &str) -> Result<u64, String> {
    rowport_formats::parse_size(text).map_err(|e| e.to_string())
}

/// A whole number, `_` allowed between digits: `1_000_000`.
fn parse_count(text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("\"{text}\" is not a whole number"))
}
