#!/usr/bin/env python3
"""`make bench`: hookgate side by side with what ops would build instead.

Every target of issue 10 in one run, on loopback, with rounds interleaved
(round-robin across targets, so a noisy neighbour hits every target alike):

  closed loop   wrk 1 thread x 32 keep-alive connections, 1 KiB signed POST:
                nginx plain proxy, nginx + njs HMAC check, a minimal pingora
                proxy, hookgate without checks, hookgate GitHub HMAC + memory
                replay store, the same with the Redis store
  open loop     oha at constant rates (50% of nginx's and of the minimal
                pingora proxy's maximum), latency corrected for coordinated
                omission: hookgate vs nginx + njs
  TLS           new connections per second (a full ECDSA handshake per
                request, examples/tls_connect), with and without client
                certificates; keep-alive HTTPS vs the minimal pingora proxy
  replay store  bytes per live key at 1,000,000 keys (examples/replay_rss)
  under attack  valid requests' p99 alone and under a bad-signature flood
  queue         durable delivery (issue 11): acknowledgements per second in
                queue mode (embedded store, fsync with group commit) against
                direct mode, draining a backlog of 100,000 deliveries, and
                bytes on disk per queued 1 KiB delivery

Each server gets one worker/thread (pinned to its own CPU when there are two
or more); the fixed upstream, the clients and Redis share the other CPUs.
CPU per request is utime+stime of the server's processes (/proc/PID/stat)
over the run divided by the requests answered: the steadiest figure on a
shared machine. Prints a table and writes a Markdown report.

Environment: BENCH_QUICK=1 (short smoke run), BENCH_DURATION (s per run),
BENCH_ROUNDS, BENCH_OUT (report path), BENCH_PIN=0 (no CPU pinning),
BENCH_PORT_BASE, BENCH_ATTACK_RATE (valid req/s during the flood).
Run from the repository root after `cargo build --release --bin hookgate
--example minimal_proxy --example replay_rss` (the Makefile does both).
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import platform
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
DURATION = int(os.environ.get("BENCH_DURATION", "2" if QUICK else "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2" if QUICK else "5"))
PIN = os.environ.get("BENCH_PIN", "1") == "1" and (os.cpu_count() or 1) >= 2
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "18100"))
ATTACK_RATE = int(os.environ.get("BENCH_ATTACK_RATE", "1000"))
RSS_KEYS = 200_000 if QUICK else 1_000_000
OUT = Path(os.environ.get("BENCH_OUT", ROOT / ("target/bench/RESULTS-quick.md" if QUICK else "benches/RESULTS.md")))

CONNECTIONS = 32
BODY_BYTES = 1024
TLS_CLIENTS = 8  # tls_connect threads, each one connection at a time
SECRET = "bench-secret-not-for-production"
BAD_SIGNATURE = "sha256=" + "0" * 64
CLK_TCK = os.sysconf("SC_CLK_TCK")
# A server below this share of one core was not the bottleneck: its req/s
# measures the client or the upstream, so the table flags it.
SATURATED = 0.85

HOOKGATE = ROOT / "target/release/hookgate"
MINIMAL = ROOT / "target/release/examples/minimal_proxy"
REPLAY_RSS = ROOT / "target/release/examples/replay_rss"
TLS_CONNECT = ROOT / "target/release/examples/tls_connect"
NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"


def port(n):
    return PORT_BASE + n


# Loopback ports, one per listener.
UPSTREAM, NGINX, NGINX_NJS, NGINX_TLS, NGINX_MTLS = (port(i) for i in range(5))
MINIMAL_HTTP, MINIMAL_TLS = port(5), port(6)
HG_HTTP, HG_TLS, HG_MTLS, HG_ADMIN = (port(i) for i in range(7, 11))
HG_REDIS_HTTP, HG_REDIS_ADMIN, REDIS = port(11), port(12), port(13)
HG_QUEUE_HTTP, HG_QUEUE_ADMIN, BACKLOG_UPSTREAM = port(14), port(15), port(16)

# Deliveries queued (upstream down) before the drain is measured.
BACKLOG = 10_000 if QUICK else 100_000


# ---------------------------------------------------------------- processes

def cpu_sets():
    """(server CPUs, everything-else CPUs) for taskset, or (None, None)."""
    if not PIN:
        return None, None
    last = (os.cpu_count() or 1) - 1
    return str(last), ",".join(str(c) for c in range(last)) or "0"


SERVER_CPUS, CLIENT_CPUS = cpu_sets()


def pinned(argv, cpus):
    return ["taskset", "-c", cpus, *argv] if cpus else list(argv)


def children(pid):
    """Direct children of pid (nginx workers), from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def cpu_seconds(pids):
    """utime+stime of the processes (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    return ticks / CLK_TCK


@dataclass
class Server:
    """A process under test (or a helper) and where its CPU time is read."""

    name: str
    proc: subprocess.Popen
    ports: list
    log: Path

    def pids(self):
        return [self.proc.pid, *children(self.proc.pid)]

    def cpu(self):
        return cpu_seconds(self.pids())


class Fleet:
    """Starts processes, waits for their ports, stops them (only them) at the end."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.servers = []

    def start(self, name, argv, ports, cpus, env=None):
        for p in ports:
            if port_open(p):
                sys.exit(f"port {p} is already in use (a previous run still going?); "
                         "set BENCH_PORT_BASE to use other ports")
        log = self.workdir / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                pinned(argv, cpus), stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})}, cwd=self.workdir,
            )
        server = Server(name, proc, ports, log)
        self.servers.append(server)
        for p in ports:
            wait_port(server, p)
        return server

    def stop(self):
        for s in reversed(self.servers):
            if s.proc.poll() is None:
                s.proc.terminate()
        for s in self.servers:
            try:
                s.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                s.proc.kill()


