//! Applying a manifest to a peer's folder, in place.
//!
//! The folder becomes a one-way mirror: anything the manifest does not list is removed (files,
//! folders, links), folders and empty files are created, files get their final size, and chunks
//! already in the right place are kept. A chunk found in the right place in one file is copied to
//! the other places it belongs, so identical chunks travel once. Chunks then arrive one by one
//! through [`write_chunk`].

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::chunk_hash::ChunkHash;
use crate::manifest::{FileEntry, Manifest, UniqueChunk};
use crate::node::error::NodeError;
use crate::rel_path::RelPath;

/// A manifest with its distinct chunks, as a node works with it.
#[derive(Debug, Clone)]
pub struct Layout {
    pub id: ChunkHash,
    pub manifest: Manifest,
    pub chunks: Vec<UniqueChunk>,
    pub index: HashMap<ChunkHash, usize>,
}

impl Layout {
    pub fn new(manifest: Manifest) -> Self {
        let chunks = manifest.unique_chunks();
        let index = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.hash, i))
            .collect();
        Layout {
            id: manifest.id(),
            manifest,
            chunks,
            index,
        }
    }

    /// The file and offset of the first copy of chunk `i`.
    pub fn first_location(&self, i: usize) -> Option<(&FileEntry, u64, u64)> {
        let c = self.chunks.get(i)?;
        let loc = c.locations.first()?;
        Some((&self.manifest.files[loc.file], loc.offset, c.size))
    }
}

/// Makes `root` match `layout` except for chunk contents still to fetch; returns, for each
/// distinct chunk, whether its bytes are already in every place they belong.
pub fn prepare(root: &Path, layout: &Layout) -> Result<Vec<bool>, NodeError> {
    layout.manifest.validate()?;
    fs::create_dir_all(root).map_err(|e| NodeError::write(root, e))?;
    let mut wanted: BTreeMap<&str, bool> = BTreeMap::new(); // path -> is_dir
    for d in &layout.manifest.dirs {
        wanted.insert(d.as_str(), true);
    }
    for f in &layout.manifest.files {
        wanted.insert(f.path.as_str(), false);
    }
    prune(root, None, &wanted)?;
    for d in &layout.manifest.dirs {
        let p = d.under(root);
        fs::create_dir_all(&p).map_err(|e| NodeError::write(&p, e))?;
    }
    // Files that existed with some content may hold good chunks; new ones hold none.
    let mut may_hold: Vec<bool> = Vec::with_capacity(layout.manifest.files.len());
    for f in &layout.manifest.files {
        let p = f.path.under(root);
        let existed = fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() > 0);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&p)
            .map_err(|e| NodeError::write(&p, e))?;
        let len = file.metadata().map_err(|e| NodeError::io(&p, e))?.len();
        if len != f.size {
            file.set_len(f.size).map_err(|e| NodeError::write(&p, e))?;
        }
        may_hold.push(existed);
    }
    let mut present = vec![false; layout.chunks.len()];
    let mut buf = Vec::new();
    for (i, chunk) in layout.chunks.iter().enumerate() {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for loc in &chunk.locations {
            let entry = &layout.manifest.files[loc.file];
            let ok = may_hold[loc.file]
                && read_at(&entry.path.under(root), loc.offset, chunk.size, &mut buf).is_ok()
                && ChunkHash::of(&buf) == chunk.hash;
            if ok { &mut good } else { &mut bad }.push(loc);
        }
        let Some(from) = good.first() else { continue };
        if !bad.is_empty() {
            let src = layout.manifest.files[from.file].path.under(root);
            read_at(&src, from.offset, chunk.size, &mut buf).map_err(|e| NodeError::io(&src, e))?;
            for loc in bad {
                let dst = layout.manifest.files[loc.file].path.under(root);
                write_at(&dst, loc.offset, &buf)?;
            }
        }
        present[i] = true;
    }
    Ok(present)
}

/// Writes a verified chunk to every place it belongs.
pub fn write_chunk(
    root: &Path,
    layout: &Layout,
    chunk: usize,
    data: &[u8],
) -> Result<(), NodeError> {
    let Some(c) = layout.chunks.get(chunk) else {
        return Err(NodeError::Protocol(format!(
            "no chunk {chunk} in the manifest"
        )));
    };
    for loc in &c.locations {
        let p = layout.manifest.files[loc.file].path.under(root);
        write_at(&p, loc.offset, data)?;
    }
    Ok(())
}

/// Reads `len` bytes at `offset` of `path` into `buf`.
pub fn read_at(path: &Path, offset: u64, len: u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let file = File::open(path)?;
    buf.resize(len as usize, 0);
    file.read_exact_at(buf, offset)
}

fn write_at(path: &Path, offset: u64, data: &[u8]) -> Result<(), NodeError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| NodeError::write(path, e))?;
    file.write_all_at(data, offset)
        .map_err(|e| NodeError::write(path, e))
}

/// Removes everything under `root` the manifest does not list as what it is.
fn prune(
    root: &Path,
    rel: Option<&RelPath>,
    wanted: &BTreeMap<&str, bool>,
) -> Result<(), NodeError> {
    let dir = rel.map_or_else(|| root.to_path_buf(), |r| r.under(root));
    let entries = fs::read_dir(&dir).map_err(|e| NodeError::io(&dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| NodeError::io(&dir, e))?;
        let full = entry.path();
        let meta = fs::symlink_metadata(&full).map_err(|e| NodeError::io(&full, e))?;
        let child = entry.file_name().to_str().and_then(|name| {
            let joined = match rel {
                Some(r) => format!("{r}/{name}"),
                None => name.to_owned(),
            };
            RelPath::new(joined).ok()
        });
        let keep = child
            .as_ref()
            .and_then(|c| wanted.get(c.as_str()))
            .map(|&is_dir| {
                if is_dir {
                    meta.is_dir()
                } else {
                    meta.is_file()
                }
            });
        match keep {
            Some(true) if meta.is_dir() => prune(root, child.as_ref(), wanted)?,
            Some(true) => {}
            _ if meta.is_dir() => {
                tracing::debug!(path = %full.display(), "removing a folder the master does not have");
                fs::remove_dir_all(&full).map_err(|e| NodeError::io(&full, e))?;
            }
            _ => {
                tracing::debug!(path = %full.display(), "removing a file the master does not have");
                fs::remove_file(&full).map_err(|e| NodeError::io(&full, e))?;
            }
        }
    }
    Ok(())
}
