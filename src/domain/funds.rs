//! Money between the platform, partners and customers: recharges, allocations, recoveries,
//! credit, and adjustments. Incoming money repays a customer's debt before it reaches cash.

use super::records::{Bill, BillType, Record};
use super::scope::{require_exists, require_platform, require_scope};
use super::{AdjustOperation, AdjustRecord, Context, Direction, Effects, Outcome, PartnerKind, PartyRecord, State};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{Account, AccountKind, Posting};

fn posting(context: &Context<'_>, account: Account, amount: Amount) -> Posting {
    Posting { account, amount, part: context.part }
}

/// Postings for `amount` arriving at `party`'s cash: debt first. Returns (repaid, to cash).
pub(super) fn incoming(
    state: &State,
    context: &Context<'_>,
    party: &Party,
    amount: Amount,
    postings: &mut Vec<Posting>,
) -> Result<(Amount, Amount), Rejection> {
    incoming_to(state, context, Account::cash(party), amount, postings)
}

/// Postings for `amount` arriving at `account` (a cash or `allocated` account): a customer's
/// debt first, counting debt repaid earlier in the same `postings`. Returns (repaid, to account).
pub(super) fn incoming_to(
    state: &State,
    context: &Context<'_>,
    account: Account,
    amount: Amount,
    postings: &mut Vec<Posting>,
) -> Result<(Amount, Amount), Rejection> {
    let party = account.owner.clone();
    let arrears = Account::arrears(&party);
    let mut debt = state.balance(&arrears).checked_neg()?;
    for earlier in postings.iter().filter(|posting| posting.account == arrears) {
        debt = debt.checked_sub(earlier.amount)?;
    }
    let repaid = if matches!(party, Party::Customer(_)) { amount.min(debt.max(Amount::ZERO)) } else { Amount::ZERO };
    let rest = amount.checked_sub(repaid)?;
    if repaid.is_positive() {
        postings.push(posting(context, arrears, repaid));
    }
    if rest.is_positive() {
        postings.push(posting(context, account, rest));
    }
    Ok((repaid, rest))
}

/// Where a partner's funds land at `party`: a customer's `allocated`, a reseller's cash.
pub(super) fn funds_account(party: &Party) -> Account {
    match party {
        Party::Customer(_) => Account::allocated(party),
        _ => Account::cash(party),
    }
}

fn require_available(state: &State, party: &Party, amount: Amount) -> Result<(), Rejection> {
    let available = state.available(party);
    if available < amount {
        return reject(ErrorCode::InsufficientFunds, format!("{party} has {available} available, needs {amount}"));
    }
    Ok(())
}

pub(super) fn is_resale_customer(record: &PartyRecord) -> bool {
    record.association().is_some_and(|association| association.kind == super::AssociationKind::Resale)
}

pub(super) fn recharge(state: &State, context: &Context<'_>, party: &Party, amount: Amount) -> Result<Effects, Rejection> {
    require_platform(context.actor, "recharge")?;
    let record = require_exists(state, party)?;
    context.fresh()?;
    if is_resale_customer(record) {
        return reject(ErrorCode::ResaleCustomer, format!("{party} is a resale customer: its partner funds it"));
    }
    context.in_time(state)?;
    let mut postings = vec![posting(context, Account::platform(AccountKind::Bank), amount.checked_neg()?)];
    let (arrears_repaid, cash) = incoming(state, context, party, amount, &mut postings)?;
    let mut effects = Effects::new(Outcome::Funded { arrears_repaid, cash });
    effects.postings = postings;
    Ok(effects)
}

/// The partner whose funds a transfer moves, as the command says it: the one it names, else the
/// actor when a partner acts.
fn named_partner(actor: &Party, partner: Option<&Id>) -> Option<Party> {
    match (partner, actor) {
        (Some(partner), _) => Some(Party::Partner(partner.clone())),
        (None, Party::Partner(actor)) => Some(Party::Partner(actor.clone())),
        (None, _) => None,
    }
}

/// The accounts a transfer between `partner` and `counterparty` moves funds between: the
/// partner's cash and the counterparty's funds (an allocation takes from the first, a recovery
/// from the second).
fn transfer_accounts(partner: &Party, counterparty: &Party) -> (Account, Account) {
    (Account::cash(partner), funds_account(counterparty))
}

