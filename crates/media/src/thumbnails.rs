//! Thumbnails on request: frames at given times, every N seconds, or N spread evenly, at a
//! chosen width. Each image is one fast seek and one decoded frame, so a few frames of a long
//! film cost a few seconds, not a full decode.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::command::{RunOptions, run_ffmpeg};
use crate::error::MediaError;
use crate::paths::ffmpeg_path_arg;
use crate::progress::Progress;
use crate::source::Source;
use crate::staging::Staged;
use crate::tools::Tools;

/// Most images one request may make.
pub const MAX_THUMBNAILS: usize = 500;
const DEFAULT_WIDTH: u32 = 320;
const MIN_INTERVAL_S: f64 = 0.1;

/// A request as a client sends it: exactly one of `timestamps`, `interval_s`, `count`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailRequest {
    pub timestamps: Option<Vec<f64>>,
    pub interval_s: Option<f64>,
    pub count: Option<u32>,
    pub width: Option<u32>,
}

/// Checked: the times (seconds, within the video) and the width (even).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThumbnailPlan {
    pub times: Vec<f64>,
    pub width: u32,
}

impl ThumbnailRequest {
    /// Checks the request against a video `duration_s` long; the error says what is wrong.
    pub fn plan(self, duration_s: f64) -> Result<ThumbnailPlan, String> {
        if !(duration_s.is_finite() && duration_s > 0.0) {
            return Err("this video's duration is unknown".into());
        }
        let width = self.width.unwrap_or(DEFAULT_WIDTH);
        if !(16..=3840).contains(&width) {
            return Err("width is 16 to 3840 pixels".into());
        }
        let last = (duration_s - 0.001).max(0.0);
        let times: Vec<f64> = match (self.timestamps, self.interval_s, self.count) {
            (Some(ts), None, None) => {
                if ts.is_empty() || ts.len() > MAX_THUMBNAILS {
                    return Err(format!("give 1 to {MAX_THUMBNAILS} timestamps"));
                }
                if let Some(bad) = ts
                    .iter()
                    .find(|t| !(t.is_finite() && **t >= 0.0 && **t <= duration_s))
                {
                    return Err(format!(
                        "timestamp {bad} is outside the video (0 to {duration_s:.3} s)"
                    ));
                }
                ts.iter().map(|t| t.min(last)).collect()
            }
            (None, Some(every), None) => {
                if !(every.is_finite() && every >= MIN_INTERVAL_S) {
                    return Err(format!("interval_s is at least {MIN_INTERVAL_S}"));
                }
                let n = (duration_s / every).ceil() as usize;
                if n > MAX_THUMBNAILS {
                    return Err(format!(
                        "an image every {every} s makes {n} images; the most is {MAX_THUMBNAILS}"
                    ));
                }
                (0..n)
                    .map(|i| i as f64 * every)
                    .filter(|t| *t < duration_s)
                    .collect()
            }
            (None, None, Some(count)) => {
                if count == 0 || count as usize > MAX_THUMBNAILS {
                    return Err(format!("count is 1 to {MAX_THUMBNAILS}"));
                }
                // The middle of each of `count` equal parts: never the black first frame.
                (0..count)
                    .map(|i| (i as f64 + 0.5) * duration_s / count as f64)
                    .collect()
            }
            _ => return Err("give exactly one of timestamps, interval_s or count".into()),
        };
        Ok(ThumbnailPlan {
            times,
            width: width & !1,
        })
    }
}

/// The file name of image `index` (from 0).
pub fn thumbnail_name(index: usize) -> String {
    format!("{:04}.jpg", index + 1)
}

