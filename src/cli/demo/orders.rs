//! Orders: single and combined orders placed, paid (by the customer with coupons, allocated
//! funds, cash and credit, or on request by its partner), paid late, cancelled, unsubscribed
//! and refunded.

use super::model::{Order, OrderStatus, Purchase, Request, Who};
use super::month::{By, Demo};
use super::rules::Means;
use super::script::{Expect, Tag};
use super::{DAY, LAST_BUSINESS_DAY, SERVICES, money, time};
use serde_json::json;

/// Who pays an order: the customer itself, or its partner (`by`: the partner, its distributor or
/// its finance operator).
#[derive(Clone, Copy)]
pub(super) enum PayBy {
    Customer,
    Partner { by: By },
}

impl Demo {
    /// Places one order, or a combined order of `count` orders.
    pub(super) fn place(&mut self, customer: usize, count: usize, short_deadline: bool) -> Purchase {
        let at = self.script.now();
        let pay_deadline = if short_deadline { at + DAY } else { at + 7 * DAY };
        let (mut orders, mut lines, mut total) = (Vec::new(), Vec::new(), 0);
        for _ in 0..count {
            self.counters.order += 1;
            let id = format!("ord-{:07}", self.counters.order);
            let amount = self.order_amount(customer);
            let service = SERVICES[self.rng.index(SERVICES.len())];
            let kind = ["new", "new", "new", "renew", "renew", "change"][self.rng.index(6)];
            lines.push(json!({"order": id, "amount": money(amount), "kind": kind, "service": service}));
            self.model.orders.push(Order {
                id,
                customer,
                amount,
                service,
                kind,
                pay_deadline,
                status: OrderStatus::Pending,
                request: None,
                payer: None,
                paid_allocated: 0,
                paid_cash: 0,
                paid_credit: 0,
                discount: 0,
                funder: None,
                bill: None,
                bill_owner: None,
            });
            orders.push(self.model.orders.len() - 1);
            total += amount;
        }
        self.model.customers[customer].orders.extend(&orders);
        let customer_id = self.model.customers[customer].id.clone();
        let (id, command) = if count == 1 {
            let mut command = lines.pop().expect("one order");
            command["op"] = json!("place_order");
            command["customer"] = json!(customer_id);
            if short_deadline {
                command["pay_deadline"] = json!(time(pay_deadline));
            }
            (self.model.orders[orders[0]].id.clone(), command)
        } else {
            self.counters.combined += 1;
            let id = format!("cmb-{:06}", self.counters.combined);
            (id.clone(), json!({"op": "place_combined_order", "combined": id, "customer": customer_id, "orders": lines}))
        };
        let actor = if self.rng.chance(100) { "platform".to_owned() } else { self.customer_party(customer) };
        self.send(&actor, command, Expect::Ok, Tag::Place { amount: total });
        Purchase { id, customer, orders }
    }

    /// Mostly small orders, some large; enterprise customers buy bigger.
    fn order_amount(&mut self, customer: usize) -> i64 {
        let amount = match self.rng.below(100) {
            0..50 => self.rng.yuan(20, 200),
            50..85 => self.rng.yuan(200, 1000),
            _ => self.rng.yuan(1000, 5000),
        };
        if self.model.customers[customer].enterprise { amount * 3 } else { amount }
    }

    pub(super) fn pay(&mut self, purchase: &Purchase, coupons: &[usize], by: PayBy) -> Expect {
        self.pay_with(purchase, Means::coupons(coupons), by)
    }

    /// Pays with coupons or a business discount (`discount`: never with a partner payer).
    pub(super) fn pay_with(&mut self, purchase: &Purchase, means: Means<'_>, by: PayBy) -> Expect {
        let coupons = means.coupons;
        let customer = purchase.customer;
        let partner = self.model.customers[customer].partner;
        let (payer, actor) = match by {
            PayBy::Customer => (Who::Customer(customer), self.customer_party(customer)),
            PayBy::Partner { by } => (Who::Partner(partner), self.by_party(by)),
        };
        let at = self.script.now();
        let expect = self.model.pay_expectation(purchase, means, payer, at);
        let mut command = json!({"op": "pay_order", "order": purchase.id});
        if let Some(discount) = means.discount {
            command["discount"] = json!(self.model.discounts[discount].id);
        }
        if !coupons.is_empty() {
            command["coupons"] = json!(coupons.iter().map(|&coupon| self.model.coupons[coupon].id.as_str()).collect::<Vec<_>>());
        }
        let by_partner = matches!(by, PayBy::Partner { .. });
        if by_partner {
            command["payer"] = json!("partner");
        }
        let after_rejection =
            !by_partner && purchase.orders.iter().any(|&order| self.model.orders[order].request == Some(Request::Rejected));
        let partner = self.model.customers[customer].associated_partner();
        self.send(&actor, command, expect, Tag::Pay { partner, by_partner, after_rejection });
        if expect == Expect::Ok {
            self.model.apply_payment(purchase, means, payer, at);
        }
        expect
    }

