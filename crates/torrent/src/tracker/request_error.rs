//! Why a tracker request was refused. The `Display` text is sent to the client as the bencoded
//! `failure reason`, so it is short and says what to fix.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request too long")]
    TooLong,
    #[error("bad percent escape in the query")]
    BadEscape,
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("{0} given more than once")]
    Duplicate(&'static str),
    #[error("info_hash must be 20 bytes, got {0}")]
    BadInfoHashLength(usize),
    #[error("peer_id must be 20 bytes, got {0}")]
    BadPeerIdLength(usize),
    #[error("port must be a number from 1 to 65535")]
    BadPort,
    #[error("{0} must be a non-negative whole number")]
    BadNumber(&'static str),
    #[error("event must be started, stopped, completed, paused or empty")]
    BadEvent,
    #[error("compact must be 0 or 1")]
    BadCompact,
    #[error("scrape needs at least one info_hash")]
    NoScrapeHashes,
    #[error("too many info_hash values (at most {0})")]
    TooManyHashes(usize),
    #[error("unregistered torrent")]
    UnknownTorrent,
    #[error("too many peers in this swarm")]
    SwarmFull,
    #[error("too many requests, slow down")]
    RateLimited,
}
