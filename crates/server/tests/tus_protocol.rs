//! The tus 1.0 upload endpoint (`/api/uploads/`) spoken in raw HTTP: every status the contract
//! names, each extension (creation, creation-with-upload, creation-defer-length, termination,
//! checksum, expiration, concatenation), isolation between users, racing PATCHes, and the
//! `POST /api/uploads/check` pre-flight. Real clients are in `tus_clients.rs`.

mod common;
mod tus_common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tus_common::*;

fn upload_path(server: &Server, url: &str) -> String {
    url.strip_prefix(&server.base).unwrap_or(url).to_owned()
}

/// PATCHes `data` from `start` in `n` requests, asserting each answer; returns the last response.
fn patch_all(url: &str, token: &str, data: &[u8], start: usize, n: usize) -> Resp {
    let step = (data.len() - start).div_ceil(n);
    let mut offset = start;
    let mut last = None;
    while offset < data.len() {
        let end = (offset + step).min(data.len());
        let r = patch(url, token, offset as u64, &data[offset..end]);
        assert_eq!(r.status, 204, "PATCH at {offset}: {r}");
        assert_eq!(r.num("Upload-Offset"), end as u64, "{r}");
        assert_eq!(r.header("Tus-Resumable"), Some("1.0.0"), "{r}");
        if end < data.len() {
            assert_eq!(
                r.header("Dailies-Video-Id"),
                None,
                "video before the end: {r}"
            );
        }
        offset = end;
        last = Some(r);
    }
    last.unwrap()
}

#[test]
fn encoders_match_known_answers() {
    assert_eq!(b64(b""), "");
    assert_eq!(b64(b"f"), "Zg==");
    assert_eq!(b64(b"fo"), "Zm8=");
    assert_eq!(b64(b"foo"), "Zm9v");
    assert_eq!(b64(b"foobar"), "Zm9vYmFy");
    assert_eq!(
        hex::encode(sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex::encode(sha1(b"")),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
    assert_eq!(
        hex::encode(sha1(&[b'a'; 1000])),
        "291e9a6c66994949b57ba5e650361e98fc36b1ba"
    );
}

#[test]
fn options_advertises_the_protocol_without_a_token() {
    let server = Server::start("max_upload_bytes = 5000000\nmax_raw_upload_bytes = 5000000");
    for url in [endpoint(&server), format!("{}/api/uploads", server.base)] {
        let r = request("OPTIONS", &url, None, &[], Body::None);
        assert!(r.status == 200 || r.status == 204, "OPTIONS {url}: {r}");
        assert_eq!(r.header("Tus-Resumable"), Some("1.0.0"), "{r}");
        assert!(
            r.must("Tus-Version")
                .split(',')
                .any(|v| v.trim() == "1.0.0"),
            "{r}"
        );
        let ext: Vec<&str> = r.must("Tus-Extension").split(',').map(str::trim).collect();
        for e in [
            "creation",
            "creation-with-upload",
            "creation-defer-length",
            "termination",
            "checksum",
            "expiration",
            "concatenation",
        ] {
            assert!(ext.contains(&e), "Tus-Extension lacks {e}: {r}");
        }
        let algos: Vec<&str> = r
            .must("Tus-Checksum-Algorithm")
            .split(',')
            .map(str::trim)
            .collect();
        assert!(algos.contains(&"sha1") && algos.contains(&"sha256"), "{r}");
        assert_eq!(r.num("Tus-Max-Size"), 5_000_000, "{r}");
    }
}

#[test]
fn creation_answers_with_a_location_and_head_describes_the_upload() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let meta = metadata(&[("filename", "scène 1.mov"), ("filetype", "video/quicktime")]);
    // Both spellings of the endpoint create.
    for ep in [endpoint(&server), format!("{}/api/uploads", server.base)] {
        let r = request(
            "POST",
            &ep,
            Some(&alice),
            &[TUS, ("Upload-Length", "1234"), ("Upload-Metadata", &meta)],
            Body::None,
        );
        assert_eq!(r.status, 201, "POST {ep}: {r}");
        assert_eq!(r.header("Tus-Resumable"), Some("1.0.0"), "{r}");
        let loc = r.must("Location");
        assert!(
            loc.starts_with("/api/uploads/") && loc.len() > "/api/uploads/".len(),
            "Location is an absolute path /api/uploads/ID: {loc}"
        );
        // Expiration: when the unfinished upload will be forgotten, in the future.
        let expires = httpdate::parse_http_date(r.must("Upload-Expires"))
            .unwrap_or_else(|_| panic!("Upload-Expires is not an HTTP date: {r}"));
        assert!(expires > std::time::SystemTime::now(), "{r}");

        let url = upload_url(&server, loc);
        let h = head(&url, &alice);
        assert_eq!(h.status, 200, "HEAD: {h}");
        assert_eq!(h.num("Upload-Offset"), 0);
        assert_eq!(h.num("Upload-Length"), 1234);
        assert_eq!(h.header("Upload-Metadata"), Some(meta.as_str()), "{h}");
        assert_eq!(h.header("Tus-Resumable"), Some("1.0.0"), "{h}");
        assert!(
            h.must("Cache-Control").contains("no-store"),
            "HEAD must not be cached: {h}"
        );
        assert!(h.body.is_empty());

        let g = upload_json(&url, &alice);
        assert_eq!(g.status, 200, "GET: {g}");
        let j = g.json();
        assert_eq!(j["id"], upload_id(&url), "{j}");
        assert_eq!(j["offset"], 0, "{j}");
        assert_eq!(j["length"], 1234, "{j}");
        assert_eq!(j["complete"], false, "{j}");
        assert!(j["video_id"].is_null(), "{j}");
        assert_eq!(j["filename"], "scène 1.mov", "{j}");
        assert!(!j["expires_at"].is_null(), "{j}");
    }
}

#[test]
fn missing_or_wrong_tus_resumable_is_412_with_the_versions() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let ep = endpoint(&server);
    for version in [None, Some("0.2.2"), Some("2.0.0")] {
        let mut h = vec![("Upload-Length", "100")];
        if let Some(v) = version {
            h.push(("Tus-Resumable", v));
        }
        let r = request("POST", &ep, Some(&alice), &h, Body::None);
        assert_eq!(r.status, 412, "Tus-Resumable {version:?}: {r}");
        assert!(r.must("Tus-Version").contains("1.0.0"), "{r}");
    }
    // The same on an existing upload, which stays untouched.
    let url = create(&server, &alice, 100, "");
    let r = request("HEAD", &url, Some(&alice), &[], Body::None);
    assert_eq!(r.status, 412, "{r}");
    let r = request(
        "PATCH",
        &url,
        Some(&alice),
        &[OCTETS, ("Upload-Offset", "0")],
        Body::Bytes(vec![1; 10]),
    );
    assert_eq!(r.status, 412, "{r}");
    assert!(r.must("Tus-Version").contains("1.0.0"), "{r}");
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 0);
}

