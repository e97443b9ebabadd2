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
            } else if matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData
            ) {
                // sled reads a page its own records say is there and finds the file ends
                // first (a truncated `db`) or holds what no page is: the file is damaged,
                // not the disk failing, and it must latch as damage does.
                StoreError::corrupt(
                    "its database file ends before the data sled has recorded in it",
                )
            } else {
                StoreError::Io(e)
            }
        }
        // sled's own words (offsets, internal enums) mean nothing to a user; what they
        // mean for the ledger is said in one sentence.
        sled::Error::Corruption { .. } => {
            StoreError::corrupt("its database file fails sled's own checksum")
        }
        sled::Error::Unsupported(_) | sled::Error::ReportableBug(_) => {
            StoreError::corrupt("its database file holds something sled cannot read")
        }
        sled::Error::CollectionNotFound(name) => StoreError::corrupt(format!(
            "its database has lost the {} tree",
            String::from_utf8_lossy(&name)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_file_that_ends_early_is_damage() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "failed to fill whole buffer");
        let e = from_sled(sled::Error::Io(eof), std::path::Path::new("/l"));
        assert!(e.is_damage(), "{e}");
        assert!(!e.to_string().contains("fill whole buffer"), "{e}");
    }

    #[test]
    fn sled_corruption_is_said_without_sleds_own_words() {
        let e = from_sled(
            sled::Error::Corruption { at: None, bt: () },
            std::path::Path::new("/l"),
        );
        let text = e.to_string();
        assert!(e.is_damage(), "{text}");
        for internal in ["Some(", "None", "Inline", "DiskPtr", "sled detected"] {
            assert!(!text.contains(internal), "{text}");
        }
    }
}
