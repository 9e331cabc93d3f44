//! Request ids and time (SPEC 1.4, 1.6, 2.2): identical replays are duplicates that change nothing,
//! reused ids are refused in their place in the precedence, and `at` never goes backwards.
mod common;
use common::Fixture;
use partner_ledger::Ledger;
use serde_json::{Value, json};

fn recharge(id: &str, party: &str, amount: &str) -> Value {
    json!({"op": "recharge", "id": id, "actor": "platform", "party": party, "amount": amount})
}

fn allocate(id: &str, to: &str, amount: &str) -> Value {
    json!({"op": "allocate", "id": id, "actor": "partner:D1", "to": to, "amount": amount})
}

fn at(mut request: Value, time: &str) -> Value {
    request["at"] = json!(time);
    request
}

/// Sends an identical replay: it must answer the original `seq` and `result` as a duplicate and
/// change nothing.
fn replays(f: &Fixture, request: Value, seq: u64, result: Value) {
    let before = f.snapshot();
    let response = f.send(request.clone());
    let id = request["id"].clone();
    assert_eq!(response, json!({"id": id, "ok": true, "seq": seq, "duplicate": true, "result": result}), "{request}");
    assert_eq!(f.snapshot(), before, "{request}: a replay changed the ledger");
}

/// Closes the ledger file and opens it again with the same clock.
fn reopen(f: Fixture) -> Fixture {
    let Fixture { ledger, clock, dir } = f;
    drop(ledger);
    let ledger = Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock.clone())).expect("reopen");
    Fixture { ledger, clock, dir }
}

#[test]
fn an_identical_replay_is_a_duplicate_that_changes_nothing() {
    let f = Fixture::with_cast();
    let request = recharge("r1", "partner:D2", "10");
    assert_eq!(f.send(request.clone())["seq"], 14);
    replays(&f, request.clone(), 14, json!({"arrears_repaid": "0.00", "cash": "10.00"}));
    replays(&f, request, 14, json!({"arrears_repaid": "0.00", "cash": "10.00"}));
    assert_eq!(f.cash("partner:D2"), "10010.00");
    // The cast's own requests replay too, with their original seq.
    let cast = json!({"op": "register_partner", "id": "setup-1", "actor": "platform", "partner": "D1", "kind": "distributor"});
    replays(&f, cast, 1, json!({"partner": "D1"}));
    let next = f.send(recharge("r2", "partner:D2", "1"));
    assert_eq!(next["seq"], 15);
}

#[test]
fn a_replay_is_answered_before_any_check() {
    let f = Fixture::with_cast();
    let spend_all = at(allocate("a1", "customer:C1", "9000"), "2026-01-02T00:00:00Z");
    f.ok(spend_all.clone());
    f.ok(at(recharge("r1", "partner:D2", "1"), "2026-01-03T00:00:00Z"));
    // D1 has no cash left and the replay's `at` is now in the past: still a duplicate.
    replays(&f, spend_all, 14, json!({"transfer": "a1"}));
    let group = json!({"op": "atomic", "id": "g1", "actor": "platform", "commands": [
        {"op": "register_partner", "partner": "P1", "kind": "distributor"},
        {"op": "recharge", "party": "partner:P1", "amount": "5"},
    ]});
    let results = json!({"results": [{"partner": "P1"}, {"arrears_repaid": "0.00", "cash": "5.00"}]});
    assert_eq!(f.ok(group.clone()), results);
    replays(&f, group, 16, results);
}

#[test]
fn the_same_id_with_different_content_is_id_reused() {
    let f = Fixture::with_cast();
    f.ok(json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "10", "memo": "one"}));
    let variants = [
        json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "11", "memo": "one"}),
        json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "10", "memo": "two"}),
        json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "10"}),
        json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "partner:R1", "amount": "10", "memo": "one"}),
        json!({"op": "allocate", "id": "a1", "actor": "partner:R1", "to": "customer:C2", "amount": "10", "memo": "one"}),
        json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "10", "memo": "one", "at": "2026-01-02T00:00:00Z"}),
        recharge("a1", "partner:D1", "10"),
    ];
    for variant in variants {
        let error = f.fails(variant, "id_reused");
        assert_eq!(error["cbc"], "CBC.0100");
    }
    assert_eq!(f.allocated("customer:C1"), "10.00");
}

