//! Partner payment (代付, SPEC v2 3 "Orders"): a customer asks its partner to pay an order; the
//! partner pays or rejects; the customer cannot pay while a request is open and may pay itself
//! once it is rejected; an open request blocks unbinding and switching; a referral customer of a
//! solution provider invoices the bills its partner paid; every refusal changes nothing.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";
/// After the default 7-day deadline of orders placed at `T1`.
const LATE: &str = "2026-01-12T10:00:01Z";

fn ask(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("request_partner_payment", id, actor, at, json!({"order": order}))
}

fn reject(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("reject_partner_payment", id, actor, at, json!({"order": order, "reason": "over budget"}))
}

fn pay_as_partner(id: &str, actor: &str, at: &str, order: &str) -> Value {
    command("pay_order", id, actor, at, json!({"order": order, "payer": "partner"}))
}

fn order(f: &Fixture, order: &str) -> Value {
    f.ok(json!({"op": "order", "actor": "platform", "order": order}))
}

fn listed(f: &Fixture, actor: &str, filter: Value) -> Vec<String> {
    let result = f.ok(with(json!({"op": "orders", "actor": actor, "limit": 100}), filter));
    result["orders"].as_array().expect("orders").iter().map(|order| order["order"].as_str().expect("id").to_owned()).collect()
}

/// The cast; C1 (resale of D1) has 40.00 allocated and order O1 of 30.00; CS is a referral customer
/// of solution provider S1 with 50.00 of its own and order OS of 20.00. All at `T1`.
fn asking() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "40"));
    f.ok(place_order("o1", "customer:C1", T1, "O1", "C1", "30"));
    f.ok(command("register_customer", "cs", "partner:S1", T1, json!({"customer": "CS", "partner": "S1", "association": "referral"})));
    f.ok(recharge("r1", T1, "customer:CS", "50"));
    f.ok(place_order("o2", "customer:CS", T1, "OS", "CS", "20"));
    f
}

#[test]
fn the_partner_pays_an_order_its_customer_asked_it_to_pay() {
    let f = asking();
    let asked = f.send(ask("q1", "customer:C1", T1, "O1"));
    assert_eq!(asked["result"], json!({"order": "O1", "orders": ["O1"], "partner_payment": "requested"}));
    assert_eq!(order(&f, "O1")["partner_payment"], "requested");
    // The partner's list of orders awaiting its payment.
    assert_eq!(listed(&f, "partner:D1", json!({"partner_payment": "requested"})), ["O1"]);
    assert_eq!(listed(&f, "customer:C1", json!({"partner_payment": "requested"})), ["O1"]);
    // While the request is open the customer cannot pay itself.
    let error = refused(&f, pay_order("p0", "customer:C1", T1, "O1", &[]), "order_state");
    assert_eq!(error["cbc"], "CBC.99003106");
    let paid = f.ok(pay_as_partner("p1", "partner:D1", T2, "O1"));
    let row = json!({"order": "O1", "due": "30.00", "discount": "0.00",
        "coupon": "0.00", "allocated": "0.00", "cash": "30.00", "credit": "0.00"});
    assert_eq!(paid, json!({"paid": [row]}));
    let o1 = order(&f, "O1");
    assert_eq!(
        (o1["status"].clone(), o1["payer"].clone(), o1["partner_payment"].clone()),
        (json!("paid"), json!("partner:D1"), json!(null))
    );
    assert_eq!(f.cash("partner:D1"), "8930.00");
    assert_eq!(f.allocated("customer:C1"), "40.00");
    assert!(listed(&f, "partner:D1", json!({"partner_payment": "requested"})).is_empty());
    // The bill is the partner's to invoice: C1 is a resale customer.
    let bill = &f.ok(json!({"op": "bills", "actor": "platform", "party": "customer:C1"}))["bills"][0];
    assert_eq!((bill["invoice_owner"].clone(), bill["cash_amount"].clone()), (json!("partner:D1"), json!("30.00")));
    assert!(f.ledger.verify().is_ok());
}

