//! Arbitrary bytes as a sequence of commands, run against a fresh ledger and against the
//! reference model of `tests/model/reference.rs`: they must agree on every answer (committed
//! `seq`, `duplicate` and `result`, or the error `code`, `cbc` and `index`) and on every balance
//! (with `allocated`, `withdrawable` and `over_invoiced`) after every step, with both assets
//! summing to zero; at the end also on orders, invoiceable items, bills, withdrawals, invoices and
//! what two actors picked by the input may read (`balance`, `bills`, `orders` with its
//! `partner_payment` filter), and the journal must verify.
//!
//! After a first byte, each step takes two bytes: one picks a command template, the other seeds
//! the choice of its request id, `at`, actor and fields from small pools (orders, coupons,
//! withdrawals and invoices mostly among those the model knows; a partner's act now and then sent
//! by one of its operators); the first byte also asks for up to 31 further steps drawn from a
//! hash of the whole input, so that short inputs already make long sequences that reach deep
//! states. The first byte decides whether the sequence starts from the cast of the model test
//! (`reference::cast`, committed once per process, then copied: a redb file and the model's
//! state), with a temporary directory under `/dev/shm` when it exists.
//!
//! Templates 40 to 45 drive SPEC v2 part 2: discounts granted, revoked and used in payment,
//! pickup vouchers from D1's pickup quota, invoices by cycles or bills, customers with external
//! ids (template 9/10 also issue pickup quotas and default a distributor's window).
//!
//! The model follows SPEC.md: any disagreement is a finding.
#![no_main]

#[path = "../../tests/model/reference.rs"]
mod reference;

use libfuzzer_sys::fuzz_target;
use partner_ledger::{Clock, Ledger, Timestamp};
use reference::{
    CLOCK, COUPONS, CUSTOMERS, DISCOUNTS, Expected, Model, OPERATORS, PARTNERS, Party, QUOTAS, SERVICES, cast, cbc, format_amount,
    format_time, parse_time, universe,
};
use serde_json::{Map, Value, json};

/// Steps per input, at most: longer inputs are cut.
const STEPS_MAX: usize = 64;
/// Command templates of `Run::command`; the templates above replay or send garbage.
const TEMPLATES: u8 = 46;

const AMOUNTS: [&str; 12] = ["1", "5", "10.5", "25.25", "60", "100", "250", "1000", "5000.99", "0", "1.001", "-5"];
const USAGE: [&str; 8] = ["0.01", "0.015", "1.23456789", "12.5", "99.999", "150", "0.001", "1.123456789"];
const KINDS: [&str; 4] = ["new", "renew", "change", "gift"];
/// Minutes after the later of the clock and the head.
const OFFSETS: [i64; 8] = [0, 1, 30, 120, 1440, 4320, 10080, -60];
/// Operator role lists: valid (any order), empty (disables, refused at registration), repeated,
/// unknown.
const ROLES: [&[&str]; 8] = [
    &["admin"],
    &["finance"],
    &["customer_manager"],
    &["customer_manager", "finance"],
    &["finance", "admin"],
    &[],
    &["finance", "finance"],
    &["boss"],
];

/// The choices of one step: a small generator seeded by the step's two input bytes and its
/// position, so that each step depends on its own bytes only (a mutation changes one step).
struct Picks {
    state: u64,
}

impl Picks {
    fn new(template: u8, seed: u8, step: usize) -> Picks {
        let state = (u64::from(template) << 16 | u64::from(seed) << 8 | step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Picks { state }
    }

    fn byte(&mut self) -> u8 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    }

    fn pick<'p, T>(&mut self, pool: &'p [T]) -> &'p T {
        &pool[usize::from(self.byte()) % pool.len()]
    }

    /// True with probability `numerator`/256.
    fn chance(&mut self, numerator: u8) -> bool {
        self.byte() < numerator
    }
}

struct FixedClock(Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Every actor the templates may pick: the platform, the pools of partners, customers and
/// operators, and an unknown party.
fn actors() -> Vec<String> {
    let mut actors = vec!["platform".to_owned(), "partner:X8".to_owned()];
    actors.extend(universe().iter().map(Party::text));
    actors.extend(OPERATORS.iter().map(|id| format!("operator:{id}")));
    actors
}

/// The partners usually in charge of a customer of the cast (its partner, then its distributor).
fn partners_of(customer: &str) -> &'static [&'static str] {
    match customer {
        "C1" => &["D1"],
        "C2" => &["R1", "D1"],
        "C3" => &["S1"],
        _ => &["S1", "D2", "D1"],
    }
}

fn object(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
}

/// One run: the ledger, the model and what was sent.
struct Run {
    ledger: Ledger,
    dir: tempfile::TempDir,
    model: Model,
    clock: i64,
    actors: Vec<String>,
    sent: Vec<String>,
    ids: Vec<String>,
    fresh: usize,
}

/// A ledger file after the cast and the model in the same state, made once per process: each
/// input starting from the cast copies the file instead of committing the cast again.
struct Prepared {
    /// The redb file's bytes (its directory is gone: statics are never dropped).
    file: Vec<u8>,
    model: Model,
    sent: Vec<String>,
    ids: Vec<String>,
}

