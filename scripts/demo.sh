#!/usr/bin/env bash
# The main job: starts a local Tansu broker, all five Pronto services in one process,
# publishes a seeded sample of conversations over HTTP and gRPC, and prints the report.
#
# Broker data persists in ./data/tansu.db (SQLite): run it again and the same events are
# published again with the same ids, so the report does not change. Delete ./data to start
# from empty.
set -euo pipefail
cd "$(dirname "$0")/.."

CONVERSATIONS="${PRONTO_DEMO_CONVERSATIONS:-300}"
PORT="${PRONTO_DEMO_BROKER_PORT:-9092}"
export PRONTO_BROKERS="127.0.0.1:$PORT"

scripts/install-tools.sh
export PATH="$HOME/.cargo/bin:$PATH"
echo "== building pronto" >&2
cargo build --quiet --bin pronto
PRONTO=target/debug/pronto

mkdir -p data
pids=()
cleanup() {
  # Services first, so they can commit while the broker is still there; then the broker.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT

echo "== starting Tansu on $PRONTO_BROKERS (data in data/tansu.db, log in data/tansu.log)" >&2
tansu broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine "sqlite://data/tansu.db" >data/tansu.log 2>&1 &
pids+=($!)

echo "== starting the five services (pronto up; log in data/pronto.log)" >&2
RUST_LOG="${RUST_LOG:-info,rdkafka=warn}" $PRONTO up >data/pronto.log 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  if curl -fs http://127.0.0.1:9100/readyz >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fs http://127.0.0.1:9100/readyz >/dev/null || { echo "services did not become ready; see data/pronto.log" >&2; exit 1; }

echo "== publishing $CONVERSATIONS sample conversations" >&2
$PRONTO simulate --conversations "$CONVERSATIONS"

echo "== waiting for the pipeline to settle (unanswered messages breach once the SLA service has been idle a few seconds)" >&2
$PRONTO report --wait-settled 120s >/dev/null

echo
echo "Reply latency and SLA by channel"
$PRONTO report --group-by channel
echo
echo "By queue"
$PRONTO report --group-by queue
echo
echo "Legend: msgs = customer messages; resp% = share answered; sign% = human replies signed by the agent;"
echo "1st = first reply time; p50/p90/p99 ="
echo "reply time percentiles (calendar); biz = business time; SLA% = met / (met + breached);"
echo "+/=/- = positive/neutral/negative messages; esc = escalations raised."
