//! Who is in each swarm: peers per info hash, forgotten when they stop announcing.
//!
//! Time is passed in (`now`) rather than read here, so expiry is decided by the caller's clock
//! and tests are exact.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::announce::{AnnounceEvent, AnnounceRequest};
use super::request_error::RequestError;

/// One peer as the tracker knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub addr: SocketAddr,
    pub peer_id: [u8; 20],
    pub left: u64,
    last_seen: Instant,
}

/// Seeders, leechers and completed downloads of one swarm (what a scrape reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwarmCounts {
    pub complete: u64,
    pub incomplete: u64,
    pub downloaded: u64,
}

/// The answer to one announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceOutcome {
    pub peers: Vec<Peer>,
    pub counts: SwarmCounts,
}

#[derive(Default)]
struct Swarm {
    /// Keyed by address and id, so one peer id seen from another address is another peer and
    /// cannot replace (or stop) the first.
    peers: HashMap<(IpAddr, [u8; 20]), Peer>,
    downloaded: u64,
}

impl Swarm {
    fn counts(&self) -> SwarmCounts {
        let complete = self.peers.values().filter(|p| p.left == 0).count() as u64;
        SwarmCounts {
            complete,
            incomplete: self.peers.len() as u64 - complete,
            downloaded: self.downloaded,
        }
    }

    fn expire(&mut self, now: Instant, ttl: Duration) {
        self.peers
            .retain(|_, p| now.saturating_duration_since(p.last_seen) <= ttl);
    }
}

pub struct SwarmTable {
    swarms: HashMap<[u8; 20], Swarm>,
    peer_ttl: Duration,
    max_peers_per_swarm: usize,
    /// State of a xorshift generator: which peers a client gets is varied, so a large swarm
    /// does not always hand out the same few.
    shuffle: u64,
}

impl SwarmTable {
    pub fn new(peer_ttl: Duration, max_peers_per_swarm: usize) -> SwarmTable {
        SwarmTable {
            swarms: HashMap::new(),
            peer_ttl,
            max_peers_per_swarm,
            shuffle: RandomState::new().hash_one(0u8) | 1,
        }
    }

    /// Records the announce of the peer at `ip` and picks up to `numwant` other peers for it:
    /// a seeder gets only leechers (another seeder has nothing for it).
    pub fn announce(
        &mut self,
        request: &AnnounceRequest,
        ip: IpAddr,
        numwant: usize,
        now: Instant,
    ) -> Result<AnnounceOutcome, RequestError> {
        let ip = ip.to_canonical();
        let ttl = self.peer_ttl;
        let swarm = self.swarms.entry(request.info_hash).or_default();
        swarm.expire(now, ttl);
        let key = (ip, request.peer_id);
        if request.event == AnnounceEvent::Stopped {
            swarm.peers.remove(&key);
            let counts = swarm.counts();
            if swarm.peers.is_empty() && swarm.downloaded == 0 {
                self.swarms.remove(&request.info_hash);
            }
            return Ok(AnnounceOutcome {
                peers: Vec::new(),
                counts,
            });
        }
        let previous = swarm.peers.get(&key).map(|p| p.left);
        if previous.is_none() && swarm.peers.len() >= self.max_peers_per_swarm {
            return Err(RequestError::SwarmFull);
        }
        // Count a download once: when a known leecher, or a newcomer, says it completed.
        if request.event == AnnounceEvent::Completed && previous != Some(0) {
            swarm.downloaded += 1;
        }
        swarm.peers.insert(
            key,
            Peer {
                addr: SocketAddr::new(ip, request.port),
                peer_id: request.peer_id,
                left: request.left,
                last_seen: now,
            },
        );
        let seeder = request.left == 0;
        let mut candidates: Vec<&Peer> = swarm
            .peers
            .iter()
            .filter(|(k, p)| **k != key && !(seeder && p.left == 0))
            .map(|(_, p)| p)
            .collect();
        let take = numwant.min(candidates.len());
        // Partial Fisher-Yates: a uniform choice of `take` peers.
        for i in 0..take {
            self.shuffle ^= self.shuffle << 13;
            self.shuffle ^= self.shuffle >> 7;
            self.shuffle ^= self.shuffle << 17;
            let j = i + (self.shuffle % (candidates.len() - i) as u64) as usize;
            candidates.swap(i, j);
        }
        let peers = candidates[..take].iter().map(|p| (*p).clone()).collect();
        Ok(AnnounceOutcome {
            peers,
            counts: swarm.counts(),
        })
    }

    /// The counts of one swarm; an unknown swarm has none.
    pub fn counts(&mut self, info_hash: &[u8; 20], now: Instant) -> SwarmCounts {
        let ttl = self.peer_ttl;
        match self.swarms.get_mut(info_hash) {
            Some(swarm) => {
                swarm.expire(now, ttl);
                swarm.counts()
            }
            None => SwarmCounts::default(),
        }
    }

    /// Drops expired peers everywhere, and swarms left with nothing to remember.
    pub fn expire_all(&mut self, now: Instant) {
        let ttl = self.peer_ttl;
        self.swarms.retain(|_, swarm| {
            swarm.expire(now, ttl);
            !swarm.peers.is_empty() || swarm.downloaded > 0
        });
    }

    /// Forgets a swarm entirely (its torrent was withdrawn).
    pub fn remove(&mut self, info_hash: &[u8; 20]) {
        self.swarms.remove(info_hash);
    }

