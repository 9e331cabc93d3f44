//! The pure double-entry core: the chart of accounts, postings, balance bounds and the hash chain.
//!
//! Nothing here touches storage or the clock. A transaction is a list of postings; per asset they
//! sum to zero, so the sum of all balances of each asset is always zero.

use crate::amount::Amount;
use crate::id::{Id, Party};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// The two assets, never mixed in one balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Asset {
    /// Money, in fen.
    Cny,
    /// Coupon value, in 1/100.
    Cpn,
}

impl Asset {
    /// The commodity name: `CNY` or `CPN`.
    pub fn name(self) -> &'static str {
        match self {
            Asset::Cny => "CNY",
            Asset::Cpn => "CPN",
        }
    }
}

/// The kind of an account; the owner is kept apart in [`Account`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccountKind {
    /// Platform: money outside the system.
    Bank,
    /// Platform: money earned.
    Revenue,
    /// Platform: the source of all coupon value.
    CouponIssuance,
    /// Platform: coupon value spent on orders.
    CouponRedeemed,
    /// Platform: coupon value swept at expiry.
    CouponExpired,
    /// Partner or customer money, `>= 0`.
    Cash,
    /// Partner or customer credit, `-limit <= balance <= 0`.
    Credit,
    /// Customer debt, `<= 0`.
    Arrears,
    /// A partner's coupon quota, `>= 0`.
    Quota(Id),
    /// A customer's coupon, `>= 0`.
    Coupon(Id),
    /// A customer's funds allocated by its partner (伙伴拨款账户), `>= 0`.
    Allocated,
}

/// An account of the chart: an owner and a kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Account {
    /// Whose account.
    pub owner: Party,
    /// Which account.
    pub kind: AccountKind,
}

/// The bound an account's balance must respect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Any balance.
    None,
    /// `balance >= 0`.
    NonNegative,
    /// `balance <= 0`.
    NonPositive,
    /// `-limit <= balance <= 0`.
    Credit,
}

impl Account {
    /// The account `kind` of `owner`.
    pub fn new(owner: Party, kind: AccountKind) -> Account {
        Account { owner, kind }
    }

    /// The cash account of `owner`.
    pub fn cash(owner: &Party) -> Account {
        Account::new(owner.clone(), AccountKind::Cash)
    }

    /// The credit account of `owner`.
    pub fn credit(owner: &Party) -> Account {
        Account::new(owner.clone(), AccountKind::Credit)
    }

    /// The allocated-funds account of a customer.
    pub fn allocated(owner: &Party) -> Account {
        Account::new(owner.clone(), AccountKind::Allocated)
    }

    /// The arrears (debt) account of `owner`.
    pub fn arrears(owner: &Party) -> Account {
        Account::new(owner.clone(), AccountKind::Arrears)
    }

    /// A platform account.
    pub fn platform(kind: AccountKind) -> Account {
        Account::new(Party::Platform, kind)
    }

    /// The asset this account holds.
    pub fn asset(&self) -> Asset {
        match self.kind {
            AccountKind::CouponIssuance | AccountKind::CouponRedeemed | AccountKind::CouponExpired => Asset::Cpn,
            AccountKind::Quota(_) | AccountKind::Coupon(_) => Asset::Cpn,
            _ => Asset::Cny,
        }
    }

    /// The bound of this account.
    pub fn bound(&self) -> Bound {
        match self.kind {
            AccountKind::Bank | AccountKind::Revenue => Bound::None,
            AccountKind::CouponIssuance | AccountKind::CouponRedeemed | AccountKind::CouponExpired => Bound::None,
            AccountKind::Cash | AccountKind::Allocated | AccountKind::Quota(_) | AccountKind::Coupon(_) => Bound::NonNegative,
            AccountKind::Credit => Bound::Credit,
            AccountKind::Arrears => Bound::NonPositive,
        }
    }

