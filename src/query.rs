//! Queries of SPEC.md section 4: current balances come from the in-memory state; history
//! (`as_of`, statements, adjust records) from the store's index tables.

use crate::amount::Amount;
use crate::domain::{self, AdjustRecord, Command, PartyRecord, State, Transaction};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{Account, AccountKind, Posting};
use crate::protocol::{Page, Query, Request, Response, StatementAccount};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use serde_json::{Value, json};

/// Answers `query` for `request.actor`.
pub(crate) fn answer(store: &Store, state: &State, request: &Request, query: &Query) -> Response {
    let result = match query {
        Query::Balance { party, as_of } => balance(store, state, &request.actor, party, *as_of),
        Query::AdjustRecords { partner, target, operation, from, to, page } => {
            let filter = RecordFilter { partner: partner.as_ref(), target: target.as_ref(), operation: *operation, from: *from, to: *to };
            adjust_records(store, state, &request.actor, &filter, *page)
        }
        Query::Statement { party, account, from, to, page } => statement(store, state, &request.actor, party, *account, (*from, *to), *page),
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

fn balance(store: &Store, state: &State, actor: &Party, party: &Party, as_of: Option<Timestamp>) -> Result<Value, Rejection> {
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
        Some(seq) => store
            .party_at(party, seq)
            .map_err(storage)?
            .ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("{party} was not registered at that time")))?,
        None => state.party(party).cloned().ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("{party} is not registered")))?,
    };
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
        "quotas": [],
        "coupons": [],
    }))
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
    let counterparty = opposite.or_else(|| others.next()).map_or_else(|| posting.account.owner.clone(), |other| other.account.owner.clone());
    (op.to_owned(), counterparty.to_string())
}
