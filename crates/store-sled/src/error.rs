//! sled's errors in the store's terms.

use std::io;

use grant_ledger_store::StoreError;

/// Maps sled errors deliberately: sled 0.34 reports a held lock only as an
/// `io::Error` whose text says "could not acquire lock", so that text is the
/// only way to tell "in use" apart from a real I/O failure.
pub(crate) fn from_sled(err: sled::Error, path: &std::path::Path) -> StoreError {
    match err {
        sled::Error::Io(e) => {
            let text = e.to_string();
            if text.contains("could not acquire lock") || e.kind() == io::ErrorKind::WouldBlock {
                StoreError::InUse {
                    path: path.to_path_buf(),
                }
            } else {
                StoreError::Io(e)
            }
        }
        sled::Error::Corruption { at, .. } => {
            StoreError::corrupt(format!("sled detected corruption at {at:?}"))
        }
        sled::Error::Unsupported(s) => StoreError::corrupt(format!("sled: unsupported: {s}")),
        sled::Error::ReportableBug(s) => StoreError::corrupt(format!("sled: internal error: {s}")),
        sled::Error::CollectionNotFound(name) => StoreError::corrupt(format!(
            "sled: missing tree {}",
            String::from_utf8_lossy(&name)
        )),
    }
}
