//! The control messages between master and peers, sent as JSON text over a WebSocket.
//!
//! A peer opens the socket with the swarm token (refused with 401/403 otherwise), says `hello`
//! with its protocol version and the URL others fetch its chunks from; the master answers
//! `welcome` (or `refused` with the reason) and the current manifest. Chunks are named by their
//! index in [`Manifest::unique_chunks`] of the manifest named by `manifest` ids.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::chunk_hash::ChunkHash;
use crate::manifest::Manifest;
use crate::node::error::NodeError;

/// Bumped whenever a message changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message the master accepts from a peer (a `have` for a huge library fits).
pub const MAX_PEER_MESSAGE: usize = 16 << 20;

/// The largest message a peer accepts from the master (the manifest of a huge library fits).
pub const MAX_MASTER_MESSAGE: usize = 256 << 20;

/// The largest chunk a peer accepts (it holds a chunk in memory while fetching it).
pub const MAX_CHUNK_SIZE: u64 = 1 << 30;

/// Peer → master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ToMaster {
    Hello {
        protocol: u32,
        /// Base URL others fetch this peer's chunks from.
        advertise: String,
        upload_slots: u32,
        download_slots: u32,
    },
    /// The verified chunks the peer holds of manifest `manifest` after applying it.
    Have {
        manifest: ChunkHash,
        chunks: Vec<u32>,
    },
    Progress {
        transfer: u64,
        bytes: u64,
    },
    /// The chunk arrived, matched its hash and is written.
    Done {
        transfer: u64,
    },
    Failed {
        transfer: u64,
        bytes: u64,
        /// The bytes did not match the hash.
        corrupt: bool,
        message: String,
    },
    /// The peer cannot go on (disk full...) and leaves.
    Fatal {
        message: String,
    },
}

/// Master → peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ToPeer {
    Welcome {
        protocol: u32,
        peer: u32,
    },
    Refused {
        message: String,
    },
    Manifest {
        id: ChunkHash,
        manifest: Manifest,
    },
    Fetch {
        transfer: u64,
        manifest: ChunkHash,
        chunk: u32,
        hash: ChunkHash,
        size: u64,
        /// Base URL of the node holding it.
        from: String,
    },
    Cancel {
        transfer: u64,
    },
    /// Every peer holds the whole manifest.
    AllSynced {
        manifest: ChunkHash,
    },
}

pub fn encode<T: Serialize>(msg: &T) -> String {
    // These types hold only strings, numbers and hashes: serializing cannot fail.
    serde_json::to_string(msg).unwrap_or_default()
}

/// Parses a message, with an error that says what was wrong without echoing huge input.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, NodeError> {
    serde_json::from_str(text).map_err(|e| NodeError::Protocol(format!("malformed message: {e}")))
}

/// The protocol version a hello claims, read leniently so a peer of another version gets a
/// clear mismatch error rather than a parse error.
pub fn claimed_version(text: &str) -> Option<u32> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("protocol")?.as_u64()?.try_into().ok()
}
