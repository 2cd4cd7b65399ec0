//! How long a piece is, chosen from the content size.
//!
//! The rule: the smallest power of two between 16 KiB and 16 MiB that keeps the torrent at or
//! under 1024 pieces. Powers of two are required by BEP 52 (hybrid torrents share one piece
//! length between v1 and v2) and 16 KiB is the v2 block size. About a thousand pieces keeps the
//! metadata small (20 bytes per v1 piece, 32 per v2 piece layer entry: ~52 KB for a hybrid
//! torrent) while pieces stay small enough that a web seed or a peer can verify progress often;
//! a 2 GB file gets 2 MiB pieces. Above 16 GiB the count grows past 1024 rather than the pieces
//! growing past 16 MiB, which some clients refuse.

/// The v2 merkle tree leaf size (BEP 52), and the smallest piece length.
pub const BLOCK_SIZE: u64 = 16 * 1024;
pub const MIN_PIECE_LENGTH: u64 = BLOCK_SIZE;
pub const MAX_PIECE_LENGTH: u64 = 16 * 1024 * 1024;
/// The piece count the rule aims to stay under.
pub const TARGET_PIECES: u64 = 1024;

/// The piece length for content of `total_size` bytes (see the module doc for the rule).
pub fn piece_length_for(total_size: u64) -> u64 {
    let mut length = MIN_PIECE_LENGTH;
    while length < MAX_PIECE_LENGTH && total_size.div_ceil(length) > TARGET_PIECES {
        length *= 2;
    }
    length
}

/// Whether `length` can be a piece length for the torrents we make: a power of two from 16 KiB
/// to 16 MiB.
pub fn is_valid_piece_length(length: u64) -> bool {
    length.is_power_of_two() && (MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&length)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn small_files_get_the_smallest_pieces() {
        assert_eq!(piece_length_for(0), 16 * 1024);
        assert_eq!(piece_length_for(1), 16 * 1024);
        assert_eq!(piece_length_for(16 * MIB), 16 * 1024);
    }

    #[test]
    fn pieces_grow_to_stay_near_a_thousand() {
        assert_eq!(piece_length_for(16 * MIB + 1), 32 * 1024);
        assert_eq!(piece_length_for(2_000_000_000), 2 * MIB);
        assert_eq!(piece_length_for(2048 * MIB), 2 * MIB);
        assert_eq!(piece_length_for(2048 * MIB + 1), 4 * MIB);
        for size in [1, 1000, 10 * MIB, 700 * MIB, 5000 * MIB, 16 * 1024 * MIB] {
            let length = piece_length_for(size);
            assert!(is_valid_piece_length(length));
            assert!(size.div_ceil(length) <= TARGET_PIECES, "{size}");
        }
    }

    #[test]
    fn huge_files_stop_at_16_mib() {
        assert_eq!(piece_length_for(100 * 1024 * MIB), 16 * MIB);
        assert_eq!(piece_length_for(u64::MAX), 16 * MIB);
    }
}
