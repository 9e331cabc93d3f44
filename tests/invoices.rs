//! Invoicing through the ledger: SPEC 5's worked example on real bills, invoices owned by the
//! payer, returns, `debt_outstanding`, `already_invoiced`, and the consumption summary by cycle.
mod common;
use common::Fixture;
use serde_json::{Value, json};

/// Referral customer CR (of D1) with 1000.00 of its own, paying bills B1 (Jan 10) 100.00,
/// B2 (Feb 1) 50.00, refund R1 (Feb 15) -30.00 on B2 … and B3 (Mar 1) 80.00: SPEC 5's example.
fn spec_example() -> Fixture {
    let f = Fixture::with_cast();
    f.ok(json!({"op": "recharge", "id": "cash", "actor": "platform", "party": "customer:CR", "amount": "1000", "at": "2026-01-01T00:00:00Z"}));
    for (order, amount, at) in
        [("B1", "100", "2026-01-10T00:00:00Z"), ("B2", "50", "2026-02-01T00:00:00Z"), ("BX", "30", "2026-02-01T00:00:00Z")]
    {
        f.ok(json!({"op": "place_order", "id": format!("place-{order}"), "actor": "customer:CR", "order": order, "customer": "CR",
            "amount": amount, "kind": "new", "at": at}));
        f.ok(json!({"op": "pay_order", "id": format!("pay-{order}"), "actor": "customer:CR", "order": order, "at": at}));
    }
    // The refund of -30.00 on Feb 15 (of order BX, so B2 stays whole as in the example).
    f.ok(json!({"op": "unsubscribe", "id": "refund", "actor": "customer:CR", "order": "BX", "refund": "30", "at": "2026-02-15T00:00:00Z"}));
    f.ok(json!({"op": "place_order", "id": "place-B3", "actor": "customer:CR", "order": "B3", "customer": "CR", "amount": "80", "kind": "new", "at": "2026-03-01T00:00:00Z"}));
    f.ok(json!({"op": "pay_order", "id": "pay-B3", "actor": "customer:CR", "order": "B3", "at": "2026-03-01T00:00:00Z"}));
    f
}

fn invoice(f: &Fixture, id: &str, amount: &str) -> Value {
    f.send(json!({"op": "request_invoice", "id": id, "actor": "customer:CR", "invoice": id, "party": "customer:CR", "amount": amount,
        "at": "2026-03-02T00:00:00Z"}))
}

fn remaining(f: &Fixture) -> Value {
    let result = f.ok(json!({"op": "invoiceable", "actor": "customer:CR", "party": "customer:CR"}));
    let items: Vec<Value> = result["items"].as_array().unwrap().iter().map(|item| json!([item["bill"], item["remaining"]])).collect();
    json!({"total": result["total"], "items": items})
}

#[test]
fn spec_worked_example_matches_exactly() {
    let f = spec_example();
    // BX is paid 30.00 and refunded 30.00: its payment bill and refund bill net to zero.
    assert_eq!(
        remaining(&f),
        json!({"total": "230.00", "items": [["B1", "100.00"], ["B2", "50.00"], ["BX", "30.00"], ["BX:refund", "-30.00"], ["B3", "80.00"]]})
    );
    let response = invoice(&f, "I1", "130.00");
    assert_eq!(response["ok"], true, "{response}");
    assert_eq!(
        response["result"]["matched"],
        json!([{"bill": "BX:refund", "amount": "-30.00"}, {"bill": "B1", "amount": "100.00"}, {"bill": "B2", "amount": "50.00"}, {"bill": "BX", "amount": "10.00"}])
    );
    assert_eq!(remaining(&f), json!({"total": "100.00", "items": [["BX", "20.00"], ["B3", "80.00"]]}));
    let before = f.snapshot();
    let refused = invoice(&f, "I2", "150.00");
    assert_eq!(refused["error"]["code"], "exceeds_invoiceable");
    assert_eq!(refused["error"]["cbc"], "CBC.0101");
    assert_eq!(f.snapshot(), before);
    assert_eq!(invoice(&f, "I2", "100.00")["ok"], true);
    assert_eq!(remaining(&f), json!({"total": "0.00", "items": []}));
    assert!(f.ledger.verify().is_ok());
}