#[test]
fn a_rejected_request_lets_the_customer_pay_itself() {
    let f = asking();
    f.ok(ask("q1", "customer:C1", T1, "O1"));
    let rejected = f.ok(reject("x1", "partner:D1", T1, "O1"));
    assert_eq!(rejected, json!({"order": "O1", "orders": ["O1"], "partner_payment": "rejected"}));
    // The partner may no longer pay; the customer may.
    refused(&f, pay_as_partner("p1", "partner:D1", T1, "O1"), "order_state");
    let paid = f.ok(pay_order("p2", "customer:C1", T1, "O1", &[]));
    let row = json!({"order": "O1", "due": "30.00", "discount": "0.00",
        "coupon": "0.00", "allocated": "30.00", "cash": "0.00", "credit": "0.00"});
    assert_eq!(paid["paid"][0], row);
    let o1 = order(&f, "O1");
    assert_eq!((o1["payer"].clone(), o1["partner_payment"].clone()), (json!("customer:C1"), json!("rejected")));
    assert_eq!(listed(&f, "partner:D1", json!({"partner_payment": "rejected"})), ["O1"]);
}

#[test]
fn a_customer_may_ask_again_after_a_rejection_and_cancelling_ends_a_request() {
    let f = asking();
    f.ok(ask("q1", "customer:C1", T1, "O1"));
    // The distributor's finance operator rejects for it.
    f.ok(command("register_operator", "op", "platform", T1, json!({"operator": "OF", "partner": "D1", "roles": ["finance"]})));
    f.ok(command("register_operator", "om", "platform", T1, json!({"operator": "OM", "partner": "D1", "roles": ["customer_manager"]})));
    refused(&f, reject("x0", "operator:OM", T1, "O1"), "access_denied");
    f.ok(reject("x1", "operator:OF", T1, "O1"));
    assert_eq!(f.ok(ask("q2", "customer:C1", T1, "O1"))["partner_payment"], "requested");
    f.ok(command("cancel_order", "c1", "customer:C1", T1, json!({"order": "O1"})));
    let o1 = order(&f, "O1");
    assert_eq!((o1["status"].clone(), o1["partner_payment"].clone()), (json!("cancelled"), json!(null)));
    refused(&f, ask("q3", "customer:C1", T1, "O1"), "order_state");
}

#[test]
fn a_request_covers_every_member_of_a_combined_order() {
    let f = asking();
    let lines = json!([{"order": "M1", "amount": "5", "kind": "new"}, {"order": "M2", "amount": "7", "kind": "renew"}]);
    f.ok(command("place_combined_order", "g1", "customer:C1", T1, json!({"combined": "G1", "customer": "C1", "orders": lines})));
    let error = refused(&f, ask("q0", "customer:C1", T1, "M1"), "use_combined_order_id");
    assert_eq!(error["cbc"], "CBC.99000089");
    assert_eq!(f.ok(ask("q1", "customer:C1", T1, "G1")), json!({"order": "G1", "orders": ["M1", "M2"], "partner_payment": "requested"}));
    refused(&f, reject("x0", "partner:D1", T1, "M2"), "use_combined_order_id");
    let paid = f.ok(pay_as_partner("p1", "partner:D1", T1, "G1"));
    assert_eq!(paid["paid"].as_array().expect("paid").len(), 2);
    assert_eq!(f.cash("partner:D1"), "8948.00");
}

#[test]
fn a_solution_providers_referral_customer_invoices_the_bills_its_partner_paid() {
    let f = asking();
    f.ok(ask("q1", "customer:CS", T1, "OS"));
    // S1 reaches its referral customer's request and order, not its balance.
    assert_eq!(listed(&f, "partner:S1", json!({"partner_payment": "requested"})), ["OS"]);
    let balance = f.send(json!({"op": "balance", "actor": "partner:S1", "party": "customer:CS"}));
    assert_eq!(balance["error"]["code"], "access_denied");
    f.ok(pay_as_partner("p1", "partner:S1", T2, "OS"));
    assert_eq!(f.ok(json!({"op": "order", "actor": "partner:S1", "order": "OS"}))["payer"], "partner:S1");
    let bills = f.ok(json!({"op": "bills", "actor": "partner:S1", "party": "customer:CS"}));
    assert_eq!(
        (bills["bills"][0]["invoice_owner"].clone(), bills["bills"][0]["cash_amount"].clone()),
        (json!("customer:CS"), json!("20.00"))
    );
    // The customer invoices it; the partner, who paid, does not.
    let customer = f.ok(json!({"op": "invoiceable", "actor": "customer:CS", "party": "customer:CS"}));
    assert_eq!(customer["total"], "20.00");
    assert_eq!(f.ok(json!({"op": "invoiceable", "actor": "partner:S1", "party": "partner:S1"}))["total"], "0.00");
    let invoice = command("request_invoice", "i1", "customer:CS", T2, json!({"invoice": "I1", "party": "customer:CS", "amount": "20"}));
    assert_eq!(f.ok(invoice)["matched"], json!([{"bill": "OS", "amount": "20.00"}]));
    // The partner may not invoice for its referral customer either.
    let for_customer = command("request_invoice", "i2", "partner:S1", T2, json!({"invoice": "I2", "party": "customer:CS", "amount": "1"}));
    refused(&f, for_customer, "access_denied");
}

