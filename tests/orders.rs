//! Orders (SPEC 3 "Orders", 4 order/orders/bills): placing, paying with coupons → `allocated` →
//! cash → credit in exactly that order, combined orders paid or cancelled as one, partner payment
//! (requested by the customer, paid or rejected by its partner), cancellation, unsubscription
//! refunds part by part (credit, then `allocated` or back to the funding partner, then cash) to the
//! payer, and the order, orders and bills queries.
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

fn place_combined_for(id: &str, at: &str, customer: &str, combined: &str, orders: Value) -> Value {
    let actor = format!("customer:{customer}");
    command("place_combined_order", id, &actor, at, json!({"combined": combined, "customer": customer, "orders": orders}))
}

fn place_combined(id: &str, at: &str, combined: &str, orders: Value) -> Value {
    place_combined_for(id, at, "C1", combined, orders)
}

fn place_service(id: &str, at: &str, order: &str, amount: &str, service: &str) -> Value {
    with(place_order(id, "customer:C1", at, order, "C1", amount), json!({"service": service}))
}

fn pay_as_partner(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("pay_order", id, actor, at, json!({"order": order, "payer": "partner"}))
}

fn ask_partner(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("request_partner_payment", id, actor, at, json!({"order": order}))
}

fn reject_ask(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("reject_partner_payment", id, actor, at, json!({"order": order, "reason": "over budget"}))
}

/// The result of a partner-payment request or rejection.
fn asked(order: &str, orders: &[&str], status: &str) -> Value {
    json!({"order": order, "orders": orders, "partner_payment": status})
}

fn cancel(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("cancel_order", id, actor, at, json!({"order": order}))
}

fn unsubscribe(id: &str, actor: &str, at: &str, order: &str, refund: &str) -> Value {
    command("unsubscribe", id, actor, at, json!({"order": order, "refund": refund}))
}

fn compensate(id: &str, at: &str, party: &str, amount: &str) -> Value {
    command("adjust", id, "platform", at, json!({"party": party, "direction": "compensate", "amount": amount, "reason": "goodwill"}))
}

fn register_operator(id: &str, at: &str, operator: &str, partner: &str, roles: &[&str]) -> Value {
    command("register_operator", id, "platform", at, json!({"operator": operator, "partner": partner, "roles": roles}))
}

fn order(f: &Fixture, order: &str, at: &str) -> Value {
    f.ok(json!({"op": "order", "actor": "platform", "at": at, "order": order}))
}

fn bills(f: &Fixture, party: &str, fields: Value) -> Value {
    f.ok(with(json!({"op": "bills", "actor": "platform", "party": party, "limit": 100}), fields))
}

fn bill_ids(f: &Fixture, party: &str) -> Vec<Value> {
    let listing = bills(f, party, json!({}));
    listing["bills"].as_array().expect("bills").iter().map(|bill| bill["bill"].clone()).collect()
}

/// One row of a `pay_order` result, for an order paid without a discount: `due` is its whole
/// official price.
fn paid(order: &str, due: &str, coupon: &str, allocated: &str, cash: &str, credit: &str) -> Value {
    json!({"order": order, "due": due, "discount": "0.00", "coupon": coupon, "allocated": allocated, "cash": cash, "credit": credit})
}

/// An `unsubscribe` result.
fn refund(credit: &str, allocated: &str, partner: &str, cash: &str) -> Value {
    json!({"refund": {"credit": credit, "allocated": allocated, "partner": partner, "cash": cash}})
}

fn statuses(f: &Fixture, orders: &[&str], at: &str) -> Vec<Value> {
    orders.iter().map(|id| order(f, id, at)["status"].clone()).collect()
}

/// `[allocated, cash, credit_used]` of `party` at `at`.
fn funds(f: &Fixture, party: &str, at: &str) -> Value {
    let balance = balance_at(f, party, at);
    json!([balance["allocated"], balance["cash"], balance["credit_used"]])
}

/// `[cash, credit_used]` of a partner at `at`.
fn partner_funds(f: &Fixture, party: &str, at: &str) -> Value {
    let balance = balance_at(f, party, at);
    json!([balance["cash"], balance["credit_used"]])
}

