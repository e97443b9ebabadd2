//! The durable store on sled 0.34: the `SledStore` handle and opening (creating only for
//! writers, lock, format, loss of contents, recovery of interrupted appends, the check of
//! the last event).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use grant_ledger_store::envelope::STORAGE_FORMAT;
use grant_ledger_store::{
    caught, describe_io, forward_event_store, Backend, Clock, Damage, Engine, StoreError,
};

use crate::error::from_sled;
use crate::layout::*;
use crate::open_registry::{open_exclusive, OpenGuard};
use crate::sled_backend::SledBackend;

fn sync_dir(path: &Path) -> Result<(), StoreError> {
    File::open(path)?.sync_all()?;
    Ok(())
}

/// The durable [`grant_ledger_store::EventStore`]. `Send + Sync`: share it between threads with `Arc`.
pub struct SledStore {
    engine: Engine<SledBackend>,
    _open: OpenGuard,
}

impl SledStore {
    /// Opens the ledger in directory `path`, creating it (and the directory) if there is
    /// none yet: for writers.
    ///
    /// Fails with [`StoreError::InUse`] if another process (or another open handle) holds it,
    /// [`StoreError::NewerFormat`] if a newer build wrote it, [`StoreError::Corrupt`] if sled
    /// or our metadata say it is damaged (including a last event that does not match the
    /// committed head), and [`StoreError::CannotOpen`] if the path cannot hold a ledger (a
    /// file, no permission, a directory holding other files, ...). Any staged events left
    /// by an interrupted append are discarded here, before anything can read them.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<SledStore, StoreError> {
        Self::open_as(path, clock, true).map_err(|e| e.opening(path))
    }

    /// Opens the ledger in directory `path` only if one is there: for readers, so that a
    /// mistyped path is an error instead of a new, empty ledger. A missing or empty
    /// directory is [`StoreError::NoLedger`] and nothing is created; otherwise as
    /// [`SledStore::open`].
    pub fn open_existing(path: &Path, clock: Arc<dyn Clock>) -> Result<SledStore, StoreError> {
        Self::open_as(path, clock, false).map_err(|e| e.opening(path))
    }

    fn open_as(path: &Path, clock: Arc<dyn Clock>, create: bool) -> Result<SledStore, StoreError> {
        let fresh = match inspect_dir(path)? {
            DirState::Sled => false,
            DirState::Missing | DirState::Empty if !create => {
                return Err(StoreError::NoLedger {
                    path: path.to_path_buf(),
                })
            }
            DirState::Missing => {
                std::fs::create_dir_all(path)?;
                true
            }
            DirState::Empty => true,
        };
        let (backend, open) =
            open_exclusive(path, || open_backend(path, fresh)).inspect_err(|e| {
                if e.is_damage() && !fresh {
                    // No engine holds a latch yet: the note is kept here, so every later open
                    // is refused in the same sentence even if sled recovers differently then.
                    note_damage(path, e);
                }
            })?;
        let engine = Engine::new(backend, clock);
        engine.load_damage()?;
        // Damage found here is latched too, so the next command is refused even where this
        // one's error was not about the log. sled may panic reading a damaged page.
        engine.watched(|engine| {
            caught::catch(|| opening_checks(engine, path, fresh))
                .unwrap_or_else(|| Err(sled_panicked()))
        })?;
        Ok(SledStore {
            engine,
            _open: open,
        })
    }

    /// The directory this ledger lives in.
    pub fn path(&self) -> &Path {
        &self.engine.backend.path
    }
}

/// What sled's panic on a damaged file means for the ledger.
fn sled_panicked() -> StoreError {
    StoreError::corrupt("its database file holds something sled cannot read")
}

/// Keeps the note of damage found while opening, before any engine could (best effort: a
/// directory that takes no write still refuses, sled failing as it did now).
fn note_damage(path: &Path, e: &StoreError) {
    let damage = Damage {
        position: match e {
            StoreError::Tampered { position, .. } => Some(*position),
            StoreError::Damaged { position, .. } => *position,
            _ => None,
        },
        reason: match e {
            StoreError::Corrupt { reason, .. }
            | StoreError::Tampered { reason, .. }
            | StoreError::Damaged { reason, .. } => reason.clone(),
            other => other.to_string(),
        },
        model: None,
    };
    if let Ok(bytes) = serde_json::to_vec(&damage) {
        let _ = crate::damage_note::write(path, Some(&bytes));
    }
}

