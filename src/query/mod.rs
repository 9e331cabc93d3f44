//! Queries of SPEC.md section 4: current balances come from the in-memory state; history
//! (`as_of`, statements, adjust records) from the store's index tables.

use crate::amount::Amount;
use crate::domain::records::{Bill, BillType, Order, OrderStatus, PartnerPaymentStatus, Record, WithdrawalStatus};
use crate::domain::{self, AdjustRecord, Command, Index, PartyRecord, Reach, State, Transaction};
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
    let result = malformed(request, query).and_then(|()| domain::acting(state, &request.actor)).and_then(|acting| {
        let reader = Reader { state, acting, now };
        reader.answer(store, query)
    });
    match result {
        Ok(result) => Response::Answer { id: request.id.clone(), result },
        Err(rejection) => Response::Failed { id: request.id.as_ref().map(Id::to_string), rejection },
    }
}

mod listings;

/// A query malformed whoever asks ranks before the actor's checks (SPEC 2.2).
fn malformed(request: &Request, query: &Query) -> Result<(), Rejection> {
    match query {
        Query::Statement { party, account: StatementAccount::Allocated, .. } if !matches!(party, Party::Customer(_)) => {
            reject(ErrorCode::InvalidRequest, format!("{party} has no allocated account: customers do"))
        }
        Query::ConsumptionSummary { partner: None, .. } if !matches!(request.actor, Party::Partner(_) | Party::Operator(_)) => {
            reject(ErrorCode::InvalidRequest, "field partner is required unless a partner asks")
        }
        _ => Ok(()),
    }
}

/// Who reads, resolved (an operator reads as its partner, within its roles), and when.
struct Reader<'s> {
    state: &'s State,
    acting: domain::Acting<'s>,
    now: Timestamp,
}

