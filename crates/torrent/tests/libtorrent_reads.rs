//! libtorrent (Debian's python3-libtorrent) reads our v1 and hybrid torrents, computes the same
//! info hashes, and, given the data, verifies every piece against our hashes (v1 SHA-1 and, for
//! hybrid torrents, the v2 merkle trees and piece layers).

mod common;

use std::process::Command;
use std::time::Duration;

use dailies_torrent::bencode::{self, Value};
use dailies_torrent::{
    Content, CreatedTorrent, SourceFile, TorrentSpec, TorrentVersion, create_torrent,
};

/// For each `.torrent` and save path pair: load it, print the hashes libtorrent computes, then let
/// it check the data in the save path and print how many pieces it found valid.
const SCRIPT: &str = r#"
import sys, time
import libtorrent as lt
session = lt.session({
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "alert_mask": 0,
})
args = sys.argv[1:]
for path, save_path in zip(args[0::2], args[1::2]):
    ti = lt.torrent_info(path)
    ih = ti.info_hashes()
    v1 = str(ih.v1) if ih.has_v1() else "-"
    v2 = str(ih.v2) if ih.has_v2() else "-"
    params = lt.add_torrent_params()
    params.ti = ti
    params.save_path = save_path
    handle = session.add_torrent(params)
    deadline = time.time() + 60
    while time.time() < deadline:
        status = handle.status()
        checked = status.state in (lt.torrent_status.seeding, lt.torrent_status.finished, lt.torrent_status.downloading)
        if checked or status.errc.value() != 0:
            break
        time.sleep(0.05)
    status = handle.status()
    print(v1, v2, ti.num_pieces(), ti.total_size(), status.num_pieces, str(status.state), status.errc.message() if status.errc.value() else "ok")
    session.remove_torrent(handle)
"#;

struct Seen {
    v1: String,
    v2: String,
    num_pieces: u64,
    total_size: u64,
    verified_pieces: u64,
    error: String,
}

fn libtorrent_view(torrents: &[(std::path::PathBuf, std::path::PathBuf)]) -> Vec<Seen> {
    let python = common::python_with_libtorrent();
    let output = common::run_with_limit(
        Command::new(python)
            .arg("-c")
            .arg(SCRIPT)
            .args(torrents.iter().flat_map(|(t, save)| [t, save])),
        Duration::from_secs(240),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "libtorrent failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.splitn(7, ' ').collect();
            Seen {
                v1: f[0].to_string(),
                v2: f[1].to_string(),
                num_pieces: f[2].parse().unwrap(),
                total_size: f[3].parse().unwrap(),
                verified_pieces: f[4].parse().unwrap(),
                error: f[6].to_string(),
            }
        })
        .collect()
}

fn check(created: &CreatedTorrent, seen: &Seen, label: &str) {
    assert_eq!(seen.error, "ok", "{label}: libtorrent reported an error");
    assert_eq!(
        Some(seen.v1.clone()),
        created.info_hashes.v1_hex(),
        "{label}: v1 info hash"
    );
    assert_eq!(
        seen.v2,
        created.info_hashes.v2_hex().unwrap_or_else(|| "-".into()),
        "{label}: v2 info hash"
    );
    // libtorrent counts pad files in the size; the content alone is `total_length`.
    let info = bencode::decode(&created.bytes)
        .unwrap()
        .get("info")
        .unwrap()
        .clone();
    let padded_total: i64 = match info.get("length").and_then(Value::as_int) {
        Some(length) => length,
        None => info
            .get("files")
            .and_then(Value::as_list)
            .unwrap()
            .iter()
            .filter_map(|f| f.get("length").and_then(Value::as_int))
            .sum(),
    };
    assert_eq!(seen.total_size, padded_total as u64, "{label}: size");
    assert_eq!(
        seen.num_pieces,
        (padded_total as u64).div_ceil(created.piece_length),
        "{label}: piece count"
    );
    assert_eq!(
        seen.verified_pieces, seen.num_pieces,
        "{label}: libtorrent found pieces whose data does not match our hashes"
    );
}

