//! The change list's SQL on the server databases: count, sorted page, search, filter,
//! distinct values and the keys of a filtered export, on PostgreSQL and MariaDB.

use rowport_admin::web::browse::{Browser, Query};
use rowport_testkit::{Backend, ServerDatabase};

fn check(backend: Backend) {
    let db = ServerDatabase::create(backend);
    db.execute(
        "CREATE TABLE book (id integer PRIMARY KEY, name varchar(50) NOT NULL, in_stock boolean NOT NULL)",
    );
    db.execute(
        "INSERT INTO book (id, name, in_stock) VALUES (1, 'Dune', true), (2, 'Emma', false), (3, '50% off_sale', true)",
    );
    let mut store = rowport_sql::connect(&db.url(), false).unwrap();
    let schema = store.describe("book").unwrap();
    let mut browser = Browser::open(&db.url()).unwrap();
    assert_eq!(browser.row_count("book").unwrap(), 3);
    let all = Query::default();
    assert_eq!(browser.count(&schema, &all).unwrap(), 3);
    let sorted = Query {
        order: Some(("name".into(), true)),
        ..Query::default()
    };
    let page = browser.page(&schema, &sorted, 0, 2).unwrap();
    let names: Vec<_> = page.iter().map(|r| r[1].clone().unwrap()).collect();
    assert_eq!(names, ["Emma", "Dune"]);
    let search = Query {
        search: "DUN".into(),
        ..Query::default()
    };
    assert_eq!(browser.count(&schema, &search).unwrap(), 1);
    // % and _ are searched for as themselves.
    let literal = Query {
        search: "0% off_".into(),
        ..Query::default()
    };
    assert_eq!(browser.count(&schema, &literal).unwrap(), 1);
    let stock = browser.distinct("book", "in_stock", 8).unwrap().unwrap();
    assert_eq!(stock.len(), 2);
    let in_stock = stock
        .iter()
        .flatten()
        .find(|v| *v != "0" && *v != "false")
        .unwrap()
        .clone();
    let filtered = Query {
        filters: vec![("in_stock".into(), in_stock)],
        ..Query::default()
    };
    let keys = browser.keys(&schema, &filtered).unwrap();
    assert_eq!(keys, ["1".to_owned(), "3".to_owned()].into_iter().collect());
    assert!(browser.distinct("book", "name", 2).unwrap().is_none());
}

#[test]
#[cfg_attr(
    not(rowport_pg_tests),
    ignore = "PostgreSQL suite not run: set ROWPORT_TEST_POSTGRES to run it"
)]
fn change_list_sql_on_postgres() {
    check(Backend::Postgres);
}

#[test]
#[cfg_attr(
    not(rowport_mysql_tests),
    ignore = "MySQL suite not run: set ROWPORT_TEST_MYSQL to run it"
)]
fn change_list_sql_on_mysql() {
    check(Backend::Mysql);
}
