//! The BSS door: coupon quotas and coupons (`bss-api.md` section 4), over the protocol's
//! `issue_quota`, `reclaim_quota`, `issue_coupon`, `reclaim_coupon` commands and its `quotas`,
//! `coupons`, `coupon_records` and `order` queries. Filters the protocol queries lack are applied
//! to their answers here, then paged; choices are in `docs/http-coupons.md`.

use super::{Answer, BssError, Call, ErrorDetail, Num, instant, reply};
use crate::id::Party;
use crate::time::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// Each kind: (protocol name, `quota_type`, `coupon_type`). Pickup vouchers have no Huawei code.
const KINDS: [(&str, i64, i64); 3] = [("voucher", 0, 1), ("cash_coupon", 1, 4), ("pickup_voucher", 2, 5)];
const QUOTA_STATUSES: [(&str, i64); 3] = [("normal", 0), ("expired", 3), ("reclaimed", 6)];
const COUPON_STATUSES: [(&str, i64); 5] = [("inactive", 1), ("usable", 2), ("used", 3), ("expired", 4), ("reclaimed", 5)];
const QUOTA_OPERATIONS: [(&str, &str); 2] = [("issue_quota", "10"), ("reclaim_quota", "11")];
const COUPON_OPERATIONS: [(&str, &str); 4] = [("issue_coupon", "1"), ("reclaim_coupon", "2"), ("unbind_reclaim", "3"), ("expire", "4")];
/// Yuan, in the SDK's `measure_id`.
const YUAN: i64 = 1;
/// `media_type` 1: an electronic coupon.
const ELECTRONIC: i64 = 1;
/// `fetch_method` 3: issued online (线上发放).
const ISSUED_ONLINE: i64 = 3;
/// `coupon_version` 2: a coupon with a balance, usable more than once.
const BALANCE_VERSION: i64 = 2;
/// `coupon_group` 0: a cloud service coupon.
const CLOUD_SERVICE_GROUP: i64 = 0;

fn code_of<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(known, _)| *known == name).map(|(_, code)| *code)
}

