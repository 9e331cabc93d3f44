//! Golden bytes: every stored record encoding, the account, party and record keys, and the table
//! names and types are pinned to hard-coded values, so a change that would stop old ledger files
//! from opening fails here first.
//!
//! The hex strings were produced by the encoders of this build and pasted in. Format 2 covers SPEC
//! v2 parts 1 and 2 (part 1: operators, customer managers, allocated funds, partner payments; part
//! 2: pickup vouchers, business discounts, invoices by cycles and bills, customer names and external
//! ids, registration and association times, issued quota amounts) and re-pinned every one of them:
//! no format-1 file was ever released, so format 2 replaced format 1 outright instead of adding
//! decoders for it, and a format-1 file is refused on opening. Part 2 re-pinned the hex of format 2
//! once more instead of adding a format 3, because no format-2 file was ever released either (parts
//! 1 and 2 land as one format). From now on the hex is never updated: if one of these tests fails,
//! the on-disk format changed, and the change needs a new record version (and a decoder for the old
//! one) or a new `FORMAT_VERSION`. Variants are appended only; a new variant of any enum the
//! journal stores must be pinned too (`every_variant_of_every_stored_enum_is_pinned` lists what is
//! missing), in a new golden body next to the old one.

use partner_ledger::records::{
    self, BALANCE_VARINT_VERSION, DecodeError, IndexedPosting, JOURNAL_LEAN_VERSION, LeanForm, POSTING_BLOCK_VERSION, RECORD_VERSION,
    REQUEST_RUN_LEAN_VERSION, account_key, decode_account_key, decode_adjust_run, decode_balance, decode_head, decode_journal,
    decode_journal_effects, decode_posting_block, decode_record, decode_request_run, encode_adjust_run, encode_balance, encode_head,
    encode_journal, encode_journal_lean, encode_posting_block, encode_record, encode_request_run, encode_transaction,
    encode_transaction_body, journal_hash, lean_form, posting_block_first_ordinal,
};
use partner_ledger::{
    Account, AccountKind, AdjustOperation, AdjustRecord, Amount, Association, AssociationKind, Bill, BillType, ChainHash, Clock, Combined,
    Command, Coupon, CouponEnd, CouponKind, Direction, Discount, Effects, FORMAT_VERSION, Head, Id, Invoice, InvoiceBasis, InvoiceStatus,
    Ledger, ManagerAssignment, Matched, OpenError, OperatorRole, Order, OrderKind, OrderLine, OrderStatus, Outcome, PartnerKind,
    PartnerPaymentStatus, Party, PartyRecord, PayerKind, Payment, Posting, Quota, QuotaSource, Ratio, Record, Role, Store, StoreError,
    Timestamp, Transaction, Validity, Withdrawal, WithdrawalStatus, fingerprint,
};
use redb::{ReadableDatabase, ReadableTable, TableHandle};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------------
// Helpers

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex digit")).collect()
}

/// Compares an encoding with its golden hex, printing the new hex so a reviewer sees the change.
fn assert_golden(what: &str, encoded: &[u8], golden: &str) {
    assert_eq!(hex(encoded), golden, "the encoding of {what} changed: old ledger files would no longer open");
}

/// Every strict prefix of a record and every other version byte must be refused with an error
/// naming the record, never a panic or a silently wrong value.
fn assert_refuses_corruption<T: std::fmt::Debug>(what: &str, golden: &str, decode: impl Fn(&[u8]) -> Result<T, DecodeError>) {
    let bytes = unhex(golden);
    assert_eq!(bytes[0], RECORD_VERSION, "{what}: golden record starts with the version byte");
    for length in 0..bytes.len() {
        let error = decode(&bytes[..length]).expect_err(&format!("{what} truncated to {length} bytes must not decode"));
        assert_eq!(error.what, what, "truncated to {length} bytes");
    }
    for version in (0..=u8::MAX).filter(|version| *version != RECORD_VERSION) {
        let mut wrong = bytes.clone();
        wrong[0] = version;
        let error = decode(&wrong).expect_err(&format!("{what} with version {version} must not decode"));
        assert_eq!(error.what, what);
        assert!(error.reason.contains("version"), "{what} version {version}: {}", error.reason);
    }
}

fn id(text: &str) -> Id {
    Id::new(text).expect("valid id")
}

fn partner(text: &str) -> Party {
    Party::Partner(Id::party(text).expect("valid party id"))
}

fn customer(text: &str) -> Party {
    Party::Customer(Id::party(text).expect("valid party id"))
}

fn operator(text: &str) -> Party {
    Party::Operator(Id::party(text).expect("valid party id"))
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("valid time")
}

fn money(minor: i128) -> Amount {
    Amount::from_minor(minor)
}

fn ratio(hundredths: u8) -> Ratio {
    Ratio::from_hundredths(hundredths).expect("a ratio from 0.01 to 1")
}

fn posting(account: Account, minor: i128, part: u16) -> Posting {
    Posting { account, amount: money(minor), part }
}

/// 32 bytes counting up from `start`, so a misplaced hash or fingerprint shows in the hex.
fn pattern(start: u8) -> [u8; 32] {
    std::array::from_fn(|index| start.wrapping_add(index as u8))
}

/// The first half of 2026 in UTC+8, the billing time zone.
fn first_half_of_2026() -> Validity {
    Validity { valid_from: at("2026-01-01T00:00:00+08:00"), valid_until: at("2026-07-01T00:00:00+08:00") }
}

// ---------------------------------------------------------------------------------------------
// Fixed values

/// A reseller with its parent distributor, registered on 1 December 2025 (UTC+8).
fn reseller_record() -> PartyRecord {
    PartyRecord {
        role: Role::Partner { kind: PartnerKind::Reseller, parent: Some(id("D1")) },
        credit_limit: money(500_000),
        held: money(0),
        registered_at: at("2025-12-01T09:00:00+08:00"),
        seq: 3,
    }
}

/// A whitelisted referral customer with a credit limit and held cash, registered in December with
/// its (Chinese) name and its partner platform's account id, associated with D1 on 2 January, whose
/// customer manager changes from OP-1 to OP-2 at the start of 6 January 2026 (UTC+8).
fn customer_record() -> PartyRecord {
    PartyRecord {
        role: Role::Customer {
            association: Some(Association { partner: id("D1"), kind: AssociationKind::Referral, at: at("2026-01-02T14:30:00+08:00") }),
            whitelisted: true,
            manager: Some(ManagerAssignment {
                previous: Some(id("OP-1")),
                current: Some(id("OP-2")),
                from: at("2026-01-06T00:00:00+08:00"),
            }),
            name: Some("杭州云帆科技有限公司".to_owned()),
            external_id: Some(id("HW-0081234567")),
        },
        credit_limit: money(10_000),
        held: money(1_250),
        registered_at: at("2025-12-28T10:15:00+08:00"),
        seq: 5,
    }
}

/// A customer of nobody, without a name or external id, off any whitelist, never managed.
fn unassociated_record() -> PartyRecord {
    PartyRecord {
        role: Role::Customer { association: None, whitelisted: false, manager: None, name: None, external_id: None },
        credit_limit: Amount::ZERO,
        held: Amount::ZERO,
        registered_at: at("2026-01-03T08:00:00Z"),
        seq: 6,
    }
}

/// Distributor D1's operator with the finance and customer-manager roles (operators own no
/// accounts: no credit limit, nothing held).
fn operator_record() -> PartyRecord {
    PartyRecord {
        role: Role::Operator { partner: id("D1"), roles: vec![OperatorRole::Finance, OperatorRole::CustomerManager] },
        credit_limit: Amount::ZERO,
        held: Amount::ZERO,
        registered_at: at("2026-01-04T09:00:00+08:00"),
        seq: 8,
    }
}

/// Reseller R1's voucher quota of 20 000.00, carved from its distributor's quota.
fn quota() -> Quota {
    Quota {
        owner: id("R1"),
        kind: CouponKind::Voucher,
        validity: first_half_of_2026(),
        source: QuotaSource::Quota(id("Q-2026.01")),
        reclaimed: false,
        amount: money(2_000_000),
        seq: 12,
    }
}

/// A 500.00 voucher of customer C1 for two services, issued by D1 for February to April.
fn coupon() -> Coupon {
    Coupon {
        customer: id("C1"),
        quota: id("Q-2026.01"),
        issuer: id("D1"),
        kind: CouponKind::Voucher,
        face_value: money(50_000),
        validity: Validity { valid_from: at("2026-02-01T00:00:00+08:00"), valid_until: at("2026-05-01T00:00:00+08:00") },
        services: Some(vec![id("ecs"), id("rds")]),
        ratio: None,
        order_kinds: None,
        end: CouponEnd::Live,
        seq: 13,
    }
}

/// A 3 000.00 pickup voucher of resale customer C3 for ECS, issued by D1 for the first half of 2026:
/// it pays at most 30% of each new or renewal order (not changes).
fn pickup_voucher() -> Coupon {
    Coupon {
        customer: id("C3"),
        quota: id("Q-PV-2026"),
        issuer: id("D1"),
        kind: CouponKind::PickupVoucher,
        face_value: money(300_000),
        validity: first_half_of_2026(),
        services: Some(vec![id("ecs")]),
        ratio: Some(ratio(30)),
        order_kinds: Some(vec![OrderKind::New, OrderKind::Renew]),
        end: CouponEnd::Live,
        seq: 21,
    }
}

/// A 1 200.00 renewal, member of combined order G-1, paid in full (no discount: coupons and a
/// discount never mix) by the customer with coupon, the funds D1 allocated to it, cash and credit,
/// after D1 declined to pay it (the rejection stays shown, with the partner that was asked).
fn order() -> Order {
    Order {
        customer: id("C1"),
        combined: Some(id("G-1")),
        kind: OrderKind::Renew,
        service: Some(id("ecs")),
        amount: money(120_000),
        status: OrderStatus::Paid,
        pay_deadline: at("2026-01-12T10:00:00Z"),
        payer: Some(customer("C1")),
        paid: Payment {
            due: money(120_000),
            discount: Amount::ZERO,
            coupon: money(50_000),
            allocated: money(30_000),
            cash: money(30_000),
            credit: money(10_000),
        },
        allocated_partner: Some(id("D1")),
        partner_payment: Some(PartnerPaymentStatus::Rejected),
        asked_partner: Some(id("D1")),
        refunded: Amount::ZERO,
        at: at("2026-01-05T10:00:00Z"),
        seq: 14,
    }
}

/// An 800.00 new order of customer C2, unpaid, whose payment C2 asked its partner D1 for.
fn awaiting_partner_order() -> Order {
    Order {
        customer: id("C2"),
        combined: None,
        kind: OrderKind::New,
        service: Some(id("rds")),
        amount: money(80_000),
        status: OrderStatus::PendingPayment,
        pay_deadline: at("2026-01-27T09:00:00Z"),
        payer: None,
        paid: Payment::default(),
        allocated_partner: None,
        partner_payment: Some(PartnerPaymentStatus::Requested),
        asked_partner: Some(id("D1")),
        refunded: Amount::ZERO,
        at: at("2026-01-20T09:00:00Z"),
        seq: 19,
    }
}

/// A 999.99 new ECS order of resale customer C3 paid with its 15% business discount: 149.99 off
/// (`floor_fen(999.99 × 0.15)`), 850.00 due, paid from the funds D1 allocated to it and its own cash.
fn discounted_order() -> Order {
    Order {
        customer: id("C3"),
        combined: None,
        kind: OrderKind::New,
        service: Some(id("ecs")),
        amount: money(99_999),
        status: OrderStatus::Paid,
        pay_deadline: at("2026-02-10T16:00:00Z"),
        payer: Some(customer("C3")),
        paid: Payment {
            due: money(85_000),
            discount: money(14_999),
            coupon: Amount::ZERO,
            allocated: money(60_000),
            cash: money(25_000),
            credit: Amount::ZERO,
        },
        allocated_partner: Some(id("D1")),
        partner_payment: None,
        asked_partner: None,
        refunded: Amount::ZERO,
        at: at("2026-02-03T16:00:00Z"),
        seq: 23,
    }
}

/// Customer C3's 15% business discount on ECS and RDS for the first half of 2026.
fn discount() -> Discount {
    Discount {
        customer: id("C3"),
        ratio: ratio(85),
        services: Some(vec![id("ecs"), id("rds")]),
        validity: first_half_of_2026(),
        revoked: false,
        seq: 22,
    }
}

/// Customer C1's combined order of two.
fn combined() -> Combined {
    Combined { customer: id("C1"), orders: vec![id("O-1001"), id("O-1002")], seq: 14 }
}

/// Usage of 12.34567891: 12.34 deducted (2.00 allocated, 8.00 cash, 2.00 credit, 0.34 debt),
/// 0.00567891 erased, 5.00 of it invoiced.
fn usage_bill() -> Bill {
    Bill {
        bill_type: BillType::Usage,
        at: at("2026-01-31T23:59:59.999+08:00"),
        customer: Some(id("C1")),
        payer: customer("C1"),
        order: None,
        amount: money(1_234),
        discount_amount: Amount::ZERO,
        coupon_amount: Amount::ZERO,
        allocated_amount: money(200),
        cash_amount: money(800),
        credit_amount: money(200),
        debt_amount: money(34),
        erase_amount: 567_891,
        invoice_owner: customer("C1"),
        invoiceable: money(1_234),
        invoiced: money(500),
        seq: 15,
    }
}

/// The refund of 300.00 on unsubscribing order O-1001: 100.00 back to `allocated`, 150.00 to
/// cash, 50.00 to credit.
fn refund_bill() -> Bill {
    Bill {
        bill_type: BillType::Refund,
        at: at("2026-02-10T08:30:00Z"),
        customer: Some(id("C1")),
        payer: customer("C1"),
        order: Some(id("O-1001")),
        amount: money(-30_000),
        discount_amount: Amount::ZERO,
        coupon_amount: Amount::ZERO,
        allocated_amount: money(-10_000),
        cash_amount: money(-15_000),
        credit_amount: money(-5_000),
        debt_amount: Amount::ZERO,
        erase_amount: 0,
        invoice_owner: customer("C1"),
        invoiceable: money(-30_000),
        invoiced: Amount::ZERO,
        seq: 16,
    }
}

