//! The admin's state store on SQLite, PostgreSQL and MySQL/MariaDB (and Redis for sessions
//! and uploads): migrations, users and grants, sessions, login limits, uploads, previews,
//! mappings and jobs, checked through the store and through the database itself.

mod state_support;

use std::io::Read;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use rowport::result::{Change, RowError, RowOutcome, RowResult, RowSink};
use rowport_admin::state::{
    JobStatus, LoginCheck, MappedColumn, NewJob, NewUpload, Permission, SessionStorage, StateError,
    StateStore, UploadStorage,
};
use rowport_formats::Cell;
use rowport_testkit::{backend_tests, Backend};
use state_support::Env;

const PASSWORD: &str = "correct horse battery staple";

fn new_upload() -> NewUpload {
    NewUpload {
        resource: "books".to_owned(),
        file_name: "C:\\Users\\ada\\books.csv".to_owned(),
        format: "csv".to_owned(),
        user: "ada".to_owned(),
    }
}

fn read_all(store: &StateStore, token: &str) -> Vec<u8> {
    let (_, mut reader) = store.open_upload(token).expect("open the upload");
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).expect("read the upload");
    bytes
}

/// A reader that fails the test if it is read past `limit + 1` bytes: the store must stop
/// reading once the limit is passed, not swallow the whole stream.
struct Endless {
    given: u64,
    stop_after: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        assert!(
            self.given <= self.stop_after,
            "the store kept reading {} bytes past the limit",
            self.given - self.stop_after
        );
        let n = buf.len().min(100);
        buf[..n].fill(b'x');
        self.given += n as u64;
        Ok(n)
    }
}

/// Checks everything the upload storages share: a round trip, the metadata, the limit
/// (nothing left behind), malformed tokens, removal, expiry and the sweep.
fn uploads_behave(env: &Env, left_behind: &dyn Fn(&Env) -> usize) {
    let store = env.open();
    let data = b"title,author\nDune,Herbert\n".to_vec();
    let upload = store
        .put_upload(&new_upload(), &mut &data[..])
        .expect("store an upload");
    assert!(
        rowport_admin::state::is_token(&upload.token),
        "{}",
        upload.token
    );
    assert_eq!(upload.file_name, "books.csv");
    assert_eq!(upload.size, data.len() as u64);
    assert_eq!(read_all(&store, &upload.token), data);

    // Another instance sees it with the same metadata.
    let other = env.open();
    let seen = other
        .upload(&upload.token)
        .expect("the other instance finds it");
    assert_eq!(seen, upload);
    assert_eq!(read_all(&other, &upload.token), data);
    assert_eq!(left_behind(env), 1);

    // Over the limit (1,000 bytes here): a distinct error, and nothing stored.
    let mut endless = Endless {
        given: 0,
        stop_after: 1001,
    };
    let err = store.put_upload(&new_upload(), &mut endless).unwrap_err();
    assert!(
        matches!(err, StateError::UploadTooLarge { limit: 1000 }),
        "{err:?}"
    );
    assert_eq!(
        left_behind(env),
        1,
        "the refused upload left something behind"
    );
    let exactly = vec![b'y'; 1000];
    let full = store
        .put_upload(&new_upload(), &mut &exactly[..])
        .expect("an upload of exactly the limit is accepted");
    assert_eq!(read_all(&store, &full.token), exactly);

    // What is not a token is refused before storage is touched.
    for bad in [
        "../../etc/passwd",
        "/etc/passwd",
        "",
        &upload.token.to_uppercase(),
        &format!("{}/..", upload.token),
        &upload.token[..63],
        &format!("{}0", upload.token),
    ] {
        assert!(
            matches!(store.upload(bad), Err(StateError::MalformedToken)),
            "{bad:?} was not refused"
        );
        assert!(matches!(
            store.open_upload(bad),
            Err(StateError::MalformedToken)
        ));
        assert!(matches!(
            store.remove_upload(bad),
            Err(StateError::MalformedToken)
        ));
    }
    // A well-formed token that names nothing.
    let unknown = "0".repeat(64);
    assert!(matches!(
        store.open_upload(&unknown),
        Err(StateError::UploadNotFound)
    ));

    // Removed: not found, on any instance.
    store.remove_upload(&full.token).expect("remove");
    assert!(matches!(
        other.open_upload(&full.token),
        Err(StateError::UploadNotFound)
    ));
    store
        .remove_upload(&full.token)
        .expect("removing twice is not an error");

    // Expired: not found, and the sweep takes it away.
    env.clock
        .advance(Duration::from_secs(env.config.upload_ttl_secs + 1));
    let err = store.open_upload(&upload.token).unwrap_err();
    assert!(matches!(err, StateError::UploadNotFound), "{err:?}");
    assert_eq!(
        err.to_string(),
        "this upload was not found or has expired\nhint: upload the file again"
    );
    let report = store.sweep().expect("sweep");
    if env.config.uploads != UploadStorage::Redis {
        assert_eq!(report.uploads, 1, "{report:?}");
        assert_eq!(left_behind(env), 0);
    }
}

