//! Orders and combined orders, payment with coupons, cash and credit, cancellation,
//! unsubscription with refunds, and on-demand usage that can run into debt.

use super::coupons::coupon_account;
use super::funds::incoming;
use super::records::{Bill, BillType, Combined, CouponStatus, Order, OrderStatus, PAY_DEADLINE_DAYS, Payment, Record};
use super::scope::{require_exists, require_platform};
use super::{AssociationKind, Context, Effects, OrderLine, Outcome, PayerKind, State};
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

/// Who pays, checked for scope: the customer itself, or its partner (or that partner's distributor).
fn payer(state: &State, context: &Context<'_>, customer: &Party, kind: PayerKind) -> Result<Party, Rejection> {
    match kind {
        PayerKind::Customer if context.actor == customer => Ok(customer.clone()),
        PayerKind::Partner if matches!(context.actor, Party::Partner(_)) && super::scope::in_scope(state, context.actor, customer) => {
            let association = state.party(customer).and_then(|record| record.association());
            association
                .map(|association| Party::Partner(association.partner.clone()))
                .ok_or_else(|| Rejection::new(ErrorCode::AccessDenied, format!("{customer} has no partner")))
        }
        PayerKind::Customer => reject(ErrorCode::AccessDenied, format!("only {customer} pays its own orders")),
        PayerKind::Partner => reject(ErrorCode::AccessDenied, format!("only the partner of {customer} pays for it")),
    }
}

