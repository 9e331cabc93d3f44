//! Shared fixtures for the public-API tests: a ledger in a temporary directory with a settable
//! clock, JSON helpers, and snapshots that prove a failed command changed nothing.
#![allow(dead_code)]

use partner_ledger::{Clock, Ledger, Timestamp};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A clock the test sets by hand.
#[derive(Clone, Default)]
pub struct ManualClock(pub Arc<AtomicI64>);

impl ManualClock {
    pub fn set(&self, text: &str) {
        self.0.store(Timestamp::parse(text).expect("valid time").millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// A ledger in its own temporary directory.
pub struct Fixture {
    pub ledger: Ledger,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::default();
        clock.set("2026-01-01T00:00:00Z");
        let ledger = Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock.clone())).expect("open");
        Fixture { ledger, clock, dir }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("ledger.redb")
    }

    /// Sends one request (a JSON value) and returns the response as JSON.
    pub fn send(&self, request: Value) -> Value {
        self.ledger.execute_line(&request.to_string()).to_json()
    }

    /// Sends a request that must succeed; returns its `result`.
    pub fn ok(&self, request: Value) -> Value {
        let response = self.send(request.clone());
        assert_eq!(response["ok"], true, "{request} should succeed, got {response}");
        response["result"].clone()
    }

    /// Sends a request that must fail with `code`, and checks that nothing changed.
    pub fn fails(&self, request: Value, code: &str) -> Value {
        let before = self.snapshot();
        let response = self.send(request.clone());
        assert_eq!(response["ok"], false, "{request} should fail with {code}, got {response}");
        assert_eq!(response["error"]["code"], code, "{request}: {response}");
        assert_eq!(self.snapshot(), before, "{request} failed but changed the ledger");
        response["error"].clone()
    }

    /// Everything observable: the head, every registered party's balance, statement lines of
    /// each account, and all adjust records.
    pub fn snapshot(&self) -> Value {
        let head = self.ledger.head();
        let mut parties = vec!["platform".to_owned()];
        let records = self.ok(json!({"op": "adjust_records", "actor": "platform", "limit": 100}));
        for party in self.known_parties() {
            parties.push(party);
        }
        let mut balances = Vec::new();
        for party in &parties {
            balances.push(self.send(json!({"op": "balance", "actor": "platform", "party": party})));
            if party != "platform" {
                for account in ["cash", "allocated", "credit", "arrears"] {
                    balances
                        .push(self.send(json!({"op": "statement", "actor": "platform", "party": party, "account": account, "limit": 100})));
                }
            }
        }
        json!({"seq": head.seq, "hash": partner_ledger::hex(&head.hash), "balances": balances, "records": records})
    }

    /// Parties named in the test scenarios (registered or not).
    fn known_parties(&self) -> Vec<String> {
        let mut parties = Vec::new();
        for id in ["P1", "P2", "D1", "D2", "R1", "R2", "S1", "X"] {
            parties.push(format!("partner:{id}"));
        }
        for id in ["C1", "C2", "C3", "C4", "CR", "X"] {
            parties.push(format!("customer:{id}"));
        }
        parties
    }

    /// A standard cast: distributor D1 with reseller R1, distributor D2, solution provider S1;
    /// resale customers C1 (of D1), C2 (of R1), C3 (of S1); referral customer CR (of D1);
    /// unassociated C4. D1, D2, S1 recharged with 10000.00; R1 allocated 1000.00 by D1.
    pub fn with_cast() -> Fixture {
        let fixture = Fixture::new();
        let platform = |op: Value| fixture.ok(op);
        let mut n = 0;
        let mut id = || {
            n += 1;
            format!("setup-{n}")
        };
        platform(json!({"op": "register_partner", "id": id(), "actor": "platform", "partner": "D1", "kind": "distributor"}));
        platform(json!({"op": "register_partner", "id": id(), "actor": "platform", "partner": "D2", "kind": "distributor"}));
        platform(json!({"op": "register_partner", "id": id(), "actor": "platform", "partner": "R1", "kind": "reseller", "parent": "D1"}));
        platform(json!({"op": "register_partner", "id": id(), "actor": "platform", "partner": "S1", "kind": "solution_provider"}));
        platform(json!({"op": "register_customer", "id": id(), "actor": "platform", "customer": "C1", "partner": "D1"}));
        platform(json!({"op": "register_customer", "id": id(), "actor": "platform", "customer": "C2", "partner": "R1"}));
        platform(json!({"op": "register_customer", "id": id(), "actor": "platform", "customer": "C3", "partner": "S1"}));
        platform(
            json!({"op": "register_customer", "id": id(), "actor": "platform", "customer": "CR", "partner": "D1", "association": "referral"}),
        );
        platform(json!({"op": "register_customer", "id": id(), "actor": "platform", "customer": "C4"}));
        for partner in ["D1", "D2", "S1"] {
            platform(json!({"op": "recharge", "id": id(), "actor": "platform", "party": format!("partner:{partner}"), "amount": "10000"}));
        }
        platform(json!({"op": "allocate", "id": id(), "actor": "partner:D1", "to": "partner:R1", "amount": "1000"}));
        fixture
    }

    /// The balance result of `party`, read by the platform.
    pub fn balance(&self, party: &str) -> Value {
        self.ok(json!({"op": "balance", "actor": "platform", "party": party}))
    }

    /// `cash` of `party` as a string.
    pub fn cash(&self, party: &str) -> String {
        self.balance(party)["cash"].as_str().expect("cash").to_owned()
    }

    /// `allocated` of customer `party` as a string.
    pub fn allocated(&self, party: &str) -> String {
        self.balance(party)["allocated"].as_str().expect("allocated").to_owned()
    }
}

/// Every mutating command of SPEC 3.
pub const COMMANDS: [&str; 37] = [
    "register_partner",
    "register_customer",
    "associate",
    "unbind",
    "switch_association",
    "recharge",
    "allocate",
    "recover",
    "set_credit_limit",
    "repay_credit",
    "adjust",
    "issue_quota",
    "reclaim_quota",
    "whitelist_customer",
    "issue_coupon",
    "reclaim_coupon",
    "expire_coupons",
    "grant_discount",
    "revoke_discount",
    "place_order",
    "place_combined_order",
    "pay_order",
    "cancel_order",
    "unsubscribe",
    "consume",
    "request_withdrawal",
    "approve_withdrawal",
    "reject_withdrawal",
    "delete_withdrawal",
    "request_invoice",
    "return_invoice",
    "register_operator",
    "set_operator_roles",
    "assign_customer_manager",
    "request_partner_payment",
    "reject_partner_payment",
    "atomic",
];
/// Every query of SPEC 4.
pub const QUERIES: [&str; 16] = [
    "balance",
    "adjust_records",
    "statement",
    "order",
    "orders",
    "bills",
    "invoiceable",
    "invoice",
    "withdrawals",
    "consumption_summary",
    "customers",
    "resellers",
    "quotas",
    "coupons",
    "coupon_records",
    "operators",
];
