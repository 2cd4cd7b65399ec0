//! The swarm over the network: a master that plans and peers that fetch.
//!
//! Control goes over a WebSocket (JSON, [`protocol`]); chunks over plain HTTP with `Range`
//! ([`chunk_server`] serves, [`fetch`] downloads and verifies); [`mirror`] applies a manifest to
//! a peer's folder; [`limiter`] caps bandwidth. Every request carries the swarm token ([`auth`]).

pub mod auth;
pub mod chunk_server;
pub mod error;
pub mod fetch;
pub mod limiter;
pub mod master;
pub mod mirror;
pub mod peer;
pub mod protocol;

use std::net::SocketAddr;

use tokio::net::TcpListener;

use error::NodeError;

pub use error::NodeError as Error;
pub use limiter::parse_bandwidth;
pub use master::{MasterConfig, MasterHandle, MasterStatus, start_master};
pub use peer::{PeerConfig, PeerHandle, PeerStatus, start_peer};

/// How often the master pings each peer, so either side notices a silent death of the other.
const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), NodeError> {
    let listen_err = |cause| NodeError::Listen {
        addr: addr.to_string(),
        cause,
    };
    let listener = TcpListener::bind(addr).await.map_err(listen_err)?;
    let local = listener.local_addr().map_err(listen_err)?;
    Ok((listener, local))
}

/// The URL other nodes use to reach this one: the one given, else the listen address when it
/// names a host (never a guess from the host name).
fn check_advertise(
    given: Option<&str>,
    listen: SocketAddr,
    bound: SocketAddr,
) -> Result<String, NodeError> {
    match given {
        Some(url) => parse_base_url(url).map(|_| url.trim_end_matches('/').to_owned()),
        None if listen.ip().is_unspecified() => Err(NodeError::NoAdvertise {
            listen: listen.to_string(),
        }),
        None => Ok(format!("http://{bound}")),
    }
}

/// Checks an `http://host:port` base URL; returns `host:port`.
pub fn parse_base_url(url: &str) -> Result<&str, NodeError> {
    let bad = |why: &str| NodeError::BadUrl {
        url: url.chars().take(200).collect(),
        why: why.to_owned(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("must start with http://"))?;
    let host = rest.trim_end_matches('/');
    if host.is_empty()
        || host.contains(['/', '?', '#', '@', ' '])
        || host.chars().any(char::is_control)
    {
        return Err(bad("expected http://HOST:PORT"));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advertised_address_is_given_or_the_listen_address_never_a_guess() {
        let any: SocketAddr = "0.0.0.0:7700".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let bound: SocketAddr = "127.0.0.1:4242".parse().unwrap();
        let err = check_advertise(None, any, any).unwrap_err();
        assert!(err.to_string().contains("--advertise"), "{err}");
        assert_eq!(
            check_advertise(None, lo, bound).unwrap(),
            "http://127.0.0.1:4242"
        );
        assert_eq!(
            check_advertise(Some("http://10.0.0.5:7700/"), any, any).unwrap(),
            "http://10.0.0.5:7700"
        );
        for bad in [
            "10.0.0.5:7700",
            "https://x:1",
            "http://",
            "http://a/b",
            "http://u@h:1",
        ] {
            assert!(check_advertise(Some(bad), any, any).is_err(), "{bad}");
        }
    }
}