#[test]
fn every_request_but_options_needs_a_token() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let url = create(&server, &alice, 100, "");
    let r = request(
        "POST",
        &endpoint(&server),
        None,
        &[TUS, ("Upload-Length", "100")],
        Body::None,
    );
    assert_eq!(r.status, 401, "anonymous POST: {r}");
    let r = request(
        "POST",
        &endpoint(&server),
        Some("dly_not_a_real_token"),
        &[TUS, ("Upload-Length", "100")],
        Body::None,
    );
    assert_eq!(r.status, 401, "bad token POST: {r}");
    for token in [None, Some("dly_not_a_real_token")] {
        assert_eq!(request("HEAD", &url, token, &[TUS], Body::None).status, 401);
        assert_eq!(
            request(
                "PATCH",
                &url,
                token,
                &[TUS, OCTETS, ("Upload-Offset", "0")],
                Body::Bytes(vec![7; 10])
            )
            .status,
            401
        );
        assert_eq!(
            request("DELETE", &url, token, &[TUS], Body::None).status,
            401
        );
        assert_eq!(request("GET", &url, token, &[TUS], Body::None).status, 401);
    }
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 0, "untouched");
}

#[test]
fn chunks_become_a_ready_video_named_by_the_last_patch() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("chunked.mp4");
    let meta = metadata(&[
        ("filename", "chunked.mp4"),
        ("title", "Scène 4, prise 2"),
        ("filetype", "video/mp4"),
    ]);
    let url = create(&server, &alice, c.bytes.len() as u64, &meta);
    let last = patch_all(&url, &alice, &c.bytes, 0, 4);
    let vid = video_id_of(&last);

    let h = head(&url, &alice);
    assert_eq!(h.status, 200, "{h}");
    assert_eq!(h.num("Upload-Offset"), c.bytes.len() as u64);
    assert_eq!(h.header("Dailies-Video-Id"), Some(vid.as_str()), "{h}");
    let j = upload_json(&url, &alice).json();
    assert_eq!(j["complete"], true, "{j}");
    assert_eq!(j["video_id"], vid.as_str(), "{j}");
    assert_eq!(j["offset"], c.bytes.len(), "{j}");

    // An empty PATCH at the end (a client checking after a lost answer) is acknowledged with
    // the same video; bytes past the end of a completed upload are refused, not dropped.
    let r = patch(&url, &alice, c.bytes.len() as u64, b"");
    assert_eq!(r.status, 204, "empty PATCH at the end: {r}");
    assert_eq!(r.header("Dailies-Video-Id"), Some(vid.as_str()), "{r}");
    let r = patch(&url, &alice, c.bytes.len() as u64, b"more");
    assert!(
        r.status == 409 || r.status == 413 || r.status == 403,
        "bytes past the end of a completed upload: {r}"
    );
    assert_eq!(
        head(&url, &alice).num("Upload-Offset"),
        c.bytes.len() as u64
    );

    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
    let (_, v) = server.get(&format!("/api/videos/{vid}"), &alice);
    assert_eq!(v["original_filename"], "chunked.mp4", "{v:#}");
    assert_eq!(v["title"], "Scène 4, prise 2", "{v:#}");
    assert_eq!(v["owner"], "alice", "{v:#}");
    let (_, list) = server.get("/api/videos", &alice);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert_eq!(ids, vec![vid.as_str()], "{list:#}");
}