/// Distributor D1 paid referral customer C2's 800.00 order (500.00 cash, 300.00 credit): the
/// customer, not the payer, may invoice it.
fn partner_paid_bill() -> Bill {
    Bill {
        bill_type: BillType::New,
        at: at("2026-01-21T15:45:00+08:00"),
        customer: Some(id("C2")),
        payer: partner("D1"),
        order: Some(id("O-2001")),
        amount: money(80_000),
        discount_amount: Amount::ZERO,
        coupon_amount: Amount::ZERO,
        allocated_amount: Amount::ZERO,
        cash_amount: money(50_000),
        credit_amount: money(30_000),
        debt_amount: Amount::ZERO,
        erase_amount: 0,
        invoice_owner: customer("C2"),
        invoiceable: money(80_000),
        invoiced: Amount::ZERO,
        seq: 20,
    }
}

/// The bill of the discounted order O-3001: 850.00 due after the 149.99 discount, all of it
/// invoiceable (600.00 allocated, 250.00 cash).
fn discounted_bill() -> Bill {
    Bill {
        bill_type: BillType::New,
        at: at("2026-02-04T09:20:00+08:00"),
        customer: Some(id("C3")),
        payer: customer("C3"),
        order: Some(id("O-3001")),
        amount: money(85_000),
        discount_amount: money(14_999),
        coupon_amount: Amount::ZERO,
        allocated_amount: money(60_000),
        cash_amount: money(25_000),
        credit_amount: Amount::ZERO,
        debt_amount: Amount::ZERO,
        erase_amount: 0,
        invoice_owner: customer("C3"),
        invoiceable: money(85_000),
        invoiced: Amount::ZERO,
        seq: 24,
    }
}

/// Distributor D1's rejected withdrawal of 500.00.
fn withdrawal() -> Withdrawal {
    Withdrawal {
        party: partner("D1"),
        amount: money(50_000),
        status: WithdrawalStatus::Rejected,
        reason: Some("bank account closed".to_owned()),
        at: at("2026-01-20T09:15:00Z"),
        seq: 17,
    }
}

/// Customer C1's 400.00 invoice: the refund of O-1001 first, then the 700.00 of O-1001 paid in
/// money (allocated, cash and credit; its coupon part is not invoiceable).
fn invoice() -> Invoice {
    Invoice {
        party: customer("C1"),
        amount: money(40_000),
        status: InvoiceStatus::Issued,
        matched: vec![Matched { bill: id("O-1001:refund"), amount: money(-30_000) }, Matched { bill: id("O-1001"), amount: money(70_000) }],
        at: at("2026-02-15T11:00:00+08:00"),
        seq: 18,
    }
}

fn allocate_record() -> AdjustRecord {
    AdjustRecord {
        operation: AdjustOperation::Allocate,
        partner: id("D1"),
        target: customer("C1"),
        amount: money(25_050),
        memo: Some("January budget".to_owned()),
    }
}

/// An atomic group by distributor D1: allocate 250.50 from its cash to customer C1's `allocated`
/// with a memo, and set C1's credit limit. The CPN legs (quota → coupon) pin the encoding of the
/// `Quota` and `Coupon` account kinds next to the money legs.
fn realistic_transaction() -> Transaction {
    let d1 = partner("D1");
    let c1 = customer("C1");
    Transaction {
        seq: 7,
        at: at("2026-01-05T10:00:00Z"),
        request: id("req-7"),
        actor: d1.clone(),
        command: Command::Atomic {
            commands: vec![
                Command::Allocate {
                    partner: Some(id("D1")),
                    to: c1.clone(),
                    amount: money(25_050),
                    memo: Some("January budget".to_owned()),
                },
                Command::SetCreditLimit { party: c1.clone(), limit: money(10_000) },
            ],
        },
        fingerprint: pattern(0x40),
        effects: Effects {
            postings: vec![
                posting(Account::cash(&d1), -25_050, 0),
                posting(Account::allocated(&c1), 25_050, 0),
                posting(Account::new(d1.clone(), AccountKind::Quota(id("Q-2026.01"))), -1_000, 0),
                posting(Account::new(c1.clone(), AccountKind::Coupon(id("K:1"))), 1_000, 0),
            ],
            records: vec![Record::Party(c1, customer_record())],
            adjust_records: vec![allocate_record()],
            outcome: Outcome::Atomic(vec![Outcome::Transfer(id("req-7")), Outcome::CreditLimit(money(10_000))]),
        },
        prev_hash: pattern(0xa0),
    }
}

/// Not a transaction the rules would produce: one of every command, account kind, outcome, record
/// and enum value, so that reordering or inserting a variant anywhere changes these bytes.
fn every_variant_transaction() -> Transaction {
    let (platform, d1, c1) = (Party::Platform, partner("D1"), customer("C1"));
    let window = first_half_of_2026();
    let commands = vec![
        Command::RegisterPartner { partner: id("S1"), kind: PartnerKind::SolutionProvider, parent: None },
        Command::RegisterPartner { partner: id("D1"), kind: PartnerKind::Distributor, parent: None },
        Command::RegisterPartner { partner: id("R1"), kind: PartnerKind::Reseller, parent: Some(id("D1")) },
        Command::RegisterCustomer { customer: id("C0"), partner: None, association: None, name: None, external_id: None },
        Command::RegisterCustomer {
            customer: id("C1"),
            partner: Some(id("D1")),
            association: Some(AssociationKind::Resale),
            name: Some("云帆".to_owned()),
            external_id: Some(id("HW-1")),
        },
        Command::Associate { customer: id("C2"), partner: id("D1"), association: AssociationKind::Referral },
        Command::Recharge { party: d1.clone(), amount: money(100_000) },
        Command::Allocate { partner: None, to: c1.clone(), amount: money(1), memo: None },
        Command::Recover { partner: Some(id("D1")), from: c1.clone(), amount: money(2), memo: Some("back".to_owned()) },
        Command::SetCreditLimit { party: c1.clone(), limit: Amount::ZERO },
        Command::RepayCredit { party: c1.clone(), amount: money(3) },
        Command::Adjust { party: c1.clone(), direction: Direction::Compensate, amount: money(4), reason: "outage".to_owned() },
        Command::Adjust { party: c1.clone(), direction: Direction::Deduct, amount: money(5), reason: "fix".to_owned() },
        Command::Atomic { commands: vec![] },
        Command::IssueQuota {
            quota: id("Q1"),
            partner: id("D1"),
            kind: CouponKind::Voucher,
            amount: money(6),
            valid_from: Some(window.valid_from),
            valid_until: Some(window.valid_until),
            from_quota: None,
        },
        Command::IssueQuota {
            quota: id("Q2"),
            partner: id("R1"),
            kind: CouponKind::CashCoupon,
            amount: money(7),
            valid_from: None,
            valid_until: None,
            from_quota: Some(id("Q1")),
        },
        Command::IssueQuota {
            quota: id("Q3"),
            partner: id("R1"),
            kind: CouponKind::PickupVoucher,
            amount: money(36),
            valid_from: None,
            valid_until: Some(window.valid_until),
            from_quota: Some(id("Q1")),
        },
        Command::ReclaimQuota { quota: id("Q2") },
        Command::WhitelistCustomer { customer: id("C1") },
        Command::IssueCoupon {
            coupon: id("K1"),
            quota: id("Q1"),
            customer: id("C1"),
            face_value: money(8),
            valid_from: Some(window.valid_from),
            valid_until: None,
            services: Some(vec![id("ecs")]),
            ratio: None,
            order_kinds: None,
        },
        Command::IssueCoupon {
            coupon: id("K2"),
            quota: id("Q3"),
            customer: id("C1"),
            face_value: money(37),
            valid_from: None,
            valid_until: Some(window.valid_until),
            services: None,
            ratio: Some(ratio(50)),
            order_kinds: Some(vec![OrderKind::New, OrderKind::Renew, OrderKind::Change]),
        },
        Command::ReclaimCoupon { coupon: id("K1") },
        Command::ExpireCoupons,
        Command::PlaceOrder {
            order: id("O1"),
            customer: id("C1"),
            amount: money(9),
            kind: OrderKind::New,
            service: Some(id("ecs")),
            pay_deadline: Some(window.valid_until),
        },
        Command::PlaceCombinedOrder {
            combined: id("G1"),
            customer: id("C1"),
            orders: vec![
                OrderLine { order: id("O2"), amount: money(10), kind: OrderKind::Renew, service: None },
                OrderLine { order: id("O3"), amount: money(11), kind: OrderKind::Change, service: Some(id("rds")) },
            ],
        },
        Command::PayOrder { order: id("O1"), coupons: vec![id("K1"), id("K2")], discount: None, payer: PayerKind::Customer },
        Command::PayOrder { order: id("G1"), coupons: vec![], discount: None, payer: PayerKind::Partner },
        Command::PayOrder { order: id("O5"), coupons: vec![], discount: Some(id("DC1")), payer: PayerKind::Customer },
        Command::CancelOrder { order: id("O4") },
        Command::Unsubscribe { order: id("O1"), refund: money(12) },
        Command::Consume { customer: id("C1"), amount: money(13), erase: 999_999, service: Some(id("ecs")) },
        Command::RequestWithdrawal { withdrawal: id("W1"), party: d1.clone(), amount: money(14) },
        Command::ApproveWithdrawal { withdrawal: id("W1") },
        Command::RejectWithdrawal { withdrawal: id("W2"), reason: "no".to_owned() },
        Command::DeleteWithdrawal { withdrawal: id("W2") },
        Command::Unbind { customer: id("C1") },
        Command::SwitchAssociation { customer: id("C2"), association: AssociationKind::Resale },
        Command::RequestInvoice { invoice: id("I1"), party: c1.clone(), basis: InvoiceBasis::Amount(money(28)) },
        Command::RequestInvoice {
            invoice: id("I2"),
            party: c1.clone(),
            basis: InvoiceBasis::Cycles(vec!["2026-01".to_owned(), "2026-02".to_owned()]),
        },
        Command::RequestInvoice { invoice: id("I3"), party: d1.clone(), basis: InvoiceBasis::Bills(vec![id("B1"), id("O1:refund")]) },
        Command::ReturnInvoice { invoice: id("I1") },
        Command::RegisterOperator {
            operator: id("OP1"),
            partner: id("D1"),
            roles: vec![OperatorRole::Admin, OperatorRole::Finance, OperatorRole::CustomerManager],
        },
        Command::SetOperatorRoles { operator: id("OP1"), roles: vec![] },
        Command::AssignCustomerManager { customer: id("C1"), operator: Some(id("OP1")) },
        Command::AssignCustomerManager { customer: id("C1"), operator: None },
        Command::RequestPartnerPayment { order: id("O1") },
        Command::RejectPartnerPayment { order: id("G1"), reason: "over budget".to_owned() },
        Command::GrantDiscount {
            discount: id("DC1"),
            customer: id("C1"),
            ratio: ratio(85),
            services: Some(vec![id("ecs"), id("rds")]),
            validity: window,
        },
        Command::GrantDiscount { discount: id("DC2"), customer: id("C1"), ratio: Ratio::ONE, services: None, validity: window },
        Command::RevokeDiscount { discount: id("DC1") },
    ];
    let postings = vec![
        posting(Account::platform(AccountKind::Bank), -1, 0),
        posting(Account::platform(AccountKind::Revenue), 1, 1),
        posting(Account::platform(AccountKind::CouponIssuance), -2, 2),
        posting(Account::platform(AccountKind::CouponRedeemed), 3, 3),
        posting(Account::platform(AccountKind::CouponExpired), -1, 4),
        posting(Account::cash(&d1), 1, 5),
        posting(Account::credit(&d1), -1, 6),
        posting(Account::new(d1.clone(), AccountKind::Quota(id("Q1"))), 1, 7),
        posting(Account::cash(&c1), i128::MAX, 8),
        posting(Account::credit(&c1), i128::MIN, 9),
        posting(Account::arrears(&c1), -1, 10),
        posting(Account::new(c1.clone(), AccountKind::Coupon(id("K1"))), 1, u16::MAX),
        posting(Account::allocated(&c1), 2, 11),
    ];
    let payment =
        Payment { due: money(79), discount: money(38), coupon: money(15), allocated: money(31), cash: money(16), credit: money(17) };
    let mut outcomes = vec![
        Outcome::PartnerRegistered(id("S1")),
        Outcome::CustomerRegistered(id("C0")),
        Outcome::Associated { customer: id("C2"), partner: id("D1"), association: AssociationKind::Referral },
        Outcome::Funded { arrears_repaid: money(6), cash: money(7) },
        Outcome::Transfer(id("t1")),
        Outcome::CreditLimit(money(8)),
        Outcome::CreditRepaid(money(9)),
        Outcome::Deducted(money(10)),
        Outcome::Atomic(vec![]),
        Outcome::QuotaIssued(id("Q1")),
        Outcome::QuotaReclaimed { quota: id("Q2"), amount: money(18) },
        Outcome::CouponReclaimed { coupon: id("K1"), amount: money(19) },
        Outcome::Whitelisted(id("C1")),
        Outcome::CouponIssued(id("K1")),
        Outcome::CouponsExpired { coupons: vec![id("K2"), id("K3")], amount: money(20) },
        Outcome::OrdersPlaced { combined: Some(id("G1")), orders: vec![id("O2"), id("O3")], pay_deadline: window.valid_until },
        Outcome::OrdersPlaced { combined: None, orders: vec![id("O1")], pay_deadline: window.valid_from },
        Outcome::Paid(vec![(id("O1"), payment), (id("O2"), Payment::default())]),
        Outcome::Cancelled(vec![id("O4")]),
        Outcome::Refunded { credit: money(21), allocated: money(32), partner: money(33), cash: money(22) },
        Outcome::Consumed {
            bill: id("u1"),
            deducted: money(23),
            erase: -1,
            coupon: money(34),
            allocated: money(35),
            cash: money(24),
            credit: money(25),
            debt: money(26),
        },
    ];
    outcomes.extend(
        [WithdrawalStatus::Pending, WithdrawalStatus::Approved, WithdrawalStatus::Rejected, WithdrawalStatus::Deleted]
            .into_iter()
            .map(|status| Outcome::Withdrawal { withdrawal: id("W1"), status }),
    );
    outcomes.extend([
        Outcome::AssociationChanged { customer: id("C1"), association: None, allocated: money(27), coupons: vec![id("K1")] },
        Outcome::AssociationChanged {
            customer: id("C2"),
            association: Some(AssociationKind::Resale),
            allocated: Amount::ZERO,
            coupons: vec![],
        },
        Outcome::Invoiced {
            invoice: id("I1"),
            matched: vec![Matched { bill: id("B1"), amount: money(-29) }, Matched { bill: id("B2"), amount: money(30) }],
        },
        Outcome::InvoiceReturned(id("I1")),
        Outcome::OperatorRegistered(id("OP1")),
        Outcome::OperatorRoles { operator: id("OP1"), roles: vec![OperatorRole::Admin, OperatorRole::CustomerManager] },
        Outcome::ManagerAssigned { customer: id("C1"), operator: Some(id("OP1")), from: at("2026-01-02T00:00:00+08:00") },
        Outcome::ManagerAssigned { customer: id("C1"), operator: None, from: Timestamp::from_millis(i64::MAX) },
    ]);
    outcomes.extend([PartnerPaymentStatus::Requested, PartnerPaymentStatus::Rejected].into_iter().map(|status| Outcome::PartnerPayment {
        order: id("G1"),
        orders: vec![id("O2"), id("O3")],
        status,
    }));
    outcomes.extend([Outcome::DiscountGranted(id("DC1")), Outcome::DiscountRevoked(id("DC1"))]);
    let mut records = vec![
        Record::Party(partner("R1"), reseller_record()),
        Record::Party(c1.clone(), customer_record()),
        Record::Party(customer("C0"), unassociated_record()),
        Record::Party(operator("OP1"), operator_record()),
        Record::Party(
            operator("OP2"),
            PartyRecord { role: Role::Operator { partner: id("R1"), roles: vec![OperatorRole::Admin] }, ..operator_record() },
        ),
        Record::Party(
            customer("C2"),
            PartyRecord {
                role: Role::Customer {
                    association: None,
                    whitelisted: false,
                    manager: Some(ManagerAssignment { previous: None, current: None, from: Timestamp::from_millis(0) }),
                    name: None,
                    external_id: Some(id("HW-2")),
                },
                ..unassociated_record()
            },
        ),
        Record::Quota(
            id("Q1"),
            Quota { owner: id("D1"), kind: CouponKind::CashCoupon, source: QuotaSource::Platform, reclaimed: true, ..quota() },
        ),
        Record::Quota(id("Q2"), quota()),
        Record::Quota(id("Q3"), Quota { kind: CouponKind::PickupVoucher, amount: money(36), ..quota() }),
    ];
    records.extend(
        [CouponEnd::Live, CouponEnd::Reclaimed, CouponEnd::Expired]
            .into_iter()
            .map(|end| Record::Coupon(id("K1"), Coupon { end, services: None, ..coupon() })),
    );
    records.push(Record::Coupon(id("K2"), Coupon { customer: id("C1"), order_kinds: Some(vec![OrderKind::Change]), ..pickup_voucher() }));
    records.extend(
        [
            (OrderStatus::PendingPayment, Some(PartnerPaymentStatus::Requested)),
            (OrderStatus::Paid, Some(PartnerPaymentStatus::Rejected)),
            (OrderStatus::Cancelled, None),
            (OrderStatus::Unsubscribed, None),
        ]
        .into_iter()
        .map(|(status, partner_payment)| {
            let order = Order { status, combined: None, service: None, payer: None, allocated_partner: None, partner_payment, ..order() };
            Record::Order(id("O1"), order)
        }),
    );
    records.push(Record::Order(id("O5"), discounted_order()));
    records.push(Record::Combined(id("G1"), combined()));
    records.extend(
        [BillType::New, BillType::Renew, BillType::Change, BillType::Refund, BillType::Usage, BillType::Compensation, BillType::Deduction]
            .into_iter()
            .map(|bill_type| Record::Bill(id("B1"), Bill { bill_type, customer: None, payer: partner("D1"), ..refund_bill() })),
    );
    records.push(Record::Bill(id("O5"), discounted_bill()));
    records.push(Record::Withdrawal(id("W1"), Withdrawal { reason: None, ..withdrawal() }));
    records.extend(
        [InvoiceStatus::Issued, InvoiceStatus::Returned]
            .into_iter()
            .map(|status| Record::Invoice(id("I1"), Invoice { status, party: partner("D1"), matched: vec![], ..invoice() })),
    );
    records.extend(
        [false, true]
            .into_iter()
            .map(|revoked| Record::Discount(id("DC1"), Discount { customer: id("C1"), services: None, revoked, ..discount() })),
    );
    let adjust_records =
        [AdjustOperation::Allocate, AdjustOperation::Recover, AdjustOperation::UnbindReclaim, AdjustOperation::RefundReclaim]
            .into_iter()
            .map(|operation| AdjustRecord { operation, partner: id("D1"), target: partner("R1"), amount: money(11), memo: None })
            .collect();
    Transaction {
        seq: u64::MAX,
        at: Timestamp::from_millis(i64::MIN),
        request: id("every.variant:1"),
        actor: platform,
        command: Command::Atomic { commands },
        fingerprint: [0xff; 32],
        effects: Effects { postings, records, adjust_records, outcome: Outcome::Atomic(outcomes) },
        prev_hash: [0; 32],
    }
}

