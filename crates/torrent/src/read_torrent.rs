//! Reading a stored .torrent back: its info hashes, computed over the exact bytes of its `info`
//! dict, and a summary for display, the tracker's allow-list and magnet links.

use crate::bencode::{self, Value};
use crate::error::MetainfoError;
use crate::info_hash::InfoHashes;
use crate::magnet::Magnet;

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
