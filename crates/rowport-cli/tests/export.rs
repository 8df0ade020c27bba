//! `rowport export`: round trips through CSV and JSON back into a database, field
//! selection, encodings, and failures that must leave no file behind. Tests in
//! `backend_tests!` run on SQLite, PostgreSQL and MySQL/MariaDB alike.

mod common;

use common::{Backend, Sandbox, LIBRARY_CONFIG, LIBRARY_SCHEMA};
use rowport_testkit::backend_tests;

/// Books written straight with SQL (not through rowport), with the awkward values: commas,
/// quotes, a line break, accents, nulls, integer and real prices, no author, no category.
const BOOKS_SQL: &str = r#"
INSERT INTO book (isbn, name, author_email, published, price, in_stock, author_id) VALUES
    ('111', 'The Dispossessed', 'ursula@example.com', '1974-05-01', 8.99, {true}, 1),
    ('222', 'Invisible Cities, a novel', NULL, NULL, NULL, {false}, 2),
    ('333', 'The "mirror" edition', 'o@example.com', '1979-06-01', 12, {true}, NULL),
    ('444', 'Café über alles
second line', 'cafe@example.com', '2001-01-01', 0.5, {false}, 3);
INSERT INTO book_categories (book_id, category_id) VALUES
    (1, 1), (1, 4), (2, 2), (4, 3), (4, 1), (4, 2);
"#;

/// The library with [`BOOKS_SQL`] in its database and the library's config.
fn library_with_books(backend: Backend) -> Sandbox {
    let sandbox = Sandbox::with_schema_on(backend, LIBRARY_SCHEMA);
    sandbox.execute(&backend.dialect(BOOKS_SQL));
    sandbox.write("rowport.toml", LIBRARY_CONFIG);
    sandbox
}

/// Each book by isbn with its author's name and its categories' names: what must survive
/// a round trip whatever the ids. On SQLite the price's storage class too.
fn books_by_name(backend: Backend) -> String {
    let (price_type, categories) = match backend {
        Backend::Sqlite => (
            "typeof(b.price)",
            "(SELECT group_concat(name, '|') FROM (SELECT c.name FROM book_categories bc \
                JOIN category c ON c.id = bc.category_id WHERE bc.book_id = b.id ORDER BY c.name))",
        ),
        Backend::Postgres => (
            "'decimal'",
            "(SELECT string_agg(c.name, '|' ORDER BY c.name) FROM book_categories bc \
                JOIN category c ON c.id = bc.category_id WHERE bc.book_id = b.id)",
        ),
        Backend::Mysql => (
            "'decimal'",
            "(SELECT group_concat(c.name ORDER BY c.name SEPARATOR '|') FROM book_categories bc \
                JOIN category c ON c.id = bc.category_id WHERE bc.book_id = b.id)",
        ),
    };
    format!(
        "SELECT b.isbn, b.name, a.name, b.author_email, b.published, b.price, {price_type}, \
         CASE WHEN b.in_stock THEN 1 ELSE 0 END, {categories} \
         FROM book b LEFT JOIN author a ON a.id = b.author_id ORDER BY b.isbn"
    )
}

/// Exports the books as `format`, imports the file into a copy (the same schema on the
/// same backend, no books), and checks the copy holds the same books, authors and links.
#[track_caller]
fn assert_round_trip(backend: Backend, format: &str) {
    let sandbox = library_with_books(backend);
    let file = format!("books.{format}");
    sandbox
        .rowport(&["export", format, "book", "-o", &file])
        .success()
        .stderr_contains(&format!("exported 4 rows to {file}"));
    let file = sandbox.path(&file).display().to_string();

    let copy = Sandbox::with_schema_on(backend, LIBRARY_SCHEMA);
    copy.write("rowport.toml", LIBRARY_CONFIG);
    let run = copy.rowport(&["import", "book", &file]);
    run.success();
    assert_eq!(
        run.summary(),
        "4 rows: 4 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
    );

    let books_by_name = books_by_name(backend);
    assert_eq!(
        copy.query(&books_by_name),
        sandbox.query(&books_by_name),
        "books differ after a {format} round trip"
    );
    // Imported in order into empty tables, even the ids and stored types match.
    assert_eq!(copy.dump("book"), sandbox.dump("book"));

    // Importing the same file again changes nothing.
    let again = copy.rowport(&["import", "book", &file]);
    again.success();
    assert_eq!(
        again.summary(),
        "4 rows: 0 new, 0 updated, 4 skipped, 0 deleted, 0 invalid, 0 errors"
    );

    // And the copy exports byte for byte the same file (an XLSX file records the second it
    // was written, so for it the tables above are the comparison).
    copy.rowport(&["export", format, "book", "-o", "again.out"])
        .success();
    if format == "xlsx" {
        return;
    }
    assert_eq!(
        String::from_utf8_lossy(&copy.read("again.out")),
        String::from_utf8_lossy(&std::fs::read(&file).expect("the exported file"))
    );
}

backend_tests! {
    fn csv_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "csv");
    }

    fn json_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "json");
    }

    fn tsv_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "tsv");
    }

    fn jsonl_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "jsonl");
    }

    fn yaml_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "yaml");
    }

    fn html_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "html");
    }

    fn xlsx_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "xlsx");
    }

    fn ods_round_trip_keeps_books_authors_and_categories(backend) {
        assert_round_trip(backend, "ods");
    }
}

