//! Operators (SPEC v2 2.1): each of several partners has an admin (registered by the platform),
//! which registers a finance operator and customer managers; customers get a manager from the
//! next UTC+8 day; one manager leaves late in the month. Once a week managers read their
//! customers' bills and partners their "awaiting payment" lists (queries whose row counts the
//! script knows), and a partner is refused a referral customer's balance.

use super::model::{Link, Manager, Operator, OrderStatus, Request, Who};
use super::month::Demo;
use super::script::{Expect, Tag};
use super::{DAY, OPERATOR_PARTNERS};
use serde_json::{Value, json};

/// The roles of SPEC 2.1, in the order the summary counts them.
pub(super) const ROLES: [&str; 3] = ["admin", "finance", "customer_manager"];
const ADMIN: &[&str] = &["admin"];
const FINANCE: &[&str] = &["finance"];
const MANAGER: &[&str] = &["customer_manager"];

/// The first instant of the UTC+8 day after `at` (when an assignment takes effect).
fn next_utc8_day(at: i64) -> i64 {
    const OFFSET: i64 = 8 * 3_600_000;
    ((at + OFFSET).div_euclid(DAY) + 1) * DAY - OFFSET
}

impl Demo {
    /// Day 1: admins by the platform; finance operators and customer managers by the admins (or,
    /// for the first manager, by the partner itself).
    pub(super) fn register_operators(&mut self) {
        for (id, managers) in OPERATOR_PARTNERS {
            let partner = self.model.partner_index(id);
            let admin = self.register_operator(partner, "admin", ADMIN, "platform".to_owned());
            self.model.partners[partner].admin = Some(admin);
            let admin_party = self.model.operator_party(admin);
            let finance = self.register_operator(partner, "fin", FINANCE, admin_party.clone());
            self.model.partners[partner].finance = Some(finance);
            for number in 1..=managers {
                let actor = if number == 1 { self.model.partner_party(partner) } else { admin_party.clone() };
                let manager = self.register_operator(partner, &format!("cm{number}"), MANAGER, actor);
                self.model.partners[partner].managers.push(manager);
            }
        }
    }

