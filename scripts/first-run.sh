#!/usr/bin/env bash
# Measure a first run as a newcomer meets it: the README's run command
# (`go tool task run`) from empty Go caches until /healthz answers, against
# `go build` of the service from empty caches, in the same run.
#
#   scripts/first-run.sh
#
# Each measurement gets fresh, empty GOMODCACHE and GOCACHE folders (under
# a scratch folder, removed afterwards), so both download every module
# through the module proxy and compile everything. The run serves on a free
# loopback port and is stopped with SIGTERM once /healthz answers. It uses
# the dev servers: when they are not running it starts them (initialising
# them when .data/dev is new) and stops them again at the end. Installing
# the Debian packages is not part of the measurement (they must be there).
#
# Target (issue 9): the run serves within 1.5 × the build's time.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

scratch=$(mktemp -d "${TMPDIR:-/tmp}/kirjuri-first-run.XXXXXX")
run_pid=
cleanup() {
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM -- "-$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  chmod -R u+w "$scratch" 2>/dev/null || true   # the module cache is read-only
  rm -rf "$scratch"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "first-run: $(nproc) cores, load average $(load), $(go version)"
servers_were_up=false
scripts/servers.sh status --profile dev | grep -q 'postgres .*running on' && servers_were_up=true

# 1. go build of the service alone, empty caches.
echo "first-run: [1/2] go build ./app/cmd/kirjuri with empty GOMODCACHE and GOCACHE…"
t0=$(now)
GOMODCACHE=$scratch/build/mod GOCACHE=$scratch/build/cache \
  go build -o "$scratch/kirjuri" ./app/cmd/kirjuri
t1=$(now)
build=$(secs "$t0" "$t1")
echo "first-run: build took $build s (load average $(load))"

# 2. The README's run command, empty caches, until /healthz answers.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
addr=127.0.0.1:$port
echo "first-run: [2/2] go tool task run with empty GOMODCACHE and GOCACHE, serving on $addr…"
t0=$(now)
# setsid: the run leads a process group of its own, as from a terminal.
GOMODCACHE=$scratch/run/mod GOCACHE=$scratch/run/cache KIRJURI_HTTP_ADDR=$addr \
  setsid bash -c 'echo $$ >"$0"; exec go tool task run' "$scratch/run.pid" 2>&1 | sed -u 's/^/    | /' &
while [ ! -s "$scratch/run.pid" ]; do sleep 0.1; done
run_pid=$(cat "$scratch/run.pid")
until curl -fsS -m 2 "http://$addr/healthz" >/dev/null 2>&1; do
  kill -0 "$run_pid" 2>/dev/null || { echo "first-run: the run ended before serving" >&2; exit 1; }
  sleep 0.5
done
t1=$(now)
run=$(secs "$t0" "$t1")
echo "first-run: /healthz answered after $run s (load average $(load)); stopping the run"
kill -TERM -- "-$run_pid"
while kill -0 "$run_pid" 2>/dev/null; do sleep 0.2; done
wait 2>/dev/null || true
run_pid=

if ! $servers_were_up; then
  scripts/servers.sh down --profile dev
fi

ratio=$(awk -v r="$run" -v b="$build" 'BEGIN { printf "%.2f", r / b }')
verdict=pass
awk -v x="$ratio" 'BEGIN { exit !(x > 1.5) }' && verdict=FAIL
echo
echo "first-run: go build from empty caches:        $build s"
echo "first-run: go tool task run until /healthz:   $run s  ($ratio × the build; target ≤ 1.5: $verdict)"
[ "$verdict" = pass ]
