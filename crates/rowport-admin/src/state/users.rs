//! Users, their argon2id password hashes, and their grants per resource.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::P;
use super::db::{Conn, V};
use super::{secret, time, StateError, StateStore};

/// A user of the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user's id in the state database.
    pub id: i64,
    /// The login name.
    pub name: String,
    /// A superuser has every permission on every resource.
    pub superuser: bool,
    /// When the user was added.
    pub created: DateTime<Utc>,
}

/// One thing a user may do with a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// See the resource in the index and its change list.
    View,
    /// Import into it.
    Import,
    /// Export from it.
    Export,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 3] = [Permission::View, Permission::Import, Permission::Export];

    /// `view`, `import` or `export`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::View => "view",
            Permission::Import => "import",
            Permission::Export => "export",
        }
    }

    /// Parses a comma-separated list such as `view,import,export` (as `rowport user grant`
    /// takes it); `all` stands for all three.
    ///
    /// ```
    /// use rowport_admin::state::Permission;
    ///
    /// assert_eq!(Permission::parse_list("view, export").unwrap(), vec![Permission::View, Permission::Export]);
    /// assert!(Permission::parse_list("view,delete").is_err());
    /// ```
    pub fn parse_list(text: &str) -> Result<Vec<Permission>, StateError> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.eq_ignore_ascii_case("all") {
                out.extend(Permission::ALL);
            } else {
                out.push(part.parse()?);
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(StateError::UnknownPermission(text.to_owned()));
        }
        Ok(out)
    }
}

impl FromStr for Permission {
    type Err = StateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "view" => Ok(Permission::View),
            "import" => Ok(Permission::Import),
            "export" => Ok(Permission::Export),
            _ => Err(StateError::UnknownPermission(s.to_owned())),
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one user may do with one resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Permissions {
    /// May see it.
    pub view: bool,
    /// May import into it.
    pub import: bool,
    /// May export from it.
    pub export: bool,
}

impl Permissions {
    /// Every permission (a superuser's).
    pub const ALL: Permissions = Permissions {
        view: true,
        import: true,
        export: true,
    };

    /// Whether `permission` is among them.
    pub fn has(&self, permission: Permission) -> bool {
        match permission {
            Permission::View => self.view,
            Permission::Import => self.import,
            Permission::Export => self.export,
        }
    }

    /// True when none is granted.
    pub fn is_empty(&self) -> bool {
        !(self.view || self.import || self.export)
    }

    fn set(&mut self, permission: Permission) {
        match permission {
            Permission::View => self.view = true,
            Permission::Import => self.import = true,
            Permission::Export => self.export = true,
        }
    }
}

/// `view,import` (empty when none).
impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Permission::ALL
            .into_iter()
            .filter(|p| self.has(*p))
            .map(Permission::as_str)
            .collect();
        f.write_str(&names.join(","))
    }
}

fn check_name(name: &str) -> Result<(), StateError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 150
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidUserName(name.to_owned()))
    }
}

const USER_COLUMNS: &str = "id, name, superuser, created";

fn user_from(row: Vec<V>) -> User {
    let mut it = row.into_iter();
    let mut next = || it.next().unwrap_or(V::Null);
    User {
        id: next().i64(),
        name: next().text(),
        superuser: next().i64() != 0,
        created: time(next().i64()),
    }
}

fn find(conn: &mut dyn Conn, name: &str) -> Result<Option<User>, StateError> {
    Ok(conn
        .first(
            &format!("SELECT {USER_COLUMNS} FROM rowport_users WHERE name = ?"),
            &[P::T(name)],
        )?
        .map(user_from))
}

impl StateStore {
    /// Adds a user with an argon2id hash of the password (the password itself is kept
    /// nowhere).
    pub fn add_user(
        &self,
        name: &str,
        password: &str,
        superuser: bool,
    ) -> Result<User, StateError> {
        check_name(name)?;
        if password.is_empty() {
            return Err(StateError::EmptyPassword);
        }
        let hash = secret::hash_password(password)?;
        let now = self.now();
        self.db.transaction(|conn| {
            if find(conn, name)?.is_some() {
                return Err(StateError::UserExists(name.to_owned()));
            }
            let added = conn.exec(
                "INSERT INTO rowport_users (name, password_hash, superuser, created) VALUES (?, ?, ?, ?)",
                &[P::T(name), P::T(&hash), P::I(superuser.into()), P::I(now)],
            );
            if let Err(e) = added {
                // Another instance added the same name between the check and the insert.
                return match find(conn, name) {
                    Ok(Some(_)) => Err(StateError::UserExists(name.to_owned())),
                    _ => Err(e),
                };
            }
            find(conn, name)?.ok_or_else(|| StateError::UnknownUser(name.to_owned()))
        })
    }

