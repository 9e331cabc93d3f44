//! Running the script, and counting what the ledger answered.

use super::BATCH_LINES;
use super::script::{Expect, Meta, Script, Tag};
use super::summary::thousands;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use partner_ledger::{Ledger, Outcome, Response, WithdrawalStatus};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A number of things and their total amount in fen.
#[derive(Clone, Copy, Default)]
pub(super) struct Count {
    pub(super) count: u64,
    pub(super) amount: i64,
}

impl Count {
    pub(super) fn add(&mut self, amount: i64) {
        self.add_many(1, amount);
    }

    pub(super) fn add_many(&mut self, count: u64, amount: i64) {
        self.count += count;
        self.amount += amount;
    }
}

#[derive(Clone, Copy, Default)]
pub(super) struct PartnerTally {
    pub(super) allocated: i64,
    pub(super) recovered: i64,
    pub(super) orders_paid: u64,
    pub(super) paid_by_partner: u64,
    pub(super) rejected: u64,
}

/// What the v2 flows did: operators, partner payments, associations, reads.
#[derive(Default)]
pub(super) struct V2Tally {
    /// Registered, per role of `operators::ROLES`.
    pub(super) operators: [u64; 3],
    pub(super) operators_disabled: u64,
    pub(super) managers_assigned: u64,
    pub(super) managers_replaced: u64,
    /// Committed commands operators sent, by what they were.
    pub(super) operator_acts: BTreeMap<&'static str, Count>,
    pub(super) requested: Count,
    pub(super) rejected: Count,
    pub(super) paid_on_request: Count,
    pub(super) paid_after_rejection: Count,
    pub(super) associated: Count,
    pub(super) to_resale: Count,
    pub(super) to_referral: Count,
    pub(super) unbound: Count,
    pub(super) coupons_reclaimed: u64,
    pub(super) refund_reclaims: Count,
    pub(super) resale_compensations: Count,
    pub(super) resale_withdrawals: Count,
    pub(super) manager_reads: u64,
    /// Refused: assigned today (in force from the next UTC+8 day), or the manager left.
    pub(super) manager_reads_refused: u64,
    pub(super) awaiting_reads: u64,
    pub(super) awaiting_rows: u64,
    /// Customers registered with a name and an external id.
    pub(super) named: u64,
    pub(super) pickup_vouchers: Count,
    pub(super) discounts_granted: u64,
    pub(super) discounts_revoked: u64,
    /// Orders paid with a discount, and the discount taken off their official prices.
    pub(super) discounted: Count,
    /// Official prices, what was due after discounts, and that less coupon value, of every payment.
    pub(super) official: i64,
    pub(super) payable: i64,
    pub(super) paid_net: i64,
    /// Invoices by amount, by cycles and by bills: count and matched total.
    pub(super) invoices_by: [Count; 3],
}

#[derive(Default)]
pub(super) struct Tally {
    pub(super) committed: u64,
    pub(super) duplicates: u64,
    pub(super) answered: u64,
    pub(super) failures: BTreeMap<&'static str, u64>,
    pub(super) unexpected: Vec<String>,
    pub(super) unexpected_count: u64,
    pub(super) partners: Vec<PartnerTally>,
    pub(super) recharges: Count,
    pub(super) recharge_repaid_debt: i64,
    pub(super) allocations: Count,
    pub(super) reseller_funding: Count,
    pub(super) recoveries: Count,
    /// Allocations and recoveries a distributor made for one of its resellers.
    pub(super) on_behalf: Count,
    pub(super) credit_repaid: Count,
    pub(super) compensations: Count,
    pub(super) deductions: Count,
    pub(super) platform_quotas: Count,
    pub(super) distributor_quotas: Count,
    pub(super) quota_reclaims: Count,
    pub(super) vouchers: Count,
    pub(super) cash_coupons: Count,
    pub(super) coupon_reclaims: Count,
    pub(super) coupon_payments: Count,
    pub(super) coupons_expired: Count,
    pub(super) single_orders: Count,
    pub(super) combined: Count,
    pub(super) combined_members: u64,
    pub(super) paid: Count,
    pub(super) paid_allocated: i64,
    pub(super) paid_cash: i64,
    pub(super) paid_credit: i64,
    pub(super) paid_by_partner: Count,
    pub(super) cancelled: u64,
    pub(super) refunds: Count,
    pub(super) usage: Count,
    pub(super) usage_coupon: Count,
    pub(super) usage_allocated: i64,
    pub(super) usage_cash: i64,
    pub(super) usage_credit: i64,
    pub(super) usage_debt: Count,
    pub(super) usage_erased: i64,
    pub(super) withdrawals: BTreeMap<&'static str, Count>,
    pub(super) invoices: Count,
    pub(super) invoice_returns: Count,
    pub(super) v2: V2Tally,
}

