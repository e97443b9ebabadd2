//! Arithmetic for folding recorded facts. A stored event must always fold, so sums clamp at
//! the money limit instead of failing; the domain refuses any command that would get near it.

use grant_ledger_domain::Money;

pub(crate) fn plus(a: Money, b: Money) -> Money {
    a.checked_add(b).unwrap_or(if b.is_negative() {
        Money::MIN
    } else {
        Money::MAX
    })
}

pub(crate) fn minus(a: Money, b: Money) -> Money {
    a.checked_sub(b).unwrap_or(if b.is_negative() {
        Money::MAX
    } else {
        Money::MIN
    })
}
