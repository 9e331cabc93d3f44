//! Business discounts (商务折扣, SPEC v2 3 "Discounts"): the platform grants and revokes them; a
//! customer's payment may name one, which makes each order it covers due at
//! `amount - floor_fen(amount × (1 - ratio))`; never together with coupons; bills and orders carry
//! `due` and `discount_amount`; `consumption_summary` tells official prices, payable and paid.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";
const LATE: &str = "2026-03-01T00:00:00Z";

fn grant(id: &str, actor: &str, discount: &str, customer: &str, ratio: &str, extra: Value) -> Value {
    let fields =
        json!({"discount": discount, "customer": customer, "ratio": ratio, "valid_from": FROM, "valid_until": "2026-02-01T00:00:00Z"});
    command("grant_discount", id, actor, SETUP_AT, with(fields, extra))
}

fn pay_with(id: &str, order: &str, discount: &str) -> Value {
    command("pay_order", id, "customer:C1", T1, json!({"order": order, "discount": discount}))
}

fn service_line(order: &str, amount: &str, service: &str) -> Value {
    json!({"order": order, "amount": amount, "kind": "new", "service": service})
}

/// The cast; C1 has 500.00 allocated and discount B1 (0.85, ecs only) until February; C4
/// has discount B4 (0.50, all services).
fn discounted() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", SETUP_AT, "customer:C1", "500"));
    assert_eq!(f.ok(grant("d1", "platform", "B1", "C1", "0.85", json!({"services": ["ecs"]}))), json!({"discount": "B1"}));
    f.ok(grant("d2", "platform", "B4", "C4", "0.5", json!({})));
    f
}

#[test]
fn a_discount_applies_to_the_members_of_a_combined_order_it_covers() {
    let f = discounted();
    let lines = json!([service_line("M1", "100", "ecs"), service_line("M2", "50", "obs"), service_line("M3", "10.01", "ecs")]);
    f.ok(command("place_combined_order", "g1", "customer:C1", T1, json!({"combined": "G1", "customer": "C1", "orders": lines})));
    let paid = f.ok(pay_with("p1", "G1", "B1"));
    let row = |order: &str, due: &str, discount: &str| json!({"order": order, "due": due, "discount": discount, "coupon": "0.00", "allocated": due, "cash": "0.00", "credit": "0.00"});
    // 10.01 × 0.15 = 1.5015: the discount is floored to 1.50, so 8.51 is due.
    assert_eq!(paid["paid"], json!([row("M1", "85.00", "15.00"), row("M2", "50.00", "0.00"), row("M3", "8.51", "1.50")]));
    assert_eq!(f.allocated("customer:C1"), "356.49");
    let order = f.ok(json!({"op": "order", "actor": "customer:C1", "order": "M1"}));
    assert_eq!(
        (order["amount"].clone(), order["paid"]["due"].clone(), order["paid"]["discount"].clone()),
        (json!("100.00"), json!("85.00"), json!("15.00"))
    );
    let bills = f.ok(json!({"op": "bills", "actor": "customer:C1", "party": "customer:C1"}));
    let bill = &bills["bills"][0];
    assert_eq!(
        (bill["amount"].clone(), bill["discount_amount"].clone(), bill["invoiceable"].clone()),
        (json!("85.00"), json!("15.00"), json!("85.00"))
    );
    // Revenue is what was due; the books balance.
    assert_eq!(platform(&f)["revenue"], "143.51");
    assert_eq!(money_total(&f), 0);
    // The refundable amount is what was paid, not the official price.
    refused(&f, command("unsubscribe", "u1", "customer:C1", T2, json!({"order": "M1", "refund": "85.01"})), "refund_exceeds_paid");
    assert!(f.ledger.verify().is_ok());
}

#[test]
fn consumption_shows_official_prices_payable_and_paid() {
    let f = discounted();
    f.ok(issue_quota("q1", "platform", SETUP_AT, json!({"quota": "QD1", "partner": "D1", "kind": "voucher", "amount": "100"})));
    f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "20"));
    f.ok(with(place_order("o1", "customer:C1", T1, "O1", "C1", "100"), json!({"service": "ecs"})));
    f.ok(pay_with("p1", "O1", "B1"));
    f.ok(place_order("o2", "customer:C1", T1, "O2", "C1", "30"));
    f.ok(pay_order("p2", "customer:C1", T1, "O2", &["K1"]));
    let summary = f.ok(json!({"op": "consumption_summary", "actor": "partner:D1", "cycle": "2026-01"}));
    let c1 = summary["customers"].as_array().expect("rows").iter().find(|row| row["customer"] == "C1").cloned().expect("C1");
    let expected = json!({"customer": "C1", "manager": null, "consumption": "130.00", "payable": "115.00", "paid": "95.00",
        "refunds": "0.00", "adjustments": "0.00", "net": "115.00"});
    assert_eq!(c1, expected);
}

