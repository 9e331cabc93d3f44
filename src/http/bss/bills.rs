//! The BSS door: bills. Every endpoint reads the protocol's `bills` query (all pages of one UTC+8
//! cycle), adds what the bill itself does not carry (its order's service and customer, read with
//! the `order` query), filters and pages in the door, and writes the SDK's fields. The choices are
//! in `docs/http-bills.md`.

use super::{Answer, BssError, Call, Num, instant, page_of, reply};
use crate::error::ErrorCode;
use crate::protocol::PAGE_LIMIT_MAX;
use crate::time::Timestamp;
use hyper::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Amounts are handled in units of 10^-8 (usage keeps 8 decimals in `erase_amount`).
const UNITS_PER_YUAN: i128 = 100_000_000;
/// Units per fen.
const UNITS_PER_FEN: i128 = 1_000_000;
/// The SDK's `measure_id` for yuan.
const YUAN: i64 = 1;
const CURRENCY: &str = "CNY";

/// A signed decimal amount as the protocol writes it (`"-30.00"`, `"0.00567891"`), in units.
fn units(text: &str) -> Option<i128> {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || fraction.len() > 8 || !valid(whole) || !valid(fraction) {
        return None;
    }
    let value = whole.parse::<i128>().ok()?.checked_mul(UNITS_PER_YUAN)?.checked_add(format!("{fraction:0<8}").parse::<i128>().ok()?)?;
    Some(if negative { -value } else { value })
}

/// An amount as a JSON number: two decimals, or eight when it has parts of a fen.
fn num(units: i128) -> Num {
    let sign = if units < 0 { "-" } else { "" };
    let (whole, fraction) = (units.abs() / UNITS_PER_YUAN, units.abs() % UNITS_PER_YUAN);
    if fraction % UNITS_PER_FEN == 0 {
        Num::of(&format!("{sign}{whole}.{:02}", fraction / UNITS_PER_FEN))
    } else {
        Num::of(&format!("{sign}{whole}.{fraction:08}"))
    }
}

/// The money parts of one bill (or of a sum of bills), in units.
#[derive(Clone, Copy, Default)]
struct Parts {
    /// What was due, after the business discount (the bill's `amount`).
    due: i128,
    discount: i128,
    erase: i128,
    coupon: i128,
    /// Money: the customer's `allocated` and `cash` parts together (Huawei's cash account).
    money: i128,
    credit: i128,
    debt: i128,
}

impl Parts {
    fn of(bill: &Value) -> Result<Parts, BssError> {
        let field = |name: &str| {
            let text = bill.get(name).and_then(Value::as_str).unwrap_or("0");
            units(text).ok_or_else(|| BssError::code(ErrorCode::Storage, format!("bill field {name} is not an amount: {text:?}")))
        };
        Ok(Parts {
            due: field("amount")?,
            discount: field("discount_amount")?,
            erase: field("erase_amount")?,
            coupon: field("coupon_amount")?,
            money: field("allocated_amount")? + field("cash_amount")?,
            credit: field("credit_amount")?,
            debt: field("debt_amount")?,
        })
    }

    /// The official price: what was due, plus the discount, plus the fraction of a fen erased.
    fn official(&self) -> i128 {
        self.due + self.discount + self.erase
    }

    fn add(&mut self, other: &Parts) {
        self.due += other.due;
        self.discount += other.discount;
        self.erase += other.erase;
        self.coupon += other.coupon;
        self.money += other.money;
        self.credit += other.credit;
        self.debt += other.debt;
    }
}

/// One bill with what the door adds to it.
struct Row {
    bill: Value,
    parts: Parts,
    /// The customer the bill concerns: the customer whose bills were read, else the order's.
    customer: Option<String>,
    /// The order's service (absent for usage and adjustments, and for orders the caller may not read).
    service: Option<String>,
}

impl Row {
    fn text(&self, name: &str) -> Option<&str> {
        self.bill.get(name).and_then(Value::as_str)
    }

    fn id(&self) -> String {
        self.text("bill").unwrap_or_default().to_owned()
    }

    fn order(&self) -> Option<String> {
        self.text("order").map(str::to_owned)
    }

    fn cycle(&self) -> String {
        self.text("cycle").unwrap_or_default().to_owned()
    }

    fn at(&self) -> String {
        instant(self.text("at").unwrap_or_default())
    }

