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

/// The words of the first line of `table` whose first word is `label`.
fn row<'a>(table: &'a str, label: &str) -> Vec<&'a str> {
    let line = table.lines().find(|line| line.split_whitespace().next() == Some(label));
    line.unwrap_or_else(|| panic!("no {label} row in\n{table}")).split_whitespace().collect()
}

#[test]
fn balances_read_as_tables_and_match_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let db = path(&db);
    let table = run_ok(&["balance", "customer:cust.a", "--db", db]);
    assert!(table.starts_with("Balance of customer:cust.a (now)"), "{table}");
    // A resale customer's own cash (an SLA credit) and its partner's allocated funds, apart.
    assert_eq!(row(&table, "cash")[..2], ["cash", "25.00"], "{table}");
    assert_eq!(row(&table, "allocated")[..2], ["allocated", "839.50"], "{table}");
    assert_eq!(row(&table, "withdrawable")[..2], ["withdrawable", "25.00"], "{table}");
    assert!(table.contains("Coupons (CPN)") && table.contains("K:a-1") && table.contains("expired"), "{table}");
    assert_right_aligned(&table, "CNY");
    assert_right_aligned(&table, "remaining");

    // An unassociated customer's own money stays its own when it becomes resale.
    let joined = run_ok(&["balance", "customer:U.5", "--db", db]);
    assert_eq!(row(&joined, "cash")[..2], ["cash", "400.00"], "{joined}");
    assert_eq!(row(&joined, "allocated")[..2], ["allocated", "250.00"], "{joined}");
    assert_eq!(row(&joined, "over-invoiced")[..2], ["over-invoiced", "0.00"], "{joined}");
    // Before the allocation; withdrawable is a decision about now, so it is left out with --as-of.
    let before = run_ok(&["balance", "customer:U.5", "--as-of", "2026-02-05T01:00:00Z", "--db", db]);
    assert_eq!(row(&before, "allocated")[..2], ["allocated", "0.00"], "{before}");
    assert!(!before.contains("withdrawable  ") && before.contains("not shown with --as-of"), "{before}");
    assert_right_aligned(&before, "CNY");
    // Partners have no allocated account; their withdrawable keeps their customers' debt back.
    let partner = run_ok(&["balance", "partner:SP.9", "--db", db]);
    assert!(!partner.contains("allocated") && partner.contains("resale customers' debt"), "{partner}");

    let platform = run_ok(&["balance", "platform", "--db", db]);
    for account in ["bank", "revenue", "coupon_issuance", "coupon_redeemed", "coupon_expired"] {
        assert!(platform.lines().any(|line| line.trim_start().starts_with(account)), "{account} missing:\n{platform}");
    }
    assert!(platform.contains("8479.12"), "{platform}");

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
    assert_eq!(net.split_whitespace().last(), Some("5.50"), "{statement}");
    assert!(statement.contains("balance before these rows 0.00, after them 5.50"), "{statement}");
    assert_right_aligned(&statement, "amount");
    let credit = run_ok(&["statement", "customer:Ref-3", "--account", "credit", "--db", db]);
    assert!(credit.contains("-490.00"), "{credit}");
    // The allocated account, line by line, with the request of each line.
    let allocated = run_ok(&["statement", "customer:U.5", "--account", "allocated", "--db", db]);
    assert!(allocated.contains("Statement of customer:U.5:allocated"), "{allocated}");
    assert_eq!(row(&allocated, "66")[2..], ["req-66", "allocate", "partner:SP.9", "300.00", "300.00"], "{allocated}");
    assert_eq!(row(&allocated, "67")[2..], ["req-67", "consume", "platform", "-50.00", "250.00"], "{allocated}");
    assert!(allocated.contains("balance before these rows 0.00, after them 250.00"), "{allocated}");
    assert_right_aligned(&allocated, "amount");

    let bills = run_ok(&["bills", "customer:cust.a", "--all", "--db", db]);
    assert_eq!(row(&bills, "total"), ["total", "4444.50", "300.00", "4169.50", "-25.00", "0.00", "0.00", "4144.50", "0.00"], "{bills}");
    assert_eq!(row(&bills, "O:1")[4..8], ["5300.00", "300.00", "5000.00", "0.00"], "{bills}");
    assert_right_aligned(&bills, "invoiceable");
    assert_right_aligned(&bills, "allocated");
    let cycle = run_ok(&["bills", "customer:cust.a", "--cycle", "2026-02", "--db", db]);
    assert!(cycle.contains("cycle 2026-02 (UTC+8)") && cycle.contains("req-53") && !cycle.contains("O:1 "), "{cycle}");
    // The bills a partner paid: a referral customer's stays that customer's to invoice.
    let paid = run_ok(&["bills", "partner:SP.9", "--db", db]);
    assert_eq!(row(&paid, "O:4").last(), Some(&"partner:SP.9"), "{paid}");
    assert_eq!(row(&paid, "O:8").last(), Some(&"customer:Ref-3"), "{paid}");
    // Usage cut below the fen shows in its own column only when there is some.
    let usage = run_ok(&["bills", "customer:C4", "--db", db]);
    assert!(usage.contains("erased") && usage.contains("0.00345600") && usage.contains("150.12"), "{usage}");

    let records = run_ok(&["records", "--limit", "2", "--db", db]);
    assert!(records.contains("rows 1 to 2 of 11; more with --offset 2 or --all"), "{records}");
    assert!(records.contains("月度预算"), "{records}");
    assert_right_aligned(&records, "amount");
    let allocations = run_ok(&["records", "--operation", "allocate", "--partner", "dist_1", "--db", db]);
    let total = allocations.lines().find(|line| line.contains("total allocate")).expect("a total row");
    assert_eq!(total.split_whitespace().last(), Some("25010.00"), "{allocations}");
    // Unbinding C_2 took its allocated funds back; the refund of what they paid followed them. Each
    // record names the request (transfer) that wrote it.
    let reclaims = run_ok(&["records", "--partner", "Res-1.a", "--db", db]);
    assert_eq!(row(&reclaims, "69")[2..], ["req-69", "unbind_reclaim", "Res-1.a", "customer:C_2", "1950.00", "-"], "{reclaims}");
    assert_eq!(row(&reclaims, "70")[2..], ["req-70", "refund_reclaim", "Res-1.a", "customer:C_2", "50.00", "-"], "{reclaims}");
    let refund = run_ok(&["records", "--operation", "refund_reclaim", "--db", db]);
    assert!(refund.lines().any(|line| line.split_whitespace().collect::<Vec<_>>() == ["total", "refund_reclaim", "50.00"]), "{refund}");

    let orders = run_ok(&["orders", "cust.a", "--db", db]);
    assert_eq!(row(&orders, "total"), ["total", "5450.00", "300.00", "5150.00", "0.00", "0.00", "1000.00"], "{orders}");
    assert!(orders.contains("unsubscribed") && orders.contains("CO:1"), "{orders}");
    assert_right_aligned(&orders, "allocated");
    let order = run_ok(&["order", "O:4", "--db", db]);
    assert!(order.contains("partner:SP.9") && order.contains("change") && order.contains("C4"), "{order}");

    let invoice = run_ok(&["invoice", "I.1", "--db", db]);
    assert!(invoice.starts_with("Invoice I.1 of customer:Ref-3: 50.00 CNY, issued"), "{invoice}");
    assert!(
        invoice.contains("O:3:refund") && invoice.lines().any(|line| line.split_whitespace().collect::<Vec<_>>() == ["total", "50.00"]),
        "{invoice}"
    );
    let invoiceable = run_ok(&["invoiceable", "customer:Ref-3", "--db", db]);
    assert!(invoiceable.lines().any(|line| line.split_whitespace().collect::<Vec<_>>() == ["total", "3574.50"]), "{invoiceable}");
    let withdrawals = run_ok(&["withdrawals", "customer:Ref-3", "--db", db]);
    assert!(withdrawals.contains("rejected") && withdrawals.contains("银行账户有误"), "{withdrawals}");
    let summary = run_ok(&["consumption", "--partner", "SP.9", "--cycle", "2026-01", "--db", db]);
    let total = summary.lines().find(|line| line.trim_start().starts_with("total")).expect("a total row");
    // Consumption, payable (after discounts) and paid (less coupons): SP.9's customers had neither in January.
    assert_eq!(total.split_whitespace().collect::<Vec<_>>(), ["total", "4250.12", "4250.12", "4250.12", "-120.00", "-20.50", "4109.62"]);

    // --all with --json: every row in one object.
    let all: Value = serde_json::from_str(&run_ok(&["records", "--all", "--json", "--db", db])).unwrap();
    assert_eq!(all["total_count"], 11);
    assert_eq!(all["records"].as_array().map(Vec::len), Some(11));
}

