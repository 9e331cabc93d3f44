//! Invoice matching (SPEC.md section 5): which bills an invoice covers, as a pure function.
//!
//! A party's invoiceable items are its bills with a signed remainder: payments and usage are
//! positive, refunds and compensations negative. An invoice first absorbs every negative item in
//! full (a refund must be netted out before anything else is invoiced), then the positive items
//! oldest first, the last of them only in part, so that the matched amounts sum to the invoice.
//!
//! Nothing here reads storage or the clock: the caller passes the items and applies the result with
//! [`remaining_after`]. Matching `a` and then `b` leaves the same remainder as matching `a + b`.

use crate::amount::{AMOUNT_INPUT_LIMIT_MINOR, Amount};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::Id;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::HashMap;

/// One bill with invoiceable value left, as the matching reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InvoiceItem {
    /// The bill's id.
    pub bill: Id,
    /// When the bill was made: matching goes oldest first.
    pub at: Timestamp,
    /// The signed invoiceable remainder: negative for refunds and compensations. Zero is ignored.
    pub remaining: Amount,
}

/// How much of one bill an invoice covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Matched {
    /// The bill's id.
    pub bill: Id,
    /// The amount matched: the bill's whole remainder, except for the last positive bill matched.
    pub amount: Amount,
}

/// Matches an invoice of `amount` against a party's invoiceable `items` (SPEC.md section 5).
///
/// Items with a zero remainder play no part at all. The result lists every negative item, oldest
/// first, each with its whole remainder, then a prefix of the positive items, oldest first, each
/// with its whole remainder except the last, which takes only what is still needed. Equal times are
/// ordered by bill id, so the result does not depend on the order of `items`. The matched amounts
/// sum to `amount` exactly, and at least one positive item is always matched.
///
/// # Errors
/// In this order:
/// - `invalid_request` when two items with non-zero remainders name the same bill;
/// - `invalid_amount` when `amount` is not above zero or not below 10^12 (SPEC 1.2's input limit),
///   or when the positive or the negative remainders total beyond the range of [`Amount`];
/// - `exceeds_invoiceable` when `amount` is above the sum of all remainders (so always when that
///   sum is zero or negative).
pub fn match_invoice(items: &[InvoiceItem], amount: Amount) -> Result<Vec<Matched>, Rejection> {
    index_by_bill(items)?;
    require_invoice_amount(amount)?;
    let (mut refunds, mut charges): (Vec<&InvoiceItem>, Vec<&InvoiceItem>) =
        items.iter().filter(|item| !item.remaining.is_zero()).partition(|item| item.remaining.is_negative());
    // Totalled per sign, an overflow does not depend on the order of the items.
    let refund_total = total(&refunds)?;
    let charge_total = total(&charges)?;
    // Opposite signs: this sum cannot overflow.
    let invoiceable = refund_total.checked_add(charge_total)?;
    if amount > invoiceable {
        return reject(ErrorCode::ExceedsInvoiceable, format!("invoice of {amount} exceeds the invoiceable total of {invoiceable}"));
    }
    // amount <= refund_total + charge_total, so this is at most charge_total: the charges suffice.
    let needed = amount.checked_sub(refund_total)?;
    debug_assert!(needed.is_positive() && needed <= charge_total);

    refunds.sort_unstable_by(|a, b| oldest_first(a, b));
    charges.sort_unstable_by(|a, b| oldest_first(a, b));
    let mut matched: Vec<Matched> = refunds.iter().map(|item| Matched { bill: item.bill.clone(), amount: item.remaining }).collect();
    let mut still_needed = needed;
    for item in charges {
        if !still_needed.is_positive() {
            break;
        }
        let take = item.remaining.min(still_needed);
        matched.push(Matched { bill: item.bill.clone(), amount: take });
        still_needed = still_needed.checked_sub(take)?;
    }
    debug_assert!(still_needed.is_zero());
    debug_assert_eq!(matched.iter().try_fold(Amount::ZERO, |sum, entry| sum.checked_add(entry.amount)), Ok(amount));
    Ok(matched)
}

