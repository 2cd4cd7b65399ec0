//! Who may do what with comments: every decision about comments is made here, on top of the
//! video rule in [`crate::api::access`]:
//!
//! * whoever may view the video (owner, admins, any share-link holder) reads its comments;
//! * whoever holds [`Right::Comment`] (owner, admins, a comment link's holder) adds comments;
//! * only a comment's author (a signed-in user) edits it;
//! * its author, the video's owner or an admin deletes it.
//!
//! Anyone else learns nothing: the video and its comments answer 404.

use crate::api::access::{self, Requester, Right};
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::comments::{self, Comment};
use crate::db::videos::Video;
use crate::ids;

/// May the requester add comments (and replies) to this video?
pub fn may_comment(req: &Requester, video: &Video) -> bool {
    access::right(req, video) >= Some(Right::Comment)
}

/// Only the author changes what a comment says. Share-link guests have no account, so their
/// comments are not theirs to edit later (anyone holding the link could pose as them).
pub fn may_edit(req: &Requester, comment: &Comment) -> bool {
    match (&req.user, &comment.author_id) {
        (Some(u), Some(author)) => &u.id == author,
        _ => false,
    }
}

/// The author takes back their own words; the video's owner and admins moderate.
pub fn may_delete(req: &Requester, video: &Video, comment: &Comment) -> bool {
    may_edit(req, comment) || access::right(req, video) == Some(Right::Manage)
}

/// Who a new comment is by, as it will be shown: the account and its name at the time.
pub struct Author {
    pub id: Option<String>,
    pub name: String,
}

/// A signed-in user writes under their name; a share-link guest under the link's label (or
/// "guest"), without an account.
pub fn author(req: &Requester) -> Author {
    match (&req.user, &req.share) {
        (Some(u), _) => Author {
            id: Some(u.id.clone()),
            name: u.name.clone(),
        },
        (None, Some(s)) if !s.label.is_empty() => Author {
            id: None,
            name: format!("{} (guest)", s.label),
        },
        _ => Author {
            id: None,
            name: "guest".into(),
        },
    }
}

/// The video by id if it exists, is not deleted and the requester may view it; otherwise 404
/// (401 for nobody at all), so a stranger cannot tell a missing video from someone else's.
pub async fn readable_video(app: &App, req: &Requester, id: &str) -> Result<Video, ApiError> {
    access::video(app, req, id, Right::View).await
}

/// A comment by id with its video, when the requester may read it; 404 otherwise.
pub async fn readable_comment(
    app: &App,
    req: &Requester,
    id: &str,
) -> Result<(Comment, Video), ApiError> {
    if req.is_anonymous() {
        return Err(ApiError::Unauthorized);
    }
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let comment = comments::get(&app.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let video = readable_video(app, req, &comment.video_id).await?;
    Ok((comment, video))
}
