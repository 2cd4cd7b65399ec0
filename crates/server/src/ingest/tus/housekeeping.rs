//! Removing uploads: termination, expiry, and files left without a row by a crash.

use std::time::Duration;

use crate::app::App;
use crate::db::{now_ms, uploads};
use crate::ids;

use super::part_path;

/// A `.part` file this old without an upload row is an orphan (young ones may belong to a
/// concatenation being joined right now).
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Removes an upload's row and then its bytes (the video it became, if any, stays). Row first:
/// a crash in between leaves a file without a row, which [`remove_orphans`] finds, never a row
/// pointing at nothing. The caller holds the upload's lock or knows nobody writes it.
pub async fn remove_upload(app: &App, id: &str) -> anyhow::Result<()> {
    uploads::delete(&app.db, id).await?;
    remove_part(app, id).await?;
    // Forgotten only if nobody holds the lock; the holder forgets it after letting go.
    app.upload_locks.forget(id);
    Ok(())
}

async fn remove_part(app: &App, id: &str) -> anyhow::Result<()> {
    if let Some(path) = part_path(app, id) {
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Deletes expired uploads; run by the maintenance loop. An upload being written is skipped,
/// and one renewed meanwhile is kept: the delete only happens if the row is still expired.
pub async fn purge_expired(app: &App) -> anyhow::Result<usize> {
    let now = now_ms();
    let mut purged = 0;
    for id in uploads::expired(&app.db, now).await? {
        let Some(held) = app.upload_locks.try_acquire(&app.db, &id).await else {
            continue;
        };
        if uploads::delete_if_expired(&app.db, &id, now).await? {
            remove_part(app, &id).await?;
            purged += 1;
            drop(held);
            app.upload_locks.forget(&id);
        }
    }
    Ok(purged)
}

/// Deletes `.part` files that no upload row owns (a crash between removing the row and the
/// file, or while joining a concatenation).
pub async fn remove_orphans(app: &App) -> anyhow::Result<usize> {
    let mut removed = 0;
    let mut dir = tokio::fs::read_dir(app.layout.uploads()).await?;
    while let Some(entry) = dir.next_entry().await? {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".part")) else {
            continue;
        };
        if !ids::is_valid_id(id) || uploads::exists(&app.db, id).await? {
            continue;
        }
        let old = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ORPHAN_AGE);
        if old {
            remove_part(app, id).await?;
            tracing::info!(upload = %id, "removed the bytes of an upload that no longer exists");
            removed += 1;
        }
    }
    Ok(removed)
}
