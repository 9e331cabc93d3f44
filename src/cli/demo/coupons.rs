//! Coupons: quotas and their reclaim, the whitelist, coupons issued, reclaimed and swept at expiry.

use super::model::{Coupon, Link, Quota};
use super::month::Demo;
use super::script::{Expect, Tag};
use super::{MONTH_START, PROMO_UNTIL, QUOTA_UNTIL, SERVICES, money, time};
use serde_json::json;

impl Demo {
    fn issue_quota(&mut self, partner: usize, voucher: bool, amount: i64, source: Option<usize>) -> usize {
        let kind = if voucher { "voucher" } else { "cash_coupon" };
        let id = format!("q-{}-{kind}", self.model.partners[partner].id);
        let mut command = json!({"op": "issue_quota", "quota": id, "partner": self.model.partners[partner].id, "kind": kind,
            "amount": money(amount), "valid_from": time(MONTH_START), "valid_until": time(QUOTA_UNTIL)});
        let actor = match source {
            Some(source) => {
                command["from_quota"] = json!(self.model.quotas[source].id);
                self.model.quotas[source].balance -= amount;
                self.model.partner_party(self.model.quotas[source].owner)
            }
            None => {
                self.model.platform.coupon_issuance -= amount;
                "platform".to_owned()
            }
        };
        debug_assert!(source.is_none_or(|source| self.model.quotas[source].balance >= 0));
        self.send(&actor, command, Expect::Ok, Tag::Quota { by_platform: source.is_none(), amount });
        self.model.quotas.push(Quota { id, owner: partner, balance: amount, source, reclaimed: false });
        self.model.quotas.len() - 1
    }

    pub(super) fn reclaim_quota(&mut self, quota: usize) {
        let source = self.model.quotas[quota].source;
        let issuer = source.map_or_else(|| "platform".to_owned(), |source| self.model.partner_party(self.model.quotas[source].owner));
        let destination = source.and_then(|source| self.model.reclaim_destination(source));
        self.send(&issuer, json!({"op": "reclaim_quota", "quota": self.model.quotas[quota].id}), Expect::Ok, Tag::Other);
        let remaining = std::mem::take(&mut self.model.quotas[quota].balance);
        self.model.quotas[quota].reclaimed = true;
        self.model.return_coupon_value(destination, remaining);
    }

    pub(super) fn whitelist(&mut self, customer: usize) {
        let actor = self.acting_for(self.model.customers[customer].partner, 300);
        let actor = self.model.partner_party(actor);
        self.send(&actor, json!({"op": "whitelist_customer", "customer": self.model.customers[customer].id}), Expect::Ok, Tag::Other);
        self.model.customers[customer].whitelisted = true;
    }

    /// Issues a coupon from the partner's quota of that kind, when it still holds enough.
    pub(super) fn issue_coupon(&mut self, customer: usize, voucher: bool, face_value: i64) {
        let partner = self.model.customers[customer].partner;
        let quota = if voucher { self.model.partners[partner].voucher_quota } else { self.model.partners[partner].cash_quota };
        let Some(quota) = quota.filter(|&quota| self.model.quotas[quota].balance >= face_value && !self.model.quotas[quota].reclaimed)
        else {
            return;
        };
        debug_assert!(voucher || self.model.customers[customer].whitelisted);
        self.counters.coupon += 1;
        let id = format!("cpn-{:06}", self.counters.coupon);
        let mut command = json!({"op": "issue_coupon", "coupon": id, "quota": self.model.quotas[quota].id,
            "customer": self.model.customers[customer].id, "face_value": money(face_value)});
        let promotion = self.rng.chance(300);
        if promotion {
            command["valid_until"] = json!(time(PROMO_UNTIL));
        }
        let services = voucher.then(|| self.pick_services());
        if let Some(services) = &services {
            command["services"] = json!(services);
        }
        let actor = self.acting_for(partner, 300);
        let actor = self.model.partner_party(actor);
        self.send(&actor, command, Expect::Ok, Tag::Coupon { voucher, amount: face_value });
        self.model.quotas[quota].balance -= face_value;
        let valid_until = if promotion { PROMO_UNTIL } else { QUOTA_UNTIL };
        self.model.coupons.push(Coupon {
            id,
            customer,
            quota,
            remaining: face_value,
            services,
            valid_until,
            ended: false,
            ratio: None,
            kinds: None,
        });
        self.model.customers[customer].coupons.push(self.model.coupons.len() - 1);
    }

    /// One to three distinct services.
    pub(super) fn pick_services(&mut self) -> Vec<&'static str> {
        let mut services = SERVICES.to_vec();
        self.rng.shuffle(&mut services);
        services.truncate(self.rng.range(1, 3) as usize);
        services
    }

    pub(super) fn reclaim_coupon(&mut self, coupon: usize) {
        let quota = self.model.coupons[coupon].quota;
        let actor = self.acting_for(self.model.quotas[quota].owner, 300);
        let customer = &self.model.customers[self.model.coupons[coupon].customer];
        let expect = if self.model.coupons[coupon].usable(self.script.now()) && customer.resale() {
            Expect::Ok
        } else {
            Expect::Fail("coupon_not_reclaimable")
        };
        let actor = self.model.partner_party(actor);
        self.send(&actor, json!({"op": "reclaim_coupon", "coupon": self.model.coupons[coupon].id}), expect, Tag::Other);
        if expect == Expect::Ok {
            let destination = self.model.reclaim_destination(quota);
            let coupon = &mut self.model.coupons[coupon];
            coupon.ended = true;
            let remaining = std::mem::take(&mut coupon.remaining);
            self.model.return_coupon_value(destination, remaining);
        }
    }

    pub(super) fn expire_coupons(&mut self) {
        let at = self.script.now();
        self.send("platform", json!({"op": "expire_coupons"}), Expect::Ok, Tag::Other);
        for coupon in &mut self.model.coupons {
            if !coupon.ended && coupon.valid_until <= at && coupon.remaining > 0 {
                coupon.ended = true;
                self.model.platform.coupon_expired += std::mem::take(&mut coupon.remaining);
            }
        }
    }

    /// The platform's quotas for a distributor or solution provider; a distributor passes part
    /// of them on to each of its resellers.
    pub(super) fn issue_quotas(&mut self, partner: usize) {
        let resellers: Vec<usize> =
            (0..self.model.partners.len()).filter(|&reseller| self.model.partners[reseller].parent == Some(partner)).collect();
        for voucher in [true, false] {
            let size = |demo: &Demo, partner: usize| {
                let resale = demo.model.partners[partner]
                    .customers
                    .iter()
                    .filter(|&&customer| demo.model.customers[customer].link != Link::Referral)
                    .count() as i64;
                if voucher { (resale * 150 + 5_000) * 100 } else { (resale * 80 + 2_000) * 100 }
            };
            let total = size(self, partner) + resellers.iter().map(|&reseller| size(self, reseller)).sum::<i64>();
            let quota = self.issue_quota(partner, voucher, total, None);
            self.set_quota(partner, voucher, quota);
            for &reseller in &resellers {
                let amount = size(self, reseller);
                let quota = self.issue_quota(reseller, voucher, amount, Some(quota));
                self.set_quota(reseller, voucher, quota);
            }
        }
    }

    fn set_quota(&mut self, partner: usize, voucher: bool, quota: usize) {
        let partner = &mut self.model.partners[partner];
        if voucher { partner.voucher_quota = Some(quota) } else { partner.cash_quota = Some(quota) }
    }
}
