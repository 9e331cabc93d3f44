//! Model test: random sequences of valid and invalid foundation commands (parties, money, atomic
//! groups) run through `Ledger::execute_line` and through a simple in-memory reference
//! (`tests/model/reference.rs`); after every step the answer, every balance, the zero sum, every
//! bound and the head must agree, and at the end the journal must verify and reopen identically.
//!
//! `PROPTEST_CASES` overrides the number of cases (64 by default).
mod common;
#[path = "model/reference.rs"]
mod reference;

use common::ManualClock;
use partner_ledger::Ledger;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use reference::{Expected, Model, Party, cbc, format_amount, format_time, parse_time};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const CASES_DEFAULT: u32 = 64;
const STEPS_MAX: usize = 60;
/// The engine's clock, fixed for the whole case; commands without `at` use it (or the head's time).
const CLOCK: &str = "2026-01-01T00:00:00Z";
const PARTNERS: [&str; 6] = ["D1", "D2", "R1", "R2", "S1", "X9"];
const CUSTOMERS: [&str; 5] = ["C1", "C2", "C3", "C4", "C5"];

// ---------------------------------------------------------------------------------------------
// Generation. Bodies are plain JSON; the request id and `at` are resolved when the step runs,
// from what was sent before, so that ids get reused and times go backwards on purpose.

#[derive(Clone, Debug)]
enum RequestId {
    Fresh,
    Reuse(Index),
    /// An unusual but valid id, or an invalid one.
    Odd(String),
    Missing,
}

#[derive(Clone, Debug)]
enum At {
    Absent,
    /// Minutes after the later of the clock and the last committed transaction (may be negative),
    /// written in UTC or at UTC+08:00.
    Delta(i64, bool),
    Invalid(&'static str),
}

#[derive(Clone, Debug)]
enum Corruption {
    None,
    UnknownField,
    DropField(Index),
    WrongType(Index),
}

#[derive(Clone, Debug)]
enum Step {
    Send { request: RequestId, actor: String, at: At, body: Map<String, Value>, corruption: Corruption },
    /// Sends an earlier line again, optionally with its amounts written as `"N.00"`.
    Replay { pick: Index, reformat: bool },
    Garbage(&'static str),
}

fn object(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
}

fn partner_id() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => select(&PARTNERS[..5]).prop_map(str::to_owned),
        1 => Just("X9".to_owned()),
        1 => select(vec!["bad id", "a:b", ""]).prop_map(str::to_owned),
    ]
}

fn customer_id() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => select(&CUSTOMERS[..]).prop_map(str::to_owned),
        1 => select(vec!["C 6", "c:1"]).prop_map(str::to_owned),
    ]
}

fn party() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => partner_id().prop_map(|id| format!("partner:{id}")),
        12 => customer_id().prop_map(|id| format!("customer:{id}")),
        1 => Just("platform".to_owned()),
        1 => select(vec!["P1", "vendor:V1", "partner:", "customer:a:b"]).prop_map(str::to_owned),
    ]
}

fn any_actor() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("platform".to_owned()),
        4 => partner_id().prop_map(|id| format!("partner:{id}")),
        2 => customer_id().prop_map(|id| format!("customer:{id}")),
        1 => select(vec!["nobody", "partner:X8"]).prop_map(str::to_owned),
    ]
}

fn admin_actor() -> BoxedStrategy<String> {
    prop_oneof![8 => Just("platform".to_owned()), 2 => any_actor()].boxed()
}

fn partner_actor() -> BoxedStrategy<String> {
    prop_oneof![8 => partner_id().prop_map(|id| format!("partner:{id}")), 2 => any_actor()].boxed()
}

fn amount() -> impl Strategy<Value = Value> {
    let valid = vec!["0.01", "1", "5", "10.5", "25.25", "100", "100.00", "250", "1000", "5000.99", "999999999999.99"];
    let invalid = vec!["0", "0.00", "1.001", "-5", "+5", "1e3", " 5", "5.", ".5", "1000000000000", "abc", ""];
    prop_oneof![
        24 => select(valid).prop_map(|text| json!(text)),
        3 => select(invalid).prop_map(|text| json!(text)),
        1 => select(vec![json!(5), json!(1.5)]),
    ]
}

