//! The ledger's money rules, as the script keeps them: what a payment draws, where a refund
//! goes, what usage takes, what may be withdrawn, invoice matching and the reclaims of unbinding.
//! Each mirrors SPEC v2 section 3 exactly; the demo compares its books with the ledger's at the end.

use super::model::{Link, Model, OrderStatus, Purchase, Request, Who};
use super::script::Expect;

/// How a payment is drawn, per order: (due, coupon, allocated, cash, credit); what each listed
/// coupon gives; and on how many orders a pickup voucher's ratio capped what it paid.
pub(super) struct Draw {
    orders: Vec<(i64, i64, i64, i64, i64)>,
    coupons: Vec<i64>,
    capped: u64,
}

/// What pays a purchase besides money: coupons, or (never both) a business discount.
#[derive(Clone, Copy)]
pub(super) struct Means<'a> {
    pub(super) coupons: &'a [usize],
    pub(super) discount: Option<usize>,
}

impl<'a> Means<'a> {
    pub(super) fn coupons(coupons: &'a [usize]) -> Means<'a> {
        Means { coupons, discount: None }
    }
}

impl Model {
    /// The coupons, allocated funds (a customer payer's), cash and credit a payment takes, in
    /// SPEC 3's draw order, or the shortfall.
    pub(super) fn draw(&self, purchase: &Purchase, coupons: &[usize], payer: Who) -> Result<Draw, i64> {
        self.draw_with(purchase, Means::coupons(coupons), payer)
    }

    /// [`Model::draw`] with a discount: each covered order is due `amount - floor_fen(amount ×
    /// (1 - ratio))`; a pickup voucher pays at most `floor_fen(ratio × amount)` of each order it
    /// applies to (service and kind).
    pub(super) fn draw_with(&self, purchase: &Purchase, means: Means<'_>, payer: Who) -> Result<Draw, i64> {
        let coupons = means.coupons;
        let mut coupon_left: Vec<i64> = coupons.iter().map(|&coupon| self.coupons[coupon].remaining).collect();
        let funds = self.funds(payer);
        let mut allocated_left = if matches!(payer, Who::Customer(_)) { funds.allocated.max(0) } else { 0 };
        let (mut cash_left, mut credit_left) = (funds.available().max(0), funds.credit_left());
        let (mut shortfall, mut capped) = (0, 0);
        let mut orders = Vec::with_capacity(purchase.orders.len());
        for &order in &purchase.orders {
            let order = &self.orders[order];
            let due = means.discount.map_or(order.amount, |discount| self.discounts[discount].due(order));
            let (mut need, mut coupon_part) = (due, 0);
            for (index, &coupon) in coupons.iter().enumerate() {
                let coupon = &self.coupons[coupon];
                let cap = coupon.cap(order);
                let take = need.min(coupon_left[index]).min(cap);
                if coupon.applies(order) && take > 0 {
                    capped += u64::from(take == cap && take < need.min(coupon_left[index]));
                    coupon_left[index] -= take;
                    need -= take;
                    coupon_part += take;
                }
            }
            let allocated = need.min(allocated_left);
            allocated_left -= allocated;
            need -= allocated;
            let cash = need.min(cash_left);
            cash_left -= cash;
            let credit = (need - cash).min(credit_left);
            credit_left -= credit;
            shortfall += need - cash - credit;
            orders.push((due, coupon_part, allocated, cash, credit));
        }
        if shortfall > 0 {
            return Err(shortfall);
        }
        let coupons = coupons.iter().zip(coupon_left).map(|(&coupon, left)| self.coupons[coupon].remaining - left).collect();
        Ok(Draw { orders, coupons, capped })
    }

    /// What `pay_order` must answer, checked in the engine's precedence: coupons with a discount
    /// as written; per order its status, the partner-payment request (a partner pays only a
    /// requested order, the customer never while it is requested), the deadline; then coupons,
    /// the discount, then funds.
    pub(super) fn pay_expectation(&self, purchase: &Purchase, means: Means<'_>, payer: Who, at: i64) -> Expect {
        let by_partner = matches!(payer, Who::Partner(_));
        if means.discount.is_some() && (!means.coupons.is_empty() || by_partner) {
            return Expect::Fail("invalid_request");
        }
        for &order in &purchase.orders {
            let order = &self.orders[order];
            let requested = order.request == Some(Request::Requested);
            if order.status != OrderStatus::Pending || by_partner != requested {
                return Expect::Fail("order_state");
            }
            if at > order.pay_deadline {
                return Expect::Fail("order_expired");
            }
        }
        for &coupon in means.coupons {
            let coupon = &self.coupons[coupon];
            let applies = purchase.orders.iter().any(|&order| coupon.applies(&self.orders[order]));
            if coupon.customer != purchase.customer || !coupon.usable(at) || !applies {
                return Expect::Fail("coupon_not_usable");
            }
        }
        if let Some(discount) = means.discount
            && !self.discounts[discount].usable(purchase.customer, at)
        {
            return Expect::Fail("discount_not_usable");
        }
        match self.draw_with(purchase, means, payer) {
            Ok(_) => Expect::Ok,
            Err(_) => Expect::Fail("insufficient_funds"),
        }
    }

