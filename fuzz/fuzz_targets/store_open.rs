//! Fuzz target: the object store's start over a data directory it did not write, as a
//! crash, a full disk or a careless human can leave it (`versus server --data-dir`).
//!
//! The input describes a few files: for each, a name kind (the data or the manifest of
//! one of two real objects, a temporary file, or an arbitrary name) and its bytes (the
//! real file, cut short, with a byte flipped, or arbitrary). `Store::open` must not panic,
//! and every object it then indexes must read back, chunk by chunk, either as bytes that
//! verify against its id or as an error; never as other bytes. Afterwards no temporary
//! file and no data file without a manifest may remain.

#![no_main]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::{Arbitrary, Unstructured};

impl<'a> Arbitrary<'a> for Content {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=3u8)? {
            0 => Content::Real,
            1 => Content::Short(u.arbitrary()?),
            2 => Content::Flipped(u.arbitrary()?),
            _ => Content::Raw(u.arbitrary()?),
        })
    }
}

impl<'a> Arbitrary<'a> for Name {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=3u8)? {
            0 => Name::Data(u.arbitrary()?),
            1 => Name::Manifest(u.arbitrary()?),
            2 => Name::Temporary(u.arbitrary()?),
            _ => Name::Other(u.arbitrary()?),
        })
    }
}
use libfuzzer_sys::fuzz_target;
use versus_targets::content::{verify_object, Manifest, CHUNK_SIZE};
use versus_targets::store::{data_file, manifest_file, Store};

#[derive(Debug)]
enum Content {
    Real,
    Short(u16),
    Flipped(u32),
    Raw(Vec<u8>),
}

#[derive(Debug)]
enum Name {
    Data(bool),
    Manifest(bool),
    Temporary(u8),
    Other(String),
}

fn fresh_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("versus-fuzz-store-{}-{n}", std::process::id()))
}

fn objects() -> [Vec<u8>; 2] {
    let big = (0..CHUNK_SIZE as usize + 1000)
        .map(|i| (i % 251) as u8)
        .collect();
    [b"a small object".to_vec(), big]
}

fn write_files(dir: &std::path::Path, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let objects = objects();
    for _ in 0..u.int_in_range(0..=6)? {
        let (name, content) = (Name::arbitrary(u)?, Content::arbitrary(u)?);
        let (path, real) = match name {
            Name::Data(which) => {
                let bytes = &objects[usize::from(which)];
                (data_file(dir, &Manifest::of(bytes).id()), bytes.clone())
            }
            Name::Manifest(which) => {
                let manifest = Manifest::of(&objects[usize::from(which)]);
                (manifest_file(dir, &manifest.id()), manifest.encode())
            }
            Name::Temporary(n) => (dir.join(format!(".tmp-1-{n}")), Vec::new()),
            Name::Other(text) => {
                let clean: String = text
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(40)
                    .collect();
                (dir.join(format!("x{clean}")), Vec::new())
            }
        };
        let bytes = match content {
            Content::Real => real,
            Content::Short(n) => real[..usize::from(n).min(real.len())].to_vec(),
            Content::Flipped(at) if !real.is_empty() => {
                let mut bytes = real;
                let at = at as usize % bytes.len();
                bytes[at] ^= 1;
                bytes
            }
            Content::Flipped(_) => real,
            Content::Raw(raw) => raw,
        };
        let _ = std::fs::write(&path, bytes);
    }
    Ok(())
}

async fn check(dir: &std::path::Path) {
    let Ok(store) = Store::open(dir).await else {
        return;
    };
    for bytes in objects() {
        let Some(object) = store.get(&Manifest::of(&bytes).id()) else {
            continue;
        };
        let mut read = Vec::new();
        for index in 0..object.manifest().chunk_count() {
            match object.read_chunk(index).await {
                Ok(chunk) => read.extend_from_slice(&chunk),
                Err(_) => return,
            }
        }
        assert!(
            verify_object(&object.id(), &read).is_ok(),
            "served bytes that do not verify"
        );
        assert_eq!(read, bytes);
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().into_string().unwrap_or_default();
        assert!(
            !name.starts_with(".tmp-"),
            "a temporary file survived the start: {name}"
        );
        if let Some(stem) = name.strip_suffix(".data") {
            assert!(
                dir.join(format!("{stem}.manifest")).exists(),
                "an orphan survived: {name}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let dir = fresh_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let mut u = Unstructured::new(data);
    if write_files(&dir, &mut u).is_ok() {
        let runtime = tokio::runtime::Builder::new_current_thread().build();
        if let Ok(runtime) = runtime {
            runtime.block_on(check(&dir));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
});