/// The postings of a transfer (`allocate`, `recover`) when its command alone gives them: the
/// partner it names or that acts, the whole amount from one account to the other (no debt
/// repaid on the way), outside an atomic group. `None` for every other command, and for a
/// transfer whose partner only the state knows. A lean journal record leaves out postings that
/// are exactly these.
pub fn transfer_postings(actor: &Party, command: &super::Command) -> Option<Vec<Posting>> {
    let (partner, counterparty, amount, allocate) = match command {
        super::Command::Allocate { partner, to, amount, .. } => (partner, to, *amount, true),
        super::Command::Recover { partner, from, amount, .. } => (partner, from, *amount, false),
        _ => return None,
    };
    let partner = named_partner(actor, partner.as_ref())?;
    let (cash, funds) = transfer_accounts(&partner, counterparty);
    let (from, to) = if allocate { (cash, funds) } else { (funds, cash) };
    Some(vec![Posting { account: from, amount: amount.checked_neg().ok()?, part: 0 }, Posting { account: to, amount, part: 0 }])
}

/// The partner an allocation or recovery acts for: `partner` or the actor, checked for scope.
fn acting_partner(state: &State, context: &Context<'_>, partner: Option<&Id>) -> Result<Party, Rejection> {
    let Some(partner) = named_partner(context.actor, partner) else {
        return reject(ErrorCode::AccessDenied, format!("{} is not a partner: name the partner", context.actor));
    };
    // Moving a partner's money is the partner's act (or its distributor's), not an administrative one.
    if *context.actor == Party::Platform || !super::scope::in_scope(state, context.actor, &partner) {
        return reject(ErrorCode::AccessDenied, format!("{} may not move the funds of {partner}", context.actor));
    }
    Ok(partner)
}

/// `counterparty` must be a resale customer of `partner`, or a reseller of `partner` when it is a
/// distributor.
fn require_relationship(state: &State, partner: &Party, partner_record: &PartyRecord, counterparty: &Party) -> Result<(), Rejection> {
    let counterparty_record = require_exists(state, counterparty)?;
    let partner_id = partner.partner_id();
    match counterparty {
        Party::Customer(_) => match counterparty_record.association() {
            Some(association) if Some(&association.partner) == partner_id => {
                if is_resale_customer(counterparty_record) {
                    Ok(())
                } else {
                    reject(ErrorCode::NotResaleCustomer, format!("{counterparty} is a referral customer of {partner}"))
                }
            }
            _ => reject(ErrorCode::NotYourCustomer, format!("{counterparty} is not a customer of {partner}")),
        },
        _ => {
            let is_reseller = partner_record.partner_kind() == Some(PartnerKind::Distributor)
                && counterparty_record.parent().is_some_and(|parent| Some(parent) == partner_id);
            if is_reseller { Ok(()) } else { reject(ErrorCode::NotYourReseller, format!("{counterparty} is not a reseller of {partner}")) }
        }
    }
}

pub(super) fn allocate(
    state: &State,
    context: &Context<'_>,
    partner: Option<&Id>,
    to: &Party,
    amount: Amount,
    memo: &Option<String>,
) -> Result<Effects, Rejection> {
    let partner = acting_partner(state, context, partner)?;
    let partner_record = require_exists(state, &partner)?;
    require_exists(state, to)?;
    context.fresh()?;
    require_relationship(state, &partner, partner_record, to)?;
    context.in_time(state)?;
    require_available(state, &partner, amount)?;
    let (source, destination) = transfer_accounts(&partner, to);
    let mut postings = vec![posting(context, source, amount.checked_neg()?)];
    incoming_to(state, context, destination, amount, &mut postings)?;
    Ok(transfer(context, AdjustOperation::Allocate, &partner, to, amount, memo, postings))
}

pub(super) fn recover(
    state: &State,
    context: &Context<'_>,
    partner: Option<&Id>,
    from: &Party,
    amount: Amount,
    memo: &Option<String>,
) -> Result<Effects, Rejection> {
    let partner = acting_partner(state, context, partner)?;
    let partner_record = require_exists(state, &partner)?;
    require_exists(state, from)?;
    context.fresh()?;
    require_relationship(state, &partner, partner_record, from)?;
    context.in_time(state)?;
    // A partner takes back only what it allocated: a customer's `allocated`, never its own cash.
    let (destination, source) = transfer_accounts(&partner, from);
    let recoverable = if matches!(from, Party::Customer(_)) { state.balance(&source) } else { state.available(from) };
    if recoverable < amount {
        return reject(ErrorCode::InsufficientFunds, format!("{from} has {recoverable} of {partner}'s funds, needs {amount}"));
    }
    let postings = vec![posting(context, source, amount.checked_neg()?), posting(context, destination, amount)];
    Ok(transfer(context, AdjustOperation::Recover, &partner, from, amount, memo, postings))
}

