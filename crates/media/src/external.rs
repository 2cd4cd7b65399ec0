//! External encoders: a program an admin configured by name (x265, kvazaar, SvtAv1EncApp…) that
//! reads raw Y4M video on stdin and writes an elementary stream on stdout.
//!
//! The pipeline is `ffmpeg (decode, scale, fps → y4m) | encoder | ffmpeg (mux with the source's
//! sound)`: the kernel moves the frames between them, nothing raw is written to disk (an H.264/HEVC
//! stream passes through this process on its way to the muxer, to be timed). A `.y4m`
//! source is already what the encoder reads, so it goes to the encoder as it is; a raw yuv420p
//! `.yuv` source is only wrapped into Y4M by ffmpeg (no filter, no conversion), since encoders
//! configured to read Y4M on stdin cannot be told a raw file's size and rate.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::command::RunOptions;
use crate::elementary::Timestamper;
use crate::encode::{AudioChoice, Codec, Container, EncodeSpec, Quality};
use crate::error::MediaError;
use crate::info::MediaInfo;
use crate::input_position::InputPosition;
use crate::mpegts::TsWriter;
use crate::paths::ffmpeg_path_arg;
use crate::process_chain::{Relay, Stage, Transform, run_chain};
use crate::progress::Progress;
use crate::source::{FrameRate, RawPixelFormat, Source};
use crate::staging::Staged;
use crate::tools::Tools;

/// What an admin configures: `[encoders.NAME]` with the program, the codec it writes, and its
/// arguments. In the arguments, `{crf}`, `{bitrate_kbps}` and `{preset}` are replaced by the
/// request's checked values; nothing else from a request reaches the program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalEncoder {
    pub program: PathBuf,
    pub codec: Codec,
    pub args: Vec<String>,
}

const PLACEHOLDERS: &[&str] = &["{crf}", "{bitrate_kbps}", "{preset}"];

impl ExternalEncoder {
    /// Refuses arguments with placeholders this server does not fill.
    pub fn validate(&self) -> Result<(), String> {
        for arg in &self.args {
            let mut rest = arg.as_str();
            while let Some(open) = rest.find('{') {
                let close = rest[open..]
                    .find('}')
                    .ok_or_else(|| format!("unclosed {{ in argument '{arg}'"))?;
                let token = &rest[open..open + close + 1];
                if !PLACEHOLDERS.contains(&token) {
                    return Err(format!(
                        "unknown placeholder {token} in argument '{arg}'; use {}",
                        PLACEHOLDERS.join(", ")
                    ));
                }
                rest = &rest[open + close + 1..];
            }
        }
        Ok(())
    }

    /// Whether its arguments take this kind of quality (or any, when they name none).
    pub fn takes(&self, q: Quality) -> bool {
        let has = |p: &str| self.args.iter().any(|a| a.contains(p));
        let names_any = has("{crf}") || has("{bitrate_kbps}");
        !names_any
            || match q {
                Quality::Crf(_) => has("{crf}"),
                Quality::BitrateKbps(_) => has("{bitrate_kbps}"),
            }
    }

    pub fn takes_preset(&self) -> bool {
        self.args.iter().any(|a| a.contains("{preset}"))
    }

    fn arguments(&self, spec: &EncodeSpec) -> Vec<OsString> {
        let (crf, kbps) = match spec.quality {
            Quality::Crf(c) => (c.to_string(), String::new()),
            Quality::BitrateKbps(b) => (String::new(), b.to_string()),
        };
        self.args
            .iter()
            .map(|a| {
                a.replace("{crf}", &crf)
                    .replace("{bitrate_kbps}", &kbps)
                    .replace("{preset}", &spec.preset)
                    .into()
            })
            .collect()
    }
}

/// The ffmpeg demuxer for what an encoder of `codec` writes.
fn elementary_format(codec: Codec) -> &'static str {
    match codec {
        Codec::H264 => "h264",
        Codec::Hevc => "hevc",
        Codec::Av1 | Codec::Vp9 => "ivf",
    }
}

/// A probed rate as a fraction: the 1000/1001 family exactly, others to a thousandth.
fn rate_of(f: f64) -> FrameRate {
    let ntsc = (f * 1.001).round();
    if (f - f.round()).abs() > 1e-3 && (ntsc / 1.001 - f).abs() < 1e-3 {
        FrameRate {
            num: ntsc as u32 * 1000,
            den: 1001,
        }
    } else {
        FrameRate {
            num: (f * 1000.0).round() as u32,
            den: 1000,
        }
    }
}

fn is_y4m(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("y4m"))
}

const CHAIN_PREFIX: &[&str] = &["-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"];

