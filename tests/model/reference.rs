//! A deliberately simple, independent in-memory reference of the foundation commands of SPEC.md:
//! parties, money (recharge, allocate, recover, credit, adjust) and atomic groups.
//!
//! It reads the same JSON request lines as the ledger and says what the ledger must answer: the
//! committed `seq` (and whether it is a duplicate) or the exact error code, following the
//! precedence of SPEC 2.2, and what every balance must be afterwards. Plain maps and `i128` fen;
//! nothing is shared with `src/`. Used by `tests/model.rs` and meant for a fuzz target too, so it
//! holds no test framework code.
#![allow(dead_code)]

use serde_json::{Map, Value};
use std::collections::HashMap;

/// Fen per yuan.
const FEN: i128 = 100;
/// Amounts must stay below 10^12 yuan.
const AMOUNT_LIMIT_YUAN: i128 = 1_000_000_000_000;
/// Longest id, in characters.
const ID_LENGTH_MAX: usize = 64;
/// Longest memo or reason, in characters (a choice of the implementation, mirrored).
const TEXT_LENGTH_MAX: usize = 256;
/// Commands in one atomic group, at most.
const GROUP_COMMANDS_MAX: usize = 100;

/// A party as written in the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// `platform`.
    Platform,
    /// `partner:<id>`.
    Partner(String),
    /// `customer:<id>`.
    Customer(String),
}

impl Party {
    /// The protocol text.
    pub fn text(&self) -> String {
        match self {
            Party::Platform => "platform".to_owned(),
            Party::Partner(id) => format!("partner:{id}"),
            Party::Customer(id) => format!("customer:{id}"),
        }
    }
}

/// A partner's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `solution_provider`.
    SolutionProvider,
    /// `distributor`.
    Distributor,
    /// `reseller`.
    Reseller,
}

/// A customer's association kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Association {
    /// `resale`.
    Resale,
    /// `referral`.
    Referral,
}

/// A decoded mutating command. Two requests with equal actor, `at` and command are the same
/// content (an amount `"100"` equals `"100.00"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    RegisterPartner { partner: String, kind: Kind, parent: Option<String> },
    RegisterCustomer { customer: String, partner: Option<String>, association: Option<Association> },
    Associate { customer: String, partner: String, association: Association },
    Recharge { party: Party, amount: i128 },
    Allocate { partner: Option<String>, to: Party, amount: i128, memo: Option<String> },
    Recover { partner: Option<String>, from: Party, amount: i128, memo: Option<String> },
    SetCreditLimit { party: Party, limit: i128 },
    RepayCredit { party: Party, amount: i128 },
    Adjust { party: Party, deduct: bool, amount: i128, reason: String },
    Atomic(Vec<Command>),
}

/// What the ledger must answer to one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Committed (or replayed) as transaction `seq`.
    Committed {
        /// The transaction's seq.
        seq: u64,
        /// An identical replay of an already committed request.
        duplicate: bool,
    },
    /// Refused with `code`; `index` is the failing member of an atomic group, when known.
    Failed {
        /// The SPEC error code.
        code: &'static str,
        /// The failing command of an atomic group (not given for decoding errors and `id_reused`).
        index: Option<usize>,
    },
    /// A query: not modelled here.
    Query,
}

/// An adjust record (SPEC 4 `adjust_records`) of an allocation or a recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The committing transaction's seq.
    pub seq: u64,
    /// Its time, in ms since the epoch.
    pub at: i64,
    /// `allocate` or `recover`.
    pub operation: &'static str,
    /// The partner whose cash moved.
    pub partner: String,
    /// The customer or reseller on the other side.
    pub target: Party,
    /// In fen.
    pub amount: i128,
    /// Free text.
    pub memo: Option<String>,
}

/// The money of one partner or customer, in fen; `credit_used` and `arrears` are positive debts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    pub cash: i128,
    pub credit_limit: i128,
    pub credit_used: i128,
    pub arrears: i128,
}

