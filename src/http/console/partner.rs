//! The partner's pages (a partner, or an operator acting for one): overview, customers and their
//! detail, funds (allocate, recover, adjust records), coupons and quotas, partner payments, the
//! consumption dashboard, withdrawals, invoices and operators. Each is a view over queries; each
//! form is one command (see `forms.rs`).

use super::chart::Trend;
use super::forms::FormError;
use super::layout::{Column, Field, Input, RowCell, columns, figures, form, page as shell, pager, refusal, rows, table, text};
use super::session::random_id;
use super::{Ctx, View, ask_page, paging, partner_party};
use crate::error::Rejection;
use crate::time::Timestamp;
use maud::{Markup, PreEscaped, html};
use serde_json::{Value, json};

type Page = Option<Result<Markup, Rejection>>;

/// The page at `path`, or `None` when there is none.
pub(crate) async fn page(ctx: &Ctx<'_>, path: &str, error: Option<&FormError>) -> Page {
    let result = match path {
        "/overview" => overview(ctx).await,
        "/customers" => customers(ctx).await,
        "/funds" => funds(ctx, error).await,
        "/coupons" => coupons(ctx, error).await,
        "/payments" => payments(ctx, error).await,
        "/dashboard" => dashboard(ctx).await,
        "/withdrawals" => withdrawals(ctx, error).await,
        "/invoices" => invoices(ctx, error).await,
        "/operators" => operators(ctx, error).await,
        _ => match path.strip_prefix("/customers/") {
            Some(customer) if !customer.is_empty() && !customer.contains('/') => customer_detail(ctx, customer, error).await,
            _ => return None,
        },
    };
    Some(result)
}

const BALANCE_FIGURES: [(&str, &str); 7] = [
    ("cash", "Cash"),
    ("held", "Held by withdrawals"),
    ("available", "Available"),
    ("credit_limit", "Credit limit"),
    ("credit_used", "Credit used"),
    ("over_invoiced", "Over-invoiced (欠票)"),
    ("withdrawable", "Withdrawable"),
];

const QUOTA_FIELDS: [&str; 7] = ["quota", "kind", "amount:Issued", "balance", "valid_until", "status", "parent_quota"];

pub(crate) const COUPON_FIELDS: [&str; 8] = ["coupon", "customer", "quota", "kind", "face_value", "remaining", "valid_until", "status"];

pub(crate) const ORDER_FIELDS: [&str; 7] = ["order", "customer", "kind", "service", "amount", "status", "partner_payment"];

pub(crate) const BILL_FIELDS: [&str; 9] =
    ["bill", "bill_type", "cycle", "at", "amount", "coupon_amount", "allocated_amount", "cash_amount", "invoiced"];

async fn overview(ctx: &Ctx<'_>) -> Result<Markup, Rejection> {
    let [balance] = <[Value; 1]>::try_from(ask_page(ctx, vec![json!({"op": "balance", "party": partner_party(ctx)})]).await?)
        .map_err(|_| no_answer())?;
    let quotas = balance["quotas"].as_array().cloned().unwrap_or_default();
    let content = html! {
        section {
            h2 { "Money (CNY)" }
            (figures("balance", &balance, &BALANCE_FIGURES))
        }
        section {
            h2 { "Coupon quotas (CPN)" }
            (table("quotas", &quotas, &columns(&["quota", "kind", "balance", "valid_until", "status"]), None))
        }
    };
    Ok(shell(ctx, &format!("Overview · {}", partner_party(ctx)), &content))
}

fn no_answer() -> Rejection {
    Rejection::new(crate::error::ErrorCode::Storage, "no answer")
}

async fn customers(ctx: &Ctx<'_>) -> Result<Markup, Rejection> {
    let number = ctx.page_number("page");
    let mut query = json!({"op": "customers", "partner": ctx.partner()});
    merge(&mut query, &paging(number));
    if let Some(manager) = ctx.param("manager") {
        query["manager"] = json!(manager);
    }
    let answer = ctx.ask(query).await?;
    let headings = columns(&["customer", "name", "external_id", "association", "associated_at", "manager"]);
    let content = html! {
        @if ctx.view() == View::Partner {
            form.filter method="get" action="/console/customers" {
                div.field {
                    label for="filter-manager" { "Customer manager" }
                    input #filter-manager name="manager" type="text" value=(ctx.param("manager").unwrap_or(""));
                }
                button #filter-submit type="submit" { "Filter" }
            }
        }
        (table("customers", rows(&answer, "customers"), &headings, None))
        (pager(ctx, "page", answer["total_count"].as_u64().unwrap_or(0)))
    };
    Ok(shell(ctx, "Customers (客户管理)", &content))
}

