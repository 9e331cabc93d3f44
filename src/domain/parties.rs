//! Registering partners and customers, and associating customers with partners.

use super::coupons::{reclaim_coupons, usable_coupons};
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
    let record = PartyRecord { role: Role::Partner { kind, parent: parent.cloned() }, credit_limit: Amount::ZERO, held: Amount::ZERO };
    let mut effects = Effects::new(Outcome::PartnerRegistered(partner.clone()));
    effects.records.push(Record::Party(party, record));
    Ok(effects)
}

pub(super) fn register_customer(
    state: &State,
    context: &Context<'_>,
    customer: &Id,
    partner: Option<&Id>,
    association: Option<AssociationKind>,
) -> Result<Effects, Rejection> {
    let association = match partner {
        Some(partner) => {
            let partner_party = Party::Partner(partner.clone());
            require_scope(state, context.actor, &partner_party)?;
            require_exists(state, &partner_party)?;
            Some(Association { partner: partner.clone(), kind: association.unwrap_or(AssociationKind::Resale) })
        }
        None => {
            require_platform(context.actor, "register customers without a partner")?;
            None
        }
    };
    context.fresh()?;
    let party = Party::Customer(customer.clone());
    require_unused_party_id(state, customer)?;
    context.in_time(state)?;
    let role = Role::Customer { association, whitelisted: false, manager: None };
    let record = PartyRecord { role, credit_limit: Amount::ZERO, held: Amount::ZERO };
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
    if let Some(existing) = record.association() {
        return reject(ErrorCode::AssociationState, format!("{customer_party} is already associated with partner:{}", existing.partner));
    }
    if association == AssociationKind::Resale {
        require_resale_preconditions(state, context, &customer_party)?;
    }
    let Role::Customer { whitelisted, .. } = record.role else {
        return reject(ErrorCode::NotFound, format!("{customer_party} is not a customer"));
    };
    context.in_time(state)?;
    let linked = Some(Association { partner: partner.clone(), kind: association });
    let updated = PartyRecord { role: Role::Customer { association: linked, whitelisted, manager: None }, ..record.clone() };
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
fn require_no_open_request(state: &State, context: &Context<'_>, party: &Party) -> Result<(), Rejection> {
    if let Some(order) = super::orders::open_partner_payment(state, party, context.at) {
        return reject(ErrorCode::AssociationBlocked, format!("{party} has asked its partner to pay order {order}: reject or cancel it first"));
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
    let coupons: Vec<_> = usable_coupons(state, party, context.at).filter(|(_, coupon)| coupon.issuer == *partner).collect();
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
    require_no_open_request(state, context, &party)?;
    context.in_time(state)?;
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
    let role = Role::Customer { association: None, whitelisted: false, manager: None };
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
    require_no_open_request(state, context, &party)?;
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
    let manager = match &record.role {
        Role::Customer { manager, .. } => manager.clone(),
        _ => None,
    };
    let role = Role::Customer { association: Some(Association { partner: association.partner.clone(), kind }), whitelisted: false, manager };
    effects.records.push(Record::Party(party, PartyRecord { role, ..record.clone() }));
    Ok(effects)
}