/// QD1 for D1; resale customer C1 has 100.00 `allocated` by D1, 200.00 of its own cash (a
/// compensation: a resale customer cannot be recharged), no credit (a resale customer cannot have
/// any), coupon K1 of 50.00 for any service and coupon K2 of 30.00 for `ecs` only. Seq 18, all at
/// `SETUP_AT`. The compensation is C1's bill `shop-2` and cost the platform 200.00 of revenue.
fn shop() -> Fixture {
    let f = with_quota();
    f.ok(allocate("shop-1", "partner:D1", SETUP_AT, "customer:C1", "100"));
    f.ok(compensate("shop-2", SETUP_AT, "customer:C1", "200"));
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
        "status": "pending_payment", "pay_deadline": "2026-01-12T10:00:00Z", "placed_at": T1, "payer": null, "partner_payment": null,
        "asked_partner": null, "paid": {"due": "0.00", "discount": "0.00", "coupon": "0.00", "allocated": "0.00", "cash": "0.00", "credit": "0.00"},
        "refunded": "0.00"
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
    let balance = balance_at(&f, "customer:C1", T1);
    assert_eq!(json!([balance["allocated"], balance["available"]]), json!(["100.00", "200.00"]));
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
fn pay_order_draws_the_listed_coupons_in_order_then_allocated_then_cash() {
    let f = shop();
    three_orders(&f);
    let result = f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K2", "K1"]));
    // O1 (ecs 60): K2 30 + K1 30. O2 (obs 120): K2 does not cover obs; K1 20, then allocated 100.
    // O3 (ecs 40): coupons and allocated funds are spent, so C1's own cash 40.
    let expected = json!({"paid": [
        paid("O1", "60.00", "60.00", "0.00", "0.00", "0.00"),
        paid("O2", "120.00", "20.00", "100.00", "0.00", "0.00"),
        paid("O3", "40.00", "0.00", "0.00", "40.00", "0.00")
    ]});
    assert_eq!(result, expected);
    assert_eq!(funds(&f, "customer:C1", T2), json!(["0.00", "160.00", "0.00"]));
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&[("K1", "0.00", "used"), ("K2", "0.00", "used")]));
    let accounts = platform(&f);
    // Revenue: 140.00 of money paid, less the 200.00 compensation of the set-up.
    assert_eq!((accounts["revenue"].clone(), accounts["coupon_redeemed"].clone()), (json!("-60.00"), json!("80.00")));
    let o2 = order(&f, "O2", T2);
    assert_eq!((o2["status"].clone(), o2["payer"].clone(), o2["combined"].clone()), (json!("paid"), json!("customer:C1"), json!("G1")));
    assert_eq!(
        o2["paid"],
        json!({"due": "120.00", "discount": "0.00", "coupon": "20.00", "allocated": "100.00", "cash": "0.00", "credit": "0.00"})
    );
    assert_eq!(money_total(&f), 0);
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn a_customer_without_allocated_funds_pays_cash_then_credit() {
    let f = shop();
    // CR is D1's referral customer: it is funded by itself and may have credit.
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    f.ok(credit_limit("l1", T1, "customer:CR", "200"));
    let orders = json!([line("O1", "60", "new", "ecs"), line("O2", "120", "renew", "obs"), line("O3", "40", "change", "ecs")]);
    f.ok(place_combined_for("g1", T1, "CR", "G1", orders));
    // C1's coupons are not CR's.
    refused(&f, pay_order("p0", "customer:CR", T2, "G1", &["K1"]), "coupon_not_usable");
    let result = f.ok(pay_order("p1", "customer:CR", T2, "G1", &[]));
    let expected = json!({"paid": [
        paid("O1", "60.00", "0.00", "0.00", "60.00", "0.00"),
        paid("O2", "120.00", "0.00", "0.00", "40.00", "80.00"),
        paid("O3", "40.00", "0.00", "0.00", "0.00", "40.00")
    ]});
    assert_eq!(result, expected);
    assert_eq!(funds(&f, "customer:CR", T2), json!(["0.00", "0.00", "120.00"]));
    assert_eq!(money_total(&f), 0);
}

#[test]
fn the_full_draw_order_is_coupons_then_allocated_then_cash_then_credit() {
    let f = shop();
    // K4 becomes usable in February.
    f.ok(with(issue_coupon("k4", "partner:D1", SETUP_AT, "K4", "QD1", "C1", "10"), json!({"valid_from": "2026-02-01T00:00:00Z"})));
    // A resale customer has no credit: its partner funds it (v2).
    refused(&f, credit_limit("l0", T1, "customer:C1", "100"), "resale_customer");
    refused(&f, recharge("r0", T1, "customer:C1", "100"), "resale_customer");
    f.ok(place_service("o1", T1, "O1", "370", "ecs"));
    let result = f.ok(pay_order("p1", "customer:C1", T1, "O1", &["K2", "K1"]));
    assert_eq!(result, json!({"paid": [paid("O1", "370.00", "80.00", "100.00", "190.00", "0.00")]}));
    // 10.00 of cash is left, and no credit stands behind it.
    f.ok(place_service("o2", T1, "O2", "10.01", "obs"));
    refused(&f, pay_order("p2", "customer:C1", T1, "O2", &[]), "insufficient_funds");
    // Switched to referral, C1 keeps its own cash and the inactive K4; it may now have credit.
    let switched = f.ok(command("switch_association", "s1", "partner:D1", T2, json!({"customer": "C1", "association": "referral"})));
    assert_eq!(switched, json!({"customer": "C1", "association": "referral", "reclaimed_allocated": "0.00", "reclaimed_coupons": []}));
    f.ok(credit_limit("l1", T2, "customer:C1", "100"));
    f.ok(recharge("r1", T2, "customer:C1", "5"));
    let february = "2026-02-02T00:00:00Z";
    f.ok(place_service("o3", february, "O3", "40", "obs"));
    let result = f.ok(pay_order("p3", "customer:C1", february, "O3", &["K4"]));
    assert_eq!(result, json!({"paid": [paid("O3", "40.00", "10.00", "0.00", "15.00", "15.00")]}));
    assert_eq!(funds(&f, "customer:C1", february), json!(["0.00", "0.00", "15.00"]));
    assert_eq!(money_total(&f), 0);
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn the_listed_order_of_the_coupons_decides_the_draw() {
    let f = shop();
    three_orders(&f);
    let result = f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K1", "K2"]));
    // O1: K1 50 + K2 10. O2 (obs): K1 is spent, K2 does not cover it: allocated 100 + cash 20.
    // O3 (ecs): K2's remaining 20, then cash 20.
    let expected = json!({"paid": [
        paid("O1", "60.00", "60.00", "0.00", "0.00", "0.00"),
        paid("O2", "120.00", "0.00", "100.00", "20.00", "0.00"),
        paid("O3", "40.00", "20.00", "0.00", "20.00", "0.00")
    ]});
    assert_eq!(result, expected);
    assert_eq!(funds(&f, "customer:C1", T2), json!(["0.00", "160.00", "0.00"]));
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&[("K1", "0.00", "used"), ("K2", "0.00", "used")]));
}

