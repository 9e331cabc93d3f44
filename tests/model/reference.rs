//! A deliberately simple, independent in-memory reference of the commands of SPEC.md (v2, part 1):
//! parties and operators with roles, money (recharge, allocate, recover, credit, adjust) with a
//! customer's own `cash` and its partner's `allocated`, coupon quotas and coupons, orders and
//! combined orders, partner payment (代付), payment, refunds, usage, withdrawals, association
//! changes, invoices and atomic groups; and the scope rules of SPEC 2.1 (referral reach, operator
//! roles, customer managers) for the queries a test checks.
//!
//! It reads the same JSON request lines as the ledger and says what the ledger must answer: the
//! committed `seq` (whether it is a duplicate) and its `result`, or the exact error code following
//! the precedence of SPEC 2.2, and what every balance, order, bill, invoice and withdrawal must be
//! afterwards. Plain maps and `i128` fen; nothing is shared with `src/`. Where SPEC.md is silent it
//! follows `docs/decisions.md` (noted at each place). Used by `tests/model.rs` and by the fuzz
//! target `fuzz/fuzz_targets/sequence.rs`, so it holds no test framework code: std and serde_json
//! only. Both start from the same cast ([`cast`]).
#![allow(dead_code)]

use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Fen per yuan.
const FEN: i128 = 100;
/// Amounts must stay below 10^12 yuan.
const AMOUNT_LIMIT_YUAN: i128 = 1_000_000_000_000;
/// Longest id, in characters.
const ID_LENGTH_MAX: usize = 64;
/// Longest memo or reason, in characters (a choice of the implementation, mirrored).
const TEXT_LENGTH_MAX: usize = 256;
/// Commands in one atomic group, at most.
const GROUP_COMMANDS_MAX: usize = 100;
/// Services a coupon may name, at most (SPEC 3 `issue_coupon`).
const SERVICES_MAX: usize = 10;
/// Coupons one payment may list, at most (SPEC 3 `pay_order`).
const PAYMENT_COUPONS_MAX: usize = 3;
/// Orders in a combined order (SPEC 3 `place_combined_order`).
const COMBINED_ORDERS_MIN: usize = 2;
const COMBINED_ORDERS_MAX: usize = 50;
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// Default pay deadline, in days after the order (SPEC 3 `place_order`).
const PAY_DEADLINE_DAYS: i64 = 7;
/// Usage amounts have 8 places: units of 10^-8 per fen.
const ERASE_PER_FEN: i128 = 1_000_000;

/// A party as written in the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// `platform`.
    Platform,
    /// `partner:<id>`.
    Partner(String),
    /// `customer:<id>`.
    Customer(String),
    /// `operator:<id>`: acts for one partner within its roles, owns no accounts (SPEC 1.1).
    Operator(String),
}

impl Party {
    /// The protocol text.
    pub fn text(&self) -> String {
        match self {
            Party::Platform => "platform".to_owned(),
            Party::Partner(id) => format!("partner:{id}"),
            Party::Customer(id) => format!("customer:{id}"),
            Party::Operator(id) => format!("operator:{id}"),
        }
    }
}

/// An operator's role (SPEC 2.1); roles add up. Ordered as the ledger sorts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperatorRole {
    /// `admin`: everything its partner may.
    Admin,
    /// `finance`: the partner's funds, withdrawals, invoices and partner payments; every query.
    Finance,
    /// `customer_manager`: reads the consumption of its assigned customers.
    CustomerManager,
}

impl OperatorRole {
    fn name(self) -> &'static str {
        match self {
            OperatorRole::Admin => "admin",
            OperatorRole::Finance => "finance",
            OperatorRole::CustomerManager => "customer_manager",
        }
    }
}

/// The state of a partner-payment request on an order (SPEC 3 `request_partner_payment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartnerPayment {
    /// Open: the partner may pay, the customer may not.
    Requested,
    /// Declined: the customer may pay itself or ask again.
    Rejected,
}

impl PartnerPayment {
    fn name(self) -> &'static str {
        match self {
            PartnerPayment::Requested => "requested",
            PartnerPayment::Rejected => "rejected",
        }
    }
}

/// A partner's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `solution_provider`.
    SolutionProvider,
    /// `distributor`.
    Distributor,
    /// `reseller`.
    Reseller,
}

/// A customer's association kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Association {
    /// `resale`.
    Resale,
    /// `referral`.
    Referral,
}

impl Association {
    fn name(self) -> &'static str {
        match self {
            Association::Resale => "resale",
            Association::Referral => "referral",
        }
    }
}

/// Voucher or cash coupon (quotas and coupons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponKind {
    /// `voucher`.
    Voucher,
    /// `cash_coupon`: only for whitelisted customers.
    CashCoupon,
    /// (v2) 提货券: pays at most a ratio of each order it applies to.
    PickupVoucher,
}

impl CouponKind {
    fn name(self) -> &'static str {
        match self {
            CouponKind::Voucher => "voucher",
            CouponKind::CashCoupon => "cash_coupon",
            CouponKind::PickupVoucher => "pickup_voucher",
        }
    }
}

/// One order of `place_order` or `place_combined_order`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub order: String,
    pub amount: i128,
    /// `new`, `renew` or `change`.
    pub kind: &'static str,
    pub service: Option<String>,
}

/// A decoded mutating command. Two requests with equal actor, `at` and command are the same
/// content (an amount `"100"` equals `"100.00"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    RegisterPartner {
        partner: String,
        kind: Kind,
        parent: Option<String>,
    },
    RegisterCustomer {
        customer: String,
        partner: Option<String>,
        association: Option<Association>,
        name: Option<String>,
        external_id: Option<String>,
    },
    Associate {
        customer: String,
        partner: String,
        association: Association,
    },
    Recharge {
        party: Party,
        amount: i128,
    },
    Allocate {
        partner: Option<String>,
        to: Party,
        amount: i128,
        memo: Option<String>,
    },
    Recover {
        partner: Option<String>,
        from: Party,
        amount: i128,
        memo: Option<String>,
    },
    SetCreditLimit {
        party: Party,
        limit: i128,
    },
    RepayCredit {
        party: Party,
        amount: i128,
    },
    Adjust {
        party: Party,
        deduct: bool,
        amount: i128,
        reason: String,
    },
    Atomic(Vec<Command>),
    IssueQuota {
        quota: String,
        partner: String,
        kind: CouponKind,
        amount: i128,
        /// (v2) A distributor may leave the window out: its source quota's.
        valid_from: Option<i64>,
        valid_until: Option<i64>,
        from_quota: Option<String>,
    },
    ReclaimQuota {
        quota: String,
    },
    WhitelistCustomer {
        customer: String,
    },
    IssueCoupon {
        coupon: String,
        quota: String,
        customer: String,
        face_value: i128,
        valid_from: Option<i64>,
        valid_until: Option<i64>,
        services: Option<Vec<String>>,
        ratio: Option<i128>,
        order_kinds: Option<Vec<&'static str>>,
    },
    ReclaimCoupon {
        coupon: String,
    },
    ExpireCoupons,
    /// `place_order` (`combined` none) or `place_combined_order`.
    PlaceOrders {
        combined: Option<String>,
        customer: String,
        lines: Vec<OrderLine>,
        pay_deadline: Option<i64>,
    },
    /// `coupons` absent and `[]` are the same; `payer` absent is `customer`.
    PayOrder {
        order: String,
        coupons: Vec<String>,
        discount: Option<String>,
        partner_pays: bool,
    },
    GrantDiscount {
        discount: String,
        customer: String,
        ratio: i128,
        services: Option<Vec<String>>,
        valid_from: i64,
        valid_until: i64,
    },
    RevokeDiscount {
        discount: String,
    },
    CancelOrder {
        order: String,
    },
    Unsubscribe {
        order: String,
        refund: i128,
    },
    /// `amount` is the deduction in fen, `erase` the cut below the fen in units of 10^-8.
    Consume {
        customer: String,
        amount: i128,
        erase: i128,
        service: Option<String>,
    },
    RequestWithdrawal {
        withdrawal: String,
        party: Party,
        amount: i128,
    },
    ApproveWithdrawal {
        withdrawal: String,
    },
    RejectWithdrawal {
        withdrawal: String,
        reason: String,
    },
    DeleteWithdrawal {
        withdrawal: String,
    },
    Unbind {
        customer: String,
    },
    SwitchAssociation {
        customer: String,
        association: Association,
    },
    RequestInvoice {
        invoice: String,
        party: Party,
        basis: InvoiceBasis,
    },
    ReturnInvoice {
        invoice: String,
    },
    /// `roles` as written (their order is part of the content).
    RegisterOperator {
        operator: String,
        partner: String,
        roles: Vec<OperatorRole>,
    },
    SetOperatorRoles {
        operator: String,
        roles: Vec<OperatorRole>,
    },
    /// `operator: null` removes the manager.
    AssignCustomerManager {
        customer: String,
        operator: Option<String>,
    },
    RequestPartnerPayment {
        order: String,
    },
    RejectPartnerPayment {
        order: String,
        reason: String,
    },
}

/// (v2) What an invoice is requested by: an amount, billing cycles or bills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvoiceBasis {
    Amount(i128),
    /// `YYYY-MM`, as written (distinct).
    Cycles(Vec<String>),
    Bills(Vec<String>),
}

/// What the ledger must answer to one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Committed (or replayed) as transaction `seq`, answering `result`.
    Committed {
        /// The transaction's seq.
        seq: u64,
        /// An identical replay of an already committed request.
        duplicate: bool,
        /// The `result` object (for a replay: the original's).
        result: Value,
    },
    /// Refused with `code`; `index` is the failing member of an atomic group, when known.
    Failed {
        /// The SPEC error code.
        code: &'static str,
        /// The failing command of an atomic group (not given for decoding errors and `id_reused`).
        index: Option<usize>,
    },
    /// A query: not modelled by `execute_line` (see the `*_json` views).
    Query,
}

/// An adjust record (SPEC 4 `adjust_records`): an allocation, a recovery, an unbind reclaim or
/// (v2) a refund reclaimed by a former funding partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The committing transaction's seq.
    pub seq: u64,
    /// Its time, in ms since the epoch.
    pub at: i64,
    /// (v2) The request id of the transaction that wrote it.
    pub transfer: String,
    /// `allocate`, `recover`, `unbind_reclaim` or `refund_reclaim`.
    pub operation: &'static str,
    /// The partner whose cash moved.
    pub partner: String,
    /// The customer or reseller on the other side.
    pub target: Party,
    /// In fen.
    pub amount: i128,
    /// Free text.
    pub memo: Option<String>,
}

/// The money of one partner or customer, in fen; `credit_used` and `arrears` are positive debts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    /// The party's own money.
    pub cash: i128,
    /// A customer's funds from its partner (SPEC 1.3, v2): never held, never withdrawn.
    pub allocated: i128,
    /// Held by pending withdrawals: still in `cash`, not available.
    pub held: i128,
    pub credit_limit: i128,
    pub credit_used: i128,
    pub arrears: i128,
}

#[derive(Clone, Debug)]
struct PartnerInfo {
    kind: Kind,
    parent: Option<String>,
}

#[derive(Clone, Debug)]
struct CustomerInfo {
    link: Option<(String, Association)>,
    /// (v2) The partner platform's own account id, unique among the customers of one partner.
    external_id: Option<String>,
    whitelisted: bool,
    /// The customer manager: `(previous, current, from)`, the previous one in force before `from`
    /// (the next UTC+8 day after the assignment, docs/decisions.md).
    manager: Option<(Option<String>, Option<String>, i64)>,
}

impl CustomerInfo {
    /// The manager in force at `at`.
    fn manager_at(&self, at: i64) -> Option<&String> {
        let (previous, current, from) = self.manager.as_ref()?;
        if at >= *from { current.as_ref() } else { previous.as_ref() }
    }
}

#[derive(Clone, Debug)]
struct OperatorInfo {
    partner: String,
    /// Sorted; empty when disabled.
    roles: Vec<OperatorRole>,
}

#[derive(Clone, Debug)]
struct Quota {
    owner: String,
    kind: CouponKind,
    valid_from: i64,
    valid_until: i64,
    /// The quota it was carved from; `None`: the platform's `coupon_issuance`.
    source: Option<String>,
    reclaimed: bool,
    balance: i128,
    seq: u64,
}

impl Quota {
    fn usable(&self, at: i64) -> bool {
        !self.reclaimed && self.valid_from <= at && at < self.valid_until
    }

