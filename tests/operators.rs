//! Operators (SPEC v2 2.1 and 3 "Operators"): an operator acts for its partner within its roles
//! (admin, finance, customer_manager), the journal keeps the operator as the actor, a customer
//! manager sees exactly its assigned customers from the next UTC+8 day on, a disabled operator
//! can do nothing, and every refusal of the operator commands changes nothing.
mod common;
use common::Fixture;
use partner_ledger::{Party, Transaction};
use serde_json::{Value, json};

/// 2026-01-05 18:00 in UTC+8: an assignment made now takes effect at `NEXT_DAY`.
const T1: &str = "2026-01-05T10:00:00Z";
/// 2026-01-06 00:00 in UTC+8.
const NEXT_DAY: &str = "2026-01-05T16:00:00Z";
const JUST_BEFORE: &str = "2026-01-05T15:59:59.999Z";
const T2: &str = "2026-01-06T10:00:00Z";
/// 2026-01-07 00:00 in UTC+8.
const DAY_AFTER: &str = "2026-01-06T16:00:00Z";

fn command(op: &str, id: &str, actor: &str, at: &str, fields: Value) -> Value {
    let mut request = json!({"op": op, "id": id, "actor": actor, "at": at});
    request.as_object_mut().expect("object").extend(fields.as_object().expect("fields").clone());
    request
}

fn query(op: &str, actor: &str, at: &str, fields: Value) -> Value {
    let mut request = json!({"op": op, "actor": actor, "at": at});
    request.as_object_mut().expect("object").extend(fields.as_object().expect("fields").clone());
    request
}

fn register(id: &str, actor: &str, operator: &str, partner: &str, roles: Value) -> Value {
    command("register_operator", id, actor, T1, json!({"operator": operator, "partner": partner, "roles": roles}))
}

fn assign(id: &str, actor: &str, at: &str, customer: &str, operator: Value) -> Value {
    command("assign_customer_manager", id, actor, at, json!({"customer": customer, "operator": operator}))
}

/// The cast, plus D1's operators OA (admin), OF (finance), OM and OM2 (customer managers), OMF
/// (customer manager and finance), D2's admin OX, and D1's resale customer C5. C1, C5 and the
/// referral customer CR each have a paid order at `T1`.
fn staffed() -> Fixture {
    let f = Fixture::with_cast();
    for (id, operator, partner, roles) in [
        ("o1", "OA", "D1", json!(["admin"])),
        ("o2", "OF", "D1", json!(["finance"])),
        ("o3", "OM", "D1", json!(["customer_manager"])),
        ("o4", "OM2", "D1", json!(["customer_manager"])),
        ("o5", "OMF", "D1", json!(["customer_manager", "finance"])),
        ("o6", "OX", "D2", json!(["admin"])),
    ] {
        assert_eq!(f.ok(register(id, "platform", operator, partner, roles)), json!({"operator": operator}));
    }
    f.ok(command("register_customer", "c5", "partner:D1", T1, json!({"customer": "C5", "partner": "D1"})));
    for customer in ["C1", "C5"] {
        f.ok(command(
            "allocate",
            &format!("fund-{customer}"),
            "partner:D1",
            T1,
            json!({"to": format!("customer:{customer}"), "amount": "100"}),
        ));
    }
    f.ok(command("recharge", "fund-CR", "platform", T1, json!({"party": "customer:CR", "amount": "100"})));
    for customer in ["C1", "C5", "CR"] {
        let order = format!("O-{customer}");
        let actor = format!("customer:{customer}");
        f.ok(command(
            "place_order",
            &format!("place-{customer}"),
            &actor,
            T1,
            json!({"order": order, "customer": customer, "amount": "10", "kind": "new"}),
        ));
        f.ok(command("pay_order", &format!("pay-{customer}"), &actor, T1, json!({"order": order})));
    }
    f
}

fn bill_ids(result: &Value) -> Vec<String> {
    result["bills"].as_array().expect("bills").iter().map(|bill| bill["bill"].as_str().expect("bill").to_owned()).collect()
}

fn order_ids(result: &Value) -> Vec<String> {
    result["orders"].as_array().expect("orders").iter().map(|order| order["order"].as_str().expect("order").to_owned()).collect()
}

