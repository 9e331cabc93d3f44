//! The console's page shell and the pieces every page is made of: navigation, tables with
//! right-aligned amounts, pagers, forms that carry the CSRF token and a fresh request id, and
//! refusals shown with their SPEC code and message. maud escapes every value it renders.

use super::forms::FormError;
use super::session::random_id;
use super::{Ctx, PAGE_ROWS, View};
use crate::error::Rejection;
use hyper::StatusCode;
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

/// The whole page: head, header with navigation and sign-out, the flash message, the content.
pub(crate) fn page(ctx: &Ctx<'_>, title: &str, content: &Markup) -> Markup {
    let links: &[(&str, &str)] = match ctx.view() {
        View::Partner => &[
            ("/overview", "Overview"),
            ("/customers", "Customers"),
            ("/funds", "Funds"),
            ("/coupons", "Coupons"),
            ("/payments", "Partner payments"),
            ("/dashboard", "Consumption"),
            ("/withdrawals", "Withdrawals"),
            ("/invoices", "Invoices"),
            ("/operators", "Operators"),
        ],
        View::Manager => &[("/customers", "My customers"), ("/dashboard", "Consumption")],
        View::Customer => {
            &[("/overview", "Balance"), ("/orders", "Orders"), ("/bills", "Bills"), ("/coupons", "Coupons"), ("/invoices", "Invoices")]
        }
    };
    let current = ctx.path.as_str();
    shell(
        title,
        &html! {
            header {
                div.brand { "partner-ledger · 伙伴中心" }
                nav aria-label="Console" {
                    ul {
                        @for (path, label) in links {
                            li {
                                @if current == *path || current.starts_with(&format!("{path}/")) {
                                    a href=(format!("/console{path}")) aria-current="page" { (label) }
                                } @else {
                                    a href=(format!("/console{path}")) { (label) }
                                }
                            }
                        }
                    }
                }
                form.signout method="post" action="/console/signout" {
                    span #signed-in-as { (ctx.session.actor.to_string()) }
                    input type="hidden" name="csrf" value=(ctx.session.csrf);
                    button #signout type="submit" { "Sign out" }
                }
            }
            main {
                h1 { (title) }
                @if let Some(flash) = &ctx.flash {
                    p.flash #flash role="status" { (flash) }
                }
                (content)
            }
        },
    )
}

fn shell(title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · partner-ledger console" }
                link rel="stylesheet" href="/console/style.css";
            }
            body { (body) }
        }
    }
}

