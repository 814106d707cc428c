//! `neurite serve`: the same server as the `neurite-serve` binary.

use std::path::Path;

use anyhow::Result;

pub fn run(mut a: neurite_serve::ServeOptions, models_dir: &Path) -> Result<()> {
    if a.models.is_none() {
        a.models = Some(models_dir.to_path_buf());
    }
    neurite_serve::run(a)?;
    Ok(())
}
