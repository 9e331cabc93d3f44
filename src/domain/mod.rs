//! Pure business rules: `(state, context, command) -> Result<Effects, Rejection>`.
//!
//! The in-memory [`State`] is everything the rules read to decide. Commands never touch storage or
//! the clock: the shell passes the time in [`Context`] and writes the returned [`Effects`].

mod coupons;
mod discounts;
mod funds;
mod invoices;
pub mod matching;
mod operators;
mod orders;
mod parties;
pub mod records;
mod requests;
mod scope;
mod state;
mod validate;
mod withdrawals;

pub use funds::transfer_postings;
pub(crate) use invoices::invoiceable_items;
pub(crate) use state::{Every, Index, IndexEntry, Miss, RecordKey, index_entries};
pub use state::{Head, RequestEntry, State, Undo};
pub use validate::validate;

use crate::amount::{Amount, Overflow};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{ChainHash, Posting};
use crate::time::Timestamp;
use records::{CouponKind, OrderKind, Payment, Record, Validity};
use serde::{Deserialize, Serialize};

/// Commands in one `atomic` group, at most.
pub const ATOMIC_COMMANDS_MAX: usize = 100;
/// Characters of a `memo` or `reason`, at most.
pub const TEXT_LENGTH_MAX: usize = 256;
/// Characters of a customer's `name`, at most.
pub const NAME_LENGTH_MAX: usize = 64;
/// Billing cycles one invoice may name, at most.
pub const INVOICE_CYCLES_MAX: usize = 12;
/// Bills one invoice may name, at most.
pub const INVOICE_BILLS_MAX: usize = 100;

/// The kind of a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartnerKind {
    /// A solution provider.
    SolutionProvider,
    /// A tier-1 distributor.
    Distributor,
    /// A tier-2 reseller with one parent distributor.
    Reseller,
}

impl PartnerKind {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            PartnerKind::SolutionProvider => "solution_provider",
            PartnerKind::Distributor => "distributor",
            PartnerKind::Reseller => "reseller",
        }
    }
}

/// How a customer is associated with its partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AssociationKind {
    /// 代售: funded by the partner.
    Resale,
    /// 顾问销售: pays for itself.
    Referral,
}

impl AssociationKind {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            AssociationKind::Resale => "resale",
            AssociationKind::Referral => "referral",
        }
    }
}

/// A customer's association with a partner.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Association {
    /// The partner's id.
    pub partner: Id,
    /// Resale or referral.
    pub kind: AssociationKind,
    /// When the association began (a switch of kind keeps it).
    pub at: crate::time::Timestamp,
}

/// A role an operator holds for its partner (SPEC 2.1); roles add up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OperatorRole {
    /// Everything its partner may.
    Admin,
    /// The partner's funds, withdrawals, invoices and partner payments; every query in scope.
    Finance,
    /// Reads the consumption of the customers assigned to it.
    CustomerManager,
}

impl OperatorRole {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            OperatorRole::Admin => "admin",
            OperatorRole::Finance => "finance",
            OperatorRole::CustomerManager => "customer_manager",
        }
    }
}

/// A customer's manager (an operator of its partner). An assignment takes effect from the next
/// UTC+8 day: until `from`, the previous manager is the one in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerAssignment {
    /// The manager in force before `from`.
    pub previous: Option<Id>,
    /// The manager in force from `from`.
    pub current: Option<Id>,
    /// Start of the UTC+8 day after the assignment.
    pub from: crate::time::Timestamp,
}

impl ManagerAssignment {
    /// The manager in force at `at`.
    pub fn at(&self, at: crate::time::Timestamp) -> Option<&Id> {
        if at >= self.from { self.current.as_ref() } else { self.previous.as_ref() }
    }
}

/// What a registered party is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// A partner, with its parent distributor when it is a reseller.
    Partner {
        /// Solution provider, distributor or reseller.
        kind: PartnerKind,
        /// The parent distributor of a reseller.
        parent: Option<Id>,
    },
    /// A customer.
    Customer {
        /// Its partner, if associated.
        association: Option<Association>,
        /// On its partner's cash-coupon whitelist.
        whitelisted: bool,
        /// Its customer manager, if one was ever assigned under the current association.
        manager: Option<ManagerAssignment>,
        /// Its name, up to 64 characters.
        name: Option<String>,
        /// The partner platform's own account id for it (伙伴销售平台账号).
        external_id: Option<Id>,
    },
    /// An operator acting for one partner.
    Operator {
        /// The partner it acts for.
        partner: Id,
        /// Its roles, distinct and sorted; empty when disabled.
        roles: Vec<OperatorRole>,
    },
}

