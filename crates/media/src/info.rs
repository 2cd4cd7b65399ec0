//! A typed, stable view of ffprobe's JSON so the rest of the code never touches raw strings.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::MediaError;

/// What ffprobe found in a file (`-show_format -show_streams -of json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MediaInfo {
    /// ffprobe's comma-separated demuxer names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub format_name: String,
    pub format_long_name: Option<String>,
    pub duration_s: Option<f64>,
    pub bit_rate: Option<u64>,
    pub size_bytes: Option<u64>,
    pub streams: Vec<StreamInfo>,
    pub start_time_s: Option<f64>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Video,
    Audio,
    Subtitle,
    Data,
    Attachment,
    Other,
}

/// One stream, with the fields that decide playability.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StreamInfo {
    /// ffprobe's absolute stream index (what `-map 0:N` expects).
    pub index: u32,
    pub kind: StreamKind,
    pub codec: Option<String>,
    pub profile: Option<String>,
    pub pix_fmt: Option<String>,
    pub bit_depth: Option<u32>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// `None` when unknown or square.
    pub sample_aspect_ratio: Option<(u32, u32)>,
    /// Display rotation in degrees, 0/90/180/270, with ffprobe's display-matrix sign (a legacy
    /// `rotate` tag is converted to that convention). Only "is it 90 or 270" matters for sizes.
    pub rotation_deg: i32,
    /// `avg_frame_rate`.
    pub frame_rate: Option<f64>,
    pub r_frame_rate: Option<f64>,
    pub variable_frame_rate: bool,
    /// `tt`/`bb`/`tb`/`bt` for interlaced sources, `progressive`, or `None` when unknown.
    pub field_order: Option<String>,
    pub channels: Option<u32>,
    pub channel_layout: Option<String>,
    pub sample_rate: Option<u32>,
    pub bit_rate: Option<u64>,
    pub duration_s: Option<f64>,
    pub nb_frames: Option<u64>,
    /// Cover art stored as a video stream; never the picture of the video.
    pub attached_pic: bool,
}

impl StreamInfo {
    /// Interlaced according to the container/codec field order.
    pub fn is_interlaced(&self) -> bool {
        match self.field_order.as_deref() {
            Some("tt" | "bb" | "tb" | "bt") => true,
            // Standard-definition DV is always interlaced, but raw .dv and DV in AVI carry no
            // field order that ffprobe can report.
            None | Some("unknown") => self.codec.as_deref() == Some("dvvideo"),
            _ => false,
        }
    }
}

impl MediaInfo {
    /// Parse ffprobe's JSON. Missing or odd fields become `None` rather than errors, because real
    /// files omit plenty; only a document without a `format` object is rejected.
    pub fn from_ffprobe_json(bytes: &[u8]) -> Result<Self, MediaError> {
        let root: Value = serde_json::from_slice(bytes)
            .map_err(|e| MediaError::BadOutput(format!("ffprobe JSON: {e}")))?;
        let format = root
            .get("format")
            .ok_or_else(|| MediaError::NotMedia("ffprobe found no container format".into()))?;
        let streams = root
            .get("streams")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(parse_stream).collect())
            .unwrap_or_default();
        Ok(MediaInfo {
            format_name: str_field(format, "format_name").unwrap_or_default(),
            format_long_name: str_field(format, "format_long_name"),
            duration_s: f64_field(format, "duration"),
            bit_rate: u64_field(format, "bit_rate"),
            size_bytes: u64_field(format, "size"),
            streams,
            start_time_s: f64_field(format, "start_time"),
        })
    }

    /// The picture people mean by "the video": the first video stream that is not cover art.
    pub fn primary_video(&self) -> Option<&StreamInfo> {
        self.streams
            .iter()
            .find(|s| s.kind == StreamKind::Video && !s.attached_pic)
    }

    /// The first audio stream: the one players pick by default.
    pub fn primary_audio(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == StreamKind::Audio)
    }

    /// Size as a viewer sees it: sample aspect ratio applied to the width, then rotation.
    pub fn display_size(&self) -> Option<(u32, u32)> {
        let v = self.primary_video()?;
        let (w, h) = (v.width?, v.height?);
        if w == 0 || h == 0 {
            return None;
        }
        let w = match v.sample_aspect_ratio {
            Some((n, d)) if n > 0 && d > 0 && n != d => {
                ((w as f64) * (n as f64) / (d as f64)).round().max(1.0) as u32
            }
            _ => w,
        };
        if v.rotation_deg == 90 || v.rotation_deg == 270 {
            Some((h, w))
        } else {
            Some((w, h))
        }
    }

    /// Container duration, else the primary video's own duration.
    pub fn best_duration_s(&self) -> Option<f64> {
        self.duration_s
            .filter(|d| d.is_finite() && *d > 0.0)
            .or_else(|| self.primary_video().and_then(|v| v.duration_s))
            .filter(|d| d.is_finite() && *d > 0.0)
    }

    /// True if any demuxer alias matches, since ffprobe lists several (`mov,mp4,m4a,...`).
    pub fn format_is(&self, name: &str) -> bool {
        self.format_name.split(',').any(|n| n == name)
    }
}

