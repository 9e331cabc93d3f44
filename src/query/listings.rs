//! The listings of SPEC v2 section 4: `customers`, `resellers`, `quotas`, `coupons` and
//! `operators`, each paged, oldest first (by the seq that created the entry), scoped as SPEC 2.1
//! says: the platform sees everything, a partner (or its admin or finance operator) its own and,
//! as a distributor, its resellers', a customer manager only the customers it manages.

use super::{Reader, paged};
use crate::amount::Amount;
use crate::domain::Transaction;
use crate::domain::records::Record;
use crate::domain::records::{Coupon, CouponKind, CouponStatus, Quota, QuotaSource, QuotaStatus};
use crate::domain::{AssociationKind, Index, PartyRecord, Reach, RecordKey, Role};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{Account, AccountKind};
use crate::protocol::{CouponOperation, Page};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The page of `items` (already in listing order) under `key`, each written by `row` (only
/// the page's: a listing of a million customers writes ten rows), with the total count.
fn page_of<T>(key: &str, items: &[T], page: Page, row: impl Fn(&T) -> Value) -> Value {
    listing(key, items.len(), paged(items, page).map(row).collect())
}

/// A listing's answer: `total_count` and the page's `rows` under `key`.
fn listing(key: &str, total: usize, rows: Vec<Value>) -> Value {
    let mut result = json!({"total_count": total});
    result[key] = Value::Array(rows);
    result
}

fn denied<T>(reader: &Reader<'_>, what: &str) -> Result<T, Rejection> {
    reject(ErrorCode::AccessDenied, format!("{} may not list {what}", reader.state_actor()))
}

/// The partners whose entries a listing covers: the one named (in the reader's scope), or by
/// default the reading partner and its resellers; `None` for the platform without a filter
/// (everyone's). Customers and customer managers (unless `managers_too`) are refused.
fn partners(reader: &Reader<'_>, partner: Option<&Id>, what: &str, managers_too: bool) -> Result<Option<Vec<Party>>, Rejection> {
    let state = reader.state;
    if matches!(reader.acting.party, Party::Customer(_)) || (reader.acting.managing_only() && !managers_too) {
        return denied(reader, what);
    }
    if let Some(partner) = partner {
        let party = Party::Partner(partner.clone());
        if reader.acting.managing_only() && party != reader.acting.party {
            return denied(reader, what);
        }
        if !reader.acting.managing_only() {
            reader.authorize(&party, Reach::Full)?;
        }
        return Ok(Some(vec![party]));
    }
    match &reader.acting.party {
        Party::Platform => Ok(None),
        party => {
            let mut list = vec![party.clone()];
            list.extend(state.partners().filter(|(_, record)| record.parent() == party.partner_id()).map(|(reseller, _)| reseller.clone()));
            Ok(Some(list))
        }
    }
}

fn customer_row(reader: &Reader<'_>, id: &Id, record: &PartyRecord) -> Value {
    let (name, external_id) = match &record.role {
        Role::Customer { name, external_id, .. } => (name.clone(), external_id.as_ref().map(Id::to_string)),
        _ => (None, None),
    };
    let association = record.association();
    json!({
        "customer": id.as_str(),
        "name": name,
        "external_id": external_id,
        "partner": association.map(|association| association.partner.as_str()),
        "association": association.map(|association| association.kind.name()),
        "associated_at": association.map(|association| association.at.to_string()),
        "manager": record.manager_at(reader.now).map(Id::as_str),
    })
}

/// `customers {partner?, association?, manager?}`.
pub(super) fn customers(
    store: &Store,
    reader: &Reader<'_>,
    partner: Option<&Id>,
    (association, manager): (Option<AssociationKind>, Option<&Id>),
    page: Page,
) -> Result<Value, Rejection> {
    let state = reader.state;
    let wanted = |id: &Id, record: &PartyRecord| {
        (!reader.acting.managing_only() || crate::domain::manages(state, &reader.acting, &Party::Customer(id.clone()), reader.now))
            && association.is_none_or(|kind| record.association().is_some_and(|association| association.kind == kind))
            && manager.is_none_or(|manager| record.manager_at(reader.now) == Some(manager))
    };
    let Some(owners) = partners(reader, partner, "customers", true)? else {
        // The platform's: every customer, read from the store one at a time (the ledger
        // checkpointed first, `Query::reads_every_customer`), keeping only what orders them;
        // the page's records are read again for their rows.
        let mut selected: Vec<(u64, Id)> = Vec::new();
        store
            .for_each_customer(|id, record| {
                if wanted(id, record) {
                    selected.push((record.seq, id.clone()));
                }
            })
            .map_err(super::storage)?;
        selected.sort_unstable();
        let mut rows = Vec::new();
        for (_, id) in paged(&selected, page) {
            let key = RecordKey::Party(Party::Customer(id.clone()));
            let Some(Record::Party(_, record)) = store.record(&key).map_err(super::storage)? else {
                return reject(ErrorCode::Storage, format!("the record of {key} is missing from the store"));
            };
            rows.push(customer_row(reader, id, &record));
        }
        return Ok(listing("customers", selected.len(), rows));
    };
    let mut selected: Vec<(&Id, &PartyRecord)> = owners
        .iter()
        .flat_map(|owner| state.indexed(Index::PartnerCustomers, owner))
        .filter_map(|id| state.party(&Party::Customer(id.clone())).map(|record| (id, record)))
        .collect();
    selected.retain(|(id, record)| wanted(id, record));
    selected.sort_by_key(|(id, record)| (record.seq, (*id).clone()));
    Ok(page_of("customers", &selected, page, |(id, record)| customer_row(reader, id, record)))
}

/// `resellers {partner?}`: a distributor's resellers.
pub(super) fn resellers(reader: &Reader<'_>, partner: Option<&Id>, page: Page) -> Result<Value, Rejection> {
    let state = reader.state;
    let distributor = match partners(reader, partner, "resellers", false)? {
        Some(list) => list.into_iter().next(),
        None => None,
    };
    let mut selected: Vec<(&Party, &PartyRecord)> = state
        .partners()
        .filter(|(_, record)| {
            record.parent().is_some_and(|parent| distributor.as_ref().is_none_or(|wanted| wanted.partner_id() == Some(parent)))
        })
        .collect();
    selected.sort_by_key(|(party, record)| (record.seq, (*party).clone()));
    Ok(page_of("resellers", &selected, page, |(party, record)| {
        json!({"partner": party.partner_id().map(Id::as_str), "parent": record.parent().map(Id::as_str),
            "registered_at": record.registered_at.to_string()})
    }))
}

/// The filters of `quotas`.
pub(super) struct QuotaFilter<'a> {
    pub kind: Option<CouponKind>,
    pub status: Option<QuotaStatus>,
    pub parent_quota: Option<&'a Id>,
}