fn name_of<T: PartialEq>(table: &[(&'static str, T)], code: &T) -> Option<&'static str> {
    table.iter().find(|(_, known)| known == code).map(|(name, _)| *name)
}

fn quota_type(kind: &str) -> i64 {
    KINDS.iter().find(|(name, ..)| *name == kind).map_or(-1, |(_, quota, _)| *quota)
}

fn coupon_type(kind: &str) -> i64 {
    KINDS.iter().find(|(name, ..)| *name == kind).map_or(-1, |(.., coupon)| *coupon)
}

fn text<'a>(row: &'a Value, name: &str) -> &'a str {
    row.get(name).and_then(Value::as_str).unwrap_or("")
}

fn owned(row: &Value, name: &str) -> Option<String> {
    row.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn time_of(record: Option<&Value>) -> Option<String> {
    record.and_then(|record| record.get("at")).and_then(Value::as_str).map(instant)
}

/// The `coupon_records` of each operation in `operations` (with `filter`), merged oldest first.
async fn records_of(call: &Call, filter: &Value, operations: &[&str]) -> Result<Vec<Value>, BssError> {
    let mut rows = Vec::new();
    for operation in operations {
        let mut fields = filter.clone();
        fields["op"] = json!("coupon_records");
        fields["operation"] = json!(operation);
        rows.extend(call.all_rows(fields, "records").await?);
    }
    rows.sort_by_key(|row| row.get("seq").and_then(Value::as_u64).unwrap_or(0));
    Ok(rows)
}

/// A time filter on one field of a row: `begin <= field <= end`.
struct Window {
    field: &'static str,
    begin: Option<Timestamp>,
    end: Option<Timestamp>,
}

impl Window {
    fn new(field: &'static str, begin: Option<&str>, end: Option<&str>) -> Result<Window, BssError> {
        let parse = |bound: Option<&str>| {
            bound.map(|text| Timestamp::parse(text).map_err(|_| BssError::invalid(format!("{text:?} is not a UTC time")))).transpose()
        };
        Ok(Window { field, begin: parse(begin)?, end: parse(end)? })
    }

    fn holds(&self, row: &Value) -> bool {
        let Ok(at) = Timestamp::parse(text(row, self.field)) else { return self.begin.is_none() && self.end.is_none() };
        self.begin.is_none_or(|begin| begin <= at) && self.end.is_none_or(|end| at <= end)
    }
}

/// The `quotas` of one partner, or (`None`) every quota the caller sees.
async fn quotas_of(call: &Call, partner: Option<&str>) -> Result<Vec<Value>, BssError> {
    let mut fields = json!({"op": "quotas"});
    if let Some(partner) = partner {
        fields["partner"] = json!(partner);
    }
    call.all_rows(fields, "quotas").await
}

fn by_id(rows: Vec<Value>) -> HashMap<String, Value> {
    rows.into_iter().filter_map(|row| owned(&row, "quota").map(|id| (id, row))).collect()
}

/// The quotas whose coupons a partner's listing covers: those of `indirect_partner_id`, else the
/// caller's own; `None` (no restriction) for a customer, whose own coupons are all its view.
async fn issuer_quotas(call: &Call) -> Result<Option<HashMap<String, Value>>, BssError> {
    let partner = match call.indirect_partner()? {
        Some(partner) => Some(partner),
        None if matches!(call.actor, Party::Customer(_)) => return Ok(None),
        None => call.own_partner().await?,
    };
    Ok(Some(by_id(quotas_of(call, partner.as_deref()).await?)))
}

/// The first and the last `coupon_records` row of each filter (a quota's or a coupon's).
async fn edges(call: &Call, filters: &[Value]) -> Result<Vec<(Option<Value>, Option<Value>)>, BssError> {
    let query = |filter: &Value, offset: u64| {
        let mut fields = filter.clone();
        fields["op"] = json!("coupon_records");
        fields["offset"] = json!(offset);
        fields["limit"] = json!(1);
        fields
    };
    let firsts = call.queries(filters.iter().map(|filter| query(filter, 0)).collect()).await;
    let (mut spans, mut tails) = (Vec::new(), Vec::new());
    for (filter, answer) in filters.iter().zip(firsts) {
        let answer = answer?;
        let total = answer.get("total_count").and_then(Value::as_u64).unwrap_or(0);
        let first = answer.get("records").and_then(|records| records.get(0)).cloned();
        if total > 1 {
            tails.push((spans.len(), query(filter, total - 1)));
        }
        spans.push((first.clone(), first));
    }
    let (slots, queries): (Vec<usize>, Vec<Value>) = tails.into_iter().unzip();
    for (slot, answer) in slots.into_iter().zip(call.queries(queries).await) {
        spans[slot].1 = answer?.get("records").and_then(|records| records.get(0)).cloned();
    }
    Ok(spans)
}

/// A quota as `list_quota_coupons` and `list_issued_coupon_quotas` show it.
#[derive(Serialize)]
struct QuotaInfo {
    quota_id: String,
    quota_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_time: Option<String>,
    quota_value: Num,
    quota_status: i64,
    balance: Num,
    measure_id: i64,
    currency: &'static str,
    effective_time: String,
    expire_time: String,
    limit_infos: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    indirect_partner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    indirect_partner_account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_quota_id: Option<String>,
}

#[derive(Serialize)]
struct Quotas {
    total_count: usize,
    quotas: Vec<QuotaInfo>,
}

/// The answer of a quota listing: one page of `rows`, each with its creation and last change
/// (the first and last of its coupon records); `issued` adds the reseller and parent quota.
async fn quota_page(call: &Call, rows: Vec<Value>, issued: bool) -> Answer {
    let (total_count, rows) = call.page(rows)?;
    let filters: Vec<Value> = rows.iter().map(|row| json!({"quota": text(row, "quota")})).collect();
    let spans = edges(call, &filters).await?;
    let quotas = rows
        .iter()
        .zip(spans)
        .map(|(row, (first, last))| QuotaInfo {
            quota_id: text(row, "quota").to_owned(),
            quota_type: quota_type(text(row, "kind")),
            create_time: time_of(first.as_ref()),
            last_update_time: time_of(last.as_ref()),
            quota_value: Num::field(row, "amount"),
            quota_status: code_of(&QUOTA_STATUSES, text(row, "status")).unwrap_or(-1),
            balance: Num::field(row, "balance"),
            measure_id: YUAN,
            currency: "CNY",
            effective_time: instant(text(row, "valid_from")),
            expire_time: instant(text(row, "valid_until")),
            limit_infos: Vec::new(),
            indirect_partner_id: issued.then(|| text(row, "partner").to_owned()),
            indirect_partner_account_name: issued.then(|| text(row, "partner").to_owned()),
            parent_quota_id: if issued { owned(row, "parent_quota") } else { None },
        })
        .collect();
    reply(&Quotas { total_count, quotas })
}

/// A body field that must be a list of integers (absent: empty). `Call` has no accessor for one,
/// so this reads its body directly (visible to this child module).
fn body_int_list(call: &Call, name: &str) -> Result<Vec<i64>, BssError> {
    let invalid = || BssError::invalid(format!("{name} must be a list of integers"));
    match call.body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|item| item.as_i64().ok_or_else(invalid)).collect(),
        Some(_) => Err(invalid()),
    }
}

