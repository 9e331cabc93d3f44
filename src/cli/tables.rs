//! The query subcommands (`balance`, `statement`, `records`, `bills`, `invoice`, `orders`, …):
//! each sends one SPEC section 4 query as a JSON line through `Ledger::execute_line` and prints
//! the answer as aligned tables for a person, or with `--json` the raw result object.
//!
//! Only presentation lives here: the ledger decides scope, validity and every number; the totals
//! rows are sums of the amounts shown.

use clap::{Args, Subcommand, ValueEnum};
use partner_ledger::{Amount, Ledger};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Rows per page asked of the ledger with `--all` (the protocol's maximum).
const PAGE_ROWS_MAX: u64 = 100;

/// Options every query subcommand takes.
#[derive(Args, Debug, Clone)]
pub struct QueryOptions {
    /// The ledger file.
    #[arg(long, default_value = super::DEFAULT_DB)]
    pub db: PathBuf,
    /// Who asks: `platform`, `partner:<id>` or `customer:<id>`; the answer follows its scope.
    #[arg(long, default_value = "platform")]
    pub actor: String,
    /// Evaluate time-dependent statuses (coupons, quotas, order deadlines) at this RFC 3339 time
    /// instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the raw JSON result object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Paging of listings: the ledger's `offset`/`limit`, or every page with `--all`.
#[derive(Args, Debug, Clone, Copy)]
pub struct Paging {
    /// Rows to skip (oldest first).
    #[arg(long, conflicts_with = "all")]
    pub offset: Option<u64>,
    /// Rows to show, 1 to 100 (the ledger's default is 10).
    #[arg(long, conflicts_with = "all")]
    pub limit: Option<u64>,
    /// Fetch and show every row, page by page.
    #[arg(long)]
    pub all: bool,
}

/// A statement's account.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum StatementAccount {
    /// Money.
    Cash,
    /// Credit in use (negative balance).
    Credit,
    /// Debt (negative balance).
    Arrears,
}

/// An adjust record operation.
#[derive(ValueEnum, Debug, Clone, Copy)]
#[value(rename_all = "snake_case")]
pub enum Operation {
    /// A partner funded a customer or reseller.
    Allocate,
    /// A partner took funds back.
    Recover,
    /// Funds returned to the partner when a customer was unbound.
    UnbindReclaim,
}

/// The query subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum QueryCommand {
    /// Balances of a party: cash, held, available, credit, debt, quotas and coupons.
    Balance {
        #[command(flatten)]
        options: QueryOptions,
        /// `platform`, `partner:<id>` or `customer:<id>`.
        party: String,
        /// Balances after the last transaction at or before this RFC 3339 time.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The postings on one account of a party, with the balance after each.
    Statement {
        #[command(flatten)]
        options: QueryOptions,
        /// `partner:<id>` or `customer:<id>`.
        party: String,
        /// Which account.
        #[arg(long, value_enum, default_value_t = StatementAccount::Cash)]
        account: StatementAccount,
        /// Earliest time, inclusive (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Latest time, inclusive (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Adjust records: allocations, recoveries and unbind reclaims.
    Records {
        #[command(flatten)]
        options: QueryOptions,
        /// Only records of this partner (bare id).
        #[arg(long)]
        partner: Option<String>,
        /// Only records whose target is this party (`customer:<id>`, `partner:<id>`).
        #[arg(long)]
        target: Option<String>,
        /// Only this operation.
        #[arg(long, value_enum)]
        operation: Option<Operation>,
        /// Earliest time, inclusive (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Latest time, inclusive (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Bills of a customer (its orders and usage) or of a partner (what it paid for customers).
    Bills {
        #[command(flatten)]
        options: QueryOptions,
        /// `partner:<id>` or `customer:<id>`.
        party: String,
        /// Only this UTC+8 billing cycle, `YYYY-MM`.
        #[arg(long)]
        cycle: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One invoice and the bills it matched.
    Invoice {
        #[command(flatten)]
        options: QueryOptions,
        /// The invoice id.
        invoice: String,
    },
    /// Orders of a customer.
    Orders {
        #[command(flatten)]
        options: QueryOptions,
        /// The customer (`C1` or `customer:C1`).
        customer: String,
        /// Only orders in this status (`pending_payment`, `paid`, `cancelled`, `unsubscribed`, `expired`).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One order.
    Order {
        #[command(flatten)]
        options: QueryOptions,
        /// The order id.
        order: String,
    },
    /// What a party may still invoice, bill by bill.
    Invoiceable {
        #[command(flatten)]
        options: QueryOptions,
        /// `partner:<id>` or `customer:<id>`.
        party: String,
    },
    /// Withdrawals of a party.
    Withdrawals {
        #[command(flatten)]
        options: QueryOptions,
        /// `partner:<id>` or `customer:<id>`.
        party: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// Consumption, refunds and adjustments per customer of a partner in one billing cycle.
    Consumption {
        #[command(flatten)]
        options: QueryOptions,
        /// The partner (bare id; a partner actor may leave it out).
        #[arg(long)]
        partner: Option<String>,
        /// The UTC+8 billing cycle, `YYYY-MM`.
        #[arg(long)]
        cycle: String,
    },
}

/// A refused query, as the ledger answered it.
pub struct Refusal {
    pub error: Value,
}

impl Refusal {
    pub fn describe(&self) -> String {
        let text = |key: &str| self.error[key].as_str().unwrap_or("?").to_owned();
        format!("{} ({}): {}", text("code"), text("cbc"), text("message"))
    }
}

/// Opens an existing ledger file (a query never creates one).
pub fn open_existing(db: &Path) -> Result<Ledger, String> {
    if !db.exists() {
        return Err(format!("{}: no ledger file there (name one with --db)", db.display()));
    }
    Ledger::open(db).map_err(|error| format!("{}: {error}", db.display()))
}

/// Sends one query line; `Ok(result)` or the ledger's error object.
pub fn ask(ledger: &Ledger, options: &QueryOptions, mut request: Value) -> Result<Value, Refusal> {
    request["actor"] = json!(options.actor);
    if let Some(at) = &options.at {
        request["at"] = json!(at);
    }
    let response = ledger.execute_line(&request.to_string()).to_json();
    if response["ok"] == true { Ok(response["result"].clone()) } else { Err(Refusal { error: response["error"].clone() }) }
}

/// Runs a query subcommand: prints tables (or JSON); exit 1 when the ledger refuses the query.
pub fn run(command: &QueryCommand) -> Result<ExitCode, String> {
    let options = command.options();
    let ledger = open_existing(&options.db)?;
    let (request, list) = request_of(command);
    let paging = paging_of(command);
    let answer = match (list, paging) {
        (Some(list), Some(paging)) if paging.all => ask_all(&ledger, options, request, list),
        _ => ask(&ledger, options, request),
    };
    match answer {
        Ok(result) if options.json => {
            println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        Ok(result) => {
            print!("{}", render(command, &result));
            Ok(ExitCode::SUCCESS)
        }
        Err(refusal) => {
            if options.json {
                println!("{}", json!({"error": refusal.error}));
            }
            eprintln!("partner-ledger: query refused: {}", refusal.describe());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Every page of a listing, concatenated into one result `{total_count, <list>: [...]}`.
fn ask_all(ledger: &Ledger, options: &QueryOptions, request: Value, list: &str) -> Result<Value, Refusal> {
    let mut rows = Vec::new();
    loop {
        let mut page = request.clone();
        page["offset"] = json!(rows.len());
        page["limit"] = json!(PAGE_ROWS_MAX);
        let result = ask(ledger, options, page)?;
        let total = result["total_count"].as_u64().unwrap_or(0);
        let batch = result[list].as_array().cloned().unwrap_or_default();
        let empty = batch.is_empty();
        rows.extend(batch);
        if empty || rows.len() as u64 >= total {
            return Ok(json!({"total_count": total, list: rows}));
        }
    }
}

impl QueryCommand {
    fn options(&self) -> &QueryOptions {
        match self {
            QueryCommand::Balance { options, .. }
            | QueryCommand::Statement { options, .. }
            | QueryCommand::Records { options, .. }
            | QueryCommand::Bills { options, .. }
            | QueryCommand::Invoice { options, .. }
            | QueryCommand::Orders { options, .. }
            | QueryCommand::Order { options, .. }
            | QueryCommand::Invoiceable { options, .. }
            | QueryCommand::Withdrawals { options, .. }
            | QueryCommand::Consumption { options, .. } => options,
        }
    }
}

fn paging_of(command: &QueryCommand) -> Option<Paging> {
    match command {
        QueryCommand::Statement { paging, .. }
        | QueryCommand::Records { paging, .. }
        | QueryCommand::Bills { paging, .. }
        | QueryCommand::Orders { paging, .. }
        | QueryCommand::Withdrawals { paging, .. } => Some(*paging),
        _ => None,
    }
}

/// Adds a field when it has a value.
fn put(request: &mut Value, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        request[key] = value.into();
    }
}

fn with_paging(mut request: Value, paging: &Paging) -> Value {
    put(&mut request, "offset", paging.offset);
    put(&mut request, "limit", paging.limit);
    request
}

/// The query line for a subcommand and, for listings, the name of the list in the result.
fn request_of(command: &QueryCommand) -> (Value, Option<&'static str>) {
    match command {
        QueryCommand::Balance { party, as_of, .. } => {
            let mut request = json!({"op": "balance", "party": party});
            put(&mut request, "as_of", as_of.clone());
            (request, None)
        }
        QueryCommand::Statement { party, account, from, to, paging, .. } => {
            let account = account.to_possible_value().map(|value| value.get_name().to_owned());
            let mut request = json!({"op": "statement", "party": party, "account": account});
            put(&mut request, "from", from.clone());
            put(&mut request, "to", to.clone());
            (with_paging(request, paging), Some("lines"))
        }
        QueryCommand::Records { partner, target, operation, from, to, paging, .. } => {
            let mut request = json!({"op": "adjust_records"});
            put(&mut request, "partner", partner.clone());
            put(&mut request, "target", target.clone());
            put(&mut request, "operation", operation.and_then(|value| value.to_possible_value()).map(|value| value.get_name().to_owned()));
            put(&mut request, "from", from.clone());
            put(&mut request, "to", to.clone());
            (with_paging(request, paging), Some("records"))
        }
        QueryCommand::Bills { party, cycle, paging, .. } => {
            let mut request = json!({"op": "bills", "party": party});
            put(&mut request, "cycle", cycle.clone());
            (with_paging(request, paging), Some("bills"))
        }
        QueryCommand::Invoice { invoice, .. } => (json!({"op": "invoice", "invoice": invoice}), None),
        QueryCommand::Orders { customer, status, paging, .. } => {
            let customer = customer.strip_prefix("customer:").unwrap_or(customer);
            let mut request = json!({"op": "orders", "customer": customer});
            put(&mut request, "status", status.clone());
            (with_paging(request, paging), Some("orders"))
        }
        QueryCommand::Order { order, .. } => (json!({"op": "order", "order": order}), None),
        QueryCommand::Invoiceable { party, .. } => (json!({"op": "invoiceable", "party": party}), None),
        QueryCommand::Withdrawals { party, paging, .. } => {
            (with_paging(json!({"op": "withdrawals", "party": party}), paging), Some("withdrawals"))
        }
        QueryCommand::Consumption { partner, cycle, .. } => {
            let mut request = json!({"op": "consumption_summary", "cycle": cycle});
            put(&mut request, "partner", partner.as_ref().map(|partner| partner.strip_prefix("partner:").unwrap_or(partner).to_owned()));
            (request, None)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

fn render(command: &QueryCommand, result: &Value) -> String {
    match command {
        QueryCommand::Balance { as_of, .. } => balance(result, as_of.as_deref()),
        QueryCommand::Statement { party, account, paging, .. } => statement(result, party, *account, paging),
        QueryCommand::Records { operation, paging, .. } => records(result, operation.is_some(), paging),
        QueryCommand::Bills { party, cycle, paging, .. } => bills(result, party, cycle.as_deref(), paging),
        QueryCommand::Invoice { .. } => invoice(result),
        QueryCommand::Orders { customer, paging, .. } => orders(result, customer, paging),
        QueryCommand::Order { .. } => order(result),
        QueryCommand::Invoiceable { party, .. } => invoiceable(result, party),
        QueryCommand::Withdrawals { party, paging, .. } => withdrawals(result, party, paging),
        QueryCommand::Consumption { cycle, .. } => consumption(result, cycle),
    }
}

/// A cell's text: strings as they are, null as `-`, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An amount string in minor units; `None` when it is not one.
fn minor(value: &Value) -> Option<i128> {
    let text = value.as_str()?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.')?;
    if fraction.len() != 2 {
        return None;
    }
    let magnitude = units.parse::<i128>().ok()?.checked_mul(100)?.checked_add(fraction.parse::<i128>().ok()?)?;
    Some(if negative { -magnitude } else { magnitude })
}

fn money(minor: i128) -> String {
    Amount::from_minor(minor).to_string()
}

/// The sum of `key` over `rows`, formatted like the ledger's amounts.
fn sum(rows: &[Value], key: &str) -> String {
    money(rows.iter().filter_map(|row| minor(&row[key])).sum())
}

/// Columns: left-aligned text or right-aligned numbers.
#[derive(Clone, Copy, PartialEq)]
pub enum Align {
    Left,
    Right,
}

/// An aligned text table: a header row, a rule, the rows, and an optional totals row under a rule.
pub struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
    total: Option<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Table {
        Table { columns: columns.to_vec(), rows: Vec::new(), total: None }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    pub fn total(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.total = Some(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|(name, _)| width(name)).collect();
        for cells in self.rows.iter().chain(self.total.iter()) {
            for (column, cell) in cells.iter().enumerate() {
                widths[column] = widths[column].max(width(cell));
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::from("  ");
            for (column, cell) in cells.iter().enumerate() {
                let pad = " ".repeat(widths[column] - width(cell));
                match self.columns[column].1 {
                    Align::Left => out.push_str(&format!("{cell}{pad}")),
                    Align::Right => out.push_str(&format!("{pad}{cell}")),
                }
                out.push_str("  ");
            }
            format!("{}\n", out.trim_end())
        };
        let rule = || format!("  {}\n", widths.iter().map(|width| "-".repeat(*width)).collect::<Vec<_>>().join("  "));
        let headers: Vec<String> = self.columns.iter().map(|(name, _)| (*name).to_owned()).collect();
        let mut out = line(&headers);
        out.push_str(&rule());
        for cells in &self.rows {
            out.push_str(&line(cells));
        }
        if let Some(total) = &self.total {
            out.push_str(&rule());
            out.push_str(&line(total));
        }
        out
    }
}

/// Display width: East Asian wide characters (memos, reasons) take two columns.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let code = c as u32;
            let wide = matches!(code, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// "rows 1 to 10 of 42" and how to see more.
fn page_note(result: &Value, list: &str, paging: &Paging) -> String {
    let total = result["total_count"].as_u64().unwrap_or(0);
    let shown = result[list].as_array().map_or(0, Vec::len) as u64;
    let offset = if paging.all { 0 } else { paging.offset.unwrap_or(0) };
    if total == 0 {
        return "\nno rows\n".to_owned();
    }
    if shown == 0 {
        return format!("\nno rows at offset {offset} ({total} in all)\n");
    }
    let mut note = format!("\nrows {} to {} of {total}", offset + 1, offset + shown);
    if offset + shown < total {
        note.push_str(&format!("; more with --offset {} or --all", offset + shown));
    }
    note.push('\n');
    note
}

fn cells(row: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| text(&row[*key])).collect()
}

fn list<'a>(result: &'a Value, key: &str) -> &'a [Value] {
    result[key].as_array().map_or(&[], Vec::as_slice)
}

const PLATFORM_ACCOUNTS: [(&str, &str); 5] = [
    ("bank", "money outside the system"),
    ("revenue", "money earned"),
    ("coupon_issuance", "source of all coupon value"),
    ("coupon_redeemed", "coupon value spent on orders"),
    ("coupon_expired", "coupon value swept at expiry"),
];

fn balance(result: &Value, as_of: Option<&str>) -> String {
    let when = as_of.map_or_else(|| "now".to_owned(), |at| format!("as of {at}"));
    let mut out = format!("Balance of {} ({when})\n\n", text(&result["party"]));
    if let Some(accounts) = result["accounts"].as_object() {
        let mut table =
            Table::new(&[("account", Align::Left), ("balance", Align::Right), ("asset", Align::Left), ("what it is", Align::Left)]);
        for (name, meaning) in PLATFORM_ACCOUNTS {
            let asset = if name.starts_with("coupon") { "CPN" } else { "CNY" };
            table.row(vec![name.to_owned(), text(&accounts[name]), asset.to_owned(), meaning.to_owned()]);
        }
        // Accounts a newer ledger may add, in its order.
        for (name, value) in accounts.iter().filter(|(name, _)| !PLATFORM_ACCOUNTS.iter().any(|(known, _)| known == name)) {
            table.row(vec![name.clone(), text(value), String::new(), String::new()]);
        }
        out.push_str(&table.render());
        out.push_str("\nNegative: value that entered the system from there (bank) or was created there (coupon issuance).\n");
        return out;
    }
    let mut table = Table::new(&[("balance", Align::Left), ("CNY", Align::Right), ("meaning", Align::Left)]);
    let rows = [
        ("cash", "cash", "money in the account"),
        ("held", "held", "held by pending withdrawals"),
        ("available", "available", "cash - held"),
        ("credit limit", "credit_limit", ""),
        ("credit used", "credit_used", "owed on credit"),
        ("arrears", "arrears", "debt, repaid first by incoming funds"),
    ];
    for (label, key, note) in rows {
        table.row(vec![label.to_owned(), text(&result[key]), note.to_owned()]);
    }
    out.push_str(&table.render());
    let quotas = list(result, "quotas");
    if !quotas.is_empty() {
        out.push_str("\nCoupon quotas (CPN)\n");
        let mut table = Table::new(&[
            ("quota", Align::Left),
            ("kind", Align::Left),
            ("balance", Align::Right),
            ("valid until", Align::Left),
            ("status", Align::Left),
        ]);
        for quota in quotas {
            table.row(cells(quota, &["quota", "kind", "balance", "valid_until", "status"]));
        }
        table.total(vec!["total".into(), String::new(), sum(quotas, "balance"), String::new(), String::new()]);
        out.push_str(&table.render());
    }
    let coupons = list(result, "coupons");
    if !coupons.is_empty() {
        out.push_str("\nCoupons (CPN)\n");
        let mut table = Table::new(&[
            ("coupon", Align::Left),
            ("kind", Align::Left),
            ("face value", Align::Right),
            ("remaining", Align::Right),
            ("valid until", Align::Left),
            ("status", Align::Left),
        ]);
        for coupon in coupons {
            table.row(cells(coupon, &["coupon", "kind", "face_value", "remaining", "valid_until", "status"]));
        }
        table.total(vec![
            "total".into(),
            String::new(),
            sum(coupons, "face_value"),
            sum(coupons, "remaining"),
            String::new(),
            String::new(),
        ]);
        out.push_str(&table.render());
    }
    out
}

fn statement(result: &Value, party: &str, account: StatementAccount, paging: &Paging) -> String {
    let account = account.to_possible_value().map(|value| value.get_name().to_owned()).unwrap_or_default();
    let lines = list(result, "lines");
    let mut out = format!("Statement of {party}:{account} (CNY)\n\n");
    let mut table = Table::new(&[
        ("seq", Align::Right),
        ("at (UTC)", Align::Left),
        ("op", Align::Left),
        ("counterparty", Align::Left),
        ("amount", Align::Right),
        ("balance after", Align::Right),
    ]);
    for line in lines {
        table.row(cells(line, &["seq", "at", "op", "counterparty", "amount", "balance_after"]));
    }
    if let (Some(first), Some(last)) = (lines.first(), lines.last()) {
        let opening = minor(&first["balance_after"]).zip(minor(&first["amount"])).map(|(after, amount)| money(after - amount));
        table.total(vec![String::new(), String::new(), "net change".into(), String::new(), sum(lines, "amount"), String::new()]);
        out.push_str(&table.render());
        out.push_str(&format!(
            "\nbalance before these rows {}, after them {}",
            opening.unwrap_or_else(|| "?".into()),
            text(&last["balance_after"])
        ));
    } else {
        out.push_str(&table.render());
    }
    out.push_str(&page_note(result, "lines", paging));
    out
}

fn records(result: &Value, one_operation: bool, paging: &Paging) -> String {
    let rows = list(result, "records");
    let mut out = "Adjust records (CNY)\n\n".to_owned();
    let mut table = Table::new(&[
        ("seq", Align::Right),
        ("at (UTC)", Align::Left),
        ("operation", Align::Left),
        ("partner", Align::Left),
        ("target", Align::Left),
        ("amount", Align::Right),
        ("memo", Align::Left),
    ]);
    for row in rows {
        table.row(cells(row, &["seq", "at", "operation", "partner", "target", "amount", "memo"]));
    }
    // Allocations and recoveries move money in opposite directions: a total only when all agree.
    let same = rows.windows(2).all(|pair| pair[0]["operation"] == pair[1]["operation"]);
    if let Some(first) = rows.first().filter(|_| one_operation || same) {
        let label = format!("total {}", text(&first["operation"]));
        table.total(vec![String::new(), String::new(), label, String::new(), String::new(), sum(rows, "amount"), String::new()]);
    }
    out.push_str(&table.render());
    out.push_str(&page_note(result, "records", paging));
    out
}

fn bills(result: &Value, party: &str, cycle: Option<&str>, paging: &Paging) -> String {
    let rows = list(result, "bills");
    let scope = cycle.map_or_else(|| "all cycles".to_owned(), |cycle| format!("cycle {cycle} (UTC+8)"));
    let mut out = format!("Bills of {party}, {scope} (CNY)\n\n");
    let erased = rows.iter().any(|row| row["erase_amount"].as_str().is_some_and(|text| text.bytes().any(|b| (b'1'..=b'9').contains(&b))));
    let mut columns = vec![
        ("bill", Align::Left),
        ("type", Align::Left),
        ("at (UTC)", Align::Left),
        ("order", Align::Left),
        ("amount", Align::Right),
        ("coupon", Align::Right),
        ("cash", Align::Right),
        ("credit", Align::Right),
        ("debt", Align::Right),
        ("invoiceable", Align::Right),
        ("invoiced", Align::Right),
    ];
    let mut keys = vec![
        "bill",
        "bill_type",
        "at",
        "order",
        "amount",
        "coupon_amount",
        "cash_amount",
        "credit_amount",
        "debt_amount",
        "invoiceable",
        "invoiced",
    ];
    if erased {
        columns.push(("erased", Align::Right));
        keys.push("erase_amount");
    }
    let mut table = Table::new(&columns);
    for row in rows {
        table.row(cells(row, &keys));
    }
    if !rows.is_empty() {
        let mut total = vec!["total".to_owned(), String::new(), String::new(), String::new()];
        total.extend(keys[4..11].iter().map(|key| sum(rows, key)));
        if erased {
            total.push(String::new());
        }
        table.total(total);
    }
    out.push_str(&table.render());
    out.push_str(&page_note(result, "bills", paging));
    out
}

fn invoice(result: &Value) -> String {
    let mut out = format!(
        "Invoice {} of {}: {} CNY, {} (at {})\n\nMatched bills\n",
        text(&result["invoice"]),
        text(&result["party"]),
        text(&result["amount"]),
        text(&result["status"]),
        text(&result["at"])
    );
    let matched = list(result, "matched");
    let mut table = Table::new(&[("bill", Align::Left), ("amount", Align::Right)]);
    for row in matched {
        table.row(cells(row, &["bill", "amount"]));
    }
    table.total(vec!["total".into(), sum(matched, "amount")]);
    out.push_str(&table.render());
    out
}

const ORDER_COLUMNS: [(&str, Align); 12] = [
    ("order", Align::Left),
    ("combined", Align::Left),
    ("kind", Align::Left),
    ("service", Align::Left),
    ("status", Align::Left),
    ("payer", Align::Left),
    ("amount", Align::Right),
    ("coupon", Align::Right),
    ("cash", Align::Right),
    ("credit", Align::Right),
    ("refunded", Align::Right),
    ("pay deadline (UTC)", Align::Left),
];

fn order_cells(row: &Value) -> Vec<String> {
    let mut cells = cells(row, &["order", "combined", "kind", "service", "status", "payer", "amount"]);
    cells.extend(["coupon", "cash", "credit"].iter().map(|key| text(&row["paid"][*key])));
    cells.push(text(&row["refunded"]));
    cells.push(text(&row["pay_deadline"]));
    cells
}

fn orders(result: &Value, customer: &str, paging: &Paging) -> String {
    let customer = customer.strip_prefix("customer:").unwrap_or(customer);
    let rows = list(result, "orders");
    let mut out = format!("Orders of customer:{customer} (CNY; coupon column in CPN)\n\n");
    let mut table = Table::new(&ORDER_COLUMNS);
    for row in rows {
        table.row(order_cells(row));
    }
    if !rows.is_empty() {
        let paid = |key: &str| money(rows.iter().filter_map(|row| minor(&row["paid"][key])).sum());
        let mut total = vec!["total".to_owned(), String::new(), String::new(), String::new(), String::new(), String::new()];
        total.extend([sum(rows, "amount"), paid("coupon"), paid("cash"), paid("credit"), sum(rows, "refunded"), String::new()]);
        table.total(total);
    }
    out.push_str(&table.render());
    out.push_str(&page_note(result, "orders", paging));
    out
}

fn order(result: &Value) -> String {
    let mut out = format!("Order {}\n\n", text(&result["order"]));
    let mut table = Table::new(&ORDER_COLUMNS);
    table.row(order_cells(result));
    out.push_str(&table.render());
    out
}

fn invoiceable(result: &Value, party: &str) -> String {
    let items = list(result, "items");
    let mut out = format!("Invoiceable bills of {party} (CNY)\n\n");
    let mut table = Table::new(&[("bill", Align::Left), ("type", Align::Left), ("at (UTC)", Align::Left), ("remaining", Align::Right)]);
    for item in items {
        table.row(cells(item, &["bill", "bill_type", "at", "remaining"]));
    }
    table.total(vec!["total".into(), String::new(), String::new(), text(&result["total"])]);
    out.push_str(&table.render());
    out
}

fn withdrawals(result: &Value, party: &str, paging: &Paging) -> String {
    let rows = list(result, "withdrawals");
    let mut out = format!("Withdrawals of {party} (CNY)\n\n");
    let mut table = Table::new(&[
        ("withdrawal", Align::Left),
        ("at (UTC)", Align::Left),
        ("amount", Align::Right),
        ("status", Align::Left),
        ("reason", Align::Left),
    ]);
    for row in rows {
        table.row(cells(row, &["withdrawal", "at", "amount", "status", "reason"]));
    }
    out.push_str(&table.render());
    out.push_str(&page_note(result, "withdrawals", paging));
    out
}

fn consumption(result: &Value, cycle: &str) -> String {
    let rows = list(result, "customers");
    let mut out = format!("Consumption of the customers of {}, cycle {cycle} (UTC+8, CNY)\n\n", text(&result["partner"]));
    let keys = ["customer", "consumption", "refunds", "adjustments", "net"];
    let mut table = Table::new(&[
        ("customer", Align::Left),
        ("consumption", Align::Right),
        ("refunds", Align::Right),
        ("adjustments", Align::Right),
        ("net", Align::Right),
    ]);
    for row in rows {
        table.row(cells(row, &keys));
    }
    let totals = &result["totals"];
    table.total(vec![
        "total".into(),
        text(&totals["consumption"]),
        text(&totals["refunds"]),
        text(&totals["adjustments"]),
        text(&totals["net"]),
    ]);
    out.push_str(&table.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_and_sum_exactly() {
        assert_eq!(minor(&json!("-12.30")), Some(-1230));
        assert_eq!(minor(&json!("0.05")), Some(5));
        assert_eq!(minor(&json!("x")), None);
        assert_eq!(sum(&[json!({"a": "1.10"}), json!({"a": "-0.20"})], "a"), "0.90");
    }

    #[test]
    fn tables_align_amounts_right() {
        let mut table = Table::new(&[("name", Align::Left), ("amount", Align::Right)]);
        table.row(vec!["a".into(), "1.00".into()]);
        table.row(vec!["客户".into(), "100.00".into()]);
        table.total(vec!["total".into(), "101.00".into()]);
        let text = table.render();
        assert_eq!(text, "  name   amount\n  -----  ------\n  a        1.00\n  客户   100.00\n  -----  ------\n  total  101.00\n");
    }
}
