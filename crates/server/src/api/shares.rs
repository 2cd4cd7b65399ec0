//! Share links: `POST/GET /api/videos/{id}/shares` (owner and admins), `DELETE /api/shares/{id}`
//! (revoke), and `/s/{token}`, the address people are sent, which opens the player.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::access::{self, Requester, Right};
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::now_ms;
use crate::db::shares::{self, Share, ShareAccess};
use crate::ids;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/videos/{id}/shares", get(list).post(create))
        .route("/api/shares/{id}", delete(revoke))
        .route("/s/{token}", get(open))
}

fn share_json(app: &App, s: &Share, token: Option<&str>) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    if let (Some(map), Some(token)) = (v.as_object_mut(), token) {
        map.insert("token".into(), token.into());
        map.insert(
            "url".into(),
            format!("{}/s/{token}", app.config.public_base()).into(),
        );
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewShare {
    access: String,
    #[serde(default)]
    label: String,
    /// Seconds from now; absent = until revoked.
    expires_in_s: Option<f64>,
}

/// The longest a link may be given (ten years): beyond that, leave it open-ended.
const MAX_EXPIRY_S: f64 = 10.0 * 365.0 * 86_400.0;

async fn create(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
    body: Result<Json<NewShare>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let video = access::video(&app, &req, &id, Right::Manage).await?;
    let Json(body) = body?;
    let access = ShareAccess::parse(&body.access)
        .ok_or_else(|| ApiError::Unprocessable("access must be 'view' or 'comment'".into()))?;
    let label = body.label.trim();
    if label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(ApiError::Unprocessable(
            "label may have up to 100 characters without control characters".into(),
        ));
    }
    let expires_at = match body.expires_in_s {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s <= MAX_EXPIRY_S => {
            Some(now_ms() + (s * 1000.0) as i64)
        }
        Some(_) => {
            return Err(ApiError::Unprocessable(
                "expires_in_s must be a positive number of seconds (at most ten years)".into(),
            ));
        }
    };
    let creator = req.user.as_ref().map(|u| u.id.as_str()).unwrap_or_default();
    let (share, token) =
        shares::create(&app.db, &video.id, access, label, creator, expires_at).await?;
    tracing::info!(video = %video.id, share = %share.id, access = access.as_str(), "share link created");
    Ok((
        StatusCode::CREATED,
        Json(share_json(&app, &share, Some(&token))),
    ))
}

async fn list(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let video = access::video(&app, &req, &id, Right::Manage).await?;
    let items: Vec<Value> = shares::for_video(&app.db, &video.id)
        .await?
        .iter()
        .map(|s| share_json(&app, s, None))
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn revoke(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if req.is_anonymous() {
        return Err(ApiError::Unauthorized);
    }
    if !ids::is_valid_id(&id) {
        return Err(ApiError::NotFound);
    }
    let share = shares::get(&app.db, &id).await?.ok_or(ApiError::NotFound)?;
    // Only those who manage the video; a link's holder cannot revoke it.
    access::video(&app, &req, &share.video_id, Right::Manage).await?;
    shares::revoke(&app.db, &share.id).await?;
    tracing::info!(share = %share.id, "share link revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `/s/{token}`: the player with the token in its address (it adds it to every request). A
/// dead link answers 404 here already.
async fn open(State(app): State<App>, Path(token): Path<String>) -> Result<Redirect, ApiError> {
    if token.len() > 128
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(ApiError::NotFound);
    }
    let share = shares::by_token(&app.db, &token)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Redirect::to(&format!(
        "/watch/{}?share={token}",
        share.video_id
    )))
}