/// Adds `extra`'s fields to `query`.
pub(crate) fn merge(query: &mut Value, extra: &Value) {
    if let (Value::Object(fields), Value::Object(extra)) = (query, extra) {
        fields.extend(extra.iter().map(|(key, value)| (key.clone(), value.clone())));
    }
}

/// A paged query of page parameter `parameter`.
pub(crate) fn paged(ctx: &Ctx<'_>, mut query: Value, parameter: &str) -> Value {
    merge(&mut query, &paging(ctx.page_number(parameter)));
    query
}

/// One paged answer as a table (with a cell of forms per row when `extra` says so) and its
/// pager, or its refusal.
pub(crate) fn listing(
    ctx: &Ctx<'_>,
    id: &str,
    answer: &Result<Value, Rejection>,
    key: &str,
    columns: &[Column],
    parameter: &str,
    extra: RowCell<'_>,
) -> Markup {
    match answer {
        Ok(answer) => html! {
            (table(id, rows(answer, key), columns, extra))
            (pager(ctx, parameter, answer["total_count"].as_u64().unwrap_or(0)))
        },
        Err(rejection) => refusal(&format!("{id}-error"), rejection),
    }
}

async fn customer_detail(ctx: &Ctx<'_>, customer: &str, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let party = format!("customer:{customer}");
    let full = ctx.view() == View::Partner;
    let mut queries = vec![
        paged(ctx, json!({"op": "bills", "party": party}), "bills_page"),
        paged(ctx, json!({"op": "orders", "customer": customer}), "orders_page"),
    ];
    if full {
        queries.push(json!({"op": "balance", "party": party}));
        queries.push(paged(ctx, json!({"op": "coupons", "customer": customer}), "coupons_page"));
    }
    let mut answers = ctx.ask_all(queries).await.into_iter();
    // The bills are what every partner-side reader may see of its customers: without them, the page is refused.
    let bills = answers.next().unwrap_or_else(|| Err(no_answer()))?;
    let orders = answers.next().unwrap_or_else(|| Err(no_answer()));
    let balance = answers.next();
    let coupons = answers.next();
    let money = [
        ("cash", "Own cash"),
        ("allocated", "Allocated (伙伴拨款)"),
        ("available", "Available cash"),
        ("arrears", "Arrears"),
        ("credit_used", "Credit used"),
    ];
    let content = html! {
        @if let Some(balance) = &balance {
            section {
                h2 { "Balances (CNY)" }
                @match balance {
                    Ok(balance) => (figures("balance", balance, &money)),
                    Err(rejection) => (refusal("balance-error", rejection)),
                }
            }
            section.forms {
                div {
                    h2 { "Allocate (拨款)" }
                    (form(ctx, "allocate", "allocate", &[Field::hidden("customer", customer), Field::text("amount", "Amount (CNY)", ""), Field::text("memo", "Memo (optional)", "")], "Allocate…", error))
                }
                div {
                    h2 { "Recover (回收)" }
                    (form(ctx, "recover", "recover", &[Field::hidden("customer", customer), Field::text("amount", "Amount (CNY)", ""), Field::text("memo", "Memo (optional)", "")], "Recover…", error))
                }
            }
        }
        section {
            h2 { "Orders" }
            (listing(ctx, "orders", &orders, "orders", &columns(&ORDER_FIELDS), "orders_page", None))
        }
        section {
            h2 { "Bills" }
            (listing(ctx, "bills", &Ok(bills), "bills", &columns(&BILL_FIELDS), "bills_page", None))
        }
        @if let Some(coupons) = &coupons {
            section {
                h2 { "Coupons" }
                (listing(ctx, "coupons", coupons, "coupons", &columns(&COUPON_FIELDS), "coupons_page", None))
            }
        }
    };
    Ok(shell(ctx, &format!("Customer {customer}"), &content))
}

