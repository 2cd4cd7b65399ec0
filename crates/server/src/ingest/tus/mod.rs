//! Resumable uploads: the tus 1.0 protocol at `/api/uploads/`, with the creation,
//! creation-with-upload, creation-defer-length, termination, checksum, expiration and
//! concatenation extensions.
//!
//! Upload state lives in the database and bytes in `data/uploads/<id>.part`, so an upload
//! resumes at its offset after a restart. SHA-256 and BLAKE3 are computed while the bytes
//! arrive; the running hash state is kept in memory with the upload's lock, and rebuilt from the
//! bytes already on disk only after a restart. A complete upload goes through the same door as
//! the drop folder ([`crate::ingest::register::register_file`]) with those hashes, so the file
//! is never read again.
//!
//! - [`protocol`]: headers, error answers, metadata and checksums.
//! - [`handlers`]: one function per HTTP method.
//! - [`receive`]: a body's way to the disk and the hasher.
//! - [`complete`]: an upload becoming a video, and finishing one a crash interrupted.
//! - [`concat`]: final uploads joined from partial ones.
//! - [`check`]: the duplicate check before an upload.
//! - [`limits`], [`admission`], [`locks`], [`housekeeping`]: what may start, how many bodies
//!   arrive at once, who may write, what is removed.

pub mod admission;
pub mod check;
pub mod complete;
pub mod concat;
pub mod handlers;
pub mod housekeeping;
pub mod limits;
pub mod locks;
pub mod protocol;
pub mod receive;

use std::path::PathBuf;

use axum::Router;
use axum::routing::{options, post};

use crate::api::auth::Caller;
use crate::app::App;
use crate::db::now_ms;
use crate::db::uploads::{self, Upload};
use crate::ids;

pub use complete::finish_interrupted;
pub use housekeeping::{purge_expired, remove_orphans, remove_upload};
pub use locks::{RELEASE_CHANNEL, UploadLocks};
use protocol::TusError;
pub use protocol::parse_metadata;

/// The response header naming the video a complete upload became.
pub const VIDEO_ID_HEADER: &str = "dailies-video-id";

pub fn routes() -> Router<App> {
    use handlers::{create, discovery, head, info, patch, terminate};
    Router::new()
        .route("/api/uploads", post(create).options(discovery))
        .route("/api/uploads/", post(create).options(discovery))
        .route("/api/uploads/check", post(check::check))
        .route(
            "/api/uploads/{id}",
            options(discovery)
                .head(head)
                .patch(patch)
                .delete(terminate)
                .get(info),
        )
}

fn part_path(app: &App, id: &str) -> Option<PathBuf> {
    ids::is_valid_id(id).then(|| app.layout.uploads().join(format!("{id}.part")))
}

/// An upload expires this long after it was last written to.
fn refreshed_expiry(app: &App) -> i64 {
    now_ms() + (app.config.upload_expiry_secs * 1000.0) as i64
}

/// The upload if it exists, belongs to the caller and has not expired. Someone else's upload
/// answers exactly like a missing one.
async fn owned(app: &App, caller: &Caller, id: &str) -> Result<Upload, TusError> {
    if !ids::is_valid_id(id) {
        return Err(TusError::not_found());
    }
    match uploads::get(&app.db, id).await? {
        Some(u) if u.owner_id == caller.0.id => {
            if !u.is_complete() && u.expires_at < now_ms() {
                Err(TusError::new(410, "this upload expired; start it again"))
            } else {
                Ok(u)
            }
        }
        _ => Err(TusError::not_found()),
    }
}