impl Reader<'_> {
    fn answer(&self, store: &Store, query: &Query) -> Result<Value, Rejection> {
        match query {
            Query::Balance { party, as_of } => balance(store, self, party, *as_of),
            Query::Order { order } => order_query(self, order),
            Query::Invoiceable { party } => invoiceable_query(self, party),
            Query::Invoice { invoice } => invoice_query(self, invoice),
            Query::ConsumptionSummary { partner, cycle, manager } => consumption_summary(self, partner.as_ref(), cycle, manager.as_ref()),
            Query::Orders { customer, status, partner_payment, page } => {
                orders_query(self, customer.as_ref(), OrderFilter { status: *status, partner_payment: *partner_payment }, *page)
            }
            Query::Bills { party, cycle, page } => bills_query(self, party, cycle.as_deref(), *page),
            Query::Withdrawals { party, page } => withdrawals_query(self, party, *page),
            Query::AdjustRecords { partner, target, operation, transfer, from, to, page } => {
                // A transfer is a request id: the records its transaction wrote (none when unknown).
                let seq = transfer.as_ref().map(|transfer| self.state.request(transfer).map_or(0, |entry| entry.seq));
                let filter =
                    RecordFilter { partner: partner.as_ref(), target: target.as_ref(), operation: *operation, seq, from: *from, to: *to };
                adjust_records(store, self, &filter, *page)
            }
            Query::Customers { partner, association, manager, page } => {
                listings::customers(store, self, partner.as_ref(), (*association, manager.as_ref()), *page)
            }
            Query::Resellers { partner, page } => listings::resellers(self, partner.as_ref(), *page),
            Query::Quotas { partner, kind, status, parent_quota, page } => {
                let filter = listings::QuotaFilter { kind: *kind, status: *status, parent_quota: parent_quota.as_ref() };
                listings::quotas(self, partner.as_ref(), &filter, *page)
            }
            Query::Coupons { customer, quota, kind, status, page } => {
                let filter = listings::CouponFilter { quota: quota.as_ref(), kind: *kind, status: *status };
                listings::coupons(self, customer.as_ref(), &filter, *page)
            }
            Query::Operators { partner, page } => listings::operators(self, partner.as_ref(), *page),
            Query::CouponRecords { coupon, quota, customer, operation, from, to, page } => {
                let filter = listings::CouponRecordFilter {
                    coupon: coupon.as_ref(),
                    quota: quota.as_ref(),
                    customer: customer.as_ref(),
                    operation: *operation,
                    from: *from,
                    to: *to,
                };
                listings::coupon_records(store, self, &filter, *page)
            }
            Query::Statement { party, account, from, to, page } => statement(store, self, party, *account, (*from, *to), *page),
        }
    }

    /// The actor as sent (an operator by its own name), for messages.
    fn state_actor(&self) -> String {
        self.acting.operator.as_ref().map_or_else(|| self.acting.party.to_string(), |(operator, _)| format!("operator:{operator}"))
    }

    /// `access_denied` unless the reader may read `party` that far; then `not_found`.
    fn authorize(&self, party: &Party, reach: Reach) -> Result<(), Rejection> {
        domain::authorize_query(self.state, &self.acting, party, reach, self.now)
    }

    /// Full scope over `party` (never for an operator limited to its managed customers).
    fn in_scope(&self, party: &Party) -> bool {
        domain::may_read(self.state, &self.acting, party, Reach::Full, self.now)
    }

    /// Whether the reader may see `order` (SPEC 2.1): its customer in full scope, a customer
    /// manager's assigned customer, or an order the reader's partner paid or was asked to pay.
    /// A customer manager sees no more than its partner would, and only of its own customers.
    fn sees_order(&self, order: &Order) -> bool {
        let customer = Party::Customer(order.customer.clone());
        let reached = |partner: &Id| domain::in_scope(self.state, &self.acting.party, &Party::Partner(partner.clone()));
        let partner_sees = domain::in_scope(self.state, &self.acting.party, &customer)
            || order.payer.as_ref().and_then(Party::partner_id).is_some_and(reached)
            || order.asked_partner.as_ref().is_some_and(reached);
        if self.acting.managing_only() {
            return partner_sees && domain::manages(self.state, &self.acting, &customer, self.now);
        }
        partner_sees
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

fn balance(store: &Store, reader: &Reader<'_>, party: &Party, as_of: Option<Timestamp>) -> Result<Value, Rejection> {
    let (state, now) = (reader.state, reader.now);
    if !party.owns_accounts() {
        return reject(ErrorCode::InvalidRequest, format!("{party} is an operator: it owns no accounts"));
    }
    reader.authorize(party, Reach::Full)?;
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
    let mut result = json!({
        "party": party.to_string(),
        "cash": cash.to_string(),
        "held": record.held.to_string(),
        "available": cash.checked_sub(record.held)?.to_string(),
        "credit_limit": record.credit_limit.to_string(),
        "credit_used": credit_used.to_string(),
        "arrears": arrears.to_string(),
        "quotas": quotas,
        "coupons": coupons,
    });
    if matches!(party, Party::Customer(_)) {
        result["allocated"] = json!(read(Account::allocated(party))?.to_string());
        let association = match &record.role {
            domain::Role::Customer { association: Some(association), .. } => Some(association),
            _ => None,
        };
        result["partner"] = json!(association.map(|association| association.partner.as_str()));
        result["association"] = json!(association.map(|association| association.kind.name()));
    }
    // What may be withdrawn is a decision about now: `as_of` shows balances only (decisions.md).
    let (withdrawable, over_invoiced) = match as_of {
        None => {
            let withdrawable = domain::withdrawable(state, party)?;
            (json!(withdrawable.amount.to_string()), json!(withdrawable.over_invoiced.to_string()))
        }
        Some(_) => (Value::Null, Value::Null),
    };
    result["withdrawable"] = withdrawable;
    result["over_invoiced"] = over_invoiced;
    Ok(result)
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
        "placed_at": order.at.to_string(),
        "payer": order.payer.as_ref().map(Party::to_string),
        "partner_payment": order.partner_payment.map(PartnerPaymentStatus::name),
        "asked_partner": order.asked_partner.as_ref().map(Id::as_str),
        "paid": {
            "due": order.paid.due.to_string(),
            "discount": order.paid.discount.to_string(),
            "coupon": order.paid.coupon.to_string(),
            "allocated": order.paid.allocated.to_string(),
            "cash": order.paid.cash.to_string(),
            "credit": order.paid.credit.to_string(),
        },
        "refunded": order.refunded.to_string(),
    })
}

fn order_query(reader: &Reader<'_>, id: &Id) -> Result<Value, Rejection> {
    let order = reader.state.order(id).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("order {id} does not exist")))?;
    if !reader.sees_order(order) {
        return reject(ErrorCode::AccessDenied, format!("{} may not read order {id}", reader.state_actor()));
    }
    Ok(order_json(id, order, reader.now))
}

/// The filters of `orders`.
#[derive(Clone, Copy)]
struct OrderFilter {
    status: Option<Option<OrderStatus>>,
    partner_payment: Option<PartnerPaymentStatus>,
}

impl OrderFilter {
    fn matches(self, order: &Order, now: Timestamp) -> bool {
        let wanted = self.status.map(|status| status.map_or("expired", OrderStatus::name));
        wanted.is_none_or(|wanted| shown_status(order, now) == wanted)
            && self.partner_payment.is_none_or(|wanted| order.partner_payment == Some(wanted))
    }
}