    fn status(&self, at: i64) -> &'static str {
        if self.reclaimed {
            "reclaimed"
        } else if at >= self.valid_until {
            "expired"
        } else {
            "normal"
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CouponEnd {
    Live,
    Reclaimed,
    Swept,
}

#[derive(Clone, Debug)]
struct Coupon {
    customer: String,
    quota: String,
    /// The owner of the quota it came from.
    issuer: String,
    kind: CouponKind,
    face_value: i128,
    valid_from: i64,
    valid_until: i64,
    services: Option<Vec<String>>,
    /// (v2) A pickup voucher's ratio, in hundredths.
    ratio: Option<i128>,
    /// (v2) The order kinds a pickup voucher pays (`None`: all).
    order_kinds: Option<Vec<&'static str>>,
    end: CouponEnd,
    remaining: i128,
    seq: u64,
}

impl Coupon {
    /// docs/decisions.md: reclaimed, swept, used (nothing left), past `valid_until`, before
    /// `valid_from`, else usable.
    fn status(&self, at: i64) -> &'static str {
        match self.end {
            CouponEnd::Reclaimed => "reclaimed",
            CouponEnd::Swept => "expired",
            CouponEnd::Live if self.remaining == 0 => "used",
            CouponEnd::Live if at >= self.valid_until => "expired",
            CouponEnd::Live if at < self.valid_from => "inactive",
            CouponEnd::Live => "usable",
        }
    }

    /// SPEC 3: whether it pays (part of) `order` in `pay_order`: it covers the order's service and,
    /// (v2) for a pickup voucher, allows the order's kind.
    fn applies(&self, order: &Order) -> bool {
        self.covers(order.service.as_ref()) && self.order_kinds.as_ref().is_none_or(|kinds| kinds.contains(&order.kind))
    }

    /// SPEC 3: `services` limits what the coupon pays for; absent means any service.
    fn covers(&self, service: Option<&String>) -> bool {
        match (&self.services, service) {
            (None, _) => true,
            (Some(services), Some(service)) => services.contains(service),
            (Some(_), None) => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderStatus {
    Pending,
    Paid,
    Cancelled,
    Unsubscribed,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Payment {
    /// (v2) What was charged: the official price less the discount.
    due: i128,
    /// (v2) The official price less `due`.
    discount: i128,
    coupon: i128,
    allocated: i128,
    cash: i128,
    credit: i128,
}

#[derive(Clone, Debug)]
struct Order {
    customer: String,
    combined: Option<String>,
    kind: &'static str,
    service: Option<String>,
    amount: i128,
    status: OrderStatus,
    pay_deadline: i64,
    payer: Option<Party>,
    paid: Payment,
    /// The partner whose allocation paid `paid.allocated` (the customer's partner then).
    allocated_partner: Option<String>,
    partner_payment: Option<PartnerPayment>,
    /// The partner last asked to pay it (kept after the request ends).
    asked_partner: Option<String>,
    refunded: i128,
    /// When placed.
    placed_at: i64,
    seq: u64,
}

#[derive(Clone, Debug)]
struct Combined {
    customer: String,
    orders: Vec<String>,
}

#[derive(Clone, Debug)]
struct Bill {
    bill_type: &'static str,
    at: i64,
    /// The customer it concerns (none for a partner's own adjustment).
    customer: Option<String>,
    /// Who paid (or was refunded, compensated, deducted).
    payer: Party,
    /// Owns the invoiceable amount (SPEC 5): the payer, except the customer for a partner-paid
    /// bill of a referral customer (v2).
    owner: Party,
    order: Option<String>,
    /// What was due (after discount).
    amount: i128,
    /// (v2) The discount granted on it.
    discount: i128,
    coupon: i128,
    allocated: i128,
    cash: i128,
    credit: i128,
    debt: i128,
    erase: i128,
    invoiceable: i128,
    invoiced: i128,
    seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WithdrawalStatus {
    Pending,
    Approved,
    Rejected,
    Deleted,
}

impl WithdrawalStatus {
    fn name(self) -> &'static str {
        match self {
            WithdrawalStatus::Pending => "pending",
            WithdrawalStatus::Approved => "approved",
            WithdrawalStatus::Rejected => "rejected",
            WithdrawalStatus::Deleted => "deleted",
        }
    }
}

#[derive(Clone, Debug)]
struct Withdrawal {
    party: Party,
    amount: i128,
    status: WithdrawalStatus,
    reason: Option<String>,
    at: i64,
    seq: u64,
}

#[derive(Clone, Debug)]
struct Invoice {
    party: Party,
    amount: i128,
    returned: bool,
    matched: Vec<(String, i128)>,
    at: i64,
}

/// (v2) A business discount (商务折扣).
#[derive(Clone, Debug)]
struct Discount {
    customer: String,
    /// The share of the official price to pay, in hundredths.
    ratio: i128,
    services: Option<Vec<String>>,
    valid_from: i64,
    valid_until: i64,
    revoked: bool,
}

impl Discount {
    fn covers(&self, service: Option<&String>) -> bool {
        match (&self.services, service) {
            (None, _) => true,
            (Some(services), Some(service)) => services.contains(service),
            (Some(_), None) => false,
        }
    }
}

/// `floor_fen(fen × hundredths / 100)`.
fn ratio_of(fen: i128, ratio: i128) -> i128 {
    fen * ratio / 100
}

/// Everything a command can change.
#[derive(Clone, Debug, Default)]
struct Books {
    partners: HashMap<String, PartnerInfo>,
    customers: HashMap<String, CustomerInfo>,
    operators: HashMap<String, OperatorInfo>,
    money: HashMap<Party, Balances>,
    bank: i128,
    revenue: i128,
    coupon_issuance: i128,
    coupon_redeemed: i128,
    coupon_expired: i128,
    quotas: HashMap<String, Quota>,
    coupons: HashMap<String, Coupon>,
    orders: HashMap<String, Order>,
    combined: HashMap<String, Combined>,
    bills: HashMap<String, Bill>,
    withdrawals: HashMap<String, Withdrawal>,
    invoices: HashMap<String, Invoice>,
    discounts: HashMap<String, Discount>,
    records: Vec<Record>,
}

#[derive(Clone, Debug)]
struct Committed {
    content: (Party, Option<i64>, Command),
    seq: u64,
    result: Value,
}

/// The reference ledger.
#[derive(Clone, Debug)]
pub struct Model {
    books: Books,
    requests: HashMap<String, Committed>,
    seq: u64,
    /// Time of the last committed transaction, in ms since the epoch (0 when none).
    last_at: i64,
    /// The engine's clock, used when a command has no `at`.
    clock: i64,
}

type Outcome<T> = Result<T, &'static str>;

impl Model {
    /// An empty ledger whose clock reads `clock` (ms since the epoch).
    pub fn new(clock: i64) -> Model {
        Model { books: Books::default(), requests: HashMap::new(), seq: 0, last_at: 0, clock }
    }

    /// Committed transactions so far (the head's seq).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Time of the last committed transaction (0 when none).
    pub fn last_at(&self) -> i64 {
        self.last_at
    }

    /// The engine clock of the model.
    pub fn clock(&self) -> i64 {
        self.clock
    }

    /// The platform's `bank` and `revenue` balances, in fen (signed, as the accounts hold them).
    pub fn platform(&self) -> (i128, i128) {
        (self.books.bank, self.books.revenue)
    }

    /// Every adjust record, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.books.records
    }

    /// The balances of a registered partner or customer; `None` when not registered.
    pub fn balances(&self, party: &Party) -> Option<Balances> {
        self.books.registered(party).then(|| self.books.money.get(party).copied().unwrap_or_default())
    }

    /// Runs one request line and says what the ledger must answer.
    pub fn execute_line(&mut self, line: &str) -> Expected {
        match serde_json::from_str::<Value>(line) {
            // docs/decisions.md: a duplicate key in any object is `invalid_request`.
            Ok(_) if has_duplicate_keys(line) => Expected::Failed { code: "invalid_request", index: None },
            Ok(value) => self.execute(&value),
            Err(_) => Expected::Failed { code: "invalid_request", index: None },
        }
    }

    /// Runs one request given as JSON.
    pub fn execute(&mut self, request: &Value) -> Expected {
        let (id, actor, at, command) = match decode(request) {
            Ok(Decoded::Command { id, actor, at, command }) => (id, actor, at, *command),
            Ok(Decoded::Query) => return Expected::Query,
            Err(code) => return Expected::Failed { code, index: None },
        };
        let content = (actor.clone(), at, command.clone());
        let mut id_reused = false;
        if let Some(committed) = self.requests.get(&id) {
            if committed.content == content {
                return Expected::Committed { seq: committed.seq, duplicate: true, result: committed.result.clone() };
            }
            id_reused = true;
        }
        // SPEC 1.4 and docs/decisions.md: without `at`, the later of the clock and the head.
        let at = at.unwrap_or(self.clock.max(self.last_at));
        let mut books = self.books.clone();
        let check = Check { actor: &actor, at, last_at: self.last_at, id_reused, request: &id, index: None, seq: self.seq + 1 };
        let result = match &command {
            Command::Atomic(commands) => {
                let mut results = Vec::with_capacity(commands.len());
                let mut failure = None;
                for (index, member) in commands.iter().enumerate() {
                    match books.run(&Check { index: Some(index), ..check }, member) {
                        Ok(result) => results.push(result),
                        Err(code) => {
                            // docs/decisions.md: `id_reused` concerns the group, no index.
                            failure = Some((code, (code != "id_reused").then_some(index)));
                            break;
                        }
                    }
                }
                match failure {
                    Some(failure) => Err(failure),
                    None => Ok(json!({"results": results})),
                }
            }
            single => books.run(&check, single).map_err(|code| (code, None)),
        };
        let result = match result {
            Ok(result) => result,
            Err((code, index)) => return Expected::Failed { code, index },
        };
        self.seq += 1;
        for record in books.records.iter_mut().filter(|record| record.seq == 0) {
            record.seq = self.seq;
        }
        self.books = books;
        self.last_at = at;
        self.requests.insert(id, Committed { content, seq: self.seq, result: result.clone() });
        Expected::Committed { seq: self.seq, duplicate: false, result }
    }
}

/// The context of one command: who, when, whether its request id was used before, the request
/// id and the member index inside an atomic group (bills of usage and adjustments are named after
/// them), and the seq it commits under.
#[derive(Clone, Copy)]
struct Check<'a> {
    actor: &'a Party,
    at: i64,
    last_at: i64,
    id_reused: bool,
    request: &'a str,
    index: Option<usize>,
    seq: u64,
}

impl Check<'_> {
    fn fresh(&self) -> Outcome<()> {
        if self.id_reused { Err("id_reused") } else { Ok(()) }
    }

    fn in_time(&self) -> Outcome<()> {
        if self.at < self.last_at { Err("time_went_backwards") } else { Ok(()) }
    }

    fn platform_only(&self) -> Outcome<()> {
        if *self.actor == Party::Platform { Ok(()) } else { Err("access_denied") }
    }

    /// docs/decisions.md: a usage or adjustment bill takes the request id, `<request>:<index>`
    /// inside an atomic group.
    fn bill_id(&self) -> String {
        match self.index {
            Some(index) => format!("{}:{index}", self.request),
            None => self.request.to_owned(),
        }
    }
}

fn amount_text(fen: i128) -> Value {
    Value::String(format_amount(fen))
}

/// SPEC 2.2 puts `invalid_request` before every other error: the refusals that the request alone
/// decides (whatever the books hold, whoever the actor is) come first.
fn intrinsic(check: &Check<'_>, command: &Command) -> Outcome<()> {
    match command {
        // docs/decisions.md: the platform gives no `from_quota` (a distributor must, but whether
        // the actor is a distributor depends on the books: see `issue_quota`).
        Command::IssueQuota { from_quota: Some(_), .. } if *check.actor == Party::Platform => Err("invalid_request"),
        // docs/decisions.md (v2): the platform must give both ends of the window (without
        // `from_quota` see `decode_commerce`).
        Command::IssueQuota { valid_from, valid_until, .. }
            if *check.actor == Party::Platform && (valid_from.is_none() || valid_until.is_none()) =>
        {
            Err("invalid_request")
        }
        // docs/decisions.md: a `pay_deadline` before the order's time is `invalid_request`.
        Command::PlaceOrders { pay_deadline: Some(deadline), .. } if *deadline < check.at => Err("invalid_request"),
        _ => Ok(()),
    }
}

/// docs/decisions.md (v2): which commands an operator may send at all (its partner's scope
/// applies after): `admin` every command; `finance` the partner's funds, withdrawals, invoices
/// and partner payments; `customer_manager` alone none.
fn operator_may(roles: &[OperatorRole], command: &Command) -> bool {
    if roles.contains(&OperatorRole::Admin) {
        return true;
    }
    roles.contains(&OperatorRole::Finance)
        && matches!(
            command,
            Command::Allocate { .. }
                | Command::Recover { .. }
                | Command::RepayCredit { .. }
                | Command::RequestWithdrawal { .. }
                | Command::DeleteWithdrawal { .. }
                | Command::RequestInvoice { .. }
                | Command::ReturnInvoice { .. }
                | Command::RejectPartnerPayment { .. }
                | Command::PayOrder { partner_pays: true, .. }
        )
}

impl Books {
    fn registered(&self, party: &Party) -> bool {
        match party {
            Party::Platform => true,
            Party::Partner(id) => self.partners.contains_key(id),
            Party::Customer(id) => self.customers.contains_key(id),
            Party::Operator(id) => self.operators.contains_key(id),
        }
    }

    /// SPEC 1.1 (v2): a party id is unique across partners, customers and operators.
    fn id_taken(&self, id: &str) -> bool {
        self.partners.contains_key(id) || self.customers.contains_key(id) || self.operators.contains_key(id)
    }

    fn exists(&self, party: &Party) -> Outcome<()> {
        if self.registered(party) { Ok(()) } else { Err("not_found") }
    }

    fn parent(&self, partner: &str) -> Option<&str> {
        self.partners.get(partner).and_then(|info| info.parent.as_deref())
    }

    fn kind(&self, partner: &str) -> Option<Kind> {
        self.partners.get(partner).map(|info| info.kind)
    }

    fn link(&self, customer: &str) -> Option<&(String, Association)> {
        self.customers.get(customer).and_then(|info| info.link.as_ref())
    }

    /// SPEC 2.1: the platform acts for all; a partner for itself, its operators, its resale
    /// customers and, as a distributor, its resellers and their resale customers; a customer for
    /// itself. `actor` is resolved (an operator acts as its partner).
    fn in_scope(&self, actor: &Party, party: &Party) -> bool {
        self.partner_scope(actor, party, false)
    }

    /// Scope plus a partner's referral customers (and its resellers'): SPEC 2.1 (v2) lets it read
    /// their consumption and orders it paid or was asked to pay, unbind, switch, reject a partner
    /// payment and pay as partner.
    fn reaches(&self, actor: &Party, party: &Party) -> bool {
        self.partner_scope(actor, party, true)
    }

    fn partner_scope(&self, actor: &Party, party: &Party, referral_too: bool) -> bool {
        match actor {
            Party::Platform => true,
            Party::Customer(_) => actor == party,
            Party::Operator(_) => false,
            Party::Partner(me) => match party {
                _ if actor == party => true,
                Party::Partner(other) => self.parent(other) == Some(me.as_str()),
                Party::Customer(customer) => match self.link(customer) {
                    Some((owner, association)) => {
                        (owner == me || self.parent(owner) == Some(me.as_str())) && (referral_too || *association == Association::Resale)
                    }
                    None => false,
                },
                Party::Operator(operator) => self.operators.get(operator).is_some_and(|info| info.partner == *me),
                Party::Platform => false,
            },
        }
    }

    fn scope(&self, actor: &Party, party: &Party) -> Outcome<()> {
        if self.in_scope(actor, party) { Ok(()) } else { Err("access_denied") }
    }

    fn is_resale_customer(&self, party: &Party) -> bool {
        match party {
            Party::Customer(id) => matches!(self.link(id), Some((_, Association::Resale))),
            _ => false,
        }
    }

    fn money(&mut self, party: &Party) -> &mut Balances {
        self.money.entry(party.clone()).or_default()
    }

    fn balances_of(&self, party: &Party) -> Balances {
        self.money.get(party).copied().unwrap_or_default()
    }

    /// Cash minus held (SPEC 1.3).
    fn available(&self, party: &Party) -> i128 {
        let balances = self.balances_of(party);
        balances.cash - balances.held
    }

    /// Money arriving at a party's cash: a customer's debt first. Returns (repaid, to cash).
    fn incoming(&mut self, party: &Party, amount: i128) -> (i128, i128) {
        self.incoming_to(party, amount, false)
    }

    /// Money arriving at a party's cash or (a customer's) `allocated`: a customer's debt first
    /// (SPEC 1.3). Returns (repaid, to the account).
    fn incoming_to(&mut self, party: &Party, amount: i128, allocated: bool) -> (i128, i128) {
        let is_customer = matches!(party, Party::Customer(_));
        let balances = self.money(party);
        let repaid = if is_customer { amount.min(balances.arrears) } else { 0 };
        balances.arrears -= repaid;
        if allocated {
            balances.allocated += amount - repaid;
        } else {
            balances.cash += amount - repaid;
        }
        (repaid, amount - repaid)
    }

    fn funds(&self, party: &Party, amount: i128) -> Outcome<()> {
        if self.available(party) >= amount { Ok(()) } else { Err("insufficient_funds") }
    }

    /// Decides and applies one non-group command, checks in the order of SPEC 2.2; returns the
    /// command's `result`.
    fn run(&mut self, check: &Check<'_>, command: &Command) -> Outcome<Value> {
        intrinsic(check, command)?;
        if !self.registered(check.actor) {
            return Err("access_denied");
        }
        // SPEC 2.1 (v2) and docs/decisions.md: an operator acts as its partner, within its
        // roles; a disabled one (no roles) is refused everything.
        let resolved;
        let check = match check.actor {
            Party::Operator(operator) => {
                let info = self.operators.get(operator).ok_or("access_denied")?;
                if info.roles.is_empty() || !operator_may(&info.roles, command) {
                    return Err("access_denied");
                }
                resolved = Party::Partner(info.partner.clone());
                &Check { actor: &resolved, ..*check }
            }
            _ => check,
        };
        match command {
            Command::RegisterPartner { partner, kind, parent } => self.register_partner(check, partner, *kind, parent.as_deref()),
            Command::RegisterCustomer { customer, partner, association, external_id, .. } => {
                self.register_customer(check, customer, partner.as_deref(), *association, external_id.as_deref())
            }
            Command::Associate { customer, partner, association } => self.associate(check, customer, partner, *association),
            Command::Recharge { party, amount } => self.recharge(check, party, *amount),
            Command::Allocate { partner, to, amount, memo } => self.transfer(check, partner.as_deref(), to, *amount, memo, true),
            Command::Recover { partner, from, amount, memo } => self.transfer(check, partner.as_deref(), from, *amount, memo, false),
            Command::SetCreditLimit { party, limit } => self.set_credit_limit(check, party, *limit),
            Command::RepayCredit { party, amount } => self.repay_credit(check, party, *amount),
            Command::Adjust { party, deduct, amount, .. } => self.adjust(check, party, *deduct, *amount),
            Command::Atomic(_) => Err("invalid_request"),
            Command::IssueQuota { quota, partner, kind, amount, valid_from, valid_until, from_quota } => {
                self.issue_quota(check, quota, partner, *kind, *amount, (*valid_from, *valid_until), from_quota.as_deref())
            }
            Command::ReclaimQuota { quota } => self.reclaim_quota(check, quota),
            Command::WhitelistCustomer { customer } => self.whitelist_customer(check, customer),
            Command::IssueCoupon { coupon, quota, customer, face_value, valid_from, valid_until, services, ratio, order_kinds } => {
                self.issue_coupon(check, coupon, quota, customer, *face_value, (*valid_from, *valid_until), services, (*ratio, order_kinds))
            }
            Command::ReclaimCoupon { coupon } => self.reclaim_coupon(check, coupon),
            Command::ExpireCoupons => self.expire_coupons(check),
            Command::PlaceOrders { combined, customer, lines, pay_deadline } => {
                self.place_orders(check, combined.as_deref(), customer, lines, *pay_deadline)
            }
            Command::PayOrder { order, coupons, discount, partner_pays } => {
                self.pay_order(check, order, coupons, discount.as_deref(), *partner_pays)
            }
            Command::GrantDiscount { discount, customer, ratio, services, valid_from, valid_until } => {
                self.grant_discount(check, discount, customer, *ratio, services, (*valid_from, *valid_until))
            }
            Command::RevokeDiscount { discount } => self.revoke_discount(check, discount),
            Command::CancelOrder { order } => self.cancel_order(check, order),
            Command::Unsubscribe { order, refund } => self.unsubscribe(check, order, *refund),
            Command::Consume { customer, amount, erase, service } => self.consume(check, customer, *amount, *erase, service.as_ref()),
            Command::RequestWithdrawal { withdrawal, party, amount } => self.request_withdrawal(check, withdrawal, party, *amount),
            Command::ApproveWithdrawal { withdrawal } => self.settle_withdrawal(check, withdrawal, None),
            Command::RejectWithdrawal { withdrawal, reason } => self.settle_withdrawal(check, withdrawal, Some(reason)),
            Command::DeleteWithdrawal { withdrawal } => self.delete_withdrawal(check, withdrawal),
            Command::Unbind { customer } => self.change_association(check, customer, None),
            Command::SwitchAssociation { customer, association } => self.change_association(check, customer, Some(*association)),
            Command::RequestInvoice { invoice, party, basis } => self.request_invoice(check, invoice, party, basis),
            Command::ReturnInvoice { invoice } => self.return_invoice(check, invoice),
            Command::RegisterOperator { operator, partner, roles } => self.register_operator(check, operator, partner, roles),
            Command::SetOperatorRoles { operator, roles } => self.set_operator_roles(check, operator, roles),
            Command::AssignCustomerManager { customer, operator } => self.assign_manager(check, customer, operator.as_deref()),
            Command::RequestPartnerPayment { order } => self.request_partner_payment(check, order),
            Command::RejectPartnerPayment { order, .. } => self.reject_partner_payment(check, order),
        }
    }

    fn register_partner(&mut self, check: &Check<'_>, partner: &str, kind: Kind, parent: Option<&str>) -> Outcome<Value> {
        check.platform_only()?;
        if let Some(parent) = parent {
            match self.partners.get(parent) {
                None => return Err("not_found"),
                Some(info) if info.kind != Kind::Distributor => return Err("invalid_request"),
                Some(_) => {}
            }
        }
        check.fresh()?;
        if self.id_taken(partner) {
            return Err("already_exists");
        }
        check.in_time()?;
        self.partners.insert(partner.to_owned(), PartnerInfo { kind, parent: parent.map(str::to_owned) });
        Ok(json!({"partner": partner}))
    }

    fn register_customer(
        &mut self,
        check: &Check<'_>,
        customer: &str,
        partner: Option<&str>,
        association: Option<Association>,
        external_id: Option<&str>,
    ) -> Outcome<Value> {
        match partner {
            Some(partner) => {
                let partner_party = Party::Partner(partner.to_owned());
                self.scope(check.actor, &partner_party)?;
                self.exists(&partner_party)?;
            }
            None => check.platform_only()?,
        }
        check.fresh()?;
        if self.id_taken(customer) {
            return Err("already_exists");
        }
        // docs/decisions.md (v2): external ids are unique among the customers of one partner
        // (customers without a partner form one group).
        if let Some(external_id) = external_id
            && self.external_id_taken(partner, external_id)
        {
            return Err("already_exists");
        }
        check.in_time()?;
        let link = partner.map(|partner| (partner.to_owned(), association.unwrap_or(Association::Resale)));
        self.customers.insert(
            customer.to_owned(),
            CustomerInfo { link, external_id: external_id.map(str::to_owned), whitelisted: false, manager: None },
        );
        Ok(json!({"customer": customer}))
    }

    /// Whether a customer of `partner` (none: of no partner) already carries `external_id`.
    fn external_id_taken(&self, partner: Option<&str>, external_id: &str) -> bool {
        self.customers.values().any(|info| {
            info.external_id.as_deref() == Some(external_id) && info.link.as_ref().map(|(partner, _)| partner.as_str()) == partner
        })
    }

    /// SPEC 3 `associate` (v2): zero `allocated`, zero arrears, zero credit used, a credit limit
    /// of zero and no usable coupon; the customer's own cash may stay.
    fn resale_preconditions(&self, customer: &str, at: i64) -> Outcome<()> {
        let balances = self.balances_of(&Party::Customer(customer.to_owned()));
        if balances.allocated != 0 || balances.arrears != 0 || balances.credit_used != 0 || balances.credit_limit > 0 {
            return Err("association_blocked");
        }
        if !self.usable_coupons(customer, at).is_empty() {
            return Err("association_blocked");
        }
        Ok(())
    }

    fn associate(&mut self, check: &Check<'_>, customer: &str, partner: &str, association: Association) -> Outcome<Value> {
        check.platform_only()?;
        let customer_party = Party::Customer(customer.to_owned());
        self.exists(&customer_party)?;
        self.exists(&Party::Partner(partner.to_owned()))?;
        check.fresh()?;
        // docs/decisions.md (v2): the new partner's customers may not already use its external id
        // (`already_exists` ranks before `association_state`, SPEC 2.2); a customer of that very
        // partner already holds its own.
        if let Some(external_id) = self.customers.get(customer).and_then(|info| info.external_id.clone())
            && self.link(customer).is_none_or(|(linked, _)| linked != partner)
            && self.external_id_taken(Some(partner), &external_id)
        {
            return Err("already_exists");
        }
        if self.link(customer).is_some() {
            return Err("association_state");
        }
        if association == Association::Resale {
            self.resale_preconditions(customer, check.at)?;
        }
        check.in_time()?;
        if let Some(info) = self.customers.get_mut(customer) {
            info.link = Some((partner.to_owned(), association));
            info.manager = None;
        }
        Ok(json!({"customer": customer, "partner": partner, "association": association.name()}))
    }

    fn recharge(&mut self, check: &Check<'_>, party: &Party, amount: i128) -> Outcome<Value> {
        check.platform_only()?;
        self.exists(party)?;
        check.fresh()?;
        if self.is_resale_customer(party) {
            return Err("resale_customer");
        }
        check.in_time()?;
        self.bank -= amount;
        let (repaid, cash) = self.incoming(party, amount);
        Ok(json!({"arrears_repaid": format_amount(repaid), "cash": format_amount(cash)}))
    }

    /// `allocate` (partner → counterparty) or `recover` (counterparty → partner).
    fn transfer(
        &mut self,
        check: &Check<'_>,
        partner: Option<&str>,
        counterparty: &Party,
        amount: i128,
        memo: &Option<String>,
        allocate: bool,
    ) -> Outcome<Value> {
        let partner = match (partner, check.actor) {
            (Some(partner), _) => Party::Partner(partner.to_owned()),
            (None, Party::Partner(me)) => Party::Partner(me.clone()),
            (None, _) => return Err("access_denied"),
        };
        // Moving a partner's money is the partner's act (or its distributor's), never the platform's.
        if *check.actor == Party::Platform {
            return Err("access_denied");
        }
        self.scope(check.actor, &partner)?;
        self.exists(&partner)?;
        self.exists(counterparty)?;
        check.fresh()?;
        self.relationship(&partner, counterparty)?;
        check.in_time()?;
        // SPEC 3 (v2): a customer's side is its `allocated` (never its own cash); a reseller's
        // side is its cash.
        let customer_side = matches!(counterparty, Party::Customer(_));
        if allocate {
            self.funds(&partner, amount)?;
            self.money(&partner).cash -= amount;
            self.incoming_to(counterparty, amount, customer_side);
        } else {
            if customer_side {
                if self.balances_of(counterparty).allocated < amount {
                    return Err("insufficient_funds");
                }
                self.money(counterparty).allocated -= amount;
            } else {
                self.funds(counterparty, amount)?;
                self.money(counterparty).cash -= amount;
            }
            self.incoming(&partner, amount);
        }
        let Party::Partner(partner) = partner else { return Err("access_denied") };
        self.records.push(Record {
            seq: 0,
            at: check.at,
            transfer: check.request.to_owned(),
            operation: if allocate { "allocate" } else { "recover" },
            partner,
            target: counterparty.clone(),
            amount,
            memo: memo.clone(),
        });
        Ok(json!({"transfer": check.request}))
    }

    /// The counterparty of an allocation or recovery: a resale customer of the partner, or a
    /// reseller of the partner when it is a distributor.
    fn relationship(&self, partner: &Party, counterparty: &Party) -> Outcome<()> {
        let Party::Partner(partner) = partner else { return Err("access_denied") };
        match counterparty {
            Party::Customer(customer) => match self.link(customer) {
                Some((owner, Association::Resale)) if owner == partner => Ok(()),
                Some((owner, Association::Referral)) if owner == partner => Err("not_resale_customer"),
                _ => Err("not_your_customer"),
            },
            Party::Partner(reseller) => {
                let is_distributor = self.kind(partner) == Some(Kind::Distributor);
                if is_distributor && self.parent(reseller) == Some(partner.as_str()) { Ok(()) } else { Err("not_your_reseller") }
            }
            Party::Platform | Party::Operator(_) => Err("invalid_request"),
        }
    }

    fn set_credit_limit(&mut self, check: &Check<'_>, party: &Party, limit: i128) -> Outcome<Value> {
        check.platform_only()?;
        self.exists(party)?;
        check.fresh()?;
        // SPEC 3 (v2): a resale customer has no credit; docs/decisions.md: before
        // `credit_limit_below_usage`, and a limit of zero is always accepted.
        if limit > 0 && self.is_resale_customer(party) {
            return Err("resale_customer");
        }
        if limit < self.money(party).credit_used {
            return Err("credit_limit_below_usage");
        }
        check.in_time()?;
        self.money(party).credit_limit = limit;
        Ok(json!({"credit_limit": format_amount(limit)}))
    }

    fn repay_credit(&mut self, check: &Check<'_>, party: &Party, amount: i128) -> Outcome<Value> {
        self.scope(check.actor, party)?;
        self.exists(party)?;
        check.fresh()?;
        if amount > self.money(party).credit_used {
            return Err("exceeds_credit_used");
        }
        check.in_time()?;
        self.funds(party, amount)?;
        let balances = self.money(party);
        balances.cash -= amount;
        balances.credit_used -= amount;
        Ok(json!({"repaid": format_amount(amount)}))
    }

    fn bill_or_order_exists(&self, id: &str) -> bool {
        self.bills.contains_key(id) || self.orders.contains_key(id)
    }

    fn adjust(&mut self, check: &Check<'_>, party: &Party, deduct: bool, amount: i128) -> Outcome<Value> {
        check.platform_only()?;
        self.exists(party)?;
        check.fresh()?;
        // docs/decisions.md: the adjustment's bill is named after the request.
        let bill = check.bill_id();
        if self.bill_or_order_exists(&bill) {
            return Err("already_exists");
        }
        check.in_time()?;
        let (result, bill_type, signed) = if deduct {
            self.funds(party, amount)?;
            self.money(party).cash -= amount;
            self.revenue += amount;
            (json!({"deducted": format_amount(amount)}), "deduction", amount)
        } else {
            self.revenue -= amount;
            let (repaid, cash) = self.incoming(party, amount);
            (json!({"arrears_repaid": format_amount(repaid), "cash": format_amount(cash)}), "compensation", -amount)
        };
        let customer = match party {
            Party::Customer(id) => Some(id.clone()),
            _ => None,
        };
        let record = Bill {
            bill_type,
            at: check.at,
            customer,
            payer: party.clone(),
            owner: party.clone(),
            order: None,
            amount: signed,
            discount: 0,
            coupon: 0,
            allocated: 0,
            cash: signed,
            credit: 0,
            debt: 0,
            erase: 0,
            invoiceable: signed,
            invoiced: 0,
            seq: check.seq,
        };
        self.bills.insert(bill, record);
        Ok(result)
    }
}

// ---------------------------------------------------------------------------------------------
// Coupons, orders, usage, withdrawals, association changes and invoices.

impl Books {
    fn quota_mut(&mut self, quota: &str) -> Outcome<&mut Quota> {
        self.quotas.get_mut(quota).ok_or("not_found")
    }

    /// Value coming back to a quota: to that quota, or when it was reclaimed itself, on to its
    /// source, up to the platform's `coupon_issuance` (docs/decisions.md: reclaimed value never
    /// strands).
    fn return_value(&mut self, mut quota: Option<String>, amount: i128) {
        while let Some(id) = quota {
            match self.quotas.get_mut(&id) {
                Some(record) if !record.reclaimed => {
                    record.balance += amount;
                    return;
                }
                Some(record) => quota = record.source.clone(),
                None => break,
            }
        }
        self.coupon_issuance += amount;
    }

    /// The usable coupons of a customer at `at`, oldest first (then by id).
    fn usable_coupons(&self, customer: &str, at: i64) -> Vec<String> {
        let mut usable: Vec<(u64, &String)> = self
            .coupons
            .iter()
            .filter(|(_, coupon)| coupon.customer == customer && coupon.status(at) == "usable")
            .map(|(id, coupon)| (coupon.seq, id))
            .collect();
        usable.sort();
        usable.into_iter().map(|(_, id)| id.clone()).collect()
    }

    /// A coupon's remaining value back to its quota; the coupon is `reclaimed`.
    fn reclaim_coupon_value(&mut self, coupon: &str) -> i128 {
        let Some(record) = self.coupons.get_mut(coupon) else { return 0 };
        let (amount, quota) = (record.remaining, record.quota.clone());
        record.remaining = 0;
        record.end = CouponEnd::Reclaimed;
        if amount > 0 {
            self.return_value(Some(quota), amount);
        }
        amount
    }

    #[allow(clippy::too_many_arguments)]
    fn issue_quota(
        &mut self,
        check: &Check<'_>,
        quota: &str,
        partner: &str,
        kind: CouponKind,
        amount: i128,
        (valid_from, valid_until): (Option<i64>, Option<i64>),
        from_quota: Option<&str>,
    ) -> Outcome<Value> {
        // The platform issues from `coupon_issuance`; a distributor from a quota of its own
        // (`invalid_request` for the wrong combination is checked before, see `intrinsic`).
        // docs/decisions.md: only distributors issue quotas from quotas, other partners are
        // `access_denied`; a distributor must name `from_quota`.
        let source = match (check.actor, from_quota) {
            (Party::Platform, None) => None,
            (Party::Partner(me), _) if self.kind(me) != Some(Kind::Distributor) => return Err("access_denied"),
            (Party::Partner(me), Some(from_quota)) => {
                let source = self.quotas.get(from_quota).ok_or("not_found")?;
                if source.owner != *me {
                    return Err("access_denied");
                }
                Some(from_quota.to_owned())
            }
            (Party::Partner(_), None) => return Err("invalid_request"),
            _ => return Err("access_denied"),
        };
        self.exists(&Party::Partner(partner.to_owned()))?;
        // docs/decisions.md: platform quotas go to solution providers and distributors, naming a
        // reseller is `invalid_request`; SPEC 2.2 ranks it before `id_reused` and `already_exists`.
        if source.is_none() && self.kind(partner) == Some(Kind::Reseller) {
            return Err("invalid_request");
        }
        check.fresh()?;
        if self.quotas.contains_key(quota) {
            return Err("already_exists");
        }
        // docs/decisions.md (v2): a distributor's window defaults to its source quota's (the
        // platform gives both, see `intrinsic`).
        let parent_window = source.as_ref().and_then(|id| self.quotas.get(id)).map(|quota| (quota.valid_from, quota.valid_until));
        let valid_from = valid_from.or(parent_window.map(|window| window.0)).unwrap_or(0);
        let valid_until = valid_until.or(parent_window.map(|window| window.1)).unwrap_or(0);
        let window = (valid_from, valid_until);
        match &source {
            None => {
                if valid_from >= valid_until {
                    return Err("invalid_validity");
                }
                check.in_time()?;
                self.coupon_issuance -= amount;
            }
            Some(source_id) => {
                let source = self.quotas.get(source_id).cloned().ok_or("not_found")?;
                if self.parent(partner) != Some(source.owner.as_str()) {
                    return Err("not_your_reseller");
                }
                if source.kind != kind || !source.usable(check.at) {
                    return Err("quota_not_valid");
                }
                if valid_from >= valid_until || valid_from < source.valid_from || valid_until > source.valid_until {
                    return Err("invalid_validity");
                }
                check.in_time()?;
                if source.balance < amount {
                    return Err("quota_insufficient");
                }
                self.quota_mut(source_id)?.balance -= amount;
            }
        }
        let (valid_from, valid_until) = window;
        let record =
            Quota { owner: partner.to_owned(), kind, valid_from, valid_until, source, reclaimed: false, balance: amount, seq: check.seq };
        self.quotas.insert(quota.to_owned(), record);
        Ok(json!({"quota": quota}))
    }

    /// The issuer of a quota: the platform, or the owner of the quota it was carved from.
    fn quota_issuer(&self, quota: &Quota) -> Party {
        match &quota.source {
            None => Party::Platform,
            Some(source) => self.quotas.get(source).map_or(Party::Platform, |source| Party::Partner(source.owner.clone())),
        }
    }

    fn reclaim_quota(&mut self, check: &Check<'_>, quota: &str) -> Outcome<Value> {
        let record = self.quotas.get(quota).cloned().ok_or("not_found")?;
        if self.quota_issuer(&record) != *check.actor {
            return Err("access_denied");
        }
        check.fresh()?;
        // docs/decisions.md: reclaiming a reclaimed quota is `quota_not_valid`.
        if record.reclaimed {
            return Err("quota_not_valid");
        }
        check.in_time()?;
        let remaining = record.balance;
        let entry = self.quota_mut(quota)?;
        entry.balance = 0;
        entry.reclaimed = true;
        if remaining > 0 {
            self.return_value(record.source.clone(), remaining);
        }
        Ok(json!({"quota": quota, "reclaimed": format_amount(remaining)}))
    }

    fn whitelist_customer(&mut self, check: &Check<'_>, customer: &str) -> Outcome<Value> {
        let party = Party::Customer(customer.to_owned());
        // docs/decisions.md: the partner's act (or its distributor's), not the platform's; (v2)
        // reach, not scope: whitelisting a referral customer is a relationship error.
        if !matches!(check.actor, Party::Partner(_)) || !self.reaches(check.actor, &party) {
            return Err("access_denied");
        }
        self.exists(&party)?;
        check.fresh()?;
        match self.link(customer) {
            None => return Err("not_your_customer"),
            Some((_, Association::Referral)) => return Err("not_resale_customer"),
            Some(_) => {}
        }
        check.in_time()?;
        if let Some(info) = self.customers.get_mut(customer) {
            info.whitelisted = true;
        }
        Ok(json!({"customer": customer, "whitelisted": true}))
    }

    #[allow(clippy::too_many_arguments)]
    fn issue_coupon(
        &mut self,
        check: &Check<'_>,
        coupon: &str,
        quota: &str,
        customer: &str,
        face_value: i128,
        (valid_from, valid_until): (Option<i64>, Option<i64>),
        services: &Option<Vec<String>>,
        (ratio, order_kinds): (Option<i128>, &Option<Vec<&'static str>>),
    ) -> Outcome<Value> {
        let source = self.quotas.get(quota).cloned().ok_or("not_found")?;
        // docs/decisions.md (v2): `ratio` is required for a pickup voucher, `ratio` and
        // `order_kinds` refused for other kinds, right after the quota is found.
        let pickup = source.kind == CouponKind::PickupVoucher;
        if pickup != ratio.is_some() || (!pickup && order_kinds.is_some()) {
            return Err("invalid_request");
        }
        let owner = Party::Partner(source.owner.clone());
        let parent = self.parent(&source.owner).map(|parent| Party::Partner(parent.to_owned()));
        if *check.actor != owner && Some(check.actor) != parent.as_ref() {
            return Err("access_denied");
        }
        self.exists(&Party::Customer(customer.to_owned()))?;
        check.fresh()?;
        if self.coupons.contains_key(coupon) {
            return Err("already_exists");
        }
        let info = self.customers.get(customer).cloned().ok_or("not_found")?;
        match &info.link {
            Some((partner, association)) if *partner == source.owner => {
                if *association != Association::Resale {
                    return Err("not_resale_customer");
                }
            }
            _ => return Err("not_your_customer"),
        }
        if source.kind == CouponKind::CashCoupon && !info.whitelisted {
            return Err("not_whitelisted");
        }
        if !source.usable(check.at) {
            return Err("quota_not_valid");
        }
        let (valid_from, valid_until) = (valid_from.unwrap_or(source.valid_from), valid_until.unwrap_or(source.valid_until));
        if valid_from >= valid_until || valid_from < source.valid_from || valid_until > source.valid_until {
            return Err("invalid_validity");
        }
        check.in_time()?;
        if source.balance < face_value {
            return Err("quota_insufficient");
        }
        self.quota_mut(quota)?.balance -= face_value;
        let record = Coupon {
            customer: customer.to_owned(),
            quota: quota.to_owned(),
            issuer: source.owner,
            kind: source.kind,
            face_value,
            valid_from,
            valid_until,
            services: services.clone(),
            ratio,
            order_kinds: order_kinds.clone(),
            end: CouponEnd::Live,
            remaining: face_value,
            seq: check.seq,
        };
        self.coupons.insert(coupon.to_owned(), record);
        Ok(json!({"coupon": coupon}))
    }

    fn reclaim_coupon(&mut self, check: &Check<'_>, coupon: &str) -> Outcome<Value> {
        let record = self.coupons.get(coupon).cloned().ok_or("not_found")?;
        let issuer = Party::Partner(record.issuer.clone());
        let parent = self.parent(&record.issuer).map(|parent| Party::Partner(parent.to_owned()));
        if *check.actor != issuer && Some(check.actor) != parent.as_ref() {
            return Err("access_denied");
        }
        check.fresh()?;
        if record.status(check.at) != "usable" || !self.is_resale_customer(&Party::Customer(record.customer.clone())) {
            return Err("coupon_not_reclaimable");
        }
        check.in_time()?;
        let amount = self.reclaim_coupon_value(coupon);
        Ok(json!({"coupon": coupon, "reclaimed": format_amount(amount)}))
    }

    fn expire_coupons(&mut self, check: &Check<'_>) -> Outcome<Value> {
        check.platform_only()?;
        check.fresh()?;
        check.in_time()?;
        let mut swept: Vec<String> = self
            .coupons
            .iter()
            .filter(|(_, coupon)| coupon.end == CouponEnd::Live && check.at >= coupon.valid_until && coupon.remaining > 0)
            .map(|(id, _)| id.clone())
            .collect();
        // docs/decisions.md: in coupon-id order.
        swept.sort();
        let mut total = 0;
        for id in &swept {
            if let Some(coupon) = self.coupons.get_mut(id) {
                total += coupon.remaining;
                self.coupon_expired += coupon.remaining;
                coupon.remaining = 0;
                coupon.end = CouponEnd::Swept;
            }
        }
        Ok(json!({"expired": swept, "amount": format_amount(total)}))
    }

    fn orders_or_customer(&self, check: &Check<'_>, customer: &str) -> Outcome<()> {
        if *check.actor != Party::Platform && *check.actor != Party::Customer(customer.to_owned()) { Err("access_denied") } else { Ok(()) }
    }

    fn place_orders(
        &mut self,
        check: &Check<'_>,
        combined: Option<&str>,
        customer: &str,
        lines: &[OrderLine],
        pay_deadline: Option<i64>,
    ) -> Outcome<Value> {
        self.orders_or_customer(check, customer)?;
        self.exists(&Party::Customer(customer.to_owned()))?;
        check.fresh()?;
        // docs/decisions.md: order, combined-order and bill ids share one namespace.
        for id in combined.into_iter().chain(lines.iter().map(|line| line.order.as_str())) {
            if self.orders.contains_key(id) || self.combined.contains_key(id) || self.bills.contains_key(id) {
                return Err("already_exists");
            }
        }
        check.in_time()?;
        let pay_deadline = pay_deadline.unwrap_or(check.at + PAY_DEADLINE_DAYS * DAY_MS);
        for line in lines {
            let order = Order {
                customer: customer.to_owned(),
                combined: combined.map(str::to_owned),
                kind: line.kind,
                service: line.service.clone(),
                amount: line.amount,
                status: OrderStatus::Pending,
                pay_deadline,
                payer: None,
                paid: Payment::default(),
                allocated_partner: None,
                partner_payment: None,
                asked_partner: None,
                refunded: 0,
                placed_at: check.at,
                seq: check.seq,
            };
            self.orders.insert(line.order.clone(), order);
        }
        let ids: Vec<String> = lines.iter().map(|line| line.order.clone()).collect();
        Ok(match combined {
            Some(combined) => {
                self.combined.insert(combined.to_owned(), Combined { customer: customer.to_owned(), orders: ids.clone() });
                json!({"combined": combined, "orders": ids, "status": "pending_payment", "pay_deadline": format_time(pay_deadline)})
            }
            None => json!({"order": ids[0], "status": "pending_payment", "pay_deadline": format_time(pay_deadline)}),
        })
    }

    /// An order id or a combined id: its customer, whether a member was named alone, its orders.
    fn resolve(&self, id: &str) -> Outcome<(String, bool, Vec<String>)> {
        if let Some(combined) = self.combined.get(id) {
            return Ok((combined.customer.clone(), false, combined.orders.clone()));
        }
        let order = self.orders.get(id).ok_or("not_found")?;
        Ok((order.customer.clone(), order.combined.is_some(), vec![id.to_owned()]))
    }

    fn pay_order(&mut self, check: &Check<'_>, id: &str, coupons: &[String], discount: Option<&str>, partner_pays: bool) -> Outcome<Value> {
        let (customer, member_alone, orders) = self.resolve(id)?;
        let customer_party = Party::Customer(customer.clone());
        // docs/decisions.md: the customer pays itself; with `payer: partner`, a partner that
        // reaches the customer (its partner or that partner's distributor, for a resale or a
        // referral customer alike) acts, and the payer is the customer's partner.
        let payer = if partner_pays {
            match (check.actor, self.link(&customer)) {
                (Party::Partner(_), Some((partner, _))) if self.reaches(check.actor, &customer_party) => Party::Partner(partner.clone()),
                _ => return Err("access_denied"),
            }
        } else if *check.actor == customer_party {
            customer_party.clone()
        } else {
            return Err("access_denied");
        };
        if coupons.iter().any(|coupon| !self.coupons.contains_key(coupon)) {
            return Err("not_found");
        }
        // docs/decisions.md (v2): an unknown discount is `not_found`.
        let discount = match discount {
            Some(id) => Some(self.discounts.get(id).cloned().ok_or("not_found")?),
            None => None,
        };
        check.fresh()?;
        if member_alone {
            return Err("use_combined_order_id");
        }
        for order in &orders {
            let record = self.orders.get(order).ok_or("not_found")?;
            if record.status != OrderStatus::Pending {
                return Err("order_state");
            }
            // SPEC 3 (v2): the partner pays only an order whose payment was requested; while a
            // request is open, the customer may not pay.
            let requested = record.partner_payment == Some(PartnerPayment::Requested);
            if partner_pays != requested {
                return Err("order_state");
            }
            if check.at > record.pay_deadline {
                return Err("order_expired");
            }
        }
        for coupon in coupons {
            let record = self.coupons.get(coupon).ok_or("not_found")?;
            let covers = orders.iter().any(|order| self.orders.get(order).is_some_and(|order| record.applies(order)));
            if record.customer != customer || record.status(check.at) != "usable" || !covers {
                return Err("coupon_not_usable");
            }
        }
        // docs/decisions.md (v2): another customer's, outside its window or revoked.
        if let Some(discount) = &discount
            && (discount.customer != customer || discount.revoked || check.at < discount.valid_from || check.at >= discount.valid_until)
        {
            return Err("discount_not_usable");
        }
        check.in_time()?;
        // SPEC 5 (v2): a partner-paid bill of a referral customer is the customer's to invoice.
        let referral = matches!(self.link(&customer), Some((_, Association::Referral)));
        let owner = if referral && payer != customer_party { customer_party.clone() } else { payer.clone() };
        let funder = self.link(&customer).map(|(partner, _)| partner.clone());
        // Draw order (SPEC 3): per order, the listed coupons covering it, then (v2) a customer
        // payer's `allocated`, then available cash, then available credit. A failure refuses
        // everything: the caller drops these books.
        let mut paid = Vec::with_capacity(orders.len());
        for order_id in &orders {
            let order = self.orders.get(order_id).cloned().ok_or("not_found")?;
            // SPEC 3 (v2): a discount covering the order's service makes it due at
            // `amount - floor_fen(amount × (1 - ratio))`.
            let due = match &discount {
                Some(discount) if discount.covers(order.service.as_ref()) => order.amount - ratio_of(order.amount, 100 - discount.ratio),
                _ => order.amount,
            };
            let mut need = due;
            let mut payment = Payment { due, discount: order.amount - due, ..Payment::default() };
            for coupon in coupons {
                let Some(record) = self.coupons.get_mut(coupon) else { continue };
                // SPEC 3 (v2): a pickup voucher pays at most `floor_fen(ratio × amount)` of an
                // order it applies to.
                let cap = record.ratio.map_or(need, |ratio| ratio_of(order.amount, ratio));
                let take = need.min(record.remaining).min(cap);
                if record.applies(&order) && take > 0 {
                    record.remaining -= take;
                    self.coupon_redeemed += take;
                    need -= take;
                    payment.coupon += take;
                }
            }
            if !partner_pays {
                payment.allocated = need.min(self.balances_of(&payer).allocated.max(0));
                need -= payment.allocated;
            }
            payment.cash = need.min(self.available(&payer).max(0));
            need -= payment.cash;
            let balances = self.balances_of(&payer);
            payment.credit = need.min((balances.credit_limit - balances.credit_used).max(0));
            need -= payment.credit;
            if need > 0 {
                return Err("insufficient_funds");
            }
            let money = payment.allocated + payment.cash + payment.credit;
            let balances = self.money(&payer);
            balances.allocated -= payment.allocated;
            balances.cash -= payment.cash;
            balances.credit_used += payment.credit;
            self.revenue += money;
            let bill = Bill {
                bill_type: order.kind,
                at: check.at,
                customer: Some(customer.clone()),
                payer: payer.clone(),
                owner: owner.clone(),
                order: Some(order_id.clone()),
                amount: due,
                discount: order.amount - due,
                coupon: payment.coupon,
                allocated: payment.allocated,
                cash: payment.cash,
                credit: payment.credit,
                debt: 0,
                erase: 0,
                invoiceable: money,
                invoiced: 0,
                seq: check.seq,
            };
            self.bills.insert(order_id.clone(), bill);
            if let Some(record) = self.orders.get_mut(order_id) {
                record.status = OrderStatus::Paid;
                record.payer = Some(payer.clone());
                record.paid = payment;
                record.allocated_partner = if payment.allocated > 0 { funder.clone() } else { None };
                // docs/decisions.md: the partner's payment ends the request; a customer's own
                // payment leaves a rejection shown.
                if partner_pays {
                    record.partner_payment = None;
                }
            }
            paid.push(json!({
                "order": order_id,
                "due": format_amount(payment.due),
                "discount": format_amount(payment.discount),
                "coupon": format_amount(payment.coupon),
                "allocated": format_amount(payment.allocated),
                "cash": format_amount(payment.cash),
                "credit": format_amount(payment.credit),
            }));
        }
        Ok(json!({"paid": paid}))
    }

    /// SPEC 3 (v2) `grant_discount`: the platform's.
    fn grant_discount(
        &mut self,
        check: &Check<'_>,
        id: &str,
        customer: &str,
        ratio: i128,
        services: &Option<Vec<String>>,
        (valid_from, valid_until): (i64, i64),
    ) -> Outcome<Value> {
        check.platform_only()?;
        self.exists(&Party::Customer(customer.to_owned()))?;
        check.fresh()?;
        if self.discounts.contains_key(id) {
            return Err("already_exists");
        }
        if valid_from >= valid_until {
            return Err("invalid_validity");
        }
        check.in_time()?;
        let discount =
            Discount { customer: customer.to_owned(), ratio, services: services.clone(), valid_from, valid_until, revoked: false };
        self.discounts.insert(id.to_owned(), discount);
        Ok(json!({"discount": id}))
    }

    /// SPEC 3 (v2) `revoke_discount`: revoking a revoked discount is `discount_not_usable`.
    fn revoke_discount(&mut self, check: &Check<'_>, id: &str) -> Outcome<Value> {
        check.platform_only()?;
        let discount = self.discounts.get_mut(id).ok_or("not_found")?;
        check.fresh()?;
        if discount.revoked {
            return Err("discount_not_usable");
        }
        check.in_time()?;
        discount.revoked = true;
        Ok(json!({"discount": id, "revoked": true}))
    }

    fn cancel_order(&mut self, check: &Check<'_>, id: &str) -> Outcome<Value> {
        let (customer, member_alone, orders) = self.resolve(id)?;
        self.orders_or_customer(check, &customer)?;
        check.fresh()?;
        if member_alone {
            return Err("use_combined_order_id");
        }
        if orders.iter().any(|order| self.orders.get(order).is_none_or(|order| order.status != OrderStatus::Pending)) {
            return Err("order_state");
        }
        check.in_time()?;
        for order in &orders {
            if let Some(record) = self.orders.get_mut(order) {
                record.status = OrderStatus::Cancelled;
                // docs/decisions.md: cancelling ends an open partner-payment request.
                record.partner_payment = None;
            }
        }
        Ok(json!({"cancelled": orders}))
    }

    fn unsubscribe(&mut self, check: &Check<'_>, id: &str, refund: i128) -> Outcome<Value> {
        // docs/decisions.md: a combined id is `not_found` (members are unsubscribed one by one).
        let order = self.orders.get(id).cloned().ok_or("not_found")?;
        self.orders_or_customer(check, &order.customer)?;
        check.fresh()?;
        if order.status != OrderStatus::Paid {
            return Err("order_state");
        }
        if self.bills.get(id).is_some_and(|bill| bill.invoiced != 0) {
            return Err("already_invoiced");
        }
        if refund > order.paid.allocated + order.paid.cash + order.paid.credit {
            return Err("refund_exceeds_paid");
        }
        check.in_time()?;
        let payer = order.payer.clone().unwrap_or_else(|| Party::Customer(order.customer.clone()));
        let customer = Party::Customer(order.customer.clone());
        // SPEC 3 `unsubscribe` (v2): back to the payer's credit, up to what the order drew and the
        // credit in use; then, up to what it drew from `allocated`, to the customer's `allocated`
        // while it is still a resale customer of the partner that funded it, otherwise to that
        // partner's cash (`refund_reclaim`); then to the payer's cash (debt first).
        let to_credit = refund.min(order.paid.credit).min(self.balances_of(&payer).credit_used.max(0));
        self.money(&payer).credit_used -= to_credit;
        self.revenue -= refund;
        let from_allocated = (refund - to_credit).min(order.paid.allocated);
        let to_cash = refund - to_credit - from_allocated;
        let still_funded = matches!(
            (self.link(&order.customer), &order.allocated_partner),
            (Some((partner, Association::Resale)), Some(funder)) if partner == funder
        );
        let (mut to_allocated, mut to_partner) = (0, 0);
        if from_allocated > 0 {
            match &order.allocated_partner {
                Some(funder) if !still_funded => {
                    to_partner = from_allocated;
                    self.incoming(&Party::Partner(funder.clone()), from_allocated);
                    self.records.push(Record {
                        seq: 0,
                        at: check.at,
                        transfer: check.request.to_owned(),
                        operation: "refund_reclaim",
                        partner: funder.clone(),
                        target: customer.clone(),
                        amount: from_allocated,
                        memo: None,
                    });
                }
                _ => {
                    to_allocated = from_allocated;
                    self.incoming_to(&customer, from_allocated, true);
                }
            }
        }
        self.incoming(&payer, to_cash);
        if let Some(record) = self.orders.get_mut(id) {
            record.status = OrderStatus::Unsubscribed;
            record.refunded = refund;
        }
        // docs/decisions.md: the refund bill follows the payment bill's invoice owner.
        let owner = self.bills.get(id).map_or_else(|| payer.clone(), |bill| bill.owner.clone());
        let bill = Bill {
            bill_type: "refund",
            at: check.at,
            customer: Some(order.customer.clone()),
            payer,
            owner,
            order: Some(id.to_owned()),
            amount: -refund,
            discount: 0,
            coupon: 0,
            allocated: -(to_allocated + to_partner),
            cash: -to_cash,
            credit: -to_credit,
            debt: 0,
            erase: 0,
            invoiceable: -refund,
            invoiced: 0,
            seq: check.seq,
        };
        self.bills.insert(format!("{id}:refund"), bill);
        Ok(json!({"refund": {
            "credit": format_amount(to_credit),
            "allocated": format_amount(to_allocated),
            "partner": format_amount(to_partner),
            "cash": format_amount(to_cash),
        }}))
    }

    fn consume(&mut self, check: &Check<'_>, customer: &str, amount: i128, erase: i128, service: Option<&String>) -> Outcome<Value> {
        check.platform_only()?;
        let party = Party::Customer(customer.to_owned());
        self.exists(&party)?;
        check.fresh()?;
        let bill = check.bill_id();
        if self.bill_or_order_exists(&bill) {
            return Err("already_exists");
        }
        check.in_time()?;
        // SPEC 3 (v2): coupons usable at `at` covering the service (without a service: coupons
        // without a service limit), by `valid_until` then id; then `allocated`, cash, credit; the
        // shortfall becomes debt.
        let mut usable: Vec<(i64, String)> = self
            .coupons
            .iter()
            .filter(|(_, coupon)| coupon.customer == customer && coupon.status(check.at) == "usable" && coupon.covers(service))
            .map(|(id, coupon)| (coupon.valid_until, id.clone()))
            .collect();
        usable.sort();
        let mut need = amount;
        let mut coupon = 0;
        for (_, id) in usable {
            let Some(record) = self.coupons.get_mut(&id) else { continue };
            let take = need.min(record.remaining);
            record.remaining -= take;
            need -= take;
            coupon += take;
        }
        self.coupon_redeemed += coupon;
        let balances = self.balances_of(&party);
        let allocated = need.min(balances.allocated.max(0));
        need -= allocated;
        let cash = need.min((balances.cash - balances.held).max(0));
        need -= cash;
        let credit = need.min((balances.credit_limit - balances.credit_used).max(0));
        let debt = need - credit;
        let balances = self.money(&party);
        balances.allocated -= allocated;
        balances.cash -= cash;
        balances.credit_used += credit;
        balances.arrears += debt;
        let money = amount - coupon;
        self.revenue += money;
        let record = Bill {
            bill_type: "usage",
            at: check.at,
            customer: Some(customer.to_owned()),
            payer: party.clone(),
            owner: party,
            order: None,
            amount,
            discount: 0,
            coupon,
            allocated,
            cash,
            credit,
            debt,
            erase,
            invoiceable: money,
            invoiced: 0,
            seq: check.seq,
        };
        self.bills.insert(bill.clone(), record);
        Ok(json!({
            "bill": bill,
            "deducted": format_amount(amount),
            "erase_amount": format_erase(erase),
            "coupon": format_amount(coupon),
            "allocated": format_amount(allocated),
            "cash": format_amount(cash),
            "credit": format_amount(credit),
            "debt": format_amount(debt),
        }))
    }

    fn request_withdrawal(&mut self, check: &Check<'_>, id: &str, party: &Party, amount: i128) -> Outcome<Value> {
        // docs/decisions.md: only the party itself asks (a partner's admin or finance operator
        // acts as its partner).
        if check.actor != party {
            return Err("access_denied");
        }
        self.exists(party)?;
        check.fresh()?;
        if self.withdrawals.contains_key(id) {
            return Err("already_exists");
        }
        // SPEC 3 (v2): one pending withdrawal per party.
        if self.withdrawals.values().any(|withdrawal| withdrawal.party == *party && withdrawal.status == WithdrawalStatus::Pending) {
            return Err("withdrawal_state");
        }
        check.in_time()?;
        if amount > self.withdrawable(party) {
            return Err("insufficient_funds");
        }
        self.money(party).held += amount;
        let record =
            Withdrawal { party: party.clone(), amount, status: WithdrawalStatus::Pending, reason: None, at: check.at, seq: check.seq };
        self.withdrawals.insert(id.to_owned(), record);
        Ok(json!({"withdrawal": id, "status": "pending"}))
    }

    /// SPEC 3 (v2): available cash (a customer's own: `allocated` never counts), minus for a
    /// partner what its resale customers owe (docs/decisions.md: its direct customers), minus the
    /// party's over-invoiced amount; at least zero.
    fn withdrawable(&self, party: &Party) -> i128 {
        let debt: i128 = match party {
            Party::Partner(partner) => self
                .customers
                .iter()
                .filter(|(_, info)| matches!(&info.link, Some((owner, Association::Resale)) if owner == partner))
                .map(|(customer, _)| self.balances_of(&Party::Customer(customer.clone())).arrears)
                .sum(),
            _ => 0,
        };
        (self.available(party) - debt - self.over_invoiced(party)).max(0)
    }

    /// `max(0, -(sum of the party's invoiceable remaining))` (SPEC 3 Withdrawals, 欠票).
    fn over_invoiced(&self, party: &Party) -> i128 {
        let total: i128 = self.invoiceable_items(party).iter().map(|(_, _, remaining)| remaining).sum();
        (-total).max(0)
    }

    /// `approve_withdrawal` (reason none) or `reject_withdrawal`.
    fn settle_withdrawal(&mut self, check: &Check<'_>, id: &str, reason: Option<&String>) -> Outcome<Value> {
        check.platform_only()?;
        let record = self.withdrawals.get(id).cloned().ok_or("not_found")?;
        check.fresh()?;
        if record.status != WithdrawalStatus::Pending {
            return Err("withdrawal_state");
        }
        check.in_time()?;
        let balances = self.money(&record.party);
        balances.held -= record.amount;
        let status = match reason {
            None => {
                balances.cash -= record.amount;
                self.bank += record.amount;
                WithdrawalStatus::Approved
            }
            Some(_) => WithdrawalStatus::Rejected,
        };
        if let Some(entry) = self.withdrawals.get_mut(id) {
            entry.status = status;
            entry.reason = reason.cloned();
        }
        Ok(json!({"withdrawal": id, "status": status.name()}))
    }

    fn delete_withdrawal(&mut self, check: &Check<'_>, id: &str) -> Outcome<Value> {
        let record = self.withdrawals.get(id).cloned().ok_or("not_found")?;
        if *check.actor != record.party {
            return Err("access_denied");
        }
        check.fresh()?;
        if record.status != WithdrawalStatus::Rejected {
            return Err("withdrawal_state");
        }
        check.in_time()?;
        if let Some(entry) = self.withdrawals.get_mut(id) {
            entry.status = WithdrawalStatus::Deleted;
        }
        Ok(json!({"withdrawal": id, "status": "deleted"}))
    }

    /// Whether `customer` has asked its partner to pay an order that can still be paid at `at`.
    fn open_partner_payment(&self, customer: &str, at: i64) -> bool {
        self.orders.values().any(|order| {
            order.customer == customer
                && order.status == OrderStatus::Pending
                && order.partner_payment == Some(PartnerPayment::Requested)
                && at <= order.pay_deadline
        })
    }

    /// `unbind` (`target` none) or `switch_association` to `target`.
    fn change_association(&mut self, check: &Check<'_>, customer: &str, target: Option<Association>) -> Outcome<Value> {
        let party = Party::Customer(customer.to_owned());
        // docs/decisions.md: unbind by the platform, the partner or its distributor; switch by
        // the partner or its distributor; for referral customers too (SPEC 2.1, v2).
        let allowed = match check.actor {
            Party::Platform => target.is_none(),
            Party::Partner(_) => self.reaches(check.actor, &party),
            Party::Customer(_) | Party::Operator(_) => false,
        };
        if !allowed {
            return Err("access_denied");
        }
        self.exists(&party)?;
        check.fresh()?;
        let (partner, current) = self.link(customer).cloned().ok_or("association_state")?;
        if let Some(target) = target {
            // docs/decisions.md: switching to the current kind is `association_state`.
            if target == current {
                return Err("association_state");
            }
            if target == Association::Resale {
                self.resale_preconditions(customer, check.at)?;
            }
        }
        // SPEC 3 (v2): an open partner-payment request blocks, while its order can still be paid
        // (docs/decisions.md).
        if self.open_partner_payment(customer, check.at) {
            return Err("association_blocked");
        }
        // SPEC 3 and docs/decisions.md (v2): a usable pickup voucher is never reclaimed
        // automatically: it blocks unbinding and switching to referral.
        if target != Some(Association::Resale)
            && self.coupons.values().any(|coupon| {
                coupon.customer == customer && coupon.kind == CouponKind::PickupVoucher && coupon.status(check.at) == "usable"
            })
        {
            return Err("association_blocked");
        }
        check.in_time()?;
        // docs/decisions.md: an unbound customer joins the customers of no partner, among which
        // its external id must be unused too.
        if target.is_none()
            && let Some(external_id) = self.customers.get(customer).and_then(|info| info.external_id.clone())
            && self.external_id_taken(None, &external_id)
        {
            return Err("already_exists");
        }
        let reclaims = match target {
            None => current == Association::Resale,
            Some(target) => target == Association::Referral,
        };
        let (mut allocated, mut coupons) = (0, Vec::new());
        if reclaims {
            // SPEC 3 (v2): all of `allocated` goes back, never the customer's own cash.
            allocated = self.balances_of(&party).allocated.max(0);
            if allocated > 0 {
                self.money(&party).allocated -= allocated;
                self.money(&Party::Partner(partner.clone())).cash += allocated;
                let record = Record {
                    seq: 0,
                    at: check.at,
                    transfer: check.request.to_owned(),
                    operation: "unbind_reclaim",
                    partner: partner.clone(),
                    target: party.clone(),
                    amount: allocated,
                    memo: None,
                };
                self.records.push(record);
            }
            coupons = self.usable_coupons(customer, check.at);
            coupons.retain(|coupon| self.coupons.get(coupon).is_some_and(|record| record.issuer == partner));
            for coupon in &coupons {
                self.reclaim_coupon_value(coupon);
            }
        }
        if let Some(info) = self.customers.get_mut(customer) {
            info.link = target.map(|target| (partner.clone(), target));
            // docs/decisions.md: both reset the cash-coupon whitelist; unbinding also ends the
            // manager's assignment, switching keeps it.
            info.whitelisted = false;
            if target.is_none() {
                info.manager = None;
            }
        }
        Ok(json!({
            "customer": customer,
            "association": target.map(Association::name),
            "reclaimed_allocated": format_amount(allocated),
            "reclaimed_coupons": coupons,
        }))
    }

    /// The bills whose invoiceable value `party` owns with something left: (bill, at, remaining),
    /// oldest first.
    fn invoiceable_items(&self, party: &Party) -> Vec<(String, i64, i128)> {
        let mut items: Vec<(u64, &String, &Bill)> = self
            .bills
            .iter()
            .filter(|(_, bill)| bill.owner == *party && bill.invoiceable != bill.invoiced)
            .map(|(id, bill)| (bill.seq, id, bill))
            .collect();
        items.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        items.into_iter().map(|(_, id, bill)| (id.clone(), bill.at, bill.invoiceable - bill.invoiced)).collect()
    }

    fn request_invoice(&mut self, check: &Check<'_>, id: &str, party: &Party, basis: &InvoiceBasis) -> Outcome<Value> {
        self.scope(check.actor, party)?;
        self.exists(party)?;
        // docs/decisions.md (v2): a named bill the party does not own (or that does not exist)
        // is `not_found`, at the existence rank.
        if let InvoiceBasis::Bills(bills) = basis
            && bills.iter().any(|bill| self.bills.get(bill).is_none_or(|record| record.owner != *party))
        {
            return Err("not_found");
        }
        check.fresh()?;
        if self.invoices.contains_key(id) {
            return Err("already_exists");
        }
        if self.balances_of(party).arrears > 0 {
            return Err("debt_outstanding");
        }
        if let InvoiceBasis::Bills(bills) = basis
            && bills.iter().any(|bill| self.bills.get(bill).is_some_and(|record| record.invoiceable == record.invoiced))
        {
            return Err("already_invoiced");
        }
        check.in_time()?;
        let matched = match basis {
            InvoiceBasis::Amount(amount) => match_invoice(self.invoiceable_items(party), *amount)?,
            InvoiceBasis::Cycles(cycles) => self
                .invoiceable_items(party)
                .into_iter()
                .filter(|(_, at, _)| cycles.contains(&cycle(*at)))
                .map(|(bill, _, left)| (bill, left))
                .collect(),
            InvoiceBasis::Bills(bills) => bills
                .iter()
                .filter_map(|bill| self.bills.get(bill).map(|record| (bill.clone(), record.invoiceable - record.invoiced)))
                .collect(),
        };
        let amount: i128 = matched.iter().map(|(_, part)| part).sum();
        // SPEC 3 (v2): by cycles or bills, a sum <= 0 is `exceeds_invoiceable`.
        if amount <= 0 {
            return Err("exceeds_invoiceable");
        }
        for (bill, part) in &matched {
            if let Some(record) = self.bills.get_mut(bill) {
                record.invoiced += part;
            }
        }
        let listed: Vec<Value> = matched.iter().map(|(bill, part)| json!({"bill": bill, "amount": format_amount(*part)})).collect();
        self.invoices.insert(id.to_owned(), Invoice { party: party.clone(), amount, returned: false, matched, at: check.at });
        Ok(json!({"invoice": id, "amount": format_amount(amount), "matched": listed}))
    }

    fn return_invoice(&mut self, check: &Check<'_>, id: &str) -> Outcome<Value> {
        let invoice = self.invoices.get(id).cloned().ok_or("not_found")?;
        self.scope(check.actor, &invoice.party)?;
        check.fresh()?;
        if invoice.returned {
            return Err("invoice_state");
        }
        check.in_time()?;
        for (bill, part) in &invoice.matched {
            if let Some(record) = self.bills.get_mut(bill) {
                record.invoiced -= part;
            }
        }
        if let Some(entry) = self.invoices.get_mut(id) {
            entry.returned = true;
        }
        Ok(json!({"invoice": id, "status": "returned"}))
    }

    /// docs/decisions.md: operators are managed by the platform or their own partner (an
    /// `admin` acts as its partner), not by the parent distributor.
    fn manages_operators_of(check: &Check<'_>, partner: &str) -> Outcome<()> {
        match check.actor {
            Party::Platform => Ok(()),
            Party::Partner(me) if me == partner => Ok(()),
            _ => Err("access_denied"),
        }
    }

    fn register_operator(&mut self, check: &Check<'_>, operator: &str, partner: &str, roles: &[OperatorRole]) -> Outcome<Value> {
        Books::manages_operators_of(check, partner)?;
        self.exists(&Party::Partner(partner.to_owned()))?;
        check.fresh()?;
        if self.id_taken(operator) {
            return Err("already_exists");
        }
        check.in_time()?;
        let mut roles = roles.to_vec();
        roles.sort();
        self.operators.insert(operator.to_owned(), OperatorInfo { partner: partner.to_owned(), roles });
        Ok(json!({"operator": operator}))
    }

    fn set_operator_roles(&mut self, check: &Check<'_>, operator: &str, roles: &[OperatorRole]) -> Outcome<Value> {
        // docs/decisions.md: an unknown operator is `not_found` (its partner decides access).
        let partner = self.operators.get(operator).ok_or("not_found")?.partner.clone();
        Books::manages_operators_of(check, &partner)?;
        check.fresh()?;
        check.in_time()?;
        let mut roles = roles.to_vec();
        roles.sort();
        let names: Vec<&str> = roles.iter().map(|role| role.name()).collect();
        if let Some(info) = self.operators.get_mut(operator) {
            info.roles = roles;
        }
        Ok(json!({"operator": operator, "roles": names}))
    }

    fn assign_manager(&mut self, check: &Check<'_>, customer: &str, operator: Option<&str>) -> Outcome<Value> {
        // docs/decisions.md: the platform, the customer's own partner or its admin (not the
        // distributor), for resale and referral customers alike.
        let partner = self.link(customer).map(|(partner, _)| partner.clone());
        let allowed = match check.actor {
            Party::Platform => true,
            Party::Partner(me) => partner.as_ref() == Some(me),
            _ => false,
        };
        if !allowed {
            return Err("access_denied");
        }
        self.exists(&Party::Customer(customer.to_owned()))?;
        if let Some(operator) = operator {
            self.exists(&Party::Operator(operator.to_owned()))?;
        }
        let info = operator.and_then(|operator| self.operators.get(operator));
        // SPEC 3: the operator must hold `customer_manager` (`invalid_request`) and belong to the
        // customer's partner (`not_your_customer`). SPEC 2.2 ranks `invalid_request` before
        // `id_reused` and relationship errors; once the operator is known to exist (as for a
        // parent that is not a distributor, docs/decisions.md), it comes first. The ledger checks
        // it there too.
        if info.is_some_and(|info| !info.roles.contains(&OperatorRole::CustomerManager)) {
            return Err("invalid_request");
        }
        check.fresh()?;
        if info.is_some_and(|info| Some(&info.partner) != partner.as_ref()) {
            return Err("not_your_customer");
        }
        check.in_time()?;
        let from = next_day_utc8(check.at);
        if let Some(info) = self.customers.get_mut(customer) {
            let previous = info.manager_at(check.at).cloned();
            info.manager = Some((previous, operator.map(str::to_owned), from));
        }
        Ok(json!({"customer": customer, "manager": operator, "effective_from": format_time(from)}))
    }

    /// SPEC 3 `request_partner_payment` (v2), precedence of docs/decisions.md.
    fn request_partner_payment(&mut self, check: &Check<'_>, id: &str) -> Outcome<Value> {
        let (customer, member_alone, orders) = self.resolve(id)?;
        if *check.actor != Party::Customer(customer.clone()) {
            return Err("access_denied");
        }
        check.fresh()?;
        if member_alone {
            return Err("use_combined_order_id");
        }
        let (partner, association) = self.link(&customer).cloned().ok_or("association_state")?;
        if association == Association::Referral && self.kind(&partner) != Some(Kind::SolutionProvider) {
            return Err("not_resale_customer");
        }
        self.payable(check, &orders)?;
        if orders.iter().any(|order| self.orders.get(order).is_some_and(|order| order.partner_payment == Some(PartnerPayment::Requested))) {
            return Err("order_state");
        }
        check.in_time()?;
        Ok(self.set_partner_payment(id, &orders, PartnerPayment::Requested, Some(&partner)))
    }

    /// SPEC 3 `reject_partner_payment` (v2): the partner, its distributor (or their admin or
    /// finance operators), for a resale or a referral customer.
    fn reject_partner_payment(&mut self, check: &Check<'_>, id: &str) -> Outcome<Value> {
        let (customer, member_alone, orders) = self.resolve(id)?;
        if !matches!(check.actor, Party::Partner(_)) || !self.reaches(check.actor, &Party::Customer(customer)) {
            return Err("access_denied");
        }
        check.fresh()?;
        if member_alone {
            return Err("use_combined_order_id");
        }
        if orders.iter().any(|order| self.orders.get(order).is_none_or(|order| order.partner_payment != Some(PartnerPayment::Requested))) {
            return Err("order_state");
        }
        check.in_time()?;
        Ok(self.set_partner_payment(id, &orders, PartnerPayment::Rejected, None))
    }

    /// Every order pending and not past its deadline (`order_state`, `order_expired`).
    fn payable(&self, check: &Check<'_>, orders: &[String]) -> Outcome<()> {
        for order in orders {
            let record = self.orders.get(order).ok_or("not_found")?;
            if record.status != OrderStatus::Pending {
                return Err("order_state");
            }
            if check.at > record.pay_deadline {
                return Err("order_expired");
            }
        }
        Ok(())
    }

    fn set_partner_payment(&mut self, id: &str, orders: &[String], status: PartnerPayment, asked: Option<&String>) -> Value {
        for order in orders {
            if let Some(record) = self.orders.get_mut(order) {
                record.partner_payment = Some(status);
                if let Some(asked) = asked {
                    record.asked_partner = Some(asked.clone());
                }
            }
        }
        json!({"order": id, "orders": orders, "partner_payment": status.name()})
    }
}

/// The first instant of the UTC+8 day after `at` (docs/decisions.md: a manager assignment takes
/// effect then).
fn next_day_utc8(at: i64) -> i64 {
    let offset = 8 * 3_600_000;
    ((at + offset).div_euclid(DAY_MS) + 1) * DAY_MS - offset
}

/// SPEC 5, written from the text: every negative item in full (oldest first), then positive items
/// oldest first (ties by bill id), the last one only in part, so that the matches sum to `amount`.
fn match_invoice(items: Vec<(String, i64, i128)>, amount: i128) -> Outcome<Vec<(String, i128)>> {
    let total: i128 = items.iter().map(|(_, _, remaining)| remaining).sum();
    if amount > total {
        return Err("exceeds_invoiceable");
    }
    let (mut negative, mut positive): (Vec<_>, Vec<_>) = items.into_iter().partition(|(_, _, remaining)| *remaining < 0);
    negative.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    positive.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let mut needed = amount;
    let mut matched = Vec::new();
    for (bill, _, remaining) in negative {
        needed -= remaining;
        matched.push((bill, remaining));
    }
    for (bill, _, remaining) in positive {
        if needed <= 0 {
            break;
        }
        let take = remaining.min(needed);
        needed -= take;
        matched.push((bill, take));
    }
    Ok(matched)
}

// ---------------------------------------------------------------------------------------------
// What the queries of SPEC 4 must answer, from the model's books.

impl Model {
    /// The `result` of `balance` for `party` now, with time-dependent statuses at `at`; `None`
    /// when the party is not registered.
    pub fn balance_json(&self, party: &Party, at: i64) -> Option<Value> {
        let mut result = self.balance_as_of_json(party, at)?;
        if *party != Party::Platform {
            result["withdrawable"] = json!(format_amount(self.books.withdrawable(party)));
            result["over_invoiced"] = json!(format_amount(self.books.over_invoiced(party)));
        }
        Some(result)
    }

    /// The `result` of `balance` with `as_of` = `at`, read from the model as it was then:
    /// `withdrawable` and `over_invoiced` are `null` (docs/decisions.md: a decision about now).
    pub fn balance_as_of_json(&self, party: &Party, at: i64) -> Option<Value> {
        let books = &self.books;
        if *party == Party::Platform {
            return Some(json!({"party": "platform", "accounts": {
                "bank": format_amount(books.bank),
                "revenue": format_amount(books.revenue),
                "coupon_issuance": format_amount(books.coupon_issuance),
                "coupon_redeemed": format_amount(books.coupon_redeemed),
                "coupon_expired": format_amount(books.coupon_expired),
            }}));
        }
        if !books.registered(party) {
            return None;
        }
        let balances = books.balances_of(party);
        let mut quotas: Vec<(u64, &String, &Quota)> = match party {
            Party::Partner(partner) => {
                books.quotas.iter().filter(|(_, quota)| quota.owner == *partner).map(|(id, quota)| (quota.seq, id, quota)).collect()
            }
            _ => Vec::new(),
        };
        quotas.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let quotas: Vec<Value> = quotas
            .into_iter()
            .map(|(_, id, quota)| {
                json!({"quota": id, "kind": quota.kind.name(), "balance": format_amount(quota.balance),
                    "valid_until": format_time(quota.valid_until), "status": quota.status(at)})
            })
            .collect();
        let mut coupons: Vec<(u64, &String, &Coupon)> = match party {
            Party::Customer(customer) => books
                .coupons
                .iter()
                .filter(|(_, coupon)| coupon.customer == *customer)
                .map(|(id, coupon)| (coupon.seq, id, coupon))
                .collect(),
            _ => Vec::new(),
        };
        coupons.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let coupons: Vec<Value> = coupons
            .into_iter()
            .map(|(_, id, coupon)| {
                json!({"coupon": id, "kind": coupon.kind.name(), "face_value": format_amount(coupon.face_value),
                    "remaining": format_amount(coupon.remaining), "valid_until": format_time(coupon.valid_until), "status": coupon.status(at)})
            })
            .collect();
        let mut result = json!({
            "party": party.text(),
            "cash": format_amount(balances.cash),
            "held": format_amount(balances.held),
            "available": format_amount(balances.cash - balances.held),
            "credit_limit": format_amount(balances.credit_limit),
            "credit_used": format_amount(balances.credit_used),
            "arrears": format_amount(balances.arrears),
            "quotas": quotas,
            "coupons": coupons,
            "withdrawable": null,
            "over_invoiced": null,
        });
        // docs/decisions.md (v2): `allocated` for customers only, with their partner and association.
        if let Party::Customer(customer) = party {
            result["allocated"] = json!(format_amount(balances.allocated));
            let link = books.link(customer);
            result["partner"] = json!(link.map(|(partner, _)| partner));
            result["association"] = json!(link.map(|(_, association)| association.name()));
        }
        Some(result)
    }

    /// Every order id, sorted.
    pub fn order_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.books.orders.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The `result` of `order`, its status shown at `at` (a pending order past its deadline is
    /// shown as `expired`, docs/decisions.md).
    pub fn order_json(&self, id: &str, at: i64) -> Option<Value> {
        let order = self.books.orders.get(id)?;
        let status = match order.status {
            OrderStatus::Pending if at > order.pay_deadline => "expired",
            OrderStatus::Pending => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Unsubscribed => "unsubscribed",
        };
        Some(json!({
            "order": id,
            "customer": order.customer,
            "combined": order.combined,
            "kind": order.kind,
            "service": order.service,
            "amount": format_amount(order.amount),
            "status": status,
            "pay_deadline": format_time(order.pay_deadline),
            "placed_at": format_time(order.placed_at),
            "payer": order.payer.as_ref().map(Party::text),
            "partner_payment": order.partner_payment.map(PartnerPayment::name),
            "asked_partner": order.asked_partner,
            "paid": {
                "due": format_amount(order.paid.due),
                "discount": format_amount(order.paid.discount),
                "coupon": format_amount(order.paid.coupon),
                "allocated": format_amount(order.paid.allocated),
                "cash": format_amount(order.paid.cash),
                "credit": format_amount(order.paid.credit),
            },
            "refunded": format_amount(order.refunded),
        }))
    }

    /// The `result` of `invoiceable` for a registered partner or customer.
    pub fn invoiceable_json(&self, party: &Party) -> Option<Value> {
        if *party == Party::Platform || !self.books.registered(party) {
            return None;
        }
        let items = self.books.invoiceable_items(party);
        let total: i128 = items.iter().map(|(_, _, remaining)| remaining).sum();
        let items: Vec<Value> = items
            .into_iter()
            .map(|(bill, at, remaining)| {
                let bill_type = self.books.bills.get(&bill).map_or("", |record| record.bill_type);
                json!({"bill": bill, "bill_type": bill_type, "at": format_time(at), "cycle": cycle(at), "remaining": format_amount(remaining)})
            })
            .collect();
        Some(json!({"total": format_amount(total), "items": items}))
    }

    /// The bills listed by `bills` for a registered partner or customer (what it paid, and for a
    /// customer the bills of its orders and usage), oldest first.
    pub fn bills_json(&self, party: &Party) -> Option<Vec<Value>> {
        if *party == Party::Platform || !self.books.registered(party) {
            return None;
        }
        let concerns = |bill: &Bill| bill.payer == *party || matches!(party, Party::Customer(id) if bill.customer.as_ref() == Some(id));
        let mut bills: Vec<(u64, &String, &Bill)> =
            self.books.bills.iter().filter(|(_, bill)| concerns(bill)).map(|(id, bill)| (bill.seq, id, bill)).collect();
        bills.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        Some(
            bills
                .into_iter()
                .map(|(_, id, bill)| {
                    json!({
                        "bill": id,
                        "bill_type": bill.bill_type,
                        "at": format_time(bill.at),
                        "cycle": cycle(bill.at),
                        "order": bill.order,
                        "amount": format_amount(bill.amount),
                        "discount_amount": format_amount(bill.discount),
                        "coupon_amount": format_amount(bill.coupon),
                        "allocated_amount": format_amount(bill.allocated),
                        "cash_amount": format_amount(bill.cash),
                        "credit_amount": format_amount(bill.credit),
                        "debt_amount": format_amount(bill.debt),
                        "erase_amount": format_erase(bill.erase),
                        "invoice_owner": bill.owner.text(),
                        "invoiceable": format_amount(bill.invoiceable),
                        "invoiced": format_amount(bill.invoiced),
                    })
                })
                .collect(),
        )
    }

    /// (v2) The ids of the bills `party` owns for invoicing, oldest first, then the others.
    pub fn bill_ids_of(&self, party: &Party) -> Vec<String> {
        let mut bills: Vec<(bool, u64, &String)> = self.books.bills.iter().map(|(id, bill)| (bill.owner != *party, bill.seq, id)).collect();
        bills.sort();
        bills.into_iter().map(|(_, _, id)| id.clone()).collect()
    }

    /// The withdrawals listed for a registered partner or customer (deleted ones left out).
    pub fn withdrawals_json(&self, party: &Party) -> Option<Vec<Value>> {
        if *party == Party::Platform || !self.books.registered(party) {
            return None;
        }
        let mut listed: Vec<(u64, &String, &Withdrawal)> = self
            .books
            .withdrawals
            .iter()
            .filter(|(_, withdrawal)| withdrawal.party == *party && withdrawal.status != WithdrawalStatus::Deleted)
            .map(|(id, withdrawal)| (withdrawal.seq, id, withdrawal))
            .collect();
        listed.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        Some(
            listed
                .into_iter()
                .map(|(_, id, withdrawal)| {
                    json!({"withdrawal": id, "party": withdrawal.party.text(), "amount": format_amount(withdrawal.amount),
                        "status": withdrawal.status.name(), "at": format_time(withdrawal.at), "reason": withdrawal.reason})
                })
                .collect(),
        )
    }

    /// Every invoice id, sorted.
    pub fn invoice_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.books.invoices.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The `result` of `invoice`.
    pub fn invoice_json(&self, id: &str) -> Option<Value> {
        let invoice = self.books.invoices.get(id)?;
        let matched: Vec<Value> =
            invoice.matched.iter().map(|(bill, amount)| json!({"bill": bill, "amount": format_amount(*amount)})).collect();
        Some(json!({
            "invoice": id,
            "party": invoice.party.text(),
            "amount": format_amount(invoice.amount),
            "status": if invoice.returned { "returned" } else { "issued" },
            "at": format_time(invoice.at),
            "matched": matched,
        }))
    }
}

/// An order as a generator needs it to pick sensible targets.
#[derive(Clone, Debug)]
pub struct OrderSummary {
    pub id: String,
    pub customer: String,
    pub combined: Option<String>,
    /// `pending_payment`, `paid`, `cancelled` or `unsubscribed` (the deadline not considered).
    pub status: &'static str,
    /// `requested`, `rejected` or none.
    pub partner_payment: Option<&'static str>,
    /// `allocated`, cash and credit paid: what an unsubscription may refund.
    pub refundable: i128,
}

impl Model {
    /// Every order, by id.
    pub fn order_summaries(&self) -> Vec<OrderSummary> {
        let mut orders: Vec<OrderSummary> = self
            .books
            .orders
            .iter()
            .map(|(id, order)| OrderSummary {
                id: id.clone(),
                customer: order.customer.clone(),
                combined: order.combined.clone(),
                status: match order.status {
                    OrderStatus::Pending => "pending_payment",
                    OrderStatus::Paid => "paid",
                    OrderStatus::Cancelled => "cancelled",
                    OrderStatus::Unsubscribed => "unsubscribed",
                },
                partner_payment: order.partner_payment.map(PartnerPayment::name),
                refundable: order.paid.allocated + order.paid.cash + order.paid.credit,
            })
            .collect();
        orders.sort_by(|a, b| a.id.cmp(&b.id));
        orders
    }

    /// The coupons of a customer, by id.
    pub fn coupons_of(&self, customer: &str) -> Vec<String> {
        let mut coupons: Vec<String> =
            self.books.coupons.iter().filter(|(_, coupon)| coupon.customer == customer).map(|(id, _)| id.clone()).collect();
        coupons.sort();
        coupons
    }

    /// Every withdrawal: (id, party, status), by id.
    pub fn withdrawal_summaries(&self) -> Vec<(String, Party, &'static str)> {
        let mut withdrawals: Vec<_> = self
            .books
            .withdrawals
            .iter()
            .map(|(id, withdrawal)| (id.clone(), withdrawal.party.clone(), withdrawal.status.name()))
            .collect();
        withdrawals.sort();
        withdrawals
    }

    /// Every invoice: (id, party, returned), by id.
    pub fn invoice_summaries(&self) -> Vec<(String, Party, bool)> {
        let mut invoices: Vec<_> =
            self.books.invoices.iter().map(|(id, invoice)| (id.clone(), invoice.party.clone(), invoice.returned)).collect();
        invoices.sort();
        invoices
    }

    /// What `party` could invoice now, in fen.
    pub fn invoiceable_total(&self, party: &Party) -> i128 {
        self.books.invoiceable_items(party).iter().map(|(_, _, remaining)| remaining).sum()
    }

    /// What `party` may withdraw now (SPEC 3 Withdrawals), in fen.
    pub fn withdrawable(&self, party: &Party) -> i128 {
        if self.books.registered(party) && matches!(party, Party::Partner(_) | Party::Customer(_)) {
            self.books.withdrawable(party)
        } else {
            0
        }
    }

    /// The operators of `partner` (enabled or not), by id.
    pub fn operators_of(&self, partner: &str) -> Vec<String> {
        let mut operators: Vec<String> =
            self.books.operators.iter().filter(|(_, info)| info.partner == partner).map(|(id, _)| id.clone()).collect();
        operators.sort();
        operators
    }

    /// (v2) A customer's row of `consumption_summary` for `cycle` (docs/decisions.md), as far as
    /// SPEC fixes it: (consumption at official prices, payable after discounts, paid less coupon
    /// value) of its payment and usage bills of that UTC+8 cycle.
    pub fn consumption_of(&self, customer: &str, cycle_text: &str) -> (i128, i128, i128) {
        let mut sums = (0, 0, 0);
        for bill in self.books.bills.values() {
            if bill.customer.as_deref() == Some(customer)
                && matches!(bill.bill_type, "new" | "renew" | "change" | "usage")
                && cycle(bill.at) == cycle_text
            {
                sums.0 += bill.amount + bill.discount;
                sums.1 += bill.amount;
                sums.2 += bill.amount - bill.coupon;
            }
        }
        sums
    }

    /// The customer manager in force at `at`.
    pub fn manager_of(&self, customer: &str, at: i64) -> Option<String> {
        self.books.customers.get(customer).and_then(|info| info.manager_at(at).cloned())
    }

    /// The billing cycle of a time (UTC+8 month).
    pub fn cycle_of(at: i64) -> String {
        cycle(at)
    }

    /// The partner of a customer, when associated, and whether as resale.
    pub fn partner_of(&self, customer: &str) -> Option<(String, bool)> {
        self.books.link(customer).map(|(partner, association)| (partner.clone(), *association == Association::Resale))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: the scope of queries (SPEC 2.1, v2; docs/decisions.md), for the queries a test checks
// as any actor: `balance`, `bills`, `withdrawals`, `invoiceable` and `orders`.

/// Who reads: the party whose scope applies (an operator's partner), and for an operator holding
/// only `customer_manager`, its id (it reads only its assigned customers' consumption).
struct Reader {
    party: Party,
    managing_only: Option<String>,
}

impl Books {
    fn reader(&self, actor: &Party) -> Outcome<Reader> {
        match actor {
            Party::Operator(id) => {
                let info = self.operators.get(id).ok_or("access_denied")?;
                if info.roles.is_empty() {
                    return Err("access_denied");
                }
                let managing_only = info.roles.iter().all(|role| *role == OperatorRole::CustomerManager).then(|| id.clone());
                Ok(Reader { party: Party::Partner(info.partner.clone()), managing_only })
            }
            _ if self.registered(actor) => Ok(Reader { party: actor.clone(), managing_only: None }),
            _ => Err("access_denied"),
        }
    }

    /// docs/decisions.md: the manager in force at `at` (assigned before that UTC+8 day began),
    /// an operator of the customer's current partner.
    fn manages(&self, reader: &Reader, party: &Party, at: i64) -> bool {
        let (Some(operator), Party::Customer(customer)) = (&reader.managing_only, party) else { return false };
        let Some(info) = self.customers.get(customer) else { return false };
        let partner = match &reader.party {
            Party::Partner(partner) => partner,
            _ => return false,
        };
        info.manager_at(at) == Some(operator) && info.link.as_ref().is_some_and(|(owner, _)| owner == partner)
    }

    /// Full reads (balances, statements, invoices, withdrawals) need scope; consumption reads
    /// (bills, orders) reach referral customers too, and a customer manager's assigned ones.
    fn may_read(&self, reader: &Reader, party: &Party, full: bool, at: i64) -> bool {
        if reader.managing_only.is_some() {
            return !full && self.manages(reader, party, at);
        }
        if full { self.in_scope(&reader.party, party) } else { self.reaches(&reader.party, party) }
    }

    /// `access_denied`, then `not_found`.
    fn authorize(&self, reader: &Reader, party: &Party, full: bool, at: i64) -> Outcome<()> {
        if !self.may_read(reader, party, full, at) {
            return Err("access_denied");
        }
        self.exists(party)
    }

    /// Whether the reader sees an order (docs/decisions.md): its customer in full scope, or an
    /// order its partner paid or was asked to pay; a customer manager sees no more than its
    /// partner, and only of the customers it manages.
    fn sees_order(&self, reader: &Reader, order: &Order, at: i64) -> bool {
        let customer = Party::Customer(order.customer.clone());
        let reached = |partner: &String| self.in_scope(&reader.party, &Party::Partner(partner.clone()));
        let payer = match &order.payer {
            Some(Party::Partner(partner)) => reached(partner),
            _ => false,
        };
        let partner_sees = self.in_scope(&reader.party, &customer) || payer || order.asked_partner.as_ref().is_some_and(reached);
        partner_sees && (reader.managing_only.is_none() || self.manages(reader, &customer, at))
    }
}

impl Model {
    /// What `balance {party}` answers `actor` now (statuses at `at`): the result or the code.
    pub fn read_balance(&self, actor: &Party, party: &Party, at: i64) -> Result<Value, &'static str> {
        if matches!(party, Party::Operator(_)) {
            return Err("invalid_request");
        }
        let books = &self.books;
        let reader = books.reader(actor)?;
        books.authorize(&reader, party, true, at)?;
        self.balance_json(party, at).ok_or("not_found")
    }

    /// What `bills {party}` lists for `actor` (all pages).
    pub fn read_bills(&self, actor: &Party, party: &Party, at: i64) -> Result<Vec<Value>, &'static str> {
        if matches!(party, Party::Platform | Party::Operator(_)) {
            return Err("invalid_request");
        }
        let books = &self.books;
        let reader = books.reader(actor)?;
        books.authorize(&reader, party, false, at)?;
        self.bills_json(party).ok_or("not_found")
    }

    /// What `withdrawals {party}` lists for `actor` (all pages).
    pub fn read_withdrawals(&self, actor: &Party, party: &Party, at: i64) -> Result<Vec<Value>, &'static str> {
        if matches!(party, Party::Platform | Party::Operator(_)) {
            return Err("invalid_request");
        }
        let books = &self.books;
        let reader = books.reader(actor)?;
        books.authorize(&reader, party, true, at)?;
        self.withdrawals_json(party).ok_or("not_found")
    }

    /// What `orders {customer?, partner_payment?}` lists for `actor` (all pages), statuses at `at`.
    pub fn read_orders(
        &self,
        actor: &Party,
        customer: Option<&str>,
        partner_payment: Option<&str>,
        at: i64,
    ) -> Result<Vec<Value>, &'static str> {
        let books = &self.books;
        let reader = books.reader(actor)?;
        let customers: Vec<String> = match customer {
            Some(customer) => {
                books.authorize(&reader, &Party::Customer(customer.to_owned()), false, at)?;
                vec![customer.to_owned()]
            }
            // docs/decisions.md: the platform sees every order, a customer its own, a partner
            // (or operator) those of every customer of itself and its resellers that it may see.
            None => match &reader.party {
                Party::Platform => books.customers.keys().cloned().collect(),
                Party::Partner(me) => books
                    .customers
                    .iter()
                    .filter(|(_, info)| {
                        info.link.as_ref().is_some_and(|(owner, _)| owner == me || books.parent(owner) == Some(me.as_str()))
                    })
                    .map(|(id, _)| id.clone())
                    .collect(),
                Party::Customer(me) => vec![me.clone()],
                Party::Operator(_) => Vec::new(),
            },
        };
        let mut selected: Vec<(u64, &String)> = books
            .orders
            .iter()
            .filter(|(_, order)| customers.contains(&order.customer))
            .filter(|(_, order)| partner_payment.is_none_or(|wanted| order.partner_payment.map(PartnerPayment::name) == Some(wanted)))
            .filter(|(_, order)| books.sees_order(&reader, order, at))
            .map(|(id, order)| (order.seq, id))
            .collect();
        selected.sort();
        Ok(selected.into_iter().filter_map(|(_, id)| self.order_json(id, at)).collect())
    }
}

// ---------------------------------------------------------------------------------------------
// The cast both the model test and the fuzz target start from.

/// The engine clock of the cast: commands without `at` use it (or the head's time).
pub const CLOCK: &str = "2026-01-01T00:00:00Z";
/// Partner ids (`X9` is never registered by the cast).
pub const PARTNERS: [&str; 6] = ["D1", "D2", "R1", "R2", "S1", "X9"];
/// Customer ids (`C5` is never registered by the cast).
pub const CUSTOMERS: [&str; 5] = ["C1", "C2", "C3", "C4", "C5"];
/// Operator ids: `A1` admin, `F1` finance and `M1` customer manager of D1, `F3` finance and
/// customer manager of S1; `N1` and `N2` are free.
pub const OPERATORS: [&str; 6] = ["A1", "F1", "M1", "F3", "N1", "N2"];
/// Quota, coupon and service ids the generators draw from.
pub const QUOTAS: [&str; 6] = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"];
pub const COUPONS: [&str; 6] = ["K1", "K2", "K3", "K4", "K5", "K6"];
pub const DISCOUNTS: [&str; 4] = ["DC1", "DC2", "DC3", "DC4"];
pub const SERVICES: [&str; 3] = ["ecs", "obs", "rds"];

/// Every partner, customer and operator id of the pools, as parties (not the platform).
pub fn universe() -> Vec<Party> {
    let partners = PARTNERS.iter().map(|id| Party::Partner((*id).to_owned()));
    let customers = CUSTOMERS.iter().map(|id| Party::Customer((*id).to_owned()));
    partners.chain(customers).collect()
}

/// A standard cast to start from, so that deep states are common: distributors D1 and D2,
/// reseller R1 of D1, solution provider S1, resale customers C1 (D1) and C2 (R1), referral
/// customer C3 (S1), unassociated C4; money for D1, S1, R1 and C3, credit for C3; D1's funds
/// allocated to C1 and R1's to C2, and own cash of C1 (a compensation); quotas Q1 (voucher) and
/// Q2 (cash coupon) of D1, Q3 of R1 carved from Q1, Q4 of S1; C1 whitelisted; coupon K1 of C1 (any
/// service) and K2 of C2 (`ecs` only); a usage bill of C3; operators A1 (admin), F1 (finance)
/// and M1 (customer manager, of C1) of D1 and F3 (finance and customer manager) of S1; pending
/// orders O1-C1, O1-C3, O2-C3 (its partner asked to pay it), O1-C4 and combined order G1-C2
/// (O1-C2, O2-C2, its partner asked to pay it). One request line per entry, ids `setup-…`.
pub fn cast() -> Vec<String> {
    let window = |from: &str, until: &str| (format!("{from}T00:00:00Z"), format!("{until}T00:00:00Z"));
    let (from, until) = window("2025-12-01", "2026-03-01");
    let (r_from, r_until) = window("2025-12-15", "2026-02-15");
    let mut lines = Vec::new();
    let mut add = |actor: &str, mut command: Value| {
        command["id"] = json!(format!("setup-{}", lines.len()));
        command["actor"] = json!(actor);
        lines.push(command.to_string());
    };
    let platform = [
        json!({"op": "register_partner", "partner": "D1", "kind": "distributor"}),
        json!({"op": "register_partner", "partner": "D2", "kind": "distributor"}),
        json!({"op": "register_partner", "partner": "R1", "kind": "reseller", "parent": "D1"}),
        json!({"op": "register_partner", "partner": "S1", "kind": "solution_provider"}),
        json!({"op": "register_customer", "customer": "C1", "partner": "D1", "name": "Acme 一号", "external_id": "ext-1"}),
        json!({"op": "register_customer", "customer": "C2", "partner": "R1"}),
        json!({"op": "register_customer", "customer": "C3", "partner": "S1", "association": "referral"}),
        json!({"op": "register_customer", "customer": "C4", "external_id": "ext-4"}),
        json!({"op": "recharge", "party": "partner:D1", "amount": "10000"}),
        json!({"op": "recharge", "party": "partner:S1", "amount": "500"}),
        json!({"op": "recharge", "party": "customer:C3", "amount": "300"}),
        json!({"op": "set_credit_limit", "party": "customer:C3", "limit": "200"}),
        json!({"op": "adjust", "party": "customer:C1", "direction": "compensate", "amount": "30", "reason": "own cash"}),
        json!({"op": "issue_quota", "quota": "Q1", "partner": "D1", "kind": "voucher", "amount": "5000", "valid_from": from, "valid_until": until}),
        json!({"op": "issue_quota", "quota": "Q2", "partner": "D1", "kind": "cash_coupon", "amount": "1000", "valid_from": from, "valid_until": until}),
        json!({"op": "issue_quota", "quota": "Q4", "partner": "S1", "kind": "voucher", "amount": "600", "valid_from": from, "valid_until": until}),
        json!({"op": "register_operator", "operator": "A1", "partner": "D1", "roles": ["admin"]}),
        json!({"op": "issue_quota", "quota": "Q5", "partner": "D1", "kind": "pickup_voucher", "amount": "2000", "valid_from": from, "valid_until": until}),
        json!({"op": "grant_discount", "discount": "DC1", "customer": "C3", "ratio": "0.85", "valid_from": from, "valid_until": until}),
        json!({"op": "grant_discount", "discount": "DC2", "customer": "C1", "ratio": "0.5", "services": ["ecs"], "valid_from": from, "valid_until": until}),
    ];
    for command in platform {
        add("platform", command);
    }
    let partners = [
        ("partner:D1", json!({"op": "allocate", "to": "partner:R1", "amount": "1000"})),
        ("operator:A1", json!({"op": "register_operator", "operator": "F1", "partner": "D1", "roles": ["finance"]})),
        ("operator:A1", json!({"op": "register_operator", "operator": "M1", "partner": "D1", "roles": ["customer_manager"]})),
        ("partner:S1", json!({"op": "register_operator", "operator": "F3", "partner": "S1", "roles": ["customer_manager", "finance"]})),
        ("operator:F1", json!({"op": "allocate", "to": "customer:C1", "amount": "500"})),
        ("operator:A1", json!({"op": "assign_customer_manager", "customer": "C1", "operator": "M1"})),
        (
            "partner:D1",
            json!({"op": "issue_quota", "quota": "Q3", "partner": "R1", "kind": "voucher", "amount": "800", "from_quota": "Q1", "valid_from": r_from, "valid_until": r_until}),
        ),
        ("partner:D1", json!({"op": "whitelist_customer", "customer": "C1"})),
        ("operator:A1", json!({"op": "issue_coupon", "coupon": "K1", "quota": "Q1", "customer": "C1", "face_value": "100"})),
        (
            "partner:R1",
            json!({"op": "issue_coupon", "coupon": "K2", "quota": "Q3", "customer": "C2", "face_value": "50", "services": ["ecs"]}),
        ),
        ("partner:R1", json!({"op": "allocate", "to": "customer:C2", "amount": "20"})),
    ];
    for (actor, command) in partners {
        add(actor, command);
    }
    let orders = [
        ("platform", json!({"op": "consume", "customer": "C3", "amount": "12.345", "service": "obs"})),
        ("platform", json!({"op": "place_order", "order": "O1-C1", "customer": "C1", "amount": "150", "kind": "new", "service": "ecs"})),
        ("platform", json!({"op": "place_order", "order": "O1-C3", "customer": "C3", "amount": "120", "kind": "new", "service": "rds"})),
        ("platform", json!({"op": "place_order", "order": "O2-C3", "customer": "C3", "amount": "250", "kind": "renew"})),
        ("platform", json!({"op": "place_order", "order": "O1-C4", "customer": "C4", "amount": "10", "kind": "change", "service": "ecs"})),
        (
            "platform",
            json!({"op": "place_combined_order", "combined": "G1-C2", "customer": "C2", "orders": [
                {"order": "O1-C2", "amount": "30", "kind": "new", "service": "ecs"},
                {"order": "O2-C2", "amount": "40", "kind": "new", "service": "obs"},
            ]}),
        ),
        ("customer:C3", json!({"op": "request_partner_payment", "order": "O2-C3"})),
        ("customer:C2", json!({"op": "request_partner_payment", "order": "G1-C2"})),
    ];
    for (actor, command) in orders {
        add(actor, command);
    }
    lines
}

/// The billing cycle of a time: its month in UTC+8 (SPEC 1.4).
fn cycle(millis: i64) -> String {
    format_time(millis + 8 * 3_600_000)[..7].to_owned()
}

// ---------------------------------------------------------------------------------------------
// Decoding: structure (`invalid_request`) before ids (`invalid_id`) before amounts
// (`invalid_amount`), whatever the order of the fields.

enum Decoded {
    Command { id: String, actor: Party, at: Option<i64>, command: Box<Command> },
    Query,
}

/// The three decoding errors by precedence.
const DECODE_CODES: [&str; 3] = ["invalid_request", "invalid_id", "invalid_amount"];

struct Fields {
    map: Map<String, Value>,
    /// Index into `DECODE_CODES` of the worst problem seen.
    worst: Option<usize>,
}

impl Fields {
    fn flag(&mut self, rank: usize) {
        self.worst = Some(self.worst.map_or(rank, |worst| worst.min(rank)));
    }

    /// A field; JSON `null` counts as absent.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|value| !value.is_null())
    }

    fn string(&mut self, name: &str, required: bool) -> Option<String> {
        match self.take(name) {
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                self.flag(0);
                None
            }
            None => {
                if required {
                    self.flag(0);
                }
                None
            }
        }
    }

