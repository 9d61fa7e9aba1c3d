#!/bin/bash
# postgres:17's start, as far as this project relies on the official image's documented contract
# (https://github.com/docker-library/docs/blob/master/postgres/README.md, "Environment Variables"):
#
#   POSTGRES_PASSWORD  required on first start: the superuser's password, which every TCP
#                      connection must give (scram-sha-256); the container's own socket is trusted
#   POSTGRES_USER      the superuser's name (postgres unless set)
#   POSTGRES_DB        the database made on first start (POSTGRES_USER's name unless set)
#   PGDATA             the cluster's folder; initdb fills it when it holds no cluster, and only
#                      then do the three variables above count
#
# The server listens on every address and runs as the postgres user in place of this script
# (exec), so it is PID 1 and receives `docker stop`'s signal itself (SIGINT, the Containerfile's
# STOPSIGNAL: a fast shutdown). Options alone (`-c work_mem=64MB`) are the server's; any other
# command runs as given, as root.
set -euo pipefail

case "${1:-}" in -*) set -- postgres "$@" ;; esac
[ "${1:-}" = postgres ] || exec "$@"

if [ "$(id -u)" = 0 ]; then
  # A fresh volume may belong to root; the socket folder may be on a fresh /run.
  install -d -o postgres -g postgres -m 700 "$PGDATA"
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "entrypoint: POSTGRES_PASSWORD is required to make the cluster in $PGDATA" >&2
    exit 1
  fi
  user="${POSTGRES_USER:-postgres}"
  database="${POSTGRES_DB:-$user}"
  initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    -c 'listen_addresses=*'
  # initdb's rules name the loopback addresses only; every other host gives the password too.
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  if [ "$database" != postgres ]; then
    # A standalone backend, so nothing listens (and no healthcheck passes) before the database
    # exists; it runs as initdb's superuser, who therefore owns the database.
    postgres --single -D "$PGDATA" postgres >/dev/null \
      <<<"CREATE DATABASE \"${database//\"/\"\"}\""
  fi
  echo "entrypoint: made the cluster in $PGDATA with superuser \"$user\" and database \"$database\""
fi

exec "$@"
