//! Manifests built from real folders: chunking, deduplication, empty files and folders, the
//! hash cache across restarts, and refusal of hostile manifests.

use std::fs;
use std::path::Path;

use dailies_swarm::{ChunkHash, HashCache, Manifest, RelPath, SwarmError};

fn write(root: &Path, rel: &str, data: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn files_are_cut_into_hashed_chunks_with_empty_files_and_folders_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let big = pattern(2500, 1);
    write(root, "day1/cam a/clip.mov", &big);
    write(root, "day1/exact.bin", &pattern(2048, 2));
    write(root, "empty.txt", b"");
    fs::create_dir_all(root.join("day2/nothing yet")).unwrap();

    let mut cache = HashCache::in_memory();
    let (m, stats) = Manifest::build(root, 1024, &mut cache).unwrap();
    assert_eq!(stats.hashed_files, 3);
    let dirs: Vec<&str> = m.dirs.iter().map(RelPath::as_str).collect();
    assert_eq!(dirs, ["day1", "day1/cam a", "day2", "day2/nothing yet"]);
    let files: Vec<(&str, u64, usize)> = m
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.size, f.chunks.len()))
        .collect();
    assert_eq!(
        files,
        [
            ("day1/cam a/clip.mov", 2500, 3),
            ("day1/exact.bin", 2048, 2),
            ("empty.txt", 0, 0)
        ]
    );
    let clip = &m.files[0];
    assert_eq!(clip.chunks[0], ChunkHash::of(&big[..1024]));
    assert_eq!(clip.chunks[2], ChunkHash::of(&big[2048..]));
    assert_eq!(m.chunk_len(clip, 2), 452);
    assert_eq!(m.total_bytes(), 4548);
    m.validate().unwrap();
}

#[test]
fn identical_chunks_are_listed_once_with_every_place_they_belong() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let block = pattern(1000, 7);
    let mut twice = block.clone();
    twice.extend_from_slice(&block);
    write(root, "a.mov", &twice);
    write(root, "copy/a.mov", &twice);
    let (m, _) = Manifest::build(root, 1000, &mut HashCache::in_memory()).unwrap();
    let unique = m.unique_chunks();
    assert_eq!(unique.len(), 1, "four identical chunks are one to transfer");
    assert_eq!(unique[0].locations.len(), 4);
    assert_eq!(unique[0].size, 1000);
    assert_eq!(unique[0].meta().hash, ChunkHash::of(&block));
}

#[test]
fn a_restart_with_the_saved_cache_rehashes_only_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cache_path = state.path().join("hashes.json");
    write(root, "a.bin", &pattern(5000, 1));
    write(root, "b.bin", &pattern(3000, 2));

    let mut cache = HashCache::load(&cache_path).unwrap();
    let (first, stats) = Manifest::build(root, 1024, &mut cache).unwrap();
    assert_eq!(stats.hashed_files, 2);
    cache.save().unwrap();

    // "Restart": a fresh cache loaded from disk.
    let mut cache = HashCache::load(&cache_path).unwrap();
    let (second, stats) = Manifest::build(root, 1024, &mut cache).unwrap();
    assert_eq!((stats.hashed_files, stats.cached_files), (0, 2));
    assert_eq!(first, second);

    write(root, "b.bin", &pattern(3001, 3));
    let (third, stats) = Manifest::build(root, 1024, &mut cache).unwrap();
    assert_eq!((stats.hashed_files, stats.cached_files), (1, 1));
    assert_ne!(third.files[1].chunks, second.files[1].chunks);

    // A different chunk size cannot reuse the cached hashes.
    let (_, stats) = Manifest::build(root, 2048, &mut cache).unwrap();
    assert_eq!(stats.hashed_files, 2);

    // Deleted files leave the cache.
    fs::remove_file(root.join("a.bin")).unwrap();
    Manifest::build(root, 2048, &mut cache).unwrap();
    assert_eq!(cache.len(), 1);
}

#[test]
fn a_damaged_cache_file_means_rehashing_not_failing() {
    let dir = tempfile::tempdir().unwrap();
    let cache_path = dir.path().join("hashes.json");
    fs::write(&cache_path, b"{ not json").unwrap();
    write(dir.path(), "data/x.bin", &pattern(10, 1));
    let mut cache = HashCache::load(&cache_path).unwrap();
    assert!(cache.is_empty());
    let (_, stats) = Manifest::build(&dir.path().join("data"), 4, &mut cache).unwrap();
    assert_eq!(stats.hashed_files, 1);
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "real.bin", b"data");
    std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
    std::os::unix::fs::symlink(root.join("real.bin"), root.join("alias.bin")).unwrap();
    let (m, _) = Manifest::build(root, 1024, &mut HashCache::in_memory()).unwrap();
    assert_eq!(m.files.len(), 1);
    assert!(m.dirs.is_empty());
}

#[test]
fn hostile_manifests_are_refused() {
    let ok = r#"{"chunk_size":4,"dirs":["d"],"files":[{"path":"d/x","size":5,"chunks":["HASH","HASH"]}]}"#
        .replace("HASH", &ChunkHash::of(b"x").to_hex());
    let m: Manifest = serde_json::from_str(&ok).unwrap();
    m.validate().unwrap();

    for bad_path in ["../x", "/etc/passwd", "d/../../x", "a\u{0}b"] {
        let json = ok.replace("d/x", &bad_path.replace('\0', "\\u0000"));
        assert!(
            serde_json::from_str::<Manifest>(&json).is_err(),
            "{bad_path:?} accepted"
        );
    }
    let wrong_count = ok.replace("\"size\":5", "\"size\":9");
    let m: Manifest = serde_json::from_str(&wrong_count).unwrap();
    assert!(matches!(m.validate(), Err(SwarmError::InvalidManifest(_))));

    let missing_dir = ok.replace("\"dirs\":[\"d\"]", "\"dirs\":[]");
    let m: Manifest = serde_json::from_str(&missing_dir).unwrap();
    assert!(m.validate().is_err(), "a file needs its folder listed");

    let file_as_dir = ok.replace("\"dirs\":[\"d\"]", "\"dirs\":[\"d\", \"d/x\"]");
    let m: Manifest = serde_json::from_str(&file_as_dir).unwrap();
    assert!(m.validate().is_err(), "a path cannot be both");
}

#[test]
fn a_zero_chunk_size_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Manifest::build(dir.path(), 0, &mut HashCache::in_memory()),
        Err(SwarmError::ZeroChunkSize)
    ));
}
