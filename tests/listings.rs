//! The listings of SPEC v2 section 4 (`customers`, `resellers`, `quotas`, `coupons`, `operators`),
//! customers' names and external ids, and `transfer` on adjust records: each listing paged across
//! more than one page, oldest first, and scoped for a partner, its distributor, a customer manager,
//! a customer and a stranger.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
/// The next UTC+8 day after `T1`.
const T2: &str = "2026-01-06T10:00:00Z";

fn list(f: &Fixture, op: &str, actor: &str, fields: Value) -> Value {
    f.ok(with(json!({"op": op, "actor": actor, "at": T2, "limit": 100}), fields))
}

fn code(f: &Fixture, op: &str, actor: &str, fields: Value) -> String {
    let response = f.send(with(json!({"op": op, "actor": actor, "at": T2}), fields));
    response["error"]["code"].as_str().map_or_else(|| "ok".to_owned(), str::to_owned)
}

fn column(result: &Value, list: &str, key: &str) -> Vec<String> {
    result[list].as_array().expect("list").iter().map(|row| row[key].as_str().expect("text").to_owned()).collect()
}

/// The cast, plus: C5 to C16 registered by R1 with names and external ids (E5 … E16); R1's
/// customer manager RM managing C5 and C6 from the next UTC+8 day; quotas for D1 and a reseller
/// quota for R1 carved from D1's; coupons for C1 and C2.
fn listed() -> Fixture {
    let f = Fixture::with_cast();
    for n in 5..=16 {
        let fields = json!({"customer": format!("C{n}"), "partner": "R1", "name": format!("客户 {n}"), "external_id": format!("E{n}")});
        assert_eq!(f.ok(command("register_customer", &format!("c{n}"), "partner:R1", SETUP_AT, fields))["customer"], format!("C{n}"));
    }
    f.ok(command(
        "register_operator",
        "o1",
        "platform",
        SETUP_AT,
        json!({"operator": "RM", "partner": "R1", "roles": ["customer_manager"]}),
    ));
    f.ok(command("register_operator", "o2", "platform", SETUP_AT, json!({"operator": "RF", "partner": "R1", "roles": ["finance"]})));
    f.ok(issue_quota("q1", "platform", SETUP_AT, json!({"quota": "QD1", "partner": "D1", "kind": "voucher", "amount": "1000"})));
    f.ok(issue_quota("q2", "platform", SETUP_AT, json!({"quota": "QD2", "partner": "D1", "kind": "cash_coupon", "amount": "500"})));
    // A distributor's quota for its reseller defaults to its parent's window.
    let child = command(
        "issue_quota",
        "q3",
        "partner:D1",
        T1,
        json!({"quota": "QR1", "partner": "R1", "kind": "voucher", "amount": "300", "from_quota": "QD1"}),
    );
    f.ok(child);
    f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "50"));
    f.ok(issue_coupon("k2", "partner:R1", T1, "K2", "QR1", "C2", "20"));
    f.ok(issue_coupon("k3", "partner:D1", T1, "K3", "QR1", "C5", "10"));
    for customer in ["C5", "C6"] {
        f.ok(command(
            "assign_customer_manager",
            &format!("m-{customer}"),
            "partner:R1",
            T1,
            json!({"customer": customer, "operator": "RM"}),
        ));
    }
    f
}

