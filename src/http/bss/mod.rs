//! The BSS door: the Huawei Cloud BSS partner endpoints (`../shared/reference/bss-api.md` section
//! 4) at their real paths. Each handler only translates: wire fields into protocol requests, and
//! protocol answers into the SDK's response fields with the exact JSON types of
//! `bss-endpoints.md`. No business rule lives here.

mod accounts;
mod bills;
mod coupons;
mod orders;

use super::server::{App, Authed};
use crate::error::{ErrorCode, Rejection};
use crate::id::{Id, Party};
use crate::protocol::{self, Response};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a handler answers: the response body (serialized JSON), or an error.
pub(crate) type Answer = Result<Vec<u8>, BssError>;
type Handler = fn(Call) -> Pin<Box<dyn Future<Output = Answer> + Send>>;

/// One served endpoint.
pub(crate) struct Endpoint {
    /// The SDK method's name.
    pub(crate) name: &'static str,
    /// The HTTP method.
    method: Method,
    /// The path; a segment `{order_id}` matches any one segment.
    pub(crate) path: &'static str,
    handler: Handler,
}

macro_rules! endpoints {
    ($($name:ident: $method:ident $path:literal => $module:ident;)+) => {
        /// Every served endpoint.
        fn endpoints() -> &'static [Endpoint] {
            static ENDPOINTS: std::sync::OnceLock<Vec<Endpoint>> = std::sync::OnceLock::new();
            ENDPOINTS.get_or_init(|| vec![$(Endpoint {
                name: stringify!($name),
                method: Method::$method,
                path: $path,
                handler: |call| Box::pin($module::$name(call)),
            }),+])
        }
    };
}

endpoints! {
    create_sub_customer: POST "/v2/partners/sub-customers" => accounts;
    list_sub_customers: POST "/v2/partners/sub-customers/query" => accounts;
    list_indirect_partners: POST "/v2/partners/indirect-partners/query" => accounts;
    list_partner_balances: GET "/v2/accounts/partner-accounts/balances" => accounts;
    show_customer_account_balances: GET "/v2/accounts/customer-accounts/balances" => accounts;
    list_customers_balances_detail: POST "/v2/accounts/customer-accounts/balances/batch-query" => accounts;
    update_customer_account_amount: POST "/v2/accounts/partner-accounts/adjust-amount" => accounts;
    reclaim_to_partner_account: POST "/v2/accounts/partner-accounts/reclaim" => accounts;
    update_indirect_partner_account: POST "/v2/accounts/partner-accounts/indirect-partner-adjust" => accounts;
    reclaim_indirect_partner_account: POST "/v2/accounts/partner-accounts/indirect-partner-reclaim" => accounts;
    list_partner_adjust_records: GET "/v3/accounts/partner-accounts/adjust-records" => accounts;
    list_partner_account_change_records: GET "/v2/accounts/partner-accounts/account-change-records" => accounts;
    list_customer_account_change_records: GET "/v2/accounts/customer-accounts/account-change-records" => accounts;
    list_quota_coupons: POST "/v2/partners/coupon-quotas/query" => coupons;
    list_issued_coupon_quotas: GET "/v2/partners/issued-coupon-quotas" => coupons;
    update_coupon_quotas: POST "/v2/partners/coupon-quotas/indirect-partner-adjust" => coupons;
    reclaim_coupon_quotas: POST "/v2/partners/coupon-quotas/indirect-partner-reclaim" => coupons;
    list_coupon_quotas_records: GET "/v2/partners/coupon-quotas/records" => coupons;
    create_partner_coupons: POST "/v2/promotions/benefits/partner-coupons" => coupons;
    reclaim_partner_coupons: POST "/v2/promotions/benefits/partner-coupons/reclaim" => coupons;
    list_issued_partner_coupons: GET "/v2/promotions/benefits/partner-coupons" => coupons;
    list_sub_customer_coupons: GET "/v2/promotions/benefits/coupons" => coupons;
    list_order_coupons_by_order_id: GET "/v2/orders/customer-orders/order-coupons" => coupons;
    list_partner_coupons_record: GET "/v2/promotions/benefits/partner-coupons/records/query" => coupons;
    list_customer_orders: GET "/v2/orders/customer-orders" => orders;
    show_customer_order_details: GET "/v2/orders/customer-orders/details/{order_id}" => orders;
    pay_orders: POST "/v3/orders/customer-orders/pay" => orders;
    cancel_customer_order: PUT "/v2/orders/customer-orders/cancel" => orders;
    cancel_resources_subscription: POST "/v2/orders/subscriptions/resources/unsubscribe" => orders;
    show_refund_order_details: GET "/v2/orders/customer-orders/refund-orders" => orders;
    list_customer_bills_fee_records: GET "/v2/bills/customer-bills/fee-records" => bills;
    list_sub_customer_bill_detail: GET "/v2/bills/subcustomer-bills/res-fee-records" => bills;
    list_customerself_resource_records: GET "/v2/bills/customer-bills/res-fee-records" => bills;
    show_customer_monthly_sum: GET "/v2/bills/customer-bills/monthly-sum" => bills;
    list_subcustomer_monthly_bills: GET "/v2/bills/partner-bills/subcustomer-bills/monthly-sum" => bills;
    list_consume_sub_customers: POST "/v2/bills/subcustomer-bills/res-fee-records/sub-customers/query" => bills;
}

