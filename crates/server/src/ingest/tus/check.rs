//! The duplicate check before an upload (`POST /api/uploads/check`): is this content already
//! here, already on its way, or welcome? With encode options and content already here, the
//! encode is queued without an upload (or named, when the same one was asked for before).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::Caller;
use crate::api::encodes::{self, Requested};
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
    /// Encode options: with content already here, the encode is queued without an upload.
    encode: Option<dailies_media::EncodeRequest>,
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
        let Some(encode) = req.encode else {
            return Ok(Json(json!({ "action": "exists", "video_id": video_id })));
        };
        let video = videos::get(&app.db, &video_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::NotFound.into_response())?;
        return match encodes::request(&app, &video, encode)
            .await
            .map_err(IntoResponse::into_response)?
        {
            Requested::Created(e) => Ok(Json(json!({
                "action": "exists",
                "video_id": video_id,
                "encode_id": e.id,
                "encode": encodes::encode_json(&e, None),
            }))),
            Requested::Exists(e) => Ok(Json(json!({
                "action": "duplicate_request",
                "video_id": video_id,
                "encode_id": e.id,
                "encode": encodes::encode_json(&e, None),
            }))),
        };
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