async fn funds(ctx: &Ctx<'_>, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let answers = ask_page(
        ctx,
        vec![
            json!({"op": "balance", "party": partner_party(ctx)}),
            paged(ctx, json!({"op": "adjust_records", "partner": ctx.partner()}), "records_page"),
            paged(ctx, json!({"op": "statement", "party": partner_party(ctx)}), "statement_page"),
        ],
    )
    .await?;
    let records = columns(&["seq", "at", "operation", "target", "amount", "memo", "transfer"]);
    let statement = columns(&["seq", "at", "op", "counterparty", "amount", "balance_after"]);
    let fields = || {
        [Field::text("customer", "Customer id", ""), Field::text("amount", "Amount (CNY)", ""), Field::text("memo", "Memo (optional)", "")]
    };
    let content = html! {
        section {
            h2 { "Balance (CNY)" }
            (figures("balance", &answers[0], &BALANCE_FIGURES))
        }
        section.forms {
            div { h2 { "Allocate to a customer (拨款)" } (form(ctx, "allocate", "allocate", &fields(), "Allocate…", error)) }
            div { h2 { "Recover from a customer (回收)" } (form(ctx, "recover", "recover", &fields(), "Recover…", error)) }
        }
        section {
            h2 { "Allocation, recovery and adjustment records (拨款 / 回收 / 调账记录)" }
            (listing(ctx, "adjust-records", &Ok(answers[1].clone()), "records", &records, "records_page", None))
        }
        section {
            h2 { "Cash statement (recharges, allocations, payments, withdrawals)" }
            (listing(ctx, "statement", &Ok(answers[2].clone()), "lines", &statement, "statement_page", None))
        }
    };
    Ok(shell(ctx, "Funds (资金管理)", &content))
}

async fn coupons(ctx: &Ctx<'_>, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let answers = ask_page(
        ctx,
        vec![
            paged(ctx, json!({"op": "quotas", "partner": ctx.partner()}), "quotas_page"),
            paged(ctx, json!({"op": "coupons"}), "coupons_page"),
            paged(ctx, json!({"op": "coupon_records"}), "records_page"),
            json!({"op": "quotas", "partner": ctx.partner(), "status": "normal", "limit": 100}),
        ],
    )
    .await?;
    let quota_options: Vec<(String, String)> = rows(&answers[3], "quotas")
        .iter()
        .filter_map(|quota| {
            let id = quota["quota"].as_str()?;
            Some((id.to_owned(), format!("{id} · {} · balance {}", text(&quota["kind"]), text(&quota["balance"]))))
        })
        .collect();
    let reclaim_quota = |row: &Value| -> Markup {
        let quota = text(&row["quota"]);
        if row["status"] != "normal" {
            return html! {};
        }
        form(ctx, "reclaim_quota", &format!("reclaim-quota-{quota}"), &[Field::hidden("quota", quota.clone())], "Reclaim", error)
    };
    let reclaim_coupon = |row: &Value| -> Markup {
        let coupon = text(&row["coupon"]);
        if row["status"] != "usable" {
            return html! {};
        }
        form(ctx, "reclaim_coupon", &format!("reclaim-coupon-{coupon}"), &[Field::hidden("coupon", coupon.clone())], "Reclaim", error)
    };
    let record_columns = columns(&["seq", "at", "operation", "quota", "coupon", "customer", "amount"]);
    let kinds = ["voucher", "cash_coupon", "pickup_voucher"].map(|kind| (kind.to_owned(), kind.to_owned())).to_vec();
    let content = html! {
        section.forms {
            div {
                h2 { "Issue a coupon" }
                (form(ctx, "issue_coupon", "issue-coupon", &[
                    Field::text("coupon", "Coupon id", random_id("CPN")),
                    Field::select("quota", "From quota", quota_options.clone()),
                    Field::text("customer", "Customer id", ""),
                    Field::text("face_value", "Face value (CPN)", ""),
                    Field::text("services", "Services (optional, comma-separated)", ""),
                    Field::text("ratio", "Ratio (pickup vouchers only)", ""),
                ], "Issue coupon", error))
            }
            div {
                h2 { "Issue a quota to a reseller" }
                (form(ctx, "issue_quota", "issue-quota", &[
                    Field::text("quota", "Quota id", random_id("QTA")),
                    Field::text("partner", "Reseller id", ""),
                    Field::select("kind", "Kind", kinds),
                    Field::select("from_quota", "From your quota", quota_options),
                    Field::text("amount", "Amount (CPN)", ""),
                ], "Issue quota", error))
                h2 { "Whitelist a customer for cash coupons" }
                (form(ctx, "whitelist", "whitelist", &[Field::text("customer", "Customer id", "")], "Whitelist", error))
            }
        }
        section {
            h2 { "Quotas (券额度)" }
            (listing(ctx, "quotas", &Ok(answers[0].clone()), "quotas", &columns(&QUOTA_FIELDS), "quotas_page", Some(("Reclaim", &reclaim_quota))))
        }
        section {
            h2 { "Coupons (代金券)" }
            (listing(ctx, "coupons", &Ok(answers[1].clone()), "coupons", &columns(&COUPON_FIELDS), "coupons_page", Some(("Reclaim", &reclaim_coupon))))
        }
        section {
            h2 { "Operation records" }
            (listing(ctx, "coupon-records", &Ok(answers[2].clone()), "records", &record_columns, "records_page", None))
        }
    };
    Ok(shell(ctx, "Coupons and quotas (券管理)", &content))
}

