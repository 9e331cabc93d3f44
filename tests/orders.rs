//! Orders (SPEC 3 "Orders", 4 order/orders/bills): placing, paying with coupons → cash → credit in
//! exactly that order, combined orders paid or cancelled as one, partner payment, cancellation,
//! unsubscription refunds to the payer, and the order, orders and bills queries.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";
const T3: &str = "2026-01-07T10:00:00Z";

fn line(order: &str, amount: &str, kind: &str, service: &str) -> Value {
    json!({"order": order, "amount": amount, "kind": kind, "service": service})
}

fn place_combined(id: &str, at: &str, combined: &str, orders: Value) -> Value {
    command("place_combined_order", id, "customer:C1", at, json!({"combined": combined, "customer": "C1", "orders": orders}))
}

fn place_service(id: &str, at: &str, order: &str, amount: &str, service: &str) -> Value {
    with(place_order(id, "customer:C1", at, order, "C1", amount), json!({"service": service}))
}

fn pay_as_partner(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("pay_order", id, actor, at, json!({"order": order, "payer": "partner"}))
}

fn cancel(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("cancel_order", id, actor, at, json!({"order": order}))
}

fn unsubscribe(id: &str, actor: &str, at: &str, order: &str, refund: &str) -> Value {
    command("unsubscribe", id, actor, at, json!({"order": order, "refund": refund}))
}

fn order(f: &Fixture, order: &str, at: &str) -> Value {
    f.ok(json!({"op": "order", "actor": "platform", "at": at, "order": order}))
}

fn bills(f: &Fixture, party: &str, fields: Value) -> Value {
    f.ok(with(json!({"op": "bills", "actor": "platform", "party": party, "limit": 100}), fields))
}

fn paid(order: &str, coupon: &str, cash: &str, credit: &str) -> Value {
    json!({"order": order, "coupon": coupon, "cash": cash, "credit": credit})
}

fn statuses(f: &Fixture, orders: &[&str], at: &str) -> Vec<Value> {
    orders.iter().map(|id| order(f, id, at)["status"].clone()).collect()
}

/// QD1 for D1; C1 has 100.00 cash (allocated by D1), a credit limit of 200.00, coupon K1 of 50.00
/// for any service and coupon K2 of 30.00 for `ecs` only. Seq 18, all at `SETUP_AT`.
fn shop() -> Fixture {
    let f = with_quota();
    f.ok(allocate("shop-1", "partner:D1", SETUP_AT, "customer:C1", "100"));
    f.ok(credit_limit("shop-2", SETUP_AT, "customer:C1", "200"));
    f.ok(issue_coupon("shop-3", "partner:D1", SETUP_AT, "K1", "QD1", "C1", "50"));
    f.ok(with(issue_coupon("shop-4", "partner:D1", SETUP_AT, "K2", "QD1", "C1", "30"), json!({"services": ["ecs"]})));
    f
}

/// Combined G1 of C1: O1 ecs 60.00 (new), O2 obs 120.00 (renew), O3 ecs 40.00 (change).
fn three_orders(f: &Fixture) {
    let orders = json!([line("O1", "60", "new", "ecs"), line("O2", "120", "renew", "obs"), line("O3", "40", "change", "ecs")]);
    let result = f.ok(place_combined("g1", T1, "G1", orders));
    let expected =
        json!({"combined": "G1", "orders": ["O1", "O2", "O3"], "status": "pending_payment", "pay_deadline": "2026-01-12T10:00:00Z"});
    assert_eq!(result, expected);
}

// ---- place_order / place_combined_order ----

#[test]
fn place_order_defaults_the_pay_deadline_to_seven_days_later() {
    let f = shop();
    let response = f.send(place_service("o1", T1, "O1", "60", "ecs"));
    let result = json!({"order": "O1", "status": "pending_payment", "pay_deadline": "2026-01-12T10:00:00Z"});
    assert_eq!(response, json!({"id": "o1", "ok": true, "seq": 19, "duplicate": false, "result": result}));
    let expected = json!({
        "order": "O1", "customer": "C1", "combined": null, "kind": "new", "service": "ecs", "amount": "60.00",
        "status": "pending_payment", "pay_deadline": "2026-01-12T10:00:00Z", "payer": null,
        "paid": {"coupon": "0.00", "cash": "0.00", "credit": "0.00"}, "refunded": "0.00"
    });
    assert_eq!(order(&f, "O1", T1), expected);
    let request = command(
        "place_order",
        "o2",
        "platform",
        T1,
        json!({"order": "O2", "customer": "C1", "amount": "5.5", "kind": "renew", "pay_deadline": T2}),
    );
    assert_eq!(f.ok(request), json!({"order": "O2", "status": "pending_payment", "pay_deadline": T2}));
    let placed = order(&f, "O2", T1);
    assert_eq!((placed["kind"].clone(), placed["service"].clone(), placed["amount"].clone()), (json!("renew"), json!(null), json!("5.50")));
    // Placing moves no money.
    assert_eq!(balance_at(&f, "customer:C1", T1)["available"], "100.00");
}

