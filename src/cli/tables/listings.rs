//! The v2 listings (`customers`, `resellers`, `quotas`, `coupons`, `coupon-records`,
//! `operators`): their filters, their query lines and their tables.

use super::table::{Align, Table, cells, list, page_note, sum, text};
use super::{Paging, QueryCommand, bare, put, with_paging};
use clap::ValueEnum;
use serde_json::{Value, json};

fn name(value: Option<impl ValueEnum>) -> Option<String> {
    value.and_then(|value| value.to_possible_value()).map(|value| value.get_name().to_owned())
}

/// The query line of a v2 listing and the name of its list.
pub(super) fn request_of(command: &QueryCommand) -> (Value, Option<&'static str>) {
    let (mut request, paging, list) = match command {
        QueryCommand::Customers { partner, association, manager, paging, .. } => {
            let mut request = json!({"op": "customers"});
            put(&mut request, "partner", partner.as_deref().map(bare));
            put(&mut request, "association", name(*association));
            put(&mut request, "manager", manager.as_deref().map(bare));
            (request, paging, "customers")
        }
        QueryCommand::Resellers { partner, paging, .. } => (json!({"op": "resellers"}), paging, "resellers").with(partner),
        QueryCommand::Operators { partner, paging, .. } => (json!({"op": "operators"}), paging, "operators").with(partner),
        QueryCommand::Quotas { partner, kind, status, parent_quota, paging, .. } => {
            let mut request = json!({"op": "quotas"});
            put(&mut request, "partner", partner.as_deref().map(bare));
            put(&mut request, "kind", name(*kind));
            put(&mut request, "status", name(*status));
            put(&mut request, "parent_quota", parent_quota.clone());
            (request, paging, "quotas")
        }
        QueryCommand::Coupons { customer, quota, kind, status, paging, .. } => {
            let mut request = json!({"op": "coupons"});
            put(&mut request, "customer", customer.as_deref().map(bare));
            put(&mut request, "quota", quota.clone());
            put(&mut request, "kind", name(*kind));
            put(&mut request, "status", name(*status));
            (request, paging, "coupons")
        }
        QueryCommand::CouponRecords { coupon, quota, customer, operation, from, to, paging, .. } => {
            let mut request = json!({"op": "coupon_records"});
            put(&mut request, "coupon", coupon.clone());
            put(&mut request, "quota", quota.clone());
            put(&mut request, "customer", customer.as_deref().map(bare));
            put(&mut request, "operation", name(*operation));
            put(&mut request, "from", from.clone());
            put(&mut request, "to", to.clone());
            (request, paging, "records")
        }
        _ => unreachable!("not a v2 listing"),
    };
    request = with_paging(request, paging);
    (request, Some(list))
}

/// Adds the optional `partner` filter.
trait WithPartner {
    fn with(self, partner: &Option<String>) -> Self;
}

impl WithPartner for (Value, &Paging, &'static str) {
    fn with(mut self, partner: &Option<String>) -> Self {
        put(&mut self.0, "partner", partner.as_deref().map(bare));
        self
    }
}