    fn id(&mut self, name: &str, required: bool, party_id: bool) -> Option<String> {
        let text = self.string(name, required)?;
        if valid_id(&text, party_id) {
            Some(text)
        } else {
            self.flag(1);
            None
        }
    }

    fn party(&mut self, name: &str) -> Option<Party> {
        let text = self.string(name, true)?;
        let party = parse_party(&text);
        if party.is_none() {
            self.flag(1);
        }
        party
    }

    /// A partner or customer (`platform` has no money accounts of its own, an operator owns
    /// none: `invalid_request`).
    fn member(&mut self, name: &str) -> Option<Party> {
        let party = self.party(name)?;
        if matches!(party, Party::Platform | Party::Operator(_)) {
            self.flag(0);
            return None;
        }
        Some(party)
    }

    fn amount(&mut self, name: &str, zero_allowed: bool) -> Option<i128> {
        match self.take(name) {
            None => {
                self.flag(0);
                None
            }
            Some(Value::String(text)) => {
                let amount = parse_amount(&text).filter(|amount| zero_allowed || *amount > 0);
                if amount.is_none() {
                    self.flag(2);
                }
                amount
            }
            Some(_) => {
                self.flag(2);
                None
            }
        }
    }

    fn choice<T: Copy>(&mut self, name: &str, required: bool, choices: &[(&str, T)]) -> Option<T> {
        let text = self.string(name, required)?;
        let found = choices.iter().find(|(choice, _)| *choice == text).map(|(_, value)| *value);
        if found.is_none() {
            self.flag(0);
        }
        found
    }

