//! The script's own bookkeeping: plain integers in fen, just enough to know each answer. The
//! rules that move money between these books (payments, refunds, usage, withdrawals, reclaims)
//! are in `rules`.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Who {
    Partner(usize),
    Customer(usize),
}

/// A party's money. A customer's own `cash` and its partner's `allocated` funds are apart
/// (SPEC 1.3); partners have no `allocated` (always 0).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(super) struct Funds {
    pub(super) cash: i64,
    pub(super) held: i64,
    pub(super) allocated: i64,
    pub(super) credit_limit: i64,
    pub(super) credit_used: i64,
    pub(super) debt: i64,
}

impl Funds {
    pub(super) fn available(&self) -> i64 {
        self.cash - self.held
    }

    pub(super) fn credit_left(&self) -> i64 {
        (self.credit_limit - self.credit_used).max(0)
    }

    /// What a customer may spend before credit: its partner's funds, then its own.
    pub(super) fn spendable(&self) -> i64 {
        self.allocated + self.available().max(0)
    }

    /// Incoming money repays debt first (SPEC 1.3); partners never have debt.
    pub(super) fn receive(&mut self, amount: i64) {
        let repaid = amount.min(self.debt);
        self.debt -= repaid;
        self.cash += amount - repaid;
    }

    /// A partner's funds arriving at a customer: debt first, then `allocated`.
    pub(super) fn receive_allocated(&mut self, amount: i64) {
        let repaid = amount.min(self.debt);
        self.debt -= repaid;
        self.allocated += amount - repaid;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PartnerKind {
    Distributor,
    Reseller,
    SolutionProvider,
}

impl PartnerKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            PartnerKind::Distributor => "distributor",
            PartnerKind::Reseller => "reseller",
            PartnerKind::SolutionProvider => "solution_provider",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            PartnerKind::SolutionProvider => "solution provider",
            kind => kind.name(),
        }
    }
}

pub(super) struct Partner {
    pub(super) id: String,
    pub(super) kind: PartnerKind,
    pub(super) parent: Option<usize>,
    pub(super) funds: Funds,
    /// Every customer ever associated with it (a customer's `link` says whether it still is).
    pub(super) customers: Vec<usize>,
    /// Bills this partner invoices (it paid them for its resale customers).
    pub(super) bills: Vec<usize>,
    pub(super) voucher_quota: Option<usize>,
    pub(super) cash_quota: Option<usize>,
    /// Its pickup-voucher quota (提货券), from the platform.
    pub(super) pickup_quota: Option<usize>,
    pub(super) admin: Option<usize>,
    pub(super) finance: Option<usize>,
    pub(super) managers: Vec<usize>,
}

/// An operator acting for a partner (SPEC 2.1): `admin`, `finance`, `customer_manager`.
pub(super) struct Operator {
    pub(super) id: String,
    pub(super) partner: usize,
    pub(super) roles: &'static [&'static str],
    /// Roles set to `[]`: every act refused.
    pub(super) disabled: bool,
}

/// A customer's association now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Link {
    Resale,
    Referral,
    /// Never associated yet, or unbound.
    None,
}

/// A customer-manager assignment: `current` from `from` (the next UTC+8 day), `previous` before.
#[derive(Clone, Copy, Debug)]
pub(super) struct Manager {
    pub(super) previous: Option<usize>,
    pub(super) current: Option<usize>,
    pub(super) from: i64,
}

pub(super) struct Customer {
    pub(super) id: String,
    /// Its partner; for an unassociated customer the one it will join (or left).
    pub(super) partner: usize,
    pub(super) link: Link,
    /// An unassociated customer that becomes resale on this day.
    pub(super) joins_on: Option<u32>,
    pub(super) enterprise: bool,
    /// A resale customer its partner is slow to top up: it stays in debt longer.
    pub(super) neglected: bool,
    pub(super) whitelisted: bool,
    /// Typical on-demand usage per day in fen; 0 for customers without on-demand services.
    pub(super) usage_per_day: i64,
    pub(super) signup_day: u32,
    pub(super) funds: Funds,
    pub(super) coupons: Vec<usize>,
    pub(super) orders: Vec<usize>,
    /// Bills it invoices.
    pub(super) bills: Vec<usize>,
    /// Bills about it, whoever paid them: what `bills` lists for it.
    pub(super) bill_count: u64,
    pub(super) manager: Option<Manager>,
}

impl Customer {
    pub(super) fn resale(&self) -> bool {
        self.link == Link::Resale
    }

    /// Its partner while associated.
    pub(super) fn associated_partner(&self) -> Option<usize> {
        (self.link != Link::None).then_some(self.partner)
    }

