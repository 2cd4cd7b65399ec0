//! Deciding, from probe data alone, what a file needs to play in every browser.
//!
//! Pure and synchronous so it can be unit-tested on hand-built [`MediaInfo`] and re-run cheaply.

use serde::{Deserialize, Serialize};

use crate::bitrate::video_bitrate_kbps;
use crate::info::{MediaInfo, StreamInfo};

/// Server-wide bounds on what we accept and produce.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest short side of the playable rendition (1080 = "1080p", also for portrait video).
    pub max_height: u32,
    /// Larger declared frames are rejected as damaged or hostile.
    pub max_pixels: u64,
    pub max_duration_s: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_height: 1080,
            max_pixels: 8192 * 8192,
            max_duration_s: None,
        }
    }
}

/// What to do to get a browser-playable MP4.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Plan {
    /// The original already plays everywhere and streams (moov first); serve it as is.
    Keep,
    /// The video plays everywhere but the container (or only the sound) does not: copy the video
    /// stream into a faststart MP4, and the audio too unless `audio` says to convert it.
    Remux { audio: AudioPlan },
    /// Re-encode to H.264/AAC.
    Transcode(TranscodeSpec),
}

impl Plan {
    /// The plan's name as shown to users and in logs: `keep`, `remux` or `transcode`.
    pub fn name(&self) -> &'static str {
        match self {
            Plan::Keep => "keep",
            Plan::Remux { .. } => "remux",
            Plan::Transcode(_) => "transcode",
        }
    }
}

/// Parameters of a re-encode to H.264 (CRF 23, capped by `video_bitrate_kbps`) + AAC in MP4.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TranscodeSpec {
    /// Output frame size: even, never larger than the displayed source, rotation and
    /// sample aspect ratio already applied (the output has square pixels, no rotation flag).
    pub width: u32,
    pub height: u32,
    /// Constant output rate to force (frame-rate cap or VFR->CFR); `None` keeps the source rate.
    pub fps: Option<f64>,
    pub deinterlace: bool,
    /// `-maxrate` in kbit/s (`-bufsize` is twice that).
    pub video_bitrate_kbps: u32,
    pub audio: AudioPlan,
    pub vfr_to_cfr: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AudioPlan {
    /// No audio stream in the source.
    None,
    /// Keep the source audio as it is (AAC: browsers downmix surround themselves).
    Copy,
    /// Encode AAC; more than two source channels are downmixed to stereo.
    Aac { channels: u32, bitrate_kbps: u32 },
}

/// Why a file cannot become a video, as a sentence the uploader understands.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejection {
    pub reason: String,
}

impl Rejection {
    fn new(reason: impl Into<String>) -> Self {
        Rejection {
            reason: reason.into(),
        }
    }
}

/// Highest frame rate we produce; faster sources are halved or capped.
pub const MAX_FPS: f64 = 60.0;
/// Shorter than this is a single image or a broken file, not footage.
const MIN_DURATION_S: f64 = 0.05;

/// Demuxers that only ever carry still images.
const IMAGE_FORMATS: &[&str] = &["image2", "image2pipe", "apng", "gif_pipe"];
/// Codecs that are usually a single picture; a still when there is one frame or no duration.
const IMAGE_CODECS: &[&str] = &[
    "png", "mjpeg", "jpeg2000", "jpegls", "bmp", "tiff", "webp", "gif", "ppm", "pgm", "pam",
    "targa", "sgi", "exr", "dpx", "jpegxl", "qoi", "pcx", "xbm",
];

/// Decide how to make `info` playable.
///
/// `faststart` is [`crate::is_streamable_mp4`] for the same file (pass `false` when unknown or not
/// MP4): it is the only input not in ffprobe's output, and it separates `Keep` from `Remux`.
///
/// Audio-only files are rejected rather than given a still picture: dailies is for footage, and a
/// file with no picture is almost always the wrong upload (a separate sound recording).
pub fn decide(info: &MediaInfo, limits: &Limits, faststart: bool) -> Result<Plan, Rejection> {
    if is_still_image(info) {
        return Err(Rejection::new(
            "This is a still image, not a video. Please upload a video file.",
        ));
    }
    let Some(video) = info.primary_video() else {
        return Err(if info.primary_audio().is_some() {
            Rejection::new(
                "This file has sound but no picture. Only video files can be added; upload the \
                 sound together with its picture.",
            )
        } else {
            Rejection::new("This file contains no video.")
        });
    };
    let (Some(w), Some(h)) = (
        video.width.filter(|w| *w > 0),
        video.height.filter(|h| *h > 0),
    ) else {
        return Err(Rejection::new(
            "This video does not say how big its picture is, so it cannot be played. The file \
             may be damaged.",
        ));
    };
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(Rejection::new(format!(
            "This video declares an absurd resolution {w}x{h}; the file is probably damaged."
        )));
    }
    let Some(duration) = info.best_duration_s().filter(|d| *d >= MIN_DURATION_S) else {
        return Err(Rejection::new(
            "We could not tell how long this video is (or it has no length), so it cannot be \
             processed. The file may be damaged or incomplete.",
        ));
    };
    if let Some(max) = limits.max_duration_s
        && duration > max
    {
        return Err(Rejection::new(format!(
            "This video is {} long; this server accepts videos up to {}.",
            human_duration(duration),
            human_duration(max)
        )));
    }
    let Some((dw, dh)) = info.display_size() else {
        return Err(Rejection::new(
            "This video does not say how big its picture is, so it cannot be played.",
        ));
    };

    let audio_plays = info
        .primary_audio()
        .is_none_or(|a| a.codec.as_deref() == Some("aac"));
    if browser_video(video) && dw.min(dh) <= limits.max_height {
        let mp4_family = info.format_name.contains("mp4");
        return Ok(if !audio_plays {
            // Copying the picture and converting only the sound is far cheaper than a transcode.
            Plan::Remux {
                audio: audio_plan(info),
            }
        } else if mp4_family && faststart {
            Plan::Keep
        } else {
            Plan::Remux {
                audio: AudioPlan::Copy,
            }
        });
    }
    Ok(Plan::Transcode(transcode_spec(
        info,
        video,
        (dw, dh),
        limits,
    )))
}

