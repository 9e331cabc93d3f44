//! The BSS door: orders. Listings and details read `orders` / `order` (payment times from the
//! payment bills of `bills`), payment is `pay_order`, cancellation `cancel_order`, unsubscription
//! `unsubscribe` with the whole refundable amount, and refund details read the `<order>:refund`
//! bill. Choices where the reference is silent are in `docs/http-orders.md`.

use super::{Answer, BssError, Call, Num, instant, reply};
use crate::amount::Amount;
use crate::error::ErrorCode;
use crate::id::Party;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

const CURRENCY: &str = "CNY";
/// `measure_id` 1: yuan.
const YUAN: i32 = 1;
/// `discount_type` 605 (商务合同折扣): a business discount of `grant_discount`.
const BUSINESS_DISCOUNT_TYPE: &str = "605";
/// `coupon_infos` types the ledger's coupons are: 301 voucher, 302 cash coupon.
const COUPON_TYPES: [i64; 2] = [301, 302];
/// `discount_infos` type 2 (商务优惠): the only kind of discount the ledger grants.
const DISCOUNT_TYPE: i64 = 2;
/// Resources one unsubscription names at most (the API's own limit).
const UNSUBSCRIBE_RESOURCES_MAX: usize = 10;

fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

fn paid_amount<'v>(order: &'v Value, name: &str) -> &'v str {
    order.get("paid").and_then(|paid| paid.get(name)).and_then(Value::as_str).unwrap_or("0.00")
}

/// Adds amounts the protocol wrote (non-negative, two decimals).
fn sum<'a>(amounts: impl IntoIterator<Item = &'a str>) -> Result<String, BssError> {
    let bad = |_| BssError::code(ErrorCode::Storage, "the ledger answered an amount that is not one");
    let mut total = Amount::parse_non_negative("0").map_err(bad)?;
    for amount in amounts {
        let amount = Amount::parse_non_negative(amount).map_err(bad)?;
        total = total.checked_add(amount).map_err(|_| BssError::code(ErrorCode::Storage, "an order sum overflows"))?;
    }
    Ok(total.to_string())
}

/// Huawei's order status: 6 pending payment, 5 completed (paid, also once unsubscribed: the
/// refund is its own refund order), 4 cancelled (also unpaid past the deadline, which Huawei
/// cancels).
fn status_code(order: &Value) -> i64 {
    match text(order, "status") {
        Some("pending_payment") => 6,
        Some("paid" | "unsubscribed") => 5,
        _ => 4,
    }
}

/// Huawei's order type: 1 new, 2 renew, 3 change.
fn order_type(order: &Value) -> i64 {
    match text(order, "kind") {
        Some("renew") => 2,
        Some("change") => 3,
        _ => 1,
    }
}

/// One order as the API shows it: a plain order, or a combined order with its members.
struct Entry {
    id: String,
    members: Vec<Value>,
}

impl Entry {
    fn first(&self) -> &Value {
        &self.members[0]
    }
}

/// Groups the protocol's orders (oldest first) into entries: the members of a combined order
/// under the combined id, in place of its first member.
fn entries(orders: Vec<Value>) -> Vec<Entry> {
    let mut list: Vec<Entry> = Vec::new();
    let mut combined_at: HashMap<String, usize> = HashMap::new();
    for order in orders {
        match text(&order, "combined").map(str::to_owned) {
            Some(combined) => match combined_at.get(&combined) {
                Some(&index) => list[index].members.push(order),
                None => {
                    combined_at.insert(combined.clone(), list.len());
                    list.push(Entry { id: combined, members: vec![order] });
                }
            },
            None => list.push(Entry { id: text(&order, "order").unwrap_or_default().to_owned(), members: vec![order] }),
        }
    }
    list
}

/// The `(offset, limit)` page of `items`.
fn page<T>(items: &[T], (offset, limit): (u64, u64)) -> impl Iterator<Item = &T> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    items.iter().skip(offset).take(usize::try_from(limit).unwrap_or(usize::MAX))
}