    fn text(&mut self, name: &str, required: bool) -> Option<String> {
        let text = self.string(name, required)?;
        if text.chars().count() > TEXT_LENGTH_MAX {
            self.flag(0);
            return None;
        }
        Some(text)
    }

    fn time(&mut self, name: &str) -> Option<i64> {
        let text = self.string(name, false)?;
        let at = parse_time(&text);
        if at.is_none() {
            self.flag(0);
        }
        at
    }

    fn required_time(&mut self, name: &str) -> Option<i64> {
        let text = self.string(name, true)?;
        let at = parse_time(&text);
        if at.is_none() {
            self.flag(0);
        }
        at
    }

    /// An optional array of `min` to `max` distinct ids (`None` when absent or bad). Every element
    /// is looked at, so that the worst problem is reported (SPEC 2.2).
    fn id_list(&mut self, name: &str, min: usize, max: usize) -> Option<Vec<String>> {
        let items = match self.take(name)? {
            Value::Array(items) if (min..=max).contains(&items.len()) => items,
            _ => {
                self.flag(0);
                return None;
            }
        };
        let mut ids: Vec<String> = Vec::with_capacity(items.len());
        let mut written: Vec<String> = Vec::with_capacity(items.len());
        let mut valid = true;
        for item in items {
            let Value::String(text) = item else {
                self.flag(0);
                valid = false;
                continue;
            };
            // Repeated entries are structural, compared as written (a choice of the
            // implementation, mirrored: docs/decisions.md wants no duplicates).
            if written.contains(&text) {
                self.flag(0);
                valid = false;
            }
            written.push(text.clone());
            if valid_id(&text, false) {
                ids.push(text);
            } else {
                self.flag(1);
                valid = false;
            }
        }
        valid.then_some(ids)
    }