#[derive(Clone, Debug)]
struct PartnerInfo {
    kind: Kind,
    parent: Option<String>,
}

#[derive(Clone, Debug)]
struct CustomerInfo {
    link: Option<(String, Association)>,
}

/// Everything a command can change.
#[derive(Clone, Debug, Default)]
struct Books {
    partners: HashMap<String, PartnerInfo>,
    customers: HashMap<String, CustomerInfo>,
    money: HashMap<Party, Balances>,
    bank: i128,
    revenue: i128,
    records: Vec<Record>,
}

#[derive(Clone, Debug)]
struct Committed {
    content: (Party, Option<i64>, Command),
    seq: u64,
}

/// The reference ledger.
#[derive(Clone, Debug)]
pub struct Model {
    books: Books,
    requests: HashMap<String, Committed>,
    seq: u64,
    /// Time of the last committed transaction, in ms since the epoch (0 when none).
    last_at: i64,
    /// The engine's clock, used when a command has no `at`.
    clock: i64,
}

type Outcome<T> = Result<T, &'static str>;

impl Model {
    /// An empty ledger whose clock reads `clock` (ms since the epoch).
    pub fn new(clock: i64) -> Model {
        Model { books: Books::default(), requests: HashMap::new(), seq: 0, last_at: 0, clock }
    }

    /// Committed transactions so far (the head's seq).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Time of the last committed transaction (0 when none).
    pub fn last_at(&self) -> i64 {
        self.last_at
    }

    /// The platform's `bank` and `revenue` balances, in fen (signed, as the accounts hold them).
    pub fn platform(&self) -> (i128, i128) {
        (self.books.bank, self.books.revenue)
    }

    /// Every adjust record, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.books.records
    }

    /// The balances of a registered partner or customer; `None` when not registered.
    pub fn balances(&self, party: &Party) -> Option<Balances> {
        self.books.registered(party).then(|| self.books.money.get(party).copied().unwrap_or_default())
    }

    /// Runs one request line and says what the ledger must answer.
    pub fn execute_line(&mut self, line: &str) -> Expected {
        match serde_json::from_str::<Value>(line) {
            Ok(value) => self.execute(&value),
            Err(_) => Expected::Failed { code: "invalid_request", index: None },
        }
    }

    /// Runs one request given as JSON.
    pub fn execute(&mut self, request: &Value) -> Expected {
        let (id, actor, at, command) = match decode(request) {
            Ok(Decoded::Command { id, actor, at, command }) => (id, actor, at, command),
            Ok(Decoded::Query) => return Expected::Query,
            Err(code) => return Expected::Failed { code, index: None },
        };
        let content = (actor.clone(), at, command.clone());
        let mut id_reused = false;
        if let Some(committed) = self.requests.get(&id) {
            if committed.content == content {
                return Expected::Committed { seq: committed.seq, duplicate: true };
            }
            id_reused = true;
        }
        let at = at.unwrap_or(self.clock.max(self.last_at));
        let mut books = self.books.clone();
        let check = Check { actor: &actor, at, last_at: self.last_at, id_reused };
        let result = match &command {
            Command::Atomic(commands) => commands.iter().enumerate().try_for_each(|(index, member)| {
                books.run(&check, member).map_err(|code| (code, (code != "id_reused").then_some(index)))
            }),
            single => books.run(&check, single).map_err(|code| (code, None)),
        };
        if let Err((code, index)) = result {
            return Expected::Failed { code, index };
        }
        self.seq += 1;
        for record in books.records.iter_mut().filter(|record| record.seq == 0) {
            record.seq = self.seq;
        }
        self.books = books;
        self.last_at = at;
        self.requests.insert(id, Committed { content, seq: self.seq });
        Expected::Committed { seq: self.seq, duplicate: false }
    }
}

/// The context of one command: who, when, and whether its request id was used before.
struct Check<'a> {
    actor: &'a Party,
    at: i64,
    last_at: i64,
    id_reused: bool,
}

