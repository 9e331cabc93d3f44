//! `partner-ledger demo`: a small but real platform scenario — distributors with resellers, a
//! solution provider, resale and referral customers, recharges, allocations (also a distributor
//! acting for its reseller), recoveries, credit, adjustments, an atomic group and commands that
//! fail as they should — run through the JSON-lines protocol into an embedded ledger file.

use partner_ledger::{Ledger, Response, hex};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Builds command lines with increasing times, one minute apart, from 2026-11-01.
struct Script {
    lines: Vec<String>,
    minute: i64,
}

impl Script {
    fn push(&mut self, actor: &str, mut command: Value) {
        let at = partner_ledger::Timestamp::from_millis(1_793_491_200_000 + self.minute * 60_000);
        self.minute += 1;
        command["id"] = json!(format!("demo-{}", self.lines.len() + 1));
        command["actor"] = json!(actor);
        command["at"] = json!(at.to_string());
        self.lines.push(command.to_string());
    }
}

/// A deterministic pseudo-random amount between 1.00 and `max` units.
fn amount(seed: &mut u64, max: u64) -> String {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    let fen = 100 + (*seed >> 33) % (max * 100);
    format!("{}.{:02}", fen / 100, fen % 100)
}

const PARTNERS: [(&str, &str, Option<&str>); 6] = [
    ("D1", "distributor", None),
    ("D2", "distributor", None),
    ("R1", "reseller", Some("D1")),
    ("R2", "reseller", Some("D1")),
    ("R3", "reseller", Some("D2")),
    ("S1", "solution_provider", None),
];

fn script(customers: u32) -> Script {
    let mut script = Script { lines: Vec::new(), minute: 0 };
    let mut seed = 7;
    for (partner, kind, parent) in PARTNERS {
        let mut command = json!({"op": "register_partner", "partner": partner, "kind": kind});
        if let Some(parent) = parent {
            command["parent"] = json!(parent);
        }
        script.push("platform", command);
    }
    for partner in ["D1", "D2", "S1"] {
        script.push("platform", json!({"op": "recharge", "party": format!("partner:{partner}"), "amount": "5000000"}));
    }
    for (distributor, reseller) in [("D1", "R1"), ("D1", "R2"), ("D2", "R3")] {
        script.push(&format!("partner:{distributor}"), json!({"op": "allocate", "to": format!("partner:{reseller}"), "amount": "800000"}));
    }
    let owners = ["D1", "D2", "R1", "R2", "R3", "S1"];
    for index in 0..customers {
        let owner = owners[index as usize % owners.len()];
        let customer = format!("C{index:05}");
        let association = if index % 10 == 9 { "referral" } else { "resale" };
        script.push(&format!("partner:{owner}"), json!({"op": "register_customer", "customer": customer, "partner": owner, "association": association}));
        if association == "referral" {
            script.push("platform", json!({"op": "recharge", "party": format!("customer:{customer}"), "amount": amount(&mut seed, 2000)}));
        } else {
            let to = format!("customer:{customer}");
            script.push(&format!("partner:{owner}"), json!({"op": "allocate", "to": to, "amount": amount(&mut seed, 3000), "memo": "monthly budget"}));
        }
    }
    for index in (0..customers).filter(|index| index % 10 != 9).step_by(4) {
        let owner = owners[index as usize % owners.len()];
        script.push(&format!("partner:{owner}"), json!({"op": "recover", "from": format!("customer:C{index:05}"), "amount": "1.00", "memo": "unused budget"}));
    }
    // A distributor acting for its reseller; an atomic group; credit and adjustments.
    script.push("partner:D1", json!({"op": "allocate", "partner": "R1", "to": "customer:C00002", "amount": "120.00", "memo": "on behalf of R1"}));
    script.push("partner:D2", json!({"op": "atomic", "commands": [
        {"op": "allocate", "to": "customer:C00001", "amount": "10"},
        {"op": "allocate", "to": "customer:C00007", "amount": "20"},
        {"op": "recover", "from": "partner:R3", "amount": "30"}
    ]}));
    script.push("platform", json!({"op": "set_credit_limit", "party": "partner:S1", "limit": "20000"}));
    script.push("platform", json!({"op": "adjust", "party": "partner:S1", "direction": "compensate", "amount": "88.80", "reason": "SLA credit"}));
    script.push("platform", json!({"op": "adjust", "party": "partner:D2", "direction": "deduct", "amount": "12.34", "reason": "fee correction"}));
    // Commands that fail as they should.
    script.push("partner:R1", json!({"op": "allocate", "to": "customer:C00002", "amount": "999999999"}));
    script.push("partner:R1", json!({"op": "allocate", "to": "customer:C00001", "amount": "1"}));
    script.push("customer:C00000", json!({"op": "allocate", "partner": "D1", "to": "customer:C00000", "amount": "1"}));
    script.push("platform", json!({"op": "recharge", "party": "customer:C00000", "amount": "1"}));
    script.push("partner:D1", json!({"op": "recover", "from": "customer:C00000", "amount": "1.001"}));
    script.push("partner:D2", json!({"op": "atomic", "commands": [
        {"op": "allocate", "to": "customer:C00001", "amount": "1"},
        {"op": "allocate", "to": "customer:C00002", "amount": "1"}
    ]}));
    let replay = script.lines[6].clone();
    script.lines.push(replay);
    script
}