static PREPARED: std::sync::LazyLock<Prepared> = std::sync::LazyLock::new(|| {
    let mut run = Run::new(None);
    for line in cast() {
        run.send(line, true);
    }
    run.check_balances();
    if run.model.seq() as usize != cast().len() {
        run.fail(format!("the cast must commit every line: {} of {}", run.model.seq(), cast().len()));
    }
    let Run { ledger, dir, model, sent, ids, .. } = run;
    drop(ledger);
    let file = std::fs::read(dir.path().join("sequence.redb")).expect("read the prepared ledger");
    Prepared { file, model, sent, ids }
});

impl Run {
    /// A fresh ledger, or a copy of the prepared one.
    fn new(prepared: Option<&Prepared>) -> Run {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("temporary directory");
        let file = dir.path().join("sequence.redb");
        if let Some(prepared) = prepared {
            std::fs::write(&file, &prepared.file).expect("write the prepared ledger");
        }
        let clock = Timestamp::parse(CLOCK).expect("valid clock");
        let ledger = Ledger::open_with_clock(&file, Box::new(FixedClock(clock))).expect("open");
        let clock = parse_time(CLOCK).expect("valid clock");
        let mut run = Run { ledger, dir, model: Model::new(clock), clock, actors: actors(), sent: Vec::new(), ids: Vec::new(), fresh: 0 };
        if let Some(prepared) = prepared {
            run.model = prepared.model.clone();
            run.sent = prepared.sent.clone();
            run.ids = prepared.ids.clone();
            run.check_balances();
        }
        run
    }

    fn now(&self) -> i64 {
        self.model.last_at().max(self.clock)
    }

    /// Reports a disagreement with every line sent. The directory goes first: libFuzzer aborts
    /// on a panic, so no destructor would remove it.
    fn fail(&self, message: String) -> ! {
        let _ = std::fs::remove_dir_all(self.dir.path());
        panic!("{message}\nlines sent:\n{}", self.sent.join("\n"))
    }

    /// Sends one line to both; compares the answers and (unless `quick`) every balance.
    fn send(&mut self, line: String, quick: bool) {
        self.sent.push(line.clone());
        let expected = self.model.execute_line(&line);
        let response = self.ledger.execute_line(&line).to_json();
        match &expected {
            Expected::Committed { seq, duplicate, result } => {
                let agrees = response["ok"] == json!(true)
                    && response["seq"] == json!(seq)
                    && response["duplicate"] == json!(duplicate)
                    && response["result"] == *result;
                if !agrees {
                    self.fail(format!("the model commits seq {seq} (duplicate {duplicate}) with {result}; the ledger answers {response}"));
                }
            }
            Expected::Failed { code, index } => {
                let agrees = response["ok"] == json!(false)
                    && response["error"]["code"] == json!(code)
                    && response["error"]["cbc"] == json!(cbc(code))
                    && index.is_none_or(|index| response["error"]["index"] == json!(index));
                if !agrees {
                    self.fail(format!("the model refuses with {code} (index {index:?}); the ledger answers {response}"));
                }
            }
            Expected::Query => {}
        }
        if let Some(Value::String(id)) = serde_json::from_str::<Value>(&line).ok().and_then(|request| request.get("id").cloned()) {
            self.ids.push(id);
        }
        if !quick {
            self.check_balances();
        }
    }

    fn query(&self, request: Value) -> Value {
        self.ledger.execute_line(&request.to_string()).to_json()
    }

    /// A signed amount as the ledger prints it, in fen.
    fn fen(&self, value: &Value) -> i128 {
        value.as_str().and_then(|text| reference::parse_amount(text.trim_start_matches('-')).map(|fen| (text, fen))).map_or_else(
            || self.fail(format!("an amount with 2 places expected, got {value}")),
            |(text, fen)| if text.starts_with('-') { -fen } else { fen },
        )
    }

    /// The head, every balance (with quotas and coupons) against the model, and both zero sums.
    fn check_balances(&self) {
        if self.ledger.head().seq != self.model.seq() {
            self.fail(format!("head seq {} but the model is at {}", self.ledger.head().seq, self.model.seq()));
        }
        let now = self.now();
        let (mut money, mut coupon_value) = (0, 0);
        for party in std::iter::once(Party::Platform).chain(universe()) {
            let response = self.query(json!({"op": "balance", "actor": "platform", "party": party.text(), "at": format_time(now)}));
            let expected = self.model.balance_json(&party, now).unwrap_or_default();
            let result = &response["result"];
            if *result != expected {
                self.fail(format!("balance of {}: the model says {expected}, the ledger {response}", party.text()));
            }
            if party == Party::Platform {
                let accounts = &result["accounts"];
                money += self.fen(&accounts["bank"]) + self.fen(&accounts["revenue"]);
                coupon_value +=
                    ["coupon_issuance", "coupon_redeemed", "coupon_expired"].iter().map(|name| self.fen(&accounts[*name])).sum::<i128>();
            } else if response["ok"] == json!(true) {
                let allocated = if matches!(party, Party::Customer(_)) { self.fen(&result["allocated"]) } else { 0 };
                money += self.fen(&result["cash"]) + allocated - self.fen(&result["credit_used"]) - self.fen(&result["arrears"]);
                let values = result["quotas"].as_array().into_iter().flatten().map(|quota| &quota["balance"]);
                let values = values.chain(result["coupons"].as_array().into_iter().flatten().map(|coupon| &coupon["remaining"]));
                coupon_value += values.map(|value| self.fen(value)).sum::<i128>();
            }
        }
        if money != 0 || coupon_value != 0 {
            self.fail(format!("the balances sum to {money} fen (CNY) and {coupon_value} fen (CPN), not zero"));
        }
    }

