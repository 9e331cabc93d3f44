//! Model test: random sequences of valid and invalid commands (parties and operators with roles,
//! money with customers' own `cash` and partners' `allocated`, coupon quotas and coupons, orders
//! and combined orders, partner payment requests, payment, refunds, usage, withdrawals,
//! association changes, invoices (by amount, billing cycles or bills), discounts and pickup
//! vouchers (SPEC v2 part 2), atomic groups; actors now and then replaced by one of their
//! partner's operators) run through `Ledger::execute_line` and through a simple in-memory
//! reference (`tests/model/reference.rs`). After every step the answer (code, cbc and index, or
//! seq, duplicate and result), every balance with its `allocated`, `withdrawable`,
//! `over_invoiced`, quotas and coupons, every order, every invoiceable item, both zero sums (CNY
//! and CPN), every bound and the head must agree; at the end the journal must verify and reopen
//! identically, replays must answer as duplicates, and adjust records, bills, withdrawals,
//! invoices, balances `as_of` earlier times, the `orders` listings (with their `partner_payment`
//! filter) and what each actor may read (SPEC 2.1: referral reach, operator roles, customer
//! managers) must match.
//!
//! `PROPTEST_CASES` overrides the number of cases (64 by default); `MODEL_STATS=<file>` writes
//! how often each command was committed or refused with each code (and some v2 flows) to that
//! file after each case, to see what the generators reach. The reference follows SPEC.md.
mod common;
#[path = "model/reference.rs"]
mod reference;

use common::ManualClock;
use partner_ledger::Ledger;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::Union;
use proptest::test_runner::TestCaseError;
use reference::{
    CLOCK, COUPONS, CUSTOMERS, DISCOUNTS, Expected, Model, OPERATORS, OrderSummary, PARTNERS, Party, QUOTAS, SERVICES, cast, cbc,
    format_amount, format_time, parse_time, universe,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Counts of outcomes by kind, over all cases of the process (see `MODEL_STATS`).
static STATS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Counts one outcome when `MODEL_STATS` is set.
fn count(key: String) {
    if std::env::var_os("MODEL_STATS").is_some()
        && let Ok(mut stats) = STATS.lock()
    {
        *stats.entry(key).or_default() += 1;
    }
}

/// The kind of an answered line: its op (with the payer, an operator actor and for groups the
/// ops of the members), its outcome, and what some v2 results show.
fn outcome_key(request: &Value, response: &Value) -> String {
    let mut op = request["op"].as_str().unwrap_or("?").to_owned();
    if request["payer"] == json!("partner") {
        op.push_str("[partner]");
    }
    if let Some(Value::Array(members)) = request.get("commands") {
        let ops: Vec<&str> = members.iter().map(|member| member["op"].as_str().unwrap_or("?")).collect();
        op.push_str(&format!("[{}]", ops.join(",")));
    }
    if request["actor"].as_str().is_some_and(|actor| actor.starts_with("operator:")) {
        op.push_str(" by operator");
    }
    if let Some(party) = request["party"].as_str().filter(|party| party.starts_with("customer:"))
        && (op == "request_withdrawal" || op == "adjust")
    {
        op.push_str(&format!(" of {party}"));
    }
    if response["ok"] != json!(true) {
        return format!("{op}: {}", response["error"]["code"].as_str().unwrap_or("?"));
    }
    let result = &response["result"];
    let mut notes = Vec::new();
    for (field, note) in [("partner", "refund_reclaim"), ("allocated", "to allocated")] {
        if result["refund"][field].as_str().is_some_and(|amount| amount != "0.00") {
            notes.push(note);
        }
    }
    for (field, note) in [("coupon", "coupon"), ("allocated", "allocated")] {
        if op == "consume" && result[field].as_str().is_some_and(|amount| amount != "0.00") {
            notes.push(note);
        }
    }
    if result["paid"].as_array().is_some_and(|rows| rows.iter().any(|row| row["discount"].as_str().is_some_and(|amount| amount != "0.00")))
    {
        notes.push("discounted");
    }
    if request["cycles"].is_array() {
        notes.push("by cycles");
    }
    if request["bills"].is_array() {
        notes.push("by bills");
    }
    if result["reclaimed_allocated"].as_str().is_some_and(|amount| amount != "0.00") {
        notes.push("reclaimed allocated");
    }
    if response["duplicate"] == json!(true) {
        notes.push("duplicate");
    }
    format!("{op}: ok {}", notes.join(", "))
}

/// Writes the counts so far to the file `MODEL_STATS` names.
fn write_stats() {
    if let (Some(path), Ok(stats)) = (std::env::var_os("MODEL_STATS"), STATS.lock()) {
        let text: String = stats.iter().map(|(key, count)| format!("{count:8} {key}\n")).collect();
        let _ = std::fs::write(path, text);
    }
}

const CASES_DEFAULT: u32 = 64;
const STEPS_MAX: usize = 150;

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
    Send {
        request: RequestId,
        actor: String,
        /// When the actor is a partner with operators (in the model, when the step runs), sends
        /// as the operator this picks instead.
        operator: Option<Index>,
        at: At,
        body: Map<String, Value>,
        corruption: Corruption,
    },
    /// Sends an earlier line again, optionally with its amounts written as `"N.00"`.
    Replay {
        pick: Index,
        reformat: bool,
    },
    /// Several sends in a row for one customer (ordering, paying, then refunding or invoicing).
    Flow(Vec<Step>),
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
        1 => select(vec!["P1", "vendor:V1", "partner:", "customer:a:b", "operator:F1", "operator:"]).prop_map(str::to_owned),
    ]
}

fn operator_id() -> impl Strategy<Value = String> {
    prop_oneof![
        20 => select(&OPERATORS[..]).prop_map(str::to_owned),
        2 => select(vec!["N3", "D2", "C5", "C4"]).prop_map(str::to_owned),
        1 => select(vec!["bad id", "o:1", ""]).prop_map(str::to_owned),
    ]
}

fn any_actor() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("platform".to_owned()),
        4 => partner_id().prop_map(|id| format!("partner:{id}")),
        2 => customer_id().prop_map(|id| format!("customer:{id}")),
        2 => select(&OPERATORS[..]).prop_map(|id| format!("operator:{id}")),
        1 => select(vec!["nobody", "partner:X8", "operator:Z9"]).prop_map(str::to_owned),
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
    let natural =
        (partner_id(), prop_oneof![8 => select(vec!["D1", "D2"]), 1 => select(vec!["R1", "S1", "X9"])]).prop_map(|(partner, parent)| {
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
        });
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

/// (v2) `name` and `external_id` of `register_customer`, valid or not.
fn customer_names() -> impl Strategy<Value = (Option<Value>, Option<Value>)> {
    let name = prop_oneof![
        6 => Just(None),
        3 => select(vec!["Acme", "华为云客户", "x"]).prop_map(|name| Some(json!(name))),
        1 => select(vec![json!(""), json!("n".repeat(65)), json!(7)]).prop_map(Some),
    ];
    let external_id = prop_oneof![
        5 => Just(None),
        4 => select(vec!["ext-1", "ext-2", "acc:9"]).prop_map(|id| Some(json!(id))),
        1 => select(vec![json!("bad id"), json!(""), json!(5)]).prop_map(Some),
    ];
    (name, external_id)
}

fn register_customer() -> impl Strategy<Value = Map<String, Value>> {
    (customer_id(), proptest::option::weighted(0.7, partner_id()), proptest::option::weighted(0.6, association()), customer_names())
        .prop_map(|(customer, partner, association, (name, external_id))| {
            let mut body = object(vec![("op", json!("register_customer")), ("customer", json!(customer))]);
            for (field, value) in [("name", name), ("external_id", external_id)] {
                if let Some(value) = value {
                    body.insert(field.to_owned(), value);
                }
            }
            // An association without a partner only now and then.
            let association = association.filter(|_| partner.is_some() || customer.ends_with('5'));
            if let Some(partner) = partner {
                body.insert("partner".to_owned(), json!(partner));
            }
            if let Some(association) = association {
                body.insert("association".to_owned(), json!(association));
            }
            body
        })
}

