//! A source file as ffmpeg must be told to read it: most files describe themselves, a raw `.yuv`
//! file does not, so its format (size, frame rate, pixel format) travels with its path.
//!
//! [`Source::input_args`] is the only place that writes an `-i` for a source: every tool run of
//! this crate that reads an original builds its input from a [`Source`], so the raw format cannot
//! be forgotten at one call site and remembered at another.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::paths::ffmpeg_path_arg;

/// The upload metadata keys (and the names used in messages) of a raw format.
pub const RAW_WIDTH_KEY: &str = "raw_width";
pub const RAW_HEIGHT_KEY: &str = "raw_height";
pub const RAW_FPS_KEY: &str = "raw_fps";
pub const RAW_PIX_FMT_KEY: &str = "raw_pix_fmt";

pub const MIN_RAW_DIMENSION: u32 = 16;
pub const MAX_RAW_DIMENSION: u32 = 8192;
pub const MAX_RAW_FPS: f64 = 240.0;

/// Whether a file name is a headerless raw video (`.yuv`): it needs a [`RawVideoFormat`].
pub fn is_raw_yuv_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yuv"))
}

/// The pixel formats a raw upload may declare (ffmpeg's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawPixelFormat {
    Yuv420p,
    Yuv422p,
    Yuv444p,
    Yuv420p10le,
    Yuv422p10le,
    Yuv444p10le,
    Nv12,
    Gray,
}

impl RawPixelFormat {
    pub const ALL: &'static [RawPixelFormat] = &[
        RawPixelFormat::Yuv420p,
        RawPixelFormat::Yuv422p,
        RawPixelFormat::Yuv444p,
        RawPixelFormat::Yuv420p10le,
        RawPixelFormat::Yuv422p10le,
        RawPixelFormat::Yuv444p10le,
        RawPixelFormat::Nv12,
        RawPixelFormat::Gray,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RawPixelFormat::Yuv420p => "yuv420p",
            RawPixelFormat::Yuv422p => "yuv422p",
            RawPixelFormat::Yuv444p => "yuv444p",
            RawPixelFormat::Yuv420p10le => "yuv420p10le",
            RawPixelFormat::Yuv422p10le => "yuv422p10le",
            RawPixelFormat::Yuv444p10le => "yuv444p10le",
            RawPixelFormat::Nv12 => "nv12",
            RawPixelFormat::Gray => "gray",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// (horizontal, vertical) chroma subsampling: dimensions must be multiples of these.
    fn subsampling(self) -> (u32, u32) {
        match self {
            RawPixelFormat::Yuv420p | RawPixelFormat::Yuv420p10le | RawPixelFormat::Nv12 => (2, 2),
            RawPixelFormat::Yuv422p | RawPixelFormat::Yuv422p10le => (2, 1),
            RawPixelFormat::Yuv444p | RawPixelFormat::Yuv444p10le | RawPixelFormat::Gray => (1, 1),
        }
    }

    fn bytes_per_sample(self) -> u64 {
        match self {
            RawPixelFormat::Yuv420p10le
            | RawPixelFormat::Yuv422p10le
            | RawPixelFormat::Yuv444p10le => 2,
            _ => 1,
        }
    }

    /// Bytes of one `width`×`height` frame (dimensions already checked against the subsampling).
    pub fn frame_bytes(self, width: u32, height: u32) -> u64 {
        let luma = u64::from(width) * u64::from(height);
        let (sx, sy) = self.subsampling();
        let chroma = match self {
            RawPixelFormat::Gray => 0,
            _ => 2 * luma / u64::from(sx * sy),
        };
        (luma + chroma) * self.bytes_per_sample()
    }
}

/// A frame rate as a fraction (`30000/1001`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// `30000/1001`, `25`, `29.97` (at most 3 decimals); within 1..=240 frames per second.
    pub fn parse(text: &str) -> Result<Self, RawFormatError> {
        let bad = || RawFormatError::BadFps(text.chars().take(40).collect());
        let text = text.trim();
        let (num, den) = match text.split_once('/') {
            Some((n, d)) => (
                n.parse::<u32>().map_err(|_| bad())?,
                d.parse::<u32>().map_err(|_| bad())?,
            ),
            None => {
                let (int, frac) = text.split_once('.').unwrap_or((text, ""));
                if int.is_empty()
                    || frac.len() > 3
                    || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
                    || int.len() > 4
                {
                    return Err(bad());
                }
                let den = 10u32.pow(frac.len() as u32);
                let num = format!("{int}{frac}").parse::<u32>().map_err(|_| bad())?;
                (num, den)
            }
        };
        if den == 0 {
            return Err(bad());
        }
        let g = gcd(num, den);
        let rate = FrameRate {
            num: num / g.max(1),
            den: den / g.max(1),
        };
        rate.check()?;
        Ok(rate)
    }

    fn check(self) -> Result<(), RawFormatError> {
        let f = if self.den == 0 { 0.0 } else { self.as_f64() };
        if !(1.0..=MAX_RAW_FPS).contains(&f) {
            return Err(RawFormatError::FpsOutOfRange(format!("{self}")));
        }
        Ok(())
    }
}

