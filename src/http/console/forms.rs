//! What the console's forms post: signing in and out, and the actions, each turned into one
//! protocol command of the session's actor. Every form but sign-in carries the session's CSRF
//! token; a form without it, or with another session's, changes nothing. Allocations and
//! recoveries first show a confirmation page. Success redirects (303) back to the page the form
//! came from; a refusal shows that page again with the SPEC error at the field it concerns.

use super::layout::{self, text};
use super::session::{self, Session};
use super::{Ctx, Incoming, html, partner_party, redirect};
use crate::error::{ErrorCode, Rejection};
use crate::id::Party;
use http_body_util::Full;
use hyper::StatusCode;
use hyper::body::Bytes;
use maud::html as markup;
use serde_json::{Map, Value, json};
use std::sync::Arc;

type Answer = hyper::Response<Full<Bytes>>;

/// A form's fields as posted (repeated names kept, in order).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, trimmed ("" when absent).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.trim())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.trim()).filter(|value| !value.is_empty()).collect()
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }
}

/// A refused form, shown again on its page: which form, the field the refusal concerns, the
/// refusal, and what was typed.
pub(crate) struct FormError {
    pub(crate) form: String,
    pub(crate) field: Option<String>,
    pub(crate) rejection: Rejection,
    values: Vec<(String, String)>,
}

impl FormError {
    /// What was typed into `name`.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// `POST /console/signin`: an access key and secret key, checked by the keyring without the
/// ledger. Failures are counted per address; an address over the limit is refused unchecked.
pub(crate) async fn sign_in(app: &Arc<super::App>, request: &Incoming<'_>) -> Answer {
    if app.sessions.throttled(request.peer) {
        let message = format!("Too many failed sign-ins from your address (over {}): wait a minute.", session::FAILURES_MAX);
        return html(app, StatusCode::TOO_MANY_REQUESTS, &layout::sign_in(Some(&message), None));
    }
    let form = Form::parse(request.body);
    let signed_in = match app.keys.sign_in(form.get("access_key"), form.get("secret_key")) {
        Ok(signed_in) => signed_in,
        Err(failure) => {
            app.sessions.failed(request.peer);
            tracing::info!(reason = %failure, peer = %request.peer, "refused a console sign-in");
            return html(app, StatusCode::UNAUTHORIZED, &layout::sign_in(Some(&format!("Not signed in: {failure}.")), None));
        }
    };
    let partner = match &signed_in.actor {
        Party::Partner(id) => Some(id.as_str().to_owned()),
        Party::Operator(_) => Some(signed_in.domain.clone()),
        Party::Customer(_) => None,
        Party::Platform => {
            return html(
                app,
                StatusCode::FORBIDDEN,
                &layout::sign_in(Some("The platform's keys have no console: use a partner's or a customer's key."), None),
            );
        }
    };
    // An operator whose roles do not reach its partner's balance sees only its customers.
    let full = match (&signed_in.actor, &partner) {
        (Party::Operator(_), Some(partner)) => {
            let probe = json!({"op": "balance", "party": format!("partner:{partner}")});
            let answer = super::ask_as(app, &signed_in.actor, vec![probe]).await.pop();
            !matches!(answer, Some(Err(rejection)) if rejection.code == ErrorCode::AccessDenied)
        }
        _ => true,
    };
    let first_page = if full { "/console/overview" } else { "/console/customers" };
    match Session::new(signed_in.actor, partner, full).and_then(|session| app.sessions.open(session)) {
        Some(token) => redirect(app, first_page, Some(session::set_cookie(&token, request.tls))),
        None => html(app, StatusCode::SERVICE_UNAVAILABLE, &layout::sign_in(Some("No session could be made (no randomness)."), None)),
    }
}

/// A signed-in `POST`: the CSRF check, then sign-out or an action.
pub(crate) async fn post(ctx: &Ctx<'_>, request: &Incoming<'_>) -> Answer {
    let form = Form::parse(request.body);
    if !session::csrf_matches(&ctx.session, form.get("csrf")) {
        tracing::info!(path = %ctx.path, "refused a console form without this session's CSRF token");
        let rejection = Rejection::new(ErrorCode::AccessDenied, "the form does not carry this session's CSRF token; nothing was changed");
        return html(ctx.app, StatusCode::FORBIDDEN, &layout::failure(ctx, StatusCode::FORBIDDEN, Some(&rejection)));
    }
    if ctx.path == "/signout" {
        ctx.app.sessions.close(&ctx.token);
        return redirect(ctx.app, "/console/signin?signed_out=1", Some(session::set_cookie("", request.tls)));
    }
    let Some(action) = ctx.path.strip_prefix("/actions/") else {
        return html(ctx.app, StatusCode::NOT_FOUND, &layout::failure(ctx, StatusCode::NOT_FOUND, None));
    };
    let Some((label, command)) = command(ctx, action, &form) else {
        return html(ctx.app, StatusCode::NOT_FOUND, &layout::failure(ctx, StatusCode::NOT_FOUND, None));
    };
    if matches!(action, "allocate" | "recover") && form.get("confirm") != "yes" {
        return confirm(ctx, action, &form).await;
    }
    match ctx.ask(command).await {
        Ok(result) => {
            ctx.app.sessions.set_flash(&ctx.token, format!("{label}: done. {}", summary(&result)));
            redirect(ctx.app, &back(&form), None)
        }
        Err(rejection) => {
            let field = field_for(rejection.code, &form).map(str::to_owned);
            let error = FormError { form: form.get("form").to_owned(), field, rejection, values: form.0.clone() };
            again(ctx, &back(&form), &error).await
        }
    }
}

/// The page a form came from (only ever a console page).
fn back(form: &Form) -> String {
    let back = form.get("back");
    if back.starts_with("/console/") && !back.starts_with("/console//") && !back.contains('\\') {
        back.to_owned()
    } else {
        "/console/overview".to_owned()
    }
}

/// Shows the page at `back` again with the refusal at its form.
async fn again(ctx: &Ctx<'_>, back: &str, error: &FormError) -> Answer {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let page = Ctx {
        app: ctx.app,
        token: ctx.token.clone(),
        session: ctx.session.clone(),
        path: path.strip_prefix("/console").unwrap_or(path).to_owned(),
        query: form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
        flash: None,
    };
    super::get(&page, Some(error)).await
}