#[test]
fn offset_mismatch_is_409_and_changes_nothing() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let url = create(&server, &alice, 1000, "");
    let r = patch(&url, &alice, 5, &[1; 10]);
    assert_eq!(r.status, 409, "ahead of the offset: {r}");
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 0);
    assert_eq!(patch(&url, &alice, 0, &[1; 100]).status, 204);
    let r = patch(&url, &alice, 0, &[2; 100]);
    assert_eq!(r.status, 409, "behind the offset: {r}");
    let r = patch(&url, &alice, 50, &[2; 100]);
    assert_eq!(r.status, 409, "inside what was written: {r}");
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 100);
}

#[test]
fn patch_without_the_tus_content_type_is_415() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let url = create(&server, &alice, 1000, "");
    for ctype in [
        Some("application/octet-stream"),
        Some("application/json"),
        None,
    ] {
        let mut h = vec![TUS, ("Upload-Offset", "0")];
        if let Some(t) = ctype {
            h.push(("Content-Type", t));
        }
        let r = request("PATCH", &url, Some(&alice), &h, Body::Bytes(vec![3; 100]));
        assert_eq!(r.status, 415, "Content-Type {ctype:?}: {r}");
    }
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 0);
}

#[test]
fn upload_length_above_the_maximum_is_413() {
    let server = Server::start("max_upload_bytes = 1000000");
    let alice = server.user_token("alice", false);
    let ep = endpoint(&server);
    let r = request(
        "POST",
        &ep,
        Some(&alice),
        &[TUS, ("Upload-Length", "1000001")],
        Body::None,
    );
    assert_eq!(r.status, 413, "{r}");
    create(&server, &alice, 1_000_000, "");
    // A body longer than the announced length is refused and writes nothing. (Kept small: a
    // server that refuses before reading a large body closes on a client still sending it.)
    let url = create(&server, &alice, 1000, "");
    let r = patch(&url, &alice, 0, &[0; 100]);
    assert_eq!(r.status, 204, "{r}");
    let r = patch(&url, &alice, 100, &[0; 1000]);
    assert_eq!(r.status, 413, "body past Upload-Length: {r}");
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 100);
    // A deferred length announced too big later is refused the same way.
    let r = request(
        "POST",
        &ep,
        Some(&alice),
        &[TUS, ("Upload-Defer-Length", "1")],
        Body::None,
    );
    assert_eq!(r.status, 201, "{r}");
    let url = upload_url(&server, r.must("Location"));
    let r = patch_with(&url, &alice, 0, &[0; 10], &[("Upload-Length", "2000000")]);
    assert_eq!(r.status, 413, "deferred length above the maximum: {r}");
}