#[test]
fn a_combined_order_that_fails_on_its_last_member_changes_nothing() {
    let f = shop();
    f.ok(place_combined("g1", T1, "G1", json!([line("O1", "60", "new", "ecs"), line("O2", "300", "new", "obs")])));
    // time_went_backwards comes before funds errors (SPEC 2.2).
    refused(&f, pay_order("p0", "customer:C1", SETUP_AT, "G1", &["K1"]), "time_went_backwards");
    // O1 would take K1 50 + allocated 10; O2 then finds allocated 90 + cash 200 = 290 < 300, and a
    // resale customer has no credit to fall back on.
    let error = refused(&f, pay_order("p1", "customer:C1", T2, "G1", &["K1"]), "insufficient_funds");
    assert_eq!(error["cbc"], "CBC.99005003");
    assert_eq!(statuses(&f, &["O1", "O2"], T2), vec![json!("pending_payment"), json!("pending_payment")]);
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&[("K1", "50.00", "usable"), ("K2", "30.00", "usable")]));
    // Only the set-up compensation: the failed payment left no bill.
    assert_eq!(bill_ids(&f, "customer:C1"), vec![json!("shop-2")]);
    assert_eq!(funds(&f, "customer:C1", T2), json!(["100.00", "200.00", "0.00"]));
    // One fen less on the last member and everything is covered.
    f.ok(place_combined("g2", T2, "G2", json!([line("O3", "60", "new", "ecs"), line("O4", "290", "new", "obs")])));
    let result = f.ok(pay_order("p2", "customer:C1", T2, "G2", &["K1"]));
    assert_eq!(
        result,
        json!({"paid": [paid("O3", "60.00", "50.00", "10.00", "0.00", "0.00"), paid("O4", "290.00", "0.00", "90.00", "200.00", "0.00")]})
    );
    assert_eq!(funds(&f, "customer:C1", T2), json!(["0.00", "0.00", "0.00"]));
}

#[test]
fn a_coupon_pays_only_for_the_services_it_covers() {
    let f = shop();
    f.ok(place_combined("g1", T1, "G1", json!([line("O1", "20", "new", "ecs"), line("O2", "50", "new", "obs")])));
    let result = f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K2"]));
    assert_eq!(
        result,
        json!({"paid": [paid("O1", "20.00", "20.00", "0.00", "0.00", "0.00"), paid("O2", "50.00", "0.00", "50.00", "0.00", "0.00")]})
    );
    assert_eq!(coupons_at(&f, "customer:C1", T2)[1], triples(&[("K2", "10.00", "usable")])[0]);
    assert_eq!((f.allocated("customer:C1"), f.cash("customer:C1")), ("50.00".to_owned(), "200.00".to_owned()));
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
    refused(&f, ask_partner("r1", "customer:C1", T2, "O1"), "use_combined_order_id");
    refused(&f, pay_as_partner("p2", "partner:D1", T2, "O1"), "use_combined_order_id");
    assert_eq!(
        f.ok(pay_order("p3", "customer:C1", T2, "G1", &[])),
        json!({"paid": [paid("O1", "20.00", "0.00", "20.00", "0.00", "0.00"), paid("O2", "30.00", "0.00", "30.00", "0.00", "0.00")]})
    );
    // Once paid, each order lives on its own.
    assert_eq!(f.ok(unsubscribe("u1", "customer:C1", T3, "O1", "20")), refund("0.00", "20.00", "0.00", "0.00"));
    assert_eq!(statuses(&f, &["O1", "O2"], T3), vec![json!("unsubscribed"), json!("paid")]);
    assert_eq!(f.allocated("customer:C1"), "70.00");
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
    assert_eq!(f.allocated("customer:C1"), "90.00");
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
    assert_eq!(
        result,
        json!({"paid": [paid("O2", "5.00", "5.00", "0.00", "0.00", "0.00"), paid("O3", "10.00", "10.00", "0.00", "0.00", "0.00")]})
    );
    let expected = [("K1", "45.00", "usable"), ("K2", "30.00", "usable"), ("K4", "10.00", "inactive"), ("K5", "0.00", "used")];
    assert_eq!(coupons_at(&f, "customer:C1", T1), triples(&expected));
    assert_eq!(funds(&f, "customer:C1", T1), json!(["100.00", "200.00", "0.00"]));
}

// ---- payment by the partner ----

/// C1 asks D1 (credit limit 500.00, 8900.00 of cash) to pay O1 (100.00) and O2 (9000.00); D1 pays
/// both from its own funds.
fn partner_paid(f: &Fixture) {
    f.ok(credit_limit("l1", T1, "partner:D1", "500"));
    f.ok(place_service("o1", T1, "O1", "100", "ecs"));
    f.ok(place_service("o2", T1, "O2", "9000", "ecs"));
    assert_eq!(f.ok(ask_partner("r1", "customer:C1", T1, "O1")), asked("O1", &["O1"], "requested"));
    assert_eq!(f.ok(ask_partner("r2", "customer:C1", T1, "O2")), asked("O2", &["O2"], "requested"));
    assert_eq!(
        f.ok(pay_as_partner("p1", "partner:D1", T1, "O1")),
        json!({"paid": [paid("O1", "100.00", "0.00", "0.00", "100.00", "0.00")]})
    );
    assert_eq!(
        f.ok(pay_as_partner("p2", "partner:D1", T1, "O2")),
        json!({"paid": [paid("O2", "9000.00", "0.00", "0.00", "8800.00", "200.00")]})
    );
}

#[test]
fn a_partner_pays_for_its_resale_customer_from_its_own_funds() {
    let f = shop();
    partner_paid(&f);
    assert_eq!(partner_funds(&f, "partner:D1", T1), json!(["0.00", "200.00"]));
    // The customer's allocated funds, own cash and coupons are untouched.
    assert_eq!(funds(&f, "customer:C1", T1), json!(["100.00", "200.00", "0.00"]));
    assert_eq!(coupons_at(&f, "customer:C1", T1), triples(&[("K1", "50.00", "usable"), ("K2", "30.00", "usable")]));
    let o2 = order(&f, "O2", T1);
    // Paying fulfils the request: it is no longer open.
    assert_eq!(json!([o2["payer"], o2["partner_payment"], o2["status"]]), json!(["partner:D1", null, "paid"]));
    assert_eq!(
        o2["paid"],
        json!({"due": "9000.00", "discount": "0.00", "coupon": "0.00", "allocated": "0.00", "cash": "8800.00", "credit": "200.00"})
    );
    let partner_bills = bills(&f, "partner:D1", json!({}));
    assert_eq!(partner_bills["total_count"], 2);
    let bill = &partner_bills["bills"][1];
    assert_eq!(
        json!([bill["bill"], bill["credit_amount"], bill["allocated_amount"], bill["invoice_owner"], bill["invoiceable"]]),
        json!(["O2", "200.00", "0.00", "partner:D1", "9000.00"])
    );
    // The customer sees the bills of its orders (after its own compensation bill).
    assert_eq!(bill_ids(&f, "customer:C1"), vec![json!("shop-2"), json!("O1"), json!("O2")]);
    assert_eq!(money_total(&f), 0);
}

