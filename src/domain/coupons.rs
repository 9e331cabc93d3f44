//! Coupon quotas and coupons: coupon value (`CPN`) flows from the platform's `coupon_issuance`
//! to partner quotas, from quotas to customer coupons, and out to `coupon_redeemed` (orders) or
//! `coupon_expired` (sweeps). It never mixes with money.

use super::records::{Coupon, CouponEnd, CouponKind, CouponStatus, OrderKind, Quota, QuotaSource, Record, Validity};
use super::scope::{require_exists, require_platform};
use super::{AssociationKind, Context, Effects, Outcome, PartnerKind, Role, State};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{Account, AccountKind, Posting};
use crate::time::Timestamp;

fn posting(context: &Context<'_>, account: Account, amount: Amount) -> Posting {
    Posting { account, amount, part: context.part }
}

fn quota_account(owner: &Id, quota: &Id) -> Account {
    Account::new(Party::Partner(owner.clone()), AccountKind::Quota(quota.clone()))
}

/// The account of a coupon.
pub(super) fn coupon_account(customer: &Id, coupon: &Id) -> Account {
    Account::new(Party::Customer(customer.clone()), AccountKind::Coupon(coupon.clone()))
}

fn require_quota<'s>(state: &'s State, quota: &Id) -> Result<&'s Quota, Rejection> {
    state.quota(quota).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("quota {quota} does not exist")))
}

fn require_coupon<'s>(state: &'s State, coupon: &Id) -> Result<&'s Coupon, Rejection> {
    state.coupon(coupon).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("coupon {coupon} does not exist")))
}

fn require_window(validity: Validity) -> Result<(), Rejection> {
    if validity.valid_from >= validity.valid_until {
        return reject(ErrorCode::InvalidValidity, format!("validity window {} – {} is empty", validity.valid_from, validity.valid_until));
    }
    Ok(())
}

/// Where reclaimed value of a quota goes: its source, skipping sources that were reclaimed
/// themselves (their value would be stranded), up to the platform's `coupon_issuance`.
pub(super) fn reclaim_destination(state: &State, source: &QuotaSource) -> Account {
    let mut source = source.clone();
    loop {
        match source {
            QuotaSource::Platform => return Account::platform(AccountKind::CouponIssuance),
            QuotaSource::Quota(id) => match state.quota(&id) {
                Some(quota) if quota.reclaimed => source = quota.source.clone(),
                Some(quota) => return quota_account(&quota.owner, &id),
                None => return Account::platform(AccountKind::CouponIssuance),
            },
        }
    }
}

