//! Withdrawals (SPEC 3 "Withdrawals", 4 `withdrawals`): a request holds cash (still in `cash`, no
//! longer available), approval pays it out to `bank`, rejection releases it, only a rejected one
//! can be deleted, resale customers never withdraw and a partner keeps back its resale customers' debt.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";

fn request(id: &str, actor: &str, withdrawal: &str, party: &str, amount: &str) -> Value {
    command("request_withdrawal", id, actor, T1, json!({"withdrawal": withdrawal, "party": party, "amount": amount}))
}

fn approve(id: &str, actor: &str, withdrawal: &str) -> Value {
    command("approve_withdrawal", id, actor, T2, json!({"withdrawal": withdrawal}))
}

fn reject(id: &str, actor: &str, withdrawal: &str) -> Value {
    command("reject_withdrawal", id, actor, T2, json!({"withdrawal": withdrawal, "reason": "bank account closed"}))
}

fn delete(id: &str, actor: &str, withdrawal: &str) -> Value {
    command("delete_withdrawal", id, actor, T2, json!({"withdrawal": withdrawal}))
}

fn status(withdrawal: &str, value: &str) -> Value {
    json!({"withdrawal": withdrawal, "status": value})
}

/// `(cash, held, available)` of `party`.
fn held(f: &Fixture, party: &str) -> Value {
    let balance = f.balance(party);
    json!([balance["cash"], balance["held"], balance["available"]])
}

fn listing(f: &Fixture, party: &str) -> Value {
    f.ok(json!({"op": "withdrawals", "actor": "platform", "party": party}))
}

/// CR (referral) holds 100.00 and has asked to withdraw 60.00 as W1 (seq 15).
fn pending() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    let response = f.send(request("w1", "customer:CR", "W1", "customer:CR", "60"));
    assert_eq!(response, json!({"id": "w1", "ok": true, "seq": 15, "duplicate": false, "result": status("W1", "pending")}));
    f
}

#[test]
fn a_request_holds_the_amount_without_moving_it() {
    let f = pending();
    assert_eq!(held(&f, "customer:CR"), json!(["100.00", "60.00", "40.00"]));
    assert_eq!(platform(&f)["bank"], "-30100.00");
    let error = refused(&f, request("w2", "customer:CR", "W2", "customer:CR", "40.01"), "insufficient_funds");
    assert_eq!(error["cbc"], "CBC.99005003");
    assert_eq!(f.ok(request("w3", "customer:CR", "W3", "customer:CR", "40")), status("W3", "pending"));
    assert_eq!(held(&f, "customer:CR"), json!(["100.00", "100.00", "0.00"]));
    // A partner's held cash cannot be allocated either.
    assert_eq!(f.ok(request("w4", "partner:D1", "W4", "partner:D1", "8000")), status("W4", "pending"));
    refused(&f, allocate("a1", "partner:D1", T1, "customer:C1", "1000.01"), "insufficient_funds");
    f.ok(allocate("a2", "partner:D1", T1, "customer:C1", "1000"));
    assert_eq!(held(&f, "partner:D1"), json!(["8000.00", "8000.00", "0.00"]));
}

#[test]
fn approval_pays_the_held_amount_out_to_the_bank() {
    let f = pending();
    assert_eq!(f.ok(approve("a1", "platform", "W1")), status("W1", "approved"));
    assert_eq!(held(&f, "customer:CR"), json!(["40.00", "0.00", "40.00"]));
    assert_eq!(platform(&f)["bank"], "-30040.00");
    let statement = f.ok(json!({"op": "statement", "actor": "platform", "party": "customer:CR"}));
    let line = &statement["lines"][1];
    assert_eq!(
        json!([line["op"], line["amount"], line["balance_after"], line["counterparty"]]),
        json!(["approve_withdrawal", "-60.00", "40.00", "platform"])
    );
    let error = refused(&f, approve("a2", "platform", "W1"), "withdrawal_state");
    assert_eq!(error["cbc"], "CBC.0155");
    refused(&f, reject("j1", "platform", "W1"), "withdrawal_state");
    refused(&f, delete("d1", "customer:CR", "W1"), "withdrawal_state");
    assert_eq!(money_total(&f), 0);
}

