//! The views. Each checks the session (through [`Current`]), then the user's permission for
//! the resource, then the CSRF token and Origin of a POST, before it reads or writes.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Multipart, Path, RawForm, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use rowport::export::ExportOptions;
use rowport::result::RowResult;
use rowport::store::TableSchema;
use rowport::{Cell, Context, ImportOptions, Resource, RowError, RowOutcome, RowSink, Store};
use rowport_formats::{open_reader, open_writer, Format, ReadOptions, WriteOptions};
use serde::{Deserialize, Serialize};

use super::browse::{Browser, Query, NULL_FILTER};
use super::exporting::{ChannelWriter, EscapeFormulae, KeyFilter};
use super::mapping::{suggest, Renamed};
use super::port::{JobInfo, NewUploadInfo, PreviewSummary, UploadMeta, UserInfo};
use super::security::{self, origin_allowed, random_token, same_secret};
use super::{Admin, Current};

type App = State<Arc<Admin>>;

// ---------------------------------------------------------------------------------------
// Helpers

/// Runs blocking work (databases, files) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the task failed: {e}"))?
}

pub(crate) fn server_error(admin: &Admin, message: &str) -> Response {
    admin.render_status(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error.html",
        context! { base => admin.settings.mount, title => "Something went wrong", message => message },
    )
}

fn error_page(
    admin: &Admin,
    current: &Current,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    admin.render_status(
        status,
        "error.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => title, message => message,
        },
    )
}

fn forbidden(admin: &Admin, current: &Current, what: &str, resource: &str) -> Response {
    error_page(
        admin,
        current,
        StatusCode::FORBIDDEN,
        "Permission denied",
        &format!("You may not {what} \"{resource}\". Ask an administrator for the permission."),
    )
}

/// Decodes `a=1&b=2&b=3` into pairs, keeping repeated keys.
fn pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The Origin check of a POST; `Some(response)` refuses it.
fn check_origin(admin: &Admin, current: &Current, headers: &HeaderMap) -> Option<Response> {
    if origin_allowed(headers, &admin.settings.allowed_origins) {
        return None;
    }
    Some(error_page(
        admin,
        current,
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was sent from another site. Reload the page and send it again.",
    ))
}

/// The CSRF check of a POST; `Some(response)` refuses it.
fn check_token(admin: &Admin, current: &Current, token: Option<&String>) -> Option<Response> {
    match token {
        Some(t) if same_secret(t, &current.csrf) => None,
        _ => Some(error_page(
            admin,
            current,
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form's security token is missing or out of date. Reload the page and send it again.",
        )),
    }
}

/// The CSRF and Origin checks of a POST; `Some(response)` refuses it.
fn check_post(
    admin: &Admin,
    current: &Current,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Option<Response> {
    check_origin(admin, current, headers)
        .or_else(|| check_token(admin, current, token.map(str::to_owned).as_ref()))
}

/// A resource and its table's schema, with the store they came from.
struct Loaded {
    store: Box<dyn Store>,
    resource: Resource,
    schema: TableSchema,
}

fn load(admin: &Admin, name: &str) -> Result<Loaded, String> {
    let mut store = rowport_sql::connect(&admin.database_url, false).map_err(|e| e.message)?;
    let mut resource = admin
        .config
        .resource(name, store.as_mut())
        .map_err(|e| e.to_string())?;
    if let Some(hooks) = admin.hooks.get(name) {
        resource.hooks = hooks.clone();
    }
    let schema = store.describe(&resource.table).map_err(|e| e.message)?;
    Ok(Loaded {
        store,
        resource,
        schema,
    })
}

/// Resources that may be named in a URL: the declared ones and every table.
fn known_resources(admin: &Admin) -> Result<Vec<String>, String> {
    let mut store = rowport_sql::connect(&admin.database_url, false).map_err(|e| e.message)?;
    admin
        .config
        .resource_names(store.as_mut())
        .map_err(|e| e.to_string())
}

/// A resource name from a URL, checked against the known ones, with the user's rights.
async fn resolve(
    admin: &Arc<Admin>,
    current: &Current,
    name: &str,
    need: fn(&super::port::Perms) -> bool,
    what: &str,
) -> Result<(), Response> {
    let a = admin.clone();
    let known = blocking(move || known_resources(&a))
        .await
        .map_err(|e| server_error(admin, &e))?;
    if !known.iter().any(|k| k == name) {
        return Err(not_found_for(admin, Some(current)));
    }
    if !need(&current.user.perms(name)) {
        return Err(forbidden(admin, current, what, name));
    }
    Ok(())
}

fn not_found_for(admin: &Admin, current: Option<&Current>) -> Response {
    admin.render_status(
        StatusCode::NOT_FOUND,
        "error.html",
        context! {
            base => admin.settings.mount,
            user => current.map(|c| c.user.name.clone()),
            csrf => current.map(|c| c.csrf.clone()),
            title => "Not found",
            message => "There is no such page.",
        },
    )
}

pub(crate) async fn not_found(State(admin): App) -> Response {
    not_found_for(&admin, None)
}

// ---------------------------------------------------------------------------------------
// Login and logout

pub(crate) async fn login_form(State(admin): App, RawQuery(query): RawQuery) -> Response {
    let q = pairs(query.as_deref().unwrap_or(""));
    login_page(
        &admin,
        first(&q, "next").unwrap_or(""),
        "",
        "",
        StatusCode::OK,
    )
}

fn login_page(admin: &Admin, next: &str, name: &str, error: &str, status: StatusCode) -> Response {
    let token = random_token();
    let mut response = admin.render_status(
        status,
        "login.html",
        context! {
            base => admin.settings.mount, title => "Log in", csrf => token,
            next => safe_next(admin, next), name => name, error => error,
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(
            security::LOGIN_CSRF_COOKIE,
            &token,
            3600,
            admin.settings.secure_cookies,
        ),
    );
    response
}

/// Only paths inside the admin are followed after login (no open redirect).
fn safe_next(admin: &Admin, next: &str) -> String {
    let home = admin.url("/");
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.starts_with(&admin.settings.mount)
    {
        next.to_owned()
    } else {
        home
    }
}

pub(crate) async fn login(
    State(admin): App,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    RawForm(body): RawForm,
) -> Response {
    let form = pairs(&String::from_utf8_lossy(&body));
    let name = first(&form, "username").unwrap_or("").trim().to_owned();
    let password = first(&form, "password").unwrap_or("").to_owned();
    let next = first(&form, "next").unwrap_or("").to_owned();
    let cookie_token = security::cookie(&headers, security::LOGIN_CSRF_COOKIE).unwrap_or("");
    let form_token = first(&form, "csrf_token").unwrap_or("");
    if !origin_allowed(&headers, &admin.settings.allowed_origins)
        || cookie_token.is_empty()
        || !same_secret(cookie_token, form_token)
    {
        return login_page(
            &admin,
            &next,
            &name,
            "The form's security token is missing or out of date. Please try again.",
            StatusCode::FORBIDDEN,
        );
    }
    // Failures are counted per name and per address (the state store keeps both), so one
    // attacker cannot try one account without limit, nor many accounts from one place.
    let address = client_address(&headers, &extensions);
    let a = admin.clone();
    let n = name.clone();
    let outcome = blocking(move || {
        if let Err(wait) = a.state.login_allowed(&n, &address).map_err(|e| e.0)? {
            return Ok(Err(Some(wait)));
        }
        match a.state.authenticate(&n, &password).map_err(|e| e.0)? {
            Some(user) => {
                a.state.login_succeeded(&n).map_err(|e| e.0)?;
                Ok(Ok(a.state.create_session(&user.name).map_err(|e| e.0)?))
            }
            None => {
                a.state.login_failed(&n, &address).map_err(|e| e.0)?;
                Ok(Err(None))
            }
        }
    })
    .await;
    match outcome {
        Err(e) => server_error(&admin, &e),
        Ok(Err(Some(wait))) => login_page(
            &admin,
            &next,
            &name,
            &format!(
                "Too many failed logins. Try again in {} minute{}.",
                wait.div_ceil(60),
                if wait.div_ceil(60) == 1 { "" } else { "s" }
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Ok(Err(None)) => login_page(
            &admin,
            &next,
            &name,
            "The user name or password is wrong.",
            StatusCode::UNAUTHORIZED,
        ),
        Ok(Ok(id)) => {
            let mut response = Redirect::to(&safe_next(&admin, &next)).into_response();
            let ttl = session_seconds(&admin);
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                security::set_cookie(
                    security::SESSION_COOKIE,
                    &id,
                    ttl,
                    admin.settings.secure_cookies,
                ),
            );
            h.append(
                header::SET_COOKIE,
                security::set_cookie(
                    security::LOGIN_CSRF_COOKIE,
                    "",
                    0,
                    admin.settings.secure_cookies,
                ),
            );
            response
        }
    }
}

/// The client's address for the login rate limit: the first `X-Forwarded-For` hop when a
/// proxy sets it, else the peer address axum saw (when served with connect info).
fn client_address(headers: &HeaderMap, extensions: &axum::http::Extensions) -> String {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .or_else(|| headers.get("x-real-ip").and_then(|v| v.to_str().ok()));
    if let Some(address) = forwarded {
        return address.trim().to_owned();
    }
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "direct".to_owned())
}

/// The session cookie's lifetime: the state store's session TTL (default 12 hours).
fn session_seconds(admin: &Admin) -> u64 {
    admin
        .settings
        .state
        .get("session_ttl_secs")
        .and_then(|v| v.as_integer())
        .map_or(12 * 3600, |n| n.max(0) as u64)
}

pub(crate) async fn logout(
    State(admin): App,
    current: Current,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let form = pairs(&String::from_utf8_lossy(&body));
    if let Some(refused) = check_post(&admin, &current, &headers, first(&form, "csrf_token")) {
        return refused;
    }
    let a = admin.clone();
    let id = current.session.clone();
    if let Err(e) = blocking(move || a.state.end_session(&id).map_err(|e| e.0)).await {
        return server_error(&admin, &e);
    }
    let mut response = Redirect::to(&admin.url("/login")).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(
            security::SESSION_COOKIE,
            "",
            0,
            admin.settings.secure_cookies,
        ),
    );
    response
}

// ---------------------------------------------------------------------------------------
// Index and change list

#[derive(Serialize)]
struct IndexRow {
    name: String,
    table: String,
    rows: Option<u64>,
    error: Option<String>,
    import: bool,
    export: bool,
}

pub(crate) async fn index(State(admin): App, current: Current) -> Response {
    let a = admin.clone();
    let user = current.user.clone();
    let rows = blocking(move || {
        let names = known_resources(&a)?;
        let mut browser = Browser::open(&a.database_url).map_err(|e| e.message)?;
        let mut store = rowport_sql::connect(&a.database_url, false).map_err(|e| e.message)?;
        let mut out = Vec::new();
        for name in names {
            let perms = user.perms(&name);
            if !perms.view {
                continue;
            }
            let (table, rows, error) = match a.config.resource(&name, store.as_mut()) {
                Ok(r) => match browser.row_count(&r.table) {
                    Ok(n) => (r.table, Some(n), None),
                    Err(e) => (r.table, None, Some(e.message)),
                },
                Err(e) => (name.clone(), None, Some(e.to_string())),
            };
            out.push(IndexRow {
                name,
                table,
                rows,
                error,
                import: perms.import,
                export: perms.export,
            });
        }
        Ok(out)
    })
    .await;
    match rows {
        Err(e) => server_error(&admin, &e),
        Ok(rows) => admin.render(
            "index.html",
            context! {
                base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
                title => "Resources", resources => rows,
            },
        ),
    }
}

/// The change list's query from its URL: `q`, `f=column:value`, `o=column` / `o=-column`.
fn list_query(q: &[(String, String)]) -> Query {
    Query {
        search: first(q, "q").unwrap_or("").to_owned(),
        filters: all(q, "f")
            .into_iter()
            .filter_map(|f| f.split_once(':'))
            .filter(|(_, v)| !v.is_empty())
            .map(|(c, v)| (c.to_owned(), v.to_owned()))
            .collect(),
        selected: None,
        order: first(q, "o")
            .filter(|o| !o.is_empty())
            .map(|o| match o.strip_prefix('-') {
                Some(c) => (c.to_owned(), true),
                None => (o.to_owned(), false),
            }),
    }
}

/// The query string that reproduces a change list query (without the page).
fn query_string(q: &Query) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if !q.search.is_empty() {
        s.append_pair("q", &q.search);
    }
    for (c, v) in &q.filters {
        s.append_pair("f", &format!("{c}:{v}"));
    }
    if let Some((c, desc)) = &q.order {
        s.append_pair("o", &format!("{}{c}", if *desc { "-" } else { "" }));
    }
    s.finish()
}

