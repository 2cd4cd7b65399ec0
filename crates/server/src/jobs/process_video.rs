//! The `process` job: probe, decide, make the playable rendition, poster and sprite sheet, and
//! mark the video ready.
//!
//! Idempotent by construction: outputs are written under temporary names and renamed into
//! place, and the row is updated in one statement at the end. A run interrupted anywhere simply
//! runs again and produces the same single result.

use std::time::Duration;

use dailies_media::{self as media, MediaError, Plan, RunOptions};

use crate::app::App;
use crate::db::videos::{self, Processed};
use crate::ingest::recover::to_trash;
use crate::ingest::reject::reject_file;
use crate::jobs::JobError;
use crate::jobs::queue::Job;
use crate::jobs::worker::JobContext;

/// Seconds of ffmpeg time allowed per second of source, beyond the configured minimum.
const TIMEOUT_PER_SOURCE_SECOND: f64 = 10.0;

fn media_error(e: MediaError) -> JobError {
    if matches!(e, MediaError::Cancelled) {
        return JobError::cancelled();
    }
    // The reason file gets the tool's own last words; the API error stays one sentence.
    let details = match &e {
        MediaError::Failed { stderr_tail, .. } => {
            let lines: Vec<&str> = stderr_tail
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        }
        other => other.to_string(),
    };
    JobError {
        message: e.user_message(),
        details: Some(details),
        permanent: e.is_permanent(),
        cancelled: false,
    }
}

pub async fn run(app: &App, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
    let Some(video_id) = job.video_id.as_deref() else {
        return Err(JobError::permanent("process job without a video", None));
    };
    let Some(video) = videos::get(&app.db, video_id).await? else {
        tracing::info!("video is gone; nothing to do");
        return Ok(());
    };
    if video.deleted_at.is_some()
        || video.status == videos::status::READY
        || video.status == videos::status::FAILED
    {
        tracing::info!(status = %video.status, "nothing to do");
        return Ok(());
    }
    let original = video
        .original_file
        .as_deref()
        .and_then(|f| app.layout.video_file(&video.id, f))
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            JobError::permanent("The original file is missing from the server.", None)
        })?;
    let dir = app
        .layout
        .video_dir(&video.id)
        .ok_or_else(|| JobError::permanent("invalid video id", None))?;
    videos::set_processing(&app.db, &video.id).await?;

    let info = media::probe(
        &app.tools,
        &original,
        Duration::from_secs_f64(app.config.probe_timeout_secs),
    )
    .await
    .map_err(media_error)?;
    let limits = media::Limits {
        max_height: app.config.max_height,
        max_pixels: app.config.max_pixels,
        max_duration_s: (app.config.max_duration_s > 0.0).then_some(app.config.max_duration_s),
    };
    let faststart = media::moov_before_mdat(&original).await.unwrap_or(false);
    let plan = media::decide(&info, &limits, faststart)
        .map_err(|r| JobError::permanent(r.reason, None))?;
    tracing::info!(plan = ?plan, "decided");

    let duration = info.duration_s.unwrap_or(0.0);
    let timeout = Duration::from_secs_f64(
        app.config
            .ffmpeg_timeout_secs
            .max(duration * TIMEOUT_PER_SOURCE_SECOND),
    );
    let opts = RunOptions {
        timeout,
        cancel: Some(ctx.cancel.clone()),
    };
    let progress = ctx.progress.clone();
    let mut on_progress = move |p: media::Progress| {
        let _ = progress.send(Some(p));
    };
    let outputs = media::run_pipeline(
        &app.tools,
        &original,
        &info,
        &plan,
        &dir,
        &opts,
        &mut on_progress,
    )
    .await
    .map_err(media_error)?;

    let playable = match &outputs.rendition {
        Some(path) => file_name(path)?,
        None => file_name(&original)?,
    };
    // The metadata users see describes what plays: the rendition when there is one.
    let shown = outputs.rendition_info.as_ref().unwrap_or(&info);
    let v = shown.primary_video();
    let (width, height) = shown
        .display_size()
        .map(|(w, h)| (Some(i64::from(w)), Some(i64::from(h))))
        .unwrap_or((None, None));
    let processed = Processed {
        media_info: serde_json::to_string(&info).map_err(anyhow::Error::from)?,
        duration_s: info.duration_s,
        width,
        height,
        fps: v.and_then(nominal_fps),
        video_codec: v.and_then(|s| s.codec.clone()),
        audio_codec: shown.primary_audio().and_then(|s| s.codec.clone()),
        plan: plan_name(&plan).to_owned(),
        playable_file: playable,
        poster_file: file_name(&outputs.poster)?,
        sprite_file: file_name(&outputs.sprite)?,
        sprite_geometry: serde_json::to_string(&outputs.sprite_geometry)
            .map_err(anyhow::Error::from)?,
    };
    videos::set_ready(&app.db, &video.id, &processed).await?;
    tracing::info!("ready");
    Ok(())
}

/// The frame rate to show: the nominal rate of a constant-rate stream (the average is skewed by
/// container rounding, 24.86 for a 25 fps remux), the average for a variable-rate one. A nominal
/// rate far above the average is the field rate of interlaced video, not a frame rate.
fn nominal_fps(s: &media::StreamInfo) -> Option<f64> {
    match (s.r_frame_rate, s.frame_rate) {
        (Some(r), Some(avg)) if !s.variable_frame_rate && r <= avg * 1.5 => Some(r),
        (_, Some(avg)) => Some(avg),
        (r, None) => r,
    }
}

pub fn plan_name(plan: &Plan) -> &'static str {
    match plan {
        Plan::Keep => "keep",
        Plan::Remux => "remux",
        Plan::Transcode(_) => "transcode",
    }
}

fn file_name(path: &std::path::Path) -> Result<String, JobError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| JobError::permanent("output has no file name", None))
}

/// The job is given up: the original goes to `rejected/` with the reason, the row says why,
/// and nothing of the video is left in `media/`.
pub async fn give_up(app: &App, job: &Job, e: &JobError) -> anyhow::Result<()> {
    let Some(video_id) = job.video_id.as_deref() else {
        return Ok(());
    };
    let Some(video) = videos::get(&app.db, video_id).await? else {
        return Ok(());
    };
    let original = video
        .original_file
        .as_deref()
        .and_then(|f| app.layout.video_file(&video.id, f))
        .filter(|p| p.is_file());
    let reason = format!(
        "'{}' could not be made playable: {}",
        video.original_filename, e.message
    );
    if let Some(original) = original {
        let layout = app.layout.clone();
        let (name, reason_text, details) = (
            video.original_filename.clone(),
            reason.clone(),
            e.details.clone(),
        );
        tokio::task::spawn_blocking(move || {
            reject_file(&layout, &original, &name, &reason_text, details.as_deref())
        })
        .await??;
    }
    videos::set_failed(&app.db, &video.id, &e.message).await?;
    to_trash(app, &video.id).await?;
    if let Some(trashed) = app.layout.trash_dir(&video.id) {
        let _ = tokio::fs::remove_dir_all(trashed).await;
    }
    Ok(())
}

/// A cancelled run may leave temporary outputs; the pipeline removes its own, this puts the
/// video back to a state a retry can start from.
pub async fn cleanup_after_cancel(app: &App, job: &Job) {
    if let Some(video_id) = job.video_id.as_deref() {
        let _ = videos::set_queued_after_error(&app.db, video_id, "processing was cancelled").await;
    }
}
