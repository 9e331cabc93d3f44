//! Reading the books back, and comparing them with the script's own.

use super::model::{Funds, Model, Who};
use super::summary::{thousands, yuan};
use super::{BATCH_LINES, time};
use partner_ledger::{Ledger, Response, hex};
use serde_json::{Value, json};

pub(super) struct Books {
    /// bank, revenue, coupon_issuance, coupon_redeemed, coupon_expired.
    pub(super) platform: [i64; 5],
    pub(super) partners: Vec<Funds>,
    pub(super) customers: Vec<Funds>,
}

pub(super) const PLATFORM_ACCOUNTS: [&str; 5] = ["bank", "revenue", "coupon_issuance", "coupon_redeemed", "coupon_expired"];

fn parse_fen(value: &Value) -> Result<i64, String> {
    let text = value.as_str().ok_or_else(|| format!("expected an amount, got {value}"))?;
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (units, cents) = digits.split_once('.').ok_or_else(|| format!("expected an amount, got {text}"))?;
    let magnitude = units.parse::<i64>().map_err(|error| format!("{text}: {error}"))? * 100
        + cents.parse::<i64>().map_err(|error| format!("{text}: {error}"))?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Every party's balances, through `balance` queries at the end of the month.
pub(super) fn read_books(ledger: &Ledger, model: &Model, at: i64) -> Result<Books, String> {
    let at = time(at);
    let parties: Vec<String> = (0..model.partners.len())
        .map(|partner| model.party(Who::Partner(partner)))
        .chain((0..model.customers.len()).map(|customer| model.party(Who::Customer(customer))))
        .collect();
    let lines: Vec<String> = std::iter::once("platform".to_owned())
        .chain(parties)
        .map(|party| json!({"op": "balance", "actor": "platform", "party": party, "at": at}).to_string())
        .collect();
    let mut results = Vec::with_capacity(lines.len());
    for batch in lines.chunks(BATCH_LINES) {
        for response in ledger.execute_lines(batch) {
            match response {
                Response::Answer { result, .. } => results.push(result),
                other => return Err(format!("a balance query failed: {}", other.to_line())),
            }
        }
    }
    let accounts = &results[0]["accounts"];
    let mut platform = [0; 5];
    for (slot, name) in platform.iter_mut().zip(PLATFORM_ACCOUNTS) {
        *slot = parse_fen(&accounts[name])?;
    }
    let funds = |result: &Value| -> Result<Funds, String> {
        // Partners have no `allocated` account: absent there.
        let allocated = if result["allocated"].is_null() { 0 } else { parse_fen(&result["allocated"])? };
        Ok(Funds {
            cash: parse_fen(&result["cash"])?,
            held: parse_fen(&result["held"])?,
            allocated,
            credit_limit: parse_fen(&result["credit_limit"])?,
            credit_used: parse_fen(&result["credit_used"])?,
            debt: parse_fen(&result["arrears"])?,
        })
    };
    let mut parties = results[1..].iter().map(funds).collect::<Result<Vec<_>, _>>()?;
    let customers = parties.split_off(model.partners.len());
    Ok(Books { platform, partners: parties, customers })
}

/// Where the ledger's balances differ from the script's bookkeeping (at most a few, named).
fn compare(books: &Books, model: &Model) -> (usize, Vec<String>) {
    let platform = &model.platform;
    let expected = [platform.bank, platform.revenue, platform.coupon_issuance, platform.coupon_redeemed, platform.coupon_expired];
    let mut differences = Vec::new();
    for ((name, ledger), script) in PLATFORM_ACCOUNTS.iter().zip(books.platform).zip(expected) {
        if ledger != script {
            differences.push(format!("platform {name}: ledger {}, script {}", yuan(ledger), yuan(script)));
        }
    }
    let parties = (0..model.partners.len())
        .map(|partner| (Who::Partner(partner), &books.partners[partner]))
        .chain((0..model.customers.len()).map(|customer| (Who::Customer(customer), &books.customers[customer])));
    for (who, ledger) in parties {
        let script = model.funds(who);
        if ledger != script {
            differences.push(format!("{}: ledger {ledger:?}, script {script:?}", model.party(who)));
        }
    }
    let count = differences.len();
    differences.truncate(5);
    (count, differences)
}

/// `verify`'s verdict and the comparison with the script's bookkeeping; true when both pass.
pub(super) fn print_checks(ledger: &Ledger, model: &Model, books: &Books) -> bool {
    println!();
    println!("Checks");
    let verified = match ledger.verify() {
        Ok(report) => {
            println!(
                "  verify: ok — {} transactions replayed, {} accounts and {} parties match, each asset sums to zero",
                thousands(report.transactions),
                thousands(report.accounts as u64),
                thousands(report.parties as u64)
            );
            println!("  journal head: {}:{} (the same seed gives the same head)", report.head.seq, hex(&report.head.hash));
            true
        }
        Err(error) => {
            println!("  verify: FAILED — {error}");
            false
        }
    };
    let (differences, examples) = compare(books, model);
    if differences == 0 {
        println!(
            "  bookkeeping: the ledger's balances match the script's own for the platform, {} partners and {} customers",
            model.partners.len(),
            thousands(model.customers.len() as u64)
        );
    } else {
        println!("  bookkeeping: {differences} balances differ from the script's own, e.g.");
        for example in &examples {
            println!("    {example}");
        }
    }
    verified && differences == 0
}
