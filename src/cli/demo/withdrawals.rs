//! Withdrawals: requested, approved or rejected by the platform, and deleted by their requester.

use super::model::{Who, Withdrawal, WithdrawalStatus};
use super::money;
use super::month::Demo;
use super::script::{Expect, Tag};
use serde_json::json;

impl Demo {
    /// `who` (or `operator`, a partner's finance operator) asks to withdraw `amount`: refused
    /// while another of its withdrawals is pending (`withdrawal_state`) or above what it may
    /// withdraw (`insufficient_funds`). A resale customer withdraws only its own cash.
    pub(super) fn request_withdrawal(&mut self, who: Who, operator: Option<usize>, amount: i64, day: u32) {
        let expect = if self.model.pending_withdrawal(who).is_some() {
            Expect::Fail("withdrawal_state")
        } else if amount > self.model.withdrawable(who) {
            Expect::Fail("insufficient_funds")
        } else {
            Expect::Ok
        };
        self.counters.withdrawal += 1;
        let id = format!("wd-{:05}", self.counters.withdrawal);
        let party = self.model.party(who);
        let actor = operator.map_or_else(|| party.clone(), |operator| self.model.operator_party(operator));
        let command = json!({"op": "request_withdrawal", "withdrawal": id, "party": party, "amount": money(amount)});
        let resale = matches!(who, Who::Customer(customer) if self.model.customers[customer].resale());
        self.send(&actor, command, expect, Tag::Withdrawal { amount, resale });
        if expect == Expect::Ok {
            self.model.funds_mut(who).held += amount;
            self.model.withdrawals.push(Withdrawal { id, who, amount, day, status: WithdrawalStatus::Pending });
        }
    }

    /// The platform handles the requests of earlier days; rejected ones are sometimes deleted by
    /// their requester the next day.
    pub(super) fn process_withdrawals(&mut self, day: u32) {
        for index in 0..self.model.withdrawals.len() {
            let withdrawal = &self.model.withdrawals[index];
            if withdrawal.status != WithdrawalStatus::Pending || withdrawal.day >= day {
                continue;
            }
            let (id, who, amount) = (withdrawal.id.clone(), withdrawal.who, withdrawal.amount);
            let tag = Tag::Withdrawal { amount, resale: false };
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
            let tag = Tag::Withdrawal { amount, resale: false };
            self.send(&party, json!({"op": "delete_withdrawal", "withdrawal": withdrawal.id}), Expect::Ok, tag);
            self.model.withdrawals[index].status = WithdrawalStatus::Deleted;
        }
    }
}
