//! Reading the files a user names (a determination, a variation, a spend file, a receipt,
//! a key, a certificate): why one cannot be read, worded once and in our own words, never
//! the operating system's "Is a directory (os error 21)".

use std::io;
use std::path::Path;

/// Why `path` could not be opened or read, in words.
pub fn io_reason(path: &Path, e: &io::Error) -> String {
    // Checked first: the error a directory gives differs by platform and Rust version.
    if path.is_dir() {
        return "it is a directory".to_string();
    }
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
        _ => grant_ledger_store::describe_io(e),
    }
}

/// The text of `path`, or why it cannot be read.
pub fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| io_reason(path, &e))
}

/// The bytes of `path`, or why they cannot be read.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| io_reason(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_given_as_a_file_is_said_in_words() {
        let dir = std::env::temp_dir();
        assert_eq!(read_text(&dir).unwrap_err(), "it is a directory");
        assert_eq!(
            read_text(&dir.join("no-such-file-here.toml")).unwrap_err(),
            "no such file"
        );
    }
}
