//! Crash safety: whatever moment the server dies at (SIGKILL mid-transcode, SIGTERM, or between
//! placing a file and committing its row), the next start ends with exactly one ready video per
//! file, no orphaned folders, no rows pointing at missing files, and no tool left running.

mod common;

use common::*;
use serde_json::Value;

const LONG: &str = "long take.mov";

/// Drops a long source for alice and waits until its transcode is visibly under way.
fn start_long_transcode(server: &Server, src: &std::path::Path) -> String {
    let clip = slow_source(src, "long.mov", 8.0);
    server.drop_file(Some("alice"), LONG, &clip);
    let list = server.wait_videos("the transcode to make progress", |vs| {
        vs.iter().any(|v| {
            v["original_filename"] == LONG
                && v["status"] == "processing"
                && v["progress"].as_f64().is_some_and(|p| p > 0.0)
        })
    });
    list.iter()
        .find(|v| v["original_filename"] == LONG)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The state every crash must end in: one ready row for the file, its one `process` job done,
/// every folder in `media/` belonging to a listed video, and every ready video's files served.
fn assert_consistent_and_ready(server: &Server, id: &str) {
    let v = server.wait_settled(LONG);
    assert_eq!(v["status"], "ready", "{v:#}\nlog:\n{}", server.log_text());
    assert_eq!(v["id"], id, "the same video, not a new one");
    assert_eq!(v["processing"], "transcode");
    let videos = server.videos();
    let rows: Vec<&Value> = videos
        .iter()
        .filter(|v| v["original_filename"] == LONG)
        .collect();
    assert_eq!(rows.len(), 1, "{videos:#?}");
    let jobs = server.sql(&format!(
        "SELECT kind || ':' || state FROM jobs WHERE video_id = '{id}' AND kind = 'process'"
    ));
    assert_eq!(jobs, "process:done", "exactly one process job, done");
    assert_no_orphans(server);
}

fn assert_no_orphans(server: &Server) {
    let videos = server.videos();
    let ids: Vec<&str> = videos.iter().map(|v| v["id"].as_str().unwrap()).collect();
    for dir in server.media_dirs() {
        assert!(
            ids.contains(&dir.as_str()),
            "media/{dir} has no video row; videos: {ids:?}"
        );
    }
    for v in videos.iter().filter(|v| v["status"] == "ready") {
        for key in ["media_url", "poster_url", "sprite_url", "original_url"] {
            let url = v[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} missing: {v:#}"));
            let (status, _, body) = server.get_bytes(url, &server.admin_token);
            assert_eq!(status, 200, "{url}");
            assert!(!body.is_empty(), "{url}");
        }
        let id = v["id"].as_str().unwrap();
        let leftovers: Vec<String> = dir_names(&server.data().join("media").join(id))
            .into_iter()
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}

#[test]
fn sigkill_during_transcode_finishes_once_after_restart() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    let mut server = Server::start(&format!(
        "process_concurrency = 1\nffmpeg = \"{}\"",
        ffmpeg.display()
    ));
    let src = tempfile::tempdir().unwrap();
    let id = start_long_transcode(&server, src.path());
    server.kill9();
    server.spawn();
    assert_consistent_and_ready(&server, &id);
    server.assert_healthy();
}

#[test]
fn sigterm_during_transcode_stops_tools_and_resumes_on_restart() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    let mut server = Server::start(&format!(
        "process_concurrency = 1\nffmpeg = \"{}\"",
        ffmpeg.display()
    ));
    let src = tempfile::tempdir().unwrap();
    let id = start_long_transcode(&server, src.path());
    assert!(
        !server.tool_processes().is_empty(),
        "ffmpeg should be running on the data dir"
    );
    let status = server.terminate_guarded();
    assert!(status.success(), "exit after SIGTERM: {status}");
    let left = server.tool_processes();
    assert!(left.is_empty(), "tools still running after exit: {left:#?}");
    // The job was handed back, not counted as a failure (or, on a busy machine, its last
    // step finished before the signal arrived).
    let jobs = server.sql(&format!(
        "SELECT state || ':' || COALESCE(error, '') FROM jobs WHERE video_id = '{id}' AND kind = 'process'"
    ));
    assert!(
        jobs == "queued:" || jobs == "done:",
        "the job is queued again for the next start, not failed: {jobs}"
    );
    server.spawn();
    assert_consistent_and_ready(&server, &id);
    server.assert_healthy();
}

#[test]
fn interrupted_registration_is_completed_and_strays_are_trashed_at_start() {
    use dailies::ingest::register::{INGEST_RECORD, IngestRecord};

    let mut server = Server::start("recovery_quiet_secs = 0.0");
    let admin_id = server.sql("SELECT id FROM users WHERE name = 'admin'");
    assert!(!admin_id.is_empty());
    // An unrelated video, ready before the crash, must survive the recovery untouched.
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    server.drop_file(Some("alice"), "before.mp4", &clip);
    let before = server.wait_settled("before.mp4");
    assert_eq!(before["status"], "ready", "{before:#}");
    server.kill9();

    // 1. The crash hit after the file and its ingest.json were placed, before the commit.
    let other = make_clip(
        src.path(),
        "placed.mp4",
        1.0,
        "testsrc=size=320x180:rate=25",
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
    let placed_id = dailies::ids::new_id();
    let placed_dir = server.data().join("media").join(&placed_id);
    std::fs::create_dir_all(&placed_dir).unwrap();
    std::fs::copy(&other, placed_dir.join("original.mp4")).unwrap();
    let hashes = dailies::ingest::hashing::hash_file(&other, None).unwrap();
    let record = IngestRecord {
        id: placed_id.clone(),
        owner_id: admin_id.clone(),
        original_filename: "Placed before the crash.mp4".into(),
        original_file: "original.mp4".into(),
        source: "drop".into(),
        sha256: hashes.sha256,
        blake3: hashes.blake3,
        size: hashes.size,
        raw_video: None,
    };
    std::fs::write(
        placed_dir.join(INGEST_RECORD),
        serde_json::to_vec_pretty(&record).unwrap(),
    )
    .unwrap();

    // 2. A folder that never got its record (crash while placing): not a video, goes to trash.
    let stray_id = dailies::ids::new_id();
    let stray_dir = server.data().join("media").join(&stray_id);
    std::fs::create_dir_all(&stray_dir).unwrap();
    std::fs::write(stray_dir.join("original.mov"), b"half a file").unwrap();

    // 3. A record whose original is missing: cannot be completed, goes to trash.
    let hollow_id = dailies::ids::new_id();
    let hollow_dir = server.data().join("media").join(&hollow_id);
    std::fs::create_dir_all(&hollow_dir).unwrap();
    let hollow = IngestRecord {
        id: hollow_id.clone(),
        original_filename: "never arrived.mp4".into(),
        ..record.clone()
    };
    std::fs::write(
        hollow_dir.join(INGEST_RECORD),
        serde_json::to_vec_pretty(&hollow).unwrap(),
    )
    .unwrap();

    server.spawn();
    let v = server.wait_settled("Placed before the crash.mp4");
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["id"], placed_id.as_str());
    assert_eq!(v["owner"], "admin");
    assert_eq!(v["title"], "Placed before the crash");

    for gone in [&stray_id, &hollow_id] {
        assert!(!server.data().join("media").join(gone).exists(), "{gone}");
        assert!(server.data().join("trash").join(gone).is_dir(), "{gone}");
    }
    let videos = server.videos();
    assert_eq!(videos.len(), 2, "{videos:#?}");
    assert!(
        videos
            .iter()
            .any(|v| v["id"] == before["id"] && v["status"] == "ready")
    );
    assert_no_orphans(&server);
    let jobs = server.sql(&format!(
        "SELECT state FROM jobs WHERE video_id = '{placed_id}' AND kind = 'process'"
    ));
    assert_eq!(jobs, "done");
    server.assert_healthy();
}
