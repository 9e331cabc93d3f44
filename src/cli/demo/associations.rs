//! Associations over the month (SPEC v2 3 Parties): unassociated customers with their own money
//! join their partner as resale customers and keep it (spending their partner's allocation
//! first); some referral customers switch to resale, a few resale customers to referral; a few
//! are unbound, and the refund of an order their partner's allocation paid goes back to that
//! partner (`refund_reclaim`). A resale customer's SLA credit is its own: its partner cannot
//! recover it.

use super::model::{Link, Who};
use super::month::{By, Demo};
use super::script::{Expect, Tag};
use super::{cny, money};
use serde_json::json;

impl Demo {
    /// The platform associates an unassociated customer with its partner as resale; one in debt is
    /// refused first, repays its debt and is associated then. Its partner welcomes it with a budget.
    pub(super) fn join_as_resale(&mut self, customer: usize) {
        if self.model.customers[customer].link != Link::None {
            return;
        }
        if self.associate(customer) != Expect::Ok {
            let debt = self.model.customers[customer].funds.debt;
            if debt == 0 {
                return;
            }
            let amount = debt + self.rng.yuan(100, 500);
            self.recharge(Who::Customer(customer), amount);
            if self.associate(customer) != Expect::Ok {
                return;
            }
        }
        let record = &self.model.customers[customer];
        let (partner, scale) = (record.partner, if record.enterprise { 5 } else { 1 });
        self.welcome_manager(customer);
        let by = self.funds_actor(partner, 250);
        let amount = self.rng.yuan(200, 2_000) * scale;
        self.allocate(by, partner, Who::Customer(customer), amount, "welcome budget");
    }

    fn associate(&mut self, customer: usize) -> Expect {
        let record = &self.model.customers[customer];
        let expect = if self.model.resale_blocked(customer, self.script.now()) { Expect::Fail("association_blocked") } else { Expect::Ok };
        let command = json!({"op": "associate", "customer": record.id, "partner": self.model.partners[record.partner].id,
            "association": "resale"});
        let cash = record.funds.cash;
        self.send("platform", command, expect, Tag::Associate { cash });
        if expect == Expect::Ok {
            self.model.customers[customer].link = Link::Resale;
        }
        expect
    }

    /// Customers that may change their association now: signed up, none awaiting its partner's payment.
    fn settled(&self, link: Link) -> Vec<usize> {
        (0..self.model.customers.len())
            .filter(|&customer| {
                let record = &self.model.customers[customer];
                record.link == link && record.signup_day < 16 && !self.model.awaits_partner(customer)
            })
            .collect()
    }

    /// Day 16: some referral customers without a credit line become resale customers of their
    /// partner; they keep their own cash, and the partner funds them.
    pub(super) fn switch_to_resale(&mut self) {
        let now = self.script.now();
        let candidates: Vec<usize> =
            self.settled(Link::Referral).into_iter().filter(|&customer| !self.model.resale_blocked(customer, now)).collect();
        let mut chosen: Vec<usize> = candidates.iter().copied().filter(|_| self.rng.chance(120)).collect();
        if chosen.is_empty() {
            chosen.extend(candidates.first());
        }
        for customer in chosen {
            let partner = self.model.customers[customer].partner;
            let actor = self.acting_for(partner, 200);
            let actor = self.model.partner_party(actor);
            let command = json!({"op": "switch_association", "customer": self.model.customers[customer].id, "association": "resale"});
            let cash = self.model.customers[customer].funds.cash;
            self.send(&actor, command, Expect::Ok, Tag::SwitchToResale { cash });
            self.model.customers[customer].link = Link::Resale;
            let by = self.funds_actor(partner, 250);
            let amount = self.rng.yuan(300, 1_500);
            self.allocate(by, partner, Who::Customer(customer), amount, "budget for a new resale customer");
        }
    }

