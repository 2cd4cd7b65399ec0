//! Choosing the poster frame: past any fade-in, the most representative of a short window.

use serde::{Deserialize, Serialize};

/// Widest poster we write; the player never shows it larger.
pub const POSTER_MAX_WIDTH: u32 = 1280;
/// Never look further in than this for the poster window, so long films stay cheap.
const MAX_START_S: f64 = 30.0;
const WINDOW_S: f64 = 2.0;
/// ffmpeg's `thumbnail` filter holds this many frames in memory at poster size.
const MAX_WINDOW_FRAMES: u32 = 40;

/// Where and how big the poster is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PosterPlan {
    pub start_s: f64,
    pub window_s: f64,
    /// Frames the `thumbnail` filter compares.
    pub frames: u32,
    pub width: u32,
    pub height: u32,
}

impl PosterPlan {
    /// Window starting 10% in (capped at 30 s) so black openings and slates are skipped.
    pub fn plan(duration_s: f64, fps: f64, frame_w: u32, frame_h: u32) -> Self {
        let duration_s = if duration_s.is_finite() && duration_s > 0.0 {
            duration_s
        } else {
            0.0
        };
        let start_s = (duration_s * 0.1).min(MAX_START_S);
        let window_s = WINDOW_S.min(duration_s - start_s).max(0.04);
        let fps = if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            30.0
        };
        let frames = ((window_s * fps).ceil() as u32).clamp(1, MAX_WINDOW_FRAMES);
        let width = (frame_w.min(POSTER_MAX_WIDTH) & !1).max(2);
        let height = if frame_w > 0 {
            (((f64::from(width) * f64::from(frame_h) / f64::from(frame_w)).round() as u32) & !1)
                .max(2)
        } else {
            2
        };
        PosterPlan {
            start_s,
            window_s,
            frames,
            width,
            height,
        }
    }

    /// ffmpeg filter chain (no labels) picking the poster from a decoded stream.
    pub fn filter(&self) -> String {
        format!(
            "trim=start={s:.6}:duration={d:.6},scale={w}:{h}:flags=bicubic,setsar=1,thumbnail=n={n}",
            s = self.start_s,
            d = self.window_s,
            w = self.width,
            h = self.height,
            n = self.frames,
        )
    }

    /// Cheap fallback when the window yields nothing (duration overstated): the first frame.
    pub(crate) fn fallback_filter(&self) -> String {
        format!(
            "scale={w}:{h}:flags=bicubic,setsar=1",
            w = self.width,
            h = self.height
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_size() {
        let p = PosterPlan::plan(3.0, 25.0, 640, 360);
        assert!((p.start_s - 0.3).abs() < 1e-9);
        assert!((p.window_s - 2.0).abs() < 1e-9);
        assert_eq!(p.frames, 40);
        assert_eq!((p.width, p.height), (640, 360));

        let long = PosterPlan::plan(7200.0, 24.0, 3840, 2160);
        assert_eq!(long.start_s, 30.0);
        assert_eq!((long.width, long.height), (1280, 720));

        let short = PosterPlan::plan(0.5, 25.0, 320, 240);
        assert!(short.start_s + short.window_s <= 0.5 + 1e-9);
        assert!(short.frames >= 1);
    }
}