fn parent_quota(quota: &Quota) -> Option<&Id> {
    match &quota.source {
        QuotaSource::Platform => None,
        QuotaSource::Quota(id) => Some(id),
    }
}

/// `quotas {partner?, kind?, status?, parent_quota?}`.
pub(super) fn quotas(reader: &Reader<'_>, partner: Option<&Id>, filter: &QuotaFilter<'_>, page: Page) -> Result<Value, Rejection> {
    let state = reader.state;
    let owners = partners(reader, partner, "quotas", false)?;
    let mut selected: Vec<(&Id, &Quota)> = match &owners {
        None => state.all_quotas().collect(),
        Some(owners) => owners
            .iter()
            .flat_map(|owner| state.indexed(Index::Quotas, owner))
            .filter_map(|id| state.quota(id).map(|quota| (id, quota)))
            .collect(),
    };
    selected.retain(|(_, quota)| {
        filter.kind.is_none_or(|kind| quota.kind == kind)
            && filter.status.is_none_or(|status| quota.status(reader.now) == status)
            && filter.parent_quota.is_none_or(|parent| parent_quota(quota) == Some(parent))
    });
    selected.sort_by_key(|(id, quota)| (quota.seq, (*id).clone()));
    Ok(page_of("quotas", &selected, page, |(id, quota)| {
        let balance = state.balance(&Account::new(Party::Partner(quota.owner.clone()), AccountKind::Quota((*id).clone())));
        json!({
            "quota": id.as_str(), "partner": quota.owner.as_str(), "kind": quota.kind.name(), "amount": quota.amount.to_string(),
            "balance": balance.to_string(), "valid_from": quota.validity.valid_from.to_string(),
            "valid_until": quota.validity.valid_until.to_string(), "status": quota.status(reader.now).name(),
            "parent_quota": parent_quota(quota).map(Id::as_str),
        })
    }))
}

/// The filters of `coupons`.
pub(super) struct CouponFilter<'a> {
    pub quota: Option<&'a Id>,
    pub kind: Option<CouponKind>,
    pub status: Option<CouponStatus>,
}

