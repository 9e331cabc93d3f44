//! The script: request lines with what each must answer, and what the summary counts it as.

use super::{day_start, time};
use serde_json::{Value, json};

/// What the ledger must answer to one line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Expect {
    Ok,
    Duplicate,
    Fail(&'static str),
    /// A query's answer listing exactly this many rows in all (`total_count`).
    Rows(u64),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Ok => formatter.write_str("committed"),
            Expect::Duplicate => formatter.write_str("a duplicate"),
            Expect::Fail(code) => write!(formatter, "error {code}"),
            Expect::Rows(rows) => write!(formatter, "an answer with {rows} rows"),
        }
    }
}

/// What a line counts as in the summary, beyond what its result says.
#[derive(Clone, Copy, Debug)]
pub(super) enum Tag {
    Other,
    /// A customer registered; `named` with a name and an external id.
    Customer {
        named: bool,
    },
    /// A pickup voucher (提货券) issued.
    PickupVoucher {
        amount: i64,
    },
    DiscountGranted,
    DiscountRevoked,
    /// An invoice request by `amount` (0), `cycles` (1) or `bills` (2).
    Invoice {
        basis: usize,
    },
    Recharge,
    Compensation {
        resale: bool,
    },
    Allocate {
        partner: usize,
        to_customer: bool,
        on_behalf: bool,
        amount: i64,
    },
    FundResellers {
        amount: i64,
    },
    Recover {
        partner: usize,
        on_behalf: bool,
        amount: i64,
    },
    Quota {
        by_platform: bool,
        amount: i64,
    },
    Coupon {
        voucher: bool,
        amount: i64,
    },
    Place {
        amount: i64,
    },
    /// A payment; `partner` is the customer's partner (none when unassociated); `after_rejection`
    /// when the partner declined to pay it first.
    Pay {
        partner: Option<usize>,
        by_partner: bool,
        after_rejection: bool,
    },
    Withdrawal {
        amount: i64,
        resale: bool,
    },
    InvoiceReturn {
        amount: i64,
    },
    /// An operator registered with this role (index into `operators::ROLES`).
    Operator {
        role: usize,
    },
    OperatorDisabled,
    Manager {
        replaced: bool,
    },
    /// A partner-payment request of `orders` orders (one, or a combined order's).
    RequestPayment {
        orders: u64,
        amount: i64,
    },
    RejectPayment {
        partner: usize,
        orders: u64,
        amount: i64,
    },
    Associate {
        cash: i64,
    },
    SwitchToResale {
        cash: i64,
    },
    SwitchToReferral,
    Unbind,
    /// A customer manager reading its customer's bills.
    ManagerRead,
    /// A partner reading its awaiting-payment list.
    AwaitingRead,
}

#[derive(Clone, Copy)]
pub(super) struct Meta {
    pub(super) expect: Expect,
    pub(super) tag: Tag,
    /// Sent by an operator acting for its partner.
    pub(super) by_operator: bool,
}

pub(super) struct Script {
    pub(super) lines: Vec<String>,
    pub(super) metas: Vec<Meta>,
    /// The `at` of the last line, in milliseconds.
    pub(super) clock: i64,
    /// Milliseconds between two lines.
    pub(super) step: i64,
}

impl Script {
    /// The `at` the next line will carry.
    pub(super) fn now(&self) -> i64 {
        self.clock + self.step
    }

    pub(super) fn start_day(&mut self, day: u32) {
        self.clock = self.clock.max(day_start(day) - self.step);
    }

    /// Moves the clock so the next line is at `millis` (or later, if the clock is past it).
    pub(super) fn wait_until(&mut self, millis: i64) {
        self.clock = self.clock.max(millis - self.step);
    }

    pub(super) fn push(&mut self, actor: &str, mut command: Value, expect: Expect, tag: Tag) -> usize {
        self.clock += self.step;
        command["id"] = json!(format!("req-{:07}", self.lines.len() + 1));
        command["actor"] = json!(actor);
        command["at"] = json!(time(self.clock));
        self.lines.push(command.to_string());
        self.metas.push(Meta { expect, tag, by_operator: actor.starts_with("operator:") });
        self.lines.len() - 1
    }

    /// Sends line `index` again, unchanged: a client retrying after a lost answer.
    pub(super) fn resend(&mut self, index: usize) {
        self.lines.push(self.lines[index].clone());
        self.metas.push(Meta { expect: Expect::Duplicate, tag: Tag::Other, by_operator: false });
    }
}
