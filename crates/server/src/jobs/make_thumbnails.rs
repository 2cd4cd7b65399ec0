//! The `thumbnails` job: the frames a request planned, written as JPEGs into the video's
//! `thumbnails/<set>/` folder. Each image is written under a temporary name and renamed, so a
//! rerun after a crash simply writes them again; a cancelled or failed request keeps none.

use dailies_media::{self as media, ThumbnailPlan};

use crate::app::App;
use crate::db::encodes::state;
use crate::db::thumbnails;
use crate::jobs::JobError;
use crate::jobs::process_video::{live_original, media_error, run_options};
use crate::jobs::queue::Job;
use crate::jobs::worker::JobContext;

pub const THUMBNAILS_JOB: &str = "thumbnails";

fn set_id(job: &Job) -> Result<String, JobError> {
    job.payload["set_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| JobError::permanent("thumbnails job without a request id", None))
}

pub async fn run(app: &App, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
    let id = set_id(job)?;
    let Some(set) = thumbnails::get(&app.db, &id).await? else {
        return Ok(());
    };
    if set.state == state::READY {
        return Ok(());
    }
    let plan: ThumbnailPlan = serde_json::from_str(&set.plan)
        .map_err(|e| JobError::permanent(format!("stored plan is unreadable: {e}"), None))?;
    let (video, original) = live_original(app, &set.video_id).await?;
    let dir = app
        .layout
        .thumbnail_dir(&video.id, &id)
        .ok_or_else(|| JobError::permanent("invalid request id", None))?;
    let info = crate::jobs::process_video::probe(app, &original, ctx).await?;
    let opts = run_options(app, &info, ctx);
    let progress = ctx.progress.clone();
    let mut on_progress = move |p: media::Progress| {
        let _ = progress.send(Some(p));
    };
    media::run_thumbnails(&app.tools, &original, &plan, &dir, &opts, &mut on_progress)
        .await
        .map_err(media_error)?;
    app.storage.publish(&dir).await?;
    thumbnails::set_state(&app.db, &id, state::READY, None).await?;
    tracing::info!(set = %id, images = plan.times.len(), "thumbnails ready");
    Ok(())
}

async fn discard(app: &App, job: &Job, state: &str, error: Option<&str>) -> anyhow::Result<()> {
    let Ok(id) = set_id(job) else { return Ok(()) };
    if let Some(set) = thumbnails::get(&app.db, &id).await?
        && let Some(dir) = app.layout.thumbnail_dir(&set.video_id, &id)
    {
        app.storage.remove(&dir).await?;
    }
    thumbnails::set_state(&app.db, &id, state, error).await
}

/// No attempts left: no images are kept, and the request says why.
pub async fn give_up(app: &App, job: &Job, e: &JobError) -> anyhow::Result<()> {
    discard(app, job, state::FAILED, Some(&e.message)).await
}

/// Cancelled: the images made so far go too.
pub async fn cancelled(app: &App, job: &Job) {
    if let Err(e) = discard(app, job, state::CANCELLED, None).await {
        tracing::warn!(error = %format!("{e:#}"), "cannot clean up cancelled thumbnails");
    }
}
