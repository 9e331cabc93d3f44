//! Each query's result as aligned tables: text left, amounts right, totals where a sum means
//! something. Columns a newer ledger adds to a row (a consumption row's `manager`, an adjust
//! record's `transfer`) are shown when the rows carry them.

use super::table::{Align, Table, any_has, cells, list, minor, money, page_note, sum, text};
use super::{Paging, QueryCommand, StatementAccount};
use clap::ValueEnum;
use serde_json::Value;

pub(super) fn render(command: &QueryCommand, result: &Value) -> String {
    match command {
        QueryCommand::Balance { as_of, .. } => balance(result, as_of.as_deref()),
        QueryCommand::Statement { party, account, paging, .. } => statement(result, party, *account, paging),
        QueryCommand::Records { operation, paging, .. } => records(result, operation.is_some(), paging),
        QueryCommand::Bills { party, cycle, paging, .. } => bills(result, party, cycle.as_deref(), paging),
        QueryCommand::Invoice { .. } => invoice(result),
        QueryCommand::Orders { options, customer, partner_payment, paging, .. } => {
            let title = match customer {
                Some(customer) => format!("Orders of customer:{}", customer.strip_prefix("customer:").unwrap_or(customer)),
                None => format!("Orders visible to {}", options.actor),
            };
            let filter = partner_payment.and_then(|status| status.to_possible_value()).map(|value| value.get_name().to_owned());
            let title = filter.map_or_else(|| title.clone(), |filter| format!("{title}, partner payment {filter}"));
            orders(result, &title, customer.is_none(), paging)
        }
        QueryCommand::Order { .. } => order(result),
        QueryCommand::Invoiceable { party, .. } => invoiceable(result, party),
        QueryCommand::Withdrawals { party, paging, .. } => withdrawals(result, party, paging),
        QueryCommand::Consumption { cycle, manager, .. } => consumption(result, cycle, manager.as_deref()),
        _ => super::listings::render(command, result),
    }
}

const PLATFORM_ACCOUNTS: [(&str, &str); 5] = [
    ("bank", "money outside the system"),
    ("revenue", "money earned"),
    ("coupon_issuance", "source of all coupon value"),
    ("coupon_redeemed", "coupon value spent on orders and usage"),
    ("coupon_expired", "coupon value swept at expiry"),
];

fn platform_balance(accounts: &serde_json::Map<String, Value>) -> String {
    let mut table = Table::new(&[("account", Align::Left), ("balance", Align::Right), ("asset", Align::Left), ("what it is", Align::Left)]);
    for (name, meaning) in PLATFORM_ACCOUNTS {
        let asset = if name.starts_with("coupon") { "CPN" } else { "CNY" };
        table.row(vec![name.to_owned(), text(&accounts[name]), asset.to_owned(), meaning.to_owned()]);
    }
    // Accounts a newer ledger may add, in its order.
    for (name, value) in accounts.iter().filter(|(name, _)| !PLATFORM_ACCOUNTS.iter().any(|(known, _)| known == name)) {
        table.row(vec![name.clone(), text(value), String::new(), String::new()]);
    }
    let mut out = table.render();
    out.push_str("\nNegative: value that entered the system from there (bank) or was created there (coupon issuance).\n");
    out
}

/// The money rows of a partner's or customer's balance: a customer's own `cash` and its
/// partner's `allocated` funds apart, and what may be withdrawn now.
fn money_rows(result: &Value) -> (String, bool) {
    let customer = result["party"].as_str().is_some_and(|party| party.starts_with("customer:"));
    let (cash, withdrawable) = if customer {
        ("its own money: recharges, compensations, refunds", "available - over-invoiced")
    } else {
        ("money in the account", "available - resale customers' debt - over-invoiced")
    };
    let mut rows = vec![("cash", "cash", cash), ("held", "held", "held by pending withdrawals"), ("available", "available", "cash - held")];
    if result.get("allocated").is_some_and(|value| !value.is_null()) {
        rows.push(("allocated", "allocated", "its partner's funds: spent before cash, never withdrawable"));
    }
    rows.extend([
        ("withdrawable", "withdrawable", withdrawable),
        ("over-invoiced", "over_invoiced", "invoiced, then given back (refunds, compensations)"),
        ("credit limit", "credit_limit", ""),
        ("credit used", "credit_used", "owed on credit"),
        ("arrears", "arrears", "debt, repaid first by incoming funds"),
    ]);
    let mut table = Table::new(&[("balance", Align::Left), ("CNY", Align::Right), ("meaning", Align::Left)]);
    let mut skipped = false;
    for (label, key, note) in rows {
        // `withdrawable` and `over_invoiced` are decisions about now: null with `as_of`.
        if result[key].is_null() {
            skipped = true;
            continue;
        }
        table.row(vec![label.to_owned(), text(&result[key]), note.to_owned()]);
    }
    (table.render(), skipped)
}