#[test]
fn customers_are_listed_with_names_external_ids_and_managers() {
    let f = listed();
    let r1 = list(&f, "customers", "partner:R1", json!({}));
    assert_eq!(r1["total_count"], 13);
    let first = &r1["customers"][1];
    let expected = json!({"customer": "C5", "name": "客户 5", "external_id": "E5", "partner": "R1", "association": "resale",
        "associated_at": SETUP_AT, "manager": "RM"});
    assert_eq!(*first, expected);
    assert_eq!(r1["customers"][0]["customer"], "C2");
    // Paged: two pages of 10 and 3, oldest first.
    let page = |offset: u64| f.ok(json!({"op": "customers", "actor": "partner:R1", "at": T2, "offset": offset, "limit": 10}));
    let (one, two) = (page(0), page(10));
    assert_eq!((one["customers"].as_array().map(Vec::len), two["customers"].as_array().map(Vec::len)), (Some(10), Some(3)));
    assert_eq!(column(&two, "customers", "customer"), ["C14", "C15", "C16"]);
    // A distributor sees its own customers and its reseller's; filters narrow it.
    assert_eq!(list(&f, "customers", "partner:D1", json!({}))["total_count"], 15);
    assert_eq!(column(&list(&f, "customers", "partner:D1", json!({"association": "referral"})), "customers", "customer"), ["CR"]);
    assert_eq!(
        column(&list(&f, "customers", "partner:D1", json!({"partner": "R1", "manager": "RM"})), "customers", "customer"),
        ["C5", "C6"]
    );
    // A customer manager sees only its customers, from the next UTC+8 day.
    assert_eq!(column(&list(&f, "customers", "operator:RM", json!({})), "customers", "customer"), ["C5", "C6"]);
    let before = f.ok(json!({"op": "customers", "actor": "operator:RM", "at": T1}));
    assert_eq!(before["total_count"], 0);
    // A customer, a stranger, another partner's customers.
    assert_eq!(code(&f, "customers", "customer:C1", json!({})), "access_denied");
    assert_eq!(code(&f, "customers", "partner:NOPE", json!({})), "access_denied");
    assert_eq!(code(&f, "customers", "partner:D2", json!({"partner": "D1"})), "access_denied");
    assert_eq!(code(&f, "customers", "operator:RM", json!({"partner": "D1"})), "access_denied");
    assert_eq!(list(&f, "customers", "platform", json!({}))["total_count"], 17);
}

#[test]
fn an_external_id_is_unique_among_one_partners_customers() {
    let f = listed();
    let again = command("register_customer", "x1", "partner:R1", T1, json!({"customer": "X1", "partner": "R1", "external_id": "E5"}));
    let error = f.fails(again, "already_exists");
    assert_eq!(error["cbc"], "CBC.0100");
    // Another partner's customer may carry the same external id, and so may a customer without one.
    f.ok(command("register_customer", "x2", "partner:D2", T1, json!({"customer": "X2", "partner": "D2", "external_id": "E5"})));
    f.ok(command("register_customer", "x3", "platform", T1, json!({"customer": "X3", "external_id": "E5"})));
    f.fails(command("register_customer", "x4", "platform", T1, json!({"customer": "X4", "external_id": "E5"})), "already_exists");
    // Joining a partner whose customers already use it is refused too.
    f.fails(
        command("associate", "x5", "platform", T1, json!({"customer": "X3", "partner": "R1", "association": "referral"})),
        "already_exists",
    );
    f.fails(command("register_customer", "x6", "platform", T1, json!({"customer": "X6", "name": ""})), "invalid_request");
    f.fails(command("register_customer", "x7", "platform", T1, json!({"customer": "X7", "name": "n".repeat(65)})), "invalid_request");
    f.fails(command("register_customer", "x8", "platform", T1, json!({"customer": "X8", "external_id": "bad id"})), "invalid_id");
}

#[test]
fn resellers_and_operators_are_listed_for_their_partner() {
    let f = listed();
    f.ok(command("register_partner", "p1", "platform", T1, json!({"partner": "R2", "kind": "reseller", "parent": "D1"})));
    let resellers = list(&f, "resellers", "partner:D1", json!({}));
    assert_eq!(
        resellers["resellers"],
        json!([{"partner": "R1", "parent": "D1", "registered_at": "2026-01-01T00:00:00Z"}, {"partner": "R2", "parent": "D1", "registered_at": T1}])
    );
    assert_eq!(list(&f, "resellers", "platform", json!({"partner": "D1"}))["total_count"], 2);
    assert_eq!(list(&f, "resellers", "partner:D2", json!({}))["total_count"], 0);
    let page = f.ok(json!({"op": "resellers", "actor": "partner:D1", "offset": 1, "limit": 1}));
    assert_eq!(column(&page, "resellers", "partner"), ["R2"]);
    assert_eq!(code(&f, "resellers", "customer:C1", json!({})), "access_denied");
    assert_eq!(code(&f, "resellers", "partner:D2", json!({"partner": "D1"})), "access_denied");
    let operators = list(&f, "operators", "partner:R1", json!({}));
    let expected = json!([
        {"operator": "RM", "partner": "R1", "roles": ["customer_manager"], "customers_managed": 2},
        {"operator": "RF", "partner": "R1", "roles": ["finance"], "customers_managed": 0},
    ]);
    assert_eq!(operators["operators"], expected);
    assert_eq!(list(&f, "operators", "operator:RF", json!({}))["total_count"], 2);
    assert_eq!(list(&f, "operators", "partner:D1", json!({"partner": "R1"}))["total_count"], 2);
    assert_eq!(code(&f, "operators", "operator:RM", json!({})), "access_denied");
    assert_eq!(code(&f, "operators", "partner:D2", json!({"partner": "R1"})), "access_denied");
    assert_eq!(code(&f, "operators", "customer:C5", json!({})), "access_denied");
}

