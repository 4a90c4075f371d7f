#!/usr/bin/env bash
# run.sh BINARY - what `make run` does after building: start the local
# PostgreSQL under .local/ (unless DATABASE_URL names another), migrate, and
# serve until Ctrl-C; then stop the database if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
pgdir=.local/pg

if [[ -z ${DATABASE_URL:-} ]]; then
	if ! tools/pg.sh status "$pgdir"; then
		trap 'tools/pg.sh stop "$pgdir" && echo "postgresql: stopped"' EXIT
	fi
	tools/pg.sh start "$pgdir"
	DATABASE_URL=$(tools/pg.sh url "$pgdir")
	export DATABASE_URL
fi

# Encryption keys for the local instance, made once, kept beside its data.
if [[ -z ${TIAOJIE_KEY_FILE:-} && -z ${TIAOJIE_MASTER_KEY:-} ]]; then
	[[ -e .local/master.key ]] || "$bin" keygen .local/master.key
	export TIAOJIE_KEY_FILE=.local/master.key
fi

"$bin" migrate
admins=$(psql "$DATABASE_URL" -X -A -t -q -c \
	"SELECT count(*) FROM users WHERE role = 'admin' AND active" 2>/dev/null || echo "?")
if [[ $admins == 0 ]]; then
	echo "tiaojie: no administrator yet. In another terminal, create the first one"
	echo "         (it reads the password, 12 to 128 characters, from standard input):"
	echo "  DATABASE_URL='$DATABASE_URL' $bin user add --role admin --name 'Administrator' admin"
fi
echo "tiaojie: serving on http://${TIAOJIE_LISTEN:-127.0.0.1:8080} (Ctrl-C stops)"
echo "tiaojie: try  curl http://${TIAOJIE_LISTEN:-127.0.0.1:8080}/api/v1/regions"
# Not exec: the trap above must run when the server has stopped.
"$bin" serve || status=$?
exit "${status:-0}"
