//! Uploads waiting between preview and confirm: in a folder, a table, or Redis.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::db::{P, V};
use super::kv::{cmd, RedisCall};
use super::{secret, secs_to_millis, time, StateError, StateStore, SweepReport, UploadStorage};

/// What is known of a file when it is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    /// The resource it is to be imported into.
    pub resource: String,
    /// The file's name as the browser sent it (only its last path component is kept).
    pub file_name: String,
    /// The format it will be read as (`csv`, `xlsx`, …).
    pub format: String,
    /// The name of the user who uploaded it.
    pub user: String,
}

/// An upload waiting for confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// The random, opaque token that names it in forms (64 hex digits; never a path).
    pub token: String,
    /// The resource it is to be imported into.
    pub resource: String,
    /// The file's name, without any folder.
    pub file_name: String,
    /// The format it will be read as.
    pub format: String,
    /// The name of the user who uploaded it.
    pub user: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub created: DateTime<Utc>,
    /// When it expires (and its preview with it).
    pub expires: DateTime<Utc>,
}

/// The bytes of an upload, to read (and seek, as spreadsheet readers do).
#[derive(Debug)]
pub enum UploadReader {
    /// A file of the upload folder.
    File(File),
    /// Bytes held by the database or Redis.
    Memory(Cursor<Vec<u8>>),
}

impl Read for UploadReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            UploadReader::File(f) => f.read(buf),
            UploadReader::Memory(c) => c.read(buf),
        }
    }
}

impl Seek for UploadReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            UploadReader::File(f) => f.seek(pos),
            UploadReader::Memory(c) => c.seek(pos),
        }
    }
}

/// Creates the upload folder (private to the user on Unix).
pub(crate) fn create_folder(dir: &Path) -> Result<(), StateError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        StateError::Io(format!(
            "cannot create the upload folder {}: {e}",
            dir.display()
        ))
    })
}

/// The last component of a path as a browser may send it (`C:\x\books.csv` → `books.csv`).
fn base_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "upload".to_owned()
    } else {
        cleaned
    }
}

/// Bytes per stored chunk of an upload in the database or Redis: well under MySQL's
/// smallest usual `max_allowed_packet`, and what is held in memory at a time.
const CHUNK: usize = 1 << 20;

/// Fills `buf` from `data` as far as it goes; the bytes read (fewer only at the end).
fn read_chunk(data: &mut dyn Read, buf: &mut [u8]) -> Result<usize, StateError> {
    let mut filled = 0;
    while filled < buf.len() {
        match data.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StateError::Io(format!("reading the upload failed: {e}"))),
        }
    }
    Ok(filled)
}

/// A temporary file (deleted when closed) that a stored upload is copied into, so that it
/// can be read and sought without holding it in memory.
fn spool() -> Result<File, StateError> {
    tempfile::tempfile()
        .map_err(|e| StateError::Io(format!("cannot make a temporary file for the upload: {e}")))
}

fn spool_write(file: &mut File, bytes: &[u8]) -> Result<(), StateError> {
    file.write_all(bytes)
        .map_err(|e| StateError::Io(format!("cannot copy the upload to a temporary file: {e}")))
}

fn spool_rewind(mut file: File) -> Result<UploadReader, StateError> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| StateError::Io(format!("cannot read the upload's temporary file: {e}")))?;
    Ok(UploadReader::File(file))
}

/// Streams `data` into `file`, refusing more than `limit` bytes; the size written.
fn copy_limited(data: &mut dyn Read, file: &mut File, limit: u64) -> Result<u64, StateError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut size: u64 = 0;
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StateError::Io(format!("reading the upload failed: {e}"))),
        };
        size += n as u64;
        if size > limit {
            return Err(StateError::UploadTooLarge { limit });
        }
        file.write_all(&buf[..n])
            .map_err(|e| StateError::Io(format!("writing the upload failed: {e}")))?;
    }
    file.sync_all()
        .map_err(|e| StateError::Io(format!("writing the upload failed: {e}")))?;
    Ok(size)
}

