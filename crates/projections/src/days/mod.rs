//! The per-day read models behind `--as-of`: for each day on which some event takes effect,
//! `asof/<day>` holds the balances and spend models as of the end of that day, and the
//! index `asof` lists those days. `--as-of D` reads the index and the last day on or before
//! `D` (two documents, whatever the size of the log) instead of replaying the log.
//!
//! A day's model is the fold, in log order, of every event effective on or before it. An
//! appended event comes after everything already folded, so it is folded into its own day
//! (made from the day before it if it is new) and into every later stored day: a back-dated
//! event rewrites the days after it, and an event dated today rewrites one. A
//! `DeterminationMade` is folded into a day only just before the first of its
//! determination's events that the day counts (it touches nothing else, so this equals
//! folding it first): a determination is in a day's model exactly when something dated by
//! then counts against it, which is what the as-of answer needs to know (`as_of.rs`).
//!
//! Spends, nearly every event, are summed per day and line while a write is decided and
//! folded at the end of it ([`Days::flush`]): a spend only adds to sums, and the only thing
//! its order decides is where a new line first appears, so sums folded in the order of
//! their first spend give exactly the models one-by-one folding gives. Any other event
//! folds the sums gathered before it first.
//!
//! Bounds, TigerBeetle-style (stated, and enforced where they are reached): at most
//! [`MAX_AS_OF_DAYS`] days are kept, so one write rewrites at most that many day models
//! (plus the index), which `MAX_MODELS_PER_APPEND` in the store is sized for (checked at
//! compile time below). A ledger whose events take effect on more days than that stops
//! keeping day models: the index says so and `--as-of` replays the log, correct and slower.
//! The same happens when the models cannot be trusted to follow the log: a ledger written
//! before day models existed (no index: `rebuild` makes them), another process appending
//! between this one's decision and its append, or events found after the last day model
//! was written (an older build wrote them).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::NaiveDate;
use grant_ledger_domain::{Event, EventData, Money, State};
use grant_ledger_store::limits::MAX_MODELS_PER_APPEND;
use grant_ledger_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::balances::Balances;
use crate::error::LedgerError;
use crate::money_ops::plus;
use crate::spend::SpendByPurpose;
use crate::writer::MAX_GROUP;

mod stored;
#[cfg(test)]
mod tests;

pub(crate) use stored::{day_model_name, day_of_model, load_day, load_index};

/// The index of day models.
pub(crate) const DAYS_INDEX: &str = "asof";
pub(crate) const DAYS_INDEX_VERSION: u32 = 1;
/// The kind of each day's model, stored as `asof/<YYYY-MM-DD>`.
pub(crate) const DAY_KIND: &str = "asof-day";
/// Bump with `BALANCES_VERSION` or `SPEND_VERSION`: a day holds both models.
pub(crate) const DAY_VERSION: u32 = 1;

/// Most days kept: four years on which something takes effect every day (a grant's
/// payments and spend fall within a year or two of its determination).
pub const MAX_AS_OF_DAYS: usize = 1_460;

/// Most models one write of a group stores besides the day models: balances, spend,
/// access, and one decision state per command at most.
const MODELS_BESIDE_DAYS: usize = 3 + MAX_GROUP;

// One append rewrites at most every day model and the index besides the others.
const _: () = assert!(MAX_AS_OF_DAYS + 1 + MODELS_BESIDE_DAYS <= MAX_MODELS_PER_APPEND);

/// Folded spend sums held before a flush: beyond this many lines, fold them (bounds memory
/// when a replay folds the whole log).
const MAX_PENDING_SPEND_LINES: usize = 65_536;
/// Other events held before a flush.
const MAX_PENDING_EVENTS: usize = 4_096;

/// The models as of the end of one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DayModel {
    pub balances: Balances,
    pub spend: SpendByPurpose,
    /// When each determination in the models was made (one made later than the day is
    /// shown with nothing determined).
    pub made_on: BTreeMap<String, NaiveDate>,
}

/// Which days have a model, in order; or why none are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DayIndex {
    pub days: Vec<NaiveDate>,
    /// Set once day models are no longer kept: `--as-of` replays the log until a rebuild.
    pub off: Option<String>,
}

/// Summed spends of one line on one day, gathered during a write.
#[derive(Debug, Clone)]
struct SpendSum {
    date: NaiveDate,
    determination: String,
    region: String,
    purpose: String,
    authority: Option<String>,
    amount: Money,
    /// Arrival of the line's first spend in this write: the order lines are folded in.
    first: usize,
}

/// A spend line: determination, region, purpose and the authority named (if any).
type Line = (String, String, String, Option<String>);

/// Work gathered during a write, folded into the day models at its end, in order.
#[derive(Debug, Clone)]
enum Pending {
    Spends(Vec<SpendSum>),
    Event(Box<(Event, Option<EventData>)>),
}

