//! Explicit upper bounds on everything input can make large. A ledger that
//! accepts unbounded input has unbounded memory and unbounded snapshots; these
//! numbers are generous for real section 31 determinations (nine regions, a
//! few hundred authorities) and small enough to keep every State tiny.

/// Largest absolute amount of money the ledger represents, exclusive: £1 trillion.
/// Far above any single grant, and far below where `Decimal` could overflow
/// when a few such figures are added.
pub const MONEY_LIMIT_POUNDS: i64 = 1_000_000_000_000;

/// Longest free-text field (titles, reasons, descriptions, references), in characters.
pub const MAX_TEXT_LEN: usize = 500;

/// Longest determination id, region, authority or purpose name, in characters.
pub const MAX_NAME_LEN: usize = 120;

/// Most allocations (regions) one determination may have.
pub const MAX_ALLOCATIONS: usize = 64;

/// Most local authorities one allocation may list.
pub const MAX_AUTHORITIES_PER_ALLOCATION: usize = 512;

/// Most formula components one determination may have.
pub const MAX_COMPONENTS: usize = 32;

/// Most instalments a determination may allow. It bounds the per-region list
/// of payments kept in State, which is what keeps reversals of payments exact.
pub const MAX_INSTALMENTS: u32 = 24;

/// Most factors in a component's stated working, and the largest factor.
pub const MAX_WORKING_FACTORS: usize = 8;
/// Largest single factor in a stated working.
pub const MAX_WORKING_FACTOR: u32 = 100_000;

/// Largest uplift fraction (10 = +1000%), and the most decimal places it may have.
pub const MAX_UPLIFT: i64 = 10;
/// Most decimal places of an uplift fraction.
pub const MAX_UPLIFT_SCALE: u32 = 6;

/// Longest determination file accepted, in bytes.
pub const MAX_DETERMINATION_FILE_BYTES: usize = 1_000_000;

/// Longest event payload accepted, in bytes (a DeterminationMade with the
/// maximum number of allocations and authorities stays well below this).
pub const MAX_PAYLOAD_BYTES: usize = 4_000_000;