#[test]
fn approval_and_rejection_are_the_platforms() {
    let f = pending();
    refused(&f, approve("a1", "customer:CR", "W1"), "access_denied");
    refused(&f, approve("a2", "partner:D1", "W1"), "access_denied");
    refused(&f, reject("j1", "customer:CR", "W1"), "access_denied");
    refused(&f, reject("j2", "partner:D1", "W1"), "access_denied");
    refused(&f, approve("a3", "platform", "WX"), "not_found");
    refused(&f, reject("j3", "platform", "WX"), "not_found");
    refused(&f, with(reject("j4", "platform", "W1"), json!({"reason": "x".repeat(257)})), "invalid_request");
    assert_eq!(held(&f, "customer:CR"), json!(["100.00", "60.00", "40.00"]));
}

#[test]
fn rejection_releases_the_held_amount() {
    let f = pending();
    assert_eq!(f.ok(reject("j1", "platform", "W1")), status("W1", "rejected"));
    assert_eq!(held(&f, "customer:CR"), json!(["100.00", "0.00", "100.00"]));
    assert_eq!(platform(&f)["bank"], "-30100.00");
    let record = json!({"withdrawal": "W1", "party": "customer:CR", "amount": "60.00", "status": "rejected", "at": T1, "reason": "bank account closed"});
    assert_eq!(listing(&f, "customer:CR"), json!({"total_count": 1, "withdrawals": [record]}));
    refused(&f, reject("j2", "platform", "W1"), "withdrawal_state");
    refused(&f, approve("a1", "platform", "W1"), "withdrawal_state");
    // The released cash is available again.
    let again = with(request("w2", "customer:CR", "W2", "customer:CR", "100"), json!({"at": T2}));
    assert_eq!(f.ok(again), status("W2", "pending"));
}

#[test]
fn only_a_rejected_withdrawal_is_deleted_and_it_leaves_the_listing() {
    let f = pending();
    f.ok(request("w2", "customer:CR", "W2", "customer:CR", "10"));
    f.ok(request("w3", "customer:CR", "W3", "customer:CR", "20"));
    f.ok(reject("j1", "platform", "W1"));
    f.ok(approve("a3", "platform", "W3"));
    refused(&f, delete("d1", "customer:CR", "W2"), "withdrawal_state");
    refused(&f, delete("d2", "customer:CR", "W3"), "withdrawal_state");
    refused(&f, delete("d3", "platform", "W1"), "access_denied");
    refused(&f, delete("d4", "partner:D1", "W1"), "access_denied");
    refused(&f, delete("d5", "customer:CR", "WX"), "not_found");
    assert_eq!(f.ok(delete("d6", "customer:CR", "W1")), status("W1", "deleted"));
    let shown = listing(&f, "customer:CR");
    let ids: Vec<Value> =
        shown["withdrawals"].as_array().expect("withdrawals").iter().map(|w| json!([w["withdrawal"], w["status"]])).collect();
    assert_eq!((shown["total_count"].clone(), ids), (json!(2), vec![json!(["W2", "pending"]), json!(["W3", "approved"])]));
    refused(&f, delete("d7", "customer:CR", "W1"), "withdrawal_state");
    // The id stays taken.
    refused(&f, with(request("w4", "customer:CR", "W1", "customer:CR", "1"), json!({"at": T2})), "already_exists");
    assert_eq!(held(&f, "customer:CR"), json!(["80.00", "10.00", "70.00"]));
}