/// The quotas of the caller (or of `indirect_partner_id`), by type, ids, statuses and times.
pub(crate) async fn list_quota_coupons(call: Call) -> Answer {
    let partner = match call.indirect_partner()? {
        Some(partner) => Some(partner),
        None => call.own_partner().await?,
    };
    let wanted_type = call.body_int("quota_type")?.unwrap_or(0);
    let ids = call.body_str_list("quota_ids")?;
    let statuses = body_int_list(&call, "quota_status_list")?;
    let windows = [
        Window::new("valid_from", call.body_str("effective_time_begin")?, call.body_str("effective_time_end")?)?,
        Window::new("valid_until", call.body_str("expire_time_begin")?, call.body_str("expire_time_end")?)?,
    ];
    let created =
        created_within(&call, "issue_quota", "quota", call.body_str("create_time_begin")?, call.body_str("create_time_end")?).await?;
    let mut rows = quotas_of(&call, partner.as_deref()).await?;
    rows.retain(|row| {
        let status = code_of(&QUOTA_STATUSES, text(row, "status")).unwrap_or(-1);
        text(row, "partner") == partner.as_deref().unwrap_or(text(row, "partner"))
            && quota_type(text(row, "kind")) == wanted_type
            && (ids.is_empty() || ids.contains(&text(row, "quota")))
            && (statuses.is_empty() || statuses.contains(&status))
            && created.as_ref().is_none_or(|created| created.contains(text(row, "quota")))
            && windows.iter().all(|window| window.holds(row))
    });
    quota_page(&call, rows, false).await
}

/// The ids (`key` of the records) that an `operation` record created between `begin` and `end`;
/// `None` when neither is given.
async fn created_within(
    call: &Call,
    operation: &str,
    key: &str,
    begin: Option<&str>,
    end: Option<&str>,
) -> Result<Option<HashSet<String>>, BssError> {
    if begin.is_none() && end.is_none() {
        return Ok(None);
    }
    let mut filter = json!({});
    if let Some(begin) = begin {
        filter["from"] = json!(begin);
    }
    if let Some(end) = end {
        filter["to"] = json!(end);
    }
    let records = records_of(call, &filter, &[operation]).await?;
    Ok(Some(records.iter().filter_map(|record| owned(record, key)).collect()))
}

/// Whether a quota was issued by the caller to one of its resellers (it has a parent quota and is
/// not the caller's own).
fn issued_by_caller(row: &Value, own: Option<&str>) -> bool {
    row.get("parent_quota").is_some_and(|parent| !parent.is_null()) && Some(text(row, "partner")) != own
}

/// The quotas the calling distributor issued to its resellers.
pub(crate) async fn list_issued_coupon_quotas(call: Call) -> Answer {
    let own = call.own_partner().await?;
    let mut fields = json!({"op": "quotas"});
    if let Some(partner) = call.indirect_partner()? {
        fields["partner"] = json!(partner);
    }
    if let Some(parent) = call.query_str("parent_quota_id") {
        fields["parent_quota"] = json!(parent);
    }
    let wanted = call.query_str("quota_id");
    let mut rows = call.all_rows(fields, "quotas").await?;
    rows.retain(|row| issued_by_caller(row, own.as_deref()) && wanted.is_none_or(|wanted| text(row, "quota") == wanted));
    quota_page(&call, rows, true).await
}

/// Splits a batch's answers into the success items and `error_details` (each named by `ids`).
fn split_batch<T>(ids: &[&str], answers: Vec<Result<Value, BssError>>, success: impl Fn(&str, &Value) -> T) -> (Vec<T>, Vec<ErrorDetail>) {
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for (id, answer) in ids.iter().zip(answers) {
        match answer {
            Ok(result) => done.push(success(id, &result)),
            Err(error) => failed.push(error.detail(id)),
        }
    }
    (done, failed)
}

