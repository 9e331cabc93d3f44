//! Queries (SPEC 4): balance (now and `as_of`), adjust_records with filters and paging, and
//! statement lines, each answering exact values and following the actor scope of SPEC 2.1.
mod common;
use common::Fixture;
use serde_json::{Value, json};

fn balance(actor: &str, party: &str) -> Value {
    json!({"op": "balance", "actor": actor, "party": party})
}

fn records(filter: Value) -> Value {
    let mut request = json!({"op": "adjust_records", "actor": "platform"});
    for (name, value) in filter.as_object().expect("filter object") {
        request[name] = value.clone();
    }
    request
}

fn statement(party: &str, extra: Value) -> Value {
    let mut request = json!({"op": "statement", "actor": "platform", "party": party});
    for (name, value) in extra.as_object().expect("extra fields") {
        request[name] = value.clone();
    }
    request
}

fn seqs(result: &Value, list: &str) -> Vec<u64> {
    result[list].as_array().expect("a list").iter().map(|entry| entry["seq"].as_u64().expect("seq")).collect()
}

fn at(mut request: Value, time: &str) -> Value {
    request["at"] = json!(time);
    request
}

/// The cast plus one allocation or recovery a day: seq 14 to 18 on 2026-01-02 to 2026-01-06.
fn with_records() -> Fixture {
    let f = Fixture::with_cast();
    let transfers = [
        json!({"op": "allocate", "id": "t14", "actor": "partner:D1", "to": "customer:C1", "amount": "100", "memo": "m1"}),
        json!({"op": "allocate", "id": "t15", "actor": "partner:D1", "partner": "R1", "to": "customer:C2", "amount": "50"}),
        json!({"op": "allocate", "id": "t16", "actor": "partner:S1", "to": "customer:C3", "amount": "30"}),
        json!({"op": "recover", "id": "t17", "actor": "partner:D1", "from": "customer:C1", "amount": "40"}),
        json!({"op": "recover", "id": "t18", "actor": "partner:D1", "from": "partner:R1", "amount": "200"}),
    ];
    for (day, request) in (2..).zip(transfers) {
        f.ok(at(request, &format!("2026-01-{day:02}T00:00:00Z")));
    }
    f
}

/// The cast plus C4's history: recharges on Jan 10 and Jan 20, a credit limit on Jan 15, and an
/// allocation to C1 on Jan 20.
fn with_history() -> Fixture {
    let f = Fixture::with_cast();
    let recharge =
        |id: &str, amount: &str| json!({"op": "recharge", "id": id, "actor": "platform", "party": "customer:C4", "amount": amount});
    f.ok(at(recharge("h14", "50"), "2026-01-10T00:00:00Z"));
    f.ok(at(
        json!({"op": "set_credit_limit", "id": "h15", "actor": "platform", "party": "customer:C4", "limit": "300"}),
        "2026-01-15T00:00:00Z",
    ));
    f.ok(at(recharge("h16", "25"), "2026-01-20T00:00:00Z"));
    f.ok(at(json!({"op": "allocate", "id": "h17", "actor": "partner:D1", "to": "customer:C1", "amount": "10"}), "2026-01-20T00:00:00Z"));
    f
}

/// A balance without holds, debt or coupons: `allocated` for customers; `withdrawable` equal to
/// the cash (no over-invoicing, no resale customers in debt).
fn member_balance(party: &str, cash: &str, credit_limit: &str) -> Value {
    let mut balance = json!({
        "party": party, "cash": cash, "held": "0.00", "available": cash, "credit_limit": credit_limit,
        "credit_used": "0.00", "arrears": "0.00", "quotas": [], "coupons": [], "withdrawable": cash, "over_invoiced": "0.00"
    });
    if party.starts_with("customer:") {
        balance["allocated"] = json!("0.00");
        // The cast's C1 is D1's resale customer; C4 is unassociated.
        let (partner, association) = if party == "customer:C1" { (json!("D1"), json!("resale")) } else { (Value::Null, Value::Null) };
        balance["partner"] = partner;
        balance["association"] = association;
    }
    balance
}

