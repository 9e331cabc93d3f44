//! Who is calling: the access key named by a signed request, checked against the keyring.

use super::sign::{self, Authorization, Signable};
use crate::id::Party;
use crate::store::keys::AccessKey;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::sync::RwLock;

/// How far `X-Sdk-Date` may be from the server's clock.
pub const DATE_SKEW_MILLIS: i64 = 15 * 60 * 1000;

/// The caller of a verified request.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Its access key id.
    pub access: String,
    /// The actor the key acts as.
    pub actor: Party,
    /// The request's signature (hex): with the access key, it names a byte-identical request.
    pub signature: String,
}

/// Why a request was not authenticated (answered 401, or 403 for a foreign domain). The text
/// names what failed and never a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthFailure(pub &'static str);

/// The access keys the server accepts, loaded from the ledger file at start.
#[derive(Default)]
pub struct Keyring {
    keys: RwLock<HashMap<String, AccessKey>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Keyring")
    }
}

impl Keyring {
    /// A keyring of these keys (revoked ones are kept, and refused).
    pub fn new(keys: Vec<AccessKey>) -> Keyring {
        Keyring { keys: RwLock::new(keys.into_iter().map(|key| (key.access.clone(), key)).collect()) }
    }

    /// Adds a key, or replaces the key of the same access key id (a revocation).
    pub fn put(&self, key: AccessKey) {
        self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key.access.clone(), key);
    }

    /// Checks a request's signature, date, key and domain; `now` is the server's clock.
    ///
    /// # Errors
    /// [`AuthFailure`] naming the first check that failed.
    pub fn authenticate(&self, request: &Signable<'_>, now: Timestamp) -> Result<Principal, AuthFailure> {
        let header = |name: &str| request.headers.iter().find(|(header, _)| header.eq_ignore_ascii_case(name)).map(|(_, value)| *value);
        let authorization = header("authorization").ok_or(AuthFailure("the request is not signed: no Authorization header"))?;
        let authorization = Authorization::parse(authorization)
            .ok_or(AuthFailure("the Authorization header is not SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…"))?;
        if !["host", "x-sdk-date"].iter().all(|required| authorization.signed_headers.iter().any(|name| name == required)) {
            return Err(AuthFailure("SignedHeaders must include host and x-sdk-date"));
        }
        let date = header("x-sdk-date").ok_or(AuthFailure("no X-Sdk-Date header"))?;
        let signed_at = parse_sdk_date(date).ok_or(AuthFailure("X-Sdk-Date is not YYYYMMDDTHHMMSSZ"))?;
        if (signed_at.millis() - now.millis()).abs() > DATE_SKEW_MILLIS {
            return Err(AuthFailure("X-Sdk-Date is more than 15 minutes from the server's clock"));
        }
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = keys.get(&authorization.access).ok_or(AuthFailure("unknown access key"))?;
        if key.revoked.is_some() {
            return Err(AuthFailure("the access key is revoked"));
        }
        let canonical =
            sign::canonical_request(request, &authorization.signed_headers).ok_or(AuthFailure("a signed header is missing or repeated"))?;
        if !sign::verify(&key.secret, &sign::string_to_sign(date, &canonical), &authorization.signature) {
            return Err(AuthFailure("the signature does not match"));
        }
        if let Some(domain) = header("x-domain-id")
            && domain.trim() != key.domain
        {
            return Err(AuthFailure("X-Domain-Id is not the access key's domain"));
        }
        let actor = Party::parse(&key.actor).map_err(|_| AuthFailure("the access key names no valid actor"))?;
        Ok(Principal { access: key.access.clone(), actor, signature: authorization.signature })
    }
}

/// What a key signs in to the console as: its actor and its domain (an operator's partner).
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The actor the key acts as.
    pub actor: Party,
    /// The key's domain: the partner of an operator, else the party's own id.
    pub domain: String,
}

/// The message both secrets are keyed over to compare them in constant time.
const SECRET_PROBE: &str = "partner-ledger console sign-in";

impl Keyring {
    /// Checks an access key and secret key pair typed into the console's sign-in form. The
    /// secrets are compared in constant time (as HMACs of one message under each); the ledger is
    /// not asked.
    ///
    /// # Errors
    /// [`AuthFailure`] for an unknown or revoked key or a wrong secret, all with one message.
    pub fn sign_in(&self, access: &str, secret: &str) -> Result<SignedIn, AuthFailure> {
        const REFUSED: AuthFailure = AuthFailure("the access key or the secret key is wrong");
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let probe = sign::sign(secret, SECRET_PROBE);
        let Some(key) = keys.get(access).filter(|key| key.revoked.is_none()) else {
            // The same work as for a known key, so that timing does not tell which keys exist.
            let _ = sign::verify(secret, SECRET_PROBE, &probe);
            return Err(REFUSED);
        };
        if !sign::verify(&key.secret, SECRET_PROBE, &probe) {
            return Err(REFUSED);
        }
        let actor = Party::parse(&key.actor).map_err(|_| AuthFailure("the access key names no valid actor"))?;
        Ok(SignedIn { actor, domain: key.domain.clone() })
    }
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn parse_sdk_date(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes.get(range).filter(|part| part.iter().all(u8::is_ascii_digit)).map(|part| std::str::from_utf8(part).unwrap_or_default())
    };
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let rfc3339 =
        format!("{}-{}-{}T{}:{}:{}Z", digits(0..4)?, digits(4..6)?, digits(6..8)?, digits(9..11)?, digits(11..13)?, digits(13..15)?);
    Timestamp::parse(&rfc3339).ok()
}

/// Formats an instant as `YYYYMMDDTHHMMSSZ` (for clients and tests).
pub fn format_sdk_date(at: Timestamp) -> String {
    let text = at.to_string();
    // `2026-11-02T08:00:00Z` (or with milliseconds) → `20261102T080000Z`.
    let compact: String = text.chars().take(19).filter(|c| c.is_ascii_digit() || *c == 'T').collect();
    format!("{compact}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_dates_round_trip_and_malformed_ones_are_refused() {
        let at = parse_sdk_date("20261102T080000Z").unwrap();
        assert_eq!(at, Timestamp::parse("2026-11-02T08:00:00Z").unwrap());
        assert_eq!(format_sdk_date(at), "20261102T080000Z");
        for bad in ["20261102T080000", "2026-11-02T08:00:00Z", "20261302T080000Z", "2026110xT080000Z", ""] {
            assert_eq!(parse_sdk_date(bad), None, "{bad}");
        }
    }
}
