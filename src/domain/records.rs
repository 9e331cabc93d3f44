//! The domain records besides balances: coupons and quotas, orders, bills and withdrawals. Each
//! is written whole by the command that changes it; `Record` carries one with its key.

use super::PartyRecord;
use crate::amount::{Amount, Ratio};
use crate::id::{Id, Party};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Services a coupon may name, at most.
pub const COUPON_SERVICES_MAX: usize = 10;
/// Coupons one payment may use, at most.
pub const PAYMENT_COUPONS_MAX: usize = 3;
/// Orders in a combined order: at least 2, at most 50.
pub const COMBINED_ORDERS_MIN: usize = 2;
/// Orders in a combined order, at most.
pub const COMBINED_ORDERS_MAX: usize = 50;
/// Days until an order's default pay deadline.
pub const PAY_DEADLINE_DAYS: i64 = 7;

/// Voucher, cash coupon or pickup voucher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CouponKind {
    /// 代金券.
    Voucher,
    /// 现金券: only for whitelisted customers.
    CashCoupon,
    /// 提货券: pays at most a ratio of each order whose kind it allows.
    PickupVoucher,
}

impl CouponKind {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            CouponKind::Voucher => "voucher",
            CouponKind::CashCoupon => "cash_coupon",
            CouponKind::PickupVoucher => "pickup_voucher",
        }
    }
}

/// A validity window, half-open: usable when `valid_from <= at < valid_until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    /// First usable instant.
    pub valid_from: Timestamp,
    /// First instant no longer usable.
    pub valid_until: Timestamp,
}

impl Validity {
    /// Whether `at` falls inside the window.
    pub fn contains(self, at: Timestamp) -> bool {
        self.valid_from <= at && at < self.valid_until
    }

    /// Whether this window lies within `outer`.
    pub fn within(self, outer: Validity) -> bool {
        outer.valid_from <= self.valid_from && self.valid_until <= outer.valid_until
    }
}

/// Where a quota's value came from (and returns to when reclaimed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuotaSource {
    /// The platform's `coupon_issuance`.
    Platform,
    /// A distributor's quota.
    Quota(Id),
}

/// A partner's coupon quota. Its balance is the `quota:<id>` account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// The owning partner.
    pub owner: Id,
    /// Voucher or cash coupon.
    pub kind: CouponKind,
    /// Usable window.
    pub validity: Validity,
    /// Where its value came from.
    pub source: QuotaSource,
    /// Reclaimed by its issuer.
    pub reclaimed: bool,
    /// The value issued into it.
    pub amount: Amount,
    /// The transaction that created it.
    pub seq: u64,
}

/// Status of a quota at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaStatus {
    /// Not reclaimed, not past its window.
    Normal,
    /// Past `valid_until`.
    Expired,
    /// Reclaimed by its issuer.
    Reclaimed,
}

impl QuotaStatus {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            QuotaStatus::Normal => "normal",
            QuotaStatus::Expired => "expired",
            QuotaStatus::Reclaimed => "reclaimed",
        }
    }
}

impl Quota {
    /// The status at `at`.
    pub fn status(&self, at: Timestamp) -> QuotaStatus {
        if self.reclaimed {
            QuotaStatus::Reclaimed
        } else if at >= self.validity.valid_until {
            QuotaStatus::Expired
        } else {
            QuotaStatus::Normal
        }
    }

    /// Usable for issuing at `at`: not reclaimed and inside its window.
    pub fn usable(&self, at: Timestamp) -> bool {
        !self.reclaimed && self.validity.contains(at)
    }
}

/// What ended a coupon early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CouponEnd {
    /// Still live (its status follows from time and remaining value).
    Live,
    /// Reclaimed to its quota.
    Reclaimed,
    /// Swept to `coupon_expired`.
    Expired,
}

