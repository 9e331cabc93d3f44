//! A month of platform life for the command-line tests (`cli_tables`, `export`, `chart`): every
//! kind of posting — recharges, allocations (into customers' `allocated`), credit, quotas and
//! coupons (issued, spent, expired, reclaimed), orders and combined orders paid with coupons,
//! allocated funds, cash and credit, refunds, usage that runs into debt and its repayment,
//! withdrawals, adjustments, an atomic group sent by a finance operator, an invoice — with ids
//! that use `.`, `_`, `-`, lower-case first letters and (for quotas, coupons and orders) `:`.
//! Early February (UTC+8) adds the v2 flows: partner-payment requests (paid, rejected, still
//! open), an unassociated customer with its own cash that becomes resale, and an unbound customer
//! whose refund goes back to its former partner (`refund_reclaim`).
//! It is applied through the real binary (`partner-ledger apply`).
#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BINARY: &str = env!("CARGO_BIN_EXE_partner-ledger");

pub const DIST: &str = "partner:dist_1";
pub const RESELLER: &str = "partner:Res-1.a";
pub const PROVIDER: &str = "partner:SP.9";
pub const FINANCE: &str = "operator:fin.1";
pub const PARTIES: [&str; 9] =
    ["platform", DIST, RESELLER, PROVIDER, "customer:cust.a", "customer:C_2", "customer:Ref-3", "customer:C4", "customer:U.5"];