fn associate() -> impl Strategy<Value = Map<String, Value>> {
    (customer_id(), partner_id(), association()).prop_map(|(customer, partner, association)| {
        object(vec![
            ("op", json!("associate")),
            ("customer", json!(customer)),
            ("partner", json!(partner)),
            ("association", json!(association)),
        ])
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
    let related = select(&RELATED[..])
        .prop_map(|(actor, partner, counterparty)| (format!("partner:{actor}"), partner.map(str::to_owned), counterparty.to_owned()));
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
        (fundable.clone(), direction, small_amount()).prop_map(
            |(party, direction, amount)| json!({"op": "adjust", "party": party, "direction": direction, "amount": amount, "reason": "r"})
        ),
        fundable.prop_map(|party| json!({"op": "set_credit_limit", "party": party, "limit": "100"})),
        // Compensations go to a resale customer's own cash (v2).
        (select(vec!["customer:C1", "customer:C2"]), small_amount()).prop_map(
            |(party, amount)| json!({"op": "adjust", "party": party, "direction": "compensate", "amount": amount, "reason": "r"})
        ),
    ]
}

/// A partner's group of transfers between related parties.
fn usual_transfer_group() -> impl Strategy<Value = (String, Vec<Value>)> {
    select(vec!["D1", "R1"]).prop_flat_map(|actor| {
        let related: Vec<_> = RELATED.iter().filter(|(owner, _, _)| *owner == actor).map(|(_, partner, to)| (*partner, *to)).collect();
        let member =
            (select(related), select(vec!["allocate", "recover"]), small_amount()).prop_map(|((partner, counterparty), op, amount)| {
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
    let operators = prop_oneof![register_operator(), set_operator_roles(), assign_customer_manager()].prop_map(|(_, body)| body);
    let admin = prop_oneof![
        register_partner().boxed(),
        register_customer().boxed(),
        party_amount("recharge").boxed(),
        adjust().boxed(),
        set_credit_limit().boxed(),
        operators.boxed(),
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

// ---------------------------------------------------------------------------------------------
// Generation of coupons, orders, usage, withdrawals, association changes and invoices. Ids come
// from small pools so that they meet again; order, withdrawal and invoice ids name their owner
// (`O2-C1`, `W1-D1`, `I3-C3`) so that the usual actor can be chosen without knowing the state.
// Times inside bodies are written `@<minutes>` (relative to the later of the clock and the head)
// and resolved when the step runs.

/// Parties that withdraw and invoice: partners, a resale customer and paying customers.
const PAYING: [&str; 7] = ["partner:D1", "partner:S1", "partner:R1", "customer:C1", "customer:C2", "customer:C3", "customer:C4"];

type Body = (String, Map<String, Value>);

fn boxed<S: Strategy<Value = Body> + 'static>(strategy: S) -> BoxedStrategy<Body> {
    strategy.boxed()
}

/// The partners usually in charge of a customer of the cast (its partner, then its distributor).
fn partners_of(customer: &str) -> Vec<&'static str> {
    match customer {
        "C1" => vec!["D1"],
        "C2" => vec!["R1", "D1"],
        "C3" => vec!["S1"],
        _ => vec!["S1", "D2", "D1"],
    }
}

fn commerce_customer() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just("C1".to_owned()),
        8 => Just("C2".to_owned()),
        12 => Just("C3".to_owned()),
        8 => Just("C4".to_owned()),
        4 => Just("C5".to_owned()),
        1 => Just("c:1".to_owned()),
    ]
}

/// `customer:<id>`, or one of its partners, or anyone.
fn actor_for(customer: String, partner_weight: u32) -> impl Strategy<Value = (String, String)> {
    let partners = partners_of(&customer);
    let own = format!("customer:{customer}");
    prop_oneof![
        8 => Just(own),
        partner_weight => select(partners).prop_map(|partner| format!("partner:{partner}")),
        1 => any_actor(),
    ]
    .prop_map(move |actor| (actor, customer.clone()))
}

fn small_money() -> impl Strategy<Value = Value> {
    let valid = vec!["1", "5", "10.5", "25.25", "60", "100", "250", "600"];
    prop_oneof![
        30 => select(valid).prop_map(|text| json!(text)),
        1 => amount(),
    ]
}

fn window_start() -> impl Strategy<Value = Value> {
    select(vec!["@-2880", "@-60", "@0", "@0", "@120", "@2880"]).prop_map(|text| json!(text))
}

fn window_end() -> impl Strategy<Value = Value> {
    prop_oneof![
        10 => select(vec!["@60", "@1440", "@10080", "@43200", "@86400"]).prop_map(|text| json!(text)),
        1 => select(vec!["@-30", "yesterday"]).prop_map(|text| json!(text)),
    ]
}

fn coupon_kind() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just("voucher"), 3 => Just("cash_coupon"), 3 => Just("pickup_voucher"), 1 => Just("gift")]
}

fn issue_quota() -> impl Strategy<Value = Body> {
    let from_platform = (
        select(&QUOTAS[..]),
        prop_oneof![6 => select(vec!["D1", "D2", "S1"]), 1 => select(vec!["R1", "X9"])],
        coupon_kind(),
        select(vec!["100", "500", "1000", "2500.50"]).prop_map(|text| json!(text)),
        window_start(),
        window_end(),
        prop_oneof![12 => Just(None), 1 => select(&QUOTAS[..]).prop_map(Some)],
    )
        .prop_map(|(quota, partner, kind, amount, from, until, from_quota)| {
            ("platform".to_owned(), quota, partner, kind, amount, from, until, from_quota)
        });
    let from_distributor = (
        prop_oneof![6 => Just("partner:D1"), 1 => select(vec!["partner:D2", "partner:R1", "partner:S1"])],
        select(&QUOTAS[..]),
        prop_oneof![6 => Just("R1"), 1 => select(vec!["R2", "D1", "S1"])],
        coupon_kind(),
        small_money(),
        window_start(),
        window_end(),
        prop_oneof![10 => select(&QUOTAS[..]).prop_map(Some), 1 => Just(None)],
    );
    let random = (
        any_actor(),
        select(&QUOTAS[..]),
        partner_id(),
        coupon_kind(),
        amount(),
        window_start(),
        window_end(),
        proptest::option::of(select(&QUOTAS[..])),
    );
    let pick = prop_oneof![
        5 => from_platform.prop_map(|(actor, quota, partner, kind, amount, from, until, from_quota)| (actor, quota, partner.to_owned(), kind, amount, from, until, from_quota)),
        5 => from_distributor.prop_map(|(actor, quota, partner, kind, amount, from, until, from_quota)| (actor.to_owned(), quota, partner.to_owned(), kind, amount, from, until, from_quota)),
        1 => random,
    ];
    // (v2) A distributor may leave out the window (its source quota's); the platform may not.
    let window = prop_oneof![6 => Just((true, true)), 3 => Just((false, false)), 1 => Just((true, false)), 1 => Just((false, true))];
    (pick, window).prop_map(|((actor, quota, partner, kind, amount, from, until, from_quota), (with_from, with_until))| {
        let mut body = object(vec![
            ("op", json!("issue_quota")),
            ("quota", json!(quota)),
            ("partner", json!(partner)),
            ("kind", json!(kind)),
            ("amount", amount),
        ]);
        if with_from || actor == "platform" && with_until {
            body.insert("valid_from".to_owned(), from);
        }
        if with_until {
            body.insert("valid_until".to_owned(), until);
        }
        if let Some(from_quota) = from_quota {
            body.insert("from_quota".to_owned(), json!(from_quota));
        }
        (actor, body)
    })
}

fn reclaim_quota() -> impl Strategy<Value = Body> {
    let actor = prop_oneof![4 => Just("platform".to_owned()), 3 => Just("partner:D1".to_owned()), 1 => any_actor()];
    (actor, select(&QUOTAS[..])).prop_map(|(actor, quota)| (actor, object(vec![("op", json!("reclaim_quota")), ("quota", json!(quota))])))
}

fn whitelist_customer() -> impl Strategy<Value = Body> {
    commerce_customer()
        .prop_flat_map(|customer| {
            let partners = partners_of(&customer);
            let actor = prop_oneof![6 => select(partners).prop_map(|partner| format!("partner:{partner}")), 1 => any_actor()];
            (actor, Just(customer))
        })
        .prop_map(|(actor, customer)| (actor, object(vec![("op", json!("whitelist_customer")), ("customer", json!(customer))])))
}

fn services() -> impl Strategy<Value = Option<Value>> {
    let valid = select(vec![json!(["ecs"]), json!(["ecs", "obs"]), json!(["rds"]), json!(["obs", "rds", "ecs"])]);
    let invalid = select(vec![
        json!([]),
        json!(["ecs", "ecs"]),
        json!(["bad id"]),
        json!([7]),
        json!("ecs"),
        json!(["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11"]),
        json!(["bad id", 7]),
        json!(["bad id", "ecs", "ecs"]),
    ]);
    prop_oneof![12 => Just(None), 8 => valid.prop_map(Some), 1 => invalid.prop_map(Some)]
}

fn issue_coupon() -> impl Strategy<Value = Body> {
    let customer = prop_oneof![4 => Just("C1".to_owned()), 4 => Just("C2".to_owned()), 2 => commerce_customer()];
    let face = prop_oneof![
        20 => select(vec!["10", "50", "100.5", "300", "1000"]).prop_map(|text| json!(text)),
        1 => amount(),
    ];
    let window = prop_oneof![
        8 => Just((None, None)),
        2 => (window_start(), window_end()).prop_map(|(from, until)| (Some(from), Some(until))),
        1 => window_start().prop_map(|from| (Some(from), None)),
    ];
    (customer, select(&COUPONS[..]), select(&QUOTAS[..]), face, window, services(), pickup_terms())
        .prop_flat_map(|(customer, coupon, quota, face, window, services, terms)| {
            let partners = partners_of(&customer);
            let actor = prop_oneof![8 => select(partners).prop_map(|partner| format!("partner:{partner}")), 1 => any_actor()];
            (actor, Just((customer, coupon, quota, face, window, services, terms)))
        })
        .prop_map(|(actor, (customer, coupon, quota, face, (from, until), services, (ratio, order_kinds)))| {
            // (v2) Pickup terms mostly for the pickup-voucher quota Q5, now and then elsewhere
            // (`invalid_request`) or missing there (`invalid_request`).
            let pickup = quota == "Q5";
            let (ratio, order_kinds) = match (pickup, &ratio) {
                (true, None) if coupon != "K6" => (Some(json!("0.5")), order_kinds),
                (false, Some(_)) if coupon != "K5" => (None, None),
                _ => (ratio, order_kinds),
            };
            let mut body = object(vec![
                ("op", json!("issue_coupon")),
                ("coupon", json!(coupon)),
                ("quota", json!(quota)),
                ("customer", json!(customer)),
                ("face_value", face),
            ]);
            for (name, value) in
                [("valid_from", from), ("valid_until", until), ("services", services), ("ratio", ratio), ("order_kinds", order_kinds)]
            {
                if let Some(value) = value {
                    body.insert(name.to_owned(), value);
                }
            }
            (actor, body)
        })
}

/// (v2) A pickup voucher's `ratio` and `order_kinds`, valid or not.
fn pickup_terms() -> impl Strategy<Value = (Option<Value>, Option<Value>)> {
    let ratio = prop_oneof![
        3 => Just(None),
        8 => select(vec!["0.3", "0.5", "0.85", "1", "1.00", "0.01", "0.99"]).prop_map(|text| Some(json!(text))),
        1 => select(vec![json!("0"), json!("1.01"), json!("0.333"), json!("-0.5"), json!("2"), json!(0.5)]).prop_map(Some),
    ];
    let kinds = prop_oneof![
        6 => Just(None),
        4 => select(vec![json!(["new"]), json!(["renew", "change"]), json!(["new", "renew", "change"])]).prop_map(Some),
        1 => select(vec![json!([]), json!(["new", "new"]), json!(["refund"]), json!("new")]).prop_map(Some),
    ];
    (ratio, kinds)
}

/// (v2) `grant_discount` (mostly by the platform) and `revoke_discount`.
fn discount_command() -> impl Strategy<Value = Body> {
    let ratio = prop_oneof![
        8 => select(vec!["0.85", "0.5", "0.9", "1", "0.01", "0.33"]).prop_map(|text| json!(text)),
        1 => select(vec![json!("0"), json!("1.5"), json!("0.001"), json!(0.85)]),
    ];
    let window = prop_oneof![
        8 => (window_start(), window_end()),
        1 => Just((json!("@60"), json!("@60"))),
    ];
    let grant = (admin_actor(), select(&DISCOUNTS[..]), commerce_customer(), ratio, services(), window).prop_map(
        |(actor, discount, customer, ratio, services, (from, until))| {
            let mut body = object(vec![
                ("op", json!("grant_discount")),
                ("discount", json!(discount)),
                ("customer", json!(customer)),
                ("ratio", ratio),
                ("valid_from", from),
                ("valid_until", until),
            ]);
            if let Some(services) = services {
                body.insert("services".to_owned(), services);
            }
            (actor, body)
        },
    );
    let revoke = (admin_actor(), prop_oneof![8 => select(&DISCOUNTS[..]), 1 => Just("bad id")])
        .prop_map(|(actor, discount)| (actor, object(vec![("op", json!("revoke_discount")), ("discount", json!(discount))])));
    prop_oneof![3 => grant, 1 => revoke]
}

fn reclaim_coupon() -> impl Strategy<Value = Body> {
    let actor = prop_oneof![4 => Just("partner:D1".to_owned()), 3 => Just("partner:R1".to_owned()), 1 => any_actor()];
    (actor, select(&COUPONS[..]))
        .prop_map(|(actor, coupon)| (actor, object(vec![("op", json!("reclaim_coupon")), ("coupon", json!(coupon))])))
}

fn expire_coupons() -> impl Strategy<Value = Body> {
    admin_actor().prop_map(|actor| (actor, object(vec![("op", json!("expire_coupons"))])))
}

fn order_kind() -> impl Strategy<Value = &'static str> {
    prop_oneof![12 => Just("new"), 4 => Just("renew"), 4 => Just("change"), 1 => Just("refund")]
}

fn service() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![6 => Just(None), 12 => select(&SERVICES[..]).prop_map(Some), 1 => Just(Some("bad id"))]
}

/// `O<k>-<customer>`, now and then an id that is also a request id (ids share one namespace).
fn order_of(customer: &str, k: usize) -> String {
    if k == 0 { "q3".to_owned() } else { format!("O{k}-{customer}") }
}

fn order_index() -> impl Strategy<Value = usize> {
    prop_oneof![40 => 1usize..=5, 1 => Just(0usize)]
}

fn place_order() -> impl Strategy<Value = Body> {
    commerce_customer().prop_flat_map(place_order_for)
}