#[test]
fn quotas_are_listed_with_their_issued_amount_and_parent() {
    let f = listed();
    let d1 = list(&f, "quotas", "partner:D1", json!({}));
    assert_eq!(column(&d1, "quotas", "quota"), ["QD1", "QD2", "QR1"]);
    let child = &d1["quotas"][2];
    let expected = json!({"quota": "QR1", "partner": "R1", "kind": "voucher", "amount": "300.00", "balance": "270.00",
        "valid_from": FROM, "valid_until": UNTIL, "status": "normal", "parent_quota": "QD1"});
    assert_eq!(*child, expected);
    assert_eq!(d1["quotas"][0]["balance"], "650.00");
    assert_eq!(column(&list(&f, "quotas", "partner:R1", json!({})), "quotas", "quota"), ["QR1"]);
    assert_eq!(column(&list(&f, "quotas", "platform", json!({"parent_quota": "QD1"})), "quotas", "quota"), ["QR1"]);
    assert_eq!(column(&list(&f, "quotas", "partner:D1", json!({"kind": "cash_coupon"})), "quotas", "quota"), ["QD2"]);
    let later = f.ok(json!({"op": "quotas", "actor": "partner:D1", "at": "2026-08-01T00:00:00Z", "status": "expired"}));
    assert_eq!(later["total_count"], 3);
    let page = f.ok(json!({"op": "quotas", "actor": "partner:D1", "at": T2, "offset": 2, "limit": 2}));
    assert_eq!((page["total_count"].clone(), column(&page, "quotas", "quota")), (json!(3), vec!["QR1".to_owned()]));
    assert_eq!(code(&f, "quotas", "partner:R1", json!({"partner": "D1"})), "access_denied");
    assert_eq!(code(&f, "quotas", "customer:C1", json!({})), "access_denied");
    assert_eq!(code(&f, "quotas", "operator:RM", json!({})), "access_denied");
    assert_eq!(code(&f, "quotas", "partner:D2", json!({"partner": "R1"})), "access_denied");
}

#[test]
fn coupons_are_listed_to_their_holder_and_issuers() {
    let f = listed();
    assert_eq!(column(&list(&f, "coupons", "customer:C1", json!({})), "coupons", "coupon"), ["K1"]);
    assert_eq!(column(&list(&f, "coupons", "partner:R1", json!({})), "coupons", "coupon"), ["K2", "K3"]);
    assert_eq!(column(&list(&f, "coupons", "partner:D1", json!({})), "coupons", "coupon"), ["K1", "K2", "K3"]);
    assert_eq!(column(&list(&f, "coupons", "partner:D1", json!({"quota": "QR1"})), "coupons", "coupon"), ["K2", "K3"]);
    let row = &list(&f, "coupons", "customer:C2", json!({}))["coupons"][0];
    let expected = json!({"coupon": "K2", "quota": "QR1", "customer": "C2", "kind": "voucher", "face_value": "20.00", "remaining": "20.00",
        "valid_from": FROM, "valid_until": UNTIL, "services": null, "ratio": null, "order_kinds": null, "status": "usable"});
    assert_eq!(*row, expected);
    let page = f.ok(json!({"op": "coupons", "actor": "platform", "at": T2, "offset": 1, "limit": 1}));
    assert_eq!((page["total_count"].clone(), column(&page, "coupons", "coupon")), (json!(3), vec!["K2".to_owned()]));
    assert_eq!(list(&f, "coupons", "partner:D2", json!({}))["total_count"], 0);
    assert_eq!(code(&f, "coupons", "customer:C1", json!({"customer": "C2"})), "access_denied");
    assert_eq!(code(&f, "coupons", "partner:D2", json!({"customer": "C1"})), "access_denied");
    assert_eq!(code(&f, "coupons", "operator:RM", json!({})), "access_denied");
    assert_eq!(code(&f, "coupons", "platform", json!({"quota": "NOPE"})), "not_found");
}

