//! Coupons (SPEC 3 "Coupons"): quotas flow platform → partner → reseller, coupons flow from quotas
//! to resale customers and back, statuses follow the query's time, and CPN value never mixes
//! with CNY: every refusal names its code and changes nothing.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";
const T3: &str = "2026-01-07T10:00:00Z";

fn reclaim_quota(id: &str, actor: &str, at: &str, quota: &str) -> Value {
    command("reclaim_quota", id, actor, at, json!({"quota": quota}))
}

fn reclaim_coupon(id: &str, actor: &str, at: &str, coupon: &str) -> Value {
    command("reclaim_coupon", id, actor, at, json!({"coupon": coupon}))
}

fn whitelist(id: &str, actor: &str, at: &str, customer: &str) -> Value {
    command("whitelist_customer", id, actor, at, json!({"customer": customer}))
}

/// D1 passes 300.00 of QD1 to its reseller R1 as QR1, valid until 2026-04-01.
fn reseller_quota(f: &Fixture, id: &str, at: &str) {
    let fields = json!({"quota": "QR1", "partner": "R1", "kind": "voucher", "amount": "300", "from_quota": "QD1", "valid_until": "2026-04-01T00:00:00Z"});
    assert_eq!(f.ok(issue_quota(id, "partner:D1", at, fields)), json!({"quota": "QR1"}));
}

// ---- issue_quota ----

