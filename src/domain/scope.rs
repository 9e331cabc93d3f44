//! Actor scope (SPEC 2.1) and existence checks, shared by every command and query.
//!
//! Three layers:
//! - an operator is resolved to the partner it acts for ([`acting`]), and its roles decide which
//!   commands it may send at all ([`operator_may`]);
//! - a party's **scope** ([`in_scope`]) is what it may act for and read in full: the platform
//!   everything, a partner itself, its operators, its resale customers and, as a distributor, its
//!   resellers and their resale customers, a customer itself;
//! - a partner's **reach** ([`reaches`]) adds its referral customers, over whom it has only the
//!   few acts and reads of SPEC 2.1 (their bills and consumption, orders it paid or was asked to
//!   pay, unbinding, switching, partner payment).

use super::{Command, OperatorRole, PartyRecord, PayerKind, State};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::time::Timestamp;

/// Who acts: the actor itself, or for an operator the partner it acts for, with its roles.
#[derive(Clone, Debug)]
pub struct Acting<'s> {
    /// The party whose scope applies.
    pub party: Party,
    /// The operator's id and roles, when an operator acts.
    pub operator: Option<(Id, &'s [OperatorRole])>,
}

impl Acting<'_> {
    /// An operator whose only role is `customer_manager`: limited to its assigned customers.
    pub fn managing_only(&self) -> bool {
        self.operator.as_ref().is_some_and(|(_, roles)| roles.iter().all(|role| *role == OperatorRole::CustomerManager))
    }
}

/// Resolves `actor`: the platform, a registered partner or customer, or an enabled operator.
///
/// # Errors
/// `access_denied` for an unregistered actor or a disabled operator.
pub fn acting<'s>(state: &'s State, actor: &Party) -> Result<Acting<'s>, Rejection> {
    if *actor == Party::Platform {
        return Ok(Acting { party: Party::Platform, operator: None });
    }
    let Some(record) = state.party(actor) else {
        return reject(ErrorCode::AccessDenied, format!("actor {actor} is not registered"));
    };
    let Some((partner, roles)) = record.operator() else {
        return Ok(Acting { party: actor.clone(), operator: None });
    };
    if roles.is_empty() {
        return reject(ErrorCode::AccessDenied, format!("operator {actor} is disabled"));
    }
    let id = actor.id().cloned().unwrap_or_else(Id::empty);
    Ok(Acting { party: Party::Partner(partner.clone()), operator: Some((id, roles)) })
}

/// Whether an operator with `roles` may send `command` at all (its partner's scope applies after).
pub fn operator_may(roles: &[OperatorRole], command: &Command) -> bool {
    if roles.contains(&OperatorRole::Admin) {
        return true;
    }
    if !roles.contains(&OperatorRole::Finance) {
        return false;
    }
    match command {
        Command::Allocate { .. }
        | Command::Recover { .. }
        | Command::RepayCredit { .. }
        | Command::RequestWithdrawal { .. }
        | Command::DeleteWithdrawal { .. }
        | Command::RequestInvoice { .. }
        | Command::ReturnInvoice { .. }
        | Command::RejectPartnerPayment { .. }
        | Command::PayOrder { payer: PayerKind::Partner, .. } => true,
        Command::Atomic { commands } => commands.iter().all(|inner| operator_may(roles, inner)),
        _ => false,
    }
}

/// The partner a customer is associated with, when `actor_id` is that partner or its parent
/// distributor.
fn owning_partner<'s>(state: &'s State, actor_id: &Id, record: &'s PartyRecord) -> Option<&'s super::Association> {
    let association = record.association()?;
    if association.partner == *actor_id {
        return Some(association);
    }
    let parent = state.party(&Party::Partner(association.partner.clone())).and_then(PartyRecord::parent);
    (parent == Some(actor_id)).then_some(association)
}

