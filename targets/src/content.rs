//! Content addressing shared by every target and by the harness.
//!
//! An object is cut into fixed chunks of [`CHUNK_SIZE`] bytes (the last one may be
//! shorter). Its [`Manifest`] lists the BLAKE3 hash of every chunk, and its [`ObjectId`]
//! is the BLAKE3 hash of the manifest's canonical encoding. So the id alone pins down
//! every byte: a node that holds the manifest can verify each chunk on its own, before
//! storing or serving it, and the same bytes get the same id on every architecture.
//!
//! Canonical manifest encoding (all integers little-endian):
//! `b"VSM1"` | size: u64 | chunk_size: u32 | chunk count: u64 | 32-byte hash per chunk.
//! An empty object has no chunks.
//!
//! Peers exchange smaller units, 16 KiB [blocks](blocks), each verified on its own against
//! the same id through BLAKE3's tree (see [`BlockHashes`]).

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod blocks;
pub use blocks::{BlockHashes, BLOCK_SIZE};

/// Size of every chunk but the last, in bytes (256 KiB). Part of the id: never change it.
pub const CHUNK_SIZE: u32 = 256 * 1024;

/// Magic prefix of the canonical manifest encoding (format version 1).
const MAGIC: &[u8; 4] = b"VSM1";
/// Bytes before the chunk hashes: magic, size, chunk size, chunk count.
const HEADER_LEN: usize = 4 + 8 + 4 + 8;

/// Why content could not be addressed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// A string that should be an object id is not 64 hex characters.
    #[error("invalid object id \"{input}\": {reason}; expected 64 hex characters (a BLAKE3 hash, as returned by PUT /objects)")]
    InvalidId {
        /// The offending input, shortened to 80 characters.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A chunk index past the end of the object.
    #[error("chunk index {index} is out of range: the object has {count} chunks")]
    ChunkOutOfRange {
        /// Requested index.
        index: usize,
        /// Number of chunks in the manifest.
        count: usize,
    },
    /// A chunk of the wrong length.
    #[error("chunk {index} has {actual} bytes but the manifest says {expected}")]
    ChunkLength {
        /// Chunk index.
        index: usize,
        /// Length implied by the manifest.
        expected: u64,
        /// Length received.
        actual: u64,
    },
    /// A chunk whose BLAKE3 hash differs from the manifest: the bytes are corrupt.
    #[error("chunk {index} does not match its BLAKE3 hash in the manifest: the bytes are corrupt")]
    ChunkHash {
        /// Chunk index.
        index: usize,
    },
    /// Bytes whose id differs from the expected one.
    #[error("content has id {actual} but {expected} was expected")]
    IdMismatch {
        /// The id that was asked for.
        expected: ObjectId,
        /// The id of the bytes at hand.
        actual: ObjectId,
    },
    /// A block index past the end of the object.
    #[error("block index {index} is out of range: the object has {count} blocks")]
    BlockOutOfRange {
        /// Requested index.
        index: usize,
        /// Number of blocks.
        count: usize,
    },
    /// A block of the wrong length.
    #[error("block {index} has {actual} bytes but the manifest says {expected}")]
    BlockLength {
        /// Block index.
        index: usize,
        /// Length implied by the manifest.
        expected: u64,
        /// Length received.
        actual: u64,
    },
    /// A block whose BLAKE3 chaining value differs from the object's block hashes.
    #[error("block {index} does not match its BLAKE3 hash: the bytes are corrupt")]
    BlockHash {
        /// Block index.
        index: usize,
    },
    /// Block hashes that do not merge into the manifest's hash of a chunk.
    #[error("the block hashes of chunk {chunk} do not match the manifest: they are corrupt")]
    BlockHashes {
        /// Chunk index.
        chunk: usize,
    },
    /// A manifest whose chunks cannot be cut into blocks.
    #[error("chunks of {chunk_size} bytes cannot be cut into blocks of {BLOCK_SIZE}")]
    Unblockable {
        /// The manifest's chunk size.
        chunk_size: u32,
    },
    /// A manifest encoding that cannot be decoded.
    #[error("malformed manifest: {0}")]
    MalformedManifest(String),
}

/// The list of chunk hashes that describes an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Object size in bytes.
    pub size: u64,
    /// Chunk size in bytes (always [`CHUNK_SIZE`] for manifests made by [`Manifest::of`]).
    pub chunk_size: u32,
    /// BLAKE3 hash of each chunk, in order.
    pub chunks: Vec<[u8; 32]>,
}

impl Manifest {
    /// Computes the manifest of `bytes` with the standard [`CHUNK_SIZE`].
    pub fn of(bytes: &[u8]) -> Self {
        let chunks = bytes
            .chunks(CHUNK_SIZE as usize)
            .map(|chunk| *blake3::hash(chunk).as_bytes())
            .collect();
        Manifest {
            size: bytes.len() as u64,
            chunk_size: CHUNK_SIZE,
            chunks,
        }
    }