#[test]
fn the_platform_issues_quotas_to_solution_providers_and_distributors() {
    let f = Fixture::with_cast();
    let request = issue_quota("q1", "platform", T1, json!({"quota": "QD1", "partner": "D1", "kind": "voucher", "amount": "1000"}));
    assert_eq!(f.send(request), json!({"id": "q1", "ok": true, "seq": 14, "duplicate": false, "result": {"quota": "QD1"}}));
    let window = json!({"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-04-01T00:00:00Z"});
    let fields = with(json!({"quota": "QS1", "partner": "S1", "kind": "cash_coupon", "amount": "250.5"}), window);
    assert_eq!(f.ok(issue_quota("q2", "platform", T1, fields)), json!({"quota": "QS1"}));
    let quota = json!({"quota": "QD1", "kind": "voucher", "balance": "1000.00", "valid_until": UNTIL, "status": "normal"});
    assert_eq!(balance_at(&f, "partner:D1", T1)["quotas"], json!([quota]));
    let quota =
        json!({"quota": "QS1", "kind": "cash_coupon", "balance": "250.50", "valid_until": "2026-04-01T00:00:00Z", "status": "normal"});
    assert_eq!(balance_at(&f, "partner:S1", T1)["quotas"], json!([quota]));
    let accounts = platform(&f);
    assert_eq!((accounts["coupon_issuance"].clone(), accounts["bank"].clone()), (json!("-1250.50"), json!("-30000.00")));
    // Coupon value is not money: no cash moved.
    assert_eq!((f.cash("partner:D1"), f.cash("partner:S1")), ("9000.00".to_owned(), "10000.00".to_owned()));
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn platform_quota_refusals_change_nothing() {
    let f = with_quota();
    let quota = |id: &str, actor: &str, fields: Value| issue_quota(id, actor, T1, with(json!({"kind": "voucher", "amount": "10"}), fields));
    // Platform quotas go to solution providers and distributors; a reseller gets its distributor's.
    refused(&f, quota("q1", "platform", json!({"quota": "Q1", "partner": "R1"})), "invalid_request");
    refused(&f, quota("q2", "platform", json!({"quota": "Q1", "partner": "D1", "from_quota": "QD1"})), "invalid_request");
    let error = refused(&f, quota("q3", "platform", json!({"quota": "Q1", "partner": "D1", "valid_from": UNTIL})), "invalid_validity");
    assert_eq!(error["cbc"], "CBC.0101");
    refused(
        &f,
        quota("q4", "platform", json!({"quota": "Q1", "partner": "D1", "valid_until": "2025-12-31T00:00:00Z"})),
        "invalid_validity",
    );
    refused(&f, quota("q5", "platform", json!({"quota": "Q1", "partner": "X"})), "not_found");
    refused(&f, quota("q6", "platform", json!({"quota": "QD1", "partner": "D2"})), "already_exists");
    refused(&f, quota("q7", "customer:C1", json!({"quota": "Q1", "partner": "D1"})), "access_denied");
    refused(&f, quota("q8", "partner:S1", json!({"quota": "Q1", "partner": "D1", "from_quota": "QD1"})), "access_denied");
    refused(&f, quota("q9", "platform", json!({"quota": "Q1", "partner": "D1", "amount": "0"})), "invalid_amount");
    refused(&f, quota("q10", "platform", json!({"quota": "Q1", "partner": "D1", "kind": "gift"})), "invalid_request");
    refused(&f, quota("q11", "platform", json!({"quota": "Q/1", "partner": "D1"})), "invalid_id");
}

#[test]
fn a_distributor_issues_from_its_own_quota_to_its_reseller() {
    let f = with_quota();
    reseller_quota(&f, "q1", T1);
    assert_eq!(quotas_at(&f, "partner:D1", T1), triples(&[("QD1", "700.00", "normal")]));
    let quota = json!({"quota": "QR1", "kind": "voucher", "balance": "300.00", "valid_until": "2026-04-01T00:00:00Z", "status": "normal"});
    assert_eq!(balance_at(&f, "partner:R1", T1)["quotas"], json!([quota]));
    // Value moved between quotas: nothing new was issued by the platform.
    assert_eq!(platform(&f)["coupon_issuance"], "-1000.00");
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn a_distributor_quota_must_come_from_a_usable_quota_of_the_same_kind_with_enough_balance() {
    let f = with_quota();
    f.ok(command("register_partner", "p1", "platform", T1, json!({"partner": "R2", "kind": "reseller", "parent": "D2"})));
    let late = json!({"quota": "QF", "partner": "D1", "kind": "voucher", "amount": "500", "valid_from": "2026-03-01T00:00:00Z"});
    f.ok(issue_quota("q0", "platform", T1, late));
    let quota = |id: &str, at: &str, fields: Value| {
        let base = json!({"quota": "Q1", "partner": "R1", "kind": "voucher", "amount": "100", "from_quota": "QD1"});
        issue_quota(id, "partner:D1", at, with(base, fields))
    };
    let error = refused(&f, quota("q1", T1, json!({"partner": "D2"})), "not_your_reseller");
    assert_eq!(error["cbc"], "CBC.99000037");
    // A relationship error comes before a state error (SPEC 2.2).
    refused(&f, quota("q2", T1, json!({"partner": "R2", "kind": "cash_coupon"})), "not_your_reseller");
    let error = refused(&f, quota("q3", T1, json!({"kind": "cash_coupon"})), "quota_not_valid");
    assert_eq!(error["cbc"], "CBC.99000017");
    refused(&f, quota("q4", T1, json!({"from_quota": "QF", "valid_from": "2026-03-01T00:00:00Z"})), "quota_not_valid");
    refused(&f, quota("q5", UNTIL, json!({})), "quota_not_valid");
    refused(&f, quota("q6", T1, json!({"valid_until": "2026-07-01T00:00:01Z"})), "invalid_validity");
    refused(&f, quota("q7", T1, json!({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-02-01T00:00:00Z"})), "invalid_validity");
    let error = refused(&f, quota("q8", T1, json!({"amount": "1000.01"})), "quota_insufficient");
    assert_eq!(error["cbc"], "CBC.99000013");
    // time_went_backwards comes before funds errors.
    refused(&f, quota("q9", SETUP_AT, json!({"amount": "1000.01"})), "time_went_backwards");
    refused(
        &f,
        issue_quota(
            "q10",
            "partner:D2",
            T1,
            json!({"quota": "Q1", "partner": "R2", "kind": "voucher", "amount": "1", "from_quota": "QD1"}),
        ),
        "access_denied",
    );
    refused(&f, quota("q11", T1, json!({"from_quota": "QX"})), "not_found");
    // The whole balance may go.
    assert_eq!(f.ok(quota("q12", T1, json!({"amount": "1000"}))), json!({"quota": "Q1"}));
    assert_eq!(quotas_at(&f, "partner:D1", T1), triples(&[("QD1", "0.00", "normal"), ("QF", "500.00", "normal")]));
}

// ---- reclaim_quota ----

#[test]
fn reclaim_quota_returns_the_whole_remainder_to_its_source() {
    let f = with_quota();
    reseller_quota(&f, "q1", T1);
    assert_eq!(f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "100")), json!({"coupon": "K1"}));
    assert_eq!(f.ok(issue_coupon("k2", "partner:R1", T1, "K2", "QR1", "C2", "50")), json!({"coupon": "K2"}));
    assert_eq!(f.ok(reclaim_quota("r1", "partner:D1", T2, "QR1")), json!({"quota": "QR1", "reclaimed": "250.00"}));
    assert_eq!(quotas_at(&f, "partner:R1", T2), triples(&[("QR1", "0.00", "reclaimed")]));
    assert_eq!(quotas_at(&f, "partner:D1", T2), triples(&[("QD1", "850.00", "normal")]));
    assert_eq!(f.ok(reclaim_quota("r2", "platform", T2, "QD1")), json!({"quota": "QD1", "reclaimed": "850.00"}));
    assert_eq!(quotas_at(&f, "partner:D1", T2), triples(&[("QD1", "0.00", "reclaimed")]));
    // What is still out is exactly the two coupons, which keep their value.
    assert_eq!(platform(&f)["coupon_issuance"], "-150.00");
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&[("K1", "100.00", "usable")]));
    assert_eq!(coupons_at(&f, "customer:C2", T2), triples(&[("K2", "50.00", "usable")]));
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn only_the_issuer_reclaims_a_quota_and_a_reclaimed_quota_is_not_valid() {
    let f = with_quota();
    reseller_quota(&f, "q1", T1);
    refused(&f, reclaim_quota("r1", "partner:D1", T2, "QD1"), "access_denied");
    refused(&f, reclaim_quota("r2", "partner:R1", T2, "QR1"), "access_denied");
    refused(&f, reclaim_quota("r3", "platform", T2, "QR1"), "access_denied");
    refused(&f, reclaim_quota("r4", "customer:C1", T2, "QD1"), "access_denied");
    refused(&f, reclaim_quota("r5", "platform", T2, "QX"), "not_found");
    f.ok(reclaim_quota("r6", "platform", T2, "QD1"));
    refused(&f, reclaim_quota("r7", "platform", T3, "QD1"), "quota_not_valid");
    refused(&f, issue_coupon("k1", "partner:D1", T3, "K1", "QD1", "C1", "1"), "quota_not_valid");
    let fields = json!({"quota": "Q2", "partner": "R1", "kind": "voucher", "amount": "1", "from_quota": "QD1"});
    refused(&f, issue_quota("q2", "partner:D1", T3, fields), "quota_not_valid");
    // The reseller's quota is untouched by its source's reclaim.
    assert_eq!(quotas_at(&f, "partner:R1", T3), triples(&[("QR1", "300.00", "normal")]));
}

// ---- whitelist_customer ----

#[test]
fn a_cash_coupon_needs_the_customer_whitelisted() {
    let f = with_quota();
    f.ok(issue_quota("q1", "platform", T1, json!({"quota": "QC", "partner": "D1", "kind": "cash_coupon", "amount": "500"})));
    let error = refused(&f, issue_coupon("k1", "partner:D1", T1, "K1", "QC", "C1", "80"), "not_whitelisted");
    assert_eq!(error["cbc"], "CBC.99000014");
    // Vouchers need no whitelist.
    f.ok(issue_coupon("k2", "partner:D1", T1, "K2", "QD1", "C1", "20"));
    assert_eq!(f.ok(whitelist("w1", "partner:D1", T1, "C1")), json!({"customer": "C1", "whitelisted": true}));
    assert_eq!(f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QC", "C1", "80")), json!({"coupon": "K1"}));
    let coupon = json!({"coupon": "K1", "kind": "cash_coupon", "face_value": "80.00", "remaining": "80.00", "valid_until": UNTIL, "status": "usable"});
    assert_eq!(balance_at(&f, "customer:C1", T1)["coupons"][1], coupon);
    assert_eq!(quotas_at(&f, "partner:D1", T1), triples(&[("QD1", "980.00", "normal"), ("QC", "420.00", "normal")]));
}

#[test]
fn whitelisting_is_the_partners_act_for_its_resale_customers() {
    let f = with_quota();
    refused(&f, whitelist("w1", "partner:D1", T1, "CR"), "not_resale_customer");
    refused(&f, whitelist("w2", "platform", T1, "C1"), "access_denied");
    refused(&f, whitelist("w3", "partner:D2", T1, "C1"), "access_denied");
    refused(&f, whitelist("w4", "customer:C1", T1, "C1"), "access_denied");
    refused(&f, whitelist("w5", "partner:D1", T1, "C4"), "access_denied");
    refused(&f, whitelist("w6", "partner:D1", T1, "X"), "access_denied");
    // The parent distributor acts for its reseller's customers.
    assert_eq!(f.ok(whitelist("w7", "partner:D1", T1, "C2")), json!({"customer": "C2", "whitelisted": true}));
}

// ---- issue_coupon ----

#[test]
fn issue_coupon_moves_quota_value_to_a_resale_customer_of_the_owner() {
    let f = with_quota();
    let response = f.send(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "100"));
    assert_eq!(response, json!({"id": "k1", "ok": true, "seq": 15, "duplicate": false, "result": {"coupon": "K1"}}));
    let coupon =
        json!({"coupon": "K1", "kind": "voucher", "face_value": "100.00", "remaining": "100.00", "valid_until": UNTIL, "status": "usable"});
    assert_eq!(balance_at(&f, "customer:C1", T1)["coupons"], json!([coupon]));
    let services: Vec<String> = (1..=10).map(|n| format!("svc{n}")).collect();
    let request = with(issue_coupon("k2", "partner:D1", T1, "K2", "QD1", "C1", "0.01"), json!({"services": services}));
    f.ok(request);
    let window = json!({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-03-01T00:00:00Z"});
    f.ok(with(issue_coupon("k3", "partner:D1", T1, "K3", "QD1", "C1", "9.99"), window));
    let coupons = balance_at(&f, "customer:C1", T1)["coupons"].clone();
    assert_eq!((coupons[2]["valid_until"].clone(), coupons[2]["status"].clone()), (json!("2026-03-01T00:00:00Z"), json!("inactive")));
    assert_eq!(quotas_at(&f, "partner:D1", T1), triples(&[("QD1", "890.00", "normal")]));
    // Coupons are not cash.
    assert_eq!(f.cash("customer:C1"), "0.00");
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn issue_coupon_needs_a_resale_customer_of_the_quota_owner() {
    let f = with_quota();
    f.ok(issue_coupon("k0", "partner:D1", T1, "K0", "QD1", "C1", "1"));
    let error = refused(&f, issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C3", "10"), "not_your_customer");
    assert_eq!(error["cbc"], "CBC.99000035");
    refused(&f, issue_coupon("k2", "partner:D1", T1, "K1", "QD1", "C4", "10"), "not_your_customer");
    refused(&f, issue_coupon("k3", "partner:D1", T1, "K1", "QD1", "C2", "10"), "not_your_customer");
    let error = refused(&f, issue_coupon("k4", "partner:D1", T1, "K1", "QD1", "CR", "10"), "not_resale_customer");
    assert_eq!(error["cbc"], "CBC.99000014");
    refused(&f, issue_coupon("k5", "partner:D2", T1, "K1", "QD1", "C1", "10"), "access_denied");
    refused(&f, issue_coupon("k6", "partner:R1", T1, "K1", "QD1", "C1", "10"), "access_denied");
    refused(&f, issue_coupon("k7", "customer:C1", T1, "K1", "QD1", "C1", "10"), "access_denied");
    refused(&f, issue_coupon("k8", "partner:D1", T1, "K1", "QX", "C1", "10"), "not_found");
    refused(&f, issue_coupon("k9", "partner:D1", T1, "K1", "QD1", "X", "10"), "not_found");
    refused(&f, issue_coupon("k10", "partner:D1", T1, "K0", "QD1", "C1", "10"), "already_exists");
    // Relationship errors come before state and funds errors.
    refused(&f, issue_coupon("k11", "partner:D1", UNTIL, "K1", "QD1", "CR", "5000"), "not_resale_customer");
}

#[test]
fn issue_coupon_needs_a_usable_quota_a_window_within_it_and_enough_balance() {
    let f = with_quota();
    let late = json!({"quota": "QF", "partner": "D1", "kind": "voucher", "amount": "500", "valid_from": "2026-03-01T00:00:00Z"});
    f.ok(issue_quota("q0", "platform", T1, late));
    let coupon = |id: &str, at: &str, quota: &str, fields: Value| with(issue_coupon(id, "partner:D1", at, "K1", quota, "C1", "10"), fields);
    let error = refused(&f, coupon("k1", T1, "QF", json!({})), "quota_not_valid");
    assert_eq!(error["cbc"], "CBC.99000017");
    refused(&f, coupon("k2", T1, "QD1", json!({"valid_until": "2026-07-01T00:00:01Z"})), "invalid_validity");
    refused(&f, coupon("k3", T1, "QF", json!({"valid_from": "2026-02-28T00:00:00Z"})), "quota_not_valid");
    refused(&f, coupon("k4", T1, "QD1", json!({"valid_from": "2025-12-31T23:59:59Z"})), "invalid_validity");
    refused(
        &f,
        coupon("k5", T1, "QD1", json!({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-02-01T00:00:00Z"})),
        "invalid_validity",
    );
    let error = refused(&f, coupon("k6", T1, "QD1", json!({"face_value": "1000.01"})), "quota_insufficient");
    assert_eq!(error["cbc"], "CBC.99000013");
    let eleven: Vec<String> = (1..=11).map(|n| format!("svc{n}")).collect();
    refused(&f, coupon("k7", T1, "QD1", json!({"services": eleven})), "invalid_request");
    refused(&f, coupon("k8", T1, "QD1", json!({"face_value": "0"})), "invalid_amount");
    refused(&f, coupon("k9", T1, "QD1", json!({"face_value": "1.001"})), "invalid_amount");
    // Usable is half-open: the quota's valid_until is already too late.
    refused(&f, coupon("k10", UNTIL, "QD1", json!({})), "quota_not_valid");
    assert_eq!(f.ok(coupon("k11", T1, "QD1", json!({"face_value": "1000"}))), json!({"coupon": "K1"}));
    assert_eq!(quotas_at(&f, "partner:D1", T1), triples(&[("QD1", "0.00", "normal"), ("QF", "500.00", "normal")]));
}

#[test]
fn the_owners_parent_distributor_issues_from_a_resellers_quota() {
    let f = with_quota();
    reseller_quota(&f, "q1", T1);
    assert_eq!(f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QR1", "C2", "40")), json!({"coupon": "K1"}));
    assert_eq!(coupons_at(&f, "customer:C2", T1), triples(&[("K1", "40.00", "usable")]));
    assert_eq!(quotas_at(&f, "partner:R1", T1), triples(&[("QR1", "260.00", "normal")]));
    // The quota is R1's: its customers only.
    refused(&f, issue_coupon("k2", "partner:D1", T1, "K2", "QR1", "C1", "40"), "not_your_customer");
    refused(&f, issue_coupon("k3", "partner:D2", T1, "K2", "QR1", "C2", "40"), "access_denied");
    // The coupon's issuer is the quota's owner: R1 may reclaim it.
    assert_eq!(f.ok(reclaim_coupon("r1", "partner:R1", T2, "K1")), json!({"coupon": "K1", "reclaimed": "40.00"}));
    assert_eq!(quotas_at(&f, "partner:R1", T2), triples(&[("QR1", "300.00", "normal")]));
}

// ---- reclaim_coupon ----

#[test]
fn reclaim_coupon_returns_the_remaining_value_to_its_quota() {
    let f = with_quota();
    reseller_quota(&f, "q1", T1);
    f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "100"));
    f.ok(issue_coupon("k2", "partner:R1", T1, "K2", "QR1", "C2", "50"));
    spend(&f, "O1", T2, "30", "K1");
    assert_eq!(quotas_at(&f, "partner:D1", T2), triples(&[("QD1", "600.00", "normal")]));
    assert_eq!(f.ok(reclaim_coupon("r1", "partner:D1", T3, "K1")), json!({"coupon": "K1", "reclaimed": "70.00"}));
    assert_eq!(coupons_at(&f, "customer:C1", T3), triples(&[("K1", "0.00", "reclaimed")]));
    assert_eq!(quotas_at(&f, "partner:D1", T3), triples(&[("QD1", "670.00", "normal")]));
    // The parent distributor reclaims a coupon its reseller issued.
    assert_eq!(f.ok(reclaim_coupon("r2", "partner:D1", T3, "K2")), json!({"coupon": "K2", "reclaimed": "50.00"}));
    assert_eq!(quotas_at(&f, "partner:R1", T3), triples(&[("QR1", "300.00", "normal")]));
    // Spent value stays spent.
    assert_eq!(platform(&f)["coupon_redeemed"], "30.00");
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn only_a_usable_coupon_is_reclaimable() {
    let f = with_quota();
    f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "100"));
    let window = json!({"valid_from": "2026-03-01T00:00:00Z"});
    f.ok(with(issue_coupon("k2", "partner:D1", T1, "K2", "QD1", "C1", "20"), window));
    f.ok(issue_coupon("k3", "partner:D1", T1, "K3", "QD1", "C1", "30"));
    f.ok(with(issue_coupon("k4", "partner:D1", T1, "K4", "QD1", "C1", "40"), json!({"valid_until": "2026-02-01T00:00:00Z"})));
    spend(&f, "O1", T2, "30", "K3");
    f.ok(reclaim_coupon("r0", "partner:D1", T2, "K1"));
    let error = refused(&f, reclaim_coupon("r1", "partner:D1", T2, "K2"), "coupon_not_reclaimable");
    assert_eq!(error["cbc"], "CBC.99003112");
    refused(&f, reclaim_coupon("r2", "partner:D1", T2, "K3"), "coupon_not_reclaimable");
    refused(&f, reclaim_coupon("r3", "partner:D1", T2, "K1"), "coupon_not_reclaimable");
    refused(&f, reclaim_coupon("r4", "partner:D1", "2026-02-01T00:00:00Z", "K4"), "coupon_not_reclaimable");
    refused(&f, reclaim_coupon("r5", "partner:D2", T2, "K4"), "access_denied");
    refused(&f, reclaim_coupon("r6", "partner:R1", T2, "K4"), "access_denied");
    refused(&f, reclaim_coupon("r7", "customer:C1", T2, "K4"), "access_denied");
    refused(&f, reclaim_coupon("r8", "platform", T2, "K4"), "access_denied");
    refused(&f, reclaim_coupon("r9", "partner:D1", T2, "KX"), "not_found");
    let expected = [("K1", "0.00", "reclaimed"), ("K2", "20.00", "inactive"), ("K3", "0.00", "used"), ("K4", "40.00", "usable")];
    assert_eq!(coupons_at(&f, "customer:C1", T2), triples(&expected));
}

// ---- expire_coupons ----

#[test]
fn expire_coupons_sweeps_the_value_of_coupons_past_their_validity() {
    let f = with_quota();
    f.ok(with(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "100"), json!({"valid_until": "2026-02-01T00:00:00Z"})));
    f.ok(issue_coupon("k2", "partner:D1", T1, "K2", "QD1", "C1", "50"));
    let expiry = "2026-02-01T00:00:00Z";
    // Expired before any sweep: shown as expired and refused for payment.
    assert_eq!(coupons_at(&f, "customer:C1", expiry), triples(&[("K1", "100.00", "expired"), ("K2", "50.00", "usable")]));
    f.ok(place_order("o1", "customer:C1", expiry, "O1", "C1", "10"));
    let error = refused(&f, pay_order("p1", "customer:C1", expiry, "O1", &["K1"]), "coupon_not_usable");
    assert_eq!(error["cbc"], "CBC.99003112");
    refused(&f, command("expire_coupons", "e0", "partner:D1", expiry, json!({})), "access_denied");
    let response = f.send(command("expire_coupons", "e1", "platform", expiry, json!({})));
    assert_eq!(response, json!({"id": "e1", "ok": true, "seq": 18, "duplicate": false, "result": {"expired": ["K1"], "amount": "100.00"}}));
    assert_eq!(coupons_at(&f, "customer:C1", expiry), triples(&[("K1", "0.00", "expired"), ("K2", "50.00", "usable")]));
    // Swept, it stays expired whatever the time of the question.
    assert_eq!(coupons_at(&f, "customer:C1", T1)[0], triples(&[("K1", "0.00", "expired")])[0]);
    refused(&f, pay_order("p2", "customer:C1", expiry, "O1", &["K1"]), "coupon_not_usable");
    assert_eq!(f.ok(command("expire_coupons", "e2", "platform", expiry, json!({}))), json!({"expired": [], "amount": "0.00"}));
    let accounts = platform(&f);
    assert_eq!((accounts["coupon_expired"].clone(), accounts["coupon_issuance"].clone()), (json!("100.00"), json!("-1000.00")));
    assert_eq!(quotas_at(&f, "partner:D1", expiry), triples(&[("QD1", "850.00", "normal")]));
    assert_eq!(coupon_value_total(&f), 0);
}

// ---- statuses ----

#[test]
fn coupon_statuses_are_evaluated_at_the_querys_time() {
    let f = with_quota();
    let window = json!({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-03-01T00:00:00Z"});
    f.ok(with(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "40"), window));
    f.ok(issue_coupon("k2", "partner:D1", T1, "K2", "QD1", "C1", "20"));
    f.ok(issue_coupon("k3", "partner:D1", T1, "K3", "QD1", "C1", "30"));
    spend(&f, "O1", T2, "20", "K2");
    f.ok(reclaim_coupon("r1", "partner:D1", T2, "K3"));
    let at = |time: &str| coupons_at(&f, "customer:C1", time);
    assert_eq!(at("2026-01-31T23:59:59Z"), triples(&[("K1", "40.00", "inactive"), ("K2", "0.00", "used"), ("K3", "0.00", "reclaimed")]));
    assert_eq!(at("2026-02-01T00:00:00Z")[0], ("K1".to_owned(), "40.00".to_owned(), "usable".to_owned()));
    assert_eq!(at("2026-02-28T23:59:59Z")[0], ("K1".to_owned(), "40.00".to_owned(), "usable".to_owned()));
    assert_eq!(at("2026-03-01T00:00:00Z")[0], ("K1".to_owned(), "40.00".to_owned(), "expired".to_owned()));
}

#[test]
fn quota_statuses_are_evaluated_at_the_querys_time() {
    let f = with_quota();
    reseller_quota(&f, "q1", T1);
    assert_eq!(quotas_at(&f, "partner:D1", "2026-06-30T23:59:59Z"), triples(&[("QD1", "700.00", "normal")]));
    assert_eq!(quotas_at(&f, "partner:D1", UNTIL), triples(&[("QD1", "700.00", "expired")]));
    assert_eq!(quotas_at(&f, "partner:R1", "2026-04-01T00:00:00Z"), triples(&[("QR1", "300.00", "expired")]));
    f.ok(reclaim_quota("r1", "partner:D1", T2, "QR1"));
    assert_eq!(quotas_at(&f, "partner:R1", T2), triples(&[("QR1", "0.00", "reclaimed")]));
    assert_eq!(quotas_at(&f, "partner:R1", "2026-05-01T00:00:00Z"), triples(&[("QR1", "0.00", "reclaimed")]));
    assert_eq!(quotas_at(&f, "partner:D1", T2), triples(&[("QD1", "1000.00", "normal")]));
}

// ---- CPN and CNY ----

#[test]
fn coupon_value_never_mixes_with_money() {
    let f = with_quota();
    reseller_quota(&f, "q1", T1);
    f.ok(allocate("a1", "partner:D1", T1, "customer:C1", "100"));
    f.ok(issue_coupon("k1", "partner:D1", T1, "K1", "QD1", "C1", "60"));
    f.ok(with(issue_coupon("k2", "partner:R1", T1, "K2", "QR1", "C2", "25"), json!({"valid_until": "2026-02-01T00:00:00Z"})));
    f.ok(place_order("o1", "customer:C1", T2, "O1", "C1", "80"));
    let paid = f.ok(pay_order("p1", "customer:C1", T2, "O1", &["K1"]));
    let row = json!({"order": "O1", "due": "80.00", "discount": "0.00",
        "coupon": "60.00", "allocated": "20.00", "cash": "0.00", "credit": "0.00"});
    assert_eq!(paid, json!({"paid": [row]}));
    f.ok(command("expire_coupons", "e1", "platform", "2026-02-01T00:00:00Z", json!({})));
    f.ok(reclaim_quota("r1", "partner:D1", "2026-02-01T00:00:00Z", "QR1"));
    let accounts = platform(&f);
    let coupon_accounts = (accounts["coupon_issuance"].clone(), accounts["coupon_redeemed"].clone(), accounts["coupon_expired"].clone());
    assert_eq!(coupon_accounts, (json!("-1000.00"), json!("60.00"), json!("25.00")));
    // Revenue holds money only: the allocated part of the order.
    assert_eq!((accounts["revenue"].clone(), accounts["bank"].clone()), (json!("20.00"), json!("-30000.00")));
    assert_eq!(f.allocated("customer:C1"), "80.00");
    assert_eq!(quotas_at(&f, "partner:D1", "2026-02-01T00:00:00Z"), triples(&[("QD1", "915.00", "normal")]));
    assert_eq!(coupon_value_total(&f), 0);
    assert_eq!(money_total(&f), 0);
    assert!(f.ledger.verify().is_ok());
}
