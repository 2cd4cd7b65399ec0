//! The drop folder end to end: a file copied into `incoming/` becomes a playable video, and a
//! file that cannot be used ends in `rejected/` with a reason while the server carries on.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use serde_json::Value;

#[test]
fn playable_clip_becomes_ready_with_poster_and_sprite() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    server.drop_file(Some("alice"), "clip.mp4", &clip);
    let v = server.wait_settled("clip.mp4");
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["owner"], "alice");
    assert_eq!(v["processing"], "keep");
    assert_eq!(v["width"], 320);
    assert_eq!(v["video_codec"], "h264");
    assert!(v["sprite"]["count"].as_u64().unwrap() > 0);
    // The original is kept untouched.
    let id = v["id"].as_str().unwrap();
    let kept = std::fs::read(server.data().join("media").join(id).join("original.mp4")).unwrap();
    assert_eq!(kept, std::fs::read(&clip).unwrap());
    assert!(!server.data().join("incoming/alice/clip.mp4").exists());
    server.assert_healthy();
}

// ---- helpers ----

/// Writes `bytes` to a scratch file and returns its path.
fn scratch_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A file that was registered and then could not be processed: the row is `failed` with an
/// error, the original sits in `rejected/` beside a reason naming it, and `media/` keeps
/// nothing of it. Returns the row and the reason text.
fn expect_failed_and_rejected(server: &Server, name: &str) -> (Value, String) {
    let v = server.wait_settled(name);
    assert_eq!(v["status"], "failed", "{v:#}");
    let error = v["error"].as_str().unwrap_or_default();
    assert!(!error.trim().is_empty(), "a failed video says why: {v:#}");
    let reason = server.wait_rejected(name);
    assert!(reason.contains(name), "the reason names the file: {reason}");
    assert!(
        server.data().join("rejected").join(name).is_file(),
        "the original is kept in rejected/"
    );
    let id = v["id"].as_str().unwrap();
    assert!(
        !server.data().join("media").join(id).exists(),
        "nothing is left in media/ for a failed video"
    );
    assert!(v["media_url"].is_null(), "{v:#}");
    (v, reason)
}

fn make_png(dir: &Path) -> PathBuf {
    let out = dir.join("frame.png");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=160x90:rate=1")
        .args(["-frames:v", "1"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// An MP4 with its index (moov) at the end, as cameras and plain ffmpeg write it.
fn mp4_moov_at_end(dir: &Path, name: &str) -> PathBuf {
    make_clip(dir, name, 2.0, "testsrc2=size=320x180:rate=25", H264_AAC)
}

// ---- bad input, each one a test ----

#[test]
fn zero_byte_file_is_rejected_as_empty() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let empty = scratch_file(src.path(), "empty.mov", b"");
    server.drop_file(Some("alice"), "empty.mov", &empty);
    let reason = server.wait_rejected("empty.mov");
    assert!(reason.contains("empty"), "{reason}");
    assert!(
        server.videos().is_empty(),
        "an empty file never becomes a video"
    );
    assert!(!server.data().join("incoming/alice/empty.mov").exists());
    server.assert_healthy();
}

#[test]
fn truncated_mp4_without_its_index_is_rejected() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let full = std::fs::read(mp4_moov_at_end(src.path(), "full.mp4")).unwrap();
    let half = scratch_file(src.path(), "half.mp4", &full[..full.len() / 2]);
    server.drop_file(Some("alice"), "cut off.mp4", &half);
    let (_, reason) = expect_failed_and_rejected(&server, "cut off.mp4");
    assert_eq!(
        std::fs::read(server.data().join("rejected/cut off.mp4")).unwrap(),
        &full[..full.len() / 2],
        "the rejected file is the dropped file, untouched"
    );
    assert!(reason.lines().count() >= 1, "{reason}");
    server.assert_healthy();
}

#[test]
fn text_file_named_mov_is_rejected() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let text = "These are my notes for the shoot, not a movie.\n".repeat(50);
    let f = scratch_file(src.path(), "notes.mov", text.as_bytes());
    server.drop_file(Some("alice"), "notes.mov", &f);
    let (v, reason) = expect_failed_and_rejected(&server, "notes.mov");
    assert_eq!(v["owner"], "alice");
    assert!(
        reason.contains("Details from the tool"),
        "the reason carries the tool's words: {reason}"
    );
    server.assert_healthy();
}

