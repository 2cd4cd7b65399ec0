//! Uploads that lose their client or their server at the worst moment: a client that goes
//! silent mid-PATCH and comes back, a server killed in the middle of a long PATCH or between
//! the last byte and the video, bytes that are not the file the client described, and limits
//! that deferred lengths and concatenation must not get around.

mod common;
mod tus_common;

use std::time::{Duration, Instant};

use common::*;
use tus_common::*;

/// The upload's recorded offset, from `GET /api/uploads/{id}` (which never waits for a writer).
fn recorded_offset(url: &str, token: &str) -> u64 {
    let r = upload_json(url, token);
    assert_eq!(r.status, 200, "{r}");
    r.json()["offset"].as_u64().unwrap()
}

#[test]
fn a_client_that_went_silent_gets_its_upload_back_when_it_returns() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("lid-closed.mp4");
    let n = c.bytes.len();
    let url = create(
        &server,
        &alice,
        n as u64,
        &metadata(&[("filename", "lid-closed.mp4")]),
    );
    // Half the file arrives, then the connection stays open with nothing more on it.
    let half = n / 2;
    let stale = silent_patch(&server, &url, &alice, 0, &c.bytes, half, &[]);

    // The client wakes up on a new connection and asks where to resume: the silent request
    // lets go, and the bytes it received count.
    // (The server may not have read the silent request yet: ask until it has.)
    let deadline = Instant::now() + PATIENCE;
    loop {
        let h = head(&url, &alice);
        assert_eq!(h.status, 200, "{h}");
        if h.num("Upload-Offset") == half as u64 {
            break;
        }
        assert_eq!(h.num("Upload-Offset"), 0, "{h}");
        assert!(Instant::now() < deadline, "the silent request never let go");
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = patch(&url, &alice, half as u64, &c.bytes[half..]);
    assert_eq!(r.status, 204, "{r}");
    drop(stale);
    assert_ready_with_original(&server, &alice, &video_id_of(&r), &c.bytes);
}

#[test]
fn a_server_killed_mid_patch_resumes_from_its_last_checkpoint() {
    let mut server = Server::start("");
    let alice = server.user_token("alice", false);
    // Larger than one checkpoint (64 MiB), so part of a single long PATCH is made durable.
    let data: Vec<u8> = (0..160u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let url = create(
        &server,
        &alice,
        data.len() as u64,
        &metadata(&[("filename", "long.bin")]),
    );
    let sent = 100 << 20;
    let stream = silent_patch(&server, &url, &alice, 0, &data, sent, &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while recorded_offset(&url, &alice) < 64 << 20 {
        assert!(Instant::now() < deadline, "no checkpoint was recorded");
        std::thread::sleep(Duration::from_millis(200));
    }
    server.kill9();
    drop(stream);
    server.spawn();

    let h = head(&url, &alice);
    let resumed = h.num("Upload-Offset") as usize;
    assert!(
        resumed >= 64 << 20 && resumed <= sent,
        "resumed at {resumed} after {sent} bytes were sent: {h}"
    );
    let r = patch(&url, &alice, resumed as u64, &data[resumed..]);
    assert_eq!(r.status, 204, "{r}");
    let video = video_id_of(&r);
    assert_eq!(
        server.sql(&format!("SELECT sha256 FROM videos WHERE id = '{video}'")),
        sha256_hex(&data),
        "the file assembled across the crash differs from what was sent"
    );
}

#[test]
fn an_upload_interrupted_between_its_last_byte_and_its_video_is_finished_after_a_restart() {
    let mut server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("almost.mp4");
    let n = c.bytes.len();
    let url = create(
        &server,
        &alice,
        n as u64,
        &metadata(&[("filename", "almost.mp4")]),
    );
    assert_eq!(patch(&url, &alice, 0, &c.bytes[..n - 1]).status, 204);
    server.terminate();
    // The state a crash right after the last byte was recorded leaves behind: every byte on
    // disk and in the offset, no video yet.
    let id = upload_id(&url);
    let part = server.data().join("uploads").join(format!("{id}.part"));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&part)
        .unwrap();
    std::io::Write::write_all(&mut f, &c.bytes[n - 1..]).unwrap();
    drop(f);
    server.sql(&format!(
        "UPDATE uploads SET offset_bytes = {n} WHERE id = '{id}'"
    ));
    server.spawn();

    // Nobody asks about the upload, yet it becomes a video.
    let videos = server.wait_videos("the interrupted upload's video", |v| v.len() == 1);
    let video = videos[0]["id"].as_str().unwrap().to_owned();
    assert_ready_with_original(&server, &alice, &video, &c.bytes);
    let h = head(&url, &alice);
    assert_eq!(h.header("Dailies-Video-Id"), Some(video.as_str()), "{h}");
}

#[test]
fn an_upload_whose_file_already_became_a_video_is_matched_to_it_after_a_restart() {
    let mut server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("twice.mp4");
    let n = c.bytes.len();
    let first = create(
        &server,
        &alice,
        n as u64,
        &metadata(&[("filename", "a.mp4")]),
    );
    let r = patch(&first, &alice, 0, &c.bytes);
    let video = video_id_of(&r);

    // A second upload of the same content got every byte; the server moved its file away and
    // stopped before recording which video it became.
    let second = create(
        &server,
        &alice,
        n as u64,
        &metadata(&[("filename", "b.mp4")]),
    );
    assert_eq!(patch(&second, &alice, 0, &c.bytes[..n / 2]).status, 204);
    server.terminate();
    let id = upload_id(&second);
    std::fs::remove_file(server.data().join("uploads").join(format!("{id}.part"))).unwrap();
    server.sql(&format!(
        "UPDATE uploads SET offset_bytes = {n}, content_sha256 = '{}' WHERE id = '{id}'",
        sha256_hex(&c.bytes)
    ));
    server.spawn();

    let h = head(&second, &alice);
    assert_eq!(h.status, 200, "{h}");
    assert_eq!(h.num("Upload-Offset"), n as u64, "{h}");
    assert_eq!(h.header("Dailies-Video-Id"), Some(video.as_str()), "{h}");
    assert_eq!(server.videos().len(), 1);
}

#[test]
fn bytes_that_are_not_the_promised_file_are_refused_and_discarded() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("promised.mp4");
    let other = sha256_hex(b"some other file");
    let url = create(
        &server,
        &alice,
        c.bytes.len() as u64,
        &metadata(&[("filename", "promised.mp4"), ("sha256", &other)]),
    );
    let r = patch(&url, &alice, 0, &c.bytes);
    assert_eq!(r.status, 460, "{r}");
    let msg = r.json()["error"].as_str().unwrap().to_owned();
    assert!(msg.contains(&other) && msg.contains("again"), "{msg}");
    assert_eq!(head(&url, &alice).status, 404);
    assert!(server.videos().is_empty());
    let left = dir_names(&server.data().join("uploads"));
    assert!(left.is_empty(), "bytes left behind: {left:?}");
}

