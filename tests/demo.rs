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
    for section in
        ["Platform accounts", "Partners at month end", "Coupons", "Orders", "On-demand usage and debt", "Withdrawals", "Invoices"]
    {
        assert!(first.contains(section), "section {section} missing:\n{first}");
    }
    for code in [
        "insufficient_funds",
        "coupon_not_usable",
        "order_expired",
        "not_your_customer",
        "already_invoiced",
        "debt_outstanding",
        "duplicate",
    ] {
        let count: u64 =
            line(&first, code).split_whitespace().nth(1).and_then(|count| count.replace(',', "").parse().ok()).expect("a count");
        assert!(count > 0, "no {code} in a 300-customer month:\n{first}");
    }
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
