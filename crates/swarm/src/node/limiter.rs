//! Bandwidth limits: a token bucket shared by every transfer in one direction, and the strict
//! parser for rates given on the command line.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::node::error::NodeError;

/// Limits the bytes per second that pass through it; unlimited when built with `None`.
#[derive(Debug)]
pub struct Limiter {
    bucket: Option<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Limiter {
    pub fn new(bytes_per_sec: Option<f64>) -> Self {
        Limiter {
            bucket: bytes_per_sec.map(|rate| {
                // A tenth of a second of traffic (at least 64 KiB) may go at once.
                let burst = (rate * 0.1).max(65536.0);
                Mutex::new(Bucket {
                    rate,
                    burst,
                    tokens: burst,
                    last: Instant::now(),
                })
            }),
        }
    }

    pub fn rate(&self) -> Option<f64> {
        let b = self.bucket.as_ref()?;
        Some(b.lock().map(|b| b.rate).unwrap_or(0.0))
    }

    /// Takes `n` bytes from the bucket; returns how long to wait before sending them.
    pub fn take(&self, n: usize) -> Duration {
        let Some(bucket) = &self.bucket else {
            return Duration::ZERO;
        };
        let Ok(mut b) = bucket.lock() else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() * b.rate;
        b.last = now;
        b.tokens = (b.tokens + refill).min(b.burst) - n as f64;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / b.rate)
        }
    }
}

/// Parses a rate with its unit, in bytes per second: `50MB/s`, `20MiB/s`, `400Mbit/s`,
/// `1Gbit/s`, `800kB/s`. Bytes units are `B/s kB/s MB/s GB/s KiB/s MiB/s GiB/s`, bit units
/// `kbit/s Mbit/s Gbit/s`. A bare number or a lone `MB` is refused: the unit is the point.
pub fn parse_bandwidth(input: &str) -> Result<f64, NodeError> {
    let bad = |why: &str| NodeError::BadRate {
        input: input.to_owned(),
        why: why.to_owned(),
    };
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| bad("missing unit (e.g. 50MB/s or 400Mbit/s)"))?;
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| bad("expected a number followed by a unit, e.g. 50MB/s"))?;
    let factor = match unit.trim() {
        "B/s" => 1.0,
        "kB/s" => 1e3,
        "MB/s" => 1e6,
        "GB/s" => 1e9,
        "KiB/s" => 1024.0,
        "MiB/s" => 1024.0 * 1024.0,
        "GiB/s" => 1024.0 * 1024.0 * 1024.0,
        "kbit/s" => 1e3 / 8.0,
        "Mbit/s" => 1e6 / 8.0,
        "Gbit/s" => 1e9 / 8.0,
        other => {
            return Err(bad(&format!(
                "unknown unit {other:?}; use one of B/s kB/s MB/s GB/s KiB/s MiB/s GiB/s kbit/s Mbit/s Gbit/s (case matters: MB is bytes, Mbit is bits)"
            )));
        }
    };
    let rate = value * factor;
    if !(rate.is_finite() && rate >= 1.0) {
        return Err(bad("must be at least 1 B/s"));
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_explicit_and_strict() {
        assert_eq!(parse_bandwidth("50MB/s").unwrap(), 50e6);
        assert_eq!(parse_bandwidth("400Mbit/s").unwrap(), 50e6);
        assert_eq!(parse_bandwidth("2MiB/s").unwrap(), 2.0 * 1048576.0);
        assert_eq!(parse_bandwidth("1.5GB/s").unwrap(), 1.5e9);
        for bad in [
            "50",
            "50MB",
            "50mb/s",
            "MB/s",
            "-5MB/s",
            "0MB/s",
            "5 parsecs",
            "",
            "1e3MB/s",
        ] {
            assert!(parse_bandwidth(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_bucket_makes_senders_wait() {
        let l = Limiter::new(Some(1e6));
        assert_eq!(l.take(1000), Duration::ZERO);
        // Far beyond the burst: about a second of debt.
        let wait = l.take(1_100_000);
        assert!(wait > Duration::from_millis(900), "{wait:?}");
        assert_eq!(Limiter::new(None).take(usize::MAX), Duration::ZERO);
    }
}