fn summary_rows(result: &Value) -> Vec<String> {
    result["customers"].as_array().expect("rows").iter().map(|row| row["customer"].as_str().expect("customer").to_owned()).collect()
}

fn code(f: &Fixture, request: Value) -> String {
    let response = f.send(request);
    response["error"]["code"].as_str().map_or_else(|| "ok".to_owned(), str::to_owned)
}

// ---- roles ----

#[test]
fn an_admin_acts_as_its_partner() {
    let f = staffed();
    let customer = command("register_customer", "a1", "operator:OA", T1, json!({"customer": "C6", "partner": "D1"}));
    assert_eq!(f.ok(customer), json!({"customer": "C6"}));
    assert_eq!(f.ok(register("a2", "operator:OA", "OB", "D1", json!(["finance"]))), json!({"operator": "OB"}));
    let roles = command("set_operator_roles", "a3", "operator:OA", T1, json!({"operator": "OB", "roles": ["admin", "finance"]}));
    assert_eq!(f.ok(roles), json!({"operator": "OB", "roles": ["admin", "finance"]}));
    assert_eq!(f.ok(command("allocate", "a4", "operator:OA", T1, json!({"to": "customer:C6", "amount": "5"}))), json!({"transfer": "a4"}));
    assert_eq!(f.cash("partner:D1"), "8795.00");
    // Still only its own partner's scope.
    f.fails(register("a5", "operator:OA", "OC", "D2", json!(["admin"])), "access_denied");
    f.fails(command("allocate", "a6", "operator:OX", T1, json!({"partner": "D1", "to": "customer:C1", "amount": "1"})), "access_denied");
    f.fails(command("recharge", "a7", "operator:OA", T1, json!({"party": "partner:D1", "amount": "1"})), "access_denied");
}

#[test]
fn finance_moves_the_partners_funds_and_reads_its_scope_but_administers_nothing() {
    let f = staffed();
    assert_eq!(f.ok(command("allocate", "f1", "operator:OF", T1, json!({"to": "customer:C1", "amount": "20"}))), json!({"transfer": "f1"}));
    assert_eq!(f.ok(command("recover", "f2", "operator:OF", T1, json!({"from": "customer:C1", "amount": "5"}))), json!({"transfer": "f2"}));
    assert_eq!(f.allocated("customer:C1"), "105.00");
    let withdrawal =
        command("request_withdrawal", "f3", "operator:OF", T1, json!({"withdrawal": "W1", "party": "partner:D1", "amount": "10"}));
    assert_eq!(f.ok(withdrawal), json!({"withdrawal": "W1", "status": "pending"}));
    let group = json!([{"op": "allocate", "to": "customer:C5", "amount": "1"}, {"op": "recover", "from": "customer:C5", "amount": "1"}]);
    f.ok(command("atomic", "f4", "operator:OF", T1, json!({"commands": group})));
    for request in [
        command("register_customer", "f5", "operator:OF", T1, json!({"customer": "C6", "partner": "D1"})),
        register("f6", "operator:OF", "OB", "D1", json!(["admin"])),
        assign("f7", "operator:OF", T1, "C1", json!("OM")),
        command("unbind", "f8", "operator:OF", T1, json!({"customer": "C1"})),
        command("whitelist_customer", "f9", "operator:OF", T1, json!({"customer": "C1"})),
        // A group is refused whole when one member is outside the role.
        command(
            "atomic",
            "f10",
            "operator:OF",
            T1,
            json!({"commands": [{"op": "allocate", "to": "customer:C5", "amount": "1"}, {"op": "unbind", "customer": "C5"}]}),
        ),
    ] {
        f.fails(request, "access_denied");
    }
    assert_eq!(f.ok(query("balance", "operator:OF", T1, json!({"party": "customer:C1"})))["allocated"], "105.00");
    assert_eq!(f.ok(query("balance", "operator:OF", T1, json!({"party": "partner:R1"})))["party"], "partner:R1");
    assert_eq!(code(&f, query("balance", "operator:OF", T1, json!({"party": "customer:CR"}))), "access_denied");
    assert_eq!(code(&f, query("balance", "operator:OF", T1, json!({"party": "partner:D2"}))), "access_denied");
}

