//! Authorization matrix (SPEC 2.1, 3, 4; docs/decisions.md "Scope" and "Operators"): every command
//! and query, sent by every kind of actor, on a copy of one standard scenario in which each request
//! would succeed for an allowed actor (a copy serves cells until one commits or disagrees).
//!
//! The actors are named relative to reseller R1 (parent distributor D1) and its resale customer
//! C2: the platform, the partner itself (R1), its parent distributor (D1), another partner (D2),
//! its own customer (C2), another customer (C3, of S1), an unregistered actor, once as a partner
//! (`partner:NOPE`) and once as a customer (`customer:NOPE`), and **(v2)** the operators of R1: an
//! `admin`, a `finance`, a `customer_manager` assigned to C2 and CR2 (in force since the UTC+8 day
//! after the assignment), a `customer_manager` assigned to nobody, a `finance` + `customer_manager`,
//! a disabled operator (roles `[]`), and an operator of another partner (D2's `admin`).
//!
//! Some rows also name extra actors of their own (`also`): customers and partners that only
//! matter for that request, such as R1's referral customer CR2 or solution provider S1.
//!
//! A denied cell must answer `access_denied` and change nothing; an allowed cell must succeed (`ok`,
//! and a command commits exactly one transaction); a few cells expect another code that outranks
//! `access_denied` (SPEC 2.2) or that comes after it (a relationship or state error: the actor was
//! allowed, the request was not).
mod common;
use common::{COMMANDS, Fixture, ManualClock, QUERIES};
use partner_ledger::Ledger;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Allowed: the request succeeds.
    A,
    /// Denied: `access_denied`, nothing changed.
    D,
    /// Refused with this code (not `access_denied`), nothing changed.
    F(&'static str),
}
use Expect::{A, D, F};

/// The actor columns.
const ACTORS: [(&str, &str); 15] = [
    ("platform", "platform"),
    ("partner itself", "partner:R1"),
    ("parent distributor", "partner:D1"),
    ("another partner", "partner:D2"),
    ("its own customer", "customer:C2"),
    ("another customer", "customer:C3"),
    ("unregistered partner", "partner:NOPE"),
    ("unregistered customer", "customer:NOPE"),
    ("R1 admin", "operator:R1_ADMIN"),
    ("R1 finance", "operator:R1_FIN"),
    ("R1 customer manager of C2 and CR2", "operator:R1_CM"),
    ("R1 customer manager of nobody", "operator:R1_CM2"),
    ("R1 finance + customer manager", "operator:R1_FINCM"),
    ("R1 disabled operator", "operator:R1_OFF"),
    ("D2 admin", "operator:D2_ADMIN"),
];

/// One row: a request without `id`, `actor` and `at` (added per cell), the outcome per actor in the
/// order of `ACTORS`:
/// platform, R1, D1, D2, C2, C3, partner:NOPE, customer:NOPE,
/// R1 admin, R1 finance, R1 CM (of C2 and CR2), R1 CM (of nobody), R1 finance+CM, R1 disabled, D2 admin,
/// and the outcome for the row's own extra actors.
struct Row {
    name: &'static str,
    request: &'static str,
    expect: [Expect; 15],
    also: &'static [(&'static str, Expect)],
}

const fn row(name: &'static str, request: &'static str, expect: [Expect; 15]) -> Row {
    Row { name, request, expect, also: &[] }
}

impl Row {
    const fn also(self, also: &'static [(&'static str, Expect)]) -> Row {
        Row { also, ..self }
    }
}

const INVALID: Expect = F("invalid_request");
const NOT_YOUR_CUSTOMER: Expect = F("not_your_customer");
const NOT_RESALE: Expect = F("not_resale_customer");
const ORDER_STATE: Expect = F("order_state");
const BLOCKED: Expect = F("association_blocked");

