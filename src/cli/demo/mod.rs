//! `partner-ledger demo`: one realistic month (November 2026) of a cloud partner sales platform,
//! generated from a seed and sent through the JSON-lines protocol into a fresh ledger file.
//!
//! Distributors with resellers and solution providers fund thousands of customers; operators
//! (admins, finance operators, customer managers) act for several partners; customers buy
//! (single and combined orders, with coupons, their partner's allocated funds, their own cash or
//! credit, or asking their partner to pay, which it mostly does and sometimes rejects), run
//! on-demand usage (coupons first) into debt, get refunds, withdraw and invoice; unassociated
//! customers join a partner keeping their own money, some switch association, a few are unbound;
//! pickup vouchers pay at most their ratio of the orders whose kind they allow; the platform
//! grants business discounts that customers choose on payments (one is revoked); customers carry
//! names and external ids; invoices go by amount, by billing cycle or by bills; a few commands and
//! queries fail as they should. The script keeps its own plain bookkeeping of
//! what every party holds, a customer's `allocated` apart from its own `cash`, so it knows for
//! each command what the ledger must answer: committed, a duplicate, a named error, or for a
//! query how many rows. Any other answer, end-of-month balances that disagree with that
//! bookkeeping, or a failed `verify` make the demo exit non-zero.
//!
//! Every command carries an explicit, increasing `at`, and randomness comes from a small
//! self-contained generator: the same seed gives the same journal, down to the head hash.
//!
//! Layout: `model` is the script's bookkeeping and `rules` its money rules, `script` the
//! request lines with what each must answer, `rng` the generator and `month` the calendar that
//! drives the generation. Each capability's commands are generated in their own file: `parties`,
//! `operators`, `funds`, `coupons`, `discounts` (pickup vouchers and business discounts), `orders`,
//! `partner_payment`, `associations`, `usage`, `withdrawals`, `invoices` and `refusals`. Then
//! `tally` sends the script and counts the answers, `books` reads the balances back and checks
//! them, and `summary` and `report` print the month.

mod associations;
mod books;
mod coupons;
mod discounts;
mod funds;
mod invoices;
mod model;
mod month;
mod operators;
mod orders;
mod parties;
mod partner_payment;
mod refusals;
mod report;
mod rng;
mod rules;
mod script;
mod summary;
mod tally;
mod usage;
mod withdrawals;

use books::{print_checks, read_books};
use month::Demo;
use partner_ledger::{Ledger, Timestamp};
use report::{print_associations, print_discounts_and_invoices, print_operators, print_partner_payments};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use summary::{
    print_coupons, print_failures, print_intro, print_money_moved, print_money_position, print_orders, print_partners, print_platform,
    print_usage, print_withdrawals_and_invoices, thousands,
};
use tally::{Tally, execute};

/// Commands per `execute_lines` call: each call shares durable commits, like `apply`'s batches.
const BATCH_LINES: usize = 1000;
/// 2026-11-01T00:00:00Z (08:00 in UTC+8, where billing cycles are counted).
const MONTH_START: i64 = 1_793_491_200_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Quotas (and coupons by default) are valid for the whole month: until 2026-12-01T00:00:00Z.
const QUOTA_UNTIL: i64 = MONTH_START + 30 * DAY;
/// Promotion coupons end on 2026-11-26T00:00:00Z; `expire_coupons` sweeps what is left of them.
const PROMO_UNTIL: i64 = MONTH_START + 25 * DAY;
/// The last business day; day 30 is the month end (sweeps, last checks).
const LAST_BUSINESS_DAY: u32 = 29;
const MONTH_END_DAY: u32 = 30;
/// New customers sign up until this day.
const SIGNUP_LAST_DAY: u32 = 20;
/// Unassociated customers join their partner as resale customers by this day.
const JOIN_LAST_DAY: u32 = 25;
/// Days ending with reads: managers read their customers' bills, partners their awaiting lists.
const READ_DAYS: [u32; 4] = [6, 13, 20, 27];
/// Days the platform recharges partners and distributors fund their resellers.
const FUNDING_DAYS: [u32; 4] = [1, 8, 15, 22];
/// Customers ask for invoices from this day on; partners on the last business day.
const INVOICE_FIRST_DAY: u32 = 26;
const SERVICES: [&str; 6] = ["ecs", "evs", "obs", "rds", "cdn", "vpc"];
/// Distributors and how many resellers each has.
const DISTRIBUTORS: [(&str, usize); 3] = [("D1", 3), ("D2", 2), ("D3", 3)];
const SOLUTION_PROVIDERS: [&str; 2] = ["S1", "S2"];
/// Partners with operators (an admin, a finance operator), and how many customer managers each has.
const OPERATOR_PARTNERS: [(&str, usize); 6] = [("D1", 2), ("D2", 2), ("D3", 1), ("S1", 2), ("S2", 1), ("D1-R1", 1)];
/// Partners with a credit line from the platform, and its size in yuan.
const PARTNER_CREDIT: [(&str, i64); 3] = [("S1", 100_000), ("S2", 50_000), ("D3", 200_000)];
/// The error codes the script provokes on purpose, with what a reader should understand by them.
const EXPECTED_FAILURES: [(&str, &str); 15] = [
    ("invalid_request", "a payment naming coupons together with a discount"),
    ("discount_not_usable", "a revoked discount, or another customer's; revoking a revoked discount"),
    ("insufficient_funds", "a payment, allocation or withdrawal above the funds; a recovery beyond allocated; over-invoiced money"),
    ("coupon_not_usable", "a coupon past its validity, or for another service"),
    ("order_expired", "payment after the order's pay deadline"),
    ("order_state", "a customer paying an order while its partner-payment request is open"),
    ("not_your_customer", "a partner allocating to another partner's customer"),
    ("not_resale_customer", "an allocation to a referral customer; a distributor's referral customer asking for partner payment"),
    ("association_state", "an unassociated customer asking for partner payment"),
    ("association_blocked", "associating a customer in debt; unbinding one that awaits its partner's payment or holds a pickup voucher"),
    ("resale_customer", "a credit line for a resale customer"),
    ("withdrawal_state", "a second withdrawal while one is pending"),
    ("access_denied", "a partner reading a referral customer's balance; a manager outside its customers or roles"),
    ("already_invoiced", "unsubscribing an order whose bill is already invoiced; invoicing a bill invoiced in full"),
    ("debt_outstanding", "a customer in debt asking for an invoice"),
];