const UPLOAD_COLUMNS: &str =
    "token, resource, file_name, format, user_name, size, created, expires";

fn upload_from(row: Vec<V>) -> Upload {
    let mut it = row.into_iter();
    let mut next = || it.next().unwrap_or(V::Null);
    Upload {
        token: next().text(),
        resource: next().text(),
        file_name: next().text(),
        format: next().text(),
        user: next().text(),
        size: next().i64().max(0).unsigned_abs(),
        created: time(next().i64()),
        expires: time(next().i64()),
    }
}

impl StateStore {
    fn upload_path(&self, token: &str) -> PathBuf {
        // Only ever called with a checked token: the name cannot leave the folder.
        self.config.upload_folder().join(format!("{token}.upload"))
    }

    /// Stores an upload, streaming `data` in under
    /// [`max_upload_bytes`](super::StateConfig::max_upload_bytes). Over the limit it fails
    /// with [`StateError::UploadTooLarge`] and keeps nothing.
    pub fn put_upload(&self, meta: &NewUpload, data: &mut dyn Read) -> Result<Upload, StateError> {
        let limit = self.config.max_upload_bytes;
        let token = secret::token();
        let now = self.now();
        let ttl = secs_to_millis(self.config.upload_ttl_secs);
        let mut upload = Upload {
            token: token.clone(),
            resource: meta.resource.clone(),
            file_name: base_name(&meta.file_name),
            format: meta.format.clone(),
            user: meta.user.clone(),
            size: 0,
            created: time(now),
            expires: time(now.saturating_add(ttl)),
        };
        let expires = upload.expires.timestamp_millis();
        match self.config.uploads {
            UploadStorage::Folder => {
                let path = self.upload_path(&token);
                let part = path.with_extension("part");
                let mut options = OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(&part).map_err(|e| {
                    StateError::Io(format!(
                        "cannot write the upload to {}: {e}",
                        part.display()
                    ))
                })?;
                let written = copy_limited(data, &mut file, limit).and_then(|size| {
                    drop(file);
                    fs::rename(&part, &path).map_err(|e| {
                        StateError::Io(format!(
                            "cannot store the upload in {}: {e}",
                            path.display()
                        ))
                    })?;
                    Ok(size)
                });
                match written {
                    Ok(size) => upload.size = size,
                    Err(e) => {
                        let _ = fs::remove_file(&part);
                        return Err(e);
                    }
                }
                if let Err(e) = self.insert_upload(&upload, "folder", now, expires) {
                    let _ = fs::remove_file(&path);
                    return Err(e);
                }
            }
            UploadStorage::Database => {
                // Chunks first, the upload's row last: the upload exists only once whole.
                // No transaction: a slow upload must not hold SQLite's write lock.
                match self.put_chunks(&token, data, limit, now) {
                    Ok(size) => upload.size = size,
                    Err(e) => {
                        self.delete_chunks(&token)?;
                        return Err(e);
                    }
                }
                if let Err(e) = self.insert_upload(&upload, "database", now, expires) {
                    self.delete_chunks(&token)?;
                    return Err(e);
                }
            }
            UploadStorage::Redis => {
                let redis = self.redis()?;
                let part_key = redis.key(&format!("upload:{token}:part"));
                let data_key = redis.key(&format!("upload:{token}:data"));
                let meta_key = redis.key(&format!("upload:{token}:meta"));
                let ttl = ttl.max(1);
                let streamed = (|| {
                    let mut buf = vec![0u8; CHUNK];
                    let mut size: u64 = 0;
                    loop {
                        let want = usize::try_from((limit - size).saturating_add(1))
                            .unwrap_or(CHUNK)
                            .min(CHUNK);
                        let n = read_chunk(data, &mut buf[..want])?;
                        if n == 0 {
                            break;
                        }
                        size += n as u64;
                        if size > limit {
                            return Err(StateError::UploadTooLarge { limit });
                        }
                        // The part key expires too, so a crash leaves nothing for long.
                        redis.run::<()>(|| {
                            let mut pipe = redis::pipe();
                            pipe.atomic()
                                .cmd("APPEND")
                                .arg(&part_key)
                                .arg(&buf[..n])
                                .ignore()
                                .cmd("PEXPIRE")
                                .arg(&part_key)
                                .arg(ttl)
                                .ignore();
                            RedisCall::Pipe(pipe)
                        })?;
                        if n < want {
                            break;
                        }
                    }
                    Ok(size)
                })();
                match streamed {
                    Ok(size) => upload.size = size,
                    Err(e) => {
                        redis.run::<()>(|| RedisCall::Cmd(cmd("DEL").arg(&part_key).clone()))?;
                        return Err(e);
                    }
                }
                let meta_json = serde_json::to_string(&upload)
                    .map_err(|e| StateError::Redis(format!("cannot encode an upload: {e}")))?;
                let empty = upload.size == 0;
                redis.run::<()>(|| {
                    let mut pipe = redis::pipe();
                    pipe.atomic();
                    if empty {
                        pipe.cmd("SET")
                            .arg(&data_key)
                            .arg("")
                            .arg("PX")
                            .arg(ttl)
                            .ignore();
                    } else {
                        pipe.cmd("RENAME")
                            .arg(&part_key)
                            .arg(&data_key)
                            .ignore()
                            .cmd("PEXPIRE")
                            .arg(&data_key)
                            .arg(ttl)
                            .ignore();
                    }
                    pipe.cmd("SET")
                        .arg(&meta_key)
                        .arg(&meta_json)
                        .arg("PX")
                        .arg(ttl)
                        .ignore();
                    RedisCall::Pipe(pipe)
                })?;
            }
        }
        Ok(upload)
    }