/// The partner who issued `quota`: the platform, or the distributor owning its source quota.
fn quota_issuer(state: &State, quota: &Quota) -> Party {
    match &quota.source {
        QuotaSource::Platform => Party::Platform,
        QuotaSource::Quota(source) => state.quota(source).map_or(Party::Platform, |source| Party::Partner(source.owner.clone())),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn issue_quota(
    state: &State,
    context: &Context<'_>,
    quota: &Id,
    partner: &Id,
    kind: CouponKind,
    amount: Amount,
    (valid_from, valid_until): (Option<Timestamp>, Option<Timestamp>),
    from_quota: Option<&Id>,
) -> Result<Effects, Rejection> {
    let target = Party::Partner(partner.clone());
    let distributor = state.party(context.actor).and_then(super::PartyRecord::partner_kind) == Some(PartnerKind::Distributor);
    let source = match (context.actor, from_quota) {
        (Party::Platform, None) => None,
        (Party::Platform, Some(_)) => {
            return reject(ErrorCode::InvalidRequest, "the platform issues from coupon_issuance: from_quota is for distributors");
        }
        (Party::Partner(_), _) if !distributor => {
            return reject(ErrorCode::AccessDenied, "only the platform or a distributor issues quotas");
        }
        (Party::Partner(actor), Some(from_quota)) => {
            let source = require_quota(state, from_quota)?;
            if source.owner != *actor {
                return reject(ErrorCode::AccessDenied, format!("quota {from_quota} is not {}'s", context.actor));
            }
            Some((from_quota, source))
        }
        (Party::Partner(_), None) => {
            return reject(ErrorCode::InvalidRequest, "a distributor issues from its own quota: from_quota is required");
        }
        (Party::Customer(_) | Party::Operator(_), _) => {
            return reject(ErrorCode::AccessDenied, "only the platform or a distributor issues quotas");
        }
    };
    let target_record = require_exists(state, &target)?;
    // A malformed request (SPEC 2.2), once the target's kind is known.
    if source.is_none() && target_record.partner_kind() == Some(PartnerKind::Reseller) {
        return reject(ErrorCode::InvalidRequest, "platform quotas go to solution providers and distributors");
    }
    context.fresh()?;
    if state.quota(quota).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("quota {quota} already exists"));
    }
    let mut postings = Vec::new();
    let validity = match source {
        None => {
            // The decoder requires both for the platform; a typed command may omit them.
            let (Some(valid_from), Some(valid_until)) = (valid_from, valid_until) else {
                return reject(ErrorCode::InvalidRequest, "the platform's quotas need valid_from and valid_until");
            };
            let validity = Validity { valid_from, valid_until };
            require_window(validity)?;
            context.in_time(state)?;
            postings.push(posting(context, Account::platform(AccountKind::CouponIssuance), amount.checked_neg()?));
            validity
        }
        Some((from_quota, source)) => {
            // A reseller's quota defaults to its parent quota's window (SPEC v2).
            let validity = Validity {
                valid_from: valid_from.unwrap_or(source.validity.valid_from),
                valid_until: valid_until.unwrap_or(source.validity.valid_until),
            };
            if target_record.parent() != Some(&source.owner) {
                return reject(ErrorCode::NotYourReseller, format!("{target} is not a reseller of partner:{}", source.owner));
            }
            if source.kind != kind || !source.usable(context.at) {
                return reject(
                    ErrorCode::QuotaNotValid,
                    format!("quota {from_quota} is not a usable {} quota at {}", kind.name(), context.at),
                );
            }
            require_window(validity)?;
            if !validity.within(source.validity) {
                return reject(ErrorCode::InvalidValidity, format!("the validity must lie within quota {from_quota}'s"));
            }
            context.in_time(state)?;
            let account = quota_account(&source.owner, from_quota);
            if state.balance(&account) < amount {
                return reject(
                    ErrorCode::QuotaInsufficient,
                    format!("quota {from_quota} holds {}, needs {amount}", state.balance(&account)),
                );
            }
            postings.push(posting(context, account, amount.checked_neg()?));
            validity
        }
    };
    postings.push(posting(context, quota_account(partner, quota), amount));
    let source = from_quota.map_or(QuotaSource::Platform, |id| QuotaSource::Quota(id.clone()));
    let record = Quota { owner: partner.clone(), kind, validity, source, reclaimed: false, amount, seq: context.seq };
    let mut effects = Effects::new(Outcome::QuotaIssued(quota.clone()));
    effects.postings = postings;
    effects.records.push(Record::Quota(quota.clone(), record));
    Ok(effects)
}

pub(super) fn reclaim_quota(state: &State, context: &Context<'_>, quota_id: &Id) -> Result<Effects, Rejection> {
    let quota = require_quota(state, quota_id)?;
    if quota_issuer(state, quota) != *context.actor {
        return reject(ErrorCode::AccessDenied, format!("only the issuer of quota {quota_id} may reclaim it"));
    }
    context.fresh()?;
    if quota.reclaimed {
        return reject(ErrorCode::QuotaNotValid, format!("quota {quota_id} is already reclaimed"));
    }
    context.in_time(state)?;
    let account = quota_account(&quota.owner, quota_id);
    let remaining = state.balance(&account);
    let mut effects = Effects::new(Outcome::QuotaReclaimed { quota: quota_id.clone(), amount: remaining });
    if remaining.is_positive() {
        effects.postings = vec![
            posting(context, account, remaining.checked_neg()?),
            posting(context, reclaim_destination(state, &quota.source), remaining),
        ];
    }
    effects.records.push(Record::Quota(quota_id.clone(), Quota { reclaimed: true, ..quota.clone() }));
    Ok(effects)
}

pub(super) fn whitelist_customer(state: &State, context: &Context<'_>, customer: &Id) -> Result<Effects, Rejection> {
    let party = Party::Customer(customer.clone());
    // Whitelisting is the partner's decision (or its distributor's), not an administrative act.
    // Reach, not scope: whitelisting a referral customer is a relationship error, as for coupons.
    if !matches!(context.actor, Party::Partner(_)) || !super::scope::reaches(state, context.actor, &party) {
        return reject(ErrorCode::AccessDenied, format!("only the partner of {party} may whitelist it"));
    }
    let record = require_exists(state, &party)?;
    context.fresh()?;
    let Role::Customer { association: Some(association), .. } = &record.role else {
        return reject(ErrorCode::NotYourCustomer, format!("{party} has no partner"));
    };
    if association.kind != AssociationKind::Resale {
        return reject(ErrorCode::NotResaleCustomer, format!("{party} is a referral customer: cash coupons go to resale customers"));
    }
    context.in_time(state)?;
    let mut role = record.role.clone();
    if let Role::Customer { whitelisted, .. } = &mut role {
        *whitelisted = true;
    }
    let updated = super::PartyRecord { role, ..record.clone() };
    let mut effects = Effects::new(Outcome::Whitelisted(customer.clone()));
    effects.records.push(Record::Party(party, updated));
    Ok(effects)
}