fn parse_stream(s: &Value) -> Option<StreamInfo> {
    let index = s.get("index")?.as_u64()? as u32;
    let kind = match s.get("codec_type").and_then(Value::as_str) {
        Some("video") => StreamKind::Video,
        Some("audio") => StreamKind::Audio,
        Some("subtitle") => StreamKind::Subtitle,
        Some("data") => StreamKind::Data,
        Some("attachment") => StreamKind::Attachment,
        _ => StreamKind::Other,
    };
    let frame_rate = rational(s.get("avg_frame_rate"));
    let r_frame_rate = rational(s.get("r_frame_rate"));
    Some(StreamInfo {
        index,
        kind,
        codec: str_field(s, "codec_name"),
        profile: str_field(s, "profile").filter(|p| p != "unknown"),
        pix_fmt: str_field(s, "pix_fmt"),
        bit_depth: u64_field(s, "bits_per_raw_sample")
            .filter(|b| *b > 0)
            .map(|b| b as u32),
        width: u64_field(s, "width").map(|v| v as u32),
        height: u64_field(s, "height").map(|v| v as u32),
        sample_aspect_ratio: sar(s.get("sample_aspect_ratio")),
        rotation_deg: rotation(s),
        frame_rate,
        r_frame_rate,
        variable_frame_rate: looks_variable(frame_rate, r_frame_rate),
        field_order: str_field(s, "field_order").filter(|f| f != "unknown"),
        channels: u64_field(s, "channels").map(|v| v as u32),
        channel_layout: str_field(s, "channel_layout"),
        sample_rate: u64_field(s, "sample_rate").map(|v| v as u32),
        bit_rate: u64_field(s, "bit_rate"),
        duration_s: f64_field(s, "duration"),
        nb_frames: u64_field(s, "nb_frames"),
        attached_pic: s
            .get("disposition")
            .and_then(|d| d.get("attached_pic"))
            .and_then(Value::as_i64)
            == Some(1),
    })
}

/// VFR when the average rate differs from the base rate by more than 1%, unless the base rate
/// is a clean multiple of it (interlaced and B-frame files often report a 2x `r_frame_rate`).
fn looks_variable(avg: Option<f64>, r: Option<f64>) -> bool {
    let (Some(avg), Some(r)) = (avg, r) else {
        return false;
    };
    if avg <= 0.0 || r <= 0.0 {
        return false;
    }
    let ratio = r / avg;
    let near = |k: f64| (ratio - k).abs() / k <= 0.01;
    !(near(1.0) || near(2.0))
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty() && s != "N/A")
}

