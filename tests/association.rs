//! Association changes (SPEC 3 "Parties" unbind, switch_association, associate): unbinding or
//! switching a resale customer to referral returns its `allocated` to the partner and its usable
//! coupons to their quotas while debt and the customer's own cash stay; a resale association
//! needs a customer without partner funds, debt, credit or usable coupons, and keeps its own cash.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";
const T3: &str = "2026-01-07T10:00:00Z";
/// When the coupons issued by `late_coupon` become usable.
const MARCH: &str = "2026-03-01T00:00:00Z";

fn unbind(id: &str, actor: &str, at: &str, customer: &str) -> Value {
    command("unbind", id, actor, at, json!({"customer": customer}))
}

fn switch(id: &str, actor: &str, at: &str, customer: &str, association: &str) -> Value {
    command("switch_association", id, actor, at, json!({"customer": customer, "association": association}))
}

fn associate(id: &str, at: &str, customer: &str, partner: &str, association: &str) -> Value {
    command("associate", id, "platform", at, json!({"customer": customer, "partner": partner, "association": association}))
}

fn changed(customer: &str, association: Value, allocated: &str, coupons: &[&str]) -> Value {
    json!({"customer": customer, "association": association, "reclaimed_allocated": allocated, "reclaimed_coupons": coupons})
}

fn reclaim_records(f: &Fixture) -> Value {
    f.ok(json!({"op": "adjust_records", "actor": "platform", "operation": "unbind_reclaim"}))
}

/// D1 gives C1 coupon `coupon` of 20.00, usable only from `MARCH`.
fn late_coupon(f: &Fixture, id: &str, coupon: &str) {
    f.ok(with(issue_coupon(id, "partner:D1", T1, coupon, "QD1", "C1", "20"), json!({"valid_from": MARCH})));
}

/// C1 holds 300.00 allocated and 25.00 of its own cash (a compensation), K1 (100.00, 50.00
/// spent), K2 (20.00, inactive until March) and K3 (30.00, all spent); QD1 holds 850.00. Seq 23.
fn resale_customer_with_value() -> Fixture {
    let f = with_quota();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "300"));
    f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "100"));
    late_coupon(&f, "k2", "K2");
    f.ok(issue_coupon("k3", "partner:D1", T1, "K3", "QD1", "C1", "30"));
    spend(&f, "O1", T1, "50", "K1");
    spend(&f, "O2", T1, "30", "K3");
    f.ok(command(
        "adjust",
        "j1",
        "platform",
        T1,
        json!({"party": "customer:C1", "direction": "compensate", "amount": "25", "reason": "outage"}),
    ));
    assert_eq!((f.allocated("customer:C1"), f.cash("customer:C1")), ("300.00".to_owned(), "25.00".to_owned()));
    f
}

// ---- unbind ----

