//! Everything one video needs (playable MP4, poster, sprite) from a single ffmpeg run where
//! possible: the source is decoded once and split between the outputs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{Instrument, info, info_span};

use crate::command::{RunOptions, run_ffmpeg};
use crate::decide::{AudioPlan, Plan, TranscodeSpec};
use crate::error::MediaError;
use crate::info::{MediaInfo, StreamInfo};
use crate::paths::ffmpeg_path_arg;
use crate::poster::PosterPlan;
use crate::probe::probe;
use crate::progress::Progress;
use crate::source::Source;
use crate::sprite::SpriteGeometry;
use crate::staging::{Staged, sync_dir};
use crate::tools::Tools;

pub const PLAYABLE_FILE: &str = "playable.mp4";
pub const POSTER_FILE: &str = "poster.jpg";
pub const SPRITE_FILE: &str = "sprite.jpg";
/// x264 speed/size trade-off for review copies: fast enough for 2-core servers, still small.
pub const X264_PRESET: &str = "veryfast";
const X264_CRF: &str = "23";
/// Keyframe spacing in seconds: short enough that scrubbing in the browser feels immediate.
const KEYFRAME_INTERVAL_S: f64 = 2.0;
/// Upper bound for probing our own rendition.
const RENDITION_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// What [`run_pipeline`] produced; all paths are final (already renamed into place).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineOutputs {
    /// `None` for [`Plan::Keep`]: the original is the playable file.
    pub rendition: Option<PathBuf>,
    pub poster: PathBuf,
    pub sprite: PathBuf,
    pub sprite_geometry: SpriteGeometry,
    /// Probe of the new rendition, for the server to record.
    pub rendition_info: Option<MediaInfo>,
}