#[test]
fn partner_payments_and_operators_read_their_scope() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let db = path(&db);
    let at = ["--at", "2026-02-08T00:00:00Z"];
    // Without a customer: every order the actor may see; a partner's "awaiting payment" list.
    let awaiting = run_ok(&["orders", "--actor", "partner:SP.9", "--partner-payment", "requested", at[0], at[1], "--db", db]);
    assert!(awaiting.starts_with("Orders visible to partner:SP.9, partner payment requested"), "{awaiting}");
    assert_eq!(row(&awaiting, "O:10")[..7], ["O:10", "U.5", "-", "new", "-", "pending_payment", "-"], "{awaiting}");
    assert!(awaiting.contains("requested") && awaiting.contains("rows 1 to 1 of 1"), "{awaiting}");
    let rejected = run_ok(&["orders", "--partner-payment", "rejected", "--db", db]);
    assert_eq!(row(&rejected, "O:7")[..8], ["O:7", "Ref-3", "-", "renew", "-", "paid", "customer:Ref-3", "rejected"], "{rejected}");
    // Of a referral customer, its partner sees only the orders it paid or was asked to pay.
    let referral = run_ok(&["orders", "Ref-3", "--actor", "partner:SP.9", "--db", db]);
    assert!(referral.contains("O:7") && referral.contains("O:8") && !referral.contains("O:3 "), "{referral}");
    let json: Value = serde_json::from_str(&run_ok(&["orders", "--all", "--json", "--db", db])).unwrap();
    assert_eq!(json["total_count"], 10);
    assert_eq!(json["orders"][0]["paid"]["allocated"], "5000.00");

    // An operator acts for its partner: dist_1's finance operator reads dist_1's scope only.
    let finance = run_ok(&["balance", "customer:cust.a", "--actor", "operator:fin.1", "--db", db]);
    assert_eq!(row(&finance, "allocated")[..2], ["allocated", "839.50"], "{finance}");
    let scope = run_ok(&["orders", "--actor", "operator:fin.1", "--all", "--db", db]);
    assert!(scope.starts_with("Orders visible to operator:fin.1") && scope.contains("rows 1 to 3 of 3"), "{scope}");
    let (ok, _, stderr) = run(&["orders", "Ref-3", "--actor", "operator:fin.1", "--db", db]);
    assert!(!ok && stderr.contains("access_denied"), "{stderr}");
    // A partner may read its referral customer's bills, never its balance.
    run_ok(&["bills", "customer:Ref-3", "--actor", "partner:SP.9", "--db", db]);
    let (ok, _, stderr) = run(&["balance", "customer:Ref-3", "--actor", "partner:SP.9", "--db", db]);
    assert!(!ok && stderr.contains("access_denied"), "{stderr}");
    let (ok, _, stderr) = run(&["statement", "partner:SP.9", "--account", "allocated", "--db", db]);
    assert!(!ok && stderr.contains("invalid_request"), "{stderr}");
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

