//! Parsing ffmpeg's `-progress` key=value blocks into something a UI can show.

use std::time::Duration;

/// One progress tick, emitted at the end of each ffmpeg progress block.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Media time written so far, seconds.
    pub out_time_s: f64,
    /// `out_time_s / total`, clamped to 0..=1; `None` when the total is unknown.
    pub fraction: Option<f64>,
    /// Encoding speed as a multiple of real time (`1.5x` -> 1.5).
    pub speed: Option<f64>,
    /// Wall-clock estimate to completion from speed and remaining media time.
    pub eta: Option<Duration>,
    /// ffmpeg printed `progress=end`.
    pub done: bool,
}

/// Accumulates key=value lines until a `progress=` line closes the block.
#[derive(Debug, Default)]
pub struct ProgressParser {
    total_duration_s: Option<f64>,
    out_time_s: Option<f64>,
    speed: Option<f64>,
}

impl ProgressParser {
    /// `total_duration_s` is the expected output duration, used for `fraction` and `eta`.
    pub fn new(total_duration_s: Option<f64>) -> Self {
        ProgressParser {
            total_duration_s: total_duration_s.filter(|d| d.is_finite() && *d > 0.0),
            out_time_s: None,
            speed: None,
        }
    }

    /// Feed one line; returns a [`Progress`] when the line ends a block.
    pub fn feed_line(&mut self, line: &str) -> Option<Progress> {
        let (key, value) = line.trim().split_once('=')?;
        let value = value.trim();
        match key.trim() {
            // ffmpeg's `out_time_ms` is actually microseconds too; prefer `out_time_us`.
            "out_time_us" | "out_time_ms" => {
                if let Ok(us) = value.parse::<i64>() {
                    self.out_time_s = Some((us as f64 / 1e6).max(0.0));
                }
            }
            "out_time" => {
                if self.out_time_s.is_none()
                    && let Some(s) = parse_clock(value)
                {
                    self.out_time_s = Some(s.max(0.0));
                }
            }
            "speed" => {
                self.speed = value
                    .trim_end_matches('x')
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0);
            }
            "progress" => return Some(self.finish_block(value == "end")),
            _ => {}
        }
        None
    }

    fn finish_block(&mut self, done: bool) -> Progress {
        let out_time_s = self.out_time_s.take().unwrap_or(0.0);
        let speed = self.speed.take();
        let fraction = self.total_duration_s.map(|total| {
            if done {
                1.0
            } else {
                (out_time_s / total).clamp(0.0, 1.0)
            }
        });
        let eta = match (self.total_duration_s, speed) {
            _ if done => Some(Duration::ZERO),
            (Some(total), Some(speed)) => {
                let remaining = ((total - out_time_s) / speed).max(0.0);
                Duration::try_from_secs_f64(remaining).ok()
            }
            _ => None,
        };
        Progress {
            out_time_s,
            fraction,
            speed,
            eta,
            done,
        }
    }
}

/// "HH:MM:SS.micro" (possibly negative) -> seconds.
fn parse_clock(s: &str) -> Option<f64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut parts = s.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    let total = h * 3600.0 + m * 60.0 + sec;
    Some(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(p: &mut ProgressParser, block: &str) -> Vec<Progress> {
        block.lines().filter_map(|l| p.feed_line(l)).collect()
    }

    #[test]
    fn block_yields_fraction_speed_eta() {
        let mut p = ProgressParser::new(Some(10.0));
        let out = feed(
            &mut p,
            "frame=50\nfps=25.0\nout_time_us=2500000\nout_time_ms=2500000\nout_time=00:00:02.500000\nspeed=2.5x\nprogress=continue\n",
        );
        assert_eq!(out.len(), 1);
        let t = &out[0];
        assert!((t.out_time_s - 2.5).abs() < 1e-9);
        assert_eq!(t.fraction, Some(0.25));
        assert_eq!(t.speed, Some(2.5));
        assert_eq!(t.eta, Some(Duration::from_secs(3)));
        assert!(!t.done);
    }

    #[test]
    fn na_values_and_negative_time() {
        let mut p = ProgressParser::new(Some(4.0));
        let out = feed(
            &mut p,
            "out_time_us=N/A\nout_time=-00:00:00.023220\nspeed=N/A\nprogress=continue",
        );
        assert_eq!(out[0].out_time_s, 0.0);
        assert_eq!(out[0].speed, None);
        assert_eq!(out[0].eta, None);
        assert_eq!(out[0].fraction, Some(0.0));
    }

    #[test]
    fn clock_fallback_and_end() {
        let mut p = ProgressParser::new(None);
        let out = feed(
            &mut p,
            "out_time=01:00:01.5\nprogress=continue\nprogress=end",
        );
        assert_eq!(out.len(), 2);
        assert!((out[0].out_time_s - 3601.5).abs() < 1e-9);
        assert_eq!(out[0].fraction, None);
        assert!(out[1].done);
        assert_eq!(out[1].eta, Some(Duration::ZERO));
    }

    #[test]
    fn end_is_complete_and_overshoot_clamped() {
        let mut p = ProgressParser::new(Some(2.0));
        let out = feed(
            &mut p,
            "out_time_us=2600000\nprogress=continue\nprogress=end\n",
        );
        assert_eq!(out[0].fraction, Some(1.0));
        assert_eq!(out[1].fraction, Some(1.0));
        assert!(p.feed_line("garbage").is_none());
        assert!(p.feed_line("").is_none());
    }
}
