//! Rejections: the business errors of SPEC.md section 6, as values with stable names.

use std::fmt;

macro_rules! error_codes {
    ($($variant:ident => $name:literal, $cbc:literal;)+) => {
        /// An error code of SPEC.md section 6. Its `name` and `cbc` are stable.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $name, "` (", $cbc, ")")]
                $variant,
            )+
        }

        impl ErrorCode {
            /// Every code, in the table's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code as written in the protocol, e.g. `insufficient_funds`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)+ }
            }

            /// The Partner Center CBC code, e.g. `CBC.99005003`.
            pub fn cbc(self) -> &'static str {
                match self { $(ErrorCode::$variant => $cbc,)+ }
            }
        }
    };
}

error_codes! {
    InvalidRequest => "invalid_request", "CBC.0100";
    InvalidId => "invalid_id", "CBC.0101";
    InvalidAmount => "invalid_amount", "CBC.0101";
    InvalidValidity => "invalid_validity", "CBC.0101";
    AccessDenied => "access_denied", "CBC.0151";
    NotFound => "not_found", "CBC.0100";
    AlreadyExists => "already_exists", "CBC.0100";
    IdReused => "id_reused", "CBC.0100";
    NotYourCustomer => "not_your_customer", "CBC.99000035";
    NotYourReseller => "not_your_reseller", "CBC.99000037";
    NotResaleCustomer => "not_resale_customer", "CBC.99000014";
    ResaleCustomer => "resale_customer", "CBC.0155";
    NotWhitelisted => "not_whitelisted", "CBC.99000014";
    AssociationState => "association_state", "CBC.0155";
    AssociationBlocked => "association_blocked", "CBC.0155";
    InsufficientFunds => "insufficient_funds", "CBC.99005003";
    CreditLimitBelowUsage => "credit_limit_below_usage", "CBC.0101";
    ExceedsCreditUsed => "exceeds_credit_used", "CBC.0101";
    QuotaInsufficient => "quota_insufficient", "CBC.99000013";
    QuotaNotValid => "quota_not_valid", "CBC.99000017";
    CouponNotUsable => "coupon_not_usable", "CBC.99003112";
    CouponNotReclaimable => "coupon_not_reclaimable", "CBC.99003112";
    DiscountNotUsable => "discount_not_usable", "CBC.99003112";
    OrderState => "order_state", "CBC.99003106";
    OrderExpired => "order_expired", "CBC.99003110";
    UseCombinedOrderId => "use_combined_order_id", "CBC.99000089";
    AlreadyInvoiced => "already_invoiced", "CBC.99003643";
    RefundExceedsPaid => "refund_exceeds_paid", "CBC.0101";
    WithdrawalState => "withdrawal_state", "CBC.0155";
    InvoiceState => "invoice_state", "CBC.0155";
    DebtOutstanding => "debt_outstanding", "CBC.0155";
    ExceedsInvoiceable => "exceeds_invoiceable", "CBC.0101";
    TimeWentBackwards => "time_went_backwards", "CBC.0100";
    Storage => "storage", "CBC.0999";
    NotLeader => "not_leader", "CBC.0999";
    NotApplied => "not_applied", "CBC.0999";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A refused command or query: a code, a message for people, and for a command inside an
/// `atomic` group the index of the failing command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    /// The SPEC.md error code.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// For a failure inside `atomic`: the index of the failing command.
    pub index: Option<usize>,
}

impl Rejection {
    /// A rejection with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Rejection {
        Rejection { code, message: message.into(), index: None }
    }

    /// The same rejection, attributed to command `index` of an atomic group.
    pub fn at_index(mut self, index: usize) -> Rejection {
        self.index = Some(index);
        self
    }
}

/// Shorthand for building a rejection.
pub(crate) fn reject<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(code, message))
}
