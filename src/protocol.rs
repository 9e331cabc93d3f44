//! The JSON-lines protocol of SPEC.md section 2: decoding request lines into typed requests and
//! encoding results. Decoding checks structure, ids and amounts, in that precedence.

use crate::amount::{Amount, AmountError, Ratio};
use crate::domain::records::{
    COMBINED_ORDERS_MAX, COMBINED_ORDERS_MIN, COUPON_SERVICES_MAX, CouponKind, CouponStatus, OrderKind, OrderStatus, PAYMENT_COUPONS_MAX,
    PartnerPaymentStatus, QuotaStatus, Validity,
};
use crate::domain::{
    ATOMIC_COMMANDS_MAX, AdjustOperation, AssociationKind, Command, Direction, INVOICE_BILLS_MAX, INVOICE_CYCLES_MAX, InvoiceBasis,
    NAME_LENGTH_MAX, OperatorRole, OrderLine, Outcome, PartnerKind, PayerKind, TEXT_LENGTH_MAX,
};
use crate::error::{ErrorCode, Rejection};
use crate::id::{Id, Party};
use crate::time::Timestamp;
use serde_json::{Map, Value, json};

/// The longest request line accepted, in bytes.
pub const LINE_LENGTH_MAX: usize = 1 << 20;
/// The largest page of a paged query.
pub const PAGE_LIMIT_MAX: u64 = 100;
const PAGE_LIMIT_DEFAULT: u64 = 10;

/// A decoded request: envelope and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The request id (required for commands, echoed for queries).
    pub id: Option<Id>,
    /// Who acts.
    pub actor: Party,
    /// The command's time, when given.
    pub at: Option<Timestamp>,
    /// What is asked.
    pub body: Body,
    /// For a query: answer only once the journal holds this `seq` (a replica that has not
    /// applied that far yet waits, SPEC section 9).
    pub min_seq: Option<u64>,
}

impl Request {
    /// A command request, to be timed by the ledger's clock unless [`Request::at`] sets a time.
    pub fn command(id: Id, actor: Party, command: Command) -> Request {
        Request { id: Some(id), actor, at: None, body: Body::Command(command), min_seq: None }
    }

    /// A query request.
    pub fn query(actor: Party, query: Query) -> Request {
        Request { id: None, actor, at: None, body: Body::Query(query), min_seq: None }
    }

    /// The same request at an explicit time.
    #[must_use]
    pub fn at(mut self, at: Timestamp) -> Request {
        self.at = Some(at);
        self
    }
}

/// A command or a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A mutating command.
    Command(Command),
    /// A read-only query.
    Query(Query),
}

/// A page of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Entries skipped.
    pub offset: u64,
    /// Entries returned, 1 to 100.
    pub limit: u64,
}

/// Which account a statement lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementAccount {
    /// `cash` (default).
    Cash,
    /// `allocated` (customers).
    Allocated,
    /// `credit`.
    Credit,
    /// `arrears`.
    Arrears,
}

/// The operation of a coupon record (`coupon_records`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponOperation {
    /// Value into a quota from the platform or a parent quota.
    IssueQuota,
    /// A quota's remaining value back to its source.
    ReclaimQuota,
    /// Quota value into a customer's coupon.
    IssueCoupon,
    /// A coupon's remaining value back to its quota.
    ReclaimCoupon,
    /// A coupon reclaimed by unbinding or switching to referral.
    UnbindReclaim,
    /// A coupon swept at expiry.
    Expire,
    /// Coupon value spent on an order or usage.
    Redeem,
}

impl CouponOperation {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        COUPON_OPERATIONS.iter().find(|(_, operation)| *operation == self).map_or("", |(name, _)| name)
    }
}

/// A query of SPEC.md section 4.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Query {
    /// `balance`.
    Balance {
        /// Whose balances.
        party: Party,
        /// Balances after the last transaction at or before this time.
        as_of: Option<Timestamp>,
    },
    /// `adjust_records`.
    AdjustRecords {
        /// Filter by partner.
        partner: Option<Id>,
        /// Filter by target.
        target: Option<Party>,
        /// Filter by operation.
        operation: Option<AdjustOperation>,
        /// Filter by the transfer (request id) that wrote it.
        transfer: Option<Id>,
        /// Earliest time, inclusive.
        from: Option<Timestamp>,
        /// Latest time, inclusive.
        to: Option<Timestamp>,
        /// Paging.
        page: Page,
    },
    /// `customers`.
    Customers {
        /// Whose customers (default: the acting partner's, with its resellers').
        partner: Option<Id>,
        /// Filter by association kind.
        association: Option<AssociationKind>,
        /// Filter by the manager in force.
        manager: Option<Id>,
        /// Paging.
        page: Page,
    },
    /// `resellers`.
    Resellers {
        /// The distributor (default: the actor).
        partner: Option<Id>,
        /// Paging.
        page: Page,
    },
    /// `quotas`.
    Quotas {
        /// Whose quotas.
        partner: Option<Id>,
        /// Filter by kind.
        kind: Option<CouponKind>,
        /// Filter by status at the query's time.
        status: Option<QuotaStatus>,
        /// Filter by the quota it was carved from.
        parent_quota: Option<Id>,
        /// Paging.
        page: Page,
    },
    /// `coupons`.
    Coupons {
        /// Whose coupons.
        customer: Option<Id>,
        /// Filter by source quota.
        quota: Option<Id>,
        /// Filter by kind.
        kind: Option<CouponKind>,
        /// Filter by status at the query's time.
        status: Option<CouponStatus>,
        /// Paging.
        page: Page,
    },
    /// `coupon_records`: the history of coupon value.
    CouponRecords {
        /// Filter by coupon.
        coupon: Option<Id>,
        /// Filter by quota (the quota's own records and its coupons').
        quota: Option<Id>,
        /// Filter by the coupons' holder.
        customer: Option<Id>,
        /// Filter by operation.
        operation: Option<CouponOperation>,
        /// Earliest time, inclusive.
        from: Option<Timestamp>,
        /// Latest time, inclusive.
        to: Option<Timestamp>,
        /// Paging.
        page: Page,
    },
    /// `operators`.
    Operators {
        /// Whose operators (default: the actor's partner).
        partner: Option<Id>,
        /// Paging.
        page: Page,
    },
    /// `invoiceable`.
    Invoiceable {
        /// Whose invoiceable bills.
        party: Party,
    },
    /// `invoice`.
    Invoice {
        /// The invoice.
        invoice: Id,
    },
    /// `consumption_summary`.
    ConsumptionSummary {
        /// The partner (defaults to the actor).
        partner: Option<Id>,
        /// Billing cycle `YYYY-MM` (UTC+8).
        cycle: String,
        /// Only the customers this operator manages.
        manager: Option<Id>,
    },
    /// `order`.
    Order {
        /// The order.
        order: Id,
    },
    /// `orders`.
    Orders {
        /// Whose orders (absent: every order in the actor's scope).
        customer: Option<Id>,
        /// Filter by shown status: `Some(None)` is `expired`.
        status: Option<Option<OrderStatus>>,
        /// Filter by partner-payment request status.
        partner_payment: Option<PartnerPaymentStatus>,
        /// Paging.
        page: Page,
    },
    /// `bills`.
    Bills {
        /// Whose bills.
        party: Party,
        /// Billing cycle `YYYY-MM` (UTC+8).
        cycle: Option<String>,
        /// Paging.
        page: Page,
    },
    /// `withdrawals`.
    Withdrawals {
        /// Whose withdrawals.
        party: Party,
        /// Paging.
        page: Page,
    },
    /// `statement`.
    Statement {
        /// Whose account.
        party: Party,
        /// Which account.
        account: StatementAccount,
        /// Earliest time, inclusive.
        from: Option<Timestamp>,
        /// Latest time, inclusive.
        to: Option<Timestamp>,
        /// Paging.
        page: Page,
    },
}

