//! BitTorrent v1 piece hashes: SHA-1 of each `piece length` slice of the content, which runs on
//! across file boundaries (pad files, when present, are fed in as zeros).

use sha1::{Digest, Sha1};

pub(crate) struct V1PieceHasher {
    piece_length: u64,
    current: Sha1,
    filled: u64,
    pieces: Vec<u8>,
}

impl V1PieceHasher {
    pub(crate) fn new(piece_length: u64) -> Self {
        V1PieceHasher {
            piece_length,
            current: Sha1::new(),
            filled: 0,
            pieces: Vec::new(),
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.piece_length - self.filled;
            let take = usize::try_from(room).map_or(data.len(), |room| room.min(data.len()));
            self.current.update(&data[..take]);
            self.filled += take as u64;
            data = &data[take..];
            if self.filled == self.piece_length {
                self.finish_piece();
            }
        }
    }

    /// Feeds `count` zero bytes: the content of a BEP 47 pad file.
    pub(crate) fn update_zeros(&mut self, mut count: u64) {
        let zeros = [0u8; 4096];
        while count > 0 {
            let take = count.min(zeros.len() as u64) as usize;
            self.update(&zeros[..take]);
            count -= take as u64;
        }
    }

    fn finish_piece(&mut self) {
        let digest = std::mem::take(&mut self.current).finalize();
        self.pieces.extend_from_slice(&digest);
        self.filled = 0;
    }

    /// The concatenated 20-byte hashes; a shorter last piece is hashed as it is.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            self.finish_piece();
        }
        self.pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha1(data: &[u8]) -> Vec<u8> {
        Sha1::digest(data).to_vec()
    }

    #[test]
    fn hashes_whole_and_partial_pieces_regardless_of_how_data_is_split() {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let mut expected = sha1(&data[..16384]);
        expected.extend(sha1(&data[16384..32768]));
        expected.extend(sha1(&data[32768..]));
        for split in [1, 7, 16384, 16385, 40_000] {
            let mut hasher = V1PieceHasher::new(16384);
            for chunk in data.chunks(split) {
                hasher.update(chunk);
            }
            assert_eq!(hasher.finish(), expected, "split {split}");
        }
    }

    #[test]
    fn no_content_means_no_pieces() {
        assert!(V1PieceHasher::new(16384).finish().is_empty());
    }

    #[test]
    fn zeros_are_content() {
        let mut a = V1PieceHasher::new(16384);
        a.update(b"abc");
        a.update_zeros(20_000);
        let mut b = V1PieceHasher::new(16384);
        b.update(b"abc");
        b.update(&[0u8; 20_000]);
        assert_eq!(a.finish(), b.finish());
    }
}