#[test]
fn place_order_refusals_change_nothing() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    refused(&f, place_order("o2", "customer:C1", T1, "O1", "C1", "10"), "already_exists");
    refused(&f, place_order("o3", "partner:D1", T1, "O2", "C1", "10"), "access_denied");
    refused(&f, place_order("o4", "customer:C4", T1, "O2", "C1", "10"), "access_denied");
    refused(&f, place_order("o5", "platform", T1, "O2", "X", "10"), "not_found");
    refused(&f, place_order("o6", "customer:C1", T1, "O2", "C1", "0"), "invalid_amount");
    refused(&f, place_order("o7", "customer:C1", T1, "O 2", "C1", "10"), "invalid_id");
    refused(&f, with(place_order("o8", "customer:C1", T1, "O2", "C1", "10"), json!({"kind": "gift"})), "invalid_request");
    refused(&f, with(place_order("o9", "customer:C1", T1, "O2", "C1", "10"), json!({"pay_deadline": SETUP_AT})), "invalid_request");
}

#[test]
fn a_combined_order_holds_2_to_50_orders() {
    let f = shop();
    refused(&f, place_combined("g1", T1, "G1", json!([line("O1", "1", "new", "ecs")])), "invalid_request");
    let lines = |count: usize| Value::Array((1..=count).map(|n| line(&format!("M{n}"), "1", "new", "ecs")).collect());
    refused(&f, place_combined("g2", T1, "G1", lines(51)), "invalid_request");
    refused(&f, place_combined("g3", T1, "G1", json!([line("O1", "1", "new", "a"), line("O1", "2", "new", "b")])), "invalid_request");
    refused(&f, place_combined("g4", T1, "G1", json!([line("G1", "1", "new", "a"), line("O2", "2", "new", "b")])), "invalid_request");
    let result = f.ok(place_combined("g5", T1, "G50", lines(50)));
    assert_eq!(result["orders"].as_array().map(Vec::len), Some(50));
    assert_eq!(order(&f, "M50", T1)["combined"], "G50");
    refused(&f, place_combined("g6", T1, "G1", json!([line("M1", "1", "new", "a"), line("O2", "2", "new", "b")])), "already_exists");
    refused(&f, place_combined("g7", T1, "G50", json!([line("O1", "1", "new", "a"), line("O2", "2", "new", "b")])), "already_exists");
    let orders = f.ok(json!({"op": "orders", "actor": "platform", "customer": "C1", "at": T1, "limit": 100}));
    assert_eq!(orders["total_count"], 50);
}

// ---- pay_order: the draw order ----

#[test]
fn pay_order_draws_the_listed_coupons_in_order_then_cash_then_credit() {
    let f = shop();
    three_orders(&f);
    let result = f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K2", "K1"]));
    // O1 (ecs 60): K2 30 + K1 30. O2 (obs 120): K2 does not cover obs; K1 20, cash 100.
    // O3 (ecs 40): coupons and cash are spent, so credit 40.
    let expected =
        json!({"paid": [paid("O1", "60.00", "0.00", "0.00"), paid("O2", "20.00", "100.00", "0.00"), paid("O3", "0.00", "0.00", "40.00")]});
    assert_eq!(result, expected);
    let balance = balance_at(&f, "customer:C1", T2);
    assert_eq!((balance["cash"].clone(), balance["credit_used"].clone()), (json!("0.00"), json!("40.00")));
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&[("K1", "0.00", "used"), ("K2", "0.00", "used")]));
    let accounts = platform(&f);
    assert_eq!((accounts["revenue"].clone(), accounts["coupon_redeemed"].clone()), (json!("140.00"), json!("80.00")));
    let o2 = order(&f, "O2", T2);
    assert_eq!((o2["status"].clone(), o2["payer"].clone(), o2["combined"].clone()), (json!("paid"), json!("customer:C1"), json!("G1")));
    assert_eq!(o2["paid"], json!({"coupon": "20.00", "cash": "100.00", "credit": "0.00"}));
    assert_eq!(money_total(&f), 0);
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn the_listed_order_of_the_coupons_decides_the_draw() {
    let f = shop();
    three_orders(&f);
    let result = f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K1", "K2"]));
    // O1: K1 50 + K2 10. O2 (obs): K1 is spent, K2 does not cover it: cash 100 + credit 20.
    // O3 (ecs): K2's remaining 20, then credit 20.
    let expected =
        json!({"paid": [paid("O1", "60.00", "0.00", "0.00"), paid("O2", "0.00", "100.00", "20.00"), paid("O3", "20.00", "0.00", "20.00")]});
    assert_eq!(result, expected);
    assert_eq!(balance_at(&f, "customer:C1", T2)["credit_used"], "40.00");
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&[("K1", "0.00", "used"), ("K2", "0.00", "used")]));
}

