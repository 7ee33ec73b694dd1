#!/usr/bin/env python3
"""Offline replay against a SQL engine: `pronto replay --input FILE` (every derived fact of the
file's events: SLA verdicts, sentiment tags, escalations, the report and a digest) beside DuckDB
computing the same reply latencies from the same JSON Lines file, timed in the same run.

usage: scripts/bench-offline.py PRONTO_BINARY EXPORT_FILE [ROUNDS]

DuckDB's query computes every reply latency as Pronto defines it: per conversation, each public
human reply ends a wait that began at the first customer message after the reply before it; the
first such wait is the first reply time, the others next reply times. Each in calendar time and
in business time under the built-in policy's calendar (Europe/Rome, Monday to Friday 09:00-13:00
and 14:00-18:00, no holidays), which is the policy `pronto simulate` exports. The script checks
that both give the same count, p50, p90, p99 and mean for first replies and for all replies, in
both kinds of time, and prints where they differ (a file exported under another calendar, or
with pauses inside waits, differs). With ROUNDS, the two run alternately that many times; the summary gives the median of
the rounds' ratios with a 95% bootstrap interval, the ratio of the two medians, and how many
rounds were over 2x.
"""
import json
import random
import statistics
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
-- A turn: the customer messages after a public human reply, up to and with the next one.
turns AS (
  SELECT tenant, conv, ts, is_customer, is_reply,
         coalesce(sum(CAST(is_reply AS INT)) OVER (
           PARTITION BY tenant, conv ORDER BY ts, is_reply
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS turn
  FROM ev WHERE is_customer OR is_reply
),
waits AS (
  SELECT tenant, conv, turn,
         min(ts) FILTER (WHERE is_customer) AS asked,
         min(ts) FILTER (WHERE is_reply) AS answered
  FROM turns GROUP BY ALL
  HAVING asked IS NOT NULL AND answered IS NOT NULL
),
days AS (
  SELECT CAST(d AS DATE) AS day
  FROM range((SELECT CAST(min(asked) AT TIME ZONE 'Europe/Rome' AS DATE) FROM waits),
             (SELECT CAST(max(answered) AT TIME ZONE 'Europe/Rome' AS DATE) + 1 FROM waits),
             INTERVAL 1 DAY) t(d)
  WHERE isodow(d) <= 5
),
slots AS (
  SELECT timezone('Europe/Rome', day + s.open) AS open_at,
         timezone('Europe/Rome', day + s.close) AS close_at
  FROM days, (VALUES (TIME '09:00', TIME '13:00'), (TIME '14:00', TIME '18:00')) s(open, close)
),
lat AS (
  SELECT turn = (min(turn) OVER (PARTITION BY tenant, conv)) AS first,
         epoch_ms(answered) - epoch_ms(asked) AS calendar,
         coalesce((SELECT sum(epoch_ms(least(close_at, answered))
                              - epoch_ms(greatest(open_at, asked)))
                   FROM slots WHERE open_at < answered AND close_at > asked), 0) AS business
  FROM waits
)
SELECT
  count(*) FILTER (WHERE first),
  quantile_disc(calendar, 0.5) FILTER (WHERE first),
  quantile_disc(calendar, 0.9) FILTER (WHERE first),
  quantile_disc(calendar, 0.99) FILTER (WHERE first),
  avg(calendar) FILTER (WHERE first),
  quantile_disc(business, 0.5) FILTER (WHERE first),
  quantile_disc(business, 0.9) FILTER (WHERE first),
  quantile_disc(business, 0.99) FILTER (WHERE first),
  avg(business) FILTER (WHERE first),
  count(*),
  quantile_disc(calendar, 0.5), quantile_disc(calendar, 0.9), quantile_disc(calendar, 0.99),
  avg(calendar),
  quantile_disc(business, 0.5), quantile_disc(business, 0.9), quantile_disc(business, 0.99),
  avg(business)
FROM lat
"""

FIGURES = ["count", "p50_ms", "p90_ms", "p99_ms", "mean_ms"]
METRICS = ["first_reply_calendar", "first_reply_business", "reply_calendar", "reply_business"]


def duck(path):
    con = duckdb.connect()
    row = con.execute(SQL, [path]).fetchone()
    first, rest = row[:9], row[9:]
    out = {}
    for name, vals in (("first_reply", first), ("reply", rest)):
        count, cal, bus = vals[0], vals[1:5], vals[5:9]
        out[f"{name}_calendar"] = dict(zip(FIGURES, [count, *cal]))
        out[f"{name}_business"] = dict(zip(FIGURES, [count, *bus]))
    return out


def median_interval(values, resamples=4000, seed=7):
    """A 95% bootstrap interval of the median of `values` (the rounds resampled with
    replacement, seeded so that the same rounds give the same interval)."""
    if len(values) < 2:
        return [values[0], values[0]] if values else []
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values)))
                     for _ in range(resamples))
    return [medians[int(resamples * 0.025)], medians[int(resamples * 0.975) - 1]]


def differences(mine, theirs):
    """Figures that differ; a mean may differ by rounding (Pronto truncates, DuckDB averages)."""
    out = []
    for m in METRICS:
        for f in FIGURES:
            a, b = mine[m][f], theirs[m][f]
            if (f == "mean_ms" and abs(a - b) >= 1) or (f != "mean_ms" and a != b):
                out.append(f"{m}.{f}: pronto {a}, duckdb {b}")
    return out


def main(pronto, path, rounds):
    runs = []
    for _ in range(rounds):
        t = time.perf_counter()
        out = subprocess.run([pronto, "replay", "--input", path, "--json"],
                             check=True, capture_output=True, text=True).stdout
        pronto_s = time.perf_counter() - t
        t = time.perf_counter()
        theirs = duck(path)
        duck_s = time.perf_counter() - t
        runs.append((pronto_s, duck_s, json.loads(out), theirs))
    replay, theirs = runs[-1][2], runs[-1][3]
    mine = {m: replay["report"]["total"][m] for m in METRICS}
    ratios = [p / d for p, d, _, _ in runs]
    pronto_median = statistics.median(p for p, _, _, _ in runs)
    duck_median = statistics.median(d for _, d, _, _ in runs)
    print(json.dumps({
        "events": replay["events"],
        "pronto_replay_seconds": [round(p, 2) for p, _, _, _ in runs],
        "duckdb_seconds": [round(d, 2) for _, d, _, _ in runs],
        "ratio_pronto_over_duckdb": [round(r, 2) for r in ratios],
        "median_ratio": round(statistics.median(ratios), 2),
        "median_ratio_95": [round(r, 2) for r in median_interval(ratios)],
        "ratio_of_medians": round(pronto_median / duck_median, 2),
        "rounds_over_2x": sum(r > 2 for r in ratios),
        "latencies_agree": not differences(mine, theirs),
        "differences": differences(mine, theirs),
        "pronto": mine,
        "duckdb": theirs,
        "pronto_digest": replay["digest"],
    }, indent=2))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 1)
