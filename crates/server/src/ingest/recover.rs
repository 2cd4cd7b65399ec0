//! Start-up reconciliation between `media/` and the database, after any kind of crash.
//!
//! - a folder with no row but a complete `ingest.json` and original: the crash hit between
//!   placing the file and committing; the registration is finished now.
//! - a folder with no row and no usable record: it never became a video; it goes to `trash/`.
//! - a row deleted whose folder is still in `media/`: the folder goes to `trash/`; a failed
//!   one's folder is removed (its original is already in `rejected/`).
//!
//! A folder touched in the last [`QUIET_PERIOD`] is left alone: it may be a registration still
//! in progress in another process (`dailies import` copying a large file, or another node).
//!
//! With S3 storage `media/` is scratch space: a quiet folder of a known video is what a killed
//! job left and is removed; a trashed video's objects stay in the bucket until it is purged.

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use sqlx::Row;

use crate::app::App;
use crate::db::videos;
use crate::ids;
use crate::ingest::register::{INGEST_RECORD, IngestRecord, insert_video_and_job};

/// How long a folder must have been untouched before recovery may act on it.
pub const QUIET_PERIOD: Duration = Duration::from_secs(600);

/// Whether anything in the folder (or the folder itself) changed within `period`.
fn recently_touched(dir: &Path, period: Duration) -> bool {
    let now = SystemTime::now();
    let recent = |m: std::io::Result<std::fs::Metadata>| {
        m.ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_none_or(|age| age < period)
    };
    if recent(std::fs::metadata(dir)) {
        return true;
    }
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().any(|e| recent(e.metadata())))
        .unwrap_or(false)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    pub completed: usize,
    pub trashed: usize,
}

pub async fn reconcile(app: &App, quiet: Duration) -> Result<Recovery> {
    let mut report = Recovery::default();
    let mut entries = tokio::fs::read_dir(app.layout.media()).await?;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !ids::is_valid_id(&name) {
            // Not ours (or a temp name): leave it for a person, but say so.
            tracing::warn!(path = %path.display(), "unexpected entry in media/");
            continue;
        }
        if app.storage.is_pinned(&name) {
            // A registration or job of this process is at work in it.
            continue;
        }
        let row = sqlx::query("SELECT status, deleted_at FROM videos WHERE id = $1")
            .bind(&name)
            .fetch_optional(&app.db.pool)
            .await?;
        match row {
            Some(_) if app.storage.is_remote() => {
                if !recently_touched(&path, quiet) {
                    tokio::fs::remove_dir_all(&path).await?;
                }
            }
            Some(r) => {
                let deleted: Option<i64> = r.try_get("deleted_at")?;
                let status: String = r.try_get("status")?;
                if deleted.is_some() {
                    to_trash(app, &name).await?;
                    report.trashed += 1;
                } else if status == videos::status::FAILED {
                    tokio::fs::remove_dir_all(&path).await?;
                    report.trashed += 1;
                }
            }
            None if recently_touched(&path, quiet) => {}
            None => {
                let record = tokio::fs::read(path.join(INGEST_RECORD))
                    .await
                    .ok()
                    .and_then(|b| serde_json::from_slice::<IngestRecord>(&b).ok())
                    .filter(|r| r.id == name && path.join(&r.original_file).is_file());
                match record {
                    Some(record) => {
                        app.storage.push(&path).await?;
                        insert_video_and_job(app, &record).await?;
                        if app.storage.is_remote() {
                            tokio::fs::remove_dir_all(&path).await?;
                        }
                        tracing::info!(video = %name, "finished an interrupted registration");
                        report.completed += 1;
                    }
                    None => {
                        to_trash(app, &name).await?;
                        report.trashed += 1;
                    }
                }
            }
        }
    }
    Ok(report)
}

/// With S3 storage, on a worker node: removes scratch folders that jobs of an earlier run left
/// (a killed worker), unless in use or touched within `quiet` (another process on this data
/// dir). Returns how many went.
pub async fn clear_stale_scratch(app: &App, quiet: Duration) -> Result<usize> {
    if !app.storage.is_remote() {
        return Ok(0);
    }
    let mut removed = 0;
    let mut entries = tokio::fs::read_dir(app.layout.media()).await?;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // `.<id>.gone-…`: a folder being cleared when the process stopped.
        let abandoned = name.starts_with('.') && name.contains(".gone-");
        if abandoned
            || ids::is_valid_id(&name)
                && !app.storage.is_pinned(&name)
                && !recently_touched(&path, quiet)
        {
            tokio::fs::remove_dir_all(&path).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Moves a video's folder from `media/` to `trash/`, replacing an older trash entry. With S3
/// storage the objects stay where they are until the purge, and only idle scratch space goes.
pub async fn to_trash(app: &App, id: &str) -> Result<()> {
    let (Some(from), Some(to)) = (app.layout.video_dir(id), app.layout.trash_dir(id)) else {
        return Ok(());
    };
    if !from.exists() {
        return Ok(());
    }
    if app.storage.is_remote() {
        if !app.storage.is_pinned(id) {
            tokio::fs::remove_dir_all(&from).await?;
        }
        return Ok(());
    }
    if to.exists() {
        tokio::fs::remove_dir_all(&to).await?;
    }
    tokio::fs::rename(&from, &to).await?;
    Ok(())
}

/// Removes trashed videos older than the retention period, files first, then rows.
pub async fn purge_trash(app: &App) -> Result<usize> {
    let keep_ms = (app.config.trash_retention_days * 86_400_000.0) as i64;
    let ids = videos::ids_deleted_before(&app.db, crate::db::now_ms() - keep_ms).await?;
    let mut purged = 0;
    for id in &ids {
        // One video that cannot be purged must not keep the others in the trash.
        let done = async {
            if let Some(dir) = app.layout.trash_dir(id).filter(|d| d.exists()) {
                tokio::fs::remove_dir_all(&dir).await?;
            }
            if app.storage.is_remote()
                && let Some(dir) = app.layout.video_dir(id)
            {
                app.storage.remove(&dir).await?;
            }
            videos::purge(&app.db, id).await
        };
        match done.await {
            Ok(()) => purged += 1,
            Err(e) => {
                tracing::warn!(video = %id, error = %format!("{e:#}"), "cannot purge from the trash")
            }
        }
    }
    Ok(purged)
}