fn place_order_for(customer: String) -> BoxedStrategy<Body> {
    let deadline = prop_oneof![8 => Just(None), 2 => select(vec!["@60", "@1440", "@20160", "@-60"]).prop_map(Some)];
    (actor_for(customer, 0), order_index(), small_money(), order_kind(), service(), deadline)
        .prop_map(|((actor, customer), k, amount, kind, service, deadline)| {
            let mut body = object(vec![
                ("op", json!("place_order")),
                ("order", json!(order_of(&customer, k))),
                ("customer", json!(customer)),
                ("amount", amount),
                ("kind", json!(kind)),
            ]);
            if let Some(service) = service {
                body.insert("service".to_owned(), json!(service));
            }
            if let Some(deadline) = deadline {
                body.insert("pay_deadline".to_owned(), json!(deadline));
            }
            let actor = if actor.starts_with("partner:") { "platform".to_owned() } else { actor };
            (actor, body)
        })
        .boxed()
}

fn place_combined_order() -> impl Strategy<Value = Body> {
    let line = (order_index(), small_money(), order_kind(), service(), prop::bool::weighted(0.02)).boxed();
    let lines = prop_oneof![20 => proptest::collection::vec(line.clone(), 2..4), 1 => proptest::collection::vec(line, 1..2)];
    (commerce_customer().prop_flat_map(|customer| actor_for(customer, 0)), 1usize..=2, lines, prop::bool::weighted(0.03)).prop_map(
        |((actor, customer), k, lines, clash)| {
            let combined = format!("G{k}-{customer}");
            let lines: Vec<Value> = lines
                .into_iter()
                .enumerate()
                .map(|(position, (k, amount, kind, service, extra))| {
                    let order = if clash && position == 0 { combined.clone() } else { order_of(&customer, k) };
                    let mut line = json!({"order": order, "amount": amount, "kind": kind});
                    if let Some(service) = service {
                        line["service"] = json!(service);
                    }
                    if extra {
                        line["note"] = json!("x");
                    }
                    line
                })
                .collect();
            let body = object(vec![
                ("op", json!("place_combined_order")),
                ("combined", json!(combined)),
                ("customer", json!(customer)),
                ("orders", Value::Array(lines)),
            ]);
            let actor = if actor.starts_with("partner:") { "platform".to_owned() } else { actor };
            (actor, body)
        },
    )
}

/// An order or a combined order of `customer`.
fn order_target(customer: &str) -> BoxedStrategy<String> {
    let customer = customer.to_owned();
    let combined = customer.clone();
    prop_oneof![
        4 => order_index().prop_map(move |k| order_of(&customer, k)),
        1 => (1usize..=2).prop_map(move |k| format!("G{k}-{combined}")),
    ]
    .boxed()
}

/// A pending order or combined order of `customer` (mostly one that exists), or a pool id.
fn pending_target(customer: &str) -> BoxedStrategy<String> {
    let own = customer.to_owned();
    prop_oneof![7 => (0usize..100).prop_map(move |index| format!("#target:{own}:pending_payment:{index}")), 3 => order_target(customer)]
        .boxed()
}

fn pay_order() -> impl Strategy<Value = Body> {
    // Now and then several structural and id problems at once: coupons with a partner payer,
    // and a bad order id or coupon id.
    let tangled = select(vec![json!("bad id"), json!("O1-C1")]).prop_flat_map(|order| {
        let coupons = select(vec![json!(["K1"]), json!(["K 1"]), json!(["K1", "bad id"])]);
        coupons.prop_map(move |coupons| {
            let body =
                object(vec![("op", json!("pay_order")), ("order", order.clone()), ("coupons", coupons), ("payer", json!("partner"))]);
            ("partner:D1".to_owned(), body)
        })
    });
    prop_oneof![40 => commerce_customer().prop_flat_map(pay_order_for), 1 => tangled]
}

fn pay_order_for(customer: String) -> BoxedStrategy<Body> {
    let payer = prop_oneof![6 => Just(None), 1 => Just(Some("customer")), 3 => Just(Some("partner")), 1 => Just(Some("bank"))];
    (Just(customer), payer)
        .prop_flat_map(|(customer, payer)| {
            let partners = partners_of(&customer);
            let own = format!("customer:{customer}");
            let actor = if payer == Some("partner") {
                prop_oneof![8 => select(partners).prop_map(|partner| format!("partner:{partner}")), 1 => Just(own), 1 => any_actor()].boxed()
            } else {
                prop_oneof![8 => Just(own), 1 => Just("platform".to_owned()), 1 => any_actor()].boxed()
            };
            let placeholders = {
                let customer = customer.clone();
                proptest::collection::vec(0usize..100, 0..4)
                    .prop_map(move |picks| picks.into_iter().map(|index| format!("#coupon:{customer}:{index}")).collect::<Vec<_>>())
            };
            let coupons = prop_oneof![
                5 => Just(None),
                8 => placeholders.prop_map(Some),
                2 => proptest::sample::subsequence(COUPONS.to_vec(), 0..4).prop_map(|ids| Some(ids.into_iter().map(str::to_owned).collect())),
                1 => proptest::collection::vec(select(&COUPONS[..]).prop_map(str::to_owned), 2..5).prop_map(Some),
                1 => Just(Some(vec!["K 1".to_owned(), "K1".to_owned(), "K1".to_owned()])),
            ];
            let target = if payer == Some("partner") { requested_target(&customer) } else { pending_target(&customer) };
            // (v2) A discount: the customer's own (DC1 is C3's, DC2 C1's in the cast), another,
            // or a bad id.
            let discount = prop_oneof![
                12 => Just(None),
                4 => select(&DISCOUNTS[..]).prop_map(Some),
                1 => Just(Some("bad id")),
            ];
            (actor, target, coupons, Just(payer), discount)
        })
        .prop_map(|(actor, order, coupons, payer, discount)| {
            let mut body = object(vec![("op", json!("pay_order")), ("order", json!(order))]);
            // A partner pays without coupons, mostly; coupons and a discount together now and
            // then (`invalid_request`).
            let coupons = if payer == Some("partner") { coupons.filter(|_| order.ends_with("-C5")) } else { coupons };
            let coupons = if discount.is_some() { coupons.filter(|_| order.ends_with("-C4")) } else { coupons };
            let discount = if payer == Some("partner") { discount.filter(|_| order.ends_with("-C2")) } else { discount };
            if let Some(discount) = discount {
                body.insert("discount".to_owned(), json!(discount));
            }
            if let Some(coupons) = coupons {
                body.insert("coupons".to_owned(), json!(coupons));
            }
            if let Some(payer) = payer {
                body.insert("payer".to_owned(), json!(payer));
            }
            (actor, body)
        })
        .boxed()
}

fn cancel_order() -> impl Strategy<Value = Body> {
    commerce_customer().prop_flat_map(cancel_order_for)
}

fn cancel_order_for(customer: String) -> BoxedStrategy<Body> {
    (actor_for(customer.clone(), 0), pending_target(&customer))
        .prop_map(|((actor, _), order)| {
            let actor = if actor.starts_with("partner:") { "platform".to_owned() } else { actor };
            (actor, object(vec![("op", json!("cancel_order")), ("order", json!(order))]))
        })
        .boxed()
}

fn unsubscribe() -> impl Strategy<Value = Body> {
    commerce_customer().prop_flat_map(unsubscribe_for)
}

fn unsubscribe_for(customer: String) -> BoxedStrategy<Body> {
    let refund = prop_oneof![
        6 => select(vec!["#refundable:100", "#refundable:50", "#refundable:1", "#refundable:+1"]).prop_map(|text| json!(text)),
        4 => select(vec!["1", "5", "10.5", "25.25", "60", "100", "250"]).prop_map(|text| json!(text)),
        1 => amount(),
    ];
    let order = |customer: &str| {
        let own = customer.to_owned();
        prop_oneof![7 => (0usize..100).prop_map(move |index| format!("#order:{own}:paid:{index}")), 3 => order_target(customer)]
    };
    ((actor_for(customer.clone(), 0), order(&customer)), refund)
        .prop_map(|(((actor, _), order), refund)| {
            let actor = if actor.starts_with("partner:") { "platform".to_owned() } else { actor };
            (actor, object(vec![("op", json!("unsubscribe")), ("order", json!(order)), ("refund", refund)]))
        })
        .boxed()
}

fn usage_amount() -> impl Strategy<Value = Value> {
    let valid = vec!["0.01", "0.015", "1.23456789", "5", "12.5", "40.00000001", "99.999", "150", "0000.10"];
    let invalid = vec!["0.001", "0", "0.00999999", "1.123456789", "-1", "1e2", "", "1000000000000"];
    prop_oneof![
        20 => select(valid).prop_map(|text| json!(text)),
        2 => select(invalid).prop_map(|text| json!(text)),
        1 => Just(json!(1.5)),
    ]
}

fn consume() -> impl Strategy<Value = Body> {
    (admin_actor(), commerce_customer(), usage_amount(), service()).prop_map(|(actor, customer, amount, service)| {
        let mut body = object(vec![("op", json!("consume")), ("customer", json!(customer)), ("amount", amount)]);
        if let Some(service) = service {
            body.insert("service".to_owned(), json!(service));
        }
        (actor, body)
    })
}

fn owner_short(party: &str) -> &str {
    party.split_once(':').map_or(party, |(_, id)| id)
}

fn request_withdrawal() -> impl Strategy<Value = Body> {
    let withdrawal_amount = prop_oneof![20 => select(vec!["1", "10", "50", "100", "500"]).prop_map(|text| json!(text)), 1 => amount()];
    (select(&PAYING[..]), 1usize..=3, withdrawal_amount, prop_oneof![10 => Just(None), 1 => any_actor().prop_map(Some)]).prop_map(
        |(party, k, amount, actor)| {
            let body = object(vec![
                ("op", json!("request_withdrawal")),
                ("withdrawal", json!(format!("W{k}-{}", owner_short(party)))),
                ("party", json!(party)),
                ("amount", amount),
            ]);
            (actor.unwrap_or_else(|| party.to_owned()), body)
        },
    )
}

fn settle_withdrawal() -> impl Strategy<Value = Body> {
    let reason = prop_oneof![10 => Just(Some("checked".to_owned())), 1 => Just(None), 1 => Just(Some("x".repeat(257)))];
    let withdrawal = prop_oneof![
        7 => (0usize..100).prop_map(|index| format!("#withdrawal:pending:{index}")),
        3 => (select(&PAYING[..]), 1usize..=3).prop_map(|(party, k)| format!("W{k}-{}", owner_short(party))),
    ];
    (admin_actor(), withdrawal, prop::bool::ANY, reason).prop_map(|(actor, withdrawal, approve, reason)| {
        let mut body = object(vec![
            ("op", json!(if approve { "approve_withdrawal" } else { "reject_withdrawal" })),
            ("withdrawal", json!(withdrawal)),
        ]);
        if let (false, Some(reason)) = (approve, reason) {
            body.insert("reason".to_owned(), json!(reason));
        }
        (actor, body)
    })
}

fn delete_withdrawal() -> impl Strategy<Value = Body> {
    let known = ((0usize..100), prop_oneof![8 => Just("#owner".to_owned()), 1 => any_actor()])
        .prop_map(|(index, actor)| (actor, format!("#withdrawal:{}:{index}", if index % 5 == 0 { "pending" } else { "rejected" })));
    let pooled = (select(&PAYING[..]), 1usize..=3).prop_map(|(party, k)| (party.to_owned(), format!("W{k}-{}", owner_short(party))));
    prop_oneof![6 => known, 4 => pooled]
        .prop_map(|(actor, withdrawal)| (actor, object(vec![("op", json!("delete_withdrawal")), ("withdrawal", json!(withdrawal))])))
}