#[test]
fn random_bytes_are_rejected() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let mut noise = vec![0u8; 256 * 1024];
    getrandom::fill(&mut noise).unwrap();
    let f = scratch_file(src.path(), "noise.mp4", &noise);
    server.drop_file(Some("alice"), "noise.mp4", &f);
    expect_failed_and_rejected(&server, "noise.mp4");
    server.assert_healthy();
}

#[test]
fn png_image_named_mp4_is_rejected_as_a_still_image() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let png = make_png(src.path());
    server.drop_file(Some("alice"), "poster.mp4", &png);
    let (v, reason) = expect_failed_and_rejected(&server, "poster.mp4");
    let text = format!("{reason} {}", v["error"]).to_lowercase();
    assert!(
        text.contains("image") || text.contains("not a video"),
        "{reason}"
    );
    server.assert_healthy();
}

#[test]
fn file_corrupted_in_the_middle_ends_ready_or_rejected_with_a_reason() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    for (name, codec_args) in [
        (
            "damaged.mkv",
            &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"][..],
        ),
        (
            "damaged.mp4",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-movflags",
                "+faststart",
            ][..],
        ),
    ] {
        let clip = make_clip(
            src.path(),
            &format!("clean-{name}"),
            2.0,
            "testsrc2=size=320x180:rate=25",
            codec_args,
        );
        let mut bytes = std::fs::read(&clip).unwrap();
        let mid = bytes.len() / 2;
        let end = (mid + 4096).min(bytes.len());
        for (i, b) in bytes[mid..end].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151) ^ 0xA5;
        }
        let damaged = scratch_file(src.path(), name, &bytes);
        server.drop_file(Some("alice"), name, &damaged);
    }
    for name in ["damaged.mkv", "damaged.mp4"] {
        let v = server.wait_settled(name);
        match v["status"].as_str() {
            Some("ready") => {
                let (status, _, body) =
                    server.get_bytes(v["media_url"].as_str().unwrap(), &server.admin_token);
                assert_eq!(status, 200);
                assert!(!body.is_empty());
            }
            _ => {
                expect_failed_and_rejected(&server, name);
            }
        }
    }
    server.assert_healthy();
}

#[test]
fn names_with_spaces_and_unicode_keep_their_name_and_title() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    let name = "Scène 1 – take 2.mov";
    server.drop_file(Some("alice"), name, &clip);
    let v = server.wait_settled(name);
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["original_filename"], name);
    assert_eq!(v["title"], "Scène 1 – take 2");
    let (status, body) = server.get(
        &format!("/api/videos/{}", v["id"].as_str().unwrap()),
        &server.admin_token,
    );
    assert_eq!(status, 200);
    assert_eq!(body["original_filename"], name);
    server.assert_healthy();
}

