#!/usr/bin/env bash
# Stop the MariaDB that mariadb-test-up.sh started, and remove its data.
BASE=${DA_MYSQL_BASE:-/dev/shm/da-mariadb}
[ -f "$BASE/server.pid" ] || exit 0
PID=$(cat "$BASE/server.pid")
if kill -0 "$PID" 2>/dev/null; then
  kill -TERM "$PID"
  for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"
fi
rm -rf "$BASE"