fn required_list<'a>(call: &'a Call, name: &str) -> Result<Vec<&'a str>, BssError> {
    let items = call.body_str_list(name)?;
    if items.is_empty() {
        return Err(BssError::invalid(format!("{name} is required")));
    }
    Ok(items)
}

#[derive(Serialize)]
struct QuotaSimpleInfo {
    id: String,
    quota_id: String,
}

#[derive(Serialize)]
struct AdjustedQuotas {
    error_details: Vec<ErrorDetail>,
    simple_quota_infos: Vec<QuotaSimpleInfo>,
}

/// `issue_quota` from the caller's `quota_id` to each listed reseller (one command each); the
/// new quota takes the kind and validity of its parent.
pub(crate) async fn update_coupon_quotas(call: Call) -> Answer {
    let parent = call.body_required("quota_id")?;
    let resellers = required_list(&call, "indirect_partner_ids")?;
    let amount = call.body_amount("quota_amount")?;
    // The API names no kind: the parent's (when the caller cannot see it, the engine refuses it).
    let quotas = by_id(quotas_of(&call, None).await?);
    let kind = quotas.get(parent).map_or("voucher", |row| text(row, "kind"));
    let items = resellers
        .iter()
        .map(|reseller| {
            let fields = json!({"op": "issue_quota", "quota": call.derived_id(reseller), "partner": reseller, "kind": kind,
                "amount": amount, "from_quota": parent});
            (call.item_request_id(reseller), fields)
        })
        .collect();
    let answers = call.commands(items).await;
    let (simple_quota_infos, error_details) = split_batch(&resellers, answers, |reseller, result| QuotaSimpleInfo {
        id: reseller.to_owned(),
        quota_id: text(result, "quota").to_owned(),
    });
    reply(&AdjustedQuotas { error_details, simple_quota_infos })
}

#[derive(Serialize)]
struct QuotaReclaim {
    quota_id: String,
    quota_balance: Num,
}

#[derive(Serialize)]
struct ReclaimedQuotas {
    error_details: Vec<ErrorDetail>,
    simple_quota_infos: Vec<QuotaReclaim>,
}

/// `reclaim_quota` of each listed quota (one command each); `quota_balance` is its balance after.
pub(crate) async fn reclaim_coupon_quotas(call: Call) -> Answer {
    let ids = required_list(&call, "quota_ids")?;
    let items = ids.iter().map(|quota| (call.item_request_id(quota), json!({"op": "reclaim_quota", "quota": quota}))).collect();
    let answers = call.commands(items).await;
    let quotas = if answers.iter().any(Result::is_ok) { by_id(quotas_of(&call, None).await?) } else { HashMap::new() };
    let (simple_quota_infos, error_details) = split_batch(&ids, answers, |quota, _| QuotaReclaim {
        quota_id: quota.to_owned(),
        quota_balance: quotas.get(quota).map_or_else(Num::zero, |row| Num::field(row, "balance")),
    });
    reply(&ReclaimedQuotas { error_details, simple_quota_infos })
}

/// One issue or reclaim of a reseller's quota.
#[derive(Serialize)]
struct QuotaRecord {
    id: String,
    operation_type: String,
    quota_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_quota_id: Option<String>,
    amount: Num,
    operation_time: String,
    result: &'static str,
    indirect_partner_account_name: String,
    indirect_partner_id: String,
}

#[derive(Serialize)]
struct QuotaRecords {
    total_count: usize,
    records: Vec<QuotaRecord>,
}

/// A record's id: the request that wrote it and the quota or coupon it is about.
fn record_id(record: &Value, subject: &str) -> String {
    format!("{}:{}", text(record, "request"), text(record, subject))
}

