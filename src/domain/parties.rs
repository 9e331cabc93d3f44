//! Registering partners and customers, and associating customers with partners.

use super::coupons::{reclaim_coupons, usable_coupons};
use super::records::CouponKind;
use super::records::Record;
use super::scope::{reaches, require_exists, require_platform, require_scope, require_unused_party_id};
use super::{
    AdjustOperation, AdjustRecord, Association, AssociationKind, Context, Effects, Outcome, PartnerKind, PartyRecord, Role, State,
};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::Account;

pub(super) fn register_partner(
    state: &State,
    context: &Context<'_>,
    partner: &Id,
    kind: PartnerKind,
    parent: Option<&Id>,
) -> Result<Effects, Rejection> {
    require_platform(context.actor, "register partners")?;
    if let Some(parent) = parent {
        let parent_record = require_exists(state, &Party::Partner(parent.clone()))?;
        if parent_record.partner_kind() != Some(PartnerKind::Distributor) {
            return reject(ErrorCode::InvalidRequest, format!("parent {parent} is not a distributor"));
        }
    }
    context.fresh()?;
    let party = Party::Partner(partner.clone());
    require_unused_party_id(state, partner)?;
    context.in_time(state)?;
    let role = Role::Partner { kind, parent: parent.cloned() };
    let record = PartyRecord { role, credit_limit: Amount::ZERO, held: Amount::ZERO, registered_at: context.at, seq: context.seq };
    let mut effects = Effects::new(Outcome::PartnerRegistered(partner.clone()));
    effects.records.push(Record::Party(party, record));
    Ok(effects)
}

/// A customer's name and its partner platform's account id (`register_customer`).
pub(super) struct Identity {
    pub name: Option<String>,
    pub external_id: Option<Id>,
}

/// An external id is unique among the customers of one partner (SPEC v2 `register_customer`).
fn require_unused_external_id(state: &State, partner: Option<&Id>, external_id: Option<&Id>) -> Result<(), Rejection> {
    if let Some(external_id) = external_id
        && state.external_id_taken(partner, external_id)
    {
        let owner = partner.map_or_else(|| "customers without a partner".to_owned(), |partner| format!("partner:{partner}"));
        return reject(ErrorCode::AlreadyExists, format!("external id {external_id} is already used among the customers of {owner}"));
    }
    Ok(())
}

pub(super) fn register_customer(
    state: &State,
    context: &Context<'_>,
    customer: &Id,
    partner: Option<&Id>,
    association: Option<AssociationKind>,
    identity: Identity,
) -> Result<Effects, Rejection> {
    let association = match partner {
        Some(partner) => {
            let partner_party = Party::Partner(partner.clone());
            require_scope(state, context.actor, &partner_party)?;
            require_exists(state, &partner_party)?;
            let kind = association.unwrap_or(AssociationKind::Resale);
            Some(Association { partner: partner.clone(), kind, at: context.at })
        }
        None => {
            require_platform(context.actor, "register customers without a partner")?;
            None
        }
    };
    context.fresh()?;
    let party = Party::Customer(customer.clone());
    require_unused_party_id(state, customer)?;
    require_unused_external_id(state, partner, identity.external_id.as_ref())?;
    context.in_time(state)?;
    let role = Role::Customer { association, whitelisted: false, manager: None, name: identity.name, external_id: identity.external_id };
    let record = PartyRecord { role, credit_limit: Amount::ZERO, held: Amount::ZERO, registered_at: context.at, seq: context.seq };
    let mut effects = Effects::new(Outcome::CustomerRegistered(customer.clone()));
    effects.records.push(Record::Party(party, record));
    Ok(effects)
}

