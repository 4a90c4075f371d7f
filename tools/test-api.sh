#!/usr/bin/env bash
# test-api.sh BINARY [TESTS...] - the API tests (all of tests/api by default): black-box HTTP against the real
# server on a real PostgreSQL, through a validating proxy. Uses the local
# cluster under .local/ (started here if needed, stopped again if so); each
# test run makes its own databases in it and drops them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
pgdir=.local/pg

if ! tools/pg.sh status "$pgdir"; then
	trap 'tools/pg.sh stop "$pgdir"' EXIT
fi
tools/pg.sh start "$pgdir" >/dev/null

export TIAOJIE_BIN=$1
export TIAOJIE_PROBE=$(dirname "$1")/crypt-probe
export TIAOJIE_TEST_PGDIR=$pgdir
# Debian's interpreter, where python3-pytest is installed.
shift
/usr/bin/python3 -m pytest -q -p no:cacheprovider "${@:-tests/api}"
