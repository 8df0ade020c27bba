//! Two `rowport serve` processes on different ports behind one PostgreSQL database (the
//! books and the admin's state) and one Redis (sessions and uploads): a user logs in and
//! uploads on one, and confirms on the other, as behind a load balancer.
//!
//! Compiled in when both `ROWPORT_TEST_POSTGRES` and `ROWPORT_TEST_REDIS`
//! (`redis://127.0.0.1:6379`) are set, as `bash scripts/test` does; listed as ignored
//! otherwise. The test makes a database of its own and a Redis key prefix of its own, and
//! removes both at the end.

mod common;
mod server;

use common::{rows, Backend, Sandbox, LIBRARY_CONFIG, LIBRARY_SCHEMA};
use server::{form, multipart, request, Response, Server};

/// Book 111's name changes; book 333 is new; book 222 stays.
const UPLOAD: &str = "isbn,name,author,author_email,published,price,in_stock,categories\n\
111,The Dispossessed (revised),Ursula K. Le Guin,ursula@example.com,1974-05-01,8.99,1,Fiction|Science\n\
222,Invisible Cities,Italo Calvino,,1972-01-01,12.50,1,Fiction\n\
333,Kindred,Octavia E. Butler,octavia@example.com,1979-06-01,10.00,0,Fiction|History\n";

fn redis_url() -> String {
    option_env!("ROWPORT_TEST_REDIS")
        .map(str::to_owned)
        .or_else(|| std::env::var("ROWPORT_TEST_REDIS").ok())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
}

/// The keys under one prefix, deleted when the test ends (however it ends).
struct RedisKeys {
    connection: redis::Connection,
    prefix: String,
}

impl RedisKeys {
    fn new(url: &str) -> RedisKeys {
        let client = redis::Client::open(url).expect("a Redis URL");
        let connection = client.get_connection().unwrap_or_else(|e| {
            panic!("cannot reach Redis at {url}: {e}\nhint: bash scripts/services")
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        RedisKeys {
            connection,
            prefix: format!("rowport-test-{}-{nanos}:", std::process::id()),
        }
    }

    fn keys(&mut self) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut self.connection)
            .expect("KEYS")
    }
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        for key in self.keys() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(&key).query(&mut self.connection);
        }
    }
}