    pub(super) fn cancel(&mut self, purchase: &Purchase) {
        let pending = purchase.orders.iter().all(|&order| self.model.orders[order].status == OrderStatus::Pending);
        let expect = if pending { Expect::Ok } else { Expect::Fail("order_state") };
        let actor = if self.rng.chance(100) { "platform".to_owned() } else { self.customer_party(purchase.customer) };
        self.send(&actor, json!({"op": "cancel_order", "order": purchase.id}), expect, Tag::Other);
        if expect == Expect::Ok {
            for &order in &purchase.orders {
                // Cancelling ends an open partner-payment request too.
                self.model.orders[order].status = OrderStatus::Cancelled;
                self.model.orders[order].request = None;
            }
        }
    }

    pub(super) fn unsubscribe(&mut self, order: usize, refund: i64) -> Expect {
        let expect = self.model.unsubscribe_expectation(order, refund);
        let customer = self.model.orders[order].customer;
        let actor = if self.rng.chance(200) { "platform".to_owned() } else { self.customer_party(customer) };
        let at = self.script.now();
        let command = json!({"op": "unsubscribe", "order": self.model.orders[order].id, "refund": money(refund)});
        self.send(&actor, command, expect, Tag::Other);
        if expect == Expect::Ok {
            self.model.apply_refund(order, refund, at);
        }
        expect
    }

    /// A purchase: one order or a combined order of 2–3, paid now, later (some too late), or cancelled.
    pub(super) fn shop(&mut self, customer: usize, day: u32) {
        let count = if self.rng.chance(200) { self.rng.range(2, 3) as usize } else { 1 };
        let deferred = self.rng.chance(80);
        let short_deadline = deferred && count == 1 && self.rng.chance(400);
        let purchase = self.place(customer, count, short_deadline);
        if deferred {
            let due = day + if short_deadline { self.rng.range(2, 3) } else { self.rng.range(1, 3) } as u32;
            if due <= LAST_BUSINESS_DAY {
                self.deferred.push((due, purchase));
            }
            return;
        }
        if self.rng.chance(20) {
            self.cancel(&purchase);
            return;
        }
        self.checkout(&purchase);
    }