#[derive(Serialize)]
struct FilterView {
    column: String,
    options: Vec<(String, String, bool)>,
}

#[derive(Serialize)]
struct ColumnView {
    name: String,
    sort_url: String,
    sorted: &'static str,
}

pub(crate) async fn change_list(
    State(admin): App,
    current: Current,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = resolve(&admin, &current, &name, |p| p.view, "view").await {
        return r;
    }
    let params = pairs(raw.as_deref().unwrap_or(""));
    let query = list_query(&params);
    let page: u64 = first(&params, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let a = admin.clone();
    let n = name.clone();
    let q = query.clone();
    let data = blocking(move || {
        let loaded = load(&a, &n)?;
        let mut browser = Browser::open(&a.database_url).map_err(|e| e.message)?;
        let total = browser.count(&loaded.schema, &q).map_err(|e| e.message)?;
        let size = a.settings.page_size;
        let rows = browser
            .page(&loaded.schema, &q, (page - 1) * size as u64, size)
            .map_err(|e| e.message)?;
        let mut filters = Vec::new();
        // A filter helps where values repeat: fewer distinct values than rows, and few.
        let all_rows = browser
            .row_count(&loaded.schema.name)
            .map_err(|e| e.message)?;
        for column in &loaded.schema.columns {
            // A unique column never repeats a value, whatever the rows at hand suggest.
            let unique = loaded
                .schema
                .unique
                .iter()
                .any(|set| set.len() == 1 && set[0] == column.name);
            if column.primary_key || unique {
                continue;
            }
            let low = matches!(column.kind, rowport::ValueKind::Bool)
                || column.choices.is_some()
                || column.foreign_key.is_some()
                || matches!(column.kind, rowport::ValueKind::Text);
            if !low {
                continue;
            }
            if let Some(values) = browser
                .distinct(&loaded.schema.name, &column.name, 8)
                .map_err(|e| e.message)?
            {
                if values.len() < 2 || values.len() as u64 >= all_rows {
                    continue;
                }
                let chosen = q
                    .filters
                    .iter()
                    .find(|(c, _)| c == &column.name)
                    .map(|(_, v)| v.clone());
                let mut options = vec![("".to_owned(), "All".to_owned(), chosen.is_none())];
                for v in values {
                    let (value, label) = match v {
                        Some(v) => (v.clone(), v),
                        None => (NULL_FILTER.to_owned(), "(empty)".to_owned()),
                    };
                    let on = chosen.as_deref() == Some(value.as_str());
                    options.push((value, label, on));
                }
                filters.push(FilterView {
                    column: column.name.clone(),
                    options,
                });
            }
        }
        Ok((loaded.schema, total, rows, filters))
    })
    .await;
    let (schema, total, rows, filters) = match data {
        Ok(d) => d,
        Err(e) => return server_error(&admin, &e),
    };
    let size = admin.settings.page_size as u64;
    let pages = total.div_ceil(size).max(1);
    let columns: Vec<ColumnView> = schema
        .columns
        .iter()
        .map(|c| {
            let (sorted, next) = match &query.order {
                Some((o, false)) if *o == c.name => ("ascending", format!("-{}", c.name)),
                Some((o, true)) if *o == c.name => ("descending", c.name.clone()),
                _ => ("", c.name.clone()),
            };
            let mut q = query.clone();
            q.order = Some(match next.strip_prefix('-') {
                Some(n) => (n.to_owned(), true),
                None => (next.clone(), false),
            });
            ColumnView {
                name: c.name.clone(),
                sort_url: query_string(&q),
                sorted,
            }
        })
        .collect();
    let pk_index = schema.columns.iter().position(|c| c.primary_key);
    let keys: Vec<String> = rows
        .iter()
        .map(|r| pk_index.and_then(|i| r[i].clone()).unwrap_or_default())
        .collect();
    let perms = current.user.perms(&name);
    let qs = query_string(&query);
    admin.render(
        "change_list.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => name, resource => name, columns => columns, rows => rows, keys => keys,
            total => total, page => page, pages => pages, search => query.search,
            filters => filters, query => qs, perms => perms, has_pk => pk_index.is_some(),
            hidden => query.filters.iter().map(|(c, v)| format!("{c}:{v}")).collect::<Vec<_>>(),
            order => query.order.as_ref().map(|(c, d)| format!("{}{c}", if *d { "-" } else { "" })),
        },
    )
}

