//! Arbitrary bytes as a sequence of commands, run against a fresh ledger and against the
//! reference model of `tests/model/reference.rs`: they must agree on every answer (committed
//! `seq`, `duplicate` and `result`, or the error `code`, `cbc` and `index`) and on every balance
//! after every step; at the end also on orders, invoiceable items, bills, withdrawals and
//! invoices, and the journal must verify.
//!
//! After a first byte, each step takes two bytes: one picks a command template, the other seeds
//! the choice of its request id, `at`, actor and fields from small pools (orders, coupons,
//! withdrawals and invoices mostly among those the model knows); the first byte also asks for up
//! to 31 further steps drawn from a hash of the whole input, so that short inputs already make
//! long sequences that reach deep states. The first byte decides
//! whether the sequence starts from the cast of the model test (committed once per process, then
//! copied: a redb file and the model's state), with a temporary directory under `/dev/shm` when
//! it exists.
//!
//! The model follows SPEC.md: any disagreement is a finding.
#![no_main]

#[path = "../../tests/model/reference.rs"]
mod reference;

use libfuzzer_sys::fuzz_target;
use partner_ledger::{Clock, Ledger, Timestamp};
use reference::{Expected, Model, Party, cbc, format_amount, format_time, parse_time};
use serde_json::{Map, Value, json};

/// The engine clock: commands without `at` use it (or the head's time).
const CLOCK: &str = "2026-01-01T00:00:00Z";
/// Steps per input, at most: longer inputs are cut.
const STEPS_MAX: usize = 64;

const PARTNERS: [&str; 6] = ["D1", "D2", "R1", "R2", "S1", "X9"];
const CUSTOMERS: [&str; 5] = ["C1", "C2", "C3", "C4", "C5"];
const ACTORS: [&str; 12] = [
    "platform",
    "partner:D1",
    "partner:D2",
    "partner:R1",
    "partner:S1",
    "partner:X9",
    "customer:C1",
    "customer:C2",
    "customer:C3",
    "customer:C4",
    "customer:C5",
    "partner:R2",
];
const PARTIES: [&str; 10] = [
    "partner:D1",
    "partner:D2",
    "partner:R1",
    "partner:S1",
    "customer:C1",
    "customer:C2",
    "customer:C3",
    "customer:C4",
    "customer:C5",
    "platform",
];
const AMOUNTS: [&str; 12] = ["1", "5", "10.5", "25.25", "60", "100", "250", "1000", "5000.99", "0", "1.001", "-5"];
const USAGE: [&str; 8] = ["0.01", "0.015", "1.23456789", "12.5", "99.999", "150", "0.001", "1.123456789"];
const QUOTAS: [&str; 4] = ["Q1", "Q2", "Q3", "Q4"];
const COUPONS: [&str; 4] = ["K1", "K2", "K3", "K4"];
const SERVICES: [&str; 3] = ["ecs", "obs", "rds"];
const KINDS: [&str; 4] = ["new", "renew", "change", "gift"];
/// Minutes after the later of the clock and the head.
const OFFSETS: [i64; 8] = [0, 1, 30, 120, 1440, 4320, 10080, -60];

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

