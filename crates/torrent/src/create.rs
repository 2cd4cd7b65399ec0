//! Making a .torrent for files on disk: validate the layout, read every byte once (hash_pass),
//! then write the metainfo.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::CreateError;
use crate::hash_pass::{PassFile, hash_files};
use crate::info_hash::InfoHashes;
use crate::magnet::Magnet;
use crate::metainfo::{self, Layout, LayoutFile};
use crate::piece_size::{is_valid_piece_length, piece_length_for};

/// Which BitTorrent versions the torrent serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorrentVersion {
    /// v1 only (BEP 3): readable by every client, SHA-1 pieces.
    V1,
    /// v1 and v2 in one file (BEP 52): v2 clients get SHA-256 merkle verification and per-file
    /// hashes, v1 clients still work, and both swarms share the same data.
    Hybrid,
}

/// One file of a multi-file torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path inside the torrent, one component per directory level.
    pub path: Vec<String>,
    /// Where the bytes are on disk.
    pub source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// One file; the torrent's `name` is its file name in the client.
    SingleFile(PathBuf),
    /// A directory called `name` holding these files (in any order: they are sorted).
    Files(Vec<SourceFile>),
}

/// What to make. Start from [`TorrentSpec::single_file`] and adjust the public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentSpec {
    /// The file (or top directory) name clients save under.
    pub name: String,
    pub content: Content,
    pub version: TorrentVersion,
    /// `None` chooses from the total size (see [`crate::piece_size`]).
    pub piece_length: Option<u64>,
    /// The tracker's announce URL.
    pub announce: Option<String>,
    /// `url-list` (BEP 19). For a single file each URL serves that file itself; for several
    /// files each is a base URL that clients append `name/path` to.
    pub web_seeds: Vec<String>,
    /// Seconds since the Unix epoch; `None` omits the key.
    pub creation_date: Option<u64>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    /// Sets `private` (BEP 27): clients then use only our tracker, no DHT or peer exchange.
    /// It is part of the info dict, so it changes the info hashes.
    pub private: bool,
}

impl TorrentSpec {
    /// A torrent of one file, dated now, with no tracker or web seed yet.
    ///
    /// It is v1 unless `version` is changed: every client reads v1, while some still in wide use
    /// get hybrid torrents wrong (aria2 1.36, Debian 12's, hashes the v1 part without the empty
    /// keys of `file tree`, so it announces an info hash no tracker knows; its web seed download
    /// still works). Set [`TorrentVersion::Hybrid`] when v2 clients matter more.
    pub fn single_file(path: impl Into<PathBuf>, name: impl Into<String>) -> TorrentSpec {
        TorrentSpec {
            name: name.into(),
            content: Content::SingleFile(path.into()),
            version: TorrentVersion::V1,
            piece_length: None,
            announce: None,
            web_seeds: Vec::new(),
            creation_date: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs()),
            created_by: Some(concat!("dailies ", env!("CARGO_PKG_VERSION")).to_string()),
            comment: None,
            private: false,
        }
    }
}

/// A finished torrent: the .torrent bytes and what the server stores or shows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTorrent {
    /// The .torrent file.
    pub bytes: Vec<u8>,
    pub info_hashes: InfoHashes,
    pub name: String,
    pub piece_length: u64,
    /// Content bytes, pad files excluded.
    pub total_length: u64,
    pub announce: Option<String>,
    pub web_seeds: Vec<String>,
}

impl CreatedTorrent {
    /// A magnet link with the name, tracker and web seeds filled in; add the .torrent's own URL
    /// with [`Magnet::with_exact_source`].
    pub fn magnet(&self) -> Magnet {
        Magnet::for_torrent(
            self.info_hashes,
            &self.name,
            self.announce.as_deref(),
            &self.web_seeds,
        )
    }
}

/// Makes the torrent described by `spec`, reading each file once.
pub fn create_torrent(spec: &TorrentSpec) -> Result<CreatedTorrent, CreateError> {
    create_torrent_with_progress(spec, &mut |_, _| true)
}

