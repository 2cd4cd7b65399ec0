//! The REST API as a client sees it: who may see what, listing and paging, renaming, deleting,
//! and media served with ranges and caching headers.

mod common;

use common::*;
use serde_json::{Value, json};

fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut all: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    all.extend_from_slice(headers);
    let answer = call(method, url, &all, body);
    (answer.status, answer.headers, answer.body)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// A server with one ready video owned by alice.
fn server_with_video() -> (Server, String, String, std::path::PathBuf) {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let src = tempfile::tempdir().unwrap().keep();
    let clip = playable_mp4(&src, "shot.mp4");
    server.drop_file(Some("alice"), "shot.mp4", &clip);
    let v = server.wait_settled("shot.mp4");
    assert_eq!(v["status"], "ready", "{v:#}");
    (server, alice, v["id"].as_str().unwrap().to_owned(), clip)
}

#[test]
fn every_route_checks_who_is_asking() {
    let (server, alice, id, _) = server_with_video();
    let bob = server.user_token("bob", false);
    let admin = server.admin_token.clone();
    let routes = [
        format!("/api/videos/{id}"),
        format!("/api/videos/{id}/media"),
        format!("/api/videos/{id}/original"),
        format!("/api/videos/{id}/poster.jpg"),
        format!("/api/videos/{id}/sprite.jpg"),
    ];
    for path in &routes {
        let url = format!("{}{path}", server.base);
        let (anon, h, _) = request("GET", &url, None, &[], None);
        assert_eq!(anon, 401, "anonymous {path}");
        assert_eq!(header(&h, "www-authenticate"), Some("Bearer"));
        assert_eq!(
            request("GET", &url, Some("dly_not_a_real_token"), &[], None).0,
            401,
            "bad token {path}"
        );
        assert_eq!(
            request("GET", &url, Some(&bob), &[], None).0,
            404,
            "another user {path}"
        );
        assert_eq!(
            request("GET", &url, Some(&alice), &[], None).0,
            200,
            "owner {path}"
        );
        assert_eq!(
            request("GET", &url, Some(&admin), &[], None).0,
            200,
            "admin {path}"
        );
    }
    // Lists: anonymous refused, others see only their own, the admin sees all.
    let list = format!("{}/api/videos", server.base);
    assert_eq!(request("GET", &list, None, &[], None).0, 401);
    let (_, _, b) = request("GET", &list, Some(&bob), &[], None);
    assert_eq!(json_of(&b)["items"].as_array().unwrap().len(), 0);
    let (_, _, b) = request("GET", &list, Some(&alice), &[], None);
    assert_eq!(json_of(&b)["items"][0]["id"], id.as_str());
    // Changes by strangers are refused as if the video did not exist.
    let url = format!("{}/api/videos/{id}", server.base);
    assert_eq!(
        request("PATCH", &url, Some(&bob), &[], Some(r#"{"title":"mine"}"#)).0,
        404
    );
    assert_eq!(request("DELETE", &url, Some(&bob), &[], None).0, 404);
    assert_eq!(request("DELETE", &url, None, &[], None).0, 401);
    // Health and the API description are public.
    assert_eq!(
        request(
            "GET",
            &format!("{}/api/health", server.base),
            None,
            &[],
            None
        )
        .0,
        200
    );
}

#[test]
fn video_json_has_what_a_player_needs() {
    let (server, alice, id, clip) = server_with_video();
    let (status, v) = server.get(&format!("/api/videos/{id}"), &alice);
    assert_eq!(status, 200);
    for key in [
        "id",
        "title",
        "status",
        "owner",
        "original_filename",
        "duration_s",
        "width",
        "height",
        "fps",
        "video_codec",
        "audio_codec",
        "size_bytes",
        "created_at",
        "progress",
        "error",
        "media_url",
        "original_url",
        "poster_url",
        "sprite_url",
        "sprite",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v:#}");
    }
    assert_eq!(v["title"], "shot");
    assert_eq!(v["audio_codec"], "aac");
    assert_eq!(v["size_bytes"], std::fs::metadata(&clip).unwrap().len());
    assert!((v["duration_s"].as_f64().unwrap() - 2.0).abs() < 0.2);
    assert!(
        (v["fps"].as_f64().unwrap() - 25.0).abs() < 0.5,
        "{}",
        v["fps"]
    );
    let g = &v["sprite"];
    for key in [
        "tile_width",
        "tile_height",
        "columns",
        "rows",
        "count",
        "interval_s",
    ] {
        assert!(g[key].is_number(), "sprite.{key}: {g}");
    }
}

#[test]
fn media_is_served_with_ranges_and_caching() {
    let (server, alice, id, clip) = server_with_video();
    let original = std::fs::read(&clip).unwrap();
    let len = original.len();
    let url = format!("{}/api/videos/{id}/original", server.base);

    let (s, h, body) = request("GET", &url, Some(&alice), &[], None);
    assert_eq!(s, 200);
    assert_eq!(body, original);
    assert_eq!(header(&h, "accept-ranges"), Some("bytes"));
    assert!(
        header(&h, "content-disposition")
            .unwrap()
            .contains("shot.mp4")
    );
    let etag = header(&h, "etag").unwrap().to_owned();
    let modified = header(&h, "last-modified").unwrap().to_owned();

    let (s, h, body) = request(
        "GET",
        &url,
        Some(&alice),
        &[("Range", "bytes=100-199")],
        None,
    );
    assert_eq!(s, 206);
    assert_eq!(body, &original[100..200]);
    assert_eq!(
        header(&h, "content-range"),
        Some(format!("bytes 100-199/{len}").as_str())
    );

    let (s, _, body) = request("GET", &url, Some(&alice), &[("Range", "bytes=-10")], None);
    assert_eq!(s, 206);
    assert_eq!(body, &original[len - 10..]);

    let (s, h, _) = request(
        "GET",
        &url,
        Some(&alice),
        &[("Range", &format!("bytes={}-", len + 5))],
        None,
    );
    assert_eq!(s, 416);
    assert_eq!(
        header(&h, "content-range"),
        Some(format!("bytes */{len}").as_str())
    );

    // Garbage in the Range header is ignored, not an error.
    let (s, _, body) = request(
        "GET",
        &url,
        Some(&alice),
        &[("Range", "bytes=zz-top")],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(body.len(), len);

    assert_eq!(
        request("GET", &url, Some(&alice), &[("If-None-Match", &etag)], None).0,
        304
    );
    assert_eq!(
        request(
            "GET",
            &url,
            Some(&alice),
            &[("If-Modified-Since", &modified)],
            None
        )
        .0,
        304
    );
    // A stale If-Range means the client gets the whole current file.
    let (s, _, _) = request(
        "GET",
        &url,
        Some(&alice),
        &[("Range", "bytes=0-9"), ("If-Range", "\"stale\"")],
        None,
    );
    assert_eq!(s, 200);

    let (s, h, _) = request(
        "GET",
        &format!("{}/api/videos/{id}/media", server.base),
        Some(&alice),
        &[],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-type"), Some("video/mp4"));
    let (s, h, body) = request(
        "GET",
        &format!("{}/api/videos/{id}/poster.jpg", server.base),
        Some(&alice),
        &[],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-type"), Some("image/jpeg"));
    assert_eq!(&body[..2], &[0xFF, 0xD8], "a JPEG");
    let (s, _, _) = request("HEAD", &url, Some(&alice), &[], None);
    assert_eq!(s, 200);
}

#[test]
fn rename_and_delete() {
    let (server, alice, id, _) = server_with_video();
    let url = format!("{}/api/videos/{id}", server.base);
    let (s, _, b) = request(
        "PATCH",
        &url,
        Some(&alice),
        &[],
        Some(r#"{"title":"  Scène 4, prise 2  "}"#),
    );
    assert_eq!(s, 200);
    assert_eq!(json_of(&b)["title"], "Scène 4, prise 2");

    for (body, want) in [
        (r#"{"title":""}"#, 422),
        (&*json!({"title": "x".repeat(201)}).to_string(), 422),
        (r#"{"title":"a\u0000b"}"#, 422),
        (r#"{"title":5}"#, 422),
        (r#"{"titel":"typo"}"#, 422),
        ("not json", 400),
    ] {
        let (s, _, b) = request("PATCH", &url, Some(&alice), &[], Some(body));
        assert_eq!(s, want, "{body}: {}", String::from_utf8_lossy(&b));
        assert!(
            json_of(&b)["error"].is_string(),
            "errors explain themselves: {body}"
        );
    }

    assert_eq!(request("DELETE", &url, Some(&alice), &[], None).0, 204);
    assert_eq!(request("GET", &url, Some(&alice), &[], None).0, 404);
    assert_eq!(
        request("GET", &format!("{url}/original"), Some(&alice), &[], None).0,
        404
    );
    assert!(!server.data().join("media").join(&id).exists());
    assert!(server.data().join("trash").join(&id).exists());
    assert_eq!(
        request("DELETE", &url, Some(&alice), &[], None).0,
        404,
        "already gone"
    );
}

#[test]
fn pages_newest_first() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    for i in 0..5 {
        let clip = make_clip(
            src.path(),
            &format!("c{i}.mp4"),
            1.0,
            &format!("color=c=0x{:02x}2040:size=160x90:rate=10", i * 40),
            H264_AAC,
        );
        server.drop_file(None, &format!("c{i}.mp4"), &clip);
    }
    server.wait_videos("five videos", |v| v.len() == 5);
    let token = server.admin_token.clone();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/videos?limit=2&cursor={c}"),
            None => "/api/videos?limit=2".to_owned(),
        };
        let (s, page) = server.get(&path, &token);
        assert_eq!(s, 200);
        for v in page["items"].as_array().unwrap() {
            seen.push((
                v["created_at"].as_i64().unwrap(),
                v["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, no repeats");

    // Titles are c0..c4: a search matches whole substrings, case-insensitively, with `%` and
    // `_` taken literally, and pages like the full list.
    let titles = |path: &str| -> Vec<String> {
        let (s, page) = server.get(path, &token);
        assert_eq!(s, 200, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles("/api/videos?q=C3"), ["c3"]);
    // The drop folder takes files in no set order: compare as a set.
    let mut all = titles("/api/videos?q=%20c%20");
    all.sort();
    assert_eq!(all, ["c0", "c1", "c2", "c3", "c4"]);
    assert!(titles("/api/videos?q=c%25").is_empty());
    assert!(titles("/api/videos?q=c_").is_empty());
    assert!(titles("/api/videos?q=nothing").is_empty());
    let (s, page) = server.get("/api/videos?q=c&limit=2", &token);
    assert_eq!((s, page["items"].as_array().unwrap().len()), (200, 2));
    assert!(page["next"].is_string());

    let long = format!("/api/videos?q={}", "x".repeat(201));
    for bad in [
        "/api/videos?limit=0",
        "/api/videos?limit=1000",
        "/api/videos?limit=abc",
        "/api/videos?cursor=nonsense",
        "/api/videos?cursor=1.../../x",
        "/api/videos?q=a%0Ab",
        long.as_str(),
    ] {
        let (s, b) = server.get(bad, &token);
        assert_eq!(s, 400, "{bad}");
        assert!(b["error"].is_string());
    }
}

#[test]
fn hostile_paths_and_unknown_routes_are_plain_404s() {
    let server = Server::start("");
    let t = server.admin_token.clone();
    for path in [
        "/api/videos/..%2F..%2Fetc%2Fpasswd",
        "/api/videos/AAAAAAAAAAAAAAAA",
        "/api/videos/0000000000000000/media",
        "/api/nothing",
        "/api/videos/x/original",
    ] {
        let (s, b) = server.get(path, &t);
        assert_eq!(s, 404, "{path}");
        assert_eq!(b["error"], "not found");
    }
}

#[test]
fn openapi_document_describes_the_routes() {
    let server = Server::start("");
    let (s, _, body) = request(
        "GET",
        &format!("{}/api/openapi.json", server.base),
        None,
        &[],
        None,
    );
    assert_eq!(s, 200);
    let doc = json_of(&body);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/health",
        "/api/login",
        "/api/logout",
        "/api/me",
        "/api/me/password",
        "/api/tokens",
        "/api/tokens/{id}",
        "/api/users",
        "/api/users/{id}",
        "/login/once/{code}",
        "/api/videos/{id}/shares",
        "/api/shares/{id}",
        "/s/{token}",
        "/api/videos",
        "/api/videos/{id}",
        "/api/videos/{id}/media",
        "/api/videos/{id}/original",
        "/api/videos/{id}/poster.jpg",
        "/api/videos/{id}/sprite.jpg",
        "/api/uploads/",
        "/api/uploads/{id}",
        "/api/uploads/check",
        "/api/jobs",
        "/api/jobs/{id}",
        "/api/jobs/{id}/cancel",
        "/api/jobs/{id}/retry",
        "/api/events",
        "/api/ws",
        "/api/videos/{id}/encodes",
        "/api/encodes/{id}",
        "/api/encodes/{id}/download",
        "/api/videos/{id}/thumbnails",
        "/api/thumbnails/{id}",
        "/api/thumbnails/{id}/{file}",
        "/api/videos/{id}/comments",
        "/api/videos/{id}/comments.csv",
        "/api/videos/{id}/comments.edl",
        "/api/comments/{id}",
        "/api/comments/{id}/drawing",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let (s, h, body) = request("GET", &format!("{}/", server.base), None, &[], None);
    assert_eq!(s, 200);
    assert!(header(&h, "content-type").unwrap().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&body).contains("dailies"));
}

#[test]
fn trash_is_purged_after_its_retention_period() {
    let (mut server, alice, id, _) = server_with_video();
    let url = format!("{}/api/videos/{id}", server.base);
    assert_eq!(request("DELETE", &url, Some(&alice), &[], None).0, 204);
    assert!(server.data().join("trash").join(&id).exists());
    // Restart with no retention: the purge at start-up removes files and row for good.
    server.kill9();
    server.extra_config = "trash_retention_days = 0.0".into();
    server.spawn();
    server.wait_until("the trash to be purged", || {
        !server.data().join("trash").join(&id).exists()
    });
    assert_eq!(
        server.sql(&format!("SELECT COUNT(*) FROM videos WHERE id = '{id}'")),
        "0"
    );
}

#[test]
fn malformed_authorization_headers_are_refused_plainly() {
    let server = Server::start("");
    let url = format!("{}/api/videos", server.base);
    let long = format!("Bearer {}", "x".repeat(5000));
    for value in [
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer ",
        "Token abc",
        "dly_abc",
        long.as_str(),
    ] {
        let (s, h, body) = request("GET", &url, None, &[("Authorization", value)], None);
        assert_eq!(s, 401, "{value:.40}");
        assert_eq!(header(&h, "www-authenticate"), Some("Bearer"));
        assert!(json_of(&body)["error"].as_str().unwrap().contains("Bearer"));
    }
    // The scheme name is case-insensitive, as HTTP says.
    let ok = format!("bearer {}", server.admin_token);
    assert_eq!(
        request("GET", &url, None, &[("Authorization", &ok)], None).0,
        200
    );
    server.assert_healthy();
}
