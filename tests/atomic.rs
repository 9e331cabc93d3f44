//! Atomic groups (SPEC 3 "Atomic groups"): up to 100 commands in one transaction, all or none,
//! with a results array on success and the failing command's `index` on failure.
mod common;
use common::Fixture;
use serde_json::{Value, json};

fn group(id: &str, actor: &str, commands: Value) -> Value {
    json!({"op": "atomic", "id": id, "actor": actor, "commands": commands})
}

fn allocate(to: &str, amount: &str) -> Value {
    json!({"op": "allocate", "to": to, "amount": amount})
}

fn compensate(party: &str, amount: &str) -> Value {
    json!({"op": "adjust", "party": party, "direction": "compensate", "amount": amount, "reason": "goodwill"})
}

#[test]
fn a_group_commits_every_command_under_one_seq() {
    let f = Fixture::with_cast();
    let commands = json!([
        {"op": "register_customer", "customer": "C5", "partner": "D1"},
        allocate("customer:C5", "200"),
        allocate("partner:R1", "100"),
        {"op": "recover", "from": "customer:C5", "amount": "50"},
    ]);
    let response = f.send(group("g1", "partner:D1", commands));
    let results = json!([{"customer": "C5"}, {"transfer": "g1"}, {"transfer": "g1"}, {"transfer": "g1"}]);
    assert_eq!(response, json!({"id": "g1", "ok": true, "seq": 14, "duplicate": false, "result": {"results": results}}));
    assert_eq!(f.ledger.head().seq, 14);
    assert_eq!(f.allocated("customer:C5"), "150.00");
    assert_eq!(f.cash("partner:R1"), "1100.00");
    assert_eq!(f.cash("partner:D1"), "8750.00");
    // Every posting of the group carries the group's seq and the op of its own command.
    let statement = f.ok(json!({"op": "statement", "actor": "platform", "party": "partner:D1", "offset": 2}));
    let line = |op: &str, amount: &str, after: &str, counterparty: &str| json!({"seq": 14, "at": "2026-01-01T00:00:00Z", "request": "g1", "op": op, "amount": amount, "balance_after": after, "counterparty": counterparty});
    let lines = [
        line("allocate", "-200.00", "8800.00", "customer:C5"),
        line("allocate", "-100.00", "8700.00", "partner:R1"),
        line("recover", "50.00", "8750.00", "customer:C5"),
    ];
    assert_eq!(statement, json!({"total_count": 5, "lines": lines}));
    let records = f.ok(json!({"op": "adjust_records", "actor": "platform", "offset": 1}));
    let seqs: Vec<&Value> = records["records"].as_array().expect("records").iter().map(|record| &record["seq"]).collect();
    assert_eq!(seqs, [&json!(14), &json!(14), &json!(14)]);
    // The next command takes the next seq.
    let next = f.send(json!({"op": "recharge", "id": "r1", "actor": "platform", "party": "partner:D2", "amount": "1"}));
    assert_eq!(next["seq"], 15);
    assert!(f.ledger.verify().is_ok());
}

#[test]
fn later_commands_see_the_effects_of_earlier_ones() {
    let f = Fixture::with_cast();
    let commands = json!([
        {"op": "register_partner", "partner": "P1", "kind": "solution_provider"},
        {"op": "register_customer", "customer": "X", "partner": "P1"},
        {"op": "recharge", "party": "partner:P1", "amount": "10"},
        compensate("customer:X", "2.5"),
    ]);
    let result = f.ok(group("g1", "platform", commands));
    let results = json!([{"partner": "P1"}, {"customer": "X"}, {"arrears_repaid": "0.00", "cash": "10.00"}, {"arrears_repaid": "0.00", "cash": "2.50"}]);
    assert_eq!(result, json!({"results": results}));
    // P1 holds 10.00: the last allocation is possible only because the recovery before it ran.
    // The compensation is X's own cash: the partner can take back only what it allocated.
    let greedy = json!([allocate("customer:X", "10"), {"op": "recover", "from": "customer:X", "amount": "12.5"}]);
    let error = f.fails(group("g2", "partner:P1", greedy), "insufficient_funds");
    assert_eq!(error["index"], 1);
    let spend =
        json!([allocate("customer:X", "10"), {"op": "recover", "from": "customer:X", "amount": "10"}, allocate("customer:X", "10")]);
    let result = f.ok(group("g3", "partner:P1", spend));
    assert_eq!(result, json!({"results": [{"transfer": "g3"}, {"transfer": "g3"}, {"transfer": "g3"}]}));
    assert_eq!((f.allocated("customer:X"), f.cash("customer:X")), ("10.00".to_owned(), "2.50".to_owned()));
    assert_eq!(f.cash("partner:P1"), "0.00");
    assert_eq!(f.ledger.head().seq, 15);
}

