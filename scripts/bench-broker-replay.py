#!/usr/bin/env python3
"""Replay from a broker against plain consumption from the same broker.

usage: scripts/bench-broker-replay.py PRONTO_BINARY EXPORT_FILE [PARTITIONS]

Starts a Tansu broker (in-memory storage) on a free local port, publishes the export file's
events to the events topic with `pronto import --format jsonl`, then reads the whole topic
twice: `pronto replay --read-only` (fetch every record and decode it, derive nothing: plain
consumption, what any consumer of the topic does) and `pronto replay` (every derived fact, the
report and the digest). Prints, as JSON: events, import time, the consumption time and rate,
the replay time and rate, and the replay rate as a fraction of the consumption rate (the
target is at least one half).
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
        def replay(*flags):
            out = subprocess.run([pronto, "replay", "--brokers", addr, "--json", *flags],
                                 check=True, capture_output=True, text=True).stdout
            return json.loads(out)
        consumed = replay("--read-only")
        r = replay()
    finally:
        broker.terminate()
        broker.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    read_s, replay_s = consumed["read_seconds"], r["total_seconds"]
    consume_rate = consumed["events"] / read_s
    replay_rate = r["events"] / replay_s
    print(json.dumps({
        "events": r["events"],
        "partitions": int(partitions),
        "import_seconds": round(import_s, 2),
        "consume_seconds": round(read_s, 2),
        "consume_events_per_second": round(consume_rate),
        "replay_seconds": round(replay_s, 2),
        "replay_reading_done_seconds": round(r["read_seconds"], 2),
        "replay_events_per_second": round(replay_rate),
        "replay_over_consumption": round(replay_rate / consume_rate, 3),
        "digest": r["digest"],
        "events_in_file": n,
    }, indent=2))


if __name__ == "__main__":
    main()
