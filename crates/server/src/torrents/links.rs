//! The URLs written into torrents and magnet links. A BitTorrent client cannot sign in, so
//! everything it fetches (the web seed, the .torrent named by a magnet's `xs`) carries the
//! video's web-seed secret in its path: `/api/webseed/<video>/<secret>/<rendition>[.torrent]`.
//! Replacing the secret ([`crate::db::torrents::replace_webseed_token`]) revokes them all.

use dailies_torrent::{InfoHashes, Magnet};

use crate::config::Config;
use crate::db::torrents::Torrent;

/// Where this server's torrents point clients.
pub struct Links {
    base: String,
    tracker: bool,
}

impl Links {
    pub fn new(config: &Config) -> Links {
        Links {
            base: config.public_base(),
            tracker: config.tracker,
        }
    }

    /// The tracker's announce URL, when the tracker runs.
    pub fn announce(&self) -> Option<String> {
        self.tracker.then(|| format!("{}/announce", self.base))
    }

    /// The file itself, for BEP 19 clients (single-file torrents: the URL is the file).
    pub fn web_seed(&self, video_id: &str, secret: &str, rendition: &str) -> String {
        format!("{}/api/webseed/{video_id}/{secret}/{rendition}", self.base)
    }

    /// The .torrent, fetchable without signing in (a magnet link's `xs`).
    pub fn torrent_file(&self, video_id: &str, secret: &str, rendition: &str) -> String {
        format!(
            "{}/api/webseed/{video_id}/{secret}/{rendition}.torrent",
            self.base
        )
    }

    /// The magnet link of a stored torrent: name, tracker, web seed and the .torrent's URL.
    pub fn magnet(&self, t: &Torrent, secret: &str) -> Option<String> {
        let hashes = info_hashes(t)?;
        let mut magnet = Magnet::for_torrent(
            hashes,
            &t.name,
            self.announce().as_deref(),
            &[self.web_seed(&t.video_id, secret, &t.rendition)],
        );
        magnet = magnet.with_exact_source(self.torrent_file(&t.video_id, secret, &t.rendition));
        Some(magnet.to_uri())
    }
}

/// The info hashes stored as hex; `None` if the row is damaged.
pub fn info_hashes(t: &Torrent) -> Option<InfoHashes> {
    fn decode<const N: usize>(hex_str: Option<&str>) -> Option<Option<[u8; N]>> {
        match hex_str {
            None => Some(None),
            Some(s) => {
                let mut out = [0u8; N];
                hex::decode_to_slice(s, &mut out).ok()?;
                Some(Some(out))
            }
        }
    }
    let hashes = InfoHashes {
        v1: decode::<20>(t.info_hash_v1.as_deref())?,
        v2: decode::<32>(t.info_hash_v2.as_deref())?,
    };
    (hashes.v1.is_some() || hashes.v2.is_some()).then_some(hashes)
}