#[test]
fn yaml_export_quotes_what_would_change_type() {
    let sandbox = library_with_books(Backend::Sqlite);
    sandbox.execute("UPDATE book SET name = 'true', author_email = '007' WHERE isbn = '333';");
    let run = sandbox.rowport(&[
        "export",
        "yaml",
        "book",
        "--fields",
        "isbn,name,author_email,published,price,in_stock",
    ]);
    run.success();
    assert!(
        run.stdout.contains(
            "- isbn: \"333\"\n  name: \"true\"\n  author_email: \"007\"\n  published: 1979-06-01\n  price: \"12.00\"\n  in_stock: true\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  author_email: null\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn html_export_escapes_every_cell() {
    let sandbox = library_with_books(Backend::Sqlite);
    sandbox
        .execute("UPDATE book SET name = '<script>alert(\"x\")</script> & co' WHERE isbn = '111';");
    let run = sandbox.rowport(&["export", "html", "book", "--fields", "isbn,name"]);
    run.success();
    assert!(
        run.stdout.contains(
            "<tr><td>111</td><td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</td></tr>"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("<script>"));
}

backend_tests! {
    fn csv_export_names_authors_and_joins_categories(backend)     {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&[
            "export",
            "csv",
            "book",
            "--fields",
            "isbn,author,categories",
        ]);
        run.success()
            .stderr_contains("exported 4 rows to standard output");
        let mut lines: Vec<&str> = run.stdout.lines().collect();
        let header = lines.remove(0);
        assert_eq!(header, "isbn,author,categories");
        // Category order within a cell is not promised; compare the sets.
        let parsed: Vec<(String, String, Vec<&str>)> = lines
            .iter()
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                let mut categories: Vec<&str> = cells[2].split('|').filter(|c| !c.is_empty()).collect();
                categories.sort_unstable();
                (cells[0].to_owned(), cells[1].to_owned(), categories)
            })
            .collect();
        assert_eq!(
            parsed,
            vec![
                (
                    "111".into(),
                    "Ursula K. Le Guin".into(),
                    vec!["Fiction", "Science"]
                ),
                ("222".into(), "Italo Calvino".into(), vec!["Poetry"]),
                ("333".into(), String::new(), vec![]),
                (
                    "444".into(),
                    "Octavia E. Butler".into(),
                    vec!["Fiction", "History", "Poetry"]
                ),
            ]
        );
    }
}