    pub(super) fn apply_payment(&mut self, purchase: &Purchase, means: Means<'_>, payer: Who, at: i64) {
        let draw = self.draw_with(purchase, means, payer).expect("the payment was expected to succeed");
        for (&coupon, taken) in means.coupons.iter().zip(&draw.coupons) {
            self.coupons[coupon].remaining -= taken;
            self.platform.coupon_redeemed += taken;
            if self.coupons[coupon].ratio.is_some() {
                self.pickup.on_orders += taken;
            }
        }
        self.pickup.capped += draw.capped;
        if let Some(discount) = means.discount {
            let covered = purchase.orders.iter().filter(|&&order| self.discounts[discount].covers(self.orders[order].service)).count();
            self.partly_discounted += u64::from(covered < purchase.orders.len());
        }
        let customer = purchase.customer;
        let record = &self.customers[customer];
        // A partner-paid bill of a referral customer is the customer's to invoice (SPEC 5).
        let owner = if matches!(payer, Who::Partner(_)) && record.link == Link::Referral { Who::Customer(customer) } else { payer };
        let partner = record.associated_partner();
        for (&order, &(due, _, allocated, cash, credit)) in purchase.orders.iter().zip(&draw.orders) {
            let funds = self.funds_mut(payer);
            funds.allocated -= allocated;
            funds.cash -= cash;
            funds.credit_used += credit;
            self.platform.revenue += allocated + cash + credit;
            let bill = self.add_bill(owner, Some(customer), at, allocated + cash + credit);
            self.bills[bill].id = Some(self.orders[order].id.clone());
            let order = &mut self.orders[order];
            order.status = OrderStatus::Paid;
            order.payer = Some(payer);
            (order.paid_allocated, order.paid_cash, order.paid_credit) = (allocated, cash, credit);
            order.discount = order.amount - due;
            order.funder = partner.filter(|_| allocated > 0);
            // The partner's payment ends the request; a customer's leaves a rejection shown.
            if matches!(payer, Who::Partner(_)) {
                order.request = None;
            }
            order.bill = Some(bill);
            order.bill_owner = Some(owner);
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
        if refund > order.refundable() {
            return Expect::Fail("refund_exceeds_paid");
        }
        Expect::Ok
    }

    /// The refund goes back to the payer, part by part: its credit (up to what this order drew
    /// and what is in use); then what the order drew from `allocated`, to the customer's
    /// `allocated` while it is still a resale customer of the partner that funded it, otherwise
    /// to that partner's cash; then the payer's cash, debt first.
    pub(super) fn apply_refund(&mut self, order: usize, refund: i64, at: i64) {
        let record = &self.orders[order];
        let (payer, customer, funder) = (record.payer.expect("a paid order has a payer"), record.customer, record.funder);
        let owner = record.bill_owner.unwrap_or(payer);
        let credit = refund.min(record.paid_credit).min(self.funds(payer).credit_used.max(0));
        let from_allocated = (refund - credit).min(record.paid_allocated);
        let cash = refund - credit - from_allocated;
        self.orders[order].status = OrderStatus::Unsubscribed;
        self.platform.revenue -= refund;
        self.funds_mut(payer).credit_used -= credit;
        let holder = &self.customers[customer];
        let still_funded = holder.link == Link::Resale && Some(holder.partner) == funder;
        match funder {
            Some(funder) if from_allocated > 0 && !still_funded => self.partners[funder].funds.cash += from_allocated,
            _ => self.customers[customer].funds.receive_allocated(from_allocated),
        }
        self.funds_mut(payer).receive(cash);
        self.add_bill(owner, Some(customer), at, -refund);
    }

    /// Usage: the customer's coupons usable now that cover the service (by `valid_until`, then
    /// id), then `allocated`, cash and credit; the rest becomes debt.
    pub(super) fn apply_usage(&mut self, customer: usize, amount: i64, service: &str, at: i64) {
        let mut coupons: Vec<usize> = self.customers[customer]
            .coupons
            .iter()
            .copied()
            .filter(|&coupon| self.coupons[coupon].usable(at) && self.coupons[coupon].covers(service))
            .collect();
        coupons
            .sort_by(|&a, &b| (self.coupons[a].valid_until, &self.coupons[a].id).cmp(&(self.coupons[b].valid_until, &self.coupons[b].id)));
        let mut need = amount;
        for coupon in coupons {
            let take = need.min(self.coupons[coupon].remaining);
            self.coupons[coupon].remaining -= take;
            need -= take;
            if self.coupons[coupon].ratio.is_some() {
                self.pickup.on_usage += take;
            }
        }
        let coupon = amount - need;
        let funds = &mut self.customers[customer].funds;
        let allocated = need.min(funds.allocated.max(0));
        let cash = (need - allocated).min(funds.available().max(0));
        let credit = (need - allocated - cash).min(funds.credit_left());
        let debt = need - allocated - cash - credit;
        funds.allocated -= allocated;
        funds.cash -= cash;
        funds.credit_used += credit;
        funds.debt += debt;
        self.platform.coupon_redeemed += coupon;
        self.platform.revenue += need;
        self.add_bill(Who::Customer(customer), Some(customer), at, need);
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

    /// Money invoiced but since given back (欠票): `max(0, -(invoiceable remaining))`.
    pub(super) fn over_invoiced(&self, who: Who) -> i64 {
        (-self.invoiceable_total(who)).max(0)
    }

    /// What a party may withdraw (SPEC 3): its available cash, less for a partner its resale
    /// customers' debt, less what it over-invoiced. A customer's `allocated` never counts.
    pub(super) fn withdrawable(&self, who: Who) -> i64 {
        let debt: i64 = match who {
            Who::Partner(partner) => self.partners[partner]
                .customers
                .iter()
                .map(|&customer| &self.customers[customer])
                .filter(|customer| customer.resale() && customer.partner == partner)
                .map(|customer| customer.funds.debt)
                .sum(),
            Who::Customer(_) => 0,
        };
        (self.funds(who).available() - debt - self.over_invoiced(who)).max(0)
    }

    /// Unbinding a resale customer, or switching it to referral: all of its `allocated` back to
    /// its partner, and every usable coupon that partner issued back to its quota. Returns the
    /// amount and the coupons reclaimed.
    pub(super) fn reclaim_from(&mut self, customer: usize, at: i64) -> (i64, u64) {
        let partner = self.customers[customer].partner;
        let allocated = self.customers[customer].funds.allocated.max(0);
        self.customers[customer].funds.allocated -= allocated;
        self.partners[partner].funds.cash += allocated;
        let coupons: Vec<usize> = self.customers[customer]
            .coupons
            .iter()
            .copied()
            .filter(|&coupon| {
                let record = &self.coupons[coupon];
                record.usable(at) && record.ratio.is_none() && self.quotas[record.quota].owner == partner
            })
            .collect();
        for &coupon in &coupons {
            let destination = self.reclaim_destination(self.coupons[coupon].quota);
            let remaining = std::mem::take(&mut self.coupons[coupon].remaining);
            self.coupons[coupon].ended = true;
            self.return_coupon_value(destination, remaining);
        }
        (allocated, coupons.len() as u64)
    }

    /// Whether the customer holds a usable pickup voucher: unbinding or switching to referral
    /// is then `association_blocked` (pickup vouchers are never reclaimed automatically).
    pub(super) fn holds_pickup(&self, customer: usize, at: i64) -> bool {
        self.customers[customer].coupons.iter().any(|&coupon| self.coupons[coupon].ratio.is_some() && self.coupons[coupon].usable(at))
    }

    /// What blocks a resale association (SPEC 3 `associate`): allocated funds, debt, credit in use
    /// or a credit limit, a usable coupon. The customer's own cash may stay.
    pub(super) fn resale_blocked(&self, customer: usize, at: i64) -> bool {
        let record = &self.customers[customer];
        let funds = record.funds;
        funds.allocated != 0
            || funds.debt != 0
            || funds.credit_used != 0
            || funds.credit_limit > 0
            || record.coupons.iter().any(|&coupon| self.coupons[coupon].usable(at))
    }
}