#[test]
fn checksums_sha1_and_sha256_are_verified() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("summed.mp4");
    let n = c.bytes.len();
    let (a, b) = (n / 3, 2 * n / 3);
    let url = create(
        &server,
        &alice,
        n as u64,
        &metadata(&[("filename", "summed.mp4")]),
    );

    // Wrong sums are 460 and write nothing.
    let wrong256 = format!("sha256 {}", b64(&sha256(b"something else")));
    let r = patch_with(
        &url,
        &alice,
        0,
        &c.bytes[..a],
        &[("Upload-Checksum", &wrong256)],
    );
    assert_eq!(r.status, 460, "{r}");
    let wrong1 = format!("sha1 {}", b64(&sha1(b"something else")));
    let r = patch_with(
        &url,
        &alice,
        0,
        &c.bytes[..a],
        &[("Upload-Checksum", &wrong1)],
    );
    assert_eq!(r.status, 460, "{r}");
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 0);
    // An algorithm the server does not offer is a bad request (tus checksum extension).
    let md5 = format!("md5 {}", b64(&[0u8; 16]));
    let r = patch_with(&url, &alice, 0, &c.bytes[..a], &[("Upload-Checksum", &md5)]);
    assert_eq!(r.status, 400, "unsupported algorithm: {r}");
    assert_eq!(head(&url, &alice).num("Upload-Offset"), 0);

    // Right sums pass: sha1, then sha256, then sha256 on the completing chunk.
    let s1 = format!("sha1 {}", b64(&sha1(&c.bytes[..a])));
    let r = patch_with(&url, &alice, 0, &c.bytes[..a], &[("Upload-Checksum", &s1)]);
    assert_eq!(r.status, 204, "{r}");
    let s2 = format!("sha256 {}", b64(&sha256(&c.bytes[a..b])));
    let r = patch_with(
        &url,
        &alice,
        a as u64,
        &c.bytes[a..b],
        &[("Upload-Checksum", &s2)],
    );
    assert_eq!(r.status, 204, "{r}");
    // A wrong sum on the completing chunk does not complete the upload.
    let r = patch_with(
        &url,
        &alice,
        b as u64,
        &c.bytes[b..],
        &[("Upload-Checksum", &s2)],
    );
    assert_eq!(r.status, 460, "{r}");
    assert_eq!(r.header("Dailies-Video-Id"), None);
    assert_eq!(head(&url, &alice).num("Upload-Offset"), b as u64);
    let s3 = format!("sha256 {}", b64(&sha256(&c.bytes[b..])));
    let r = patch_with(
        &url,
        &alice,
        b as u64,
        &c.bytes[b..],
        &[("Upload-Checksum", &s3)],
    );
    assert_eq!(r.status, 204, "{r}");
    let vid = video_id_of(&r);
    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
}

#[test]
fn creation_with_upload_carries_the_first_bytes() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("eager.mp4");
    let n = c.bytes.len();
    let half = n / 2;
    let len = n.to_string();
    let meta = metadata(&[("filename", "eager.mp4")]);
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&alice),
        &[
            TUS,
            OCTETS,
            ("Upload-Length", &len),
            ("Upload-Metadata", &meta),
        ],
        Body::Bytes(c.bytes[..half].to_vec()),
    );
    assert_eq!(r.status, 201, "{r}");
    assert_eq!(r.num("Upload-Offset"), half as u64, "{r}");
    let url = upload_url(&server, r.must("Location"));
    assert_eq!(head(&url, &alice).num("Upload-Offset"), half as u64);
    let r = patch(&url, &alice, half as u64, &c.bytes[half..]);
    assert_eq!(r.status, 204, "{r}");
    let vid = video_id_of(&r);
    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
}

