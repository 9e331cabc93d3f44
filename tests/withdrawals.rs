//! Withdrawals (SPEC 3 "Withdrawals", 4 `withdrawals`): a request holds cash (still in `cash`, no
//! longer available), approval pays it out to `bank`, rejection releases it, only a rejected one
//! can be deleted, a party has at most one pending withdrawal, a partner (or its finance operator)
//! keeps back its resale customers' debt, over-invoiced money is kept back, and resale customers
//! withdraw their own cash but never their `allocated` funds.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";

fn request_at(id: &str, actor: &str, at: &str, withdrawal: &str, party: &str, amount: &str) -> Value {
    command("request_withdrawal", id, actor, at, json!({"withdrawal": withdrawal, "party": party, "amount": amount}))
}

fn request(id: &str, actor: &str, withdrawal: &str, party: &str, amount: &str) -> Value {
    request_at(id, actor, T1, withdrawal, party, amount)
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

fn compensate(id: &str, at: &str, party: &str, amount: &str) -> Value {
    command("adjust", id, "platform", at, json!({"party": party, "direction": "compensate", "amount": amount, "reason": "goodwill"}))
}

fn invoice(id: &str, actor: &str, at: &str, party: &str, amount: &str) -> Value {
    command("request_invoice", id, actor, at, json!({"invoice": id, "party": party, "amount": amount}))
}

fn status(withdrawal: &str, value: &str) -> Value {
    json!({"withdrawal": withdrawal, "status": value})
}

/// `(cash, held, available)` of `party`.
fn held(f: &Fixture, party: &str) -> Value {
    let balance = f.balance(party);
    json!([balance["cash"], balance["held"], balance["available"]])
}

/// `(withdrawable, over_invoiced)` of `party`.
fn withdrawable(f: &Fixture, party: &str) -> Value {
    let balance = f.balance(party);
    json!([balance["withdrawable"], balance["over_invoiced"]])
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
    assert_eq!(withdrawable(&f, "customer:CR"), json!(["40.00", "0.00"]));
    assert_eq!(platform(&f)["bank"], "-30100.00");
    // A partner's held cash cannot be allocated either.
    assert_eq!(f.ok(request("w4", "partner:D1", "W4", "partner:D1", "8000")), status("W4", "pending"));
    refused(&f, allocate("a1", "partner:D1", T1, "customer:C1", "1000.01"), "insufficient_funds");
    f.ok(allocate("a2", "partner:D1", T1, "customer:C1", "1000"));
    assert_eq!(held(&f, "partner:D1"), json!(["8000.00", "8000.00", "0.00"]));
    // Once W1 is paid out, what is left is all that may be withdrawn.
    f.ok(approve("a3", "platform", "W1"));
    let error = refused(&f, request_at("w5", "customer:CR", T2, "W5", "customer:CR", "40.01"), "insufficient_funds");
    assert_eq!(error["cbc"], "CBC.99005003");
    assert_eq!(f.ok(request_at("w6", "customer:CR", T2, "W6", "customer:CR", "40")), status("W6", "pending"));
    assert_eq!(held(&f, "customer:CR"), json!(["40.00", "40.00", "0.00"]));
    assert_eq!(withdrawable(&f, "customer:CR"), json!(["0.00", "0.00"]));
}

#[test]
fn a_party_has_at_most_one_pending_withdrawal() {
    let f = pending();
    let error = refused(&f, request("w2", "customer:CR", "W2", "customer:CR", "10"), "withdrawal_state");
    assert_eq!(error["cbc"], "CBC.0155");
    // Precedence: the id first, then the pending one, before time and funds.
    refused(&f, request("w3", "customer:CR", "W1", "customer:CR", "10"), "already_exists");
    refused(&f, request_at("w4", "customer:CR", SETUP_AT, "W2", "customer:CR", "10"), "withdrawal_state");
    refused(&f, request("w5", "customer:CR", "W2", "customer:CR", "1000"), "withdrawal_state");
    // Other parties are not held up.
    assert_eq!(f.ok(request("w6", "partner:D1", "W6", "partner:D1", "10")), status("W6", "pending"));
    // Once rejected (or approved), the party may ask again.
    f.ok(reject("j1", "platform", "W1"));
    assert_eq!(f.ok(request_at("w7", "customer:CR", T2, "W2", "customer:CR", "10")), status("W2", "pending"));
    f.ok(approve("a2", "platform", "W2"));
    assert_eq!(f.ok(request_at("w8", "customer:CR", T2, "W3", "customer:CR", "90")), status("W3", "pending"));
    assert_eq!(held(&f, "customer:CR"), json!(["90.00", "90.00", "0.00"]));
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
        json!([line["op"], line["request"], line["amount"], line["balance_after"], line["counterparty"]]),
        json!(["approve_withdrawal", "a1", "-60.00", "40.00", "platform"])
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
    assert_eq!(f.ok(request_at("w2", "customer:CR", T2, "W2", "customer:CR", "100")), status("W2", "pending"));
}

#[test]
fn only_a_rejected_withdrawal_is_deleted_and_it_leaves_the_listing() {
    let f = pending();
    f.ok(reject("j1", "platform", "W1"));
    f.ok(request_at("w2", "customer:CR", T2, "W2", "customer:CR", "10"));
    f.ok(approve("a2", "platform", "W2"));
    f.ok(request_at("w3", "customer:CR", T2, "W3", "customer:CR", "20"));
    refused(&f, delete("d1", "customer:CR", "W3"), "withdrawal_state");
    refused(&f, delete("d2", "customer:CR", "W2"), "withdrawal_state");
    refused(&f, delete("d3", "platform", "W1"), "access_denied");
    refused(&f, delete("d4", "partner:D1", "W1"), "access_denied");
    refused(&f, delete("d5", "customer:CR", "WX"), "not_found");
    assert_eq!(f.ok(delete("d6", "customer:CR", "W1")), status("W1", "deleted"));
    let shown = listing(&f, "customer:CR");
    let ids: Vec<Value> =
        shown["withdrawals"].as_array().expect("withdrawals").iter().map(|w| json!([w["withdrawal"], w["status"]])).collect();
    assert_eq!((shown["total_count"].clone(), ids), (json!(2), vec![json!(["W2", "approved"]), json!(["W3", "pending"])]));
    refused(&f, delete("d7", "customer:CR", "W1"), "withdrawal_state");
    // The id stays taken.
    refused(&f, request_at("w4", "customer:CR", T2, "W1", "customer:CR", "1"), "already_exists");
    assert_eq!(held(&f, "customer:CR"), json!(["90.00", "20.00", "70.00"]));
}

#[test]
fn resale_customers_withdraw_their_own_cash_but_never_allocated_funds() {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "100"));
    // Allocated funds are D1's: none of them may be withdrawn.
    let error = refused(&f, request("w1", "customer:C1", "W1", "customer:C1", "0.01"), "insufficient_funds");
    assert_eq!(error["cbc"], "CBC.99005003");
    refused(&f, request("w2", "customer:C2", "W2", "customer:C2", "10"), "insufficient_funds");
    // C1 spends 60.00 of allocated funds (a bill of 60.00 it may invoice) and is compensated
    // 30.00 of its own.
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "60"));
    f.ok(pay_order("p1", "customer:C1", T1, "O1", &[]));
    f.ok(compensate("c1", T1, "customer:C1", "30"));
    let balance = f.balance("customer:C1");
    assert_eq!(json!([balance["allocated"], balance["cash"], balance["available"]]), json!(["40.00", "30.00", "30.00"]));
    assert_eq!(withdrawable(&f, "customer:C1"), json!(["30.00", "0.00"]));
    refused(&f, request("w3", "customer:C1", "W3", "customer:C1", "30.01"), "insufficient_funds");
    // The customer's partner cannot withdraw the customer's cash.
    refused(&f, request("w4", "partner:D1", "W4", "customer:C1", "10"), "access_denied");
    assert_eq!(f.ok(request("w5", "customer:C1", "W5", "customer:C1", "30")), status("W5", "pending"));
    assert_eq!(held(&f, "customer:C1"), json!(["30.00", "30.00", "0.00"]));
    f.ok(approve("a5", "platform", "W5"));
    assert_eq!(held(&f, "customer:C1"), json!(["0.00", "0.00", "0.00"]));
    assert_eq!(f.allocated("customer:C1"), "40.00");
    assert_eq!(money_total(&f), 0);
}

