//! Splitting a tracker query string into decoded `(key, value)` byte pairs. Values stay bytes:
//! `info_hash` and `peer_id` are raw 20-byte strings, percent-encoded, not text.

use super::request_error::RequestError;
use crate::percent::decode_query_component;

/// Longer queries are refused before any work: a real announce is well under 1 KB, and a scrape
/// of [`super::scrape::MAX_SCRAPE_HASHES`] hashes under 5 KB.
pub const MAX_QUERY_LEN: usize = 8 * 1024;

pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Decodes `a=1&b=%20x&flag`; empty segments are skipped, a key without `=` has an empty value.
pub(crate) fn parse_pairs(query: &str) -> Result<Pairs, RequestError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(RequestError::TooLong);
    }
    let mut pairs = Vec::new();
    for segment in query.as_bytes().split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (key, value) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &segment[segment.len()..]),
        };
        let key = decode_query_component(key).map_err(|_| RequestError::BadEscape)?;
        let value = decode_query_component(value).map_err(|_| RequestError::BadEscape)?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The one value of `key`; a repeated key is refused so a request has a single meaning.
pub(crate) fn single<'a>(
    pairs: &'a Pairs,
    key: &'static str,
) -> Result<Option<&'a [u8]>, RequestError> {
    let mut found = None;
    for (k, v) in pairs {
        if k.as_slice() == key.as_bytes() {
            if found.is_some() {
                return Err(RequestError::Duplicate(key));
            }
            found = Some(v.as_slice());
        }
    }
    Ok(found)
}

pub(crate) fn required<'a>(pairs: &'a Pairs, key: &'static str) -> Result<&'a [u8], RequestError> {
    single(pairs, key)?.ok_or(RequestError::Missing(key))
}

/// A decimal number without sign, spaces or a leading `+`.
pub(crate) fn number(value: &[u8], key: &'static str) -> Result<u64, RequestError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(RequestError::BadNumber(key));
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RequestError::BadNumber(key))
}

/// A raw 20-byte hash or id.
pub(crate) fn twenty_bytes(value: &[u8]) -> Option<[u8; 20]> {
    value.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_decodes() {
        let pairs = parse_pairs("a=1&&b=%41+c&flag&=x").unwrap();
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"A c".to_vec()),
                (b"flag".to_vec(), vec![]),
                (vec![], b"x".to_vec()),
            ]
        );
    }

    #[test]
    fn refuses_bad_escapes_duplicates_and_long_queries() {
        assert_eq!(parse_pairs("a=%g0"), Err(RequestError::BadEscape));
        let pairs = parse_pairs("a=1&a=2").unwrap();
        assert_eq!(single(&pairs, "a"), Err(RequestError::Duplicate("a")));
        assert_eq!(
            parse_pairs(&"a".repeat(MAX_QUERY_LEN + 1)),
            Err(RequestError::TooLong)
        );
    }

    #[test]
    fn numbers_are_plain_digits() {
        assert_eq!(number(b"0", "n"), Ok(0));
        assert_eq!(number(b"18446744073709551615", "n"), Ok(u64::MAX));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1e3",
            b"18446744073709551616",
        ] {
            assert_eq!(number(bad, "n"), Err(RequestError::BadNumber("n")));
        }
    }
}