fn partner_scope(state: &State, actor: &Party, actor_id: &Id, party: &Party, referral_too: bool) -> bool {
    if actor == party {
        return true;
    }
    let Some(record) = state.party(party) else { return false };
    match party {
        Party::Customer(_) => owning_partner(state, actor_id, record)
            .is_some_and(|association| referral_too || association.kind == super::AssociationKind::Resale),
        Party::Partner(_) => record.parent() == Some(actor_id),
        Party::Operator(_) => record.operator().is_some_and(|(partner, _)| partner == actor_id),
        Party::Platform => false,
    }
}

/// Full scope (SPEC 2.1): the platform acts for everyone; a partner for itself, its operators, its
/// resale customers and, as a distributor, its resellers and their resale customers; a customer
/// only for itself. `actor` is already resolved (never an operator).
pub(super) fn in_scope(state: &State, actor: &Party, party: &Party) -> bool {
    match actor {
        Party::Platform => true,
        Party::Customer(_) => actor == party,
        Party::Partner(actor_id) => partner_scope(state, actor, actor_id, party, false),
        Party::Operator(_) => false,
    }
}

/// Scope plus a partner's referral customers (and its resellers' referral customers).
pub(super) fn reaches(state: &State, actor: &Party, party: &Party) -> bool {
    match actor {
        Party::Partner(actor_id) => partner_scope(state, actor, actor_id, party, true),
        _ => in_scope(state, actor, party),
    }
}

pub(super) fn require_scope(state: &State, actor: &Party, party: &Party) -> Result<(), Rejection> {
    if !in_scope(state, actor, party) {
        return reject(ErrorCode::AccessDenied, format!("{actor} may not act for {party}"));
    }
    Ok(())
}

/// How far a query reads into a party (SPEC 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Balances, statements, invoices, withdrawals: full scope only.
    Full,
    /// Bills and consumption: a partner's referral customers too, and a customer manager's
    /// assigned customers.
    Consumption,
}

/// Whether `acting` may read `party` at `at` with `reach`.
pub fn may_read(state: &State, acting: &Acting<'_>, party: &Party, reach: Reach, at: Timestamp) -> bool {
    if acting.managing_only() {
        return reach == Reach::Consumption && manages(state, acting, party, at);
    }
    match reach {
        Reach::Full => in_scope(state, &acting.party, party),
        Reach::Consumption => reaches(state, &acting.party, party),
    }
}

/// Whether the operator of `acting` is the manager in force of customer `party` at `at`, under
/// that customer's current partner.
pub fn manages(state: &State, acting: &Acting<'_>, party: &Party, at: Timestamp) -> bool {
    let (Some((operator, _)), Some(record)) = (&acting.operator, state.party(party)) else { return false };
    let partner = acting.party.partner_id();
    record.manager_at(at) == Some(operator) && record.association().is_some_and(|association| Some(&association.partner) == partner)
}

/// Only the platform may run administrative commands.
pub(super) fn require_platform(actor: &Party, op: &str) -> Result<(), Rejection> {
    if *actor != Party::Platform {
        return reject(ErrorCode::AccessDenied, format!("only the platform may {op}"));
    }
    Ok(())
}

pub(super) fn require_exists<'s>(state: &'s State, party: &Party) -> Result<&'s PartyRecord, Rejection> {
    if *party == Party::Platform {
        return reject(ErrorCode::InvalidRequest, "the platform has no such account");
    }
    state.party(party).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("{party} is not registered")))
}

/// Party ids are unique across partners, customers and operators (SPEC 1.1).
pub(super) fn require_unused_party_id(state: &State, id: &Id) -> Result<(), Rejection> {
    for party in [Party::Partner(id.clone()), Party::Customer(id.clone()), Party::Operator(id.clone())] {
        if state.party(&party).is_some() {
            return reject(ErrorCode::AlreadyExists, format!("party id {id} is taken by {party}"));
        }
    }
    Ok(())
}
