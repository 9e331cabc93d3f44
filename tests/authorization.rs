//! Authorization matrix (SPEC 2.1, 3, 4; docs/decisions.md "Scope"): every command and query,
//! sent by every kind of actor, in a fresh copy of one standard scenario in which each request
//! would succeed for an allowed actor.
//!
//! The actors are named relative to reseller R1 (parent distributor D1) and its resale customer
//! C2: the platform, the partner itself (R1), its parent distributor (D1), another partner (D2),
//! its own customer (C2), another customer (C3, of S1), and an unregistered actor, once as a
//! partner (`partner:NOPE`) and once as a customer (`customer:NOPE`).
//!
//! A denied cell must answer `access_denied` and change nothing (`Fixture::fails`); an allowed cell
//! must succeed (`ok`, and a command commits exactly one transaction); a few cells expect another
//! code that outranks `access_denied` (SPEC 2.2) or is a relationship error.
mod common;
use common::{COMMANDS, Fixture, ManualClock, QUERIES};
use partner_ledger::Ledger;
use serde_json::{Value, json};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Allowed: the request succeeds.
    A,
    /// Denied: `access_denied`, nothing changed.
    D,
    /// Refused with this code (not `access_denied`), nothing changed.
    F(&'static str),
}
use Expect::{A, D, F};

/// The actor columns.
const ACTORS: [(&str, &str); 8] = [
    ("platform", "platform"),
    ("partner itself", "partner:R1"),
    ("parent distributor", "partner:D1"),
    ("another partner", "partner:D2"),
    ("its own customer", "customer:C2"),
    ("another customer", "customer:C3"),
    ("unregistered partner", "partner:NOPE"),
    ("unregistered customer", "customer:NOPE"),
];

/// One row: a request without `id`, `actor` and `at` (added per cell), and the outcome per actor,
/// in the order of `ACTORS`: platform, R1, D1, D2, C2, C3, partner:NOPE, customer:NOPE.
struct Row {
    name: &'static str,
    request: &'static str,
    expect: [Expect; 8],
}

const INVALID: Expect = F("invalid_request");
const NOT_YOUR_CUSTOMER: Expect = F("not_your_customer");