#[test]
fn names_that_try_to_escape_stay_inside_the_data_dir() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    let text = scratch_file(src.path(), "x.mov", b"not a video at all\n");
    let incoming = server.data().join("incoming");

    // A leading dash must never reach a tool as an option.
    server.drop_file(None, "-i.mov", &clip);
    // A different file (so not a duplicate) whose name looks like an ffmpeg option.
    server.drop_file(Some("alice"), "-y.mov", &text);
    // User folders that are not valid user names: rejected with a reason.
    server.drop_file(Some("-evil"), "clip.mp4", &clip);
    server.drop_file(Some("bad user!"), "clip2.mp4", &clip);
    // Hidden entries (leading dot, like rsync's temporary files) are left alone entirely.
    server.drop_file(Some("..evil"), "hidden-user.mp4", &clip);
    server.drop_file(None, "..mov", &clip);

    let v = server.wait_settled("-i.mov");
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["owner"], "admin");
    assert_eq!(v["title"], "-i");
    expect_failed_and_rejected(&server, "-y.mov");

    let reason = server.wait_rejected("clip.mp4");
    assert!(
        reason.contains("-evil") && reason.contains("user name"),
        "{reason}"
    );
    let reason = server.wait_rejected("clip2.mp4");
    assert!(reason.contains("bad user!"), "{reason}");

    assert!(incoming.join("..evil/hidden-user.mp4").is_file());
    assert!(incoming.join("..mov").is_file());
    let owners: Vec<String> = server
        .videos()
        .iter()
        .map(|v| v["owner"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !owners.iter().any(|o| o.contains("evil") || o.contains(' ')),
        "{owners:?}"
    );

    // Nothing was written beside the data dir.
    let mut outside = dir_names(server.dir.path());
    outside.retain(|n| n != "data" && n != "dailies.toml" && n != "server.log");
    assert!(outside.is_empty(), "unexpected files: {outside:?}");

    // Ids that try to climb out are unknown videos, whatever the route.
    for path in [
        "/api/videos/..%2F..%2Fetc",
        "/api/videos/..%2F..%2Fetc%2Fpasswd/media",
        "/api/videos/..%2F..%2Fdailies.db/original",
        "/api/videos/%2E%2E/poster.jpg",
        "/api/videos/..%5C..%5Cetc/sprite.jpg",
    ] {
        let (status, _, _) = server.get_bytes(path, &server.admin_token);
        assert_eq!(status, 404, "{path}");
    }
    server.assert_healthy();
}

#[test]
fn file_still_being_written_is_taken_only_once_complete() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    // MPEG-TS can be read at any length, so a half-written file looks like a (shorter) video.
    let clip = make_clip(
        src.path(),
        "whole.ts",
        2.0,
        "testsrc2=size=320x180:rate=25",
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
    let bytes = std::fs::read(&clip).unwrap();
    let full_size = bytes.len();
    let dir = server.data().join("incoming/alice");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("growing.ts");

    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (done, target) = (done.clone(), target.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(&target).unwrap();
            let chunks = 15;
            let step = bytes.len().div_ceil(chunks);
            for chunk in bytes.chunks(step) {
                f.write_all(chunk).unwrap();
                f.flush().unwrap();
                std::thread::sleep(Duration::from_millis(200));
            }
            drop(f);
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut checks = 0;
    while !done.load(Ordering::SeqCst) {
        let listed = server
            .videos()
            .iter()
            .any(|v| v["original_filename"] == "growing.ts");
        // Checked after the listing: if the writer was still busy then, nothing may be taken.
        if !done.load(Ordering::SeqCst) {
            assert!(!listed, "ingested while still being written");
            assert!(target.exists(), "moved while still being written");
            assert!(server.rejected_names().is_empty());
            checks += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    writer.join().unwrap();
    assert!(checks > 0);
    let v = server.wait_settled("growing.ts");
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["size_bytes"].as_u64(), Some(full_size as u64));
    assert!(server.rejected_names().is_empty());
    server.assert_healthy();
}

#[test]
fn file_deleted_before_ingest_is_forgotten_quietly() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    let dir = server.data().join("incoming/alice");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..5 {
        let p = dir.join(format!("oops-{i}.mp4"));
        std::fs::copy(&clip, &p).unwrap();
        std::thread::sleep(Duration::from_millis(50 * i));
        std::fs::remove_file(&p).unwrap();
    }
    // A later file still goes through, so the watcher carried on.
    let other = make_clip(
        src.path(),
        "after.mp4",
        1.0,
        "testsrc2=size=320x180:rate=25",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
        ],
    );
    server.drop_file(Some("alice"), "after.mp4", &other);
    let v = server.wait_settled("after.mp4");
    assert_eq!(v["status"], "ready", "{v:#}");
    let videos = server.videos();
    assert_eq!(videos.len(), 1, "{videos:#?}");
    assert!(
        server.rejected_names().is_empty(),
        "{:?}",
        server.rejected_names()
    );
    server.assert_healthy();
}

