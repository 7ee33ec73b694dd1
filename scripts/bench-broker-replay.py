#!/usr/bin/env python3
"""Replay from a broker against plain consumption from the same broker.

usage: scripts/bench-broker-replay.py PRONTO_BINARY EXPORT_FILE [PARTITIONS]

Starts a Tansu broker (in-memory storage) on a free local port, publishes the export file's
events to the events topic with `pronto import --format jsonl`, then runs `pronto replay
--json` over the whole topic. `pronto replay` reports the time it took to consume the topic
(fetch every record and decode it: what any consumer of the topic does) apart from the time
it took to derive every fact from the events. Prints, as JSON: events, import time,
consumption time and rate, derivation time, replay rate (consumption and derivation), and
the replay rate as a fraction of the consumption rate (the target is at least one half).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tansu():
    found = shutil.which("tansu") or os.path.expanduser("~/.cargo/bin/tansu")
    if not os.path.exists(found):
        sys.exit("tansu is not installed: run scripts/install-tools.sh")
    return found


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    pronto, export = sys.argv[1], sys.argv[2]
    partitions = sys.argv[3] if len(sys.argv) > 3 else "1"
    work = tempfile.mkdtemp(prefix="pronto-bench-")
    events = os.path.join(work, "events.jsonl")
    n = 0
    with open(export) as src, open(events, "w") as dst:
        for line in src:
            v = json.loads(line)
            if "event" in v:
                dst.write(json.dumps(v["event"]) + "\n")
                n += 1
    addr = f"127.0.0.1:{free_port()}"
    broker = subprocess.Popen(
        [tansu(), "broker", "--listener-url", f"tcp://{addr}",
         "--advertised-listener-url", f"tcp://{addr}", "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(addr.split(":"), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("the broker did not start")
                time.sleep(0.1)
        t = time.perf_counter()
        subprocess.run([pronto, "import", "--brokers", addr, "--partitions", partitions,
                        "--format", "jsonl", "--file", events],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import_s = time.perf_counter() - t
        out = subprocess.run([pronto, "replay", "--brokers", addr, "--json"], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out)
    finally:
        broker.terminate()
        broker.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    read_s, derive_s = r["read_seconds"], r["derive_seconds"]
    consume_rate = r["events"] / read_s
    replay_rate = r["events"] / (read_s + derive_s)
    print(json.dumps({
        "events": r["events"],
        "partitions": int(partitions),
        "import_seconds": round(import_s, 2),
        "consume_seconds": round(read_s, 2),
        "consume_events_per_second": round(consume_rate),
        "derive_seconds": round(derive_s, 2),
        "replay_events_per_second": round(replay_rate),
        "replay_over_consumption": round(replay_rate / consume_rate, 3),
        "digest": r["digest"],
        "events_in_file": n,
    }, indent=2))


if __name__ == "__main__":
    main()