fn association_change() -> impl Strategy<Value = Body> {
    (commerce_customer(), prop::bool::weighted(0.4), association())
        .prop_flat_map(|(customer, unbind, association)| {
            let partners = partners_of(&customer);
            let actor = prop_oneof![
                6 => select(partners).prop_map(|partner| format!("partner:{partner}")),
                if unbind { 3 } else { 1 } => Just("platform".to_owned()),
                1 => any_actor(),
            ];
            (actor, Just((customer, unbind, association)))
        })
        .prop_map(|(actor, (customer, unbind, association))| {
            let body = if unbind {
                object(vec![("op", json!("unbind")), ("customer", json!(customer))])
            } else {
                object(vec![("op", json!("switch_association")), ("customer", json!(customer)), ("association", json!(association))])
            };
            (actor, body)
        })
}

fn request_invoice() -> impl Strategy<Value = Body> {
    select(&PAYING[..]).prop_flat_map(|party| request_invoice_for(party.to_owned()))
}

fn request_invoice_for(party: String) -> BoxedStrategy<Body> {
    let invoice_amount = prop_oneof![
        6 => select(vec!["#invoiceable:100", "#invoiceable:50", "#invoiceable:10", "#invoiceable:+1"]).prop_map(|text| json!(text)),
        4 => select(vec!["1", "5", "10", "50", "100", "500"]).prop_map(|text| json!(text)),
        1 => amount(),
    ];
    // (v2) By billing cycles or by bills (`#bill:<pick>`: the party's own bills first, then
    // others), now and then with two bases or none.
    let cycles = prop_oneof![
        8 => select(vec![json!(["2026-01"]), json!(["2026-01", "2026-02"]), json!(["2026-02"]), json!(["2025-12"])]),
        1 => select(vec![json!([]), json!(["2026-13"]), json!(["2026-1"]), json!(["2026-01", "2026-01"]), json!("2026-01")]),
    ];
    let bills = prop_oneof![
        8 => proptest::collection::vec(0usize..6, 1..4).prop_map(|picks| json!(picks.into_iter().map(|pick| format!("#bill:{pick}")).collect::<Vec<_>>())),
        2 => proptest::collection::vec(0usize..40, 1..3).prop_map(|picks| json!(picks.into_iter().map(|pick| format!("#bill:{pick}")).collect::<Vec<_>>())),
        1 => select(vec![json!([]), json!(["bad id"]), json!(["O1-C1", "O1-C1"]), json!(["nothing"])]),
    ];
    let basis = prop_oneof![
        10 => invoice_amount.prop_map(|amount| vec![("amount", amount)]),
        4 => cycles.prop_map(|cycles| vec![("cycles", cycles)]),
        4 => bills.prop_map(|bills| vec![("bills", bills)]),
        1 => Just(vec![("amount", json!("1")), ("cycles", json!(["2026-01"]))]),
        1 => Just(Vec::new()),
    ];
    (Just(party), 1usize..=4, basis, prop_oneof![8 => Just(None), 2 => admin_actor().prop_map(Some)])
        .prop_map(|(party, k, basis, actor)| {
            let mut body = object(vec![
                ("op", json!("request_invoice")),
                ("invoice", json!(format!("I{k}-{}", owner_short(&party)))),
                ("party", json!(party)),
            ]);
            for (field, value) in basis {
                body.insert(field.to_owned(), value);
            }
            (actor.unwrap_or_else(|| party.clone()), body)
        })
        .boxed()
}

fn return_invoice() -> impl Strategy<Value = Body> {
    let known = ((0usize..100), prop_oneof![5 => Just("#owner".to_owned()), 4 => admin_actor()])
        .prop_map(|(index, actor)| (actor, format!("#invoice:{index}")));
    let pooled = (select(&PAYING[..]), 1usize..=4, prop_oneof![5 => Just(None), 5 => admin_actor().prop_map(Some)])
        .prop_map(|(party, k, actor)| (actor.unwrap_or_else(|| party.to_owned()), format!("I{k}-{}", owner_short(party))));
    prop_oneof![7 => known, 3 => pooled]
        .prop_map(|(actor, invoice)| (actor, object(vec![("op", json!("return_invoice")), ("invoice", json!(invoice))])))
}

// ---------------------------------------------------------------------------------------------
// Generation of operators, customer managers and partner payments (SPEC v2). Operators also act
// for their partners everywhere through `Step::Send::operator`.

/// Role lists: mostly valid (in any order), now and then empty, repeated, unknown or not a list.
fn roles(may_be_empty: bool) -> impl Strategy<Value = Value> {
    let valid = select(vec![
        json!(["admin"]),
        json!(["finance"]),
        json!(["customer_manager"]),
        json!(["customer_manager", "finance"]),
        json!(["finance", "customer_manager"]),
        json!(["admin", "customer_manager"]),
        json!(["finance", "admin", "customer_manager"]),
    ]);
    let invalid = select(vec![json!(["finance", "finance"]), json!(["boss"]), json!("admin"), json!([7]), Value::Null]);
    prop_oneof![16 => valid, if may_be_empty { 4 } else { 1 } => Just(json!([])), 1 => invalid]
}

fn register_operator() -> impl Strategy<Value = Body> {
    let natural = select(vec![
        ("platform", "D1"),
        ("platform", "S1"),
        ("platform", "R1"),
        ("platform", "D2"),
        ("partner:D1", "D1"),
        ("partner:S1", "S1"),
        ("partner:R1", "R1"),
        ("operator:A1", "D1"),
        ("partner:D1", "R1"),
        ("operator:F1", "D1"),
    ])
    .prop_map(|(actor, partner)| (actor.to_owned(), partner.to_owned()));
    let random = (any_actor(), partner_id());
    let operator = prop_oneof![8 => select(vec!["N1", "N2", "N3"]).prop_map(str::to_owned), 3 => operator_id()];
    (prop_oneof![6 => natural, 1 => random], operator, roles(false)).prop_map(|((actor, partner), operator, roles)| {
        let body =
            object(vec![("op", json!("register_operator")), ("operator", json!(operator)), ("partner", json!(partner)), ("roles", roles)]);
        (actor, body)
    })
}

fn set_operator_roles() -> impl Strategy<Value = Body> {
    let actor = prop_oneof![
        4 => Just("platform".to_owned()),
        4 => select(vec!["partner:D1", "operator:A1", "partner:S1", "partner:R1"]).prop_map(str::to_owned),
        1 => any_actor(),
    ];
    (actor, operator_id(), roles(true)).prop_map(|(actor, operator, roles)| {
        (actor, object(vec![("op", json!("set_operator_roles")), ("operator", json!(operator)), ("roles", roles)]))
    })
}

fn assign_customer_manager() -> impl Strategy<Value = Body> {
    commerce_customer()
        .prop_flat_map(|customer| {
            let partners = partners_of(&customer);
            let actor = prop_oneof![
                4 => Just("platform".to_owned()),
                4 => select(partners).prop_map(|partner| format!("partner:{partner}")),
                2 => Just("operator:A1".to_owned()),
                1 => any_actor(),
            ];
            let operator = prop_oneof![
                8 => select(vec!["M1", "F3", "N1", "N2", "A1"]).prop_map(|id| Some(json!(id))),
                3 => Just(Some(Value::Null)),
                1 => Just(None),
                1 => select(vec![json!("bad id"), json!(7), json!("Z9")]).prop_map(Some),
            ];
            (actor, Just(customer), operator)
        })
        .prop_map(|(actor, customer, operator)| {
            let mut body = object(vec![("op", json!("assign_customer_manager")), ("customer", json!(customer))]);
            if let Some(operator) = operator {
                body.insert("operator".to_owned(), operator);
            }
            (actor, body)
        })
}

/// A pending order or combined order of `customer` whose partner was asked to pay (mostly one
/// that exists), or any pending one.
fn requested_target(customer: &str) -> BoxedStrategy<String> {
    let own = customer.to_owned();
    prop_oneof![8 => (0usize..100).prop_map(move |index| format!("#target:{own}:requested:{index}")), 2 => pending_target(customer)].boxed()
}

fn request_partner_payment() -> impl Strategy<Value = Body> {
    commerce_customer().prop_flat_map(|customer| {
        (actor_for(customer.clone(), 1), pending_target(&customer))
            .prop_map(|((actor, _), order)| (actor, object(vec![("op", json!("request_partner_payment")), ("order", json!(order))])))
    })
}

fn reject_partner_payment() -> impl Strategy<Value = Body> {
    commerce_customer().prop_flat_map(|customer| {
        let partners = partners_of(&customer);
        let actor = prop_oneof![
            8 => select(partners).prop_map(|partner| format!("partner:{partner}")),
            1 => Just(format!("customer:{customer}")),
            1 => any_actor(),
        ];
        let reason = prop_oneof![10 => Just(Some("no budget".to_owned())), 1 => Just(None), 1 => Just(Some("x".repeat(257)))];
        (actor, requested_target(&customer), reason).prop_map(|(actor, order, reason)| {
            let mut body = object(vec![("op", json!("reject_partner_payment")), ("order", json!(order))]);
            if let Some(reason) = reason {
                body.insert("reason".to_owned(), json!(reason));
            }
            (actor, body)
        })
    })
}

/// A body sent as-is by `actor`.
fn fixed(actor: &str, body: Value) -> BoxedStrategy<Step> {
    let Value::Object(body) = body else { unreachable!("bodies are objects") };
    plain(Just((actor.to_owned(), body)).boxed())
}

/// A partner payment (代付): the customer orders and asks its partner; then the partner pays,
/// or rejects (and the customer pays itself or asks again), or the customer tries to pay while
/// the request is open, or it is cancelled, or the partner tries to unbind; then refunds and
/// invoices (a referral customer's partner-paid bill is the customer's to invoice).
fn partner_payment_flow() -> impl Strategy<Value = Step> {
    (select(vec!["C1", "C2", "C3", "C3", "C4"]), 1usize..=5, small_money(), service()).prop_flat_map(|(customer, k, amount, service)| {
        let order = order_of(customer, k);
        let own = format!("customer:{customer}");
        let partner = format!("partner:{}", partners_of(customer)[0]);
        let mut place = json!({"op": "place_order", "order": order, "customer": customer, "amount": amount, "kind": "new"});
        if let Some(service) = service {
            place["service"] = json!(service);
        }
        let ask = json!({"op": "request_partner_payment", "order": order});
        let partner_pays = json!({"op": "pay_order", "order": order, "payer": "partner"});
        let customer_pays = json!({"op": "pay_order", "order": order});
        let reject = json!({"op": "reject_partner_payment", "order": order, "reason": "over budget"});
        let then = prop_oneof![
            4 => Just(vec![fixed(&partner, partner_pays.clone())]),
            3 => Just(vec![fixed(&partner, reject.clone()), fixed(&own, customer_pays.clone())]),
            1 => Just(vec![fixed(&partner, reject), fixed(&own, ask.clone()), fixed(&partner, partner_pays)]),
            1 => Just(vec![fixed(&own, customer_pays)]),
            1 => Just(vec![fixed(&own, json!({"op": "cancel_order", "order": order}))]),
            1 => Just(vec![fixed(&partner, json!({"op": "unbind", "customer": customer}))]),
        ];
        let after = prop_oneof![
            3 => Just(Vec::new()),
            2 => Just(vec![fixed(&own, json!({"op": "unsubscribe", "order": order, "refund": "#refundable:100"}))]),
            2 => Just(vec![fixed(&own, json!({"op": "request_invoice", "invoice": format!("I{k}-{customer}"), "party": own, "amount": "#invoiceable:100"}))]),
            1 => Just(vec![fixed(&partner, json!({"op": "request_invoice", "invoice": format!("I{k}-P{customer}"), "party": partner, "amount": "#invoiceable:100"}))]),
        ];
        (Just(vec![fixed(&own, place), fixed(&own, ask)]), then, after)
    })
    .prop_flat_map(|(start, then, after)| {
        let steps: Vec<BoxedStrategy<Step>> = start.into_iter().chain(then).chain(after).collect();
        steps.prop_map(Step::Flow)
    })
}