fn folder_files(env: &Env) -> usize {
    std::fs::read_dir(env.upload_folder())
        .map(|entries| entries.count())
        .unwrap_or(0)
}

fn upload_rows(env: &Env) -> usize {
    let chunks = env.count("rowport_upload_chunks");
    let rows = env.count("rowport_uploads") as usize;
    assert!(
        chunks <= rows as u64,
        "{chunks} chunks for {rows} small uploads: a refused upload left chunks behind"
    );
    rows
}

/// Bytes that differ from chunk to chunk, so that a chunk out of order shows.
fn patterned(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
        .collect()
}

/// Uploads of several chunks stream in and read back whole; one over the limit leaves no
/// chunk behind.
fn large_uploads_behave(env: &mut Env, stored: &dyn Fn(&Env) -> usize) {
    env.config.max_upload_bytes = 3 << 20;
    let store = env.open();
    let data = patterned((5 << 20) / 2);
    let upload = store.put_upload(&new_upload(), &mut &data[..]).unwrap();
    assert_eq!(upload.size, data.len() as u64);
    assert!(
        read_all(&env.open(), &upload.token) == data,
        "the bytes read back differ"
    );
    let before = stored(env);
    let too_big = patterned((3 << 20) + 1);
    let err = store
        .put_upload(&new_upload(), &mut &too_big[..])
        .unwrap_err();
    assert!(matches!(err, StateError::UploadTooLarge { .. }), "{err:?}");
    assert_eq!(stored(env), before, "the refused upload left pieces behind");
    let empty = store.put_upload(&new_upload(), &mut &b""[..]).unwrap();
    assert_eq!(read_all(&store, &empty.token), b"");
}

fn chunk_rows(env: &Env) -> usize {
    env.count("rowport_upload_chunks") as usize
}

fn redis_keys(env: &Env) -> usize {
    env.redis_keys().len()
}

fn redis_upload_keys(env: &Env) -> usize {
    // Each upload is a data key and a metadata key.
    env.redis_keys()
        .iter()
        .filter(|k| k.contains(":upload:") && k.ends_with(":data"))
        .count()
}

