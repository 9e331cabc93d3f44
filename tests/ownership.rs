//! Whose money is whose (SPEC v2 1.3, 2.1, 3): a customer's `allocated` holds its partner's funds
//! and `cash` its own; a partner takes back only `allocated`, a refund returns each part to where
//! it came from (a former partner's allocation to that partner, `refund_reclaim`), and a partner's
//! reach over a referral customer stops at its consumption.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";
const T3: &str = "2026-01-07T10:00:00Z";

fn compensate(id: &str, at: &str, party: &str, amount: &str) -> Value {
    command("adjust", id, "platform", at, json!({"party": party, "direction": "compensate", "amount": amount, "reason": "outage"}))
}

fn recover(id: &str, actor: &str, at: &str, from: &str, amount: &str) -> Value {
    command("recover", id, actor, at, json!({"from": from, "amount": amount}))
}

fn unsubscribe(id: &str, at: &str, order: &str, refund: &str) -> Value {
    command("unsubscribe", id, "customer:C1", at, json!({"order": order, "refund": refund}))
}

fn reclaims(f: &Fixture) -> Value {
    f.ok(json!({"op": "adjust_records", "actor": "platform", "operation": "refund_reclaim"}))
}

/// C1 (resale of D1) holds 100.00 allocated and 30.00 of its own (a compensation), and paid order
/// O1 of 120.00 from both: 100.00 allocated, then 20.00 cash.
fn paid_from_both() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "100"));
    f.ok(compensate("j1", T1, "customer:C1", "30"));
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "120"));
    let paid = f.ok(pay_order("p1", "customer:C1", T1, "O1", &[]));
    let row = json!({"order": "O1", "due": "120.00", "discount": "0.00",
        "coupon": "0.00", "allocated": "100.00", "cash": "20.00", "credit": "0.00"});
    assert_eq!(paid["paid"][0], row);
    assert_eq!(f.ok(json!({"op": "order", "actor": "platform", "order": "O1"}))["paid"]["allocated"], "100.00");
    f
}

#[test]
fn a_compensation_to_a_resale_customer_cannot_be_taken_by_its_partner() {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "70"));
    // A bill of 60.00 paid from allocated, so the compensation below is not over-invoiced money.
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "60"));
    f.ok(pay_order("p1", "customer:C1", T1, "O1", &[]));
    assert_eq!(f.ok(compensate("j1", T1, "customer:C1", "25")), json!({"arrears_repaid": "0.00", "cash": "25.00"}));
    assert_eq!((f.allocated("customer:C1"), f.cash("customer:C1")), ("10.00".to_owned(), "25.00".to_owned()));
    let error = refused(&f, recover("v1", "partner:D1", T1, "customer:C1", "10.01"), "insufficient_funds");
    assert_eq!(error["cbc"], "CBC.99005003");
    f.ok(recover("v2", "partner:D1", T1, "customer:C1", "10"));
    refused(&f, recover("v3", "partner:D1", T1, "customer:C1", "0.01"), "insufficient_funds");
    // Nor by unbinding: only `allocated` (now empty) goes back.
    let unbound = f.ok(command("unbind", "u1", "partner:D1", T1, json!({"customer": "C1"})));
    assert_eq!(unbound["reclaimed_allocated"], "0.00");
    assert_eq!(f.cash("customer:C1"), "25.00");
    // Its own money: the customer may withdraw it.
    let balance = f.balance("customer:C1");
    assert_eq!((balance["withdrawable"].clone(), balance["over_invoiced"].clone()), (json!("25.00"), json!("0.00")));
    let request =
        command("request_withdrawal", "w1", "customer:C1", T2, json!({"withdrawal": "W1", "party": "customer:C1", "amount": "25"}));
    assert_eq!(f.ok(request), json!({"withdrawal": "W1", "status": "pending"}));
    f.ok(command("approve_withdrawal", "w2", "platform", T2, json!({"withdrawal": "W1"})));
    assert_eq!(f.cash("customer:C1"), "0.00");
    assert_eq!(money_total(&f), 0);
}

