//! Model test: random sequences of valid and invalid commands (parties, money, coupon quotas and
//! coupons, orders and combined orders, payment, refunds, usage, withdrawals, association
//! changes, invoices, atomic groups) run through `Ledger::execute_line` and through a simple
//! in-memory reference (`tests/model/reference.rs`). After every step the answer (code, cbc and
//! index, or seq, duplicate and result), every balance with its quotas and coupons, every order,
//! every invoiceable item, both zero sums (CNY and CPN), every bound and the head must agree; at
//! the end the journal must verify and reopen identically, replays must answer as duplicates, and
//! adjust records, bills, withdrawals, invoices and balances `as_of` earlier times must match.
//!
//! `PROPTEST_CASES` overrides the number of cases (64 by default). The reference follows SPEC.md.
mod common;
#[path = "model/reference.rs"]
mod reference;

use common::ManualClock;
use partner_ledger::Ledger;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::Union;
use proptest::test_runner::TestCaseError;
use reference::{Expected, Model, OrderSummary, Party, cbc, format_amount, format_time, parse_time};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const CASES_DEFAULT: u32 = 64;
const STEPS_MAX: usize = 150;
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
    Send {
        request: RequestId,
        actor: String,
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

// ---------------------------------------------------------------------------------------------
// Generation of coupons, orders, usage, withdrawals, association changes and invoices. Ids come
// from small pools so that they meet again; order, withdrawal and invoice ids name their owner
// (`O2-C1`, `W1-D1`, `I3-C3`) so that the usual actor can be chosen without knowing the state.
// Times inside bodies are written `@<minutes>` (relative to the later of the clock and the head)
// and resolved when the step runs.

const QUOTAS: [&str; 5] = ["Q1", "Q2", "Q3", "Q4", "Q5"];
const COUPONS: [&str; 6] = ["K1", "K2", "K3", "K4", "K5", "K6"];
const SERVICES: [&str; 3] = ["ecs", "obs", "rds"];
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
    prop_oneof![6 => Just("voucher"), 3 => Just("cash_coupon"), 1 => Just("gift")]
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
    pick.prop_map(|(actor, quota, partner, kind, amount, from, until, from_quota)| {
        let mut body = object(vec![
            ("op", json!("issue_quota")),
            ("quota", json!(quota)),
            ("partner", json!(partner)),
            ("kind", json!(kind)),
            ("amount", amount),
            ("valid_from", from),
            ("valid_until", until),
        ]);
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
    (customer, select(&COUPONS[..]), select(&QUOTAS[..]), face, window, services())
        .prop_flat_map(|(customer, coupon, quota, face, window, services)| {
            let partners = partners_of(&customer);
            let actor = prop_oneof![8 => select(partners).prop_map(|partner| format!("partner:{partner}")), 1 => any_actor()];
            (actor, Just((customer, coupon, quota, face, window, services)))
        })
        .prop_map(|(actor, (customer, coupon, quota, face, (from, until), services))| {
            let mut body = object(vec![
                ("op", json!("issue_coupon")),
                ("coupon", json!(coupon)),
                ("quota", json!(quota)),
                ("customer", json!(customer)),
                ("face_value", face),
            ]);
            for (name, value) in [("valid_from", from), ("valid_until", until), ("services", services)] {
                if let Some(value) = value {
                    body.insert(name.to_owned(), value);
                }
            }
            (actor, body)
        })
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
            (actor, pending_target(&customer), coupons, Just(payer))
        })
        .prop_map(|(actor, order, coupons, payer)| {
            let mut body = object(vec![("op", json!("pay_order")), ("order", json!(order))]);
            // A partner pays without coupons, mostly.
            let coupons = if payer == Some("partner") { coupons.filter(|_| order.ends_with("-C5")) } else { coupons };
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
    (Just(party), 1usize..=4, invoice_amount, prop_oneof![8 => Just(None), 2 => admin_actor().prop_map(Some)])
        .prop_map(|(party, k, amount, actor)| {
            let body = object(vec![
                ("op", json!("request_invoice")),
                ("invoice", json!(format!("I{k}-{}", owner_short(&party)))),
                ("party", json!(party)),
                ("amount", amount),
            ]);
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
    prop_oneof![buy, usage, issue]
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
        (2, boxed(commerce_group())),
    ];
    Union::new_weighted(foundation.into_iter().chain(commerce).collect())
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
    let send = (request, command(), at, corruption).prop_map(|(request, (actor, body), at, corruption)| Step::Send {
        request,
        actor,
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
        8 => flow(),
        1 => garbage.prop_map(Step::Garbage),
    ]
}

/// Plain sends: a fresh id, a time a little later, no corruption.
fn plain(body: BoxedStrategy<Body>) -> BoxedStrategy<Step> {
    let at = prop_oneof![3 => Just(At::Absent), 6 => (0i64..30).prop_map(|minutes| At::Delta(minutes, false)), 1 => Just(At::Delta(2 * 1440, false))];
    (body, at)
        .prop_map(|((actor, body), at)| Step::Send { request: RequestId::Fresh, actor, at, body, corruption: Corruption::None })
        .boxed()
}

/// A customer's order life: placed, paid, then cancelled, unsubscribed or invoiced.
fn flow() -> impl Strategy<Value = Step> {
    commerce_customer().prop_flat_map(|customer| {
        let payer = match customer.as_str() {
            "C1" => "customer:C1",
            "C2" => "partner:R1",
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

/// A standard cast to start from, so that deep states are common: distributors D1 and D2,
/// reseller R1 of D1, solution provider S1, resale customers C1 (D1) and C2 (R1), referral
/// customer C3 (S1), unassociated C4, money for D1, S1, R1, C1 and C3, credit for C3, quotas
/// Q1 (voucher) and Q2 (cash coupon) of D1, Q3 of R1 carved from Q1, Q4 of S1, C1 whitelisted,
/// coupon K1 of C1 (any service) and K2 of C2 (`ecs` only), a usage bill of C3, pending orders
/// O1-C1, O1-C3, O2-C3, O1-C4 and combined order G1-C2 (O1-C2, O2-C2).
fn cast() -> Vec<String> {
    let window = |from: &str, until: &str| (format!("{from}T00:00:00Z"), format!("{until}T00:00:00Z"));
    let (from, until) = window("2025-12-01", "2026-03-01");
    let (r_from, r_until) = window("2025-12-15", "2026-02-15");
    let platform = [
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
    ];
    let mut lines: Vec<String> = platform
        .into_iter()
        .enumerate()
        .map(|(index, mut command)| {
            command["id"] = json!(format!("setup-{index}"));
            command["actor"] = json!("platform");
            command.to_string()
        })
        .collect();
    let partners = [
        ("D1", json!({"op": "allocate", "to": "partner:R1", "amount": "1000"})),
        ("D1", json!({"op": "allocate", "to": "customer:C1", "amount": "500"})),
        (
            "D1",
            json!({"op": "issue_quota", "quota": "Q3", "partner": "R1", "kind": "voucher", "amount": "800", "from_quota": "Q1", "valid_from": r_from, "valid_until": r_until}),
        ),
        ("D1", json!({"op": "whitelist_customer", "customer": "C1"})),
        ("D1", json!({"op": "issue_coupon", "coupon": "K1", "quota": "Q1", "customer": "C1", "face_value": "100"})),
        ("R1", json!({"op": "issue_coupon", "coupon": "K2", "quota": "Q3", "customer": "C2", "face_value": "50", "services": ["ecs"]})),
        ("R1", json!({"op": "allocate", "to": "customer:C2", "amount": "20"})),
    ];
    for (index, (partner, mut command)) in partners.into_iter().enumerate() {
        command["id"] = json!(format!("setup-p{index}"));
        command["actor"] = json!(format!("partner:{partner}"));
        lines.push(command.to_string());
    }
    let orders = [
        json!({"op": "consume", "customer": "C3", "amount": "12.345", "service": "obs"}),
        json!({"op": "place_order", "order": "O1-C1", "customer": "C1", "amount": "150", "kind": "new", "service": "ecs"}),
        json!({"op": "place_order", "order": "O1-C3", "customer": "C3", "amount": "120", "kind": "new", "service": "rds"}),
        json!({"op": "place_order", "order": "O2-C3", "customer": "C3", "amount": "250", "kind": "renew"}),
        json!({"op": "place_order", "order": "O1-C4", "customer": "C4", "amount": "10", "kind": "change", "service": "ecs"}),
        json!({"op": "place_combined_order", "combined": "G1-C2", "customer": "C2", "orders": [
            {"order": "O1-C2", "amount": "30", "kind": "new", "service": "ecs"},
            {"order": "O2-C2", "amount": "40", "kind": "new", "service": "obs"},
        ]}),
    ];
    for (index, mut command) in orders.into_iter().enumerate() {
        command["id"] = json!(format!("setup-o{index}"));
        command["actor"] = json!("platform");
        lines.push(command.to_string());
    }
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
            Step::Send { request, actor, at, body, corruption } => {
                let mut request_map = body.clone();
                let mut actor = actor.clone();
                self.resolve(&mut request_map, &mut actor);
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

    /// Resolves the `#` placeholders of a body against the model's state, so that commands name
    /// orders, coupons, withdrawals and invoices that exist (falling back to a pool id):
    /// `#target:<customer>:<status>:<pick>` an order or combined order, `#order:...` an order,
    /// `#coupon:<customer>:<pick>`, `#withdrawal:<status>:<pick>`, `#invoice:<pick>`; amounts
    /// `#refundable:<percent or +1>` of the order named, `#invoiceable:<percent or +1>` of the
    /// party named; the actor `#owner` is the owner of the withdrawal or invoice named.
    fn resolve(&self, body: &mut Map<String, Value>, actor: &mut String) {
        let mut owner: Option<Party> = None;
        let mut refundable = 0;
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
                        .filter(|order| order.customer == *customer && order.status == *status)
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
        let scaled = |total: i128, spec: &str| -> String {
            let amount = if spec == "+1" { total + 1 } else { total * spec.parse::<i128>().unwrap_or(100) / 100 };
            format_amount(amount.max(1))
        };
        for field in ["refund", "amount"] {
            let Some(Value::String(text)) = body.get(field).cloned() else { continue };
            if let Some(spec) = text.strip_prefix("#refundable:") {
                body.insert(field.to_owned(), json!(scaled(refundable, spec)));
            } else if let Some(spec) = text.strip_prefix("#invoiceable:") {
                let party = body.get("party").and_then(Value::as_str).and_then(reference::parse_party);
                let total = party.map_or(0, |party| self.model.invoiceable_total(&party));
                body.insert(field.to_owned(), json!(scaled(total, spec)));
            }
        }
        if actor == "#owner" {
            *actor = owner.map_or_else(|| "platform".to_owned(), |owner| owner.text());
        }
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
            prop_assert!(cash >= 0 && (0..=cash).contains(&held) && available == cash - held, "cash bounds of {}: {}", name, result);
            prop_assert!(arrears >= 0 && 0 <= credit_used && credit_used <= credit_limit, "debt bounds of {}: {}", name, result);
            money += cash - credit_used - arrears;
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
        self.check_listings()?;
        self.check_history()
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
                match past.balance_json(&party, at) {
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

    /// The adjust records of every allocation, recovery and unbind reclaim, in order.
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
        let listed = self.pages(json!({"op": "adjust_records", "actor": "platform"}), "records")?;
        prop_assert_eq!(listed, expected, "adjust records");
        Ok(())
    }

    /// Bills and withdrawals of every party, and every invoice.
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
        run_case(with_cast, &steps)?;
    }
}