#[test]
fn the_journal_keeps_the_operator_as_the_actor() {
    let f = staffed();
    f.ok(command("allocate", "by-operator", "operator:OF", T1, json!({"to": "customer:C1", "amount": "1"})));
    let mut actor = None;
    f.ledger
        .for_each_transaction(|transaction: &Transaction| {
            if transaction.request.as_str() == "by-operator" {
                actor = Some(transaction.actor.clone());
            }
            Ok::<(), partner_ledger::StoreError>(())
        })
        .expect("journal");
    assert_eq!(actor.map(|actor| actor.to_string()), Some("operator:OF".to_owned()));
    assert!(matches!(Party::parse("operator:OF"), Ok(Party::Operator(_))));
    // The adjust record names the partner whose money moved.
    let records = f.ok(query("adjust_records", "platform", T1, json!({"operation": "allocate", "target": "customer:C1"})));
    assert_eq!(records["records"][1]["partner"], "D1");
    assert!(f.ledger.verify().is_ok());
}

// ---- customer managers ----

#[test]
fn a_customer_manager_sees_exactly_its_assigned_customers_from_the_next_utc8_day() {
    let f = staffed();
    let assigned = f.ok(assign("m1", "partner:D1", T1, "C1", json!("OM")));
    assert_eq!(assigned, json!({"customer": "C1", "manager": "OM", "effective_from": NEXT_DAY}));
    f.ok(assign("m2", "operator:OA", T1, "CR", json!("OM")));
    f.ok(assign("m3", "platform", T1, "C5", json!("OM2")));
    let bills = |actor: &str, at: &str, customer: &str| query("bills", actor, at, json!({"party": format!("customer:{customer}")}));
    // Not before the next UTC+8 day.
    assert_eq!(code(&f, bills("operator:OM", JUST_BEFORE, "C1")), "access_denied");
    assert_eq!(code(&f, query("orders", "operator:OM", JUST_BEFORE, json!({}))), "ok");
    assert!(order_ids(&f.ok(query("orders", "operator:OM", JUST_BEFORE, json!({})))).is_empty());
    // From then on: its customers' bills, orders and consumption, referral customers included.
    assert_eq!(bill_ids(&f.ok(bills("operator:OM", NEXT_DAY, "C1"))), ["O-C1"]);
    assert_eq!(bill_ids(&f.ok(bills("operator:OM", NEXT_DAY, "CR"))), ["O-CR"]);
    assert_eq!(code(&f, bills("operator:OM", NEXT_DAY, "C5")), "access_denied");
    // A manager sees no more than its partner: of a referral customer, only orders the partner paid
    // or was asked to pay (none here).
    assert_eq!(order_ids(&f.ok(query("orders", "operator:OM", NEXT_DAY, json!({})))), ["O-C1"]);
    assert_eq!(order_ids(&f.ok(query("orders", "operator:OM2", NEXT_DAY, json!({})))), ["O-C5"]);
    assert_eq!(f.ok(query("order", "operator:OM", NEXT_DAY, json!({"order": "O-C1"})))["customer"], "C1");
    assert_eq!(code(&f, query("order", "operator:OM", NEXT_DAY, json!({"order": "O-CR"}))), "access_denied");
    assert_eq!(code(&f, query("order", "operator:OM", NEXT_DAY, json!({"order": "O-C5"}))), "access_denied");
    let summary = f.ok(query("consumption_summary", "operator:OM", NEXT_DAY, json!({"cycle": "2026-01"})));
    assert_eq!(summary_rows(&summary), ["C1", "CR"]);
    assert_eq!(summary["totals"]["consumption"], "20.00");
    // Nothing else: no balances, statements, invoices, records, other partners' summaries.
    for request in [
        query("balance", "operator:OM", NEXT_DAY, json!({"party": "customer:C1"})),
        query("statement", "operator:OM", NEXT_DAY, json!({"party": "customer:C1"})),
        query("invoiceable", "operator:OM", NEXT_DAY, json!({"party": "customer:C1"})),
        query("withdrawals", "operator:OM", NEXT_DAY, json!({"party": "customer:C1"})),
        query("adjust_records", "operator:OM", NEXT_DAY, json!({})),
        query("bills", "operator:OM", NEXT_DAY, json!({"party": "partner:D1"})),
        query("consumption_summary", "operator:OM", NEXT_DAY, json!({"partner": "R1", "cycle": "2026-01"})),
    ] {
        assert_eq!(code(&f, request.clone()), "access_denied", "{request}");
    }
    f.fails(command("allocate", "m4", "operator:OM", NEXT_DAY, json!({"to": "customer:C1", "amount": "1"})), "access_denied");
    // With another role a customer manager is not limited to its customers.
    assert_eq!(bill_ids(&f.ok(bills("operator:OMF", JUST_BEFORE, "C5"))), ["O-C5"]);
    assert_eq!(summary_rows(&f.ok(query("consumption_summary", "operator:OMF", T1, json!({"cycle": "2026-01"})))), ["C1", "C5", "CR"]);
}

