//! The partner console (伙伴中心) at `/console/`: server-rendered pages over the same queries and
//! commands as the other doors. A page builds protocol requests as JSON values, decodes them with
//! [`protocol::decode_value`] as the session's actor and runs them on the ledger thread; whatever
//! the ledger refuses is shown with its SPEC code and message. No business rule lives here.
//! See `docs/console.md`.

pub mod chart;
mod customer;
mod forms;
mod layout;
mod partner;
pub(crate) mod session;

use super::server::App;
use crate::error::{ErrorCode, Rejection};
use crate::id::Party;
use crate::protocol::{self, Response};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, SET_COOKIE};
use hyper::{HeaderMap, Method, StatusCode};
use maud::Markup;
use serde_json::{Value, json};
use session::Session;
use std::net::IpAddr;
use std::sync::Arc;

/// The route the metrics count console requests under.
pub(crate) const ROUTE: &str = "/console";
/// Rows per page of a listing.
pub(crate) const PAGE_ROWS: u64 = 20;

/// Whether a path belongs to the console.
pub(crate) fn serves(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// One console request, as it arrived.
pub(crate) struct Incoming<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    pub(crate) tls: bool,
    pub(crate) peer: IpAddr,
}

/// A signed-in request: the session and what the page needs to ask the ledger.
pub(crate) struct Ctx<'a> {
    pub(crate) app: &'a Arc<App>,
    pub(crate) token: String,
    pub(crate) session: Session,
    /// The path below `/console` (`/customers/C1`).
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) flash: Option<String>,
}

/// Which pages an actor has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// A partner, or an operator with more than the customer-manager role.
    Partner,
    /// An operator that only manages customers.
    Manager,
    /// A customer.
    Customer,
}

impl Ctx<'_> {
    pub(crate) fn view(&self) -> View {
        match (&self.session.actor, self.session.full) {
            (Party::Customer(_), _) => View::Customer,
            (_, true) => View::Partner,
            (_, false) => View::Manager,
        }
    }

    /// The partner the partner pages are about (bare id).
    pub(crate) fn partner(&self) -> &str {
        self.session.partner.as_deref().unwrap_or("")
    }

    /// A query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
    }

    /// The 1-based page number in parameter `name`.
    pub(crate) fn page_number(&self, name: &str) -> u64 {
        self.param(name).and_then(|page| page.parse().ok()).filter(|page| *page >= 1).unwrap_or(1)
    }

    /// Runs requests (JSON objects without `actor`) as the session's actor, in one batch.
    pub(crate) async fn ask_all(&self, values: Vec<Value>) -> Vec<Result<Value, Rejection>> {
        ask_as(self.app, &self.session.actor, values).await
    }

    /// Runs one query or command as the session's actor: its result object, or why not.
    pub(crate) async fn ask(&self, value: Value) -> Result<Value, Rejection> {
        self.ask_all(vec![value]).await.pop().unwrap_or_else(|| Err(Rejection::new(ErrorCode::Storage, "no answer")))
    }
}

/// Decodes requests exactly as the JSON-lines door does (the actor filled in) and runs them.
async fn ask_as(app: &App, actor: &Party, values: Vec<Value>) -> Vec<Result<Value, Rejection>> {
    let mut answers: Vec<Option<Result<Value, Rejection>>> = Vec::with_capacity(values.len());
    let mut decoded = Vec::with_capacity(values.len());
    for mut value in values {
        if let Value::Object(fields) = &mut value {
            fields.insert("actor".into(), Value::String(actor.to_string()));
        }
        match protocol::decode_value(value) {
            Ok(request) => {
                answers.push(None);
                decoded.push(request);
            }
            Err(error) => answers.push(Some(Err(error.rejection))),
        }
    }
    let mut executed = app.engine.execute(decoded).await.into_iter();
    answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| match executed.next() {
                Some(Response::Failed { rejection, .. }) => Err(rejection),
                Some(response) => response.result().ok_or_else(|| Rejection::new(ErrorCode::Storage, "no result")),
                None => Err(Rejection::new(ErrorCode::Storage, "no answer")),
            })
        })
        .collect()
}