    /// SPEC 4's bill type number.
    fn type_number(&self) -> i64 {
        match self.text("bill_type") {
            Some("new") => 1,
            Some("renew") => 2,
            Some("change") => 3,
            Some("refund") => 4,
            Some("usage") => 5,
            Some("compensation") => 9,
            Some("deduction") => 16,
            _ => 0,
        }
    }

    /// 1 (yearly/monthly) for the bills of orders, 3 (on demand) for usage and adjustments.
    fn charging_mode(&self) -> i64 {
        if self.order().is_some() { 1 } else { 3 }
    }

    /// The UTC+8 day of the bill, `YYYY-MM-DD`.
    fn date(&self) -> String {
        let at = Timestamp::parse(self.text("at").unwrap_or_default()).unwrap_or_default();
        Timestamp::from_millis(at.millis() + 8 * 3_600_000).to_string().chars().take(10).collect()
    }

    /// The order type of an order's bill: 1 new, 2 renew, 3 change, 4 unsubscribe.
    fn order_type(&self) -> Option<i64> {
        Some(self.type_number()).filter(|number| (1..=4).contains(number))
    }

    /// The payment status: 2 (not settled) when part of the bill became debt, else 1 (paid).
    fn status(&self) -> i64 {
        if self.parts.debt == 0 { 1 } else { 2 }
    }

    /// The original order of a refund.
    fn relative_order(&self) -> Option<String> {
        if self.type_number() == 4 { self.order() } else { None }
    }
}

/// Every bill of `parties` (one list each) in `cycle`: all pages, fetched together round by round.
async fn fetch_bills(call: &Call, parties: &[String], cycle: &str) -> Result<Vec<Vec<Value>>, BssError> {
    let mut found: Vec<Vec<Value>> = vec![Vec::new(); parties.len()];
    let mut pending: Vec<usize> = (0..parties.len()).collect();
    while !pending.is_empty() {
        let requests = pending
            .iter()
            .map(|&index| json!({"op": "bills", "party": parties[index], "cycle": cycle, "offset": found[index].len(), "limit": PAGE_LIMIT_MAX}))
            .collect();
        let mut next = Vec::new();
        for (&index, answer) in pending.iter().zip(call.queries(requests).await) {
            let answer = answer?;
            let page = answer.get("bills").and_then(Value::as_array).cloned().unwrap_or_default();
            let total = answer.get("total_count").and_then(Value::as_u64).unwrap_or(0);
            let more = !page.is_empty();
            found[index].extend(page);
            if more && (found[index].len() as u64) < total {
                next.push(index);
            }
        }
        pending = next;
    }
    Ok(found)
}

/// The customer and service of each order, as far as the caller may read the order.
async fn order_facts(call: &Call, orders: Vec<String>) -> Result<HashMap<String, (Option<String>, Option<String>)>, BssError> {
    let requests = orders.iter().map(|order| json!({"op": "order", "order": order})).collect();
    let mut facts = HashMap::new();
    for (order, answer) in orders.into_iter().zip(call.queries(requests).await) {
        let text = |value: &Value, name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        match answer {
            Ok(value) => facts.insert(order, (text(&value, "customer"), text(&value, "service"))),
            // A referral customer's order that its partner did not pay is not the partner's to read.
            Err(error) if error.status == StatusCode::FORBIDDEN => facts.insert(order, (None, None)),
            Err(error) => return Err(error),
        };
    }
    Ok(facts)
}

/// The bills of `parties` in `cycle` as rows, oldest first within each party.
async fn rows_of(call: &Call, parties: &[String], cycle: &str) -> Result<Vec<Row>, BssError> {
    let found = fetch_bills(call, parties, cycle).await?;
    let mut orders: Vec<String> = found.iter().flatten().filter_map(|bill| bill.get("order")?.as_str().map(str::to_owned)).collect();
    orders.sort();
    orders.dedup();
    let facts = order_facts(call, orders).await?;
    let mut rows = Vec::new();
    for (party, bills) in parties.iter().zip(found) {
        for bill in bills {
            let fact = bill.get("order").and_then(Value::as_str).and_then(|order| facts.get(order)).cloned().unwrap_or_default();
            let customer = party.strip_prefix("customer:").map(str::to_owned).or(fact.0);
            rows.push(Row { parts: Parts::of(&bill)?, bill, customer, service: fact.1 });
        }
    }
    Ok(rows)
}