fn limit() -> impl Strategy<Value = Value> {
    prop_oneof![6 => select(vec!["0", "0.00", "100", "1000.50"]).prop_map(|text| json!(text)), 1 => amount()]
}

fn memo() -> impl Strategy<Value = Option<String>> {
    prop_oneof![12 => Just(None), 6 => Just(Some("m".to_owned())), 1 => Just(Some("x".repeat(257)))]
}

fn association() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just("resale"), 4 => Just("referral"), 1 => Just("both")]
}

fn register_partner() -> impl Strategy<Value = Map<String, Value>> {
    let natural = (partner_id(), prop_oneof![8 => select(vec!["D1", "D2"]), 1 => select(vec!["R1", "S1", "X9"])]).prop_map(
        |(partner, parent)| {
            let mut body = object(vec![("op", json!("register_partner")), ("partner", json!(partner))]);
            let kind = match partner.chars().next() {
                Some('D') => "distributor",
                Some('R') => {
                    body.insert("parent".to_owned(), json!(parent));
                    "reseller"
                }
                _ => "solution_provider",
            };
            body.insert("kind".to_owned(), json!(kind));
            body
        },
    );
    let random = (partner_id(), select(vec!["solution_provider", "distributor", "reseller", "vendor"]), proptest::option::of(partner_id()))
        .prop_map(|(partner, kind, parent)| {
            let mut body = object(vec![("op", json!("register_partner")), ("partner", json!(partner)), ("kind", json!(kind))]);
            if let Some(parent) = parent {
                body.insert("parent".to_owned(), json!(parent));
            }
            body
        });
    prop_oneof![4 => natural, 1 => random]
}

fn register_customer() -> impl Strategy<Value = Map<String, Value>> {
    (customer_id(), proptest::option::weighted(0.7, partner_id()), proptest::option::weighted(0.6, association())).prop_map(
        |(customer, partner, association)| {
            let mut body = object(vec![("op", json!("register_customer")), ("customer", json!(customer))]);
            // An association without a partner only now and then.
            let association = association.filter(|_| partner.is_some() || customer.ends_with('5'));
            if let Some(partner) = partner {
                body.insert("partner".to_owned(), json!(partner));
            }
            if let Some(association) = association {
                body.insert("association".to_owned(), json!(association));
            }
            body
        },
    )
}

fn associate() -> impl Strategy<Value = Map<String, Value>> {
    (customer_id(), partner_id(), association()).prop_map(|(customer, partner, association)| {
        object(vec![("op", json!("associate")), ("customer", json!(customer)), ("partner", json!(partner)), ("association", json!(association))])
    })
}

fn party_amount(op: &'static str) -> impl Strategy<Value = Map<String, Value>> {
    (party(), amount()).prop_map(move |(party, amount)| object(vec![("op", json!(op)), ("party", json!(party)), ("amount", amount)]))
}

/// Partners and counterparties that are related in the cast (and often after random steps):
/// (actor, partner field, counterparty).
const RELATED: [(&str, Option<&str>, &str); 8] = [
    ("D1", None, "customer:C1"),
    ("D1", None, "partner:R1"),
    ("R1", None, "customer:C2"),
    ("D1", Some("R1"), "customer:C2"),
    ("D2", None, "partner:R2"),
    ("S1", None, "customer:C3"),
    ("S1", None, "customer:C5"),
    ("D1", Some("D1"), "customer:C1"),
];

/// An allocation or recovery with its actor: mostly between related parties.
fn transfer(op: &'static str) -> impl Strategy<Value = (String, Map<String, Value>)> {
    let counterparty = prop_oneof![
        6 => customer_id().prop_map(|id| format!("customer:{id}")),
        3 => partner_id().prop_map(|id| format!("partner:{id}")),
        1 => party(),
    ];
    let random = (partner_actor(), proptest::option::weighted(0.3, partner_id()), counterparty);
    let related = select(&RELATED[..]).prop_map(|(actor, partner, counterparty)| {
        (format!("partner:{actor}"), partner.map(str::to_owned), counterparty.to_owned())
    });
    let parties = prop_oneof![3 => random, 5 => related];
    (parties, amount(), memo()).prop_map(move |((actor, partner, counterparty), amount, memo)| {
        let side = if op == "allocate" { "to" } else { "from" };
        let mut body = object(vec![("op", json!(op)), (side, json!(counterparty)), ("amount", amount)]);
        if let Some(partner) = partner {
            body.insert("partner".to_owned(), json!(partner));
        }
        if let Some(memo) = memo {
            body.insert("memo".to_owned(), json!(memo));
        }
        (actor, body)
    })
}