#[test]
fn an_open_request_blocks_unbind_and_switch_while_the_order_is_payable() {
    let f = asking();
    f.ok(ask("q1", "customer:C1", T1, "O1"));
    let error = refused(&f, command("unbind", "u1", "partner:D1", T1, json!({"customer": "C1"})), "association_blocked");
    assert_eq!(error["cbc"], "CBC.0155");
    refused(
        &f,
        command("switch_association", "s1", "partner:D1", T1, json!({"customer": "C1", "association": "referral"})),
        "association_blocked",
    );
    refused(&f, command("unbind", "u2", "platform", T1, json!({"customer": "C1"})), "association_blocked");
    // Past its deadline the order can no longer be paid: the request blocks nothing.
    let unbound = f.ok(command("unbind", "u3", "partner:D1", LATE, json!({"customer": "C1"})));
    assert_eq!(unbound["reclaimed_allocated"], "40.00");
}

#[test]
fn a_rejected_request_blocks_nothing() {
    let f = asking();
    f.ok(ask("q1", "customer:CS", T1, "OS"));
    refused(
        &f,
        command("switch_association", "s1", "partner:S1", T1, json!({"customer": "CS", "association": "resale"})),
        "association_blocked",
    );
    f.ok(reject("x1", "partner:S1", T1, "OS"));
    let unbound = f.ok(command("unbind", "u1", "partner:S1", T1, json!({"customer": "CS"})));
    assert_eq!(unbound, json!({"customer": "CS", "association": null, "reclaimed_allocated": "0.00", "reclaimed_coupons": []}));
    assert_eq!(f.cash("customer:CS"), "50.00");
}

#[test]
fn partner_payment_refusals_change_nothing() {
    let f = asking();
    f.ok(place_order("o3", "customer:C4", T1, "O4", "C4", "10"));
    f.ok(place_order("o4", "customer:CR", T1, "OR", "CR", "10"));
    // request_partner_payment
    refused(&f, ask("q1", "customer:C1", T1, "NOPE"), "not_found");
    refused(&f, ask("q2", "partner:D1", T1, "O1"), "access_denied");
    refused(&f, ask("q3", "customer:C2", T1, "O1"), "access_denied");
    refused(&f, ask("q4", "platform", T1, "O1"), "access_denied");
    let unassociated = refused(&f, ask("q5", "customer:C4", T1, "O4"), "association_state");
    assert_eq!(unassociated["cbc"], "CBC.0155");
    // A distributor's referral customer pays for itself (only a solution provider's may ask).
    let referral = refused(&f, ask("q6", "customer:CR", T1, "OR"), "not_resale_customer");
    assert_eq!(referral["cbc"], "CBC.99000014");
    refused(&f, ask("q7", "customer:C1", LATE, "O1"), "order_expired");
    refused(&f, ask("q8", "customer:C1", "2026-01-01T00:00:00Z", "O1"), "time_went_backwards");
    f.ok(ask("q9", "customer:C1", T1, "O1"));
    refused(&f, ask("q10", "customer:C1", T1, "O1"), "order_state");
    refused(&f, ask("q9", "customer:C1", T2, "O1"), "id_reused");
    // reject_partner_payment
    refused(&f, reject("x1", "partner:D1", T1, "NOPE"), "not_found");
    refused(&f, reject("x2", "customer:C1", T1, "O1"), "access_denied");
    refused(&f, reject("x3", "partner:D2", T1, "O1"), "access_denied");
    refused(&f, reject("x4", "partner:R1", T1, "O1"), "access_denied");
    refused(&f, reject("x5", "partner:S1", T1, "OS"), "order_state");
    refused(&f, command("reject_partner_payment", "x6", "partner:D1", T1, json!({"order": "O1"})), "invalid_request");
    // pay_order by the partner without an open request, or by someone else
    refused(&f, pay_as_partner("p1", "partner:S1", T1, "OS"), "order_state");
    refused(&f, pay_as_partner("p2", "partner:D2", T1, "O1"), "access_denied");
    refused(&f, pay_as_partner("p3", "customer:C1", T1, "O1"), "access_denied");
    assert_eq!(order(&f, "O1")["partner_payment"], "requested");
    assert!(f.ledger.verify().is_ok());
}
