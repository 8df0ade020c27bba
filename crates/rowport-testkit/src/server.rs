//! Databases on PostgreSQL and MySQL/MariaDB servers, made and checked through the servers'
//! own command-line clients.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Backend, MYSQL_VAR, POSTGRES_VAR};

/// Databases this old (by the time in their name) are leftovers of a crashed run.
const LEFTOVER_AGE_SECS: u64 = 6 * 3600;
const NAME_PREFIX: &str = "rowport_t_";

/// A uniquely named database on a server, dropped when this is dropped.
pub struct ServerDatabase {
    backend: Backend,
    server: ServerUrl,
    name: String,
}

impl ServerDatabase {
    /// Creates a database on the server that the backend's variable names, first dropping
    /// leftovers of crashed runs. Panics, naming the variable, when it cannot.
    pub fn create(backend: Backend) -> ServerDatabase {
        let var = match backend {
            Backend::Postgres => POSTGRES_VAR,
            Backend::Mysql => MYSQL_VAR,
            Backend::Sqlite => unreachable!("SQLite needs no server"),
        };
        let url = std::env::var(var).unwrap_or_else(|_| {
            panic!("{var} is not set: it names the server the {backend} tests run against")
        });
        let server = ServerUrl::parse(&url)
            .unwrap_or_else(|| panic!("{var}={url} is not a URL like scheme://user@host:port/db"));
        let now = unix_now();
        let name = database_name();
        let db = ServerDatabase {
            backend,
            server,
            name,
        };
        db.sweep_leftovers(now);
        db.admin(&format!("CREATE DATABASE {}", db.name));
        db
    }

    /// The backend it lives on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL rowport connects to it with.
    pub fn url(&self) -> String {
        self.server.with_database(&self.name)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of another database on the same server (one that need not exist).
    pub fn url_of(&self, database: &str) -> String {
        self.server.with_database(database)
    }

    /// Runs SQL statements in the database.
    pub fn execute(&self, sql: &str) {
        self.client(Some(&self.name), sql, false);
    }

    /// The rows of a query, every value as the server's client prints it (`NULL` for null),
    /// except that decimals lose the zeros their column's scale adds (`12.50` → `12.5`,
    /// `12.00` → `12`), as SQLite prints them: one expectation serves every backend.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let out = self.client(Some(&self.name), sql, true);
        // psql ends its output with a newline after the last record separator.
        out.trim_end_matches('\n')
            .split('\u{1e}')
            .filter(|record| !record.is_empty())
            .map(|record| record.split('\u{1f}').map(shortest_decimal).collect())
            .collect()
    }

    /// Drops `rowport_t_*` databases whose names say they are older than a few hours.
    fn sweep_leftovers(&self, now: u64) {
        let list = match self.backend {
            Backend::Postgres => "SELECT datname FROM pg_database",
            _ => "SHOW DATABASES",
        };
        let names = self.client(None, list, true);
        for name in names.split('\u{1e}') {
            if is_leftover(name, now) {
                self.admin(&format!("DROP DATABASE IF EXISTS {name}"));
            }
        }
    }

    fn admin(&self, sql: &str) {
        self.client(None, sql, false);
    }