#[test]
fn partner_payment_is_requested_by_the_customer_and_may_be_rejected() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    // Without a request the partner may not pay (v2).
    let error = refused(&f, pay_as_partner("p0", "partner:D1", T1, "O1"), "order_state");
    assert_eq!(error["cbc"], "CBC.99003106");
    assert_eq!(f.ok(ask_partner("r1", "customer:C1", T1, "O1")), asked("O1", &["O1"], "requested"));
    assert_eq!(order(&f, "O1", T1)["partner_payment"], "requested");
    // The partner's "awaiting payment" list.
    let awaiting = f.ok(json!({"op": "orders", "actor": "partner:D1", "at": T1, "partner_payment": "requested"}));
    assert_eq!((awaiting["total_count"].clone(), awaiting["orders"][0]["order"].clone()), (json!(1), json!("O1")));
    // While the request is open: no second request, and the customer does not pay itself.
    refused(&f, ask_partner("r2", "customer:C1", T1, "O1"), "order_state");
    refused(&f, pay_order("p1", "customer:C1", T1, "O1", &[]), "order_state");
    // Only the partner's side rejects.
    refused(&f, reject_ask("j1", "customer:C1", T2, "O1"), "access_denied");
    refused(&f, reject_ask("j2", "partner:D2", T2, "O1"), "access_denied");
    refused(&f, reject_ask("j3", "platform", T2, "O1"), "access_denied");
    assert_eq!(f.ok(reject_ask("j4", "partner:D1", T2, "O1")), asked("O1", &["O1"], "rejected"));
    assert_eq!(order(&f, "O1", T2)["partner_payment"], "rejected");
    refused(&f, reject_ask("j5", "partner:D1", T2, "O1"), "order_state");
    refused(&f, pay_as_partner("p2", "partner:D1", T2, "O1"), "order_state");
    // The customer pays itself again; the rejection stays shown.
    assert_eq!(
        f.ok(pay_order("p3", "customer:C1", T2, "O1", &[])),
        json!({"paid": [paid("O1", "10.00", "0.00", "10.00", "0.00", "0.00")]})
    );
    let o1 = order(&f, "O1", T2);
    assert_eq!(json!([o1["payer"], o1["partner_payment"], o1["status"]]), json!(["customer:C1", "rejected", "paid"]));
    refused(&f, ask_partner("r3", "customer:C1", T2, "O1"), "order_state");
    // After a rejection the customer may ask again; cancelling ends the request.
    f.ok(place_order("o2", "customer:C1", T2, "O2", "C1", "10"));
    f.ok(ask_partner("r4", "customer:C1", T2, "O2"));
    f.ok(reject_ask("j6", "partner:D1", T2, "O2"));
    assert_eq!(f.ok(ask_partner("r5", "customer:C1", T2, "O2")), asked("O2", &["O2"], "requested"));
    assert_eq!(f.ok(cancel("c2", "customer:C1", T2, "O2")), json!({"cancelled": ["O2"]}));
    let o2 = order(&f, "O2", T2);
    assert_eq!(json!([o2["status"], o2["partner_payment"], o2["payer"]]), json!(["cancelled", null, null]));
    refused(&f, pay_as_partner("p4", "partner:D1", T2, "O2"), "order_state");
    assert_eq!(partner_funds(&f, "partner:D1", T2), json!(["8900.00", "0.00"]));
}

#[test]
fn only_an_associated_customer_asks_for_a_pending_order_in_time() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    f.ok(place_order("o2", "customer:C1", T1, "O2", "C1", "10"));
    f.ok(pay_order("p2", "customer:C1", T1, "O2", &[]));
    f.ok(with(place_order("o3", "customer:C1", T1, "O3", "C1", "10"), json!({"pay_deadline": T2})));
    f.ok(place_order("o4", "customer:C4", T1, "O4", "C4", "10"));
    f.ok(place_order("o5", "customer:CR", T1, "O5", "CR", "10"));
    // Only the customer itself asks.
    refused(&f, ask_partner("r1", "partner:D1", T1, "O1"), "access_denied");
    refused(&f, ask_partner("r2", "platform", T1, "O1"), "access_denied");
    refused(&f, ask_partner("r3", "customer:C4", T1, "O1"), "access_denied");
    refused(&f, ask_partner("r4", "customer:C1", T1, "OX"), "not_found");
    // An unassociated customer has no partner; a distributor's referral customer may not ask.
    refused(&f, ask_partner("r5", "customer:C4", T1, "O4"), "association_state");
    let error = refused(&f, ask_partner("r6", "customer:CR", T1, "O5"), "not_resale_customer");
    assert_eq!(error["cbc"], "CBC.99000014");
    // Nor may D1 pay for CR, which can never have asked.
    refused(&f, pay_as_partner("p5", "partner:D1", T1, "O5"), "order_state");
    refused(&f, ask_partner("r7", "customer:C1", T1, "O2"), "order_state");
    refused(&f, ask_partner("r8", "customer:C1", T3, "O3"), "order_expired");
    refused(&f, ask_partner("r9", "customer:C1", SETUP_AT, "O1"), "time_went_backwards");
    assert_eq!(order(&f, "O1", T1)["partner_payment"], json!(null));
}

