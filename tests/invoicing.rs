//! Invoicing by billing cycle or by bills (SPEC v2 3 "Invoices"): `cycles` matches every item of
//! those UTC+8 cycles in full, `bills` each named bill's remainder in full, beside `amount`; the
//! errors for bills of another party, fully invoiced bills and sums that are not positive.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const INVOICE_AT: &str = "2026-03-10T00:00:00Z";

fn invoice(id: &str, party: &str, basis: Value) -> Value {
    command("request_invoice", id, party, INVOICE_AT, with(json!({"invoice": id.to_uppercase(), "party": party}), basis))
}

fn buy(f: &Fixture, order: &str, at: &str, amount: &str) {
    f.ok(place_order(&format!("place-{order}"), "customer:C1", at, order, "C1", amount));
    f.ok(pay_order(&format!("pay-{order}"), "customer:C1", at, order, &[]));
}

/// C1 (1000.00 allocated) paid J1 100.00 (Jan 10), J2 50.00 (Jan 20), F1 80.00 (Feb 5) and M1
/// 40.00 (Mar 2); C4 paid its own order X1 of 10.00 (Mar 2).
fn billed() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", SETUP_AT, "customer:C1", "1000"));
    buy(&f, "J1", "2026-01-10T00:00:00Z", "100");
    buy(&f, "J2", "2026-01-20T00:00:00Z", "50");
    buy(&f, "F1", "2026-02-05T00:00:00Z", "80");
    buy(&f, "M1", "2026-03-02T00:00:00Z", "40");
    f.ok(recharge("r1", "2026-03-02T00:00:00Z", "customer:C4", "10"));
    f.ok(place_order("o-x", "customer:C4", "2026-03-02T00:00:00Z", "X1", "C4", "10"));
    f.ok(pay_order("p-x", "customer:C4", "2026-03-02T00:00:00Z", "X1", &[]));
    f
}

fn matched(pairs: &[(&str, &str)]) -> Value {
    Value::Array(pairs.iter().map(|(bill, amount)| json!({"bill": bill, "amount": amount})).collect())
}

#[test]
fn invoicing_two_cycles_one_of_them_already_partly_invoiced() {
    let f = billed();
    // 120.00 by amount: J1 in full and 20.00 of J2.
    let first = f.ok(invoice("i1", "customer:C1", json!({"amount": "120"})));
    assert_eq!(first, json!({"invoice": "I1", "amount": "120.00", "matched": matched(&[("J1", "100.00"), ("J2", "20.00")])}));
    // January's rest and February, in full.
    let second = f.ok(invoice("i2", "customer:C1", json!({"cycles": ["2026-01", "2026-02"]})));
    assert_eq!(second, json!({"invoice": "I2", "amount": "110.00", "matched": matched(&[("J2", "30.00"), ("F1", "80.00")])}));
    let items = f.ok(json!({"op": "invoiceable", "actor": "customer:C1", "party": "customer:C1"}));
    assert_eq!(items["total"], "40.00");
    assert_eq!(
        items["items"],
        json!([{"bill": "M1", "bill_type": "new", "at": "2026-03-02T00:00:00Z", "cycle": "2026-03", "remaining": "40.00"}])
    );
    // Nothing is left in those cycles.
    let error = refused(&f, invoice("i3", "customer:C1", json!({"cycles": ["2026-01"]})), "exceeds_invoiceable");
    assert_eq!(error["cbc"], "CBC.0101");
    // Returning the second invoice gives both cycles back.
    f.ok(command("return_invoice", "x1", "customer:C1", INVOICE_AT, json!({"invoice": "I2"})));
    assert_eq!(f.ok(invoice("i4", "customer:C1", json!({"cycles": ["2026-02"]})))["amount"], "80.00");
}