impl fmt::Display for FrameRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Why a raw format (or a raw file against it) is refused; each message names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawFormatError {
    #[error(
        "a raw .yuv video needs its format given with it; missing: {}",
        .0.join(", ")
    )]
    Missing(Vec<&'static str>),
    #[error("{key} must be a whole number, not '{value}'")]
    BadNumber { key: &'static str, value: String },
    #[error(
        "{key} is {value}; raw video must be {MIN_RAW_DIMENSION} to {MAX_RAW_DIMENSION} pixels"
    )]
    DimensionOutOfRange { key: &'static str, value: u32 },
    #[error("{pix_fmt} needs the {key} to be a multiple of {multiple}, not {value}")]
    NotSubsampled {
        pix_fmt: &'static str,
        key: &'static str,
        value: u32,
        multiple: u32,
    },
    #[error("raw_fps '{0}' is not a frame rate; give it like 25, 29.97 or 30000/1001")]
    BadFps(String),
    #[error("raw_fps {0} is out of range; raw video must be 1 to 240 frames per second")]
    FpsOutOfRange(String),
    #[error("raw_pix_fmt '{given}' is not supported; use one of {}", .allowed)]
    BadPixelFormat { given: String, allowed: String },
    #[error(
        "the file is {size} bytes, not a whole number of {width}x{height} {pix_fmt} frames \
         ({frame_bytes} bytes each): the size or pixel format given does not match the file"
    )]
    NotWholeFrames {
        size: u64,
        frame_bytes: u64,
        width: u32,
        height: u32,
        pix_fmt: &'static str,
    },
}

/// What a raw `.yuv` file cannot say about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedRawFormat")]
pub struct RawVideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: FrameRate,
    pub pix_fmt: RawPixelFormat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedRawFormat {
    width: u32,
    height: u32,
    fps: FrameRate,
    pix_fmt: RawPixelFormat,
}

impl TryFrom<UncheckedRawFormat> for RawVideoFormat {
    type Error = RawFormatError;
    fn try_from(u: UncheckedRawFormat) -> Result<Self, RawFormatError> {
        let f = RawVideoFormat {
            width: u.width,
            height: u.height,
            fps: u.fps,
            pix_fmt: u.pix_fmt,
        };
        f.check()?;
        Ok(f)
    }
}

impl RawVideoFormat {
    /// From the four values as given with an upload; every missing one is named at once.
    pub fn parse(
        width: Option<&str>,
        height: Option<&str>,
        fps: Option<&str>,
        pix_fmt: Option<&str>,
    ) -> Result<Self, RawFormatError> {
        let missing: Vec<&'static str> = [
            (RAW_WIDTH_KEY, width),
            (RAW_HEIGHT_KEY, height),
            (RAW_FPS_KEY, fps),
            (RAW_PIX_FMT_KEY, pix_fmt),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none_or(|v| v.trim().is_empty()))
        .map(|(k, _)| k)
        .collect();
        let (Some(width), Some(height), Some(fps), Some(pix_fmt)) = (width, height, fps, pix_fmt)
        else {
            return Err(RawFormatError::Missing(missing));
        };
        if !missing.is_empty() {
            return Err(RawFormatError::Missing(missing));
        }
        let number = |key: &'static str, v: &str| {
            let v = v.trim();
            if v.is_empty() || v.len() > 6 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RawFormatError::BadNumber {
                    key,
                    value: v.chars().take(40).collect(),
                });
            }
            v.parse::<u32>().map_err(|_| RawFormatError::BadNumber {
                key,
                value: v.to_owned(),
            })
        };
        let pix = pix_fmt.trim();
        let format = RawVideoFormat {
            width: number(RAW_WIDTH_KEY, width)?,
            height: number(RAW_HEIGHT_KEY, height)?,
            fps: FrameRate::parse(fps)?,
            pix_fmt: RawPixelFormat::from_name(pix).ok_or_else(|| {
                RawFormatError::BadPixelFormat {
                    given: pix.chars().take(40).collect(),
                    allowed: RawPixelFormat::ALL
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?,
        };
        format.check()?;
        Ok(format)
    }

    /// Bounds and subsampling.
    pub fn check(&self) -> Result<(), RawFormatError> {
        let (sx, sy) = self.pix_fmt.subsampling();
        for (key, value, multiple) in [
            (RAW_WIDTH_KEY, self.width, sx),
            (RAW_HEIGHT_KEY, self.height, sy),
        ] {
            if !(MIN_RAW_DIMENSION..=MAX_RAW_DIMENSION).contains(&value) {
                return Err(RawFormatError::DimensionOutOfRange { key, value });
            }
            if !value.is_multiple_of(multiple) {
                return Err(RawFormatError::NotSubsampled {
                    pix_fmt: self.pix_fmt.name(),
                    key: if key == RAW_WIDTH_KEY {
                        "width"
                    } else {
                        "height"
                    },
                    value,
                    multiple,
                });
            }
        }
        self.fps.check()
    }

    pub fn frame_bytes(&self) -> u64 {
        self.pix_fmt.frame_bytes(self.width, self.height)
    }

    /// The number of frames in a file of `size` bytes: a whole, non-zero number, or an error.
    pub fn frames_in(&self, size: u64) -> Result<u64, RawFormatError> {
        let frame_bytes = self.frame_bytes();
        if size == 0 || !size.is_multiple_of(frame_bytes) {
            return Err(RawFormatError::NotWholeFrames {
                size,
                frame_bytes,
                width: self.width,
                height: self.height,
                pix_fmt: self.pix_fmt.name(),
            });
        }
        Ok(size / frame_bytes)
    }

    /// ffmpeg's input options for this format (before `-i`).
    fn input_options(&self) -> [OsString; 8] {
        [
            "-f".into(),
            "rawvideo".into(),
            "-pixel_format".into(),
            self.pix_fmt.name().into(),
            "-video_size".into(),
            format!("{}x{}", self.width, self.height).into(),
            "-framerate".into(),
            self.fps.to_string().into(),
        ]
    }
}

/// A file to read, with the format ffmpeg must be told when the file cannot tell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    path: PathBuf,
    raw: Option<RawVideoFormat>,
}