#[test]
fn coupons_and_a_discount_never_pay_together() {
    let f = discounted();
    f.ok(issue_quota("q1", "platform", SETUP_AT, json!({"quota": "QD1", "partner": "D1", "kind": "voucher", "amount": "100"})));
    f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "20"));
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "100"));
    let both = command("pay_order", "p1", "customer:C1", T1, json!({"order": "O1", "discount": "B1", "coupons": ["K1"]}));
    let error = refused(&f, both, "invalid_request");
    assert_eq!(error["cbc"], "CBC.0100");
    // Structural, so it ranks above a bad id elsewhere in the line.
    refused(
        &f,
        command("pay_order", "p2", "customer:C1", T1, json!({"order": "O 1", "discount": "B1", "coupons": ["K1"]})),
        "invalid_request",
    );
}

#[test]
fn a_discount_must_be_the_customers_and_usable() {
    let f = discounted();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "100"));
    let error = refused(&f, pay_with("p1", "O1", "B4"), "discount_not_usable");
    assert_eq!(error["cbc"], "CBC.99003112");
    refused(&f, pay_with("p2", "O1", "NOPE"), "not_found");
    // Outside its window.
    f.ok(with(place_order("o2", "customer:C1", LATE, "O2", "C1", "10"), json!({})));
    refused(&f, command("pay_order", "p3", "customer:C1", LATE, json!({"order": "O2", "discount": "B1"})), "discount_not_usable");
    // Revoked.
    assert_eq!(
        f.ok(command("revoke_discount", "r1", "platform", LATE, json!({"discount": "B4"}))),
        json!({"discount": "B4", "revoked": true})
    );
    f.ok(with(place_order("o3", "customer:C4", LATE, "O3", "C4", "10"), json!({})));
    refused(&f, command("pay_order", "p4", "customer:C4", LATE, json!({"order": "O3", "discount": "B4"})), "discount_not_usable");
    // A partner pays without discounts.
    f.ok(command("request_partner_payment", "q1", "customer:C1", LATE, json!({"order": "O2"})));
    refused(
        &f,
        command("pay_order", "p5", "partner:D1", LATE, json!({"order": "O2", "payer": "partner", "discount": "B1"})),
        "invalid_request",
    );
}

#[test]
fn discount_command_refusals_change_nothing() {
    let f = discounted();
    refused(&f, grant("g1", "partner:D1", "B9", "C1", "0.9", json!({})), "access_denied");
    refused(&f, grant("g2", "customer:C1", "B9", "C1", "0.9", json!({})), "access_denied");
    refused(&f, grant("g3", "platform", "B9", "NOPE", "0.9", json!({})), "not_found");
    refused(&f, grant("g4", "platform", "B1", "C1", "0.9", json!({})), "already_exists");
    refused(&f, grant("g5", "platform", "B9", "C1", "0.9", json!({"valid_until": FROM})), "invalid_validity");
    for ratio in ["0", "1.2", "0.855", "abc"] {
        refused(&f, grant("g6", "platform", "B9", "C1", ratio, json!({})), "invalid_amount");
    }
    refused(&f, grant("g7", "platform", "B9", "C1", "0.9", json!({"services": []})), "invalid_request");
    refused(&f, grant("g8", "platform", "B9", "C1", "0.9", json!({"services": ["ecs", "ecs"]})), "invalid_request");
    refused(
        &f,
        command("grant_discount", "g9", "platform", SETUP_AT, json!({"discount": "B9", "customer": "C1", "ratio": "0.9"})),
        "invalid_request",
    );
    refused(&f, command("revoke_discount", "r1", "partner:D1", T1, json!({"discount": "B1"})), "access_denied");
    refused(&f, command("revoke_discount", "r2", "platform", T1, json!({"discount": "NOPE"})), "not_found");
    f.ok(command("revoke_discount", "r3", "platform", T1, json!({"discount": "B1"})));
    refused(&f, command("revoke_discount", "r4", "platform", T1, json!({"discount": "B1"})), "discount_not_usable");
}
