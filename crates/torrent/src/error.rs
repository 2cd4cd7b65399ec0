//! Why a torrent could not be made or read.

use std::path::PathBuf;

use crate::bencode::DecodeError;

/// Why a torrent could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} changed while it was hashed: expected {expected} bytes, read {found}")]
    FileChanged {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("a torrent needs at least one file")]
    NoFiles,
    #[error("invalid name {0:?}: it must be a non-empty file name without '/', NUL, '.' or '..'")]
    InvalidName(String),
    #[error("two files share the path {0:?}, or one is inside the other")]
    ConflictingPaths(String),
    #[error("piece length {0} is not a power of two from 16 KiB to 16 MiB")]
    InvalidPieceLength(u64),
    #[error("creation was cancelled")]
    Cancelled,
}

impl CreateError {
    /// Whether trying again cannot help (a job queue's retry decision): a bad name or layout
    /// stays bad, while a read error, a file still being written, or a cancel may not recur.
    pub fn is_permanent(&self) -> bool {
        match self {
            CreateError::Io { .. } | CreateError::FileChanged { .. } | CreateError::Cancelled => {
                false
            }
            CreateError::NoFiles
            | CreateError::InvalidName(_)
            | CreateError::ConflictingPaths(_)
            | CreateError::InvalidPieceLength(_) => true,
        }
    }
}

/// Why bytes are not a torrent we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetainfoError {
    #[error("not bencode: {0}")]
    Bencode(#[from] DecodeError),
    #[error("not a torrent: {0}")]
    Invalid(&'static str),
}