/// Payment times (`YYYY-MM-DDTHH:MM:SSZ`) of the orders of these customers, from their payment
/// bills (a payment bill's id is its order's id).
async fn payment_times(call: &Call, customers: HashSet<String>) -> Result<HashMap<String, String>, BssError> {
    let mut times = HashMap::new();
    for customer in customers {
        let bills = call.all_rows(json!({"op": "bills", "party": format!("customer:{customer}")}), "bills").await?;
        for bill in bills {
            let payment = matches!(text(&bill, "bill_type"), Some("new" | "renew" | "change"));
            if let (true, Some(id), Some(at)) = (payment, text(&bill, "bill"), text(&bill, "at"))
                && text(&bill, "order") == Some(id)
            {
                times.insert(id.to_owned(), instant(at));
            }
        }
    }
    Ok(times)
}

/// The customers of these entries whose orders were paid (and so have a payment bill).
fn paid_customers<'e>(entries: impl IntoIterator<Item = &'e Entry>) -> HashSet<String> {
    entries
        .into_iter()
        .flat_map(|entry| &entry.members)
        .filter(|order| text(order, "payer").is_some())
        .filter_map(|order| text(order, "customer").map(str::to_owned))
        .collect()
}

#[derive(Serialize)]
struct DiscountItem {
    discount_type: &'static str,
    discount_amount: Num,
}

#[derive(Serialize)]
struct AmountInfo {
    discounts: Vec<DiscountItem>,
    flexipurchase_coupon_amount: Num,
    coupon_amount: Num,
    stored_card_amount: Num,
}

#[derive(Serialize)]
struct AgentPayInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    paying_agent_id: Option<String>,
    is_agent_pay: bool,
}

/// `CustomerOrderV2` and its sub-order and detail variants (fields a variant lacks are absent).
#[derive(Serialize)]
struct OrderInfo {
    order_id: String,
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_type_code: Option<String>,
    status: i64,
    order_type: i64,
    amount_after_discount: Num,
    official_amount: Num,
    measure_id: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_time: Option<String>,
    currency: &'static str,
    amount_info: AmountInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_payment_end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_order_infos: Option<Vec<OrderInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_pay_info: Option<AgentPayInfo>,
}

/// The sums of these orders' payment fields.
struct Sums {
    due: String,
    amount: String,
    discount: String,
    coupon: String,
}

/// What a paid order was due; an unpaid one's official price (a discount is chosen on payment).
fn after_discount(order: &Value) -> &str {
    if text(order, "payer").is_some() { paid_amount(order, "due") } else { text(order, "amount").unwrap_or("0.00") }
}

fn sums(members: &[Value]) -> Result<Sums, BssError> {
    Ok(Sums {
        due: sum(members.iter().map(after_discount))?,
        amount: sum(members.iter().map(|order| text(order, "amount").unwrap_or("0.00")))?,
        discount: sum(members.iter().map(|order| paid_amount(order, "discount")))?,
        coupon: sum(members.iter().map(|order| paid_amount(order, "coupon")))?,
    })
}

fn amount_info(sums: &Sums) -> AmountInfo {
    let discounts = if sums.discount == "0.00" {
        Vec::new()
    } else {
        vec![DiscountItem { discount_type: BUSINESS_DISCOUNT_TYPE, discount_amount: Num::of(&sums.discount) }]
    };
    AmountInfo {
        discounts,
        flexipurchase_coupon_amount: Num::zero(),
        coupon_amount: Num::of(&sums.coupon),
        stored_card_amount: Num::zero(),
    }
}

/// Who pays for the order: the paying partner, or the partner asked to pay.
fn agent_pay_info(order: &Value) -> AgentPayInfo {
    let paying = text(order, "payer").and_then(|payer| payer.strip_prefix("partner:")).map(str::to_owned);
    let asked = (text(order, "partner_payment") == Some("requested")).then(|| text(order, "asked_partner").map(str::to_owned)).flatten();
    AgentPayInfo { is_agent_pay: paying.is_some() || asked.is_some(), paying_agent_id: paying.or(asked) }
}

/// How an order is shown: `detail` adds `pending_payment_end_time`, the list adds `agent_pay_info`.
struct Shape<'t> {
    times: &'t HashMap<String, String>,
    detail: bool,
}

