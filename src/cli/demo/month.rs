//! The month: the generator's state, the path every command takes into the script, and the
//! calendar: business days, each customer's day, special events and the month end.

use super::invoices::Basis;
use super::model::{Model, PartnerKind, Purchase, Who};
use super::rng::Rng;
use super::script::{Expect, Script, Tag};
use super::{DAY, FUNDING_DAYS, HOUR, INVOICE_FIRST_DAY, LAST_BUSINESS_DAY, MONTH_END_DAY, MONTH_START, READ_DAYS, cny};
use serde_json::Value;
use std::collections::BTreeMap;

/// Sequence numbers of the ids the script makes up.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) order: usize,
    pub(super) combined: usize,
    pub(super) coupon: usize,
    pub(super) withdrawal: usize,
    pub(super) invoice: usize,
}

/// Who moves a partner's money: a partner (itself, or its distributor on its behalf) or an
/// operator acting for it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum By {
    Partner(usize),
    Operator(usize),
}

pub(super) struct Demo {
    pub(super) rng: Rng,
    pub(super) model: Model,
    pub(super) script: Script,
    pub(super) counters: Counters,
    /// Purchases to pay on a later day: (day, purchase).
    pub(super) deferred: Vec<(u32, Purchase)>,
    /// Rejected withdrawals their requester deletes: (day, withdrawal).
    pub(super) deletions: Vec<(u32, usize)>,
    /// Purchases whose customer asked its partner to pay (代付), awaiting the partner's answer.
    pub(super) requests: Vec<Purchase>,
    /// Resale customers that received an SLA credit into their own cash.
    pub(super) credited: Vec<usize>,
    /// The refusals provoked so far, by error code.
    pub(super) refusals: BTreeMap<&'static str, u64>,
    /// Customers as created: resale, referral, unassociated.
    pub(super) created: [u64; 3],
}

// Sending a command, and who sends it.
impl Demo {
    pub(super) fn send(&mut self, actor: &str, command: Value, expect: Expect, tag: Tag) -> Expect {
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
    pub(super) fn acting_for(&mut self, partner: usize, per_mille: u64) -> usize {
        match self.model.partners[partner].parent {
            Some(parent) if self.rng.chance(per_mille) => parent,
            _ => partner,
        }
    }

    /// Who moves `partner`'s funds: now and then a reseller's distributor (`per_mille`), often
    /// the partner's finance operator when it has one, else the partner itself.
    pub(super) fn funds_actor(&mut self, partner: usize, per_mille: u64) -> By {
        let actor = self.acting_for(partner, per_mille);
        if actor != partner {
            return By::Partner(actor);
        }
        match self.model.partners[partner].finance {
            Some(operator) if !self.model.operators[operator].disabled && self.rng.chance(400) => By::Operator(operator),
            _ => By::Partner(partner),
        }
    }

    pub(super) fn by_party(&self, by: By) -> String {
        match by {
            By::Partner(partner) => self.model.partner_party(partner),
            By::Operator(operator) => self.model.operator_party(operator),
        }
    }

    pub(super) fn customer_party(&self, customer: usize) -> String {
        self.model.party(Who::Customer(customer))
    }
}

// The calendar.
impl Demo {
    pub(super) fn generate(customers: u32, seed: u64) -> Demo {
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
            requests: Vec::new(),
            credited: Vec::new(),
            refusals: BTreeMap::new(),
            created: [0; 3],
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
            if self.model.customers[customer].joins_on == Some(day) {
                self.join_as_resale(customer);
            }
        }
        self.answer_requests();
        self.deferred_payments(day);
        let mut active: Vec<usize> =
            (0..self.model.customers.len()).filter(|&customer| self.model.customers[customer].signup_day <= day).collect();
        self.rng.shuffle(&mut active);
        for customer in active {
            self.customer_day(customer, day);
        }
        self.special_events(day);
        if READ_DAYS.contains(&day) {
            self.reads(day);
        }
        if day >= INVOICE_FIRST_DAY {
            self.customer_invoices(day);
        }
        if day == LAST_BUSINESS_DAY {
            for partner in 0..self.model.partners.len() {
                let total = self.model.invoiceable_total(Who::Partner(partner));
                // Half the partners invoice the month's billing cycle, the others the amount.
                if total > 0 && partner % 2 == 0 {
                    self.request_invoice_by(Who::Partner(partner), Basis::Cycle, day);
                } else if total > 0 {
                    self.request_invoice(Who::Partner(partner), total, day);
                }
            }
        }
    }

