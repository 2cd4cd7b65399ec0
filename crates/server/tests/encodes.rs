//! Encode requests: chosen options produce what was asked (checked with ffprobe), the result
//! downloads with ranges, equal requests are not encoded twice, bad requests get a 422 that says
//! what is wrong, nobody else sees anything, the upload check queues an encode without an
//! upload, and a cancelled encode leaves nothing behind.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn wait_encode(server: &Server, token: &str, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, e) = server.get(&format!("/api/encodes/{id}"), token);
        assert_eq!(status, 200, "{e}");
        if e["state"] == want {
            return e;
        }
        assert!(
            e["state"] != "failed" && Instant::now() < deadline,
            "encode {id} is {e}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A ready 3 s 640x360 H.264/AAC video of alice's; returns its id and the source file.
fn ready_video(
    server: &Server,
    token: &str,
    dir: &std::path::Path,
) -> (String, std::path::PathBuf) {
    let _ = token;
    let clip = make_clip(
        dir,
        "source.mp4",
        3.0,
        "testsrc2=size=640x360:rate=25",
        H264_AAC,
    );
    server.drop_file(Some("alice"), "source.mp4", &clip);
    let v = server.wait_settled("source.mp4");
    assert_eq!(v["status"], "ready", "{v}");
    (v["id"].as_str().unwrap().to_owned(), clip)
}

fn downloaded(server: &Server, token: &str, e: &Value, dir: &std::path::Path) -> (Value, String) {
    let (status, ctype, bytes) = server.get_bytes(e["download_url"].as_str().unwrap(), token);
    assert_eq!(status, 200);
    let path = dir.join(format!("{}.out", e["id"].as_str().unwrap()));
    std::fs::write(&path, &bytes).unwrap();
    (ffprobe_json(&path), ctype)
}

fn stream<'a>(probe: &'a Value, kind: &str) -> &'a Value {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} stream: {probe}"))
}

#[test]
fn encodes_follow_their_options_download_with_ranges_and_are_made_once() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let (video, _) = ready_video(&server, &alice, dir.path());
    let path = format!("/api/videos/{video}/encodes");

    let hevc = r#"{"codec":"hevc","container":"mkv","quality":{"crf":32},"preset":"ultrafast","max_height":240,"audio":"opus"}"#;
    let (status, created) = server.post_json(&path, &alice, hevc);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let ready = wait_encode(&server, &alice, &id, "ready");
    let (probe, ctype) = downloaded(&server, &alice, &ready, dir.path());
    assert_eq!(ctype, "video/x-matroska");
    let v = stream(&probe, "video");
    assert_eq!(v["codec_name"], "hevc");
    assert_eq!(v["height"], 240);
    assert_eq!(v["width"], 426, "aspect kept, even width");
    assert_eq!(stream(&probe, "audio")["codec_name"], "opus");
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - 3.0).abs() < 0.3, "duration {duration}");

    // Ranges, as players and download managers ask.
    let res = ureq::get(&format!(
        "{}{}",
        server.base,
        ready["download_url"].as_str().unwrap()
    ))
    .header("Authorization", &format!("Bearer {alice}"))
    .header("Range", "bytes=0-99")
    .call()
    .unwrap();
    assert_eq!(res.status().as_u16(), 206);
    assert_eq!(res.into_body().read_to_vec().unwrap().len(), 100);

    // The same options again, spelled differently (defaults written out): named, not redone.
    let again = r#"{"preset":"ultrafast","codec":"hevc","audio":"opus","max_height":240,"container":"mkv","quality":{"crf":32},"outro":false}"#;
    let (status, dup) = server.post_json(&path, &alice, again);
    assert_eq!(status, 409, "{dup}");
    assert_eq!(dup["encode_id"], id.as_str());

    // Defaults for VP9: WebM with Opus.
    let (status, vp9) = server.post_json(
        &path,
        &alice,
        r#"{"codec":"vp9","preset":"realtime","max_height":144}"#,
    );
    assert_eq!(status, 201, "{vp9}");
    assert_eq!(vp9["options"]["container"], "webm");
    assert_eq!(vp9["options"]["audio"], "opus");
    let ready = wait_encode(&server, &alice, vp9["id"].as_str().unwrap(), "ready");
    let (probe, ctype) = downloaded(&server, &alice, &ready, dir.path());
    assert_eq!(ctype, "video/webm");
    assert_eq!(stream(&probe, "video")["codec_name"], "vp9");

    let (_, list) = server.get(&path, &alice);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (_, jobs) = server.get("/api/jobs?kind=encode&state=done", &alice);
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2);
}