/// What a detail endpoint's query selects, beyond the cycle.
#[derive(Default)]
struct Filter {
    bill_type: Option<i64>,
    charging_mode: Option<i64>,
    service: Option<String>,
    trade_id: Option<String>,
    resource_id: Option<String>,
    date_begin: Option<String>,
    date_end: Option<String>,
    include_zero: Option<bool>,
    status: Option<i64>,
}

impl Filter {
    /// The filters every detail endpoint shares; `names` are its names for the bill type, the
    /// charging mode and the service.
    fn read(call: &Call, [bill_type, charging_mode, service]: [&str; 3]) -> Result<Filter, BssError> {
        let date = |name: &str| -> Result<Option<String>, BssError> {
            let Some(text) = call.query_str(name) else { return Ok(None) };
            match Timestamp::parse(&format!("{text}T00:00:00Z")) {
                Ok(_) if text.len() == 10 => Ok(Some(text.to_owned())),
                _ => Err(BssError::invalid(format!("{name} must be a date YYYY-MM-DD, got {text:?}"))),
            }
        };
        let include_zero = match call.query_str("include_zero_record") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(text) => return Err(BssError::invalid(format!("include_zero_record must be true or false, got {text:?}"))),
        };
        Ok(Filter {
            bill_type: call.query_int(bill_type)?,
            charging_mode: call.query_int(charging_mode)?,
            service: call.query_str(service).map(str::to_owned),
            trade_id: call.query_str("trade_id").map(str::to_owned),
            resource_id: call.query_str("resource_id").map(str::to_owned),
            date_begin: date("bill_date_begin")?,
            date_end: date("bill_date_end")?,
            include_zero,
            status: None,
        })
    }

    fn keeps(&self, row: &Row) -> bool {
        let date = row.date();
        self.bill_type.is_none_or(|wanted| wanted == row.type_number())
            && self.charging_mode.is_none_or(|wanted| wanted == row.charging_mode())
            && self.service.as_ref().is_none_or(|wanted| Some(wanted) == row.service.as_ref())
            && self.trade_id.as_ref().is_none_or(|wanted| *wanted == row.id())
            && self.resource_id.as_ref().is_none_or(|wanted| Some(wanted) == row.order().as_ref())
            && self.date_begin.as_ref().is_none_or(|begin| date >= *begin)
            && self.date_end.as_ref().is_none_or(|end| date <= *end)
            && (self.include_zero != Some(false) || row.parts.due != 0)
            && self.status.is_none_or(|wanted| wanted == row.status())
    }
}

/// The party whose own bills a customer-side endpoint reads: `sub_customer_id` when given, else
/// the caller.
fn own_party(call: &Call) -> String {
    call.query_str("sub_customer_id").map_or_else(|| call.actor.to_string(), |customer| format!("customer:{customer}"))
}

/// The rows of one party in the cycle named by `cycle_name` that `filter` keeps, and the page asked for.
async fn selected(call: &Call, party: String, cycle_name: &str, filter: &Filter) -> Result<(usize, Vec<Row>), BssError> {
    let cycle = call.query_required(cycle_name)?.to_owned();
    let (offset, limit) = call.paging()?;
    let rows: Vec<Row> = rows_of(call, &[party], &cycle).await?.into_iter().filter(|row| filter.keeps(row)).collect();
    Ok((rows.len(), page_of(rows, (offset, limit))))
}

#[derive(Serialize)]
struct FeeRecord {
    bill_cycle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_type_code: Option<String>,
    charging_mode: i64,
    consume_time: String,
    trade_time: String,
    provider_type: i64,
    trade_id: String,
    id: String,
    bill_type: i64,
    status: i64,
    official_amount: Num,
    official_discount_amount: Num,
    erase_amount: Num,
    consume_amount: Num,
    cash_amount: Num,
    credit_amount: Num,
    coupon_amount: Num,
    flexipurchase_coupon_amount: Num,
    stored_value_card_amount: Num,
    bonus_amount: Num,
    debt_amount: Num,
    writeoff_amount: Num,
}

#[derive(Serialize)]
struct FeeRecords {
    total_count: usize,
    records: Vec<FeeRecord>,
    currency: &'static str,
}