/// The issues (10) and reclaims (11) of the quotas the caller issued to its resellers.
pub(crate) async fn list_coupon_quotas_records(call: Call) -> Answer {
    let own = call.own_partner().await?;
    let quotas = by_id(quotas_of(&call, call.indirect_partner()?.as_deref()).await?);
    let operations: Vec<&str> = match call.query_str("operation_type").and_then(|code| name_of(&QUOTA_OPERATIONS, &code)) {
        Some(operation) => vec![operation],
        None => QUOTA_OPERATIONS.iter().map(|(name, _)| *name).collect(),
    };
    let mut filter = json!({});
    for (parameter, field) in [("quota_id", "quota"), ("operation_time_begin", "from"), ("operation_time_end", "to")] {
        if let Some(value) = call.query_str(parameter) {
            filter[field] = json!(value);
        }
    }
    let parent = call.query_str("parent_quota_id");
    let mut records = records_of(&call, &filter, &operations).await?;
    records.retain(|record| {
        quotas.get(text(record, "quota")).is_some_and(|quota| {
            issued_by_caller(quota, own.as_deref()) && parent.is_none_or(|parent| text(quota, "parent_quota") == parent)
        })
    });
    let (total_count, records) = call.page(records)?;
    let records = records
        .iter()
        .map(|record| {
            let quota = &quotas[text(record, "quota")];
            QuotaRecord {
                id: record_id(record, "quota"),
                operation_type: code_of(&QUOTA_OPERATIONS, text(record, "operation")).unwrap_or("").to_owned(),
                quota_id: text(record, "quota").to_owned(),
                parent_quota_id: owned(quota, "parent_quota"),
                amount: Num::field(record, "amount"),
                operation_time: instant(text(record, "at")),
                result: "0",
                indirect_partner_account_name: text(quota, "partner").to_owned(),
                indirect_partner_id: text(quota, "partner").to_owned(),
            }
        })
        .collect();
    reply(&QuotaRecords { total_count, records })
}

#[derive(Serialize)]
struct CouponSimpleInfo {
    id: String,
    coupon_id: String,
}

#[derive(Serialize)]
struct CreatedCoupons {
    error_details: Vec<ErrorDetail>,
    coupon_infos: Vec<CouponSimpleInfo>,
}

/// `issue_coupon` from `quota_id` to each listed customer (one command each); the coupon id is
/// derived from the request id and the customer.
pub(crate) async fn create_partner_coupons(call: Call) -> Answer {
    let customers = required_list(&call, "customer_ids")?;
    if !call.body_str_list("product_ids")?.is_empty() {
        return Err(BssError::invalid("product_ids: coupons limited to products are not served (cloud_service_types are)"));
    }
    let mut base = json!({"op": "issue_coupon", "quota": call.body_required("quota_id")?, "face_value": call.body_amount("face_value")?});
    for (parameter, field) in [("valid_time", "valid_from"), ("expire_time", "valid_until")] {
        if let Some(value) = call.body_str(parameter)? {
            base[field] = json!(value);
        }
    }
    let services = call.body_str_list("cloud_service_types")?;
    if !services.is_empty() {
        base["services"] = json!(services);
    }
    let items = customers
        .iter()
        .map(|customer| {
            let mut fields = base.clone();
            fields["coupon"] = json!(call.derived_id(customer));
            fields["customer"] = json!(customer);
            (call.item_request_id(customer), fields)
        })
        .collect();
    let answers = call.commands(items).await;
    let (coupon_infos, error_details) = split_batch(&customers, answers, |customer, result| CouponSimpleInfo {
        id: customer.to_owned(),
        coupon_id: text(result, "coupon").to_owned(),
    });
    reply(&CreatedCoupons { error_details, coupon_infos })
}

#[derive(Serialize)]
struct NoFields {}

/// `reclaim_coupon`: the coupon's remaining value returns to its quota.
pub(crate) async fn reclaim_partner_coupons(call: Call) -> Answer {
    call.command(json!({"op": "reclaim_coupon", "coupon": call.body_required("coupon_id")?})).await?;
    reply(&NoFields {})
}

/// Which coupons a listing shows (`None`: no restriction).
#[derive(Default)]
struct CouponSelection<'a> {
    customer: Option<&'a str>,
    status: Option<i64>,
    coupon_type: Option<i64>,
    coupon: Option<&'a str>,
    /// Only coupons of these quotas (an issuer's).
    quotas: Option<HashSet<String>>,
    /// Only coupons issued within a time window.
    created: Option<HashSet<String>>,
    windows: Vec<Window>,
}