/// A result in a line: its fields, `key value`.
fn summary(result: &Value) -> String {
    match result {
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| match value {
                Value::Array(items) => items.iter().map(summary).collect::<Vec<_>>().join("; "),
                Value::Object(_) => format!("{key}: {}", summary(value)),
                _ => format!("{key} {}", text(value)),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => text(other),
    }
}

/// The form field a refusal concerns, when the form has it; otherwise it is shown at the form.
fn field_for(code: ErrorCode, form: &Form) -> Option<&'static str> {
    let candidates: &[&'static str] = match code {
        ErrorCode::InvalidAmount | ErrorCode::InsufficientFunds | ErrorCode::QuotaInsufficient | ErrorCode::ExceedsInvoiceable => {
            &["amount", "face_value", "ratio"]
        }
        ErrorCode::NotYourCustomer | ErrorCode::NotResaleCustomer | ErrorCode::NotWhitelisted | ErrorCode::NotYourReseller => {
            &["customer", "partner", "operator"]
        }
        ErrorCode::QuotaNotValid | ErrorCode::InvalidValidity => &["quota", "from_quota"],
        ErrorCode::CouponNotUsable => &["coupons"],
        ErrorCode::AlreadyExists | ErrorCode::InvalidId => &["coupon", "quota", "withdrawal", "invoice", "operator", "customer", "order"],
        ErrorCode::NotFound => &["customer", "quota", "coupon", "invoice", "order", "operator", "partner"],
        _ => &[],
    };
    candidates.iter().copied().find(|name| form.has(name))
}