#[test]
fn a_combined_order_that_fails_on_its_last_member_changes_nothing() {
    let f = shop();
    f.ok(place_combined("g1", T1, "G1", json!([line("O1", "60", "new", "ecs"), line("O2", "300", "new", "obs")])));
    // time_went_backwards comes before funds errors (SPEC 2.2).
    refused(&f, pay_order("p0", "customer:C1", SETUP_AT, "G1", &["K1"]), "time_went_backwards");
    // O1 would take K1 50 + cash 10; O2 then finds cash 90 + credit 200 = 290 < 300.
    let error = refused(&f, pay_order("p1", "customer:C1", T2, "G1", &["K1"]), "insufficient_funds");
    assert_eq!(error["cbc"], "CBC.99005003");
    assert_eq!(statuses(&f, &["O1", "O2"], T2), vec![json!("pending_payment"), json!("pending_payment")]);
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&[("K1", "50.00", "usable"), ("K2", "30.00", "usable")]));
    assert_eq!(bills(&f, "customer:C1", json!({})), json!({"total_count": 0, "bills": []}));
    let balance = balance_at(&f, "customer:C1", T2);
    assert_eq!((balance["cash"].clone(), balance["credit_used"].clone()), (json!("100.00"), json!("0.00")));
    // One fen less on the last member and everything is covered.
    f.ok(place_combined("g2", T2, "G2", json!([line("O3", "60", "new", "ecs"), line("O4", "290", "new", "obs")])));
    let result = f.ok(pay_order("p2", "customer:C1", T2, "G2", &["K1"]));
    assert_eq!(result, json!({"paid": [paid("O3", "50.00", "10.00", "0.00"), paid("O4", "0.00", "90.00", "200.00")]}));
}

#[test]
fn a_coupon_pays_only_for_the_services_it_covers() {
    let f = shop();
    f.ok(place_combined("g1", T1, "G1", json!([line("O1", "20", "new", "ecs"), line("O2", "50", "new", "obs")])));
    let result = f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K2"]));
    assert_eq!(result, json!({"paid": [paid("O1", "20.00", "0.00", "0.00"), paid("O2", "0.00", "50.00", "0.00")]}));
    assert_eq!(coupons_at(&f, "customer:C1", T2)[1], triples(&[("K2", "10.00", "usable")])[0]);
    assert_eq!(f.cash("customer:C1"), "50.00");
    // Alone, an obs order cannot use K2 at all.
    f.ok(place_service("o3", T2, "O3", "5", "obs"));
    refused(&f, pay_order("p2", "customer:C1", T2, "O3", &["K2"]), "coupon_not_usable");
}

#[test]
fn a_member_of_a_combined_order_is_named_through_its_combined_id() {
    let f = shop();
    f.ok(place_combined("g1", T1, "G1", json!([line("O1", "20", "new", "ecs"), line("O2", "30", "new", "obs")])));
    let error = refused(&f, pay_order("p1", "customer:C1", T2, "O1", &[]), "use_combined_order_id");
    assert_eq!(error["cbc"], "CBC.99000089");
    refused(&f, cancel("c1", "customer:C1", T2, "O2"), "use_combined_order_id");
    refused(&f, pay_as_partner("p2", "partner:D1", T2, "O1"), "use_combined_order_id");
    assert_eq!(
        f.ok(pay_order("p3", "customer:C1", T2, "G1", &[])),
        json!({"paid": [paid("O1", "0.00", "20.00", "0.00"), paid("O2", "0.00", "30.00", "0.00")]})
    );
    // Once paid, each order lives on its own.
    assert_eq!(f.ok(unsubscribe("u1", "customer:C1", T3, "O1", "20")), json!({"refund": {"credit": "0.00", "cash": "20.00"}}));
    assert_eq!(statuses(&f, &["O1", "O2"], T3), vec![json!("unsubscribed"), json!("paid")]);
    assert_eq!(f.cash("customer:C1"), "70.00");
}