// ---------------------------------------------------------------------------------------------
// Golden hex of format 2, produced by this build's encoders

const REALISTIC_BODY: &str = "0780a4cbd9f166057265712d37010244310902040102443102024331b48703010e4a616e75617279206275646765740602024331a09c01404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f040102443105b3870300020243310ab4870300010244310809512d323032362e3031cf0f000202433109034b3a31d00f0001000202433101010244310180c9b0d6ef66010101044f502d3101044f502d32808098eef166011ee69dade5b79ee4ba91e5b886e7a791e68a80e69c89e99990e585ace58fb8010d48572d30303831323334353637a09c01c413c0c2e6abec6605010002443102024331b48703010e4a616e7561727920627564676574080204057265712d3705a09c01a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
const REALISTIC_LEAN_JOURNAL: &str = "0246d86ef31a88c0887d950ed660dbddba4aa84cc6bcad4f99f247b38cdf6caa270980a4cbd9f166057265712d37010244310902040102443102024331b48703010e4a616e75617279206275646765740602024331a09c01040102443105b3870300020243310ab4870300010244310809512d323032362e3031cf0f000202433109034b3a31d00f0001000202433101010244310180c9b0d6ef66010101044f502d3101044f502d32808098eef166011ee69dade5b79ee4ba91e5b886e7a791e68a80e69c89e99990e585ace58fb8010d48572d30303831323334353637a09c01c413c0c2e6abec6605010002443102024331b48703010e4a616e7561727920627564676574080204057265712d3705a09c01";
/// The same record as formats 4 to 6 stored it, with its seq.
const REALISTIC_LEAN_JOURNAL_FORMAT_6: &str = "0246d86ef31a88c0887d950ed660dbddba4aa84cc6bcad4f99f247b38cdf6caa27010780a4cbd9f166057265712d37010244310902040102443102024331b48703010e4a616e75617279206275646765740602024331a09c01040102443105b3870300020243310ab4870300010244310809512d323032362e3031cf0f000202433109034b3a31d00f0001000202433101010244310180c9b0d6ef66010101044f502d3101044f502d32808098eef166011ee69dade5b79ee4ba91e5b886e7a791e68a80e69c89e99990e585ace58fb8010d48572d30303831323334353637a09c01c413c0c2e6abec6605010002443102024331b48703010e4a616e7561727920627564676574080204057265712d3705a09c01";
const REALISTIC_JOURNAL: &str = "0138421cccd5b6488fb1485a847dcb0c9098a43d653747c261da42a1520add0ba20780a4cbd9f166057265712d37010244310902040102443102024331b48703010e4a616e75617279206275646765740602024331a09c01404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f040102443105b3870300020243310ab4870300010244310809512d323032362e3031cf0f000202433109034b3a31d00f0001000202433101010244310180c9b0d6ef66010101044f502d3101044f502d32808098eef166011ee69dade5b79ee4ba91e5b886e7a791e68a80e69c89e99990e585ace58fb8010d48572d30303831323334353637a09c01c413c0c2e6abec6605010002443102024331b48703010e4a616e7561727920627564676574080204057265712d3705a09c01a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
const EVERY_VARIANT_BODY: &str = "ffffffffffffffffff01ffffffffffffffffff010f65766572792e76617269616e743a310009320002533100000002443101000002523102010244310102433000000000010243310102443101000106e4ba91e5b886010448572d3102024332024431010301024431c09a0c04000202433102000501024431020243310401046261636b06020243310007020243310608020243310008066f75746167650802024331010a0366697809000a025131024431000c0180d099d2ee660180809294e367000a025132025231010e0000010251310a0251330252310248000180809294e367010251310b0251320c0243310d024b31025131024331100180d099d2ee660001010365637300000d024b320251330243314a000180809294e36700013201030001020e024b310f10024f31024331120001036563730180809294e3671102473102433102024f32140100024f331602010372647312024f3102024b31024b3200001202473100000112024f350001034443310013024f3414024f3118150243311afe887a010365637316025731010244311c1702573118025732026e6f190257321a0243311b024332001c0249310202433100381c02493202024331010207323032362d303107323032362d30321c024933010244310202024231094f313a726566756e641d0249311e034f5031024431030001021f034f5031002002433101034f5031200243310021024f31220247310b6f766572206275646765742303444331024331550102036563730372647380d099d2ee6680809294e3672303444332024331640080d099d2ee6680809294e3672403444331ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0d00000100000102010002030200030603000401040102443105020501024431060106010244310802513102070202433105feffffffffffffffffffffffffffffffffff03080202433106ffffffffffffffffffffffffffffffffffff03090202433107010a0202433109024b3102ffff03020243310a040b200001025231000201024431c0843d0080cae3f6da6603000202433101010244310180c9b0d6ef66010101044f502d3101044f502d32808098eef166011ee69dade5b79ee4ba91e5b886e7a791e68a80e69c89e99990e585ace58fb8010d48572d30303831323334353637a09c01c413c0c2e6abec66050002024330010000000000000080d0f6adf066060003034f503102024431020102000080aaa5e8f066080003034f5032020252310100000080aaa5e8f0660800020243320100000100000000010448572d32000080d0f6adf06606010251310244310180d099d2ee6680809294e36700018092f4010c010251320252310080d099d2ee6680809294e3670109512d323032362e3031008092f4010c010251330252310280d099d2ee6680809294e3670109512d323032362e303100480c02024b3102433109512d323032362e303102443100a08d0680e0c2cc826780d0f2f1bb67000000000d02024b3102433109512d323032362e303102443100a08d0680e0c2cc826780d0f2f1bb67000000010d02024b3102433109512d323032362e303102443100a08d0680e0c2cc826780d0f2f1bb67000000020d02024b3202433109512d50562d3230323602443102c0cf2480d099d2ee6680809294e367010103656373011e010102001503024f3102433100010080d30e0080b4af9af6660080d30e00a08d06e0d403e0d403a09c01000100010244310080a4cbd9f1660e03024f3102433100010080d30e0180b4af9af6660080d30e00a08d06e0d403e0d403a09c01000101010244310080a4cbd9f1660e03024f3102433100010080d30e0280b4af9af6660080d30e00a08d06e0d403e0d403a09c010000010244310080a4cbd9f1660e03024f3102433100010080d30e0380b4af9af6660080d30e00a08d06e0d403e0d403a09c010000010244310080a4cbd9f1660e03024f3502433300000103656373be9a0c0180c0bf848967010202433390b00aaeea0100c0a907d08603000102443100000080b0dbc38467170402473102433102064f2d31303031064f2d313030320e050242310080cddfea8867000102443101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd4030010050242310180cddfea8867000102443101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd4030010050242310280cddfea8867000102443101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd4030010050242310380cddfea8867000102443101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd4030010050242310480cddfea8867000102443101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd4030010050242310580cddfea8867000102443101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd4030010050242310680cddfea8867000102443101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd403001005024f350080f8e0e38467010243330202433301064f2d3330303190b00aaeea0100c0a907d086030000000202433390b00a00180602573101024431a08d060200c0e8fcaafb6611070249310102443180f104000080feecf38b6712070249310102443180f104010080feecf38b67120803444331024331550080d099d2ee6680809294e36700160803444331024331550080d099d2ee6680809294e36701160400024431010252311600010244310102523116000202443101025231160003024431010252311600082500025331010243300202433202443101030c0e040274310510061207140800090251310a025132240b024b31260c0243310d024b310e02024b32024b33280f0102473102024f32024f3380809294e3670f0001024f3180d099d2ee661002024f319e014c1e3e2022024f320000000000001101024f34122a40422c130275312e014446303234140257310014025731011402573102140257310315024331003601024b3115024332010000001602493102024231390242323c1702493118034f503119034f50310200021a02433101034f503180c0cca4ef661a02433100feffffffffffffffff011b02473102024f32024f33001b02473102024f32024f33011c034443311d034443310000000000000000000000000000000000000000000000000000000000000000";
const BALANCE_POSITIVE: &str = "02b48703";
const BALANCE_NEGATIVE: &str = "02ffffffffc7faf6f48cc1e6c9e5a706";
const BALANCE_POSITIVE_FORMAT_6: &str = "01da610000000000000000000000000000";
const BALANCE_NEGATIVE_FORMAT_6: &str = "01000000c015128bb92f63d360f3ffffff";
const POSTING_BLOCK: &str = "020380897a00b38703020002d00f0501eb0e";
const POSTING_BLOCK_FORMAT_6: &str = "010380897af6a5cbd9f166030000b38703000002d00f000501eb0e8afac34b";
const REQUEST_RUN_LEAN: &str = "020203722d31070b7265713a323032362e303101";
const REQUEST_RUN: &str = "010203722d3107404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f0b7265713a323032362e303108808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
const HEAD: &str = "010700000000000000c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf0069998d9b010000";
const RECORD_RESELLER: &str = "010001025231000201024431c0843d0080cae3f6da6603";
const RECORD_CUSTOMER: &str = "01000202433101010244310180c9b0d6ef66010101044f502d3101044f502d32808098eef166011ee69dade5b79ee4ba91e5b886e7a791e68a80e69c89e99990e585ace58fb8010d48572d30303831323334353637a09c01c413c0c2e6abec6605";
const RECORD_UNASSOCIATED: &str = "010002024330010000000000000080d0f6adf06606";
const RECORD_OPERATOR: &str = "010003044f502d3102024431020102000080aaa5e8f06608";
const RECORD_QUOTA: &str = "01010c512d323032362e30312e52310252310080d099d2ee6680809294e3670109512d323032362e3031008092f4010c";
const RECORD_COUPON: &str =
    "0102064b2d3030303102433109512d323032362e303102443100a08d0680e0c2cc826780d0f2f1bb67010203656373037264730000000d";
