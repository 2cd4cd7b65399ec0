//! Typed failures of the swarm's network side.

use std::io;
use std::path::PathBuf;

use crate::error::SwarmError;

/// Variants carrying an `io::Error` print it in their message (it is not a `source`, so error
/// chains do not print it twice).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Swarm(#[from] SwarmError),
    /// Writing a chunk or preparing a file failed for lack of room (or a file size limit).
    #[error("disk full while writing {path}: {cause}")]
    DiskFull { path: PathBuf, cause: io::Error },
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },
    #[error("cannot listen on {addr}: {cause}")]
    Listen { addr: String, cause: io::Error },
    /// No address other machines could reach was given.
    #[error(
        "listening on {listen}, which other machines cannot use to reach this node: pass --advertise http://HOST:PORT with an address they can reach"
    )]
    NoAdvertise { listen: String },
    #[error("invalid URL {url:?}: {why}")]
    BadUrl { url: String, why: String },
    #[error("invalid rate {input:?}: {why}")]
    BadRate { input: String, why: String },
    /// The other side speaks another version of the protocol.
    #[error("protocol version mismatch: this node speaks {ours}, the other side {theirs}")]
    ProtocolMismatch { ours: u32, theirs: u32 },
    /// A message that does not follow the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The master refused this peer (wrong token, wrong version...).
    #[error("refused by the master: {0}")]
    Refused(String),
    #[error("connection to the master failed: {0}")]
    Connect(String),
    #[error("lost the connection to the master")]
    MasterGone,
}

impl NodeError {
    /// Sorts an I/O error on a file being written: no room is told apart from the rest, since
    /// it is the one the user can fix by freeing space.
    pub fn write(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        let full = matches!(
            source.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge | io::ErrorKind::QuotaExceeded
        );
        if full {
            NodeError::DiskFull {
                path,
                cause: source,
            }
        } else {
            NodeError::Io {
                path,
                cause: source,
            }
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        NodeError::Io {
            path: path.into(),
            cause: source,
        }
    }
}
