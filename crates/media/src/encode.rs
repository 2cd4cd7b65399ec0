//! User-chosen encodes: a request in JSON is checked against a closed schema and the encoders the
//! installed ffmpeg has, normalised (defaults filled in, so equal requests compare equal), and
//! turned into ffmpeg arguments. Nothing a user sends reaches ffmpeg as given: every value is an
//! enum variant or a bounded number, and every argument is built here.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::command::{RunOptions, run_ffmpeg};
use crate::error::MediaError;
use crate::external::{ExternalEncoder, check_external};
use crate::info::MediaInfo;
use crate::paths::ffmpeg_path_arg;
use crate::progress::Progress;
use crate::source::Source;
use crate::staging::Staged;
use crate::tools::Tools;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    H264,
    Hevc,
    Av1,
    Vp9,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    Mp4,
    Mkv,
    Webm,
}

impl Container {
    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mkv => "mkv",
            Container::Webm => "webm",
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mkv => "matroska",
            Container::Webm => "webm",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "QualityFields")]
pub enum Quality {
    Crf(u32),
    BitrateKbps(u32),
}

/// `quality` as sent: exactly one of the two.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QualityFields {
    crf: Option<u32>,
    bitrate_kbps: Option<u32>,
}

impl TryFrom<QualityFields> for Quality {
    type Error = &'static str;

    fn try_from(q: QualityFields) -> Result<Self, Self::Error> {
        match (q.crf, q.bitrate_kbps) {
            (Some(c), None) => Ok(Quality::Crf(c)),
            (None, Some(b)) => Ok(Quality::BitrateKbps(b)),
            _ => Err("quality is {\"crf\": N} or {\"bitrate_kbps\": N}, one of the two"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioChoice {
    Copy,
    Aac,
    Opus,
    None,
}

/// An encode request as a client sends it: everything but `codec` optional.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodeRequest {
    pub codec: Codec,
    pub container: Option<Container>,
    pub quality: Option<Quality>,
    pub preset: Option<String>,
    pub max_height: Option<u32>,
    pub fps: Option<u32>,
    pub audio: Option<AudioChoice>,
    /// An admin-configured external encoder, by name.
    pub encoder: Option<String>,
    /// Append the admin-configured closing clip.
    pub outro: Option<bool>,
}

/// A checked, normalised encode: what is stored, compared for duplicates and run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodeSpec {
    pub codec: Codec,
    pub container: Container,
    pub quality: Quality,
    pub preset: String,
    pub max_height: Option<u32>,
    pub fps: Option<u32>,
    pub audio: AudioChoice,
    pub encoder: Option<String>,
    pub outro: bool,
}

/// The ffmpeg encoders this server can use, probed once at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoders {
    names: BTreeSet<String>,
}

impl Encoders {
    pub fn from_names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        Encoders {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The ffmpeg encoder used for `codec`, if this ffmpeg has one.
    pub fn for_codec(&self, codec: Codec) -> Option<&'static str> {
        let candidates: &[&'static str] = match codec {
            Codec::H264 => &["libx264"],
            Codec::Hevc => &["libx265"],
            Codec::Av1 => &["libsvtav1", "libaom-av1"],
            Codec::Vp9 => &["libvpx-vp9"],
        };
        candidates.iter().copied().find(|c| self.has(c))
    }

    /// Codecs a request may ask for here.
    pub fn codecs(&self) -> Vec<Codec> {
        [Codec::H264, Codec::Hevc, Codec::Av1, Codec::Vp9]
            .into_iter()
            .filter(|c| self.for_codec(*c).is_some())
            .collect()
    }
}

/// Lists ffmpeg's encoders (`ffmpeg -encoders`).
pub async fn probe_encoders(tools: &Tools) -> Result<Encoders, MediaError> {
    let mut names = Vec::new();
    let mut past_header = false;
    // Lines after the " ------" separator: " V....D libx264   description".
    let mut on_line = |line: &[u8]| {
        let line = String::from_utf8_lossy(line);
        if past_header {
            if let Some(name) = line.split_whitespace().nth(1) {
                names.push(name.to_owned());
            }
        } else if line.trim_start().starts_with("---") {
            past_header = true;
        }
    };
    // Contained like every other tool run: a broken or hanging ffmpeg must not stall startup.
    crate::process::run_child(
        "ffmpeg",
        &tools.ffmpeg,
        &["-hide_banner".into(), "-nostdin".into(), "-encoders".into()],
        ENCODER_PROBE_TIMEOUT,
        None,
        &mut on_line,
        None,
    )
    .await?;
    Ok(Encoders::from_names(names))
}

/// Listing encoders takes well under a second; anything this slow is a broken ffmpeg.
const ENCODER_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the server offers beyond ffmpeg: external encoders and a closing clip.
#[derive(Clone, Debug)]
pub struct Offer<'a> {
    pub encoders: &'a Encoders,
    pub external: &'a std::collections::BTreeMap<String, ExternalEncoder>,
    pub has_outro: bool,
}