backend_tests! {
    fn json_export_is_an_array_of_objects_with_typed_values(backend)     {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&[
            "export",
            "json",
            "book",
            "--fields",
            "isbn,price,in_stock,published",
        ]);
        run.success();
        let books = run.json();
        assert_eq!(
            books,
            serde_json::json!([
                {"isbn": "111", "price": "8.99", "in_stock": true, "published": "1974-05-01"},
                {"isbn": "222", "price": null, "in_stock": false, "published": null},
                {"isbn": "333", "price": "12.00", "in_stock": true, "published": "1979-06-01"},
                {"isbn": "444", "price": "0.50", "in_stock": false, "published": "2001-01-01"},
            ])
        );
        let keys: Vec<&String> = books[0].as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["isbn", "price", "in_stock", "published"]);
    }
}

backend_tests! {
    fn fields_option_chooses_and_orders_the_columns(backend)     {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&["export", "csv", "book", "--fields", "isbn,name"]);
        run.success();
        assert_eq!(
            run.stdout,
            "isbn,name\n\
             111,The Dispossessed\n\
             222,\"Invisible Cities, a novel\"\n\
             333,\"The \"\"mirror\"\" edition\"\n\
             444,\"Café über alles\nsecond line\"\n"
        );
        let reversed = sandbox.rowport(&["export", "csv", "book", "--fields", "name,isbn"]);
        reversed.success();
        assert_eq!(
            reversed.stdout.lines().take(2).collect::<Vec<_>>(),
            ["name,isbn", "The Dispossessed,111"]
        );
    }
}

backend_tests! {
    fn tsv_export_separates_with_tabs(backend)     {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&["export", "tsv", "book", "--fields", "isbn,author"]);
        run.success();
        assert_eq!(
            run.stdout.lines().take(2).collect::<Vec<_>>(),
            ["isbn\tauthor", "111\tUrsula K. Le Guin"]
        );
    }
}

#[test]
fn failing_export_to_a_file_leaves_no_file_behind() {
    let sandbox = library_with_books(Backend::Sqlite);
    let before = sandbox.listing();
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--fields",
        "isbn,nope",
        "-o",
        "out.csv",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr_line("error: ").contains("\"nope\""),
        "{}",
        run.stderr
    );
    assert_eq!(
        sandbox.listing(),
        before,
        "no file, not even a temporary one"
    );
}

#[test]
fn failing_export_keeps_an_existing_file_as_it_was() {
    let sandbox = library_with_books(Backend::Sqlite);
    sandbox.write("out.csv", "precious,old\n1,2\n");
    sandbox
        .rowport(&["export", "csv", "book", "--fields", "nope", "-o", "out.csv"])
        .expect_code(2);
    assert_eq!(sandbox.read("out.csv"), b"precious,old\n1,2\n");
}

#[test]
fn successful_export_replaces_an_existing_file() {
    let sandbox = library_with_books(Backend::Sqlite);
    sandbox.write("out.csv", "precious,old\n1,2\n");
    sandbox
        .rowport(&["export", "csv", "book", "--fields", "isbn", "-o", "out.csv"])
        .success();
    assert_eq!(sandbox.read("out.csv"), b"isbn\n111\n222\n333\n444\n");
}

#[test]
fn utf8_sig_export_starts_with_a_bom() {
    let sandbox = library_with_books(Backend::Sqlite);
    sandbox
        .rowport(&[
            "export",
            "csv",
            "book",
            "--fields",
            "isbn,name",
            "--encoding",
            "utf-8-sig",
            "-o",
            "excel.csv",
        ])
        .success();
    let bytes = sandbox.read("excel.csv");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    assert!(bytes[3..].starts_with(b"isbn,name\n"));
    assert_eq!(
        bytes.iter().filter(|b| **b == 0xEF).count(),
        1,
        "one BOM only"
    );
}

#[test]
fn latin1_export_writes_latin1_bytes() {
    let sandbox = library_with_books(Backend::Sqlite);
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--fields",
        "name",
        "--encoding",
        "latin1",
    ]);
    run.success();
    assert!(
        run.stdout_bytes.windows(4).any(|w| w == b"Caf\xE9"),
        "é is the byte E9"
    );
}

