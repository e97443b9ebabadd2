//! Helpers for the end-to-end tests: each test gets its own temporary ledger
//! and runs the real `grant-ledger` binary against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub const ID: &str = "31/7421";

/// The nine regions of 31/7421 and their allocations, from Annex A.
pub const ALLOCATIONS: [(&str, &str); 9] = [
    ("East Midlands", "233200"),
    ("East of England", "236400"),
    ("London", "318000"),
    ("North East", "239600"),
    ("North West", "278000"),
    ("South East", "352000"),
    ("South West", "260600"),
    ("West Midlands", "246000"),
    ("Yorkshire and Humber", "249200"),
];

pub struct Ledger {
    pub tmp: TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A command line split on single spaces: `words("pay 31/7421 --region london")`.
/// An argument that holds a space, or is empty, needs [`cmd`] or the slice form.
pub fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// [`words`], with each word `{}` replaced in turn by the next of `fill`, for the
/// arguments that hold spaces: `cmd("balances --region {}", &["North East"])`.
pub fn cmd<'a>(line: &'a str, fill: &[&'a str]) -> Vec<&'a str> {
    let mut fill = fill.iter();
    let args = words(line)
        .into_iter()
        .map(|word| match word {
            "{}" => *fill
                .next()
                .unwrap_or_else(|| panic!("too few fills: {line}")),
            _ => word,
        })
        .collect();
    assert!(fill.next().is_none(), "too many fills: {line}");
    args
}

/// The binary with a clean environment: no ledger or actor from the caller.
pub fn bin() -> Command {
    let mut cmd = Command::cargo_bin("grant-ledger").expect("binary builds");
    cmd.env_remove("GRANT_LEDGER_DIR")
        .env_remove("GRANT_LEDGER_ACTOR")
        .env_remove("GRANT_LEDGER_SIGNING_KEY")
        .env("USER", "tester")
        .env("NO_COLOR", "1");
    cmd
}

impl Ledger {
    /// An empty ledger directory (the ledger creates it on first write).
    pub fn empty() -> Ledger {
        Ledger {
            tmp: TempDir::new().expect("temp dir"),
        }
    }

    /// A ledger holding the built-in 31/7421.
    pub fn with_determination() -> Ledger {
        let l = Ledger::empty();
        l.ok(&["determination", "import", "--builtin", ID]);
        l
    }

    /// A ledger with 31/7421 and every region paid on time.
    pub fn paid() -> Ledger {
        let l = Ledger::with_determination();
        for (region, amount) in ALLOCATIONS {
            l.ok(&cmd(
                "pay 31/7421 --region {} --amount {} --date 2024-08-23",
                &[region, amount],
            ));
        }
        l
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("ledger")
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_at(&self.dir(), args)
    }

    /// Runs and requires exit 0 and nothing alarming on stderr.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code, 0,
            "{args:?} failed:\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }

    /// [`Ledger::run`] on a line of [`words`].
    pub fn run_line(&self, line: &str) -> Run {
        self.run(&words(line))
    }

    /// [`Ledger::ok`] on a line of [`words`].
    pub fn ok_line(&self, line: &str) -> Run {
        self.ok(&words(line))
    }

    /// [`Ledger::json`] on a line of [`words`].
    pub fn json_line(&self, line: &str) -> Value {
        self.json(&words(line))
    }

    /// [`Ledger::fails`] on a line of [`words`].
    pub fn fails_line(&self, line: &str, code: i32, needles: &[&str]) -> Run {
        self.fails(&words(line), code, needles)
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        self.ok(&all).json()
    }

    /// The whole audit trail as JSON text, to compare before and after; a marker when
    /// there is no ledger yet, a missing or empty directory (queries would fail).
    pub fn history(&self) -> String {
        match std::fs::read_dir(self.dir()).map(|mut entries| entries.next().is_none()) {
            Err(_) => "(no ledger directory)".to_string(),
            Ok(true) => "(empty directory)".to_string(),
            Ok(false) => self.ok(&["history", "--format", "json"]).stdout,
        }
    }

    pub fn events(&self) -> usize {
        serde_json::from_str::<Value>(&self.history())
            .ok()
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0)
    }

    /// Requires exit `code`, one sentence on stderr containing every needle,
    /// nothing on stdout, and the audit trail unchanged.
    pub fn fails(&self, args: &[&str], code: i32, needles: &[&str]) -> Run {
        let before = self.history();
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "{args:?}: expected exit {code}\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "{args:?}: stderr lacks {needle:?}: {}",
                run.stderr
            );
        }
        assert!(run.stdout.is_empty(), "{args:?}: stdout {}", run.stdout);
        assert_eq!(before, self.history(), "{args:?} changed the audit trail");
        run
    }

    /// Writes a file in the test's temporary directory.
    pub fn file(&self, name: &str, content: &str) -> String {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, content).expect("write test file");
        path.display().to_string()
    }
}

/// A JSON money string as the contract prints it.
pub fn money(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("money is not a string: {v}"))
}

/// The row of a region in a JSON array of rows.
pub fn row<'a>(rows: &'a Value, region: &str) -> &'a Value {
    rows.as_array()
        .and_then(|rows| rows.iter().find(|r| r["region"] == region))
        .unwrap_or_else(|| panic!("no row for {region} in {rows}"))
}

/// Opens a closed ledger's sled database directly, as a test that damages or inspects it
/// does. sled lets go of its file lock only once its own threads have wound down after the
/// last handle is dropped, so a second open right after a first may find the lock still
/// held by this very process: it is retried for a few seconds.
pub fn sled_open(dir: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("sled opens the closed ledger at {}: {e}", dir.display()),
        }
    }
}

/// Flips one bit of the stored envelope at `position`, at byte `at`.
pub fn flip_event_byte(dir: &Path, position: u64, at: usize) {
    let db = sled_open(dir);
    let events = db.open_tree("events").expect("events tree");
    let key = position.to_be_bytes();
    let mut bytes = events.get(key).expect("get").expect("event").to_vec();
    bytes[at] ^= 0x01;
    events.insert(key, bytes).expect("insert");
    db.flush().expect("flush");
}

/// A copy of `from` (a ledger directory, closed) at `to`, file by file, for a test that
/// damages the copy.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The binary run on the ledger directory `dir` (a copy a test damaged, say).
pub fn run_at(dir: &Path, args: &[&str]) -> Run {
    let output = bin()
        .arg("--ledger")
        .arg(dir)
        .args(args)
        .output()
        .expect("binary runs");
    Run::from(output)
}