impl Query {
    /// Whether answering reads the history tables (posting index, adjust records, record
    /// history), which a checkpoint must bring up to date first.
    pub fn reads_history(&self) -> bool {
        matches!(
            self,
            Query::Balance { as_of: Some(_), .. } | Query::AdjustRecords { .. } | Query::Statement { .. } | Query::CouponRecords { .. }
        )
    }

    /// Whether answering reads every customer's record from the `records` table (the
    /// platform's customer listing, which holds them one at a time instead of loading them
    /// all), which a checkpoint must bring up to date first.
    pub fn reads_every_customer(&self, actor: &Party) -> bool {
        matches!(self, Query::Customers { partner: None, .. }) && *actor == Party::Platform
    }
}

/// A line that could not be decoded: the id to echo (when one could be read) and the rejection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The request id as sent, when it was a string.
    pub id: Option<String>,
    /// Why the line was refused.
    pub rejection: Rejection,
}

/// Rank of the three decoding errors: structure first, then ids, then amounts.
fn rank(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::InvalidRequest => 0,
        ErrorCode::InvalidId => 1,
        _ => 2,
    }
}

/// Takes fields out of a JSON object, remembering the highest-precedence problem met.
struct Fields {
    map: Map<String, Value>,
    problem: Option<Rejection>,
}

impl Fields {
    fn new(map: Map<String, Value>) -> Fields {
        Fields { map, problem: None }
    }

    fn note(&mut self, code: ErrorCode, message: String) {
        if self.problem.as_ref().is_none_or(|problem| rank(code) < rank(problem.code)) {
            self.problem = Some(Rejection::new(code, message));
        }
    }

