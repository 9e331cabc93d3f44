//! Orders and combined orders, payment with coupons, cash and credit, cancellation,
//! unsubscription with refunds, and on-demand usage that can run into debt.

use super::coupons::coupon_account;
use super::funds::incoming_to;
use super::records::{
    Bill, BillType, Combined, Coupon, CouponStatus, Discount, Order, OrderStatus, PAY_DEADLINE_DAYS, PartnerPaymentStatus, Payment, Record,
};
use super::scope::{require_exists, require_platform};
use super::{AdjustOperation, AdjustRecord, AssociationKind, Context, Effects, Index, OrderLine, Outcome, PartnerKind, PayerKind, State};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{Account, AccountKind, Posting};

fn posting(context: &Context<'_>, account: Account, amount: Amount) -> Posting {
    Posting { account, amount, part: context.part }
}

/// Orders are the customer's; the platform may act for it.
fn require_customer_or_platform(context: &Context<'_>, customer: &Party) -> Result<(), Rejection> {
    if *context.actor != Party::Platform && context.actor != customer {
        return reject(ErrorCode::AccessDenied, format!("{} may not act on the orders of {customer}", context.actor));
    }
    Ok(())
}

/// Order ids, combined ids and bill ids share one namespace (bills are named after orders).
fn require_unused_order_id(state: &State, id: &Id) -> Result<(), Rejection> {
    if state.order(id).is_some() || state.combined(id).is_some() || state.bill(id).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("order {id} already exists"));
    }
    Ok(())
}

/// The bill id of a usage or adjustment: the request id, suffixed with the index inside `atomic`.
pub(super) fn request_bill_id(context: &Context<'_>) -> Id {
    if context.grouped { Id::derived(format!("{}:{}", context.request, context.part)) } else { context.request.clone() }
}

pub(super) fn place(
    state: &State,
    context: &Context<'_>,
    combined: Option<&Id>,
    customer: &Id,
    lines: &[OrderLine],
    pay_deadline: Option<crate::time::Timestamp>,
) -> Result<Effects, Rejection> {
    // A deadline before the order was refused before any other check (`domain::decide`).
    let pay_deadline = pay_deadline.unwrap_or_else(|| context.at.plus_days(PAY_DEADLINE_DAYS));
    let party = Party::Customer(customer.clone());
    require_customer_or_platform(context, &party)?;
    require_exists(state, &party)?;
    context.fresh()?;
    for id in combined.into_iter().chain(lines.iter().map(|line| &line.order)) {
        require_unused_order_id(state, id)?;
    }
    context.in_time(state)?;
    let ids: Vec<Id> = lines.iter().map(|line| line.order.clone()).collect();
    let mut effects = Effects::new(Outcome::OrdersPlaced { combined: combined.cloned(), orders: ids.clone(), pay_deadline });
    for line in lines {
        let order = Order {
            customer: customer.clone(),
            combined: combined.cloned(),
            kind: line.kind,
            service: line.service.clone(),
            amount: line.amount,
            status: OrderStatus::PendingPayment,
            pay_deadline,
            payer: None,
            paid: Payment::default(),
            allocated_partner: None,
            partner_payment: None,
            asked_partner: None,
            refunded: Amount::ZERO,
            at: context.at,
            seq: context.seq,
        };
        effects.records.push(Record::Order(line.order.clone(), order));
    }
    if let Some(combined) = combined {
        effects.records.push(Record::Combined(combined.clone(), Combined { customer: customer.clone(), orders: ids, seq: context.seq }));
    }
    Ok(effects)
}

/// An order id or a combined id, resolved to its orders.
struct Target<'s> {
    customer: &'s Id,
    /// True when a member of a combined order was named alone.
    member_alone: bool,
    orders: Vec<(&'s Id, &'s Order)>,
}

fn resolve<'s>(state: &'s State, id: &'s Id) -> Result<Target<'s>, Rejection> {
    if let Some(combined) = state.combined(id) {
        let orders = combined.orders.iter().filter_map(|order| state.order(order).map(|record| (order, record))).collect();
        return Ok(Target { customer: &combined.customer, member_alone: false, orders });
    }
    match state.order(id) {
        Some(order) => Ok(Target { customer: &order.customer, member_alone: order.combined.is_some(), orders: vec![(id, order)] }),
        None => reject(ErrorCode::NotFound, format!("order {id} does not exist")),
    }
}