    pub fn swarm_count(&self) -> usize {
        self.swarms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const HASH: [u8; 20] = [7; 20];
    const TTL: Duration = Duration::from_secs(100);

    fn request(id: u8, left: u64, event: AnnounceEvent) -> AnnounceRequest {
        AnnounceRequest {
            info_hash: HASH,
            peer_id: [id; 20],
            port: 6881,
            uploaded: 0,
            downloaded: 0,
            left,
            event,
            numwant: None,
            compact: true,
            no_peer_id: false,
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn peers_see_each_other_but_not_themselves() {
        let mut table = SwarmTable::new(TTL, 100);
        let t0 = Instant::now();
        let first = table
            .announce(&request(1, 500, AnnounceEvent::Started), ip(1), 50, t0)
            .unwrap();
        assert!(first.peers.is_empty());
        assert_eq!(first.counts.incomplete, 1);
        let second = table
            .announce(&request(2, 0, AnnounceEvent::Started), ip(2), 50, t0)
            .unwrap();
        assert_eq!(second.peers.len(), 1);
        assert_eq!(second.peers[0].addr, SocketAddr::new(ip(1), 6881));
        assert_eq!(
            second.counts,
            SwarmCounts {
                complete: 1,
                incomplete: 1,
                downloaded: 0
            }
        );
    }

    #[test]
    fn seeders_are_not_sent_to_seeders() {
        let mut table = SwarmTable::new(TTL, 100);
        let t0 = Instant::now();
        table
            .announce(&request(1, 0, AnnounceEvent::Started), ip(1), 50, t0)
            .unwrap();
        let seeder = table
            .announce(&request(2, 0, AnnounceEvent::Started), ip(2), 50, t0)
            .unwrap();
        assert!(seeder.peers.is_empty());
        let leecher = table
            .announce(&request(3, 9, AnnounceEvent::Started), ip(3), 50, t0)
            .unwrap();
        assert_eq!(leecher.peers.len(), 2);
    }

    #[test]
    fn numwant_limits_the_list() {
        let mut table = SwarmTable::new(TTL, 100);
        let t0 = Instant::now();
        for i in 0..20 {
            table
                .announce(&request(i, 5, AnnounceEvent::None), ip(i), 50, t0)
                .unwrap();
        }
        let out = table
            .announce(&request(99, 5, AnnounceEvent::None), ip(99), 7, t0)
            .unwrap();
        assert_eq!(out.peers.len(), 7);
        let mut addrs: Vec<_> = out.peers.iter().map(|p| p.addr).collect();
        addrs.dedup();
        assert_eq!(addrs.len(), 7);
    }

    #[test]
    fn stopped_peers_leave_and_silent_peers_expire() {
        let mut table = SwarmTable::new(TTL, 100);
        let t0 = Instant::now();
        table
            .announce(&request(1, 5, AnnounceEvent::Started), ip(1), 50, t0)
            .unwrap();
        table
            .announce(&request(2, 5, AnnounceEvent::Started), ip(2), 50, t0)
            .unwrap();
        let out = table
            .announce(&request(1, 5, AnnounceEvent::Stopped), ip(1), 50, t0)
            .unwrap();
        assert_eq!(out.counts.incomplete, 1);
        // Peer 2 stays just within the TTL, then is gone.
        assert_eq!(table.counts(&HASH, t0 + TTL).incomplete, 1);
        assert_eq!(
            table
                .counts(&HASH, t0 + TTL + Duration::from_secs(1))
                .incomplete,
            0
        );
        table.expire_all(t0 + TTL * 2);
        assert_eq!(table.swarm_count(), 0);
    }

    #[test]
    fn a_stop_from_another_address_does_not_remove_the_peer() {
        let mut table = SwarmTable::new(TTL, 100);
        let t0 = Instant::now();
        table
            .announce(&request(1, 5, AnnounceEvent::Started), ip(1), 50, t0)
            .unwrap();
        table
            .announce(&request(1, 5, AnnounceEvent::Stopped), ip(66), 50, t0)
            .unwrap();
        assert_eq!(table.counts(&HASH, t0).incomplete, 1);
    }

    #[test]
    fn completed_is_counted_once_per_peer() {
        let mut table = SwarmTable::new(TTL, 100);
        let t0 = Instant::now();
        table
            .announce(&request(1, 5, AnnounceEvent::Started), ip(1), 50, t0)
            .unwrap();
        for _ in 0..3 {
            table
                .announce(&request(1, 0, AnnounceEvent::Completed), ip(1), 50, t0)
                .unwrap();
        }
        let counts = table.counts(&HASH, t0);
        assert_eq!((counts.complete, counts.downloaded), (1, 1));
    }

    #[test]
    fn a_full_swarm_refuses_newcomers_but_not_members() {
        let mut table = SwarmTable::new(TTL, 2);
        let t0 = Instant::now();
        for i in 1..=2 {
            table
                .announce(&request(i, 5, AnnounceEvent::Started), ip(i), 50, t0)
                .unwrap();
        }
        assert_eq!(
            table.announce(&request(3, 5, AnnounceEvent::Started), ip(3), 50, t0),
            Err(RequestError::SwarmFull)
        );
        assert!(
            table
                .announce(&request(1, 0, AnnounceEvent::None), ip(1), 50, t0)
                .is_ok()
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_stored_as_ipv4() {
        let mut table = SwarmTable::new(TTL, 10);
        let t0 = Instant::now();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        table
            .announce(&request(1, 5, AnnounceEvent::Started), mapped, 50, t0)
            .unwrap();
        let out = table
            .announce(&request(2, 5, AnnounceEvent::Started), ip(2), 50, t0)
            .unwrap();
        assert_eq!(out.peers[0].addr.ip(), ip(1));
    }
}