/// The HTTP status a refusal is shown with.
pub(crate) fn status_of(rejection: &Rejection) -> StatusCode {
    match rejection.code {
        ErrorCode::AccessDenied | ErrorCode::NotYourCustomer | ErrorCode::NotYourReseller => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Storage => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::NotLeader | ErrorCode::NotApplied => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// An HTML answer with the console's security headers.
pub(crate) fn html(app: &App, status: StatusCode, markup: &Markup) -> hyper::Response<Full<Bytes>> {
    let mut response = app.json(status, markup.0.clone().into_bytes(), ROUTE);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure(response.headers_mut());
    response
}

fn secure(headers: &mut HeaderMap) {
    // The chart is inline SVG with presentation attributes only; styles come from style.css.
    headers.insert("content-security-policy", HeaderValue::from_static("default-src 'self'; form-action 'self'; frame-ancestors 'none'"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A 303 redirect (after a form, or to the sign-in page), optionally setting the cookie.
pub(crate) fn redirect(app: &App, location: &str, cookie: Option<String>) -> hyper::Response<Full<Bytes>> {
    let mut response = app.json(StatusCode::SEE_OTHER, Vec::new(), ROUTE);
    response.headers_mut().remove(CONTENT_TYPE);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    if let Some(cookie) = cookie.and_then(|cookie| HeaderValue::from_str(&cookie).ok()) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    secure(response.headers_mut());
    response
}

fn style(app: &App) -> hyper::Response<Full<Bytes>> {
    let mut response = app.json(StatusCode::OK, include_str!("style.css").as_bytes().to_vec(), ROUTE);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    secure(response.headers_mut());
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

/// Answers a request under `/console`.
pub(crate) async fn handle(app: &Arc<App>, request: Incoming<'_>) -> hyper::Response<Full<Bytes>> {
    let below = request.path.strip_prefix("/console").unwrap_or("");
    match (request.method, below) {
        (&Method::GET, "/style.css") => return style(app),
        (&Method::GET, "/signin") => {
            let note = request.query.contains("signed_out=1").then_some("You are signed out.");
            return html(app, StatusCode::OK, &layout::sign_in(None, note));
        }
        (&Method::POST, "/signin") => return forms::sign_in(app, &request).await,
        _ => {}
    }
    let token = session::cookie_token(request.headers);
    let session = token.as_deref().and_then(|token| app.sessions.get(token).map(|session| (token.to_owned(), session)));
    let Some((token, session)) = session else {
        // No page and no form works without a session.
        return if *request.method == Method::GET {
            redirect(app, "/console/signin", None)
        } else {
            html(
                app,
                StatusCode::UNAUTHORIZED,
                &layout::sign_in(Some("You are not signed in (or the session expired): sign in again."), None),
            )
        };
    };
    let query = form_urlencoded::parse(request.query.as_bytes()).into_owned().collect();
    let flash = if *request.method == Method::GET { app.sessions.take_flash(&token) } else { None };
    let ctx = Ctx { app, token, session, path: below.to_owned(), query, flash };
    match *request.method {
        Method::GET => get(&ctx, None).await,
        Method::POST => forms::post(&ctx, &request).await,
        _ => html(app, StatusCode::METHOD_NOT_ALLOWED, &layout::failure(&ctx, StatusCode::METHOD_NOT_ALLOWED, None)),
    }
}

/// Renders the page at `ctx.path`, with a form's refusal shown at that form when there is one.
pub(crate) async fn get(ctx: &Ctx<'_>, error: Option<&forms::FormError>) -> hyper::Response<Full<Bytes>> {
    let path = ctx.path.as_str();
    if path.is_empty() || path == "/" {
        return redirect(ctx.app, "/console/overview", None);
    }
    let rendered = match ctx.view() {
        View::Customer => customer::page(ctx, path, error).await,
        View::Partner | View::Manager => partner::page(ctx, path, error).await,
    };
    let status = match (&rendered, error) {
        (Some(Ok(_)), Some(error)) => status_of(&error.rejection),
        (Some(Ok(_)), None) => StatusCode::OK,
        (Some(Err(rejection)), _) => status_of(rejection),
        (None, _) => StatusCode::NOT_FOUND,
    };
    let markup = match rendered {
        Some(Ok(markup)) => markup,
        Some(Err(rejection)) => layout::failure(ctx, status, Some(&rejection)),
        None => layout::failure(ctx, status, None),
    };
    html(ctx.app, status, &markup)
}

/// A page's main queries in one batch; the first refusal fails the page.
pub(crate) async fn ask_page(ctx: &Ctx<'_>, values: Vec<Value>) -> Result<Vec<Value>, Rejection> {
    ctx.ask_all(values).await.into_iter().collect()
}

/// `{"offset", "limit"}` of page `number`.
pub(crate) fn paging(number: u64) -> Value {
    json!({"offset": (number - 1) * PAGE_ROWS, "limit": PAGE_ROWS})
}

/// The party of a partner-side request about the session's partner.
pub(crate) fn partner_party(ctx: &Ctx<'_>) -> String {
    format!("partner:{}", ctx.partner())
}