/// The `coupons` rows of a selection, oldest first.
async fn select_coupons(call: &Call, selection: &CouponSelection<'_>) -> Result<Vec<Value>, BssError> {
    let mut fields = json!({"op": "coupons"});
    if let Some(customer) = selection.customer {
        fields["customer"] = json!(customer);
    }
    if let Some(status) = selection.status {
        let Some(name) = name_of(&COUPON_STATUSES, &status) else { return Ok(Vec::new()) };
        fields["status"] = json!(name);
    }
    if let Some(wanted) = selection.coupon_type {
        let Some((name, ..)) = KINDS.iter().find(|(.., code)| *code == wanted) else { return Ok(Vec::new()) };
        fields["kind"] = json!(name);
    }
    let mut rows = call.all_rows(fields, "coupons").await?;
    rows.retain(|row| {
        let id = text(row, "coupon");
        selection.coupon.is_none_or(|wanted| wanted == id)
            && selection.quotas.as_ref().is_none_or(|quotas| quotas.contains(text(row, "quota")))
            && selection.created.as_ref().is_none_or(|created| created.contains(id))
            && selection.windows.iter().all(|window| window.holds(row))
    });
    Ok(rows)
}

/// A coupon row with its issue time and last redemption (from its coupon records).
struct CouponView {
    row: Value,
    created: Option<String>,
    last_used: Option<String>,
}

async fn coupon_views(call: &Call, rows: Vec<Value>) -> Result<Vec<CouponView>, BssError> {
    let filters: Vec<Value> = rows
        .iter()
        .flat_map(|row| [json!({"coupon": text(row, "coupon")}), json!({"coupon": text(row, "coupon"), "operation": "redeem"})])
        .collect();
    let spans = edges(call, &filters).await?;
    Ok(rows
        .into_iter()
        .zip(spans.chunks(2))
        .map(|(row, pair)| CouponView { row, created: time_of(pair[0].0.as_ref()), last_used: time_of(pair[1].1.as_ref()) })
        .collect())
}

/// A coupon's limits: its services and, for a pickup voucher, ratio and order kinds.
#[derive(Serialize)]
struct UseLimit {
    limit_key: &'static str,
    value1: String,
}

