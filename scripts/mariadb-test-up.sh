#!/usr/bin/env bash
# Start a private, throw-away MariaDB on 127.0.0.1:$DA_MYSQL_PORT (datadir on tmpfs). Runs as root.
set -euo pipefail
BASE=${DA_MYSQL_BASE:-/dev/shm/da-mariadb}
PORT=${DA_MYSQL_PORT:-33306}
PATH="$PATH:/usr/sbin"
if ! command -v mariadbd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mariadb-server >/dev/null
fi
if [ -f "$BASE/server.pid" ] && kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null; then
  echo "mariadb already running: pid=$(cat "$BASE/server.pid") port=$PORT"
  exit 0
fi
rm -rf "$BASE"; mkdir -p "$BASE/data"
mariadb-install-db --no-defaults --user=root --datadir="$BASE/data" \
  --auth-root-authentication-method=socket --skip-test-db \
  --innodb-log-file-size=16M > "$BASE/install.log" 2>&1
mariadbd --no-defaults --user=root --datadir="$BASE/data" \
  --socket="$BASE/mysqld.sock" --pid-file="$BASE/mysqld.pid" \
  --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve \
  --log-error="$BASE/error.log" \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
  --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
  --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-flush-method=nosync \
  --innodb-fast-shutdown=3 --innodb-buffer-pool-dump-at-shutdown=0 --innodb-buffer-pool-load-at-startup=0 \
  > "$BASE/stdout.log" 2>&1 &
echo $! > "$BASE/server.pid"
for _ in $(seq 1 300); do
  mariadb-admin --no-defaults --socket="$BASE/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
  kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null || { cat "$BASE/error.log"; exit 1; }
  sleep 0.1
done
mariadb --no-defaults --socket="$BASE/mysqld.sock" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS deploy_assistant_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'da'@'127.0.0.1' IDENTIFIED BY 'da-pass';
GRANT ALL PRIVILEGES ON \`deploy\_assistant\_test%\`.* TO 'da'@'127.0.0.1';
SQL
echo "mariadb ready: pid=$(cat "$BASE/server.pid") port=$PORT"
