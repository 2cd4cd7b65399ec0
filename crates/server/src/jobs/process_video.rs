//! The `process` job: probe, decide, make the playable rendition, poster and sprite sheet, and
//! mark the video ready.
//!
//! Idempotent by construction: outputs are written under temporary names and renamed into
//! place, and the row is updated in one statement at the end. A run interrupted anywhere simply
//! runs again and produces the same single result.

use std::path::PathBuf;
use std::time::Duration;

use dailies_media::{self as media, MediaError, RunOptions};

use crate::app::App;
use crate::db::videos::{self, Processed};
use crate::ingest::reject::reject_file;
use crate::jobs::JobError;
use crate::jobs::queue::Job;
use crate::jobs::worker::JobContext;

/// Seconds of ffmpeg time allowed per second of source, beyond the configured minimum.
const TIMEOUT_PER_SOURCE_SECOND: f64 = 10.0;

pub(crate) fn media_error(e: MediaError) -> JobError {
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
    // A run allowed ten times the source's duration (and at least `ffmpeg_timeout_secs`) that
    // still did not finish is a file ffmpeg chokes on, not bad luck: retrying would only block
    // the worker for as long again.
    let permanent = e.is_permanent() || matches!(e, MediaError::Timeout { .. });
    JobError {
        message: e.user_message(),
        details: Some(details),
        permanent,
        cancelled: false,
    }
}

/// How long ffmpeg may run on this source, and the job's cancel.
pub(crate) fn run_options(app: &App, info: &media::MediaInfo, ctx: &JobContext) -> RunOptions {
    let duration = info.duration_s.unwrap_or(0.0);
    let timeout = Duration::from_secs_f64(
        app.config
            .ffmpeg_timeout_secs
            .max(duration * TIMEOUT_PER_SOURCE_SECOND),
    );
    RunOptions {
        timeout,
        cancel: Some(ctx.cancel.clone()),
    }
}

/// Probes a file, unless the job is cancelled first (dropping the probe kills ffprobe).
pub(crate) async fn probe(
    app: &App,
    file: &media::Source,
    ctx: &JobContext,
) -> Result<media::MediaInfo, JobError> {
    let probe_timeout = Duration::from_secs_f64(app.config.probe_timeout_secs);
    tokio::select! {
        info = media::probe(&app.tools, file, probe_timeout) => info.map_err(media_error),
        _ = ctx.cancel.cancelled() => Err(JobError::cancelled()),
    }
}

/// A video that is not deleted, with its original: what every job that works from the original
/// needs first.
pub(crate) async fn live_original(
    app: &App,
    video_id: &str,
) -> Result<(videos::Video, media::Source), JobError> {
    let video = videos::get(&app.db, video_id)
        .await?
        .filter(|v| v.deleted_at.is_none())
        .ok_or_else(|| JobError::permanent("The video was deleted.", None))?;
    let original = original_source(app, &video).await?;
    Ok((video, original))
}

/// The original of a video as the media tools must read it: its path on this node (fetched from
/// the bucket first with S3 storage; the caller holds a [`crate::storage::Pin`] on the video)
/// and, for a raw `.yuv` file, the format recorded in `ingest.json` when it was registered.
/// Every job and request that reads an original gets it here. The error's message is a
/// sentence for people.
pub(crate) async fn original_source(
    app: &App,
    video: &videos::Video,
) -> Result<media::Source, JobError> {
    let missing = || JobError::permanent("The original file is missing from the server.", None);
    let path = video
        .original_file
        .as_deref()
        .and_then(|f| app.layout.video_file(&video.id, f))
        .ok_or_else(missing)?;
    if !app.storage.fetch(&path).await? {
        return Err(missing());
    }
    if !media::is_raw_yuv_name(&path.to_string_lossy()) {
        return Ok(media::Source::file(path));
    }
    let not_recorded = || {
        JobError::permanent(
            "The format of this raw .yuv original was not recorded.",
            None,
        )
    };
    let dir = app
        .layout
        .video_dir(&video.id)
        .ok_or_else(|| JobError::permanent("invalid video id", None))?;
    app.storage
        .fetch(&dir.join(crate::ingest::register::INGEST_RECORD))
        .await?;
    let record = crate::ingest::register::read_record(&dir).map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "no ingest record for a raw original");
        not_recorded()
    })?;
    let format = record.raw_video.ok_or_else(not_recorded)?;
    Ok(media::Source::raw(path, format))
}