    /// A field's value; `null` counts as absent.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|value| !value.is_null())
    }

    fn optional_str(&mut self, name: &str) -> Option<String> {
        match self.take(name) {
            None => None,
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                self.note(ErrorCode::InvalidRequest, format!("field {name} must be a string"));
                None
            }
        }
    }

    fn required_str(&mut self, name: &str) -> Option<String> {
        let value = self.optional_str(name);
        if value.is_none() && self.problem.as_ref().is_none_or(|problem| problem.code != ErrorCode::InvalidRequest) {
            self.note(ErrorCode::InvalidRequest, format!("field {name} is required"));
        }
        value
    }

    fn checked<T, E: std::fmt::Display>(&mut self, name: &str, code: ErrorCode, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|error| self.note(code, format!("field {name}: {error}"))).ok()
    }

    fn id(&mut self, name: &str, party_id: bool) -> Option<Id> {
        let text = self.required_str(name)?;
        let parsed = if party_id { Id::party(&text) } else { Id::new(&text) };
        self.checked(name, ErrorCode::InvalidId, parsed)
    }

    fn optional_id(&mut self, name: &str, party_id: bool) -> Option<Option<Id>> {
        match self.optional_str(name) {
            None => Some(None),
            Some(text) => {
                let parsed = if party_id { Id::party(&text) } else { Id::new(&text) };
                self.checked(name, ErrorCode::InvalidId, parsed).map(Some)
            }
        }
    }

    fn party(&mut self, name: &str) -> Option<Party> {
        let text = self.required_str(name)?;
        self.checked(name, ErrorCode::InvalidId, Party::parse(&text))
    }

    fn optional_party(&mut self, name: &str) -> Option<Option<Party>> {
        match self.optional_str(name) {
            None => Some(None),
            Some(text) => self.checked(name, ErrorCode::InvalidId, Party::parse(&text)).map(Some),
        }
    }

    /// The platform, a partner or a customer: a party that owns accounts.
    fn owner(&mut self, name: &str) -> Option<Party> {
        let party = self.party(name)?;
        if !party.owns_accounts() {
            self.note(ErrorCode::InvalidRequest, format!("field {name} names an operator, which owns no accounts"));
            return None;
        }
        Some(party)
    }

    /// A partner or customer: the platform has no cash, credit or debt of its own, and an
    /// operator owns no accounts.
    fn member(&mut self, name: &str) -> Option<Party> {
        let party = self.party(name)?;
        if matches!(party, Party::Platform | Party::Operator(_)) {
            self.note(ErrorCode::InvalidRequest, format!("field {name} must name a partner or customer"));
            return None;
        }
        Some(party)
    }

    fn amount_with(&mut self, name: &str, parse: fn(&str) -> Result<Amount, AmountError>) -> Option<Amount> {
        match self.take(name) {
            None => {
                self.note(ErrorCode::InvalidRequest, format!("field {name} is required"));
                None
            }
            Some(Value::String(text)) => self.checked(name, ErrorCode::InvalidAmount, parse(&text)),
            Some(_) => {
                self.note(ErrorCode::InvalidAmount, format!("field {name} must be a decimal string such as \"100.00\""));
                None
            }
        }
    }

    fn amount(&mut self, name: &str) -> Option<Amount> {
        self.amount_with(name, Amount::parse_positive)
    }

    fn text(&mut self, name: &str, required: bool) -> Option<Option<String>> {
        let text = if required { self.required_str(name).map(Some)? } else { self.optional_str(name) };
        if text.as_ref().is_some_and(|text| text.chars().count() > TEXT_LENGTH_MAX) {
            self.note(ErrorCode::InvalidRequest, format!("field {name} is longer than {TEXT_LENGTH_MAX} characters"));
            return None;
        }
        Some(text)
    }

    fn required_time(&mut self, name: &str) -> Option<Timestamp> {
        let text = self.required_str(name)?;
        self.checked(name, ErrorCode::InvalidRequest, Timestamp::parse(&text))
    }

    /// An optional array of `min` to `max` distinct ids.
    fn id_list(&mut self, name: &str, (min, max): (usize, usize)) -> Option<Option<Vec<Id>>> {
        let items = match self.take(name) {
            None => return Some(None),
            Some(Value::Array(items)) if (min..=max).contains(&items.len()) => items,
            Some(_) => {
                self.note(ErrorCode::InvalidRequest, format!("field {name} must be an array of {min} to {max} ids"));
                return None;
            }
        };
        // Structure first: every entry a string, none repeated (as written); then the ids.
        let Some(texts) = items.iter().map(Value::as_str).collect::<Option<Vec<&str>>>() else {
            self.note(ErrorCode::InvalidRequest, format!("field {name} must hold strings"));
            return None;
        };
        if let Some(repeated) = texts.iter().enumerate().find_map(|(index, text)| texts[..index].contains(text).then_some(*text)) {
            self.note(ErrorCode::InvalidRequest, format!("field {name} names {repeated} twice"));
            return None;
        }
        let ids: Vec<Id> = texts.into_iter().filter_map(|text| self.checked(name, ErrorCode::InvalidId, Id::new(text))).collect();
        if ids.len() != items.len() {
            return None;
        }
        Some(Some(ids))
    }

    /// A list of operator roles: distinct, and non-empty unless `may_be_empty`.
    fn roles(&mut self, name: &str, may_be_empty: bool) -> Option<Vec<OperatorRole>> {
        let Some(Value::Array(items)) = self.take(name) else {
            self.note(ErrorCode::InvalidRequest, format!("field {name} must be an array of roles"));
            return None;
        };
        let mut roles = Vec::with_capacity(items.len());
        for item in &items {
            match ROLES.iter().find(|(role, _)| Some(*role) == item.as_str()) {
                Some((_, role)) if !roles.contains(role) => roles.push(*role),
                Some(_) => {
                    self.note(ErrorCode::InvalidRequest, format!("field {name} names a role twice"));
                    return None;
                }
                None => {
                    self.note(ErrorCode::InvalidRequest, format!("field {name} holds admin, finance or customer_manager"));
                    return None;
                }
            }
        }
        if roles.is_empty() && !may_be_empty {
            self.note(ErrorCode::InvalidRequest, format!("field {name} must name at least one role"));
            return None;
        }
        Some(roles)
    }

    /// A ratio `"0.01"` to `"1"` (`invalid_amount` otherwise).
    fn ratio(&mut self, name: &str, required: bool) -> Option<Option<Ratio>> {
        match self.take(name) {
            None if required => {
                self.note(ErrorCode::InvalidRequest, format!("field {name} is required"));
                None
            }
            None => Some(None),
            Some(Value::String(text)) => self.checked(name, ErrorCode::InvalidAmount, Ratio::parse(&text)).map(Some),
            Some(_) => {
                self.note(ErrorCode::InvalidAmount, format!("field {name} must be a decimal string such as \"0.85\""));
                None
            }
        }
    }

    /// A non-empty list of distinct order kinds.
    fn order_kinds(&mut self, name: &str) -> Option<Option<Vec<OrderKind>>> {
        let items = match self.take(name) {
            None => return Some(None),
            Some(Value::Array(items)) if !items.is_empty() => items,
            Some(_) => {
                self.note(ErrorCode::InvalidRequest, format!("field {name} must be a non-empty array of new, renew, change"));
                return None;
            }
        };
        let mut kinds = Vec::with_capacity(items.len());
        for item in &items {
            match ORDER_KINDS.iter().find(|(kind, _)| Some(*kind) == item.as_str()) {
                Some((_, kind)) if !kinds.contains(kind) => kinds.push(*kind),
                _ => {
                    self.note(ErrorCode::InvalidRequest, format!("field {name} holds distinct kinds among new, renew, change"));
                    return None;
                }
            }
        }
        Some(Some(kinds))
    }

    /// A customer's name: text of 1 to 64 characters.
    fn name(&mut self, name: &str) -> Option<Option<String>> {
        let text = self.optional_str(name);
        if text.as_ref().is_some_and(|text| text.is_empty() || text.chars().count() > NAME_LENGTH_MAX) {
            self.note(ErrorCode::InvalidRequest, format!("field {name} must be 1 to {NAME_LENGTH_MAX} characters"));
            return None;
        }
        Some(text)
    }

    /// An invoice's basis: `amount`, `cycles` (1 to 12 distinct) or `bills` (1 to 100 distinct).
    fn invoice_basis(&mut self) -> Option<InvoiceBasis> {
        if self.map.get("amount").is_some_and(|value| !value.is_null()) {
            return self.amount("amount").map(InvoiceBasis::Amount);
        }
        if self.map.get("bills").is_some_and(|value| !value.is_null()) {
            return self.id_list("bills", (1, INVOICE_BILLS_MAX))?.map(InvoiceBasis::Bills);
        }
        let cycles = match self.take("cycles") {
            Some(Value::Array(items)) if (1..=INVOICE_CYCLES_MAX).contains(&items.len()) => items,
            _ => {
                self.note(ErrorCode::InvalidRequest, format!("field cycles must be an array of 1 to {INVOICE_CYCLES_MAX} cycles"));
                return None;
            }
        };
        let texts: Vec<String> = cycles.iter().filter_map(|item| item.as_str().filter(|text| is_cycle(text)).map(str::to_owned)).collect();
        let repeated = texts.iter().enumerate().any(|(index, text)| texts[..index].contains(text));
        if texts.len() != cycles.len() || repeated {
            self.note(ErrorCode::InvalidRequest, "field cycles must hold distinct cycles YYYY-MM".to_owned());
            return None;
        }
        Some(InvoiceBasis::Cycles(texts))
    }

    /// A party id that must be present but may be `null` (for "none").
    fn nullable_id(&mut self, name: &str) -> Option<Option<Id>> {
        if !self.map.contains_key(name) {
            self.note(ErrorCode::InvalidRequest, format!("field {name} is required (null for none)"));
            return None;
        }
        self.optional_id(name, true)
    }

    fn cycle(&mut self, name: &str) -> Option<Option<String>> {
        let text = self.optional_str(name);
        let valid = text.as_deref().is_none_or(is_cycle);
        if !valid {
            self.note(ErrorCode::InvalidRequest, format!("field {name} must be a cycle YYYY-MM"));
            return None;
        }
        Some(text)
    }

    fn time(&mut self, name: &str) -> Option<Option<Timestamp>> {
        match self.optional_str(name) {
            None => Some(None),
            Some(text) => self.checked(name, ErrorCode::InvalidRequest, Timestamp::parse(&text)).map(Some),
        }
    }

    fn choice<T: Copy>(&mut self, name: &str, required: bool, choices: &[(&str, T)]) -> Option<Option<T>> {
        let text = if required { Some(self.required_str(name)?) } else { self.optional_str(name) };
        let Some(text) = text else { return Some(None) };
        match choices.iter().find(|(choice, _)| *choice == text) {
            Some((_, value)) => Some(Some(*value)),
            None => {
                let names: Vec<&str> = choices.iter().map(|(choice, _)| *choice).collect();
                self.note(ErrorCode::InvalidRequest, format!("field {name} must be one of {}", names.join(", ")));
                None
            }
        }
    }

    fn integer(&mut self, name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> Option<u64> {
        match self.take(name) {
            None => Some(default),
            Some(Value::Number(number)) if number.as_u64().is_some_and(|value| range.contains(&value)) => number.as_u64(),
            Some(_) => {
                self.note(ErrorCode::InvalidRequest, format!("field {name} must be an integer in {}..={}", range.start(), range.end()));
                None
            }
        }
    }

    fn optional_integer(&mut self, name: &str) -> Option<Option<u64>> {
        match self.take(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::Number(number)) if number.as_u64().is_some() => Some(number.as_u64()),
            Some(_) => {
                self.note(ErrorCode::InvalidRequest, format!("field {name} must be a non-negative integer"));
                None
            }
        }
    }

    fn page(&mut self) -> Option<Page> {
        let offset = self.integer("offset", 0, 0..=u64::MAX);
        let limit = self.integer("limit", PAGE_LIMIT_DEFAULT, 1..=PAGE_LIMIT_MAX);
        Some(Page { offset: offset?, limit: limit? })
    }

    /// Fails on any field left over, or the first problem noted.
    fn finish<T>(mut self, value: Option<T>) -> Result<T, Rejection> {
        if let Some(name) = self.map.keys().next().cloned() {
            self.note(ErrorCode::InvalidRequest, format!("unknown field {name}"));
        }
        match (self.problem, value) {
            (Some(problem), _) => Err(problem),
            (None, Some(value)) => Ok(value),
            (None, None) => Err(Rejection::new(ErrorCode::InvalidRequest, "malformed request")),
        }
    }
}