#[test]
fn a_failing_command_undoes_the_whole_group() {
    let f = Fixture::with_cast();
    let commands = json!([allocate("customer:C1", "100"), allocate("customer:C1", "8900.01"), allocate("partner:R1", "1")]);
    let error = f.fails(group("g1", "partner:D1", commands), "insufficient_funds");
    assert_eq!(error["index"], 1);
    let commands = json!([allocate("customer:C1", "1"), allocate("partner:R1", "1"), allocate("customer:C3", "1")]);
    let error = f.fails(group("g2", "partner:D1", commands), "not_your_customer");
    assert_eq!(error["index"], 2);
    let commands = json!([{"op": "recharge", "party": "customer:C1", "amount": "1"}]);
    assert_eq!(f.fails(group("g3", "platform", commands), "resale_customer")["index"], 0);
    assert_eq!(f.cash("customer:C1"), "0.00");
    assert_eq!(f.cash("partner:D1"), "9000.00");
}

#[test]
fn registrations_inside_a_failed_group_are_undone() {
    let f = Fixture::with_cast();
    let commands = json!([
        {"op": "register_partner", "partner": "P1", "kind": "distributor"},
        {"op": "register_customer", "customer": "X", "partner": "P1"},
        {"op": "register_partner", "partner": "P1", "kind": "distributor"},
    ]);
    let error = f.fails(group("g1", "platform", commands), "already_exists");
    assert_eq!(error["index"], 2);
    f.fails(json!({"op": "balance", "actor": "platform", "party": "partner:P1"}), "not_found");
    // The ids are free again.
    let retry = json!([{"op": "register_partner", "partner": "P1", "kind": "distributor"}, {"op": "register_customer", "customer": "X", "partner": "P1"}]);
    assert_eq!(f.ok(group("g1", "platform", retry)), json!({"results": [{"partner": "P1"}, {"customer": "X"}]}));
}

#[test]
fn every_command_is_checked_against_the_groups_actor() {
    let f = Fixture::with_cast();
    let commands = json!([allocate("partner:R1", "1"), {"op": "allocate", "partner": "R1", "to": "customer:C2", "amount": "1"}]);
    assert_eq!(f.ok(group("g1", "partner:D1", commands.clone())), json!({"results": [{"transfer": "g1"}, {"transfer": "g1"}]}));
    let error = f.fails(group("g2", "partner:D2", json!([compensate("partner:D2", "1")])), "access_denied");
    assert_eq!(error["index"], 0);
    let commands = json!([{"op": "recharge", "party": "partner:D2", "amount": "1"}, allocate("customer:C1", "1")]);
    assert_eq!(f.fails(group("g3", "platform", commands), "access_denied")["index"], 1);
}

#[test]
fn nested_groups_are_invalid() {
    let f = Fixture::with_cast();
    let commands = json!([compensate("partner:D2", "1"), {"op": "atomic", "commands": [compensate("partner:D2", "1")]}]);
    let error = f.fails(group("g1", "platform", commands), "invalid_request");
    assert_eq!(error["index"], 1);
    assert_eq!(error["cbc"], "CBC.0100");
}

