//! Raw `.yuv` sources: their format (size, frame rate, pixel format) comes with the tus upload
//! as metadata, is checked strictly at creation and against the bytes at completion, is kept in
//! `ingest.json`, and is given to ffmpeg wherever the original is read (probe, processing,
//! thumbnails, encodes, external encoders). A `.yuv` dropped in the folder has no way to say its
//! format and is refused with the reason.

mod common;
mod tus_common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tus_common::*;

const X265: &str = r#"
[encoders.x265]
program = "x265"
codec = "hevc"
args = ["--input", "-", "--y4m", "--output", "-", "--crf", "{crf}", "--preset", "{preset}", "--log-level", "error"]
"#;

/// 60 frames of 320x240 yuv420p (2.002 s at 30000/1001).
fn raw_yuv(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("gen.yuv");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30000/1001",
            "-frames:v",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "rawvideo",
            "-y",
        ])
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 60 * 320 * 240 * 3 / 2);
    bytes
}

fn raw_metadata(name: &str, fps: &str, pix_fmt: &str) -> String {
    metadata(&[
        ("filename", name),
        ("raw_width", "320"),
        ("raw_height", "240"),
        ("raw_fps", fps),
        ("raw_pix_fmt", pix_fmt),
    ])
}

fn duration_of(probe: &Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn download_and_probe(server: &Server, token: &str, url: &str, dir: &std::path::Path) -> Value {
    let (status, _, bytes) = server.get_bytes(url, token);
    assert_eq!(status, 200, "{url}");
    let out = dir.join("download.bin");
    std::fs::write(&out, bytes).unwrap();
    ffprobe_json(&out)
}

fn wait_state(server: &Server, token: &str, path: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, e) = server.get(path, token);
        assert_eq!(status, 200, "{e}");
        if e["state"] == "ready" {
            return e;
        }
        assert!(
            e["state"] == "queued" && Instant::now() < deadline,
            "{e}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_yuv_upload_with_its_format_plays_encodes_and_makes_thumbnails() {
    let server = Server::start(X265);
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let bytes = raw_yuv(dir.path());
    let url = create(
        &server,
        &alice,
        bytes.len() as u64,
        &raw_metadata("take 1.yuv", "30000/1001", "yuv420p"),
    );
    let r = patch(&url, &alice, 0, &bytes);
    assert_eq!(r.status, 204, "{r}");
    let id = video_id_of(&r);
    let v = wait_video(&server, &alice, &id);
    assert_eq!(v["status"], "ready", "{v:#}\n{}", server.log_text());
    assert_eq!(v["width"], 320);
    assert_eq!(v["height"], 240);
    let d = v["duration_s"].as_f64().unwrap();
    assert!((d - 2.002).abs() < 0.05, "duration {d}");
    let record: Value = serde_json::from_slice(
        &std::fs::read(server.data().join("media").join(&id).join("ingest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["raw_video"]["pix_fmt"], "yuv420p", "{record}");
    assert_eq!(record["raw_video"]["fps"]["den"], 1001, "{record}");

    // What plays is H.264 of the same length.
    let playable = download_and_probe(
        &server,
        &alice,
        v["media_url"].as_str().unwrap(),
        dir.path(),
    );
    assert_eq!(playable["streams"][0]["codec_name"], "h264", "{playable}");
    assert!((duration_of(&playable) - 2.002).abs() < 0.1, "{playable}");
    for still in ["poster_url", "sprite_url"] {
        let (status, ctype, _) = server.get_bytes(v[still].as_str().unwrap(), &alice);
        assert_eq!((status, ctype.as_str()), (200, "image/jpeg"), "{still}");
    }

    // Thumbnails seek in the raw file, including its last frame.
    let (status, set) = server.post_json(
        &format!("/api/videos/{id}/thumbnails"),
        &alice,
        r#"{"timestamps": [0, 1.0, 2.0], "width": 160}"#,
    );
    assert_eq!(status, 201, "{set}");
    let set = wait_state(
        &server,
        &alice,
        &format!("/api/thumbnails/{}", set["id"].as_str().unwrap()),
    );
    assert_eq!(set["images"].as_array().unwrap().len(), 3, "{set}");

    // External x265 from the raw file (wrapped into Y4M, no decode), into MKV; and ffmpeg's own
    // encoder from it.
    for (body, codec) in [
        (
            r#"{"codec":"hevc","encoder":"x265","preset":"ultrafast","container":"mkv"}"#,
            "hevc",
        ),
        (r#"{"codec":"h264","preset":"ultrafast"}"#, "h264"),
    ] {
        let (status, e) = server.post_json(&format!("/api/videos/{id}/encodes"), &alice, body);
        assert_eq!(status, 201, "{body}: {e}");
        let e = wait_state(
            &server,
            &alice,
            &format!("/api/encodes/{}", e["id"].as_str().unwrap()),
        );
        let probe = download_and_probe(
            &server,
            &alice,
            e["download_url"].as_str().unwrap(),
            dir.path(),
        );
        assert_eq!(probe["streams"][0]["codec_name"], codec, "{body}: {probe}");
        assert_eq!(probe["streams"][0]["width"], 320, "{body}: {probe}");
        assert!(
            (duration_of(&probe) - 2.002).abs() < 0.15,
            "{body}: {probe}"
        );
    }
    server.assert_healthy();
}

#[test]
fn a_yuv_with_a_wrong_or_missing_format_is_refused_and_nothing_is_kept() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let frame = (320 * 240 * 3 / 2).to_string();
    let post = |length: &str, meta: &str| {
        request(
            "POST",
            &endpoint(&server),
            Some(&alice),
            &[TUS, ("Upload-Length", length), ("Upload-Metadata", meta)],
            Body::None,
        )
    };
    let cases = [
        (
            metadata(&[("filename", "a.yuv"), ("raw_width", "320")]),
            frame.clone(),
            "raw_height, raw_fps, raw_pix_fmt",
        ),
        (
            raw_metadata("a.yuv", "25", "rgb48be"),
            frame.clone(),
            "yuv420p",
        ),
        (
            raw_metadata("a.yuv", "25", "yuv420p; rm -rf /"),
            frame.clone(),
            "raw_pix_fmt",
        ),
        (
            raw_metadata("a.yuv", "0", "yuv420p"),
            frame.clone(),
            "raw_fps",
        ),
        (
            raw_metadata("a.yuv", "1000", "yuv420p"),
            frame.clone(),
            "240",
        ),
        (
            raw_metadata("a.yuv", "25/0", "yuv420p"),
            frame.clone(),
            "raw_fps",
        ),
        (
            metadata(&[
                ("filename", "a.yuv"),
                ("raw_width", "100000"),
                ("raw_height", "240"),
                ("raw_fps", "25"),
                ("raw_pix_fmt", "yuv420p"),
            ]),
            frame.clone(),
            "8192",
        ),
        (
            metadata(&[
                ("filename", "a.yuv"),
                ("raw_width", "321"),
                ("raw_height", "240"),
                ("raw_fps", "25"),
                ("raw_pix_fmt", "yuv420p"),
            ]),
            frame.clone(),
            "multiple of 2",
        ),
        (
            raw_metadata("a.yuv", "25", "yuv420p"),
            (320 * 240 * 3 / 2 * 2 + 1).to_string(),
            "whole number",
        ),
        (
            raw_metadata("a.mp4", "25", "yuv420p"),
            frame.clone(),
            ".yuv",
        ),
    ];
    for (meta, length, why) in &cases {
        let r = post(length, meta);
        assert_eq!(r.status, 400, "{meta}: {r}");
        let error = r.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(why), "{meta}: {error}");
    }

    // A length given later that turns out wrong: refused at the end, and the upload removed.
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&alice),
        &[
            TUS,
            ("Upload-Defer-Length", "1"),
            (
                "Upload-Metadata",
                &raw_metadata("late.yuv", "25", "yuv420p"),
            ),
        ],
        Body::None,
    );
    assert_eq!(r.status, 201, "{r}");
    let url = upload_url(&server, r.must("Location"));
    let odd = vec![7u8; 320 * 240 * 3 / 2 + 10];
    let r = patch_with(
        &url,
        &alice,
        0,
        &odd,
        &[("Upload-Length", &odd.len().to_string())],
    );
    assert_eq!(r.status, 400, "{r}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("whole number"),
        "{r}"
    );
    assert_eq!(head(&url, &alice).status, 404, "the upload is gone");
    assert!(server.videos().is_empty(), "no video was made");
    let uploads = server.data().join("uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");

    // The drop folder cannot carry a format: refused, naming what is missing.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dropped.yuv");
    std::fs::write(&file, vec![0u8; 320 * 240 * 3 / 2]).unwrap();
    server.drop_file(Some("alice"), "dropped.yuv", &file);
    let reason = server.wait_rejected("dropped.yuv");
    assert!(
        reason.contains("raw_width") && reason.contains("raw_pix_fmt"),
        "{reason}"
    );
    assert!(server.videos().is_empty());
    server.assert_healthy();
}