#[test]
fn a_partner_pays_a_combined_order_its_customer_asked_it_to_pay() {
    let f = shop();
    f.ok(register_operator("op1", SETUP_AT, "F1", "D1", &["finance"]));
    f.ok(register_operator("op2", SETUP_AT, "M1", "D1", &["customer_manager"]));
    f.ok(register_operator("op3", SETUP_AT, "F2", "D2", &["finance"]));
    f.ok(place_combined(
        "g1",
        T1,
        "G1",
        json!([line("O1", "60", "new", "ecs"), line("O2", "8900", "new", "obs"), line("O3", "40", "new", "ecs")]),
    ));
    // The request covers every member.
    assert_eq!(f.ok(ask_partner("r1", "customer:C1", T1, "G1")), asked("G1", &["O1", "O2", "O3"], "requested"));
    assert_eq!(statuses(&f, &["O1", "O2", "O3"], T1), vec![json!("pending_payment"); 3]);
    for id in ["O1", "O2", "O3"] {
        assert_eq!(order(&f, id, T1)["partner_payment"], "requested");
    }
    refused(&f, pay_as_partner("p1", "operator:M1", T2, "G1"), "access_denied");
    refused(&f, pay_as_partner("p2", "operator:F2", T2, "G1"), "access_denied");
    refused(&f, pay_as_partner("p3", "partner:D2", T2, "G1"), "access_denied");
    refused(&f, pay_as_partner("p4", "customer:C1", T2, "G1"), "access_denied");
    refused(&f, with(pay_as_partner("p5", "partner:D1", T2, "G1"), json!({"coupons": ["K1"]})), "invalid_request");
    // D1 has 8900.00 of cash; with 99.99 of credit it falls one fen short on the last member.
    f.ok(credit_limit("l1", T2, "partner:D1", "99.99"));
    refused(&f, pay_as_partner("p6", "operator:F1", T2, "G1"), "insufficient_funds");
    assert_eq!(statuses(&f, &["O1", "O2", "O3"], T2), vec![json!("pending_payment"); 3]);
    f.ok(credit_limit("l2", T2, "partner:D1", "100"));
    // A finance operator pays as its partner: the payer is D1.
    let result = f.ok(pay_as_partner("p7", "operator:F1", T2, "G1"));
    let expected = json!({"paid": [
        paid("O1", "60.00", "0.00", "0.00", "60.00", "0.00"),
        paid("O2", "8900.00", "0.00", "0.00", "8840.00", "60.00"),
        paid("O3", "40.00", "0.00", "0.00", "0.00", "40.00")
    ]});
    assert_eq!(result, expected);
    for id in ["O1", "O2", "O3"] {
        let paid = order(&f, id, T2);
        assert_eq!(json!([paid["status"], paid["payer"], paid["partner_payment"]]), json!(["paid", "partner:D1", null]));
    }
    assert_eq!(partner_funds(&f, "partner:D1", T2), json!(["0.00", "100.00"]));
    assert_eq!(funds(&f, "customer:C1", T2), json!(["100.00", "200.00", "0.00"]));
    assert_eq!(money_total(&f), 0);
}

#[test]
fn a_distributor_pays_for_its_resellers_customer_from_the_resellers_funds() {
    let f = shop();
    f.ok(place_order("o1", "customer:C2", T1, "O1", "C2", "300"));
    f.ok(ask_partner("r1", "customer:C2", T1, "O1"));
    // The payer is always the customer's own partner: R1, even when D1 acts.
    assert_eq!(
        f.ok(pay_as_partner("p1", "partner:D1", T2, "O1")),
        json!({"paid": [paid("O1", "300.00", "0.00", "0.00", "300.00", "0.00")]})
    );
    assert_eq!(order(&f, "O1", T2)["payer"], "partner:R1");
    assert_eq!(partner_funds(&f, "partner:R1", T2), json!(["700.00", "0.00"]));
    assert_eq!(partner_funds(&f, "partner:D1", T2), json!(["8900.00", "0.00"]));
    assert_eq!(bill_ids(&f, "partner:R1"), vec![json!("O1")]);
}

#[test]
fn a_solution_providers_referral_customer_asks_and_invoices_the_bill_itself() {
    let f = Fixture::with_cast();
    let switched = f.ok(command("switch_association", "s1", "partner:S1", SETUP_AT, json!({"customer": "C3", "association": "referral"})));
    assert_eq!(switched["association"], "referral");
    f.ok(place_order("o1", "customer:C3", T1, "O1", "C3", "100"));
    assert_eq!(f.ok(ask_partner("r1", "customer:C3", T1, "O1")), asked("O1", &["O1"], "requested"));
    assert_eq!(
        f.ok(pay_as_partner("p1", "partner:S1", T1, "O1")),
        json!({"paid": [paid("O1", "100.00", "0.00", "0.00", "100.00", "0.00")]})
    );
    // S1 paid, but the bill is the customer's to invoice (SPEC 5, v2).
    let bill = &bills(&f, "partner:S1", json!({}))["bills"][0];
    assert_eq!(json!([bill["bill"], bill["cash_amount"], bill["invoice_owner"]]), json!(["O1", "100.00", "customer:C3"]));
    assert_eq!(bill_ids(&f, "customer:C3"), vec![json!("O1")]);
    let invoiceable = |party: &str| f.ok(json!({"op": "invoiceable", "actor": "platform", "party": party}));
    assert_eq!(invoiceable("customer:C3")["total"], "100.00");
    assert_eq!(invoiceable("partner:S1"), json!({"total": "0.00", "items": []}));
    // The partner reads the order it paid.
    let read = f.ok(json!({"op": "order", "actor": "partner:S1", "at": T1, "order": "O1"}));
    assert_eq!(read["payer"], "partner:S1");
    // The refund goes to the payer's cash; its bill follows the payment bill's owner.
    assert_eq!(f.ok(unsubscribe("u1", "customer:C3", T2, "O1", "100")), refund("0.00", "0.00", "0.00", "100.00"));
    assert_eq!(f.cash("partner:S1"), "10000.00");
    assert_eq!(f.cash("customer:C3"), "0.00");
    let refund_bill = &bills(&f, "partner:S1", json!({}))["bills"][1];
    assert_eq!(json!([refund_bill["bill"], refund_bill["invoice_owner"]]), json!(["O1:refund", "customer:C3"]));
    assert_eq!(invoiceable("customer:C3")["total"], "0.00");
    assert_eq!(money_total(&f), 0);
}

