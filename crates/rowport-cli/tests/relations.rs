//! Relations declared in `rowport.toml` — a foreign key by several columns, filters that
//! narrow the candidates, `create_missing`, `ignore_missing`, `m2m_add` and
//! `use_natural_foreign_keys` — through the real binary, on SQLite, PostgreSQL and
//! MySQL/MariaDB alike (the stores' lookups and inserts are what differ).

mod common;

use common::{rows, Backend, Sandbox, LIBRARY_SCHEMA};
use rowport_testkit::backend_tests;

/// The library schema plus a second author name column, an `active` flag and a natural key.
const EXTRA_SQL: &str = r#"
CREATE TABLE writer (
    id {pk},
    last_name VARCHAR(100) NOT NULL,
    first_name VARCHAR(100) NOT NULL,
    active BOOL NOT NULL DEFAULT {true},
    UNIQUE (last_name, first_name)
);
CREATE TABLE essay (
    id {pk},
    title VARCHAR(100) NOT NULL UNIQUE,
    writer_id BIGINT NULL,
    FOREIGN KEY (writer_id) REFERENCES writer (id)
);
INSERT INTO writer (last_name, first_name, active) VALUES
    ('Woolf', 'Virginia', {true}), ('Woolf', 'Leonard', {false}), ('Orwell', 'George', {true});
"#;

const CONFIG: &str = r#"
[resources.book]
fields = ["isbn", "name", "author", "categories"]
import_id_fields = ["isbn"]

[resources.book.field.author]
widget = "foreign_key"
lookup = "name"
create_missing = true

[resources.book.field.categories]
widget = "many_to_many"
table = "category"
lookup = "name"
through = "book_categories"
separator = "|"
filter = { name = { ne = "History" } }
m2m_add = true

[resources.essay]
import_id_fields = ["title"]

[resources.essay.field.writer]
widget = "foreign_key"
lookup = ["last_name", "first_name"]
filter = { active = true }

[resources.natural_essay]
table = "essay"
import_id_fields = ["title"]
use_natural_foreign_keys = true
"#;

fn sandbox(backend: Backend) -> Sandbox {
    let sandbox = Sandbox::with_schema_on(backend, LIBRARY_SCHEMA);
    sandbox.execute(&backend.dialect(EXTRA_SQL));
    sandbox.write("rowport.toml", CONFIG);
    sandbox
}

const BOOK_LINKS: &str = "SELECT b.isbn, c.name FROM book_categories bc \
    JOIN book b ON b.id = bc.book_id JOIN category c ON c.id = bc.category_id \
    ORDER BY b.isbn, c.name";

