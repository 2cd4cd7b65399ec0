//! Magnet links (BEP 9, with BEP 52's `btmh` for v2): how a browser hands a torrent to a client
//! without the .torrent file. `ws` lets the client fetch from our web seed straight away and `xs`
//! points at the .torrent itself, so the link works even with no peers and no DHT.

use crate::hex;
use crate::info_hash::InfoHashes;
use crate::percent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    pub info_hashes: InfoHashes,
    /// `dn`: the name shown before the metadata arrives.
    pub display_name: Option<String>,
    /// `tr`: tracker announce URLs.
    pub trackers: Vec<String>,
    /// `ws`: web seed URLs (BEP 19).
    pub web_seeds: Vec<String>,
    /// `xs`: where the .torrent file can be downloaded.
    pub exact_sources: Vec<String>,
}

impl Magnet {
    pub fn new(info_hashes: InfoHashes) -> Magnet {
        Magnet {
            info_hashes,
            display_name: None,
            trackers: Vec::new(),
            web_seeds: Vec::new(),
            exact_sources: Vec::new(),
        }
    }

    /// The link for a torrent: `dn`, `tr` and `ws` filled from its metainfo.
    pub fn for_torrent(
        info_hashes: InfoHashes,
        name: &str,
        announce: Option<&str>,
        web_seeds: &[String],
    ) -> Magnet {
        Magnet {
            info_hashes,
            display_name: Some(name.to_string()),
            trackers: announce.map(str::to_string).into_iter().collect(),
            web_seeds: web_seeds.to_vec(),
            exact_sources: Vec::new(),
        }
    }

    pub fn with_exact_source(mut self, url: impl Into<String>) -> Magnet {
        self.exact_sources.push(url.into());
        self
    }

    /// The `magnet:?` URI. The v1 hash comes first (`urn:btih:`, 40 hex digits), then the v2
    /// hash as a multihash (`urn:btmh:` + `1220` = SHA-256, 32 bytes); every value is
    /// percent-encoded.
    pub fn to_uri(&self) -> String {
        let mut params: Vec<String> = Vec::new();
        if let Some(v1) = self.info_hashes.v1 {
            params.push(format!("xt=urn:btih:{}", hex::encode(&v1)));
        }
        if let Some(v2) = self.info_hashes.v2 {
            params.push(format!("xt=urn:btmh:1220{}", hex::encode(&v2)));
        }
        if let Some(name) = &self.display_name {
            params.push(format!("dn={}", percent::encode(name.as_bytes())));
        }
        let lists = [
            ("tr", &self.trackers),
            ("ws", &self.web_seeds),
            ("xs", &self.exact_sources),
        ];
        for (key, values) in lists {
            for value in values {
                params.push(format!("{key}={}", percent::encode(value.as_bytes())));
            }
        }
        format!("magnet:?{}", params.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_magnet_has_both_hashes_and_encoded_values() {
        let hashes = InfoHashes {
            v1: Some([0xab; 20]),
            v2: Some([0x01; 32]),
        };
        let mut m = Magnet::new(hashes);
        m.display_name = Some("Clip 1 & take 2.mp4".into());
        m.trackers.push("https://dailies.example/announce".into());
        m.web_seeds
            .push("https://dailies.example/api/videos/x/media?token=a+b".into());
        let uri = m
            .with_exact_source("https://dailies.example/api/videos/x/torrent")
            .to_uri();
        assert_eq!(
            uri,
            format!(
                "magnet:?xt=urn:btih:{}&xt=urn:btmh:1220{}&dn=Clip%201%20%26%20take%202.mp4\
                 &tr=https%3A%2F%2Fdailies.example%2Fannounce\
                 &ws=https%3A%2F%2Fdailies.example%2Fapi%2Fvideos%2Fx%2Fmedia%3Ftoken%3Da%2Bb\
                 &xs=https%3A%2F%2Fdailies.example%2Fapi%2Fvideos%2Fx%2Ftorrent",
                "ab".repeat(20),
                "01".repeat(32)
            )
        );
    }

    #[test]
    fn v1_only_magnet_has_only_btih() {
        let m = Magnet::new(InfoHashes {
            v1: Some([0; 20]),
            v2: None,
        });
        assert_eq!(
            m.to_uri(),
            format!("magnet:?xt=urn:btih:{}", "0".repeat(40))
        );
    }
}