/// The table. Allowed actors follow SPEC 3's per-command actors, SPEC 2.1's scope, reach and roles,
/// and docs/decisions.md where SPEC is silent. Operators act as their partner within their roles:
/// `admin` as the partner; `finance` the finance commands and every query; a customer manager
/// only reads `bills`, `order`, `orders` and `consumption_summary` of its customers in force.
const ROWS: &[Row] = &[
    // ---- parties ----
    row(
        "register_partner (solution provider)",
        r#"{"op":"register_partner","partner":"P9","kind":"solution_provider"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "register_partner (reseller of D1)",
        r#"{"op":"register_partner","partner":"P9","kind":"reseller","parent":"D1"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // decisions: platform, the partner itself or its parent distributor.
    row(
        "register_customer with partner R1",
        r#"{"op":"register_customer","customer":"C9","partner":"R1"}"#,
        [A, A, A, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    row(
        "register_customer (referral) with partner R1",
        r#"{"op":"register_customer","customer":"C9","partner":"R1","association":"referral"}"#,
        [A, A, A, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    row(
        "register_customer without partner",
        r#"{"op":"register_customer","customer":"C9"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // SPEC 3 (v2): name and external id change nothing of who may register.
    row(
        "register_customer with partner R1, name and external_id",
        r#"{"op":"register_customer","customer":"C9","partner":"R1","name":"Nine Ltd","external_id":"EXT9"}"#,
        [A, A, A, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    row(
        "associate C4 with R1",
        r#"{"op":"associate","customer":"C4","partner":"R1","association":"resale"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // decisions: the platform, the customer's partner or that partner's distributor.
    row("unbind C2", r#"{"op":"unbind","customer":"C2"}"#, [A, A, A, D, D, D, D, D, A, D, D, D, D, D, D]),
    // decisions: the partner or its distributor (not the platform).
    row(
        "switch_association C2 to referral",
        r#"{"op":"switch_association","customer":"C2","association":"referral"}"#,
        [D, A, A, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // A reseller does not act for its parent distributor's customers; the distributor does.
    row("unbind C1 (customer of the parent)", r#"{"op":"unbind","customer":"C1"}"#, [A, D, A, D, D, D, D, D, D, D, D, D, D, D, D]),
    // SPEC 3 (v2): an open partner-payment request blocks unbinding, after the access check.
    row(
        "unbind C5 (partner-payment request open)",
        r#"{"op":"unbind","customer":"C5"}"#,
        [BLOCKED, BLOCKED, BLOCKED, D, D, D, D, D, BLOCKED, D, D, D, D, D, D],
    )
    .also(&[("customer:C5", D)]),
    // SPEC 2.1 (v2): unbinding and switching are within a partner's reach of its referral
    // customers (and its distributor's).
    row("unbind CR2 (referral of R1)", r#"{"op":"unbind","customer":"CR2"}"#, [A, A, A, D, D, D, D, D, A, D, D, D, D, D, D])
        .also(&[("customer:CR2", D)]),
    row(
        "switch_association CR (referral of the parent) to resale",
        r#"{"op":"switch_association","customer":"CR","association":"resale"}"#,
        [D, D, A, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // CR2 has a credit limit and credit in use: a resale association is blocked, after access.
    row(
        "switch_association CR2 (referral of R1) to resale",
        r#"{"op":"switch_association","customer":"CR2","association":"resale"}"#,
        [D, BLOCKED, BLOCKED, D, D, D, D, D, BLOCKED, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", D)]),
    // ---- operators (v2; decisions: the platform, the partner itself or its admin, not the distributor) ----
    row(
        "register_operator for R1",
        r#"{"op":"register_operator","operator":"ON","partner":"R1","roles":["finance"]}"#,
        [A, A, D, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    row(
        "register_operator for D2",
        r#"{"op":"register_operator","operator":"ON","partner":"D2","roles":["admin","customer_manager"]}"#,
        [A, D, D, A, D, D, D, D, D, D, D, D, D, D, A],
    ),
    row(
        "set_operator_roles R1_CM2",
        r#"{"op":"set_operator_roles","operator":"R1_CM2","roles":["customer_manager","finance"]}"#,
        [A, A, D, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // The disabled operator cannot re-enable itself.
    row(
        "set_operator_roles R1_OFF (re-enable)",
        r#"{"op":"set_operator_roles","operator":"R1_OFF","roles":["finance"]}"#,
        [A, A, D, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // An admin may disable itself.
    row(
        "set_operator_roles D2_ADMIN (disable)",
        r#"{"op":"set_operator_roles","operator":"D2_ADMIN","roles":[]}"#,
        [A, D, D, A, D, D, D, D, D, D, D, D, D, D, A],
    ),
    // decisions: the platform, the customer's own partner or its admin (not the distributor).
    row(
        "assign_customer_manager C2 -> R1_CM2",
        r#"{"op":"assign_customer_manager","customer":"C2","operator":"R1_CM2"}"#,
        [A, A, D, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    row(
        "assign_customer_manager C2 -> null (remove)",
        r#"{"op":"assign_customer_manager","customer":"C2","operator":null}"#,
        [A, A, D, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // decisions: for resale and referral customers alike.
    row(
        "assign_customer_manager CR2 (referral) -> R1_CM2",
        r#"{"op":"assign_customer_manager","customer":"CR2","operator":"R1_CM2"}"#,
        [A, A, D, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // SPEC 3: an operator without customer_manager is invalid_request, checked after access.
    row(
        "assign_customer_manager C2 -> R1_FIN (not a customer manager)",
        r#"{"op":"assign_customer_manager","customer":"C2","operator":"R1_FIN"}"#,
        [INVALID, INVALID, D, D, D, D, D, D, INVALID, D, D, D, D, D, D],
    ),
    // Another partner's operator without the role: the missing role is malformed and ranks before
    // the relationship (SPEC 2.2; tests/operators.rs covers not_your_customer with a manager).
    row(
        "assign_customer_manager C2 -> D2_ADMIN (another partner's, not a customer manager)",
        r#"{"op":"assign_customer_manager","customer":"C2","operator":"D2_ADMIN"}"#,
        [INVALID, INVALID, D, D, D, D, D, D, INVALID, D, D, D, D, D, D],
    ),
    // ---- money ----
    row("recharge R1", r#"{"op":"recharge","party":"partner:R1","amount":"10"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D]),
    row(
        "recharge C4 (unassociated customer)",
        r#"{"op":"recharge","party":"customer:C4","amount":"10"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // decisions: allocate/recover are the partner's act (or its distributor's naming `partner`).
    row(
        "allocate R1 -> C2 (partner named)",
        r#"{"op":"allocate","partner":"R1","to":"customer:C2","amount":"10","memo":"m"}"#,
        [D, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    // `partner` defaults to the actor (an operator's partner): D1 and D2 then move their own money
    // to a customer that is not theirs (a relationship error, SPEC 3 allocate).
    row(
        "allocate -> C2 (partner defaults to actor)",
        r#"{"op":"allocate","to":"customer:C2","amount":"10"}"#,
        [D, A, NOT_YOUR_CUSTOMER, NOT_YOUR_CUSTOMER, D, D, D, D, A, A, D, D, A, D, NOT_YOUR_CUSTOMER],
    ),
    row(
        "allocate D1 -> reseller R1",
        r#"{"op":"allocate","partner":"D1","to":"partner:R1","amount":"10"}"#,
        [D, D, A, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "allocate D1 -> C1 (customer of the parent)",
        r#"{"op":"allocate","partner":"D1","to":"customer:C1","amount":"10"}"#,
        [D, D, A, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // decisions (v2): allocating to a referral customer stays a relationship error.
    row(
        "allocate R1 -> CR2 (referral)",
        r#"{"op":"allocate","partner":"R1","to":"customer:CR2","amount":"10"}"#,
        [D, NOT_RESALE, NOT_RESALE, D, D, D, D, D, NOT_RESALE, NOT_RESALE, D, D, NOT_RESALE, D, D],
    ),
    row(
        "recover R1 <- C2 (partner named)",
        r#"{"op":"recover","partner":"R1","from":"customer:C2","amount":"10"}"#,
        [D, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "recover R1 <- CR2 (referral)",
        r#"{"op":"recover","partner":"R1","from":"customer:CR2","amount":"10"}"#,
        [D, NOT_RESALE, NOT_RESALE, D, D, D, D, D, NOT_RESALE, NOT_RESALE, D, D, NOT_RESALE, D, D],
    ),
    row(
        "recover D1 <- reseller R1",
        r#"{"op":"recover","partner":"D1","from":"partner:R1","amount":"10"}"#,
        [D, D, A, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "set_credit_limit R1",
        r#"{"op":"set_credit_limit","party":"partner:R1","limit":"2000"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // v2: a resale customer has no credit; a limit of "0" is always accepted.
    row(
        "set_credit_limit C2 (zero)",
        r#"{"op":"set_credit_limit","party":"customer:C2","limit":"0"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "set_credit_limit CR2 (referral)",
        r#"{"op":"set_credit_limit","party":"customer:CR2","limit":"2000"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", D)]),
    // SPEC: platform or the party; decisions: any actor whose scope covers the party.
    row("repay_credit R1", r#"{"op":"repay_credit","party":"partner:R1","amount":"10"}"#, [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D]),
    // v2: a resale customer never uses credit, so the allowed actors reach exceeds_credit_used.
    row(
        "repay_credit C2 (no credit in use)",
        r#"{"op":"repay_credit","party":"customer:C2","amount":"10"}"#,
        [
            F("exceeds_credit_used"),
            F("exceeds_credit_used"),
            F("exceeds_credit_used"),
            D,
            F("exceeds_credit_used"),
            D,
            D,
            D,
            F("exceeds_credit_used"),
            F("exceeds_credit_used"),
            D,
            D,
            F("exceeds_credit_used"),
            D,
            D,
        ],
    ),
    // SPEC 2.1 (v2): repay_credit of a referral customer is access_denied for its partner.
    row(
        "repay_credit CR2 (referral of R1)",
        r#"{"op":"repay_credit","party":"customer:CR2","amount":"10"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    row(
        "adjust compensate R1",
        r#"{"op":"adjust","party":"partner:R1","direction":"compensate","amount":"10","reason":"r"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "adjust deduct C2",
        r#"{"op":"adjust","party":"customer:C2","direction":"deduct","amount":"10","reason":"r"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // ---- coupons ----
    // The platform form (no from_quota). decisions: a distributor must name from_quota
    // (invalid_request). A reseller or customer has no quota-issuing role at all (SPEC 2.1).
    row(
        "issue_quota (platform form) -> D1",
        r#"{"op":"issue_quota","quota":"QN","partner":"D1","kind":"voucher","amount":"10","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-07-01T00:00:00Z"}"#,
        [A, D, INVALID, INVALID, D, D, D, D, D, D, D, D, D, D, INVALID],
    ),
    // The distributor form. decisions: the platform gives no from_quota (invalid_request); a
    // from_quota owned by someone else is access_denied; only distributors issue from quotas.
    row(
        "issue_quota (distributor form) QD1 -> R1",
        r#"{"op":"issue_quota","quota":"QN","partner":"R1","kind":"voucher","amount":"10","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-07-01T00:00:00Z","from_quota":"QD1"}"#,
        [INVALID, D, A, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // SPEC: actor the issuer.
    row("reclaim_quota QR1 (issued by D1)", r#"{"op":"reclaim_quota","quota":"QR1"}"#, [D, D, A, D, D, D, D, D, D, D, D, D, D, D, D]),
    row(
        "reclaim_quota QD1 (issued by the platform)",
        r#"{"op":"reclaim_quota","quota":"QD1"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // SPEC: the customer's partner; decisions: or its distributor, not the platform.
    row("whitelist_customer C2", r#"{"op":"whitelist_customer","customer":"C2"}"#, [D, A, A, D, D, D, D, D, A, D, D, D, D, D, D]),
    // decisions: only resale customers can be whitelisted (not_resale_customer).
    row(
        "whitelist_customer CR2 (referral)",
        r#"{"op":"whitelist_customer","customer":"CR2"}"#,
        [D, NOT_RESALE, NOT_RESALE, D, D, D, D, D, NOT_RESALE, D, D, D, D, D, D],
    ),
    // SPEC: the quota's owner or its parent distributor.
    row(
        "issue_coupon QR1 -> C2",
        r#"{"op":"issue_coupon","coupon":"KN","quota":"QR1","customer":"C2","face_value":"10"}"#,
        [D, A, A, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // decisions (v2): issuing a coupon to a referral customer stays a relationship error.
    row(
        "issue_coupon QR1 -> CR2 (referral)",
        r#"{"op":"issue_coupon","coupon":"KN","quota":"QR1","customer":"CR2","face_value":"10"}"#,
        [D, NOT_RESALE, NOT_RESALE, D, D, D, D, D, NOT_RESALE, D, D, D, D, D, D],
    ),
    // SPEC: the issuing partner or its parent distributor.
    row("reclaim_coupon K1 (issued by R1)", r#"{"op":"reclaim_coupon","coupon":"K1"}"#, [D, A, A, D, D, D, D, D, A, D, D, D, D, D, D]),
    row("expire_coupons", r#"{"op":"expire_coupons"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D]),
    // SPEC 3 (v2): a pickup voucher (ratio, order kinds) is issued by the same actors as any coupon.
    row(
        "issue_coupon QPR1 (pickup voucher) -> C2",
        r#"{"op":"issue_coupon","coupon":"KN","quota":"QPR1","customer":"C2","face_value":"10","ratio":"0.30","order_kinds":["new","renew"]}"#,
        [D, A, A, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // ---- discounts (v2; SPEC 3, decisions: only the platform grants and revokes) ----
    row(
        "grant_discount -> C2",
        r#"{"op":"grant_discount","discount":"DN","customer":"C2","ratio":"0.85","services":["ecs"],"valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-07-01T00:00:00Z"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "grant_discount -> CR2 (referral)",
        r#"{"op":"grant_discount","discount":"DN","customer":"CR2","ratio":"0.90","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-07-01T00:00:00Z"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", D)]),
    row("revoke_discount DC2", r#"{"op":"revoke_discount","discount":"DC2"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D])
        .also(&[("customer:CR2", D)]),
    // ---- orders (SPEC: the customer or platform) ----
    row(
        "place_order for C2",
        r#"{"op":"place_order","order":"ON","customer":"C2","amount":"10","kind":"new","service":"ecs"}"#,
        [A, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "place_combined_order for C2",
        r#"{"op":"place_combined_order","combined":"CBN","customer":"C2","orders":[{"order":"ON1","amount":"1","kind":"new"},{"order":"ON2","amount":"2","kind":"renew"}]}"#,
        [A, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    // decisions: payer customer — the customer itself only.
    row("pay_order O_PEND (payer customer)", r#"{"op":"pay_order","order":"O_PEND"}"#, [D, D, D, D, A, D, D, D, D, D, D, D, D, D, D]),
    // SPEC 3 (v2): a discount changes nothing of who pays; only the customer names its discount.
    row(
        "pay_order O_PEND with discount DC2 (payer customer)",
        r#"{"op":"pay_order","order":"O_PEND","discount":"DC2"}"#,
        [D, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    // decisions (v2): a partner payer with a discount is invalid_request judged as written, which
    // outranks access_denied (SPEC 2.2).
    row(
        "pay_order O_REQ (payer partner, with a discount)",
        r#"{"op":"pay_order","order":"O_REQ","payer":"partner","discount":"DC5"}"#,
        [
            INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID,
            INVALID,
        ],
    )
    .also(&[("customer:C5", INVALID)]),
    // A payment uses coupons or a discount, never both (invalid_request, as written).
    row(
        "pay_order O_PEND with coupon K1 and discount DC2",
        r#"{"op":"pay_order","order":"O_PEND","coupons":["K1"],"discount":"DC2"}"#,
        [
            INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID,
            INVALID,
        ],
    ),
    // SPEC 3 (v2): while a request is open, the customer's own payment is order_state.
    row(
        "pay_order O_REQ (payer customer, request open)",
        r#"{"op":"pay_order","order":"O_REQ"}"#,
        [D, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:C5", ORDER_STATE)]),
    // decisions: payer partner — the customer's partner or that partner's distributor (v2: and
    // their admin or finance operators), for an order whose partner payment is requested.
    row(
        "pay_order O_REQ (payer partner, requested)",
        r#"{"op":"pay_order","order":"O_REQ","payer":"partner"}"#,
        [D, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    )
    .also(&[("customer:C5", D)]),
    // SPEC 2.1 (v2): pay_order as partner is within reach of a referral customer; without a
    // request it is order_state.
    row(
        "pay_order O_CR2PEND (payer partner, referral, not requested)",
        r#"{"op":"pay_order","order":"O_CR2PEND","payer":"partner"}"#,
        [D, ORDER_STATE, ORDER_STATE, D, D, D, D, D, ORDER_STATE, ORDER_STATE, D, D, ORDER_STATE, D, D],
    )
    .also(&[("customer:CR2", D)]),
    // A solution provider pays for its referral customer that asked it.
    row(
        "pay_order O_CS (payer partner S1, referral, requested)",
        r#"{"op":"pay_order","order":"O_CS","payer":"partner"}"#,
        [D, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("partner:S1", A), ("customer:CS", D)]),
    row("cancel_order O_PEND", r#"{"op":"cancel_order","order":"O_PEND"}"#, [A, D, D, D, A, D, D, D, D, D, D, D, D, D, D]),
    row("cancel_order CB (combined)", r#"{"op":"cancel_order","order":"CB"}"#, [A, D, D, D, A, D, D, D, D, D, D, D, D, D, D]),
    row(
        "unsubscribe O_PAID (paid by C2)",
        r#"{"op":"unsubscribe","order":"O_PAID","refund":"5"}"#,
        [A, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "unsubscribe O_P (paid by R1)",
        r#"{"op":"unsubscribe","order":"O_P","refund":"5"}"#,
        [A, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "consume C2",
        r#"{"op":"consume","customer":"C2","amount":"1.23456789","service":"obs"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // ---- partner payment (v2) ----
    // decisions: only the customer itself asks.
    row(
        "request_partner_payment O_PEND (resale C2)",
        r#"{"op":"request_partner_payment","order":"O_PEND"}"#,
        [D, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    // SPEC 3: a referral customer asks only a solution provider (not_resale_customer otherwise).
    row(
        "request_partner_payment O_CR2PEND (referral of reseller R1)",
        r#"{"op":"request_partner_payment","order":"O_CR2PEND"}"#,
        [D, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", NOT_RESALE)]),
    row(
        "request_partner_payment O_CS2 (referral of solution provider S1)",
        r#"{"op":"request_partner_payment","order":"O_CS2"}"#,
        [D, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CS", A), ("partner:S1", D)]),
    // SPEC 3: the customer's partner, its distributor, or a finance (or admin) operator.
    row(
        "reject_partner_payment O_REQ (C5 of R1)",
        r#"{"op":"reject_partner_payment","order":"O_REQ","reason":"no"}"#,
        [D, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    )
    .also(&[("customer:C5", D)]),
    row(
        "reject_partner_payment O_CS (referral of S1)",
        r#"{"op":"reject_partner_payment","order":"O_CS","reason":"no"}"#,
        [D, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("partner:S1", A), ("customer:CS", D)]),
    // Within reach of a referral customer; O_CR2R was rejected already (order_state).
    row(
        "reject_partner_payment O_CR2R (referral, already rejected)",
        r#"{"op":"reject_partner_payment","order":"O_CR2R","reason":"no"}"#,
        [D, ORDER_STATE, ORDER_STATE, D, D, D, D, D, ORDER_STATE, ORDER_STATE, D, D, ORDER_STATE, D, D],
    ),
    // ---- withdrawals (decisions: only the party requests and deletes; the platform decides;
    // v2: a partner's admin or finance operator acts for its partner) ----
    row(
        "request_withdrawal R1",
        r#"{"op":"request_withdrawal","withdrawal":"WN","party":"partner:R1","amount":"10"}"#,
        [D, A, D, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    // v2: a resale customer withdraws its own cash.
    row(
        "request_withdrawal C2 (its own cash)",
        r#"{"op":"request_withdrawal","withdrawal":"WN","party":"customer:C2","amount":"10"}"#,
        [D, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    row("approve_withdrawal W_PEND", r#"{"op":"approve_withdrawal","withdrawal":"W_PEND"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D]),
    row(
        "reject_withdrawal W_PEND",
        r#"{"op":"reject_withdrawal","withdrawal":"W_PEND","reason":"no"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row("delete_withdrawal W_REJ", r#"{"op":"delete_withdrawal","withdrawal":"W_REJ"}"#, [D, A, D, D, D, D, D, D, A, A, D, D, A, D, D]),
    // ---- invoices (decisions: "actor the party" = any actor whose scope covers the party) ----
    row(
        "request_invoice C2",
        r#"{"op":"request_invoice","invoice":"IN","party":"customer:C2","amount":"1"}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "request_invoice R1",
        r#"{"op":"request_invoice","invoice":"IN","party":"partner:R1","amount":"1"}"#,
        [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    // SPEC 3 (v2): invoices by billing cycles or by bills are asked by the same actors.
    row(
        "request_invoice C2 by cycles",
        r#"{"op":"request_invoice","invoice":"IN","party":"customer:C2","cycles":["2026-01"]}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "request_invoice C2 by bills",
        r#"{"op":"request_invoice","invoice":"IN","party":"customer:C2","bills":["O_PAID"]}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    // O_P was paid by R1: its bill is R1's to invoice, not C2's (not_found, after access).
    row(
        "request_invoice C2 by bills [O_P] (R1's bill)",
        r#"{"op":"request_invoice","invoice":"IN","party":"customer:C2","bills":["O_P"]}"#,
        [
            F("not_found"),
            F("not_found"),
            F("not_found"),
            D,
            F("not_found"),
            D,
            D,
            D,
            F("not_found"),
            F("not_found"),
            D,
            D,
            F("not_found"),
            D,
            D,
        ],
    ),
    row(
        "request_invoice R1 by bills [O_P]",
        r#"{"op":"request_invoice","invoice":"IN","party":"partner:R1","bills":["O_P"]}"#,
        [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "request_invoice CR2 by cycles (referral of R1)",
        r#"{"op":"request_invoice","invoice":"IN","party":"customer:CR2","cycles":["2026-01"]}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    // SPEC 2.1 (v2): request_invoice of a referral customer is access_denied for its partner.
    row(
        "request_invoice CR2 (referral of R1)",
        r#"{"op":"request_invoice","invoice":"IN","party":"customer:CR2","amount":"1"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    row("return_invoice I_C2", r#"{"op":"return_invoice","invoice":"I_C2"}"#, [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D]),
    // ---- atomic groups: each member is checked for the group's actor (and an operator's roles) ----
    row(
        "atomic [allocate R1 -> C2]",
        r#"{"op":"atomic","commands":[{"op":"allocate","partner":"R1","to":"customer:C2","amount":"1"}]}"#,
        [D, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "atomic [recharge R1, set_credit_limit R1]",
        r#"{"op":"atomic","commands":[{"op":"recharge","party":"partner:R1","amount":"1"},{"op":"set_credit_limit","party":"partner:R1","limit":"5000"}]}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "atomic [place_order C2, pay_order]",
        r#"{"op":"atomic","commands":[{"op":"place_order","order":"OA","customer":"C2","amount":"1","kind":"new"},{"op":"pay_order","order":"OA"}]}"#,
        [D, D, D, D, A, D, D, D, D, D, D, D, D, D, D],
    ),
    // decisions: a group is a finance command only when every member is one.
    row(
        "atomic [allocate R1 -> C2, whitelist C2]",
        r#"{"op":"atomic","commands":[{"op":"allocate","partner":"R1","to":"customer:C2","amount":"1"},{"op":"whitelist_customer","customer":"C2"}]}"#,
        [D, A, A, D, D, D, D, D, A, D, D, D, D, D, D],
    ),
    // ---- queries (SPEC 4: the same scope; v2: finance reads every query in scope) ----
    row("balance R1", r#"{"op":"balance","party":"partner:R1"}"#, [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D]),
    row(
        "balance C2",
        r#"{"op":"balance","party":"customer:C2","as_of":"2026-01-02T00:10:00Z"}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    row("balance C1 (customer of the parent)", r#"{"op":"balance","party":"customer:C1"}"#, [A, D, A, D, D, D, D, D, D, D, D, D, D, D, D]),
    // v2: a referral customer is outside its partner's (and that partner's distributor's) scope.
    row(
        "balance CR (referral customer of the parent)",
        r#"{"op":"balance","party":"customer:CR"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    row(
        "balance CR2 (referral customer of R1)",
        r#"{"op":"balance","party":"customer:CR2"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    row("balance platform", r#"{"op":"balance","party":"platform"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D]),
    // decisions: an operator owns no accounts (invalid_request, which outranks access_denied).
    row(
        "balance of an operator",
        r#"{"op":"balance","party":"operator:R1_FIN"}"#,
        [
            INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID,
            INVALID,
        ],
    ),
    // Without filters every registered actor sees the records in its scope (a customer manager
    // reads nothing but its customers' consumption).
    row("adjust_records (no filter)", r#"{"op":"adjust_records"}"#, [A, A, A, A, A, A, D, D, A, A, D, D, A, D, A]),
    row(
        "adjust_records partner R1",
        r#"{"op":"adjust_records","partner":"R1","operation":"allocate"}"#,
        [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    row("adjust_records target C2", r#"{"op":"adjust_records","target":"customer:C2"}"#, [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D]),
    // SPEC 4 (v2): the `transfer` filter narrows what the actor sees; it checks no scope (base-2
    // is R1's first allocation to C2; others list nothing).
    row(
        "adjust_records transfer base-2",
        r#"{"op":"adjust_records","transfer":"base-2"}"#,
        [A, A, A, A, A, A, D, D, A, A, D, D, A, D, A],
    ),
    // decisions: a target filter outside the actor's scope is access_denied; a referral customer
    // is outside its partner's scope.
    row(
        "adjust_records target CR2 (referral of R1)",
        r#"{"op":"adjust_records","target":"customer:CR2"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    row(
        "statement R1 credit",
        r#"{"op":"statement","party":"partner:R1","account":"credit"}"#,
        [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "statement C2 cash",
        r#"{"op":"statement","party":"customer:C2","from":"2026-01-01T00:00:00Z","to":"2026-12-31T00:00:00Z"}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "statement C2 allocated",
        r#"{"op":"statement","party":"customer:C2","account":"allocated"}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    // decisions: a partner has no allocated account (invalid_request, which outranks access_denied).
    row(
        "statement R1 allocated (partners have none)",
        r#"{"op":"statement","party":"partner:R1","account":"allocated"}"#,
        [
            INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID,
            INVALID,
        ],
    ),
    row("statement CR2 (referral of R1)", r#"{"op":"statement","party":"customer:CR2"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D])
        .also(&[("customer:CR2", A)]),
    // A customer manager reads the orders of its customers in force.
    row("order O_PAID", r#"{"op":"order","order":"O_PAID"}"#, [A, A, A, D, A, D, D, D, A, A, A, D, A, D, D]),
    row("order O_P (paid by R1)", r#"{"op":"order","order":"O_P"}"#, [A, A, A, D, A, D, D, D, A, A, A, D, A, D, D]),
    // SPEC 2.1 (v2): of a referral customer, the partner reads the orders it paid or was asked to
    // pay; an operator acts within its partner's reach (decisions: every scope rule of the
    // partner applies), a customer manager included.
    row(
        "order O_CR2P (R1 paid it while CR2 was resale)",
        r#"{"op":"order","order":"O_CR2P"}"#,
        [A, A, A, D, D, D, D, D, A, A, A, D, A, D, D],
    )
    .also(&[("customer:CR2", A)]),
    row("order O_CR2R (R1 was asked, rejected)", r#"{"op":"order","order":"O_CR2R"}"#, [A, A, A, D, D, D, D, D, A, A, A, D, A, D, D])
        .also(&[("customer:CR2", A)]),
    row("order O_CR2 (CR2 paid it itself)", r#"{"op":"order","order":"O_CR2"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D])
        .also(&[("customer:CR2", A)]),
    row("order O_CS (S1 asked)", r#"{"op":"order","order":"O_CS"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D])
        .also(&[("partner:S1", A), ("customer:CS", A)]),
    row("orders C2", r#"{"op":"orders","customer":"C2","status":"paid"}"#, [A, A, A, D, A, D, D, D, A, A, A, D, A, D, D]),
    // v2: with `customer`, the customer must be in reach; only its visible orders are listed.
    row("orders CR2 (referral of R1)", r#"{"op":"orders","customer":"CR2"}"#, [A, A, A, D, D, D, D, D, A, A, A, D, A, D, D])
        .also(&[("customer:CR2", A)]),
    // v2: without `customer`, every order in the actor's scope (what each sees is checked by
    // `listings_show_what_each_actor_may_see`).
    row("orders (no customer)", r#"{"op":"orders"}"#, [A, A, A, A, A, A, D, D, A, A, A, A, A, D, A]),
    row(
        "orders partner_payment requested",
        r#"{"op":"orders","partner_payment":"requested"}"#,
        [A, A, A, A, A, A, D, D, A, A, A, A, A, D, A],
    ),
    row("bills C2", r#"{"op":"bills","party":"customer:C2","cycle":"2026-01"}"#, [A, A, A, D, A, D, D, D, A, A, A, D, A, D, D]),
    // SPEC 2.1 (v2): a partner (and its distributor) reads its referral customers' bills.
    row("bills CR2 (referral of R1)", r#"{"op":"bills","party":"customer:CR2"}"#, [A, A, A, D, D, D, D, D, A, A, A, D, A, D, D])
        .also(&[("customer:CR2", A)]),
    row("bills CR (referral of the parent)", r#"{"op":"bills","party":"customer:CR"}"#, [A, D, A, D, D, D, D, D, D, D, D, D, D, D, D]),
    row("bills R1", r#"{"op":"bills","party":"partner:R1"}"#, [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D]),
    row("invoiceable C2", r#"{"op":"invoiceable","party":"customer:C2"}"#, [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D]),
    row("invoiceable R1", r#"{"op":"invoiceable","party":"partner:R1"}"#, [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D]),
    row(
        "invoiceable CR2 (referral of R1)",
        r#"{"op":"invoiceable","party":"customer:CR2"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    row("invoice I_C2", r#"{"op":"invoice","invoice":"I_C2"}"#, [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D]),
    row("invoice I_CR2 (referral of R1)", r#"{"op":"invoice","invoice":"I_CR2"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D])
        .also(&[("customer:CR2", A)]),
    row("withdrawals R1", r#"{"op":"withdrawals","party":"partner:R1"}"#, [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D]),
    row(
        "withdrawals CR2 (referral of R1)",
        r#"{"op":"withdrawals","party":"customer:CR2"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    // A customer manager reads its own partner's summary (only its customers' rows).
    row(
        "consumption_summary partner R1",
        r#"{"op":"consumption_summary","partner":"R1","cycle":"2026-01"}"#,
        [A, A, A, D, D, D, D, D, A, A, A, A, A, D, D],
    ),
    row(
        "consumption_summary partner D1",
        r#"{"op":"consumption_summary","partner":"D1","cycle":"2026-01"}"#,
        [A, D, A, D, D, D, D, D, D, D, D, D, D, D, D],
    ),
    // Without `partner` the partner is the actor (an operator's partner); a non-partner must name
    // one (invalid_request, which outranks access_denied).
    row(
        "consumption_summary (partner defaults to actor)",
        r#"{"op":"consumption_summary","cycle":"2026-01"}"#,
        [INVALID, A, A, A, INVALID, INVALID, D, INVALID, A, A, A, A, A, D, A],
    ),
    // SPEC 4 (v2): the manager filter keeps the actor's scope of the summary.
    row(
        "consumption_summary partner R1, manager R1_CM",
        r#"{"op":"consumption_summary","partner":"R1","cycle":"2026-01","manager":"R1_CM"}"#,
        [A, A, A, D, D, D, D, D, A, A, A, A, A, D, D],
    ),
    // ---- listings (v2; SPEC 4, decisions "Listings"): without `partner` a partner lists its own
    // entries (a distributor also its resellers'), the platform everyone's; customers and customer
    // managers list no partner's entries, except a customer manager's `customers` (its own) ----
    row("customers (no filter)", r#"{"op":"customers"}"#, [A, A, A, A, D, D, D, D, A, A, A, A, A, D, A]),
    row(
        "customers partner R1",
        r#"{"op":"customers","partner":"R1","association":"resale"}"#,
        [A, A, A, D, D, D, D, D, A, A, A, A, A, D, D],
    ),
    row("customers partner D1", r#"{"op":"customers","partner":"D1"}"#, [A, D, A, D, D, D, D, D, D, D, D, D, D, D, D]),
    row(
        "customers manager R1_CM",
        r#"{"op":"customers","manager":"R1_CM"}"#,
        [A, A, A, A, D, D, D, D, A, A, A, A, A, D, A],
    ),
    row("resellers (no filter)", r#"{"op":"resellers"}"#, [A, A, A, A, D, D, D, D, A, A, D, D, A, D, A]),
    row("resellers partner D1", r#"{"op":"resellers","partner":"D1"}"#, [A, D, A, D, D, D, D, D, D, D, D, D, D, D, D]),
    row("quotas (no filter)", r#"{"op":"quotas"}"#, [A, A, A, A, D, D, D, D, A, A, D, D, A, D, A]),
    row(
        "quotas partner R1",
        r#"{"op":"quotas","partner":"R1","kind":"voucher","status":"normal"}"#,
        [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D],
    ),
    row("quotas partner D1", r#"{"op":"quotas","partner":"D1","parent_quota":"QD1"}"#, [A, D, A, D, D, D, D, D, D, D, D, D, D, D, D]),
    // A customer lists its own coupons (and their records); a partner those its customers hold
    // or it issued.
    row("coupons (no filter)", r#"{"op":"coupons"}"#, [A, A, A, A, A, A, D, D, A, A, D, D, A, D, A]),
    row(
        "coupons customer C2",
        r#"{"op":"coupons","customer":"C2","kind":"voucher"}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    // A referral customer is outside its partner's scope (SPEC 2.1 reach: bills, summaries, orders).
    row("coupons customer CR2 (referral of R1)", r#"{"op":"coupons","customer":"CR2"}"#, [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D])
        .also(&[("customer:CR2", A)]),
    row("coupon_records (no filter)", r#"{"op":"coupon_records"}"#, [A, A, A, A, A, A, D, D, A, A, D, D, A, D, A]),
    row(
        "coupon_records customer C2",
        r#"{"op":"coupon_records","customer":"C2","operation":"issue_coupon"}"#,
        [A, A, A, D, A, D, D, D, A, A, D, D, A, D, D],
    ),
    row(
        "coupon_records customer CR2 (referral of R1)",
        r#"{"op":"coupon_records","customer":"CR2"}"#,
        [A, D, D, D, D, D, D, D, D, D, D, D, D, D, D],
    )
    .also(&[("customer:CR2", A)]),
    row("coupon_records coupon K1", r#"{"op":"coupon_records","coupon":"K1"}"#, [A, A, A, A, A, A, D, D, A, A, D, D, A, D, A]),
    row("operators (no filter)", r#"{"op":"operators"}"#, [A, A, A, A, D, D, D, D, A, A, D, D, A, D, A]),
    row("operators partner R1", r#"{"op":"operators","partner":"R1"}"#, [A, A, A, D, D, D, D, D, A, A, D, D, A, D, D]),
    row("operators partner D2", r#"{"op":"operators","partner":"D2"}"#, [A, D, D, A, D, D, D, D, D, D, D, D, D, D, A]),
];

/// Every cell is sent at this time, after the whole setup (2026-01-03 08:00 UTC+8: the customer
/// managers assigned on 2026-01-02 are in force).
const CASE_AT: &str = "2026-01-03T00:00:00Z";

/// The standard scenario: `Fixture::with_cast` plus, one minute apart from 2026-01-02T00:00Z
/// (08:00 UTC+8):
/// - quota QD1 (platform → D1, 1000 vouchers) and QR1 (D1 → R1 from QD1, 500);
/// - C2 funded by R1 (`allocated`), running into 100.00 of debt on usage that the second
///   allocation repays; coupon K1 (R1 → C2, 100); orders O_PAID (paid by C2), O_PEND (pending),
///   O_P (C2 asked, R1 paid as partner payer on its credit), combined CB (pending); invoice I_C2
///   of C2 (matched against its usage bill, so no order bill is invoiced); 50.00 of C2's own cash
///   (a compensation);
/// - R1's rejected withdrawal W_REJ, D1's pending withdrawal W_PEND;
/// - operators R1_ADMIN (admin), R1_FIN (finance), R1_CM (customer_manager, manager of C2 and
///   CR2), R1_CM2 (customer_manager, of nobody), R1_FINCM (finance + customer_manager), R1_OFF
///   (disabled), D2_ADMIN (admin of D2);
/// - C5, resale of R1, with an open partner-payment request on O_REQ;
/// - CR2, first resale of R1 (R1 paid O_CR2P at its request and rejected O_CR2R), then switched to
///   referral: it has its own cash and credit, paid O_CR2 itself, invoice I_CR2, pending O_CR2PEND;
/// - CS, referral of solution provider S1, with an open request on O_CS and a pending O_CS2.
/// - (v2 part 2) pickup-voucher quotas QPD1 (platform → D1, 300) and QPR1 (D1 → R1 from QPD1, 100,
///   the parent's window), and discount DC2 of C2 (0.85, any service); no pickup voucher is issued,
///   so nothing blocks unbinding C2.
fn build_standard(dir: &Path) -> PathBuf {
    let f = Fixture::with_cast();
    let steps: Vec<(&str, Value)> = vec![
        (
            "platform",
            json!({"op": "issue_quota", "quota": "QD1", "partner": "D1", "kind": "voucher", "amount": "1000",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z"}),
        ),
        (
            "partner:D1",
            json!({"op": "issue_quota", "quota": "QR1", "partner": "R1", "kind": "voucher", "amount": "500",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z", "from_quota": "QD1"}),
        ),
        ("partner:R1", json!({"op": "allocate", "to": "customer:C2", "amount": "500"})),
        ("platform", json!({"op": "consume", "customer": "C2", "amount": "600"})),
        ("partner:R1", json!({"op": "allocate", "to": "customer:C2", "amount": "500"})),
        ("partner:R1", json!({"op": "issue_coupon", "coupon": "K1", "quota": "QR1", "customer": "C2", "face_value": "100"})),
        ("customer:C2", json!({"op": "place_order", "order": "O_PAID", "customer": "C2", "amount": "50", "kind": "new"})),
        ("customer:C2", json!({"op": "pay_order", "order": "O_PAID"})),
        ("customer:C2", json!({"op": "place_order", "order": "O_PEND", "customer": "C2", "amount": "20", "kind": "new"})),
        ("platform", json!({"op": "set_credit_limit", "party": "partner:R1", "limit": "1000"})),
        ("customer:C2", json!({"op": "place_order", "order": "O_P", "customer": "C2", "amount": "100", "kind": "new"})),
        ("customer:C2", json!({"op": "request_partner_payment", "order": "O_P"})),
        ("partner:R1", json!({"op": "pay_order", "order": "O_P", "payer": "partner"})),
        ("partner:D1", json!({"op": "allocate", "to": "partner:R1", "amount": "300"})),
        ("partner:R1", json!({"op": "request_withdrawal", "withdrawal": "W_REJ", "party": "partner:R1", "amount": "20"})),
        ("platform", json!({"op": "reject_withdrawal", "withdrawal": "W_REJ", "reason": "setup"})),
        ("partner:D1", json!({"op": "request_withdrawal", "withdrawal": "W_PEND", "party": "partner:D1", "amount": "50"})),
        ("customer:C2", json!({"op": "request_invoice", "invoice": "I_C2", "party": "customer:C2", "amount": "10"})),
        (
            "customer:C2",
            json!({"op": "place_combined_order", "combined": "CB", "customer": "C2",
            "orders": [{"order": "CB1", "amount": "1", "kind": "new"}, {"order": "CB2", "amount": "2", "kind": "change"}]}),
        ),
        ("platform", json!({"op": "adjust", "party": "customer:C2", "direction": "compensate", "amount": "50", "reason": "setup"})),
        // Operators.
        ("platform", json!({"op": "register_operator", "operator": "R1_ADMIN", "partner": "R1", "roles": ["admin"]})),
        ("partner:R1", json!({"op": "register_operator", "operator": "R1_FIN", "partner": "R1", "roles": ["finance"]})),
        ("operator:R1_ADMIN", json!({"op": "register_operator", "operator": "R1_CM", "partner": "R1", "roles": ["customer_manager"]})),
        ("partner:R1", json!({"op": "register_operator", "operator": "R1_CM2", "partner": "R1", "roles": ["customer_manager"]})),
        (
            "partner:R1",
            json!({"op": "register_operator", "operator": "R1_FINCM", "partner": "R1", "roles": ["finance", "customer_manager"]}),
        ),
        ("partner:R1", json!({"op": "register_operator", "operator": "R1_OFF", "partner": "R1", "roles": ["finance"]})),
        ("operator:R1_ADMIN", json!({"op": "set_operator_roles", "operator": "R1_OFF", "roles": []})),
        ("platform", json!({"op": "register_operator", "operator": "D2_ADMIN", "partner": "D2", "roles": ["admin"]})),
        ("operator:R1_ADMIN", json!({"op": "assign_customer_manager", "customer": "C2", "operator": "R1_CM"})),
        // C5: a resale customer of R1 waiting for R1 to pay O_REQ.
        ("partner:R1", json!({"op": "register_customer", "customer": "C5", "partner": "R1"})),
        ("customer:C5", json!({"op": "place_order", "order": "O_REQ", "customer": "C5", "amount": "30", "kind": "new"})),
        ("customer:C5", json!({"op": "request_partner_payment", "order": "O_REQ"})),
        // CR2: resale of R1 first, then referral.
        ("partner:R1", json!({"op": "register_customer", "customer": "CR2", "partner": "R1"})),
        ("customer:CR2", json!({"op": "place_order", "order": "O_CR2P", "customer": "CR2", "amount": "40", "kind": "new"})),
        ("customer:CR2", json!({"op": "request_partner_payment", "order": "O_CR2P"})),
        ("partner:R1", json!({"op": "pay_order", "order": "O_CR2P", "payer": "partner"})),
        ("customer:CR2", json!({"op": "place_order", "order": "O_CR2R", "customer": "CR2", "amount": "60", "kind": "new"})),
        ("customer:CR2", json!({"op": "request_partner_payment", "order": "O_CR2R"})),
        ("partner:R1", json!({"op": "reject_partner_payment", "order": "O_CR2R", "reason": "setup"})),
        ("partner:R1", json!({"op": "switch_association", "customer": "CR2", "association": "referral"})),
        ("platform", json!({"op": "set_credit_limit", "party": "customer:CR2", "limit": "500"})),
        ("platform", json!({"op": "recharge", "party": "customer:CR2", "amount": "100"})),
        ("customer:CR2", json!({"op": "place_order", "order": "O_CR2", "customer": "CR2", "amount": "150", "kind": "new"})),
        ("customer:CR2", json!({"op": "pay_order", "order": "O_CR2"})),
        ("platform", json!({"op": "recharge", "party": "customer:CR2", "amount": "30"})),
        ("customer:CR2", json!({"op": "request_invoice", "invoice": "I_CR2", "party": "customer:CR2", "amount": "10"})),
        ("customer:CR2", json!({"op": "place_order", "order": "O_CR2PEND", "customer": "CR2", "amount": "25", "kind": "new"})),
        ("operator:R1_ADMIN", json!({"op": "assign_customer_manager", "customer": "CR2", "operator": "R1_CM"})),
        // CS: a referral customer of solution provider S1, waiting for S1 to pay O_CS.
        ("platform", json!({"op": "register_customer", "customer": "CS", "partner": "S1", "association": "referral"})),
        ("customer:CS", json!({"op": "place_order", "order": "O_CS", "customer": "CS", "amount": "70", "kind": "new"})),
        ("customer:CS", json!({"op": "request_partner_payment", "order": "O_CS"})),
        ("customer:CS", json!({"op": "place_order", "order": "O_CS2", "customer": "CS", "amount": "15", "kind": "new"})),
        // v2 part 2: pickup-voucher quotas QPD1 (platform → D1) and QPR1 (D1 → R1), discount DC2 of C2.
        (
            "platform",
            json!({"op": "issue_quota", "quota": "QPD1", "partner": "D1", "kind": "pickup_voucher", "amount": "300",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z"}),
        ),
        (
            "partner:D1",
            json!({"op": "issue_quota", "quota": "QPR1", "partner": "R1", "kind": "pickup_voucher", "amount": "100", "from_quota": "QPD1"}),
        ),
        (
            "platform",
            json!({"op": "grant_discount", "discount": "DC2", "customer": "C2", "ratio": "0.85",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z"}),
        ),
    ];
    for (index, (actor, mut request)) in steps.into_iter().enumerate() {
        request["id"] = json!(format!("base-{index}"));
        request["actor"] = json!(actor);
        request["at"] = json!(format!("2026-01-02T{:02}:{:02}:00Z", index / 60, index % 60));
        f.ok(request);
    }
    // Sanity: the balances the table relies on.
    let r1 = f.balance("partner:R1");
    assert_eq!(
        (r1["cash"].as_str(), r1["available"].as_str(), r1["credit_used"].as_str()),
        (Some("260.00"), Some("260.00"), Some("100.00")),
        "{r1}"
    );
    let c2 = f.balance("customer:C2");
    assert_eq!(
        (c2["allocated"].as_str(), c2["cash"].as_str(), c2["credit_used"].as_str(), c2["arrears"].as_str()),
        (Some("350.00"), Some("50.00"), Some("0.00"), Some("0.00")),
        "{c2}"
    );
    let cr2 = f.balance("customer:CR2");
    assert_eq!((cr2["cash"].as_str(), cr2["credit_used"].as_str()), (Some("30.00"), Some("50.00")), "{cr2}");
    assert!(f.ledger.verify().is_ok());
    let source = f.path();
    let Fixture { ledger, dir: base_dir, .. } = f;
    drop(ledger);
    let target = dir.join("standard.redb");
    std::fs::copy(&source, &target).expect("copy the standard scenario");
    drop(base_dir);
    target
}

/// A fresh ledger on a copy of the standard scenario.
fn fresh(standard: &Path) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(standard, dir.path().join("ledger.redb")).expect("copy");
    let clock = ManualClock::default();
    clock.set(CASE_AT);
    let ledger = Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock.clone())).expect("open");
    Fixture { ledger, clock, dir }
}

fn op_of(row: &Row) -> String {
    let value: Value = serde_json::from_str(row.request).unwrap_or_else(|error| panic!("{}: {error}", row.name));
    value["op"].as_str().expect("op").to_owned()
}

/// One cell: a row sent by one actor.
struct Cell {
    row: &'static Row,
    label: &'static str,
    actor: &'static str,
    expect: Expect,
}

impl Cell {
    fn request(&self) -> Value {
        let mut request: Value = serde_json::from_str(self.row.request).expect("row request is JSON");
        request["id"] = json!("auth-1");
        request["actor"] = json!(self.actor);
        request["at"] = json!(CASE_AT);
        request
    }

    fn is_query(&self) -> bool {
        QUERIES.contains(&op_of(self.row).as_str())
    }
}

/// What `Fixture::snapshot` does not cover of this scenario: the parties it adds, every order,
/// invoice and withdrawal, and which customers each partner has. A refused command must leave it
/// as it was too, since the ledger then serves the next cells.
fn scenario_snapshot(f: &Fixture) -> Value {
    let mut answers = Vec::new();
    let mut query = |request: Value| answers.push(f.send(request));
    for party in ["customer:C5", "customer:CR2", "customer:CS"] {
        query(json!({"op": "balance", "actor": "platform", "party": party}));
        for account in ["cash", "allocated", "credit", "arrears"] {
            query(json!({"op": "statement", "actor": "platform", "party": party, "account": account, "limit": 100}));
        }
    }
    query(json!({"op": "orders", "actor": "platform", "limit": 100}));
    for party in ["customer:C2", "customer:CR2", "partner:R1", "partner:S1"] {
        query(json!({"op": "bills", "actor": "platform", "party": party, "limit": 100}));
    }
    for invoice in ["I_C2", "I_CR2"] {
        query(json!({"op": "invoice", "actor": "platform", "invoice": invoice}));
    }
    for party in ["partner:R1", "partner:D1"] {
        query(json!({"op": "withdrawals", "actor": "platform", "party": party}));
    }
    for partner in ["R1", "D1", "S1"] {
        query(json!({"op": "consumption_summary", "actor": "platform", "partner": partner, "cycle": "2026-01"}));
    }
    Value::Array(answers)
}

/// A worker's ledger: a copy of the standard scenario, reused while nothing was committed to it (a
/// query or a refused command leaves it as it was), replaced after a commit or a mismatch.
struct Worker<'a> {
    standard: &'a Path,
    fixture: Option<Fixture>,
    copies: usize,
}

impl Worker<'_> {
    fn fixture(&mut self) -> &Fixture {
        if self.fixture.is_none() {
            self.copies += 1;
        }
        self.fixture.get_or_insert_with(|| fresh(self.standard))
    }

    /// Runs one cell; panics (caught by the caller) on a mismatch.
    fn check(&mut self, cell: &Cell) {
        let request = cell.request();
        let is_query = cell.is_query();
        let f = self.fixture();
        let before = f.ledger.head();
        // The ledger is reused only when the cell leaves it exactly as it was.
        let mut reusable = false;
        let outcome = catch_unwind(AssertUnwindSafe(|| match cell.expect {
            D | F(_) => {
                let code = if let F(code) = cell.expect { code } else { "access_denied" };
                if is_query {
                    let response = f.send(request.clone());
                    assert_eq!(response["ok"], false, "{request} should fail with {code}, got {response}");
                    assert_eq!(response["error"]["code"], code, "{request}: {response}");
                } else {
                    // Checks that nothing changed, with a snapshot of every balance and statement.
                    let scenario = scenario_snapshot(f);
                    f.fails(request.clone(), code);
                    assert_eq!(scenario_snapshot(f), scenario, "{request} failed but changed the scenario");
                }
                let after = f.ledger.head();
                assert_eq!((after.seq, after.hash), (before.seq, before.hash), "{request} failed but moved the journal head");
                reusable = true;
            }
            A => {
                let response = f.send(request.clone());
                assert_eq!(response["ok"], true, "{request} should be allowed and succeed, got {response}");
                if is_query {
                    assert!(response.get("seq").is_none(), "a query answers without seq: {response}");
                    let after = f.ledger.head();
                    assert_eq!((after.seq, after.hash), (before.seq, before.hash), "a query committed something");
                    reusable = true;
                } else {
                    assert_eq!(response["seq"], before.seq + 1, "{request}: {response}");
                    assert_eq!(response["duplicate"], false);
                    assert_eq!(f.ledger.head().seq, before.seq + 1);
                    f.ledger.verify().unwrap_or_else(|error| panic!("{request}: verify failed: {error}"));
                }
            }
        }));
        if !reusable {
            self.fixture = None;
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned())).unwrap_or_default()
}

#[test]
fn every_command_and_query_against_every_kind_of_actor() {
    // The table covers every op of SPEC 3 and 4.
    let ops: Vec<String> = ROWS.iter().map(op_of).collect();
    for op in COMMANDS.iter().chain(QUERIES.iter()) {
        assert!(ops.iter().any(|covered| covered == op), "no row for {op}");
    }
    for op in &ops {
        assert!(COMMANDS.contains(&op.as_str()) || QUERIES.contains(&op.as_str()), "unknown op {op} in the table");
    }
    // Each row has an actor that gets past the access check (allowed, or refused for another
    // reason), so every denial in it is a real one.
    for row in ROWS {
        let cells = row.expect.iter().chain(row.also.iter().map(|(_, expect)| expect));
        assert!(cells.clone().any(|expect| *expect != D), "row {} denies everyone", row.name);
        for (actor, _) in row.also {
            assert!(ACTORS.iter().all(|(_, column)| column != actor), "row {}: {actor} is a column already", row.name);
        }
    }

    let started = std::time::Instant::now();
    let base = tempfile::tempdir().expect("temp dir");
    let standard = build_standard(base.path());

    let mut cells = Vec::new();
    for row in ROWS {
        for (column, (label, actor)) in ACTORS.iter().enumerate() {
            cells.push(Cell { row, label, actor, expect: row.expect[column] });
        }
        for (actor, expect) in row.also {
            cells.push(Cell { row, label: "extra actor", actor, expect: *expect });
        }
    }
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let copies = AtomicUsize::new(0);
    // Cells spend much of their time copying files and waiting for fsync: more workers than cores.
    let workers = std::thread::available_parallelism().map_or(4, |n| n.get() * 2).clamp(2, 8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut worker = Worker { standard: &standard, fixture: None, copies: 0 };
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(cell) = cells.get(index) else { break };
                    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| worker.check(cell))) {
                        failures.lock().expect("lock").push(format!(
                            "[{}] × [{} {}] expected {:?}: {}",
                            cell.row.name,
                            cell.label,
                            cell.actor,
                            cell.expect,
                            panic_message(panic.as_ref())
                        ));
                    }
                }
                copies.fetch_add(worker.copies, Ordering::SeqCst);
            });
        }
    });

    let count = |wanted: fn(&Expect) -> bool| cells.iter().filter(|cell| wanted(&cell.expect)).count();
    let (allowed, denied) = (count(|expect| *expect == A), count(|expect| *expect == D));
    let extra = cells.len() - ROWS.len() * ACTORS.len();
    println!(
        "authorization matrix: {} rows × {} actors + {extra} extra cells = {} cells ({allowed} allowed, {denied} access_denied, {} other \
         refusals); {} ledger copies, {:.1} s",
        ROWS.len(),
        ACTORS.len(),
        cells.len(),
        cells.len() - allowed - denied,
        copies.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
    let failures = failures.into_inner().expect("lock");
    assert!(failures.is_empty(), "{} of {} cells disagree with SPEC 2.1/3/4:\n{}", failures.len(), cells.len(), failures.join("\n"));
}

/// The order ids of an `orders` answer.
fn order_ids(response: &Value) -> BTreeSet<String> {
    let orders = response["result"]["orders"].as_array().unwrap_or_else(|| panic!("no orders in {response}"));
    orders.iter().map(|order| order["order"].as_str().expect("order id").to_owned()).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

/// What the listings show each actor (SPEC 2.1, 4; decisions "orders without customer"): the
/// platform every order; a customer its own; a partner, its distributor and their operators the
/// orders of their resale customers and, of their referral customers, those the partner paid or
/// was asked to pay; a customer manager only what its partner sees of its customers in force.
#[test]
fn listings_show_what_each_actor_may_see() {
    let base = tempfile::tempdir().expect("temp dir");
    let standard = build_standard(base.path());
    let f = fresh(&standard);
    let c2 = ["O_PAID", "O_PEND", "O_P", "CB1", "CB2"];
    let r1_sees: Vec<&str> = c2.iter().copied().chain(["O_REQ", "O_CR2P", "O_CR2R"]).collect();
    let cm_sees: Vec<&str> = c2.iter().copied().chain(["O_CR2P", "O_CR2R"]).collect();
    let all: Vec<&str> = r1_sees.iter().copied().chain(["O_CR2", "O_CR2PEND", "O_CS", "O_CS2"]).collect();
    let expected: &[(&str, &[&str], &[&str])] = &[
        // (actor, every order, requested ones)
        ("platform", &all, &["O_REQ", "O_CS"]),
        ("partner:R1", &r1_sees, &["O_REQ"]),
        ("partner:D1", &r1_sees, &["O_REQ"]),
        ("partner:D2", &[], &[]),
        ("partner:S1", &["O_CS"], &["O_CS"]),
        ("customer:C2", &c2, &[]),
        ("customer:C3", &[], &[]),
        ("customer:C5", &["O_REQ"], &["O_REQ"]),
        ("customer:CR2", &["O_CR2P", "O_CR2R", "O_CR2", "O_CR2PEND"], &[]),
        ("customer:CS", &["O_CS", "O_CS2"], &["O_CS"]),
        ("operator:R1_ADMIN", &r1_sees, &["O_REQ"]),
        ("operator:R1_FIN", &r1_sees, &["O_REQ"]),
        ("operator:R1_CM", &cm_sees, &[]),
        ("operator:R1_CM2", &[], &[]),
        ("operator:R1_FINCM", &r1_sees, &["O_REQ"]),
        ("operator:D2_ADMIN", &[], &[]),
    ];
    let mut failures = Vec::new();
    for (actor, every, requested) in expected {
        for (filter, wanted) in [(json!({}), every), (json!({"partner_payment": "requested"}), requested)] {
            let mut request = json!({"op": "orders", "actor": actor, "at": CASE_AT, "limit": 100});
            for (key, value) in filter.as_object().expect("object") {
                request[key] = value.clone();
            }
            let response = f.send(request.clone());
            if response["ok"] != true {
                failures.push(format!("{request}: {response}"));
                continue;
            }
            let (shown, wanted) = (order_ids(&response), set(wanted));
            if shown != wanted {
                failures.push(format!("{request}: shows {shown:?}, expected {wanted:?}"));
            }
            if response["result"]["total_count"] != wanted.len() {
                failures.push(format!("{request}: total_count {} for {} orders", response["result"]["total_count"], wanted.len()));
            }
        }
    }
    // The orders of one referral customer: only those its partner paid or was asked to pay.
    for actor in ["partner:R1", "partner:D1", "operator:R1_FIN", "operator:R1_CM"] {
        let request = json!({"op": "orders", "actor": actor, "at": CASE_AT, "customer": "CR2"});
        let response = f.send(request.clone());
        let shown = if response["ok"] == true { order_ids(&response) } else { BTreeSet::new() };
        if shown != set(&["O_CR2P", "O_CR2R"]) {
            failures.push(format!("{request}: {response}"));
        }
    }
    // consumption_summary: every customer of R1, or a customer manager's customers in force.
    let rows: &[(&str, &[&str])] = &[
        ("partner:R1", &["C2", "C5", "CR2"]),
        ("operator:R1_FIN", &["C2", "C5", "CR2"]),
        ("operator:R1_FINCM", &["C2", "C5", "CR2"]),
        ("operator:R1_CM", &["C2", "CR2"]),
        ("operator:R1_CM2", &[]),
    ];
    for (actor, wanted) in rows {
        let request = json!({"op": "consumption_summary", "actor": actor, "at": CASE_AT, "partner": "R1", "cycle": "2026-01"});
        let response = f.send(request.clone());
        let shown: BTreeSet<String> = response["result"]["customers"]
            .as_array()
            .map(|rows| rows.iter().filter_map(|row| row["customer"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if response["ok"] != true || shown != set(wanted) {
            failures.push(format!("{request}: {response}"));
        }
    }
    // A manager assigned today is not in force before the next UTC+8 day; from then on it is.
    let assign = json!({"op": "assign_customer_manager", "id": "assign-c5", "actor": "partner:R1", "at": CASE_AT, "customer": "C5",
        "operator": "R1_CM2"});
    let result = f.ok(assign);
    assert_eq!(result["effective_from"], "2026-01-03T16:00:00Z", "{result}");
    for (at, ok) in [("2026-01-03T15:59:59Z", false), ("2026-01-03T16:00:00Z", true)] {
        let request = json!({"op": "order", "actor": "operator:R1_CM2", "at": at, "order": "O_REQ"});
        let response = f.send(request.clone());
        if (response["ok"] == true) != ok {
            failures.push(format!("{request}: {response}"));
        }
    }
    assert!(failures.is_empty(), "{} listings disagree with SPEC 2.1/4:\n{}", failures.len(), failures.join("\n"));
}

/// The ids under `key` (each row's `field`) of a listing answer.
fn listed(response: &Value, key: &str, field: &str) -> Option<BTreeSet<String>> {
    let rows = response["result"][key].as_array()?;
    Some(rows.iter().filter_map(|row| row[field].as_str().map(str::to_owned)).collect())
}

/// What the v2 listings show each actor (SPEC 4; decisions "Listings"): the platform everyone's
/// entries; a partner (or its admin or finance operator) its own and, as a distributor, its
/// resellers' (operators: its own only); a customer manager only the customers it manages; a
/// customer its own coupons and their records.
#[test]
fn v2_listings_show_what_each_actor_may_see() {
    let base = tempfile::tempdir().expect("temp dir");
    let standard = build_standard(base.path());
    let f = fresh(&standard);
    let r1_customers: &[&str] = &["C2", "C5", "CR2"];
    let d1_customers: &[&str] = &["C1", "CR", "C2", "C5", "CR2"];
    let all_customers: &[&str] = &["C1", "C2", "C3", "CR", "C4", "C5", "CR2", "CS"];
    let r1_operators: &[&str] = &["R1_ADMIN", "R1_FIN", "R1_CM", "R1_CM2", "R1_FINCM", "R1_OFF"];
    let all_operators: &[&str] = &["R1_ADMIN", "R1_FIN", "R1_CM", "R1_CM2", "R1_FINCM", "R1_OFF", "D2_ADMIN"];
    // (actor, request fields, result key, row field, the ids expected)
    let cases: &[(&str, Value, &str, &str, &[&str])] = &[
        ("platform", json!({"op": "customers", "limit": 100}), "customers", "customer", all_customers),
        ("partner:D1", json!({"op": "customers", "limit": 100}), "customers", "customer", d1_customers),
        ("partner:R1", json!({"op": "customers"}), "customers", "customer", r1_customers),
        ("operator:R1_FIN", json!({"op": "customers"}), "customers", "customer", r1_customers),
        ("operator:R1_FINCM", json!({"op": "customers"}), "customers", "customer", r1_customers),
        ("operator:R1_CM", json!({"op": "customers"}), "customers", "customer", &["C2", "CR2"]),
        ("operator:R1_CM2", json!({"op": "customers"}), "customers", "customer", &[]),
        ("partner:D2", json!({"op": "customers"}), "customers", "customer", &[]),
        ("partner:D1", json!({"op": "customers", "partner": "R1", "association": "referral"}), "customers", "customer", &["CR2"]),
        ("partner:D1", json!({"op": "customers", "manager": "R1_CM"}), "customers", "customer", &["C2", "CR2"]),
        ("platform", json!({"op": "resellers"}), "resellers", "partner", &["R1"]),
        ("partner:D1", json!({"op": "resellers"}), "resellers", "partner", &["R1"]),
        ("partner:R1", json!({"op": "resellers"}), "resellers", "partner", &[]),
        ("partner:D2", json!({"op": "resellers"}), "resellers", "partner", &[]),
        ("platform", json!({"op": "quotas"}), "quotas", "quota", &["QD1", "QR1", "QPD1", "QPR1"]),
        ("partner:D1", json!({"op": "quotas"}), "quotas", "quota", &["QD1", "QR1", "QPD1", "QPR1"]),
        ("partner:D1", json!({"op": "quotas", "kind": "pickup_voucher"}), "quotas", "quota", &["QPD1", "QPR1"]),
        ("partner:D1", json!({"op": "quotas", "parent_quota": "QD1"}), "quotas", "quota", &["QR1"]),
        ("partner:D1", json!({"op": "quotas", "partner": "D1", "parent_quota": "QD1"}), "quotas", "quota", &[]),
        ("partner:D1", json!({"op": "quotas", "partner": "R1", "parent_quota": "QD1"}), "quotas", "quota", &["QR1"]),
        ("partner:R1", json!({"op": "quotas"}), "quotas", "quota", &["QR1", "QPR1"]),
        ("operator:R1_FIN", json!({"op": "quotas"}), "quotas", "quota", &["QR1", "QPR1"]),
        ("partner:D2", json!({"op": "quotas"}), "quotas", "quota", &[]),
        ("platform", json!({"op": "coupons"}), "coupons", "coupon", &["K1"]),
        ("partner:D1", json!({"op": "coupons"}), "coupons", "coupon", &["K1"]),
        ("partner:R1", json!({"op": "coupons"}), "coupons", "coupon", &["K1"]),
        ("customer:C2", json!({"op": "coupons"}), "coupons", "coupon", &["K1"]),
        ("customer:C2", json!({"op": "coupons", "kind": "pickup_voucher"}), "coupons", "coupon", &[]),
        ("customer:C3", json!({"op": "coupons"}), "coupons", "coupon", &[]),
        ("partner:D2", json!({"op": "coupons"}), "coupons", "coupon", &[]),
        ("platform", json!({"op": "operators", "limit": 100}), "operators", "operator", all_operators),
        ("partner:R1", json!({"op": "operators"}), "operators", "operator", r1_operators),
        ("operator:R1_ADMIN", json!({"op": "operators"}), "operators", "operator", r1_operators),
        ("partner:D1", json!({"op": "operators"}), "operators", "operator", &[]),
        ("partner:D1", json!({"op": "operators", "partner": "R1"}), "operators", "operator", r1_operators),
        ("partner:D2", json!({"op": "operators"}), "operators", "operator", &["D2_ADMIN"]),
        ("operator:D2_ADMIN", json!({"op": "operators"}), "operators", "operator", &["D2_ADMIN"]),
    ];
    let mut failures = Vec::new();
    for (actor, fields, key, field, wanted) in cases {
        let mut request = fields.clone();
        request["actor"] = json!(actor);
        request["at"] = json!(CASE_AT);
        let response = f.send(request.clone());
        let wanted = set(wanted);
        match listed(&response, key, field) {
            Some(shown) if shown == wanted && response["result"]["total_count"] == wanted.len() => {}
            _ => failures.push(format!("{request}: {response}, expected {wanted:?}")),
        }
    }
    // coupon_records: one row per movement, on the account it concerns.
    // (actor, query, the (operation, quota) of each row it lists)
    type Listed<'a> = (&'a str, Value, &'a [(&'a str, &'a str)]);
    let records: &[Listed] = &[
        ("partner:R1", json!({"op": "coupon_records"}), &[("issue_quota", "QR1"), ("issue_coupon", "QR1"), ("issue_quota", "QPR1")]),
        ("customer:C2", json!({"op": "coupon_records"}), &[("issue_coupon", "QR1")]),
        ("customer:C3", json!({"op": "coupon_records"}), &[]),
        ("partner:D2", json!({"op": "coupon_records"}), &[]),
        (
            "partner:D1",
            json!({"op": "coupon_records", "operation": "issue_quota"}),
            &[("issue_quota", "QD1"), ("issue_quota", "QR1"), ("issue_quota", "QPD1"), ("issue_quota", "QPR1")],
        ),
    ];
    for (actor, fields, wanted) in records {
        let mut request = fields.clone();
        request["actor"] = json!(actor);
        request["at"] = json!(CASE_AT);
        let response = f.send(request.clone());
        let shown: Option<Vec<(String, String)>> = response["result"]["records"].as_array().map(|rows| {
            rows.iter()
                .map(|row| (row["operation"].as_str().unwrap_or("?").to_owned(), row["quota"].as_str().unwrap_or("?").to_owned()))
                .collect()
        });
        let wanted: Vec<(String, String)> =
            wanted.iter().map(|(operation, quota)| ((*operation).to_owned(), (*quota).to_owned())).collect();
        if shown.as_ref() != Some(&wanted) {
            failures.push(format!("{request}: {response}, expected {wanted:?}"));
        }
    }
    assert!(failures.is_empty(), "{} v2 listings disagree with SPEC 4:\n{}", failures.len(), failures.join("\n"));
}
