//! Registering a file as a video: the one door every ingest path goes through.
//!
//! Order matters for crash safety. The file is first placed in `media/<id>/` next to an
//! `ingest.json` record, and only then are the video row and its `process` job inserted, in one
//! transaction. A crash before the commit leaves a folder that start-up recovery completes from
//! `ingest.json`; a crash after it leaves a queued job. No row ever points at a missing file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::App;
use crate::db::users::User;
use crate::db::{self, events, videos};
use crate::events::{NewEvent, kind};
use crate::ids;
use crate::ingest::hashing::{self, ContentHashes, FileIdentity};
use crate::ingest::reject::move_file;
use crate::layout::safe_extension;
use dailies_media::{RawFormatError, RawVideoFormat, is_raw_yuv_name};

/// Name of the record written beside each original before its row exists.
pub const INGEST_RECORD: &str = "ingest.json";
/// The job kind that makes a video playable.
pub const PROCESS_JOB: &str = "process";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// The file is ours now (drop folder): rename it into place.
    Move,
    /// The file stays where it is (`dailies import`): copy it, hashing in the same pass.
    Copy,
}

pub struct Incoming<'a> {
    pub path: &'a Path,
    /// Hashes already computed while the bytes arrived (uploads): the file is not read again.
    pub known_hashes: Option<ContentHashes>,
    pub original_filename: &'a str,
    pub owner: &'a User,
    pub transfer: Transfer,
    /// Where it came from: `drop`, `import`, `upload`.
    pub source: &'a str,
    /// The format of a headerless `.yuv` file, given with its upload; required for such a file.
    pub raw_video: Option<RawVideoFormat>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
    New {
        video_id: String,
    },
    /// The owner already has this content; nothing was registered and the file was not touched.
    Duplicate {
        video_id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the file disappeared before it could be ingested")]
    Vanished,
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("this is not a regular file")]
    NotAFile,
    /// A `.yuv` file without its format, or whose size does not fit the format given.
    #[error(transparent)]
    RawFormat(#[from] RawFormatError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What `ingest.json` holds: enough to insert the row if the process died before it could.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct IngestRecord {
    pub id: String,
    pub owner_id: String,
    pub original_filename: String,
    pub original_file: String,
    pub source: String,
    pub sha256: String,
    pub blake3: String,
    pub size: u64,
    /// A raw `.yuv` original's format: every tool reading the original is told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_video: Option<RawVideoFormat>,
}

/// A `.yuv` file must come with its format, and be a whole number of its frames; other files
/// keep no raw format (one given for them is ignored).
fn check_raw_format(
    filename: &str,
    given: Option<RawVideoFormat>,
    size: u64,
) -> Result<Option<RawVideoFormat>, RawFormatError> {
    if !is_raw_yuv_name(filename) {
        return Ok(None);
    }
    let format = given.ok_or_else(|| {
        RawFormatError::Missing(vec![
            dailies_media::RAW_WIDTH_KEY,
            dailies_media::RAW_HEIGHT_KEY,
            dailies_media::RAW_FPS_KEY,
            dailies_media::RAW_PIX_FMT_KEY,
        ])
    })?;
    format.frames_in(size)?;
    Ok(Some(format))
}

/// The `ingest.json` record of the video in `dir`.
pub fn read_record(dir: &Path) -> anyhow::Result<IngestRecord> {
    let bytes = std::fs::read(dir.join(INGEST_RECORD))
        .with_context(|| format!("cannot read {}", dir.join(INGEST_RECORD).display()))?;
    serde_json::from_slice(&bytes).context("the ingest record is not valid")
}

/// A title from a file name: the name without its extension.
pub fn title_from_filename(name: &str) -> String {
    let stem = Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name);
    clean_title(stem).unwrap_or_else(|| "Untitled".to_owned())
}