impl FeeRecord {
    fn of(row: &Row) -> FeeRecord {
        let parts = &row.parts;
        FeeRecord {
            bill_cycle: row.cycle(),
            customer_id: row.customer.clone(),
            service_type_code: row.service.clone(),
            charging_mode: row.charging_mode(),
            consume_time: row.at(),
            trade_time: row.at(),
            provider_type: 1,
            trade_id: row.id(),
            id: row.id(),
            bill_type: row.type_number(),
            status: row.status(),
            official_amount: num(parts.official()),
            official_discount_amount: num(parts.discount),
            erase_amount: num(parts.erase),
            consume_amount: num(parts.due),
            cash_amount: num(parts.money),
            credit_amount: num(parts.credit),
            coupon_amount: num(parts.coupon),
            flexipurchase_coupon_amount: Num::zero(),
            stored_value_card_amount: Num::zero(),
            bonus_amount: Num::zero(),
            debt_amount: num(parts.debt),
            writeoff_amount: Num::zero(),
        }
    }
}

/// A customer's fee records (流水账单): the caller's own bills, or `sub_customer_id`'s.
pub(crate) async fn list_customer_bills_fee_records(call: Call) -> Answer {
    let filter = Filter { status: call.query_int("status")?, ..Filter::read(&call, ["bill_type", "charging_mode", "service_type_code"])? };
    let (total, page) = selected(&call, own_party(&call), "bill_cycle", &filter).await?;
    reply(&FeeRecords { total_count: total, records: page.iter().map(FeeRecord::of).collect(), currency: CURRENCY })
}

/// The `customers` row of `customer` among the caller's customers (or `partner`'s), when listed.
async fn customer_row(call: &Call, customer: &str, partner: Option<&str>) -> Result<Option<Value>, BssError> {
    let mut offset = 0;
    loop {
        let mut request = json!({"op": "customers", "offset": offset, "limit": PAGE_LIMIT_MAX});
        if let Some(partner) = partner {
            request["partner"] = json!(partner);
        }
        let answer = call.query(request).await?;
        let rows = answer.get("customers").and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(row) = rows.iter().find(|row| row.get("customer").and_then(Value::as_str) == Some(customer)) {
            return Ok(Some(row.clone()));
        }
        offset += rows.len();
        if rows.is_empty() || offset as u64 >= answer.get("total_count").and_then(Value::as_u64).unwrap_or(0) {
            return Ok(None);
        }
    }
}

/// The API's association type: "1" referral, "2" resale.
fn association_type(association: Option<&str>) -> Option<String> {
    match association {
        Some("referral") => Some("1".to_owned()),
        Some("resale") => Some("2".to_owned()),
        _ => None,
    }
}

#[derive(Serialize)]
struct SubFeeRecord {
    bill_cycle: String,
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    association_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_type_code: Option<String>,
    charging_mode: i64,
    trade_time: String,
    trade_id: String,
    id: String,
    bill_detail_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_id: Option<String>,
    consume_time: String,
    official_amount: Num,
    official_discount_amount: Num,
    payment_amount: Num,
    cash_amount: Num,
    credit_amount: Num,
    coupon_amount: Num,
    flexipurchase_coupon_amount: Num,
    stored_value_card_amount: Num,
    debt_amount: Num,
    writeoff_amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_manager_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_type: Option<i64>,
}

#[derive(Serialize)]
struct SubFeeRecords {
    total_count: usize,
    currency: &'static str,
    fee_records: Vec<SubFeeRecord>,
}

impl SubFeeRecord {
    fn of(row: &Row, customer: &str, listed: Option<&Value>) -> SubFeeRecord {
        let (parts, listed_text) = (&row.parts, |name: &str| listed.and_then(|value| value.get(name)?.as_str()).map(str::to_owned));
        SubFeeRecord {
            bill_cycle: row.cycle(),
            customer_id: customer.to_owned(),
            association_type: association_type(listed_text("association").as_deref()),
            service_type_code: row.service.clone(),
            charging_mode: row.charging_mode(),
            trade_time: row.at(),
            trade_id: row.id(),
            id: row.id(),
            bill_detail_type: row.type_number(),
            resource_id: row.order(),
            consume_time: row.at(),
            official_amount: num(parts.official()),
            official_discount_amount: num(parts.discount),
            payment_amount: num(parts.due),
            cash_amount: num(parts.money),
            credit_amount: num(parts.credit),
            coupon_amount: num(parts.coupon),
            flexipurchase_coupon_amount: Num::zero(),
            stored_value_card_amount: Num::zero(),
            debt_amount: num(parts.debt),
            writeoff_amount: Num::zero(),
            account_manager_id: listed_text("manager"),
            partner_id: listed_text("partner"),
            order_type: row.order_type(),
        }
    }
}