#[test]
fn pay_order_needs_a_pending_order_within_its_deadline() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    f.ok(place_order("o2", "customer:C1", T1, "O2", "C1", "10"));
    f.ok(cancel("c2", "customer:C1", T1, "O2"));
    let error = refused(&f, pay_order("p1", "customer:C1", "2026-01-12T10:00:00.001Z", "O1", &[]), "order_expired");
    assert_eq!(error["cbc"], "CBC.99003110");
    let error = refused(&f, pay_order("p2", "customer:C1", T2, "O2", &[]), "order_state");
    assert_eq!(error["cbc"], "CBC.99003106");
    // The deadline itself is still in time.
    f.ok(pay_order("p3", "customer:C1", "2026-01-12T10:00:00Z", "O1", &[]));
    refused(&f, pay_order("p4", "customer:C1", "2026-01-12T10:00:00Z", "O1", &[]), "order_state");
    refused(&f, pay_order("p5", "customer:C1", "2026-01-12T10:00:00Z", "OX", &[]), "not_found");
    refused(&f, pay_order("p6", "customer:C4", "2026-01-12T10:00:00Z", "O1", &[]), "access_denied");
    assert_eq!(f.cash("customer:C1"), "90.00");
}

#[test]
fn only_usable_coupons_of_the_customer_for_these_services_pay() {
    let f = shop();
    f.ok(issue_quota("q1", "platform", SETUP_AT, json!({"quota": "QS1", "partner": "S1", "kind": "voucher", "amount": "100"})));
    f.ok(issue_coupon("k3", "partner:S1", SETUP_AT, "K3", "QS1", "C3", "10"));
    f.ok(with(issue_coupon("k4", "partner:D1", SETUP_AT, "K4", "QD1", "C1", "10"), json!({"valid_from": "2026-02-01T00:00:00Z"})));
    f.ok(issue_coupon("k5", "partner:D1", SETUP_AT, "K5", "QD1", "C1", "10"));
    f.ok(place_service("o1", T1, "O1", "10", "obs"));
    let error = refused(&f, pay_order("p1", "customer:C1", T1, "O1", &["K3"]), "coupon_not_usable");
    assert_eq!(error["cbc"], "CBC.99003112");
    refused(&f, pay_order("p2", "customer:C1", T1, "O1", &["K4"]), "coupon_not_usable");
    refused(&f, pay_order("p3", "customer:C1", T1, "O1", &["K1", "K2"]), "coupon_not_usable");
    refused(&f, pay_order("p4", "customer:C1", T1, "O1", &["K1", "K2", "K4", "K5"]), "invalid_request");
    refused(&f, pay_order("p5", "customer:C1", T1, "O1", &["K1", "K1"]), "invalid_request");
    refused(&f, pay_order("p6", "customer:C1", T1, "O1", &["KX"]), "not_found");
    // Three is the most; each must cover at least one order, and one left untouched is fine.
    f.ok(place_combined("g1", T1, "G1", json!([line("O2", "5", "new", "ecs"), line("O3", "10", "new", "obs")])));
    let result = f.ok(pay_order("p7", "customer:C1", T1, "G1", &["K5", "K1", "K2"]));
    assert_eq!(result, json!({"paid": [paid("O2", "5.00", "0.00", "0.00"), paid("O3", "10.00", "0.00", "0.00")]}));
    let expected = [("K1", "45.00", "usable"), ("K2", "30.00", "usable"), ("K4", "10.00", "inactive"), ("K5", "0.00", "used")];
    assert_eq!(coupons_at(&f, "customer:C1", T1), triples(&expected));
}

// ---- payment by the partner ----