pub(super) fn associate(
    state: &State,
    context: &Context<'_>,
    customer: &Id,
    partner: &Id,
    association: AssociationKind,
) -> Result<Effects, Rejection> {
    require_platform(context.actor, "associate customers")?;
    let customer_party = Party::Customer(customer.clone());
    let record = require_exists(state, &customer_party)?;
    require_exists(state, &Party::Partner(partner.clone()))?;
    context.fresh()?;
    let mut role = record.role.clone();
    let Role::Customer { association: linked, manager, external_id, .. } = &mut role else {
        return reject(ErrorCode::NotFound, format!("{customer_party} is not a customer"));
    };
    // Its external id must stay unique among the new partner's customers (`already_exists` ranks
    // before the state errors below, SPEC 2.2); a customer of that partner already holds its own.
    if record.association().is_none_or(|existing| existing.partner != *partner) {
        require_unused_external_id(state, Some(partner), external_id.as_ref())?;
    }
    if let Some(existing) = record.association() {
        return reject(ErrorCode::AssociationState, format!("{customer_party} is already associated with partner:{}", existing.partner));
    }
    if association == AssociationKind::Resale {
        require_resale_preconditions(state, context, &customer_party)?;
    }
    context.in_time(state)?;
    *linked = Some(Association { partner: partner.clone(), kind: association, at: context.at });
    *manager = None;
    let updated = PartyRecord { role, ..record.clone() };
    let mut effects = Effects::new(Outcome::Associated { customer: customer.clone(), partner: partner.clone(), association });
    effects.records.push(Record::Party(customer_party, updated));
    Ok(effects)
}

/// A resale association needs zero `allocated`, zero arrears, zero credit used, no credit limit
/// and no usable coupon. The customer's own cash may stay: it remains its own.
pub(super) fn require_resale_preconditions(state: &State, context: &Context<'_>, customer: &Party) -> Result<(), Rejection> {
    let blockers = [
        (Account::allocated(customer), "allocated funds"),
        (Account::arrears(customer), "arrears"),
        (Account::credit(customer), "credit in use"),
    ];
    for (account, what) in blockers {
        if !state.balance(&account).is_zero() {
            return reject(ErrorCode::AssociationBlocked, format!("{customer} has {what}: a resale association needs none"));
        }
    }
    if state.credit_limit(customer).is_positive() {
        return reject(ErrorCode::AssociationBlocked, format!("{customer} has a credit limit: a resale customer has none"));
    }
    if let Some((coupon, _)) = usable_coupons(state, customer, context.at).next() {
        return reject(ErrorCode::AssociationBlocked, format!("{customer} holds usable coupon {coupon}: a resale association needs none"));
    }
    Ok(())
}

/// The customer's association, for unbinding or switching: the platform or a partner whose scope
/// covers the customer (its partner or that partner's distributor).
fn require_association<'s>(
    state: &'s State,
    context: &Context<'_>,
    party: &Party,
    platform_allowed: bool,
) -> Result<(&'s PartyRecord, Option<&'s Association>), Rejection> {
    let allowed = match context.actor {
        Party::Platform => platform_allowed,
        Party::Partner(_) => reaches(state, context.actor, party),
        Party::Customer(_) | Party::Operator(_) => false,
    };
    if !allowed {
        return reject(ErrorCode::AccessDenied, format!("only the partner of {party} may change its association"));
    }
    let record = require_exists(state, party)?;
    context.fresh()?;
    Ok((record, record.association()))
}

/// Unbinding or switching is blocked while the customer has asked its partner to pay an order
/// that is still payable.
/// When `leaving` (unbind, switch to referral), also while it holds a usable pickup voucher.
fn require_unblocked(state: &State, context: &Context<'_>, party: &Party, leaving: bool) -> Result<(), Rejection> {
    if let Some(order) = super::orders::open_partner_payment(state, party, context.at) {
        return reject(
            ErrorCode::AssociationBlocked,
            format!("{party} has asked its partner to pay order {order}: reject or cancel it first"),
        );
    }
    let pickup = usable_coupons(state, party, context.at).find(|(_, coupon)| coupon.kind == CouponKind::PickupVoucher);
    if let (true, Some((voucher, _))) = (leaving, pickup) {
        return reject(ErrorCode::AssociationBlocked, format!("{party} holds usable pickup voucher {voucher}: it is never reclaimed"));
    }
    Ok(())
}

