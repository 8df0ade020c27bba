//! Every view over HTTP, through the router as an application mounts it: sessions,
//! permissions, CSRF, uploads, the preview, confirm, mapping, export and jobs. Assertions are
//! on the HTML a user sees and on the database.

mod common;

use axum::http::StatusCode;
use common::{Site, PASSWORD};

const NEW_BOOKS: &str = "isbn,name,price,in_stock,author\n\
9780000000001,Dune,13.34,1,Frank Herbert\n\
9780000000002,Emma,8.50,0,Jane Austen\n\
9780000000009,Sanditon,7.00,1,Jane Austen\n";

#[tokio::test]
async fn every_page_needs_a_session() {
    let site = Site::new();
    for path in [
        "/",
        "/r/book",
        "/r/book/import",
        "/r/book/export",
        "/r/book/import/0123456789012345678901234567890123456789012345678901234567890123/preview",
        "/jobs/abc",
    ] {
        let page = site.get(path, None).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            page.location().starts_with("/login?next="),
            "{path}: {}",
            page.location()
        );
    }
    let login = site.get("/login", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.has(r#"<label for="username">User name</label>"#));
    assert!(login.has(r#"<label for="password">Password</label>"#));
}

#[tokio::test]
async fn login_logout_and_cookies() {
    let site = Site::new();
    let (page, status) = site.try_login("root", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/");
    let set = page.header("set-cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let who = site.login("root").await;
    let home = site.get("/", Some(&who)).await;
    assert!(home.has(r#"data-user="root""#));
    let out = site.post("/logout", &who, &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    let after = site.get("/", Some(&who)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session ended");
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_logins_are_rate_limited() {
    let site = Site::new();
    let (page, status) = site.try_login("viewer", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.has("The user name or password is wrong."));
    for _ in 0..4 {
        site.try_login("viewer", "wrong").await;
    }
    let (page, status) = site.try_login("viewer", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{}", page.text);
    assert!(page.has("Too many failed logins. Try again in 15 minutes."));
    // Another user is not locked out by the viewer's failures.
    let (_, status) = site.try_login("root", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_without_its_token_is_refused() {
    let site = Site::new();
    let r = axum::http::Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!(
            "username=root&password={PASSWORD}"
        )))
        .unwrap();
    let page = site.send(r).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.cookie("rowport_session").is_none());
}

#[tokio::test]
async fn security_headers_and_embedded_assets() {
    let site = Site::new();
    let page = site.get("/login", None).await;
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert!(!page.has("<script>"), "no inline script");
    assert!(!page.has("style="), "no inline style");
    assert!(
        !page.has("http://") && !page.has("https://"),
        "nothing from elsewhere"
    );
    let css = site.get("/static/admin.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), "text/css");
    assert!(css.has("--new: #1e7b3a"));
    let js = site.get("/static/admin.js", None).await;
    assert!(js.has("data-guess-format"));
    // The icon browsers ask for is answered (empty), not a 404, and pages point at it.
    assert!(page.has(r#"<link rel="icon" href="/favicon.ico">"#));
    let icon = site.get("/favicon.ico", None).await;
    assert_eq!(icon.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_index_lists_what_the_user_may_see_with_row_counts() {
    let site = Site::new();
    let root = site.login("root").await;
    let page = site.get("/", Some(&root)).await;
    assert!(page.has(r#"<tr data-resource="book">"#), "{}", page.text);
    assert!(page.has(r#"<tr data-resource="author">"#));
    assert!(page.has(r#"data-rows="3">3</td>"#));
    assert!(page.has(r#"data-rows="2">2</td>"#));
    assert!(page.has(r#"href="/r/book/import" data-action="import""#));

    let viewer = site.login("viewer").await;
    let page = site.get("/", Some(&viewer)).await;
    assert!(page.has(r#"<tr data-resource="book">"#));
    assert!(!page.has(r#"data-resource="author""#));
    assert!(!page.has("data-action=\"import\"") && !page.has("data-action=\"export\""));

    let nobody = site.login("nobody").await;
    let page = site.get("/", Some(&nobody)).await;
    assert!(page.has("You may not see any resource yet."));
}

#[tokio::test]
async fn every_action_without_its_permission_is_403() {
    let site = Site::new();
    let viewer = site.login("viewer").await;
    let cases = [
        site.get("/r/author", Some(&viewer)).await,
        site.get("/r/book/import", Some(&viewer)).await,
        site.get("/r/book/export", Some(&viewer)).await,
        site.post("/r/book/export", &viewer, &[("format", "csv"), ("fields", "isbn")]).await,
        site.upload("/r/book/import", &viewer, &[], "b.csv", NEW_BOOKS.as_bytes()).await,
        site.post(
            "/r/book/import/0123456789012345678901234567890123456789012345678901234567890123/confirm",
            &viewer,
            &[],
        )
        .await,
    ];
    for page in cases {
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
        assert!(page.has("Permission denied"));
    }
    // The change list hides what the viewer may not use.
    let list = site.get("/r/book", Some(&viewer)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.has("id=\"import-button\"") && !list.has("id=\"export-button\""));
    assert!(!list.has("Export selected"));
    let exporter = site.login("exporter").await;
    let page = site.get("/r/book/import", Some(&exporter)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let importer = site.login("importer").await;
    let page = site.get("/r/book/export", Some(&importer)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = site.get("/r/nothing", Some(&importer)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_without_the_token_or_from_another_origin_are_refused() {
    let site = Site::new();
    let root = site.login("root").await;
    let wrong = site
        .post(
            "/r/book/export",
            &root,
            &[
                ("csrf_token", "0000"),
                ("format", "csv"),
                ("fields", "isbn"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.has("security token is missing or out of date"));
    let missing = site
        .post(
            "/r/book/export",
            &root,
            &[("csrf_token", ""), ("format", "csv"), ("fields", "isbn")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let foreign = site
        .post_with(
            "/r/book/export",
            &root,
            &[("format", "csv"), ("fields", "isbn")],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(foreign.has("sent from another site"));
    let same = site
        .post_with(
            "/r/book/export",
            &root,
            &[("format", "csv"), ("fields", "isbn")],
            &[("origin", "http://admin.test")],
        )
        .await;
    assert_eq!(same.status, StatusCode::OK);
    let upload = site
        .upload(
            "/r/book/import",
            &root,
            &[("csrf_token", "bad")],
            "b.csv",
            NEW_BOOKS.as_bytes(),
        )
        .await;
    assert_eq!(upload.status, StatusCode::FORBIDDEN);
    let logout = site.post("/logout", &root, &[("csrf_token", "x")]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert_eq!(
        site.get("/", Some(&root)).await.status,
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn the_change_list_pages_sorts_searches_and_filters() {
    let site = Site::with("page_size = 2", |a| a);
    let root = site.login("root").await;
    let page = site.get("/r/book", Some(&root)).await;
    assert!(page.has(r#"data-total="3""#));
    assert!(page.has(r#"data-page="1" data-pages="2""#));
    assert!(
        page.has(">Dune<") && page.has(">Emma<") && !page.has(">Persuasion<"),
        "{}",
        page.text
    );
    let two = site.get("/r/book?page=2", Some(&root)).await;
    assert!(two.has(">Persuasion<") && !two.has(">Dune<"));
    let sorted = site.get("/r/book?o=-price", Some(&root)).await;
    let dune = sorted.text.find(">Dune<").unwrap();
    let persuasion = sorted.text.find(">Persuasion<").unwrap();
    assert!(dune < persuasion, "12.34 before 9.99");
    assert!(sorted.has(r#"aria-sort="descending""#));
    let search = site.get("/r/book?q=emm", Some(&root)).await;
    assert!(search.has(r#"data-total="1""#) && search.has(">Emma<"));
    assert!(
        search.has(r#"href="/r/book/export?q=emm""#),
        "export keeps the search"
    );
    // in_stock has two values: a filter.
    let list = site.get("/r/book", Some(&root)).await;
    assert!(list.has(r#"<select id="filter-in_stock" name="f" data-filter="in_stock">"#));
    let filtered = site.get("/r/book?f=in_stock:0", Some(&root)).await;
    assert!(filtered.has(r#"data-total="1""#) && filtered.has(">Emma<"));
    assert!(filtered.has(r#"<input type="checkbox" name="selected" value="2""#));
}

#[tokio::test]
async fn unique_columns_get_no_filter() {
    let site = Site::new();
    // `code` repeats only NULL, so it looks low-cardinality; it is unique all the same.
    site.db()
        .execute_batch(
            "CREATE TABLE tag (id integer PRIMARY KEY, code varchar(10) NULL UNIQUE, kind varchar(10) NOT NULL);
             INSERT INTO tag VALUES (1, 'a', 'x'), (2, NULL, 'x'), (3, NULL, 'y');",
        )
        .unwrap();
    let root = site.login("root").await;
    let list = site.get("/r/tag", Some(&root)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.has(r#"data-filter="kind""#), "{}", list.text);
    assert!(!list.has(r#"data-filter="code""#), "{}", list.text);
    assert!(!list.has(r#"data-filter="id""#));
    let css = site.get("/static/admin.css", None).await;
    assert!(css.has(".filters { display: grid; grid-template-columns: 1fr;"));
}

#[tokio::test]
async fn upload_limits_formats_and_content() {
    let site = Site::with("import_formats = [\"csv\", \"xlsx\"]", |a| a);
    let root = site.login("root").await;
    let big = format!("isbn,name\n{}", "9780000000001,Dune\n".repeat(300));
    let page = site
        .upload("/r/book/import", &root, &[], "big.csv", big.as_bytes())
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        page.has("big.csv is larger than the upload limit of 4 KiB."),
        "{}",
        page.text
    );
    let page = site
        .upload("/r/book/import", &root, &[], "books.json", b"[]")
        .await;
    assert_eq!(page.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(page.has("JSON files are not accepted here (accepted: csv, xlsx)."));
    let page = site
        .upload(
            "/r/book/import",
            &root,
            &[],
            "books.xlsx",
            NEW_BOOKS.as_bytes(),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("books.xlsx is not a XLSX file"), "{}", page.text);
    let page = site
        .upload("/r/book/import", &root, &[], "books", NEW_BOOKS.as_bytes())
        .await;
    assert!(page.has("Cannot tell the format of books from its name"));
    // Nothing refused stays in the upload folder.
    let left = std::fs::read_dir(site.dir.path().join("uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0);
}

/// Uploads NEW_BOOKS as root and returns the preview page's address.
async fn preview_of(site: &Site, who: &common::Session, file: &str) -> String {
    let page = site
        .upload("/r/book/import", who, &[], "new-books.csv", file.as_bytes())
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    page.location()
}

#[tokio::test]
async fn the_preview_shows_totals_and_per_cell_diffs_and_confirm_writes() {
    let site = Site::new();
    let root = site.login("root").await;
    let preview = preview_of(&site, &root, NEW_BOOKS).await;
    assert!(preview.starts_with("/r/book/import/") && preview.ends_with("/preview"));
    let page = site.get(&preview, Some(&root)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.has("3 rows: 1 new, 1 updated, 1 skipped, 0 deleted, 0 invalid, 0 errors"),
        "{}",
        page.text
    );
    assert!(page.has(r#"<tr class="row-update" data-row="2" data-outcome="update">"#));
    assert!(page.has("<del>12.34</del> → <ins>13.34</ins>"));
    assert!(page.has(r#"<tr class="row-new" data-row="4" data-outcome="new">"#));
    assert!(page.has("<ins>Sanditon</ins>"));
    assert!(page.has(r#"data-outcome="skip""#));
    assert_eq!(site.books()[0].2, "12.34", "a preview writes nothing");
    let only_new = site.get(&format!("{preview}?show=new"), Some(&root)).await;
    assert!(only_new.has("Sanditon") && !only_new.has("13.34"));

    let confirm = preview.replace("/preview", "/confirm");
    let result = site.post(&confirm, &root, &[]).await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.text);
    assert!(result.has(r#"data-committed="true""#), "{}", result.text);
    assert!(result.has("3 rows: 1 new, 1 updated, 1 skipped, 0 deleted, 0 invalid, 0 errors"));
    let books = site.books();
    assert_eq!(books.len(), 4);
    assert_eq!(
        books[0],
        ("9780000000001".into(), "Dune".into(), "13.34".into())
    );
    assert_eq!(
        books[3],
        ("9780000000009".into(), "Sanditon".into(), "7".into())
    );
    // The upload is gone once imported.
    let again = site.post(&confirm, &root, &[]).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.has("This upload has expired or was already imported."));
}

#[tokio::test]
async fn invalid_rows_show_their_field_errors_and_block_the_plain_confirm() {
    let site = Site::new();
    let root = site.login("root").await;
    let file = "isbn,name,price,in_stock,author\n\
        9780000000011,Ok book,1.00,1,Jane Austen\n\
        9780000000012,Bad price,cheap,1,Jane Austen\n\
        9780000000013,Bad author,2.00,1,Nobody Known\n";
    let preview = preview_of(&site, &root, file).await;
    let page = site.get(&preview, Some(&root)).await;
    assert!(
        page.has(r#"data-total="invalid"><strong>2</strong>"#),
        "{}",
        page.text
    );
    assert!(
        page.has(r#"data-error-column="price">&quot;cheap&quot; is not a number"#)
            || page.has(r#"data-error-column="price">"#),
        "{}",
        page.text
    );
    assert!(page.has(r#"data-error-column="author""#));
    assert!(page.has("Nobody Known"));
    assert!(page.has(r#"name="skip_invalid" id="skip-invalid" required"#));
    // Confirm without skipping: all or nothing, and the result says so.
    let confirm = preview.replace("/preview", "/confirm");
    let result = site.post(&confirm, &root, &[]).await;
    assert!(result.has(r#"data-committed="false""#), "{}", result.text);
    assert!(result.has("nothing was committed"));
    assert!(
        result.has("new-books.csv, row 3, column &quot;price&quot;"),
        "{}",
        result.text
    );
    assert_eq!(site.books().len(), 3);
    // Skipping the invalid rows imports the valid one.
    let result = site.post(&confirm, &root, &[("skip_invalid", "on")]).await;
    assert!(result.has(r#"data-committed="true""#), "{}", result.text);
    assert_eq!(site.books().len(), 4);
}

/// Confirms a file with one valid and one invalid row (all or nothing) and returns the result.
async fn result_of_a_bad_row(site: &Site) -> common::Page {
    let root = site.login("root").await;
    let file = "isbn,name,price,in_stock,author\n\
        9780000000031,Ok book,1.00,1,Jane Austen\n\
        9780000000032,Bad price,cheap,1,Jane Austen\n";
    let preview = preview_of(site, &root, file).await;
    let result = site
        .post(&preview.replace("/preview", "/confirm"), &root, &[])
        .await;
    assert!(result.has(r#"data-committed="false""#), "{}", result.text);
    result
}

#[tokio::test]
async fn failed_rows_show_their_file_values_only_when_configured() {
    // The default shows the message alone.
    let site = Site::new();
    let result = result_of_a_bad_row(&site).await;
    assert!(result.has(r#"id="result-errors""#), "{}", result.text);
    assert!(result.has("new-books.csv, row 3, column &quot;price&quot;"));
    assert!(!result.has(r#"id="failed-rows""#), "{}", result.text);
    assert!(!result.has(r#"<td data-column="name">Bad price</td>"#));

    // "message" and "row": the message, and the failed row (only it) as read from the file.
    let site = Site::with(r#"import_error_display = ["message", "row"]"#, |a| a);
    let result = result_of_a_bad_row(&site).await;
    assert!(result.has("new-books.csv, row 3, column &quot;price&quot;"));
    assert!(
        result.has(r#"<tr data-row="3"><td class="num">3</td>"#),
        "{}",
        result.text
    );
    assert!(result.has(r#"<td data-column="isbn">9780000000032</td>"#));
    assert!(result.has(r#"<td data-column="name">Bad price</td>"#));
    assert!(result.has(r#"<td data-column="price">cheap</td>"#));
    assert!(
        !result.has(r#"data-row="2""#),
        "the valid row is not listed"
    );

    // "row" alone: the values without the messages.
    let site = Site::with(r#"import_error_display = ["row"]"#, |a| a);
    let result = result_of_a_bad_row(&site).await;
    assert!(!result.has(r#"id="result-errors""#), "{}", result.text);
    assert!(result.has(r#"<td data-column="price">cheap</td>"#));
}

/// Uploads a file with one valid row and one whose price is not a number (row 3), as root;
/// returns root's session, the preview's address and its first page.
async fn preview_of_a_bad_row(site: &Site) -> (common::Session, String, common::Page) {
    let root = site.login("root").await;
    let file = "isbn,name,price,in_stock,author\n\
        9780000000031,Ok book,1.00,1,Jane Austen\n\
        9780000000032,Bad price,cheap,1,Jane Austen\n";
    let preview = preview_of(site, &root, file).await;
    let page = site.get(&preview, Some(&root)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.has(r#"data-error-column="price""#),
        "the error is shown either way: {}",
        page.text
    );
    (root, preview, page)
}

#[tokio::test]
async fn the_preview_shows_a_failed_rows_file_values_only_when_configured() {
    // The default: the error beside its cell, not the file's values.
    let site = Site::new();
    let (_, _, page) = preview_of_a_bad_row(&site).await;
    assert!(!page.has("data-file-values-row"), "{}", page.text);
    assert!(!page.has(r#"<dd data-file-column="price">cheap</dd>"#));

    // "message" and "row": under the invalid row (and only it), its values as in the file.
    let site = Site::with(r#"import_error_display = ["message", "row"]"#, |a| a);
    let (root, preview, page) = preview_of_a_bad_row(&site).await;
    let values = r#"<tr class="file-values row-invalid" data-file-values-row="3">"#;
    assert!(page.has(values), "{}", page.text);
    assert_eq!(page.text.matches("data-file-values-row").count(), 1);
    let (row, under) = (
        page.text.find(r#"data-row="3""#).expect("row 3 is listed"),
        page.text.find(values).expect("its values are listed"),
    );
    let between = &page.text[row..under];
    assert!(
        between.contains(r#"data-error-column="price""#) && !between.contains("<tr"),
        "the values follow the row and its error: {between}"
    );
    assert!(page.has(r#"<dd data-file-column="isbn">9780000000032</dd>"#));
    assert!(page.has(r#"<dd data-file-column="name">Bad price</dd>"#));
    assert!(page.has(r#"<dd data-file-column="price">cheap</dd>"#));
    assert!(page.has(r#"<dd data-file-column="author">Jane Austen</dd>"#));
    assert!(!page.has(r#"<dd data-file-column="name">Ok book</dd>"#));
    // The invalid rows' own page shows them too.
    let invalid = site
        .get(&format!("{preview}?show=invalid"), Some(&root))
        .await;
    assert!(invalid.has(values), "{}", invalid.text);
}

#[tokio::test]
async fn file_values_keep_the_files_own_headers_when_mapped_in_the_preview_and_the_result() {
    let site = Site::with(r#"import_error_display = ["row"]"#, |a| a);
    let root = site.login("root").await;
    let file = "ISBN,Title,Cost,Note\n9780000000001,Dune,cheap,first edition\n";
    let page = site
        .upload("/r/book/import", &root, &[], "renamed.csv", file.as_bytes())
        .await;
    let map = page.location();
    let done = site
        .post(
            &map,
            &root,
            &[
                ("map0", "isbn"),
                ("map1", "name"),
                ("map2", "price"),
                ("map3", ""),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let preview = site.get(&done.location(), Some(&root)).await;
    assert!(
        preview.has(r#"data-error-column="price""#),
        "{}",
        preview.text
    );
    assert!(preview.has(r#"<dd data-file-column="ISBN">9780000000001</dd>"#));
    assert!(preview.has(r#"<dd data-file-column="Cost">cheap</dd>"#));
    assert!(preview.has(r#"<dd data-file-column="Note">first edition</dd>"#));
    assert!(!preview.has(r#"data-file-column="price""#));

    // Confirmed, the result page lists the row under the same headers, the ignored
    // column included under its own name.
    let result = site
        .post(&done.location().replace("/preview", "/confirm"), &root, &[])
        .await;
    assert!(result.has(r#"data-committed="false""#), "{}", result.text);
    assert!(
        result.has(r#"<td data-column="Cost">cheap</td>"#),
        "{}",
        result.text
    );
    assert!(result.has(r#"<td data-column="Note">first edition</td>"#));
    assert!(!result.has("ignored"), "{}", result.text);
    assert!(!result.has(r#"data-column="price""#));
}

#[tokio::test]
async fn errors_raised_at_confirm_time_are_shown() {
    let site = Site::new();
    let root = site.login("root").await;
    let file = "isbn,name,price,in_stock,author\n9780000000021,Fresh,1.00,1,Jane Austen\n";
    let preview = preview_of(&site, &root, file).await;
    let page = site.get(&preview, Some(&root)).await;
    assert!(page.has("1 new"));
    // Between preview and confirm, someone takes the name (a unique column).
    site.db()
        .execute(
            "INSERT INTO book (isbn, name, in_stock) VALUES ('111', 'Fresh', 1)",
            [],
        )
        .unwrap();
    let result = site
        .post(&preview.replace("/preview", "/confirm"), &root, &[])
        .await;
    assert!(result.has(r#"data-committed="false""#), "{}", result.text);
    assert!(result.has(r#"data-total="error"><strong>1</strong>"#));
    assert!(result.has("new-books.csv, row 2"), "{}", result.text);
    assert_eq!(site.books().len(), 4, "only the row inserted by hand");
}

#[tokio::test]
async fn expired_and_forged_upload_tokens_get_a_clear_message() {
    let site = Site::new();
    let root = site.login("root").await;
    let preview = preview_of(&site, &root, NEW_BOOKS).await;
    site.clock
        .advance(std::time::Duration::from_secs(25 * 3600));
    site.state.store().sweep().unwrap();
    // The session expired too (12 hours); a new one finds the upload gone.
    let root = site.login("root").await;
    let page = site.get(&preview, Some(&root)).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.has("This upload has expired or was already imported. Upload the file again."));
    let page = site
        .post(&preview.replace("/preview", "/confirm"), &root, &[])
        .await;
    assert_eq!(page.status, StatusCode::GONE);
    for token in ["..%2F..%2Fetc%2Fpasswd", "%2Ftmp%2Fx.csv", "abc"] {
        let page = site
            .get(&format!("/r/book/import/{token}/preview"), Some(&root))
            .await;
        assert_eq!(page.status, StatusCode::GONE, "{token}");
        assert!(page.has("Upload the file again."));
        let page = site
            .post(&format!("/r/book/import/{token}/confirm"), &root, &[])
            .await;
        assert_eq!(page.status, StatusCode::GONE, "{token}");
    }
    assert_eq!(site.books().len(), 3);
}

#[tokio::test]
async fn another_users_upload_is_not_theirs() {
    let site = Site::new();
    let root = site.login("root").await;
    let preview = preview_of(&site, &root, NEW_BOOKS).await;
    let importer = site.login("importer").await;
    let page = site.get(&preview, Some(&importer)).await;
    assert_eq!(page.status, StatusCode::GONE);
    let page = site
        .post(&preview.replace("/preview", "/confirm"), &importer, &[])
        .await;
    assert_eq!(page.status, StatusCode::GONE);
    assert_eq!(site.books().len(), 3);
}

#[tokio::test]
async fn renamed_headers_are_mapped_and_the_mapping_is_remembered() {
    let site = Site::new();
    let root = site.login("root").await;
    let file = "ISBN,Title,Cost\n9780000000001,Dune,20.00\n";
    let page = site
        .upload("/r/book/import", &root, &[], "renamed.csv", file.as_bytes())
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let map = page.location();
    assert!(map.ends_with("/map"), "{map}");
    let form = site.get(&map, Some(&root)).await;
    assert!(form.has("Match the columns of renamed.csv"));
    // ISBN is suggested by similarity; Title and Cost are not close to any field.
    assert!(
        form.has(r#"<option value="isbn" selected>isbn</option>"#),
        "{}",
        form.text
    );
    assert!(form.has(r#"<label for="map1">Title</label>"#));
    let done = site
        .post(
            &map,
            &root,
            &[
                ("map0", "isbn"),
                ("map1", "name"),
                ("map2", "price"),
                ("map3", ""),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let preview = site.get(&done.location(), Some(&root)).await;
    assert!(preview.has("1 updated"), "{}", preview.text);
    assert!(preview.has("<del>12.34</del> → <ins>20.00</ins>"));
    let result = site
        .post(&done.location().replace("/preview", "/confirm"), &root, &[])
        .await;
    assert!(result.has(r#"data-committed="true""#));
    assert_eq!(site.books()[0].2, "20");
    // The next file with these headers gets the same choices.
    let page = site
        .upload("/r/book/import", &root, &[], "again.csv", file.as_bytes())
        .await;
    let form = site.get(&page.location(), Some(&root)).await;
    assert!(form.has(r#"<select id="map1" name="map1" data-map="Title">"#));
    let title = &form.text[form.text.find(r#"data-map="Title""#).unwrap()..];
    let title = &title[..title.find("</select>").unwrap()];
    assert!(
        title.contains(r#"<option value="name" selected>name</option>"#),
        "{title}"
    );
    // Matching one field twice is refused.
    let twice = site
        .post(
            &page.location(),
            &root,
            &[("map0", "isbn"), ("map1", "name"), ("map2", "name")],
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(twice.has("Two file columns are matched to the field &quot;name&quot;"));
}

#[tokio::test]
async fn the_import_form_offers_the_resources_of_the_table_and_hides_nothing_needed() {
    let site = Site::new();
    let root = site.login("root").await;
    let page = site.get("/r/book/import", Some(&root)).await;
    assert!(page.has(r#"<select id="resource" name="resource">"#));
    assert!(page.has(r#"<option value="book_prices">book_prices</option>"#));
    assert!(page.has(r#"<label for="file">File"#));
    assert!(page.has(r#"<select id="format" name="format" data-guess-format>"#));
    assert!(page.has(r#"data-resource-columns="book_prices"><code>isbn</code> <code>price</code>"#));
    // Importing through the other resource touches only its fields.
    let file = "isbn,price\n9780000000002,9.00\n";
    let page = site
        .upload(
            "/r/book/import",
            &root,
            &[("resource", "book_prices")],
            "prices.csv",
            file.as_bytes(),
        )
        .await;
    let location = page.location();
    assert!(location.starts_with("/r/book_prices/import/"), "{location}");
    let result = site
        .post(&location.replace("/preview", "/confirm"), &root, &[])
        .await;
    assert!(result.has("1 updated"), "{}", result.text);
    assert_eq!(
        site.books()[1],
        ("9780000000002".into(), "Emma".into(), "9".into())
    );
}

#[tokio::test]
async fn skip_confirm_imports_straight_away() {
    let site = Site::with("skip_import_confirm = true", |a| a);
    let root = site.login("root").await;
    let form = site.get("/r/book/import", Some(&root)).await;
    assert!(form.has(r#"id="import-submit">Import</button>"#));
    let page = site
        .upload(
            "/r/book/import",
            &root,
            &[],
            "new-books.csv",
            NEW_BOOKS.as_bytes(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.has("1 new, 1 updated, 1 skipped"));
    assert_eq!(site.books().len(), 4);
}

#[tokio::test]
async fn custom_form_fields_reach_the_hooks_with_the_user_and_file() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Seen(Mutex<Vec<(bool, BTreeMap<String, String>)>>);
    impl rowport::Hooks for Seen {
        fn before_import(
            &self,
            _headers: &[String],
            ctx: &rowport::Context,
        ) -> Result<(), rowport::HookError> {
            self.0
                .lock()
                .unwrap()
                .push((ctx.dry_run, ctx.extra.clone()));
            Ok(())
        }
    }
    let seen = Arc::new(Seen::default());
    let hooks = seen.clone();
    let site = Site::with(
        "[[admin.import_fields]]\nname = \"batch\"\nlabel = \"Batch\"\n",
        move |a| a.with_hooks("book", hooks),
    );
    let root = site.login("root").await;
    let form = site.get("/r/book/import", Some(&root)).await;
    assert!(form.has(r#"<label for="extra-batch">Batch</label>"#));
    let page = site
        .upload(
            "/r/book/import",
            &root,
            &[("batch", "spring")],
            "new-books.csv",
            NEW_BOOKS.as_bytes(),
        )
        .await;
    site.post(&page.location().replace("/preview", "/confirm"), &root, &[])
        .await;
    let seen = seen.0.lock().unwrap();
    assert_eq!(seen.len(), 2, "the dry run and the import");
    for (i, (dry_run, extra)) in seen.iter().enumerate() {
        assert_eq!(*dry_run, i == 0);
        assert_eq!(extra.get("batch").map(String::as_str), Some("spring"));
        assert_eq!(extra.get("user").map(String::as_str), Some("root"));
        assert_eq!(
            extra.get("file_name").map(String::as_str),
            Some("new-books.csv")
        );
    }
}

#[tokio::test]
async fn a_long_import_runs_in_the_background_with_progress_and_a_result() {
    let site = Site::with("background_rows = 1", |a| a);
    let root = site.login("root").await;
    let preview = preview_of(&site, &root, NEW_BOOKS).await;
    let page = site
        .post(&preview.replace("/preview", "/confirm"), &root, &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let job = page.location();
    assert!(job.starts_with("/jobs/"), "{job}");
    // Poll as the page's script does, until the job has ended.
    let mut finished = false;
    for _ in 0..500 {
        let status = site.get(&format!("{job}/status"), Some(&root)).await;
        let v: serde_json::Value = serde_json::from_slice(&status.bytes).unwrap();
        if v["finished"] == true {
            finished = true;
            break;
        }
        let page = site.get(&job, Some(&root)).await;
        assert!(page.has(r#"<progress id="progress""#));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(finished);
    let result = site.get(&job, Some(&root)).await;
    assert!(result.has(r#"data-committed="true""#), "{}", result.text);
    assert!(result.has("1 new, 1 updated, 1 skipped"));
    assert_eq!(site.books().len(), 4);
    let other = site.login("importer").await;
    assert_eq!(
        site.get(&job, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn templates_are_overridable_from_a_folder() {
    let site = Site::with_files(
        "templates = \"tpl\"",
        &[(
            "tpl/index.html",
            "{% extends \"base.html\" %}{% block content %}<p id=\"custom\">Our books: {{ resources|length }}</p>{% endblock %}",
        )],
        |a| a,
    );
    let root = site.login("root").await;
    let page = site.get("/", Some(&root)).await;
    assert!(
        page.has(r#"<p id="custom">Our books: 3</p>"#),
        "{}",
        page.text
    );
}
