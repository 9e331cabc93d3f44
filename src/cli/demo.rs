//! `partner-ledger demo`: one realistic month (November 2026) of a cloud partner sales platform,
//! generated from a seed and sent through the JSON-lines protocol into a fresh ledger file.
//!
//! Distributors with resellers and solution providers fund thousands of customers; customers buy
//! (single and combined orders, with coupons, cash or credit, or paid by their partner), run
//! on-demand usage into debt, get refunds, withdraw and invoice; a few commands fail as they
//! should. The script keeps its own plain bookkeeping of what every party holds, so it knows for
//! each command what the ledger must answer: committed, a duplicate, or a named error. Any other
//! answer, end-of-month balances that disagree with that bookkeeping, or a failed `verify` make
//! the demo exit non-zero.
//!
//! Every command carries an explicit, increasing `at`, and randomness comes from a small
//! self-contained generator: the same seed gives the same journal, down to the head hash.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use partner_ledger::{Ledger, Outcome, Response, Timestamp, hex};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Commands per `execute_lines` call: each call shares durable commits, like `apply`'s batches.
const BATCH_LINES: usize = 1000;
/// 2026-11-01T00:00:00Z (08:00 in UTC+8, where billing cycles are counted).
const MONTH_START: i64 = 1_793_491_200_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Quotas (and coupons by default) are valid for the whole month: until 2026-12-01T00:00:00Z.
const QUOTA_UNTIL: i64 = MONTH_START + 30 * DAY;
/// Promotion coupons end on 2026-11-26T00:00:00Z; `expire_coupons` sweeps what is left of them.
const PROMO_UNTIL: i64 = MONTH_START + 25 * DAY;
/// The last business day; day 30 is the month end (sweeps, last checks).
const LAST_BUSINESS_DAY: u32 = 29;
const MONTH_END_DAY: u32 = 30;
/// New customers sign up until this day.
const SIGNUP_LAST_DAY: u32 = 20;
/// Days the platform recharges partners and distributors fund their resellers.
const FUNDING_DAYS: [u32; 4] = [1, 8, 15, 22];
/// Customers ask for invoices from this day on; partners on the last business day.
const INVOICE_FIRST_DAY: u32 = 26;
const SERVICES: [&str; 6] = ["ecs", "evs", "obs", "rds", "cdn", "vpc"];
/// Distributors and how many resellers each has.
const DISTRIBUTORS: [(&str, usize); 3] = [("D1", 3), ("D2", 2), ("D3", 3)];
const SOLUTION_PROVIDERS: [&str; 2] = ["S1", "S2"];
/// Partners with a credit line from the platform, and its size in yuan.
const PARTNER_CREDIT: [(&str, i64); 3] = [("S1", 100_000), ("S2", 50_000), ("D3", 200_000)];
/// The error codes the script provokes on purpose, with what a reader should understand by them.
const EXPECTED_FAILURES: [(&str, &str); 7] = [
    ("insufficient_funds", "a payment, allocation or withdrawal above the available funds"),
    ("coupon_not_usable", "a coupon past its validity, or for another service"),
    ("order_expired", "payment after the order's pay deadline"),
    ("not_your_customer", "a partner allocating to another partner's customer"),
    ("already_invoiced", "unsubscribing an order whose bill is already invoiced"),
    ("debt_outstanding", "a customer in debt asking for an invoice"),
    ("not_resale_customer", "an allocation to a referral customer"),
];

/// The 09:00 (UTC+8) start of business on `day` of the month.
fn day_start(day: u32) -> i64 {
    MONTH_START + i64::from(day - 1) * DAY + HOUR
}

fn time(millis: i64) -> String {
    Timestamp::from_millis(millis).to_string()
}

/// `yuan` in fen, the unit of every amount the script keeps.
const fn cny(yuan: i64) -> i64 {
    yuan * 100
}