/// The non-balance state of a registered partner, customer or operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyRecord {
    /// Partner or customer, with its relationships.
    pub role: Role,
    /// The credit limit (0 when none was set).
    pub credit_limit: Amount,
    /// Cash held by pending withdrawals: still in `cash`, not available.
    pub held: Amount,
    /// When it was registered.
    pub registered_at: crate::time::Timestamp,
    /// The transaction that registered it (listings are oldest first).
    pub seq: u64,
}

impl PartyRecord {
    /// The partner kind, when a partner.
    pub fn partner_kind(&self) -> Option<PartnerKind> {
        match self.role {
            Role::Partner { kind, .. } => Some(kind),
            Role::Customer { .. } | Role::Operator { .. } => None,
        }
    }

    /// The parent distributor, when a reseller.
    pub fn parent(&self) -> Option<&Id> {
        match &self.role {
            Role::Partner { parent, .. } => parent.as_ref(),
            Role::Customer { .. } | Role::Operator { .. } => None,
        }
    }

    /// The association, when an associated customer.
    pub fn association(&self) -> Option<&Association> {
        match &self.role {
            Role::Customer { association, .. } => association.as_ref(),
            Role::Partner { .. } | Role::Operator { .. } => None,
        }
    }

    /// The customer manager in force at `at`, when a customer.
    pub fn manager_at(&self, at: crate::time::Timestamp) -> Option<&Id> {
        match &self.role {
            Role::Customer { manager: Some(manager), .. } => manager.at(at),
            _ => None,
        }
    }

    /// The partner and roles, when an operator.
    pub fn operator(&self) -> Option<(&Id, &[OperatorRole])> {
        match &self.role {
            Role::Operator { partner, roles } => Some((partner, roles)),
            _ => None,
        }
    }
}

/// Direction of an `adjust`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Revenue → party (debt first).
    Compensate,
    /// Party's available cash → revenue.
    Deduct,
}

