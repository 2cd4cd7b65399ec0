//! Properties of the bencode codec over generated input: whatever is encoded decodes back to
//! the same value, and no input, however malformed, makes the decoder panic.

use dailies_torrent::bencode::{self, Value};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..8),
                inner,
                0..6
            )
            .prop_map(Value::Dict),
        ]
    })
}

/// Bytes that look like bencode often enough to reach deep into the decoder.
fn bencode_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'i'),
            Just(b'l'),
            Just(b'd'),
            Just(b'e'),
            Just(b':'),
            Just(b'-'),
            Just(b'0'),
            (b'1'..=b'9'),
            any::<u8>(),
        ],
        0..64,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_then_decode_is_identity(v in value()) {
        let bytes = bencode::encode(&v);
        prop_assert_eq!(bencode::decode(&bytes), Ok(v));
    }

    #[test]
    fn accepted_input_is_canonical(bytes in bencode_like_bytes()) {
        // Strictness means one value has one encoding: anything accepted re-encodes to itself.
        if let Ok(v) = bencode::decode(&bytes) {
            prop_assert_eq!(bencode::encode(&v), bytes);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = bencode::decode_with_spans(&bytes);
    }

    #[test]
    fn mutated_valid_input_never_panics(v in value(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = bencode::encode(&v);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = bencode::decode(&bytes) {
            prop_assert_eq!(bencode::encode(&decoded), bytes);
        }
    }

    #[test]
    fn truncated_valid_input_is_refused(v in value(), at in any::<prop::sample::Index>()) {
        let bytes = bencode::encode(&v);
        let cut = at.index(bytes.len());
        prop_assert!(bencode::decode(&bytes[..cut]).is_err());
    }
}