#[test]
fn adjust_records_name_their_transfer_and_filter_by_it() {
    let f = listed();
    f.ok(command("allocate", "T-1", "partner:R1", T1, json!({"to": "customer:C5", "amount": "10"})));
    let group = json!([{"op": "allocate", "to": "customer:C6", "amount": "1"}, {"op": "allocate", "to": "customer:C7", "amount": "2"}]);
    f.ok(command("atomic", "T-2", "partner:R1", T1, json!({"commands": group})));
    let records = list(&f, "adjust_records", "partner:R1", json!({"transfer": "T-2"}));
    assert_eq!(records["total_count"], 2);
    assert_eq!(column(&records, "records", "transfer"), ["T-2", "T-2"]);
    assert_eq!(column(&records, "records", "target"), ["customer:C6", "customer:C7"]);
    assert_eq!(list(&f, "adjust_records", "platform", json!({"transfer": "T-1"}))["records"][0]["amount"], "10.00");
    assert_eq!(list(&f, "adjust_records", "platform", json!({"transfer": "NOPE"}))["total_count"], 0);
}

#[test]
fn coupon_records_follow_coupon_value_from_quota_to_redemption() {
    let f = listed();
    f.ok(place_order("place-1", "customer:C1", T1, "O1", "C1", "30"));
    f.ok(pay_order("pay-1", "customer:C1", T1, "O1", &["K1"]));
    f.ok(command("unbind", "u1", "partner:R1", T1, json!({"customer": "C5"})));
    let all = list(&f, "coupon_records", "platform", json!({}));
    let operations: Vec<(String, String)> = all["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|row| (row["operation"].as_str().expect("op").to_owned(), row["amount"].as_str().expect("amount").to_owned()))
        .collect();
    let expected = [
        ("issue_quota", "1000.00"),
        ("issue_quota", "500.00"),
        ("issue_quota", "300.00"),
        ("issue_coupon", "50.00"),
        ("issue_coupon", "20.00"),
        ("issue_coupon", "10.00"),
        ("redeem", "30.00"),
        ("unbind_reclaim", "10.00"),
    ];
    assert_eq!(operations, expected.map(|(op, amount)| (op.to_owned(), amount.to_owned())));
    let redeem = &list(&f, "coupon_records", "customer:C1", json!({"operation": "redeem"}))["records"][0];
    assert_eq!(
        (redeem["request"].clone(), redeem["quota"].clone(), redeem["coupon"].clone(), redeem["customer"].clone()),
        (json!("pay-1"), json!("QD1"), json!("K1"), json!("C1"))
    );
    assert_eq!(column(&list(&f, "coupon_records", "customer:C1", json!({})), "records", "operation"), ["issue_coupon", "redeem"]);
    let r1 = list(&f, "coupon_records", "partner:R1", json!({}));
    assert_eq!(column(&r1, "records", "operation"), ["issue_quota", "issue_coupon", "issue_coupon", "unbind_reclaim"]);
    assert_eq!(list(&f, "coupon_records", "partner:D1", json!({"quota": "QR1"}))["total_count"], 4);
    let page = f.ok(json!({"op": "coupon_records", "actor": "platform", "offset": 6, "limit": 5}));
    assert_eq!(
        (page["total_count"].clone(), column(&page, "records", "operation")),
        (json!(8), vec!["redeem".to_owned(), "unbind_reclaim".to_owned()])
    );
    // A time window keeps the rows whose transaction's time is inside it, bounds included.
    let rows = all["records"].as_array().expect("records");
    let times: std::collections::BTreeSet<&str> = rows.iter().map(|row| row["at"].as_str().expect("at")).collect();
    assert!(times.len() >= 2, "the fixture spreads coupon records over time: {times:?}");
    let times: Vec<&str> = times.into_iter().collect();
    for (from, to) in [(times[0], times[0]), (times[1], times[times.len() - 1]), (times[0], times[times.len() - 2])] {
        let window = list(&f, "coupon_records", "platform", json!({"from": from, "to": to}));
        let expected: Vec<&Value> = rows.iter().filter(|row| (from..=to).contains(&row["at"].as_str().expect("at"))).collect();
        assert_eq!(window["records"].as_array().expect("records").iter().collect::<Vec<_>>(), expected, "{from}..={to}");
        assert_eq!(window["total_count"], expected.len());
    }
    assert_eq!(list(&f, "coupon_records", "platform", json!({"from": "2099-01-01T00:00:00Z"}))["total_count"], 0);
    assert_eq!(code(&f, "coupon_records", "operator:RM", json!({})), "access_denied");
    assert_eq!(code(&f, "coupon_records", "customer:C1", json!({"customer": "C2"})), "access_denied");
    assert_eq!(code(&f, "coupon_records", "platform", json!({"operation": "burn"})), "invalid_request");
}

/// The platform's and D1's listings of every kind, and the expiry sweep's answer.
fn every_listing(f: &Fixture) -> Vec<Value> {
    let mut answers = Vec::new();
    for actor in ["platform", "partner:D1", "partner:R1"] {
        for op in ["customers", "resellers", "quotas", "coupons", "coupon_records", "operators", "orders"] {
            answers.push(f.send(with(json!({"op": op, "actor": actor, "at": T2, "limit": 100}), json!({}))));
        }
    }
    answers
}

/// Reopens `f`'s file: a ledger whose cache holds nothing yet.
fn reopened(f: Fixture) -> Fixture {
    let Fixture { ledger, clock, dir } = f;
    drop(ledger);
    let ledger = partner_ledger::Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock.clone())).expect("reopen");
    Fixture { ledger, clock, dir }
}

