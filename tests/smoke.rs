//! A first end-to-end path through the public API: the cast, an allocation, a refusal.
mod common;
use common::Fixture;
use serde_json::json;

#[test]
fn cast_allocates_and_refuses_overspending() {
    let f = Fixture::with_cast();
    assert_eq!(f.cash("partner:D1"), "9000.00");
    assert_eq!(f.cash("partner:R1"), "1000.00");
    let result = f.ok(json!({"op": "allocate", "id": "a1", "actor": "partner:D1", "to": "customer:C1", "amount": "100.5"}));
    assert_eq!(result, json!({"transfer": "a1"}));
    assert_eq!(f.allocated("customer:C1"), "100.50");
    assert_eq!(f.cash("customer:C1"), "0.00");
    f.fails(json!({"op": "allocate", "id": "a2", "actor": "partner:D1", "to": "customer:C1", "amount": "100000"}), "insufficient_funds");
    assert!(f.ledger.verify().is_ok());
}

/// `Ledger` is shared between threads, and every error type is a `std::error::Error` with a
/// message a person can read: checked at compile time and on one message.
#[test]
fn the_library_types_are_thread_safe_errors_are_errors() {
    fn send_sync<T: Send + Sync>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    send_sync::<partner_ledger::Ledger>();
    error::<partner_ledger::Rejection>();
    error::<partner_ledger::OpenError>();
    error::<partner_ledger::StoreError>();
    error::<partner_ledger::VerifyError>();
    let f = Fixture::with_cast();
    let response = f.ledger.execute_line(r#"{"op":"recharge","id":"x","actor":"platform","party":"partner:D1","amount":"-5"}"#);
    let rejection = response.rejection().expect("refused");
    assert_eq!(rejection.to_string(), "invalid_amount: field amount: amount must be a plain decimal string such as \"100.50\"");
}
