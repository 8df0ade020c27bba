//! The web layer: the router, templates, sessions and the views.

pub mod adapter;
pub mod browse;
pub mod exporting;
pub mod mapping;
pub mod port;
pub mod security;
mod views;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;
use rowport::config::Config;
use serde::Serialize;

use crate::settings::AdminSettings;
use port::{AdminState, PortError, UserInfo};

pub use views::{FailedRow, JobResult};

/// Why the admin could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The `[admin]` table is wrong.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// A template (embedded or overriding) does not parse.
    #[error("template {name}: {message}")]
    Template {
        /// The template's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The state store failed.
    #[error("{0}")]
    State(#[from] PortError),
}

/// The embedded templates, by name. A deployment overrides any of them with a file of the
/// same name in the folder `[admin] templates` names.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../assets/templates/base.html"),
    ),
    (
        "login.html",
        include_str!("../../assets/templates/login.html"),
    ),
    (
        "index.html",
        include_str!("../../assets/templates/index.html"),
    ),
    (
        "change_list.html",
        include_str!("../../assets/templates/change_list.html"),
    ),
    (
        "import.html",
        include_str!("../../assets/templates/import.html"),
    ),
    ("map.html", include_str!("../../assets/templates/map.html")),
    (
        "preview.html",
        include_str!("../../assets/templates/preview.html"),
    ),
    (
        "result.html",
        include_str!("../../assets/templates/result.html"),
    ),
    ("job.html", include_str!("../../assets/templates/job.html")),
    (
        "export.html",
        include_str!("../../assets/templates/export.html"),
    ),
    (
        "error.html",
        include_str!("../../assets/templates/error.html"),
    ),
];

const CSS: &str = include_str!("../../assets/admin.css");
const JS: &str = include_str!("../../assets/admin.js");

/// Everything the views share.
pub struct Admin {
    pub(crate) config: Config,
    pub(crate) settings: AdminSettings,
    pub(crate) database_url: String,
    pub(crate) state: Arc<dyn AdminState>,
    pub(crate) hooks: std::collections::HashMap<String, Arc<dyn rowport::Hooks>>,
    templates: Environment<'static>,
}

impl Admin {
    /// The admin of `config`'s resources in the database `database_url` names, with its
    /// state in `state`. Templates are loaded (and checked) now.
    pub fn new(
        config: Config,
        database_url: &str,
        state: Arc<dyn AdminState>,
    ) -> Result<Admin, AdminError> {
        let settings = AdminSettings::from_config(&config)?;
        let templates = environment(settings.templates.clone())?;
        Ok(Admin {
            config,
            settings,
            database_url: database_url.to_owned(),
            state,
            hooks: std::collections::HashMap::new(),
            templates,
        })
    }

    /// Gives resource `name` the application's hooks: they run on every preview, import and
    /// export the admin makes, and see the user, the file name and the import form's
    /// custom fields in [`rowport::Context::extra`].
    pub fn with_hooks(mut self, name: &str, hooks: Arc<dyn rowport::Hooks>) -> Admin {
        self.hooks.insert(name.to_owned(), hooks);
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &AdminSettings {
        &self.settings
    }

    pub(crate) fn render(&self, name: &str, context: impl Serialize) -> Response {
        self.render_status(StatusCode::OK, name, context)
    }

    pub(crate) fn render_status(
        &self,
        status: StatusCode,
        name: &str,
        context: impl Serialize,
    ) -> Response {
        let rendered = self
            .templates
            .get_template(name)
            .and_then(|t| t.render(context));
        match rendered {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("template {name} failed: {e}"),
            )
                .into_response(),
        }
    }

    /// A link inside the admin.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.mount)
    }
}

fn environment(folder: Option<PathBuf>) -> Result<Environment<'static>, AdminError> {
    let mut env = Environment::new();
    env.set_loader(move |name| {
        if let Some(folder) = &folder {
            // Template names are fixed by the views; none has a path separator.
            if !name.contains(['/', '\\']) {
                let path = folder.join(name);
                match std::fs::read_to_string(&path) {
                    Ok(text) => return Ok(Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read {}: {e}", path.display()),
                        ))
                    }
                }
            }
        }
        Ok(TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| (*t).to_owned()))
    });
    env.add_filter("group", |n: u64| rowport::result::group(n));
    for (name, _) in TEMPLATES {
        env.get_template(name).map_err(|e| AdminError::Template {
            name: (*name).to_owned(),
            message: e.to_string(),
        })?;
    }
    Ok(env)
}

/// The admin's routes, to serve or to nest in an application's router (set `[admin] mount`
/// to the path it is nested at, so that links carry it).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use rowport::config::Config;
/// use rowport_admin::{router, Admin};
///
/// let config = Config::load(std::path::Path::new("rowport.toml"))?;
/// let state = rowport_admin::web::adapter::open_state(&config)?;
/// let admin = Admin::new(config, "sqlite://books.db", state)?;
/// let app = axum::Router::new().nest("/admin", router(admin));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
pub fn router(admin: Admin) -> Router {
    let admin = Arc::new(admin);
    Router::new()
        .route("/", get(views::index))
        .route("/login", get(views::login_form).post(views::login))
        .route("/logout", post(views::logout))
        .route(
            "/static/admin.css",
            get(|| async { asset("text/css", CSS) }),
        )
        .route(
            "/static/admin.js",
            get(|| async { asset("text/javascript", JS) }),
        )
        // Browsers ask for an icon on every page; an empty answer keeps that out of their
        // error consoles without an image to embed.
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/r/{resource}", get(views::change_list))
        .route(
            "/r/{resource}/import",
            get(views::import_form)
                .post(views::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/r/{resource}/import/{token}/map",
            get(views::map_form).post(views::map_submit),
        )
        .route("/r/{resource}/import/{token}/preview", get(views::preview))
        .route("/r/{resource}/import/{token}/confirm", post(views::confirm))
        .route(
            "/r/{resource}/export",
            get(views::export_form).post(views::export),
        )
        .route("/jobs/{id}", get(views::job_page))
        .route("/jobs/{id}/status", get(views::job_status))
        .fallback(views::not_found)
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(admin)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The signed-in user of a request; views that take it require a session, and send
/// everyone else to the login page.
pub(crate) struct Current {
    pub user: UserInfo,
    pub session: String,
    pub csrf: String,
}

impl FromRequestParts<Arc<Admin>> for Current {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        admin: &Arc<Admin>,
    ) -> Result<Self, Self::Rejection> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            let next = format!("{}{next}", admin.settings.mount);
            Redirect::to(&format!(
                "{}?next={}",
                admin.url("/login"),
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ))
            .into_response()
        };
        let Some(id) = security::cookie(&parts.headers, security::SESSION_COOKIE) else {
            return Err(to_login());
        };
        let id = id.to_owned();
        let state = admin.state.clone();
        let looked_up = tokio::task::spawn_blocking(move || {
            let session = state.session(&id)?;
            let Some(session) = session else {
                return Ok(None);
            };
            let user = state.user(&session.user)?;
            Ok::<_, PortError>(user.map(|u| (u, session, id)))
        })
        .await
        .map_err(|e| views::server_error(admin, &e.to_string()))?
        .map_err(|e| views::server_error(admin, &e.0))?;
        match looked_up {
            Some((user, session, id)) => Ok(Current {
                user,
                session: id,
                csrf: session.csrf,
            }),
            None => Err(to_login()),
        }
    }
}