/// A mutating command of SPEC.md section 3. Variants are appended only: their order is part of
/// the journal's encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Command {
    /// `register_partner`.
    RegisterPartner {
        /// New partner id.
        partner: Id,
        /// Its kind.
        kind: PartnerKind,
        /// Parent distributor (resellers only).
        parent: Option<Id>,
    },
    /// `register_customer`.
    RegisterCustomer {
        /// New customer id.
        customer: Id,
        /// Partner to associate with.
        partner: Option<Id>,
        /// Association kind (default resale when a partner is given).
        association: Option<AssociationKind>,
        /// Its name.
        name: Option<String>,
        /// The partner platform's account id, unique per partner.
        external_id: Option<Id>,
    },
    /// `associate`.
    Associate {
        /// The customer.
        customer: Id,
        /// The partner.
        partner: Id,
        /// Resale or referral.
        association: AssociationKind,
    },
    /// `recharge`.
    Recharge {
        /// Partner or customer.
        party: Party,
        /// Amount from `bank`.
        amount: Amount,
    },
    /// `allocate`.
    Allocate {
        /// The funding partner (defaults to the actor).
        partner: Option<Id>,
        /// Receiving customer or reseller.
        to: Party,
        /// Amount.
        amount: Amount,
        /// Free text.
        memo: Option<String>,
    },
    /// `recover`.
    Recover {
        /// The recovering partner (defaults to the actor).
        partner: Option<Id>,
        /// Customer or reseller recovered from.
        from: Party,
        /// Amount.
        amount: Amount,
        /// Free text.
        memo: Option<String>,
    },
    /// `set_credit_limit`.
    SetCreditLimit {
        /// Partner or customer.
        party: Party,
        /// New limit (may be zero).
        limit: Amount,
    },
    /// `repay_credit`.
    RepayCredit {
        /// Partner or customer.
        party: Party,
        /// Amount from cash to credit.
        amount: Amount,
    },
    /// `adjust`.
    Adjust {
        /// Partner or customer.
        party: Party,
        /// Compensate or deduct.
        direction: Direction,
        /// Amount.
        amount: Amount,
        /// Why.
        reason: String,
    },
    /// `atomic`: all or none.
    Atomic {
        /// The grouped commands, in order.
        commands: Vec<Command>,
    },
    /// `issue_quota`.
    IssueQuota {
        /// New quota id.
        quota: Id,
        /// Receiving partner.
        partner: Id,
        /// Voucher or cash coupon.
        kind: CouponKind,
        /// Value.
        amount: Amount,
        /// Start (required of the platform; a distributor's default is its source quota's).
        valid_from: Option<crate::time::Timestamp>,
        /// End (required of the platform; a distributor's default is its source quota's).
        valid_until: Option<crate::time::Timestamp>,
        /// The distributor's own quota it is carved from.
        from_quota: Option<Id>,
    },
    /// `reclaim_quota`.
    ReclaimQuota {
        /// The quota.
        quota: Id,
    },
    /// `whitelist_customer`.
    WhitelistCustomer {
        /// The customer.
        customer: Id,
    },
    /// `issue_coupon`.
    IssueCoupon {
        /// New coupon id.
        coupon: Id,
        /// Source quota.
        quota: Id,
        /// Receiving customer.
        customer: Id,
        /// Value.
        face_value: Amount,
        /// Start (default: the quota's).
        valid_from: Option<Timestamp>,
        /// End (default: the quota's).
        valid_until: Option<Timestamp>,
        /// Service types it pays for (absent: any).
        services: Option<Vec<Id>>,
        /// A pickup voucher's largest share of each order.
        ratio: Option<crate::amount::Ratio>,
        /// The order kinds a pickup voucher pays (absent: all).
        order_kinds: Option<Vec<OrderKind>>,
    },
    /// `reclaim_coupon`.
    ReclaimCoupon {
        /// The coupon.
        coupon: Id,
    },
    /// `expire_coupons`.
    ExpireCoupons,
    /// `place_order`.
    PlaceOrder {
        /// New order id.
        order: Id,
        /// Buying customer.
        customer: Id,
        /// Price.
        amount: Amount,
        /// New, renew or change.
        kind: OrderKind,
        /// Service type.
        service: Option<Id>,
        /// Last instant payment is accepted (default: 7 days).
        pay_deadline: Option<Timestamp>,
    },
    /// `place_combined_order`.
    PlaceCombinedOrder {
        /// New combined order id.
        combined: Id,
        /// Buying customer.
        customer: Id,
        /// The member orders.
        orders: Vec<OrderLine>,
    },
    /// `pay_order`.
    PayOrder {
        /// Order or combined order id.
        order: Id,
        /// Coupons, in draw order.
        coupons: Vec<Id>,
        /// A business discount of the customer's.
        discount: Option<Id>,
        /// Customer or partner pays.
        payer: PayerKind,
    },
    /// `cancel_order`.
    CancelOrder {
        /// Order or combined order id.
        order: Id,
    },
    /// `unsubscribe`.
    Unsubscribe {
        /// The paid order.
        order: Id,
        /// Amount to refund.
        refund: Amount,
    },
    /// `consume`: on-demand usage.
    Consume {
        /// The customer.
        customer: Id,
        /// The deduction (the amount truncated to the fen).
        amount: Amount,
        /// The cut below the fen, in units of 10^-8.
        erase: i128,
        /// Service type.
        service: Option<Id>,
    },
    /// `request_withdrawal`.
    RequestWithdrawal {
        /// New withdrawal id.
        withdrawal: Id,
        /// Whose cash.
        party: Party,
        /// Amount.
        amount: Amount,
    },
    /// `approve_withdrawal`.
    ApproveWithdrawal {
        /// The withdrawal.
        withdrawal: Id,
    },
    /// `reject_withdrawal`.
    RejectWithdrawal {
        /// The withdrawal.
        withdrawal: Id,
        /// Why.
        reason: String,
    },
    /// `delete_withdrawal`.
    DeleteWithdrawal {
        /// The withdrawal.
        withdrawal: Id,
    },
    /// `unbind`.
    Unbind {
        /// The customer.
        customer: Id,
    },
    /// `switch_association`.
    SwitchAssociation {
        /// The customer.
        customer: Id,
        /// The new association kind.
        association: AssociationKind,
    },
    /// `request_invoice`.
    RequestInvoice {
        /// New invoice id.
        invoice: Id,
        /// The invoiced party.
        party: Party,
        /// What it covers: an amount, billing cycles or bills.
        basis: InvoiceBasis,
    },
    /// `return_invoice`.
    ReturnInvoice {
        /// The invoice.
        invoice: Id,
    },
    /// `register_operator`.
    RegisterOperator {
        /// New operator id.
        operator: Id,
        /// The partner it acts for.
        partner: Id,
        /// Its roles (non-empty, distinct).
        roles: Vec<OperatorRole>,
    },
    /// `set_operator_roles`: replaces the roles; none disables the operator.
    SetOperatorRoles {
        /// The operator.
        operator: Id,
        /// The new roles (distinct).
        roles: Vec<OperatorRole>,
    },
    /// `assign_customer_manager`: from the next UTC+8 day.
    AssignCustomerManager {
        /// The customer.
        customer: Id,
        /// The manager, or none to remove it.
        operator: Option<Id>,
    },
    /// `request_partner_payment` (代付): the customer asks its partner to pay an order.
    RequestPartnerPayment {
        /// Order or combined order id.
        order: Id,
    },
    /// `reject_partner_payment`: the partner declines.
    RejectPartnerPayment {
        /// Order or combined order id.
        order: Id,
        /// Why.
        reason: String,
    },
    /// `grant_discount` (商务折扣).
    GrantDiscount {
        /// New discount id.
        discount: Id,
        /// The customer.
        customer: Id,
        /// The share of the official price to pay.
        ratio: crate::amount::Ratio,
        /// Service types it applies to (absent: all).
        services: Option<Vec<Id>>,
        /// Usable window.
        validity: Validity,
    },
    /// `revoke_discount`.
    RevokeDiscount {
        /// The discount.
        discount: Id,
    },
}

