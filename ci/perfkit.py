"""Shared pieces of the ci/ performance scripts: tool installation, nginx on loopback,
wrk, process CPU accounting. Standard library only."""

import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSUS = os.path.join(ROOT, "target", "release", "versus")
GEN_CORE, SERVER_CORE = "1", "0"


def ensure_tools():
    """Installs nginx and wrk when missing (apt-get, needs root) and builds versus --release."""
    missing = [p for p, b in (("nginx", "/usr/sbin/nginx"), ("wrk", "/usr/bin/wrk")) if not os.path.exists(b)]
    if missing:
        print(f"installing {' '.join(missing)}", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "versus"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_port(port, proc, what):
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                sys.exit(f"{what} did not start on port {port}")
            time.sleep(0.05)


def start_nginx(workdir, body):
    """nginx (one worker, pinned to SERVER_CORE) serving `body` as /file; returns (proc, url)."""
    port = free_port()
    root = os.path.join(workdir, "www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "file"), "wb") as f:
        f.write(body)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1;
master_process off;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
worker_rlimit_nofile 65536;
events {{ worker_connections 30000; }}
http {{
  access_log off;
  client_body_temp_path {workdir}; proxy_temp_path {workdir}; fastcgi_temp_path {workdir};
  uwsgi_temp_path {workdir}; scgi_temp_path {workdir};
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port} backlog=16384; root {root}; }}
}}
""")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, "nginx", "-c", conf, "-p", workdir],
                            preexec_fn=raise_nofile)
    wait_port(port, proc, "nginx")
    return proc, f"http://127.0.0.1:{port}/file"


def start_versus_server(body):
    """`versus server` (pinned to SERVER_CORE) holding `body`; returns (proc, url)."""
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, VERSUS, "server"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, preexec_fn=raise_nofile)
    ready = json.loads(proc.stdout.readline())
    req = urllib.request.Request(f"http://{ready['data']}/objects", data=body, method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        object_id = json.load(resp)["id"]
    return proc, f"http://{ready['data']}/objects/{object_id}"


def cpu_of(fn):
    """Runs fn(); returns (its result, CPU seconds its child processes used)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(cmd):
    """Runs cmd to completion; exits the script with its stderr if it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=raise_nofile)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def run_wrk(url, seconds, connections):
    """wrk with one thread on GEN_CORE; returns requests per second."""
    out = run(["taskset", "-c", GEN_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url])
    errors = [l for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
    if errors:
        sys.exit(f"wrk saw errors: {errors}")
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    sys.exit(f"cannot read wrk output:\n{out}")


def stop(proc):
    proc.kill()
    proc.wait()