impl Check<'_> {
    fn fresh(&self) -> Outcome<()> {
        if self.id_reused { Err("id_reused") } else { Ok(()) }
    }

    fn in_time(&self) -> Outcome<()> {
        if self.at < self.last_at { Err("time_went_backwards") } else { Ok(()) }
    }

    fn platform_only(&self) -> Outcome<()> {
        if *self.actor == Party::Platform { Ok(()) } else { Err("access_denied") }
    }
}

impl Books {
    fn registered(&self, party: &Party) -> bool {
        match party {
            Party::Platform => true,
            Party::Partner(id) => self.partners.contains_key(id),
            Party::Customer(id) => self.customers.contains_key(id),
        }
    }

    fn exists(&self, party: &Party) -> Outcome<()> {
        if self.registered(party) { Ok(()) } else { Err("not_found") }
    }

    fn parent(&self, partner: &str) -> Option<&str> {
        self.partners.get(partner).and_then(|info| info.parent.as_deref())
    }

    fn link(&self, customer: &str) -> Option<&(String, Association)> {
        self.customers.get(customer).and_then(|info| info.link.as_ref())
    }

    /// SPEC 2.1: the platform acts for all; a partner for itself, its customers and, as a
    /// distributor, its resellers and their customers; a customer for itself.
    fn in_scope(&self, actor: &Party, party: &Party) -> bool {
        match actor {
            Party::Platform => true,
            Party::Customer(_) => actor == party,
            Party::Partner(me) => match party {
                _ if actor == party => true,
                Party::Partner(other) => self.parent(other) == Some(me.as_str()),
                Party::Customer(customer) => match self.link(customer) {
                    Some((owner, _)) => owner == me || self.parent(owner) == Some(me.as_str()),
                    None => false,
                },
                Party::Platform => false,
            },
        }
    }

    fn scope(&self, actor: &Party, party: &Party) -> Outcome<()> {
        if self.in_scope(actor, party) { Ok(()) } else { Err("access_denied") }
    }

    fn is_resale_customer(&self, party: &Party) -> bool {
        match party {
            Party::Customer(id) => matches!(self.link(id), Some((_, Association::Resale))),
            _ => false,
        }
    }

    fn money(&mut self, party: &Party) -> &mut Balances {
        self.money.entry(party.clone()).or_default()
    }

    fn cash(&self, party: &Party) -> i128 {
        self.money.get(party).map_or(0, |balances| balances.cash)
    }

    /// Money arriving at a party: a customer's debt first, then cash.
    fn incoming(&mut self, party: &Party, amount: i128) {
        let is_customer = matches!(party, Party::Customer(_));
        let balances = self.money(party);
        let repaid = if is_customer { amount.min(balances.arrears) } else { 0 };
        balances.arrears -= repaid;
        balances.cash += amount - repaid;
    }

    fn funds(&self, party: &Party, amount: i128) -> Outcome<()> {
        if self.cash(party) >= amount { Ok(()) } else { Err("insufficient_funds") }
    }

    /// Decides and applies one non-group command, checks in the order of SPEC 2.2.
    fn run(&mut self, check: &Check<'_>, command: &Command) -> Outcome<()> {
        if !self.registered(check.actor) {
            return Err("access_denied");
        }
        match command {
            Command::RegisterPartner { partner, kind, parent } => self.register_partner(check, partner, *kind, parent.as_deref()),
            Command::RegisterCustomer { customer, partner, association } => {
                self.register_customer(check, customer, partner.as_deref(), *association)
            }
            Command::Associate { customer, partner, association } => self.associate(check, customer, partner, *association),
            Command::Recharge { party, amount } => self.recharge(check, party, *amount),
            Command::Allocate { partner, to, amount, memo } => self.transfer(check, partner.as_deref(), to, *amount, memo, true),
            Command::Recover { partner, from, amount, memo } => self.transfer(check, partner.as_deref(), from, *amount, memo, false),
            Command::SetCreditLimit { party, limit } => self.set_credit_limit(check, party, *limit),
            Command::RepayCredit { party, amount } => self.repay_credit(check, party, *amount),
            Command::Adjust { party, deduct, amount, .. } => self.adjust(check, party, *deduct, *amount),
            Command::Atomic(_) => Err("invalid_request"),
        }
    }

