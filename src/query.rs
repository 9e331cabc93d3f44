//! Queries of SPEC.md section 4: current balances come from the in-memory state; history
//! (`as_of`, statements, adjust records) from the store's index tables.

use crate::amount::Amount;
use crate::domain::records::{Bill, BillType, Order, OrderStatus, Record, WithdrawalStatus};
use crate::domain::{self, AdjustRecord, Command, Index, PartyRecord, State, Transaction};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{Account, AccountKind, Posting};
use crate::protocol::{Page, Query, Request, Response, StatementAccount};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use serde_json::{Value, json};

/// Answers `query` for `request.actor`; time-dependent statuses are evaluated at `now` (the
/// query's `at`, or the engine clock).
pub(crate) fn answer(store: &Store, state: &State, request: &Request, query: &Query, now: Timestamp) -> Response {
    let actor = &request.actor;
    let result = match query {
        Query::Balance { party, as_of } => balance(store, state, actor, party, *as_of, now),
        Query::Order { order } => order_query(state, actor, order, now),
        Query::Invoiceable { party } => invoiceable_query(state, actor, party),
        Query::Invoice { invoice } => invoice_query(state, actor, invoice),
        Query::ConsumptionSummary { partner, cycle } => consumption_summary(state, actor, partner.as_ref(), cycle),
        Query::Orders { customer, status, page } => orders_query(state, actor, customer, *status, *page, now),
        Query::Bills { party, cycle, page } => bills_query(state, actor, party, cycle.as_deref(), *page),
        Query::Withdrawals { party, page } => withdrawals_query(state, actor, party, *page),
        Query::AdjustRecords { partner, target, operation, from, to, page } => {
            let filter = RecordFilter { partner: partner.as_ref(), target: target.as_ref(), operation: *operation, from: *from, to: *to };
            adjust_records(store, state, &request.actor, &filter, *page)
        }
        Query::Statement { party, account, from, to, page } => {
            statement(store, state, &request.actor, party, *account, (*from, *to), *page)
        }
    };
    match result {
        Ok(result) => Response::Answer { id: request.id.clone(), result },
        Err(rejection) => Response::Failed { id: request.id.as_ref().map(Id::to_string), rejection },
    }
}

fn storage(error: StoreError) -> Rejection {
    Rejection::new(ErrorCode::Storage, error.to_string())
}

const PLATFORM_ACCOUNTS: [(&str, AccountKind); 5] = [
    ("bank", AccountKind::Bank),
    ("revenue", AccountKind::Revenue),
    ("coupon_issuance", AccountKind::CouponIssuance),
    ("coupon_redeemed", AccountKind::CouponRedeemed),
    ("coupon_expired", AccountKind::CouponExpired),
];