/// The commands, each with an explicit `at` in January 2026 (UTC), plus one on 2026-01-31T20:00Z
/// that belongs to the February cycle (UTC+8).
pub fn lines() -> Vec<String> {
    let mut lines = Vec::new();
    let mut add = |at: &str, actor: &str, mut command: Value| {
        command["id"] = json!(format!("req-{}", lines.len() + 1));
        command["actor"] = json!(actor);
        command["at"] = json!(at);
        lines.push(command.to_string());
    };
    let p = "platform";
    let day = |day: u32, hour: u32| format!("2026-01-{day:02}T{hour:02}:00:00Z");
    add(&day(1, 1), p, json!({"op": "register_partner", "partner": "dist_1", "kind": "distributor"}));
    add(&day(1, 1), p, json!({"op": "register_partner", "partner": "Res-1.a", "kind": "reseller", "parent": "dist_1"}));
    add(&day(1, 1), p, json!({"op": "register_partner", "partner": "SP.9", "kind": "solution_provider"}));
    add(&day(1, 1), p, json!({"op": "register_customer", "customer": "cust.a", "partner": "dist_1"}));
    add(&day(1, 1), p, json!({"op": "register_customer", "customer": "C_2", "partner": "Res-1.a"}));
    add(&day(1, 1), p, json!({"op": "register_customer", "customer": "Ref-3", "partner": "SP.9", "association": "referral"}));
    add(&day(1, 1), p, json!({"op": "register_customer", "customer": "C4", "partner": "SP.9"}));
    add(&day(1, 2), p, json!({"op": "recharge", "party": DIST, "amount": "100000"}));
    add(&day(1, 2), p, json!({"op": "recharge", "party": PROVIDER, "amount": "50000"}));
    add(&day(1, 2), p, json!({"op": "recharge", "party": "customer:Ref-3", "amount": "3000"}));
    add(&day(1, 3), DIST, json!({"op": "allocate", "to": RESELLER, "amount": "20000", "memo": "月度预算"}));
    add(&day(1, 3), DIST, json!({"op": "allocate", "to": "customer:cust.a", "amount": "5000"}));
    add(&day(1, 3), RESELLER, json!({"op": "allocate", "to": "customer:C_2", "amount": "2000"}));
    add(&day(1, 3), PROVIDER, json!({"op": "allocate", "to": "customer:C4", "amount": "100"}));
    // A resale customer has no credit (v2): dist_1 gets a finance operator instead.
    add(&day(1, 4), p, json!({"op": "register_operator", "operator": "fin.1", "partner": "dist_1", "roles": ["finance"]}));
    add(&day(1, 4), p, json!({"op": "set_credit_limit", "party": PROVIDER, "limit": "5000"}));
    add(&day(1, 4), p, json!({"op": "set_credit_limit", "party": "customer:Ref-3", "limit": "500"}));
    let window = json!({"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z"});
    let mut quota = json!({"op": "issue_quota", "quota": "Q:2026.01", "partner": "dist_1", "kind": "voucher", "amount": "3000"});
    extend(&mut quota, &window);
    add(&day(2, 1), p, quota);
    let mut quota = json!({"op": "issue_quota", "quota": "Q:res-1", "partner": "Res-1.a", "kind": "voucher", "amount": "500", "from_quota": "Q:2026.01"});
    extend(&mut quota, &window);
    add(&day(2, 2), DIST, quota);
    add(
        &day(2, 3),
        DIST,
        json!({"op": "issue_coupon", "coupon": "K:a-1", "quota": "Q:2026.01", "customer": "cust.a", "face_value": "300"}),
    );
    add(
        &day(2, 3),
        RESELLER,
        json!({"op": "issue_coupon", "coupon": "K:c2_1", "quota": "Q:res-1", "customer": "C_2", "face_value": "100"}),
    );
    add(
        &day(2, 3),
        DIST,
        json!({"op": "issue_coupon", "coupon": "K:a-2", "quota": "Q:2026.01", "customer": "cust.a", "face_value": "50",
        "valid_until": "2026-01-10T00:00:00Z"}),
    );
    // Orders over several days: coupons, allocated, cash, credit; refunds to credit first, then
    // allocated, then cash.
    add(
        &day(3, 2),
        "customer:cust.a",
        json!({"op": "place_order", "order": "O:1", "customer": "cust.a", "amount": "5300", "kind": "new", "service": "ecs"}),
    );
    add(&day(3, 2), "customer:cust.a", json!({"op": "pay_order", "order": "O:1", "coupons": ["K:a-1"]}));
    add(&day(5, 6), "customer:C_2", json!({"op": "place_order", "order": "O:2", "customer": "C_2", "amount": "150", "kind": "renew"}));
    add(&day(5, 6), "customer:C_2", json!({"op": "pay_order", "order": "O:2", "coupons": ["K:c2_1"]}));
    add(&day(6, 9), "customer:Ref-3", json!({"op": "place_order", "order": "O:3", "customer": "Ref-3", "amount": "200", "kind": "new"}));
    add(&day(6, 9), "customer:Ref-3", json!({"op": "pay_order", "order": "O:3"}));
    add(&day(8, 3), "customer:Ref-3", json!({"op": "unsubscribe", "order": "O:3", "refund": "120"}));
    add(&day(9, 5), "customer:cust.a", json!({"op": "unsubscribe", "order": "O:1", "refund": "1000"}));
    // Usage into debt, repaid by the next allocation; usage past cash and credit, repaid by a recharge.
    add(&day(10, 4), p, json!({"op": "consume", "customer": "C4", "amount": "250.123456", "service": "obs"}));
    add(&day(11, 4), PROVIDER, json!({"op": "allocate", "to": "customer:C4", "amount": "200"}));
    add(&day(12, 4), p, json!({"op": "consume", "customer": "Ref-3", "amount": "3500"}));
    add(&day(13, 4), p, json!({"op": "recharge", "party": "customer:Ref-3", "amount": "100"}));
    // Withdrawals: one approved, one rejected.
    add(&day(14, 2), PROVIDER, json!({"op": "request_withdrawal", "withdrawal": "W.1", "party": PROVIDER, "amount": "1000"}));
    add(&day(14, 3), p, json!({"op": "approve_withdrawal", "withdrawal": "W.1"}));
    add(&day(14, 4), "customer:Ref-3", json!({"op": "request_withdrawal", "withdrawal": "W-2", "party": "customer:Ref-3", "amount": "10"}));
    add(&day(14, 5), p, json!({"op": "reject_withdrawal", "withdrawal": "W-2", "reason": "银行账户有误"}));
    // A resale customer asks its partner to pay (代付), and it does; coupons expire; a quota is reclaimed.
    add(&day(15, 2), "customer:C4", json!({"op": "place_order", "order": "O:4", "customer": "C4", "amount": "300", "kind": "change"}));
    add(&day(15, 2), "customer:C4", json!({"op": "request_partner_payment", "order": "O:4"}));
    add(&day(15, 3), PROVIDER, json!({"op": "pay_order", "order": "O:4", "payer": "partner"}));
    add(&day(16, 1), p, json!({"op": "expire_coupons"}));
    add(&day(16, 2), DIST, json!({"op": "reclaim_quota", "quota": "Q:res-1"}));
    // Adjustments, an atomic group, a recovery, a combined order, an invoice.
    add(&day(18, 2), p, json!({"op": "adjust", "party": "customer:Ref-3", "direction": "compensate", "amount": "20.50", "reason": "SLA"}));
    add(&day(18, 3), p, json!({"op": "adjust", "party": DIST, "direction": "deduct", "amount": "10", "reason": "fee"}));
    add(
        &day(19, 2),
        FINANCE,
        json!({"op": "atomic", "commands": [
            {"op": "allocate", "to": "customer:cust.a", "amount": "10"},
            {"op": "recover", "from": RESELLER, "amount": "5"}
        ]}),
    );
    add(&day(20, 2), DIST, json!({"op": "recover", "from": "customer:cust.a", "amount": "1"}));
    add(
        &day(21, 2),
        "customer:cust.a",
        json!({"op": "place_combined_order", "combined": "CO:1", "customer": "cust.a", "orders": [
            {"order": "O:5", "amount": "100", "kind": "new", "service": "rds"},
            {"order": "O:6", "amount": "50", "kind": "new"}
        ]}),
    );
    add(&day(21, 3), "customer:cust.a", json!({"op": "pay_order", "order": "CO:1"}));
    add(&day(22, 2), "customer:Ref-3", json!({"op": "request_invoice", "invoice": "I.1", "party": "customer:Ref-3", "amount": "50"}));
    add(&day(23, 2), p, json!({"op": "consume", "customer": "cust.a", "amount": "12.5"}));
    add(&day(25, 2), p, json!({"op": "repay_credit", "party": "customer:Ref-3", "amount": "10"}));
    // Late on the 31st (UTC) is already February in UTC+8.
    add("2026-01-31T20:00:00Z", p, json!({"op": "consume", "customer": "cust.a", "amount": "7"}));
    february(&mut add);
    lines
}