/// The customers whose orders `orders` without a customer lists: every customer for the
/// platform (`None`: its orders are read by kind, not customer by customer), the customer
/// itself, or every customer a partner reaches (its own, and a distributor's resellers'), of
/// which each order is then checked with `sees_order`.
fn order_customers(reader: &Reader<'_>) -> Option<Vec<Party>> {
    let state = reader.state;
    Some(match &reader.acting.party {
        Party::Platform => return None,
        Party::Partner(_) => {
            let mut partners = vec![reader.acting.party.clone()];
            let resellers: Vec<Party> = state
                .partners()
                .filter(|(_, record)| record.parent() == reader.acting.party.partner_id())
                .map(|(party, _)| party.clone())
                .collect();
            partners.extend(resellers);
            partners
                .iter()
                .flat_map(|partner| {
                    state.indexed(Index::PartnerCustomers, partner).map(|id| Party::Customer(id.clone())).collect::<Vec<_>>()
                })
                .collect()
        }
        party => vec![party.clone()],
    })
}

fn orders_query(reader: &Reader<'_>, customer: Option<&Id>, filter: OrderFilter, page: Page) -> Result<Value, Rejection> {
    let (state, now) = (reader.state, reader.now);
    let customers = match customer {
        Some(customer) => {
            let party = Party::Customer(customer.clone());
            reader.authorize(&party, Reach::Consumption)?;
            Some(vec![party])
        }
        None => order_customers(reader),
    };
    let listed: Vec<(&Id, &Order)> = match &customers {
        None => state.all_orders().collect(),
        Some(customers) => customers
            .iter()
            .flat_map(|party| state.indexed(Index::Orders, party).filter_map(|id| state.order(id).map(|order| (id, order))))
            .collect(),
    };
    let mut selected: Vec<(&Id, &Order)> =
        listed.into_iter().filter(|(_, order)| filter.matches(order, now) && reader.sees_order(order)).collect();
    if customer.is_none() {
        selected.sort_by_key(|(id, order)| (order.seq, *id));
    }
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
        "discount_amount": bill.discount_amount.to_string(),
        "coupon_amount": bill.coupon_amount.to_string(),
        "allocated_amount": bill.allocated_amount.to_string(),
        "cash_amount": bill.cash_amount.to_string(),
        "credit_amount": bill.credit_amount.to_string(),
        "debt_amount": bill.debt_amount.to_string(),
        "erase_amount": crate::amount::format_erase(bill.erase_amount),
        "invoice_owner": bill.invoice_owner.to_string(),
        "invoiceable": bill.invoiceable.to_string(),
        "invoiced": bill.invoiced.to_string(),
    })
}

fn bills_query(reader: &Reader<'_>, party: &Party, cycle: Option<&str>, page: Page) -> Result<Value, Rejection> {
    let state = reader.state;
    reader.authorize(party, Reach::Consumption)?;
    let selected: Vec<(&Id, &Bill)> = state
        .indexed(Index::Bills, party)
        .filter_map(|id| state.bill(id).map(|bill| (id, bill)))
        .filter(|(_, bill)| cycle.is_none_or(|cycle| bill.at.cycle() == cycle))
        .collect();
    let bills: Vec<Value> = paged(&selected, page).map(|(id, bill)| bill_json(id, bill)).collect();
    Ok(json!({"total_count": selected.len(), "bills": bills}))
}

fn withdrawals_query(reader: &Reader<'_>, party: &Party, page: Page) -> Result<Value, Rejection> {
    let state = reader.state;
    reader.authorize(party, Reach::Full)?;
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
    /// The seq of the transfer asked for.
    seq: Option<u64>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

impl RecordFilter<'_> {
    fn matches(&self, seq: u64, at: Timestamp, record: &AdjustRecord) -> bool {
        self.seq.is_none_or(|wanted| wanted == seq)
            && self.partner.is_none_or(|partner| *partner == record.partner)
            && self.target.is_none_or(|target| *target == record.target)
            && self.operation.is_none_or(|operation| operation == record.operation)
            && self.from.is_none_or(|from| at >= from)
            && self.to.is_none_or(|to| at <= to)
    }
}

