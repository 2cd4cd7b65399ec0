//! `dailies serve` and `dailies worker`.

use std::time::Duration;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::db::users;
use crate::ingest::{drop_folder, recover};
use crate::jobs::worker;

/// How long open HTTP connections (a long download, say) may delay the exit after a signal.
const GRACE: Duration = Duration::from_secs(5);

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// On the very first start there is nobody to administer the server: make the default user an
/// administrator (creating it if needed) and print a one-time login link (24 hours, used once),
/// which signs the browser in and asks for a password. Nothing reusable is printed, so a log
/// that keeps stdout does not hold a credential for long.
async fn ensure_first_admin(app: &App) -> Result<()> {
    if users::admin_count(&app.db).await? > 0 {
        return Ok(());
    }
    let name = app.config.default_user.clone();
    let admin = match users::by_name(&app.db, &name).await? {
        Some(existing) => users::make_admin(&app.db, existing).await?,
        None => users::create(&app.db, &name, true).await?,
    };
    let code = crate::db::sessions::create_login_link(
        &app.db,
        &admin,
        crate::api::accounts::LOGIN_LINK_LIFETIME_MS,
    )
    .await?;
    println!("Created the administrator '{name}'. Sign in within 24 hours at (works once):");
    println!("{}/login/once/{code}", app.config.public_base());
    println!("then choose a password. A new link: dailies user login-link {name}");
    Ok(())
}

/// Connections waiting to be accepted. Well above tokio's default (1024): after a restart every
/// live page and script reconnects at once, and an overflowing queue drops connections.
const ACCEPT_BACKLOG: u32 = 8192;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

pub async fn serve(app: App) -> Result<()> {
    ensure_first_admin(&app).await?;
    let shutdown = CancellationToken::new();
    let listener = listen(app.config.listen)
        .with_context(|| format!("cannot listen on {}", app.config.listen))?;
    tracing::info!("dailies is listening on http://{}", listener.local_addr()?);
    println!("dailies is listening on http://{}", listener.local_addr()?);

    // The event tail starts from the log's end before any worker can publish.
    app.events
        .prime(&app.db)
        .await
        .context("cannot read the event log")?;
    let tracked = crate::torrents::tracker::load(&app.tracker, &app.db)
        .await
        .context("cannot read the torrents")?;
    tracing::info!(torrents = tracked, public_url = %app.config.public_base(), "tracker ready");
    if app.config.public_url.is_empty() && app.config.listen.ip().is_unspecified() {
        tracing::warn!(
            "torrents and magnet links will point at {}; set --public-url to the address other machines reach",
            app.config.public_base()
        );
    }
    if let Some(master) = start_swarm_master(&app).await? {
        // Set once, before the API answers: `/api/swarm` reads it.
        let _ = app.swarm.set(master);
    }
    let mut background = tokio::task::JoinSet::new();
    background.spawn(crate::torrents::tracker::follow(
        app.clone(),
        shutdown.clone(),
    ));
    background.spawn(crate::node::run(
        app.clone(),
        crate::node::Roles {
            api: Some(listener.local_addr()?.to_string()),
            worker: app.config.workers,
        },
        shutdown.clone(),
    ));
    if app.config.workers {
        background.spawn(worker::run(app.clone(), shutdown.clone()));
    }
    if app.config.watch_incoming {
        background.spawn(drop_folder::run(app.clone(), shutdown.clone()));
    }
    background.spawn(maintenance_loop(app.clone(), shutdown.clone()));
    background.spawn(
        app.events
            .clone()
            .run_tail(app.db.clone(), shutdown.clone()),
    );
    if app.db.kind == crate::db::DbKind::Postgres {
        background.spawn(
            app.events
                .clone()
                .listen_postgres(app.config.database_url(), shutdown.clone()),
        );
        // A client resuming its upload on another node asks this one to let go of it.
        let (locks, node) = (app.upload_locks.clone(), app.node_id.clone());
        background.spawn(crate::db::notify::listen(
            app.config.database_url(),
            crate::ingest::tus::RELEASE_CHANNEL,
            shutdown.clone(),
            move |payload| locks.release_requested(&node, payload),
        ));
    }

    let router = crate::api::router(app.clone());
    let http_stop = shutdown.clone();
    let mut http = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move { http_stop.cancelled().await })
        .await
    });

    tokio::select! {
        _ = shutdown_signal() => tracing::info!("shutting down"),
        res = &mut http => {
            shutdown.cancel();
            res.context("HTTP server task")?.context("HTTP server")?;
        }
    }
    shutdown.cancel();
    // Workers stop their children and hand jobs back; HTTP gets a short grace period.
    while background.join_next().await.is_some() {}
    if tokio::time::timeout(GRACE, &mut http).await.is_err() {
        http.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// The library as a swarm master (`swarm_listen`): review stations mirror `media/` with
/// `dailies swarm peer`. Its hash cache lives beside `media/`, never inside it.
async fn start_swarm_master(app: &App) -> Result<Option<dailies_swarm::node::MasterHandle>> {
    let Some(listen) = app.config.swarm_address()? else {
        return Ok(None);
    };
    if app.storage.is_remote() {
        anyhow::bail!(
            "swarm_listen serves the library from local disk or a shared folder; \
             with S3 storage run the swarm master on a machine holding a copy \
             (dailies storage migrate --to local there)"
        );
    }
    let dir = app.layout.media();
    let mut cfg = dailies_swarm::node::MasterConfig::new(&dir, listen, &app.config.swarm_token);
    cfg.advertise = Some(app.config.swarm_advertise.clone()).filter(|a| !a.is_empty());
    cfg.hash_cache = Some(app.layout.swarm_hash_cache());
    let master = dailies_swarm::node::start_master(cfg)
        .await
        .with_context(|| format!("cannot start the swarm master on {listen}"))?;
    tracing::info!(advertise = %master.advertise, dir = %dir.display(), "swarm master serving the library");
    println!("swarm master for the library at {}", master.advertise);
    Ok(Some(master))
}

/// Job workers only, for extra machines.
pub async fn worker_only(app: App, metrics_at: Option<std::net::SocketAddr>) -> Result<()> {
    let shutdown = CancellationToken::new();
    let quiet = Duration::from_secs_f64(app.config.recovery_quiet_secs);
    match recover::clear_stale_scratch(&app, quiet).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(folders = n, "cleared scratch space an earlier run left"),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot clear scratch space"),
    }
    if let Some(addr) = metrics_at {
        let listener = listen(addr).with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(
            "worker metrics at http://{}/metrics",
            listener.local_addr()?
        );
        let router = crate::api::worker_router(app.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
    }
    let workers = tokio::spawn(worker::run(app.clone(), shutdown.clone()));
    let node = tokio::spawn(crate::node::run(
        app.clone(),
        crate::node::Roles {
            api: None,
            worker: true,
        },
        shutdown.clone(),
    ));
    // The event tail is not needed here (no subscribers), but a worker-only node prunes nothing
    // and serves nothing: its state is all in the database.
    shutdown_signal().await;
    shutdown.cancel();
    workers.await?;
    node.await?;
    Ok(())
}

/// Uploads interrupted at completion are finished, expired ones purged, orphaned bytes removed.
async fn uploads_housekeeping(app: &App) {
    use crate::ingest::tus;
    let report = |what: &str, r: anyhow::Result<usize>| match r {
        Ok(0) => {}
        Ok(n) => tracing::info!(uploads = n, "{what}"),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "upload housekeeping: {what}"),
    };
    report(
        "finished interrupted uploads",
        tus::finish_interrupted(app).await,
    );
    report("purged expired uploads", tus::purge_expired(app).await);
    report(
        "removed orphaned upload bytes",
        tus::remove_orphans(app).await,
    );
}

