//! Time-coded comments: `GET/POST /api/videos/{id}/comments`, `GET/PATCH/DELETE
//! /api/comments/{id}`, a comment's drawing, and the exports (`exports.rs`). Who may do what is
//! decided in `rights.rs` only. Every change is published as an event on the video.
//!
//! Threads are one level deep: a reply to a reply joins the thread of the comment it answers
//! (its `parent_id` is the thread's first comment), as review tools show them.

pub mod exports;
pub mod rights;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::api::access::Requester;
use crate::api::error::ApiError;
use crate::api::files::{Presentation, serve_file};
use crate::app::App;
use crate::comments::drawing::{self, Drawing, DrawingError};
use crate::comments::frame_grid::FrameGrid;
use crate::db::comments::{self, Comment, Edit, NewComment, Removal};
use crate::db::videos::{self, Video};
use crate::events::{NewEvent, kind};
use crate::ids;

/// Longest comment, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;
/// Largest request body on these routes: a drawing at its limit, in base64, plus the text.
const MAX_BODY: usize = drawing::MAX_BYTES / 3 * 4 + 256 * 1024;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/videos/{id}/comments", get(list).post(create))
        .route("/api/videos/{id}/comments.csv", get(exports::csv))
        .route("/api/videos/{id}/comments.edl", get(exports::edl))
        .route("/api/comments/{id}", get(show).patch(update).delete(remove))
        .route("/api/comments/{id}/drawing", get(drawing_file))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The JSON a client sees for a comment. A deleted thread starter keeps its place, author and
/// time; its text and drawing are gone.
pub fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "video_id": c.video_id,
        "parent_id": c.parent_id,
        "author": { "id": c.author_id, "name": c.author_name },
        "text": (!c.deleted).then_some(c.text.as_str()),
        "timecode_s": c.timecode_s,
        "drawing_url": c.drawing_file.as_ref().filter(|_| !c.deleted)
            .map(|_| format!("/api/comments/{}/drawing", c.id)),
        "created_at": c.created_at,
        "edited_at": c.edited_at,
        "deleted": c.deleted,
    })
}