fn fen(amount: partner_ledger::Amount) -> i64 {
    i64::try_from(amount.minor()).expect("demo amounts fit in i64")
}

impl Tally {
    pub(super) fn new(partners: usize) -> Tally {
        Tally { partners: vec![PartnerTally::default(); partners], ..Tally::default() }
    }

    /// Checks one answer against what the script expected, and counts it.
    fn record(&mut self, line: usize, meta: Meta, response: &Response) {
        match (meta.expect, response) {
            (Expect::Ok, Response::Committed { duplicate: false, outcome, .. }) => {
                self.committed += 1;
                self.count(meta.tag, outcome);
                if meta.by_operator {
                    self.count_operator_act(meta.tag, outcome);
                }
            }
            (Expect::Duplicate, Response::Committed { duplicate: true, .. }) => self.duplicates += 1,
            (Expect::Fail(code), Response::Failed { rejection, .. }) if rejection.code.name() == code => {
                *self.failures.entry(code).or_default() += 1;
                if matches!(meta.tag, Tag::ManagerRead) {
                    self.v2.manager_reads_refused += 1;
                }
            }
            (Expect::Rows(rows), Response::Answer { result, .. }) if result["total_count"].as_u64() == Some(rows) => {
                self.answered += 1;
                match meta.tag {
                    Tag::ManagerRead => self.v2.manager_reads += 1,
                    Tag::AwaitingRead => {
                        self.v2.awaiting_reads += 1;
                        self.v2.awaiting_rows += rows;
                    }
                    _ => {}
                }
            }
            _ => {
                self.unexpected_count += 1;
                if self.unexpected.len() < 10 {
                    self.unexpected.push(format!("line {}: expected {}, got {}", line + 1, meta.expect, response.to_line()));
                }
            }
        }
    }

    fn count(&mut self, tag: Tag, outcome: &Outcome) {
        if self.count_v2(tag, outcome) || self.count_coupons(tag, outcome) {
            return;
        }
        match (tag, outcome) {
            (Tag::Recharge, Outcome::Funded { arrears_repaid, cash }) => {
                self.recharges.add(fen(*arrears_repaid) + fen(*cash));
                self.recharge_repaid_debt += fen(*arrears_repaid);
            }
            (Tag::Compensation { resale }, Outcome::Funded { arrears_repaid, cash }) => {
                let amount = fen(*arrears_repaid) + fen(*cash);
                self.compensations.add(amount);
                if resale {
                    self.v2.resale_compensations.add(amount);
                }
            }
            (_, Outcome::Deducted(amount)) => self.deductions.add(fen(*amount)),
            (_, Outcome::CreditRepaid(amount)) => self.credit_repaid.add(fen(*amount)),
            (Tag::Allocate { partner, to_customer, on_behalf, amount }, _) => {
                if to_customer {
                    self.allocations.add(amount);
                    self.partners[partner].allocated += amount;
                } else {
                    self.reseller_funding.add(amount);
                }
                if on_behalf {
                    self.on_behalf.add(amount);
                }
            }
            (Tag::FundResellers { amount, .. }, _) => self.reseller_funding.add(amount),
            (Tag::Recover { partner, on_behalf, amount }, _) => {
                self.recoveries.add(amount);
                if on_behalf {
                    self.on_behalf.add(amount);
                }
                self.partners[partner].recovered += amount;
            }
            (Tag::Place { amount }, Outcome::OrdersPlaced { combined: None, .. }) => self.single_orders.add(amount),
            (Tag::Place { amount }, Outcome::OrdersPlaced { orders, .. }) => {
                self.combined.add(amount);
                self.combined_members += orders.len() as u64;
            }
            (Tag::Pay { partner, by_partner, after_rejection }, Outcome::Paid(paid)) => {
                self.count_payment(partner, by_partner, after_rejection, paid);
            }
            (_, Outcome::Cancelled(orders)) => self.cancelled += orders.len() as u64,
            (_, Outcome::Refunded { credit, allocated, partner, cash }) => {
                self.refunds.add(fen(*credit) + fen(*allocated) + fen(*partner) + fen(*cash));
                if partner.is_positive() {
                    self.v2.refund_reclaims.add(fen(*partner));
                }
            }
            (_, Outcome::Consumed { .. }) => self.count_usage(outcome),
            (Tag::Withdrawal { amount, resale }, Outcome::Withdrawal { status, .. }) => {
                self.withdrawals.entry(status.name()).or_default().add(amount);
                if resale && *status == WithdrawalStatus::Pending {
                    self.v2.resale_withdrawals.add(amount);
                }
            }
            (Tag::Invoice { basis }, Outcome::Invoiced { matched, .. }) => {
                let total = matched.iter().map(|matched| fen(matched.amount)).sum();
                self.invoices.add(total);
                self.v2.invoices_by[basis].add(total);
            }
            (_, Outcome::Invoiced { matched, .. }) => self.invoices.add(matched.iter().map(|matched| fen(matched.amount)).sum()),
            (Tag::InvoiceReturn { amount }, _) => self.invoice_returns.add(amount),
            _ => {}
        }
    }

