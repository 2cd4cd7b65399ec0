//! BitTorrent v2 file hashes (BEP 52): a binary SHA-256 merkle tree over each file's 16 KiB
//! blocks. A file's `pieces root` names it in the `file tree`; the layer of the tree where each
//! node covers one piece goes into `piece layers`, so peers can check whole pieces.
//!
//! Leaves past the end of the file are 32 zero bytes, and the tree is as wide as the next power
//! of two; nodes above them are hashed like any other (so they are not zero).

use sha2::{Digest, Sha256};

use crate::piece_size::BLOCK_SIZE;

pub type Hash256 = [u8; 32];

const ZERO_LEAF: Hash256 = [0; 32];

/// The v2 hashes of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileHashes {
    pub(crate) length: u64,
    /// `None` for an empty file, which has no tree.
    pub(crate) pieces_root: Option<Hash256>,
    /// One hash per piece, only for files longer than one piece (shorter ones need none: their
    /// root is the piece hash).
    pub(crate) piece_layer: Vec<Hash256>,
}

/// Hashes one file's bytes, fed in any split, into its [`FileHashes`].
pub(crate) struct FileMerkleHasher {
    piece_length: u64,
    blocks_per_piece: usize,
    block: Sha256,
    block_filled: u64,
    leaves: Vec<Hash256>,
    pieces: Vec<Hash256>,
    length: u64,
}

