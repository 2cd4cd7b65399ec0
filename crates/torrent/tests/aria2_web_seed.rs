//! aria2c downloads a file from our .torrent through its web seed alone (no tracker, no DHT, no
//! peers) and the result is byte-identical: the `url-list` and piece hashes work in a real
//! client, and the ranges a web seed client asks for are the ones our file endpoint must serve.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use dailies_torrent::{
    TorrentSpec, TorrentVersion, create_torrent, read_info_hashes, with_web_seeds,
};

fn download_through_web_seed(version: TorrentVersion) {
    let aria2c = common::aria2c();
    let dir = tempfile::tempdir().unwrap();
    let data = common::content(5 * 1024 * 1024 + 777, 42);
    let source = common::write(dir.path(), "source.bin", &data);
    let server = common::RangeServer::start(HashMap::from([(
        "/api/videos/abc/media".to_string(),
        data.clone(),
    )]));

    let mut spec = TorrentSpec::single_file(&source, "clip.mp4");
    spec.version = version;
    spec.web_seeds = vec![server.url("/api/videos/abc/media?dl=revoked")];
    let torrent = create_torrent(&spec).unwrap();
    // As the server will: one stored torrent, its web seed swapped per download for a URL with
    // a fresh token, without hashing again and without changing the info hash.
    let bytes = with_web_seeds(
        &torrent.bytes,
        &[server.url("/api/videos/abc/media?dl=token123")],
    )
    .unwrap();
    assert_eq!(read_info_hashes(&bytes).unwrap(), torrent.info_hashes);
    let torrent_path = common::write(dir.path(), "clip.torrent", &bytes);
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();

    let output = common::run_with_limit(
        Command::new(aria2c)
            .arg("--no-conf")
            .arg(format!("--dir={}", out_dir.display()))
            .args([
                "--seed-time=0",
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
                "--enable-peer-exchange=false",
                "--check-integrity=true",
                "--summary-interval=0",
                "--console-log-level=warn",
                "--max-tries=3",
                "--retry-wait=1",
                "--timeout=20",
            ])
            .arg(common::ARIA2_LISTEN_PORTS)
            .arg(&torrent_path),
        Duration::from_secs(180),
    );
    assert!(
        output.status.success(),
        "aria2c failed ({:?}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let downloaded = std::fs::read(out_dir.join("clip.mp4")).expect("aria2c wrote clip.mp4");
    assert_eq!(downloaded.len(), data.len());
    assert!(
        downloaded == data,
        "downloaded bytes differ from the original"
    );

    let seen = server.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|r| r.method == "GET" && r.status == 206 && r.range.is_some()),
        "aria2c made no range request to the web seed: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|r| r.target == "/api/videos/abc/media?dl=token123"),
        "aria2c asked for another URL than the web seed, token included: {seen:?}"
    );
}

#[test]
fn aria2c_downloads_a_v1_torrent_from_the_web_seed() {
    download_through_web_seed(TorrentVersion::V1);
}

#[test]
fn aria2c_downloads_a_hybrid_torrent_from_the_web_seed() {
    download_through_web_seed(TorrentVersion::Hybrid);
}
