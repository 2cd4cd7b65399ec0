//! Content hashes computed in one read pass: SHA-256 (the duplicate key any client can compute)
//! and BLAKE3 (fast, used for chunking and integrity).

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHashes {
    pub sha256: String,
    pub blake3: String,
    pub size: u64,
}

/// Which inode was read: compared after a move, so a file swapped for another (or for a
/// symbolic link) between hashing and moving is noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
}

impl FileIdentity {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Feeds bytes to both hashers; usable while receiving an upload as well as reading a file.
/// Cloneable, so bytes can be hashed tentatively and the state kept only once they are accepted.
#[derive(Default, Clone)]
pub struct Hasher {
    sha256: Sha256,
    blake3: blake3::Hasher,
    size: u64,
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.blake3.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    pub fn finish(self) -> ContentHashes {
        ContentHashes {
            sha256: hex::encode(self.sha256.finalize()),
            blake3: self.blake3.finalize().to_hex().to_string(),
            size: self.size,
        }
    }
}

/// Hashes a regular file, never following a symbolic link; when `copy_to` is given the bytes are
/// written there in the same pass. Blocking: call from `spawn_blocking`.
pub fn hash_file(
    path: &Path,
    copy_to: Option<&mut std::fs::File>,
) -> std::io::Result<ContentHashes> {
    hash_file_identified(path, copy_to).map(|(h, _)| h)
}

/// [`hash_file`], also telling which inode was read.
pub fn hash_file_identified(
    path: &Path,
    mut copy_to: Option<&mut std::fs::File>,
) -> std::io::Result<(ContentHashes, FileIdentity)> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut hasher = Hasher::default();
    hash_stream(&mut file, &mut hasher, copy_to.as_deref_mut())?;
    if let Some(out) = copy_to {
        out.sync_all()?;
    }
    Ok((hasher.finish(), FileIdentity::of(&meta)))
}

/// Feeds everything `reader` yields to `hasher`, copying it to `copy_to` in the same pass: the
/// one read loop behind hashing a file, joining upload parts and rebuilding an upload's hashes.
pub fn hash_stream(
    reader: &mut impl Read,
    hasher: &mut Hasher,
    mut copy_to: Option<&mut std::fs::File>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        if let Some(out) = copy_to.as_deref_mut() {
            out.write_all(&buf[..n])?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, b"abc").unwrap();
        let h = hash_file(&p, None).unwrap();
        assert_eq!(
            h.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.size, 3);
        let mut out = std::fs::File::create(dir.path().join("y")).unwrap();
        let h2 = hash_file(&p, Some(&mut out)).unwrap();
        assert_eq!(h, h2);
        assert_eq!(std::fs::read(dir.path().join("y")).unwrap(), b"abc");
    }

    #[test]
    fn symbolic_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        std::fs::write(&target, b"private").unwrap();
        let link = dir.path().join("clip.mov");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(hash_file(&link, None).is_err());
    }
}
