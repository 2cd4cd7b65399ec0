//! The duplicate check before an upload (`POST /api/uploads/check`): is this content already
//! here, already on its way, or welcome?

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::{uploads, videos};

use super::limits;
use super::protocol::{TusError, clean_filename, is_sha256_hex, upload_url};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    sha256: String,
    size: u64,
    filename: String,
}

pub async fn check(
    State(app): State<App>,
    caller: Caller,
    body: Result<Json<CheckRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, Response> {
    let Json(req) = body.map_err(|e| ApiError::from(e).into_response())?;
    if !is_sha256_hex(&req.sha256) {
        return Err(ApiError::Unprocessable("sha256 must be 64 hex digits".into()).into_response());
    }
    let sha256 = req.sha256.to_ascii_lowercase();
    let internal = |e: anyhow::Error| TusError::from(e).into_response();
    if let Some(video_id) = videos::find_duplicate(&app.db, &caller.0.id, &sha256)
        .await
        .map_err(internal)?
    {
        return Ok(Json(json!({ "action": "exists", "video_id": video_id })));
    }
    if let Some(upload_id) = uploads::unfinished_with_sha256(&app.db, &caller.0.id, &sha256)
        .await
        .map_err(internal)?
    {
        return Ok(Json(json!({
            "action": "duplicate_request",
            "upload_id": upload_id,
            "upload_url": upload_url(&upload_id),
        })));
    }
    limits::check_new(
        &app,
        &caller.0.id,
        req.size,
        &clean_filename(Some(&req.filename)),
    )
    .await
    .map_err(IntoResponse::into_response)?;
    Ok(Json(json!({ "action": "upload" })))
}