/// The seqs of the transactions in a time window (`first > last` when none): journal times never
/// decrease, so a window is a range of seqs.
pub(super) fn seq_window(store: &Store, head: u64, from: Option<Timestamp>, to: Option<Timestamp>) -> Result<(u64, u64), Rejection> {
    let first = match from {
        Some(from) => store.last_seq_at(Timestamp::from_millis(from.millis().saturating_sub(1)), head).map_err(storage)? + 1,
        None => 0,
    };
    let last = match to {
        Some(to) => store.last_seq_at(to, head).map_err(storage)?,
        None => u64::MAX,
    };
    Ok((first, last))
}

/// A record is visible to a reader in scope of its partner or of its target.
fn adjust_records(store: &Store, reader: &Reader<'_>, filter: &RecordFilter<'_>, page: Page) -> Result<Value, Rejection> {
    if reader.acting.managing_only() {
        return reject(ErrorCode::AccessDenied, format!("{} reads only its customers' consumption", reader.state_actor()));
    }
    let named = filter.partner.map(|partner| Party::Partner(partner.clone())).into_iter().chain(filter.target.cloned());
    for party in named {
        if !reader.in_scope(&party) {
            return reject(ErrorCode::AccessDenied, format!("{} may not read the records of {party}", reader.state_actor()));
        }
    }
    let visible = |record: &AdjustRecord| reader.in_scope(&Party::Partner(record.partner.clone())) || reader.in_scope(&record.target);
    // Only the journal records in the seqs the filter allows are read.
    let (first, last) = seq_window(store, reader.state.head().seq, filter.from, filter.to)?;
    let seqs = match filter.seq {
        Some(seq) => first.max(seq)..=last.min(seq),
        None => first..=last,
    };
    let records = if seqs.is_empty() { Vec::new() } else { store.adjust_records(seqs).map_err(storage)? };
    let selected: Vec<_> = records.iter().filter(|(seq, at, record)| filter.matches(*seq, *at, record) && visible(record)).collect();
    let mut lines = Vec::new();
    for (seq, at, record) in paged(&selected, page) {
        let transaction = store.transaction(*seq).map_err(storage)?.ok_or_else(|| storage(StoreError::Corrupt(missing(*seq))))?;
        lines.push(json!({
                "seq": seq,
                "at": at.to_string(),
                "transfer": transaction.request.as_str(),
                "operation": record.operation.name(),
                "partner": record.partner.as_str(),
                "target": record.target.to_string(),
                "amount": record.amount.to_string(),
                "memo": record.memo,
        }));
    }
    Ok(json!({"total_count": selected.len(), "records": lines}))
}

pub(crate) fn paged<T>(items: &[T], page: Page) -> impl Iterator<Item = &T> {
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    items.iter().skip(offset).take(usize::try_from(page.limit).unwrap_or(usize::MAX))
}

fn statement(
    store: &Store,
    reader: &Reader<'_>,
    party: &Party,
    account: StatementAccount,
    (from, to): (Option<Timestamp>, Option<Timestamp>),
    page: Page,
) -> Result<Value, Rejection> {
    reader.authorize(party, Reach::Full)?;
    let account = match account {
        StatementAccount::Cash => Account::cash(party),
        StatementAccount::Allocated if matches!(party, Party::Customer(_)) => Account::allocated(party),
        StatementAccount::Allocated => return reject(ErrorCode::InvalidRequest, format!("{party} has no allocated account: customers do")),
        StatementAccount::Credit => Account::credit(party),
        StatementAccount::Arrears => Account::arrears(party),
    };
    let (first, last) = seq_window(store, reader.state.head().seq, from, to)?;
    let (total, entries) = if first > last {
        (0, Vec::new())
    } else {
        let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        store.account_postings_page(&account, first..=last, offset, limit).map_err(storage)?
    };
    let mut lines = Vec::new();
    for (seq, index, amount, after) in &entries {
        let transaction = store.transaction(*seq).map_err(storage)?.ok_or_else(|| storage(StoreError::Corrupt(missing(*seq))))?;
        let posting = transaction.effects.postings.get(*index as usize);
        let (op, counterparty) = posting.map(|posting| describe(&transaction, posting)).unwrap_or_default();
        lines.push(json!({
            "seq": seq,
            "at": transaction.at.to_string(),
            "request": transaction.request.as_str(),
            "op": op,
            "amount": amount.to_string(),
            "balance_after": after.to_string(),
            "counterparty": counterparty,
        }));
    }
    Ok(json!({"total_count": total, "lines": lines}))
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

fn invoiceable_query(reader: &Reader<'_>, party: &Party) -> Result<Value, Rejection> {
    let state = reader.state;
    reader.authorize(party, Reach::Full)?;
    let mut total = Amount::ZERO;
    let mut items = Vec::new();
    for (id, bill, remaining) in domain::invoiceable_items(state, party) {
        total = total.checked_add(remaining)?;
        items.push(json!({"bill": id.as_str(), "bill_type": bill.bill_type.name(), "at": bill.at.to_string(), "cycle": bill.at.cycle(),
            "remaining": remaining.to_string()}));
    }
    Ok(json!({"total": total.to_string(), "items": items}))
}

fn invoice_query(reader: &Reader<'_>, id: &Id) -> Result<Value, Rejection> {
    let invoice = reader.state.invoice(id).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("invoice {id} does not exist")))?;
    reader.authorize(&invoice.party, Reach::Full)?;
    Ok(json!({
        "invoice": id.as_str(),
        "party": invoice.party.to_string(),
        "amount": invoice.amount.to_string(),
        "status": invoice.status.name(),
        "at": invoice.at.to_string(),
        "matched": crate::protocol::matched_json(&invoice.matched),
    }))
}

