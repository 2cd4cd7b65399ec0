//! Bencode (BEP 3): the encoding of .torrent files and tracker responses.
//!
//! The decoder is strict on purpose: a torrent's identity is the SHA-1/SHA-256 of its bencoded
//! `info` dict, so two byte strings that decode to the same value must not both be accepted
//! (leading zeros, `-0`, unsorted or duplicate keys would let one torrent have many hashes).
//! It also bounds nesting depth and never trusts a declared length beyond the input it has, so
//! hostile input cannot exhaust the stack or memory.

use std::collections::BTreeMap;
use std::ops::Range;

/// Nesting deeper than this is refused: real torrents nest a handful of levels (a `file tree`
/// adds one per directory), and recursion must stay far from the stack limit.
pub const MAX_DEPTH: usize = 64;

/// A bencoded value. Dictionaries are kept sorted by raw key bytes, which is exactly the order
/// bencode requires, so encoding a [`Value`] is canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Dict(BTreeMap<Vec<u8>, Value>),
}

/// Why input is not valid bencode. Every variant names the byte offset where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("bencode ends early at byte {offset}")]
    Truncated { offset: usize },
    #[error("unexpected byte 0x{byte:02x} at byte {offset}")]
    UnexpectedByte { offset: usize, byte: u8 },
    #[error("integer without digits at byte {offset}")]
    EmptyInteger { offset: usize },
    #[error("number with a leading zero at byte {offset}")]
    LeadingZero { offset: usize },
    #[error("negative zero at byte {offset}")]
    NegativeZero { offset: usize },
    #[error("integer out of the 64-bit range at byte {offset}")]
    IntegerOverflow { offset: usize },
    #[error("string length too large at byte {offset}")]
    LengthOverflow { offset: usize },
    #[error("dictionary key not in sorted order at byte {offset}")]
    UnsortedKey { offset: usize },
    #[error("duplicate dictionary key at byte {offset}")]
    DuplicateKey { offset: usize },
    #[error("nesting deeper than {limit} levels at byte {offset}")]
    TooDeep { offset: usize, limit: usize },
    #[error("trailing data after the value at byte {offset}")]
    TrailingData { offset: usize },
}

/// A decoded document plus where each top-level dictionary value sits in the input, so a caller
/// can hash the exact bytes of `info` rather than a re-encoding of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub value: Value,
    top_level_spans: BTreeMap<Vec<u8>, Range<usize>>,
}

impl Decoded {
    /// The byte range of the value stored under `key` in the top-level dictionary, if the
    /// document is a dictionary with that key.
    pub fn top_level_span(&self, key: &[u8]) -> Option<Range<usize>> {
        self.top_level_spans.get(key).cloned()
    }
}

/// Decodes exactly one value that must span the whole input.
pub fn decode(input: &[u8]) -> Result<Value, DecodeError> {
    decode_with_spans(input).map(|d| d.value)
}

/// Like [`decode`], also recording the byte span of every top-level dictionary value.
pub fn decode_with_spans(input: &[u8]) -> Result<Decoded, DecodeError> {
    let mut decoder = Decoder {
        input,
        pos: 0,
        top_level_spans: BTreeMap::new(),
    };
    let value = decoder.value(0)?;
    if decoder.pos != input.len() {
        return Err(DecodeError::TrailingData {
            offset: decoder.pos,
        });
    }
    Ok(Decoded {
        value,
        top_level_spans: decoder.top_level_spans,
    })
}

/// Encodes a value canonically.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Appends the canonical encoding of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Int(n) => {
            out.push(b'i');
            out.extend_from_slice(n.to_string().as_bytes());
            out.push(b'e');
        }
        Value::Bytes(bytes) => encode_bytes(bytes, out),
        Value::List(items) => {
            out.push(b'l');
            for item in items {
                encode_into(item, out);
            }
            out.push(b'e');
        }
        Value::Dict(entries) => {
            out.push(b'd');
            for (key, item) in entries {
                encode_bytes(key, out);
                encode_into(item, out);
            }
            out.push(b'e');
        }
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

impl Value {
    /// A byte string from anything byte-like (`&str`, `&[u8]`, `Vec<u8>`).
    pub fn bytes(bytes: impl AsRef<[u8]>) -> Value {
        Value::Bytes(bytes.as_ref().to_vec())
    }