backend_tests! {
    /// Opening migrates to the latest version; opening again, or migrating again, changes
    /// nothing; several instances opening at once all succeed.
    fn migrations_are_idempotent(backend) {
        let env = Env::database(backend);
        let store = env.open();
        let latest = StateStore::latest_schema_version();
        assert!(latest >= 1);
        assert_eq!(store.schema_version().unwrap(), latest);
        assert!(store.migrate().unwrap().is_empty(), "a second migrate did work");
        drop(store);

        let store = env.open();
        assert!(store.migrate().unwrap().is_empty());
        let versions = env.db.query(&format!(
            "SELECT version FROM {} ORDER BY version",
            env.table("rowport_state_version")
        ));
        let expected: Vec<Vec<String>> = (1..=latest).map(|v| vec![v.to_string()]).collect();
        assert_eq!(versions, expected);

        // Four instances of a new database starting together.
        let env = Env::database(backend);
        let barrier = Arc::new(Barrier::new(4));
        let config = env.config.clone();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let barrier = barrier.clone();
                let config = config.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    StateStore::open(&config).map(|s| s.schema_version())
                })
            })
            .collect();
        for thread in threads {
            let version = thread.join().expect("no panic").expect("open").expect("version");
            assert_eq!(version, latest);
        }
        assert_eq!(env.count("rowport_state_version"), u64::from(latest));
    }

    /// Passwords are kept only as argon2id hashes and verified; names are unique.
    fn passwords_verify(backend) {
        let env = Env::database(backend);
        let store = env.open();
        let ada = store.add_user("ada", PASSWORD, false).unwrap();
        assert_eq!(ada.name, "ada");
        assert!(!ada.superuser);

        let hashes = env.db.query(&format!("SELECT password_hash FROM {}", env.table("rowport_users")));
        assert_eq!(hashes.len(), 1);
        assert!(hashes[0][0].starts_with("$argon2id$"), "{}", hashes[0][0]);
        assert!(!hashes[0][0].contains(PASSWORD));

        assert_eq!(store.verify_login("ada", PASSWORD).unwrap(), Some(ada.clone()));
        assert_eq!(store.verify_login("ada", "correct horse").unwrap(), None);
        assert_eq!(store.verify_login("ada", "").unwrap(), None);
        assert_eq!(store.verify_login("bob", PASSWORD).unwrap(), None);
        assert_eq!(store.verify_login("ADA", PASSWORD).unwrap(), None);

        let err = store.add_user("ada", "another", true).unwrap_err();
        assert!(matches!(err, StateError::UserExists(ref n) if n == "ada"), "{err:?}");
        assert!(matches!(store.add_user(" ada", "x", false), Err(StateError::InvalidUserName(_))));
        assert!(matches!(store.add_user("bob", "", false), Err(StateError::EmptyPassword)));

        store.set_password("ada", "new password").unwrap();
        assert_eq!(store.verify_login("ada", PASSWORD).unwrap(), None);
        assert!(store.verify_login("ada", "new password").unwrap().is_some());
        assert!(matches!(store.set_password("bob", "x"), Err(StateError::UnknownUser(_))));

        store.add_user("root", "r00t", true).unwrap();
        let names: Vec<String> = store.users().unwrap().into_iter().map(|u| u.name).collect();
        assert_eq!(names, ["ada", "root"]);
        assert!(store.user("root").unwrap().unwrap().superuser);
        assert_eq!(store.user_by_id(ada.id).unwrap().unwrap().name, "ada");
    }

    /// Grants are per user and resource; a superuser has everything.
    fn grants_per_resource(backend) {
        let env = Env::database(backend);
        let store = env.open();
        let ada = store.add_user("ada", PASSWORD, false).unwrap();
        let root = store.add_user("root", PASSWORD, true).unwrap();
        store.grant("ada", "books", &Permission::parse_list("view,import").unwrap()).unwrap();
        // Granting again adds nothing twice.
        store.grant("ada", "books", &[Permission::View]).unwrap();
        store.grant("ada", "authors", &[Permission::Export]).unwrap();

        let books = store.permissions(&ada, "books").unwrap();
        assert!(books.view && books.import && !books.export, "{books:?}");
        assert_eq!(books.to_string(), "view,import");
        let authors = store.permissions(&ada, "authors").unwrap();
        assert_eq!(authors.to_string(), "export");
        assert!(store.permissions(&ada, "shelves").unwrap().is_empty());
        assert_eq!(store.permissions(&root, "shelves").unwrap().to_string(), "view,import,export");
        assert_eq!(env.count("rowport_grants"), 3);

        let grants = store.grants(&ada).unwrap();
        assert_eq!(grants.keys().collect::<Vec<_>>(), ["authors", "books"]);

        store.revoke("ada", "books", &[Permission::Import]).unwrap();
        assert_eq!(store.permissions(&ada, "books").unwrap().to_string(), "view");
        assert!(matches!(store.grant("bob", "books", &[Permission::View]), Err(StateError::UnknownUser(_))));
        assert!(matches!(Permission::parse_list("view,delete"), Err(StateError::UnknownPermission(_))));

        assert!(store.remove_user("ada").unwrap());
        assert_eq!(env.count("rowport_grants"), 0);
        assert!(!store.remove_user("ada").unwrap());
    }

    /// Sessions: a random id and CSRF token, only a digest stored, shared by instances,
    /// gone at expiry and at logout.
    fn sessions_expire(backend) {
        let env = Env::database(backend);
        sessions_behave(&env);
        let ids = env.db.query(&format!("SELECT id_hash FROM {}", env.table("rowport_sessions")));
        assert_eq!(ids.len(), 0, "the sweep left sessions behind");
    }

    /// Failed logins are counted per user name and per address across instances, and
    /// refused past the limit until the window has passed.
    fn logins_are_rate_limited(backend) {
        let env = Env::database(backend);
        login_limits_behave(&env, true);
    }

    /// Uploads in the state database.
    fn uploads_in_the_database(backend) {
        let env = Env::new(backend, SessionStorage::Database, UploadStorage::Database);
        uploads_behave(&env, &upload_rows);
        assert_eq!(folder_files(&env), 0, "database uploads wrote files");
    }

    /// Uploads of several megabytes go to the database in chunks.
    fn large_uploads_in_the_database(backend) {
        let mut env = Env::new(backend, SessionStorage::Database, UploadStorage::Database);
        large_uploads_behave(&mut env, &chunk_rows);
        assert_eq!(chunk_rows(&env), 3, "2.5 MiB is three chunks of 1 MiB");
    }

    /// A preview of 10,000 rows pages by offset, with and without an outcome filter, on
    /// any instance.
    fn preview_pages(backend) {
        let env = Env::database(backend);
        preview_behaves(&env, 10_000);
    }

    /// With `keep_file_values`, invalid and error rows keep the file's values (in the new
    /// `row_values` column) and valid rows keep none; without it no row keeps any.
    fn preview_keeps_the_file_values_of_failed_rows(backend) {
        let env = Env::database(backend);
        preview_file_values_behave(&env);
    }

    /// A database made before the `row_values` column (version 1) gets it on opening,
    /// and a migration re-run over a column it already added (MySQL commits each DDL
    /// statement alone) finishes instead of failing.
    fn the_row_values_column_is_added_to_an_older_database(backend) {
        let env = Env::database(backend);
        let store = env.open();
        drop(store);
        let rows = env.table("rowport_preview_rows");
        let versions = env.table("rowport_state_version");
        env.db.execute(&format!("DELETE FROM {versions} WHERE version = 2"));
        // Interrupted after the ALTER: the column is there, the version is not.
        let store = env.open();
        assert_eq!(store.schema_version().unwrap(), 2);
        drop(store);
        // A version 1 database: no column.
        env.db.execute(&format!("ALTER TABLE {rows} DROP COLUMN row_values"));
        env.db.execute(&format!("DELETE FROM {versions} WHERE version = 2"));
        assert!(env
            .db
            .query(&format!("SELECT COUNT(*) FROM {versions} WHERE version = 2"))[0][0]
            == "0");
        let store = env.open();
        assert_eq!(store.schema_version().unwrap(), 2);
        drop(store);
        preview_file_values_behave(&env);
    }

    /// Jobs report progress and results that a second instance reads; the history of a
    /// resource lists them newest first.
    fn jobs_are_shared(backend) {
        let env = Env::database(backend);
        jobs_behave(&env);
    }

    /// Column mappings are remembered per resource.
    fn mappings_are_remembered(backend) {
        let env = Env::database(backend);
        let store = env.open();
        assert!(store.mapping("books").unwrap().is_empty());
        let mapping = vec![
            MappedColumn { file_column: "Titel".to_owned(), field: Some("title".to_owned()) },
            MappedColumn { file_column: "Notiz".to_owned(), field: None },
            MappedColumn { file_column: "Autor".to_owned(), field: Some("author".to_owned()) },
        ];
        store.save_mapping("books", &mapping).unwrap();
        assert_eq!(env.open().mapping("books").unwrap(), mapping);
        assert!(store.mapping("authors").unwrap().is_empty());
        store.save_mapping("books", &mapping[..1]).unwrap();
        assert_eq!(store.mapping("books").unwrap(), mapping[..1]);
    }
}

