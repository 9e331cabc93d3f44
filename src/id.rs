//! Identifiers and parties: validated at construction, so every `Id` in the ledger obeys the rules.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The longest id accepted, in characters.
pub const ID_LENGTH_MAX: usize = 64;

/// An id of a party, order, coupon, quota, invoice, withdrawal or request:
/// 1 to 64 characters from `A-Z a-z 0-9 _ . : -`.
///
/// Shared, immutable text: cloning an id (every account key holds its owner's) is a reference
/// count, not an allocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id(Arc<str>);

/// Why an id was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

impl Id {
    /// Validates a general id (colons allowed).
    ///
    /// # Errors
    /// [`IdError`] when empty, longer than 64 characters or with a character outside the set.
    pub fn new(text: &str) -> Result<Id, IdError> {
        Self::validate(text, true).map(|()| Id(Arc::from(text)))
    }

    /// Validates a party id (no colons).
    ///
    /// # Errors
    /// [`IdError`] as for [`Id::new`], and for a colon.
    pub fn party(text: &str) -> Result<Id, IdError> {
        Self::validate(text, false).map(|()| Id(Arc::from(text)))
    }

    fn validate(text: &str, colon_allowed: bool) -> Result<(), IdError> {
        if text.is_empty() || text.len() > ID_LENGTH_MAX {
            return Err(IdError(format!("id must be 1 to {ID_LENGTH_MAX} characters")));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') || (colon_allowed && b == b':');
        if !text.bytes().all(allowed) {
            let set = if colon_allowed { "A-Z a-z 0-9 _ . : -" } else { "A-Z a-z 0-9 _ . -" };
            return Err(IdError(format!("id {text:?} has a character outside {set}")));
        }
        Ok(())
    }

    /// The smallest id, for range scans (never a valid id).
    pub(crate) fn empty() -> Id {
        Id(Arc::from(""))
    }

    /// An id the ledger derives from valid ids (`<order>:refund`, `<request>:<index>`): built
    /// from checked parts, so only the length rule may be exceeded.
    pub(crate) fn derived(text: String) -> Id {
        Id(Arc::from(text))
    }

    /// An id as the store holds it: a valid id or a derived one (which may be longer than
    /// [`ID_LENGTH_MAX`]); `None` only when empty.
    pub(crate) fn stored(text: &str) -> Option<Id> {
        (!text.is_empty()).then(|| Id(Arc::from(text)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `Id` hashes and compares as its text, so maps keyed by ids can be searched with a `&str`.
impl std::borrow::Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A party of the platform: written `platform`, `partner:<id>`, `customer:<id>` or `operator:<id>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Party {
    /// The cloud operator.
    Platform,
    /// A partner (solution provider, distributor or reseller).
    Partner(Id),
    /// A customer.
    Customer(Id),
    /// A person acting for one partner within roles; owns no accounts.
    Operator(Id),
}

impl Party {
    /// Parses `platform`, `partner:<id>`, `customer:<id>` or `operator:<id>`.
    ///
    /// # Errors
    /// [`IdError`] for any other shape or a bad id.
    pub fn parse(text: &str) -> Result<Party, IdError> {
        if text == "platform" {
            return Ok(Party::Platform);
        }
        match text.split_once(':') {
            Some(("partner", id)) => Id::party(id).map(Party::Partner),
            Some(("customer", id)) => Id::party(id).map(Party::Customer),
            Some(("operator", id)) => Id::party(id).map(Party::Operator),
            _ => Err(IdError(format!("party {text:?} must be platform, partner:<id>, customer:<id> or operator:<id>"))),
        }
    }

    /// The partner's id, when this is a partner.
    pub fn partner_id(&self) -> Option<&Id> {
        match self {
            Party::Partner(id) => Some(id),
            _ => None,
        }
    }

    /// The customer's id, when this is a customer.
    pub fn customer_id(&self) -> Option<&Id> {
        match self {
            Party::Customer(id) => Some(id),
            _ => None,
        }
    }

    /// The operator's id, when this is an operator.
    pub fn operator_id(&self) -> Option<&Id> {
        match self {
            Party::Operator(id) => Some(id),
            _ => None,
        }
    }

    /// The bare id of a partner, customer or operator (none for the platform).
    pub fn id(&self) -> Option<&Id> {
        match self {
            Party::Platform => None,
            Party::Partner(id) | Party::Customer(id) | Party::Operator(id) => Some(id),
        }
    }

    /// Whether this party can own accounts (the platform, partners and customers; not operators).
    pub fn owns_accounts(&self) -> bool {
        !matches!(self, Party::Operator(_))
    }
}

impl fmt::Display for Party {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Platform => formatter.write_str("platform"),
            Party::Partner(id) => write!(formatter, "partner:{id}"),
            Party::Customer(id) => write!(formatter, "customer:{id}"),
            Party::Operator(id) => write!(formatter, "operator:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_rules() {
        assert!(Id::new("a.b:c-d_E9").is_ok());
        assert!(Id::new(&"x".repeat(64)).is_ok());
        for bad in ["", "a b", "é", "a/b", "a\u{0}", &"x".repeat(65)] {
            assert!(Id::new(bad).is_err(), "{bad:?}");
        }
        assert!(Id::party("a:b").is_err());
    }

    #[test]
    fn parties_round_trip() {
        for text in ["platform", "partner:P1", "customer:C-1.x", "operator:O_1"] {
            assert_eq!(Party::parse(text).unwrap().to_string(), text);
        }
        for bad in ["Platform", "partner:", "partner:a:b", "vendor:V1", "customer", "P1", "operator:", "operator:a:b"] {
            assert!(Party::parse(bad).is_err(), "{bad:?}");
        }
    }
}