    /// True when this account belongs to the chart of SPEC 1.3 (e.g. platforms have no cash).
    pub fn is_in_chart(&self) -> bool {
        match (&self.owner, &self.kind) {
            (Party::Platform, kind) => matches!(
                kind,
                AccountKind::Bank
                    | AccountKind::Revenue
                    | AccountKind::CouponIssuance
                    | AccountKind::CouponRedeemed
                    | AccountKind::CouponExpired
            ),
            (Party::Partner(_), kind) => matches!(kind, AccountKind::Cash | AccountKind::Credit | AccountKind::Quota(_)),
            (Party::Customer(_), kind) => matches!(
                kind,
                AccountKind::Cash | AccountKind::Allocated | AccountKind::Credit | AccountKind::Arrears | AccountKind::Coupon(_)
            ),
            (Party::Operator(_), _) => false,
        }
    }

    /// Whether `balance` respects this account's bound, given the owner's credit limit.
    pub fn within_bound(&self, balance: Amount, credit_limit: Amount) -> bool {
        match self.bound() {
            Bound::None => true,
            Bound::NonNegative => !balance.is_negative(),
            Bound::NonPositive => !balance.is_positive(),
            Bound::Credit => !balance.is_positive() && balance.minor() >= -credit_limit.minor(),
        }
    }
}

impl fmt::Display for Account {
    /// `platform:bank`, `partner:P1:cash`, `customer:C1:coupon:K1`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            AccountKind::Bank => "bank".to_owned(),
            AccountKind::Revenue => "revenue".to_owned(),
            AccountKind::CouponIssuance => "coupon_issuance".to_owned(),
            AccountKind::CouponRedeemed => "coupon_redeemed".to_owned(),
            AccountKind::CouponExpired => "coupon_expired".to_owned(),
            AccountKind::Cash => "cash".to_owned(),
            AccountKind::Credit => "credit".to_owned(),
            AccountKind::Arrears => "arrears".to_owned(),
            AccountKind::Allocated => "allocated".to_owned(),
            AccountKind::Quota(id) => format!("quota:{id}"),
            AccountKind::Coupon(id) => format!("coupon:{id}"),
        };
        write!(formatter, "{}:{kind}", self.owner)
    }
}

impl Account {
    /// Parses the text form written by `Display` (`partner:P1:quota:Q1`).
    pub fn parse(text: &str) -> Option<Account> {
        let (owner, kind) = if let Some(kind) = text.strip_prefix("platform:") {
            (Party::Platform, kind)
        } else {
            let (prefix, rest) = text.split_once(':')?;
            let (id, kind) = rest.split_once(':')?;
            (Party::parse(&format!("{prefix}:{id}")).ok()?, kind)
        };
        let kind = match kind {
            "bank" => AccountKind::Bank,
            "revenue" => AccountKind::Revenue,
            "coupon_issuance" => AccountKind::CouponIssuance,
            "coupon_redeemed" => AccountKind::CouponRedeemed,
            "coupon_expired" => AccountKind::CouponExpired,
            "cash" => AccountKind::Cash,
            "credit" => AccountKind::Credit,
            "arrears" => AccountKind::Arrears,
            "allocated" => AccountKind::Allocated,
            _ => match kind.split_once(':')? {
                ("quota", id) => AccountKind::Quota(Id::new(id).ok()?),
                ("coupon", id) => AccountKind::Coupon(Id::new(id).ok()?),
                _ => return None,
            },
        };
        let account = Account { owner, kind };
        account.is_in_chart().then_some(account)
    }
}

/// One leg of a transaction: a signed amount on an account. `part` is the index of the command
/// inside an `atomic` group that produced it (0 otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The account posted to.
    pub account: Account,
    /// Signed amount: positive increases the balance.
    pub amount: Amount,
    /// Index of the producing command inside an atomic group.
    pub part: u16,
}

/// A transaction's postings broke a double-entry rule. Domain rules refuse such commands with a
/// specific code first, so this only fires on a bug; it is still refused, never committed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The postings of an asset do not sum to zero.
    #[error("postings of {0} sum to {1}, not zero")]
    Unbalanced(&'static str, Amount),
    /// A posting names an account outside the chart.
    #[error("account {0} is not in the chart of accounts")]
    OutsideChart(Account),
    /// A posting has a zero amount.
    #[error("posting of zero on {0}")]
    ZeroPosting(Account),
    /// Arithmetic overflow.
    #[error("amount overflow")]
    Overflow,
}

