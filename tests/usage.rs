//! Usage and debt (SPEC 3 `consume`, 1.3): a deduction is the amount truncated to the fen with the
//! cut kept as `erase_amount`, it draws usable coupons first (by `valid_until`, then coupon id;
//! without a service only coupons with no service limit), then `allocated` → cash → credit →
//! debt, and every kind of incoming money (recharge, allocation, refund, compensation) repays that
//! debt before it reaches `cash` or `allocated`.
#[path = "common/commerce.rs"]
mod commerce;
mod common;
use commerce::*;
use common::Fixture;
use serde_json::{Value, json};

const T1: &str = "2026-01-05T10:00:00Z";
const T2: &str = "2026-01-06T10:00:00Z";

/// A `consume` result; `parts` are the coupon, allocated, cash, credit and debt parts.
fn consumed(bill: &str, deducted: &str, erase: &str, parts: [&str; 5]) -> Value {
    let [coupon, allocated, cash, credit, debt] = parts;
    json!({"bill": bill, "deducted": deducted, "erase_amount": erase, "coupon": coupon, "allocated": allocated, "cash": cash,
        "credit": credit, "debt": debt})
}

fn consume_for(id: &str, at: &str, customer: &str, amount: &str, service: &str) -> Value {
    with(consume(id, at, customer, amount), json!({"service": service}))
}

fn compensate(id: &str, at: &str, party: &str, amount: &str) -> Value {
    command("adjust", id, "platform", at, json!({"party": party, "direction": "compensate", "amount": amount, "reason": "outage"}))
}

/// `[allocated, cash, credit_used, arrears]` of customer `party`.
fn parts(f: &Fixture, party: &str) -> Value {
    let balance = f.balance(party);
    json!([balance["allocated"], balance["cash"], balance["credit_used"], balance["arrears"]])
}

/// The last line of the `account` statement of `party` as `[op, amount, balance_after]`.
fn last_line(f: &Fixture, party: &str, account: &str) -> Value {
    let statement = f.ok(json!({"op": "statement", "actor": "platform", "party": party, "account": account}));
    let lines = statement["lines"].as_array().expect("lines");
    let last = lines.last().expect("a statement line");
    json!([last["op"], last["amount"], last["balance_after"]])
}

fn last_arrears_line(f: &Fixture, party: &str) -> Value {
    last_line(f, party, "arrears")
}

fn bill(f: &Fixture, party: &str, index: usize) -> Value {
    f.ok(json!({"op": "bills", "actor": "platform", "party": party, "limit": 100}))["bills"][index].clone()
}

/// CR (referral) with 30.00 cash and a credit limit of 50.00 consumes 100.00: 20.00 becomes debt.
fn in_debt() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(recharge("r0", T1, "customer:CR", "30"));
    f.ok(credit_limit("l0", T1, "customer:CR", "50"));
    assert_eq!(f.ok(consume("u0", T1, "CR", "100")), consumed("u0", "100.00", "0.00000000", ["0.00", "0.00", "30.00", "50.00", "20.00"]));
    assert_eq!(parts(&f, "customer:CR"), json!(["0.00", "0.00", "50.00", "20.00"]));
    f
}

#[test]
fn consume_truncates_to_the_fen_and_keeps_the_cut_as_erase_amount() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    let response = f.send(consume("u1", T1, "CR", "12.34567891"));
    let result = consumed("u1", "12.34", "0.00567891", ["0.00", "0.00", "12.34", "0.00", "0.00"]);
    assert_eq!(response, json!({"id": "u1", "ok": true, "seq": 15, "duplicate": false, "result": result}));
    assert_eq!(f.ok(consume("u2", T1, "CR", "0.01")), consumed("u2", "0.01", "0.00000000", ["0.00", "0.00", "0.01", "0.00", "0.00"]));
    assert_eq!(f.ok(consume("u3", T1, "CR", "7.5")), consumed("u3", "7.50", "0.00000000", ["0.00", "0.00", "7.50", "0.00", "0.00"]));
    assert_eq!(f.cash("customer:CR"), "80.15");
    let bills = f.ok(json!({"op": "bills", "actor": "platform", "party": "customer:CR"}));
    let expected = json!({
        "bill": "u1", "bill_type": "usage", "at": T1, "cycle": "2026-01", "order": null, "amount": "12.34", "discount_amount": "0.00",
        "coupon_amount": "0.00", "allocated_amount": "0.00", "cash_amount": "12.34", "credit_amount": "0.00", "debt_amount": "0.00",
        "erase_amount": "0.00567891", "invoice_owner": "customer:CR", "invoiceable": "12.34", "invoiced": "0.00"
    });
    assert_eq!((bills["total_count"].clone(), bills["bills"][0].clone()), (json!(3), expected));
    assert_eq!(platform(&f)["revenue"], "19.85");
    assert_eq!(money_total(&f), 0);
}

