//! Commerce helpers for the coupon, order, usage, withdrawal and association tests: request
//! builders that always carry an explicit `at`, readers for balances at a time, value totals per
//! asset, and `refused`, which proves a failed command left orders, bills and withdrawals alone
//! as well as everything `Fixture::fails` already compares.
#![allow(dead_code)]

use crate::common::Fixture;
use serde_json::{Value, json};

/// The default validity window of the quotas in these tests.
pub const FROM: &str = "2026-01-01T00:00:00Z";
pub const UNTIL: &str = "2026-07-01T00:00:00Z";
/// The time the quota of `with_quota` is issued.
pub const SETUP_AT: &str = "2026-01-02T00:00:00Z";

const PARTNERS: [&str; 5] = ["partner:D1", "partner:D2", "partner:R1", "partner:R2", "partner:S1"];
const CUSTOMERS: [&str; 5] = ["customer:C1", "customer:C2", "customer:C3", "customer:C4", "customer:CR"];

/// Adds every field of `fields` to the object `request` (replacing fields of the same name).
pub fn with(mut request: Value, fields: Value) -> Value {
    if let (Some(target), Value::Object(fields)) = (request.as_object_mut(), fields) {
        target.extend(fields);
    }
    request
}

/// A mutating command at `at`.
pub fn command(op: &str, id: &str, actor: &str, at: &str, fields: Value) -> Value {
    with(json!({"op": op, "id": id, "actor": actor, "at": at}), fields)
}

/// `issue_quota`; the window defaults to `FROM`..`UNTIL` unless `fields` names one.
pub fn issue_quota(id: &str, actor: &str, at: &str, fields: Value) -> Value {
    command("issue_quota", id, actor, at, with(json!({"valid_from": FROM, "valid_until": UNTIL}), fields))
}

pub fn issue_coupon(id: &str, actor: &str, at: &str, coupon: &str, quota: &str, customer: &str, face_value: &str) -> Value {
    command("issue_coupon", id, actor, at, json!({"coupon": coupon, "quota": quota, "customer": customer, "face_value": face_value}))
}

pub fn place_order(id: &str, actor: &str, at: &str, order: &str, customer: &str, amount: &str) -> Value {
    command("place_order", id, actor, at, json!({"order": order, "customer": customer, "amount": amount, "kind": "new"}))
}

pub fn pay_order(id: &str, actor: &str, at: &str, order: &str, coupons: &[&str]) -> Value {
    let request = command("pay_order", id, actor, at, json!({"order": order}));
    if coupons.is_empty() { request } else { with(request, json!({"coupons": coupons})) }
}

/// C1 places `order` for `amount` and pays it with `coupon` (then cash, then credit).
pub fn spend(f: &Fixture, order: &str, at: &str, amount: &str, coupon: &str) {
    f.ok(place_order(&format!("place-{order}"), "customer:C1", at, order, "C1", amount));
    f.ok(pay_order(&format!("pay-{order}"), "customer:C1", at, order, &[coupon]));
}

pub fn allocate(id: &str, actor: &str, at: &str, to: &str, amount: &str) -> Value {
    command("allocate", id, actor, at, json!({"to": to, "amount": amount}))
}

pub fn recharge(id: &str, at: &str, party: &str, amount: &str) -> Value {
    command("recharge", id, "platform", at, json!({"party": party, "amount": amount}))
}

pub fn credit_limit(id: &str, at: &str, party: &str, limit: &str) -> Value {
    command("set_credit_limit", id, "platform", at, json!({"party": party, "limit": limit}))
}

pub fn consume(id: &str, at: &str, customer: &str, amount: &str) -> Value {
    command("consume", id, "platform", at, json!({"customer": customer, "amount": amount}))
}

/// The balance of `party` read by the platform, statuses evaluated at `at`.
pub fn balance_at(f: &Fixture, party: &str, at: &str) -> Value {
    f.ok(json!({"op": "balance", "actor": "platform", "at": at, "party": party}))
}

/// The coupons of `customer` at `at` as `(coupon, remaining, status)`.
pub fn coupons_at(f: &Fixture, customer: &str, at: &str) -> Vec<(String, String, String)> {
    let balance = balance_at(f, customer, at);
    let coupons = balance["coupons"].as_array().expect("coupons").clone();
    coupons.iter().map(|coupon| (text(&coupon["coupon"]), text(&coupon["remaining"]), text(&coupon["status"]))).collect()
}