    /// Quotas and coupons; true when the line was one of theirs.
    fn count_coupons(&mut self, tag: Tag, outcome: &Outcome) -> bool {
        match (tag, outcome) {
            (Tag::Quota { by_platform: true, amount }, _) => self.platform_quotas.add(amount),
            (Tag::Quota { by_platform: false, amount }, _) => self.distributor_quotas.add(amount),
            (_, Outcome::QuotaReclaimed { amount, .. }) => self.quota_reclaims.add(fen(*amount)),
            (Tag::Coupon { voucher: true, amount }, _) => self.vouchers.add(amount),
            (Tag::Coupon { voucher: false, amount }, _) => self.cash_coupons.add(amount),
            (_, Outcome::CouponReclaimed { amount, .. }) => self.coupon_reclaims.add(fen(*amount)),
            (_, Outcome::CouponsExpired { coupons, amount }) => {
                self.coupons_expired.count += coupons.len() as u64;
                self.coupons_expired.amount += fen(*amount);
            }
            _ => return false,
        }
        true
    }

    /// The v2 flows; true when `tag` was one of them.
    fn count_v2(&mut self, tag: Tag, outcome: &Outcome) -> bool {
        let v2 = &mut self.v2;
        match (tag, outcome) {
            (Tag::Operator { role }, _) => v2.operators[role] += 1,
            (Tag::OperatorDisabled, _) => v2.operators_disabled += 1,
            (Tag::Manager { replaced }, _) => {
                v2.managers_assigned += 1;
                v2.managers_replaced += u64::from(replaced);
            }
            (Tag::RequestPayment { orders, amount }, _) => v2.requested.add_many(orders, amount),
            (Tag::RejectPayment { partner, orders, amount }, _) => {
                v2.rejected.add_many(orders, amount);
                self.partners[partner].rejected += orders;
            }
            (Tag::Associate { cash }, _) => v2.associated.add(cash),
            (Tag::Customer { named }, _) => v2.named += u64::from(named),
            (Tag::PickupVoucher { amount }, _) => v2.pickup_vouchers.add(amount),
            (Tag::DiscountGranted, _) => v2.discounts_granted += 1,
            (Tag::DiscountRevoked, _) => v2.discounts_revoked += 1,
            (Tag::SwitchToResale { cash }, _) => v2.to_resale.add(cash),
            (Tag::SwitchToReferral | Tag::Unbind, Outcome::AssociationChanged { allocated, coupons, .. }) => {
                let count = if matches!(tag, Tag::Unbind) { &mut v2.unbound } else { &mut v2.to_referral };
                count.add(fen(*allocated));
                v2.coupons_reclaimed += coupons.len() as u64;
            }
            _ => return false,
        }
        true
    }