    fn register_partner(&mut self, check: &Check<'_>, partner: &str, kind: Kind, parent: Option<&str>) -> Outcome<()> {
        check.platform_only()?;
        if let Some(parent) = parent {
            match self.partners.get(parent) {
                None => return Err("not_found"),
                Some(info) if info.kind != Kind::Distributor => return Err("invalid_request"),
                Some(_) => {}
            }
        }
        check.fresh()?;
        if self.partners.contains_key(partner) {
            return Err("already_exists");
        }
        check.in_time()?;
        self.partners.insert(partner.to_owned(), PartnerInfo { kind, parent: parent.map(str::to_owned) });
        Ok(())
    }

    fn register_customer(&mut self, check: &Check<'_>, customer: &str, partner: Option<&str>, association: Option<Association>) -> Outcome<()> {
        match partner {
            Some(partner) => {
                let partner_party = Party::Partner(partner.to_owned());
                self.scope(check.actor, &partner_party)?;
                self.exists(&partner_party)?;
            }
            None => check.platform_only()?,
        }
        check.fresh()?;
        if self.customers.contains_key(customer) {
            return Err("already_exists");
        }
        check.in_time()?;
        let link = partner.map(|partner| (partner.to_owned(), association.unwrap_or(Association::Resale)));
        self.customers.insert(customer.to_owned(), CustomerInfo { link });
        Ok(())
    }

    fn associate(&mut self, check: &Check<'_>, customer: &str, partner: &str, association: Association) -> Outcome<()> {
        check.platform_only()?;
        let customer_party = Party::Customer(customer.to_owned());
        self.exists(&customer_party)?;
        self.exists(&Party::Partner(partner.to_owned()))?;
        check.fresh()?;
        if self.link(customer).is_some() {
            return Err("association_state");
        }
        let balances = self.money.get(&customer_party).copied().unwrap_or_default();
        if association == Association::Resale && (balances.cash != 0 || balances.arrears != 0 || balances.credit_used != 0) {
            return Err("association_blocked");
        }
        check.in_time()?;
        self.customers.insert(customer.to_owned(), CustomerInfo { link: Some((partner.to_owned(), association)) });
        Ok(())
    }

    fn recharge(&mut self, check: &Check<'_>, party: &Party, amount: i128) -> Outcome<()> {
        check.platform_only()?;
        self.exists(party)?;
        check.fresh()?;
        if self.is_resale_customer(party) {
            return Err("resale_customer");
        }
        check.in_time()?;
        self.bank -= amount;
        self.incoming(party, amount);
        Ok(())
    }

    /// `allocate` (partner → counterparty) or `recover` (counterparty → partner).
    fn transfer(
        &mut self,
        check: &Check<'_>,
        partner: Option<&str>,
        counterparty: &Party,
        amount: i128,
        memo: &Option<String>,
        allocate: bool,
    ) -> Outcome<()> {
        let partner = match (partner, check.actor) {
            (Some(partner), _) => Party::Partner(partner.to_owned()),
            (None, Party::Partner(me)) => Party::Partner(me.clone()),
            (None, _) => return Err("access_denied"),
        };
        // Moving a partner's money is the partner's act (or its distributor's), never the platform's.
        if *check.actor == Party::Platform {
            return Err("access_denied");
        }
        self.scope(check.actor, &partner)?;
        self.exists(&partner)?;
        self.exists(counterparty)?;
        check.fresh()?;
        self.relationship(&partner, counterparty)?;
        check.in_time()?;
        if allocate {
            self.funds(&partner, amount)?;
            self.money(&partner).cash -= amount;
            self.incoming(counterparty, amount);
        } else {
            self.funds(counterparty, amount)?;
            self.money(counterparty).cash -= amount;
            self.incoming(&partner, amount);
        }
        let Party::Partner(partner) = partner else { return Err("access_denied") };
        self.records.push(Record {
            seq: 0,
            at: check.at,
            operation: if allocate { "allocate" } else { "recover" },
            partner,
            target: counterparty.clone(),
            amount,
            memo: memo.clone(),
        });
        Ok(())
    }

