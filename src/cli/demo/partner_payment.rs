//! Partner payment (代付, SPEC v2 3 Orders): a customer asks its partner to pay an order; the
//! partner (itself, its distributor or its finance operator) answers on the next business day,
//! paying most requests and rejecting some, after which the customer pays itself. An impatient
//! customer that tries to pay while its request is open is refused.

use super::model::{Link, Model, OrderStatus, PartnerKind, Purchase, Request, Who};
use super::month::{By, Demo};
use super::orders::PayBy;
use super::script::{Expect, Tag};
use serde_json::json;

/// Why partners decline.
const REJECTIONS: [&str; 3] = ["not in this month's budget", "please pay renewals yourself", "this service is not in our agreement"];

impl Model {
    /// What `request_partner_payment` must answer, in the engine's precedence: a partner to ask
    /// (`association_state`), resale or a solution provider's referral (`not_resale_customer`),
    /// each order pending and payable, none already requested.
    pub(super) fn request_expectation(&self, purchase: &Purchase, at: i64) -> Expect {
        let customer = &self.customers[purchase.customer];
        match customer.link {
            Link::None => return Expect::Fail("association_state"),
            Link::Referral if self.partners[customer.partner].kind != PartnerKind::SolutionProvider => {
                return Expect::Fail("not_resale_customer");
            }
            _ => {}
        }
        for &order in &purchase.orders {
            let order = &self.orders[order];
            if order.status != OrderStatus::Pending {
                return Expect::Fail("order_state");
            }
            if at > order.pay_deadline {
                return Expect::Fail("order_expired");
            }
        }
        if purchase.orders.iter().any(|&order| self.orders[order].request == Some(Request::Requested)) {
            return Expect::Fail("order_state");
        }
        Expect::Ok
    }

    /// Whether `customer` has asked its partner to pay an order that is still open.
    pub(super) fn awaits_partner(&self, customer: usize) -> bool {
        self.customers[customer].orders.iter().any(|&order| {
            let order = &self.orders[order];
            order.request == Some(Request::Requested) && order.status == OrderStatus::Pending
        })
    }
}

impl Demo {
    /// Resale customers may ask, and a solution provider's referral customers.
    pub(super) fn may_ask(&self, customer: usize) -> bool {
        let record = &self.model.customers[customer];
        match record.link {
            Link::Resale => true,
            Link::Referral => self.model.partners[record.partner].kind == PartnerKind::SolutionProvider,
            Link::None => false,
        }
    }

    /// The customer asks its partner to pay; the partner answers on the next business day.
    pub(super) fn ask_partner(&mut self, purchase: &Purchase) -> Expect {
        let expect = self.model.request_expectation(purchase, self.script.now());
        let amount = purchase.orders.iter().map(|&order| self.model.orders[order].amount).sum();
        let actor = self.customer_party(purchase.customer);
        let tag = Tag::RequestPayment { orders: purchase.orders.len() as u64, amount };
        self.send(&actor, json!({"op": "request_partner_payment", "order": purchase.id}), expect, tag);
        if expect == Expect::Ok {
            for &order in &purchase.orders {
                self.model.orders[order].request = Some(Request::Requested);
            }
            self.requests.push(purchase.clone());
        }
        expect
    }

    /// Partners answer yesterday's requests: they pay most (when they can afford it) and reject
    /// some, after which the customer pays itself. Now and then the customer, impatient, tries to
    /// pay while its request is open: refused.
    pub(super) fn answer_requests(&mut self) {
        for purchase in std::mem::take(&mut self.requests) {
            if self.rng.chance(40) {
                self.pay(&purchase, &[], PayBy::Customer);
            }
            let partner = self.model.customers[purchase.customer].partner;
            let by = self.funds_actor(partner, 300);
            let affordable = self.model.draw(&purchase, &[], Who::Partner(partner)).is_ok();
            if affordable && !self.rng.chance(120) {
                self.pay(&purchase, &[], PayBy::Partner { by });
                continue;
            }
            let reason = REJECTIONS[self.rng.index(REJECTIONS.len())];
            self.reject_request(&purchase, by, reason);
            self.pay_self(&purchase, false);
        }
    }

    pub(super) fn reject_request(&mut self, purchase: &Purchase, by: By, reason: &str) {
        let requested = purchase.orders.iter().all(|&order| self.model.orders[order].request == Some(Request::Requested));
        let expect = if requested { Expect::Ok } else { Expect::Fail("order_state") };
        let amount = purchase.orders.iter().map(|&order| self.model.orders[order].amount).sum();
        let actor = self.by_party(by);
        let partner = self.model.customers[purchase.customer].partner;
        let command = json!({"op": "reject_partner_payment", "order": purchase.id, "reason": reason});
        self.send(&actor, command, expect, Tag::RejectPayment { partner, orders: purchase.orders.len() as u64, amount });
        if expect == Expect::Ok {
            for &order in &purchase.orders {
                self.model.orders[order].request = Some(Request::Rejected);
            }
        }
    }
}