#[test]
fn partner_payment_refusals_change_nothing() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "10"));
    f.ok(ask_partner("r1", "customer:C1", T1, "O1"));
    let with_coupon = with(pay_as_partner("p1", "partner:D1", T1, "O1"), json!({"coupons": ["K1"]}));
    refused(&f, with_coupon, "invalid_request");
    refused(&f, pay_as_partner("p3", "customer:C1", T1, "O1"), "access_denied");
    refused(&f, pay_as_partner("p4", "partner:D2", T1, "O1"), "access_denied");
    refused(&f, pay_as_partner("p5", "platform", T1, "O1"), "access_denied");
    refused(&f, pay_as_partner("p8", "partner:D1", T1, "OX"), "not_found");
    // As a customer payer, only the customer itself pays.
    refused(&f, pay_order("p6", "partner:D1", T1, "O1", &[]), "access_denied");
    refused(&f, with(pay_order("p7", "customer:C1", T1, "O1", &[]), json!({"payer": "reseller"})), "invalid_request");
    assert_eq!(order(&f, "O1", T1)["partner_payment"], "requested");
}

// ---- bills ----

#[test]
fn each_paid_order_gets_one_bill_named_after_it() {
    let f = shop();
    three_orders(&f);
    f.ok(pay_order("p1", "customer:C1", T2, "G1", &["K2", "K1"]));
    let listing = bills(&f, "customer:C1", json!({}));
    let ids: Vec<Value> = listing["bills"].as_array().expect("bills").iter().map(|bill| json!([bill["bill"], bill["bill_type"]])).collect();
    assert_eq!(ids, vec![json!(["shop-2", "compensation"]), json!(["O1", "new"]), json!(["O2", "renew"]), json!(["O3", "change"])]);
    let expected = json!({
        "bill": "O2", "bill_type": "renew", "at": T2, "cycle": "2026-01", "order": "O2", "amount": "120.00",
        "discount_amount": "0.00", "coupon_amount": "20.00", "allocated_amount": "100.00", "cash_amount": "0.00", "credit_amount": "0.00",
        "debt_amount": "0.00", "erase_amount": "0.00000000", "invoice_owner": "customer:C1", "invoiceable": "100.00", "invoiced": "0.00"
    });
    assert_eq!(listing["bills"][2], expected);
    // Coupon value is never invoiceable; allocated funds and cash are.
    assert_eq!((listing["bills"][1]["invoiceable"].clone(), listing["bills"][3]["invoiceable"].clone()), (json!("0.00"), json!("40.00")));
    let page = bills(&f, "customer:C1", json!({"offset": 3, "limit": 1}));
    assert_eq!((page["total_count"].clone(), page["bills"][0]["bill"].clone()), (json!(4), json!("O3")));
}

#[test]
fn bills_fall_in_billing_cycles_of_utc_plus_8() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", SETUP_AT, "customer:CR", "15"));
    f.ok(credit_limit("l1", SETUP_AT, "customer:CR", "10"));
    for (n, at) in [(1, "2026-01-31T15:59:59Z"), (2, "2026-01-31T16:00:00Z")] {
        f.ok(place_order(&format!("o{n}"), "customer:CR", at, &format!("O{n}"), "CR", "10"));
        f.ok(pay_order(&format!("p{n}"), "customer:CR", at, &format!("O{n}"), &[]));
    }
    let january = bills(&f, "customer:CR", json!({"cycle": "2026-01"}));
    let expected = json!({
        "bill": "O1", "bill_type": "new", "at": "2026-01-31T15:59:59Z", "cycle": "2026-01", "order": "O1", "amount": "10.00",
        "discount_amount": "0.00", "coupon_amount": "0.00", "allocated_amount": "0.00", "cash_amount": "10.00", "credit_amount": "0.00",
        "debt_amount": "0.00", "erase_amount": "0.00000000", "invoice_owner": "customer:CR", "invoiceable": "10.00", "invoiced": "0.00"
    });
    assert_eq!(january, json!({"total_count": 1, "bills": [expected]}));
    let february = bills(&f, "customer:CR", json!({"cycle": "2026-02"}));
    let bill = &february["bills"][0];
    assert_eq!(february["total_count"], 1);
    // The credit part is invoiceable too.
    assert_eq!(
        json!([bill["bill"], bill["cycle"], bill["cash_amount"], bill["credit_amount"], bill["invoiceable"]]),
        json!(["O2", "2026-02", "5.00", "5.00", "10.00"])
    );
    assert_eq!(bills(&f, "customer:CR", json!({"cycle": "2026-03"})), json!({"total_count": 0, "bills": []}));
    let bad = f.send(json!({"op": "bills", "actor": "platform", "party": "customer:CR", "cycle": "2026-13"}));
    assert_eq!(bad["error"]["code"], "invalid_request");
    let denied = f.send(json!({"op": "bills", "actor": "customer:C4", "party": "customer:CR"}));
    assert_eq!(denied["error"]["code"], "access_denied");
    // A partner reads its referral customer's bills (v2 reach); another partner does not.
    let read = f.send(json!({"op": "bills", "actor": "partner:D1", "party": "customer:CR"}));
    assert_eq!(read["result"]["total_count"], 2);
    let denied = f.send(json!({"op": "bills", "actor": "partner:D2", "party": "customer:CR"}));
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
    assert_eq!(f.allocated("customer:C1"), "90.00");
}

// ---- unsubscribe ----