#[test]
fn deferred_length_is_set_by_a_later_patch() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("deferred.mp4");
    let n = c.bytes.len();
    let half = n / 2;
    let meta = metadata(&[("filename", "deferred.mp4")]);
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&alice),
        &[
            TUS,
            ("Upload-Defer-Length", "1"),
            ("Upload-Metadata", &meta),
        ],
        Body::None,
    );
    assert_eq!(r.status, 201, "{r}");
    let url = upload_url(&server, r.must("Location"));
    let h = head(&url, &alice);
    assert_eq!(h.header("Upload-Defer-Length"), Some("1"), "{h}");
    assert_eq!(h.header("Upload-Length"), None, "{h}");
    assert!(upload_json(&url, &alice).json()["length"].is_null());

    let r = patch(&url, &alice, 0, &c.bytes[..half]);
    assert_eq!(r.status, 204, "{r}");
    assert_eq!(r.header("Dailies-Video-Id"), None);
    let len = n.to_string();
    let r = patch_with(
        &url,
        &alice,
        half as u64,
        &c.bytes[half..],
        &[("Upload-Length", &len)],
    );
    assert_eq!(r.status, 204, "{r}");
    let vid = video_id_of(&r);
    let h = head(&url, &alice);
    assert_eq!(h.num("Upload-Length"), n as u64, "{h}");
    assert_eq!(h.header("Upload-Defer-Length"), None, "{h}");
    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
}

#[test]
fn concatenation_joins_partial_uploads_into_one_video() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("joined.mp4");
    let n = c.bytes.len();
    let cut = n * 2 / 5;
    let mut parts = Vec::new();
    for piece in [&c.bytes[..cut], &c.bytes[cut..]] {
        let len = piece.len().to_string();
        let r = request(
            "POST",
            &endpoint(&server),
            Some(&alice),
            &[TUS, ("Upload-Concat", "partial"), ("Upload-Length", &len)],
            Body::None,
        );
        assert_eq!(r.status, 201, "{r}");
        let url = upload_url(&server, r.must("Location"));
        let last = patch_all(&url, &alice, piece, 0, 2);
        assert_eq!(
            last.header("Dailies-Video-Id"),
            None,
            "a partial upload is not a video: {last}"
        );
        assert_eq!(head(&url, &alice).header("Upload-Concat"), Some("partial"));
        parts.push(url);
    }
    let concat = format!(
        "final;{} {}",
        upload_path(&server, &parts[0]),
        upload_path(&server, &parts[1])
    );
    let meta = metadata(&[("filename", "joined.mp4")]);
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&alice),
        &[TUS, ("Upload-Concat", &concat), ("Upload-Metadata", &meta)],
        Body::None,
    );
    assert_eq!(r.status, 201, "final: {r}");
    let fin = upload_url(&server, r.must("Location"));
    let h = head(&fin, &alice);
    assert_eq!(h.status, 200, "{h}");
    assert!(h.must("Upload-Concat").starts_with("final;"), "{h}");
    assert_eq!(h.num("Upload-Length"), n as u64, "{h}");
    let vid = video_id_of(&h);

    // A final upload is made, not written: PATCH is forbidden.
    let r = patch(&fin, &alice, n as u64, b"x");
    assert_eq!(r.status, 403, "PATCH to a final upload: {r}");
    let r = patch(&fin, &alice, 0, b"x");
    assert_eq!(r.status, 403, "PATCH to a final upload: {r}");

    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
    let j = upload_json(&fin, &alice).json();
    assert_eq!(j["complete"], true, "{j}");
    assert_eq!(j["video_id"], vid.as_str(), "{j}");
    // One video: the partial uploads were not ingested on their own.
    std::thread::sleep(Duration::from_secs(1));
    let vids = server.videos();
    assert_eq!(vids.len(), 1, "{vids:#?}");
}

#[test]
fn termination_deletes_the_upload_and_its_bytes() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let url = create(&server, &alice, 100_000, "");
    assert_eq!(patch(&url, &alice, 0, &[9; 40_000]).status, 204);
    let id = upload_id(&url);
    let r = request("DELETE", &url, Some(&alice), &[TUS], Body::None);
    assert_eq!(r.status, 204, "{r}");
    assert_eq!(r.header("Tus-Resumable"), Some("1.0.0"), "{r}");
    let h = head(&url, &alice);
    assert!(h.status == 404 || h.status == 410, "HEAD after DELETE: {h}");
    let p = patch(&url, &alice, 40_000, &[9; 10]);
    assert!(
        p.status == 404 || p.status == 410,
        "PATCH after DELETE: {p}"
    );
    let leftovers: Vec<String> = dir_names(&server.data().join("uploads"))
        .into_iter()
        .filter(|n| n.contains(&id))
        .collect();
    assert!(leftovers.is_empty(), "bytes left behind: {leftovers:?}");
    assert!(server.videos().is_empty());
}