/// Whether `text` is a billing cycle `YYYY-MM`.
pub(crate) fn is_cycle(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 7
        && bytes[4] == b'-'
        && bytes[..4].iter().chain(&bytes[5..]).all(u8::is_ascii_digit)
        && matches!(text[5..].parse::<u8>(), Ok(1..=12))
}

const PARTNER_KINDS: &[(&str, PartnerKind)] =
    &[("solution_provider", PartnerKind::SolutionProvider), ("distributor", PartnerKind::Distributor), ("reseller", PartnerKind::Reseller)];
const ASSOCIATIONS: &[(&str, AssociationKind)] = &[("resale", AssociationKind::Resale), ("referral", AssociationKind::Referral)];
const DIRECTIONS: &[(&str, Direction)] = &[("compensate", Direction::Compensate), ("deduct", Direction::Deduct)];
const OPERATIONS: &[(&str, AdjustOperation)] = &[
    ("allocate", AdjustOperation::Allocate),
    ("recover", AdjustOperation::Recover),
    ("unbind_reclaim", AdjustOperation::UnbindReclaim),
    ("refund_reclaim", AdjustOperation::RefundReclaim),
];
const ROLES: &[(&str, OperatorRole)] =
    &[("admin", OperatorRole::Admin), ("finance", OperatorRole::Finance), ("customer_manager", OperatorRole::CustomerManager)];
const QUOTA_STATUSES: &[(&str, QuotaStatus)] =
    &[("normal", QuotaStatus::Normal), ("expired", QuotaStatus::Expired), ("reclaimed", QuotaStatus::Reclaimed)];
const COUPON_STATUSES: &[(&str, CouponStatus)] = &[
    ("inactive", CouponStatus::Inactive),
    ("usable", CouponStatus::Usable),
    ("used", CouponStatus::Used),
    ("expired", CouponStatus::Expired),
    ("reclaimed", CouponStatus::Reclaimed),
];
const COUPON_OPERATIONS: &[(&str, CouponOperation)] = &[
    ("issue_quota", CouponOperation::IssueQuota),
    ("reclaim_quota", CouponOperation::ReclaimQuota),
    ("issue_coupon", CouponOperation::IssueCoupon),
    ("reclaim_coupon", CouponOperation::ReclaimCoupon),
    ("unbind_reclaim", CouponOperation::UnbindReclaim),
    ("expire", CouponOperation::Expire),
    ("redeem", CouponOperation::Redeem),
];
const PARTNER_PAYMENTS: &[(&str, PartnerPaymentStatus)] =
    &[("requested", PartnerPaymentStatus::Requested), ("rejected", PartnerPaymentStatus::Rejected)];
const COUPON_KINDS: &[(&str, CouponKind)] =
    &[("voucher", CouponKind::Voucher), ("cash_coupon", CouponKind::CashCoupon), ("pickup_voucher", CouponKind::PickupVoucher)];
const ORDER_KINDS: &[(&str, OrderKind)] = &[("new", OrderKind::New), ("renew", OrderKind::Renew), ("change", OrderKind::Change)];
const PAYERS: &[(&str, PayerKind)] = &[("customer", PayerKind::Customer), ("partner", PayerKind::Partner)];
/// `expired` filters pending orders past their deadline (shown as `expired`).
const ORDER_STATUSES: &[(&str, Option<OrderStatus>)] = &[
    ("pending_payment", Some(OrderStatus::PendingPayment)),
    ("expired", None),
    ("paid", Some(OrderStatus::Paid)),
    ("cancelled", Some(OrderStatus::Cancelled)),
    ("unsubscribed", Some(OrderStatus::Unsubscribed)),
];
const STATEMENT_ACCOUNTS: &[(&str, StatementAccount)] = &[
    ("cash", StatementAccount::Cash),
    ("allocated", StatementAccount::Allocated),
    ("credit", StatementAccount::Credit),
    ("arrears", StatementAccount::Arrears),
];

/// Decodes one request line.
///
/// # Errors
/// [`DecodeError`] with `invalid_request`, `invalid_id` or `invalid_amount`, by that precedence.
pub fn decode_line(line: &str) -> Result<Request, DecodeError> {
    if line.len() > LINE_LENGTH_MAX {
        let rejection = Rejection::new(ErrorCode::InvalidRequest, format!("line longer than {LINE_LENGTH_MAX} bytes"));
        return Err(DecodeError { id: None, rejection });
    }
    let StrictValue(value) = serde_json::from_str(line)
        .map_err(|error| DecodeError { id: None, rejection: Rejection::new(ErrorCode::InvalidRequest, format!("not JSON: {error}")) })?;
    decode_value(value)
}

/// A JSON value whose objects may not repeat a key: `{"actor":"partner:D2",…,"actor":"platform"}`
/// must not quietly become the platform's request.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<StrictValue, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(StrictValue(value)) = items.next_element()? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            let StrictValue(value) = entries.next_value()?;
            if map.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Decodes a request given as a JSON value.
///
/// # Errors
/// As [`decode_line`].
pub fn decode_value(value: Value) -> Result<Request, DecodeError> {
    let Value::Object(map) = value else {
        return Err(DecodeError { id: None, rejection: Rejection::new(ErrorCode::InvalidRequest, "a request must be a JSON object") });
    };
    let echo = match map.get("id") {
        Some(Value::String(id)) => Some(id.clone()),
        _ => None,
    };
    decode_object(map).map_err(|rejection| DecodeError { id: echo, rejection })
}

fn decode_object(map: Map<String, Value>) -> Result<Request, Rejection> {
    let mut fields = Fields::new(map);
    let op = fields.required_str("op");
    let actor = fields.party("actor");
    let at = fields.time("at");
    let Some(op) = op else { return fields.finish(None) };
    let is_query = matches!(
        op.as_str(),
        "balance"
            | "adjust_records"
            | "statement"
            | "order"
            | "orders"
            | "bills"
            | "withdrawals"
            | "invoiceable"
            | "invoice"
            | "consumption_summary"
            | "customers"
            | "resellers"
            | "quotas"
            | "coupons"
            | "operators"
            | "coupon_records"
    );
    let id = if is_query { fields.optional_id("id", false) } else { fields.id("id", false).map(Some) };
    let min_seq = if is_query { fields.optional_integer("min_seq") } else { Some(None) };
    let body =
        if is_query { decode_query(&op, &mut fields).map(Body::Query) } else { decode_command(&op, &mut fields, true).map(Body::Command) };
    let request = match (id, actor, at, body, min_seq) {
        (Some(id), Some(actor), Some(at), Some(body), Some(min_seq)) => Some(Request { id, actor, at, body, min_seq }),
        _ => None,
    };
    fields.finish(request)
}

