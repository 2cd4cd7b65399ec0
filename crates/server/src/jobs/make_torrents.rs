//! The `torrent` job: a .torrent for every shareable rendition of a video that lacks one, and
//! none for a rendition no longer shared (the original once downloads are turned off).
//!
//! One job per video covers all its renditions, so a burst of triggers (processing done, an
//! encode done, downloads allowed) costs one queued job. Hashing reads each file once on a
//! blocking thread; a cancel stops it between buffers. The stored torrent has no tracker and no
//! web seed: those are written in when it is served ([`crate::torrents::links`]).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dailies_media::Progress;
use dailies_torrent::{CreateError, TorrentSpec, TorrentVersion, create_torrent_with_progress};
use serde_json::json;

use crate::app::App;
use crate::config::TorrentVersionSetting;
use crate::db::torrents::{self as torrent_rows, Torrent};
use crate::db::videos::{self, Video};
use crate::events::{NewEvent, kind};
use crate::jobs::queue::{self, Job};
use crate::jobs::worker::JobContext;
use crate::jobs::{JobError, enqueue_on_video};
use crate::torrents::{self, Rendition, Shareable};

/// The job kind.
pub const TORRENT_JOB: &str = "torrent";

pub async fn run(app: &App, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
    let Some(video_id) = job.video_id.as_deref() else {
        return Err(JobError::permanent("torrent job without a video", None));
    };
    let Some(video) = videos::get(&app.db, video_id).await? else {
        tracing::info!("video is gone; nothing to do");
        return Ok(());
    };
    let wanted = torrents::rendition::shareable(app, &video).await?;
    let existing = torrent_rows::for_video(&app.db, &video.id).await?;
    let mut changed = remove_unshared(app, &video, &existing, &wanted).await?;

    let mut missing = Vec::new();
    for s in wanted {
        let have = existing.iter().find(|t| t.rendition == s.rendition.key());
        // An unreadable file counts as missing, as before storage could be a bucket.
        let file_len = app.storage.len(&s.path).await.ok().flatten();
        let stored = match app.layout.torrent_file(&video.id, &s.rendition) {
            Some(p) => app.storage.len(&p).await.ok().flatten().is_some(),
            None => false,
        };
        match (have, file_len) {
            (Some(t), Some(len)) if stored && t.size_bytes as u64 == len => {}
            (_, Some(len)) => missing.push((s, len)),
            (_, None) => tracing::warn!(rendition = %s.rendition.key(), "file missing; no torrent"),
        }
    }
    let total: u64 = missing.iter().map(|(_, len)| len).sum();
    let mut done_before = 0u64;
    let started = Instant::now();
    for (s, len) in missing {
        let row = make_one(app, &video, &s, ctx, done_before, total, started).await?;
        torrents::tracker::allow(&app.tracker, &row);
        tracing::info!(rendition = %row.rendition, info_hash = ?row.info_hash_v1, "torrent made");
        done_before += len;
        changed = true;
    }
    if changed {
        torrent_rows::ensure_webseed_token(&app.db, &video.id).await?;
        let keys: Vec<String> = torrent_rows::for_video(&app.db, &video.id)
            .await?
            .into_iter()
            .map(|t| t.rendition)
            .collect();
        app.publish(NewEvent::video(
            kind::VIDEO_UPDATED,
            &video.owner_id,
            &video.id,
            json!({ "torrents": keys }),
        ))
        .await;
    }
    Ok(())
}

