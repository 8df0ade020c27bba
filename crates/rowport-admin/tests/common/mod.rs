//! A SQLite books database, an admin over it with a state store in a temporary folder, users
//! with different permissions, and an HTTP client that logs in and sends forms.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use rowport::config::Config;
use rowport_admin::state::{ManualClock, Permission, StateStore};
use rowport_admin::web::adapter::{state_config, StateAdapter};
use rowport_admin::{router, Admin};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

const SCHEMA: &str = r#"
CREATE TABLE author (id integer PRIMARY KEY AUTOINCREMENT, name varchar(100) NOT NULL UNIQUE);
CREATE TABLE book (id integer PRIMARY KEY AUTOINCREMENT, isbn varchar(20) NOT NULL UNIQUE,
  name varchar(200) NOT NULL UNIQUE, price decimal(10, 2) NULL, in_stock bool NOT NULL DEFAULT 1,
  author_id bigint NULL REFERENCES author (id));
INSERT INTO author (name) VALUES ('Frank Herbert'), ('Jane Austen');
INSERT INTO book (isbn, name, price, in_stock, author_id) VALUES
  ('9780000000001', 'Dune', 12.34, 1, 1),
  ('9780000000002', 'Emma', 8.50, 0, 2),
  ('9780000000003', 'Persuasion', 9.99, 1, 2);
"#;

/// The config every test starts from; `extra` is appended to the `[admin]` table.
pub fn config_text(admin_extra: &str) -> String {
    format!(
        r#"database = "sqlite://books.db"

[resources.book]
fields = ["isbn", "name", "price", "in_stock", "author"]
import_id_fields = ["isbn"]
skip_unchanged = true

[resources.book.field.author]
widget = "foreign_key"
lookup = "name"

[resources.book_prices]
table = "book"
fields = ["isbn", "price"]
import_id_fields = ["isbn"]

[admin]
{admin_extra}

[admin.state]
database = "sqlite://state.db"
upload_dir = "uploads"
max_upload_bytes = 4096
"#
    )
}

pub struct Site {
    pub dir: tempfile::TempDir,
    pub app: Router,
    pub state: Arc<StateAdapter>,
    pub clock: Arc<ManualClock>,
}

impl Site {
    pub fn new() -> Site {
        Site::with("", |a| a)
    }

    /// A site whose `[admin]` table has `admin_extra`, and whose Admin `adjust` may change.
    pub fn with(admin_extra: &str, adjust: impl FnOnce(Admin) -> Admin) -> Site {
        Site::with_files(admin_extra, &[], adjust)
    }