    /// Replaces a user's password.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), StateError> {
        if password.is_empty() {
            return Err(StateError::EmptyPassword);
        }
        let hash = secret::hash_password(password)?;
        let mut conn = self.db.conn()?;
        let n = conn.exec(
            "UPDATE rowport_users SET password_hash = ? WHERE name = ?",
            &[P::T(&hash), P::T(name)],
        )?;
        if n == 0 {
            return Err(StateError::UnknownUser(name.to_owned()));
        }
        Ok(())
    }

    /// Makes a user a superuser, or not.
    pub fn set_superuser(&self, name: &str, superuser: bool) -> Result<(), StateError> {
        let mut conn = self.db.conn()?;
        let user =
            find(&mut *conn, name)?.ok_or_else(|| StateError::UnknownUser(name.to_owned()))?;
        conn.exec(
            "UPDATE rowport_users SET superuser = ? WHERE id = ?",
            &[P::I(superuser.into()), P::I(user.id)],
        )?;
        Ok(())
    }

    /// Removes a user, their grants and their sessions kept in the database; false when
    /// there was no such user.
    pub fn remove_user(&self, name: &str) -> Result<bool, StateError> {
        self.db.transaction(|conn| {
            let Some(user) = find(conn, name)? else {
                return Ok(false);
            };
            conn.exec(
                "DELETE FROM rowport_grants WHERE user_id = ?",
                &[P::I(user.id)],
            )?;
            conn.exec(
                "DELETE FROM rowport_sessions WHERE user_id = ?",
                &[P::I(user.id)],
            )?;
            conn.exec("DELETE FROM rowport_users WHERE id = ?", &[P::I(user.id)])?;
            Ok(true)
        })
    }

    /// The user of this name.
    pub fn user(&self, name: &str) -> Result<Option<User>, StateError> {
        let mut conn = self.db.conn()?;
        find(&mut *conn, name)
    }

    /// The user with this id (a session's user).
    pub fn user_by_id(&self, id: i64) -> Result<Option<User>, StateError> {
        let mut conn = self.db.conn()?;
        Ok(conn
            .first(
                &format!("SELECT {USER_COLUMNS} FROM rowport_users WHERE id = ?"),
                &[P::I(id)],
            )?
            .map(user_from))
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>, StateError> {
        let mut conn = self.db.conn()?;
        Ok(conn
            .query(
                &format!("SELECT {USER_COLUMNS} FROM rowport_users ORDER BY name"),
                &[],
            )?
            .into_iter()
            .map(user_from)
            .collect())
    }

    /// The user whose name and password these are, or `None`. The password is checked with
    /// argon2 (in constant time); an unknown name is checked against a decoy hash, so it
    /// costs what a wrong password costs. Rate limiting is separate: see
    /// [`check_login`](Self::check_login).
    pub fn verify_login(&self, name: &str, password: &str) -> Result<Option<User>, StateError> {
        let row = {
            let mut conn = self.db.conn()?;
            conn.first(
                &format!("SELECT {USER_COLUMNS}, password_hash FROM rowport_users WHERE name = ?"),
                &[P::T(name)],
            )?
        };
        match row {
            Some(mut row) => {
                let hash = row.pop().unwrap_or(V::Null).text();
                let user = user_from(row);
                Ok(secret::verify_password(password, &hash).then_some(user))
            }
            None => {
                secret::verify_password(password, secret::decoy_hash());
                Ok(None)
            }
        }
    }

    /// Grants permissions on a resource to a user (adding to what they have).
    pub fn grant(
        &self,
        user: &str,
        resource: &str,
        permissions: &[Permission],
    ) -> Result<(), StateError> {
        self.db.transaction(|conn| {
            let found =
                find(conn, user)?.ok_or_else(|| StateError::UnknownUser(user.to_owned()))?;
            let sql = conn
                .insert_ignore("rowport_grants (user_id, resource, permission) VALUES (?, ?, ?)");
            for p in permissions {
                conn.exec(&sql, &[P::I(found.id), P::T(resource), P::T(p.as_str())])?;
            }
            Ok(())
        })
    }

    /// Takes permissions on a resource away from a user.
    pub fn revoke(
        &self,
        user: &str,
        resource: &str,
        permissions: &[Permission],
    ) -> Result<(), StateError> {
        self.db.transaction(|conn| {
            let found = find(conn, user)?.ok_or_else(|| StateError::UnknownUser(user.to_owned()))?;
            for p in permissions {
                conn.exec(
                    "DELETE FROM rowport_grants WHERE user_id = ? AND resource = ? AND permission = ?",
                    &[P::I(found.id), P::T(resource), P::T(p.as_str())],
                )?;
            }
            Ok(())
        })
    }

    /// What a user may do with a resource: everything for a superuser, else their grants.
    pub fn permissions(&self, user: &User, resource: &str) -> Result<Permissions, StateError> {
        if user.superuser {
            return Ok(Permissions::ALL);
        }
        let mut conn = self.db.conn()?;
        let rows = conn.query(
            "SELECT permission FROM rowport_grants WHERE user_id = ? AND resource = ?",
            &[P::I(user.id), P::T(resource)],
        )?;
        let mut out = Permissions::default();
        for row in rows {
            if let Some(Ok(p)) = row
                .into_iter()
                .next()
                .map(|v| v.text().parse::<Permission>())
            {
                out.set(p);
            }
        }
        Ok(out)
    }

    /// Every resource a user was granted something on, with the grants (a superuser's
    /// own grants, although they have everything anyway).
    pub fn grants(&self, user: &User) -> Result<BTreeMap<String, Permissions>, StateError> {
        let mut conn = self.db.conn()?;
        let rows = conn.query(
            "SELECT resource, permission FROM rowport_grants WHERE user_id = ?",
            &[P::I(user.id)],
        )?;
        let mut out: BTreeMap<String, Permissions> = BTreeMap::new();
        for row in rows {
            let mut it = row.into_iter();
            let resource = it.next().unwrap_or(V::Null).text();
            if let Ok(p) = it.next().unwrap_or(V::Null).text().parse::<Permission>() {
                out.entry(resource).or_default().set(p);
            }
        }
        Ok(out)
    }
}
