//! Which ledgers this process has open, so reopening in the same process behaves.
//!
//! sled 0.34 releases its file lock from background threads a moment *after* the last
//! handle is dropped, so an immediate reopen in the same process can see its own lock.
//! We remember every path this process opened: a path still open here is refused at
//! once as in use; a path closed here is retried for a bounded time until sled lets go;
//! any other lock failure is another process, reported at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use grant_ledger_store::StoreError;

/// How long to wait for this process's own closed handles to release sled's lock.
const OWN_RELEASE_WAIT: Duration = Duration::from_secs(5);
const RETRY_STEP: Duration = Duration::from_millis(10);

fn registry() -> MutexGuard<'static, HashMap<PathBuf, bool>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, bool>>> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Marks `path` open for the lifetime of the guard.
#[derive(Debug)]
pub(crate) struct OpenGuard(PathBuf);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        registry().insert(self.0.clone(), false);
    }
}

/// Runs `open` for the canonical `path`, applying the rules in the module doc.
pub(crate) fn open_exclusive<T>(
    path: &Path,
    mut open: impl FnMut() -> Result<T, StoreError>,
) -> Result<(T, OpenGuard), StoreError> {
    let canonical = path.canonicalize()?;
    let closed_here = match registry().get(&canonical) {
        Some(true) => {
            return Err(StoreError::InUse {
                path: path.to_path_buf(),
            })
        }
        Some(false) => true,
        None => false,
    };
    let deadline = Instant::now() + OWN_RELEASE_WAIT;
    loop {
        match open() {
            Ok(t) => {
                let mut reg = registry();
                if reg.get(&canonical) == Some(&true) {
                    // Another thread here won a race for the same path; sled's lock makes
                    // this unreachable, but two handles must never both be handed out.
                    return Err(StoreError::InUse {
                        path: path.to_path_buf(),
                    });
                }
                reg.insert(canonical.clone(), true);
                return Ok((t, OpenGuard(canonical)));
            }
            Err(StoreError::InUse { .. }) if closed_here && Instant::now() < deadline => {
                std::thread::sleep(RETRY_STEP);
            }
            Err(e) => {
                if !matches!(e, StoreError::InUse { .. }) {
                    // sled may have opened (and now be releasing) the files before a later
                    // check failed, so treat the path as closed here.
                    registry().insert(canonical, false);
                }
                return Err(e);
            }
        }
    }
}