#[test]
fn a_deferred_length_cannot_get_around_the_size_limit() {
    let server = Server::start("max_upload_bytes = 1000");
    let t = server.admin_token.clone();
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&t),
        &[TUS, ("Upload-Defer-Length", "1")],
        Body::None,
    );
    assert_eq!(r.status, 201, "{r}");
    let url = upload_url(&server, r.must("Location"));
    // More than the limit, with the length still unknown: refused, nothing past the limit kept.
    let r = patch(&url, &t, 0, &[7u8; 1500]);
    assert_eq!(r.status, 413, "{r}");
    assert!(head(&url, &t).num("Upload-Offset") <= 1000);
    // The same without Content-Length (a chunked body): cut where the limit is reached.
    let r = request(
        "PATCH",
        &url,
        Some(&t),
        &[TUS, OCTETS, ("Upload-Offset", "0")],
        Body::Reader(Box::new(std::io::Cursor::new(vec![7u8; 1500]))),
    );
    assert_eq!(r.status, 413, "{r}");
    let kept = head(&url, &t).num("Upload-Offset");
    assert!(kept <= 1000, "{kept} bytes kept past a limit of 1000");
    // Announcing a length over the limit later is refused the same way.
    let at = head(&url, &t).num("Upload-Offset");
    let r = patch_with(&url, &t, at, &[], &[("Upload-Length", "5000")]);
    assert_eq!(r.status, 413, "{r}");
    assert_eq!(head(&url, &t).header("Upload-Defer-Length"), Some("1"));
}

#[test]
fn partial_uploads_count_in_the_quota_until_their_final_upload_replaces_them() {
    let c = clip("parts.mp4");
    let n = c.bytes.len();
    let server = Server::start(&format!("user_quota_bytes = {}", n * 3 / 2));
    let t = server.admin_token.clone();
    let half = n / 2;
    let mut parts = Vec::new();
    for (from, to) in [(0, half), (half, n)] {
        let len = (to - from).to_string();
        let r = request(
            "POST",
            &endpoint(&server),
            Some(&t),
            &[TUS, ("Upload-Length", &len), ("Upload-Concat", "partial")],
            Body::None,
        );
        assert_eq!(r.status, 201, "{r}");
        let url = upload_url(&server, r.must("Location"));
        assert_eq!(patch(&url, &t, 0, &c.bytes[from..to]).status, 204);
        parts.push(url);
    }
    // The complete parts hold n bytes of a quota of 1.5 n: another n is refused.
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&t),
        &[TUS, ("Upload-Length", &n.to_string())],
        Body::None,
    );
    assert_eq!(r.status, 413, "{r}");

    let paths: Vec<String> = parts
        .iter()
        .map(|u| u.strip_prefix(&server.base).unwrap().to_owned())
        .collect();
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&t),
        &[
            TUS,
            ("Upload-Concat", &format!("final;{}", paths.join(" "))),
            ("Upload-Metadata", &metadata(&[("filename", "parts.mp4")])),
        ],
        Body::None,
    );
    assert_eq!(r.status, 201, "{r}");
    assert_ready_with_original(&server, &t, &video_id_of(&r), &c.bytes);
    for p in &parts {
        assert_eq!(head(p, &t).status, 404, "a part outlived its final upload");
    }
    let left = dir_names(&server.data().join("uploads"));
    assert!(left.is_empty(), "bytes left behind: {left:?}");
}