/// The same balance as of a past time: what may be withdrawn is a decision about now (null).
fn member_balance_as_of(party: &str, cash: &str, credit_limit: &str) -> Value {
    let mut balance = member_balance(party, cash, credit_limit);
    balance["withdrawable"] = Value::Null;
    balance["over_invoiced"] = Value::Null;
    balance
}

fn platform_balance(bank: &str) -> Value {
    let accounts = json!({"bank": bank, "revenue": "0.00", "coupon_issuance": "0.00", "coupon_redeemed": "0.00", "coupon_expired": "0.00"});
    json!({"party": "platform", "accounts": accounts})
}

// ---- balance ----

#[test]
fn balance_of_a_partner_a_customer_and_the_platform() {
    let f = Fixture::with_cast();
    f.ok(json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "0.1"}));
    let response = f.send(json!({"op": "balance", "id": "q1", "actor": "partner:D1", "party": "partner:D1"}));
    assert_eq!(response, json!({"id": "q1", "ok": true, "result": member_balance("partner:D1", "8999.90", "0.00")}));
    let mut c1 = member_balance("customer:C1", "0.00", "0.00");
    c1["allocated"] = json!("0.10");
    assert_eq!(f.ok(balance("partner:D1", "customer:C1")), c1);
    assert_eq!(f.ok(balance("customer:C1", "customer:C1")), c1);
    assert_eq!(f.ok(balance("platform", "platform")), platform_balance("-30000.00"));
    // A query commits nothing.
    assert_eq!(f.ledger.head().seq, 14);
}

#[test]
fn balance_as_of_reads_after_the_last_transaction_at_or_before_that_time() {
    let f = with_history();
    let as_of = |party: &str, time: &str| f.ok(json!({"op": "balance", "actor": "platform", "party": party, "as_of": time}));
    assert_eq!(as_of("customer:C4", "2026-01-09T23:59:59Z"), member_balance_as_of("customer:C4", "0.00", "0.00"));
    assert_eq!(as_of("customer:C4", "2026-01-10T00:00:00Z"), member_balance_as_of("customer:C4", "50.00", "0.00"));
    assert_eq!(as_of("customer:C4", "2026-01-15T00:00:00Z"), member_balance_as_of("customer:C4", "50.00", "300.00"));
    assert_eq!(as_of("customer:C4", "2026-01-19T23:59:59.999Z"), member_balance_as_of("customer:C4", "50.00", "300.00"));
    // Both transactions at Jan 20 are included.
    assert_eq!(as_of("customer:C4", "2026-01-20T00:00:00Z"), member_balance_as_of("customer:C4", "75.00", "300.00"));
    assert_eq!(as_of("customer:C1", "2026-01-19T00:00:00Z")["allocated"], "0.00");
    assert_eq!(as_of("customer:C1", "2026-01-20T00:00:00Z")["allocated"], "10.00");
    assert_eq!(as_of("partner:D1", "2026-01-19T00:00:00Z")["cash"], "9000.00");
    assert_eq!(as_of("partner:D1", "2026-01-20T00:00:00Z")["cash"], "8990.00");
    assert_eq!(as_of("customer:C4", "2030-01-01T00:00:00Z"), member_balance_as_of("customer:C4", "75.00", "300.00"));
    assert_eq!(f.balance("customer:C4"), member_balance("customer:C4", "75.00", "300.00"));
    assert_eq!(as_of("platform", "2026-01-01T00:00:00Z"), platform_balance("-30000.00"));
    assert_eq!(as_of("platform", "2026-01-10T00:00:00Z"), platform_balance("-30050.00"));
    assert_eq!(as_of("platform", "2025-12-31T23:59:59Z"), platform_balance("0.00"));
    f.fails(json!({"op": "balance", "actor": "platform", "party": "customer:C4", "as_of": "2026-01-10"}), "invalid_request");
}

