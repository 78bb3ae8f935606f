#!/usr/bin/env bash
# The test command: installs what the tests need, starts a throw-away MariaDB, runs every quality
# gate (`make check`: ruff, mypy, import-linter, pytest), and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -c requirements-lock.txt -e ".[dev]"
bash scripts/mariadb-test-up.sh
trap 'bash scripts/mariadb-test-down.sh' EXIT
export DA_TEST_MYSQL_URL="mysql://da:da-pass@127.0.0.1:${DA_MYSQL_PORT:-33306}/deploy_assistant_test?charset=utf8mb4"
export NO_PROXY=127.0.0.1,localhost
make lint type
rc=0
.venv/bin/python -m pytest -q -m "not llm and not slow" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass." >&2
  exit 1
fi
exit "$rc"