/// Like [`create_torrent`], calling `progress(bytes_hashed, total_bytes)` as it goes; returning
/// `false` from it cancels ([`CreateError::Cancelled`]).
pub fn create_torrent_with_progress(
    spec: &TorrentSpec,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<CreatedTorrent, CreateError> {
    check_component(&spec.name)?;
    let layout = plan_layout(spec)?;
    let total_length: u64 = layout.files.iter().map(|f| f.length).sum();
    let piece_length = match spec.piece_length {
        Some(length) if !is_valid_piece_length(length) => {
            return Err(CreateError::InvalidPieceLength(length));
        }
        Some(length) => length,
        None => piece_length_for(total_length),
    };
    let hybrid = spec.version == TorrentVersion::Hybrid;
    let pass_files = pass_files(&layout, piece_length, hybrid);
    let hashes = hash_files(&pass_files, piece_length, true, hybrid, progress)?;
    let info = metainfo::info_dict(
        spec,
        &layout,
        piece_length,
        hashes.v1_pieces.as_deref().unwrap_or_default(),
        hashes.v2_files.as_deref(),
    );
    let info_bytes = crate::bencode::encode(&info);
    let info_hashes = InfoHashes::of_info_bytes(&info_bytes, true, hybrid);
    let bytes = metainfo::torrent_file(spec, info, hashes.v2_files.as_deref());
    Ok(CreatedTorrent {
        bytes,
        info_hashes,
        name: spec.name.clone(),
        piece_length,
        total_length,
        announce: spec.announce.clone(),
        web_seeds: spec.web_seeds.clone(),
    })
}

/// The files in torrent order with their current sizes.
fn plan_layout(spec: &TorrentSpec) -> Result<Layout, CreateError> {
    let file_length = |source: &PathBuf| {
        std::fs::metadata(source)
            .map(|m| m.len())
            .map_err(|e| CreateError::Io {
                path: source.clone(),
                source: e,
            })
    };
    match &spec.content {
        Content::SingleFile(source) => Ok(Layout {
            single: true,
            files: vec![LayoutFile {
                path: vec![spec.name.clone()],
                source: source.clone(),
                length: file_length(source)?,
            }],
        }),
        Content::Files(files) => {
            if files.is_empty() {
                return Err(CreateError::NoFiles);
            }
            let mut planned = Vec::with_capacity(files.len());
            for file in files {
                if file.path.is_empty() {
                    return Err(CreateError::InvalidName(String::new()));
                }
                for component in &file.path {
                    check_component(component)?;
                }
                planned.push(LayoutFile {
                    path: file.path.clone(),
                    source: file.source.clone(),
                    length: file_length(&file.source)?,
                });
            }
            // The v2 `file tree` is a dict and so sorted; the v1 list must be in the same order.
            planned.sort_by(|a, b| a.path.cmp(&b.path));
            for pair in planned.windows(2) {
                if pair[1].path.starts_with(&pair[0].path) {
                    return Err(CreateError::ConflictingPaths(pair[0].path.join("/")));
                }
            }
            Ok(Layout {
                single: false,
                files: planned,
            })
        }
    }
}

/// What the hash pass reads: in a hybrid torrent each file but the last is followed by a BEP 47
/// pad file of zeros so the next file starts on a piece boundary, as v2 requires.
fn pass_files(layout: &Layout, piece_length: u64, hybrid: bool) -> Vec<PassFile> {
    let last = layout.files.len().saturating_sub(1);
    layout
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| PassFile {
            path: f.source.clone(),
            length: f.length,
            pad_after: if hybrid && i < last {
                metainfo::pad_length(f.length, piece_length)
            } else {
                0
            },
        })
        .collect()
}

/// A name clients will use as a file or directory name: no separators, nothing that climbs out.
fn check_component(name: &str) -> Result<(), CreateError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(CreateError::InvalidName(name.to_string()));
    }
    Ok(())
}