    /// Every page of a paged query, or the error code of the first page.
    fn pages(&self, mut request: Value, field: &str) -> Result<Vec<Value>, Value> {
        let mut listed = Vec::new();
        loop {
            request["offset"] = json!(listed.len());
            request["limit"] = json!(100);
            let page = self.query(request.clone());
            if page["ok"] != json!(true) {
                return Err(page["error"]["code"].clone());
            }
            let items = page["result"][field].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                return Ok(listed);
            }
            listed.extend(items);
        }
    }

    /// Orders, invoiceable items, bills, withdrawals, invoices and what two actors may read
    /// against the model, and the journal's own verification.
    fn finish(&self, readers: [&str; 2]) {
        let now = self.now();
        for order in self.model.order_ids() {
            let response = self.query(json!({"op": "order", "actor": "platform", "order": order, "at": format_time(now)}));
            let expected = self.model.order_json(&order, now).unwrap_or_default();
            if response["result"] != expected {
                self.fail(format!("order {order}: the model says {expected}, the ledger {response}"));
            }
        }
        for party in universe() {
            let name = party.text();
            let checks = [
                (
                    "invoiceable",
                    self.query(json!({"op": "invoiceable", "actor": "platform", "party": name}))["result"].clone(),
                    self.model.invoiceable_json(&party),
                ),
                (
                    "bills",
                    self.query(json!({"op": "bills", "actor": "platform", "party": name, "limit": 100}))["result"]["bills"].clone(),
                    self.model.bills_json(&party).map(Value::from),
                ),
                (
                    "withdrawals",
                    self.query(json!({"op": "withdrawals", "actor": "platform", "party": name, "limit": 100}))["result"]["withdrawals"]
                        .clone(),
                    self.model.withdrawals_json(&party).map(Value::from),
                ),
            ];
            for (what, listed, expected) in checks {
                let expected = expected.unwrap_or_default();
                if listed != expected {
                    self.fail(format!("{what} of {name}: the model says {expected}, the ledger {listed}"));
                }
            }
        }
        for invoice in self.model.invoice_ids() {
            let response = self.query(json!({"op": "invoice", "actor": "platform", "invoice": invoice}));
            let expected = self.model.invoice_json(&invoice).unwrap_or_default();
            if response["result"] != expected {
                self.fail(format!("invoice {invoice}: the model says {expected}, the ledger {response}"));
            }
        }
        let at = format_time(now);
        for reader in readers {
            let actor = reference::parse_party(reader).unwrap_or(Party::Platform);
            for party in universe() {
                let response = self.query(json!({"op": "balance", "actor": reader, "party": party.text(), "at": at}));
                let listed =
                    if response["ok"] == json!(true) { Ok(response["result"].clone()) } else { Err(response["error"]["code"].clone()) };
                let expected = self.model.read_balance(&actor, &party, now).map_err(|code| json!(code));
                if listed != expected {
                    self.fail(format!("balance of {} read by {reader}: the model says {expected:?}, the ledger {listed:?}", party.text()));
                }
                let listed = self.pages(json!({"op": "bills", "actor": reader, "party": party.text(), "at": at}), "bills");
                let expected = self.model.read_bills(&actor, &party, now).map_err(|code| json!(code));
                if listed != expected {
                    self.fail(format!("bills of {} read by {reader}: the model says {expected:?}, the ledger {listed:?}", party.text()));
                }
            }
            for filter in [None, Some("requested"), Some("rejected")] {
                let mut request = json!({"op": "orders", "actor": reader, "at": at});
                if let Some(filter) = filter {
                    request["partner_payment"] = json!(filter);
                }
                let listed = self.pages(request, "orders");
                let expected = self.model.read_orders(&actor, None, filter, now).map_err(|code| json!(code));
                if listed != expected {
                    self.fail(format!("orders ({filter:?}) read by {reader}: the model says {expected:?}, the ledger {listed:?}"));
                }
            }
        }
        if let Err(error) = self.ledger.verify() {
            self.fail(format!("verify: {error:?}"));
        }
    }

    /// An id the model knows, picked by a byte, or one from `pool`.
    fn known(&self, bytes: &mut Picks, known: Vec<String>, pool: &[&str]) -> String {
        if !known.is_empty() && bytes.chance(200) {
            return bytes.pick(&known).clone();
        }
        (*bytes.pick(pool)).to_owned()
    }

    /// The line of a step: `template` picks the command, `bytes` everything else.
    fn next_line(&mut self, template: u8, bytes: &mut Picks) -> String {
        let envelope = bytes.byte();
        match template % (TEMPLATES + 4) {
            t if t > TEMPLATES && !self.sent.is_empty() => return bytes.pick(&self.sent).clone(),
            t if t == TEMPLATES => {
                let garbage = [
                    "not json",
                    "{}",
                    r#"{"op":"fly","id":"g","actor":"platform"}"#,
                    r#"{"op":"consume","id":"g","actor":"platform","customer":"C3","amount":"1","amount":"2"}"#,
                    r#"{"op":"register_operator","id":"g","actor":"platform","operator":"N1","partner":"D1","roles":"admin"}"#,
                    r#"{"op":"assign_customer_manager","id":"g","actor":"platform","customer":"C1"}"#,
                ];
                return (*bytes.pick(&garbage)).to_owned();
            }
            _ => {}
        }
        let (actor, mut body) = self.command(template % TEMPLATES, bytes);
        body.insert("actor".to_owned(), json!(actor));
        match envelope % 16 {
            0 if !self.ids.is_empty() => {
                body.insert("id".to_owned(), json!(bytes.pick(&self.ids)));
            }
            1 => {
                body.insert("id".to_owned(), json!(bytes.pick(&["bad id", "x:y", ""])));
            }
            2 => {}
            _ => {
                self.fresh += 1;
                body.insert("id".to_owned(), json!(format!("f{}", self.fresh)));
            }
        }
        match (envelope / 16) % 8 {
            0..=2 => {}
            7 => {
                body.insert("at".to_owned(), json!("2026-02-30T00:00:00Z"));
            }
            _ => {
                let at = self.now() + bytes.pick(&OFFSETS) * 60_000;
                body.insert("at".to_owned(), json!(format_time(at.max(self.clock))));
            }
        }
        if envelope >= 250 {
            body.insert("extra".to_owned(), json!(1));
        }
        Value::Object(body).to_string()
    }

    fn time(&self, bytes: &mut Picks) -> Value {
        json!(format_time(self.now() + bytes.pick(&OFFSETS) * 60_000))
    }

    fn amount(bytes: &mut Picks) -> Value {
        if bytes.chance(8) { json!(5) } else { json!(bytes.pick(&AMOUNTS)) }
    }

    /// Orders (by their combined id when they have one) the model knows in a state: `pending`,
    /// `requested` (pending with the partner asked to pay) or `paid`, with their customer and
    /// what a refund may return.
    fn orders_in(&self, state: &str) -> Vec<(String, String, i128)> {
        let mut found: Vec<(String, String, i128)> = Vec::new();
        for order in self.model.order_summaries() {
            let wanted = match state {
                "requested" => order.status == "pending_payment" && order.partner_payment == Some("requested"),
                "pending" => order.status == "pending_payment",
                status => order.status == status,
            };
            let id = if state == "paid" { order.id.clone() } else { order.combined.clone().unwrap_or_else(|| order.id.clone()) };
            if wanted && !found.iter().any(|(other, _, _)| *other == id) {
                found.push((id, order.customer.clone(), order.refundable));
            }
        }
        found
    }

    /// A known order in `state` (and its customer), or a pool id of `customer`.
    fn order(&self, bytes: &mut Picks, state: &str, customer: &str) -> (String, String) {
        let known = self.orders_in(state);
        if !known.is_empty() && bytes.chance(220) {
            let (id, customer, _) = bytes.pick(&known).clone();
            return (id, customer);
        }
        let id =
            if bytes.chance(32) { format!("G{}-{customer}", 1 + bytes.byte() % 2) } else { format!("O{}-{customer}", bytes.byte() % 6) };
        (id, customer.to_owned())
    }

    /// A partner's act: mostly by the partner, now and then by one of its operators (SPEC 2.1,
    /// v2: an operator acts as its partner within its roles).
    fn as_partner(&self, bytes: &mut Picks, partner: &str) -> String {
        let operators = self.model.operators_of(partner);
        if !operators.is_empty() && bytes.chance(48) {
            return format!("operator:{}", bytes.pick(&operators));
        }
        format!("partner:{partner}")
    }

    /// A command template: (actor, body without envelope).
    fn command(&self, template: u8, bytes: &mut Picks) -> (String, Map<String, Value>) {
        let natural = bytes.chance(220);
        let random_actor = bytes.pick(&self.actors).clone();
        let actor = |own: &str| if natural { own.to_owned() } else { random_actor.clone() };
        let customer = (*bytes.pick(&CUSTOMERS)).to_owned();
        let own = format!("customer:{customer}");
        let partner = *bytes.pick(partners_of(&customer));
        let partner_actor = self.as_partner(bytes, partner);
        match template {
            0 => {
                let partner = *bytes.pick(&PARTNERS);
                let mut body = object(vec![("op", json!("register_partner")), ("partner", json!(partner))]);
                let kind = *bytes.pick(&["distributor", "reseller", "solution_provider"]);
                body.insert("kind".to_owned(), json!(kind));
                if kind == "reseller" || bytes.chance(16) {
                    body.insert("parent".to_owned(), json!(bytes.pick(&["D1", "D2", "S1"])));
                }
                (actor("platform"), body)
            }
            1 => {
                let mut body = object(vec![("op", json!("register_customer")), ("customer", json!(customer))]);
                let partner = *bytes.pick(&["D1", "R1", "S1", "D2", ""]);
                if !partner.is_empty() {
                    body.insert("partner".to_owned(), json!(partner));
                    body.insert("association".to_owned(), json!(bytes.pick(&["resale", "referral"])));
                }
                (actor("platform"), body)
            }
            2 => {
                let body = object(vec![
                    ("op", json!("associate")),
                    ("customer", json!(customer)),
                    ("partner", json!(bytes.pick(&PARTNERS))),
                    ("association", json!(bytes.pick(&["resale", "referral"]))),
                ]);
                (actor("platform"), body)
            }
            3 | 6 | 7 => {
                let op = match template {
                    3 => "recharge",
                    6 => "set_credit_limit",
                    _ => "repay_credit",
                };
                let party = bytes.pick(&self.actors).clone();
                let field = if op == "set_credit_limit" { "limit" } else { "amount" };
                let body = object(vec![("op", json!(op)), ("party", json!(party)), (field, Run::amount(bytes))]);
                (actor(if op == "repay_credit" { party.as_str() } else { "platform" }), body)
            }
            4 | 5 => {
                let op = if template == 4 { "allocate" } else { "recover" };
                let (partner, counterparty) = *bytes.pick(&[
                    ("D1", "customer:C1"),
                    ("D1", "partner:R1"),
                    ("R1", "customer:C2"),
                    ("S1", "customer:C3"),
                    ("S1", "customer:C4"),
                    ("D2", "customer:C5"),
                ]);
                let side = if op == "allocate" { "to" } else { "from" };
                let body = object(vec![("op", json!(op)), (side, json!(counterparty)), ("amount", Run::amount(bytes))]);
                (actor(&self.as_partner(bytes, partner)), body)
            }
            8 | 39 => {
                // Template 39: compensations to customers (resale ones included: their own cash).
                let party = if template == 8 { bytes.pick(&self.actors).clone() } else { own.clone() };
                let direction = if template == 8 { *bytes.pick(&["compensate", "deduct"]) } else { "compensate" };
                let body = object(vec![
                    ("op", json!("adjust")),
                    ("party", json!(party)),
                    ("direction", json!(direction)),
                    ("amount", Run::amount(bytes)),
                    ("reason", json!("r")),
                ]);
                (actor("platform"), body)
            }
            9 | 10 => {
                let (issuer, partner, from_quota) = if template == 9 {
                    ("platform", *bytes.pick(&["D1", "D2", "S1", "R1"]), None)
                } else {
                    ("partner:D1", *bytes.pick(&["R1", "R2", "D1"]), Some(*bytes.pick(&QUOTAS)))
                };
                let mut body = object(vec![
                    ("op", json!("issue_quota")),
                    ("quota", json!(bytes.pick(&QUOTAS))),
                    ("partner", json!(partner)),
                    ("kind", json!(bytes.pick(&["voucher", "cash_coupon", "pickup_voucher"]))),
                    ("amount", Run::amount(bytes)),
                    ("valid_from", json!(format_time(self.now() - 60_000 * bytes.pick(&[0, 60, 1440])))),
                    ("valid_until", self.time(bytes)),
                ]);
                if let Some(from_quota) = from_quota {
                    body.insert("from_quota".to_owned(), json!(from_quota));
                    // (v2) A distributor's window defaults to its source quota's.
                    if bytes.chance(96) {
                        body.remove("valid_from");
                        body.remove("valid_until");
                    }
                }
                (actor(issuer), body)
            }
            11 => (
                actor(bytes.pick::<&str>(&["platform", "partner:D1"])),
                object(vec![("op", json!("reclaim_quota")), ("quota", json!(bytes.pick(&QUOTAS)))]),
            ),
            12 => (actor(&partner_actor), object(vec![("op", json!("whitelist_customer")), ("customer", json!(customer))])),
            13 => {
                let (issuer, quota, customer) = *bytes.pick(&[
                    ("D1", "Q1", "C1"),
                    ("D1", "Q2", "C1"),
                    ("R1", "Q3", "C2"),
                    ("D1", "Q3", "C2"),
                    ("S1", "Q4", "C3"),
                    ("D2", "Q1", "C5"),
                ]);
                let mut body = object(vec![
                    ("op", json!("issue_coupon")),
                    ("coupon", json!(bytes.pick(&COUPONS))),
                    ("quota", json!(quota)),
                    ("customer", json!(customer)),
                    ("face_value", json!(bytes.pick(&["10", "50", "100.5", "300"]))),
                ]);
                if bytes.chance(64) {
                    body.insert("services".to_owned(), json!([bytes.pick(&SERVICES)]));
                }
                if bytes.chance(32) {
                    body.insert("valid_until".to_owned(), self.time(bytes));
                }
                (actor(&self.as_partner(bytes, issuer)), body)
            }
            14 => (
                actor(bytes.pick::<&str>(&["partner:D1", "partner:R1"])),
                object(vec![("op", json!("reclaim_coupon")), ("coupon", json!(bytes.pick(&COUPONS)))]),
            ),
            15 => (actor("platform"), object(vec![("op", json!("expire_coupons"))])),
            16 => {
                let mut body = object(vec![
                    ("op", json!("place_order")),
                    ("order", json!(format!("O{}-{customer}", bytes.byte() % 6))),
                    ("customer", json!(customer)),
                    ("amount", Run::amount(bytes)),
                    ("kind", json!(bytes.pick(&KINDS))),
                ]);
                if bytes.chance(160) {
                    body.insert("service".to_owned(), json!(bytes.pick(&SERVICES)));
                }
                if bytes.chance(24) {
                    body.insert("pay_deadline".to_owned(), self.time(bytes));
                }
                (actor(&own), body)
            }
            17 => {
                let lines: Vec<Value> = (0..2 + bytes.byte() % 2)
                    .map(|_| json!({"order": format!("O{}-{customer}", bytes.byte() % 6), "amount": bytes.pick(&AMOUNTS[..8]), "kind": "new", "service": bytes.pick(&SERVICES)}))
                    .collect();
                let body = object(vec![
                    ("op", json!("place_combined_order")),
                    ("combined", json!(format!("G{}-{customer}", bytes.byte() % 3))),
                    ("customer", json!(customer)),
                    ("orders", Value::Array(lines)),
                ]);
                (actor(&own), body)
            }
            18 | 19 | 34 => {
                // A pending order the model knows (18, 19), or one whose partner was asked to pay
                // (34: paid by the partner).
                let state = if template == 34 { "requested" } else { "pending" };
                let (order, customer) = self.order(bytes, state, &customer);
                let own = format!("customer:{customer}");
                let mut body =
                    object(vec![("op", json!(if template == 19 { "cancel_order" } else { "pay_order" })), ("order", json!(order))]);
                if template == 19 {
                    return (actor(&own), body);
                }
                let partner_pays = template == 34 || bytes.chance(32);
                let payer = if partner_pays {
                    body.insert("payer".to_owned(), json!("partner"));
                    self.as_partner(bytes, partners_of(&customer)[0])
                } else {
                    own.clone()
                };
                let coupons: Vec<String> =
                    (0..bytes.byte() % 3).map(|_| self.known(bytes, self.model.coupons_of(&customer), &COUPONS)).collect();
                if !coupons.is_empty() && (!partner_pays || bytes.chance(16)) {
                    let mut distinct: Vec<String> = Vec::new();
                    for coupon in coupons {
                        if !distinct.contains(&coupon) || bytes.chance(16) {
                            distinct.push(coupon);
                        }
                    }
                    body.insert("coupons".to_owned(), json!(distinct));
                }
                (actor(&payer), body)
            }
            20 => {
                let paid = self.orders_in("paid");
                let (order, customer, refundable) = if !paid.is_empty() && bytes.chance(220) {
                    bytes.pick(&paid).clone()
                } else {
                    (format!("O{}-{customer}", bytes.byte() % 6), customer.clone(), 100)
                };
                let refund = match bytes.byte() % 4 {
                    0 => json!(format_amount(refundable.max(1))),
                    1 => json!(format_amount((refundable / 2).max(1))),
                    2 => json!(format_amount(refundable + 1)),
                    _ => Run::amount(bytes),
                };
                (
                    actor(&format!("customer:{customer}")),
                    object(vec![("op", json!("unsubscribe")), ("order", json!(order)), ("refund", refund)]),
                )
            }
            21 => {
                let mut body = object(vec![("op", json!("consume")), ("customer", json!(customer)), ("amount", json!(bytes.pick(&USAGE)))]);
                if bytes.chance(128) {
                    body.insert("service".to_owned(), json!(bytes.pick(&SERVICES)));
                }
                (actor("platform"), body)
            }
            22 => {
                let party = bytes.pick(&self.actors).clone();
                let withdrawable = reference::parse_party(&party).map_or(0, |party| self.model.withdrawable(&party));
                let amount = match bytes.byte() % 4 {
                    0 => json!(format_amount(withdrawable.max(1))),
                    1 => json!(format_amount(withdrawable + 1)),
                    _ => Run::amount(bytes),
                };
                let body = object(vec![
                    ("op", json!("request_withdrawal")),
                    ("withdrawal", json!(format!("W{}", bytes.byte() % 4))),
                    ("party", json!(party)),
                    ("amount", amount),
                ]);
                let owner = match party.strip_prefix("partner:") {
                    Some(partner) => self.as_partner(bytes, partner),
                    None => party.clone(),
                };
                (actor(&owner), body)
            }
            23 | 24 => {
                let withdrawals = self.model.withdrawal_summaries();
                let status = if template == 23 { "pending" } else { "rejected" };
                let known: Vec<(String, Party)> =
                    withdrawals.into_iter().filter(|(_, _, shown)| *shown == status).map(|(id, party, _)| (id, party)).collect();
                let (withdrawal, party) = if !known.is_empty() && bytes.chance(220) {
                    bytes.pick(&known).clone()
                } else {
                    (format!("W{}", bytes.byte() % 4), Party::Platform)
                };
                if template == 24 {
                    return (actor(&party.text()), object(vec![("op", json!("delete_withdrawal")), ("withdrawal", json!(withdrawal))]));
                }
                let body = if bytes.chance(128) {
                    object(vec![("op", json!("approve_withdrawal")), ("withdrawal", json!(withdrawal))])
                } else {
                    object(vec![("op", json!("reject_withdrawal")), ("withdrawal", json!(withdrawal)), ("reason", json!("no"))])
                };
                (actor("platform"), body)
            }
            25 | 26 => {
                if template == 25 {
                    let unbinder = if bytes.chance(64) { "platform".to_owned() } else { partner_actor };
                    return (actor(&unbinder), object(vec![("op", json!("unbind")), ("customer", json!(customer))]));
                }
                let body = object(vec![
                    ("op", json!("switch_association")),
                    ("customer", json!(customer)),
                    ("association", json!(bytes.pick(&["resale", "referral"]))),
                ]);
                (actor(&partner_actor), body)
            }
            27 => {
                let party = bytes.pick(&self.actors).clone();
                let total = reference::parse_party(&party).map_or(0, |party| self.model.invoiceable_total(&party));
                let amount = match bytes.byte() % 4 {
                    0 => json!(format_amount(total.max(1))),
                    1 => json!(format_amount((total / 3).max(1))),
                    2 => json!(format_amount(total + 1)),
                    _ => Run::amount(bytes),
                };
                let body = object(vec![
                    ("op", json!("request_invoice")),
                    ("invoice", json!(format!("I{}", bytes.byte() % 4))),
                    ("party", json!(party)),
                    ("amount", amount),
                ]);
                (actor(&party), body)
            }
            28 => {
                let invoices = self.model.invoice_summaries();
                let (invoice, party) = if !invoices.is_empty() && bytes.chance(220) {
                    let (id, party, _) = bytes.pick(&invoices).clone();
                    (id, party)
                } else {
                    (format!("I{}", bytes.byte() % 4), Party::Platform)
                };
                (actor(&party.text()), object(vec![("op", json!("return_invoice")), ("invoice", json!(invoice))]))
            }
            29 | 30 => {
                // Operators: registered or given new roles by the platform, their partner or an admin.
                let partner = *bytes.pick(&["D1", "S1", "R1", "D2"]);
                let manager = *bytes.pick(&["platform", "partner", "partner", "admin"]);
                let manager = match manager {
                    "platform" => "platform".to_owned(),
                    "partner" => format!("partner:{partner}"),
                    _ => "operator:A1".to_owned(),
                };
                let roles = json!(bytes.pick(&ROLES));
                let operator =
                    if bytes.chance(16) { (*bytes.pick(&["C5", "D2", "bad id"])).to_owned() } else { (*bytes.pick(&OPERATORS)).to_owned() };
                let body = if template == 29 {
                    object(vec![
                        ("op", json!("register_operator")),
                        ("operator", json!(operator)),
                        ("partner", json!(partner)),
                        ("roles", roles),
                    ])
                } else {
                    object(vec![("op", json!("set_operator_roles")), ("operator", json!(operator)), ("roles", roles)])
                };
                (actor(&manager), body)
            }
            31 => {
                let manager = if bytes.chance(96) { "platform".to_owned() } else { partner_actor };
                let operator = match bytes.byte() % 8 {
                    0 => Value::Null,
                    1 => json!("bad id"),
                    _ => json!(bytes.pick(&OPERATORS)),
                };
                let mut body = object(vec![("op", json!("assign_customer_manager")), ("customer", json!(customer))]);
                if !bytes.chance(8) {
                    body.insert("operator".to_owned(), operator);
                }
                (actor(&manager), body)
            }
            32 => {
                let (order, customer) = self.order(bytes, "pending", &customer);
                (actor(&format!("customer:{customer}")), object(vec![("op", json!("request_partner_payment")), ("order", json!(order))]))
            }
            33 => {
                let (order, customer) = self.order(bytes, "requested", &customer);
                let partner = *bytes.pick(partners_of(&customer));
                let partner = self.as_partner(bytes, partner);
                let body = object(vec![("op", json!("reject_partner_payment")), ("order", json!(order)), ("reason", json!("over budget"))]);
                (actor(&partner), body)
            }
            40 => {
                // (v2) Discounts: granted (mostly by the platform), windows now and then empty.
                let from = self.now() - 60_000 * bytes.pick(&[0, 60, 1440]);
                let until = if bytes.chance(16) { from } else { self.now() + 60_000 * bytes.pick(&[30, 1440, 10080]) };
                let ratio = *bytes.pick(&["0.85", "0.5", "1", "0.01", "0.33", "0", "1.5", "0.001"]);
                let mut body = object(vec![
                    ("op", json!("grant_discount")),
                    ("discount", json!(bytes.pick(&DISCOUNTS))),
                    ("customer", json!(customer)),
                    ("ratio", json!(ratio)),
                    ("valid_from", json!(format_time(from))),
                    ("valid_until", json!(format_time(until))),
                ]);
                if bytes.chance(64) {
                    body.insert("services".to_owned(), json!([bytes.pick(&SERVICES)]));
                }
                (actor("platform"), body)
            }
            41 => (actor("platform"), object(vec![("op", json!("revoke_discount")), ("discount", json!(bytes.pick(&DISCOUNTS)))])),
            42 => {
                // (v2) Paying with a discount; now and then with coupons too (`invalid_request`).
                let (order, customer) = self.order(bytes, "pending", &customer);
                let mut body =
                    object(vec![("op", json!("pay_order")), ("order", json!(order)), ("discount", json!(bytes.pick(&DISCOUNTS)))]);
                if bytes.chance(24) {
                    body.insert("coupons".to_owned(), json!([self.known(bytes, self.model.coupons_of(&customer), &COUPONS)]));
                }
                (actor(&format!("customer:{customer}")), body)
            }
            43 => {
                // (v2) Pickup vouchers from Q5 (D1's pickup quota in the cast), with a ratio and
                // order kinds, or with the pickup terms on another kind of quota.
                let quota = if bytes.chance(200) { "Q5" } else { *bytes.pick(&QUOTAS) };
                let mut body = object(vec![
                    ("op", json!("issue_coupon")),
                    ("coupon", json!(bytes.pick(&COUPONS))),
                    ("quota", json!(quota)),
                    ("customer", json!(bytes.pick(&["C1", "C1", "C2", "C5"]))),
                    ("face_value", json!(bytes.pick(&["10", "50", "100.5", "300"]))),
                ]);
                if bytes.chance(230) {
                    body.insert("ratio".to_owned(), json!(bytes.pick(&["0.3", "0.5", "1", "0.01", "0", "1.01"])));
                }
                if bytes.chance(100) {
                    const KIND_LISTS: [&[&str]; 4] = [&["new"], &["renew", "change"], &[], &["new", "new"]];
                    let kinds = *bytes.pick(&KIND_LISTS);
                    body.insert("order_kinds".to_owned(), json!(kinds));
                }
                (actor(&self.as_partner(bytes, "D1")), body)
            }
            44 => {
                // (v2) Invoices by billing cycles or by bills.
                let party = bytes.pick(&self.actors).clone();
                let basis = if bytes.chance(128) {
                    const CYCLE_LISTS: [&[&str]; 5] = [&["2026-01"], &["2026-01", "2026-02"], &["2025-12"], &[], &["2026-13"]];
                    let cycles = *bytes.pick(&CYCLE_LISTS);
                    ("cycles", json!(cycles))
                } else {
                    let bills = reference::parse_party(&party).map(|party| self.model.bill_ids_of(&party)).unwrap_or_default();
                    let mut picked: Vec<String> = Vec::new();
                    for _ in 0..1 + bytes.byte() % 3 {
                        let bill = if bills.is_empty() || bytes.chance(16) { "O1-C1".to_owned() } else { bytes.pick(&bills).clone() };
                        if !picked.contains(&bill) {
                            picked.push(bill);
                        }
                    }
                    ("bills", json!(picked))
                };
                let body = object(vec![
                    ("op", json!("request_invoice")),
                    ("invoice", json!(format!("I{}", bytes.byte() % 4))),
                    ("party", json!(party)),
                    (basis.0, basis.1),
                ]);
                (actor(&party), body)
            }
            45 => {
                // (v2) Customers with names and external ids (unique per partner).
                let mut body = object(vec![("op", json!("register_customer")), ("customer", json!(customer))]);
                let partner = *bytes.pick(&["D1", "R1", "S1", "D2"]);
                body.insert("partner".to_owned(), json!(partner));
                if bytes.chance(128) {
                    body.insert("name".to_owned(), json!(bytes.pick(&["Acme", "客户", ""])));
                }
                body.insert("external_id".to_owned(), json!(bytes.pick(&["ext-1", "ext-2", "bad id"])));
                (actor("platform"), body)
            }
            _ => {
                // An atomic group of two or three members sharing one actor.
                let members = 2 + bytes.byte() % 2;
                let (group_actor, _) = self.command(*bytes.pick(&[3, 4, 8, 13, 16, 21, 29, 31, 32, 33, 34, 42]), bytes);
                let mut commands = Vec::new();
                for _ in 0..members {
                    let (_, member) =
                        self.command(*bytes.pick(&[3, 4, 5, 8, 13, 16, 18, 21, 29, 30, 31, 32, 33, 34, 39, 40, 42, 43]), bytes);
                    commands.push(Value::Object(member));
                }
                (group_actor, object(vec![("op", json!("atomic")), ("commands", Value::Array(commands))]))
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((first, steps)) = data.split_first() else { return };
    let mut run = if first % 8 != 0 { Run::new(Some(&PREPARED)) } else { Run::new(None) };
    let mut pairs: Vec<(u8, u8)> = steps.chunks_exact(2).take(STEPS_MAX).map(|pair| (pair[0], pair[1])).collect();
    // The tail: up to 31 more steps drawn from the whole input, so that the short inputs
    // libFuzzer starts with already make long sequences.
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3));
    let mut tail = Picks { state: hash | 1 };
    for _ in 0..first / 8 {
        pairs.push((tail.byte(), tail.byte()));
    }
    for (step, (template, seed)) in pairs.into_iter().enumerate() {
        let line = run.next_line(template, &mut Picks::new(template, seed, step));
        run.send(line, false);
    }
    let readers = [tail.pick(&run.actors).clone(), tail.pick(&run.actors).clone()];
    run.finish([&readers[0], &readers[1]]);
});
