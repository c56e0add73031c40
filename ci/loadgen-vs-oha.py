#!/usr/bin/env python3
"""Versus as a load generator vs oha, where wrk cannot go: HTTPS and HTTP/2.

For each mode, `versus run --url` and `oha` against the same nginx file, interleaved
(A B, B A, ...), both pinned to the same core (nginx on another). Prints each round, the
medians and the median per-round ratios versus/oha of requests per second and of
requests per CPU-second of the load generator (the fair "per core" figure when nginx, not
the generator, is the bottleneck). Modes:

  tls    HTTP/1.1 over TLS: --connections users, each its own connection
         (oha -c C --insecure)
  h2     HTTP/2 over TLS (ALPN h2): --connections connections with --streams streams each
         (versus --http2 --streams S --users C*S; oha --http2 -c C -p S)
  h2c    HTTP/2 over plain TCP with prior knowledge, the same shape (oha's --http2 on
         http://)
  http1  plain HTTP/1.1, for reference (the same as ci/loadgen-vs-wrk.py with oha)

Usage: ci/loadgen-vs-oha.py [--rounds 5] [--seconds 5] [--connections 32] [--streams 8]
                            [--h2-connections 4] [--modes tls,h2,h2c]
Installs nginx with apt-get when missing (needs root), oha from crates.io into
target/tools when missing (`cargo install oha --locked`), builds versus --release.
"""

import argparse
import os
import shutil
import tempfile

from perfkit import (GEN_CORE, SERVER_CORE, ensure_oha, ensure_tools, interleaved, print_ratios, run_oha,
                     run_versus, start_nginx, stop)


def contenders(oha, url, args, mode, work):
    """The two tools' runs for `mode` against `url`, as perfkit.interleaved takes them."""
    seconds = args.seconds
    if mode in ("h2", "h2c"):
        c, s = args.h2_connections, args.streams
        versus_flags, users = ["--http2", "--streams", str(s)], c * s
        oha_flags, oha_c = ["--http2", "-p", str(s)], c
    else:
        versus_flags, users, oha_flags, oha_c = [], args.connections, [], args.connections
    if url.startswith("https://"):
        versus_flags, oha_flags = versus_flags + ["--insecure"], oha_flags + ["--insecure"]
    wanted = "HTTP/2" if mode in ("h2", "h2c") else "HTTP/1.1"

    def versus():
        rps, count, http = run_versus(url, seconds, users, os.path.join(work, f"out-{mode}"), versus_flags)
        if http.get("protocol") != wanted:
            raise SystemExit(f"{mode}: versus spoke {http.get('protocol')}, not {wanted}: {http}")
        return rps, count

    def oha_run():
        return run_oha(oha, url, seconds, oha_c, oha_flags)

    return {"oha": oha_run, "versus": versus}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32, help="HTTP/1.1 connections (users)")
    ap.add_argument("--h2-connections", type=int, default=4, help="HTTP/2 connections")
    ap.add_argument("--streams", type=int, default=8, help="HTTP/2 streams per connection")
    ap.add_argument("--modes", default="tls,h2,h2c", help="comma-separated: tls, h2, h2c, http1")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - {"tls", "h2", "h2c", "http1"}
    if unknown:
        raise SystemExit(f"--modes: unknown {', '.join(sorted(unknown))}; use tls, h2, h2c, http1")
    ensure_tools(packages=(("nginx", "/usr/sbin/nginx"),))
    oha = ensure_oha()
    work = tempfile.mkdtemp(prefix="versus-oha-")
    body = os.urandom(1024)
    try:
        print(f"nginx on core {SERVER_CORE}, load generators on core {GEN_CORE}, {args.seconds}s per run, "
              f"{args.rounds} interleaved rounds; HTTP/1.1: {args.connections} connections; HTTP/2: "
              f"{args.h2_connections} connections x {args.streams} streams", flush=True)
        for mode in modes:
            site = os.path.join(work, mode)
            os.makedirs(site)
            nginx, url = start_nginx(site, body, tls=mode in ("tls", "h2"), http2=mode in ("h2", "h2c"))
            try:
                print(f"-- {mode}: {url}", flush=True)
                rows = interleaved(args.rounds, contenders(oha, url, args, mode, work))
                print_ratios(mode, rows, "versus", "oha")
            finally:
                stop(nginx)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