backend_tests! {
    fn foreign_key_create_missing_inserts_missing_authors_once(backend) {
        let sandbox = sandbox(backend);
        sandbox.write(
            "books.csv",
            "isbn,name,author,categories\n\
             1,Kindred,Octavia E. Butler,Fiction\n\
             2,Ficciones,Jorge Luis Borges,Fiction\n\
             3,El Aleph,Jorge Luis Borges,\n",
        );
        let run = sandbox.rowport(&["import", "book", "books.csv"]);
        run.success();
        assert_eq!(
            run.summary(),
            "3 rows: 3 new, 0 updated, 0 skipped, 0 deleted, 0 invalid, 0 errors"
        );
        assert_eq!(
            sandbox.query("SELECT name FROM author ORDER BY id"),
            rows(&[&["Ursula K. Le Guin"], &["Italo Calvino"], &["Octavia E. Butler"], &["Jorge Luis Borges"]])
        );
        assert_eq!(
            sandbox.query(
                "SELECT b.isbn, a.name FROM book b JOIN author a ON a.id = b.author_id ORDER BY b.isbn"
            ),
            rows(&[&["1", "Octavia E. Butler"], &["2", "Jorge Luis Borges"], &["3", "Jorge Luis Borges"]])
        );
    }

    fn many_to_many_filter_and_m2m_add(backend) {
        let sandbox = sandbox(backend);
        sandbox.write("a.csv", "isbn,name,author,categories\n1,Kindred,Octavia E. Butler,Fiction\n");
        sandbox.rowport(&["import", "book", "a.csv"]).success();
        // m2m_add: Science is added, Fiction stays.
        sandbox.write("b.csv", "isbn,name,author,categories\n1,Kindred,Octavia E. Butler,Science\n");
        let run = sandbox.rowport(&["import", "book", "b.csv"]);
        run.success();
        assert_eq!(
            sandbox.query(BOOK_LINKS),
            rows(&[&["1", "Fiction"], &["1", "Science"]])
        );
        // The filter hides History: the row is invalid and nothing changes.
        sandbox.write("c.csv", "isbn,name,author,categories\n1,Kindred,Octavia E. Butler,History\n");
        let run = sandbox.rowport(&["import", "book", "c.csv"]);
        run.expect_code(1);
        run.stderr_contains(
            "c.csv, row 2, column \"categories\": \"History\" names no category row for \"History\" (looked up by name)",
        );
        assert_eq!(
            sandbox.query(BOOK_LINKS),
            rows(&[&["1", "Fiction"], &["1", "Science"]])
        );
    }

    fn foreign_key_several_columns_with_filter(backend) {
        let sandbox = sandbox(backend);
        sandbox.write(
            "essays.csv",
            "title,writer\n\
             A Room of One's Own,\"[\"\"Woolf\"\", \"\"Virginia\"\"]\"\n\
             Politics and the English Language,\"[\"\"Orwell\"\", \"\"George\"\"]\"\n",
        );
        sandbox.rowport(&["import", "essay", "essays.csv"]).success();
        assert_eq!(
            sandbox.query(
                "SELECT e.title, w.first_name FROM essay e JOIN writer w ON w.id = e.writer_id ORDER BY e.title"
            ),
            rows(&[&["A Room of One's Own", "Virginia"], &["Politics and the English Language", "George"]])
        );
        // Leonard is not active: the filter leaves him out.
        sandbox.write("more.csv", "title,writer\nThe Wise Virgins,\"[\"\"Woolf\"\", \"\"Leonard\"\"]\"\n");
        let run = sandbox.rowport(&["import", "essay", "more.csv"]);
        run.expect_code(1);
        run.stderr_contains(
            "matches no writer row (looked up by last_name, first_name among the rows its filter allows)",
        );
        assert_eq!(sandbox.scalar("SELECT count(*) FROM essay"), "2");
    }

    fn export_where_on_a_natural_key_compares_both_columns(backend) {
        let sandbox = sandbox(backend);
        sandbox.execute(
            "INSERT INTO essay (title, writer_id) VALUES \
             ('A Room of One''s Own', 1), ('The Wise Virgins', 2), ('Animal Farm', 3)",
        );
        for resource in ["essay", "natural_essay"] {
            let run = sandbox.rowport(&[
                "export", "csv", resource, "--fields", "title,writer",
                "--where", r#"writer=["Woolf", "Leonard"]"#,
            ]);
            run.success();
            assert_eq!(
                run.stdout.replace("\r\n", "\n"),
                "title,writer\nThe Wise Virgins,\"[\"\"Woolf\"\",\"\"Leonard\"\"]\"\n",
                "{resource}"
            );
            sandbox
                .rowport(&["export", "csv", resource, "--where", r#"writer!=["Woolf","Leonard"]"#])
                .expect_code(2)
                .stderr_contains("\"writer\" is a key of several columns (last_name, first_name), which only = compares");
        }
    }

    fn use_natural_foreign_keys_round_trip(backend) {
        let sandbox = sandbox(backend);
        sandbox.write(
            "essays.csv",
            "title,writer\nAnimal Farm,\"[\"\"Orwell\"\", \"\"George\"\"]\"\nUntitled,\n",
        );
        sandbox.rowport(&["import", "natural_essay", "essays.csv"]).success();
        assert_eq!(
            sandbox.query("SELECT title, writer_id FROM essay ORDER BY title"),
            rows(&[&["Animal Farm", "3"], &["Untitled", "NULL"]])
        );
        let run = sandbox.rowport(&["export", "csv", "natural_essay", "--fields", "title,writer"]);
        run.success();
        assert_eq!(
            run.stdout.replace("\r\n", "\n"),
            "title,writer\nAnimal Farm,\"[\"\"Orwell\"\",\"\"George\"\"]\"\nUntitled,\n"
        );
    }
}