    /// Day 24: a few resale customers switch to referral: their allocated funds and their
    /// partner's usable coupons go back; they pay for themselves from then on.
    pub(super) fn switch_to_referral(&mut self) {
        let candidates = self.settled(Link::Resale);
        for _ in 0..(self.model.customers.len() / 2_500).max(1) {
            if candidates.is_empty() {
                return;
            }
            let customer = candidates[self.rng.index(candidates.len())];
            if !self.model.customers[customer].resale() || self.model.holds_pickup(customer, self.script.now()) {
                continue;
            }
            let partner = self.model.customers[customer].partner;
            let actor = self.model.partner_party(partner);
            let command = json!({"op": "switch_association", "customer": self.model.customers[customer].id, "association": "referral"});
            let at = self.script.now();
            self.send(&actor, command, Expect::Ok, Tag::SwitchToReferral);
            self.model.reclaim_from(customer, at);
            let record = &mut self.model.customers[customer];
            (record.link, record.whitelisted) = (Link::Referral, false);
        }
    }

    /// Day 22: partners unbind a few resale customers (taking back their allocated funds and
    /// coupons); each then unsubscribes an order their allocation paid, and that part of the
    /// refund goes back to the former partner. First, one unbinding is refused: the customer
    /// awaits its partner's payment of an order.
    pub(super) fn unbind_and_refund(&mut self) {
        if let Some(waiting) =
            self.requests.iter().map(|purchase| purchase.customer).find(|&customer| self.model.customers[customer].resale())
        {
            self.unbind(waiting, Expect::Fail("association_blocked"));
        }
        self.unbind_pickup_holder();
        let candidates: Vec<(usize, usize)> = self
            .settled(Link::Resale)
            .into_iter()
            .filter_map(|customer| self.refundable_allocation(customer).map(|order| (customer, order)))
            .collect();
        for _ in 0..(self.model.customers.len() / 2_000).max(1) {
            if candidates.is_empty() {
                return;
            }
            let (customer, order) = candidates[self.rng.index(candidates.len())];
            if !self.model.customers[customer].resale() || self.model.holds_pickup(customer, self.script.now()) {
                continue;
            }
            self.unbind(customer, Expect::Ok);
            let refund = self.model.orders[order].refundable();
            self.unsubscribe(order, refund);
        }
    }

    /// A paid order of `customer` whose allocated part can still be refunded.
    fn refundable_allocation(&self, customer: usize) -> Option<usize> {
        self.model.customers[customer].orders.iter().copied().find(|&order| {
            let order = &self.model.orders[order];
            let invoiced = order.bill.is_some_and(|bill| self.model.bills[bill].invoiced != 0);
            order.status == super::model::OrderStatus::Paid && order.paid_allocated > 0 && !invoiced
        })
    }

    fn unbind(&mut self, customer: usize, expect: Expect) {
        let partner = self.model.customers[customer].partner;
        let actor = if self.rng.chance(200) { "platform".to_owned() } else { self.model.partner_party(partner) };
        let at = self.script.now();
        self.send(&actor, json!({"op": "unbind", "customer": self.model.customers[customer].id}), expect, Tag::Unbind);
        if expect == Expect::Ok {
            self.model.reclaim_from(customer, at);
            let record = &mut self.model.customers[customer];
            (record.link, record.whitelisted, record.manager) = (Link::None, false, None);
        }
    }

    /// Day 13: a partner tries to take back a resale customer's SLA credit along with its
    /// budget: refused, a partner recovers only what it allocated.
    pub(super) fn unrecoverable_credits(&mut self) {
        let credited: Vec<usize> = std::mem::take(&mut self.credited).into_iter().filter(|&c| self.model.customers[c].resale()).collect();
        let fallback =
            (0..self.model.customers.len()).find(|&c| self.model.customers[c].resale() && self.model.customers[c].funds.allocated > 0);
        let picked: Vec<usize> = if credited.is_empty() { fallback.into_iter().collect() } else { credited.into_iter().take(3).collect() };
        for customer in picked {
            let funds = self.model.customers[customer].funds;
            let amount = funds.allocated.max(0) + funds.available().max(0).max(cny(1));
            let partner = self.model.customers[customer].partner;
            let command =
                json!({"op": "recover", "from": self.customer_party(customer), "amount": money(amount), "memo": "budget and SLA credit"});
            let actor = self.by_party(By::Partner(partner));
            self.send(&actor, command, Expect::Fail("insufficient_funds"), Tag::Recover { partner, on_behalf: false, amount });
        }
    }
}