#[test]
fn a_cycle_is_a_utc8_month_and_refunds_in_it_count() {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", SETUP_AT, "customer:C1", "1000"));
    // 2026-01-31T16:00:00Z is February in UTC+8.
    buy(&f, "O1", "2026-01-31T16:00:00Z", "60");
    buy(&f, "O2", "2026-02-03T00:00:00Z", "30");
    f.ok(command("unsubscribe", "u1", "customer:C1", "2026-02-04T00:00:00Z", json!({"order": "O2", "refund": "10"})));
    let result = f.ok(invoice("i1", "customer:C1", json!({"cycles": ["2026-02"]})));
    assert_eq!(
        result,
        json!({"invoice": "I1", "amount": "80.00", "matched": matched(&[("O1", "60.00"), ("O2", "30.00"), ("O2:refund", "-10.00")])})
    );
    refused(&f, invoice("i2", "customer:C1", json!({"cycles": ["2026-01"]})), "exceeds_invoiceable");
}

#[test]
fn invoicing_named_bills_in_full() {
    let f = billed();
    let result = f.ok(invoice("i1", "customer:C1", json!({"bills": ["F1", "J1"]})));
    assert_eq!(result, json!({"invoice": "I1", "amount": "180.00", "matched": matched(&[("F1", "80.00"), ("J1", "100.00")])}));
    let bills = f.ok(json!({"op": "bills", "actor": "customer:C1", "party": "customer:C1"}));
    let invoiced: Vec<(&Value, &Value)> =
        bills["bills"].as_array().expect("bills").iter().map(|bill| (&bill["bill"], &bill["invoiced"])).collect();
    assert_eq!(invoiced[0], (&json!("J1"), &json!("100.00")));
    // A fully invoiced bill, even among others.
    let error = refused(&f, invoice("i2", "customer:C1", json!({"bills": ["J2", "J1"]})), "already_invoiced");
    assert_eq!(error["cbc"], "CBC.99003643");
    // A bill of another party, or none at all.
    refused(&f, invoice("i3", "customer:C1", json!({"bills": ["X1"]})), "not_found");
    refused(&f, invoice("i4", "customer:C1", json!({"bills": ["NOPE"]})), "not_found");
    // A refund bill alone sums below zero.
    f.ok(command("unsubscribe", "u1", "customer:C1", INVOICE_AT, json!({"order": "M1", "refund": "5"})));
    refused(&f, invoice("i5", "customer:C1", json!({"bills": ["M1:refund"]})), "exceeds_invoiceable");
    assert_eq!(f.ok(invoice("i6", "customer:C1", json!({"bills": ["J2", "M1", "M1:refund"]})))["amount"], "85.00");
}

#[test]
fn request_invoice_takes_exactly_one_basis() {
    let f = billed();
    for basis in [
        json!({}),
        json!({"amount": "10", "cycles": ["2026-01"]}),
        json!({"amount": "10", "bills": ["J1"]}),
        json!({"cycles": []}),
        json!({"cycles": ["2026-01", "2026-01"]}),
        json!({"cycles": ["2026-13"]}),
        json!({"cycles": ["2026-1"]}),
        json!({"cycles": (1..=13).map(|month| format!("{}-{:02}", 2025 + month / 12, month % 12 + 1)).collect::<Vec<_>>()}),
        json!({"bills": []}),
        json!({"bills": ["J1", "J1"]}),
        json!({"bills": "J1"}),
    ] {
        refused(&f, invoice("i1", "customer:C1", basis), "invalid_request");
    }
    refused(&f, invoice("i1", "customer:C1", json!({"bills": ["J 1"]})), "invalid_id");
    // The party's own scope still applies first; then its debt.
    refused(&f, with(invoice("i2", "customer:C4", json!({"bills": ["J1"]})), json!({"actor": "customer:C1"})), "access_denied");
    f.ok(consume("c1", INVOICE_AT, "C4", "5"));
    refused(&f, invoice("i3", "customer:C4", json!({"cycles": ["2026-03"]})), "debt_outstanding");
}
