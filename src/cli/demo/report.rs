//! The summary's v2 sections: operators and customer managers, partner payments (代付), and
//! associations changing during the month.

use super::model::{Model, OrderStatus, Request};
use super::operators::ROLES;
use super::summary::{header, row, thousands};
use super::tally::Tally;

pub(super) fn print_operators(model: &Model, tally: &Tally) {
    let v2 = &tally.v2;
    header("Operators and customer managers");
    for (role, count) in ROLES.iter().zip(v2.operators) {
        let note = match *role {
            "admin" => "registered by the platform; they register the others",
            "finance" => "move their partner's funds, answer partner-payment requests",
            _ => "read only the bills and orders of their assigned customers",
        };
        row(&format!("{role} operators registered"), Some(count), None, note);
    }
    row("  disabled (roles set to none)", Some(v2.operators_disabled), None, "a manager who left: every later act refused");
    let managed = model.customers.iter().filter(|customer| customer.manager.is_some_and(|manager| manager.current.is_some())).count();
    let note = format!("in force from the next UTC+8 day; {} customers have one at month end", thousands(managed as u64));
    row("customer managers assigned", Some(v2.managers_assigned), None, &note);
    row("  replacing another manager", Some(v2.managers_replaced), None, "rebalancing on the 15th, and the manager who left");
    row("managers' reads of their customers' bills", Some(v2.manager_reads), None, "answered with exactly the bills the script expected");
    row(
        "  refused",
        Some(v2.manager_reads_refused),
        None,
        "access_denied: assigned that day (in force the next UTC+8 day), or the manager left",
    );
    println!("  commands sent by operators (committed):");
    for (label, count) in &v2.operator_acts {
        let amount = (count.amount != 0).then_some(count.amount);
        row(&format!("  {label}"), Some(count.count), amount, "");
    }
}

pub(super) fn print_partner_payments(model: &Model, tally: &Tally) {
    let v2 = &tally.v2;
    header("Partner payments (代付), counted in orders");
    row("requested by customers", Some(v2.requested.count), Some(v2.requested.amount), "resale, or a solution provider's referral");
    row(
        "paid by the partner",
        Some(v2.paid_on_request.count),
        Some(v2.paid_on_request.amount),
        "the next business day, by the partner, its distributor or finance",
    );
    row("rejected by the partner", Some(v2.rejected.count), Some(v2.rejected.amount), "a reason given; the customer may pay itself");
    row(
        "  then paid by the customer itself",
        Some(v2.paid_after_rejection.count),
        Some(v2.paid_after_rejection.amount),
        "the others were cancelled",
    );
    let awaiting: Vec<_> =
        model.orders.iter().filter(|order| order.request == Some(Request::Requested) && order.status == OrderStatus::Pending).collect();
    let amount = awaiting.iter().map(|order| order.amount).sum();
    row("awaiting the partner at month end", Some(awaiting.len() as u64), Some(amount), "asked on the last days, not answered yet");
    let note = format!("{} rows in all, each as the script expected", thousands(v2.awaiting_rows));
    row("awaiting-payment lists read by partners", Some(v2.awaiting_reads), None, &note);
}

pub(super) fn print_associations(tally: &Tally) {
    let v2 = &tally.v2;
    header("Associations during the month");
    row(
        "unassociated customers joined as resale",
        Some(v2.associated.count),
        Some(v2.associated.amount),
        "own cash they kept; they spend allocated funds first",
    );
    row("referral customers switched to resale", Some(v2.to_resale.count), Some(v2.to_resale.amount), "own cash they kept");
    row(
        "resale customers switched to referral",
        Some(v2.to_referral.count),
        Some(v2.to_referral.amount),
        "allocated funds reclaimed by their partner",
    );
    row("resale customers unbound", Some(v2.unbound.count), Some(v2.unbound.amount), "allocated funds reclaimed by their partner");
    row("  coupons reclaimed with them", Some(v2.coupons_reclaimed), None, "usable coupons back to the partner's quota");
    row(
        "refunds reclaimed by a former partner",
        Some(v2.refund_reclaims.count),
        Some(v2.refund_reclaims.amount),
        "what its allocation paid for an order refunded after unbinding",
    );
    row(
        "SLA credits to resale customers",
        Some(v2.resale_compensations.count),
        Some(v2.resale_compensations.amount),
        "their own cash: the partner's recovery of it is refused",
    );
}

/// SPEC v2 part 2: customers' names, pickup vouchers, business discounts, payable vs paid, and
/// invoices by basis.
pub(super) fn print_discounts_and_invoices(model: &Model, tally: &Tally) {
    let v2 = &tally.v2;
    header("Pickup vouchers, discounts and invoices (v2 part 2)");
    row("customers registered with a name", Some(v2.named), None, "and the partner platform's account id (external_id)");
    row(
        "pickup vouchers issued",
        Some(v2.pickup_vouchers.count),
        Some(v2.pickup_vouchers.amount),
        "提货券: ratio 10-50%; some for new orders only, some for renewals and changes",
    );
    let capped = format!("each pays at most its ratio of an order; {} orders capped by it", model.pickup.capped);
    row("pickup vouchers redeemed on orders", None, Some(model.pickup.on_orders), &capped);
    row("pickup vouchers redeemed on usage", None, Some(model.pickup.on_usage), "usage draws them without ratio or kind limit");
    let revoked = format!("商务折扣, by the platform; {} revoked", v2.discounts_revoked);
    row("business discounts granted", Some(v2.discounts_granted), None, &revoked);
    let partly = format!("amount: taken off official prices; {} combined orders only partly covered", model.partly_discounted);
    row("orders paid with a discount", Some(v2.discounted.count), Some(v2.discounted.amount), &partly);
    row("payments at official prices", None, Some(v2.official), "consumption");
    row("payable (after discounts)", None, Some(v2.payable), "应付: bills' amounts");
    row("paid (payable less coupon value)", None, Some(v2.paid_net), "实付: allocated, cash and credit");
    for (basis, label, note) in [
        (0, "invoices by amount", "matched as SPEC 5 says"),
        (1, "invoices by billing cycle", "every item of 2026-11 with value left, refunds included"),
        (2, "invoices by bills", "each named bill's remaining value in full"),
    ] {
        row(label, Some(v2.invoices_by[basis].count), Some(v2.invoices_by[basis].amount), note);
    }
}