    fn register_operator(&mut self, partner: usize, suffix: &str, roles: &'static [&'static str], actor: String) -> usize {
        let id = format!("{}.{suffix}", self.model.partners[partner].id);
        let command = json!({"op": "register_operator", "operator": id, "partner": self.model.partners[partner].id, "roles": roles});
        let role = ROLES.iter().position(|role| *role == roles[0]).expect("a known role");
        self.send(&actor, command, Expect::Ok, Tag::Operator { role });
        self.model.operators.push(Operator { id, partner, roles, disabled: false });
        self.model.operators.len() - 1
    }

    /// Most new customers of a partner with managers get one (from the next UTC+8 day).
    pub(super) fn welcome_manager(&mut self, customer: usize) {
        let managers = &self.model.partners[self.model.customers[customer].partner].managers;
        if !managers.is_empty() && self.rng.chance(700) {
            let manager = managers[self.rng.index(managers.len())];
            self.assign_manager(customer, Some(manager));
        }
    }

    /// The partner or its admin assigns (`Some`) or removes (`None`) the customer's manager.
    pub(super) fn assign_manager(&mut self, customer: usize, operator: Option<usize>) {
        let partner = self.model.customers[customer].partner;
        let actor = match self.model.partners[partner].admin {
            Some(admin) if self.rng.chance(600) => self.model.operator_party(admin),
            _ => self.model.partner_party(partner),
        };
        let at = self.script.now();
        let replaced = self.model.customers[customer].manager_at(at).is_some();
        let id = operator.map(|operator| self.model.operators[operator].id.clone());
        let command = json!({"op": "assign_customer_manager", "customer": self.model.customers[customer].id, "operator": id});
        self.send(&actor, command, Expect::Ok, Tag::Manager { replaced });
        let previous = self.model.customers[customer].manager_at(at);
        self.model.customers[customer].manager = Some(Manager { previous, current: operator, from: next_utc8_day(at) });
    }

    /// Day 15: partners with two managers move about a fifth of the first one's customers to the second.
    pub(super) fn rebalance_managers(&mut self) {
        let now = self.script.now();
        for partner in 0..self.model.partners.len() {
            let managers = self.model.partners[partner].managers.clone();
            if managers.len() < 2 {
                continue;
            }
            for customer in 0..self.model.customers.len() {
                let record = &self.model.customers[customer];
                if record.associated_partner() == Some(partner) && record.manager_at(now) == Some(managers[0]) && self.rng.chance(200) {
                    self.assign_manager(customer, Some(managers[1]));
                }
            }
        }
    }

    /// Day 25: a customer manager leaves: its admin sets its roles to none; its customers are
    /// given to the partner's other manager, or left without one.
    pub(super) fn disable_operator(&mut self) {
        let Some(partner) = (0..self.model.partners.len()).find(|&partner| self.model.partners[partner].managers.len() >= 2) else {
            return;
        };
        let (leaving, other) = (self.model.partners[partner].managers[1], self.model.partners[partner].managers[0]);
        let admin =
            self.model.partners[partner].admin.map_or_else(|| self.model.partner_party(partner), |admin| self.model.operator_party(admin));
        let command = json!({"op": "set_operator_roles", "operator": self.model.operators[leaving].id, "roles": []});
        self.send(&admin, command, Expect::Ok, Tag::OperatorDisabled);
        self.model.operators[leaving].disabled = true;
        let customers: Vec<usize> = (0..self.model.customers.len())
            .filter(|&customer| self.model.customers[customer].manager.is_some_and(|manager| manager.current == Some(leaving)))
            .collect();
        for customer in customers {
            let next = if self.rng.chance(500) { Some(other) } else { None };
            self.assign_manager(customer, next);
        }
    }

    /// A query line: nothing changes, but its answer is checked like a command's.
    pub(super) fn query(&mut self, actor: &str, command: Value, expect: Expect, tag: Tag) {
        if let Expect::Fail(code) = expect {
            *self.refusals.entry(code).or_default() += 1;
        }
        self.script.push(actor, command, expect, tag);
    }

    /// The week's reads, sent together at the end of the day (a query waits for the commands
    /// before it to be durable, so reads are grouped).
    pub(super) fn reads(&mut self, day: u32) {
        let now = self.script.now();
        for operator in 0..self.model.operators.len() {
            if self.model.operators[operator].roles == MANAGER {
                self.manager_reads(operator, now);
            }
        }
        for partner in 0..self.model.partners.len() {
            if self.model.partners[partner].parent.is_none() || self.model.partners[partner].finance.is_some() {
                self.awaiting_read(partner);
            }
        }
        let referral: Vec<usize> = (0..self.model.customers.len())
            .filter(|&customer| self.model.customers[customer].link == Link::Referral && self.model.customers[customer].signup_day <= day)
            .collect();
        if !referral.is_empty() {
            // A partner may read a referral customer's bills, never its balance.
            let customer = referral[self.rng.index(referral.len())];
            let actor = self.model.partner_party(self.model.customers[customer].partner);
            let command = json!({"op": "balance", "party": self.customer_party(customer)});
            self.query(&actor, command, Expect::Fail("access_denied"), Tag::Other);
        }
    }

    /// A manager reads the bills of its latest customer (refused when assigned today: not yet
    /// in force) and of its two longest-standing ones; one that left is refused whatever it reads.
    fn manager_reads(&mut self, operator: usize, now: i64) {
        let actor = self.model.operator_party(operator);
        if self.model.operators[operator].disabled {
            let partner = self.model.operators[operator].partner;
            if let Some(&customer) = self.model.partners[partner].customers.first() {
                let command = json!({"op": "bills", "party": self.customer_party(customer), "limit": 1});
                self.query(&actor, command, Expect::Fail("access_denied"), Tag::ManagerRead);
            }
            return;
        }
        let mut customers: Vec<(i64, usize)> = (0..self.model.customers.len())
            .filter_map(|customer| {
                let manager = self.model.customers[customer].manager?;
                (manager.current == Some(operator)).then_some((manager.from, customer))
            })
            .collect();
        customers.sort_unstable_by_key(|&(from, customer)| (from, customer));
        let latest = customers.len().saturating_sub(1);
        let picked: Vec<usize> = [latest, 0, 1].into_iter().filter(|&index| index < customers.len()).collect();
        let mut read = Vec::new();
        for index in picked {
            let customer = customers[index].1;
            if read.contains(&customer) {
                continue;
            }
            read.push(customer);
            let record = &self.model.customers[customer];
            let own =
                record.manager_at(now) == Some(operator) && record.associated_partner() == Some(self.model.operators[operator].partner);
            let expect = if own { Expect::Rows(record.bill_count) } else { Expect::Fail("access_denied") };
            let command = json!({"op": "bills", "party": self.customer_party(customer), "limit": 1});
            self.query(&actor, command, expect, Tag::ManagerRead);
        }
    }

    /// A partner (or its finance operator) reads the orders awaiting its payment: its customers'
    /// and, for a distributor, its resellers' customers' orders with an open request.
    fn awaiting_read(&mut self, partner: usize) {
        let in_reach = |customer: usize| {
            let owner = self.model.customers[customer].associated_partner();
            owner == Some(partner) || owner.is_some_and(|owner| self.model.partners[owner].parent == Some(partner))
        };
        let awaiting = self
            .model
            .orders
            .iter()
            .filter(|order| order.request == Some(Request::Requested) && order.status == OrderStatus::Pending && in_reach(order.customer))
            .count() as u64;
        let actor = match self.model.partners[partner].finance {
            Some(finance) if self.rng.chance(500) => self.model.operator_party(finance),
            _ => self.model.party(Who::Partner(partner)),
        };
        let command = json!({"op": "orders", "partner_payment": "requested", "limit": 1});
        self.query(&actor, command, Expect::Rows(awaiting), Tag::AwaitingRead);
    }
}