#[test]
fn allocated_money_is_never_withdrawable() {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "50"));
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    f.ok(pay_order("p1", "customer:C1", T1, "O1", &[]));
    f.ok(compensate("j1", T1, "customer:C1", "5"));
    let request = |id: &str, amount: &str| {
        command(
            "request_withdrawal",
            id,
            "customer:C1",
            T1,
            json!({"withdrawal": id.to_uppercase(), "party": "customer:C1", "amount": amount}),
        )
    };
    refused(&f, request("w1", "5.01"), "insufficient_funds");
    f.ok(request("w2", "5"));
    assert_eq!(f.balance("customer:C1")["withdrawable"], "0.00");
}

#[test]
fn a_compensation_without_invoiced_bills_is_over_invoiced_money() {
    // SPEC v2: over_invoiced = max(0, -(sum of invoiceable remaining)); a compensation's bill is
    // -amount, so with nothing invoiceable against it the money is not withdrawable.
    let f = Fixture::with_cast();
    f.ok(compensate("j1", T1, "customer:C4", "8"));
    let balance = f.balance("customer:C4");
    assert_eq!(
        (balance["cash"].clone(), balance["over_invoiced"].clone(), balance["withdrawable"].clone()),
        (json!("8.00"), json!("8.00"), json!("0.00"))
    );
    let request =
        command("request_withdrawal", "w1", "customer:C4", T1, json!({"withdrawal": "W1", "party": "customer:C4", "amount": "0.01"}));
    refused(&f, request, "insufficient_funds");
    // Usage of 5.00 spends 5.00 of it and offsets as much of the over-invoicing: still nothing to withdraw.
    f.ok(consume("c1", T1, "C4", "5"));
    let balance = f.balance("customer:C4");
    assert_eq!(
        (balance["cash"].clone(), balance["over_invoiced"].clone(), balance["withdrawable"].clone()),
        (json!("3.00"), json!("3.00"), json!("0.00"))
    );
}

#[test]
fn a_refund_of_allocated_money_goes_back_to_allocated_while_the_customer_is_resale() {
    let f = paid_from_both();
    let refund = f.ok(unsubscribe("u1", T2, "O1", "110"));
    // Credit first (none), then what came from allocated, then cash.
    assert_eq!(refund, json!({"refund": {"credit": "0.00", "allocated": "100.00", "partner": "0.00", "cash": "10.00"}}));
    assert_eq!((f.allocated("customer:C1"), f.cash("customer:C1")), ("100.00".to_owned(), "20.00".to_owned()));
    assert_eq!(reclaims(&f)["total_count"], 0);
    let bills = f.ok(json!({"op": "bills", "actor": "platform", "party": "customer:C1"}));
    let refund_bill = &bills["bills"][2];
    assert_eq!(refund_bill["bill"], "O1:refund");
    assert_eq!((refund_bill["allocated_amount"].clone(), refund_bill["cash_amount"].clone()), (json!("-100.00"), json!("-10.00")));
}

#[test]
fn a_refund_after_unbinding_reaches_the_former_partner() {
    let f = paid_from_both();
    f.ok(command("unbind", "u0", "partner:D1", T2, json!({"customer": "C1"})));
    assert_eq!(f.cash("partner:D1"), "8900.00");
    let refund = f.ok(unsubscribe("u1", T3, "O1", "120"));
    assert_eq!(refund, json!({"refund": {"credit": "0.00", "allocated": "0.00", "partner": "100.00", "cash": "20.00"}}));
    assert_eq!(f.cash("partner:D1"), "9000.00");
    assert_eq!((f.allocated("customer:C1"), f.cash("customer:C1")), ("0.00".to_owned(), "30.00".to_owned()));
    let record = json!({"seq": 19, "at": T3, "transfer": "u1", "operation": "refund_reclaim", "partner": "D1", "target": "customer:C1",
        "amount": "100.00", "memo": null});
    assert_eq!(reclaims(&f), json!({"total_count": 1, "records": [record]}));
    // The partner sees it among its records; the statement of its cash names the refund.
    let records = f.ok(json!({"op": "adjust_records", "actor": "partner:D1", "operation": "refund_reclaim"}));
    assert_eq!(records["total_count"], 1);
    let statement = f.ok(json!({"op": "statement", "actor": "partner:D1", "party": "partner:D1", "offset": 3}));
    assert_eq!(statement["lines"][0]["op"], "unsubscribe");
    assert_eq!(statement["lines"][0]["amount"], "100.00");
    assert_eq!(money_total(&f), 0);
    assert!(f.ledger.verify().is_ok());
}

