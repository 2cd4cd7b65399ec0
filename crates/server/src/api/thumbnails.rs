//! Thumbnail requests: frames at chosen times (or every N seconds, or N spread evenly) and
//! width, made by a job with live status; each image downloadable behind the video's checks.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dailies_media::{ThumbnailPlan, ThumbnailRequest, thumbnail_name};
use serde_json::{Value, json};

use crate::api::access::{self, Requester, Right};
use crate::api::auth::Caller;
use crate::api::encodes::media_info;
use crate::api::error::ApiError;
use crate::api::files::{Presentation, serve_file};
use crate::api::videos::visible;
use crate::app::App;
use crate::db::encodes::state;
use crate::db::thumbnails::{self, ThumbnailSet};
use crate::db::videos::Video;
use crate::ids;
use crate::jobs::enqueue_on_video;
use crate::jobs::make_thumbnails::THUMBNAILS_JOB;
use crate::jobs::queue;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/videos/{id}/thumbnails", get(list).post(create))
        .route("/api/thumbnails/{id}", get(show))
        .route("/api/thumbnails/{id}/{file}", get(image))
}

fn set_json(s: &ThumbnailSet, progress: Option<f64>) -> Value {
    let plan: Option<ThumbnailPlan> = serde_json::from_str(&s.plan).ok();
    let ready = s.state == state::READY;
    let images: Vec<Value> = plan
        .as_ref()
        .map(|p| {
            p.times
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    json!({
                        "index": i,
                        "time_s": t,
                        "url": ready.then(|| format!("/api/thumbnails/{}/{}", s.id, thumbnail_name(i))),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": s.id,
        "video_id": s.video_id,
        "state": s.state,
        "job_id": s.job_id,
        "progress": progress,
        "width": plan.as_ref().map(|p| p.width),
        "images": images,
        "error": s.error,
        "created_at": s.created_at,
    })
}

async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<ThumbnailRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let video = visible(&app, &caller, &id).await?;
    let Json(req) = body?;
    if video.original_file.is_none() {
        return Err(ApiError::Conflict(
            "this video's original is no longer on the server".into(),
        ));
    }
    let duration = match video.duration_s {
        Some(d) => d,
        None => media_info(&app, &video)
            .await?
            .best_duration_s()
            .unwrap_or(0.0),
    };
    let plan = req.plan(duration).map_err(ApiError::Unprocessable)?;
    crate::api::jobs::check_request_room(&app, &video.owner_id).await?;
    let set = queue_set(&app, &video, &plan).await?;
    Ok((StatusCode::CREATED, Json(set_json(&set, None))).into_response())
}

async fn queue_set(
    app: &App,
    video: &Video,
    plan: &ThumbnailPlan,
) -> Result<ThumbnailSet, ApiError> {
    let id = ids::new_id();
    let plan_json = serde_json::to_string(plan).map_err(anyhow::Error::from)?;
    let turn = app.events.appending().await;
    let mut tx = app.db.pool.begin().await.map_err(anyhow::Error::from)?;
    let job_id = enqueue_on_video(
        &mut tx,
        app,
        &video.owner_id,
        &video.id,
        THUMBNAILS_JOB,
        json!({ "set_id": id }),
        None,
    )
    .await?;
    thumbnails::insert(
        &mut tx,
        &id,
        &video.id,
        &video.owner_id,
        &plan_json,
        &job_id,
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    drop(turn);
    app.jobs_added.notify_waiters();
    thumbnails::get(&app.db, &id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn list(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let video = access::video(&app, &req, &id, Right::View).await?;
    let items: Vec<Value> = thumbnails::for_video(&app.db, &video.id)
        .await?
        .iter()
        .map(|s| set_json(s, None))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// The set if the requester may see its video (share-link holders included).
async fn visible_set(
    app: &App,
    req: &Requester,
    id: &str,
) -> Result<(ThumbnailSet, Video), ApiError> {
    if req.is_anonymous() {
        return Err(ApiError::Unauthorized);
    }
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let set = thumbnails::get(&app.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let video = access::video(app, req, &set.video_id, Right::View).await?;
    Ok((set, video))
}

async fn show(
    State(app): State<App>,
    req: Requester,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (set, _) = visible_set(&app, &req, &id).await?;
    let progress = queue::progress_of(&app.db, set.job_id.as_deref()).await?;
    Ok(Json(set_json(&set, progress)))
}

/// One image, by the name the request's JSON gives it; nothing else in the folder is served.
async fn image(
    State(app): State<App>,
    req: Requester,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (set, video) = visible_set(&app, &req, &id).await?;
    let plan: ThumbnailPlan = serde_json::from_str(&set.plan).map_err(anyhow::Error::from)?;
    let known = (0..plan.times.len()).any(|i| thumbnail_name(i) == file);
    if set.state != state::READY || !known {
        return Err(ApiError::NotFound);
    }
    let path = app
        .layout
        .thumbnail_dir(&video.id, &set.id)
        .ok_or(ApiError::NotFound)?
        .join(&file);
    serve_file(&app.storage, &path, &headers, Presentation::default()).await
}
