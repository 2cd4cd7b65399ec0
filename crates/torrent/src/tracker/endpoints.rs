//! The tracker as the server mounts it: `GET /announce` and `GET /scrape` as functions from a
//! query string and the client's address to a bencoded body. Every outcome, refusals included,
//! is a body to send with HTTP 200 (`failure reason` for refusals), never a server error.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::announce::parse_announce;
use super::config::TrackerConfig;
use super::rate_limit::RateLimiter;
use super::request_error::RequestError;
use super::response::{self, PeerFormat};
use super::scrape::parse_scrape;
use super::swarm_state::SwarmTable;
use crate::info_hash::InfoHashes;

/// A tracker shared by the server's request handlers (`Send + Sync`; one short lock per request).
pub struct Tracker {
    config: TrackerConfig,
    state: Mutex<State>,
}

struct State {
    swarms: SwarmTable,
    allowed: HashSet<[u8; 20]>,
    limiter: RateLimiter,
    last_sweep: Option<Instant>,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Tracker {
        let state = State {
            swarms: SwarmTable::new(config.peer_ttl, config.max_peers_per_swarm),
            allowed: HashSet::new(),
            limiter: RateLimiter::new(config.rate_burst, config.rate_per_second),
            last_sweep: None,
        };
        Tracker {
            config,
            state: Mutex::new(state),
        }
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere does not spoil it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tracks a torrent: both of its announce keys (v1 and truncated v2) become allowed.
    pub fn allow_torrent(&self, hashes: &InfoHashes) {
        self.allow(hashes.tracker_keys());
    }

    /// Allows raw 20-byte info hashes (for example from the database at start-up).
    pub fn allow(&self, keys: impl IntoIterator<Item = [u8; 20]>) {
        self.lock().allowed.extend(keys);
    }

    /// Stops tracking a torrent and forgets its swarms.
    pub fn revoke_torrent(&self, hashes: &InfoHashes) {
        let mut state = self.lock();
        for key in hashes.tracker_keys() {
            state.allowed.remove(&key);
            state.swarms.remove(&key);
        }
    }

    pub fn is_allowed(&self, key: &[u8; 20]) -> bool {
        !self.config.private || self.lock().allowed.contains(key)
    }

    /// Answers `GET /announce?{query}` from `client`.
    pub fn announce(&self, query: &str, client: IpAddr) -> Vec<u8> {
        self.announce_at(query, client, Instant::now())
    }

    /// [`Tracker::announce`] with the clock given.
    pub fn announce_at(&self, query: &str, client: IpAddr, now: Instant) -> Vec<u8> {
        match self.try_announce(query, client, now) {
            Ok(body) => body,
            Err(e) => response::failure(&e.to_string()),
        }
    }

    fn try_announce(
        &self,
        query: &str,
        client: IpAddr,
        now: Instant,
    ) -> Result<Vec<u8>, RequestError> {
        let mut state = self.lock();
        self.admit(&mut state, client, now)?;
        let request = parse_announce(query)?;
        if self.config.private && !state.allowed.contains(&request.info_hash) {
            return Err(RequestError::UnknownTorrent);
        }
        if !self.config.private && state.swarms.swarm_count() >= self.config.max_swarms {
            state.swarms.expire_all(now);
            if state.swarms.swarm_count() >= self.config.max_swarms {
                return Err(RequestError::SwarmFull);
            }
        }
        let numwant = request
            .numwant
            .map_or(self.config.default_numwant, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            })
            .min(self.config.max_numwant);
        let outcome = state.swarms.announce(&request, client, numwant, now)?;
        let format = if request.compact {
            PeerFormat::Compact
        } else {
            PeerFormat::Dicts {
                with_peer_id: !request.no_peer_id,
            }
        };
        Ok(response::announce(
            &outcome,
            self.config.interval,
            self.config.min_interval,
            format,
        ))
    }

    /// Answers `GET /scrape?{query}` from `client`. Hashes we do not track are left out of the
    /// answer, so a scrape cannot probe which torrents exist.
    pub fn scrape(&self, query: &str, client: IpAddr) -> Vec<u8> {
        self.scrape_at(query, client, Instant::now())
    }

    /// [`Tracker::scrape`] with the clock given.
    pub fn scrape_at(&self, query: &str, client: IpAddr, now: Instant) -> Vec<u8> {
        let result = (|| {
            let mut state = self.lock();
            self.admit(&mut state, client, now)?;
            let hashes = parse_scrape(query)?;
            let state = &mut *state;
            let entries: Vec<_> = hashes
                .into_iter()
                .filter(|h| !self.config.private || state.allowed.contains(h))
                .map(|h| (h, state.swarms.counts(&h, now)))
                .collect();
            Ok::<_, RequestError>(response::scrape(&entries))
        })();
        result.unwrap_or_else(|e| response::failure(&e.to_string()))
    }

    /// Rate limit, plus the periodic sweep of expired peers and idle limiter entries (done here,
    /// at most once per `min_interval`, so the server needs no timer for it).
    fn admit(&self, state: &mut State, client: IpAddr, now: Instant) -> Result<(), RequestError> {
        let due = state
            .last_sweep
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.min_interval);
        if due {
            state.swarms.expire_all(now);
            state.limiter.forget_idle(now);
            state.last_sweep = Some(now);
        }
        if state.limiter.allow(client, now) {
            Ok(())
        } else {
            Err(RequestError::RateLimited)
        }
    }
}