#[test]
fn latin1_export_of_a_value_latin1_cannot_hold_fails_and_leaves_no_file() {
    let sandbox = library_with_books(Backend::Sqlite);
    sandbox.execute("UPDATE book SET name = 'Łódź 東京' WHERE isbn = '222';");
    let before = sandbox.listing();
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--encoding",
        "latin1",
        "-o",
        "out.csv",
    ]);
    run.expect_code(1).stderr_contains("hint: ");
    assert_eq!(sandbox.listing(), before);
}

#[test]
fn unknown_resource_suggests_the_close_name() {
    let sandbox = library_with_books(Backend::Sqlite);
    let run = sandbox.rowport(&["export", "csv", "bok"]);
    run.expect_code(2).stderr_contains("did you mean \"book\"");
    assert!(run.stdout.is_empty());
}

#[test]
fn unknown_resource_far_from_any_name_suggests_nothing() {
    let sandbox = library_with_books(Backend::Sqlite);
    let run = sandbox.rowport(&["export", "csv", "zzzzzzzz"]);
    run.expect_code(2)
        .stderr_contains("\"zzzzzzzz\"")
        .stderr_lacks("did you mean");
}

#[test]
fn unknown_export_format_is_a_usage_error() {
    let sandbox = library_with_books(Backend::Sqlite);
    let run = sandbox.rowport(&["export", "xml", "book", "-o", "out.xml"]);
    run.expect_code(2).stderr_contains("\"xml\"");
    assert!(!sandbox.path("out.xml").exists());
}

#[test]
fn xls_export_is_refused_suggesting_xlsx() {
    let sandbox = library_with_books(Backend::Sqlite);
    let before = sandbox.listing();
    let run = sandbox.rowport(&["export", "xls", "book", "-o", "out.xls"]);
    run.expect_code(2)
        .stderr_has_line(
            "error: rowport reads xls files but cannot write them; export to xlsx instead",
        )
        .stderr_has_line("hint: xlsx holds the same data and opens wherever xls does");
    assert_eq!(sandbox.listing(), before, "no file is written");
    assert!(run.stdout.is_empty());
}

#[test]
fn export_help_lists_every_format() {
    let sandbox = Sandbox::new();
    let help = sandbox.rowport_bare(&["export", "--help"]);
    help.success();
    assert!(
        help.stdout
            .contains("csv, tsv, json, jsonl, yaml, html, xlsx or ods (xls is read only)"),
        "{}",
        help.stdout
    );
}

#[test]
fn unknown_export_encoding_is_a_usage_error() {
    let sandbox = library_with_books(Backend::Sqlite);
    sandbox
        .rowport(&["export", "csv", "book", "--encoding", "klingon"])
        .expect_code(2)
        .stderr_contains("klingon");
}

backend_tests! {
    fn export_of_an_undeclared_table_uses_its_columns(backend)     {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&["export", "csv", "author"]);
        run.success();
        assert_eq!(
            run.stdout,
            "id,name,birthday\n\
             1,Ursula K. Le Guin,1929-10-21\n\
             2,Italo Calvino,1923-10-15\n\
             3,Octavia E. Butler,1947-06-22\n"
        );
    }
}

// ---- Filters, order, pages, relation paths and dehydrate (issue 4, points 2 and 7) ----

/// [`LIBRARY_CONFIG`] with a relation-path field and a computed one.
fn library_with_computed_fields(backend: Backend) -> Sandbox {
    let sandbox = library_with_books(backend);
    sandbox.write(
        "rowport.toml",
        format!(
            "{LIBRARY_CONFIG}\n\
             [resources.book.field.author_birthday]\n\
             attribute = \"author__birthday\"\n\n\
             [resources.book.field.label]\n\
             dehydrate = \"{{{{ name }}}} by {{{{ author.name }}}}\"\n"
        ),
    );
    sandbox
}