/// What an invoice covers (SPEC 3 Invoices).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceBasis {
    /// An amount matched against the invoiceable items (SPEC 5).
    Amount(Amount),
    /// Every item of these UTC+8 billing cycles (`YYYY-MM`), in full.
    Cycles(Vec<String>),
    /// These bills' remaining value, in full.
    Bills(Vec<Id>),
}

/// A member order of `place_combined_order`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// New order id.
    pub order: Id,
    /// Price.
    pub amount: Amount,
    /// New, renew or change.
    pub kind: OrderKind,
    /// Service type.
    pub service: Option<Id>,
}

/// Who pays an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayerKind {
    /// The customer, from its coupons, cash and credit.
    Customer,
    /// The resale customer's partner, from its cash and credit.
    Partner,
}

impl Command {
    /// The protocol name of the command (`op`).
    pub fn op(&self) -> &'static str {
        match self {
            Command::RegisterPartner { .. } => "register_partner",
            Command::RegisterCustomer { .. } => "register_customer",
            Command::Associate { .. } => "associate",
            Command::Recharge { .. } => "recharge",
            Command::Allocate { .. } => "allocate",
            Command::Recover { .. } => "recover",
            Command::SetCreditLimit { .. } => "set_credit_limit",
            Command::RepayCredit { .. } => "repay_credit",
            Command::Adjust { .. } => "adjust",
            Command::Atomic { .. } => "atomic",
            Command::IssueQuota { .. } => "issue_quota",
            Command::ReclaimQuota { .. } => "reclaim_quota",
            Command::WhitelistCustomer { .. } => "whitelist_customer",
            Command::IssueCoupon { .. } => "issue_coupon",
            Command::ReclaimCoupon { .. } => "reclaim_coupon",
            Command::ExpireCoupons => "expire_coupons",
            Command::PlaceOrder { .. } => "place_order",
            Command::PlaceCombinedOrder { .. } => "place_combined_order",
            Command::PayOrder { .. } => "pay_order",
            Command::CancelOrder { .. } => "cancel_order",
            Command::Unsubscribe { .. } => "unsubscribe",
            Command::Consume { .. } => "consume",
            Command::RequestWithdrawal { .. } => "request_withdrawal",
            Command::ApproveWithdrawal { .. } => "approve_withdrawal",
            Command::RejectWithdrawal { .. } => "reject_withdrawal",
            Command::DeleteWithdrawal { .. } => "delete_withdrawal",
            Command::Unbind { .. } => "unbind",
            Command::SwitchAssociation { .. } => "switch_association",
            Command::RequestInvoice { .. } => "request_invoice",
            Command::ReturnInvoice { .. } => "return_invoice",
            Command::RegisterOperator { .. } => "register_operator",
            Command::SetOperatorRoles { .. } => "set_operator_roles",
            Command::AssignCustomerManager { .. } => "assign_customer_manager",
            Command::RequestPartnerPayment { .. } => "request_partner_payment",
            Command::RejectPartnerPayment { .. } => "reject_partner_payment",
            Command::GrantDiscount { .. } => "grant_discount",
            Command::RevokeDiscount { .. } => "revoke_discount",
        }
    }
}

