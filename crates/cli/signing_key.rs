//! Where the ledger's checkpoint signing key is kept, and making it. For a ledger
//! directory it is the file `signing.key` in the directory, unless `--signing-key FILE`
//! (`GRANT_LEDGER_SIGNING_KEY`) names another; a ledger in PostgreSQL has only the file
//! named so, never a key in the database, where anyone who may write the events could
//! replace it (docs/storage.md). The file is made with mode 0600 when the ledger is created,
//! or on the first checkpoint of a ledger made before keys existed, and a key readable by
//! other users is refused, as ssh refuses a private key.

use std::io::Write;
use std::path::{Path, PathBuf};

use grant_ledger_projections::Signer;

use crate::backend::Place;
use crate::error::{CliError, CliResult};

/// The key file's name inside a ledger directory.
pub const KEY_FILE: &str = "signing.key";

/// The key file of the ledger at `place`: `given`, else `DIR/signing.key`; a database has
/// none unless one is given.
pub fn location(place: &Place, given: Option<&Path>) -> Option<PathBuf> {
    match (given, place) {
        (Some(file), _) => Some(file.to_path_buf()),
        (None, Place::Dir(dir)) => Some(dir.join(KEY_FILE)),
        (None, Place::Database(_)) => None,
    }
}

/// The key in `file`, or `None` if there is no such file.
pub fn load(file: &Path) -> CliResult<Option<Signer>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(file, &crate::files::io_reason(file, &e))),
    };
    private(file)?;
    Signer::from_file_text(&text)
        .map(Some)
        .map_err(|why| CliError::unavailable(format!("the signing key {} {why}", file.display())))
}

/// The key in `file`, made there (mode 0600) if there is none yet.
pub fn load_or_create(file: &Path) -> CliResult<Signer> {
    if let Some(signer) = load(file)? {
        return Ok(signer);
    }
    let signer = Signer::generate()?;
    match create_private(file, signer.to_file_text().as_bytes()) {
        Ok(()) => Ok(signer),
        // Another process made it first: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            load(file)?.ok_or_else(|| cannot(file, "it vanished while it was being made"))
        }
        Err(e) => Err(cannot(file, &crate::files::io_reason(file, &e))),
    }
}

/// Gives the ledger copied to `to` the key of the ledger at `from` (`migrate`), so that
/// receipts taken before the move still verify against the copy. Returns a note for the
/// user when the key cannot follow by itself (a database keeps none).
pub fn follow(from: &Place, given: Option<&Path>, to: &Place) -> CliResult<Option<String>> {
    let Some(source) = location(from, given) else {
        return Ok(None);
    };
    let Some(signer) = load(&source)? else {
        return Ok(None);
    };
    match location(to, None) {
        Some(target) => match create_private(&target, signer.to_file_text().as_bytes()) {
            Ok(()) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Some(format!(
                "{} already has a signing key, so receipts of {} verify against the copy only with --signing-key {}",
                target.display(),
                from.describe(),
                source.display()
            ))),
            Err(e) => Err(cannot(&target, &crate::files::io_reason(&target, &e))),
        },
        None => Ok(Some(format!(
            "a database keeps no signing key: give --signing-key {} (or GRANT_LEDGER_SIGNING_KEY) to every command and server of {}, so that receipts taken before still verify",
            source.display(),
            to.describe()
        ))),
    }
}

fn cannot(file: &Path, why: &str) -> CliError {
    CliError::unavailable(format!(
        "cannot use the signing key {}: {why}",
        file.display()
    ))
}

/// Writes `bytes` to a new file only its owner may read, durably (the file, then its
/// directory), so that a key once used to sign cannot be lost to a crash.
fn create_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    out.write_all(bytes)?;
    out.sync_all()?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Refuses a key file that users other than its owner may read or write.
fn private(file: &Path) -> CliResult {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)
            .map_err(|e| cannot(file, &crate::files::io_reason(file, &e)))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(CliError::unavailable(format!(
                "the signing key {0} may be read or written by other users (mode {mode:04o}); make it private with chmod 600 {0}",
                file.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_file_is_private_and_read_back_as_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(KEY_FILE);
        let made = load_or_create(&file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = load_or_create(&file).unwrap();
        assert_eq!(made.public_key(), again.public_key());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(KEY_FILE);
        load_or_create(&file).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&file).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }

    #[test]
    fn a_database_has_no_key_unless_one_is_named() {
        let db = Place::Database("postgres://h/db".to_string());
        assert_eq!(location(&db, None), None);
        let named = Path::new("/keys/ledger.key");
        assert_eq!(location(&db, Some(named)), Some(named.to_path_buf()));
        let dir = Place::Dir(PathBuf::from("/l"));
        assert_eq!(location(&dir, None), Some(PathBuf::from("/l/signing.key")));
    }
}