/// Discards staged leftovers, makes a fresh ledger's files durable, and checks the head.
fn opening_checks(
    engine: &Engine<SledBackend>,
    path: &Path,
    fresh: bool,
) -> Result<(), StoreError> {
    let backend = &engine.backend;
    let head = backend.head()?;
    backend.discard_above(head.position)?;
    if fresh {
        backend.sync()?;
        let conf = path.join("conf");
        if conf.exists() {
            File::open(conf)?.sync_all()?;
        }
        sync_dir(&path.join("blobs"))?;
        sync_dir(path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    engine.check_head(&head)
}

/// What a ledger directory holds before sled opens it (sled creates what is missing, so
/// this must be looked at first).
enum DirState {
    /// Nothing at the path.
    Missing,
    /// An empty directory.
    Empty,
    /// sled's files (`conf` or a non-empty `db`): a ledger, or what is left of one.
    Sled,
}

fn inspect_dir(path: &Path) -> Result<DirState, StoreError> {
    let cannot = |problem: String| StoreError::CannotOpen {
        path: path.to_path_buf(),
        problem,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(cannot("it is a file, not a directory".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DirState::Missing),
        Err(e) => {
            // e.g. `/tmp/file/sub`: name the part of the path that is not a directory.
            let file = path
                .ancestors()
                .skip(1)
                .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()));
            return Err(cannot(match file {
                Some(f) => format!("{} is a file, not a directory", f.display()),
                None => describe_io(&e),
            }));
        }
    }
    let db_len = match std::fs::metadata(path.join("db")) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    if db_len > 0 || path.join("conf").exists() {
        return Ok(DirState::Sled);
    }
    let mut entries = std::fs::read_dir(path)?;
    match entries.next() {
        None => Ok(DirState::Empty),
        Some(_) => Err(cannot(
            "the directory holds other files and no ledger; give an empty or new directory".into(),
        )),
    }
}

/// `fresh`: the directory held none of sled's files before this open, so an empty
/// database is a new ledger rather than one that lost its contents.
fn open_backend(path: &Path, fresh: bool) -> Result<SledBackend, StoreError> {
    // sled 0.34 can panic on some damaged files instead of returning an error; a damaged
    // ledger must be an error for the caller, never a crash.
    // The panic hook stays quiet meanwhile (see `grant_ledger_store::caught`).
    caught::catch(|| open_sled(path, fresh)).unwrap_or_else(|| Err(sled_panicked()))
}

fn open_sled(path: &Path, fresh: bool) -> Result<SledBackend, StoreError> {
    let opened = sled::Config::new()
        .path(path)
        .cache_capacity(SLED_CACHE_BYTES)
        .open();
    let db = opened.map_err(|e| from_sled(e, path))?;
    let tree = |name: &str| db.open_tree(name).map_err(|e| from_sled(e, path));
    let events = tree(TREE_EVENTS)?;
    let meta = tree(TREE_META)?;
    let backend = SledBackend {
        event_ids: tree(TREE_EVENT_IDS)?,
        event_id_extents: tree(TREE_EVENT_ID_EXTENTS)?,
        stream_events: tree(TREE_STREAM_EVENTS)?,
        streams: tree(TREE_STREAMS)?,
        keys: tree(TREE_KEYS)?,
        models: tree(TREE_MODELS)?,
        data_file: File::open(path.join("db"))?,
        path: path.to_path_buf(),
        db,
        events,
        meta,
    };
    check_format(&backend, fresh)?;
    Ok(backend)
}

/// Checks (or, for a fresh directory, writes) the storage format.
///
/// sled treats an unreadable log as torn and quietly recovers what precedes it, which for a
/// thoroughly damaged file is an empty database. A ledger writes its format entry (durably)
/// as soon as it is created, so a directory that already held sled's files but opens
/// without a format entry has lost its contents: only a directory that held none of sled's
/// files is a new ledger.
fn check_format(b: &SledBackend, fresh: bool) -> Result<(), StoreError> {
    match b.sled(b.meta.get(META_FORMAT))? {
        Some(v) => {
            let a: [u8; 4] = v[..].try_into().map_err(|_| {
                StoreError::corrupt(format!("meta format is {} bytes, not 4", v.len()))
            })?;
            let found = u32::from_be_bytes(a);
            if found > STORAGE_FORMAT {
                return Err(StoreError::NewerFormat {
                    path: b.path.clone(),
                    found,
                    supported: STORAGE_FORMAT,
                });
            }
            if found == 0 {
                return Err(StoreError::corrupt("meta format is 0"));
            }
            if found < STORAGE_FORMAT {
                // Every older format is a subset of this one (format 2 only added per-event
                // key entries, format 3 id extents), so upgrading is just the number, written
                // before anything new is: an older build then refuses the ledger rather than
                // misreading it.
                b.sled(b.meta.insert(META_FORMAT, &STORAGE_FORMAT.to_be_bytes()))?;
                b.sync()?;
            }
            Ok(())
        }
        None => {
            let untouched = b.meta.is_empty() && b.events.is_empty() && b.streams.is_empty();
            if !untouched {
                return Err(StoreError::corrupt(
                    "the database has data but no format entry: not a grant ledger",
                ));
            }
            if !fresh {
                return Err(StoreError::corrupt(
                    "it has lost its contents, since sled's files are there but hold no format \
                     entry, which is what sled recovers from a badly damaged file",
                ));
            }
            b.sled(b.meta.insert(META_FORMAT, &STORAGE_FORMAT.to_be_bytes()))?;
            b.sync()
        }
    }
}

forward_event_store!(SledStore);