/// A partner reads one customer's resource fee records; `indirect_partner_id`,
/// `association_type` and `account_manager_id` select on the customer's row of `customers`.
pub(crate) async fn list_sub_customer_bill_detail(call: Call) -> Answer {
    let customer = call.query_required("customer_id")?.to_owned();
    let filter = Filter::read(&call, ["bill_detail_type", "charging_mode", "service_type_code"])?;
    let (total, page) = selected(&call, format!("customer:{customer}"), "bill_cycle", &filter).await?;
    let partner = call.indirect_partner()?;
    let listed = customer_row(&call, &customer, partner.as_deref()).await?;
    let field = |name: &str| listed.as_ref().and_then(|row| row.get(name)?.as_str()).map(str::to_owned);
    let kept = (partner.is_none() || listed.is_some())
        && call
            .query_str("association_type")
            .is_none_or(|wanted| Some(wanted) == association_type(field("association").as_deref()).as_deref())
        && call.query_str("account_manager_id").is_none_or(|wanted| Some(wanted) == field("manager").as_deref());
    let (total, page) = if kept { (total, page) } else { (0, Vec::new()) };
    let fee_records = page.iter().map(|row| SubFeeRecord::of(row, &customer, listed.as_ref())).collect();
    reply(&SubFeeRecords { total_count: total, currency: CURRENCY, fee_records })
}

#[derive(Serialize)]
struct SelfFeeRecord {
    bill_date: String,
    bill_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_service_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_id: Option<String>,
    trade_id: String,
    id: String,
    trade_time: String,
    charge_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<String>,
    official_amount: Num,
    discount_amount: Num,
    amount: Num,
    cash_amount: Num,
    credit_amount: Num,
    coupon_amount: Num,
    flexipurchase_coupon_amount: Num,
    stored_card_amount: Num,
    bonus_amount: Num,
    debt_amount: Num,
    adjustment_amount: Num,
    measure_id: i64,
    consume_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    relative_order_id: Option<String>,
}

#[derive(Serialize)]
struct SelfFeeRecords {
    fee_records: Vec<SelfFeeRecord>,
    total_count: usize,
    currency: &'static str,
}

impl SelfFeeRecord {
    fn of(row: &Row) -> SelfFeeRecord {
        let parts = &row.parts;
        SelfFeeRecord {
            bill_date: row.date(),
            bill_type: row.type_number(),
            customer_id: row.customer.clone(),
            cloud_service_type: row.service.clone(),
            resource_id: row.order(),
            trade_id: row.id(),
            id: row.id(),
            trade_time: row.at(),
            charge_mode: row.charging_mode().to_string(),
            order_id: row.order().map(|_| row.id()),
            official_amount: num(parts.official()),
            discount_amount: num(parts.discount),
            amount: num(parts.due),
            cash_amount: num(parts.money),
            credit_amount: num(parts.credit),
            coupon_amount: num(parts.coupon),
            flexipurchase_coupon_amount: Num::zero(),
            stored_card_amount: Num::zero(),
            bonus_amount: Num::zero(),
            debt_amount: num(parts.debt),
            adjustment_amount: Num::zero(),
            measure_id: YUAN,
            consume_time: row.at(),
            relative_order_id: row.relative_order(),
        }
    }
}

/// A customer's own resource fee records (or `sub_customer_id`'s), bill by bill.
pub(crate) async fn list_customerself_resource_records(call: Call) -> Answer {
    if let Some(statistic_type) = call.query_int("statistic_type")?.filter(|statistic_type| *statistic_type != 3) {
        return Err(BssError::invalid(format!("statistic_type {statistic_type} is not served: only 3 (bill by bill)")));
    }
    let filter = Filter::read(&call, ["bill_type", "charge_mode", "cloud_service_type"])?;
    let (total, page) = selected(&call, own_party(&call), "cycle", &filter).await?;
    reply(&SelfFeeRecords { fee_records: page.iter().map(SelfFeeRecord::of).collect(), total_count: total, currency: CURRENCY })
}

/// Sums of rows per key, in the order the keys first appear.
fn sums<K: PartialEq>(rows: &[Row], key: impl Fn(&Row) -> K) -> Vec<(K, Parts)> {
    let mut groups: Vec<(K, Parts)> = Vec::new();
    for row in rows {
        let wanted = key(row);
        match groups.iter_mut().find(|(existing, _)| *existing == wanted) {
            Some((_, parts)) => parts.add(&row.parts),
            None => groups.push((wanted, row.parts)),
        }
    }
    groups
}