/// The result of a successful command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Outcome {
    /// A partner was registered.
    PartnerRegistered(Id),
    /// A customer was registered.
    CustomerRegistered(Id),
    /// A customer was associated.
    Associated {
        /// The customer.
        customer: Id,
        /// The partner.
        partner: Id,
        /// The association kind.
        association: AssociationKind,
    },
    /// Money arrived at a party: what repaid debt, what reached cash.
    Funded {
        /// Debt repaid first.
        arrears_repaid: Amount,
        /// The rest, into cash.
        cash: Amount,
    },
    /// An allocation or recovery, named by its request id.
    Transfer(Id),
    /// The credit limit now in force.
    CreditLimit(Amount),
    /// Credit repaid from cash.
    CreditRepaid(Amount),
    /// Cash deducted to revenue.
    Deducted(Amount),
    /// The results of an atomic group, in order.
    Atomic(Vec<Outcome>),
    /// A quota was issued.
    QuotaIssued(Id),
    /// A quota was reclaimed: its remaining value went back to its source.
    QuotaReclaimed {
        /// The quota.
        quota: Id,
        /// The value returned.
        amount: Amount,
    },
    /// A coupon was reclaimed: its remaining value went back to its quota.
    CouponReclaimed {
        /// The coupon.
        coupon: Id,
        /// The value returned.
        amount: Amount,
    },
    /// A customer was whitelisted for cash coupons.
    Whitelisted(Id),
    /// A coupon was issued.
    CouponIssued(Id),
    /// Coupons past their validity were swept.
    CouponsExpired {
        /// The coupons swept.
        coupons: Vec<Id>,
        /// Their total remaining value.
        amount: Amount,
    },
    /// Orders were placed (one, or the members of a combined order).
    OrdersPlaced {
        /// The combined order, if any.
        combined: Option<Id>,
        /// The orders.
        orders: Vec<Id>,
        /// Their pay deadline.
        pay_deadline: Timestamp,
    },
    /// Orders were paid.
    Paid(Vec<(Id, Payment)>),
    /// Orders were cancelled.
    Cancelled(Vec<Id>),
    /// An order was unsubscribed.
    Refunded {
        /// Back to the payer's credit.
        credit: Amount,
        /// Back to the customer's `allocated` (debt first).
        allocated: Amount,
        /// Back to the former partner whose allocation paid (a `refund_reclaim`).
        partner: Amount,
        /// Back to the payer's cash (debt first).
        cash: Amount,
    },
    /// Usage was charged.
    Consumed {
        /// The usage bill.
        bill: Id,
        /// The deduction.
        deducted: Amount,
        /// The cut below the fen, in units of 10^-8.
        erase: i128,
        /// From coupons.
        coupon: Amount,
        /// From `allocated`.
        allocated: Amount,
        /// From cash.
        cash: Amount,
        /// From credit.
        credit: Amount,
        /// Left as debt.
        debt: Amount,
    },
    /// A withdrawal changed status.
    Withdrawal {
        /// The withdrawal.
        withdrawal: Id,
        /// Its new status.
        status: records::WithdrawalStatus,
    },
    /// A customer's association ended or switched, with what was reclaimed.
    AssociationChanged {
        /// The customer.
        customer: Id,
        /// The association now (none after unbind).
        association: Option<AssociationKind>,
        /// Allocated funds returned to the partner.
        allocated: Amount,
        /// Coupons returned to their quotas.
        coupons: Vec<Id>,
    },
    /// An invoice was issued, covering these bill amounts.
    Invoiced {
        /// The invoice.
        invoice: Id,
        /// The matched bill amounts.
        matched: Vec<matching::Matched>,
    },
    /// An invoice was returned.
    InvoiceReturned(Id),
    /// An operator was registered.
    OperatorRegistered(Id),
    /// An operator's roles now in force.
    OperatorRoles {
        /// The operator.
        operator: Id,
        /// Its roles.
        roles: Vec<OperatorRole>,
    },
    /// A customer manager was assigned (or removed), from a UTC+8 day on.
    ManagerAssigned {
        /// The customer.
        customer: Id,
        /// The manager, or none.
        operator: Option<Id>,
        /// When it takes effect.
        from: crate::time::Timestamp,
    },
    /// A partner-payment request changed on these orders.
    PartnerPayment {
        /// The order or combined id named.
        order: Id,
        /// The orders concerned.
        orders: Vec<Id>,
        /// The request's new status.
        status: records::PartnerPaymentStatus,
    },
    /// A discount was granted.
    DiscountGranted(Id),
    /// A discount was revoked.
    DiscountRevoked(Id),
}