fn decode_command(op: &str, fields: &mut Fields, top_level: bool) -> Option<Command> {
    let command = match op {
        "register_partner" => {
            // Cross-field rules are structural: they rank above bad ids, so they look at presence.
            let has_parent = fields.map.get("parent").is_some_and(|value| !value.is_null());
            let (partner, kind, parent) =
                (fields.id("partner", true), fields.choice("kind", true, PARTNER_KINDS), fields.optional_id("parent", true));
            if let Some(Some(kind)) = kind
                && (kind == PartnerKind::Reseller) != has_parent
            {
                fields.note(ErrorCode::InvalidRequest, "parent is required for, and only for, a reseller".to_owned());
                return None;
            }
            Command::RegisterPartner { partner: partner?, kind: kind??, parent: parent? }
        }
        "register_customer" => {
            let has_partner = fields.map.get("partner").is_some_and(|value| !value.is_null());
            let has_association = fields.map.get("association").is_some_and(|value| !value.is_null());
            if has_association && !has_partner {
                fields.note(ErrorCode::InvalidRequest, "association needs a partner".to_owned());
            }
            let (customer, partner, association) =
                (fields.id("customer", true), fields.optional_id("partner", true), fields.choice("association", false, ASSOCIATIONS));
            let (name, external_id) = (fields.name("name"), fields.optional_id("external_id", false));
            Command::RegisterCustomer {
                customer: customer?,
                partner: partner?,
                association: association?,
                name: name?,
                external_id: external_id?,
            }
        }
        "associate" => {
            let (customer, partner, association) =
                (fields.id("customer", true), fields.id("partner", true), fields.choice("association", true, ASSOCIATIONS));
            Command::Associate { customer: customer?, partner: partner?, association: association?? }
        }
        "recharge" => {
            let (party, amount) = (fields.member("party"), fields.amount("amount"));
            Command::Recharge { party: party?, amount: amount? }
        }
        "allocate" | "recover" => {
            let partner = fields.optional_id("partner", true);
            let counterparty = fields.member(if op == "allocate" { "to" } else { "from" });
            let (amount, memo) = (fields.amount("amount"), fields.text("memo", false));
            let (partner, counterparty, amount, memo) = (partner?, counterparty?, amount?, memo?);
            if op == "allocate" {
                Command::Allocate { partner, to: counterparty, amount, memo }
            } else {
                Command::Recover { partner, from: counterparty, amount, memo }
            }
        }
        "set_credit_limit" => {
            let (party, limit) = (fields.member("party"), fields.amount_with("limit", Amount::parse_non_negative));
            Command::SetCreditLimit { party: party?, limit: limit? }
        }
        "repay_credit" => {
            let (party, amount) = (fields.member("party"), fields.amount("amount"));
            Command::RepayCredit { party: party?, amount: amount? }
        }
        "adjust" => {
            let (party, direction) = (fields.member("party"), fields.choice("direction", true, DIRECTIONS));
            let (amount, reason) = (fields.amount("amount"), fields.text("reason", true));
            Command::Adjust { party: party?, direction: direction??, amount: amount?, reason: reason?? }
        }
        "atomic" if top_level => Command::Atomic { commands: decode_group(fields)? },
        _ => return decode_commerce(op, fields),
    };
    Some(command)
}