/// D1 (credit limit 500.00) pays C1's O1 (100.00) and O2 (9000.00) from its own funds.
fn partner_paid(f: &Fixture) {
    f.ok(credit_limit("l1", T1, "partner:D1", "500"));
    f.ok(place_service("o1", T1, "O1", "100", "ecs"));
    f.ok(place_service("o2", T1, "O2", "9000", "ecs"));
    assert_eq!(f.ok(pay_as_partner("p1", "partner:D1", T1, "O1")), json!({"paid": [paid("O1", "0.00", "100.00", "0.00")]}));
    assert_eq!(f.ok(pay_as_partner("p2", "partner:D1", T1, "O2")), json!({"paid": [paid("O2", "0.00", "8800.00", "200.00")]}));
}

#[test]
fn a_partner_pays_for_its_resale_customer_from_its_own_funds() {
    let f = shop();
    partner_paid(&f);
    let balance = balance_at(&f, "partner:D1", T1);
    assert_eq!((balance["cash"].clone(), balance["credit_used"].clone()), (json!("0.00"), json!("200.00")));
    // The customer's own cash, credit and coupons are untouched.
    let balance = balance_at(&f, "customer:C1", T1);
    assert_eq!((balance["cash"].clone(), balance["credit_used"].clone()), (json!("100.00"), json!("0.00")));
    assert_eq!(coupons_at(&f, "customer:C1", T1), triples(&[("K1", "50.00", "usable"), ("K2", "30.00", "usable")]));
    assert_eq!(order(&f, "O2", T1)["payer"], "partner:D1");
    let partner_bills = bills(&f, "partner:D1", json!({}));
    assert_eq!(partner_bills["total_count"], 2);
    assert_eq!(partner_bills["bills"][1]["credit_amount"], "200.00");
    assert_eq!(bills(&f, "customer:C1", json!({}))["total_count"], 2);
}

#[test]
fn partner_payment_refusals_change_nothing() {
    let f = shop();
    f.ok(recharge("r1", T1, "customer:CR", "50"));
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    f.ok(place_order("o2", "customer:CR", T1, "O2", "CR", "10"));
    let with_coupon = with(pay_as_partner("p1", "partner:D1", T1, "O1"), json!({"coupons": ["K1"]}));
    refused(&f, with_coupon, "invalid_request");
    refused(&f, pay_as_partner("p2", "partner:D1", T1, "O2"), "not_resale_customer");
    refused(&f, pay_as_partner("p3", "customer:C1", T1, "O1"), "access_denied");
    refused(&f, pay_as_partner("p4", "partner:D2", T1, "O1"), "access_denied");
    refused(&f, pay_as_partner("p5", "platform", T1, "O1"), "access_denied");
    // As a customer payer, only the customer itself pays.
    refused(&f, pay_order("p6", "partner:D1", T1, "O1", &[]), "access_denied");
    refused(&f, with(pay_order("p7", "customer:C1", T1, "O1", &[]), json!({"payer": "reseller"})), "invalid_request");
}

// ---- bills ----

#[test]
fn each_paid_order_gets_one_bill_named_after_it() {
    let f = shop();
    three_orders(&f);
    f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K2", "K1"]));
    let listing = bills(&f, "customer:C1", json!({}));
    let ids: Vec<Value> = listing["bills"].as_array().expect("bills").iter().map(|bill| json!([bill["bill"], bill["bill_type"]])).collect();
    assert_eq!(ids, vec![json!(["O1", "new"]), json!(["O2", "renew"]), json!(["O3", "change"])]);
    let expected = json!({
        "bill": "O2", "bill_type": "renew", "at": T2, "cycle": "2026-01", "order": "O2", "amount": "120.00",
        "coupon_amount": "20.00", "cash_amount": "100.00", "credit_amount": "0.00", "debt_amount": "0.00",
        "erase_amount": "0.00000000", "invoiceable": "100.00", "invoiced": "0.00"
    });
    assert_eq!(listing["bills"][1], expected);
    // Coupon value is never invoiceable; credit is.
    assert_eq!((listing["bills"][0]["invoiceable"].clone(), listing["bills"][2]["invoiceable"].clone()), (json!("0.00"), json!("40.00")));
    let page = bills(&f, "customer:C1", json!({"offset": 2, "limit": 1}));
    assert_eq!((page["total_count"].clone(), page["bills"][0]["bill"].clone()), (json!(3), json!("O3")));
}