#[test]
fn encode_requests_are_checked_private_and_can_come_with_the_upload_check() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let dir = tempfile::tempdir().unwrap();
    let (video, clip) = ready_video(&server, &alice, dir.path());
    let path = format!("/api/videos/{video}/encodes");

    for body in [
        r#"{"codec":"mpeg2"}"#,
        r#"{}"#,
        r#"{"codec":"h264","container":"webm"}"#,
        r#"{"codec":"vp9","container":"mp4"}"#,
        r#"{"codec":"h264","quality":{"crf":99}}"#,
        r#"{"codec":"h264","quality":{"bitrate_kbps":1}}"#,
        r#"{"codec":"h264","quality":{"crf":20,"bitrate_kbps":900}}"#,
        r#"{"codec":"h264","preset":"warp"}"#,
        r#"{"codec":"av1","preset":"99"}"#,
        r#"{"codec":"h264","max_height":99999}"#,
        r#"{"codec":"h264","fps":0}"#,
        r#"{"codec":"h264","encoder":"kvazaar"}"#,
        r#"{"codec":"h264","outro":true}"#,
        r#"{"codec":"vp9","audio":"aac"}"#,
        r#"{"codec":"vp9","audio":"copy"}"#,
        r#"{"codec":"h264","colour":"red"}"#,
        r#"{"codec":"h264","max_height":"tall"}"#,
    ] {
        let (status, answer) = server.post_json(&path, &alice, body);
        assert_eq!(status, 422, "{body}: {answer}");
        let why = answer["error"].as_str().unwrap_or("");
        assert!(
            why.len() > 10,
            "{body}: the refusal says what is wrong: {answer}"
        );
    }
    let (status, _) = server.post_json(&path, &alice, "{not json");
    assert_eq!(status, 400);

    // Bob can neither ask for nor see anything of alice's.
    let (status, _) = server.post_json(&path, &bob, r#"{"codec":"h264"}"#);
    assert_eq!(status, 404);

    // The upload check with encode options: the content is here, so the encode is queued
    // without an upload; asking again names it.
    let sha = dailies::ingest::hashing::hash_file(&clip, None)
        .unwrap()
        .sha256;
    let size = std::fs::metadata(&clip).unwrap().len();
    let check = json!({"sha256": sha, "size": size, "filename": "again.mp4",
        "encode": {"codec": "h264", "max_height": 180, "preset": "ultrafast"}})
    .to_string();
    let (status, first) = server.post_json("/api/uploads/check", &alice, &check);
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["action"], "exists");
    assert_eq!(first["video_id"], video.as_str());
    let id = first["encode_id"].as_str().unwrap().to_owned();
    let (_, second) = server.post_json("/api/uploads/check", &alice, &check);
    assert_eq!(second["action"], "duplicate_request", "{second}");
    assert_eq!(second["encode_id"], id.as_str());
    let ready = wait_encode(&server, &alice, &id, "ready");
    assert_eq!(server.get(&format!("/api/encodes/{id}"), &bob).0, 404);
    let (status, _, _) = server.get_bytes(ready["download_url"].as_str().unwrap(), &bob);
    assert_eq!(status, 404);
    assert_eq!(server.get(&path, &bob).0, 404);
    assert_eq!(server.get("/api/encodes/not-an-id", &alice).0, 404);
}

#[test]
fn a_cancelled_encode_leaves_nothing_behind_and_a_retry_finishes_it() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    let server = Server::start(&format!(
        "process_concurrency = 1\nffmpeg = \"{}\"",
        ffmpeg.display()
    ));
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let (video, _) = ready_video(&server, &alice, dir.path());
    let (status, e) = server.post_json(
        &format!("/api/videos/{video}/encodes"),
        &alice,
        r#"{"codec":"h264","preset":"ultrafast"}"#,
    );
    assert_eq!(status, 201, "{e}");
    let job = e["job_id"].as_str().unwrap().to_owned();
    server.wait_until("the encode to run", || {
        server.get(&format!("/api/jobs/{job}"), &alice).1["state"] == "running"
            && !server.tool_processes().is_empty()
    });
    let (status, _) = server.post_json(&format!("/api/jobs/{job}/cancel"), &alice, "");
    assert_eq!(status, 200);
    wait_encode(&server, &alice, e["id"].as_str().unwrap(), "cancelled");
    server.wait_until("ffmpeg to exit", || server.tool_processes().is_empty());
    let encodes_dir = server.data().join("media").join(&video).join("encodes");
    let left = dir_names(&encodes_dir);
    assert!(left.is_empty(), "left after cancel: {left:?}");

    let (status, _) = server.post_json(&format!("/api/jobs/{job}/retry"), &alice, "");
    assert_eq!(status, 200);
    let ready = wait_encode(&server, &alice, e["id"].as_str().unwrap(), "ready");
    assert!(ready["size_bytes"].as_i64().unwrap() > 0);
}

#[test]
fn a_closing_clip_is_appended_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    // A silent 1 s card, portrait, to be letterboxed and given silence.
    let outro = dir.path().join("outro.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:size=180x320:rate=30",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-y",
        ])
        .arg(&outro)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let server = Server::start(&format!("outro_clip = \"{}\"", outro.display()));
    let alice = server.user_token("alice", false);
    let (video, _) = ready_video(&server, &alice, dir.path());
    let path = format!("/api/videos/{video}/encodes");

    let (status, refused) = server.post_json(
        &path,
        &alice,
        r#"{"codec":"h264","outro":true,"audio":"copy"}"#,
    );
    assert_eq!(status, 422, "{refused}");
    let (status, e) = server.post_json(
        &path,
        &alice,
        r#"{"codec":"h264","preset":"ultrafast","outro":true,"max_height":240}"#,
    );
    assert_eq!(status, 201, "{e}");
    let ready = wait_encode(&server, &alice, e["id"].as_str().unwrap(), "ready");
    let (probe, _) = downloaded(&server, &alice, &ready, dir.path());
    let v = stream(&probe, "video");
    assert_eq!(v["height"], 240);
    assert_eq!(stream(&probe, "audio")["codec_name"], "aac");
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (duration - 4.0).abs() < 0.3,
        "3 s of video and 1 s of closing clip, not {duration}"
    );
}
