//! partner-ledger: an embedded, transactional, double-entry ledger for a cloud partner sales
//! platform — the platform, its partners (solution providers, distributors, resellers) and their
//! customers.
//!
//! Every movement of value is one balanced double-entry transaction, committed atomically and
//! durably in a single redb file, chained to its predecessor by a SHA-256 hash. Commands arrive as
//! typed [`Request`]s or as JSON lines (see `docs/protocol.md` and SPEC.md).
//!
//! ```
//! use partner_ledger::Ledger;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let ledger = Ledger::open(dir.path().join("books.redb")).unwrap();
//! for line in [
//!     r#"{"op":"register_partner","id":"r1","actor":"platform","partner":"P1","kind":"solution_provider"}"#,
//!     r#"{"op":"register_customer","id":"r2","actor":"partner:P1","customer":"C1","partner":"P1"}"#,
//!     r#"{"op":"recharge","id":"r3","actor":"platform","party":"partner:P1","amount":"1000"}"#,
//!     r#"{"op":"allocate","id":"r4","actor":"partner:P1","to":"customer:C1","amount":"250.50"}"#,
//! ] {
//!     assert!(ledger.execute_line(line).is_ok());
//! }
//! let balance = ledger.execute_line(r#"{"op":"balance","actor":"partner:P1","party":"customer:C1"}"#);
//! // The partner's funds are the customer's `allocated`; its own `cash` stays its own.
//! assert_eq!(balance.to_json()["result"]["allocated"], "250.50");
//! assert_eq!(balance.to_json()["result"]["cash"], "0.00");
//! // Overspending is refused and changes nothing.
//! let refused = ledger.execute_line(r#"{"op":"allocate","id":"r5","actor":"partner:P1","to":"customer:C1","amount":"800"}"#);
//! assert_eq!(refused.rejection().unwrap().code.name(), "insufficient_funds");
//! assert_eq!(ledger.verify().unwrap().transactions, 4);
//! ```
//!
//! A Rust service need not write JSON: requests are typed values, checked exactly as decoded
//! lines are.
//!
//! ```
//! use partner_ledger::{Amount, Command, ErrorCode, Id, Ledger, Outcome, PartnerKind, Party, Request, Timestamp};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let ledger = Ledger::open(dir.path().join("books.redb"))?;
//! let p1 = Party::Partner(Id::party("P1")?);
//! let register = Command::RegisterPartner { partner: Id::party("P1")?, kind: PartnerKind::Distributor, parent: None };
//! let recharge = Command::Recharge { party: p1.clone(), amount: Amount::parse_positive("1000")? };
//! let at = Timestamp::parse("2026-11-01T08:00:00Z")?;
//! for (id, command) in [("r1", register), ("r2", recharge)] {
//!     let response = ledger.execute(&Request::command(Id::new(id)?, Party::Platform, command).at(at));
//!     assert!(response.is_ok(), "{}", response.to_line());
//! }
//! // A negative amount built in Rust is refused like "-5" in a JSON line.
//! let bad = Command::Recharge { party: p1, amount: Amount::from_minor(-500) };
//! let refused = ledger.execute(&Request::command(Id::new("r3")?, Party::Platform, bad));
//! assert_eq!(refused.rejection().map(|rejection| rejection.code), Some(ErrorCode::InvalidAmount));
//! assert!(matches!(ledger.execute(&Request::command(Id::new("r2")?, Party::Platform,
//!     Command::Recharge { party: Party::Partner(Id::party("P1")?), amount: Amount::from_minor(100_000) }).at(at)).outcome(),
//!     Some(Outcome::Funded { .. })));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod amount;
mod audit;
#[cfg(feature = "cluster")]
pub mod cluster;
mod domain;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod id;
mod journal;
mod ledger;
mod protocol;
mod query;
mod store;
mod time;

pub use amount::{AMOUNT_INPUT_LIMIT_MINOR, Amount, AmountError, Overflow, Ratio};
pub use audit::{VerifyError, VerifyReport, verify_store as verify};
pub use domain::RequestEntry;
pub use domain::matching::{InvoiceItem, Matched, match_invoice, remaining_after};
pub use domain::records::{
    Bill, BillType, COMBINED_ORDERS_MAX, COMBINED_ORDERS_MIN, COUPON_SERVICES_MAX, Combined, Coupon, CouponEnd, CouponKind, CouponStatus,
    Discount, Invoice, InvoiceStatus, Order, OrderKind, OrderStatus, PAY_DEADLINE_DAYS, PAYMENT_COUPONS_MAX, PartnerPaymentStatus, Payment,
    Quota, QuotaSource, QuotaStatus, Record, Validity, Withdrawal, WithdrawalStatus,
};
pub use domain::validate;
pub use domain::{
    ATOMIC_COMMANDS_MAX, AdjustOperation, AdjustRecord, Association, AssociationKind, Command, Direction, Effects, Head, InvoiceBasis,
    ManagerAssignment, OperatorRole, OrderLine, Outcome, PartnerKind, PartyRecord, PayerKind, Role, TEXT_LENGTH_MAX, Transaction,
    fingerprint,
};
pub use error::{ErrorCode, Rejection};
pub use id::{ID_LENGTH_MAX, Id, IdError, Party};
pub use journal::{Account, AccountKind, Asset, ChainHash, Posting, hex};
pub use ledger::{BATCH_COMMANDS_MAX, CHECKPOINT_TRANSACTIONS, Commit, CommitStats, Ledger, OpenError, ReplicaError, Replicator};
pub use protocol::{
    Body, CouponOperation, DecodeError, LINE_LENGTH_MAX, PAGE_LIMIT_MAX, Page, Query, Request, Response, StatementAccount, decode_line,
};
pub use store::keys::AccessKey;
pub use store::records::DecodeError as RecordDecodeError;
pub use store::{FORMAT_VERSION, Store, StoreError};
pub use time::{Clock, SystemClock, TimeError, Timestamp};

/// Record encodings, exposed so golden-byte tests and tools can pin and read them.
pub mod records {
    pub use crate::store::records::*;
}

/// Table definitions of the redb file, for tools and tamper tests.
pub mod tables {
    pub use crate::store::{ADJUST_RECORDS, BALANCES, JOURNAL, META, POSTINGS, RECORD_HISTORY, RECORD_INDEX, RECORDS, REQUESTS};
}