/// A resale customer's reclaim: all of its `allocated` back to the partner (an `unbind_reclaim`
/// adjust record) and every usable coupon the partner issued back to its quota. Debt and the
/// customer's own cash stay.
fn reclaim(
    state: &State,
    context: &Context<'_>,
    party: &Party,
    partner: &Id,
    effects: &mut Effects,
) -> Result<(Amount, Vec<Id>), Rejection> {
    let allocated = state.balance(&Account::allocated(party)).max(Amount::ZERO);
    if allocated.is_positive() {
        let partner_party = Party::Partner(partner.clone());
        let part = context.part;
        effects.postings.push(crate::journal::Posting { account: Account::allocated(party), amount: allocated.checked_neg()?, part });
        effects.postings.push(crate::journal::Posting { account: Account::cash(&partner_party), amount: allocated, part });
        let record = AdjustRecord {
            operation: AdjustOperation::UnbindReclaim,
            partner: partner.clone(),
            target: party.clone(),
            amount: allocated,
            memo: None,
        };
        effects.adjust_records.push(record);
    }
    // Pickup vouchers are never reclaimed automatically (they block instead, see `require_unblocked`).
    let coupons: Vec<_> = usable_coupons(state, party, context.at)
        .filter(|(_, coupon)| coupon.issuer == *partner && coupon.kind != CouponKind::PickupVoucher)
        .collect();
    let ids = coupons.iter().map(|(id, _)| (*id).clone()).collect();
    let (postings, records) = reclaim_coupons(state, context, coupons)?;
    effects.postings.extend(postings);
    effects.records.extend(records);
    Ok((allocated, ids))
}

pub(super) fn unbind(state: &State, context: &Context<'_>, customer: &Id) -> Result<Effects, Rejection> {
    let party = Party::Customer(customer.clone());
    let (record, association) = require_association(state, context, &party, true)?;
    let Some(association) = association else {
        return reject(ErrorCode::AssociationState, format!("{party} is not associated"));
    };
    require_unblocked(state, context, &party, true)?;
    context.in_time(state)?;
    // Back among the customers of no partner, whose external ids are unique too (docs/decisions.md).
    if let Role::Customer { external_id, .. } = &record.role {
        require_unused_external_id(state, None, external_id.as_ref())?;
    }
    let mut effects = Effects::new(Outcome::AssociationChanged {
        customer: customer.clone(),
        association: None,
        allocated: Amount::ZERO,
        coupons: Vec::new(),
    });
    let (allocated, coupons) = if association.kind == AssociationKind::Resale {
        reclaim(state, context, &party, &association.partner, &mut effects)?
    } else {
        (Amount::ZERO, Vec::new())
    };
    effects.outcome = Outcome::AssociationChanged { customer: customer.clone(), association: None, allocated, coupons };
    // The whitelist and the manager were the partner's: they end with the association.
    let mut role = record.role.clone();
    if let Role::Customer { association, whitelisted, manager, .. } = &mut role {
        (*association, *whitelisted, *manager) = (None, false, None);
    }
    effects.records.push(Record::Party(party, PartyRecord { role, ..record.clone() }));
    Ok(effects)
}

pub(super) fn switch_association(state: &State, context: &Context<'_>, customer: &Id, kind: AssociationKind) -> Result<Effects, Rejection> {
    let party = Party::Customer(customer.clone());
    let (record, association) = require_association(state, context, &party, false)?;
    let Some(association) = association else {
        return reject(ErrorCode::AssociationState, format!("{party} is not associated"));
    };
    if association.kind == kind {
        return reject(ErrorCode::AssociationState, format!("{party} is already a {} customer", kind.name()));
    }
    if kind == AssociationKind::Resale {
        require_resale_preconditions(state, context, &party)?;
    }
    require_unblocked(state, context, &party, kind == AssociationKind::Referral)?;
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::AssociationChanged {
        customer: customer.clone(),
        association: Some(kind),
        allocated: Amount::ZERO,
        coupons: Vec::new(),
    });
    let (allocated, coupons) = if kind == AssociationKind::Referral {
        reclaim(state, context, &party, &association.partner, &mut effects)?
    } else {
        (Amount::ZERO, Vec::new())
    };
    effects.outcome = Outcome::AssociationChanged { customer: customer.clone(), association: Some(kind), allocated, coupons };
    let mut role = record.role.clone();
    if let Role::Customer { association: linked, whitelisted, .. } = &mut role {
        *linked = Some(Association { kind, ..association.clone() });
        *whitelisted = false;
    }
    effects.records.push(Record::Party(party, PartyRecord { role, ..record.clone() }));
    Ok(effects)
}