/// Comments in the order reviewers read them: by time in the video, then by when they were
/// written; comments on the whole video (no timecode) last.
pub fn sort_for_reading(list: &mut [Comment]) {
    list.sort_by(|a, b| {
        let time = |c: &Comment| c.timecode_s.unwrap_or(f64::INFINITY);
        time(a)
            .total_cmp(&time(b))
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
}

async fn list(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let video = rights::readable_video(&app, &caller, &id).await?;
    let mut all = comments::for_video(&app.db, &video.id).await?;
    sort_for_reading(&mut all);
    let items: Vec<Value> = all.iter().map(comment_json).collect();
    Ok(Json(json!({ "items": items })))
}

async fn show(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (comment, _) = rights::readable_comment(&app, &caller, &id).await?;
    Ok(Json(comment_json(&comment)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    text: String,
    #[serde(default)]
    timecode_s: Option<f64>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    drawing: Option<String>,
}

/// For PATCH: an absent field is left alone, `null` clears it.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    #[serde(default)]
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    timecode_s: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    drawing: Option<Option<String>>,
}

/// Trimmed, non-empty, at most [`MAX_TEXT_CHARS`], no control characters but line breaks and
/// tabs (CRLF becomes LF).
fn checked_text(text: &str) -> Result<String, ApiError> {
    let text = text.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(ApiError::Unprocessable("text cannot be empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::Unprocessable(format!(
            "text is too long: at most {MAX_TEXT_CHARS} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::Unprocessable(
            "text cannot contain control characters (line breaks and tabs are fine)".into(),
        ));
    }
    Ok(text)
}

/// The time on the video's frame grid. A video still being processed has no known duration
/// yet: a timecode is refused until it has one.
fn checked_time(video: &Video, t: f64) -> Result<f64, ApiError> {
    let duration = video.duration_s.ok_or_else(|| {
        ApiError::Conflict(
            "this video is not processed yet; time-coded comments are possible once it is ready"
                .into(),
        )
    })?;
    FrameGrid::new(video.fps, duration)
        .snap(t)
        .map_err(|e| ApiError::Unprocessable(e.to_string()))
}

/// A drawing is made on a frame of the playable video, and kept in the video's folder (which a
/// failed video no longer has): only a ready video takes drawings.
fn checked_drawing(video: &Video, url: &str) -> Result<Drawing, ApiError> {
    if video.status != videos::status::READY {
        return Err(ApiError::Conflict(
            "this video is not ready; drawings are made on its frames once it plays".into(),
        ));
    }
    drawing::parse_data_url(url).map_err(|e| match e {
        DrawingError::TooLarge => ApiError::TooLarge(e.to_string()),
        e => ApiError::Unprocessable(e.to_string()),
    })
}

/// The thread a reply joins: the parent's own thread when the parent is itself a reply.
async fn thread_of(app: &App, video: &Video, parent_id: &str) -> Result<String, ApiError> {
    let missing = || {
        ApiError::Unprocessable(format!(
            "parent_id '{}' is not a comment on this video",
            parent_id.chars().take(40).collect::<String>()
        ))
    };
    if !ids::is_valid_id(parent_id) {
        return Err(missing());
    }
    let parent = comments::get(&app.db, parent_id)
        .await?
        .ok_or_else(missing)?;
    if parent.video_id != video.id {
        return Err(missing());
    }
    Ok(parent.parent_id.unwrap_or(parent.id))
}

/// Writes a drawing under a new name of the server's choosing; returns the name.
async fn store_drawing(app: &App, video_id: &str, d: &Drawing) -> Result<String, ApiError> {
    let name = format!("{}.{}", ids::new_id(), d.format.extension());
    // With S3 storage the folder is scratch space until the drawing is up.
    let _scratch = app.storage.pin(video_id);
    let dir = app
        .layout
        .comment_drawings_dir(video_id)
        .ok_or(ApiError::NotFound)?;
    let path = app
        .layout
        .comment_drawing(video_id, &name)
        .ok_or(ApiError::NotFound)?;
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| anyhow::Error::from(e).context("cannot create the drawings folder"))?;
    tokio::fs::write(&path, &d.bytes)
        .await
        .map_err(|e| anyhow::Error::from(e).context("cannot write a drawing"))?;
    app.storage.publish(&path).await?;
    Ok(name)
}

/// Removes a drawing no row refers to any more; a failure is only logged (it is an orphan file,
/// nothing a user sees).
async fn discard_drawing(app: &App, video_id: &str, name: &str) {
    if let Some(path) = app.layout.comment_drawing(video_id, name)
        && let Err(e) = app.storage.remove(&path).await
    {
        tracing::warn!(file = %path.display(), error = %format!("{e:#}"), "cannot remove a drawing");
    }
}

async fn publish(app: &App, video: &Video, kind: &'static str, data: Value) {
    app.publish(NewEvent::video(kind, &video.owner_id, &video.id, data))
        .await;
}

async fn create(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let video = rights::readable_video(&app, &caller, &id).await?;
    if !rights::may_comment(&caller, &video) {
        return Err(ApiError::Forbidden(
            "you may not comment on this video".into(),
        ));
    }
    let Json(body) = body?;
    let text = checked_text(&body.text)?;
    let timecode_s = body
        .timecode_s
        .map(|t| checked_time(&video, t))
        .transpose()?;
    let drawing = body
        .drawing
        .as_deref()
        .map(|url| checked_drawing(&video, url))
        .transpose()?;
    let parent_id = match body.parent_id.as_deref() {
        Some(p) => Some(thread_of(&app, &video, p).await?),
        None => None,
    };
    let author = rights::author(&caller);
    let comment_id = ids::new_id();
    let drawing_file = match &drawing {
        Some(d) => Some(store_drawing(&app, &video.id, d).await?),
        None => None,
    };
    let inserted = comments::insert(
        &app.db,
        &NewComment {
            id: &comment_id,
            video_id: &video.id,
            parent_id: parent_id.as_deref(),
            author_id: author.id.as_deref(),
            author_name: &author.name,
            text: &text,
            timecode_s,
            drawing_file: drawing_file.as_deref(),
        },
    )
    .await;
    let refused = match inserted {
        Ok(true) => None,
        Ok(false) => Some(ApiError::Conflict(
            "the comment you reply to was just deleted".into(),
        )),
        Err(e) if crate::db::is_foreign_key_violation(&e) => Some(ApiError::Conflict(
            "the comment you reply to was just deleted".into(),
        )),
        Err(e) => Some(ApiError::Internal(e.into())),
    };
    if let Some(err) = refused {
        if let Some(name) = &drawing_file {
            discard_drawing(&app, &video.id, name).await;
        }
        return Err(err);
    }
    let comment = comments::get(&app.db, &comment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    tracing::info!(video = %video.id, comment = %comment.id, "comment added");
    let answer = comment_json(&comment);
    publish(&app, &video, kind::COMMENT_CREATED, answer.clone()).await;
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn update(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
    body: Result<Json<EditBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (comment, video) = rights::readable_comment(&app, &caller, &id).await?;
    if !rights::may_edit(&caller, &comment) {
        return Err(ApiError::Forbidden(
            "only its author may edit a comment".into(),
        ));
    }
    if comment.deleted {
        return Err(ApiError::Conflict(
            "this comment was deleted; it cannot be edited".into(),
        ));
    }
    let Json(body) = body?;
    if body.text.is_none() && body.timecode_s.is_none() && body.drawing.is_none() {
        return Err(ApiError::Unprocessable(
            "nothing to change: send text, timecode_s or drawing".into(),
        ));
    }
    let text = body.text.as_deref().map(checked_text).transpose()?;
    let timecode_s = match body.timecode_s {
        Some(Some(t)) => Some(Some(checked_time(&video, t)?)),
        Some(None) => Some(None),
        None => None,
    };
    let drawing = match &body.drawing {
        Some(Some(url)) => Some(Some(checked_drawing(&video, url)?)),
        Some(None) => Some(None),
        None => None,
    };
    let new_file = match &drawing {
        Some(Some(d)) => Some(store_drawing(&app, &video.id, d).await?),
        _ => None,
    };
    let edit = Edit {
        text: text.as_deref(),
        timecode_s,
        drawing_file: drawing.as_ref().map(|_| new_file.as_deref()),
    };
    let edited = match comments::edit(&app.db, &comment.id, &edit).await {
        Ok(done) => done,
        Err(e) => {
            if let Some(name) = &new_file {
                discard_drawing(&app, &video.id, name).await;
            }
            return Err(e.into());
        }
    };
    if !edited {
        if let Some(name) = &new_file {
            discard_drawing(&app, &video.id, name).await;
        }
        return Err(ApiError::Conflict(
            "this comment was deleted meanwhile".into(),
        ));
    }
    if drawing.is_some()
        && let Some(old) = &comment.drawing_file
    {
        discard_drawing(&app, &video.id, old).await;
    }
    let updated = comments::get(&app.db, &comment.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let answer = comment_json(&updated);
    publish(&app, &video, kind::COMMENT_UPDATED, answer.clone()).await;
    Ok(Json(answer))
}

/// Deletes a comment: gone when nothing answers it, otherwise kept (text and drawing erased)
/// so its thread stays readable. A deleted thread starter goes when its last reply does.
async fn remove(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (comment, video) = rights::readable_comment(&app, &caller, &id).await?;
    if comment.deleted {
        return Err(ApiError::NotFound);
    }
    if !rights::may_delete(&caller, &video, &comment) {
        return Err(ApiError::Forbidden(
            "only its author, the video's owner or an admin may delete a comment".into(),
        ));
    }
    let outcome = comments::delete(&app.db, &comment.id).await?;
    if outcome == Removal::Missing {
        return Err(ApiError::NotFound);
    }
    if let Some(name) = &comment.drawing_file {
        discard_drawing(&app, &video.id, name).await;
    }
    tracing::info!(video = %video.id, comment = %comment.id, ?outcome, "comment deleted");
    let gone = |c: &Comment, removed: bool| {
        let mut shown = c.clone();
        shown.deleted = true;
        let mut v = comment_json(&shown);
        v["removed"] = json!(removed);
        v
    };
    publish(
        &app,
        &video,
        kind::COMMENT_DELETED,
        gone(&comment, outcome == Removal::Removed),
    )
    .await;
    if outcome == Removal::Removed
        && let Some(parent_id) = &comment.parent_id
        && let Some(parent) = comments::get(&app.db, parent_id).await?
        && parent.deleted
        && comments::remove_if_empty_thread(&app.db, parent_id).await?
    {
        publish(&app, &video, kind::COMMENT_DELETED, gone(&parent, true)).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A comment's drawing, behind the same checks as the comment.
async fn drawing_file(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (comment, video) = rights::readable_comment(&app, &caller, &id).await?;
    let path = comment
        .drawing_file
        .as_deref()
        .filter(|_| !comment.deleted)
        .and_then(|name| app.layout.comment_drawing(&video.id, name))
        .ok_or(ApiError::NotFound)?;
    let mut res = serve_file(&app.storage, &path, &headers, Presentation::default()).await?;
    // The bytes came from a user: never let a browser guess another type for them.
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res.into_response())
}
