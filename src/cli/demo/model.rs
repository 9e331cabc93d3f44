//! The script's own bookkeeping: plain integers in fen, just enough to know each answer.

use super::script::Expect;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Who {
    Partner(usize),
    Customer(usize),
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(super) struct Funds {
    pub(super) cash: i64,
    pub(super) held: i64,
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

    /// Incoming money repays debt first (SPEC 1.3); partners never have debt.
    pub(super) fn receive(&mut self, amount: i64) {
        let repaid = amount.min(self.debt);
        self.debt -= repaid;
        self.cash += amount - repaid;
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
    pub(super) customers: Vec<usize>,
    /// Bills this partner paid (for its resale customers): what it can invoice.
    pub(super) bills: Vec<usize>,
    pub(super) voucher_quota: Option<usize>,
    pub(super) cash_quota: Option<usize>,
}

pub(super) struct Customer {
    pub(super) id: String,
    pub(super) partner: usize,
    pub(super) resale: bool,
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
    pub(super) bills: Vec<usize>,
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
}

impl Coupon {
    pub(super) fn usable(&self, at: i64) -> bool {
        !self.ended && self.remaining > 0 && at < self.valid_until
    }

    pub(super) fn covers(&self, service: &str) -> bool {
        self.services.as_ref().is_none_or(|services| services.contains(&service))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderStatus {
    Pending,
    Paid,
    Cancelled,
    Unsubscribed,
}

pub(super) struct Order {
    pub(super) id: String,
    pub(super) customer: usize,
    pub(super) amount: i64,
    pub(super) service: &'static str,
    pub(super) pay_deadline: i64,
    pub(super) status: OrderStatus,
    pub(super) payer: Option<Who>,
    pub(super) paid_cash: i64,
    pub(super) paid_credit: i64,
    pub(super) bill: Option<usize>,
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
    pub(super) at: i64,
    pub(super) invoiceable: i64,
    pub(super) invoiced: i64,
}

impl Bill {
    fn remaining(&self) -> i64 {
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
    pub(super) customers: Vec<Customer>,
    pub(super) quotas: Vec<Quota>,
    pub(super) coupons: Vec<Coupon>,
    pub(super) orders: Vec<Order>,
    pub(super) bills: Vec<Bill>,
    pub(super) withdrawals: Vec<Withdrawal>,
    pub(super) invoices: Vec<Invoice>,
}

/// How a payment is drawn, per order: (coupon, cash, credit); and what each listed coupon gives.
pub(super) struct Draw {
    orders: Vec<(i64, i64, i64)>,
    coupons: Vec<i64>,
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

    fn bills_of(&self, who: Who) -> &[usize] {
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

    pub(super) fn add_bill(&mut self, payer: Who, at: i64, invoiceable: i64) -> usize {
        self.bills.push(Bill { at, invoiceable, invoiced: 0 });
        let bill = self.bills.len() - 1;
        match payer {
            Who::Partner(index) => self.partners[index].bills.push(bill),
            Who::Customer(index) => self.customers[index].bills.push(bill),
        }
        bill
    }

    /// The coupons, cash and credit a payment takes (SPEC 3, draw order), or the shortfall.
    pub(super) fn draw(&self, purchase: &Purchase, coupons: &[usize], payer: Who) -> Result<Draw, i64> {
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
    pub(super) fn pay_expectation(&self, purchase: &Purchase, coupons: &[usize], payer: Who, at: i64) -> Expect {
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

    pub(super) fn apply_payment(&mut self, purchase: &Purchase, coupons: &[usize], payer: Who, at: i64) {
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

    pub(super) fn unsubscribe_expectation(&self, order: usize, refund: i64) -> Expect {
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
    pub(super) fn apply_refund(&mut self, order: usize, refund: i64, at: i64) {
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
    pub(super) fn apply_usage(&mut self, customer: usize, amount: i64, at: i64) -> i64 {
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

    pub(super) fn invoiceable_total(&self, who: Who) -> i64 {
        self.bills_of(who).iter().map(|&bill| self.bills[bill].remaining()).sum()
    }

    /// SPEC 5: every negative item in full, then positive items oldest first, the last in part.
    /// A party's bills are kept in time order, and bills of the same instant (the orders of one
    /// combined order) in id order, which is the matching's order.
    pub(super) fn match_invoice(&self, who: Who, amount: i64) -> Vec<(usize, i64)> {
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
    pub(super) fn withdrawable(&self, who: Who) -> i64 {
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