async fn payments(ctx: &Ctx<'_>, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let answer = ctx.ask(paged(ctx, json!({"op": "orders", "partner_payment": "requested", "status": "pending_payment"}), "page")).await?;
    let actions = |row: &Value| -> Markup {
        let order = text(&row["order"]);
        html! {
            (form(ctx, "pay_partner", &format!("pay-{order}"), &[Field::hidden("order", order.clone())], "Pay", error))
            (form(ctx, "reject_payment", &format!("reject-{order}"), &[Field::hidden("order", order.clone()), Field::text("reason", "Reason", "")], "Reject", error))
        }
    };
    let content = html! {
        p { "Orders whose customers asked you to pay (代付), awaiting your payment or rejection." }
        (listing(ctx, "payments", &Ok(answer), "orders", &columns(&ORDER_FIELDS), "page", Some(("Pay or reject", &actions))))
    };
    Ok(shell(ctx, "Orders awaiting partner payment", &content))
}

/// The UTC+8 billing cycle of now.
fn current_cycle(ctx: &Ctx<'_>) -> String {
    let local = Timestamp::from_millis(ctx.app.clock.now().millis() + 8 * 3_600_000).to_string();
    local[..7].to_owned()
}

async fn dashboard(ctx: &Ctx<'_>) -> Result<Markup, Rejection> {
    let cycle = ctx.param("cycle").map_or_else(|| current_cycle(ctx), str::to_owned);
    let mut query = json!({"op": "consumption_summary", "partner": ctx.partner(), "cycle": cycle});
    if let Some(manager) = ctx.param("manager") {
        query["manager"] = json!(manager);
    }
    let summary = ctx.ask(query).await?;
    let customers: Vec<String> = rows(&summary, "customers").iter().filter_map(|row| row["customer"].as_str().map(str::to_owned)).collect();
    let chart = trend(ctx, &cycle, &customers, &summary["totals"]).await;
    let headings = columns(&["customer", "manager:Manager", "consumption", "payable", "paid", "refunds", "adjustments", "net"]);
    let mut totals = summary["totals"].clone();
    totals["customer"] = json!("Total");
    let number = ctx.page_number("page");
    let all = rows(&summary, "customers");
    let start = usize::try_from((number - 1) * super::PAGE_ROWS).unwrap_or(usize::MAX).min(all.len());
    let shown: Vec<Value> = all[start..].iter().take(usize::try_from(super::PAGE_ROWS).unwrap_or(20)).cloned().collect();
    let content = html! {
        form.filter method="get" action="/console/dashboard" {
            div.field {
                label for="filter-cycle" { "Billing cycle (UTC+8)" }
                input #filter-cycle name="cycle" type="text" value=(cycle) pattern="[0-9]{4}-[0-9]{2}";
            }
            @if ctx.view() == View::Partner {
                div.field {
                    label for="filter-manager" { "Customer manager" }
                    input #filter-manager name="manager" type="text" value=(ctx.param("manager").unwrap_or(""));
                }
            }
            button #filter-submit type="submit" { "Show" }
        }
        section {
            h2 { "Totals (CNY)" }
            (figures("totals", &totals, &[("consumption", "Consumption"), ("payable", "Payable (应付金额)"), ("paid", "Paid (实付金额)"), ("refunds", "Refunds"), ("net", "Net")]))
        }
        section.chart {
            h2 { "Daily trend" }
            @match &chart {
                Ok(svg) => figure #trend { (PreEscaped(svg)) },
                Err(message) => p.error role="alert" { (message) },
            }
        }
        section {
            h2 { "Per customer" }
            (table("consumption", &shown, &headings, None))
            (pager(ctx, "page", all.len() as u64))
        }
    };
    Ok(shell(ctx, &format!("Consumption dashboard (消费看板) · {cycle}"), &content))
}