    /// The manager in force at `at`.
    pub(super) fn manager_at(&self, at: i64) -> Option<usize> {
        self.manager.and_then(|manager| if at >= manager.from { manager.current } else { manager.previous })
    }
}

pub(super) struct Quota {
    pub(super) id: String,
    pub(super) owner: usize,
    pub(super) balance: i64,
    /// The distributor quota it was issued from; `None` for the platform's.
    pub(super) source: Option<usize>,
    pub(super) reclaimed: bool,
}

pub(super) struct Coupon {
    pub(super) id: String,
    pub(super) customer: usize,
    pub(super) quota: usize,
    pub(super) remaining: i64,
    pub(super) services: Option<Vec<&'static str>>,
    pub(super) valid_until: i64,
    /// Reclaimed or swept: no longer live whatever the time.
    pub(super) ended: bool,
    /// A pickup voucher's ratio in hundredths: the most it pays of an order it applies to.
    pub(super) ratio: Option<i64>,
    /// The order kinds a pickup voucher pays (`None`: all).
    pub(super) kinds: Option<Vec<&'static str>>,
}

impl Coupon {
    pub(super) fn usable(&self, at: i64) -> bool {
        !self.ended && self.remaining > 0 && at < self.valid_until
    }

    pub(super) fn covers(&self, service: &str) -> bool {
        self.services.as_ref().is_none_or(|services| services.contains(&service))
    }

    /// Whether it pays for `order` at all: its service and, for a pickup voucher, its kind.
    pub(super) fn applies(&self, order: &Order) -> bool {
        self.covers(order.service) && self.kinds.as_ref().is_none_or(|kinds| kinds.contains(&order.kind))
    }

    /// The most it pays of `order`: `floor_fen(ratio × amount)` for a pickup voucher.
    pub(super) fn cap(&self, order: &Order) -> i64 {
        self.ratio.map_or(i64::MAX, |ratio| order.amount * ratio / 100)
    }
}

/// A business discount (商务折扣) the platform granted a customer.
pub(super) struct Discount {
    pub(super) id: String,
    pub(super) customer: usize,
    /// The share of the official price to pay, in hundredths.
    pub(super) ratio: i64,
    pub(super) services: Option<Vec<&'static str>>,
    pub(super) valid_from: i64,
    pub(super) valid_until: i64,
    pub(super) revoked: bool,
}

impl Discount {
    pub(super) fn usable(&self, customer: usize, at: i64) -> bool {
        self.customer == customer && !self.revoked && self.valid_from <= at && at < self.valid_until
    }

    pub(super) fn covers(&self, service: &str) -> bool {
        self.services.as_ref().is_none_or(|services| services.contains(&service))
    }