#[test]
fn access_and_existence_come_before_id_reused() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", "partner:D2", "10"));
    f.fails(json!({"op": "recharge", "id": "r1", "actor": "partner:D2", "party": "partner:D2", "amount": "10"}), "access_denied");
    f.fails(json!({"op": "recharge", "id": "r1", "actor": "partner:X", "party": "partner:D2", "amount": "10"}), "access_denied");
    f.fails(recharge("r1", "customer:X", "10"), "not_found");
    f.fails(json!({"op": "allocate", "id": "r1", "actor": "partner:D1", "to": "customer:X", "amount": "1"}), "not_found");
    // After them, before relationship, state, time and funds errors.
    f.fails(allocate("r1", "customer:C3", "1"), "id_reused");
    f.fails(recharge("r1", "customer:C1", "10"), "id_reused");
    f.fails(at(recharge("r1", "partner:D2", "10"), "2025-01-01T00:00:00Z"), "id_reused");
    f.fails(allocate("r1", "customer:C1", "100000"), "id_reused");
}

#[test]
fn a_failed_commands_id_may_be_used_again() {
    let f = Fixture::with_cast();
    f.fails(allocate("a1", "customer:C1", "9000.01"), "insufficient_funds");
    f.fails(allocate("a1", "customer:C3", "1"), "not_your_customer");
    // Identical content again, now that it fits: a first commit, not a duplicate.
    f.ok(recharge("r1", "partner:D1", "0.01"));
    let response = f.send(allocate("a1", "customer:C1", "9000.01"));
    assert_eq!(response, json!({"id": "a1", "ok": true, "seq": 15, "duplicate": false, "result": {"transfer": "a1"}}));
    f.fails(json!({"op": "register_partner", "id": "p1", "actor": "platform", "partner": "D1", "kind": "distributor"}), "already_exists");
    let other = json!({"op": "register_partner", "id": "p1", "actor": "platform", "partner": "P1", "kind": "distributor"});
    assert_eq!(f.send(other)["duplicate"], false);
}

#[test]
fn equal_amounts_written_differently_are_identical_content() {
    // Design choice (docs): content is compared by meaning, so "100" and "100.00" are the same amount.
    let f = Fixture::with_cast();
    f.ok(recharge("r1", "partner:D2", "100"));
    replays(&f, recharge("r1", "partner:D2", "100.00"), 14, json!({"arrears_repaid": "0.00", "cash": "100.00"}));
    replays(&f, recharge("r1", "partner:D2", "100.0"), 14, json!({"arrears_repaid": "0.00", "cash": "100.00"}));
    f.fails(recharge("r1", "partner:D2", "100.01"), "id_reused");
    assert_eq!(f.cash("partner:D2"), "10100.00");
}

#[test]
fn replays_are_recognised_after_reopening_the_file() {
    let f = Fixture::with_cast();
    let request = allocate("a1", "customer:C1", "25");
    f.ok(request.clone());
    let head = f.ledger.head();
    let f = reopen(f);
    assert_eq!(f.ledger.head(), head);
    replays(&f, request, 14, json!({"transfer": "a1"}));
    replays(&f, recharge("setup-10", "partner:D1", "10000"), 10, json!({"arrears_repaid": "0.00", "cash": "10000.00"}));
    f.fails(allocate("a1", "customer:C1", "26"), "id_reused");
    assert_eq!(f.send(recharge("r1", "partner:D2", "1"))["seq"], 15);
    assert_eq!(f.allocated("customer:C1"), "25.00");
    assert!(f.ledger.verify().is_ok());
}

// ---- time ----

