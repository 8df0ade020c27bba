//! `rowport user add|grant`: the web admin's users, kept in its state store.

use std::io::BufRead;

use anyhow::Result;
use rand::Rng;
use rowport_admin::state::{Permission, StateError, StateStore};
use rowport_admin::web::adapter::state_config;

use crate::cli::{GlobalArgs, UserCommand};
use crate::failure::{ExitCode, Failure};

pub fn run(global: &GlobalArgs, command: UserCommand) -> Result<ExitCode> {
    let config = super::load_config(global)?;
    let settings = state_config(&config).map_err(|e| Failure::usage(e.0))?;
    let store = StateStore::open(&settings).map_err(failure)?;
    match command {
        UserCommand::Add(args) => {
            let (password, made_up) = if args.password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                    Failure::new(ExitCode::Io, format!("cannot read standard input: {e}"))
                })?;
                let password = line.trim_end_matches(['\r', '\n']).to_owned();
                if password.is_empty() {
                    return Err(Failure::usage("the password on standard input is empty").into());
                }
                (password, false)
            } else {
                (made_up_password(), true)
            };
            store
                .add_user(&args.name, &password, args.superuser)
                .map_err(failure)?;
            let kind = if args.superuser { "superuser" } else { "user" };
            eprintln!("added {kind} \"{}\"", args.name);
            if made_up {
                eprintln!("password: {password} (shown once)");
            }
            if !args.superuser {
                eprintln!(
                    "hint: give permissions with `rowport user grant {} RESOURCE view,import,export`",
                    args.name
                );
            }
        }
        UserCommand::Grant(args) => {
            let permissions = Permission::parse_list(&args.permissions).map_err(failure)?;
            let mut store_db = rowport_sql::connect(&super::database_url(global, &config), false)?;
            let known = config
                .resource_names(store_db.as_mut())
                .map_err(Failure::from)?;
            if !known.contains(&args.resource) {
                let mut f = Failure::usage(format!("there is no resource \"{}\"", args.resource));
                if let Some(close) = rowport::config::closest(&args.resource, &known) {
                    f = f.hint(format!("did you mean \"{close}\"?"));
                }
                return Err(f.into());
            }
            store
                .grant(&args.name, &args.resource, &permissions)
                .map_err(failure)?;
            let names: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
            eprintln!(
                "granted {} on \"{}\" to \"{}\"",
                names.join(", "),
                args.resource,
                args.name
            );
        }
    }
    Ok(ExitCode::Success)
}

/// A password of 20 letters and digits (about 119 bits), for `--demo` and `user add`.
pub fn made_up_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn failure(e: StateError) -> Failure {
    match e {
        StateError::UserExists(_)
        | StateError::UnknownUser(_)
        | StateError::InvalidUserName(_)
        | StateError::EmptyPassword
        | StateError::UnknownPermission(_)
        | StateError::Config(_) => {
            let text = e.to_string();
            let (message, hint) = match text.split_once("\nhint: ") {
                Some((m, h)) => (m.to_owned(), Some(h.to_owned())),
                None => (text, None),
            };
            let f = Failure::usage(message);
            match hint {
                Some(h) => f.hint(h),
                None => f,
            }
        }
        other => Failure::new(ExitCode::Io, other.to_string()),
    }
}
