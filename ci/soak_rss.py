"""The soak test's engine (ci/soak.sh is the entry point): runs `versus run` on one
architecture after another with a steady scenario, samples the resident memory (RSS)
of the harness and of every target node it started from /proc every few seconds, and
reports how much each role grew after a warm-up.

A role's memory is the sum over its processes (one server; the seed; all the users'
peers). The measured span is the time every target node is up (the steady load; not
the start-up before it, nor the report writing after it). After the warm-up, the median
of the first window is compared with the median of the last window; a role that grew by
more than the threshold fails the soak (exit 1). Standard library only, Linux only.
"""

import argparse
import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSUS = os.path.join(ROOT, "target", "release", "versus")
ROLES = ("harness", "server", "seed", "peer")


def seconds(text):
    """'10m', '90s', '1.5h', '250ms' or a bare number of seconds -> seconds (float)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|min|h)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 10m, 90s, 1h)")
    scale = {"ms": 0.001, None: 1, "s": 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]
    return float(m.group(1)) * scale


def percent(text):
    """'5%' or '5' -> 5.0."""
    try:
        return float(text.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r} (use 5%)") from None


def rss_bytes(pid):
    """The resident set size of `pid` in bytes, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def children(pid):
    """{child pid: argv} of the processes whose parent is `pid`."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            # The command name (field 2) may hold spaces: the parent pid follows its ')'.
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid != pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue
        found[int(entry)] = argv
    return found


def role_of(argv):
    """server, seed or peer from a target node's arguments (`versus server …`,
    `versus peer …`; the seed is the peer started without --bootstrap)."""
    if "server" in argv[1:2]:
        return "server"
    if "peer" in argv[1:2]:
        return "peer" if "--bootstrap" in argv else "seed"
    return None


class Run:
    """One `versus run` on one architecture, sampled until it exits."""

    def __init__(self, args, arch):
        self.args, self.arch = args, arch
        self.out = os.path.join(args.out, arch)
        os.makedirs(self.out, exist_ok=True)
        self.samples = []  # (t, {role: bytes}, {role: process count})
        self.nodes = {}  # pid -> argv of every target node seen
        self.proc = None

    def start(self):
        cmd = [self.args.versus, "run", self.args.scenario, "--arch", self.arch,
               "--duration", self.args.duration_text, "--out", self.out, "--progress", "none"]
        print(f"[{self.arch}] {' '.join(cmd)}", flush=True)
        self.log = open(os.path.join(self.out, "versus.log"), "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.started = time.monotonic()

    def sample_until_exit(self):
        next_report = self.started + 60
        while self.proc.poll() is None:
            t = time.monotonic() - self.started
            mem, count = {r: 0 for r in ROLES}, {r: 0 for r in ROLES}
            harness = rss_bytes(self.proc.pid)
            if harness is not None:
                mem["harness"], count["harness"] = harness, 1
            for pid, argv in children(self.proc.pid).items():
                role, rss = role_of(argv), rss_bytes(pid)
                if role and rss is not None:
                    self.nodes[pid] = argv
                    mem[role] += rss
                    count[role] += 1
            self.samples.append((t, mem, count))
            if time.monotonic() >= next_report:
                live = ", ".join(f"{r} {mem[r] / 2**20:.1f} MiB" for r in ROLES if count[r])
                print(f"[{self.arch}] {t:5.0f}s  {live}", flush=True)
                next_report += 60
            time.sleep(self.args.interval)
        self.log.close()
        return self.proc.returncode

    def stop(self):
        """Stops the harness (SIGTERM, then SIGKILL) and any node it left behind."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        for pid, argv in self.nodes.items():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    still = f.read().split(b"\0")[0].decode(errors="replace") == argv[0]
                if still:
                    os.kill(pid, signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError):
                pass

    def write_csv(self):
        with open(os.path.join(self.out, "rss.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t_s"] + [f"{r}_rss_bytes" for r in ROLES] + [f"{r}_procs" for r in ROLES])
            for t, mem, count in self.samples:
                w.writerow([f"{t:.1f}"] + [mem[r] for r in ROLES] + [count[r] for r in ROLES])

    def growth(self):
        """(window seconds, [(role, procs, first median, last median, growth %)]) over
        the steady span."""
        nodes = lambda c: sum(c[r] for r in ROLES if r != "harness")
        full = max((nodes(c) for _, _, c in self.samples), default=0)
        steady = [s for s in self.samples if full and nodes(s[2]) == full]
        if not steady:
            return 0.0, []
        begin = steady[0][0] + self.args.warmup
        end = steady[-1][0]
        window = min(self.args.window, (end - begin) / 3)
        if window < 2 * self.args.interval:
            print(f"[{self.arch}] too little steady time after the warm-up ({end - begin:.0f}s); "
                  "raise SOAK_DURATION or lower SOAK_WARMUP", file=sys.stderr)
            sys.exit(2)
        first = [s for s in steady if begin <= s[0] < begin + window]
        last = [s for s in steady if end - window < s[0] <= end]
        rows = []
        for role in ROLES:
            if not steady[-1][2][role]:
                continue
            a = statistics.median(m[role] for _, m, _ in first)
            b = statistics.median(m[role] for _, m, _ in last)
            rows.append((role, steady[-1][2][role], a, b, 100.0 * (b - a) / a if a else 0.0))
        return window, rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=seconds, default=seconds("10m"))
    p.add_argument("--warmup", type=seconds, default=seconds("1m"))
    p.add_argument("--window", type=seconds, default=seconds("1m"),
                   help="compare the median of the first and the last window after warm-up")
    p.add_argument("--interval", type=seconds, default=seconds("5s"))
    p.add_argument("--threshold", type=percent, default=5.0, help="max growth, percent")
    p.add_argument("--arch", action="append", choices=["cs", "p2p"])
    p.add_argument("--scenario", default=os.path.join(ROOT, "scenarios", "soak.toml"))
    p.add_argument("--out", default=os.path.join(ROOT, "versus-report", "soak"))
    p.add_argument("--versus", default=VERSUS)
    args = p.parse_args()
    args.duration_text = f"{args.duration:g}s"
    archs = args.arch or ["cs", "p2p"]

    current = []
    def interrupted(signum, _frame):
        for run in current:
            run.stop()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    results, failed, windows = [], [], []
    for arch in archs:
        run = Run(args, arch)
        current[:] = [run]
        try:
            run.start()
            code = run.sample_until_exit()
        finally:
            run.stop()
        run.write_csv()
        if code not in (0, 1):
            print(f"[{arch}] versus run exited {code}; see {run.out}/versus.log", file=sys.stderr)
            sys.exit(3)
        if code == 1:
            failed.append(f"{arch}: a scenario threshold failed (see {run.out}/report.md)")
        window, rows = run.growth()
        windows.append(f"{arch} {window:.0f}s")
        for role, procs, a, b, g in rows:
            results.append((arch, role, procs, a, b, g))
            if g > args.threshold:
                failed.append(f"{arch} {role}: RSS grew {g:+.1f}% (> {args.threshold:g}%)")

    mib = lambda b: f"{b / 2**20:8.1f} MiB"
    print(f"\nRSS after a {args.warmup:g}s warm-up: median of the first vs the last window "
          f"({', '.join(windows)}), summed over a role's processes; {args.duration:g}s of load "
          "per architecture")
    print(f"{'arch':<5} {'role':<8} {'procs':>5} {'first':>12} {'last':>12} {'growth':>8}")
    for arch, role, procs, a, b, g in results:
        print(f"{arch:<5} {role:<8} {procs:>5} {mib(a):>12} {mib(b):>12} {g:>+7.1f}%")
    print(f"samples: {args.out}/<arch>/rss.csv")
    if failed:
        print("\nsoak FAILED:\n  " + "\n  ".join(failed))
        sys.exit(1)
    print(f"\nsoak passed: no role grew more than {args.threshold:g}%")


if __name__ == "__main__":
    main()