#[test]
fn another_users_upload_and_unknown_ids_are_404() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let url = create(&server, &alice, 1000, &metadata(&[("filename", "a.mp4")]));
    assert_eq!(patch(&url, &alice, 0, &[1; 100]).status, 204);

    let unknown = format!("{}/api/uploads/doesnotexist0000", server.base);
    let traversal = format!("{}/api/uploads/..%2F..%2Fdailies.db", server.base);
    for (who, target) in [(&bob, &url), (&alice, &unknown), (&alice, &traversal)] {
        let r = head(target, who);
        assert_eq!(r.status, 404, "HEAD {target}: {r}");
        let r = patch(target, who, 100, &[2; 100]);
        assert_eq!(r.status, 404, "PATCH {target}: {r}");
        let r = request("DELETE", target, Some(who), &[TUS], Body::None);
        assert_eq!(r.status, 404, "DELETE {target}: {r}");
        let r = upload_json(target, who);
        assert_eq!(r.status, 404, "GET {target}: {r}");
    }
    // Bob cannot use alice's upload as a part of his own either.
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&bob),
        &[
            TUS,
            (
                "Upload-Concat",
                &format!("final;{}", upload_path(&server, &url)),
            ),
        ],
        Body::None,
    );
    assert!(
        r.status == 404 || r.status == 400 || r.status == 403,
        "bob concatenating alice's upload: {r}"
    );
    // Alice's upload is as she left it.
    let h = head(&url, &alice);
    assert_eq!(h.status, 200);
    assert_eq!(h.num("Upload-Offset"), 100);
    server.assert_healthy();
}

#[test]
fn an_expired_upload_is_410() {
    let server = Server::start("upload_expiry_secs = 1.5");
    let alice = server.user_token("alice", false);
    let url = create(&server, &alice, 1000, "");
    let r = patch(&url, &alice, 0, &[1; 100]);
    assert_eq!(r.status, 204, "{r}");
    std::thread::sleep(Duration::from_millis(2500));
    let r = patch(&url, &alice, 100, &[1; 100]);
    assert_eq!(r.status, 410, "PATCH after expiry: {r}");
    let h = head(&url, &alice);
    assert!(h.status == 410 || h.status == 404, "HEAD after expiry: {h}");
}

#[test]
fn low_free_disk_is_507() {
    let server = Server::start("min_free_disk_bytes = 1000000000000000000");
    let alice = server.user_token("alice", false);
    let r = request(
        "POST",
        &endpoint(&server),
        Some(&alice),
        &[TUS, ("Upload-Length", "1000")],
        Body::None,
    );
    assert_eq!(r.status, 507, "{r}");
    server.assert_healthy();
}