#[test]
fn bills_fall_in_billing_cycles_of_utc_plus_8() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", SETUP_AT, "customer:CR", "100"));
    for (n, at) in [(1, "2026-01-31T15:59:59Z"), (2, "2026-01-31T16:00:00Z")] {
        f.ok(place_order(&format!("o{n}"), "customer:CR", at, &format!("O{n}"), "CR", "10"));
        f.ok(pay_order(&format!("p{n}"), "customer:CR", at, &format!("O{n}"), &[]));
    }
    let january = bills(&f, "customer:CR", json!({"cycle": "2026-01"}));
    let expected = json!({
        "bill": "O1", "bill_type": "new", "at": "2026-01-31T15:59:59Z", "cycle": "2026-01", "order": "O1", "amount": "10.00",
        "coupon_amount": "0.00", "cash_amount": "10.00", "credit_amount": "0.00", "debt_amount": "0.00",
        "erase_amount": "0.00000000", "invoiceable": "10.00", "invoiced": "0.00"
    });
    assert_eq!(january, json!({"total_count": 1, "bills": [expected]}));
    let february = bills(&f, "customer:CR", json!({"cycle": "2026-02"}));
    assert_eq!((february["total_count"].clone(), february["bills"][0]["bill"].clone()), (json!(1), json!("O2")));
    assert_eq!(february["bills"][0]["cycle"], "2026-02");
    assert_eq!(bills(&f, "customer:CR", json!({"cycle": "2026-03"})), json!({"total_count": 0, "bills": []}));
    let bad = f.send(json!({"op": "bills", "actor": "platform", "party": "customer:CR", "cycle": "2026-13"}));
    assert_eq!(bad["error"]["code"], "invalid_request");
    let denied = f.send(json!({"op": "bills", "actor": "customer:C4", "party": "customer:CR"}));
    assert_eq!(denied["error"]["code"], "access_denied");
}

// ---- cancel_order ----

#[test]
fn cancel_order_cancels_an_order_or_a_whole_combined_order() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    f.ok(place_combined("g1", T1, "G1", json!([line("O2", "20", "new", "ecs"), line("O3", "30", "new", "obs")])));
    f.ok(place_order("o4", "customer:C1", T1, "O4", "C1", "10"));
    assert_eq!(f.ok(cancel("c1", "customer:C1", T2, "O1")), json!({"cancelled": ["O1"]}));
    assert_eq!(f.ok(cancel("c2", "platform", T2, "G1")), json!({"cancelled": ["O2", "O3"]}));
    assert_eq!(
        statuses(&f, &["O1", "O2", "O3", "O4"], T2),
        vec![json!("cancelled"), json!("cancelled"), json!("cancelled"), json!("pending_payment")]
    );
    refused(&f, pay_order("p1", "customer:C1", T2, "G1", &[]), "order_state");
    refused(&f, cancel("c3", "customer:C1", T2, "O1"), "order_state");
    refused(&f, cancel("c4", "partner:D1", T2, "O4"), "access_denied");
    refused(&f, cancel("c5", "customer:C1", T2, "OX"), "not_found");
    f.ok(pay_order("p2", "customer:C1", T2, "O4", &[]));
    refused(&f, cancel("c6", "customer:C1", T2, "O4"), "order_state");
    assert_eq!(f.cash("customer:C1"), "90.00");
}

// ---- unsubscribe ----

#[test]
fn unsubscribe_refunds_credit_first_then_cash_and_never_coupon_value() {
    let f = shop();
    f.ok(place_service("o1", T1, "O1", "250", "ecs"));
    assert_eq!(f.ok(pay_order("p1", "customer:C1", T1, "O1", &["K1"])), json!({"paid": [paid("O1", "50.00", "100.00", "100.00")]}));
    let error = refused(&f, unsubscribe("u0", "customer:C1", T2, "O1", "200.01"), "refund_exceeds_paid");
    assert_eq!(error["cbc"], "CBC.0101");
    let response = f.send(unsubscribe("u1", "customer:C1", T2, "O1", "150"));
    assert_eq!(
        response,
        json!({"id": "u1", "ok": true, "seq": 21, "duplicate": false, "result": {"refund": {"credit": "100.00", "cash": "50.00"}}})
    );
    let balance = balance_at(&f, "customer:C1", T2);
    assert_eq!((balance["cash"].clone(), balance["credit_used"].clone()), (json!("50.00"), json!("0.00")));
    assert_eq!(coupons_at(&f, "customer:C1", T2)[0], triples(&[("K1", "0.00", "used")])[0]);
    let unsubscribed = order(&f, "O1", T2);
    assert_eq!((unsubscribed["status"].clone(), unsubscribed["refunded"].clone()), (json!("unsubscribed"), json!("150.00")));
    let refund_bill = json!({
        "bill": "O1:refund", "bill_type": "refund", "at": T2, "cycle": "2026-01", "order": "O1", "amount": "-150.00",
        "coupon_amount": "0.00", "cash_amount": "-50.00", "credit_amount": "-100.00", "debt_amount": "0.00",
        "erase_amount": "0.00000000", "invoiceable": "-150.00", "invoiced": "0.00"
    });
    assert_eq!(bills(&f, "customer:C1", json!({}))["bills"][1], refund_bill);
    let accounts = platform(&f);
    assert_eq!((accounts["revenue"].clone(), accounts["coupon_redeemed"].clone()), (json!("50.00"), json!("50.00")));
    refused(&f, unsubscribe("u2", "customer:C1", T3, "O1", "1"), "order_state");
}

