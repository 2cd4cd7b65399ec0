//! Slows down password guessing: after too many failed sign-ins from one address, or for one
//! user name, further attempts are refused (429 with Retry-After) until the oldest failure
//! leaves the window. Counted per process: with several API nodes an attacker gets each
//! node's allowance, which still bounds guessing to a handful per minute.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures remembered this long.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed attempts allowed per user name within the window.
pub const PER_NAME: usize = 5;
/// Failed attempts allowed per client address within the window (several people may share an
/// office's address).
pub const PER_ADDRESS: usize = 20;

#[derive(Default)]
pub struct LoginLimit {
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    by_name: HashMap<String, VecDeque<Instant>>,
    by_addr: HashMap<IpAddr, VecDeque<Instant>>,
}

fn prune(q: &mut VecDeque<Instant>, now: Instant) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        q.pop_front();
    }
}

/// How long until a full queue frees a slot.
fn wait(q: &VecDeque<Instant>, limit: usize, now: Instant) -> Option<Duration> {
    (q.len() >= limit).then(|| {
        q.front()
            .map(|t| WINDOW.saturating_sub(now.duration_since(*t)))
            .unwrap_or_default()
    })
}

/// IPv6 clients usually hold a whole /64, so they are counted per /64.
fn addr_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

impl LoginLimit {
    /// `Some(wait)` when this attempt must be refused without checking the password.
    pub fn check(&self, addr: IpAddr, name: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut longest: Option<Duration> = None;
        if let Some(q) = f.by_name.get_mut(&name.to_ascii_lowercase()) {
            prune(q, now);
            longest = longest.max(wait(q, PER_NAME, now));
        }
        if let Some(q) = f.by_addr.get_mut(&addr_key(addr)) {
            prune(q, now);
            longest = longest.max(wait(q, PER_ADDRESS, now));
        }
        longest
    }

    pub fn failed(&self, addr: IpAddr, name: &str) {
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded memory: a flood of names or addresses cannot grow the maps without end.
        if f.by_name.len() > 100_000 || f.by_addr.len() > 100_000 {
            f.by_name.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
            f.by_addr.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
        }
        f.by_name
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push_back(now);
        f.by_addr.entry(addr_key(addr)).or_default().push_back(now);
    }

    /// A correct password clears the name's failures (not the address's).
    pub fn succeeded(&self, name: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.by_name.remove(&name.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_address_limits() {
        let l = LoginLimit::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..PER_NAME {
            assert!(l.check(a, "alice").is_none());
            l.failed(a, "alice");
        }
        assert!(l.check(a, "alice").is_some());
        assert!(
            l.check(b, "Alice").is_some(),
            "per name, whatever the address"
        );
        assert!(l.check(b, "bob").is_none());
        l.succeeded("alice");
        assert!(l.check(b, "alice").is_none());
        for i in 0..PER_ADDRESS {
            l.failed(b, &format!("u{i}"));
        }
        assert!(
            l.check(b, "carol").is_some(),
            "per address, whatever the name"
        );
        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::2".parse().unwrap();
        assert_eq!(addr_key(v6a), addr_key(v6b));
    }
}
