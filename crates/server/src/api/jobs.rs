//! The jobs API: what is queued, running and finished on the caller's videos (everyone's for
//! admins), with cancel and retry.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::encodes;
use crate::db::videos;
use crate::events::{NewEvent, kind};
use crate::ids;
use crate::ingest::register::PROCESS_JOB;
use crate::jobs::encode_video::ENCODE_JOB;
use crate::jobs::make_thumbnails::THUMBNAILS_JOB;
use crate::jobs::queue::{self, JobView, ListJobs};

const STATES: &[&str] = &["queued", "running", "done", "failed", "cancelled"];
const KINDS: &[&str] = &[PROCESS_JOB, ENCODE_JOB, THUMBNAILS_JOB];
const MAX_LIMIT: i64 = 500;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/jobs", get(list))
        .route("/api/jobs/{id}", get(show))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/jobs/{id}/retry", post(retry))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    kind: Option<String>,
    video: Option<String>,
    limit: Option<i64>,
}

fn one_of<'a>(
    what: &str,
    value: Option<&'a str>,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(ApiError::BadRequest(format!(
            "unknown {what} '{v}'; use one of: {}",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let state = one_of("state", q.state.as_deref(), STATES)?;
    let kind = one_of("kind", q.kind.as_deref(), KINDS)?;
    if q.video.as_deref().is_some_and(|v| !ids::is_valid_id(v)) {
        return Err(ApiError::BadRequest("video must be a video id".into()));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let items = queue::list(
        &app.db,
        &ListJobs {
            owner_id: (!caller.0.is_admin).then_some(caller.0.id.as_str()),
            state,
            kind,
            video_id: q.video.as_deref(),
            limit,
        },
    )
    .await?;
    let items: Vec<JobView> = items.into_iter().map(|j| for_caller(j, &caller)).collect();
    Ok(Json(json!({ "items": items })))
}

/// A job's error has a sentence for its owner, then (for admins) the tool's last words, which
/// can name server paths.
fn for_caller(mut job: JobView, caller: &Caller) -> JobView {
    if !caller.0.is_admin {
        job.error = job
            .error
            .map(|e| e.lines().next().unwrap_or_default().to_owned());
    }
    job
}

/// The job if the caller may see it: jobs on someone else's video do not exist for them.
async fn visible(app: &App, caller: &Caller, id: &str) -> Result<JobView, ApiError> {
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    match queue::view(&app.db, id).await? {
        // A job on nobody's video (none today) is for administrators only.
        Some(j)
            if caller.0.is_admin
                || j.owner_id
                    .as_deref()
                    .is_some_and(|owner| caller.may_see(owner)) =>
        {
            Ok(for_caller(j, caller))
        }
        _ => Err(ApiError::NotFound),
    }
}

async fn show(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(visible(&app, &caller, &id).await?))
}

/// Stops a job: a queued one at once, a running one within moments (its ffmpeg is stopped and
/// its partial output removed by the worker).
async fn cancel(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = visible(&app, &caller, &id).await?;
    if !queue::request_cancel(&app.db, &job.id).await? {
        return Err(ApiError::Conflict(format!(
            "the job is already {}; only queued or running jobs can be cancelled",
            job.state
        )));
    }
    let after = visible(&app, &caller, &id).await?;
    if after.state == "cancelled" {
        if let Some(v) = &after.video_id
            && after.kind == PROCESS_JOB
        {
            videos::set_cancelled(&app.db, v).await?;
        }
        mark_request(&app, &after.id, &after.kind, encodes::state::CANCELLED).await?;
        app.publish(NewEvent::job(
            kind::JOB_CANCELLED,
            after.owner_id.as_deref(),
            after.video_id.as_deref(),
            &after.id,
            json!({ "state": "cancelled" }),
        ))
        .await;
    }
    // A running job hears of it from its lease keeper, woken now instead of at its next beat.
    app.cancels_requested.notify_waiters();
    Ok(Json(after))
}

/// Puts a failed or cancelled job back in the queue with a fresh set of attempts.
async fn retry(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = visible(&app, &caller, &id).await?;
    if !matches!(job.state.as_str(), "failed" | "cancelled") {
        return Err(ApiError::Conflict(format!(
            "the job is {}; only failed or cancelled jobs can be retried",
            job.state
        )));
    }
    if job.kind == PROCESS_JOB
        && let Some(v) = &job.video_id
        && !videos::set_requeued(&app.db, v).await?
    {
        return Err(ApiError::Conflict(
            "this video's original was put aside in rejected/ when processing failed, or the \
             video was deleted; add the file again instead"
                .into(),
        ));
    }
    if !queue::retry(&app.db, &job.id).await? {
        return Err(ApiError::Conflict(
            "the job changed meanwhile; look again".into(),
        ));
    }
    mark_request(&app, &job.id, &job.kind, encodes::state::QUEUED).await?;
    app.jobs_added.notify_waiters();
    let after = visible(&app, &caller, &id).await?;
    app.publish(NewEvent::job(
        kind::JOB_QUEUED,
        after.owner_id.as_deref(),
        after.video_id.as_deref(),
        &after.id,
        json!({ "state": "queued", "retry": true }),
    ))
    .await;
    Ok(Json(after))
}

/// Keeps the request a job works for (an encode, a thumbnail set) in step with the job.
async fn mark_request(app: &App, job_id: &str, kind: &str, state: &str) -> Result<(), ApiError> {
    let Some(job) = queue::get(&app.db, job_id).await? else {
        return Ok(());
    };
    match kind {
        ENCODE_JOB => {
            if let Some(id) = job.payload["encode_id"].as_str() {
                encodes::set_state(&app.db, id, state, None, None).await?;
            }
        }
        THUMBNAILS_JOB => {
            if let Some(id) = job.payload["set_id"].as_str() {
                crate::db::thumbnails::set_state(&app.db, id, state, None).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Encode and thumbnail requests one user may have waiting or running at once, so one person
/// cannot fill the queue for everyone.
pub const MAX_REQUESTS_PER_USER: i64 = 20;

/// Refuses another request from someone who has [`MAX_REQUESTS_PER_USER`] unfinished.
pub async fn check_request_room(app: &App, owner_id: &str) -> Result<(), ApiError> {
    if queue::unfinished_requests(&app.db, owner_id).await? >= MAX_REQUESTS_PER_USER {
        return Err(ApiError::TooMany(format!(
            "you have {MAX_REQUESTS_PER_USER} encodes or thumbnail requests waiting or running; \
             try again when some have finished"
        )));
    }
    Ok(())
}
