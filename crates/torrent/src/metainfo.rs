//! The .torrent dictionary: how hashes and a file layout are written as metainfo (BEP 3, 19,
//! 47, 52), and how the info hashes of an existing .torrent are read back from its raw bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::bencode::{self, Value};
use crate::create::TorrentSpec;
use crate::error::MetainfoError;
use crate::info_hash::InfoHashes;
use crate::magnet::Magnet;
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

/// What a stored .torrent says about itself: enough to show it, allow it on the tracker and build
/// its magnet link without keeping anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentSummary {
    pub name: String,
    pub info_hashes: InfoHashes,
    pub piece_length: u64,
    /// Content bytes, pad files excluded.
    pub total_length: u64,
    pub announce: Option<String>,
    pub web_seeds: Vec<String>,
    pub private: bool,
}

impl TorrentSummary {
    /// A magnet link with the name, tracker and web seeds filled in.
    pub fn magnet(&self) -> Magnet {
        Magnet::for_torrent(
            self.info_hashes,
            &self.name,
            self.announce.as_deref(),
            &self.web_seeds,
        )
    }
}

/// Reads a .torrent's summary. Text fields that are not UTF-8 are read lossily (they are for
/// display); the hashes are over the exact stored bytes.
pub fn read_torrent(torrent: &[u8]) -> Result<TorrentSummary, MetainfoError> {
    let info_hashes = read_info_hashes(torrent)?;
    let top = bencode::decode(torrent)?;
    let info = top
        .get("info")
        .ok_or(MetainfoError::Invalid("no info dict"))?;
    let text = |v: &Value| {
        v.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let name = info
        .get("name")
        .and_then(text)
        .ok_or(MetainfoError::Invalid("no name"))?;
    let piece_length = info
        .get("piece length")
        .and_then(Value::as_int)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or(MetainfoError::Invalid("no valid piece length"))?;
    let total_length = content_length(info).ok_or(MetainfoError::Invalid("no file lengths"))?;
    let web_seeds = match top.get("url-list") {
        Some(Value::List(urls)) => urls.iter().filter_map(text).collect(),
        Some(url @ Value::Bytes(_)) => text(url).into_iter().collect(),
        _ => Vec::new(),
    };
    Ok(TorrentSummary {
        name,
        info_hashes,
        piece_length,
        total_length,
        announce: top.get("announce").and_then(text),
        web_seeds,
        private: info.get("private").and_then(Value::as_int) == Some(1),
    })
}

/// Sum of file lengths from `length`, the v1 `files` list (pad files skipped) or the v2
/// `file tree`.
fn content_length(info: &Value) -> Option<u64> {
    let non_negative = |v: &Value| v.as_int().and_then(|n| u64::try_from(n).ok());
    if let Some(length) = info.get("length") {
        return non_negative(length);
    }
    if let Some(files) = info.get("files").and_then(Value::as_list) {
        let mut total = 0u64;
        for file in files {
            let pad = file
                .get("attr")
                .and_then(Value::as_bytes)
                .is_some_and(|a| a.contains(&b'p'));
            if !pad {
                total = total.checked_add(non_negative(file.get("length")?)?)?;
            }
        }
        return Some(total);
    }
    fn tree_length(node: &Value) -> Option<u64> {
        let mut total = 0u64;
        for (key, child) in node.as_dict()? {
            let length = if key.is_empty() {
                child
                    .get("length")?
                    .as_int()
                    .and_then(|n| u64::try_from(n).ok())?
            } else {
                tree_length(child)?
            };
            total = total.checked_add(length)?;
        }
        Some(total)
    }
    tree_length(info.get("file tree")?)
}

/// The info hashes of a .torrent, computed over the exact bytes of its `info` dict as stored
/// (never a re-encoding), so they match what every client computes.
pub fn read_info_hashes(torrent: &[u8]) -> Result<InfoHashes, MetainfoError> {
    let decoded = bencode::decode_with_spans(torrent)?;
    let span = decoded
        .top_level_span(b"info")
        .ok_or(MetainfoError::Invalid("no info dict"))?;
    let info = decoded
        .value
        .get("info")
        .ok_or(MetainfoError::Invalid("no info dict"))?;
    if info.as_dict().is_none() {
        return Err(MetainfoError::Invalid("info is not a dict"));
    }
    let v1 = info.get("pieces").and_then(Value::as_bytes).is_some();
    let v2 = info.get("meta version").and_then(Value::as_int) == Some(2);
    if !v1 && !v2 {
        return Err(MetainfoError::Invalid(
            "info has neither v1 pieces nor meta version 2",
        ));
    }
    Ok(InfoHashes::of_info_bytes(&torrent[span], v1, v2))
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

    #[test]
    fn reads_hashes_from_the_stored_bytes() {
        let torrent =
            b"d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
        let hashes = read_info_hashes(torrent).unwrap();
        let info = &torrent[7..torrent.len() - 1];
        assert_eq!(hashes, InfoHashes::of_info_bytes(info, true, false));
    }

    #[test]
    fn summary_of_a_multi_file_torrent_skips_pad_files() {
        let torrent = b"d8:announce3:t:a4:infod5:filesld6:lengthi5e4:pathl1:aeed4:attr1:p6:lengthi11e4:pathl4:.pad2:11eed6:lengthi7e4:pathl1:beee4:name4:reel12:piece lengthi16e6:pieces20:aaaaaaaaaaaaaaaaaaaa7:privatei1ee8:url-list5:w:/x/e";
        let summary = read_torrent(torrent).unwrap();
        assert_eq!(summary.name, "reel");
        assert_eq!(summary.total_length, 12);
        assert_eq!(summary.piece_length, 16);
        assert_eq!(summary.announce.as_deref(), Some("t:a"));
        assert_eq!(summary.web_seeds, vec!["w:/x/".to_string()]);
        assert!(summary.private);
        assert_eq!(summary.info_hashes, read_info_hashes(torrent).unwrap());
    }

    #[test]
    fn summary_of_a_v2_only_torrent_sums_the_file_tree() {
        let tree = "d9:file treed1:ad0:d6:lengthi3eee1:bd1:cd0:d6:lengthi4eeeee";
        let torrent = format!("d4:info{tree}12:meta versioni2e4:name1:x12:piece lengthi16384eee");
        let summary = read_torrent(torrent.as_bytes()).unwrap();
        assert_eq!(summary.total_length, 7);
        assert_eq!(summary.info_hashes.v1, None);
        assert!(summary.info_hashes.v2.is_some());
    }

    #[test]
    fn refuses_what_is_not_a_torrent() {
        assert!(matches!(
            read_info_hashes(b"i1e"),
            Err(MetainfoError::Invalid(_))
        ));
        assert!(matches!(
            read_info_hashes(b"d4:infoi1ee"),
            Err(MetainfoError::Invalid(_))
        ));
        assert!(matches!(
            read_info_hashes(b"d4:infodee"),
            Err(MetainfoError::Invalid(_))
        ));
        assert!(matches!(
            read_info_hashes(b"d4:info"),
            Err(MetainfoError::Bencode(_))
        ));
    }
}
