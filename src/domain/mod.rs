//! Pure business rules: `(state, context, command) -> Result<Effects, Rejection>`.
//!
//! The in-memory [`State`] is everything the rules read to decide. Commands never touch storage or
//! the clock: the shell passes the time in [`Context`] and writes the returned [`Effects`].

mod funds;
mod parties;
mod scope;
mod state;

pub use state::{Head, RequestEntry, State, Undo};

use crate::amount::{Amount, Overflow};
use crate::error::{ErrorCode, Rejection, reject};
use crate::id::{Id, Party};
use crate::journal::{ChainHash, Posting};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Commands in one `atomic` group, at most.
pub const ATOMIC_COMMANDS_MAX: usize = 100;
/// Characters of a `memo` or `reason`, at most.
pub const TEXT_LENGTH_MAX: usize = 256;

/// The kind of a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartnerKind {
    /// A solution provider.
    SolutionProvider,
    /// A tier-1 distributor.
    Distributor,
    /// A tier-2 reseller with one parent distributor.
    Reseller,
}

impl PartnerKind {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            PartnerKind::SolutionProvider => "solution_provider",
            PartnerKind::Distributor => "distributor",
            PartnerKind::Reseller => "reseller",
        }
    }
}

/// How a customer is associated with its partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AssociationKind {
    /// 代售: funded by the partner.
    Resale,
    /// 顾问销售: pays for itself.
    Referral,
}

impl AssociationKind {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            AssociationKind::Resale => "resale",
            AssociationKind::Referral => "referral",
        }
    }
}

/// A customer's association with a partner.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Association {
    /// The partner's id.
    pub partner: Id,
    /// Resale or referral.
    pub kind: AssociationKind,
}

/// What a registered party is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// A partner, with its parent distributor when it is a reseller.
    Partner {
        /// Solution provider, distributor or reseller.
        kind: PartnerKind,
        /// The parent distributor of a reseller.
        parent: Option<Id>,
    },
    /// A customer.
    Customer {
        /// Its partner, if associated.
        association: Option<Association>,
        /// On its partner's cash-coupon whitelist.
        whitelisted: bool,
    },
}

/// The non-balance state of a registered partner or customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyRecord {
    /// Partner or customer, with its relationships.
    pub role: Role,
    /// The credit limit (0 when none was set).
    pub credit_limit: Amount,
    /// Cash held by pending withdrawals: still in `cash`, not available.
    pub held: Amount,
}

impl PartyRecord {
    /// The partner kind, when a partner.
    pub fn partner_kind(&self) -> Option<PartnerKind> {
        match self.role {
            Role::Partner { kind, .. } => Some(kind),
            Role::Customer { .. } => None,
        }
    }

    /// The parent distributor, when a reseller.
    pub fn parent(&self) -> Option<&Id> {
        match &self.role {
            Role::Partner { parent, .. } => parent.as_ref(),
            Role::Customer { .. } => None,
        }
    }

    /// The association, when an associated customer.
    pub fn association(&self) -> Option<&Association> {
        match &self.role {
            Role::Customer { association, .. } => association.as_ref(),
            Role::Partner { .. } => None,
        }
    }
}

/// Direction of an `adjust`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Revenue → party (debt first).
    Compensate,
    /// Party's available cash → revenue.
    Deduct,
}

/// A mutating command of SPEC.md section 3. Variants are appended only: their order is part of
/// the journal's encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Command {
    /// `register_partner`.
    RegisterPartner {
        /// New partner id.
        partner: Id,
        /// Its kind.
        kind: PartnerKind,
        /// Parent distributor (resellers only).
        parent: Option<Id>,
    },
    /// `register_customer`.
    RegisterCustomer {
        /// New customer id.
        customer: Id,
        /// Partner to associate with.
        partner: Option<Id>,
        /// Association kind (default resale when a partner is given).
        association: Option<AssociationKind>,
    },
    /// `associate`.
    Associate {
        /// The customer.
        customer: Id,
        /// The partner.
        partner: Id,
        /// Resale or referral.
        association: AssociationKind,
    },
    /// `recharge`.
    Recharge {
        /// Partner or customer.
        party: Party,
        /// Amount from `bank`.
        amount: Amount,
    },
    /// `allocate`.
    Allocate {
        /// The funding partner (defaults to the actor).
        partner: Option<Id>,
        /// Receiving customer or reseller.
        to: Party,
        /// Amount.
        amount: Amount,
        /// Free text.
        memo: Option<String>,
    },
    /// `recover`.
    Recover {
        /// The recovering partner (defaults to the actor).
        partner: Option<Id>,
        /// Customer or reseller recovered from.
        from: Party,
        /// Amount.
        amount: Amount,
        /// Free text.
        memo: Option<String>,
    },
    /// `set_credit_limit`.
    SetCreditLimit {
        /// Partner or customer.
        party: Party,
        /// New limit (may be zero).
        limit: Amount,
    },
    /// `repay_credit`.
    RepayCredit {
        /// Partner or customer.
        party: Party,
        /// Amount from cash to credit.
        amount: Amount,
    },
    /// `adjust`.
    Adjust {
        /// Partner or customer.
        party: Party,
        /// Compensate or deduct.
        direction: Direction,
        /// Amount.
        amount: Amount,
        /// Why.
        reason: String,
    },
    /// `atomic`: all or none.
    Atomic {
        /// The grouped commands, in order.
        commands: Vec<Command>,
    },
}