fn balance(
    store: &Store,
    state: &State,
    actor: &Party,
    party: &Party,
    as_of: Option<Timestamp>,
    now: Timestamp,
) -> Result<Value, Rejection> {
    domain::authorize_query(state, actor, party)?;
    // Read balances either now (memory) or right after the last transaction at or before `as_of`.
    let seq = match as_of {
        Some(as_of) => Some(store.last_seq_at(as_of, state.head().seq).map_err(storage)?),
        None => None,
    };
    let read = |account: Account| -> Result<Amount, Rejection> {
        match seq {
            Some(seq) => store.balance_at(&account, seq).map_err(storage),
            None => Ok(state.balance(&account)),
        }
    };
    if *party == Party::Platform {
        let mut accounts = serde_json::Map::new();
        for (name, kind) in PLATFORM_ACCOUNTS {
            accounts.insert(name.to_owned(), json!(read(Account::platform(kind))?.to_string()));
        }
        return Ok(json!({"party": "platform", "accounts": accounts}));
    }
    let record: PartyRecord = match seq {
        Some(seq) => match store.record_at(&party.to_string(), seq).map_err(storage)? {
            Some(Record::Party(_, record)) => record,
            _ => return reject(ErrorCode::NotFound, format!("{party} was not registered at that time")),
        },
        None => state.party(party).cloned().ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("{party} is not registered")))?,
    };
    let at = as_of.unwrap_or(now);
    let mut quotas = Vec::new();
    for id in state.indexed(Index::Quotas, party) {
        let quota = match seq {
            Some(seq) => match store.record_at(&format!("quota:{id}"), seq).map_err(storage)? {
                Some(Record::Quota(_, quota)) => quota,
                _ => continue,
            },
            None => state.quota(id).cloned().ok_or_else(|| storage_gap(id))?,
        };
        let balance = read(Account::new(party.clone(), AccountKind::Quota(id.clone())))?;
        quotas.push(json!({"quota": id.as_str(), "kind": quota.kind.name(), "balance": balance.to_string(),
            "valid_until": quota.validity.valid_until.to_string(), "status": quota.status(at).name()}));
    }
    let mut coupons = Vec::new();
    for id in state.indexed(Index::Coupons, party) {
        let coupon = match seq {
            Some(seq) => match store.record_at(&format!("coupon:{id}"), seq).map_err(storage)? {
                Some(Record::Coupon(_, coupon)) => coupon,
                _ => continue,
            },
            None => state.coupon(id).cloned().ok_or_else(|| storage_gap(id))?,
        };
        let remaining = read(Account::new(party.clone(), AccountKind::Coupon(id.clone())))?;
        coupons.push(json!({"coupon": id.as_str(), "kind": coupon.kind.name(), "face_value": coupon.face_value.to_string(),
            "remaining": remaining.to_string(), "valid_until": coupon.validity.valid_until.to_string(),
            "status": coupon.status(at, remaining).name()}));
    }
    let cash = read(Account::cash(party))?;
    let credit_used = read(Account::credit(party))?.checked_neg()?;
    let arrears = read(Account::arrears(party))?.checked_neg()?;
    Ok(json!({
        "party": party.to_string(),
        "cash": cash.to_string(),
        "held": record.held.to_string(),
        "available": cash.checked_sub(record.held)?.to_string(),
        "credit_limit": record.credit_limit.to_string(),
        "credit_used": credit_used.to_string(),
        "arrears": arrears.to_string(),
        "quotas": quotas,
        "coupons": coupons,
    }))
}

fn storage_gap(id: &Id) -> Rejection {
    Rejection::new(ErrorCode::Storage, format!("index names {id}, which has no record"))
}

/// `pending_payment` past the deadline is shown as `expired`.
fn shown_status(order: &Order, now: Timestamp) -> &'static str {
    if order.status == OrderStatus::PendingPayment && now > order.pay_deadline { "expired" } else { order.status.name() }
}

fn order_json(id: &Id, order: &Order, now: Timestamp) -> Value {
    json!({
        "order": id.as_str(),
        "customer": order.customer.as_str(),
        "combined": order.combined.as_ref().map(Id::as_str),
        "kind": order.kind.name(),
        "service": order.service.as_ref().map(Id::as_str),
        "amount": order.amount.to_string(),
        "status": shown_status(order, now),
        "pay_deadline": order.pay_deadline.to_string(),
        "payer": order.payer.as_ref().map(Party::to_string),
        "paid": {"coupon": order.paid.coupon.to_string(), "cash": order.paid.cash.to_string(), "credit": order.paid.credit.to_string()},
        "refunded": order.refunded.to_string(),
    })
}

fn order_query(state: &State, actor: &Party, id: &Id, now: Timestamp) -> Result<Value, Rejection> {
    let order = state.order(id).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("order {id} does not exist")))?;
    let customer = Party::Customer(order.customer.clone());
    let payer_reads = order.payer.as_ref().is_some_and(|payer| domain::in_scope(state, actor, payer) && *actor != Party::Platform);
    if !payer_reads {
        domain::authorize_query(state, actor, &customer)?;
    }
    Ok(order_json(id, order, now))
}