    fn customer_day(&mut self, customer: usize, day: u32) {
        let record = &self.model.customers[customer];
        let (usage, resale, enterprise) = (record.usage_per_day, record.resale(), record.enterprise);
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
        let who = Who::Customer(customer);
        if !resale {
            if funds.credit_used > 0 && funds.available() > 0 && self.rng.chance(150) {
                let actor = if self.rng.chance(200) { "platform".to_owned() } else { self.customer_party(customer) };
                self.repay_credit(who, &actor, funds.available().min(funds.credit_used));
            }
            if funds.available() >= cny(200) && self.rng.chance(3) {
                let amount = funds.available() * self.rng.range(20, 80) / 100;
                self.request_withdrawal(who, None, amount, day);
            }
        } else if funds.allocated > cny(1_000) && self.rng.chance(3) {
            let amount = funds.allocated * self.rng.range(20, 60) / 100;
            self.recover(customer, amount, "unused budget");
        } else if self.model.withdrawable(who) >= cny(100) && self.rng.chance(20) {
            // A resale customer's own money (what it had before joining, SLA credits) is its own to withdraw.
            let amount = self.model.withdrawable(who) / 2;
            self.request_withdrawal(who, None, amount, day);
        }
    }

    fn special_events(&mut self, day: u32) {
        let customers = self.model.customers.len();
        match day {
            3 | 10 => self.grant_discounts(day),
            5 | 14 => self.issue_pickup_vouchers(day),
            21 => self.revoke_discount(),
            12 => self.outage(day),
            13 => self.unrecoverable_credits(),
            15 => self.rebalance_managers(),
            16 => self.switch_to_resale(),
            18 => {
                let now = self.script.now();
                for coupon in 0..self.model.coupons.len() {
                    if self.model.coupons[coupon].usable(now) && self.rng.chance(30) {
                        self.reclaim_coupon(coupon);
                    }
                }
            }
            20 => self.partner_day_20(day),
            22 => self.unbind_and_refund(),
            24 => self.switch_to_referral(),
            25 => self.disable_operator(),
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
                    if record.signup_day <= day && record.resale() && record.funds.allocated > cny(3_000) && self.rng.chance(500) {
                        let amount = record.funds.allocated / 2;
                        self.recover(customer, amount, "month-end budget review");
                    }
                }
            }
            _ => {}
        }
    }

    /// An outage: SLA credits for some customers (into their own cash, resale or not), and a
    /// coupon campaign.
    fn outage(&mut self, day: u32) {
        let customers = self.model.customers.len();
        let signed_up = |demo: &Demo, customer: usize| demo.model.customers[customer].signup_day <= day;
        for _ in 0..(customers / 200).max(1) {
            let customer = self.rng.index(customers);
            if signed_up(self, customer) {
                let amount = self.rng.yuan(10, 200);
                self.compensate(Who::Customer(customer), amount, "SLA credit: ecs outage on 2026-11-11");
                if self.model.customers[customer].resale() {
                    self.credited.push(customer);
                }
            }
        }
        for customer in 0..customers {
            if signed_up(self, customer) && self.model.customers[customer].resale() && self.rng.chance(100) {
                let face_value = self.rng.yuan(20, 200);
                self.issue_coupon(customer, true, face_value);
            }
        }
    }

    /// Fees deducted from two partners; partners withdraw part of their cash (their finance
    /// operators, where they have one, and one of them asks twice); one reseller asks for more
    /// than it may withdraw (its resale customers' debt is kept back).
    fn partner_day_20(&mut self, day: u32) {
        for id in ["D2", "S1"] {
            let partner = self.model.partner_index(id);
            let amount = self.rng.yuan(100, 500);
            self.deduct(Who::Partner(partner), amount, "late payment fee");
        }
        let mut asked_twice = false;
        for partner in 0..self.model.partners.len() {
            let who = Who::Partner(partner);
            let withdrawable = self.model.withdrawable(who);
            let finance = self.model.partners[partner].finance;
            match self.model.partners[partner].kind {
                PartnerKind::Reseller if partner == 1 => self.request_withdrawal(who, finance, withdrawable + cny(1_000), day),
                PartnerKind::Reseller => {}
                _ if withdrawable >= cny(100) => {
                    self.request_withdrawal(who, finance, withdrawable / 20, day);
                    if !asked_twice && finance.is_some() {
                        // A second request while the first is pending: one at a time.
                        self.request_withdrawal(who, None, withdrawable / 40, day);
                        asked_twice = true;
                    }
                }
                _ => {}
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
        self.provoke_v2_refusals(MONTH_END_DAY);
        self.provoke_discount_refusals();
        self.invoice_invoiced_bill(MONTH_END_DAY);
        self.pickup_reads();
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
