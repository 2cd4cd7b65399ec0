//! Scrub sprite sheet layout: one image of evenly spaced small frames the player shows on hover.

use serde::{Deserialize, Serialize};

/// Tile width the player expects; height follows the picture's aspect.
pub const SPRITE_TILE_WIDTH: u32 = 160;
/// Upper bound on tiles, so the sheet stays one small download (10x10 at most).
pub const SPRITE_MAX_TILES: u32 = 100;
pub const SPRITE_COLUMNS: u32 = 10;
/// Tiles closer than this add nothing a viewer can see while scrubbing.
pub const SPRITE_MIN_INTERVAL_S: f64 = 0.5;

/// Exactly how the sheet is laid out: tile `i` (row-major) shows time `i * interval_s`, at
/// `(i % columns * tile_width, i / columns * tile_height)`. The image is
/// `columns * tile_width` by `rows * tile_height`; tiles past `count` are black padding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpriteGeometry {
    pub tile_width: u32,
    pub tile_height: u32,
    pub columns: u32,
    pub rows: u32,
    pub count: u32,
    pub interval_s: f64,
}

impl SpriteGeometry {
    /// Lay out a sheet for a clip of `duration_s` whose frames are `frame_w`x`frame_h` (square
    /// pixels, as displayed).
    pub fn plan(duration_s: f64, frame_w: u32, frame_h: u32) -> Self {
        let duration_s = if duration_s.is_finite() && duration_s > 0.0 {
            duration_s
        } else {
            SPRITE_MIN_INTERVAL_S
        };
        let count =
            ((duration_s / SPRITE_MIN_INTERVAL_S).floor() as u32).clamp(1, SPRITE_MAX_TILES);
        let columns = count.min(SPRITE_COLUMNS);
        let rows = count.div_ceil(columns);
        let tile_width = SPRITE_TILE_WIDTH;
        let ratio = if frame_w > 0 && frame_h > 0 {
            f64::from(frame_h) / f64::from(frame_w)
        } else {
            9.0 / 16.0
        };
        let tile_height = (((f64::from(tile_width) * ratio).round() as u32) & !1).max(2);
        SpriteGeometry {
            tile_width,
            tile_height,
            columns,
            rows,
            count,
            interval_s: duration_s / f64::from(count),
        }
    }

    /// Pixel size of the whole sheet.
    pub fn image_size(&self) -> (u32, u32) {
        (self.columns * self.tile_width, self.rows * self.tile_height)
    }

    /// ffmpeg filter chain (no labels) turning a decoded stream into this sheet.
    pub fn filter(&self) -> String {
        format!(
            "fps=fps={rate:.9},trim=end_frame={count},scale={w}:{h}:flags=bilinear,setsar=1,\
             tile={c}x{r}:nb_frames={count}",
            rate = 1.0 / self.interval_s,
            count = self.count,
            w = self.tile_width,
            h = self.tile_height,
            c = self.columns,
            r = self.rows,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let g = SpriteGeometry::plan(3.0, 640, 360);
        assert_eq!((g.count, g.columns, g.rows), (6, 6, 1));
        assert_eq!((g.tile_width, g.tile_height), (160, 90));
        assert!((g.interval_s - 0.5).abs() < 1e-9);
        assert_eq!(g.image_size(), (960, 90));

        let long = SpriteGeometry::plan(3600.0, 1080, 1920);
        assert_eq!((long.count, long.columns, long.rows), (100, 10, 10));
        assert_eq!(long.tile_height, 284);
        assert!((long.interval_s - 36.0).abs() < 1e-9);

        let odd = SpriteGeometry::plan(11.0, 640, 360);
        assert_eq!((odd.count, odd.columns, odd.rows), (22, 10, 3));

        let tiny = SpriteGeometry::plan(0.1, 0, 0);
        assert_eq!((tiny.count, tiny.columns, tiny.rows), (1, 1, 1));
    }
}
