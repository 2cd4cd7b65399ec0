//! A comment's time lands on a frame: the one on screen at that moment. Players report the
//! paused position with rounding noise (0.12 s at 25 fps arrives as 0.11999…), so a time a hair
//! before a frame's start counts as that frame.

/// Why a time is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TimeError {
    #[error("timecode_s must be a finite number of seconds")]
    NotFinite,
    #[error("timecode_s cannot be negative")]
    Negative,
    #[error("timecode_s {t} is beyond the end of the video ({duration} s)")]
    BeyondEnd { t: f64, duration: f64 },
}

/// How close (in frames) to the next frame's start a time may be and still count as it.
const FRAME_TOLERANCE: f64 = 1e-4;

/// The frames of a video: where times may land.
#[derive(Clone, Copy, Debug)]
pub struct FrameGrid {
    /// Frames per second; `None` when unknown (times are then kept to the millisecond).
    pub fps: Option<f64>,
    pub duration_s: f64,
}

impl FrameGrid {
    pub fn new(fps: Option<f64>, duration_s: f64) -> Self {
        let fps = fps.filter(|f| f.is_finite() && *f > 0.0);
        FrameGrid { fps, duration_s }
    }

    /// The start of the frame shown at `t` seconds.
    pub fn snap(&self, t: f64) -> Result<f64, TimeError> {
        if !t.is_finite() {
            return Err(TimeError::NotFinite);
        }
        if t < 0.0 {
            return Err(TimeError::Negative);
        }
        if t > self.duration_s + 1e-6 {
            return Err(TimeError::BeyondEnd {
                t,
                duration: self.duration_s,
            });
        }
        match self.fps {
            Some(fps) => Ok(self.frame_at(t) as f64 / fps),
            None => Ok((t.min(self.duration_s) * 1000.0).round() / 1000.0),
        }
    }

    /// The frame number shown at `t` (checked beforehand): at most the last frame.
    pub fn frame_at(&self, t: f64) -> i64 {
        let Some(fps) = self.fps else {
            return 0;
        };
        let last = ((self.duration_s * fps - FRAME_TOLERANCE).ceil() as i64 - 1).max(0);
        ((t * fps + FRAME_TOLERANCE).floor() as i64).clamp(0, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snaps_to_the_frame_on_screen() {
        let g = FrameGrid::new(Some(25.0), 2.0);
        assert_eq!(g.snap(0.0), Ok(0.0));
        assert_eq!(g.snap(0.119_999_999), Ok(0.12), "rounding noise");
        assert_eq!(g.snap(0.13), Ok(0.12));
        assert_eq!(g.snap(0.159), Ok(0.12));
        assert_eq!(g.snap(2.0), Ok(1.96), "the end is the last frame");
        assert_eq!(g.frame_at(1.999), 49);
    }

    #[test]
    fn ntsc_rates() {
        let fps = 30000.0 / 1001.0;
        let g = FrameGrid::new(Some(fps), 10.0);
        let t = 100.0 * 1001.0 / 30000.0;
        assert_eq!(g.frame_at(t), 100);
        assert!((g.snap(t + 0.01).unwrap() - t).abs() < 1e-12);
    }

    #[test]
    fn refusals() {
        let g = FrameGrid::new(Some(25.0), 2.0);
        assert_eq!(g.snap(-0.01), Err(TimeError::Negative));
        assert_eq!(g.snap(f64::NAN), Err(TimeError::NotFinite));
        assert_eq!(g.snap(f64::INFINITY), Err(TimeError::NotFinite));
        assert!(matches!(g.snap(2.5), Err(TimeError::BeyondEnd { .. })));
    }

    #[test]
    fn unknown_rate_keeps_milliseconds() {
        let g = FrameGrid::new(None, 2.0);
        assert_eq!(g.snap(1.23456), Ok(1.235));
        let g = FrameGrid::new(Some(f64::NAN), 2.0);
        assert_eq!(g.snap(0.5), Ok(0.5));
    }
}
