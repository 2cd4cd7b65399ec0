//! Torrents made from real files, checked against the definitions written out plainly here
//! (v1 SHA-1 pieces, v2 merkle roots and piece layers, BEP 47 pad files).

use std::path::Path;

use dailies_torrent::bencode::{self, Value};
use dailies_torrent::{
    Content, CreateError, SourceFile, TorrentSpec, TorrentVersion, create_torrent,
    create_torrent_with_progress, read_info_hashes, read_torrent,
};
use sha1::{Digest, Sha1};
use sha2::Sha256;

const BLOCK: usize = 16 * 1024;

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (((i as u64 * 2_654_435_761) >> 13) as u8) ^ seed)
        .collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn spec(path: &Path, name: &str, version: TorrentVersion) -> TorrentSpec {
    let mut spec = TorrentSpec::single_file(path, name);
    spec.version = version;
    spec.creation_date = Some(1_700_000_000);
    spec.announce = Some("http://127.0.0.1:1/announce".into());
    spec.web_seeds = vec!["http://127.0.0.1:1/file.bin".into()];
    spec
}

fn v1_pieces(data: &[u8], piece: usize) -> Vec<u8> {
    data.chunks(piece)
        .flat_map(|c| Sha1::digest(c).to_vec())
        .collect()
}

fn merkle(mut layer: Vec<[u8; 32]>, width: usize) -> [u8; 32] {
    layer.resize(width, [0; 32]);
    while layer.len() > 1 {
        layer = layer
            .chunks(2)
            .map(|p| {
                let mut h = Sha256::new();
                h.update(p[0]);
                h.update(p[1]);
                h.finalize().into()
            })
            .collect();
    }
    layer[0]
}

fn leaves(data: &[u8]) -> Vec<[u8; 32]> {
    data.chunks(BLOCK)
        .map(|b| Sha256::digest(b).into())
        .collect()
}

/// BEP 52 written out: the root over all leaves padded with zero leaves, and the layer of
/// piece-sized subtrees.
fn v2_root_and_layer(data: &[u8], piece: usize) -> ([u8; 32], Vec<u8>) {
    let leaves = leaves(data);
    let per_piece = piece / BLOCK;
    let mut width = leaves.len().next_power_of_two();
    if data.len() > piece {
        width = width.max(per_piece);
    }
    let root = merkle(leaves.clone(), width);
    let layer = if data.len() > piece {
        leaves
            .chunks(per_piece)
            .flat_map(|c| merkle(c.to_vec(), per_piece))
            .collect()
    } else {
        Vec::new()
    };
    (root, layer)
}

fn info(torrent: &[u8]) -> Value {
    bencode::decode(torrent)
        .unwrap()
        .get("info")
        .unwrap()
        .clone()
}

#[test]
fn v1_single_file_torrent_has_the_expected_metainfo() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(100_000, 1);
    let path = write(dir.path(), "clip.mp4", &data);
    let mut s = spec(&path, "clip.mp4", TorrentVersion::V1);
    s.piece_length = Some(32 * 1024);
    let t = create_torrent(&s).unwrap();

    let top = bencode::decode(&t.bytes).unwrap();
    assert_eq!(
        top.get("announce").and_then(Value::as_str),
        Some("http://127.0.0.1:1/announce")
    );
    assert_eq!(
        top.get("creation date").and_then(Value::as_int),
        Some(1_700_000_000)
    );
    assert_eq!(
        top.get("url-list").and_then(Value::as_list),
        Some(&[Value::bytes("http://127.0.0.1:1/file.bin")][..])
    );
    assert!(top.get("piece layers").is_none());
    let info = info(&t.bytes);
    assert_eq!(info.get("name").and_then(Value::as_str), Some("clip.mp4"));
    assert_eq!(info.get("length").and_then(Value::as_int), Some(100_000));
    assert_eq!(
        info.get("piece length").and_then(Value::as_int),
        Some(32 * 1024)
    );
    assert_eq!(
        info.get("pieces").and_then(Value::as_bytes),
        Some(&v1_pieces(&data, 32 * 1024)[..])
    );
    assert!(info.get("meta version").is_none());
    assert!(info.get("private").is_none());

    let expected_v1: [u8; 20] = Sha1::digest(bencode::encode(&info)).into();
    assert_eq!(t.info_hashes.v1, Some(expected_v1));
    assert_eq!(t.info_hashes.v2, None);
    assert_eq!(read_info_hashes(&t.bytes).unwrap(), t.info_hashes);
    assert_eq!(t.total_length, 100_000);
}

