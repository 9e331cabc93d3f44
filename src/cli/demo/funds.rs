//! Money: recharges, allocations (into a customer's `allocated`) and recoveries (from it only),
//! reseller funding, credit lines and adjustments; the weekly funding of partners, and
//! customers' top-ups.

use super::model::{Link, PartnerKind, Who};
use super::month::{By, Demo};
use super::script::{Expect, Tag};
use super::{cny, money};
use serde_json::{Value, json};

impl Demo {
    pub(super) fn recharge(&mut self, who: Who, amount: i64) {
        let command = json!({"op": "recharge", "party": self.model.party(who), "amount": money(amount)});
        self.send("platform", command, Expect::Ok, Tag::Recharge);
        self.model.platform.bank -= amount;
        self.model.funds_mut(who).receive(amount);
    }

    /// `by` moves `partner`'s funds to `to`: a customer's `allocated` (debt first), a reseller's cash.
    pub(super) fn allocate(&mut self, by: By, partner: usize, to: Who, amount: i64, memo: &str) -> Expect {
        let expect = match to {
            Who::Customer(customer) if self.model.customers[customer].associated_partner() != Some(partner) => {
                Expect::Fail("not_your_customer")
            }
            Who::Customer(customer) if !self.model.customers[customer].resale() => Expect::Fail("not_resale_customer"),
            _ if self.model.partners[partner].funds.available() < amount => Expect::Fail("insufficient_funds"),
            _ => Expect::Ok,
        };
        let mut command = json!({"op": "allocate", "to": self.model.party(to), "amount": money(amount), "memo": memo});
        let on_behalf = matches!(by, By::Partner(actor) if actor != partner);
        if on_behalf {
            command["partner"] = json!(self.model.partners[partner].id);
        }
        let tag = Tag::Allocate { partner, to_customer: matches!(to, Who::Customer(_)), on_behalf, amount };
        let actor = self.by_party(by);
        self.send(&actor, command, expect, tag);
        if expect == Expect::Ok {
            self.model.partners[partner].funds.cash -= amount;
            match to {
                Who::Customer(customer) => self.model.customers[customer].funds.receive_allocated(amount),
                Who::Partner(reseller) => self.model.partners[reseller].funds.receive(amount),
            }
        }
        expect
    }

    /// The partner (its distributor, or its finance operator) takes back part of a customer's
    /// `allocated`; never its own cash (`insufficient_funds` beyond `allocated`).
    pub(super) fn recover(&mut self, customer: usize, amount: i64, memo: &str) -> Expect {
        let partner = self.model.customers[customer].partner;
        let by = self.funds_actor(partner, 250);
        let expect = if self.model.customers[customer].funds.allocated < amount { Expect::Fail("insufficient_funds") } else { Expect::Ok };
        let mut command = json!({"op": "recover", "from": self.customer_party(customer), "amount": money(amount), "memo": memo});
        let on_behalf = matches!(by, By::Partner(actor) if actor != partner);
        if on_behalf {
            command["partner"] = json!(self.model.partners[partner].id);
        }
        let actor = self.by_party(by);
        self.send(&actor, command, expect, Tag::Recover { partner, on_behalf, amount });
        if expect == Expect::Ok {
            self.model.customers[customer].funds.allocated -= amount;
            self.model.partners[partner].funds.cash += amount;
        }
        expect
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
        let by = self.funds_actor(distributor, 0);
        let actor = self.by_party(by);
        self.send(&actor, json!({"op": "atomic", "commands": commands}), expect, Tag::FundResellers { amount: total });
        if expect == Expect::Ok {
            for &(reseller, amount) in grants {
                self.model.partners[distributor].funds.cash -= amount;
                self.model.partners[reseller].funds.cash += amount;
            }
        }
    }

    /// A credit line; a resale customer has none (`resale_customer`, SPEC v2).
    pub(super) fn set_credit_limit(&mut self, who: Who, limit: i64) -> Expect {
        let resale = matches!(who, Who::Customer(customer) if self.model.customers[customer].resale());
        let expect = if resale && limit > 0 { Expect::Fail("resale_customer") } else { Expect::Ok };
        let command = json!({"op": "set_credit_limit", "party": self.model.party(who), "limit": money(limit)});
        self.send("platform", command, expect, Tag::Other);
        if expect == Expect::Ok {
            self.model.funds_mut(who).credit_limit = limit;
        }
        expect
    }