/// A resale customer pays from its partner's `allocated`, loses the association (unbind or a
/// switch to referral, by its partner or the platform), maybe joins a partner again, and the
/// order is refunded: the allocated part goes back to the customer's `allocated` while it is a
/// resale customer of the funding partner, else to that partner's cash (`refund_reclaim`).
fn refund_reclaim_flow() -> impl Strategy<Value = Step> {
    let ends = prop_oneof![
        3 => Just(("unbind", "partner")),
        2 => Just(("unbind", "platform")),
        2 => Just(("switch", "partner")),
        1 => Just(("none", "partner")),
    ];
    let again = prop_oneof![3 => Just(None), 2 => Just(Some("same")), 1 => Just(Some("D2")), 1 => Just(Some("referral"))];
    (select(vec!["C1", "C2"]), 1usize..=5, select(vec!["10", "60", "100", "250"]), ends, again, select(vec!["100", "50", "+1"])).prop_map(
        |(customer, k, amount, (end, by), again, refund)| {
            let order = order_of(customer, k);
            let own = format!("customer:{customer}");
            let partner = if customer == "C1" { "D1" } else { "R1" };
            let actor = if by == "platform" { "platform".to_owned() } else { format!("partner:{partner}") };
            let mut steps = vec![
                fixed(&own, json!({"op": "place_order", "order": order, "customer": customer, "amount": amount, "kind": "new"})),
                fixed(&own, json!({"op": "pay_order", "order": order})),
            ];
            match end {
                "unbind" => steps.push(fixed(&actor, json!({"op": "unbind", "customer": customer}))),
                "switch" => steps.push(fixed(&actor, json!({"op": "switch_association", "customer": customer, "association": "referral"}))),
                _ => {}
            }
            let associate = |partner: &str, association: &str| {
                json!({"op": "associate", "customer": customer, "partner": partner, "association": association})
            };
            match again {
                Some("same") => steps.push(fixed("platform", associate(partner, "resale"))),
                Some("D2") => steps.push(fixed("platform", associate("D2", "resale"))),
                Some(_) => steps.push(fixed("platform", associate(partner, "referral"))),
                None => {}
            }
            steps.push(fixed(&own, json!({"op": "unsubscribe", "order": order, "refund": format!("#refundable:{refund}")})));
            steps
        },
    )
    .prop_flat_map(|steps| steps.prop_map(Step::Flow))
}

/// Withdrawals of own cash: a compensation (to resale customers too), maybe an invoice of all
/// that is invoiceable before it (the compensation then leaves the party over-invoiced, 欠票),
/// a withdrawal of some, all or more than the withdrawable amount, and a second one while the
/// first is pending; then a settlement.
fn withdrawal_flow() -> impl Strategy<Value = Step> {
    let parties = select(vec!["customer:C1", "customer:C2", "customer:C3", "customer:C4", "partner:S1", "partner:D1", "partner:R1"]);
    (parties, 1usize..=3, prop::bool::weighted(0.5), select(vec!["5", "30", "100"]), select(vec!["100", "50", "+1"]), 0usize..4)
        .prop_map(|(party, k, invoice_first, compensation, share, end)| {
            let owner = owner_short(party);
            let mut steps = Vec::new();
            if invoice_first {
                let invoice =
                    json!({"op": "request_invoice", "invoice": format!("I{k}-{owner}"), "party": party, "amount": "#invoiceable:100"});
                steps.push(fixed(party, invoice));
            }
            let compensate = json!({"op": "adjust", "party": party, "direction": "compensate", "amount": compensation, "reason": "sla"});
            steps.push(fixed("platform", compensate));
            let withdrawal = format!("W{k}-{owner}");
            let request = |id: &str, amount: &str| json!({"op": "request_withdrawal", "withdrawal": id, "party": party, "amount": amount});
            steps.push(fixed(party, request(&withdrawal, &format!("#withdrawable:{share}"))));
            steps.push(fixed(party, request(&format!("W{}-{owner}", k % 3 + 1), "1")));
            match end {
                0 => steps.push(fixed("platform", json!({"op": "approve_withdrawal", "withdrawal": withdrawal}))),
                1 => steps.push(fixed("platform", json!({"op": "reject_withdrawal", "withdrawal": withdrawal, "reason": "no"}))),
                _ => {}
            }
            steps
        })
        .prop_flat_map(|steps| steps.prop_map(Step::Flow))
}

/// An operator's life: registered (by the platform, its partner or an admin), made a customer
/// manager, acting (funds as finance, anything as admin), its roles changed or taken away.
fn operator_flow() -> impl Strategy<Value = Step> {
    let setups =
        select(vec![("D1", "partner:D1", "C1"), ("D1", "operator:A1", "C1"), ("S1", "platform", "C3"), ("R1", "partner:R1", "C2")]);
    (setups, select(vec!["N1", "N2"]), roles(false), roles(true), 0usize..4, small_amount()).prop_map(
        |((partner, manager, customer), operator, roles, later_roles, act, amount)| {
            let actor = format!("operator:{operator}");
            let mut steps = vec![
                fixed(manager, json!({"op": "register_operator", "operator": operator, "partner": partner, "roles": roles})),
                fixed(manager, json!({"op": "assign_customer_manager", "customer": customer, "operator": operator})),
            ];
            let acts = [
                json!({"op": "allocate", "to": format!("customer:{customer}"), "amount": amount}),
                json!({"op": "request_withdrawal", "withdrawal": format!("W3-{partner}"), "party": format!("partner:{partner}"), "amount": "1"}),
                json!({"op": "reject_partner_payment", "order": format!("#target:{customer}:requested:0"), "reason": "r"}),
                json!({"op": "pay_order", "order": format!("#target:{customer}:requested:0"), "payer": "partner"}),
            ];
            steps.push(fixed(&actor, acts[act].clone()));
            steps.push(fixed(manager, json!({"op": "set_operator_roles", "operator": operator, "roles": later_roles})));
            steps.push(fixed(&actor, acts[(act + 1) % acts.len()].clone()));
            steps
        },
    )
    .prop_flat_map(|steps| steps.prop_map(Step::Flow))
}

/// Usage drawing coupons first (SPEC 3 `consume`, v2): a coupon for a resale customer, then usage
/// with or without a service.
fn usage_flow() -> impl Strategy<Value = Step> {
    let issues = select(vec![("partner:D1", "Q1", "C1"), ("partner:R1", "Q3", "C2"), ("partner:D1", "Q2", "C1")]);
    (issues, select(&COUPONS[..]), services(), usage_amount(), service())
        .prop_map(|((issuer, quota, customer), coupon, services, amount, service)| {
            let mut issue = json!({"op": "issue_coupon", "coupon": coupon, "quota": quota, "customer": customer, "face_value": "20"});
            if let Some(services) = services {
                issue["services"] = services;
            }
            let mut usage = json!({"op": "consume", "customer": customer, "amount": amount});
            if let Some(service) = service {
                usage["service"] = json!(service);
            }
            vec![fixed(issuer, issue), fixed("platform", usage)]
        })
        .prop_flat_map(|steps| steps.prop_map(Step::Flow))
}

/// (v2 part 2) A pickup voucher from D1's pickup quota Q5 for C1 (or a discount DC1..DC4 granted
/// to the customer), an order placed and paid with it, then an unbind or a switch to referral
/// (blocked while a pickup voucher is usable), or an invoice by cycles or by bills, or usage.
fn pickup_discount_flow() -> impl Strategy<Value = Step> {
    let pickup = (select(&COUPONS[..]), select(vec!["0.3", "0.5", "1", "0.01"]), pickup_terms(), select(vec!["20", "100", "600"]))
        .prop_map(|(coupon, ratio, (_, kinds), face)| {
            let mut issue =
                json!({"op": "issue_coupon", "coupon": coupon, "quota": "Q5", "customer": "C1", "face_value": face, "ratio": ratio});
            if let Some(kinds) = kinds {
                issue["order_kinds"] = kinds;
            }
            ("C1", "partner:D1", issue, json!({"coupons": [coupon]}))
        });
    let discount = (select(vec!["C1", "C3", "C4"]), select(&DISCOUNTS[2..]), select(vec!["0.85", "0.5", "0.01", "1", "0.33"]), services())
        .prop_map(|(customer, discount, ratio, services)| {
            let mut grant = json!({"op": "grant_discount", "discount": discount, "customer": customer, "ratio": ratio,
                "valid_from": "@-60", "valid_until": "@10080"});
            if let Some(services) = services {
                grant["services"] = services;
            }
            (customer, "platform", grant, json!({"discount": discount}))
        });
    let start = prop_oneof![3 => pickup, 2 => discount];
    (start, 1usize..=5, small_money(), order_kind(), service(), 0usize..6, proptest::collection::vec(0usize..5, 1..3)).prop_flat_map(
        |((customer, issuer, issue, with), k, amount, kind, service, then, picks)| {
            let order = order_of(customer, k);
            let own = format!("customer:{customer}");
            let mut place = json!({"op": "place_order", "order": order, "customer": customer, "amount": amount, "kind": kind});
            if let Some(service) = service {
                place["service"] = json!(service);
            }
            let mut pay = json!({"op": "pay_order", "order": order});
            if let (Value::Object(pay), Value::Object(with)) = (&mut pay, with) {
                pay.extend(with);
            }
            let partner = format!("partner:{}", partners_of(customer)[0]);
            let bills: Vec<String> = picks.into_iter().map(|pick| format!("#bill:{pick}")).collect();
            let after = match then {
                0 => json!({"op": "unbind", "customer": customer}),
                1 => json!({"op": "switch_association", "customer": customer, "association": "referral"}),
                2 => {
                    json!({"op": "request_invoice", "invoice": format!("I{k}-{customer}"), "party": own, "cycles": ["2026-01", "2026-02"]})
                }
                3 => json!({"op": "request_invoice", "invoice": format!("I{k}-{customer}"), "party": own, "bills": bills}),
                4 => json!({"op": "consume", "customer": customer, "amount": "7.5"}),
                _ => json!({"op": "unsubscribe", "order": order, "refund": "#refundable:100"}),
            };
            let after_actor = match then {
                0 | 1 => partner,
                4 => "platform".to_owned(),
                _ => own.clone(),
            };
            vec![fixed(issuer, issue), fixed(&own, place), fixed(&own, pay), fixed(&after_actor, after)].prop_map(Step::Flow)
        },
    )
}

