//! Receiving a PATCH (or creation-with-upload) body: append at the offset, hash on the way,
//! keep what can be trusted, and complete the upload when its last byte arrives.
//!
//! The work runs in its own task, so a client that disconnects (which drops the request
//! handler) still gets its received bytes committed. Receiving, writing and hashing overlap: the
//! bytes go (shared, not copied) to a writer thread and a hashing thread over bounded channels,
//! which keep memory flat whatever the size; a slow disk or hash slows the sender, which slows
//! the client. Long bodies are made durable and recorded every [`CHECKPOINT`] bytes, so a
//! server killed in the middle of a multi-gigabyte PATCH resumes near where it stopped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::Instrument;

use crate::app::App;
use crate::db::uploads::{self, Concat, Upload};
use crate::ingest::hashing::{Hasher, hash_stream};

use super::complete::{self, Finished};
use super::limits::{self, Guard};
use super::locks::{HashState, Held};
use super::protocol::{Checksum, TusError};
use super::{part_path, refreshed_expiry};

/// Chunks in flight between the receiving task and the writer and hashing threads.
const PIPE_DEPTH: usize = 16;
/// The writer's buffer: large writes, few system calls.
const WRITE_BUFFER: usize = 4 << 20;
/// Bytes between two durable, recorded offsets during one long body.
const CHECKPOINT: u64 = 64 << 20;
/// A body that sends nothing for this long is treated as a dropped connection.
const BODY_IDLE: Duration = Duration::from_secs(60);
/// When another request wants the upload, a body idle this long gives way.
const STALLED: Duration = Duration::from_secs(3);
/// The least a body must bring per [`BODY_IDLE`] to keep its connection (about 1 KiB/s).
const MIN_PER_WINDOW: u64 = 64 << 10;

/// What a client sent: where it believes the upload is, and the body.
pub struct Incoming {
    pub offset: u64,
    pub checksum: Option<Checksum>,
    pub content_length: Option<u64>,
    /// `Upload-Length` sent with a PATCH, fixing a deferred length.
    pub new_length: Option<u64>,
    pub body: Body,
}

pub struct WriteOutcome {
    pub offset: i64,
    pub complete: bool,
    pub video_id: Option<String>,
}

/// Appends a request body to an upload under its lock.
pub async fn write_bytes(
    app: &App,
    owner_id: &str,
    id: &str,
    incoming: Incoming,
) -> Result<WriteOutcome, TusError> {
    let admitted = app.upload_locks.admission.enter(owner_id)?;
    let held = app.upload_locks.acquire(&app.db, &app.node_id, id).await?;
    let before = uploads::get(&app.db, id)
        .await
        .ok()
        .flatten()
        .map(|u| u.offset);
    let task = receive(app.clone(), id.to_owned(), incoming, held).in_current_span();
    let result = tokio::spawn(task)
        .await
        .map_err(|e| anyhow::anyhow!("upload task failed: {e}"))?;
    drop(admitted);
    // Bytes kept count, whether or not the request ended well (a dropped client keeps them).
    if let (Some(before), Ok(Some(after))) = (before, uploads::get(&app.db, id).await) {
        app.metrics
            .upload_bytes(after.offset.saturating_sub(before).max(0) as u64);
    }
    if result.is_err() && matches!(uploads::get(&app.db, id).await, Ok(None)) {
        // Discarded (a wrong promised hash): its lock is not needed any more.
        app.upload_locks.forget(id);
    }
    result
}