#[test]
fn unsubscribe_returns_credit_only_up_to_the_credit_in_use_and_repays_debt_first() {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "50"));
    f.ok(credit_limit("l1", T1, "customer:C1", "50"));
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "100"));
    assert_eq!(f.ok(pay_order("p1", "customer:C1", T1, "O1", &[])), json!({"paid": [paid("O1", "0.00", "50.00", "50.00")]}));
    f.ok(allocate("a2", "partner:D1", T1, "customer:C1", "40"));
    f.ok(command("repay_credit", "r1", "customer:C1", T1, json!({"party": "customer:C1", "amount": "40"})));
    f.ok(credit_limit("l2", T1, "customer:C1", "10"));
    assert_eq!(f.ok(consume("u1", T1, "C1", "30"))["debt"], "30.00");
    // The order drew 50 of credit, but only 10 is in use: 10 to credit, 90 to cash, debt first.
    assert_eq!(f.ok(unsubscribe("x1", "platform", T2, "O1", "100")), json!({"refund": {"credit": "10.00", "cash": "90.00"}}));
    let balance = balance_at(&f, "customer:C1", T2);
    let parts = (balance["cash"].clone(), balance["credit_used"].clone(), balance["arrears"].clone());
    assert_eq!(parts, (json!("60.00"), json!("0.00"), json!("0.00")));
    let arrears = f.ok(json!({"op": "statement", "actor": "platform", "party": "customer:C1", "account": "arrears"}));
    let last = &arrears["lines"][1];
    assert_eq!(
        (last["op"].clone(), last["amount"].clone(), last["balance_after"].clone()),
        (json!("unsubscribe"), json!("30.00"), json!("0.00"))
    );
    assert_eq!(money_total(&f), 0);
}

#[test]
fn unsubscribe_refusals_change_nothing() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    f.ok(place_order("o2", "customer:C1", T1, "O2", "C1", "10"));
    f.ok(pay_order("p2", "customer:C1", T1, "O2", &[]));
    refused(&f, unsubscribe("u1", "customer:C1", T2, "O1", "10"), "order_state");
    refused(&f, unsubscribe("u2", "partner:D1", T2, "O2", "10"), "access_denied");
    refused(&f, unsubscribe("u3", "customer:C4", T2, "O2", "10"), "access_denied");
    refused(&f, unsubscribe("u4", "customer:C1", T2, "OX", "10"), "not_found");
    refused(&f, unsubscribe("u5", "customer:C1", T2, "O2", "10.01"), "refund_exceeds_paid");
    refused(&f, unsubscribe("u6", "customer:C1", T2, "O2", "0"), "invalid_amount");
    // Precedence: order_state before time, time before funds-like checks.
    refused(&f, unsubscribe("u7", "customer:C1", SETUP_AT, "O1", "10"), "order_state");
    assert_eq!(f.ok(unsubscribe("u8", "customer:C1", T2, "O2", "10")), json!({"refund": {"credit": "0.00", "cash": "10.00"}}));
}

