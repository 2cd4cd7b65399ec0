//! Live updates: Server-Sent Events and WebSocket clients see the whole life of a job in order,
//! a reconnecting client gets exactly what it missed, nobody sees events about videos they may
//! not see, and a WebSocket client that does not read is dropped while others keep receiving.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::sse::sse;
use common::*;
use serde_json::{Value, json};
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::coding::CloseCode;

/// Torrent jobs, queued as processing ends, would interleave their own lives with the one each
/// test follows; torrents have their own tests (torrents.rs).
const WHOLE_LIFE: &str = "torrents = false";

fn kinds(events: &[(i64, Value)]) -> Vec<String> {
    events
        .iter()
        .map(|(_, e)| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn is_ready(e: &Value) -> bool {
    e["kind"] == "video.updated" && e["data"]["status"] == "ready"
}

fn rename(server: &Server, token: &str, video: &str, title: &str) {
    let res = ureq::patch(&format!("{}/api/videos/{video}", server.base))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(json!({ "title": title }))
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[test]
fn sse_shows_a_job_from_start_to_finish_and_replays_exactly_what_was_missed() {
    let server = Server::start(WHOLE_LIFE);
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let (_, alice_stream) = sse(&server, &alice, "", None);
    let mut alice_stream = alice_stream.unwrap();
    let (_, bob_stream) = sse(&server, &bob, "", None);
    let mut bob_stream = bob_stream.unwrap();

    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "scene.mp4");
    server.drop_file(Some("alice"), "scene.mp4", &clip);
    let life = alice_stream.until(is_ready);

    // The whole life, in order, with increasing ids, all about the one video.
    let ks = kinds(&life);
    let essential: Vec<&str> = ks
        .iter()
        .map(String::as_str)
        .filter(|k| *k != "job.progress")
        .collect();
    assert_eq!(
        essential,
        [
            "video.created",
            "job.queued",
            "job.started",
            "job.done",
            "video.updated"
        ],
        "{ks:?}"
    );
    assert!(life.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");
    let video = life[0].1["video_id"].as_str().unwrap().to_owned();
    assert!(life.iter().all(|(_, e)| e["video_id"] == video.as_str()));
    let job = &life[1].1["job_id"];
    assert!(
        life[1..life.len() - 1]
            .iter()
            .all(|(_, e)| e["job_id"] == *job)
    );

    // A client that lost its connection after the second event resumes with Last-Event-ID and
    // is sent exactly the rest, then the live stream.
    let (status, resumed) = sse(&server, &alice, "", Some(&life[1].0.to_string()));
    assert_eq!(status, 200);
    let mut resumed = resumed.unwrap();
    let replayed: Vec<i64> = (2..life.len()).map(|_| resumed.next().0).collect();
    let expected: Vec<i64> = life[2..].iter().map(|(id, _)| *id).collect();
    assert_eq!(replayed, expected);
    rename(&server, &alice, &video, "Scene 1, take 2");
    let (_, next) = resumed.next();
    assert_eq!(next["kind"], "video.updated");
    assert_eq!(next["data"]["title"], "Scene 1, take 2");
    let (_, live) = alice_stream.next();
    assert_eq!(live["data"]["title"], "Scene 1, take 2");

    // Filters: only this video's job events.
    let (_, filtered) = sse(
        &server,
        &alice,
        &format!("video={video}&kind=job.*"),
        Some("0"),
    );
    let mut filtered = filtered.unwrap();
    let jobs = filtered.until(|e| e["kind"] == "job.done");
    assert!(
        jobs.iter()
            .all(|(_, e)| e["kind"].as_str().unwrap().starts_with("job."))
    );
    assert_eq!(jobs[0].1["kind"], "job.queued");

    // Bob saw none of it: the first thing he is sent is about his own video.
    server.drop_file(Some("bob"), "bobs.mp4", &clip);
    let (_, first) = bob_stream.next();
    assert_eq!(first["kind"], "video.created");
    assert_ne!(first["video_id"], video.as_str());
    // Replaying the whole log shows him no more.
    let (_, replay) = sse(&server, &bob, "", Some("0"));
    let (_, first_replayed) = replay.unwrap().next();
    assert_eq!(first_replayed["video_id"], first["video_id"]);
    // And he cannot ask for alice's video: it does not exist for him.
    assert_eq!(sse(&server, &bob, &format!("video={video}"), None).0, 404);
}

#[test]
fn malformed_subscriptions_are_refused_with_a_reason() {
    let server = Server::start(WHOLE_LIFE);
    let t = server.admin_token.clone();
    for (query, last) in [
        ("kind=job.finished", None),
        ("kind=*", None),
        ("video=../../etc", None),
        ("since=-4", None),
        ("since=soon", None),
        ("colour=blue", None),
        ("", Some("yesterday")),
        ("", Some("-1")),
    ] {
        let (status, _) = sse(&server, &t, query, last);
        assert_eq!(status, 400, "{query} / {last:?}");
    }
    let res = ureq::get(&format!("{}/api/events", server.base))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401, "no token, no events");
    server.assert_healthy();
}

type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

fn ws(server: &Server, token: &str, query: &str) -> Ws {
    let mut req = format!("ws://127.0.0.1:{}/api/ws?{query}", server.port)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, res) = tungstenite::connect(req).unwrap();
    assert_eq!(res.status().as_u16(), 101);
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = socket.get_mut() {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    }
    socket
}

/// The next JSON text message (pings and pongs are answered by the client library).
fn recv(socket: &mut Ws) -> Value {
    loop {
        match socket.read().expect("the WebSocket broke") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

fn send(socket: &mut Ws, v: Value) {
    socket.send(Message::text(v.to_string())).unwrap();
}

#[test]
fn websocket_clients_follow_topics_and_one_that_does_not_read_is_dropped() {
    let server = Server::start(WHOLE_LIFE);
    let alice = server.user_token("alice", false);
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "ws.mp4");

    let mut fast = ws(&server, &alice, "kind=video.*");
    assert_eq!(recv(&mut fast)["type"], "subscribed");
    send(&mut fast, json!({"type": "ping", "data": 7}));
    assert_eq!(recv(&mut fast), json!({"type": "pong", "data": 7}));
    send(&mut fast, json!({"type": "dance"}));
    assert_eq!(
        recv(&mut fast)["type"],
        "error",
        "an unknown command is answered"
    );
    fast.send(Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(recv(&mut fast)["type"], "error", "binary is answered");
    send(
        &mut fast,
        json!({"type": "subscribe", "videos": crate_id()}),
    );
    assert_eq!(
        recv(&mut fast)["type"],
        "error",
        "a video that does not exist cannot be followed"
    );
    send(&mut fast, json!({"type": "subscribe", "kinds": "job.*"}));
    let sub = recv(&mut fast);
    assert_eq!(sub["type"], "subscribed");

    server.drop_file(Some("alice"), "ws.mp4", &clip);
    let mut seen = Vec::new();
    loop {
        let e = recv(&mut fast);
        seen.push(e["kind"].as_str().unwrap().to_owned());
        if is_ready(&e) {
            break;
        }
    }
    let essential: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|k| *k != "job.progress")
        .collect();
    assert_eq!(
        essential,
        [
            "video.created",
            "job.queued",
            "job.started",
            "job.done",
            "video.updated"
        ]
    );
    send(&mut fast, json!({"type": "unsubscribe", "kinds": "job.*"}));
    assert_eq!(recv(&mut fast)["type"], "subscribed");
    let video = server.videos()[0]["id"].as_str().unwrap().to_owned();

    // A client that never reads. Events are made (renames) until the server gives up on it;
    // meanwhile the reading client receives every one of them, in order.
    let mut slow = ws(&server, &alice, "kind=video.updated");
    let reader = std::thread::spawn(move || {
        let mut titles = Vec::new();
        loop {
            let e = recv(&mut fast);
            if e["kind"] == "video.updated" {
                let t = e["data"]["title"].as_str().unwrap().to_owned();
                let done = t == "end";
                titles.push(t);
                if done {
                    return titles;
                }
            }
        }
    });
    // Four writers make events until the server gives up on the slow client.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let deadline = Instant::now() + PATIENCE;
    let mut made: Vec<String> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (server, alice, video, stop) = (&server, &alice, &video, &stop);
                s.spawn(move || {
                    let padding = "x".repeat(180);
                    let mut made = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let title = format!("{w}-{} {padding}", made.len());
                        rename(server, alice, video, &title);
                        made.push(title);
                    }
                    made
                })
            })
            .collect();
        while !server.log_text().contains("closing a WebSocket client") {
            assert!(
                Instant::now() < deadline,
                "the slow client was never dropped"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    println!(
        "{} events made before the slow client was dropped",
        made.len()
    );
    rename(&server, &alice, &video, "end");
    let mut titles = reader.join().unwrap();
    assert_eq!(
        titles.pop().as_deref(),
        Some("end"),
        "the last event came last"
    );
    titles.sort();
    made.sort();
    assert_eq!(
        titles.len(),
        made.len(),
        "the reading client got every event"
    );
    assert!(
        titles == made,
        "the reading client got other events than were made"
    );

    // The slow client finds, after what was queued for it, a close with a reason.
    let closed = loop {
        match slow.read() {
            Ok(Message::Close(f)) => break f,
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    };
    let frame = closed.expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::Library(4008));
    assert!(frame.reason.contains("too slow"), "{}", frame.reason);
    server.assert_healthy();
}

fn crate_id() -> String {
    // Well-formed, but nobody's video.
    "0123456789abcdef".to_owned()
}

#[test]
fn websocket_resumes_from_an_event_id() {
    let server = Server::start(WHOLE_LIFE);
    let t = server.admin_token.clone();
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "resume.mp4");
    server.drop_file(Some("admin"), "resume.mp4", &clip);
    let (_, all) = sse(&server, &t, "", Some("0"));
    let all = all.unwrap().until(is_ready);
    let mut socket = ws(&server, &t, &format!("since={}", all[2].0));
    assert_eq!(recv(&mut socket)["type"], "subscribed");
    for (id, _) in &all[3..] {
        assert_eq!(recv(&mut socket)["id"], json!(id));
    }
    // And again on request, from the first.
    send(&mut socket, json!({"type": "resume", "since": all[0].0}));
    for (id, _) in &all[1..] {
        assert_eq!(recv(&mut socket)["id"], json!(id));
    }
    let mut raw = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::io::Write::write_all(
        &mut raw,
        b"GET /api/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .unwrap();
    let mut head = [0u8; 12];
    raw.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 401", "no token, no socket");
}
