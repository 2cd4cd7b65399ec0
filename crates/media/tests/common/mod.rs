//! Shared helpers: tiny test media generated with ffmpeg's lavfi sources.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dailies_media::{MediaInfo, RunOptions, Tools};

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
    dailies_media::probe(&tools(), path, PROBE_TIMEOUT)
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
