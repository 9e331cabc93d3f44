//! Structural checks on a typed command, the same the JSON decoder makes, so a Rust caller that
//! builds `Command` values directly cannot pass what a JSON line could not (a negative amount, a
//! reseller without a parent, 101 commands in a group).

use super::records::{COMBINED_ORDERS_MAX, COMBINED_ORDERS_MIN, COUPON_SERVICES_MAX, PAYMENT_COUPONS_MAX};
use super::{
    ATOMIC_COMMANDS_MAX, Command, INVOICE_BILLS_MAX, INVOICE_CYCLES_MAX, InvoiceBasis, NAME_LENGTH_MAX, OperatorRole, PartnerKind,
    PayerKind, TEXT_LENGTH_MAX,
};
use crate::amount::{AMOUNT_INPUT_LIMIT_MINOR, Amount};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};

/// Checks `command`: structure first (`invalid_request`), then amounts (`invalid_amount`).
///
/// # Errors
/// The first problem, by SPEC 2.2's precedence.
pub fn validate(command: &Command) -> Result<(), Rejection> {
    structure(command, true)?;
    amounts(command)
}

fn request<T>(message: impl Into<String>) -> Result<T, Rejection> {
    reject(ErrorCode::InvalidRequest, message)
}

/// A party that owns money accounts: a partner or a customer (not the platform, not an operator).
fn member(party: &Party, field: &str) -> Result<(), Rejection> {
    if matches!(party, Party::Platform | Party::Operator(_)) {
        request(format!("field {field} must name a partner or customer"))
    } else {
        Ok(())
    }
}

/// Operator roles: distinct, and at least one unless `may_be_empty`.
fn roles(roles: &[OperatorRole], may_be_empty: bool) -> Result<(), Rejection> {
    if roles.is_empty() && !may_be_empty {
        return request("field roles must name at least one role");
    }
    if roles.iter().enumerate().any(|(index, role)| roles[..index].contains(role)) {
        return request("field roles names a role twice");
    }
    Ok(())
}

fn text(value: Option<&String>, field: &str) -> Result<(), Rejection> {
    if value.is_some_and(|text| text.chars().count() > TEXT_LENGTH_MAX) {
        return request(format!("field {field} is longer than {TEXT_LENGTH_MAX} characters"));
    }
    Ok(())
}

fn distinct(ids: &[&Id], field: &str, (min, max): (usize, usize)) -> Result<(), Rejection> {
    if !(min..=max).contains(&ids.len()) {
        return request(format!("field {field} must hold {min} to {max} entries"));
    }
    if ids.iter().enumerate().any(|(index, id)| ids[..index].contains(id)) {
        return request(format!("field {field} names an id twice"));
    }
    Ok(())
}

fn structure(command: &Command, top_level: bool) -> Result<(), Rejection> {
    match command {
        Command::RegisterPartner { kind, parent, .. } if (*kind == PartnerKind::Reseller) != parent.is_some() => {
            request("parent is required for, and only for, a reseller")
        }
        Command::RegisterCustomer { partner: None, association: Some(_), .. } => request("association needs a partner"),
        Command::RegisterCustomer { name: Some(name), .. } if name.is_empty() || name.chars().count() > NAME_LENGTH_MAX => {
            request(format!("field name must be 1 to {NAME_LENGTH_MAX} characters"))
        }
        Command::IssueQuota { from_quota: None, valid_from, valid_until, .. } if valid_from.is_none() || valid_until.is_none() => {
            request("valid_from and valid_until are required without from_quota")
        }
        Command::IssueCoupon { order_kinds: Some(kinds), .. }
            if kinds.is_empty() || kinds.iter().enumerate().any(|(index, kind)| kinds[..index].contains(kind)) =>
        {
            request("field order_kinds must hold distinct kinds")
        }
        Command::PayOrder { payer: PayerKind::Partner, discount: Some(_), .. } => request("a partner pays without discounts"),
        Command::PayOrder { coupons, discount: Some(_), .. } if !coupons.is_empty() => {
            request("a payment uses coupons or a discount, never both")
        }
        Command::GrantDiscount { services: Some(services), .. } => {
            distinct(&services.iter().collect::<Vec<_>>(), "services", (1, COUPON_SERVICES_MAX))
        }
        Command::RequestInvoice { party, basis: InvoiceBasis::Cycles(cycles), .. } => {
            member(party, "party")?;
            if cycles.iter().any(|cycle| !crate::protocol::is_cycle(cycle)) {
                return request("field cycles must hold cycles YYYY-MM");
            }
            let texts: Vec<Id> = cycles.iter().map(|cycle| Id::derived(cycle.clone())).collect();
            distinct(&texts.iter().collect::<Vec<_>>(), "cycles", (1, INVOICE_CYCLES_MAX))
        }
        Command::RequestInvoice { party, basis: InvoiceBasis::Bills(bills), .. } => {
            member(party, "party")?;
            distinct(&bills.iter().collect::<Vec<_>>(), "bills", (1, INVOICE_BILLS_MAX))
        }
        Command::Recharge { party, .. }
        | Command::SetCreditLimit { party, .. }
        | Command::RepayCredit { party, .. }
        | Command::RequestWithdrawal { party, .. }
        | Command::RequestInvoice { party, .. } => member(party, "party"),
        Command::Allocate { to, memo, .. } => member(to, "to").and_then(|()| text(memo.as_ref(), "memo")),
        Command::Recover { from, memo, .. } => member(from, "from").and_then(|()| text(memo.as_ref(), "memo")),
        Command::Adjust { party, reason, .. } => member(party, "party").and_then(|()| text(Some(reason), "reason")),
        Command::RejectWithdrawal { reason, .. } | Command::RejectPartnerPayment { reason, .. } => text(Some(reason), "reason"),
        Command::RegisterOperator { roles: list, .. } => roles(list, false),
        Command::SetOperatorRoles { roles: list, .. } => roles(list, true),
        Command::IssueCoupon { services: Some(services), .. } => {
            distinct(&services.iter().collect::<Vec<_>>(), "services", (1, COUPON_SERVICES_MAX))
        }
        Command::PayOrder { payer: PayerKind::Partner, coupons, .. } if !coupons.is_empty() => request("a partner pays without coupons"),
        Command::PayOrder { coupons, .. } => distinct(&coupons.iter().collect::<Vec<_>>(), "coupons", (0, PAYMENT_COUPONS_MAX)),
        Command::PlaceCombinedOrder { combined, orders, .. } => {
            let ids: Vec<&Id> = orders.iter().map(|line| &line.order).collect();
            distinct(&ids, "orders", (COMBINED_ORDERS_MIN, COMBINED_ORDERS_MAX))?;
            if ids.contains(&combined) { request("the combined id must differ from its orders' ids") } else { Ok(()) }
        }
        Command::Atomic { .. } if !top_level => request("atomic groups cannot be nested"),
        Command::Atomic { commands } if commands.is_empty() || commands.len() > ATOMIC_COMMANDS_MAX => {
            request(format!("an atomic group holds 1 to {ATOMIC_COMMANDS_MAX} commands"))
        }
        Command::Atomic { commands } => commands
            .iter()
            .enumerate()
            .try_for_each(|(index, inner)| structure(inner, false).map_err(|rejection| rejection.at_index(index))),
        _ => Ok(()),
    }
}