fn set_credit_limit() -> impl Strategy<Value = Map<String, Value>> {
    (party(), limit()).prop_map(|(party, limit)| object(vec![("op", json!("set_credit_limit")), ("party", json!(party)), ("limit", limit)]))
}

fn adjust() -> impl Strategy<Value = Map<String, Value>> {
    let direction = prop_oneof![10 => Just("compensate"), 10 => Just("deduct"), 1 => Just("refund")];
    (party(), direction, amount(), proptest::option::weighted(0.95, Just("goodwill"))).prop_map(|(party, direction, amount, reason)| {
        let mut body = object(vec![("op", json!("adjust")), ("party", json!(party)), ("direction", json!(direction)), ("amount", amount)]);
        if let Some(reason) = reason {
            body.insert("reason".to_owned(), json!(reason));
        }
        body
    })
}

/// The broken members of an atomic group.
fn broken_member() -> impl Strategy<Value = Value> {
    select(vec![
        json!({"op": "atomic", "commands": [{"op": "recharge", "party": "partner:D1", "amount": "1"}]}),
        json!({"op": "recharge", "party": "partner:D1", "amount": "1", "id": "inner"}),
        json!({"op": "recharge", "party": "partner:D1", "amount": "1", "at": CLOCK}),
        json!({"op": "balance", "party": "platform"}),
        json!(7),
    ])
}

/// Small valid amounts, so that most members of a group can succeed.
fn small_amount() -> impl Strategy<Value = Value> {
    select(vec!["1", "5", "10.5", "100"]).prop_map(|text| json!(text))
}

/// A platform command that usually succeeds after the cast.
fn usual_admin_member() -> impl Strategy<Value = Value> {
    let fundable = select(vec!["partner:D1", "partner:D2", "partner:R1", "partner:S1", "customer:C3", "customer:C4"]);
    let direction = select(vec!["compensate", "deduct"]);
    prop_oneof![
        (fundable.clone(), small_amount()).prop_map(|(party, amount)| json!({"op": "recharge", "party": party, "amount": amount})),
        (fundable.clone(), direction, small_amount())
            .prop_map(|(party, direction, amount)| json!({"op": "adjust", "party": party, "direction": direction, "amount": amount, "reason": "r"})),
        fundable.prop_map(|party| json!({"op": "set_credit_limit", "party": party, "limit": "100"})),
    ]
}

/// A partner's group of transfers between related parties.
fn usual_transfer_group() -> impl Strategy<Value = (String, Vec<Value>)> {
    select(vec!["D1", "R1"]).prop_flat_map(|actor| {
        let related: Vec<_> = RELATED.iter().filter(|(owner, _, _)| *owner == actor).map(|(_, partner, to)| (*partner, *to)).collect();
        let member = (select(related), select(vec!["allocate", "recover"]), small_amount()).prop_map(|((partner, counterparty), op, amount)| {
            let side = if op == "allocate" { "to" } else { "from" };
            let mut body = json!({"op": op, side: counterparty, "amount": amount});
            if let Some(partner) = partner {
                body["partner"] = json!(partner);
            }
            body
        });
        (Just(format!("partner:{actor}")), proptest::collection::vec(member, 1..5))
    })
}