#[test]
fn hybrid_single_file_torrent_carries_v2_tree_and_piece_layers() {
    let dir = tempfile::tempdir().unwrap();
    let piece = 64 * 1024;
    // Several pieces with a short last one, so padding leaves and pad pieces both matter.
    let data = content(5 * piece + 3 * BLOCK + 123, 2);
    let path = write(dir.path(), "take.mov", &data);
    let mut s = spec(&path, "take.mov", TorrentVersion::Hybrid);
    s.piece_length = Some(piece as u64);
    let t = create_torrent(&s).unwrap();

    let info = info(&t.bytes);
    assert_eq!(info.get("meta version").and_then(Value::as_int), Some(2));
    assert_eq!(
        info.get("length").and_then(Value::as_int),
        Some(data.len() as i64)
    );
    assert_eq!(
        info.get("pieces").and_then(Value::as_bytes),
        Some(&v1_pieces(&data, piece)[..])
    );
    let (root, layer) = v2_root_and_layer(&data, piece);
    let entry = info
        .get("file tree")
        .and_then(|t| t.get("take.mov"))
        .and_then(|f| f.get(""))
        .unwrap();
    assert_eq!(
        entry.get("length").and_then(Value::as_int),
        Some(data.len() as i64)
    );
    assert_eq!(
        entry.get("pieces root").and_then(Value::as_bytes),
        Some(&root[..])
    );
    let top = bencode::decode(&t.bytes).unwrap();
    let layers = top.get("piece layers").and_then(Value::as_dict).unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers.get(&root[..]).and_then(Value::as_bytes),
        Some(&layer[..])
    );
    assert_eq!(layer.len(), 6 * 32);

    let encoded_info = bencode::encode(&info);
    assert_eq!(t.info_hashes.v1, Some(Sha1::digest(&encoded_info).into()));
    assert_eq!(t.info_hashes.v2, Some(Sha256::digest(&encoded_info).into()));
    assert_eq!(read_info_hashes(&t.bytes).unwrap(), t.info_hashes);
}

#[test]
fn small_hybrid_file_has_no_piece_layer() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(3 * BLOCK + 5, 3);
    let path = write(dir.path(), "a.bin", &data);
    let t = create_torrent(&spec(&path, "a.bin", TorrentVersion::Hybrid)).unwrap();
    // The chosen piece length for a tiny file is the smallest (16 KiB): four pieces, so a layer.
    assert_eq!(t.piece_length, 16 * 1024);
    let top = bencode::decode(&t.bytes).unwrap();
    let layers = top.get("piece layers").and_then(Value::as_dict).unwrap();
    assert_eq!(
        layers
            .values()
            .next()
            .and_then(Value::as_bytes)
            .map(<[u8]>::len),
        Some(4 * 32)
    );
    // With a piece wider than the file, the root is the only hash and "piece layers" is empty.
    let mut s = spec(&path, "a.bin", TorrentVersion::Hybrid);
    s.piece_length = Some(64 * 1024);
    let t = create_torrent(&s).unwrap();
    let top = bencode::decode(&t.bytes).unwrap();
    assert_eq!(
        top.get("piece layers")
            .and_then(Value::as_dict)
            .map(|d| d.len()),
        Some(0)
    );
    let info = info(&t.bytes);
    let (root, layer) = v2_root_and_layer(&data, 64 * 1024);
    assert!(layer.is_empty());
    let entry = info
        .get("file tree")
        .and_then(|t| t.get("a.bin"))
        .and_then(|f| f.get(""))
        .unwrap();
    assert_eq!(
        entry.get("pieces root").and_then(Value::as_bytes),
        Some(&root[..])
    );
}

