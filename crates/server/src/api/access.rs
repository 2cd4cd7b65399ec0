//! Who may do what with a video: the one rule, for every route.
//!
//! * A video's owner and admins **manage** it (everything, including sharing and deleting).
//! * A share link grants **view** (the video, its files, comments, torrents) or **comment**
//!   (view, and adding comments) to anyone holding its secret, for that one video, until it is
//!   revoked or expires. Holders send it as `X-Share-Token` or `?share=` (media elements cannot
//!   send headers).
//! * Anyone else learns nothing: the video answers 404 as if it did not exist. A request with
//!   no user and no live share link is a 401.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::api::auth::{self, Signed};
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::shares::{self, Share, ShareAccess};
use crate::db::users::User;
use crate::db::videos::{self, Video};
use crate::ids;

/// The header a share link's holder sends its secret in.
pub const SHARE_HEADER: &str = "x-share-token";

/// What someone may do with a video; each right includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Right {
    View,
    Comment,
    Manage,
}

/// Whoever sent the request: a signed-in user, a share link's holder, both, or neither.
#[derive(Clone, Debug, Default)]
pub struct Requester {
    pub user: Option<User>,
    pub share: Option<Share>,
}

impl Requester {
    pub fn is_anonymous(&self) -> bool {
        self.user.is_none() && self.share.is_none()
    }

    /// For logs: the user's name, the share link's id, or "anonymous".
    pub fn name(&self) -> String {
        match (&self.user, &self.share) {
            (Some(u), _) => u.name.clone(),
            (None, Some(s)) => format!("share:{}", s.id),
            _ => "anonymous".into(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin)
    }
}

/// Whether a user manages what this owner owns (videos, their jobs and requests): the owner
/// and administrators.
pub fn user_manages(user: &User, owner_id: &str) -> bool {
    user.is_admin || user.id == owner_id
}

/// The one decision: the requester's right on a video, `None` when they may not even see it.
pub fn right(req: &Requester, video: &Video) -> Option<Right> {
    let by_user = req
        .user
        .as_ref()
        .filter(|u| user_manages(u, &video.owner_id))
        .map(|_| Right::Manage);
    let by_share = req
        .share
        .as_ref()
        .filter(|s| s.video_id == video.id)
        .map(|s| match s.access {
            ShareAccess::View => Right::View,
            ShareAccess::Comment => Right::Comment,
        });
    by_user.max(by_share)
}

/// Whether the requester may see events and rows tied to a video with this owner and id.
pub fn may_see(req: &Requester, owner_id: &str, video_id: Option<&str>) -> bool {
    req.user.as_ref().is_some_and(|u| user_manages(u, owner_id))
        || req
            .share
            .as_ref()
            .is_some_and(|s| Some(s.video_id.as_str()) == video_id)
}

/// The video by id when the requester holds at least `need` on it. 401 for nobody at all; 404
/// when the video is missing, deleted or invisible to them; 403 when they see it but lack the
/// right (a view link trying to comment).
pub async fn video(app: &App, req: &Requester, id: &str, need: Right) -> Result<Video, ApiError> {
    if req.is_anonymous() {
        return Err(ApiError::Unauthorized);
    }
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let video = match videos::get(&app.db, id).await? {
        Some(v) if v.deleted_at.is_none() => v,
        _ => return Err(ApiError::NotFound),
    };
    match right(req, &video) {
        Some(r) if r >= need => Ok(video),
        Some(_) => Err(ApiError::Forbidden(match need {
            Right::Comment => "this link lets you view the video, not comment on it".into(),
            _ => "only the video's owner or an administrator may do this".into(),
        })),
        None => Err(ApiError::NotFound),
    }
}

/// A share link's secret from the header or the `share` query parameter.
fn share_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(SHARE_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return Some(v.trim().to_owned());
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "share")
            .map(|(_, v)| v.to_owned())
    })
}

impl FromRequestParts<App> for Requester {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let user = auth::authenticate(parts, app)
            .await?
            .map(|s: Signed| s.user);
        let share = match share_token(parts).filter(|t| !t.is_empty() && t.len() <= 128) {
            Some(token) => shares::by_token(&app.db, &token).await?,
            None => None,
        };
        Ok(Requester { user, share })
    }
}
