/// Why a file could not be read or written. Every message names the file (as the user gave
/// it) and, where it applies, the row and column.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Reading or writing the underlying stream failed.
    #[error("{source_name}: {}", io_reason(error))]
    Io {
        /// The file as the user named it.
        source_name: String,
        /// The operating system's error.
        #[source]
        error: std::io::Error,
    },
    /// The bytes are not valid in the file's encoding.
    #[error("{source_name}, row {row}: the text is not valid {encoding}")]
    Encoding {
        /// The file as the user named it.
        source_name: String,
        /// The row (line) where the bad bytes are.
        row: u64,
        /// The encoding that was expected.
        encoding: String,
    },
    /// A row has more cells than the header.
    #[error("{source_name}, row {row}: the row has {found} cells but the header has {expected}")]
    RowTooLong {
        /// The file as the user named it.
        source_name: String,
        /// The row (line) of the long record.
        row: u64,
        /// How many cells the header has.
        expected: usize,
        /// How many cells the row has.
        found: usize,
    },
    /// The file's structure is wrong for its format (bad JSON, a missing header, …).
    #[error("{source_name}{}: {message}", row.map(|r| format!(", row {r}")).unwrap_or_default())]
    Malformed {
        /// The file as the user named it.
        source_name: String,
        /// The row, when the problem belongs to one.
        row: Option<u64>,
        /// What is wrong, in one sentence.
        message: String,
    },
    /// The file goes past one of the [`Limits`](crate::Limits) that keep memory bounded.
    #[error("{source_name}{}: {what} exceeds the limit of {limit} (raise it with {flag} or `{setting}` in rowport.toml)", row.map(|r| format!(", row {r}")).unwrap_or_default())]
    LimitExceeded {
        /// The file as the user named it.
        source_name: String,
        /// The row, when the problem belongs to one.
        row: Option<u64>,
        /// What went past the limit, e.g. "a line of more than 16 MiB".
        what: String,
        /// The limit as a person reads it, e.g. "16 MiB".
        limit: String,
        /// The command-line flag that raises it, e.g. `--max-line-bytes`.
        flag: &'static str,
        /// The rowport.toml setting that raises it, e.g. `limits.max_line_bytes`.
        setting: &'static str,
    },
    /// The format can be read but not written.
    #[error("rowport reads {format} files but cannot write them; export to xlsx instead")]
    ReadOnly {
        /// The format asked for.
        format: crate::Format,
    },
    /// A value cannot be written in the chosen encoding.
    #[error("a value cannot be written in {encoding}: {value:?}")]
    Unencodable {
        /// The target encoding.
        encoding: String,
        /// The offending value (cut when long).
        value: String,
    },
}

/// An I/O error's reason as a person reads it: without the OS error number.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}