fn sessions_behave(env: &Env) {
    let store = env.open();
    let other = env.open();
    let ada = store.add_user("ada", PASSWORD, false).unwrap();
    let session = store.create_session(&ada).unwrap();
    assert!(rowport_admin::state::is_token(&session.id));
    assert!(rowport_admin::state::is_token(&session.csrf_token));
    assert_ne!(session.id, session.csrf_token);
    assert!(session.csrf_matches(&session.csrf_token.clone()));
    assert!(!session.csrf_matches(&session.id));
    assert!(!session.csrf_matches(""));
    assert!(!session.csrf_matches(&session.csrf_token[..63]));
    assert_eq!(
        (session.expires - session.created).num_seconds(),
        env.config.session_ttl_secs as i64
    );
    let second = store.create_session(&ada).unwrap();
    assert_ne!(second.id, session.id);
    assert_ne!(second.csrf_token, session.csrf_token);

    // Another instance finds it; the raw id is stored nowhere.
    assert_eq!(other.session(&session.id).unwrap(), Some(session.clone()));
    if env.config.sessions == SessionStorage::Database {
        let stored = env.db.query(&format!(
            "SELECT id_hash FROM {}",
            env.table("rowport_sessions")
        ));
        assert_eq!(stored.len(), 2);
        assert!(stored
            .iter()
            .all(|r| r[0] != session.id && r[0] != second.id));
    } else {
        let keys = env.redis_keys().join(" ");
        assert!(!keys.contains(&session.id), "{keys}");
    }
    assert_eq!(store.session("../../etc/passwd").unwrap(), None);
    assert_eq!(store.session(&"0".repeat(64)).unwrap(), None);

    // Logout deletes.
    other.delete_session(&second.id).unwrap();
    assert_eq!(store.session(&second.id).unwrap(), None);

    // Expiry: valid one millisecond before, gone at the end.
    env.clock
        .advance(Duration::from_secs(env.config.session_ttl_secs) - Duration::from_millis(1));
    assert!(store.session(&session.id).unwrap().is_some());
    env.clock.advance(Duration::from_millis(1));
    assert_eq!(store.session(&session.id).unwrap(), None);
    let report = store.sweep().unwrap();
    if env.config.sessions == SessionStorage::Database {
        assert_eq!(report.sessions, 1, "{report:?}");
    }
}