/// The session cookie after logging in on `server` as `user`.
fn log_in(server: &Server, user: &str, password: &str) -> String {
    let page = request("GET", &server.url("/login"), &[], b"");
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.input("csrf_token").expect("the login form's token");
    let pre = page
        .set_cookie("rowport_login_csrf")
        .expect("the login form's cookie");
    let cookie = format!("rowport_login_csrf={pre}");
    let body = form(&[
        ("csrf_token", &csrf),
        ("next", "/"),
        ("username", user),
        ("password", password),
    ]);
    let done = request(
        "POST",
        &server.url("/login"),
        &[
            ("Cookie", &cookie),
            ("Origin", &server.base),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    );
    assert_eq!(done.status, 303, "login: {}", done.body);
    done.set_cookie("rowport_session")
        .expect("a session cookie after login")
}

fn get(server: &Server, path: &str, session: &str) -> Response {
    request(
        "GET",
        &server.url(path),
        &[("Cookie", &format!("rowport_session={session}"))],
        b"",
    )
}

#[test]
#[cfg_attr(
    not(all(rowport_pg_tests, rowport_redis_tests)),
    ignore = "two-instance test not run: set ROWPORT_TEST_POSTGRES=postgres://… and ROWPORT_TEST_REDIS=redis://127.0.0.1:6379 (bash scripts/test does) and rebuild"
)]
fn two_instances_share_sessions_and_uploads() {
    let sandbox = Sandbox::with_schema_on(Backend::Postgres, LIBRARY_SCHEMA);
    sandbox.execute(
        "INSERT INTO book (isbn, name, author_email, published, price, in_stock, author_id) VALUES \
         ('111', 'The Dispossessed', 'ursula@example.com', '1974-05-01', 8.99, true, 1), \
         ('222', 'Invisible Cities', NULL, '1972-01-01', 12.50, true, 2)",
    );
    sandbox.execute(
        "INSERT INTO book_categories (book_id, category_id) \
         SELECT b.id, c.id FROM book b, category c WHERE \
         (b.isbn = '111' AND c.name IN ('Fiction', 'Science')) OR (b.isbn = '222' AND c.name = 'Fiction')",
    );
    let url = sandbox.url();
    let mut redis = RedisKeys::new(&redis_url());
    sandbox.write(
        "rowport.toml",
        format!(
            "database = \"{url}\"\n{LIBRARY_CONFIG}\n\
             [admin.state]\ndatabase = \"{url}\"\nsessions = \"redis\"\nuploads = \"redis\"\n\
             redis_url = \"{}\"\nredis_prefix = \"{}\"\n",
            redis_url(),
            redis.prefix
        ),
    );
    sandbox
        .rowport_stdin(
            &["user", "add", "ana", "--password-stdin"],
            b"correct horse battery\n",
        )
        .success();
    sandbox
        .rowport(&["user", "grant", "ana", "book", "view,import"])
        .success();

    let one = Server::start(sandbox.root(), &[], &[]);
    let two = Server::start(sandbox.root(), &[], &[]);
    assert_ne!(one.base, two.base);

    // A session made on one instance is known to the other.
    let session = log_in(&one, "ana", "correct horse battery");
    let list = get(&two, "/r/book", &session);
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("data-total=\"2\""), "{}", list.body);

    // Upload and preview on one.
    let import = get(&one, "/r/book/import", &session);
    assert_eq!(import.status, 200, "{}", import.body);
    let csrf = import.input("csrf_token").expect("the import form's token");
    let (content_type, body) = multipart(
        &[("csrf_token", &csrf), ("format", "csv")],
        ("file", "books.csv", UPLOAD.as_bytes()),
    );
    let uploaded = request(
        "POST",
        &one.url("/r/book/import"),
        &[
            ("Cookie", &format!("rowport_session={session}")),
            ("Origin", &one.base),
            ("Content-Type", &content_type),
        ],
        &body,
    );
    assert_eq!(uploaded.status, 303, "upload: {}", uploaded.body);
    let preview_path = uploaded
        .header("location")
        .expect("the preview's address")
        .to_owned();
    let token = preview_path
        .strip_prefix("/r/book/import/")
        .and_then(|p| p.strip_suffix("/preview"))
        .expect("/r/book/import/TOKEN/preview")
        .to_owned();
    let preview = get(&one, &preview_path, &session);
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(
        preview
            .body
            .contains("<del>The Dispossessed</del> → <ins>The Dispossessed (revised)</ins>"),
        "{}",
        preview.body
    );
    // The upload and the session are in Redis under this test's prefix, not on one
    // instance's disk.
    assert!(
        !redis.keys().is_empty(),
        "nothing under {} in Redis",
        redis.prefix
    );
    // The same preview, from the other instance.
    let elsewhere = get(&two, &preview_path, &session);
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    assert!(elsewhere.body.contains("The Dispossessed (revised)"));
    let confirm_csrf = elsewhere
        .input("csrf_token")
        .expect("the confirm form's token");

    // Confirm on two.
    let confirmed = request(
        "POST",
        &two.url(&format!("/r/book/import/{token}/confirm")),
        &[
            ("Cookie", &format!("rowport_session={session}")),
            ("Origin", &two.base),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form(&[("csrf_token", &confirm_csrf)]).as_bytes(),
    );
    assert_eq!(confirmed.status, 200, "confirm: {}", confirmed.body);
    assert!(
        confirmed
            .body
            .to_ascii_lowercase()
            .contains("data-committed=\"true\""),
        "{}",
        confirmed.body
    );

    assert_eq!(
        sandbox.query(
            "SELECT b.isbn, b.name, a.name, b.in_stock::text FROM book b \
             JOIN author a ON a.id = b.author_id ORDER BY b.isbn"
        ),
        rows(&[
            &[
                "111",
                "The Dispossessed (revised)",
                "Ursula K. Le Guin",
                "true"
            ],
            &["222", "Invisible Cities", "Italo Calvino", "true"],
            &["333", "Kindred", "Octavia E. Butler", "false"],
        ])
    );
    assert_eq!(
        sandbox.query(
            "SELECT c.name FROM book_categories bc JOIN book b ON b.id = bc.book_id \
             JOIN category c ON c.id = bc.category_id WHERE b.isbn = '333' ORDER BY c.name"
        ),
        rows(&[&["Fiction"], &["History"]])
    );

    // The confirmed upload is gone for both instances.
    for server in [&one, &two] {
        let gone = get(server, &preview_path, &session);
        assert_eq!(gone.status, 410, "{}", gone.body);
        assert!(gone.body.contains("Upload the file again"), "{}", gone.body);
    }
}
