//! Registering partners and customers, and associating customers with partners.

use super::coupons::{reclaim_coupons, usable_coupons};
use super::records::Record;
use super::scope::{in_scope, require_exists, require_platform, require_scope};
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
    if state.party(&party).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("{party} already exists"));
    }
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
    if state.party(&party).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("{party} already exists"));
    }
    context.in_time(state)?;
    let record = PartyRecord { role: Role::Customer { association, whitelisted: false }, credit_limit: Amount::ZERO, held: Amount::ZERO };
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
    let updated = PartyRecord {
        role: Role::Customer { association: Some(Association { partner: partner.clone(), kind: association }), whitelisted },
        ..record.clone()
    };
    let mut effects = Effects::new(Outcome::Associated { customer: customer.clone(), partner: partner.clone(), association });
    effects.records.push(Record::Party(customer_party, updated));
    Ok(effects)
}

/// A resale association needs zero cash, zero arrears, zero credit used and no usable coupon.
pub(super) fn require_resale_preconditions(state: &State, context: &Context<'_>, customer: &Party) -> Result<(), Rejection> {
    let blockers =
        [(Account::cash(customer), "cash"), (Account::arrears(customer), "arrears"), (Account::credit(customer), "credit in use")];
    for (account, what) in blockers {
        if !state.balance(&account).is_zero() {
            return reject(ErrorCode::AssociationBlocked, format!("{customer} has {what}: a resale association needs none"));
        }
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
        Party::Partner(_) => in_scope(state, context.actor, party),
        Party::Customer(_) => false,
    };
    if !allowed {
        return reject(ErrorCode::AccessDenied, format!("only the partner of {party} may change its association"));
    }
    let record = require_exists(state, party)?;
    context.fresh()?;
    Ok((record, record.association()))
}

/// A resale customer's reclaim: its available cash back to the partner (an `unbind_reclaim`
/// adjust record) and every usable coupon the partner issued back to its quota. Debt stays.
fn reclaim(
    state: &State,
    context: &Context<'_>,
    party: &Party,
    partner: &Id,
    effects: &mut Effects,
) -> Result<(Amount, Vec<Id>), Rejection> {
    let cash = state.available(party).max(Amount::ZERO);
    if cash.is_positive() {
        let partner_party = Party::Partner(partner.clone());
        effects.postings.push(crate::journal::Posting { account: Account::cash(party), amount: cash.checked_neg()?, part: context.part });
        effects.postings.push(crate::journal::Posting { account: Account::cash(&partner_party), amount: cash, part: context.part });
        let record = AdjustRecord {
            operation: AdjustOperation::UnbindReclaim,
            partner: partner.clone(),
            target: party.clone(),
            amount: cash,
            memo: None,
        };
        effects.adjust_records.push(record);
    }
    let coupons: Vec<_> = usable_coupons(state, party, context.at).filter(|(_, coupon)| coupon.issuer == *partner).collect();
    let ids = coupons.iter().map(|(id, _)| (*id).clone()).collect();
    let (postings, records) = reclaim_coupons(state, context, coupons)?;
    effects.postings.extend(postings);
    effects.records.extend(records);
    Ok((cash, ids))
}

pub(super) fn unbind(state: &State, context: &Context<'_>, customer: &Id) -> Result<Effects, Rejection> {
    let party = Party::Customer(customer.clone());
    let (record, association) = require_association(state, context, &party, true)?;
    let Some(association) = association else {
        return reject(ErrorCode::AssociationState, format!("{party} is not associated"));
    };
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::AssociationChanged {
        customer: customer.clone(),
        association: None,
        cash: Amount::ZERO,
        coupons: Vec::new(),
    });
    let (cash, coupons) = if association.kind == AssociationKind::Resale {
        reclaim(state, context, &party, &association.partner, &mut effects)?
    } else {
        (Amount::ZERO, Vec::new())
    };
    effects.outcome = Outcome::AssociationChanged { customer: customer.clone(), association: None, cash, coupons };
    effects
        .records
        .push(Record::Party(party, PartyRecord { role: Role::Customer { association: None, whitelisted: false }, ..record.clone() }));
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
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::AssociationChanged {
        customer: customer.clone(),
        association: Some(kind),
        cash: Amount::ZERO,
        coupons: Vec::new(),
    });
    let (cash, coupons) = if kind == AssociationKind::Referral {
        reclaim(state, context, &party, &association.partner, &mut effects)?
    } else {
        (Amount::ZERO, Vec::new())
    };
    effects.outcome = Outcome::AssociationChanged { customer: customer.clone(), association: Some(kind), cash, coupons };
    let role = Role::Customer { association: Some(Association { partner: association.partner.clone(), kind }), whitelisted: false };
    effects.records.push(Record::Party(party, PartyRecord { role, ..record.clone() }));
    Ok(effects)
}
