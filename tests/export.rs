//! `partner-ledger export` writes the journal so that other tools agree with the ledger: the CSV
//! rows sum to every balance; `hledger -f FILE bal` shows exactly the balances of the `balance`
//! query, account by account; `bean-check` accepts the Beancount file and `bean-query` sums to the
//! same balances through the documented (reversible) account-name mapping. Checked on a month
//! with every kind of posting and on the `demo` platform.
//!
//! When hledger or Beancount are missing, the checks that need them fail if `CI` is set (CI
//! installs them, see `.ci/export-check`) and are skipped with a notice otherwise.
mod scenario;

use scenario::{build, path, run, run_ok};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::Command;

/// Balances per ledger account name (`partner:P1:quota:Q:1`): (fen, asset).
type Balances = BTreeMap<String, (i128, String)>;

fn fen(text: &str) -> i128 {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, "00"));
    let fraction = format!("{fraction:0<2}");
    assert_eq!(fraction.len(), 2, "{text}");
    let magnitude = units.replace(',', "").parse::<i128>().unwrap() * 100 + fraction.parse::<i128>().unwrap();
    if negative { -magnitude } else { magnitude }
}

/// The balances the ledger's `balance` query reports (through `partner-ledger balance --json`)
/// for the platform and every party that appears in the CSV export.
fn ledger_balances(db: &str, csv: &str) -> Balances {
    let mut parties = BTreeSet::from(["platform".to_owned()]);
    for row in csv.lines().skip(1) {
        let account = row.split(',').nth(5).expect("account column");
        let mut parts = account.splitn(3, ':');
        match (parts.next(), parts.next()) {
            (Some(owner @ ("partner" | "customer")), Some(id)) => parties.insert(format!("{owner}:{id}")),
            _ => false,
        };
    }
    let mut balances = Balances::new();
    let mut put = |name: String, amount: &Value, asset: &str, negate: bool| {
        let value = fen(amount.as_str().expect("amount string"));
        balances.insert(name, (if negate { -value } else { value }, asset.to_owned()));
    };
    for party in &parties {
        let result: Value = serde_json::from_str(&run_ok(&["balance", party, "--json", "--db", db])).expect("balance JSON");
        if party == "platform" {
            for (account, amount) in result["accounts"].as_object().expect("accounts") {
                let asset = if account.starts_with("coupon") { "CPN" } else { "CNY" };
                put(format!("platform:{account}"), amount, asset, false);
            }
            continue;
        }
        put(format!("{party}:cash"), &result["cash"], "CNY", false);
        put(format!("{party}:credit"), &result["credit_used"], "CNY", true);
        if party.starts_with("customer:") {
            put(format!("{party}:arrears"), &result["arrears"], "CNY", true);
            put(format!("{party}:allocated"), &result["allocated"], "CNY", false);
        }
        for quota in result["quotas"].as_array().expect("quotas") {
            put(format!("{party}:quota:{}", quota["quota"].as_str().unwrap()), &quota["balance"], "CPN", false);
        }
        for coupon in result["coupons"].as_array().expect("coupons") {
            put(format!("{party}:coupon:{}", coupon["coupon"].as_str().unwrap()), &coupon["remaining"], "CPN", false);
        }
    }
    balances
}

/// Every account of `expected` and `actual` has the same amount (absent = zero) and asset.
fn assert_same(tool: &str, expected: &Balances, actual: &Balances) {
    let names: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    let mut mismatches = Vec::new();
    for name in names {
        let want = expected.get(name).map_or(0, |(amount, _)| *amount);
        let got = actual.get(name).map_or(0, |(amount, _)| *amount);
        let assets = (expected.get(name).map(|(_, asset)| asset), actual.get(name).map(|(_, asset)| asset));
        let asset_differs = matches!(assets, (Some(a), Some(b)) if a != b) && want != 0;
        if want != got || asset_differs {
            mismatches.push(format!("{name}: ledger {want} {:?}, {tool} {got} {:?}", assets.0, assets.1));
        }
    }
    assert!(mismatches.is_empty(), "{tool} disagrees with the ledger on {} accounts:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(actual.values().any(|(amount, _)| *amount != 0), "{tool} shows no balances at all");
}

/// Sums the CSV rows per account; also checks each transaction balances per asset.
fn csv_balances(csv: &str) -> Balances {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("seq,at,request,actor,op,account,asset,amount"));
    let mut balances = Balances::new();
    let mut per_transaction: BTreeMap<(u64, String), i128> = BTreeMap::new();
    for row in lines {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields.len(), 8, "{row}");
        let amount = fen(fields[7]);
        assert_ne!(amount, 0, "{row}");
        let entry = balances.entry(fields[5].to_owned()).or_insert((0, fields[6].to_owned()));
        assert_eq!(entry.1, fields[6], "{row}: one asset per account");
        entry.0 += amount;
        *per_transaction.entry((fields[0].parse().unwrap(), fields[6].to_owned())).or_default() += amount;
    }
    assert!(per_transaction.values().all(|sum| *sum == 0), "a transaction does not balance: {per_transaction:?}");
    balances
}