/// Coupons, orders, withdrawals and association changes.
fn decode_commerce(op: &str, fields: &mut Fields) -> Option<Command> {
    let command = match op {
        "issue_quota" => {
            // The platform's quotas need a window; a distributor's default to its source quota's.
            let present = |name: &str| fields.map.get(name).is_some_and(|value| !value.is_null());
            if !(present("from_quota") || (present("valid_from") && present("valid_until"))) {
                fields.note(ErrorCode::InvalidRequest, "valid_from and valid_until are required without from_quota".to_owned());
            }
            let (quota, partner, kind) = (fields.id("quota", false), fields.id("partner", true), fields.choice("kind", true, COUPON_KINDS));
            let (amount, valid_from, valid_until) = (fields.amount("amount"), fields.time("valid_from"), fields.time("valid_until"));
            let from_quota = fields.optional_id("from_quota", false);
            Command::IssueQuota {
                quota: quota?,
                partner: partner?,
                kind: kind??,
                amount: amount?,
                valid_from: valid_from?,
                valid_until: valid_until?,
                from_quota: from_quota?,
            }
        }
        "reclaim_quota" => Command::ReclaimQuota { quota: fields.id("quota", false)? },
        "whitelist_customer" => Command::WhitelistCustomer { customer: fields.id("customer", true)? },
        "issue_coupon" => {
            let (coupon, quota, customer) = (fields.id("coupon", false), fields.id("quota", false), fields.id("customer", true));
            let (face_value, valid_from, valid_until) =
                (fields.amount("face_value"), fields.time("valid_from"), fields.time("valid_until"));
            let services = fields.id_list("services", (1, COUPON_SERVICES_MAX));
            let (ratio, order_kinds) = (fields.ratio("ratio", false), fields.order_kinds("order_kinds"));
            Command::IssueCoupon {
                ratio: ratio?,
                order_kinds: order_kinds?,
                coupon: coupon?,
                quota: quota?,
                customer: customer?,
                face_value: face_value?,
                valid_from: valid_from?,
                valid_until: valid_until?,
                services: services?,
            }
        }
        "reclaim_coupon" => Command::ReclaimCoupon { coupon: fields.id("coupon", false)? },
        "expire_coupons" => Command::ExpireCoupons,
        "place_order" => {
            let (order, customer, amount) = (fields.id("order", false), fields.id("customer", true), fields.amount("amount"));
            let (kind, service, pay_deadline) =
                (fields.choice("kind", true, ORDER_KINDS), fields.optional_id("service", false), fields.time("pay_deadline"));
            Command::PlaceOrder {
                order: order?,
                customer: customer?,
                amount: amount?,
                kind: kind??,
                service: service?,
                pay_deadline: pay_deadline?,
            }
        }
        "place_combined_order" => {
            // Structural, so compared as written: it ranks above a bad id elsewhere in the line.
            let raw_combined = fields.map.get("combined").and_then(Value::as_str).map(str::to_owned);
            let raw_orders: Vec<String> = match fields.map.get("orders") {
                Some(Value::Array(items)) => items.iter().filter_map(|item| item.get("order")?.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            };
            if raw_combined.as_ref().is_some_and(|combined| raw_orders.contains(combined)) {
                fields.note(ErrorCode::InvalidRequest, "the combined id must differ from its orders' ids".to_owned());
            }
            let (combined, customer) = (fields.id("combined", false), fields.id("customer", true));
            let orders = decode_order_lines(fields);
            Command::PlaceCombinedOrder { combined: combined?, customer: customer?, orders: orders? }
        }
        "pay_order" => {
            // Structural, so judged as written: it ranks above a bad id or amount elsewhere.
            let partner_pays = fields.map.get("payer").and_then(Value::as_str) == Some("partner");
            let coupons_given = fields.map.get("coupons").and_then(Value::as_array).is_some_and(|coupons| !coupons.is_empty());
            if partner_pays && coupons_given {
                fields.note(ErrorCode::InvalidRequest, "a partner pays without coupons".to_owned());
            }
            let discount_given = fields.map.get("discount").is_some_and(|value| !value.is_null());
            if partner_pays && discount_given {
                fields.note(ErrorCode::InvalidRequest, "a partner pays without discounts".to_owned());
            }
            if coupons_given && discount_given {
                fields.note(ErrorCode::InvalidRequest, "a payment uses coupons or a discount, never both".to_owned());
            }
            let (order, coupons, payer) =
                (fields.id("order", false), fields.id_list("coupons", (0, PAYMENT_COUPONS_MAX)), fields.choice("payer", false, PAYERS));
            let discount = fields.optional_id("discount", false);
            Command::PayOrder {
                order: order?,
                coupons: coupons?.unwrap_or_default(),
                discount: discount?,
                payer: payer?.unwrap_or(PayerKind::Customer),
            }
        }
        "cancel_order" => Command::CancelOrder { order: fields.id("order", false)? },
        "unsubscribe" => {
            let (order, refund) = (fields.id("order", false), fields.amount("refund"));
            Command::Unsubscribe { order: order?, refund: refund? }
        }
        "consume" => {
            let customer = fields.id("customer", true);
            let amount = match fields.take("amount") {
                Some(Value::String(text)) => fields.checked("amount", ErrorCode::InvalidAmount, Amount::parse_usage(&text)),
                Some(_) => {
                    fields.note(ErrorCode::InvalidAmount, "field amount must be a decimal string such as \"1.23456789\"".to_owned());
                    None
                }
                None => {
                    fields.note(ErrorCode::InvalidRequest, "field amount is required".to_owned());
                    None
                }
            };
            let service = fields.optional_id("service", false);
            let (amount, erase) = amount?;
            Command::Consume { customer: customer?, amount, erase, service: service? }
        }
        "request_withdrawal" => {
            let (withdrawal, party, amount) = (fields.id("withdrawal", false), fields.member("party"), fields.amount("amount"));
            Command::RequestWithdrawal { withdrawal: withdrawal?, party: party?, amount: amount? }
        }
        "approve_withdrawal" => Command::ApproveWithdrawal { withdrawal: fields.id("withdrawal", false)? },
        "reject_withdrawal" => {
            let (withdrawal, reason) = (fields.id("withdrawal", false), fields.text("reason", true));
            Command::RejectWithdrawal { withdrawal: withdrawal?, reason: reason?? }
        }
        "delete_withdrawal" => Command::DeleteWithdrawal { withdrawal: fields.id("withdrawal", false)? },
        "unbind" => Command::Unbind { customer: fields.id("customer", true)? },
        "request_invoice" => {
            let given =
                ["amount", "cycles", "bills"].into_iter().filter(|name| fields.map.get(*name).is_some_and(|value| !value.is_null()));
            if given.count() != 1 {
                fields.note(ErrorCode::InvalidRequest, "exactly one of amount, cycles and bills is required".to_owned());
                return None;
            }
            let (invoice, party) = (fields.id("invoice", false), fields.member("party"));
            let basis = fields.invoice_basis();
            Command::RequestInvoice { invoice: invoice?, party: party?, basis: basis? }
        }
        "grant_discount" => {
            let (discount, customer, ratio) = (fields.id("discount", false), fields.id("customer", true), fields.ratio("ratio", true));
            let services = fields.id_list("services", (1, COUPON_SERVICES_MAX));
            let (valid_from, valid_until) = (fields.required_time("valid_from"), fields.required_time("valid_until"));
            let validity = Validity { valid_from: valid_from?, valid_until: valid_until? };
            Command::GrantDiscount { discount: discount?, customer: customer?, ratio: ratio??, services: services?, validity }
        }
        "revoke_discount" => Command::RevokeDiscount { discount: fields.id("discount", false)? },
        "return_invoice" => Command::ReturnInvoice { invoice: fields.id("invoice", false)? },
        "register_operator" => {
            let (operator, partner, roles) = (fields.id("operator", true), fields.id("partner", true), fields.roles("roles", false));
            Command::RegisterOperator { operator: operator?, partner: partner?, roles: roles? }
        }
        "set_operator_roles" => {
            let (operator, roles) = (fields.id("operator", true), fields.roles("roles", true));
            Command::SetOperatorRoles { operator: operator?, roles: roles? }
        }
        "assign_customer_manager" => {
            let (customer, operator) = (fields.id("customer", true), fields.nullable_id("operator"));
            Command::AssignCustomerManager { customer: customer?, operator: operator? }
        }
        "request_partner_payment" => Command::RequestPartnerPayment { order: fields.id("order", false)? },
        "reject_partner_payment" => {
            let (order, reason) = (fields.id("order", false), fields.text("reason", true));
            Command::RejectPartnerPayment { order: order?, reason: reason?? }
        }
        "switch_association" => {
            let (customer, association) = (fields.id("customer", true), fields.choice("association", true, ASSOCIATIONS));
            Command::SwitchAssociation { customer: customer?, association: association?? }
        }
        _ => {
            let what = if op == "atomic" { "atomic groups cannot be nested".to_owned() } else { format!("unknown op {op:?}") };
            fields.note(ErrorCode::InvalidRequest, what);
            return None;
        }
    };
    Some(command)
}

fn decode_order_lines(fields: &mut Fields) -> Option<Vec<OrderLine>> {
    let items = match fields.take("orders") {
        Some(Value::Array(items)) if (COMBINED_ORDERS_MIN..=COMBINED_ORDERS_MAX).contains(&items.len()) => items,
        _ => {
            fields.note(
                ErrorCode::InvalidRequest,
                format!("field orders must be an array of {COMBINED_ORDERS_MIN} to {COMBINED_ORDERS_MAX} orders"),
            );
            return None;
        }
    };
    // Repeated order ids are structural: compared as written, they rank above any bad id.
    let raw: Vec<&str> = items.iter().filter_map(|item| item.get("order")?.as_str()).collect();
    if let Some(repeated) = raw.iter().enumerate().find_map(|(index, id)| raw[..index].contains(id).then_some(*id)) {
        fields.note(ErrorCode::InvalidRequest, format!("order {repeated} is listed twice"));
    }
    let count = items.len();
    let mut lines: Vec<OrderLine> = Vec::with_capacity(count);
    for item in items {
        let Value::Object(map) = item else {
            fields.note(ErrorCode::InvalidRequest, "each order must be an object".to_owned());
            continue;
        };
        let mut inner = Fields::new(map);
        let (order, amount) = (inner.id("order", false), inner.amount("amount"));
        let (kind, service) = (inner.choice("kind", true, ORDER_KINDS), inner.optional_id("service", false));
        let line = match (order, amount, kind, service) {
            (Some(order), Some(amount), Some(Some(kind)), Some(service)) => Some(OrderLine { order, amount, kind, service }),
            _ => None,
        };
        match inner.finish(line) {
            Ok(line) => lines.push(line),
            Err(rejection) => fields.note(rejection.code, rejection.message),
        }
    }
    (lines.len() == count).then_some(lines)
}

fn decode_group(fields: &mut Fields) -> Option<Vec<Command>> {
    let Some(Value::Array(items)) = fields.take("commands") else {
        fields.note(ErrorCode::InvalidRequest, "field commands must be an array of commands".to_owned());
        return None;
    };
    if items.is_empty() || items.len() > ATOMIC_COMMANDS_MAX {
        fields.note(ErrorCode::InvalidRequest, format!("an atomic group holds 1 to {ATOMIC_COMMANDS_MAX} commands"));
        return None;
    }
    let count = items.len();
    let mut commands = Vec::with_capacity(count);
    for (index, item) in items.into_iter().enumerate() {
        match decode_member(item) {
            Ok(command) => commands.push(command),
            Err(rejection) => {
                // Keep the member's own precedence but report it once, with its index.
                if fields.problem.as_ref().is_none_or(|problem| rank(rejection.code) < rank(problem.code)) {
                    fields.problem = Some(rejection.at_index(index));
                }
            }
        }
    }
    (commands.len() == count).then_some(commands)
}

fn decode_member(item: Value) -> Result<Command, Rejection> {
    let Value::Object(map) = item else {
        return Err(Rejection::new(ErrorCode::InvalidRequest, "each command of a group must be an object"));
    };
    let mut fields = Fields::new(map);
    for envelope in ["id", "actor", "at"] {
        if fields.map.contains_key(envelope) {
            fields.note(ErrorCode::InvalidRequest, format!("commands of a group take the group's {envelope}"));
        }
        fields.map.remove(envelope);
    }
    let Some(op) = fields.required_str("op") else { return fields.finish(None) };
    let command = decode_command(&op, &mut fields, false);
    fields.finish(command)
}

fn decode_query(op: &str, fields: &mut Fields) -> Option<Query> {
    let query = match op {
        "balance" => {
            let (party, as_of) = (fields.owner("party"), fields.time("as_of"));
            Query::Balance { party: party?, as_of: as_of? }
        }
        "adjust_records" => {
            let (partner, target) = (fields.optional_id("partner", true), fields.optional_party("target"));
            let (operation, transfer) = (fields.choice("operation", false, OPERATIONS), fields.optional_id("transfer", false));
            let (from, to, page) = (fields.time("from"), fields.time("to"), fields.page());
            Query::AdjustRecords {
                partner: partner?,
                target: target?,
                operation: operation?,
                transfer: transfer?,
                from: from?,
                to: to?,
                page: page?,
            }
        }
        "customers" => {
            let (partner, association) = (fields.optional_id("partner", true), fields.choice("association", false, ASSOCIATIONS));
            let (manager, page) = (fields.optional_id("manager", true), fields.page());
            Query::Customers { partner: partner?, association: association?, manager: manager?, page: page? }
        }
        "resellers" => {
            let (partner, page) = (fields.optional_id("partner", true), fields.page());
            Query::Resellers { partner: partner?, page: page? }
        }
        "quotas" => {
            let (partner, kind, status) = (
                fields.optional_id("partner", true),
                fields.choice("kind", false, COUPON_KINDS),
                fields.choice("status", false, QUOTA_STATUSES),
            );
            let (parent_quota, page) = (fields.optional_id("parent_quota", false), fields.page());
            Query::Quotas { partner: partner?, kind: kind?, status: status?, parent_quota: parent_quota?, page: page? }
        }
        "coupons" => {
            let (customer, quota) = (fields.optional_id("customer", true), fields.optional_id("quota", false));
            let (kind, status, page) =
                (fields.choice("kind", false, COUPON_KINDS), fields.choice("status", false, COUPON_STATUSES), fields.page());
            Query::Coupons { customer: customer?, quota: quota?, kind: kind?, status: status?, page: page? }
        }
        "operators" => {
            let (partner, page) = (fields.optional_id("partner", true), fields.page());
            Query::Operators { partner: partner?, page: page? }
        }
        "coupon_records" => {
            let (coupon, quota, customer) =
                (fields.optional_id("coupon", false), fields.optional_id("quota", false), fields.optional_id("customer", true));
            let (operation, from, to, page) =
                (fields.choice("operation", false, COUPON_OPERATIONS), fields.time("from"), fields.time("to"), fields.page());
            Query::CouponRecords {
                coupon: coupon?,
                quota: quota?,
                customer: customer?,
                operation: operation?,
                from: from?,
                to: to?,
                page: page?,
            }
        }
        "order" => Query::Order { order: fields.id("order", false)? },
        "invoiceable" => Query::Invoiceable { party: fields.member("party")? },
        "invoice" => Query::Invoice { invoice: fields.id("invoice", false)? },
        "consumption_summary" => {
            let (partner, cycle, manager) =
                (fields.optional_id("partner", true), fields.cycle("cycle"), fields.optional_id("manager", true));
            let cycle = cycle?;
            if cycle.is_none() {
                fields.note(ErrorCode::InvalidRequest, "field cycle is required".to_owned());
            }
            Query::ConsumptionSummary { partner: partner?, cycle: cycle?, manager: manager? }
        }
        "orders" => {
            let (customer, status) = (fields.optional_id("customer", true), fields.choice("status", false, ORDER_STATUSES));
            let (partner_payment, page) = (fields.choice("partner_payment", false, PARTNER_PAYMENTS), fields.page());
            Query::Orders { customer: customer?, status: status?, partner_payment: partner_payment?, page: page? }
        }
        "bills" => {
            let (party, cycle, page) = (fields.member("party"), fields.cycle("cycle"), fields.page());
            Query::Bills { party: party?, cycle: cycle?, page: page? }
        }
        "withdrawals" => {
            let (party, page) = (fields.member("party"), fields.page());
            Query::Withdrawals { party: party?, page: page? }
        }
        "statement" => {
            let (party, account) = (fields.member("party"), fields.choice("account", false, STATEMENT_ACCOUNTS));
            let (from, to, page) = (fields.time("from"), fields.time("to"), fields.page());
            Query::Statement { party: party?, account: account?.unwrap_or(StatementAccount::Cash), from: from?, to: to?, page: page? }
        }
        _ => return None,
    };
    Some(query)
}

/// The answer to one request line.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// A committed command (or an identical replay of one).
    Committed {
        /// The request id.
        id: Id,
        /// Its transaction's `seq`.
        seq: u64,
        /// True for a replay of an already committed request.
        duplicate: bool,
        /// What it did.
        outcome: Outcome,
    },
    /// A query's answer.
    Answer {
        /// The echoed id.
        id: Option<Id>,
        /// The result object.
        result: Value,
    },
    /// A refused command or query: nothing changed.
    Failed {
        /// The request id as sent, when readable.
        id: Option<String>,
        /// Why.
        rejection: Rejection,
    },
}