/// How the encoder gets its Y4M.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// A `.y4m` source is what the encoder reads: the file is its stdin.
    File,
    /// A raw yuv420p source: ffmpeg only puts a Y4M header and frame markers around the bytes
    /// (no decode worth the name, no filter, no conversion).
    Wrap,
    /// Anything else: ffmpeg decodes (scales, changes the rate) and converts to yuv420p.
    Decode,
}

fn feed(input: &Source, spec: &EncodeSpec) -> Feed {
    if spec.max_height.is_some() || spec.fps.is_some() {
        return Feed::Decode;
    }
    match input.raw_format() {
        None if is_y4m(input.path()) => Feed::File,
        Some(raw) if raw.pix_fmt == RawPixelFormat::Yuv420p => Feed::Wrap,
        _ => Feed::Decode,
    }
}

/// Encodes `input` through `encoder` into `output` (temporary name until complete).
///
/// An H.264/HEVC encoder writes an elementary stream, which has no timestamps; ffmpeg 5.1's raw
/// demuxers would give it decode-order ones, wrong for every B-frame. This process reads the
/// stream on its way to the muxer, times each access unit from its picture order count and
/// hands it on in MPEG-TS (see `elementary`). AV1/VP9 encoders write IVF, which carries
/// timestamps into any container.
#[allow(clippy::too_many_arguments)]
pub async fn run_external_encode(
    tools: &Tools,
    encoder: &ExternalEncoder,
    input: &Source,
    info: &MediaInfo,
    spec: &EncodeSpec,
    output: &Path,
    opts: &RunOptions,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), MediaError> {
    let staged = Staged::for_output(output).await?;
    let rate = spec
        .fps
        .map(|f| FrameRate { num: f, den: 1 })
        .or_else(|| input.raw_format().map(|r| r.fps))
        .or_else(|| {
            info.primary_video()
                .and_then(|v| v.frame_rate)
                .filter(|f| f.is_finite() && *f >= 0.001)
                .map(rate_of)
        })
        .unwrap_or(FrameRate { num: 25, den: 1 });
    let feed = feed(input, spec);

    let mut stages = Vec::new();
    if feed != Feed::File {
        let mut a: Vec<OsString> = CHAIN_PREFIX.iter().map(OsString::from).collect();
        a.extend(["-protocol_whitelist".into(), "file".into()]);
        a.extend(input.input_args());
        a.extend(["-map".into(), "0:v:0".into()]);
        if feed == Feed::Decode {
            let mut filters = Vec::new();
            if let Some(h) = spec.max_height {
                filters.push(format!("scale=-2:'min({h},ih)':flags=bicubic"));
            }
            if let Some(f) = spec.fps {
                filters.push(format!("fps={f}"));
            }
            filters.push("format=yuv420p".into());
            a.extend(["-vf".into(), filters.join(",").into()]);
        }
        a.extend(["-f".into(), "yuv4mpegpipe".into(), "-".into()]);
        stages.push(Stage {
            tool: "ffmpeg",
            program: tools.ffmpeg.clone(),
            args: a,
        });
    }
    stages.push(Stage {
        tool: "encoder",
        program: encoder.program.clone(),
        args: encoder.arguments(spec),
    });
    // An H.264/HEVC elementary stream has no timestamps, and ffmpeg 5.1 would give it decode-order
    // ones: on the way to the muxer it gets presentation times from its own picture order, in
    // MPEG-TS. IVF (AV1, VP9) has its own times.
    let relay = match (
        Timestamper::for_codec(encoder.codec),
        TsWriter::new(encoder.codec, rate),
    ) {
        (Some(mut stamps), Some(mut ts)) => {
            let mut packets = Vec::new();
            let transform: Transform = Box::new(move |piece, out| {
                packets.clear();
                match piece {
                    Some(bytes) => stamps.push(bytes, &mut packets)?,
                    None => stamps.finish(&mut packets)?,
                }
                for p in &packets {
                    ts.write(p, out);
                }
                Ok(())
            });
            Some(Relay {
                after: stages.len() - 1,
                transform,
            })
        }
        _ => None,
    };
    let demuxer = if relay.is_some() {
        "mpegts"
    } else {
        elementary_format(encoder.codec)
    };
    let mut m: Vec<OsString> = CHAIN_PREFIX.iter().map(OsString::from).collect();
    m.push("-y".into());
    for s in ["-protocol_whitelist", "pipe", "-f", demuxer, "-i", "pipe:0"] {
        m.push(s.into());
    }
    // The source is opened a second time only for its sound.
    let with_sound = spec.audio != AudioChoice::None && info.primary_audio().is_some();
    if with_sound {
        m.extend(["-protocol_whitelist".into(), "file".into()]);
        m.extend(input.input_args());
    }
    for s in ["-map", "0:v:0", "-c:v", "copy"] {
        m.push(s.into());
    }
    if with_sound {
        m.extend(["-map".into(), "1:a:0".into()]);
        let codec: &[&str] = match spec.audio {
            AudioChoice::Copy => &["-c:a", "copy"],
            AudioChoice::Aac => &["-c:a", "aac", "-b:a", "160k"],
            AudioChoice::Opus => &["-c:a", "libopus", "-b:a", "128k"],
            AudioChoice::None => &[],
        };
        m.extend(codec.iter().map(OsString::from));
    }
    if spec.codec == Codec::Hevc && spec.container == Container::Mp4 {
        m.extend(["-tag:v".into(), "hvc1".into()]);
    }
    if spec.container == Container::Mp4 {
        m.extend(["-movflags".into(), "+faststart".into()]);
    }
    let muxer = match spec.container {
        Container::Mp4 => "mp4",
        Container::Mkv => "matroska",
        Container::Webm => "webm",
    };
    m.extend(["-f".into(), muxer.into()]);
    m.push(ffmpeg_path_arg(staged.tmp()));
    stages.push(Stage {
        tool: "ffmpeg",
        program: tools.ffmpeg.clone(),
        args: m,
    });

    // The first stage reads the source from start to end: how far it is, is the progress.
    let mut position = InputPosition::new(input.path(), info.best_duration_s());
    let mut on_tick = |pid: u32| {
        if let Some(p) = position.as_mut().and_then(|p| p.sample(pid)) {
            on_progress(p);
        }
    };
    // With a raw source the encoder reads the file itself: it is handed over as its stdin.
    let stdin = if feed == Feed::File {
        Some(std::fs::File::open(input.path())?)
    } else {
        None
    };
    run_chain(
        stages,
        relay,
        opts.timeout,
        opts.cancel.as_ref(),
        stdin,
        &mut on_tick,
    )
    .await?;
    finish(staged).await
}

