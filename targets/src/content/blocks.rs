//! Blocks: the 16 KiB units peers exchange, each verified on its own against the id.
//!
//! A chunk's hash in the [`Manifest`] is a BLAKE3 root hash, and BLAKE3 is a tree: an
//! aligned 16 KiB block (16 BLAKE3 chunks of 1 KiB) is a subtree of it, whose chaining
//! value is a node of that tree. [`BlockHashes`] lists the chaining value of every block
//! of an object (its *outboard*, in the terms of BLAKE3 verified streaming). It is
//! checked against the manifest by merging each chunk's block values up to the chunk's
//! root hash, so the id still pins down every byte; after that every block is verified
//! alone as it arrives, and a peer can forward a block before it holds the whole chunk.
//! The content id does not change: the same bytes get the same id on every architecture.
//!
//! Encoding: the 32-byte value of every block, in order (`32 × block count` bytes). A
//! chunk of a single block has no inner node: its "block value" is the chunk's root hash.

use std::ops::Range;

use blake3::hazmat::{
    merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};

use super::{ContentError, Manifest};

/// Size of every block but the last of each chunk, in bytes (16 KiB). Not part of the id.
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// The chaining value of every block of one object, checked against its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHashes {
    values: Vec<ChainingValue>,
}

impl Manifest {
    /// Blocks per full chunk; `None` when the chunk size is not a multiple of [`BLOCK_SIZE`].
    fn blocks_per_chunk(&self) -> Option<usize> {
        (self.chunk_size % BLOCK_SIZE == 0).then_some((self.chunk_size / BLOCK_SIZE) as usize)
    }

    /// Number of blocks of the object (0 when its chunks cannot be cut into blocks).
    pub fn block_count(&self) -> usize {
        match self.blocks_per_chunk() {
            Some(_) => self.size.div_ceil(u64::from(BLOCK_SIZE)) as usize,
            None => 0,
        }
    }

    /// Byte range of block `index` within the object, if it exists.
    pub fn block_range(&self, index: usize) -> Option<Range<u64>> {
        if index >= self.block_count() {
            return None;
        }
        let start = index as u64 * u64::from(BLOCK_SIZE);
        Some(start..(start + u64::from(BLOCK_SIZE)).min(self.size))
    }

    /// The chunk that holds block `index`, and the block's range within that chunk.
    pub fn block_in_chunk(&self, index: usize) -> Option<(usize, Range<usize>)> {
        let per_chunk = self.blocks_per_chunk()?;
        let range = self.block_range(index)?;
        let chunk = index / per_chunk;
        let chunk_start = chunk as u64 * u64::from(self.chunk_size);
        Some((
            chunk,
            (range.start - chunk_start) as usize..(range.end - chunk_start) as usize,
        ))
    }

    /// The blocks that make up chunk `chunk`.
    pub fn blocks_of_chunk(&self, chunk: usize) -> Range<usize> {
        match (self.blocks_per_chunk(), self.chunk_range(chunk)) {
            (Some(per_chunk), Some(range)) => {
                let first = chunk * per_chunk;
                let len = (range.end - range.start).div_ceil(u64::from(BLOCK_SIZE)) as usize;
                first..first + len
            }
            _ => 0..0,
        }
    }
}

/// The value of `block`, found at `offset` bytes into a chunk of `blocks` blocks.
fn block_value(block: &[u8], offset: usize, blocks: usize) -> ChainingValue {
    if blocks == 1 {
        return *blake3::hash(block).as_bytes();
    }
    blake3::Hasher::new()
        .set_input_offset(offset as u64)
        .update(block)
        .finalize_non_root()
}