/// Early February: partner payment requested, paid, rejected and left open; an unassociated
/// customer with its own cash becomes resale and spends allocated funds before it; an SLA credit
/// reaches a resale customer's own cash; an unbound customer's refund goes to its former partner.
fn february(add: &mut impl FnMut(&str, &str, Value)) {
    let p = "platform";
    let day = |day: u32, hour: u32| format!("2026-02-{day:02}T{hour:02}:00:00Z");
    let (ref3, u5) = ("customer:Ref-3", "customer:U.5");
    // A solution provider's referral customer asks; the provider rejects, and the customer pays itself.
    add(&day(2, 2), ref3, json!({"op": "place_order", "order": "O:7", "customer": "Ref-3", "amount": "25", "kind": "renew"}));
    add(&day(2, 2), ref3, json!({"op": "request_partner_payment", "order": "O:7"}));
    add(&day(2, 3), PROVIDER, json!({"op": "reject_partner_payment", "order": "O:7", "reason": "不在本月预算内"}));
    add(&day(2, 4), ref3, json!({"op": "pay_order", "order": "O:7"}));
    // It asks again for another order; this time the provider pays (the bill stays the customer's to invoice).
    add(&day(3, 2), ref3, json!({"op": "place_order", "order": "O:8", "customer": "Ref-3", "amount": "40", "kind": "new"}));
    add(&day(3, 2), ref3, json!({"op": "request_partner_payment", "order": "O:8"}));
    add(&day(3, 3), PROVIDER, json!({"op": "pay_order", "order": "O:8", "payer": "partner"}));
    // An unassociated customer with its own money becomes a resale customer of SP.9 and keeps it.
    add(&day(4, 1), p, json!({"op": "register_customer", "customer": "U.5"}));
    add(&day(4, 1), p, json!({"op": "recharge", "party": u5, "amount": "500"}));
    add(&day(4, 2), u5, json!({"op": "place_order", "order": "O:9", "customer": "U.5", "amount": "100", "kind": "new"}));
    add(&day(4, 2), u5, json!({"op": "pay_order", "order": "O:9"}));
    add(&day(5, 1), p, json!({"op": "associate", "customer": "U.5", "partner": "SP.9", "association": "resale"}));
    add(&day(5, 2), PROVIDER, json!({"op": "allocate", "to": u5, "amount": "300", "memo": "welcome budget"}));
    add(&day(5, 3), p, json!({"op": "consume", "customer": "U.5", "amount": "50", "service": "ecs"}));
    add(&day(5, 4), p, json!({"op": "adjust", "party": "customer:cust.a", "direction": "compensate", "amount": "25", "reason": "SLA"}));
    // C_2 is unbound: its allocated funds go back to Res-1.a; the refund of what they paid follows them.
    add(&day(6, 2), RESELLER, json!({"op": "unbind", "customer": "C_2"}));
    add(&day(6, 3), "customer:C_2", json!({"op": "unsubscribe", "order": "O:2", "refund": "50"}));
    // A request still open at the end: the provider's awaiting list.
    add(&day(7, 2), u5, json!({"op": "place_order", "order": "O:10", "customer": "U.5", "amount": "60", "kind": "new"}));
    add(&day(7, 2), u5, json!({"op": "request_partner_payment", "order": "O:10"}));
}

