//! Benchmark: encodes through an external encoder (`ffmpeg | x265 | ffmpeg`) against the same
//! x265 run on the same frames already on disk as raw Y4M. Prints one ratio per line (goal ≤ 1.1).
//! Figures, not a test.
//!
//! - `h264_ultrafast`: from an H.264 source with sound, x265 `--preset ultrafast` (the decode
//!   competes with the fastest encoder: the worst case);
//! - `h264_<BENCH_PRESET>`: the same with a preset editors use (default `medium`);
//! - `y4m_ultrafast`: from the `.y4m` file itself (no decode: the file is the encoder's stdin);
//! - `yuv_ultrafast`: from the same frames as a headerless `.yuv` (ffmpeg only wraps them).
//!
//!     BENCH_SECONDS=4 cargo run --release -p dailies-media --example bench_external
//!
//! `BENCH_RUNS` (default 3): each figure is the best of that many runs, pipeline and bare x265
//! alternating, since a shared machine's load comes and goes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dailies_media::{
    AudioChoice, Codec, Container, EncodeSpec, ExternalEncoder, FrameRate, Quality, RawPixelFormat,
    RawVideoFormat, RunOptions, Source, Tools, probe, run_external_encode,
};

fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg {args:?}");
}

fn x265(input: &str, preset: &str) -> Vec<String> {
    [
        "--input",
        input,
        "--y4m",
        "--output",
        "-",
        "--crf",
        "28",
        "--preset",
        preset,
        "--log-level",
        "error",
        "--no-progress",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Best of `runs` (alternating): (the pipeline from `source`, x265 alone on `raw_y4m`), seconds.
async fn measure(
    source: &Source,
    raw_y4m: &Path,
    preset: &str,
    out: &Path,
    runs: usize,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let tools = Tools::default();
    let info = probe(&tools, source, Duration::from_secs(30)).await?;
    let encoder = ExternalEncoder {
        program: "x265".into(),
        codec: Codec::Hevc,
        args: x265("-", "{preset}"),
    };
    let spec = EncodeSpec {
        codec: Codec::Hevc,
        container: Container::Mp4,
        quality: Quality::Crf(28),
        preset: preset.into(),
        max_height: None,
        fps: None,
        audio: AudioChoice::Aac,
        encoder: Some("x265".into()),
        outro: false,
    };
    let opts = RunOptions::new(Duration::from_secs(3600));
    let (mut bare, mut chain) = (f64::MAX, f64::MAX);
    for _ in 0..runs {
        let t = Instant::now();
        let ok = Command::new("x265")
            .args(x265(raw_y4m.to_str().unwrap_or_default(), preset))
            .stdout(std::process::Stdio::null())
            .status()?
            .success();
        assert!(ok);
        bare = bare.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        run_external_encode(
            &tools,
            &encoder,
            source,
            &info,
            &spec,
            out,
            &opts,
            &mut |_| {},
        )
        .await?;
        chain = chain.min(t.elapsed().as_secs_f64());
    }
    Ok((chain, bare))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = std::env::var("BENCH_SECONDS").unwrap_or_else(|_| "10".into());
    let preset = std::env::var("BENCH_PRESET").unwrap_or_else(|_| "medium".into());
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|r| *r > 0)
        .unwrap_or(3);
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src.mp4");
    let y4m = dir.path().join("raw.y4m");
    let yuv = dir.path().join("raw.yuv");
    let out = dir.path().join("out.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1920x1080:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &seconds,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        src.to_str().unwrap_or_default(),
    ]);
    for (path, format) in [(&y4m, "yuv4mpegpipe"), (&yuv, "rawvideo")] {
        ffmpeg(&[
            "-i",
            src.to_str().unwrap_or_default(),
            "-pix_fmt",
            "yuv420p",
            "-f",
            format,
            path.to_str().unwrap_or_default(),
        ]);
    }
    let raw_format = RawVideoFormat {
        width: 1920,
        height: 1080,
        fps: FrameRate { num: 25, den: 1 },
        pix_fmt: RawPixelFormat::Yuv420p,
    };
    let cases = [
        (
            "h264_ultrafast",
            Source::file(&src),
            "ultrafast",
            "from H.264 with sound",
        ),
        (
            "h264_",
            Source::file(&src),
            preset.as_str(),
            "from H.264 with sound",
        ),
        (
            "y4m_ultrafast",
            Source::file(&y4m),
            "ultrafast",
            "from the .y4m itself, no decode",
        ),
        (
            "yuv_ultrafast",
            Source::raw(&yuv, raw_format),
            "ultrafast",
            "from a .yuv, wrapped into Y4M",
        ),
    ];
    for (name, source, preset, what) in cases {
        let name = if name.ends_with('_') {
            format!("{name}{preset}")
        } else {
            name.to_owned()
        };
        let (chain, bare) = measure(&source, &y4m, preset, &out, runs).await?;
        println!(
            "external_encoder_ratio_{name}={:.2} (pipeline {what} {chain:.2} s / x265 --preset {preset} on raw Y4M on disk {bare:.2} s; 1080p25, {seconds} s, best of {runs}) goal ≤ 1.1",
            chain / bare
        );
    }
    Ok(())
}