#[test]
fn over_invoiced_money_is_not_withdrawable() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    f.ok(place_order("o1", "customer:CR", T1, "O1", "CR", "40"));
    f.ok(pay_order("p1", "customer:CR", T1, "O1", &[]));
    f.ok(invoice("I1", "customer:CR", T1, "customer:CR", "40"));
    // An invoiced order cannot be refunded; money given back after invoicing is a compensation.
    refused(&f, command("unsubscribe", "u1", "customer:CR", T1, json!({"order": "O1", "refund": "40"})), "already_invoiced");
    f.ok(compensate("c1", T1, "customer:CR", "25"));
    let items = f.ok(json!({"op": "invoiceable", "actor": "platform", "party": "customer:CR"}));
    assert_eq!(items["total"], "-25.00");
    // 85.00 of cash, of which 25.00 was invoiced but given back.
    assert_eq!(held(&f, "customer:CR"), json!(["85.00", "0.00", "85.00"]));
    assert_eq!(withdrawable(&f, "customer:CR"), json!(["60.00", "25.00"]));
    refused(&f, request("w1", "customer:CR", "W1", "customer:CR", "60.01"), "insufficient_funds");
    assert_eq!(f.ok(request("w2", "customer:CR", "W2", "customer:CR", "60")), status("W2", "pending"));
    // Returning the invoice makes O1 invoiceable again: nothing is over-invoiced any more.
    f.ok(command("return_invoice", "i2", "customer:CR", T2, json!({"invoice": "I1"})));
    assert_eq!(withdrawable(&f, "customer:CR"), json!(["25.00", "0.00"]));
    // A partner keeps back both its resale customers' debt and its own over-invoiced amount.
    f.ok(place_order("o3", "customer:C3", T2, "O3", "C3", "100"));
    f.ok(command("request_partner_payment", "r3", "customer:C3", T2, json!({"order": "O3"})));
    f.ok(command("pay_order", "p3", "partner:S1", T2, json!({"order": "O3", "payer": "partner"})));
    f.ok(invoice("I3", "partner:S1", T2, "partner:S1", "100"));
    f.ok(compensate("c3", T2, "partner:S1", "40"));
    f.ok(consume("u3", T2, "C3", "10"));
    // 9940.00 of cash, less C3's 10.00 of debt and 40.00 over-invoiced.
    assert_eq!(held(&f, "partner:S1"), json!(["9940.00", "0.00", "9940.00"]));
    assert_eq!(withdrawable(&f, "partner:S1"), json!(["9890.00", "40.00"]));
    refused(&f, request_at("w3", "partner:S1", T2, "W3", "partner:S1", "9890.01"), "insufficient_funds");
    assert_eq!(f.ok(request_at("w4", "partner:S1", T2, "W4", "partner:S1", "9890")), status("W4", "pending"));
    assert_eq!(withdrawable(&f, "partner:S1"), json!(["0.00", "40.00"]));
}

