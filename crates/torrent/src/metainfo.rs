//! The .torrent dictionary: how hashes and a file layout are written as metainfo (BEP 3, 19,
//! 47, 52).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::bencode::{self, Value};
use crate::create::TorrentSpec;
use crate::merkle::FileHashes;

/// The files of a torrent in their final order.
pub(crate) struct Layout {
    /// A single-file torrent (`length` in the info dict) rather than a directory (`files`).
    pub(crate) single: bool,
    pub(crate) files: Vec<LayoutFile>,
}

pub(crate) struct LayoutFile {
    pub(crate) path: Vec<String>,
    pub(crate) source: PathBuf,
    pub(crate) length: u64,
}

/// Zero bytes needed after a file of `length` for the next to start on a piece boundary.
pub(crate) fn pad_length(length: u64, piece_length: u64) -> u64 {
    match length % piece_length {
        0 => 0,
        r => piece_length - r,
    }
}

fn int(n: u64) -> Value {
    // File sizes beyond i64::MAX (8 EiB) do not exist on any real filesystem.
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The `info` dict. `v2_files` is present for a hybrid torrent, in layout order.
pub(crate) fn info_dict(
    spec: &TorrentSpec,
    layout: &Layout,
    piece_length: u64,
    v1_pieces: &[u8],
    v2_files: Option<&[FileHashes]>,
) -> Value {
    let mut info: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    let mut put = |key: &str, value: Value| info.insert(key.as_bytes().to_vec(), value);
    put("name", Value::bytes(&spec.name));
    put("piece length", int(piece_length));
    put("pieces", Value::bytes(v1_pieces));
    if spec.private {
        put("private", Value::Int(1));
    }
    if layout.single {
        put("length", int(layout.files[0].length));
    } else {
        put(
            "files",
            v1_file_list(layout, piece_length, v2_files.is_some()),
        );
    }
    if let Some(v2_files) = v2_files {
        put("meta version", Value::Int(2));
        put("file tree", file_tree(layout, v2_files));
    }
    Value::Dict(info)
}

/// BEP 3 `files`, with a BEP 47 pad file after every file but the last in a hybrid torrent.
fn v1_file_list(layout: &Layout, piece_length: u64, padded: bool) -> Value {
    let mut list = Vec::new();
    let last = layout.files.len() - 1;
    for (i, file) in layout.files.iter().enumerate() {
        list.push(Value::dict([
            ("length", int(file.length)),
            (
                "path",
                Value::List(file.path.iter().map(Value::bytes).collect()),
            ),
        ]));
        let pad = pad_length(file.length, piece_length);
        if padded && i < last && pad > 0 {
            list.push(Value::dict([
                ("attr", Value::bytes("p")),
                ("length", int(pad)),
                (
                    "path",
                    Value::List(vec![Value::bytes(".pad"), Value::bytes(pad.to_string())]),
                ),
            ]));
        }
    }
    Value::List(list)
}

/// BEP 52 `file tree`: nested dicts by path component; a file is a dict with the empty key
/// holding `length` and, unless empty, `pieces root`.
fn file_tree(layout: &Layout, v2_files: &[FileHashes]) -> Value {
    let mut root = BTreeMap::new();
    for (file, hashes) in layout.files.iter().zip(v2_files) {
        let mut leaf = BTreeMap::new();
        leaf.insert(b"length".to_vec(), int(hashes.length));
        if let Some(root_hash) = hashes.pieces_root {
            leaf.insert(b"pieces root".to_vec(), Value::bytes(root_hash));
        }
        let entry = Value::dict([("", Value::Dict(leaf))]);
        insert_path(&mut root, &file.path, entry);
    }
    Value::Dict(root)
}

fn insert_path(dir: &mut BTreeMap<Vec<u8>, Value>, path: &[String], entry: Value) {
    match path {
        [] => {}
        [name] => {
            dir.insert(name.as_bytes().to_vec(), entry);
        }
        [first, rest @ ..] => {
            let child = dir
                .entry(first.as_bytes().to_vec())
                .or_insert_with(|| Value::Dict(BTreeMap::new()));
            if let Value::Dict(child) = child {
                insert_path(child, rest, entry);
            }
        }
    }
}

/// The whole .torrent: `info` plus the keys outside it (which do not change the info hash).
pub(crate) fn torrent_file(
    spec: &TorrentSpec,
    info: Value,
    v2_files: Option<&[FileHashes]>,
) -> Vec<u8> {
    let mut top: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    let mut put = |key: &str, value: Value| top.insert(key.as_bytes().to_vec(), value);
    if let Some(announce) = &spec.announce {
        put("announce", Value::bytes(announce));
    }
    if let Some(comment) = &spec.comment {
        put("comment", Value::bytes(comment));
    }
    if let Some(created_by) = &spec.created_by {
        put("created by", Value::bytes(created_by));
    }
    if let Some(date) = spec.creation_date {
        put("creation date", int(date));
    }
    if !spec.web_seeds.is_empty() {
        put(
            "url-list",
            Value::List(spec.web_seeds.iter().map(Value::bytes).collect()),
        );
    }
    put("info", info);
    if let Some(v2_files) = v2_files {
        // Only files longer than one piece have a layer; the key is required even when empty.
        let layers: BTreeMap<Vec<u8>, Value> = v2_files
            .iter()
            .filter(|f| !f.piece_layer.is_empty())
            .filter_map(|f| {
                let root = f.pieces_root?;
                Some((root.to_vec(), Value::Bytes(f.piece_layer.concat())))
            })
            .collect();
        put("piece layers", Value::Dict(layers));
    }
    bencode::encode(&Value::Dict(top))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_fills_to_the_next_piece_boundary() {
        assert_eq!(pad_length(0, 16384), 0);
        assert_eq!(pad_length(1, 16384), 16383);
        assert_eq!(pad_length(16384, 16384), 0);
        assert_eq!(pad_length(16385, 16384), 16383);
    }
}