/// What is left of `items` after `matched` (usually a result of [`match_invoice`] on the same
/// items) is taken from them: the items in their given order, each reduced by the amounts matched
/// against its bill, without those left at zero (nor those that were zero already).
///
/// # Errors
/// - `invalid_request` when two items with non-zero remainders name the same bill, or when a
///   matched bill is not among the items with a non-zero remainder;
/// - `invalid_amount` when the amounts matched against a bill would take it past zero or away from
///   zero (beyond its remainder, or with the wrong sign), or overflow.
pub fn remaining_after(items: &[InvoiceItem], matched: &[Matched]) -> Result<Vec<InvoiceItem>, Rejection> {
    let index = index_by_bill(items)?;
    let mut remaining: Vec<Amount> = items.iter().map(|item| item.remaining).collect();
    for entry in matched {
        let Some(&position) = index.get(&entry.bill) else {
            return reject(ErrorCode::InvalidRequest, format!("matched bill {} is not among the invoiceable items", entry.bill));
        };
        let original = items[position].remaining;
        let after = remaining[position].checked_sub(entry.amount)?;
        let (low, high) = if original.is_negative() { (original, Amount::ZERO) } else { (Amount::ZERO, original) };
        if !(low..=high).contains(&after) {
            return reject(
                ErrorCode::InvalidAmount,
                format!("matching {} against bill {} leaves {after} of its remaining {original}", entry.amount, entry.bill),
            );
        }
        remaining[position] = after;
    }
    let rest: Vec<InvoiceItem> = items
        .iter()
        .zip(remaining)
        .filter(|(_, left)| !left.is_zero())
        .map(|(item, left)| InvoiceItem { bill: item.bill.clone(), at: item.at, remaining: left })
        .collect();
    debug_assert!(rest.len() <= index.len());
    Ok(rest)
}

/// The position of each item with a non-zero remainder, by bill.
fn index_by_bill(items: &[InvoiceItem]) -> Result<HashMap<&Id, usize>, Rejection> {
    let mut index = HashMap::with_capacity(items.len());
    for (position, item) in items.iter().enumerate().filter(|(_, item)| !item.remaining.is_zero()) {
        if index.insert(&item.bill, position).is_some() {
            return reject(ErrorCode::InvalidRequest, format!("bill {} appears twice among the invoiceable items", item.bill));
        }
    }
    Ok(index)
}

/// An invoice amount is a money input: above zero and below 10^12, like every amount of SPEC 1.2.
fn require_invoice_amount(amount: Amount) -> Result<(), Rejection> {
    if !amount.is_positive() {
        return reject(ErrorCode::InvalidAmount, format!("invoice amount {amount} must be greater than zero"));
    }
    if amount.minor() >= AMOUNT_INPUT_LIMIT_MINOR {
        return reject(ErrorCode::InvalidAmount, format!("invoice amount {amount} must be below 1000000000000"));
    }
    Ok(())
}

fn total(items: &[&InvoiceItem]) -> Result<Amount, Rejection> {
    let sum = items.iter().try_fold(Amount::ZERO, |sum, item| sum.checked_add(item.remaining))?;
    Ok(sum)
}

