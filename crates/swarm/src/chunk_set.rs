//! Which chunks a peer holds (or is receiving), as a bit set.

/// A fixed-length set of chunk indices with a maintained count, so "is this peer complete" and
/// "how many chunks does it have" are O(1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSet {
    words: Vec<u64>,
    len: usize,
    count: usize,
}

impl ChunkSet {
    pub fn empty(len: usize) -> Self {
        ChunkSet {
            words: vec![0; len.div_ceil(64)],
            len,
            count: 0,
        }
    }

    pub fn full(len: usize) -> Self {
        let mut set = ChunkSet::empty(len);
        for i in 0..len {
            set.insert(i);
        }
        set
    }

    /// Number of chunks the set ranges over.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Number of chunks in the set.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn is_full(&self) -> bool {
        self.count == self.len
    }

    pub fn contains(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Adds `i`; true if it was not there. Indices past the end are ignored.
    pub fn insert(&mut self, i: usize) -> bool {
        if i >= self.len || self.contains(i) {
            return false;
        }
        self.words[i / 64] |= 1 << (i % 64);
        self.count += 1;
        true
    }

    /// Removes `i`; true if it was there.
    pub fn remove(&mut self, i: usize) -> bool {
        if !self.contains(i) {
            return false;
        }
        self.words[i / 64] &= !(1 << (i % 64));
        self.count -= 1;
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + b)
            })
        })
    }

    /// The raw words, for fast set algebra in the planner.
    pub fn words(&self) -> &[u64] {
        &self.words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_inserts_and_removes() {
        let mut s = ChunkSet::empty(130);
        assert!(s.insert(0) && s.insert(129) && !s.insert(129) && !s.insert(500));
        assert_eq!(s.count(), 2);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 129]);
        assert!(s.remove(0) && !s.remove(0));
        assert_eq!(s.count(), 1);
        assert!(ChunkSet::full(130).is_full());
        assert!(ChunkSet::full(0).is_full());
    }
}