#[test]
fn balance_follows_the_actor_scope() {
    let f = Fixture::with_cast();
    for (actor, party) in [
        ("partner:D1", "customer:C2"),
        ("partner:D1", "partner:R1"),
        ("partner:R1", "customer:C2"),
        ("customer:C2", "customer:C2"),
        ("platform", "customer:C4"),
    ] {
        assert_eq!(f.ok(balance(actor, party))["party"], party, "{actor} reads {party}");
    }
    for (actor, party) in [
        ("customer:C1", "customer:C2"),
        ("customer:C1", "partner:D1"),
        ("customer:C1", "platform"),
        ("partner:D1", "platform"),
        ("partner:D2", "customer:C1"),
        ("partner:R1", "partner:D1"),
        ("partner:R1", "customer:C1"),
        ("partner:S1", "customer:CR"),
        // A referral customer's balance is its own (SPEC 2.1, v2), not its partner's to read.
        ("partner:D1", "customer:CR"),
        ("partner:D1", "customer:C4"),
        ("partner:D1", "customer:X"),
        ("partner:X", "partner:X"),
        ("customer:X", "customer:X"),
    ] {
        let error = f.fails(balance(actor, party), "access_denied");
        assert_eq!(error["cbc"], "CBC.0151");
    }
    f.fails(balance("platform", "customer:X"), "not_found");
    f.fails(balance("platform", "partner:X"), "not_found");
}

// ---- adjust_records ----

#[test]
fn adjust_records_list_everything_oldest_first() {
    let f = with_records();
    let record = |seq: u64, transfer: &str, operation: &str, partner: &str, target: &str, amount: &str, memo: Value| {
        let at = if seq == 13 { "2026-01-01T00:00:00Z".to_owned() } else { format!("2026-01-{:02}T00:00:00Z", seq - 12) };
        json!({"seq": seq, "at": at, "transfer": transfer, "operation": operation, "partner": partner, "target": target, "amount": amount,
            "memo": memo})
    };
    let expected = [
        record(13, "setup-13", "allocate", "D1", "partner:R1", "1000.00", Value::Null),
        record(14, "t14", "allocate", "D1", "customer:C1", "100.00", json!("m1")),
        record(15, "t15", "allocate", "R1", "customer:C2", "50.00", Value::Null),
        record(16, "t16", "allocate", "S1", "customer:C3", "30.00", Value::Null),
        record(17, "t17", "recover", "D1", "customer:C1", "40.00", Value::Null),
        record(18, "t18", "recover", "D1", "partner:R1", "200.00", Value::Null),
    ];
    assert_eq!(f.ok(records(json!({}))), json!({"total_count": 6, "records": expected}));
}

#[test]
fn adjust_records_filters() {
    let f = with_records();
    let cases = [
        (json!({"partner": "D1"}), vec![13, 14, 17, 18]),
        (json!({"partner": "R1"}), vec![15]),
        (json!({"partner": "D2"}), vec![]),
        (json!({"target": "customer:C1"}), vec![14, 17]),
        (json!({"target": "partner:R1"}), vec![13, 18]),
        (json!({"operation": "recover"}), vec![17, 18]),
        (json!({"operation": "allocate", "partner": "D1"}), vec![13, 14]),
        (json!({"operation": "unbind_reclaim"}), vec![]),
        (json!({"from": "2026-01-03T00:00:00Z", "to": "2026-01-05T00:00:00Z"}), vec![15, 16, 17]),
        (json!({"from": "2026-01-05T00:00:00Z"}), vec![17, 18]),
        (json!({"to": "2026-01-01T23:59:59Z"}), vec![13]),
        (json!({"target": "partner:R1", "operation": "recover", "from": "2026-01-06T00:00:00Z"}), vec![18]),
    ];
    for (filter, expected) in cases {
        let result = f.ok(records(filter.clone()));
        assert_eq!(seqs(&result, "records"), expected, "{filter}");
        assert_eq!(result["total_count"], expected.len(), "{filter}");
    }
}

