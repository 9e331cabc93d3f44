//! Actor scope (SPEC 2.1) and existence checks, shared by every command and query.

use super::{PartyRecord, State};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::Party;

/// An actor must be the platform or a registered party.
pub(super) fn require_registered(state: &State, actor: &Party) -> Result<(), Rejection> {
    if *actor != Party::Platform && state.party(actor).is_none() {
        return reject(ErrorCode::AccessDenied, format!("actor {actor} is not registered"));
    }
    Ok(())
}

/// The platform acts for everyone; a partner for itself, its customers and, as a distributor, its
/// resellers and their customers; a customer only for itself.
pub(super) fn in_scope(state: &State, actor: &Party, party: &Party) -> bool {
    match actor {
        Party::Platform => true,
        Party::Customer(_) => actor == party,
        Party::Partner(actor_id) => {
            if actor == party {
                return true;
            }
            let Some(record) = state.party(party) else { return false };
            let owner = match (party, record.parent(), record.association()) {
                (Party::Partner(_), Some(parent), _) => parent.clone(),
                (Party::Customer(_), _, Some(association)) => association.partner.clone(),
                _ => return false,
            };
            if owner == *actor_id {
                return true;
            }
            // A customer of one of the actor's resellers.
            let owner_party = Party::Partner(owner);
            matches!(party, Party::Customer(_))
                && state.party(&owner_party).and_then(PartyRecord::parent).is_some_and(|parent| parent == actor_id)
        }
    }
}

pub(super) fn require_scope(state: &State, actor: &Party, party: &Party) -> Result<(), Rejection> {
    if !in_scope(state, actor, party) {
        return reject(ErrorCode::AccessDenied, format!("{actor} may not act for {party}"));
    }
    Ok(())
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