pub(super) fn pay(state: &State, context: &Context<'_>, id: &Id, coupons: &[Id], payer_kind: PayerKind) -> Result<Effects, Rejection> {
    if payer_kind == PayerKind::Partner && !coupons.is_empty() {
        return reject(ErrorCode::InvalidRequest, "a partner pays without coupons");
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
    context.fresh()?;
    require_not_member(&target, id)?;
    if payer != customer {
        let resale = state
            .party(&customer)
            .and_then(|record| record.association())
            .is_some_and(|association| association.kind == AssociationKind::Resale);
        if !resale {
            return reject(ErrorCode::NotResaleCustomer, format!("{customer} is not a resale customer: its partner cannot pay for it"));
        }
    }
    for (order_id, order) in &target.orders {
        if order.status != OrderStatus::PendingPayment {
            return reject(ErrorCode::OrderState, format!("order {order_id} is {}, not pending_payment", order.status.name()));
        }
        if context.at > order.pay_deadline {
            return reject(ErrorCode::OrderExpired, format!("order {order_id} was payable until {}", order.pay_deadline));
        }
    }
    for (coupon_id, coupon) in &coupon_records {
        let remaining = state.balance(&coupon_account(&coupon.customer, coupon_id));
        let covers = target.orders.iter().any(|(_, order)| coupon.covers(order.service.as_ref()));
        if coupon.customer != *target.customer || coupon.status(context.at, remaining) != CouponStatus::Usable || !covers {
            return reject(ErrorCode::CouponNotUsable, format!("coupon {coupon_id} is not a usable coupon of {customer} for these orders"));
        }
    }
    context.in_time(state)?;
    draw(state, context, &target, &coupon_records, &payer)
}

/// Pays every order in turn: the listed coupons that cover it, in order, then the payer's
/// available cash, then its available credit. Any shortfall refuses the whole payment.
fn draw(
    state: &State,
    context: &Context<'_>,
    target: &Target<'_>,
    coupons: &[(&Id, &super::records::Coupon)],
    payer: &Party,
) -> Result<Effects, Rejection> {
    let mut coupon_left: Vec<Amount> = coupons.iter().map(|(id, coupon)| state.balance(&coupon_account(&coupon.customer, id))).collect();
    let mut cash_left = state.available(payer);
    let credit_used = state.balance(&Account::credit(payer)).checked_neg()?;
    let mut credit_left = state.credit_limit(payer).checked_sub(credit_used)?.max(Amount::ZERO);
    let mut effects = Effects::new(Outcome::Paid(Vec::new()));
    let mut paid = Vec::new();
    for (order_id, order) in &target.orders {
        let mut need = order.amount;
        let mut payment = Payment::default();
        for (index, (coupon_id, coupon)) in coupons.iter().enumerate() {
            let take = need.min(coupon_left[index]);
            if coupon.covers(order.service.as_ref()) && take.is_positive() {
                coupon_left[index] = coupon_left[index].checked_sub(take)?;
                need = need.checked_sub(take)?;
                payment.coupon = payment.coupon.checked_add(take)?;
                effects.postings.push(posting(context, coupon_account(&coupon.customer, coupon_id), take.checked_neg()?));
                effects.postings.push(posting(context, Account::platform(AccountKind::CouponRedeemed), take));
            }
        }
        payment.cash = need.min(cash_left);
        cash_left = cash_left.checked_sub(payment.cash)?;
        need = need.checked_sub(payment.cash)?;
        payment.credit = need.min(credit_left);
        credit_left = credit_left.checked_sub(payment.credit)?;
        need = need.checked_sub(payment.credit)?;
        if need.is_positive() {
            return reject(ErrorCode::InsufficientFunds, format!("{payer} lacks {need} to pay order {order_id}"));
        }
        let money = payment.cash.checked_add(payment.credit)?;
        for (account, amount) in [(Account::cash(payer), payment.cash), (Account::credit(payer), payment.credit)] {
            if amount.is_positive() {
                effects.postings.push(posting(context, account, amount.checked_neg()?));
            }
        }
        if money.is_positive() {
            effects.postings.push(posting(context, Account::platform(AccountKind::Revenue), money));
        }
        let paid_order = Order { status: OrderStatus::Paid, payer: Some(payer.clone()), paid: payment, ..(*order).clone() };
        effects.records.push(Record::Order((*order_id).clone(), paid_order));
        effects.records.push(Record::Bill((*order_id).clone(), payment_bill(context, order_id, order, payer, payment, money)));
        paid.push(((*order_id).clone(), payment));
    }
    effects.outcome = Outcome::Paid(paid);
    Ok(effects)
}

fn payment_bill(context: &Context<'_>, order_id: &Id, order: &Order, payer: &Party, payment: Payment, money: Amount) -> Bill {
    Bill {
        bill_type: BillType::of_order(order.kind),
        at: context.at,
        customer: Some(order.customer.clone()),
        payer: payer.clone(),
        order: Some(order_id.clone()),
        amount: order.amount,
        coupon_amount: payment.coupon,
        cash_amount: payment.cash,
        credit_amount: payment.credit,
        debt_amount: Amount::ZERO,
        erase_amount: 0,
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
        effects.records.push(Record::Order((*order_id).clone(), Order { status: OrderStatus::Cancelled, ..(*order).clone() }));
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
    let refundable = order.paid.cash.checked_add(order.paid.credit)?;
    if refund > refundable {
        return reject(
            ErrorCode::RefundExceedsPaid,
            format!("order {id} can refund at most {refundable} (coupon value is never refunded)"),
        );
    }
    context.in_time(state)?;
    let payer = order.payer.clone().unwrap_or_else(|| Party::Customer(order.customer.clone()));
    let credit_used = state.balance(&Account::credit(&payer)).checked_neg()?;
    let to_credit = refund.min(order.paid.credit).min(credit_used.max(Amount::ZERO));
    let to_cash = refund.checked_sub(to_credit)?;
    let mut postings = vec![posting(context, Account::platform(AccountKind::Revenue), refund.checked_neg()?)];
    if to_credit.is_positive() {
        postings.push(posting(context, Account::credit(&payer), to_credit));
    }
    incoming(state, context, &payer, to_cash, &mut postings)?;
    let mut effects = Effects::new(Outcome::Refunded { credit: to_credit, cash: to_cash });
    effects.postings = postings;
    effects.records.push(Record::Order(id.clone(), Order { status: OrderStatus::Unsubscribed, refunded: refund, ..order.clone() }));
    let refund_bill = Bill {
        bill_type: BillType::Refund,
        at: context.at,
        customer: Some(order.customer.clone()),
        payer,
        order: Some(id.clone()),
        amount: refund.checked_neg()?,
        coupon_amount: Amount::ZERO,
        cash_amount: to_cash.checked_neg()?,
        credit_amount: to_credit.checked_neg()?,
        debt_amount: Amount::ZERO,
        erase_amount: 0,
        invoiceable: refund.checked_neg()?,
        invoiced: Amount::ZERO,
        seq: context.seq,
    };
    effects.records.push(Record::Bill(Id::derived(format!("{id}:refund")), refund_bill));
    Ok(effects)
}

pub(super) fn consume(state: &State, context: &Context<'_>, customer: &Id, amount: Amount, erase: i128) -> Result<Effects, Rejection> {
    require_platform(context.actor, "charge usage")?;
    let party = Party::Customer(customer.clone());
    require_exists(state, &party)?;
    context.fresh()?;
    let bill_id = request_bill_id(context);
    if state.bill(&bill_id).is_some() || state.order(&bill_id).is_some() {
        return reject(ErrorCode::AlreadyExists, format!("bill {bill_id} already exists"));
    }
    context.in_time(state)?;
    let cash = amount.min(state.available(&party).max(Amount::ZERO));
    let credit_used = state.balance(&Account::credit(&party)).checked_neg()?;
    let credit_left = state.credit_limit(&party).checked_sub(credit_used)?.max(Amount::ZERO);
    let credit = amount.checked_sub(cash)?.min(credit_left);
    let debt = amount.checked_sub(cash)?.checked_sub(credit)?;
    let mut effects = Effects::new(Outcome::Consumed { bill: bill_id.clone(), deducted: amount, erase, cash, credit, debt });
    for (account, part) in [(Account::cash(&party), cash), (Account::credit(&party), credit), (Account::arrears(&party), debt)] {
        if part.is_positive() {
            effects.postings.push(posting(context, account, part.checked_neg()?));
        }
    }
    effects.postings.push(posting(context, Account::platform(AccountKind::Revenue), amount));
    let bill = Bill {
        bill_type: BillType::Usage,
        at: context.at,
        customer: Some(customer.clone()),
        payer: party,
        order: None,
        amount,
        coupon_amount: Amount::ZERO,
        cash_amount: cash,
        credit_amount: credit,
        debt_amount: debt,
        erase_amount: erase,
        invoiceable: amount,
        invoiced: Amount::ZERO,
        seq: context.seq,
    };
    effects.records.push(Record::Bill(bill_id, bill));
    Ok(effects)
}