#[test]
fn commands_of_a_group_take_the_groups_id_actor_and_at() {
    let f = Fixture::with_cast();
    for (index, field, value) in [(0, "id", json!("x1")), (1, "actor", json!("platform")), (2, "at", json!("2026-01-02T00:00:00Z"))] {
        let mut commands = json!([compensate("partner:D2", "1"), compensate("partner:D2", "1"), compensate("partner:D2", "1")]);
        commands[index][field] = value;
        let error = f.fails(group("g1", "platform", commands), "invalid_request");
        assert_eq!(error["index"], index, "{field}");
    }
}

#[test]
fn a_group_holds_one_to_a_hundred_commands() {
    let f = Fixture::with_cast();
    let many = |count: usize| Value::Array(vec![compensate("partner:D2", "0.01"); count]);
    f.fails(group("g1", "platform", many(101)), "invalid_request");
    f.fails(group("g2", "platform", many(0)), "invalid_request");
    f.fails(group("g3", "platform", json!({"op": "recharge"})), "invalid_request");
    f.fails(json!({"op": "atomic", "id": "g4", "actor": "platform"}), "invalid_request");
    let response = f.send(group("g5", "platform", many(100)));
    assert_eq!(response["seq"], 14);
    assert_eq!(response["result"]["results"].as_array().map(Vec::len), Some(100));
    assert_eq!(response["result"]["results"][99], json!({"arrears_repaid": "0.00", "cash": "0.01"}));
    assert_eq!(f.cash("partner:D2"), "10001.00");
    assert_eq!(f.ledger.head().seq, 14);
}

#[test]
fn decoding_errors_of_members_carry_their_index() {
    let f = Fixture::with_cast();
    let commands = json!([compensate("partner:D2", "1"), compensate("partner:D2", "1"), compensate("partner:D2", "1.001")]);
    assert_eq!(f.fails(group("g1", "platform", commands), "invalid_amount")["index"], 2);
    let commands = json!([compensate("partner:D2", "1"), compensate("partner:D 2", "1")]);
    assert_eq!(f.fails(group("g2", "platform", commands), "invalid_id")["index"], 1);
    // The member breaking the higher-ranked rule is reported, even when it comes later.
    let commands = json!([compensate("partner:D2", "-1"), compensate("partner:D 2", "1")]);
    assert_eq!(f.fails(group("g3", "platform", commands), "invalid_id")["index"], 1);
    // Queries and unknown ops are not mutating commands.
    let commands = json!([compensate("partner:D2", "1"), {"op": "balance", "party": "partner:D2"}]);
    assert_eq!(f.fails(group("g4", "platform", commands), "invalid_request")["index"], 1);
    let commands = json!([{"op": "teleport"}]);
    assert_eq!(f.fails(group("g5", "platform", commands), "invalid_request")["index"], 0);
    let commands = json!([compensate("partner:D2", "1"), "recharge"]);
    assert_eq!(f.fails(group("g6", "platform", commands), "invalid_request")["index"], 1);
}

#[test]
fn a_group_with_time_going_backwards_commits_nothing() {
    let f = Fixture::with_cast();
    f.clock.set("2026-01-10T00:00:00Z");
    f.ok(json!({"op": "recharge", "id": "r1", "actor": "platform", "party": "partner:D2", "amount": "1"}));
    let mut request = group("g1", "platform", json!([compensate("partner:D2", "1"), compensate("partner:S1", "1")]));
    request["at"] = json!("2026-01-09T23:59:59Z");
    f.fails(request.clone(), "time_went_backwards");
    request["at"] = json!("2026-01-10T00:00:00Z");
    assert_eq!(f.send(request)["seq"], 15);
    let statement = f.ok(json!({"op": "statement", "actor": "platform", "party": "partner:S1", "offset": 1}));
    assert_eq!(statement["lines"][0]["at"], "2026-01-10T00:00:00Z");
    assert_eq!(statement["lines"][0]["op"], "adjust");
}