    /// A dictionary from `(key, value)` pairs; a later duplicate key replaces an earlier one.
    pub fn dict<K: AsRef<[u8]>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Dict(
            entries
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_vec(), v))
                .collect(),
        )
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The byte string as UTF-8 text, if it is both.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&BTreeMap<Vec<u8>, Value>> {
        match self {
            Value::Dict(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under `key` when `self` is a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dict().and_then(|d| d.get(key.as_bytes()))
    }
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    top_level_spans: BTreeMap<Vec<u8>, Range<usize>>,
}

impl Decoder<'_> {
    fn peek(&self) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::Truncated { offset: self.pos })
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        match self.peek()? {
            b'i' => self.int().map(Value::Int),
            b'0'..=b'9' => self.byte_string().map(|b| Value::Bytes(b.to_vec())),
            b'l' | b'd' if depth >= MAX_DEPTH => Err(DecodeError::TooDeep {
                offset: self.pos,
                limit: MAX_DEPTH,
            }),
            b'l' => self.list(depth),
            b'd' => self.dict(depth),
            byte => Err(DecodeError::UnexpectedByte {
                offset: self.pos,
                byte,
            }),
        }
    }

    /// `i<digits>e`: no leading zeros, no `-0`, no `+`, fits in i64.
    fn int(&mut self) -> Result<i64, DecodeError> {
        let start = self.pos;
        self.pos += 1; // 'i'
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        while self.peek()?.is_ascii_digit() {
            self.pos += 1;
        }
        let digits = &self.input[digits_start..self.pos];
        let end = self.peek()?;
        if end != b'e' {
            return Err(DecodeError::UnexpectedByte {
                offset: self.pos,
                byte: end,
            });
        }
        if digits.is_empty() {
            return Err(DecodeError::EmptyInteger { offset: start });
        }
        if digits[0] == b'0' {
            if negative {
                return Err(DecodeError::NegativeZero { offset: start });
            }
            if digits.len() > 1 {
                return Err(DecodeError::LeadingZero { offset: start });
            }
        }
        // Accumulate negatively so i64::MIN is representable.
        let mut n: i64 = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_sub(i64::from(d - b'0')))
                .ok_or(DecodeError::IntegerOverflow { offset: start })?;
        }
        if !negative {
            n = n
                .checked_neg()
                .ok_or(DecodeError::IntegerOverflow { offset: start })?;
        }
        self.pos += 1; // 'e'
        Ok(n)
    }

    /// `<length>:<bytes>`: the length has no leading zeros and must fit in what is left.
    fn byte_string(&mut self) -> Result<&[u8], DecodeError> {
        let start = self.pos;
        let mut len: usize = 0;
        while self.peek()?.is_ascii_digit() {
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(self.input[self.pos] - b'0')))
                .ok_or(DecodeError::LengthOverflow { offset: start })?;
            self.pos += 1;
        }
        if self.pos - start > 1 && self.input[start] == b'0' {
            return Err(DecodeError::LeadingZero { offset: start });
        }
        let colon = self.peek()?;
        if colon != b':' {
            return Err(DecodeError::UnexpectedByte {
                offset: self.pos,
                byte: colon,
            });
        }
        self.pos += 1;
        let remaining = self.input.len() - self.pos;
        if len > remaining {
            return Err(DecodeError::Truncated {
                offset: self.input.len(),
            });
        }
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    fn list(&mut self, depth: usize) -> Result<Value, DecodeError> {
        self.pos += 1; // 'l'
        let mut items = Vec::new();
        while self.peek()? != b'e' {
            items.push(self.value(depth + 1)?);
        }
        self.pos += 1;
        Ok(Value::List(items))
    }

    fn dict(&mut self, depth: usize) -> Result<Value, DecodeError> {
        self.pos += 1; // 'd'
        let mut entries: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
        let mut previous: Option<Vec<u8>> = None;
        while self.peek()? != b'e' {
            let key_offset = self.pos;
            let byte = self.peek()?;
            if !byte.is_ascii_digit() {
                return Err(DecodeError::UnexpectedByte {
                    offset: key_offset,
                    byte,
                });
            }
            let key = self.byte_string()?.to_vec();
            if let Some(prev) = &previous {
                match key.as_slice().cmp(prev.as_slice()) {
                    std::cmp::Ordering::Less => {
                        return Err(DecodeError::UnsortedKey { offset: key_offset });
                    }
                    std::cmp::Ordering::Equal => {
                        return Err(DecodeError::DuplicateKey { offset: key_offset });
                    }
                    std::cmp::Ordering::Greater => {}
                }
            }
            let value_start = self.pos;
            let value = self.value(depth + 1)?;
            if depth == 0 {
                self.top_level_spans
                    .insert(key.clone(), value_start..self.pos);
            }
            previous = Some(key.clone());
            entries.insert(key, value);
        }
        self.pos += 1;
        Ok(Value::Dict(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> DecodeError {
        decode(input.as_bytes()).expect_err(input)
    }

    #[test]
    fn decodes_every_kind() {
        let v = decode(b"d3:bar4:spam3:fooi42e4:listli-7ei0eee").unwrap();
        assert_eq!(v.get("bar").and_then(Value::as_str), Some("spam"));
        assert_eq!(v.get("foo").and_then(Value::as_int), Some(42));
        assert_eq!(
            v.get("list").and_then(Value::as_list),
            Some(&[Value::Int(-7), Value::Int(0)][..])
        );
        assert_eq!(decode(b"0:").unwrap(), Value::Bytes(vec![]));
        assert_eq!(decode(b"le").unwrap(), Value::List(vec![]));
        assert_eq!(decode(b"de").unwrap(), Value::Dict(BTreeMap::new()));
    }

    #[test]
    fn integer_extremes_round_trip() {
        for n in [i64::MIN, i64::MAX, 0, -1, 1] {
            let encoded = encode(&Value::Int(n));
            assert_eq!(decode(&encoded).unwrap(), Value::Int(n));
        }
        assert_eq!(
            err("i9223372036854775808e"),
            DecodeError::IntegerOverflow { offset: 0 }
        );
        assert_eq!(
            err("i-9223372036854775809e"),
            DecodeError::IntegerOverflow { offset: 0 }
        );
    }

    #[test]
    fn rejects_leading_zeros() {
        assert_eq!(err("i03e"), DecodeError::LeadingZero { offset: 0 });
        assert_eq!(err("i-03e"), DecodeError::NegativeZero { offset: 0 });
        assert_eq!(err("03:abc"), DecodeError::LeadingZero { offset: 0 });
        assert_eq!(err("l00:e"), DecodeError::LeadingZero { offset: 1 });
    }

    #[test]
    fn rejects_negative_zero_and_empty_integers() {
        assert_eq!(err("i-0e"), DecodeError::NegativeZero { offset: 0 });
        assert_eq!(err("ie"), DecodeError::EmptyInteger { offset: 0 });
        assert_eq!(err("i-e"), DecodeError::EmptyInteger { offset: 0 });
        assert_eq!(
            err("i+1e"),
            DecodeError::UnexpectedByte {
                offset: 1,
                byte: b'+'
            }
        );
        assert_eq!(
            err("i1.5e"),
            DecodeError::UnexpectedByte {
                offset: 2,
                byte: b'.'
            }
        );
    }

    #[test]
    fn rejects_unsorted_and_duplicate_keys() {
        assert_eq!(
            err("d1:bi1e1:ai2ee"),
            DecodeError::UnsortedKey { offset: 7 }
        );
        assert_eq!(
            err("d1:ai1e1:ai2ee"),
            DecodeError::DuplicateKey { offset: 7 }
        );
        // Raw byte order, not text order: "B" (0x42) sorts before "a" (0x61).
        assert!(decode(b"d1:Bi1e1:ai2ee").is_ok());
        assert!(decode(b"d1:ai1e1:Bi2ee").is_err());
        // A prefix sorts first.
        assert!(decode(b"d1:ai1e2:aai2ee").is_ok());
    }

    #[test]
    fn rejects_non_string_keys() {
        assert_eq!(
            err("di1ei2ee"),
            DecodeError::UnexpectedByte {
                offset: 1,
                byte: b'i'
            }
        );
    }

    #[test]
    fn rejects_trailing_data() {
        assert_eq!(err("i1ei2e"), DecodeError::TrailingData { offset: 3 });
        assert_eq!(err("0:x"), DecodeError::TrailingData { offset: 2 });
    }

    #[test]
    fn rejects_truncated_input() {
        for input in [
            "", "i", "i12", "l", "li1e", "d", "d1:a", "5:abc", "12", "d1:ai1e",
        ] {
            assert!(
                matches!(err(input), DecodeError::Truncated { .. }),
                "{input:?}: {:?}",
                err(input)
            );
        }
    }

    #[test]
    fn rejects_lengths_beyond_the_input_without_allocating() {
        assert_eq!(err("99999999999:x"), DecodeError::Truncated { offset: 13 });
        assert_eq!(
            err("99999999999999999999999999:x"),
            DecodeError::LengthOverflow { offset: 0 }
        );
    }

    #[test]
    fn limits_nesting_depth() {
        let ok = "l".repeat(MAX_DEPTH) + &"e".repeat(MAX_DEPTH);
        assert!(decode(ok.as_bytes()).is_ok());
        let deep = "l".repeat(MAX_DEPTH + 1) + &"e".repeat(MAX_DEPTH + 1);
        assert_eq!(
            err(&deep),
            DecodeError::TooDeep {
                offset: MAX_DEPTH,
                limit: MAX_DEPTH
            }
        );
        // A hostile depth far beyond the limit fails cleanly instead of overflowing the stack.
        let hostile = "d1:a".repeat(100_000);
        assert!(matches!(err(&hostile), DecodeError::TooDeep { .. }));
    }

    #[test]
    fn rejects_unknown_type_bytes() {
        assert_eq!(
            err("x"),
            DecodeError::UnexpectedByte {
                offset: 0,
                byte: b'x'
            }
        );
        assert_eq!(
            err("3-abc"),
            DecodeError::UnexpectedByte {
                offset: 1,
                byte: b'-'
            }
        );
    }

    #[test]
    fn records_the_raw_span_of_top_level_values() {
        let input = b"d4:infod4:name1:ae3:zzzi1ee";
        let decoded = decode_with_spans(input).unwrap();
        let span = decoded.top_level_span(b"info").unwrap();
        assert_eq!(&input[span], b"d4:name1:ae");
        assert_eq!(&input[decoded.top_level_span(b"zzz").unwrap()], b"i1e");
        assert_eq!(decoded.top_level_span(b"name"), None);
    }

    #[test]
    fn encodes_canonically() {
        let v = Value::dict([
            ("zeta", Value::Int(-3)),
            ("alpha", Value::List(vec![Value::bytes("x"), Value::Int(0)])),
        ]);
        assert_eq!(encode(&v), b"d5:alphal1:xi0ee4:zetai-3ee");
    }
}