/// Produce `out_dir/playable.mp4` (unless `Keep`), `out_dir/poster.jpg` and `out_dir/sprite.jpg`.
///
/// One ffmpeg run decodes the source once and feeds every output; progress covers that run.
/// Outputs are staged under temporary names and renamed only when all succeeded, so a rerun after
/// a crash simply overwrites, and a failure or cancellation leaves no partial files.
pub async fn run_pipeline(
    tools: &Tools,
    input: &Source,
    info: &MediaInfo,
    plan: &Plan,
    out_dir: &Path,
    opts: &RunOptions,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PipelineOutputs, MediaError> {
    let span = info_span!("pipeline", input = %input.path().display(), plan = plan.name());
    async move {
        let video = info
            .primary_video()
            .ok_or_else(|| MediaError::NotMedia("no video stream to process".into()))?;
        tokio::fs::create_dir_all(out_dir).await?;
        let duration = info.best_duration_s();
        let frame = frame_size(info, plan)?;
        let geometry = SpriteGeometry::plan(duration.unwrap_or(0.0), frame.0, frame.1);
        let fps = output_fps(video, plan);
        let poster = PosterPlan::plan(duration.unwrap_or(0.0), fps, frame.0, frame.1);

        let rendition = match plan {
            Plan::Keep => None,
            _ => Some(Staged::new(out_dir, PLAYABLE_FILE)),
        };
        let poster_out = Staged::new(out_dir, POSTER_FILE);
        let sprite_out = Staged::new(out_dir, SPRITE_FILE);

        let args = build_args(
            tools,
            input,
            info,
            video,
            plan,
            rendition.as_ref().map(Staged::tmp),
            Some((&geometry, sprite_out.tmp(), &poster, poster_out.tmp())),
        );
        run_ffmpeg(tools, &args, opts, duration, on_progress).await?;

        if let Some(r) = &rendition
            && !r.written().await
        {
            return Err(MediaError::BadOutput(
                "ffmpeg wrote no playable file".into(),
            ));
        }
        if !sprite_out.written().await {
            return Err(MediaError::BadOutput("ffmpeg wrote no sprite sheet".into()));
        }
        if !poster_out.written().await {
            // The window found no frame (duration overstated); the first frame is better than none.
            info!("poster window empty; using the first frame");
            let source = match &rendition {
                Some(r) => Source::file(r.tmp()),
                None => input.clone(),
            };
            let fallback = fallback_poster_args(&source, &poster, poster_out.tmp());
            run_ffmpeg(tools, &fallback, opts, None, &mut |_| {}).await?;
            if !poster_out.written().await {
                return Err(MediaError::BadOutput("ffmpeg wrote no poster".into()));
            }
        }

        let rendition_info = match &rendition {
            Some(r) => {
                let probed = probe(
                    tools,
                    &Source::file(r.tmp()),
                    opts.timeout.min(RENDITION_PROBE_TIMEOUT),
                )
                .await?;
                if probed.primary_video().is_none() {
                    return Err(MediaError::BadOutput("the rendition has no video".into()));
                }
                Some(probed)
            }
            None => None,
        };

        let rendition = match rendition {
            Some(r) => Some(r.commit().await?),
            None => None,
        };
        let poster = poster_out.commit().await?;
        let sprite = sprite_out.commit().await?;
        sync_dir(out_dir).await;
        info!(rendition = rendition.is_some(), "pipeline done");
        Ok(PipelineOutputs {
            rendition,
            poster,
            sprite,
            sprite_geometry: geometry,
            rendition_info,
        })
    }
    .instrument(span)
    .await
}

/// The transcode alone, with exactly the encoder settings [`run_pipeline`] uses: the baseline
/// for the "pipeline ≤ 1.15× bare transcode" benchmark. Pass to [`run_ffmpeg`].
pub fn bare_transcode_args(
    tools: &Tools,
    input: &Source,
    info: &MediaInfo,
    spec: &TranscodeSpec,
    output: &Path,
) -> Result<Vec<OsString>, MediaError> {
    let video = info
        .primary_video()
        .ok_or_else(|| MediaError::NotMedia("no video stream to process".into()))?;
    let plan = Plan::Transcode(spec.clone());
    Ok(build_args(
        tools,
        input,
        info,
        video,
        &plan,
        Some(output),
        None,
    ))
}

/// Size of the frames feeding the sprite and poster: the displayed size, or the encode size.
fn frame_size(info: &MediaInfo, plan: &Plan) -> Result<(u32, u32), MediaError> {
    match plan {
        Plan::Transcode(spec) => Ok((spec.width, spec.height)),
        _ => info
            .display_size()
            .ok_or_else(|| MediaError::NotMedia("the video has no picture size".into())),
    }
}

fn output_fps(video: &StreamInfo, plan: &Plan) -> f64 {
    let spec_fps = match plan {
        Plan::Transcode(spec) => spec.fps,
        _ => None,
    };
    spec_fps
        .or(video.frame_rate)
        .or(video.r_frame_rate)
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(30.0)
}

fn os(items: &[&str]) -> impl Iterator<Item = OsString> {
    items
        .iter()
        .map(OsString::from)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Build the full ffmpeg argument list for `plan`. `stills` adds the sprite and poster outputs.
fn build_args(
    tools: &Tools,
    input: &Source,
    info: &MediaInfo,
    video: &StreamInfo,
    plan: &Plan,
    rendition: Option<&Path>,
    stills: Option<(&SpriteGeometry, &Path, &PosterPlan, &Path)>,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = input.input_args();

    let v_in = format!("[0:{}]", video.index);
    let mut graph = String::new();
    if let Plan::Transcode(spec) = plan {
        graph.push_str(&v_in);
        graph.push_str(&main_video_chain(spec));
        if stills.is_some() {
            graph.push_str(",split=3[vmain][s0][p0];");
        } else {
            graph.push_str("[vmain]");
        }
    } else if stills.is_some() {
        graph.push_str(&format!("{v_in}split=2[s0][p0];"));
    }
    if let Some((geometry, _, poster, _)) = stills {
        graph.push_str(&format!(
            "[s0]{}[sprite];[p0]{}[poster]",
            geometry.filter(),
            poster.filter()
        ));
    }
    if !graph.is_empty() {
        args.extend(os(&["-filter_complex"]));
        args.push(graph.into());
    }

    if let Some(out) = rendition {
        let audio = info.primary_audio();
        match plan {
            Plan::Transcode(spec) => {
                args.extend(os(&["-map", "[vmain]"]));
                args.extend(x264_args(tools, spec, video));
                args.extend(audio_args(&spec.audio, audio));
            }
            Plan::Remux { .. } | Plan::Keep => {
                let audio_plan = match plan {
                    Plan::Remux { audio } => audio,
                    _ => &AudioPlan::Copy,
                };
                // First video and first audio only; data/timecode/subtitle tracks dropped.
                args.extend(os(&["-map", &format!("0:{}", video.index), "-c:v", "copy"]));
                args.extend(audio_args(audio_plan, audio));
            }
        }
        args.extend(os(&[
            "-dn",
            "-sn",
            "-write_tmcd",
            "0",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ]));
        args.push(ffmpeg_path_arg(out));
    }

    if let Some((_, sprite_path, _, poster_path)) = stills {
        args.extend(os(&[
            "-map",
            "[sprite]",
            "-frames:v",
            "1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "4",
            "-f",
            "image2",
            "-update",
            "1",
        ]));
        args.push(ffmpeg_path_arg(sprite_path));
        args.extend(os(&[
            "-map",
            "[poster]",
            "-frames:v",
            "1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "2",
            "-f",
            "image2",
            "-update",
            "1",
        ]));
        args.push(ffmpeg_path_arg(poster_path));
    }
    args
}

/// Deinterlace, constant rate, scale to the spec with square pixels, 8-bit 4:2:0. Rotation is
/// applied by ffmpeg's autorotate before this chain, so the output carries no rotation flag.
/// Output options for the first audio track: dropped, copied, or converted to AAC.
fn audio_args(plan: &AudioPlan, audio: Option<&StreamInfo>) -> Vec<OsString> {
    let Some(a) = audio else {
        return os(&["-an"]).collect();
    };
    let map = format!("0:{}", a.index);
    match plan {
        AudioPlan::None => os(&["-an"]).collect(),
        AudioPlan::Copy => os(&["-map", &map, "-c:a", "copy"]).collect(),
        AudioPlan::Aac {
            channels,
            bitrate_kbps,
        } => {
            let mut args: Vec<OsString> = os(&[
                "-map",
                &map,
                "-c:a",
                "aac",
                "-ac",
                &channels.to_string(),
                "-b:a",
                &format!("{bitrate_kbps}k"),
            ])
            .collect();
            if a.sample_rate.is_none_or(|r| r > 48_000) {
                args.extend(os(&["-ar", "48000"]));
            }
            args
        }
    }
}

fn main_video_chain(spec: &TranscodeSpec) -> String {
    let mut filters = Vec::new();
    if spec.deinterlace {
        filters.push("bwdif=mode=send_frame:parity=auto:deint=all".to_string());
    }
    if let Some(fps) = spec.fps {
        filters.push(format!("fps=fps={fps:.6}"));
    }
    filters.push(format!(
        "scale={}:{}:flags=bicubic,setsar=1,format=yuv420p",
        spec.width, spec.height
    ));
    filters.join(",")
}

fn x264_args(tools: &Tools, spec: &TranscodeSpec, video: &StreamInfo) -> Vec<OsString> {
    let fps = spec
        .fps
        .or(video.frame_rate)
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(30.0);
    let gop = ((fps * KEYFRAME_INTERVAL_S).round() as u32).max(1);
    let rate = spec.video_bitrate_kbps;
    let mut args: Vec<OsString> = os(&[
        "-c:v",
        "libx264",
        "-preset",
        X264_PRESET,
        "-crf",
        X264_CRF,
        "-maxrate",
        &format!("{rate}k"),
        "-bufsize",
        &format!("{}k", rate.saturating_mul(2)),
        "-profile:v",
        "high",
        "-pix_fmt",
        "yuv420p",
        "-g",
        &gop.to_string(),
    ])
    .collect();
    if tools.threads > 0 {
        args.extend(os(&["-threads", &tools.threads.to_string()]));
    }
    args
}

/// First frame of `source` as the poster.
fn fallback_poster_args(source: &Source, poster: &PosterPlan, out: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = source.input_args();
    args.extend(os(&[
        "-map",
        "0:v:0",
        "-vf",
        &poster.fallback_filter(),
        "-frames:v",
        "1",
        "-c:v",
        "mjpeg",
        "-q:v",
        "2",
        "-f",
        "image2",
        "-update",
        "1",
    ]));
    args.push(ffmpeg_path_arg(out));
    args
}