/// Groups of commerce commands: a customer ordering and paying at once, usage charged in bulk,
/// a distributor issuing and funding.
fn commerce_group() -> impl Strategy<Value = Body> {
    let buy = (select(vec!["C3", "C4", "C1"]), order_index(), small_money(), proptest::collection::vec(select(&COUPONS[..]), 0..2))
        .prop_map(|(customer, k, amount, coupons)| {
            let order = order_of(customer, k);
            let commands = vec![
                json!({"op": "place_order", "order": order, "customer": customer, "amount": amount, "kind": "new", "service": "ecs"}),
                json!({"op": "pay_order", "order": order, "coupons": coupons}),
            ];
            (format!("customer:{customer}"), commands)
        });
    let usage = proptest::collection::vec((select(&CUSTOMERS[..]), usage_amount()), 1..4).prop_map(|charges| {
        let commands =
            charges.into_iter().map(|(customer, amount)| json!({"op": "consume", "customer": customer, "amount": amount})).collect();
        ("platform".to_owned(), commands)
    });
    let issue = (select(&COUPONS[..]), select(vec!["Q1", "Q2", "Q5"]), small_money()).prop_map(|(coupon, quota, amount)| {
        let commands = vec![
            json!({"op": "issue_coupon", "coupon": coupon, "quota": quota, "customer": "C1", "face_value": "20"}),
            json!({"op": "allocate", "to": "customer:C1", "amount": amount}),
        ];
        ("partner:D1".to_owned(), commands)
    });
    // A customer ordering and asking its partner to pay at once.
    let ask = (select(vec!["C2", "C3", "C1"]), order_index(), small_money()).prop_map(|(customer, k, amount)| {
        let order = order_of(customer, k);
        let commands = vec![
            json!({"op": "place_order", "order": order, "customer": customer, "amount": amount, "kind": "new"}),
            json!({"op": "request_partner_payment", "order": order}),
        ];
        (format!("customer:{customer}"), commands)
    });
    // A partner (or its finance operator) answering a request and funding in one go (a
    // referral customer cannot be funded: that member then fails the group).
    let answers = vec![
        ("partner:R1", "C2"),
        ("partner:S1", "C3"),
        ("partner:D1", "C1"),
        ("operator:F1", "C1"),
        ("operator:F3", "C3"),
        ("partner:D1", "C2"),
    ];
    let answer = (select(answers), prop::bool::ANY, 0usize..100, prop::bool::weighted(0.4), small_amount()).prop_map(
        |((actor, customer), pays, index, fund, amount)| {
            let target = format!("#target:{customer}:requested:{index}");
            let mut commands = vec![if pays {
                json!({"op": "pay_order", "order": target, "payer": "partner"})
            } else {
                json!({"op": "reject_partner_payment", "order": target, "reason": "r"})
            }];
            if fund {
                commands.insert(0, json!({"op": "allocate", "to": format!("customer:{customer}"), "amount": amount}));
            }
            (actor.to_owned(), commands)
        },
    );
    // Operators registered, given roles and assigned customers in one go.
    let staff = (select(vec!["platform", "partner:D1", "operator:A1"]), select(vec!["N1", "N2"]), roles(false), roles(true)).prop_map(
        |(actor, operator, roles, later)| {
            let commands = vec![
                json!({"op": "register_operator", "operator": operator, "partner": "D1", "roles": roles}),
                json!({"op": "assign_customer_manager", "customer": "C1", "operator": operator}),
                json!({"op": "set_operator_roles", "operator": operator, "roles": later}),
            ];
            (actor.to_owned(), commands)
        },
    );
    prop_oneof![buy, usage, issue, ask, answer, staff]
        .prop_map(|(actor, commands)| (actor, object(vec![("op", json!("atomic")), ("commands", Value::Array(commands))])))
}

