//! Per-address rate limiting: a token bucket for each client address, so one misbehaving
//! client (or a flood) cannot keep the tracker busy. IPv6 clients are grouped by /64, the block a
//! single subscriber usually holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// `capacity` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: u32, per_second: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(capacity),
            per_second,
            tokens: f64::from(capacity),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }
}

/// One bucket per client address (IPv6 per /64).
pub struct RateLimiter {
    buckets: HashMap<IpAddr, TokenBucket>,
    capacity: u32,
    per_second: f64,
}

impl RateLimiter {
    pub fn new(capacity: u32, per_second: f64) -> RateLimiter {
        RateLimiter {
            buckets: HashMap::new(),
            capacity,
            per_second,
        }
    }

    /// Whether a request from `ip` may proceed now.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let (capacity, per_second) = (self.capacity, self.per_second);
        self.buckets
            .entry(bucket_key(ip))
            .or_insert_with(|| TokenBucket::new(capacity, per_second, now))
            .try_take(now)
    }

    /// Forgets addresses whose bucket has refilled: they are no different from new ones, and
    /// the table stays as small as the set of recently busy clients.
    pub fn forget_idle(&mut self, now: Instant) {
        self.buckets.retain(|_, bucket| !bucket.is_full(now));
    }

    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(3, 1.0, t0);
        assert!((0..3).all(|_| bucket.try_take(t0)));
        assert!(!bucket.try_take(t0));
        assert!(!bucket.try_take(t0 + Duration::from_millis(500)));
        assert!(bucket.try_take(t0 + Duration::from_millis(1000)));
        // Never more than the capacity, however long it rested.
        let later = t0 + Duration::from_secs(1000);
        assert!((0..3).all(|_| bucket.try_take(later)));
        assert!(!bucket.try_take(later));
    }

    #[test]
    fn addresses_are_limited_separately_and_ipv6_by_64() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(1, 0.1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.allow(a, t0));
        assert!(!limiter.allow(a, t0));
        assert!(limiter.allow(b, t0));
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let v6c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.allow(v6a, t0));
        assert!(!limiter.allow(v6b, t0));
        assert!(limiter.allow(v6c, t0));
    }

    #[test]
    fn idle_addresses_are_forgotten() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(2, 1.0);
        limiter.allow("192.0.2.1".parse().unwrap(), t0);
        assert_eq!(limiter.tracked(), 1);
        limiter.forget_idle(t0);
        assert_eq!(limiter.tracked(), 1);
        limiter.forget_idle(t0 + Duration::from_secs(2));
        assert_eq!(limiter.tracked(), 0);
    }
}