/// A customer's coupon. Its remaining value is the `coupon:<id>` account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    /// The holder.
    pub customer: Id,
    /// The quota it was issued from.
    pub quota: Id,
    /// The partner owning that quota (the issuer).
    pub issuer: Id,
    /// Voucher or cash coupon.
    pub kind: CouponKind,
    /// Value at issue.
    pub face_value: Amount,
    /// Usable window.
    pub validity: Validity,
    /// Service types it pays for; `None` means any.
    pub services: Option<Vec<Id>>,
    /// A pickup voucher's largest share of each order it pays.
    pub ratio: Option<Ratio>,
    /// The order kinds a pickup voucher pays; `None` means all.
    pub order_kinds: Option<Vec<OrderKind>>,
    /// Reclaimed or swept.
    pub end: CouponEnd,
    /// The transaction that created it.
    pub seq: u64,
}

/// Status of a coupon at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponStatus {
    /// Before `valid_from`.
    Inactive,
    /// Usable now.
    Usable,
    /// Nothing left.
    Used,
    /// Past `valid_until` (or swept).
    Expired,
    /// Reclaimed.
    Reclaimed,
}

impl CouponStatus {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            CouponStatus::Inactive => "inactive",
            CouponStatus::Usable => "usable",
            CouponStatus::Used => "used",
            CouponStatus::Expired => "expired",
            CouponStatus::Reclaimed => "reclaimed",
        }
    }
}

impl Coupon {
    /// The status at `at`, given the coupon's remaining value.
    pub fn status(&self, at: Timestamp, remaining: Amount) -> CouponStatus {
        match self.end {
            CouponEnd::Reclaimed => CouponStatus::Reclaimed,
            CouponEnd::Expired => CouponStatus::Expired,
            CouponEnd::Live if remaining.is_zero() => CouponStatus::Used,
            CouponEnd::Live if at >= self.validity.valid_until => CouponStatus::Expired,
            CouponEnd::Live if at < self.validity.valid_from => CouponStatus::Inactive,
            CouponEnd::Live => CouponStatus::Usable,
        }
    }

    /// Whether it pays for `service` (`None`: an order without a service type).
    pub fn covers(&self, service: Option<&Id>) -> bool {
        match (&self.services, service) {
            (None, _) => true,
            (Some(services), Some(service)) => services.contains(service),
            (Some(_), None) => false,
        }
    }

    /// Whether it may pay any of `order`: it covers the order's service and, for a pickup voucher,
    /// allows the order's kind.
    pub fn applies_to(&self, order: &Order) -> bool {
        self.covers(order.service.as_ref()) && self.order_kinds.as_ref().is_none_or(|kinds| kinds.contains(&order.kind))
    }

    /// The most it may pay of `order` (SPEC 3): nothing of an order whose service it does not
    /// cover or, for a pickup voucher, whose kind it does not allow; a pickup voucher at most
    /// `floor_fen(ratio × amount)`; otherwise the whole amount.
    pub fn limit_for(&self, order: &Order) -> Amount {
        if !self.applies_to(order) {
            return Amount::ZERO;
        }
        self.ratio.map_or(order.amount, |ratio| ratio.share_of(order.amount))
    }
}

/// The kind of an order, which is also its bill's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderKind {
    /// A new purchase.
    New,
    /// A renewal.
    Renew,
    /// A change of specification.
    Change,
}

impl OrderKind {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            OrderKind::New => "new",
            OrderKind::Renew => "renew",
            OrderKind::Change => "change",
        }
    }
}

/// The life of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Placed, waiting for payment.
    PendingPayment,
    /// Paid.
    Paid,
    /// Cancelled before payment.
    Cancelled,
    /// Paid, then unsubscribed with a refund.
    Unsubscribed,
}

impl OrderStatus {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Unsubscribed => "unsubscribed",
        }
    }
}

/// How an order was paid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// What was due: the official price less the discount.
    pub due: Amount,
    /// The business discount taken off the official price.
    pub discount: Amount,
    /// Coupon value.
    pub coupon: Amount,
    /// The customer's `allocated` (its partner's funds).
    pub allocated: Amount,
    /// Cash.
    pub cash: Amount,
    /// Credit.
    pub credit: Amount,
}

/// A customer's request that its partner pay an order (代付).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartnerPaymentStatus {
    /// Open: the partner may pay; the customer may not.
    Requested,
    /// Declined by the partner: the customer may pay itself or ask again.
    Rejected,
}