#[derive(Serialize)]
struct BillSum {
    bill_cycle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_type_code: Option<String>,
    charging_mode: i64,
    official_amount: Num,
    official_discount_amount: Num,
    truncated_amount: Num,
    consume_amount: Num,
    coupon_amount: Num,
    flexipurchase_coupon_amount: Num,
    stored_value_card_amount: Num,
    debt_amount: Num,
    writeoff_amount: Num,
    cash_amount: Num,
    credit_amount: Num,
    measure_id: i64,
    bill_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
}

#[derive(Serialize)]
struct MonthlySum {
    total_count: usize,
    bill_sums: Vec<BillSum>,
    consume_amount: Num,
    debt_amount: Num,
    coupon_amount: Num,
    flexipurchase_coupon_amount: Num,
    stored_value_card_amount: Num,
    cash_amount: Num,
    credit_amount: Num,
    writeoff_amount: Num,
    measure_id: i64,
    currency: &'static str,
}

/// The monthly-sum bill type: 1 consumption, 2 refund, 3 adjustment.
fn sum_type(row: &Row) -> i64 {
    match row.type_number() {
        4 => 2,
        9 | 16 => 3,
        _ => 1,
    }
}

/// A customer's sums of the cycle (or `sub_customer_id`'s), per service, charging mode and
/// bill type (1 consumption, 2 refund, 3 adjustment), with the totals of every row.
pub(crate) async fn show_customer_monthly_sum(call: Call) -> Answer {
    let cycle = call.query_required("bill_cycle")?.to_owned();
    let paging = call.paging()?;
    let service = call.query_str("service_type_code");
    let rows: Vec<Row> = rows_of(&call, &[own_party(&call)], &cycle)
        .await?
        .into_iter()
        .filter(|row| service.is_none_or(|wanted| Some(wanted) == row.service.as_deref()))
        .collect();
    let mut total = Parts::default();
    rows.iter().for_each(|row| total.add(&row.parts));
    let groups = sums(&rows, |row| (row.customer.clone(), row.service.clone(), row.charging_mode(), sum_type(row)));
    let total_count = groups.len();
    let bill_sums = page_of(groups, paging)
        .into_iter()
        .map(|((customer, service, mode, bill_type), parts)| BillSum {
            bill_cycle: cycle.clone(),
            service_type_code: service,
            charging_mode: mode,
            official_amount: num(parts.official()),
            official_discount_amount: num(parts.discount),
            truncated_amount: num(parts.erase),
            consume_amount: num(parts.due),
            coupon_amount: num(parts.coupon),
            flexipurchase_coupon_amount: Num::zero(),
            stored_value_card_amount: Num::zero(),
            debt_amount: num(parts.debt),
            writeoff_amount: Num::zero(),
            cash_amount: num(parts.money),
            credit_amount: num(parts.credit),
            measure_id: YUAN,
            bill_type,
            customer_id: customer,
        })
        .collect();
    reply(&MonthlySum {
        total_count,
        bill_sums,
        consume_amount: num(total.due),
        debt_amount: num(total.debt),
        coupon_amount: num(total.coupon),
        flexipurchase_coupon_amount: Num::zero(),
        stored_value_card_amount: Num::zero(),
        cash_amount: num(total.money),
        credit_amount: num(total.credit),
        writeoff_amount: Num::zero(),
        measure_id: YUAN,
        currency: CURRENCY,
    })
}

/// The customers of the caller (or of `partner`) with bills in `cycle`: the rows of
/// `consumption_summary` with any consumption, refund or adjustment.
async fn consuming_customers(call: &Call, cycle: &str, partner: Option<&str>) -> Result<Vec<String>, BssError> {
    let mut request = json!({"op": "consumption_summary", "cycle": cycle});
    if let Some(partner) = partner {
        request["partner"] = json!(partner);
    }
    let answer = call.query(request).await?;
    let rows = answer.get("customers").and_then(Value::as_array).cloned().unwrap_or_default();
    let active = |row: &Value| {
        ["consumption", "refunds", "adjustments"]
            .iter()
            .any(|name| row.get(name).and_then(Value::as_str).and_then(units).is_some_and(|value| value != 0))
    };
    Ok(rows.iter().filter(|row| active(row)).filter_map(|row| row.get("customer")?.as_str().map(str::to_owned)).collect())
}

