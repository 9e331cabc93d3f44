//! Month-end refusals: a small month may not run into every refusal by chance, so each one
//! still missing is provoked once; and the v2 rules are each shown refusing once: a credit line
//! for a resale customer, paying while a partner-payment request is open, a second pending
//! withdrawal, an operator outside its roles, asking for partner payment without a partner or as
//! a distributor's referral customer, and withdrawing over-invoiced money.

use super::model::{Link, PartnerKind, Who};
use super::month::{By, Demo};
use super::orders::PayBy;
use super::script::{Expect, Tag};
use super::{cny, money};
use serde_json::json;

impl Demo {
    pub(super) fn provoke_missing_refusals(&mut self, day: u32) {
        let customers = self.model.customers.len();
        let resale = (0..customers).find(|&customer| self.model.customers[customer].resale());
        let referral = (0..customers).find(|&customer| self.model.customers[customer].link == Link::Referral);
        let missing = |demo: &Demo, code: &str| !demo.refusals.contains_key(code);
        if let Some(customer) = resale.filter(|_| missing(self, "not_your_customer")) {
            let wrong = (self.model.customers[customer].partner + 1) % self.model.partners.len();
            self.allocate(By::Partner(wrong), wrong, Who::Customer(customer), cny(100), "budget top-up");
        }
        if let Some(customer) = referral.filter(|_| missing(self, "not_resale_customer")) {
            let partner = self.model.customers[customer].partner;
            self.allocate(By::Partner(partner), partner, Who::Customer(customer), cny(100), "goodwill");
        }
        if let Some(customer) = referral.filter(|_| missing(self, "insufficient_funds")) {
            let amount = self.model.withdrawable(Who::Customer(customer)) + cny(1_000);
            self.request_withdrawal(Who::Customer(customer), None, amount, day);
        }
        if missing(self, "debt_outstanding") {
            // The month's last usage runs a customer into debt, and it asks for an invoice anyway.
            let customer = (0..customers).find(|&customer| self.model.customers[customer].funds.debt > 0).unwrap_or(0);
            let funds = self.model.customers[customer].funds;
            if funds.debt == 0 {
                let coupons: i64 = self.model.customers[customer].coupons.iter().map(|&coupon| self.model.coupons[coupon].remaining).sum();
                self.consume(customer, (funds.spendable() + funds.credit_left() + coupons + cny(50)) * 1_000_000 + 12_345_678);
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

    pub(super) fn provoke_v2_refusals(&mut self, day: u32) {
        let customers = self.model.customers.len();
        let find = |demo: &Demo, test: &dyn Fn(&Demo, usize) -> bool| (0..customers).find(|&customer| test(demo, customer));
        if let Some(customer) = find(self, &|demo, customer| demo.model.customers[customer].resale()) {
            self.set_credit_limit(Who::Customer(customer), cny(1_000));
            // Paying while its request is open: refused; the request stays open past the month end.
            let purchase = self.place(customer, 1, false);
            if self.ask_partner(&purchase) == Expect::Ok {
                self.pay(&purchase, &[], PayBy::Customer);
            }
        }
        let pending = self.model.withdrawals.iter().find(|withdrawal| withdrawal.status == super::model::WithdrawalStatus::Pending);
        if let Some(who) = pending.map(|withdrawal| withdrawal.who).filter(|_| !self.refusals.contains_key("withdrawal_state")) {
            self.request_withdrawal(who, None, cny(1), day);
        }
        self.operator_outside_roles();
        let unassociated = find(self, &|demo, customer| demo.model.customers[customer].link == Link::None);
        let distributors_referral = find(self, &|demo, customer| {
            let record = &demo.model.customers[customer];
            record.link == Link::Referral && demo.model.partners[record.partner].kind != PartnerKind::SolutionProvider
        });
        for customer in [unassociated, distributors_referral].into_iter().flatten() {
            // Asking for partner payment without a partner, or as a distributor's referral customer:
            // refused, and the customer pays itself.
            let purchase = self.place(customer, 1, false);
            self.ask_partner(&purchase);
            self.pay_self(&purchase, false);
        }
        if !self.refusals.contains_key("association_blocked")
            && let Some(customer) = find(self, &|demo, customer| {
                let record = &demo.model.customers[customer];
                record.link == Link::Referral && record.funds.credit_limit > 0 && !demo.model.awaits_partner(customer)
            })
        {
            let partner = self.model.partner_party(self.model.customers[customer].partner);
            let command = json!({"op": "switch_association", "customer": self.model.customers[customer].id, "association": "resale"});
            self.send(&partner, command, Expect::Fail("association_blocked"), Tag::Other);
        }
        self.over_invoiced_withdrawal(day);
    }

    /// A customer manager may only read: its allocation is refused.
    fn operator_outside_roles(&mut self) {
        let manager = (0..self.model.operators.len())
            .find(|&operator| self.model.operators[operator].roles == ["customer_manager"] && !self.model.operators[operator].disabled);
        let Some(manager) = manager else { return };
        let partner = self.model.operators[manager].partner;
        let Some(&customer) = self.model.partners[partner].customers.first() else { return };
        let command = json!({"op": "allocate", "to": self.customer_party(customer), "amount": money(cny(100)), "memo": "budget top-up"});
        let actor = self.model.operator_party(manager);
        self.send(&actor, command, Expect::Fail("access_denied"), Tag::Other);
    }

    /// A customer whose bills are all invoiced gets a goodwill credit (a negative bill): that much
    /// of its money is over-invoiced, so asking to withdraw all it holds is refused; it withdraws
    /// the rest.
    fn over_invoiced_withdrawal(&mut self, day: u32) {
        let candidate = (0..self.model.customers.len()).find(|&customer| {
            let who = Who::Customer(customer);
            let record = &self.model.customers[customer];
            record.funds.debt == 0
                && record.funds.available() >= cny(100)
                && self.model.pending_withdrawal(who).is_none()
                && self.model.invoiceable_total(who) == 0
                && self.model.invoices.iter().any(|invoice| invoice.who == who)
        });
        let Some(customer) = candidate else { return };
        let who = Who::Customer(customer);
        self.compensate(who, cny(30), "goodwill credit");
        let available = self.model.customers[customer].funds.available();
        self.request_withdrawal(who, None, available, day);
        let withdrawable = self.model.withdrawable(who);
        self.request_withdrawal(who, None, withdrawable, day);
    }
}
