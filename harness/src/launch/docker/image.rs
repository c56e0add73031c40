//! The container image of the reference targets, built offline `FROM scratch`: this very
//! executable (its debug sections stripped when `strip` is at hand), the shared
//! libraries `ldd` says it links, at their own paths, a non-root numeric user (scratch
//! has no /etc/passwd) and `versus` as the entrypoint. Nothing is pulled, so it builds
//! on an engine that reaches no registry.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::engine::{self, DockerError};
use crate::launch::scratch::ScratchDir;

/// The user (uid:gid) the image runs as: `nonroot` of distroless images.
pub const IMAGE_USER: (u32, u32) = (65532, 65532);

/// The tag `versus image` builds by default, and the image the docker launcher runs.
pub fn default_tag() -> String {
    crate::scenario::model::default_image()
}

/// An image that could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The engine failed.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// Preparing the build context failed.
    #[error("cannot prepare the image's build context in {dir}: {source}; set TMPDIR to a writable directory with room for the binary")]
    Context {
        /// Where.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `ldd` could not say what the binary links.
    #[error("cannot list the shared libraries of {exe} with ldd: {why}; install ldd (libc-bin) or build a static binary")]
    Ldd {
        /// The binary.
        exe: PathBuf,
        /// Why.
        why: String,
    },
}

/// What was built.
#[derive(Debug)]
pub struct Built {
    /// The tag.
    pub tag: String,
    /// The image's size, bytes.
    pub size_bytes: u64,
    /// How long the build took (context and engine).
    pub took: Duration,
    /// The files the image holds (the binary, then the libraries).
    pub files: Vec<PathBuf>,
}

/// Builds image `tag` from the executable `exe`.
pub async fn build(exe: &Path, tag: &str) -> Result<Built, ImageError> {
    let started = Instant::now();
    engine::check_engine().await?;
    let context = ScratchDir::new("image").map_err(|source| ImageError::Context {
        dir: std::env::temp_dir(),
        source,
    })?;
    let in_context = |source| ImageError::Context {
        dir: context.path().to_path_buf(),
        source,
    };
    let rootfs = context.path().join("rootfs");
    std::fs::create_dir(&rootfs).map_err(in_context)?;
    put_binary(exe, &rootfs.join("versus"))
        .await
        .map_err(in_context)?;
    let libraries = libraries(exe).await?;
    for library in &libraries {
        let to = rootfs.join(library.strip_prefix("/").unwrap_or(library));
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(in_context)?;
        }
        // Follows the link: libc.so.6 is usually a link to the versioned file.
        std::fs::copy(library, &to).map_err(in_context)?;
    }
    std::fs::write(context.path().join("Dockerfile"), dockerfile()).map_err(in_context)?;
    let dir = context.path().display().to_string();
    let previous = engine::run(&["image", "inspect", "--format", "{{.Id}}", tag])
        .await
        .ok();
    let id = engine::run(&["build", "--quiet", "--tag", tag, &dir]).await?;
    // The image this tag named before is left untagged: remove it, unless something
    // still uses it (another tag, a container), which the engine refuses.
    if let Some(old) = previous.filter(|old| *old != id) {
        if engine::run(&["image", "rm", &old]).await.is_ok() {
            tracing::info!("removed the image {tag} named before ({old})");
        }
    }
    let size = engine::run(&["image", "inspect", "--format", "{{.Size}}", tag]).await?;
    let mut files = vec![PathBuf::from("/versus")];
    files.extend(libraries);
    Ok(Built {
        tag: tag.to_string(),
        size_bytes: size.parse().unwrap_or(0),
        took: started.elapsed(),
        files,
    })
}

/// The Dockerfile of the context: the root filesystem as prepared, a numeric user.
fn dockerfile() -> String {
    let (uid, gid) = IMAGE_USER;
    format!(
        "# Built by `versus image`: the versus binary and the libraries it links.\n\
         FROM scratch\n\
         COPY rootfs/ /\n\
         USER {uid}:{gid}\n\
         ENTRYPOINT [\"/versus\"]\n"
    )
}

/// Puts `exe` at `to`: stripped of debug sections when `strip` runs, else copied.
async fn put_binary(exe: &Path, to: &Path) -> std::io::Result<()> {
    let stripped = tokio::process::Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(to)
        .arg(exe)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    match stripped {
        Ok(status) if status.success() => Ok(()),
        _ => {
            tracing::info!("strip is not available; the image holds the binary as it is");
            std::fs::copy(exe, to).map(|_| ())
        }
    }
}

/// The shared libraries `exe` links, as absolute paths (none for a static binary).
async fn libraries(exe: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let fail = |why: String| ImageError::Ldd {
        exe: exe.to_path_buf(),
        why,
    };
    let out = tokio::process::Command::new("ldd")
        .arg(exe)
        .output()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if text.contains("not a dynamic executable")
            || String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        return Err(fail(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    parse_ldd(&text).map_err(fail)
}

/// The library paths of `ldd` output: `name => /path (addr)` and `/path (addr)` lines;
/// the vDSO has no file. A library `ldd` cannot find is an error.
fn parse_ldd(text: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("not found") {
            return Err(format!("a library is missing: {line}"));
        }
        let target = line.split_once("=>").map_or(line, |(_, t)| t).trim();
        let path = target.split_whitespace().next().unwrap_or_default();
        if path.starts_with('/') {
            paths.push(PathBuf::from(path));
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f18)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f18)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f18)\n";
        let paths = parse_ldd(text).unwrap();
        assert_eq!(
            paths,
            [
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
            .map(PathBuf::from)
        );
        assert!(parse_ldd("\tlibfoo.so => not found\n").is_err());
    }

    #[test]
    fn the_dockerfile_runs_versus_as_a_numeric_non_root_user() {
        let d = dockerfile();
        assert!(d.contains("FROM scratch"));
        assert!(d.contains("USER 65532:65532"));
        assert!(d.contains("ENTRYPOINT [\"/versus\"]"));
    }
}