impl FileMerkleHasher {
    /// `piece_length` must be a power of two of at least [`BLOCK_SIZE`].
    pub(crate) fn new(piece_length: u64) -> Self {
        let blocks_per_piece = (piece_length / BLOCK_SIZE) as usize;
        FileMerkleHasher {
            piece_length,
            blocks_per_piece,
            block: Sha256::new(),
            block_filled: 0,
            leaves: Vec::with_capacity(blocks_per_piece),
            pieces: Vec::new(),
            length: 0,
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.length += data.len() as u64;
        // Whole blocks straight from the input when aligned: the common case with big buffers.
        while !data.is_empty() {
            if self.block_filled == 0 && data.len() as u64 >= BLOCK_SIZE {
                let (block, rest) = data.split_at(BLOCK_SIZE as usize);
                self.push_leaf(Sha256::digest(block).into());
                data = rest;
                continue;
            }
            let take = ((BLOCK_SIZE - self.block_filled) as usize).min(data.len());
            self.block.update(&data[..take]);
            self.block_filled += take as u64;
            data = &data[take..];
            if self.block_filled == BLOCK_SIZE {
                let leaf = std::mem::take(&mut self.block).finalize().into();
                self.block_filled = 0;
                self.push_leaf(leaf);
            }
        }
    }

    fn push_leaf(&mut self, leaf: Hash256) {
        self.leaves.push(leaf);
        if self.leaves.len() == self.blocks_per_piece {
            let piece = root_of(&mut self.leaves, ZERO_LEAF);
            self.pieces.push(piece);
            self.leaves.clear();
        }
    }

    pub(crate) fn finish(mut self) -> FileHashes {
        if self.block_filled > 0 {
            let leaf = std::mem::take(&mut self.block).finalize().into();
            self.leaves.push(leaf);
        }
        if self.length == 0 {
            return FileHashes {
                length: 0,
                pieces_root: None,
                piece_layer: Vec::new(),
            };
        }
        if self.length <= self.piece_length {
            // One piece at most: the tree is only as wide as the file's own blocks need.
            let root = match self.pieces.first() {
                Some(full_piece) => *full_piece,
                None => root_of(&mut self.leaves, ZERO_LEAF),
            };
            return FileHashes {
                length: self.length,
                pieces_root: Some(root),
                piece_layer: Vec::new(),
            };
        }
        if !self.leaves.is_empty() {
            self.leaves.resize(self.blocks_per_piece, ZERO_LEAF);
            let last = root_of(&mut self.leaves, ZERO_LEAF);
            self.pieces.push(last);
        }
        let piece_layer = self.pieces.clone();
        let root = root_of(&mut self.pieces, pad_piece_hash(self.blocks_per_piece));
        FileHashes {
            length: self.length,
            pieces_root: Some(root),
            piece_layer,
        }
    }
}

/// The hash of a piece made only of padding leaves.
fn pad_piece_hash(blocks_per_piece: usize) -> Hash256 {
    let mut node = ZERO_LEAF;
    let mut width = 1;
    while width < blocks_per_piece {
        node = parent(&node, &node);
        width *= 2;
    }
    node
}

/// Reduces one layer (padded with `pad` to a power of two) to its root, reusing its storage.
fn root_of(layer: &mut Vec<Hash256>, pad: Hash256) -> Hash256 {
    let width = layer.len().max(1).next_power_of_two();
    layer.resize(width, pad);
    let mut len = width;
    while len > 1 {
        for i in 0..len / 2 {
            layer[i] = parent(&layer[2 * i], &layer[2 * i + 1]);
        }
        len /= 2;
    }
    layer[0]
}

fn parent(left: &Hash256, right: &Hash256) -> Hash256 {
    let mut h = Sha256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree written out the slow, obvious way: every leaf, padded with zero leaves to a power
    /// of two (at least one piece wide when the file spans several pieces), reduced pairwise.
    fn reference_root(data: &[u8], piece_length: u64) -> Hash256 {
        let mut leaves: Vec<Hash256> = data
            .chunks(BLOCK_SIZE as usize)
            .map(|b| Sha256::digest(b).into())
            .collect();
        let mut width = leaves.len().next_power_of_two();
        if data.len() as u64 > piece_length {
            width = width.max((piece_length / BLOCK_SIZE) as usize);
        }
        leaves.resize(width, ZERO_LEAF);
        while leaves.len() > 1 {
            leaves = leaves.chunks(2).map(|p| parent(&p[0], &p[1])).collect();
        }
        leaves[0]
    }

    fn hash(data: &[u8], piece_length: u64, split: usize) -> FileHashes {
        let mut h = FileMerkleHasher::new(piece_length);
        for chunk in data.chunks(split.max(1)) {
            h.update(chunk);
        }
        h.finish()
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 253) as u8).collect()
    }

    #[test]
    fn empty_file_has_no_root() {
        let h = hash(&[], 65536, 1);
        assert_eq!(h.pieces_root, None);
        assert!(h.piece_layer.is_empty());
    }

    #[test]
    fn one_block_file_root_is_the_block_hash() {
        let d = data(1000);
        let h = hash(&d, 65536, 100);
        assert_eq!(h.pieces_root, Some(Sha256::digest(&d).into()));
        assert!(h.piece_layer.is_empty());
    }

    #[test]
    fn roots_match_the_plain_definition() {
        let piece = 4 * BLOCK_SIZE;
        for len in [
            1,
            16384,
            16385,
            3 * 16384,
            piece as usize,
            piece as usize + 1,
            5 * 16384 + 17,
            9 * piece as usize,
            9 * piece as usize - 3,
        ] {
            let d = data(len);
            for split in [1000, 16384, 100_000] {
                let h = hash(&d, piece, split);
                assert_eq!(h.pieces_root, Some(reference_root(&d, piece)), "len {len}");
                assert_eq!(h.length, len as u64);
            }
        }
    }

    #[test]
    fn piece_layer_has_one_hash_per_piece_and_rebuilds_the_root() {
        let piece = 2 * BLOCK_SIZE;
        let d = data(5 * piece as usize + 100);
        let h = hash(&d, piece, 5000);
        assert_eq!(h.piece_layer.len(), 6);
        // Each piece hash is the root of that piece's blocks, the last padded with zero leaves.
        for (i, chunk) in d.chunks(piece as usize).enumerate() {
            let mut leaves: Vec<Hash256> = chunk
                .chunks(BLOCK_SIZE as usize)
                .map(|b| Sha256::digest(b).into())
                .collect();
            leaves.resize(2, ZERO_LEAF);
            assert_eq!(h.piece_layer[i], parent(&leaves[0], &leaves[1]));
        }
        let mut layer = h.piece_layer.clone();
        assert_eq!(Some(root_of(&mut layer, pad_piece_hash(2))), h.pieces_root);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn any_length_piece_size_and_split_matches_the_definition(
            len in 0usize..300_000,
            piece_shift in 0u32..4,
            split in 1usize..70_000,
        ) {
            let piece = BLOCK_SIZE << piece_shift;
            let d = data(len);
            let h = hash(&d, piece, split);
            if len == 0 {
                proptest::prop_assert_eq!(h.pieces_root, None);
            } else {
                proptest::prop_assert_eq!(h.pieces_root, Some(reference_root(&d, piece)));
            }
            let pieces = (len as u64).div_ceil(piece) as usize;
            let expected_layer = if len as u64 > piece { pieces } else { 0 };
            proptest::prop_assert_eq!(h.piece_layer.len(), expected_layer);
        }
    }

    #[test]
    fn file_of_exactly_one_piece_needs_no_layer() {
        let piece = 4 * BLOCK_SIZE;
        let d = data(piece as usize);
        let h = hash(&d, piece, 7777);
        assert!(h.piece_layer.is_empty());
        assert_eq!(h.pieces_root, Some(reference_root(&d, piece)));
    }
}
