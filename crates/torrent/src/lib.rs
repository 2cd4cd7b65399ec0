//! BitTorrent for dailies: strict bencode, .torrent creation (v1 and hybrid v1+v2) with web
//! seeds, magnet links, and the logic of an HTTP tracker.
//!
//! No HTTP framework and no database: the server passes query strings and file paths in, and
//! gets bencoded bytes and typed values out.
//!
//! Making a torrent reads the whole file and keeps two cores busy: call it from a blocking
//! context (`tokio::task::spawn_blocking`, a job worker), never on an async executor thread.
//!
//! Making a torrent for a video file with a web seed:
//!
//! ```no_run
//! use dailies_torrent::{TorrentSpec, create_torrent};
//!
//! let mut spec = TorrentSpec::single_file("media/abc/playable.mp4", "clip.mp4");
//! spec.announce = Some("https://dailies.example/announce".into());
//! spec.web_seeds.push("https://dailies.example/api/videos/abc/media?dl=TOKEN".into());
//! let torrent = create_torrent(&spec)?;
//! std::fs::write("media/abc/playable.torrent", &torrent.bytes)?;
//! let magnet = torrent
//!     .magnet()
//!     .with_exact_source("https://dailies.example/api/videos/abc/torrent")
//!     .to_uri();
//! # let _ = magnet;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bencode;
mod create;
mod edit;
mod error;
mod hash_pass;
mod hex;
mod info_hash;
mod magnet;
mod merkle;
mod metainfo;
pub mod percent;
pub mod piece_size;
mod read_torrent;
pub mod tracker;
mod v1_pieces;

pub use create::{
    Content, CreatedTorrent, SourceFile, TorrentSpec, TorrentVersion, create_torrent,
    create_torrent_with_progress,
};
pub use edit::{with_announce, with_web_seeds};
pub use error::{CreateError, MetainfoError};
pub use info_hash::InfoHashes;
pub use magnet::Magnet;
pub use read_torrent::{TorrentSummary, read_info_hashes, read_torrent};