impl Shape<'_> {
    fn info(&self, id: &str, members: &[Value], top: bool) -> Result<OrderInfo, BssError> {
        let first = &members[0];
        let sums = sums(members)?;
        let pending = status_code(first) == 6;
        let subs = if top && text(first, "combined").is_some() {
            Some(
                members
                    .iter()
                    .map(|member| self.info(text(member, "order").unwrap_or_default(), std::slice::from_ref(member), false))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            None
        };
        Ok(OrderInfo {
            order_id: id.to_owned(),
            customer_id: text(first, "customer").unwrap_or_default().to_owned(),
            service_type_code: text(first, "service").map(str::to_owned),
            status: status_code(first),
            order_type: order_type(first),
            amount_after_discount: Num::of(&sums.due),
            official_amount: Num::of(&sums.amount),
            measure_id: YUAN,
            create_time: text(first, "placed_at").map(instant),
            payment_time: text(first, "order").and_then(|order| self.times.get(order)).cloned(),
            currency: CURRENCY,
            amount_info: amount_info(&sums),
            pending_payment_end_time: (self.detail && pending).then(|| text(first, "pay_deadline").map(instant)).flatten(),
            sub_order_infos: subs,
            agent_pay_info: (top && !self.detail).then(|| agent_pay_info(first)),
        })
    }
}

/// The filters of `list_customer_orders` the protocol's `orders` lacks.
struct ListFilter<'c> {
    order_id: Option<&'c str>,
    status: Option<i64>,
    order_type: Option<i64>,
    service: Option<&'c str>,
    paid_from: Option<&'c str>,
    paid_to: Option<&'c str>,
    created_from: Option<&'c str>,
    created_to: Option<&'c str>,
    newest_first: bool,
    none: bool,
}

/// A time filter as the API writes it (`YYYY-MM-DDTHH:MM:SSZ`), compared as text.
fn time_filter<'c>(call: &'c Call, name: &str) -> Result<Option<&'c str>, BssError> {
    let value = call.query_str(name);
    let valid = |text: &str| text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T';
    match value {
        Some(text) if !valid(text) => Err(BssError::invalid(format!("{name} must be YYYY-MM-DDTHH:MM:SSZ, got {text:?}"))),
        _ => Ok(value),
    }
}

impl<'c> ListFilter<'c> {
    fn of(call: &'c Call) -> Result<ListFilter<'c>, BssError> {
        let newest_first = match call.query_str("order_by").map(str::to_ascii_lowercase).as_deref() {
            None | Some("createtime") => false,
            Some("-createtime") => true,
            Some(other) => return Err(BssError::invalid(format!("order_by must be createTime or -createTime, got {other:?}"))),
        };
        let none = match call.query_str("method") {
            None | Some("oneself") => false,
            Some("sub_customer") => true,
            Some(other) => return Err(BssError::invalid(format!("method must be oneself or sub_customer, got {other:?}"))),
        };
        Ok(ListFilter {
            order_id: call.query_str("order_id"),
            status: call.query_int("status")?,
            order_type: call.query_int("order_type")?,
            service: call.query_str("service_type_code"),
            paid_from: time_filter(call, "payment_time_begin")?,
            paid_to: time_filter(call, "payment_time_end")?,
            created_from: time_filter(call, "create_time_begin")?,
            created_to: time_filter(call, "create_time_end")?,
            newest_first,
            none,
        })
    }

    /// The protocol status to ask `orders` for, when the API's status is exactly one of them.
    fn protocol_status(&self) -> Option<&'static str> {
        (self.status == Some(6)).then_some("pending_payment")
    }

    fn by_payment(&self) -> bool {
        self.paid_from.is_some() || self.paid_to.is_some()
    }

    /// An entry matches when it (or one of its members) has the asked values.
    fn matches(&self, entry: &Entry) -> bool {
        let any = |test: &dyn Fn(&Value) -> bool| entry.members.iter().any(test);
        self.order_id.is_none_or(|id| id == entry.id || any(&|order| text(order, "order") == Some(id)))
            && self.status.is_none_or(|status| status == status_code(entry.first()))
            && self.order_type.is_none_or(|kind| any(&|order| order_type(order) == kind))
            && self.service.is_none_or(|service| any(&|order| text(order, "service") == Some(service)))
            && text(entry.first(), "placed_at").map(instant).is_some_and(|created| {
                self.created_from.is_none_or(|from| created.as_str() >= from) && self.created_to.is_none_or(|to| created.as_str() <= to)
            })
    }