async fn receive(
    app: App,
    id: String,
    incoming: Incoming,
    held: Held,
) -> Result<WriteOutcome, TusError> {
    // `_across_nodes` keeps the other nodes out until this request is done.
    let Held {
        mut state,
        release_wanted,
        across_nodes: _across_nodes,
    } = held;
    // Read again under the lock: a racing request may have moved the offset.
    let mut u = uploads::get(&app.db, &id)
        .await?
        .ok_or_else(TusError::not_found)?;
    if !u.is_complete() && u.length == Some(u.offset) {
        // Every byte arrived earlier but the upload was never finished (a crash).
        complete::finish_received(&app, &u, &mut state).await?;
        u = uploads::get(&app.db, &id)
            .await?
            .ok_or_else(TusError::not_found)?;
    }
    if u.is_complete() {
        // Nothing will be written: the lock is not needed while the body is read.
        drop(state);
        return confirm_complete(&u, incoming).await;
    }

    let path = part_path(&app, &id).ok_or_else(TusError::not_found)?;
    let hasher = match state.take() {
        Some(h) if h.len() as i64 == u.offset => h,
        _ => rebuild_hasher(&app, &u, &path).await?,
    };
    let start = hasher.len();
    if incoming.offset != start {
        *state = Some(hasher);
        return Err(TusError::new(
            409,
            format!(
                "Upload-Offset {} does not match the upload's offset {start}",
                incoming.offset
            ),
        ));
    }
    if let Some(len) = incoming.new_length
        && let Err(e) = fix_length(&app, &mut u, len).await
    {
        *state = Some(hasher);
        return Err(e);
    }
    let room = match u.length {
        Some(l) => (l as u64).saturating_sub(start),
        None => limits::deferred_room(&app, &u.owner_id, &u.filename, start).await?,
    };
    if let Some(len) = incoming.content_length {
        if len > room {
            *state = Some(hasher);
            return Err(too_long_message(room));
        }
        if let Err(e) = limits::disk_guard(&app, len, Guard::Continuing) {
            *state = Some(hasher);
            return Err(e);
        }
    }

    let received = pipe_body(
        &app,
        &id,
        &path,
        start,
        room,
        hasher.clone(),
        incoming,
        release_wanted,
    )
    .await;
    let (received, mut failure) = match received {
        Ok(r) => r,
        Err(e) => {
            // Nothing is known about the file now: rebuild from the disk next time.
            *state = None;
            return Err(e);
        }
    };

    let (new_offset, new_state) = received.decide(start, hasher, &mut failure);
    let truncated = match tokio::fs::OpenOptions::new().write(true).open(&path).await {
        Ok(f) => f.set_len(new_offset).await,
        Err(e) => Err(e),
    };
    if let Err(e) = truncated {
        *state = None;
        return Err(TusError::io(e));
    }
    uploads::set_offset(&app.db, &id, new_offset as i64, refreshed_expiry(&app)).await?;
    *state = new_state;
    let complete_now = u.length == Some(new_offset as i64);
    if !complete_now && let Some(f) = failure {
        return Err(f);
    }

    if complete_now {
        u.offset = new_offset as i64;
        let hashes = match state.take() {
            Some(h) => h.finish(),
            None => rebuild_hasher(&app, &u, &path).await?.finish(),
        };
        let video_id = match complete::complete(&app, &u, hashes).await? {
            Finished::Video(v) => Some(v),
            Finished::Partial => None,
        };
        drop(state);
        app.upload_locks.forget(&id);
        // Every byte is here; what went past the end was refused.
        if let Some(f) = failure {
            return Err(f);
        }
        return Ok(WriteOutcome {
            offset: new_offset as i64,
            complete: true,
            video_id,
        });
    }
    Ok(WriteOutcome {
        offset: new_offset as i64,
        complete: false,
        video_id: None,
    })
}

fn too_long_message(room: u64) -> TusError {
    TusError::new(
        413,
        format!("the body goes past what this upload can still take ({room} bytes)"),
    )
}

/// `Upload-Length` on a PATCH: fixes a deferred length, checked like a new upload's.
async fn fix_length(app: &App, u: &mut Upload, len: u64) -> Result<(), TusError> {
    match u.length {
        None => {
            if len == 0 && u.concat != Concat::Partial {
                return Err(TusError::new(400, "an empty file cannot become a video"));
            }
            if (len as i64) < u.offset {
                return Err(TusError::new(
                    400,
                    "Upload-Length is smaller than what was already sent",
                ));
            }
            let size_check = limits::max_size(app, &u.filename);
            if len > size_check {
                return Err(TusError::new(
                    413,
                    format!(
                        "this file is {len} bytes; the largest upload accepted is {size_check} bytes"
                    ),
                ));
            }
            let more = len - u.offset as u64;
            if limits::deferred_room(app, &u.owner_id, &u.filename, u.offset as u64).await? < more {
                return Err(TusError::new(413, "this upload would exceed your quota"));
            }
            uploads::set_length(&app.db, &u.id, len as i64).await?;
            u.length = Some(len as i64);
            Ok(())
        }
        Some(l) if l as u64 != len => {
            Err(TusError::new(400, "Upload-Length cannot change once set"))
        }
        Some(_) => Ok(()),
    }
}

/// A PATCH to a complete upload: an empty one at the final offset confirms it; bytes are
/// refused.
async fn confirm_complete(u: &Upload, incoming: Incoming) -> Result<WriteOutcome, TusError> {
    if incoming.offset as i64 != u.offset {
        return Err(TusError::new(
            409,
            format!("the upload is complete at offset {}", u.offset),
        ));
    }
    let mut stream = incoming.body.into_data_stream();
    while let Ok(Some(chunk)) = tokio::time::timeout(BODY_IDLE, stream.next()).await {
        if chunk.is_ok_and(|c| !c.is_empty()) {
            return Err(TusError::new(
                413,
                "the upload is already complete; nothing more can be added",
            ));
        }
    }
    Ok(WriteOutcome {
        offset: u.offset,
        complete: true,
        video_id: u.video_id.clone(),
    })
}

