//! Where a running `grant-ledger serve` says it serves a ledger directory, so that a local
//! command refused because the ledger is in use can say where to send it instead.
//!
//! The note is a small file in the system's temporary directory, named by a hash of the
//! ledger directory's canonical path (nothing is kept in the ledger directory itself). It
//! holds the server's URL and process id; it is removed when the server stops, and one left
//! by a killed server is ignored once its process is gone.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn note_path(dir: &Path) -> Option<PathBuf> {
    let canonical = std::fs::canonicalize(dir).ok()?;
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    Some(std::env::temp_dir().join(format!(
        "grant-ledger-served-{}",
        hex::encode(&digest[..12])
    )))
}

/// Notes that `dir` is served at `url` by this process; removed when the guard drops.
pub fn announce(dir: &Path, url: &str) -> Option<Announced> {
    let path = note_path(dir)?;
    std::fs::write(&path, format!("{url}\n{}\n", std::process::id())).ok()?;
    Some(Announced { path })
}

/// The URL of the server holding `dir`, if one says it does and is still running.
pub fn find(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(note_path(dir)?).ok()?;
    let mut lines = text.lines();
    let url = lines.next()?.trim().to_string();
    let pid: u32 = lines.next()?.trim().parse().ok()?;
    let alive = Path::new(&format!("/proc/{pid}")).exists() || !Path::new("/proc/self").exists();
    (alive && !url.is_empty()).then_some(url)
}

/// Removes the note when the server stops.
pub struct Announced {
    path: PathBuf,
}

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