#[test]
fn a_refund_after_moving_to_another_partner_still_reaches_the_one_that_paid() {
    let f = paid_from_both();
    f.ok(command("unbind", "u0", "partner:D1", T2, json!({"customer": "C1"})));
    f.ok(command("associate", "s1", "platform", T2, json!({"customer": "C1", "partner": "D2", "association": "resale"})));
    f.ok(allocate("a2", "partner:D2", T2, "customer:C1", "5"));
    let refund = f.ok(unsubscribe("u1", T3, "O1", "50"));
    assert_eq!(refund, json!({"refund": {"credit": "0.00", "allocated": "0.00", "partner": "50.00", "cash": "0.00"}}));
    assert_eq!((f.cash("partner:D1"), f.cash("partner:D2")), ("8950.00".to_owned(), "9995.00".to_owned()));
    assert_eq!(f.allocated("customer:C1"), "5.00");
}

#[test]
fn a_refund_after_switching_to_referral_reaches_the_partner() {
    let f = paid_from_both();
    f.ok(command("switch_association", "s1", "partner:D1", T2, json!({"customer": "C1", "association": "referral"})));
    let refund = f.ok(unsubscribe("u1", T3, "O1", "60"));
    assert_eq!(refund["refund"]["partner"], "60.00");
    assert_eq!(f.allocated("customer:C1"), "0.00");
}

#[test]
fn a_refund_to_allocated_repays_debt_first() {
    let f = paid_from_both();
    assert_eq!(f.ok(consume("c1", T2, "C1", "25"))["debt"], "15.00");
    let refund = f.ok(unsubscribe("u1", T3, "O1", "40"));
    assert_eq!(refund["refund"]["allocated"], "40.00");
    let balance = f.balance("customer:C1");
    assert_eq!((balance["arrears"].clone(), balance["allocated"].clone()), (json!("0.00"), json!("25.00")));
}

#[test]
fn a_partner_cannot_read_or_act_for_its_referral_customer_beyond_its_consumption() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "50"));
    f.ok(place_order("o1", "customer:CR", T1, "OR", "CR", "20"));
    f.ok(pay_order("p1", "customer:CR", T1, "OR", &[]));
    for (op, fields) in [
        ("balance", json!({"party": "customer:CR"})),
        ("statement", json!({"party": "customer:CR"})),
        ("invoiceable", json!({"party": "customer:CR"})),
        ("withdrawals", json!({"party": "customer:CR"})),
        ("order", json!({"order": "OR"})),
    ] {
        let mut request = with(json!({"op": op, "actor": "partner:D1"}), fields);
        assert_eq!(f.send(request.clone())["error"]["code"], "access_denied", "{request}");
        request["actor"] = json!("platform");
        assert_eq!(f.send(request.clone())["ok"], true, "{request}");
    }
    refused(&f, command("repay_credit", "x1", "partner:D1", T1, json!({"party": "customer:CR", "amount": "1"})), "access_denied");
    let invoice = command("request_invoice", "x2", "partner:D1", T1, json!({"invoice": "I1", "party": "customer:CR", "amount": "1"}));
    refused(&f, invoice, "access_denied");
    // Its consumption is the partner's to see: bills, its summary row, the orders list (without
    // the orders the partner neither paid nor was asked to pay).
    let bills = f.ok(json!({"op": "bills", "actor": "partner:D1", "party": "customer:CR"}));
    assert_eq!(bills["bills"][0]["bill"], "OR");
    let summary = f.ok(json!({"op": "consumption_summary", "actor": "partner:D1", "cycle": "2026-01"}));
    let row = summary["customers"].as_array().expect("rows").iter().find(|row| row["customer"] == "CR").cloned().expect("CR row");
    assert_eq!(row["consumption"], "20.00");
    assert_eq!(f.ok(json!({"op": "orders", "actor": "partner:D1", "customer": "CR"})), json!({"total_count": 0, "orders": []}));
    // The customer itself reads everything of its own.
    assert_eq!(f.ok(json!({"op": "balance", "actor": "customer:CR", "party": "customer:CR"}))["cash"], "30.00");
}