/// The cast of `tests/model.rs`: partners, customers, money, quotas, coupons, pending orders.
fn cast() -> Vec<Value> {
    let (from, until) = ("2025-12-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let platform = vec![
        json!({"op": "register_partner", "partner": "D1", "kind": "distributor"}),
        json!({"op": "register_partner", "partner": "D2", "kind": "distributor"}),
        json!({"op": "register_partner", "partner": "R1", "kind": "reseller", "parent": "D1"}),
        json!({"op": "register_partner", "partner": "S1", "kind": "solution_provider"}),
        json!({"op": "register_customer", "customer": "C1", "partner": "D1"}),
        json!({"op": "register_customer", "customer": "C2", "partner": "R1"}),
        json!({"op": "register_customer", "customer": "C3", "partner": "S1", "association": "referral"}),
        json!({"op": "register_customer", "customer": "C4"}),
        json!({"op": "recharge", "party": "partner:D1", "amount": "10000"}),
        json!({"op": "recharge", "party": "partner:S1", "amount": "500"}),
        json!({"op": "recharge", "party": "customer:C3", "amount": "300"}),
        json!({"op": "set_credit_limit", "party": "customer:C3", "limit": "200"}),
        json!({"op": "issue_quota", "quota": "Q1", "partner": "D1", "kind": "voucher", "amount": "5000", "valid_from": from, "valid_until": until}),
        json!({"op": "issue_quota", "quota": "Q2", "partner": "D1", "kind": "cash_coupon", "amount": "1000", "valid_from": from, "valid_until": until}),
        json!({"op": "issue_quota", "quota": "Q4", "partner": "S1", "kind": "voucher", "amount": "600", "valid_from": from, "valid_until": until}),
        json!({"op": "place_order", "order": "O1", "customer": "C3", "amount": "120", "kind": "new", "service": "rds"}),
        json!({"op": "place_combined_order", "combined": "G1", "customer": "C2", "orders": [
            {"order": "O2", "amount": "30", "kind": "new", "service": "ecs"},
            {"order": "O3", "amount": "40", "kind": "new", "service": "obs"},
        ]}),
    ];
    let mut lines: Vec<Value> = platform.into_iter().map(|command| with_envelope(command, "platform")).collect();
    let partners = [
        ("D1", json!({"op": "allocate", "to": "partner:R1", "amount": "1000"})),
        ("D1", json!({"op": "allocate", "to": "customer:C1", "amount": "500"})),
        ("D1", json!({"op": "issue_quota", "quota": "Q3", "partner": "R1", "kind": "voucher", "amount": "800", "from_quota": "Q1",
            "valid_from": "2025-12-15T00:00:00Z", "valid_until": "2026-02-15T00:00:00Z"})),
        ("D1", json!({"op": "whitelist_customer", "customer": "C1"})),
        ("D1", json!({"op": "issue_coupon", "coupon": "K1", "quota": "Q1", "customer": "C1", "face_value": "100"})),
        ("R1", json!({"op": "issue_coupon", "coupon": "K2", "quota": "Q3", "customer": "C2", "face_value": "50", "services": ["ecs"]})),
    ];
    lines.extend(partners.into_iter().map(|(partner, command)| with_envelope(command, &format!("partner:{partner}"))));
    for (index, line) in lines.iter_mut().enumerate() {
        line["id"] = json!(format!("cast-{index}"));
    }
    lines
}

fn with_envelope(mut command: Value, actor: &str) -> Value {
    command["actor"] = json!(actor);
    command
}

