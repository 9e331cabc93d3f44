//! The query subcommands print readable, aligned tables with totals, or with `--json` exactly the
//! ledger's result object; refusals print the error code and message and exit non-zero.
mod scenario;

use partner_ledger::Ledger;
use scenario::{build, path, run, run_ok};
use serde_json::{Value, json};

/// Checks that in the table whose header line contains `column`, every row until the blank line
/// ends that (right-aligned) column at the same place as its header, with a digit.
fn assert_right_aligned(output: &str, column: &str) {
    let lines: Vec<&str> = output.lines().collect();
    let header = lines
        .iter()
        .position(|line| line.split_whitespace().any(|word| word == column))
        .unwrap_or_else(|| panic!("no {column} column in\n{output}"));
    let start = lines[header].find(&format!(" {column}")).expect("column") + 1;
    let end = start + column.len();
    let mut rows = 0;
    for line in lines[header + 1..].iter().take_while(|line| !line.trim().is_empty()) {
        if line.trim_start().starts_with("--") {
            continue;
        }
        let bytes = line.as_bytes();
        assert!(bytes.len() >= end && bytes[end - 1].is_ascii_digit(), "{column} not right-aligned in {line:?}\n{output}");
        assert!(bytes.get(end).is_none_or(|b| *b == b' '), "{column} overflows in {line:?}\n{output}");
        rows += 1;
    }
    assert!(rows > 0, "no rows under {column}\n{output}");
}

#[test]
fn balances_read_as_tables_and_match_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let db = path(&db);
    let table = run_ok(&["balance", "customer:cust.a", "--db", db]);
    assert!(table.starts_with("Balance of customer:cust.a (now)"), "{table}");
    assert!(table.lines().any(|line| line.split_whitespace().collect::<Vec<_>>().get(..2) == Some(&["cash", "739.50"][..])), "{table}");
    assert!(table.contains("Coupons (CPN)") && table.contains("K:a-1") && table.contains("expired"), "{table}");
    assert_right_aligned(&table, "CNY");
    assert_right_aligned(&table, "remaining");

    let platform = run_ok(&["balance", "platform", "--db", db]);
    for account in ["bank", "revenue", "coupon_issuance", "coupon_redeemed", "coupon_expired"] {
        assert!(platform.lines().any(|line| line.trim_start().starts_with(account)), "{account} missing:\n{platform}");
    }
    assert!(platform.contains("8439.12"), "{platform}");

    // --json prints exactly the ledger's result object.
    let printed: Value = serde_json::from_str(&run_ok(&["balance", "partner:dist_1", "--json", "--db", db])).unwrap();
    let ledger = Ledger::open(db).unwrap();
    let direct = ledger.execute_line(&json!({"op": "balance", "actor": "platform", "party": "partner:dist_1"}).to_string()).to_json();
    assert_eq!(printed, direct["result"]);
    assert_eq!(printed["quotas"][0]["balance"], "2550.00");
}

