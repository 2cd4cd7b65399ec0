//! The `encode` job: a video encoded with the options its owner chose, from the original.
//!
//! Idempotent: the result is written under a temporary name and renamed into place, and the
//! request is marked ready only then. A cancelled or failed run leaves nothing behind (the
//! temporary file is removed with the run).

use dailies_media::{self as media, EncodeSpec};

use crate::app::App;
use crate::db::encodes::{self, state};
use crate::jobs::JobError;
use crate::jobs::process_video::{live_original, media_error, probe, run_options};
use crate::jobs::queue::Job;
use crate::jobs::worker::JobContext;

/// The job kind.
pub const ENCODE_JOB: &str = "encode";

fn encode_id(job: &Job) -> Result<String, JobError> {
    job.payload["encode_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| JobError::permanent("encode job without an encode id", None))
}

pub async fn run(app: &App, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
    let id = encode_id(job)?;
    let Some(encode) = encodes::get(&app.db, &id).await? else {
        tracing::info!("the encode request is gone; nothing to do");
        return Ok(());
    };
    if encode.state == state::READY {
        return Ok(());
    }
    let spec: EncodeSpec = serde_json::from_str(&encode.options)
        .map_err(|e| JobError::permanent(format!("stored options are unreadable: {e}"), None))?;
    let (video, original) = live_original(app, &encode.video_id).await?;
    let name = output_name(&id, &spec);
    let output = app
        .layout
        .encode_file(&video.id, &name)
        .ok_or_else(|| JobError::permanent("invalid encode id", None))?;
    let info = probe(app, &original, ctx).await?;
    let encoders = app.encoders().await;
    let opts = run_options(app, &info, ctx);
    let progress = ctx.progress.clone();
    let mut on_progress = move |p: media::Progress| {
        let _ = progress.send(Some(p));
    };
    let done = match &spec.encoder {
        Some(name) => {
            let external = app.config.encoders.get(name).ok_or_else(|| {
                JobError::permanent(
                    format!("The encoder '{name}' is no longer configured on this server."),
                    None,
                )
            })?;
            media::run_external_encode(
                &app.tools,
                external,
                &original,
                &info,
                &spec,
                &output,
                &opts,
                &mut on_progress,
            )
            .await
        }
        None => {
            let outro = match spec.outro {
                true => {
                    let clip = app.config.outro_clip.clone();
                    if !clip.is_file() {
                        return Err(JobError::permanent(
                            "The closing clip is no longer configured on this server.",
                            None,
                        ));
                    }
                    let clip_info = probe(app, &media::Source::file(clip.clone()), ctx).await?;
                    Some((clip, clip_info))
                }
                false => None,
            };
            media::run_encode(
                &app.tools,
                &encoders,
                &original,
                &info,
                &spec,
                outro.as_ref().map(|(p, i)| (p.as_path(), i)),
                &output,
                &opts,
                &mut on_progress,
            )
            .await
        }
    };
    done.map_err(media_error)?;
    let size = tokio::fs::metadata(&output)
        .await
        .map(|m| m.len() as i64)
        .map_err(anyhow::Error::from)?;
    app.storage.publish(&output).await?;
    encodes::set_state(&app.db, &id, state::READY, Some((&name, size)), None).await?;
    tracing::info!(encode = %id, bytes = size, "encode ready");
    crate::jobs::make_torrents::ensure_job(app, &video).await?;
    Ok(())
}

/// The result's file name in `media/<video>/encodes/`.
fn output_name(id: &str, spec: &EncodeSpec) -> String {
    format!("{id}.{}", spec.container.extension())
}

/// No attempts left: the request says why.
pub async fn give_up(app: &App, job: &Job, e: &JobError) -> anyhow::Result<()> {
    if let Ok(id) = encode_id(job) {
        encodes::set_state(&app.db, &id, state::FAILED, None, Some(&e.message)).await?;
        remove_stored_result(app, &id).await;
    }
    Ok(())
}

/// Cancelled: the partial output went with the run; the request says so.
pub async fn cancelled(app: &App, job: &Job) {
    if let Ok(id) = encode_id(job) {
        let _ = encodes::set_state(&app.db, &id, state::CANCELLED, None, None).await;
        remove_stored_result(app, &id).await;
    }
}

/// A result stored by a run that died before recording it (only a bucket can hold one: a
/// local partial output goes with its run).
async fn remove_stored_result(app: &App, id: &str) {
    if !app.storage.is_remote() {
        return;
    }
    let Ok(Some(encode)) = encodes::get(&app.db, id).await else {
        return;
    };
    let Ok(spec) = serde_json::from_str::<EncodeSpec>(&encode.options) else {
        return;
    };
    let name = output_name(id, &spec);
    if let Some(path) = app.layout.encode_file(&encode.video_id, &name)
        && let Err(e) = app.storage.remove(&path).await
    {
        tracing::warn!(error = %format!("{e:#}"), "cannot remove an unrecorded encode");
    }
}
