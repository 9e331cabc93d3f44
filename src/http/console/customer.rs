//! A customer's pages: its balance (own money and allocated money), orders (pay, with coupons, or
//! ask the partner to pay), bills, coupons and invoices.

use super::forms::FormError;
use super::layout::{Column, Field, Input, columns, figures, form, page as shell, rows, text};
use super::partner::{BILL_FIELDS, COUPON_FIELDS, ORDER_FIELDS, invoices_content, listing, paged};
use super::{Ctx, ask_page};
use crate::error::Rejection;
use maud::{Markup, html};
use serde_json::{Value, json};

/// The columns of a listing without its customer column (the customer's own pages).
fn own(fields: &[&'static str]) -> Vec<Column> {
    columns(&fields.iter().copied().filter(|field| *field != "customer").collect::<Vec<_>>())
}

/// The page at `path`, or `None` when there is none.
pub(crate) async fn page(ctx: &Ctx<'_>, path: &str, error: Option<&FormError>) -> Option<Result<Markup, Rejection>> {
    let party = ctx.session.actor.to_string();
    let id = party.trim_start_matches("customer:").to_owned();
    Some(match path {
        "/overview" => balance(ctx, &party).await,
        "/orders" => orders(ctx, &id, error).await,
        "/bills" => ask_page(ctx, vec![paged(ctx, json!({"op": "bills", "party": party}), "page")]).await.map(|answers| {
            shell(
                ctx,
                "Bills",
                &html! { section { (listing(ctx, "bills", &Ok(answers[0].clone()), "bills", &columns(&BILL_FIELDS), "page", None)) } },
            )
        }),
        "/coupons" => ask_page(ctx, vec![paged(ctx, json!({"op": "coupons", "customer": id}), "page")]).await.map(|answers| {
            shell(
                ctx,
                "Coupons",
                &html! { section { (listing(ctx, "coupons", &Ok(answers[0].clone()), "coupons", &own(&COUPON_FIELDS), "page", None)) } },
            )
        }),
        "/invoices" => invoices_content(ctx, &party, error).await.map(|content| shell(ctx, "Invoices", &content)),
        _ => return None,
    })
}

async fn balance(ctx: &Ctx<'_>, party: &str) -> Result<Markup, Rejection> {
    let answers = ask_page(ctx, vec![json!({"op": "balance", "party": party})]).await?;
    let keys = [
        ("cash", "Own cash"),
        ("allocated", "Allocated by your partner (伙伴拨款)"),
        ("held", "Held by withdrawals"),
        ("available", "Available own cash"),
        ("credit_limit", "Credit limit"),
        ("credit_used", "Credit used"),
        ("arrears", "Arrears"),
        ("withdrawable", "Withdrawable"),
    ];
    let coupons = answers[0]["coupons"].as_array().cloned().unwrap_or_default();
    let headings = columns(&["coupon", "kind", "face_value", "remaining", "valid_until", "status"]);
    let content = html! {
        section { h2 { "Money (CNY)" } (figures("balance", &answers[0], &keys)) }
        section { h2 { "Coupons" } (super::layout::table("balance-coupons", &coupons, &headings, None)) }
    };
    Ok(shell(ctx, &format!("Balance · {party}"), &content))
}

async fn orders(ctx: &Ctx<'_>, id: &str, error: Option<&FormError>) -> Result<Markup, Rejection> {
    let answers = ask_page(
        ctx,
        vec![
            paged(ctx, json!({"op": "orders", "customer": id}), "page"),
            json!({"op": "coupons", "customer": id, "status": "usable", "limit": 100}),
        ],
    )
    .await?;
    let usable: Vec<(String, String)> = rows(&answers[1], "coupons")
        .iter()
        .filter_map(|coupon| {
            let id = coupon["coupon"].as_str()?;
            Some((id.to_owned(), format!("{id} ({} left)", text(&coupon["remaining"]))))
        })
        .collect();
    let actions = |row: &Value| -> Markup {
        let order = text(&row["order"]);
        if row["status"] != "pending_payment" {
            return html! {};
        }
        let requested = row["partner_payment"] == "requested";
        html! {
            @if requested {
                span.note { "Awaiting your partner" }
            } @else {
                (form(ctx, "pay_order", &format!("pay-{order}"), &[Field::hidden("order", order.clone()), Field { name: "coupons", label: "Coupons", input: Input::Checkboxes(usable.clone()), value: String::new() }], "Pay", error))
                (form(ctx, "request_partner_payment", &format!("ask-{order}"), &[Field::hidden("order", order.clone())], "Ask partner to pay", error))
            }
        }
    };
    let content = listing(ctx, "orders", &Ok(answers[0].clone()), "orders", &own(&ORDER_FIELDS), "page", Some(("Pay", &actions)));
    Ok(shell(ctx, "Orders", &html! { section { (content) } }))
}
