//! The summary: the month's books and counts as printed tables, and the number formatting they use.

use super::books::{Books, PLATFORM_ACCOUNTS};
use super::model::{Funds, Link, Model, PartnerKind};
use super::month::Demo;
use super::tally::{PartnerTally, Tally};
use super::{BATCH_LINES, EXPECTED_FAILURES, day_start, time};
use std::path::Path;

/// `1234567.89` as `"1,234,567.89"` (fen in, yuan out).
pub(super) fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let magnitude = fen.unsigned_abs();
    format!("{sign}{}.{:02}", thousands(magnitude / 100), magnitude % 100)
}

pub(super) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// One line of a count-and-amount table; empty cells stay blank.
pub(super) fn row(label: &str, count: Option<u64>, amount: Option<i64>, note: &str) {
    let count = count.map(thousands).unwrap_or_default();
    let amount = amount.map(yuan).unwrap_or_default();
    let line = format!("  {label:<40}{count:>9}{amount:>17}  {note}");
    println!("{}", line.trim_end());
}

pub(super) fn header(title: &str) {
    // East Asian characters take two columns.
    let wide = title.chars().filter(|&c| c as u32 >= 0x2E80).count();
    println!();
    println!("{title:<width$}{:>9}{:>17}", "count", "amount", width = 42 - wide);
}

pub(super) fn print_intro(demo: &Demo, db: &Path, seed: u64) {
    let model = &demo.model;
    let count = |kind| model.partners.iter().filter(|partner| partner.kind == kind).count();
    println!("partner-ledger demo: one month (November 2026) of a cloud partner sales platform, seed {seed}");
    println!(
        "  partners   {} distributors with {} resellers, {} solution providers",
        count(PartnerKind::Distributor),
        count(PartnerKind::Reseller),
        count(PartnerKind::SolutionProvider)
    );
    let with_operators = model.partners.iter().filter(|partner| partner.admin.is_some()).count();
    println!("  operators  {} for {with_operators} partners: admins, finance operators, customer managers", model.operators.len());
    let [resale, referral, unassociated] = demo.created;
    println!(
        "  customers  {}: {} resale (funded by their partner), {} referral (pay for themselves), {} unassociated",
        thousands(model.customers.len() as u64),
        thousands(resale),
        thousands(referral),
        thousands(unassociated)
    );
    println!("             (with their own money, joining their partner as resale a few days after signing up)");
    println!(
        "  script     {} lines (commands, and weekly queries), each with an explicit time from {} to {}",
        thousands(demo.script.lines.len() as u64),
        time(day_start(1)),
        time(demo.script.clock)
    );
    println!("  ledger     {} (replaced), up to {} commands per durable commit", db.display(), thousands(BATCH_LINES as u64));
    println!("  the month  partners funded weekly; sign-ups until the 20th; orders, usage, refunds, withdrawals and");
    println!("             partner-payment requests every day; association changes mid-month; invoices from the 26th;");
    println!("             unused promotion coupons swept on the 30th");
    println!("  amounts    in yuan (CNY, 2 decimals); coupon value is CPN, never money");
}

pub(super) fn print_platform(books: &Books) {
    println!();
    println!("Platform accounts at month end (double entry: each asset sums to zero over all accounts)");
    let meanings = [
        ("CNY", "money from outside: recharges in (-), approved withdrawals out (+)"),
        ("CNY", "orders and usage, less refunds and compensations, plus fees"),
        ("CPN", "coupon value created for partner quotas (less value reclaimed)"),
        ("CPN", "coupon value spent on orders and usage"),
        ("CPN", "coupon value left unused and swept at expiry"),
    ];
    for ((name, balance), (asset, meaning)) in PLATFORM_ACCOUNTS.iter().zip(books.platform).zip(meanings) {
        println!("  {name:<24}{:>17} {asset}  {meaning}", yuan(balance));
    }
}