#[test]
fn commands_without_at_take_the_injected_clock() {
    let f = Fixture::with_cast();
    f.clock.set("2026-03-01T09:30:00Z");
    f.ok(recharge("r1", "partner:D2", "1"));
    assert_eq!(f.ledger.head().at.to_string(), "2026-03-01T09:30:00Z");
    f.clock.set("2026-03-02T10:00:01Z");
    f.ok(allocate("a1", "customer:C1", "2"));
    let statement = f.ok(json!({"op": "statement", "actor": "platform", "party": "customer:C1", "account": "allocated"}));
    assert_eq!(statement["lines"][0]["at"], "2026-03-02T10:00:01Z");
    let records = f.ok(json!({"op": "adjust_records", "actor": "platform", "target": "customer:C1"}));
    assert_eq!(records["records"][0]["at"], "2026-03-02T10:00:01Z");
    // An explicit `at` wins over the clock.
    f.ok(at(recharge("r2", "partner:D2", "1"), "2026-04-01T00:00:00Z"));
    assert_eq!(f.ledger.head().at.to_string(), "2026-04-01T00:00:00Z");
}

#[test]
fn equal_times_are_fine() {
    let f = Fixture::with_cast();
    let time = "2026-01-05T10:00:00Z";
    f.ok(at(recharge("r1", "partner:D2", "1"), time));
    f.ok(at(recharge("r2", "partner:D2", "1"), time));
    f.ok(at(allocate("a1", "customer:C1", "1"), time));
    assert_eq!(f.ledger.head().seq, 16);
    assert_eq!(f.ledger.head().at.to_string(), time);
}

#[test]
fn money_commands_refuse_time_going_backwards() {
    let f = Fixture::with_cast();
    f.ok(at(recharge("r0", "customer:C4", "5"), "2026-01-05T10:00:00Z"));
    let past = "2026-01-05T09:59:59.999Z";
    let error = f.fails(at(recharge("r1", "partner:D2", "1"), past), "time_went_backwards");
    assert_eq!(error["cbc"], "CBC.0100");
    f.fails(at(allocate("a1", "customer:C1", "1"), past), "time_went_backwards");
    f.fails(
        at(json!({"op": "recover", "id": "v1", "actor": "partner:D1", "from": "partner:R1", "amount": "1"}), past),
        "time_went_backwards",
    );
    f.fails(
        at(json!({"op": "set_credit_limit", "id": "l1", "actor": "platform", "party": "partner:D1", "limit": "1"}), past),
        "time_went_backwards",
    );
    let adjust = |id: &str, direction: &str| json!({"op": "adjust", "id": id, "actor": "platform", "party": "customer:C4", "direction": direction, "amount": "1", "reason": "r", "at": past});
    f.fails(adjust("j1", "compensate"), "time_went_backwards");
    f.fails(adjust("j2", "deduct"), "time_went_backwards");
}

/// A cast whose last transaction is at 2026-01-05T10:00:00Z.
fn cast_at_january_5() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(at(recharge("r0", "partner:D2", "5"), "2026-01-05T10:00:00Z"));
    f
}

#[test]
fn register_partner_refuses_time_going_backwards() {
    let f = cast_at_january_5();
    let partner = json!({"op": "register_partner", "id": "p1", "actor": "platform", "partner": "P1", "kind": "distributor"});
    f.fails(at(partner, "2026-01-04T00:00:00Z"), "time_went_backwards");
    assert_eq!(f.ledger.head().at.to_string(), "2026-01-05T10:00:00Z");
}

#[test]
fn register_customer_refuses_time_going_backwards() {
    let f = cast_at_january_5();
    let customer = json!({"op": "register_customer", "id": "c1", "actor": "platform", "customer": "X"});
    f.fails(at(customer, "2026-01-04T00:00:00Z"), "time_went_backwards");
    assert_eq!(f.ledger.head().at.to_string(), "2026-01-05T10:00:00Z");
}

#[test]
fn associate_refuses_time_going_backwards() {
    let f = cast_at_january_5();
    let associate = json!({"op": "associate", "id": "s1", "actor": "platform", "customer": "C4", "partner": "D2", "association": "resale"});
    f.fails(at(associate, "2026-01-04T00:00:00Z"), "time_went_backwards");
    assert_eq!(f.ledger.head().at.to_string(), "2026-01-05T10:00:00Z");
}