#[test]
fn consume_refuses_deductions_under_a_fen_and_more_than_8_decimals() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    let error = refused(&f, consume("u1", T1, "CR", "0.00999999"), "invalid_amount");
    assert_eq!(error["cbc"], "CBC.0101");
    for (id, amount) in [("u2", "0.009"), ("u3", "1.123456789"), ("u4", "0"), ("u5", "-1"), ("u6", "1e2"), ("u7", "1000000000000")] {
        refused(&f, consume(id, T1, "CR", amount), "invalid_amount");
    }
    refused(&f, command("consume", "u8", "platform", T1, json!({"customer": "CR", "amount": 5})), "invalid_amount");
    refused(&f, command("consume", "u9", "partner:D1", T1, json!({"customer": "CR", "amount": "5"})), "access_denied");
    refused(&f, consume("u10", T1, "X", "5"), "not_found");
    // 8 decimals is the most, and 0.01 the least.
    assert_eq!(f.ok(consume("u11", T1, "CR", "0.01999999"))["erase_amount"], "0.00999999");
}

#[test]
fn consume_draws_cash_then_credit_then_leaves_debt_on_the_bill() {
    let f = in_debt();
    let bill = bill(&f, "customer:CR", 0);
    let amounts = json!([
        bill["amount"],
        bill["coupon_amount"],
        bill["allocated_amount"],
        bill["cash_amount"],
        bill["credit_amount"],
        bill["debt_amount"],
        bill["invoiceable"]
    ]);
    assert_eq!(amounts, json!(["100.00", "0.00", "0.00", "30.00", "50.00", "20.00", "100.00"]));
    assert_eq!(last_arrears_line(&f, "customer:CR"), json!(["consume", "-20.00", "-20.00"]));
    // Further usage with no cash and no credit left is all debt.
    assert_eq!(f.ok(consume("u1", T2, "CR", "5.005")), consumed("u1", "5.00", "0.00500000", ["0.00", "0.00", "0.00", "0.00", "5.00"]));
    assert_eq!(parts(&f, "customer:CR"), json!(["0.00", "0.00", "50.00", "25.00"]));
    assert_eq!(platform(&f)["revenue"], "105.00");
    assert_eq!(money_total(&f), 0);
}