fn login_limits_behave(env: &Env, window_moves: bool) {
    let store = env.open();
    let other = env.open();
    let per_user = env.config.login_max_failures_per_user;
    for i in 0..per_user {
        assert_eq!(
            store.check_login("ada", "10.0.0.1").unwrap(),
            LoginCheck::Allowed,
            "refused after {i} failures"
        );
        // Alternate instances: the count is shared.
        let s = if i % 2 == 0 { &store } else { &other };
        s.record_login_failure("ada", "10.0.0.1").unwrap();
    }
    let LoginCheck::Blocked { retry_after } = other.check_login("ada", "10.0.0.9").unwrap() else {
        panic!("not blocked after {per_user} failures");
    };
    assert!(retry_after <= Duration::from_secs(env.config.login_window_secs));
    assert!(retry_after > Duration::ZERO);
    // Another name from another address is not held up.
    assert_eq!(
        store.check_login("bob", "10.0.0.2").unwrap(),
        LoginCheck::Allowed
    );
    // Per address: many names from one address.
    let per_address = env.config.login_max_failures_per_address;
    for i in 0..per_address {
        store
            .record_login_failure(&format!("user{i}"), "10.0.0.3")
            .unwrap();
    }
    assert!(matches!(
        store.check_login("carol", "10.0.0.3").unwrap(),
        LoginCheck::Blocked { .. }
    ));
    assert_eq!(
        store.check_login("carol", "10.0.0.4").unwrap(),
        LoginCheck::Allowed
    );
    // A successful login clears the name's failures.
    store.clear_login_failures("ada").unwrap();
    assert_eq!(
        store.check_login("ada", "10.0.0.5").unwrap(),
        LoginCheck::Allowed
    );
    if window_moves {
        store.record_login_failure("dave", "10.0.0.6").unwrap();
        for _ in 1..per_user {
            store.record_login_failure("dave", "10.0.0.6").unwrap();
        }
        assert!(matches!(
            store.check_login("dave", "10.0.0.7").unwrap(),
            LoginCheck::Blocked { .. }
        ));
        env.clock
            .advance(Duration::from_secs(env.config.login_window_secs + 1));
        assert_eq!(
            store.check_login("dave", "10.0.0.7").unwrap(),
            LoginCheck::Allowed
        );
        assert!(store.sweep().unwrap().login_failures > 0);
    }
}

fn row(n: u64) -> (RowResult, Vec<RowError>) {
    // Rows cycle new, update, skip, invalid: 2,500 of each in 10,000.
    let outcome = match n % 4 {
        0 => RowOutcome::New,
        1 => RowOutcome::Update,
        2 => RowOutcome::Skip,
        _ => RowOutcome::Invalid,
    };
    let changes = match outcome {
        RowOutcome::Update => vec![Change {
            column: "title".to_owned(),
            old: format!("old {n}"),
            new: format!("new {n} «ü»\t\\N \\ \r\n"),
        }],
        _ => Vec::new(),
    };
    let errors = if outcome == RowOutcome::Invalid {
        vec![RowError {
            row: n + 2,
            column: Some("published".to_owned()),
            value: Some("2019-13-45".to_owned()),
            message: "is not a date (expected YYYY-MM-DD)".to_owned(),
            outcome: RowOutcome::Invalid,
        }]
    } else {
        Vec::new()
    };
    (
        RowResult {
            row: n + 2,
            outcome,
            key: (outcome != RowOutcome::Invalid).then(|| n.to_string()),
            changes,
            instance: None,
            row_values: None,
        },
        errors,
    )
}