impl PartnerPaymentStatus {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            PartnerPaymentStatus::Requested => "requested",
            PartnerPaymentStatus::Rejected => "rejected",
        }
    }
}

/// An order (alone or a member of a combined order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The buying customer.
    pub customer: Id,
    /// The combined order it belongs to.
    pub combined: Option<Id>,
    /// New, renew or change.
    pub kind: OrderKind,
    /// The cloud service type.
    pub service: Option<Id>,
    /// Price.
    pub amount: Amount,
    /// Status (the deadline is checked against time separately).
    pub status: OrderStatus,
    /// Last instant payment is accepted.
    pub pay_deadline: Timestamp,
    /// Who paid.
    pub payer: Option<Party>,
    /// How it was paid.
    pub paid: Payment,
    /// The partner whose allocation paid `paid.allocated` (the customer's partner then).
    pub allocated_partner: Option<Id>,
    /// The partner-payment request: open, rejected, or none (never asked, or ended by payment
    /// or cancellation).
    pub partner_payment: Option<PartnerPaymentStatus>,
    /// The partner that was last asked to pay it (kept after the request ends).
    pub asked_partner: Option<Id>,
    /// Refunded on unsubscribe.
    pub refunded: Amount,
    /// When placed.
    pub at: Timestamp,
    /// The transaction that placed it.
    pub seq: u64,
}

/// A combined transaction order (组合交易单): members paid or cancelled together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combined {
    /// The buying customer.
    pub customer: Id,
    /// Member orders, in the order given.
    pub orders: Vec<Id>,
    /// The transaction that placed it.
    pub seq: u64,
}

/// The type of a bill, with its numeric code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BillType {
    /// 1.
    New,
    /// 2.
    Renew,
    /// 3.
    Change,
    /// 4.
    Refund,
    /// 5.
    Usage,
    /// 9.
    Compensation,
    /// 16.
    Deduction,
}

impl BillType {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            BillType::New => "new",
            BillType::Renew => "renew",
            BillType::Change => "change",
            BillType::Refund => "refund",
            BillType::Usage => "usage",
            BillType::Compensation => "compensation",
            BillType::Deduction => "deduction",
        }
    }

    /// The Partner Center code.
    pub fn code(self) -> u8 {
        match self {
            BillType::New => 1,
            BillType::Renew => 2,
            BillType::Change => 3,
            BillType::Refund => 4,
            BillType::Usage => 5,
            BillType::Compensation => 9,
            BillType::Deduction => 16,
        }
    }

    /// The bill type of an order kind.
    pub fn of_order(kind: OrderKind) -> BillType {
        match kind {
            OrderKind::New => BillType::New,
            OrderKind::Renew => BillType::Renew,
            OrderKind::Change => BillType::Change,
        }
    }
}

/// A bill: one per paid order, refund, usage or adjustment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    /// Its type.
    pub bill_type: BillType,
    /// When.
    pub at: Timestamp,
    /// The customer it concerns (none for a partner's own adjustment).
    pub customer: Option<Id>,
    /// Who paid (or was refunded, compensated, deducted): owns the invoiceable amount.
    pub payer: Party,
    /// The order, for payment and refund bills.
    pub order: Option<Id>,
    /// Signed total.
    pub amount: Amount,
    /// Business discount taken off the official price (the amount is what was due after it).
    pub discount_amount: Amount,
    /// Coupon part.
    pub coupon_amount: Amount,
    /// `allocated` part.
    pub allocated_amount: Amount,
    /// Cash part.
    pub cash_amount: Amount,
    /// Credit part.
    pub credit_amount: Amount,
    /// Debt part (usage).
    pub debt_amount: Amount,
    /// Usage cut below the fen, in units of 10^-8.
    pub erase_amount: i128,
    /// Who may invoice it: the payer, except that a partner-paid bill of a referral customer is
    /// the customer's.
    pub invoice_owner: Party,
    /// Signed invoiceable amount.
    pub invoiceable: Amount,
    /// Signed amount already invoiced.
    pub invoiced: Amount,
    /// The transaction that wrote it.
    pub seq: u64,
}