#[test]
fn multi_file_hybrid_is_sorted_and_padded_to_piece_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let piece = 32 * 1024;
    let a = content(piece + 1000, 4);
    let b = content(10, 5);
    let c = content(2 * piece, 6);
    let files = vec![
        SourceFile {
            path: vec!["z.mov".into()],
            source: write(dir.path(), "z", &a),
        },
        SourceFile {
            path: vec!["sub".into(), "b.txt".into()],
            source: write(dir.path(), "b", &b),
        },
        SourceFile {
            path: vec!["a.mov".into()],
            source: write(dir.path(), "c", &c),
        },
    ];
    let mut s = spec(dir.path(), "reel", TorrentVersion::Hybrid);
    s.content = Content::Files(files);
    s.piece_length = Some(piece as u64);
    let t = create_torrent(&s).unwrap();
    let info = info(&t.bytes);

    // Order: a.mov, sub/b.txt, z.mov; pads after the first two only where not aligned.
    let list = info.get("files").and_then(Value::as_list).unwrap();
    let described: Vec<(String, i64, bool)> = list
        .iter()
        .map(|f| {
            let path: Vec<&str> = f
                .get("path")
                .and_then(Value::as_list)
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            (
                path.join("/"),
                f.get("length").and_then(Value::as_int).unwrap(),
                f.get("attr").and_then(Value::as_str) == Some("p"),
            )
        })
        .collect();
    let pad_b = (piece - 10) as i64;
    assert_eq!(
        described,
        vec![
            ("a.mov".into(), c.len() as i64, false),
            ("sub/b.txt".into(), 10, false),
            (format!(".pad/{pad_b}"), pad_b, true),
            ("z.mov".into(), a.len() as i64, false),
        ]
    );
    // v1 pieces run over the concatenation with the pad's zeros.
    let mut stream = c.clone();
    stream.extend(&b);
    stream.extend(vec![0u8; pad_b as usize]);
    stream.extend(&a);
    assert_eq!(
        info.get("pieces").and_then(Value::as_bytes),
        Some(&v1_pieces(&stream, piece)[..])
    );
    // v2 tree is per file, nested by directory.
    let tree = info.get("file tree").unwrap();
    for (path, data) in [
        (vec!["a.mov"], &c),
        (vec!["sub", "b.txt"], &b),
        (vec!["z.mov"], &a),
    ] {
        let mut node = tree;
        for component in &path {
            node = node.get(component).unwrap();
        }
        let (root, _) = v2_root_and_layer(data, piece);
        assert_eq!(
            node.get("")
                .and_then(|e| e.get("pieces root"))
                .and_then(Value::as_bytes),
            Some(&root[..]),
            "{path:?}"
        );
    }
    let top = bencode::decode(&t.bytes).unwrap();
    // a.mov (2 pieces) and z.mov (2 pieces) have layers; b.txt does not.
    assert_eq!(
        top.get("piece layers")
            .and_then(Value::as_dict)
            .map(|d| d.len()),
        Some(2)
    );
    assert_eq!(t.total_length, (a.len() + b.len() + c.len()) as u64);
}

#[test]
fn multi_file_v1_has_no_pad_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = content(20_000, 7);
    let b = content(30_000, 8);
    let mut s = spec(dir.path(), "reel", TorrentVersion::V1);
    s.content = Content::Files(vec![
        SourceFile {
            path: vec!["a".into()],
            source: write(dir.path(), "a", &a),
        },
        SourceFile {
            path: vec!["b".into()],
            source: write(dir.path(), "b", &b),
        },
    ]);
    let t = create_torrent(&s).unwrap();
    let info = info(&t.bytes);
    assert_eq!(
        info.get("files").and_then(Value::as_list).map(|l| l.len()),
        Some(2)
    );
    let mut stream = a.clone();
    stream.extend(&b);
    assert_eq!(
        info.get("pieces").and_then(Value::as_bytes),
        Some(&v1_pieces(&stream, 16 * 1024)[..])
    );
}

#[test]
fn empty_file_is_listed_without_a_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty", &[]);
    let t = create_torrent(&spec(&path, "empty", TorrentVersion::Hybrid)).unwrap();
    let info = info(&t.bytes);
    let entry = info
        .get("file tree")
        .and_then(|t| t.get("empty"))
        .and_then(|f| f.get(""))
        .unwrap();
    assert_eq!(entry.get("length").and_then(Value::as_int), Some(0));
    assert!(entry.get("pieces root").is_none());
    assert_eq!(info.get("pieces").and_then(Value::as_bytes), Some(&[][..]));
}

#[test]
fn private_flag_changes_the_info_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f", &content(1000, 9));
    let public = create_torrent(&spec(&path, "f", TorrentVersion::Hybrid)).unwrap();
    let mut s = spec(&path, "f", TorrentVersion::Hybrid);
    s.private = true;
    let private = create_torrent(&s).unwrap();
    assert_eq!(
        info(&private.bytes).get("private").and_then(Value::as_int),
        Some(1)
    );
    assert_ne!(public.info_hashes, private.info_hashes);
}

#[test]
fn same_input_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f", &content(300_000, 10));
    let s = spec(&path, "f", TorrentVersion::Hybrid);
    assert_eq!(create_torrent(&s).unwrap(), create_torrent(&s).unwrap());
}

