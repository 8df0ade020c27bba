//! One module per command, and what they share: finding the config, the database and the
//! resource.

mod demo;
mod export;
mod import;
mod inspect;
mod serve;
mod user;

use std::path::{Path, PathBuf};

use anyhow::Result;
use rowport::config::Config;
use rowport::{Resource, Store};

use crate::cli::{Cli, Command, GlobalArgs};
use crate::failure::{ExitCode, Failure};

/// Runs the command; returns the exit code for a run that completed.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Import(args) => import::run(&cli.global, args),
        Command::Export(args) => export::run(&cli.global, args),
        Command::Inspect(args) => inspect::run(&cli.global, args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(&cli.global, args),
        Command::User(command) => user::run(&cli.global, command),
    }
}

/// The config in use: `--config`, else `./rowport.toml` when present, else none.
fn load_config(global: &GlobalArgs) -> Result<Config, Failure> {
    match &global.config {
        Some(path) => {
            if !path.exists() {
                return Err(Failure::usage(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            Ok(Config::load(path)?)
        }
        None => {
            let default = Path::new("rowport.toml");
            if default.exists() {
                Ok(Config::load(default)?)
            } else {
                Ok(Config::default())
            }
        }
    }
}

/// The database URL: `--db` (or `ROWPORT_DATABASE_URL`), else the config's, else
/// `sqlite://rowport.db`. A relative SQLite path in a config is relative to that file.
fn database_url(global: &GlobalArgs, config: &Config) -> String {
    if let Some(url) = &global.db {
        return url.clone();
    }
    match &config.database {
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(path) if !path.starts_with('/') && !path.starts_with(':') => {
                let dir = config.path.parent().unwrap_or(Path::new(""));
                format!("sqlite://{}", dir.join(path).display())
            }
            _ => url.clone(),
        },
        None => "sqlite://rowport.db".to_owned(),
    }
}

/// What every data command needs: an open store, the resource, and the config's limits.
struct Session {
    store: Box<dyn Store>,
    resource: Resource,
    /// The default limits with the config's `[limits]` applied.
    limits: rowport_formats::Limits,
}

fn open_session(global: &GlobalArgs, resource: &str) -> Result<Session, Failure> {
    let config = load_config(global)?;
    let mut store = rowport_sql::connect(&database_url(global, &config), false)?;
    let resource = config.resource(resource, store.as_mut())?;
    Ok(Session {
        store,
        resource,
        limits: config.limits.apply(rowport_formats::Limits::default()),
    })
}

/// The name a path is shown by in messages: as the user gave it, or `standard input`.
fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Parses `--encoding`.
fn parse_encoding(label: Option<&str>) -> Result<Option<rowport_formats::Encoding>, Failure> {
    label
        .map(|l| {
            l.parse()
                .map_err(|e: rowport_formats::EncodingError| Failure::usage(e.to_string()))
        })
        .transpose()
}

/// Where a command's output goes when it names a file: a temporary file beside it, moved
/// into place only when everything was written, so a failed export leaves nothing behind.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::NamedTempFile::new_in(&dir).map_err(|e| {
        Failure::new(
            ExitCode::Io,
            format!(
                "cannot write to {}: {}",
                dir.display(),
                import::io_reason(&e)
            ),
        )
    })
}