fn preview_behaves(env: &Env, rows: u64) {
    let store = env.open();
    let upload = store
        .put_upload(&new_upload(), &mut &b"title\nDune\n"[..])
        .unwrap();
    let mut sink = store.preview_sink(&upload.token).unwrap();
    for n in 0..rows {
        let (result, errors) = row(n);
        sink.row(&result, &errors);
    }
    let summary = sink
        .finish(serde_json::json!({"errors": ["a base error"]}))
        .unwrap();
    assert!(summary.complete);
    assert_eq!(summary.totals.rows(), rows);
    assert_eq!(summary.totals.new, rows / 4);
    assert_eq!(summary.totals.invalid, rows / 4);
    assert_eq!(summary.summary["errors"][0], "a base error");

    // Any instance pages it.
    let other = env.open();
    let page = other.preview_page(&upload.token, None, 0, 3).unwrap();
    assert_eq!(page.matching, rows);
    assert_eq!(page.rows.len(), 3);
    assert_eq!(
        page.rows.iter().map(|r| r.result.row).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    let expected = row(1);
    assert_eq!(page.rows[1].result, expected.0);

    let last = other
        .preview_page(&upload.token, None, rows - 10, 50)
        .unwrap();
    assert_eq!(last.rows.len(), 10);
    assert_eq!(last.rows[0].seq, rows - 10);
    assert_eq!(last.rows[9].result.row, rows + 1);

    // Only the invalid rows, with their errors.
    let invalid = other
        .preview_page(&upload.token, Some(RowOutcome::Invalid), 100, 5)
        .unwrap();
    assert_eq!(invalid.matching, rows / 4);
    assert_eq!(invalid.rows.len(), 5);
    // The 101st invalid row is row index 403 (every fourth from 3).
    assert_eq!(invalid.rows[0].seq, 403);
    assert_eq!(invalid.rows[0].errors, row(403).1);
    assert!(invalid
        .rows
        .iter()
        .all(|r| r.result.outcome == RowOutcome::Invalid));
    assert_eq!(
        invalid.rows[0].errors[0].describe("books.csv"),
        "books.csv, row 405, column \"published\": \"2019-13-45\" is not a date (expected YYYY-MM-DD)"
    );
    let updates = other
        .preview_page(&upload.token, Some(RowOutcome::Update), 0, 2)
        .unwrap();
    assert_eq!(updates.rows[1].result, row(5).0);
    let deletes = other
        .preview_page(&upload.token, Some(RowOutcome::Delete), 0, 10)
        .unwrap();
    assert_eq!((deletes.matching, deletes.rows.len()), (0, 0));
    assert_eq!(env.count("rowport_preview_rows"), rows);

    // A second dry run replaces the first.
    let mut sink = store.preview_sink(&upload.token).unwrap();
    let (result, errors) = row(0);
    sink.row(&result, &errors);
    sink.finish(serde_json::Value::Null).unwrap();
    assert_eq!(
        store.preview_summary(&upload.token).unwrap().totals.rows(),
        1
    );
    assert_eq!(env.count("rowport_preview_rows"), 1);

    // Removing the upload removes the preview.
    store.remove_upload(&upload.token).unwrap();
    assert!(matches!(
        store.preview_page(&upload.token, None, 0, 10),
        Err(StateError::PreviewNotFound)
    ));
    assert!(matches!(
        store.preview_page("../x", None, 0, 10),
        Err(StateError::MalformedToken)
    ));
    assert_eq!(env.count("rowport_preview_rows"), 0);

    // An expired preview is swept with its upload.
    let upload = store
        .put_upload(&new_upload(), &mut &b"title\nDune\n"[..])
        .unwrap();
    let mut sink = store.preview_sink(&upload.token).unwrap();
    sink.row(&row(0).0, &[]);
    sink.finish(serde_json::Value::Null).unwrap();
    env.clock
        .advance(Duration::from_secs(env.config.upload_ttl_secs + 1));
    assert!(matches!(
        store.preview_summary(&upload.token),
        Err(StateError::PreviewNotFound)
    ));
    let report = store.sweep().unwrap();
    assert_eq!(report.previews, 1, "{report:?}");
    assert_eq!(env.count("rowport_preview_rows"), 0);
    assert_eq!(env.count("rowport_previews"), 0);
}

fn text_cells(values: &[&str]) -> Vec<Cell> {
    values
        .iter()
        .map(|v| {
            if v.is_empty() {
                Cell::Empty
            } else {
                Cell::Text((*v).to_owned())
            }
        })
        .collect()
}

/// Feeds a sink as the engine does: `failed_row` just before `row` for a failed row.
fn feed(sink: &mut dyn RowSink, result: &RowResult, errors: &[RowError], cells: &[Cell]) {
    if !result.is_valid() && sink.wants_failed_rows() {
        sink.failed_row(result.row, cells, errors);
    }
    sink.row(result, errors);
}

/// A row's file values as the store returns them.
type FileValues = Option<Vec<(String, String)>>;

fn pairs(values: &[(&str, &str)]) -> FileValues {
    Some(
        values
            .iter()
            .map(|(h, v)| ((*h).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn preview_file_values_behave(env: &Env) {
    let store = env.open();
    let upload = store
        .put_upload(&new_upload(), &mut &b"title\nDune\n"[..])
        .unwrap();
    let headers = vec![
        "title".to_owned(),
        "published".to_owned(),
        "note".to_owned(),
    ];
    let mut sink = store
        .preview_sink(&upload.token)
        .unwrap()
        .keep_file_values(headers.clone());
    assert!(sink.wants_failed_rows());
    // `row(n)` cycles new, update, skip, invalid: 3 and 7 (rows 5 and 9) are invalid.
    let odd = "«ü»\t\\N \\ \r\n\"quoted\"";
    for n in 0..8 {
        let (result, errors) = row(n);
        let cells = match n {
            3 => text_cells(&["Dune", "2019-13-45", odd]),
            // A short row: its missing cells are empty.
            7 => text_cells(&["Emma"]),
            _ => text_cells(&["Valid", "2019-01-01", ""]),
        };
        feed(&mut sink, &result, &errors, &cells);
    }
    // An error row (the database refused it), with an empty cell.
    let error_row = RowResult {
        row: 10,
        outcome: RowOutcome::Error,
        key: None,
        changes: Vec::new(),
        instance: None,
        row_values: None,
    };
    let error = RowError {
        row: 10,
        column: None,
        value: None,
        message: "the database refused the row".to_owned(),
        outcome: RowOutcome::Error,
    };
    feed(
        &mut sink,
        &error_row,
        std::slice::from_ref(&error),
        &text_cells(&["Persuasion", "", "x"]),
    );
    sink.finish(serde_json::Value::Null).unwrap();

    let other = env.open();
    let page = other.preview_page(&upload.token, None, 0, 20).unwrap();
    assert_eq!(page.rows.len(), 9);
    let kept: Vec<(u64, FileValues)> = page
        .rows
        .iter()
        .map(|r| (r.result.row, r.result.row_values.clone()))
        .collect();
    assert_eq!(
        kept,
        vec![
            (2, None),
            (3, None),
            (4, None),
            (
                5,
                pairs(&[
                    ("title", "Dune"),
                    ("published", "2019-13-45"),
                    ("note", odd)
                ])
            ),
            (6, None),
            (7, None),
            (8, None),
            (
                9,
                pairs(&[("title", "Emma"), ("published", ""), ("note", "")])
            ),
            (
                10,
                pairs(&[("title", "Persuasion"), ("published", ""), ("note", "x")])
            ),
        ]
    );
    // The invalid filter pages them too, with their errors.
    let invalid = other
        .preview_page(&upload.token, Some(RowOutcome::Invalid), 1, 1)
        .unwrap();
    assert_eq!(invalid.rows[0].result.row, 9);
    assert_eq!(invalid.rows[0].result.row_values, kept[7].1);
    assert_eq!(invalid.rows[0].errors, row(7).1);
    // Only failed rows hold values in the table.
    let stored = env.db.query(&format!(
        "SELECT row_no FROM {} WHERE row_values IS NOT NULL ORDER BY seq",
        env.table("rowport_preview_rows")
    ));
    assert_eq!(stored, vec![vec!["5"], vec!["9"], vec!["10"]]);

    // Without keep_file_values nothing is kept, and the engine is not asked for cells.
    let mut sink = store.preview_sink(&upload.token).unwrap();
    assert!(!sink.wants_failed_rows());
    let (result, errors) = row(3);
    sink.failed_row(
        result.row,
        &text_cells(&["Dune", "2019-13-45", ""]),
        &errors,
    );
    sink.row(&result, &errors);
    sink.finish(serde_json::Value::Null).unwrap();
    let page = other.preview_page(&upload.token, None, 0, 20).unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].result.row_values, None);
    let stored = env.db.query(&format!(
        "SELECT COUNT(*) FROM {} WHERE row_values IS NOT NULL",
        env.table("rowport_preview_rows")
    ));
    assert_eq!(stored, vec![vec!["0"]]);
}

fn jobs_behave(env: &Env) {
    let store = env.open();
    let other = env.open();
    let job = store
        .create_job(&NewJob {
            resource: "books".to_owned(),
            user: "ada".to_owned(),
            file_name: "books.csv".to_owned(),
            upload_token: None,
            bytes_total: 4000,
        })
        .unwrap();
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.fraction(), 0.0);

    store.job_progress(&job.id, 500, 1000).unwrap();
    let seen = other
        .job(&job.id)
        .unwrap()
        .expect("the other instance sees it");
    assert_eq!(
        (seen.rows_done, seen.bytes_done, seen.bytes_total),
        (500, 1000, 4000)
    );
    assert_eq!(seen.fraction(), 0.25);
    assert_eq!(seen.status, JobStatus::Running);

    let result = serde_json::json!({"totals": {"new": 1990, "update": 10}, "errors": []});
    store.finish_job(&job.id, 2000, &result).unwrap();
    let done = other.job(&job.id).unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.rows_done, 2000);
    assert_eq!(done.bytes_done, 4000);
    assert_eq!(done.result, Some(result));
    assert!(done.finished.is_some());
    // An ended job takes no more progress.
    store.job_progress(&job.id, 1, 1).unwrap();
    assert_eq!(other.job(&job.id).unwrap().unwrap().rows_done, 2000);

    env.clock.advance(Duration::from_secs(1));
    let failed = other
        .create_job(&NewJob {
            resource: "books".to_owned(),
            user: "bob".to_owned(),
            file_name: "more.xlsx".to_owned(),
            upload_token: Some("a".repeat(64)),
            bytes_total: 10,
        })
        .unwrap();
    other
        .fail_job(&failed.id, "the database went away")
        .unwrap();
    let failed = store.job(&failed.id).unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("the database went away"));
    assert_eq!(failed.upload_token, Some("a".repeat(64)));

    let history = store.jobs("books", 10).unwrap();
    assert_eq!(
        history
            .iter()
            .map(|j| j.file_name.as_str())
            .collect::<Vec<_>>(),
        ["more.xlsx", "books.csv"]
    );
    assert_eq!(store.jobs("books", 1).unwrap().len(), 1);
    assert!(store.jobs("authors", 10).unwrap().is_empty());
    assert_eq!(store.job("../x").unwrap(), None);
    assert!(matches!(
        store.fail_job(&"b".repeat(64), "x"),
        Err(StateError::UnknownJob(_))
    ));
}