    /// The counterparty of an allocation or recovery: a resale customer of the partner, or a
    /// reseller of the partner when it is a distributor.
    fn relationship(&self, partner: &Party, counterparty: &Party) -> Outcome<()> {
        let Party::Partner(partner) = partner else { return Err("access_denied") };
        match counterparty {
            Party::Customer(customer) => match self.link(customer) {
                Some((owner, Association::Resale)) if owner == partner => Ok(()),
                Some((owner, Association::Referral)) if owner == partner => Err("not_resale_customer"),
                _ => Err("not_your_customer"),
            },
            Party::Partner(reseller) => {
                let is_distributor = self.partners.get(partner).is_some_and(|info| info.kind == Kind::Distributor);
                if is_distributor && self.parent(reseller) == Some(partner.as_str()) { Ok(()) } else { Err("not_your_reseller") }
            }
            Party::Platform => Err("invalid_request"),
        }
    }

    fn set_credit_limit(&mut self, check: &Check<'_>, party: &Party, limit: i128) -> Outcome<()> {
        check.platform_only()?;
        self.exists(party)?;
        check.fresh()?;
        if limit < self.money(party).credit_used {
            return Err("credit_limit_below_usage");
        }
        check.in_time()?;
        self.money(party).credit_limit = limit;
        Ok(())
    }

    fn repay_credit(&mut self, check: &Check<'_>, party: &Party, amount: i128) -> Outcome<()> {
        self.scope(check.actor, party)?;
        self.exists(party)?;
        check.fresh()?;
        if amount > self.money(party).credit_used {
            return Err("exceeds_credit_used");
        }
        check.in_time()?;
        self.funds(party, amount)?;
        let balances = self.money(party);
        balances.cash -= amount;
        balances.credit_used -= amount;
        Ok(())
    }

