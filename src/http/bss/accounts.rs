//! The BSS door: accounts. Customers and resellers (`customers`, `resellers`,
//! `register_customer`), balances (`balance`), allocation and recovery (`allocate`, `recover`),
//! adjust records (`adjust_records`) and account change records (`statement`).

use super::{Answer, BssError, Call, Num, instant, page_of, reply};
use crate::amount::Amount;
use crate::error::ErrorCode;
use crate::id::Party;
use crate::time::Timestamp;
use hyper::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

/// Every amount is money (CNY), in yuan (measure 1).
const CURRENCY: &str = "CNY";
const MEASURE_YUAN: i64 = 1;
/// The CBC code the API answers for an `xaccount_id` already registered (bss-api.md section 4).
const CBC_ACCOUNT_EXISTS: &str = "CBC.99000050";

/// A row field holding text; empty when absent or null.
fn text<'a>(row: &'a Value, name: &str) -> &'a str {
    row.get(name).and_then(Value::as_str).unwrap_or("")
}

/// A row field holding text, when it has one.
fn optional(row: &Value, name: &str) -> Option<String> {
    row.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A party's bare id: `C1` for `customer:C1`.
fn bare(party: &str) -> &str {
    party.split_once(':').map_or(party, |(_, id)| id)
}

/// Whether an error is this engine code (several codes share one CBC code).
fn is(error: &BssError, code: ErrorCode) -> bool {
    error.message.strip_prefix(code.name()).is_some_and(|rest| rest.starts_with(':'))
}

/// An amount of a protocol result (non-negative, two decimals).
fn amount(result: &Value, name: &str) -> Result<Amount, BssError> {
    Amount::parse_non_negative(text(result, name))
        .map_err(|_| BssError::code(ErrorCode::Storage, format!("the ledger answered an unreadable {name}")))
}

fn sum(left: Result<Amount, BssError>, right: Result<Amount, BssError>, subtract: bool) -> Result<Num, BssError> {
    let (left, right) = (left?, right?);
    let total = if subtract { left.checked_sub(right) } else { left.checked_add(right) };
    total.map(|total| Num::of(&total.to_string())).map_err(|_| BssError::code(ErrorCode::Storage, "an amount overflowed"))
}

/// A time parameter (`YYYY-MM-DDTHH:MM:SSZ`) the door compares itself.
fn time(text: Option<&str>, name: &str) -> Result<Option<Timestamp>, BssError> {
    text.map(|text| Timestamp::parse(text).map_err(|_| BssError::invalid(format!("{name} must be a time such as 2026-01-05T00:00:00Z"))))
        .transpose()
}

/// A time window of the API's body fields `<prefix>_begin` and `<prefix>_end`.
type Window = (Option<Timestamp>, Option<Timestamp>);

fn window(call: &Call, prefix: &str) -> Result<Window, BssError> {
    let (begin, end) = (format!("{prefix}_begin"), format!("{prefix}_end"));
    Ok((time(call.body_str(&begin)?, &begin)?, time(call.body_str(&end)?, &end)?))
}

/// Whether a row's time (RFC 3339) lies within `[begin, end]`.
fn within(at: &str, (begin, end): Window) -> bool {
    match Timestamp::parse(at) {
        Ok(at) => begin.is_none_or(|begin| at >= begin) && end.is_none_or(|end| at <= end),
        Err(_) => begin.is_none() && end.is_none(),
    }
}

/// A row filter the door applies where the API has a filter the protocol query lacks.
type Keep<'a> = &'a (dyn Fn(&Value) -> bool + Sync);

/// One page of a listing and its total: paged by the protocol query itself when the door has no
/// filter of its own, else read whole, filtered and paged here.
async fn listing(call: &Call, mut fields: Value, key: &str, keep: Option<Keep<'_>>) -> Result<(u64, Vec<Value>), BssError> {
    let (offset, limit) = call.paging()?;
    let Some(keep) = keep else {
        fields["offset"] = json!(offset);
        fields["limit"] = json!(limit);
        let result = call.query(fields).await?;
        let rows = result.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        return Ok((result.get("total_count").and_then(Value::as_u64).unwrap_or(0), rows));
    };
    let mut rows = call.all_rows(fields, key).await?;
    rows.retain(|row| keep(row));
    Ok((rows.len() as u64, page_of(rows, (offset, limit))))
}

/// The partner whose accounts a call reads, as a party: `indirect_partner_id`, else the
/// caller's own; the platform and customers must name one.
async fn partner_party(call: &Call) -> Result<String, BssError> {
    let partner = acting_partner(call).await?;
    let partner = partner
        .ok_or_else(|| BssError::code(ErrorCode::AccessDenied, format!("{} acts for no partner: name indirect_partner_id", call.actor)))?;
    Ok(format!("partner:{partner}"))
}

/// The calling customer: these endpoints read the caller's own accounts.
fn calling_customer(call: &Call) -> Result<String, BssError> {
    match &call.actor {
        Party::Customer(_) => Ok(call.actor.to_string()),
        other => {
            Err(BssError::code(ErrorCode::AccessDenied, format!("{other} is not a customer: only a customer reads its own accounts here")))
        }
    }
}

/// The partner a call reads or acts for: `indirect_partner_id`, else the caller's own.
async fn acting_partner(call: &Call) -> Result<Option<String>, BssError> {
    match call.indirect_partner()? {
        Some(partner) => Ok(Some(partner)),
        None => call.own_partner().await,
    }
}

#[derive(Serialize)]
struct CreatedCustomer {
    domain_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain_name: Option<String>,
}

/// `register_customer` under an id derived from the request id.
pub(crate) async fn create_sub_customer(call: Call) -> Answer {
    let customer = call.derived_id("customer");
    let mut fields = json!({"op": "register_customer", "customer": customer, "external_id": call.body_required("xaccount_id")?});
    match call.body_str("cooperation_type")? {
        None | Some("0") => {}
        Some("1") => fields["association"] = json!("referral"),
        Some(other) => {
            return Err(BssError::invalid(format!("cooperation_type must be \"0\" (resale) or \"1\" (referral), got {other:?}")));
        }
    }
    if let Some(partner) = acting_partner(&call).await? {
        fields["partner"] = json!(partner);
    }
    let name = call.body_str("domain_name")?.map(str::to_owned);
    if let Some(name) = &name {
        fields["name"] = json!(name);
    }
    call.command(fields).await.map_err(|error| {
        if is(&error, ErrorCode::AlreadyExists) {
            BssError { status: StatusCode::BAD_REQUEST, code: CBC_ACCOUNT_EXISTS, ..error }
        } else {
            error
        }
    })?;
    reply(&CreatedCustomer { domain_id: customer, domain_name: name })
}

#[derive(Serialize)]
struct AccountManager {
    account_name: String,
}

#[derive(Serialize)]
struct CustomerInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<String>,
    account_name: String,
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    association_type: Option<String>,
    account_managers: Vec<AccountManager>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xaccount_id: Option<String>,
}