#[test]
fn adjust_records_paging() {
    let f = with_records();
    let page = |offset: u64, limit: u64| f.ok(records(json!({"offset": offset, "limit": limit})));
    assert_eq!(seqs(&page(1, 2), "records"), [14, 15]);
    assert_eq!(page(1, 2)["total_count"], 6);
    assert_eq!(seqs(&page(5, 100), "records"), [18]);
    assert_eq!(page(6, 1), json!({"total_count": 6, "records": []}));
    assert_eq!(seqs(&f.ok(records(json!({"limit": 1}))), "records"), [13]);
    for bad in [
        json!({"limit": 0}),
        json!({"limit": 101}),
        json!({"limit": -1}),
        json!({"limit": "2"}),
        json!({"limit": 1.5}),
        json!({"offset": -1}),
        json!({"operation": "transfer"}),
        json!({"from": "yesterday"}),
    ] {
        let error = f.fails(records(bad.clone()), "invalid_request");
        assert_eq!(error["cbc"], "CBC.0100", "{bad}");
    }
    f.fails(records(json!({"partner": "partner:D1"})), "invalid_id");
    f.fails(records(json!({"target": "C1"})), "invalid_id");
}

#[test]
fn adjust_records_follow_the_actor_scope() {
    let f = with_records();
    let read = |actor: &str, filter: Value| {
        let mut request = records(filter);
        request["actor"] = json!(actor);
        request
    };
    assert_eq!(seqs(&f.ok(read("customer:C1", json!({}))), "records"), [14, 17]);
    assert_eq!(seqs(&f.ok(read("partner:S1", json!({}))), "records"), [16]);
    assert_eq!(seqs(&f.ok(read("partner:D1", json!({}))), "records"), [13, 14, 15, 17, 18]);
    assert_eq!(f.ok(read("partner:D2", json!({}))), json!({"total_count": 0, "records": []}));
    f.fails(read("customer:C1", json!({"partner": "D1"})), "access_denied");
    f.fails(read("customer:C1", json!({"target": "customer:C3"})), "access_denied");
    f.fails(read("partner:D2", json!({"partner": "D1"})), "access_denied");
    f.fails(read("partner:R1", json!({"target": "customer:C1"})), "access_denied");
    f.fails(read("partner:X", json!({})), "access_denied");
}

// ---- statement ----

#[test]
fn statement_lines_are_signed_postings_with_counterparties() {
    let f = Fixture::with_cast();
    let line = |seq: u64, request: &str, op: &str, amount: &str, after: &str, counterparty: &str| json!({"seq": seq, "at": "2026-01-01T00:00:00Z", "request": request, "op": op, "amount": amount, "balance_after": after, "counterparty": counterparty});
    let d1 = [
        line(10, "setup-10", "recharge", "10000.00", "10000.00", "platform"),
        line(13, "setup-13", "allocate", "-1000.00", "9000.00", "partner:R1"),
    ];
    assert_eq!(f.ok(statement("partner:D1", json!({}))), json!({"total_count": 2, "lines": d1}));
    let r1 = [line(13, "setup-13", "allocate", "1000.00", "1000.00", "partner:D1")];
    assert_eq!(f.ok(statement("partner:R1", json!({"account": "cash"}))), json!({"total_count": 1, "lines": r1}));
    f.ok(json!({"op": "recover", "id": "v1", "actor": "partner:D1", "from": "partner:R1", "amount": "0.5"}));
    let recovered =
        [line(13, "setup-13", "allocate", "1000.00", "1000.00", "partner:D1"), line(14, "v1", "recover", "-0.50", "999.50", "partner:D1")];
    assert_eq!(f.ok(statement("partner:R1", json!({}))), json!({"total_count": 2, "lines": recovered}));
    // A customer's `allocated` has its own statement; a partner has none.
    f.ok(json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "3"}));
    f.ok(json!({"op": "recover", "id": "v2", "actor": "partner:D1", "from": "customer:C1", "amount": "1"}));
    let allocated = f.ok(statement("customer:C1", json!({"account": "allocated"})));
    let c1 = [line(15, "a1", "allocate", "3.00", "3.00", "partner:D1"), line(16, "v2", "recover", "-1.00", "2.00", "partner:D1")];
    assert_eq!(allocated, json!({"total_count": 2, "lines": c1}));
    assert_eq!(f.ok(statement("customer:C1", json!({}))), json!({"total_count": 0, "lines": []}));
    f.fails(statement("partner:D1", json!({"account": "allocated"})), "invalid_request");
}

