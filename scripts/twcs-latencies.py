#!/usr/bin/env python3
"""Reply latencies computed directly from a file in the Customer Support on Twitter layout,
to check `pronto import` + `pronto replay` against: per thread (rebuilt from the reply ids),
in time order, the first customer tweet not yet answered waits until the brand's next tweet.

usage: scripts/twcs-latencies.py FILE.csv   -> JSON with first-reply and reply latencies
(count, nearest-rank p50/p90/p99 and mean, in milliseconds).
"""
import csv
import json
import sys
from datetime import datetime


def tweet_id(s):
    s = s.strip()
    return s[:-2] if s.endswith(".0") else s


def stats(values):
    v = sorted(values)
    if not v:
        return {"count": 0, "p50_ms": 0, "p90_ms": 0, "p99_ms": 0, "mean_ms": 0}
    rank = lambda p: v[max(-(-p * len(v) // 100), 1) - 1]
    return {"count": len(v), "p50_ms": rank(50), "p90_ms": rank(90), "p99_ms": rank(99),
            "mean_ms": int(sum(v) / len(v))}


def main(path):
    tweets = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                at = datetime.strptime(row["created_at"].strip(), "%a %b %d %H:%M:%S %z %Y")
            except ValueError:
                continue
            inbound = row["inbound"].strip()
            if inbound not in ("True", "False") or not row["tweet_id"].strip():
                continue
            tid = tweet_id(row["tweet_id"])
            if tid in tweets:
                continue
            parent = tweet_id(row["in_response_to_tweet_id"] or "")
            tweets[tid] = (int(at.timestamp() * 1000), inbound == "True", parent or None)

    def root(tid):
        seen = 0
        while tweets[tid][2] in tweets and seen <= len(tweets):
            tid = tweets[tid][2]
            seen += 1
        return tid

    threads = {}
    for tid in tweets:
        threads.setdefault(root(tid), []).append((tweets[tid][0], tid, tweets[tid][1]))
    first, every = [], []
    for members in threads.values():
        waiting, replied = None, False
        for at, _, inbound in sorted(members):
            if inbound:
                waiting = at if waiting is None else waiting
            else:
                if waiting is not None:
                    if not replied:
                        first.append(at - waiting)
                    every.append(at - waiting)
                    waiting = None
                replied = True
    print(json.dumps({"first_reply_calendar": stats(first), "reply_calendar": stats(every)}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: twcs-latencies.py FILE.csv")
    main(sys.argv[1])
