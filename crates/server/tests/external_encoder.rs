//! External encoders configured by the admin (tested with Debian's x265 command-line encoder):
//! ffmpeg decodes, x265 encodes from a pipe, ffmpeg muxes with the sound (into MP4 or MKV); a
//! Y4M source goes to the encoder as it is. Requests naming an encoder are checked against what it can do, and a
//! configuration with unknown placeholders is refused at start.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const X265: &str = r#"
[encoders.x265]
program = "x265"
codec = "hevc"
args = ["--input", "-", "--y4m", "--output", "-", "--crf", "{crf}", "--preset", "{preset}", "--log-level", "error"]
"#;

fn encode_and_probe(
    server: &Server,
    token: &str,
    video: &str,
    body: &str,
    dir: &std::path::Path,
) -> Value {
    ffprobe_json(&encode_to_file(server, token, video, body, dir))
}

/// Asks for an encode, waits for it and downloads it into `dir`.
fn encode_to_file(
    server: &Server,
    token: &str,
    video: &str,
    body: &str,
    dir: &std::path::Path,
) -> std::path::PathBuf {
    let (status, e) = server.post_json(&format!("/api/videos/{video}/encodes"), token, body);
    assert_eq!(status, 201, "{body}: {e}");
    let id = e["id"].as_str().unwrap();
    let deadline = Instant::now() + PATIENCE;
    let ready = loop {
        let (_, e) = server.get(&format!("/api/encodes/{id}"), token);
        if e["state"] == "ready" {
            break e;
        }
        assert!(
            e["state"] == "queued" && Instant::now() < deadline,
            "{e}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let (status, _, bytes) = server.get_bytes(ready["download_url"].as_str().unwrap(), token);
    assert_eq!(status, 200);
    let out = dir.join(format!("{id}.out"));
    std::fs::write(&out, bytes).unwrap();
    out
}

/// A ready H.264/AAC clip of alice's (testsrc2 at 25 fps), made in `dir`: its video id and
/// the source file.
fn alice_clip(
    server: &Server,
    dir: &std::path::Path,
    seconds: f64,
    size: &str,
) -> (String, std::path::PathBuf) {
    let clip = make_clip(
        dir,
        "src.mp4",
        seconds,
        &format!("testsrc2=size={size}:rate=25"),
        H264_AAC,
    );
    server.drop_file(Some("alice"), "src.mp4", &clip);
    let id = server.wait_settled("src.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, clip)
}

fn codec_of(probe: &Value, kind: &str) -> Option<String> {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
        .map(|s| s["codec_name"].as_str().unwrap().to_owned())
}

#[test]
fn x265_through_pipes_makes_hevc_with_the_sources_sound() {
    let server = Server::start(X265);
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let (video, _) = alice_clip(&server, dir.path(), 3.0, "640x360");

    let probe = encode_and_probe(
        &server,
        &alice,
        &video,
        r#"{"codec":"hevc","encoder":"x265","quality":{"crf":30},"preset":"ultrafast","max_height":240}"#,
        dir.path(),
    );
    assert_eq!(codec_of(&probe, "video").as_deref(), Some("hevc"));
    assert_eq!(codec_of(&probe, "audio").as_deref(), Some("aac"));
    let v = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap();
    assert_eq!(v["height"], 240);
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - 3.0).abs() < 0.3, "duration {duration}");

    // Into Matroska: the elementary stream gets its timestamps on the way (MPEG-TS on a pipe),
    // the sound comes along.
    let mkv = encode_and_probe(
        &server,
        &alice,
        &video,
        r#"{"codec":"hevc","encoder":"x265","quality":{"crf":30},"preset":"ultrafast","container":"mkv"}"#,
        dir.path(),
    );
    assert_eq!(mkv["format"]["format_name"], "matroska,webm", "{mkv}");
    assert_eq!(codec_of(&mkv, "video").as_deref(), Some("hevc"));
    assert_eq!(codec_of(&mkv, "audio").as_deref(), Some("aac"));
    let duration: f64 = mkv["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((duration - 3.0).abs() < 0.3, "duration {duration}");

    // No intermediate raw file was left anywhere.
    let media = server.data().join("media").join(&video);
    let mut stray = Vec::new();
    for entry in walk(&media) {
        let name = entry.to_string_lossy().to_string();
        if name.ends_with(".y4m")
            || name.ends_with(".yuv")
            || name.ends_with(".hevc")
            || name.contains("partial")
        {
            stray.push(name);
        }
    }
    assert!(stray.is_empty(), "{stray:?}");

    for (body, why) in [
        (r#"{"codec":"h264","encoder":"x265"}"#, "makes hevc"),
        (
            r#"{"codec":"hevc","encoder":"x265","quality":{"bitrate_kbps":900}}"#,
            "quality",
        ),
        (r#"{"codec":"hevc","encoder":"kvazaar"}"#, "x265"),
        (
            r#"{"codec":"hevc","encoder":"x265","container":"webm"}"#,
            "webm holds vp9 or av1",
        ),
        (
            r#"{"codec":"hevc","encoder":"x265","preset":"fast; rm -rf /"}"#,
            "preset",
        ),
    ] {
        let (status, answer) =
            server.post_json(&format!("/api/videos/{video}/encodes"), &alice, body);
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(why),
            "{body}: {answer}"
        );
    }
}

fn run(program: &str, args: &[&str], file: &std::path::Path) -> String {
    let out = Command::new(program).args(args).arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// x265 with its default B-frames: the frames come out in presentation order with every one of
/// them at its own time (ffmpeg 5.1 alone would time them in decode order and MP4 would lose
/// the first ones), in MP4 and in MKV.
#[test]
fn b_frames_keep_every_frame_in_presentation_order() {
    let server = Server::start(X265);
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let (video, clip) = alice_clip(&server, dir.path(), 2.0, "320x240");
    for container in ["mp4", "mkv"] {
        let body = format!(
            r#"{{"codec":"hevc","encoder":"x265","quality":{{"crf":26}},"preset":"medium","container":"{container}"}}"#
        );
        let out = encode_to_file(&server, &alice, &video, &body, dir.path());
        let packets = run(
            "ffprobe",
            &[
                "-v",
                "error",
                "-select_streams",
                "v",
                "-show_entries",
                "packet=pts,dts",
                "-of",
                "csv=p=0",
            ],
            &out,
        );
        assert!(
            packets.lines().any(|l| {
                let t: Vec<i64> = l.split(',').filter_map(|v| v.trim().parse().ok()).collect();
                t.len() == 2 && t[0] > t[1]
            }),
            "{container}: no B-frames to test with\n{packets}"
        );
        // Frames as the decoder gives them out (presentation order) with their times.
        let times: Vec<f64> = run(
            "ffprobe",
            &[
                "-v",
                "error",
                "-select_streams",
                "v",
                "-show_entries",
                "frame=best_effort_timestamp_time",
                "-of",
                "csv=p=0",
            ],
            &out,
        )
        .lines()
        .filter_map(|l| l.split(',').next()?.trim().parse().ok())
        .collect();
        assert_eq!(times.len(), 50, "{container}: {times:?}");
        // (Matroska starts 21 ms in, for the AAC encoder's priming, as a plain ffmpeg encode does.)
        assert!(times[0] < 0.025, "{container}: {times:?}");
        for (i, t) in times.iter().enumerate() {
            assert!(
                (t - times[0] - i as f64 / 25.0).abs() < 1e-3,
                "{container}: frame {i} at {t}: {times:?}"
            );
        }
        // Each frame looks like the source's frame at that time (testsrc2 changes every frame).
        let psnr = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&out)
            .arg("-i")
            .arg(&clip)
            .args(["-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"])
            .output()
            .unwrap();
        let stats = String::from_utf8_lossy(&psnr.stdout);
        let worst = stats
            .lines()
            .filter_map(|l| {
                l.split("psnr_avg:")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse::<f64>()
                    .ok()
            })
            .fold(f64::MAX, f64::min);
        assert_eq!(stats.lines().count(), 50, "{stats}");
        assert!(
            worst > 30.0,
            "{container}: a frame is at another's time (PSNR {worst})"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_y4m_source_goes_to_the_encoder_as_it_is() {
    let server = Server::start(X265);
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.y4m");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-t",
            "1",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "yuv4mpegpipe",
            "-y",
        ])
        .arg(&raw)
        .status()
        .unwrap();
    assert!(status.success());
    server.drop_file(Some("alice"), "raw.y4m", &raw);
    let v = server.wait_settled("raw.y4m");
    assert_eq!(v["status"], "ready", "{v}");
    let probe = encode_and_probe(
        &server,
        &alice,
        v["id"].as_str().unwrap(),
        r#"{"codec":"hevc","encoder":"x265","preset":"ultrafast"}"#,
        dir.path(),
    );
    assert_eq!(codec_of(&probe, "video").as_deref(), Some("hevc"));
    assert_eq!(codec_of(&probe, "audio"), None);
}

/// An encoder of VP9 in IVF (ffmpeg's libvpx, standing in for vpxenc): IVF carries its own
/// timestamps, into WebM with the source's sound as Opus.
const VP9_IVF: &str = r#"
[encoders.vp9ivf]
program = "ffmpeg"
codec = "vp9"
args = ["-v", "error", "-f", "yuv4mpegpipe", "-i", "-", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-crf", "{crf}", "-b:v", "0", "-f", "ivf", "-"]
"#;

#[test]
fn an_ivf_encoder_writes_webm_with_opus() {
    let server = Server::start(VP9_IVF);
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let (video, _) = alice_clip(&server, dir.path(), 2.0, "320x240");
    for (container, format) in [("webm", "matroska,webm"), ("mkv", "matroska,webm")] {
        let body = format!(
            r#"{{"codec":"vp9","encoder":"vp9ivf","quality":{{"crf":40}},"container":"{container}","audio":"opus"}}"#
        );
        let probe = encode_and_probe(&server, &alice, &video, &body, dir.path());
        assert_eq!(probe["format"]["format_name"], format, "{probe}");
        assert_eq!(codec_of(&probe, "video").as_deref(), Some("vp9"));
        assert_eq!(codec_of(&probe, "audio").as_deref(), Some("opus"));
        let duration: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((duration - 2.0).abs() < 0.3, "duration {duration}");
    }
}

#[test]
fn an_encoder_with_unknown_placeholders_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dailies.toml");
    std::fs::write(
        &config,
        "[encoders.bad]\nprogram = \"x265\"\ncodec = \"hevc\"\nargs = [\"--input\", \"{input}\"]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--config"])
        .arg(&config)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("encoders.bad") && err.contains("{input}"),
        "{err}"
    );
}
