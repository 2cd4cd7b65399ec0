//! Two real clients exchange pieces through our tracker: libtorrent seeds from a local copy,
//! aria2c downloads with no web seed (and DHT, LSD and peer exchange off, the torrent private),
//! so the only way it can find the seeder is the peer list our tracker hands out.
//!
//! The torrent is v1: aria2 1.36 (Debian 12) computes a wrong v1 info hash for hybrid torrents
//! (it drops the empty key inside `file tree` before hashing; fixed upstream after 1.36), so on a
//! private tracker it would be told "unregistered torrent". Its web seed download of a hybrid
//! torrent works (aria2_web_seed.rs).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dailies_torrent::tracker::{Tracker, TrackerConfig};
use dailies_torrent::{TorrentSpec, TorrentVersion, create_torrent};

/// Seeds one torrent from `save_path` until killed; prints "seeding" once it has checked the data
/// and announced as a seeder.
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
        try:
            handle.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
        except Exception:
            handle.force_reannounce()
        announced = True
        print("seeding", flush=True)
    time.sleep(0.1)
"#;

/// The seeder process, killed (by its own id) however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn aria2c_downloads_from_a_libtorrent_seeder_found_through_our_tracker() {
    let python = common::python_with_libtorrent();
    let aria2c = common::aria2c();
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&seed_dir).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let data = common::content(4 * 1024 * 1024 + 4321, 7);
    let source = common::write(&seed_dir, "clip.mp4", &data);

    let server = common::TrackerServer::start(Tracker::new(TrackerConfig::default()));
    let mut spec = TorrentSpec::single_file(&source, "clip.mp4");
    spec.version = TorrentVersion::V1;
    spec.private = true;
    spec.announce = Some(server.announce_url());
    let torrent = create_torrent(&spec).unwrap();
    assert!(torrent.web_seeds.is_empty());
    server.tracker.allow_torrent(&torrent.info_hashes);
    let torrent_path = common::write(dir.path(), "clip.torrent", &torrent.bytes);

    let mut seeder = KillOnDrop(
        Command::new(&python)
            .arg("-c")
            .arg(SEEDER)
            .arg(&torrent_path)
            .arg(&seed_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the libtorrent seeder"),
    );
    let mut seeder_out = BufReader::new(seeder.0.stdout.take().unwrap());
    let mut line = String::new();
    seeder_out.read_line(&mut line).unwrap();
    if line.trim() != "seeding" {
        panic!("libtorrent did not start seeding: {line:?}");
    }
    // Wait until our tracker has recorded the seeder.
    let v1 = torrent.info_hashes.v1.unwrap();
    let scrape_query = format!("info_hash={}", dailies_torrent::percent::encode(&v1));
    let start = Instant::now();
    let local = "127.0.0.1".parse().unwrap();
    loop {
        let body = server.tracker.scrape(&scrape_query, local);
        let v = dailies_torrent::bencode::decode(&body).unwrap();
        let complete = v
            .get("files")
            .and_then(|f| f.as_dict())
            .and_then(|f| f.get(&v1[..]))
            .and_then(|e| e.get("complete"))
            .and_then(|c| c.as_int());
        if complete == Some(1) {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            panic!(
                "the seeder never announced to our tracker; requests seen: {:?}",
                server.seen.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let output = common::run_with_limit(
        Command::new(&aria2c)
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
            ])
            .arg(common::ARIA2_LISTEN_PORTS)
            .arg(&torrent_path),
        Duration::from_secs(150),
    );
    drop(seeder);
    assert!(
        output.status.success(),
        "aria2c failed ({:?}):\n{}\n{}\ntracker saw: {:?}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.seen.lock().unwrap()
    );
    let downloaded = std::fs::read(out_dir.join("clip.mp4")).expect("aria2c wrote clip.mp4");
    assert!(
        downloaded == data,
        "downloaded bytes differ from the original"
    );
    let seen = server.seen.lock().unwrap().clone();
    // aria2c announced itself (peer id "A2-…") and, finished, reported nothing left.
    assert!(
        seen.iter()
            .any(|t| t.contains("peer_id=A2-") && t.contains("&left=0&")),
        "aria2c never told the tracker it had finished: {seen:?}"
    );
}

/// Two libtorrent sessions in one process: a seeder over `seed_dir` and a downloader into
/// `out_dir`, each on its own port, knowing nothing of each other but the tracker. Prints
/// "done" when the downloader has every piece (checked by libtorrent against v1 and v2 hashes).
const TWO_SESSIONS: &str = r#"
import sys, time
import libtorrent as lt
torrent, seed_dir, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
def session():
    return lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": 0,
    })
def add(s, save_path):
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = save_path
    return s.add_torrent(params)
seed_session, leech_session = session(), session()
seeder = add(seed_session, seed_dir)
while not seeder.status().is_seeding:
    time.sleep(0.05)
try:
    seeder.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
except Exception:
    seeder.force_reannounce()
time.sleep(0.5)
leecher = add(leech_session, out_dir)
deadline = time.time() + 120
while time.time() < deadline:
    status = leecher.status()
    if status.is_seeding:
        print("done", status.num_pieces, flush=True)
        sys.exit(0)
    time.sleep(0.1)
print("timeout", leecher.status().num_pieces, flush=True)
sys.exit(1)
"#;

#[test]
fn libtorrent_peers_swarm_a_hybrid_torrent_through_our_tracker() {
    let python = common::python_with_libtorrent();
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&seed_dir).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let data = common::content(3 * 1024 * 1024 + 999, 8);
    let source = common::write(&seed_dir, "clip.mp4", &data);

    let server = common::TrackerServer::start(Tracker::new(TrackerConfig::default()));
    let mut spec = TorrentSpec::single_file(&source, "clip.mp4");
    spec.version = TorrentVersion::Hybrid;
    spec.private = true;
    spec.announce = Some(server.announce_url());
    let torrent = create_torrent(&spec).unwrap();
    server.tracker.allow_torrent(&torrent.info_hashes);
    let torrent_path = common::write(dir.path(), "clip.torrent", &torrent.bytes);

    let output = common::run_with_limit(
        Command::new(&python)
            .arg("-c")
            .arg(TWO_SESSIONS)
            .arg(&torrent_path)
            .arg(&seed_dir)
            .arg(&out_dir),
        Duration::from_secs(170),
    );
    assert!(
        output.status.success(),
        "libtorrent did not complete the download: {}\n{}\ntracker saw: {:?}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.seen.lock().unwrap()
    );
    let downloaded = std::fs::read(out_dir.join("clip.mp4")).expect("libtorrent wrote clip.mp4");
    assert!(
        downloaded == data,
        "downloaded bytes differ from the original"
    );
    // Both swarms of the hybrid torrent were announced and answered: v1 and truncated v2.
    let seen = server.seen.lock().unwrap().clone();
    let announced: Vec<[u8; 20]> = seen
        .iter()
        .filter_map(|t| t.strip_prefix("/announce?"))
        .filter_map(|q| dailies_torrent::tracker::parse_announce(q).ok())
        .map(|r| r.info_hash)
        .collect();
    for key in torrent.info_hashes.tracker_keys() {
        assert!(
            announced.contains(&key),
            "no announce for {key:?}: {seen:?}"
        );
    }
}