/// Matches a path against an endpoint's template; the `{…}` segment's value when it has one.
fn matches(template: &str, path: &str) -> Option<Option<String>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let (mut template_segments, mut path_segments) = (template.split('/'), path.split('/'));
    let mut parameter = None;
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(parameter),
            (Some(expected), Some(segment)) if expected.starts_with('{') => {
                if segment.is_empty() {
                    return None;
                }
                let decoded = percent_encoding::percent_decode_str(segment).decode_utf8().ok()?;
                parameter = Some(decoded.into_owned());
            }
            (Some(expected), Some(segment)) if expected == segment => {}
            _ => return None,
        }
    }
}

/// The endpoint serving a method and path.
pub(crate) fn route_of(method: &Method, path: &str) -> Option<&'static Endpoint> {
    endpoints().iter().find(|endpoint| endpoint.method == *method && matches(endpoint.path, path).is_some())
}

/// Serves a request for `endpoint` (`None`: no endpoint has its method and path).
pub(crate) async fn handle(
    app: &Arc<App>,
    request: Authed,
    endpoint: Option<&'static Endpoint>,
    route: &'static str,
) -> hyper::Response<Full<Bytes>> {
    let Some(endpoint) = endpoint else {
        let message = format!("not served by partner-ledger: {} {}", request.method, request.path);
        return app.error(StatusCode::NOT_FOUND, "CBC.0100", &message, route);
    };
    tracing::debug!(operation = endpoint.name, "BSS request");
    if let Some(min_seq) = request.headers.get("x-min-seq") {
        let Some(min_seq) = min_seq.to_str().ok().and_then(|text| text.trim().parse::<u64>().ok()) else {
            return BssError::invalid("X-Min-Seq must be a non-negative integer").respond(app, route);
        };
        if let Err(rejection) = super::server::wait_for(app, min_seq).await {
            return BssError::rejected(&rejection).respond(app, route);
        }
    }
    let call = match Call::new(app, request, endpoint) {
        Ok(call) => call,
        Err(error) => return error.respond(app, route),
    };
    match (endpoint.handler)(call).await {
        Ok(body) => app.json(StatusCode::OK, body, route),
        Err(error) => error.respond(app, route),
    }
}

