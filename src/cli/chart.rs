//! `partner-ledger chart`: the daily consumption trend of a partner's customers in one UTC+8
//! billing cycle, as an SVG file. The numbers come from the queries (`consumption_summary` names
//! the customers and gives the totals, `bills` gives each customer's bills of the cycle); the
//! trend and its drawing are `partner_ledger::http::console::chart`, which the console's dashboard
//! draws too.

use super::tables::{QueryOptions, ask, open_existing};
use clap::Args;
use partner_ledger::http::console::chart::{Trend, plural, svg};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

/// Bills asked per page (the protocol's maximum).
const PAGE_ROWS_MAX: u64 = 100;

/// `chart` arguments.
#[derive(Args, Debug, Clone)]
pub struct ChartArgs {
    /// The partner (bare id, or `partner:<id>`).
    #[arg(long)]
    pub partner: String,
    /// The UTC+8 billing cycle, `YYYY-MM`.
    #[arg(long)]
    pub cycle: String,
    /// The SVG file to write.
    #[arg(long)]
    pub output: PathBuf,
    /// The ledger file.
    #[arg(long, default_value = super::DEFAULT_DB)]
    pub db: PathBuf,
    /// Who asks (`platform`, or the partner itself or its parent distributor).
    #[arg(long, default_value = "platform")]
    pub actor: String,
}

pub fn run(args: &ChartArgs) -> Result<ExitCode, String> {
    let ledger = open_existing(&args.db)?;
    let options = QueryOptions { db: args.db.clone(), actor: args.actor.clone(), at: None, json: false };
    let partner = args.partner.strip_prefix("partner:").unwrap_or(&args.partner);
    let refused = |refusal: super::tables::Refusal| format!("query refused: {}", refusal.describe());
    let summary = ask(&ledger, &options, json!({"op": "consumption_summary", "partner": partner, "cycle": args.cycle})).map_err(refused)?;
    let customers: Vec<String> = summary["customers"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|row| row["customer"].as_str().map(str::to_owned))
        .collect();
    let mut trend = Trend::new(partner, &args.cycle, customers.len()).ok_or_else(|| format!("cycle {:?} is not YYYY-MM", args.cycle))?;
    for customer in &customers {
        let mut offset = 0;
        loop {
            let request = json!({"op": "bills", "party": format!("customer:{customer}"), "cycle": args.cycle, "offset": offset, "limit": PAGE_ROWS_MAX});
            let page = ask(&ledger, &options, request).map_err(refused)?;
            let bills = page["bills"].as_array().cloned().unwrap_or_default();
            for bill in &bills {
                trend.add_bill(bill)?;
            }
            offset += bills.len() as u64;
            if bills.is_empty() || offset >= page["total_count"].as_u64().unwrap_or(0) {
                break;
            }
        }
    }
    let totals = &summary["totals"];
    trend.check_totals(totals)?;
    std::fs::write(&args.output, svg(&trend)).map_err(|error| format!("{}: {error}", args.output.display()))?;
    println!(
        "wrote {}: {}, {}; consumption {}, refunds {}, net {} CNY",
        args.output.display(),
        plural(trend.customers, "customer"),
        plural(trend.bills, "bill"),
        text(&totals["consumption"]),
        text(&totals["refunds"]),
        text(&totals["net"])
    );
    Ok(ExitCode::SUCCESS)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("?").to_owned()
}
