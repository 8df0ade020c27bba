//! `rowport serve`: the web admin on one address, with its state store beside the config.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use rowport_admin::state::StateStore;
use rowport_admin::web::adapter::{state_config, StateAdapter};
use rowport_admin::{router, Admin};

use crate::cli::{DemoArgs, GlobalArgs, ServeArgs};
use crate::failure::{ExitCode, Failure};

/// The demo's folder, as `rowport demo` writes it by default.
const DEMO_DIR: &str = "rowport-demo";

pub fn run(global: &GlobalArgs, args: ServeArgs) -> Result<ExitCode> {
    let mut global = GlobalArgs {
        db: global.db.clone(),
        config: global.config.clone(),
    };
    if args.demo {
        let dir = Path::new(DEMO_DIR);
        if !dir.join("demo.db").exists() {
            super::demo::run(DemoArgs {
                path: dir.to_path_buf(),
                force: false,
            })?;
        }
        global.config = Some(dir.join("rowport.toml"));
    }
    let config = super::load_config(&global)?;
    let url = super::database_url(&global, &config);
    let state_settings = state_config(&config).map_err(|e| Failure::usage(e.0))?;
    let store = StateStore::open(&state_settings)
        .map_err(|e| Failure::new(ExitCode::Io, format!("cannot open the admin's state: {e}")))?;
    if args.demo {
        let password = super::user::made_up_password();
        let existed = store
            .user("admin")
            .map_err(|e| Failure::new(ExitCode::Io, e.to_string()))?
            .is_some();
        let done = if existed {
            store.set_password("admin", &password)
        } else {
            store.add_user("admin", &password, true).map(|_| ())
        };
        done.map_err(|e| Failure::new(ExitCode::Io, e.to_string()))?;
        eprintln!("demo admin: user \"admin\", password {password} (shown once)");
    }
    let adapter = Arc::new(StateAdapter::new(store));
    let admin =
        Admin::new(config, &url, adapter.clone()).map_err(|e| Failure::usage(e.to_string()))?;
    let app = router(admin);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(ExitCode::Io, format!("cannot start the server: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| {
                Failure::new(ExitCode::Io, format!("cannot listen on {}: {e}", args.addr))
                    .hint("pass another address with --addr 127.0.0.1:8001")
            })?;
        let shown = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or(args.addr.clone());
        eprintln!("rowport admin on http://{shown}/ (Ctrl-C stops it)");
        // Expired uploads, previews, sessions and login failures are swept every ten minutes.
        let sweeper = adapter.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                every.tick().await;
                let s = sweeper.clone();
                let _ = tokio::task::spawn_blocking(move || s.store().sweep()).await;
            }
        });
        // The peer address feeds the login rate limit's per-address count.
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| Failure::new(ExitCode::Io, format!("the server failed: {e}")))?;
        Ok::<_, Failure>(())
    })?;
    Ok(ExitCode::Success)
}