#[test]
fn uploads_in_a_folder() {
    let env = Env::database(Backend::Sqlite);
    uploads_behave(&env, &folder_files);
    assert_eq!(upload_rows(&env), 0);
}

#[test]
fn the_sweep_removes_stray_upload_files() {
    let env = Env::database(Backend::Sqlite);
    let store = env.open();
    let folder = env.upload_folder();
    let stray = folder.join(format!("{}.part", "c".repeat(64)));
    let foreign = folder.join("notes.txt");
    std::fs::write(&stray, b"cut off").unwrap();
    std::fs::write(&foreign, b"not rowport's").unwrap();
    let live = store
        .put_upload(&new_upload(), &mut &b"a\n1\n"[..])
        .unwrap();
    // Not yet older than the TTL: kept.
    assert_eq!(store.sweep().unwrap().stray_files, 0);
    assert!(stray.exists());
    env.clock
        .advance(Duration::from_secs(env.config.upload_ttl_secs + 1));
    let report = store.sweep().unwrap();
    assert_eq!((report.uploads, report.stray_files), (1, 1), "{report:?}");
    assert!(!stray.exists());
    assert!(
        foreign.exists(),
        "the sweep removed a file rowport did not make"
    );
    assert!(matches!(
        store.upload(&live.token),
        Err(StateError::UploadNotFound)
    ));
}