/// The day models a set of `Projections` keeps: the index, the models loaded (or made) so
/// far, and the work not yet folded into them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Days {
    /// Whether day models are being kept (an index saying so is, or will be, stored).
    kept: bool,
    pub index: DayIndex,
    index_dirty: bool,
    /// Shared with the snapshot readers see: cloned only when changed.
    loaded: BTreeMap<NaiveDate, Arc<DayModel>>,
    dirty: BTreeSet<NaiveDate>,
    pending: Vec<Pending>,
    /// Where each line's sum is in the last `Pending::Spends`, by a hash of the line.
    lines: HashMap<u64, Vec<usize>>,
}

/// The cache and the pending work are how the models are kept, not what they say.
impl PartialEq for Days {
    fn eq(&self, other: &Self) -> bool {
        self.kept == other.kept && self.index == other.index
    }
}

fn line_hash(
    date: NaiveDate,
    determination: &str,
    region: &str,
    purpose: &str,
    authority: Option<&str>,
) -> u64 {
    let mut h = DefaultHasher::new();
    (date, determination, region, purpose, authority).hash(&mut h);
    h.finish()
}

impl Days {
    /// Day models kept from an empty log (a new ledger, or a replay of the whole log).
    pub fn from_start() -> Days {
        Days {
            kept: true,
            index_dirty: true,
            ..Days::default()
        }
    }

    pub fn kept(&self) -> bool {
        self.kept
    }

    /// A day model loaded or made by this write or replay, if it is in memory.
    pub fn in_memory(&self, day: NaiveDate) -> Option<&DayModel> {
        self.loaded.get(&day).map(Arc::as_ref)
    }

    /// Stops keeping day models (stored with the next write, or by the caller).
    pub fn stop(&mut self, why: &str) {
        self.kept = false;
        self.index = DayIndex {
            days: Vec::new(),
            off: Some(why.to_string()),
        };
        self.index_dirty = true;
        self.loaded.clear();
        self.dirty.clear();
        self.pending.clear();
        self.lines.clear();
    }

    /// Takes one event that was just folded into the other models.
    pub fn record(&mut self, event: &Event, reversed: Option<&EventData>) {
        if !self.kept {
            return;
        }
        match &event.data {
            // Folded into a day when the day first counts one of its events (see above).
            EventData::DeterminationMade(_) => {}
            EventData::FundsSpent(s) => {
                let hash = line_hash(
                    s.date,
                    &s.determination,
                    &s.region,
                    &s.purpose,
                    s.authority.as_deref(),
                );
                if !matches!(self.pending.last(), Some(Pending::Spends(_))) {
                    self.pending.push(Pending::Spends(Vec::new()));
                    self.lines.clear();
                }
                let Some(Pending::Spends(sums)) = self.pending.last_mut() else {
                    return;
                };
                let same = |l: &SpendSum| {
                    l.date == s.date
                        && l.determination == s.determination
                        && l.region == s.region
                        && l.purpose == s.purpose
                        && l.authority == s.authority
                };
                let at = self.lines.entry(hash).or_default();
                match at.iter().find(|&&i| sums.get(i).is_some_and(same)) {
                    Some(&i) => {
                        if let Some(line) = sums.get_mut(i) {
                            line.amount = plus(line.amount, s.amount);
                        }
                    }
                    None => {
                        at.push(sums.len());
                        let first = sums.len();
                        sums.push(SpendSum {
                            date: s.date,
                            determination: s.determination.clone(),
                            region: s.region.clone(),
                            purpose: s.purpose.clone(),
                            authority: s.authority.clone(),
                            amount: s.amount,
                            first,
                        });
                    }
                }
            }
            _ => self
                .pending
                .push(Pending::Event(Box::new((event.clone(), reversed.cloned())))),
        }
    }

    /// Whether enough work is pending that a long replay should fold it now.
    pub fn wants_flush(&self) -> bool {
        let spends = match self.pending.last() {
            Some(Pending::Spends(sums)) => sums.len(),
            _ => 0,
        };
        spends > MAX_PENDING_SPEND_LINES || self.pending.len() > MAX_PENDING_EVENTS
    }

    /// Folds the pending work into the day models it changes, loading each with `load`
    /// (a day in the index not yet in memory). `states` hold the determinations the work
    /// concerns.
    pub fn flush(
        &mut self,
        states: &BTreeMap<String, Arc<State>>,
        load: &mut dyn FnMut(NaiveDate) -> Result<Option<DayModel>, LedgerError>,
    ) -> Result<(), LedgerError> {
        self.lines.clear();
        for work in std::mem::take(&mut self.pending) {
            if !self.kept {
                return Ok(());
            }
            match work {
                Pending::Event(boxed) => {
                    let (event, reversed) = *boxed;
                    let date = event.data.effective_date();
                    if !self.add_day(date, load)? {
                        continue;
                    }
                    let id = event.data.determination_id();
                    for day in self.days_from(date) {
                        let model = self.model_mut(day, load)?;
                        ensure_made(model, states, id)?;
                        model.balances.apply(&event);
                        model.spend.apply(&event.data, reversed.as_ref());
                    }
                }
                Pending::Spends(sums) => self.fold_spends(sums, states, load)?,
            }
        }
        Ok(())
    }

