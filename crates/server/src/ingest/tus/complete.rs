//! Completing an upload: every byte is here, so it becomes a video through the common ingest
//! door ([`register_file`]), or waits as a part of a later concatenation.
//!
//! Completion survives a crash at any point. The content hash is recorded with the final
//! offset before anything moves; an upload found later with all its bytes but no completion is
//! finished by [`finish_received`]: from its file if the file is still in `uploads/`, or, when
//! the file already became a video, by finding that video from the recorded hash.

use crate::app::App;
use crate::db::uploads::{self, Concat, Upload};
use crate::db::{users, videos};
use crate::ingest::hashing::ContentHashes;
use crate::ingest::register::{
    Incoming, IngestError, Registered, Transfer, clean_title, register_file,
};

use super::locks::HashState;
use super::protocol::{TusError, parse_metadata, raw_format};
use super::receive::rebuild_hasher;
use super::{part_path, remove_upload};

pub enum Finished {
    /// The upload is (or already was) this video.
    Video(String),
    /// A partial upload, kept for its final concatenation.
    Partial,
}

/// Completes an upload whose `offset` equals its length, with the hashes of its bytes.
pub async fn complete(app: &App, u: &Upload, hashes: ContentHashes) -> Result<Finished, TusError> {
    uploads::set_received(&app.db, &u.id, u.offset, &hashes.sha256).await?;
    // A part's bytes are not the whole file its metadata may describe.
    if let Some(claimed) = &u.claimed_sha256
        && u.concat != Concat::Partial
        && *claimed != hashes.sha256
    {
        // The bytes are not the file the client described; which of them is wrong cannot be
        // known, so the upload is discarded rather than turned into a wrong video.
        remove_upload(app, &u.id).await?;
        return Err(TusError::new(
            460,
            format!(
                "the uploaded bytes have SHA-256 {} but Upload-Metadata promised {claimed}; \
                 the upload was discarded, send the file again",
                hashes.sha256
            ),
        ));
    }
    if u.concat == Concat::Partial {
        uploads::set_complete(&app.db, &u.id, u.offset, None).await?;
        return Ok(Finished::Partial);
    }
    let path = part_path(app, &u.id).ok_or_else(TusError::not_found)?;
    let owner = users::by_id(&app.db, &u.owner_id)
        .await?
        .ok_or_else(|| TusError::new(404, "the upload's owner no longer exists"))?;
    let metadata = parse_metadata(&u.metadata).unwrap_or_default();
    let raw_video = match raw_format(&u.filename, &metadata, None) {
        Ok(r) => r,
        Err(e) => {
            remove_upload(app, &u.id).await?;
            return Err(e);
        }
    };
    let incoming = Incoming {
        raw_video,
        path: &path,
        known_hashes: Some(hashes),
        original_filename: &u.filename,
        owner: &owner,
        transfer: Transfer::Move,
        source: "upload",
    };
    let video_id = match register_file(app, incoming).await {
        Ok(Registered::New { video_id }) => {
            if let Some(title) = metadata.get("title").and_then(|t| clean_title(t.trim())) {
                videos::set_title(&app.db, &video_id, &title).await?;
            }
            video_id
        }
        Ok(Registered::Duplicate { video_id }) => {
            // Deduplicated after the fact: the bytes are not needed.
            let _ = tokio::fs::remove_file(&path).await;
            video_id
        }
        Err(IngestError::Empty) => {
            return Err(TusError::new(400, "an empty file cannot become a video"));
        }
        Err(IngestError::RawFormat(e)) => {
            // The bytes do not fit the format declared: nothing is kept.
            remove_upload(app, &u.id).await?;
            return Err(TusError::new(400, format!("{e}; the upload was discarded")));
        }
        Err(e) => return Err(anyhow::anyhow!("{e}").into()),
    };
    mark_video(app, u, &video_id).await?;
    Ok(Finished::Video(video_id))
}

/// Records the video an upload became; a final upload's parts are no longer needed then.
async fn mark_video(app: &App, u: &Upload, video_id: &str) -> Result<(), TusError> {
    uploads::set_complete(&app.db, &u.id, u.offset, Some(video_id)).await?;
    tracing::info!(upload = %u.id, video = %video_id, "upload complete");
    for part in &u.parts {
        remove_upload(app, part).await?;
    }
    Ok(())
}

/// Finishes an upload that has all its bytes but was never completed (the server stopped in
/// between). The caller holds the upload's lock.
pub async fn finish_received(app: &App, u: &Upload, state: &mut HashState) -> Result<(), TusError> {
    let path = part_path(app, &u.id).ok_or_else(TusError::not_found)?;
    let on_disk = tokio::fs::metadata(&path).await.ok().map(|m| m.len());
    if on_disk == Some(u.offset as u64) {
        let hasher = match state.take() {
            Some(h) if h.len() as i64 == u.offset => h,
            _ => rebuild_hasher(app, u, &path).await?,
        };
        complete(app, u, hasher.finish()).await?;
        tracing::info!(upload = %u.id, "finished an upload interrupted at completion");
        return Ok(());
    }
    // The file already left `uploads/`: it became a video (or matched an existing one).
    let found = match &u.content_sha256 {
        Some(sha) => videos::find_duplicate(&app.db, &u.owner_id, sha).await?,
        None => None,
    };
    match found {
        Some(video_id) => {
            mark_video(app, u, &video_id).await?;
            tracing::info!(upload = %u.id, video = %video_id, "finished an upload interrupted at completion");
            Ok(())
        }
        // Start-up recovery has not yet turned the placed file into a video.
        None => Err(TusError::new(
            503,
            "this upload is still being registered; ask again in a minute",
        )),
    }
}

/// Uploads left with all their bytes but no completion by a stopped server; run by the
/// maintenance loop.
pub async fn finish_interrupted(app: &App) -> anyhow::Result<usize> {
    let mut finished = 0;
    for id in uploads::received_not_complete(&app.db).await? {
        let Some(mut held) = app.upload_locks.try_acquire(&app.db, &id).await else {
            continue;
        };
        let Some(u) = uploads::get(&app.db, &id).await? else {
            continue;
        };
        if u.is_complete() || u.length != Some(u.offset) {
            continue;
        }
        match finish_received(app, &u, &mut held.state).await {
            Ok(()) => finished += 1,
            Err(e) => {
                tracing::warn!(upload = %id, error = %e.1, "cannot finish an interrupted upload yet")
            }
        }
    }
    Ok(finished)
}