impl CustomerInfo {
    fn of(row: &Value) -> CustomerInfo {
        let association = match text(row, "association") {
            "referral" => Some("1".to_owned()),
            "resale" => Some("2".to_owned()),
            _ => None,
        };
        CustomerInfo {
            customer: optional(row, "name"),
            account_name: optional(row, "name").unwrap_or_else(|| text(row, "customer").to_owned()),
            customer_id: text(row, "customer").to_owned(),
            associated_on: optional(row, "associated_at").map(|at| instant(&at)),
            association_type: association,
            account_managers: optional(row, "manager").map(|manager| AccountManager { account_name: manager }).into_iter().collect(),
            xaccount_id: optional(row, "external_id"),
        }
    }
}

#[derive(Serialize)]
struct SubCustomers {
    customer_infos: Vec<CustomerInfo>,
    count: u64,
}

/// `customers` of the caller (or `indirect_partner_id`), with the API's own filters.
pub(crate) async fn list_sub_customers(call: Call) -> Answer {
    let mut fields = json!({"op": "customers"});
    // A customer manager may not list operators, so its partner stays unknown: the engine then
    // lists only the customers it manages, which are all its partner's.
    let partner = match acting_partner(&call).await {
        Err(error) if is(&error, ErrorCode::AccessDenied) && matches!(call.actor, Party::Operator(_)) => None,
        other => other?,
    };
    if let Some(partner) = partner {
        fields["partner"] = json!(partner);
    }
    match call.body_str("association_type")? {
        None => {}
        Some("1") => fields["association"] = json!("referral"),
        Some("2") => fields["association"] = json!("resale"),
        Some(other) => return Err(BssError::invalid(format!("association_type must be \"1\" or \"2\", got {other:?}"))),
    }
    let (id, label) = (call.body_str("customer_id")?, call.body_str("label")?);
    let (account_name, name) = (call.body_str("account_name")?, call.body_str("customer")?);
    let window = window(&call, "associated_on")?;
    let keep = |row: &Value| {
        let info = CustomerInfo::of(row);
        label.is_none()
            && id.is_none_or(|id| info.customer_id == id)
            && account_name.is_none_or(|wanted| info.account_name.contains(wanted))
            && name.is_none_or(|wanted| info.customer.as_deref().is_some_and(|name| name.contains(wanted)))
            && (window == (None, None) || within(text(row, "associated_at"), window))
    };
    let filtered = id.is_some() || label.is_some() || account_name.is_some() || name.is_some() || window != (None, None);
    let (count, rows) = listing(&call, fields, "customers", filtered.then_some(&keep as Keep<'_>)).await?;
    reply(&SubCustomers { customer_infos: rows.iter().map(CustomerInfo::of).collect(), count })
}

#[derive(Serialize)]
struct IndirectPartner {
    indirect_partner_id: String,
    account_name: String,
    associated_on: String,
}

#[derive(Serialize)]
struct IndirectPartners {
    count: u64,
    indirect_partners: Vec<IndirectPartner>,
}

/// `resellers` of the calling distributor, with the API's own filters.
pub(crate) async fn list_indirect_partners(call: Call) -> Answer {
    let (id, account_name) = (call.body_str("indirect_partner_id")?, call.body_str("account_name")?);
    let window = window(&call, "associated_on")?;
    let keep = |row: &Value| {
        let partner = text(row, "partner");
        id.is_none_or(|id| partner == id)
            && account_name.is_none_or(|wanted| partner.contains(wanted))
            && (window == (None, None) || within(text(row, "registered_at"), window))
    };
    let filtered = id.is_some() || account_name.is_some() || window != (None, None);
    let (count, rows) = listing(&call, json!({"op": "resellers"}), "resellers", filtered.then_some(&keep as Keep<'_>)).await?;
    let indirect_partners = rows
        .iter()
        .map(|row| IndirectPartner {
            indirect_partner_id: text(row, "partner").to_owned(),
            account_name: text(row, "partner").to_owned(),
            associated_on: instant(text(row, "registered_at")),
        })
        .collect();
    reply(&IndirectPartners { count, indirect_partners })
}

#[derive(Serialize)]
struct AccountBalance {
    account_id: String,
    account_type: i64,
    amount: Num,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    designated_amount: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit_amount: Option<Num>,
    measure_id: i64,
}

impl AccountBalance {
    fn of(party: &str, account: &str, account_type: i64, amount: Num) -> AccountBalance {
        let account_id = format!("{party}:{account}");
        AccountBalance {
            account_id,
            account_type,
            amount,
            currency: CURRENCY,
            designated_amount: None,
            credit_amount: None,
            measure_id: MEASURE_YUAN,
        }
    }
}

#[derive(Serialize)]
struct PartnerBalances {
    account_balances: Vec<AccountBalance>,
}

/// `balance` of the caller's partner (or `indirect_partner_id`): 1 cash, 2 credit.
pub(crate) async fn list_partner_balances(call: Call) -> Answer {
    let party = partner_party(&call).await?;
    let result = call.query(json!({"op": "balance", "party": party})).await?;
    let mut cash = AccountBalance::of(&party, "cash", 1, Num::field(&result, "cash"));
    cash.designated_amount = Some(Num::field(&result, "held"));
    let mut credit = AccountBalance::of(&party, "credit", 2, sum(amount(&result, "credit_limit"), amount(&result, "credit_used"), true)?);
    credit.credit_amount = Some(Num::field(&result, "credit_limit"));
    reply(&PartnerBalances { account_balances: vec![cash, credit] })
}

#[derive(Serialize)]
struct CustomerBalances {
    account_balances: Vec<AccountBalance>,
    debt_amount: Num,
    measure_id: i64,
    currency: &'static str,
}

/// `balance` of the calling customer: 0 its own cash, 1 what its partner allocated.
pub(crate) async fn show_customer_account_balances(call: Call) -> Answer {
    let party = calling_customer(&call)?;
    let result = call.query(json!({"op": "balance", "party": party})).await?;
    let mut cash = AccountBalance::of(&party, "cash", 0, Num::field(&result, "cash"));
    cash.designated_amount = Some(Num::field(&result, "held"));
    let mut account_balances = vec![cash];
    // A resale customer's partner funds (and anything still allocated, which only a resale
    // association can hold) are the type 1 account.
    if text(&result, "association") == "resale" || !amount(&result, "allocated")?.is_zero() {
        account_balances.push(AccountBalance::of(&party, "allocated", 1, Num::field(&result, "allocated")));
    }
    reply(&CustomerBalances { account_balances, debt_amount: Num::field(&result, "arrears"), measure_id: MEASURE_YUAN, currency: CURRENCY })
}

#[derive(Serialize)]
struct CustomerBalance {
    customer_id: String,
    debt_amount: Num,
    amount: Num,
    currency: &'static str,
    measure_id: i64,
}

#[derive(Serialize)]
struct CustomersBalances {
    customer_balances: Vec<CustomerBalance>,
}

/// The ids of the referral customers the caller (or `indirect_partner_id`) may list.
async fn referral_customers(call: &Call) -> Result<Vec<String>, BssError> {
    let mut fields = json!({"op": "customers", "association": "referral"});
    if let Some(partner) = call.indirect_partner()? {
        fields["partner"] = json!(partner);
    }
    Ok(call.all_rows(fields, "customers").await?.iter().map(|row| text(row, "customer").to_owned()).collect())
}

/// `balance` of each listed customer; the caller's referral customers (whose balances are not
/// its to read) are left out.
pub(crate) async fn list_customers_balances_detail(call: Call) -> Answer {
    let mut ids = Vec::new();
    for info in call.body_objects("customer_infos")? {
        let id = info.get("customer_id").and_then(Value::as_str);
        ids.push(id.ok_or_else(|| BssError::invalid("customer_infos[].customer_id is required"))?.to_owned());
    }
    let answers = call.queries(ids.iter().map(|id| json!({"op": "balance", "party": format!("customer:{id}")})).collect()).await;
    let (mut customer_balances, mut referral) = (Vec::new(), None);
    for (id, answer) in ids.into_iter().zip(answers) {
        match answer {
            Ok(result) => customer_balances.push(CustomerBalance {
                debt_amount: Num::field(&result, "arrears"),
                amount: sum(amount(&result, "allocated"), amount(&result, "cash"), false)?,
                customer_id: id,
                currency: CURRENCY,
                measure_id: MEASURE_YUAN,
            }),
            Err(error) if is(&error, ErrorCode::AccessDenied) => {
                if referral.is_none() {
                    referral = Some(referral_customers(&call).await?);
                }
                if !referral.as_ref().is_some_and(|referral| referral.contains(&id)) {
                    return Err(error);
                }
            }
            Err(error) => return Err(error),
        }
    }
    reply(&CustomersBalances { customer_balances })
}

/// Moves money between the caller (or `behalf`, a reseller of the calling distributor) and a
/// customer or reseller: `allocate` / `recover`, whose transfer id is the request id.
async fn transfer(call: &Call, op: &str, counterparty: String, behalf: Option<String>) -> Result<String, BssError> {
    let mut fields = json!({"op": op, "amount": call.body_amount("amount")?});
    fields[if op == "allocate" { "to" } else { "from" }] = json!(counterparty);
    if let Some(partner) = behalf {
        fields["partner"] = json!(partner);
    }
    let result = call.command(fields).await?;
    Ok(result.get("transfer").and_then(Value::as_str).unwrap_or(call.request_id.as_str()).to_owned())
}

#[derive(Serialize)]
struct TransferId {
    transfer_id: String,
}

#[derive(Serialize)]
struct TransId {
    trans_id: String,
}

pub(crate) async fn update_customer_account_amount(call: Call) -> Answer {
    let customer = format!("customer:{}", call.body_required("customer_id")?);
    reply(&TransferId { transfer_id: transfer(&call, "allocate", customer, call.indirect_partner()?).await? })
}

pub(crate) async fn reclaim_to_partner_account(call: Call) -> Answer {
    let customer = format!("customer:{}", call.body_required("customer_id")?);
    reply(&TransId { trans_id: transfer(&call, "recover", customer, call.indirect_partner()?).await? })
}

pub(crate) async fn update_indirect_partner_account(call: Call) -> Answer {
    let reseller = format!("partner:{}", call.body_required("indirect_partner_id")?);
    reply(&TransferId { transfer_id: transfer(&call, "allocate", reseller, None).await? })
}

pub(crate) async fn reclaim_indirect_partner_account(call: Call) -> Answer {
    let reseller = format!("partner:{}", call.body_required("indirect_partner_id")?);
    reply(&TransId { trans_id: transfer(&call, "recover", reseller, None).await? })
}

/// The API's adjust operation types and the protocol's operations.
const OPERATION_TYPES: [(&str, &str); 4] = [
    ("SOURCE_OPERATION_BEADJUST", "allocate"),
    ("SOURCE_OPERATION_BERETRIEVE", "recover"),
    ("SOURCE_OPERATION_BEUNBIND", "unbind_reclaim"),
    ("SOURCE_OPERATION_BEREFUND", "refund_reclaim"),
];

#[derive(Serialize)]
struct AdjustRecord {
    customer_id: String,
    operation_type: String,
    amount: String,
    currency: &'static str,
    operation_time: String,
    measure_id: i64,
    trans_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    memo: Option<String>,
}

#[derive(Serialize)]
struct AdjustRecords {
    records: Vec<AdjustRecord>,
    total_count: u64,
}

/// `adjust_records` of the caller's partner (or `indirect_partner_id`).
pub(crate) async fn list_partner_adjust_records(call: Call) -> Answer {
    let mut fields = json!({"op": "adjust_records"});
    if let Some(partner) = acting_partner(&call).await? {
        fields["partner"] = json!(partner);
    }
    if let Some(wanted) = call.query_str("operation_type") {
        let found = OPERATION_TYPES.iter().find(|(name, _)| *name == wanted);
        let (_, operation) = found.ok_or_else(|| BssError::invalid(format!("operation_type {wanted:?} is not one of the API's")))?;
        fields["operation"] = json!(operation);
    }
    let filters = [("customer_id", "target"), ("trans_id", "transfer"), ("operation_time_begin", "from"), ("operation_time_end", "to")];
    for (parameter, field) in filters {
        if let Some(value) = call.query_str(parameter) {
            fields[field] = json!(if parameter == "customer_id" { format!("customer:{value}") } else { value.to_owned() });
        }
    }
    let (total_count, rows) = listing(&call, fields, "records", None).await?;
    let records = rows
        .iter()
        .map(|row| AdjustRecord {
            customer_id: bare(text(row, "target")).to_owned(),
            operation_type: OPERATION_TYPES.iter().find(|(_, op)| *op == text(row, "operation")).map_or("", |(name, _)| name).to_owned(),
            amount: text(row, "amount").to_owned(),
            currency: CURRENCY,
            operation_time: instant(text(row, "at")),
            measure_id: MEASURE_YUAN,
            trans_id: text(row, "transfer").to_owned(),
            memo: optional(row, "memo"),
        })
        .collect();
    reply(&AdjustRecords { records, total_count })
}

/// One line of a `statement`, as both change-record endpoints show it.
struct Change {
    account_change_id: String,
    trade_detail_type: String,
    trade_time: String,
    trade_id: String,
    change_amount: String,
    balance_after_change: String,
    /// `1` income, `2` expense.
    direction: String,
    counterparty: String,
    at: String,
}

/// `statement` lines of `party`'s account named by `balance_type`, filtered by the API's
/// `trade_type`, `trade_time_begin`/`_end` and the endpoint's own `keep`.
async fn changes(call: &Call, party: &str, keep: Option<Keep<'_>>) -> Result<(u64, Vec<Change>), BssError> {
    let account = match call.query_required("balance_type")? {
        "BALANCE_TYPE_DEBIT" => "cash",
        "BALANCE_TYPE_CREDIT" => "credit",
        other => return Err(BssError::invalid(format!("balance_type must be BALANCE_TYPE_DEBIT or BALANCE_TYPE_CREDIT, got {other:?}"))),
    };
    let mut fields = json!({"op": "statement", "party": party, "account": account});
    for (parameter, field) in [("trade_time_begin", "from"), ("trade_time_end", "to")] {
        if let Some(value) = call.query_str(parameter) {
            fields[field] = json!(value);
        }
    }
    let trade_type = call.query_str("trade_type");
    let both = |row: &Value| trade_type.is_none_or(|wanted| text(row, "op") == wanted) && keep.is_none_or(|keep| keep(row));
    let filtered = trade_type.is_some() || keep.is_some();
    let (total, rows) = listing(call, fields, "lines", filtered.then_some(&both as Keep<'_>)).await?;
    let mut lines: Vec<Change> = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq = row.get("seq").and_then(Value::as_u64).unwrap_or(0).to_string();
        // Lines of one command on one account share its seq: the later ones get a suffix.
        let earlier = lines.iter().filter(|line| line.account_change_id.split('-').next() == Some(seq.as_str())).count();
        let amount = text(row, "amount");
        lines.push(Change {
            account_change_id: if earlier == 0 { seq } else { format!("{seq}-{earlier}") },
            trade_detail_type: text(row, "op").to_owned(),
            trade_time: instant(text(row, "at")),
            trade_id: text(row, "request").to_owned(),
            change_amount: amount.to_owned(),
            balance_after_change: text(row, "balance_after").to_owned(),
            direction: if amount.starts_with('-') { "2" } else { "1" }.to_owned(),
            counterparty: text(row, "counterparty").to_owned(),
            at: text(row, "at").to_owned(),
        });
    }
    Ok((total, lines))
}

#[derive(Serialize)]
struct PartnerChange {
    account_change_id: String,
    trade_detail_type: String,
    trade_time: String,
    trade_id: String,
    change_amount: String,
    balance_after_change: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
}

#[derive(Serialize)]
struct PartnerChanges {
    total_count: u64,
    currency: &'static str,
    records: Vec<PartnerChange>,
}

/// `statement` of the caller's partner (or `indirect_partner_id`).
pub(crate) async fn list_partner_account_change_records(call: Call) -> Answer {
    let (total_count, lines) = changes(&call, &partner_party(&call).await?, None).await?;
    let records = lines
        .into_iter()
        .map(|line| PartnerChange {
            customer_id: line.counterparty.strip_prefix("customer:").map(str::to_owned),
            account_change_id: line.account_change_id,
            trade_detail_type: line.trade_detail_type,
            trade_time: line.trade_time,
            trade_id: line.trade_id,
            change_amount: line.change_amount,
            balance_after_change: line.balance_after_change,
            kind: line.direction,
        })
        .collect();
    reply(&PartnerChanges { total_count, currency: CURRENCY, records })
}

#[derive(Serialize)]
struct CustomerChange {
    account_change_id: String,
    trade_detail_type: String,
    trade_time: String,
    trade_id: String,
    change_amount: String,
    balance_after_change: String,
    revenue_expense_type: String,
    bill_cycle: String,
}

#[derive(Serialize)]
struct CustomerChanges {
    total_count: u64,
    currency: &'static str,
    records: Vec<CustomerChange>,
}

/// `statement` of the calling customer.
pub(crate) async fn list_customer_account_change_records(call: Call) -> Answer {
    let party = calling_customer(&call)?;
    let direction = call.query_str("revenue_expense_type");
    let trade_id = call.query_str("trade_id");
    // No line of the ledger is paid through a payment channel.
    let channel = call.query_str("payment_channel_id").or(call.query_str("payment_channel_no"));
    let keep = |row: &Value| {
        channel.is_none()
            && trade_id.is_none_or(|wanted| text(row, "request") == wanted)
            && direction.is_none_or(|wanted| wanted == if text(row, "amount").starts_with('-') { "2" } else { "1" })
    };
    let filtered = direction.is_some() || trade_id.is_some() || channel.is_some();
    let (total_count, lines) = changes(&call, &party, filtered.then_some(&keep as Keep<'_>)).await?;
    let records = lines
        .into_iter()
        .map(|line| CustomerChange {
            bill_cycle: Timestamp::parse(&line.at).map(Timestamp::cycle).unwrap_or_default(),
            account_change_id: line.account_change_id,
            trade_detail_type: line.trade_detail_type,
            trade_time: line.trade_time,
            trade_id: line.trade_id,
            change_amount: line.change_amount,
            balance_after_change: line.balance_after_change,
            revenue_expense_type: line.direction,
        })
        .collect();
    reply(&CustomerChanges { total_count, currency: CURRENCY, records })
}