    /// Runs `sql` through `psql` or `mariadb`, in `database` or the server URL's own.
    /// With `rows`, returns the result with fields separated by U+001F and rows by U+001E.
    fn client(&self, database: Option<&str>, sql: &str, rows: bool) -> String {
        let database = database.unwrap_or(&self.server.database);
        let mut command = match self.backend {
            Backend::Postgres => {
                let mut c = Command::new("psql");
                c.arg(self.server.with_database(database)).args([
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                ]);
                if rows {
                    c.args([
                        "-A",
                        "-t",
                        "-F",
                        "\u{1f}",
                        "-R",
                        "\u{1e}",
                        "-P",
                        "null=NULL",
                    ]);
                }
                c
            }
            _ => {
                let mut c = Command::new(mysql_client());
                c.args(["-h", &self.server.host, "-P", &self.server.port.to_string()])
                    .args(["-u", &self.server.user, "-D", database]);
                if let Some(password) = &self.server.password {
                    c.arg(format!("-p{password}"));
                }
                if rows {
                    c.args(["-N", "-B"]);
                }
                c
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run the {} client: {e}", self.backend));
        child
            .stdin
            .take()
            .expect("the client's stdin")
            .write_all(sql.as_bytes())
            .expect("send SQL to the client");
        let output = child.wait_with_output().expect("wait for the client");
        assert!(
            output.status.success(),
            "{} refused the test's SQL: {}\n--- SQL\n{sql}",
            self.backend,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        match self.backend {
            // mariadb's batch mode prints one row a line, tab-separated, with `\t`, `\n` and
            // `\\` escaped inside values.
            Backend::Mysql if rows => text
                .lines()
                .map(|line| {
                    line.split('\t')
                        .map(unescape_mysql)
                        .collect::<Vec<_>>()
                        .join("\u{1f}")
                })
                .collect::<Vec<_>>()
                .join("\u{1e}"),
            _ => text,
        }
    }
}

impl Drop for ServerDatabase {
    fn drop(&mut self) {
        // A failed drop must not hide the test's own failure; the sweep gets it next time.
        let drop = format!("DROP DATABASE IF EXISTS {}", self.name);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.admin(&drop)));
        if result.is_err() {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `12.50` → `12.5`, `12.00` → `12`; anything that is not a plain decimal stays as it is.
fn shortest_decimal(field: &str) -> String {
    let digits = field.strip_prefix('-').unwrap_or(field);
    let is_decimal = digits.split_once('.').is_some_and(|(whole, fraction)| {
        !whole.is_empty()
            && !fraction.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit())
    });
    if is_decimal {
        field.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        field.to_owned()
    }
}

fn unescape_mysql(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('0') => out.push('\0'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn mysql_client() -> &'static str {
    let has_mariadb = Command::new("mariadb")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_mariadb {
        "mariadb"
    } else {
        "mysql"
    }
}

/// A new test database name, `rowport_t_<unix time>_<pid>_<n>`: unique per run, process and
/// test. Every server test names its databases this way, so that any of them may sweep the
/// others' leftovers ([`is_leftover`]) and never a live one.
pub fn database_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{NAME_PREFIX}{}_{}_{}",
        unix_now(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether `name` is a test database that a crashed run left behind: named by
/// [`database_name`] more than six hours before `now` (seconds since the Unix epoch).
///
/// Only names of exactly that shape count: other suites' databases that share the prefix
/// (an older kit named them `rowport_t_<pid>_<n>_<hex>`) are never taken for
/// old ones, so a sweep cannot drop a database another process is using.
pub fn is_leftover(name: &str, now: u64) -> bool {
    let Some(rest) = name.strip_prefix(NAME_PREFIX) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('_').collect();
    let numbers: Option<Vec<u64>> = parts.iter().map(|p| p.parse::<u64>().ok()).collect();
    match numbers.as_deref() {
        // Seconds since 2020: anything smaller is some other number (a pid, a counter).
        Some(&[secs, _pid, _n]) => secs > 1_577_836_800 && secs + LEFTOVER_AGE_SECS < now,
        _ => false,
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `scheme://user[:password]@host[:port]/database`, taken apart.
struct ServerUrl {
    scheme: String,
    user: String,
    password: Option<String>,
    host: String,
    port: u16,
    database: String,
}

impl ServerUrl {
    fn parse(url: &str) -> Option<ServerUrl> {
        let (scheme, rest) = url.split_once("://")?;
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let database = database.split('?').next().unwrap_or("").to_owned();
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, authority),
        };
        let (user, password) = match credentials.map(|c| c.split_once(':')) {
            Some(Some((u, p))) => (u.to_owned(), Some(p.to_owned())),
            Some(None) => (credentials.unwrap_or_default().to_owned(), None),
            None => (String::new(), None),
        };
        let default_port = if scheme.starts_with("postgres") {
            5432
        } else {
            3306
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().ok()?),
            None => (host_port.to_owned(), default_port),
        };
        let user = if user.is_empty() && !scheme.starts_with("postgres") {
            "root".to_owned()
        } else {
            user
        };
        Some(ServerUrl {
            scheme: scheme.to_owned(),
            user,
            password,
            host,
            port,
            database,
        })
    }

    fn with_database(&self, database: &str) -> String {
        let credentials = match (&self.user, &self.password) {
            (u, _) if u.is_empty() => String::new(),
            (u, Some(p)) => format!("{u}:{p}@"),
            (u, None) => format!("{u}@"),
        };
        format!(
            "{}://{credentials}{}:{}/{database}",
            self.scheme, self.host, self.port
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_names_of_the_kits_own_shape_are_leftovers() {
        let now = 1_800_000_000;
        let old = now - LEFTOVER_AGE_SECS - 1;
        assert!(is_leftover(&format!("rowport_t_{old}_123_0"), now));
        assert!(!is_leftover(&format!("rowport_t_{}_123_0", now - 60), now));
        // Names of another shape: a pid where the time would be.
        assert!(!is_leftover("rowport_t_4242_0_00c0ffee", now));
        assert!(!is_leftover("rowport_t_4242_0_12345678", now));
        assert!(!is_leftover("rowport_t_4242_7_1", now));
        assert!(!is_leftover("other_1_2_3", now));
    }
}