#[test]
fn absurd_resolution_is_rejected_with_a_reason() {
    let server = Server::start("max_pixels = 1000");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    server.drop_file(Some("alice"), "huge.mp4", &clip);
    let (v, reason) = expect_failed_and_rejected(&server, "huge.mp4");
    assert!(reason.contains("resolution"), "{reason}");
    assert!(v["error"].as_str().unwrap().contains("resolution"), "{v:#}");
    server.assert_healthy();
}

#[test]
fn hanging_ffmpeg_is_stopped_and_the_file_rejected() {
    let tools = tempfile::tempdir().unwrap();
    // A unique sleep length marks this test's processes (GNU sleep takes fractions).
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    let marker = format!("1000.{}", u32::from_le_bytes(r) % 1_000_000 + 1);
    let script = tools.path().join("ffmpeg-that-hangs");
    std::fs::write(&script, format!("#!/bin/sh\nsleep {marker}\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let server = Server::start(&format!(
        "ffmpeg = \"{}\"\nffmpeg_timeout_secs = 2\njob_max_attempts = 1\n",
        script.display()
    ));
    let src = tempfile::tempdir().unwrap();
    // Short, so the per-second allowance stays under the configured 2 s minimum.
    let clip = make_clip(
        src.path(),
        "short.mov",
        0.2,
        "testsrc2=size=320x180:rate=25",
        &["-c:v", "mpeg4", "-c:a", "pcm_s16le"],
    );
    server.drop_file(Some("alice"), "short.mov", &clip);
    let (v, reason) = expect_failed_and_rejected(&server, "short.mov");
    let text = format!("{reason} {}", v["error"]).to_lowercase();
    assert!(
        text.contains("longer than") || text.contains("time"),
        "the reason is about time: {reason}"
    );
    server.wait_until("the hung tool to be gone", || {
        processes_mentioning(&marker).is_empty()
            && processes_mentioning(&script.to_string_lossy()).is_empty()
    });
    server.assert_healthy();
}

// ---- ownership and duplicates ----

#[test]
fn same_content_twice_by_one_user_is_one_video_and_a_rejected_duplicate() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    server.drop_file(Some("alice"), "first.mp4", &clip);
    let first = server.wait_settled("first.mp4");
    assert_eq!(first["status"], "ready", "{first:#}");
    server.drop_file(Some("alice"), "again.mp4", &clip);
    let reason = server.wait_rejected("again.mp4");
    assert!(
        reason.contains(first["id"].as_str().unwrap()),
        "the reason names the existing video: {reason}"
    );
    assert_eq!(
        std::fs::read(server.data().join("rejected/again.mp4")).unwrap(),
        std::fs::read(&clip).unwrap()
    );
    let videos = server.videos();
    assert_eq!(videos.len(), 1, "{videos:#?}");
    server.assert_healthy();
}

#[test]
fn same_content_from_two_users_is_two_videos() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    server.drop_file(Some("alice"), "shared.mp4", &clip);
    server.drop_file(Some("bob"), "shared.mp4", &clip);
    let videos = server.wait_videos("both copies ready", |vs| {
        vs.len() == 2 && vs.iter().all(|v| v["status"] == "ready")
    });
    let mut owners: Vec<&str> = videos
        .iter()
        .map(|v| v["owner"].as_str().unwrap())
        .collect();
    owners.sort();
    assert_eq!(owners, ["alice", "bob"]);
    assert_ne!(videos[0]["id"], videos[1]["id"]);
    assert!(server.rejected_names().is_empty());
    server.assert_healthy();
}

#[test]
fn top_level_file_belongs_to_admin_and_a_new_folder_creates_its_user() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    let other = make_clip(
        src.path(),
        "other.mp4",
        1.0,
        "testsrc=size=320x180:rate=25",
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
    server.drop_file(None, "top.mp4", &clip);
    server.drop_file(Some("carol"), "mine.mp4", &other);
    let top = server.wait_settled("top.mp4");
    assert_eq!(top["owner"], "admin");
    assert_eq!(top["status"], "ready", "{top:#}");
    let mine = server.wait_settled("mine.mp4");
    assert_eq!(mine["owner"], "carol");
    assert_eq!(mine["status"], "ready", "{mine:#}");
    // carol exists now: she can get a token and sees only her video.
    let token = server.token_for("carol");
    let (status, body) = server.get("/api/videos", &token);
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body:#}");
    assert_eq!(items[0]["original_filename"], "mine.mp4");
    server.assert_healthy();
}

