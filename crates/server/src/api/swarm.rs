//! `GET /api/swarm` (admins): the library's swarm master, when this node runs one — every peer
//! mirroring `media/`, what it holds (a nodes × chunks map) and what failed.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new().route("/api/swarm", get(status))
}

async fn status(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    if !caller.0.is_admin {
        return Err(ApiError::NotFound);
    }
    Ok(Json(match app.swarm.get() {
        None => json!({ "enabled": false }),
        Some(master) => json!({
            "enabled": true,
            "advertise": master.advertise,
            "status": master.status(),
        }),
    }))
}
