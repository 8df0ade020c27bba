//! `rowport user add|grant` and `rowport serve`: users land in the admin's state store next
//! to rowport.toml, and the server answers on its address.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::Sandbox;
use rowport::config::Config;
use rowport_admin::state::StateStore;
use rowport_admin::web::adapter::state_config;

const CONFIG: &str = "database = \"sqlite://test.db\"\n";

fn state(sandbox: &Sandbox) -> StateStore {
    let config = Config::load(&sandbox.path("rowport.toml")).unwrap();
    StateStore::open(&state_config(&config).unwrap()).unwrap()
}

#[test]
fn user_add_and_grant_store_the_user_and_permissions() {
    let sandbox = Sandbox::with_schema("CREATE TABLE book (id integer PRIMARY KEY, name text);");
    sandbox.write("rowport.toml", CONFIG);
    sandbox
        .rowport_stdin(
            &["user", "add", "ada", "--password-stdin"],
            b"a long passphrase\n",
        )
        .success()
        .stderr_has_line("added user \"ada\"")
        .stderr_has_line(
            "hint: give permissions with `rowport user grant ada RESOURCE view,import,export`",
        );
    sandbox
        .rowport(&["user", "grant", "ada", "book", "view,export"])
        .success()
        .stderr_has_line("granted view, export on \"book\" to \"ada\"");
    let store = state(&sandbox);
    let ada = store
        .verify_login("ada", "a long passphrase")
        .unwrap()
        .expect("the password works");
    assert!(!ada.superuser);
    let perms = store.permissions(&ada, "book").unwrap();
    assert!(perms.view && perms.export && !perms.import);
    assert!(
        sandbox.path("rowport-admin.db").is_file(),
        "the state sits beside rowport.toml"
    );
}

#[test]
fn user_add_makes_up_a_password_and_shows_it_once() {
    let sandbox = Sandbox::with_schema("CREATE TABLE book (id integer PRIMARY KEY);");
    sandbox.write("rowport.toml", CONFIG);
    let run = sandbox.rowport(&["user", "add", "root", "--superuser"]);
    run.success().stderr_has_line("added superuser \"root\"");
    let stderr = run.stderr.clone();
    let password = stderr
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .and_then(|l| l.strip_suffix(" (shown once)"))
        .expect("a password line")
        .to_owned();
    assert_eq!(password.len(), 20);
    let root = state(&sandbox)
        .verify_login("root", &password)
        .unwrap()
        .unwrap();
    assert!(root.superuser);
}

#[test]
fn user_mistakes_are_usage_errors() {
    let sandbox = Sandbox::with_schema("CREATE TABLE book (id integer PRIMARY KEY);");
    sandbox.write("rowport.toml", CONFIG);
    sandbox
        .rowport_stdin(&["user", "add", "ada", "--password-stdin"], b"pw\n")
        .success();
    sandbox
        .rowport_stdin(&["user", "add", "ada", "--password-stdin"], b"pw\n")
        .expect_code(2)
        .stderr_has_line("error: a user named \"ada\" exists already");
    sandbox
        .rowport(&["user", "grant", "ada", "bok", "view"])
        .expect_code(2)
        .stderr_has_line("error: there is no resource \"bok\"")
        .stderr_has_line("hint: did you mean \"book\"?");
    sandbox
        .rowport(&["user", "grant", "ada", "book", "view,delete"])
        .expect_code(2)
        .stderr_contains("\"delete\" is not a permission");
    sandbox
        .rowport(&["user", "grant", "bob", "book", "view"])
        .expect_code(2)
        .stderr_contains("there is no user named \"bob\"");
}

/// Sends one HTTP/1.1 request and returns the whole response.
fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_demo_creates_the_demo_and_an_admin_and_answers() {
    let sandbox = Sandbox::new();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rowport"))
        .args(["serve", "--demo", "--addr", "127.0.0.1:0"])
        .current_dir(sandbox.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut password = None;
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("demo admin: user \"admin\", password ") {
            password = rest.strip_suffix(" (shown once)").map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("rowport admin on http://") {
            addr = rest.split('/').next().map(str::to_owned);
            break;
        }
    }
    let addr = addr.expect("the address line");
    let password = password.expect("the password line");
    let login = http(
        &addr,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let home = http(
        &addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    // The server is done with; stop the child this test started.
    let _ = child.kill();
    let _ = child.wait();
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(login.contains("<h1>Log in</h1>"));
    assert!(login
        .to_lowercase()
        .contains("content-security-policy: default-src 'self'"));
    assert!(home.starts_with("HTTP/1.1 303"), "{home}");
    assert!(sandbox.path("rowport-demo/demo.db").is_file());
    let config = Config::load(&sandbox.path("rowport-demo/rowport.toml")).unwrap();
    let store = StateStore::open(&state_config(&config).unwrap()).unwrap();
    assert!(
        store
            .verify_login("admin", &password)
            .unwrap()
            .unwrap()
            .superuser
    );
}