// ---------------------------------------------------------------------------------------
// Import: form and upload

/// Resources over the same table as `name` that the user may import into (the resource
/// choice of the import form).
fn sibling_resources(
    admin: &Admin,
    user: &UserInfo,
    name: &str,
) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut store = rowport_sql::connect(&admin.database_url, false).map_err(|e| e.message)?;
    let this = admin
        .config
        .resource(name, store.as_mut())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for other in known_resources(admin)? {
        if !user.perms(&other).import {
            continue;
        }
        let Ok(r) = admin.config.resource(&other, store.as_mut()) else {
            continue;
        };
        if r.table == this.table {
            let fields = r.import_fields().map(|f| f.column_name.clone()).collect();
            out.push((other, fields));
        }
    }
    Ok(out)
}

fn import_page(
    admin: &Admin,
    current: &Current,
    name: &str,
    siblings: &[(String, Vec<String>)],
    error: &str,
    status: StatusCode,
) -> Response {
    let formats: Vec<&str> = admin
        .settings
        .import_formats
        .iter()
        .map(|f| f.name())
        .collect();
    admin.render_status(
        status,
        "import.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => format!("Import into {name}"), resource => name, resources => siblings,
            formats => formats, max_upload => rowport_formats::format_size(admin.settings.max_upload),
            extra_fields => admin.settings.import_fields, error => error,
            skip_confirm => admin.settings.skip_import_confirm,
        },
    )
}

pub(crate) async fn import_form(
    State(admin): App,
    current: Current,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = resolve(&admin, &current, &name, |p| p.import, "import into").await {
        return r;
    }
    let a = admin.clone();
    let (u, n) = (current.user.clone(), name.clone());
    match blocking(move || sibling_resources(&a, &u, &n)).await {
        Ok(siblings) => import_page(&admin, &current, &name, &siblings, "", StatusCode::OK),
        Err(e) => server_error(&admin, &e),
    }
}

/// The base name of what the browser sent as a file name (some send a whole path).
fn base_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() {
        "upload".to_owned()
    } else {
        clean
    }
}

/// Whether the content agrees with the chosen format. Binary formats must be what they
/// say; text formats are only told apart from binary ones, since text sniffing is a guess.
fn content_agrees(format: Format, prefix: &[u8]) -> bool {
    let binary = |f: Format| matches!(f, Format::Xlsx | Format::Xls | Format::Ods);
    match rowport_formats::sniff_format(prefix) {
        Some(sniffed) if binary(format) || binary(sniffed) => sniffed == format,
        Some(_) => true,
        None => prefix.is_empty(),
    }
}

pub(crate) async fn upload(
    State(admin): App,
    current: Current,
    headers: HeaderMap,
    Path(name): Path<String>,
    mut multipart: Multipart,
) -> Response {
    if let Err(r) = resolve(&admin, &current, &name, |p| p.import, "import into").await {
        return r;
    }
    if let Some(refused) = check_origin(&admin, &current, &headers) {
        return refused;
    }
    let a = admin.clone();
    let (u, n) = (current.user.clone(), name.clone());
    let siblings = match blocking(move || sibling_resources(&a, &u, &n)).await {
        Ok(s) => s,
        Err(e) => return server_error(&admin, &e),
    };
    let fail = |message: &str, status: StatusCode| {
        import_page(&admin, &current, &name, &siblings, message, status)
    };
    let accepted = admin
        .settings
        .import_formats
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ");

    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut stored: Option<(String, NewUploadInfo, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return fail(
                    &format!("The upload was cut off: {}", e.body_text()),
                    StatusCode::BAD_REQUEST,
                )
            }
        };
        let field_name = field.name().unwrap_or("").to_owned();
        if field_name != "file" {
            let text = match field.text().await {
                Ok(t) => t,
                Err(e) => {
                    return fail(
                        &format!("The upload was cut off: {}", e.body_text()),
                        StatusCode::BAD_REQUEST,
                    )
                }
            };
            if text.len() > 10_000 {
                return fail(
                    &format!("The field \"{field_name}\" is too long."),
                    StatusCode::BAD_REQUEST,
                );
            }
            fields.insert(field_name, text);
            continue;
        }
        if stored.is_some() {
            return fail("Send one file at a time.", StatusCode::BAD_REQUEST);
        }
        // The form puts the token, resource and format before the file, so a forged request
        // or a refused format is turned away before a byte is stored.
        if let Some(refused) = check_token(&admin, &current, fields.get("csrf_token")) {
            return refused;
        }
        let file_name = base_name(field.file_name().unwrap_or(""));
        if field.file_name().unwrap_or("").is_empty() {
            return fail("Choose a file to import.", StatusCode::BAD_REQUEST);
        }
        let resource = fields
            .get("resource")
            .filter(|r| !r.is_empty())
            .cloned()
            .unwrap_or_else(|| name.clone());
        if !siblings.iter().any(|(s, _)| *s == resource) {
            return fail(
                &format!("\"{resource}\" is not a resource you may import into here."),
                StatusCode::BAD_REQUEST,
            );
        }
        let format = match fields.get("format").map(String::as_str).filter(|f| !f.is_empty()) {
            Some(f) => match f.parse::<Format>() {
                Ok(f) => f,
                Err(_) => {
                    return fail(
                        &format!("\"{f}\" is not a format (accepted: {accepted})."),
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    )
                }
            },
            None => match Format::from_path(std::path::Path::new(&file_name)) {
                Some(f) => f,
                None => {
                    return fail(
                        &format!(
                            "Cannot tell the format of {file_name} from its name; choose one (accepted: {accepted})."
                        ),
                        StatusCode::BAD_REQUEST,
                    )
                }
            },
        };
        if !admin.settings.import_formats.contains(&format) {
            return fail(
                &format!(
                    "{} files are not accepted here (accepted: {accepted}).",
                    format.name().to_uppercase()
                ),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            );
        }
        let info = NewUploadInfo {
            user: current.user.name.clone(),
            resource,
            file_name: file_name.clone(),
            format: format.name().to_owned(),
        };
        match stream_to(&admin, &info, field, admin.settings.max_upload).await {
            Ok((token, prefix)) => stored = Some((token, info, prefix)),
            Err(StreamError::TooLarge) => {
                return fail(
                    &format!(
                        "{file_name} is larger than the upload limit of {}.",
                        rowport_formats::format_size(admin.settings.max_upload)
                    ),
                    StatusCode::PAYLOAD_TOO_LARGE,
                )
            }
            Err(StreamError::Failed(e)) => return fail(&e, StatusCode::BAD_REQUEST),
        }
    }
    if let Some(refused) = check_token(&admin, &current, fields.get("csrf_token")) {
        return refused;
    }
    let Some((token, info, prefix)) = stored else {
        return fail("Choose a file to import.", StatusCode::BAD_REQUEST);
    };
    let remove = |token: String| {
        let a = admin.clone();
        async move {
            let _ = blocking(move || a.state.remove_upload(&token).map_err(|e| e.0)).await;
        }
    };
    if prefix.is_empty() {
        remove(token).await;
        return fail(
            &format!("{} is empty.", info.file_name),
            StatusCode::BAD_REQUEST,
        );
    }
    let format: Format = info.format.parse().unwrap_or(Format::Csv);
    if !content_agrees(format, &prefix) {
        remove(token).await;
        return fail(
            &format!(
                "{} is not a {} file; choose its real format.",
                info.file_name,
                format.name().to_uppercase()
            ),
            StatusCode::BAD_REQUEST,
        );
    }
    let extra: BTreeMap<String, String> = admin
        .settings
        .import_fields
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                fields.get(&f.name).cloned().unwrap_or_default(),
            )
        })
        .collect();
    // Headers that match no field call for a mapping first.
    let a = admin.clone();
    let (t, r) = (token.clone(), info.resource.clone());
    let needs_map = blocking(move || {
        let loaded = load(&a, &r)?;
        let columns = import_columns(&loaded.resource);
        let meta = a
            .state
            .upload(&t)
            .map_err(|e| e.0)?
            .ok_or_else(|| "The upload is gone.".to_owned())?;
        let headers = read_headers(&a, &t, &meta)?;
        Ok((headers.iter().any(|h| !columns.contains(h)), meta))
    })
    .await;
    match needs_map {
        Err(e) => {
            remove(token).await;
            fail(&e, StatusCode::BAD_REQUEST)
        }
        Ok((true, _)) => {
            let mut url = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &extra {
                url.append_pair(&format!("x_{k}"), v);
            }
            let qs = url.finish();
            Redirect::to(&admin.url(&format!(
                "/r/{}/import/{token}/map{}{qs}",
                info.resource,
                if qs.is_empty() { "" } else { "?" }
            )))
            .into_response()
        }
        Ok((false, meta)) => proceed(&admin, &current, token, meta, None, extra).await,
    }
}

