//! Info hashes: the names of a torrent. v1 is the SHA-1 of the bencoded `info` dict, v2 its
//! SHA-256 (BEP 52). A hybrid torrent has both, and its v2 swarm is announced to trackers under
//! the SHA-256 truncated to 20 bytes.

use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InfoHashes {
    pub v1: Option<[u8; 20]>,
    pub v2: Option<[u8; 32]>,
}

impl InfoHashes {
    /// Hashes the exact bytes of a bencoded `info` dict. `v2` says whether the dict describes a
    /// v2 (or hybrid) torrent, `v1` whether it has v1 `pieces`.
    pub fn of_info_bytes(info: &[u8], v1: bool, v2: bool) -> InfoHashes {
        InfoHashes {
            v1: v1.then(|| Sha1::digest(info).into()),
            v2: v2.then(|| Sha256::digest(info).into()),
        }
    }

    pub fn v1_hex(&self) -> Option<String> {
        self.v1.map(|h| hex::encode(&h))
    }

    pub fn v2_hex(&self) -> Option<String> {
        self.v2.map(|h| hex::encode(&h))
    }

    /// The v2 hash cut to 20 bytes: how v2 swarms appear in tracker requests and the DHT.
    pub fn v2_truncated(&self) -> Option<[u8; 20]> {
        self.v2.map(|h| {
            let mut t = [0u8; 20];
            t.copy_from_slice(&h[..20]);
            t
        })
    }

    /// Every 20-byte hash a client may announce this torrent under: give these to the tracker's
    /// allow-list.
    pub fn tracker_keys(&self) -> Vec<[u8; 20]> {
        self.v1.into_iter().chain(self.v2_truncated()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_v2_is_the_first_20_bytes() {
        let h = InfoHashes::of_info_bytes(b"d4:name1:ae", true, true);
        let v2 = h.v2.unwrap();
        assert_eq!(h.v2_truncated().unwrap()[..], v2[..20]);
        assert_eq!(
            h.tracker_keys(),
            vec![h.v1.unwrap(), h.v2_truncated().unwrap()]
        );
        assert_eq!(h.v1_hex().unwrap().len(), 40);
        assert_eq!(h.v2_hex().unwrap().len(), 64);
    }

    #[test]
    fn v1_only_has_one_key() {
        let h = InfoHashes::of_info_bytes(b"de", true, false);
        assert_eq!(h.v2, None);
        assert_eq!(h.tracker_keys().len(), 1);
        assert_eq!(
            h.v1_hex().as_deref(),
            Some("600ccd1b71569232d01d110bc63e906beab04d8c")
        );
    }
}