#[test]
fn unbinding_a_resale_customer_reclaims_its_allocated_and_usable_coupons() {
    let f = resale_customer_with_value();
    let response = f.send(unbind("u1", "partner:D1", T2, "C1"));
    let result = changed("C1", json!(null), "300.00", &["K1"]);
    assert_eq!(response, json!({"id": "u1", "ok": true, "seq": 24, "duplicate": false, "result": result}));
    // The partner's funds went back; the compensation is the customer's own and stays.
    assert_eq!((f.allocated("customer:C1"), f.cash("customer:C1")), ("0.00".to_owned(), "25.00".to_owned()));
    assert_eq!(f.cash("partner:D1"), "9000.00");
    let record = json!({"seq": 24, "at": T2, "transfer": "u1", "operation": "unbind_reclaim", "partner": "D1", "target": "customer:C1",
        "amount": "300.00", "memo": null});
    assert_eq!(reclaim_records(&f), json!({"total_count": 1, "records": [record]}));
    // Only the usable coupon went back; the inactive and the used one stay as they were.
    let expected = [("K1", "0.00", "reclaimed"), ("K2", "20.00", "inactive"), ("K3", "0.00", "used")];
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&expected));
    assert_eq!(quotas_at(&f, "partner:D1", T2), triples(&[("QD1", "900.00", "normal")]));
    // C1 is on its own now.
    let error = refused(&f, unbind("u2", "platform", T3, "C1"), "association_state");
    assert_eq!(error["cbc"], "CBC.0155");
    refused(&f, allocate("a2", "partner:D1", T3, "customer:C1", "1"), "not_your_customer");
    assert_eq!(f.ok(recharge("r1", T3, "customer:C1", "5")), json!({"arrears_repaid": "0.00", "cash": "5.00"}));
    assert_eq!(f.cash("customer:C1"), "30.00");
    assert_eq!(money_total(&f), 0);
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn debt_stays_with_an_unbound_customer() {
    let f = Fixture::with_cast();
    assert_eq!(f.ok(consume("c1", T1, "C1", "40"))["debt"], "40.00");
    assert_eq!(f.ok(unbind("u1", "platform", T2, "C1")), changed("C1", json!(null), "0.00", &[]));
    assert_eq!(f.balance("customer:C1")["arrears"], "40.00");
    assert_eq!(f.cash("partner:D1"), "9000.00");
    assert_eq!(reclaim_records(&f), json!({"total_count": 0, "records": []}));
    // The debt is no longer D1's resale customer's: D1 may withdraw all of its cash.
    let request =
        command("request_withdrawal", "w1", "partner:D1", T2, json!({"withdrawal": "W1", "party": "partner:D1", "amount": "9000"}));
    assert_eq!(f.ok(request), json!({"withdrawal": "W1", "status": "pending"}));
}

#[test]
fn unbinding_a_referral_customer_reclaims_nothing() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    assert_eq!(f.ok(unbind("u1", "partner:D1", T2, "CR")), changed("CR", json!(null), "0.00", &[]));
    assert_eq!((f.cash("customer:CR"), f.cash("partner:D1")), ("100.00".to_owned(), "9000.00".to_owned()));
    assert_eq!(reclaim_records(&f), json!({"total_count": 0, "records": []}));
    refused(&f, unbind("u2", "partner:D1", T2, "CR"), "access_denied");
}

#[test]
fn unbind_refusals_change_nothing() {
    let f = resale_customer_with_value();
    refused(&f, unbind("u1", "platform", T2, "C4"), "association_state");
    refused(&f, unbind("u2", "partner:D2", T2, "C1"), "access_denied");
    refused(&f, unbind("u3", "customer:C1", T2, "C1"), "access_denied");
    refused(&f, unbind("u4", "partner:D1", T2, "C4"), "access_denied");
    refused(&f, unbind("u5", "partner:R1", T2, "C1"), "access_denied");
    refused(&f, unbind("u6", "platform", T2, "X"), "not_found");
    refused(&f, unbind("u7", "platform", T2, "C 1"), "invalid_id");
    // The parent distributor may unbind its reseller's customer.
    assert_eq!(f.ok(unbind("u8", "partner:D1", T2, "C2")), changed("C2", json!(null), "0.00", &[]));
}

// ---- switch_association ----