backend_tests! {
    fn where_filters_are_anded_and_follow_relation_paths(backend) {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn,name",
            "--where", "price>=1", "--where", "author__name=Ursula K. Le Guin",
        ]);
        run.success().stderr_contains("exported 1 rows to standard output");
        assert_eq!(run.stdout, "isbn,name\n111,The Dispossessed\n");

        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn,published", "--where", "published<2000-01-01",
        ]);
        run.success();
        assert_eq!(run.stdout, "isbn,published\n111,1974-05-01\n333,1979-06-01\n");

        // A foreign-key field compares its lookup value; an empty value is null.
        let run = sandbox.rowport(&["export", "csv", "book", "--fields", "isbn", "--where", "author="]);
        run.success();
        assert_eq!(run.stdout, "isbn\n333\n");
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn", "--where", "author!=Italo Calvino", "--where", "author!=",
        ]);
        run.success();
        assert_eq!(run.stdout, "isbn\n111\n444\n");
    }
}

backend_tests! {
    fn order_by_sorts_descending_then_ascending_and_through_relations(backend) {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn", "--order-by", "-published,name",
        ]);
        run.success();
        // Nulls last going down, on every backend.
        assert_eq!(run.stdout, "isbn\n444\n333\n111\n222\n");
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn,author", "--order-by", "author__name",
        ]);
        run.success();
        // Nulls first going up.
        assert_eq!(
            run.stdout,
            "isbn,author\n333,\n222,Italo Calvino\n444,Octavia E. Butler\n111,Ursula K. Le Guin\n"
        );
    }
}

backend_tests! {
    fn limit_and_offset_export_one_page_of_the_order(backend) {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn", "--order-by", "-isbn", "--limit", "2", "--offset", "1",
        ]);
        run.success().stderr_contains("exported 2 rows");
        assert_eq!(run.stdout, "isbn\n333\n222\n");
        let run = sandbox.rowport(&["export", "csv", "book", "--fields", "isbn", "--offset", "3"]);
        run.success();
        assert_eq!(run.stdout, "isbn\n444\n");
    }
}

backend_tests! {
    fn relation_path_field_exports_the_related_value_through_a_join(backend) {
        let sandbox = library_with_computed_fields(backend);
        let run = sandbox.rowport(&["export", "csv", "book", "--fields", "isbn,author_birthday"]);
        run.success();
        assert_eq!(
            run.stdout,
            "isbn,author_birthday\n111,1929-10-21\n222,1923-10-15\n333,\n444,1947-06-22\n"
        );
        // And it filters like any field.
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn", "--where", "author_birthday>1925-01-01",
        ]);
        run.success();
        assert_eq!(run.stdout, "isbn\n111\n444\n");
    }
}

/// The library with a JSON column on books and on authors, in each backend's JSON type
/// (SQLite `JSON`, PostgreSQL `jsonb`, MariaDB `JSON`, which is LONGTEXT with a
/// `json_valid` check), and a field reading one key of it.
fn library_with_json(backend: Backend) -> Sandbox {
    let sandbox = library_with_books(backend);
    let json = match backend {
        Backend::Postgres => "jsonb",
        Backend::Sqlite | Backend::Mysql => "JSON",
    };
    sandbox.execute(&format!(
        "ALTER TABLE book ADD COLUMN data {json} NULL;\n\
         ALTER TABLE author ADD COLUMN profile {json} NULL;"
    ));
    sandbox.execute(
        r#"UPDATE book SET data = '{"name": "Anarres, or: the wall", "pages": 387, "tags": ["utopia", "sf"], "address": {"city": "Abbenay"}}' WHERE isbn = '111';
UPDATE book SET data = '{"name": "Le città invisibili", "pages": 165, "tags": []}' WHERE isbn = '222';
UPDATE book SET data = '["not", "an", "object"]' WHERE isbn = '333';
UPDATE author SET profile = '{"city": "Portland"}' WHERE name = 'Ursula K. Le Guin';
UPDATE author SET profile = '{"city": "Sanremo"}' WHERE name = 'Italo Calvino';"#,
    );
    sandbox.write(
        "rowport.toml",
        format!(
            "{LIBRARY_CONFIG}\n\
             [resources.book.field.title]\n\
             attribute = \"data__name\"\n\
             column_name = \"Original title\"\n"
        ),
    );
    sandbox
}