impl Command {
    /// The protocol name of the command (`op`).
    pub fn op(&self) -> &'static str {
        match self {
            Command::RegisterPartner { .. } => "register_partner",
            Command::RegisterCustomer { .. } => "register_customer",
            Command::Associate { .. } => "associate",
            Command::Recharge { .. } => "recharge",
            Command::Allocate { .. } => "allocate",
            Command::Recover { .. } => "recover",
            Command::SetCreditLimit { .. } => "set_credit_limit",
            Command::RepayCredit { .. } => "repay_credit",
            Command::Adjust { .. } => "adjust",
            Command::Atomic { .. } => "atomic",
        }
    }
}

/// The result of a successful command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Outcome {
    /// A partner was registered.
    PartnerRegistered(Id),
    /// A customer was registered.
    CustomerRegistered(Id),
    /// A customer was associated.
    Associated {
        /// The customer.
        customer: Id,
        /// The partner.
        partner: Id,
        /// The association kind.
        association: AssociationKind,
    },
    /// Money arrived at a party: what repaid debt, what reached cash.
    Funded {
        /// Debt repaid first.
        arrears_repaid: Amount,
        /// The rest, into cash.
        cash: Amount,
    },
    /// An allocation or recovery, named by its request id.
    Transfer(Id),
    /// The credit limit now in force.
    CreditLimit(Amount),
    /// Credit repaid from cash.
    CreditRepaid(Amount),
    /// Cash deducted to revenue.
    Deducted(Amount),
    /// The results of an atomic group, in order.
    Atomic(Vec<Outcome>),
}

/// An allocation, recovery or unbind reclaim, as listed by `adjust_records`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustRecord {
    /// `allocate`, `recover` or `unbind_reclaim`.
    pub operation: AdjustOperation,
    /// The partner whose cash moved.
    pub partner: Id,
    /// The customer or reseller on the other side.
    pub target: Party,
    /// The amount.
    pub amount: Amount,
    /// Free text.
    pub memo: Option<String>,
}

/// The operation of an adjust record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjustOperation {
    /// Partner → customer or reseller.
    Allocate,
    /// Customer or reseller → partner.
    Recover,
    /// Resale customer's cash back to the partner on unbind.
    UnbindReclaim,
}

impl AdjustOperation {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            AdjustOperation::Allocate => "allocate",
            AdjustOperation::Recover => "recover",
            AdjustOperation::UnbindReclaim => "unbind_reclaim",
        }
    }
}

/// What a command changes: postings, upserted party records, adjust records, and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    /// Balanced postings.
    pub postings: Vec<Posting>,
    /// Party records written (inserted or replaced).
    pub parties: Vec<(Party, PartyRecord)>,
    /// Adjust records appended.
    pub adjust_records: Vec<AdjustRecord>,
    /// The command's result.
    pub outcome: Outcome,
}

impl Effects {
    fn new(outcome: Outcome) -> Effects {
        Effects { postings: Vec::new(), parties: Vec::new(), adjust_records: Vec::new(), outcome }
    }
}

/// One committed journal transaction: the unit of the hash chain and of replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    /// When it was applied.
    pub at: Timestamp,
    /// The request id.
    pub request: Id,
    /// Who asked.
    pub actor: Party,
    /// What was asked.
    pub command: Command,
    /// Digest of the request's content, to tell replays from reuse.
    pub fingerprint: [u8; 32],
    /// What changed.
    pub effects: Effects,
    /// Hash of the previous transaction.
    pub prev_hash: ChainHash,
}

/// Who asks, when, under which request id, and what the shell already knows about that id.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The acting party.
    pub actor: &'a Party,
    /// The command's time.
    pub at: Timestamp,
    /// The request id.
    pub request: &'a Id,
    /// The request id was committed before with different content.
    pub id_reused: bool,
    /// Index inside an atomic group (0 otherwise).
    pub part: u16,
}

