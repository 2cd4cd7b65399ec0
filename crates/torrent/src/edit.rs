//! Changing a .torrent's keys outside `info` — web seeds, tracker — without hashing the files
//! again. The info hashes cannot change: the strict decoder accepts only canonical bencode, so
//! re-encoding reproduces the `info` bytes exactly. This lets the server hand each download its
//! own web seed URL (a revocable token) from one stored torrent.

use crate::bencode::{self, Value};
use crate::error::MetainfoError;

/// The torrent with its `url-list` replaced (removed when `web_seeds` is empty).
pub fn with_web_seeds(torrent: &[u8], web_seeds: &[String]) -> Result<Vec<u8>, MetainfoError> {
    edit_top_level(torrent, |top| {
        if web_seeds.is_empty() {
            top.remove(b"url-list".as_slice());
        } else {
            top.insert(
                b"url-list".to_vec(),
                Value::List(web_seeds.iter().map(Value::bytes).collect()),
            );
        }
    })
}

/// The torrent with its `announce` URL replaced (removed when `None`), and any `announce-list`
/// dropped so the one tracker given is the one clients use.
pub fn with_announce(torrent: &[u8], announce: Option<&str>) -> Result<Vec<u8>, MetainfoError> {
    edit_top_level(torrent, |top| {
        top.remove(b"announce-list".as_slice());
        match announce {
            Some(url) => {
                top.insert(b"announce".to_vec(), Value::bytes(url));
            }
            None => {
                top.remove(b"announce".as_slice());
            }
        }
    })
}

fn edit_top_level(
    torrent: &[u8],
    edit: impl FnOnce(&mut std::collections::BTreeMap<Vec<u8>, Value>),
) -> Result<Vec<u8>, MetainfoError> {
    let mut value = bencode::decode(torrent)?;
    let Value::Dict(top) = &mut value else {
        return Err(MetainfoError::Invalid("not a dictionary"));
    };
    if !matches!(top.get(b"info".as_slice()), Some(Value::Dict(_))) {
        return Err(MetainfoError::Invalid("no info dict"));
    }
    edit(top);
    Ok(bencode::encode(&value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_torrent::read_info_hashes;

    const TORRENT: &[u8] = b"d8:announce5:http:4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae8:url-listl6:http:xee";

    #[test]
    fn web_seeds_change_but_the_info_hash_does_not() {
        let seeds = vec!["https://x/media?dl=new".to_string()];
        let edited = with_web_seeds(TORRENT, &seeds).unwrap();
        assert_eq!(
            read_info_hashes(&edited).unwrap(),
            read_info_hashes(TORRENT).unwrap()
        );
        let top = bencode::decode(&edited).unwrap();
        assert_eq!(
            top.get("url-list").and_then(Value::as_list),
            Some(&[Value::bytes("https://x/media?dl=new")][..])
        );
        let none = with_web_seeds(TORRENT, &[]).unwrap();
        assert!(bencode::decode(&none).unwrap().get("url-list").is_none());
    }

    #[test]
    fn announce_is_replaced_or_removed() {
        let edited = with_announce(TORRENT, Some("https://t/announce")).unwrap();
        let top = bencode::decode(&edited).unwrap();
        assert_eq!(
            top.get("announce").and_then(Value::as_str),
            Some("https://t/announce")
        );
        let removed = with_announce(TORRENT, None).unwrap();
        assert!(bencode::decode(&removed).unwrap().get("announce").is_none());
        assert_eq!(
            read_info_hashes(&removed).unwrap(),
            read_info_hashes(TORRENT).unwrap()
        );
    }

    #[test]
    fn refuses_what_is_not_a_torrent() {
        assert!(with_web_seeds(b"le", &[]).is_err());
        assert!(with_announce(b"de", None).is_err());
        assert!(with_announce(b"d4:infoi1ee", None).is_err());
        assert!(with_announce(b"d4:info", None).is_err());
    }
}
