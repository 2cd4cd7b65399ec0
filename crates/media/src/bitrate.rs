//! Target bitrate from a bits-per-pixel table: small frames need more bits per pixel than large
//! ones, and doubling the frame rate does not double the bits needed (PeerTube's approach).

/// (max short side, bits per pixel per frame at 30 fps).
const BPP_TABLE: &[(u32, f64)] = &[
    (240, 0.20),
    (360, 0.15),
    (480, 0.12),
    (720, 0.10),
    (1080, 0.08),
    (1440, 0.07),
    (u32::MAX, 0.06),
];

/// Average video bitrate in kbit/s for a `width`x`height` output at `fps`.
///
/// Used as `-maxrate` alongside CRF, so simple footage stays smaller and complex footage is
/// capped. Above 30 fps each extra frame costs half as much as the first 30.
pub fn video_bitrate_kbps(width: u32, height: u32, fps: f64) -> u32 {
    let short = width.min(height);
    let bpp = BPP_TABLE
        .iter()
        .find(|(max, _)| short <= *max)
        .map(|(_, b)| *b)
        .unwrap_or(0.06);
    let fps = if fps.is_finite() && fps > 0.0 {
        fps
    } else {
        30.0
    };
    let effective_fps = if fps <= 30.0 {
        fps
    } else {
        30.0 + (fps - 30.0) / 2.0
    };
    let bits = f64::from(width) * f64::from(height) * effective_fps * bpp;
    ((bits / 1000.0).round() as u32).clamp(100, 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shape() {
        let hd30 = video_bitrate_kbps(1920, 1080, 30.0);
        assert_eq!(hd30, 4977);
        let hd60 = video_bitrate_kbps(1920, 1080, 60.0);
        assert!(hd60 > hd30 && hd60 < hd30 * 2);
        assert!(video_bitrate_kbps(640, 360, 25.0) < hd30);
        // Portrait uses the short side too.
        assert_eq!(
            video_bitrate_kbps(1080, 1920, 30.0),
            video_bitrate_kbps(1920, 1080, 30.0)
        );
        assert_eq!(video_bitrate_kbps(2, 2, f64::NAN), 100);
    }
}
