//! Redis, for sessions, login failures and uploads: a few plain commands on one connection,
//! reopened when it breaks.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::db::redact;
use super::StateError;

pub(crate) struct Redis {
    client: redis::Client,
    prefix: String,
    conn: Mutex<Option<redis::Connection>>,
}

fn redis_error(e: redis::RedisError) -> StateError {
    StateError::Redis(format!("Redis failed: {e}"))
}

impl Redis {
    /// Connects once now, so that a wrong URL or a server that is down is reported when the
    /// store opens.
    pub(crate) fn connect(url: &str, prefix: &str) -> Result<Redis, StateError> {
        let client = redis::Client::open(url).map_err(|e| {
            StateError::Config(format!("Redis URL \"{}\" is not valid ({e})", redact(url)))
        })?;
        let conn = client
            .get_connection_with_timeout(Duration::from_secs(10))
            .map_err(|e| {
                StateError::Redis(format!(
                    "cannot connect to Redis at {} ({e})\nhint: start the server, or keep sessions and uploads in the database",
                    redact(url)
                ))
            })?;
        Ok(Redis {
            client,
            prefix: prefix.to_owned(),
            conn: Mutex::new(Some(conn)),
        })
    }

    /// The full key of a name.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, Option<redis::Connection>> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a command (or an atomic pipeline) on the connection, reconnecting once when the
    /// connection broke.
    pub(crate) fn run<T: redis::FromRedisValue>(
        &self,
        build: impl Fn() -> RedisCall,
    ) -> Result<T, StateError> {
        let mut guard = self.lock();
        for attempt in 0..2 {
            if guard.is_none() {
                *guard = Some(
                    self.client
                        .get_connection_with_timeout(Duration::from_secs(10))
                        .map_err(redis_error)?,
                );
            }
            let conn = guard.as_mut().expect("connection set just above");
            let result = match build() {
                RedisCall::Cmd(cmd) => cmd.query::<T>(conn),
                RedisCall::Pipe(pipe) => pipe.query::<T>(conn),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if attempt == 0 && (e.is_io_error() || e.is_connection_dropped()) => {
                    *guard = None;
                }
                Err(e) => return Err(redis_error(e)),
            }
        }
        Err(StateError::Redis("Redis failed twice in a row".to_owned()))
    }
}

/// A command or a pipeline for [`Redis::run`].
pub(crate) enum RedisCall {
    Cmd(redis::Cmd),
    Pipe(redis::Pipeline),
}

/// A command.
pub(crate) fn cmd(name: &str) -> redis::Cmd {
    redis::cmd(name)
}