#[test]
fn state_file_sits_beside_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = rowport_admin::state::StateConfig::default().with_base_dir(dir.path());
    assert_eq!(
        config.database,
        format!("sqlite://{}", dir.path().join("rowport-admin.db").display())
    );
    let store = StateStore::open(&config).unwrap();
    store.add_user("ada", PASSWORD, false).unwrap();
    assert!(dir.path().join("rowport-admin.db").exists());
    assert!(dir.path().join(".rowport-uploads").is_dir());
    let parsed: rowport_admin::state::StateConfig =
        toml::from_str("database = \"postgres://u@h/db\"\nsessions = \"redis\"\nuploads = \"database\"\nupload_ttl_secs = 60\n")
            .unwrap();
    assert_eq!(parsed.sessions, SessionStorage::Redis);
    assert_eq!(parsed.uploads, UploadStorage::Database);
    assert_eq!(parsed.upload_ttl_secs, 60);
    assert_eq!(parsed.max_upload_bytes, 100 << 20);
    let err = toml::from_str::<rowport_admin::state::StateConfig>("uploads = \"s3\"").unwrap_err();
    assert!(err.to_string().contains("s3"), "{err}");
}

#[test]
fn a_bad_url_is_reported() {
    let config = rowport_admin::state::StateConfig {
        database: "oracle://x".to_owned(),
        ..Default::default()
    };
    let err = StateStore::open(&config).unwrap_err();
    assert!(err.to_string().contains("unsupported scheme"), "{err}");
    let config = rowport_admin::state::StateConfig {
        database: "postgres://u:hunter2@127.0.0.1:1/db".to_owned(),
        ..Default::default()
    };
    let err = StateStore::open(&config).unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

redis_test! {
    /// Sessions kept in Redis behave as in the database.
    fn sessions_in_redis() {
        let env = Env::new(Backend::Sqlite, SessionStorage::Redis, UploadStorage::Folder);
        sessions_behave(&env);
        assert_eq!(env.count("rowport_sessions"), 0, "Redis sessions went to the database");
    }
}

redis_test! {
    /// Login failures kept in Redis are shared and limited.
    fn logins_are_rate_limited_in_redis() {
        let env = Env::new(Backend::Sqlite, SessionStorage::Redis, UploadStorage::Folder);
        // Redis expires keys by its own clock, so the window is not moved here.
        login_limits_behave(&env, false);
        assert_eq!(env.count("rowport_login_failures"), 0);
    }
}

redis_test! {
    /// Uploads of several megabytes stream into Redis.
    fn large_uploads_in_redis() {
        let mut env = Env::new(Backend::Sqlite, SessionStorage::Database, UploadStorage::Redis);
        large_uploads_behave(&mut env, &redis_keys);
    }
}

redis_test! {
    /// Uploads kept in Redis behave as in the other storages.
    fn uploads_in_redis() {
        let env = Env::new(Backend::Sqlite, SessionStorage::Database, UploadStorage::Redis);
        uploads_behave(&env, &redis_upload_keys);
        assert_eq!(upload_rows(&env), 0);
        assert_eq!(folder_files(&env), 0);
    }
}