/// An atomic group with its actor: the platform's administrative commands, a partner's
/// transfers, or a mixture; now and then empty or with a broken member.
fn atomic() -> impl Strategy<Value = (String, Map<String, Value>)> {
    let admin = prop_oneof![
        register_partner().boxed(),
        register_customer().boxed(),
        party_amount("recharge").boxed(),
        adjust().boxed(),
        set_credit_limit().boxed(),
    ]
    .prop_map(Value::Object);
    let transfers = prop_oneof![transfer("allocate"), transfer("recover")].prop_map(|(_, body)| Value::Object(body));
    let any_member = prop_oneof![4 => admin.clone(), 4 => transfers.clone(), 1 => broken_member()];
    let groups = prop_oneof![
        4 => (Just("platform".to_owned()), proptest::collection::vec(prop_oneof![3 => usual_admin_member().boxed(), 1 => admin.boxed()], 1..5)),
        4 => usual_transfer_group(),
        1 => (select(vec!["partner:D1", "partner:S1", "partner:R1"]).prop_map(str::to_owned), proptest::collection::vec(transfers, 1..5)),
        2 => (prop_oneof![Just("platform".to_owned()), partner_actor()], proptest::collection::vec(any_member, 1..5)),
        1 => (Just("platform".to_owned()), Just(Vec::new())),
    ];
    groups.prop_map(|(actor, commands)| (actor, object(vec![("op", json!("atomic")), ("commands", Value::Array(commands))])))
}