pub fn run(db: &Path, customers: u32) -> Result<ExitCode, String> {
    if db.exists() {
        std::fs::remove_file(db).map_err(|error| format!("removing the old {}: {error}", db.display()))?;
    }
    let ledger = Ledger::open(db).map_err(|error| format!("{}: {error}", db.display()))?;
    let script = script(customers);
    println!("partner-ledger demo: {} commands for 6 partners and {customers} customers into {}", script.lines.len(), db.display());
    let started = Instant::now();
    let mut responses: Vec<Response> = Vec::with_capacity(script.lines.len());
    for chunk in script.lines.chunks(1000) {
        responses.extend(ledger.execute_lines(chunk));
    }
    let elapsed = started.elapsed();
    let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
    let mut duplicates = 0;
    for response in &responses {
        if let Some(rejection) = response.rejection() {
            *failures.entry(rejection.code.name()).or_default() += 1;
        }
        if matches!(response, Response::Committed { duplicate: true, .. }) {
            duplicates += 1;
        }
    }
    print_balances(&ledger)?;
    println!();
    println!("failed as they should (nothing changed): {}", if failures.is_empty() { "none".to_owned() } else {
        failures.iter().map(|(code, count)| format!("{code} ×{count}")).collect::<Vec<_>>().join(", ")
    });
    println!("identical replays answered as duplicates: {duplicates}");
    let rate = responses.len() as f64 / elapsed.as_secs_f64().max(1e-9);
    println!("throughput: {} commands in {:.3} s = {rate:.0} commands/s (batches of 1000 per durable commit)", responses.len(), elapsed.as_secs_f64());
    match ledger.verify() {
        Ok(report) => {
            println!("verify: ok — {} transactions replayed, {} accounts match, each asset sums to zero", report.transactions, report.accounts);
            println!("head: {}:{}", report.head.seq, hex(&report.head.hash));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("verify: FAILED — {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn query(ledger: &Ledger, command: Value) -> Result<Value, String> {
    let response = ledger.execute_line(&command.to_string());
    match response.rejection() {
        Some(rejection) => Err(format!("query failed: {rejection}")),
        None => Ok(response.to_json()["result"].clone()),
    }
}

fn print_balances(ledger: &Ledger) -> Result<(), String> {
    println!();
    println!("{:<12} {:>16} {:>16} {:>14}", "partner", "cash", "credit limit", "allocations");
    for (partner, _, _) in PARTNERS {
        let balance = query(ledger, json!({"op": "balance", "actor": "platform", "party": format!("partner:{partner}")}))?;
        let records = query(ledger, json!({"op": "adjust_records", "actor": "platform", "partner": partner, "operation": "allocate", "limit": 1}))?;
        println!(
            "{:<12} {:>16} {:>16} {:>14}",
            format!("partner:{partner}"),
            balance["cash"].as_str().unwrap_or("?"),
            balance["credit_limit"].as_str().unwrap_or("?"),
            records["total_count"]
        );
    }
    let platform = query(ledger, json!({"op": "balance", "actor": "platform", "party": "platform"}))?;
    println!();
    println!("platform bank {:>16}   revenue {:>12}", platform["accounts"]["bank"].as_str().unwrap_or("?"), platform["accounts"]["revenue"].as_str().unwrap_or("?"));
    Ok(())
}