impl Source {
    /// A file that describes itself (any container, `.y4m`).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Source {
            path: path.into(),
            raw: None,
        }
    }

    /// A headerless raw video file of `format`.
    pub fn raw(path: impl Into<PathBuf>, format: RawVideoFormat) -> Self {
        Source {
            path: path.into(),
            raw: Some(format),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn raw_format(&self) -> Option<&RawVideoFormat> {
        self.raw.as_ref()
    }

    /// `[-f rawvideo -pixel_format P -video_size WxH -framerate F] -i file:PATH`.
    pub fn input_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if let Some(raw) = &self.raw {
            a.extend(raw.input_options());
        }
        a.push("-i".into());
        a.push(ffmpeg_path_arg(&self.path));
        a
    }

    /// The same for ffprobe, which takes its input as the last argument without `-i`.
    pub(crate) fn probe_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if let Some(raw) = &self.raw {
            a.extend(raw.input_options());
        }
        a.push(ffmpeg_path_arg(&self.path));
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(w: &str, h: &str, fps: &str, pix: &str) -> Result<RawVideoFormat, RawFormatError> {
        RawVideoFormat::parse(Some(w), Some(h), Some(fps), Some(pix))
    }

    #[test]
    fn formats_are_checked() {
        let f = parse("320", "240", "30000/1001", "yuv420p").unwrap();
        assert_eq!(f.frame_bytes(), 320 * 240 * 3 / 2);
        assert_eq!(
            f.fps,
            FrameRate {
                num: 30000,
                den: 1001
            }
        );
        assert_eq!(
            parse("320", "240", "29.97", "nv12")
                .unwrap()
                .fps
                .to_string(),
            "2997/100"
        );
        assert_eq!(
            parse("320", "240", "25", "gray").unwrap().fps.to_string(),
            "25/1"
        );
        assert_eq!(
            parse("320", "240", "50/2", "yuv444p10le")
                .unwrap()
                .frame_bytes(),
            320 * 240 * 3 * 2
        );
        assert!(matches!(
            parse("321", "240", "25", "yuv420p"),
            Err(RawFormatError::NotSubsampled { .. })
        ));
        assert!(parse("321", "240", "25", "yuv444p").is_ok());
        assert!(parse("8", "240", "25", "yuv444p").is_err());
        assert!(parse("99999", "240", "25", "yuv444p").is_err());
        assert!(parse("-320", "240", "25", "yuv444p").is_err());
        assert!(parse("320", "240", "0", "yuv444p").is_err());
        assert!(parse("320", "240", "241", "yuv444p").is_err());
        assert!(parse("320", "240", "1/0", "yuv444p").is_err());
        assert!(parse("320", "240", "nan", "yuv444p").is_err());
        let e = parse("320", "240", "25", "rgb24; rm")
            .unwrap_err()
            .to_string();
        assert!(e.contains("yuv420p") && e.contains("raw_pix_fmt"), "{e}");
        let e = RawVideoFormat::parse(Some("320"), None, Some(""), Some("yuv420p"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("raw_height, raw_fps"), "{e}");
        let f = parse("16", "16", "25", "yuv420p").unwrap();
        assert_eq!(f.frames_in(384 * 3).unwrap(), 3);
        assert!(f.frames_in(384 * 3 + 1).is_err());
        assert!(f.frames_in(0).is_err());
    }

    #[test]
    fn input_options_come_before_the_input() {
        let f = parse("320", "240", "25", "yuv420p").unwrap();
        let args: Vec<String> = Source::raw("/m/original.yuv", f)
            .input_args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-f rawvideo -pixel_format yuv420p -video_size 320x240 -framerate 25/1 -i file:/m/original.yuv"
        );
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<RawVideoFormat>(&json).unwrap(), f);
        let bad = json.replace("320", "9999");
        assert!(serde_json::from_str::<RawVideoFormat>(&bad).is_err());
    }
}