backend_tests! {
    fn json_sub_key_field_exports_the_key_of_a_json_column(backend) {
        let sandbox = library_with_json(backend);
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields",
            "isbn,title,data__pages,data__address__city,data__tags__1,author__profile__city",
        ]);
        run.success();
        assert_eq!(
            run.stdout,
            "isbn,Original title,data__pages,data__address__city,data__tags__1,author__profile__city\n\
             111,\"Anarres, or: the wall\",387,Abbenay,sf,Portland\n\
             222,Le città invisibili,165,,,Sanremo\n\
             333,,,,,\n\
             444,,,,,\n"
        );
        // A number stays a number in JSON.
        let run = sandbox.rowport(&[
            "export", "json", "book", "--fields", "isbn,data__pages", "--where", "isbn=222",
        ]);
        run.success();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap(),
            serde_json::json!([{"isbn": "222", "data__pages": 165}])
        );
        // Filtering on a key inside JSON is refused in one sentence.
        let run = sandbox.rowport(&["export", "csv", "book", "--where", "data__name=x"]);
        assert_eq!(run.stdout, "", "a refused export writes nothing, not even its header");
        run.expect_code(2).stderr_has_line(
            "error: --where \"data__name=x\": \"data__name\" reads a key inside a JSON column, \
             and rowport cannot filter by keys inside JSON; filter by a column or a relation path, \
             or use a record filter in Rust",
        );
    }
}

backend_tests! {
    fn fields_option_takes_a_relation_path_that_is_not_declared(backend) {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "name,author__name", "--order-by", "isbn",
        ]);
        run.success();
        assert_eq!(
            run.stdout,
            "name,author__name\nThe Dispossessed,Ursula K. Le Guin\n\
             \"Invisible Cities, a novel\",Italo Calvino\n\"The \"\"mirror\"\" edition\",\n\
             \"Café über alles\nsecond line\",Octavia E. Butler\n"
        );
        // A path that leads nowhere names its step and the fields there are.
        let run = sandbox.rowport(&["export", "csv", "book", "--fields", "name,author__nmae"]);
        run.expect_code(2).stderr_has_line(
            "error: field \"author__nmae\": table \"author\" has no column \"nmae\" \
             (columns: id, name, birthday) (fields: isbn, name, author, author_email, published, \
             price, in_stock, categories)",
        );
        let run = sandbox.rowport(&["export", "csv", "book", "--fields", "name,nmae"]);
        run.expect_code(2).stderr_has_line(
            "error: resource \"book\" has no field \"nmae\" (fields: isbn, name, author, \
             author_email, published, price, in_stock, categories)",
        );
    }
}

backend_tests! {
    fn import_with_a_json_sub_key_column_leaves_the_json_untouched(backend) {
        let sandbox = library_with_json(backend);
        let before = sandbox.query("SELECT isbn, data FROM book ORDER BY isbn");
        sandbox.write(
            "books.csv",
            "isbn,name,Original title,data__pages\n111,The Dispossessed (1974),Something else,1\n",
        );
        let run = sandbox.rowport(&["import", "book", "books.csv"]);
        run.success();
        assert_eq!(
            run.summary(),
            "1 row: 0 new, 1 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(
            sandbox.query("SELECT name FROM book WHERE isbn = '111'"),
            [["The Dispossessed (1974)"]]
        );
        assert_eq!(sandbox.query("SELECT isbn, data FROM book ORDER BY isbn"), before);
    }
}

backend_tests! {
    fn dehydrate_template_renders_related_values(backend) {
        let sandbox = library_with_computed_fields(backend);
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn,label", "--where", "isbn<=222",
        ]);
        run.success();
        assert_eq!(
            run.stdout,
            "isbn,label\n111,The Dispossessed by Ursula K. Le Guin\n\
             222,\"Invisible Cities, a novel by Italo Calvino\"\n"
        );
    }
}

