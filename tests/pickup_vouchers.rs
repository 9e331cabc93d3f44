//! Pickup vouchers (提货券, SPEC v2 3 "Coupons" and "Orders"): a pickup voucher pays at most
//! `floor_fen(ratio × amount)` of each order whose kind it allows and nothing of the others, pays
//! usage without a ratio, blocks unbinding and switching to referral while usable, and is never
//! reclaimed automatically; every refusal changes nothing.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";

fn voucher(id: &str, coupon: &str, face_value: &str, ratio: &str, kinds: Option<Value>) -> Value {
    let mut fields = json!({"ratio": ratio});
    if let Some(kinds) = kinds {
        fields["order_kinds"] = kinds;
    }
    with(issue_coupon(id, "partner:D1", T1, coupon, "QP", "C1", face_value), fields)
}

fn place(id: &str, order: &str, amount: &str, kind: &str) -> Value {
    with(place_order(id, "customer:C1", T1, order, "C1", amount), json!({"kind": kind}))
}

fn paid_row(order: &str, due: &str, coupon: &str, allocated: &str) -> Value {
    json!({"order": order, "due": due, "discount": "0.00", "coupon": coupon, "allocated": allocated, "cash": "0.00", "credit": "0.00"})
}

/// The cast; D1 holds pickup-voucher quota QP of 1000.00; C1 has 500.00 allocated.
fn with_pickup_quota() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(issue_quota("qp", "platform", SETUP_AT, json!({"quota": "QP", "partner": "D1", "kind": "pickup_voucher", "amount": "1000"})));
    f.ok(allocate("a1", "partner:D1", SETUP_AT, "customer:C1", "500"));
    f
}

#[test]
fn a_pickup_voucher_pays_at_most_its_ratio_of_each_order_floored_to_the_fen() {
    let f = with_pickup_quota();
    assert_eq!(f.ok(voucher("k1", "P1", "100", "0.3", None)), json!({"coupon": "P1"}));
    // 0.30 × 33.33 = 9.999: the voucher pays 9.99, allocated the rest.
    f.ok(place("o1", "O1", "33.33", "new"));
    assert_eq!(f.ok(pay_order("p1", "customer:C1", T1, "O1", &["P1"]))["paid"][0], paid_row("O1", "33.33", "9.99", "23.34"));
    let coupons = f.ok(json!({"op": "coupons", "actor": "customer:C1", "customer": "C1"}));
    let row = &coupons["coupons"][0];
    assert_eq!(
        (row["kind"].clone(), row["ratio"].clone(), row["remaining"].clone()),
        (json!("pickup_voucher"), json!("0.30"), json!("90.01"))
    );
    assert_eq!(row["order_kinds"], json!(null));
    // A ratio of 1 pays the whole order, up to what is left.
    f.ok(voucher("k2", "P2", "10", "1", None));
    f.ok(place("o2", "O2", "12", "renew"));
    assert_eq!(f.ok(pay_order("p2", "customer:C1", T1, "O2", &["P2"]))["paid"][0], paid_row("O2", "12.00", "10.00", "2.00"));
    assert_eq!(coupon_value_total(&f), 0);
    assert!(f.ledger.verify().is_ok());
}

#[test]
fn a_pickup_voucher_pays_nothing_of_an_order_of_a_kind_it_does_not_allow() {
    let f = with_pickup_quota();
    f.ok(voucher("k1", "P1", "100", "0.5", Some(json!(["new", "change"]))));
    f.ok(place("o1", "O1", "40", "renew"));
    let error = refused(&f, pay_order("p1", "customer:C1", T1, "O1", &["P1"]), "coupon_not_usable");
    assert_eq!(error["cbc"], "CBC.99003112");
    // In a combined order it pays only the members it allows.
    let lines = json!([
        {"order": "M1", "amount": "100", "kind": "new"},
        {"order": "M2", "amount": "50", "kind": "renew"},
        {"order": "M3", "amount": "20.01", "kind": "change"},
    ]);
    f.ok(command("place_combined_order", "g1", "customer:C1", T1, json!({"combined": "G1", "customer": "C1", "orders": lines})));
    let paid = f.ok(pay_order("p2", "customer:C1", T1, "G1", &["P1"]));
    assert_eq!(
        paid["paid"],
        json!([
            paid_row("M1", "100.00", "50.00", "50.00"),
            paid_row("M2", "50.00", "0.00", "50.00"),
            paid_row("M3", "20.01", "10.00", "10.01")
        ])
    );
    let bills = f.ok(json!({"op": "bills", "actor": "customer:C1", "party": "customer:C1"}));
    let coupon_parts: Vec<&Value> = bills["bills"].as_array().expect("bills").iter().map(|bill| &bill["coupon_amount"]).collect();
    assert_eq!(coupon_parts, [&json!("50.00"), &json!("0.00"), &json!("10.00")]);
}

