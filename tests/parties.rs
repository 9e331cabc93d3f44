//! Parties (SPEC 3 "Parties"): register_partner, register_customer and associate succeed with
//! exact results, and every refusal names the right code and changes nothing.
mod common;
use common::Fixture;
use serde_json::{Value, json};

/// The balance of a party nothing was ever posted to (customers also show `allocated`).
fn zero_balance(party: &str) -> Value {
    let mut balance = json!({
        "party": party, "cash": "0.00", "held": "0.00", "available": "0.00", "credit_limit": "0.00",
        "credit_used": "0.00", "arrears": "0.00", "quotas": [], "coupons": [], "withdrawable": "0.00", "over_invoiced": "0.00"
    });
    if party.starts_with("customer:") {
        balance["allocated"] = json!("0.00");
        balance["partner"] = Value::Null;
        balance["association"] = Value::Null;
    }
    balance
}

fn register_partner(id: &str, actor: &str, partner: &str, kind: &str, parent: Option<&str>) -> Value {
    let mut request = json!({"op": "register_partner", "id": id, "actor": actor, "partner": partner, "kind": kind});
    if let Some(parent) = parent {
        request["parent"] = json!(parent);
    }
    request
}

fn recharge(id: &str, party: &str, amount: &str) -> Value {
    json!({"op": "recharge", "id": id, "actor": "platform", "party": party, "amount": amount})
}

fn allocate(id: &str, actor: &str, to: &str, amount: &str) -> Value {
    json!({"op": "allocate", "id": id, "actor": actor, "to": to, "amount": amount})
}

fn associate(id: &str, customer: &str, partner: &str, association: &str) -> Value {
    json!({"op": "associate", "id": id, "actor": "platform", "customer": customer, "partner": partner, "association": association})
}

#[test]
fn register_partner_answers_the_partner_in_one_transaction() {
    let f = Fixture::new();
    let response = f.send(register_partner("p1", "platform", "P1", "solution_provider", None));
    assert_eq!(response, json!({"id": "p1", "ok": true, "seq": 1, "duplicate": false, "result": {"partner": "P1"}}));
    assert_eq!(f.ledger.head().seq, 1);
    assert_eq!(f.balance("partner:P1"), zero_balance("partner:P1"));
    assert!(f.ledger.verify().is_ok());
}

#[test]
fn a_reseller_belongs_to_its_parent_distributor() {
    let f = Fixture::new();
    assert_eq!(f.ok(register_partner("p1", "platform", "D1", "distributor", None)), json!({"partner": "D1"}));
    assert_eq!(f.ok(register_partner("p2", "platform", "D2", "distributor", None)), json!({"partner": "D2"}));
    assert_eq!(f.ok(register_partner("p3", "platform", "R1", "reseller", Some("D1"))), json!({"partner": "R1"}));
    f.ok(recharge("r1", "partner:D1", "100"));
    f.ok(recharge("r2", "partner:D2", "100"));
    // Only the parent may fund the reseller: the relationship was recorded.
    assert_eq!(f.ok(allocate("a1", "partner:D1", "partner:R1", "40")), json!({"transfer": "a1"}));
    f.fails(allocate("a2", "partner:D2", "partner:R1", "40"), "not_your_reseller");
    assert_eq!(f.cash("partner:R1"), "40.00");
    assert_eq!(f.cash("partner:D1"), "60.00");
    assert_eq!(f.ledger.head().seq, 6);
}

#[test]
fn register_partner_refuses_an_existing_id() {
    let f = Fixture::with_cast();
    let error = f.fails(register_partner("p1", "platform", "D1", "distributor", None), "already_exists");
    assert_eq!(error["cbc"], "CBC.0100");
    // A different kind does not make it a different partner.
    f.fails(register_partner("p2", "platform", "S1", "distributor", None), "already_exists");
    f.fails(register_partner("p3", "platform", "R1", "reseller", Some("D2")), "already_exists");
}