/// What a coupon may pay for: services, and for a pickup voucher a ratio and order kinds.
pub(super) struct Limits<'a> {
    pub services: Option<&'a Vec<Id>>,
    pub ratio: Option<crate::amount::Ratio>,
    pub order_kinds: Option<&'a Vec<OrderKind>>,
}

/// A pickup voucher needs a `ratio`; other kinds take neither `ratio` nor `order_kinds`.
fn require_kind_limits(kind: CouponKind, limits: &Limits<'_>) -> Result<(), Rejection> {
    match (kind, limits.ratio, limits.order_kinds) {
        (CouponKind::PickupVoucher, None, _) => reject(ErrorCode::InvalidRequest, "a pickup voucher needs a ratio"),
        (CouponKind::PickupVoucher, Some(_), _) | (_, None, None) => Ok(()),
        (kind, _, _) => reject(ErrorCode::InvalidRequest, format!("ratio and order_kinds are for pickup vouchers, not a {}", kind.name())),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn issue_coupon(
    state: &State,
    context: &Context<'_>,
    coupon: &Id,
    quota_id: &Id,
    customer: &Id,
    face_value: Amount,
    (valid_from, valid_until): (Option<Timestamp>, Option<Timestamp>),
    limits: Limits<'_>,
) -> Result<Effects, Rejection> {
    let quota = require_quota(state, quota_id)?;
    // Malformed for this quota's kind: ranks first once the quota is known (SPEC 2.2).
    require_kind_limits(quota.kind, &limits)?;
    let owner = Party::Partner(quota.owner.clone());
    let parent = state.party(&owner).and_then(|record| record.parent()).map(|parent| Party::Partner(parent.clone()));
    if *context.actor != owner && Some(context.actor) != parent.as_ref() {
        return reject(ErrorCode::AccessDenied, format!("only {owner} or its distributor may issue from quota {quota_id}"));
    }
    let party = Party::Customer(customer.clone());
    let record = require_exists(state, &party)?;
    context.fresh()?;
    if state.coupon(coupon).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("coupon {coupon} already exists"));
    }
    let (association, whitelisted) = match &record.role {
        Role::Customer { association: Some(association), whitelisted, .. } if association.partner == quota.owner => {
            (association, *whitelisted)
        }
        _ => return reject(ErrorCode::NotYourCustomer, format!("{party} is not a customer of {owner}")),
    };
    if association.kind != AssociationKind::Resale {
        return reject(ErrorCode::NotResaleCustomer, format!("{party} is a referral customer: coupons go to resale customers"));
    }
    if quota.kind == CouponKind::CashCoupon && !whitelisted {
        return reject(ErrorCode::NotWhitelisted, format!("{party} is not whitelisted for cash coupons"));
    }
    if !quota.usable(context.at) {
        return reject(ErrorCode::QuotaNotValid, format!("quota {quota_id} is not usable at {}", context.at));
    }
    let validity = Validity {
        valid_from: valid_from.unwrap_or(quota.validity.valid_from),
        valid_until: valid_until.unwrap_or(quota.validity.valid_until),
    };
    require_window(validity)?;
    if !validity.within(quota.validity) {
        return reject(ErrorCode::InvalidValidity, format!("the coupon's validity must lie within quota {quota_id}'s"));
    }
    context.in_time(state)?;
    let account = quota_account(&quota.owner, quota_id);
    if state.balance(&account) < face_value {
        return reject(ErrorCode::QuotaInsufficient, format!("quota {quota_id} holds {}, needs {face_value}", state.balance(&account)));
    }
    let coupon_record = Coupon {
        customer: customer.clone(),
        quota: quota_id.clone(),
        issuer: quota.owner.clone(),
        kind: quota.kind,
        face_value,
        validity,
        services: limits.services.cloned(),
        ratio: limits.ratio,
        order_kinds: limits.order_kinds.cloned(),
        end: CouponEnd::Live,
        seq: context.seq,
    };
    let mut effects = Effects::new(Outcome::CouponIssued(coupon.clone()));
    effects.postings =
        vec![posting(context, account, face_value.checked_neg()?), posting(context, coupon_account(customer, coupon), face_value)];
    effects.records.push(Record::Coupon(coupon.clone(), coupon_record));
    Ok(effects)
}