/// Commands after which some records live only in the cache (not checkpointed yet): a new
/// partner, customer, quota, coupon and two customers' orders, then the expiry sweep (after the
/// quotas' window).
fn more(f: &Fixture) -> Value {
    f.ok(command("register_partner", "more-p", "platform", T2, json!({"partner": "R9", "kind": "reseller", "parent": "D1"})));
    f.ok(command("register_customer", "more-c", "partner:D1", T2, json!({"customer": "C90", "partner": "D1"})));
    f.ok(issue_quota("more-q", "platform", T2, json!({"quota": "QD9", "partner": "D1", "kind": "voucher", "amount": "70"})));
    f.ok(issue_coupon("more-k", "partner:D1", T2, "K9", "QD9", "C90", "7"));
    f.ok(place_order("more-o8", "customer:C5", T2, "O8", "C5", "2"));
    f.ok(place_order("more-o", "customer:C90", T2, "O9", "C90", "3"));
    f.ok(command("expire_coupons", "more-x", "platform", "2026-08-01T00:00:00Z", json!({})))
}

/// Reads over every record of a kind (the platform's listings, a distributor's resellers, the
/// coupon expiry sweep) fetch only that kind when the cache is cold, and answer exactly as a
/// ledger that holds everything: right after the commands, after reopening (everything in the
/// checkpointed tables), and after reopening and more commands (some records only in the cache).
#[test]
fn reads_over_every_record_of_a_kind_answer_the_same_from_a_cold_cache() {
    let warm = listed();
    let before = every_listing(&warm);
    assert!(before.iter().all(|answer| answer["ok"] == true || answer["error"]["code"] == "forbidden"), "{before:?}");
    let warm_expired = more(&warm);
    let warm_after = every_listing(&warm);
    assert_eq!(warm_expired, json!({"amount": "87.00", "expired": ["K1", "K2", "K3", "K9"]}));
    // The platform's customers are read from the store after a checkpoint: one registered
    // since the last checkpoint is there too, last (registration order).
    let (customers_before, customers_after) = (&before[0]["result"], &warm_after[0]["result"]);
    let total = customers_before["total_count"].as_u64().expect("count");
    assert_eq!(customers_after["total_count"], total + 1, "{customers_after}");
    let names: Vec<&Value> = customers_after["customers"].as_array().expect("customers").iter().map(|row| &row["customer"]).collect();
    assert_eq!(names.last(), Some(&&json!("C90")), "{customers_after}");
    // The platform's orders are read by kind: both customers' orders, in the order placed.
    let platform_orders = &warm_after[6]["result"];
    assert_eq!(platform_orders["total_count"], 2, "{platform_orders}");
    let ids: Vec<&Value> = platform_orders["orders"].as_array().expect("orders").iter().map(|order| &order["order"]).collect();
    assert_eq!(ids, [&json!("O8"), &json!("O9")]);

    let cold = reopened(listed());
    assert_eq!(every_listing(&cold), before, "reopened: every listing from the checkpointed tables");
    let cold = reopened(cold);
    assert_eq!(more(&cold), warm_expired, "the sweep finds every coupon, checkpointed or not");
    assert_eq!(every_listing(&cold), warm_after, "reopened, then more commands");
    let cold = reopened(cold);
    cold.ledger.set_cache_entries_max(0);
    assert_eq!(every_listing(&cold), warm_after, "reopened again, without a cache");
    cold.ledger.verify().expect("verifies");
}
