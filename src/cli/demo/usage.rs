//! On-demand usage: charged with 8 decimals, truncated to the fen by the ledger; drawn from the
//! customer's coupons that cover the service, then its allocated funds, cash and credit, and
//! into debt when they fall short.

use super::month::Demo;
use super::script::{Expect, Tag};
use super::{SERVICES, usage_amount};
use serde_json::json;

impl Demo {
    /// On-demand usage of `units` (10^-8 yuan): the ledger charges it truncated to the fen.
    pub(super) fn consume(&mut self, customer: usize, units: i64) {
        let units = units.max(1_000_000);
        let service = SERVICES[self.rng.index(SERVICES.len())];
        let command =
            json!({"op": "consume", "customer": self.model.customers[customer].id, "amount": usage_amount(units), "service": service});
        let at = self.script.now();
        self.send("platform", command, Expect::Ok, Tag::Other);
        self.model.apply_usage(customer, units / 1_000_000, service, at);
    }
}
