//! BitTorrent distribution of a video's files. Each shareable rendition (the playable file, the
//! original when its owner allows downloads, every finished encode) gets a .torrent made by the
//! `torrent` job ([`crate::jobs::make_torrents`]); the server's own HTTP file is its web seed,
//! reached through a per-video secret ([`links`]); the built-in tracker knows only these
//! torrents ([`tracker`]).

pub mod links;
pub mod rendition;
pub mod tracker;

pub use rendition::{Rendition, Shareable};