/// The life of a withdrawal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WithdrawalStatus {
    /// Requested; the amount is held.
    Pending,
    /// Paid out to the bank.
    Approved,
    /// Refused; the hold released.
    Rejected,
    /// A rejected one removed from the listings.
    Deleted,
}

impl WithdrawalStatus {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            WithdrawalStatus::Pending => "pending",
            WithdrawalStatus::Approved => "approved",
            WithdrawalStatus::Rejected => "rejected",
            WithdrawalStatus::Deleted => "deleted",
        }
    }
}

/// A two-phase withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// Whose cash.
    pub party: Party,
    /// How much.
    pub amount: Amount,
    /// Status.
    pub status: WithdrawalStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When requested.
    pub at: Timestamp,
    /// The transaction that requested it.
    pub seq: u64,
}

/// The life of an invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceStatus {
    /// Issued: its matched amounts are invoiced.
    Issued,
    /// Returned: its matched amounts are invoiceable again.
    Returned,
}

impl InvoiceStatus {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Returned => "returned",
        }
    }
}

/// An invoice and the bill amounts it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The invoiced party.
    pub party: Party,
    /// The invoice amount.
    pub amount: Amount,
    /// Issued or returned.
    pub status: InvoiceStatus,
    /// What it covers, in matching order.
    pub matched: Vec<super::matching::Matched>,
    /// When issued.
    pub at: Timestamp,
    /// The transaction that issued it.
    pub seq: u64,
}

/// A business discount (商务折扣) granted to a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// The customer who may choose it when paying.
    pub customer: Id,
    /// The share of the official price to pay (`0.85` = 15% off).
    pub ratio: Ratio,
    /// Service types it applies to; `None` means all.
    pub services: Option<Vec<Id>>,
    /// Usable window.
    pub validity: Validity,
    /// Revoked by the platform.
    pub revoked: bool,
    /// The transaction that granted it.
    pub seq: u64,
}

impl Discount {
    /// Whether it may be chosen at `at`.
    pub fn usable(&self, at: Timestamp) -> bool {
        !self.revoked && self.validity.contains(at)
    }

    /// What is due for `order` with this discount: `amount - floor_fen(amount × (1 - ratio))` when
    /// it covers the order's service, else the whole amount.
    pub fn due_for(&self, order: &Order) -> Amount {
        let covers = match (&self.services, &order.service) {
            (None, _) => true,
            (Some(services), Some(service)) => services.contains(service),
            (Some(_), None) => false,
        };
        if !covers {
            return order.amount;
        }
        let off_hundredths = 100 - i128::from(self.ratio.hundredths());
        Amount::from_minor(order.amount.minor() - order.amount.minor() * off_hundredths / 100)
    }
}

/// A record with its key, as written by a command (insert or replace).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A partner or customer.
    Party(Party, PartyRecord),
    /// A quota.
    Quota(Id, Quota),
    /// A coupon.
    Coupon(Id, Coupon),
    /// An order.
    Order(Id, Order),
    /// A combined order.
    Combined(Id, Combined),
    /// A bill.
    Bill(Id, Bill),
    /// A withdrawal.
    Withdrawal(Id, Withdrawal),
    /// An invoice.
    Invoice(Id, Invoice),
    /// A business discount.
    Discount(Id, Discount),
}

impl Record {
    /// The storage key: `partner:P1`, `customer:C1`, `quota:Q1`, `coupon:K1`, `order:O1`,
    /// `combined:G1`, `bill:O1:refund`, `withdrawal:W1`.
    pub fn key(&self) -> String {
        match self {
            Record::Party(party, _) => party.to_string(),
            Record::Quota(id, _) => format!("quota:{id}"),
            Record::Coupon(id, _) => format!("coupon:{id}"),
            Record::Order(id, _) => format!("order:{id}"),
            Record::Combined(id, _) => format!("combined:{id}"),
            Record::Bill(id, _) => format!("bill:{id}"),
            Record::Withdrawal(id, _) => format!("withdrawal:{id}"),
            Record::Invoice(id, _) => format!("invoice:{id}"),
            Record::Discount(id, _) => format!("discount:{id}"),
        }
    }
}
