//! What a replicated node (SPEC section 9) tells its HTTP doors: whether it leads, and where the
//! leader is. The cluster module (`crate::cluster`) keeps it; the doors only read it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A node's role in its book, shared between the lease keeper, the publisher and the doors.
#[derive(Debug, Default)]
pub struct ReplicaStatus {
    leading: AtomicBool,
    /// The node is stopping: a commit whose outcome is still unknown is given up.
    closing: AtomicBool,
    /// Until when this node's lease is surely still its own (it holds the lease key).
    lease_until: Mutex<Option<Instant>>,
    /// The leader's HTTP address, as its lease names it ("" when unknown).
    leader: Mutex<String>,
}

impl ReplicaStatus {
    /// Whether this node leads and its lease has not lapsed.
    pub fn leads(&self) -> bool {
        self.leading.load(Ordering::SeqCst) && self.lock_lease().is_some_and(|until| Instant::now() < until)
    }

    /// Whether this node believes it leads (its lease may have lapsed since).
    pub fn claims_lead(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Starts leading, with the lease held until `until`; `address` is this node's.
    pub fn lead(&self, until: Instant, address: &str) {
        *self.lock_lease() = Some(until);
        self.set_leader(address);
        self.leading.store(true, Ordering::SeqCst);
    }

    /// The lease was renewed: it is held until `until`.
    pub fn renew(&self, until: Instant) {
        *self.lock_lease() = Some(until);
    }

    /// Stops leading (deposed, fenced, or shutting down).
    pub fn step_down(&self) {
        self.leading.store(false, Ordering::SeqCst);
        *self.lock_lease() = None;
    }

    /// The node is stopping (SIGTERM): it leads no more, and gives up a commit it cannot learn
    /// the outcome of rather than keep the process alive.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.step_down();
    }

    /// Whether the node is stopping.
    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// The leader's address as last seen ("" when unknown).
    pub fn leader(&self) -> String {
        self.leader.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Records where the leader is.
    pub fn set_leader(&self, address: &str) {
        let mut leader = self.leader.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *leader != address {
            address.clone_into(&mut leader);
        }
    }

    fn lock_lease(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.lease_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
