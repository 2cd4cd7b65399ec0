//! Who is asking: every protected handler takes a [`Caller`], resolved from the bearer token.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::api::error::ApiError;
use crate::app::App;
use crate::db::users::{self, User};

/// The authenticated user of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub User);

impl Caller {
    /// Owners see their own videos; admins see everyone's.
    pub fn may_see(&self, owner_id: &str) -> bool {
        self.0.is_admin || self.0.id == owner_id
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        // The scheme name is case-insensitive (RFC 9110); tokens are short, so anything long is
        // refused before it costs a hash and a query.
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or(ApiError::Unauthorized)?;
        let user = users::by_token(&app.db, token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Caller(user))
    }
}

/// `GET /api/me`: who the caller is, so the web page knows which comments are its own.
pub async fn me(caller: Caller) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "id": caller.0.id,
        "name": caller.0.name,
        "is_admin": caller.0.is_admin,
    }))
}
