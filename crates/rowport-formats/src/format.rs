use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A file format rowport can read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// A JSON array of objects, one object per row.
    Json,
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// YAML: a list of mappings.
    Yaml,
    /// An HTML page; rows come from its first `<table>`.
    Html,
    /// An Excel workbook (`.xlsx`, `.xlsm`).
    Xlsx,
    /// A legacy Excel workbook (`.xls`), read only.
    Xls,
    /// An OpenDocument spreadsheet (`.ods`).
    Ods,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 9] = [
        Format::Csv,
        Format::Tsv,
        Format::Json,
        Format::Jsonl,
        Format::Yaml,
        Format::Html,
        Format::Xlsx,
        Format::Xls,
        Format::Ods,
    ];

    /// The format's short name, as given to `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Yaml => "yaml",
            Format::Html => "html",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
        }
    }

    /// Whether rowport can write the format (XLS is read only).
    pub fn writable(self) -> bool {
        self != Format::Xls
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.name()
    }

    /// The MIME type a web server sends the format as.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv",
            Format::Tsv => "text/tab-separated-values",
            Format::Json => "application/json",
            Format::Jsonl => "application/jsonl",
            Format::Yaml => "application/yaml",
            Format::Html => "text/html",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Xls => "application/vnd.ms-excel",
            Format::Ods => "application/vnd.oasis.opendocument.spreadsheet",
        }
    }

    /// Guesses the format from a file name's extension, ignoring case.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        ext.parse().ok()
    }

    pub(crate) fn default_delimiter(self) -> u8 {
        match self {
            Format::Tsv => b'\t',
            _ => b',',
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a format name rowport does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown format \"{0}\" (expected one of: csv, tsv, json, jsonl, yaml, html, xlsx, xls, ods)"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "yaml" | "yml" => Ok(Format::Yaml),
            "html" | "htm" => Ok(Format::Html),
            "xlsx" | "xlsm" => Ok(Format::Xlsx),
            "xls" => Ok(Format::Xls),
            "ods" => Ok(Format::Ods),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}
