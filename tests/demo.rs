//! `partner-ledger demo` runs a month cleanly (every answer as the script expected, `verify` ok),
//! is deterministic for a seed, differs between seeds, and leaves a file `verify` accepts.

use std::path::Path;
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_partner-ledger");

fn run(args: &[&str], db: &Path) -> Output {
    Command::new(BINARY).args(args).arg("--db").arg(db).output().expect("the binary runs")
}

/// Runs a 300-customer demo and returns its summary (standard output).
fn demo(db: &Path, seed: u64) -> String {
    let output = run(&["demo", "--customers", "300", "--seed", &seed.to_string()], db);
    let stdout = String::from_utf8(output.stdout).expect("the summary is UTF-8");
    assert!(output.status.success(), "demo exited with {}:\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    stdout
}

/// The first line of `summary` that starts (after indentation) with `start`.
fn line<'a>(summary: &'a str, start: &str) -> &'a str {
    summary
        .lines()
        .map(str::trim_start)
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{summary}"))
}

/// The count (first number) on the first line of `summary` that starts with `start`.
fn count(summary: &str, start: &str) -> u64 {
    let rest = &line(summary, start)[start.len()..];
    rest.split_whitespace().next().and_then(|count| count.replace(',', "").parse().ok()).unwrap_or_else(|| panic!("no count after {start}"))
}

/// `"-1,234.56"` in fen.
fn fen(text: &str) -> i64 {
    let text = text.trim().replace(',', "");
    let (negative, digits) = text.strip_prefix('-').map_or((false, text.as_str()), |rest| (true, rest));
    let (units, cents) = digits.split_once('.').expect("an amount with cents");
    let magnitude = units.parse::<i64>().expect("yuan") * 100 + cents.parse::<i64>().expect("fen");
    if negative { -magnitude } else { magnitude }
}

/// The summary without the lines that measure speed, which vary from run to run.
fn without_timing(summary: &str) -> Vec<&str> {
    summary.lines().filter(|line| !line.trim_start().starts_with("throughput:") && !line.trim_start().starts_with("wall time:")).collect()
}

#[test]
fn demo_is_clean_deterministic_and_verifiable() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("demo.redb");

    let first = demo(&db, 7);
    assert!(line(&first, "verify:").starts_with("verify: ok"), "verify verdict:\n{first}");
    let answers = first.lines().find(|line| line.contains(" answers: ")).expect("a line accounting for all answers");
    assert!(answers.ends_with(" 0 unexpected"), "every answer as expected:\n{first}");
    assert!(line(&first, "bookkeeping:").contains("match"), "balances agree with the script:\n{first}");
    for section in [
        "Platform accounts",
        "Where the money is",
        "Partners at month end",
        "Operators and customer managers",
        "Partner payments",
        "Associations during the month",
        "Coupons",
        "Orders",
        "On-demand usage and debt",
        "Withdrawals",
        "Invoices",
        "Pickup vouchers, discounts and invoices",
    ] {
        assert!(first.contains(section), "section {section} missing:\n{first}");
    }
    // Refusals the script provokes, the v2 rules' among them.
    for code in [
        "insufficient_funds",
        "coupon_not_usable",
        "order_expired",
        "order_state",
        "not_your_customer",
        "not_resale_customer",
        "association_state",
        "association_blocked",
        "resale_customer",
        "withdrawal_state",
        "access_denied",
        "already_invoiced",
        "debt_outstanding",
        "invalid_request",
        "discount_not_usable",
        "duplicate",
    ] {
        assert!(count(&first, code) > 0, "no {code} in a 300-customer month:\n{first}");
    }
    // The v2 flows all happen in a 300-customer month.
    for start in [
        "admin operators registered",
        "finance operators registered",
        "customer_manager operators registered",
        "customer managers assigned",
        "managers' reads of their customers' bills",
        "requested by customers",
        "paid by the partner",
        "rejected by the partner",
        "then paid by the customer itself",
        "awaiting-payment lists read by partners",
        "unassociated customers joined as resale",
        "referral customers switched to resale",
        "resale customers unbound",
        "refunds reclaimed by a former partner",
        "SLA credits to resale customers",
        "redeemed on usage",
        "by resale customers",
        "customers registered with a name",
        "pickup vouchers issued",
        "business discounts granted",
        "orders paid with a discount",
        "invoices by amount",
        "invoices by billing cycle",
        "invoices by bills",
    ] {
        assert!(count(&first, start) > 0, "no {start} in a 300-customer month:\n{first}");
    }
    // Customers' allocated funds and their own cash are shown apart, and the position adds up.
    let amount = |start: &str| -> i64 {
        let rest = &line(&first, start)[start.len()..];
        rest.split_whitespace().find(|cell| cell.contains('.')).map(fen).unwrap_or_else(|| panic!("no amount after {start}"))
    };
    let (allocated, own) = (amount("customers' allocated"), amount("customers' own cash"));
    assert!(allocated > 0 && own > 0, "money position:\n{first}");
    let parts = amount("platform revenue")
        + amount("partners' cash")
        + allocated
        + own
        + amount("less credit in use (partners, customers)")
        + amount("less customer debt");
    assert_eq!(parts, amount("= net money in from the bank"), "the money position adds up:\n{first}");
    // Pickup vouchers pay part of some orders; payable is the official prices less discounts.
    assert!(amount("pickup vouchers redeemed on orders") > 0, "pickup vouchers on orders:\n{first}");
    assert_eq!(
        amount("payments at official prices") - amount("orders paid with a discount"),
        amount("payable (after discounts)"),
        "payable = official prices - discounts:\n{first}"
    );
    assert!(amount("paid (payable less coupon value)") < amount("payable (after discounts)"), "{first}");
    assert!(line(&first, "throughput:").ends_with("commands/s"), "throughput line:\n{first}");

    let second = demo(&db, 7);
    assert_eq!(without_timing(&first), without_timing(&second), "the same seed gives the same month");

    let other = demo(&dir.path().join("other.redb"), 8);
    for start in ["revenue", "bank", "coupon_redeemed", "journal head:"] {
        assert_ne!(line(&first, start), line(&other, start), "another seed gives other totals");
    }

    let verified = run(&["verify"], &db);
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "verify exited with {}: {stdout}", verified.status);
    assert!(stdout.starts_with("verify: ok"), "verify says: {stdout}");
}