/// The CNY side of the balance sheet: everything the bank let in, and where it is now. A
/// customer's `allocated` (its partner's funds) and its own `cash` are apart.
pub(super) fn print_money_position(books: &Books) {
    let sum = |parties: &[Funds], field: fn(&Funds) -> i64| parties.iter().map(field).sum::<i64>();
    let partner_cash = sum(&books.partners, |funds| funds.cash);
    let allocated = sum(&books.customers, |funds| funds.allocated);
    let customer_cash = sum(&books.customers, |funds| funds.cash);
    let credit = sum(&books.partners, |funds| funds.credit_used) + sum(&books.customers, |funds| funds.credit_used);
    let debt = sum(&books.customers, |funds| funds.debt);
    println!();
    println!("Where the money is at month end");
    println!("  {:<40}{:>26}", "platform revenue", yuan(books.platform[1]));
    println!("  {:<40}{:>26}", "partners' cash", yuan(partner_cash));
    println!("  {:<40}{:>26}  partners' funds at their customers: spent first, recoverable", "customers' allocated", yuan(allocated));
    println!("  {:<40}{:>26}  their own: recharges, SLA credits, refunds; withdrawable", "customers' own cash", yuan(customer_cash));
    println!("  {:<40}{:>26}", "less credit in use (partners, customers)", yuan(-credit));
    println!("  {:<40}{:>26}", "less customer debt", yuan(-debt));
    println!(
        "  {:<40}{:>26}  the bank account's balance, sign reversed",
        "= net money in from the bank",
        yuan(books.platform[1] + partner_cash + allocated + customer_cash - credit - debt)
    );
}

pub(super) fn print_money_moved(tally: &Tally) {
    header("Money moved during the month");
    let recharge_note = format!("{} of it repaid debt first", yuan(tally.recharge_repaid_debt));
    row("recharged by the platform (from the bank)", Some(tally.recharges.count), Some(tally.recharges.amount), &recharge_note);
    row(
        "allocated by partners to customers",
        Some(tally.allocations.count),
        Some(tally.allocations.amount),
        "into their allocated accounts; debt repaid first",
    );
    row(
        "allocated by distributors to resellers",
        Some(tally.reseller_funding.count),
        Some(tally.reseller_funding.amount),
        "weekly, in atomic groups",
    );
    row(
        "recovered by partners from customers",
        Some(tally.recoveries.count),
        Some(tally.recoveries.amount),
        "unused allocated funds taken back (never own cash)",
    );
    row(
        "by distributors on behalf of resellers",
        Some(tally.on_behalf.count),
        Some(tally.on_behalf.amount),
        "of the allocations and recoveries above",
    );
    row("credit repaid", Some(tally.credit_repaid.count), Some(tally.credit_repaid.amount), "cash moved back into credit lines");
    row(
        "compensations (SLA credits)",
        Some(tally.compensations.count),
        Some(tally.compensations.amount),
        "from revenue to the customer's own cash",
    );
    row("deductions (fees)", Some(tally.deductions.count), Some(tally.deductions.amount), "from the partner to revenue");
}

/// One line of the partners table: customers at month end, cash, and the month's counts.
#[derive(Clone, Copy, Default)]
struct PartnerLine {
    resale: u64,
    referral: u64,
    cash: i64,
    tally: PartnerTally,
}

impl PartnerLine {
    fn of(model: &Model, tally: &Tally, books: &Books, partner: usize) -> PartnerLine {
        let linked = |link| {
            model.partners[partner]
                .customers
                .iter()
                .filter(|&&customer| model.customers[customer].link == link && model.customers[customer].partner == partner)
                .count() as u64
        };
        PartnerLine {
            resale: linked(Link::Resale),
            referral: linked(Link::Referral),
            cash: books.partners[partner].cash,
            tally: tally.partners[partner],
        }
    }

    fn add(&mut self, other: &PartnerLine) {
        self.resale += other.resale;
        self.referral += other.referral;
        self.cash += other.cash;
        self.tally.allocated += other.tally.allocated;
        self.tally.recovered += other.tally.recovered;
        self.tally.orders_paid += other.tally.orders_paid;
        self.tally.paid_by_partner += other.tally.paid_by_partner;
        self.tally.rejected += other.tally.rejected;
    }

    fn print(&self, name: &str) {
        let totals = &self.tally;
        println!(
            "  {name:<24}{:>9}{:>10}{:>16}{:>15}{:>14}{:>9}{:>12}{:>10}",
            thousands(self.resale),
            thousands(self.referral),
            yuan(self.cash),
            yuan(totals.allocated),
            yuan(totals.recovered),
            thousands(totals.orders_paid),
            thousands(totals.paid_by_partner),
            thousands(totals.rejected)
        );
    }
}