/// An allocation, recovery or unbind reclaim, as listed by `adjust_records`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustRecord {
    /// `allocate`, `recover`, `unbind_reclaim` or `refund_reclaim`.
    pub operation: AdjustOperation,
    /// The partner whose cash moved.
    pub partner: Id,
    /// The customer or reseller on the other side.
    pub target: Party,
    /// The amount.
    pub amount: Amount,
    /// Free text.
    pub memo: Option<String>,
}

/// The operation of an adjust record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjustOperation {
    /// Partner → customer or reseller.
    Allocate,
    /// Customer or reseller → partner.
    Recover,
    /// A resale customer's `allocated` back to the partner on unbind or a switch to referral.
    UnbindReclaim,
    /// A refund of what a former partner's allocation paid, back to that partner.
    RefundReclaim,
}

impl AdjustOperation {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            AdjustOperation::Allocate => "allocate",
            AdjustOperation::Recover => "recover",
            AdjustOperation::UnbindReclaim => "unbind_reclaim",
            AdjustOperation::RefundReclaim => "refund_reclaim",
        }
    }
}

/// What a command changes: postings, upserted party records, adjust records, and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    /// Balanced postings.
    pub postings: Vec<Posting>,
    /// Records written (inserted or replaced).
    pub records: Vec<Record>,
    /// Adjust records appended.
    pub adjust_records: Vec<AdjustRecord>,
    /// The command's result.
    pub outcome: Outcome,
}

impl Effects {
    fn new(outcome: Outcome) -> Effects {
        Effects { postings: Vec::new(), records: Vec::new(), adjust_records: Vec::new(), outcome }
    }
}

/// The content digest of a request: actor, `at` as given, and the typed command. Equal meaning
/// gives an equal digest (`"100"` and `"100.00"` are the same amount).
pub fn fingerprint(actor: &Party, at: Option<Timestamp>, command: &Command) -> [u8; 32] {
    use sha2::Digest;
    let bytes = postcard::to_stdvec(&(actor, at, command)).expect("postcard encodes to a Vec");
    sha2::Sha256::digest(bytes).into()
}

/// One committed journal transaction: the unit of the hash chain and of replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    /// When it was applied.
    pub at: Timestamp,
    /// The request id.
    pub request: Id,
    /// Who asked.
    pub actor: Party,
    /// What was asked.
    pub command: Command,
    /// Digest of the request's content, to tell replays from reuse.
    pub fingerprint: [u8; 32],
    /// What changed.
    pub effects: Effects,
    /// Hash of the previous transaction.
    pub prev_hash: ChainHash,
}

/// Who asks, when, under which request id, and what the shell already knows about that id.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The acting party.
    pub actor: &'a Party,
    /// The command's time.
    pub at: Timestamp,
    /// The `seq` the command commits under, if it succeeds.
    pub seq: u64,
    /// The request id.
    pub request: &'a Id,
    /// The request id was committed before with different content.
    pub id_reused: bool,
    /// Index inside an atomic group (0 otherwise).
    pub part: u16,
    /// Inside an atomic group.
    pub grouped: bool,
}

impl Context<'_> {
    /// `id_reused` takes its place in the precedence after access and existence checks.
    fn fresh(&self) -> Result<(), Rejection> {
        if self.id_reused {
            return reject(ErrorCode::IdReused, format!("request id {} was already used for a different command", self.request));
        }
        Ok(())
    }

    /// `time_went_backwards` takes its place after state errors and before funds errors.
    fn in_time(&self, state: &State) -> Result<(), Rejection> {
        if self.at < state.head().at {
            return reject(
                ErrorCode::TimeWentBackwards,
                format!("at {} is before the last committed transaction ({})", self.at, state.head().at),
            );
        }
        Ok(())
    }
}

impl From<Overflow> for Rejection {
    fn from(_: Overflow) -> Rejection {
        Rejection::new(ErrorCode::InvalidAmount, "amount arithmetic overflowed")
    }
}