const RECORD_PICKUP_VOUCHER: &str =
    "0102064b2d3030303202433309512d50562d3230323602443102c0cf2480d099d2ee6680809294e367010103656373011e010200010015";
const RECORD_DISCOUNTED_ORDER: &str =
    "0103064f2d3330303102433300000103656373be9a0c0180c0bf848967010202433390b00aaeea0100c0a907d08603000102443100000080b0dbc3846717";
const RECORD_DISCOUNTED_BILL: &str =
    "0105064f2d333030310080f8e0e38467010243330202433301064f2d3330303190b00aaeea0100c0a907d086030000000202433390b00a0018";
const RECORD_DISCOUNT: &str = "01080a44432d323032362d4831024333550102036563730372647380d099d2ee6680809294e3670016";
const RECORD_ORDER: &str = "0103064f2d313030310243310103472d3101010365637380d30e0180b4af9af666010202433180d30e00a08d06e0d403e0d403a09c01010244310101010244310080a4cbd9f1660e";
const RECORD_AWAITING_PARTNER_ORDER: &str =
    "0103064f2d323030310243320000010372647380e20900808af3eaff6600000000000000000100010244310080fa8eaafb6613";
const RECORD_COMBINED: &str = "010403472d3102433102064f2d31303031064f2d313030320e";
const RECORD_USAGE_BILL: &str =
    "01051075736167652d323032362e30312d433104fedfc2cc8267010243310202433100a41300009003c00c900344a6a94502024331a413e8070f";
const RECORD_REFUND_BILL: &str =
    "01050d4f2d313030313a726566756e640380cddfea8867010243310202433101064f2d31303031dfd40300009f9c01afea018f4e000002024331dfd4030010";
const RECORD_PARTNER_PAID_BILL: &str =
    "0105064f2d3230303100c0c19cf8fb66010243320102443101064f2d3230303180e209000000a08d06e0d40300000202433280e2090014";
const RECORD_WITHDRAWAL: &str = "010606572d3030343201024431a08d0602011362616e6b206163636f756e7420636c6f736564c0e8fcaafb6611";
const RECORD_INVOICE: &str =
    "01070d494e562d323032362d303030310202433180f10400020d4f2d313030313a726566756e64dfd403064f2d31303031e0c50880feecf38b6712";
const ADJUST_RUN: &str = "01040701a402c4a004";

/// One record of each `Record` variant (party records: partner, customers, operator; two coupons: a
/// voucher and a pickup voucher; three orders: paid, awaiting its partner's payment, and paid with a
/// discount; four bills: usage with an erased part, a refund with negative amounts, a partner-paid
/// bill its customer invoices, and a discounted one), with its name and golden hex.
fn golden_records() -> Vec<(&'static str, Record, &'static str)> {
    vec![
        ("a reseller with its parent", Record::Party(partner("R1"), reseller_record()), RECORD_RESELLER),
        ("a whitelisted referral customer", Record::Party(customer("C1"), customer_record()), RECORD_CUSTOMER),
        ("an unassociated customer", Record::Party(customer("C0"), unassociated_record()), RECORD_UNASSOCIATED),
        ("an operator with two roles", Record::Party(operator("OP-1"), operator_record()), RECORD_OPERATOR),
        ("a quota carved from a quota", Record::Quota(id("Q-2026.01.R1"), quota()), RECORD_QUOTA),
        ("a live voucher for two services", Record::Coupon(id("K-0001"), coupon()), RECORD_COUPON),
        ("a pickup voucher for new and renewal orders", Record::Coupon(id("K-0002"), pickup_voucher()), RECORD_PICKUP_VOUCHER),
        ("a paid member order", Record::Order(id("O-1001"), order()), RECORD_ORDER),
        ("an order awaiting partner payment", Record::Order(id("O-2001"), awaiting_partner_order()), RECORD_AWAITING_PARTNER_ORDER),
        ("an order paid with a discount", Record::Order(id("O-3001"), discounted_order()), RECORD_DISCOUNTED_ORDER),
        ("a combined order", Record::Combined(id("G-1"), combined()), RECORD_COMBINED),
        ("a usage bill with an erased part", Record::Bill(id("usage-2026.01-C1"), usage_bill()), RECORD_USAGE_BILL),
        ("a refund bill", Record::Bill(id("O-1001:refund"), refund_bill()), RECORD_REFUND_BILL),
        ("a partner-paid bill of a referral customer", Record::Bill(id("O-2001"), partner_paid_bill()), RECORD_PARTNER_PAID_BILL),
        ("the bill of a discounted order", Record::Bill(id("O-3001"), discounted_bill()), RECORD_DISCOUNTED_BILL),
        ("a rejected withdrawal", Record::Withdrawal(id("W-0042"), withdrawal()), RECORD_WITHDRAWAL),
        ("an issued invoice", Record::Invoice(id("INV-2026-0001"), invoice()), RECORD_INVOICE),
        ("a business discount for two services", Record::Discount(id("DC-2026-H1"), discount()), RECORD_DISCOUNT),
    ]
}

// ---------------------------------------------------------------------------------------------
// Versions

/// Format 2 (SPEC v2) changed the encodings inside the records, not their framing; format 3 added
/// the ordinal to each posting-index entry and the `record_index` table; format 4 stores journal
/// records and request runs lean (version byte 2); format 5 keeps the posting index in blocks;
/// format 6 keeps adjust records in the journal only; format 7 leaves a transfer's postings out
/// of its lean record and stores balances as varints (version byte 2). The other records'
/// version byte stays 1, the file's `meta` `format` says 7, a file of format 2 to 5 is migrated,
/// one of format 6 opens as it is, and any other is refused on opening.
#[test]
fn record_versions_are_one_and_two_and_format_version_is_seven() {
    assert_eq!(RECORD_VERSION, 1);
    assert_eq!(JOURNAL_LEAN_VERSION, 2);
    assert_eq!(BALANCE_VARINT_VERSION, 2);
    assert_eq!(FORMAT_VERSION, 7);
}

// ---------------------------------------------------------------------------------------------
// Journal

#[test]
fn transaction_body_is_pinned() {
    let transaction = realistic_transaction();
    let body = encode_transaction_body(&transaction);
    assert_golden("a transaction body", &body, REALISTIC_BODY);
    assert_eq!(postcard::from_bytes::<Transaction>(&unhex(REALISTIC_BODY)).expect("golden body decodes"), transaction);
}

#[test]
fn every_variant_of_the_transaction_body_is_pinned() {
    let transaction = every_variant_transaction();
    assert_golden("a transaction body of every variant", &encode_transaction_body(&transaction), EVERY_VARIANT_BODY);
    // Decoded through the journal decoder too, with an arbitrary hash in front.
    let record = encode_journal(&[7; 32], &unhex(EVERY_VARIANT_BODY));
    let decoded = decode_journal(7, &record, &[9; 32]).expect("golden journal decodes");
    assert_eq!((decoded.hash, decoded.body().as_ref()), ([7; 32], unhex(EVERY_VARIANT_BODY).as_slice()));
    assert_eq!(decoded.transaction, transaction, "a whole record keeps the previous hash it stores");
    // Stored lean, it decodes to the same transaction and body given its previous hash.
    let lean = lean_transaction(transaction);
    let body = encode_transaction(&lean);
    let record = encode_journal_lean(&[7; 32], &body.bytes, LeanForm::of(&lean, &body, true));
    let decoded = decode_journal(lean.seq, &record, &lean.prev_hash).expect("a lean record of every variant decodes");
    assert_eq!((decoded.body().as_ref(), decoded.transaction), (body.bytes.as_slice(), lean));
}

/// `transaction` with the fingerprint this build computes for it (`at` given), so it has a lean
/// form.
fn lean_transaction(transaction: Transaction) -> Transaction {
    Transaction { fingerprint: fingerprint(&transaction.actor, Some(transaction.at), &transaction.command), ..transaction }
}

#[test]
fn lean_journal_record_is_pinned() {
    let transaction = lean_transaction(realistic_transaction());
    let body = encode_transaction(&transaction);
    assert_eq!(body.bytes, postcard::to_stdvec(&transaction).expect("encodes"), "the body is postcard of the transaction");
    assert_eq!(&body.bytes[body.fingerprint_at..body.fingerprint_at + 32], &transaction.fingerprint);
    assert_eq!(body.seq_end, 1, "seq 7 is one byte");
    let form =
        LeanForm { fingerprint_at: body.fingerprint_at, at_given: true, derived_at: None, postings_end: None, seq_end: Some(body.seq_end) };
    assert_eq!(lean_form(&transaction, &body.bytes), Some(form), "an atomic group's effects are stored");
    let hash: ChainHash = Sha256::digest(&body.bytes).into();
    let record = encode_journal_lean(&hash, &body.bytes, form);
    assert_golden("a lean journal record", &record, REALISTIC_LEAN_JOURNAL);
    assert_eq!((record[0], &record[1..33], record[33]), (JOURNAL_LEAN_VERSION, hash.as_slice(), 9));
    assert_eq!(
        record.len(),
        encode_journal(&hash, &body.bytes).len() - 63 - body.seq_end,
        "no seq, no fingerprint and no previous hash, one flag byte"
    );
    // As formats 4 to 6 stored it, with its seq: read under any key, it is seq 7.
    let format_6 = encode_journal_lean(&hash, &body.bytes, LeanForm { seq_end: None, ..form });
    assert_golden("a lean journal record of format 6", &format_6, REALISTIC_LEAN_JOURNAL_FORMAT_6);
    for key in [7, 99] {
        let decoded = decode_journal(key, &format_6, &transaction.prev_hash).expect("a format-6 record decodes");
        assert_eq!((decoded.body().as_ref(), &decoded.transaction), (body.bytes.as_slice(), &transaction));
    }
    // Read under another key, a record without its seq is that seq's, and its body no longer
    // hashes to the stored hash: a record moved to another key shows.
    let moved = decode_journal(8, &record, &transaction.prev_hash).expect("decodes");
    assert_eq!(moved.transaction.seq, 8);
    assert_ne!(<[u8; 32]>::from(Sha256::digest(moved.body().as_ref())), hash);

    let golden = unhex(REALISTIC_LEAN_JOURNAL);
    let decoded = decode_journal(7, &golden, &transaction.prev_hash).expect("golden lean journal decodes");
    assert!(decoded.is_lean());
    assert_eq!((decoded.hash, decoded.body().as_ref(), &decoded.transaction), (hash, body.bytes.as_slice(), &transaction));
    assert_eq!(journal_hash(&golden), Ok(hash));
    // Read after another previous hash, its body no longer hashes to the stored hash.
    let elsewhere = decode_journal(7, &golden, &[0xee; 32]).expect("decodes");
    assert_ne!(<[u8; 32]>::from(Sha256::digest(elsewhere.body().as_ref())), hash);
    // Without `at` given, the flag is 0 and the fingerprint differs.
    let without = Transaction { fingerprint: fingerprint(&transaction.actor, None, &transaction.command), ..transaction.clone() };
    let body = encode_transaction(&without);
    let form = LeanForm { at_given: false, ..form };
    assert_eq!(lean_form(&without, &body.bytes), Some(form));
    let record = encode_journal_lean(&hash, &body.bytes, form);
    assert_eq!(decode_journal(without.seq, &record, &without.prev_hash).expect("decodes").transaction, without);
    // A fingerprint this build would not compute has no lean form: such a record is stored whole.
    assert_eq!(lean_form(&realistic_transaction(), &encode_transaction_body(&realistic_transaction())), None);
    assert_eq!(lean_form(&transaction, &[encode_transaction_body(&transaction), vec![0]].concat()), None, "a non-canonical body");
}