pub(super) fn print_partners(model: &Model, tally: &Tally, books: &Books) {
    println!();
    println!("Partners at month end            customers            cash   allocated to     recovered   orders paid  requests");
    println!("                             resale  referral                    customers                  all  by partner  rejected");
    let mut all = PartnerLine::default();
    for (partner, record) in model.partners.iter().enumerate() {
        if record.parent.is_some() {
            continue;
        }
        let group: Vec<usize> = std::iter::once(partner)
            .chain((0..model.partners.len()).filter(|&other| model.partners[other].parent == Some(partner)))
            .collect();
        let mut subtotal = PartnerLine::default();
        for &member in &group {
            let name = if member == partner {
                format!("{} {}", record.id, record.kind.label())
            } else {
                format!("  {} reseller", model.partners[member].id)
            };
            let line = PartnerLine::of(model, tally, books, member);
            line.print(&name);
            subtotal.add(&line);
        }
        if group.len() > 1 {
            subtotal.print(&format!("  {} with its resellers", record.id));
        }
        all.add(&subtotal);
    }
    all.print("all partners");
    println!("  (cash is the partner's own; orders paid are its customers' orders, paid by them or, on request, by the partner)");
}

pub(super) fn print_coupons(tally: &Tally, books: &Books) {
    header("Coupons (CPN, coupon value)");
    row(
        "quotas from the platform",
        Some(tally.platform_quotas.count),
        Some(tally.platform_quotas.amount),
        "to distributors and solution providers",
    );
    row(
        "quotas from distributors",
        Some(tally.distributor_quotas.count),
        Some(tally.distributor_quotas.amount),
        "to their resellers, out of their own quota",
    );
    row("vouchers issued", Some(tally.vouchers.count), Some(tally.vouchers.amount), "most limited to 1-3 services");
    row("cash coupons issued", Some(tally.cash_coupons.count), Some(tally.cash_coupons.amount), "whitelisted customers only");
    row(
        "redeemed on orders",
        Some(tally.coupon_payments.count),
        Some(tally.coupon_payments.amount),
        "count: orders paid partly with coupons",
    );
    row("redeemed on usage", Some(tally.usage_coupon.count), Some(tally.usage_coupon.amount), "drawn before money, by valid_until");
    row("coupons reclaimed to their quota", Some(tally.coupon_reclaims.count), Some(tally.coupon_reclaims.amount), "");
    row(
        "quota reclaimed by its distributor",
        Some(tally.quota_reclaims.count),
        Some(tally.quota_reclaims.amount),
        "what was left goes back to the distributor's quota",
    );
    row(
        "expired and swept at month end",
        Some(tally.coupons_expired.count),
        Some(books.platform[4]),
        "promotion coupons that ended on 2026-11-26",
    );
    let unused = -books.platform[2] - books.platform[3] - books.platform[4];
    row("unused: in quotas and on live coupons", None, Some(unused), "issued = redeemed + expired + unused");
}

pub(super) fn print_orders(tally: &Tally) {
    header("Orders");
    let placed = tally.single_orders.count + tally.combined_members;
    let combined_note = format!("in {} combined orders, paid or cancelled together", thousands(tally.combined.count));
    row("placed alone", Some(tally.single_orders.count), Some(tally.single_orders.amount), "");
    row("placed in combined orders of 2-3", Some(tally.combined_members), Some(tally.combined.amount), &combined_note);
    let paid_note = format!(
        "coupons {}, allocated {}, cash {}, credit {}",
        yuan(tally.paid.amount - tally.paid_allocated - tally.paid_cash - tally.paid_credit),
        yuan(tally.paid_allocated),
        yuan(tally.paid_cash),
        yuan(tally.paid_credit)
    );
    row("paid", Some(tally.paid.count), Some(tally.paid.amount), &paid_note);
    row(
        "  of which by the customer's partner",
        Some(tally.paid_by_partner.count),
        Some(tally.paid_by_partner.amount),
        "on the customer's request, from the partner's cash and credit",
    );
    row("cancelled", Some(tally.cancelled), None, "");
    row(
        "unsubscribed and refunded",
        Some(tally.refunds.count),
        Some(tally.refunds.amount),
        "to the payer: credit, then allocated (or its former partner), then cash",
    );
    row("left unpaid at month end", Some(placed - tally.paid.count - tally.cancelled), None, "");
}