#[test]
fn a_returned_invoice_makes_its_amounts_invoiceable_again() {
    let f = spec_example();
    assert_eq!(invoice(&f, "I1", "130.00")["ok"], true);
    let returned =
        f.ok(json!({"op": "return_invoice", "id": "ret", "actor": "customer:CR", "invoice": "I1", "at": "2026-03-03T00:00:00Z"}));
    assert_eq!(returned, json!({"invoice": "I1", "status": "returned"}));
    assert_eq!(remaining(&f)["total"], "230.00");
    let shown = f.ok(json!({"op": "invoice", "actor": "customer:CR", "invoice": "I1"}));
    assert_eq!(shown["status"], "returned");
    assert_eq!(shown["amount"], "130.00");
    f.fails(
        json!({"op": "return_invoice", "id": "ret2", "actor": "customer:CR", "invoice": "I1", "at": "2026-03-03T00:00:00Z"}),
        "invoice_state",
    );
    f.fails(
        json!({"op": "return_invoice", "id": "ret3", "actor": "customer:C1", "invoice": "I1", "at": "2026-03-03T00:00:00Z"}),
        "access_denied",
    );
    f.fails(
        json!({"op": "return_invoice", "id": "ret4", "actor": "platform", "invoice": "nope", "at": "2026-03-03T00:00:00Z"}),
        "not_found",
    );
}

#[test]
fn an_invoiced_bill_cannot_be_unsubscribed_even_in_part() {
    let f = spec_example();
    assert_eq!(invoice(&f, "I1", "120.00")["ok"], true);
    // I1 covers the refund, B1 in full and B2 for 50.00: B3 untouched.
    f.fails(
        json!({"op": "unsubscribe", "id": "u1", "actor": "customer:CR", "order": "B2", "refund": "1", "at": "2026-03-05T00:00:00Z"}),
        "already_invoiced",
    );
    f.ok(json!({"op": "unsubscribe", "id": "u2", "actor": "customer:CR", "order": "B3", "refund": "80", "at": "2026-03-05T00:00:00Z"}));
    let error = f.fails(
        json!({"op": "unsubscribe", "id": "u3", "actor": "customer:CR", "order": "B1", "refund": "1", "at": "2026-03-05T00:00:00Z"}),
        "already_invoiced",
    );
    assert_eq!(error["cbc"], "CBC.99003643");
}

#[test]
fn debt_blocks_invoicing_and_repaid_usage_becomes_invoiceable() {
    let f = Fixture::with_cast();
    f.ok(json!({"op": "consume", "id": "use1", "actor": "platform", "customer": "CR", "amount": "40.123", "at": "2026-01-05T00:00:00Z"}));
    assert_eq!(f.balance("customer:CR")["arrears"], "40.12");
    let request = json!({"op": "request_invoice", "id": "I1", "actor": "customer:CR", "invoice": "I1", "party": "customer:CR", "amount": "10", "at": "2026-01-06T00:00:00Z"});
    let error = f.fails(request.clone(), "debt_outstanding");
    assert_eq!(error["cbc"], "CBC.0155");
    f.ok(json!({"op": "recharge", "id": "pay-debt", "actor": "platform", "party": "customer:CR", "amount": "50", "at": "2026-01-06T00:00:00Z"}));
    assert_eq!(f.ok(request)["matched"], json!([{"bill": "use1", "amount": "10.00"}]));
}