/// Whether `tool` runs; when it is missing: a failure under CI, a skip notice otherwise.
fn tool_present(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is not installed, and CI is set: .ci/export-check installs it (apt-get install hledger beancount)"
        );
        // Written to the stream itself, not through `eprintln!`, so the test harness shows it.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {tool} is not on PATH; install it (apt-get install hledger beancount) to check the export with it"
        );
    }
    found
}

fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|error| panic!("{program}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{program} {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// `hledger bal -O csv` as ledger account names (a `/` inside a quota or coupon id is its `:`).
fn hledger_balances(file: &str) -> Balances {
    let csv = tool("hledger", &["-f", file, "bal", "-O", "csv"]);
    let mut balances = Balances::new();
    for row in csv.lines().skip(1) {
        let fields: Vec<&str> = row.split("\",\"").map(|field| field.trim_matches('"')).collect();
        assert_eq!(fields.len(), 2, "{row}");
        if fields[0] == "total" {
            assert_eq!(fields[1], "0", "hledger's total is not zero");
            continue;
        }
        let (amount, asset) = fields[1].split_once(' ').unwrap_or_else(|| panic!("one commodity per account: {row}"));
        let mut name = fields[0].to_owned();
        for kind in [":quota:", ":coupon:"] {
            if let Some(at) = name.find(kind) {
                let id = name[at + kind.len()..].replace('/', ":");
                name = format!("{}{kind}{id}", &name[..at]);
            }
        }
        balances.insert(name, (fen(amount), asset.to_owned()));
    }
    balances
}

/// Inverse of the Beancount component escaping (docs/cli.md).
fn decode_component(component: &str) -> String {
    let body = component.strip_prefix("0-0").unwrap_or(component);
    let mut id = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        id.push(match c {
            '-' => match chars.next() {
                Some('-') => '-',
                Some('U') => '_',
                Some('D') => '.',
                Some('C') => ':',
                other => panic!("bad escape {other:?} in {component}"),
            },
            c => c,
        });
    }
    id
}

/// A Beancount account name back to the ledger's account name.
fn decode_beancount(name: &str) -> String {
    let parts: Vec<&str> = name.split(':').collect();
    let snake = |kind: &str| match kind {
        "CouponIssuance" => "coupon_issuance".to_owned(),
        "CouponRedeemed" => "coupon_redeemed".to_owned(),
        "CouponExpired" => "coupon_expired".to_owned(),
        other => other.to_lowercase(),
    };
    match parts.as_slice() {
        [_, "Platform", kind] => format!("platform:{}", snake(kind)),
        [_, owner, id, kind] => format!("{}:{}:{}", owner.to_lowercase(), decode_component(id), snake(kind)),
        [_, owner, id, kind, sub] => format!("{}:{}:{}:{}", owner.to_lowercase(), decode_component(id), snake(kind), decode_component(sub)),
        _ => panic!("unexpected Beancount account {name}"),
    }
}

/// `bean-query` sums per account, as ledger account names.
fn beancount_balances(file: &str) -> Balances {
    let csv = tool("bean-query", &["-f", "csv", file, "SELECT account, sum(position) AS balance GROUP BY account ORDER BY account"]);
    let mut balances = Balances::new();
    for row in csv.lines().skip(1) {
        let (account, balance) = row.split_once(',').unwrap_or_else(|| panic!("{row}"));
        let balance = balance.trim();
        if balance.is_empty() {
            balances.insert(decode_beancount(account.trim()), (0, String::new()));
            continue;
        }
        let (amount, asset) = balance.split_once(' ').unwrap_or_else(|| panic!("{row}"));
        balances.insert(decode_beancount(account.trim()), (fen(amount), asset.trim().to_owned()));
    }
    balances
}

