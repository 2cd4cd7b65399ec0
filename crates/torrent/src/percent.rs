//! Percent-encoding (RFC 3986) for magnet links and tracker query strings, written out because
//! the rules we need are two short loops.

/// Encodes every byte except the unreserved characters `A-Z a-z 0-9 - . _ ~`, so the result is
/// safe inside any URI component, including a query value holding a URL.
pub fn encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0x0f)] as char);
        }
    }
    out
}

/// A `%` not followed by two hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad percent escape at byte {offset}")]
pub struct BadEscape {
    pub offset: usize,
}

/// Decodes a query-string component into raw bytes (`+` is a space, as in HTML forms). Strict:
/// a broken escape is an error rather than passed through, so one request has one meaning.
pub fn decode_query_component(input: &[u8]) -> Result<Vec<u8>, BadEscape> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let high = input.get(i + 1).copied().and_then(hex_value);
                let low = input.get(i + 2).copied().and_then(hex_value);
                match (high, low) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(BadEscape { offset: i }),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode(b"aZ09-._~"), "aZ09-._~");
        assert_eq!(
            encode("a b/c?d=e&f+ü".as_bytes()),
            "a%20b%2Fc%3Fd%3De%26f%2B%C3%BC"
        );
        assert_eq!(encode(&[0x00, 0xff]), "%00%FF");
    }

    #[test]
    fn decodes_escapes_of_either_case_and_plus() {
        assert_eq!(
            decode_query_component(b"%00%ff%FFa+b").unwrap(),
            vec![0, 0xff, 0xff, b'a', b' ', b'b']
        );
    }

    #[test]
    fn refuses_broken_escapes() {
        assert_eq!(decode_query_component(b"ab%"), Err(BadEscape { offset: 2 }));
        assert_eq!(decode_query_component(b"%4"), Err(BadEscape { offset: 0 }));
        assert_eq!(decode_query_component(b"%zz"), Err(BadEscape { offset: 0 }));
    }

    #[test]
    fn decode_inverts_encode() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            decode_query_component(encode(&all).as_bytes()).unwrap(),
            all
        );
    }
}