/// Writes the planned images into `out_dir`; returns their paths in order.
pub async fn run_thumbnails(
    tools: &Tools,
    input: &Source,
    plan: &ThumbnailPlan,
    out_dir: &Path,
    opts: &RunOptions,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Vec<PathBuf>, MediaError> {
    tokio::fs::create_dir_all(out_dir).await?;
    let started = std::time::Instant::now();
    let total = plan.times.len();
    let mut written = Vec::with_capacity(total);
    for (i, t) in plan.times.iter().enumerate() {
        let staged = Staged::new(out_dir, &thumbnail_name(i));
        run_ffmpeg(
            tools,
            &frame_args(input, Seek::At(*t), plan.width, staged.tmp()),
            opts,
            None,
            &mut |_| {},
        )
        .await?;
        if !staged.written().await {
            // Past the start of the last frame a seek finds nothing: take the last frame.
            run_ffmpeg(
                tools,
                &frame_args(input, Seek::LastFrame, plan.width, staged.tmp()),
                opts,
                None,
                &mut |_| {},
            )
            .await?;
        }
        if !staged.written().await {
            return Err(MediaError::BadOutput(format!("no frame at {t:.3} s")));
        }
        written.push(staged.commit().await?);
        let done = i + 1;
        let per_image = started.elapsed().as_secs_f64() / done as f64;
        on_progress(Progress {
            out_time_s: *t,
            fraction: Some(done as f64 / total as f64),
            speed: None,
            eta: std::time::Duration::try_from_secs_f64(per_image * (total - done) as f64).ok(),
            done: done == total,
        });
    }
    Ok(written)
}

enum Seek {
    At(f64),
    LastFrame,
}

/// One JPEG of `width` from `input` at `seek`.
fn frame_args(input: &Source, seek: Seek, width: u32, out: &Path) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = Vec::new();
    match seek {
        Seek::At(t) => {
            a.extend(["-ss".into(), format!("{t:.3}").into()]);
        }
        // From a second before the end, every frame overwrites the last: the final one stays.
        Seek::LastFrame => a.extend(["-sseof".into(), "-1".into()]),
    }
    a.extend(input.input_args());
    a.extend(["-map".into(), "0:v:0".into()]);
    if let Seek::At(_) = seek {
        a.extend(["-frames:v".into(), "1".into()]);
    }
    a.extend([
        "-vf".into(),
        format!("scale={width}:-2:flags=bicubic,format=yuvj420p").into(),
        "-q:v".into(),
        "3".into(),
        "-f".into(),
        "image2".into(),
        "-update".into(),
        "1".into(),
        ffmpeg_path_arg(out),
    ]);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ts: Option<Vec<f64>>, every: Option<f64>, count: Option<u32>) -> ThumbnailRequest {
        ThumbnailRequest {
            timestamps: ts,
            interval_s: every,
            count,
            width: None,
        }
    }

    #[test]
    fn plans() {
        let p = req(None, None, Some(4)).plan(8.0).unwrap();
        assert_eq!(p.times, vec![1.0, 3.0, 5.0, 7.0]);
        assert_eq!(p.width, 320);
        let p = req(None, Some(2.5), None).plan(6.0).unwrap();
        assert_eq!(p.times, vec![0.0, 2.5, 5.0]);
        let p = req(Some(vec![0.0, 6.0]), None, None).plan(6.0).unwrap();
        assert!(p.times[1] < 6.0, "the last instant is still a frame");
    }

    #[test]
    fn refusals_say_why() {
        for (r, why) in [
            (req(None, None, None), "exactly one"),
            (req(None, Some(1.0), Some(2)), "exactly one"),
            (req(None, None, Some(0)), "count"),
            (req(None, None, Some(501)), "count"),
            (req(None, Some(0.01), None), "interval"),
            (req(None, Some(0.1), None), "most"),
            (req(Some(vec![]), None, None), "timestamps"),
            (req(Some(vec![-1.0]), None, None), "outside"),
            (req(Some(vec![f64::NAN]), None, None), "outside"),
            (req(Some(vec![99.0]), None, None), "outside"),
        ] {
            let e = r.plan(60.0).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let wide = ThumbnailRequest {
            width: Some(9999),
            ..req(None, None, Some(1))
        };
        assert!(wide.plan(1.0).unwrap_err().contains("width"));
    }
}
