#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit and property tests, the in-process
# Kafka tests, and the end-to-end tests against a separate Tansu broker and five service
# processes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-tools.sh
export PATH="$HOME/.cargo/bin:$PATH"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --bins --quiet
cargo test --workspace --no-fail-fast