/// The table. Allowed actors follow SPEC 3's per-command actors and SPEC 2.1's scope, and
/// docs/decisions.md where SPEC is silent.
const ROWS: &[Row] = &[
    // ---- parties ----
    Row {
        name: "register_partner (solution provider)",
        request: r#"{"op":"register_partner","partner":"P9","kind":"solution_provider"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    Row {
        name: "register_partner (reseller of D1)",
        request: r#"{"op":"register_partner","partner":"P9","kind":"reseller","parent":"D1"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    // decisions: platform, the partner itself or its parent distributor.
    Row {
        name: "register_customer with partner R1",
        request: r#"{"op":"register_customer","customer":"C9","partner":"R1"}"#,
        expect: [A, A, A, D, D, D, D, D],
    },
    Row {
        name: "register_customer (referral) with partner R1",
        request: r#"{"op":"register_customer","customer":"C9","partner":"R1","association":"referral"}"#,
        expect: [A, A, A, D, D, D, D, D],
    },
    Row {
        name: "register_customer without partner",
        request: r#"{"op":"register_customer","customer":"C9"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    Row {
        name: "associate C4 with R1",
        request: r#"{"op":"associate","customer":"C4","partner":"R1","association":"resale"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    // decisions: the platform, the customer's partner or that partner's distributor.
    Row { name: "unbind C2", request: r#"{"op":"unbind","customer":"C2"}"#, expect: [A, A, A, D, D, D, D, D] },
    // decisions: the partner or its distributor (not the platform).
    Row {
        name: "switch_association C2 to referral",
        request: r#"{"op":"switch_association","customer":"C2","association":"referral"}"#,
        expect: [D, A, A, D, D, D, D, D],
    },
    // A reseller does not act for its parent distributor's customers; the distributor does.
    Row { name: "unbind C1 (customer of the parent)", request: r#"{"op":"unbind","customer":"C1"}"#, expect: [A, D, A, D, D, D, D, D] },
    // ---- money ----
    Row { name: "recharge R1", request: r#"{"op":"recharge","party":"partner:R1","amount":"10"}"#, expect: [A, D, D, D, D, D, D, D] },
    Row {
        name: "recharge C4 (unassociated customer)",
        request: r#"{"op":"recharge","party":"customer:C4","amount":"10"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    // decisions: allocate/recover are the partner's act (or its distributor's naming `partner`).
    Row {
        name: "allocate R1 -> C2 (partner named)",
        request: r#"{"op":"allocate","partner":"R1","to":"customer:C2","amount":"10","memo":"m"}"#,
        expect: [D, A, A, D, D, D, D, D],
    },
    // `partner` defaults to the actor: D1 and D2 then move their own money to a customer that is
    // not theirs (a relationship error, SPEC 3 allocate).
    Row {
        name: "allocate -> C2 (partner defaults to actor)",
        request: r#"{"op":"allocate","to":"customer:C2","amount":"10"}"#,
        expect: [D, A, NOT_YOUR_CUSTOMER, NOT_YOUR_CUSTOMER, D, D, D, D],
    },
    Row {
        name: "allocate D1 -> reseller R1",
        request: r#"{"op":"allocate","partner":"D1","to":"partner:R1","amount":"10"}"#,
        expect: [D, D, A, D, D, D, D, D],
    },
    Row {
        name: "allocate D1 -> C1 (customer of the parent)",
        request: r#"{"op":"allocate","partner":"D1","to":"customer:C1","amount":"10"}"#,
        expect: [D, D, A, D, D, D, D, D],
    },
    Row {
        name: "recover R1 <- C2 (partner named)",
        request: r#"{"op":"recover","partner":"R1","from":"customer:C2","amount":"10"}"#,
        expect: [D, A, A, D, D, D, D, D],
    },
    Row {
        name: "recover D1 <- reseller R1",
        request: r#"{"op":"recover","partner":"D1","from":"partner:R1","amount":"10"}"#,
        expect: [D, D, A, D, D, D, D, D],
    },
    Row {
        name: "set_credit_limit R1",
        request: r#"{"op":"set_credit_limit","party":"partner:R1","limit":"2000"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    Row {
        name: "set_credit_limit C2 (above usage)",
        request: r#"{"op":"set_credit_limit","party":"customer:C2","limit":"2000"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    // SPEC: platform or the party; decisions: any actor whose scope covers the party.
    Row {
        name: "repay_credit R1",
        request: r#"{"op":"repay_credit","party":"partner:R1","amount":"10"}"#,
        expect: [A, A, A, D, D, D, D, D],
    },
    Row {
        name: "repay_credit C2",
        request: r#"{"op":"repay_credit","party":"customer:C2","amount":"10"}"#,
        expect: [A, A, A, D, A, D, D, D],
    },
    Row {
        name: "adjust compensate R1",
        request: r#"{"op":"adjust","party":"partner:R1","direction":"compensate","amount":"10","reason":"r"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    Row {
        name: "adjust deduct C2",
        request: r#"{"op":"adjust","party":"customer:C2","direction":"deduct","amount":"10","reason":"r"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    // ---- coupons ----
    // The platform form (no from_quota). decisions: a distributor must name from_quota
    // (invalid_request). A reseller or customer has no quota-issuing role at all (SPEC 2.1).
    Row {
        name: "issue_quota (platform form) -> D1",
        request: r#"{"op":"issue_quota","quota":"QN","partner":"D1","kind":"voucher","amount":"10","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-07-01T00:00:00Z"}"#,
        expect: [A, D, INVALID, INVALID, D, D, D, D],
    },
    // The distributor form. decisions: the platform gives no from_quota (invalid_request); a
    // from_quota owned by someone else is access_denied; only distributors issue from quotas.
    Row {
        name: "issue_quota (distributor form) QD1 -> R1",
        request: r#"{"op":"issue_quota","quota":"QN","partner":"R1","kind":"voucher","amount":"10","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-07-01T00:00:00Z","from_quota":"QD1"}"#,
        expect: [INVALID, D, A, D, D, D, D, D],
    },
    // SPEC: actor the issuer.
    Row { name: "reclaim_quota QR1 (issued by D1)", request: r#"{"op":"reclaim_quota","quota":"QR1"}"#, expect: [D, D, A, D, D, D, D, D] },
    Row {
        name: "reclaim_quota QD1 (issued by the platform)",
        request: r#"{"op":"reclaim_quota","quota":"QD1"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    // SPEC: the customer's partner; decisions: or its distributor, not the platform.
    Row { name: "whitelist_customer C2", request: r#"{"op":"whitelist_customer","customer":"C2"}"#, expect: [D, A, A, D, D, D, D, D] },
    // SPEC: the quota's owner or its parent distributor.
    Row {
        name: "issue_coupon QR1 -> C2",
        request: r#"{"op":"issue_coupon","coupon":"KN","quota":"QR1","customer":"C2","face_value":"10"}"#,
        expect: [D, A, A, D, D, D, D, D],
    },
    // SPEC: the issuing partner or its parent distributor.
    Row { name: "reclaim_coupon K1 (issued by R1)", request: r#"{"op":"reclaim_coupon","coupon":"K1"}"#, expect: [D, A, A, D, D, D, D, D] },
    Row { name: "expire_coupons", request: r#"{"op":"expire_coupons"}"#, expect: [A, D, D, D, D, D, D, D] },
    // ---- orders (SPEC: the customer or platform) ----
    Row {
        name: "place_order for C2",
        request: r#"{"op":"place_order","order":"ON","customer":"C2","amount":"10","kind":"new","service":"ecs"}"#,
        expect: [A, D, D, D, A, D, D, D],
    },
    Row {
        name: "place_combined_order for C2",
        request: r#"{"op":"place_combined_order","combined":"CBN","customer":"C2","orders":[{"order":"ON1","amount":"1","kind":"new"},{"order":"ON2","amount":"2","kind":"renew"}]}"#,
        expect: [A, D, D, D, A, D, D, D],
    },
    // decisions: payer customer — the customer itself only.
    Row { name: "pay_order O_PEND (payer customer)", request: r#"{"op":"pay_order","order":"O_PEND"}"#, expect: [D, D, D, D, A, D, D, D] },
    // decisions: payer partner — the customer's partner or that partner's distributor.
    Row {
        name: "pay_order O_PEND (payer partner)",
        request: r#"{"op":"pay_order","order":"O_PEND","payer":"partner"}"#,
        expect: [D, A, A, D, D, D, D, D],
    },
    Row { name: "cancel_order O_PEND", request: r#"{"op":"cancel_order","order":"O_PEND"}"#, expect: [A, D, D, D, A, D, D, D] },
    Row { name: "cancel_order CB (combined)", request: r#"{"op":"cancel_order","order":"CB"}"#, expect: [A, D, D, D, A, D, D, D] },
    Row {
        name: "unsubscribe O_PAID (paid by C2)",
        request: r#"{"op":"unsubscribe","order":"O_PAID","refund":"5"}"#,
        expect: [A, D, D, D, A, D, D, D],
    },
    Row {
        name: "unsubscribe O_P (paid by R1)",
        request: r#"{"op":"unsubscribe","order":"O_P","refund":"5"}"#,
        expect: [A, D, D, D, A, D, D, D],
    },
    Row {
        name: "consume C2",
        request: r#"{"op":"consume","customer":"C2","amount":"1.23456789","service":"obs"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    // ---- withdrawals (decisions: only the party requests and deletes; the platform decides) ----
    Row {
        name: "request_withdrawal R1",
        request: r#"{"op":"request_withdrawal","withdrawal":"WN","party":"partner:R1","amount":"10"}"#,
        expect: [D, A, D, D, D, D, D, D],
    },
    Row {
        name: "approve_withdrawal W_PEND",
        request: r#"{"op":"approve_withdrawal","withdrawal":"W_PEND"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    Row {
        name: "reject_withdrawal W_PEND",
        request: r#"{"op":"reject_withdrawal","withdrawal":"W_PEND","reason":"no"}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    Row {
        name: "delete_withdrawal W_REJ",
        request: r#"{"op":"delete_withdrawal","withdrawal":"W_REJ"}"#,
        expect: [D, A, D, D, D, D, D, D],
    },
    // ---- invoices (decisions: "actor the party" = any actor whose scope covers the party) ----
    Row {
        name: "request_invoice C2",
        request: r#"{"op":"request_invoice","invoice":"IN","party":"customer:C2","amount":"1"}"#,
        expect: [A, A, A, D, A, D, D, D],
    },
    Row {
        name: "request_invoice R1",
        request: r#"{"op":"request_invoice","invoice":"IN","party":"partner:R1","amount":"1"}"#,
        expect: [A, A, A, D, D, D, D, D],
    },
    Row { name: "return_invoice I_C2", request: r#"{"op":"return_invoice","invoice":"I_C2"}"#, expect: [A, A, A, D, A, D, D, D] },
    // ---- atomic groups: each member is checked for the group's actor ----
    Row {
        name: "atomic [allocate R1 -> C2]",
        request: r#"{"op":"atomic","commands":[{"op":"allocate","partner":"R1","to":"customer:C2","amount":"1"}]}"#,
        expect: [D, A, A, D, D, D, D, D],
    },
    Row {
        name: "atomic [recharge R1, set_credit_limit R1]",
        request: r#"{"op":"atomic","commands":[{"op":"recharge","party":"partner:R1","amount":"1"},{"op":"set_credit_limit","party":"partner:R1","limit":"5000"}]}"#,
        expect: [A, D, D, D, D, D, D, D],
    },
    Row {
        name: "atomic [place_order C2, pay_order]",
        request: r#"{"op":"atomic","commands":[{"op":"place_order","order":"OA","customer":"C2","amount":"1","kind":"new"},{"op":"pay_order","order":"OA"}]}"#,
        expect: [D, D, D, D, A, D, D, D],
    },
    // ---- queries (SPEC 4: the same scope) ----
    Row { name: "balance R1", request: r#"{"op":"balance","party":"partner:R1"}"#, expect: [A, A, A, D, D, D, D, D] },
    Row {
        name: "balance C2",
        request: r#"{"op":"balance","party":"customer:C2","as_of":"2026-01-02T00:10:00Z"}"#,
        expect: [A, A, A, D, A, D, D, D],
    },
    Row {
        name: "balance C1 (customer of the parent)",
        request: r#"{"op":"balance","party":"customer:C1"}"#,
        expect: [A, D, A, D, D, D, D, D],
    },
    Row {
        name: "balance CR (referral customer of the parent)",
        request: r#"{"op":"balance","party":"customer:CR"}"#,
        expect: [A, D, A, D, D, D, D, D],
    },
    Row { name: "balance platform", request: r#"{"op":"balance","party":"platform"}"#, expect: [A, D, D, D, D, D, D, D] },
    // Without filters every registered actor sees the records in its scope.
    Row { name: "adjust_records (no filter)", request: r#"{"op":"adjust_records"}"#, expect: [A, A, A, A, A, A, D, D] },
    Row {
        name: "adjust_records partner R1",
        request: r#"{"op":"adjust_records","partner":"R1","operation":"allocate"}"#,
        expect: [A, A, A, D, D, D, D, D],
    },
    Row {
        name: "adjust_records target C2",
        request: r#"{"op":"adjust_records","target":"customer:C2"}"#,
        expect: [A, A, A, D, A, D, D, D],
    },
    Row {
        name: "statement R1 credit",
        request: r#"{"op":"statement","party":"partner:R1","account":"credit"}"#,
        expect: [A, A, A, D, D, D, D, D],
    },
    Row {
        name: "statement C2 cash",
        request: r#"{"op":"statement","party":"customer:C2","from":"2026-01-01T00:00:00Z","to":"2026-12-31T00:00:00Z"}"#,
        expect: [A, A, A, D, A, D, D, D],
    },
    Row { name: "order O_PAID", request: r#"{"op":"order","order":"O_PAID"}"#, expect: [A, A, A, D, A, D, D, D] },
    Row { name: "order O_P (paid by R1)", request: r#"{"op":"order","order":"O_P"}"#, expect: [A, A, A, D, A, D, D, D] },
    Row { name: "orders C2", request: r#"{"op":"orders","customer":"C2","status":"paid"}"#, expect: [A, A, A, D, A, D, D, D] },
    Row { name: "bills C2", request: r#"{"op":"bills","party":"customer:C2","cycle":"2026-01"}"#, expect: [A, A, A, D, A, D, D, D] },
    Row { name: "bills R1", request: r#"{"op":"bills","party":"partner:R1"}"#, expect: [A, A, A, D, D, D, D, D] },
    Row { name: "invoiceable C2", request: r#"{"op":"invoiceable","party":"customer:C2"}"#, expect: [A, A, A, D, A, D, D, D] },
    Row { name: "invoiceable R1", request: r#"{"op":"invoiceable","party":"partner:R1"}"#, expect: [A, A, A, D, D, D, D, D] },
    Row { name: "invoice I_C2", request: r#"{"op":"invoice","invoice":"I_C2"}"#, expect: [A, A, A, D, A, D, D, D] },
    Row { name: "withdrawals R1", request: r#"{"op":"withdrawals","party":"partner:R1"}"#, expect: [A, A, A, D, D, D, D, D] },
    Row {
        name: "consumption_summary partner R1",
        request: r#"{"op":"consumption_summary","partner":"R1","cycle":"2026-01"}"#,
        expect: [A, A, A, D, D, D, D, D],
    },
    // Without `partner` the partner is the actor; a non-partner must name one (invalid_request,
    // which outranks access_denied).
    Row {
        name: "consumption_summary (partner defaults to actor)",
        request: r#"{"op":"consumption_summary","cycle":"2026-01"}"#,
        expect: [INVALID, A, A, A, INVALID, INVALID, D, INVALID],
    },
];

/// Every cell is sent at this time, after the whole setup.
const CASE_AT: &str = "2026-01-03T00:00:00Z";

/// The standard scenario: `Fixture::with_cast` plus, one minute apart on 2026-01-02:
/// quota QD1 (platform → D1, 1000 vouchers) and QR1 (D1 → R1 from QD1, 500); C2 funded by R1,
/// given a credit limit, and using 100.00 of credit; coupon K1 (R1 → C2, 100); orders O_PAID
/// (paid by C2), O_PEND (pending), O_P (paid by R1 as partner payer, on R1's credit), combined
/// CB (pending); R1 refunded by D1, with a pending withdrawal W_PEND and a rejected W_REJ; and
/// invoice I_C2 of C2 (matched against its usage bill, so no order bill is invoiced).
fn build_standard(dir: &Path) -> PathBuf {
    let f = Fixture::with_cast();
    let steps: Vec<(&str, Value)> = vec![
        (
            "platform",
            json!({"op": "issue_quota", "quota": "QD1", "partner": "D1", "kind": "voucher", "amount": "1000",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z"}),
        ),
        (
            "partner:D1",
            json!({"op": "issue_quota", "quota": "QR1", "partner": "R1", "kind": "voucher", "amount": "500",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z", "from_quota": "QD1"}),
        ),
        ("partner:R1", json!({"op": "allocate", "to": "customer:C2", "amount": "500"})),
        ("platform", json!({"op": "set_credit_limit", "party": "customer:C2", "limit": "1000"})),
        ("platform", json!({"op": "consume", "customer": "C2", "amount": "600"})),
        ("partner:R1", json!({"op": "allocate", "to": "customer:C2", "amount": "500"})),
        ("partner:R1", json!({"op": "issue_coupon", "coupon": "K1", "quota": "QR1", "customer": "C2", "face_value": "100"})),
        ("customer:C2", json!({"op": "place_order", "order": "O_PAID", "customer": "C2", "amount": "50", "kind": "new"})),
        ("customer:C2", json!({"op": "pay_order", "order": "O_PAID"})),
        ("customer:C2", json!({"op": "place_order", "order": "O_PEND", "customer": "C2", "amount": "20", "kind": "new"})),
        ("platform", json!({"op": "set_credit_limit", "party": "partner:R1", "limit": "1000"})),
        ("customer:C2", json!({"op": "place_order", "order": "O_P", "customer": "C2", "amount": "100", "kind": "new"})),
        ("partner:R1", json!({"op": "pay_order", "order": "O_P", "payer": "partner"})),
        ("partner:D1", json!({"op": "allocate", "to": "partner:R1", "amount": "300"})),
        ("partner:R1", json!({"op": "request_withdrawal", "withdrawal": "W_PEND", "party": "partner:R1", "amount": "50"})),
        ("partner:R1", json!({"op": "request_withdrawal", "withdrawal": "W_REJ", "party": "partner:R1", "amount": "20"})),
        ("platform", json!({"op": "reject_withdrawal", "withdrawal": "W_REJ", "reason": "setup"})),
        ("customer:C2", json!({"op": "request_invoice", "invoice": "I_C2", "party": "customer:C2", "amount": "10"})),
        (
            "customer:C2",
            json!({"op": "place_combined_order", "combined": "CB", "customer": "C2",
            "orders": [{"order": "CB1", "amount": "1", "kind": "new"}, {"order": "CB2", "amount": "2", "kind": "change"}]}),
        ),
    ];
    for (index, (actor, mut request)) in steps.into_iter().enumerate() {
        request["id"] = json!(format!("base-{index}"));
        request["actor"] = json!(actor);
        request["at"] = json!(format!("2026-01-02T00:{index:02}:00Z"));
        f.ok(request);
    }
    // Sanity: the balances the table relies on.
    let r1 = f.balance("partner:R1");
    assert_eq!(
        (r1["cash"].as_str(), r1["available"].as_str(), r1["credit_used"].as_str()),
        (Some("300.00"), Some("250.00"), Some("100.00"))
    );
    let c2 = f.balance("customer:C2");
    assert_eq!((c2["cash"].as_str(), c2["credit_used"].as_str(), c2["arrears"].as_str()), (Some("450.00"), Some("100.00"), Some("0.00")));
    assert!(f.ledger.verify().is_ok());
    let source = f.path();
    let Fixture { ledger, dir: base_dir, .. } = f;
    drop(ledger);
    let target = dir.join("standard.redb");
    std::fs::copy(&source, &target).expect("copy the standard scenario");
    drop(base_dir);
    target
}

/// A fresh ledger on a copy of the standard scenario.
fn fresh(standard: &Path) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(standard, dir.path().join("ledger.redb")).expect("copy");
    let clock = ManualClock::default();
    clock.set(CASE_AT);
    let ledger = Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock.clone())).expect("open");
    Fixture { ledger, clock, dir }
}

fn op_of(row: &Row) -> String {
    let value: Value = serde_json::from_str(row.request).unwrap_or_else(|error| panic!("{}: {error}", row.name));
    value["op"].as_str().expect("op").to_owned()
}

/// Runs one cell; panics (caught by the caller) on a mismatch.
fn check_cell(standard: &Path, row: &Row, actor: &str, expect: Expect) {
    let f = fresh(standard);
    let mut request: Value = serde_json::from_str(row.request).expect("row request is JSON");
    request["id"] = json!("auth-1");
    request["actor"] = json!(actor);
    request["at"] = json!(CASE_AT);
    let is_query = QUERIES.contains(&request["op"].as_str().unwrap_or_default());
    match expect {
        D => {
            f.fails(request, "access_denied");
        }
        F(code) => {
            f.fails(request, code);
        }
        A => {
            let before = f.ledger.head().seq;
            let response = f.send(request.clone());
            assert_eq!(response["ok"], true, "{request} should be allowed and succeed, got {response}");
            if is_query {
                assert!(response.get("seq").is_none(), "a query answers without seq: {response}");
                assert_eq!(f.ledger.head().seq, before, "a query committed something");
            } else {
                assert_eq!(response["seq"], before + 1, "{request}: {response}");
                assert_eq!(response["duplicate"], false);
                assert_eq!(f.ledger.head().seq, before + 1);
            }
            f.ledger.verify().unwrap_or_else(|error| panic!("{request}: verify failed: {error}"));
        }
    }
}

#[test]
fn every_command_and_query_against_every_kind_of_actor() {
    // The table covers every op of SPEC 3 and 4.
    let ops: Vec<String> = ROWS.iter().map(op_of).collect();
    for op in COMMANDS.iter().chain(QUERIES.iter()) {
        assert!(ops.iter().any(|covered| covered == op), "no row for {op}");
    }
    for op in &ops {
        assert!(COMMANDS.contains(&op.as_str()) || QUERIES.contains(&op.as_str()), "unknown op {op} in the table");
    }
    // Each allowed actor of each row really succeeds, so every denial is a real one.
    for row in ROWS {
        assert!(row.expect.contains(&A), "row {} has no allowed actor", row.name);
    }

    let base = tempfile::tempdir().expect("temp dir");
    let standard = build_standard(base.path());

    let cells: Vec<(usize, usize)> = (0..ROWS.len()).flat_map(|row| (0..ACTORS.len()).map(move |actor| (row, actor))).collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(1, 8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(row, actor)) = cells.get(index) else { break };
                    let (row, (label, actor)) = (&ROWS[row], ACTORS[actor]);
                    let expect = row.expect[ACTORS.iter().position(|(_, party)| *party == actor).expect("actor")];
                    let outcome = catch_unwind(AssertUnwindSafe(|| check_cell(&standard, row, actor, expect)));
                    if let Err(panic) = outcome {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                            .unwrap_or_default();
                        failures.lock().expect("lock").push(format!("[{}] × [{label} {actor}] expected {expect:?}: {message}", row.name));
                    }
                }
            });
        }
    });

    let (rows, actors) = (ROWS.len(), ACTORS.len());
    let allowed = ROWS.iter().flat_map(|row| row.expect).filter(|expect| *expect == A).count();
    let denied = ROWS.iter().flat_map(|row| row.expect).filter(|expect| *expect == D).count();
    println!(
        "authorization matrix: {rows} rows × {actors} actors = {} cells ({allowed} allowed, {denied} access_denied, {} other refusals)",
        rows * actors,
        rows * actors - allowed - denied
    );
    assert_eq!(cells.len(), rows * actors);
    let failures = failures.into_inner().expect("lock");
    assert!(failures.is_empty(), "{} of {} cells disagree with SPEC 2.1/3/4:\n{}", failures.len(), cells.len(), failures.join("\n"));
}