/// Joins a list cell (`["ecs","obs"]` → `ecs,obs`); null (no limit) as `any`.
fn joined(value: &Value) -> String {
    match value.as_array() {
        Some(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        None if value.is_null() => "any".to_owned(),
        None => text(value),
    }
}

pub(super) fn render(command: &QueryCommand, result: &Value) -> String {
    match command {
        QueryCommand::Customers { options, partner, paging, .. } => {
            let whose = partner
                .as_deref()
                .map_or_else(|| format!("visible to {}", options.actor), |partner| format!("of partner:{}", bare(partner)));
            let title = format!("Customers {whose}");
            simple(result, &title, "customers", &CUSTOMER_COLUMNS, paging)
        }
        QueryCommand::Resellers { options, partner, paging, .. } => {
            let whose = partner.as_deref().map_or_else(|| options.actor.clone(), |partner| format!("partner:{}", bare(partner)));
            simple(result, &format!("Resellers of {whose}"), "resellers", &RESELLER_COLUMNS, paging)
        }
        QueryCommand::Operators { paging, .. } => operators(result, paging),
        QueryCommand::Quotas { paging, .. } => quotas(result, paging),
        QueryCommand::Coupons { paging, .. } => coupons(result, paging),
        QueryCommand::CouponRecords { paging, .. } => coupon_records(result, paging),
        _ => unreachable!("not a v2 listing"),
    }
}

const CUSTOMER_COLUMNS: [(&str, &str, Align); 7] = [
    ("customer", "customer", Align::Left),
    ("name", "name", Align::Left),
    ("external id", "external_id", Align::Left),
    ("partner", "partner", Align::Left),
    ("association", "association", Align::Left),
    ("associated at (UTC)", "associated_at", Align::Left),
    ("manager", "manager", Align::Left),
];

const RESELLER_COLUMNS: [(&str, &str, Align); 3] =
    [("reseller", "partner", Align::Left), ("parent", "parent", Align::Left), ("registered at (UTC)", "registered_at", Align::Left)];

/// A listing of text columns, without totals.
fn simple(result: &Value, title: &str, key: &str, columns: &[(&'static str, &str, Align)], paging: &Paging) -> String {
    let rows = list(result, key);
    let headers: Vec<(&'static str, Align)> = columns.iter().map(|(header, _, align)| (*header, *align)).collect();
    let keys: Vec<&str> = columns.iter().map(|(_, key, _)| *key).collect();
    let mut table = Table::new(&headers);
    for row in rows {
        table.row(cells(row, &keys));
    }
    format!("{title}\n\n{}{}", table.render(), page_note(result, key, paging))
}

fn operators(result: &Value, paging: &Paging) -> String {
    let rows = list(result, "operators");
    let mut table =
        Table::new(&[("operator", Align::Left), ("partner", Align::Left), ("roles", Align::Left), ("customers managed", Align::Right)]);
    for row in rows {
        // An operator whose roles were set to none is disabled: every act refused.
        let roles = if row["roles"].as_array().is_some_and(Vec::is_empty) { "none (disabled)".to_owned() } else { joined(&row["roles"]) };
        table.row(vec![text(&row["operator"]), text(&row["partner"]), roles, text(&row["customers_managed"])]);
    }
    format!("Operators\n\n{}{}", table.render(), page_note(result, "operators", paging))
}

fn quotas(result: &Value, paging: &Paging) -> String {
    let rows = list(result, "quotas");
    let mut table = Table::new(&[
        ("quota", Align::Left),
        ("partner", Align::Left),
        ("kind", Align::Left),
        ("issued", Align::Right),
        ("balance", Align::Right),
        ("valid from (UTC)", Align::Left),
        ("valid until (UTC)", Align::Left),
        ("status", Align::Left),
        ("parent quota", Align::Left),
    ]);
    let keys = ["quota", "partner", "kind", "amount", "balance", "valid_from", "valid_until", "status", "parent_quota"];
    for row in rows {
        table.row(cells(row, &keys));
    }
    if !rows.is_empty() {
        let mut total = vec![String::new(); keys.len()];
        total[0] = "total".into();
        total[3] = sum(rows, "amount");
        total[4] = sum(rows, "balance");
        table.total(total);
    }
    format!("Coupon quotas (CPN)\n\n{}{}", table.render(), page_note(result, "quotas", paging))
}

fn coupons(result: &Value, paging: &Paging) -> String {
    let rows = list(result, "coupons");
    let mut table = Table::new(&[
        ("coupon", Align::Left),
        ("quota", Align::Left),
        ("customer", Align::Left),
        ("kind", Align::Left),
        ("face value", Align::Right),
        ("remaining", Align::Right),
        ("valid from (UTC)", Align::Left),
        ("valid until (UTC)", Align::Left),
        ("services", Align::Left),
        ("ratio", Align::Right),
        ("order kinds", Align::Left),
        ("status", Align::Left),
    ]);
    for row in rows {
        let mut line = cells(row, &["coupon", "quota", "customer", "kind", "face_value", "remaining", "valid_from", "valid_until"]);
        line.extend([joined(&row["services"]), text(&row["ratio"]), joined(&row["order_kinds"]), text(&row["status"])]);
        if row["kind"] != "pickup_voucher" {
            line[10] = "-".into();
        }
        table.row(line);
    }
    if !rows.is_empty() {
        let mut total = vec![String::new(); 12];
        total[0] = "total".into();
        total[4] = sum(rows, "face_value");
        total[5] = sum(rows, "remaining");
        table.total(total);
    }
    format!("Coupons (CPN)\n\n{}{}", table.render(), page_note(result, "coupons", paging))
}

fn coupon_records(result: &Value, paging: &Paging) -> String {
    let rows = list(result, "records");
    let mut table = Table::new(&[
        ("seq", Align::Right),
        ("at (UTC)", Align::Left),
        ("request", Align::Left),
        ("operation", Align::Left),
        ("quota", Align::Left),
        ("coupon", Align::Left),
        ("customer", Align::Left),
        ("amount", Align::Right),
    ]);
    for row in rows {
        table.row(cells(row, &["seq", "at", "request", "operation", "quota", "coupon", "customer", "amount"]));
    }
    // Issues, redemptions and reclaims move value in different directions: a total only when
    // every row shown has the same operation.
    let same = rows.windows(2).all(|pair| pair[0]["operation"] == pair[1]["operation"]);
    if let Some(first) = rows.first().filter(|_| same) {
        let mut total = vec![String::new(); 8];
        total[3] = format!("total {}", text(&first["operation"]));
        total[7] = sum(rows, "amount");
        table.total(total);
    }
    format!("Coupon records (CPN)\n\n{}{}", table.render(), page_note(result, "records", paging))
}
