//! Reverse-proxy sign-in: a proxy in front of dailies (nginx with an SSO module, say) names the
//! person in `X-Remote-User-*` headers. Those headers are believed only from the addresses in
//! `trusted_proxies`; from anyone else they are ignored, since any client can send them.

use std::net::IpAddr;

use axum::http::HeaderMap;

use crate::api::error::ApiError;
use crate::app::App;
use crate::db::users::{self, User};

pub const USER_ID: &str = "x-remote-user-id";
pub const USER_NAME: &str = "x-remote-user-name";
pub const USER_IS_ADMIN: &str = "x-remote-user-is-admin";

/// An address block (`10.0.0.0/8`, `::1/128`; a bare address means just that one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.trim().parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Whether the connection comes from a configured proxy.
pub fn is_trusted(app: &App, peer: IpAddr) -> bool {
    app.config
        .trusted_proxies
        .iter()
        .filter_map(|s| Cidr::parse(s))
        .any(|c| c.contains(peer))
}

/// The user a trusted proxy names, created or updated to match; `None` when the proxy sent no
/// user (an anonymous request passed through). Call only for trusted peers.
pub async fn user_from_headers(app: &App, headers: &HeaderMap) -> Result<Option<User>, ApiError> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let Some(external_id) = get(USER_ID).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if external_id.len() > 256 {
        return Err(ApiError::BadRequest("X-Remote-User-Id is too long".into()));
    }
    let name = get(USER_NAME).unwrap_or(external_id);
    if !users::is_valid_user_name(name) {
        return Err(ApiError::BadRequest(format!(
            "the proxy's X-Remote-User-Name '{name}' is not a valid user name"
        )));
    }
    let is_admin = matches!(
        get(USER_IS_ADMIN).map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "1" | "yes")
    );
    let user = users::upsert_external(&app.db, external_id, name, is_admin)
        .await
        .map_err(|e| ApiError::Conflict(format!("{e:#}")))?;
    Ok(Some(user))
}

#[cfg(test)]
mod tests {
    use super::Cidr;

    #[test]
    fn blocks() {
        let c = Cidr::parse("127.0.0.1/32").unwrap();
        assert!(c.contains("127.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!c.contains("127.0.0.2".parse().unwrap()));
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.200.1.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
        for bad in ["", "x", "1.2.3.4/33", "::1/129", "1.2.3/8", "1.2.3.4/-1"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