/// Per customer of a partner in one UTC+8 cycle: consumption at official prices (coupon-paid
/// parts included: they are consumption too), payable after discounts (应付), paid after coupon
/// value (实付), refunds, adjustments, and net = payable + refunds + adjustments.
#[derive(Clone, Copy, Default)]
struct Summary {
    consumption: Amount,
    payable: Amount,
    paid: Amount,
    refunds: Amount,
    adjustments: Amount,
}

impl Summary {
    fn add(&mut self, bill: &Bill) -> Result<(), Rejection> {
        match bill.bill_type {
            BillType::New | BillType::Renew | BillType::Change | BillType::Usage => {
                self.consumption = self.consumption.checked_add(bill.amount.checked_add(bill.discount_amount)?)?;
                self.payable = self.payable.checked_add(bill.amount)?;
                self.paid = self.paid.checked_add(bill.amount.checked_sub(bill.coupon_amount)?)?;
            }
            BillType::Refund => self.refunds = self.refunds.checked_add(bill.amount)?,
            BillType::Compensation | BillType::Deduction => self.adjustments = self.adjustments.checked_add(bill.amount)?,
        }
        Ok(())
    }

    fn merge(&mut self, other: Summary) -> Result<(), Rejection> {
        self.consumption = self.consumption.checked_add(other.consumption)?;
        self.payable = self.payable.checked_add(other.payable)?;
        self.paid = self.paid.checked_add(other.paid)?;
        self.refunds = self.refunds.checked_add(other.refunds)?;
        self.adjustments = self.adjustments.checked_add(other.adjustments)?;
        Ok(())
    }

    fn to_json(self) -> Result<Value, Rejection> {
        let net = self.payable.checked_add(self.refunds)?.checked_add(self.adjustments)?;
        Ok(json!({"consumption": self.consumption.to_string(), "payable": self.payable.to_string(), "paid": self.paid.to_string(),
            "refunds": self.refunds.to_string(), "adjustments": self.adjustments.to_string(), "net": net.to_string()}))
    }
}

fn consumption_summary(reader: &Reader<'_>, partner: Option<&Id>, cycle: &str, manager: Option<&Id>) -> Result<Value, Rejection> {
    let state = reader.state;
    let partner = match (partner, &reader.acting.party) {
        (Some(partner), _) => Party::Partner(partner.clone()),
        (None, Party::Partner(id)) => Party::Partner(id.clone()),
        (None, _) => return reject(ErrorCode::InvalidRequest, "field partner is required unless a partner asks"),
    };
    // A customer manager reads its own partner's summary, limited to the customers it manages.
    let managing_only = reader.acting.managing_only();
    if managing_only && Some(&partner) != Some(&reader.acting.party) {
        return reject(ErrorCode::AccessDenied, format!("{} reads only its own partner's consumption", reader.state_actor()));
    }
    if !managing_only {
        reader.authorize(&partner, Reach::Full)?;
    }
    let manager_of = |id: &Id| state.party(&Party::Customer(id.clone())).and_then(|record| record.manager_at(reader.now)).cloned();
    let mut customers: Vec<&Id> = state
        .indexed(Index::PartnerCustomers, &partner)
        .filter(|id| !managing_only || domain::manages(state, &reader.acting, &Party::Customer((*id).clone()), reader.now))
        .filter(|id| manager.is_none_or(|manager| manager_of(id).as_ref() == Some(manager)))
        .collect();
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
        let mut line = summary.to_json()?;
        line["customer"] = json!(customer.as_str());
        line["manager"] = json!(manager_of(customer).as_ref().map(Id::as_str));
        lines.push(line);
    }
    Ok(json!({"partner": partner.to_string(), "cycle": cycle, "customers": lines, "totals": totals.to_json()?}))
}