/// After the upload (and the mapping): the preview, or the import itself when the confirm
/// step is skipped.
async fn proceed(
    admin: &Arc<Admin>,
    current: &Current,
    token: String,
    meta: UploadMeta,
    mapping: Option<BTreeMap<String, String>>,
    extra: BTreeMap<String, String>,
) -> Response {
    if admin.settings.skip_import_confirm {
        let summary = PreviewSummary {
            mapping,
            extra,
            ..PreviewSummary::default()
        };
        run_confirm(admin, current, token, meta, summary, false).await
    } else {
        run_preview(admin, current, token, meta, mapping, extra).await
    }
}

fn import_columns(resource: &Resource) -> Vec<String> {
    resource
        .import_fields()
        .map(|f| f.column_name.clone())
        .collect()
}

enum StreamError {
    TooLarge,
    Failed(String),
}

/// Bytes from the request, read on the blocking side by the state store.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
    chunk: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        bytes::Buf::advance(&mut self.chunk, n);
        Ok(n)
    }
}

/// Streams a multipart field into the upload storage, counting bytes against the limit and
/// keeping the first bytes for the format check. Over the limit, the store's read fails,
/// so it keeps nothing.
async fn stream_to(
    admin: &Arc<Admin>,
    info: &NewUploadInfo,
    mut field: axum::extract::multipart::Field<'_>,
    limit: u64,
) -> Result<(String, Vec<u8>), StreamError> {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let a = admin.clone();
    let meta = info.clone();
    let task = tokio::task::spawn_blocking(move || {
        let mut reader = ChannelReader {
            rx,
            chunk: bytes::Bytes::new(),
        };
        a.state.put_upload(&meta, &mut reader)
    });
    let mut size = 0u64;
    let mut prefix = Vec::new();
    let mut failure = None;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > limit {
                    failure = Some(StreamError::TooLarge);
                    let _ = tx
                        .send(Err(std::io::Error::other("the upload is over the limit")))
                        .await;
                    break;
                }
                if prefix.len() < rowport_formats::SNIFF_BYTES {
                    let take = (rowport_formats::SNIFF_BYTES - prefix.len()).min(chunk.len());
                    prefix.extend_from_slice(&chunk[..take]);
                }
                if tx.send(Ok(chunk)).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                failure = Some(StreamError::Failed(format!(
                    "The upload was cut off: {}",
                    e.body_text()
                )));
                let _ = tx
                    .send(Err(std::io::Error::other("the upload was cut off")))
                    .await;
                break;
            }
        }
    }
    drop(tx);
    let stored = task.await.map_err(|e| StreamError::Failed(e.to_string()))?;
    if let Some(f) = failure {
        if let Ok(token) = stored {
            let a = admin.clone();
            let _ = tokio::task::spawn_blocking(move || a.state.remove_upload(&token)).await;
        }
        return Err(f);
    }
    match stored {
        Ok(token) => Ok((token, prefix)),
        Err(e) if e.0.contains("limit") || e.0.contains("larger") => Err(StreamError::TooLarge),
        Err(e) => Err(StreamError::Failed(format!(
            "The upload could not be stored: {}",
            e.0
        ))),
    }
}

/// Checks a token from a URL: only the 64 hex digits the admin makes are looked up, so a
/// path or anything else is "no such upload" before any storage sees it.
fn valid_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn upload_gone(admin: &Admin, current: &Current, resource: &str) -> Response {
    admin.render_status(
        StatusCode::GONE,
        "error.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => "Upload not found",
            message => "This upload has expired or was already imported. Upload the file again.",
            again => admin.url(&format!("/r/{resource}/import")),
        },
    )
}

/// For the views of one pending import: the user may import into `resource`, and the upload
/// is theirs.
async fn pending_upload(
    admin: &Arc<Admin>,
    current: &Current,
    resource: &str,
    token: &str,
) -> Result<UploadMeta, Response> {
    resolve(admin, current, resource, |p| p.import, "import into").await?;
    upload_of(admin, current, resource, token).await
}

/// For the forms posted to one pending import: the permission, then the form's CSRF token and
/// origin, then the upload; the form's fields and the upload's metadata.
async fn posted_to_upload(
    admin: &Arc<Admin>,
    current: &Current,
    headers: &HeaderMap,
    resource: &str,
    token: &str,
    body: &[u8],
) -> Result<(Vec<(String, String)>, UploadMeta), Response> {
    resolve(admin, current, resource, |p| p.import, "import into").await?;
    let form = pairs(&String::from_utf8_lossy(body));
    if let Some(refused) = check_post(admin, current, headers, first(&form, "csrf_token")) {
        return Err(refused);
    }
    let meta = upload_of(admin, current, resource, token).await?;
    Ok((form, meta))
}

