//! The `rowport` command. Parsing lives in `cli`, behaviour in `commands`, and every
//! failure becomes one `error:` line, an optional `hint:` line and a documented exit code.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod failure;
mod progress;

use std::io::Write;
use std::process::ExitCode as ProcessExit;

use clap::Parser;

use crate::failure::{ExitCode, Failure};

fn main() -> ProcessExit {
    let cli = cli::Cli::parse();
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(error) => report(&error),
    };
    ProcessExit::from(code as u8)
}

/// Prints a failure on stderr in the house style and returns its exit code.
fn report(error: &anyhow::Error) -> ExitCode {
    // A reader that went away (`rowport export csv book | head`) is not a failure.
    if is_broken_pipe(error) {
        return ExitCode::Success;
    }
    let mut stderr = std::io::stderr().lock();
    match error.downcast_ref::<Failure>() {
        Some(failure) => {
            let _ = writeln!(stderr, "error: {}", failure.message);
            if let Some(hint) = &failure.hint {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            failure.code
        }
        None => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::Io
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(|e| e.kind())
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(|e| e.io_error_kind())
            });
        kind == Some(std::io::ErrorKind::BrokenPipe)
    }) || matches!(error.downcast_ref::<Failure>(), Some(f) if f.broken_pipe)
}
