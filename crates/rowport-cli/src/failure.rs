//! How a command fails: one sentence, an optional hint, and the documented exit code.

use std::fmt;

use rowport::config::ConfigError;
use rowport::store::{StoreError, StoreErrorKind};
use rowport::{ExportError, ImportError};
use rowport_formats::FormatError;

/// The exit codes, the same in every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: success.
    Success = 0,
    /// 1: data problems (invalid rows, a malformed file); nothing committed unless asked.
    Data = 1,
    /// 2: usage or configuration.
    Usage = 2,
    /// 3: I/O or database failure.
    Io = 3,
}

/// A failure to report: `error: <message>` then, when there is a next step, `hint: <hint>`.
#[derive(Debug)]
pub struct Failure {
    pub code: ExitCode,
    pub message: String,
    pub hint: Option<String>,
    /// The output's reader went away; nothing is reported.
    pub broken_pipe: bool,
}

impl Failure {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            hint: None,
            broken_pipe: false,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Usage, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let code = match e.kind {
            StoreErrorKind::NotFound | StoreErrorKind::Config => ExitCode::Usage,
            StoreErrorKind::Connection | StoreErrorKind::Database => ExitCode::Io,
        };
        let hint = match e.kind {
            StoreErrorKind::Config => Some("write the database as sqlite://path/to/file.db".to_owned()),
            StoreErrorKind::Connection if e.message.contains("does not exist") => Some(
                "run `rowport demo` to create a demo database, or pass --db sqlite://path/to/file.db".to_owned(),
            ),
            _ => None,
        };
        Failure {
            code,
            message: e.message,
            hint,
            broken_pipe: false,
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Store(e) => e.into(),
            ConfigError::Read { .. } => Failure::new(ExitCode::Io, e.to_string()),
            ConfigError::UnknownResource { .. } => {
                Failure::usage(e.to_string()).hint("`rowport inspect` lists the resources")
            }
            other => Failure::usage(other.to_string()),
        }
    }
}

impl From<FormatError> for Failure {
    fn from(e: FormatError) -> Self {
        match &e {
            FormatError::Io { error, .. } if error.kind() == std::io::ErrorKind::BrokenPipe => {
                Failure {
                    broken_pipe: true,
                    ..Failure::new(ExitCode::Io, e.to_string())
                }
            }
            FormatError::Io { .. } => Failure::new(ExitCode::Io, e.to_string()),
            FormatError::Encoding { .. } => Failure::new(ExitCode::Data, e.to_string())
                .hint("pass --encoding with the file's encoding, e.g. --encoding latin1"),
            FormatError::LimitExceeded { flag, limit, .. } => {
                let hint = match rowport_formats::parse_size(limit) {
                    Ok(bytes) if flag.ends_with("-bytes") => {
                        let doubled = rowport_formats::format_size(bytes.saturating_mul(2));
                        format!(
                            "if you trust the file, raise the limit, e.g. {flag} {}",
                            doubled.replace(' ', "").replace("bytes", "")
                        )
                    }
                    _ => format!("if you trust the file, raise the limit with {flag}"),
                };
                Failure::new(ExitCode::Data, e.to_string()).hint(hint)
            }
            FormatError::ReadOnly { .. } => Failure::usage(e.to_string())
                .hint("xlsx holds the same data and opens wherever xls does"),
            _ => Failure::new(ExitCode::Data, e.to_string()),
        }
    }
}

impl From<ImportError> for Failure {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Read(e) => e.into(),
            ImportError::Store(e) => e.into(),
            ImportError::Columns { .. } => Failure::new(ExitCode::Data, e.to_string()),
            ImportError::Hook(e) => Failure::new(ExitCode::Data, e.to_string()),
            ImportError::RowFailed(..) => Failure::new(ExitCode::Data, e.to_string()).hint(
                "nothing was committed; fix the row, or drop --raise-errors to see every error",
            ),
        }
    }
}

impl From<ExportError> for Failure {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Write(e) => match e {
                FormatError::Unencodable { .. } => Failure::new(ExitCode::Data, e.to_string())
                    .hint("choose an encoding that can hold every value, such as utf-8"),
                other => other.into(),
            },
            ExportError::Store(e) => e.into(),
            ExportError::Hook(e) => Failure::new(ExitCode::Data, e.to_string()),
            ExportError::UnknownField { .. } => Failure::usage(e.to_string()),
            ExportError::Filter {
                expression,
                message,
            } => Failure::usage(format!("--where \"{expression}\": {message}")),
            ExportError::Order { key, message } => {
                Failure::usage(format!("--order-by \"{key}\": {message}"))
            }
            ExportError::Field { .. } => Failure::usage(e.to_string()),
        }
    }
}
