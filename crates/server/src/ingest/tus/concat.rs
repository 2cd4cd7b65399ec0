//! The concatenation extension's final upload: the caller's complete partial uploads joined in
//! order into one file, hashed in the same pass, then completed like any other upload.

use std::path::PathBuf;

use crate::api::auth::Caller;
use crate::app::App;
use crate::db::uploads::{self, Concat, Upload};
use crate::ingest::hashing::{ContentHashes, Hasher, hash_stream};

use super::complete::{self, Finished};
use super::protocol::TusError;
use super::{limits, owned, part_path};

/// Joins the parts named by `Upload-Concat: final;<urls>` into `upload`; returns the video id.
pub async fn create_final(
    app: &App,
    caller: &Caller,
    mut upload: Upload,
    spec: &str,
) -> Result<Option<String>, TusError> {
    let mut parts = Vec::new();
    for url in spec.split_whitespace() {
        let id = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let part = owned(app, caller, id).await?;
        if part.concat != Concat::Partial {
            return Err(TusError::new(400, format!("{url} is not a partial upload")));
        }
        if !part.is_complete() {
            return Err(TusError::new(400, format!("{url} is not complete yet")));
        }
        if parts.iter().any(|p: &Upload| p.id == part.id) {
            return Err(TusError::new(400, format!("{url} is named twice")));
        }
        parts.push(part);
    }
    if parts.is_empty() {
        return Err(TusError::new(
            400,
            "Upload-Concat: final needs at least one partial upload",
        ));
    }
    let length: i64 = parts.iter().map(|p| p.offset).sum();
    if length == 0 {
        return Err(TusError::new(400, "an empty file cannot become a video"));
    }
    // The parts already count in the quota; the final copy must fit beside them on disk.
    if length as u64 > limits::max_size(app, &upload.filename) {
        return Err(TusError::new(
            413,
            "the joined file is larger than the largest upload accepted",
        ));
    }
    limits::disk_guard(app, length as u64, limits::Guard::NewUpload)?;

    // Bytes first, row second: a crash in between leaves an orphan file, which housekeeping
    // removes; a row exists only for a file that is whole.
    let target = part_path(app, &upload.id).ok_or_else(TusError::not_found)?;
    let sources: Vec<(PathBuf, u64)> = parts
        .iter()
        .filter_map(|p| part_path(app, &p.id).map(|path| (path, p.offset as u64)))
        .collect();
    let joined = {
        let target = target.clone();
        tokio::task::spawn_blocking(move || join(&sources, &target))
            .await
            .map_err(anyhow::Error::from)?
    };
    let hashes = match joined {
        Ok(h) => h,
        Err(e) => {
            let _ = tokio::fs::remove_file(&target).await;
            return Err(TusError::io(e));
        }
    };
    upload.concat = Concat::Final;
    upload.length = Some(length);
    upload.offset = length;
    upload.content_sha256 = Some(hashes.sha256.clone());
    upload.parts = parts.iter().map(|p| p.id.clone()).collect();
    // Held until it is complete, so housekeeping or a HEAD never finishes it a second time.
    let held = app.upload_locks.try_acquire(&app.db, &upload.id).await;
    uploads::insert(&app.db, &upload).await?;
    let finished = complete::complete(app, &upload, hashes).await;
    drop(held);
    match finished? {
        Finished::Video(v) => Ok(Some(v)),
        Finished::Partial => Ok(None),
    }
}

/// Copies each part's recorded bytes, in order, into `target`, hashing them on the way.
fn join(sources: &[(PathBuf, u64)], target: &std::path::Path) -> std::io::Result<ContentHashes> {
    use std::io::Read;
    let mut out = std::fs::File::create(target)?;
    let mut hasher = Hasher::default();
    for (src, len) in sources {
        let before = hasher.len();
        let file = std::fs::File::open(src)?;
        hash_stream(&mut file.take(*len), &mut hasher, Some(&mut out))?;
        if hasher.len() - before != *len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("a partial upload has fewer bytes on disk than recorded: {src:?}"),
            ));
        }
    }
    out.sync_all()?;
    Ok(hasher.finish())
}
