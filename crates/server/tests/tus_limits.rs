//! Upload limits that answer before the bytes (quota, raw-video size), malformed headers and
//! bodies, deduplication of an upload that skipped the check, and the purge of expired uploads.

mod common;
mod tus_common;

use common::*;
use serde_json::json;
use tus_common::*;

fn post(server: &Server, token: &str, headers: &[(&str, &str)]) -> Resp {
    let mut h = vec![TUS];
    h.extend_from_slice(headers);
    request("POST", &endpoint(server), Some(token), &h, Body::None)
}

#[test]
fn quota_counts_videos_and_unfinished_uploads() {
    let server = Server::start("user_quota_bytes = 1000000");
    let t = server.admin_token.clone();
    let first = post(&server, &t, &[("Upload-Length", "600000")]);
    assert_eq!(first.status, 201, "{first}");
    let second = post(&server, &t, &[("Upload-Length", "600000")]);
    assert_eq!(second.status, 413, "{second}");
    assert!(
        second.json()["error"].as_str().unwrap().contains("quota"),
        "{second}"
    );
    // Another user has a quota of their own.
    let bob = server.user_token("bob", false);
    assert_eq!(
        post(&server, &bob, &[("Upload-Length", "600000")]).status,
        201
    );
    // The check endpoint says the same before anything is created.
    let r = request(
        "POST",
        &format!("{}/api/uploads/check", server.base),
        Some(&t),
        &[("Content-Type", "application/json")],
        Body::Bytes(
            json!({"sha256": "a".repeat(64), "size": 600000, "filename": "x.mov"})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(r.status, 413, "{r}");
}

#[test]
fn raw_video_has_its_own_larger_limit() {
    let server = Server::start("max_upload_bytes = 1000\nmax_raw_upload_bytes = 100000");
    let t = server.admin_token.clone();
    let big = "50000";
    let mov = post(
        &server,
        &t,
        &[
            ("Upload-Length", big),
            ("Upload-Metadata", &metadata(&[("filename", "clip.mov")])),
        ],
    );
    assert_eq!(mov.status, 413, "{mov}");
    let y4m = post(
        &server,
        &t,
        &[
            ("Upload-Length", big),
            ("Upload-Metadata", &metadata(&[("filename", "clip.y4m")])),
        ],
    );
    assert_eq!(y4m.status, 201, "{y4m}");
    let yuv = post(
        &server,
        &t,
        &[
            ("Upload-Length", "200000"),
            ("Upload-Metadata", &metadata(&[("filename", "clip.yuv")])),
        ],
    );
    assert_eq!(yuv.status, 413, "{yuv}");
}

#[test]
fn malformed_creation_headers_are_400_with_a_reason() {
    let server = Server::start("");
    let t = server.admin_token.clone();
    let cases: &[&[(&str, &str)]] = &[
        &[],                                                      // no length at all
        &[("Upload-Length", "10"), ("Upload-Defer-Length", "1")], // both
        &[("Upload-Defer-Length", "2")],
        &[("Upload-Length", "-5")],
        &[("Upload-Length", "ten")],
        &[("Upload-Length", "99999999999999999999999")],
        &[("Upload-Length", "0")],
        &[
            ("Upload-Length", "10"),
            ("Upload-Metadata", "filename !!!notbase64"),
        ],
        &[
            ("Upload-Length", "10"),
            ("Upload-Metadata", "filename YQ==,filename YQ=="),
        ],
        &[("Upload-Length", "10"), ("Upload-Metadata", "sha256 YWJj")],
        &[("Upload-Length", "10"), ("Upload-Concat", "sideways")],
        &[("Upload-Concat", "final;/api/uploads/0000000000000000")],
    ];
    for headers in cases {
        let r = post(&server, &t, headers);
        assert!(r.status == 400 || r.status == 404, "{headers:?}: {r}");
        assert!(r.json()["error"].is_string(), "{headers:?}: {r}");
    }
    server.assert_healthy();
}

#[test]
fn malformed_patch_headers_are_refused_and_change_nothing() {
    let server = Server::start("");
    let t = server.admin_token.clone();
    let url = create(&server, &t, 100, "");
    for (headers, want) in [
        (
            vec![TUS, ("Content-Type", "application/offset+octet-stream")],
            400,
        ), // no offset
        (
            vec![
                TUS,
                ("Content-Type", "application/offset+octet-stream"),
                ("Upload-Offset", "x"),
            ],
            400,
        ),
        (
            vec![
                TUS,
                ("Content-Type", "application/offset+octet-stream"),
                ("Upload-Offset", "0"),
                ("Upload-Checksum", "md5 AAAA"),
            ],
            400,
        ),
        (
            vec![
                TUS,
                ("Content-Type", "application/offset+octet-stream"),
                ("Upload-Offset", "0"),
                ("Upload-Checksum", "sha1"),
            ],
            400,
        ),
        (
            vec![
                TUS,
                ("Content-Type", "application/offset+octet-stream"),
                ("Upload-Offset", "0"),
                ("Upload-Length", "50"),
            ],
            400,
        ),
    ] {
        let r = request(
            "PATCH",
            &url,
            Some(&t),
            &headers,
            Body::Bytes(vec![1u8; 10]),
        );
        assert_eq!(r.status, want, "{headers:?}: {r}");
    }
    assert_eq!(head(&url, &t).num("Upload-Offset"), 0);
}

#[test]
fn check_rejects_malformed_requests() {
    let server = Server::start("");
    let url = format!("{}/api/uploads/check", server.base);
    let t = server.admin_token.clone();
    let json_h = [("Content-Type", "application/json")];
    for (body, want) in [
        ("not json", 400),
        (r#"{"sha256": "xyz", "size": 1, "filename": "a"}"#, 422),
        (r#"{"sha256": 5, "size": 1, "filename": "a"}"#, 422),
        (r#"{"size": 1, "filename": "a"}"#, 422),
        (r#"{"sha256": "aa", "size": -1, "filename": "a"}"#, 422),
    ] {
        let r = request(
            "POST",
            &url,
            Some(&t),
            &json_h,
            Body::Bytes(body.as_bytes().to_vec()),
        );
        assert_eq!(r.status, want, "{body}: {r}");
    }
    let anon = request("POST", &url, None, &json_h, Body::Bytes(b"{}".to_vec()));
    assert_eq!(anon.status, 401);
}

#[test]
fn an_upload_that_skipped_the_check_is_deduplicated_after_it_arrives() {
    let server = Server::start("");
    let t = server.admin_token.clone();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(playable_mp4(dir.path(), "a.mp4")).unwrap();
    let first = create(
        &server,
        &t,
        bytes.len() as u64,
        &metadata(&[("filename", "a.mp4")]),
    );
    let r1 = patch(&first, &t, 0, &bytes);
    assert_eq!(r1.status, 204, "{r1}");
    let second = create(
        &server,
        &t,
        bytes.len() as u64,
        &metadata(&[("filename", "again.mp4")]),
    );
    let r2 = patch(&second, &t, 0, &bytes);
    assert_eq!(r2.status, 204, "{r2}");
    assert_eq!(
        r1.must("Dailies-Video-Id"),
        r2.must("Dailies-Video-Id"),
        "the same video"
    );
    let list = server.videos();
    assert_eq!(list.len(), 1, "{list:#?}");
    // The duplicate's bytes are gone from uploads/.
    let left: Vec<_> = std::fs::read_dir(server.data().join("uploads"))
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn expired_uploads_are_purged() {
    let mut server = Server::start("upload_expiry_secs = 1.0");
    let t = server.admin_token.clone();
    let url = create(&server, &t, 1000, "");
    assert_eq!(patch(&url, &t, 0, &[7u8; 100]).status, 204);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(head(&url, &t).status, 410, "expired but not yet purged");
    // The maintenance pass at start-up (and every few minutes) removes bytes and record.
    server.kill9();
    server.spawn();
    server.wait_until("the expired upload to be purged", || {
        std::fs::read_dir(server.data().join("uploads"))
            .unwrap()
            .next()
            .is_none()
    });
    assert_eq!(head(&url, &t).status, 404);
}

#[test]
fn an_upload_longer_than_the_duration_limit_is_refused_at_probe_with_a_reason() {
    let server = Server::start("max_duration_s = 1.0");
    let t = server.admin_token.clone();
    let c = clip("too-long.mp4");
    let url = create(
        &server,
        &t,
        c.bytes.len() as u64,
        &metadata(&[("filename", "too-long.mp4")]),
    );
    let r = patch(&url, &t, 0, &c.bytes);
    assert_eq!(r.status, 204, "{r}");
    let v = wait_video(&server, &t, &video_id_of(&r));
    assert_eq!(v["status"], "failed", "{v:#}");
    let reason = v["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("accepts videos up to 1 s"),
        "the reason should name the limit: {reason}"
    );
    // The original is put aside with the reason beside it, as for the drop folder.
    let text = server.wait_rejected("too-long.mp4");
    assert!(text.contains("accepts videos up to 1 s"), "{text}");
}
