//! Switches for the test suites that need a server or a browser: each runs only when its
//! server's URL is in the environment, and is reported as ignored (with the variable to
//! set) otherwise.

/// (environment variable, cfg it turns on)
const SERVER_SUITES: [(&str, &str); 4] = [
    ("ROWPORT_TEST_POSTGRES", "rowport_pg_tests"),
    ("ROWPORT_TEST_MYSQL", "rowport_mysql_tests"),
    // Redis, for the web admin's sessions and uploads (tests/instances.rs).
    ("ROWPORT_TEST_REDIS", "rowport_redis_tests"),
    // A Chromium binary, for the web admin in a browser (tests/browser.rs).
    ("ROWPORT_TEST_BROWSER", "rowport_browser_tests"),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for (variable, cfg) in SERVER_SUITES {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={variable}");
        if std::env::var_os(variable).is_some_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
