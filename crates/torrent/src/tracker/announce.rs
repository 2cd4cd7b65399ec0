//! The announce request (BEP 3, with BEP 23 `compact` and BEP 21 `paused`), parsed strictly
//! from the query string. The peer's address is not taken from the query (`ip=` is ignored):
//! the server passes the connection's address, so nobody can announce someone else.

use super::query::{Pairs, number, parse_pairs, required, single, twenty_bytes};
use super::request_error::RequestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnounceEvent {
    /// A regular update (no `event`, or an empty one).
    None,
    Started,
    Completed,
    Stopped,
    /// BEP 21: the client keeps the torrent but is not downloading now.
    Paused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    /// Bytes still missing; 0 means a seeder.
    pub left: u64,
    pub event: AnnounceEvent,
    /// How many peers the client wants; `None` lets the tracker choose (capped either way).
    pub numwant: Option<u64>,
    /// BEP 23 compact peer lists. Absent means yes: every client in use understands them.
    pub compact: bool,
    /// Leave `peer id` out of non-compact peer lists.
    pub no_peer_id: bool,
}

/// Parses the query string of `GET /announce?…` (without the `?`).
pub fn parse_announce(query: &str) -> Result<AnnounceRequest, RequestError> {
    let pairs = parse_pairs(query)?;
    announce_from_pairs(&pairs)
}

fn announce_from_pairs(pairs: &Pairs) -> Result<AnnounceRequest, RequestError> {
    let info_hash = required(pairs, "info_hash")?;
    let info_hash =
        twenty_bytes(info_hash).ok_or(RequestError::BadInfoHashLength(info_hash.len()))?;
    let peer_id = required(pairs, "peer_id")?;
    let peer_id = twenty_bytes(peer_id).ok_or(RequestError::BadPeerIdLength(peer_id.len()))?;
    let port = number(required(pairs, "port")?, "port").map_err(|_| RequestError::BadPort)?;
    let port = u16::try_from(port)
        .ok()
        .filter(|&p| p != 0)
        .ok_or(RequestError::BadPort)?;
    let uploaded = number(required(pairs, "uploaded")?, "uploaded")?;
    let downloaded = number(required(pairs, "downloaded")?, "downloaded")?;
    let left = number(required(pairs, "left")?, "left")?;
    let event = match single(pairs, "event")? {
        None | Some(b"") => AnnounceEvent::None,
        Some(b"started") => AnnounceEvent::Started,
        Some(b"completed") => AnnounceEvent::Completed,
        Some(b"stopped") => AnnounceEvent::Stopped,
        Some(b"paused") => AnnounceEvent::Paused,
        Some(_) => return Err(RequestError::BadEvent),
    };
    let numwant = single(pairs, "numwant")?
        .map(|v| number(v, "numwant"))
        .transpose()?;
    let compact = match single(pairs, "compact")? {
        None | Some(b"1") => true,
        Some(b"0") => false,
        Some(_) => return Err(RequestError::BadCompact),
    };
    let no_peer_id = matches!(single(pairs, "no_peer_id")?, Some(v) if v != b"0");
    Ok(AnnounceRequest {
        info_hash,
        peer_id,
        port,
        uploaded,
        downloaded,
        left,
        event,
        numwant,
        compact,
        no_peer_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percent::encode;

    const HASH: [u8; 20] = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        0x12, 0x34, 0x56, 0x78, 0x9a,
    ];

    fn base() -> String {
        format!(
            "info_hash={}&peer_id={}&port=6881&uploaded=0&downloaded=10&left=1000",
            encode(&HASH),
            encode(b"-AR1360-abcdefghijkl")
        )
    }

    #[test]
    fn parses_a_typical_client_announce() {
        let q = base() + "&event=started&numwant=80&compact=1&key=ab12&supportcrypto=1";
        let r = parse_announce(&q).unwrap();
        assert_eq!(r.info_hash, HASH);
        assert_eq!(&r.peer_id, b"-AR1360-abcdefghijkl");
        assert_eq!(r.port, 6881);
        assert_eq!((r.uploaded, r.downloaded, r.left), (0, 10, 1000));
        assert_eq!(r.event, AnnounceEvent::Started);
        assert_eq!(r.numwant, Some(80));
        assert!(r.compact);
        assert!(!r.no_peer_id);
    }

    #[test]
    fn defaults_when_optional_fields_are_absent() {
        let r = parse_announce(&base()).unwrap();
        assert_eq!(r.event, AnnounceEvent::None);
        assert_eq!(r.numwant, None);
        assert!(r.compact);
        let r = parse_announce(&(base() + "&event=&compact=0&no_peer_id=1")).unwrap();
        assert_eq!(r.event, AnnounceEvent::None);
        assert!(!r.compact);
        assert!(r.no_peer_id);
    }

    #[test]
    fn refuses_wrong_hash_and_id_lengths() {
        let short = base().replace(&encode(&HASH), &encode(&HASH[..19]));
        assert_eq!(
            parse_announce(&short),
            Err(RequestError::BadInfoHashLength(19))
        );
        let long = base().replace("-AR1360-abcdefghijkl", "-AR1360-abcdefghijklm");
        assert_eq!(
            parse_announce(&long),
            Err(RequestError::BadPeerIdLength(21))
        );
    }

    #[test]
    fn refuses_bad_ports() {
        for port in ["0", "65536", "-1", "", "80a", "99999999999999999999999"] {
            let q = base().replace("port=6881", &format!("port={port}"));
            assert_eq!(parse_announce(&q), Err(RequestError::BadPort), "{port}");
        }
        let q = base().replace("port=6881", "port=65535");
        assert_eq!(parse_announce(&q).unwrap().port, 65535);
    }

    #[test]
    fn refuses_missing_and_repeated_fields() {
        for field in [
            "info_hash",
            "peer_id",
            "port",
            "uploaded",
            "downloaded",
            "left",
        ] {
            let full = base();
            let kept: Vec<&str> = full
                .split('&')
                .filter(|kv| !kv.starts_with(&format!("{field}=")))
                .collect();
            let q = kept.join("&");
            assert_eq!(
                parse_announce(&q),
                Err(RequestError::Missing(field)),
                "{field}"
            );
        }
        assert_eq!(
            parse_announce(&(base() + "&left=5")),
            Err(RequestError::Duplicate("left"))
        );
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!(
            parse_announce(&(base() + "&event=begun")),
            Err(RequestError::BadEvent)
        );
        assert_eq!(
            parse_announce(&(base() + "&compact=yes")),
            Err(RequestError::BadCompact)
        );
        assert_eq!(
            parse_announce(&(base() + "&numwant=-1")),
            Err(RequestError::BadNumber("numwant"))
        );
        assert_eq!(
            parse_announce(&base().replace("left=1000", "left=1.5")),
            Err(RequestError::BadNumber("left"))
        );
        assert_eq!(
            parse_announce(&(base() + "&x=%zz")),
            Err(RequestError::BadEscape)
        );
    }
}