def port_open(p):
    try:
        socket.create_connection(("127.0.0.1", p), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_port(server, p, deadline_s=30.0):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            sys.exit(f"{server.name} exited at start-up:\n{server.log.read_text()[-2000:]}")
        if port_open(p):
            return
        time.sleep(0.05)
    sys.exit(f"{server.name}: port {p} not open after {deadline_s}s; see {server.log}")


# ---------------------------------------------------------------- fixtures

def signature(body):
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def write_fixtures(work):
    """Body, certificates, wrk script, njs script, server configs."""
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1, "pad": ""}).encode()
    body = body.replace(b'"pad": ""', b'"pad": "' + b"x" * (BODY_BYTES - len(body)) + b'"')
    assert len(body) == BODY_BYTES
    (work / "body.json").write_bytes(body)
    subprocess.run([HOOKGATE, "certs", "dev", "--out", work / "certs"], check=True,
                   stdout=subprocess.DEVNULL)
    (work / "github.lua").write_text(WRK_SCRIPT)
    (work / "github_hmac.js").write_text(NJS_SCRIPT.replace("@SECRET@", SECRET))
    (work / "upstream.conf").write_text(nginx_upstream_conf(work))
    (work / "nginx.conf").write_text(nginx_conf(work))
    (work / "hookgate.toml").write_text(hookgate_conf(work, "memory"))
    (work / "hookgate-redis.toml").write_text(hookgate_conf(work, "redis"))
    (work / "hookgate-queue.toml").write_text(hookgate_queue_conf(work))
    (work / "backlog-upstream.conf").write_text(nginx_upstream_conf(work, "backlog-upstream", BACKLOG_UPSTREAM))
    return body


# Every request a new X-GitHub-Delivery id (prefix unique per run, then a
# counter), so the replay store reserves and commits a fresh key each time;
# the signature is valid (or deliberately bad) for the fixed 1 KiB body.
# args: path, body file, X-Hub-Signature-256 value, delivery-id prefix.
WRK_SCRIPT = r"""
local pre, post, counter, threads = nil, nil, 0, 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  local f = assert(io.open(args[2], "rb")); local body = f:read("*a"); f:close()
  pre = "POST " .. args[1] .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n" ..
        "User-Agent: GitHub-Hookshot/bench\r\nContent-Type: application/json\r\n" ..
        "X-GitHub-Event: push\r\nX-Hub-Signature-256: " .. args[3] .. "\r\n" ..
        "X-GitHub-Delivery: " .. args[4] .. "-" .. tid .. "-"
  post = "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end
function request()
  counter = counter + 1
  return pre .. counter .. post
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
"""

# What an operator writes in front of nginx: HMAC-SHA256 over the raw body,
# 401 on mismatch, then the same proxy location as the plain target.
NJS_SCRIPT = r"""
const crypto = require('crypto');
const SECRET = '@SECRET@';
function verify(r) {
    const got = r.headersIn['X-Hub-Signature-256'] || '';
    const want = 'sha256=' + crypto.createHmac('sha256', SECRET)
        .update(r.requestBuffer || '').digest('hex');
    if (got !== want) {
        r.return(401, 'bad signature\n');
        return;
    }
    r.internalRedirect('@upstream');
}
export default { verify };
"""


def nginx_common(work, name):
    return f"""worker_processes 1;
daemon off;
pid {work}/{name}.pid;
error_log {work}/{name}-error.log warn;
events {{ worker_connections 8192; }}
"""


