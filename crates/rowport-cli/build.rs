//! Turns the test-server variables into cfgs, so that `cargo test` lists the server suites
//! as ignored (naming the variable) when no server is named, and runs them when one is.
fn main() {
    for (var, cfg) in [
        ("ROWPORT_TEST_POSTGRES", "rowport_pg_tests"),
        ("ROWPORT_TEST_MYSQL", "rowport_mysql_tests"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
}
