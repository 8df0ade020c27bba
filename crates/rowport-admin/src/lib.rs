//! rowport's web admin: log in, browse a table, import a file with a per-row preview, export
//! what you see. `rowport serve` runs it; an application nests [`router`]'s `axum::Router`
//! in its own.
//!
//! The web layer ([`web`]: views, templates, sessions, CSRF) sits on [`state`], rowport's own
//! state: users, permissions, sessions, pending uploads, remembered column mappings and
//! import jobs, kept apart from the user's tables in SQLite, PostgreSQL or MySQL, with Redis
//! as an option for sessions and uploads. The views reach the state only through
//! [`web::port::AdminState`].
#![forbid(unsafe_code)]

pub mod settings;
pub mod state;
pub mod web;

pub use settings::AdminSettings;
pub use web::{router, Admin, AdminError};