    /// A usage amount (SPEC 3 `consume`): up to 8 places; (deduction in fen, cut in 10^-8).
    fn usage_amount(&mut self, name: &str) -> Option<(i128, i128)> {
        match self.take(name) {
            None => {
                self.flag(0);
                None
            }
            Some(Value::String(text)) => {
                let amount = parse_usage(&text);
                if amount.is_none() {
                    self.flag(2);
                }
                amount
            }
            Some(_) => {
                self.flag(2);
                None
            }
        }
    }

    /// The orders of `place_combined_order`. An order id listed twice, or equal to `combined`, is
    /// structural (`invalid_request`), compared as written (a choice of the implementation,
    /// mirrored: it ranks above a bad id).
    fn order_lines(&mut self, combined: Option<&str>) -> Option<Vec<OrderLine>> {
        let items = match self.take("orders") {
            Some(Value::Array(items)) if (COMBINED_ORDERS_MIN..=COMBINED_ORDERS_MAX).contains(&items.len()) => items,
            _ => {
                self.flag(0);
                return None;
            }
        };
        let written: Vec<&str> = items.iter().filter_map(|item| item.get("order").and_then(Value::as_str)).collect();
        let repeated = written.iter().enumerate().any(|(index, order)| written[..index].contains(order));
        if repeated || combined.is_some_and(|combined| written.contains(&combined)) {
            self.flag(0);
        }
        let mut lines: Vec<OrderLine> = Vec::with_capacity(items.len());
        let mut valid = !repeated;
        for item in items {
            let Value::Object(map) = item else {
                self.flag(0);
                valid = false;
                continue;
            };
            let mut line = Fields { map, worst: None };
            let order = line.id("order", true, false);
            let amount = line.amount("amount", false);
            let kind = line.choice("kind", true, &ORDER_KINDS);
            let service = line.id("service", false, false);
            line.finish();
            if let Some(worst) = line.worst {
                self.flag(worst);
                valid = false;
            }
            if let (Some(order), Some(amount), Some(kind)) = (order, amount, kind) {
                lines.push(OrderLine { order, amount, kind, service });
            }
        }
        valid.then_some(lines)
    }