/// The sign-in page, with a message when a sign-in failed, or a note (signed out).
pub(crate) fn sign_in(message: Option<&str>, note: Option<&str>) -> Markup {
    shell(
        "Sign in",
        &html! {
            main.narrow {
                h1 { "Sign in to the partner console" }
                p { "Use an access key and its secret key (" code { "partner-ledger keys add --actor …" } ")." }
                @if let Some(message) = message {
                    p.error #signin-error role="alert" { (message) }
                }
                @if let Some(note) = note {
                    p.flash #signin-note role="status" { (note) }
                }
                form method="post" action="/console/signin" {
                    div.field {
                        label for="access_key" { "Access key" }
                        input #access_key name="access_key" type="text" autocomplete="username" required;
                    }
                    div.field {
                        label for="secret_key" { "Secret key" }
                        input #secret_key name="secret_key" type="password" autocomplete="current-password" required;
                    }
                    button #signin type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// A page that could not be shown: the status, and the ledger's refusal when there was one.
pub(crate) fn failure(ctx: &Ctx<'_>, status: StatusCode, rejection: Option<&Rejection>) -> Markup {
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        _ => "Refused",
    };
    page(
        ctx,
        title,
        &html! {
            @match rejection {
                Some(rejection) => (refusal("page-error", rejection)),
                None => p.error #page-error role="alert" { "There is no such page (" (status.as_u16()) ")." },
            }
            p { a href="/console/" { "Back to the console" } }
        },
    )
}

/// A refusal: `code (cbc): message`.
pub(crate) fn refusal(id: &str, rejection: &Rejection) -> Markup {
    html! {
        p.error id=(id) role="alert" {
            strong { (rejection.code.name()) } " (" (rejection.code.cbc()) "): " (rejection.message)
        }
    }
}

/// A cell's text: strings as they are, lists joined, null as a dash.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// How a column shows its values.
#[derive(Clone, Copy)]
pub(crate) enum Cell {
    /// Plain text.
    Text,
    /// An amount: the protocol's exact decimal string, right-aligned.
    Amount,
    /// A customer id linking to its page.
    Customer,
}

/// A column: the row's key, its heading, how it shows.
pub(crate) type Column = (&'static str, &'static str, Cell);

/// An extra column of a table: its heading and what it shows for a row (forms).
pub(crate) type RowCell<'a> = Option<(&'a str, &'a dyn Fn(&Value) -> Markup)>;

/// A table of rows, with optional extra cells (forms) per row.
pub(crate) fn table(id: &str, rows: &[Value], columns: &[Column], extra: RowCell<'_>) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty id=(format!("{id}-empty")) { "Nothing to show." }
        } @else {
            div.scroll {
                table id=(id) {
                    thead {
                        tr {
                            @for (_, label, cell) in columns {
                                th scope="col" class=[matches!(cell, Cell::Amount).then_some("amount")] { (label) }
                            }
                            @if let Some((label, _)) = extra { th scope="col" { (label) } }
                        }
                    }
                    tbody {
                        @for row in rows {
                            tr {
                                @for (key, _, cell) in columns {
                                    @match cell {
                                        Cell::Amount => td.amount { (text(&row[*key])) },
                                        Cell::Text => td { (text(&row[*key])) },
                                        Cell::Customer => td {
                                            @if let Some(customer) = row[*key].as_str() {
                                                a href=(format!("/console/customers/{}", customer.strip_prefix("customer:").unwrap_or(customer))) { (customer) }
                                            } @else { "—" }
                                        },
                                    }
                                }
                                @if let Some((_, extra)) = extra { td.actions { (extra(row)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How every listing heads and shows each field of the protocol's rows: one place, so that a
/// field reads the same on every page.
const FIELDS: [Column; 46] = [
    ("quota", "Quota", Cell::Text),
    ("kind", "Kind", Cell::Text),
    ("amount", "Amount", Cell::Amount),
    ("balance", "Balance", Cell::Amount),
    ("valid_until", "Valid until", Cell::Text),
    ("status", "Status", Cell::Text),
    ("parent_quota", "From quota", Cell::Text),
    ("coupon", "Coupon", Cell::Text),
    ("customer", "Customer", Cell::Customer),
    ("face_value", "Face value", Cell::Amount),
    ("remaining", "Remaining", Cell::Amount),
    ("order", "Order", Cell::Text),
    ("service", "Service", Cell::Text),
    ("partner_payment", "Partner payment", Cell::Text),
    ("bill", "Bill", Cell::Text),
    ("bill_type", "Type", Cell::Text),
    ("cycle", "Cycle", Cell::Text),
    ("at", "Time", Cell::Text),
    ("coupon_amount", "Coupon", Cell::Amount),
    ("allocated_amount", "Allocated", Cell::Amount),
    ("cash_amount", "Cash", Cell::Amount),
    ("invoiced", "Invoiced", Cell::Amount),
    ("name", "Name", Cell::Text),
    ("external_id", "External id", Cell::Text),
    ("association", "Association", Cell::Text),
    ("associated_at", "Associated at", Cell::Text),
    ("manager", "Customer manager", Cell::Text),
    ("seq", "Seq", Cell::Text),
    ("operation", "Operation", Cell::Text),
    ("target", "Target", Cell::Text),
    ("memo", "Memo", Cell::Text),
    ("transfer", "Transfer", Cell::Text),
    ("op", "Operation", Cell::Text),
    ("counterparty", "Counterparty", Cell::Text),
    ("balance_after", "Balance after", Cell::Amount),
    ("consumption", "Consumption", Cell::Amount),
    ("payable", "Payable (应付)", Cell::Amount),
    ("paid", "Paid (实付)", Cell::Amount),
    ("refunds", "Refunds", Cell::Amount),
    ("adjustments", "Adjustments", Cell::Amount),
    ("net", "Net", Cell::Amount),
    ("withdrawal", "Withdrawal", Cell::Text),
    ("reason", "Reason", Cell::Text),
    ("operator", "Operator", Cell::Text),
    ("roles", "Roles", Cell::Text),
    ("customers_managed", "Customers managed", Cell::Text),
];

/// The columns of these row fields, in order; `field:Heading` gives a field another heading.
pub(crate) fn columns(fields: &[&'static str]) -> Vec<Column> {
    fields
        .iter()
        .map(|field| {
            let (key, heading) = field.split_once(':').map_or((*field, None), |(key, heading)| (key, Some(heading)));
            let (key, label, cell) = FIELDS.iter().find(|(name, _, _)| *name == key).copied().unwrap_or((key, key, Cell::Text));
            (key, heading.unwrap_or(label), cell)
        })
        .collect()
}

/// The rows of a paged answer's listing.
pub(crate) fn rows<'v>(answer: &'v Value, key: &str) -> &'v [Value] {
    answer[key].as_array().map_or(&[], Vec::as_slice)
}

/// Links to the other pages of a listing of `total` rows; `parameter` names the page number in
/// the query, whose other parameters are kept.
pub(crate) fn pager(ctx: &Ctx<'_>, parameter: &str, total: u64) -> Markup {
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let current = ctx.page_number(parameter);
    let link = |number: u64| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in ctx.query.iter().filter(|(key, _)| key != parameter) {
            query.append_pair(key, value);
        }
        query.append_pair(parameter, &number.to_string());
        format!("/console{}?{}", ctx.path, query.finish())
    };
    html! {
        nav.pager aria-label="Pages" {
            span { (super::chart::plural(usize::try_from(total).unwrap_or(usize::MAX), "row")) " · page " (current) " of " (pages) }
            @if current > 1 { " " a rel="prev" href=(link(current - 1)) { "← previous" } }
            @if current < pages { " " a rel="next" href=(link(current + 1)) { "next →" } }
        }
    }
}

/// A definition list of key figures, each with a stable id (`balance-<key>`), amounts right-aligned.
pub(crate) fn figures(prefix: &str, answer: &Value, keys: &[(&str, &str)]) -> Markup {
    html! {
        dl.figures {
            @for (key, label) in keys {
                div {
                    dt { (label) }
                    dd.amount id=(format!("{prefix}-{key}")) { (text(&answer[*key])) }
                }
            }
        }
    }
}

/// How a form field is entered.
pub(crate) enum Input {
    /// A line of text.
    Text,
    /// A choice among `(value, label)`.
    Select(Vec<(String, String)>),
    /// Any number of `(value, label)`, sent as repeated fields.
    Checkboxes(Vec<(String, String)>),
    /// Not shown.
    Hidden,
}

/// A form field: its name (the protocol field it fills, where there is one), label, input and
/// initial value.
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) input: Input,
    pub(crate) value: String,
}

impl Field {
    pub(crate) fn text(name: &'static str, label: &'static str, value: impl Into<String>) -> Field {
        Field { name, label, input: Input::Text, value: value.into() }
    }

    pub(crate) fn hidden(name: &'static str, value: impl Into<String>) -> Field {
        Field { name, label: "", input: Input::Hidden, value: value.into() }
    }

    pub(crate) fn select(name: &'static str, label: &'static str, options: Vec<(String, String)>) -> Field {
        Field { name, label, input: Input::Select(options), value: String::new() }
    }
}

/// A form posting to `/console/actions/<action>`: the CSRF token, a fresh request id (kept when
/// the form comes back refused, so that resending it is the same request), the page to return
/// to, and the refusal next to the field it concerns.
pub(crate) fn form(ctx: &Ctx<'_>, action: &str, id: &str, fields: &[Field], submit: &str, error: Option<&FormError>) -> Markup {
    let error = error.filter(|error| error.form == id);
    let value_of =
        |field: &Field| -> String { error.and_then(|error| error.value(field.name)).map_or_else(|| field.value.clone(), str::to_owned) };
    let request = error.and_then(|error| error.value("request")).map_or_else(|| random_id("console"), str::to_owned);
    let back = if ctx.query.is_empty() {
        format!("/console{}", ctx.path)
    } else {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(ctx.query.iter());
        format!("/console{}?{}", ctx.path, query.finish())
    };
    let field_error = |name: &str| error.filter(|error| error.field.as_deref() == Some(name));
    let loose = error.filter(|error| {
        error.field.as_deref().is_none_or(|name| !fields.iter().any(|field| field.name == name && !matches!(field.input, Input::Hidden)))
    });
    html! {
        form.action method="post" action=(format!("/console/actions/{action}")) id=(id) {
            input type="hidden" name="csrf" value=(ctx.session.csrf);
            input type="hidden" name="request" value=(request);
            input type="hidden" name="form" value=(id);
            input type="hidden" name="back" value=(back);
            @if let Some(error) = loose { (refusal(&format!("{id}-error"), &error.rejection)) }
            @for field in fields {
                @let field_id = format!("{id}-{}", field.name);
                @let value = value_of(field);
                @let invalid = field_error(field.name);
                @match &field.input {
                    Input::Hidden => input type="hidden" name=(field.name) value=(value);,
                    Input::Text => div.field {
                        label for=(field_id) { (field.label) }
                        input id=(field_id) name=(field.name) type="text" value=(value)
                            aria-invalid=[invalid.map(|_| "true")] aria-describedby=[invalid.map(|_| format!("{field_id}-error"))];
                        @if let Some(error) = invalid { (refusal(&format!("{field_id}-error"), &error.rejection)) }
                    },
                    Input::Select(options) => div.field {
                        label for=(field_id) { (field.label) }
                        select id=(field_id) name=(field.name) aria-invalid=[invalid.map(|_| "true")] {
                            @for (option, label) in options {
                                option value=(option) selected[*option == value] { (label) }
                            }
                        }
                        @if let Some(error) = invalid { (refusal(&format!("{field_id}-error"), &error.rejection)) }
                    },
                    Input::Checkboxes(options) => fieldset.field {
                        legend { (field.label) }
                        @if options.is_empty() { span.empty { "none" } }
                        @for (index, (option, label)) in options.iter().enumerate() {
                            @let box_id = format!("{field_id}-{index}");
                            span.check {
                                input type="checkbox" id=(box_id) name=(field.name) value=(option);
                                label for=(box_id) { (label) }
                            }
                        }
                        @if let Some(error) = invalid { (refusal(&format!("{field_id}-error"), &error.rejection)) }
                    },
                }
            }
            button type="submit" id=(format!("{id}-submit")) { (submit) }
        }
    }
}