impl Response {
    /// True unless failed.
    pub fn is_ok(&self) -> bool {
        !matches!(self, Response::Failed { .. })
    }

    /// The outcome of a committed command (or of the original, for a duplicate).
    pub fn outcome(&self) -> Option<&Outcome> {
        match self {
            Response::Committed { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    /// The `seq` of a committed command.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Response::Committed { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// The `result` object as JSON: a command's outcome or a query's answer.
    pub fn result(&self) -> Option<Value> {
        match self {
            Response::Committed { outcome, .. } => Some(outcome_json(outcome)),
            Response::Answer { result, .. } => Some(result.clone()),
            Response::Failed { .. } => None,
        }
    }

    /// The rejection, when failed.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Response::Failed { rejection, .. } => Some(rejection),
            _ => None,
        }
    }

    /// The response as a JSON value.
    pub fn to_json(&self) -> Value {
        match self {
            Response::Committed { id, seq, duplicate, outcome } => {
                json!({"id": id.as_str(), "ok": true, "seq": seq, "duplicate": duplicate, "result": outcome_json(outcome)})
            }
            Response::Answer { id, result } => json!({"id": id.as_ref().map(Id::as_str), "ok": true, "result": result}),
            Response::Failed { id, rejection } => {
                let mut error = json!({"code": rejection.code.name(), "cbc": rejection.code.cbc(), "message": rejection.message});
                if let Some(index) = rejection.index {
                    error["index"] = json!(index);
                }
                json!({"id": id, "ok": false, "error": error})
            }
        }
    }

    /// The response as one JSON line (without the newline).
    pub fn to_line(&self) -> String {
        self.to_json().to_string()
    }
}

/// The `result` object of a committed command.
pub fn outcome_json(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::PartnerRegistered(id) => json!({"partner": id.as_str()}),
        Outcome::CustomerRegistered(id) => json!({"customer": id.as_str()}),
        Outcome::Associated { customer, partner, association } => {
            json!({"customer": customer.as_str(), "partner": partner.as_str(), "association": association.name()})
        }
        Outcome::Funded { arrears_repaid, cash } => json!({"arrears_repaid": arrears_repaid.to_string(), "cash": cash.to_string()}),
        Outcome::Transfer(id) => json!({"transfer": id.as_str()}),
        Outcome::CreditLimit(limit) => json!({"credit_limit": limit.to_string()}),
        Outcome::CreditRepaid(amount) => json!({"repaid": amount.to_string()}),
        Outcome::Deducted(amount) => json!({"deducted": amount.to_string()}),
        Outcome::Atomic(outcomes) => json!({"results": outcomes.iter().map(outcome_json).collect::<Vec<_>>()}),
        Outcome::QuotaIssued(quota) => json!({"quota": quota.as_str()}),
        Outcome::QuotaReclaimed { quota, amount } => json!({"quota": quota.as_str(), "reclaimed": amount.to_string()}),
        Outcome::CouponReclaimed { coupon, amount } => json!({"coupon": coupon.as_str(), "reclaimed": amount.to_string()}),
        Outcome::Whitelisted(customer) => json!({"customer": customer.as_str(), "whitelisted": true}),
        Outcome::CouponIssued(coupon) => json!({"coupon": coupon.as_str()}),
        Outcome::CouponsExpired { coupons, amount } => json!({"expired": ids(coupons), "amount": amount.to_string()}),
        Outcome::OrdersPlaced { combined: None, orders, pay_deadline } => {
            json!({"order": orders.first().map(Id::as_str), "status": "pending_payment", "pay_deadline": pay_deadline.to_string()})
        }
        Outcome::OrdersPlaced { combined: Some(combined), orders, pay_deadline } => json!({
            "combined": combined.as_str(), "orders": ids(orders), "status": "pending_payment", "pay_deadline": pay_deadline.to_string()
        }),
        Outcome::Paid(paid) => json!({"paid": paid.iter().map(|(order, payment)| json!({
            "order": order.as_str(),
            "due": payment.due.to_string(),
            "discount": payment.discount.to_string(),
            "coupon": payment.coupon.to_string(),
            "allocated": payment.allocated.to_string(),
            "cash": payment.cash.to_string(),
            "credit": payment.credit.to_string(),
        })).collect::<Vec<_>>()}),
        Outcome::Cancelled(orders) => json!({"cancelled": ids(orders)}),
        Outcome::Refunded { credit, allocated, partner, cash } => json!({"refund": {
            "credit": credit.to_string(),
            "allocated": allocated.to_string(),
            "partner": partner.to_string(),
            "cash": cash.to_string(),
        }}),
        Outcome::Consumed { bill, deducted, erase, coupon, allocated, cash, credit, debt } => json!({
            "bill": bill.as_str(),
            "deducted": deducted.to_string(),
            "erase_amount": crate::amount::format_erase(*erase),
            "coupon": coupon.to_string(),
            "allocated": allocated.to_string(),
            "cash": cash.to_string(),
            "credit": credit.to_string(),
            "debt": debt.to_string(),
        }),
        Outcome::Withdrawal { withdrawal, status } => json!({"withdrawal": withdrawal.as_str(), "status": status.name()}),
        Outcome::Invoiced { invoice, matched } => {
            let amount = Amount::from_minor(matched.iter().map(|matched| matched.amount.minor()).sum());
            json!({"invoice": invoice.as_str(), "amount": amount.to_string(), "matched": matched_json(matched)})
        }
        Outcome::InvoiceReturned(invoice) => json!({"invoice": invoice.as_str(), "status": "returned"}),
        Outcome::AssociationChanged { customer, association, allocated, coupons } => json!({
            "customer": customer.as_str(),
            "association": association.map(AssociationKind::name),
            "reclaimed_allocated": allocated.to_string(),
            "reclaimed_coupons": ids(coupons),
        }),
        Outcome::OperatorRegistered(operator) => json!({"operator": operator.as_str()}),
        Outcome::OperatorRoles { operator, roles } => json!({"operator": operator.as_str(), "roles": role_names(roles)}),
        Outcome::ManagerAssigned { customer, operator, from } => json!({
            "customer": customer.as_str(),
            "manager": operator.as_ref().map(Id::as_str),
            "effective_from": from.to_string(),
        }),
        Outcome::PartnerPayment { order, orders, status } => {
            json!({"order": order.as_str(), "orders": ids(orders), "partner_payment": status.name()})
        }
        Outcome::DiscountGranted(discount) => json!({"discount": discount.as_str()}),
        Outcome::DiscountRevoked(discount) => json!({"discount": discount.as_str(), "revoked": true}),
    }
}

/// `[{"bill", "amount"}, ...]`.
pub(crate) fn matched_json(matched: &[crate::domain::matching::Matched]) -> Vec<Value> {
    matched.iter().map(|matched| json!({"bill": matched.bill.as_str(), "amount": matched.amount.to_string()})).collect()
}

/// Role names, as the protocol writes them.
pub(crate) fn role_names(roles: &[OperatorRole]) -> Vec<&'static str> {
    roles.iter().map(|role| role.name()).collect()
}

fn ids(ids: &[Id]) -> Vec<&str> {
    ids.iter().map(Id::as_str).collect()
}