/// Oldest first; equal times by bill id. Bills are unique, so this is a total order.
fn oldest_first(a: &InvoiceItem, b: &InvoiceItem) -> Ordering {
    a.at.cmp(&b.at).then_with(|| a.bill.cmp(&b.bill))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(bill: &str, day: &str, remaining_minor: i128) -> InvoiceItem {
        InvoiceItem {
            bill: Id::new(bill).unwrap(),
            at: Timestamp::parse(&format!("{day}T00:00:00Z")).unwrap(),
            remaining: Amount::from_minor(remaining_minor),
        }
    }

    fn fen(minor: i128) -> Amount {
        Amount::from_minor(minor)
    }

    /// `(bill, amount)` pairs, amounts as text, for readable assertions.
    fn pairs(matched: &[Matched]) -> Vec<(String, String)> {
        matched.iter().map(|entry| (entry.bill.to_string(), entry.amount.to_string())).collect()
    }

    fn remainder(items: &[InvoiceItem]) -> Vec<(String, String)> {
        items.iter().map(|item| (item.bill.to_string(), item.remaining.to_string())).collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(bill, amount)| ((*bill).to_owned(), (*amount).to_owned())).collect()
    }

    fn code(result: Result<Vec<Matched>, Rejection>) -> ErrorCode {
        result.expect_err("must be refused").code
    }

    fn spec_example() -> Vec<InvoiceItem> {
        vec![
            item("B1", "2026-01-10", 10_000),
            item("B2", "2026-02-01", 5_000),
            item("R1", "2026-02-15", -3_000),
            item("B3", "2026-03-01", 8_000),
        ]
    }

    #[test]
    fn reproduces_the_spec_example() {
        let items = spec_example();
        let matched = match_invoice(&items, fen(10_000)).unwrap();
        assert_eq!(pairs(&matched), owned(&[("R1", "-30.00"), ("B1", "100.00"), ("B2", "30.00")]));
        let rest = remaining_after(&items, &matched).unwrap();
        assert_eq!(remainder(&rest), owned(&[("B2", "20.00"), ("B3", "80.00")]));
        assert_eq!(code(match_invoice(&rest, fen(15_000))), ErrorCode::ExceedsInvoiceable);
        // What is left can still be invoiced exactly.
        let last = match_invoice(&rest, fen(10_000)).unwrap();
        assert_eq!(pairs(&last), owned(&[("B2", "20.00"), ("B3", "80.00")]));
        assert!(remaining_after(&rest, &last).unwrap().is_empty());
    }

    #[test]
    fn the_order_of_the_items_does_not_matter() {
        let mut items = spec_example();
        items.reverse();
        let matched = match_invoice(&items, fen(10_000)).unwrap();
        assert_eq!(pairs(&matched), owned(&[("R1", "-30.00"), ("B1", "100.00"), ("B2", "30.00")]));
        // The remainder keeps the items' own order.
        assert_eq!(remainder(&remaining_after(&items, &matched).unwrap()), owned(&[("B3", "80.00"), ("B2", "20.00")]));
    }

    #[test]
    fn equal_times_are_ordered_by_bill_id() {
        let items = vec![
            item("b", "2026-01-01", 1_000),
            item("B", "2026-01-01", 1_000),
            item("a", "2026-01-01", 1_000),
            item("R2", "2026-01-01", -100),
            item("R1", "2026-01-01", -100),
        ];
        let matched = match_invoice(&items, fen(1_800)).unwrap();
        // Byte order: upper case before lower case.
        assert_eq!(pairs(&matched), owned(&[("R1", "-1.00"), ("R2", "-1.00"), ("B", "10.00"), ("a", "10.00")]));
        let more = match_invoice(&items, fen(2_000)).unwrap();
        assert_eq!(pairs(&more), owned(&[("R1", "-1.00"), ("R2", "-1.00"), ("B", "10.00"), ("a", "10.00"), ("b", "2.00")]));
    }

    #[test]
    fn a_request_equal_to_the_total_takes_everything() {
        let items = spec_example();
        let matched = match_invoice(&items, fen(20_000)).unwrap();
        assert_eq!(pairs(&matched), owned(&[("R1", "-30.00"), ("B1", "100.00"), ("B2", "50.00"), ("B3", "80.00")]));
        assert!(remaining_after(&items, &matched).unwrap().is_empty());
    }

    #[test]
    fn one_fen_over_the_total_is_refused() {
        let rejection = match_invoice(&spec_example(), fen(20_001)).unwrap_err();
        assert_eq!(rejection.code, ErrorCode::ExceedsInvoiceable);
        assert_eq!(rejection.message, "invoice of 200.01 exceeds the invoiceable total of 200.00");
    }

    #[test]
    fn a_refund_larger_than_any_bill_spreads_over_several() {
        let items = vec![
            item("B1", "2026-01-01", 1_000),
            item("B2", "2026-01-02", 2_000),
            item("B3", "2026-01-03", 3_000),
            item("R1", "2026-01-04", -4_500),
        ];
        // 10.00 invoiced + 45.00 refund = 55.00 of bills: B1, B2 in full, 25.00 of B3.
        let matched = match_invoice(&items, fen(1_000)).unwrap();
        assert_eq!(pairs(&matched), owned(&[("R1", "-45.00"), ("B1", "10.00"), ("B2", "20.00"), ("B3", "25.00")]));
        assert_eq!(remainder(&remaining_after(&items, &matched).unwrap()), owned(&[("B3", "5.00")]));
        assert_eq!(code(match_invoice(&items, fen(1_501))), ErrorCode::ExceedsInvoiceable);
        assert_eq!(pairs(&match_invoice(&items, fen(1_500)).unwrap()).len(), 4);
    }

    #[test]
    fn refunds_that_outweigh_the_bills_leave_nothing_invoiceable() {
        let items = vec![item("B1", "2026-01-01", 1_000), item("R1", "2026-01-02", -1_000)];
        assert_eq!(code(match_invoice(&items, fen(1))), ErrorCode::ExceedsInvoiceable);
        let items = vec![item("B1", "2026-01-01", 1_000), item("R1", "2026-01-02", -1_001)];
        assert_eq!(code(match_invoice(&items, fen(1))), ErrorCode::ExceedsInvoiceable);
    }

    #[test]
    fn only_refunds_or_nothing_is_never_invoiceable() {
        let items = vec![item("R1", "2026-01-01", -1_000), item("R2", "2026-01-02", -1)];
        assert_eq!(match_invoice(&items, fen(1)).unwrap_err().message, "invoice of 0.01 exceeds the invoiceable total of -10.01");
        assert_eq!(code(match_invoice(&[], fen(1))), ErrorCode::ExceedsInvoiceable);
        assert_eq!(code(match_invoice(&[item("B1", "2026-01-01", 0)], fen(1))), ErrorCode::ExceedsInvoiceable);
    }

    #[test]
    fn zero_items_are_ignored() {
        let items = vec![item("Z", "2025-01-01", 0), item("B1", "2026-01-01", 1_000), item("Z", "2025-06-01", 0)];
        let matched = match_invoice(&items, fen(400)).unwrap();
        assert_eq!(pairs(&matched), owned(&[("B1", "4.00")]));
        assert_eq!(remainder(&remaining_after(&items, &matched).unwrap()), owned(&[("B1", "6.00")]));
    }

    #[test]
    fn the_amount_must_be_a_valid_input() {
        let items = spec_example();
        for bad in [0, -1, i128::MIN, AMOUNT_INPUT_LIMIT_MINOR, i128::MAX] {
            assert_eq!(code(match_invoice(&items, fen(bad))), ErrorCode::InvalidAmount, "{bad}");
        }
        let huge = vec![item("B1", "2026-01-01", AMOUNT_INPUT_LIMIT_MINOR)];
        assert_eq!(pairs(&match_invoice(&huge, fen(AMOUNT_INPUT_LIMIT_MINOR - 1)).unwrap()), owned(&[("B1", "999999999999.99")]));
    }

    #[test]
    fn duplicate_bills_are_refused_first() {
        let items = vec![item("B1", "2026-01-01", 1_000), item("B1", "2026-02-01", 1_000)];
        assert_eq!(code(match_invoice(&items, fen(100))), ErrorCode::InvalidRequest);
        assert_eq!(code(match_invoice(&items, fen(0))), ErrorCode::InvalidRequest);
        assert_eq!(remaining_after(&items, &[]).unwrap_err().code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn totals_beyond_the_range_are_refused_without_panicking() {
        let charges = vec![item("B1", "2026-01-01", i128::MAX), item("B2", "2026-01-02", 1)];
        assert_eq!(code(match_invoice(&charges, fen(1))), ErrorCode::InvalidAmount);
        let refunds = vec![item("R1", "2026-01-01", i128::MIN), item("R2", "2026-01-02", -1), item("B1", "2026-01-03", i128::MAX)];
        assert_eq!(code(match_invoice(&refunds, fen(1))), ErrorCode::InvalidAmount);
        // Extremes that do fit are matched.
        let extremes = vec![item("R1", "2026-01-01", i128::MIN + 1), item("B1", "2026-01-02", i128::MAX)];
        assert_eq!(code(match_invoice(&extremes, fen(1))), ErrorCode::ExceedsInvoiceable);
        let extremes = vec![item("R1", "2026-01-01", -i128::MAX / 2), item("B1", "2026-01-02", i128::MAX)];
        let matched = match_invoice(&extremes, fen(7)).unwrap();
        assert_eq!(matched[1].amount, fen(i128::MAX / 2 + 7));
    }

    #[test]
    fn applying_a_match_checks_what_it_takes() {
        let items = spec_example();
        let matched = |bill: &str, minor: i128| vec![Matched { bill: Id::new(bill).unwrap(), amount: fen(minor) }];
        assert_eq!(remaining_after(&items, &matched("X", 1)).unwrap_err().code, ErrorCode::InvalidRequest);
        assert_eq!(remaining_after(&items, &matched("B1", 10_001)).unwrap_err().code, ErrorCode::InvalidAmount);
        assert_eq!(remaining_after(&items, &matched("B1", -1)).unwrap_err().code, ErrorCode::InvalidAmount);
        assert_eq!(remaining_after(&items, &matched("R1", 1)).unwrap_err().code, ErrorCode::InvalidAmount);
        assert_eq!(remaining_after(&items, &matched("R1", -3_001)).unwrap_err().code, ErrorCode::InvalidAmount);
        assert_eq!(remaining_after(&items, &matched("B1", i128::MIN)).unwrap_err().code, ErrorCode::InvalidAmount);
        assert_eq!(remainder(&remaining_after(&items, &matched("B1", 0)).unwrap()), remainder(&items));
        // Two entries for one bill add up.
        let twice = [matched("B2", 2_000), matched("B2", 3_000)].concat();
        assert_eq!(remainder(&remaining_after(&items, &twice).unwrap()), owned(&[("B1", "100.00"), ("R1", "-30.00"), ("B3", "80.00")]));
    }
}