#[test]
fn part2_listings_read_as_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = scenario::build_part2(dir.path());
    let db = path(&db);
    let at = ["--at", "2026-02-11T00:00:00Z"];
    let args = |extra: &[&'static str]| -> String {
        let mut all: Vec<&str> = extra.to_vec();
        all.extend([at[0], at[1], "--db", db]);
        run_ok(&all)
    };
    let customers = args(&["customers", "--partner", "dist_1"]);
    assert!(customers.starts_with("Customers of partner:dist_1"), "{customers}");
    assert_eq!(row(&customers, "N.6")[..5], ["N.6", "华东零售", "ext-006", "dist_1", "resale"], "{customers}");
    assert_eq!(row(&customers, "cust.a").last(), Some(&"mgr.1"), "{customers}");
    assert!(customers.contains("rows 1 to 2 of 2"), "{customers}");
    let managed = args(&["customers", "--actor", "operator:mgr.1"]);
    assert!(managed.contains("cust.a") && !managed.contains("N.6") && managed.contains("rows 1 to 1 of 1"), "{managed}");

    let resellers = args(&["resellers", "--actor", "partner:dist_1"]);
    assert_eq!(row(&resellers, "Res-1.a")[..3], ["Res-1.a", "dist_1", "2026-01-01T01:00:00Z"], "{resellers}");

    let quotas = args(&["quotas", "--kind", "pickup_voucher"]);
    assert_eq!(row(&quotas, "PQ:1")[..5], ["PQ:1", "dist_1", "pickup_voucher", "1000.00", "800.00"], "{quotas}");
    assert_eq!(row(&quotas, "total"), ["total", "1000.00", "800.00"], "{quotas}");
    assert_right_aligned(&quotas, "balance");
    let carved = args(&["quotas", "--parent-quota", "Q:2026.01", "--status", "reclaimed"]);
    assert!(carved.contains("Q:res-1") && carved.contains("rows 1 to 1 of 1"), "{carved}");

    let coupons = args(&["coupons", "cust.a", "--all"]);
    let voucher = row(&coupons, "PV:1");
    assert_eq!(voucher[3..6], ["pickup_voucher", "200.00", "50.00"], "{coupons}");
    assert_eq!(voucher[8..], ["any", "0.30", "new", "usable"], "{coupons}");
    assert_eq!(row(&coupons, "K:a-1")[9..], ["-", "-", "used"], "{coupons}");
    assert_right_aligned(&coupons, "remaining");
    let usable = args(&["coupons", "--kind", "pickup_voucher", "--status", "usable", "--json"]);
    let usable: Value = serde_json::from_str(&usable).unwrap();
    assert_eq!(usable["total_count"], 1);
    assert_eq!(usable["coupons"][0]["order_kinds"], json!(["new"]));

    let redeemed = args(&["coupon-records", "--coupon", "PV:1", "--operation", "redeem"]);
    assert_eq!(row(&redeemed, "total"), ["total", "redeem", "150.00"], "{redeemed}");
    let history = args(&["coupon-records", "--quota", "PQ:1", "--all"]);
    assert!(history.contains("issue_quota") && history.contains("issue_coupon") && history.contains("rows 1 to 3 of 3"), "{history}");
    assert_right_aligned(&history, "amount");

    let operators = args(&["operators", "--partner", "dist_1"]);
    assert_eq!(row(&operators, "fin.1"), ["fin.1", "dist_1", "finance", "0"], "{operators}");
    assert_eq!(row(&operators, "mgr.1"), ["mgr.1", "dist_1", "customer_manager", "1"], "{operators}");
    let (ok, _, stderr) = run(&["operators", "--actor", "customer:cust.a", "--db", db]);
    assert!(!ok && stderr.contains("access_denied"), "{stderr}");

    // Adjust records name their transfer; the filter takes a request id.
    let transfer = args(&["records", "--transfer", "req-11"]);
    assert!(transfer.contains("transfer") && transfer.contains("rows 1 to 1 of 1"), "{transfer}");
    assert_eq!(row(&transfer, "11")[2..5], ["req-11", "allocate", "dist_1"], "{transfer}");

    // The discount shows on the bills; payable is after the discount, paid after coupons.
    let bills = args(&["bills", "customer:Ref-3", "--cycle", "2026-02"]);
    assert_eq!(row(&bills, "O:12")[4..7], ["170.00", "30.00", "0.00"], "{bills}");
    let summary = args(&["consumption", "--partner", "dist_1", "--cycle", "2026-02", "--manager", "mgr.1"]);
    assert!(summary.contains("managed by operator:mgr.1"), "{summary}");
    assert_eq!(row(&summary, "cust.a")[..5], ["cust.a", "mgr.1", "507.00", "507.00", "357.00"], "{summary}");
    let referral = args(&["consumption", "--partner", "SP.9", "--cycle", "2026-02", "--json"]);
    let referral: Value = serde_json::from_str(&referral).unwrap();
    let ref3 = referral["customers"].as_array().unwrap().iter().find(|row| row["customer"] == "Ref-3").unwrap().clone();
    assert_eq!((&ref3["consumption"], &ref3["payable"], &ref3["paid"]), (&json!("365.00"), &json!("335.00"), &json!("335.00")));

    // Invoices by cycle and by bills.
    let by_bills = args(&["invoice", "I.3"]);
    assert!(by_bills.starts_with("Invoice I.3 of customer:cust.a: 350.00 CNY, issued"), "{by_bills}");
    let by_cycle = args(&["invoice", "I.2", "--json"]);
    let by_cycle: Value = serde_json::from_str(&by_cycle).unwrap();
    let bills: Vec<&str> = by_cycle["matched"].as_array().unwrap().iter().filter_map(|row| row["bill"].as_str()).collect();
    assert!(bills.contains(&"O:12") && bills.contains(&"O:13") && bills.contains(&"O:7"), "{by_cycle}");
}