#[test]
fn unsubscribe_refunds_part_by_part_and_never_coupon_value() {
    let f = shop();
    f.ok(place_service("o1", T1, "O1", "250", "ecs"));
    assert_eq!(
        f.ok(pay_order("p1", "customer:C1", T1, "O1", &["K1"])),
        json!({"paid": [paid("O1", "250.00", "50.00", "100.00", "100.00", "0.00")]})
    );
    let error = refused(&f, unsubscribe("u0", "customer:C1", T2, "O1", "200.01"), "refund_exceeds_paid");
    assert_eq!(error["cbc"], "CBC.0101");
    // No credit was drawn; then up to the 100.00 drawn from allocated; the rest to cash.
    let response = f.send(unsubscribe("u1", "customer:C1", T2, "O1", "150"));
    let expected = json!({"id": "u1", "ok": true, "seq": 21, "duplicate": false, "result": refund("0.00", "100.00", "0.00", "50.00")});
    assert_eq!(response, expected);
    assert_eq!(funds(&f, "customer:C1", T2), json!(["100.00", "150.00", "0.00"]));
    assert_eq!(coupons_at(&f, "customer:C1", T2)[0], triples(&[("K1", "0.00", "used")])[0]);
    let unsubscribed = order(&f, "O1", T2);
    assert_eq!((unsubscribed["status"].clone(), unsubscribed["refunded"].clone()), (json!("unsubscribed"), json!("150.00")));
    let refund_bill = json!({
        "bill": "O1:refund", "bill_type": "refund", "at": T2, "cycle": "2026-01", "order": "O1", "amount": "-150.00",
        "discount_amount": "0.00", "coupon_amount": "0.00", "allocated_amount": "-100.00", "cash_amount": "-50.00", "credit_amount": "0.00",
        "debt_amount": "0.00", "erase_amount": "0.00000000", "invoice_owner": "customer:C1", "invoiceable": "-150.00", "invoiced": "0.00"
    });
    assert_eq!(bills(&f, "customer:C1", json!({}))["bills"][2], refund_bill);
    let accounts = platform(&f);
    // Revenue: -200.00 (the set-up compensation) + 200.00 paid - 150.00 refunded.
    assert_eq!((accounts["revenue"].clone(), accounts["coupon_redeemed"].clone()), (json!("-150.00"), json!("50.00")));
    refused(&f, unsubscribe("u2", "customer:C1", T3, "O1", "1"), "order_state");
    // A customer paying with credit gets credit back first, then cash.
    f.ok(recharge("r1", T3, "customer:CR", "100"));
    f.ok(credit_limit("l1", T3, "customer:CR", "200"));
    f.ok(place_order("o2", "customer:CR", T3, "O2", "CR", "250"));
    assert_eq!(
        f.ok(pay_order("p2", "customer:CR", T3, "O2", &[])),
        json!({"paid": [paid("O2", "250.00", "0.00", "0.00", "100.00", "150.00")]})
    );
    assert_eq!(f.ok(unsubscribe("u3", "customer:CR", T3, "O2", "200")), refund("150.00", "0.00", "0.00", "50.00"));
    assert_eq!(funds(&f, "customer:CR", T3), json!(["0.00", "50.00", "0.00"]));
    let credit_refund = &bills(&f, "customer:CR", json!({}))["bills"][1];
    assert_eq!(json!([credit_refund["credit_amount"], credit_refund["cash_amount"]]), json!(["-150.00", "-50.00"]));
    assert_eq!(money_total(&f), 0);
}

#[test]
fn an_allocated_part_goes_back_to_the_funding_partner_once_the_customer_left_it() {
    let f = shop();
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "60"));
    f.ok(place_order("o2", "customer:C1", T1, "O2", "C1", "70"));
    assert_eq!(
        f.ok(pay_order("p1", "customer:C1", T1, "O1", &[])),
        json!({"paid": [paid("O1", "60.00", "0.00", "60.00", "0.00", "0.00")]})
    );
    assert_eq!(
        f.ok(pay_order("p2", "customer:C1", T1, "O2", &[])),
        json!({"paid": [paid("O2", "70.00", "0.00", "40.00", "30.00", "0.00")]})
    );
    // Still D1's resale customer: the allocated part returns to `allocated`.
    assert_eq!(f.ok(unsubscribe("u1", "customer:C1", T2, "O1", "50")), refund("0.00", "50.00", "0.00", "0.00"));
    assert_eq!(funds(&f, "customer:C1", T2), json!(["50.00", "170.00", "0.00"]));
    // C1 leaves D1 (its allocated funds go back) and becomes D2's resale customer, keeping its cash.
    let unbound = f.ok(command("unbind", "b1", "partner:D1", T2, json!({"customer": "C1"})));
    assert_eq!(json!([unbound["reclaimed_allocated"], unbound["reclaimed_coupons"]]), json!(["50.00", ["K1", "K2"]]));
    f.ok(command("associate", "b2", "platform", T2, json!({"customer": "C1", "partner": "D2", "association": "resale"})));
    assert_eq!(f.cash("partner:D1"), "8950.00");
    // O2 drew 40.00 of D1's funds: they go back to D1, not to D2's customer; 20.00 of cash to C1.
    assert_eq!(f.ok(unsubscribe("u2", "customer:C1", T3, "O2", "60")), refund("0.00", "0.00", "40.00", "20.00"));
    assert_eq!(f.cash("partner:D1"), "8990.00");
    assert_eq!(f.cash("partner:D2"), "10000.00");
    assert_eq!(funds(&f, "customer:C1", T3), json!(["0.00", "190.00", "0.00"]));
    let records = f.ok(json!({"op": "adjust_records", "actor": "platform", "operation": "refund_reclaim"}));
    let record = &records["records"][0];
    assert_eq!(records["total_count"], 1);
    assert_eq!(
        json!([record["at"], record["operation"], record["partner"], record["target"], record["amount"]]),
        json!([T3, "refund_reclaim", "D1", "customer:C1", "40.00"])
    );
    let refund_bill = &bills(&f, "customer:C1", json!({}))["bills"];
    let last = refund_bill.as_array().and_then(|bills| bills.last()).expect("a refund bill");
    assert_eq!(
        json!([last["bill"], last["allocated_amount"], last["cash_amount"], last["invoiceable"]]),
        json!(["O2:refund", "-40.00", "-20.00", "-60.00"])
    );
    // A customer switched to referral has left its partner's funding too: S1 gets its part back.
    f.ok(allocate("a3", "partner:S1", T3, "customer:C3", "100"));
    f.ok(place_order("o3", "customer:C3", T3, "O3", "C3", "100"));
    f.ok(pay_order("p3", "customer:C3", T3, "O3", &[]));
    f.ok(command("switch_association", "s3", "partner:S1", T3, json!({"customer": "C3", "association": "referral"})));
    assert_eq!(f.ok(unsubscribe("u3", "platform", T3, "O3", "100")), refund("0.00", "0.00", "100.00", "0.00"));
    assert_eq!(f.cash("partner:S1"), "10000.00");
    assert_eq!(funds(&f, "customer:C3", T3), json!(["0.00", "0.00", "0.00"]));
    assert_eq!(money_total(&f), 0);
}