#[test]
fn libtorrent_agrees_on_hashes_and_verifies_our_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(data_dir.join("reel/sub")).unwrap();
    // Single file: several pieces with a short last piece, at the chosen and a forced size.
    let clip = common::content(3 * 1024 * 1024 + 12_345, 1);
    let clip_path = common::write(&data_dir, "clip.mp4", &clip);
    // Multi-file: sizes off piece boundaries so the hybrid torrent needs pad files.
    let a = common::content(100_000, 2);
    let b = common::content(7, 3);
    let c = common::content(70_000, 4);
    let files = vec![
        SourceFile {
            path: vec!["a.mov".into()],
            source: common::write(&data_dir.join("reel"), "a.mov", &a),
        },
        SourceFile {
            path: vec!["sub".into(), "b.txt".into()],
            source: common::write(&data_dir.join("reel/sub"), "b.txt", &b),
        },
        SourceFile {
            path: vec!["z.wav".into()],
            source: common::write(&data_dir.join("reel"), "z.wav", &c),
        },
    ];

    let mut made = Vec::new();
    for (label, version, piece_length) in [
        ("v1 single", TorrentVersion::V1, None),
        ("hybrid single", TorrentVersion::Hybrid, None),
        (
            "hybrid single 64 KiB",
            TorrentVersion::Hybrid,
            Some(64 * 1024),
        ),
    ] {
        let mut spec = TorrentSpec::single_file(&clip_path, "clip.mp4");
        spec.version = version;
        spec.piece_length = piece_length;
        spec.web_seeds = vec!["http://127.0.0.1:9/clip.mp4".into()];
        made.push((label, create_torrent(&spec).unwrap()));
    }
    for (label, version) in [
        ("v1 multi", TorrentVersion::V1),
        ("hybrid multi", TorrentVersion::Hybrid),
    ] {
        let mut spec = TorrentSpec::single_file(&clip_path, "reel");
        spec.content = Content::Files(files.clone());
        spec.version = version;
        spec.piece_length = Some(32 * 1024);
        made.push((label, create_torrent(&spec).unwrap()));
    }
    let mut private = TorrentSpec::single_file(&clip_path, "clip.mp4");
    private.version = TorrentVersion::Hybrid;
    private.private = true;
    private.announce = Some("http://127.0.0.1:9/announce".into());
    made.push(("hybrid private", create_torrent(&private).unwrap()));

    let mut jobs: Vec<_> = made
        .iter()
        .enumerate()
        .map(|(i, (_, t))| {
            let path = common::write(dir.path(), &format!("{i}.torrent"), &t.bytes);
            (path, data_dir.clone())
        })
        .collect();
    // The same hybrid torrent over a copy with one byte changed in its second piece: libtorrent
    // must find exactly that piece bad, which shows the check above is a real one.
    let corrupt_dir = dir.path().join("corrupt");
    std::fs::create_dir_all(&corrupt_dir).unwrap();
    let mut corrupt = clip.clone();
    let hybrid = &made[1].1;
    corrupt[hybrid.piece_length as usize + 100] ^= 0xff;
    common::write(&corrupt_dir, "clip.mp4", &corrupt);
    jobs.push((jobs[1].0.clone(), corrupt_dir));

    let seen = libtorrent_view(&jobs);
    assert_eq!(seen.len(), made.len() + 1);
    for ((label, created), seen) in made.iter().zip(&seen) {
        check(created, seen, label);
    }
    let corrupted = &seen[made.len()];
    assert_eq!(corrupted.v1, hybrid.info_hashes.v1_hex().unwrap());
    assert_eq!(
        corrupted.verified_pieces,
        corrupted.num_pieces - 1,
        "libtorrent should reject exactly the corrupted piece"
    );
}
