//! The HTTP API and the web pages. Every route except `/api/health`, the OpenAPI document, the
//! static pages, sign-in and the tracker asks who is calling ([`auth::Caller`] for signed-in
//! users, [`access::Requester`] where share-link holders may come too); media files go
//! through the same checks as the JSON, decided in [`access`].

pub mod access;
pub mod accounts;
pub mod auth;
pub mod comments;
pub mod encodes;
pub mod error;
pub mod files;
pub mod jobs;
pub mod login_limit;
pub mod nodes;
pub mod proxy;
pub mod shares;
pub mod swarm;
pub mod thumbnails;
pub mod torrents;
pub mod videos;

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tracing::Instrument;

use crate::app::App;

/// What a worker-only node serves when given `--listen`: its health and its metrics, nothing
/// else (the API lives on API nodes).
pub fn worker_router(app: App) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), trace_request))
        .with_state(app)
}

pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/jobs", get(jobs_page))
        .route("/nodes", get(nodes_page))
        .route("/swarm", get(swarm_page))
        .route("/watch/{id}", get(watch_page))
        .route("/admin", get(admin_page))
        .route("/{script}", get(script))
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(openapi))
        .merge(accounts::routes())
        .merge(shares::routes())
        .merge(videos::routes())
        .merge(jobs::routes())
        .merge(nodes::routes())
        .merge(swarm::routes())
        .merge(encodes::routes())
        .merge(thumbnails::routes())
        .merge(torrents::routes())
        .merge(comments::routes())
        .route("/api/events", get(crate::events::sse::stream))
        .route("/api/ws", get(crate::events::ws::connect))
        .merge(crate::ingest::tus::routes())
        .fallback(not_found)
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(app.clone(), trace_request))
        .with_state(app)
}

async fn index() -> Html<&'static str> {
    Html(include_str!("../web/index.html"))
}

async fn jobs_page() -> Html<&'static str> {
    Html(include_str!("../web/jobs.html"))
}

async fn nodes_page() -> Html<&'static str> {
    Html(include_str!("../web/nodes.html"))
}

async fn swarm_page() -> Html<&'static str> {
    Html(include_str!("../web/swarm.html"))
}

/// The player page; the video's id is read by the page from its own address.
async fn watch_page() -> Html<&'static str> {
    Html(include_str!("../web/watch.html"))
}

/// Users and tokens; the page itself is public, what it shows comes from the API's checks.
async fn admin_page() -> Html<&'static str> {
    Html(include_str!("../web/admin.html"))
}

/// The pages' scripts and style sheet, embedded in the binary; any other name is 404.
async fn script(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let body = match name.as_str() {
        "app.js" => include_str!("../web/app.js"),
        "admin.js" => include_str!("../web/admin.js"),
        "jobs.js" => include_str!("../web/jobs.js"),
        "live.js" => include_str!("../web/live.js"),
        "nodes.js" => include_str!("../web/nodes.js"),
        "swarm.js" => include_str!("../web/swarm.js"),
        "session.js" => include_str!("../web/session.js"),
        "watch.js" => include_str!("../web/watch.js"),
        "comments_panel.js" => include_str!("../web/comments_panel.js"),
        "timeline.js" => include_str!("../web/timeline.js"),
        "sketch.js" => include_str!("../web/sketch.js"),
        "share_dialog.js" => include_str!("../web/share_dialog.js"),
        "timecode.js" => include_str!("../web/timecode.js"),
        "upload.js" => include_str!("../web/upload.js"),
        "tus.js" => include_str!("../web/tus.js"),
        "sha256.js" => include_str!("../web/sha256.js"),
        "style.css" => {
            return (
                [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                include_str!("../web/style.css"),
            )
                .into_response();
        }
        _ => return error::ApiError::NotFound.into_response(),
    };
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn health(axum::extract::State(app): axum::extract::State<App>) -> Response {
    let db_ok = sqlx::query("SELECT 1").execute(&app.db.pool).await.is_ok();
    let body = json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": app.db.kind.name(),
    });
    let status = if db_ok {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

/// Prometheus metrics, for administrators (and the scraper holding an admin's token).
async fn metrics(
    axum::extract::State(app): axum::extract::State<App>,
    caller: auth::Caller,
) -> Result<Response, error::ApiError> {
    if !caller.0.is_admin {
        return Err(error::ApiError::NotFound);
    }
    let body = app.metrics.render(&app.db).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

async fn not_found() -> error::ApiError {
    error::ApiError::NotFound
}

/// One span per request, one log line with the outcome, and its latency in the metrics.
async fn trace_request(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let span = tracing::info_span!("http", method = %method, route = %route);
    async move {
        let start = Instant::now();
        let res = next.run(req).await;
        app.metrics
            .http_request(method.as_str(), &route, start.elapsed());
        tracing::info!(
            status = res.status().as_u16(),
            ms = start.elapsed().as_millis() as u64,
            "request"
        );
        res
    }
    .instrument(span)
    .await
}