    /// Operator roles (SPEC 3 Operators): an array of distinct role names, non-empty unless
    /// `may_be_empty`; anything else is `invalid_request`.
    fn roles(&mut self, name: &str, may_be_empty: bool) -> Option<Vec<OperatorRole>> {
        let Some(Value::Array(items)) = self.take(name) else {
            self.flag(0);
            return None;
        };
        let mut roles = Vec::with_capacity(items.len());
        for item in &items {
            match ROLES.iter().find(|(role, _)| Some(*role) == item.as_str()) {
                Some((_, role)) if !roles.contains(role) => roles.push(*role),
                _ => {
                    self.flag(0);
                    return None;
                }
            }
        }
        if roles.is_empty() && !may_be_empty {
            self.flag(0);
            return None;
        }
        Some(roles)
    }

    /// A party id that must be present but may be `null` (docs/decisions.md: `operator: null`
    /// removes a manager, the field is required).
    fn nullable_party_id(&mut self, name: &str) -> Option<Option<String>> {
        if !self.map.contains_key(name) {
            self.flag(0);
            return None;
        }
        let present = self.map.get(name).is_some_and(|value| !value.is_null());
        let id = self.id(name, false, true);
        if present && id.is_none() { None } else { Some(id) }
    }

    /// (v2) A ratio: `"0.01"` to `"1"`, at most 2 places, in hundredths (`invalid_amount`
    /// otherwise, like an amount).
    fn ratio(&mut self, name: &str, required: bool) -> Option<i128> {
        match self.take(name) {
            None => {
                if required {
                    self.flag(0);
                }
                None
            }
            Some(Value::String(text)) => {
                let ratio = parse_amount(&text).filter(|ratio| (1..=100).contains(ratio));
                if ratio.is_none() {
                    self.flag(2);
                }
                ratio
            }
            Some(_) => {
                self.flag(2);
                None
            }
        }
    }