#[test]
fn listings_show_totals_and_paging() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let db = path(&db);

    let statement = run_ok(&["statement", "customer:Ref-3", "--all", "--db", db]);
    assert!(statement.contains("Statement of customer:Ref-3:cash"), "{statement}");
    let net = statement.lines().find(|line| line.contains("net change")).expect("a net change row");
    assert_eq!(net.split_whitespace().last(), Some("30.50"), "{statement}");
    assert!(statement.contains("balance before these rows 0.00, after them 30.50"), "{statement}");
    assert_right_aligned(&statement, "amount");
    let credit = run_ok(&["statement", "customer:Ref-3", "--account", "credit", "--db", db]);
    assert!(credit.contains("-490.00"), "{credit}");

    let bills = run_ok(&["bills", "customer:cust.a", "--all", "--db", db]);
    let total = bills.lines().find(|line| line.trim_start().starts_with("total")).expect("a total row");
    assert_eq!(total.split_whitespace().collect::<Vec<_>>(), ["total", "4569.50", "300.00", "4269.50", "0.00", "0.00", "4269.50", "0.00"]);
    assert_right_aligned(&bills, "invoiceable");
    let cycle = run_ok(&["bills", "customer:cust.a", "--cycle", "2026-02", "--db", db]);
    assert!(cycle.contains("cycle 2026-02 (UTC+8)") && cycle.contains("req-52") && !cycle.contains("O:1 "), "{cycle}");
    // Usage cut below the fen shows in its own column only when there is some.
    let usage = run_ok(&["bills", "customer:C4", "--db", db]);
    assert!(usage.contains("erased") && usage.contains("0.00345600") && usage.contains("150.12"), "{usage}");

    let records = run_ok(&["records", "--limit", "2", "--db", db]);
    assert!(records.contains("rows 1 to 2 of 8; more with --offset 2 or --all"), "{records}");
    assert!(records.contains("月度预算"), "{records}");
    assert_right_aligned(&records, "amount");
    let allocations = run_ok(&["records", "--operation", "allocate", "--partner", "dist_1", "--db", db]);
    let total = allocations.lines().find(|line| line.contains("total allocate")).expect("a total row");
    assert_eq!(total.split_whitespace().last(), Some("25010.00"), "{allocations}");

    let orders = run_ok(&["orders", "cust.a", "--db", db]);
    let total = orders.lines().find(|line| line.trim_start().starts_with("total")).expect("a total row");
    assert_eq!(total.split_whitespace().collect::<Vec<_>>(), ["total", "5550.00", "300.00", "5150.00", "100.00", "1000.00"]);
    assert!(orders.contains("unsubscribed") && orders.contains("CO:1"), "{orders}");
    let order = run_ok(&["order", "O:4", "--db", db]);
    assert!(order.contains("partner:SP.9") && order.contains("change"), "{order}");

    let invoice = run_ok(&["invoice", "I.1", "--db", db]);
    assert!(invoice.starts_with("Invoice I.1 of customer:Ref-3: 50.00 CNY, issued"), "{invoice}");
    assert!(
        invoice.contains("O:3:refund") && invoice.lines().any(|line| line.split_whitespace().collect::<Vec<_>>() == ["total", "50.00"]),
        "{invoice}"
    );
    let invoiceable = run_ok(&["invoiceable", "customer:Ref-3", "--db", db]);
    assert!(invoiceable.lines().any(|line| line.split_whitespace().collect::<Vec<_>>() == ["total", "3509.50"]), "{invoiceable}");
    let withdrawals = run_ok(&["withdrawals", "customer:Ref-3", "--db", db]);
    assert!(withdrawals.contains("rejected") && withdrawals.contains("银行账户有误"), "{withdrawals}");
    let summary = run_ok(&["consumption", "--partner", "SP.9", "--cycle", "2026-01", "--db", db]);
    let total = summary.lines().find(|line| line.trim_start().starts_with("total")).expect("a total row");
    assert_eq!(total.split_whitespace().collect::<Vec<_>>(), ["total", "4250.12", "-120.00", "-20.50", "4109.62"]);

    // --all with --json: every row in one object.
    let all: Value = serde_json::from_str(&run_ok(&["records", "--all", "--json", "--db", db])).unwrap();
    assert_eq!(all["total_count"], 8);
    assert_eq!(all["records"].as_array().map(Vec::len), Some(8));
}

#[test]
fn refusals_print_the_code_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let db = path(&db);
    let (ok, stdout, stderr) = run(&["balance", "customer:nobody", "--db", db]);
    assert!(!ok && stdout.is_empty());
    assert!(stderr.contains("not_found") && stderr.contains("customer:nobody is not registered"), "{stderr}");
    let (ok, _, stderr) = run(&["balance", "customer:C4", "--actor", "partner:dist_1", "--db", db]);
    assert!(!ok && stderr.contains("access_denied"), "{stderr}");
    let (ok, stdout, stderr) = run(&["bills", "customer:C4", "--cycle", "2026-13", "--json", "--db", db]);
    assert!(!ok && stderr.contains("invalid_request"), "{stderr}");
    let error: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(error["error"]["code"], "invalid_request");
    let (ok, _, stderr) = run(&["statement", "customer:C4", "--limit", "500", "--db", db]);
    assert!(!ok && stderr.contains("limit"), "{stderr}");
    // A query never creates a ledger file.
    let missing = dir.path().join("missing.redb");
    let (ok, _, stderr) = run(&["balance", "platform", "--db", path(&missing)]);
    assert!(!ok && stderr.contains("no ledger file"), "{stderr}");
    assert!(!missing.exists());
    // A customer sees itself.
    let own = run_ok(&["balance", "customer:C4", "--actor", "customer:C4", "--db", db]);
    assert!(own.contains("49.88"), "{own}");
}