/// How often recovery, trash purging and the cancelled-job sweep run (and once at start).
const MAINTENANCE_EVERY: Duration = Duration::from_secs(600);

async fn maintenance_loop(app: App, shutdown: CancellationToken) {
    loop {
        let quiet = Duration::from_secs_f64(app.config.recovery_quiet_secs);
        match recover::reconcile(&app, quiet).await {
            Ok(r) if r == recover::Recovery::default() => {}
            Ok(report) => tracing::info!(?report, "recovered after an interrupted run"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "recovery failed"),
        }
        match recover::purge_trash(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(videos = n, "purged the trash"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot purge the trash"),
        }
        uploads_housekeeping(&app).await;
        match crate::db::sessions::sweep(&app.db).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "expired sessions and login links removed"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot remove expired sessions"),
        }
        match crate::db::events::prune(
            &app.db,
            crate::events::bus::KEEP_MS,
            crate::events::bus::KEEP_COUNT,
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "pruned the event log"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot prune the event log"),
        }
        match crate::jobs::make_torrents::queue_missing(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(videos = n, "queued torrents for videos without one"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot queue missing torrents"),
        }
        if let Err(e) =
            crate::db::nodes::prune(&app.db, crate::db::now_ms() - crate::node::FORGET_AFTER_MS)
                .await
        {
            tracing::warn!(error = %format!("{e:#}"), "cannot forget old nodes");
        }
        if let Err(e) = crate::jobs::worker::sweep_abandoned_cancels(&app).await {
            tracing::warn!(error = %format!("{e:#}"), "cannot sweep cancelled jobs");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(MAINTENANCE_EVERY) => {}
        }
    }
}