#[test]
fn only_the_platform_registers_partners() {
    let f = Fixture::with_cast();
    f.fails(register_partner("p1", "partner:D1", "P1", "solution_provider", None), "access_denied");
    f.fails(register_partner("p2", "partner:D1", "R2", "reseller", Some("D1")), "access_denied");
    f.fails(register_partner("p3", "customer:C1", "P1", "solution_provider", None), "access_denied");
    f.fails(register_partner("p4", "partner:X", "P1", "solution_provider", None), "access_denied");
}

#[test]
fn parent_is_required_for_and_only_for_a_distributors_reseller() {
    let f = Fixture::with_cast();
    f.fails(register_partner("p1", "platform", "R2", "reseller", None), "invalid_request");
    f.fails(register_partner("p2", "platform", "P1", "distributor", Some("D1")), "invalid_request");
    f.fails(register_partner("p3", "platform", "P1", "solution_provider", Some("D1")), "invalid_request");
    // The parent must be a distributor.
    f.fails(register_partner("p4", "platform", "R2", "reseller", Some("S1")), "invalid_request");
    f.fails(register_partner("p5", "platform", "R2", "reseller", Some("R1")), "invalid_request");
    f.fails(register_partner("p6", "platform", "R2", "reseller", Some("X")), "not_found");
    f.fails(register_partner("p7", "platform", "P1", "vendor", None), "invalid_request");
    assert_eq!(f.ok(register_partner("p8", "platform", "R2", "reseller", Some("D2"))), json!({"partner": "R2"}));
}

#[test]
fn register_customer_unassociated_pays_for_itself() {
    let f = Fixture::with_cast();
    let response = f.send(json!({"op": "register_customer", "id": "c1", "actor": "platform", "customer": "X"}));
    assert_eq!(response, json!({"id": "c1", "ok": true, "seq": 14, "duplicate": false, "result": {"customer": "X"}}));
    assert_eq!(f.balance("customer:X"), zero_balance("customer:X"));
    // Not anybody's customer: it may be recharged, and no partner may fund it.
    f.ok(recharge("r1", "customer:X", "5"));
    f.fails(allocate("a1", "partner:D1", "customer:X", "1"), "not_your_customer");
    assert_eq!(f.cash("customer:X"), "5.00");
}

#[test]
fn register_customer_with_a_partner_defaults_to_resale() {
    let f = Fixture::with_cast();
    let request = json!({"op": "register_customer", "id": "c1", "actor": "platform", "customer": "X", "partner": "D2"});
    assert_eq!(f.ok(request), json!({"customer": "X"}));
    f.fails(recharge("r1", "customer:X", "5"), "resale_customer");
    assert_eq!(f.ok(allocate("a1", "partner:D2", "customer:X", "5")), json!({"transfer": "a1"}));
    assert_eq!(f.allocated("customer:X"), "5.00");
}

#[test]
fn register_customer_as_referral_is_not_funded_by_its_partner() {
    let f = Fixture::with_cast();
    let request =
        json!({"op": "register_customer", "id": "c1", "actor": "partner:D2", "customer": "X", "partner": "D2", "association": "referral"});
    assert_eq!(f.ok(request), json!({"customer": "X"}));
    f.fails(allocate("a1", "partner:D2", "customer:X", "5"), "not_resale_customer");
    assert_eq!(f.ok(recharge("r1", "customer:X", "5")), json!({"arrears_repaid": "0.00", "cash": "5.00"}));
}