// ---- processing paths ----

#[test]
fn prores_mov_is_transcoded_to_h264_mp4() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = make_clip(
        src.path(),
        "master.mov",
        1.0,
        "testsrc2=size=320x180:rate=25",
        &["-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le"],
    );
    server.drop_file(Some("alice"), "master.mov", &clip);
    let v = server.wait_settled("master.mov");
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["processing"], "transcode");
    assert_eq!(v["video_codec"], "h264");
    let (status, ctype, body) =
        server.get_bytes(v["media_url"].as_str().unwrap(), &server.admin_token);
    assert_eq!(status, 200);
    assert_eq!(ctype, "video/mp4");
    let out = src.path().join("downloaded.mp4");
    std::fs::write(&out, &body).unwrap();
    let probe = ffprobe_json(&out);
    let streams = probe["streams"].as_array().unwrap();
    assert!(
        streams
            .iter()
            .any(|s| s["codec_type"] == "video" && s["codec_name"] == "h264"),
        "{probe:#}"
    );
    assert!(
        streams
            .iter()
            .any(|s| s["codec_type"] == "audio" && s["codec_name"] == "aac"),
        "{probe:#}"
    );
    // The original is still the ProRes file.
    let (status, _, original) =
        server.get_bytes(v["original_url"].as_str().unwrap(), &server.admin_token);
    assert_eq!(status, 200);
    assert_eq!(original, std::fs::read(&clip).unwrap());
    server.assert_healthy();
}

#[test]
fn same_content_dropped_twice_at_once_is_still_one_video() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    // Both appear in the same scan, so they are hashed side by side and race to register.
    let dir = server.data().join("incoming/alice");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&clip, src.path().join("a.mp4")).unwrap();
    std::fs::copy(&clip, src.path().join("b.mp4")).unwrap();
    std::fs::rename(src.path().join("a.mp4"), dir.join("a.mp4")).unwrap();
    std::fs::rename(src.path().join("b.mp4"), dir.join("b.mp4")).unwrap();
    server.wait_until("one of the two to be rejected", || {
        server.rejected_names().len() == 2
    });
    let videos = server.wait_videos("the other to be ready", |vs| {
        vs.len() == 1 && vs[0]["status"] == "ready"
    });
    let kept = videos[0]["original_filename"].as_str().unwrap();
    let dropped = if kept == "a.mp4" { "b.mp4" } else { "a.mp4" };
    let reason = server.wait_rejected(dropped);
    assert!(
        reason.contains(videos[0]["id"].as_str().unwrap()),
        "{reason}"
    );
    assert!(dir_names(&dir).is_empty(), "{:?}", dir_names(&dir));
    server.assert_healthy();
}

#[test]
fn symlink_is_rejected_and_its_target_left_alone() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    let dir = server.data().join("incoming/alice");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&clip, dir.join("link.mp4")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd.mp4")).unwrap();
    for name in ["link.mp4", "passwd.mp4"] {
        let reason = server.wait_rejected(name);
        assert!(reason.contains("Symbolic link"), "{reason}");
    }
    assert!(server.videos().is_empty());
    assert!(clip.is_file(), "the link's target is not touched");
    assert!(
        std::fs::symlink_metadata(server.data().join("rejected/link.mp4"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself was moved, not what it points to"
    );
    server.assert_healthy();
}

/// NFS and Samba mounts send no change events: periodic rescans alone must find the file.
#[test]
fn files_are_found_without_change_events() {
    let server = Server::start("watch_events = false");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "nfs.mp4");
    server.drop_file(Some("erin"), "nfs.mp4", &clip);
    let v = server.wait_settled("nfs.mp4");
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["owner"], "erin");
}