/// A coupon is the reader's to see when its holder is in the reader's scope, or the reader (or
/// its reseller) issued it.
fn sees_coupon(reader: &Reader<'_>, coupon: &Coupon) -> bool {
    reader.in_scope(&Party::Customer(coupon.customer.clone())) || reader.in_scope(&Party::Partner(coupon.issuer.clone()))
}

/// `coupons {customer?, quota?, kind?, status?}`.
pub(super) fn coupons(reader: &Reader<'_>, customer: Option<&Id>, filter: &CouponFilter<'_>, page: Page) -> Result<Value, Rejection> {
    let state = reader.state;
    if reader.acting.managing_only() {
        return denied(reader, "coupons");
    }
    if let Some(customer) = customer {
        reader.authorize(&Party::Customer(customer.clone()), Reach::Full)?;
    }
    if let Some(quota) = filter.quota
        && state.quota(quota).is_none()
    {
        return reject(ErrorCode::NotFound, format!("quota {quota} does not exist"));
    }
    let holder = customer.map(|customer| Party::Customer(customer.clone()));
    let mut selected: Vec<(&Id, &Coupon)> = match &holder {
        Some(holder) => state.indexed(Index::Coupons, holder).filter_map(|id| state.coupon(id).map(|coupon| (id, coupon))).collect(),
        None => state.all_coupons().filter(|(_, coupon)| sees_coupon(reader, coupon)).collect(),
    };
    let remaining =
        |id: &Id, coupon: &Coupon| state.balance(&Account::new(Party::Customer(coupon.customer.clone()), AccountKind::Coupon(id.clone())));
    selected.retain(|(id, coupon)| {
        filter.quota.is_none_or(|quota| coupon.quota == *quota)
            && filter.kind.is_none_or(|kind| coupon.kind == kind)
            && filter.status.is_none_or(|status| coupon.status(reader.now, remaining(id, coupon)) == status)
    });
    selected.sort_by_key(|(id, coupon)| (coupon.seq, (*id).clone()));
    Ok(page_of("coupons", &selected, page, |(id, coupon)| {
        let left = remaining(id, coupon);
        json!({
            "coupon": id.as_str(), "quota": coupon.quota.as_str(), "customer": coupon.customer.as_str(), "kind": coupon.kind.name(),
            "face_value": coupon.face_value.to_string(), "remaining": left.to_string(),
            "valid_from": coupon.validity.valid_from.to_string(), "valid_until": coupon.validity.valid_until.to_string(),
            "services": coupon.services.as_ref().map(|services| services.iter().map(Id::as_str).collect::<Vec<_>>()),
            "ratio": coupon.ratio.map(|ratio| ratio.to_string()),
            "order_kinds": coupon.order_kinds.as_ref().map(|kinds| kinds.iter().map(|kind| kind.name()).collect::<Vec<_>>()),
            "status": coupon.status(reader.now, left).name(),
        })
    }))
}

/// `operators {partner?}`, with how many customers each manages now.
pub(super) fn operators(reader: &Reader<'_>, partner: Option<&Id>, page: Page) -> Result<Value, Rejection> {
    let state = reader.state;
    let owners = match partners(reader, partner, "operators", false)? {
        // By default a partner lists its own operators, not its resellers'.
        Some(list) if partner.is_none() => list.into_iter().take(1).collect(),
        Some(list) => list,
        None => state.partners().map(|(party, _)| party.clone()).collect(),
    };
    let mut selected: Vec<(&Id, &PartyRecord)> = owners
        .iter()
        .flat_map(|owner| state.indexed(Index::Operators, owner))
        .filter_map(|id| state.party(&Party::Operator(id.clone())).map(|record| (id, record)))
        .collect();
    selected.sort_by_key(|(id, record)| (record.seq, (*id).clone()));
    let rows: Vec<Value> = selected
        .iter()
        .filter_map(|(id, record)| {
            let (partner, roles) = record.operator()?;
            let managed = state
                .indexed(Index::PartnerCustomers, &Party::Partner(partner.clone()))
                .filter(|customer| {
                    state.party(&Party::Customer((*customer).clone())).and_then(|record| record.manager_at(reader.now)) == Some(*id)
                })
                .count();
            Some(json!({"operator": id.as_str(), "partner": partner.as_str(), "roles": crate::protocol::role_names(roles),
                "customers_managed": managed}))
        })
        .collect();
    Ok(page_of("operators", &rows, page, Value::clone))
}

