#!/usr/bin/env bash
# Installs the Debian packages the tests drive as a person's tools would:
# LibreOffice Calc (adapters/excel opens what it writes, and the fixtures'
# files were saved by it). Chromium is installed by test/docs itself.
# As root it installs what is missing; otherwise it names the package.
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${need[*]}: apt-get install --no-install-recommends ${need[*]}" >&2
  exit 0 # the tests that need them say so (and fail under CI=true)
fi
echo "test-deps: installing ${need[*]} (Debian packages; once per machine)…"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/kirjuri-test-deps.log 2>&1; then
  apt-get update -q >>/tmp/kirjuri-test-deps.log 2>&1
  apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/kirjuri-test-deps.log 2>&1 || {
    tail -20 /tmp/kirjuri-test-deps.log >&2; exit 1; }
fi
echo "test-deps: installed ${need[*]}"