#[test]
fn consume_draws_coupons_first_then_allocated_cash_credit_and_debt() {
    let f = with_quota();
    let coupon = |id: &str, coupon: &str, face_value: &str, fields: Value| {
        f.ok(with(issue_coupon(id, "partner:D1", SETUP_AT, coupon, "QD1", "C1", face_value), fields));
    };
    coupon("k1", "KA", "10", json!({"valid_until": "2026-05-01T00:00:00Z"}));
    coupon("k2", "KB", "20", json!({"valid_until": "2026-04-01T00:00:00Z", "services": ["ecs"]}));
    coupon("k3", "KC", "5", json!({"valid_until": "2026-03-01T00:00:00Z", "services": ["obs"]}));
    coupon("k4", "KD", "7", json!({"valid_until": "2026-04-01T00:00:00Z"}));
    coupon("k5", "KE", "3", json!({"valid_from": "2026-02-01T00:00:00Z"}));
    f.ok(allocate("a1", "partner:D1", SETUP_AT, "customer:C1", "40"));
    f.ok(compensate("c1", SETUP_AT, "customer:C1", "25"));
    // ecs usage: KB and KD expire together (KB first by id), KA later; KC covers obs only and KE
    // is not usable yet.
    let result = f.ok(consume_for("u1", T1, "C1", "25", "ecs"));
    assert_eq!(result, consumed("u1", "25.00", "0.00000000", ["25.00", "0.00", "0.00", "0.00", "0.00"]));
    // Without a service only coupons with no service limit pay (KD's rest, then KA), then allocated.
    let result = f.ok(consume("u2", T1, "C1", "30"));
    assert_eq!(result, consumed("u2", "30.00", "0.00000000", ["12.00", "18.00", "0.00", "0.00", "0.00"]));
    let expected =
        [("KA", "0.00", "used"), ("KB", "0.00", "used"), ("KC", "5.00", "usable"), ("KD", "0.00", "used"), ("KE", "3.00", "inactive")];
    assert_eq!(coupons_at(&f, "customer:C1", T1), triples(&expected));
    // No coupon covers ecs any more: allocated, then C1's own cash; a resale customer has no credit.
    let result = f.ok(consume_for("u3", T1, "C1", "60", "ecs"));
    assert_eq!(result, consumed("u3", "60.00", "0.00000000", ["0.00", "22.00", "25.00", "0.00", "13.00"]));
    assert_eq!(parts(&f, "customer:C1"), json!(["0.00", "0.00", "0.00", "13.00"]));
    // Coupon value is never invoiceable; the debt part is.
    let invoiceable: Vec<Value> = (0..4).map(|index| bill(&f, "customer:C1", index)["invoiceable"].clone()).collect();
    assert_eq!(invoiceable, vec![json!("-25.00"), json!("0.00"), json!("18.00"), json!("60.00")]);
    let u3 = bill(&f, "customer:C1", 3);
    assert_eq!(
        json!([u3["coupon_amount"], u3["allocated_amount"], u3["cash_amount"], u3["credit_amount"], u3["debt_amount"]]),
        json!(["0.00", "22.00", "25.00", "0.00", "13.00"])
    );
    assert_eq!(platform(&f)["coupon_redeemed"], "37.00");
    // As a referral customer C1 keeps its debt and the inactive KE (KC is reclaimed) and may have
    // credit: February usage draws KE, cash, credit, then debt.
    let switched = f.ok(command("switch_association", "s1", "partner:D1", T2, json!({"customer": "C1", "association": "referral"})));
    assert_eq!(json!([switched["reclaimed_allocated"], switched["reclaimed_coupons"]]), json!(["0.00", ["KC"]]));
    f.ok(credit_limit("l1", T2, "customer:C1", "50"));
    assert_eq!(f.ok(recharge("r1", T2, "customer:C1", "23")), json!({"arrears_repaid": "13.00", "cash": "10.00"}));
    let result = f.ok(consume("u4", "2026-02-02T00:00:00Z", "C1", "70"));
    assert_eq!(result, consumed("u4", "70.00", "0.00000000", ["3.00", "0.00", "10.00", "50.00", "7.00"]));
    assert_eq!(parts(&f, "customer:C1"), json!(["0.00", "0.00", "50.00", "7.00"]));
    assert_eq!(money_total(&f), 0);
    assert_eq!(coupon_value_total(&f), 0);
}

#[test]
fn consume_draws_only_available_cash_never_cash_held_for_a_withdrawal() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    let request =
        command("request_withdrawal", "w1", "customer:CR", T1, json!({"withdrawal": "W1", "party": "customer:CR", "amount": "60"}));
    f.ok(request);
    assert_eq!(f.ok(consume("u1", T1, "CR", "50")), consumed("u1", "50.00", "0.00000000", ["0.00", "0.00", "40.00", "0.00", "10.00"]));
    let balance = f.balance("customer:CR");
    let shown = json!([balance["cash"], balance["held"], balance["available"], balance["arrears"]]);
    assert_eq!(shown, json!(["60.00", "60.00", "0.00", "10.00"]));
    // The held amount can still be paid out in full.
    f.ok(command("approve_withdrawal", "a1", "platform", T2, json!({"withdrawal": "W1"})));
    assert_eq!(parts(&f, "customer:CR"), json!(["0.00", "0.00", "0.00", "10.00"]));
    assert_eq!(money_total(&f), 0);
}

#[test]
fn a_recharge_repays_debt_before_cash() {
    let f = in_debt();
    assert_eq!(f.ok(recharge("r1", T2, "customer:CR", "15")), json!({"arrears_repaid": "15.00", "cash": "0.00"}));
    assert_eq!(parts(&f, "customer:CR"), json!(["0.00", "0.00", "50.00", "5.00"]));
    assert_eq!(f.ok(recharge("r2", T2, "customer:CR", "45")), json!({"arrears_repaid": "5.00", "cash": "40.00"}));
    // Credit in use is not debt: it stays until repaid.
    assert_eq!(parts(&f, "customer:CR"), json!(["0.00", "40.00", "50.00", "0.00"]));
    assert_eq!(last_arrears_line(&f, "customer:CR"), json!(["recharge", "5.00", "0.00"]));
    assert_eq!(f.ok(recharge("r3", T2, "customer:CR", "1")), json!({"arrears_repaid": "0.00", "cash": "1.00"}));
}