    /// What `order` is due: `amount - floor_fen(amount × (1 - ratio))` when covered.
    pub(super) fn due(&self, order: &Order) -> i64 {
        if self.covers(order.service) { order.amount - order.amount * (100 - self.ratio) / 100 } else { order.amount }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderStatus {
    Pending,
    Paid,
    Cancelled,
    Unsubscribed,
}

/// A partner-payment request (代付) on an order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Request {
    Requested,
    Rejected,
}

pub(super) struct Order {
    pub(super) id: String,
    pub(super) customer: usize,
    pub(super) amount: i64,
    pub(super) service: &'static str,
    pub(super) kind: &'static str,
    pub(super) pay_deadline: i64,
    pub(super) status: OrderStatus,
    pub(super) request: Option<Request>,
    pub(super) payer: Option<Who>,
    pub(super) paid_allocated: i64,
    pub(super) paid_cash: i64,
    pub(super) paid_credit: i64,
    /// The business discount taken off its official price.
    pub(super) discount: i64,
    /// The partner whose allocation paid for it (the customer's partner when it paid).
    pub(super) funder: Option<usize>,
    pub(super) bill: Option<usize>,
    /// Who invoices its bills: the payer, or the customer for a partner-paid referral order.
    pub(super) bill_owner: Option<Who>,
}

impl Order {
    pub(super) fn refundable(&self) -> i64 {
        self.paid_allocated + self.paid_cash + self.paid_credit
    }
}

/// One order, or the orders of a combined order (paid and cancelled together).
#[derive(Clone)]
pub(super) struct Purchase {
    /// The id to pay or cancel by: the order's, or the combined order's.
    pub(super) id: String,
    pub(super) customer: usize,
    pub(super) orders: Vec<usize>,
}

pub(super) struct Bill {
    /// Its id when the script names it in an invoice by bills: an order's payment bill.
    pub(super) id: Option<String>,
    pub(super) at: i64,
    pub(super) invoiceable: i64,
    pub(super) invoiced: i64,
}

impl Bill {
    pub(super) fn remaining(&self) -> i64 {
        self.invoiceable - self.invoiced
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum WithdrawalStatus {
    Pending,
    Approved,
    Rejected,
    Deleted,
}

pub(super) struct Withdrawal {
    pub(super) id: String,
    pub(super) who: Who,
    pub(super) amount: i64,
    pub(super) day: u32,
    pub(super) status: WithdrawalStatus,
}

pub(super) struct Invoice {
    pub(super) id: String,
    pub(super) who: Who,
    pub(super) amount: i64,
    pub(super) day: u32,
    pub(super) matched: Vec<(usize, i64)>,
}

#[derive(Default)]
pub(super) struct PlatformBooks {
    pub(super) bank: i64,
    pub(super) revenue: i64,
    pub(super) coupon_issuance: i64,
    pub(super) coupon_redeemed: i64,
    pub(super) coupon_expired: i64,
}

#[derive(Default)]
pub(super) struct Model {
    pub(super) platform: PlatformBooks,
    pub(super) partners: Vec<Partner>,
    pub(super) operators: Vec<Operator>,
    pub(super) customers: Vec<Customer>,
    pub(super) quotas: Vec<Quota>,
    pub(super) coupons: Vec<Coupon>,
    pub(super) orders: Vec<Order>,
    pub(super) bills: Vec<Bill>,
    pub(super) withdrawals: Vec<Withdrawal>,
    pub(super) invoices: Vec<Invoice>,
    pub(super) discounts: Vec<Discount>,
    /// Each customer's latest discount.
    pub(super) discount_of: std::collections::BTreeMap<usize, usize>,
    /// Pickup-voucher value redeemed on orders and on usage, and orders where the ratio capped it.
    pub(super) pickup: PickupBooks,
    /// Combined orders paid with a discount that covered only some of their members.
    pub(super) partly_discounted: u64,
}

#[derive(Default)]
pub(super) struct PickupBooks {
    pub(super) on_orders: i64,
    pub(super) on_usage: i64,
    pub(super) capped: u64,
}

impl Model {
    pub(super) fn funds(&self, who: Who) -> &Funds {
        match who {
            Who::Partner(index) => &self.partners[index].funds,
            Who::Customer(index) => &self.customers[index].funds,
        }
    }

    pub(super) fn funds_mut(&mut self, who: Who) -> &mut Funds {
        match who {
            Who::Partner(index) => &mut self.partners[index].funds,
            Who::Customer(index) => &mut self.customers[index].funds,
        }
    }

    pub(super) fn bills_of(&self, who: Who) -> &[usize] {
        match who {
            Who::Partner(index) => &self.partners[index].bills,
            Who::Customer(index) => &self.customers[index].bills,
        }
    }

    pub(super) fn party(&self, who: Who) -> String {
        match who {
            Who::Partner(index) => format!("partner:{}", self.partners[index].id),
            Who::Customer(index) => format!("customer:{}", self.customers[index].id),
        }
    }

    pub(super) fn partner_party(&self, partner: usize) -> String {
        self.party(Who::Partner(partner))
    }

    pub(super) fn operator_party(&self, operator: usize) -> String {
        format!("operator:{}", self.operators[operator].id)
    }

    pub(super) fn partner_index(&self, id: &str) -> usize {
        self.partners.iter().position(|partner| partner.id == id).expect("a known partner")
    }

    /// A bill invoiced by `owner`, about `customer` (when it concerns one).
    pub(super) fn add_bill(&mut self, owner: Who, customer: Option<usize>, at: i64, invoiceable: i64) -> usize {
        self.bills.push(Bill { id: None, at, invoiceable, invoiced: 0 });
        let bill = self.bills.len() - 1;
        match owner {
            Who::Partner(index) => self.partners[index].bills.push(bill),
            Who::Customer(index) => self.customers[index].bills.push(bill),
        }
        if let Some(customer) = customer {
            self.customers[customer].bill_count += 1;
        }
        bill
    }

    /// A party's withdrawal still pending, if any (one at a time, SPEC 3).
    pub(super) fn pending_withdrawal(&self, who: Who) -> Option<usize> {
        self.withdrawals.iter().position(|withdrawal| withdrawal.who == who && withdrawal.status == WithdrawalStatus::Pending)
    }

    /// Where a reclaimed quota's or coupon's value goes: the first source quota still live, else
    /// the platform's `coupon_issuance` (`None`).
    pub(super) fn reclaim_destination(&self, quota: usize) -> Option<usize> {
        let mut current = quota;
        while self.quotas[current].reclaimed {
            current = self.quotas[current].source?;
        }
        Some(current)
    }

    pub(super) fn return_coupon_value(&mut self, destination: Option<usize>, amount: i64) {
        match destination {
            Some(quota) => self.quotas[quota].balance += amount,
            None => self.platform.coupon_issuance += amount,
        }
    }
}