/// ffprobe writes most numbers as strings ("12.5", "N/A"), some as JSON numbers.
fn f64_field(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

fn u64_field(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// "30000/1001" -> 29.97; "0/0" and garbage -> None.
fn rational(v: Option<&Value>) -> Option<f64> {
    let s = v?.as_str()?;
    let (n, d) = s.split_once('/')?;
    let (n, d) = (n.trim().parse::<f64>().ok()?, d.trim().parse::<f64>().ok()?);
    (n > 0.0 && d > 0.0).then(|| n / d)
}

/// "16:11" -> Some((16, 11)); unknown ("0:1") and square ("1:1") -> None.
fn sar(v: Option<&Value>) -> Option<(u32, u32)> {
    let s = v?.as_str()?;
    let (n, d) = s.split_once(':')?;
    let (n, d) = (n.parse::<u32>().ok()?, d.parse::<u32>().ok()?);
    (n > 0 && d > 0 && n != d).then_some((n, d))
}

/// Display-matrix rotation from side data, else the legacy `rotate` tag, snapped to 0/90/180/270.
fn rotation(s: &Value) -> i32 {
    let from_matrix = s
        .get("side_data_list")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .find_map(|sd| sd.get("rotation").and_then(Value::as_f64))
        });
    let from_tag = || {
        s.get("tags")
            .and_then(|t| t.get("rotate"))
            .and_then(Value::as_str)
            .and_then(|r| r.trim().parse::<f64>().ok())
            // The tag is clockwise, the display matrix counter-clockwise.
            .map(|r| -r)
    };
    let deg = from_matrix.or_else(from_tag).unwrap_or(0.0);
    if !deg.is_finite() {
        return 0;
    }
    let snapped = ((deg / 90.0).round() as i64).rem_euclid(4) * 90;
    snapped as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_rotation_rates_and_sar() {
        let doc = json!({
            "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "3.000000", "size": "1234", "bit_rate": "N/A"},
            "streams": [
                {"index": 0, "codec_type": "video", "codec_name": "hevc", "width": 320, "height": 180,
                 "sample_aspect_ratio": "1:1", "avg_frame_rate": "25/1", "r_frame_rate": "25/1",
                 "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
                 "disposition": {"attached_pic": 0}, "bits_per_raw_sample": "10"},
                {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 2, "sample_rate": "48000"},
                {"index": 2, "codec_type": "video", "codec_name": "mjpeg", "disposition": {"attached_pic": 1},
                 "tags": {"rotate": "90"}, "avg_frame_rate": "0/0", "sample_aspect_ratio": "0:1"}
            ]
        });
        let info = MediaInfo::from_ffprobe_json(doc.to_string().as_bytes()).expect("parse");
        assert_eq!(info.duration_s, Some(3.0));
        assert_eq!(info.bit_rate, None);
        assert_eq!(info.size_bytes, Some(1234));
        let v = info.primary_video().expect("video");
        assert_eq!(v.rotation_deg, 270);
        assert_eq!(v.bit_depth, Some(10));
        assert!(!v.variable_frame_rate);
        assert_eq!(info.display_size(), Some((180, 320)));
        assert_eq!(info.primary_audio().map(|a| a.index), Some(1));
        assert_eq!(info.streams[2].rotation_deg, 270);
        assert!(info.streams[2].attached_pic);
        assert_eq!(info.streams[2].frame_rate, None);
        assert_eq!(info.streams[2].sample_aspect_ratio, None);
        assert!(info.format_is("mp4"));
    }

    #[test]
    fn vfr_heuristic() {
        assert!(looks_variable(Some(23.7), Some(60.0)));
        assert!(!looks_variable(Some(25.0), Some(50.0)));
        assert!(!looks_variable(Some(29.97), Some(29.97)));
        assert!(!looks_variable(None, Some(30.0)));
    }

    #[test]
    fn anamorphic_display_size() {
        let doc = json!({"format": {"format_name": "mpeg"}, "streams": [
            {"index": 0, "codec_type": "video", "width": 720, "height": 576, "sample_aspect_ratio": "16:11"}]});
        let info = MediaInfo::from_ffprobe_json(doc.to_string().as_bytes()).expect("parse");
        assert_eq!(info.display_size(), Some((1047, 576)));
    }

    #[test]
    fn garbage_is_bad_output() {
        assert!(matches!(
            MediaInfo::from_ffprobe_json(b"not json"),
            Err(MediaError::BadOutput(_))
        ));
        assert!(matches!(
            MediaInfo::from_ffprobe_json(b"{}"),
            Err(MediaError::NotMedia(_))
        ));
    }
}