#[test]
fn an_allocation_repays_a_resale_customers_debt_before_allocated() {
    let f = Fixture::with_cast();
    assert_eq!(f.ok(consume("u1", T1, "C1", "25")), consumed("u1", "25.00", "0.00000000", ["0.00", "0.00", "0.00", "0.00", "25.00"]));
    assert_eq!(f.ok(allocate("a1", "partner:D1", T2, "customer:C1", "40")), json!({"transfer": "a1"}));
    assert_eq!(parts(&f, "customer:C1"), json!(["15.00", "0.00", "0.00", "0.00"]));
    assert_eq!(last_arrears_line(&f, "customer:C1"), json!(["allocate", "25.00", "0.00"]));
    assert_eq!(last_line(&f, "customer:C1", "allocated"), json!(["allocate", "15.00", "15.00"]));
    assert_eq!(f.cash("partner:D1"), "8960.00");
    let records = f.ok(json!({"op": "adjust_records", "actor": "platform", "target": "customer:C1"}));
    assert_eq!(records["records"][0]["amount"], "40.00");
    assert_eq!(money_total(&f), 0);
}

#[test]
fn a_refund_repays_debt_before_cash_or_allocated() {
    let f = Fixture::with_cast();
    f.ok(recharge("r1", T1, "customer:CR", "100"));
    f.ok(place_order("o1", "customer:CR", T1, "O1", "CR", "100"));
    f.ok(pay_order("p1", "customer:CR", T1, "O1", &[]));
    assert_eq!(f.ok(consume("u1", T1, "CR", "40"))["debt"], "40.00");
    let refund = command("unsubscribe", "x1", "customer:CR", T2, json!({"order": "O1", "refund": "60"}));
    assert_eq!(f.ok(refund), json!({"refund": {"credit": "0.00", "allocated": "0.00", "partner": "0.00", "cash": "60.00"}}));
    assert_eq!(parts(&f, "customer:CR"), json!(["0.00", "20.00", "0.00", "0.00"]));
    assert_eq!(last_arrears_line(&f, "customer:CR"), json!(["unsubscribe", "40.00", "0.00"]));
    // A resale customer's refund of what it paid from `allocated` repays its debt first too.
    f.ok(allocate("a1", "partner:D1", T2, "customer:C1", "100"));
    f.ok(place_order("o2", "customer:C1", T2, "O2", "C1", "100"));
    f.ok(pay_order("p2", "customer:C1", T2, "O2", &[]));
    assert_eq!(f.ok(consume("u2", T2, "C1", "40"))["debt"], "40.00");
    let refund = command("unsubscribe", "x2", "customer:C1", T2, json!({"order": "O2", "refund": "60"}));
    assert_eq!(f.ok(refund), json!({"refund": {"credit": "0.00", "allocated": "60.00", "partner": "0.00", "cash": "0.00"}}));
    assert_eq!(parts(&f, "customer:C1"), json!(["20.00", "0.00", "0.00", "0.00"]));
    assert_eq!(last_arrears_line(&f, "customer:C1"), json!(["unsubscribe", "40.00", "0.00"]));
    assert_eq!(last_line(&f, "customer:C1", "allocated"), json!(["unsubscribe", "20.00", "20.00"]));
    assert_eq!(money_total(&f), 0);
}

#[test]
fn a_compensation_repays_debt_before_cash() {
    let f = in_debt();
    assert_eq!(f.ok(compensate("c1", T2, "customer:CR", "10")), json!({"arrears_repaid": "10.00", "cash": "0.00"}));
    assert_eq!(f.ok(compensate("c2", T2, "customer:CR", "50")), json!({"arrears_repaid": "10.00", "cash": "40.00"}));
    assert_eq!(parts(&f, "customer:CR"), json!(["0.00", "40.00", "50.00", "0.00"]));
    assert_eq!(last_arrears_line(&f, "customer:CR"), json!(["adjust", "10.00", "0.00"]));
    let compensation = bill(&f, "customer:CR", 2);
    let fields = json!([compensation["bill"], compensation["bill_type"], compensation["amount"], compensation["invoiceable"]]);
    assert_eq!(fields, json!(["c2", "compensation", "-50.00", "-50.00"]));
    // A resale customer's compensation is its own money: debt first, then its cash, never
    // `allocated`.
    assert_eq!(f.ok(consume("u1", T2, "C1", "25"))["debt"], "25.00");
    assert_eq!(f.ok(compensate("c3", T2, "customer:C1", "40")), json!({"arrears_repaid": "25.00", "cash": "15.00"}));
    assert_eq!(parts(&f, "customer:C1"), json!(["0.00", "15.00", "0.00", "0.00"]));
    assert_eq!(money_total(&f), 0);
}