#[test]
fn resale_customers_cannot_withdraw() {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "100"));
    let error = refused(&f, request("w1", "customer:C1", "W1", "customer:C1", "10"), "resale_customer");
    assert_eq!(error["cbc"], "CBC.0155");
    refused(&f, request("w2", "customer:C2", "W2", "customer:C2", "10"), "resale_customer");
    // The customer's partner cannot withdraw the customer's cash either.
    refused(&f, request("w3", "partner:D1", "W3", "customer:C1", "10"), "access_denied");
    assert_eq!(held(&f, "customer:C1"), json!(["100.00", "0.00", "100.00"]));
}

#[test]
fn a_partner_keeps_back_the_debt_of_its_resale_customers() {
    let f = Fixture::with_cast();
    f.ok(consume("u1", T1, "C1", "100"));
    f.ok(consume("u2", T1, "CR", "50"));
    f.ok(consume("u3", T1, "C2", "30"));
    // D1 has 9000.00; its resale customer C1 owes 100.00 (the referral CR's debt does not count).
    refused(&f, request("w1", "partner:D1", "W1", "partner:D1", "8900.01"), "insufficient_funds");
    assert_eq!(f.ok(request("w2", "partner:D1", "W2", "partner:D1", "8900")), status("W2", "pending"));
    assert_eq!(held(&f, "partner:D1"), json!(["9000.00", "8900.00", "100.00"]));
    // R1 has 1000.00; its resale customer C2 owes 30.00.
    refused(&f, request("w3", "partner:R1", "W3", "partner:R1", "970.01"), "insufficient_funds");
    assert_eq!(f.ok(request("w4", "partner:R1", "W4", "partner:R1", "970")), status("W4", "pending"));
    // A partner without customers may withdraw everything.
    assert_eq!(f.ok(request("w5", "partner:D2", "W5", "partner:D2", "10000")), status("W5", "pending"));
}

#[test]
fn only_the_party_itself_requests_a_withdrawal() {
    let f = pending();
    refused(&f, request("w1", "platform", "W2", "customer:CR", "1"), "access_denied");
    refused(&f, request("w2", "partner:D1", "W2", "customer:CR", "1"), "access_denied");
    refused(&f, request("w3", "partner:D1", "W2", "partner:R1", "1"), "access_denied");
    refused(&f, request("w4", "customer:CR", "W2", "partner:D1", "1"), "access_denied");
    refused(&f, request("w5", "customer:X", "W2", "customer:X", "1"), "access_denied");
    refused(&f, request("w6", "customer:CR", "W2", "platform", "1"), "invalid_request");
    refused(&f, request("w7", "customer:CR", "W2", "customer:CR", "0"), "invalid_amount");
    refused(&f, request("w8", "customer:CR", "W1", "customer:CR", "1"), "already_exists");
}

#[test]
fn the_withdrawals_query_lists_oldest_first_with_paging_and_scope() {
    let f = pending();
    f.ok(request("w2", "customer:CR", "W2", "customer:CR", "10"));
    f.ok(request("w3", "customer:CR", "W3", "customer:CR", "20"));
    let first = json!({"withdrawal": "W1", "party": "customer:CR", "amount": "60.00", "status": "pending", "at": T1, "reason": null});
    let all = listing(&f, "customer:CR");
    assert_eq!((all["total_count"].clone(), all["withdrawals"][0].clone()), (json!(3), first));
    let page = f.ok(json!({"op": "withdrawals", "actor": "partner:D1", "party": "customer:CR", "offset": 1, "limit": 1}));
    assert_eq!((page["total_count"].clone(), page["withdrawals"][0]["withdrawal"].clone()), (json!(3), json!("W2")));
    assert_eq!(listing(&f, "partner:D1"), json!({"total_count": 0, "withdrawals": []}));
    let denied = f.send(json!({"op": "withdrawals", "actor": "customer:C4", "party": "customer:CR"}));
    assert_eq!(denied["error"]["code"], "access_denied");
    let bad = f.send(json!({"op": "withdrawals", "actor": "platform", "party": "customer:CR", "limit": 101}));
    assert_eq!(bad["error"]["code"], "invalid_request");
}