/// An error answer: HTTP status, CBC code and message.
#[derive(Clone, Debug)]
pub(crate) struct BssError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl BssError {
    /// A refusal of the engine's, or of the door's own reading of the request.
    pub(crate) fn rejected(rejection: &Rejection) -> BssError {
        let status = match rejection.code {
            ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
            ErrorCode::Storage => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::NotLeader | ErrorCode::NotApplied => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        BssError { status, code: rejection.code.cbc(), message: format!("{}: {}", rejection.code.name(), rejection.message) }
    }

    /// The request is malformed (`invalid_request`).
    pub(crate) fn invalid(message: impl Into<String>) -> BssError {
        Self::rejected(&Rejection::new(ErrorCode::InvalidRequest, message))
    }

    /// An error with this code and message.
    pub(crate) fn code(code: ErrorCode, message: impl Into<String>) -> BssError {
        Self::rejected(&Rejection::new(code, message))
    }

    /// The `{error_code, error_msg, id}` item of a batch answer's `error_details`.
    pub(crate) fn detail(&self, id: &str) -> ErrorDetail {
        ErrorDetail { error_code: self.code.to_owned(), error_msg: self.message.clone(), id: id.to_owned() }
    }

    fn respond(&self, app: &App, route: &'static str) -> hyper::Response<Full<Bytes>> {
        app.error(self.status, self.code, &self.message, route)
    }
}

/// One failed item of a batch endpoint.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ErrorDetail {
    pub(crate) error_code: String,
    pub(crate) error_msg: String,
    pub(crate) id: String,
}

/// An amount written as a JSON number with two decimals (`100.50`), for the SDK's `Decimal` and
/// `float` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Num(String);

impl Num {
    /// From an amount as the protocol writes it (`"100.50"`, `"-3.00"`).
    pub(crate) fn of(amount: &str) -> Num {
        Num(amount.to_owned())
    }

    /// From a protocol result field holding an amount string; zero when absent.
    pub(crate) fn field(value: &Value, name: &str) -> Num {
        Num(value.get(name).and_then(Value::as_str).unwrap_or("0.00").to_owned())
    }

    /// Zero.
    pub(crate) fn zero() -> Num {
        Num("0.00".to_owned())
    }
}

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The protocol writes amounts as validated decimal strings, which are JSON number tokens.
        RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?.serialize(serializer)
    }
}

/// Rows from `offset`, at most `limit`.
pub(crate) fn page_of<T>(rows: Vec<T>, (offset, limit): (u64, u64)) -> Vec<T> {
    rows.into_iter().skip(usize::try_from(offset).unwrap_or(usize::MAX)).take(usize::try_from(limit).unwrap_or(usize::MAX)).collect()
}

/// Serializes an answer.
pub(crate) fn reply<T: Serialize>(answer: &T) -> Answer {
    serde_json::to_vec(answer).map_err(|error| BssError::code(ErrorCode::Storage, format!("the answer could not be written: {error}")))
}

/// An instant as the BSS API writes it: `YYYY-MM-DDTHH:MM:SSZ` (from the protocol's RFC 3339).
pub(crate) fn instant(text: &str) -> String {
    match text.get(..19) {
        Some(seconds) if text.len() > 19 => format!("{seconds}Z"),
        _ => text.to_owned(),
    }
}

/// A request as a handler sees it: the caller, the request id, the query and the body.
pub(crate) struct Call {
    app: Arc<App>,
    /// The key's actor.
    pub(crate) actor: Party,
    /// The request id: `X-Client-Request-Id`, else derived from the access key and signature.
    pub(crate) request_id: Id,
    /// The `{…}` path segment, when the endpoint has one.
    pub(crate) path_parameter: Option<String>,
    query: Vec<(String, String)>,
    body: Map<String, Value>,
    raw_body: HashMap<String, Box<RawValue>>,
}