/// The upload's metadata, when the token is well-formed, known, and the user's own.
async fn upload_of(
    admin: &Arc<Admin>,
    current: &Current,
    resource: &str,
    token: &str,
) -> Result<UploadMeta, Response> {
    if !valid_token(token) {
        return Err(upload_gone(admin, current, resource));
    }
    let a = admin.clone();
    let t = token.to_owned();
    match blocking(move || a.state.upload(&t).map_err(|e| e.0)).await {
        Err(e) => Err(server_error(admin, &e)),
        Ok(Some(meta)) if meta.user == current.user.name && meta.resource == resource => Ok(meta),
        Ok(_) => Err(upload_gone(admin, current, resource)),
    }
}

fn open_upload_reader<'a>(
    admin: &Admin,
    token: &str,
    meta: &UploadMeta,
    mapping: Option<&BTreeMap<String, String>>,
) -> Result<Box<dyn rowport_formats::RowReader + 'a>, String> {
    Ok(renamed(
        open_file_reader(admin, token, meta, Arc::default())?,
        mapping,
    ))
}

/// The reader with its headers renamed by the column mapping, if any.
fn renamed<'a>(
    reader: Box<dyn rowport_formats::RowReader + 'a>,
    mapping: Option<&BTreeMap<String, String>>,
) -> Box<dyn rowport_formats::RowReader + 'a> {
    match mapping {
        Some(m) => Box::new(Renamed::new(reader, m)),
        None => reader,
    }
}

/// The upload as the file has it (headers not mapped).
fn open_file_reader<'a>(
    admin: &Admin,
    token: &str,
    meta: &UploadMeta,
    counter: Arc<std::sync::atomic::AtomicU64>,
) -> Result<Box<dyn rowport_formats::RowReader + 'a>, String> {
    let bytes: Box<dyn Read + Send> = admin
        .state
        .open_upload(token)
        .map_err(|e| e.0)?
        .ok_or_else(|| "This upload has expired. Upload the file again.".to_owned())?;
    let bytes = Box::new(Counting {
        inner: bytes,
        bytes: counter,
    });
    let format: Format = meta
        .format
        .parse()
        .map_err(|_| format!("unknown format {}", meta.format))?;
    let options = ReadOptions {
        limits: admin
            .config
            .limits
            .apply(rowport_formats::Limits::default()),
        ..ReadOptions::default()
    };
    open_reader(format, bytes, &meta.file_name, &options).map_err(|e| e.to_string())
}

fn read_headers(admin: &Admin, token: &str, meta: &UploadMeta) -> Result<Vec<String>, String> {
    Ok(open_upload_reader(admin, token, meta, None)?
        .headers()
        .to_vec())
}