/// The cycle's daily trend as inline SVG, from every customer's bills of the cycle.
async fn trend(ctx: &Ctx<'_>, cycle: &str, customers: &[String], totals: &Value) -> Result<String, String> {
    const BILLS_PAGE: u64 = 100;
    let mut trend = Trend::new(ctx.partner(), cycle, customers.len()).ok_or_else(|| format!("cycle {cycle:?} is not YYYY-MM"))?;
    let mut pending: Vec<(String, u64)> = customers.iter().map(|customer| (customer.clone(), 0)).collect();
    while !pending.is_empty() {
        let queries = pending
            .iter()
            .map(|(customer, offset)| json!({"op": "bills", "party": format!("customer:{customer}"), "cycle": cycle, "offset": offset, "limit": BILLS_PAGE}))
            .collect();
        let answers = ctx.ask_all(queries).await;
        let mut next = Vec::new();
        for ((customer, offset), answer) in pending.into_iter().zip(answers) {
            let answer = answer.map_err(|rejection| format!("bills of {customer}: {}: {}", rejection.code.name(), rejection.message))?;
            let bills = rows(&answer, "bills");
            for bill in bills {
                trend.add_bill(bill)?;
            }
            let seen = offset + bills.len() as u64;
            if !bills.is_empty() && seen < answer["total_count"].as_u64().unwrap_or(0) {
                next.push((customer, seen));
            }
        }
        pending = next;
    }
    trend.check_totals(totals)?;
    Ok(super::chart::svg_element(&trend))
}

async fn withdrawals(ctx: &Ctx<'_>, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let party = partner_party(ctx);
    let answers =
        ask_page(ctx, vec![json!({"op": "balance", "party": party}), paged(ctx, json!({"op": "withdrawals", "party": party}), "page")])
            .await?;
    Ok(shell(ctx, "Withdrawals (提现)", &withdrawals_content(ctx, &answers, error)))
}

/// The withdrawals of the session's own party: figures, the request form, the list.
pub(crate) fn withdrawals_content(ctx: &Ctx<'_>, answers: &[Value], error: Option<&FormError>) -> Markup {
    let headings = columns(&["withdrawal", "at:Requested at", "amount", "status", "reason"]);
    let delete = |row: &Value| -> Markup {
        let withdrawal = text(&row["withdrawal"]);
        if row["status"] != "rejected" {
            return html! {};
        }
        form(ctx, "delete_withdrawal", &format!("delete-{withdrawal}"), &[Field::hidden("withdrawal", withdrawal.clone())], "Delete", error)
    };
    html! {
        section {
            h2 { "Balance (CNY)" }
            (figures("balance", &answers[0], &[("available", "Available"), ("held", "Held"), ("over_invoiced", "Over-invoiced (欠票)"), ("withdrawable", "Withdrawable")]))
        }
        section {
            h2 { "Request a withdrawal" }
            (form(ctx, "request_withdrawal", "request-withdrawal", &[Field::text("withdrawal", "Withdrawal id", random_id("WD")), Field::text("amount", "Amount (CNY)", "")], "Request withdrawal", error))
        }
        section {
            h2 { "Withdrawals" }
            (listing(ctx, "withdrawals", &Ok(answers[1].clone()), "withdrawals", &headings, "page", Some(("", &delete))))
        }
    }
}

async fn invoices(ctx: &Ctx<'_>, error: Option<&FormError>) -> Result<Markup, Rejection> {
    Ok(shell(ctx, "Invoices (发票管理)", &invoices_content(ctx, &partner_party(ctx), error).await?))
}

