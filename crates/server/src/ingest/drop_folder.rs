//! The watched drop folder: `incoming/<user>/…` belongs to `<user>`, top-level files to the
//! configured default user.
//!
//! Change events (inotify) only make the next scan come sooner; the scan itself is the source
//! of truth, because Samba and NFS mounts often send no events at all. A file is taken only once
//! its size and mtime have stayed the same for `settle_secs`, so a copy in progress is never
//! ingested half-written.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use notify::{RecursiveMode, Watcher};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::app::App;
use crate::db::users;
use crate::ingest::register::{Incoming, IngestError, Registered, Transfer, register_file};
use crate::ingest::reject::reject_file;

/// Suffixes that copy tools use for files still being written.
const IN_PROGRESS_SUFFIXES: &[&str] =
    &[".part", ".partial", ".tmp", ".crdownload", ".download", "~"];
/// How deep below `incoming/` files are looked for.
const MAX_DEPTH: usize = 16;
/// Files hashed and moved at once.
const PARALLEL_INGESTS: usize = 2;

/// A file seen in the drop folder, waiting to settle.
#[derive(Debug)]
struct Candidate {
    size: u64,
    mtime: Option<SystemTime>,
    unchanged_since: Instant,
}

/// One entry found by a scan.
#[derive(Debug)]
struct Found {
    path: PathBuf,
    /// Path components below `incoming/`.
    relative: Vec<String>,
    size: u64,
    mtime: Option<SystemTime>,
    is_symlink: bool,
}