/// The original of a video, if it is on this node's disk.
pub(crate) fn original_path(app: &App, video: &videos::Video) -> Option<PathBuf> {
    video
        .original_file
        .as_deref()
        .and_then(|f| app.layout.video_file(&video.id, f))
        .filter(|p| p.is_file())
}

pub async fn run(app: &App, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
    let Some(video_id) = job.video_id.as_deref() else {
        return Err(JobError::permanent("process job without a video", None));
    };
    let Some(video) = videos::get(&app.db, video_id).await? else {
        tracing::info!("video is gone; nothing to do");
        return Ok(());
    };
    if video.deleted_at.is_some() || video.status == videos::status::READY {
        tracing::info!(status = %video.status, "nothing to do");
        return Ok(());
    }
    let original = original_source(app, &video).await?;
    let dir = app
        .layout
        .video_dir(&video.id)
        .ok_or_else(|| JobError::permanent("invalid video id", None))?;
    videos::set_processing(&app.db, &video.id).await?;

    let info = probe(app, &original, ctx).await?;
    let faststart = media::is_streamable_mp4(original.path())
        .await
        .unwrap_or(false);
    let plan = media::decide(&info, &app.config.limits(), faststart)
        .map_err(|r| JobError::permanent(r.reason, None))?;
    tracing::info!(plan = ?plan, "decided");

    let opts = run_options(app, &info, ctx);
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

    // With S3 storage the outputs go up before the row names them.
    for output in [
        Some(&outputs.poster),
        Some(&outputs.sprite),
        outputs.rendition.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        app.storage.publish(output).await?;
    }
    let playable = match &outputs.rendition {
        Some(path) => file_name(path)?,
        None => file_name(original.path())?,
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
        plan: plan.name().to_owned(),
        playable_file: playable,
        poster_file: file_name(&outputs.poster)?,
        sprite_file: file_name(&outputs.sprite)?,
        sprite_geometry: serde_json::to_string(&outputs.sprite_geometry)
            .map_err(anyhow::Error::from)?,
    };
    // Only while this worker still holds the job: one that lost its lease must not overwrite
    // the result of the worker that took over.
    if !videos::set_ready_if_leased(&app.db, &video.id, &processed, &job.id, &ctx.owner).await? {
        return Err(JobError::transient(
            "the job's lease was lost before it finished",
            None,
        ));
    }
    tracing::info!("ready");
    if let Some(ready) = videos::get(&app.db, &video.id).await? {
        crate::jobs::make_torrents::ensure_job(app, &ready).await?;
    }
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

fn file_name(path: &std::path::Path) -> Result<String, JobError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| JobError::permanent("output has no file name", None))
}

/// The job is given up: the original goes to `rejected/` with the reason, the row says why,
/// and nothing of the video is left in `media/`. A video deleted meanwhile is left as it is, in
/// the trash, for its owner to restore.
pub async fn give_up(app: &App, job: &Job, e: &JobError) -> anyhow::Result<()> {
    let Some(video_id) = job.video_id.as_deref() else {
        return Ok(());
    };
    let Some(video) = videos::get(&app.db, video_id).await? else {
        return Ok(());
    };
    if video.deleted_at.is_some() {
        return Ok(());
    }
    let dir = app.layout.video_dir(&video.id);
    if let (true, Some(name), Some(dir)) = (
        app.storage.is_remote(),
        video.original_file.as_deref(),
        dir.as_ref(),
    ) && !app.storage.fetch(&dir.join(name)).await.unwrap_or(false)
    {
        // The original cannot be brought here to set aside: it stays in the bucket.
        videos::set_failed(&app.db, &video.id, &e.message).await?;
        return Ok(());
    }
    if let Some(original) = original_path(app, &video) {
        let layout = app.layout.clone();
        let name = video.original_filename.clone();
        let reason = format!("'{name}' could not be made playable: {}", e.message);
        let details = e.details.clone();
        tokio::task::spawn_blocking(move || {
            reject_file(&layout, &original, &name, &reason, details.as_deref())
        })
        .await??;
    }
    videos::set_failed(&app.db, &video.id, &e.message).await?;
    if let Some(dir) = dir {
        app.storage.remove(&dir).await?;
    }
    Ok(())
}

/// A cancelled video keeps its original (nothing was wrong with it) and says it was cancelled;
/// retrying its job processes it again.
pub async fn cleanup_after_cancel(app: &App, job: &Job) {
    if let Some(video_id) = job.video_id.as_deref() {
        let _ = videos::set_cancelled(&app.db, video_id).await;
    }
}