/// How a body ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    /// The client sent all it meant to.
    Finished,
    /// The connection broke, went silent, or the client came back on another request.
    Cut,
    /// The body would not fit the upload.
    TooLong,
}

/// What happened to one body.
struct Received {
    end: End,
    /// Bytes taken from the body.
    taken: u64,
    /// Of those, bytes the writer put in the file.
    written: u64,
    write_error: Option<std::io::Error>,
    checksum: Option<Checksum>,
    /// The hash state after all `taken` bytes.
    hashed: Hasher,
}

impl Received {
    /// Which bytes to keep, and the hash state that goes with them. Everything written is kept
    /// unless a checksum was promised: then all of it when it verifies, none otherwise.
    fn decide(
        self,
        start: u64,
        before: Hasher,
        failure: &mut Option<TusError>,
    ) -> (u64, HashState) {
        if let Some(e) = self.write_error {
            failure.get_or_insert(TusError::io(e));
        }
        match self.checksum {
            Some(c) => {
                let complete = self.end == End::Finished && self.written == self.taken;
                if complete && failure.is_none() {
                    if c.matches() {
                        return (start + self.taken, Some(self.hashed));
                    }
                    *failure = Some(TusError::new(
                        460,
                        "the checksum of the sent bytes does not match Upload-Checksum",
                    ));
                }
                (start, Some(before))
            }
            None if self.written == self.taken => (start + self.taken, Some(self.hashed)),
            None if self.written == 0 => (start, Some(before)),
            // A write failed part-way: keep what reached the file; the hash is rebuilt later.
            None => (start + self.written, None),
        }
    }
}

/// Streams the body into the file and the hasher. Errors here are about the file itself (it
/// could not be opened); what went wrong with the body is in the returned [`Received`] and the
/// optional refusal.
#[allow(clippy::too_many_arguments)]
async fn pipe_body(
    app: &App,
    id: &str,
    path: &Path,
    start: u64,
    room: u64,
    mut hashed: Hasher,
    incoming: Incoming,
    mut release_wanted: watch::Receiver<u64>,
) -> Result<(Received, Option<TusError>), TusError> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(|e| anyhow::Error::from(e).context("cannot open the upload file"))?;
    file.set_len(start).await.map_err(TusError::io)?;
    let file = file.into_std().await;

    let mut checksum = incoming.checksum;
    // Checkpoints only make sense for bytes that need no checksum at the end.
    let checkpoints = checksum.is_none();
    let (write_tx, write_rx) = mpsc::channel::<Bytes>(PIPE_DEPTH);
    let (hash_tx, mut hash_rx) = mpsc::channel::<Bytes>(PIPE_DEPTH);
    let (synced_tx, mut synced_rx) = watch::channel(0u64);
    let writer = tokio::task::spawn_blocking(move || {
        write_all(file, start, write_rx, checkpoints.then_some(synced_tx))
    });
    let hashing = tokio::task::spawn_blocking(move || {
        while let Some(bytes) = hash_rx.blocking_recv() {
            hashed.update(&bytes);
        }
        hashed
    });

    let mut stream = incoming.body.into_data_stream();
    let mut taken: u64 = 0;
    let mut end = End::Finished;
    let mut last_bytes = Instant::now();
    let mut give_way = false;
    // A body must bring at least MIN_PER_WINDOW bytes per BODY_IDLE: a trickle would otherwise
    // hold the upload's lock and two threads for as long as it likes.
    let mut window_start = Instant::now();
    let mut window_bytes: u64 = 0;
    let mut db_error: Option<anyhow::Error> = None;
    loop {
        let quiet_limit = if give_way { STALLED } else { BODY_IDLE };
        tokio::select! {
            chunk = stream.next() => {
                let chunk = match chunk {
                    None => break,
                    Some(Ok(c)) => c,
                    Some(Err(_)) => {
                        end = End::Cut;
                        break;
                    }
                };
                if taken + chunk.len() as u64 > room {
                    end = End::TooLong;
                    break;
                }
                if let Some(c) = checksum.as_mut() {
                    c.update(&chunk);
                }
                taken += chunk.len() as u64;
                window_bytes += chunk.len() as u64;
                // The writer only hangs up when a write failed; its error is collected below.
                if write_tx.send(chunk.clone()).await.is_err() || hash_tx.send(chunk).await.is_err() {
                    break;
                }
                // Quiet time is the client's, not ours: counted from after our own waits.
                last_bytes = Instant::now();
                if last_bytes - window_start >= BODY_IDLE {
                    if window_bytes < MIN_PER_WINDOW {
                        tracing::info!(upload = %id, "the body trickles too slowly; keeping what arrived");
                        end = End::Cut;
                        break;
                    }
                    window_start = last_bytes;
                    window_bytes = 0;
                }
            }
            _ = release_wanted.changed(), if !give_way => give_way = true,
            _ = tokio::time::sleep_until(last_bytes + quiet_limit) => {
                tracing::info!(upload = %id, "the body went quiet; keeping what arrived");
                end = End::Cut;
                break;
            }
        }
        if synced_rx.has_changed().unwrap_or(false) {
            let durable = *synced_rx.borrow_and_update();
            if let Err(e) =
                uploads::set_offset(&app.db, id, (start + durable) as i64, refreshed_expiry(app))
                    .await
            {
                // Stop, but only after the writer is done with the file (below).
                db_error = Some(e);
                break;
            }
            last_bytes = Instant::now();
        }
    }
    drop((write_tx, hash_tx));
    let (written, write_error) = writer.await.map_err(anyhow::Error::from)?;
    let hashed = hashing.await.map_err(anyhow::Error::from)?;
    if let Some(e) = db_error {
        return Err(e.into());
    }
    let refusal = (end == End::TooLong).then(|| too_long_message(room));
    Ok((
        Received {
            end,
            taken,
            written,
            write_error,
            checksum,
            hashed,
        },
        refusal,
    ))
}

