//! Which chunks of an object a peer holds: a compact bit set, sent on the wire with every
//! chunk-protocol answer so downloaders keep an up-to-date view of who has what.

/// A set of chunk indexes `0..len`, one bit per chunk (least significant bit first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkSet {
    len: usize,
    bits: Vec<u8>,
}

impl ChunkSet {
    /// An empty set over `len` chunks.
    pub fn empty(len: usize) -> Self {
        ChunkSet {
            len,
            bits: vec![0; len.div_ceil(8)],
        }
    }

    /// The full set over `len` chunks.
    pub fn full(len: usize) -> Self {
        let mut set = Self::empty(len);
        for i in 0..len {
            set.insert(i);
        }
        set
    }

    /// Rebuilds a set from its wire form; `None` if `bits` does not have `ceil(len / 8)`
    /// bytes or sets bits past `len`.
    pub fn from_bits(len: usize, bits: Vec<u8>) -> Option<Self> {
        if bits.len() != len.div_ceil(8) {
            return None;
        }
        let spare = bits.len() * 8 - len;
        if spare > 0 {
            let last = *bits.last()?;
            if last >> (8 - spare) != 0 {
                return None;
            }
        }
        Some(ChunkSet { len, bits })
    }

    /// The wire form: `ceil(len / 8)` bytes.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Number of chunks the set ranges over.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the set ranges over no chunks at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds chunk `index`; indexes out of range are ignored.
    pub fn insert(&mut self, index: usize) {
        if index < self.len {
            self.bits[index / 8] |= 1 << (index % 8);
        }
    }

    /// Whether chunk `index` is in the set.
    pub fn contains(&self, index: usize) -> bool {
        index < self.len && self.bits[index / 8] & (1 << (index % 8)) != 0
    }

    /// Number of chunks in the set.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// True when every chunk is in the set.
    pub fn is_full(&self) -> bool {
        self.count() == self.len
    }
}

/// What a peer holds of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Have {
    /// The whole object, verified.
    All,
    /// Some chunks, still downloading.
    Some(ChunkSet),
}

impl Have {
    /// Whether chunk `index` is held.
    pub fn contains(&self, index: usize) -> bool {
        match self {
            Have::All => true,
            Have::Some(set) => set.contains(index),
        }
    }

    /// The held chunks as a set over `len` chunks.
    pub fn to_set(&self, len: usize) -> ChunkSet {
        match self {
            Have::All => ChunkSet::full(len),
            Have::Some(set) if set.len() == len => set.clone(),
            Have::Some(_) => ChunkSet::empty(len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_count() {
        let mut set = ChunkSet::empty(10);
        assert_eq!(set.bits().len(), 2);
        set.insert(0);
        set.insert(9);
        set.insert(10); // out of range: ignored
        assert!(set.contains(0) && set.contains(9) && !set.contains(1) && !set.contains(10));
        assert_eq!(set.count(), 2);
        assert!(!set.is_full());
        assert!(ChunkSet::full(10).is_full());
        assert!(ChunkSet::empty(0).is_full());
    }

    #[test]
    fn wire_form_is_checked() {
        let set = ChunkSet::full(10);
        assert_eq!(
            ChunkSet::from_bits(10, set.bits().to_vec()),
            Some(set.clone())
        );
        assert_eq!(ChunkSet::from_bits(10, vec![0xff]), None);
        assert_eq!(ChunkSet::from_bits(10, vec![0xff, 0x07]), None);
        assert_eq!(Have::All.to_set(3), ChunkSet::full(3));
        assert_eq!(Have::Some(set).to_set(4), ChunkSet::empty(4));
    }
}