#[test]
fn statement_of_credit_and_arrears() {
    let f = Fixture::with_cast();
    f.ok(json!({"op": "set_credit_limit", "id": "l1", "actor": "platform", "party": "customer:C4", "limit": "100"}));
    f.ok(json!({"op": "recharge", "id": "r1", "actor": "platform", "party": "customer:C4", "amount": "10"}));
    // Neither account has postings in this foundation: a limit is not a posting, and with no debt a
    // recharge writes nothing to arrears.
    let empty = json!({"total_count": 0, "lines": []});
    assert_eq!(f.ok(statement("customer:C4", json!({"account": "credit"}))), empty);
    assert_eq!(f.ok(statement("customer:C4", json!({"account": "arrears"}))), empty);
    assert_eq!(f.ok(statement("partner:D1", json!({"account": "credit"}))), empty);
    assert_eq!(f.ok(statement("customer:C4", json!({"account": "cash"})))["total_count"], 1);
    f.fails(statement("customer:C4", json!({"account": "coupon"})), "invalid_request");
}

#[test]
fn statement_time_range_and_paging() {
    let f = with_history();
    let cash = |extra: Value| f.ok(statement("customer:C4", extra));
    assert_eq!(seqs(&cash(json!({})), "lines"), [14, 16]);
    assert_eq!(seqs(&cash(json!({"from": "2026-01-15T00:00:00Z"})), "lines"), [16]);
    assert_eq!(seqs(&cash(json!({"to": "2026-01-10T00:00:00Z"})), "lines"), [14]);
    assert_eq!(cash(json!({"from": "2026-01-11T00:00:00Z", "to": "2026-01-19T00:00:00Z"})), json!({"total_count": 0, "lines": []}));
    let second = cash(json!({"offset": 1, "limit": 1}));
    let line = json!({"seq": 16, "at": "2026-01-20T00:00:00Z", "request": "h16", "op": "recharge", "amount": "25.00", "balance_after": "75.00", "counterparty": "platform"});
    assert_eq!(second, json!({"total_count": 2, "lines": [line]}));
    f.fails(statement("customer:C4", json!({"limit": 0})), "invalid_request");
    f.fails(statement("customer:C4", json!({"limit": 101})), "invalid_request");
    f.fails(statement("customer:C4", json!({"to": 5})), "invalid_request");
    f.fails(statement("platform", json!({})), "invalid_request");
}