def nginx_temp_paths(work, name):
    return "".join(f"{k}_temp_path {work}/{name}-{k};\n"
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def nginx_upstream_conf(work, name="upstream", listen=UPSTREAM):
    """The fixed upstream: 200 at once, body discarded, keep-alive for ever."""
    return nginx_common(work, name) + f"""http {{
  access_log off;
  {nginx_temp_paths(work, name)}
  keepalive_requests 100000000;
  server {{
    listen 127.0.0.1:{listen} backlog=4096;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""


def nginx_conf(work):
    proxy = """proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";"""
    tls = f"""ssl_certificate {work}/certs/server.pem;
    ssl_certificate_key {work}/certs/server.key;"""
    return f"load_module {NJS_MODULE};\n" + nginx_common(work, "nginx") + f"""http {{
  access_log off;
  {nginx_temp_paths(work, "nginx")}
  keepalive_requests 100000000;
  js_path {work};
  js_import hmac from github_hmac.js;
  upstream backend {{
    server 127.0.0.1:{UPSTREAM};
    keepalive 64;
    keepalive_requests 100000000;
  }}
  server {{
    listen 127.0.0.1:{NGINX} backlog=4096;
    location / {{ {proxy} }}
  }}
  server {{
    listen 127.0.0.1:{NGINX_NJS} backlog=4096;
    client_body_buffer_size 64k;
    client_body_in_single_buffer on;
    location / {{ js_content hmac.verify; }}
    location @upstream {{ {proxy} }}
  }}
  server {{
    listen 127.0.0.1:{NGINX_TLS} ssl backlog=4096;
    {tls}
    location / {{ {proxy} }}
  }}
  server {{
    listen 127.0.0.1:{NGINX_MTLS} ssl backlog=4096;
    {tls}
    ssl_client_certificate {work}/certs/ca.pem;
    ssl_verify_client on;
    location / {{ {proxy} }}
  }}
}}
"""


def hookgate_conf(work, store):
    """One worker thread; routes: /plain (no checks), /github (HMAC + replay
    keyed on the delivery id, duplicates rejected 409 so a repeat shows up
    as an error), /github-open (HMAC only, for generators that cannot vary
    a header per request)."""
    tag = "" if store == "memory" else "-redis"
    http_port, admin = (HG_HTTP, HG_ADMIN) if store == "memory" else (HG_REDIS_HTTP, HG_REDIS_ADMIN)
    replay = ('store = "memory"\nmax_keys = 8000000' if store == "memory"
              else f'store = "redis"\nredis_url = "redis://127.0.0.1:{REDIS}/0"')
    tls = "" if store != "memory" else f"""
[[listener]]
name = "tls"
listen = "127.0.0.1:{HG_TLS}"
tls = {{ cert = "certs/server.pem", key = "certs/server.key" }}

[[listener]]
name = "mtls"
listen = "127.0.0.1:{HG_MTLS}"
tls = {{ cert = "certs/server.pem", key = "certs/server.key", client_ca = "certs/ca.pem", client_auth = "required" }}
"""
    github = f"""upstreams = ["127.0.0.1:{UPSTREAM}"]
[route.verify]
scheme = "github"
secrets = ["{SECRET}"]"""
    return f"""[admin]
listen = "127.0.0.1:{admin}"

[server]
threads = 1
shutdown_timeout = "1s"
pid_file = "{work}/hookgate{tag}.pid"
upgrade_sock = "{work}/hookgate{tag}.sock"

[replay]
{replay}

[[listener]]
name = "http"
listen = "127.0.0.1:{http_port}"
{tls}
[[route]]
name = "plain"
path_prefix = "/plain"
upstreams = ["127.0.0.1:{UPSTREAM}"]
allow_unauthenticated = true

[[route]]
name = "github"
path_prefix = "/github"
{github}
[route.replay]
key = "header:X-GitHub-Delivery"
ttl = "30s"
on_duplicate = "reject"

[[route]]
name = "github-open"
path_prefix = "/open/github"
{github}
[route.replay]
key = "none"
"""


def hookgate_queue_conf(work):
    """A hookgate whose /github route is hg-github's (GitHub HMAC, memory
    replay keyed on the delivery id) in queue mode, on the embedded store in
    the work directory (on disk: every acknowledgement waits for an fsync,
    shared by the requests that arrive together), delivering to the same
    upstream; and /backlog, queued for an upstream that is down until the
    drain is measured."""
    github = f"""[route.verify]
scheme = "github"
secrets = ["{SECRET}"]"""
    return f"""[admin]
listen = "127.0.0.1:{HG_QUEUE_ADMIN}"

[server]
threads = 1
shutdown_timeout = "1s"
pid_file = "{work}/hookgate-queue.pid"
upgrade_sock = "{work}/hookgate-queue.sock"

[replay]
store = "memory"
max_keys = 8000000

[queue]
path = "{work}/queue/queue.redb"
max_bytes = "16GiB"

[[listener]]
name = "http"
listen = "127.0.0.1:{HG_QUEUE_HTTP}"

[[route]]
name = "github"
path_prefix = "/github"
upstreams = ["127.0.0.1:{UPSTREAM}"]
{github}
[route.replay]
key = "header:X-GitHub-Delivery"
ttl = "30s"
on_duplicate = "reject"
[route.delivery]
mode = "queue"

[[route]]
name = "backlog"
path_prefix = "/backlog"
upstreams = ["127.0.0.1:{BACKLOG_UPSTREAM}"]
read_timeout = "1h"
{github}
[route.replay]
key = "none"
[route.delivery]
mode = "queue"
max_attempts = 1000
"""


def start_fleet(fleet, work):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    upstream = fleet.start("upstream", [nginx, "-c", work / "upstream.conf", "-e", work / "upstream-error.log"],
                [UPSTREAM], CLIENT_CPUS)
    fleet.start("redis", ["redis-server", "--port", str(REDIS), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no"], [REDIS], CLIENT_CPUS)
    quiet = {"HOOKGATE_LOG": "warn"}  # the access log is an info-level event
    servers = {
        "upstream": upstream,
        "nginx": fleet.start("nginx", [nginx, "-c", work / "nginx.conf", "-e", work / "nginx-error.log"],
                             [NGINX, NGINX_NJS, NGINX_TLS, NGINX_MTLS], SERVER_CPUS),
        "pingora": fleet.start("minimal-pingora", [
            MINIMAL, "--listen", f"127.0.0.1:{MINIMAL_HTTP}", "--upstream", f"127.0.0.1:{UPSTREAM}",
            "--tls-listen", f"127.0.0.1:{MINIMAL_TLS}", "--cert", work / "certs/server.pem",
            "--key", work / "certs/server.key", "--threads", "1"],
            [MINIMAL_HTTP, MINIMAL_TLS], SERVER_CPUS, quiet),
        "hookgate": fleet.start("hookgate", [HOOKGATE, "run", "-c", work / "hookgate.toml"],
                                [HG_HTTP, HG_TLS, HG_MTLS, HG_ADMIN], SERVER_CPUS, quiet),
        "hookgate-redis": fleet.start("hookgate-redis", [HOOKGATE, "run", "-c", work / "hookgate-redis.toml"],
                                      [HG_REDIS_HTTP, HG_REDIS_ADMIN], SERVER_CPUS, quiet),
    }
    return servers


def start_queue_gateway(fleet, work, name="hookgate-queue"):
    return fleet.start(name, [HOOKGATE, "run", "-c", work / "hookgate-queue.toml"],
                       [HG_QUEUE_HTTP, HG_QUEUE_ADMIN], SERVER_CPUS, {"HOOKGATE_LOG": "warn"})


# ---------------------------------------------------------------- targets

@dataclass
class Target:
    key: str
    label: str
    server: str  # key into the servers dict
    port: int
    path: str = "/github"
    tls: bool = False
    client_cert: bool = False
    checks_hmac: bool = False
    replay: bool = False  # hookgate's replay store sees the delivery id


KEEPALIVE = [
    Target("nginx", "nginx plain reverse proxy", "nginx", NGINX),
    Target("njs", "nginx + njs GitHub HMAC", "nginx", NGINX_NJS, checks_hmac=True),
    Target("pingora", "minimal pingora ProxyHttp", "pingora", MINIMAL_HTTP),
    Target("hg-plain", "hookgate, no checks", "hookgate", HG_HTTP, "/plain"),
    Target("hg-github", "hookgate, GitHub HMAC + memory replay", "hookgate", HG_HTTP, "/github", checks_hmac=True,
           replay=True),
    Target("hg-redis", "hookgate, GitHub HMAC + Redis replay", "hookgate-redis", HG_REDIS_HTTP, "/github",
           checks_hmac=True, replay=True),
]
KEEPALIVE_TLS = [
    Target("pingora-tls", "minimal pingora ProxyHttp, HTTPS", "pingora", MINIMAL_TLS, tls=True),
    Target("hg-plain-tls", "hookgate, no checks, HTTPS", "hookgate", HG_TLS, "/plain", tls=True),
]
OPEN_LOOP = [
    Target("njs", "nginx + njs GitHub HMAC", "nginx", NGINX_NJS, checks_hmac=True),
    Target("hg-github-open", "hookgate, GitHub HMAC (no replay key)", "hookgate", HG_HTTP, "/open/github",
           checks_hmac=True),
]
HANDSHAKES = [
    Target("nginx-tls", "nginx, TLS", "nginx", NGINX_TLS, "/", tls=True),
    Target("hg-tls", "hookgate, TLS", "hookgate", HG_TLS, "/plain", tls=True),
    Target("nginx-mtls", "nginx, mTLS", "nginx", NGINX_MTLS, "/", tls=True, client_cert=True),
    Target("hg-mtls", "hookgate, mTLS", "hookgate", HG_MTLS, "/plain", tls=True, client_cert=True),
]
QUEUE_ACK = [
    Target("hg-github", "hookgate, GitHub HMAC + memory replay, direct", "hookgate", HG_HTTP, "/github",
           checks_hmac=True, replay=True),
    Target("hg-queue", "the same in queue mode (embedded store, fsync)", "hookgate-queue", HG_QUEUE_HTTP,
           "/github", checks_hmac=True, replay=True),
]
ATTACK_ROUTE = Target("hg-github-open", "hookgate, GitHub HMAC", "hookgate", HG_HTTP, "/open/github",
                      checks_hmac=True)


def sanity_check(work, body):
    """Before measuring anything: every target answers a signed request 200,
    every HMAC target refuses a bad signature 401, and hookgate's replay
    store refuses a repeated delivery id 409. A harness that measured a
    target answering errors would be measuring nothing."""
    def post(t, sig, delivery):
        headers = {"X-Hub-Signature-256": sig, "X-GitHub-Delivery": delivery,
                   "Content-Type": "application/json", "X-GitHub-Event": "push"}
        if t.tls:
            ctx = ssl.create_default_context(cafile=str(work / "certs/ca.pem"))
            ctx.check_hostname = False
            if t.client_cert:
                ctx.load_cert_chain(work / "certs/sender-a.pem", work / "certs/sender-a.key")
            conn = http.client.HTTPSConnection("127.0.0.1", t.port, context=ctx, timeout=10)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=10)
        conn.request("POST", t.path, body=body, headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status

    good = signature(body)
    failures = []
    for t in KEEPALIVE + KEEPALIVE_TLS + OPEN_LOOP + HANDSHAKES:
        delivery = f"sanity-{t.key}-{time.time_ns()}"
        if (s := post(t, good, delivery)) != 200:
            failures.append(f"{t.label}: signed request answered {s}, expected 200")
        if t.checks_hmac and (s := post(t, BAD_SIGNATURE, delivery + "-bad")) != 401:
            failures.append(f"{t.label}: bad signature answered {s}, expected 401")
        if t.replay and (s := post(t, good, delivery)) != 409:
            failures.append(f"{t.label}: repeated delivery answered {s}, expected 409")
    if failures:
        sys.exit("sanity check failed:\n  " + "\n  ".join(failures))


# ---------------------------------------------------------------- load generators

_run_id = 0


def delivery_prefix(tag):
    """Unique per run, so no delivery id repeats across runs of a target."""
    global _run_id
    _run_id += 1
    return f"{tag}-{os.getpid()}-{time.time_ns()}-{_run_id}"


def wrk(work, t, duration, sig):
    scheme = "https" if t.tls else "http"
    argv = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "-s", work / "github.lua",
            f"{scheme}://127.0.0.1:{t.port}{t.path}", "--", t.path, work / "body.json", sig,
            delivery_prefix(t.key)]
    return subprocess.Popen(pinned(argv, CLIENT_CPUS), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wrk_result(proc):
    out, _ = proc.communicate()
    for line in out.splitlines():
        if line.startswith("BENCH "):
            r = json.loads(line[len("BENCH "):])
            r["errors"] = sum(r[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
            return r
    sys.exit(f"wrk printed no result:\n{out}")


def oha(work, t, duration, rate, connections, sig):
    argv = [oha_path(), "--no-tui", "--output-format", "json", "-z", f"{duration}s",
            "-c", str(connections), "-q", str(rate), "--latency-correction", "--worker-threads", "1",
            "--wait-ongoing-requests-after-deadline",
            "-m", "POST", "-D", work / "body.json", "-T", "application/json",
            "-H", f"X-Hub-Signature-256: {sig}", "-H", "X-GitHub-Event: push",
            "-H", "X-GitHub-Delivery: open-loop",
            f"http://127.0.0.1:{t.port}{t.path}"]
    return subprocess.Popen(pinned(argv, CLIENT_CPUS), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def oha_result(proc):
    out, err = proc.communicate()
    try:
        r = json.loads(out)
    except json.JSONDecodeError:
        sys.exit(f"oha printed no JSON:\n{out[-2000:]}\n{err[-2000:]}")
    codes = r["statusCodeDistribution"]
    answered = sum(codes.values())
    return {
        "requests": answered,
        "non_2xx": answered - codes.get("200", 0),
        "errors": sum(r["errorDistribution"].values()),
        "rps": r["summary"]["requestsPerSec"],
        "p50_us": r["latencyPercentiles"]["p50"] * 1e6,
        "p99_us": r["latencyPercentiles"]["p99"] * 1e6,
    }


def oha_path():
    found = shutil.which("oha") or str(Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin/oha")
    if not Path(found).exists():
        sys.exit("oha not found: cargo install oha --locked (make bench does)")
    return found


def tls_connect(work, t, duration):
    """examples/tls_connect: TLS_CLIENTS connections at a time, each a full
    handshake (resumption off) and one HTTP/1.0 GET. `openssl s_time` spent
    about three times the server's CPU per handshake, so it measured itself."""
    argv = [TLS_CONNECT, f"127.0.0.1:{t.port}", t.path, str(duration), str(TLS_CLIENTS)]
    if t.client_cert:
        argv += [work / "certs/sender-a.pem", work / "certs/sender-a.key"]
    return subprocess.Popen(pinned(argv, CLIENT_CPUS), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def tls_connect_result(proc):
    out, _ = proc.communicate()
    line = next((l for l in out.splitlines() if l.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"tls_connect printed no result:\n{out[-2000:]}")
    return json.loads(line[len("BENCH "):])


# ---------------------------------------------------------------- measuring

@dataclass
class Sample:
    requests: int
    rps: float
    cpu_us: float  # server CPU per request
    busy: float  # server CPU seconds / wall seconds (1.0 = one core)
    upstream_busy: float
    client_busy: float  # the load generators' CPU / wall
    p50_us: float = float("nan")
    p99_us: float = float("nan")
    bad: int = 0  # non-2xx + socket errors: the run is not trustworthy when > 0


@dataclass
class Series:
    target: Target
    samples: list = field(default_factory=list)

    def median(self, attr):
        return statistics.median(getattr(s, attr) for s in self.samples)

    def spread(self, attr):
        values = [getattr(s, attr) for s in self.samples]
        return min(values), max(values)


def children_cpu():
    """CPU seconds of this script's finished children (the load generators)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(server, upstream, start, collect):
    """Run a load generator against one server; CPU deltas over the run."""
    cpu0, up0, client0, t0 = server.cpu(), upstream.cpu(), children_cpu(), time.monotonic()
    r = collect(start())
    wall = time.monotonic() - t0
    cpu = server.cpu() - cpu0
    requests = max(r["requests"], 1)
    if "rps" in r:
        rps = r["rps"]
    elif "duration_us" in r:
        rps = r["requests"] / (r["duration_us"] / 1e6)
    else:
        rps = r["requests"] / wall
    return Sample(
        requests=r["requests"],
        rps=rps,
        cpu_us=cpu / requests * 1e6,
        busy=cpu / wall,
        upstream_busy=(upstream.cpu() - up0) / wall,
        client_busy=(children_cpu() - client0) / wall,
        p50_us=r.get("p50_us", float("nan")),
        p99_us=r.get("p99_us", float("nan")),
        bad=r["non_2xx"] + r["errors"],
    )


def rounds(targets, run_one, label):
    """Interleaved rounds: every round visits every target, starting one
    further along each time so no target always follows the same one."""
    series = {t.key: Series(t) for t in targets}
    for i in range(ROUNDS):
        order = targets[i % len(targets):] + targets[:i % len(targets)]
        for t in order:
            s = run_one(t)
            series[t.key].samples.append(s)
            flag = f"  !! {s.bad} errors/non-2xx" if s.bad else ""
            print(f"  [{label} {i + 1}/{ROUNDS}] {t.label:45} {s.rps:9.0f} req/s  "
                  f"{s.cpu_us:6.1f} µs CPU/req  busy {s.busy:4.2f}{flag}", flush=True)
    return series


def warm_up(work, targets, sig):
    """One short run per target: upstream pools filled, lazy start-up done."""
    for t in targets:
        wrk_result(wrk(work, t, 1, sig))


# ---------------------------------------------------------------- report

def machine():
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), platform.processor())
    mem_kib = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                   if l.startswith("MemTotal"))

    def out(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    commit = out(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"])
    return {
        "cpu": f"{model}, {os.cpu_count()} CPUs",
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "tools": "; ".join([out(["nginx", "-v"]), out(["wrk", "-v"]), out([oha_path(), "--version"]),
                            out(["openssl", "version"]), out(["redis-server", "--version"])]),
        "pinning": (f"servers on CPU {SERVER_CPUS}, upstream/clients/Redis on CPU {CLIENT_CPUS}"
                    if PIN else "none"),
    }


def fmt_range(lo, hi, spec):
    return f"{format(lo, spec)}–{format(hi, spec)}"


class Report:
    def __init__(self):
        self.lines = []
        self.goals = []

    def add(self, text=""):
        self.lines.append(text)

    def table(self, header, rows):
        self.add("| " + " | ".join(header) + " |")
        self.add("|" + "---|" * len(header))
        for r in rows:
            self.add("| " + " | ".join(r) + " |")
        self.add()

    def goal(self, what, measured, ok):
        self.goals.append((what, measured, "met" if ok else "**missed**"))


def paired_ratio(a, b, attr="rps"):
    """Median over rounds of a/b within the same round (pairs adjacent runs)."""
    return statistics.median(getattr(x, attr) / getattr(y, attr) for x, y in zip(a.samples, b.samples))


def keepalive_section(rep, series, base_key, pingora_key, title):
    rep.add(f"### {title}")
    rep.add()
    base, ping = series.get(base_key), series[pingora_key]
    rows = []
    for s in series.values():
        lo, hi = s.spread("rps")
        busy = s.median("busy")
        rows.append([
            s.target.label,
            f"{s.median('rps'):,.0f} ({fmt_range(lo, hi, ',.0f')})",
            f"{paired_ratio(s, base):.2f}" if base else "–",
            f"{paired_ratio(s, ping):.2f}",
            f"{s.median('cpu_us'):.1f} ({fmt_range(*s.spread('cpu_us'), '.1f')})",
            f"{s.median('p50_us') / 1000:.2f}",
            f"{s.median('p99_us') / 1000:.2f}",
            f"{busy:.2f}" + ("" if busy >= SATURATED else " ⚠")
            + f" / {s.median('upstream_busy'):.2f} / {s.median('client_busy'):.2f}",
            str(sum(x.bad for x in s.samples)),
        ])
    rep.table(["target", "req/s median (min–max)", "vs nginx", "vs pingora", "CPU µs/req (min–max)",
               "p50 ms", "p99 ms", "cores busy: server / upstream / client", "errors"], rows)


def main():
    for binary in (HOOKGATE, MINIMAL, REPLAY_RSS, TLS_CONNECT):
        if not binary.exists():
            sys.exit(f"{binary} missing: cargo build --release --bin hookgate "
                     "--example minimal_proxy --example replay_rss --example tls_connect")
    info = machine()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="hookgate-bench-"))
    fleet = Fleet(work)
    try:
        body = write_fixtures(work)
        good, bad = signature(body), BAD_SIGNATURE
        servers = start_fleet(fleet, work)
        upstream = servers["upstream"]
        sanity_check(work, body)
        print(f"{'QUICK ' if QUICK else ''}run: {ROUNDS} rounds x {DURATION}s per target; workdir {work}",
              flush=True)
        warm_up(work, KEEPALIVE + KEEPALIVE_TLS, good)

        def closed(t):
            return measure(servers[t.server], upstream, lambda: wrk(work, t, DURATION, good), wrk_result)

        keepalive = rounds(KEEPALIVE, closed, "keep-alive")
        keepalive_tls = rounds(KEEPALIVE_TLS, closed, "keep-alive TLS")

        # The goal's rate (half of nginx's maximum), and half of the minimal
        # pingora proxy's, which every target here sustains: latency below
        # capacity, next to latency past it.
        rates = [max(int(keepalive[k].median("rps") * 0.5), 100) for k in ("nginx", "pingora")]

        def open_loop_at(rate):
            def open_loop(t):
                return measure(servers[t.server], upstream,
                               lambda: oha(work, t, DURATION, rate, CONNECTIONS, good), oha_result)
            return open_loop

        openloops = [rounds(OPEN_LOOP, open_loop_at(r), f"open loop {r}/s") for r in rates]

        def handshake(t):
            return measure(servers[t.server], upstream, lambda: tls_connect(work, t, DURATION), tls_connect_result)

        handshakes = rounds(HANDSHAKES, handshake, "TLS new connections")

        queue_ack, backlog = queue_phase(fleet, work, servers, upstream, good)
        attack = attack_rounds(work, servers[ATTACK_ROUTE.server], upstream, good, bad)
        rss = subprocess.run([REPLAY_RSS, str(RSS_KEYS)], capture_output=True, text=True, check=True).stdout
        per_key = float(rss.split("bytes_per_key=")[1].split()[0])
    finally:
        fleet.stop()
    load_after = os.getloadavg()
    text = report(info, load_before, load_after, keepalive, keepalive_tls, list(zip(rates, openloops)),
                  handshakes, attack, per_key, rss.strip(), queue_ack, backlog)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print()
    print(text)
    print(f"written to {OUT}")
    shutil.rmtree(work, ignore_errors=True)


def queue_stats(route):
    """(pending, dead) of a route of the queue gateway, from its admin API."""
    conn = http.client.HTTPConnection("127.0.0.1", HG_QUEUE_ADMIN, timeout=30)
    conn.request("GET", "/queue/stats")
    stats = json.loads(conn.getresponse().read())
    conn.close()
    r = next(r for r in stats["routes"] if r["route"] == route)
    return r["pending"], r["dead"]


def wait_drained(route, deadline_s):
    """Seconds until the route's queue is empty (polled every 50 ms)."""
    t0 = time.monotonic()
    while queue_stats(route)[0] > 0:
        if time.monotonic() - t0 > deadline_s:
            sys.exit(f"queue {route!r} not drained after {deadline_s}s")
        time.sleep(0.05)
    return time.monotonic() - t0


class BlackHole:
    """An upstream that accepts connections (in the kernel's backlog) and
    never answers: the queue's few in-progress attempts wait on it while the
    rest of the backlog waits its turn, instead of being retried at once."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", BACKLOG_UPSTREAM))
        self.sock.listen(1024)
        return self

    def __exit__(self, *exc):
        self.sock.close()


def queue_sanity_check(work, good):
    """The queue target acknowledges a signed delivery 202 and refuses its
    repeat 409, like hg-github (whose answer is the upstream's 200)."""
    body = (work / "body.json").read_bytes()

    def post(delivery):
        conn = http.client.HTTPConnection("127.0.0.1", HG_QUEUE_HTTP, timeout=10)
        conn.request("POST", "/github", body=body, headers={
            "X-Hub-Signature-256": good, "X-GitHub-Delivery": delivery,
            "Content-Type": "application/json", "X-GitHub-Event": "push"})
        status = conn.getresponse().status
        conn.close()
        return status

    delivery = f"sanity-queue-{time.time_ns()}"
    got = (post(delivery), post(delivery))
    if got != (202, 409):
        sys.exit(f"sanity check failed: queue target answered {got}, expected (202, 409)")


def queue_phase(fleet, work, servers, upstream, good):
    """Durable delivery: the backlog first (on a fresh file, so its size is
    the backlog's), then acknowledgements per second against direct mode."""
    (work / "queue").mkdir(exist_ok=True)
    with BlackHole():
        gw = start_queue_gateway(fleet, work)
        backlog_target = Target("backlog", "queue backlog", "hookgate-queue", HG_QUEUE_HTTP, "/backlog")
        built_t0 = time.monotonic()
        acked = 0
        while (pending := queue_stats("backlog")[0]) < BACKLOG:
            r = wrk_result(wrk(work, backlog_target, 2, good))
            acked += r["requests"] - r["non_2xx"]
            if r["non_2xx"] or r["errors"]:
                sys.exit(f"queueing the backlog: {r['non_2xx']} non-2xx, {r['errors']} errors")
        build_s = time.monotonic() - built_t0
        file_bytes = (work / "queue/queue.redb").stat().st_size
        print(f"  [queue] backlog of {pending:,} queued in {build_s:.1f}s; file {file_bytes:,} B", flush=True)
        gw.proc.terminate()  # its in-progress attempts wait on the black hole: cut them short
        gw.proc.wait(timeout=30)
    fleet.start("backlog-upstream", [shutil.which("nginx") or "/usr/sbin/nginx", "-c",
                                     work / "backlog-upstream.conf", "-e", work / "backlog-upstream-error.log"],
                [BACKLOG_UPSTREAM], CLIENT_CPUS)
    gw = start_queue_gateway(fleet, work, "hookgate-queue-2")
    cpu0 = gw.cpu()
    drain_s = wait_drained("backlog", 3600)
    drain_cpu = gw.cpu() - cpu0
    print(f"  [queue] drained {pending:,} in {drain_s:.1f}s ({pending / drain_s:,.0f}/s)", flush=True)
    backlog = {"count": pending, "build_s": build_s, "drain_s": drain_s, "drain_cpu_s": drain_cpu,
               "file_bytes": file_bytes, "body_bytes": BODY_BYTES}

    servers = {**servers, "hookgate-queue": gw}
    queue_sanity_check(work, good)

    def closed(t):
        s = measure(servers[t.server], upstream, lambda: wrk(work, t, DURATION, good), wrk_result)
        if t.key == "hg-queue":
            wait_drained("github", 600)  # the next run starts from an empty queue
        return s

    warm_up(work, QUEUE_ACK, good)
    wait_drained("github", 600)
    return rounds(QUEUE_ACK, closed, "queue vs direct"), backlog


def attack_rounds(work, server, upstream, good, bad):
    """Valid requests at ATTACK_RATE (open loop), alone and beside a wrk flood
    of bad signatures at full rate on the same route; rounds interleaved."""
    t = ATTACK_ROUTE
    quiet, flood, flood_answers = Series(t), Series(t), []
    for i in range(ROUNDS):
        for under_flood in (i % 2 == 1, i % 2 == 0):
            flooder = wrk(work, t, DURATION + 2, bad) if under_flood else None
            if flooder:
                time.sleep(1)  # let the flood reach full rate before valid traffic starts
            s = measure(server, upstream, lambda: oha(work, t, DURATION, ATTACK_RATE, 8, good), oha_result)
            if flooder:
                f = wrk_result(flooder)
                # every flood request must have been refused (401 counts as non-2xx)
                flood_answers.append((f["requests"], f["non_2xx"], f["requests"] / (f["duration_us"] / 1e6)))
            (flood if under_flood else quiet).samples.append(s)
            print(f"  [attack {i + 1}/{ROUNDS}] {'flood' if under_flood else 'quiet':5} valid p99 "
                  f"{s.p99_us / 1000:7.2f} ms  bad {s.bad}", flush=True)
    return quiet, flood, flood_answers


def queue_section(rep, queue_ack, backlog):
    rep.add("## Durable delivery (queue mode)")
    rep.add()
    rep.add("hookgate's GitHub HMAC + memory replay route, direct and in queue mode (a second hookgate, "
            "one thread, embedded store on disk: every acknowledgement waits for its fsync, which the "
            "requests arriving together share). The queue's workers deliver to the same upstream while "
            "it acknowledges, so its CPU per request includes delivering; each queue run starts from an "
            "empty queue.")
    rep.add()
    keepalive_section(rep, queue_ack, None, "hg-github", "wrk, 32 connections")
    r = paired_ratio(queue_ack["hg-queue"], queue_ack["hg-github"])
    rep.goal("11. queue-mode acknowledgements/s ≥ 0.5× direct mode (fsync on)", f"{r:.2f}×", r >= 0.5)
    b = backlog
    per_delivery = b["file_bytes"] / b["count"]
    rep.table(["figure", "value"], [
        [f"backlog queued while the upstream was down", f"{b['count']:,} in {b['build_s']:.1f} s "
         f"({b['count'] / b['build_s']:,.0f}/s)"],
        ["drain: delivered after the upstream came up (concurrency 8, one thread)",
         f"{b['count'] / b['drain_s']:,.0f} deliveries/s ({b['drain_s']:.1f} s; "
         f"{b['drain_cpu_s'] / b['count'] * 1e6:.0f} µs CPU each)"],
        [f"bytes on disk per queued delivery ({b['body_bytes']} B body + GitHub headers)",
         f"{per_delivery:,.0f} B (file {b['file_bytes']:,} B)"],
    ])
    rep.goal(f"11. draining a backlog of {b['count']:,} reported", f"{b['count'] / b['drain_s']:,.0f}/s", True)
    rep.goal("11. bytes on disk per queued 1 KiB delivery reported", f"{per_delivery:,.0f} B", True)


def report(info, load_before, load_after, keepalive, keepalive_tls, openloops, handshakes, attack,
           per_key, rss_line, queue_ack, backlog):
    rep = Report()
    rep.add("# hookgate benchmark results")
    rep.add()
    if QUICK:
        rep.add("**QUICK smoke run (BENCH_QUICK=1): short runs, not a result.**")
        rep.add()
    rep.add("Written by `make bench` (benches/bench.py). Loopback only; each server one worker/thread; "
            f"wrk 1 thread × {CONNECTIONS} keep-alive connections; {BODY_BYTES} B POST with a GitHub "
            "signature and a new `X-GitHub-Delivery` id per request; upstream nginx `return 200`; "
            f"access logs off. {ROUNDS} interleaved rounds of {DURATION} s per target; figures are the "
            "median (min–max over rounds); ratios are medians of same-round ratios.")
    rep.add()
    rep.table(["machine", ""], [[k, v] for k, v in info.items()]
              + [["load average (1 min) before / after", f"{load_before[0]:.2f} / {load_after[0]:.2f}"]])

    rep.add("## Throughput, keep-alive HTTP (closed loop)")
    rep.add()
    keepalive_section(rep, keepalive, "nginx", "pingora", "wrk, 32 connections")
    rep.add("CPU µs/req: server utime+stime over the run ÷ requests answered. *cores busy*: CPU ÷ wall "
            "time of the server, the fixed upstream and the load generator; a server below "
            f"{SATURATED} (⚠) was not the bottleneck, so its req/s measured the client, the upstream or "
            "a noisy neighbour. *errors*: non-2xx + socket errors over all rounds (a repeated delivery "
            "id would be a 409 here). hookgate's replay routes key on `X-GitHub-Delivery` "
            "(`key = \"header:X-GitHub-Delivery\"`, kept 30 s); its default for GitHub, the "
            "signature's digest, would need a new body per request.")
    rep.add()
    k = keepalive
    hg, hg_plain, ping = k["hg-github"], k["hg-plain"], k["pingora"]
    r = paired_ratio(hg, ping)
    rep.goal("1. hookgate GitHub HMAC + memory replay ≥ 1.0× minimal pingora req/s", f"{r:.2f}×", r >= 1.0)
    r = paired_ratio(hg_plain, ping)
    rep.goal("1. hookgate no checks ≥ 1.1× minimal pingora req/s", f"{r:.2f}×", r >= 1.1)
    r = paired_ratio(hg, k["nginx"])
    rep.goal("1. (stretch) hookgate GitHub HMAC + memory replay ≥ 1.0× nginx plain proxy", f"{r:.2f}×", r >= 1.0)
    cpu = {key: s.median("cpu_us") for key, s in k.items()}
    rep.goal("2. CPU per request reported for every target",
             ", ".join(f"{key} {v:.1f} µs" for key, v in cpu.items()), True)

    rep.add("## Keep-alive HTTPS")
    rep.add()
    keepalive_section(rep, keepalive_tls, None, "pingora-tls", "wrk over TLS, 32 connections")
    r = paired_ratio(keepalive_tls["hg-plain-tls"], keepalive_tls["pingora-tls"])
    rep.goal("4. keep-alive HTTPS: hookgate ≥ 1.0× minimal pingora over TLS", f"{r:.2f}×", r >= 1.0)

    rep.add("## Latency, open loop")
    rep.add()
    rep.add("oha `-q` with `--latency-correction` (latency counted from when a request was due, so a "
            "stall is not hidden), 32 connections. oha sends the same headers on every request, so "
            "hookgate's route here checks the HMAC but keeps no replay key (a fixed delivery id would "
            "make every request after the first a duplicate); the replay store's cost is in the "
            "closed-loop table. Two rates: the goal's (50% of nginx plain proxy's maximum), and 50% of "
            "the minimal pingora proxy's maximum, below every target's capacity.")
    rep.add()
    for (rate, openloop), whose in zip(openloops, ("nginx plain proxy", "minimal pingora")):
        rep.add(f"### {rate:,} req/s (50% of {whose}'s maximum)")
        rep.add()
        rows = [[s.target.label, f"{s.median('rps'):,.0f}" + (" ⚠" if s.median("rps") < 0.97 * rate else ""),
                 f"{s.median('p50_us') / 1000:.2f}",
                 f"{s.median('p99_us') / 1000:.2f} ({fmt_range(*(v / 1000 for v in s.spread('p99_us')), '.2f')})",
                 f"{s.median('cpu_us'):.1f}", str(sum(x.bad for x in s.samples))] for s in openloop.values()]
        rep.table(["target", "req/s", "p50 ms", "p99 ms (min–max)", "CPU µs/req", "errors"], rows)
    rep.add(f"⚠: answered less than 97% of the offered rate: the target is past its capacity, so its "
            "latency is queueing time.")
    rep.add()
    openloop = openloops[0][1]
    hg_p99, njs_p99 = openloop["hg-github-open"].median("p99_us"), openloop["njs"].median("p99_us")
    rep.goal("3. open loop p99: hookgate ≤ nginx + njs", f"{hg_p99 / 1000:.2f} ms vs {njs_p99 / 1000:.2f} ms",
             hg_p99 <= njs_p99)

    rep.add("## TLS: new connections (full ECDSA P-256 handshake + one request each)")
    rep.add()
    rep.add(f"`examples/tls_connect`, {TLS_CLIENTS} connections at a time, each a full handshake "
            "(resumption off) and one HTTP/1.0 GET; same ECDSA P-256 certificate for both servers; each "
            "server's own defaults for suites and tickets. The client skips certificate checks so that it "
            "stays cheaper than the servers (`openssl s_time` saturated its core while the servers idled "
            "at a third of theirs); the comparable figure is still the server's capacity: handshakes per "
            "second per server core = 1 / CPU per handshake.")
    rep.add()
    rows = []
    for s in handshakes.values():
        rows.append([s.target.label, f"{s.median('rps'):,.0f} ({fmt_range(*s.spread('rps'), ',.0f')})",
                     f"{s.median('cpu_us'):.0f}", f"{1e6 / s.median('cpu_us'):,.0f}",
                     f"{s.median('busy'):.2f} / {s.median('client_busy'):.2f}"])
    rep.table(["target", "conn/s measured (min–max)", "server CPU µs/conn", "conn/s per server core",
               "cores busy: server / clients"], rows)
    for kind in ("tls", "mtls"):
        hg_s, ng_s = handshakes[f"hg-{kind}"], handshakes[f"nginx-{kind}"]
        r = paired_ratio(ng_s, hg_s, "cpu_us")  # capacity ratio = inverse CPU ratio
        rm = paired_ratio(hg_s, ng_s)
        name = "mTLS (client certificates)" if kind == "mtls" else "TLS"
        rep.goal(f"4. {name} new conn/s per core: hookgate ≥ 1.5× nginx",
                 f"{r:.2f}× per core (measured conn/s {rm:.2f}×)", r >= 1.5)

    rep.add("## Replay stores")
    rep.add()
    mem, red = keepalive["hg-github"], keepalive["hg-redis"]
    r = paired_ratio(red, mem)
    rep.table(["figure", "value"], [
        ["Redis store req/s ÷ memory store req/s (closed loop, same round)", f"{r:.2f}"],
        ["memory store CPU µs/req / Redis store CPU µs/req (hookgate only)",
         f"{mem.median('cpu_us'):.1f} / {red.median('cpu_us'):.1f}"],
        [f"memory store bytes per live key at {RSS_KEYS:,} keys (RSS delta)", f"{per_key:.0f}"],
    ])
    rep.add(f"`replay_rss`: `{rss_line}`")
    rep.add()
    rep.goal("5. Redis store ≥ 0.6× memory store req/s", f"{r:.2f}×", r >= 0.6)
    rep.goal(f"5. memory store ≤ 100 bytes per live key at {RSS_KEYS:,} keys", f"{per_key:.0f} B", per_key <= 100)

    queue_section(rep, queue_ack, backlog)

    quiet, flood, flood_answers = attack
    rep.add("## Under attack")
    rep.add()
    rep.add(f"Valid signed requests at {ATTACK_RATE:,} req/s (oha, open loop, 8 connections) to hookgate's "
            "GitHub HMAC route, alone and while wrk floods the same route with bad signatures at full "
            "rate (1 thread × 32 connections). hookgate runs with its defaults, so each forged request "
            "is answered `auth_failure_delay` (100 ms) late and the flood's closed-loop rate is about "
            "its connections ÷ 100 ms; without the delay it took the whole core (54,900 refusals/s) "
            "and raised valid p99 4.9×.")
    rep.add()
    flood_rps = statistics.median(x[2] for x in flood_answers) if flood_answers else 0
    refused = all(n == bad for n, bad, _ in flood_answers)
    rep.table(["", "valid p50 ms", "valid p99 ms (min–max)", "valid errors", "flood req/s (all refused)"], [
        ["quiet", f"{quiet.median('p50_us') / 1000:.2f}",
         f"{quiet.median('p99_us') / 1000:.2f} ({fmt_range(*(v / 1000 for v in quiet.spread('p99_us')), '.2f')})",
         str(sum(x.bad for x in quiet.samples)), "–"],
        ["under flood", f"{flood.median('p50_us') / 1000:.2f}",
         f"{flood.median('p99_us') / 1000:.2f} ({fmt_range(*(v / 1000 for v in flood.spread('p99_us')), '.2f')})",
         str(sum(x.bad for x in flood.samples)), f"{flood_rps:,.0f} ({'yes' if refused else 'NO'})"],
    ])
    r = flood.median("p99_us") / quiet.median("p99_us")
    rep.goal("6. bad-signature flood raises valid p99 at most 2×", f"{r:.2f}×", r <= 2.0 and refused)

    rep.add("## Goals")
    rep.add()
    goals = sorted(rep.goals, key=lambda g: int(g[0].split(".")[0]))  # by target number, stable
    rep.table(["goal (issue 10, 11)", "measured", "status"], goals)
    trust = [s for group in (keepalive, keepalive_tls, openloop, handshakes, queue_ack) for s in group.values()
             if any(x.bad for x in s.samples)]
    if trust:
        rep.add("**Errors were seen for: " + ", ".join(s.target.label for s in trust)
                + "; their figures are not trustworthy.**")
        rep.add()
    return "\n".join(rep.lines)


if __name__ == "__main__":
    main()
