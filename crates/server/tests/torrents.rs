//! Torrents of a server's videos, with real BitTorrent clients: aria2c downloads a video through
//! our web seed alone; libtorrent seeds a copy and aria2c finds it only through our tracker;
//! libtorrent reads a hybrid torrent and agrees on its hashes. Plus the web-seed secret (revoked,
//! wrong, ranges), the original's torrent following its owner's choice, deletion, and the tracker
//! answering every malformed request with a bencoded reason.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use dailies_torrent::{read_torrent, with_web_seeds};
use serde_json::Value;

/// Debian's python3 (the one python3-libtorrent installs into), unless told otherwise.
fn python_with_libtorrent() -> String {
    let candidates = std::env::var("DAILIES_TEST_PYTHON")
        .into_iter()
        .chain(["/usr/bin/python3".to_string(), "python3".to_string()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import libtorrent"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return python;
        }
    }
    panic!("these tests need python3-libtorrent (Debian package python3-libtorrent)");
}

fn aria2c() -> &'static str {
    let ok = Command::new("aria2c")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "these tests need aria2c (Debian package aria2)");
    "aria2c"
}

/// Runs a client to completion, killing it if it outlives `limit`.
fn run_limited(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// aria2c with every way of finding peers off except the torrent's own tracker and web seed.
fn aria2_download(torrent: &Path, out_dir: &Path) -> Output {
    std::fs::create_dir_all(out_dir).unwrap();
    run_limited(
        Command::new(aria2c())
            .arg("--no-conf")
            .arg(format!("--dir={}", out_dir.display()))
            .args([
                "--seed-time=0",
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
                "--enable-peer-exchange=false",
                "--summary-interval=0",
                "--console-log-level=warn",
                "--bt-stop-timeout=120",
                "--max-tries=3",
                "--retry-wait=1",
                "--listen-port=20000-29999",
            ])
            .arg(torrent),
        Duration::from_secs(170),
    )
}

fn assert_ok(out: &Output, server: &Server) {
    assert!(
        out.status.success(),
        "client failed ({:?}):\n{}\n{}\nserver log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
}

/// A ready 4 s video of alice's; returns its JSON once its playable torrent exists.
fn video_with_torrent(server: &Server, token: &str, dir: &Path) -> Value {
    let clip = make_clip(
        dir,
        "take.mp4",
        4.0,
        "testsrc2=size=640x360:rate=25",
        H264_AAC,
    );
    server.drop_file(Some("alice"), "take.mp4", &clip);
    let v = server.wait_settled("take.mp4");
    assert_eq!(v["status"], "ready", "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    wait_json(
        server,
        token,
        &format!("/api/videos/{id}"),
        "its torrent",
        |v| v["magnet_uri"].is_string(),
    )
}

fn wait_json(
    server: &Server,
    token: &str,
    path: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, v) = server.get(path, token);
        if status == 200 && pred(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {what}: {status} {v}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// GET without signing in, as a BitTorrent client does; `range` adds a Range header.
fn anonymous_get(url: &str, range: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = ureq::get(url);
    if let Some(r) = range {
        req = req.header("Range", r);
    }
    let res = req
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    (status, body)
}

fn send(
    method: &str,
    server: &Server,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let url = format!("{}{path}", server.base);
    let auth = format!("Bearer {token}");
    let res = match method {
        "PATCH" => ureq::patch(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(body.unwrap_or("")),
        "DELETE" => ureq::delete(&url)
            .header("Authorization", &auth)
            .config()
            .http_status_as_error(false)
            .build()
            .call(),
        other => panic!("unexpected method {other}"),
    }
    .unwrap();
    let status = res.status().as_u16();
    let text = res.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn fetch_torrent(server: &Server, token: &str, path: &str, dir: &Path, name: &str) -> PathBuf {
    let (status, ctype, bytes) = server.get_bytes(path, token);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(ctype, "application/x-bittorrent");
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn playable_bytes(server: &Server, token: &str, v: &Value) -> Vec<u8> {
    let (status, _, bytes) = server.get_bytes(v["media_url"].as_str().unwrap(), token);
    assert_eq!(status, 200);
    bytes
}

#[test]
fn aria2c_downloads_a_video_through_our_web_seed_alone() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let v = video_with_torrent(&server, &alice, dir.path());
    let id = v["id"].as_str().unwrap();

    // The magnet link names the torrent, our tracker, the web seed and the .torrent itself.
    let magnet = v["magnet_uri"].as_str().unwrap();
    let playable = &v["torrents"].as_array().unwrap()[0];
    assert_eq!(playable["rendition"], "playable");
    let v1 = playable["info_hash_v1"].as_str().unwrap();
    assert!(
        magnet.starts_with(&format!("magnet:?xt=urn:btih:{v1}")),
        "{magnet}"
    );
    for key in ["&dn=take.mp4", "&tr=", "&ws=", "&xs="] {
        assert!(magnet.contains(key), "{key} missing from {magnet}");
    }

    let torrent = fetch_torrent(
        &server,
        &alice,
        v["torrent_url"].as_str().unwrap(),
        dir.path(),
        "take.torrent",
    );
    let summary = read_torrent(&std::fs::read(&torrent).unwrap()).unwrap();
    assert_eq!(summary.info_hashes.v1_hex().as_deref(), Some(v1));
    assert_eq!(summary.name, "take.mp4");
    assert_eq!(
        summary.announce.as_deref(),
        Some(format!("{}/announce", server.base).as_str())
    );
    let seed = &summary.web_seeds[0];
    assert!(
        seed.starts_with(&format!("{}/api/webseed/{id}/", server.base)),
        "{seed}"
    );

    // No peer exists: every byte comes from the web seed.
    let out_dir = dir.path().join("out");
    let out = aria2_download(&torrent, &out_dir);
    assert_ok(&out, &server);
    let got = std::fs::read(out_dir.join("take.mp4")).expect("aria2c saved take.mp4");
    assert!(
        got == playable_bytes(&server, &alice, &v),
        "downloaded bytes differ"
    );
}

/// Seeds one torrent from `save_path` until killed; prints "seeding" once it has checked the
/// data and announced as a seeder.
const SEEDER: &str = r#"
import sys, time
import libtorrent as lt
torrent, save_path = sys.argv[1], sys.argv[2]
session = lt.session({
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": 0,
})
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent)
params.save_path = save_path
handle = session.add_torrent(params)
announced = False
deadline = time.time() + 170
while time.time() < deadline:
    status = handle.status()
    if status.errc.value() != 0:
        print("error", status.errc.message(), flush=True)
        sys.exit(1)
    if status.is_seeding and not announced:
        handle.force_reannounce()
        announced = True
        print("seeding", flush=True)
    time.sleep(0.1)
"#;

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn two_clients_exchange_pieces_through_our_tracker_without_the_web_seed() {
    let python = python_with_libtorrent();
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let v = video_with_torrent(&server, &alice, dir.path());
    let served = fetch_torrent(
        &server,
        &alice,
        v["torrent_url"].as_str().unwrap(),
        dir.path(),
        "served.torrent",
    );
    // Both clients get the torrent without its web seed: the tracker is their only way.
    let no_seed = with_web_seeds(&std::fs::read(&served).unwrap(), &[]).unwrap();
    let torrent = dir.path().join("peers-only.torrent");
    std::fs::write(&torrent, no_seed).unwrap();

    let seed_dir = dir.path().join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    std::fs::write(
        seed_dir.join("take.mp4"),
        playable_bytes(&server, &alice, &v),
    )
    .unwrap();
    let mut seeder = KillOnDrop(
        Command::new(&python)
            .arg("-c")
            .arg(SEEDER)
            .arg(&torrent)
            .arg(&seed_dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(seeder.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "seeding", "libtorrent did not seed");

    // Our tracker has the seeder before the downloader starts.
    let v1 = v["torrents"][0]["info_hash_v1"].as_str().unwrap();
    let mut raw = [0u8; 20];
    hex_decode(v1, &mut raw);
    let scrape = format!(
        "{}/scrape?info_hash={}",
        server.base,
        dailies_torrent::percent::encode(&raw)
    );
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = anonymous_get(&scrape, None);
        assert_eq!(status, 200);
        let d = dailies_torrent::bencode::decode(&body).unwrap();
        let complete = d
            .get("files")
            .and_then(|f| f.as_dict())
            .and_then(|f| f.get(&raw[..]))
            .and_then(|e| e.get("complete"))
            .and_then(|c| c.as_int());
        if complete == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the seeder never reached our tracker"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let out_dir = dir.path().join("out");
    let out = aria2_download(&torrent, &out_dir);
    drop(seeder);
    assert_ok(&out, &server);
    let got = std::fs::read(out_dir.join("take.mp4")).unwrap();
    assert!(
        got == playable_bytes(&server, &alice, &v),
        "downloaded bytes differ"
    );
}

fn hex_decode(s: &str, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
}

/// Prints the v1 and v2 info hashes libtorrent computes for a .torrent.
const READ_HASHES: &str = r#"
import sys
import libtorrent as lt
info = lt.torrent_info(sys.argv[1])
hashes = info.info_hashes()
print(str(hashes.v1) if hashes.has_v1() else "-")
print(str(hashes.v2) if hashes.has_v2() else "-")
"#;

#[test]
fn libtorrent_reads_a_hybrid_torrent_with_the_hashes_we_show() {
    let python = python_with_libtorrent();
    let server = Server::start(
        "torrent_version = \"hybrid\"\npublic_url = \"https://dailies.example:8443/review/\"",
    );
    let alice = server.user_token("alice", false);
    let dir = tempfile::tempdir().unwrap();
    let v = video_with_torrent(&server, &alice, dir.path());
    let t = &v["torrents"][0];
    assert!(t["info_hash_v2"].is_string(), "{t}");
    let torrent = fetch_torrent(
        &server,
        &alice,
        v["torrent_url"].as_str().unwrap(),
        dir.path(),
        "hybrid.torrent",
    );
    let out = Command::new(&python)
        .arg("-c")
        .arg(READ_HASHES)
        .arg(&torrent)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            t["info_hash_v1"].as_str().unwrap(),
            t["info_hash_v2"].as_str().unwrap()
        ]
    );
    // The magnet link carries both names (btih and the btmh multihash).
    let magnet = v["magnet_uri"].as_str().unwrap();
    assert!(
        magnet.contains(&format!("urn:btmh:1220{}", lines[1])),
        "{magnet}"
    );
    // Links point at the public URL, not at the address the server listens on.
    let summary = read_torrent(&std::fs::read(&torrent).unwrap()).unwrap();
    assert_eq!(
        summary.announce.as_deref(),
        Some("https://dailies.example:8443/review/announce")
    );
    assert!(
        summary.web_seeds[0].starts_with("https://dailies.example:8443/review/api/webseed/"),
        "{:?}",
        summary.web_seeds
    );
}

#[test]
fn a_bad_public_url_stops_the_server_with_a_reason() {
    let server = Server::prepare("");
    for bad in [
        "ftp://dailies.example",
        "https://user:pw@dailies.example",
        "https://dailies.example/?x=1",
        "https:///nohost",
        "http://dailies example",
    ] {
        let out = server
            .command()
            .env_remove("DAILIES_CONFIG")
            .args(["serve", "--listen", "127.0.0.1:0", "--public-url", bad])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("public_url"), "{bad}: {err}");
    }
}

#[test]
fn web_seed_secret_original_torrent_and_deletion() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let dir = tempfile::tempdir().unwrap();
    let v = video_with_torrent(&server, &alice, dir.path());
    let id = v["id"].as_str().unwrap();
    let seed = v["torrents"][0]["web_seed_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let playable = playable_bytes(&server, &alice, &v);

    // The web seed answers without signing in, with the ranges BEP 19 clients ask for.
    let (status, body) = anonymous_get(&seed, None);
    assert_eq!((status, body == playable), (200, true));
    let (status, body) = anonymous_get(&seed, Some("bytes=100-199"));
    assert_eq!((status, &body[..]), (206, &playable[100..200]));
    let (status, body) = anonymous_get(&format!("{seed}.torrent"), None);
    assert_eq!(status, 200);
    assert!(read_torrent(&body).is_ok());

    // Wrong, malformed or misplaced secrets look like nothing at all.
    let base = format!("{}/api/webseed/{id}", server.base);
    for bad in [
        format!("{base}/{}/playable", "a".repeat(32)),
        format!("{base}/short/playable"),
        format!("{base}/{}/playable", "A".repeat(32)),
        format!(
            "{}/api/webseed/notanid/{}/playable",
            server.base,
            "a".repeat(32)
        ),
        seed.replace("/playable", "/original"),
        seed.replace("/playable", "/encode-0123456789abcdef"),
        seed.replace("/playable", "/../../dailies.db"),
        seed.replace("/playable", "/%2e%2e%2fdailies.db"),
    ] {
        let (status, _) = anonymous_get(&bad, None);
        assert_eq!(status, 404, "{bad}");
    }

    // Only people who may see the video get its torrent or can revoke its secret.
    let torrent_path = format!("/api/videos/{id}/torrent");
    assert_eq!(server.get(&torrent_path, &bob).0, 404);
    assert_eq!(server.get(&torrent_path, "dly_nonsense").0, 401);
    assert_eq!(
        send(
            "DELETE",
            &server,
            &format!("/api/videos/{id}/webseed-token"),
            &bob,
            None
        )
        .0,
        404
    );
    let (status, body) = server.get(&format!("{torrent_path}?rendition=sideways"), &alice);
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("rendition"),
        "{body}"
    );
    assert_eq!(
        server
            .get(&format!("{torrent_path}?rendition=original"), &alice)
            .0,
        404
    );
    assert_eq!(
        server.get(&format!("{torrent_path}?surprise=1"), &alice).0,
        400
    );

    // Revoking the secret: old URLs die at once, the next torrent carries a new one.
    let (status, after) = send(
        "DELETE",
        &server,
        &format!("/api/videos/{id}/webseed-token"),
        &alice,
        None,
    );
    assert_eq!(status, 200, "{after}");
    assert_eq!(anonymous_get(&seed, None).0, 404);
    let new_seed = after["torrents"][0]["web_seed_url"].as_str().unwrap();
    assert_ne!(new_seed, seed);
    assert_eq!(anonymous_get(new_seed, Some("bytes=0-9")).0, 206);
    assert_eq!(
        after["torrents"][0]["info_hash_v1"], v["torrents"][0]["info_hash_v1"],
        "the secret is outside the info dict"
    );

    // The original is shared only once its owner allows downloads, and withdrawn after.
    let (status, body) = send(
        "PATCH",
        &server,
        &format!("/api/videos/{id}"),
        &alice,
        Some(r#"{"allow_downloads": "yes"}"#),
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = send(
        "PATCH",
        &server,
        &format!("/api/videos/{id}"),
        &alice,
        Some(r#"{"allow_downloads": true}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["allow_downloads"], true);
    let v = wait_json(
        &server,
        &alice,
        &format!("/api/videos/{id}"),
        "the original's torrent",
        |v| {
            v["torrents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["rendition"] == "original")
        },
    );
    let original = v["torrents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["rendition"] == "original")
        .unwrap();
    assert_eq!(original["name"], "take.mp4");
    let (status, _, bytes) =
        server.get_bytes(&format!("{torrent_path}?rendition=original"), &alice);
    assert_eq!(status, 200);
    assert_eq!(
        read_torrent(&bytes).unwrap().total_length as i64,
        v["size_bytes"].as_i64().unwrap()
    );
    let original_seed = original["web_seed_url"].as_str().unwrap().to_owned();
    assert_eq!(anonymous_get(&original_seed, Some("bytes=0-3")).0, 206);
    let (status, _) = send(
        "PATCH",
        &server,
        &format!("/api/videos/{id}"),
        &alice,
        Some(r#"{"allow_downloads": false}"#),
    );
    assert_eq!(status, 200);
    assert_eq!(
        anonymous_get(&original_seed, None).0,
        404,
        "no longer shared"
    );
    assert_eq!(
        server
            .get(&format!("{torrent_path}?rendition=original"), &alice)
            .0,
        404
    );

    // A finished encode is shared too, under its own rendition.
    let (status, e) = server.post_json(
        &format!("/api/videos/{id}/encodes"),
        &alice,
        r#"{"codec":"h264","container":"mkv","quality":{"crf":35},"preset":"ultrafast","max_height":144,"audio":"none"}"#,
    );
    assert_eq!(status, 201, "{e}");
    let rendition = format!("encode-{}", e["id"].as_str().unwrap());
    let v = wait_json(
        &server,
        &alice,
        &format!("/api/videos/{id}"),
        "the encode's torrent",
        |v| {
            v["torrents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["rendition"] == rendition.as_str())
        },
    );
    let encode_torrent = v["torrents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["rendition"] == rendition.as_str())
        .unwrap();
    assert!(encode_torrent["name"].as_str().unwrap().ends_with(".mkv"));
    let (status, _, encoded) = server.get_bytes(
        &format!("/api/encodes/{}/download", e["id"].as_str().unwrap()),
        &alice,
    );
    assert_eq!(status, 200);
    let (status, body) = anonymous_get(encode_torrent["web_seed_url"].as_str().unwrap(), None);
    assert_eq!((status, body == encoded), (200, true));

    // A deleted video: its web seed is gone and the tracker forgets its torrent.
    let playable_torrent = v["torrents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["rendition"] == "playable")
        .unwrap();
    let v1 = playable_torrent["info_hash_v1"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut raw = [0u8; 20];
    hex_decode(&v1, &mut raw);
    let announce = format!(
        "{}/announce?info_hash={}&peer_id=-XX0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=10&compact=1",
        server.base,
        dailies_torrent::percent::encode(&raw)
    );
    let (status, body) = anonymous_get(&announce, None);
    assert_eq!(status, 200);
    let d = dailies_torrent::bencode::decode(&body).unwrap();
    assert!(
        d.get("interval").is_some(),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(
        send(
            "DELETE",
            &server,
            &format!("/api/videos/{id}"),
            &alice,
            None
        )
        .0,
        204
    );
    assert_eq!(anonymous_get(new_seed, None).0, 404);
    let (status, body) = anonymous_get(&announce, None);
    assert_eq!(status, 200);
    let d = dailies_torrent::bencode::decode(&body).unwrap();
    assert!(
        d.get("failure reason").is_some(),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[test]
fn the_tracker_answers_every_malformed_request_with_a_reason() {
    let server = Server::start("");
    let hash = "%01".repeat(20);
    let ok_rest = "peer_id=-XX0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=10";
    for query in [
        String::new(),
        format!("info_hash={}&{ok_rest}", "%01".repeat(19)),
        format!("info_hash={}&{ok_rest}", "%01".repeat(21)),
        format!(
            "info_hash={hash}&{}",
            ok_rest.replace("port=6881", "port=0")
        ),
        format!(
            "info_hash={hash}&{}",
            ok_rest.replace("port=6881", "port=70000")
        ),
        format!(
            "info_hash={hash}&{}",
            ok_rest.replace("port=6881", "port=http")
        ),
        format!(
            "info_hash={hash}&{}",
            ok_rest.replace("peer_id=-XX0001-abcdefghijkl&", "")
        ),
        format!("info_hash={hash}&{}", ok_rest.replace("left=10", "left=-1")),
        format!("info_hash={hash}&{ok_rest}&event=exploded"),
        format!("info_hash={hash}&info_hash={hash}&{ok_rest}"),
        format!("info_hash=%zz&{ok_rest}"),
        // Well-formed, but not a torrent of this server: private by default.
        format!("info_hash={hash}&{ok_rest}"),
    ] {
        let (status, body) = anonymous_get(&format!("{}/announce?{query}", server.base), None);
        assert_eq!(status, 200, "{query}");
        let d = dailies_torrent::bencode::decode(&body)
            .unwrap_or_else(|e| panic!("{query}: not bencode ({e}): {body:?}"));
        let reason = d
            .get("failure reason")
            .and_then(|r| r.as_str())
            .unwrap_or_default();
        assert!(
            !reason.is_empty(),
            "{query}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    for query in ["info_hash=%01", "info_hash=%zz", "nonsense"] {
        let (status, body) = anonymous_get(&format!("{}/scrape?{query}", server.base), None);
        assert_eq!(status, 200, "{query}");
        let d = dailies_torrent::bencode::decode(&body).unwrap();
        assert!(d.get("failure reason").is_some(), "{query}");
    }
    server.assert_healthy();
}