fn transfer(
    context: &Context<'_>,
    operation: AdjustOperation,
    partner: &Party,
    target: &Party,
    amount: Amount,
    memo: &Option<String>,
    postings: Vec<Posting>,
) -> Effects {
    let mut effects = Effects::new(Outcome::Transfer(context.request.clone()));
    effects.postings = postings;
    let partner = partner.partner_id().cloned().expect("acting_partner returns a partner");
    effects.adjust_records.push(AdjustRecord { operation, partner, target: target.clone(), amount, memo: memo.clone() });
    effects
}

pub(super) fn set_credit_limit(state: &State, context: &Context<'_>, party: &Party, limit: Amount) -> Result<Effects, Rejection> {
    require_platform(context.actor, "set credit limits")?;
    let record = require_exists(state, party)?;
    context.fresh()?;
    if limit.is_positive() && is_resale_customer(record) {
        return reject(ErrorCode::ResaleCustomer, format!("{party} is a resale customer: its partner funds it, it has no credit"));
    }
    let used = state.balance(&Account::credit(party)).checked_neg()?;
    if limit < used {
        return reject(ErrorCode::CreditLimitBelowUsage, format!("{party} uses {used} of credit, above the limit {limit}"));
    }
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::CreditLimit(limit));
    effects.records.push(Record::Party(party.clone(), PartyRecord { credit_limit: limit, ..record.clone() }));
    Ok(effects)
}

pub(super) fn repay_credit(state: &State, context: &Context<'_>, party: &Party, amount: Amount) -> Result<Effects, Rejection> {
    require_scope(state, context.actor, party)?;
    require_exists(state, party)?;
    context.fresh()?;
    let used = state.balance(&Account::credit(party)).checked_neg()?;
    if amount > used {
        return reject(ErrorCode::ExceedsCreditUsed, format!("{party} uses {used} of credit, less than {amount}"));
    }
    context.in_time(state)?;
    require_available(state, party, amount)?;
    let mut effects = Effects::new(Outcome::CreditRepaid(amount));
    effects.postings =
        vec![posting(context, Account::cash(party), amount.checked_neg()?), posting(context, Account::credit(party), amount)];
    Ok(effects)
}

pub(super) fn adjust(
    state: &State,
    context: &Context<'_>,
    party: &Party,
    direction: Direction,
    amount: Amount,
) -> Result<Effects, Rejection> {
    require_platform(context.actor, "adjust balances")?;
    require_exists(state, party)?;
    context.fresh()?;
    let bill_id = super::orders::request_bill_id(context);
    if state.bill(&bill_id).is_some() || state.order(&bill_id).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("bill {bill_id} already exists"));
    }
    context.in_time(state)?;
    let revenue = Account::platform(AccountKind::Revenue);
    let (mut effects, bill_type, signed) = match direction {
        Direction::Compensate => {
            let mut postings = vec![posting(context, revenue, amount.checked_neg()?)];
            let (arrears_repaid, cash) = incoming(state, context, party, amount, &mut postings)?;
            let mut effects = Effects::new(Outcome::Funded { arrears_repaid, cash });
            effects.postings = postings;
            (effects, BillType::Compensation, amount.checked_neg()?)
        }
        Direction::Deduct => {
            require_available(state, party, amount)?;
            let mut effects = Effects::new(Outcome::Deducted(amount));
            effects.postings = vec![posting(context, Account::cash(party), amount.checked_neg()?), posting(context, revenue, amount)];
            (effects, BillType::Deduction, amount)
        }
    };
    let bill = Bill {
        bill_type,
        at: context.at,
        customer: party.customer_id().cloned(),
        payer: party.clone(),
        order: None,
        amount: signed,
        discount_amount: Amount::ZERO,
        coupon_amount: Amount::ZERO,
        allocated_amount: Amount::ZERO,
        cash_amount: signed,
        credit_amount: Amount::ZERO,
        debt_amount: Amount::ZERO,
        erase_amount: 0,
        invoice_owner: party.clone(),
        invoiceable: signed,
        invoiced: Amount::ZERO,
        seq: context.seq,
    };
    effects.records.push(Record::Bill(bill_id, bill));
    Ok(effects)
}