/// The invoices of `party`: invoiceable items, requests by amount or by cycle, returns, and an
/// invoice looked up by id.
pub(crate) async fn invoices_content(ctx: &Ctx<'_>, party: &str, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let mut queries = vec![json!({"op": "invoiceable", "party": party})];
    if let Some(invoice) = ctx.param("invoice") {
        queries.push(json!({"op": "invoice", "invoice": invoice}));
    }
    let mut answers = ctx.ask_all(queries).await.into_iter();
    let invoiceable = answers.next().unwrap_or_else(|| Err(no_answer()))?;
    let looked_up = answers.next();
    let items = rows(&invoiceable, "items");
    let number = ctx.page_number("page");
    let start = usize::try_from((number - 1) * super::PAGE_ROWS).unwrap_or(usize::MAX).min(items.len());
    let shown: Vec<Value> = items[start..].iter().take(usize::try_from(super::PAGE_ROWS).unwrap_or(20)).cloned().collect();
    let headings = columns(&["bill", "bill_type", "cycle", "at", "remaining:Invoiceable"]);
    let matched = columns(&["bill", "amount"]);
    Ok(html! {
        section {
            h2 { "Invoiceable" }
            (figures("invoiceable", &invoiceable, &[("total", "Invoiceable in total (CNY)")]))
        }
        section.forms {
            div {
                h2 { "Request an invoice by amount" }
                (form(ctx, "request_invoice", "invoice-amount", &[Field::text("invoice", "Invoice id", random_id("INV")), Field::text("amount", "Amount (CNY)", "")], "Request invoice", error))
            }
            div {
                h2 { "Request an invoice by billing cycle (按账期)" }
                (form(ctx, "request_invoice", "invoice-cycles", &[Field::text("invoice", "Invoice id", random_id("INV")), Field::text("cycles", "Cycles (YYYY-MM, comma-separated)", "")], "Request invoice", error))
            }
            div {
                h2 { "Return an invoice" }
                (form(ctx, "return_invoice", "return-invoice", &[Field::text("invoice", "Invoice id", "")], "Return invoice", error))
                h2 { "Look up an invoice" }
                form.filter method="get" action=(format!("/console{}", ctx.path)) {
                    div.field {
                        label for="lookup-invoice" { "Invoice id" }
                        input #lookup-invoice name="invoice" type="text" value=(ctx.param("invoice").unwrap_or(""));
                    }
                    button #lookup-submit type="submit" { "Show" }
                }
            }
        }
        @if let Some(looked_up) = looked_up {
            section #invoice {
                @match looked_up {
                    Ok(invoice) => {
                        h2 { "Invoice " (text(&invoice["invoice"])) " · " (text(&invoice["status"])) }
                        (figures("invoice", &invoice, &[("amount", "Amount")]))
                        (table("invoice-matched", rows(&invoice, "matched"), &matched, None))
                    },
                    Err(rejection) => (refusal("invoice-error", &rejection)),
                }
            }
        }
        section {
            h2 { "Invoiceable items" }
            (table("invoiceable-items", &shown, &headings, None))
            (pager(ctx, "page", items.len() as u64))
        }
    })
}

async fn operators(ctx: &Ctx<'_>, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let answers = ask_page(
        ctx,
        vec![
            paged(ctx, json!({"op": "operators", "partner": ctx.partner()}), "page"),
            json!({"op": "operators", "partner": ctx.partner(), "limit": 100}),
        ],
    )
    .await?;
    let headings = columns(&["operator", "roles", "customers_managed"]);
    let mut managers = vec![(String::new(), "— none (remove the manager) —".to_owned())];
    managers.extend(
        rows(&answers[1], "operators")
            .iter()
            .filter(|row| row["roles"].as_array().is_some_and(|roles| roles.iter().any(|role| role == "customer_manager")))
            .filter_map(|row| {
                let id = row["operator"].as_str()?.trim_start_matches("operator:").to_owned();
                Some((id.clone(), id))
            }),
    );
    let roles = ["admin", "finance", "customer_manager"].map(|role| (role.to_owned(), role.to_owned())).to_vec();
    let content = html! {
        section.forms {
            div {
                h2 { "Register an operator" }
                (form(ctx, "register_operator", "register-operator", &[Field::text("operator", "Operator id", ""), Field { name: "roles", label: "Roles", input: Input::Checkboxes(roles), value: String::new() }], "Register", error))
            }
            div {
                h2 { "Assign a customer manager (客户分配)" }
                (form(ctx, "assign_manager", "assign-manager", &[Field::text("customer", "Customer id", ""), Field::select("operator", "Customer manager", managers)], "Assign", error))
            }
        }
        section {
            h2 { "Operators" }
            (listing(ctx, "operators", &Ok(answers[0].clone()), "operators", &headings, "page", None))
        }
    };
    Ok(shell(ctx, "Operators", &content))
}
