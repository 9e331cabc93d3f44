//! Two-phase withdrawals: a request holds cash (still in `cash`, no longer available); approval
//! pays it out to `bank`; rejection releases it; a rejected one may be deleted from the listings.

use super::records::{Record, Withdrawal, WithdrawalStatus};
use super::scope::{require_exists, require_platform};
use super::{AssociationKind, Context, Effects, Index, Outcome, PartyRecord, State};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{Account, AccountKind, Posting};

fn require_withdrawal<'s>(state: &'s State, id: &Id) -> Result<&'s Withdrawal, Rejection> {
    state.withdrawal(id).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("withdrawal {id} does not exist")))
}

fn require_status(id: &Id, withdrawal: &Withdrawal, status: WithdrawalStatus) -> Result<(), Rejection> {
    if withdrawal.status != status {
        return reject(ErrorCode::WithdrawalState, format!("withdrawal {id} is {}, not {}", withdrawal.status.name(), status.name()));
    }
    Ok(())
}

/// The total debt of a partner's resale customers: a partner may not withdraw it.
fn resale_customers_debt(state: &State, partner: &Party) -> Result<Amount, Rejection> {
    let mut total = Amount::ZERO;
    for customer in state.indexed(Index::PartnerCustomers, partner) {
        let party = Party::Customer(customer.clone());
        let resale =
            state.party(&party).and_then(PartyRecord::association).is_some_and(|association| association.kind == AssociationKind::Resale);
        if resale {
            total = total.checked_add(state.balance(&Account::arrears(&party)).checked_neg()?)?;
        }
    }
    Ok(total)
}

/// A party's pending withdrawal, if any.
fn pending_withdrawal<'s>(state: &'s State, party: &'s Party) -> Option<&'s Id> {
    state
        .indexed(Index::Withdrawals, party)
        .find(|id| state.withdrawal(id).is_some_and(|withdrawal| withdrawal.status == WithdrawalStatus::Pending))
}

/// What a party may withdraw now, and what keeps the rest back.
pub(crate) struct Withdrawable {
    /// Available cash less the two deductions, at least zero.
    pub amount: Amount,
    /// A partner's resale customers' total debt.
    pub debt: Amount,
    /// Money invoiced but since given back (欠票): `max(0, -(sum of invoiceable remaining))`.
    pub over_invoiced: Amount,
}

/// The withdrawable amount (SPEC 3 Withdrawals): available cash, minus for a partner the debt of
/// its resale customers, minus the party's over-invoiced amount. A customer's `allocated` is its
/// partner's and never counts.
pub(crate) fn withdrawable(state: &State, party: &Party) -> Result<Withdrawable, Rejection> {
    let debt = if matches!(party, Party::Partner(_)) { resale_customers_debt(state, party)? } else { Amount::ZERO };
    let over_invoiced = over_invoiced(state, party)?;
    let amount = state.available(party).checked_sub(debt)?.checked_sub(over_invoiced)?.max(Amount::ZERO);
    Ok(Withdrawable { amount, debt, over_invoiced })
}

/// `max(0, -(sum of the party's invoiceable remaining))`.
pub(crate) fn over_invoiced(state: &State, party: &Party) -> Result<Amount, Rejection> {
    let mut total = Amount::ZERO;
    for (_, _, remaining) in super::invoiceable_items(state, party) {
        total = total.checked_add(remaining)?;
    }
    Ok(total.checked_neg()?.max(Amount::ZERO))
}

fn with_held(state: &State, party: &Party, change: Amount) -> Result<Record, Rejection> {
    let record = require_exists(state, party)?;
    Ok(Record::Party(party.clone(), PartyRecord { held: record.held.checked_add(change)?, ..record.clone() }))
}