    /// (v2) `order_kinds`: a non-empty list of distinct order kinds.
    fn order_kinds(&mut self, name: &str) -> Option<Vec<&'static str>> {
        let items = match self.take(name)? {
            Value::Array(items) if !items.is_empty() => items,
            _ => {
                self.flag(0);
                return None;
            }
        };
        let mut kinds: Vec<&'static str> = Vec::new();
        for item in items {
            match ORDER_KINDS.iter().find(|(name, _)| item.as_str() == Some(name)) {
                Some((_, kind)) if !kinds.contains(kind) => kinds.push(kind),
                _ => {
                    self.flag(0);
                    return None;
                }
            }
        }
        Some(kinds)
    }

    /// (v2) `cycles`: 1 to 12 distinct `YYYY-MM`.
    fn cycles(&mut self, name: &str) -> Option<Vec<String>> {
        let items = match self.take(name)? {
            Value::Array(items) if (1..=CYCLES_MAX).contains(&items.len()) => items,
            _ => {
                self.flag(0);
                return None;
            }
        };
        let mut cycles: Vec<String> = Vec::new();
        for item in items {
            let valid = item.as_str().is_some_and(|text| {
                let bytes = text.as_bytes();
                bytes.len() == 7
                    && bytes[4] == b'-'
                    && text[..4].bytes().all(|byte| byte.is_ascii_digit())
                    && text[5..].bytes().all(|byte| byte.is_ascii_digit())
                    && (1..=12).contains(&text[5..].parse::<u32>().unwrap_or(0))
            });
            match item.as_str() {
                Some(text) if valid && !cycles.iter().any(|cycle| cycle == text) => cycles.push(text.to_owned()),
                _ => {
                    self.flag(0);
                    return None;
                }
            }
        }
        Some(cycles)
    }

    /// Unknown fields are `invalid_request`.
    fn finish(&mut self) {
        if !self.map.is_empty() {
            self.flag(0);
        }
    }
}

const KINDS: [(&str, Kind); 3] =
    [("solution_provider", Kind::SolutionProvider), ("distributor", Kind::Distributor), ("reseller", Kind::Reseller)];
const ASSOCIATIONS: [(&str, Association); 2] = [("resale", Association::Resale), ("referral", Association::Referral)];
const DIRECTIONS: [(&str, bool); 2] = [("compensate", false), ("deduct", true)];
const COUPON_KINDS: [(&str, CouponKind); 3] =
    [("voucher", CouponKind::Voucher), ("cash_coupon", CouponKind::CashCoupon), ("pickup_voucher", CouponKind::PickupVoucher)];
const ORDER_KINDS: [(&str, &str); 3] = [("new", "new"), ("renew", "renew"), ("change", "change")];
const PAYERS: [(&str, bool); 2] = [("customer", false), ("partner", true)];
const ROLES: [(&str, OperatorRole); 3] =
    [("admin", OperatorRole::Admin), ("finance", OperatorRole::Finance), ("customer_manager", OperatorRole::CustomerManager)];
const QUERY_OPS: [&str; 16] = [
    "balance",
    "adjust_records",
    "statement",
    "order",
    "orders",
    "bills",
    "withdrawals",
    "invoiceable",
    "invoice",
    "consumption_summary",
    "customers",
    "resellers",
    "quotas",
    "coupons",
    "coupon_records",
    "operators",
];
const CYCLES_MAX: usize = 12;
const INVOICE_BILLS_MAX: usize = 100;
const NAME_LENGTH_MAX: usize = 64;

fn decode(request: &Value) -> Result<Decoded, &'static str> {
    let Value::Object(map) = request else { return Err("invalid_request") };
    let mut fields = Fields { map: map.clone(), worst: None };
    let op = fields.string("op", true);
    let actor = fields.party("actor");
    let at = fields.time("at");
    if op.as_deref().is_some_and(|op| QUERY_OPS.contains(&op)) {
        return Ok(Decoded::Query);
    }
    let id = fields.id("id", true, false);
    let command = op.and_then(|op| decode_command(&op, &mut fields, true));
    fields.finish();
    if let Some(worst) = fields.worst {
        return Err(DECODE_CODES[worst]);
    }
    match (id, actor, command) {
        (Some(id), Some(actor), Some(command)) => Ok(Decoded::Command { id, actor, at, command: Box::new(command) }),
        _ => Err("invalid_request"),
    }
}

