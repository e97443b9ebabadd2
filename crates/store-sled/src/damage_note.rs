//! The damage note of a sled ledger: a small file `damage` in the ledger's directory, beside
//! sled's own files rather than in them, because a damaged sled database may not take (or
//! keep) a write. Written whole to a temporary file, synced, then renamed over, so it is
//! either there entire or not at all.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::Path;

use grant_ledger_store::StoreError;

/// The note's file name in the ledger directory.
pub(crate) const DAMAGE_FILE: &str = "damage";
const PARTIAL: &str = "damage.partial";
/// A note is a line of JSON; anything larger is not one.
const MAX_NOTE: u64 = 64 * 1024;

pub(crate) fn read(dir: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let path = dir.join(DAMAGE_FILE);
    match fs::metadata(&path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
        Ok(m) if m.len() > MAX_NOTE => {
            // Too large to be a note: still a sign of damage, said as such.
            return Ok(Some(Vec::new()));
        }
        Ok(_) => {}
    }
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn write(dir: &Path, note: Option<&[u8]>) -> Result<(), StoreError> {
    let path = dir.join(DAMAGE_FILE);
    match note {
        Some(note) => {
            let partial = dir.join(PARTIAL);
            let mut file = File::create(&partial)?;
            file.write_all(note)?;
            file.sync_all()?;
            fs::rename(&partial, &path)?;
        }
        None => match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        },
    }
    // The rename or removal itself is durable only once the directory is.
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_written_read_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), Some(b"{\"position\":3}")).unwrap();
        assert_eq!(
            read(dir.path()).unwrap().as_deref(),
            Some(&b"{\"position\":3}"[..])
        );
        assert!(!dir.path().join(PARTIAL).exists());
        write(dir.path(), None).unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), None).unwrap();
    }
}
