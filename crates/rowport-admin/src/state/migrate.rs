//! Versioned migrations of the state database. Each version is applied once, under a lock
//! that two instances starting together both take in turn (SQLite's write lock, a
//! PostgreSQL advisory lock, a MySQL named lock); the second finds the work done.

use super::db::{Conn, Db, Kind, P};
use super::StateError;

/// One statement of a migration.
enum Stmt {
    /// `CREATE TABLE name (…)` with the placeholders `{pk}`, `{key}`, `{short}`, `{text}`
    /// and `{blob}`.
    Table(&'static str),
    /// An index: name, table, columns.
    Index(&'static str, &'static str, &'static str),
    /// `ALTER TABLE table ADD COLUMN column type` (type with the placeholders of `Table`),
    /// skipped when the column exists: MySQL commits DDL one statement at a time, so a
    /// migration that died before its version was recorded is re-run over what it did.
    Column(&'static str, &'static str, &'static str),
}

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`. Never edit a released
/// one; append another.
const MIGRATIONS: &[&[Stmt]] = &[
    &[
        Stmt::Table(
            "CREATE TABLE rowport_users (
            id {pk},
            name {key} NOT NULL UNIQUE,
            password_hash {text} NOT NULL,
            superuser BIGINT NOT NULL DEFAULT 0,
            created BIGINT NOT NULL
        )",
        ),
        Stmt::Table(
            "CREATE TABLE rowport_grants (
            user_id BIGINT NOT NULL,
            resource {key} NOT NULL,
            permission {short} NOT NULL,
            PRIMARY KEY (user_id, resource, permission)
        )",
        ),
        Stmt::Table(
            "CREATE TABLE rowport_sessions (
            id_hash {key} NOT NULL PRIMARY KEY,
            user_id BIGINT NOT NULL,
            csrf_token {key} NOT NULL,
            created BIGINT NOT NULL,
            expires BIGINT NOT NULL
        )",
        ),
        Stmt::Index("rowport_sessions_expires", "rowport_sessions", "expires"),
        Stmt::Index("rowport_sessions_user", "rowport_sessions", "user_id"),
        Stmt::Table(
            "CREATE TABLE rowport_login_failures (
            id {pk},
            kind {short} NOT NULL,
            subject {key} NOT NULL,
            at BIGINT NOT NULL
        )",
        ),
        Stmt::Index(
            "rowport_login_failures_subject",
            "rowport_login_failures",
            "kind, subject, at",
        ),
        Stmt::Index("rowport_login_failures_at", "rowport_login_failures", "at"),
        Stmt::Table(
            "CREATE TABLE rowport_uploads (
            token {key} NOT NULL PRIMARY KEY,
            resource {key} NOT NULL,
            file_name {text} NOT NULL,
            format {short} NOT NULL,
            user_name {key} NOT NULL,
            size BIGINT NOT NULL,
            storage {short} NOT NULL,
            created BIGINT NOT NULL,
            expires BIGINT NOT NULL
        )",
        ),
        Stmt::Index("rowport_uploads_expires", "rowport_uploads", "expires"),
        Stmt::Table(
            "CREATE TABLE rowport_upload_chunks (
            token {key} NOT NULL,
            n BIGINT NOT NULL,
            data {blob} NOT NULL,
            created BIGINT NOT NULL,
            PRIMARY KEY (token, n)
        )",
        ),
        Stmt::Index(
            "rowport_upload_chunks_created",
            "rowport_upload_chunks",
            "created",
        ),
        Stmt::Table(
            "CREATE TABLE rowport_previews (
            token {key} NOT NULL PRIMARY KEY,
            rows_new BIGINT NOT NULL DEFAULT 0,
            rows_update BIGINT NOT NULL DEFAULT 0,
            rows_skip BIGINT NOT NULL DEFAULT 0,
            rows_delete BIGINT NOT NULL DEFAULT 0,
            rows_invalid BIGINT NOT NULL DEFAULT 0,
            rows_error BIGINT NOT NULL DEFAULT 0,
            complete BIGINT NOT NULL DEFAULT 0,
            summary {text},
            created BIGINT NOT NULL,
            expires BIGINT NOT NULL
        )",
        ),
        Stmt::Index("rowport_previews_expires", "rowport_previews", "expires"),
        Stmt::Table(
            "CREATE TABLE rowport_preview_rows (
            token {key} NOT NULL,
            seq BIGINT NOT NULL,
            outcome {short} NOT NULL,
            oseq BIGINT NOT NULL,
            row_no BIGINT NOT NULL,
            record_key {text},
            changes {text} NOT NULL,
            errors {text} NOT NULL,
            PRIMARY KEY (token, seq)
        )",
        ),
        Stmt::Index(
            "rowport_preview_rows_outcome",
            "rowport_preview_rows",
            "token, outcome, oseq",
        ),
        Stmt::Table(
            "CREATE TABLE rowport_mappings (
            resource {key} NOT NULL,
            position BIGINT NOT NULL,
            file_column {text} NOT NULL,
            field {text},
            updated BIGINT NOT NULL,
            PRIMARY KEY (resource, position)
        )",
        ),
        Stmt::Table(
            "CREATE TABLE rowport_jobs (
            id {key} NOT NULL PRIMARY KEY,
            resource {key} NOT NULL,
            user_name {key} NOT NULL,
            file_name {text} NOT NULL,
            upload_token {key},
            status {short} NOT NULL,
            rows_done BIGINT NOT NULL DEFAULT 0,
            bytes_done BIGINT NOT NULL DEFAULT 0,
            bytes_total BIGINT NOT NULL DEFAULT 0,
            result {text},
            error {text},
            created BIGINT NOT NULL,
            updated BIGINT NOT NULL,
            finished BIGINT
        )",
        ),
        Stmt::Index("rowport_jobs_resource", "rowport_jobs", "resource, created"),
    ],
    &[
        // Version 2: the file's values of a preview's invalid and error rows (a JSON list of
        // [header, value] pairs), for `import_error_display = ["row"]`; NULL for other rows.
        Stmt::Column("rowport_preview_rows", "row_values", "{text}"),
    ],
];

/// The newest schema version this build knows.
pub(crate) const LATEST: u32 = MIGRATIONS.len() as u32;

/// The name of the version table.
pub(crate) const VERSION_TABLE: &str = "rowport_state_version";

/// An arbitrary constant: the PostgreSQL advisory lock of rowport's state migrations.
const PG_LOCK: i64 = 0x726f_7770_6f72_7401;

/// `sql` with the type placeholders `{pk}`, `{key}`, `{short}`, `{text}` and `{blob}`
/// replaced by the backend's types.
fn types(kind: Kind, sql: &str) -> String {
    let (pk, key, short, text, blob) = match kind {
        Kind::Sqlite => (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "TEXT",
            "TEXT",
            "TEXT",
            "BLOB",
        ),
        Kind::Postgres => ("BIGSERIAL PRIMARY KEY", "TEXT", "TEXT", "TEXT", "BYTEA"),
        Kind::Mysql => (
            "BIGINT AUTO_INCREMENT PRIMARY KEY",
            "VARCHAR(191)",
            "VARCHAR(32)",
            "LONGTEXT",
            "LONGBLOB",
        ),
    };
    sql.replace("{pk}", pk)
        .replace("{key}", key)
        .replace("{short}", short)
        .replace("{text}", text)
        .replace("{blob}", blob)
}

fn dialect(kind: Kind, sql: &str) -> String {
    // IF NOT EXISTS: MySQL commits DDL one statement at a time, so a migration that died
    // half-way is re-run over the tables it made.
    let mut sql = types(
        kind,
        &sql.replacen(
            "CREATE TABLE rowport_",
            "CREATE TABLE IF NOT EXISTS rowport_",
            1,
        ),
    );
    if kind == Kind::Mysql {
        sql.push_str(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    }
    sql
}

/// The schema version the database is at (0 when rowport never migrated it).
pub(crate) fn version(conn: &mut dyn Conn) -> Result<u32, StateError> {
    ensure_version_table(conn)?;
    let v = conn.count(&format!("SELECT MAX(version) FROM {VERSION_TABLE}"), &[])?;
    Ok(u32::try_from(v).unwrap_or(0))
}

fn ensure_version_table(conn: &mut dyn Conn) -> Result<(), StateError> {
    let sql = dialect(
        conn.kind(),
        &format!("CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version BIGINT NOT NULL PRIMARY KEY, applied BIGINT NOT NULL)"),
    );
    conn.batch(&sql)
}

/// Brings the database to [`LATEST`]; the versions applied now (empty when it was there).
pub(crate) fn migrate(db: &Db, now: i64) -> Result<Vec<u32>, StateError> {
    match db.kind() {
        Kind::Sqlite => db.transaction(|conn| apply(conn, now)),
        Kind::Postgres => {
            let mut conn = db.conn()?;
            let schema = db.pg_schema().unwrap_or("rowport_admin").to_owned();
            conn.exec("SELECT pg_advisory_lock(?)", &[P::I(PG_LOCK)])?;
            let result = (|| {
                conn.batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
                conn.batch("BEGIN")?;
                match apply(&mut *conn, now) {
                    Ok(done) => {
                        conn.batch("COMMIT")?;
                        Ok(done)
                    }
                    Err(e) => {
                        let _ = conn.batch("ROLLBACK");
                        Err(e)
                    }
                }
            })();
            let unlocked = conn.exec("SELECT pg_advisory_unlock(?)", &[P::I(PG_LOCK)]);
            let done = result?;
            unlocked?;
            Ok(done)
        }
        Kind::Mysql => {
            let mut conn = db.conn()?;
            let got = conn.count("SELECT GET_LOCK('rowport_state_migrate', 120)", &[])?;
            if got != 1 {
                return Err(StateError::Database(
                    "another rowport instance held the state migration lock for 2 minutes"
                        .to_owned(),
                ));
            }
            // MySQL commits each DDL statement by itself; the named lock is what keeps two
            // instances from migrating at once.
            let result = apply(&mut *conn, now);
            let unlocked = conn.query("SELECT RELEASE_LOCK('rowport_state_migrate')", &[]);
            let done = result?;
            unlocked?;
            Ok(done)
        }
    }
}

/// Whether `table` has `column` already.
fn has_column(conn: &mut dyn Conn, table: &str, column: &str) -> Result<bool, StateError> {
    let sql = match conn.kind() {
        Kind::Sqlite => "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?",
        // The connection's search path is the state schema.
        Kind::Postgres => "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?",
        Kind::Mysql => "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?",
    };
    Ok(conn.count(sql, &[P::T(table), P::T(column)])? > 0)
}

fn apply(conn: &mut dyn Conn, now: i64) -> Result<Vec<u32>, StateError> {
    let current = version(conn)?;
    if current > LATEST {
        return Err(StateError::Config(format!(
            "the state database is at version {current}, newer than this rowport knows ({LATEST})\nhint: run the newer rowport, or point this one at another state database"
        )));
    }
    let mut done = Vec::new();
    for (i, statements) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as u32 + 1;
        for statement in *statements {
            match statement {
                Stmt::Table(sql) => conn.batch(&dialect(conn.kind(), sql))?,
                Stmt::Index(name, table, columns) => {
                    conn.batch(&format!("CREATE INDEX {name} ON {table} ({columns})"))?
                }
                Stmt::Column(table, column, kind) => {
                    if !has_column(conn, table, column)? {
                        let kind = types(conn.kind(), kind);
                        conn.batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?
                    }
                }
            }
        }
        conn.exec(
            &format!("INSERT INTO {VERSION_TABLE} (version, applied) VALUES (?, ?)"),
            &[P::I(version.into()), P::I(now)],
        )?;
        done.push(version);
    }
    Ok(done)
}