backend_tests! {
    fn many_to_many_export_joins_with_the_separator_under_a_filter(backend) {
        let sandbox = library_with_books(backend);
        let run = sandbox.rowport(&[
            "export", "csv", "book", "--fields", "isbn,categories", "--where", "isbn=222",
        ]);
        run.success();
        assert_eq!(run.stdout, "isbn,categories\n222,Poetry\n");
    }
}

#[test]
fn bad_where_is_a_usage_error_naming_the_expression_and_the_fields() {
    let sandbox = library_with_books(Backend::Sqlite);
    let run = sandbox.rowport(&[
        "export",
        "csv",
        "book",
        "--where",
        "pricee>=10",
        "-o",
        "out.csv",
    ]);
    run.expect_code(2).stderr_has_line(
        "error: --where \"pricee>=10\": resource \"book\" has no field \"pricee\" \
         (fields: isbn, name, author, author_email, published, price, in_stock, categories)",
    );
    assert!(!sandbox.path("out.csv").exists());

    let run = sandbox.rowport(&["export", "csv", "book", "--where", "price"]);
    run.expect_code(2)
        .stderr_contains("error: --where \"price\" is not a condition")
        .stderr_has_line(
            "hint: the fields of \"book\" are: isbn, name, author, author_email, published, price, in_stock, categories",
        );
    assert!(run.stdout.is_empty());

    let run = sandbox.rowport(&["export", "csv", "book", "--where", "published>=soon"]);
    run.expect_code(2)
        .stderr_contains("error: --where \"published>=soon\": \"soon\" ");

    let run = sandbox.rowport(&["export", "csv", "book", "--where", "categories=Poetry"]);
    run.expect_code(2)
        .stderr_contains("\"categories\" is not a column");
}

#[test]
fn bad_order_by_is_a_usage_error_naming_the_key() {
    let sandbox = library_with_books(Backend::Sqlite);
    let run = sandbox.rowport(&["export", "csv", "book", "--order-by", "-nmae"]);
    run.expect_code(2)
        .stderr_contains("error: --order-by \"-nmae\": resource \"book\" has no field \"nmae\"");
}

backend_tests! {
    fn store_count_and_paged_scan_agree_on_every_backend(backend) {
        use rowport::store::{CompareOp, Condition, Join, Scan, ScanColumn, ScanFilter, ScanOrder};
        use rowport::{Value, ValueKind};

        let sandbox = library_with_books(backend);
        let mut store = rowport_sql::connect(&sandbox.url(), false).expect("the sandbox's database");
        let by_author = |name: &str| ScanFilter {
            joins: vec![Join { fk_column: "author_id".into(), table: "author".into(), key: "id".into() }],
            condition: Condition::Compare { column: "name".into(), op: CompareOp::Ne, value: Value::from(name) },
        };
        assert_eq!(store.count_rows("book", &[]).unwrap(), 4);
        assert_eq!(store.count_rows("book", &[by_author("Italo Calvino")]).unwrap(), 2);
        let in_stock = ScanFilter::on_table(Condition::In {
            column: "isbn".into(),
            values: vec!["111".into(), "444".into(), "999".into()],
        });
        assert_eq!(store.count_rows("book", std::slice::from_ref(&in_stock)).unwrap(), 2);
        let no_price = ScanFilter::on_table(Condition::IsNull { column: "price".into(), negated: false });
        assert_eq!(store.count_rows("book", &[no_price]).unwrap(), 1);

        let mut scan = Scan::new("book");
        scan.columns.push(ScanColumn::Column { name: "isbn".into(), kind: ValueKind::Text });
        scan.order_by.push(ScanOrder { joins: Vec::new(), column: "isbn".into(), descending: true });
        scan.offset = 1;
        scan.limit = Some(2);
        let mut seen = Vec::new();
        store
            .scan(&scan, &mut |row| {
                seen.push(row[0].to_string());
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, ["333", "222"]);
    }
}