async fn finish(staged: Staged) -> Result<(), MediaError> {
    if !staged.written().await {
        return Err(MediaError::BadOutput(
            "the encoder chain wrote no output".into(),
        ));
    }
    staged.commit().await?;
    Ok(())
}

/// Checks a request naming `encoder` against what it can do.
pub fn check_external(
    encoder_name: &str,
    encoder: &ExternalEncoder,
    spec: &EncodeSpec,
) -> Result<(), String> {
    if spec.codec != encoder.codec {
        return Err(format!(
            "the encoder '{encoder_name}' makes {}; ask for that codec",
            format!("{:?}", encoder.codec).to_lowercase()
        ));
    }
    if !encoder.takes(spec.quality) {
        return Err(format!(
            "the encoder '{encoder_name}' is configured for the other kind of quality (crf or bitrate_kbps)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(args: &[&str]) -> ExternalEncoder {
        ExternalEncoder {
            program: "x265".into(),
            codec: Codec::Hevc,
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_encoder_is_fed_without_a_decode_when_it_can_be() {
        let mut spec = EncodeSpec {
            codec: Codec::Hevc,
            container: Container::Mkv,
            quality: Quality::Crf(28),
            preset: "medium".into(),
            max_height: None,
            fps: None,
            audio: AudioChoice::None,
            encoder: Some("x265".into()),
            outro: false,
        };
        let raw = |pix: &str| {
            crate::source::RawVideoFormat::parse(Some("320"), Some("240"), Some("25"), Some(pix))
                .unwrap()
        };
        let yuv420 = Source::raw("/m/original.yuv", raw("yuv420p"));
        assert_eq!(feed(&Source::file("/m/original.y4m"), &spec), Feed::File);
        assert_eq!(feed(&yuv420, &spec), Feed::Wrap);
        assert_eq!(
            feed(&Source::raw("/m/original.yuv", raw("yuv422p")), &spec),
            Feed::Decode
        );
        assert_eq!(feed(&Source::file("/m/original.mov"), &spec), Feed::Decode);
        spec.max_height = Some(720);
        assert_eq!(feed(&yuv420, &spec), Feed::Decode);
        assert_eq!(feed(&Source::file("/m/original.y4m"), &spec), Feed::Decode);
    }

    #[test]
    fn placeholders_are_checked_and_filled() {
        assert!(
            enc(&["--crf", "{crf}", "--preset", "{preset}"])
                .validate()
                .is_ok()
        );
        assert!(
            enc(&["{input}"])
                .validate()
                .unwrap_err()
                .contains("{input}")
        );
        assert!(enc(&["{crf"]).validate().is_err());
        let e = enc(&["--crf={crf}", "-"]);
        assert!(e.takes(Quality::Crf(20)));
        assert!(!e.takes(Quality::BitrateKbps(900)));
        assert!(enc(&["-"]).takes(Quality::BitrateKbps(900)));
    }
}