#[test]
fn magnet_links_name_both_hashes_tracker_and_web_seed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f", &content(1000, 11));
    let t = create_torrent(&spec(&path, "My clip.mp4", TorrentVersion::Hybrid)).unwrap();
    let uri = t
        .magnet()
        .with_exact_source("http://127.0.0.1:1/t")
        .to_uri();
    assert!(uri.starts_with(&format!(
        "magnet:?xt=urn:btih:{}&xt=urn:btmh:1220{}&dn=My%20clip.mp4&tr=",
        t.info_hashes.v1_hex().unwrap(),
        t.info_hashes.v2_hex().unwrap()
    )));
    assert!(uri.contains("&ws=http%3A%2F%2F127.0.0.1%3A1%2Ffile.bin"));
    assert!(uri.ends_with("&xs=http%3A%2F%2F127.0.0.1%3A1%2Ft"));
}

#[test]
fn progress_is_reported_and_can_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f", &content(3 * 1024 * 1024, 12));
    let s = spec(&path, "f", TorrentVersion::Hybrid);
    let mut seen = Vec::new();
    create_torrent_with_progress(&s, &mut |done, total| {
        seen.push((done, total));
        true
    })
    .unwrap();
    assert_eq!(seen.last(), Some(&(3 * 1024 * 1024, 3 * 1024 * 1024)));
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    let result = create_torrent_with_progress(&s, &mut |_, _| false);
    assert!(matches!(result, Err(CreateError::Cancelled)));
}

#[test]
fn refuses_bad_names_paths_and_piece_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f", b"x");
    for name in ["", ".", "..", "a/b", "nul\0"] {
        let r = create_torrent(&spec(&path, name, TorrentVersion::V1));
        assert!(matches!(r, Err(CreateError::InvalidName(_))), "{name:?}");
    }
    let mut s = spec(&path, "f", TorrentVersion::V1);
    s.piece_length = Some(20_000);
    assert!(matches!(
        create_torrent(&s),
        Err(CreateError::InvalidPieceLength(20_000))
    ));
    s.piece_length = None;
    s.content = Content::Files(vec![
        SourceFile {
            path: vec!["d".into()],
            source: path.clone(),
        },
        SourceFile {
            path: vec!["d".into(), "e".into()],
            source: path.clone(),
        },
    ]);
    assert!(matches!(
        create_torrent(&s),
        Err(CreateError::ConflictingPaths(_))
    ));
    s.content = Content::Files(vec![
        SourceFile {
            path: vec!["d".into()],
            source: path.clone(),
        },
        SourceFile {
            path: vec!["d".into()],
            source: path.clone(),
        },
    ]);
    assert!(matches!(
        create_torrent(&s),
        Err(CreateError::ConflictingPaths(_))
    ));
    s.content = Content::Files(vec![]);
    assert!(matches!(create_torrent(&s), Err(CreateError::NoFiles)));
    assert!(create_torrent(&s).unwrap_err().is_permanent());
    s.content = Content::SingleFile(dir.path().join("missing"));
    let missing = create_torrent(&s).unwrap_err();
    assert!(matches!(missing, CreateError::Io { .. }));
    // The file may yet appear (a job retries); a bad layout never improves.
    assert!(!missing.is_permanent());
}

#[test]
fn a_stored_torrent_reads_back_as_what_was_created() {
    let dir = tempfile::tempdir().unwrap();
    let piece = 16 * 1024;
    let mut s = spec(dir.path(), "reel", TorrentVersion::Hybrid);
    s.content = Content::Files(vec![
        SourceFile {
            path: vec!["a".into()],
            source: write(dir.path(), "a", &content(piece + 5, 13)),
        },
        SourceFile {
            path: vec!["b".into()],
            source: write(dir.path(), "b", &content(3, 14)),
        },
    ]);
    s.private = true;
    let created = create_torrent(&s).unwrap();
    let summary = read_torrent(&created.bytes).unwrap();
    assert_eq!(summary.name, "reel");
    assert_eq!(summary.info_hashes, created.info_hashes);
    assert_eq!(summary.total_length, (piece + 8) as u64);
    assert_eq!(summary.piece_length, created.piece_length);
    assert_eq!(summary.announce, created.announce);
    assert_eq!(summary.web_seeds, created.web_seeds);
    assert!(summary.private);
    assert_eq!(summary.magnet().to_uri(), created.magnet().to_uri());
}
