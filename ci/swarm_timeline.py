#!/usr/bin/env python3
"""Swarm timeline (reports/swarm-bench/block-pipes.md, section 2): a flash
crowd of `versus peer` processes on loopback (seed 4 MiB/s, peers 512 KiB/s), every node's
versus_bytes_sent_total read each interval, printed as upload utilisation over time.
usage: ci/swarm_timeline.py target/release/versus 64 [F_MiB] [interval_s]
Every process it starts is killed when it ends; bounded by 200 s of sampling."""
import json, subprocess, sys, time, threading, urllib.request, os, re
binary, n = sys.argv[1], int(sys.argv[2])
fmib = int(sys.argv[3]) if len(sys.argv) > 3 else 8
step = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
common = ["--listen", "/ip4/127.0.0.1/tcp/0", "--admin", "127.0.0.1:0", "--fetch-timeout", "280s",
          "--max-requests-per-peer", "8"]
procs = []
def start(extra):
    p = subprocess.Popen([binary, "peer"] + common + extra, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    return json.loads(p.stdout.readline())
def http(method, addr, path, body=None, timeout=300):
    req = urllib.request.Request(f"http://{addr}{path}", data=body, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()
def sent(addr):
    text = http("GET", addr, "/metrics").decode()
    m = re.search(r"^versus_bytes_sent_total (\S+)", text, re.M)
    return float(m.group(1))
try:
    seed = start(["--upload", "4MiB/s"])
    peers = [start(["--upload", "512KiB/s", "--bootstrap", seed["data"]]) for _ in range(n)]
    time.sleep(3)
    data = os.urandom(fmib << 20)
    loc = json.loads(http("POST", seed["admin"], "/objects", data))
    oid = loc.get("id") or loc
    done = {}
    t0 = time.time()
    def fetch(i, p):
        http("POST", p["admin"], f"/fetch/{oid}")
        done[i] = time.time() - t0
    ts = [threading.Thread(target=fetch, args=(i, p)) for i, p in enumerate(peers)]
    for t in ts: t.start()
    prev_s, prev_p = sent(seed["admin"]), sum(sent(p["admin"]) for p in peers)
    prev_t = time.time()
    print("t_s  seed_util  peers_util  done")
    while len(done) < n and time.time() - t0 < 200:
        time.sleep(step)
        now = time.time()
        s = sent(seed["admin"]); pp = sum(sent(p["admin"]) for p in peers)
        dt = now - prev_t
        print(f"{now - t0:5.1f}  {(s - prev_s) / dt / (4 << 20):5.2f}  {(pp - prev_p) / dt / (n * (512 << 10)):5.2f}  {len(done)}", flush=True)
        prev_s, prev_p, prev_t = s, pp, now
    bound = max(fmib / 4, n * fmib / (4 + n * 0.5))
    mk = max(done.values())
    print(f"makespan {mk:.2f} bound {bound:.2f} eff {bound / mk:.3f}; done " + " ".join(f"{v:.1f}" for v in sorted(done.values())))
finally:
    for p in procs: p.kill()