/// The 09:00 (UTC+8) start of business on `day` of the month.
fn day_start(day: u32) -> i64 {
    MONTH_START + i64::from(day - 1) * DAY + HOUR
}

fn time(millis: i64) -> String {
    Timestamp::from_millis(millis).to_string()
}

/// `yuan` in fen, the unit of every amount the script keeps.
const fn cny(yuan: i64) -> i64 {
    yuan * 100
}

/// A positive amount in fen as the protocol writes it: `"1234.50"`.
fn money(fen: i64) -> String {
    debug_assert!(fen > 0, "amounts sent are positive");
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A usage amount in units of 10^-8 yuan, with all 8 decimals: `"12.34567891"`.
fn usage_amount(units: i64) -> String {
    format!("{}.{:08}", units / 100_000_000, units % 100_000_000)
}

// ---------------------------------------------------------------------------------------------
// The command.

/// Runs the demo: generates the month, sends it, prints the summary. Fails (exit 1) on any
/// unexpected answer, a disagreement with the script's bookkeeping, or a failed `verify`.
pub fn run(db: &Path, customers: u32, seed: u64) -> Result<ExitCode, String> {
    let started = Instant::now();
    if db.exists() {
        std::fs::remove_file(db).map_err(|error| format!("removing the old {}: {error}", db.display()))?;
    }
    let demo = Demo::generate(customers, seed);
    let scripted = started.elapsed();
    print_intro(&demo, db, seed);
    let ledger = Ledger::open(db).map_err(|error| format!("{}: {error}", db.display()))?;
    let mut tally = Tally::new(demo.model.partners.len());
    let executed = execute(&ledger, &demo.script, &mut tally);
    let checking = Instant::now();
    let books = read_books(&ledger, &demo.model, demo.script.clock + 1000)?;
    print_platform(&books);
    print_money_position(&books);
    print_money_moved(&tally);
    print_partners(&demo.model, &tally, &books);
    print_operators(&demo.model, &tally);
    print_partner_payments(&demo.model, &tally);
    print_associations(&tally);
    print_coupons(&tally, &books);
    print_orders(&tally);
    print_usage(&tally, &books);
    print_withdrawals_and_invoices(&tally);
    print_discounts_and_invoices(&demo.model, &tally);
    print_failures(&tally);
    let checked = print_checks(&ledger, &demo.model, &books);
    let lines = demo.script.lines.len() as u64;
    println!();
    println!(
        "  throughput: {} commands in {:.2} s = {} commands/s",
        thousands(lines),
        executed.as_secs_f64(),
        thousands((lines as f64 / executed.as_secs_f64().max(1e-9)) as u64)
    );
    println!(
        "  wall time: {:.2} s (script {:.2} s, commands {:.2} s, reading back and verify {:.2} s)",
        started.elapsed().as_secs_f64(),
        scripted.as_secs_f64(),
        executed.as_secs_f64(),
        checking.elapsed().as_secs_f64()
    );
    if checked && tally.unexpected_count == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        println!("demo: FAILED (see the unexpected answers and checks above)");
        Ok(ExitCode::FAILURE)
    }
}