/// A title as people typed it, made safe to show: no control characters, at most 200
/// characters; `None` when nothing is left.
pub fn clean_title(raw: &str) -> Option<String> {
    let title: String = raw.chars().filter(|c| !c.is_control()).take(200).collect();
    (!title.trim().is_empty()).then_some(title)
}

pub async fn register_file(app: &App, incoming: Incoming<'_>) -> Result<Registered, IngestError> {
    let meta = match tokio::fs::symlink_metadata(incoming.path).await {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(IngestError::Vanished),
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    if !meta.is_file() {
        return Err(IngestError::NotAFile);
    }
    if meta.len() == 0 {
        return Err(IngestError::Empty);
    }
    let raw_video = check_raw_format(incoming.original_filename, incoming.raw_video, meta.len())?;

    let id = ids::new_id();
    // With S3 storage the folder is scratch space, cleared when the registration is over.
    let _scratch = app.storage.pin(&id);
    let dir = app
        .layout
        .video_dir(&id)
        .context("generated id is not valid")?;
    let original_file = format!("original.{}", safe_extension(incoming.original_filename));
    let target = dir.join(&original_file);

    let mut read_identity = None;
    let hashes = match incoming.transfer {
        Transfer::Move => {
            let hashes = match &incoming.known_hashes {
                Some(known) => known.clone(),
                None => {
                    let (hashes, identity) = hash(incoming.path.to_owned(), None).await?;
                    read_identity = Some(identity);
                    hashes
                }
            };
            if let Some(existing) =
                videos::find_duplicate(&app.db, &incoming.owner.id, &hashes.sha256).await?
            {
                return Ok(Registered::Duplicate { video_id: existing });
            }
            std::fs::create_dir_all(&dir).context("cannot create the video folder")?;
            hashes
        }
        Transfer::Copy => {
            // Duplicate check first would cost a second read; copying while hashing is one pass,
            // and a duplicate copy is simply removed.
            std::fs::create_dir_all(&dir).context("cannot create the video folder")?;
            let hashes = hash(incoming.path.to_owned(), Some(target.clone())).await;
            let hashes = match hashes {
                Ok((h, _)) => h,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            };
            if let Some(existing) =
                videos::find_duplicate(&app.db, &incoming.owner.id, &hashes.sha256).await?
            {
                let _ = std::fs::remove_dir_all(&dir);
                return Ok(Registered::Duplicate { video_id: existing });
            }
            hashes
        }
    };

    let record = IngestRecord {
        id: id.clone(),
        owner_id: incoming.owner.id.clone(),
        original_filename: incoming.original_filename.to_owned(),
        original_file: original_file.clone(),
        source: incoming.source.to_owned(),
        sha256: hashes.sha256.clone(),
        blake3: hashes.blake3.clone(),
        size: hashes.size,
        raw_video,
    };
    let record_json = serde_json::to_vec_pretty(&record).context("ingest record")?;
    write_durably(&dir.join(INGEST_RECORD), &record_json)
        .context("cannot write the ingest record")?;
    if incoming.transfer == Transfer::Move
        && let Err(e) = move_file(incoming.path, &target)
    {
        let _ = std::fs::remove_dir_all(&dir);
        if !incoming.path.exists() {
            return Err(IngestError::Vanished);
        }
        return Err(e.into());
    }
    // What was moved must be what was hashed: someone with write access to the drop folder could
    // swap the file (for a link to another user's video, say) while it was being read.
    if let Some(expected) = read_identity {
        let moved = std::fs::symlink_metadata(&target).ok();
        if moved.as_ref().map(FileIdentity::of) != Some(expected)
            || !moved.is_some_and(|m| m.is_file())
        {
            let _ = move_file(&target, incoming.path);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(
                anyhow::anyhow!("the file was replaced while it was being ingested").into(),
            );
        }
    }

    // Undone when the video cannot be stored after all: a moved file goes back where it was.
    let put_back = || async {
        if incoming.transfer == Transfer::Move {
            let _ = move_file(&target, incoming.path);
        }
        let _ = app.storage.remove(&dir).await;
    };
    if let Err(e) = app.storage.push(&dir).await {
        put_back().await;
        return Err(e.context("cannot store the original").into());
    }

    match insert_video_and_job(app, &record).await {
        Ok(()) => Ok(Registered::New { video_id: id }),
        Err(e) if is_unique(&e) => {
            match videos::find_duplicate(&app.db, &incoming.owner.id, &hashes.sha256).await? {
                // Start-up recovery on another process finished this very registration.
                Some(existing) if existing == id => Ok(Registered::New { video_id: id }),
                // Lost a race with an identical file: put the file back untouched.
                Some(existing) => {
                    if incoming.transfer == Transfer::Move {
                        move_file(&target, incoming.path)?;
                    }
                    let _ = app.storage.remove(&dir).await;
                    Ok(Registered::Duplicate { video_id: existing })
                }
                None => Err(e.into()),
            }
        }
        Err(e) => {
            if app.storage.is_remote() {
                // The pin's end clears the folder: the file must not go with it.
                put_back().await;
            }
            Err(e.into())
        }
    }
}

fn is_unique(e: &anyhow::Error) -> bool {
    e.downcast_ref::<sqlx::Error>()
        .is_some_and(db::is_unique_violation)
}

async fn hash(
    path: PathBuf,
    copy_to: Option<PathBuf>,
) -> Result<(ContentHashes, FileIdentity), IngestError> {
    let res = tokio::task::spawn_blocking(move || {
        let mut out = match &copy_to {
            Some(p) => Some(std::fs::File::create(p)?),
            None => None,
        };
        hashing::hash_file_identified(&path, out.as_mut())
    })
    .await
    .context("hashing task failed")?;
    match res {
        Ok(h) => Ok(h),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(IngestError::Vanished),
        Err(e) => Err(anyhow::Error::from(e)
            .context("cannot read the file")
            .into()),
    }
}

/// Writes a small file and flushes it and its folder to disk, so a power cut cannot leave the
/// original moved but its record missing.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    std::io::Write::write_all(&mut f, bytes)?;
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The transaction that makes a placed file a video with queued processing.
pub async fn insert_video_and_job(app: &App, record: &IngestRecord) -> anyhow::Result<()> {
    // The events go in with the rows: nobody can see the job start before it was queued.
    let turn = app.events.appending().await;
    let mut tx = app.db.pool.begin().await?;
    let title = title_from_filename(&record.original_filename);
    videos::insert(
        &mut tx,
        &videos::NewVideo {
            id: &record.id,
            owner_id: &record.owner_id,
            title: &title,
            original_filename: &record.original_filename,
            original_file: &record.original_file,
            source: &record.source,
            size_bytes: record.size as i64,
            sha256: &record.sha256,
            blake3: &record.blake3,
        },
    )
    .await?;
    let created = NewEvent::video(
        kind::VIDEO_CREATED,
        &record.owner_id,
        &record.id,
        json!({ "title": title, "status": "queued", "source": record.source }),
    );
    events::insert(&mut tx, &created).await?;
    crate::jobs::enqueue_on_video(
        &mut tx,
        app,
        &record.owner_id,
        &record.id,
        PROCESS_JOB,
        json!({}),
        None,
    )
    .await?;
    tx.commit().await?;
    drop(turn);
    app.jobs_added.notify_waiters();
    tracing::info!(video = %record.id, file = %record.original_filename, "registered");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::title_from_filename;

    #[test]
    fn titles() {
        assert_eq!(
            title_from_filename("Scene 12 take 3.mov"),
            "Scene 12 take 3"
        );
        assert_eq!(title_from_filename(".mov"), ".mov");
        assert_eq!(title_from_filename("ünïcødé clip.mp4"), "ünïcødé clip");
    }
}