fn balance(result: &Value, as_of: Option<&str>) -> String {
    let when = as_of.map_or_else(|| "now".to_owned(), |at| format!("as of {at}"));
    let mut out = format!("Balance of {} ({when})\n\n", text(&result["party"]));
    if let Some(accounts) = result["accounts"].as_object() {
        out.push_str(&platform_balance(accounts));
        return out;
    }
    let (table, skipped) = money_rows(result);
    out.push_str(&table);
    if skipped {
        out.push_str("\n(withdrawable and over-invoiced are decided now: not shown with --as-of)\n");
    }
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
        out.push_str(&coupons_table(coupons));
    }
    out
}

fn coupons_table(coupons: &[Value]) -> String {
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
    let (face, remaining) = (sum(coupons, "face_value"), sum(coupons, "remaining"));
    table.total(vec!["total".into(), String::new(), face, remaining, String::new(), String::new()]);
    table.render()
}

fn statement(result: &Value, party: &str, account: StatementAccount, paging: &Paging) -> String {
    let account = account.to_possible_value().map(|value| value.get_name().to_owned()).unwrap_or_default();
    let lines = list(result, "lines");
    let mut out = format!("Statement of {party}:{account} (CNY)\n\n");
    let mut table = Table::new(&[
        ("seq", Align::Right),
        ("at (UTC)", Align::Left),
        ("request", Align::Left),
        ("op", Align::Left),
        ("counterparty", Align::Left),
        ("amount", Align::Right),
        ("balance after", Align::Right),
    ]);
    for line in lines {
        table.row(cells(line, &["seq", "at", "request", "op", "counterparty", "amount", "balance_after"]));
    }
    if let (Some(first), Some(last)) = (lines.first(), lines.last()) {
        let opening = minor(&first["balance_after"]).zip(minor(&first["amount"])).map(|(after, amount)| money(after - amount));
        let mut total = vec![String::new(); 7];
        total[3] = "net change".into();
        total[5] = sum(lines, "amount");
        table.total(total);
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
    let mut columns = vec![("seq", Align::Right), ("at (UTC)", Align::Left)];
    let mut keys = vec!["seq", "at"];
    if any_has(rows, "transfer") {
        columns.push(("transfer", Align::Left));
        keys.push("transfer");
    }
    let amount_column = keys.len() + 3;
    columns.extend([
        ("operation", Align::Left),
        ("partner", Align::Left),
        ("target", Align::Left),
        ("amount", Align::Right),
        ("memo", Align::Left),
    ]);
    keys.extend(["operation", "partner", "target", "amount", "memo"]);
    let mut table = Table::new(&columns);
    for row in rows {
        table.row(cells(row, &keys));
    }
    // Allocations and recoveries move money in opposite directions: a total only when all agree.
    let same = rows.windows(2).all(|pair| pair[0]["operation"] == pair[1]["operation"]);
    if let Some(first) = rows.first().filter(|_| one_operation || same) {
        let mut total = vec![String::new(); keys.len()];
        total[amount_column - 3] = format!("total {}", text(&first["operation"]));
        total[amount_column] = sum(rows, "amount");
        table.total(total);
    }
    out.push_str(&table.render());
    out.push_str(&page_note(result, "records", paging));
    out
}

/// The amounts of a bill, in column order; the totals row sums them.
const BILL_AMOUNTS: [(&str, &str); 8] = [
    ("amount", "amount"),
    ("coupon", "coupon_amount"),
    ("allocated", "allocated_amount"),
    ("cash", "cash_amount"),
    ("credit", "credit_amount"),
    ("debt", "debt_amount"),
    ("invoiceable", "invoiceable"),
    ("invoiced", "invoiced"),
];

fn bills(result: &Value, party: &str, cycle: Option<&str>, paging: &Paging) -> String {
    let rows = list(result, "bills");
    let scope = cycle.map_or_else(|| "all cycles".to_owned(), |cycle| format!("cycle {cycle} (UTC+8)"));
    let mut out = format!("Bills of {party}, {scope} (CNY; coupon column in CPN)\n\n");
    let erased = rows.iter().any(|row| row["erase_amount"].as_str().is_some_and(|text| text.bytes().any(|b| (b'1'..=b'9').contains(&b))));
    let mut columns = vec![("bill", Align::Left), ("type", Align::Left), ("at (UTC)", Align::Left), ("order", Align::Left)];
    let mut keys = vec!["bill", "bill_type", "at", "order"];
    // A discount column only when some bill had a business discount (SPEC v2 商务折扣).
    let discounted = rows.iter().any(|row| minor(&row["discount_amount"]).is_some_and(|discount| discount != 0));
    let amounts: Vec<(&str, &str)> = BILL_AMOUNTS
        .iter()
        .take(1)
        .chain(discounted.then_some(&("discount", "discount_amount")))
        .chain(BILL_AMOUNTS.iter().skip(1))
        .copied()
        .collect();
    for (name, key) in &amounts {
        columns.push((name, Align::Right));
        keys.push(key);
    }
    columns.push(("invoice owner", Align::Left));
    keys.push("invoice_owner");
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
        total.extend(amounts.iter().map(|(_, key)| sum(rows, key)));
        total.resize(keys.len(), String::new());
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

/// What an order paid, by source, in column order.
const PAID_PARTS: [&str; 4] = ["coupon", "allocated", "cash", "credit"];

fn order_table(with_customer: bool) -> (Table, Vec<&'static str>) {
    let mut columns = vec![("order", Align::Left)];
    let mut keys = vec!["order"];
    if with_customer {
        columns.push(("customer", Align::Left));
        keys.push("customer");
    }
    columns.extend([
        ("combined", Align::Left),
        ("kind", Align::Left),
        ("service", Align::Left),
        ("status", Align::Left),
        ("payer", Align::Left),
        ("partner payment", Align::Left),
        ("amount", Align::Right),
    ]);
    keys.extend(["combined", "kind", "service", "status", "payer", "partner_payment", "amount"]);
    columns.extend(PAID_PARTS.iter().map(|part| (*part, Align::Right)));
    columns.extend([("refunded", Align::Right), ("pay deadline (UTC)", Align::Left)]);
    (Table::new(&columns), keys)
}

fn order_cells(row: &Value, keys: &[&str]) -> Vec<String> {
    let mut cells = cells(row, keys);
    cells.extend(PAID_PARTS.iter().map(|part| text(&row["paid"][*part])));
    cells.push(text(&row["refunded"]));
    cells.push(text(&row["pay_deadline"]));
    cells
}

fn orders(result: &Value, title: &str, with_customer: bool, paging: &Paging) -> String {
    let rows = list(result, "orders");
    let mut out = format!("{title} (CNY; coupon column in CPN)\n\n");
    let (mut table, keys) = order_table(with_customer);
    for row in rows {
        table.row(order_cells(row, &keys));
    }
    if !rows.is_empty() {
        let paid = |part: &str| money(rows.iter().filter_map(|row| minor(&row["paid"][part])).sum());
        let mut total = vec![String::new(); keys.len() - 1];
        total[0] = "total".to_owned();
        total.push(sum(rows, "amount"));
        total.extend(PAID_PARTS.iter().map(|part| paid(part)));
        total.extend([sum(rows, "refunded"), String::new()]);
        table.total(total);
    }
    out.push_str(&table.render());
    out.push_str(&page_note(result, "orders", paging));
    out
}

fn order(result: &Value) -> String {
    let mut out = format!("Order {}\n\n", text(&result["order"]));
    let (mut table, keys) = order_table(true);
    table.row(order_cells(result, &keys));
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

fn consumption(result: &Value, cycle: &str, manager: Option<&str>) -> String {
    let rows = list(result, "customers");
    let managed = manager.map_or_else(String::new, |manager| format!(" managed by operator:{}", super::bare(manager)));
    let mut out = format!("Consumption of the customers of {}{managed}, cycle {cycle} (UTC+8, CNY)\n\n", text(&result["partner"]));
    let mut columns = vec![("customer", Align::Left)];
    let mut keys = vec!["customer"];
    if any_has(rows, "manager") {
        columns.push(("manager", Align::Left));
        keys.push("manager");
    }
    let first_amount = keys.len();
    for (name, key) in [("consumption", "consumption"), ("payable", "payable"), ("paid", "paid")] {
        if key == "consumption" || any_has(rows, key) {
            columns.push((name, Align::Right));
            keys.push(key);
        }
    }
    columns.extend([("refunds", Align::Right), ("adjustments", Align::Right), ("net", Align::Right)]);
    keys.extend(["refunds", "adjustments", "net"]);
    let mut table = Table::new(&columns);
    for row in rows {
        table.row(cells(row, &keys));
    }
    let mut total = vec![String::new(); first_amount];
    total[0] = "total".into();
    total.extend(keys[first_amount..].iter().map(|key| text(&result["totals"][*key])));
    table.total(total);
    out.push_str(&table.render());
    out
}
