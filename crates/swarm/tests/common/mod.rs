//! Helpers shared by the network tests: random folders and folder comparison.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use dailies_swarm::SplitMix64;

/// Many small files, a few large ones, nested folders, empty files, an empty folder and a file
/// repeated under two names (identical chunks).
pub fn random_tree(root: &Path, seed: u64, large: usize, large_size: usize) {
    let mut rng = SplitMix64::new(seed);
    fs::create_dir_all(root.join("empty/also empty")).unwrap();
    fs::create_dir_all(root.join("day 1/cam A/sub")).unwrap();
    fs::create_dir_all(root.join("day 2")).unwrap();
    fs::write(root.join("empty file"), b"").unwrap();
    fs::write(root.join("day 2/empty too"), b"").unwrap();
    let dirs = ["", "day 1", "day 1/cam A", "day 1/cam A/sub", "day 2"];
    for i in 0..40 {
        let dir = dirs[(rng.next_u64() % dirs.len() as u64) as usize];
        let len = (rng.next_u64() % 5000) as usize;
        fs::write(
            root.join(dir).join(format!("small {i}.txt")),
            bytes(&mut rng, len),
        )
        .unwrap();
    }
    for i in 0..large {
        let data = bytes(&mut rng, large_size + i * 777);
        fs::write(root.join(format!("day 1/cam A/clip {i}.mov")), &data).unwrap();
        if i == 0 {
            fs::write(root.join("day 2/copy of clip 0.mov"), &data).unwrap();
        }
    }
}

pub fn bytes(rng: &mut SplitMix64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every entry of a folder, sorted: (relative path, None for a folder or Some(content)).
pub fn snapshot(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Option<Vec<u8>>)>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let meta = fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.push((rel, None));
            walk(root, &p, out);
        } else {
            out.push((rel, Some(fs::read(&p).unwrap())));
        }
    }
}

/// Asserts two folders hold the same names, kinds and bytes, with a readable failure.
pub fn assert_same_tree(master: &Path, peer: &Path) {
    let a = snapshot(master);
    let b = snapshot(peer);
    let names = |s: &[(PathBuf, Option<Vec<u8>>)]| -> Vec<String> {
        s.iter()
            .map(|(p, c)| format!("{} {:?}", p.display(), c.as_ref().map(Vec::len)))
            .collect()
    };
    assert_eq!(
        names(&a),
        names(&b),
        "{} differs from {}",
        peer.display(),
        master.display()
    );
    for ((p, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{} differs in {}", p.display(), peer.display());
    }
}
