#!/usr/bin/env bash
# Build bin/kirjuri (`go tool task build`, and `run` before it serves),
# saying what takes the time: a first build, with empty Go caches,
# downloads and compiles every dependency; later builds take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building bin/kirjuri (a first build downloads and compiles every dependency: about a minute on 2 cores; later builds take seconds)…" >&2
start=$SECONDS
go build -o bin/kirjuri ./app/cmd/kirjuri &
build=$!
# A line every 15 s while it runs, so that a first build is not silence.
next=15
while kill -0 "$build" 2>/dev/null; do
  sleep 0.5
  if [ $((SECONDS - start)) -ge $next ] && kill -0 "$build" 2>/dev/null; then
    echo "… still building bin/kirjuri ($((SECONDS - start)) s)" >&2
    next=$((next + 15))
  fi
done
wait "$build"
echo "built bin/kirjuri in $((SECONDS - start)) s" >&2