/// The writer thread: appends at `start`, syncs at the end (and at each checkpoint, reporting
/// how many bytes are durable). Returns the bytes written and the error that stopped it.
fn write_all(
    mut file: std::fs::File,
    start: u64,
    mut rx: mpsc::Receiver<Bytes>,
    synced: Option<watch::Sender<u64>>,
) -> (u64, Option<std::io::Error>) {
    use std::io::{Seek, Write};
    let mut written = 0u64;
    let mut last_sync = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_BUFFER);
    let flush = |file: &mut std::fs::File, buf: &mut Vec<u8>, written: &mut u64| {
        let r = file.write_all(buf);
        if r.is_ok() {
            *written += buf.len() as u64;
        }
        buf.clear();
        r
    };
    if let Err(e) = file.seek(std::io::SeekFrom::Start(start)) {
        return (0, Some(e));
    }
    while let Some(bytes) = rx.blocking_recv() {
        buf.extend_from_slice(&bytes);
        if buf.len() < WRITE_BUFFER {
            continue;
        }
        if let Err(e) = flush(&mut file, &mut buf, &mut written) {
            return (durable(&file, written, last_sync), Some(e));
        }
        if let Some(tx) = &synced
            && written - last_sync >= CHECKPOINT
        {
            if let Err(e) = file.sync_data() {
                return (last_sync, Some(e));
            }
            last_sync = written;
            tx.send_replace(written);
        }
    }
    if let Err(e) = flush(&mut file, &mut buf, &mut written) {
        return (durable(&file, written, last_sync), Some(e));
    }
    match file.sync_data() {
        Ok(()) => (written, None),
        Err(e) => (last_sync, Some(e)),
    }
}

/// After a failed write: the bytes written so far count only if they can still be synced.
fn durable(file: &std::fs::File, written: u64, last_sync: u64) -> u64 {
    match file.sync_data() {
        Ok(()) => written,
        Err(_) => last_sync,
    }
}

/// After a restart (or a crash mid-write) the hash state is rebuilt from the bytes on disk.
/// The database offset is the truth, except when the disk lost bytes past it (power cut); a
/// missing file means the bytes are gone and the upload starts again from zero.
pub async fn rebuild_hasher(app: &App, u: &Upload, path: &Path) -> Result<Hasher, TusError> {
    let path: PathBuf = path.to_owned();
    let offset = u.offset as u64;
    let (hasher, len) = tokio::task::spawn_blocking(move || -> std::io::Result<(Hasher, u64)> {
        use std::io::Read;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let on_disk = file.metadata()?.len();
        let keep = on_disk.min(offset);
        file.set_len(keep)?;
        let mut hasher = Hasher::default();
        hash_stream(&mut file.take(keep), &mut hasher, None)?;
        Ok((hasher, keep))
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(TusError::io)?;
    if len as i64 != u.offset {
        tracing::warn!(upload = %u.id, recorded = u.offset, on_disk = len, "upload bytes were lost; resuming from what is on disk");
        uploads::set_offset(&app.db, &u.id, len as i64, u.expires_at).await?;
    }
    Ok(hasher)
}
