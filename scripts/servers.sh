#!/usr/bin/env bash
# Project-managed local PostgreSQL and ClickHouse servers.
#
#   scripts/servers.sh up|down|status|env|start-clickhouse|stop-clickhouse [--profile dev|test]
#
# Each profile has its own data folder (<repo>/.data/<profile>) and its own
# loopback ports, so the dev and test servers can run side by side.
# Nothing listens on anything but 127.0.0.1, and nothing is written outside
# <repo>/.data/ (apart from installing missing packages with apt-get).
set -euo pipefail

# runuser and clickhouse-server live in /usr/sbin, not always on PATH.
PATH=$PATH:/usr/sbin:/sbin
REPO=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_DB=kirjuri
PG_USER=kirjuri
CH_DB=kirjuri

usage() {
  echo "usage: $0 up|down|status|env|start-clickhouse|stop-clickhouse [--profile dev|test]" >&2
  exit 2
}

log() { echo "servers[$PROFILE]: $*" >&2; }
die() { echo "servers[${PROFILE:-?}]: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments

CMD=${1:-}
[ -n "$CMD" ] || usage
shift
PROFILE=dev
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || usage; PROFILE=$2; shift 2 ;;
    --profile=*) PROFILE=${1#--profile=}; shift ;;
    *) usage ;;
  esac
done

case "$PROFILE" in
  dev)
    PG_PORT=15432 CH_TCP_PORT=19000 CH_HTTP_PORT=18123 CH_INTERSERVER_PORT=19009
    # Sized for a register of a million customers and imports of as many
    # rows (the benchmarks run here), not PostgreSQL's defaults (128MB of
    # shared buffers, 4MB of WAL buffers, a checkpoint every 1GB of WAL):
    # with those, an import's backends write out dirty pages and WAL
    # themselves (measured: 9.5M backend buffer writes, 24k times the WAL
    # buffers were full in one run of bench:excel). An import of 100,000
    # rows writes about 300MB of WAL: with min_wal_size at its 80MB, the
    # segments were removed after each checkpoint and made anew, each
    # filled with zeros first (13% of PostgreSQL's CPU during the import,
    # in perf); 1GB of them is kept for reuse, and a new one is not zeroed
    # (ext4 allocates as it writes).
    PG_EXTRA_OPTS="-c shared_buffers=512MB -c wal_buffers=32MB -c max_wal_size=4GB -c min_wal_size=1GB -c wal_init_zero=off" ;;
  test)
    PG_PORT=25432 CH_TCP_PORT=29000 CH_HTTP_PORT=28123 CH_INTERSERVER_PORT=29009
    # Durability is worthless for throw-away test data; these make the test
    # server much faster. Never used for dev.
    PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" ;;
  *) die "unknown profile '$PROFILE' (dev or test)" ;;
esac

DATA=$REPO/.data/$PROFILE
PG_HOME=$DATA/postgres          # owned by the postgres user when we run as root
PGDATA=$PG_HOME/data
PG_SOCK=$PG_HOME/run
PG_LOG=$PG_HOME/postgres.log
CH_HOME=$DATA/clickhouse
CH_CONF=$CH_HOME/config.xml
CH_PID=$CH_HOME/clickhouse-server.pid
CH_LOG=$CH_HOME/clickhouse-server.out.log

IS_ROOT=false
[ "$(id -u)" = 0 ] && IS_ROOT=true

# ---------------------------------------------------------------- installing

# apt_install PKG: install a Debian package. `apt-get update` only when the
# plain install fails (stale or empty package lists).
apt_install() {
  local pkg=$1
  $IS_ROOT || die "'$pkg' is not installed; install it first (e.g. sudo apt-get install -y $pkg)"
  command -v apt-get >/dev/null || die "'$pkg' is not installed and there is no apt-get; install $pkg yourself"
  log "installing $pkg with apt-get (one time)"
  # Wait for another apt/dpkg run instead of failing on its lock.
  local apt=(apt-get -y -q -o DPkg::Lock::Timeout=600)
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$pkg" </dev/null >&2; then
    log "install failed; running apt-get update and trying again"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" update </dev/null >&2
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$pkg" </dev/null >&2 \
      || die "apt-get install $pkg failed"
  fi
}

