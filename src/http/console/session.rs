//! Console sessions: signing in with an access key and secret key, the session cookie, its CSRF
//! token, idle expiry, and a per-address throttle of failed sign-ins. Sessions live in memory only:
//! a restart signs everyone out.

use crate::id::Party;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub(crate) const COOKIE: &str = "pl_console";
/// A session unused for this long is gone.
pub(crate) const IDLE_EXPIRY: Duration = Duration::from_secs(30 * 60);
/// Sessions held at once, at most: past it, expired ones are dropped, and then the oldest idle one.
const SESSIONS_MAX: usize = 10_000;
/// Failed sign-ins from one address within [`FAILURE_WINDOW`] before it is refused for the rest
/// of the window, unchecked.
pub(crate) const FAILURES_MAX: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses whose failures are remembered, at most.
const ADDRESSES_MAX: usize = 10_000;

/// Who is signed in, and what the console shows them.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The key's actor: every request of the session acts as it.
    pub(crate) actor: Party,
    /// The partner the pages are about: the partner itself, or an operator's partner.
    pub(crate) partner: Option<String>,
    /// False for an operator whose roles reach only its managed customers' consumption (the
    /// ledger answered `access_denied` to its partner's balance at sign-in): it sees only the
    /// customers and the dashboard.
    pub(crate) full: bool,
    /// The token every form of the session carries.
    pub(crate) csrf: String,
    last_seen: Instant,
    flash: Option<String>,
}

impl Session {
    pub(crate) fn new(actor: Party, partner: Option<String>, full: bool) -> Option<Session> {
        Some(Session { actor, partner, full, csrf: random_token()?, last_seen: Instant::now(), flash: None })
    }
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    failures: HashMap<IpAddr, (Instant, u32)>,
}

/// The server's sessions and sign-in throttle.
#[derive(Default)]
pub(crate) struct Sessions {
    inner: Mutex<Inner>,
}

/// 32 random bytes, hex.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(crate::http::sign::hex(&bytes))
}

/// A random id for a command of a form, valid under SPEC 1.1's id rules.
pub(crate) fn random_id(prefix: &str) -> String {
    let mut bytes = [0_u8; 8];
    let _ = getrandom::fill(&mut bytes);
    format!("{prefix}-{}", crate::http::sign::hex(&bytes))
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `address` failed too often lately: its sign-ins are refused without a check.
    pub(crate) fn throttled(&self, address: IpAddr) -> bool {
        let inner = self.lock();
        inner.failures.get(&address).is_some_and(|(since, count)| *count >= FAILURES_MAX && since.elapsed() < FAILURE_WINDOW)
    }

    /// Counts a failed sign-in from `address`.
    pub(crate) fn failed(&self, address: IpAddr) {
        let mut inner = self.lock();
        let now = Instant::now();
        if inner.failures.len() >= ADDRESSES_MAX {
            inner.failures.retain(|_, (since, _)| since.elapsed() < FAILURE_WINDOW);
            if inner.failures.len() >= ADDRESSES_MAX {
                inner.failures.clear();
            }
        }
        let entry = inner.failures.entry(address).or_insert((now, 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Stores a new session; its cookie token.
    pub(crate) fn open(&self, session: Session) -> Option<String> {
        let token = random_token()?;
        let mut inner = self.lock();
        if inner.sessions.len() >= SESSIONS_MAX {
            inner.sessions.retain(|_, session| session.last_seen.elapsed() < IDLE_EXPIRY);
        }
        if inner.sessions.len() >= SESSIONS_MAX {
            let oldest = inner.sessions.iter().min_by_key(|(_, session)| session.last_seen).map(|(token, _)| token.clone());
            if let Some(oldest) = oldest {
                inner.sessions.remove(&oldest);
            }
        }
        inner.sessions.insert(token.clone(), session);
        Some(token)
    }

    /// The live session of a cookie token, marked as used now; an idle-expired one is dropped.
    pub(crate) fn get(&self, token: &str) -> Option<Session> {
        let mut inner = self.lock();
        let session = inner.sessions.get_mut(token)?;
        if session.last_seen.elapsed() >= IDLE_EXPIRY {
            inner.sessions.remove(token);
            return None;
        }
        session.last_seen = Instant::now();
        Some(session.clone())
    }

    /// Signs a session out.
    pub(crate) fn close(&self, token: &str) {
        self.lock().sessions.remove(token);
    }

    /// A one-time message for the session's next page.
    pub(crate) fn set_flash(&self, token: &str, text: String) {
        if let Some(session) = self.lock().sessions.get_mut(token) {
            session.flash = Some(text);
        }
    }

    /// Takes the one-time message, if any.
    pub(crate) fn take_flash(&self, token: &str) -> Option<String> {
        self.lock().sessions.get_mut(token).and_then(|session| session.flash.take())
    }
}

/// The session token in a `Cookie` header.
pub(crate) fn cookie_token(headers: &hyper::HeaderMap) -> Option<String> {
    headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value that carries a session (empty token and `Max-Age=0` to sign out).
pub(crate) fn set_cookie(token: &str, tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    let expire = if token.is_empty() { "; Max-Age=0" } else { "" };
    format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict{secure}{expire}")
}

/// Compares a form's CSRF token with the session's in constant time.
pub(crate) fn csrf_matches(session: &Session, given: &str) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let digest = |text: &str| {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"partner-ledger console csrf").expect("any key length");
        mac.update(text.as_bytes());
        mac
    };
    let expected = digest(&session.csrf).finalize().into_bytes();
    digest(given).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_address_does_not_throttle_another() {
        let sessions = Sessions::default();
        let (one, two): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..FAILURES_MAX {
            assert!(!sessions.throttled(one));
            sessions.failed(one);
        }
        assert!(sessions.throttled(one));
        assert!(!sessions.throttled(two));
    }

    #[test]
    fn sessions_open_close_and_check_their_token() {
        let sessions = Sessions::default();
        let session = Session::new(Party::parse("partner:D1").unwrap(), Some("D1".into()), true).unwrap();
        let csrf = session.csrf.clone();
        let token = sessions.open(session).unwrap();
        let found = sessions.get(&token).unwrap();
        assert!(csrf_matches(&found, &csrf));
        assert!(!csrf_matches(&found, "nope"));
        sessions.close(&token);
        assert!(sessions.get(&token).is_none());
        assert_eq!(set_cookie("t", true), "pl_console=t; Path=/console; HttpOnly; SameSite=Strict; Secure");
    }
}
