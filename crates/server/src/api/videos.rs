//! `/api/videos`: list, show, rename, delete, and the video's files.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::access::{self, Requester, Right};
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::files::{Presentation, serve_file};
use crate::app::App;
use crate::db::torrents::{self as torrent_rows, Torrent};
use crate::db::videos::{self, Cursor, Video};
use crate::events::{NewEvent, kind};
use crate::ids;
use crate::ingest::recover::to_trash;
use crate::torrents::links::Links;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/videos", get(list))
        .route("/api/videos/{id}", get(show).patch(update).delete(remove))
        .route("/api/videos/{id}/{file}", get(file))
}

/// The JSON a client sees for a video, with its torrents (see [`torrents_json`]).
pub fn video_json(v: &Video, torrents: &[Torrent], links: &Links) -> Value {
    let mut out = video_fields(v);
    let (list, magnet) = torrents_json(v, torrents, links);
    if let Some(map) = out.as_object_mut() {
        map.insert("allow_downloads".into(), v.allow_downloads.into());
        map.insert("magnet_uri".into(), magnet);
        map.insert(
            "torrent_url".into(),
            torrents
                .iter()
                .any(|t| t.rendition == "playable")
                .then(|| format!("/api/videos/{}/torrent", v.id))
                .into(),
        );
        map.insert("torrents".into(), list);
    }
    out
}

/// One video's JSON, reading its torrents.
pub async fn video_json_with_torrents(app: &App, v: &Video) -> Result<Value, ApiError> {
    let torrents = torrent_rows::for_video(&app.db, &v.id).await?;
    Ok(video_json(v, &torrents, &Links::new(&app.config)))
}

/// The video's torrents (rendition, name, size, hashes, links) and the playable one's magnet
/// link (with `xs` and `ws`), which carry the web-seed secret: only people who may see the
/// video are sent them.
fn torrents_json(v: &Video, torrents: &[Torrent], links: &Links) -> (Value, Value) {
    let Some(secret) = v.webseed_token.as_deref() else {
        return (json!([]), Value::Null);
    };
    let mut magnet = Value::Null;
    let list: Vec<Value> = torrents
        .iter()
        .filter(|t| t.video_id == v.id)
        .map(|t| {
            let uri = links.magnet(t, secret);
            if t.rendition == "playable" {
                magnet = uri.clone().into();
            }
            json!({
                "rendition": t.rendition,
                "name": t.name,
                "size_bytes": t.size_bytes,
                "info_hash_v1": t.info_hash_v1,
                "info_hash_v2": t.info_hash_v2,
                "magnet_uri": uri,
                "torrent_url": format!("/api/videos/{}/torrent?rendition={}", v.id, t.rendition),
                "web_seed_url": links.web_seed(&v.id, secret, &t.rendition),
            })
        })
        .collect();
    (Value::Array(list), magnet)
}

fn video_fields(v: &Video) -> Value {
    let base = format!("/api/videos/{}", v.id);
    let ready = v.status == videos::status::READY;
    let geometry: Value = v
        .sprite_geometry
        .as_deref()
        .and_then(|g| serde_json::from_str(g).ok())
        .unwrap_or(Value::Null);
    json!({
        "id": v.id,
        "title": v.title,
        "status": v.status,
        "owner": v.owner_name,
        "original_filename": v.original_filename,
        "source": v.source,
        "duration_s": v.duration_s,
        "width": v.width,
        "height": v.height,
        "fps": v.fps,
        "video_codec": v.video_codec,
        "audio_codec": v.audio_codec,
        "size_bytes": v.size_bytes,
        "sha256": v.sha256,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "ready_at": v.ready_at,
        "progress": if v.status == videos::status::PROCESSING { json!(v.progress.unwrap_or(0.0)) } else { Value::Null },
        "error": v.error,
        "processing": v.plan,
        "media_url": (ready && v.playable_file.is_some()).then(|| format!("{base}/media")),
        "original_url": v.original_file.is_some().then(|| format!("{base}/original")),
        "poster_url": (ready && v.poster_file.is_some()).then(|| format!("{base}/poster.jpg")),
        "sprite_url": (ready && v.sprite_file.is_some()).then(|| format!("{base}/sprite.jpg")),
        "sprite": geometry,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    /// Only videos whose title contains this (case-insensitive).
    q: Option<String>,
}

fn parse_cursor(s: &str) -> Result<Cursor, ApiError> {
    let bad = || {
        ApiError::BadRequest("invalid cursor: pass back the 'next' value of a previous page".into())
    };
    let (t, id) = s.split_once('.').ok_or_else(bad)?;
    let t: i64 = t.parse().map_err(|_| bad())?;
    if !ids::is_valid_id(id) {
        return Err(bad());
    }
    Ok((t, id.to_owned()))
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 200".into(),
        ));
    }
    let cursor = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let search = q.q.as_deref().unwrap_or("").trim();
    if search.chars().count() > 200 || search.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "q must be at most 200 characters without control characters".into(),
        ));
    }
    let owner = (!caller.0.is_admin).then_some(caller.0.id.as_str());
    // One extra row tells whether there is a next page.
    let mut rows = videos::list(&app.db, owner, search, cursor.as_ref(), limit + 1).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|v| format!("{}.{}", v.created_at, v.id))
    } else {
        None
    };
    let ids: Vec<&str> = rows.iter().map(|v| v.id.as_str()).collect();
    let torrents = torrent_rows::for_videos(&app.db, &ids).await?;
    let links = Links::new(&app.config);
    let items: Vec<Value> = rows
        .iter()
        .map(|v| video_json(v, &torrents, &links))
        .collect();
    Ok(Json(json!({ "items": items, "next": next })))
}

