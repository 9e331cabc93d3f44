//! Partners and customers: who they are, their registration on day 1 or at sign-up, and a new
//! customer's first funds and coupons.

use super::model::{Customer, Funds, Model, Partner, PartnerKind, Who};
use super::month::Demo;
use super::script::{Expect, Tag};
use super::{DISTRIBUTORS, PARTNER_CREDIT, SIGNUP_LAST_DAY, SOLUTION_PROVIDERS, cny};
use serde_json::json;

impl Demo {
    pub(super) fn create_partners(&mut self) {
        let funds = Funds::default();
        let add = |model: &mut Model, id: String, kind, parent| {
            model.partners.push(Partner {
                id,
                kind,
                parent,
                funds,
                customers: Vec::new(),
                bills: Vec::new(),
                voucher_quota: None,
                cash_quota: None,
            });
            model.partners.len() - 1
        };
        for (distributor, resellers) in DISTRIBUTORS {
            let parent = add(&mut self.model, distributor.to_owned(), PartnerKind::Distributor, None);
            for reseller in 1..=resellers {
                add(&mut self.model, format!("{distributor}-R{reseller}"), PartnerKind::Reseller, Some(parent));
            }
        }
        for provider in SOLUTION_PROVIDERS {
            add(&mut self.model, provider.to_owned(), PartnerKind::SolutionProvider, None);
        }
    }

    /// Who the customers are: their partner, resale (85%) or referral, size, usage and signup day.
    pub(super) fn create_customers(&mut self, count: u32) {
        let weights: Vec<u64> =
            self.model.partners.iter().map(|partner| if partner.kind == PartnerKind::SolutionProvider { 6 } else { 8 }).collect();
        let total: u64 = weights.iter().sum();
        for index in 0..count as usize {
            let mut pick = self.rng.below(total);
            let mut partner = 0;
            while pick >= weights[partner] {
                pick -= weights[partner];
                partner += 1;
            }
            let enterprise = self.rng.chance(50);
            let usage_per_day = if self.rng.chance(500) { self.rng.yuan(2, 60) * if enterprise { 5 } else { 1 } } else { 0 };
            let neglected = self.rng.chance(100);
            let signup_day = if index == 0 || self.rng.chance(600) { 1 } else { self.rng.range(2, i64::from(SIGNUP_LAST_DAY)) as u32 };
            self.model.customers.push(Customer {
                id: format!("C{:06}", index + 1),
                partner,
                resale: self.rng.chance(850),
                enterprise,
                neglected,
                whitelisted: false,
                usage_per_day,
                signup_day,
                funds: Funds::default(),
                coupons: Vec::new(),
                orders: Vec::new(),
                bills: Vec::new(),
            });
            self.model.partners[partner].customers.push(index);
        }
    }

    /// Day 1 before business: partners, their credit lines and coupon quotas.
    pub(super) fn setup(&mut self) {
        self.script.start_day(1);
        for partner in 0..self.model.partners.len() {
            let record = &self.model.partners[partner];
            let mut command = json!({"op": "register_partner", "partner": record.id, "kind": record.kind.name()});
            if let Some(parent) = record.parent {
                command["parent"] = json!(self.model.partners[parent].id);
            }
            self.send("platform", command, Expect::Ok, Tag::Other);
        }
        for (id, limit) in PARTNER_CREDIT {
            let partner = self.model.partners.iter().position(|partner| partner.id == id).expect("a known partner");
            self.set_credit_limit(Who::Partner(partner), limit * 100);
        }
        for partner in 0..self.model.partners.len() {
            if self.model.partners[partner].parent.is_none() {
                self.issue_quotas(partner);
            }
        }
    }

    /// A new customer: registered by its partner (or the platform, or the reseller's distributor),
    /// funded by its partner (resale) or by recharge (referral), and given coupons.
    pub(super) fn sign_up(&mut self, customer: usize) {
        let record = &self.model.customers[customer];
        let (partner, resale, scale) = (record.partner, record.resale, if record.enterprise { 5 } else { 1 });
        let command = json!({"op": "register_customer", "customer": record.id, "partner": self.model.partners[partner].id,
            "association": if resale { "resale" } else { "referral" }});
        let actor = if self.rng.chance(200) {
            "platform".to_owned()
        } else {
            let actor = self.acting_for(partner, 150);
            self.model.partner_party(actor)
        };
        self.send(&actor, command, Expect::Ok, Tag::Customer { partner, resale });
        if !resale {
            let amount = self.rng.yuan(200, 5_000) * scale;
            self.recharge(Who::Customer(customer), amount);
            if self.rng.chance(300) {
                let limit = self.rng.range(10, 50) * cny(100) * scale;
                self.set_credit_limit(Who::Customer(customer), limit);
            }
            return;
        }
        let actor = self.acting_for(partner, 250);
        let amount = self.rng.yuan(200, 2_000) * scale;
        self.allocate(actor, partner, Who::Customer(customer), amount, "welcome budget");
        if self.rng.chance(350) {
            let face_value = self.rng.yuan(20, 300) * scale;
            self.issue_coupon(customer, true, face_value);
        }
        if self.rng.chance(150) {
            self.whitelist(customer);
            if self.rng.chance(700) {
                let face_value = self.rng.yuan(50, 500) * scale;
                self.issue_coupon(customer, false, face_value);
            }
        }
    }
}
