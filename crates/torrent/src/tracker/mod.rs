//! An HTTP BitTorrent tracker without the HTTP: query strings in, bencoded bodies out. The server
//! routes `GET /announce` and `GET /scrape` to [`Tracker::announce`] and [`Tracker::scrape`].

mod announce;
mod config;
mod endpoints;
mod query;
mod rate_limit;
mod request_error;
mod response;
mod scrape;
mod swarm_state;

pub use announce::{AnnounceEvent, AnnounceRequest, parse_announce};
pub use config::TrackerConfig;
pub use endpoints::Tracker;
pub use query::MAX_QUERY_LEN;
pub use rate_limit::{RateLimiter, TokenBucket};
pub use request_error::RequestError;
pub use response::{PeerFormat, failure};
pub use scrape::{MAX_SCRAPE_HASHES, parse_scrape};
pub use swarm_state::{AnnounceOutcome, Peer, SwarmCounts, SwarmTable};
