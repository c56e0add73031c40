#!/usr/bin/env python3
"""Swarm timeline (reports/swarm-bench/block-pipes.md, sections 2 and 8): a flash crowd of
`versus peer` processes on loopback (seed 4 MiB/s, peers 512 KiB/s, 12 s to settle), every
node's /metrics read each interval, printed as upload utilisation (bytes sent / (cap ×
interval)) of the seed and of the peers together, and the spread of the downloads'
progress (blocks held: least, median, most). At the end, each download's providers
(known, and used) and blocks from the seed, from its fetch statistics, and where the
bytes the swarm sent beyond N·F went during the downloads: block payload served twice,
each protocol's stream bytes beyond that payload (versus_stream_bytes_sent_total), and
Yamux/Noise framing (the rest of versus_bytes_sent_total).
usage: ci/swarm_timeline.py target/release/versus 64 [F_MiB] [interval_s]
Every process it starts is killed when it ends; bounded by 200 s of sampling."""
import json, subprocess, sys, time, threading, urllib.request, os, re
binary, n = sys.argv[1], int(sys.argv[2])
fmib = int(sys.argv[3]) if len(sys.argv) > 3 else 8
step = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
common = ["--listen", "/ip4/127.0.0.1/tcp/0", "--admin", "127.0.0.1:0", "--fetch-timeout", "280s"]
procs = []
def start(extra):
    p = subprocess.Popen([binary, "peer"] + common + extra, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    return json.loads(p.stdout.readline())
def http(method, addr, path, body=None, timeout=300):
    req = urllib.request.Request(f"http://{addr}{path}", data=body, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()
def counter(text, name):
    m = re.search(rf"^{name} (\S+)", text, re.M)
    return float(m.group(1)) if m else 0.0
def totals(nodes):
    """Every counter summed over `nodes`, from one read of each node's /metrics."""
    total = {}
    for node in nodes:
        for line in http("GET", node["admin"], "/metrics").decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                total[name] = total.get(name, 0.0) + float(value)
    return total
def sample(node):
    """(bytes sent, blocks fetched), from one read of the node's /metrics."""
    text = http("GET", node["admin"], "/metrics").decode()
    return counter(text, "versus_bytes_sent_total"), counter(text, "versus_chunks_fetched_total")
try:
    seed = start(["--upload", "4MiB/s"])
    peers = [start(["--upload", "512KiB/s", "--bootstrap", seed["data"]]) for _ in range(n)]
    time.sleep(12)
    data = os.urandom(fmib << 20)
    loc = json.loads(http("POST", seed["admin"], "/objects", data))
    oid = loc.get("id") or loc
    before = totals([seed] + peers)
    done, stats = {}, {}
    t0 = time.time()
    def fetch(i, p):
        stats[i] = json.loads(http("POST", p["admin"], f"/fetch/{oid}"))
        done[i] = time.time() - t0
    ts = [threading.Thread(target=fetch, args=(i, p)) for i, p in enumerate(peers)]
    for t in ts: t.start()
    prev_s, prev_p = sample(seed)[0], sum(sample(p)[0] for p in peers)
    prev_t = time.time()
    print("t_s  seed_util  peers_util  blocks_least  blocks_median  blocks_most  done")
    while len(done) < n and time.time() - t0 < 200:
        time.sleep(step)
        now = time.time()
        s = sample(seed)[0]
        got = [sample(p) for p in peers]
        pp = sum(g[0] for g in got)
        blocks = sorted(g[1] for g in got)
        dt = now - prev_t
        print(f"{now - t0:5.1f}  {(s - prev_s) / dt / (4 << 20):5.2f}  {(pp - prev_p) / dt / (n * (512 << 10)):5.2f}"
              f"  {blocks[0]:5.0f}  {blocks[n // 2]:5.0f}  {blocks[-1]:5.0f}  {len(done)}", flush=True)
        prev_s, prev_p, prev_t = s, pp, now
    for t in ts: t.join(timeout=1)
    bound = max(fmib / 4, n * fmib / (4 + n * 0.5))
    finish = sorted(done.values())
    print(f"makespan {finish[-1]:.1f} s (first {finish[0]:.1f}, median {finish[len(finish) // 2]:.1f}), "
          f"bound {bound:.1f} s, efficiency {bound / finish[-1]:.3f}")
    known = sorted(s["providers"] for s in stats.values())
    from_seed = sorted(s["chunks_by_peer"].get(seed["peer_id"], 0) for s in stats.values())
    print(f"providers known per download: least {known[0]}, median {known[len(known) // 2]}, most {known[-1]}; "
          f"blocks from the seed: least {from_seed[0]}, median {from_seed[len(from_seed) // 2]}, most {from_seed[-1]}")
    after = totals([seed] + peers)
    sent = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    nf = n * (fmib << 20)
    pct = lambda b: f"{100 * b / nf:.2f}%"
    streams = {k.split('"')[1]: v for k, v in sent.items() if k.startswith("versus_stream_bytes_sent_total{")}
    twice = sent.get("versus_object_bytes_served_total", 0) - nf
    framing = sent.get("versus_bytes_sent_total", 0) - sum(streams.values())
    parts = [("payload served twice", twice), ("blocks (headers, requests, holdings)", streams.get("blocks", 0) - nf - twice)]
    parts += [(k, v) for k, v in streams.items() if k != "blocks"] + [("Yamux/Noise framing", framing)]
    print(f"sent beyond N·F during the downloads: {pct(sent.get('versus_bytes_sent_total', 0) - nf)} = "
          + ", ".join(f"{name} {pct(v)}" for name, v in parts))
finally:
    for p in procs:
        p.kill()