#[test]
fn partner_paid_bills_are_the_partners_to_invoice() {
    let f = Fixture::with_cast();
    f.ok(json!({"op": "place_order", "id": "p", "actor": "customer:C1", "order": "O1", "customer": "C1", "amount": "70", "kind": "renew", "at": "2026-01-02T00:00:00Z"}));
    f.ok(json!({"op": "request_partner_payment", "id": "ask", "actor": "customer:C1", "order": "O1", "at": "2026-01-02T00:00:00Z"}));
    f.ok(json!({"op": "pay_order", "id": "q", "actor": "partner:D1", "order": "O1", "payer": "partner", "at": "2026-01-02T00:00:00Z"}));
    assert_eq!(f.ok(json!({"op": "invoiceable", "actor": "customer:C1", "party": "customer:C1"}))["total"], "0.00");
    let partner = f.ok(json!({"op": "invoiceable", "actor": "partner:D1", "party": "partner:D1"}));
    let item = json!({"bill": "O1", "bill_type": "renew", "at": "2026-01-02T00:00:00Z", "cycle": "2026-01", "remaining": "70.00"});
    assert_eq!(partner["items"], json!([item]));
    f.fails(json!({"op": "request_invoice", "id": "I9", "actor": "customer:C1", "invoice": "I9", "party": "customer:C1", "amount": "1", "at": "2026-01-03T00:00:00Z"}), "exceeds_invoiceable");
    f.fails(json!({"op": "request_invoice", "id": "I9", "actor": "partner:D1", "invoice": "I9", "party": "partner:D1", "amount": "0", "at": "2026-01-03T00:00:00Z"}), "invalid_amount");
    f.ok(json!({"op": "request_invoice", "id": "I9", "actor": "partner:D1", "invoice": "I9", "party": "partner:D1", "amount": "70", "at": "2026-01-03T00:00:00Z"}));
    f.fails(json!({"op": "request_invoice", "id": "I10", "actor": "partner:D1", "invoice": "I9", "party": "partner:D1", "amount": "1", "at": "2026-01-03T00:00:00Z"}), "already_exists");
    let bills = f.ok(json!({"op": "bills", "actor": "partner:D1", "party": "partner:D1"}));
    assert_eq!(bills["bills"][0]["invoiced"], "70.00");
}

#[test]
fn consumption_summary_per_customer_in_a_utc8_cycle() {
    let f = Fixture::with_cast();
    f.ok(
        json!({"op": "allocate", "id": "fund", "actor": "partner:D1", "to": "customer:C1", "amount": "500", "at": "2026-01-01T00:00:00Z"}),
    );
    // 2026-01-31T16:00:00Z is already February in UTC+8.
    for (order, at) in [("J1", "2026-01-31T15:59:59Z"), ("F1", "2026-01-31T16:00:00Z")] {
        f.ok(json!({"op": "place_order", "id": format!("place-{order}"), "actor": "customer:C1", "order": order, "customer": "C1", "amount": "100", "kind": "new", "at": at}));
        f.ok(json!({"op": "pay_order", "id": format!("pay-{order}"), "actor": "customer:C1", "order": order, "at": at}));
    }
    f.ok(json!({"op": "unsubscribe", "id": "u", "actor": "customer:C1", "order": "F1", "refund": "25", "at": "2026-02-02T00:00:00Z"}));
    f.ok(json!({"op": "consume", "id": "use", "actor": "platform", "customer": "CR", "amount": "5.5", "at": "2026-02-03T00:00:00Z"}));
    f.ok(json!({"op": "adjust", "id": "comp", "actor": "platform", "party": "customer:C1", "direction": "compensate", "amount": "3", "reason": "SLA", "at": "2026-02-04T00:00:00Z"}));
    let summary = f.ok(json!({"op": "consumption_summary", "actor": "partner:D1", "cycle": "2026-02"}));
    assert_eq!(
        summary["customers"],
        json!([
            {"customer": "C1", "manager": null, "consumption": "100.00", "payable": "100.00", "paid": "100.00", "refunds": "-25.00",
                "adjustments": "-3.00", "net": "72.00"},
            {"customer": "CR", "manager": null, "consumption": "5.50", "payable": "5.50", "paid": "5.50", "refunds": "0.00",
                "adjustments": "0.00", "net": "5.50"},
        ])
    );
    let totals = json!({"consumption": "105.50", "payable": "105.50", "paid": "105.50", "refunds": "-25.00", "adjustments": "-3.00",
        "net": "77.50"});
    assert_eq!(summary["totals"], totals);
    let january = f.ok(json!({"op": "consumption_summary", "actor": "platform", "partner": "D1", "cycle": "2026-01"}));
    assert_eq!(january["totals"]["consumption"], "100.00");
    let denied = f.send(json!({"op": "consumption_summary", "actor": "partner:D2", "partner": "D1", "cycle": "2026-01"}));
    assert_eq!(denied["error"]["code"], "access_denied");
    let bad = f.send(json!({"op": "consumption_summary", "actor": "partner:D1", "cycle": "2026-13"}));
    assert_eq!(bad["error"]["code"], "invalid_request");
}
