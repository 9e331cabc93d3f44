//! Business discounts (商务折扣, SPEC v2 3 "Discounts"): the platform grants a customer a share of
//! the official price to pay, which the customer may choose when paying; revoking ends it.

use super::records::{Discount, Record, Validity};
use super::scope::{require_exists, require_platform};
use super::{Context, Effects, Outcome, State};
use crate::amount::Ratio;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};

pub(super) fn grant(
    state: &State,
    context: &Context<'_>,
    discount: &Id,
    customer: &Id,
    ratio: Ratio,
    services: Option<&Vec<Id>>,
    validity: Validity,
) -> Result<Effects, Rejection> {
    require_platform(context.actor, "grant discounts")?;
    require_exists(state, &Party::Customer(customer.clone()))?;
    context.fresh()?;
    if state.discount(discount).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("discount {discount} already exists"));
    }
    if validity.valid_from >= validity.valid_until {
        return reject(ErrorCode::InvalidValidity, format!("validity window {} – {} is empty", validity.valid_from, validity.valid_until));
    }
    context.in_time(state)?;
    let record = Discount { customer: customer.clone(), ratio, services: services.cloned(), validity, revoked: false, seq: context.seq };
    let mut effects = Effects::new(Outcome::DiscountGranted(discount.clone()));
    effects.records.push(Record::Discount(discount.clone(), record));
    Ok(effects)
}

pub(super) fn revoke(state: &State, context: &Context<'_>, id: &Id) -> Result<Effects, Rejection> {
    require_platform(context.actor, "revoke discounts")?;
    let discount = state.discount(id).ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("discount {id} does not exist")))?;
    context.fresh()?;
    if discount.revoked {
        return reject(ErrorCode::DiscountNotUsable, format!("discount {id} is already revoked"));
    }
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::DiscountRevoked(id.clone()));
    effects.records.push(Record::Discount(id.clone(), Discount { revoked: true, ..discount.clone() }));
    Ok(effects)
}
