#!/usr/bin/env bash
# CI services: PostgreSQL and Redis from Debian's packages, installed if missing and started on
# 127.0.0.1. The tests' PostgreSQL default is postgresql+asyncpg://postgres@127.0.0.1:5432/test
# (tests/support/db.py), so loopback connections are trusted and database "test" is created.
# Sourced by .ci/run; safe to run again (every step checks before it acts).
set -euo pipefail

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci/services: not root on a Debian machine: PostgreSQL and Redis are not installed here;" \
       "their tests skip with the reason" >&2
  return 0 2>/dev/null || exit 0
fi

need=()
command -v pg_ctlcluster >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
  || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "ci/services: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL: the first cluster Debian made, trusted on loopback (a throwaway CI machine).
read -r pg_version pg_cluster _ < <(pg_lsclusters --no-header | head -n 1)
hba=/etc/postgresql/$pg_version/$pg_cluster/pg_hba.conf
if ! grep -Eq '^host +all +all +127\.0\.0\.1/32 +trust' "$hba"; then
  sed -i -E 's#^(host +all +all +127\.0\.0\.1/32 +)[a-z0-9-]+#\1trust#' "$hba"
fi
pg_ctlcluster "$pg_version" "$pg_cluster" start 2>/dev/null || pg_ctlcluster "$pg_version" "$pg_cluster" reload
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
su postgres -c "psql -tAc \"select 1 from pg_database where datname='test'\"" | grep -q 1 \
  || su postgres -c "createdb test"

# Redis: LiveKit's SIP store and bus (tests/e2e); loopback only, nothing persisted.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi
echo "ci/services: PostgreSQL $pg_version on 127.0.0.1:5432, Redis on 127.0.0.1:6379"