/// Exports `db` in all three formats into `dir` and checks each against the ledger's balances.
fn check_exports(dir: &Path, db: &str) {
    let journal = dir.join("export.journal");
    let beancount = dir.join("export.beancount");
    let csv_file = dir.join("export.csv");
    run_ok(&["export", "--format", "hledger", "--db", db, "--output", path(&journal)]);
    run_ok(&["export", "--format", "beancount", "--db", db, "--output", path(&beancount)]);
    let csv = run_ok(&["export", "--format", "csv", "--db", db]);
    run_ok(&["export", "--format", "csv", "--db", db, "--output", path(&csv_file)]);
    assert_eq!(std::fs::read_to_string(&csv_file).unwrap(), csv, "--output and standard output agree");

    let expected = ledger_balances(db, &csv);
    assert_same("csv", &expected, &csv_balances(&csv));
    if tool_present("hledger") {
        assert_same("hledger", &expected, &hledger_balances(path(&journal)));
        tool("hledger", &["-f", path(&journal), "check", "--strict"]);
    }
    if tool_present("bean-check") {
        let output = tool("bean-check", &[path(&beancount)]);
        assert!(output.trim().is_empty(), "bean-check complained:\n{output}");
        assert_same("beancount", &expected, &beancount_balances(path(&beancount)));
    }
}

#[test]
fn a_month_of_everything_exports_to_matching_balances() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    check_exports(dir.path(), path(&db));
    let csv = run_ok(&["export", "--format", "csv", "--db", path(&db)]);
    // Atomic members are named by their own op (the operator who sent it is the actor); ids with
    // ':' stay whole in the account column.
    assert!(csv.contains(",req-46,operator:fin.1,recover,partner:Res-1.a:cash,CNY,-5.00"), "{csv}");
    assert!(csv.contains(",customer:cust.a:coupon:K:a-1,CPN,-300.00"), "{csv}");
    // A customer's allocated funds are an account of their own; a refund reclaimed by the former
    // partner lands in that partner's cash.
    assert!(csv.contains(",req-46,operator:fin.1,allocate,customer:cust.a:allocated,CNY,10.00"), "{csv}");
    assert!(csv.contains(",req-70,customer:C_2,unsubscribe,partner:Res-1.a:cash,CNY,50.00"), "{csv}");
}

#[test]
fn the_demo_platform_exports_to_matching_balances() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.redb");
    run_ok(&["demo", "--db", path(&db), "--customers", "40"]);
    check_exports(dir.path(), path(&db));
}

#[test]
fn formats_use_utc8_dates_and_leave_out_transactions_without_postings() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let db = path(&db);
    let journal = run_ok(&["export", "--format", "hledger", "--db", db]);
    // 2026-01-31T20:00:00Z is 2026-02-01 in UTC+8.
    assert!(journal.contains("2026-02-01 consume req-53  ; seq:53, at:2026-01-31T20:00:00Z, actor:platform"), "{journal}");
    assert!(journal.contains("partner:dist_1:quota:Q/2026.01"), "{journal}");
    assert!(journal.contains("account customer:U.5:allocated  ; type:A"), "{journal}");
    assert!(!journal.contains("register_partner") && !journal.contains("place_order"), "{journal}");
    let beancount = run_ok(&["export", "--format", "beancount", "--db", db]);
    assert!(beancount.contains("option \"operating_currency\" \"CNY\""));
    assert!(beancount.contains("open Assets:Partner:0-0dist-U1:Quota:Q-C2026-D01 CPN"), "{beancount}");
    assert!(beancount.contains("open Liabilities:Customer:C4:Arrears CNY"), "{beancount}");
    assert!(beancount.contains("2026-02-01 * \"consume req-53\""), "{beancount}");
    assert!(beancount.contains("open Assets:Customer:U-D5:Allocated CNY"), "{beancount}");
    // Every account is opened once, before (or on the day of) its first use.
    let opens: Vec<&str> = beancount.lines().filter(|line| line.contains(" open ")).collect();
    let unique: BTreeSet<&str> = opens.iter().map(|line| line.split(' ').nth(2).unwrap()).collect();
    assert_eq!(opens.len(), unique.len());
    // A missing ledger is an error, not an empty export.
    let (ok, _, stderr) = run(&["export", "--format", "csv", "--db", path(&dir.path().join("none.redb"))]);
    assert!(!ok && stderr.contains("no ledger file"), "{stderr}");
}