/// SPEC v2 part 2, applied on top of [`build`] by [`build_part2`] (the other tests keep the month
/// above): customers with names and external ids, a customer manager, a pickup voucher paying its
/// ratio of a `new` order, a business discount on one member of a combined order, and invoices by
/// billing cycle and by bills.
pub fn part2_lines() -> Vec<String> {
    let first = lines().len() + 1;
    let mut lines = Vec::new();
    let mut add = |at: &str, actor: &str, mut command: Value| {
        command["id"] = json!(format!("req-{}", first + lines.len()));
        command["actor"] = json!(actor);
        command["at"] = json!(at);
        lines.push(command.to_string());
    };
    let p = "platform";
    let day = |day: u32, hour: u32| format!("2026-02-{day:02}T{hour:02}:00:00Z");
    let (cust_a, ref3) = ("customer:cust.a", "customer:Ref-3");
    add(
        &day(8, 1),
        DIST,
        json!({"op": "register_customer", "customer": "N.6", "partner": "dist_1", "name": "华东零售", "external_id": "ext-006"}),
    );
    add(&day(8, 1), p, json!({"op": "register_operator", "operator": "mgr.1", "partner": "dist_1", "roles": ["customer_manager"]}));
    add(&day(8, 1), DIST, json!({"op": "assign_customer_manager", "customer": "cust.a", "operator": "mgr.1"}));
    let window = json!({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-04-01T00:00:00Z"});
    let mut quota = json!({"op": "issue_quota", "quota": "PQ:1", "partner": "dist_1", "kind": "pickup_voucher", "amount": "1000"});
    extend(&mut quota, &window);
    add(&day(8, 2), p, quota);
    add(
        &day(8, 3),
        DIST,
        json!({"op": "issue_coupon", "coupon": "PV:1", "quota": "PQ:1", "customer": "cust.a", "face_value": "200",
        "ratio": "0.3", "order_kinds": ["new"]}),
    );
    // The voucher pays at most 30% of the order (150.00 of 500.00); allocated funds pay the rest.
    add(&day(9, 2), cust_a, json!({"op": "place_order", "order": "O:11", "customer": "cust.a", "amount": "500", "kind": "new"}));
    add(&day(9, 2), cust_a, json!({"op": "pay_order", "order": "O:11", "coupons": ["PV:1"]}));
    // 15% off ecs only: the ecs member is due 170.00, the obs member in full.
    add(&day(9, 3), p, json!({"op": "recharge", "party": ref3, "amount": "1000"}));
    let mut discount = json!({"op": "grant_discount", "discount": "D:1", "customer": "Ref-3", "ratio": "0.85", "services": ["ecs"]});
    extend(&mut discount, &window);
    add(&day(9, 3), p, discount);
    add(
        &day(9, 4),
        ref3,
        json!({"op": "place_combined_order", "combined": "CO:2", "customer": "Ref-3", "orders": [
            {"order": "O:12", "amount": "200", "kind": "new", "service": "ecs"},
            {"order": "O:13", "amount": "100", "kind": "renew", "service": "obs"}
        ]}),
    );
    add(&day(9, 4), ref3, json!({"op": "pay_order", "order": "CO:2", "discount": "D:1"}));
    add(&day(10, 2), ref3, json!({"op": "request_invoice", "invoice": "I.2", "party": ref3, "cycles": ["2026-02"]}));
    add(&day(10, 3), cust_a, json!({"op": "request_invoice", "invoice": "I.3", "party": cust_a, "bills": ["O:11"]}));
    lines
}

/// [`build`], then [`part2_lines`]; every command must succeed.
pub fn build_part2(dir: &Path) -> PathBuf {
    let db = build(dir);
    let input = dir.join("part2.jsonl");
    std::fs::write(&input, part2_lines().join("\n")).expect("write the scenario");
    let output = run_ok(&["apply", "--db", path(&db), path(&input)]);
    for (line, result) in part2_lines().iter().zip(output.lines()) {
        let result: Value = serde_json::from_str(result).expect("a JSON result line");
        assert_eq!(result["ok"], true, "{line} failed: {result}");
    }
    db
}

fn extend(target: &mut Value, fields: &Value) {
    if let (Some(target), Some(fields)) = (target.as_object_mut(), fields.as_object()) {
        target.extend(fields.clone());
    }
}

/// Runs the binary; returns (exit success, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BINARY).args(args).output().expect("run partner-ledger");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Runs the binary and requires success; returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    let (ok, stdout, stderr) = run(args);
    assert!(ok, "partner-ledger {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Applies the scenario to a fresh ledger in `dir` through `partner-ledger apply`; every command
/// must succeed. Returns the ledger file.
pub fn build(dir: &Path) -> PathBuf {
    let db = dir.join("scenario.redb");
    let input = dir.join("scenario.jsonl");
    std::fs::write(&input, lines().join("\n")).expect("write the scenario");
    let output = run_ok(&["apply", "--db", path(&db), path(&input)]);
    for (line, result) in lines().iter().zip(output.lines()) {
        let result: Value = serde_json::from_str(result).expect("a JSON result line");
        assert_eq!(result["ok"], true, "{line} failed: {result}");
    }
    assert_eq!(output.lines().count(), lines().len());
    db
}

pub fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}
