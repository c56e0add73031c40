#!/usr/bin/env python3
"""A flash crowd by hand, for looking inside the swarm: starts a seed and N peers of one
`versus` binary on loopback, publishes one object at the seed, has every peer fetch it at
once, then prints the makespan and the sums of every peer's fetch statistics (blocks by
source, duplicates, busy answers, cancels) and of their /metrics request counters, the
failed fetches by status and reason, and the nodes that sent the most Kademlia bytes (the
DHT nodes closest to the object's key answer every lookup), with the share of their
upload cap over the fetches that those bytes took.

    ci/swarm_probe.py [--bin target/release/versus] [--n 16] [--size 8MiB-in-bytes]
                      [--seed-upload 4MiB/s] [--peer-upload 512KiB/s]

Every process it starts is killed on exit (bounded: 300 s for the whole probe). With
PROBE_LOG_DIR set, each process's stderr goes to a file there (set VERSUS_LOG to choose
what the peers log, e.g. `warn,versus_targets::peer::fetch=debug`).
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

LIMIT_S = 300


def start(binary, upload, bootstrap=None):
    args = [binary, "peer", "--upload", upload]
    if bootstrap:
        args += ["--bootstrap", bootstrap]
    log = os.environ.get("PROBE_LOG_DIR")
    stderr = open(os.path.join(log, f"{len(os.listdir(log))}.log"), "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr,
                            text=True, start_new_session=True)
    line = proc.stdout.readline()
    ready = json.loads(line)
    return proc, ready


def post(addr, path, body=b"", timeout=LIMIT_S):
    req = urllib.request.Request(f"http://{addr}{path}", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def metrics(addr):
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as resp:
        return resp.read().decode()


COUNTERS = ("versus_dht_queries_total", "versus_dht_requests_served_total",
            "versus_bytes_sent_total", "versus_object_bytes_served_total",
            "versus_requests_cancelled_total", "versus_connections_total",
            "versus_fellows_named_total", "versus_fellows_added_total")
REQUESTS = re.compile(r'versus_requests_total\{route="([^"]+)",status="(\d+)"\} (\d+)')


KADEMLIA = re.compile(r'^versus_stream_bytes_sent_total\{protocol="kademlia"\} (\d+)', re.M)
SERVED = re.compile(r"^versus_dht_requests_served_total (\d+)", re.M)


def fetch(peer, oid):
    """The fetch's statistics, or {"error": status, "reason": …, "done": blocks held} when
    it failed."""
    try:
        return post(peer["admin"], f"/fetch/{oid}")
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        try:
            done = json.loads(body).get("chunks_done") or 0
        except ValueError:
            done = 0
        reason = re.sub(r"[0-9a-f]{64}|12D3Koo\w+|\d+", "#", body)
        return {"error": e.code, "reason": reason[:140], "done": done}


def counters_of(nodes):
    """From one read of each node's /metrics: the sums, over `nodes`, of the counters above
    and of requests served by route and status; and each node's (Kademlia stream bytes
    sent, DHT requests served), in order."""
    sums, kademlia = {}, []
    for node in nodes:
        text = metrics(node["admin"])
        for m in REQUESTS.finditer(text):
            key = f"requests {m.group(1)} {m.group(2)}"
            sums[key] = sums.get(key, 0) + int(m.group(3))
        for name in COUNTERS:
            m = re.search(rf"^{name} (\d+)", text, re.M)
            if m:
                sums[name] = sums.get(name, 0) + int(m.group(1))
        sent, served = KADEMLIA.search(text), SERVED.search(text)
        kademlia.append((int(sent.group(1)) if sent else 0, int(served.group(1)) if served else 0))
    return sums, kademlia


def parse_rate(text):
    """Bytes per second of a rate such as 512KiB/s."""
    number, unit = re.fullmatch(r"(\d+)\s*([KMG]i?B|B)/s", text).groups()
    scale = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1000, "MB": 10**6, "GB": 10**9}
    return int(number) * scale[unit]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/versus")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--size", type=int, default=8 << 20)
    ap.add_argument("--seed-upload", default="4MiB/s")
    ap.add_argument("--peer-upload", default="512KiB/s")
    a = ap.parse_args()
    procs = []
    try:
        seed, ready = start(a.bin, a.seed_upload)
        procs.append(seed)
        peers = []
        for _ in range(a.n):
            p, r = start(a.bin, a.peer_upload, ready["data"])
            procs.append(p)
            peers.append(r)
        time.sleep(3)
        data = os.urandom(a.size)
        oid = post(ready["admin"], "/objects", data)["id"]
        before, kad_before = counters_of([ready] + peers)
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(a.n) as pool:
            results = list(pool.map(lambda r: fetch(r, oid), peers))
        makespan = time.time() - t0
        failed = [r for r in results if "error" in r]
        stats = [r for r in results if "error" not in r]
        print(f"{len(stats)} of {a.n} fetches completed")
        for (status, reason), count in collections.Counter(
                (r["error"], r["reason"]) for r in failed).most_common(5):
            print(f"  {count} failed {status}: {reason}")
        after, kad_after = counters_of([ready] + peers)
        kad = [(sent - sent0, served - served0)
               for (sent, served), (sent0, served0) in zip(kad_after, kad_before)]
        cap = parse_rate(a.peer_upload) * makespan
        print("most Kademlia bytes sent during the fetches (bytes, DHT requests served, "
              "share of a peer's upload cap):")
        for sent, served in sorted(kad, reverse=True)[:5]:
            print(f"  {sent} B, {served} requests, {sent / cap:.1%}")
        print(f"  median node {sorted(kad)[len(kad) // 2]}")
        counters = {k: v - before.get(k, 0) for k, v in after.items()}
        print("during the fetches, all nodes:", json.dumps(counters, sort_keys=True))
        if failed:
            held = sorted(r["done"] for r in failed)
            print(f"blocks held by the failed fetches at the end: median {held[len(held) // 2]}, "
                  f"min {held[0]}, max {held[-1]}, sum {sum(held)}")
        if not stats:
            return
        totals = {}
        for s in stats:
            for k in ("duplicate_chunks", "busy_answers", "cancelled", "rejected_chunks"):
                totals[k] = totals.get(k, 0) + s.get(k, 0)
        from_seed = sum(s["chunks_by_peer"].get(ready["peer_id"], 0) for s in stats)
        blocks = stats[0].get("blocks") or stats[0]["chunks"]
        print(f"makespan {makespan:.2f} s; durations "
              f"{sorted(s['duration_ms'] for s in stats)}")
        print(f"blocks per copy {blocks}; from the seed {from_seed} "
              f"({from_seed / blocks:.2f} copies); totals {totals}")
        delivered = a.n * a.size
        sent = counters.get("versus_bytes_sent_total", 0)
        payload = counters.get("versus_object_bytes_served_total", 0)
        print(f"wire bytes {sent / delivered - 1:+.2%} of N*F; object bytes served "
              f"{payload / delivered - 1:+.2%} of N*F")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("probe took too long"))
    signal.alarm(LIMIT_S)
    main()
