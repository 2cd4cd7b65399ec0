//! Tracker settings, with defaults for a team's review server.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// How often clients should announce.
    pub interval: Duration,
    /// Clients must not announce more often than this.
    pub min_interval: Duration,
    /// A peer silent this long is dropped: two missed announces and some slack.
    pub peer_ttl: Duration,
    /// Peers sent when the client does not say (`numwant` absent).
    pub default_numwant: usize,
    /// Peers sent at most, whatever `numwant` asks.
    pub max_numwant: usize,
    /// Newcomers are refused beyond this many peers in one swarm (bounds memory).
    pub max_peers_per_swarm: usize,
    /// Swarms at most when the tracker is open (with an allow-list the list bounds them).
    pub max_swarms: usize,
    /// `true`: only info hashes given to [`super::Tracker::allow`] are tracked ("private by
    /// default": the tracker serves our torrents, not the world's).
    pub private: bool,
    /// Requests one address may make in a burst…
    pub rate_burst: u32,
    /// …and per second after that.
    pub rate_per_second: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            interval: Duration::from_secs(900),
            min_interval: Duration::from_secs(60),
            peer_ttl: Duration::from_secs(2 * 900 + 120),
            default_numwant: 50,
            max_numwant: 200,
            max_peers_per_swarm: 10_000,
            max_swarms: 100_000,
            private: true,
            // An office behind one NAT address may hold dozens of clients.
            rate_burst: 60,
            rate_per_second: 2.0,
        }
    }
}