pub async fn run(app: App, shutdown: CancellationToken) {
    let root = app.layout.incoming();
    let (tx, mut rx) = mpsc::channel::<()>(1);
    // Keep the watcher alive for the whole loop; without it we still rescan periodically.
    let _watcher = if !app.config.watch_events {
        None
    } else {
        match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if res.is_ok() {
                let _ = tx.try_send(());
            }
        }) {
            Ok(mut w) => match w.watch(&root, RecursiveMode::Recursive) {
                Ok(()) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "no change events for incoming/; relying on rescans");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no file watcher available; relying on rescans");
                None
            }
        }
    };

    let settle = Duration::from_secs_f64(app.config.settle_secs);
    let rescan = Duration::from_secs_f64(app.config.rescan_secs);
    let mut pending: HashMap<PathBuf, Candidate> = HashMap::new();
    let in_flight: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
    // Files that could not be taken (unreadable, database down): not retried before this time,
    // so a stuck file is not re-read at every scan.
    let retry_at: Arc<Mutex<HashMap<PathBuf, (u32, Instant)>>> = Arc::default();
    let limit = Arc::new(Semaphore::new(PARALLEL_INGESTS));
    tracing::info!(folder = %root.display(), "watching the drop folder");

    loop {
        match scan(root.clone()).await {
            Ok(found) => {
                let now = Instant::now();
                let seen: HashSet<PathBuf> = found.iter().map(|f| f.path.clone()).collect();
                pending.retain(|p, _| seen.contains(p));
                if let Ok(mut m) = retry_at.lock() {
                    m.retain(|p, _| seen.contains(p));
                }
                for f in found {
                    if in_flight.lock().is_ok_and(|s| s.contains(&f.path))
                        || retry_at
                            .lock()
                            .is_ok_and(|m| m.get(&f.path).is_some_and(|(_, at)| *at > now))
                    {
                        continue;
                    }
                    let c = pending.entry(f.path.clone()).or_insert(Candidate {
                        size: f.size,
                        mtime: f.mtime,
                        unchanged_since: now,
                    });
                    if c.size != f.size || c.mtime != f.mtime {
                        *c = Candidate {
                            size: f.size,
                            mtime: f.mtime,
                            unchanged_since: now,
                        };
                        continue;
                    }
                    // An empty file is often a copy that has not started writing yet.
                    let needed = if f.size == 0 { settle * 5 } else { settle };
                    if now.duration_since(c.unchanged_since) < needed {
                        continue;
                    }
                    pending.remove(&f.path);
                    if let Ok(mut s) = in_flight.lock() {
                        s.insert(f.path.clone());
                    }
                    let (app, in_flight, limit, retry_at) = (
                        app.clone(),
                        in_flight.clone(),
                        limit.clone(),
                        retry_at.clone(),
                    );
                    let span = tracing::info_span!("drop", file = %f.path.display());
                    tokio::spawn(
                        async move {
                            let _permit = limit.acquire().await;
                            let done = take(&app, &f).await;
                            if let Ok(mut m) = retry_at.lock() {
                                if done {
                                    m.remove(&f.path);
                                } else {
                                    let failures = m.get(&f.path).map_or(0, |(n, _)| *n) + 1;
                                    m.insert(
                                        f.path.clone(),
                                        (failures, Instant::now() + retry_delay(failures)),
                                    );
                                }
                            }
                            if let Ok(mut s) = in_flight.lock() {
                                s.remove(&f.path);
                            }
                        }
                        .instrument(span),
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot scan incoming/"),
        }

        let wait = if pending.is_empty() {
            rescan
        } else {
            (settle / 2).clamp(Duration::from_millis(100), rescan)
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            Some(()) = rx.recv() => {
                // Let a burst of events pass before rescanning.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Waits between attempts at a file that could not be taken: 30 s, 60 s, 120 s… up to an hour.
fn retry_delay(failures: u32) -> Duration {
    (Duration::from_secs(30) * 2u32.pow(failures.saturating_sub(1).min(7)))
        .min(Duration::from_secs(3600))
}

/// Lists candidate files under `root` (blocking IO on a worker thread).
async fn scan(root: PathBuf) -> Result<Vec<Found>> {
    Ok(tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        walk(&root, &mut Vec::new(), &mut out);
        out
    })
    .await?)
}

fn walk(dir: &Path, relative: &mut Vec<String>, out: &mut Vec<Found>) {
    if relative.len() > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || IN_PROGRESS_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        relative.push(name);
        if meta.is_dir() {
            walk(&entry.path(), relative, out);
        } else if meta.is_file() || meta.file_type().is_symlink() {
            out.push(Found {
                path: entry.path(),
                relative: relative.clone(),
                size: meta.len(),
                mtime: meta.modified().ok(),
                is_symlink: meta.file_type().is_symlink(),
            });
        }
        relative.pop();
    }
}

/// Ingests one settled file, or rejects it with a reason; never panics, never loses it.
/// Returns false when the file had to be left in place (it is then not retried until it changes).
async fn take(app: &App, f: &Found) -> bool {
    let display_name = f.relative.last().cloned().unwrap_or_default();
    let reject = |reason: String, details: Option<String>| -> bool {
        match reject_file(
            &app.layout,
            &f.path,
            &display_name,
            &reason,
            details.as_deref(),
        ) {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot move a rejected file");
                false
            }
        }
    };
    if f.is_symlink {
        return reject(
            "Symbolic links are not accepted in the drop folder; copy the file itself.".into(),
            None,
        );
    }
    let owner_name = if f.relative.len() == 1 {
        app.config.default_user.clone()
    } else {
        f.relative[0].clone()
    };
    if !users::is_valid_user_name(&owner_name) {
        return reject(
            format!(
                "The folder '{owner_name}' under incoming/ is not a valid user name (use letters, digits, '.', '_' or '-'), so nobody could own this file."
            ),
            None,
        );
    }
    let owner = match users::get_or_create(&app.db, &owner_name).await {
        Ok(u) => u,
        Err(e) => {
            // Probably the database is unavailable: leave the file for the next scan.
            tracing::error!(error = %e, user = %owner_name, "cannot look up the owner");
            return false;
        }
    };
    let incoming = Incoming {
        known_hashes: None,
        path: &f.path,
        original_filename: &display_name,
        owner: &owner,
        transfer: Transfer::Move,
        source: "drop",
        // A file in a folder carries no format: a `.yuv` is refused below, naming what is missing.
        raw_video: None,
    };
    match register_file(app, incoming).await {
        Ok(Registered::New { .. }) => true,
        Ok(Registered::Duplicate { video_id }) => reject(
            format!(
                "{owner_name} already has this exact file (same content) as video {video_id}, so it was not processed again."
            ),
            None,
        ),
        Err(IngestError::Vanished) => {
            tracing::info!("file disappeared before ingest");
            true
        }
        Err(IngestError::Empty) => reject(
            "The file is empty (0 bytes); there is nothing to play.".into(),
            None,
        ),
        Err(IngestError::NotAFile) => true,
        Err(IngestError::RawFormat(e)) => reject(
            format!(
                "{e}. A .yuv file has no header, and a file dropped in the folder cannot say its format: upload it with those keys in the tus Upload-Metadata, or convert it to .y4m, which carries them."
            ),
            None,
        ),
        Err(IngestError::Other(e)) => {
            // Left in place: tried again later, once the cause (disk, database) may be fixed.
            tracing::error!(error = %format!("{e:#}"), "ingest failed; will retry");
            false
        }
    }
}