const X26X_PRESETS: &[&str] = &[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
];
const VP9_PRESETS: &[&str] = &["realtime", "good", "best"];
const MAX_BITRATE_KBPS: u32 = 200_000;
const MIN_BITRATE_KBPS: u32 = 50;

impl EncodeRequest {
    /// Checks every field and fills in defaults; the error says what is wrong, in words.
    pub fn check(self, offer: &Offer, source: &MediaInfo) -> Result<EncodeSpec, String> {
        let codec = self.codec;
        let external = match &self.encoder {
            Some(name) => Some((
                name.as_str(),
                offer.external.get(name).ok_or_else(|| {
                    let names: Vec<String> = offer.external.keys().cloned().collect();
                    format!(
                        "there is no external encoder named '{name}' on this server{}",
                        list_or_none(&names)
                    )
                })?,
            )),
            None => None,
        };
        // Without an external encoder, this ffmpeg must have one for the codec.
        if external.is_none() && offer.encoders.for_codec(codec).is_none() {
            let can: Vec<String> = offer
                .encoders
                .codecs()
                .iter()
                .map(|c| format!("{c:?}").to_lowercase())
                .collect();
            return Err(format!(
                "this server's ffmpeg cannot encode {}; it can encode: {}",
                format!("{codec:?}").to_lowercase(),
                can.join(", ")
            ));
        }
        let container = self.container.unwrap_or(match codec {
            Codec::H264 | Codec::Hevc | Codec::Av1 => Container::Mp4,
            Codec::Vp9 => Container::Webm,
        });
        if container == Container::Webm && !matches!(codec, Codec::Vp9 | Codec::Av1) {
            return Err("webm holds vp9 or av1 video only; use mp4 or mkv for this codec".into());
        }
        if container == Container::Mp4 && codec == Codec::Vp9 {
            return Err("use webm or mkv for vp9".into());
        }
        let quality = self.quality.unwrap_or(Quality::Crf(match codec {
            Codec::H264 => 23,
            Codec::Hevc => 28,
            Codec::Av1 => 35,
            Codec::Vp9 => 33,
        }));
        match quality {
            Quality::Crf(crf) => {
                let max = match codec {
                    Codec::H264 | Codec::Hevc => 51,
                    Codec::Av1 | Codec::Vp9 => 63,
                };
                if crf > max {
                    return Err(format!("crf for {codec:?} is 0 to {max}").to_lowercase());
                }
            }
            Quality::BitrateKbps(kbps) => {
                if !(MIN_BITRATE_KBPS..=MAX_BITRATE_KBPS).contains(&kbps) {
                    return Err(format!(
                        "bitrate_kbps is {MIN_BITRATE_KBPS} to {MAX_BITRATE_KBPS}"
                    ));
                }
            }
        }
        let preset = match (codec, self.preset) {
            (_, p) if external.is_some() => {
                let takes = external.is_some_and(|(_, e)| e.takes_preset());
                match p {
                    None => "medium".to_owned(),
                    Some(_) if !takes => {
                        return Err("this encoder's preset is set by its configuration".into());
                    }
                    Some(p)
                        if p.len() <= 24
                            && p.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
                    {
                        p
                    }
                    Some(_) => {
                        return Err(
                            "a preset is 1 to 24 letters, digits or '-', starting with a letter or digit"
                                .into(),
                        );
                    }
                }
            }
            (Codec::H264 | Codec::Hevc, p) => {
                pick(p, X26X_PRESETS, "medium", "x264/x265 presets are")?
            }
            (Codec::Vp9, p) => pick(p, VP9_PRESETS, "good", "vp9 presets are")?,
            (Codec::Av1, p) => {
                let p = p.unwrap_or_else(|| "8".to_owned());
                match p.parse::<u8>() {
                    Ok(n) if n <= 13 => n.to_string(),
                    _ => return Err("av1 presets are 0 (slowest) to 13 (fastest)".into()),
                }
            }
        };
        if let Some(h) = self.max_height
            && !(16..=4320).contains(&h)
        {
            return Err("max_height is 16 to 4320".into());
        }
        if let Some(f) = self.fps
            && !(1..=120).contains(&f)
        {
            return Err("fps is 1 to 120".into());
        }
        let source_audio = source
            .primary_audio()
            .map(|a| a.codec.clone().unwrap_or_default());
        let audio = match (self.audio, &source_audio) {
            (Some(a), None) if a != AudioChoice::None => {
                return Err("the source has no sound; use \"audio\": \"none\"".into());
            }
            (_, None) => AudioChoice::None,
            (Some(a), Some(_)) => a,
            (None, Some(_)) => match container {
                Container::Webm => AudioChoice::Opus,
                _ => AudioChoice::Aac,
            },
        };
        match (audio, container) {
            (AudioChoice::Aac, Container::Webm) => {
                return Err("webm holds opus sound, not aac".into());
            }
            (AudioChoice::Opus, _) if !offer.encoders.has("libopus") => {
                return Err("this server's ffmpeg has no opus encoder".into());
            }
            (AudioChoice::Copy, c) => {
                let src = source_audio.as_deref().unwrap_or("");
                let fits = match c {
                    Container::Mkv => true,
                    Container::Mp4 => {
                        matches!(src, "aac" | "mp3" | "ac3" | "eac3" | "alac" | "opus")
                    }
                    Container::Webm => matches!(src, "opus" | "vorbis"),
                };
                if !fits {
                    return Err(format!(
                        "the source's {src} sound cannot be copied into {}; choose aac or opus",
                        c.extension()
                    ));
                }
            }
            _ => {}
        }
        let outro = self.outro.unwrap_or(false);
        if outro && !offer.has_outro {
            return Err("this server has no closing clip configured".into());
        }
        if outro && audio == AudioChoice::Copy {
            return Err(
                "a closing clip needs the sound re-encoded; choose \"audio\": \"aac\" or \"opus\""
                    .into(),
            );
        }
        if outro && external.is_some() {
            return Err("a closing clip cannot be added through an external encoder".into());
        }
        let spec = EncodeSpec {
            codec,
            container,
            quality,
            preset,
            max_height: self.max_height,
            fps: self.fps,
            audio,
            encoder: self.encoder.clone(),
            outro,
        };
        if let Some((name, e)) = external {
            check_external(name, e, &spec)?;
        }
        Ok(spec)
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        " (none is configured)".into()
    } else {
        format!("; configured: {}", names.join(", "))
    }
}