/// One run: the ledger, the model and what was sent.
struct Run {
    ledger: Ledger,
    dir: tempfile::TempDir,
    model: Model,
    clock: i64,
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
        run.send(line.to_string(), true);
    }
    run.check_balances();
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
        let mut run = Run { ledger, dir, model: Model::new(clock), clock, sent: Vec::new(), ids: Vec::new(), fresh: 0 };
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

    fn universe() -> Vec<Party> {
        let partners = PARTNERS.iter().map(|id| Party::Partner((*id).to_owned()));
        let customers = CUSTOMERS.iter().map(|id| Party::Customer((*id).to_owned()));
        std::iter::once(Party::Platform).chain(partners).chain(customers).collect()
    }

    /// The head and every balance (with quotas and coupons) against the model.
    fn check_balances(&self) {
        if self.ledger.head().seq != self.model.seq() {
            self.fail(format!("head seq {} but the model is at {}", self.ledger.head().seq, self.model.seq()));
        }
        let now = self.now();
        for party in Run::universe() {
            let response = self.query(json!({"op": "balance", "actor": "platform", "party": party.text(), "at": format_time(now)}));
            let expected = self.model.balance_json(&party, now).unwrap_or_default();
            if response["result"] != expected {
                self.fail(format!("balance of {}: the model says {expected}, the ledger {response}", party.text()));
            }
        }
    }

    /// Orders, invoiceable items, bills, withdrawals and invoices against the model, and the
    /// journal's own verification.
    fn finish(&self) {
        let now = self.now();
        for order in self.model.order_ids() {
            let response = self.query(json!({"op": "order", "actor": "platform", "order": order, "at": format_time(now)}));
            let expected = self.model.order_json(&order, now).unwrap_or_default();
            if response["result"] != expected {
                self.fail(format!("order {order}: the model says {expected}, the ledger {response}"));
            }
        }
        for party in Run::universe().into_iter().filter(|party| *party != Party::Platform) {
            let name = party.text();
            let checks = [
                ("invoiceable", self.query(json!({"op": "invoiceable", "actor": "platform", "party": name}))["result"].clone(), self.model.invoiceable_json(&party)),
                ("bills", self.query(json!({"op": "bills", "actor": "platform", "party": name, "limit": 100}))["result"]["bills"].clone(), self.model.bills_json(&party).map(Value::from)),
                ("withdrawals", self.query(json!({"op": "withdrawals", "actor": "platform", "party": name, "limit": 100}))["result"]["withdrawals"].clone(), self.model.withdrawals_json(&party).map(Value::from)),
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
        match template % 34 {
            32 if !self.sent.is_empty() => return bytes.pick(&self.sent).clone(),
            33 => return (*bytes.pick(&["not json", "{}", r#"{"op":"fly","id":"g","actor":"platform"}"#, r#"{"op":"consume","id":"g","actor":"platform","customer":"C3","amount":"1","amount":"2"}"#])).to_owned(),
            _ => {}
        }
        let (actor, mut body) = self.command(template % 32, bytes);
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

    /// A command template: (actor, body without envelope).
    fn command(&self, template: u8, bytes: &mut Picks) -> (String, Map<String, Value>) {
        let natural = bytes.chance(220);
        let random_actor = (*bytes.pick(&ACTORS)).to_owned();
        let actor = |own: &str| if natural { own.to_owned() } else { random_actor.clone() };
        let object = |pairs: Vec<(&str, Value)>| -> Map<String, Value> { pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect() };
        let customer = (*bytes.pick(&CUSTOMERS)).to_owned();
        let own = format!("customer:{customer}");
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
                let party = *bytes.pick(&PARTIES);
                let field = if op == "set_credit_limit" { "limit" } else { "amount" };
                let body = object(vec![("op", json!(op)), ("party", json!(party)), (field, Run::amount(bytes))]);
                (actor(if op == "repay_credit" { party } else { "platform" }), body)
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
                (actor(&format!("partner:{partner}")), body)
            }
            8 => {
                let body = object(vec![
                    ("op", json!("adjust")),
                    ("party", json!(bytes.pick(&PARTIES))),
                    ("direction", json!(bytes.pick(&["compensate", "deduct"]))),
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
                    ("kind", json!(bytes.pick(&["voucher", "cash_coupon"]))),
                    ("amount", Run::amount(bytes)),
                    ("valid_from", json!(format_time(self.now() - 60_000 * bytes.pick(&[0, 60, 1440])))),
                    ("valid_until", self.time(bytes)),
                ]);
                if let Some(from_quota) = from_quota {
                    body.insert("from_quota".to_owned(), json!(from_quota));
                }
                (actor(issuer), body)
            }
            11 => (actor(bytes.pick::<&str>(&["platform", "partner:D1"])), object(vec![("op", json!("reclaim_quota")), ("quota", json!(bytes.pick(&QUOTAS)))])),
            12 => (actor(bytes.pick::<&str>(&["partner:D1", "partner:R1", "partner:S1"])), object(vec![("op", json!("whitelist_customer")), ("customer", json!(customer))])),
            13 => {
                let (issuer, quota, customer) = *bytes.pick(&[("D1", "Q1", "C1"), ("D1", "Q2", "C1"), ("R1", "Q3", "C2"), ("D1", "Q3", "C2"), ("S1", "Q4", "C3"), ("D2", "Q1", "C5")]);
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
                (actor(&format!("partner:{issuer}")), body)
            }
            14 => (actor(bytes.pick::<&str>(&["partner:D1", "partner:R1"])), object(vec![("op", json!("reclaim_coupon")), ("coupon", json!(bytes.pick(&COUPONS)))])),
            15 => (actor("platform"), object(vec![("op", json!("expire_coupons"))])),
            16 => {
                let mut body = object(vec![
                    ("op", json!("place_order")),
                    ("order", json!(format!("O{}", bytes.byte() % 8))),
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
                    .map(|_| json!({"order": format!("O{}", bytes.byte() % 8), "amount": bytes.pick(&AMOUNTS[..8]), "kind": "new", "service": bytes.pick(&SERVICES)}))
                    .collect();
                let body = object(vec![
                    ("op", json!("place_combined_order")),
                    ("combined", json!(format!("G{}", bytes.byte() % 3))),
                    ("customer", json!(customer)),
                    ("orders", Value::Array(lines)),
                ]);
                (actor(&own), body)
            }
            18 | 19 => {
                // An order the model knows is pending (by its combined id when it has one).
                let orders = self.model.order_summaries();
                let pending: Vec<(String, String)> = orders
                    .iter()
                    .filter(|order| order.status == "pending_payment")
                    .map(|order| (order.combined.clone().unwrap_or_else(|| order.id.clone()), order.customer.clone()))
                    .collect();
                let (order, customer) = if !pending.is_empty() && bytes.chance(220) {
                    bytes.pick(&pending).clone()
                } else {
                    (format!("O{}", bytes.byte() % 8), customer.clone())
                };
                let own = format!("customer:{customer}");
                let mut body = object(vec![("op", json!(if template == 18 { "pay_order" } else { "cancel_order" })), ("order", json!(order))]);
                if template == 19 {
                    return (actor(&own), body);
                }
                let partner_pays = bytes.chance(64);
                let payer = if partner_pays {
                    body.insert("payer".to_owned(), json!("partner"));
                    match customer.as_str() {
                        "C1" => "partner:D1",
                        "C2" => "partner:R1",
                        _ => "partner:S1",
                    }
                } else {
                    own.as_str()
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
                (actor(payer), body)
            }
            20 => {
                let orders = self.model.order_summaries();
                let paid: Vec<(String, String, i128)> =
                    orders.iter().filter(|order| order.status == "paid").map(|order| (order.id.clone(), order.customer.clone(), order.refundable)).collect();
                let (order, customer, refundable) = if !paid.is_empty() && bytes.chance(220) {
                    bytes.pick(&paid).clone()
                } else {
                    (format!("O{}", bytes.byte() % 8), customer.clone(), 100)
                };
                let refund = match bytes.byte() % 4 {
                    0 => json!(format_amount(refundable.max(1))),
                    1 => json!(format_amount((refundable / 2).max(1))),
                    2 => json!(format_amount(refundable + 1)),
                    _ => Run::amount(bytes),
                };
                (actor(&format!("customer:{customer}")), object(vec![("op", json!("unsubscribe")), ("order", json!(order)), ("refund", refund)]))
            }
            21 => {
                let body = object(vec![("op", json!("consume")), ("customer", json!(customer)), ("amount", json!(bytes.pick(&USAGE)))]);
                (actor("platform"), body)
            }
            22 => {
                let party = *bytes.pick(&PARTIES[..8]);
                let body = object(vec![
                    ("op", json!("request_withdrawal")),
                    ("withdrawal", json!(format!("W{}", bytes.byte() % 4))),
                    ("party", json!(party)),
                    ("amount", Run::amount(bytes)),
                ]);
                (actor(party), body)
            }
            23 | 24 => {
                let withdrawals = self.model.withdrawal_summaries();
                let status = if template == 23 { "pending" } else { "rejected" };
                let known: Vec<(String, Party)> =
                    withdrawals.into_iter().filter(|(_, _, shown)| *shown == status).map(|(id, party, _)| (id, party)).collect();
                let (withdrawal, party) =
                    if !known.is_empty() && bytes.chance(220) { bytes.pick(&known).clone() } else { (format!("W{}", bytes.byte() % 4), Party::Platform) };
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
                let partner = match customer.as_str() {
                    "C1" => "partner:D1",
                    "C2" => *bytes.pick(&["partner:R1", "partner:D1"]),
                    _ => *bytes.pick(&["partner:S1", "partner:D2"]),
                };
                if template == 25 {
                    return (actor(bytes.pick::<&str>(&["platform", partner])), object(vec![("op", json!("unbind")), ("customer", json!(customer))]));
                }
                let body = object(vec![
                    ("op", json!("switch_association")),
                    ("customer", json!(customer)),
                    ("association", json!(bytes.pick(&["resale", "referral"]))),
                ]);
                (actor(partner), body)
            }
            27 => {
                let party = (*bytes.pick(&PARTIES[..8])).to_owned();
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
                let (invoice, party) =
                    if !invoices.is_empty() && bytes.chance(220) { let (id, party, _) = bytes.pick(&invoices).clone(); (id, party) } else { (format!("I{}", bytes.byte() % 4), Party::Platform) };
                (actor(&party.text()), object(vec![("op", json!("return_invoice")), ("invoice", json!(invoice))]))
            }
            _ => {
                // An atomic group of two or three members sharing one actor.
                let members = 2 + bytes.byte() % 2;
                let (group_actor, _) = self.command(*bytes.pick(&[3, 4, 8, 13, 16, 21]), bytes);
                let mut commands = Vec::new();
                for _ in 0..members {
                    let (_, member) = self.command(*bytes.pick(&[3, 4, 5, 8, 13, 16, 18, 21]), bytes);
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
    run.finish();
});
