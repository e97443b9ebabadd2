//! Reading a range of rows page by page, so a scan of a million events holds one page.

use std::collections::VecDeque;

use grant_ledger_store::StoreError;

/// Rows fetched per query by the streaming reads: bounds memory, not correctness.
pub(crate) const PAGE: i64 = 1000;

/// Fetches the page of rows keyed `from..=to` (up to [`PAGE`] of them), keys ascending.
pub(crate) type Fetch<'a, T> = Box<dyn FnMut(u64, u64) -> Result<Vec<(u64, T)>, StoreError> + 'a>;

/// Streams rows page by page: `fetch(from)` returns up to a page starting at `from`, with
/// each row's own key, and the next page starts after the last key seen.
pub(crate) struct Paged<'a, T> {
    pub(crate) next: u64,
    pub(crate) to: u64,
    pub(crate) buffer: VecDeque<(u64, T)>,
    pub(crate) done: bool,
    pub(crate) fetch: Fetch<'a, T>,
}

impl<T> Iterator for Paged<'_, T> {
    type Item = Result<(u64, T), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() && !self.done {
            if self.next > self.to {
                self.done = true;
                return None;
            }
            match (self.fetch)(self.next, self.to) {
                Ok(rows) => {
                    if (rows.len() as i64) < PAGE {
                        self.done = true;
                    }
                    if let Some((last, _)) = rows.last() {
                        self.next = last.saturating_add(1);
                    }
                    self.buffer.extend(rows);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}
