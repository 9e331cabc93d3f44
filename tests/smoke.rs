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
    assert_eq!(f.cash("customer:C1"), "100.50");
    f.fails(json!({"op": "allocate", "id": "a2", "actor": "partner:D1", "to": "customer:C1", "amount": "100000"}), "insufficient_funds");
    assert!(f.ledger.verify().is_ok());
}
