//! Panics a store catches itself. sled 0.34 panics on some damaged files (an index out of
//! bounds while it recovers its segments from a snapshot that names more file than there
//! is) instead of returning an error; a damaged ledger must be refused in the one damage
//! sentence, never reported as a crash. A binary's panic hook asks [`is_catching`] and stays
//! quiet while a store is catching, so the panic unwinds to [`catch`] and becomes damage.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Whether this thread is inside [`catch`]: a panic now is the store's to turn into an
/// error, not the process's to die of.
pub fn is_catching() -> bool {
    CATCHING.with(|c| c.get() > 0)
}

/// Runs `f`, returning `None` if it panicked. Only for calls into code that may panic on
/// damaged input (sled's recovery): what the panic left behind is dropped with it.
pub fn catch<T>(f: impl FnOnce() -> T) -> Option<T> {
    CATCHING.with(|c| c.set(c.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f)).ok();
    CATCHING.with(|c| c.set(c.get().saturating_sub(1)));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_catch_is_an_answer_and_the_flag_is_cleared() {
        assert!(!is_catching());
        assert_eq!(catch(is_catching), Some(true));
        let panicked: Option<()> = catch(|| panic!("sled"));
        assert_eq!(panicked, None);
        assert!(!is_catching());
    }
}