    fn paid_between(&self, entry: &Entry, times: &HashMap<String, String>) -> bool {
        let time = text(entry.first(), "order").and_then(|order| times.get(order));
        !self.by_payment()
            || time.is_some_and(|time| {
                self.paid_from.is_none_or(|from| time.as_str() >= from) && self.paid_to.is_none_or(|to| time.as_str() <= to)
            })
    }
}

/// The customers a listing without `customer_id` covers: those of `indirect_partner_id`, or for
/// a partner (or its operator) its own customers without its resellers'; `None`: the engine's
/// whole reach (a customer, the platform).
async fn listed_customers(call: &Call) -> Result<Option<HashSet<String>>, BssError> {
    let ids = |rows: Vec<Value>| -> HashSet<String> { rows.iter().filter_map(|row| text(row, "customer").map(str::to_owned)).collect() };
    if let Some(partner) = call.indirect_partner()? {
        return Ok(Some(ids(call.all_rows(json!({"op": "customers", "partner": partner}), "customers").await?)));
    }
    if !matches!(call.actor, Party::Partner(_) | Party::Operator(_)) {
        return Ok(None);
    }
    // A partner without resellers (or an operator who may not list them) has none to leave out.
    let resellers: HashSet<String> = call
        .all_rows(json!({"op": "resellers"}), "resellers")
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|row| text(row, "partner").map(str::to_owned))
        .collect();
    let customers = call.all_rows(json!({"op": "customers"}), "customers").await?;
    let own = customers.into_iter().filter(|row| text(row, "partner").is_none_or(|partner| !resellers.contains(partner)));
    Ok(Some(ids(own.collect())))
}

/// The orders a listing covers, oldest first.
async fn listed_orders(call: &Call, status: Option<&str>) -> Result<Vec<Value>, BssError> {
    let mut fields = json!({"op": "orders"});
    if let Some(status) = status {
        fields["status"] = json!(status);
    }
    if let Some(customer) = call.query_str("customer_id") {
        fields["customer"] = json!(customer);
        return call.all_rows(fields, "orders").await;
    }
    let customers = listed_customers(call).await?;
    let orders = call.all_rows(fields, "orders").await?;
    Ok(orders
        .into_iter()
        .filter(|order| customers.as_ref().is_none_or(|set| text(order, "customer").is_some_and(|id| set.contains(id))))
        .collect())
}

#[derive(Serialize)]
struct OrderList {
    total_count: usize,
    order_infos: Vec<OrderInfo>,
}

pub(crate) async fn list_customer_orders(call: Call) -> Answer {
    let (offset, limit) = call.paging()?;
    let filter = ListFilter::of(&call)?;
    if filter.none {
        return reply(&OrderList { total_count: 0, order_infos: Vec::new() });
    }
    let mut selected: Vec<Entry> =
        entries(listed_orders(&call, filter.protocol_status()).await?).into_iter().filter(|entry| filter.matches(entry)).collect();
    let mut times = HashMap::new();
    if filter.by_payment() {
        times = payment_times(&call, paid_customers(&selected)).await?;
        selected.retain(|entry| filter.paid_between(entry, &times));
    }
    if filter.newest_first {
        selected.reverse();
    }
    let total_count = selected.len();
    let shown: Vec<&Entry> = page(&selected, (offset, limit)).collect();
    if !filter.by_payment() {
        times = payment_times(&call, paid_customers(shown.iter().copied())).await?;
    }
    let shape = Shape { times: &times, detail: false };
    let order_infos = shown.iter().map(|entry| shape.info(&entry.id, &entry.members, true)).collect::<Result<_, _>>()?;
    reply(&OrderList { total_count, order_infos })
}

/// An order id's orders: the order itself, or a combined order's members.
async fn order_members(call: &Call, id: &str) -> Result<Entry, BssError> {
    match call.query(json!({"op": "order", "order": id})).await {
        Ok(order) => Ok(Entry { id: id.to_owned(), members: vec![order] }),
        Err(error) => {
            // A combined id is no order of its own: find its members among the visible orders.
            let members: Vec<Value> = call
                .all_rows(json!({"op": "orders"}), "orders")
                .await?
                .into_iter()
                .filter(|order| text(order, "combined") == Some(id))
                .collect();
            if members.is_empty() { Err(error) } else { Ok(Entry { id: id.to_owned(), members }) }
        }
    }
}

