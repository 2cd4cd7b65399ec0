//! Bencoded tracker responses: failures, announce answers (BEP 3 peer dicts, BEP 23 compact
//! `peers`, BEP 7 `peers6`) and scrape answers (BEP 48).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::swarm_state::{AnnounceOutcome, Peer, SwarmCounts};
use crate::bencode::{Value, encode};

/// `d14:failure reason…e`: what every refused request gets, with HTTP 200 as clients expect.
pub fn failure(reason: &str) -> Vec<u8> {
    encode(&Value::dict([("failure reason", Value::bytes(reason))]))
}

fn count(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn seconds(d: Duration) -> Value {
    count(d.as_secs())
}

/// How a peer list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerFormat {
    /// IPv4 as 6-byte entries in `peers`, IPv6 as 18-byte entries in `peers6`.
    Compact,
    /// A list of `{ip, peer id, port}` dicts (`peer id` left out when `with_peer_id` is false).
    Dicts { with_peer_id: bool },
}

pub fn announce(
    outcome: &AnnounceOutcome,
    interval: Duration,
    min_interval: Duration,
    format: PeerFormat,
) -> Vec<u8> {
    let mut dict: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    let mut put = |key: &str, value: Value| dict.insert(key.as_bytes().to_vec(), value);
    put("complete", count(outcome.counts.complete));
    put("incomplete", count(outcome.counts.incomplete));
    put("downloaded", count(outcome.counts.downloaded));
    put("interval", seconds(interval));
    put("min interval", seconds(min_interval));
    match format {
        PeerFormat::Compact => {
            let (v4, v6) = compact_peers(&outcome.peers);
            put("peers", Value::Bytes(v4));
            if !v6.is_empty() {
                put("peers6", Value::Bytes(v6));
            }
        }
        PeerFormat::Dicts { with_peer_id } => {
            let list = outcome
                .peers
                .iter()
                .map(|p| peer_dict(p, with_peer_id))
                .collect();
            put("peers", Value::List(list));
        }
    }
    encode(&Value::Dict(dict))
}

fn compact_peers(peers: &[Peer]) -> (Vec<u8>, Vec<u8>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for peer in peers {
        match peer.addr {
            SocketAddr::V4(a) => {
                v4.extend_from_slice(&a.ip().octets());
                v4.extend_from_slice(&a.port().to_be_bytes());
            }
            SocketAddr::V6(a) => {
                v6.extend_from_slice(&a.ip().octets());
                v6.extend_from_slice(&a.port().to_be_bytes());
            }
        }
    }
    (v4, v6)
}

fn peer_dict(peer: &Peer, with_peer_id: bool) -> Value {
    let ip = match peer.addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => ip.to_string(),
    };
    let mut entries = vec![
        ("ip", Value::bytes(ip)),
        ("port", Value::Int(i64::from(peer.addr.port()))),
    ];
    if with_peer_id {
        entries.push(("peer id", Value::bytes(peer.peer_id)));
    }
    Value::dict(entries)
}