/// A transfer's adjust record and outcome are what the rules derive from its command and
/// postings: a lean record leaves them out (flag bit 1) and reading gives them back. When they
/// differ from the derivation they are stored.
#[test]
fn a_transfer_is_stored_without_what_its_command_gives() {
    let (d1, c1) = (partner("D1"), customer("C1"));
    let allocate = Command::Allocate { partner: None, to: c1.clone(), amount: money(25_050), memo: Some("January budget".to_owned()) };
    let recover = Command::Recover { partner: None, from: c1.clone(), amount: money(5_000), memo: None };
    let cases = [
        (allocate, vec![posting(Account::cash(&d1), -25_050, 0), posting(Account::allocated(&c1), 25_050, 0)], allocate_record()),
        (
            recover,
            vec![posting(Account::allocated(&c1), -5_000, 0), posting(Account::cash(&d1), 5_000, 0)],
            AdjustRecord { operation: AdjustOperation::Recover, partner: id("D1"), target: c1.clone(), amount: money(5_000), memo: None },
        ),
    ];
    for (command, postings, record) in cases {
        let effects =
            Effects { postings, records: Vec::new(), adjust_records: vec![record.clone()], outcome: Outcome::Transfer(id("req-7")) };
        let transaction = lean_transaction(Transaction { command, effects, ..realistic_transaction() });
        let body = encode_transaction(&transaction);
        let form = LeanForm::of(&transaction, &body, true);
        assert_eq!(form.derived_at, Some(body.adjust_at), "{}", transaction.command.op());
        assert_eq!(lean_form(&transaction, &body.bytes), Some(form));
        assert_eq!(form.postings_end, Some(body.records_at), "{}: the postings are the command's", transaction.command.op());
        let derived = encode_journal_lean(&[7; 32], &body.bytes, form);
        let stored = encode_journal_lean(&[7; 32], &body.bytes, LeanForm { derived_at: None, ..form });
        let with_postings = encode_journal_lean(&[7; 32], &body.bytes, LeanForm { postings_end: None, ..form });
        let with_effects = encode_journal_lean(&[7; 32], &body.bytes, LeanForm { derived_at: None, postings_end: None, ..form });
        let tail = postcard::to_stdvec(&(&transaction.effects.adjust_records, &transaction.effects.outcome)).expect("encodes");
        let postings = postcard::to_stdvec(&transaction.effects.postings).expect("encodes");
        assert_eq!(derived.len(), stored.len() - tail.len(), "the adjust record and outcome are left out");
        assert_eq!(derived.len(), with_postings.len() - postings.len(), "the postings are left out");
        assert_eq!(with_effects.len(), derived.len() + tail.len() + postings.len());
        assert_eq!((derived[33], stored[33], with_postings[33], with_effects[33]), (15, 13, 11, 9));
        for record in [&derived, &stored, &with_postings, &with_effects] {
            let decoded = decode_journal(transaction.seq, record, &transaction.prev_hash).expect("decodes");
            assert_eq!((decoded.body().as_ref(), &decoded.transaction), (body.bytes.as_slice(), &transaction));
        }
        // Another memo, or another request id in the outcome, than the derivation: stored.
        let mut other = transaction.clone();
        other.effects.adjust_records[0].memo = Some("edited".to_owned());
        let body = encode_transaction(&other);
        assert_eq!(LeanForm::of(&other, &body, true).derived_at, None);
        let mut other = transaction.clone();
        other.effects.outcome = Outcome::Transfer(id("req-8"));
        assert_eq!(LeanForm::of(&other, &encode_transaction(&other), true).derived_at, None);
        // Postings other than the command's (debt repaid on the way, an amount split, another
        // partner's cash, a part of an atomic group), or a partner only the state knows: stored.
        let mut split = transaction.clone();
        let last = split.effects.postings.pop().expect("two postings");
        split.effects.postings.push(Posting { amount: money(1), ..last.clone() });
        split.effects.postings.push(Posting { amount: last.amount.checked_sub(money(1)).expect("small"), ..last });
        let mut part = transaction.clone();
        part.effects.postings.iter_mut().for_each(|posting| posting.part = 1);
        let operator = lean_transaction(Transaction { actor: Party::Operator(Id::party("O1").expect("valid")), ..transaction.clone() });
        for other in [split, part, operator] {
            let body = encode_transaction(&other);
            assert_eq!(LeanForm::of(&other, &body, true).postings_end, None);
            let record = encode_journal_lean(&[7; 32], &body.bytes, LeanForm::of(&other, &body, true));
            let decoded = decode_journal(other.seq, &record, &other.prev_hash).expect("decodes");
            assert_eq!((decoded.body().as_ref(), &decoded.transaction), (body.bytes.as_slice(), &other));
        }
    }
}

#[test]
fn lean_journal_record_refuses_corruption() {
    let golden = unhex(REALISTIC_LEAN_JOURNAL);
    let prev = realistic_transaction().prev_hash;
    for length in 0..golden.len() {
        let error = decode_journal(7, &golden[..length], &prev).expect_err(&format!("truncated to {length} bytes must not decode"));
        assert_eq!(error.what, "journal", "truncated to {length} bytes");
    }
    for flag in 16..=u8::MAX {
        let mut wrong = golden.clone();
        wrong[33] = flag;
        let error = decode_journal(7, &wrong, &prev).expect_err("an unknown flag");
        assert!(error.reason.contains("flags"), "{}", error.reason);
    }
    // The derived bits on an atomic group: it has no derived effects nor postings, and its
    // stored ones are left over.
    for flag in 2..=7 {
        let mut wrong = golden.clone();
        wrong[33] = flag | 8;
        let error = decode_journal(7, &wrong, &prev).expect_err("a derived bit on an atomic group");
        if flag & 4 != 0 {
            assert!(error.reason.contains("has no derived postings"), "flags {flag}: {}", error.reason);
        }
    }
    for version in (0..=u8::MAX).filter(|version| ![RECORD_VERSION, JOURNAL_LEAN_VERSION].contains(version)) {
        let mut wrong = golden.clone();
        wrong[0] = version;
        let error = decode_journal(7, &wrong, &prev).expect_err("an unknown version");
        assert!(error.reason.contains("version"), "{}", error.reason);
        assert!(journal_hash(&wrong).is_err(), "version {version}");
    }
}

#[test]
fn journal_record_is_pinned() {
    let transaction = realistic_transaction();
    let body = encode_transaction_body(&transaction);
    let hash: ChainHash = Sha256::digest(&body).into();
    let record = encode_journal(&hash, &body);
    assert_golden("a journal record", &record, REALISTIC_JOURNAL);
    assert_eq!(record[0], RECORD_VERSION);
    assert_eq!(&record[1..33], &hash);
    assert_eq!(&record[33..], body.as_slice());

    let golden = unhex(REALISTIC_JOURNAL);
    let decoded = decode_journal(7, &golden, &[9; 32]).expect("golden journal decodes");
    assert!(!decoded.is_lean());
    assert_eq!(decoded.hash, hash);
    assert_eq!(decoded.body().as_ref(), body.as_slice());
    assert_eq!(decoded.transaction, transaction);
}

#[test]
fn journal_record_refuses_corruption() {
    assert_refuses_corruption("journal", REALISTIC_JOURNAL, |bytes| {
        decode_journal(7, bytes, &[9; 32]).map(|record| (record.hash, record.transaction))
    });
    let short = decode_journal(7, &unhex(REALISTIC_JOURNAL)[..20], &[9; 32]).expect_err("shorter than its hash");
    assert!(short.reason.contains("hash"), "{}", short.reason);
}

// ---------------------------------------------------------------------------------------------
// Fixed-width records

/// A balance is a zigzag varint since format 7 (version byte 2); the 17-byte form of format 6
/// and before still decodes, to the same amount.
#[test]
fn balance_is_pinned() {
    for (balance, golden, format_6) in [
        (money(25_050), BALANCE_POSITIVE, BALANCE_POSITIVE_FORMAT_6),
        (money(-10_i128.pow(30)), BALANCE_NEGATIVE, BALANCE_NEGATIVE_FORMAT_6),
    ] {
        assert_golden("a balance", &encode_balance(balance), golden);
        assert_eq!(decode_balance(&unhex(golden)), Ok(balance));
        assert_eq!(decode_balance(&unhex(format_6)), Ok(balance), "a format-6 balance");
    }
    assert_eq!(encode_balance(money(0)), [BALANCE_VARINT_VERSION, 0]);
    assert_eq!(decode_balance(&encode_balance(money(i128::MIN))), Ok(money(i128::MIN)));
    assert_eq!(decode_balance(&encode_balance(money(i128::MAX))), Ok(money(i128::MAX)));
    assert_refuses_corruption("balance", BALANCE_POSITIVE_FORMAT_6, decode_balance);
    let varint = unhex(BALANCE_POSITIVE);
    for length in 0..varint.len() {
        assert_eq!(decode_balance(&varint[..length]).expect_err("a varint balance cut short").what, "balance");
    }
    for version in (0..=u8::MAX).filter(|version| *version != BALANCE_VARINT_VERSION) {
        let error = decode_balance(&[&[version], &varint[1..]].concat()).expect_err("another version byte");
        assert!(error.reason.contains(if version == RECORD_VERSION { "length" } else { "version" }), "{version}: {}", error.reason);
    }
    for golden in [BALANCE_POSITIVE, BALANCE_POSITIVE_FORMAT_6] {
        assert!(decode_balance(&[unhex(golden), vec![0]].concat()).is_err(), "a longer balance is refused");
    }
}

/// Format 7's posting block, without times (version 2). The blocks of formats 5 and 6 (version
/// 1, with times) are rebuilt on opening, never read.
#[test]
fn posting_block_is_pinned() {
    let first = IndexedPosting { seq: 7, index: 0, amount: money(-25_050), after: money(974_950), ordinal: 3 };
    let second = IndexedPosting { seq: 7, index: 2, amount: money(1_000), after: money(975_950), ordinal: 4 };
    let third = IndexedPosting { seq: 12, index: 1, amount: money(-950), after: money(975_000), ordinal: 5 };
    let block = [first, second, third];
    assert_golden("a posting block", &encode_posting_block(&block), POSTING_BLOCK);
    assert_eq!(decode_posting_block(7, &unhex(POSTING_BLOCK)).expect("decodes"), block);
    assert_eq!(posting_block_first_ordinal(&unhex(POSTING_BLOCK)), Ok(3));
    let golden = unhex(POSTING_BLOCK);
    assert_eq!(golden[0], POSTING_BLOCK_VERSION);
    for length in 0..golden.len() {
        assert_eq!(decode_posting_block(7, &golden[..length]).expect_err("a block cut short").what, "posting block", "{length}");
    }
    for version in (0..=u8::MAX).filter(|version| *version != POSTING_BLOCK_VERSION) {
        let wrong = [&[version], &golden[1..]].concat();
        let error = decode_posting_block(7, &wrong).expect_err("another version");
        assert!(error.reason.contains("version"), "{version}: {}", error.reason);
        assert!(posting_block_first_ordinal(&wrong).is_err());
    }
    let format_6 = decode_posting_block(7, &unhex(POSTING_BLOCK_FORMAT_6)).expect_err("a format-6 block is not read");
    assert_eq!(format_6.reason, "unknown version 1");
    assert!(decode_posting_block(7, &[unhex(POSTING_BLOCK), vec![0]].concat()).is_err(), "a longer block is refused");
    let elsewhere = decode_posting_block(8, &unhex(POSTING_BLOCK)).expect("the seqs are relative to the key");
    assert_eq!(elsewhere.iter().map(|posting| posting.seq).collect::<Vec<_>>(), [8, 8, 13]);
    // Postings out of order (the first posting's seq is the key's, and a block always holds it).
    let reordered = encode_posting_block(&[first, IndexedPosting { index: 0, ..second }]);
    assert!(decode_posting_block(7, &reordered).expect_err("a repeated posting").reason.contains("does not follow"));
    let one = encode_posting_block(&[third]);
    assert_eq!(decode_posting_block(12, &one), Ok(vec![third]));
    assert_eq!(one.len(), 1 + 1 + 3 + 1 + 2 + 1, "version, ordinal, balance before, index, amount, no further postings");
}

/// Format 3's request runs held each id's fingerprint; they still decode.
#[test]
fn request_run_of_format_3_still_decodes() {
    let decoded = decode_request_run(&unhex(REQUEST_RUN)).expect("decodes");
    assert_eq!(decoded, [(id("r-1"), 7, Some(pattern(0x40))), (id("req:2026.01"), 8, Some(pattern(0x80)))]);
    assert_refuses_corruption("request run", REQUEST_RUN, decode_request_run);
    assert!(decode_request_run(&[unhex(REQUEST_RUN), vec![0]].concat()).is_err(), "trailing bytes are refused");
}

/// Format 4's runs hold each id and its seq as the difference from the previous one.
#[test]
fn request_run_is_pinned() {
    let (first, second) = (id("r-1"), id("req:2026.01"));
    let entries = [(&first, 7), (&second, 8)];
    assert_golden("a request run", &encode_request_run(&entries), REQUEST_RUN_LEAN);
    let decoded = decode_request_run(&unhex(REQUEST_RUN_LEAN)).expect("decodes");
    assert_eq!(decoded, [(first.clone(), 7, None), (second.clone(), 8, None)]);
    let bytes = unhex(REQUEST_RUN_LEAN);
    assert_eq!(bytes[0], REQUEST_RUN_LEAN_VERSION);
    for length in 0..bytes.len() {
        let error = decode_request_run(&bytes[..length]).expect_err(&format!("truncated to {length} bytes must not decode"));
        assert_eq!(error.what, "request run");
    }
    for version in (0..=u8::MAX).filter(|version| ![RECORD_VERSION, REQUEST_RUN_LEAN_VERSION].contains(version)) {
        let error = decode_request_run(&[vec![version], bytes[1..].to_vec()].concat()).expect_err("an unknown version");
        assert!(error.reason.contains("version"), "{}", error.reason);
    }
    let error = decode_request_run(&[bytes.clone(), vec![0]].concat()).expect_err("trailing bytes are refused");
    assert!(error.reason.contains("1 bytes after the record"), "{}", error.reason);
    // A seq past u64::MAX is refused, not wrapped.
    let overflowing = encode_request_run(&[(&first, u64::MAX), (&second, 3)]);
    let error = decode_request_run(&overflowing).expect_err("an overflowing seq");
    assert!(error.reason.contains("overflows"), "{}", error.reason);
}

#[test]
fn head_is_pinned() {
    let head = Head { seq: 7, hash: pattern(0xc0), at: at("2026-01-05T10:00:00Z") };
    assert_golden("the head", &encode_head(&head), HEAD);
    assert_eq!(decode_head(&unhex(HEAD)), Ok(head));
    assert_refuses_corruption("head", HEAD, decode_head);
    assert!(decode_head(&[unhex(HEAD), vec![0]].concat()).is_err(), "a longer head is refused");
}

// ---------------------------------------------------------------------------------------------
// Postcard records

#[test]
fn records_are_pinned() {
    for (name, record, golden) in golden_records() {
        assert_golden(name, &encode_record(&record), golden);
        assert_eq!(decode_record(&unhex(golden)), Ok(record), "{name}");
        assert_refuses_corruption("record", golden, decode_record);
    }
}