    pub(super) fn deferred_payments(&mut self, day: u32) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred).into_iter().partition(|&(on, _)| on == day);
        self.deferred = later;
        for (_, purchase) in due {
            let now = self.script.now();
            if purchase.orders.iter().any(|&order| now > self.model.orders[order].pay_deadline) {
                // Too late: refused as order_expired, and the customer cancels it.
                self.pay(&purchase, &[], PayBy::Customer);
                self.cancel(&purchase);
            } else {
                self.checkout(&purchase);
            }
        }
    }

    /// Pays a purchase: some customers ask their partner to pay (resale customers, and a
    /// solution provider's referral customers); the others pay with their coupons, allocated
    /// funds, cash and credit; when that falls short, someone steps in or it is cancelled.
    pub(super) fn checkout(&mut self, purchase: &Purchase) {
        let per_mille = if self.model.customers[purchase.customer].resale() { 250 } else { 150 };
        let short_deadline = purchase.orders.iter().any(|&order| self.model.orders[order].pay_deadline < self.script.now() + 2 * DAY);
        if self.may_ask(purchase.customer) && !short_deadline && self.rng.chance(per_mille) && self.ask_partner(purchase) == Expect::Ok {
            return;
        }
        self.pay_self(purchase, true);
    }

    /// The customer pays itself; `may_ask` when it may still turn to its partner (not after a rejection).
    pub(super) fn pay_self(&mut self, purchase: &Purchase, may_ask: bool) {
        if self.pay_discounted(purchase) {
            return;
        }
        let resale = self.model.customers[purchase.customer].resale();
        let coupons = if resale && self.rng.chance(800) { self.usable_coupons(purchase) } else { Vec::new() };
        // Most customers see they cannot afford it before trying; the others are refused first.
        if self.model.draw(purchase, &coupons, Who::Customer(purchase.customer)).is_err() && self.rng.chance(700) {
            self.short_of_funds(purchase, &coupons, may_ask);
            return;
        }
        if resale
            && self.rng.chance(60)
            && let Some(unusable) = self.unusable_coupon(purchase)
        {
            // A customer lists a coupon that expired or is for another service: refused, then paid without it.
            let listed: Vec<usize> = std::iter::once(unusable).chain(coupons.iter().copied().take(2)).collect();
            self.pay(purchase, &listed, PayBy::Customer);
        }
        if self.pay(purchase, &coupons, PayBy::Customer) == Expect::Fail("insufficient_funds") {
            self.short_of_funds(purchase, &coupons, may_ask);
        }
    }

    fn short_of_funds(&mut self, purchase: &Purchase, coupons: &[usize], may_ask: bool) {
        let customer = purchase.customer;
        let record = &self.model.customers[customer];
        let (partner, resale) = (record.partner, record.resale());
        let missing = self.model.draw(purchase, coupons, Who::Customer(customer)).err().unwrap_or(0) + record.funds.debt;
        let top_up = missing + self.rng.yuan(50, 500);
        match self.rng.below(10) {
            0..5 if resale && may_ask => {
                if self.ask_partner(purchase) != Expect::Ok {
                    self.cancel(purchase);
                }
            }
            0..8 if resale => {
                let by = self.funds_actor(partner, 250);
                if self.allocate(by, partner, Who::Customer(customer), top_up, "order top-up") == Expect::Ok {
                    self.pay(purchase, coupons, PayBy::Customer);
                }
            }
            0..5 => {
                self.recharge(Who::Customer(customer), top_up);
                self.pay(purchase, coupons, PayBy::Customer);
            }
            _ => self.cancel(purchase),
        }
    }

    /// Up to 3 usable coupons that cover one of the orders, service-bound vouchers first.
    fn usable_coupons(&self, purchase: &Purchase) -> Vec<usize> {
        let now = self.script.now();
        let mut coupons: Vec<usize> = self.model.customers[purchase.customer]
            .coupons
            .iter()
            .copied()
            .filter(|&coupon| {
                let coupon = &self.model.coupons[coupon];
                coupon.usable(now) && purchase.orders.iter().any(|&order| coupon.applies(&self.model.orders[order]))
            })
            .collect();
        coupons.sort_by_key(|&coupon| self.model.coupons[coupon].services.is_none());
        coupons.truncate(3);
        coupons
    }

    pub(super) fn unusable_coupon(&self, purchase: &Purchase) -> Option<usize> {
        let now = self.script.now();
        self.model.customers[purchase.customer].coupons.iter().copied().find(|&coupon| {
            let coupon = &self.model.coupons[coupon];
            !coupon.usable(now) || !purchase.orders.iter().any(|&order| coupon.applies(&self.model.orders[order]))
        })
    }

    /// Unsubscribes one of the customer's paid orders (only invoiced ones with `invoiced`, which
    /// the ledger refuses), refunding all or part of what was paid in money.
    pub(super) fn unsubscribe_one(&mut self, customer: usize, invoiced: bool) -> bool {
        let candidates: Vec<usize> = self.model.customers[customer]
            .orders
            .iter()
            .copied()
            .filter(|&order| {
                let order = &self.model.orders[order];
                let billed = order.bill.is_some_and(|bill| self.model.bills[bill].invoiced != 0);
                order.status == OrderStatus::Paid && order.refundable() > 0 && (!invoiced || billed)
            })
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let order = candidates[self.rng.index(candidates.len())];
        let refundable = self.model.orders[order].refundable();
        let refund = if self.rng.chance(600) { refundable } else { self.rng.range(1, refundable) };
        self.unsubscribe(order, refund);
        true
    }
}