/// Hashes one rendition and stores its torrent (written beside, then renamed into place).
async fn make_one(
    app: &App,
    video: &Video,
    s: &Shareable,
    ctx: &JobContext,
    done_before: u64,
    total: u64,
    started: Instant,
) -> Result<Torrent, JobError> {
    let target = app
        .layout
        .torrent_file(&video.id, &s.rendition)
        .ok_or_else(|| JobError::permanent("invalid video id", None))?;
    if !app.storage.fetch(&s.path).await? {
        return Err(JobError::transient("The file to share is missing.", None));
    }
    let mut spec = TorrentSpec::single_file(&s.path, &s.name);
    spec.version = match app.config.torrent_version {
        TorrentVersionSetting::V1 => TorrentVersion::V1,
        TorrentVersionSetting::Hybrid => TorrentVersion::Hybrid,
    };
    let cancel = ctx.cancel.clone();
    let progress = ctx.progress.clone();
    let created = tokio::task::spawn_blocking(move || {
        create_torrent_with_progress(&spec, &mut |hashed, _| {
            let so_far = done_before + hashed;
            let fraction = (total > 0).then(|| (so_far as f64 / total as f64).clamp(0.0, 1.0));
            let elapsed = started.elapsed().as_secs_f64();
            let eta = (so_far > 0 && elapsed > 0.0).then(|| {
                let rate = so_far as f64 / elapsed;
                std::time::Duration::from_secs_f64(total.saturating_sub(so_far) as f64 / rate)
            });
            let _ = progress.send(Some(Progress {
                out_time_s: 0.0,
                fraction,
                speed: None,
                eta,
                done: false,
            }));
            !cancel.is_cancelled()
        })
    })
    .await
    .map_err(|e| JobError::transient("the hashing task stopped", Some(e.to_string())))?;
    let created = match created {
        Ok(c) => c,
        Err(CreateError::Cancelled) => return Err(JobError::cancelled()),
        Err(e) if e.is_permanent() => {
            return Err(JobError::permanent(
                "This file cannot be shared as a torrent.",
                Some(e.to_string()),
            ));
        }
        Err(e) => {
            return Err(JobError::transient(
                "The file could not be read to make its torrent.",
                Some(e.to_string()),
            ));
        }
    };
    let dir = target
        .parent()
        .ok_or_else(|| JobError::permanent("invalid torrent path", None))?;
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(anyhow::Error::from)?;
    let partial = target.with_extension("torrent.partial");
    tokio::fs::write(&partial, &created.bytes)
        .await
        .map_err(anyhow::Error::from)?;
    tokio::fs::rename(&partial, &target)
        .await
        .map_err(anyhow::Error::from)?;
    app.storage.publish(&target).await?;
    let row = Torrent {
        video_id: video.id.clone(),
        rendition: s.rendition.key(),
        name: created.name.clone(),
        size_bytes: created.total_length as i64,
        piece_length: created.piece_length as i64,
        info_hash_v1: created.info_hashes.v1_hex(),
        info_hash_v2: created.info_hashes.v2_hex(),
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    };
    torrent_rows::upsert(&app.db, &row).await?;
    Ok(row)
}

/// Torrents of renditions no longer shared are forgotten (row, file, tracker entry).
async fn remove_unshared(
    app: &App,
    video: &Video,
    existing: &[Torrent],
    wanted: &[Shareable],
) -> anyhow::Result<bool> {
    let mut changed = false;
    for t in existing {
        if wanted.iter().any(|s| s.rendition.key() == t.rendition) {
            continue;
        }
        torrent_rows::delete(&app.db, &video.id, &t.rendition).await?;
        torrents::tracker::withdraw(&app.tracker, &app.db, t).await?;
        if let Some(path) =
            Rendition::parse(&t.rendition).and_then(|r| app.layout.torrent_file(&video.id, &r))
            && let Err(e) = app.storage.remove(&path).await
        {
            tracing::warn!(error = %format!("{e:#}"), "cannot remove a withdrawn torrent");
        }
        tracing::info!(rendition = %t.rendition, "torrent withdrawn");
        changed = true;
    }
    Ok(changed)
}

/// Queues a torrent job for the video unless one is already waiting (a running one may have
/// looked before the latest change, so it does not count).
pub async fn ensure_job(app: &App, video: &Video) -> anyhow::Result<()> {
    if !app.config.torrents {
        return Ok(());
    }
    let waiting = queue::for_video(&app.db, &video.id)
        .await?
        .iter()
        .any(|j| j.kind == TORRENT_JOB && j.state == "queued");
    if waiting {
        return Ok(());
    }
    let turn = app.events.appending().await;
    let mut tx = app.db.pool.begin().await?;
    enqueue_on_video(
        &mut tx,
        app,
        &video.owner_id,
        &video.id,
        TORRENT_JOB,
        json!({}),
        None,
    )
    .await?;
    tx.commit().await?;
    drop(turn);
    app.jobs_added.notify_waiters();
    Ok(())
}

/// Ready videos with no playable torrent and no torrent job that could make one: videos from
/// before torrents existed, or whose trigger was lost to a crash. Run with maintenance.
pub async fn queue_missing(app: &App) -> anyhow::Result<usize> {
    if !app.config.torrents {
        return Ok(0);
    }
    let ids = videos::ready_without_torrent(&app.db).await?;
    let mut queued = 0;
    for id in ids {
        if let Some(video) = videos::get(&app.db, &id).await? {
            ensure_job(app, &video).await?;
            queued += 1;
        }
    }
    Ok(queued)
}