    /// The canonical byte encoding (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 32 * self.chunks.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.chunk_size.to_le_bytes());
        out.extend_from_slice(&(self.chunks.len() as u64).to_le_bytes());
        for hash in &self.chunks {
            out.extend_from_slice(hash);
        }
        out
    }

    /// Decodes and checks a canonical encoding: the header, a chunk size of exactly
    /// [`CHUNK_SIZE`] (the only one defined, so a manifest from the wire always cuts into
    /// [`BLOCK_SIZE`] blocks), and a chunk count that matches the size.
    pub fn decode(bytes: &[u8]) -> Result<Self, ContentError> {
        let bad = |why: String| ContentError::MalformedManifest(why);
        if bytes.len() < HEADER_LEN || &bytes[..4] != MAGIC {
            return Err(bad(format!(
                "expected the \"VSM1\" header of {HEADER_LEN} bytes, got {} bytes",
                bytes.len()
            )));
        }
        let u64_at = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let size = u64_at(4);
        let mut word = [0u8; 4];
        word.copy_from_slice(&bytes[12..16]);
        let chunk_size = u32::from_le_bytes(word);
        if chunk_size != CHUNK_SIZE {
            return Err(bad(format!(
                "chunk size {chunk_size}, but this version only defines chunks of {CHUNK_SIZE} bytes (cut into blocks of {BLOCK_SIZE})"
            )));
        }
        let count = u64_at(16);
        let body = &bytes[HEADER_LEN..];
        if body.len() as u64 != count.saturating_mul(32) {
            return Err(bad(format!(
                "header announces {count} chunk hashes but {} bytes of hashes follow",
                body.len()
            )));
        }
        let chunks = body
            .chunks_exact(32)
            .map(|h| {
                let mut hash = [0u8; 32];
                hash.copy_from_slice(h);
                hash
            })
            .collect();
        let manifest = Manifest {
            size,
            chunk_size,
            chunks,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks that the chunk count matches the size and chunk size.
    pub fn validate(&self) -> Result<(), ContentError> {
        if self.chunk_size == 0 {
            return Err(ContentError::MalformedManifest(
                "chunk size is zero".to_string(),
            ));
        }
        let expected = self.size.div_ceil(u64::from(self.chunk_size));
        if expected != self.chunks.len() as u64 {
            return Err(ContentError::MalformedManifest(format!(
                "an object of {} bytes in chunks of {} needs {expected} chunk hashes, found {}",
                self.size,
                self.chunk_size,
                self.chunks.len()
            )));
        }
        Ok(())
    }

    /// The object id: BLAKE3 of the canonical encoding.
    pub fn id(&self) -> ObjectId {
        let mut hasher = blake3::Hasher::new();
        hasher.update(MAGIC);
        hasher.update(&self.size.to_le_bytes());
        hasher.update(&self.chunk_size.to_le_bytes());
        hasher.update(&(self.chunks.len() as u64).to_le_bytes());
        for hash in &self.chunks {
            hasher.update(hash);
        }
        ObjectId(*hasher.finalize().as_bytes())
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Byte range of chunk `index` within the object, if it exists.
    pub fn chunk_range(&self, index: usize) -> Option<Range<u64>> {
        if index >= self.chunks.len() {
            return None;
        }
        let start = index as u64 * u64::from(self.chunk_size);
        let end = (start + u64::from(self.chunk_size)).min(self.size);
        Some(start..end)
    }

    /// Indexes of the chunks that overlap the byte range `range` (empty for an empty range).
    pub fn chunks_covering(&self, range: Range<u64>) -> Range<usize> {
        if range.start >= range.end || self.chunk_size == 0 {
            return 0..0;
        }
        let cs = u64::from(self.chunk_size);
        let first = (range.start / cs) as usize;
        let last = ((range.end - 1) / cs) as usize;
        first..(last + 1).min(self.chunks.len())
    }

    /// Checks that `bytes` are exactly chunk `index` of this object.
    pub fn verify_chunk(&self, index: usize, bytes: &[u8]) -> Result<(), ContentError> {
        let range = self
            .chunk_range(index)
            .ok_or(ContentError::ChunkOutOfRange {
                index,
                count: self.chunks.len(),
            })?;
        let expected = range.end - range.start;
        if bytes.len() as u64 != expected {
            return Err(ContentError::ChunkLength {
                index,
                expected,
                actual: bytes.len() as u64,
            });
        }
        // blake3::Hash compares in constant time; speed is what matters here, and it is fast.
        if blake3::hash(bytes) != blake3::Hash::from_bytes(self.chunks[index]) {
            return Err(ContentError::ChunkHash { index });
        }
        Ok(())
    }
}

/// Verifies that `bytes` are exactly the object `id`, returning its manifest.
pub fn verify_object(id: &ObjectId, bytes: &[u8]) -> Result<Manifest, ContentError> {
    let manifest = Manifest::of(bytes);
    let actual = manifest.id();
    if actual != *id {
        return Err(ContentError::IdMismatch {
            expected: *id,
            actual,
        });
    }
    Ok(manifest)
}

/// The id of an object: BLAKE3 of its manifest. Written as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub [u8; 32]);

impl ObjectId {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(blake3::Hash::from_bytes(self.0).to_hex().as_str())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

impl FromStr for ObjectId {
    type Err = ContentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ContentError::InvalidId {
            input: s.chars().take(80).collect(),
            reason,
        };
        let digits = s.as_bytes();
        if digits.len() != 64 {
            return Err(err("wrong length"));
        }
        let mut id = [0u8; 32];
        for (byte, pair) in id.iter_mut().zip(digits.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(err("not a hex digit"));
            };
            *byte = (hi << 4) | lo;
        }
        Ok(ObjectId(id))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl Serialize for ObjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ObjectId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn ids_are_stable() {
        // Pinned values: changing them changes every id ever published. Don't.
        assert_eq!(
            Manifest::of(b"").id().to_string(),
            "147f0eded07dfcdf2d21d1b9c4a855e6fbbe288f7a77bb35adb281797320fd74"
        );
        assert_eq!(
            Manifest::of(b"hello versus").id().to_string(),
            "9477d7b78842f8f289dd7b2a2c2fd705aae4c961e10efb025ce7aa000bcbd630"
        );
        // The encoding is exactly what the module documentation says.
        let mut expected = b"VSM1".to_vec();
        expected.extend_from_slice(&12u64.to_le_bytes());
        expected.extend_from_slice(&CHUNK_SIZE.to_le_bytes());
        expected.extend_from_slice(&1u64.to_le_bytes());
        expected.extend_from_slice(blake3::hash(b"hello versus").as_bytes());
        assert_eq!(Manifest::of(b"hello versus").encode(), expected);
    }

    #[test]
    fn chunking() {
        let cs = CHUNK_SIZE as usize;
        assert_eq!(Manifest::of(&[]).chunk_count(), 0);
        assert_eq!(Manifest::of(&sample(1)).chunk_count(), 1);
        assert_eq!(Manifest::of(&sample(cs)).chunk_count(), 1);
        let m = Manifest::of(&sample(2 * cs + 5));
        assert_eq!(m.chunk_count(), 3);
        assert_eq!(m.chunk_range(2), Some(2 * cs as u64..2 * cs as u64 + 5));
        assert_eq!(m.chunk_range(3), None);
        assert_eq!(m.chunks_covering(0..1), 0..1);
        assert_eq!(m.chunks_covering(cs as u64 - 1..cs as u64 + 1), 0..2);
        assert_eq!(m.chunks_covering(5..5), 0..0);
    }

    #[test]
    fn verification_catches_corruption() {
        let mut data = sample(CHUNK_SIZE as usize + 100);
        let m = Manifest::of(&data);
        let cs = CHUNK_SIZE as usize;
        assert!(m.verify_chunk(0, &data[..cs]).is_ok());
        assert!(m.verify_chunk(1, &data[cs..]).is_ok());
        assert_eq!(
            m.verify_chunk(1, &data[cs..cs + 99]),
            Err(ContentError::ChunkLength {
                index: 1,
                expected: 100,
                actual: 99
            })
        );
        assert!(matches!(
            m.verify_chunk(2, &[]),
            Err(ContentError::ChunkOutOfRange { index: 2, count: 2 })
        ));
        data[cs + 7] ^= 1;
        assert_eq!(
            m.verify_chunk(1, &data[cs..]),
            Err(ContentError::ChunkHash { index: 1 })
        );
        assert!(matches!(
            verify_object(&m.id(), &data),
            Err(ContentError::IdMismatch { .. })
        ));
    }

    #[test]
    fn id_text_forms() {
        let id = Manifest::of(b"x").id();
        let hex = id.to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex.parse::<ObjectId>().unwrap(), id);
        assert_eq!(hex.to_uppercase().parse::<ObjectId>().unwrap(), id);
        assert!("abc".parse::<ObjectId>().is_err());
        assert!("g".repeat(64).parse::<ObjectId>().is_err());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<ObjectId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ObjectId>("\"zz\"").is_err());
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(Manifest::decode(b"").is_err());
        assert!(Manifest::decode(b"VSM0aaaaaaaaaaaaaaaaaaaaaaaaa").is_err());
        let mut enc = Manifest::of(&sample(10)).encode();
        enc.pop();
        assert!(Manifest::decode(&enc).is_err());
        let mut wrong_count = Manifest::of(&sample(10));
        wrong_count.size = u64::from(CHUNK_SIZE) * 3;
        assert!(Manifest::decode(&wrong_count.encode()).is_err());
        // A consistent manifest with another chunk size (one that even cuts into blocks).
        let mut other_size = Manifest::of(&sample(10));
        other_size.chunk_size = 2 * CHUNK_SIZE;
        assert!(other_size.validate().is_ok());
        let err = Manifest::decode(&other_size.encode()).unwrap_err();
        assert!(err.to_string().contains("chunk size 524288"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn encoding_round_trips_and_id_matches(len in 0usize..600_000, seed in any::<u8>()) {
            let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
            let m = Manifest::of(&data);
            let enc = m.encode();
            let back = Manifest::decode(&enc).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(m.id().0, *blake3::hash(&enc).as_bytes());
            prop_assert!(verify_object(&m.id(), &data).is_ok());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Manifest::decode(&bytes);
        }
    }
}