fn command() -> impl Strategy<Value = Body> {
    let foundation: Vec<(u32, BoxedStrategy<Body>)> = vec![
        (2, boxed((admin_actor(), register_partner()))),
        (2, boxed((prop_oneof![5 => Just("platform".to_owned()), 5 => partner_actor()], register_customer()))),
        (2, boxed((admin_actor(), associate()))),
        (5, boxed((admin_actor(), party_amount("recharge")))),
        (5, boxed(transfer("allocate"))),
        (2, boxed(transfer("recover"))),
        (2, boxed((admin_actor(), set_credit_limit()))),
        (1, boxed((any_actor().boxed(), party_amount("repay_credit")))),
        (2, boxed((admin_actor(), adjust()))),
        (2, boxed(atomic())),
    ];
    let commerce: Vec<(u32, BoxedStrategy<Body>)> = vec![
        (3, boxed(issue_quota())),
        (1, boxed(reclaim_quota())),
        (2, boxed(whitelist_customer())),
        (5, boxed(issue_coupon())),
        (1, boxed(reclaim_coupon())),
        (1, boxed(expire_coupons())),
        (8, boxed(place_order())),
        (2, boxed(place_combined_order())),
        (10, boxed(pay_order())),
        (1, boxed(cancel_order())),
        (3, boxed(unsubscribe())),
        (3, boxed(consume())),
        (2, boxed(request_withdrawal())),
        (2, boxed(settle_withdrawal())),
        (1, boxed(delete_withdrawal())),
        (2, boxed(association_change())),
        (3, boxed(request_invoice())),
        (1, boxed(return_invoice())),
        (3, boxed(commerce_group())),
    ];
    let v2: Vec<(u32, BoxedStrategy<Body>)> = vec![
        (2, boxed(register_operator())),
        (1, boxed(set_operator_roles())),
        (2, boxed(assign_customer_manager())),
        (4, boxed(request_partner_payment())),
        (2, boxed(reject_partner_payment())),
        (3, boxed(discount_command())),
    ];
    Union::new_weighted(foundation.into_iter().chain(commerce).chain(v2).collect())
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
        // Days pass: coupons and quotas expire, pay deadlines go by.
        2 => (1i64..8, prop::bool::weighted(0.1)).prop_map(|(days, offset)| At::Delta(days * 1440, offset)),
        1 => select(vec!["2026-01-01 00:00:00Z", "yesterday", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00.0001Z"]).prop_map(At::Invalid),
    ];
    let corruption = prop_oneof![
        80 => Just(Corruption::None),
        1 => Just(Corruption::UnknownField),
        1 => any::<Index>().prop_map(Corruption::DropField),
        1 => any::<Index>().prop_map(Corruption::WrongType),
    ];
    let operator = prop_oneof![5 => Just(None), 1 => any::<Index>().prop_map(Some)];
    let send = (request, command(), operator, at, corruption).prop_map(|(request, (actor, body), operator, at, corruption)| Step::Send {
        request,
        actor,
        operator,
        at,
        body,
        corruption,
    });
    let garbage = select(vec![
        "not json",
        "[]",
        "{}",
        r#"{"op":"fly","id":"g1","actor":"platform"}"#,
        r#"{"op":"recharge","id":"g2"}"#,
        r#"{"op":"recharge","id":"g3","actor":"platform","party":"partner:D1","amount":"1","amount2":"1"}"#,
        r#"{"op":"recharge","id":"g4","actor":"platform","party":"partner:D1","amount":"1","amount":"2"}"#,
        r#"{"op":"atomic","id":"g5","actor":"platform","commands":[{"op":"expire_coupons"},{"op":"expire_coupons","op":"expire_coupons"}]}"#,
        r#"{"op":"consume","id":"g6","actor":"platform","customer":"C3","amount":"1","service":"a\"b","\u0073ervice":"x"}"#,
    ]);
    prop_oneof![
        60 => send,
        8 => (any::<Index>(), any::<bool>()).prop_map(|(pick, reformat)| Step::Replay { pick, reformat }),
        6 => flow(),
        3 => partner_payment_flow(),
        2 => refund_reclaim_flow(),
        2 => withdrawal_flow(),
        1 => operator_flow(),
        1 => usage_flow(),
        3 => pickup_discount_flow(),
        1 => garbage.prop_map(Step::Garbage),
    ]
}

/// Plain sends: a fresh id, a time a little later, no corruption; now and then by an operator.
fn plain(body: BoxedStrategy<Body>) -> BoxedStrategy<Step> {
    let at = prop_oneof![3 => Just(At::Absent), 6 => (0i64..30).prop_map(|minutes| At::Delta(minutes, false)), 1 => Just(At::Delta(2 * 1440, false))];
    let operator = prop_oneof![6 => Just(None), 1 => any::<Index>().prop_map(Some)];
    (body, at, operator)
        .prop_map(|((actor, body), at, operator)| Step::Send {
            request: RequestId::Fresh,
            actor,
            operator,
            at,
            body,
            corruption: Corruption::None,
        })
        .boxed()
}

/// A customer's order life: placed, paid, then cancelled, unsubscribed or invoiced.
fn flow() -> impl Strategy<Value = Step> {
    commerce_customer().prop_flat_map(|customer| {
        let payer = match customer.as_str() {
            "C1" => "customer:C1",
            "C2" => "customer:C2",
            "C3" => "customer:C3",
            _ => "customer:C4",
        };
        let after = prop_oneof![
            3 => plain(unsubscribe_for(customer.clone())),
            3 => plain(request_invoice_for(payer.to_owned())),
            1 => plain(cancel_order_for(customer.clone())),
            1 => plain(return_invoice().boxed()),
        ];
        (plain(place_order_for(customer.clone())), plain(pay_order_for(customer)), proptest::collection::vec(after, 0..3))
            .prop_map(|(place, pay, after)| Step::Flow([vec![place, pay], after].concat()))
    })
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

/// Formats a time in UTC, or as the same instant at UTC+08:00.
fn time_text(millis: i64, at_utc_8: bool) -> String {
    if at_utc_8 { format_time(millis + 8 * 3_600_000).replace('Z', "+08:00") } else { format_time(millis) }
}

/// Replaces every `@<minutes>` string in `value` by the time `minutes` after `base`.
fn resolve_times(value: &mut Value, base: i64) {
    match value {
        Value::String(text) if text.starts_with('@') => {
            if let Ok(minutes) = text[1..].parse::<i64>() {
                *text = format_time(base + minutes * 60_000);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| resolve_times(item, base)),
        Value::Object(map) => map.values_mut().for_each(|item| resolve_times(item, base)),
        _ => {}
    }
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
    /// The model after each commit, for `balance` with `as_of`.
    history: Vec<Model>,
}

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::default();
        clock.set(CLOCK);
        let ledger = Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock)).expect("open");
        let clock = parse_time(CLOCK).expect("valid clock");
        let model = Model::new(clock);
        Run {
            ledger: Some(ledger),
            dir,
            model,
            clock,
            sent: Vec::new(),
            ids: Vec::new(),
            fresh: 0,
            committed: HashMap::new(),
            history: Vec::new(),
        }
    }

    fn ledger(&self) -> &Ledger {
        self.ledger.as_ref().expect("ledger open")
    }

    fn query(&self, request: Value) -> Value {
        self.ledger().execute_line(&request.to_string()).to_json()
    }

    /// The later of the clock and the head: what commands without `at` use, and the base of
    /// relative times.
    fn now(&self) -> i64 {
        self.model.last_at().max(self.clock)
    }

    /// The line a step sends, or `None` when there is nothing to replay yet.
    fn line(&mut self, step: &Step) -> Option<String> {
        match step {
            Step::Garbage(line) => Some((*line).to_owned()),
            Step::Flow(_) => None,
            Step::Replay { pick, reformat } => {
                if self.sent.is_empty() {
                    return None;
                }
                let line = self.sent[pick.index(self.sent.len())].clone();
                if !reformat {
                    return Some(line);
                }
                let Ok(mut value) = serde_json::from_str::<Value>(&line) else { return Some(line) };
                for field in ["amount", "limit", "refund", "face_value"] {
                    if let Some(Value::String(text)) = value.get_mut(field)
                        && !text.contains('.')
                    {
                        text.push_str(".00");
                    }
                }
                Some(value.to_string())
            }
            Step::Send { request, actor, operator, at, body, corruption } => {
                let mut request_map = body.clone();
                let mut actor = actor.clone();
                self.resolve(&mut request_map, &mut actor);
                // A partner's operator acts instead of the partner (SPEC 2.1, v2).
                if let (Some(pick), Some(partner)) = (operator, actor.strip_prefix("partner:")) {
                    let operators = self.model.operators_of(partner);
                    if !operators.is_empty() {
                        actor = format!("operator:{}", operators[pick.index(operators.len())]);
                    }
                }
                let now = self.now();
                for value in request_map.values_mut() {
                    resolve_times(value, now);
                }
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
                        request_map.insert("at".to_owned(), json!(time_text((now + minutes * 60_000).max(self.clock), *offset)));
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

    /// Resolves the `#` placeholders of a body (and of the members of an atomic group) against
    /// the model's state, so that commands name orders, coupons, withdrawals and invoices that
    /// exist (falling back to a pool id): `#target:<customer>:<status>:<pick>` an order or
    /// combined order (status `requested`: pending with its partner asked to pay),
    /// `#order:...` an order, `#coupon:<customer>:<pick>`, `#withdrawal:<status>:<pick>`,
    /// `#invoice:<pick>`; amounts `#refundable:<percent or +1>` of the order named,
    /// `#invoiceable:<percent or +1>` and `#withdrawable:<percent or +1>` of the party named; the
    /// actor `#owner` is the owner of the withdrawal or invoice named.
    fn resolve(&self, body: &mut Map<String, Value>, actor: &mut String) {
        let owner = self.resolve_fields(body);
        if let Some(Value::Array(members)) = body.get_mut("commands") {
            for member in members.iter_mut() {
                if let Value::Object(member) = member {
                    self.resolve_fields(member);
                }
            }
        }
        if actor == "#owner" {
            *actor = owner.map_or_else(|| "platform".to_owned(), |owner| owner.text());
        }
    }

    /// Resolves the placeholders of one command; returns the owner of the withdrawal or invoice
    /// it names.
    fn resolve_fields(&self, body: &mut Map<String, Value>) -> Option<Party> {
        let mut owner: Option<Party> = None;
        let mut refundable = 0;
        let body_party = body.get("party").and_then(Value::as_str).map(str::to_owned);
        let pick = |items: Vec<String>, index: &str, fallback: String| -> String {
            let index: usize = index.parse().unwrap_or(0);
            if items.is_empty() { fallback } else { items[index % items.len()].clone() }
        };
        for field in ["order", "withdrawal", "invoice"] {
            let Some(Value::String(text)) = body.get(field).cloned() else { continue };
            let Some(spec) = text.strip_prefix('#') else { continue };
            let parts: Vec<&str> = spec.split(':').collect();
            let resolved = match parts.as_slice() {
                [what @ ("target" | "order"), customer, status, index] => {
                    let orders: Vec<OrderSummary> = self
                        .model
                        .order_summaries()
                        .into_iter()
                        .filter(|order| order.customer == *customer)
                        .filter(|order| match *status {
                            "requested" => order.status == "pending_payment" && order.partner_payment == Some("requested"),
                            status => order.status == status,
                        })
                        .collect();
                    let mut ids: Vec<String> = Vec::new();
                    for order in &orders {
                        let id = match (&order.combined, *what) {
                            (Some(combined), "target") => combined.clone(),
                            _ => order.id.clone(),
                        };
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    let id = pick(ids, index, format!("O1-{customer}"));
                    refundable = orders.iter().find(|order| order.id == id).map_or(0, |order| order.refundable);
                    id
                }
                ["withdrawal", status, index] => {
                    let withdrawals: Vec<_> =
                        self.model.withdrawal_summaries().into_iter().filter(|(_, _, shown)| shown == status).collect();
                    let id = pick(withdrawals.iter().map(|(id, _, _)| id.clone()).collect(), index, "W1-D1".to_owned());
                    owner = withdrawals.into_iter().find(|(other, _, _)| *other == id).map(|(_, party, _)| party);
                    id
                }
                ["invoice", index] => {
                    let invoices = self.model.invoice_summaries();
                    let id = pick(invoices.iter().map(|(id, _, _)| id.clone()).collect(), index, "I1-C3".to_owned());
                    owner = invoices.into_iter().find(|(other, _, _)| *other == id).map(|(_, party, _)| party);
                    id
                }
                _ => text.clone(),
            };
            body.insert(field.to_owned(), json!(resolved));
        }
        if let Some(Value::Array(items)) = body.get_mut("coupons") {
            let mut resolved: Vec<Value> = Vec::new();
            for item in items.iter() {
                let value = match item.as_str().and_then(|text| text.strip_prefix("#coupon:")).and_then(|spec| spec.split_once(':')) {
                    Some((customer, index)) => {
                        let id = json!(pick(self.model.coupons_of(customer), index, "K1".to_owned()));
                        if resolved.contains(&id) {
                            continue;
                        }
                        id
                    }
                    None => item.clone(),
                };
                resolved.push(value);
            }
            *items = resolved;
        }
        if let Some(Value::Array(items)) = body.get_mut("bills") {
            let party = body_party.as_deref().and_then(reference::parse_party);
            let mut resolved: Vec<Value> = Vec::new();
            for item in items.iter() {
                let value = match item.as_str().and_then(|text| text.strip_prefix("#bill:")) {
                    Some(index) => {
                        let bills = party.as_ref().map(|party| self.model.bill_ids_of(party)).unwrap_or_default();
                        let id = json!(pick(bills, index, "O1-C1".to_owned()));
                        if resolved.contains(&id) {
                            continue;
                        }
                        id
                    }
                    None => item.clone(),
                };
                resolved.push(value);
            }
            *items = resolved;
        }
        let scaled = |total: i128, spec: &str| -> String {
            let amount = if spec == "+1" { total + 1 } else { total * spec.parse::<i128>().unwrap_or(100) / 100 };
            format_amount(amount.max(1))
        };
        for field in ["refund", "amount"] {
            let Some(Value::String(text)) = body.get(field).cloned() else { continue };
            let party = body.get("party").and_then(Value::as_str).and_then(reference::parse_party);
            if let Some(spec) = text.strip_prefix("#refundable:") {
                body.insert(field.to_owned(), json!(scaled(refundable, spec)));
            } else if let Some(spec) = text.strip_prefix("#invoiceable:") {
                let total = party.map_or(0, |party| self.model.invoiceable_total(&party));
                body.insert(field.to_owned(), json!(scaled(total, spec)));
            } else if let Some(spec) = text.strip_prefix("#withdrawable:") {
                let total = party.map_or(0, |party| self.model.withdrawable(&party));
                body.insert(field.to_owned(), json!(scaled(total, spec)));
            }
        }
        owner
    }

    /// Sends one line to both and compares the answers, then the whole observable state.
    fn send(&mut self, line: &str) -> Result<(), TestCaseError> {
        let request = serde_json::from_str::<Value>(line).unwrap_or_default();
        if let Some(Value::String(id)) = request.get("id") {
            self.ids.push(id.clone());
        }
        self.sent.push(line.to_owned());
        let expected = self.model.execute_line(line);
        let response = self.ledger().execute_line(line).to_json();
        count(outcome_key(&request, &response));
        // A line with a duplicate key is not read as JSON at all: no id to echo.
        if let Some(id) = request.get("id").filter(|id| id.is_string() && !reference::has_duplicate_keys(line)) {
            prop_assert_eq!(&response["id"], id, "the response echoes the request id: {}", response);
        }
        match expected {
            Expected::Committed { seq, duplicate, result } => {
                prop_assert_eq!(&response["ok"], &json!(true), "{} → {}; the model commits it as seq {}", line, response, seq);
                prop_assert_eq!(&response["seq"], &json!(seq), "{} → {}", line, response);
                prop_assert_eq!(&response["duplicate"], &json!(duplicate), "{} → {}", line, response);
                prop_assert_eq!(&response["result"], &result, "{} → {}: the model's result differs", line, response);
                let id = response["id"].as_str().unwrap_or_default().to_owned();
                if duplicate {
                    let (_, original_seq, original) = &self.committed[&id];
                    prop_assert_eq!(*original_seq, seq);
                    prop_assert_eq!(&response["result"], original, "a replay answers the original result: {}", line);
                } else {
                    self.committed.insert(id, (line.to_owned(), seq, response["result"].clone()));
                    self.history.push(self.model.clone());
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

    /// The head; every balance, quota, coupon, order and invoiceable item against the model; both
    /// zero sums and every bound on what the ledger shows.
    fn check_state(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.ledger().head().seq, self.model.seq(), "head seq");
        let now = self.now();
        let at = format_time(now);
        let platform = self.query(json!({"op": "balance", "actor": "platform", "party": "platform", "at": at}));
        prop_assert!(platform.get("seq").is_none() && platform["ok"] == json!(true), "a query answers without seq: {}", platform);
        prop_assert_eq!(&platform["result"], &self.model.balance_json(&Party::Platform, now).unwrap_or_default(), "platform: {}", platform);
        let accounts = &platform["result"]["accounts"];
        let mut money = fen(&accounts["bank"])? + fen(&accounts["revenue"])?;
        let mut coupon_value = fen(&accounts["coupon_issuance"])? + fen(&accounts["coupon_redeemed"])? + fen(&accounts["coupon_expired"])?;
        for party in universe() {
            let name = party.text();
            let response = self.query(json!({"op": "balance", "actor": "platform", "party": name, "at": at}));
            let Some(expected) = self.model.balance_json(&party, now) else {
                prop_assert_eq!(&response["error"]["code"], &json!("not_found"), "{} is not registered: {}", name, response);
                continue;
            };
            prop_assert_eq!(&response["ok"], &json!(true), "balance of {}: {}", name, response);
            let result = &response["result"];
            prop_assert_eq!(result, &expected, "balance of {}", name);
            let (cash, held, available) = (fen(&result["cash"])?, fen(&result["held"])?, fen(&result["available"])?);
            let (credit_used, credit_limit, arrears) =
                (fen(&result["credit_used"])?, fen(&result["credit_limit"])?, fen(&result["arrears"])?);
            // Only customers have an `allocated` account (SPEC 1.3, v2).
            let allocated = if matches!(party, Party::Customer(_)) { fen(&result["allocated"])? } else { 0 };
            let (withdrawable, over_invoiced) = (fen(&result["withdrawable"])?, fen(&result["over_invoiced"])?);
            prop_assert!(cash >= 0 && (0..=cash).contains(&held) && available == cash - held, "cash bounds of {}: {}", name, result);
            prop_assert!(allocated >= 0, "allocated bound of {}: {}", name, result);
            prop_assert!((0..=available.max(0)).contains(&withdrawable) && over_invoiced >= 0, "withdrawable of {}: {}", name, result);
            if over_invoiced > 0 {
                count(format!("state: {name} over-invoiced"));
            }
            prop_assert!(arrears >= 0 && 0 <= credit_used && credit_used <= credit_limit, "debt bounds of {}: {}", name, result);
            money += cash + allocated - credit_used - arrears;
            for quota in result["quotas"].as_array().into_iter().flatten() {
                let balance = fen(&quota["balance"])?;
                prop_assert!(balance >= 0, "quota bound of {}: {}", name, quota);
                coupon_value += balance;
            }
            for coupon in result["coupons"].as_array().into_iter().flatten() {
                let remaining = fen(&coupon["remaining"])?;
                prop_assert!(remaining >= 0, "coupon bound of {}: {}", name, coupon);
                coupon_value += remaining;
            }
            let invoiceable = self.query(json!({"op": "invoiceable", "actor": "platform", "party": name}));
            prop_assert_eq!(
                &invoiceable["result"],
                &self.model.invoiceable_json(&party).unwrap_or_default(),
                "invoiceable of {}: {}",
                name,
                invoiceable
            );
        }
        prop_assert_eq!(money, 0, "CNY balances must sum to zero");
        prop_assert_eq!(coupon_value, 0, "CPN balances must sum to zero");
        for order in self.model.order_ids() {
            let response = self.query(json!({"op": "order", "actor": "platform", "order": order, "at": at}));
            prop_assert_eq!(&response["result"], &self.model.order_json(&order, now).unwrap_or_default(), "order {}: {}", order, response);
        }
        Ok(())
    }

    /// Everything observable through balances, orders and the head.
    fn snapshot(&self) -> Value {
        let head = self.ledger().head();
        let at = format_time(self.now());
        let mut balances = vec![self.query(json!({"op": "balance", "actor": "platform", "party": "platform", "at": at}))];
        for party in universe() {
            balances.push(self.query(json!({"op": "balance", "actor": "platform", "party": party.text(), "at": at})));
        }
        let orders: Vec<Value> = self
            .model
            .order_ids()
            .iter()
            .map(|order| self.query(json!({"op": "order", "actor": "platform", "order": order, "at": at})))
            .collect();
        json!({"seq": head.seq, "hash": partner_ledger::hex(&head.hash), "at": head.at.to_string(), "balances": balances, "orders": orders})
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
        self.check_records()?;
        self.check_consumption()?;
        self.check_listings()?;
        self.check_reads()?;
        self.check_history()
    }

    /// Every page of a paged query as `actor`, concatenated; or the error code of the first page.
    fn read_pages(&self, mut request: Value, field: &str) -> Result<Result<Vec<Value>, Value>, TestCaseError> {
        let mut listed = Vec::new();
        loop {
            request["offset"] = json!(listed.len());
            request["limit"] = json!(100);
            let page = self.query(request.clone());
            if page["ok"] != json!(true) {
                prop_assert!(listed.is_empty(), "a later page failed: {}", page);
                return Ok(Err(page["error"]["code"].clone()));
            }
            let items = page["result"][field].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                prop_assert_eq!(&page["result"]["total_count"], &json!(listed.len()), "{}", page);
                return Ok(Ok(listed));
            }
            listed.extend(items);
        }
    }

    /// What every actor (the platform, partners, customers and operators, registered or not)
    /// may read (SPEC 2.1, v2: full scope, referral reach, operator roles, customer managers):
    /// `balance`, `bills` and `withdrawals` of every party and the `orders` listings with and
    /// without a customer and a `partner_payment` filter, answers and contents against the model.
    fn check_reads(&self) -> Result<(), TestCaseError> {
        let now = self.now();
        let at = format_time(now);
        let code = |expected: &'static str| json!(expected);
        let mut actors = vec![Party::Platform];
        actors.extend(universe());
        actors.extend(OPERATORS.iter().map(|id| Party::Operator((*id).to_owned())));
        for actor in &actors {
            let name = actor.text();
            for party in universe().into_iter().chain([Party::Operator("F1".to_owned())]) {
                let response = self.query(json!({"op": "balance", "actor": name, "party": party.text(), "at": at}));
                match self.model.read_balance(actor, &party, now) {
                    Ok(expected) => prop_assert_eq!(&response["result"], &expected, "balance of {} read by {}", party.text(), name),
                    Err(expected) => {
                        prop_assert_eq!(&response["error"]["code"], &code(expected), "balance of {} read by {}", party.text(), name)
                    }
                }
                let request = json!({"op": "bills", "actor": name, "party": party.text(), "at": at});
                let listed = self.read_pages(request, "bills")?;
                match self.model.read_bills(actor, &party, now) {
                    Ok(expected) => prop_assert_eq!(listed, Ok(expected), "bills of {} read by {}", party.text(), name),
                    Err(expected) => prop_assert_eq!(listed, Err(code(expected)), "bills of {} read by {}", party.text(), name),
                }
                let request = json!({"op": "withdrawals", "actor": name, "party": party.text(), "at": at});
                let listed = self.read_pages(request, "withdrawals")?;
                match self.model.read_withdrawals(actor, &party, now) {
                    Ok(expected) => prop_assert_eq!(listed, Ok(expected), "withdrawals of {} read by {}", party.text(), name),
                    Err(expected) => prop_assert_eq!(listed, Err(code(expected)), "withdrawals of {} read by {}", party.text(), name),
                }
            }
            let customers = std::iter::once(None).chain(CUSTOMERS.iter().map(|customer| Some(*customer)));
            for customer in customers {
                for filter in [None, Some("requested"), Some("rejected")] {
                    let mut request = json!({"op": "orders", "actor": name, "at": at});
                    if let Some(customer) = customer {
                        request["customer"] = json!(customer);
                    }
                    if let Some(filter) = filter {
                        request["partner_payment"] = json!(filter);
                    }
                    let listed = self.read_pages(request, "orders")?;
                    let what = format!("orders of {customer:?} ({filter:?}) read by {name}");
                    match self.model.read_orders(actor, customer, filter, now) {
                        Ok(expected) => prop_assert_eq!(listed, Ok(expected), "{}", what),
                        Err(expected) => prop_assert_eq!(listed, Err(code(expected)), "{}", what),
                    }
                }
            }
        }
        Ok(())
    }

    /// `balance` with `as_of` at the time of some earlier commits: the books right after the last
    /// commit at or before that time, statuses evaluated at that time.
    fn check_history(&self) -> Result<(), TestCaseError> {
        let step = (self.history.len() / 4).max(1);
        for (position, past) in self.history.iter().enumerate().step_by(step) {
            let at = past.last_at();
            // The last commit at that time (several may share it).
            if self.history.get(position + 1).is_some_and(|next| next.last_at() == at) {
                continue;
            }
            for party in std::iter::once(Party::Platform).chain(universe()) {
                let response = self.query(json!({"op": "balance", "actor": "platform", "party": party.text(), "as_of": format_time(at)}));
                match past.balance_as_of_json(&party, at) {
                    Some(expected) => prop_assert_eq!(
                        &response["result"],
                        &expected,
                        "balance of {} as of {}: {}",
                        party.text(),
                        format_time(at),
                        response
                    ),
                    None => prop_assert_eq!(
                        &response["error"]["code"],
                        &json!("not_found"),
                        "{} as of {}: {}",
                        party.text(),
                        format_time(at),
                        response
                    ),
                }
            }
        }
        Ok(())
    }

    /// Every page of a paged query, concatenated.
    fn pages(&self, mut request: Value, field: &str) -> Result<Vec<Value>, TestCaseError> {
        let mut listed = Vec::new();
        loop {
            request["offset"] = json!(listed.len());
            request["limit"] = json!(100);
            let page = self.query(request.clone());
            prop_assert_eq!(&page["ok"], &json!(true), "{}", page);
            let items = page["result"][field].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                prop_assert_eq!(&page["result"]["total_count"], &json!(listed.len()), "{}", page);
                return Ok(listed);
            }
            listed.extend(items);
        }
    }

    /// The adjust records of every allocation, recovery, unbind reclaim and refund reclaim, in order.
    fn check_records(&self) -> Result<(), TestCaseError> {
        let expected: Vec<Value> = self
            .model
            .records()
            .iter()
            .map(|record| {
                json!({
                    "seq": record.seq,
                    "at": format_time(record.at),
                    "transfer": record.transfer,
                    "operation": record.operation,
                    "partner": record.partner,
                    "target": record.target.text(),
                    "amount": format_amount(record.amount),
                    "memo": record.memo,
                })
            })
            .collect();
        let listed = self.pages(json!({"op": "adjust_records", "actor": "platform"}), "records")?;
        prop_assert_eq!(listed, expected, "adjust records");
        Ok(())
    }

    /// Bills and withdrawals of every party, and every invoice.
    /// (v2) Every row of `consumption_summary` of each partner for the current cycle: its
    /// consumption, payable and paid (SPEC 4, docs/decisions.md) and the manager in force.
    fn check_consumption(&self) -> Result<(), TestCaseError> {
        let now = self.now();
        let cycle = Model::cycle_of(now);
        for partner in &PARTNERS[..5] {
            let request =
                json!({"op": "consumption_summary", "actor": "platform", "partner": partner, "cycle": cycle, "at": format_time(now)});
            let response = self.query(request);
            let Some(rows) = response["result"]["customers"].as_array() else { continue };
            for row in rows {
                let customer = row["customer"].as_str().unwrap_or_default();
                let (consumption, payable, paid) = self.model.consumption_of(customer, &cycle);
                let expected = json!({"consumption": format_amount(consumption), "payable": format_amount(payable), "paid": format_amount(paid),
                    "manager": self.model.manager_of(customer, now)});
                let shown =
                    json!({"consumption": row["consumption"], "payable": row["payable"], "paid": row["paid"], "manager": row["manager"]});
                prop_assert_eq!(shown, expected, "consumption_summary of partner:{} for {}: {}", partner, customer, response);
                count(format!("state: consumption_summary row{}", if payable == 0 { " (empty)" } else { "" }));
            }
        }
        Ok(())
    }

    fn check_listings(&self) -> Result<(), TestCaseError> {
        for party in universe() {
            let Some(bills) = self.model.bills_json(&party) else { continue };
            let listed = self.pages(json!({"op": "bills", "actor": "platform", "party": party.text()}), "bills")?;
            prop_assert_eq!(listed, bills, "bills of {}", party.text());
            let withdrawals = self.model.withdrawals_json(&party).unwrap_or_default();
            let listed = self.pages(json!({"op": "withdrawals", "actor": "platform", "party": party.text()}), "withdrawals")?;
            prop_assert_eq!(listed, withdrawals, "withdrawals of {}", party.text());
        }
        for invoice in self.model.invoice_ids() {
            let response = self.query(json!({"op": "invoice", "actor": "platform", "invoice": invoice}));
            prop_assert_eq!(
                &response["result"],
                &self.model.invoice_json(&invoice).unwrap_or_default(),
                "invoice {}: {}",
                invoice,
                response
            );
        }
        Ok(())
    }
}

fn run_case(with_cast: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut run = Run::new();
    // Half the cases keep no cache between batches: every read of the next request goes to the
    // store's checkpointed tables, and every miss is fetched and the decision made again.
    if steps.len().is_multiple_of(2) {
        run.ledger().set_cache_entries_max(0);
    }
    if with_cast {
        for line in cast() {
            run.send(&line)?;
        }
    }
    for step in steps {
        let inner = match step {
            Step::Flow(inner) => inner.as_slice(),
            single => std::slice::from_ref(single),
        };
        for step in inner {
            if let Some(line) = run.line(step) {
                run.send(&line)?;
            }
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
    fn ledger_matches_the_reference_model(with_cast in prop::bool::weighted(0.85), steps in proptest::collection::vec(step(), 1..STEPS_MAX)) {
        let outcome = run_case(with_cast, &steps);
        write_stats();
        outcome?;
    }
}