fn require_not_member(target: &Target<'_>, id: &Id) -> Result<(), Rejection> {
    if target.member_alone {
        let combined = target.orders.first().and_then(|(_, order)| order.combined.as_ref()).map_or("", Id::as_str);
        return reject(ErrorCode::UseCombinedOrderId, format!("order {id} belongs to combined order {combined}: name {combined}"));
    }
    Ok(())
}

/// Who pays, checked for scope: the customer itself, or its partner (or that partner's
/// distributor), for a resale or referral customer alike.
fn payer(state: &State, context: &Context<'_>, customer: &Party, kind: PayerKind) -> Result<Party, Rejection> {
    match kind {
        PayerKind::Customer if context.actor == customer => Ok(customer.clone()),
        PayerKind::Partner if matches!(context.actor, Party::Partner(_)) && super::scope::reaches(state, context.actor, customer) => {
            let association = state.party(customer).and_then(|record| record.association());
            association
                .map(|association| Party::Partner(association.partner.clone()))
                .ok_or_else(|| Rejection::new(ErrorCode::AccessDenied, format!("{customer} has no partner")))
        }
        PayerKind::Customer => reject(ErrorCode::AccessDenied, format!("only {customer} pays its own orders")),
        PayerKind::Partner => reject(ErrorCode::AccessDenied, format!("only the partner of {customer} pays for it")),
    }
}