    fn insert_upload(
        &self,
        upload: &Upload,
        storage: &str,
        now: i64,
        expires: i64,
    ) -> Result<(), StateError> {
        let mut conn = self.db.conn()?;
        let size = i64::try_from(upload.size).unwrap_or(i64::MAX);
        conn.exec(
            "INSERT INTO rowport_uploads (token, resource, file_name, format, user_name, size, storage, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                P::T(&upload.token),
                P::T(&upload.resource),
                P::T(&upload.file_name),
                P::T(&upload.format),
                P::T(&upload.user),
                P::I(size),
                P::T(storage),
                P::I(now),
                P::I(expires),
            ],
        )?;
        Ok(())
    }

    /// Streams `data` into chunk rows; the size.
    fn put_chunks(
        &self,
        token: &str,
        data: &mut dyn Read,
        limit: u64,
        now: i64,
    ) -> Result<u64, StateError> {
        let mut buf = vec![0u8; CHUNK];
        let mut size: u64 = 0;
        let mut n: i64 = 0;
        loop {
            // Never read more than one byte past the limit.
            let want = usize::try_from((limit - size).saturating_add(1))
                .unwrap_or(CHUNK)
                .min(CHUNK);
            let len = read_chunk(data, &mut buf[..want])?;
            if len == 0 {
                break;
            }
            size += len as u64;
            if size > limit {
                return Err(StateError::UploadTooLarge { limit });
            }
            let mut conn = self.db.conn()?;
            conn.exec(
                "INSERT INTO rowport_upload_chunks (token, n, data, created) VALUES (?, ?, ?, ?)",
                &[P::T(token), P::I(n), P::B(&buf[..len]), P::I(now)],
            )?;
            n += 1;
            if len < want {
                break;
            }
        }
        Ok(size)
    }

    fn delete_chunks(&self, token: &str) -> Result<(), StateError> {
        let mut conn = self.db.conn()?;
        conn.exec(
            "DELETE FROM rowport_upload_chunks WHERE token = ?",
            &[P::T(token)],
        )?;
        Ok(())
    }

    /// The upload a token names. Fails with [`StateError::MalformedToken`] when the text
    /// is not a token (checked before any storage is touched), and
    /// [`StateError::UploadNotFound`] when it was removed or has expired.
    pub fn upload(&self, token: &str) -> Result<Upload, StateError> {
        if !secret::is_token(token) {
            return Err(StateError::MalformedToken);
        }
        let now = self.now();
        let found = match self.config.uploads {
            UploadStorage::Folder | UploadStorage::Database => {
                let mut conn = self.db.conn()?;
                conn.first(
                    &format!("SELECT {UPLOAD_COLUMNS} FROM rowport_uploads WHERE token = ?"),
                    &[P::T(token)],
                )?
                .map(upload_from)
            }
            UploadStorage::Redis => {
                let redis = self.redis()?;
                let key = redis.key(&format!("upload:{token}:meta"));
                let value: Option<String> =
                    redis.run(|| RedisCall::Cmd(cmd("GET").arg(&key).clone()))?;
                value.and_then(|v| serde_json::from_str(&v).ok())
            }
        };
        found
            .filter(|u| u.expires.timestamp_millis() > now)
            .ok_or(StateError::UploadNotFound)
    }

    /// The upload a token names and its bytes; fails as [`upload`](Self::upload) does.
    pub fn open_upload(&self, token: &str) -> Result<(Upload, UploadReader), StateError> {
        let upload = self.upload(token)?;
        let reader = match self.config.uploads {
            UploadStorage::Folder => {
                let path = self.upload_path(token);
                match File::open(&path) {
                    Ok(file) => UploadReader::File(file),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(StateError::UploadNotFound)
                    }
                    Err(e) => {
                        return Err(StateError::Io(format!(
                            "cannot read the upload {}: {e}",
                            path.display()
                        )))
                    }
                }
            }
            UploadStorage::Database => {
                let mut file = spool()?;
                let mut next: i64 = 0;
                loop {
                    let rows = {
                        let mut conn = self.db.conn()?;
                        conn.query(
                            "SELECT n, data FROM rowport_upload_chunks WHERE token = ? AND n >= ? ORDER BY n LIMIT 8",
                            &[P::T(token), P::I(next)],
                        )?
                    };
                    if rows.is_empty() {
                        break;
                    }
                    for row in rows {
                        let mut it = row.into_iter();
                        let n = it.next().unwrap_or(V::Null).i64();
                        if n != next {
                            // A chunk is missing: the upload was removed while being read.
                            return Err(StateError::UploadNotFound);
                        }
                        spool_write(&mut file, &it.next().unwrap_or(V::Null).bytes())?;
                        next += 1;
                    }
                }
                if i64::try_from(upload.size).unwrap_or(i64::MAX) > 0 && next == 0 {
                    return Err(StateError::UploadNotFound);
                }
                spool_rewind(file)?
            }
            UploadStorage::Redis => {
                let redis = self.redis()?;
                let key = redis.key(&format!("upload:{token}:data"));
                let exists: bool = redis.run(|| RedisCall::Cmd(cmd("EXISTS").arg(&key).clone()))?;
                if !exists {
                    return Err(StateError::UploadNotFound);
                }
                let mut file = spool()?;
                let mut start: usize = 0;
                loop {
                    let end = start + CHUNK - 1;
                    let part: Vec<u8> = redis.run(|| {
                        RedisCall::Cmd(cmd("GETRANGE").arg(&key).arg(start).arg(end).clone())
                    })?;
                    spool_write(&mut file, &part)?;
                    if part.len() < CHUNK {
                        break;
                    }
                    start += CHUNK;
                }
                spool_rewind(file)?
            }
        };
        Ok((upload, reader))
    }

    /// Removes an upload and its preview (after confirm, or when the user cancels).
    /// Removing one that is already gone is not an error; a malformed token is.
    pub fn remove_upload(&self, token: &str) -> Result<(), StateError> {
        if !secret::is_token(token) {
            return Err(StateError::MalformedToken);
        }
        match self.config.uploads {
            UploadStorage::Folder | UploadStorage::Database => {
                let mut conn = self.db.conn()?;
                conn.exec(
                    "DELETE FROM rowport_uploads WHERE token = ?",
                    &[P::T(token)],
                )?;
                drop(conn);
                if self.config.uploads == UploadStorage::Folder {
                    remove_if_present(&self.upload_path(token))?;
                }
            }
            UploadStorage::Redis => {
                let redis = self.redis()?;
                let data_key = redis.key(&format!("upload:{token}:data"));
                let meta_key = redis.key(&format!("upload:{token}:meta"));
                let part_key = redis.key(&format!("upload:{token}:part"));
                redis.run::<()>(|| {
                    RedisCall::Cmd(
                        cmd("DEL")
                            .arg(&data_key)
                            .arg(&meta_key)
                            .arg(&part_key)
                            .clone(),
                    )
                })?;
            }
        }
        self.remove_preview(token)
    }

    pub(crate) fn sweep_uploads(
        &self,
        now: i64,
        report: &mut SweepReport,
    ) -> Result<(), StateError> {
        let expired: Vec<(String, String)> = {
            let mut conn = self.db.conn()?;
            conn.query(
                "SELECT token, storage FROM rowport_uploads WHERE expires <= ?",
                &[P::I(now)],
            )?
            .into_iter()
            .map(|row| {
                let mut it = row.into_iter();
                (
                    it.next().unwrap_or(V::Null).text(),
                    it.next().unwrap_or(V::Null).text(),
                )
            })
            .collect()
        };
        for (token, storage) in expired {
            // Delete the row first: a file without a row is swept as a stray later, a row
            // without a file would be an upload that cannot be read.
            let mut conn = self.db.conn()?;
            let n = conn.exec(
                "DELETE FROM rowport_uploads WHERE token = ? AND expires <= ?",
                &[P::T(&token), P::I(now)],
            )?;
            drop(conn);
            if storage == "folder" && secret::is_token(&token) {
                remove_if_present(&self.upload_path(&token))?;
            } else {
                self.delete_chunks(&token)?;
            }
            report.uploads += n;
        }
        // Chunks of an upload cut off by a crash: no upload row, older than the TTL.
        let ttl = secs_to_millis(self.config.upload_ttl_secs);
        let mut conn = self.db.conn()?;
        report.stray_files += conn.exec(
            "DELETE FROM rowport_upload_chunks WHERE created <= ? AND token NOT IN (SELECT token FROM rowport_uploads)",
            &[P::I(now.saturating_sub(ttl))],
        )?;
        drop(conn);
        if self.config.uploads == UploadStorage::Folder {
            report.stray_files += self.sweep_strays(now)?;
        }
        Ok(())
    }

    /// Removes files of the upload folder that no live upload owns and that are older than
    /// the TTL (an upload cut off by a crash). Only names rowport makes are touched.
    fn sweep_strays(&self, now: i64) -> Result<u64, StateError> {
        let dir = self.config.upload_folder();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => {
                return Err(StateError::Io(format!(
                    "cannot list the upload folder {}: {e}",
                    dir.display()
                )))
            }
        };
        let ttl = secs_to_millis(self.config.upload_ttl_secs);
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(token) = name
                .strip_suffix(".upload")
                .or_else(|| name.strip_suffix(".part"))
            else {
                continue;
            };
            if !secret::is_token(token) {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .map(|t| DateTime::<Utc>::from(t).timestamp_millis());
            let old = modified.is_some_and(|m| m.saturating_add(ttl) <= now);
            if !old {
                continue;
            }
            let owned = {
                let mut conn = self.db.conn()?;
                conn.count(
                    "SELECT COUNT(*) FROM rowport_uploads WHERE token = ? AND expires > ?",
                    &[P::T(token), P::I(now)],
                )? > 0
            };
            if !owned {
                remove_if_present(&entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn remove_if_present(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StateError::Io(format!(
            "cannot remove the upload {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_folders() {
        assert_eq!(base_name("C:\\Users\\ada\\books.csv"), "books.csv");
        assert_eq!(base_name("../../etc/passwd"), "passwd");
        assert_eq!(base_name(".."), "upload");
        assert_eq!(base_name("a\nb.csv"), "ab.csv");
    }
}
