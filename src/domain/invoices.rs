//! Invoices: an invoice amount is matched (SPEC 5, [`super::matching`]) against the invoiceable
//! remainders of the bills a party paid; a returned invoice gives its matched amounts back.

use super::matching::{InvoiceItem, Matched, match_invoice};
use super::records::{Bill, Invoice, InvoiceStatus, Record};
use super::scope::{require_exists, require_scope};
use super::{Context, Effects, Index, InvoiceBasis, Outcome, State};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::Account;

/// The invoiceable items of `party`: the bills it owns for invoicing (SPEC 5: those it paid, was
/// refunded, compensated or deducted, and a referral customer's partner-paid bills) with a
/// remainder, oldest first.
pub(crate) fn invoiceable_items<'s>(state: &'s State, party: &'s Party) -> impl Iterator<Item = (&'s Id, &'s Bill, Amount)> + 's {
    state.indexed(Index::Bills, party).filter_map(move |id| {
        let bill = state.bill(id).filter(|bill| bill.invoice_owner == *party)?;
        let remaining = Amount::from_minor(bill.invoiceable.minor() - bill.invoiced.minor());
        (!remaining.is_zero()).then_some((id, bill, remaining))
    })
}

/// What is still invoiceable of a bill (signed).
fn remaining(bill: &Bill) -> Amount {
    Amount::from_minor(bill.invoiceable.minor() - bill.invoiced.minor())
}

fn require_invoice<'s>(state: &'s State, id: &Id) -> Result<&'s Invoice, Rejection> {
    state.invoice(id).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("invoice {id} does not exist")))
}

/// Bills with `matched` added to (or, `sign` -1, taken from) what they have invoiced.
fn rebill(state: &State, matched: &[Matched], sign: i128) -> Result<Vec<Record>, Rejection> {
    matched
        .iter()
        .map(|matched| {
            let bill = state
                .bill(&matched.bill)
                .ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("bill {} does not exist", matched.bill)))?;
            let invoiced = bill.invoiced.checked_add(Amount::from_minor(sign * matched.amount.minor()))?;
            Ok(Record::Bill(matched.bill.clone(), Bill { invoiced, ..bill.clone() }))
        })
        .collect()
}

/// The bills named by an invoice by bills: each must be the party's (`not_found` otherwise).
fn require_owned_bills(state: &State, party: &Party, basis: &InvoiceBasis) -> Result<(), Rejection> {
    let InvoiceBasis::Bills(bills) = basis else { return Ok(()) };
    for bill in bills {
        if state.bill(bill).is_none_or(|record| record.invoice_owner != *party) {
            return reject(ErrorCode::NotFound, format!("bill {bill} is not a bill {party} may invoice"));
        }
    }
    Ok(())
}

/// Every item of the named cycles or bills, matched in full (SPEC v2 3 Invoices).
fn match_in_full(state: &State, party: &Party, basis: &InvoiceBasis) -> Result<Vec<Matched>, Rejection> {
    let matched: Vec<Matched> = match basis {
        InvoiceBasis::Amount(_) => return Ok(Vec::new()),
        InvoiceBasis::Cycles(cycles) => invoiceable_items(state, party)
            .filter(|(_, bill, _)| cycles.contains(&bill.at.cycle()))
            .map(|(bill, _, remaining)| Matched { bill: bill.clone(), amount: remaining })
            .collect(),
        InvoiceBasis::Bills(bills) => {
            bills.iter().filter_map(|id| state.bill(id).map(|bill| Matched { bill: id.clone(), amount: remaining(bill) })).collect()
        }
    };
    let mut total = Amount::ZERO;
    for item in &matched {
        total = total.checked_add(item.amount)?;
    }
    if !total.is_positive() {
        return reject(ErrorCode::ExceedsInvoiceable, format!("the items named sum to {total}: nothing to invoice"));
    }
    Ok(matched)
}

pub(super) fn request(state: &State, context: &Context<'_>, id: &Id, party: &Party, basis: &InvoiceBasis) -> Result<Effects, Rejection> {
    require_scope(state, context.actor, party)?;
    require_exists(state, party)?;
    require_owned_bills(state, party, basis)?;
    context.fresh()?;
    if state.invoice(id).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("invoice {id} already exists"));
    }
    let debt = state.balance(&Account::arrears(party)).checked_neg()?;
    if debt.is_positive() {
        return reject(ErrorCode::DebtOutstanding, format!("{party} owes {debt}: repay the debt before invoicing"));
    }
    // `already_invoiced` is a state error: before the time check.
    if let InvoiceBasis::Bills(bills) = basis
        && let Some(bill) = bills.iter().find(|bill| state.bill(bill).is_some_and(|record| remaining(record).is_zero()))
    {
        return reject(ErrorCode::AlreadyInvoiced, format!("bill {bill} has nothing left to invoice"));
    }
    context.in_time(state)?;
    let matched = match basis {
        InvoiceBasis::Amount(amount) => {
            let items: Vec<InvoiceItem> = invoiceable_items(state, party)
                .map(|(bill, record, remaining)| InvoiceItem { bill: bill.clone(), at: record.at, remaining })
                .collect();
            match_invoice(&items, *amount)?
        }
        basis => match_in_full(state, party, basis)?,
    };
    let mut amount = Amount::ZERO;
    for item in &matched {
        amount = amount.checked_add(item.amount)?;
    }
    let mut effects = Effects::new(Outcome::Invoiced { invoice: id.clone(), matched: matched.clone() });
    effects.records = rebill(state, &matched, 1)?;
    let invoice = Invoice { party: party.clone(), amount, status: InvoiceStatus::Issued, matched, at: context.at, seq: context.seq };
    effects.records.push(Record::Invoice(id.clone(), invoice));
    Ok(effects)
}

pub(super) fn return_invoice(state: &State, context: &Context<'_>, id: &Id) -> Result<Effects, Rejection> {
    let invoice = require_invoice(state, id)?;
    require_scope(state, context.actor, &invoice.party)?;
    context.fresh()?;
    if invoice.status != InvoiceStatus::Issued {
        return reject(ErrorCode::InvoiceState, format!("invoice {id} is {}, not issued", invoice.status.name()));
    }
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::InvoiceReturned(id.clone()));
    effects.records = rebill(state, &invoice.matched, -1)?;
    effects.records.push(Record::Invoice(id.clone(), Invoice { status: InvoiceStatus::Returned, ..invoice.clone() }));
    Ok(effects)
}