#[test]
fn a_distributor_registers_customers_for_its_reseller() {
    let f = Fixture::with_cast();
    let request = json!({"op": "register_customer", "id": "c1", "actor": "partner:D1", "customer": "X", "partner": "R1"});
    assert_eq!(f.ok(request), json!({"customer": "X"}));
    // X is R1's resale customer: R1's money funds it, D1's own may not.
    f.fails(allocate("a1", "partner:D1", "customer:X", "5"), "not_your_customer");
    let on_behalf = json!({"op": "allocate", "id": "a2", "actor": "partner:D1", "partner": "R1", "to": "customer:X", "amount": "5"});
    assert_eq!(f.ok(on_behalf), json!({"transfer": "a2"}));
    assert_eq!(f.cash("partner:R1"), "995.00");
}

#[test]
fn register_customer_refusals_change_nothing() {
    let f = Fixture::with_cast();
    let customer = |id: &str, actor: &str, partner: Option<&str>| {
        let mut request = json!({"op": "register_customer", "id": id, "actor": actor, "customer": "X"});
        if let Some(partner) = partner {
            request["partner"] = json!(partner);
        }
        request
    };
    f.fails(customer("c1", "partner:D2", Some("D1")), "access_denied");
    f.fails(customer("c2", "partner:R1", Some("D1")), "access_denied");
    f.fails(customer("c3", "partner:D1", None), "access_denied");
    f.fails(customer("c4", "customer:C1", Some("D1")), "access_denied");
    f.fails(customer("c5", "partner:X", Some("X")), "access_denied");
    f.fails(customer("c6", "platform", Some("X")), "not_found");
    // A partner naming a partner that does not exist: outside its scope.
    f.fails(customer("c7", "partner:D1", Some("X")), "access_denied");
    let existing = json!({"op": "register_customer", "id": "c8", "actor": "partner:D1", "customer": "C1", "partner": "D1"});
    f.fails(existing, "already_exists");
    f.fails(json!({"op": "register_customer", "id": "c9", "actor": "platform", "customer": "C4"}), "already_exists");
}

#[test]
fn register_customer_association_needs_a_partner_and_a_known_kind() {
    let f = Fixture::with_cast();
    let without_partner = json!({"op": "register_customer", "id": "c1", "actor": "platform", "customer": "X", "association": "resale"});
    f.fails(without_partner, "invalid_request");
    let unknown =
        json!({"op": "register_customer", "id": "c2", "actor": "platform", "customer": "X", "partner": "D1", "association": "friend"});
    f.fails(unknown, "invalid_request");
}

#[test]
fn associate_as_resale_lets_the_partner_fund_the_customer() {
    let f = Fixture::with_cast();
    let response = f.send(associate("s1", "C4", "D2", "resale"));
    let result = json!({"customer": "C4", "partner": "D2", "association": "resale"});
    assert_eq!(response, json!({"id": "s1", "ok": true, "seq": 14, "duplicate": false, "result": result}));
    f.fails(recharge("r1", "customer:C4", "5"), "resale_customer");
    assert_eq!(f.ok(allocate("a1", "partner:D2", "customer:C4", "7.5")), json!({"transfer": "a1"}));
    assert_eq!(f.allocated("customer:C4"), "7.50");
    assert_eq!(f.cash("partner:D2"), "9992.50");
}

#[test]
fn associate_as_referral_keeps_the_customer_self_funded() {
    let f = Fixture::with_cast();
    let result = f.ok(associate("s1", "C4", "R1", "referral"));
    assert_eq!(result, json!({"customer": "C4", "partner": "R1", "association": "referral"}));
    f.fails(allocate("a1", "partner:R1", "customer:C4", "1"), "not_resale_customer");
    assert_eq!(f.ok(recharge("r1", "customer:C4", "5")), json!({"arrears_repaid": "0.00", "cash": "5.00"}));
    // Associated now: a second association is refused.
    f.fails(associate("s2", "C4", "D2", "referral"), "association_state");
}

#[test]
fn associate_needs_an_unassociated_customer() {
    let f = Fixture::with_cast();
    let error = f.fails(associate("s1", "C1", "D2", "resale"), "association_state");
    assert_eq!(error["cbc"], "CBC.0155");
    f.fails(associate("s2", "C1", "D1", "resale"), "association_state");
    f.fails(associate("s3", "CR", "D1", "resale"), "association_state");
    f.fails(associate("s4", "C2", "D1", "referral"), "association_state");
}