    /// Folds summed spends: into each day from the earliest, every sum dated on or before
    /// it, in the order of each line's first spend.
    fn fold_spends(
        &mut self,
        sums: Vec<SpendSum>,
        states: &BTreeMap<String, Arc<State>>,
        load: &mut dyn FnMut(NaiveDate) -> Result<Option<DayModel>, LedgerError>,
    ) -> Result<(), LedgerError> {
        let mut by_day: BTreeMap<NaiveDate, Vec<SpendSum>> = BTreeMap::new();
        for sum in sums {
            by_day.entry(sum.date).or_default().push(sum);
        }
        // Every new day is made from the day before it as it stood before these spends.
        for &date in by_day.keys() {
            if !self.add_day(date, load)? {
                return Ok(());
            }
        }
        let Some(&earliest) = by_day.keys().next() else {
            return Ok(());
        };
        // The sums dated on or before the day being folded, one per line.
        let mut upto: BTreeMap<Line, (Money, usize)> = BTreeMap::new();
        let mut dates = by_day.into_iter().peekable();
        for day in self.days_from(earliest) {
            while let Some((_, sums)) = dates.next_if(|(date, _)| *date <= day) {
                for s in sums {
                    let key = (s.determination, s.region, s.purpose, s.authority);
                    let entry = upto.entry(key).or_insert((Money::ZERO, s.first));
                    entry.0 = plus(entry.0, s.amount);
                    entry.1 = entry.1.min(s.first);
                }
            }
            let mut lines: Vec<_> = upto.iter().collect();
            lines.sort_by_key(|(_, (_, first))| *first);
            let model = self.model_mut(day, load)?;
            for ((determination, region, purpose, authority), (amount, _)) in lines {
                ensure_made(model, states, determination)?;
                model.balances.spent(determination, region, *amount);
                model.spend.spent(
                    determination,
                    region,
                    purpose,
                    authority.as_deref(),
                    *amount,
                );
            }
        }
        Ok(())
    }

    /// The stored days from `date` on.
    fn days_from(&self, date: NaiveDate) -> Vec<NaiveDate> {
        let from = self.index.days.partition_point(|d| *d < date);
        self.index.days[from..].to_vec()
    }

    /// Makes `date` a day with a model (a copy of the day before it) if it is not one;
    /// `false` when that would pass [`MAX_AS_OF_DAYS`] and day models are no longer kept.
    fn add_day(
        &mut self,
        date: NaiveDate,
        load: &mut dyn FnMut(NaiveDate) -> Result<Option<DayModel>, LedgerError>,
    ) -> Result<bool, LedgerError> {
        let at = self.index.days.partition_point(|d| *d < date);
        if self.index.days.get(at) == Some(&date) {
            return Ok(true);
        }
        if self.index.days.len() >= MAX_AS_OF_DAYS {
            self.stop(&format!(
                "events take effect on more than {MAX_AS_OF_DAYS} days, the most kept"
            ));
            return Ok(false);
        }
        let model = match at.checked_sub(1).and_then(|i| self.index.days.get(i)) {
            Some(&before) => {
                self.model(before, load)?;
                self.loaded.get(&before).cloned().unwrap_or_default()
            }
            None => Arc::default(),
        };
        self.index.days.insert(at, date);
        self.index_dirty = true;
        self.loaded.insert(date, model);
        self.dirty.insert(date);
        Ok(true)
    }

    /// Loads `day`'s model into memory if it is not there yet.
    fn model(
        &mut self,
        day: NaiveDate,
        load: &mut dyn FnMut(NaiveDate) -> Result<Option<DayModel>, LedgerError>,
    ) -> Result<(), LedgerError> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.loaded.entry(day) {
            // The index lists it, so a missing one is a damaged model.
            let model = load(day)?.ok_or_else(|| {
                LedgerError::Store(StoreError::ModelDamaged {
                    name: day_model_name(day),
                })
            })?;
            slot.insert(Arc::new(model));
        }
        Ok(())
    }

    fn model_mut(
        &mut self,
        day: NaiveDate,
        load: &mut dyn FnMut(NaiveDate) -> Result<Option<DayModel>, LedgerError>,
    ) -> Result<&mut DayModel, LedgerError> {
        self.model(day, load)?;
        self.dirty.insert(day);
        let model = self
            .loaded
            .entry(day)
            .or_insert_with(|| Arc::new(DayModel::default()));
        Ok(Arc::make_mut(model))
    }
}

/// Folds `id`'s determination into `model` if nothing of it was counted there yet.
fn ensure_made(
    model: &mut DayModel,
    states: &BTreeMap<String, Arc<State>>,
    id: &str,
) -> Result<(), LedgerError> {
    if model.balances.determinations.contains_key(id) {
        return Ok(());
    }
    let d = states
        .get(id)
        .and_then(|s| s.determination.as_ref())
        .ok_or_else(|| {
            LedgerError::corrupt(format!(
                "an event of determination {id} was folded before the determination"
            ))
        })?;
    model.balances.made(d);
    model.spend.made(d);
    model.made_on.insert(id.to_string(), d.made_on);
    Ok(())
}
