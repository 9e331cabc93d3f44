//! Invoice matching (SPEC.md section 5) through the public API: properties that hold for any items.
use partner_ledger::{AMOUNT_INPUT_LIMIT_MINOR, Amount, ErrorCode, Id, InvoiceItem, Matched, match_invoice, remaining_after};
use partner_ledger::{Rejection, Timestamp};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Up to 40 items with distinct bills, few distinct times (so ties are common) and small signed
/// remainders, zero included.
fn items() -> impl Strategy<Value = Vec<InvoiceItem>> {
    let remaining = prop_oneof![3 => 1i128..100_000, 2 => -50_000i128..0, 1 => Just(0i128)];
    proptest::collection::vec(("[A-Za-z0-9]{1,3}", 0i64..6, remaining), 0..40).prop_map(|raw| {
        let unique: BTreeMap<String, (i64, i128)> = raw.into_iter().map(|(bill, at, remaining)| (bill, (at, remaining))).collect();
        let mut items: Vec<InvoiceItem> = unique
            .into_iter()
            .map(|(bill, (at, remaining))| InvoiceItem {
                bill: Id::new(&bill).unwrap(),
                at: Timestamp::from_millis(at),
                remaining: Amount::from_minor(remaining),
            })
            .collect();
        // Not sorted by bill: interleave so the input order says nothing.
        items.sort_by_key(|item| item.remaining.minor().rem_euclid(7));
        items
    })
}

/// Items and, often, an amount that can be invoiced (a share of their total), sometimes anything.
fn items_and_amount() -> impl Strategy<Value = (Vec<InvoiceItem>, Amount)> {
    items().prop_flat_map(|items| {
        let total = total(&items);
        let amount = if total > 0 { prop_oneof![3 => 1..=total, 1 => -5i128..total + 5].boxed() } else { (-5i128..5).boxed() };
        (Just(items), amount.prop_map(Amount::from_minor))
    })
}

fn total(items: &[InvoiceItem]) -> i128 {
    items.iter().map(|item| item.remaining.minor()).sum()
}

fn sum(matched: &[Matched]) -> i128 {
    matched.iter().map(|entry| entry.amount.minor()).sum()
}

/// The non-zero items of one sign, oldest first, ties by bill.
fn sorted(items: &[InvoiceItem], negative: bool) -> Vec<&InvoiceItem> {
    let mut chosen: Vec<&InvoiceItem> =
        items.iter().filter(|item| !item.remaining.is_zero() && item.remaining.is_negative() == negative).collect();
    chosen.sort_by(|a, b| (a.at, &a.bill).cmp(&(b.at, &b.bill)));
    chosen
}

fn by_bill(items: &[InvoiceItem]) -> HashMap<&Id, Amount> {
    items.iter().map(|item| (&item.bill, item.remaining)).collect()
}