#[test]
fn resale_association_keeps_own_cash_but_needs_no_credit_limit() {
    // SPEC v2 items 1 and 7: the customer's own cash stays its own; a credit limit blocks.
    let f = Fixture::with_cast();
    f.ok(recharge("r1", "customer:C4", "0.01"));
    let limit =
        |id: &str, limit: &str| json!({"op": "set_credit_limit", "id": id, "actor": "platform", "party": "customer:C4", "limit": limit});
    f.ok(limit("l1", "1"));
    let error = f.fails(associate("s1", "C4", "D2", "resale"), "association_blocked");
    assert_eq!(error["cbc"], "CBC.0155");
    f.ok(limit("l2", "0"));
    assert_eq!(f.ok(associate("s1", "C4", "D2", "resale")), json!({"customer": "C4", "partner": "D2", "association": "resale"}));
    assert_eq!((f.cash("customer:C4"), f.allocated("customer:C4")), ("0.01".to_owned(), "0.00".to_owned()));
}

#[test]
fn referral_association_does_not_need_zero_cash() {
    let f = Fixture::with_cast();
    let compensate = json!({"op": "adjust", "id": "j1", "actor": "platform", "party": "customer:C4", "direction": "compensate", "amount": "3", "reason": "goodwill"});
    f.ok(compensate);
    assert_eq!(f.ok(associate("s2", "C4", "D2", "referral")), json!({"customer": "C4", "partner": "D2", "association": "referral"}));
    assert_eq!(f.cash("customer:C4"), "3.00");
}

#[test]
fn party_ids_are_unique_across_partners_customers_and_operators() {
    // SPEC v2 item 10.
    let f = Fixture::with_cast();
    let error = f.fails(register_partner("p1", "platform", "C1", "solution_provider", None), "already_exists");
    assert_eq!(error["cbc"], "CBC.0100");
    f.fails(json!({"op": "register_customer", "id": "c1", "actor": "platform", "customer": "D1"}), "already_exists");
    f.fails(json!({"op": "register_customer", "id": "c2", "actor": "partner:D1", "customer": "R1", "partner": "D1"}), "already_exists");
    let operator = |id: &str, operator: &str| json!({"op": "register_operator", "id": id, "actor": "platform", "operator": operator, "partner": "D1", "roles": ["admin"]});
    f.fails(operator("o1", "C1"), "already_exists");
    f.fails(operator("o2", "S1"), "already_exists");
    assert_eq!(f.ok(operator("o3", "OP1")), json!({"operator": "OP1"}));
    f.fails(register_partner("p2", "platform", "OP1", "distributor", None), "already_exists");
    f.fails(json!({"op": "register_customer", "id": "c3", "actor": "platform", "customer": "OP1"}), "already_exists");
    f.fails(operator("o4", "OP1"), "already_exists");
}

#[test]
fn associate_refusals_change_nothing() {
    let f = Fixture::with_cast();
    f.fails(associate("s1", "X", "D1", "resale"), "not_found");
    f.fails(associate("s2", "C4", "X", "resale"), "not_found");
    let by_partner =
        json!({"op": "associate", "id": "s3", "actor": "partner:D2", "customer": "C4", "partner": "D2", "association": "resale"});
    f.fails(by_partner, "access_denied");
    let by_customer =
        json!({"op": "associate", "id": "s4", "actor": "customer:C4", "customer": "C4", "partner": "D2", "association": "resale"});
    f.fails(by_customer, "access_denied");
    f.fails(json!({"op": "associate", "id": "s5", "actor": "platform", "customer": "C4", "partner": "D2"}), "invalid_request");
    f.fails(associate("s6", "C4", "D2", "partnership"), "invalid_request");
}