    /// [`Site::with`], writing `files` (path relative to the config's folder, text) first.
    pub fn with_files(
        admin_extra: &str,
        files: &[(&str, &str)],
        adjust: impl FnOnce(Admin) -> Admin,
    ) -> Site {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let conn = rusqlite::Connection::open(dir.path().join("books.db")).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        drop(conn);
        let path = dir.path().join("rowport.toml");
        std::fs::write(&path, config_text(admin_extra)).unwrap();
        let config = Config::load(&path).unwrap();
        let clock = Arc::new(ManualClock::new());
        let store =
            StateStore::open_with_clock(&state_config(&config).unwrap(), clock.clone()).unwrap();
        store.add_user("root", PASSWORD, true).unwrap();
        store.add_user("viewer", PASSWORD, false).unwrap();
        store.grant("viewer", "book", &[Permission::View]).unwrap();
        store.add_user("importer", PASSWORD, false).unwrap();
        store
            .grant("importer", "book", &[Permission::View, Permission::Import])
            .unwrap();
        store.add_user("exporter", PASSWORD, false).unwrap();
        store
            .grant("exporter", "book", &[Permission::View, Permission::Export])
            .unwrap();
        store.add_user("nobody", PASSWORD, false).unwrap();
        let state = Arc::new(StateAdapter::new(store));
        let url = format!("sqlite://{}", dir.path().join("books.db").display());
        let admin = adjust(Admin::new(config, &url, state.clone()).unwrap());
        Site {
            dir,
            app: router(admin),
            state,
            clock,
        }
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("books.db")).unwrap()
    }

    /// `SELECT isbn, name, price FROM book ORDER BY isbn`, as text.
    pub fn books(&self) -> Vec<(String, String, String)> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT isbn, name, CAST(price AS TEXT) FROM book ORDER BY isbn")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    pub async fn send(&self, request: Request<Body>) -> Page {
        let response = self.app.clone().oneshot(request).await.unwrap();
        Page::from(response).await
    }

    pub async fn get(&self, path: &str, who: Option<&Session>) -> Page {
        let mut r = Request::get(path);
        if let Some(s) = who {
            r = r.header(header::COOKIE, s.cookie());
        }
        self.send(r.body(Body::empty()).unwrap()).await
    }

    /// A form POST with the session's token (unless `pairs` names `csrf_token` itself).
    pub async fn post(&self, path: &str, who: &Session, pairs: &[(&str, &str)]) -> Page {
        self.post_with(path, who, pairs, &[]).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        who: &Session,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut form = form_urlencoded::Serializer::new(String::new());
        if !pairs.iter().any(|(k, _)| *k == "csrf_token") {
            form.append_pair("csrf_token", &who.csrf);
        }
        for (k, v) in pairs {
            form.append_pair(k, v);
        }
        let mut r = Request::post(path)
            .header(header::COOKIE, who.cookie())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "admin.test");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r.body(Body::from(form.finish())).unwrap()).await
    }

    /// A multipart upload: text fields in order, then the file.
    pub async fn upload(
        &self,
        path: &str,
        who: &Session,
        fields: &[(&str, &str)],
        file_name: &str,
        bytes: &[u8],
    ) -> Page {
        let boundary = "rowport-test-boundary";
        let mut body = Vec::new();
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if !fields.iter().any(|(k, _)| *k == "csrf_token") {
            fields.insert(0, ("csrf_token", who.csrf.as_str()));
        }
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = Request::post(path)
            .header(header::COOKIE, who.cookie())
            .header(header::HOST, "admin.test")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(r).await
    }

    pub async fn login(&self, user: &str) -> Session {
        let (page, status) = self.try_login(user, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{}", page.text);
        let session = page.cookie("rowport_session").expect("a session cookie");
        let mut who = Session {
            id: session,
            csrf: String::new(),
        };
        let home = self.get("/", Some(&who)).await;
        who.csrf = home.field("csrf_token").expect("a token on the page");
        who
    }

    pub async fn try_login(&self, user: &str, password: &str) -> (Page, StatusCode) {
        let form = self.get("/login", None).await;
        let cookie = form.cookie("rowport_login_csrf").unwrap();
        let token = form.field("csrf_token").unwrap();
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", &token)
            .append_pair("username", user)
            .append_pair("password", password)
            .append_pair("next", "/")
            .finish();
        let r = Request::post("/login")
            .header(header::COOKIE, format!("rowport_login_csrf={cookie}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let page = self.send(r).await;
        let status = page.status;
        (page, status)
    }
}

pub struct Session {
    pub id: String,
    pub csrf: String,
}

impl Session {
    pub fn cookie(&self) -> String {
        format!("rowport_session={}", self.id)
    }
}

pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
    pub text: String,
}

impl Page {
    async fn from(response: Response<Body>) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Page {
            status,
            headers,
            bytes,
            text,
        }
    }

    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                let (pair, _) = v.split_once(';')?;
                let (k, value) = pair.split_once('=')?;
                (k == name).then(|| value.to_owned())
            })
    }

    /// The value of the first input named `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.text.find(&marker)? + marker.len();
        let end = self.text[start..].find('"')? + start;
        Some(self.text[start..end].to_owned())
    }

    pub fn has(&self, needle: &str) -> bool {
        self.text.contains(needle)
    }
}

/// The folder of the test's shared fixtures.
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}