/// Puts `name` into the command when the form has a value for it.
fn optional(fields: &mut Map<String, Value>, form: &Form, name: &str) {
    if !form.get(name).is_empty() {
        fields.insert(name.to_owned(), Value::String(form.get(name).to_owned()));
    }
}

/// A comma- or space-separated list.
fn list(text: &str) -> Vec<&str> {
    text.split([',', ' ']).map(str::trim).filter(|item| !item.is_empty()).collect()
}

/// The party of the session's own money: a customer itself, else its partner.
fn own_party(ctx: &Ctx<'_>) -> String {
    match &ctx.session.actor {
        Party::Customer(_) => ctx.session.actor.to_string(),
        _ => partner_party(ctx),
    }
}

/// The protocol command of an action, with the form's request id, and its label; `None` for an
/// unknown action. Fields keep their protocol names, so the ledger checks them all.
fn command(ctx: &Ctx<'_>, action: &str, form: &Form) -> Option<(&'static str, Value)> {
    let customer = || format!("customer:{}", form.get("customer").trim_start_matches("customer:"));
    let (label, mut command) = match action {
        "allocate" => ("Allocation", json!({"op": "allocate", "to": customer(), "amount": form.get("amount")})),
        "recover" => ("Recovery", json!({"op": "recover", "from": customer(), "amount": form.get("amount")})),
        "issue_coupon" => (
            "Coupon issued",
            json!({"op": "issue_coupon", "coupon": form.get("coupon"), "quota": form.get("quota"),
            "customer": form.get("customer"), "face_value": form.get("face_value")}),
        ),
        "reclaim_coupon" => ("Coupon reclaimed", json!({"op": "reclaim_coupon", "coupon": form.get("coupon")})),
        "issue_quota" => (
            "Quota issued",
            json!({"op": "issue_quota", "quota": form.get("quota"), "partner": form.get("partner"),
            "kind": form.get("kind"), "amount": form.get("amount"), "from_quota": form.get("from_quota")}),
        ),
        "reclaim_quota" => ("Quota reclaimed", json!({"op": "reclaim_quota", "quota": form.get("quota")})),
        "whitelist" => ("Customer whitelisted", json!({"op": "whitelist_customer", "customer": form.get("customer")})),
        "pay_partner" => ("Paid for the customer", json!({"op": "pay_order", "order": form.get("order"), "payer": "partner"})),
        "reject_payment" => {
            ("Partner payment rejected", json!({"op": "reject_partner_payment", "order": form.get("order"), "reason": form.get("reason")}))
        }
        "request_withdrawal" => (
            "Withdrawal requested",
            json!({"op": "request_withdrawal", "withdrawal": form.get("withdrawal"),
            "party": own_party(ctx), "amount": form.get("amount")}),
        ),
        "delete_withdrawal" => ("Withdrawal deleted", json!({"op": "delete_withdrawal", "withdrawal": form.get("withdrawal")})),
        "request_invoice" => {
            let mut command = json!({"op": "request_invoice", "invoice": form.get("invoice"), "party": own_party(ctx)});
            if form.has("cycles") {
                command["cycles"] = json!(list(form.get("cycles")));
            } else {
                command["amount"] = json!(form.get("amount"));
            }
            ("Invoice requested", command)
        }
        "return_invoice" => ("Invoice returned", json!({"op": "return_invoice", "invoice": form.get("invoice")})),
        "register_operator" => (
            "Operator registered",
            json!({"op": "register_operator", "operator": form.get("operator"),
            "partner": ctx.partner(), "roles": form.all("roles")}),
        ),
        "assign_manager" => {
            let operator = Some(form.get("operator")).filter(|operator| !operator.is_empty());
            ("Customer manager assigned", json!({"op": "assign_customer_manager", "customer": form.get("customer"), "operator": operator}))
        }
        "pay_order" => {
            let mut command = json!({"op": "pay_order", "order": form.get("order")});
            let coupons = form.all("coupons");
            if !coupons.is_empty() {
                command["coupons"] = json!(coupons);
            }
            ("Order paid", command)
        }
        "request_partner_payment" => ("Partner payment requested", json!({"op": "request_partner_payment", "order": form.get("order")})),
        _ => return None,
    };
    if let Value::Object(fields) = &mut command {
        fields.insert("id".into(), Value::String(form.get("request").to_owned()));
        optional(fields, form, "memo");
        if action == "issue_coupon" {
            optional(fields, form, "ratio");
            if !form.get("services").is_empty() {
                fields.insert("services".into(), json!(list(form.get("services"))));
            }
        }
    }
    Some((label, command))
}

