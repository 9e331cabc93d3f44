//! Operators (SPEC 3 "Operators"): people acting for one partner within roles, and the customer
//! managers assigned to customers from the next UTC+8 day.

use super::records::Record;
use super::scope::{require_exists, require_unused_party_id};
use super::{Context, Effects, ManagerAssignment, OperatorRole, Outcome, PartyRecord, Role, State};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};

/// Operators are managed by the platform or their own partner (an `admin` acts as its partner).
fn require_manager_of(context: &Context<'_>, partner: &Id) -> Result<(), Rejection> {
    if *context.actor != Party::Platform && context.actor.partner_id() != Some(partner) {
        return reject(ErrorCode::AccessDenied, format!("only the platform or partner:{partner} may manage its operators"));
    }
    Ok(())
}

fn sorted(roles: &[OperatorRole]) -> Vec<OperatorRole> {
    let mut roles = roles.to_vec();
    roles.sort();
    roles
}

pub(super) fn register(
    state: &State,
    context: &Context<'_>,
    operator: &Id,
    partner: &Id,
    roles: &[OperatorRole],
) -> Result<Effects, Rejection> {
    require_manager_of(context, partner)?;
    let partner_party = Party::Partner(partner.clone());
    require_exists(state, &partner_party)?;
    context.fresh()?;
    require_unused_party_id(state, operator)?;
    context.in_time(state)?;
    let role = Role::Operator { partner: partner.clone(), roles: sorted(roles) };
    let record = PartyRecord { role, credit_limit: Amount::ZERO, held: Amount::ZERO, registered_at: context.at, seq: context.seq };
    let mut effects = Effects::new(Outcome::OperatorRegistered(operator.clone()));
    effects.records.push(Record::Party(Party::Operator(operator.clone()), record));
    Ok(effects)
}

pub(super) fn set_roles(state: &State, context: &Context<'_>, operator: &Id, roles: &[OperatorRole]) -> Result<Effects, Rejection> {
    let party = Party::Operator(operator.clone());
    let record = state.party(&party).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("{party} is not registered")))?;
    let Some((partner, _)) = record.operator() else {
        return reject(ErrorCode::NotFound, format!("{party} is not an operator"));
    };
    require_manager_of(context, partner)?;
    context.fresh()?;
    context.in_time(state)?;
    let roles = sorted(roles);
    let mut effects = Effects::new(Outcome::OperatorRoles { operator: operator.clone(), roles: roles.clone() });
    effects.records.push(Record::Party(party, PartyRecord { role: Role::Operator { partner: partner.clone(), roles }, ..record.clone() }));
    Ok(effects)
}

pub(super) fn assign_manager(state: &State, context: &Context<'_>, customer: &Id, operator: Option<&Id>) -> Result<Effects, Rejection> {
    let party = Party::Customer(customer.clone());
    let record = state.party(&party);
    let partner = record.and_then(PartyRecord::association).map(|association| &association.partner);
    let allowed = *context.actor == Party::Platform || partner.is_some_and(|partner| context.actor.partner_id() == Some(partner));
    if !allowed {
        return reject(ErrorCode::AccessDenied, format!("only the platform or the partner of {party} assigns its manager"));
    }
    let record = require_exists(state, &party)?;
    let named = match operator {
        Some(operator) => {
            let operator_record = require_exists(state, &Party::Operator(operator.clone()))?;
            let Some((operator_partner, roles)) = operator_record.operator() else {
                return reject(ErrorCode::NotFound, format!("operator:{operator} is not an operator"));
            };
            // Malformed once the operator is known: ranks before id reuse and relationships (SPEC 2.2).
            if !roles.contains(&OperatorRole::CustomerManager) {
                return reject(ErrorCode::InvalidRequest, format!("operator:{operator} does not hold the customer_manager role"));
            }
            Some((operator, operator_partner))
        }
        None => None,
    };
    context.fresh()?;
    if let Some((operator, operator_partner)) = named
        && Some(operator_partner) != partner
    {
        return reject(ErrorCode::NotYourCustomer, format!("operator:{operator} does not act for the partner of {party}"));
    }
    context.in_time(state)?;
    let mut role = record.role.clone();
    let Role::Customer { manager, .. } = &mut role else {
        return reject(ErrorCode::NotFound, format!("{party} is not a customer"));
    };
    let assignment = ManagerAssignment {
        previous: manager.as_ref().and_then(|manager| manager.at(context.at)).cloned(),
        current: operator.cloned(),
        from: context.at.next_cycle_day(),
    };
    let from = assignment.from;
    *manager = Some(assignment);
    let mut effects = Effects::new(Outcome::ManagerAssigned { customer: customer.clone(), operator: operator.cloned(), from });
    effects.records.push(Record::Party(party, PartyRecord { role, ..record.clone() }));
    Ok(effects)
}
