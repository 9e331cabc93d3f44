//! Money: recharges, allocations and recoveries, reseller funding, credit lines and adjustments;
//! the weekly funding of partners, and customers' top-ups.

use super::model::{PartnerKind, Who};
use super::month::Demo;
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

    pub(super) fn allocate(&mut self, actor: usize, partner: usize, to: Who, amount: i64, memo: &str) -> Expect {
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

    pub(super) fn recover(&mut self, customer: usize, amount: i64, memo: &str) {
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

    pub(super) fn set_credit_limit(&mut self, who: Who, limit: i64) {
        let command = json!({"op": "set_credit_limit", "party": self.model.party(who), "limit": money(limit)});
        self.send("platform", command, Expect::Ok, Tag::Other);
        self.model.funds_mut(who).credit_limit = limit;
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
        self.send("platform", command, Expect::Ok, Tag::Compensation);
        self.model.platform.revenue -= amount;
        self.model.funds_mut(who).receive(amount);
        self.model.add_bill(who, at, -amount);
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
            self.model.add_bill(who, at, amount);
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
    /// by recharge (referral). Incoming money repays debt first.
    pub(super) fn top_up(&mut self, customer: usize) {
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
}
