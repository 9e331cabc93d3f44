//! Partners and customers: who they are, their registration on day 1 or at sign-up, and a new
//! customer's first funds, coupons and customer manager.

use super::model::{Customer, Funds, Link, Model, Partner, PartnerKind, Who};
use super::month::Demo;
use super::script::{Expect, Tag};
use super::{DISTRIBUTORS, JOIN_LAST_DAY, PARTNER_CREDIT, SIGNUP_LAST_DAY, SOLUTION_PROVIDERS, cny};
use serde_json::json;

impl Demo {
    pub(super) fn create_partners(&mut self) {
        let add = |model: &mut Model, id: String, kind, parent| {
            model.partners.push(Partner {
                id,
                kind,
                parent,
                funds: Funds::default(),
                customers: Vec::new(),
                bills: Vec::new(),
                voucher_quota: None,
                cash_quota: None,
                pickup_quota: None,
                admin: None,
                finance: None,
                managers: Vec::new(),
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

    /// Who the customers are: their partner; resale (85%), referral, or (3%) unassociated at first
    /// with their own money, joining their partner as resale a few days after signing up; size,
    /// usage and signup day.
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
            let (link, joins_on, kind) = if self.rng.chance(30) {
                (Link::None, Some((signup_day + self.rng.range(2, 6) as u32).min(JOIN_LAST_DAY)), 2)
            } else if self.rng.chance(850) {
                (Link::Resale, None, 0)
            } else {
                (Link::Referral, None, 1)
            };
            self.created[kind] += 1;
            self.model.customers.push(Customer {
                id: format!("C{:06}", index + 1),
                partner,
                link,
                joins_on,
                enterprise,
                neglected,
                whitelisted: false,
                usage_per_day,
                signup_day,
                funds: Funds::default(),
                coupons: Vec::new(),
                orders: Vec::new(),
                bills: Vec::new(),
                bill_count: 0,
                manager: None,
            });
            self.model.partners[partner].customers.push(index);
        }
    }

    /// Day 1 before business: partners, their operators, credit lines and coupon quotas.
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
        self.register_operators();
        for (id, limit) in PARTNER_CREDIT {
            let partner = self.model.partner_index(id);
            self.set_credit_limit(Who::Partner(partner), limit * 100);
        }
        for partner in 0..self.model.partners.len() {
            if self.model.partners[partner].parent.is_none() {
                self.issue_quotas(partner);
            }
        }
        self.issue_pickup_quotas();
    }

    /// A new customer: registered by its partner (or the platform, or the reseller's distributor),
    /// funded by its partner (resale) or by recharge (referral), given coupons and a customer
    /// manager. An unassociated one is registered by the platform and recharges its own money.
    pub(super) fn sign_up(&mut self, customer: usize) {
        let record = &self.model.customers[customer];
        let (partner, link, scale) = (record.partner, record.link, if record.enterprise { 5 } else { 1 });
        if link == Link::None {
            let mut command = json!({"op": "register_customer", "customer": record.id});
            let named = self.name(customer, &mut command);
            self.send("platform", command, Expect::Ok, Tag::Customer { named });
            let amount = self.rng.yuan(500, 5_000) * scale;
            self.recharge(Who::Customer(customer), amount);
            return;
        }
        let resale = link == Link::Resale;
        let mut command = json!({"op": "register_customer", "customer": record.id, "partner": self.model.partners[partner].id,
            "association": if resale { "resale" } else { "referral" }});
        let named = self.name(customer, &mut command);
        let actor = if self.rng.chance(200) {
            "platform".to_owned()
        } else {
            let actor = self.acting_for(partner, 150);
            self.model.partner_party(actor)
        };
        self.send(&actor, command, Expect::Ok, Tag::Customer { named });
        self.welcome_manager(customer);
        if !resale {
            let amount = self.rng.yuan(200, 5_000) * scale;
            self.recharge(Who::Customer(customer), amount);
            if self.rng.chance(300) {
                let limit = self.rng.range(10, 50) * cny(100) * scale;
                self.set_credit_limit(Who::Customer(customer), limit);
            }
            return;
        }
        let by = self.funds_actor(partner, 250);
        let amount = self.rng.yuan(200, 2_000) * scale;
        self.allocate(by, partner, Who::Customer(customer), amount, "welcome budget");
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

    /// Most customers are registered with a name and the partner platform's own account id
    /// (external ids are unique: one per customer index). True when it was.
    fn name(&mut self, customer: usize, command: &mut serde_json::Value) -> bool {
        if !self.rng.chance(700) {
            return false;
        }
        const PLACES: [&str; 6] = ["华东", "华南", "华北", "西南", "东北", "西北"];
        const TRADES: [&str; 6] = ["零售", "物流", "教育", "医疗", "制造", "传媒"];
        let name = format!("{}{}{:05}", PLACES[customer % 6], TRADES[(customer / 6) % 6], customer + 1);
        command["name"] = serde_json::json!(name);
        command["external_id"] = serde_json::json!(format!("hw.{:08}", 40_000_000 + customer));
        true
    }
}
