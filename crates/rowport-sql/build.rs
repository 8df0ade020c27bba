//! Turns on the PostgreSQL server tests when `ROWPORT_TEST_POSTGRES` names a server; without
//! it they are reported as ignored, with the variable to set.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rowport_pg_tests)");
    println!("cargo::rerun-if-env-changed=ROWPORT_TEST_POSTGRES");
    if std::env::var_os("ROWPORT_TEST_POSTGRES").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=rowport_pg_tests");
    }
}