fn orders_query(
    state: &State,
    actor: &Party,
    customer: &Id,
    status: Option<Option<OrderStatus>>,
    page: Page,
    now: Timestamp,
) -> Result<Value, Rejection> {
    let party = Party::Customer(customer.clone());
    domain::authorize_query(state, actor, &party)?;
    let wanted = status.map(|status| status.map_or("expired", OrderStatus::name));
    let selected: Vec<(&Id, &Order)> = state
        .indexed(Index::Orders, &party)
        .filter_map(|id| state.order(id).map(|order| (id, order)))
        .filter(|(_, order)| wanted.is_none_or(|wanted| shown_status(order, now) == wanted))
        .collect();
    let orders: Vec<Value> = paged(&selected, page).map(|(id, order)| order_json(id, order, now)).collect();
    Ok(json!({"total_count": selected.len(), "orders": orders}))
}

fn bill_json(id: &Id, bill: &Bill) -> Value {
    json!({
        "bill": id.as_str(),
        "bill_type": bill.bill_type.name(),
        "at": bill.at.to_string(),
        "cycle": bill.at.cycle(),
        "order": bill.order.as_ref().map(Id::as_str),
        "amount": bill.amount.to_string(),
        "coupon_amount": bill.coupon_amount.to_string(),
        "cash_amount": bill.cash_amount.to_string(),
        "credit_amount": bill.credit_amount.to_string(),
        "debt_amount": bill.debt_amount.to_string(),
        "erase_amount": crate::amount::format_erase(bill.erase_amount),
        "invoiceable": bill.invoiceable.to_string(),
        "invoiced": bill.invoiced.to_string(),
    })
}

fn bills_query(state: &State, actor: &Party, party: &Party, cycle: Option<&str>, page: Page) -> Result<Value, Rejection> {
    domain::authorize_query(state, actor, party)?;
    let selected: Vec<(&Id, &Bill)> = state
        .indexed(Index::Bills, party)
        .filter_map(|id| state.bill(id).map(|bill| (id, bill)))
        .filter(|(_, bill)| cycle.is_none_or(|cycle| bill.at.cycle() == cycle))
        .collect();
    let bills: Vec<Value> = paged(&selected, page).map(|(id, bill)| bill_json(id, bill)).collect();
    Ok(json!({"total_count": selected.len(), "bills": bills}))
}

fn withdrawals_query(state: &State, actor: &Party, party: &Party, page: Page) -> Result<Value, Rejection> {
    domain::authorize_query(state, actor, party)?;
    let selected: Vec<_> = state
        .indexed(Index::Withdrawals, party)
        .filter_map(|id| state.withdrawal(id).map(|withdrawal| (id, withdrawal)))
        .filter(|(_, withdrawal)| withdrawal.status != WithdrawalStatus::Deleted)
        .collect();
    let withdrawals: Vec<Value> = paged(&selected, page)
        .map(|(id, withdrawal)| {
            json!({"withdrawal": id.as_str(), "party": withdrawal.party.to_string(), "amount": withdrawal.amount.to_string(),
                "status": withdrawal.status.name(), "at": withdrawal.at.to_string(), "reason": withdrawal.reason})
        })
        .collect();
    Ok(json!({"total_count": selected.len(), "withdrawals": withdrawals}))
}

struct RecordFilter<'a> {
    partner: Option<&'a Id>,
    target: Option<&'a Party>,
    operation: Option<domain::AdjustOperation>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

impl RecordFilter<'_> {
    fn matches(&self, at: Timestamp, record: &AdjustRecord) -> bool {
        self.partner.is_none_or(|partner| *partner == record.partner)
            && self.target.is_none_or(|target| *target == record.target)
            && self.operation.is_none_or(|operation| operation == record.operation)
            && self.from.is_none_or(|from| at >= from)
            && self.to.is_none_or(|to| at <= to)
    }
}