    pub(super) fn repay_credit(&mut self, who: Who, actor: &str, amount: i64) {
        let command = json!({"op": "repay_credit", "party": self.model.party(who), "amount": money(amount)});
        self.send(actor, command, Expect::Ok, Tag::Other);
        let funds = self.model.funds_mut(who);
        debug_assert!(amount <= funds.credit_used && amount <= funds.available());
        funds.cash -= amount;
        funds.credit_used -= amount;
    }

    pub(super) fn compensate(&mut self, who: Who, amount: i64, reason: &str) {
        let command =
            json!({"op": "adjust", "party": self.model.party(who), "direction": "compensate", "amount": money(amount), "reason": reason});
        let at = self.script.now();
        let resale = matches!(who, Who::Customer(customer) if self.model.customers[customer].resale());
        self.send("platform", command, Expect::Ok, Tag::Compensation { resale });
        // Into the party's own cash, a resale customer's too: its partner cannot take it back.
        self.model.platform.revenue -= amount;
        self.model.funds_mut(who).receive(amount);
        self.model.add_bill(who, customer_of(who), at, -amount);
    }

    pub(super) fn deduct(&mut self, who: Who, amount: i64, reason: &str) {
        let command =
            json!({"op": "adjust", "party": self.model.party(who), "direction": "deduct", "amount": money(amount), "reason": reason});
        let expect = if self.model.funds(who).available() < amount { Expect::Fail("insufficient_funds") } else { Expect::Ok };
        let at = self.script.now();
        self.send("platform", command, expect, Tag::Other);
        if expect == Expect::Ok {
            self.model.platform.revenue += amount;
            self.model.funds_mut(who).cash -= amount;
            self.model.add_bill(who, customer_of(who), at, amount);
        }
    }

    /// What a partner should hold for the next week: welcome budgets for the resale customers
    /// signing up, and a week's top-ups and payments for those already there.
    fn funding_target(&self, partner: usize, day: u32) -> i64 {
        let customers = &self.model.partners[partner].customers;
        let week: i64 = customers
            .iter()
            .map(|&customer| &self.model.customers[customer])
            .filter(|customer| customer.link != Link::Referral && customer.signup_day < day + 7)
            .map(|customer| if customer.signup_day < day { 1_000 } else { 2_000 } * if customer.enterprise { 5 } else { 1 })
            .sum();
        (week + 20_000) * 100
    }

    /// Weekly: the platform recharges partners from the bank, distributors fund their resellers
    /// (one atomic group each), and partners repay the credit they used.
    pub(super) fn fund_partners(&mut self, day: u32) {
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

    /// A customer low on money or in debt gets some, now and then: from its partner (resale) or
    /// by recharge (the others). Incoming money repays debt first.
    pub(super) fn top_up(&mut self, customer: usize) {
        let record = &self.model.customers[customer];
        let (funds, partner, link, scale) = (record.funds, record.partner, record.link, if record.enterprise { 5 } else { 1 });
        if funds.spendable() >= cny(200) && funds.debt == 0 {
            return;
        }
        let attention = if record.neglected { 40 } else { 300 };
        if link == Link::Resale && self.rng.chance(attention) {
            let amount = funds.debt + self.rng.yuan(300, 2_000) * scale;
            if self.rng.chance(20) {
                // Another partner picks the wrong customer: refused, nothing moves.
                let wrong = (partner + 1 + self.rng.index(self.model.partners.len() - 1)) % self.model.partners.len();
                self.allocate(By::Partner(wrong), wrong, Who::Customer(customer), amount, "budget top-up");
            }
            let by = self.funds_actor(partner, 250);
            self.allocate(by, partner, Who::Customer(customer), amount, "budget top-up");
        } else if link != Link::Resale && self.rng.chance(350) {
            if link == Link::Referral && self.rng.chance(30) {
                // Its partner tries to fund a referral customer: refused, referral customers pay for themselves.
                self.allocate(By::Partner(partner), partner, Who::Customer(customer), cny(100), "goodwill");
            }
            let amount = funds.debt + self.rng.yuan(200, 2_000) * scale;
            self.recharge(Who::Customer(customer), amount);
        }
    }
}

/// The customer a party's bill is about, when the party is one.
fn customer_of(who: Who) -> Option<usize> {
    match who {
        Who::Customer(customer) => Some(customer),
        Who::Partner(_) => None,
    }
}