    fn count_usage(&mut self, outcome: &Outcome) {
        if let Outcome::Consumed { deducted, erase, coupon, allocated, cash, credit, debt, .. } = outcome {
            self.usage.add(fen(*deducted));
            self.usage_erased += i64::try_from(*erase).expect("a cut below the fen");
            if coupon.is_positive() {
                self.usage_coupon.add(fen(*coupon));
            }
            self.usage_allocated += fen(*allocated);
            self.usage_cash += fen(*cash);
            self.usage_credit += fen(*credit);
            if debt.is_positive() {
                self.usage_debt.add(fen(*debt));
            }
        }
    }

    fn count_payment(
        &mut self,
        partner: Option<usize>,
        by_partner: bool,
        after_rejection: bool,
        paid: &[(partner_ledger::Id, partner_ledger::Payment)],
    ) {
        for (_, payment) in paid {
            let total = fen(payment.coupon) + fen(payment.allocated) + fen(payment.cash) + fen(payment.credit);
            self.paid.add(total);
            self.v2.official += fen(payment.due) + fen(payment.discount);
            self.v2.payable += fen(payment.due);
            self.v2.paid_net += fen(payment.due) - fen(payment.coupon);
            if payment.discount.is_positive() {
                self.v2.discounted.add(fen(payment.discount));
            }
            self.paid_allocated += fen(payment.allocated);
            self.paid_cash += fen(payment.cash);
            self.paid_credit += fen(payment.credit);
            if payment.coupon.is_positive() {
                self.coupon_payments.add(fen(payment.coupon));
            }
            if after_rejection {
                self.v2.paid_after_rejection.add(total);
            }
            if let Some(partner) = partner {
                self.partners[partner].orders_paid += 1;
            }
            if by_partner {
                self.paid_by_partner.add(total);
                self.v2.paid_on_request.add(total);
                if let Some(partner) = partner {
                    self.partners[partner].paid_by_partner += 1;
                }
            }
        }
    }

    /// What an operator's committed command was, for the summary.
    fn count_operator_act(&mut self, tag: Tag, outcome: &Outcome) {
        let (label, amount) = match (tag, outcome) {
            (Tag::Allocate { amount, .. }, _) => ("allocations", amount),
            (Tag::FundResellers { amount }, _) => ("reseller funding (atomic groups)", amount),
            (Tag::Recover { amount, .. }, _) => ("recoveries", amount),
            (Tag::Withdrawal { amount, .. }, _) => ("withdrawal requests", amount),
            (Tag::Pay { .. }, Outcome::Paid(paid)) => {
                let total = paid.iter().map(|(_, payment)| fen(payment.allocated) + fen(payment.cash) + fen(payment.credit)).sum();
                ("requests paid as partner", total)
            }
            (Tag::RejectPayment { amount, .. }, _) => ("requests rejected", amount),
            (Tag::Operator { .. }, _) => ("operators registered (by admins)", 0),
            (Tag::OperatorDisabled, _) => ("operators disabled (by admins)", 0),
            (Tag::Manager { .. }, _) => ("customer managers assigned (by admins)", 0),
            _ => ("other", 0),
        };
        self.v2.operator_acts.entry(label).or_default().add(amount);
    }
}

/// Sends the script in batches, with a progress bar on standard error (drawn only on a terminal).
pub(super) fn execute(ledger: &Ledger, script: &Script, tally: &mut Tally) -> Duration {
    let bar = ProgressBar::with_draw_target(Some(script.lines.len() as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {wide_bar} {human_pos}/{human_len} commands  {rate}  ETA {eta}")
        .expect("a valid progress template")
        .with_key("rate", |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(out, "{} commands/s", thousands(state.per_sec() as u64));
        });
    bar.set_style(style);
    let started = Instant::now();
    for (batch, lines) in script.lines.chunks(BATCH_LINES).enumerate() {
        let responses = ledger.execute_lines(lines);
        for (offset, response) in responses.iter().enumerate() {
            let line = batch * BATCH_LINES + offset;
            tally.record(line, script.metas[line], response);
        }
        bar.inc(lines.len() as u64);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    elapsed
}
