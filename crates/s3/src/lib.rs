//! A small blocking S3 client for AWS and S3-compatible stores (MinIO, moto): SigV4 signing,
//! single and multipart PUT streamed from a reader, ranged GET as a reader, HEAD, DELETE,
//! ListObjectsV2, presigned GET URLs and cleanup of abandoned multipart uploads.
//!
//! Hand-written rather than the AWS SDK to keep the build small: the server needs a dozen calls,
//! and every crate used here is already in the workspace. Calls block: use them from
//! `spawn_blocking` or a worker thread.
//!
//! ```no_run
//! use dailies_s3::{Client, Config};
//!
//! let client = Client::new(Config::from_env("dailies-media")?);
//! client.create_bucket()?;
//! let mut file = std::fs::File::open("clip.mp4")?;
//! client.put("media/abc/clip.mp4", &mut file, "video/mp4")?;
//! let url = client.presign_get("media/abc/clip.mp4", std::time::Duration::from_secs(3600));
//! # let _ = url;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

mod client;
mod config;
mod endpoint;
mod sigv4;
mod time;
mod xml;

pub use client::{Client, MIN_PART_SIZE, ObjectMeta, ObjectReader, ObjectSummary};
pub use config::Config;

/// Everything a call can fail with. Messages are meant for an administrator and never contain
/// the secret key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Settings missing or unusable (environment, endpoint URL), or an unusable argument.
    #[error("S3 configuration: {0}")]
    Config(String),
    /// The service could not be reached or the connection broke.
    #[error("S3 connection: {0}")]
    Transport(String),
    /// The service answered with an error.
    #[error("S3 refused ({status} {code}): {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// The requested range starts beyond the object's end (HTTP 416).
    #[error("S3: the requested range is outside the object")]
    RangeNotSatisfiable,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