fn command() -> impl Strategy<Value = (String, Map<String, Value>)> {
    prop_oneof![
        4 => (admin_actor(), register_partner()),
        4 => (prop_oneof![5 => Just("platform".to_owned()), 5 => partner_actor()], register_customer()),
        2 => (admin_actor(), associate()),
        5 => (admin_actor(), party_amount("recharge")),
        6 => transfer("allocate"),
        5 => transfer("recover"),
        2 => (admin_actor(), set_credit_limit()),
        1 => (any_actor().boxed(), party_amount("repay_credit")),
        3 => (admin_actor(), adjust()),
        3 => atomic(),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let request = prop_oneof![
        40 => Just(RequestId::Fresh),
        6 => any::<Index>().prop_map(RequestId::Reuse),
        1 => select(vec!["a:b.c-d_E".to_owned(), "x".repeat(64), "x".repeat(65), "bad id".to_owned(), "é".to_owned(), String::new()])
            .prop_map(RequestId::Odd),
        1 => Just(RequestId::Missing),
    ];
    let at = prop_oneof![
        12 => Just(At::Absent),
        20 => (0i64..30, prop::bool::weighted(0.1)).prop_map(|(minutes, offset)| At::Delta(minutes, offset)),
        5 => (-20i64..0, prop::bool::weighted(0.1)).prop_map(|(minutes, offset)| At::Delta(minutes, offset)),
        1 => select(vec!["2026-01-01 00:00:00Z", "yesterday", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00.0001Z"]).prop_map(At::Invalid),
    ];
    let corruption = prop_oneof![
        80 => Just(Corruption::None),
        1 => Just(Corruption::UnknownField),
        1 => any::<Index>().prop_map(Corruption::DropField),
        1 => any::<Index>().prop_map(Corruption::WrongType),
    ];
    let send = (request, command(), at, corruption)
        .prop_map(|(request, (actor, body), at, corruption)| Step::Send { request, actor, at, body, corruption });
    let garbage = select(vec![
        "not json",
        "[]",
        "{}",
        r#"{"op":"fly","id":"g1","actor":"platform"}"#,
        r#"{"op":"recharge","id":"g2"}"#,
        r#"{"op":"recharge","id":"g3","actor":"platform","party":"partner:D1","amount":"1","amount2":"1"}"#,
    ]);
    prop_oneof![
        60 => send,
        8 => (any::<Index>(), any::<bool>()).prop_map(|(pick, reformat)| Step::Replay { pick, reformat }),
        1 => garbage.prop_map(Step::Garbage),
    ]
}

/// A standard cast to start from, so that deep states are common: distributors D1 and D2,
/// reseller R1 of D1, solution provider S1, resale customers C1 (D1) and C2 (R1), referral
/// customer C3 (S1), unassociated C4, and money for D1, S1 and R1.
fn cast() -> Vec<String> {
    let commands = [
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
    ];
    let mut lines: Vec<String> = commands
        .into_iter()
        .enumerate()
        .map(|(index, mut command)| {
            command["id"] = json!(format!("setup-{index}"));
            command["actor"] = json!("platform");
            command.to_string()
        })
        .collect();
    lines.push(json!({"op": "allocate", "id": "setup-a", "actor": "partner:D1", "to": "partner:R1", "amount": "1000"}).to_string());
    lines
}

// ---------------------------------------------------------------------------------------------
// Running and checking.

/// A signed amount as the ledger prints it, in fen.
fn fen(value: &Value) -> Result<i128, TestCaseError> {
    let text = value.as_str().ok_or_else(|| TestCaseError::fail(format!("amount expected, got {value}")))?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.').ok_or_else(|| TestCaseError::fail(format!("{text} has no 2 places")))?;
    prop_assert_eq!(fraction.len(), 2, "{} must have exactly 2 places", text);
    let magnitude: i128 = format!("{units}{fraction}").parse().map_err(|_| TestCaseError::fail(format!("{text} is not an amount")))?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Formats a time `minutes` after the clock (within January 2026), in UTC or as UTC+08:00.
fn time_after_clock(minutes: i64, at_utc_8: bool) -> String {
    assert!((0..29 * 1440).contains(&minutes), "times stay in January 2026");
    let (local, zone) = if at_utc_8 { (minutes + 8 * 60, "+08:00") } else { (minutes, "Z") };
    format!("2026-01-{:02}T{:02}:{:02}:00{zone}", 1 + local / 1440, local % 1440 / 60, local % 60)
}

fn universe() -> Vec<Party> {
    let partners = PARTNERS.iter().map(|id| Party::Partner((*id).to_owned()));
    partners.chain(CUSTOMERS.iter().map(|id| Party::Customer((*id).to_owned()))).collect()
}

struct Run {
    ledger: Option<Ledger>,
    dir: tempfile::TempDir,
    model: Model,
    clock: i64,
    /// Every line sent, in order.
    sent: Vec<String>,
    /// Every request id sent.
    ids: Vec<String>,
    fresh: usize,
    /// Committed request id → (line, seq, result).
    committed: HashMap<String, (String, u64, Value)>,
}

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::default();
        clock.set(CLOCK);
        let ledger = Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock)).expect("open");
        let clock = parse_time(CLOCK).expect("valid clock");
        let model = Model::new(clock);
        Run { ledger: Some(ledger), dir, model, clock, sent: Vec::new(), ids: Vec::new(), fresh: 0, committed: HashMap::new() }
    }

    fn ledger(&self) -> &Ledger {
        self.ledger.as_ref().expect("ledger open")
    }

    fn query(&self, request: Value) -> Value {
        self.ledger().execute_line(&request.to_string()).to_json()
    }

    /// The line a step sends, or `None` when there is nothing to replay yet.
    fn line(&mut self, step: &Step) -> Option<String> {
        match step {
            Step::Garbage(line) => Some((*line).to_owned()),
            Step::Replay { pick, reformat } => {
                if self.sent.is_empty() {
                    return None;
                }
                let line = self.sent[pick.index(self.sent.len())].clone();
                if !reformat {
                    return Some(line);
                }
                let Ok(mut value) = serde_json::from_str::<Value>(&line) else { return Some(line) };
                for field in ["amount", "limit"] {
                    if let Some(Value::String(text)) = value.get_mut(field)
                        && !text.contains('.')
                    {
                        text.push_str(".00");
                    }
                }
                Some(value.to_string())
            }
            Step::Send { request, actor, at, body, corruption } => {
                let mut request_map = body.clone();
                request_map.insert("actor".to_owned(), json!(actor));
                let id = match request {
                    RequestId::Fresh => {
                        self.fresh += 1;
                        Some(format!("q{}", self.fresh))
                    }
                    RequestId::Reuse(pick) if !self.ids.is_empty() => Some(self.ids[pick.index(self.ids.len())].clone()),
                    RequestId::Reuse(_) => Some("q0".to_owned()),
                    RequestId::Odd(id) => Some(id.clone()),
                    RequestId::Missing => None,
                };
                if let Some(id) = id {
                    request_map.insert("id".to_owned(), json!(id));
                }
                match at {
                    At::Absent => {}
                    At::Delta(minutes, offset) => {
                        let since_clock = (self.model.last_at().max(self.clock) - self.clock) / 60_000;
                        request_map.insert("at".to_owned(), json!(time_after_clock((since_clock + minutes).max(0), *offset)));
                    }
                    At::Invalid(text) => {
                        request_map.insert("at".to_owned(), json!(text));
                    }
                }
                let keys: Vec<String> = request_map.keys().cloned().collect();
                match corruption {
                    Corruption::None => {}
                    Corruption::UnknownField => {
                        request_map.insert("extra".to_owned(), json!(1));
                    }
                    Corruption::DropField(pick) => {
                        request_map.remove(&keys[pick.index(keys.len())]);
                    }
                    Corruption::WrongType(pick) => {
                        request_map.insert(keys[pick.index(keys.len())].clone(), json!(7));
                    }
                }
                Some(Value::Object(request_map).to_string())
            }
        }
    }

    /// Sends one line to both and compares the answers, then every balance.
    fn send(&mut self, line: &str) -> Result<(), TestCaseError> {
        let request = serde_json::from_str::<Value>(line).unwrap_or_default();
        if let Some(Value::String(id)) = request.get("id") {
            self.ids.push(id.clone());
        }
        self.sent.push(line.to_owned());
        let expected = self.model.execute_line(line);
        let response = self.ledger().execute_line(line).to_json();
        if let Some(id) = request.get("id").filter(|id| id.is_string()) {
            prop_assert_eq!(&response["id"], id, "the response echoes the request id: {}", response);
        }
        match expected {
            Expected::Committed { seq, duplicate } => {
                prop_assert_eq!(&response["ok"], &json!(true), "{} → {}; the model commits it as seq {}", line, response, seq);
                prop_assert_eq!(&response["seq"], &json!(seq), "{} → {}", line, response);
                prop_assert_eq!(&response["duplicate"], &json!(duplicate), "{} → {}", line, response);
                let id = response["id"].as_str().unwrap_or_default().to_owned();
                if duplicate {
                    let (_, original_seq, original) = &self.committed[&id];
                    prop_assert_eq!(*original_seq, seq);
                    prop_assert_eq!(&response["result"], original, "a replay answers the original result: {}", line);
                } else {
                    let transfer = json!({"transfer": id});
                    if request["op"] == "allocate" || request["op"] == "recover" {
                        prop_assert_eq!(&response["result"], &transfer, "{}", line);
                    }
                    if request["op"] == "atomic" {
                        let members = request["commands"].as_array().cloned().unwrap_or_default();
                        let results = response["result"]["results"].as_array().cloned().unwrap_or_default();
                        prop_assert_eq!(results.len(), members.len(), "one result per member: {}", response);
                        for (member, result) in members.iter().zip(&results) {
                            if member["op"] == "allocate" || member["op"] == "recover" {
                                prop_assert_eq!(result, &transfer, "{}", line);
                            }
                        }
                    }
                    self.committed.insert(id, (line.to_owned(), seq, response["result"].clone()));
                }
            }
            Expected::Failed { code, index } => {
                prop_assert_eq!(&response["ok"], &json!(false), "{} → {}; the model refuses it with {}", line, response, code);
                prop_assert_eq!(&response["error"]["code"], &json!(code), "{} → {}", line, response);
                prop_assert_eq!(&response["error"]["cbc"], &json!(cbc(code)), "{} → {}", line, response);
                prop_assert!(response["error"]["message"].is_string(), "{}", response);
                if let Some(index) = index {
                    prop_assert_eq!(&response["error"]["index"], &json!(index), "{} → {}", line, response);
                }
            }
            Expected::Query => {}
        }
        self.check_state().map_err(|error| TestCaseError::fail(format!("after {line}: {error}")))
    }

    /// The head, every balance against the model, the zero sum and every bound.
    fn check_state(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.ledger().head().seq, self.model.seq(), "head seq");
        let platform = self.query(json!({"op": "balance", "actor": "platform", "party": "platform"}));
        prop_assert!(platform.get("seq").is_none() && platform["ok"] == json!(true), "a query answers without seq: {}", platform);
        let (bank, revenue) = self.model.platform();
        prop_assert_eq!(&platform["result"]["accounts"]["bank"], &json!(format_amount(bank)), "bank: {}", platform);
        prop_assert_eq!(&platform["result"]["accounts"]["revenue"], &json!(format_amount(revenue)), "revenue: {}", platform);
        let mut sum = fen(&platform["result"]["accounts"]["bank"])? + fen(&platform["result"]["accounts"]["revenue"])?;
        for party in universe() {
            let response = self.query(json!({"op": "balance", "actor": "platform", "party": party.text()}));
            let Some(model) = self.model.balances(&party) else {
                prop_assert_eq!(&response["error"]["code"], &json!("not_found"), "{} is not registered: {}", party.text(), response);
                continue;
            };
            let result = &response["result"];
            prop_assert_eq!(&response["ok"], &json!(true), "balance of {}: {}", party.text(), response);
            let shown = [
                ("cash", model.cash),
                ("held", 0),
                ("available", model.cash),
                ("credit_limit", model.credit_limit),
                ("credit_used", model.credit_used),
                ("arrears", model.arrears),
            ];
            for (field, value) in shown {
                prop_assert_eq!(&result[field], &json!(format_amount(value)), "{} of {}: {}", field, party.text(), response);
            }
            let (cash, credit_used, credit_limit, arrears) =
                (fen(&result["cash"])?, fen(&result["credit_used"])?, fen(&result["credit_limit"])?, fen(&result["arrears"])?);
            prop_assert!(cash >= 0 && arrears >= 0 && 0 <= credit_used && credit_used <= credit_limit, "bounds of {}: {}", party.text(), response);
            sum += cash - credit_used - arrears;
        }
        prop_assert_eq!(sum, 0, "CNY balances must sum to zero");
        Ok(())
    }

    /// Everything observable through balances and the head.
    fn snapshot(&self) -> Value {
        let head = self.ledger().head();
        let mut balances = vec![self.query(json!({"op": "balance", "actor": "platform", "party": "platform"}))];
        for party in universe() {
            balances.push(self.query(json!({"op": "balance", "actor": "platform", "party": party.text()})));
        }
        json!({"seq": head.seq, "hash": partner_ledger::hex(&head.hash), "at": head.at.to_string(), "balances": balances})
    }

    /// The journal verifies, reopening gives the same books, and committed requests still
    /// answer as duplicates of themselves.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        let report = self.ledger().verify();
        prop_assert!(report.is_ok(), "verify: {:?}", report);
        let before = self.snapshot();
        drop(self.ledger.take());
        self.ledger = Some(Ledger::open(self.dir.path().join("ledger.redb")).expect("reopen"));
        prop_assert_eq!(self.snapshot(), before, "reopening changed the books");
        self.check_state()?;
        for (id, (line, seq, result)) in &self.committed {
            let response = self.ledger().execute_line(line).to_json();
            prop_assert_eq!(&response["ok"], &json!(true), "replay of {} after reopening: {}", id, response);
            prop_assert_eq!(&response["duplicate"], &json!(true), "replay of {} after reopening: {}", id, response);
            prop_assert_eq!(&response["seq"], &json!(seq), "replay of {} after reopening", id);
            prop_assert_eq!(&response["result"], result, "replay of {} after reopening", id);
        }
        prop_assert_eq!(self.ledger().head().seq, self.model.seq(), "replays must not commit");
        self.check_records()
    }

    /// The adjust records of every allocation and recovery, in order, page by page.
    fn check_records(&self) -> Result<(), TestCaseError> {
        let expected: Vec<Value> = self
            .model
            .records()
            .iter()
            .map(|record| {
                json!({
                    "seq": record.seq,
                    "at": format_time(record.at),
                    "operation": record.operation,
                    "partner": record.partner,
                    "target": record.target.text(),
                    "amount": format_amount(record.amount),
                    "memo": record.memo,
                })
            })
            .collect();
        let mut listed = Vec::new();
        loop {
            let page = self.query(json!({"op": "adjust_records", "actor": "platform", "offset": listed.len(), "limit": 100}));
            prop_assert_eq!(&page["result"]["total_count"], &json!(expected.len()), "{}", page);
            let records = page["result"]["records"].as_array().cloned().unwrap_or_default();
            if records.is_empty() {
                break;
            }
            listed.extend(records);
        }
        prop_assert_eq!(listed, expected, "adjust records");
        Ok(())
    }
}

fn run_case(with_cast: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut run = Run::new();
    if with_cast {
        for line in cast() {
            run.send(&line)?;
        }
    }
    for step in steps {
        if let Some(line) = run.line(step) {
            run.send(&line)?;
        }
    }
    run.finish()
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(CASES_DEFAULT);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ledger_matches_the_reference_model(with_cast in prop::bool::weighted(0.7), steps in proptest::collection::vec(step(), 1..STEPS_MAX)) {
        run_case(with_cast, &steps)?;
    }
}
