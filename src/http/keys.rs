//! Making and revoking access keys. A key acts as one registered party or operator; its secret
//! is shown once, when it is made, and is kept in the ledger file only.

use crate::id::Party;
use crate::ledger::Ledger;
use crate::store::keys::AccessKey;
use crate::time::Timestamp;

/// Why a key could not be made or revoked.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The actor is not a registered party or operator (or is the platform, which has no key).
    #[error("{0}")]
    Actor(String),
    /// No such access key.
    #[error("no access key {0}")]
    Unknown(String),
    /// The operating system gave no randomness.
    #[error("no randomness: {0}")]
    Random(String),
    /// The ledger file failed.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

/// Letters and digits of access key ids and secrets.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_text(length: usize, alphabet: &[u8]) -> Result<String, KeyError> {
    let mut bytes = vec![0_u8; length];
    getrandom::fill(&mut bytes).map_err(|error| KeyError::Random(error.to_string()))?;
    // Bytes past the last whole multiple of the alphabet are skipped, so every symbol is equally likely.
    let mut text = String::with_capacity(length);
    let mut pool = bytes.into_iter();
    while text.len() < length {
        let byte = match pool.next() {
            Some(byte) => byte,
            None => {
                let mut more = vec![0_u8; 32];
                getrandom::fill(&mut more).map_err(|error| KeyError::Random(error.to_string()))?;
                pool = more.into_iter();
                continue;
            }
        };
        let limit = 256 - 256 % alphabet.len(); // 248 for 62 symbols, 252 for 36
        if usize::from(byte) < limit {
            text.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
        }
    }
    Ok(text)
}

/// Makes and stores a new key for `actor`: a 20-character access key id and a 40-character
/// secret. The domain a request may name is the actor's partner for an operator, else the
/// party's own id.
///
/// # Errors
/// [`KeyError`] when the actor is not registered, or the file fails.
pub fn add(ledger: &Ledger, actor: &Party, now: Timestamp) -> Result<AccessKey, KeyError> {
    let domain = match actor {
        Party::Platform => "platform".to_owned(),
        Party::Partner(id) | Party::Customer(id) => id.as_str().to_owned(),
        Party::Operator(_) => match ledger.party(actor).map(|record| record.role) {
            Some(crate::Role::Operator { partner, .. }) => partner.as_str().to_owned(),
            _ => String::new(),
        },
    };
    if *actor != Party::Platform && ledger.party(actor).is_none() {
        return Err(KeyError::Actor(format!("{actor} is not registered")));
    }
    let key = make(actor, domain, now)?;
    ledger.put_access_key(&key)?;
    Ok(key)
}

/// A new key for `actor` signing for `domain`, not yet stored anywhere (a replicated book keeps
/// its keys in its own bucket).
///
/// # Errors
/// [`KeyError::Random`] when the operating system gives no randomness.
pub fn make(actor: &Party, domain: String, now: Timestamp) -> Result<AccessKey, KeyError> {
    let access = random_text(20, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")?;
    Ok(AccessKey { access, secret: random_text(40, ALPHABET)?, actor: actor.to_string(), domain, created: now, revoked: None })
}

/// Revokes a key: it is kept (so its id is never reused) and refused from then on.
///
/// # Errors
/// [`KeyError::Unknown`] when there is no such key, or the file fails.
pub fn revoke(ledger: &Ledger, access: &str, now: Timestamp) -> Result<AccessKey, KeyError> {
    let mut key = ledger.access_keys()?.into_iter().find(|key| key.access == access).ok_or_else(|| KeyError::Unknown(access.to_owned()))?;
    if key.revoked.is_none() {
        key.revoked = Some(now);
        ledger.put_access_key(&key)?;
    }
    Ok(key)
}
