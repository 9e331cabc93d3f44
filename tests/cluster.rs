//! Replication (SPEC 9): three `partner-ledger serve` nodes keep one book on a three-server NATS
//! JetStream cluster. First, the NATS harness itself.
#[path = "common/nats.rs"]
mod nats;

use nats::NatsCluster;

#[test]
fn a_three_node_nats_cluster_starts_elects_and_restarts_a_server() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut cluster = NatsCluster::start(dir.path());
    assert_eq!(cluster.urls().split(',').count(), 3, "{}", cluster.urls());
    cluster.kill(1);
    assert!(!cluster.is_running(1));
    // The other two keep a meta leader (a quorum of two out of three).
    cluster.assert_healthy();
    cluster.restart(1);
    assert!(cluster.is_running(1));
    cluster.assert_healthy();
}