/// Largest power of two strictly below `n` (`n >= 2`): the left subtree's share.
fn left_len(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The chaining value of the subtree over `values` (not the root).
fn subtree(values: &[ChainingValue]) -> ChainingValue {
    if values.len() == 1 {
        return values[0];
    }
    let left = left_len(values.len());
    merge_subtrees_non_root(
        &subtree(&values[..left]),
        &subtree(&values[left..]),
        Mode::Hash,
    )
}

/// The root hash of a chunk from its block values (BLAKE3's left-balanced tree).
fn chunk_root(values: &[ChainingValue]) -> [u8; 32] {
    match values.len() {
        0 => *blake3::hash(b"").as_bytes(),
        1 => values[0],
        n => {
            let left = left_len(n);
            *merge_subtrees_root(
                &subtree(&values[..left]),
                &subtree(&values[left..]),
                Mode::Hash,
            )
            .as_bytes()
        }
    }
}

impl BlockHashes {
    /// The block values of `bytes`, cut as `manifest` (made from the same bytes) says.
    /// Errors when the manifest's chunks cannot be cut into blocks or do not fit `bytes`.
    pub fn of(manifest: &Manifest, bytes: &[u8]) -> Result<Self, ContentError> {
        if manifest.blocks_per_chunk().is_none() || bytes.len() as u64 != manifest.size {
            return Err(ContentError::Unblockable {
                chunk_size: manifest.chunk_size,
            });
        }
        let mut values = Vec::with_capacity(manifest.block_count());
        for chunk in 0..manifest.chunk_count() {
            let blocks = manifest.blocks_of_chunk(chunk);
            for index in blocks.clone() {
                let (_, within) =
                    manifest
                        .block_in_chunk(index)
                        .ok_or(ContentError::Unblockable {
                            chunk_size: manifest.chunk_size,
                        })?;
                let range = manifest.block_range(index).unwrap_or(0..0);
                let block = &bytes[range.start as usize..range.end as usize];
                values.push(block_value(block, within.start, blocks.len()));
            }
        }
        Ok(BlockHashes { values })
    }

    /// Decodes block values and checks them against `manifest`: each chunk's values must
    /// merge into the chunk's hash. Errors name the first chunk that does not match.
    pub fn decode(manifest: &Manifest, bytes: &[u8]) -> Result<Self, ContentError> {
        let count = manifest.block_count();
        if manifest.blocks_per_chunk().is_none() {
            return Err(ContentError::Unblockable {
                chunk_size: manifest.chunk_size,
            });
        }
        if bytes.len() as u64 != count as u64 * 32 {
            return Err(ContentError::MalformedManifest(format!(
                "an object of {count} blocks has {} bytes of block hashes, {} expected",
                bytes.len(),
                count * 32
            )));
        }
        let values: Vec<ChainingValue> = bytes
            .chunks_exact(32)
            .map(|v| {
                let mut value = [0u8; 32];
                value.copy_from_slice(v);
                value
            })
            .collect();
        for (chunk, expected) in manifest.chunks.iter().enumerate() {
            let blocks = manifest.blocks_of_chunk(chunk);
            let root = chunk_root(&values[blocks]);
            if blake3::Hash::from_bytes(root) != blake3::Hash::from_bytes(*expected) {
                return Err(ContentError::BlockHashes { chunk });
            }
        }
        Ok(BlockHashes { values })
    }

    /// The canonical encoding (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        self.values.concat()
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for an empty object.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Checks that `bytes` are exactly block `index` of the object `manifest` describes
    /// (the manifest these values were checked against).
    pub fn verify_block(
        &self,
        manifest: &Manifest,
        index: usize,
        bytes: &[u8],
    ) -> Result<(), ContentError> {
        let out_of_range = ContentError::BlockOutOfRange {
            index,
            count: self.values.len(),
        };
        let (chunk, within) = manifest.block_in_chunk(index).ok_or(out_of_range)?;
        let expected = within.len() as u64;
        if bytes.len() as u64 != expected {
            return Err(ContentError::BlockLength {
                index,
                expected,
                actual: bytes.len() as u64,
            });
        }
        let blocks = manifest.blocks_of_chunk(chunk).len();
        let value = block_value(bytes, within.start, blocks);
        let known = self.values.get(index).copied().unwrap_or_default();
        // blake3::Hash compares in constant time.
        if blake3::Hash::from_bytes(value) != blake3::Hash::from_bytes(known) {
            return Err(ContentError::BlockHash { index });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::CHUNK_SIZE;
    use super::*;
    use proptest::prelude::*;

    fn sample(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 9) as u8)
            .collect()
    }

    #[test]
    fn left_len_is_the_largest_power_of_two_below() {
        let cases = [(2, 1), (3, 2), (4, 2), (5, 4), (16, 8), (17, 16)];
        for (n, left) in cases {
            assert_eq!(left_len(n), left, "n = {n}");
        }
    }

    #[test]
    fn block_geometry() {
        let cs = CHUNK_SIZE as usize;
        let b = BLOCK_SIZE as u64;
        let m = Manifest::of(&sample(2 * cs + 5, 3));
        assert_eq!(m.block_count(), 2 * 16 + 1);
        assert_eq!(m.blocks_of_chunk(1), 16..32);
        assert_eq!(m.blocks_of_chunk(2), 32..33);
        assert_eq!(m.block_range(17), Some(17 * b..18 * b));
        assert_eq!(
            m.block_in_chunk(17),
            Some((1, BLOCK_SIZE as usize..2 * BLOCK_SIZE as usize))
        );
        assert_eq!(m.block_in_chunk(32), Some((2, 0..5)));
        assert_eq!(m.block_in_chunk(33), None);
        assert_eq!(Manifest::of(b"").block_count(), 0);
    }

    #[test]
    fn a_flipped_byte_fails_only_its_block() {
        let data = sample(CHUNK_SIZE as usize + 40_000, 7);
        let m = Manifest::of(&data);
        let hashes = BlockHashes::of(&m, &data).unwrap();
        let decoded = BlockHashes::decode(&m, &hashes.encode()).unwrap();
        assert_eq!(decoded, hashes);
        let block = |i: usize| {
            let r = m.block_range(i).unwrap();
            data[r.start as usize..r.end as usize].to_vec()
        };
        for i in 0..m.block_count() {
            assert!(hashes.verify_block(&m, i, &block(i)).is_ok(), "block {i}");
        }
        let mut bad = block(5);
        bad[100] ^= 1;
        assert_eq!(
            hashes.verify_block(&m, 5, &bad),
            Err(ContentError::BlockHash { index: 5 })
        );
        // A good block offered as another one of the same length fails too.
        assert!(hashes.verify_block(&m, 6, &block(5)).is_err());
        assert!(matches!(
            hashes.verify_block(&m, 17, &block(17)[..10]),
            Err(ContentError::BlockLength { .. })
        ));
        assert!(hashes.verify_block(&m, 99, &[]).is_err());
    }

    #[test]
    fn tampered_block_hashes_are_rejected() {
        let data = sample(3 * CHUNK_SIZE as usize, 5);
        let m = Manifest::of(&data);
        let mut encoded = BlockHashes::of(&m, &data).unwrap().encode();
        encoded[40 * 32 + 3] ^= 1;
        assert_eq!(
            BlockHashes::decode(&m, &encoded),
            Err(ContentError::BlockHashes { chunk: 2 })
        );
        assert!(BlockHashes::decode(&m, &encoded[..32]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn block_hashes_merge_into_the_chunk_hashes(len in 0usize..700_000, seed in any::<u8>()) {
            let data = sample(len, seed);
            let m = Manifest::of(&data);
            let hashes = BlockHashes::of(&m, &data).unwrap();
            prop_assert_eq!(hashes.len(), m.block_count());
            let back = BlockHashes::decode(&m, &hashes.encode());
            prop_assert_eq!(back, Ok(hashes.clone()));
            for i in 0..m.block_count() {
                let r = m.block_range(i).unwrap();
                prop_assert!(hashes.verify_block(&m, i, &data[r.start as usize..r.end as usize]).is_ok());
            }
        }
    }
}
