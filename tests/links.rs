//! The repository documents itself: no tracked file points outside it at the shared
//! specification folder, and every relative link in its Markdown reaches a tracked file.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file git tracks, relative to the repository root.
fn tracked() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git ls-files failed: {output:?}");
    let files: Vec<PathBuf> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        .collect();
    assert!(files.len() > 10, "git lists only {files:?}");
    files
}

fn text(file: &Path) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(file)).ok()
}

#[test]
fn no_tracked_file_links_outside_the_repository() {
    // Spelled in pieces so this file does not match itself.
    let needles = [["..", "/shared"].concat(), ["shared", "/spec"].concat()];
    let mut found = Vec::new();
    for file in tracked() {
        let Some(text) = text(&file) else { continue };
        for (number, line) in text.lines().enumerate() {
            if needles.iter().any(|n| line.contains(n.as_str())) {
                found.push(format!("{}:{}: {line}", file.display(), number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "links outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_relative_markdown_link_reaches_a_tracked_file() {
    let files = tracked();
    let mut broken = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        let Some(text) = text(file) else { continue };
        let dir = file.parent().unwrap_or(Path::new(""));
        for target in links(&text) {
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            let resolved = normalise(&dir.join(path));
            let exists = files
                .iter()
                .any(|f| *f == resolved || f.starts_with(&resolved));
            if !exists {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The targets of `[text](target)` links.
fn links(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) => {
                targets.push(after[..end].to_string());
                rest = &after[end..];
            }
            None => break,
        }
    }
    targets
}

/// `docs/reference/../cli.md` -> `docs/cli.md`, without touching the disk.
fn normalise(path: &Path) -> PathBuf {
    let mut parts: Vec<_> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            other => parts.push(other.as_os_str().to_owned()),
        }
    }
    parts.iter().collect()
}

#[test]
fn a_parent_step_in_a_link_is_resolved() {
    assert_eq!(
        normalise(Path::new("docs/reference/../cli.md")),
        PathBuf::from("docs/cli.md")
    );
}

#[test]
fn links_are_read_from_markdown() {
    assert_eq!(
        links("see [a](docs/a.md) and [b](https://x.org/b)."),
        vec!["docs/a.md", "https://x.org/b"]
    );
}
