//! A stored object and where its bytes live: in memory (verified by construction) or in
//! a data file (read and verified chunk by chunk on every access).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::StoreError;
use crate::content::{ContentError, Manifest, ObjectId};

/// A stored object; cheap to share, and every byte it returns has been verified.
#[derive(Debug)]
pub struct StoredObject {
    pub(super) id: ObjectId,
    pub(super) manifest: Manifest,
    pub(super) source: Source,
}

/// Where the bytes of a stored object are.
#[derive(Debug)]
pub(super) enum Source {
    /// Bytes the manifest was computed from, so verified by construction.
    Memory(Bytes),
    /// The object's chunks, each verified against the manifest before it was stored.
    Chunks(Vec<Bytes>),
    /// The data file; read and verified on every access.
    Disk(PathBuf),
}

impl StoredObject {
    /// The object's id.
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.manifest.size
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The whole object, when it is held (verified) in memory as one buffer.
    pub fn verified_bytes(&self) -> Option<&Bytes> {
        match &self.source {
            Source::Memory(bytes) => Some(bytes),
            Source::Chunks(_) | Source::Disk(_) => None,
        }
    }

    /// Chunk `index`, when the object is held (verified) in memory; no copy is made.
    pub fn chunk_in_memory(&self, index: usize) -> Option<Bytes> {
        match &self.source {
            Source::Memory(bytes) => {
                let range = self.manifest.chunk_range(index)?;
                Some(bytes.slice(range.start as usize..range.end as usize))
            }
            Source::Chunks(chunks) => chunks.get(index).cloned(),
            Source::Disk(_) => None,
        }
    }

    /// The whole object, when it is held (verified) in memory; an object stored as chunks
    /// is copied into one buffer.
    pub fn bytes_in_memory(&self) -> Option<Bytes> {
        match &self.source {
            Source::Memory(bytes) => Some(bytes.clone()),
            Source::Chunks(chunks) => Some(Bytes::from(chunks.concat())),
            Source::Disk(_) => None,
        }
    }

    /// Where chunk `index` lies in the object, or why it does not exist.
    fn chunk_range(&self, index: usize) -> Result<std::ops::Range<u64>, ContentError> {
        self.manifest
            .chunk_range(index)
            .ok_or(ContentError::ChunkOutOfRange {
                index,
                count: self.manifest.chunk_count(),
            })
    }

    /// Chunk `index`, verified against the manifest.
    pub async fn read_chunk(self: &Arc<Self>, index: usize) -> Result<Bytes, StoreError> {
        let range = self.chunk_range(index)?;
        match &self.source {
            Source::Memory(bytes) => Ok(bytes.slice(range.start as usize..range.end as usize)),
            Source::Chunks(chunks) => chunks.get(index).cloned().ok_or(
                ContentError::ChunkOutOfRange {
                    index,
                    count: chunks.len(),
                }
                .into(),
            ),
            Source::Disk(_) => {
                let object = Arc::clone(self);
                tokio::task::spawn_blocking(move || object.read_chunk_from_disk(index))
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))?
            }
        }
    }

    fn read_chunk_from_disk(&self, index: usize) -> Result<Bytes, StoreError> {
        let Source::Disk(path) = &self.source else {
            return Err(StoreError::Task("not a disk object".into()));
        };
        let range = self.chunk_range(index)?;
        let io_err = |error| StoreError::Io {
            action: "read",
            path: path.clone(),
            error,
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        match read_exact_at(&file, &mut buf, range.start) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(self.corrupt(
                    path,
                    format!(
                        "the file is shorter than the {} bytes of the object",
                        self.size()
                    ),
                ));
            }
            Err(e) => return Err(io_err(e)),
        }
        self.manifest
            .verify_chunk(index, &buf)
            .map_err(|e| self.corrupt(path, e.to_string()))?;
        Ok(Bytes::from(buf))
    }

    fn corrupt(&self, path: &Path, detail: String) -> StoreError {
        StoreError::Corrupt {
            id: self.id,
            path: path.to_path_buf(),
            detail,
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}
