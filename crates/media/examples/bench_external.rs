//! Benchmark: an encode through an external encoder (`ffmpeg | x265 | ffmpeg`, from an H.264
//! source, with its sound) against the same x265 run on the same frames already on disk as raw
//! Y4M. Prints the ratio (goal ≤ 1.1). Figures, not a test.
//!
//!     cargo run --release -p dailies-media --example bench_external

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dailies_media::{
    AudioChoice, Codec, Container, EncodeSpec, ExternalEncoder, Quality, RunOptions, Tools, probe,
    run_external_encode,
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = std::env::var("BENCH_SECONDS").unwrap_or_else(|_| "10".into());
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src.mp4");
    let raw = dir.path().join("raw.y4m");
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
        src.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-pix_fmt",
        "yuv420p",
        "-f",
        "yuv4mpegpipe",
        raw.to_str().unwrap(),
    ]);
    let x265 = |input: &str| {
        vec![
            "--input".to_owned(),
            input.to_owned(),
            "--y4m".into(),
            "--output".into(),
            "-".into(),
            "--crf".into(),
            "28".into(),
            "--preset".into(),
            "ultrafast".into(),
            "--log-level".into(),
            "error".into(),
            "--no-progress".into(),
        ]
    };
    let encoder = ExternalEncoder {
        program: "x265".into(),
        codec: Codec::Hevc,
        args: x265("-"),
    };
    let spec = EncodeSpec {
        codec: Codec::Hevc,
        container: Container::Mp4,
        quality: Quality::Crf(28),
        preset: "ultrafast".into(),
        max_height: None,
        fps: None,
        audio: AudioChoice::Aac,
        encoder: Some("x265".into()),
        outro: false,
    };
    let tools = Tools::default();
    let info = probe(&tools, &src, Duration::from_secs(30)).await?;
    let opts = RunOptions::new(Duration::from_secs(3600));
    let (mut bare, mut chain) = (f64::MAX, f64::MAX);
    for _ in 0..2 {
        let t = Instant::now();
        let ok = Command::new("x265")
            .args(x265(raw.to_str().unwrap()))
            .stdout(std::process::Stdio::null())
            .status()?
            .success();
        assert!(ok);
        bare = bare.min(t.elapsed().as_secs_f64());
        let out = dir.path().join("out.mp4");
        let t = Instant::now();
        run_external_encode(
            &tools,
            &encoder,
            &src,
            &info,
            &spec,
            Path::new(&out),
            &opts,
            &mut |_| {},
        )
        .await?;
        chain = chain.min(t.elapsed().as_secs_f64());
    }
    println!(
        "external_encoder_ratio={:.2} (ffmpeg | x265 | ffmpeg from H.264 with sound {chain:.2} s / x265 on raw Y4M on disk {bare:.2} s; 1080p, {seconds} s, best of 2) goal ≤ 1.1",
        chain / bare
    );
    Ok(())
}