#[test]
fn switching_to_referral_reclaims_and_keeps_the_association() {
    let f = resale_customer_with_value();
    assert_eq!(f.ok(switch("s1", "partner:D1", T2, "C1", "referral")), changed("C1", json!("referral"), "300.00", &["K1"]));
    assert_eq!((f.allocated("customer:C1"), f.cash("customer:C1")), ("0.00".to_owned(), "25.00".to_owned()));
    assert_eq!(f.cash("partner:D1"), "9000.00");
    let records = reclaim_records(&f);
    assert_eq!((records["total_count"].clone(), records["records"][0]["amount"].clone()), (json!(1), json!("300.00")));
    assert_eq!(coupons_at(&f, "customer:C1", T2)[0], triples(&[("K1", "0.00", "reclaimed")])[0]);
    // Still D1's customer, now paying for itself.
    refused(&f, allocate("a2", "partner:D1", T3, "customer:C1", "1"), "not_resale_customer");
    assert_eq!(f.ok(recharge("r1", T3, "customer:C1", "5"))["cash"], "5.00");
    // A referral customer's balance is its own business (SPEC 2.1, v2): not its partner's to read.
    let balance = f.send(json!({"op": "balance", "actor": "partner:D1", "party": "customer:C1"}));
    assert_eq!(balance["error"]["code"], "access_denied");
    assert_eq!(f.cash("customer:C1"), "30.00");
    let error = refused(&f, switch("s2", "partner:D1", T3, "C1", "referral"), "association_state");
    assert_eq!(error["cbc"], "CBC.0155");
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn switching_to_resale_needs_no_arrears_no_credit_but_keeps_own_cash() {
    let f = Fixture::with_cast();
    let to_resale = |id: &str| switch(id, "partner:D1", T2, "CR", "resale");
    assert_eq!(f.ok(consume("c1", T1, "CR", "5"))["debt"], "5.00");
    let error = refused(&f, to_resale("s1"), "association_blocked");
    assert_eq!(error["cbc"], "CBC.0155");
    assert_eq!(f.ok(recharge("r1", T1, "customer:CR", "15")), json!({"arrears_repaid": "5.00", "cash": "10.00"}));
    f.ok(credit_limit("l1", T1, "customer:CR", "20"));
    assert_eq!(f.ok(consume("c2", T1, "CR", "30"))["credit"], "20.00");
    // Credit in use blocks; so does a credit limit once the credit is repaid (SPEC v2 item 7).
    refused(&f, to_resale("s2"), "association_blocked");
    f.ok(recharge("r2", T1, "customer:CR", "40"));
    f.ok(command("repay_credit", "p1", "platform", T1, json!({"party": "customer:CR", "amount": "20"})));
    refused(&f, to_resale("s3"), "association_blocked");
    f.ok(credit_limit("l2", T1, "customer:CR", "0"));
    // Its own 20.00 of cash does not block: it stays its own.
    assert_eq!(f.cash("customer:CR"), "20.00");
    assert_eq!(f.ok(to_resale("s4")), changed("CR", json!("resale"), "0.00", &[]));
    assert_eq!(f.ok(allocate("a1", "partner:D1", T2, "customer:CR", "7")), json!({"transfer": "a1"}));
    assert_eq!((f.allocated("customer:CR"), f.cash("customer:CR")), ("7.00".to_owned(), "20.00".to_owned()));
    refused(&f, recharge("r4", T2, "customer:CR", "1"), "resale_customer");
    // The partner takes back only what it allocated.
    refused(&f, command("recover", "v1", "partner:D1", T2, json!({"from": "customer:CR", "amount": "7.01"})), "insufficient_funds");
    // A customer's own money held under a partner: allocated is spent before cash.
    f.ok(place_order("o1", "customer:CR", T2, "O1", "CR", "10"));
    let paid = f.ok(pay_order("p2", "customer:CR", T2, "O1", &[]));
    let row = json!({"order": "O1", "due": "10.00", "discount": "0.00",
        "coupon": "0.00", "allocated": "7.00", "cash": "3.00", "credit": "0.00"});
    assert_eq!(paid["paid"][0], row);
}

#[test]
fn a_usable_coupon_blocks_switching_to_resale_but_an_inactive_one_does_not() {
    let f = with_quota();
    late_coupon(&f, "k1", "K1");
    // K1 is not usable yet, so switching to referral leaves it with the customer...
    assert_eq!(f.ok(switch("s1", "partner:D1", T1, "C1", "referral")), changed("C1", json!("referral"), "0.00", &[]));
    // ...and it does not block a way back while inactive.
    assert_eq!(f.ok(switch("s2", "partner:D1", T2, "C1", "resale")), changed("C1", json!("resale"), "0.00", &[]));
    f.ok(switch("s3", "partner:D1", T3, "C1", "referral"));
    assert_eq!(coupons_at(&f, "customer:C1", MARCH), triples(&[("K1", "20.00", "usable")]));
    refused(&f, switch("s4", "partner:D1", MARCH, "C1", "resale"), "association_blocked");
}

#[test]
fn switch_association_refusals_change_nothing() {
    let f = resale_customer_with_value();
    refused(&f, switch("s1", "platform", T2, "C1", "referral"), "access_denied");
    refused(&f, switch("s2", "partner:D2", T2, "C1", "referral"), "access_denied");
    refused(&f, switch("s3", "customer:C1", T2, "C1", "referral"), "access_denied");
    refused(&f, switch("s4", "partner:D1", T2, "C4", "referral"), "access_denied");
    refused(&f, switch("s5", "partner:D1", T2, "C1", "resale"), "association_state");
    refused(&f, switch("s6", "partner:D1", T2, "C1", "bogus"), "invalid_request");
    refused(&f, switch("s7", "partner:D1", SETUP_AT, "C1", "referral"), "time_went_backwards");
}

// ---- associate ----

#[test]
fn associate_as_resale_is_blocked_by_a_usable_coupon_but_not_by_own_cash() {
    let f = with_quota();
    late_coupon(&f, "k1", "K1");
    assert_eq!(f.ok(unbind("u1", "partner:D1", T1, "C1")), changed("C1", json!(null), "0.00", &[]));
    let error = refused(&f, associate("a1", MARCH, "C1", "D2", "resale"), "association_blocked");
    assert_eq!(error["cbc"], "CBC.0155");
    // Before March the coupon is inactive and does not block.
    assert_eq!(f.ok(associate("a2", T2, "C1", "D2", "resale")), json!({"customer": "C1", "partner": "D2", "association": "resale"}));
    refused(&f, associate("a3", T2, "C1", "S1", "referral"), "association_state");
    f.ok(recharge("r1", T2, "customer:C4", "1"));
    f.ok(credit_limit("l1", T2, "customer:C4", "5"));
    refused(&f, associate("a4", T2, "C4", "D1", "resale"), "association_blocked");
    f.ok(credit_limit("l2", T2, "customer:C4", "0"));
    assert_eq!(f.ok(associate("a5", T2, "C4", "D1", "resale")), json!({"customer": "C4", "partner": "D1", "association": "resale"}));
    assert_eq!((f.cash("customer:C4"), f.allocated("customer:C4")), ("1.00".to_owned(), "0.00".to_owned()));
    // Its own cash is still its own: the partner cannot recover it.
    refused(&f, command("recover", "v1", "partner:D1", T2, json!({"from": "customer:C4", "amount": "1"})), "insufficient_funds");
    refused(&f, associate("a6", T2, "C4", "S1", "referral"), "association_state");
}

/// docs/decisions.md: an unbound customer joins the customers of no partner, whose external ids
/// are unique too; an unbind that would give two of them one external id is refused, last.
#[test]
fn an_unbind_that_would_repeat_an_external_id_is_refused_and_changes_nothing() {
    let f = Fixture::new();
    f.ok(command("register_partner", "p", "platform", T1, json!({"partner": "D1", "kind": "distributor"})));
    f.ok(command("register_customer", "c1", "platform", T1, json!({"customer": "C1", "partner": "D1", "external_id": "ext-1"})));
    f.ok(command("register_customer", "c2", "platform", T1, json!({"customer": "C2", "external_id": "ext-1"})));
    refused(&f, unbind("u1", "platform", T2, "X"), "not_found");
    f.fails(unbind("u2", "platform", T2, "C1"), "already_exists");
    f.ok(command("register_customer", "c3", "platform", T1, json!({"customer": "C3", "partner": "D1", "external_id": "ext-3"})));
    assert_eq!(f.ok(unbind("u3", "platform", T2, "C3")), changed("C3", json!(null), "0.00", &[]));
}