#[test]
fn a_reassignment_moves_the_customer_at_the_next_utc8_day() {
    let f = staffed();
    f.ok(assign("m1", "partner:D1", T1, "C1", json!("OM")));
    let moved = f.ok(assign("m2", "partner:D1", T2, "C1", json!("OM2")));
    assert_eq!(moved, json!({"customer": "C1", "manager": "OM2", "effective_from": DAY_AFTER}));
    let sees = |operator: &str, at: &str| code(&f, query("bills", operator, at, json!({"party": "customer:C1"}))) == "ok";
    assert_eq!((sees("operator:OM", T2), sees("operator:OM2", T2)), (true, false));
    assert_eq!((sees("operator:OM", DAY_AFTER), sees("operator:OM2", DAY_AFTER)), (false, true));
    // Removal, from the next day too.
    let removed = f.ok(assign("m3", "partner:D1", DAY_AFTER, "C1", Value::Null));
    assert_eq!(removed, json!({"customer": "C1", "manager": null, "effective_from": "2026-01-07T16:00:00Z"}));
    assert!(sees("operator:OM2", "2026-01-07T15:59:59Z"));
    assert!(!sees("operator:OM2", "2026-01-07T16:00:00Z"));
}

#[test]
fn unbinding_ends_the_assignment() {
    let f = staffed();
    f.ok(assign("m1", "partner:D1", T1, "C5", json!("OM")));
    assert_eq!(bill_ids(&f.ok(query("bills", "operator:OM", T2, json!({"party": "customer:C5"})))), ["O-C5"]);
    f.ok(command("unbind", "u1", "partner:D1", T2, json!({"customer": "C5"})));
    assert_eq!(code(&f, query("bills", "operator:OM", T2, json!({"party": "customer:C5"}))), "access_denied");
    // Bound again to the same partner, it has no manager until one is assigned.
    f.ok(command("associate", "a1", "platform", T2, json!({"customer": "C5", "partner": "D1", "association": "resale"})));
    assert_eq!(code(&f, query("bills", "operator:OM", DAY_AFTER, json!({"party": "customer:C5"}))), "access_denied");
}

// ---- disabled operators and refusals ----

#[test]
fn a_disabled_operator_can_do_nothing_until_enabled_again() {
    let f = staffed();
    let disabled = f.ok(command("set_operator_roles", "d1", "partner:D1", T1, json!({"operator": "OF", "roles": []})));
    assert_eq!(disabled, json!({"operator": "OF", "roles": []}));
    f.fails(command("allocate", "d2", "operator:OF", T1, json!({"to": "customer:C1", "amount": "1"})), "access_denied");
    assert_eq!(code(&f, query("balance", "operator:OF", T1, json!({"party": "partner:D1"}))), "access_denied");
    assert_eq!(code(&f, query("orders", "operator:OF", T1, json!({}))), "access_denied");
    f.ok(command("set_operator_roles", "d3", "operator:OA", T1, json!({"operator": "OF", "roles": ["finance"]})));
    assert_eq!(f.ok(command("allocate", "d2", "operator:OF", T1, json!({"to": "customer:C1", "amount": "1"}))), json!({"transfer": "d2"}));
}

