#!/usr/bin/env bash
# A private PostgreSQL server for the tests (issue 14): Debian's `postgresql` package,
# its own cluster under target/pg, listening on 127.0.0.1 only, on a free port, its unix
# socket in a private directory, trust for one role (`tessera`, may create databases, not
# a superuser) from loopback and nothing else. Durability is off (fsync=off): a test
# cluster, thrown away at will.
#
#   scripts/postgres.sh start    starts it (installs and initialises it first if needed)
#                                and prints its URL, postgres://tessera@127.0.0.1:PORT/tessera
#   scripts/postgres.sh url      prints the URL of the running server
#   scripts/postgres.sh pid      prints the server's (postmaster's) process id
#   scripts/postgres.sh status   says whether it runs
#   scripts/postgres.sh stop     stops it (pg_ctl stop -m fast); data stays for the next start
#   scripts/postgres.sh destroy  stops it and deletes the cluster
#
# Each command may be run again: `start` on a running server prints its URL, `stop` on a
# stopped one does nothing. `start` drops the per-test databases a killed run left behind
# (tessera_t_*). Messages go to stderr, the URL alone to stdout:
#
#   export TESSERA_TEST_POSTGRES_URL=$(scripts/postgres.sh start)
#
# As root (CI) the server runs as Debian's `postgres` system user, which owns the cluster
# (PostgreSQL refuses to run as root); as another user, as that user. Where the postgres
# user cannot reach target/ (a checkout under /root), the cluster goes to
# /var/tmp/tessera-pg-<checksum of the checkout path> instead. TESSERA_PG_DIR chooses
# another directory.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

role=tessera
is_root=0
[ "$(id -u)" = 0 ] && is_root=1

# Runs a command as the user that owns the cluster.
as_owner() {
  if [ "$is_root" = 1 ]; then
    # From /, which the postgres user can enter (the checkout may not be reachable).
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && printf '%s\n' "$d"
}

install_postgres() {
  [ -n "$(pg_bin)" ] && return 0
  if [ "$is_root" != 1 ]; then
    die "PostgreSQL is not installed: apt-get install postgresql (as root), or point the tests at a server with TESSERA_TEST_POSTGRES_URL"
  fi
  say "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Without the default cluster (15/main on port 5432) the package would create and start:
  # the tests use their own.
  apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
  sed -ri 's/^#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  [ -n "$(pg_bin)" ] || die "the postgresql package installed no server under /usr/lib/postgresql"
}

base_dir() {
  if [ -n "${TESSERA_PG_DIR:-}" ]; then
    printf '%s\n' "$TESSERA_PG_DIR"
  elif [ "$is_root" = 1 ] && ! runuser -u postgres -- test -x "$repo" 2>/dev/null; then
    printf '/var/tmp/tessera-pg-%s\n' "$(printf '%s' "$repo" | cksum | cut -d ' ' -f 1)"
  else
    printf '%s\n' "$repo/target/pg"
  fi
}

base=$(base_dir)
data=$base/data
# A unix socket path has at most 107 bytes: a deep checkout puts the socket under /tmp.
sock=$base/run
if [ "${#sock}" -gt 80 ]; then
  sock=/tmp/tessera-pg-run-$(printf '%s' "$base" | cksum | cut -d ' ' -f 1)
fi
log=$base/server.log
port_file=$base/port

running() {
  local bin
  bin=$(pg_bin) || return 1
  [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1
}

url() {
  [ -f "$port_file" ] || die "no server was started here ($base)"
  printf 'postgres://%s@127.0.0.1:%s/%s\n' "$role" "$(cat "$port_file")" "$role"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# psql as the cluster's superuser over the private socket.
admin_sql() {
  as_owner "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$(cat "$port_file")" -d postgres "$@"
}

init_cluster() {
  local bin=$1
  say "initialising a cluster in $data"
  mkdir -p "$base"
  if [ "$is_root" = 1 ]; then
    chown postgres: "$base"
  fi
  chmod 700 "$base"
  as_owner "$bin/initdb" -D "$data" --no-sync --no-locale -E UTF8 \
    --auth-local=peer --auth-host=reject >/dev/null
  # The owner through the socket (a private directory) by its OS name; the test role from
  # 127.0.0.1 without a password; everything else refused.
  as_owner sh -c 'cat > "$1/pg_hba.conf"' sh "$data" <<EOF
local all all peer
host all $role 127.0.0.1/32 trust
EOF
}

start() {
  install_postgres
  local bin
  bin=$(pg_bin)
  if running; then
    say "already running ($data)"
  else
    if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$(basename "$(dirname "$bin")")" ]; then
      say "the cluster in $data is of another PostgreSQL version: recreating it"
      rm -rf "$data"
    fi
    [ -f "$data/PG_VERSION" ] || init_cluster "$bin"
    as_owner mkdir -p "$sock"
    as_owner chmod 700 "$sock"
    local tries=0 port
    while :; do
      port=$(free_port)
      printf '%s\n' "$port" >"$port_file"
      if as_owner "$bin/pg_ctl" start -D "$data" -l "$log" -w -t 60 -s -o "\
-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$sock \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"; then
        break
      fi
      tries=$((tries + 1))
      [ "$tries" -lt 3 ] || die "the server did not start: $(tail -n 20 "$log" 2>/dev/null)"
      say "start failed on port $port (taken meanwhile?); trying another"
    done
    say "started on 127.0.0.1:$port ($data, log $log)"
  fi
  # The test role and its database, then the databases a killed run left behind.
  admin_sql <<EOF
SELECT format('CREATE ROLE %I LOGIN CREATEDB', '$role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$role', '$role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$role') \gexec
SELECT format('DROP DATABASE %I WITH (FORCE)', datname)
  FROM pg_database WHERE datname LIKE 'tessera\_t\_%' \gexec
EOF
  as_owner "$bin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$port_file")" -U "$role" -d "$role" ||
    die "the server does not answer on 127.0.0.1:$(cat "$port_file")"
  url
}

stop() {
  if running; then
    as_owner "$(pg_bin)/pg_ctl" stop -D "$data" -m fast -w -s
    say "stopped ($data)"
  else
    say "not running ($data)"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) running || die "not running ($data)"; url ;;
  pid) running || die "not running ($data)"; head -n 1 "$data/postmaster.pid" ;;
  status) if running; then say "running: $(url)"; else say "not running ($data)"; exit 3; fi ;;
  destroy) stop; rm -rf "$base" "$sock"; say "deleted $base" ;;
  *) die "usage: scripts/postgres.sh start|stop|url|pid|status|destroy" ;;
esac
