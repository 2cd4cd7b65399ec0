//! Typed failures of the swarm library.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while building manifests, planning or simulating.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// A path in a manifest (possibly sent by another machine) that must not become a file path.
    #[error("unsafe path in manifest {path:?}: {why}")]
    UnsafePath { path: String, why: &'static str },
    /// A manifest that contradicts itself (chunk count vs file size, duplicate paths...).
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    #[error("chunk size must be at least 1 byte")]
    ZeroChunkSize,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A scenario file line that could not be understood.
    #[error("scenario line {line}: {message}")]
    Scenario { line: usize, message: String },
    /// The simulation stopped with peers that could never complete.
    #[error(
        "simulation stalled at t={at:.3}s: {incomplete} live peers incomplete and nothing left to do"
    )]
    Stalled { at: f64, incomplete: usize },
}

impl SwarmError {
    /// Wraps an I/O error with the path it concerns, since a bare `io::Error` never says which.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        SwarmError::Io {
            path: path.into(),
            source,
        }
    }
}
