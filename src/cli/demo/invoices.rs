//! Invoices: requested and matched to bills (customers from the 26th; partners on the last
//! business day, from the calendar), and some returned the next day.

use super::model::{Invoice, Who};
use super::month::Demo;
use super::script::{Expect, Tag};
use super::{cny, money};
use serde_json::json;

impl Demo {
    pub(super) fn request_invoice(&mut self, who: Who, amount: i64, day: u32) {
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
    pub(super) fn return_invoices(&mut self, day: u32) {
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

    /// Late in the month customers ask for invoices; some in debt try and are refused.
    pub(super) fn customer_invoices(&mut self, day: u32) {
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
}