fn code<T: std::fmt::Debug>(result: Result<T, Rejection>) -> ErrorCode {
    result.expect_err("must be refused").code
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn accepts_exactly_the_amounts_within_the_total((items, amount) in items_and_amount()) {
        let result = match_invoice(&items, amount);
        if amount.minor() <= 0 {
            prop_assert_eq!(code(result), ErrorCode::InvalidAmount);
        } else if amount.minor() > total(&items) {
            prop_assert_eq!(code(result), ErrorCode::ExceedsInvoiceable);
        } else {
            prop_assert!(result.is_ok());
        }
    }

    #[test]
    fn the_matched_amounts_sum_to_the_request((items, amount) in items_and_amount()) {
        if let Ok(matched) = match_invoice(&items, amount) {
            prop_assert_eq!(sum(&matched), amount.minor());
        }
    }

    #[test]
    fn every_negative_item_comes_first_in_full((items, amount) in items_and_amount()) {
        if let Ok(matched) = match_invoice(&items, amount) {
            let refunds = sorted(&items, true);
            prop_assert!(matched.len() > refunds.len(), "at least one positive item is matched");
            for (entry, item) in matched.iter().zip(&refunds) {
                prop_assert_eq!(&entry.bill, &item.bill);
                prop_assert_eq!(entry.amount, item.remaining);
            }
        }
    }

    #[test]
    fn positive_items_form_an_oldest_first_prefix_full_but_the_last((items, amount) in items_and_amount()) {
        if let Ok(matched) = match_invoice(&items, amount) {
            let charges = &matched[sorted(&items, true).len()..];
            let expected = sorted(&items, false);
            prop_assert!(!charges.is_empty() && charges.len() <= expected.len());
            for (position, (entry, item)) in charges.iter().zip(&expected).enumerate() {
                prop_assert_eq!(&entry.bill, &item.bill);
                if position + 1 < charges.len() {
                    prop_assert_eq!(entry.amount, item.remaining);
                } else {
                    prop_assert!(entry.amount.is_positive() && entry.amount <= item.remaining);
                }
            }
        }
    }

    #[test]
    fn nothing_is_matched_beyond_its_remainder((items, amount) in items_and_amount()) {
        if let Ok(matched) = match_invoice(&items, amount) {
            let remaining = by_bill(&items);
            let mut seen = std::collections::HashSet::new();
            for entry in &matched {
                prop_assert!(seen.insert(&entry.bill), "bill {} matched twice", entry.bill);
                let left = remaining[&entry.bill];
                prop_assert!(!entry.amount.is_zero());
                prop_assert_eq!(entry.amount.is_negative(), left.is_negative());
                prop_assert!(entry.amount.minor().abs() <= left.minor().abs());
            }
            // Applying the match removes exactly what was matched.
            let rest = remaining_after(&items, &matched).unwrap();
            prop_assert_eq!(total(&rest), total(&items) - amount.minor());
            prop_assert!(rest.iter().all(|item| !item.remaining.is_zero() && !item.remaining.is_negative()));
        }
    }

    #[test]
    fn is_deterministic_under_any_order(
        (items, shuffled, amount) in items_and_amount()
            .prop_flat_map(|(items, amount)| (Just(items.clone()), Just(items).prop_shuffle(), Just(amount)))
    ) {
        let first = match_invoice(&items, amount);
        prop_assert_eq!(&first, &match_invoice(&items, amount));
        prop_assert_eq!(&first, &match_invoice(&shuffled, amount));
    }

    #[test]
    fn matching_a_then_b_leaves_what_matching_a_plus_b_leaves(
        (items, a, b) in items().prop_flat_map(|items| {
            let bound = total(&items).max(1) + 3;
            (Just(items), 1..bound, 1..bound)
        })
    ) {
        let (a, b) = (Amount::from_minor(a), Amount::from_minor(b));
        let together = match_invoice(&items, a.checked_add(b).unwrap());
        let stepwise = match_invoice(&items, a).and_then(|first| {
            let rest = remaining_after(&items, &first)?;
            let second = match_invoice(&rest, b)?;
            remaining_after(&rest, &second)
        });
        match (together, stepwise) {
            (Ok(matched), Ok(stepwise)) => prop_assert_eq!(remaining_after(&items, &matched).unwrap(), stepwise),
            (Err(together), Err(stepwise)) => {
                prop_assert_eq!(together.code, ErrorCode::ExceedsInvoiceable);
                prop_assert_eq!(stepwise.code, ErrorCode::ExceedsInvoiceable);
            }
            (together, stepwise) => prop_assert!(false, "a + b gave {:?}, a then b gave {:?}", together, stepwise),
        }
    }

    #[test]
    fn never_panics_for_arbitrary_inputs(
        raw in proptest::collection::vec(("[a-c]{1,2}", any::<i64>(), prop_oneof![any::<i128>(), Just(i128::MIN), Just(i128::MAX), -3i128..3]), 0..12),
        amount in prop_oneof![any::<i128>(), Just(i128::MIN), Just(i128::MAX), Just(0i128), Just(AMOUNT_INPUT_LIMIT_MINOR), 1i128..1_000],
        taken in proptest::collection::vec(("[a-d]{1,2}", any::<i128>()), 0..6),
    ) {
        let items: Vec<InvoiceItem> = raw
            .into_iter()
            .map(|(bill, at, remaining)| InvoiceItem {
                bill: Id::new(&bill).unwrap(),
                at: Timestamp::from_millis(at),
                remaining: Amount::from_minor(remaining),
            })
            .collect();
        let taken: Vec<Matched> =
            taken.into_iter().map(|(bill, amount)| Matched { bill: Id::new(&bill).unwrap(), amount: Amount::from_minor(amount) }).collect();
        let _ = remaining_after(&items, &taken);
        if let Ok(matched) = match_invoice(&items, Amount::from_minor(amount)) {
            prop_assert_eq!(matched.iter().try_fold(0i128, |sum, entry| sum.checked_add(entry.amount.minor())), Some(amount));
            prop_assert!(remaining_after(&items, &matched).is_ok());
        }
    }
}