#[test]
fn time_went_backwards_comes_after_state_errors_and_before_funds_errors() {
    let f = Fixture::with_cast();
    f.ok(at(recharge("r0", "customer:C4", "5"), "2026-01-05T10:00:00Z"));
    let limit = json!({"op": "set_credit_limit", "id": "l0", "actor": "platform", "party": "customer:C4", "limit": "1"});
    f.ok(at(limit, "2026-01-05T10:00:00Z"));
    let past = "2026-01-02T00:00:00Z";
    f.fails(at(recharge("r1", "customer:C1", "1"), past), "resale_customer");
    let associated =
        json!({"op": "associate", "id": "s1", "actor": "platform", "customer": "C1", "partner": "D2", "association": "referral"});
    f.fails(at(associated, past), "association_state");
    let blocked = json!({"op": "associate", "id": "s2", "actor": "platform", "customer": "C4", "partner": "D2", "association": "resale"});
    f.fails(at(blocked, past), "association_blocked");
    f.fails(at(allocate("a1", "customer:CR", "1"), past), "not_resale_customer");
    f.fails(at(allocate("a2", "customer:C1", "9000.01"), past), "time_went_backwards");
    let deduct = json!({"op": "adjust", "id": "j1", "actor": "platform", "party": "customer:C4", "direction": "deduct", "amount": "6", "reason": "r"});
    f.fails(at(deduct.clone(), past), "time_went_backwards");
    f.fails(deduct, "insufficient_funds");
}

/// Sixteen threads send allocations at once through `Ledger::execute` (group commit): every id
/// is sent by two threads, and together they ask for more than D1 has. Each id commits once
/// (its twin answers the same `seq` as a duplicate) or is refused for both; exactly what D1 had
/// is allocated; the committed seqs follow the head without a gap; each thread's commands
/// commit in the order it sent them; and the journal verifies.
#[test]
fn concurrent_callers_share_commits_and_every_answer_holds() {
    const THREADS: usize = 16;
    const EACH: usize = 50;
    let f = Fixture::with_cast();
    let head = f.ledger.head().seq;
    let (d1_before, c1_before) = (f.cash("partner:D1"), f.allocated("customer:C1"));
    assert_eq!((d1_before.as_str(), c1_before.as_str()), ("9000.00", "0.00"));
    let ledger = &f.ledger;
    let answers: Vec<Vec<(String, Value)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                scope.spawn(move || {
                    (0..EACH)
                        .map(|n| {
                            let id = format!("pair{}-{n}", thread / 2);
                            let line = allocate(&id, "customer:C1", "25").to_string();
                            (id, ledger.execute_line(&line).to_json())
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("a sending thread panicked")).collect()
    });

    let mut by_id: std::collections::BTreeMap<&str, Vec<&Value>> = std::collections::BTreeMap::new();
    for (id, answer) in answers.iter().flatten() {
        by_id.entry(id.as_str()).or_default().push(answer);
    }
    let mut seqs = Vec::new();
    for (id, twins) in &by_id {
        assert_eq!(twins.len(), 2, "{id}");
        if twins[0]["ok"] == true {
            let mut duplicates: Vec<&Value> = twins.iter().map(|answer| &answer["duplicate"]).collect();
            duplicates.sort_by_key(|duplicate| duplicate.as_bool());
            assert_eq!(duplicates, [&json!(false), &json!(true)], "{id}: {twins:?}");
            assert_eq!(twins[0]["seq"], twins[1]["seq"], "{id}: {twins:?}");
            assert_eq!(twins[1]["result"], json!({"transfer": id}), "{id}");
            seqs.push(twins[0]["seq"].as_u64().expect("seq"));
        } else {
            for answer in twins {
                assert_eq!(answer["error"]["code"], "insufficient_funds", "{id}: {twins:?}");
            }
        }
    }
    // 9000.00 / 25.00: exactly 360 of the 400 ids commit.
    assert_eq!(seqs.len(), 360);
    seqs.sort_unstable();
    assert_eq!(seqs, (head + 1..=head + 360).collect::<Vec<u64>>());
    assert_eq!(f.ledger.head().seq, head + 360);
    assert_eq!((f.cash("partner:D1").as_str(), f.allocated("customer:C1").as_str()), ("0.00", "9000.00"));
    for (thread, sent) in answers.iter().enumerate() {
        let committed: Vec<u64> = sent.iter().filter_map(|(_, answer)| answer["seq"].as_u64()).collect();
        assert!(committed.windows(2).all(|pair| pair[0] < pair[1]), "thread {thread}: {committed:?}");
    }
    f.ledger.verify().expect("the journal verifies");
}