    fn adjust(&mut self, check: &Check<'_>, party: &Party, deduct: bool, amount: i128) -> Outcome<()> {
        check.platform_only()?;
        self.exists(party)?;
        check.fresh()?;
        check.in_time()?;
        if deduct {
            self.funds(party, amount)?;
            self.money(party).cash -= amount;
            self.revenue += amount;
        } else {
            self.revenue -= amount;
            self.incoming(party, amount);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding: structure (`invalid_request`) before ids (`invalid_id`) before amounts
// (`invalid_amount`), whatever the order of the fields.

enum Decoded {
    Command { id: String, actor: Party, at: Option<i64>, command: Command },
    Query,
}

/// The three decoding errors by precedence.
const DECODE_CODES: [&str; 3] = ["invalid_request", "invalid_id", "invalid_amount"];

struct Fields {
    map: Map<String, Value>,
    /// Index into `DECODE_CODES` of the worst problem seen.
    worst: Option<usize>,
}

impl Fields {
    fn flag(&mut self, rank: usize) {
        self.worst = Some(self.worst.map_or(rank, |worst| worst.min(rank)));
    }

    /// A field; JSON `null` counts as absent.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|value| !value.is_null())
    }

    fn string(&mut self, name: &str, required: bool) -> Option<String> {
        match self.take(name) {
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                self.flag(0);
                None
            }
            None => {
                if required {
                    self.flag(0);
                }
                None
            }
        }
    }

    fn id(&mut self, name: &str, required: bool, party_id: bool) -> Option<String> {
        let text = self.string(name, required)?;
        if valid_id(&text, party_id) {
            Some(text)
        } else {
            self.flag(1);
            None
        }
    }

    fn party(&mut self, name: &str) -> Option<Party> {
        let text = self.string(name, true)?;
        let party = parse_party(&text);
        if party.is_none() {
            self.flag(1);
        }
        party
    }

    /// A partner or customer (`platform` has no money accounts of its own: `invalid_request`).
    fn member(&mut self, name: &str) -> Option<Party> {
        let party = self.party(name)?;
        if party == Party::Platform {
            self.flag(0);
            return None;
        }
        Some(party)
    }

    fn amount(&mut self, name: &str, zero_allowed: bool) -> Option<i128> {
        match self.take(name) {
            None => {
                self.flag(0);
                None
            }
            Some(Value::String(text)) => {
                let amount = parse_amount(&text).filter(|amount| zero_allowed || *amount > 0);
                if amount.is_none() {
                    self.flag(2);
                }
                amount
            }
            Some(_) => {
                self.flag(2);
                None
            }
        }
    }

    fn choice<T: Copy>(&mut self, name: &str, required: bool, choices: &[(&str, T)]) -> Option<T> {
        let text = self.string(name, required)?;
        let found = choices.iter().find(|(choice, _)| *choice == text).map(|(_, value)| *value);
        if found.is_none() {
            self.flag(0);
        }
        found
    }

    fn text(&mut self, name: &str, required: bool) -> Option<String> {
        let text = self.string(name, required)?;
        if text.chars().count() > TEXT_LENGTH_MAX {
            self.flag(0);
            return None;
        }
        Some(text)
    }

    fn time(&mut self, name: &str) -> Option<i64> {
        let text = self.string(name, false)?;
        let at = parse_time(&text);
        if at.is_none() {
            self.flag(0);
        }
        at
    }

    /// Unknown fields are `invalid_request`.
    fn finish(&mut self) {
        if !self.map.is_empty() {
            self.flag(0);
        }
    }
}

const KINDS: [(&str, Kind); 3] =
    [("solution_provider", Kind::SolutionProvider), ("distributor", Kind::Distributor), ("reseller", Kind::Reseller)];
const ASSOCIATIONS: [(&str, Association); 2] = [("resale", Association::Resale), ("referral", Association::Referral)];
const DIRECTIONS: [(&str, bool); 2] = [("compensate", false), ("deduct", true)];
const QUERY_OPS: [&str; 3] = ["balance", "adjust_records", "statement"];

fn decode(request: &Value) -> Result<Decoded, &'static str> {
    let Value::Object(map) = request else { return Err("invalid_request") };
    let mut fields = Fields { map: map.clone(), worst: None };
    let op = fields.string("op", true);
    let actor = fields.party("actor");
    let at = fields.time("at");
    if op.as_deref().is_some_and(|op| QUERY_OPS.contains(&op)) {
        return Ok(Decoded::Query);
    }
    let id = fields.id("id", true, false);
    let command = op.and_then(|op| decode_command(&op, &mut fields, true));
    fields.finish();
    if let Some(worst) = fields.worst {
        return Err(DECODE_CODES[worst]);
    }
    match (id, actor, command) {
        (Some(id), Some(actor), Some(command)) => Ok(Decoded::Command { id, actor, at, command }),
        _ => Err("invalid_request"),
    }
}