/// The confirmation step of an allocation or recovery: the amount, the customer and both
/// balances now, and a form that posts the same fields again with `confirm=yes`.
async fn confirm(ctx: &Ctx<'_>, action: &str, form: &Form) -> Answer {
    let customer = form.get("customer").trim_start_matches("customer:").to_owned();
    let answers = ctx
        .ask_all(vec![
            json!({"op": "balance", "party": partner_party(ctx)}),
            json!({"op": "balance", "party": format!("customer:{customer}")}),
        ])
        .await;
    let figure = |answer: &Result<Value, Rejection>, key: &str| match answer {
        Ok(balance) => text(&balance[key]),
        Err(rejection) => format!("{} ({})", rejection.code.name(), rejection.message),
    };
    let (verb, title) =
        if action == "allocate" { ("allocate", "Confirm the allocation (拨款)") } else { ("recover", "Confirm the recovery (回收)") };
    let content = markup! {
        p { "Please check, then confirm. Nothing has changed yet." }
        dl.figures #confirm-figures {
            div { dt { "Customer" } dd #confirm-customer { (customer) } }
            div { dt { "Amount to " (verb) " (CNY)" } dd.amount #confirm-amount { (form.get("amount")) } }
            div { dt { "Your available cash now" } dd.amount #confirm-available { (figure(&answers[0], "available")) } }
            div { dt { "The customer's allocated balance now" } dd.amount #confirm-allocated { (figure(&answers[1], "allocated")) } }
            @if !form.get("memo").is_empty() { div { dt { "Memo" } dd { (form.get("memo")) } } }
        }
        form.action method="post" action=(format!("/console/actions/{action}")) id="confirm" {
            @for (name, value) in form.0.iter().filter(|(name, _)| name != "confirm") {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name="confirm" value="yes";
            button #confirm-submit type="submit" { "Confirm: " (verb) " " (form.get("amount")) " CNY" }
            " "
            a #confirm-cancel href=(back(form)) { "Cancel" }
        }
    };
    html(ctx.app, StatusCode::OK, &layout::page(ctx, title, &content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_land_on_the_field_they_concern() {
        let form = Form::parse(b"customer=C1&amount=5&request=r1");
        assert_eq!(field_for(ErrorCode::InsufficientFunds, &form), Some("amount"));
        assert_eq!(field_for(ErrorCode::NotYourCustomer, &form), Some("customer"));
        assert_eq!(field_for(ErrorCode::OrderState, &form), None);
        assert_eq!(list("2026-10, 2026-11 "), ["2026-10", "2026-11"]);
        assert!(
            crate::protocol::decode_value(json!({"op": "allocate", "id": "r1", "actor": "partner:D1", "to": "customer:C1", "amount": "5"}))
                .is_ok()
        );
    }

    #[test]
    fn a_form_returns_only_to_console_pages() {
        for (given, expected) in [
            ("/console/customers/C1?page=2", "/console/customers/C1?page=2"),
            ("https://evil.example/", "/console/overview"),
            ("/console//evil.example", "/console/overview"),
            ("", "/console/overview"),
        ] {
            assert_eq!(back(&Form(vec![("back".into(), given.into())])), expected);
        }
    }
}
