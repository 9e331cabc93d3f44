//! Registering partners and customers, and associating customers with partners.

use super::scope::{require_exists, require_platform, require_scope};
use super::{Association, AssociationKind, Context, Effects, Outcome, PartnerKind, PartyRecord, Role, State};
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
    let record = PartyRecord { role: Role::Partner { kind, parent: parent.cloned() }, credit_limit: Amount::ZERO, held: Amount::ZERO };
    let mut effects = Effects::new(Outcome::PartnerRegistered(partner.clone()));
    effects.parties.push((party, record));
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
    let record = PartyRecord { role: Role::Customer { association, whitelisted: false }, credit_limit: Amount::ZERO, held: Amount::ZERO };
    let mut effects = Effects::new(Outcome::CustomerRegistered(customer.clone()));
    effects.parties.push((party, record));
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
        require_resale_preconditions(state, &customer_party)?;
    }
    let Role::Customer { whitelisted, .. } = record.role else {
        return reject(ErrorCode::NotFound, format!("{customer_party} is not a customer"));
    };
    let updated = PartyRecord {
        role: Role::Customer { association: Some(Association { partner: partner.clone(), kind: association }), whitelisted },
        ..record.clone()
    };
    let mut effects = Effects::new(Outcome::Associated { customer: customer.clone(), partner: partner.clone(), association });
    effects.parties.push((customer_party, updated));
    Ok(effects)
}

/// A resale association needs zero cash, zero arrears, zero credit used and no usable coupon.
pub(super) fn require_resale_preconditions(state: &State, customer: &Party) -> Result<(), Rejection> {
    let blockers = [
        (Account::cash(customer), "cash"),
        (Account::arrears(customer), "arrears"),
        (Account::credit(customer), "credit in use"),
    ];
    for (account, what) in blockers {
        if !state.balance(&account).is_zero() {
            return reject(ErrorCode::AssociationBlocked, format!("{customer} has {what}: a resale association needs none"));
        }
    }
    Ok(())
}
