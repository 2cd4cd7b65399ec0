//! Chunk hashes remembered between runs, so a restart does not rehash hundreds of gigabytes.
//!
//! A file is trusted unchanged while its size, modification time (nanoseconds) and inode are the
//! same and the chunk size has not changed. The cache lives outside the synced folder (the master
//! never writes into its folder) and is saved atomically: a crash leaves the old or the new file.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::chunk_hash::ChunkHash;
use crate::error::SwarmError;

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub inode: u64,
}

impl FileStamp {
    pub fn of(meta: &fs::Metadata) -> Self {
        let mtime_ns = meta
            .modified()
            .ok()
            .map(|t| match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_nanos() as i128,
                Err(e) => -(e.duration().as_nanos() as i128),
            })
            .unwrap_or(0);
        FileStamp {
            size: meta.len(),
            mtime_ns,
            inode: inode_of(meta),
        }
    }
}

#[cfg(unix)]
fn inode_of(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
fn inode_of(_meta: &fs::Metadata) -> u64 {
    0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedFile {
    stamp: FileStamp,
    chunk_size: u64,
    chunks: Vec<ChunkHash>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    files: BTreeMap<String, CachedFile>,
}

const CACHE_VERSION: u32 = 1;

/// Chunk hashes by relative path, valid while the file's [`FileStamp`] matches.
#[derive(Debug, Default)]
pub struct HashCache {
    path: Option<PathBuf>,
    files: BTreeMap<String, CachedFile>,
}

impl HashCache {
    /// A cache kept in memory only (tests, one-shot runs).
    pub fn in_memory() -> Self {
        HashCache::default()
    }

    /// Loads the cache at `path`. A missing file is an empty cache; an unreadable or outdated
    /// one is discarded with a warning, since rehashing is always a correct fallback.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, SwarmError> {
        let path = path.into();
        let files = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<CacheFile>(&bytes) {
                Ok(file) if file.version == CACHE_VERSION => file.files,
                Ok(_) => BTreeMap::new(),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "hash cache unreadable, rehashing");
                    BTreeMap::new()
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(SwarmError::io(&path, e)),
        };
        Ok(HashCache {
            path: Some(path),
            files,
        })
    }

    /// The chunk hashes remembered for `rel`, if the file is still the one that was hashed.
    pub fn lookup(&self, rel: &str, stamp: &FileStamp, chunk_size: u64) -> Option<&[ChunkHash]> {
        self.files
            .get(rel)
            .filter(|c| c.stamp == *stamp && c.chunk_size == chunk_size)
            .map(|c| c.chunks.as_slice())
    }

    pub fn insert(&mut self, rel: &str, stamp: FileStamp, chunk_size: u64, chunks: Vec<ChunkHash>) {
        self.files.insert(
            rel.to_owned(),
            CachedFile {
                stamp,
                chunk_size,
                chunks,
            },
        );
    }

    /// Forgets files no longer present, so the cache does not grow forever.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.files.retain(|k, _| keep(k));
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes the cache next to its final name and renames it into place.
    pub fn save(&self) -> Result<(), SwarmError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = CacheFile {
            version: CACHE_VERSION,
            files: self.files.clone(),
        };
        let bytes =
            serde_json::to_vec(&file).map_err(|e| SwarmError::io(path, io::Error::other(e)))?;
        let tmp = path.with_extension("tmp");
        let write = || -> io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        };
        write().map_err(|e| SwarmError::io(path, e))
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}
