//! Invoices: requested and matched to bills (customers from the 26th; partners on the last
//! business day, from the calendar), and some returned the next day.

use super::model::{Invoice, Who};
use super::month::Demo;
use super::script::{Expect, Tag};
use super::{cny, money};
use serde_json::json;

/// The month's billing cycle (UTC+8): every bill of the demo falls in it.
const MONTH_CYCLE: &str = "2026-11";

/// What an invoice request names: an amount, the month's cycle, or bills.
pub(super) enum Basis {
    Amount(i64),
    Cycle,
    Bills(Vec<usize>),
}

impl Demo {
    pub(super) fn request_invoice(&mut self, who: Who, amount: i64, day: u32) {
        self.request_invoice_by(who, Basis::Amount(amount), day);
    }

    /// An invoice by amount (matched as SPEC 5 says), by the billing cycle (every item of the
    /// month with value left, negatives included) or by bills (each one's remaining value).
    pub(super) fn request_invoice_by(&mut self, who: Who, basis: Basis, day: u32) {
        let (expect, matched) = self.invoice_expectation(who, &basis);
        self.counters.invoice += 1;
        let id = format!("inv-{:05}", self.counters.invoice);
        let party = self.model.party(who);
        let mut command = json!({"op": "request_invoice", "invoice": id, "party": party});
        let tag = match &basis {
            Basis::Amount(amount) => {
                command["amount"] = json!(money(*amount));
                Tag::Invoice { basis: 0 }
            }
            Basis::Cycle => {
                command["cycles"] = json!([MONTH_CYCLE]);
                Tag::Invoice { basis: 1 }
            }
            Basis::Bills(bills) => {
                command["bills"] = json!(bills.iter().map(|&bill| self.model.bills[bill].id.clone()).collect::<Vec<_>>());
                Tag::Invoice { basis: 2 }
            }
        };
        self.send(&party, command, expect, tag);
        if expect == Expect::Ok {
            for &(bill, amount) in &matched {
                self.model.bills[bill].invoiced += amount;
            }
            let amount = matched.iter().map(|&(_, amount)| amount).sum();
            self.model.invoices.push(Invoice { id, who, amount, day, matched });
        }
    }

    /// What the ledger must answer, and what it matches when it accepts.
    fn invoice_expectation(&self, who: Who, basis: &Basis) -> (Expect, Vec<(usize, i64)>) {
        let model = &self.model;
        if model.funds(who).debt > 0 {
            return (Expect::Fail("debt_outstanding"), Vec::new());
        }
        let in_full = |bills: &mut dyn Iterator<Item = usize>| -> Vec<(usize, i64)> {
            bills.map(|bill| (bill, model.bills[bill].remaining())).collect()
        };
        let matched = match basis {
            Basis::Amount(amount) if *amount > model.invoiceable_total(who) => return (Expect::Fail("exceeds_invoiceable"), Vec::new()),
            Basis::Amount(amount) => return (Expect::Ok, model.match_invoice(who, *amount)),
            Basis::Cycle => in_full(&mut model.bills_of(who).iter().copied().filter(|&bill| model.bills[bill].remaining() != 0)),
            Basis::Bills(bills) => in_full(&mut bills.iter().copied()),
        };
        if matched.iter().any(|&(_, remaining)| remaining == 0) {
            return (Expect::Fail("already_invoiced"), Vec::new());
        }
        if matched.iter().map(|&(_, remaining)| remaining).sum::<i64>() <= 0 {
            return (Expect::Fail("exceeds_invoiceable"), Vec::new());
        }
        (Expect::Ok, matched)
    }

    /// Up to three of the party's order payment bills with value left to invoice.
    fn open_payment_bills(&self, who: Who) -> Vec<usize> {
        let bills = self.model.bills_of(who).iter().copied();
        let open: Vec<usize> =
            bills.filter(|&bill| self.model.bills[bill].id.is_some() && self.model.bills[bill].remaining() > 0).collect();
        open[open.len().saturating_sub(3)..].to_vec()
    }

    /// A bill invoiced in full named again in an invoice by bills: refused.
    pub(super) fn invoice_invoiced_bill(&mut self, day: u32) {
        let found = (0..self.model.customers.len()).find_map(|customer| {
            let who = Who::Customer(customer);
            let bills = self.model.bills_of(who);
            let bill = bills.iter().copied().find(|&bill| {
                let record = &self.model.bills[bill];
                record.id.is_some() && record.invoiceable > 0 && record.remaining() == 0
            });
            bill.filter(|_| self.model.customers[customer].funds.debt == 0).map(|bill| (who, bill))
        });
        if let Some((who, bill)) = found {
            self.request_invoice_by(who, Basis::Bills(vec![bill]), day);
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
                let bills = self.open_payment_bills(who);
                let basis = match self.rng.below(10) {
                    0..2 => Basis::Cycle,
                    2..4 if !bills.is_empty() => Basis::Bills(bills),
                    _ if self.rng.chance(600) => Basis::Amount(total),
                    _ => Basis::Amount(self.rng.range(1, total)),
                };
                self.request_invoice_by(who, basis, day);
            }
        }
    }
}