#[test]
fn a_partner_keeps_back_the_debt_of_its_resale_customers() {
    let f = Fixture::with_cast();
    f.ok(consume("u1", T1, "C1", "100"));
    f.ok(consume("u2", T1, "CR", "50"));
    f.ok(consume("u3", T1, "C2", "30"));
    // D1 has 9000.00; its resale customer C1 owes 100.00 (the referral CR's debt does not count,
    // nor does its reseller's customer C2's).
    assert_eq!(withdrawable(&f, "partner:D1"), json!(["8900.00", "0.00"]));
    refused(&f, request("w1", "partner:D1", "W1", "partner:D1", "8900.01"), "insufficient_funds");
    assert_eq!(f.ok(request("w2", "partner:D1", "W2", "partner:D1", "8900")), status("W2", "pending"));
    assert_eq!(held(&f, "partner:D1"), json!(["9000.00", "8900.00", "100.00"]));
    assert_eq!(withdrawable(&f, "partner:D1"), json!(["0.00", "0.00"]));
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
fn a_partners_admin_or_finance_operator_acts_for_it() {
    let f = Fixture::with_cast();
    for (id, operator, role) in [("op1", "F1", "finance"), ("op2", "A1", "admin"), ("op3", "M1", "customer_manager")] {
        f.ok(command("register_operator", id, "platform", T1, json!({"operator": operator, "partner": "D1", "roles": [role]})));
    }
    f.ok(recharge("r1", T1, "customer:C4", "10"));
    refused(&f, request("w1", "operator:M1", "W1", "partner:D1", "1"), "access_denied");
    // An operator acts for its partner only: not for its customers or resellers.
    refused(&f, request("w2", "operator:F1", "W1", "customer:C1", "1"), "access_denied");
    refused(&f, request("w3", "operator:F1", "W1", "partner:R1", "1"), "access_denied");
    refused(&f, request("w4", "operator:F1", "W1", "customer:C4", "1"), "access_denied");
    refused(&f, request("w5", "operator:F1", "W1", "partner:D1", "9000.01"), "insufficient_funds");
    assert_eq!(f.ok(request("w6", "operator:F1", "W1", "partner:D1", "9000")), status("W1", "pending"));
    assert_eq!(held(&f, "partner:D1"), json!(["9000.00", "9000.00", "0.00"]));
    // The operators' requests are their partner's: one pending at a time.
    refused(&f, request("w7", "operator:A1", "W2", "partner:D1", "1"), "withdrawal_state");
    refused(&f, approve("a1", "operator:A1", "W1"), "access_denied");
    f.ok(reject("j1", "platform", "W1"));
    refused(&f, delete("d1", "operator:M1", "W1"), "access_denied");
    assert_eq!(f.ok(delete("d2", "operator:F1", "W1")), status("W1", "deleted"));
    let shown = f.ok(json!({"op": "withdrawals", "actor": "operator:F1", "party": "partner:D1"}));
    assert_eq!(shown, json!({"total_count": 0, "withdrawals": []}));
    assert_eq!(f.ok(request_at("w8", "operator:A1", T2, "W2", "partner:D1", "100")), status("W2", "pending"));
}

#[test]
fn the_withdrawals_query_lists_oldest_first_with_paging_and_scope() {
    let f = pending();
    f.ok(reject("j1", "platform", "W1"));
    f.ok(request_at("w2", "customer:CR", T2, "W2", "customer:CR", "10"));
    f.ok(approve("a2", "platform", "W2"));
    f.ok(request_at("w3", "customer:CR", T2, "W3", "customer:CR", "20"));
    let first = json!({"withdrawal": "W1", "party": "customer:CR", "amount": "60.00", "status": "rejected", "at": T1,
        "reason": "bank account closed"});
    let all = listing(&f, "customer:CR");
    assert_eq!((all["total_count"].clone(), all["withdrawals"][0].clone()), (json!(3), first));
    let page = f.ok(json!({"op": "withdrawals", "actor": "customer:CR", "party": "customer:CR", "offset": 1, "limit": 1}));
    assert_eq!((page["total_count"].clone(), page["withdrawals"][0]["withdrawal"].clone()), (json!(3), json!("W2")));
    assert_eq!(page["withdrawals"][0]["reason"], json!(null));
    assert_eq!(listing(&f, "partner:D1"), json!({"total_count": 0, "withdrawals": []}));
    // A partner reads its resale customers' withdrawals, not its referral customers' (v2).
    let resale = f.ok(json!({"op": "withdrawals", "actor": "partner:D1", "party": "customer:C1"}));
    assert_eq!(resale, json!({"total_count": 0, "withdrawals": []}));
    let referral = f.send(json!({"op": "withdrawals", "actor": "partner:D1", "party": "customer:CR"}));
    assert_eq!(referral["error"]["code"], "access_denied");
    let denied = f.send(json!({"op": "withdrawals", "actor": "customer:C4", "party": "customer:CR"}));
    assert_eq!(denied["error"]["code"], "access_denied");
    let bad = f.send(json!({"op": "withdrawals", "actor": "platform", "party": "customer:CR", "limit": 101}));
    assert_eq!(bad["error"]["code"], "invalid_request");
}
