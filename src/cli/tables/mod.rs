//! The query subcommands (`balance`, `statement`, `records`, `bills`, `invoice`, `orders`, …):
//! each sends one SPEC section 4 query as a JSON line through `Ledger::execute_line` and prints
//! the answer as aligned tables for a person, or with `--json` the raw result object.
//!
//! Only presentation lives here: the ledger decides scope, validity and every number; the totals
//! rows are sums of the amounts shown. `render` draws each result, `table` holds the aligned table.

mod filters;
mod listings;
mod render;
mod table;

pub use filters::{Association, CouponKind, CouponOperation, CouponStatus, Operation, PartnerPayment, QuotaStatus, StatementAccount};

use clap::{Args, Subcommand, ValueEnum};
use partner_ledger::Ledger;
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
    /// Who asks: `platform`, `partner:<id>`, `customer:<id>` or `operator:<id>` (acting for its
    /// partner within its roles); the answer follows that actor's scope.
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

/// The query subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum QueryCommand {
    /// Balances of a party: cash, held, available, allocated (customers), withdrawable, credit, debt,
    /// quotas and coupons.
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
    /// Adjust records: allocations, recoveries, unbind and refund reclaims.
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
        /// Only the records written by this transfer (the request id of the command).
        #[arg(long)]
        transfer: Option<String>,
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
    /// Orders of a customer, or without one every order the actor may see.
    Orders {
        #[command(flatten)]
        options: QueryOptions,
        /// The customer (`C1` or `customer:C1`); without it, the orders of every customer in the
        /// actor's scope (a partner's "awaiting payment" list: `--partner-payment requested`).
        customer: Option<String>,
        /// Only orders in this status (`pending_payment`, `paid`, `cancelled`, `unsubscribed`, `expired`).
        #[arg(long)]
        status: Option<String>,
        /// Only orders whose partner payment is in this state.
        #[arg(long, value_enum)]
        partner_payment: Option<PartnerPayment>,
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
        /// Only the customers this operator (bare id) manages.
        #[arg(long)]
        manager: Option<String>,
    },
    /// Customers with their names, external ids, association and manager.
    Customers {
        #[command(flatten)]
        options: QueryOptions,
        /// Whose customers (bare id; a partner actor lists its own, a distributor also its resellers').
        #[arg(long)]
        partner: Option<String>,
        /// Only customers associated this way.
        #[arg(long, value_enum)]
        association: Option<Association>,
        /// Only the customers this operator (bare id) manages.
        #[arg(long)]
        manager: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// The resellers of a distributor.
    Resellers {
        #[command(flatten)]
        options: QueryOptions,
        /// The distributor (bare id; a distributor actor may leave it out).
        #[arg(long)]
        partner: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Coupon quotas: issued amount, balance, validity and status.
    Quotas {
        #[command(flatten)]
        options: QueryOptions,
        /// Whose quotas (bare id).
        #[arg(long)]
        partner: Option<String>,
        /// Only quotas of this kind.
        #[arg(long, value_enum)]
        kind: Option<CouponKind>,
        /// Only quotas in this status (at `--at`, or now).
        #[arg(long, value_enum)]
        status: Option<QuotaStatus>,
        /// Only quotas carved from this quota.
        #[arg(long)]
        parent_quota: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Coupons: face value, remaining value, limits (services, ratio, order kinds) and status.
    Coupons {
        #[command(flatten)]
        options: QueryOptions,
        /// Whose coupons (`C1` or `customer:C1`).
        customer: Option<String>,
        /// Only coupons issued from this quota.
        #[arg(long)]
        quota: Option<String>,
        /// Only coupons of this kind.
        #[arg(long, value_enum)]
        kind: Option<CouponKind>,
        /// Only coupons in this status (at `--at`, or now).
        #[arg(long, value_enum)]
        status: Option<CouponStatus>,
        #[command(flatten)]
        paging: Paging,
    },
    /// The history of coupon value: quotas issued and reclaimed, coupons issued, reclaimed,
    /// expired and redeemed.
    CouponRecords {
        #[command(flatten)]
        options: QueryOptions,
        /// Only the records of this coupon.
        #[arg(long)]
        coupon: Option<String>,
        /// Only the records of this quota and its coupons.
        #[arg(long)]
        quota: Option<String>,
        /// Only the records of this customer's coupons (bare id).
        #[arg(long)]
        customer: Option<String>,
        /// Only this operation.
        #[arg(long, value_enum)]
        operation: Option<CouponOperation>,
        /// Earliest time, inclusive (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Latest time, inclusive (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Operators of a partner, their roles and how many customers each manages.
    Operators {
        #[command(flatten)]
        options: QueryOptions,
        /// Whose operators (bare id; a partner actor may leave it out).
        #[arg(long)]
        partner: Option<String>,
        #[command(flatten)]
        paging: Paging,
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
            print!("{}", render::render(command, &result));
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
            | QueryCommand::Consumption { options, .. }
            | QueryCommand::Customers { options, .. }
            | QueryCommand::Resellers { options, .. }
            | QueryCommand::Quotas { options, .. }
            | QueryCommand::Coupons { options, .. }
            | QueryCommand::CouponRecords { options, .. }
            | QueryCommand::Operators { options, .. } => options,
        }
    }
}

fn paging_of(command: &QueryCommand) -> Option<Paging> {
    match command {
        QueryCommand::Statement { paging, .. }
        | QueryCommand::Records { paging, .. }
        | QueryCommand::Bills { paging, .. }
        | QueryCommand::Orders { paging, .. }
        | QueryCommand::Withdrawals { paging, .. }
        | QueryCommand::Customers { paging, .. }
        | QueryCommand::Resellers { paging, .. }
        | QueryCommand::Quotas { paging, .. }
        | QueryCommand::Coupons { paging, .. }
        | QueryCommand::CouponRecords { paging, .. }
        | QueryCommand::Operators { paging, .. } => Some(*paging),
        _ => None,
    }
}

/// Adds a field when it has a value.
pub(super) fn put(request: &mut Value, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        request[key] = value.into();
    }
}

pub(super) fn with_paging(mut request: Value, paging: &Paging) -> Value {
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
        QueryCommand::Records { partner, target, operation, transfer, from, to, paging, .. } => {
            let mut request = json!({"op": "adjust_records"});
            put(&mut request, "partner", partner.as_deref().map(bare));
            put(&mut request, "target", target.clone());
            put(&mut request, "operation", operation.and_then(|value| value.to_possible_value()).map(|value| value.get_name().to_owned()));
            put(&mut request, "transfer", transfer.clone());
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
        QueryCommand::Orders { customer, status, partner_payment, paging, .. } => {
            let mut request = json!({"op": "orders"});
            let customer = customer.as_ref().map(|customer| customer.strip_prefix("customer:").unwrap_or(customer).to_owned());
            put(&mut request, "customer", customer);
            put(&mut request, "status", status.clone());
            let partner_payment = partner_payment.and_then(|value| value.to_possible_value()).map(|value| value.get_name().to_owned());
            put(&mut request, "partner_payment", partner_payment);
            (with_paging(request, paging), Some("orders"))
        }
        QueryCommand::Order { order, .. } => (json!({"op": "order", "order": order}), None),
        QueryCommand::Invoiceable { party, .. } => (json!({"op": "invoiceable", "party": party}), None),
        QueryCommand::Withdrawals { party, paging, .. } => {
            (with_paging(json!({"op": "withdrawals", "party": party}), paging), Some("withdrawals"))
        }
        QueryCommand::Consumption { partner, cycle, manager, .. } => {
            let mut request = json!({"op": "consumption_summary", "cycle": cycle});
            put(&mut request, "partner", partner.as_deref().map(bare));
            put(&mut request, "manager", manager.as_deref().map(bare));
            (request, None)
        }
        _ => listings::request_of(command),
    }
}

/// A bare id from `partner:P1`, `customer:C1`, `operator:O1` or `P1`.
pub(super) fn bare(id: &str) -> String {
    id.split_once(':').filter(|(kind, _)| matches!(*kind, "partner" | "customer" | "operator")).map_or(id, |(_, rest)| rest).to_owned()
}