pub(super) fn request(state: &State, context: &Context<'_>, id: &Id, party: &Party, amount: Amount) -> Result<Effects, Rejection> {
    // Money leaves the platform for the party's own bank account: only the party asks for it.
    if context.actor != party {
        return reject(ErrorCode::AccessDenied, format!("only {party} may withdraw its cash"));
    }
    require_exists(state, party)?;
    context.fresh()?;
    if state.withdrawal(id).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("withdrawal {id} already exists"));
    }
    if let Some(pending) = pending_withdrawal(state, party) {
        return reject(ErrorCode::WithdrawalState, format!("{party} has withdrawal {pending} pending: one at a time"));
    }
    context.in_time(state)?;
    let withdrawable = withdrawable(state, party)?;
    if amount > withdrawable.amount {
        return reject(
            ErrorCode::InsufficientFunds,
            format!(
                "{party} can withdraw {} (its resale customers owe {}, over-invoiced {}), not {amount}",
                withdrawable.amount, withdrawable.debt, withdrawable.over_invoiced
            ),
        );
    }
    let withdrawal =
        Withdrawal { party: party.clone(), amount, status: WithdrawalStatus::Pending, reason: None, at: context.at, seq: context.seq };
    let mut effects = Effects::new(Outcome::Withdrawal { withdrawal: id.clone(), status: WithdrawalStatus::Pending });
    effects.records = vec![with_held(state, party, amount)?, Record::Withdrawal(id.clone(), withdrawal)];
    Ok(effects)
}

pub(super) fn approve(state: &State, context: &Context<'_>, id: &Id) -> Result<Effects, Rejection> {
    require_platform(context.actor, "approve withdrawals")?;
    let withdrawal = require_withdrawal(state, id)?;
    context.fresh()?;
    require_status(id, withdrawal, WithdrawalStatus::Pending)?;
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::Withdrawal { withdrawal: id.clone(), status: WithdrawalStatus::Approved });
    effects.postings = vec![
        Posting { account: Account::cash(&withdrawal.party), amount: withdrawal.amount.checked_neg()?, part: context.part },
        Posting { account: Account::platform(AccountKind::Bank), amount: withdrawal.amount, part: context.part },
    ];
    effects.records = vec![
        with_held(state, &withdrawal.party, withdrawal.amount.checked_neg()?)?,
        Record::Withdrawal(id.clone(), Withdrawal { status: WithdrawalStatus::Approved, ..withdrawal.clone() }),
    ];
    Ok(effects)
}

pub(super) fn reject_withdrawal(state: &State, context: &Context<'_>, id: &Id, reason: &str) -> Result<Effects, Rejection> {
    require_platform(context.actor, "reject withdrawals")?;
    let withdrawal = require_withdrawal(state, id)?;
    context.fresh()?;
    require_status(id, withdrawal, WithdrawalStatus::Pending)?;
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::Withdrawal { withdrawal: id.clone(), status: WithdrawalStatus::Rejected });
    let rejected = Withdrawal { status: WithdrawalStatus::Rejected, reason: Some(reason.to_owned()), ..withdrawal.clone() };
    effects.records =
        vec![with_held(state, &withdrawal.party, withdrawal.amount.checked_neg()?)?, Record::Withdrawal(id.clone(), rejected)];
    Ok(effects)
}

pub(super) fn delete(state: &State, context: &Context<'_>, id: &Id) -> Result<Effects, Rejection> {
    let withdrawal = require_withdrawal(state, id)?;
    if *context.actor != withdrawal.party {
        return reject(ErrorCode::AccessDenied, format!("only {} may delete withdrawal {id}", withdrawal.party));
    }
    context.fresh()?;
    require_status(id, withdrawal, WithdrawalStatus::Rejected)?;
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::Withdrawal { withdrawal: id.clone(), status: WithdrawalStatus::Deleted });
    effects.records = vec![Record::Withdrawal(id.clone(), Withdrawal { status: WithdrawalStatus::Deleted, ..withdrawal.clone() })];
    Ok(effects)
}