#[test]
fn statement_pages_hold_ten_lines_by_default() {
    let f = Fixture::with_cast();
    let compensate = json!({"op": "adjust", "party": "partner:D2", "direction": "compensate", "amount": "1", "reason": "r"});
    f.ok(json!({"op": "atomic", "id": "g1", "actor": "platform", "commands": vec![compensate; 11]}));
    let page = f.ok(statement("partner:D2", json!({})));
    assert_eq!(page["total_count"], 12);
    assert_eq!(page["lines"].as_array().map(Vec::len), Some(10));
    assert_eq!(page["lines"][9]["balance_after"], "10009.00");
    let last = f.ok(statement("partner:D2", json!({"offset": 10})));
    assert_eq!(last["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(last["lines"][1]["balance_after"], "10011.00");
    assert_eq!(f.ok(statement("partner:D2", json!({"limit": 100})))["lines"].as_array().map(Vec::len), Some(12));
}

#[test]
fn statement_follows_the_actor_scope() {
    let f = Fixture::with_cast();
    let read = |actor: &str, party: &str| json!({"op": "statement", "actor": actor, "party": party});
    assert_eq!(f.ok(read("partner:D1", "partner:R1"))["total_count"], 1);
    assert_eq!(f.ok(read("partner:D1", "customer:C2"))["total_count"], 0);
    assert_eq!(f.ok(read("partner:R1", "partner:R1"))["total_count"], 1);
    f.fails(read("partner:R1", "partner:D1"), "access_denied");
    f.fails(read("customer:C1", "customer:C2"), "access_denied");
    f.fails(read("partner:D2", "customer:C1"), "access_denied");
    f.fails(read("partner:X", "partner:D1"), "access_denied");
    f.fails(read("platform", "customer:X"), "not_found");
}

/// The posting index keeps an account's postings in blocks of up to 128 (format 5). C1's
/// allocated account gets 300 postings, indexed by three catch-ups (a statement after the 50th
/// and the 150th: the last block is merged into, then split), then a compaction and a reopen
/// with 20 more. Every page and time window must answer what the postings say, and `balance`
/// as of any time the balance after the last posting at or before it.
#[test]
fn statement_pages_and_windows_hold_across_posting_blocks() {
    let f = Fixture::with_cast();
    let time = |i: usize| format!("2026-02-01T{:02}:{:02}:00Z", i / 60, i % 60);
    let money = |minor: i64| format!("{}.{:02}", minor / 100, minor % 100);
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut after = 0_i64;
    let allocate = |f: &Fixture, i: usize, after: &mut i64, expected: &mut Vec<(String, String)>| {
        let cents = 100 + i64::try_from(i).expect("small");
        *after += cents;
        let request = json!({"op": "allocate", "id": format!("b{i}"), "actor": "partner:D1", "to": "customer:C1", "amount": money(cents)});
        f.ok(at(request, &time(i)));
        expected.push((money(cents), money(*after)));
    };
    for i in 0..300 {
        allocate(&f, i, &mut after, &mut expected);
        if i == 49 || i == 149 {
            f.ok(statement("customer:C1", json!({"account": "allocated", "limit": 1})));
        }
    }
    let check = |f: &Fixture, expected: &[(String, String)], window: (usize, usize), offset: usize, limit: usize| {
        let (first, end) = window;
        let mut request = json!({"account": "allocated", "offset": offset, "limit": limit});
        if first > 0 {
            request["from"] = json!(time(first));
        }
        if end < expected.len() {
            request["to"] = json!(time(end - 1));
        }
        let result = f.ok(statement("customer:C1", request.clone()));
        assert_eq!(result["total_count"], end - first, "{request}");
        let lines: Vec<(String, String)> = result["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|line| (line["amount"].as_str().expect("amount").to_owned(), line["balance_after"].as_str().expect("after").to_owned()))
            .collect();
        let want: Vec<(String, String)> = expected[first..end].iter().skip(offset).take(limit).cloned().collect();
        assert_eq!(lines, want, "{request}");
    };
    let all_checks = |f: &Fixture, expected: &[(String, String)]| {
        let n = expected.len();
        for (offset, limit) in [(0, 10), (120, 20), (127, 2), (128, 1), (250, 100), (n - 1, 5), (n, 5), (n + 7, 5)] {
            check(f, expected, (0, n), offset, limit);
        }
        for (window, offset, limit) in [((100, 200), 20, 30), ((127, 129), 0, 10), ((128, 257), 100, 100), ((5, 6), 0, 1), ((0, 1), 0, 3)] {
            check(f, expected, window, offset, limit);
        }
        for i in [0, 1, 127, 128, 129, 255, 256, n - 1] {
            let answer = f.ok(json!({"op": "balance", "actor": "platform", "party": "customer:C1", "as_of": time(i)}));
            assert_eq!(answer["allocated"], json!(expected[i].1), "as of posting {i}");
        }
        let before = f.ok(json!({"op": "balance", "actor": "platform", "party": "customer:C1", "as_of": "2026-01-31T23:59:59Z"}));
        assert_eq!(before["allocated"], "0.00");
        // The same transfers' adjust records, indexed in several adjust runs: a window reads
        // only the runs it needs, and finds every record in it.
        for (first, end) in [(0, n), (49, 51), (100, 200), (149, 151), (n - 1, n)] {
            let request = json!({"op": "adjust_records", "actor": "platform", "target": "customer:C1", "from": time(first), "to": time(end - 1), "limit": 1});
            let result = f.ok(request.clone());
            assert_eq!(result["total_count"], end - first, "{request}");
            assert_eq!(result["records"][0]["amount"], json!(expected[first].0), "{request}");
        }
    };
    all_checks(&f, &expected);
    f.ledger.compact().expect("compact");
    all_checks(&f, &expected);
    let Fixture { ledger, clock, dir } = f;
    drop(ledger);
    let ledger = partner_ledger::Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock.clone())).expect("reopen");
    let f = Fixture { ledger, clock, dir };
    for i in 300..320 {
        allocate(&f, i, &mut after, &mut expected);
    }
    all_checks(&f, &expected);
    f.ledger.verify().expect("the posting blocks verify");
}
