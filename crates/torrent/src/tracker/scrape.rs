//! The scrape request (BEP 48): one or more `info_hash` values. A scrape of everything (no
//! hash) is refused: on a private tracker it would list every torrent.

use super::query::{parse_pairs, twenty_bytes};
use super::request_error::RequestError;

/// Upper bound on hashes in one scrape, so one request costs little.
pub const MAX_SCRAPE_HASHES: usize = 64;

/// Parses the query string of `GET /scrape?…` into the requested info hashes, in order and
/// without repeats.
pub fn parse_scrape(query: &str) -> Result<Vec<[u8; 20]>, RequestError> {
    let pairs = parse_pairs(query)?;
    let mut hashes: Vec<[u8; 20]> = Vec::new();
    for (key, value) in &pairs {
        if key.as_slice() != b"info_hash" {
            continue;
        }
        let hash = twenty_bytes(value).ok_or(RequestError::BadInfoHashLength(value.len()))?;
        if !hashes.contains(&hash) {
            if hashes.len() == MAX_SCRAPE_HASHES {
                return Err(RequestError::TooManyHashes(MAX_SCRAPE_HASHES));
            }
            hashes.push(hash);
        }
    }
    if hashes.is_empty() {
        return Err(RequestError::NoScrapeHashes);
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percent::encode;

    #[test]
    fn collects_every_hash_once() {
        let q = format!(
            "info_hash={}&info_hash={}&info_hash={}",
            encode(&[1; 20]),
            encode(&[2; 20]),
            encode(&[1; 20])
        );
        assert_eq!(parse_scrape(&q).unwrap(), vec![[1; 20], [2; 20]]);
    }

    #[test]
    fn refuses_empty_bad_and_oversized_scrapes() {
        assert_eq!(parse_scrape(""), Err(RequestError::NoScrapeHashes));
        assert_eq!(
            parse_scrape("info_hash=abc"),
            Err(RequestError::BadInfoHashLength(3))
        );
        let many: Vec<String> = (0..=MAX_SCRAPE_HASHES)
            .map(|i| format!("info_hash={}", encode(&[i as u8; 20])))
            .collect();
        assert_eq!(
            parse_scrape(&many.join("&")),
            Err(RequestError::TooManyHashes(MAX_SCRAPE_HASHES))
        );
    }
}