impl Call {
    fn new(app: &Arc<App>, request: Authed, endpoint: &'static Endpoint) -> Result<Call, BssError> {
        let request_id = match request.headers.get("x-client-request-id") {
            Some(value) => {
                let text = value.to_str().map_err(|_| BssError::invalid("X-Client-Request-Id is not text"))?;
                Id::new(text).map_err(|error| BssError::code(ErrorCode::InvalidId, format!("X-Client-Request-Id: {error}")))?
            }
            None => {
                let digest = Sha256::digest(format!("{}\n{}", request.principal.access, request.principal.signature).as_bytes());
                Id::new(&format!("bss-{}", &super::sign::hex(&digest)[..32])).expect("hex digits make a valid id")
            }
        };
        let query = request
            .query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8().map(std::borrow::Cow::into_owned);
                Ok((decode(key)?, decode(value)?))
            })
            .collect::<Result<Vec<_>, std::str::Utf8Error>>()
            .map_err(|_| BssError::invalid("the query is not UTF-8"))?;
        let (body, raw_body) = if request.body.iter().all(u8::is_ascii_whitespace) {
            (Map::new(), HashMap::new())
        } else {
            let body: Map<String, Value> = serde_json::from_slice(&request.body)
                .map_err(|error| BssError::invalid(format!("the body is not a JSON object: {error}")))?;
            let raw: HashMap<String, Box<RawValue>> = serde_json::from_slice(&request.body)
                .map_err(|error| BssError::invalid(format!("the body is not a JSON object: {error}")))?;
            (body, raw)
        };
        let path_parameter = matches(endpoint.path, &request.path).flatten();
        Ok(Call { app: Arc::clone(app), actor: request.principal.actor, request_id, path_parameter, query, body, raw_body })
    }

    /// A query parameter's value (the first, when repeated).
    pub(crate) fn query_str(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
    }

    /// Every value of a repeated query parameter.
    pub(crate) fn query_list(&self, name: &str) -> Vec<&str> {
        self.query.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }

    /// A query parameter that must be an integer.
    ///
    /// # Errors
    /// `invalid_request` when it is not one.
    pub(crate) fn query_int(&self, name: &str) -> Result<Option<i64>, BssError> {
        self.query_str(name)
            .map(|text| text.parse().map_err(|_| BssError::invalid(format!("{name} must be an integer, got {text:?}"))))
            .transpose()
    }

    /// A required query parameter.
    ///
    /// # Errors
    /// `invalid_request` when it is missing.
    pub(crate) fn query_required(&self, name: &str) -> Result<&str, BssError> {
        self.query_str(name).ok_or_else(|| BssError::invalid(format!("{name} is required")))
    }

    /// A body field that must be a string, when present (null counts as absent).
    ///
    /// # Errors
    /// `invalid_request` for another type.
    pub(crate) fn body_str(&self, name: &str) -> Result<Option<&str>, BssError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err(BssError::invalid(format!("{name} must be a string"))),
        }
    }

    /// A required string body field.
    ///
    /// # Errors
    /// `invalid_request` when missing or not a string.
    pub(crate) fn body_required(&self, name: &str) -> Result<&str, BssError> {
        self.body_str(name)?.ok_or_else(|| BssError::invalid(format!("{name} is required")))
    }

    /// A body field that must be an integer, when present.
    ///
    /// # Errors
    /// `invalid_request` for another type.
    pub(crate) fn body_int(&self, name: &str) -> Result<Option<i64>, BssError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| BssError::invalid(format!("{name} must be an integer"))),
        }
    }

    /// A body field that must be a list of strings (absent: empty).
    ///
    /// # Errors
    /// `invalid_request` for another type.
    pub(crate) fn body_str_list(&self, name: &str) -> Result<Vec<&str>, BssError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().ok_or_else(|| BssError::invalid(format!("{name} must be a list of strings"))))
                .collect(),
            Some(_) => Err(BssError::invalid(format!("{name} must be a list of strings"))),
        }
    }

    /// A body field that must be a list of objects (absent: empty).
    ///
    /// # Errors
    /// `invalid_request` for another type.
    pub(crate) fn body_objects(&self, name: &str) -> Result<Vec<&Map<String, Value>>, BssError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_object().ok_or_else(|| BssError::invalid(format!("{name} must be a list of objects"))))
                .collect(),
            Some(_) => Err(BssError::invalid(format!("{name} must be a list of objects"))),
        }
    }

    /// An amount body field, exactly as written: a JSON number token (`100.50`) or a string.
    /// The protocol then checks it (`1.005` and `1E+2` are `invalid_amount`).
    ///
    /// # Errors
    /// `invalid_request` when missing or neither a number nor a string.
    pub(crate) fn body_amount(&self, name: &str) -> Result<String, BssError> {
        let raw = self.raw_body.get(name).ok_or_else(|| BssError::invalid(format!("{name} is required")))?;
        match self.body.get(name) {
            Some(Value::Number(_)) => Ok(raw.get().to_owned()),
            Some(Value::String(text)) => Ok(text.clone()),
            _ => Err(BssError::invalid(format!("{name} must be a number"))),
        }
    }

    /// `offset` and `limit` from the query, or for POST queries the body: defaults 0 and 10,
    /// `limit` at most 100.
    ///
    /// # Errors
    /// `invalid_request` when not integers in range.
    pub(crate) fn paging(&self) -> Result<(u64, u64), BssError> {
        let offset = self.query_int("offset")?.or(self.body_int("offset")?).unwrap_or(0);
        let limit = self.query_int("limit")?.or(self.body_int("limit")?).unwrap_or(10);
        let offset = u64::try_from(offset).map_err(|_| BssError::invalid("offset must not be negative"))?;
        let limit = u64::try_from(limit)
            .ok()
            .filter(|limit| (1..=protocol::PAGE_LIMIT_MAX).contains(limit))
            .ok_or_else(|| BssError::invalid("limit must be 1 to 100"))?;
        Ok((offset, limit))
    }

    /// An id the API assigns, derived from the request id and `item`: 32 hex digits, the same
    /// for a retry with the same request id.
    pub(crate) fn derived_id(&self, item: &str) -> String {
        let digest = Sha256::digest(format!("{}\n{item}", self.request_id.as_str()).as_bytes());
        super::sign::hex(&digest)[..32].to_owned()
    }

    /// The request id of batch item `item` (its own command): derived from the request id.
    pub(crate) fn item_request_id(&self, item: &str) -> String {
        format!("bss-{}", self.derived_id(&format!("item\n{item}")))
    }

    fn request(&self, mut fields: Value, id: Option<&str>) -> Result<protocol::Request, BssError> {
        let object = fields.as_object_mut().ok_or_else(|| BssError::invalid("internal: a request must be an object"))?;
        object.insert("actor".into(), Value::String(self.actor.to_string()));
        if let Some(id) = id {
            object.insert("id".into(), Value::String(id.to_owned()));
        }
        protocol::decode_value(fields).map_err(|error| BssError::rejected(&error.rejection))
    }

    fn answer(response: &Response) -> Result<Value, BssError> {
        match response {
            Response::Failed { rejection, .. } => Err(BssError::rejected(rejection)),
            _ => Ok(response.result().unwrap_or(Value::Null)),
        }
    }

    /// Runs a command (`{"op": …, fields}`) under this call's request id and actor; its result.
    ///
    /// # Errors
    /// The engine's refusal, mapped.
    pub(crate) async fn command(&self, fields: Value) -> Result<Value, BssError> {
        let request = self.request(fields, Some(self.request_id.as_str()))?;
        Self::answer(&self.app.engine.execute_one(request).await)
    }

    /// Runs several commands, each with its own request id (`(id, fields)`), in one durable
    /// commit; each answers alone (a batch endpoint's items are not all-or-nothing).
    pub(crate) async fn commands(&self, items: Vec<(String, Value)>) -> Vec<Result<Value, BssError>> {
        self.each(items.into_iter().map(|(id, fields)| self.request(fields, Some(&id))).collect()).await
    }

    /// Runs prepared requests together; a request that could not be prepared answers its error.
    async fn each(&self, prepared: Vec<Result<protocol::Request, BssError>>) -> Vec<Result<Value, BssError>> {
        let requests: Vec<protocol::Request> = prepared.iter().filter_map(|request| request.as_ref().ok().cloned()).collect();
        let mut executed = self.app.engine.execute(requests).await.into_iter();
        prepared
            .into_iter()
            .map(|request| {
                request.and_then(|_| {
                    executed.next().map_or_else(|| Err(BssError::code(ErrorCode::Storage, "no answer")), |response| Self::answer(&response))
                })
            })
            .collect()
    }

    /// Runs a query (`{"op": …, fields}`) as this call's actor; its result.
    ///
    /// # Errors
    /// The engine's refusal, mapped.
    pub(crate) async fn query(&self, fields: Value) -> Result<Value, BssError> {
        let request = self.request(fields, None)?;
        Self::answer(&self.app.engine.execute_one(request).await)
    }

    /// Runs several queries together; each answers alone.
    pub(crate) async fn queries(&self, items: Vec<Value>) -> Vec<Result<Value, BssError>> {
        self.each(items.into_iter().map(|fields| self.request(fields, None)).collect()).await
    }

    /// Every row of a paged protocol query (`key` names its list), read in pages of 100.
    ///
    /// # Errors
    /// The engine's refusal of any page.
    pub(crate) async fn all_rows(&self, mut fields: Value, key: &str) -> Result<Vec<Value>, BssError> {
        let mut rows = Vec::new();
        loop {
            fields["offset"] = Value::from(rows.len());
            fields["limit"] = Value::from(protocol::PAGE_LIMIT_MAX);
            let result = self.query(fields.clone()).await?;
            let page = result.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
            let total = result.get("total_count").and_then(Value::as_u64).unwrap_or(0);
            let exhausted = page.is_empty();
            rows.extend(page);
            if exhausted || rows.len() as u64 >= total {
                return Ok(rows);
            }
        }
    }

    /// The caller's own partner: a partner's id, or an operator's partner (read from
    /// `operators`, the only way the door can learn it); `None` for the platform and customers.
    ///
    /// # Errors
    /// The engine's refusal of `operators` (a customer manager may not list them).
    pub(crate) async fn own_partner(&self) -> Result<Option<String>, BssError> {
        match &self.actor {
            Party::Partner(id) => Ok(Some(id.to_string())),
            Party::Operator(id) => {
                let operators = self.all_rows(serde_json::json!({"op": "operators"}), "operators").await?;
                Ok(operators
                    .iter()
                    .find(|row| row.get("operator").and_then(Value::as_str) == Some(id.as_str()))
                    .and_then(|row| row.get("partner").and_then(Value::as_str).map(str::to_owned)))
            }
            _ => Ok(None),
        }
    }

    /// The answer's page of rows the door filtered itself: the total, and the rows from
    /// `offset`, at most `limit`.
    ///
    /// # Errors
    /// `invalid_request` for a bad `offset` or `limit`.
    pub(crate) fn page<T>(&self, rows: Vec<T>) -> Result<(usize, Vec<T>), BssError> {
        let (offset, limit) = self.paging()?;
        Ok((rows.len(), page_of(rows, (offset, limit))))
    }

    /// The partner a call acts for: `indirect_partner_id` (a reseller of the calling
    /// distributor) when given, else the caller's own partner id (an operator's partner is
    /// resolved by the engine, so `None` means "the caller").
    pub(crate) fn indirect_partner(&self) -> Result<Option<String>, BssError> {
        Ok(self.query_str("indirect_partner_id").map(str::to_owned).or(self.body_str("indirect_partner_id")?.map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_paths_and_capture_their_parameter() {
        assert_eq!(matches("/v2/a/b", "/v2/a/b"), Some(None));
        assert_eq!(matches("/v2/a/b", "/v2/a/b/"), Some(None));
        assert_eq!(matches("/v2/a/b", "/v2/a"), None);
        assert_eq!(matches("/v2/a/{id}", "/v2/a/O%201"), Some(Some("O 1".to_owned())));
        assert_eq!(matches("/v2/a/{id}", "/v2/a/"), None);
        assert_eq!(matches("/v2/a/{id}", "/v2/a/x/y"), None);
    }

    #[test]
    fn every_endpoint_is_distinct_and_numbers_serialize_as_tokens() {
        let all = endpoints();
        assert_eq!(all.len(), 36);
        for (index, endpoint) in all.iter().enumerate() {
            assert!(
                all[..index]
                    .iter()
                    .all(|other| other.name != endpoint.name && (other.method != endpoint.method || other.path != endpoint.path))
            );
        }
        assert_eq!(serde_json::to_string(&Num::of("100.50")).unwrap(), "100.50");
        assert_eq!(instant("2026-11-02T08:00:00.250Z"), "2026-11-02T08:00:00Z");
        assert_eq!(instant("2026-11-02T08:00:00Z"), "2026-11-02T08:00:00Z");
    }
}