pub(super) fn pay(
    state: &State,
    context: &Context<'_>,
    id: &Id,
    coupons: &[Id],
    discount: Option<&Id>,
    payer_kind: PayerKind,
) -> Result<Effects, Rejection> {
    if payer_kind == PayerKind::Partner && (!coupons.is_empty() || discount.is_some()) {
        return reject(ErrorCode::InvalidRequest, "a partner pays without coupons or discounts");
    }
    if !coupons.is_empty() && discount.is_some() {
        return reject(ErrorCode::InvalidRequest, "a payment uses coupons or a discount, never both");
    }
    let target = resolve(state, id)?;
    let customer = Party::Customer(target.customer.clone());
    let payer = payer(state, context, &customer, payer_kind)?;
    let coupon_records = coupons
        .iter()
        .map(|coupon| {
            state
                .coupon(coupon)
                .map(|record| (coupon, record))
                .ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("coupon {coupon} does not exist")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let discount = match discount {
        Some(discount) => Some(
            state
                .discount(discount)
                .map(|record| (discount, record))
                .ok_or_else(|| Rejection::new(ErrorCode::NotFound, format!("discount {discount} does not exist")))?,
        ),
        None => None,
    };
    context.fresh()?;
    require_not_member(&target, id)?;
    for (order_id, order) in &target.orders {
        if order.status != OrderStatus::PendingPayment {
            return reject(ErrorCode::OrderState, format!("order {order_id} is {}, not pending_payment", order.status.name()));
        }
        let requested = order.partner_payment == Some(PartnerPaymentStatus::Requested);
        if payer_kind == PayerKind::Partner && !requested {
            return reject(ErrorCode::OrderState, format!("order {order_id} has no open partner-payment request"));
        }
        if payer_kind == PayerKind::Customer && requested {
            return reject(ErrorCode::OrderState, format!("order {order_id} awaits its partner's payment: the partner pays or rejects"));
        }
        if context.at > order.pay_deadline {
            return reject(ErrorCode::OrderExpired, format!("order {order_id} was payable until {}", order.pay_deadline));
        }
    }
    for (coupon_id, coupon) in &coupon_records {
        let remaining = state.balance(&coupon_account(&coupon.customer, coupon_id));
        let covers = target.orders.iter().any(|(_, order)| coupon.applies_to(order));
        if coupon.customer != *target.customer || coupon.status(context.at, remaining) != CouponStatus::Usable || !covers {
            return reject(ErrorCode::CouponNotUsable, format!("coupon {coupon_id} is not a usable coupon of {customer} for these orders"));
        }
    }
    if let Some((discount_id, discount)) = discount
        && (discount.customer != *target.customer || !discount.usable(context.at))
    {
        return reject(
            ErrorCode::DiscountNotUsable,
            format!("discount {discount_id} is not a usable discount of {customer} at {}", context.at),
        );
    }
    context.in_time(state)?;
    draw(state, context, &target, (&coupon_records, discount.map(|(_, discount)| discount)), &payer)
}

/// Pays every order in turn: the listed coupons that cover it, in order, then a customer payer's
/// `allocated`, then the payer's available cash, then its available credit. Any shortfall
/// refuses the whole payment.
fn draw(
    state: &State,
    context: &Context<'_>,
    target: &Target<'_>,
    (coupons, discount): (&[(&Id, &Coupon)], Option<&Discount>),
    payer: &Party,
) -> Result<Effects, Rejection> {
    let mut coupon_left: Vec<Amount> = coupons.iter().map(|(id, coupon)| state.balance(&coupon_account(&coupon.customer, id))).collect();
    let customer = Party::Customer(target.customer.clone());
    let association = state.party(&customer).and_then(|record| record.association());
    let customer_pays = *payer == customer;
    let mut allocated_left = if customer_pays { state.balance(&Account::allocated(payer)).max(Amount::ZERO) } else { Amount::ZERO };
    let mut cash_left = state.available(payer);
    let credit_used = state.balance(&Account::credit(payer)).checked_neg()?;
    let mut credit_left = state.credit_limit(payer).checked_sub(credit_used)?.max(Amount::ZERO);
    let mut effects = Effects::new(Outcome::Paid(Vec::new()));
    let mut paid = Vec::new();
    for (order_id, order) in &target.orders {
        let due = discount.map_or(order.amount, |discount| discount.due_for(order));
        let mut need = due;
        let mut payment = Payment { due, discount: order.amount.checked_sub(due)?, ..Payment::default() };
        for (index, (coupon_id, coupon)) in coupons.iter().enumerate() {
            // A pickup voucher pays at most its ratio of each order whose kind it allows.
            let take = need.min(coupon_left[index]).min(coupon.limit_for(order));
            if take.is_positive() {
                coupon_left[index] = coupon_left[index].checked_sub(take)?;
                need = need.checked_sub(take)?;
                payment.coupon = payment.coupon.checked_add(take)?;
                effects.postings.push(posting(context, coupon_account(&coupon.customer, coupon_id), take.checked_neg()?));
                effects.postings.push(posting(context, Account::platform(AccountKind::CouponRedeemed), take));
            }
        }
        payment.allocated = need.min(allocated_left);
        allocated_left = allocated_left.checked_sub(payment.allocated)?;
        need = need.checked_sub(payment.allocated)?;
        payment.cash = need.min(cash_left);
        cash_left = cash_left.checked_sub(payment.cash)?;
        need = need.checked_sub(payment.cash)?;
        payment.credit = need.min(credit_left);
        credit_left = credit_left.checked_sub(payment.credit)?;
        need = need.checked_sub(payment.credit)?;
        if need.is_positive() {
            return reject(ErrorCode::InsufficientFunds, format!("{payer} lacks {need} to pay order {order_id}"));
        }
        let money = payment.allocated.checked_add(payment.cash)?.checked_add(payment.credit)?;
        let parts = [
            (Account::allocated(payer), payment.allocated),
            (Account::cash(payer), payment.cash),
            (Account::credit(payer), payment.credit),
        ];
        for (account, amount) in parts {
            if amount.is_positive() {
                effects.postings.push(posting(context, account, amount.checked_neg()?));
            }
        }
        if money.is_positive() {
            effects.postings.push(posting(context, Account::platform(AccountKind::Revenue), money));
        }
        let allocated_partner =
            payment.allocated.is_positive().then(|| association.map(|association| association.partner.clone())).flatten();
        // A payment by the partner fulfils the open request; a customer's leaves a rejection shown.
        let partner_payment = if customer_pays { order.partner_payment } else { None };
        let paid_order = Order {
            status: OrderStatus::Paid,
            payer: Some(payer.clone()),
            paid: payment,
            allocated_partner,
            partner_payment,
            ..(*order).clone()
        };
        effects.records.push(Record::Order((*order_id).clone(), paid_order));
        let owner = invoice_owner(state, payer, &customer);
        effects.records.push(Record::Bill((*order_id).clone(), payment_bill(context, order_id, order, (payer, &owner), payment, money)));
        paid.push(((*order_id).clone(), payment));
    }
    effects.outcome = Outcome::Paid(paid);
    Ok(effects)
}

/// Who invoices a payment (SPEC 5): the payer, except that a referral customer's bill paid by its
/// partner is the customer's.
fn invoice_owner(state: &State, payer: &Party, customer: &Party) -> Party {
    let referral = state
        .party(customer)
        .and_then(|record| record.association())
        .is_some_and(|association| association.kind == AssociationKind::Referral);
    if referral && payer != customer { customer.clone() } else { payer.clone() }
}

fn payment_bill(
    context: &Context<'_>,
    order_id: &Id,
    order: &Order,
    (payer, owner): (&Party, &Party),
    payment: Payment,
    money: Amount,
) -> Bill {
    Bill {
        bill_type: BillType::of_order(order.kind),
        at: context.at,
        customer: Some(order.customer.clone()),
        payer: payer.clone(),
        order: Some(order_id.clone()),
        amount: payment.due,
        discount_amount: payment.discount,
        coupon_amount: payment.coupon,
        allocated_amount: payment.allocated,
        cash_amount: payment.cash,
        credit_amount: payment.credit,
        debt_amount: Amount::ZERO,
        erase_amount: 0,
        invoice_owner: owner.clone(),
        invoiceable: money,
        invoiced: Amount::ZERO,
        seq: context.seq,
    }
}

pub(super) fn cancel(state: &State, context: &Context<'_>, id: &Id) -> Result<Effects, Rejection> {
    let target = resolve(state, id)?;
    require_customer_or_platform(context, &Party::Customer(target.customer.clone()))?;
    context.fresh()?;
    require_not_member(&target, id)?;
    if let Some((order_id, order)) = target.orders.iter().find(|(_, order)| order.status != OrderStatus::PendingPayment) {
        return reject(ErrorCode::OrderState, format!("order {order_id} is {}, not pending_payment", order.status.name()));
    }
    context.in_time(state)?;
    let ids: Vec<Id> = target.orders.iter().map(|(order_id, _)| (*order_id).clone()).collect();
    let mut effects = Effects::new(Outcome::Cancelled(ids));
    for (order_id, order) in &target.orders {
        // Cancelling ends an open partner-payment request too.
        let cancelled = Order { status: OrderStatus::Cancelled, partner_payment: None, ..(*order).clone() };
        effects.records.push(Record::Order((*order_id).clone(), cancelled));
    }
    Ok(effects)
}

pub(super) fn unsubscribe(state: &State, context: &Context<'_>, id: &Id, refund: Amount) -> Result<Effects, Rejection> {
    let Some(order) = state.order(id) else {
        let hint = if state.combined(id).is_some() { ": it is a combined order, unsubscribe its member orders" } else { "" };
        return reject(ErrorCode::NotFound, format!("order {id} does not exist{hint}"));
    };
    require_customer_or_platform(context, &Party::Customer(order.customer.clone()))?;
    context.fresh()?;
    if order.status != OrderStatus::Paid {
        return reject(ErrorCode::OrderState, format!("order {id} is {}, not paid", order.status.name()));
    }
    let bill = state.bill(id);
    if bill.is_some_and(|bill| !bill.invoiced.is_zero()) {
        return reject(ErrorCode::AlreadyInvoiced, format!("the bill of order {id} is invoiced"));
    }
    let refundable = order.paid.allocated.checked_add(order.paid.cash)?.checked_add(order.paid.credit)?;
    if refund > refundable {
        return reject(
            ErrorCode::RefundExceedsPaid,
            format!("order {id} can refund at most {refundable} (coupon value is never refunded)"),
        );
    }
    context.in_time(state)?;
    let payer = order.payer.clone().unwrap_or_else(|| Party::Customer(order.customer.clone()));
    let mut effects =
        Effects::new(Outcome::Refunded { credit: Amount::ZERO, allocated: Amount::ZERO, partner: Amount::ZERO, cash: Amount::ZERO });
    let parts = refund_parts(state, context, order, &payer, refund, &mut effects)?;
    effects.outcome = Outcome::Refunded { credit: parts.credit, allocated: parts.allocated, partner: parts.partner, cash: parts.cash };
    effects.records.push(Record::Order(id.clone(), Order { status: OrderStatus::Unsubscribed, refunded: refund, ..order.clone() }));
    let owner = bill.map_or_else(|| payer.clone(), |bill| bill.invoice_owner.clone());
    let refund_bill = Bill {
        bill_type: BillType::Refund,
        at: context.at,
        customer: Some(order.customer.clone()),
        payer,
        order: Some(id.clone()),
        amount: refund.checked_neg()?,
        discount_amount: Amount::ZERO,
        coupon_amount: Amount::ZERO,
        allocated_amount: parts.allocated.checked_add(parts.partner)?.checked_neg()?,
        cash_amount: parts.cash.checked_neg()?,
        credit_amount: parts.credit.checked_neg()?,
        debt_amount: Amount::ZERO,
        erase_amount: 0,
        invoice_owner: owner,
        invoiceable: refund.checked_neg()?,
        invoiced: Amount::ZERO,
        seq: context.seq,
    };
    effects.records.push(Record::Bill(Id::derived(format!("{id}:refund")), refund_bill));
    Ok(effects)
}

/// Where a refund goes, part by part.
struct RefundParts {
    credit: Amount,
    allocated: Amount,
    partner: Amount,
    cash: Amount,
}

/// Splits `refund` back to where it came from (SPEC 3 `unsubscribe`): the payer's credit, up to
/// what the order drew and the credit in use; then what the order drew from `allocated`, to the
/// customer's `allocated` while it is still a resale customer of the partner that funded it, and
/// otherwise to that partner's cash (`refund_reclaim`); then the payer's cash (debt first).
fn refund_parts(
    state: &State,
    context: &Context<'_>,
    order: &Order,
    payer: &Party,
    refund: Amount,
    effects: &mut Effects,
) -> Result<RefundParts, Rejection> {
    let credit_used = state.balance(&Account::credit(payer)).checked_neg()?;
    let credit = refund.min(order.paid.credit).min(credit_used.max(Amount::ZERO));
    let after_credit = refund.checked_sub(credit)?;
    let from_allocated = after_credit.min(order.paid.allocated);
    let cash = after_credit.checked_sub(from_allocated)?;
    effects.postings.push(posting(context, Account::platform(AccountKind::Revenue), refund.checked_neg()?));
    if credit.is_positive() {
        effects.postings.push(posting(context, Account::credit(payer), credit));
    }
    let customer = Party::Customer(order.customer.clone());
    let funder = order.allocated_partner.clone();
    let still_funded = state
        .party(&customer)
        .and_then(|record| record.association())
        .is_some_and(|association| association.kind == AssociationKind::Resale && Some(&association.partner) == funder.as_ref());
    let (mut allocated, mut partner) = (Amount::ZERO, Amount::ZERO);
    if from_allocated.is_positive() {
        match funder {
            Some(funder) if !still_funded => {
                partner = from_allocated;
                effects.postings.push(posting(context, Account::cash(&Party::Partner(funder.clone())), from_allocated));
                effects.adjust_records.push(AdjustRecord {
                    operation: AdjustOperation::RefundReclaim,
                    partner: funder,
                    target: customer.clone(),
                    amount: from_allocated,
                    memo: None,
                });
            }
            _ => {
                allocated = from_allocated;
                incoming_to(state, context, Account::allocated(&customer), from_allocated, &mut effects.postings)?;
            }
        }
    }
    incoming_to(state, context, Account::cash(payer), cash, &mut effects.postings)?;
    Ok(RefundParts { credit, allocated, partner, cash })
}

/// The customer's coupons usable at `at` for usage of `service` (without a service: coupons with
/// no service limit), by `valid_until`, then coupon id.
fn usage_coupons<'s>(state: &'s State, party: &'s Party, service: Option<&Id>, at: crate::time::Timestamp) -> Vec<(&'s Id, &'s Coupon)> {
    let mut coupons: Vec<(&Id, &Coupon)> =
        super::coupons::usable_coupons(state, party, at).filter(|(_, coupon)| coupon.covers(service)).collect();
    coupons.sort_by(|(a_id, a), (b_id, b)| (a.validity.valid_until, *a_id).cmp(&(b.validity.valid_until, *b_id)));
    coupons
}

pub(super) fn consume(
    state: &State,
    context: &Context<'_>,
    customer: &Id,
    amount: Amount,
    erase: i128,
    service: Option<&Id>,
) -> Result<Effects, Rejection> {
    require_platform(context.actor, "charge usage")?;
    let party = Party::Customer(customer.clone());
    require_exists(state, &party)?;
    context.fresh()?;
    let bill_id = request_bill_id(context);
    if state.bill(&bill_id).is_some() || state.order(&bill_id).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("bill {bill_id} already exists"));
    }
    context.in_time(state)?;
    let mut effects = Effects::new(Outcome::Consumed {
        bill: bill_id.clone(),
        deducted: amount,
        erase,
        coupon: Amount::ZERO,
        allocated: Amount::ZERO,
        cash: Amount::ZERO,
        credit: Amount::ZERO,
        debt: Amount::ZERO,
    });
    let mut need = amount;
    let mut coupon = Amount::ZERO;
    for (coupon_id, record) in usage_coupons(state, &party, service, context.at) {
        let account = coupon_account(&record.customer, coupon_id);
        let take = need.min(state.balance(&account));
        if take.is_positive() {
            effects.postings.push(posting(context, account, take.checked_neg()?));
            effects.postings.push(posting(context, Account::platform(AccountKind::CouponRedeemed), take));
            coupon = coupon.checked_add(take)?;
            need = need.checked_sub(take)?;
        }
    }
    let allocated = need.min(state.balance(&Account::allocated(&party)).max(Amount::ZERO));
    need = need.checked_sub(allocated)?;
    let cash = need.min(state.available(&party).max(Amount::ZERO));
    need = need.checked_sub(cash)?;
    let credit_used = state.balance(&Account::credit(&party)).checked_neg()?;
    let credit = need.min(state.credit_limit(&party).checked_sub(credit_used)?.max(Amount::ZERO));
    let debt = need.checked_sub(credit)?;
    let parts = [
        (Account::allocated(&party), allocated),
        (Account::cash(&party), cash),
        (Account::credit(&party), credit),
        (Account::arrears(&party), debt),
    ];
    for (account, part) in parts {
        if part.is_positive() {
            effects.postings.push(posting(context, account, part.checked_neg()?));
        }
    }
    let money = amount.checked_sub(coupon)?;
    if money.is_positive() {
        effects.postings.push(posting(context, Account::platform(AccountKind::Revenue), money));
    }
    effects.outcome = Outcome::Consumed { bill: bill_id.clone(), deducted: amount, erase, coupon, allocated, cash, credit, debt };
    let bill = Bill {
        bill_type: BillType::Usage,
        at: context.at,
        customer: Some(customer.clone()),
        payer: party.clone(),
        order: None,
        amount,
        discount_amount: Amount::ZERO,
        coupon_amount: coupon,
        allocated_amount: allocated,
        cash_amount: cash,
        credit_amount: credit,
        debt_amount: debt,
        erase_amount: erase,
        invoice_owner: party,
        invoiceable: money,
        invoiced: Amount::ZERO,
        seq: context.seq,
    };
    effects.records.push(Record::Bill(bill_id, bill));
    Ok(effects)
}

