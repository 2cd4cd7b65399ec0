//! Shared helpers: tiny test media generated with ffmpeg's lavfi sources.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dailies_media::{
    Limits, MediaInfo, PipelineOutputs, Plan, RunOptions, Tools, decide, is_streamable_mp4,
    run_pipeline,
};

pub fn tools() -> Tools {
    Tools::new("ffmpeg", "ffprobe", 2)
}

pub fn opts() -> RunOptions {
    RunOptions::new(Duration::from_secs(120))
}

pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Run ffmpeg synchronously to make a fixture; panics with stderr on failure.
pub fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&out)
        .output()
        .expect("run ffmpeg");
    assert!(
        output.status.success(),
        "fixture {name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// 2 s of 320x180 test pattern + 440 Hz tone as H.264/AAC with extra output `args`.
pub fn make_h264_aac(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
    ];
    args.extend_from_slice(extra);
    make(dir, name, &args)
}

pub async fn probe(path: &Path) -> MediaInfo {
    dailies_media::probe(&tools(), &dailies_media::Source::file(path), PROBE_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("probe {}: {e}", path.display()))
}

/// No `.partial` leftovers in `dir`.
pub fn assert_no_partials(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let name = entry.expect("entry").file_name();
        assert!(
            !name.to_string_lossy().ends_with(".partial"),
            "leftover {name:?}"
        );
    }
}

/// Probe, check faststart and decide with default limits, as the server does.
pub async fn plan_for(path: &Path) -> (MediaInfo, Plan) {
    let info = probe(path).await;
    let faststart = is_streamable_mp4(path).await.expect("walk boxes");
    let plan = decide(&info, &Limits::default(), faststart).expect("accepted");
    (info, plan)
}

pub async fn run(path: &Path, info: &MediaInfo, plan: &Plan, out: &Path) -> PipelineOutputs {
    let mut ticks = Vec::new();
    let outputs = run_pipeline(
        &tools(),
        &dailies_media::Source::file(path),
        info,
        plan,
        out,
        &opts(),
        &mut |p| ticks.push(p),
    )
    .await
    .unwrap_or_else(|e| panic!("pipeline: {e}"));
    assert!(!ticks.is_empty(), "no progress reported");
    assert!(
        ticks
            .iter()
            .all(|p| p.fraction.is_some_and(|f| (0.0..=1.0).contains(&f)))
    );
    assert!(ticks.last().is_some_and(|p| p.done));
    assert_no_partials(out);
    outputs
}

/// The sprite on disk has exactly the size its geometry claims; the poster is a sane JPEG.
pub async fn check_stills(outputs: &PipelineOutputs) {
    let sprite = probe(&outputs.sprite).await;
    let g = &outputs.sprite_geometry;
    assert_eq!(sprite.display_size(), Some(g.image_size()), "{g:?}");
    assert!(g.count >= 1 && g.count <= g.columns * g.rows);
    let poster = probe(&outputs.poster).await;
    let (w, h) = poster.display_size().expect("poster size");
    assert!(w <= 1280 && w % 2 == 0 && h % 2 == 0);
}

pub fn assert_browser_mp4(info: &MediaInfo) {
    assert!(info.format_name.contains("mp4"), "{}", info.format_name);
    let v = info.primary_video().expect("video");
    assert_eq!(v.codec.as_deref(), Some("h264"));
    assert_eq!(v.pix_fmt.as_deref(), Some("yuv420p"));
    assert_eq!(v.rotation_deg, 0);
    let (w, h) = (v.width.expect("w"), v.height.expect("h"));
    assert!(w % 2 == 0 && h % 2 == 0, "{w}x{h}");
}
