#!/usr/bin/env bash
# Load benchmark: the same upstream reached directly and through hookgate,
# on loopback, with wrk. Prints throughput and latency and their ratios, so
# the cost of the gateway is read relative to the machine, not as absolute
# numbers (which vary from machine to machine).
#
#   benches/load.sh [duration=10s] [connections=32] [body_bytes=1024]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}; CONNS=${2:-32}; BODY=${3:-1024}
command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }; }
cargo build --release --quiet
BIN=target/release/hookgate
TMP=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
cat > "$TMP/hookgate.toml" <<CONF
[admin]
listen = "127.0.0.1:19911"
[server]
threads = 2
pid_file = "$TMP/pid"
upgrade_sock = "$TMP/sock"
[[listener]]
name = "bench"
listen = "127.0.0.1:18091"
[[route]]
name = "bench"
path_prefix = "/"
upstreams = ["127.0.0.1:13091"]
allow_unauthenticated = true
CONF
$BIN echo --listen 127.0.0.1:13091 >/dev/null &
HOOKGATE_LOG=warn $BIN run -c "$TMP/hookgate.toml" >/dev/null &
sleep 1
head -c "$BODY" /dev/zero | tr '\0' 'a' > "$TMP/body"
cat > "$TMP/post.lua" <<LUA
wrk.method = "POST"
local f = io.open("$TMP/body", "rb"); wrk.body = f:read("*a"); f:close()
LUA
run() { wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$TMP/post.lua" "$1" 2>/dev/null; }
direct=$(run http://127.0.0.1:13091/hook)
gateway=$(run http://127.0.0.1:18091/hook)
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '/ 99%/ {v=$2; if (v ~ /ms$/) {sub(/ms/,"",v); print v} else if (v ~ /us$/) {sub(/us/,"",v); print v/1000} else {sub(/s/,"",v); print v*1000}}' <<<"$1"; }
d_rps=$(rps "$direct"); g_rps=$(rps "$gateway"); d_p99=$(p99 "$direct"); g_p99=$(p99 "$gateway")
printf 'body %s B, %s connections, %s\n' "$BODY" "$CONNS" "$DURATION"
printf 'direct : %10.0f req/s  p99 %8.2f ms\n' "$d_rps" "$d_p99"
printf 'gateway: %10.0f req/s  p99 %8.2f ms\n' "$g_rps" "$g_p99"
awk -v g="$g_rps" -v d="$d_rps" -v gp="$g_p99" -v dp="$d_p99" 'BEGIN { printf "ratio  : throughput %.2f x direct, p99 latency %.2f x direct\n", g/d, gp/dp }'