/// A record is visible to an actor in scope of its partner or of its target.
fn adjust_records(store: &Store, state: &State, actor: &Party, filter: &RecordFilter<'_>, page: Page) -> Result<Value, Rejection> {
    if *actor != Party::Platform && state.party(actor).is_none() {
        return reject(ErrorCode::AccessDenied, format!("actor {actor} is not registered"));
    }
    let named = filter.partner.map(|partner| Party::Partner(partner.clone())).into_iter().chain(filter.target.cloned());
    for party in named {
        if !domain::in_scope(state, actor, &party) {
            return reject(ErrorCode::AccessDenied, format!("{actor} may not read the records of {party}"));
        }
    }
    let visible = |record: &AdjustRecord| {
        domain::in_scope(state, actor, &Party::Partner(record.partner.clone())) || domain::in_scope(state, actor, &record.target)
    };
    let records = store.adjust_records().map_err(storage)?;
    let selected: Vec<_> = records.iter().filter(|(_, at, record)| filter.matches(*at, record) && visible(record)).collect();
    let lines: Vec<Value> = paged(&selected, page)
        .map(|(seq, at, record)| {
            json!({
                "seq": seq,
                "at": at.to_string(),
                "operation": record.operation.name(),
                "partner": record.partner.as_str(),
                "target": record.target.to_string(),
                "amount": record.amount.to_string(),
                "memo": record.memo,
            })
        })
        .collect();
    Ok(json!({"total_count": selected.len(), "records": lines}))
}

fn paged<T>(items: &[T], page: Page) -> impl Iterator<Item = &T> {
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    items.iter().skip(offset).take(usize::try_from(page.limit).unwrap_or(usize::MAX))
}

fn statement(
    store: &Store,
    state: &State,
    actor: &Party,
    party: &Party,
    account: StatementAccount,
    (from, to): (Option<Timestamp>, Option<Timestamp>),
    page: Page,
) -> Result<Value, Rejection> {
    domain::authorize_query(state, actor, party)?;
    let account = match account {
        StatementAccount::Cash => Account::cash(party),
        StatementAccount::Credit => Account::credit(party),
        StatementAccount::Arrears => Account::arrears(party),
    };
    let entries = store.account_postings(&account).map_err(storage)?;
    let selected: Vec<_> =
        entries.iter().filter(|(_, _, _, _, at)| from.is_none_or(|from| *at >= from) && to.is_none_or(|to| *at <= to)).collect();
    let mut lines = Vec::new();
    for (seq, index, amount, after, at) in paged(&selected, page) {
        let transaction = store.transaction(*seq).map_err(storage)?.ok_or_else(|| storage(StoreError::Corrupt(missing(*seq))))?;
        let posting = transaction.effects.postings.get(*index as usize);
        let (op, counterparty) = posting.map(|posting| describe(&transaction, posting)).unwrap_or_default();
        lines.push(json!({
            "seq": seq,
            "at": at.to_string(),
            "op": op,
            "amount": amount.to_string(),
            "balance_after": after.to_string(),
            "counterparty": counterparty,
        }));
    }
    Ok(json!({"total_count": selected.len(), "lines": lines}))
}

fn missing(seq: u64) -> crate::store::records::DecodeError {
    crate::store::records::DecodeError { what: "journal", reason: format!("seq {seq} is missing") }
}

/// The op that produced `posting` and its counterparty: the owner of the first posting of the
/// same command on the other side that belongs to someone else (the party itself for a move
/// between its own accounts).
pub(crate) fn describe(transaction: &Transaction, posting: &Posting) -> (String, String) {
    let op = match &transaction.command {
        Command::Atomic { commands } => commands.get(usize::from(posting.part)).map_or("atomic", Command::op),
        command => command.op(),
    };
    let same_part = transaction.effects.postings.iter().filter(|other| other.part == posting.part);
    let mut others = same_part.filter(|other| other.account.owner != posting.account.owner);
    let opposite = others.clone().find(|other| other.amount.is_negative() != posting.amount.is_negative());
    let counterparty =
        opposite.or_else(|| others.next()).map_or_else(|| posting.account.owner.clone(), |other| other.account.owner.clone());
    (op.to_owned(), counterparty.to_string())
}