pub(super) fn print_usage(tally: &Tally, books: &Books) {
    header("On-demand usage and debt");
    let erased =
        format!("sent with 8 decimals; {}.{:08} cut off below the fen", tally.usage_erased / 100_000_000, tally.usage_erased % 100_000_000);
    row("usage charged", Some(tally.usage.count), Some(tally.usage.amount), &erased);
    row("  from coupons", Some(tally.usage_coupon.count), Some(tally.usage_coupon.amount), "count: usage bills partly paid by coupons");
    row("  from allocated funds", None, Some(tally.usage_allocated), "the partner's funds, before the customer's own");
    row("  from own cash", None, Some(tally.usage_cash), "");
    row("  on credit", None, Some(tally.usage_credit), "");
    row("  became debt", Some(tally.usage_debt.count), Some(tally.usage_debt.amount), "count: usage bills that ran into debt");
    let outstanding: i64 = books.customers.iter().map(|funds| funds.debt).sum();
    let debtors = books.customers.iter().filter(|funds| funds.debt > 0).count() as u64;
    row(
        "debt repaid",
        None,
        Some(tally.usage_debt.amount - outstanding),
        "incoming money (allocations, recharges, refunds) repays debt first",
    );
    row("debt outstanding at month end", Some(debtors), Some(outstanding), "count: customers in debt");
}

pub(super) fn print_withdrawals_and_invoices(tally: &Tally) {
    header("Withdrawals");
    let get = |status| tally.withdrawals.get(status).copied().unwrap_or_default();
    let (requested, approved, rejected, deleted) = (get("pending"), get("approved"), get("rejected"), get("deleted"));
    row("requested", Some(requested.count), Some(requested.amount), "held: still in cash, no longer available");
    row(
        "  by resale customers",
        Some(tally.v2.resale_withdrawals.count),
        Some(tally.v2.resale_withdrawals.amount),
        "their own cash only (SLA credits, money from before joining)",
    );
    row("approved (paid out to the bank)", Some(approved.count), Some(approved.amount), "");
    row("rejected (held amount released)", Some(rejected.count), Some(rejected.amount), "");
    row("  then deleted by the requester", Some(deleted.count), Some(deleted.amount), "");
    let pending = requested.count - approved.count - rejected.count;
    row("still pending at month end", Some(pending), Some(requested.amount - approved.amount - rejected.amount), "");
    header("Invoices");
    row("issued", Some(tally.invoices.count), Some(tally.invoices.amount), "matched to bills: refunds first, then oldest first");
    row("returned", Some(tally.invoice_returns.count), Some(tally.invoice_returns.amount), "their bills became invoiceable again");
}

pub(super) fn print_failures(tally: &Tally) {
    println!();
    println!("Refused as the script expected (each changed nothing)");
    for (code, meaning) in EXPECTED_FAILURES {
        println!("  {code:<24}{:>9}  {meaning}", thousands(tally.failures.get(code).copied().unwrap_or(0)));
    }
    for (code, count) in &tally.failures {
        if !EXPECTED_FAILURES.iter().any(|(expected, _)| expected == code) {
            println!("  {code:<24}{:>9}", thousands(*count));
        }
    }
    println!("  {:<24}{:>9}  identical retries answered with the original result, applied once", "duplicate", thousands(tally.duplicates));
    println!("  {:<24}{:>9}  answers the script did not expect", "unexpected", thousands(tally.unexpected_count));
    let refused: u64 = tally.failures.values().sum();
    println!(
        "  all {} answers: {} committed, {} duplicates, {} queries answered, {} refused as expected, {} unexpected",
        thousands(tally.committed + tally.duplicates + tally.answered + refused + tally.unexpected_count),
        thousands(tally.committed),
        thousands(tally.duplicates),
        thousands(tally.answered),
        thousands(refused),
        thousands(tally.unexpected_count)
    );
    for example in &tally.unexpected {
        println!("    {example}");
    }
}