impl Context<'_> {
    /// `id_reused` takes its place in the precedence after access and existence checks.
    fn fresh(&self) -> Result<(), Rejection> {
        if self.id_reused {
            return reject(ErrorCode::IdReused, format!("request id {} was already used for a different command", self.request));
        }
        Ok(())
    }

    /// `time_went_backwards` takes its place after state errors and before funds errors.
    fn in_time(&self, state: &State) -> Result<(), Rejection> {
        if self.at < state.head().at {
            return reject(
                ErrorCode::TimeWentBackwards,
                format!("at {} is before the last committed transaction ({})", self.at, state.head().at),
            );
        }
        Ok(())
    }
}

impl From<Overflow> for Rejection {
    fn from(_: Overflow) -> Rejection {
        Rejection::new(ErrorCode::InvalidAmount, "amount arithmetic overflowed")
    }
}

/// Runs `command` against `state`: decides, then applies the effects to `state` (recording how to
/// undo them in `undo`). A failed command leaves `state` as it was.
///
/// # Errors
/// The command's [`Rejection`], by SPEC.md's precedence.
pub fn run(state: &mut State, context: &Context<'_>, command: &Command, undo: &mut Undo) -> Result<Effects, Rejection> {
    let mark = undo.mark();
    let result = run_inner(state, context, command, undo);
    if result.is_err() {
        state.rollback(undo, mark);
    }
    result
}

fn run_inner(state: &mut State, context: &Context<'_>, command: &Command, undo: &mut Undo) -> Result<Effects, Rejection> {
    let Command::Atomic { commands } = command else {
        let effects = decide(state, context, command)?;
        state.apply(&effects, undo)?;
        return Ok(effects);
    };
    let mut combined = Effects::new(Outcome::Atomic(Vec::with_capacity(commands.len())));
    let mut outcomes = Vec::with_capacity(commands.len());
    for (index, inner) in commands.iter().enumerate() {
        let part = u16::try_from(index).map_err(|_| Rejection::new(ErrorCode::InvalidRequest, "atomic group too large"))?;
        let inner_context = Context { part, ..context.clone() };
        let effects = decide(state, &inner_context, inner)
            .and_then(|effects| state.apply(&effects, undo).map(|()| effects))
            .map_err(|rejection| if rejection.code == ErrorCode::IdReused { rejection } else { rejection.at_index(index) })?;
        combined.postings.extend(effects.postings);
        combined.parties.extend(effects.parties);
        combined.adjust_records.extend(effects.adjust_records);
        outcomes.push(effects.outcome);
    }
    combined.outcome = Outcome::Atomic(outcomes);
    Ok(combined)
}

/// Decides one non-atomic command without changing anything.
fn decide(state: &State, context: &Context<'_>, command: &Command) -> Result<Effects, Rejection> {
    scope::require_registered(state, context.actor)?;
    match command {
        Command::RegisterPartner { partner, kind, parent } => parties::register_partner(state, context, partner, *kind, parent.as_ref()),
        Command::RegisterCustomer { customer, partner, association } => {
            parties::register_customer(state, context, customer, partner.as_ref(), *association)
        }
        Command::Associate { customer, partner, association } => parties::associate(state, context, customer, partner, *association),
        Command::Recharge { party, amount } => funds::recharge(state, context, party, *amount),
        Command::Allocate { partner, to, amount, memo } => funds::allocate(state, context, partner.as_ref(), to, *amount, memo),
        Command::Recover { partner, from, amount, memo } => funds::recover(state, context, partner.as_ref(), from, *amount, memo),
        Command::SetCreditLimit { party, limit } => funds::set_credit_limit(state, context, party, *limit),
        Command::RepayCredit { party, amount } => funds::repay_credit(state, context, party, *amount),
        Command::Adjust { party, direction, amount, .. } => funds::adjust(state, context, party, *direction, *amount),
        Command::Atomic { .. } => reject(ErrorCode::InvalidRequest, "atomic groups cannot be nested"),
    }
}

/// Checks that `actor` may read `party` (queries follow the command scope of SPEC 2.1), and that
/// `party` exists.
///
/// # Errors
/// `access_denied`, then `not_found`.
pub fn authorize_query(state: &State, actor: &Party, party: &Party) -> Result<(), Rejection> {
    scope::require_registered(state, actor)?;
    scope::require_scope(state, actor, party)?;
    if *party == Party::Platform {
        return Ok(());
    }
    scope::require_exists(state, party).map(|_| ())
}

/// Whether `actor` may act for `party` under SPEC 2.1 (no registration check).
pub fn in_scope(state: &State, actor: &Party, party: &Party) -> bool {
    scope::in_scope(state, actor, party)
}