#[derive(Serialize)]
struct AccountDetail {
    balance_type: &'static str,
    amount: Num,
    bill_type: String,
}

#[derive(Serialize)]
struct SubCustomerSum {
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_service_type: Option<String>,
    bill_type: String,
    charge_mode: String,
    amount: Num,
    debt_amount: Num,
    adjustment_amount: Num,
    discount_amount: Num,
    measure_id: i64,
    account_details: Vec<AccountDetail>,
}

#[derive(Serialize)]
struct SubCustomerSums {
    bill_sums: Vec<SubCustomerSum>,
    count: usize,
    currency: &'static str,
}

/// The partner-side bill type: "0" normal, "1" unsubscribe (refunds), "2" write-off (adjustments).
fn partner_sum_type(row: &Row) -> String {
    (sum_type(row) - 1).to_string()
}

impl SubCustomerSum {
    fn of((customer, service, bill_type): (String, Option<String>, String), parts: &Parts, charge_mode: i64) -> SubCustomerSum {
        let account_details =
            [("BALANCE_TYPE_DEBIT", parts.money), ("BALANCE_TYPE_CREDIT", parts.credit), ("BALANCE_TYPE_COUPON", parts.coupon)]
                .into_iter()
                .filter(|(_, amount)| *amount != 0)
                .map(|(balance_type, amount)| AccountDetail { balance_type, amount: num(amount), bill_type: bill_type.clone() })
                .collect();
        SubCustomerSum {
            customer_id: customer,
            cloud_service_type: service,
            bill_type,
            charge_mode: charge_mode.to_string(),
            amount: num(parts.due),
            debt_amount: num(parts.debt),
            adjustment_amount: Num::zero(),
            discount_amount: num(parts.discount),
            measure_id: YUAN,
            account_details,
        }
    }
}

/// A partner's customers' sums of a cycle and charging mode, per customer, service and bill type:
/// `customer_id`'s, else those of every customer of the caller (or `indirect_partner_id`) with bills.
pub(crate) async fn list_subcustomer_monthly_bills(call: Call) -> Answer {
    let cycle = call.query_required("cycle")?.to_owned();
    let text = call.query_required("charge_mode")?;
    let charge_mode: i64 = text.parse().map_err(|_| BssError::invalid(format!("charge_mode must be an integer, got {text:?}")))?;
    let paging = call.paging()?;
    let customers = match call.query_str("customer_id") {
        Some(customer) => vec![customer.to_owned()],
        None => consuming_customers(&call, &cycle, call.indirect_partner()?.as_deref()).await?,
    };
    let parties: Vec<String> = customers.iter().map(|customer| format!("customer:{customer}")).collect();
    let (service, bill_type) = (call.query_str("cloud_service_type"), call.query_str("bill_type"));
    let rows: Vec<Row> = rows_of(&call, &parties, &cycle)
        .await?
        .into_iter()
        .filter(|row| row.charging_mode() == charge_mode)
        .filter(|row| service.is_none_or(|wanted| Some(wanted) == row.service.as_deref()))
        .filter(|row| bill_type.is_none_or(|wanted| wanted == partner_sum_type(row)))
        .collect();
    let groups = sums(&rows, |row| (row.customer.clone().unwrap_or_default(), row.service.clone(), partner_sum_type(row)));
    let count = groups.len();
    let bill_sums = page_of(groups, paging).into_iter().map(|(key, parts)| SubCustomerSum::of(key, &parts, charge_mode)).collect();
    reply(&SubCustomerSums { bill_sums, count, currency: CURRENCY })
}

#[derive(Serialize)]
struct SubCustomerId {
    customer_id: String,
}

#[derive(Serialize)]
struct ConsumeSubCustomers {
    sub_customers: Vec<SubCustomerId>,
    total_count: usize,
}

/// The caller's customers with bills in `bill_cycle`.
pub(crate) async fn list_consume_sub_customers(call: Call) -> Answer {
    let cycle = call.body_required("bill_cycle")?.to_owned();
    let paging = call.paging()?;
    let customers = consuming_customers(&call, &cycle, None).await?;
    let total_count = customers.len();
    let sub_customers = page_of(customers, paging).into_iter().map(|customer_id| SubCustomerId { customer_id }).collect();
    reply(&ConsumeSubCustomers { sub_customers, total_count })
}
