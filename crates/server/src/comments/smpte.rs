//! SMPTE timecodes (`HH:MM:SS:FF`) for a frame rate, as editing software writes them.
//!
//! A timecode is a frame count labelled in whole "timecode frames per second" (the rate rounded:
//! 24 for 23.976). The NTSC rates 29.97 and 59.94 use drop-frame labels (`HH:MM:SS;FF`): the
//! labels 00 and 01 (00–03 at 59.94) are skipped at the start of every minute except each tenth,
//! so the clock on the label keeps up with the wall clock.

/// Timecode labelling for one frame rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimecodeRate {
    /// Frame labels per second (the rate rounded).
    pub base: i64,
    /// Labels skipped per minute in drop-frame timecode, 0 for non-drop.
    pub dropped: i64,
}

/// Why a timecode string is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TimecodeError {
    #[error("a timecode is written HH:MM:SS:FF (HH:MM:SS;FF for drop-frame)")]
    Syntax,
    #[error("{0} is not a valid timecode at {1} frames per second")]
    OutOfRange(String, i64),
}

const DAY_SECONDS: i64 = 24 * 3600;

impl TimecodeRate {
    /// The labelling for a stream's frame rate: drop-frame for 29.97 and 59.94, otherwise
    /// non-drop at the rounded rate.
    pub fn for_fps(fps: f64) -> Option<Self> {
        if !fps.is_finite() || fps <= 0.0 || fps > 1000.0 {
            return None;
        }
        let base = (fps.round() as i64).max(1);
        let ntsc = |n: f64| (fps - n * 1000.0 / 1001.0).abs() < 0.005;
        let dropped = if ntsc(30.0) {
            2
        } else if ntsc(60.0) {
            4
        } else {
            0
        };
        Some(TimecodeRate { base, dropped })
    }

    pub fn is_drop_frame(&self) -> bool {
        self.dropped > 0
    }

    fn frames_per_day(&self) -> i64 {
        if self.is_drop_frame() {
            // 144 ten-minute blocks a day, each short of 9 minutes' dropped labels.
            144 * (self.base * 600 - self.dropped * 9)
        } else {
            self.base * DAY_SECONDS
        }
    }

    /// The label of frame `frames` (counted from 00:00:00:00); wraps after 24 hours.
    pub fn format(&self, frames: i64) -> String {
        let mut n = frames.rem_euclid(self.frames_per_day());
        if self.is_drop_frame() {
            let per_ten = self.base * 600 - self.dropped * 9;
            let per_minute = self.base * 60 - self.dropped;
            let (tens, rest) = (n / per_ten, n % per_ten);
            n += self.dropped * 9 * tens;
            if rest > self.dropped {
                n += self.dropped * ((rest - self.dropped) / per_minute);
            }
        }
        let ff = n % self.base;
        let secs = n / self.base;
        let sep = if self.is_drop_frame() { ';' } else { ':' };
        format!(
            "{:02}:{:02}:{:02}{sep}{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ff
        )
    }

    /// The frame count of a label (either separator accepted).
    pub fn parse(&self, s: &str) -> Result<i64, TimecodeError> {
        let s = s.trim();
        let parts: Vec<&str> = s.split([':', ';', '.']).collect();
        if parts.len() != 4 || parts.iter().any(|p| p.len() != 2) {
            return Err(TimecodeError::Syntax);
        }
        let mut nums = [0i64; 4];
        for (slot, p) in nums.iter_mut().zip(&parts) {
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TimecodeError::Syntax);
            }
            *slot = p.parse().map_err(|_| TimecodeError::Syntax)?;
        }
        let [hh, mm, ss, ff] = nums;
        let skipped_label = self.is_drop_frame() && ss == 0 && mm % 10 != 0 && ff < self.dropped;
        if hh > 23 || mm > 59 || ss > 59 || ff >= self.base || skipped_label {
            return Err(TimecodeError::OutOfRange(s.to_owned(), self.base));
        }
        let minutes = hh * 60 + mm;
        let labels = (minutes * 60 + ss) * self.base + ff;
        Ok(labels - self.dropped * (minutes - minutes / 10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(fps: f64) -> TimecodeRate {
        TimecodeRate::for_fps(fps).unwrap()
    }

    #[test]
    fn non_drop() {
        let r = rate(25.0);
        assert_eq!(r.format(0), "00:00:00:00");
        assert_eq!(r.format(24), "00:00:00:24");
        assert_eq!(r.format(25), "00:00:01:00");
        assert_eq!(r.format(25 * 3600 + 3), "01:00:00:03");
        assert_eq!(r.parse("01:00:00:03"), Ok(25 * 3600 + 3));
        let film = rate(24000.0 / 1001.0);
        assert_eq!(
            film,
            TimecodeRate {
                base: 24,
                dropped: 0
            }
        );
        assert_eq!(film.format(24 * 60), "00:01:00:00");
    }

    #[test]
    fn drop_frame_skips_labels_except_each_tenth_minute() {
        let r = rate(30000.0 / 1001.0);
        assert_eq!(
            r,
            TimecodeRate {
                base: 30,
                dropped: 2
            }
        );
        assert_eq!(r.format(1799), "00:00:59;29");
        assert_eq!(r.format(1800), "00:01:00;02");
        assert_eq!(r.format(17982), "00:10:00;00");
        assert_eq!(r.format(17983), "00:10:00;01");
        // One hour of 29.97 is 107892 frames and reads exactly 01:00:00;00.
        assert_eq!(r.format(107_892), "01:00:00;00");
        for n in [0, 1799, 1800, 1801, 17981, 17982, 107_892, 2_000_000] {
            assert_eq!(r.parse(&r.format(n)), Ok(n), "{n}");
        }
        assert!(r.parse("00:01:00;00").is_err(), "a skipped label");
        assert_eq!(r.parse("00:10:00;00"), Ok(17982));
        let r60 = rate(60000.0 / 1001.0);
        assert_eq!(r60.dropped, 4);
        assert_eq!(r60.format(3600), "00:01:00;04");
        assert_eq!(r60.format(215_784), "01:00:00;00");
    }

    #[test]
    fn wraps_after_a_day_and_refuses_nonsense() {
        let r = rate(25.0);
        assert_eq!(r.format(25 * DAY_SECONDS + 1), "00:00:00:01");
        for bad in [
            "",
            "1:00:00:00",
            "01:00:00",
            "01:60:00:00",
            "01:00:00:25",
            "aa:00:00:00",
        ] {
            assert!(r.parse(bad).is_err(), "{bad}");
        }
        assert!(TimecodeRate::for_fps(0.0).is_none());
        assert!(TimecodeRate::for_fps(f64::NAN).is_none());
    }
}