/// Takes the fields of `op` out of `fields` (all of them, so that leftovers are unknown fields).
fn decode_command(op: &str, fields: &mut Fields, top_level: bool) -> Option<Command> {
    match op {
        "register_partner" => {
            let partner = fields.id("partner", true, true);
            let kind = fields.choice("kind", true, &KINDS);
            let parent_given = fields.map.get("parent").is_some_and(|value| !value.is_null());
            let parent = fields.id("parent", false, true);
            // SPEC 3: `parent` is required for, and only for, a reseller.
            if kind.is_some_and(|kind| (kind == Kind::Reseller) != parent_given) {
                fields.flag(0);
            }
            Some(Command::RegisterPartner { partner: partner?, kind: kind?, parent })
        }
        "register_customer" => {
            let customer = fields.id("customer", true, true);
            let partner_given = fields.map.get("partner").is_some_and(|value| !value.is_null());
            let partner = fields.id("partner", false, true);
            let association = fields.choice("association", false, &ASSOCIATIONS);
            // An association without a partner is meaningless (a choice of the implementation).
            if association.is_some() && !partner_given {
                fields.flag(0);
            }
            Some(Command::RegisterCustomer { customer: customer?, partner, association })
        }
        "associate" => {
            let customer = fields.id("customer", true, true);
            let partner = fields.id("partner", true, true);
            let association = fields.choice("association", true, &ASSOCIATIONS);
            Some(Command::Associate { customer: customer?, partner: partner?, association: association? })
        }
        "recharge" | "repay_credit" => {
            let party = fields.member("party");
            let amount = fields.amount("amount", false);
            let (party, amount) = (party?, amount?);
            Some(if op == "recharge" { Command::Recharge { party, amount } } else { Command::RepayCredit { party, amount } })
        }
        "allocate" | "recover" => {
            let partner = fields.id("partner", false, true);
            let counterparty = fields.member(if op == "allocate" { "to" } else { "from" });
            let amount = fields.amount("amount", false);
            let memo = fields.text("memo", false);
            let (counterparty, amount) = (counterparty?, amount?);
            Some(if op == "allocate" {
                Command::Allocate { partner, to: counterparty, amount, memo }
            } else {
                Command::Recover { partner, from: counterparty, amount, memo }
            })
        }
        "set_credit_limit" => {
            let party = fields.member("party");
            let limit = fields.amount("limit", true);
            Some(Command::SetCreditLimit { party: party?, limit: limit? })
        }
        "adjust" => {
            let party = fields.member("party");
            let deduct = fields.choice("direction", true, &DIRECTIONS);
            let amount = fields.amount("amount", false);
            let reason = fields.text("reason", true);
            Some(Command::Adjust { party: party?, deduct: deduct?, amount: amount?, reason: reason? })
        }
        "atomic" if top_level => decode_group(fields).map(Command::Atomic),
        _ => {
            fields.flag(0);
            None
        }
    }
}

fn decode_group(fields: &mut Fields) -> Option<Vec<Command>> {
    let Some(Value::Array(items)) = fields.take("commands") else {
        fields.flag(0);
        return None;
    };
    if items.is_empty() || items.len() > GROUP_COMMANDS_MAX {
        fields.flag(0);
        return None;
    }
    let mut commands = Vec::new();
    for item in items {
        let Value::Object(map) = item else {
            fields.flag(0);
            continue;
        };
        let mut member = Fields { map, worst: None };
        for envelope in ["id", "actor", "at"] {
            if member.map.remove(envelope).is_some() {
                member.flag(0);
            }
        }
        let command = member.string("op", true).and_then(|op| decode_command(&op, &mut member, false));
        member.finish();
        if let Some(worst) = member.worst {
            fields.flag(worst);
        }
        commands.extend(command);
    }
    Some(commands)
}

fn valid_id(text: &str, party_id: bool) -> bool {
    let length = text.chars().count();
    (1..=ID_LENGTH_MAX).contains(&length)
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') || (c == ':' && !party_id))
}

/// `platform`, `partner:<id>` or `customer:<id>`.
pub fn parse_party(text: &str) -> Option<Party> {
    if text == "platform" {
        return Some(Party::Platform);
    }
    let (prefix, id) = text.split_once(':')?;
    if !valid_id(id, true) {
        return None;
    }
    match prefix {
        "partner" => Some(Party::Partner(id.to_owned())),
        "customer" => Some(Party::Customer(id.to_owned())),
        _ => None,
    }
}

