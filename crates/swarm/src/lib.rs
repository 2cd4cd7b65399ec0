//! The LAN swarm: a master splits a folder into chunks named by their BLAKE3 hashes and a
//! central planner tells each peer which chunk to fetch from which other peer, so one folder
//! reaches many machines in little more than the time the network allows.
//!
//! Manifests and their hash cache, the planner (pure and deterministic) and a discrete-event
//! simulator to measure it against the theoretical bound need no network; [`node`] runs the same
//! planner over the network (master and peers). No database.

mod bound;
mod chunk_hash;
mod chunk_set;
mod error;
mod fair_share;
mod hash_cache;
mod manifest;
pub mod node;
mod planner;
mod rates;
mod rel_path;
mod rng;
mod scenario;
mod simulator;
mod state;
mod table;

pub use bound::completion_bound;
pub use chunk_hash::ChunkHash;
pub use chunk_set::ChunkSet;
pub use error::SwarmError;
pub use hash_cache::{FileStamp, HashCache};
pub use manifest::{
    BuildStats, ChunkLocation, DEFAULT_CHUNK_SIZE, FileEntry, Manifest, UniqueChunk, hash_file,
};
pub use planner::{CancelReason, Order, PlannerConfig, StartOrder, plan};
pub use rates::{Observation, Rates};
pub use rel_path::RelPath;
pub use rng::SplitMix64;
pub use scenario::{
    GIGABIT, ManifestChange, NodeSpec, Preset, Scenario, SwitchSpec, parse_rate, parse_size,
    parse_time,
};
pub use simulator::{SimReport, simulate};
pub use state::{ChunkMeta, Failure, Peer, PeerId, Slots, SwarmState, Transfer, TransferId};
pub use table::{holding_bar, render_table};