fn use_limits(row: &Value) -> Vec<UseLimit> {
    let joined = |name: &str| {
        row.get(name).and_then(Value::as_array).map(|items| items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
    };
    let mut limits = Vec::new();
    if let Some(services) = joined("services") {
        limits.push(UseLimit { limit_key: "cloud_service_types", value1: services });
    }
    if let Some(ratio) = owned(row, "ratio") {
        limits.push(UseLimit { limit_key: "ratio", value1: ratio });
    }
    if let Some(kinds) = joined("order_kinds") {
        limits.push(UseLimit { limit_key: "order_kinds", value1: kinds });
    }
    limits
}

/// The fields every coupon listing shows alike.
#[derive(Serialize)]
struct CouponCore {
    coupon_id: String,
    status: i64,
    coupon_type: i64,
    measure_id: i64,
    face_value: Num,
    expire_time: String,
    use_limits: Vec<UseLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time: Option<String>,
    balance: Num,
}

impl CouponCore {
    fn of(view: &CouponView) -> CouponCore {
        let row = &view.row;
        CouponCore {
            coupon_id: text(row, "coupon").to_owned(),
            status: code_of(&COUPON_STATUSES, text(row, "status")).unwrap_or(-1),
            coupon_type: coupon_type(text(row, "kind")),
            measure_id: YUAN,
            face_value: Num::field(row, "face_value"),
            expire_time: instant(text(row, "valid_until")),
            use_limits: use_limits(row),
            create_time: view.created.clone(),
            balance: Num::field(row, "remaining"),
        }
    }
}

/// A coupon as `list_issued_partner_coupons` shows it.
#[derive(Serialize)]
struct IssuedCoupon {
    #[serde(flatten)]
    core: CouponCore,
    customer_id: String,
    effective_time: String,
    media_type: i64,
    fetch_method: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_time: Option<String>,
    is_frozen: &'static str,
}

impl IssuedCoupon {
    fn of(view: CouponView) -> IssuedCoupon {
        IssuedCoupon {
            core: CouponCore::of(&view),
            customer_id: text(&view.row, "customer").to_owned(),
            effective_time: instant(text(&view.row, "valid_from")),
            media_type: ELECTRONIC,
            fetch_method: ISSUED_ONLINE,
            last_used_time: view.last_used,
            is_frozen: "0",
        }
    }
}

#[derive(Serialize)]
struct IssuedCoupons {
    total_count: usize,
    user_coupons: Vec<IssuedCoupon>,
}

/// No coupon records the order that used it: an `order_id` filter cannot be answered truthfully.
fn refuse_order_filter(call: &Call) -> Result<(), BssError> {
    match call.query_str("order_id") {
        Some(_) => Err(BssError::invalid("order_id: filtering coupons by the order that used them is not served")),
        None => Ok(()),
    }
}

/// The coupons the caller (or `indirect_partner_id`) issued to its customers.
pub(crate) async fn list_issued_partner_coupons(call: Call) -> Answer {
    refuse_order_filter(&call)?;
    let quotas = issuer_quotas(&call).await?;
    let created =
        created_within(&call, "issue_coupon", "coupon", call.query_str("create_time_begin"), call.query_str("create_time_end")).await?;
    let selection = CouponSelection {
        customer: call.query_str("customer_id"),
        status: call.query_int("status")?,
        coupon_type: call.query_int("coupon_type")?,
        coupon: call.query_str("coupon_id"),
        quotas: quotas.map(|quotas| quotas.into_keys().collect()),
        created,
        windows: vec![
            Window::new("valid_from", call.query_str("effective_time_begin"), call.query_str("effective_time_end"))?,
            Window::new("valid_until", call.query_str("expire_time_begin"), call.query_str("expire_time_end"))?,
        ],
    };
    let (total_count, rows) = call.page(select_coupons(&call, &selection).await?)?;
    let user_coupons = coupon_views(&call, rows).await?.into_iter().map(IssuedCoupon::of).collect();
    reply(&IssuedCoupons { total_count, user_coupons })
}

/// A coupon as `list_sub_customer_coupons` shows it.
#[derive(Serialize)]
struct UserCoupon {
    #[serde(flatten)]
    core: CouponCore,
    customer_id: String,
    valid_time: String,
    media_type: i64,
    fetch_method: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reserve_time: Option<String>,
    coupon_version: i64,
    is_frozen: &'static str,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_id: Option<String>,
}

#[derive(Serialize)]
struct UserCoupons {
    count: usize,
    user_coupons: Vec<UserCoupon>,
}

/// The coupons of the calling customer, or of the calling partner's (or `indirect_partner_id`'s)
/// customers from its quotas; `source_id` is the issuing partner (the quota's owner).
pub(crate) async fn list_sub_customer_coupons(call: Call) -> Answer {
    refuse_order_filter(&call)?;
    let quotas = issuer_quotas(&call).await?;
    let source = call.query_str("source_id");
    if source.is_some() && quotas.is_none() {
        return Err(BssError::invalid("source_id: a customer's key cannot read which partner issued a coupon"));
    }
    let mut selection = CouponSelection {
        status: call.query_int("status")?,
        coupon_type: call.query_int("coupon_type")?,
        coupon: call.query_str("coupon_id"),
        windows: vec![Window::new("valid_from", call.query_str("active_start_time"), call.query_str("active_end_time"))?],
        ..CouponSelection::default()
    };
    selection.quotas = quotas.as_ref().map(|quotas| {
        quotas.iter().filter(|(_, row)| source.is_none_or(|source| text(row, "partner") == source)).map(|(id, _)| id.clone()).collect()
    });
    // No coupon comes from a promotion plan: filtering by one selects none.
    let rows = if call.query_str("promotion_plan_id").is_some() { Vec::new() } else { select_coupons(&call, &selection).await? };
    let (count, rows) = call.page(rows)?;
    let owner = |row: &Value| quotas.as_ref().and_then(|quotas| quotas.get(text(row, "quota"))).and_then(|quota| owned(quota, "partner"));
    let user_coupons = coupon_views(&call, rows)
        .await?
        .into_iter()
        .map(|view| UserCoupon {
            core: CouponCore::of(&view),
            customer_id: text(&view.row, "customer").to_owned(),
            valid_time: instant(text(&view.row, "valid_from")),
            media_type: ELECTRONIC,
            fetch_method: ISSUED_ONLINE,
            coupon_version: BALANCE_VERSION,
            is_frozen: "0",
            currency: "CNY",
            source_id: owner(&view.row),
            reserve_time: view.last_used,
        })
        .collect();
    reply(&UserCoupons { count, user_coupons })
}

/// A coupon usable for an order, as `list_order_coupons_by_order_id` shows it.
#[derive(Serialize)]
struct OrderCoupon {
    #[serde(flatten)]
    core: CouponCore,
    effective_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_time: Option<String>,
    coupon_version: i64,
    coupon_group: i64,
}

#[derive(Serialize)]
struct OrderCoupons {
    count: usize,
    user_coupons: Vec<OrderCoupon>,
}

/// Whether a coupon row may pay for an order row: it covers the order's service (no `services`:
/// any) and, for a pickup voucher, allows the order's kind.
fn applies_to(coupon: &Value, order: &Value) -> bool {
    let listed = |name: &str, wanted: Option<&str>| match coupon.get(name).and_then(Value::as_array) {
        None => true,
        Some(items) => wanted.is_some_and(|wanted| items.iter().any(|item| item.as_str() == Some(wanted))),
    };
    listed("services", order.get("service").and_then(Value::as_str)) && listed("order_kinds", order.get("kind").and_then(Value::as_str))
}

/// The order customer's usable coupons that may pay for the order.
pub(crate) async fn list_order_coupons_by_order_id(call: Call) -> Answer {
    let order = call.query(json!({"op": "order", "order": call.query_required("order_id")?})).await?;
    let usable = code_of(&COUPON_STATUSES, "usable");
    let selection = CouponSelection { customer: Some(text(&order, "customer")), status: usable, ..CouponSelection::default() };
    let mut rows = select_coupons(&call, &selection).await?;
    rows.retain(|row| applies_to(row, &order));
    let user_coupons: Vec<OrderCoupon> = coupon_views(&call, rows)
        .await?
        .into_iter()
        .map(|view| OrderCoupon {
            core: CouponCore::of(&view),
            effective_time: instant(text(&view.row, "valid_from")),
            last_used_time: view.last_used,
            coupon_version: BALANCE_VERSION,
            coupon_group: CLOUD_SERVICE_GROUP,
        })
        .collect();
    reply(&OrderCoupons { count: user_coupons.len(), user_coupons })
}

/// One issue, reclaim or expiry of a coupon.
#[derive(Serialize)]
struct CouponRecord {
    id: String,
    operation_type: String,
    quota_id: String,
    quota_type: i64,
    coupon_id: String,
    customer_id: String,
    operation_amount: Num,
    operation_time: String,
    result: &'static str,
}

#[derive(Serialize)]
struct CouponRecords {
    total_count: usize,
    records: Vec<CouponRecord>,
}

/// The issues (1), reclaims (2), unbind reclaims (3) and expiries (4) of coupons from the
/// caller's (or `indirect_partner_id`'s) quotas.
pub(crate) async fn list_partner_coupons_record(call: Call) -> Answer {
    let quotas = issuer_quotas(&call).await?.unwrap_or_default();
    let codes = call.query_list("operation_types");
    let operations: Vec<&str> =
        COUPON_OPERATIONS.iter().filter(|(_, code)| codes.is_empty() || codes.contains(code)).map(|(name, _)| *name).collect();
    let coupons = call.query_list("coupon_ids");
    let mut filter = json!({});
    for (parameter, field) in
        [("quota_id", "quota"), ("customer_id", "customer"), ("operation_time_begin", "from"), ("operation_time_end", "to")]
    {
        if let Some(value) = call.query_str(parameter) {
            filter[field] = json!(value);
        }
    }
    if let [coupon] = coupons.as_slice() {
        filter["coupon"] = json!(coupon);
    }
    let wanted_type = call.query_int("quota_type")?;
    // Failed operations are not recorded: every record's result is 0 (success).
    let failed_only = call.query_str("result") == Some("-1");
    let mut records = if failed_only { Vec::new() } else { records_of(&call, &filter, &operations).await? };
    records.retain(|record| {
        quotas.get(text(record, "quota")).is_some_and(|quota| wanted_type.is_none_or(|wanted| quota_type(text(quota, "kind")) == wanted))
            && (coupons.is_empty() || coupons.contains(&text(record, "coupon")))
    });
    let (total_count, records) = call.page(records)?;
    let records = records
        .iter()
        .map(|record| CouponRecord {
            id: record_id(record, "coupon"),
            operation_type: code_of(&COUPON_OPERATIONS, text(record, "operation")).unwrap_or("").to_owned(),
            quota_id: text(record, "quota").to_owned(),
            quota_type: quotas.get(text(record, "quota")).map_or(-1, |quota| quota_type(text(quota, "kind"))),
            coupon_id: text(record, "coupon").to_owned(),
            customer_id: text(record, "customer").to_owned(),
            operation_amount: Num::field(record, "amount"),
            operation_time: instant(text(record, "at")),
            result: "0",
        })
        .collect();
    reply(&CouponRecords { total_count, records })
}