fn invoiceable_query(state: &State, actor: &Party, party: &Party) -> Result<Value, Rejection> {
    domain::authorize_query(state, actor, party)?;
    let mut total = Amount::ZERO;
    let mut items = Vec::new();
    for (id, bill, remaining) in domain::invoiceable_items(state, party) {
        total = total.checked_add(remaining)?;
        items.push(
            json!({"bill": id.as_str(), "bill_type": bill.bill_type.name(), "at": bill.at.to_string(), "remaining": remaining.to_string()}),
        );
    }
    Ok(json!({"total": total.to_string(), "items": items}))
}

fn invoice_query(state: &State, actor: &Party, id: &Id) -> Result<Value, Rejection> {
    let invoice = state.invoice(id).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("invoice {id} does not exist")))?;
    domain::authorize_query(state, actor, &invoice.party)?;
    Ok(json!({
        "invoice": id.as_str(),
        "party": invoice.party.to_string(),
        "amount": invoice.amount.to_string(),
        "status": invoice.status.name(),
        "at": invoice.at.to_string(),
        "matched": crate::protocol::matched_json(&invoice.matched),
    }))
}

/// Consumption, refunds and adjustments per customer of a partner in one UTC+8 cycle, by bill
/// amount (coupon-paid parts included: they are consumption too).
#[derive(Clone, Copy, Default)]
struct Summary {
    consumption: Amount,
    refunds: Amount,
    adjustments: Amount,
}

impl Summary {
    fn add(&mut self, bill: &Bill) -> Result<(), Rejection> {
        let slot = match bill.bill_type {
            BillType::New | BillType::Renew | BillType::Change | BillType::Usage => &mut self.consumption,
            BillType::Refund => &mut self.refunds,
            BillType::Compensation | BillType::Deduction => &mut self.adjustments,
        };
        *slot = slot.checked_add(bill.amount)?;
        Ok(())
    }

    fn merge(&mut self, other: Summary) -> Result<(), Rejection> {
        self.consumption = self.consumption.checked_add(other.consumption)?;
        self.refunds = self.refunds.checked_add(other.refunds)?;
        self.adjustments = self.adjustments.checked_add(other.adjustments)?;
        Ok(())
    }

    fn to_json(self, customer: Option<&Id>) -> Result<Value, Rejection> {
        let net = self.consumption.checked_add(self.refunds)?.checked_add(self.adjustments)?;
        let mut value = json!({"consumption": self.consumption.to_string(), "refunds": self.refunds.to_string(),
            "adjustments": self.adjustments.to_string(), "net": net.to_string()});
        if let Some(customer) = customer {
            value["customer"] = json!(customer.as_str());
        }
        Ok(value)
    }
}

fn consumption_summary(state: &State, actor: &Party, partner: Option<&Id>, cycle: &str) -> Result<Value, Rejection> {
    let partner = match (partner, actor) {
        (Some(partner), _) => Party::Partner(partner.clone()),
        (None, Party::Partner(id)) => Party::Partner(id.clone()),
        (None, _) => return reject(ErrorCode::InvalidRequest, "field partner is required unless a partner asks"),
    };
    domain::authorize_query(state, actor, &partner)?;
    let mut customers: Vec<&Id> = state.indexed(Index::PartnerCustomers, &partner).collect();
    customers.sort();
    let mut totals = Summary::default();
    let mut lines = Vec::with_capacity(customers.len());
    for customer in customers {
        let party = Party::Customer(customer.clone());
        let mut summary = Summary::default();
        for bill in state.indexed(Index::Bills, &party).filter_map(|id| state.bill(id)) {
            if bill.at.cycle() == cycle {
                summary.add(bill)?;
            }
        }
        totals.merge(summary)?;
        lines.push(summary.to_json(Some(customer))?);
    }
    Ok(json!({"partner": partner.to_string(), "cycle": cycle, "customers": lines, "totals": totals.to_json(None)?}))
}
