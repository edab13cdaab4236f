//! What the runtime's test binaries share: the model cache.

use std::path::PathBuf;

/// A file or folder in the model cache that `scripts/fetch-models.sh` fills.
pub fn cached_model(name: &str) -> PathBuf {
    let cache = std::env::var_os("FAMILIAR_MODEL_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let system = PathBuf::from("/var/cache/familiar/models");
        if system.is_dir() {
            system
        } else {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/familiar/models")
        }
    });
    let path = cache.join(name);
    assert!(path.exists(), "{} is missing: run scripts/fetch-models.sh", path.display());
    path
}