/// An order of `customer` with an open partner-payment request that can still be paid at `at`.
pub(super) fn open_partner_payment<'s>(state: &'s State, customer: &'s Party, at: crate::time::Timestamp) -> Option<&'s Id> {
    state.indexed(Index::Orders, customer).find(|id| {
        state.order(id).is_some_and(|order| {
            order.status == OrderStatus::PendingPayment
                && order.partner_payment == Some(PartnerPaymentStatus::Requested)
                && at <= order.pay_deadline
        })
    })
}

/// The orders of a payable target, checked for the state a partner-payment change needs.
fn require_payable(target: &Target<'_>, context: &Context<'_>) -> Result<(), Rejection> {
    for (order_id, order) in &target.orders {
        if order.status != OrderStatus::PendingPayment {
            return reject(ErrorCode::OrderState, format!("order {order_id} is {}, not pending_payment", order.status.name()));
        }
        if context.at > order.pay_deadline {
            return reject(ErrorCode::OrderExpired, format!("order {order_id} was payable until {}", order.pay_deadline));
        }
    }
    Ok(())
}

fn set_partner_payment(target: &Target<'_>, id: &Id, status: PartnerPaymentStatus, asked_partner: Option<&Id>) -> Effects {
    let orders: Vec<Id> = target.orders.iter().map(|(order_id, _)| (*order_id).clone()).collect();
    let mut effects = Effects::new(Outcome::PartnerPayment { order: id.clone(), orders, status });
    for (order_id, order) in &target.orders {
        let asked_partner = asked_partner.cloned().or_else(|| order.asked_partner.clone());
        let changed = Order { partner_payment: Some(status), asked_partner, ..(*order).clone() };
        effects.records.push(Record::Order((*order_id).clone(), changed));
    }
    effects
}

