//! The month: the generator's state, the path every command takes into the script, and the
//! calendar: business days, each customer's day, special events and the month end.

use super::model::{Model, PartnerKind, Purchase, Who};
use super::orders::PayBy;
use super::rng::Rng;
use super::script::{Expect, Script, Tag};
use super::{DAY, FUNDING_DAYS, HOUR, INVOICE_FIRST_DAY, LAST_BUSINESS_DAY, MONTH_END_DAY, MONTH_START, cny};
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

pub(super) struct Demo {
    pub(super) rng: Rng,
    pub(super) model: Model,
    pub(super) script: Script,
    pub(super) counters: Counters,
    /// Purchases to pay on a later day: (day, purchase).
    pub(super) deferred: Vec<(u32, Purchase)>,
    /// Rejected withdrawals their requester deletes: (day, withdrawal).
    pub(super) deletions: Vec<(u32, usize)>,
    /// The refusals provoked so far, by error code.
    pub(super) refusals: BTreeMap<&'static str, u64>,
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
