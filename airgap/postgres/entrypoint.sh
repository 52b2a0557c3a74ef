#!/bin/bash
# Entry point of podlife/postgres: first-start initialisation as the official image does it.
#  - as root: make $PGDATA the postgres user's (a mounted volume arrives owned by root),
#    then run again as postgres;
#  - an empty $PGDATA is initialised with POSTGRES_USER / POSTGRES_PASSWORD and gets the
#    database POSTGRES_DB, using a server that listens on no TCP port, so nothing can
#    connect before the database is complete;
#  - then the server runs in the foreground on all interfaces, port 5432.
set -euo pipefail

if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "podlife/postgres: POSTGRES_PASSWORD is not set; refusing to initialise a database without one" >&2
    exit 1
  fi
  echo "podlife/postgres: initialising $PGDATA for user '$user', database '$db'"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  printf "host all all all scram-sha-256\n" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -q \
      -c "CREATE DATABASE \"$db\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "podlife/postgres: initialisation complete"
fi

exec postgres -c listen_addresses='*' -c port=5432 -c log_line_prefix='%m [%p] ' "${@:2}"