/// The video if it exists, is not deleted and the signed-in caller manages it (owner or admin);
/// otherwise 404 (a stranger cannot even learn that it exists). Decided by [`access`].
pub(crate) async fn visible(app: &App, caller: &Caller, id: &str) -> Result<Video, ApiError> {
    let req = Requester {
        user: Some(caller.0.clone()),
        share: None,
    };
    access::video(app, &req, id, Right::Manage).await
}

async fn show(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let video = access::video(&app, &req, &id, Right::View).await?;
    Ok(Json(video_json_with_torrents(&app, &video).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    title: Option<String>,
    /// Lets everyone who may see the video download its original, by HTTP and by torrent.
    allow_downloads: Option<bool>,
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<Patch>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let video = visible(&app, &caller, &id).await?;
    let Json(patch) = body?;
    let mut changes = serde_json::Map::new();
    if let Some(title) = patch.title {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
            return Err(ApiError::Unprocessable(
                "title must be 1 to 200 characters without control characters".into(),
            ));
        }
        videos::set_title(&app.db, &video.id, title).await?;
        changes.insert("title".into(), title.into());
    }
    if let Some(allow) = patch.allow_downloads
        && allow != video.allow_downloads
    {
        torrent_rows::set_allow_downloads(&app.db, &video.id, allow).await?;
        changes.insert("allow_downloads".into(), allow.into());
    }
    let downloads_changed = changes.contains_key("allow_downloads");
    let updated = videos::get(&app.db, &video.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The event says what this request changed (a concurrent one may have changed more).
    app.publish(NewEvent::video(
        kind::VIDEO_UPDATED,
        &updated.owner_id,
        &updated.id,
        Value::Object(changes),
    ))
    .await;
    if downloads_changed && updated.status == videos::status::READY {
        // The original's torrent is made, or withdrawn.
        crate::jobs::make_torrents::ensure_job(&app, &updated).await?;
    }
    Ok(Json(video_json_with_torrents(&app, &updated).await?))
}

/// Moves the video to the trash: the row is marked first, then the folder moves (start-up
/// recovery finishes the move if the process dies in between).
async fn remove(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let video = visible(&app, &caller, &id).await?;
    for job in crate::jobs::queue::for_video(&app.db, &video.id).await? {
        crate::jobs::queue::request_cancel(&app.db, &job.id).await?;
    }
    app.cancels_requested.notify_waiters();
    videos::set_deleted(&app.db, &video.id).await?;
    for t in torrent_rows::for_video(&app.db, &video.id).await? {
        crate::torrents::tracker::withdraw(&app.tracker, &app.db, &t).await?;
    }
    to_trash(&app, &video.id).await?;
    tracing::info!(video = %video.id, "moved to trash");
    app.publish(NewEvent::video(
        kind::VIDEO_DELETED,
        &video.owner_id,
        &video.id,
        json!({}),
    ))
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The files of a video, behind the same visibility check as its JSON. `media` is served only
/// once the video is ready, and always as MP4 (a kept original may be named .m4v or .mov); the
/// original is offered as a download under the name it was ingested with — to share-link
/// holders only when the owner allows downloads.
async fn file(
    State(app): State<App>,
    req: Requester,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let v = access::video(&app, &req, &id, Right::View).await?;
    if name == "original" && !v.allow_downloads && access::right(&req, &v) < Some(Right::Manage) {
        return Err(ApiError::NotFound);
    }
    let (stored, how) = match name.as_str() {
        "media" if v.status == videos::status::READY => (
            v.playable_file.as_deref(),
            Presentation {
                content_type: Some("video/mp4"),
                ..Default::default()
            },
        ),
        "original" => (
            v.original_file.as_deref(),
            Presentation {
                download_name: Some(&v.original_filename),
                ..Default::default()
            },
        ),
        "poster.jpg" => (v.poster_file.as_deref(), Presentation::default()),
        "sprite.jpg" => (v.sprite_file.as_deref(), Presentation::default()),
        _ => return Err(ApiError::NotFound),
    };
    let path = stored
        .and_then(|n| app.layout.video_file(&v.id, n))
        .ok_or(ApiError::NotFound)?;
    serve_file(&app.storage, &path, &headers, how).await
}