pub(super) fn reclaim_coupon(state: &State, context: &Context<'_>, coupon_id: &Id) -> Result<Effects, Rejection> {
    let coupon = require_coupon(state, coupon_id)?;
    let issuer = Party::Partner(coupon.issuer.clone());
    let parent = state.party(&issuer).and_then(|record| record.parent()).map(|parent| Party::Partner(parent.clone()));
    if *context.actor != issuer && Some(context.actor) != parent.as_ref() {
        return reject(ErrorCode::AccessDenied, format!("only {issuer} or its distributor may reclaim coupon {coupon_id}"));
    }
    context.fresh()?;
    let account = coupon_account(&coupon.customer, coupon_id);
    let remaining = state.balance(&account);
    let resale = state
        .party(&Party::Customer(coupon.customer.clone()))
        .and_then(|record| record.association())
        .is_some_and(|association| association.kind == AssociationKind::Resale);
    if coupon.status(context.at, remaining) != CouponStatus::Usable || !resale {
        return reject(ErrorCode::CouponNotReclaimable, format!("coupon {coupon_id} is not a usable coupon of a resale customer"));
    }
    context.in_time(state)?;
    let (postings, records) = reclaim_coupons(state, context, [(coupon_id, coupon)])?;
    let mut effects = Effects::new(Outcome::CouponReclaimed { coupon: coupon_id.clone(), amount: remaining });
    effects.postings = postings;
    effects.records = records;
    Ok(effects)
}

/// Postings and records that return each coupon's remaining value to its quota.
pub(super) fn reclaim_coupons<'a>(
    state: &State,
    context: &Context<'_>,
    coupons: impl IntoIterator<Item = (&'a Id, &'a Coupon)>,
) -> Result<(Vec<Posting>, Vec<Record>), Rejection> {
    let mut postings = Vec::new();
    let mut records = Vec::new();
    for (id, coupon) in coupons {
        let account = coupon_account(&coupon.customer, id);
        let remaining = state.balance(&account);
        if remaining.is_positive() {
            let destination = match state.quota(&coupon.quota) {
                Some(quota) if !quota.reclaimed => quota_account(&quota.owner, &coupon.quota),
                Some(quota) => reclaim_destination(state, &quota.source),
                None => Account::platform(AccountKind::CouponIssuance),
            };
            postings.push(posting(context, account, remaining.checked_neg()?));
            postings.push(posting(context, destination, remaining));
        }
        records.push(Record::Coupon(id.clone(), Coupon { end: CouponEnd::Reclaimed, ..coupon.clone() }));
    }
    Ok((postings, records))
}

/// The usable coupons of `customer` at `at`, oldest first.
pub(super) fn usable_coupons<'s>(state: &'s State, customer: &'s Party, at: Timestamp) -> impl Iterator<Item = (&'s Id, &'s Coupon)> + 's {
    state.indexed(super::Index::Coupons, customer).filter_map(move |id| {
        let coupon = state.coupon(id)?;
        let remaining = state.balance(&coupon_account(&coupon.customer, id));
        (coupon.status(at, remaining) == CouponStatus::Usable).then_some((id, coupon))
    })
}

pub(super) fn expire_coupons(state: &State, context: &Context<'_>) -> Result<Effects, Rejection> {
    require_platform(context.actor, "expire coupons")?;
    context.fresh()?;
    context.in_time(state)?;
    let mut expired: Vec<(&Id, &Coupon, Amount)> = state
        .all_coupons()
        .filter(|(_, coupon)| coupon.end == CouponEnd::Live && context.at >= coupon.validity.valid_until)
        .map(|(id, coupon)| (id, coupon, state.balance(&coupon_account(&coupon.customer, id))))
        .filter(|(_, _, remaining)| remaining.is_positive())
        .collect();
    // Sorted so the postings, and so the journal, do not depend on hash-map order.
    expired.sort_by(|a, b| a.0.cmp(b.0));
    let mut total = Amount::ZERO;
    let mut effects = Effects::new(Outcome::CouponsExpired { coupons: Vec::new(), amount: Amount::ZERO });
    let mut ids = Vec::with_capacity(expired.len());
    for (id, coupon, remaining) in expired {
        total = total.checked_add(remaining)?;
        effects.postings.push(posting(context, coupon_account(&coupon.customer, id), remaining.checked_neg()?));
        effects.postings.push(posting(context, Account::platform(AccountKind::CouponExpired), remaining));
        effects.records.push(Record::Coupon(id.clone(), Coupon { end: CouponEnd::Expired, ..coupon.clone() }));
        ids.push(id.clone());
    }
    effects.outcome = Outcome::CouponsExpired { coupons: ids, amount: total };
    Ok(effects)
}
