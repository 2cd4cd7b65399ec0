//! `dailies upload`: the duplicate check first, resume of an interrupted upload, and a clear
//! error for a bad token.

mod common;

use std::process::Command;

use base64::Engine;
use common::*;

fn upload(server: &Server, token: &str, file: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["upload", file.to_str().unwrap(), "--server", &server.base])
        .env("DAILIES_TOKEN", token)
        .output()
        .unwrap()
}

#[test]
fn uploads_once_then_recognises_the_file() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "Interview.mp4");
    let out = upload(&server, &server.admin_token, &clip);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("uploaded as video"), "{stdout}");
    let v = server.wait_settled("Interview.mp4");
    assert_eq!(v["status"], "ready");
    assert_eq!(v["source"], "upload");
    let (_, _, body) = server.get_bytes(v["original_url"].as_str().unwrap(), &server.admin_token);
    assert_eq!(body, std::fs::read(&clip).unwrap(), "byte-identical");

    let again = upload(&server, &server.admin_token, &clip);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success());
    assert!(
        stdout.contains(&format!(
            "already on the server as video {}",
            v["id"].as_str().unwrap()
        )),
        "{stdout}"
    );

    let bad = upload(&server, "dly_wrong", &clip);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("401"));
}

#[test]
fn an_interrupted_upload_is_resumed_not_restarted() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = make_clip(
        src.path(),
        "long.mp4",
        6.0,
        "testsrc2=size=640x360:rate=25",
        H264_AAC,
    );
    let bytes = std::fs::read(&clip).unwrap();
    let sha = dailies::ingest::hashing::hash_file(&clip, None)
        .unwrap()
        .sha256;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);

    // An earlier run created the upload and sent the first third before it was cut off.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let res = agent
        .post(format!("{}/api/uploads/", server.base))
        .header("Authorization", format!("Bearer {}", server.admin_token))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", bytes.len().to_string())
        .header(
            "Upload-Metadata",
            format!("filename {},sha256 {}", b64("long.mp4"), b64(&sha)),
        )
        .send_empty()
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let location = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let third = bytes.len() / 3;
    let res = agent
        .patch(format!("{}{location}", server.base))
        .header("Authorization", format!("Bearer {}", server.admin_token))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .send(&bytes[..third])
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);

    let out = upload(&server, &server.admin_token, &clip);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming an earlier upload"), "{stderr}");
    let v = server.wait_settled("long.mp4");
    assert_eq!(v["status"], "ready");
    let (_, _, body) = server.get_bytes(v["original_url"].as_str().unwrap(), &server.admin_token);
    assert_eq!(body, bytes, "byte-identical after the resume");
}

#[test]
fn a_raw_yuv_goes_up_with_its_format_and_without_one_is_not_sent() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let yuv = src.path().join("plate.yuv");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25",
            "-frames:v",
            "25",
            "-pix_fmt",
            "yuv422p",
            "-f",
            "rawvideo",
        ])
        .arg(&yuv)
        .status()
        .unwrap()
        .success();
    assert!(ok);

    let bare = upload(&server, &server.admin_token, &yuv);
    assert!(!bare.status.success());
    let err = String::from_utf8_lossy(&bare.stderr);
    assert!(err.contains("--raw-width"), "{err}");

    let out = Command::new(BIN)
        .args(["upload", yuv.to_str().unwrap(), "--server", &server.base])
        .args([
            "--raw-width",
            "160",
            "--raw-height",
            "120",
            "--raw-fps",
            "25",
        ])
        .args(["--raw-pix-fmt", "yuv422p"])
        .env("DAILIES_TOKEN", &server.admin_token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = server.wait_settled("plate.yuv");
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["width"], 160);
    let d = v["duration_s"].as_f64().unwrap();
    assert!((d - 1.0).abs() < 0.05, "duration {d}");
}
