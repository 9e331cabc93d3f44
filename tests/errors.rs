//! Errors (SPEC 1.1, 1.2, 2, 2.1, 2.2, 6): protocol decoding, id and amount rules, the precedence
//! of codes when a command breaks several rules, each code's `cbc`, and the actor scope.
mod common;
use common::Fixture;
use serde_json::{Value, json};

/// Sends a raw line that must fail with `code` and change nothing; returns the response.
fn fails_line(f: &Fixture, line: &str, code: &str) -> Value {
    let before = f.snapshot();
    let response = f.ledger.execute_line(line).to_json();
    assert_eq!(response["ok"], false, "{line:?} should fail with {code}, got {response}");
    assert_eq!(response["error"]["code"], code, "{line:?}: {response}");
    assert_eq!(f.snapshot(), before, "{line:?} failed but changed the ledger");
    response
}

fn recharge(id: &str, party: &str, amount: Value) -> Value {
    json!({"op": "recharge", "id": id, "actor": "platform", "party": party, "amount": amount})
}

fn repay(actor: &str, party: &str) -> Value {
    json!({"op": "repay_credit", "id": "p1", "actor": actor, "party": party, "amount": "1"})
}

const PAST: &str = "2026-01-01T12:00:00Z";

/// The cast plus a committed request `used` at 2026-01-02, so `PAST` is before the head.
fn with_used_id() -> Fixture {
    let f = Fixture::with_cast();
    let used =
        json!({"op": "recharge", "id": "used", "actor": "platform", "party": "partner:D2", "amount": "100", "at": "2026-01-02T00:00:00Z"});
    f.ok(used);
    f
}

// ---- decoding ----

#[test]
fn lines_that_are_not_json_objects_are_invalid_requests() {
    let f = Fixture::with_cast();
    for line in ["", "{", "not json", r#"{"op": "recharge",}"#, r#"{"op": "balance"} trailing"#] {
        let response = fails_line(&f, line, "invalid_request");
        assert_eq!(response["id"], Value::Null);
        assert_eq!(response["error"]["cbc"], "CBC.0100");
    }
    for line in ["[]", "42", r#""recharge""#, "null", "true", r#"[{"op": "balance", "actor": "platform", "party": "platform"}]"#] {
        fails_line(&f, line, "invalid_request");
    }
}