#[test]
fn a_partner_paid_order_is_refunded_to_the_partner() {
    let f = shop();
    partner_paid(&f);
    // Credit first: min(300, 200 drawn, 200 in use), then cash.
    assert_eq!(f.ok(unsubscribe("u1", "customer:C1", T2, "O2", "300")), json!({"refund": {"credit": "200.00", "cash": "100.00"}}));
    assert_eq!(f.ok(unsubscribe("u2", "platform", T2, "O1", "100")), json!({"refund": {"credit": "0.00", "cash": "100.00"}}));
    let balance = balance_at(&f, "partner:D1", T2);
    assert_eq!((balance["cash"].clone(), balance["credit_used"].clone()), (json!("200.00"), json!("0.00")));
    assert_eq!(f.cash("customer:C1"), "100.00");
    let partner_bills = bills(&f, "partner:D1", json!({}));
    let ids: Vec<Value> = partner_bills["bills"].as_array().expect("bills").iter().map(|bill| bill["bill"].clone()).collect();
    assert_eq!(ids, vec![json!("O1"), json!("O2"), json!("O2:refund"), json!("O1:refund")]);
    assert_eq!(partner_bills["bills"][2]["amount"], "-300.00");
    assert_eq!(money_total(&f), 0);
}

// ---- order / orders queries ----

#[test]
fn orders_lists_by_shown_status_with_paging() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", SETUP_AT, "customer:CR", "100"));
    for n in 1..=4 {
        f.ok(place_order(&format!("o{n}"), "customer:CR", T1, &format!("O{n}"), "CR", "10"));
    }
    f.ok(command(
        "place_order",
        "o5",
        "customer:CR",
        T1,
        json!({"order": "O5", "customer": "CR", "amount": "1", "kind": "new", "pay_deadline": "2026-01-06T00:00:00Z"}),
    ));
    f.ok(pay_order("p1", "customer:CR", T1, "O1", &[]));
    f.ok(cancel("c3", "customer:CR", T1, "O3"));
    let orders = |fields: Value| f.ok(with(json!({"op": "orders", "actor": "platform", "customer": "CR", "at": T3}), fields));
    let shown = |result: Value| -> Vec<Value> {
        result["orders"].as_array().expect("orders").iter().map(|o| json!([o["order"], o["status"]])).collect()
    };
    let all = orders(json!({}));
    assert_eq!(all["total_count"], 5);
    assert_eq!(
        shown(all),
        vec![
            json!(["O1", "paid"]),
            json!(["O2", "pending_payment"]),
            json!(["O3", "cancelled"]),
            json!(["O4", "pending_payment"]),
            json!(["O5", "expired"])
        ]
    );
    assert_eq!(shown(orders(json!({"status": "expired"}))), vec![json!(["O5", "expired"])]);
    assert_eq!(orders(json!({"status": "pending_payment"}))["total_count"], 2);
    assert_eq!(shown(orders(json!({"status": "paid"}))), vec![json!(["O1", "paid"])]);
    assert_eq!(orders(json!({"status": "unsubscribed"})), json!({"total_count": 0, "orders": []}));
    let page = orders(json!({"offset": 1, "limit": 2}));
    assert_eq!((page["total_count"].clone(), shown(page)), (json!(5), vec![json!(["O2", "pending_payment"]), json!(["O3", "cancelled"])]));
    assert_eq!(orders(json!({"offset": 10}))["orders"], json!([]));
    // The shown status follows the query's time: before the deadline O5 is still pending.
    assert_eq!(order(&f, "O5", "2026-01-06T00:00:00Z")["status"], "pending_payment");
    assert_eq!(order(&f, "O5", "2026-01-06T00:00:00.001Z")["status"], "expired");
    for bad in [json!({"status": "bogus"}), json!({"limit": 0}), json!({"limit": 101}), json!({"offset": -1})] {
        let response = f.send(with(json!({"op": "orders", "actor": "platform", "customer": "CR"}), bad));
        assert_eq!(response["error"]["code"], "invalid_request");
    }
}

#[test]
fn order_queries_follow_the_actors_scope() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    let read = |actor: &str, op: Value| f.send(with(json!({"actor": actor, "at": T1}), op));
    assert_eq!(read("customer:C1", json!({"op": "order", "order": "O1"}))["result"]["order"], "O1");
    assert_eq!(read("partner:D1", json!({"op": "orders", "customer": "C1"}))["result"]["total_count"], 1);
    assert_eq!(read("customer:C4", json!({"op": "order", "order": "O1"}))["error"]["code"], "access_denied");
    assert_eq!(read("partner:D2", json!({"op": "orders", "customer": "C1"}))["error"]["code"], "access_denied");
    assert_eq!(read("platform", json!({"op": "order", "order": "OX"}))["error"]["code"], "not_found");
}
