//! `rowport demo`: a folder with a SQLite database of the benchmark's books schema, its
//! reference rows, a few books, a `rowport.toml` declaring the `book` resource, and a
//! `new-books.csv` to import — everything a newcomer needs to try rowport.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use rowport::config::Config;
use rowport::ImportOptions;
use rowport_formats::{open_reader, Format, ReadOptions};
use rowport_sql::SqliteStore;

use crate::cli::DemoArgs;
use crate::failure::{ExitCode, Failure};

/// The schema of the shared benchmark workload, as Django's migration creates it on SQLite.
const SCHEMA: &str = r#"
CREATE TABLE "author" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(100) NOT NULL UNIQUE, "birthday" date NULL);
CREATE TABLE "category" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(100) NOT NULL UNIQUE);
CREATE TABLE "book" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "isbn" varchar(20) NOT NULL UNIQUE, "name" varchar(200) NOT NULL, "author_email" varchar(254) NOT NULL, "published" date NULL, "price" decimal(10, 2) NULL, "in_stock" bool NOT NULL, "added" datetime NULL, "author_id" bigint NULL REFERENCES "author" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "book_categories" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "book_id" bigint NOT NULL REFERENCES "book" ("id") DEFERRABLE INITIALLY DEFERRED, "category_id" bigint NOT NULL REFERENCES "category" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE UNIQUE INDEX "book_categories_book_id_category_id_uniq" ON "book_categories" ("book_id", "category_id");
CREATE INDEX "book_author_id_idx" ON "book" ("author_id");
CREATE INDEX "book_categories_book_id_idx" ON "book_categories" ("book_id");
CREATE INDEX "book_categories_category_id_idx" ON "book_categories" ("category_id");
"#;

/// The `book` resource: columns exactly the workload's CSV header, so its files import as
/// they are.
const CONFIG: &str = r#"# rowport demo: the books workload of rowport's benchmarks.
# `rowport inspect book` shows what this declares.
database = "sqlite://demo.db"

[resources.book]
fields = ["isbn", "name", "author", "author_email", "published", "price", "in_stock", "added", "categories"]
import_id_fields = ["isbn"]
skip_unchanged = true

# The file names the author; rowport finds its id.
[resources.book.field.author]
widget = "foreign_key"
lookup = "name"

# Category names joined by "|"; rowport sets the book's links to exactly those.
[resources.book.field.categories]
widget = "many_to_many"
table = "category"
lookup = "name"
through = "book_categories"
separator = "|"
"#;

const HEADER: &str = "isbn,name,author,author_email,published,price,in_stock,added,categories\n";

/// The demo's first books.
const BOOKS: &str = r#"9780000012345,River garden of the night #0,Author 0265,anna.ben12@example.com,2019-04-23,12.34,1,2021-03-04 12:30:00,Category 01|Category 06
9780000020264,The silence engine #1,Author 0007,carla.dmitri7@example.com,1987-11-02,8.50,0,2020-06-15 09:00:00,Category 03
9780000028183,"Winter, volume 2 #2",Author 0512,elena.farid301@example.com,2003-01-31,25.00,1,2022-12-01 18:45:10,Category 00|Category 11|Category 19
9780000036102,Café über alles #3,Author 0099,grace.hiro44@example.com,,,1,2023-02-28 07:05:00,Category 05
9780000044021,"The ""mirror"" edition #4",Author 0999,ines.jonas999@example.com,1950-07-14,199.99,0,2024-08-08 23:59:59,Category 02|Category 04
"#;

/// A file to try: one changed price, one unchanged book, two new books.
const NEW_BOOKS: &str = r#"9780000012345,River garden of the night #0,Author 0265,anna.ben12@example.com,2019-04-23,13.34,1,2021-03-04 12:30:00,Category 01|Category 06
9780000020264,The silence engine #1,Author 0007,carla.dmitri7@example.com,1987-11-02,8.50,0,2020-06-15 09:00:00,Category 03
9780000051940,Harbor of secrets #5,Author 0003,jonas.kemal5@example.com,2011-09-09,17.00,1,2024-01-02 10:00:00,Category 07|Category 08
9780000059859,Desert museum #6,Author 0420,lena.marco60@example.com,1999-12-31,42.10,1,2024-05-06 11:22:33,Category 12
"#;

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let dir = &args.path;
    let db_path = dir.join("demo.db");
    let io = |what: &Path, e: std::io::Error| {
        Failure::new(
            ExitCode::Io,
            format!(
                "cannot write {}: {}",
                what.display(),
                super::import::io_reason(&e)
            ),
        )
    };
    if db_path.exists() {
        if !args.force {
            return Err(
                Failure::usage(format!("{} already exists", db_path.display()))
                    .hint("pass --force to replace the demo, or --path to write it elsewhere")
                    .into(),
            );
        }
        std::fs::remove_file(&db_path).map_err(|e| io(&db_path, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;

    let mut store = SqliteStore::open(&db_path, true)?;
    store
        .connection()
        .execute_batch(&format!("BEGIN;{SCHEMA}{}COMMIT;", reference_rows()))
        .map_err(|e| {
            Failure::new(
                ExitCode::Io,
                format!("cannot create {}: {e}", db_path.display()),
            )
        })?;

    let config_path = dir.join("rowport.toml");
    std::fs::write(&config_path, CONFIG).map_err(|e| io(&config_path, e))?;
    let sample = dir.join("new-books.csv");
    std::fs::write(&sample, format!("{HEADER}{NEW_BOOKS}")).map_err(|e| io(&sample, e))?;

    // The first books go in through rowport itself.
    let config = Config::parse(CONFIG, &config_path)?;
    let book = config.resource("book", &mut store).map_err(Failure::from)?;
    let books = format!("{HEADER}{BOOKS}");
    let mut reader = open_reader(
        Format::Csv,
        Box::new(books.as_bytes()),
        "demo books",
        &ReadOptions::default(),
    )?;
    let result = rowport::import(
        &book,
        &mut store,
        reader.as_mut(),
        &ImportOptions::default(),
    )
    .map_err(Failure::from)?;
    if result.has_failures() {
        return Err(Failure::new(ExitCode::Io, "the demo books did not import").into());
    }

    let shown = dir.display();
    eprintln!(
        "wrote {shown}/demo.db (1,000 authors, 20 categories, {} books), {shown}/rowport.toml and {shown}/new-books.csv",
        result.totals.new
    );
    eprintln!("next:");
    eprintln!("  cd {shown}");
    eprintln!(
        "  rowport import book new-books.csv --dry-run    # preview: 2 new, 1 updated, 1 skipped"
    );
    eprintln!("  rowport import book new-books.csv");
    eprintln!("  rowport export csv book");
    Ok(ExitCode::Success)
}

/// The workload's reference rows: 1,000 authors and 20 categories, named and dated as its
/// generator makes them.
fn reference_rows() -> String {
    let mut sql = String::from("INSERT INTO author (name, birthday) VALUES ");
    for i in 0..1000u32 {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            sql,
            "{sep}('Author {i:04}', '{:04}-{:02}-{:02}')",
            1900 + i % 100,
            1 + i % 12,
            1 + i % 28
        );
    }
    sql.push_str(";\nINSERT INTO category (name) VALUES ");
    for i in 0..20 {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(sql, "{sep}('Category {i:02}')");
    }
    sql.push_str(";\n");
    sql
}