#[test]
fn a_bad_line_does_not_stop_the_lines_after_it() {
    let f = Fixture::with_cast();
    let good = |id: &str| recharge(id, "partner:D2", json!("1")).to_string();
    let lines = [good("r1"), "garbage".to_owned(), r#"{"op": "teleport", "id": "t1", "actor": "platform"}"#.to_owned(), good("r2")];
    let responses: Vec<Value> = f.ledger.execute_lines(&lines).iter().map(|response| response.to_json()).collect();
    assert_eq!(responses[0]["seq"], 14);
    assert_eq!(responses[1]["error"]["code"], "invalid_request");
    assert_eq!(responses[2]["error"]["code"], "invalid_request");
    assert_eq!(responses[2]["id"], "t1");
    assert_eq!(responses[3]["seq"], 15);
    assert_eq!(f.cash("partner:D2"), "10002.00");
}

#[test]
fn unknown_ops_and_fields_are_invalid_requests() {
    let f = Fixture::with_cast();
    for op in ["teleport", "Recharge", "", "atomic_group", "balances"] {
        let error = f.send(json!({"op": op, "id": "e1", "actor": "platform", "party": "partner:D1"}));
        assert_eq!(error["error"]["code"], "invalid_request", "{op:?}");
        assert_eq!(error["id"], "e1");
    }
    let mut extra = recharge("e2", "partner:D1", json!("1"));
    extra["colour"] = json!("red");
    f.fails(extra, "invalid_request");
    let mut extra = recharge("e3", "partner:D1", json!("1"));
    extra["commands"] = json!([]);
    f.fails(extra, "invalid_request");
    f.fails(json!({"op": "balance", "actor": "platform", "party": "platform", "limit": 5}), "invalid_request");
    f.fails(
        json!({"op": "recharge", "id": "e4", "actor": "platform", "party": "partner:D1", "amount": "1", "Amount": "1"}),
        "invalid_request",
    );
}

#[test]
fn missing_required_fields_are_invalid_requests() {
    let f = Fixture::with_cast();
    let full = recharge("e1", "partner:D1", json!("1"));
    for field in ["op", "id", "actor", "party", "amount"] {
        let mut request = full.clone();
        request.as_object_mut().expect("object").remove(field);
        f.fails(request, "invalid_request");
    }
    // `null` counts as absent.
    let mut request = full.clone();
    request["amount"] = Value::Null;
    f.fails(request, "invalid_request");
    f.fails(json!({"op": "allocate", "id": "e2", "actor": "partner:D1", "amount": "1"}), "invalid_request");
    f.fails(json!({"op": "register_partner", "id": "e3", "actor": "platform", "partner": "P1"}), "invalid_request");
    f.fails(json!({"op": "balance", "actor": "platform"}), "invalid_request");
    // A query needs no id.
    assert_eq!(f.ok(json!({"op": "balance", "actor": "platform", "party": "partner:D2"}))["cash"], "10000.00");
}

#[test]
fn wrong_types_are_invalid_requests() {
    let f = Fixture::with_cast();
    let full = json!({"op": "allocate", "id": "e1", "actor": "partner:D1", "to": "customer:C1", "amount": "1", "memo": "m"});
    for (field, value) in [
        ("op", json!(3)),
        ("id", json!(5)),
        ("actor", json!(true)),
        ("to", json!({"party": "customer:C1"})),
        ("memo", json!(7)),
        ("partner", json!(["D1"])),
        ("at", json!(1_767_225_600)),
    ] {
        let mut request = full.clone();
        request[field] = value;
        f.fails(request, "invalid_request");
    }
    let kind = json!({"op": "register_partner", "id": "e2", "actor": "platform", "partner": "P1", "kind": 1});
    f.fails(kind, "invalid_request");
    let reason = json!({"op": "adjust", "id": "e3", "actor": "platform", "party": "partner:D1", "direction": "deduct", "amount": "1", "reason": true});
    f.fails(reason, "invalid_request");
    f.fails(json!({"op": "atomic", "id": "e4", "actor": "platform", "commands": "recharge"}), "invalid_request");
    f.fails(json!({"op": "statement", "actor": "platform", "party": "partner:D1", "offset": "1"}), "invalid_request");
    // An amount given as a JSON number is an amount error (SPEC 1.2), not a structural one.
    f.fails(recharge("e5", "partner:D1", json!(100)), "invalid_amount");
}

#[test]
fn a_bad_at_is_an_invalid_request() {
    let f = Fixture::with_cast();
    for time in [
        "2026-01-05",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-05T24:00:00Z",
        "2026-01-05T10:00:00",
        "2026-01-05 10:00:00Z",
        "yesterday",
        "",
    ] {
        let mut request = recharge("e1", "partner:D1", json!("1"));
        request["at"] = json!(time);
        let error = f.fails(request, "invalid_request");
        assert_eq!(error["cbc"], "CBC.0100", "{time:?}");
    }
}

// ---- ids ----

#[test]
fn request_ids_follow_the_id_rules() {
    let f = Fixture::with_cast();
    let long = "x".repeat(65);
    for id in ["", long.as_str(), "a b", "a/b", "é", "a\u{0}b", "a#b", "a,b"] {
        let error = f.fails(recharge(id, "partner:D2", json!("1")), "invalid_id");
        assert_eq!(error["cbc"], "CBC.0101", "{id:?}");
    }
    // 64 characters, and every allowed character including `:` (not a party id).
    let longest = "y".repeat(64);
    assert_eq!(f.send(recharge(&longest, "partner:D2", json!("1")))["id"], longest);
    assert_eq!(f.send(recharge("Az09_.:-", "partner:D2", json!("1")))["id"], "Az09_.:-");
    assert_eq!(f.cash("partner:D2"), "10002.00");
}

#[test]
fn party_ids_follow_the_id_rules_without_colons() {
    let f = Fixture::with_cast();
    let long = "P".repeat(65);
    for partner in ["P:1", "", long.as_str(), "P 1", "P/1", "partner:P1"] {
        let request = json!({"op": "register_partner", "id": "e1", "actor": "platform", "partner": partner, "kind": "distributor"});
        f.fails(request, "invalid_id");
    }
    let customer = json!({"op": "register_customer", "id": "e2", "actor": "platform", "customer": "C:5"});
    f.fails(customer, "invalid_id");
    let parent =
        json!({"op": "register_partner", "id": "e3", "actor": "platform", "partner": "R2", "kind": "reseller", "parent": "partner:D1"});
    f.fails(parent, "invalid_id");
    let on_behalf =
        json!({"op": "allocate", "id": "e4", "actor": "partner:D1", "partner": "partner:R1", "to": "customer:C2", "amount": "1"});
    f.fails(on_behalf, "invalid_id");
    let longest = "P".repeat(64);
    let request = json!({"op": "register_partner", "id": "e5", "actor": "platform", "partner": longest, "kind": "distributor"});
    assert_eq!(f.ok(request), json!({"partner": longest}));
}

#[test]
fn parties_must_be_written_as_platform_partner_or_customer() {
    let f = Fixture::with_cast();
    for party in ["P1", "D1", "vendor:V1", "partner:", "Platform", "PARTNER:D1", "partner:a:b", "customer:C 1", " partner:D1"] {
        let error = f.fails(recharge("e1", party, json!("1")), "invalid_id");
        assert_eq!(error["cbc"], "CBC.0101", "{party:?}");
    }
    for actor in ["D1", "partner:", "admin", "customer:C:1"] {
        f.fails(json!({"op": "recharge", "id": "e2", "actor": actor, "party": "partner:D1", "amount": "1"}), "invalid_id");
    }
    f.fails(json!({"op": "allocate", "id": "e3", "actor": "partner:D1", "to": "C1", "amount": "1"}), "invalid_id");
    f.fails(json!({"op": "balance", "actor": "platform", "party": "customer"}), "invalid_id");
    f.fails(json!({"op": "balance", "id": "bad id", "actor": "platform", "party": "platform"}), "invalid_id");
}

// ---- amounts ----

#[test]
fn amounts_follow_the_amount_rules() {
    let f = Fixture::with_cast();
    let texts = [
        "1e3",
        "1E3",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1 000",
        "1.001",
        "0.000",
        "0",
        "0.00",
        "1000000000000",
        "1000000000000.00",
        "99999999999999999999999999999",
        "1.",
        ".5",
        "",
        "1,5",
        "abc",
        "0x10",
        "NaN",
        "１",
    ];
    for text in texts {
        let error = f.fails(recharge("e1", "partner:D2", json!(text)), "invalid_amount");
        assert_eq!(error["cbc"], "CBC.0101", "{text:?}");
    }
    for number in [json!(100), json!(100.5), json!(0), json!(-1)] {
        f.fails(recharge("e2", "partner:D2", number), "invalid_amount");
    }
    assert_eq!(f.ok(recharge("r1", "partner:D2", json!("999999999999.99")))["cash"], "999999999999.99");
    assert_eq!(f.ok(recharge("r2", "partner:D2", json!("0.01")))["cash"], "0.01");
    assert_eq!(f.ok(recharge("r3", "partner:D2", json!("0.1")))["cash"], "0.10");
    assert_eq!(f.cash("partner:D2"), "1000000010000.10");
}

#[test]
fn every_amount_field_is_checked() {
    let f = Fixture::with_cast();
    let requests = [
        json!({"op": "allocate", "id": "e1", "actor": "partner:D1", "to": "customer:C1", "amount": "1.001"}),
        json!({"op": "recover", "id": "e2", "actor": "partner:D1", "from": "customer:C1", "amount": "0"}),
        json!({"op": "repay_credit", "id": "e3", "actor": "platform", "party": "partner:D1", "amount": "-1"}),
        json!({"op": "adjust", "id": "e4", "actor": "platform", "party": "partner:D1", "direction": "compensate", "amount": "1e2", "reason": "r"}),
        json!({"op": "set_credit_limit", "id": "e5", "actor": "platform", "party": "partner:D1", "limit": "1000000000000"}),
        json!({"op": "set_credit_limit", "id": "e6", "actor": "platform", "party": "partner:D1", "limit": 0}),
    ];
    for request in requests {
        f.fails(request, "invalid_amount");
    }
    // A limit, unlike an amount, may be zero.
    let zero = json!({"op": "set_credit_limit", "id": "l1", "actor": "platform", "party": "partner:D1", "limit": "0.00"});
    assert_eq!(f.ok(zero), json!({"credit_limit": "0.00"}));
}

// ---- precedence (SPEC 2.2) ----

#[test]
fn precedence_from_decoding_to_funds() {
    let f = with_used_id();
    let allocate = |id: &str, actor: &str, to: &str, amount: &str| json!({"op": "allocate", "id": id, "actor": actor, "to": to, "amount": amount, "at": PAST});
    // Each request breaks the rule it is refused for and every rule after it.
    let mut unknown_field = allocate("bad id", "partner:X", "customer:C 3", "-5");
    unknown_field["colour"] = json!("red");
    f.fails(unknown_field, "invalid_request");
    f.fails(json!({"op": "allocate", "id": "bad id", "actor": "partner:X", "amount": "-5", "at": PAST}), "invalid_request");
    f.fails(allocate("bad id", "partner:X", "customer:C 3", "-5"), "invalid_id");
    f.fails(allocate("used", "partner:X", "customer:X", "-5"), "invalid_amount");
    f.fails(allocate("used", "partner:X", "customer:X", "99999"), "access_denied");
    f.fails(allocate("used", "platform", "customer:X", "99999"), "access_denied");
    f.fails(allocate("used", "partner:D1", "customer:X", "99999"), "not_found");
    f.fails(allocate("used", "partner:D1", "customer:C3", "99999"), "id_reused");
    f.fails(allocate("fresh", "partner:D1", "customer:C3", "99999"), "not_your_customer");
    f.fails(allocate("fresh", "partner:D1", "customer:CR", "99999"), "not_resale_customer");
    f.fails(allocate("fresh", "partner:D2", "partner:R1", "99999"), "not_your_reseller");
    f.fails(allocate("fresh", "partner:D1", "customer:C1", "99999"), "time_went_backwards");
    let mut now = allocate("fresh", "partner:D1", "customer:C1", "99999");
    now.as_object_mut().expect("object").remove("at");
    f.fails(now, "insufficient_funds");
}

#[test]
fn precedence_of_state_errors_and_of_already_exists() {
    let f = with_used_id();
    let at_past = |mut request: Value| {
        request["at"] = json!(PAST);
        request
    };
    // State errors come before time_went_backwards; id_reused before state errors.
    f.fails(at_past(recharge("fresh", "customer:C1", json!("1"))), "resale_customer");
    f.fails(at_past(recharge("used", "customer:C1", json!("1"))), "id_reused");
    let associate =
        |id: &str| json!({"op": "associate", "id": id, "actor": "platform", "customer": "C1", "partner": "D2", "association": "resale"});
    f.fails(at_past(associate("fresh")), "association_state");
    f.fails(at_past(associate("used")), "id_reused");
    // access_denied and not_found come before already_exists.
    let partner = |actor: &str, parent: &str| json!({"op": "register_partner", "id": "fresh", "actor": actor, "partner": "R1", "kind": "reseller", "parent": parent});
    f.fails(partner("partner:D1", "D1"), "access_denied");
    f.fails(partner("platform", "X"), "not_found");
    f.fails(partner("platform", "D1"), "already_exists");
    let customer = json!({"op": "register_customer", "id": "fresh", "actor": "partner:D2", "customer": "C1", "partner": "D1"});
    f.fails(customer, "access_denied");
    // No command of this foundation can break a relationship rule and a state rule at once.
}

// ---- cbc (SPEC 6) ----

#[test]
fn every_error_carries_its_cbc() {
    let f = with_used_id();
    // A credit limit blocks a resale association (SPEC v2 item 7; own cash no longer does).
    f.ok(json!({"op": "set_credit_limit", "id": "l1", "actor": "platform", "party": "customer:C4", "limit": "1"}));
    let allocate = |to: &str, amount: &str| json!({"op": "allocate", "id": "e1", "actor": "partner:D1", "to": to, "amount": amount});
    let associate = |customer: &str| json!({"op": "associate", "id": "e1", "actor": "platform", "customer": customer, "partner": "D2", "association": "resale"});
    let mut backwards = recharge("e1", "partner:D2", json!("1"));
    backwards["at"] = json!(PAST);
    let rows = [
        (json!({"op": "teleport", "id": "e1", "actor": "platform"}), "invalid_request", "CBC.0100"),
        (recharge("e 1", "partner:D2", json!("1")), "invalid_id", "CBC.0101"),
        (recharge("e1", "partner:D2", json!("0")), "invalid_amount", "CBC.0101"),
        (json!({"op": "recharge", "id": "e1", "actor": "partner:D1", "party": "partner:D1", "amount": "1"}), "access_denied", "CBC.0151"),
        (recharge("e1", "partner:X", json!("1")), "not_found", "CBC.0100"),
        (
            json!({"op": "register_partner", "id": "e1", "actor": "platform", "partner": "D1", "kind": "distributor"}),
            "already_exists",
            "CBC.0100",
        ),
        (recharge("used", "partner:D1", json!("1")), "id_reused", "CBC.0100"),
        (allocate("customer:C3", "1"), "not_your_customer", "CBC.99000035"),
        (allocate("partner:D2", "1"), "not_your_reseller", "CBC.99000037"),
        (allocate("customer:CR", "1"), "not_resale_customer", "CBC.99000014"),
        (recharge("e1", "customer:C1", json!("1")), "resale_customer", "CBC.0155"),
        (associate("C1"), "association_state", "CBC.0155"),
        (associate("C4"), "association_blocked", "CBC.0155"),
        (allocate("customer:C1", "9000.01"), "insufficient_funds", "CBC.99005003"),
        (
            json!({"op": "repay_credit", "id": "e1", "actor": "platform", "party": "partner:D1", "amount": "1"}),
            "exceeds_credit_used",
            "CBC.0101",
        ),
        (backwards, "time_went_backwards", "CBC.0100"),
    ];
    for (request, code, cbc) in rows {
        let response = f.send(request.clone());
        let message = response["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.is_empty(), "{request}: {response}");
        let id = request["id"].clone();
        let expected = json!({"id": id, "ok": false, "error": {"code": code, "cbc": cbc, "message": message}});
        assert_eq!(response, expected, "{request}");
    }
    // credit_limit_below_usage (CBC.0101) needs credit in use, which no command of this foundation creates.
}

// ---- actor scope (SPEC 2.1) ----

#[test]
fn actors_act_for_themselves_their_customers_and_their_resellers() {
    let f = Fixture::with_cast();
    // In scope: the command passes the access check and is refused later, for credit not in use.
    for (actor, party) in [
        ("platform", "customer:C2"),
        ("partner:D1", "partner:D1"),
        ("partner:D1", "customer:C1"),
        ("partner:D1", "partner:R1"),
        ("partner:D1", "customer:C2"),
        ("partner:R1", "customer:C2"),
        ("partner:S1", "customer:C3"),
        ("customer:C1", "customer:C1"),
        ("customer:C4", "customer:C4"),
    ] {
        f.fails(repay(actor, party), "exceeds_credit_used");
    }
    // A referral customer pays for itself: its partner does not act for it (SPEC 2.1, v2).
    for (actor, party) in [
        ("partner:D1", "customer:CR"),
        ("partner:D1", "partner:D2"),
        ("partner:D1", "customer:C3"),
        ("partner:D1", "customer:C4"),
        ("partner:R1", "partner:D1"),
        ("partner:R1", "customer:C1"),
        ("partner:D2", "partner:R1"),
        ("partner:D2", "customer:C2"),
        ("customer:C1", "customer:C2"),
        ("customer:C2", "partner:R1"),
    ] {
        let error = f.fails(repay(actor, party), "access_denied");
        assert_eq!(error["cbc"], "CBC.0151");
    }
}

#[test]
fn unregistered_actors_are_denied() {
    let f = Fixture::with_cast();
    f.fails(repay("customer:X", "customer:X"), "access_denied");
    f.fails(repay("partner:X", "partner:X"), "access_denied");
    f.fails(json!({"op": "allocate", "id": "e1", "actor": "partner:X", "to": "customer:C1", "amount": "1"}), "access_denied");
    f.fails(json!({"op": "register_customer", "id": "e2", "actor": "partner:X", "customer": "X", "partner": "X"}), "access_denied");
    f.fails(json!({"op": "balance", "actor": "customer:X", "party": "customer:X"}), "access_denied");
    f.fails(json!({"op": "statement", "actor": "partner:X", "party": "partner:X"}), "access_denied");
    f.fails(json!({"op": "adjust_records", "actor": "customer:X"}), "access_denied");
}

#[test]
fn administrative_commands_belong_to_the_platform() {
    let f = Fixture::with_cast();
    let requests = [
        json!({"op": "register_partner", "id": "e1", "partner": "X", "kind": "distributor"}),
        json!({"op": "associate", "id": "e2", "customer": "C4", "partner": "D1", "association": "referral"}),
        json!({"op": "recharge", "id": "e3", "party": "customer:C1", "amount": "1"}),
        json!({"op": "set_credit_limit", "id": "e4", "party": "customer:C1", "limit": "1"}),
        json!({"op": "adjust", "id": "e5", "party": "customer:C1", "direction": "compensate", "amount": "1", "reason": "r"}),
    ];
    for request in requests {
        for actor in ["partner:D1", "customer:C1"] {
            let mut request = request.clone();
            request["actor"] = json!(actor);
            f.fails(request, "access_denied");
        }
    }
}
