//! Time-coded comments: their whole life (add with a drawing, reply, edit, delete with and
//! without replies), what others watching see live, the CSV and EDL exports, who may do what,
//! and every kind of bad input refused with a reason and nothing kept.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use common::*;
use serde_json::{Value, json};

/// Status and JSON of a request with an optional body; `None` when the server closed the
/// connection before the client could finish sending (a refused oversized body).
fn request(
    server: &Server,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Option<(u16, Value)> {
    let url = format!("{}{path}", server.base);
    let auth = format!("Bearer {token}");
    let res = match (method, body) {
        ("PATCH", Some(b)) => ureq::patch(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(b),
        ("POST", Some(b)) => ureq::post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(b),
        ("DELETE", None) => ureq::delete(&url)
            .header("Authorization", &auth)
            .config()
            .http_status_as_error(false)
            .build()
            .call(),
        ("GET", None) => ureq::get(&url)
            .header("Authorization", &auth)
            .config()
            .http_status_as_error(false)
            .build()
            .call(),
        _ => panic!("unsupported request {method}"),
    };
    let res = res.ok()?;
    let status = res.status().as_u16();
    let text = res.into_body().read_to_string().unwrap_or_default();
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn post(server: &Server, path: &str, token: &str, body: &Value) -> (u16, Value) {
    server.post_json(path, token, &body.to_string())
}

fn patch(server: &Server, path: &str, token: &str, body: &Value) -> (u16, Value) {
    request(server, "PATCH", path, token, Some(&body.to_string())).expect("PATCH answered")
}

fn delete(server: &Server, path: &str, token: &str) -> u16 {
    request(server, "DELETE", path, token, None)
        .expect("DELETE answered")
        .0
}

/// An image made by ffmpeg from a lavfi source: `frames:v 1` of `source` into `name`.
fn image(dir: &Path, name: &str, source: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source])
        .args(["-frames:v", "1"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not make {name}");
    std::fs::read(out).unwrap()
}

fn data_url(kind: &str, bytes: &[u8]) -> String {
    format!(
        "data:{kind};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A ready 2-second 25 fps clip of lavfi's `source` owned by `user`; returns its id.
fn ready_clip(server: &Server, user: &str, name: &str, source: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<&str> = H264_AAC
        .iter()
        .copied()
        .chain(["-movflags", "+faststart"])
        .collect();
    let clip = make_clip(
        dir.path(),
        name,
        2.0,
        &format!("{source}=size=320x180:rate=25"),
        &args,
    );
    server.drop_file(Some(user), name, &clip);
    let v = server.wait_settled(name);
    assert_eq!(v["status"], "ready", "{v}");
    v["id"].as_str().unwrap().to_owned()
}

fn items(server: &Server, video: &str, token: &str) -> Vec<Value> {
    let (status, list) = server.get(&format!("/api/videos/{video}/comments"), token);
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

fn drawing_files(server: &Server, video: &str) -> Vec<String> {
    dir_names(&server.data().join("media").join(video).join("comments"))
}

/// A Server-Sent Events stream read line by line, as a browser's EventSource would.
struct Sse(Box<dyn BufRead + Send>);

impl Sse {
    fn open(server: &Server, token: &str, query: &str) -> Sse {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_per_read(Some(Duration::from_secs(60)))
            .build()
            .into();
        let res = agent
            .get(format!("{}/api/events?{query}", server.base))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        Sse(Box::new(BufReader::new(res.into_body().into_reader())))
    }

    /// The next event's JSON.
    fn next(&mut self) -> Value {
        let mut data = String::new();
        loop {
            let mut line = String::new();
            assert!(self.0.read_line(&mut line).unwrap() > 0, "stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() && !data.is_empty() {
                return serde_json::from_str(&data).unwrap();
            }
            if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }
}

#[test]
fn a_comment_lives_from_drawing_to_thread_and_others_watching_see_each_change() {
    let server = Server::start("");
    let admin = server.admin_token.clone();
    let alice = server.user_token("alice", false);
    let video = ready_clip(&server, "alice", "scene.mp4", "testsrc2");
    let path = format!("/api/videos/{video}/comments");
    let pics = tempfile::tempdir().unwrap();
    let png = image(
        pics.path(),
        "d.png",
        "color=c=red@0.5:s=320x180,format=rgba",
        &[],
    );
    // The admin watches the video's comments live while alice works.
    let mut watcher = Sse::open(&server, &admin, &format!("video={video}&kind=comment.*"));

    // A comment at 0.13 s lands on the frame on screen then (25 fps: frame 3, 0.12 s).
    let (status, first) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "  Too dark here  ", "timecode_s": 0.13, "drawing": data_url("image/png", &png)}),
    );
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["text"], "Too dark here");
    assert_eq!(first["timecode_s"], 0.12);
    assert_eq!(first["author"]["name"], "alice");
    assert_eq!(first["parent_id"], Value::Null);
    assert_eq!(first["edited_at"], Value::Null);
    assert!(first["created_at"].as_i64().unwrap() > 0);
    let id = first["id"].as_str().unwrap().to_owned();
    let seen = watcher.next();
    assert_eq!(seen["kind"], "comment.created");
    assert_eq!(seen["video_id"], video.as_str());
    assert_eq!(seen["data"], first, "the event carries the comment");

    // The drawing comes back byte for byte, as a PNG, under a name the server chose.
    let drawing_url = first["drawing_url"].as_str().unwrap().to_owned();
    let (status, ctype, bytes) = server.get_bytes(&drawing_url, &alice);
    assert_eq!((status, ctype.as_str()), (200, "image/png"));
    assert_eq!(bytes, png);
    let files = drawing_files(&server, &video);
    assert_eq!(files.len(), 1);
    assert!(files[0].ends_with(".png") && files[0] != "d.png");

    // A WebP drawing is kept as WebP.
    let webp = image(
        pics.path(),
        "d.webp",
        "color=c=blue@0.5:s=64x36,format=rgba",
        &["-c:v", "libwebp", "-lossless", "1"],
    );
    let (status, later) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "Cut here", "timecode_s": 1.5, "drawing": data_url("image/webp", &webp)}),
    );
    assert_eq!(status, 201, "{later}");
    assert_eq!(watcher.next()["kind"], "comment.created");
    let (status, ctype, bytes) = server.get_bytes(later["drawing_url"].as_str().unwrap(), &alice);
    assert_eq!(
        (status, ctype.as_str(), bytes == webp),
        (200, "image/webp", true)
    );
    // One on the whole video, and one at the very start.
    let (status, general) = post(&server, &path, &alice, &json!({"text": "Nice overall"}));
    assert_eq!(status, 201, "{general}");
    assert_eq!(general["timecode_s"], Value::Null);
    let (status, at_start) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "Slate", "timecode_s": 0}),
    );
    assert_eq!(status, 201, "{at_start}");
    assert_eq!(at_start["timecode_s"], 0.0);
    for _ in 0..2 {
        assert_eq!(watcher.next()["kind"], "comment.created");
    }

    // Replies: the admin answers, alice answers the answer; both join the first's thread.
    let (status, reply) = post(
        &server,
        &path,
        &admin,
        &json!({"text": "Agreed, lift it", "parent_id": id}),
    );
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["parent_id"], id.as_str());
    let (status, reply2) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "Will do", "parent_id": reply["id"]}),
    );
    assert_eq!(status, 201, "{reply2}");
    assert_eq!(
        reply2["parent_id"],
        id.as_str(),
        "a reply to a reply joins the thread"
    );
    for _ in 0..2 {
        assert_eq!(watcher.next()["kind"], "comment.created");
    }

    // Sorted by time in the video, then by creation; comments without a time (these replies
    // too) last.
    let texts: Vec<Value> = items(&server, &video, &alice)
        .iter()
        .map(|c| c["text"].clone())
        .collect();
    assert_eq!(
        texts,
        json!([
            "Slate",
            "Too dark here",
            "Cut here",
            "Nice overall",
            "Agreed, lift it",
            "Will do"
        ])
        .as_array()
        .unwrap()
        .clone()
    );

    // Only the author edits: text, time (snapped again), drawing.
    let one = format!("/api/comments/{id}");
    let (status, refused) = patch(&server, &one, &admin, &json!({"text": "mine now"}));
    assert_eq!(status, 403, "{refused}");
    let (status, edited) = patch(
        &server,
        &one,
        &alice,
        &json!({"text": "Too dark, lift 1 stop", "timecode_s": 0.5}),
    );
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["text"], "Too dark, lift 1 stop");
    assert_eq!(edited["timecode_s"], 0.48);
    assert!(edited["edited_at"].as_i64().is_some());
    assert_eq!(edited["drawing_url"], first["drawing_url"], "untouched");
    let seen = watcher.next();
    assert_eq!(
        (seen["kind"].as_str(), &seen["data"]),
        (Some("comment.updated"), &edited)
    );
    // A new drawing replaces the old one (its file too); null removes it.
    let redrawn = image(
        pics.path(),
        "e.png",
        "color=c=green@0.5:s=320x180,format=rgba",
        &[],
    );
    let (status, replaced) = patch(
        &server,
        &one,
        &alice,
        &json!({"drawing": data_url("image/png", &redrawn)}),
    );
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(watcher.next()["kind"], "comment.updated");
    assert_eq!(server.get_bytes(&drawing_url, &alice).2, redrawn);
    assert_eq!(drawing_files(&server, &video).len(), 2, "the old file went");
    let (status, cleared) = patch(&server, &one, &alice, &json!({"drawing": null}));
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["drawing_url"], Value::Null);
    assert_eq!(watcher.next()["kind"], "comment.updated");
    assert_eq!(server.get_bytes(&drawing_url, &alice).0, 404);
    assert_eq!(
        drawing_files(&server, &video).len(),
        1,
        "only the WebP is left"
    );
    assert_eq!(server.get(&one, &admin).1, cleared);

    // Exports while the thread is whole: CSV for spreadsheets, EDL markers for editors.
    let (_, formula) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "=HYPERLINK(\"http://x\",\"y\"), really", "timecode_s": 1.0}),
    );
    assert_eq!(watcher.next()["kind"], "comment.created");
    let (status, ctype, csv) = server.get_bytes(&format!("{path}.csv"), &alice);
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,parent_id,timecode_s,timecode,author,text,has_drawing,created_at,edited_at"
    );
    assert_eq!(lines.len(), 9, "header, 7 comments, and the end: {csv}");
    let formula_id = formula["id"].as_str().unwrap();
    let row = lines.iter().find(|l| l.starts_with(formula_id)).unwrap();
    assert!(
        row.contains(
            ",1.000,00:00:01:00,alice,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\"), really\",no,"
        ),
        "{row}"
    );
    let row = lines.iter().find(|l| l.starts_with(&id)).unwrap();
    assert!(
        row.contains(",0.480,00:00:00:12,alice,\"Too dark, lift 1 stop\",no,"),
        "{row}"
    );

    let (status, _, edl) = server.get_bytes(&format!("{path}.edl"), &alice);
    assert_eq!(status, 200);
    let edl = String::from_utf8(edl).unwrap();
    assert!(
        edl.starts_with("TITLE: scene\nFCM: NON-DROP FRAME\n"),
        "{edl}"
    );
    let markers: Vec<&str> = edl.lines().filter(|l| l.starts_with(" |C:")).collect();
    assert_eq!(
        markers,
        [
            " |C:ResolveColorBlue |M:alice: Slate |D:1",
            " |C:ResolveColorBlue |M:alice: Too dark, lift 1 stop |D:1",
            " |C:ResolveColorBlue |M:alice: =HYPERLINK(\"http://x\",\"y\"), really |D:1",
            " |C:ResolveColorBlue |M:alice: Cut here |D:1",
        ],
        "{edl}"
    );
    assert!(
        edl.contains(
            "002  001      V     C        01:00:00:12 01:00:00:13 01:00:00:12 01:00:00:13"
        ),
        "{edl}"
    );
    let (status, _, edl0) = server.get_bytes(&format!("{path}.edl?start=00:00:00:00"), &alice);
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(edl0)
            .unwrap()
            .contains(" 00:00:01:12 00:00:01:13 ")
    );
    for bad in [
        "?start=25:00:00:00",
        "?start=01:00:00:25",
        "?start=1h",
        "?begin=0",
    ] {
        let (status, body) = server.get(&format!("{path}.edl{bad}"), &alice);
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // The owner deletes the admin's reply; the admin deletes alice's comment, which keeps its
    // place in the thread because a reply remains: shown deleted, its words gone.
    assert_eq!(
        delete(
            &server,
            &format!("/api/comments/{}", reply["id"].as_str().unwrap()),
            &alice
        ),
        204
    );
    let seen = watcher.next();
    assert_eq!(seen["kind"], "comment.deleted");
    assert_eq!(seen["data"]["removed"], true);
    assert_eq!(delete(&server, &one, &admin), 204);
    let seen = watcher.next();
    assert_eq!(seen["kind"], "comment.deleted");
    assert_eq!(seen["data"]["removed"], false, "kept for its thread");
    let kept = items(&server, &video, &alice)
        .into_iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap();
    assert_eq!(kept["deleted"], true);
    assert_eq!(kept["text"], Value::Null);
    assert_eq!(kept["drawing_url"], Value::Null);
    assert_eq!(delete(&server, &one, &alice), 404, "already deleted");
    let (status, _) = patch(&server, &one, &alice, &json!({"text": "back"}));
    assert_eq!(status, 409, "a deleted comment is not edited");
    let (status, late) = post(
        &server,
        &path,
        &admin,
        &json!({"text": "late", "parent_id": id}),
    );
    assert_eq!(status, 201, "the thread still takes replies: {late}");
    assert_eq!(watcher.next()["kind"], "comment.created");
    let csv = server.get_bytes(&format!("{path}.csv"), &alice).2;
    assert!(
        !String::from_utf8(csv)
            .unwrap()
            .lines()
            .any(|row| row.starts_with(&id)),
        "deleted ones are not exported (their replies name them as parent)"
    );

    // When the thread's last replies go, the deleted comment goes with them.
    for r in [&reply2["id"], &late["id"]] {
        assert_eq!(
            delete(
                &server,
                &format!("/api/comments/{}", r.as_str().unwrap()),
                &alice
            ),
            204
        );
    }
    let mut gone = Vec::new();
    for _ in 0..3 {
        let e = watcher.next();
        assert_eq!(e["kind"], "comment.deleted");
        gone.push(e["data"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        gone.last().unwrap(),
        &id,
        "the empty thread's starter is removed last"
    );
    let left: Vec<Value> = items(&server, &video, &alice)
        .iter()
        .map(|c| c["text"].clone())
        .collect();
    assert_eq!(
        left,
        [
            json!("Slate"),
            json!("=HYPERLINK(\"http://x\",\"y\"), really"),
            json!("Cut here"),
            json!("Nice overall")
        ]
    );
    // A comment without replies simply disappears, with its drawing file.
    let later_path = format!("/api/comments/{}", later["id"].as_str().unwrap());
    assert_eq!(delete(&server, &later_path, &alice), 204);
    assert_eq!(server.get(&later_path, &alice).0, 404);
    assert!(drawing_files(&server, &video).is_empty());
    server.assert_healthy();
}

#[test]
fn bad_input_is_refused_with_a_reason_and_nothing_is_kept() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let video = ready_clip(&server, "alice", "take.mp4", "testsrc2");
    let other = ready_clip(&server, "alice", "other.mp4", "smptebars");
    let path = format!("/api/videos/{video}/comments");
    let pics = tempfile::tempdir().unwrap();
    let png = image(
        pics.path(),
        "d.png",
        "color=c=red@0.5:s=160x90,format=rgba",
        &[],
    );
    let gif = image(pics.path(), "d.gif", "color=c=red:s=16x16", &[]);
    let mut lying = png.clone();
    lying[16..20].copy_from_slice(&9000u32.to_be_bytes()); // IHDR width, checksum not updated
    let (_, elsewhere) = post(
        &server,
        &format!("/api/videos/{other}/comments"),
        &alice,
        &json!({"text": "on the other video"}),
    );
    let elsewhere = elsewhere["id"].as_str().unwrap().to_owned();

    let long = "x".repeat(5001);
    let mut noise = vec![0u8; 2 * 1024 * 1024 + 1024];
    getrandom::fill(&mut noise).unwrap();
    let mut oversized_png = png.clone();
    oversized_png.extend_from_slice(&noise);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"text": ""}), 422, "empty text"),
        (json!({"text": " \n\t "}), 422, "blank text"),
        (json!({"text": long}), 422, "text too long"),
        (json!({"text": "a\u{0}b"}), 422, "control characters"),
        (json!({}), 422, "no text"),
        (json!({"text": 5}), 422, "text not a string"),
        (json!({"text": "x", "colour": "red"}), 422, "unknown field"),
        (
            json!({"text": "x", "timecode_s": 60}),
            422,
            "beyond the end",
        ),
        (json!({"text": "x", "timecode_s": -0.5}), 422, "negative"),
        (
            json!({"text": "x", "timecode_s": "NaN"}),
            422,
            "NaN as a string",
        ),
        (
            json!({"text": "x", "timecode_s": "1.0"}),
            422,
            "a string time",
        ),
        (
            json!({"text": "x", "parent_id": elsewhere}),
            422,
            "parent on another video",
        ),
        (
            json!({"text": "x", "parent_id": "../../etc/passwd"}),
            422,
            "parent not an id",
        ),
        (
            json!({"text": "x", "parent_id": "0000000000000000"}),
            422,
            "no such parent",
        ),
        (
            json!({"text": "x", "drawing": data_url("image/gif", &gif)}),
            422,
            "a GIF",
        ),
        (
            json!({"text": "x", "drawing": data_url("image/png", &gif)}),
            422,
            "a GIF labelled PNG",
        ),
        (
            json!({"text": "x", "drawing": data_url("text/plain", b"hello")}),
            422,
            "a text file",
        ),
        (
            json!({"text": "x", "drawing": data_url("image/png", b"hello")}),
            422,
            "text labelled PNG",
        ),
        (
            json!({"text": "x", "drawing": data_url("image/png", &lying)}),
            422,
            "a PNG with a lying header",
        ),
        (
            json!({"text": "x", "drawing": data_url("image/webp", &png)}),
            422,
            "a PNG labelled WebP",
        ),
        (
            json!({"text": "x", "drawing": "data:image/png,notbase64"}),
            422,
            "not base64-encoded",
        ),
        (
            json!({"text": "x", "drawing": "data:image/png;base64,!!!!"}),
            422,
            "bad base64",
        ),
        (
            json!({"text": "x", "drawing": "https://example.com/a.png"}),
            422,
            "a link",
        ),
        (
            json!({"text": "x", "drawing": "/etc/passwd"}),
            422,
            "a path",
        ),
        (json!({"text": "x", "drawing": 7}), 422, "a number"),
        (
            json!({"text": "x", "drawing": data_url("image/png", &oversized_png)}),
            413,
            "oversized drawing",
        ),
    ];
    for (body, expected, what) in &cases {
        let (status, answer) = post(&server, &path, &alice, body);
        assert_eq!(status, *expected, "{what}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.len() > 8),
            "{what}: {answer}"
        );
    }
    // Malformed JSON, and numbers JSON cannot carry.
    for raw in [
        r#"{"text": "x", "timecode_s": NaN}"#,
        r#"{"text": "x", "timecode_s": 1e999}"#,
        r#"{"text": "x""#,
        "",
    ] {
        let (status, answer) = server.post_json(&path, &alice, raw);
        assert_eq!(status, 400, "{raw}: {answer}");
    }
    // A body far over the limit is refused (or the connection cut) without harm.
    let huge =
        json!({"text": "x", "drawing": data_url("image/png", &[noise.clone(), noise].concat())});
    if let Some((status, answer)) = request(&server, "POST", &path, &alice, Some(&huge.to_string()))
    {
        assert_eq!(status, 413, "{answer}");
    }
    assert!(
        items(&server, &video, &alice).is_empty(),
        "nothing was kept"
    );
    assert!(
        drawing_files(&server, &video).is_empty(),
        "no drawing left behind"
    );

    // The same checks on an edit, which leaves the comment as it was.
    let (_, mine) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "keep me", "timecode_s": 1}),
    );
    let one = format!("/api/comments/{}", mine["id"].as_str().unwrap());
    for body in [
        json!({}),
        json!({"text": ""}),
        json!({"timecode_s": 99}),
        json!({"drawing": data_url("image/png", &lying)}),
        json!({"parent_id": elsewhere}),
    ] {
        let (status, answer) = patch(&server, &one, &alice, &body);
        assert_eq!(status, 422, "{body}: {answer}");
    }
    let (_, now) = server.get(&one, &alice);
    assert_eq!(
        (now["text"].as_str(), now["edited_at"].is_null()),
        (Some("keep me"), true)
    );

    // A missing video, a malformed id, someone else's video: 404, nothing learnt.
    let missing = "/api/videos/0000000000000000/comments";
    assert_eq!(post(&server, missing, &alice, &json!({"text": "x"})).0, 404);
    assert_eq!(server.get(missing, &alice).0, 404);
    assert_eq!(
        server.get("/api/videos/..%2F..%2Fetc/comments", &alice).0,
        404
    );
    assert_eq!(server.get("/api/comments/nope", &alice).0, 404);
    assert_eq!(
        post(&server, &path, &bob, &json!({"text": "hi"})).0,
        404,
        "bob posts"
    );
    for url in [
        path.clone(),
        format!("{path}.csv"),
        format!("{path}.edl"),
        one.clone(),
    ] {
        assert_eq!(server.get(&url, &bob).0, 404, "bob reads {url}");
        assert_eq!(
            server.get(&url, "dly_wrong").0,
            401,
            "a wrong token reads {url}"
        );
    }
    assert_eq!(patch(&server, &one, &bob, &json!({"text": "mine"})).0, 404);
    assert_eq!(delete(&server, &one, &bob), 404);
    assert_eq!(delete(&server, &one, "dly_wrong"), 401);
    assert_eq!(server.get(&one, &alice).1["text"], "keep me");

    // A video that could not be processed has no frames to point at or draw on.
    let junk = pics.path().join("broken.mp4");
    std::fs::write(&junk, b"this is not a video").unwrap();
    server.drop_file(Some("alice"), "broken.mp4", &junk);
    let broken = server.wait_settled("broken.mp4");
    assert_eq!(broken["status"], "failed");
    let broken_path = format!("/api/videos/{}/comments", broken["id"].as_str().unwrap());
    for body in [
        json!({"text": "x", "timecode_s": 0}),
        json!({"text": "x", "drawing": data_url("image/png", &png)}),
    ] {
        let (status, answer) = post(&server, &broken_path, &alice, &body);
        assert_eq!(status, 409, "{body}: {answer}");
    }
    let (status, _) = post(
        &server,
        &broken_path,
        &alice,
        &json!({"text": "what happened?"}),
    );
    assert_eq!(status, 201, "a comment on the whole video is fine");
    assert_eq!(server.get(&format!("{broken_path}.edl"), &alice).0, 409);
    assert_eq!(
        server.get_bytes(&format!("{broken_path}.csv"), &alice).0,
        200
    );
    server.assert_healthy();
}