/// Format 6 keeps adjust records in the journal only; an adjust run lists the seqs that hold
/// them, each as the difference from the previous one.
#[test]
fn adjust_run_is_pinned() {
    let seqs = [7, 8, 300, 70_000];
    assert_golden("an adjust run", &encode_adjust_run(&seqs), ADJUST_RUN);
    assert_eq!(decode_adjust_run(&unhex(ADJUST_RUN)), Ok(seqs.to_vec()));
    assert_refuses_corruption("adjust run", ADJUST_RUN, decode_adjust_run);
    for (wrong, why) in [(vec![7, 7], "repeated"), (vec![0], "before seq 1"), (vec![u64::MAX, 3], "overflows")] {
        let error = decode_adjust_run(&encode_adjust_run(&wrong)).expect_err(why);
        assert!(error.reason.contains(why), "{wrong:?}: {}", error.reason);
    }
    // The records themselves: read from the journal without the chain.
    let transaction = lean_transaction(realistic_transaction());
    let body = encode_transaction(&transaction);
    let record = encode_journal_lean(&[7; 32], &body.bytes, LeanForm::of(&transaction, &body, true));
    for stored in [record, encode_journal(&[7; 32], &body.bytes)] {
        let (seq, when, request, effects) = decode_journal_effects(transaction.seq, &stored).expect("decodes");
        assert_eq!(
            (seq, when, request, effects),
            (transaction.seq, transaction.at, transaction.request.clone(), transaction.effects.clone())
        );
        assert!(decode_journal_effects(transaction.seq, &stored[..stored.len() - 1]).is_err(), "a cut-off record");
    }
}

