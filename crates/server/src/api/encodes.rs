//! Encode requests: a video encoded with options its owner chose (codec, container, quality,
//! size, frame rate, sound), checked against a closed schema and the installed ffmpeg, queued as
//! a job, and downloadable when ready. The same source with the same normalised options is
//! encoded once: asking again names the existing request.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dailies_media::{self as media, EncodeRequest, MediaInfo, Offer};
use serde_json::{Value, json};

use crate::api::access::{self, Requester, Right};
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::files::{Presentation, serve_file};
use crate::api::videos::visible;
use crate::app::App;
use crate::db;
use crate::db::encodes::{self, Encode, NewEncode, state};
use crate::db::videos::Video;
use crate::ids;
use crate::jobs::encode_video::ENCODE_JOB;
use crate::jobs::enqueue_on_video;
use crate::jobs::queue;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/videos/{id}/encodes", get(list).post(create))
        .route("/api/encodes/{id}", get(show))
        .route("/api/encodes/{id}/download", get(download))
}

/// The JSON a client sees for an encode request.
pub fn encode_json(e: &Encode, progress: Option<f64>) -> Value {
    json!({
        "id": e.id,
        "video_id": e.video_id,
        "state": e.state,
        "options": serde_json::from_str::<Value>(&e.options).unwrap_or(Value::Null),
        "job_id": e.job_id,
        "progress": progress,
        "size_bytes": e.size_bytes,
        "error": e.error,
        "created_at": e.created_at,
        "download_url": (e.state == state::READY).then(|| format!("/api/encodes/{}/download", e.id)),
    })
}

/// What asking for an encode led to.
pub enum Requested {
    Created(Encode),
    /// The same source with the same options was asked for before.
    Exists(Encode),
}

/// The duplicate answer: 409, naming the existing request.
pub fn duplicate(existing: &Encode) -> Response {
    (
        StatusCode::CONFLICT,
        Json(json!({
            "error": format!(
                "this video is already encoded or being encoded with these options (request {})",
                existing.id
            ),
            "encode_id": existing.id,
            "encode": encode_json(existing, None),
        })),
    )
        .into_response()
}

/// What is known of a video's media: stored by its processing, or probed now.
pub(crate) async fn media_info(app: &App, video: &Video) -> Result<MediaInfo, ApiError> {
    if let Some(info) = video
        .media_info
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
    {
        return Ok(info);
    }
    if app.storage.is_remote() {
        // Not a whole original fetched from the bucket on a request's path.
        return Err(ApiError::Conflict(
            "this video is still being processed; ask again when it is ready".into(),
        ));
    }
    let original = crate::jobs::process_video::original_source(app, video)
        .await
        .map_err(|e| ApiError::Conflict(e.message))?;
    let timeout = std::time::Duration::from_secs_f64(app.config.probe_timeout_secs);
    media::probe(&app.tools, &original, timeout)
        .await
        .map_err(|e| ApiError::Conflict(format!("this video cannot be encoded: {e}")))
}

/// Checks a request for `video` and queues it, unless the same one exists.
pub async fn request(app: &App, video: &Video, req: EncodeRequest) -> Result<Requested, ApiError> {
    if video.original_file.is_none() {
        return Err(ApiError::Conflict(
            "this video's original was put aside when processing failed; add the file again".into(),
        ));
    }
    let info = media_info(app, video).await?;
    let encoders = app.encoders().await;
    let offer = Offer {
        encoders: &encoders,
        external: &app.config.encoders,
        has_outro: app.config.outro_clip.is_file(),
    };
    let spec = req.check(&offer, &info).map_err(ApiError::Unprocessable)?;
    let key = spec.key();
    if let Some(existing) = encodes::find(&app.db, &video.id, &key).await? {
        return Ok(Requested::Exists(existing));
    }
    crate::api::jobs::check_request_room(app, &video.owner_id).await?;
    let id = ids::new_id();
    let options = serde_json::to_string(&spec).map_err(anyhow::Error::from)?;
    let turn = app.events.appending().await;
    let mut tx = app.db.pool.begin().await.map_err(anyhow::Error::from)?;
    let job_id = enqueue_on_video(
        &mut tx,
        app,
        &video.owner_id,
        &video.id,
        ENCODE_JOB,
        json!({ "encode_id": id }),
        Some(&crate::jobs::capabilities::required_for_encode(&spec)),
    )
    .await?;
    let inserted = encodes::insert(
        &mut tx,
        &NewEncode {
            id: &id,
            video_id: &video.id,
            owner_id: &video.owner_id,
            options: &options,
            options_key: &key,
            job_id: &job_id,
        },
    )
    .await;
    match inserted {
        Ok(()) => {}
        // Another request with the same options won the race.
        Err(e) if db::is_unique_violation(&e) => {
            drop(tx);
            drop(turn);
            return match encodes::find(&app.db, &video.id, &key).await? {
                Some(existing) => Ok(Requested::Exists(existing)),
                None => Err(ApiError::Conflict("try again".into())),
            };
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    }
    tx.commit().await.map_err(anyhow::Error::from)?;
    drop(turn);
    app.jobs_added.notify_waiters();
    tracing::info!(video = %video.id, encode = %id, options = %options, "encode requested");
    let created = encodes::get(&app.db, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Requested::Created(created))
}

async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<EncodeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let video = visible(&app, &caller, &id).await?;
    let Json(req) = body?;
    Ok(match request(&app, &video, req).await? {
        Requested::Created(e) => (StatusCode::CREATED, Json(encode_json(&e, None))).into_response(),
        Requested::Exists(e) => duplicate(&e),
    })
}

async fn list(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let video = access::video(&app, &req, &id, Right::View).await?;
    let items: Vec<Value> = encodes::for_video(&app.db, &video.id)
        .await?
        .iter()
        .map(|e| encode_json(e, None))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// The request if the requester may see its video (a share link's holder included: an encode
/// is another way to watch it).
async fn visible_encode(app: &App, req: &Requester, id: &str) -> Result<(Encode, Video), ApiError> {
    if req.is_anonymous() {
        return Err(ApiError::Unauthorized);
    }
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let encode = encodes::get(&app.db, id).await?.ok_or(ApiError::NotFound)?;
    let video = access::video(app, req, &encode.video_id, Right::View).await?;
    Ok((encode, video))
}

async fn show(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (encode, _) = visible_encode(&app, &req, &id).await?;
    let progress = queue::progress_of(&app.db, encode.job_id.as_deref()).await?;
    Ok(Json(encode_json(&encode, progress)))
}

/// The result, with ranges (players and download managers resume), behind the same checks as
/// the video.
async fn download(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (encode, video) = visible_encode(&app, &req, &id).await?;
    let file = encode
        .output_file
        .as_deref()
        .filter(|_| encode.state == state::READY)
        .and_then(|f| app.layout.encode_file(&video.id, f))
        .ok_or(ApiError::NotFound)?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("bin");
    let name = format!("{}.{ext}", video.title);
    serve_file(
        &app.storage,
        &file,
        &headers,
        Presentation {
            download_name: Some(&name),
            content_type: Some(match ext {
                "mp4" => "video/mp4",
                "webm" => "video/webm",
                _ => "video/x-matroska",
            }),
        },
    )
    .await
}