#[test]
fn a_deleted_video_takes_its_comments_when_the_trash_is_purged() {
    let mut server = Server::start("");
    let alice = server.user_token("alice", false);
    let video = ready_clip(&server, "alice", "gone.mp4", "testsrc2");
    let path = format!("/api/videos/{video}/comments");
    let (_, first) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "first", "timecode_s": 1}),
    );
    let (status, _) = post(
        &server,
        &path,
        &alice,
        &json!({"text": "reply", "parent_id": first["id"]}),
    );
    assert_eq!(status, 201);
    assert_eq!(
        delete(&server, &format!("/api/videos/{video}"), &alice),
        204
    );
    assert_eq!(
        server.get(&path, &alice).0,
        404,
        "comments go with the video"
    );
    let one = format!("/api/comments/{}", first["id"].as_str().unwrap());
    assert_eq!(server.get(&one, &alice).0, 404);
    server.kill9();
    server.extra_config = "trash_retention_days = 0.0".into();
    server.spawn();
    server.wait_until("the trash to be purged", || {
        server.sql(&format!("SELECT COUNT(*) FROM videos WHERE id = '{video}'")) == "0"
    });
    assert_eq!(
        server.sql(&format!(
            "SELECT COUNT(*) FROM comments WHERE video_id = '{video}'"
        )),
        "0"
    );
}

/// Comments without a time, then with one, many times over: every connection of the server's
/// pool sees both kinds (on PostgreSQL a statement first run with no time once refused times).
#[test]
fn comments_with_and_without_a_time_mix_freely() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let video = ready_clip(&server, "alice", "mix.mp4", "testsrc2");
    let path = format!("/api/videos/{video}/comments");
    for round in 0..3 {
        for n in 0..12 {
            let (status, c) = post(
                &server,
                &path,
                &alice,
                &json!({"text": format!("general {round}.{n}")}),
            );
            assert_eq!(status, 201, "{c}");
        }
        for n in 0..12 {
            let (status, c) = post(
                &server,
                &path,
                &alice,
                &json!({"text": format!("timed {round}.{n}"), "timecode_s": 0.5}),
            );
            assert_eq!(status, 201, "{c}");
            assert_eq!(c["timecode_s"], 0.48);
        }
    }
}