/// `{files: {hash: {complete, downloaded, incomplete}}}` for the hashes given.
pub fn scrape(entries: &[([u8; 20], SwarmCounts)]) -> Vec<u8> {
    let files = entries
        .iter()
        .map(|(hash, c)| {
            (
                hash.to_vec(),
                Value::dict([
                    ("complete", count(c.complete)),
                    ("downloaded", count(c.downloaded)),
                    ("incomplete", count(c.incomplete)),
                ]),
            )
        })
        .collect();
    encode(&Value::dict([("files", Value::Dict(files))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bencode::decode;
    use crate::tracker::AnnounceEvent;
    use crate::tracker::announce::AnnounceRequest;
    use crate::tracker::swarm_state::SwarmTable;
    use std::time::Instant;

    fn outcome_with(addrs: &[&str]) -> AnnounceOutcome {
        let mut table = SwarmTable::new(Duration::from_secs(60), 100);
        let now = Instant::now();
        for (i, a) in addrs.iter().enumerate() {
            let addr: SocketAddr = a.parse().unwrap();
            let request = AnnounceRequest {
                info_hash: [1; 20],
                peer_id: [i as u8; 20],
                port: addr.port(),
                uploaded: 0,
                downloaded: 0,
                left: 0,
                event: AnnounceEvent::Started,
                numwant: None,
                compact: true,
                no_peer_id: false,
            };
            table.announce(&request, addr.ip(), 0, now).unwrap();
        }
        let me = AnnounceRequest {
            info_hash: [1; 20],
            peer_id: [200; 20],
            port: 1,
            uploaded: 0,
            downloaded: 0,
            left: 10,
            event: AnnounceEvent::Started,
            numwant: None,
            compact: true,
            no_peer_id: false,
        };
        table
            .announce(&me, "127.0.0.1".parse().unwrap(), 50, now)
            .unwrap()
    }

    #[test]
    fn failure_is_a_bencoded_reason() {
        assert_eq!(failure("bad port"), b"d14:failure reason8:bad porte");
    }

    #[test]
    fn compact_peers_are_six_and_eighteen_byte_entries() {
        let out = outcome_with(&["10.1.2.3:6881", "[2001:db8::1]:51413"]);
        let body = announce(
            &out,
            Duration::from_secs(900),
            Duration::from_secs(60),
            PeerFormat::Compact,
        );
        let v = decode(&body).unwrap();
        assert_eq!(
            v.get("peers").and_then(Value::as_bytes),
            Some(&[10, 1, 2, 3, 0x1a, 0xe1][..])
        );
        let mut v6 = "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec();
        v6.extend([0xc8, 0xd5]);
        assert_eq!(v.get("peers6").and_then(Value::as_bytes), Some(&v6[..]));
        assert_eq!(v.get("interval").and_then(Value::as_int), Some(900));
        assert_eq!(v.get("min interval").and_then(Value::as_int), Some(60));
        assert_eq!(v.get("complete").and_then(Value::as_int), Some(2));
        assert_eq!(v.get("incomplete").and_then(Value::as_int), Some(1));
    }

    #[test]
    fn dict_peers_carry_ip_port_and_optionally_the_id() {
        let out = outcome_with(&["10.1.2.3:6881"]);
        let body = announce(
            &out,
            Duration::from_secs(900),
            Duration::from_secs(60),
            PeerFormat::Dicts { with_peer_id: true },
        );
        let v = decode(&body).unwrap();
        let peer = &v.get("peers").and_then(Value::as_list).unwrap()[0];
        assert_eq!(peer.get("ip").and_then(Value::as_str), Some("10.1.2.3"));
        assert_eq!(peer.get("port").and_then(Value::as_int), Some(6881));
        assert_eq!(
            peer.get("peer id").and_then(Value::as_bytes),
            Some(&[0; 20][..])
        );
        let body = announce(
            &out,
            Duration::from_secs(900),
            Duration::from_secs(60),
            PeerFormat::Dicts {
                with_peer_id: false,
            },
        );
        let v = decode(&body).unwrap();
        assert!(
            v.get("peers").and_then(Value::as_list).unwrap()[0]
                .get("peer id")
                .is_none()
        );
    }

    #[test]
    fn scrape_lists_counts_by_raw_hash() {
        let body = scrape(&[(
            [3; 20],
            SwarmCounts {
                complete: 1,
                incomplete: 2,
                downloaded: 3,
            },
        )]);
        let v = decode(&body).unwrap();
        let files = v.get("files").and_then(Value::as_dict).unwrap();
        let entry = files.get(&[3u8; 20][..]).unwrap();
        assert_eq!(entry.get("complete").and_then(Value::as_int), Some(1));
        assert_eq!(entry.get("incomplete").and_then(Value::as_int), Some(2));
        assert_eq!(entry.get("downloaded").and_then(Value::as_int), Some(3));
    }
}