fn positive(amount: Amount) -> Result<(), Rejection> {
    if !amount.is_positive() || amount.minor() >= AMOUNT_INPUT_LIMIT_MINOR {
        return reject(ErrorCode::InvalidAmount, format!("amount {amount} must be above zero and below 1000000000000"));
    }
    Ok(())
}

fn amounts(command: &Command) -> Result<(), Rejection> {
    match command {
        Command::Recharge { amount, .. }
        | Command::Allocate { amount, .. }
        | Command::Recover { amount, .. }
        | Command::RepayCredit { amount, .. }
        | Command::Adjust { amount, .. }
        | Command::IssueQuota { amount, .. }
        | Command::PlaceOrder { amount, .. }
        | Command::RequestWithdrawal { amount, .. }
        | Command::RequestInvoice { basis: InvoiceBasis::Amount(amount), .. }
        | Command::IssueCoupon { face_value: amount, .. }
        | Command::Unsubscribe { refund: amount, .. } => positive(*amount),
        Command::SetCreditLimit { limit, .. } if limit.is_negative() || limit.minor() >= AMOUNT_INPUT_LIMIT_MINOR => {
            reject(ErrorCode::InvalidAmount, format!("limit {limit} must be at least zero and below 1000000000000"))
        }
        Command::Consume { amount, erase, .. } if !(0..1_000_000).contains(erase) => {
            reject(ErrorCode::InvalidAmount, format!("usage of {amount} has a cut of {erase} (10^-8), outside 0 to 0.00999999"))
        }
        Command::Consume { amount, .. } => positive(*amount),
        Command::PlaceCombinedOrder { orders, .. } => orders.iter().try_for_each(|line| positive(line.amount)),
        Command::Atomic { commands } => {
            commands.iter().enumerate().try_for_each(|(index, inner)| amounts(inner).map_err(|rejection| rejection.at_index(index)))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Id {
        Id::new(text).unwrap()
    }

    #[test]
    fn typed_commands_get_the_decoders_checks() {
        let negative = Command::Recharge { party: Party::Partner(id("P1")), amount: Amount::from_minor(-5) };
        assert_eq!(validate(&negative).unwrap_err().code, ErrorCode::InvalidAmount);
        let orphan = Command::RegisterPartner { partner: id("R1"), kind: PartnerKind::Reseller, parent: None };
        assert_eq!(validate(&orphan).unwrap_err().code, ErrorCode::InvalidRequest);
        let platform = Command::Allocate { partner: None, to: Party::Platform, amount: Amount::from_minor(-1), memo: None };
        assert_eq!(validate(&platform).unwrap_err().code, ErrorCode::InvalidRequest, "structure ranks above amounts");
        let nested = Command::Atomic { commands: vec![Command::Atomic { commands: vec![] }] };
        let rejection = validate(&nested).unwrap_err();
        assert_eq!((rejection.code, rejection.index), (ErrorCode::InvalidRequest, Some(0)));
        let usage = Command::Consume { customer: id("C1"), amount: Amount::from_minor(1), erase: 1_000_000, service: None };
        assert_eq!(validate(&usage).unwrap_err().code, ErrorCode::InvalidAmount);
        let fine = Command::SetCreditLimit { party: Party::Customer(id("C1")), limit: Amount::ZERO };
        assert_eq!(validate(&fine), Ok(()));
    }
}