#[test]
fn unsubscribe_returns_credit_only_up_to_the_credit_in_use_and_repays_debt_first() {
    let f = Fixture::with_cast();
    f.ok(recharge("r0", T1, "customer:CR", "50"));
    f.ok(credit_limit("l1", T1, "customer:CR", "50"));
    f.ok(place_order("o1", "customer:CR", T1, "O1", "CR", "100"));
    assert_eq!(
        f.ok(pay_order("p1", "customer:CR", T1, "O1", &[])),
        json!({"paid": [paid("O1", "100.00", "0.00", "0.00", "50.00", "50.00")]})
    );
    f.ok(recharge("r1", T1, "customer:CR", "40"));
    f.ok(command("repay_credit", "r2", "customer:CR", T1, json!({"party": "customer:CR", "amount": "40"})));
    f.ok(credit_limit("l2", T1, "customer:CR", "10"));
    assert_eq!(f.ok(consume("u1", T1, "CR", "30"))["debt"], "30.00");
    // The order drew 50 of credit, but only 10 is in use: 10 to credit, 90 to cash, debt first.
    assert_eq!(f.ok(unsubscribe("x1", "platform", T2, "O1", "100")), refund("10.00", "0.00", "0.00", "90.00"));
    let balance = balance_at(&f, "customer:CR", T2);
    let parts = (balance["cash"].clone(), balance["credit_used"].clone(), balance["arrears"].clone());
    assert_eq!(parts, (json!("60.00"), json!("0.00"), json!("0.00")));
    let arrears = f.ok(json!({"op": "statement", "actor": "platform", "party": "customer:CR", "account": "arrears"}));
    let last = &arrears["lines"][1];
    assert_eq!(json!([last["op"], last["request"], last["amount"], last["balance_after"]]), json!(["unsubscribe", "x1", "30.00", "0.00"]));
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
    // An invoiced bill cannot be refunded, even in part.
    f.ok(recharge("r3", T1, "customer:CR", "10"));
    f.ok(place_order("o3", "customer:CR", T1, "O3", "CR", "10"));
    f.ok(pay_order("p3", "customer:CR", T1, "O3", &[]));
    f.ok(command("request_invoice", "i3", "customer:CR", T1, json!({"invoice": "I3", "party": "customer:CR", "amount": "1"})));
    let error = refused(&f, unsubscribe("u9", "customer:CR", T2, "O3", "1"), "already_invoiced");
    assert_eq!(error["cbc"], "CBC.99003643");
    assert_eq!(f.ok(unsubscribe("u8", "customer:C1", T2, "O2", "10")), refund("0.00", "10.00", "0.00", "0.00"));
}

#[test]
fn a_partner_paid_order_is_refunded_to_the_partner() {
    let f = shop();
    partner_paid(&f);
    // Credit first: min(300, 200 drawn, 200 in use), then cash; D1 drew nothing from `allocated`.
    assert_eq!(f.ok(unsubscribe("u1", "customer:C1", T2, "O2", "300")), refund("200.00", "0.00", "0.00", "100.00"));
    assert_eq!(f.ok(unsubscribe("u2", "platform", T2, "O1", "100")), refund("0.00", "0.00", "0.00", "100.00"));
    assert_eq!(partner_funds(&f, "partner:D1", T2), json!(["200.00", "0.00"]));
    // Nothing reaches the customer.
    assert_eq!(funds(&f, "customer:C1", T2), json!(["100.00", "200.00", "0.00"]));
    let partner_bills = bills(&f, "partner:D1", json!({}));
    let ids: Vec<Value> = partner_bills["bills"].as_array().expect("bills").iter().map(|bill| bill["bill"].clone()).collect();
    assert_eq!(ids, vec![json!("O1"), json!("O2"), json!("O2:refund"), json!("O1:refund")]);
    let refund_bill = &partner_bills["bills"][2];
    assert_eq!(
        json!([refund_bill["amount"], refund_bill["credit_amount"], refund_bill["cash_amount"], refund_bill["invoice_owner"]]),
        json!(["-300.00", "-200.00", "-100.00", "partner:D1"])
    );
    let records = f.ok(json!({"op": "adjust_records", "actor": "platform", "operation": "refund_reclaim"}));
    assert_eq!(records["total_count"], 0);
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
    f.ok(place_order("o2", "customer:CR", T1, "O2", "CR", "10"));
    let read = |actor: &str, op: Value| f.send(with(json!({"actor": actor, "at": T1}), op));
    assert_eq!(read("customer:C1", json!({"op": "order", "order": "O1"}))["result"]["order"], "O1");
    assert_eq!(read("partner:D1", json!({"op": "orders", "customer": "C1"}))["result"]["total_count"], 1);
    assert_eq!(read("customer:C4", json!({"op": "order", "order": "O1"}))["error"]["code"], "access_denied");
    assert_eq!(read("partner:D2", json!({"op": "orders", "customer": "C1"}))["error"]["code"], "access_denied");
    assert_eq!(read("platform", json!({"op": "order", "order": "OX"}))["error"]["code"], "not_found");
    // A referral customer's orders are the partner's only when it paid or was asked to pay (v2).
    assert_eq!(read("partner:D1", json!({"op": "order", "order": "O2"}))["error"]["code"], "access_denied");
    assert_eq!(read("partner:D1", json!({"op": "orders", "customer": "CR"}))["result"], json!({"total_count": 0, "orders": []}));
    let all = read("partner:D1", json!({"op": "orders"}))["result"].clone();
    assert_eq!((all["total_count"].clone(), all["orders"][0]["order"].clone()), (json!(1), json!("O1")));
    assert_eq!(read("platform", json!({"op": "orders"}))["result"]["total_count"], 2);
}