/// postcard would decode a value from the front of a longer slice and ignore the rest: each
/// postcard record must use every byte, so a golden record with a byte appended is refused.
#[test]
fn postcard_records_refuse_trailing_bytes() {
    let every_variant_journal = hex(&encode_journal(&[7; 32], &unhex(EVERY_VARIANT_BODY)));
    let mut goldens: Vec<(&str, String)> = vec![
        ("journal", REALISTIC_JOURNAL.to_owned()),
        ("journal", REALISTIC_LEAN_JOURNAL.to_owned()),
        ("journal", every_variant_journal),
        ("adjust run", ADJUST_RUN.to_owned()),
    ];
    goldens.extend(golden_records().into_iter().map(|(_, _, golden)| ("record", golden.to_owned())));
    for (what, golden) in goldens {
        for extra in [0x00, 0x01, 0xff] {
            let longer = [unhex(&golden), vec![extra]].concat();
            let error = match what {
                "journal" => decode_journal(7, &longer, &[9; 32]).map(|_| ()),
                "adjust run" => decode_adjust_run(&longer).map(|_| ()),
                _ => decode_record(&longer).map(|_| ()),
            }
            .expect_err(&format!("{what} {golden} with {extra:#04x} appended must not decode"));
            assert_eq!(error.what, what);
            assert!(error.reason.contains("1 bytes after the record"), "{what}: {}", error.reason);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and tables

/// Accounts are the text keys of `balances` and `postings`; parties and the other records (by
/// `Record::key`) of `records` and `record_history`.
#[test]
fn account_party_and_record_keys_are_pinned() {
    let (d1, c1) = (partner("D1"), customer("C1"));
    let accounts = [
        (Account::platform(AccountKind::Bank), "platform:bank"),
        (Account::platform(AccountKind::Revenue), "platform:revenue"),
        (Account::platform(AccountKind::CouponIssuance), "platform:coupon_issuance"),
        (Account::platform(AccountKind::CouponRedeemed), "platform:coupon_redeemed"),
        (Account::platform(AccountKind::CouponExpired), "platform:coupon_expired"),
        (Account::cash(&d1), "partner:D1:cash"),
        (Account::credit(&d1), "partner:D1:credit"),
        (Account::new(d1.clone(), AccountKind::Quota(id("Q-2026.01"))), "partner:D1:quota:Q-2026.01"),
        (Account::cash(&c1), "customer:C1:cash"),
        (Account::credit(&c1), "customer:C1:credit"),
        (Account::arrears(&c1), "customer:C1:arrears"),
        (Account::allocated(&c1), "customer:C1:allocated"),
        (Account::new(c1.clone(), AccountKind::Coupon(id("K:1"))), "customer:C1:coupon:K:1"),
    ];
    for (account, text) in accounts.clone() {
        assert_eq!(account.to_string(), text);
        assert_eq!(Account::parse(text), Some(account), "{text}");
    }
    // The keys of `balances` and `posting_blocks` (format 7): each account's postcard encoding.
    let keys: Vec<String> = accounts.iter().map(|(account, _)| hex(&account_key(account))).collect();
    assert_eq!(
        keys,
        [
            "0000",
            "0001",
            "0002",
            "0003",
            "0004",
            "0102443105",
            "0102443106",
            "010244310809512d323032362e3031",
            "0202433105",
            "0202433106",
            "0202433107",
            "020243310a",
            "0202433109034b3a31"
        ],
        "account keys"
    );
    for (account, _) in &accounts {
        assert_eq!(decode_account_key(&account_key(account)).as_ref(), Ok(account));
    }
    for bad in [&[][..], &[0x02, 0x02, 0x43], &[0x02, 0x02, 0x43, 0x31, 0x03, 0x00], &[0x09], &[0x00, 0x00, 0x00]] {
        assert_eq!(decode_account_key(bad).expect_err("not an account key").what, "account key", "{bad:?}");
    }
    for (party, text) in [(Party::Platform, "platform"), (d1, "partner:D1"), (c1, "customer:C1"), (operator("OP-1"), "operator:OP-1")] {
        assert_eq!(party.to_string(), text);
        assert_eq!(Party::parse(text), Ok(party), "{text}");
    }
    let keys: Vec<String> = golden_records().iter().map(|(_, record, _)| record.key()).collect();
    assert_eq!(
        keys,
        [
            "partner:R1",
            "customer:C1",
            "customer:C0",
            "operator:OP-1",
            "quota:Q-2026.01.R1",
            "coupon:K-0001",
            "coupon:K-0002",
            "order:O-1001",
            "order:O-2001",
            "order:O-3001",
            "combined:G-1",
            "bill:usage-2026.01-C1",
            "bill:O-1001:refund",
            "bill:O-2001",
            "bill:O-3001",
            "withdrawal:W-0042",
            "invoice:INV-2026-0001",
            "discount:DC-2026-H1",
        ]
    );
}

/// A table's name and its key and value types are part of the file: redb refuses to open a table
/// under another type.
#[test]
fn table_names_and_types_are_pinned() {
    use partner_ledger::tables::{ADJUST_RECORDS, BALANCES, JOURNAL, META, POSTINGS, RECORD_HISTORY, RECORDS, REQUESTS};
    let tables = [
        (JOURNAL.name(), JOURNAL.to_string()),
        (REQUESTS.name(), REQUESTS.to_string()),
        (RECORDS.name(), RECORDS.to_string()),
        (RECORD_HISTORY.name(), RECORD_HISTORY.to_string()),
        (BALANCES.name(), BALANCES.to_string()),
        (POSTINGS.name(), POSTINGS.to_string()),
        (ADJUST_RECORDS.name(), ADJUST_RECORDS.to_string()),
        (META.name(), META.to_string()),
    ];
    let expected = [
        ("journal", "journal<u64, &[u8]>"),
        ("request_runs", "request_runs<u64, &[u8]>"),
        ("records", "records<&str, &[u8]>"),
        ("record_history", "record_history<(&str,u64), &[u8]>"),
        ("balances", "balances<&[u8], &[u8]>"),
        ("posting_blocks", "posting_blocks<(&[u8],u64), &[u8]>"),
        ("adjust_runs", "adjust_runs<u64, &[u8]>"),
        ("meta", "meta<&str, &[u8]>"),
    ];
    for ((name, typed), (expected_name, expected_typed)) in tables.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        assert_eq!(typed, expected_typed);
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage of the every-variant body

/// Captures the name and variant list an enum's derived `Deserialize` hands to `deserialize_enum`.
struct EnumProbe(Option<(&'static str, &'static [&'static str])>);

impl<'de> serde::Deserializer<'de> for &mut EnumProbe {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("not an enum"))
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = Some((name, variants));
        Err(serde::de::Error::custom("probed"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
        newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The name and every variant of the enum `T`, in declaration order.
fn variants_of<T: for<'de> serde::Deserialize<'de>>() -> (&'static str, &'static [&'static str]) {
    let mut probe = EnumProbe(None);
    let _ = T::deserialize(&mut probe);
    probe.0.expect("an enum")
}

/// Walks a value as serde serializes it, collecting every (enum, variant) it passes.
#[derive(Default)]
struct VariantsUsed(BTreeSet<(&'static str, &'static str)>);

type Walked = Result<(), serde::de::value::Error>;

macro_rules! walk_scalars {
    ($($method:ident: $type:ty),* $(,)?) => {
        $(fn $method(self, _: $type) -> Walked { Ok(()) })*
    };
}

impl serde::Serializer for &mut VariantsUsed {
    type Ok = ();
    type Error = serde::de::value::Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    walk_scalars! {
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_i128: i128,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str, serialize_bytes: &[u8], serialize_unit_struct: &'static str,
    }

    fn serialize_none(self) -> Walked {
        Ok(())
    }

    fn serialize_some<T: ?Sized + serde::Serialize>(self, value: &T) -> Walked {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Walked {
        Ok(())
    }

    fn serialize_unit_variant(self, name: &'static str, _: u32, variant: &'static str) -> Walked {
        self.0.insert((name, variant));
        Ok(())
    }

    fn serialize_newtype_struct<T: ?Sized + serde::Serialize>(self, _: &'static str, value: &T) -> Walked {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + serde::Serialize>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Walked {
        self.0.insert((name, variant));
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Self::Error> {
        Ok(self)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self, Self::Error> {
        Ok(self)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Self::Error> {
        Ok(self)
    }

    fn serialize_tuple_variant(self, name: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Self::Error> {
        self.0.insert((name, variant));
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, Self::Error> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Self::Error> {
        Ok(self)
    }

    fn serialize_struct_variant(self, name: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Self::Error> {
        self.0.insert((name, variant));
        Ok(self)
    }
}

macro_rules! walk_elements {
    ($($trait:ident :: $method:ident),* $(,)?) => {
        $(impl serde::ser::$trait for &mut VariantsUsed {
            type Ok = ();
            type Error = serde::de::value::Error;

            fn $method<T: ?Sized + serde::Serialize>(&mut self, value: &T) -> Walked {
                value.serialize(&mut **self)
            }

            fn end(self) -> Walked {
                Ok(())
            }
        })*
    };
}

walk_elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl serde::ser::SerializeMap for &mut VariantsUsed {
    type Ok = ();
    type Error = serde::de::value::Error;

    fn serialize_key<T: ?Sized + serde::Serialize>(&mut self, key: &T) -> Walked {
        key.serialize(&mut **self)
    }

    fn serialize_value<T: ?Sized + serde::Serialize>(&mut self, value: &T) -> Walked {
        value.serialize(&mut **self)
    }

    fn end(self) -> Walked {
        Ok(())
    }
}

macro_rules! walk_fields {
    ($($trait:ident),* $(,)?) => {
        $(impl serde::ser::$trait for &mut VariantsUsed {
            type Ok = ();
            type Error = serde::de::value::Error;

            fn serialize_field<T: ?Sized + serde::Serialize>(&mut self, _: &'static str, value: &T) -> Walked {
                value.serialize(&mut **self)
            }

            fn end(self) -> Walked {
                Ok(())
            }
        })*
    };
}

walk_fields!(SerializeStruct, SerializeStructVariant);

/// `every_variant_transaction` is only worth its name while it holds every variant: variants are
/// appended to these enums, and an appended variant changes no existing bytes, so nothing else
/// would notice one left unpinned.
#[test]
fn every_variant_of_every_stored_enum_is_pinned() {
    let mut used = VariantsUsed::default();
    serde::Serialize::serialize(&every_variant_transaction(), &mut used).expect("walks");
    let enums = [
        variants_of::<Command>(),
        variants_of::<Outcome>(),
        variants_of::<Record>(),
        variants_of::<Party>(),
        variants_of::<Role>(),
        variants_of::<OperatorRole>(),
        variants_of::<AccountKind>(),
        variants_of::<PartnerKind>(),
        variants_of::<AssociationKind>(),
        variants_of::<Direction>(),
        variants_of::<AdjustOperation>(),
        variants_of::<PayerKind>(),
        variants_of::<CouponKind>(),
        variants_of::<CouponEnd>(),
        variants_of::<QuotaSource>(),
        variants_of::<OrderKind>(),
        variants_of::<OrderStatus>(),
        variants_of::<PartnerPaymentStatus>(),
        variants_of::<BillType>(),
        variants_of::<WithdrawalStatus>(),
        variants_of::<InvoiceStatus>(),
        variants_of::<InvoiceBasis>(),
    ];
    let listed: BTreeSet<&str> = enums.iter().map(|(name, _)| *name).collect();
    let unlisted: BTreeSet<&str> = used.0.iter().map(|(name, _)| *name).filter(|name| !listed.contains(name)).collect();
    assert!(unlisted.is_empty(), "the journal stores enums this test does not check: {unlisted:?}");
    let missing: Vec<String> = enums
        .iter()
        .flat_map(|(name, variants)| variants.iter().map(move |variant| (*name, *variant)))
        .filter(|pair| !used.0.contains(pair))
        .map(|(name, variant)| format!("{name}::{variant}"))
        .collect();
    assert!(missing.is_empty(), "no pinned transaction body holds these variants: {missing:?}");
}

// ---------------------------------------------------------------------------------------------
// End to end: what a ledger actually writes

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00Z").expect("valid time")
    }
}

const WRITTEN_HEAD: &str = "010400000000000000056b7e439ec5dab6c46602224add3add2e7ee496a4f135170306e7c3ac2d26ea0069998d9b010000";
const WRITTEN_LAST_JOURNAL: &str = "02056b7e439ec5dab6c46602224add3add2e7ee496a4f135170306e7c3ac2d26ea0f80a4cbd9f16602723401024431040002024331b48703010e4a616e756172792062756467657400";
/// The same record as formats 4 to 6 stored it, with its postings: format 7 reads it.
const WRITTEN_LAST_JOURNAL_FORMAT_6: &str = "02056b7e439ec5dab6c46602224add3add2e7ee496a4f135170306e7c3ac2d26ea030480a4cbd9f16602723401024431040002024331b48703010e4a616e7561727920627564676574020102443105b3870300020243310ab487030000";
/// The same record as format 3 stored it, whole: the body put back together is byte for byte
/// the body format 3 hashed.
const WRITTEN_LAST_JOURNAL_WHOLE: &str = "01056b7e439ec5dab6c46602224add3add2e7ee496a4f135170306e7c3ac2d26ea0480a4cbd9f16602723401024431040002024331b48703010e4a616e75617279206275646765740bf98d78063279d81244e871349115bf7c3bba988cf030c59ffa8916118a8b47020102443105b3870300020243310ab487030000010002443102024331b48703010e4a616e756172792062756467657404027234f92f845612066f772f9f4b6444f33db949a73ecd0d208cb87426befad21a3b21";
const WRITTEN_CUSTOMER: &str = "01000202433101010244310080c7efd7f1660000011ee69dade5b79ee4ba91e5b886e7a791e68a80e69c89e99990e585ace58fb8010d48572d30303831323334353637000080c7efd7f16602";

/// The same four requests always write the same bytes: this pins the request fingerprint and the
/// hash chain on top of the record encodings, the names of the `meta` keys, and where records go.
#[test]
fn a_ledger_writes_the_pinned_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("golden.redb");
    {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("open");
        for line in [
            r#"{"op":"register_partner","id":"r1","actor":"platform","partner":"D1","kind":"distributor","at":"2026-01-05T09:00:00Z"}"#,
            r#"{"op":"register_customer","id":"r2","actor":"partner:D1","customer":"C1","partner":"D1","name":"杭州云帆科技有限公司","external_id":"HW-0081234567","at":"2026-01-05T09:30:00Z"}"#,
            r#"{"op":"recharge","id":"r3","actor":"platform","party":"partner:D1","amount":"1000"}"#,
            r#"{"op":"allocate","id":"r4","actor":"partner:D1","to":"customer:C1","amount":"250.50","memo":"January budget","at":"2026-01-05T10:00:00Z"}"#,
        ] {
            let response = ledger.execute_line(line);
            assert!(response.is_ok(), "{}", response.to_line());
        }
    }
    let db = redb::Database::open(&path).expect("reopen with redb");
    let txn = db.begin_read().expect("read");
    let meta = txn.open_table(partner_ledger::tables::META).expect("meta");
    let keys: Vec<String> = meta.iter().expect("iter").map(|entry| entry.expect("entry").0.value().to_owned()).collect();
    // Dropping the ledger wrote a checkpoint of the state tables up to the head, which is the
    // journal's last record (no copy of it is kept).
    assert_eq!(keys, ["checkpoint", "format"]);
    assert_eq!(meta.get("format").expect("get").expect("format").value(), [FORMAT_VERSION]);
    let head = meta.get("checkpoint").expect("get").expect("checkpoint").value().to_vec();
    assert_golden("the head a ledger wrote", &head, WRITTEN_HEAD);
    let journal = txn.open_table(partner_ledger::tables::JOURNAL).expect("journal");
    let last = journal.get(4).expect("get").expect("seq 4").value().to_vec();
    // Stored lean (format 4); the chain hashes, and so the head above, are those of format 3.
    assert_golden("the journal record a ledger wrote", &last, WRITTEN_LAST_JOURNAL);
    let prev = journal_hash(journal.get(3).expect("get").expect("seq 3").value()).expect("a hash");
    let decoded = decode_journal(4, &last, &prev).expect("decodes");
    assert!(decoded.is_lean());
    let (hash, transaction) = (decoded.hash, decoded.transaction.clone());
    assert_eq!(<[u8; 32]>::from(Sha256::digest(decoded.body().as_ref())), hash, "the body put back together hashes to the stored hash");
    assert_golden("the journal record a format-3 ledger wrote", &encode_journal(&hash, &decoded.body()), WRITTEN_LAST_JOURNAL_WHOLE);
    // Stored as format 6 did, with its postings, it reads as the same transaction and body.
    let format_6 = unhex(WRITTEN_LAST_JOURNAL_FORMAT_6);
    let format_6 = decode_journal(4, &format_6, &prev).expect("a format-6 record decodes");
    assert_eq!((&format_6.transaction, format_6.body()), (&transaction, decoded.body()));
    let postings = postcard::to_stdvec(&transaction.effects.postings).expect("encodes");
    assert_eq!(last.len(), WRITTEN_LAST_JOURNAL_FORMAT_6.len() / 2 - postings.len() - 1, "format 7 leaves the seq and the postings out");
    assert_eq!(records::decode_head(&head).expect("head").hash, hash);
    assert_eq!(transaction.seq, 4);
    assert_eq!(transaction.at, at("2026-01-05T10:00:00Z"));

    // Registering wrote each party's record under its key, current and as of its seq.
    let current = txn.open_table(partner_ledger::tables::RECORDS).expect("records");
    let keys: Vec<String> = current.iter().expect("iter").map(|entry| entry.expect("entry").0.value().to_owned()).collect();
    assert_eq!(keys, ["customer:C1", "partner:D1"]);
    let written = current.get("customer:C1").expect("get").expect("customer:C1").value().to_vec();
    assert_golden("the customer record a ledger wrote", &written, WRITTEN_CUSTOMER);
    let history = txn.open_table(partner_ledger::tables::RECORD_HISTORY).expect("record history");
    let keys: Vec<(String, u64)> = history
        .iter()
        .expect("iter")
        .map(|entry| {
            let (key, _) = entry.expect("entry");
            let (key, seq) = key.value();
            (key.to_owned(), seq)
        })
        .collect();
    assert_eq!(keys, [("customer:C1".to_owned(), 2), ("partner:D1".to_owned(), 1)]);
    assert_eq!(history.get(("customer:C1", 2)).expect("get").expect("as of seq 2").value(), written.as_slice());
    let Ok(Record::Party(party, record)) = decode_record(&written) else { panic!("the customer record decodes as a party") };
    assert_eq!(party, customer("C1"));
    assert_eq!(record.registered_at, at("2026-01-05T09:30:00Z"));
    assert_eq!(record.seq, 2);
    let Role::Customer { association: Some(association), name, external_id, .. } = record.role else { panic!("an associated customer") };
    assert_eq!((association.partner, association.kind, association.at), (id("D1"), AssociationKind::Resale, at("2026-01-05T09:30:00Z")));
    assert_eq!((name.as_deref(), external_id), (Some("杭州云帆科技有限公司"), Some(id("HW-0081234567"))));
}

/// Format 3 only added `record_index`: a format-2 file (the same tables without it) opens, gets
/// the index built from its records in the opening transaction, says format 3 from then on, and
/// verifies; its listings read the same as before.
#[test]
fn a_format_2_ledger_file_opens_through_the_record_index_migration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("format-2.redb");
    let lines = [
        r#"{"op":"register_partner","id":"r1","actor":"platform","partner":"D1","kind":"distributor"}"#,
        r#"{"op":"register_customer","id":"r2","actor":"partner:D1","customer":"C1","partner":"D1","external_id":"HW-1"}"#,
        r#"{"op":"register_customer","id":"r3","actor":"partner:D1","customer":"C2","partner":"D1"}"#,
        r#"{"op":"recharge","id":"r4","actor":"platform","party":"partner:D1","amount":"1000"}"#,
        r#"{"op":"allocate","id":"r5","actor":"partner:D1","to":"customer:C1","amount":"250.50"}"#,
    ];
    let listing = r#"{"op":"customers","actor":"partner:D1"}"#;
    let before = {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("open");
        for line in lines {
            let response = ledger.execute_line(line);
            assert!(response.is_ok(), "{}", response.to_line());
        }
        ledger.execute_line(listing).to_line()
    };
    let index_rows = |path: &std::path::Path| {
        let db = redb::Database::open(path).expect("reopen with redb");
        let txn = db.begin_read().expect("read");
        let table = txn.open_table(partner_ledger::tables::RECORD_INDEX).expect("record index");
        let rows: Vec<String> = table.iter().expect("iter").map(|entry| format!("{:?}", entry.expect("entry").0.value())).collect();
        let format =
            txn.open_table(partner_ledger::tables::META).expect("meta").get("format").expect("get").expect("format").value().to_vec();
        (rows, format)
    };
    let (written, format) = index_rows(&path);
    assert_eq!(format, [FORMAT_VERSION]);
    assert_eq!(written.len(), 3, "C1 and C2 under D1, and C1's external id: {written:?}");
    {
        // What format 2 wrote: no record index, format 2.
        let db = redb::Database::open(&path).expect("reopen with redb");
        let txn = db.begin_write().expect("write");
        assert!(txn.delete_table(partner_ledger::tables::RECORD_INDEX).expect("delete"));
        balances_as_before_format_7(&txn);
        txn.open_table(partner_ledger::tables::META).expect("meta").insert("format", [2_u8].as_slice()).expect("insert");
        txn.commit().expect("commit");
    }
    let ledger = Ledger::open(&path).expect("a format-2 file opens");
    assert_eq!(ledger.execute_line(listing).to_line(), before);
    assert!(ledger.verify().is_ok(), "{:?}", ledger.verify());
    drop(ledger);
    assert_eq!(index_rows(&path), (written, vec![FORMAT_VERSION]), "the index a format-3 ledger writes, and format 3");
}

/// Format 2 replaced format 1 without a decoder for it: a file whose `meta` says format 1 (or a
/// format this build does not know) is refused on opening with an error naming its version and
/// this build's, and the refusal writes nothing to it.
#[test]
fn a_format_1_ledger_file_is_refused_on_opening() {
    refuses_format(1);
}

#[test]
fn a_file_of_an_unknown_format_is_refused_on_opening() {
    refuses_format(8);
}

/// What the tests of older formats write before rewriting the file as that format stored it: a
/// distributor, its customer, a recharge and an allocation.
const OLD_FORMAT_LINES: [&str; 4] = [
    r#"{"op":"register_partner","id":"r1","actor":"platform","partner":"D1","kind":"distributor","at":"2026-01-05T09:00:00Z"}"#,
    r#"{"op":"register_customer","id":"r2","actor":"partner:D1","customer":"C1","partner":"D1","name":"C1"}"#,
    r#"{"op":"recharge","id":"r3","actor":"platform","party":"partner:D1","amount":"1000"}"#,
    r#"{"op":"allocate","id":"r4","actor":"partner:D1","to":"customer:C1","amount":"250.50","at":"2026-01-05T10:00:00Z"}"#,
];

/// Format 4 stores journal records lean. A format-3 file, whose records are whole, opens as it
/// is (each record's version byte says its form), verifies, takes new commits lean beside its
/// whole records, and `compact` rewrites the whole ones lean with the same chain hashes.
#[test]
fn a_format_3_ledger_file_opens_and_compaction_rewrites_its_records_lean() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("format-3.redb");
    let lines = OLD_FORMAT_LINES;
    let head = {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("open");
        for line in lines {
            assert!(ledger.execute_line(line).is_ok(), "{line}");
        }
        ledger.head()
    };
    // Every record rewritten whole, as format 3 stored it, and the file marked format 3.
    let whole: Vec<(u64, Vec<u8>)> = {
        let db = redb::Database::open(&path).expect("reopen with redb");
        let txn = db.begin_write().expect("write");
        let mut rewritten = Vec::new();
        {
            let mut journal = txn.open_table(partner_ledger::tables::JOURNAL).expect("journal");
            let mut prev = [0; 32];
            for seq in 1..=head.seq {
                let bytes = journal.get(seq).expect("get").expect("record").value().to_vec();
                let record = decode_journal(seq, &bytes, &prev).expect("decodes");
                assert!(record.is_lean(), "seq {seq} was written lean");
                let whole = encode_journal(&record.hash, &record.body());
                prev = record.hash;
                rewritten.push((seq, whole));
            }
            for (seq, bytes) in &rewritten {
                journal.insert(*seq, bytes.as_slice()).expect("insert");
            }
            // Request runs as format 3 wrote them: each id with its seq and fingerprint.
            let mut runs = txn.open_table(partner_ledger::tables::REQUESTS).expect("request runs");
            let held: Vec<(u64, Vec<u8>)> = runs
                .iter()
                .expect("iter")
                .map(|entry| entry.expect("read"))
                .map(|(key, value)| (key.value(), value.value().to_vec()))
                .collect();
            assert!(!held.is_empty(), "closing wrote a checkpoint with its request run");
            for (key, bytes) in held {
                let rows: Vec<(String, u64, [u8; 32])> = decode_request_run(&bytes)
                    .expect("decodes")
                    .into_iter()
                    .map(|(id, seq, fingerprint)| {
                        assert_eq!(fingerprint, None, "this build's runs leave the fingerprint to the journal");
                        let (_, whole) = &rewritten[usize::try_from(seq - 1).expect("small")];
                        let transaction = decode_journal(seq, whole, &[0; 32]).expect("decodes").transaction;
                        (id.to_string(), seq, transaction.fingerprint)
                    })
                    .collect();
                let old = [vec![RECORD_VERSION], postcard::to_stdvec(&rows).expect("encodes")].concat();
                runs.insert(key, old.as_slice()).expect("insert");
            }
            balances_as_before_format_7(&txn);
            txn.open_table(partner_ledger::tables::META).expect("meta").insert("format", [3_u8].as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
        rewritten
    };
    let stored = |path: &std::path::Path| -> (Vec<u8>, Vec<Vec<u8>>) {
        let db = redb::Database::open(path).expect("reopen with redb");
        let txn = db.begin_read().expect("read");
        let format =
            txn.open_table(partner_ledger::tables::META).expect("meta").get("format").expect("get").expect("format").value().to_vec();
        let journal = txn.open_table(partner_ledger::tables::JOURNAL).expect("journal");
        (format, journal.iter().expect("iter").map(|entry| entry.expect("entry").1.value().to_vec()).collect())
    };
    let statement = r#"{"op":"statement","actor":"platform","party":"customer:C1","account":"allocated"}"#;
    {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("a format-3 file opens");
        assert_eq!(ledger.head(), head);
        // A resent request is found in a format-3 run (hashed, then confirmed by its whole
        // journal record) and answered as a duplicate.
        let resent = ledger.execute_line(lines[3]).to_line();
        assert!(resent.contains(r#""duplicate":true"#) && resent.contains(r#""seq":4"#), "{resent}");
        assert_eq!(ledger.verify().expect("its whole records verify").head, head);
        let answer = ledger.execute_line(statement).to_line();
        assert!(answer.contains("250.50"), "{answer}");
        let fifth = r#"{"op":"allocate","id":"r5","actor":"partner:D1","to":"customer:C1","amount":"1","at":"2026-01-05T11:00:00Z"}"#;
        assert!(ledger.execute_line(fifth).is_ok());
    }
    let (format, records) = stored(&path);
    assert_eq!(format, [FORMAT_VERSION], "opening marked the file format 4");
    let versions: Vec<u8> = records.iter().map(|bytes| bytes[0]).collect();
    assert_eq!(
        versions,
        [RECORD_VERSION, RECORD_VERSION, RECORD_VERSION, RECORD_VERSION, JOURNAL_LEAN_VERSION],
        "old records whole, the new one lean"
    );
    Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("reopens").compact().expect("compact");
    let (format, records) = stored(&path);
    assert_eq!(format, [FORMAT_VERSION]);
    assert_eq!(records.len(), 5);
    let mut prev = [0; 32];
    for (seq, bytes) in records.iter().enumerate() {
        assert_eq!(bytes[0], JOURNAL_LEAN_VERSION, "seq {} is lean after compaction", seq + 1);
        let record = decode_journal(seq as u64 + 1, bytes, &prev).expect("decodes");
        if let Some((_, old)) = whole.get(seq) {
            assert_eq!(record.hash, journal_hash(old).expect("a hash"), "seq {}: the same chain hash", seq + 1);
            assert_eq!(record.body().as_ref(), &old[33..], "seq {}: the same body", seq + 1);
        }
        prev = record.hash;
    }
    let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("reopens");
    assert_eq!(ledger.verify().expect("verifies after compaction").transactions, 5);
    assert!(ledger.execute_line(statement).to_line().contains("250.50"));
}

/// Rewrites the balances of a file this build wrote as formats 2 to 6 stored them: keyed by
/// the account's text, 17 bytes each. Returns them (key, value).
fn balances_as_before_format_7(txn: &redb::WriteTransaction) -> Vec<(String, Vec<u8>)> {
    const BALANCES_FORMAT_6: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("balances");
    let mut rows = Vec::new();
    {
        let table = txn.open_table(partner_ledger::tables::BALANCES).expect("balances");
        for entry in table.iter().expect("iter") {
            let (key, value) = entry.expect("entry");
            assert_eq!(value.value()[0], BALANCE_VARINT_VERSION);
            let balance = decode_balance(value.value()).expect("decodes");
            let account = decode_account_key(key.value()).expect("an account key");
            rows.push((account.to_string(), [vec![RECORD_VERSION], balance.minor().to_le_bytes().to_vec()].concat()));
        }
    }
    assert!(txn.delete_table(partner_ledger::tables::BALANCES).expect("delete"));
    let mut table = txn.open_table(BALANCES_FORMAT_6).expect("balances as text");
    for (key, value) in &rows {
        table.insert(key.as_str(), value.as_slice()).expect("insert");
    }
    rows
}

/// Format 7 leaves a transfer's postings out of its lean record, keys balances and posting
/// blocks by the account's encoding and stores balances as varints. A format-6 file opens: its
/// records with their postings read as they are, its balances are rewritten in the opening
/// transaction, its posting index is rebuilt from the journal, and new commits are stored the
/// new way beside the old records.
#[test]
fn a_format_6_ledger_file_is_migrated_on_opening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("format-6.redb");
    let lines = OLD_FORMAT_LINES;
    let statement = r#"{"op":"statement","actor":"platform","party":"customer:C1","account":"allocated"}"#;
    let balance = r#"{"op":"balance","actor":"platform","party":"customer:C1"}"#;
    let (head, statement_before) = {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("open");
        for line in lines {
            assert!(ledger.execute_line(line).is_ok(), "{line}");
        }
        (ledger.head(), ledger.execute_line(statement).to_line())
    };
    // Every record and balance rewritten as format 6 stored it, its posting index dropped (a
    // rebuilt one must answer the same), and the file marked format 6.
    let (old_records, old_balances) = {
        let db = redb::Database::open(&path).expect("reopen with redb");
        let txn = db.begin_write().expect("write");
        let mut records = Vec::new();
        {
            let mut journal = txn.open_table(partner_ledger::tables::JOURNAL).expect("journal");
            let mut prev = [0; 32];
            for seq in 1..=head.seq {
                let bytes = journal.get(seq).expect("get").expect("record").value().to_vec();
                let record = decode_journal(seq, &bytes, &prev).expect("decodes");
                let body = record.body();
                let form = lean_form(&record.transaction, &body).expect("written lean");
                assert_eq!(form.postings_end.is_some(), seq == 4, "seq {seq}: only the allocation's postings are left out");
                records.push((seq, encode_journal_lean(&record.hash, &body, LeanForm { postings_end: None, seq_end: None, ..form })));
                prev = record.hash;
            }
            for (seq, bytes) in &records {
                journal.insert(*seq, bytes.as_slice()).expect("insert");
            }
        }
        assert!(txn.delete_table(partner_ledger::tables::POSTINGS).expect("delete"), "the statement built the posting index");
        txn.open_table(partner_ledger::tables::META).expect("meta").remove("history").expect("remove");
        let balances = balances_as_before_format_7(&txn);
        txn.open_table(partner_ledger::tables::META).expect("meta").insert("format", [6_u8].as_slice()).expect("insert");
        txn.commit().expect("commit");
        (records, balances)
    };
    assert!(old_balances.len() >= 3, "{old_balances:?}");
    // The format, the journal records and the balances (account, value) as stored.
    type Stored = (Vec<u8>, Vec<Vec<u8>>, Vec<(String, Vec<u8>)>);
    let stored = |path: &std::path::Path| -> Stored {
        let db = redb::Database::open(path).expect("reopen with redb");
        let txn = db.begin_read().expect("read");
        let format =
            txn.open_table(partner_ledger::tables::META).expect("meta").get("format").expect("get").expect("format").value().to_vec();
        let journal = txn.open_table(partner_ledger::tables::JOURNAL).expect("journal");
        let balances = txn.open_table(partner_ledger::tables::BALANCES).expect("balances under account keys");
        let balances = balances
            .iter()
            .expect("iter")
            .map(|entry| entry.expect("entry"))
            .map(|(key, value)| (decode_account_key(key.value()).expect("an account key").to_string(), value.value().to_vec()))
            .collect();
        (format, journal.iter().expect("iter").map(|entry| entry.expect("entry").1.value().to_vec()).collect(), balances)
    };
    {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("a format-6 file opens");
        assert_eq!(ledger.head(), head);
        let resent = ledger.execute_line(lines[3]).to_line();
        assert!(resent.contains(r#""duplicate":true"#) && resent.contains(r#""seq":4"#), "{resent}");
        assert_eq!(ledger.execute_line(statement).to_line(), statement_before, "the rebuilt posting index answers the same");
        assert_eq!(ledger.verify().expect("its records verify").head, head);
    }
    let (format, records, balances) = stored(&path);
    assert_eq!(format, [FORMAT_VERSION], "opening marked the file format 7");
    assert_eq!(records, old_records.iter().map(|(_, bytes)| bytes.clone()).collect::<Vec<_>>(), "old records as they were");
    let rekeyed: Vec<(String, Vec<u8>)> =
        old_balances.iter().map(|(key, bytes)| (key.clone(), encode_balance(decode_balance(bytes).expect("a format-6 balance")))).collect();
    let mut sorted = balances.clone();
    sorted.sort();
    let mut expected = rekeyed.clone();
    expected.sort();
    assert_eq!(sorted, expected, "every balance under its account key, as a varint");
    let before = {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("reopens");
        let fifth = r#"{"op":"allocate","id":"r5","actor":"partner:D1","to":"customer:C1","amount":"1","at":"2026-01-05T11:00:00Z"}"#;
        assert!(ledger.execute_line(fifth).is_ok());
        ledger.execute_line(balance).to_line()
    };
    assert!(before.contains("251.50"), "{before}");
    let (_, records, _) = stored(&path);
    assert_eq!((records[3][33], records[4][33]), (3, 15), "the old allocation with its seq and postings, the new one without");
    Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("reopens").compact().expect("compact");
    let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("reopens");
    assert_eq!(ledger.verify().expect("verifies after compaction").transactions, 5);
    assert_eq!(ledger.execute_line(balance).to_line(), before);
    assert!(ledger.execute_line(statement).to_line().contains("250.50"));
}

/// Format 3 added the ordinal to posting-index entries. A format-2 file opens: its history
/// tables (derived from the journal) are dropped with their watermark and rebuilt by the first
/// query that reads history, so a statement answers as before and `verify` passes.
#[test]
fn a_format_2_ledger_file_is_migrated_on_opening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("format-2.redb");
    let statement = r#"{"op":"statement","actor":"platform","party":"partner:D1","account":"cash"}"#;
    let before = {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("open");
        for line in [
            r#"{"op":"register_partner","id":"r1","actor":"platform","partner":"D1","kind":"distributor","at":"2026-01-05T09:00:00Z"}"#,
            r#"{"op":"register_customer","id":"r2","actor":"partner:D1","customer":"C1","partner":"D1","at":"2026-01-05T09:30:00Z"}"#,
            r#"{"op":"recharge","id":"r3","actor":"platform","party":"partner:D1","amount":"1000"}"#,
            r#"{"op":"allocate","id":"r4","actor":"partner:D1","to":"customer:C1","amount":"250.50","at":"2026-01-05T10:00:00Z"}"#,
        ] {
            let response = ledger.execute_line(line);
            assert!(response.is_ok(), "{}", response.to_line());
        }
        ledger.execute_line(statement).to_line()
    };
    assert!(before.contains(r#""total_count":2"#), "{before}");
    {
        // What format 2 stored: entries without the ordinal, and `meta` saying 2.
        let db = redb::Database::open(&path).expect("reopen with redb");
        let txn = db.begin_write().expect("write");
        {
            let mut rows = Vec::new();
            {
                let blocks = txn.open_table(partner_ledger::tables::POSTINGS).expect("posting blocks");
                let journal = txn.open_table(partner_ledger::tables::JOURNAL).expect("journal");
                for entry in blocks.iter().expect("iter") {
                    let (key, value) = entry.expect("entry");
                    let (account, first_seq) = key.value();
                    let account = decode_account_key(account).expect("an account key").to_string();
                    for posting in decode_posting_block(first_seq, value.value()).expect("decodes") {
                        let record = journal.get(posting.seq).expect("read").expect("the posting's record");
                        let (_, when, _, _) = decode_journal_effects(posting.seq, record.value()).expect("decodes");
                        rows.push(((account.clone(), posting.seq, posting.index), (posting.amount, posting.after, when)));
                    }
                }
            }
            assert_eq!(rows.len(), 4);
            assert!(txn.delete_table(partner_ledger::tables::POSTINGS).expect("delete"), "format 2 had no posting blocks");
            const POSTINGS_FORMAT_2: redb::TableDefinition<(&str, u64, u32), &[u8]> = redb::TableDefinition::new("postings");
            let mut postings = txn.open_table(POSTINGS_FORMAT_2).expect("postings");
            for ((account, seq, index), (amount, after, when)) in rows {
                let mut old = vec![RECORD_VERSION];
                old.extend(postcard::to_stdvec(&(amount.minor(), after.minor(), when.millis())).expect("encodes"));
                postings.insert((account.as_str(), seq, index), old.as_slice()).expect("write");
            }
            balances_as_before_format_7(&txn);
            txn.open_table(partner_ledger::tables::META).expect("meta").insert("format", [2_u8].as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("a format-2 file opens");
    assert_eq!(ledger.execute_line(statement).to_line(), before);
    ledger.verify().expect("the rebuilt history verifies");
    drop(ledger);
    let db = redb::Database::open(&path).expect("reopen with redb");
    let txn = db.begin_read().expect("read");
    let meta = txn.open_table(partner_ledger::tables::META).expect("meta");
    assert_eq!(meta.get("format").expect("get").expect("format").value(), [FORMAT_VERSION]);
}

fn refuses_format(version: u8) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("format-{version}.redb"));
    {
        let ledger = Ledger::open_with_clock(&path, Box::new(FixedClock)).expect("open");
        let response = ledger.execute_line(r#"{"op":"register_partner","id":"r1","actor":"platform","partner":"D1","kind":"distributor"}"#);
        assert!(response.is_ok(), "{}", response.to_line());
    }
    let format_of = |path: &std::path::Path| {
        let db = redb::Database::open(path).expect("reopen with redb");
        let txn = db.begin_read().expect("read");
        let meta = txn.open_table(partner_ledger::tables::META).expect("meta");
        meta.get("format").expect("get").expect("format").value().to_vec()
    };
    assert_eq!(format_of(&path), [FORMAT_VERSION]);
    {
        let db = redb::Database::open(&path).expect("reopen with redb");
        let txn = db.begin_write().expect("write");
        txn.open_table(partner_ledger::tables::META).expect("meta").insert("format", [version].as_slice()).expect("insert");
        txn.commit().expect("commit");
    }

    let error = Ledger::open(&path).expect_err("a file of this format must not open");
    assert!(matches!(error, OpenError(StoreError::Format(found)) if found == version), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("cannot open the ledger: unsupported ledger format version {version} (this build reads version {FORMAT_VERSION})")
    );
    let error = Store::open(&path).expect_err("nor as a bare store");
    assert!(matches!(error, StoreError::Format(found) if found == version), "{error:?}");
    let db = redb::Database::open(&path).expect("reopen with redb");
    let error = Store::from_database(db).expect_err("nor over a prepared database");
    assert!(matches!(error, StoreError::Format(found) if found == version), "{error:?}");
    assert_eq!(format_of(&path), [version], "the refusal left the file as it was");

    // The command line says so in one line naming the file, and exits 1.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_partner-ledger"))
        .args(["head", "--db", path.to_str().expect("UTF-8 path")])
        .output()
        .expect("run partner-ledger");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(path.to_str().expect("UTF-8 path")), "{stderr}");
    assert!(
        stderr.contains(&format!("unsupported ledger format version {version} (this build reads version {FORMAT_VERSION})")),
        "{stderr}"
    );
}