#[test]
fn operator_command_refusals_change_nothing() {
    let f = staffed();
    // register_operator
    f.fails(register("r1", "partner:D2", "ON", "D1", json!(["admin"])), "access_denied");
    f.fails(register("r2", "partner:R1", "ON", "D1", json!(["admin"])), "access_denied");
    f.fails(register("r3", "partner:D1", "ON", "R1", json!(["admin"])), "access_denied");
    f.fails(register("r4", "customer:C1", "ON", "D1", json!(["admin"])), "access_denied");
    f.fails(register("r5", "operator:OF", "ON", "D1", json!(["finance"])), "access_denied");
    f.fails(register("r6", "operator:OM", "ON", "D1", json!(["finance"])), "access_denied");
    f.fails(register("r7", "platform", "ON", "NOPE", json!(["admin"])), "not_found");
    f.fails(register("r8", "platform", "OA", "D1", json!(["admin"])), "already_exists");
    f.fails(register("r9", "platform", "ON", "D1", json!([])), "invalid_request");
    f.fails(register("r10", "platform", "ON", "D1", json!(["admin", "admin"])), "invalid_request");
    f.fails(register("r11", "platform", "ON", "D1", json!(["auditor"])), "invalid_request");
    f.fails(register("r12", "platform", "ON", "D1", json!("admin")), "invalid_request");
    f.fails(register("r13", "platform", "O:N", "D1", json!(["admin"])), "invalid_id");
    // set_operator_roles
    let roles = |id: &str, actor: &str, operator: &str, roles: Value| {
        command("set_operator_roles", id, actor, T1, json!({"operator": operator, "roles": roles}))
    };
    f.fails(roles("s1", "platform", "NOPE", json!(["admin"])), "not_found");
    f.fails(roles("s2", "partner:D2", "OF", json!(["admin"])), "access_denied");
    f.fails(roles("s3", "operator:OX", "OF", json!(["admin"])), "access_denied");
    f.fails(roles("s4", "operator:OF", "OF", json!(["admin"])), "access_denied");
    f.fails(roles("s5", "partner:D1", "OF", json!(["finance", "finance"])), "invalid_request");
    // assign_customer_manager
    f.fails(assign("m1", "partner:D2", T1, "C1", json!("OM")), "access_denied");
    f.fails(assign("m2", "partner:D1", T1, "C2", json!("OM")), "access_denied");
    f.fails(assign("m3", "operator:OF", T1, "C1", json!("OM")), "access_denied");
    f.fails(assign("m4", "platform", T1, "NOPE", json!("OM")), "not_found");
    f.fails(assign("m5", "partner:D1", T1, "C1", json!("NOPE")), "not_found");
    f.ok(register("m0", "platform", "OXM", "D2", json!(["customer_manager"])));
    f.fails(assign("m6", "partner:D1", T1, "C1", json!("OXM")), "not_your_customer");
    // Naming an operator without the role is malformed: it ranks before the relationship.
    f.fails(assign("m6b", "partner:D1", T1, "C1", json!("OX")), "invalid_request");
    f.fails(assign("m7", "platform", T1, "C4", json!("OM")), "not_your_customer");
    f.fails(assign("m8", "partner:D1", T1, "C1", json!("OF")), "invalid_request");
    f.fails(command("assign_customer_manager", "m9", "partner:D1", T1, json!({"customer": "C1"})), "invalid_request");
    f.fails(assign("m10", "partner:D1", "2026-01-05T09:00:00Z", "C1", json!("OM")), "time_went_backwards");
    // Operators own no accounts.
    f.fails(command("recharge", "x1", "platform", T1, json!({"party": "operator:OF", "amount": "1"})), "invalid_request");
    f.fails(command("allocate", "x2", "partner:D1", T1, json!({"to": "operator:OF", "amount": "1"})), "invalid_request");
    assert_eq!(code(&f, query("balance", "platform", T1, json!({"party": "operator:OF"}))), "invalid_request");
    // Operators cannot be registered as actors of another kind.
    assert_eq!(code(&f, query("balance", "operator:NOPE", T1, json!({"party": "partner:D1"}))), "access_denied");
}
