//! `versus image [--tag T]`: builds the container image of the reference targets from
//! this very executable, offline (`FROM scratch`: nothing is pulled), for
//! `launcher = "docker"`. The multi-stage `deploy/Dockerfile` is for engines that reach a
//! registry.

use crate::error::{Failure, EXIT_OK};
use crate::launch::docker::image;

/// Options of `versus image`.
#[derive(clap::Args, Debug, Clone)]
pub struct ImageArgs {
    /// The image's tag (default versus:VERSION, the image the docker launcher runs).
    #[arg(long, value_name = "T")]
    pub tag: Option<String>,
}

/// Builds the image; its failures are exit 3 (the engine, not the usage, is at fault).
pub async fn run(args: &ImageArgs) -> anyhow::Result<i32> {
    let tag = args.tag.clone().unwrap_or_else(image::default_tag);
    if tag.trim().is_empty() || tag.chars().any(char::is_whitespace) {
        return Err(Failure::Usage(format!(
            "--tag {tag:?} is not an image name; give one such as versus:dev"
        ))
        .into());
    }
    let exe = std::env::current_exe().map_err(|e| {
        Failure::CannotRun(format!(
            "cannot find this executable to put in the image: {e}"
        ))
    })?;
    let built = image::build(&exe, &tag)
        .await
        .map_err(|e| Failure::CannotRun(format!("versus image: {e}")))?;
    println!(
        "built {} ({:.1} MB in {:.1}s) from {}: {}",
        built.tag,
        built.size_bytes as f64 / 1e6,
        built.took.as_secs_f64(),
        exe.display(),
        built
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(EXIT_OK)
}