/// Takes the fields of `op` out of `fields` (all of them, so that leftovers are unknown fields).
fn decode_command(op: &str, fields: &mut Fields, top_level: bool) -> Option<Command> {
    match op {
        "register_partner" => {
            let partner = fields.id("partner", true, true);
            let kind = fields.choice("kind", true, &KINDS);
            let parent_given = fields.map.get("parent").is_some_and(|value| !value.is_null());
            let parent = fields.id("parent", false, true);
            // SPEC 3: `parent` is required for, and only for, a reseller.
            if kind.is_some_and(|kind| (kind == Kind::Reseller) != parent_given) {
                fields.flag(0);
            }
            Some(Command::RegisterPartner { partner: partner?, kind: kind?, parent })
        }
        "register_customer" => {
            let customer = fields.id("customer", true, true);
            let partner_given = fields.map.get("partner").is_some_and(|value| !value.is_null());
            let partner = fields.id("partner", false, true);
            let association = fields.choice("association", false, &ASSOCIATIONS);
            // An association without a partner is meaningless (a choice of the implementation).
            if association.is_some() && !partner_given {
                fields.flag(0);
            }
            // docs/decisions.md (v2): `name` 1 to 64 characters, `external_id` an id.
            let name = fields.string("name", false);
            if name.as_ref().is_some_and(|name| name.is_empty() || name.chars().count() > NAME_LENGTH_MAX) {
                fields.flag(0);
            }
            let external_id = fields.id("external_id", false, false);
            Some(Command::RegisterCustomer { customer: customer?, partner, association, name, external_id })
        }
        "associate" => {
            let customer = fields.id("customer", true, true);
            let partner = fields.id("partner", true, true);
            let association = fields.choice("association", true, &ASSOCIATIONS);
            Some(Command::Associate { customer: customer?, partner: partner?, association: association? })
        }
        "recharge" | "repay_credit" => {
            let party = fields.member("party");
            let amount = fields.amount("amount", false);
            let (party, amount) = (party?, amount?);
            Some(if op == "recharge" { Command::Recharge { party, amount } } else { Command::RepayCredit { party, amount } })
        }
        "allocate" | "recover" => {
            let partner = fields.id("partner", false, true);
            let counterparty = fields.member(if op == "allocate" { "to" } else { "from" });
            let amount = fields.amount("amount", false);
            let memo = fields.text("memo", false);
            let (counterparty, amount) = (counterparty?, amount?);
            Some(if op == "allocate" {
                Command::Allocate { partner, to: counterparty, amount, memo }
            } else {
                Command::Recover { partner, from: counterparty, amount, memo }
            })
        }
        "set_credit_limit" => {
            let party = fields.member("party");
            let limit = fields.amount("limit", true);
            Some(Command::SetCreditLimit { party: party?, limit: limit? })
        }
        "adjust" => {
            let party = fields.member("party");
            let deduct = fields.choice("direction", true, &DIRECTIONS);
            let amount = fields.amount("amount", false);
            let reason = fields.text("reason", true);
            Some(Command::Adjust { party: party?, deduct: deduct?, amount: amount?, reason: reason? })
        }
        "atomic" if top_level => decode_group(fields).map(Command::Atomic),
        _ => decode_commerce(op, fields),
    }
}

/// Coupons, orders, usage, withdrawals, association changes and invoices.
fn decode_commerce(op: &str, fields: &mut Fields) -> Option<Command> {
    match op {
        "issue_quota" => {
            let quota = fields.id("quota", true, false);
            let partner = fields.id("partner", true, true);
            let kind = fields.choice("kind", true, &COUPON_KINDS);
            let amount = fields.amount("amount", false);
            let given = |fields: &Fields, name: &str| fields.map.get(name).is_some_and(|value| !value.is_null());
            // docs/decisions.md (v2): only a quota issued from a quota has a window to default
            // to: without `from_quota` the request alone is malformed, whoever sends it.
            if !(given(fields, "from_quota") || (given(fields, "valid_from") && given(fields, "valid_until"))) {
                fields.flag(0);
            }
            let valid_from = fields.time("valid_from");
            let valid_until = fields.time("valid_until");
            let from_quota = fields.id("from_quota", false, false);
            Some(Command::IssueQuota {
                quota: quota?,
                partner: partner?,
                kind: kind?,
                amount: amount?,
                valid_from,
                valid_until,
                from_quota,
            })
        }
        "reclaim_quota" => Some(Command::ReclaimQuota { quota: fields.id("quota", true, false)? }),
        "whitelist_customer" => Some(Command::WhitelistCustomer { customer: fields.id("customer", true, true)? }),
        "issue_coupon" => {
            let coupon = fields.id("coupon", true, false);
            let quota = fields.id("quota", true, false);
            let customer = fields.id("customer", true, true);
            let face_value = fields.amount("face_value", false);
            let valid_from = fields.time("valid_from");
            let valid_until = fields.time("valid_until");
            let services = fields.id_list("services", 1, SERVICES_MAX);
            let ratio = fields.ratio("ratio", false);
            let order_kinds = fields.order_kinds("order_kinds");
            Some(Command::IssueCoupon {
                coupon: coupon?,
                quota: quota?,
                customer: customer?,
                face_value: face_value?,
                valid_from,
                valid_until,
                services,
                ratio,
                order_kinds,
            })
        }
        "reclaim_coupon" => Some(Command::ReclaimCoupon { coupon: fields.id("coupon", true, false)? }),
        "expire_coupons" => Some(Command::ExpireCoupons),
        "place_order" => {
            let order = fields.id("order", true, false);
            let customer = fields.id("customer", true, true);
            let amount = fields.amount("amount", false);
            let kind = fields.choice("kind", true, &ORDER_KINDS);
            let service = fields.id("service", false, false);
            let pay_deadline = fields.time("pay_deadline");
            let line = OrderLine { order: order?, amount: amount?, kind: kind?, service };
            Some(Command::PlaceOrders { combined: None, customer: customer?, lines: vec![line], pay_deadline })
        }
        "place_combined_order" => {
            let written = fields.map.get("combined").and_then(Value::as_str).map(str::to_owned);
            let combined = fields.id("combined", true, false);
            let customer = fields.id("customer", true, true);
            let lines = fields.order_lines(written.as_deref());
            Some(Command::PlaceOrders { combined: Some(combined?), customer: customer?, lines: lines?, pay_deadline: None })
        }
        "pay_order" => {
            let order = fields.id("order", true, false);
            let coupons_given = matches!(fields.map.get("coupons"), Some(Value::Array(items)) if !items.is_empty());
            let coupons = fields.id_list("coupons", 0, PAYMENT_COUPONS_MAX).unwrap_or_default();
            let partner_pays = fields.choice("payer", false, &PAYERS).unwrap_or(false);
            let discount_given = fields.map.get("discount").is_some_and(|value| !value.is_null());
            let discount = fields.id("discount", false, false);
            // SPEC 3: a partner payer uses no coupons (v2: nor a discount), and a payment uses
            // either coupons or a discount. The request alone says so, whatever the ids are:
            // structural, so `invalid_request` first (SPEC 2.2), for a group before any member
            // runs.
            if (partner_pays && (coupons_given || discount_given)) || (coupons_given && discount_given) {
                fields.flag(0);
            }
            Some(Command::PayOrder { order: order?, coupons, discount, partner_pays })
        }
        "cancel_order" => Some(Command::CancelOrder { order: fields.id("order", true, false)? }),
        "unsubscribe" => {
            let order = fields.id("order", true, false);
            let refund = fields.amount("refund", false);
            Some(Command::Unsubscribe { order: order?, refund: refund? })
        }
        "consume" => {
            let customer = fields.id("customer", true, true);
            let amount = fields.usage_amount("amount");
            let service = fields.id("service", false, false);
            let (amount, erase) = amount?;
            Some(Command::Consume { customer: customer?, amount, erase, service })
        }
        "request_withdrawal" => {
            let id = fields.id("withdrawal", true, false);
            let party = fields.member("party");
            let amount = fields.amount("amount", false);
            Some(Command::RequestWithdrawal { withdrawal: id?, party: party?, amount: amount? })
        }
        "request_invoice" => {
            let id = fields.id("invoice", true, false);
            let party = fields.member("party");
            // SPEC 3 (v2): exactly one of `amount`, `cycles`, `bills`.
            let given =
                ["amount", "cycles", "bills"].iter().filter(|name| fields.map.get(**name).is_some_and(|value| !value.is_null())).count();
            if given != 1 {
                fields.flag(0);
            }
            let basis = if fields.map.get("cycles").is_some_and(|value| !value.is_null()) {
                fields.cycles("cycles").map(InvoiceBasis::Cycles)
            } else if fields.map.get("bills").is_some_and(|value| !value.is_null()) {
                fields.id_list("bills", 1, INVOICE_BILLS_MAX).map(InvoiceBasis::Bills)
            } else {
                fields.amount("amount", false).map(InvoiceBasis::Amount)
            };
            for name in ["amount", "cycles", "bills"] {
                fields.take(name);
            }
            Some(Command::RequestInvoice { invoice: id?, party: party?, basis: basis? })
        }
        "grant_discount" => {
            let discount = fields.id("discount", true, false);
            let customer = fields.id("customer", true, true);
            let ratio = fields.ratio("ratio", true);
            let services = fields.id_list("services", 1, SERVICES_MAX);
            let valid_from = fields.required_time("valid_from");
            let valid_until = fields.required_time("valid_until");
            Some(Command::GrantDiscount {
                discount: discount?,
                customer: customer?,
                ratio: ratio?,
                services,
                valid_from: valid_from?,
                valid_until: valid_until?,
            })
        }
        "revoke_discount" => Some(Command::RevokeDiscount { discount: fields.id("discount", true, false)? }),
        "approve_withdrawal" => Some(Command::ApproveWithdrawal { withdrawal: fields.id("withdrawal", true, false)? }),
        "reject_withdrawal" => {
            let withdrawal = fields.id("withdrawal", true, false);
            let reason = fields.text("reason", true);
            Some(Command::RejectWithdrawal { withdrawal: withdrawal?, reason: reason? })
        }
        "delete_withdrawal" => Some(Command::DeleteWithdrawal { withdrawal: fields.id("withdrawal", true, false)? }),
        "unbind" => Some(Command::Unbind { customer: fields.id("customer", true, true)? }),
        "switch_association" => {
            let customer = fields.id("customer", true, true);
            let association = fields.choice("association", true, &ASSOCIATIONS);
            Some(Command::SwitchAssociation { customer: customer?, association: association? })
        }
        "return_invoice" => Some(Command::ReturnInvoice { invoice: fields.id("invoice", true, false)? }),
        "register_operator" => {
            let operator = fields.id("operator", true, true);
            let partner = fields.id("partner", true, true);
            let roles = fields.roles("roles", false);
            Some(Command::RegisterOperator { operator: operator?, partner: partner?, roles: roles? })
        }
        "set_operator_roles" => {
            let operator = fields.id("operator", true, true);
            let roles = fields.roles("roles", true);
            Some(Command::SetOperatorRoles { operator: operator?, roles: roles? })
        }
        "assign_customer_manager" => {
            let customer = fields.id("customer", true, true);
            let operator = fields.nullable_party_id("operator");
            Some(Command::AssignCustomerManager { customer: customer?, operator: operator? })
        }
        "request_partner_payment" => Some(Command::RequestPartnerPayment { order: fields.id("order", true, false)? }),
        "reject_partner_payment" => {
            let order = fields.id("order", true, false);
            let reason = fields.text("reason", true);
            Some(Command::RejectPartnerPayment { order: order?, reason: reason? })
        }
        _ => {
            fields.flag(0);
            None
        }
    }
}

fn decode_group(fields: &mut Fields) -> Option<Vec<Command>> {
    let Some(Value::Array(items)) = fields.take("commands") else {
        fields.flag(0);
        return None;
    };
    if items.is_empty() || items.len() > GROUP_COMMANDS_MAX {
        fields.flag(0);
        return None;
    }
    let mut commands = Vec::new();
    for item in items {
        let Value::Object(map) = item else {
            fields.flag(0);
            continue;
        };
        let mut member = Fields { map, worst: None };
        for envelope in ["id", "actor", "at"] {
            if member.map.remove(envelope).is_some() {
                member.flag(0);
            }
        }
        let command = member.string("op", true).and_then(|op| decode_command(&op, &mut member, false));
        member.finish();
        if let Some(worst) = member.worst {
            fields.flag(worst);
        }
        commands.extend(command);
    }
    Some(commands)
}

fn valid_id(text: &str, party_id: bool) -> bool {
    let length = text.chars().count();
    (1..=ID_LENGTH_MAX).contains(&length)
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') || (c == ':' && !party_id))
}

/// Whether some object of a valid JSON text names a key twice (keys compared after unescaping).
pub fn has_duplicate_keys(text: &str) -> bool {
    // One frame per open object (its keys, and whether a key comes next) or array (`None`).
    let mut frames: Vec<Option<(Vec<String>, bool)>> = Vec::new();
    let mut chars = text.char_indices();
    while let Some((start, c)) = chars.next() {
        match c {
            '{' => frames.push(Some((Vec::new(), true))),
            '[' => frames.push(None),
            '}' | ']' => {
                frames.pop();
            }
            ',' => {
                if let Some(Some((_, key_next))) = frames.last_mut() {
                    *key_next = true;
                }
            }
            '"' => {
                let mut end = start + 1;
                let mut escaped = false;
                for (index, c) in chars.by_ref() {
                    end = index + c.len_utf8();
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
                if let Some(Some((keys, key_next))) = frames.last_mut()
                    && *key_next
                {
                    *key_next = false;
                    let key = serde_json::from_str::<String>(&text[start..end]).unwrap_or_default();
                    if keys.contains(&key) {
                        return true;
                    }
                    keys.push(key);
                }
            }
            _ => {}
        }
    }
    false
}

/// `platform`, `partner:<id>`, `customer:<id>` or `operator:<id>`.
pub fn parse_party(text: &str) -> Option<Party> {
    if text == "platform" {
        return Some(Party::Platform);
    }
    let (prefix, id) = text.split_once(':')?;
    if !valid_id(id, true) {
        return None;
    }
    match prefix {
        "partner" => Some(Party::Partner(id.to_owned())),
        "customer" => Some(Party::Customer(id.to_owned())),
        "operator" => Some(Party::Operator(id.to_owned())),
        _ => None,
    }
}

/// A plain decimal with at most `places` places, below 10^12: (units, fraction scaled to
/// `places` digits).
fn parse_decimal(text: &str, places: usize) -> Option<(i128, i128)> {
    let (units, fraction) = match text.split_once('.') {
        Some((units, fraction)) => (units, Some(fraction)),
        None => (text, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || fraction.is_some_and(|fraction| !digits(fraction) || fraction.len() > places) {
        return None;
    }
    let significant = units.trim_start_matches('0');
    if significant.len() > 13 {
        return None;
    }
    let units: i128 = if significant.is_empty() { 0 } else { significant.parse().ok()? };
    if units >= AMOUNT_LIMIT_YUAN {
        return None;
    }
    let fraction = fraction.unwrap_or("");
    let scaled: i128 = format!("{fraction:0<places$}").parse().ok()?;
    Some((units, scaled))
}

/// A plain decimal with at most 2 places, below 10^12, in fen (zero included).
pub fn parse_amount(text: &str) -> Option<i128> {
    parse_decimal(text, 2).map(|(units, fen)| units * FEN + fen)
}

/// A usage amount (up to 8 places) truncated to the fen: (deduction, cut in units of 10^-8);
/// a deduction under 0.01 is refused (SPEC 3 `consume`).
pub fn parse_usage(text: &str) -> Option<(i128, i128)> {
    let (units, fraction) = parse_decimal(text, 8)?;
    let deduction = units * FEN + fraction / ERASE_PER_FEN;
    (deduction > 0).then_some((deduction, fraction % ERASE_PER_FEN))
}

/// Formats a usage cut (units of 10^-8) with exactly 8 places.
pub fn format_erase(erase: i128) -> String {
    format!("{}.{:08}", erase / 100_000_000, erase % 100_000_000)
}

/// The `cbc` of an error code (SPEC 6).
pub fn cbc(code: &str) -> &'static str {
    match code {
        "invalid_request" | "not_found" | "already_exists" | "id_reused" | "time_went_backwards" => "CBC.0100",
        "invalid_id"
        | "invalid_amount"
        | "invalid_validity"
        | "credit_limit_below_usage"
        | "exceeds_credit_used"
        | "refund_exceeds_paid"
        | "exceeds_invoiceable" => "CBC.0101",
        "access_denied" => "CBC.0151",
        "not_your_customer" => "CBC.99000035",
        "not_your_reseller" => "CBC.99000037",
        "not_resale_customer" | "not_whitelisted" => "CBC.99000014",
        "resale_customer" | "association_state" | "association_blocked" | "withdrawal_state" | "invoice_state" | "debt_outstanding" => {
            "CBC.0155"
        }
        "insufficient_funds" => "CBC.99005003",
        "quota_insufficient" => "CBC.99000013",
        "quota_not_valid" => "CBC.99000017",
        "coupon_not_usable" | "coupon_not_reclaimable" | "discount_not_usable" => "CBC.99003112",
        "order_state" => "CBC.99003106",
        "order_expired" => "CBC.99003110",
        "use_combined_order_id" => "CBC.99000089",
        "already_invoiced" => "CBC.99003643",
        "storage" => "CBC.0999",
        _ => "unknown",
    }
}

/// Formats a time as RFC 3339 in UTC, with milliseconds only when not zero.
pub fn format_time(millis: i64) -> String {
    let (seconds, millis) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (mut days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let mut year = 1970;
    loop {
        let length = if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 0;
    while days >= month_days[month] {
        days -= month_days[month];
        month += 1;
    }
    let fraction = if millis == 0 { String::new() } else { format!(".{millis:03}") };
    format!("{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z", month + 1, days + 1, of_day / 3600, of_day / 60 % 60, of_day % 60)
}

/// Formats fen as the protocol shows amounts: exactly 2 places.
pub fn format_amount(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / FEN, fen.abs() % FEN)
}

/// RFC 3339 (`2026-01-05T10:00:00Z`, `Z` or `±HH:MM`, a fraction of at most millisecond
/// precision), years 1970 to 9999, in ms since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if !text.is_ascii() || bytes.len() < 20 {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        let part = &text[from..to];
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't') || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if year < 1970 || !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 || fraction[..count].bytes().skip(3).any(|b| b != b'0') {
            return None;
        }
        let kept: String = fraction[..count].chars().take(3).collect();
        millis = format!("{kept:0<3}").parse::<i64>().ok()?;
        rest = &fraction[count..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let zone = rest.as_bytes();
            if zone.len() != 6 || !matches!(zone[0], b'+' | b'-') || zone[3] != b':' {
                return None;
            }
            let (hours, minutes) = (rest[1..3].parse::<i64>().ok()?, rest[4..6].parse::<i64>().ok()?);
            if !rest[1..3].bytes().chain(rest[4..6].bytes()).all(|b| b.is_ascii_digit()) || hours > 23 || minutes > 59 {
                return None;
            }
            (if zone[0] == b'-' { -1 } else { 1 }) * (hours * 3600 + minutes * 60)
        }
    };
    let mut days = 0;
    for earlier in 1970..year {
        days += if earlier % 4 == 0 && (earlier % 100 != 0 || earlier % 400 == 0) { 366 } else { 365 };
    }
    days += month_days[..(month - 1) as usize].iter().sum::<i64>() + day - 1;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    (seconds >= 0).then_some(seconds * 1000 + millis)
}
