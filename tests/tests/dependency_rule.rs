//! The dependency rule, read from `cargo tree`: the pure cores know nothing of Kafka, gRPC,
//! HTTP or an async runtime, and nor do the contracts, the replay and the import built on
//! them. Services depend on cores, never the other way round.

use std::collections::BTreeSet;
use std::process::Command;

/// Crates no core, contract or replay crate may reach, directly or through another crate.
const EDGE_CRATES: &[&str] = &[
    "tokio",
    "rdkafka",
    "tonic",
    "axum",
    "hyper",
    "reqwest",
    "pronto-kafka",
    "pronto-runtime",
    "pronto-grpc",
    "pronto-ingest-service",
    "pronto-sentiment-service",
    "pronto-sla-service",
    "pronto-escalation-service",
    "pronto-reporting-service",
    "pronto-cli",
];

/// The domain's cores: besides the edge crates, no wire format either.
const CORES: &[&str] = &[
    "pronto-domain",
    "pronto-config",
    "pronto-sla",
    "pronto-sentiment",
    "pronto-escalation",
    "pronto-reporting",
    "pronto-sim",
];

/// Built on the cores: the topic contracts, the replay and the history import.
const ON_CORES: &[&str] = &["pronto-proto", "pronto-replay", "pronto-import"];

/// Every crate `package` depends on when built, directly or not (normal dependencies only:
/// tests and build scripts may use anything).
fn dependencies(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--quiet", "--manifest-path", manifest])
        .args(["-p", package, "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("cargo tree writes UTF-8")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_string)
        .collect()
}

fn reached<'a>(deps: &BTreeSet<String>, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| deps.contains(*n))
        .collect()
}

#[test]
fn cores_depend_on_no_edge_and_no_wire_format() {
    for core in CORES {
        let deps = dependencies(core);
        assert_eq!(reached(&deps, EDGE_CRATES), Vec::<&str>::new(), "{core}");
        assert_eq!(
            reached(
                &deps,
                &["prost", "pronto-proto", "pronto-replay", "pronto-import"]
            ),
            Vec::<&str>::new(),
            "{core}"
        );
    }
}

#[test]
fn contracts_replay_and_import_depend_on_cores_only() {
    for package in ON_CORES {
        let deps = dependencies(package);
        assert_eq!(reached(&deps, EDGE_CRATES), Vec::<&str>::new(), "{package}");
    }
    // The rule is checked on real trees: the replay does reach its cores and contracts.
    let replay = dependencies("pronto-replay");
    for needed in ["pronto-sla", "pronto-sentiment", "pronto-proto", "prost"] {
        assert!(replay.contains(needed), "pronto-replay without {needed}");
    }
    // And an edge crate is seen where it is: the services do reach Kafka.
    assert!(dependencies("pronto-sla-service").contains("rdkafka"));
}