# Put the PostgreSQL server binaries on PATH (Debian keeps them under
# /usr/lib/postgresql/<major>/bin), installing the package if needed.
find_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && PATH=$PATH:$d
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null
}
ensure_postgres() {
  if ! find_pg_bin; then
    apt_install postgresql
    find_pg_bin || die "initdb/pg_ctl still not found after installing postgresql"
  fi
  command -v psql >/dev/null || apt_install postgresql-client
}

find_ch_bin() {
  command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null
}
ensure_clickhouse() {
  if ! find_ch_bin; then
    $IS_ROOT || die "'clickhouse-server' is not installed; install it first (e.g. sudo apt-get install -y clickhouse-server clickhouse-client), then disable the system-wide service the package starts (sudo systemctl disable --now clickhouse-server): the project runs its own"
    install_clickhouse_server
    command -v clickhouse-client >/dev/null || apt_install clickhouse-client
    find_ch_bin || die "clickhouse-server still not found after installing clickhouse-server"
  fi
}

# The clickhouse-server package enables and starts a system-wide service
# (systemd unit and /etc/init.d script) on the default ports 9000/8123, with
# its data in /var/lib/clickhouse: a second ClickHouse beside the project's
# own. While the package installs, a policy-rc.d (unless the machine has
# one) keeps any service from starting; afterwards the service is disabled,
# so it does not start at boot either. `systemctl enable --now
# clickhouse-server` undoes it for whoever wants that server.
POLICY_RC_D=/usr/sbin/policy-rc.d
install_clickhouse_server() {
  local own_policy=false
  if [ ! -e "$POLICY_RC_D" ]; then
    printf '#!/bin/sh\n# kirjuri scripts/servers.sh: no service starts while clickhouse-server installs\nexit 101\n' >"$POLICY_RC_D"
    chmod 755 "$POLICY_RC_D"
    own_policy=true
    trap 'rm -f "$POLICY_RC_D"' EXIT
  fi
  apt_install clickhouse-server
  if $own_policy; then
    rm -f "$POLICY_RC_D"
    trap - EXIT
  fi
  log "disabling the system-wide clickhouse-server service the package enabled (the project runs its own, under .data/)"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now clickhouse-server.service >/dev/null 2>&1 || true
  else
    # No systemd running (a container): the unit's enable link and the
    # init script's start links are removed. (Never the init script's
    # `stop`: it kills every clickhouse-server on the machine, ours too.)
    if command -v deb-systemd-helper >/dev/null; then deb-systemd-helper disable clickhouse-server.service >/dev/null 2>&1 || true; fi
    if command -v update-rc.d >/dev/null; then update-rc.d clickhouse-server disable >/dev/null 2>&1 || true; fi
  fi
}

ensure_curl() { command -v curl >/dev/null || apt_install curl; }

# proc_cmdline_has PID TEXT: is PID alive with TEXT in its command line?
# A pid file may name a PID that now belongs to some other process; a
# zombie has an empty command line, so it never counts.
proc_cmdline_has() {
  local cmdline
  cmdline=$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]]
}