/// Runs `command` against `state`: decides, then applies the effects to `state` (recording how to
/// undo them in `undo`). A failed command leaves `state` as it was.
///
/// # Errors
/// The command's [`Rejection`], by SPEC.md's precedence.
pub fn run(state: &mut State, context: &Context<'_>, command: &Command, undo: &mut Undo) -> Result<Effects, Rejection> {
    let mark = undo.mark();
    let result = run_inner(state, context, command, undo);
    if result.is_err() {
        state.rollback(undo, mark);
    }
    result
}

fn run_inner(state: &mut State, context: &Context<'_>, command: &Command, undo: &mut Undo) -> Result<Effects, Rejection> {
    let Command::Atomic { commands } = command else {
        let effects = decide(state, context, command)?;
        state.apply(&effects, undo)?;
        return Ok(effects);
    };
    let mut combined = Effects::new(Outcome::Atomic(Vec::with_capacity(commands.len())));
    let mut outcomes = Vec::with_capacity(commands.len());
    for (index, inner) in commands.iter().enumerate() {
        let part = u16::try_from(index).map_err(|_| Rejection::new(ErrorCode::InvalidRequest, "atomic group too large"))?;
        let inner_context = Context { part, grouped: true, ..context.clone() };
        let effects = decide(state, &inner_context, inner)
            .and_then(|effects| state.apply(&effects, undo).map(|()| effects))
            .map_err(|rejection| if rejection.code == ErrorCode::IdReused { rejection } else { rejection.at_index(index) })?;
        combined.postings.extend(effects.postings);
        combined.records.extend(effects.records);
        combined.adjust_records.extend(effects.adjust_records);
        outcomes.push(effects.outcome);
    }
    combined.outcome = Outcome::Atomic(outcomes);
    Ok(combined)
}

/// Decides one non-atomic command without changing anything.
fn decide(state: &State, context: &Context<'_>, command: &Command) -> Result<Effects, Rejection> {
    // A malformed request ranks before everything (SPEC 2.2), even checks that need the time.
    if let Command::PlaceOrder { pay_deadline: Some(deadline), .. } = command
        && *deadline < context.at
    {
        return reject(ErrorCode::InvalidRequest, format!("pay_deadline {deadline} is before the order ({})", context.at));
    }
    // An operator acts as its partner, within its roles; the journal keeps the operator as actor.
    let acting = scope::acting(state, context.actor)?;
    if let Some((operator, roles)) = &acting.operator
        && !scope::operator_may(roles, command)
    {
        return reject(ErrorCode::AccessDenied, format!("operator:{operator} may not {} with its roles", command.op()));
    }
    let context = Context { actor: &acting.party, ..context.clone() };
    let effects = decide_command(state, &context, command)?;
    // Every handler checks the time at its place in the precedence; this guards the journal's
    // order should one forget.
    context.in_time(state)?;
    Ok(effects)
}

