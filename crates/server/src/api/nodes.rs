//! `GET /api/nodes` (admins): every node of the deployment, its roles, what it can run, when it
//! was last heard of, and the jobs it is running.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::nodes;
use crate::db::now_ms;
use crate::node::{FORGET_AFTER_MS, status};

pub fn routes() -> Router<App> {
    Router::new().route("/api/nodes", get(list))
}

async fn list(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    if !caller.0.is_admin {
        return Err(ApiError::NotFound);
    }
    let now = now_ms();
    let all = nodes::seen_since(&app.db, now - FORGET_AFTER_MS).await?;
    let running = nodes::running_jobs(&app.db).await?;
    let items: Vec<Value> = all
        .iter()
        .map(|n| {
            let prefix = format!("{}-", n.id);
            let jobs: Vec<Value> = running
                .iter()
                .filter(|j| j.lease_owner.starts_with(&prefix))
                .map(|j| {
                    json!({ "id": j.id, "kind": j.kind, "video_id": j.video_id, "progress": j.progress })
                })
                .collect();
            json!({
                "id": n.id,
                "host": n.host,
                "pid": n.pid,
                "version": n.version,
                "roles": n.roles,
                "kinds": n.kinds,
                "capabilities": n.capabilities,
                "listen": n.listen,
                "status": status(n, now),
                "started_at": n.started_at,
                "heartbeat_at": n.heartbeat_at,
                "stopped_at": n.stopped_at,
                "this_node": n.id == *app.node_id,
                "running_jobs": jobs,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