#[test]
fn racing_patches_at_one_offset_never_corrupt_the_upload() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("raced.mp4");
    let n = c.bytes.len();
    let url = create(
        &server,
        &alice,
        n as u64,
        &metadata(&[("filename", "raced.mp4")]),
    );
    // Two clients both believe the upload is at 0 and send different amounts of the right
    // bytes, slowly enough that the requests overlap. One wins; the other is refused; nothing
    // is written twice or interleaved.
    let mut offset = 0usize;
    for round in 0..2 {
        let long = (offset + (n - offset) * 3 / 5).min(n - 1);
        let short = offset + (n - offset) * 2 / 5;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let outcomes: Vec<(usize, Resp)> = std::thread::scope(|s| {
            let hs: Vec<_> = [long, short]
                .into_iter()
                .map(|end| {
                    let data = c.bytes[offset..end].to_vec();
                    let barrier = barrier.clone();
                    let (server, url, alice) = (&server, &url, &alice);
                    s.spawn(move || {
                        barrier.wait();
                        let r = slow_patch(
                            server,
                            url,
                            alice,
                            offset as u64,
                            data,
                            10,
                            Duration::from_millis(1500),
                        );
                        (end, r)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&(usize, Resp)> =
            outcomes.iter().filter(|(_, r)| r.status == 204).collect();
        println!(
            "round {round}: {:?}",
            outcomes
                .iter()
                .map(|(e, r)| (e, r.status))
                .collect::<Vec<_>>()
        );
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        for (_, r) in outcomes.iter().filter(|(_, r)| r.status != 204) {
            assert!(
                r.status == 409 || r.status == 423,
                "round {round}: the loser got {r}"
            );
        }
        let won_end = winners[0].0;
        assert_eq!(winners[0].1.num("Upload-Offset"), won_end as u64);
        let h = head(&url, &alice);
        assert_eq!(h.num("Upload-Offset"), won_end as u64, "round {round}: {h}");
        offset = won_end;
    }
    let r = patch(&url, &alice, offset as u64, &c.bytes[offset..]);
    assert_eq!(r.status, 204, "{r}");
    let vid = video_id_of(&r);
    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
}

/// The offset once it has stopped moving (a dropped request may still be finishing).
fn settled_offset(url: &str, token: &str) -> u64 {
    let mut last = None;
    let mut same = 0;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(150));
        let o = head(url, token).num("Upload-Offset");
        if Some(o) == last {
            same += 1;
            if same == 3 {
                return o;
            }
        } else {
            same = 0;
            last = Some(o);
        }
    }
    panic!("the offset of {url} never settled");
}

#[test]
fn a_dropped_patch_keeps_only_bytes_that_can_be_trusted() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let c = clip("dropped.mp4");
    let n = c.bytes.len();
    let q = n / 4;
    let url = create(
        &server,
        &alice,
        n as u64,
        &metadata(&[("filename", "dropped.mp4")]),
    );
    assert_eq!(patch(&url, &alice, 0, &c.bytes[..q]).status, 204);

    // The client dies half-way through the next PATCH: at most what arrived is kept.
    dropped_patch(
        &server,
        &url,
        &alice,
        q as u64,
        &c.bytes[q..2 * q],
        q / 2,
        &[],
    );
    let off = settled_offset(&url, &alice) as usize;
    assert!(
        off >= q && off <= q + q / 2,
        "offset {off} after a PATCH dropped at {}",
        q + q / 2
    );

    // With a checksum promised, a partial body cannot be verified: none of it is kept.
    let sum = format!("sha256 {}", b64(&sha256(&c.bytes[off..off + q])));
    dropped_patch(
        &server,
        &url,
        &alice,
        off as u64,
        &c.bytes[off..off + q],
        q / 2,
        &[("Upload-Checksum", &sum)],
    );
    assert_eq!(settled_offset(&url, &alice) as usize, off);

    // The client comes back and sends the rest from where the server says it is.
    let r = patch_when_unlocked(&url, &alice, off as u64, &c.bytes[off..]);
    assert_eq!(r.status, 204, "{r}");
    let vid = video_id_of(&r);
    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
}

#[test]
fn check_answers_upload_duplicate_request_or_exists() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let c = clip("checked.mp4");
    let n = c.bytes.len();
    let hash = sha256_hex(&c.bytes);
    let check = |token: &str| -> Value {
        let r = request(
            "POST",
            &format!("{}/api/uploads/check", server.base),
            Some(token),
            &[("Content-Type", "application/json")],
            Body::Bytes(
                json!({"sha256": hash, "size": n, "filename": "checked.mp4"})
                    .to_string()
                    .into_bytes(),
            ),
        );
        assert_eq!(r.status, 200, "check: {r}");
        r.json()
    };
    assert_eq!(check(&alice), json!({"action": "upload"}));

    // An unfinished upload of the same content by the same caller.
    let meta = metadata(&[("filename", "checked.mp4"), ("sha256", &hash)]);
    let url = create(&server, &alice, n as u64, &meta);
    assert_eq!(patch(&url, &alice, 0, &c.bytes[..n / 2]).status, 204);
    let a = check(&alice);
    assert_eq!(a["action"], "duplicate_request", "{a}");
    assert_eq!(a["upload_id"], upload_id(&url), "{a}");
    assert_eq!(check(&bob)["action"], "upload", "bob has nothing of this");

    // Once it is a video, the caller already has it.
    let r = patch(&url, &alice, (n / 2) as u64, &c.bytes[n / 2..]);
    assert_eq!(r.status, 204, "{r}");
    let vid = video_id_of(&r);
    assert_ready_with_original(&server, &alice, &vid, &c.bytes);
    let a = check(&alice);
    assert_eq!(a["action"], "exists", "{a}");
    assert_eq!(a["video_id"], vid.as_str(), "{a}");
    assert_eq!(
        check(&bob)["action"],
        "upload",
        "bob still has nothing of this"
    );
}