fn pick(
    given: Option<String>,
    allowed: &[&str],
    default: &str,
    what: &str,
) -> Result<String, String> {
    match given {
        None => Ok(default.to_owned()),
        Some(p) if allowed.contains(&p.as_str()) => Ok(p),
        Some(_) => Err(format!("{what}: {}", allowed.join(", "))),
    }
}

impl EncodeSpec {
    /// A stable text of the options, for "the same source with the same options".
    pub fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// ffmpeg arguments for an encode with ffmpeg's own encoders.
pub fn encode_args(
    encoders: &Encoders,
    threads: usize,
    input: &Source,
    info: &MediaInfo,
    spec: &EncodeSpec,
    outro: Option<(&Path, &MediaInfo)>,
    output: &Path,
) -> Result<Vec<OsString>, MediaError> {
    let encoder = encoders
        .for_codec(spec.codec)
        .ok_or_else(|| MediaError::NotMedia(format!("no encoder for {:?} here", spec.codec)))?;
    let with_sound = spec.audio != AudioChoice::None && info.primary_audio().is_some();
    let mut a: Vec<OsString> = input.input_args();
    match outro {
        None => {
            let mut filters = Vec::new();
            if let Some(h) = spec.max_height {
                // Never upscale; keep the aspect ratio with even dimensions.
                filters.push(format!("scale=-2:'min({h},ih)':flags=bicubic"));
            }
            if let Some(f) = spec.fps {
                filters.push(format!("fps={f}"));
            }
            // 8-bit 4:2:0: what every player of these codecs decodes.
            filters.push("format=yuv420p".to_owned());
            for s in ["-map", "0:v:0", "-vf", &filters.join(",")] {
                a.push(s.into());
            }
            if with_sound {
                a.extend(["-map".into(), "0:a:0".into()]);
            }
        }
        Some((clip, clip_info)) => {
            a.push("-i".into());
            a.push(ffmpeg_path_arg(clip));
            let graph = outro_graph(info, clip_info, spec, with_sound)?;
            a.extend([
                "-filter_complex".into(),
                graph.into(),
                "-map".into(),
                "[v]".into(),
            ]);
            if with_sound {
                a.extend(["-map".into(), "[a]".into()]);
            }
        }
    }
    let mut push = |s: &str| a.push(s.into());
    push("-c:v");
    push(encoder);
    // The encoder's share of the CPU budget, as for processing.
    if threads > 0 {
        push("-threads");
        push(&threads.to_string());
    }
    match (spec.codec, spec.quality) {
        (Codec::Vp9, Quality::Crf(crf)) => {
            for s in ["-crf", &crf.to_string(), "-b:v", "0"] {
                push(s);
            }
        }
        (_, Quality::Crf(crf)) => {
            push("-crf");
            push(&crf.to_string());
        }
        (_, Quality::BitrateKbps(kbps)) => {
            push("-b:v");
            push(&format!("{kbps}k"));
        }
    }
    match spec.codec {
        Codec::H264 | Codec::Hevc => {
            push("-preset");
            push(&spec.preset);
        }
        Codec::Av1 if encoder == "libsvtav1" => {
            push("-preset");
            push(&spec.preset);
        }
        Codec::Av1 => {
            push("-cpu-used");
            push(&spec.preset.parse::<u8>().unwrap_or(8).min(8).to_string());
        }
        Codec::Vp9 => {
            push("-deadline");
            push(&spec.preset);
        }
    }
    if spec.codec == Codec::Hevc && spec.container == Container::Mp4 {
        // Apple players want HEVC tagged hvc1.
        push("-tag:v");
        push("hvc1");
    }
    if with_sound {
        match spec.audio {
            AudioChoice::Copy => {
                push("-c:a");
                push("copy");
            }
            AudioChoice::Aac => {
                for s in ["-c:a", "aac", "-b:a", "160k"] {
                    push(s);
                }
            }
            AudioChoice::Opus => {
                for s in ["-c:a", "libopus", "-b:a", "128k"] {
                    push(s);
                }
            }
            AudioChoice::None => {}
        }
    }
    for s in ["-dn", "-sn", "-map_metadata", "-1"] {
        push(s);
    }
    if spec.container == Container::Mp4 {
        push("-movflags");
        push("+faststart");
    }
    push("-f");
    push(spec.container.muxer());
    a.push(ffmpeg_path_arg(output));
    Ok(a)
}

/// The filter graph that appends the closing clip: both scaled (the clip letterboxed) to the
/// encode's size and frame rate, then joined; sound resampled alike, or silence for a clip
/// without any.
fn outro_graph(
    info: &MediaInfo,
    clip: &MediaInfo,
    spec: &EncodeSpec,
    with_sound: bool,
) -> Result<String, MediaError> {
    let (sw, sh) = info
        .primary_video()
        .and_then(|v| Some((v.width?, v.height?)))
        .filter(|(w, h)| *w > 0 && *h > 0)
        .ok_or_else(|| MediaError::NotMedia("the source's picture size is unknown".into()))?;
    let h = spec.max_height.map_or(sh, |m| m.min(sh)) & !1;
    let w = ((f64::from(sw) * f64::from(h) / f64::from(sh)).round() as u32 + 1) & !1;
    let fps = spec
        .fps
        .map(f64::from)
        .or_else(|| info.primary_video().and_then(|v| v.frame_rate))
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(25.0);
    let fit = format!("setsar=1,fps={fps},format=yuv420p");
    let mut g = format!(
        "[0:v:0]scale={w}:{h}:flags=bicubic,{fit}[v0];\
         [1:v:0]scale={w}:{h}:force_original_aspect_ratio=decrease:flags=bicubic,\
         pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,{fit}[v1]"
    );
    if with_sound {
        let same = "aformat=sample_rates=48000:channel_layouts=stereo";
        g.push_str(&format!(";[0:a:0]{same}[a0]"));
        match clip.primary_audio() {
            Some(_) => g.push_str(&format!(";[1:a:0]{same}[a1]")),
            None => {
                let d = clip.best_duration_s().unwrap_or(0.0).max(0.04);
                g.push_str(&format!(
                    ";anullsrc=r=48000:cl=stereo,atrim=duration={d:.3}[a1]"
                ));
            }
        }
        g.push_str(";[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]");
    } else {
        g.push_str(";[v0][v1]concat=n=2:v=1:a=0[v]");
    }
    Ok(g)
}

/// Runs an encode into `output` (written under a temporary name, renamed when complete).
#[allow(clippy::too_many_arguments)]
pub async fn run_encode(
    tools: &Tools,
    encoders: &Encoders,
    input: &Source,
    info: &MediaInfo,
    spec: &EncodeSpec,
    outro: Option<(&Path, &MediaInfo)>,
    output: &Path,
    opts: &RunOptions,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), MediaError> {
    let staged = Staged::for_output(output).await?;
    let args = encode_args(
        encoders,
        tools.threads,
        input,
        info,
        spec,
        outro,
        staged.tmp(),
    )?;
    let duration = info
        .best_duration_s()
        .map(|d| d + outro.and_then(|(_, o)| o.best_duration_s()).unwrap_or(0.0));
    run_ffmpeg(tools, &args, opts, duration, on_progress).await?;
    if !staged.written().await {
        return Err(MediaError::BadOutput("ffmpeg wrote no output".into()));
    }
    staged.commit().await?;
    Ok(())
}