/// Checks that `postings` are non-zero, in the chart and sum to zero per asset.
///
/// # Errors
/// The first [`JournalError`] found.
pub fn check_balanced(postings: &[Posting]) -> Result<(), JournalError> {
    let mut sums: BTreeMap<Asset, Amount> = BTreeMap::new();
    for posting in postings {
        if !posting.account.is_in_chart() {
            return Err(JournalError::OutsideChart(posting.account.clone()));
        }
        if posting.amount.is_zero() {
            return Err(JournalError::ZeroPosting(posting.account.clone()));
        }
        let sum = sums.entry(posting.account.asset()).or_default();
        *sum = sum.checked_add(posting.amount).map_err(|_| JournalError::Overflow)?;
    }
    match sums.into_iter().find(|(_, sum)| !sum.is_zero()) {
        Some((asset, sum)) => Err(JournalError::Unbalanced(asset.name(), sum)),
        None => Ok(()),
    }
}

/// A SHA-256 digest linking a transaction to its predecessor.
pub type ChainHash = [u8; 32];

/// The hash before the first transaction.
pub const GENESIS_HASH: ChainHash = [0; 32];

/// The chain hash of a transaction whose encoded body (which includes the previous hash) is `body`.
pub fn chain_hash(body: &[u8]) -> ChainHash {
    Sha256::digest(body).into()
}

/// Lower-case hex of a hash.
pub fn hex(hash: &ChainHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posting(account: Account, minor: i128) -> Posting {
        Posting { account, amount: Amount::from_minor(minor), part: 0 }
    }

    #[test]
    fn balanced_postings_pass_and_unbalanced_fail() {
        let customer = Party::Customer(Id::party("C1").unwrap());
        let ok = [posting(Account::platform(AccountKind::Bank), -100), posting(Account::cash(&customer), 100)];
        assert_eq!(check_balanced(&ok), Ok(()));
        let unbalanced = [posting(Account::platform(AccountKind::Bank), -100), posting(Account::cash(&customer), 90)];
        assert!(matches!(check_balanced(&unbalanced), Err(JournalError::Unbalanced("CNY", _))));
        let mixed = [posting(Account::platform(AccountKind::CouponIssuance), -100), posting(Account::cash(&customer), 100)];
        assert!(matches!(check_balanced(&mixed), Err(JournalError::Unbalanced(..))));
        let outside = [posting(Account::cash(&Party::Platform), 1), posting(Account::cash(&customer), -1)];
        assert!(matches!(check_balanced(&outside), Err(JournalError::OutsideChart(_))));
    }

    #[test]
    fn account_text_round_trips() {
        for text in [
            "platform:bank",
            "platform:coupon_expired",
            "partner:P1:cash",
            "partner:P1:quota:Q:1",
            "customer:C1:coupon:K1",
            "customer:C1:arrears",
            "customer:C1:allocated",
        ] {
            assert_eq!(Account::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "platform:cash",
            "partner:P1:arrears",
            "partner:P1:allocated",
            "operator:O1:cash",
            "customer:C1",
            "vendor:V:cash",
            "customer:C1:quota:Q1",
        ] {
            assert!(Account::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn bounds_follow_the_chart() {
        let customer = Party::Customer(Id::party("C1").unwrap());
        let limit = Amount::from_minor(500);
        assert!(Account::cash(&customer).within_bound(Amount::ZERO, limit));
        assert!(!Account::cash(&customer).within_bound(Amount::from_minor(-1), limit));
        assert!(Account::credit(&customer).within_bound(Amount::from_minor(-500), limit));
        assert!(!Account::credit(&customer).within_bound(Amount::from_minor(-501), limit));
        assert!(!Account::credit(&customer).within_bound(Amount::from_minor(1), limit));
        assert!(!Account::arrears(&customer).within_bound(Amount::from_minor(1), limit));
        assert!(Account::platform(AccountKind::Bank).within_bound(Amount::from_minor(-10_i128.pow(30)), limit));
    }
}
