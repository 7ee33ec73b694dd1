#!/usr/bin/env python3
"""Offline replay against a SQL engine: `pronto replay --input FILE` (every derived fact of the
file's events: SLA verdicts, sentiment tags, escalations, the report and a digest) beside DuckDB
computing first-reply latencies from the same JSON Lines file, timed in the same run.

usage: scripts/bench-offline.py PRONTO_BINARY EXPORT_FILE

DuckDB's query: per conversation, from the first customer message to the first public human
reply after it, in calendar time. Pronto's figure also nets out pauses (pending on the
customer, on hold) and carries waits across merges, so the two counts agree and the
percentiles may differ where a conversation was paused; both are printed.
"""
import json
import subprocess
import sys
import time

import duckdb

SQL = """
WITH ev AS (
  SELECT event->>'tenant' AS tenant,
         event->>'conversation_id' AS conv,
         CAST(event->>'occurred_at' AS TIMESTAMPTZ) AS ts,
         (event->'customer_message') IS NOT NULL AS is_customer,
         ((event->'reply_sent') IS NOT NULL
          AND coalesce(event->'reply_sent'->>'author_kind', 'human') = 'human'
          AND coalesce(event->'reply_sent'->>'visibility', 'public') = 'public') AS is_reply
  FROM read_json(?, format = 'newline_delimited', columns = {'event': 'JSON'})
  WHERE event IS NOT NULL
),
first_msg AS (
  SELECT tenant, conv, min(ts) AS asked FROM ev WHERE is_customer GROUP BY ALL
),
first_reply AS (
  SELECT f.tenant, f.conv, f.asked, min(e.ts) AS answered
  FROM first_msg f JOIN ev e ON e.tenant = f.tenant AND e.conv = f.conv
  WHERE e.is_reply AND e.ts >= f.asked
  GROUP BY ALL
),
lat AS (
  SELECT epoch_ms(answered) - epoch_ms(asked) AS ms FROM first_reply
)
SELECT count(*) AS count,
       quantile_disc(ms, 0.5) AS p50_ms,
       quantile_disc(ms, 0.9) AS p90_ms,
       quantile_disc(ms, 0.99) AS p99_ms,
       CAST(avg(ms) AS BIGINT) AS mean_ms
FROM lat
"""


def main(pronto, path):
    t = time.perf_counter()
    out = subprocess.run([pronto, "replay", "--input", path, "--json"],
                         check=True, capture_output=True, text=True).stdout
    pronto_s = time.perf_counter() - t
    replay = json.loads(out)
    mine = replay["report"]["total"]["first_reply_calendar"]

    t = time.perf_counter()
    con = duckdb.connect()
    row = con.execute(SQL, [path]).fetchone()
    duck_s = time.perf_counter() - t
    duck = dict(zip(["count", "p50_ms", "p90_ms", "p99_ms", "mean_ms"], row))

    print(json.dumps({
        "events": replay["events"],
        "pronto_replay_seconds": round(pronto_s, 2),
        "duckdb_seconds": round(duck_s, 2),
        "ratio_pronto_over_duckdb": round(pronto_s / duck_s, 2),
        "pronto_first_reply": mine,
        "duckdb_first_reply": duck,
        "pronto_digest": replay["digest"],
    }, indent=2))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