/// The custom import fields carried in a form or query (`x_<name>`).
fn extras_from(admin: &Admin, pairs: &[(String, String)]) -> BTreeMap<String, String> {
    admin
        .settings
        .import_fields
        .iter()
        .map(|f| {
            let v = first(pairs, &format!("x_{}", f.name)).unwrap_or("");
            (f.name.clone(), v.to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Column mapping

pub(crate) async fn map_form(
    State(admin): App,
    current: Current,
    Path((name, token)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let meta = match pending_upload(&admin, &current, &name, &token).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let extra = extras_from(&admin, &pairs(raw.as_deref().unwrap_or("")));
    let a = admin.clone();
    let (t, m) = (token.clone(), meta.clone());
    let data = blocking(move || {
        let loaded = load(&a, &m.resource)?;
        let columns = import_columns(&loaded.resource);
        let headers = read_headers(&a, &t, &m)?;
        let remembered = a.state.mapping(&m.resource).map_err(|e| e.0)?;
        let chosen = m
            .preview
            .as_ref()
            .and_then(|p| p.mapping.clone())
            .or(remembered);
        Ok((suggest(&headers, &columns, chosen.as_ref()), columns))
    })
    .await;
    match data {
        Err(e) => server_error(&admin, &e),
        Ok((rows, columns)) => admin.render(
            "map.html",
            context! {
                base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
                title => "Match the columns", resource => name, token => token,
                file_name => meta.file_name, rows => rows, columns => columns,
                extra => extra.iter().map(|(k, v)| (format!("x_{k}"), v.clone())).collect::<Vec<_>>(),
            },
        ),
    }
}

pub(crate) async fn map_submit(
    State(admin): App,
    current: Current,
    headers: HeaderMap,
    Path((name, token)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Response {
    let (form, meta) =
        match posted_to_upload(&admin, &current, &headers, &name, &token, &body).await {
            Ok(posted) => posted,
            Err(r) => return r,
        };
    let a = admin.clone();
    let (t, m) = (token.clone(), meta.clone());
    let checked = blocking(move || {
        let loaded = load(&a, &m.resource)?;
        Ok((read_headers(&a, &t, &m)?, import_columns(&loaded.resource)))
    })
    .await;
    let (file_headers, columns) = match checked {
        Ok(x) => x,
        Err(e) => return server_error(&admin, &e),
    };
    let mut mapping = BTreeMap::new();
    let mut used = HashSet::new();
    for (i, header) in file_headers.iter().enumerate() {
        let choice = first(&form, &format!("map{i}")).unwrap_or("").to_owned();
        if !choice.is_empty() {
            if !columns.contains(&choice) {
                return error_page(
                    &admin,
                    &current,
                    StatusCode::BAD_REQUEST,
                    "Match the columns",
                    &format!("\"{choice}\" is not a field of {name}."),
                );
            }
            if !used.insert(choice.clone()) {
                return error_page(
                    &admin,
                    &current,
                    StatusCode::BAD_REQUEST,
                    "Match the columns",
                    &format!(
                        "Two file columns are matched to the field \"{choice}\"; go back and match it once."
                    ),
                );
            }
        }
        mapping.insert(header.clone(), choice);
    }
    let a = admin.clone();
    let (r, m) = (meta.resource.clone(), mapping.clone());
    if let Err(e) = blocking(move || a.state.set_mapping(&r, &m).map_err(|e| e.0)).await {
        return server_error(&admin, &e);
    }
    let extra = extras_from(&admin, &form);
    proceed(&admin, &current, token, meta, Some(mapping), extra).await
}

// ---------------------------------------------------------------------------------------
// Preview

fn context_for(
    current: &Current,
    meta: &UploadMeta,
    extra: &BTreeMap<String, String>,
    dry_run: bool,
) -> Context {
    let mut extra = extra.clone();
    extra.insert("user".into(), current.user.name.clone());
    extra.insert("file_name".into(), meta.file_name.clone());
    Context {
        dry_run,
        file_name: meta.file_name.clone(),
        extra,
    }
}

fn totals_array(t: &rowport::Totals) -> [u64; 6] {
    [t.new, t.update, t.skip, t.delete, t.invalid, t.error]
}

/// Runs the dry run into the preview store, then sends the browser to its first page.
async fn run_preview(
    admin: &Arc<Admin>,
    current: &Current,
    token: String,
    meta: UploadMeta,
    mapping: Option<BTreeMap<String, String>>,
    extra: BTreeMap<String, String>,
) -> Response {
    let a = admin.clone();
    let (t, m) = (token.clone(), meta.clone());
    let ctx = context_for(current, &meta, &extra, true);
    let done = blocking(move || {
        let mut loaded = load(&a, &m.resource)?;
        let file = open_file_reader(&a, &t, &m, Arc::default())?;
        // Failed rows are shown as the file has them, under the file's own headers (not
        // the mapped ones); only when the settings ask, so the stored preview stays small.
        let file_headers = a.settings.error_row.then(|| file.headers().to_vec());
        let mut reader = renamed(file, mapping.as_ref());
        let columns: Vec<String> = {
            let headers = reader.headers();
            import_columns(&loaded.resource)
                .into_iter()
                .filter(|c| headers.contains(c))
                .collect()
        };
        let mut sink = a.state.preview_sink(&t, file_headers).map_err(|e| e.0)?;
        let options = ImportOptions {
            dry_run: true,
            context: ctx,
            ..ImportOptions::default()
        };
        let outcome = rowport::import_into(
            &loaded.resource,
            loaded.store.as_mut(),
            reader.as_mut(),
            &options,
            sink.as_mut(),
        );
        let summary = match outcome {
            Ok(result) => PreviewSummary {
                totals: totals_array(&result.totals),
                columns,
                fatal: None,
                summary: result.summary(),
                mapping,
                extra,
            },
            Err(e) => PreviewSummary {
                columns,
                fatal: Some(e.to_string()),
                mapping,
                extra,
                ..PreviewSummary::default()
            },
        };
        sink.finish(&summary).map_err(|e| e.0)
    })
    .await;
    if let Err(e) = done {
        return server_error(admin, &e);
    }
    Redirect::to(&admin.url(&format!("/r/{}/import/{token}/preview", meta.resource)))
        .into_response()
}

#[derive(Serialize)]
struct CellView {
    old: String,
    new: String,
    changed: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct RowView {
    row: u64,
    outcome: &'static str,
    key: String,
    cells: Vec<CellView>,
    errors: Vec<String>,
    /// A failed row's values as the file had it, `(header, value)` in file order, when
    /// `import_error_display` lists `"row"`.
    file_values: Vec<(String, String)>,
}

fn outcome_name(o: RowOutcome) -> &'static str {
    match o {
        RowOutcome::New => "new",
        RowOutcome::Update => "update",
        RowOutcome::Skip => "skip",
        RowOutcome::Delete => "delete",
        RowOutcome::Invalid => "invalid",
        RowOutcome::Error => "error",
    }
}

fn outcome_of(name: &str) -> Option<RowOutcome> {
    Some(match name {
        "new" => RowOutcome::New,
        "update" => RowOutcome::Update,
        "skip" => RowOutcome::Skip,
        "delete" => RowOutcome::Delete,
        "invalid" => RowOutcome::Invalid,
        "error" => RowOutcome::Error,
        _ => return None,
    })
}

fn row_view(
    columns: &[String],
    row: &RowResult,
    errors: &[RowError],
    show_file_values: bool,
) -> RowView {
    let cells = columns
        .iter()
        .map(|c| {
            let change = row.changes.iter().find(|ch| &ch.column == c);
            let error = errors
                .iter()
                .find(|e| e.column.as_deref() == Some(c.as_str()))
                .map(|e| match &e.value {
                    Some(v) => format!("\"{}\" {}", rowport::result::cut(v, 60), e.message),
                    None => e.message.clone(),
                });
            match change {
                Some(ch) => CellView {
                    old: ch.old.clone(),
                    new: ch.new.clone(),
                    changed: true,
                    error,
                },
                None => CellView {
                    old: String::new(),
                    new: String::new(),
                    changed: false,
                    error,
                },
            }
        })
        .collect();
    RowView {
        row: row.row,
        outcome: outcome_name(row.outcome),
        key: row.key.clone().unwrap_or_default(),
        cells,
        errors: errors
            .iter()
            .filter(|e| e.column.as_ref().is_none_or(|c| !columns.contains(c)))
            .map(|e| match &e.column {
                Some(c) => format!("column \"{c}\": {}", e.message),
                None => e.message.clone(),
            })
            .collect(),
        file_values: match (&row.row_values, show_file_values) {
            (Some(values), true) => values.clone(),
            _ => Vec::new(),
        },
    }
}

pub(crate) async fn preview(
    State(admin): App,
    current: Current,
    Path((name, token)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let meta = match pending_upload(&admin, &current, &name, &token).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(summary) = meta.preview.clone() else {
        return Redirect::to(&admin.url(&format!("/r/{name}/import/{token}/map"))).into_response();
    };
    let q = pairs(raw.as_deref().unwrap_or(""));
    let show = first(&q, "show").and_then(outcome_of);
    let size = admin.settings.preview_page_size;
    let page: u64 = first(&q, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let a = admin.clone();
    let t = token.clone();
    let fetched = blocking(move || {
        a.state
            .preview_rows(&t, show, (page - 1) * size as u64, size)
            .map_err(|e| e.0)
    })
    .await;
    let (rows, matching) = match fetched {
        Ok(r) => r,
        Err(e) => return server_error(&admin, &e),
    };
    let pages = matching.div_ceil(size as u64).max(1);
    let rows: Vec<RowView> = rows
        .iter()
        .map(|(r, e)| row_view(&summary.columns, r, e, admin.settings.error_row))
        .collect();
    let [new, update, skip, delete, invalid, error] = summary.totals;
    let show_name = show.map(outcome_name).unwrap_or("");
    admin.render(
        "preview.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => format!("Preview: {}", meta.file_name), resource => name, token => token,
            file_name => meta.file_name, summary => summary.summary, fatal => summary.fatal,
            totals => context! { new, update, skip, delete, invalid, error },
            failed => invalid + error > 0, columns => summary.columns, rows => rows,
            page => page, pages => pages, matching => matching, show => show_name,
            show_query => if show_name.is_empty() { String::new() } else { format!("show={show_name}&") },
        },
    )
}

// ---------------------------------------------------------------------------------------
// Confirm, jobs and results

/// What a finished import shows (kept as a job's result).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobResult {
    /// The one-line summary.
    pub summary: String,
    /// Totals as `[new, update, skip, delete, invalid, error]`.
    pub totals: [u64; 6],
    /// Whether anything was written.
    pub committed: bool,
    /// Row errors, described (the first 1,000).
    pub errors: Vec<String>,
    /// Row errors beyond those listed.
    pub more_errors: u64,
    /// The file's values of the failed rows (the first 1,000), kept when
    /// `import_error_display` lists `"row"`.
    #[serde(default)]
    pub failed_rows: Vec<FailedRow>,
    /// An error that stopped the import.
    pub fatal: Option<String>,
    /// The resource.
    pub resource: String,
    /// The file.
    pub file_name: String,
}

/// A failed row's values as read from the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailedRow {
    /// The row's number in the file.
    pub row: u64,
    /// Its cells as text, `(header, value)` in file order.
    pub values: Vec<(String, String)>,
}

/// Counts rows as the engine decides them and reports progress now and then: rows done,
/// and bytes of the upload read so far. With `file_headers` (when `import_error_display`
/// lists `"row"`), keeps the first 1,000 failed rows as the file has them, under the
/// file's own headers, as the preview does.
struct Progress<'a> {
    rows: u64,
    file_headers: Option<Vec<String>>,
    failed_rows: Vec<FailedRow>,
    bytes: Arc<std::sync::atomic::AtomicU64>,
    report: &'a mut dyn FnMut(u64, u64),
}

impl RowSink for Progress<'_> {
    fn wants_failed_rows(&self) -> bool {
        self.file_headers.is_some()
    }

    fn failed_row(&mut self, number: u64, cells: &[Cell], _errors: &[RowError]) {
        let Some(headers) = &self.file_headers else {
            return;
        };
        if self.failed_rows.len() < 1000 {
            self.failed_rows.push(FailedRow {
                row: number,
                values: headers
                    .iter()
                    .zip(
                        cells
                            .iter()
                            .map(|c| c.to_string())
                            .chain(std::iter::repeat(String::new())),
                    )
                    .map(|(h, v)| (h.clone(), v))
                    .collect(),
            });
        }
    }

    fn row(&mut self, _row: &RowResult, _errors: &[RowError]) {
        self.rows += 1;
        if self.rows % 500 == 0 {
            let bytes = self.bytes.load(std::sync::atomic::Ordering::Relaxed);
            (self.report)(self.rows, bytes);
        }
    }
}

/// Counts the bytes a reader hands out.
struct Counting<R> {
    inner: R,
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

fn import_now(
    admin: &Admin,
    token: &str,
    meta: &UploadMeta,
    plan: &PreviewSummary,
    ctx: Context,
    skip_invalid: bool,
    report: &mut dyn FnMut(u64, u64),
) -> JobResult {
    let bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut progress = Progress {
        rows: 0,
        file_headers: None,
        failed_rows: Vec::new(),
        bytes: bytes.clone(),
        report,
    };
    let run = |progress: &mut Progress| -> Result<rowport::ImportResult, String> {
        let mut loaded = load(admin, &meta.resource)?;
        let file = open_file_reader(admin, token, meta, bytes.clone())?;
        progress.file_headers = admin.settings.error_row.then(|| file.headers().to_vec());
        let mut reader = renamed(file, plan.mapping.as_ref());
        let options = ImportOptions {
            skip_invalid,
            max_errors: 1000,
            context: ctx,
            ..ImportOptions::default()
        };
        rowport::import_into(
            &loaded.resource,
            loaded.store.as_mut(),
            reader.as_mut(),
            &options,
            progress,
        )
        .map_err(|e| e.to_string())
    };
    let outcome = run(&mut progress);
    match outcome {
        Ok(result) => JobResult {
            summary: if result.committed {
                result.summary()
            } else {
                format!("{} · nothing was committed", result.summary())
            },
            totals: totals_array(&result.totals),
            committed: result.committed,
            more_errors: result
                .totals
                .failed()
                .saturating_sub(result.errors.len() as u64),
            errors: result
                .errors
                .iter()
                .map(|e| e.describe(&meta.file_name))
                .collect(),
            failed_rows: std::mem::take(&mut progress.failed_rows),
            fatal: None,
            resource: meta.resource.clone(),
            file_name: meta.file_name.clone(),
        },
        Err(e) => JobResult {
            summary: "The import stopped; nothing was committed.".into(),
            totals: [0; 6],
            committed: false,
            errors: Vec::new(),
            more_errors: 0,
            failed_rows: Vec::new(),
            fatal: Some(e),
            resource: meta.resource.clone(),
            file_name: meta.file_name.clone(),
        },
    }
}

fn result_page(admin: &Admin, current: &Current, result: &JobResult) -> Response {
    let [new, update, skip, delete, invalid, error] = result.totals;
    let perms = current.user.perms(&result.resource);
    admin.render(
        "result.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => "Import result", result => result, resource => result.resource,
            totals => context! { new, update, skip, delete, invalid, error }, perms => perms,
            show_messages => admin.settings.error_message,
        },
    )
}

/// The real import: in the background when the preview counted at least `background_rows`
/// rows (the browser is sent to the job's page), else now, showing the result.
async fn run_confirm(
    admin: &Arc<Admin>,
    current: &Current,
    token: String,
    meta: UploadMeta,
    plan: PreviewSummary,
    skip_invalid: bool,
) -> Response {
    let rows: u64 = plan.totals.iter().sum();
    let ctx = context_for(current, &meta, &plan.extra, false);
    if meta.preview.is_some() && rows >= admin.settings.background_rows {
        let job = JobInfo {
            user: current.user.name.clone(),
            resource: meta.resource.clone(),
            file_name: meta.file_name.clone(),
            upload_token: Some(token.clone()),
            bytes_total: meta.size,
            ..JobInfo::default()
        };
        let a = admin.clone();
        let id = match blocking(move || a.state.create_job(&job).map_err(|e| e.0)).await {
            Ok(id) => id,
            Err(e) => return server_error(admin, &e),
        };
        let a = admin.clone();
        let job_id = id.clone();
        // The job outlives the request; its state is in the state store, so a reload, or
        // another instance, shows its progress and then its result.
        tokio::task::spawn_blocking(move || {
            let state = a.state.clone();
            let jid = job_id.clone();
            let mut report = |rows: u64, bytes: u64| {
                let _ = state.job_progress(&jid, rows, bytes);
            };
            let result = import_now(&a, &token, &meta, &plan, ctx, skip_invalid, &mut report);
            let json = serde_json::to_string(&result).unwrap_or_default();
            let done: u64 = result.totals.iter().sum();
            let _ = a.state.finish_job(&job_id, done, &json);
            if result.committed {
                let _ = a.state.remove_upload(&token);
            }
        });
        return Redirect::to(&admin.url(&format!("/jobs/{id}"))).into_response();
    }
    let a = admin.clone();
    let t = token.clone();
    let result = blocking(move || {
        let result = import_now(&a, &t, &meta, &plan, ctx, skip_invalid, &mut |_, _| {});
        if result.committed {
            a.state.remove_upload(&t).map_err(|e| e.0)?;
        }
        Ok(result)
    })
    .await;
    match result {
        Ok(r) => result_page(admin, current, &r),
        Err(e) => server_error(admin, &e),
    }
}

pub(crate) async fn confirm(
    State(admin): App,
    current: Current,
    headers: HeaderMap,
    Path((name, token)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Response {
    let (form, meta) =
        match posted_to_upload(&admin, &current, &headers, &name, &token, &body).await {
            Ok(posted) => posted,
            Err(r) => return r,
        };
    let Some(plan) = meta.preview.clone() else {
        return upload_gone(&admin, &current, &name);
    };
    if plan.fatal.is_some() {
        return error_page(
            &admin,
            &current,
            StatusCode::BAD_REQUEST,
            "Cannot import",
            "The preview of this file failed; upload a corrected file.",
        );
    }
    let skip_invalid = first(&form, "skip_invalid") == Some("on");
    run_confirm(&admin, &current, token, meta, plan, skip_invalid).await
}

async fn job_of(admin: &Arc<Admin>, current: &Current, id: &str) -> Result<JobInfo, Response> {
    let a = admin.clone();
    let i = id.to_owned();
    match blocking(move || a.state.job(&i).map_err(|e| e.0)).await {
        Err(e) => Err(server_error(admin, &e)),
        Ok(Some(job)) if job.user == current.user.name || current.user.superuser => Ok(job),
        Ok(_) => Err(not_found_for(admin, Some(current))),
    }
}

pub(crate) async fn job_page(
    State(admin): App,
    current: Current,
    Path(id): Path<String>,
) -> Response {
    let job = match job_of(&admin, &current, &id).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    if let Some(result) = job
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str::<JobResult>(r).ok())
    {
        return result_page(&admin, &current, &result);
    }
    if let Some(error) = &job.error {
        let result = JobResult {
            summary: "The import stopped; nothing was committed.".into(),
            totals: [0; 6],
            committed: false,
            errors: Vec::new(),
            more_errors: 0,
            failed_rows: Vec::new(),
            fatal: Some(error.clone()),
            resource: job.resource.clone(),
            file_name: job.file_name.clone(),
        };
        return result_page(&admin, &current, &result);
    }
    let percent = (job.bytes_done * 100)
        .checked_div(job.bytes_total)
        .unwrap_or(0)
        .min(100);
    admin.render(
        "job.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => format!("Importing {}", job.file_name), job => job, percent => percent,
        },
    )
}

pub(crate) async fn job_status(
    State(admin): App,
    current: Current,
    Path(id): Path<String>,
) -> Response {
    match job_of(&admin, &current, &id).await {
        Ok(job) => axum::Json(serde_json::json!({
            "rows": job.rows_done, "done": job.bytes_done, "total": job.bytes_total,
            "finished": job.finished,
        }))
        .into_response(),
        Err(r) => r,
    }
}

// ---------------------------------------------------------------------------------------
// Export

#[derive(Serialize)]
struct FieldChoice {
    name: String,
    label: String,
    checked: bool,
}

fn title_case(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A resource and its export fields (name, label).
type ExportChoice = (String, Vec<(String, String)>);

/// Export resources over the same table that the user may export.
fn export_siblings(
    admin: &Admin,
    user: &UserInfo,
    name: &str,
) -> Result<Vec<ExportChoice>, String> {
    let mut store = rowport_sql::connect(&admin.database_url, false).map_err(|e| e.message)?;
    let this = admin
        .config
        .resource(name, store.as_mut())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for other in known_resources(admin)? {
        if !user.perms(&other).export {
            continue;
        }
        let Ok(r) = admin.config.resource(&other, store.as_mut()) else {
            continue;
        };
        if r.table == this.table {
            let fields = r
                .export_fields()
                .map(|f| {
                    (
                        f.name.clone(),
                        format!("{} ({})", title_case(&f.column_name), f.column_name),
                    )
                })
                .collect();
            out.push((other, fields));
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn export_page(
    admin: &Admin,
    current: &Current,
    name: &str,
    siblings: &[(String, Vec<(String, String)>)],
    query: &Query,
    chosen: Option<&[String]>,
    error: &str,
    status: StatusCode,
) -> Response {
    let formats: Vec<&str> = admin
        .settings
        .export_formats
        .iter()
        .map(|f| f.name())
        .collect();
    let resources: Vec<(String, Vec<FieldChoice>)> = siblings
        .iter()
        .map(|(r, fields)| {
            (
                r.clone(),
                fields
                    .iter()
                    .map(|(n, l)| FieldChoice {
                        name: n.clone(),
                        label: l.clone(),
                        checked: chosen.is_none_or(|c| c.contains(n)),
                    })
                    .collect(),
            )
        })
        .collect();
    admin.render_status(
        status,
        "export.html",
        context! {
            base => admin.settings.mount, user => current.user.name, csrf => current.csrf,
            title => format!("Export {name}"), resource => name, resources => resources,
            formats => formats, search => query.search,
            filters => query.filters.iter().map(|(c, v)| format!("{c}:{v}")).collect::<Vec<_>>(),
            order => query.order.as_ref().map(|(c, d)| format!("{}{c}", if *d { "-" } else { "" })),
            selected => query.selected, error => error,
            escape => admin.settings.escape_formulae,
        },
    )
}

pub(crate) async fn export_form(
    State(admin): App,
    current: Current,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = resolve(&admin, &current, &name, |p| p.export, "export").await {
        return r;
    }
    let q = pairs(raw.as_deref().unwrap_or(""));
    let query = list_query(&q);
    let a = admin.clone();
    let (u, n) = (current.user.clone(), name.clone());
    match blocking(move || export_siblings(&a, &u, &n)).await {
        Ok(s) => export_page(
            &admin,
            &current,
            &name,
            &s,
            &query,
            None,
            "",
            StatusCode::OK,
        ),
        Err(e) => server_error(&admin, &e),
    }
}

pub(crate) async fn export(
    State(admin): App,
    current: Current,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    if let Err(r) = resolve(&admin, &current, &name, |p| p.export, "export").await {
        return r;
    }
    let form = pairs(&String::from_utf8_lossy(&body));
    if let Some(refused) = check_post(&admin, &current, &headers, first(&form, "csrf_token")) {
        return refused;
    }
    let mut query = list_query(&form);
    let selected: Vec<String> = all(&form, "selected")
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !selected.is_empty() {
        query.selected = Some(selected);
    }
    let a = admin.clone();
    let (u, n) = (current.user.clone(), name.clone());
    let siblings = match blocking(move || export_siblings(&a, &u, &n)).await {
        Ok(s) => s,
        Err(e) => return server_error(&admin, &e),
    };
    // "Export selected" from the change list lands on the form first.
    if first(&form, "step") == Some("choose") {
        if query.selected.is_none() {
            return export_page(
                &admin,
                &current,
                &name,
                &siblings,
                &query,
                None,
                "Select at least one row to export.",
                StatusCode::BAD_REQUEST,
            );
        }
        return export_page(
            &admin,
            &current,
            &name,
            &siblings,
            &query,
            None,
            "",
            StatusCode::OK,
        );
    }
    let resource = first(&form, "resource")
        .filter(|r| !r.is_empty())
        .unwrap_or(&name)
        .to_owned();
    let Some((_, resource_fields)) = siblings.iter().find(|(r, _)| *r == resource) else {
        return export_page(
            &admin,
            &current,
            &name,
            &siblings,
            &query,
            None,
            &format!("\"{resource}\" is not a resource you may export here."),
            StatusCode::BAD_REQUEST,
        );
    };
    let fields: Vec<String> = all(&form, "fields")
        .into_iter()
        .filter(|f| resource_fields.iter().any(|(n, _)| n == f))
        .map(str::to_owned)
        .collect();
    if fields.is_empty() {
        return export_page(
            &admin,
            &current,
            &name,
            &siblings,
            &query,
            Some(&[]),
            &format!("Select at least one field of \"{resource}\" to export."),
            StatusCode::BAD_REQUEST,
        );
    }
    let accepted = admin
        .settings
        .export_formats
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ");
    let format = match first(&form, "format").and_then(|f| f.parse::<Format>().ok()) {
        Some(f) if admin.settings.export_formats.contains(&f) => f,
        _ => {
            return export_page(
                &admin,
                &current,
                &name,
                &siblings,
                &query,
                Some(&fields),
                &format!("Choose a format (accepted: {accepted})."),
                StatusCode::BAD_REQUEST,
            )
        }
    };
    let escape = admin.settings.escape_formulae
        && matches!(
            format,
            Format::Csv | Format::Tsv | Format::Xlsx | Format::Ods
        );
    let download_name = resource.clone();
    let filtered =
        !query.search.trim().is_empty() || !query.filters.is_empty() || query.selected.is_some();
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
    let a = admin.clone();
    let ctx = Context {
        dry_run: false,
        file_name: String::new(),
        extra: [("user".to_owned(), current.user.name.clone())]
            .into_iter()
            .collect(),
    };
    tokio::task::spawn_blocking(move || {
        let prepared = (|| -> Result<_, String> {
            let loaded = load(&a, &resource)?;
            let keys = if filtered {
                let mut browser = Browser::open(&a.database_url).map_err(|e| e.message)?;
                Some(
                    browser
                        .keys(&loaded.schema, &query)
                        .map_err(|e| e.message)?,
                )
            } else {
                None
            };
            let pk = loaded
                .schema
                .primary_key()
                .map(|c| (c.name.clone(), c.kind))
                .ok_or_else(|| format!("table {} has no primary key", loaded.schema.name))?;
            Ok((loaded, keys, pk))
        })();
        let (mut loaded, keys, pk) = match prepared {
            Ok(x) => {
                let _ = ready_tx.send(Ok(()));
                x
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let out = ChannelWriter::new(tx);
        let writer = match open_writer(format, Box::new(out), &WriteOptions::default()) {
            Ok(w) => w,
            Err(_) => return,
        };
        let writer: Box<dyn rowport_formats::RowWriter> = if escape {
            Box::new(EscapeFormulae::new(writer))
        } else {
            writer
        };
        let options = ExportOptions {
            fields: Some(fields),
            context: ctx,
            ..ExportOptions::default()
        };
        // Once bytes are flowing the status is sent; a failure now can only cut the
        // download short, which the browser reports as a failed download.
        let _ = match keys {
            Some(keys) => {
                let mut filter = KeyFilter {
                    inner: loaded.store.as_mut(),
                    pk,
                    keys,
                };
                rowport::export(&loaded.resource, &mut filter, writer, &options)
            }
            None => rowport::export(&loaded.resource, loaded.store.as_mut(), writer, &options),
        };
    });
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return server_error(&admin, &e),
        Err(_) => return server_error(&admin, "the export stopped"),
    }
    let file_name = format!(
        "{download_name}-{}.{}",
        chrono::Local::now().format("%Y-%m-%d"),
        format.extension()
    );
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
