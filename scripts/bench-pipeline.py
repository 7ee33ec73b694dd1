#!/usr/bin/env python3
"""Live throughput: how fast the running pipeline drains a backlog, against the raw broker rate.

usage: scripts/bench-pipeline.py [--events N[,N...]] [--partitions P]
                                 [--mode up|processes|both|sla-backlog]
                                 [--pronto BINARY] [--broker-rate BINARY]

For each N (default 100000): generates the seeded sample with about N events (`pronto simulate
--out`), works out offline what the report must show once every event is processed (`pronto
replay --input`), and then, on a fresh Tansu broker (in-memory storage) for each mode:

1. publishes the events to the events topic (`pronto import`, not timed);
2. measures the raw broker rate for the same records: copies them into a fresh topic, produce
   all, then consumes them all, with the services' client settings (the `broker_rate` example
   of pronto-kafka);
3. starts the services (`pronto up`, or the five services as separate processes) and times
   from their start until the report has settled: every event folded, every customer message
   and human reply tagged, and every SLA verdict in (as many met and breached as the offline
   replay gives, or more: clocks still open at the end of the sample breach once the wall
   clock passes their deadlines).

Mode sla-backlog measures the restart path instead: the services but the SLA service run as
separate processes until every message is tagged (the SLA service was down while the N events
arrived); then the SLA service starts, and the time is from its start until every verdict is in.

Prints one JSON line per run: events, the end-to-end time and rate, the raw broker rates and the
ratio of the end-to-end rate to the raw rate. Build first:

    cargo build --release --bin pronto
    cargo build --release -p pronto-kafka --example broker_rate
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# Events per conversation in the seeded sample (87,167 events for 20,000 conversations).
EVENTS_PER_CONVERSATION = 87167 / 20000


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tansu():
    found = shutil.which("tansu") or os.path.expanduser("~/.cargo/bin/tansu")
    if not os.path.exists(found):
        sys.exit("tansu is not installed: run scripts/install-tools.sh")
    return found


class Broker:
    def __init__(self, work):
        (port,) = free_ports(1)
        self.addr = f"127.0.0.1:{port}"
        self.log = open(os.path.join(work, f"tansu-{port}.log"), "w")
        self.proc = subprocess.Popen(
            [tansu(), "broker", "--listener-url", f"tcp://{self.addr}",
             "--advertised-listener-url", f"tcp://{self.addr}",
             "--storage-engine", "memory://tansu/"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline:
                    sys.exit("the broker did not start")
                time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def settled(total, want):
    """Whether the live report shows everything the offline replay says it must."""
    tagged = sum(total.get(k, 0) for k in ("sentiment_positive", "sentiment_neutral",
                                           "sentiment_negative"))
    verdicts = total.get("sla_met", 0) + total.get("sla_breached", 0)
    return (total.get("customer_messages", 0) == want["customer_messages"]
            and tagged == want["customer_messages"]
            and total.get("human_replies", 0) == want["human_replies"]
            and total.get("tagged_replies", 0) == want["human_replies"]
            and verdicts >= want["sla_met"] + want["sla_breached"])


def progress(total):
    tagged = sum(total.get(k, 0) for k in ("sentiment_positive", "sentiment_neutral",
                                           "sentiment_negative"))
    return (f"{total.get('customer_messages', 0)} messages, {tagged} tagged, "
            f"{total.get('sla_met', 0) + total.get('sla_breached', 0)} verdicts")


def run_services(pronto, mode, brokers, partitions, work, only=None):
    """Starts the services (those in `only` when given); returns (processes, report URL)."""
    names = ["admin", "ingest_http", "ingest_grpc", "escalation_grpc", "reporting_http",
             "reporting_grpc", "a2", "a3", "a4", "a5"]
    p = dict(zip(names, free_ports(len(names))))
    env = dict(os.environ, PRONTO_BROKERS=brokers, PRONTO_PARTITIONS=str(partitions),
               PRONTO_INSTANCE_ID="bench", RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    addrs = {
        "ingest": ["--ingest-http-addr", f"127.0.0.1:{p['ingest_http']}",
                   "--ingest-grpc-addr", f"127.0.0.1:{p['ingest_grpc']}"],
        "escalation": ["--escalation-grpc-addr", f"127.0.0.1:{p['escalation_grpc']}"],
        "reporting": ["--reporting-http-addr", f"127.0.0.1:{p['reporting_http']}",
                      "--reporting-grpc-addr", f"127.0.0.1:{p['reporting_grpc']}"],
    }
    log = open(os.path.join(work, f"services-{mode}.log"), "a")
    if mode == "up":
        cmd = [pronto, "up", "--admin-addr", f"127.0.0.1:{p['admin']}"]
        for a in addrs.values():
            cmd += a
        procs = [subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)]
    else:
        procs = []
        admin = [p["admin"], p["a2"], p["a3"], p["a4"], p["a5"]]
        for svc, port in zip(["ingest", "sentiment", "sla", "escalation", "reporting"], admin):
            if only is not None and svc not in only:
                continue
            cmd = [pronto, svc, "--admin-addr", f"127.0.0.1:{port}", *addrs.get(svc, [])]
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs, f"http://127.0.0.1:{p['reporting_http']}/v1/report"


def stop(procs):
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until(url, done, label, limit, started):
    """Polls the report until `done(total)`; returns the seconds since `started`."""
    total = {}
    while True:
        elapsed = time.perf_counter() - started
        try:
            total = get_json(url)["total"]
        except OSError:
            total = {}
        print(f"\r{label}: {elapsed:6.1f} s  {progress(total)}   ", end="",
              file=sys.stderr, flush=True)
        if total and done(total):
            print(file=sys.stderr)
            return time.perf_counter() - started
        if elapsed > limit:
            print(file=sys.stderr)
            sys.exit(f"{label}: not settled within {limit} s: {progress(total)}")
        time.sleep(0.2)


def measure(pronto, broker_rate, mode, events_file, n, want, partitions, work, limit):
    broker = Broker(work)
    procs = []
    try:
        t = time.perf_counter()
        subprocess.run([pronto, "import", "--brokers", broker.addr, "--partitions",
                        str(partitions), "--format", "jsonl", "--file", events_file],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import_s = time.perf_counter() - t
        raw = json.loads(subprocess.run([broker_rate, broker.addr, "pronto.events.v1",
                                         str(partitions)],
                                        check=True, capture_output=True, text=True).stdout)
        if mode == "sla-backlog":
            # Everything but the SLA service drains the backlog first.
            procs, url = run_services(pronto, mode, broker.addr, partitions, work,
                                      only=["ingest", "sentiment", "escalation", "reporting"])
            no_verdicts = dict(want, sla_met=0, sla_breached=0)
            wait_until(url, lambda t: settled(t, no_verdicts), "without the SLA service",
                       limit, time.perf_counter())
        started = time.perf_counter()
        more, report = run_services(pronto, mode, broker.addr, partitions, work,
                                    only=["sla"] if mode == "sla-backlog" else None)
        procs += more
        if mode != "sla-backlog":
            url = report
        took = wait_until(url, lambda t: settled(t, want), mode, limit, started)
    finally:
        stop(procs)
        broker.stop()
    rate = n / took
    return {
        "mode": mode,
        "events": n,
        "partitions": partitions,
        "import_s": round(import_s, 2),
        "settled_s": round(took, 2),
        "events_per_s": round(rate),
        "raw_produce_per_s": round(raw["produce_per_s"]),
        "raw_consume_per_s": round(raw["consume_per_s"]),
        "raw_per_s": round(raw["raw_per_s"]),
        "ratio_to_raw": round(rate / raw["raw_per_s"], 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", default="100000",
                    help="events per run, comma-separated (default 100000)")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--mode", choices=["up", "processes", "both", "sla-backlog"],
                    default="both")
    ap.add_argument("--pronto", default="target/release/pronto")
    ap.add_argument("--broker-rate", default="target/release/examples/broker_rate")
    ap.add_argument("--limit", type=float, default=1800, help="seconds before giving up")
    a = ap.parse_args()
    for path in (a.pronto, a.broker_rate):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build it first (see --help)")
    modes = ["up", "processes"] if a.mode == "both" else [a.mode]
    for target in [int(x) for x in a.events.split(",")]:
        work = tempfile.mkdtemp(prefix="pronto-bench-pipeline-")
        sample = os.path.join(work, "sample.jsonl")
        conversations = max(1, round(target / EVENTS_PER_CONVERSATION))
        subprocess.run([a.pronto, "simulate", "--conversations", str(conversations),
                        "--out", sample], check=True, stderr=subprocess.DEVNULL)
        events_file = os.path.join(work, "events.jsonl")
        n = 0
        with open(sample) as src, open(events_file, "w") as dst:
            for line in src:
                v = json.loads(line)
                if "event" in v:
                    dst.write(json.dumps(v["event"]) + "\n")
                    n += 1
        replay = json.loads(subprocess.run([a.pronto, "replay", "--input", sample, "--json"],
                                           check=True, stdout=subprocess.PIPE,
                                           stderr=subprocess.DEVNULL, text=True).stdout)
        want = replay["report"]["total"]
        for mode in modes:
            print(json.dumps(measure(a.pronto, a.broker_rate, mode, events_file, n, want,
                                     a.partitions, work, a.limit)), flush=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