/// A positive amount in fen as the protocol writes it: `"1234.50"`.
fn money(fen: i64) -> String {
    debug_assert!(fen > 0, "amounts sent are positive");
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A usage amount in units of 10^-8 yuan, with all 8 decimals: `"12.34567891"`.
fn usage_amount(units: i64) -> String {
    format!("{}.{:08}", units / 100_000_000, units % 100_000_000)
}

// ---------------------------------------------------------------------------------------------
// Randomness: SplitMix64, small and fully determined by the seed.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// An amount in fen between `low` and `high` yuan.
    fn yuan(&mut self, low: i64, high: i64) -> i64 {
        self.range(low * 100, high * 100)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            items.swap(index, self.index(index + 1));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The script's own bookkeeping: plain integers in fen, just enough to know each answer.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Partner(usize),
    Customer(usize),
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Funds {
    cash: i64,
    held: i64,
    credit_limit: i64,
    credit_used: i64,
    debt: i64,
}

impl Funds {
    fn available(&self) -> i64 {
        self.cash - self.held
    }

    fn credit_left(&self) -> i64 {
        (self.credit_limit - self.credit_used).max(0)
    }

    /// Incoming money repays debt first (SPEC 1.3); partners never have debt.
    fn receive(&mut self, amount: i64) {
        let repaid = amount.min(self.debt);
        self.debt -= repaid;
        self.cash += amount - repaid;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PartnerKind {
    Distributor,
    Reseller,
    SolutionProvider,
}

impl PartnerKind {
    fn name(self) -> &'static str {
        match self {
            PartnerKind::Distributor => "distributor",
            PartnerKind::Reseller => "reseller",
            PartnerKind::SolutionProvider => "solution_provider",
        }
    }

    fn label(self) -> &'static str {
        match self {
            PartnerKind::SolutionProvider => "solution provider",
            kind => kind.name(),
        }
    }
}

struct Partner {
    id: String,
    kind: PartnerKind,
    parent: Option<usize>,
    funds: Funds,
    customers: Vec<usize>,
    /// Bills this partner paid (for its resale customers): what it can invoice.
    bills: Vec<usize>,
    voucher_quota: Option<usize>,
    cash_quota: Option<usize>,
}

struct Customer {
    id: String,
    partner: usize,
    resale: bool,
    enterprise: bool,
    /// A resale customer its partner is slow to top up: it stays in debt longer.
    neglected: bool,
    whitelisted: bool,
    /// Typical on-demand usage per day in fen; 0 for customers without on-demand services.
    usage_per_day: i64,
    signup_day: u32,
    funds: Funds,
    coupons: Vec<usize>,
    orders: Vec<usize>,
    bills: Vec<usize>,
}

struct Quota {
    id: String,
    owner: usize,
    balance: i64,
    /// The distributor quota it was issued from; `None` for the platform's.
    source: Option<usize>,
    reclaimed: bool,
}

struct Coupon {
    id: String,
    customer: usize,
    quota: usize,
    remaining: i64,
    services: Option<Vec<&'static str>>,
    valid_until: i64,
    /// Reclaimed or swept: no longer live whatever the time.
    ended: bool,
}

impl Coupon {
    fn usable(&self, at: i64) -> bool {
        !self.ended && self.remaining > 0 && at < self.valid_until
    }

    fn covers(&self, service: &str) -> bool {
        self.services.as_ref().is_none_or(|services| services.contains(&service))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OrderStatus {
    Pending,
    Paid,
    Cancelled,
    Unsubscribed,
}

struct Order {
    id: String,
    customer: usize,
    amount: i64,
    service: &'static str,
    pay_deadline: i64,
    status: OrderStatus,
    payer: Option<Who>,
    paid_cash: i64,
    paid_credit: i64,
    bill: Option<usize>,
}

/// One order, or the orders of a combined order (paid and cancelled together).
#[derive(Clone)]
struct Purchase {
    /// The id to pay or cancel by: the order's, or the combined order's.
    id: String,
    customer: usize,
    orders: Vec<usize>,
}

struct Bill {
    at: i64,
    invoiceable: i64,
    invoiced: i64,
}

impl Bill {
    fn remaining(&self) -> i64 {
        self.invoiceable - self.invoiced
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WithdrawalStatus {
    Pending,
    Approved,
    Rejected,
    Deleted,
}

struct Withdrawal {
    id: String,
    who: Who,
    amount: i64,
    day: u32,
    status: WithdrawalStatus,
}

struct Invoice {
    id: String,
    who: Who,
    amount: i64,
    day: u32,
    matched: Vec<(usize, i64)>,
}

#[derive(Default)]
struct PlatformBooks {
    bank: i64,
    revenue: i64,
    coupon_issuance: i64,
    coupon_redeemed: i64,
    coupon_expired: i64,
}

#[derive(Default)]
struct Model {
    platform: PlatformBooks,
    partners: Vec<Partner>,
    customers: Vec<Customer>,
    quotas: Vec<Quota>,
    coupons: Vec<Coupon>,
    orders: Vec<Order>,
    bills: Vec<Bill>,
    withdrawals: Vec<Withdrawal>,
    invoices: Vec<Invoice>,
}

/// How a payment is drawn, per order: (coupon, cash, credit); and what each listed coupon gives.
struct Draw {
    orders: Vec<(i64, i64, i64)>,
    coupons: Vec<i64>,
}

impl Model {
    fn funds(&self, who: Who) -> &Funds {
        match who {
            Who::Partner(index) => &self.partners[index].funds,
            Who::Customer(index) => &self.customers[index].funds,
        }
    }

    fn funds_mut(&mut self, who: Who) -> &mut Funds {
        match who {
            Who::Partner(index) => &mut self.partners[index].funds,
            Who::Customer(index) => &mut self.customers[index].funds,
        }
    }

    fn bills_of(&self, who: Who) -> &[usize] {
        match who {
            Who::Partner(index) => &self.partners[index].bills,
            Who::Customer(index) => &self.customers[index].bills,
        }
    }

    fn party(&self, who: Who) -> String {
        match who {
            Who::Partner(index) => format!("partner:{}", self.partners[index].id),
            Who::Customer(index) => format!("customer:{}", self.customers[index].id),
        }
    }

    fn partner_party(&self, partner: usize) -> String {
        self.party(Who::Partner(partner))
    }

    fn add_bill(&mut self, payer: Who, at: i64, invoiceable: i64) -> usize {
        self.bills.push(Bill { at, invoiceable, invoiced: 0 });
        let bill = self.bills.len() - 1;
        match payer {
            Who::Partner(index) => self.partners[index].bills.push(bill),
            Who::Customer(index) => self.customers[index].bills.push(bill),
        }
        bill
    }

    /// The coupons, cash and credit a payment takes (SPEC 3, draw order), or the shortfall.
    fn draw(&self, purchase: &Purchase, coupons: &[usize], payer: Who) -> Result<Draw, i64> {
        let mut coupon_left: Vec<i64> = coupons.iter().map(|&coupon| self.coupons[coupon].remaining).collect();
        let funds = self.funds(payer);
        let (mut cash_left, mut credit_left) = (funds.available().max(0), funds.credit_left());
        let mut shortfall = 0;
        let mut orders = Vec::with_capacity(purchase.orders.len());
        for &order in &purchase.orders {
            let order = &self.orders[order];
            let (mut need, mut coupon_part) = (order.amount, 0);
            for (index, &coupon) in coupons.iter().enumerate() {
                let take = need.min(coupon_left[index]);
                if self.coupons[coupon].covers(order.service) && take > 0 {
                    coupon_left[index] -= take;
                    need -= take;
                    coupon_part += take;
                }
            }
            let cash = need.min(cash_left);
            cash_left -= cash;
            let credit = (need - cash).min(credit_left);
            credit_left -= credit;
            shortfall += need - cash - credit;
            orders.push((coupon_part, cash, credit));
        }
        if shortfall > 0 {
            return Err(shortfall);
        }
        let coupons = coupons.iter().zip(coupon_left).map(|(&coupon, left)| self.coupons[coupon].remaining - left).collect();
        Ok(Draw { orders, coupons })
    }

    /// What `pay_order` must answer, checked in the engine's precedence.
    fn pay_expectation(&self, purchase: &Purchase, coupons: &[usize], payer: Who, at: i64) -> Expect {
        let orders = purchase.orders.iter().map(|&order| &self.orders[order]);
        if orders.clone().any(|order| order.status != OrderStatus::Pending) {
            return Expect::Fail("order_state");
        }
        if orders.clone().any(|order| at > order.pay_deadline) {
            return Expect::Fail("order_expired");
        }
        for &coupon in coupons {
            let coupon = &self.coupons[coupon];
            let covers = orders.clone().any(|order| coupon.covers(order.service));
            if coupon.customer != purchase.customer || !coupon.usable(at) || !covers {
                return Expect::Fail("coupon_not_usable");
            }
        }
        match self.draw(purchase, coupons, payer) {
            Ok(_) => Expect::Ok,
            Err(_) => Expect::Fail("insufficient_funds"),
        }
    }

    fn apply_payment(&mut self, purchase: &Purchase, coupons: &[usize], payer: Who, at: i64) {
        let draw = self.draw(purchase, coupons, payer).expect("the payment was expected to succeed");
        for (&coupon, taken) in coupons.iter().zip(&draw.coupons) {
            self.coupons[coupon].remaining -= taken;
            self.platform.coupon_redeemed += taken;
        }
        for (&order, &(_, cash, credit)) in purchase.orders.iter().zip(&draw.orders) {
            let funds = self.funds_mut(payer);
            funds.cash -= cash;
            funds.credit_used += credit;
            self.platform.revenue += cash + credit;
            let bill = self.add_bill(payer, at, cash + credit);
            let order = &mut self.orders[order];
            order.status = OrderStatus::Paid;
            order.payer = Some(payer);
            order.paid_cash = cash;
            order.paid_credit = credit;
            order.bill = Some(bill);
        }
    }

    fn unsubscribe_expectation(&self, order: usize, refund: i64) -> Expect {
        let order = &self.orders[order];
        if order.status != OrderStatus::Paid {
            return Expect::Fail("order_state");
        }
        if order.bill.is_some_and(|bill| self.bills[bill].invoiced != 0) {
            return Expect::Fail("already_invoiced");
        }
        if refund > order.paid_cash + order.paid_credit {
            return Expect::Fail("refund_exceeds_paid");
        }
        Expect::Ok
    }

    /// The refund goes back to the payer: its credit first (up to what this order drew and what
    /// is in use), then cash, debt first.
    fn apply_refund(&mut self, order: usize, refund: i64, at: i64) {
        let (payer, paid_credit) = {
            let order = &mut self.orders[order];
            order.status = OrderStatus::Unsubscribed;
            (order.payer.expect("a paid order has a payer"), order.paid_credit)
        };
        let funds = self.funds_mut(payer);
        let to_credit = refund.min(paid_credit).min(funds.credit_used.max(0));
        funds.credit_used -= to_credit;
        funds.receive(refund - to_credit);
        self.platform.revenue -= refund;
        self.add_bill(payer, at, -refund);
    }

    /// Usage: cash, then credit, and the rest becomes debt. Returns the debt it created.
    fn apply_usage(&mut self, customer: usize, amount: i64, at: i64) -> i64 {
        let funds = &mut self.customers[customer].funds;
        let cash = amount.min(funds.available().max(0));
        let credit = (amount - cash).min(funds.credit_left());
        let debt = amount - cash - credit;
        funds.cash -= cash;
        funds.credit_used += credit;
        funds.debt += debt;
        self.platform.revenue += amount;
        self.add_bill(Who::Customer(customer), at, amount);
        debt
    }

    fn invoiceable_total(&self, who: Who) -> i64 {
        self.bills_of(who).iter().map(|&bill| self.bills[bill].remaining()).sum()
    }

    /// SPEC 5: every negative item in full, then positive items oldest first, the last in part.
    /// A party's bills are kept in time order, and bills of the same instant (the orders of one
    /// combined order) in id order, which is the matching's order.
    fn match_invoice(&self, who: Who, amount: i64) -> Vec<(usize, i64)> {
        let bills = self.bills_of(who);
        let mut matched: Vec<(usize, i64)> =
            bills.iter().map(|&bill| (bill, self.bills[bill].remaining())).filter(|&(_, remaining)| remaining < 0).collect();
        let mut needed = amount - matched.iter().map(|&(_, remaining)| remaining).sum::<i64>();
        for &bill in bills {
            let remaining = self.bills[bill].remaining();
            if needed <= 0 {
                break;
            }
            if remaining > 0 {
                let take = remaining.min(needed);
                matched.push((bill, take));
                needed -= take;
            }
        }
        debug_assert_eq!(needed, 0, "an invoice is only sent when it can be matched");
        debug_assert!(bills.windows(2).all(|pair| self.bills[pair[0]].at <= self.bills[pair[1]].at));
        matched
    }

    /// What a partner may withdraw: its available cash less the debt of its resale customers.
    fn withdrawable(&self, who: Who) -> i64 {
        let debt: i64 = match who {
            Who::Partner(partner) => self.partners[partner]
                .customers
                .iter()
                .map(|&customer| &self.customers[customer])
                .filter(|customer| customer.resale)
                .map(|customer| customer.funds.debt)
                .sum(),
            Who::Customer(_) => 0,
        };
        self.funds(who).available() - debt
    }

    /// Where a reclaimed quota's or coupon's value goes: the first source quota still live, else
    /// the platform's `coupon_issuance` (`None`).
    fn reclaim_destination(&self, quota: usize) -> Option<usize> {
        let mut current = quota;
        while self.quotas[current].reclaimed {
            current = self.quotas[current].source?;
        }
        Some(current)
    }

    fn return_coupon_value(&mut self, destination: Option<usize>, amount: i64) {
        match destination {
            Some(quota) => self.quotas[quota].balance += amount,
            None => self.platform.coupon_issuance += amount,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The script: request lines with what each must answer, and what the summary counts it as.

/// What the ledger must answer to one line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Ok,
    Duplicate,
    Fail(&'static str),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Ok => formatter.write_str("committed"),
            Expect::Duplicate => formatter.write_str("a duplicate"),
            Expect::Fail(code) => write!(formatter, "error {code}"),
        }
    }
}

/// What a committed line counts as in the summary, beyond what its result says.
#[derive(Clone, Copy, Debug)]
enum Tag {
    Other,
    Customer { partner: usize, resale: bool },
    Recharge,
    Compensation,
    Allocate { partner: usize, to_customer: bool, on_behalf: bool, amount: i64 },
    FundResellers { amount: i64 },
    Recover { partner: usize, on_behalf: bool, amount: i64 },
    Quota { by_platform: bool, amount: i64 },
    Coupon { voucher: bool, amount: i64 },
    Place { amount: i64 },
    Pay { partner: usize, by_partner: bool },
    Withdrawal { amount: i64 },
    InvoiceReturn { amount: i64 },
}

#[derive(Clone, Copy)]
struct Meta {
    expect: Expect,
    tag: Tag,
}

struct Script {
    lines: Vec<String>,
    metas: Vec<Meta>,
    /// The `at` of the last line, in milliseconds.
    clock: i64,
    /// Milliseconds between two lines.
    step: i64,
}

impl Script {
    /// The `at` the next line will carry.
    fn now(&self) -> i64 {
        self.clock + self.step
    }

    fn start_day(&mut self, day: u32) {
        self.clock = self.clock.max(day_start(day) - self.step);
    }

    /// Moves the clock so the next line is at `millis` (or later, if the clock is past it).
    fn wait_until(&mut self, millis: i64) {
        self.clock = self.clock.max(millis - self.step);
    }

    fn push(&mut self, actor: &str, mut command: Value, expect: Expect, tag: Tag) -> usize {
        self.clock += self.step;
        command["id"] = json!(format!("req-{:07}", self.lines.len() + 1));
        command["actor"] = json!(actor);
        command["at"] = json!(time(self.clock));
        self.lines.push(command.to_string());
        self.metas.push(Meta { expect, tag });
        self.lines.len() - 1
    }

    /// Sends line `index` again, unchanged: a client retrying after a lost answer.
    fn resend(&mut self, index: usize) {
        self.lines.push(self.lines[index].clone());
        self.metas.push(Meta { expect: Expect::Duplicate, tag: Tag::Other });
    }
}

// ---------------------------------------------------------------------------------------------
// The commands: each computes its expected answer from the bookkeeping, sends the line, and
// books the effect when it is expected to commit.

/// Who pays an order: the customer itself, or its partner (acted for by `actor`, the partner or
/// its distributor).
#[derive(Clone, Copy)]
enum PayBy {
    Customer,
    Partner { actor: usize },
}

/// Sequence numbers of the ids the script makes up.
#[derive(Default)]
struct Counters {
    order: usize,
    combined: usize,
    coupon: usize,
    withdrawal: usize,
    invoice: usize,
}

struct Demo {
    rng: Rng,
    model: Model,
    script: Script,
    counters: Counters,
    /// Purchases to pay on a later day: (day, purchase).
    deferred: Vec<(u32, Purchase)>,
    /// Rejected withdrawals their requester deletes: (day, withdrawal).
    deletions: Vec<(u32, usize)>,
    /// The refusals provoked so far, by error code.
    refusals: BTreeMap<&'static str, u64>,
}

impl Demo {
    fn send(&mut self, actor: &str, command: Value, expect: Expect, tag: Tag) -> Expect {
        let retried = expect == Expect::Ok && matches!(command["op"].as_str(), Some("allocate" | "pay_order" | "consume" | "recharge"));
        if let Expect::Fail(code) = expect {
            *self.refusals.entry(code).or_default() += 1;
        }
        let index = self.script.push(actor, command, expect, tag);
        if retried && self.rng.chance(3) {
            self.script.resend(index);
        }
        expect
    }

    /// The partner itself or, for a reseller, now and then its distributor acting on its behalf.
    fn acting_for(&mut self, partner: usize, per_mille: u64) -> usize {
        match self.model.partners[partner].parent {
            Some(parent) if self.rng.chance(per_mille) => parent,
            _ => partner,
        }
    }

    fn customer_party(&self, customer: usize) -> String {
        self.model.party(Who::Customer(customer))
    }

    fn recharge(&mut self, who: Who, amount: i64) {
        let command = json!({"op": "recharge", "party": self.model.party(who), "amount": money(amount)});
        self.send("platform", command, Expect::Ok, Tag::Recharge);
        self.model.platform.bank -= amount;
        self.model.funds_mut(who).receive(amount);
    }

    fn allocate(&mut self, actor: usize, partner: usize, to: Who, amount: i64, memo: &str) -> Expect {
        let expect = match to {
            Who::Customer(customer) if self.model.customers[customer].partner != partner => Expect::Fail("not_your_customer"),
            Who::Customer(customer) if !self.model.customers[customer].resale => Expect::Fail("not_resale_customer"),
            _ if self.model.partners[partner].funds.available() < amount => Expect::Fail("insufficient_funds"),
            _ => Expect::Ok,
        };
        let mut command = json!({"op": "allocate", "to": self.model.party(to), "amount": money(amount), "memo": memo});
        if actor != partner {
            command["partner"] = json!(self.model.partners[partner].id);
        }
        let tag = Tag::Allocate { partner, to_customer: matches!(to, Who::Customer(_)), on_behalf: actor != partner, amount };
        let actor = self.model.partner_party(actor);
        self.send(&actor, command, expect, tag);
        if expect == Expect::Ok {
            self.model.partners[partner].funds.cash -= amount;
            self.model.funds_mut(to).receive(amount);
        }
        expect
    }

    fn recover(&mut self, customer: usize, amount: i64, memo: &str) {
        let partner = self.model.customers[customer].partner;
        let actor = self.acting_for(partner, 250);
        let expect =
            if self.model.customers[customer].funds.available() < amount { Expect::Fail("insufficient_funds") } else { Expect::Ok };
        let mut command = json!({"op": "recover", "from": self.customer_party(customer), "amount": money(amount), "memo": memo});
        if actor != partner {
            command["partner"] = json!(self.model.partners[partner].id);
        }
        let on_behalf = actor != partner;
        let actor = self.model.partner_party(actor);
        self.send(&actor, command, expect, Tag::Recover { partner, on_behalf, amount });
        if expect == Expect::Ok {
            self.model.customers[customer].funds.cash -= amount;
            self.model.partners[partner].funds.cash += amount;
        }
    }

    /// A distributor funds several of its resellers in one atomic group: all or none.
    fn fund_resellers(&mut self, distributor: usize, grants: &[(usize, i64)]) {
        let total: i64 = grants.iter().map(|&(_, amount)| amount).sum();
        let commands: Vec<Value> = grants
            .iter()
            .map(|&(reseller, amount)| json!({"op": "allocate", "to": self.model.partner_party(reseller), "amount": money(amount), "memo": "weekly reseller funding"}))
            .collect();
        let expect =
            if self.model.partners[distributor].funds.available() < total { Expect::Fail("insufficient_funds") } else { Expect::Ok };
        let actor = self.model.partner_party(distributor);
        self.send(&actor, json!({"op": "atomic", "commands": commands}), expect, Tag::FundResellers { amount: total });
        if expect == Expect::Ok {
            for &(reseller, amount) in grants {
                self.model.partners[distributor].funds.cash -= amount;
                self.model.partners[reseller].funds.cash += amount;
            }
        }
    }

    fn set_credit_limit(&mut self, who: Who, limit: i64) {
        let command = json!({"op": "set_credit_limit", "party": self.model.party(who), "limit": money(limit)});
        self.send("platform", command, Expect::Ok, Tag::Other);
        self.model.funds_mut(who).credit_limit = limit;
    }

    fn repay_credit(&mut self, who: Who, actor: &str, amount: i64) {
        let command = json!({"op": "repay_credit", "party": self.model.party(who), "amount": money(amount)});
        self.send(actor, command, Expect::Ok, Tag::Other);
        let funds = self.model.funds_mut(who);
        debug_assert!(amount <= funds.credit_used && amount <= funds.available());
        funds.cash -= amount;
        funds.credit_used -= amount;
    }

    fn compensate(&mut self, who: Who, amount: i64, reason: &str) {
        let command =
            json!({"op": "adjust", "party": self.model.party(who), "direction": "compensate", "amount": money(amount), "reason": reason});
        let at = self.script.now();
        self.send("platform", command, Expect::Ok, Tag::Compensation);
        self.model.platform.revenue -= amount;
        self.model.funds_mut(who).receive(amount);
        self.model.add_bill(who, at, -amount);
    }

    fn deduct(&mut self, who: Who, amount: i64, reason: &str) {
        let command =
            json!({"op": "adjust", "party": self.model.party(who), "direction": "deduct", "amount": money(amount), "reason": reason});
        let expect = if self.model.funds(who).available() < amount { Expect::Fail("insufficient_funds") } else { Expect::Ok };
        let at = self.script.now();
        self.send("platform", command, expect, Tag::Other);
        if expect == Expect::Ok {
            self.model.platform.revenue += amount;
            self.model.funds_mut(who).cash -= amount;
            self.model.add_bill(who, at, amount);
        }
    }
}

// Coupons.
impl Demo {
    fn issue_quota(&mut self, partner: usize, voucher: bool, amount: i64, source: Option<usize>) -> usize {
        let kind = if voucher { "voucher" } else { "cash_coupon" };
        let id = format!("q-{}-{kind}", self.model.partners[partner].id);
        let mut command = json!({"op": "issue_quota", "quota": id, "partner": self.model.partners[partner].id, "kind": kind,
            "amount": money(amount), "valid_from": time(MONTH_START), "valid_until": time(QUOTA_UNTIL)});
        let actor = match source {
            Some(source) => {
                command["from_quota"] = json!(self.model.quotas[source].id);
                self.model.quotas[source].balance -= amount;
                self.model.partner_party(self.model.quotas[source].owner)
            }
            None => {
                self.model.platform.coupon_issuance -= amount;
                "platform".to_owned()
            }
        };
        debug_assert!(source.is_none_or(|source| self.model.quotas[source].balance >= 0));
        self.send(&actor, command, Expect::Ok, Tag::Quota { by_platform: source.is_none(), amount });
        self.model.quotas.push(Quota { id, owner: partner, balance: amount, source, reclaimed: false });
        self.model.quotas.len() - 1
    }

    fn reclaim_quota(&mut self, quota: usize) {
        let source = self.model.quotas[quota].source;
        let issuer = source.map_or_else(|| "platform".to_owned(), |source| self.model.partner_party(self.model.quotas[source].owner));
        let destination = source.and_then(|source| self.model.reclaim_destination(source));
        self.send(&issuer, json!({"op": "reclaim_quota", "quota": self.model.quotas[quota].id}), Expect::Ok, Tag::Other);
        let remaining = std::mem::take(&mut self.model.quotas[quota].balance);
        self.model.quotas[quota].reclaimed = true;
        self.model.return_coupon_value(destination, remaining);
    }

    fn whitelist(&mut self, customer: usize) {
        let actor = self.acting_for(self.model.customers[customer].partner, 300);
        let actor = self.model.partner_party(actor);
        self.send(&actor, json!({"op": "whitelist_customer", "customer": self.model.customers[customer].id}), Expect::Ok, Tag::Other);
        self.model.customers[customer].whitelisted = true;
    }

    /// Issues a coupon from the partner's quota of that kind, when it still holds enough.
    fn issue_coupon(&mut self, customer: usize, voucher: bool, face_value: i64) {
        let partner = self.model.customers[customer].partner;
        let quota = if voucher { self.model.partners[partner].voucher_quota } else { self.model.partners[partner].cash_quota };
        let Some(quota) = quota.filter(|&quota| self.model.quotas[quota].balance >= face_value && !self.model.quotas[quota].reclaimed)
        else {
            return;
        };
        debug_assert!(voucher || self.model.customers[customer].whitelisted);
        self.counters.coupon += 1;
        let id = format!("cpn-{:06}", self.counters.coupon);
        let mut command = json!({"op": "issue_coupon", "coupon": id, "quota": self.model.quotas[quota].id,
            "customer": self.model.customers[customer].id, "face_value": money(face_value)});
        let promotion = self.rng.chance(300);
        if promotion {
            command["valid_until"] = json!(time(PROMO_UNTIL));
        }
        let services = voucher.then(|| self.pick_services());
        if let Some(services) = &services {
            command["services"] = json!(services);
        }
        let actor = self.acting_for(partner, 300);
        let actor = self.model.partner_party(actor);
        self.send(&actor, command, Expect::Ok, Tag::Coupon { voucher, amount: face_value });
        self.model.quotas[quota].balance -= face_value;
        let valid_until = if promotion { PROMO_UNTIL } else { QUOTA_UNTIL };
        self.model.coupons.push(Coupon { id, customer, quota, remaining: face_value, services, valid_until, ended: false });
        self.model.customers[customer].coupons.push(self.model.coupons.len() - 1);
    }

    /// One to three distinct services.
    fn pick_services(&mut self) -> Vec<&'static str> {
        let mut services = SERVICES.to_vec();
        self.rng.shuffle(&mut services);
        services.truncate(self.rng.range(1, 3) as usize);
        services
    }

    fn reclaim_coupon(&mut self, coupon: usize) {
        let quota = self.model.coupons[coupon].quota;
        let actor = self.acting_for(self.model.quotas[quota].owner, 300);
        let customer = &self.model.customers[self.model.coupons[coupon].customer];
        let expect = if self.model.coupons[coupon].usable(self.script.now()) && customer.resale {
            Expect::Ok
        } else {
            Expect::Fail("coupon_not_reclaimable")
        };
        let actor = self.model.partner_party(actor);
        self.send(&actor, json!({"op": "reclaim_coupon", "coupon": self.model.coupons[coupon].id}), expect, Tag::Other);
        if expect == Expect::Ok {
            let destination = self.model.reclaim_destination(quota);
            let coupon = &mut self.model.coupons[coupon];
            coupon.ended = true;
            let remaining = std::mem::take(&mut coupon.remaining);
            self.model.return_coupon_value(destination, remaining);
        }
    }

    fn expire_coupons(&mut self) {
        let at = self.script.now();
        self.send("platform", json!({"op": "expire_coupons"}), Expect::Ok, Tag::Other);
        for coupon in &mut self.model.coupons {
            if !coupon.ended && coupon.valid_until <= at && coupon.remaining > 0 {
                coupon.ended = true;
                self.model.platform.coupon_expired += std::mem::take(&mut coupon.remaining);
            }
        }
    }
}

// Orders and usage.
impl Demo {
    /// Places one order, or a combined order of `count` orders.
    fn place(&mut self, customer: usize, count: usize, short_deadline: bool) -> Purchase {
        let at = self.script.now();
        let pay_deadline = if short_deadline { at + DAY } else { at + 7 * DAY };
        let (mut orders, mut lines, mut total) = (Vec::new(), Vec::new(), 0);
        for _ in 0..count {
            self.counters.order += 1;
            let id = format!("ord-{:07}", self.counters.order);
            let amount = self.order_amount(customer);
            let service = SERVICES[self.rng.index(SERVICES.len())];
            let kind = ["new", "new", "new", "renew", "renew", "change"][self.rng.index(6)];
            lines.push(json!({"order": id, "amount": money(amount), "kind": kind, "service": service}));
            self.model.orders.push(Order {
                id,
                customer,
                amount,
                service,
                pay_deadline,
                status: OrderStatus::Pending,
                payer: None,
                paid_cash: 0,
                paid_credit: 0,
                bill: None,
            });
            orders.push(self.model.orders.len() - 1);
            total += amount;
        }
        self.model.customers[customer].orders.extend(&orders);
        let customer_id = self.model.customers[customer].id.clone();
        let (id, command) = if count == 1 {
            let mut command = lines.pop().expect("one order");
            command["op"] = json!("place_order");
            command["customer"] = json!(customer_id);
            if short_deadline {
                command["pay_deadline"] = json!(time(pay_deadline));
            }
            (self.model.orders[orders[0]].id.clone(), command)
        } else {
            self.counters.combined += 1;
            let id = format!("cmb-{:06}", self.counters.combined);
            (id.clone(), json!({"op": "place_combined_order", "combined": id, "customer": customer_id, "orders": lines}))
        };
        let actor = if self.rng.chance(100) { "platform".to_owned() } else { self.customer_party(customer) };
        self.send(&actor, command, Expect::Ok, Tag::Place { amount: total });
        Purchase { id, customer, orders }
    }

    /// Mostly small orders, some large; enterprise customers buy bigger.
    fn order_amount(&mut self, customer: usize) -> i64 {
        let amount = match self.rng.below(100) {
            0..50 => self.rng.yuan(20, 200),
            50..85 => self.rng.yuan(200, 1000),
            _ => self.rng.yuan(1000, 5000),
        };
        if self.model.customers[customer].enterprise { amount * 3 } else { amount }
    }

    fn pay(&mut self, purchase: &Purchase, coupons: &[usize], by: PayBy) -> Expect {
        let customer = purchase.customer;
        let partner = self.model.customers[customer].partner;
        let (payer, actor) = match by {
            PayBy::Customer => (Who::Customer(customer), self.customer_party(customer)),
            PayBy::Partner { actor } => (Who::Partner(partner), self.model.partner_party(actor)),
        };
        let at = self.script.now();
        let expect = self.model.pay_expectation(purchase, coupons, payer, at);
        let mut command = json!({"op": "pay_order", "order": purchase.id});
        if !coupons.is_empty() {
            command["coupons"] = json!(coupons.iter().map(|&coupon| self.model.coupons[coupon].id.as_str()).collect::<Vec<_>>());
        }
        if matches!(by, PayBy::Partner { .. }) {
            command["payer"] = json!("partner");
        }
        self.send(&actor, command, expect, Tag::Pay { partner, by_partner: matches!(by, PayBy::Partner { .. }) });
        if expect == Expect::Ok {
            self.model.apply_payment(purchase, coupons, payer, at);
        }
        expect
    }

    fn pay_by_partner(&mut self, purchase: &Purchase) -> Expect {
        let actor = self.acting_for(self.model.customers[purchase.customer].partner, 300);
        self.pay(purchase, &[], PayBy::Partner { actor })
    }

    fn cancel(&mut self, purchase: &Purchase) {
        let pending = purchase.orders.iter().all(|&order| self.model.orders[order].status == OrderStatus::Pending);
        let expect = if pending { Expect::Ok } else { Expect::Fail("order_state") };
        let actor = if self.rng.chance(100) { "platform".to_owned() } else { self.customer_party(purchase.customer) };
        self.send(&actor, json!({"op": "cancel_order", "order": purchase.id}), expect, Tag::Other);
        if expect == Expect::Ok {
            for &order in &purchase.orders {
                self.model.orders[order].status = OrderStatus::Cancelled;
            }
        }
    }

    fn unsubscribe(&mut self, order: usize, refund: i64) {
        let expect = self.model.unsubscribe_expectation(order, refund);
        let customer = self.model.orders[order].customer;
        let actor = if self.rng.chance(200) { "platform".to_owned() } else { self.customer_party(customer) };
        let at = self.script.now();
        let command = json!({"op": "unsubscribe", "order": self.model.orders[order].id, "refund": money(refund)});
        self.send(&actor, command, expect, Tag::Other);
        if expect == Expect::Ok {
            self.model.apply_refund(order, refund, at);
        }
    }

    /// On-demand usage of `units` (10^-8 yuan): the ledger charges it truncated to the fen.
    fn consume(&mut self, customer: usize, units: i64) {
        let units = units.max(1_000_000);
        let service = SERVICES[self.rng.index(SERVICES.len())];
        let command =
            json!({"op": "consume", "customer": self.model.customers[customer].id, "amount": usage_amount(units), "service": service});
        let at = self.script.now();
        self.send("platform", command, Expect::Ok, Tag::Other);
        self.model.apply_usage(customer, units / 1_000_000, at);
    }
}

// Withdrawals and invoices.
impl Demo {
    fn request_withdrawal(&mut self, who: Who, amount: i64, day: u32) {
        let resale = matches!(who, Who::Customer(customer) if self.model.customers[customer].resale);
        let expect = if resale {
            Expect::Fail("resale_customer")
        } else if amount > self.model.withdrawable(who) {
            Expect::Fail("insufficient_funds")
        } else {
            Expect::Ok
        };
        self.counters.withdrawal += 1;
        let id = format!("wd-{:05}", self.counters.withdrawal);
        let party = self.model.party(who);
        let command = json!({"op": "request_withdrawal", "withdrawal": id, "party": party, "amount": money(amount)});
        self.send(&party, command, expect, Tag::Withdrawal { amount });
        if expect == Expect::Ok {
            self.model.funds_mut(who).held += amount;
            self.model.withdrawals.push(Withdrawal { id, who, amount, day, status: WithdrawalStatus::Pending });
        }
    }

    /// The platform handles the requests of earlier days; rejected ones are sometimes deleted by
    /// their requester the next day.
    fn process_withdrawals(&mut self, day: u32) {
        for index in 0..self.model.withdrawals.len() {
            let withdrawal = &self.model.withdrawals[index];
            if withdrawal.status != WithdrawalStatus::Pending || withdrawal.day >= day {
                continue;
            }
            let (id, who, amount) = (withdrawal.id.clone(), withdrawal.who, withdrawal.amount);
            let tag = Tag::Withdrawal { amount };
            if self.rng.chance(750) {
                self.send("platform", json!({"op": "approve_withdrawal", "withdrawal": id}), Expect::Ok, tag);
                let funds = self.model.funds_mut(who);
                funds.held -= amount;
                funds.cash -= amount;
                self.model.platform.bank += amount;
                self.model.withdrawals[index].status = WithdrawalStatus::Approved;
            } else {
                let command =
                    json!({"op": "reject_withdrawal", "withdrawal": id, "reason": "bank account name does not match the partner's"});
                self.send("platform", command, Expect::Ok, tag);
                self.model.funds_mut(who).held -= amount;
                self.model.withdrawals[index].status = WithdrawalStatus::Rejected;
                if self.rng.chance(500) {
                    self.deletions.push((day + 1, index));
                }
            }
        }
        let due: Vec<usize> = self.deletions.iter().filter(|&&(on, _)| on == day).map(|&(_, index)| index).collect();
        for index in due {
            let withdrawal = &self.model.withdrawals[index];
            let (party, amount) = (self.model.party(withdrawal.who), withdrawal.amount);
            self.send(&party, json!({"op": "delete_withdrawal", "withdrawal": withdrawal.id}), Expect::Ok, Tag::Withdrawal { amount });
            self.model.withdrawals[index].status = WithdrawalStatus::Deleted;
        }
    }

    fn request_invoice(&mut self, who: Who, amount: i64, day: u32) {
        let expect = if self.model.funds(who).debt > 0 {
            Expect::Fail("debt_outstanding")
        } else if amount > self.model.invoiceable_total(who) {
            Expect::Fail("exceeds_invoiceable")
        } else {
            Expect::Ok
        };
        self.counters.invoice += 1;
        let id = format!("inv-{:05}", self.counters.invoice);
        let party = self.model.party(who);
        let command = json!({"op": "request_invoice", "invoice": id, "party": party, "amount": money(amount)});
        self.send(&party, command, expect, Tag::Other);
        if expect == Expect::Ok {
            let matched = self.model.match_invoice(who, amount);
            for &(bill, amount) in &matched {
                self.model.bills[bill].invoiced += amount;
            }
            self.model.invoices.push(Invoice { id, who, amount, day, matched });
        }
    }

    /// Some of yesterday's invoices come back (wrong title, say): their amounts become invoiceable again.
    fn return_invoices(&mut self, day: u32) {
        for index in 0..self.model.invoices.len() {
            if self.model.invoices[index].day + 1 != day || !self.rng.chance(80) {
                continue;
            }
            let invoice = &self.model.invoices[index];
            let actor = if self.rng.chance(500) { "platform".to_owned() } else { self.model.party(invoice.who) };
            let command = json!({"op": "return_invoice", "invoice": invoice.id});
            self.send(&actor, command, Expect::Ok, Tag::InvoiceReturn { amount: self.model.invoices[index].amount });
            for (bill, amount) in std::mem::take(&mut self.model.invoices[index].matched) {
                self.model.bills[bill].invoiced -= amount;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The month.

impl Demo {
    fn generate(customers: u32, seed: u64) -> Demo {
        // One second between commands, less when there are many customers, so the month holds them.
        let step = (10_000_000 / i64::from(customers.max(1))).clamp(1, 1000);
        let script = Script {
            lines: Vec::with_capacity(customers as usize * 22),
            metas: Vec::with_capacity(customers as usize * 22),
            clock: MONTH_START,
            step,
        };
        let mut demo = Demo {
            rng: Rng(seed),
            model: Model::default(),
            script,
            counters: Counters::default(),
            deferred: Vec::new(),
            deletions: Vec::new(),
            refusals: BTreeMap::new(),
        };
        demo.create_partners();
        demo.create_customers(customers);
        demo.setup();
        for day in 1..=LAST_BUSINESS_DAY {
            demo.business_day(day);
        }
        demo.month_end();
        demo
    }

    fn create_partners(&mut self) {
        let funds = Funds::default();
        let add = |model: &mut Model, id: String, kind, parent| {
            model.partners.push(Partner {
                id,
                kind,
                parent,
                funds,
                customers: Vec::new(),
                bills: Vec::new(),
                voucher_quota: None,
                cash_quota: None,
            });
            model.partners.len() - 1
        };
        for (distributor, resellers) in DISTRIBUTORS {
            let parent = add(&mut self.model, distributor.to_owned(), PartnerKind::Distributor, None);
            for reseller in 1..=resellers {
                add(&mut self.model, format!("{distributor}-R{reseller}"), PartnerKind::Reseller, Some(parent));
            }
        }
        for provider in SOLUTION_PROVIDERS {
            add(&mut self.model, provider.to_owned(), PartnerKind::SolutionProvider, None);
        }
    }

    /// Who the customers are: their partner, resale (85%) or referral, size, usage and signup day.
    fn create_customers(&mut self, count: u32) {
        let weights: Vec<u64> =
            self.model.partners.iter().map(|partner| if partner.kind == PartnerKind::SolutionProvider { 6 } else { 8 }).collect();
        let total: u64 = weights.iter().sum();
        for index in 0..count as usize {
            let mut pick = self.rng.below(total);
            let mut partner = 0;
            while pick >= weights[partner] {
                pick -= weights[partner];
                partner += 1;
            }
            let enterprise = self.rng.chance(50);
            let usage_per_day = if self.rng.chance(500) { self.rng.yuan(2, 60) * if enterprise { 5 } else { 1 } } else { 0 };
            let neglected = self.rng.chance(100);
            let signup_day = if index == 0 || self.rng.chance(600) { 1 } else { self.rng.range(2, i64::from(SIGNUP_LAST_DAY)) as u32 };
            self.model.customers.push(Customer {
                id: format!("C{:06}", index + 1),
                partner,
                resale: self.rng.chance(850),
                enterprise,
                neglected,
                whitelisted: false,
                usage_per_day,
                signup_day,
                funds: Funds::default(),
                coupons: Vec::new(),
                orders: Vec::new(),
                bills: Vec::new(),
            });
            self.model.partners[partner].customers.push(index);
        }
    }

    /// Day 1 before business: partners, their credit lines and coupon quotas.
    fn setup(&mut self) {
        self.script.start_day(1);
        for partner in 0..self.model.partners.len() {
            let record = &self.model.partners[partner];
            let mut command = json!({"op": "register_partner", "partner": record.id, "kind": record.kind.name()});
            if let Some(parent) = record.parent {
                command["parent"] = json!(self.model.partners[parent].id);
            }
            self.send("platform", command, Expect::Ok, Tag::Other);
        }
        for (id, limit) in PARTNER_CREDIT {
            let partner = self.model.partners.iter().position(|partner| partner.id == id).expect("a known partner");
            self.set_credit_limit(Who::Partner(partner), limit * 100);
        }
        for partner in 0..self.model.partners.len() {
            if self.model.partners[partner].parent.is_none() {
                self.issue_quotas(partner);
            }
        }
    }

    /// The platform's quotas for a distributor or solution provider; a distributor passes part
    /// of them on to each of its resellers.
    fn issue_quotas(&mut self, partner: usize) {
        let resellers: Vec<usize> =
            (0..self.model.partners.len()).filter(|&reseller| self.model.partners[reseller].parent == Some(partner)).collect();
        for voucher in [true, false] {
            let size = |demo: &Demo, partner: usize| {
                let resale =
                    demo.model.partners[partner].customers.iter().filter(|&&customer| demo.model.customers[customer].resale).count() as i64;
                if voucher { (resale * 150 + 5_000) * 100 } else { (resale * 80 + 2_000) * 100 }
            };
            let total = size(self, partner) + resellers.iter().map(|&reseller| size(self, reseller)).sum::<i64>();
            let quota = self.issue_quota(partner, voucher, total, None);
            self.set_quota(partner, voucher, quota);
            for &reseller in &resellers {
                let amount = size(self, reseller);
                let quota = self.issue_quota(reseller, voucher, amount, Some(quota));
                self.set_quota(reseller, voucher, quota);
            }
        }
    }

    fn set_quota(&mut self, partner: usize, voucher: bool, quota: usize) {
        let partner = &mut self.model.partners[partner];
        if voucher { partner.voucher_quota = Some(quota) } else { partner.cash_quota = Some(quota) }
    }

    fn business_day(&mut self, day: u32) {
        self.script.start_day(day);
        self.process_withdrawals(day);
        self.return_invoices(day);
        if FUNDING_DAYS.contains(&day) {
            self.fund_partners(day);
        }
        for customer in 0..self.model.customers.len() {
            if self.model.customers[customer].signup_day == day {
                self.sign_up(customer);
            }
        }
        self.deferred_payments(day);
        let mut active: Vec<usize> =
            (0..self.model.customers.len()).filter(|&customer| self.model.customers[customer].signup_day <= day).collect();
        self.rng.shuffle(&mut active);
        for customer in active {
            self.customer_day(customer, day);
        }
        self.special_events(day);
        if day >= INVOICE_FIRST_DAY {
            self.customer_invoices(day);
        }
        if day == LAST_BUSINESS_DAY {
            for partner in 0..self.model.partners.len() {
                let total = self.model.invoiceable_total(Who::Partner(partner));
                if total > 0 {
                    self.request_invoice(Who::Partner(partner), total, day);
                }
            }
        }
    }

    /// What a partner should hold for the next week: welcome budgets for the resale customers
    /// signing up, and a week's top-ups and payments for those already there.
    fn funding_target(&self, partner: usize, day: u32) -> i64 {
        let customers = &self.model.partners[partner].customers;
        let week: i64 = customers
            .iter()
            .map(|&customer| &self.model.customers[customer])
            .filter(|customer| customer.resale && customer.signup_day < day + 7)
            .map(|customer| if customer.signup_day < day { 1_000 } else { 2_000 } * if customer.enterprise { 5 } else { 1 })
            .sum();
        (week + 20_000) * 100
    }

    /// Weekly: the platform recharges partners from the bank, distributors fund their resellers
    /// (one atomic group each), and partners repay the credit they used.
    fn fund_partners(&mut self, day: u32) {
        let round_up = |amount: i64, unit: i64| (amount + unit - 1) / unit * unit;
        for partner in 0..self.model.partners.len() {
            match self.model.partners[partner].kind {
                PartnerKind::Reseller => continue,
                PartnerKind::SolutionProvider => {
                    let need = self.funding_target(partner, day) - self.model.partners[partner].funds.available();
                    if need > 0 {
                        self.recharge(Who::Partner(partner), round_up(need, cny(10_000)));
                    }
                }
                PartnerKind::Distributor => {
                    let grants: Vec<(usize, i64)> = (0..self.model.partners.len())
                        .filter(|&reseller| self.model.partners[reseller].parent == Some(partner))
                        .map(|reseller| (reseller, self.funding_target(reseller, day) - self.model.partners[reseller].funds.available()))
                        .filter(|&(_, need)| need > 0)
                        .map(|(reseller, need)| (reseller, round_up(need, cny(1_000))))
                        .collect();
                    let need = self.funding_target(partner, day) + grants.iter().map(|&(_, amount)| amount).sum::<i64>()
                        - self.model.partners[partner].funds.available();
                    if need > 0 {
                        self.recharge(Who::Partner(partner), round_up(need, cny(10_000)));
                    }
                    if !grants.is_empty() {
                        self.fund_resellers(partner, &grants);
                    }
                }
            }
        }
        for partner in 0..self.model.partners.len() {
            let funds = self.model.partners[partner].funds;
            if funds.credit_used > 0 && funds.available() > funds.credit_used {
                let actor = self.model.partner_party(partner);
                self.repay_credit(Who::Partner(partner), &actor, funds.credit_used);
            }
        }
    }

    /// A new customer: registered by its partner (or the platform, or the reseller's distributor),
    /// funded by its partner (resale) or by recharge (referral), and given coupons.
    fn sign_up(&mut self, customer: usize) {
        let record = &self.model.customers[customer];
        let (partner, resale, scale) = (record.partner, record.resale, if record.enterprise { 5 } else { 1 });
        let command = json!({"op": "register_customer", "customer": record.id, "partner": self.model.partners[partner].id,
            "association": if resale { "resale" } else { "referral" }});
        let actor = if self.rng.chance(200) {
            "platform".to_owned()
        } else {
            let actor = self.acting_for(partner, 150);
            self.model.partner_party(actor)
        };
        self.send(&actor, command, Expect::Ok, Tag::Customer { partner, resale });
        if !resale {
            let amount = self.rng.yuan(200, 5_000) * scale;
            self.recharge(Who::Customer(customer), amount);
            if self.rng.chance(300) {
                let limit = self.rng.range(10, 50) * cny(100) * scale;
                self.set_credit_limit(Who::Customer(customer), limit);
            }
            return;
        }
        let actor = self.acting_for(partner, 250);
        let amount = self.rng.yuan(200, 2_000) * scale;
        self.allocate(actor, partner, Who::Customer(customer), amount, "welcome budget");
        if self.rng.chance(350) {
            let face_value = self.rng.yuan(20, 300) * scale;
            self.issue_coupon(customer, true, face_value);
        }
        if self.rng.chance(150) {
            self.whitelist(customer);
            if self.rng.chance(700) {
                let face_value = self.rng.yuan(50, 500) * scale;
                self.issue_coupon(customer, false, face_value);
            }
        }
    }

    fn customer_day(&mut self, customer: usize, day: u32) {
        let record = &self.model.customers[customer];
        let (usage, resale, enterprise) = (record.usage_per_day, record.resale, record.enterprise);
        if usage > 0 && self.rng.chance(700) {
            // The day's usage: 30% to 170% of the usual, with 8 decimals.
            let units = usage * self.rng.range(30, 170) * 10_000 + self.rng.range(0, 999_999);
            self.consume(customer, units);
        }
        self.top_up(customer);
        if self.rng.chance(if enterprise { 120 } else { 40 }) {
            self.shop(customer, day);
        }
        if self.rng.chance(4) {
            self.unsubscribe_one(customer, false);
        }
        let funds = self.model.customers[customer].funds;
        if !resale {
            if funds.credit_used > 0 && funds.available() > 0 && self.rng.chance(150) {
                let actor = if self.rng.chance(200) { "platform".to_owned() } else { self.customer_party(customer) };
                self.repay_credit(Who::Customer(customer), &actor, funds.available().min(funds.credit_used));
            }
            if funds.available() >= cny(200) && self.rng.chance(3) {
                let amount = funds.available() * self.rng.range(20, 80) / 100;
                self.request_withdrawal(Who::Customer(customer), amount, day);
            }
        } else if funds.available() > cny(1_000) && self.rng.chance(3) {
            let amount = funds.available() * self.rng.range(20, 60) / 100;
            self.recover(customer, amount, "unused budget");
        }
    }

    /// A customer low on money or in debt gets some, now and then: from its partner (resale) or
    /// by recharge (referral). Incoming money repays debt first.
    fn top_up(&mut self, customer: usize) {
        let record = &self.model.customers[customer];
        let (funds, partner, resale, scale) = (record.funds, record.partner, record.resale, if record.enterprise { 5 } else { 1 });
        if funds.available() >= cny(200) && funds.debt == 0 {
            return;
        }
        let attention = if record.neglected { 40 } else { 300 };
        if resale && self.rng.chance(attention) {
            let amount = funds.debt + self.rng.yuan(300, 2_000) * scale;
            if self.rng.chance(20) {
                // Another partner picks the wrong customer: refused, nothing moves.
                let wrong = (partner + 1 + self.rng.index(self.model.partners.len() - 1)) % self.model.partners.len();
                self.allocate(wrong, wrong, Who::Customer(customer), amount, "budget top-up");
            }
            let actor = self.acting_for(partner, 250);
            self.allocate(actor, partner, Who::Customer(customer), amount, "budget top-up");
        } else if !resale && self.rng.chance(350) {
            if self.rng.chance(30) {
                // Its partner tries to fund a referral customer: refused, referral customers pay for themselves.
                self.allocate(partner, partner, Who::Customer(customer), cny(100), "goodwill");
            }
            let amount = funds.debt + self.rng.yuan(200, 2_000) * scale;
            self.recharge(Who::Customer(customer), amount);
        }
    }

    /// A purchase: one order or a combined order of 2–3, paid now, later (some too late), or cancelled.
    fn shop(&mut self, customer: usize, day: u32) {
        let count = if self.rng.chance(200) { self.rng.range(2, 3) as usize } else { 1 };
        let deferred = self.rng.chance(80);
        let short_deadline = deferred && count == 1 && self.rng.chance(400);
        let purchase = self.place(customer, count, short_deadline);
        if deferred {
            let due = day + if short_deadline { self.rng.range(2, 3) } else { self.rng.range(1, 3) } as u32;
            if due <= LAST_BUSINESS_DAY {
                self.deferred.push((due, purchase));
            }
            return;
        }
        if self.rng.chance(20) {
            self.cancel(&purchase);
            return;
        }
        self.checkout(&purchase);
    }

    fn deferred_payments(&mut self, day: u32) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred).into_iter().partition(|&(on, _)| on == day);
        self.deferred = later;
        for (_, purchase) in due {
            let now = self.script.now();
            if purchase.orders.iter().any(|&order| now > self.model.orders[order].pay_deadline) {
                // Too late: refused as order_expired, and the customer cancels it.
                self.pay(&purchase, &[], PayBy::Customer);
                self.cancel(&purchase);
            } else {
                self.checkout(&purchase);
            }
        }
    }

    /// Pays a purchase: a quarter of resale purchases by the partner, the rest by the customer
    /// with its coupons, cash and credit; when that falls short, someone steps in or it is cancelled.
    fn checkout(&mut self, purchase: &Purchase) {
        let resale = self.model.customers[purchase.customer].resale;
        if resale && self.rng.chance(250) && self.pay_by_partner(purchase) == Expect::Ok {
            return;
        }
        let coupons = if resale && self.rng.chance(800) { self.usable_coupons(purchase) } else { Vec::new() };
        // Most customers see they cannot afford it before trying; the others are refused first.
        if self.model.draw(purchase, &coupons, Who::Customer(purchase.customer)).is_err() && self.rng.chance(700) {
            self.short_of_funds(purchase, &coupons);
            return;
        }
        if resale
            && self.rng.chance(60)
            && let Some(unusable) = self.unusable_coupon(purchase)
        {
            // A customer lists a coupon that expired or is for another service: refused, then paid without it.
            let listed: Vec<usize> = std::iter::once(unusable).chain(coupons.iter().copied().take(2)).collect();
            self.pay(purchase, &listed, PayBy::Customer);
        }
        if self.pay(purchase, &coupons, PayBy::Customer) == Expect::Fail("insufficient_funds") {
            self.short_of_funds(purchase, &coupons);
        }
    }

    fn short_of_funds(&mut self, purchase: &Purchase, coupons: &[usize]) {
        let customer = purchase.customer;
        let record = &self.model.customers[customer];
        let (partner, resale) = (record.partner, record.resale);
        let missing = self.model.draw(purchase, coupons, Who::Customer(customer)).err().unwrap_or(0) + record.funds.debt;
        let top_up = missing + self.rng.yuan(50, 500);
        match self.rng.below(10) {
            0..5 if resale => {
                if self.pay_by_partner(purchase) != Expect::Ok {
                    self.cancel(purchase);
                }
            }
            5..8 if resale => {
                let actor = self.acting_for(partner, 250);
                if self.allocate(actor, partner, Who::Customer(customer), top_up, "order top-up") == Expect::Ok {
                    self.pay(purchase, coupons, PayBy::Customer);
                }
            }
            0..5 => {
                self.recharge(Who::Customer(customer), top_up);
                self.pay(purchase, coupons, PayBy::Customer);
            }
            _ => self.cancel(purchase),
        }
    }

    /// Up to 3 usable coupons that cover one of the orders, service-bound vouchers first.
    fn usable_coupons(&self, purchase: &Purchase) -> Vec<usize> {
        let now = self.script.now();
        let mut coupons: Vec<usize> = self.model.customers[purchase.customer]
            .coupons
            .iter()
            .copied()
            .filter(|&coupon| {
                let coupon = &self.model.coupons[coupon];
                coupon.usable(now) && purchase.orders.iter().any(|&order| coupon.covers(self.model.orders[order].service))
            })
            .collect();
        coupons.sort_by_key(|&coupon| self.model.coupons[coupon].services.is_none());
        coupons.truncate(3);
        coupons
    }

    fn unusable_coupon(&self, purchase: &Purchase) -> Option<usize> {
        let now = self.script.now();
        self.model.customers[purchase.customer].coupons.iter().copied().find(|&coupon| {
            let coupon = &self.model.coupons[coupon];
            !coupon.usable(now) || !purchase.orders.iter().any(|&order| coupon.covers(self.model.orders[order].service))
        })
    }

    /// Unsubscribes one of the customer's paid orders (only invoiced ones with `invoiced`, which
    /// the ledger refuses), refunding all or part of what was paid in money.
    fn unsubscribe_one(&mut self, customer: usize, invoiced: bool) -> bool {
        let candidates: Vec<usize> = self.model.customers[customer]
            .orders
            .iter()
            .copied()
            .filter(|&order| {
                let order = &self.model.orders[order];
                let billed = order.bill.is_some_and(|bill| self.model.bills[bill].invoiced != 0);
                order.status == OrderStatus::Paid && order.paid_cash + order.paid_credit > 0 && (!invoiced || billed)
            })
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let order = candidates[self.rng.index(candidates.len())];
        let refundable = self.model.orders[order].paid_cash + self.model.orders[order].paid_credit;
        let refund = if self.rng.chance(600) { refundable } else { self.rng.range(1, refundable) };
        self.unsubscribe(order, refund);
        true
    }

    fn special_events(&mut self, day: u32) {
        let customers = self.model.customers.len();
        let signed_up = |demo: &Demo, customer: usize| demo.model.customers[customer].signup_day <= day;
        match day {
            12 => {
                // An outage: SLA credits for some customers, and a coupon campaign.
                for _ in 0..(customers / 200).max(1) {
                    let customer = self.rng.index(customers);
                    if signed_up(self, customer) {
                        let amount = self.rng.yuan(10, 200);
                        self.compensate(Who::Customer(customer), amount, "SLA credit: ecs outage on 2026-11-11");
                    }
                }
                for customer in 0..customers {
                    if signed_up(self, customer) && self.model.customers[customer].resale && self.rng.chance(100) {
                        let face_value = self.rng.yuan(20, 200);
                        self.issue_coupon(customer, true, face_value);
                    }
                }
            }
            18 => {
                let now = self.script.now();
                for coupon in 0..self.model.coupons.len() {
                    if self.model.coupons[coupon].usable(now) && self.rng.chance(30) {
                        self.reclaim_coupon(coupon);
                    }
                }
            }
            20 => self.partner_day_20(day),
            27 => {
                // A distributor takes back what is left of its last reseller's voucher quota.
                let last_reseller = (0..self.model.partners.len()).rfind(|&partner| self.model.partners[partner].parent == Some(0));
                if let Some(quota) = last_reseller.and_then(|reseller| self.model.partners[reseller].voucher_quota) {
                    self.reclaim_quota(quota);
                }
            }
            28 => {
                for customer in 0..customers {
                    let record = &self.model.customers[customer];
                    if signed_up(self, customer) && record.resale && record.funds.available() > cny(3_000) && self.rng.chance(500) {
                        let amount = record.funds.available() / 2;
                        self.recover(customer, amount, "month-end budget review");
                    }
                }
            }
            _ => {}
        }
    }

    /// Fees deducted from two partners; partners withdraw part of their cash; one reseller asks
    /// for more than it may withdraw (its resale customers' debt is kept back).
    fn partner_day_20(&mut self, day: u32) {
        for id in ["D2", "S1"] {
            let partner = self.model.partners.iter().position(|partner| partner.id == id).expect("a known partner");
            let amount = self.rng.yuan(100, 500);
            self.deduct(Who::Partner(partner), amount, "late payment fee");
        }
        for partner in 0..self.model.partners.len() {
            let who = Who::Partner(partner);
            let withdrawable = self.model.withdrawable(who);
            match self.model.partners[partner].kind {
                PartnerKind::Reseller if partner == 1 => self.request_withdrawal(who, withdrawable.max(0) + cny(1_000), day),
                PartnerKind::Reseller => {}
                _ if withdrawable >= cny(100) => self.request_withdrawal(who, withdrawable / 20, day),
                _ => {}
            }
        }
    }

    /// Late in the month customers ask for invoices; some in debt try and are refused.
    fn customer_invoices(&mut self, day: u32) {
        for customer in 0..self.model.customers.len() {
            if !self.rng.chance(120) {
                continue;
            }
            let who = Who::Customer(customer);
            let total = self.model.invoiceable_total(who);
            if self.model.customers[customer].funds.debt > 0 {
                if self.rng.chance(500) {
                    self.request_invoice(who, total.max(cny(100)), day);
                }
            } else if total > 0 {
                let amount = if self.rng.chance(600) { total } else { self.rng.range(1, total) };
                self.request_invoice(who, amount, day);
            }
        }
    }

    /// Day 30: the last withdrawals and returns, a few refused unsubscriptions of invoiced
    /// orders, and the coupon sweep at 20:00 (UTC+8).
    fn month_end(&mut self) {
        self.script.start_day(MONTH_END_DAY);
        self.process_withdrawals(MONTH_END_DAY);
        self.return_invoices(MONTH_END_DAY);
        self.provoke_missing_refusals(MONTH_END_DAY);
        let mut customers: Vec<usize> = (0..self.model.customers.len()).collect();
        self.rng.shuffle(&mut customers);
        let mut attempts = (customers.len() / 1000).max(2);
        for customer in customers {
            if attempts == 0 {
                break;
            }
            if self.unsubscribe_one(customer, true) {
                attempts -= 1;
            }
        }
        self.script.wait_until(MONTH_START + 29 * DAY + 12 * HOUR);
        self.expire_coupons();
    }
}

// ---------------------------------------------------------------------------------------------
// Running the script, and counting what the ledger answered.

/// A number of things and their total amount in fen.
#[derive(Clone, Copy, Default)]
struct Count {
    count: u64,
    amount: i64,
}

impl Count {
    fn add(&mut self, amount: i64) {
        self.count += 1;
        self.amount += amount;
    }
}

#[derive(Clone, Copy, Default)]
struct PartnerTally {
    resale: u64,
    referral: u64,
    allocated: i64,
    recovered: i64,
    orders_paid: u64,
    paid_by_partner: u64,
}

#[derive(Default)]
struct Tally {
    committed: u64,
    duplicates: u64,
    failures: BTreeMap<&'static str, u64>,
    unexpected: Vec<String>,
    unexpected_count: u64,
    partners: Vec<PartnerTally>,
    recharges: Count,
    recharge_repaid_debt: i64,
    allocations: Count,
    reseller_funding: Count,
    recoveries: Count,
    /// Allocations and recoveries a distributor made for one of its resellers.
    on_behalf: Count,
    credit_repaid: Count,
    compensations: Count,
    deductions: Count,
    platform_quotas: Count,
    distributor_quotas: Count,
    quota_reclaims: Count,
    vouchers: Count,
    cash_coupons: Count,
    coupon_reclaims: Count,
    coupon_payments: Count,
    coupons_expired: Count,
    single_orders: Count,
    combined: Count,
    combined_members: u64,
    paid: Count,
    paid_cash: i64,
    paid_credit: i64,
    paid_by_partner: Count,
    cancelled: u64,
    refunds: Count,
    usage: Count,
    usage_cash: i64,
    usage_credit: i64,
    usage_debt: Count,
    usage_erased: i64,
    withdrawals: BTreeMap<&'static str, Count>,
    invoices: Count,
    invoice_returns: Count,
}

fn fen(amount: partner_ledger::Amount) -> i64 {
    i64::try_from(amount.minor()).expect("demo amounts fit in i64")
}

impl Tally {
    fn new(partners: usize) -> Tally {
        Tally { partners: vec![PartnerTally::default(); partners], ..Tally::default() }
    }

    /// Checks one answer against what the script expected, and counts it.
    fn record(&mut self, line: usize, meta: Meta, response: &Response) {
        match (meta.expect, response) {
            (Expect::Ok, Response::Committed { duplicate: false, outcome, .. }) => {
                self.committed += 1;
                self.count(meta.tag, outcome);
            }
            (Expect::Duplicate, Response::Committed { duplicate: true, .. }) => self.duplicates += 1,
            (Expect::Fail(code), Response::Failed { rejection, .. }) if rejection.code.name() == code => {
                *self.failures.entry(code).or_default() += 1;
            }
            _ => {
                self.unexpected_count += 1;
                if self.unexpected.len() < 10 {
                    self.unexpected.push(format!("line {}: expected {}, got {}", line + 1, meta.expect, response.to_line()));
                }
            }
        }
    }

    fn count(&mut self, tag: Tag, outcome: &Outcome) {
        match (tag, outcome) {
            (Tag::Customer { partner, resale: true }, _) => self.partners[partner].resale += 1,
            (Tag::Customer { partner, resale: false }, _) => self.partners[partner].referral += 1,
            (Tag::Recharge, Outcome::Funded { arrears_repaid, cash }) => {
                self.recharges.add(fen(*arrears_repaid) + fen(*cash));
                self.recharge_repaid_debt += fen(*arrears_repaid);
            }
            (Tag::Compensation, Outcome::Funded { arrears_repaid, cash }) => self.compensations.add(fen(*arrears_repaid) + fen(*cash)),
            (_, Outcome::Deducted(amount)) => self.deductions.add(fen(*amount)),
            (_, Outcome::CreditRepaid(amount)) => self.credit_repaid.add(fen(*amount)),
            (Tag::Allocate { partner, to_customer, on_behalf, amount }, _) => {
                if to_customer {
                    self.allocations.add(amount);
                    self.partners[partner].allocated += amount;
                } else {
                    self.reseller_funding.add(amount);
                }
                if on_behalf {
                    self.on_behalf.add(amount);
                }
            }
            (Tag::FundResellers { amount, .. }, _) => self.reseller_funding.add(amount),
            (Tag::Recover { partner, on_behalf, amount }, _) => {
                self.recoveries.add(amount);
                if on_behalf {
                    self.on_behalf.add(amount);
                }
                self.partners[partner].recovered += amount;
            }
            (Tag::Quota { by_platform: true, amount }, _) => self.platform_quotas.add(amount),
            (Tag::Quota { by_platform: false, amount }, _) => self.distributor_quotas.add(amount),
            (_, Outcome::QuotaReclaimed { amount, .. }) => self.quota_reclaims.add(fen(*amount)),
            (Tag::Coupon { voucher: true, amount }, _) => self.vouchers.add(amount),
            (Tag::Coupon { voucher: false, amount }, _) => self.cash_coupons.add(amount),
            (_, Outcome::CouponReclaimed { amount, .. }) => self.coupon_reclaims.add(fen(*amount)),
            (_, Outcome::CouponsExpired { coupons, amount }) => {
                self.coupons_expired.count += coupons.len() as u64;
                self.coupons_expired.amount += fen(*amount);
            }
            (Tag::Place { amount }, Outcome::OrdersPlaced { combined: None, .. }) => self.single_orders.add(amount),
            (Tag::Place { amount }, Outcome::OrdersPlaced { orders, .. }) => {
                self.combined.add(amount);
                self.combined_members += orders.len() as u64;
            }
            (Tag::Pay { partner, by_partner }, Outcome::Paid(paid)) => self.count_payment(partner, by_partner, paid),
            (_, Outcome::Cancelled(orders)) => self.cancelled += orders.len() as u64,
            (_, Outcome::Refunded { credit, cash }) => self.refunds.add(fen(*credit) + fen(*cash)),
            (_, Outcome::Consumed { deducted, erase, cash, credit, debt, .. }) => {
                self.usage.add(fen(*deducted));
                self.usage_erased += i64::try_from(*erase).expect("a cut below the fen");
                self.usage_cash += fen(*cash);
                self.usage_credit += fen(*credit);
                if debt.is_positive() {
                    self.usage_debt.add(fen(*debt));
                }
            }
            (Tag::Withdrawal { amount }, Outcome::Withdrawal { status, .. }) => {
                self.withdrawals.entry(status.name()).or_default().add(amount)
            }
            (_, Outcome::Invoiced { matched, .. }) => self.invoices.add(matched.iter().map(|matched| fen(matched.amount)).sum()),
            (Tag::InvoiceReturn { amount }, _) => self.invoice_returns.add(amount),
            _ => {}
        }
    }

    fn count_payment(&mut self, partner: usize, by_partner: bool, paid: &[(partner_ledger::Id, partner_ledger::Payment)]) {
        for (_, payment) in paid {
            let total = fen(payment.coupon) + fen(payment.cash) + fen(payment.credit);
            self.paid.add(total);
            self.paid_cash += fen(payment.cash);
            self.paid_credit += fen(payment.credit);
            if payment.coupon.is_positive() {
                self.coupon_payments.add(fen(payment.coupon));
            }
            self.partners[partner].orders_paid += 1;
            if by_partner {
                self.paid_by_partner.add(total);
                self.partners[partner].paid_by_partner += 1;
            }
        }
    }
}

/// Sends the script in batches, with a progress bar on standard error (drawn only on a terminal).
fn execute(ledger: &Ledger, script: &Script, tally: &mut Tally) -> Duration {
    let bar = ProgressBar::with_draw_target(Some(script.lines.len() as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {wide_bar} {human_pos}/{human_len} commands  {rate}  ETA {eta}")
        .expect("a valid progress template")
        .with_key("rate", |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(out, "{} commands/s", thousands(state.per_sec() as u64));
        });
    bar.set_style(style);
    let started = Instant::now();
    for (batch, lines) in script.lines.chunks(BATCH_LINES).enumerate() {
        let responses = ledger.execute_lines(lines);
        for (offset, response) in responses.iter().enumerate() {
            let line = batch * BATCH_LINES + offset;
            tally.record(line, script.metas[line], response);
        }
        bar.inc(lines.len() as u64);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    elapsed
}

// ---------------------------------------------------------------------------------------------
// Reading the books back, and comparing them with the script's own.

struct Books {
    /// bank, revenue, coupon_issuance, coupon_redeemed, coupon_expired.
    platform: [i64; 5],
    partners: Vec<Funds>,
    customers: Vec<Funds>,
}

const PLATFORM_ACCOUNTS: [&str; 5] = ["bank", "revenue", "coupon_issuance", "coupon_redeemed", "coupon_expired"];

fn parse_fen(value: &Value) -> Result<i64, String> {
    let text = value.as_str().ok_or_else(|| format!("expected an amount, got {value}"))?;
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (units, cents) = digits.split_once('.').ok_or_else(|| format!("expected an amount, got {text}"))?;
    let magnitude = units.parse::<i64>().map_err(|error| format!("{text}: {error}"))? * 100
        + cents.parse::<i64>().map_err(|error| format!("{text}: {error}"))?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Every party's balances, through `balance` queries at the end of the month.
fn read_books(ledger: &Ledger, model: &Model, at: i64) -> Result<Books, String> {
    let at = time(at);
    let parties: Vec<String> = (0..model.partners.len())
        .map(|partner| model.party(Who::Partner(partner)))
        .chain((0..model.customers.len()).map(|customer| model.party(Who::Customer(customer))))
        .collect();
    let lines: Vec<String> = std::iter::once("platform".to_owned())
        .chain(parties)
        .map(|party| json!({"op": "balance", "actor": "platform", "party": party, "at": at}).to_string())
        .collect();
    let mut results = Vec::with_capacity(lines.len());
    for batch in lines.chunks(BATCH_LINES) {
        for response in ledger.execute_lines(batch) {
            match response {
                Response::Answer { result, .. } => results.push(result),
                other => return Err(format!("a balance query failed: {}", other.to_line())),
            }
        }
    }
    let accounts = &results[0]["accounts"];
    let mut platform = [0; 5];
    for (slot, name) in platform.iter_mut().zip(PLATFORM_ACCOUNTS) {
        *slot = parse_fen(&accounts[name])?;
    }
    let funds = |result: &Value| -> Result<Funds, String> {
        Ok(Funds {
            cash: parse_fen(&result["cash"])?,
            held: parse_fen(&result["held"])?,
            credit_limit: parse_fen(&result["credit_limit"])?,
            credit_used: parse_fen(&result["credit_used"])?,
            debt: parse_fen(&result["arrears"])?,
        })
    };
    let mut parties = results[1..].iter().map(funds).collect::<Result<Vec<_>, _>>()?;
    let customers = parties.split_off(model.partners.len());
    Ok(Books { platform, partners: parties, customers })
}

/// Where the ledger's balances differ from the script's bookkeeping (at most a few, named).
fn compare(books: &Books, model: &Model) -> (usize, Vec<String>) {
    let platform = &model.platform;
    let expected = [platform.bank, platform.revenue, platform.coupon_issuance, platform.coupon_redeemed, platform.coupon_expired];
    let mut differences = Vec::new();
    for ((name, ledger), script) in PLATFORM_ACCOUNTS.iter().zip(books.platform).zip(expected) {
        if ledger != script {
            differences.push(format!("platform {name}: ledger {}, script {}", yuan(ledger), yuan(script)));
        }
    }
    let parties = (0..model.partners.len())
        .map(|partner| (Who::Partner(partner), &books.partners[partner]))
        .chain((0..model.customers.len()).map(|customer| (Who::Customer(customer), &books.customers[customer])));
    for (who, ledger) in parties {
        let script = model.funds(who);
        if ledger != script {
            differences.push(format!("{}: ledger {ledger:?}, script {script:?}", model.party(who)));
        }
    }
    let count = differences.len();
    differences.truncate(5);
    (count, differences)
}

// ---------------------------------------------------------------------------------------------
// The summary.

/// `1234567.89` as `"1,234,567.89"` (fen in, yuan out).
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let magnitude = fen.unsigned_abs();
    format!("{sign}{}.{:02}", thousands(magnitude / 100), magnitude % 100)
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// One line of a count-and-amount table; empty cells stay blank.
fn row(label: &str, count: Option<u64>, amount: Option<i64>, note: &str) {
    let count = count.map(thousands).unwrap_or_default();
    let amount = amount.map(yuan).unwrap_or_default();
    let line = format!("  {label:<40}{count:>9}{amount:>17}  {note}");
    println!("{}", line.trim_end());
}

fn header(title: &str) {
    println!();
    println!("{title:<42}{:>9}{:>17}", "count", "amount");
}

fn print_intro(demo: &Demo, db: &Path, seed: u64) {
    let model = &demo.model;
    let count = |kind| model.partners.iter().filter(|partner| partner.kind == kind).count();
    let resale = model.customers.iter().filter(|customer| customer.resale).count() as u64;
    let customers = model.customers.len() as u64;
    println!("partner-ledger demo: one month (November 2026) of a cloud partner sales platform, seed {seed}");
    println!(
        "  partners   {} distributors with {} resellers, {} solution providers",
        count(PartnerKind::Distributor),
        count(PartnerKind::Reseller),
        count(PartnerKind::SolutionProvider)
    );
    println!(
        "  customers  {}: {} resale (funded by their partner), {} referral (pay for themselves)",
        thousands(customers),
        thousands(resale),
        thousands(customers - resale)
    );
    println!(
        "  script     {} commands, each with an explicit time from {} to {}",
        thousands(demo.script.lines.len() as u64),
        time(day_start(1)),
        time(demo.script.clock)
    );
    println!("  ledger     {} (replaced), up to {} commands per durable commit", db.display(), thousands(BATCH_LINES as u64));
    println!("  the month  partners funded weekly; sign-ups until the 20th; orders, usage, refunds and withdrawals");
    println!("             every day; invoices from the 26th; unused promotion coupons swept on the 30th");
    println!("  amounts    in yuan (CNY, 2 decimals); coupon value is CPN, never money");
}

fn print_platform(books: &Books) {
    println!();
    println!("Platform accounts at month end (double entry: each asset sums to zero over all accounts)");
    let meanings = [
        ("CNY", "money from outside: recharges in (-), approved withdrawals out (+)"),
        ("CNY", "orders and usage, less refunds and compensations, plus fees"),
        ("CPN", "coupon value created for partner quotas (less value reclaimed)"),
        ("CPN", "coupon value spent on orders"),
        ("CPN", "coupon value left unused and swept at expiry"),
    ];
    for ((name, balance), (asset, meaning)) in PLATFORM_ACCOUNTS.iter().zip(books.platform).zip(meanings) {
        println!("  {name:<24}{:>17} {asset}  {meaning}", yuan(balance));
    }
}

/// The CNY side of the balance sheet: everything the bank let in, and where it is now.
fn print_money_position(books: &Books) {
    let sum = |parties: &[Funds], field: fn(&Funds) -> i64| parties.iter().map(field).sum::<i64>();
    let partner_cash = sum(&books.partners, |funds| funds.cash);
    let customer_cash = sum(&books.customers, |funds| funds.cash);
    let credit = sum(&books.partners, |funds| funds.credit_used) + sum(&books.customers, |funds| funds.credit_used);
    let debt = sum(&books.customers, |funds| funds.debt);
    println!();
    println!("Where the money is at month end");
    println!("  {:<40}{:>26}", "platform revenue", yuan(books.platform[1]));
    println!("  {:<40}{:>26}", "partners' cash", yuan(partner_cash));
    println!("  {:<40}{:>26}", "customers' cash", yuan(customer_cash));
    println!("  {:<40}{:>26}", "less credit in use (partners, customers)", yuan(-credit));
    println!("  {:<40}{:>26}", "less customer debt", yuan(-debt));
    println!(
        "  {:<40}{:>26}  the bank account's balance, sign reversed",
        "= net money in from the bank",
        yuan(books.platform[1] + partner_cash + customer_cash - credit - debt)
    );
}

fn print_money_moved(tally: &Tally) {
    header("Money moved during the month");
    let recharge_note = format!("{} of it repaid debt first", yuan(tally.recharge_repaid_debt));
    row("recharged by the platform (from the bank)", Some(tally.recharges.count), Some(tally.recharges.amount), &recharge_note);
    row(
        "allocated by partners to customers",
        Some(tally.allocations.count),
        Some(tally.allocations.amount),
        "resale customers' budgets; debt repaid first",
    );
    row(
        "allocated by distributors to resellers",
        Some(tally.reseller_funding.count),
        Some(tally.reseller_funding.amount),
        "weekly, in atomic groups",
    );
    row("recovered by partners from customers", Some(tally.recoveries.count), Some(tally.recoveries.amount), "unused budget taken back");
    row(
        "by distributors on behalf of resellers",
        Some(tally.on_behalf.count),
        Some(tally.on_behalf.amount),
        "of the allocations and recoveries above",
    );
    row("credit repaid", Some(tally.credit_repaid.count), Some(tally.credit_repaid.amount), "cash moved back into credit lines");
    row("compensations (SLA credits)", Some(tally.compensations.count), Some(tally.compensations.amount), "from revenue to the customer");
    row("deductions (fees)", Some(tally.deductions.count), Some(tally.deductions.amount), "from the partner to revenue");
}

fn print_partners(model: &Model, tally: &Tally, books: &Books) {
    println!();
    println!("Partners at month end            customers            cash   allocated to     recovered   orders paid");
    println!("                             resale  referral                    customers                  all  by partner");
    let line = |name: &str, totals: &PartnerTally, cash: i64| {
        println!(
            "  {name:<24}{:>9}{:>10}{:>16}{:>15}{:>14}{:>9}{:>12}",
            thousands(totals.resale),
            thousands(totals.referral),
            yuan(cash),
            yuan(totals.allocated),
            yuan(totals.recovered),
            thousands(totals.orders_paid),
            thousands(totals.paid_by_partner)
        );
    };
    let mut all = (PartnerTally::default(), 0);
    for (partner, record) in model.partners.iter().enumerate() {
        if record.parent.is_some() {
            continue;
        }
        let group: Vec<usize> = std::iter::once(partner)
            .chain((0..model.partners.len()).filter(|&other| model.partners[other].parent == Some(partner)))
            .collect();
        let mut subtotal = (PartnerTally::default(), 0);
        for &member in &group {
            let name = if member == partner {
                format!("{} {}", record.id, record.kind.label())
            } else {
                format!("  {} reseller", model.partners[member].id)
            };
            line(&name, &tally.partners[member], books.partners[member].cash);
            add_partner(&mut subtotal, &tally.partners[member], books.partners[member].cash);
        }
        if group.len() > 1 {
            line(&format!("  {} with its resellers", record.id), &subtotal.0, subtotal.1);
        }
        add_partner(&mut all, &subtotal.0, subtotal.1);
    }
    line("all partners", &all.0, all.1);
    println!("  (cash is the partner's own; orders paid are its customers' orders, paid by them or by the partner)");
}

fn add_partner(total: &mut (PartnerTally, i64), add: &PartnerTally, cash: i64) {
    total.0.resale += add.resale;
    total.0.referral += add.referral;
    total.0.allocated += add.allocated;
    total.0.recovered += add.recovered;
    total.0.orders_paid += add.orders_paid;
    total.0.paid_by_partner += add.paid_by_partner;
    total.1 += cash;
}

fn print_coupons(tally: &Tally, books: &Books) {
    header("Coupons (CPN, coupon value)");
    row(
        "quotas from the platform",
        Some(tally.platform_quotas.count),
        Some(tally.platform_quotas.amount),
        "to distributors and solution providers",
    );
    row(
        "quotas from distributors",
        Some(tally.distributor_quotas.count),
        Some(tally.distributor_quotas.amount),
        "to their resellers, out of their own quota",
    );
    row("vouchers issued", Some(tally.vouchers.count), Some(tally.vouchers.amount), "most limited to 1-3 services");
    row("cash coupons issued", Some(tally.cash_coupons.count), Some(tally.cash_coupons.amount), "whitelisted customers only");
    row("redeemed on orders", Some(tally.coupon_payments.count), Some(books.platform[3]), "count: orders paid partly with coupons");
    row("coupons reclaimed to their quota", Some(tally.coupon_reclaims.count), Some(tally.coupon_reclaims.amount), "");
    row(
        "quota reclaimed by its distributor",
        Some(tally.quota_reclaims.count),
        Some(tally.quota_reclaims.amount),
        "what was left goes back to the distributor's quota",
    );
    row(
        "expired and swept at month end",
        Some(tally.coupons_expired.count),
        Some(books.platform[4]),
        "promotion coupons that ended on 2026-11-26",
    );
    let unused = -books.platform[2] - books.platform[3] - books.platform[4];
    row("unused: in quotas and on live coupons", None, Some(unused), "issued = redeemed + expired + unused");
}

fn print_orders(tally: &Tally) {
    header("Orders");
    let placed = tally.single_orders.count + tally.combined_members;
    let combined_note = format!("in {} combined orders, paid or cancelled together", thousands(tally.combined.count));
    row("placed alone", Some(tally.single_orders.count), Some(tally.single_orders.amount), "");
    row("placed in combined orders of 2-3", Some(tally.combined_members), Some(tally.combined.amount), &combined_note);
    let paid_note = format!(
        "coupons {}, cash {}, credit {}",
        yuan(tally.paid.amount - tally.paid_cash - tally.paid_credit),
        yuan(tally.paid_cash),
        yuan(tally.paid_credit)
    );
    row("paid", Some(tally.paid.count), Some(tally.paid.amount), &paid_note);
    row(
        "  of which by the customer's partner",
        Some(tally.paid_by_partner.count),
        Some(tally.paid_by_partner.amount),
        "resale customers only, from the partner's cash and credit",
    );
    row("cancelled", Some(tally.cancelled), None, "");
    row(
        "unsubscribed and refunded",
        Some(tally.refunds.count),
        Some(tally.refunds.amount),
        "back to whoever paid: credit first, then cash",
    );
    row("left unpaid at month end", Some(placed - tally.paid.count - tally.cancelled), None, "");
}

fn print_usage(tally: &Tally, books: &Books) {
    header("On-demand usage and debt");
    let erased =
        format!("sent with 8 decimals; {}.{:08} cut off below the fen", tally.usage_erased / 100_000_000, tally.usage_erased % 100_000_000);
    row("usage charged", Some(tally.usage.count), Some(tally.usage.amount), &erased);
    row("  from cash", None, Some(tally.usage_cash), "");
    row("  on credit", None, Some(tally.usage_credit), "");
    row("  became debt", Some(tally.usage_debt.count), Some(tally.usage_debt.amount), "count: usage bills that ran into debt");
    let outstanding: i64 = books.customers.iter().map(|funds| funds.debt).sum();
    let debtors = books.customers.iter().filter(|funds| funds.debt > 0).count() as u64;
    row(
        "debt repaid",
        None,
        Some(tally.usage_debt.amount - outstanding),
        "incoming money (allocations, recharges, refunds) repays debt first",
    );
    row("debt outstanding at month end", Some(debtors), Some(outstanding), "count: customers in debt");
}

fn print_withdrawals_and_invoices(tally: &Tally) {
    header("Withdrawals");
    let get = |status| tally.withdrawals.get(status).copied().unwrap_or_default();
    let (requested, approved, rejected, deleted) = (get("pending"), get("approved"), get("rejected"), get("deleted"));
    row("requested", Some(requested.count), Some(requested.amount), "held: still in cash, no longer available");
    row("approved (paid out to the bank)", Some(approved.count), Some(approved.amount), "");
    row("rejected (held amount released)", Some(rejected.count), Some(rejected.amount), "");
    row("  then deleted by the requester", Some(deleted.count), Some(deleted.amount), "");
    let pending = requested.count - approved.count - rejected.count;
    row("still pending at month end", Some(pending), Some(requested.amount - approved.amount - rejected.amount), "");
    header("Invoices");
    row("issued", Some(tally.invoices.count), Some(tally.invoices.amount), "matched to bills: refunds first, then oldest first");
    row("returned", Some(tally.invoice_returns.count), Some(tally.invoice_returns.amount), "their bills became invoiceable again");
}

fn print_failures(tally: &Tally) {
    println!();
    println!("Refused as the script expected (each changed nothing)");
    for (code, meaning) in EXPECTED_FAILURES {
        println!("  {code:<24}{:>9}  {meaning}", thousands(tally.failures.get(code).copied().unwrap_or(0)));
    }
    for (code, count) in &tally.failures {
        if !EXPECTED_FAILURES.iter().any(|(expected, _)| expected == code) {
            println!("  {code:<24}{:>9}", thousands(*count));
        }
    }
    println!("  {:<24}{:>9}  identical retries answered with the original result, applied once", "duplicate", thousands(tally.duplicates));
    println!("  {:<24}{:>9}  answers the script did not expect", "unexpected", thousands(tally.unexpected_count));
    let refused: u64 = tally.failures.values().sum();
    println!(
        "  all {} answers: {} committed, {} duplicates, {} refused as expected, {} unexpected",
        thousands(tally.committed + tally.duplicates + refused + tally.unexpected_count),
        thousands(tally.committed),
        thousands(tally.duplicates),
        thousands(refused),
        thousands(tally.unexpected_count)
    );
    for example in &tally.unexpected {
        println!("    {example}");
    }
}

// ---------------------------------------------------------------------------------------------
// The command.

/// Runs the demo: generates the month, sends it, prints the summary. Fails (exit 1) on any
/// unexpected answer, a disagreement with the script's bookkeeping, or a failed `verify`.
pub fn run(db: &Path, customers: u32, seed: u64) -> Result<ExitCode, String> {
    let started = Instant::now();
    if db.exists() {
        std::fs::remove_file(db).map_err(|error| format!("removing the old {}: {error}", db.display()))?;
    }
    let demo = Demo::generate(customers, seed);
    let scripted = started.elapsed();
    print_intro(&demo, db, seed);
    let ledger = Ledger::open(db).map_err(|error| format!("{}: {error}", db.display()))?;
    let mut tally = Tally::new(demo.model.partners.len());
    let executed = execute(&ledger, &demo.script, &mut tally);
    let checking = Instant::now();
    let books = read_books(&ledger, &demo.model, demo.script.clock + 1000)?;
    print_platform(&books);
    print_money_position(&books);
    print_money_moved(&tally);
    print_partners(&demo.model, &tally, &books);
    print_coupons(&tally, &books);
    print_orders(&tally);
    print_usage(&tally, &books);
    print_withdrawals_and_invoices(&tally);
    print_failures(&tally);
    let checked = print_checks(&ledger, &demo.model, &books);
    let lines = demo.script.lines.len() as u64;
    println!();
    println!(
        "  throughput: {} commands in {:.2} s = {} commands/s",
        thousands(lines),
        executed.as_secs_f64(),
        thousands((lines as f64 / executed.as_secs_f64().max(1e-9)) as u64)
    );
    println!(
        "  wall time: {:.2} s (script {:.2} s, commands {:.2} s, reading back and verify {:.2} s)",
        started.elapsed().as_secs_f64(),
        scripted.as_secs_f64(),
        executed.as_secs_f64(),
        checking.elapsed().as_secs_f64()
    );
    if checked && tally.unexpected_count == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        println!("demo: FAILED (see the unexpected answers and checks above)");
        Ok(ExitCode::FAILURE)
    }
}

/// `verify`'s verdict and the comparison with the script's bookkeeping; true when both pass.
fn print_checks(ledger: &Ledger, model: &Model, books: &Books) -> bool {
    println!();
    println!("Checks");
    let verified = match ledger.verify() {
        Ok(report) => {
            println!(
                "  verify: ok — {} transactions replayed, {} accounts and {} parties match, each asset sums to zero",
                thousands(report.transactions),
                thousands(report.accounts as u64),
                thousands(report.parties as u64)
            );
            println!("  journal head: {}:{} (the same seed gives the same head)", report.head.seq, hex(&report.head.hash));
            true
        }
        Err(error) => {
            println!("  verify: FAILED — {error}");
            false
        }
    };
    let (differences, examples) = compare(books, model);
    if differences == 0 {
        println!(
            "  bookkeeping: the ledger's balances match the script's own for the platform, {} partners and {} customers",
            model.partners.len(),
            thousands(model.customers.len() as u64)
        );
    } else {
        println!("  bookkeeping: {differences} balances differ from the script's own, e.g.");
        for example in &examples {
            println!("    {example}");
        }
    }
    verified && differences == 0
}

impl Demo {
    /// A small month may not run into every refusal by chance: provoke each one still missing, once.
    fn provoke_missing_refusals(&mut self, day: u32) {
        let customers = self.model.customers.len();
        let resale = (0..customers).find(|&customer| self.model.customers[customer].resale);
        let referral = (0..customers).find(|&customer| !self.model.customers[customer].resale);
        let missing = |demo: &Demo, code: &str| !demo.refusals.contains_key(code);
        if let Some(customer) = resale.filter(|_| missing(self, "not_your_customer")) {
            let wrong = (self.model.customers[customer].partner + 1) % self.model.partners.len();
            self.allocate(wrong, wrong, Who::Customer(customer), cny(100), "budget top-up");
        }
        if let Some(customer) = referral.filter(|_| missing(self, "not_resale_customer")) {
            let partner = self.model.customers[customer].partner;
            self.allocate(partner, partner, Who::Customer(customer), cny(100), "goodwill");
        }
        if let Some(customer) = referral.filter(|_| missing(self, "insufficient_funds")) {
            let amount = self.model.customers[customer].funds.available().max(0) + cny(1_000);
            self.request_withdrawal(Who::Customer(customer), amount, day);
        }
        if missing(self, "debt_outstanding") {
            // The month's last usage runs a customer into debt, and it asks for an invoice anyway.
            let customer = (0..customers).find(|&customer| self.model.customers[customer].funds.debt > 0).unwrap_or(0);
            let funds = self.model.customers[customer].funds;
            if funds.debt == 0 {
                self.consume(customer, (funds.available().max(0) + funds.credit_left() + cny(50)) * 1_000_000 + 12_345_678);
            }
            let total = self.model.invoiceable_total(Who::Customer(customer));
            self.request_invoice(Who::Customer(customer), total.max(cny(100)), day);
        }
        if missing(self, "coupon_not_usable") {
            let now = self.script.now();
            let holder = (0..customers)
                .find(|&customer| self.model.customers[customer].coupons.iter().any(|&coupon| !self.model.coupons[coupon].usable(now)));
            if let Some(customer) = holder {
                let purchase = self.place(customer, 1, false);
                let unusable = self.unusable_coupon(&purchase).expect("the customer holds an unusable coupon");
                self.pay(&purchase, &[unusable], PayBy::Customer);
                self.checkout(&purchase);
            }
        }
    }
}
