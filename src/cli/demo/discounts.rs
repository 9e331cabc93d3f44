//! SPEC v2 part 2 in the month: pickup vouchers (提货券) from the platform's pickup quotas, each
//! paying at most its ratio of the orders whose kind it allows; business discounts (商务折扣)
//! granted by the platform and chosen on payments (on a combined order only the members whose
//! service they cover are discounted), one revoked; and the refusals around them.

use super::model::{Coupon, Discount, Link, Purchase, Quota, Who};
use super::month::Demo;
use super::orders::PayBy;
use super::rules::Means;
use super::script::{Expect, Tag};
use super::{MONTH_START, QUOTA_UNTIL, cny, money, time};
use serde_json::json;

/// A pickup voucher's largest share of an order, in hundredths.
const PICKUP_RATIOS: [i64; 4] = [10, 20, 30, 50];
/// A discount's share of the official price to pay, in hundredths.
const DISCOUNT_RATIOS: [i64; 4] = [80, 85, 90, 95];

/// A ratio in hundredths as the protocol writes it: `"0.30"`.
fn ratio(hundredths: i64) -> String {
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

impl Demo {
    /// Day 1: a pickup-voucher quota from the platform for every distributor and solution provider.
    pub(super) fn issue_pickup_quotas(&mut self) {
        for partner in 0..self.model.partners.len() {
            if self.model.partners[partner].parent.is_some() {
                continue;
            }
            let record = &self.model.partners[partner];
            let resale = record.customers.iter().filter(|&&customer| self.model.customers[customer].link != Link::Referral).count();
            let amount = cny(resale as i64 * 60 + 3_000);
            let id = format!("q-{}-pickup_voucher", record.id);
            let command = json!({"op": "issue_quota", "quota": id, "partner": record.id, "kind": "pickup_voucher",
                "amount": money(amount), "valid_from": time(MONTH_START), "valid_until": time(QUOTA_UNTIL)});
            self.send("platform", command, Expect::Ok, Tag::Quota { by_platform: true, amount });
            self.model.platform.coupon_issuance -= amount;
            self.model.quotas.push(Quota { id, owner: partner, balance: amount, source: None, reclaimed: false });
            self.model.partners[partner].pickup_quota = Some(self.model.quotas.len() - 1);
        }
    }

    /// Pickup vouchers for some resale customers of the quota owners: a ratio, and for some
    /// only new orders, or only renewals and changes.
    pub(super) fn issue_pickup_vouchers(&mut self, day: u32) {
        for customer in 0..self.model.customers.len() {
            let record = &self.model.customers[customer];
            if record.signup_day > day || !record.resale() || !self.rng.chance(60) {
                continue;
            }
            let partner = record.partner;
            let face_value = self.rng.yuan(100, 800);
            let Some(quota) = self.model.partners[partner].pickup_quota.filter(|&quota| self.model.quotas[quota].balance >= face_value)
            else {
                continue;
            };
            let share = PICKUP_RATIOS[self.rng.index(PICKUP_RATIOS.len())];
            let kinds: Option<Vec<&'static str>> = match self.rng.below(10) {
                0..4 => Some(vec!["new"]),
                4..6 => Some(vec!["renew", "change"]),
                _ => None,
            };
            self.counters.coupon += 1;
            let id = format!("pv-{:06}", self.counters.coupon);
            let mut command = json!({"op": "issue_coupon", "coupon": id, "quota": self.model.quotas[quota].id,
                "customer": self.model.customers[customer].id, "face_value": money(face_value), "ratio": ratio(share)});
            if let Some(kinds) = &kinds {
                command["order_kinds"] = json!(kinds);
            }
            let actor = self.model.partner_party(partner);
            self.send(&actor, command, Expect::Ok, Tag::PickupVoucher { amount: face_value });
            self.model.quotas[quota].balance -= face_value;
            let coupon = Coupon {
                id,
                customer,
                quota,
                remaining: face_value,
                services: None,
                valid_until: QUOTA_UNTIL,
                ended: false,
                ratio: Some(share),
                kinds,
            };
            self.model.coupons.push(coupon);
            self.model.customers[customer].coupons.push(self.model.coupons.len() - 1);
        }
    }

    /// The platform grants business discounts to some customers (one live discount each): some
    /// for any service, some for 1-3 services.
    pub(super) fn grant_discounts(&mut self, day: u32) {
        for customer in 0..self.model.customers.len() {
            if self.model.customers[customer].signup_day > day || !self.rng.chance(40) {
                continue;
            }
            if self.model.discount_of.get(&customer).is_some_and(|&discount| !self.model.discounts[discount].revoked) {
                continue;
            }
            let id = format!("dsc-{:06}", self.model.discounts.len() + 1);
            let share = DISCOUNT_RATIOS[self.rng.index(DISCOUNT_RATIOS.len())];
            let services = self.rng.chance(500).then(|| self.pick_services());
            let valid_from = self.script.now();
            let mut command = json!({"op": "grant_discount", "discount": id, "customer": self.model.customers[customer].id,
                "ratio": ratio(share), "valid_from": time(valid_from), "valid_until": time(QUOTA_UNTIL)});
            if let Some(services) = &services {
                command["services"] = json!(services);
            }
            self.send("platform", command, Expect::Ok, Tag::DiscountGranted);
            let discount = Discount { id, customer, ratio: share, services, valid_from, valid_until: QUOTA_UNTIL, revoked: false };
            self.model.discounts.push(discount);
            self.model.discount_of.insert(customer, self.model.discounts.len() - 1);
        }
    }

    /// Revokes the oldest live discount; revoking it again is refused.
    pub(super) fn revoke_discount(&mut self) {
        let Some(discount) = self.model.discounts.iter().position(|discount| !discount.revoked) else { return };
        let command = json!({"op": "revoke_discount", "discount": self.model.discounts[discount].id});
        self.send("platform", command.clone(), Expect::Ok, Tag::DiscountRevoked);
        self.model.discounts[discount].revoked = true;
        self.send("platform", command, Expect::Fail("discount_not_usable"), Tag::Other);
    }

    /// The customer's discount when it is usable now and covers one of the orders.
    pub(super) fn usable_discount(&self, purchase: &Purchase) -> Option<usize> {
        let now = self.script.now();
        let discount = *self.model.discount_of.get(&purchase.customer)?;
        let record = &self.model.discounts[discount];
        let covers = purchase.orders.iter().any(|&order| record.covers(self.model.orders[order].service));
        (record.usable(purchase.customer, now) && covers).then_some(discount)
    }

    /// Pays with the customer's discount when it has one it can afford with; true when sent.
    pub(super) fn pay_discounted(&mut self, purchase: &Purchase) -> bool {
        let Some(discount) = self.usable_discount(purchase) else { return false };
        let means = Means { coupons: &[], discount: Some(discount) };
        if !self.rng.chance(800) || self.model.draw_with(purchase, means, Who::Customer(purchase.customer)).is_err() {
            return false;
        }
        self.pay_with(purchase, means, PayBy::Customer);
        true
    }

    /// Month end: coupons together with a discount (`invalid_request`), a revoked discount and
    /// another customer's (`discount_not_usable`); the order is then cancelled.
    pub(super) fn provoke_discount_refusals(&mut self) {
        let discounts = &self.model.discounts;
        let Some(revoked) = discounts.iter().position(|discount| discount.revoked) else { return };
        let owner = discounts[revoked].customer;
        let foreign = discounts.iter().position(|discount| !discount.revoked && discount.customer != owner);
        let coupon = (!self.model.coupons.is_empty()).then_some(0);
        let purchase = self.place(owner, 1, false);
        if let (Some(coupon), Some(foreign)) = (coupon, foreign) {
            self.pay_with(&purchase, Means { coupons: &[coupon], discount: Some(foreign) }, PayBy::Customer);
        }
        self.pay_with(&purchase, Means { coupons: &[], discount: Some(revoked) }, PayBy::Customer);
        if let Some(foreign) = foreign {
            self.pay_with(&purchase, Means { coupons: &[], discount: Some(foreign) }, PayBy::Customer);
        }
        self.cancel(&purchase);
    }

    /// Pickup vouchers are never reclaimed automatically: unbinding a customer that holds a
    /// usable one is refused.
    pub(super) fn unbind_pickup_holder(&mut self) {
        let now = self.script.now();
        let holder = (0..self.model.customers.len())
            .find(|&customer| self.model.customers[customer].resale() && self.model.holds_pickup(customer, now));
        if let Some(customer) = holder {
            let actor = self.model.partner_party(self.model.customers[customer].partner);
            let command = json!({"op": "unbind", "customer": self.model.customers[customer].id});
            self.send(&actor, command, Expect::Fail("association_blocked"), Tag::Other);
        }
    }

    /// Month-end reads of the new listings: every pickup quota and pickup voucher, as the platform.
    pub(super) fn pickup_reads(&mut self) {
        let quotas = self.model.partners.iter().filter(|partner| partner.pickup_quota.is_some()).count() as u64;
        let vouchers = self.model.coupons.iter().filter(|coupon| coupon.ratio.is_some()).count() as u64;
        self.query("platform", json!({"op": "quotas", "kind": "pickup_voucher", "limit": 1}), Expect::Rows(quotas), Tag::Other);
        self.query("platform", json!({"op": "coupons", "kind": "pickup_voucher", "limit": 1}), Expect::Rows(vouchers), Tag::Other);
    }
}