#[test]
fn usage_draws_a_pickup_voucher_without_a_ratio() {
    let f = with_pickup_quota();
    f.ok(voucher("k1", "P1", "100", "0.1", Some(json!(["new"]))));
    let usage = f.ok(consume("c1", T1, "C1", "60"));
    assert_eq!((usage["coupon"].clone(), usage["allocated"].clone()), (json!("60.00"), json!("0.00")));
}

#[test]
fn a_usable_pickup_voucher_blocks_leaving_and_is_never_reclaimed_automatically() {
    let f = with_pickup_quota();
    f.ok(voucher("k1", "P1", "20", "0.5", None));
    let error = refused(&f, command("unbind", "u1", "partner:D1", T2, json!({"customer": "C1"})), "association_blocked");
    assert_eq!(error["cbc"], "CBC.0155");
    refused(
        &f,
        command("switch_association", "s1", "partner:D1", T2, json!({"customer": "C1", "association": "referral"})),
        "association_blocked",
    );
    // Its issuer may take it back explicitly; then C1 may leave, and nothing else is reclaimed.
    assert_eq!(
        f.ok(command("reclaim_coupon", "r1", "partner:D1", T2, json!({"coupon": "P1"}))),
        json!({"coupon": "P1", "reclaimed": "20.00"})
    );
    let unbound = f.ok(command("unbind", "u2", "partner:D1", T2, json!({"customer": "C1"})));
    assert_eq!(unbound["reclaimed_coupons"], json!([]));
}

#[test]
fn a_used_up_pickup_voucher_blocks_nothing_and_stays_with_the_customer() {
    let f = with_pickup_quota();
    f.ok(issue_quota("qv", "platform", SETUP_AT, json!({"quota": "QV", "partner": "D1", "kind": "voucher", "amount": "100"})));
    f.ok(voucher("k1", "P1", "5", "1", None));
    f.ok(issue_coupon("k2", "partner:D1", T1, "V1", "QV", "C1", "30"));
    f.ok(consume("c1", T1, "C1", "5"));
    // The voucher is used up; the ordinary voucher V1 is reclaimed on unbind, as before.
    let unbound = f.ok(command("unbind", "u1", "partner:D1", T2, json!({"customer": "C1"})));
    assert_eq!(unbound["reclaimed_coupons"], json!(["V1"]));
    let coupons = f.ok(json!({"op": "coupons", "actor": "platform", "customer": "C1"}));
    let statuses: Vec<(&Value, &Value)> =
        coupons["coupons"].as_array().expect("coupons").iter().map(|row| (&row["coupon"], &row["status"])).collect();
    assert_eq!(statuses, [(&json!("P1"), &json!("used")), (&json!("V1"), &json!("reclaimed"))]);
}

#[test]
fn pickup_voucher_issue_refusals_change_nothing() {
    let f = with_pickup_quota();
    f.ok(issue_quota("qv", "platform", SETUP_AT, json!({"quota": "QV", "partner": "D1", "kind": "voucher", "amount": "100"})));
    refused(&f, issue_coupon("k1", "partner:D1", T1, "P1", "QP", "C1", "10"), "invalid_request");
    refused(&f, with(issue_coupon("k2", "partner:D1", T1, "V1", "QV", "C1", "10"), json!({"ratio": "0.5"})), "invalid_request");
    refused(&f, with(issue_coupon("k3", "partner:D1", T1, "V1", "QV", "C1", "10"), json!({"order_kinds": ["new"]})), "invalid_request");
    for (ratio, code) in [("0", "invalid_amount"), ("1.01", "invalid_amount"), ("0.333", "invalid_amount"), ("-0.5", "invalid_amount")] {
        refused(&f, voucher("k4", "P1", "10", ratio, None), code);
    }
    refused(&f, with(voucher("k5", "P1", "10", "0.5", None), json!({"ratio": 0.5})), "invalid_amount");
    for kinds in [json!([]), json!(["new", "new"]), json!(["upgrade"]), json!("new")] {
        refused(&f, voucher("k6", "P1", "10", "0.5", Some(kinds)), "invalid_request");
    }
    refused(&f, voucher("k7", "P1", "1000.01", "0.5", None), "quota_insufficient");
}
