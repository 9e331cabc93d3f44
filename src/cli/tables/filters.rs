//! The fixed choices of the query subcommands' filters, as the protocol names them.

use clap::ValueEnum;

/// A statement's account.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum StatementAccount {
    /// Money (a customer's own).
    Cash,
    /// A customer's allocated funds: its partner's money.
    Allocated,
    /// Credit in use (negative balance).
    Credit,
    /// Debt (negative balance).
    Arrears,
}

/// An adjust record operation.
#[derive(ValueEnum, Debug, Clone, Copy)]
#[value(rename_all = "snake_case")]
pub enum Operation {
    /// A partner funded a customer or reseller.
    Allocate,
    /// A partner took funds back.
    Recover,
    /// Allocated funds returned to the partner when a customer was unbound or switched to referral.
    UnbindReclaim,
    /// A refund of what a former partner's allocation paid, back to that partner.
    RefundReclaim,
}

/// The state of a partner-payment request (代付).
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum PartnerPayment {
    /// Asked for and still open: awaiting the partner.
    Requested,
    /// Declined by the partner.
    Rejected,
}

/// How a customer is associated with its partner.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Association {
    /// 代售: funded by the partner.
    Resale,
    /// 顾问销售: pays for itself.
    Referral,
}

/// The kind of a quota or coupon.
#[derive(ValueEnum, Debug, Clone, Copy)]
#[value(rename_all = "snake_case")]
pub enum CouponKind {
    /// A voucher (代金券).
    Voucher,
    /// A cash coupon (现金券), for whitelisted customers.
    CashCoupon,
    /// A pickup voucher (提货券): pays at most its ratio of an order.
    PickupVoucher,
}

/// A quota's status.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum QuotaStatus {
    Normal,
    Expired,
    Reclaimed,
}

/// A coupon's status.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum CouponStatus {
    Inactive,
    Usable,
    Used,
    Expired,
    Reclaimed,
}

/// A coupon record's operation.
#[derive(ValueEnum, Debug, Clone, Copy)]
#[value(rename_all = "snake_case")]
pub enum CouponOperation {
    IssueQuota,
    ReclaimQuota,
    IssueCoupon,
    ReclaimCoupon,
    UnbindReclaim,
    Expire,
    Redeem,
}