pub(super) fn request_partner_payment(state: &State, context: &Context<'_>, id: &Id) -> Result<Effects, Rejection> {
    let target = resolve(state, id)?;
    let customer = Party::Customer(target.customer.clone());
    if *context.actor != customer {
        return reject(ErrorCode::AccessDenied, format!("only {customer} asks its partner to pay its orders"));
    }
    context.fresh()?;
    require_not_member(&target, id)?;
    let Some(association) = state.party(&customer).and_then(|record| record.association()) else {
        return reject(ErrorCode::AssociationState, format!("{customer} has no partner to ask"));
    };
    let partner_kind = state.party(&Party::Partner(association.partner.clone())).and_then(|record| record.partner_kind());
    if association.kind == AssociationKind::Referral && partner_kind != Some(PartnerKind::SolutionProvider) {
        return reject(
            ErrorCode::NotResaleCustomer,
            format!(
                "{customer} is a referral customer of a {}: only resale customers or a solution provider's ask",
                partner_kind.map_or("partner", PartnerKind::name)
            ),
        );
    }
    require_payable(&target, context)?;
    if let Some((order_id, _)) = target.orders.iter().find(|(_, order)| order.partner_payment == Some(PartnerPaymentStatus::Requested)) {
        return reject(ErrorCode::OrderState, format!("order {order_id} already awaits its partner's payment"));
    }
    context.in_time(state)?;
    Ok(set_partner_payment(&target, id, PartnerPaymentStatus::Requested, Some(&association.partner)))
}

pub(super) fn reject_partner_payment(state: &State, context: &Context<'_>, id: &Id) -> Result<Effects, Rejection> {
    let target = resolve(state, id)?;
    let customer = Party::Customer(target.customer.clone());
    if !matches!(context.actor, Party::Partner(_)) || !super::scope::reaches(state, context.actor, &customer) {
        return reject(ErrorCode::AccessDenied, format!("only the partner of {customer} rejects its payment requests"));
    }
    context.fresh()?;
    require_not_member(&target, id)?;
    if let Some((order_id, order)) = target.orders.iter().find(|(_, order)| order.partner_payment != Some(PartnerPaymentStatus::Requested))
    {
        let status = order.partner_payment.map_or("not requested", PartnerPaymentStatus::name);
        return reject(ErrorCode::OrderState, format!("order {order_id}'s partner payment is {status}, not requested"));
    }
    context.in_time(state)?;
    Ok(set_partner_payment(&target, id, PartnerPaymentStatus::Rejected, None))
}