fn decide_command(state: &State, context: &Context<'_>, command: &Command) -> Result<Effects, Rejection> {
    match command {
        Command::RegisterPartner { partner, kind, parent } => parties::register_partner(state, context, partner, *kind, parent.as_ref()),
        Command::RegisterCustomer { customer, partner, association, name, external_id } => {
            let identity = parties::Identity { name: name.clone(), external_id: external_id.clone() };
            parties::register_customer(state, context, customer, partner.as_ref(), *association, identity)
        }
        Command::Associate { customer, partner, association } => parties::associate(state, context, customer, partner, *association),
        Command::Recharge { party, amount } => funds::recharge(state, context, party, *amount),
        Command::Allocate { partner, to, amount, memo } => funds::allocate(state, context, partner.as_ref(), to, *amount, memo),
        Command::Recover { partner, from, amount, memo } => funds::recover(state, context, partner.as_ref(), from, *amount, memo),
        Command::SetCreditLimit { party, limit } => funds::set_credit_limit(state, context, party, *limit),
        Command::RepayCredit { party, amount } => funds::repay_credit(state, context, party, *amount),
        Command::Adjust { party, direction, amount, .. } => funds::adjust(state, context, party, *direction, *amount),
        Command::Atomic { .. } => reject(ErrorCode::InvalidRequest, "atomic groups cannot be nested"),
        Command::IssueQuota { quota, partner, kind, amount, valid_from, valid_until, from_quota } => {
            coupons::issue_quota(state, context, quota, partner, *kind, *amount, (*valid_from, *valid_until), from_quota.as_ref())
        }
        Command::ReclaimQuota { quota } => coupons::reclaim_quota(state, context, quota),
        Command::WhitelistCustomer { customer } => coupons::whitelist_customer(state, context, customer),
        Command::IssueCoupon { coupon, quota, customer, face_value, valid_from, valid_until, services, ratio, order_kinds } => {
            let window = (*valid_from, *valid_until);
            let limits = coupons::Limits { services: services.as_ref(), ratio: *ratio, order_kinds: order_kinds.as_ref() };
            coupons::issue_coupon(state, context, coupon, quota, customer, *face_value, window, limits)
        }
        Command::ReclaimCoupon { coupon } => coupons::reclaim_coupon(state, context, coupon),
        Command::ExpireCoupons => coupons::expire_coupons(state, context),
        Command::PlaceOrder { order, customer, amount, kind, service, pay_deadline } => {
            let line = OrderLine { order: order.clone(), amount: *amount, kind: *kind, service: service.clone() };
            orders::place(state, context, None, customer, std::slice::from_ref(&line), *pay_deadline)
        }
        Command::PlaceCombinedOrder { combined, customer, orders } => orders::place(state, context, Some(combined), customer, orders, None),
        Command::PayOrder { order, coupons, discount, payer } => orders::pay(state, context, order, coupons, discount.as_ref(), *payer),
        Command::CancelOrder { order } => orders::cancel(state, context, order),
        Command::Unsubscribe { order, refund } => orders::unsubscribe(state, context, order, *refund),
        Command::Consume { customer, amount, erase, service } => {
            orders::consume(state, context, customer, *amount, *erase, service.as_ref())
        }
        Command::RequestWithdrawal { withdrawal, party, amount } => withdrawals::request(state, context, withdrawal, party, *amount),
        Command::ApproveWithdrawal { withdrawal } => withdrawals::approve(state, context, withdrawal),
        Command::RejectWithdrawal { withdrawal, reason } => withdrawals::reject_withdrawal(state, context, withdrawal, reason),
        Command::DeleteWithdrawal { withdrawal } => withdrawals::delete(state, context, withdrawal),
        Command::Unbind { customer } => parties::unbind(state, context, customer),
        Command::SwitchAssociation { customer, association } => parties::switch_association(state, context, customer, *association),
        Command::RequestInvoice { invoice, party, basis } => invoices::request(state, context, invoice, party, basis),
        Command::ReturnInvoice { invoice } => invoices::return_invoice(state, context, invoice),
        Command::RegisterOperator { operator, partner, roles } => operators::register(state, context, operator, partner, roles),
        Command::SetOperatorRoles { operator, roles } => operators::set_roles(state, context, operator, roles),
        Command::AssignCustomerManager { customer, operator } => operators::assign_manager(state, context, customer, operator.as_ref()),
        Command::RequestPartnerPayment { order } => orders::request_partner_payment(state, context, order),
        Command::RejectPartnerPayment { order, .. } => orders::reject_partner_payment(state, context, order),
        Command::GrantDiscount { discount, customer, ratio, services, validity } => {
            discounts::grant(state, context, discount, customer, *ratio, services.as_ref(), *validity)
        }
        Command::RevokeDiscount { discount } => discounts::revoke(state, context, discount),
    }
}

pub(crate) use scope::{Acting, Reach, acting, manages, may_read};
pub(crate) use withdrawals::withdrawable;

/// Checks that `acting` may read `party` with `reach` at `at` (queries follow the command scope
/// of SPEC 2.1), and that `party` exists.
///
/// # Errors
/// `access_denied`, then `not_found`.
pub(crate) fn authorize_query(state: &State, acting: &Acting<'_>, party: &Party, reach: Reach, at: Timestamp) -> Result<(), Rejection> {
    if !may_read(state, acting, party, reach, at) {
        let who = acting.operator.as_ref().map_or_else(|| acting.party.to_string(), |(operator, _)| format!("operator:{operator}"));
        return reject(ErrorCode::AccessDenied, format!("{who} may not read {party}"));
    }
    if *party == Party::Platform {
        return Ok(());
    }
    scope::require_exists(state, party).map(|_| ())
}

/// Whether a resolved actor may act for `party` in full under SPEC 2.1 (no registration check).
pub(crate) fn in_scope(state: &State, actor: &Party, party: &Party) -> bool {
    scope::in_scope(state, actor, party)
}
