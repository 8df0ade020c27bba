//! Sessions (in the database or Redis) and the login failures that rate-limit logins.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::db::{P, V};
use super::kv::{cmd, RedisCall};
use super::{secret, secs_to_millis, time, SessionStorage, StateError, StateStore, SweepReport};

/// A logged-in session. The id goes in the cookie; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The session id: 64 hex digits from a CSPRNG (256 bits).
    pub id: String,
    /// The user logged in.
    pub user_id: i64,
    /// The CSRF synchronizer token every form of this session carries (64 hex digits).
    pub csrf_token: String,
    /// When the user logged in.
    pub created: DateTime<Utc>,
    /// When the session ends.
    pub expires: DateTime<Utc>,
}

impl Session {
    /// Whether `token` (from a submitted form) is this session's CSRF token, compared in
    /// constant time so the comparison does not leak how much of it matched.
    pub fn csrf_matches(&self, token: &str) -> bool {
        let (a, b) = (self.csrf_token.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Whether a login may be attempted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginCheck {
    /// Go on and verify the password.
    Allowed,
    /// Too many failures for this user name or from this address within the window.
    Blocked {
        /// When the oldest counted failure leaves the window (at most the window).
        retry_after: Duration,
    },
}

/// A session as Redis keeps it.
#[derive(Serialize, Deserialize)]
struct Stored {
    user_id: i64,
    csrf_token: String,
    created: i64,
    expires: i64,
}

const USER: &str = "user";
const ADDRESS: &str = "address";

impl StateStore {
    /// Starts a session for a user, lasting [`session_ttl_secs`](super::StateConfig::session_ttl_secs).
    pub fn create_session(&self, user: &super::User) -> Result<Session, StateError> {
        let now = self.now();
        let session = Session {
            id: secret::token(),
            user_id: user.id,
            csrf_token: secret::token(),
            created: time(now),
            expires: time(now.saturating_add(secs_to_millis(self.config.session_ttl_secs))),
        };
        let id_hash = secret::digest(&session.id);
        let expires = session.expires.timestamp_millis();
        match self.config.sessions {
            SessionStorage::Database => {
                let mut conn = self.db.conn()?;
                conn.exec(
                    "INSERT INTO rowport_sessions (id_hash, user_id, csrf_token, created, expires) VALUES (?, ?, ?, ?, ?)",
                    &[P::T(&id_hash), P::I(user.id), P::T(&session.csrf_token), P::I(now), P::I(expires)],
                )?;
            }
            SessionStorage::Redis => {
                let redis = self.redis()?;
                let value = serde_json::to_string(&Stored {
                    user_id: user.id,
                    csrf_token: session.csrf_token.clone(),
                    created: now,
                    expires,
                })
                .map_err(|e| StateError::Redis(format!("cannot encode a session: {e}")))?;
                let key = redis.key(&format!("session:{id_hash}"));
                let ttl = secs_to_millis(self.config.session_ttl_secs).max(1);
                redis.run::<()>(|| {
                    RedisCall::Cmd(cmd("SET").arg(&key).arg(&value).arg("PX").arg(ttl).clone())
                })?;
            }
        }
        Ok(session)
    }

    /// The live session with this id; `None` when it is unknown, expired, logged out, or
    /// not shaped like a session id.
    pub fn session(&self, id: &str) -> Result<Option<Session>, StateError> {
        if !secret::is_token(id) {
            return Ok(None);
        }
        let id_hash = secret::digest(id);
        let now = self.now();
        let stored = match self.config.sessions {
            SessionStorage::Database => {
                let mut conn = self.db.conn()?;
                conn.first(
                    "SELECT user_id, csrf_token, created, expires FROM rowport_sessions WHERE id_hash = ?",
                    &[P::T(&id_hash)],
                )?
                .map(|row| {
                    let mut it = row.into_iter();
                    let mut next = || it.next().unwrap_or(V::Null);
                    Stored {
                        user_id: next().i64(),
                        csrf_token: next().text(),
                        created: next().i64(),
                        expires: next().i64(),
                    }
                })
            }
            SessionStorage::Redis => {
                let redis = self.redis()?;
                let key = redis.key(&format!("session:{id_hash}"));
                let value: Option<String> =
                    redis.run(|| RedisCall::Cmd(cmd("GET").arg(&key).clone()))?;
                value.and_then(|v| serde_json::from_str(&v).ok())
            }
        };
        Ok(stored.filter(|s| s.expires > now).map(|s| Session {
            id: id.to_owned(),
            user_id: s.user_id,
            csrf_token: s.csrf_token,
            created: time(s.created),
            expires: time(s.expires),
        }))
    }

    /// Ends a session (logout). Unknown ids are ignored.
    pub fn delete_session(&self, id: &str) -> Result<(), StateError> {
        if !secret::is_token(id) {
            return Ok(());
        }
        let id_hash = secret::digest(id);
        match self.config.sessions {
            SessionStorage::Database => {
                let mut conn = self.db.conn()?;
                conn.exec(
                    "DELETE FROM rowport_sessions WHERE id_hash = ?",
                    &[P::T(&id_hash)],
                )?;
            }
            SessionStorage::Redis => {
                let redis = self.redis()?;
                let key = redis.key(&format!("session:{id_hash}"));
                redis.run::<()>(|| RedisCall::Cmd(cmd("DEL").arg(&key).clone()))?;
            }
        }
        Ok(())
    }

    /// Whether a login for `user_name` from `address` (the client's IP address) may be
    /// tried now, given the failures recorded within
    /// [`login_window_secs`](super::StateConfig::login_window_secs). Counted across every
    /// instance that shares the store.
    pub fn check_login(&self, user_name: &str, address: &str) -> Result<LoginCheck, StateError> {
        let window = secs_to_millis(self.config.login_window_secs);
        let now = self.now();
        let limits = [
            (USER, user_name, self.config.login_max_failures_per_user),
            (ADDRESS, address, self.config.login_max_failures_per_address),
        ];
        let mut wait: i64 = 0;
        for (kind, subject, max) in limits {
            let (count, oldest_ms_left) = self.failures(kind, subject, now, window)?;
            if count >= u64::from(max) {
                wait = wait.max(oldest_ms_left.max(1));
            }
        }
        Ok(if wait > 0 {
            LoginCheck::Blocked {
                retry_after: Duration::from_millis(wait.unsigned_abs()),
            }
        } else {
            LoginCheck::Allowed
        })
    }

    /// Records a failed login for a user name and a client address.
    pub fn record_login_failure(&self, user_name: &str, address: &str) -> Result<(), StateError> {
        let now = self.now();
        let window = secs_to_millis(self.config.login_window_secs).max(1);
        for (kind, subject) in [(USER, user_name), (ADDRESS, address)] {
            let subject = secret::digest(subject);
            match self.config.sessions {
                SessionStorage::Database => {
                    let mut conn = self.db.conn()?;
                    conn.exec(
                        "INSERT INTO rowport_login_failures (kind, subject, at) VALUES (?, ?, ?)",
                        &[P::T(kind), P::T(&subject), P::I(now)],
                    )?;
                }
                SessionStorage::Redis => {
                    let redis = self.redis()?;
                    let key = redis.key(&format!("login-failures:{kind}:{subject}"));
                    // The window starts at the first failure: SET NX gives the key its
                    // expiry once, INCR keeps it.
                    redis.run::<()>(|| {
                        let mut pipe = redis::pipe();
                        pipe.atomic()
                            .cmd("SET")
                            .arg(&key)
                            .arg(0)
                            .arg("PX")
                            .arg(window)
                            .arg("NX")
                            .ignore()
                            .cmd("INCR")
                            .arg(&key)
                            .ignore();
                        RedisCall::Pipe(pipe)
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Forgets the failures of a user name (after a successful login). The address's
    /// failures stay: they count attempts on every name.
    pub fn clear_login_failures(&self, user_name: &str) -> Result<(), StateError> {
        let subject = secret::digest(user_name);
        match self.config.sessions {
            SessionStorage::Database => {
                let mut conn = self.db.conn()?;
                conn.exec(
                    "DELETE FROM rowport_login_failures WHERE kind = ? AND subject = ?",
                    &[P::T(USER), P::T(&subject)],
                )?;
            }
            SessionStorage::Redis => {
                let redis = self.redis()?;
                let key = redis.key(&format!("login-failures:{USER}:{subject}"));
                redis.run::<()>(|| RedisCall::Cmd(cmd("DEL").arg(&key).clone()))?;
            }
        }
        Ok(())
    }

    /// Failures within the window, and the milliseconds until the oldest leaves it.
    fn failures(
        &self,
        kind: &str,
        subject: &str,
        now: i64,
        window: i64,
    ) -> Result<(u64, i64), StateError> {
        let subject = secret::digest(subject);
        match self.config.sessions {
            SessionStorage::Database => {
                let mut conn = self.db.conn()?;
                let row = conn.first(
                    "SELECT COUNT(*), MIN(at) FROM rowport_login_failures WHERE kind = ? AND subject = ? AND at > ?",
                    &[P::T(kind), P::T(&subject), P::I(now.saturating_sub(window))],
                )?;
                let (count, oldest) = match row {
                    Some(row) => {
                        let mut it = row.into_iter();
                        (
                            it.next().map_or(0, |v| v.i64()),
                            it.next().and_then(|v| v.opt_i64()),
                        )
                    }
                    None => (0, None),
                };
                let left = oldest.map_or(0, |at| at.saturating_add(window).saturating_sub(now));
                Ok((count.max(0).unsigned_abs(), left))
            }
            SessionStorage::Redis => {
                let redis = self.redis()?;
                let key = redis.key(&format!("login-failures:{kind}:{subject}"));
                let (count, ttl): (Option<i64>, i64) = redis.run(|| {
                    let mut pipe = redis::pipe();
                    pipe.cmd("GET").arg(&key).cmd("PTTL").arg(&key);
                    RedisCall::Pipe(pipe)
                })?;
                Ok((count.unwrap_or(0).max(0).unsigned_abs(), ttl.max(0)))
            }
        }
    }

    pub(crate) fn sweep_sessions(
        &self,
        now: i64,
        report: &mut SweepReport,
    ) -> Result<(), StateError> {
        if self.config.sessions == SessionStorage::Database {
            let window = secs_to_millis(self.config.login_window_secs);
            let mut conn = self.db.conn()?;
            report.sessions += conn.exec(
                "DELETE FROM rowport_sessions WHERE expires <= ?",
                &[P::I(now)],
            )?;
            report.login_failures += conn.exec(
                "DELETE FROM rowport_login_failures WHERE at <= ?",
                &[P::I(now.saturating_sub(window))],
            )?;
        }
        Ok(())
    }
}