/// H.264 8-bit 4:2:0 progressive: the only video every browser decodes (Safari included).
fn browser_video(v: &StreamInfo) -> bool {
    let codec_ok = v.codec.as_deref() == Some("h264");
    let pix_ok = matches!(v.pix_fmt.as_deref(), Some("yuv420p" | "yuvj420p"));
    let depth_ok = v.bit_depth.is_none_or(|d| d == 8);
    let profile_ok = v
        .profile
        .as_deref()
        .is_none_or(|p| !(p.contains("10") || p.contains("4:2:2") || p.contains("4:4:4")));
    codec_ok && pix_ok && depth_ok && profile_ok && !v.is_interlaced()
}

fn is_still_image(info: &MediaInfo) -> bool {
    if IMAGE_FORMATS.iter().any(|f| info.format_is(f))
        || info.format_name.split(',').any(|f| f.ends_with("_pipe"))
    {
        return true;
    }
    let Some(v) = info.primary_video() else {
        return false;
    };
    let image_codec = v
        .codec
        .as_deref()
        .is_some_and(|c| IMAGE_CODECS.contains(&c));
    let one_frame = v.nb_frames.is_some_and(|n| n <= 1);
    let no_length = info.best_duration_s().is_none_or(|d| d < MIN_DURATION_S);
    image_codec && (one_frame || no_length)
}

fn transcode_spec(
    info: &MediaInfo,
    video: &StreamInfo,
    (dw, dh): (u32, u32),
    limits: &Limits,
) -> TranscodeSpec {
    let (width, height) = fit_even(dw, dh, limits.max_height.max(2));
    let source_fps = video.frame_rate.or(video.r_frame_rate);
    let deinterlace = video.is_interlaced();
    // VFR only matters once we re-encode; constant rate keeps players and sprites in step.
    let vfr_to_cfr = video.variable_frame_rate && !deinterlace;
    let fps = match source_fps {
        Some(f) if f > MAX_FPS => Some(if (f / 2.0) <= MAX_FPS {
            f / 2.0
        } else {
            MAX_FPS
        }),
        Some(f) if vfr_to_cfr => Some(f.round().clamp(1.0, MAX_FPS)),
        None if vfr_to_cfr => Some(30.0),
        _ => None,
    };
    let out_fps = fps.or(source_fps).unwrap_or(30.0);
    TranscodeSpec {
        width,
        height,
        fps,
        deinterlace,
        video_bitrate_kbps: video_bitrate_kbps(width, height, out_fps),
        audio: audio_plan(info),
        vfr_to_cfr,
    }
}

/// Scale so the short side is at most `max_short`, never upscale, round both sides down to even.
fn fit_even(w: u32, h: u32, max_short: u32) -> (u32, u32) {
    let short = w.min(h);
    let (fw, fh) = if short > max_short {
        let scale = f64::from(max_short) / f64::from(short);
        if w <= h {
            (max_short, (f64::from(h) * scale).round() as u32)
        } else {
            ((f64::from(w) * scale).round() as u32, max_short)
        }
    } else {
        (w, h)
    };
    let even = |v: u32| (v & !1).max(2);
    (even(fw), even(fh))
}

fn audio_plan(info: &MediaInfo) -> AudioPlan {
    let Some(a) = info.primary_audio() else {
        return AudioPlan::None;
    };
    let channels = a.channels.unwrap_or(2);
    if a.codec.as_deref() == Some("aac") && channels <= 2 {
        return AudioPlan::Copy;
    }
    if channels == 1 {
        AudioPlan::Aac {
            channels: 1,
            bitrate_kbps: 96,
        }
    } else {
        AudioPlan::Aac {
            channels: 2,
            bitrate_kbps: 160,
        }
    }
}

fn human_duration(s: f64) -> String {
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {sec} s")
    } else {
        format!("{sec} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_even_rules() {
        assert_eq!(fit_even(641, 361, 1080), (640, 360));
        assert_eq!(fit_even(3840, 2160, 1080), (1920, 1080));
        assert_eq!(fit_even(1080, 1920, 1080), (1080, 1920));
        assert_eq!(fit_even(2160, 3840, 1080), (1080, 1920));
        assert_eq!(fit_even(1, 1, 1080), (2, 2));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(59.6), "1 min 0 s");
        assert_eq!(human_duration(7300.0), "2 h 1 min");
        assert_eq!(human_duration(3.0), "3 s");
    }
}