#[derive(Serialize)]
struct LineItem {
    order_line_item_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_type_code: Option<String>,
    subscription_num: i64,
    amount_after_discount: Num,
    official_amount: Num,
    amount_info: AmountInfo,
    currency: &'static str,
    order_id: String,
}

fn line_item(order: &Value) -> Result<LineItem, BssError> {
    let sums = sums(std::slice::from_ref(order))?;
    let id = text(order, "order").unwrap_or_default().to_owned();
    Ok(LineItem {
        order_line_item_id: id.clone(),
        service_type_code: text(order, "service").map(str::to_owned),
        subscription_num: 1,
        amount_after_discount: Num::of(&sums.due),
        official_amount: Num::of(&sums.amount),
        amount_info: amount_info(&sums),
        currency: CURRENCY,
        order_id: id,
    })
}

#[derive(Serialize)]
struct OrderDetails {
    total_count: usize,
    order_info: OrderInfo,
    order_line_items: Vec<LineItem>,
}

pub(crate) async fn show_customer_order_details(call: Call) -> Answer {
    let id = call.path_parameter.clone().ok_or_else(|| BssError::invalid("order_id is required"))?;
    let (offset, limit) = call.paging()?;
    let entry = order_members(&call, &id).await?;
    let times = payment_times(&call, paid_customers([&entry])).await?;
    let order_info = Shape { times: &times, detail: true }.info(&entry.id, &entry.members, true)?;
    let order_line_items = page(&entry.members, (offset, limit)).map(line_item).collect::<Result<_, _>>()?;
    reply(&OrderDetails { total_count: entry.members.len(), order_info, order_line_items })
}

/// `YES` or `NO` (either case).
fn yes(call: &Call, name: &str) -> Result<bool, BssError> {
    match call.body_required(name)?.to_ascii_uppercase().as_str() {
        "YES" => Ok(true),
        "NO" => Ok(false),
        other => Err(BssError::invalid(format!("{name} must be YES or NO, got {other:?}"))),
    }
}

/// The ids of a list of `{id, type}` whose type is one of `types`; the list must be non-empty
/// exactly when `used`.
fn typed_ids(call: &Call, list: &str, used: bool, types: &[i64]) -> Result<Vec<String>, BssError> {
    let items = call.body_objects(list)?;
    if used == items.is_empty() {
        let flag = if list == "coupon_infos" { "use_coupon" } else { "use_discount" };
        return Err(BssError::invalid(format!("{list} is required with {flag} YES and not allowed with NO")));
    }
    items.iter().map(|item| typed_id(item, list, types)).collect()
}

fn typed_id(item: &Map<String, Value>, list: &str, types: &[i64]) -> Result<String, BssError> {
    let id = item.get("id").and_then(Value::as_str).ok_or_else(|| BssError::invalid(format!("{list}: id is required")))?;
    match item.get("type").and_then(Value::as_i64) {
        Some(kind) if types.contains(&kind) => Ok(id.to_owned()),
        other => Err(BssError::invalid(format!("{list}: type of {id} must be one of {types:?}, got {other:?}"))),
    }
}

pub(crate) async fn pay_orders(call: Call) -> Answer {
    let order = call.body_required("order_id")?;
    let coupons = typed_ids(&call, "coupon_infos", yes(&call, "use_coupon")?, &COUPON_TYPES)?;
    let discounts = typed_ids(&call, "discount_infos", yes(&call, "use_discount")?, &[DISCOUNT_TYPE])?;
    if discounts.len() > 1 {
        return Err(BssError::invalid("discount_infos names at most one discount"));
    }
    let mut fields = json!({"op": "pay_order", "order": order});
    if !coupons.is_empty() {
        fields["coupons"] = json!(coupons);
    }
    if let Some(discount) = discounts.first() {
        fields["discount"] = json!(discount);
    }
    call.command(fields).await?;
    reply(&json!({}))
}

pub(crate) async fn cancel_customer_order(call: Call) -> Answer {
    call.command(json!({"op": "cancel_order", "order": call.body_required("order_id")?})).await?;
    reply(&json!({}))
}

#[derive(Serialize)]
struct FailResourceInfo {
    error_code: String,
    error_msg: String,
    resource_id: String,
}