/// The quotas of `partner` at `at` as `(quota, balance, status)`.
pub fn quotas_at(f: &Fixture, partner: &str, at: &str) -> Vec<(String, String, String)> {
    let balance = balance_at(f, partner, at);
    let quotas = balance["quotas"].as_array().expect("quotas").clone();
    quotas.iter().map(|quota| (text(&quota["quota"]), text(&quota["balance"]), text(&quota["status"]))).collect()
}

/// `(id, amount, status)` triples, for comparing with `coupons_at` / `quotas_at`.
pub fn triples(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("{value} is not a string")).to_owned()
}

/// The platform's accounts.
pub fn platform(f: &Fixture) -> Value {
    f.balance("platform")["accounts"].clone()
}

/// An amount string in fen.
pub fn fen(amount: &Value) -> i64 {
    let text = amount.as_str().unwrap_or_else(|| panic!("{amount} is not an amount"));
    let (units, fraction) = text.split_once('.').expect("two decimals");
    assert_eq!(fraction.len(), 2, "{text} must have exactly two decimals");
    let sign = if units.starts_with('-') { -1 } else { 1 };
    let units: i64 = units.trim_start_matches('-').parse().expect("units");
    sign * (units * 100 + fraction.parse::<i64>().expect("fraction"))
}

fn registered_balances(f: &Fixture) -> Vec<Value> {
    PARTNERS
        .iter()
        .chain(CUSTOMERS.iter())
        .map(|party| f.send(json!({"op": "balance", "actor": "platform", "party": party})))
        .filter(|response| response["ok"] == true)
        .map(|response| response["result"].clone())
        .collect()
}

/// The sum of every CPN balance (platform coupon accounts, quotas and coupons), in fen.
pub fn coupon_value_total(f: &Fixture) -> i64 {
    let accounts = platform(f);
    let mut total = fen(&accounts["coupon_issuance"]) + fen(&accounts["coupon_redeemed"]) + fen(&accounts["coupon_expired"]);
    for balance in registered_balances(f) {
        total += balance["quotas"].as_array().expect("quotas").iter().map(|quota| fen(&quota["balance"])).sum::<i64>();
        total += balance["coupons"].as_array().expect("coupons").iter().map(|coupon| fen(&coupon["remaining"])).sum::<i64>();
    }
    total
}

/// The sum of every CNY balance (bank, revenue, and each party's cash, allocated, credit and
/// arrears), in fen.
pub fn money_total(f: &Fixture) -> i64 {
    let accounts = platform(f);
    let mut total = fen(&accounts["bank"]) + fen(&accounts["revenue"]);
    for balance in registered_balances(f) {
        let allocated = if balance["allocated"].is_null() { 0 } else { fen(&balance["allocated"]) };
        total += fen(&balance["cash"]) + allocated - fen(&balance["credit_used"]) - fen(&balance["arrears"]);
    }
    total
}

/// Orders, bills and withdrawals of every party the scenarios name.
pub fn commerce_snapshot(f: &Fixture) -> Value {
    let mut listings = Vec::new();
    for customer in CUSTOMERS {
        let id = customer.trim_start_matches("customer:");
        listings.push(f.send(json!({"op": "orders", "actor": "platform", "customer": id, "limit": 100})));
    }
    listings.push(f.send(json!({"op": "orders", "actor": "platform", "limit": 100})));
    for party in PARTNERS.iter().chain(CUSTOMERS.iter()) {
        listings.push(f.send(json!({"op": "bills", "actor": "platform", "party": party, "limit": 100})));
        listings.push(f.send(json!({"op": "withdrawals", "actor": "platform", "party": party, "limit": 100})));
    }
    Value::Array(listings)
}

/// Sends a command that must fail with `code`; proves that balances, statements, records, the
/// head, and every order, bill and withdrawal listing are unchanged. Returns the error object.
pub fn refused(f: &Fixture, request: Value, code: &str) -> Value {
    let before = commerce_snapshot(f);
    let error = f.fails(request.clone(), code);
    assert_eq!(commerce_snapshot(f), before, "{request} failed but changed orders, bills or withdrawals");
    error
}

/// The standard cast plus quota QD1: 1000.00 of vouchers for D1, valid `FROM`..`UNTIL`,
/// issued by the platform at `SETUP_AT` (seq 14).
pub fn with_quota() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(issue_quota("setup-quota", "platform", SETUP_AT, json!({"quota": "QD1", "partner": "D1", "kind": "voucher", "amount": "1000"})));
    f
}
