//! Thumbnail requests: by count, interval or timestamps, at a chosen width; each image served
//! behind the video's checks; refusals that say why; live status through the jobs API and events.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn wait_ready(server: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, s) = server.get(&format!("/api/thumbnails/{id}"), token);
        assert_eq!(status, 200, "{s}");
        if s["state"] == "ready" {
            return s;
        }
        assert!(s["state"] == "queued" && Instant::now() < deadline, "{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn thumbnails_by_count_interval_and_timestamps_are_served_to_their_owner_only() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(
        dir.path(),
        "frames.mp4",
        4.0,
        "testsrc2=size=640x360:rate=25",
        H264_AAC,
    );
    server.drop_file(Some("alice"), "frames.mp4", &clip);
    let video = server.wait_settled("frames.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/videos/{video}/thumbnails");

    for (body, count) in [
        (r#"{"count": 4, "width": 160}"#, 4),
        (r#"{"interval_s": 1.5}"#, 3),
        (r#"{"timestamps": [0, 2.25, 4.0], "width": 97}"#, 3),
    ] {
        let (status, created) = server.post_json(&path, &alice, body);
        assert_eq!(status, 201, "{body}: {created}");
        let set = wait_ready(&server, &alice, created["id"].as_str().unwrap());
        let images = set["images"].as_array().unwrap();
        assert_eq!(images.len(), count, "{body}: {set}");
        for img in images {
            let url = img["url"].as_str().unwrap();
            let (status, ctype, bytes) = server.get_bytes(url, &alice);
            assert_eq!(status, 200, "{url}");
            assert_eq!(ctype, "image/jpeg");
            let file = dir.path().join("t.jpg");
            std::fs::write(&file, &bytes).unwrap();
            let probe = ffprobe_json(&file);
            let width = probe["streams"][0]["width"].as_u64().unwrap();
            assert_eq!(width, set["width"].as_u64().unwrap(), "{body}");
            assert_eq!(server.get_bytes(url, &bob).0, 404, "bob sees no image");
        }
    }
    let (_, list) = server.get(&path, &alice);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let (_, jobs) = server.get("/api/jobs?kind=thumbnails&state=done", &alice);
    assert_eq!(jobs["items"].as_array().unwrap().len(), 3);

    // Refusals say why; nothing is queued for them.
    for body in [
        r#"{}"#,
        r#"{"count": 2, "interval_s": 1}"#,
        r#"{"count": 0}"#,
        r#"{"count": 100000}"#,
        r#"{"interval_s": 0}"#,
        r#"{"timestamps": [-1]}"#,
        r#"{"timestamps": [60]}"#,
        r#"{"count": 2, "width": 99999}"#,
        r#"{"count": 2, "format": "png"}"#,
    ] {
        let (status, answer) = server.post_json(&path, &alice, body);
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.len() > 8),
            "{answer}"
        );
    }
    let (_, after) = server.get("/api/jobs?kind=thumbnails", &alice);
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        3,
        "refusals queue nothing"
    );
    assert_eq!(server.post_json(&path, &bob, r#"{"count": 1}"#).0, 404);
    let first = list["items"][0]["id"].as_str().unwrap();
    assert_eq!(server.get(&format!("/api/thumbnails/{first}"), &bob).0, 404);
    for name in ["../../original.mp4", "9999.jpg", "0001.png"] {
        let (status, _, _) = server.get_bytes(&format!("/api/thumbnails/{first}/{name}"), &alice);
        assert_eq!(status, 404, "{name}");
    }
}

#[test]
fn a_deleted_video_with_requests_is_purged_from_the_trash_with_them() {
    let mut server = Server::start("");
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(
        dir.path(),
        "gone.mp4",
        2.0,
        "testsrc2=size=320x240:rate=25",
        H264_AAC,
    );
    server.drop_file(Some("alice"), "gone.mp4", &clip);
    let video = server.wait_settled("gone.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, set) = server.post_json(
        &format!("/api/videos/{video}/thumbnails"),
        &alice,
        r#"{"count": 2}"#,
    );
    assert_eq!(status, 201, "{set}");
    wait_ready(&server, &alice, set["id"].as_str().unwrap());
    let (status, enc) = server.post_json(
        &format!("/api/videos/{video}/encodes"),
        &alice,
        r#"{"codec":"h264","preset":"ultrafast","max_height":120}"#,
    );
    assert_eq!(status, 201, "{enc}");
    let res = ureq::delete(&format!("{}/api/videos/{video}", server.base))
        .header("Authorization", &format!("Bearer {alice}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    server.kill9();
    server.extra_config = "trash_retention_days = 0.0".into();
    server.spawn();
    server.wait_until("the trash to be purged", || {
        server.sql(&format!("SELECT COUNT(*) FROM videos WHERE id = '{video}'")) == "0"
    });
    for table in ["encodes", "thumbnail_sets", "jobs"] {
        assert_eq!(
            server.sql(&format!(
                "SELECT COUNT(*) FROM {table} WHERE video_id = '{video}'"
            )),
            "0",
            "{table}"
        );
    }
    assert!(!server.data().join("trash").join(&video).exists());
}