#[derive(Serialize)]
struct Unsubscribed {
    order_ids: Vec<String>,
    fail_resource_infos: Vec<FailResourceInfo>,
}

/// The whole refundable amount of an order: what it drew from `allocated`, cash and credit
/// (coupon value is never refunded). When that is nothing, the official price, so that the
/// engine names why the order cannot be refunded (its state, or `refund_exceeds_paid`).
fn refundable(order: &Value) -> Result<String, BssError> {
    let paid = sum(["allocated", "cash", "credit"].map(|name| paid_amount(order, name)))?;
    Ok(if paid == "0.00" { text(order, "amount").unwrap_or("0.00").to_owned() } else { paid })
}

/// The listed resource ids (paid order ids), each once, in order.
fn resource_ids(call: &Call) -> Result<Vec<String>, BssError> {
    let mut seen = HashSet::new();
    let ids: Vec<String> = call.body_str_list("resource_ids")?.into_iter().filter(|id| seen.insert(*id)).map(str::to_owned).collect();
    if ids.is_empty() || ids.len() > UNSUBSCRIBE_RESOURCES_MAX {
        return Err(BssError::invalid(format!("resource_ids must name 1 to {UNSUBSCRIBE_RESOURCES_MAX} resources")));
    }
    match call.body_int("unsubscribe_type")? {
        Some(1) => Ok(ids),
        Some(2) => Err(BssError::invalid("unsubscribe_type 2 (renewed periods only) is not served: the ledger has no periods")),
        other => Err(BssError::invalid(format!("unsubscribe_type must be 1, got {other:?}"))),
    }
}

pub(crate) async fn cancel_resources_subscription(call: Call) -> Answer {
    let ids = resource_ids(&call)?;
    let orders = call.queries(ids.iter().map(|id| json!({"op": "order", "order": id})).collect()).await;
    let mut failed = Vec::new();
    let mut items = Vec::new();
    for (id, order) in ids.iter().zip(orders) {
        match order.and_then(|order| refundable(&order)) {
            Ok(refund) => items.push((id.clone(), json!({"op": "unsubscribe", "order": id, "refund": refund}))),
            Err(error) => failed.push(error.detail(id)),
        }
    }
    let requests = items.iter().map(|(id, fields)| (call.item_request_id(id), fields.clone())).collect();
    let mut order_ids = Vec::new();
    for ((id, _), answer) in items.iter().zip(call.commands(requests).await) {
        match answer {
            Ok(_) => order_ids.push(format!("{id}:refund")),
            Err(error) => failed.push(error.detail(id)),
        }
    }
    let fail_resource_infos = failed
        .into_iter()
        .map(|detail| FailResourceInfo { error_code: detail.error_code, error_msg: detail.error_msg, resource_id: detail.id })
        .collect();
    reply(&Unsubscribed { order_ids, fail_resource_infos })
}

#[derive(Serialize)]
struct RefundInfo {
    id: String,
    amount: Num,
    measure_id: String,
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_type_code: Option<String>,
    base_order_id: String,
}

#[derive(Serialize)]
struct RefundOrders {
    total_count: usize,
    refund_infos: Vec<RefundInfo>,
}

pub(crate) async fn show_refund_order_details(call: Call) -> Answer {
    let requested = call.query_required("order_id")?;
    let base = requested.strip_suffix(":refund").unwrap_or(requested);
    let order = call.query(json!({"op": "order", "order": base})).await?;
    let customer = text(&order, "customer").unwrap_or_default();
    let mut refund_infos = Vec::new();
    if call.query_str("customer_id").is_none_or(|wanted| wanted == customer) && text(&order, "status") == Some("unsubscribed") {
        let refund_bill = format!("{base}:refund");
        let bills = call.all_rows(json!({"op": "bills", "party": format!("customer:{customer}")}), "bills").await?;
        refund_infos.extend(bills.iter().filter(|bill| text(bill, "bill") == Some(refund_bill.as_str())).map(|bill| RefundInfo {
            id: refund_bill.clone(),
            amount: Num::field(bill, "amount"),
            measure_id: YUAN.to_string(),
            customer_id: customer.to_owned(),
            service_type_code: text(&order, "service").map(str::to_owned),
            base_order_id: base.to_owned(),
        }));
    }
    reply(&RefundOrders { total_count: refund_infos.len(), refund_infos })
}