/// The filters of `coupon_records`.
pub(super) struct CouponRecordFilter<'a> {
    pub coupon: Option<&'a Id>,
    pub quota: Option<&'a Id>,
    pub customer: Option<&'a Id>,
    pub operation: Option<CouponOperation>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// The operation a posting on a quota or coupon account records, if any: each movement is
/// recorded once, on the account it is about (a coupon's issue on the coupon, not on the quota
/// it came from).
fn coupon_operation(op: &str, quota_account: bool, incoming: bool) -> Option<CouponOperation> {
    Some(match (op, quota_account, incoming) {
        ("issue_quota", true, true) => CouponOperation::IssueQuota,
        ("reclaim_quota", true, false) => CouponOperation::ReclaimQuota,
        ("issue_coupon", false, true) => CouponOperation::IssueCoupon,
        ("reclaim_coupon", false, false) => CouponOperation::ReclaimCoupon,
        ("unbind" | "switch_association", false, false) => CouponOperation::UnbindReclaim,
        ("expire_coupons", false, false) => CouponOperation::Expire,
        ("pay_order" | "consume", false, false) => CouponOperation::Redeem,
        _ => return None,
    })
}

/// `coupon_records {coupon?, quota?, customer?, operation?, from?, to?}`: read from the posting
/// index of the quota and coupon accounts the reader may see.
pub(super) fn coupon_records(store: &Store, reader: &Reader<'_>, filter: &CouponRecordFilter<'_>, page: Page) -> Result<Value, Rejection> {
    let state = reader.state;
    if reader.acting.managing_only() {
        return denied(reader, "coupon records");
    }
    if let Some(customer) = filter.customer {
        reader.authorize(&Party::Customer(customer.clone()), Reach::Full)?;
    }
    // The quotas and coupons in view, each with (quota, coupon, customer) to show.
    let mut accounts: Vec<(Account, &Id, Option<&Id>, Option<&Id>)> = Vec::new();
    if filter.coupon.is_none() && filter.customer.is_none() {
        for (id, quota) in state.all_quotas() {
            let owner = Party::Partner(quota.owner.clone());
            if reader.in_scope(&owner) && filter.quota.is_none_or(|wanted| wanted == id) {
                accounts.push((Account::new(owner, AccountKind::Quota(id.clone())), id, None, None));
            }
        }
    }
    for (id, coupon) in state.all_coupons() {
        let wanted = filter.coupon.is_none_or(|wanted| wanted == id)
            && filter.quota.is_none_or(|wanted| *wanted == coupon.quota)
            && filter.customer.is_none_or(|wanted| *wanted == coupon.customer);
        if wanted && sees_coupon(reader, coupon) {
            let account = Account::new(Party::Customer(coupon.customer.clone()), AccountKind::Coupon(id.clone()));
            accounts.push((account, &coupon.quota, Some(id), Some(&coupon.customer)));
        }
    }
    let mut transactions: HashMap<u64, Transaction> = HashMap::new();
    let mut rows: Vec<(u64, u32, Value)> = Vec::new();
    // Journal times never decrease, so a time window is a window of seqs.
    let window = super::seq_window(store, reader.state.head().seq, filter.from, filter.to)?;
    for (account, quota, coupon, customer) in &accounts {
        for (seq, index, amount, _) in store.account_postings(account).map_err(super::storage)? {
            if !(window.0..=window.1).contains(&seq) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = transactions.entry(seq) {
                let transaction = store
                    .transaction(seq)
                    .map_err(super::storage)?
                    .ok_or_else(|| super::storage(StoreError::Corrupt(super::missing(seq))))?;
                slot.insert(transaction);
            }
            let transaction = &transactions[&seq];
            let Some(posting) = transaction.effects.postings.get(index as usize) else { continue };
            let (op, _) = super::describe(transaction, posting);
            let Some(operation) = coupon_operation(&op, coupon.is_none(), amount.is_positive()) else { continue };
            if filter.operation.is_some_and(|wanted| wanted != operation) {
                continue;
            }
            let magnitude = Amount::from_minor(amount.minor().abs());
            rows.push((
                seq,
                index,
                json!({"seq": seq, "at": transaction.at.to_string(), "request": transaction.request.as_str(),
                "operation": operation.name(), "quota": quota.as_str(), "coupon": coupon.map(|id| id.as_str()),
                "customer": customer.map(|id| id.as_str()), "amount": magnitude.to_string()}),
            ));
        }
    }
    rows.sort_by_key(|(seq, index, _)| (*seq, *index));
    let rows: Vec<Value> = rows.into_iter().map(|(_, _, row)| row).collect();
    Ok(page_of("records", &rows, page, Value::clone))
}