/// A plain decimal with at most 2 places, below 10^12, in fen (zero included).
pub fn parse_amount(text: &str) -> Option<i128> {
    let (units, fraction) = match text.split_once('.') {
        Some((units, fraction)) => (units, Some(fraction)),
        None => (text, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || fraction.is_some_and(|fraction| !digits(fraction) || fraction.len() > 2) {
        return None;
    }
    let significant = units.trim_start_matches('0');
    if significant.len() > 13 {
        return None;
    }
    let units: i128 = if significant.is_empty() { 0 } else { significant.parse().ok()? };
    if units >= AMOUNT_LIMIT_YUAN {
        return None;
    }
    let fraction = fraction.unwrap_or("");
    let fen: i128 = format!("{fraction:0<2}").parse().ok()?;
    Some(units * FEN + fen)
}

/// The `cbc` of an error code (SPEC 6).
pub fn cbc(code: &str) -> &'static str {
    match code {
        "invalid_request" | "not_found" | "already_exists" | "id_reused" | "time_went_backwards" => "CBC.0100",
        "invalid_id" | "invalid_amount" | "invalid_validity" | "credit_limit_below_usage" | "exceeds_credit_used" | "refund_exceeds_paid"
        | "exceeds_invoiceable" => "CBC.0101",
        "access_denied" => "CBC.0151",
        "not_your_customer" => "CBC.99000035",
        "not_your_reseller" => "CBC.99000037",
        "not_resale_customer" | "not_whitelisted" => "CBC.99000014",
        "resale_customer" | "association_state" | "association_blocked" | "withdrawal_state" | "invoice_state" | "debt_outstanding" => "CBC.0155",
        "insufficient_funds" => "CBC.99005003",
        "quota_insufficient" => "CBC.99000013",
        "quota_not_valid" => "CBC.99000017",
        "coupon_not_usable" | "coupon_not_reclaimable" => "CBC.99003112",
        "order_state" => "CBC.99003106",
        "order_expired" => "CBC.99003110",
        "use_combined_order_id" => "CBC.99000089",
        "already_invoiced" => "CBC.99003643",
        "storage" => "CBC.0999",
        _ => "unknown",
    }
}

/// Formats a time as RFC 3339 in UTC, with milliseconds only when not zero.
pub fn format_time(millis: i64) -> String {
    let (seconds, millis) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (mut days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let mut year = 1970;
    loop {
        let length = if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 0;
    while days >= month_days[month] {
        days -= month_days[month];
        month += 1;
    }
    let fraction = if millis == 0 { String::new() } else { format!(".{millis:03}") };
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        month + 1,
        days + 1,
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Formats fen as the protocol shows amounts: exactly 2 places.
pub fn format_amount(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / FEN, fen.abs() % FEN)
}

/// RFC 3339 (`2026-01-05T10:00:00Z`, `Z` or `±HH:MM`, a fraction of at most millisecond
/// precision), years 1970 to 9999, in ms since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if !text.is_ascii() || bytes.len() < 20 {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        let part = &text[from..to];
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't') || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if year < 1970 || !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 || fraction[..count].bytes().skip(3).any(|b| b != b'0') {
            return None;
        }
        let kept: String = fraction[..count].chars().take(3).collect();
        millis = format!("{kept:0<3}").parse::<i64>().ok()?;
        rest = &fraction[count..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let zone = rest.as_bytes();
            if zone.len() != 6 || !matches!(zone[0], b'+' | b'-') || zone[3] != b':' {
                return None;
            }
            let (hours, minutes) = (rest[1..3].parse::<i64>().ok()?, rest[4..6].parse::<i64>().ok()?);
            if !rest[1..3].bytes().chain(rest[4..6].bytes()).all(|b| b.is_ascii_digit()) || hours > 23 || minutes > 59 {
                return None;
            }
            (if zone[0] == b'-' { -1 } else { 1 }) * (hours * 3600 + minutes * 60)
        }
    };
    let mut days = 0;
    for earlier in 1970..year {
        days += if earlier % 4 == 0 && (earlier % 100 != 0 || earlier % 400 == 0) { 366 } else { 365 };
    }
    days += month_days[..(month - 1) as usize].iter().sum::<i64>() + day - 1;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    (seconds >= 0).then_some(seconds * 1000 + millis)
}