# alive PID: running and not a zombie (kill -0 also succeeds on zombies,
# which linger when the container's PID 1 is slow to reap orphans).
alive() {
  local state
  state=$( { sed -E 's/.*\) (.).*/\1/' "/proc/$1/stat"; } 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# ---------------------------------------------------------------- locking

# One `up`/`down` at a time per profile (tests may call start/stop-clickhouse
# while a developer runs `up`). The lock fd is closed for the servers we
# start (9>&-), otherwise they would hold the lock forever.
take_lock() {
  mkdir -p "$DATA"
  exec 9>"$DATA/.servers.lock"
  flock -w 300 9 || die "timed out waiting for another servers.sh run on $DATA"
}

# ---------------------------------------------------------------- PostgreSQL

# PostgreSQL refuses to run as root: run its tools as the postgres user
# (from /, so they do not complain about an unreadable working directory).
as_pg() {
  if $IS_ROOT; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -t 2 >/dev/null 2>&1; }

psql_q() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$@"; }

# As root, the postgres user must own its folders and be able to traverse
# every folder above them (e.g. a home folder with mode 700).
pg_fix_permissions() {
  $IS_ROOT || return 0
  id postgres >/dev/null 2>&1 || die "there is no 'postgres' user (install the postgresql package)"
  mkdir -p "$PG_HOME"
  if [ "$(stat -c %U "$PG_HOME")" != postgres ] \
     || [ -n "$(find "$PG_HOME" ! -user postgres -print -quit)" ]; then
    chown -R postgres: "$PG_HOME"
  fi
  # Top-down, so each folder is tested with all of its parents already open.
  local d path=""
  local IFS=/
  for d in ${DATA#/}; do
    path=$path/$d
    if ! runuser -u postgres -- test -x "$path" 2>/dev/null; then
      log "making $path traversable (o+x) for the postgres user"
      chmod o+x "$path"
    fi
  done
}

pg_init() {
  [ -f "$PGDATA/PG_VERSION" ] && return 0
  local locale=C
  locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' && locale=C.UTF-8
  log "initialising PostgreSQL in $PGDATA (locale $locale)"
  # initdb into a scratch folder and rename it, so an interrupted initdb
  # never leaves a half-made data folder that looks initialised.
  local tmp=$PGDATA.init
  rm -rf "$tmp"
  as_pg initdb -D "$tmp" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale="$locale" \
    >"$PG_HOME/initdb.log" 2>&1 || { cat "$PG_HOME/initdb.log" >&2; die "initdb failed"; }
  $IS_ROOT && chown postgres: "$PG_HOME/initdb.log"
  mv "$tmp" "$PGDATA"
}

# The server's own log must hold no personal data. By default an error
# is logged with its DETAIL ("Key (lower(email))=(matti@example.fi) already
# exists", "Failing row contains (...)") and the statement that failed.
# terse drops DETAIL, HINT and CONTEXT; panic keeps failed statements out;
# parameters are never logged, neither with errors nor with slow statements;
# no statements are logged (log_statement) and none for their duration.
PG_LOG_SETTINGS=(
  log_error_verbosity=terse
  log_min_error_statement=panic
  log_parameter_max_length=0
  log_parameter_max_length_on_error=0
  log_statement=none
  log_min_duration_statement=-1
)

# pg_apply_log_settings: write PG_LOG_SETTINGS into the data folder's
# postgresql.auto.conf (ALTER SYSTEM) and reload, so that data folders
# initialised before these settings, and servers already running, get them
# too. Only for our own server.
pg_apply_log_settings() {
  local kv name value changed=false
  for kv in "${PG_LOG_SETTINGS[@]}"; do
    name=${kv%%=*} value=${kv#*=}
    if [ "$(psql_q -d postgres -tAc "SELECT setting FROM pg_settings WHERE name = '$name'")" != "$value" ] \
       || ! grep -qE "^$name = '?$value'?\$" "$PGDATA/postgresql.auto.conf" 2>/dev/null; then
      psql_q -d postgres -c "ALTER SYSTEM SET $name = '$value'" >/dev/null
      changed=true
    fi
  done
  if $changed; then
    log "PostgreSQL log settings applied (no personal data in $PG_LOG)"
    psql_q -d postgres -tAc 'SELECT pg_reload_conf()' >/dev/null
  fi
}

# Lock files left behind by a killed server: postmaster.pid and the socket's
# .lock. PostgreSQL refuses to start while the PID in them exists at all,
# even when it now belongs to another process or is a not yet reaped zombie.
pg_clear_stale_pid() {
  local f pid
  for f in "$PGDATA/postmaster.pid" "$PG_SOCK/.s.PGSQL.$PG_PORT.lock"; do
    [ -f "$f" ] || continue
    pid=$(head -n 1 "$f")
    if [ -n "$pid" ] && proc_cmdline_has "$pid" "-D $PGDATA"; then
      return 0   # a live postmaster of ours (still starting, or stuck)
    fi
    log "removing stale $f (pid $pid is not our postmaster)"
    rm -f "$f"
  done
}

pg_up() {
  ensure_postgres
  if pg_answers; then
    local dir
    dir=$(psql_q -d postgres -tAc 'SHOW data_directory' 2>/dev/null || echo '?')
    if [ "$dir" = "$PGDATA" ]; then
      log "PostgreSQL already running on 127.0.0.1:$PG_PORT, reusing it"
      pg_apply_log_settings
    else
      log "warning: reusing the PostgreSQL that answers on 127.0.0.1:$PG_PORT, whose data folder is $dir, not $PGDATA"
    fi
  else
    pg_fix_permissions
    pg_init
    if [ "$(cat "$PGDATA/PG_VERSION")" != "$(pg_ctl --version | grep -oE '[0-9]+' | head -n 1)" ]; then
      die "$PGDATA was made by PostgreSQL $(cat "$PGDATA/PG_VERSION"), but $(pg_ctl --version) is installed; remove $PG_HOME to start over"
    fi
    pg_clear_stale_pid
    mkdir -p "$PG_SOCK"; $IS_ROOT && chown postgres: "$PG_SOCK"
    # Unix socket paths are limited to 107 bytes; with a very deep checkout
    # go without one (everything connects over TCP anyway).
    local sock=$PG_SOCK
    [ ${#sock} -gt 90 ] && sock=""
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log $PG_LOG)"
    as_pg pg_ctl -D "$PGDATA" -l "$PG_LOG" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$sock' -c max_connections=200 ${PG_LOG_SETTINGS[*]/#/-c } $PG_EXTRA_OPTS" \
      start >/dev/null 9>&- || { tail -n 20 "$PG_LOG" >&2 || true; die "PostgreSQL did not start"; }
    pg_apply_log_settings
  fi
  if [ "$(psql_q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
    log "creating database $PG_DB"
    psql_q -d postgres -c "CREATE DATABASE $PG_DB" >/dev/null
  fi
}

pg_down() {
  if [ -f "$PGDATA/postmaster.pid" ] && find_pg_bin \
     && as_pg pg_ctl -D "$PGDATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_pg pg_ctl -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
    return 0
  fi
  if pg_answers; then
    log "warning: something answers on 127.0.0.1:$PG_PORT but it is not the server in $PGDATA; left alone"
  else
    log "PostgreSQL is not running"
  fi
}

# ---------------------------------------------------------------- ClickHouse

ch_answers() { [ "$(curl -s -m 2 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null)" = "Ok." ]; }

# PID of our clickhouse-server: from the pid file if that process is still a
# clickhouse-server using our config, otherwise by looking for that config.
ch_pid() {
  local pid
  if [ -f "$CH_PID" ]; then
    pid=$(cat "$CH_PID")
    if [ -n "$pid" ] && proc_cmdline_has "$pid" "--config-file=$CH_CONF"; then
      echo "$pid"; return 0
    fi
  fi
  pgrep -f -- "--config-file=$CH_CONF\$" | head -n 1
}

# Copy the packaged configuration and point everything at our folders.
ch_write_config() {
  mkdir -p "$CH_HOME"/{data,tmp,user_files,format_schemas,log}
  cp /etc/clickhouse-server/config.xml "$CH_CONF"
  cp /etc/clickhouse-server/users.xml "$CH_HOME/users.xml"
  sed -i -E \
    -e "s#/var/lib/clickhouse/tmp/#$CH_HOME/tmp/#g" \
    -e "s#/var/lib/clickhouse/user_files/#$CH_HOME/user_files/#g" \
    -e "s#/var/lib/clickhouse/format_schemas/#$CH_HOME/format_schemas/#g" \
    -e "s#/var/lib/clickhouse/#$CH_HOME/data/#g" \
    -e "s#/var/log/clickhouse-server/#$CH_HOME/log/#g" \
    -e "s#<users_config>[^<]*</users_config>#<users_config>$CH_HOME/users.xml</users_config>#" \
    -e "s#<http_port>[0-9]+</http_port>#<http_port>$CH_HTTP_PORT</http_port>#" \
    -e "s#<tcp_port>[0-9]+</tcp_port>#<tcp_port>$CH_TCP_PORT</tcp_port>#" \
    -e "s#<interserver_http_port>[0-9]+</interserver_http_port>#<interserver_http_port>$CH_INTERSERVER_PORT</interserver_http_port>#" \
    -e '/<listen_host>/d' \
    -e "s#^</yandex>#    <!-- kirjuri: loopback IPv4 only; no substitutions from /etc/metrika.xml -->\n    <listen_host>127.0.0.1</listen_host>\n    <include_from>$CH_HOME/metrika.xml</include_from>\n</yandex>#" \
    "$CH_CONF"
  # An empty substitutions file: the packaged config would otherwise read
  # /etc/metrika.xml (cluster/ZooKeeper settings of the machine) if present.
  echo '<yandex></yandex>' >"$CH_HOME/metrika.xml"
  # The default user may connect from loopback only.
  sed -i -E 's#<ip>::/0</ip>#<ip>::1</ip><ip>127.0.0.1</ip>#' "$CH_HOME/users.xml"
  # Refuse to start with a config that still points outside the data folder.
  if grep -nE '/var/(lib|log)/clickhouse|<listen_host>::|<(http|tcp)_port>(8123|9000)<' "$CH_CONF"; then
    die "could not rewrite $CH_CONF (see lines above)"
  fi
}

ch_start() {
  ensure_clickhouse
  ensure_curl
  if ch_answers; then
    if [ -n "$(ch_pid || true)" ]; then
      log "ClickHouse already running on 127.0.0.1:$CH_TCP_PORT, reusing it"
    else
      log "warning: reusing the ClickHouse that answers on 127.0.0.1:$CH_HTTP_PORT, not started from $CH_HOME"
    fi
  else
    local pid
    pid=$(ch_pid || true)
    if [ -z "$pid" ]; then
      [ -f "$CH_PID" ] && log "removing stale $CH_PID"
      rm -f "$CH_PID"
      ch_write_config
      log "starting ClickHouse on 127.0.0.1:$CH_TCP_PORT (http $CH_HTTP_PORT, log $CH_LOG)"
      # setsid: its own session, so a Ctrl-C in the terminal that ran
      # `task run` does not reach it. nohup: survive the terminal closing.
      (cd "$CH_HOME" && exec setsid nohup clickhouse-server --config-file="$CH_CONF" \
        </dev/null >>"$CH_LOG" 2>&1 9>&-) &
      pid=$!
      echo "$pid" >"$CH_PID"
    else
      log "clickhouse-server (pid $pid) is running but not answering yet; waiting"
    fi
    local i
    for i in $(seq 1 120); do
      ch_answers && break
      alive "$pid" || { tail -n 30 "$CH_LOG" "$CH_HOME/log/clickhouse-server.err.log" >&2 2>/dev/null || true; rm -f "$CH_PID"; die "clickhouse-server exited during start"; }
      sleep 0.5
    done
    ch_answers || { tail -n 30 "$CH_HOME/log/clickhouse-server.err.log" >&2 2>/dev/null || true; die "ClickHouse did not answer within 60 s"; }
  fi
  clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" -q "CREATE DATABASE IF NOT EXISTS $CH_DB"
}

ch_stop() {
  local pid i
  pid=$(ch_pid || true)
  if [ -z "$pid" ]; then
    rm -f "$CH_PID"
    if ch_answers 2>/dev/null; then
      log "warning: something answers on 127.0.0.1:$CH_HTTP_PORT but it is not the server in $CH_HOME; left alone"
    else
      log "ClickHouse is not running"
    fi
    return 0
  fi
  log "stopping ClickHouse (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do
    alive "$pid" || break
    sleep 0.5
  done
  if alive "$pid"; then
    log "ClickHouse did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.2; done
  fi
  rm -f "$CH_PID"
}

# ---------------------------------------------------------------- commands

# For `eval "$(scripts/servers.sh env)"`; quoted because of the `?`, which
# zsh would otherwise take for a glob.
print_env() {
  echo "export KIRJURI_DATABASE_URL='postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable'"
  echo "export KIRJURI_CLICKHOUSE_URL='clickhouse://127.0.0.1:$CH_TCP_PORT/$CH_DB'"
}

status() {
  if pg_answers; then
    echo "postgres   $PROFILE: running on 127.0.0.1:$PG_PORT ($PGDATA)"
  else
    echo "postgres   $PROFILE: not running"
  fi
  if ch_answers; then
    echo "clickhouse $PROFILE: running on 127.0.0.1:$CH_TCP_PORT, http $CH_HTTP_PORT (pid $(ch_pid || echo '?'))"
  else
    echo "clickhouse $PROFILE: not running"
  fi
}

case "$CMD" in
  up)
    take_lock
    start=$SECONDS
    pg_up
    ch_start
    log "up in $((SECONDS - start)) s"
    ;;
  down)             take_lock; pg_down; ch_stop ;;
  start-clickhouse) take_lock; ch_start ;;
  stop-clickhouse)  take_lock; ch_stop ;;
  status)           status ;;
  env)              print_env ;;
  *)                usage ;;
esac
