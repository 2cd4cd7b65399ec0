//! Who may do what with comments: every decision about comments is made here and nowhere else,
//! so a new kind of caller (a share-link holder, say) is one change in this file.
//!
//! Today: the video's owner and admins read and write comments on it; only a comment's author
//! edits it; its author, the video's owner or an admin deletes it. Anyone else learns nothing:
//! the video and its comments answer 404.

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::comments::{self, Comment};
use crate::db::videos::{self, Video};
use crate::ids;

/// May the caller see this video's comments (and their drawings, and the exports)?
pub fn may_read(caller: &Caller, video: &Video) -> bool {
    caller.may_see(&video.owner_id)
}

/// May the caller add comments (and replies) to this video?
pub fn may_comment(caller: &Caller, video: &Video) -> bool {
    caller.may_see(&video.owner_id)
}

/// Only the author changes what a comment says.
pub fn may_edit(caller: &Caller, comment: &Comment) -> bool {
    comment.author_id.as_deref() == Some(caller.0.id.as_str())
}

/// The author takes back their own words; the video's owner and admins moderate.
pub fn may_delete(caller: &Caller, video: &Video, comment: &Comment) -> bool {
    may_edit(caller, comment) || caller.0.is_admin || caller.0.id == video.owner_id
}

/// Who a new comment is by, as it will be shown: the account and its name at the time.
pub struct Author {
    pub id: Option<String>,
    pub name: String,
}

pub fn author(caller: &Caller) -> Author {
    Author {
        id: Some(caller.0.id.clone()),
        name: caller.0.name.clone(),
    }
}

/// The video by id if it exists, is not deleted and the caller may read its comments;
/// otherwise 404, so a stranger cannot tell a missing video from someone else's.
pub async fn readable_video(app: &App, caller: &Caller, id: &str) -> Result<Video, ApiError> {
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    match videos::get(&app.db, id).await? {
        Some(v) if v.deleted_at.is_none() && may_read(caller, &v) => Ok(v),
        _ => Err(ApiError::NotFound),
    }
}

/// A comment by id with its video, when the caller may read it; 404 otherwise.
pub async fn readable_comment(
    app: &App,
    caller: &Caller,
    id: &str,
) -> Result<(Comment, Video), ApiError> {
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let comment = comments::get(&app.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let video = readable_video(app, caller, &comment.video_id).await?;
    Ok((comment, video))
}
