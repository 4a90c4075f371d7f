#!/usr/bin/env bash
# bench.sh BINARY BASELINE - what `make bench` does after building: measures
# the server on this machine, against a minimal baseline server (bench/
# baseline.c) that makes the same database round trips, and writes the
# figures to docs/BENCHMARKS.md (one section per data size; sections of
# other sizes are kept).
#
#   1. wrk (Debian's package), installed if missing as tools/deps.sh installs
#   2. its own PostgreSQL cluster in .local/bench-pg (tools/pg.sh), tuned for
#      a 2-core, 24 GiB machine; a fresh database "bench", migrated
#   3. `tiaojie gen-demo`: BENCH_COUNTIES counties (50), BENCH_CASES cases
#      (100000), timed; then VACUUM ANALYZE. BENCH_REUSE=1 keeps the data of
#      an earlier run of the same size instead (the runs add a few cases;
#      newer migrations are applied to it).
#   4. the server (TIAOJIE_WORKERS=BENCH_WORKERS, 4; log level warn), users:
#      an administrator (`tiaojie user add`), a mediator linked to a mediator
#      of the busiest committee, federation staff of the busiest city, a
#      hotline operator
#   5. each scenario: wrk -t BENCH_THREADS (2) -c BENCH_CONNECTIONS (256) for
#      BENCH_SECONDS (10) after a 3-second warm-up, on loopback, with a Lua
#      script of bench/; sign-in last, with as many connections as passwords
#      are hashed at once (TIAOJIE_HASH_CONCURRENCY, 2)
#   6. the server's peak RSS (VmHWM, reset after the set-up's sign-ins) after
#      the 256-connection scenarios, and again after sign-in (each Argon2id
#      hash takes 64 MiB); coverage and dashboards again with one connection
#      (latency without queueing)
#
# The full size of the goals: BENCH_COUNTIES=2850 BENCH_CASES=10000000 make bench
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-build/rel/tiaojie}
baseline=${2:-build/rel/bench-baseline}
counties=${BENCH_COUNTIES:-50}
cases=${BENCH_CASES:-100000}
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-256}
threads=${BENCH_THREADS:-2}
workers=${BENCH_WORKERS:-4}
jobs=${BENCH_JOBS:-2}
warmup=3
port=${BENCH_PORT:-18080}
base_port=$((port + 1))
pgdir=.local/bench-pg
run=.local/bench-run
db=bench
doc=docs/BENCHMARKS.md

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

# --- wrk ------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
	if ((EUID == 0)); then
		as_root=(env DEBIAN_FRONTEND=noninteractive)
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
	else
		die "wrk is missing; install it with: sudo apt-get install wrk"
	fi
	say "installing wrk"
	log=$(mktemp)
	if ! { "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y \
		--no-install-recommends wrk; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		die "apt-get failed"
	fi
	rm -f "$log"
fi

# --- PostgreSQL ------------------------------------------------------------------
mkdir -p "$run"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	if [[ -n ${stop_pg:-} ]]; then
		tools/pg.sh stop "$pgdir" || true
	fi
}
trap cleanup EXIT
tools/pg.sh status "$pgdir" || stop_pg=1
tools/pg.sh start "$pgdir" >/dev/null
pgsql() { tools/pg.sh psql "$pgdir" "$@"; }

# Settings for this machine (2 cores, 24 GiB, SSD), applied once (a restart).
settings="shared_buffers=2GB effective_cache_size=12GB maintenance_work_mem=1GB
max_wal_size=8GB checkpoint_timeout=30min random_page_cost=1.1 max_connections=300"
for kv in $settings; do
	pgsql postgres -XAtq -c "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'" >/dev/null
done
pgsql postgres -XAtq -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
if [[ $(pgsql postgres -XAtq -c "SELECT count(*) FROM pg_settings WHERE pending_restart") != 0 ]]; then
	say "tuning the benchmark cluster (a restart)"
	tools/pg.sh stop "$pgdir"
	tools/pg.sh start "$pgdir" >/dev/null
fi
url=$(tools/pg.sh url "$pgdir" "$db")
export DATABASE_URL=$url
[[ -e .local/bench.key ]] || "$bin" keygen .local/bench.key >/dev/null
export TIAOJIE_KEY_FILE=.local/bench.key
unset TIAOJIE_MASTER_KEY

# --- data ------------------------------------------------------------------------------
marker=$run/data-size
size="$counties counties, $cases cases"
gen_line="(reused)"
gen_secs=0
vacuum_secs=0
if [[ ${BENCH_REUSE:-} == 1 && -f $marker && $(<"$marker") == "$size" ]]; then
	say "reusing the data of an earlier run ($size)"
	gen_line=$(cat "$run/gen-demo.txt")
	"$bin" migrate 2>"$run/migrate.log" || die "migrate failed: $(tail -3 "$run/migrate.log")"
else
	rm -f "$marker"
	pgsql postgres -XAtq -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" \
		>/dev/null 2>&1
	"$bin" migrate 2>"$run/migrate.log" || die "migrate failed: $(tail -3 "$run/migrate.log")"
	say "generating $size (gen-demo --jobs $jobs)"
	t0=$(date +%s.%N)
	"$bin" gen-demo --counties "$counties" --cases "$cases" --jobs "$jobs" | tee "$run/gen-demo.txt"
	t1=$(date +%s.%N)
	pgsql "$db" -XAtq -c "VACUUM ANALYZE" >/dev/null
	t2=$(date +%s.%N)
	gen_secs=$(awk "BEGIN {printf \"%.1f\", $t1 - $t0}")
	vacuum_secs=$(awk "BEGIN {printf \"%.1f\", $t2 - $t1}")
	gen_line=$(cat "$run/gen-demo.txt")
	echo "$size" >"$marker"
fi
q() { pgsql "$db" -XAtq -c "$1"; }
city=$(q "SELECT city_code FROM cases GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
county=$(q "SELECT county_code FROM cases WHERE city_code = '$city' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
committee=$(q "SELECT committee_id FROM cases WHERE county_code = '$county' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
mediator=$(q "SELECT mediator_id FROM mediator_committees WHERE committee_id = $committee AND ended_on IS NULL AND mediator_id NOT IN (SELECT mediator_id FROM users WHERE mediator_id IS NOT NULL) ORDER BY 1 LIMIT 1")
q "SELECT id FROM cases WHERE committee_id = $committee AND purged_at IS NULL ORDER BY random() LIMIT 5000" >"$run/ids"
db_size=$(q "SELECT pg_size_pretty(pg_database_size('$db'))")
counts=$(q "SELECT (SELECT count(*) FROM cases) || ' cases, ' || (SELECT count(*) FROM parties) || ' parties, ' || (SELECT count(*) FROM referrals) || ' referrals, ' || (SELECT count(*) FROM audit_log) || ' audit entries'")
committee_cases=$(wc -l <"$run/ids")
city_counties=$(q "SELECT count(*) FROM regions WHERE parent_code = '$city'")

# --- servers and users ------------------------------------------------------------------
TIAOJIE_LISTEN=127.0.0.1:$port TIAOJIE_WORKERS=$workers TIAOJIE_LOG_LEVEL=warn \
	TIAOJIE_MAX_CONNECTIONS=4000 TIAOJIE_MAX_CONNECTIONS_PER_IP=4000 \
	"$bin" serve 2>"$run/serve.log" &
server=$!
pids+=("$server")
BASELINE_PORT=$base_port BASELINE_WORKERS=$workers "$baseline" 2>"$run/baseline.log" &
pids+=($!)
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || die "the server did not start: $(tail -5 "$run/serve.log")"

json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
password() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
api() { # METHOD PATH TOKEN [BODY]
	curl -fsS -X "$1" "http://127.0.0.1:$port$2" -H "Authorization: Bearer $3" \
		-H 'Content-Type: application/json' ${4:+--data "$4"}
}
sign_in() { # USERNAME PASSWORD
	curl -fsS -X POST "http://127.0.0.1:$port/api/v1/sessions" -H 'Content-Type: application/json' \
		--data "{\"username\": \"$1\", \"password\": \"$2\"}" | json '["token"]'
}
stamp=$(date +%s)
admin=bench.admin.$stamp admin_pw=$(password)
echo "$admin_pw" | "$bin" user add --role admin --name 'Bench administrator' "$admin" >/dev/null
admin_token=$(sign_in "$admin" "$admin_pw")
new_user() { # ROLE EXTRA-JSON -> token
	local name=bench.$1.$stamp pw
	pw=$(password)
	api POST /api/v1/users "$admin_token" "{\"username\": \"$name\", \"display_name\": \"Bench $1\", \"role\": \"$1\", \"password\": \"$pw\"$2}" >/dev/null
	sign_in "$name" "$pw"
}
mediator_token=$(new_user mediator ", \"mediator_id\": $mediator")
federation_token=$(new_user federation ", \"region_code\": \"$city\"")
hotline_token=$(new_user hotline "")

# --- scenarios ------------------------------------------------------------------------------
results=$run/results.tsv
: >"$results"
# Waits until the database has no statement running but ours: a server still
# working off the requests of a run that wrk has ended must not slow the next.
quiesce() {
	local _
	for _ in $(seq 300); do
		[[ $(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND state <> 'idle'
			AND pid <> pg_backend_pid()") == 0 ]] && return
		sleep 0.1
	done
	sleep 1 # and in the server (a password hash outlives its connection)
}
scenario() { # NAME TARGET-PORT SCRIPT TOKEN CONNECTIONS [VAR=VALUE...]
	local name=$1 target=$2 script=$3 token=$4 c=$5 t=$threads
	shift 5
	((t <= c)) || t=$c
	say "scenario $name: ${c} connections, ${secs} s"
	env BENCH_TOKEN="$token" BENCH_IDS="$run/ids" BENCH_COMMITTEE="$committee" \
		BENCH_COUNTY="$county" "$@" \
		wrk -t "$t" -c "$c" -d "${warmup}s" --timeout 10s -s "bench/$script" \
		"http://127.0.0.1:$target" >/dev/null
	quiesce
	env BENCH_TOKEN="$token" BENCH_IDS="$run/ids" BENCH_COMMITTEE="$committee" \
		BENCH_COUNTY="$county" "$@" \
		wrk -t "$t" -c "$c" -d "${secs}s" --timeout 10s --latency -s "bench/$script" \
		"http://127.0.0.1:$target" >"$run/$name.txt"
	quiesce
	local line
	line=$(grep '^BENCH ' "$run/$name.txt") || die "no results from $name: $(cat "$run/$name.txt")"
	printf '%s\t%s\t%s\n' "$name" "$c" "${line#BENCH }" >>"$results"
}
# The peak RSS from here on: not the sign-ins above (each hash takes 64 MiB).
echo 5 >"/proc/$server/clear_refs" || say "cannot reset the server's VmHWM: it includes the sign-ins"
load=$(cut -d' ' -f1-3 /proc/loadavg)
scenario baseline-read "$base_port" read_case.lua "$mediator_token" "$conns"
scenario read "$port" read_case.lua "$mediator_token" "$conns"
scenario baseline-create "$base_port" create_case.lua "$mediator_token" "$conns"
scenario create "$port" create_case.lua "$mediator_token" "$conns"
scenario list "$port" get.lua "$mediator_token" "$conns" BENCH_PATH="/api/v1/cases?limit=50"
scenario referral "$port" create_referral.lua "$hotline_token" "$conns"
scenario coverage "$port" get.lua "$federation_token" "$conns" BENCH_PATH="/api/v1/coverage?region=$city"
scenario city-dashboard "$port" get.lua "$federation_token" "$conns" \
	BENCH_PATH="/api/v1/dashboard/cases?region=$city&group_by=county"
scenario county-dashboard "$port" get.lua "$federation_token" "$conns" \
	BENCH_PATH="/api/v1/dashboard/cases?region=$county&group_by=month"
rss=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")
# The dashboard goals' latency without queueing: one request at a time.
scenario coverage-1 "$port" get.lua "$federation_token" 1 BENCH_PATH="/api/v1/coverage?region=$city"
scenario city-dashboard-1 "$port" get.lua "$federation_token" 1 \
	BENCH_PATH="/api/v1/dashboard/cases?region=$city&group_by=county"
scenario county-dashboard-1 "$port" get.lua "$federation_token" 1 \
	BENCH_PATH="/api/v1/dashboard/cases?region=$county&group_by=month"
hash_conc=${TIAOJIE_HASH_CONCURRENCY:-2}
scenario login "$port" login.lua "" "$hash_conc" BENCH_USERNAME="$admin" BENCH_PASSWORD="$admin_pw"
rss_login=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")
kill "$server"
wait "$server" || die "the server did not stop cleanly: $(tail -5 "$run/serve.log")"
errors=$(grep -c '"level":"error"' "$run/serve.log" || true)

# --- the report ---------------------------------------------------------------------------------
command="make bench"
[[ $counties != 50 || $cases != 100000 ]] && command="BENCH_COUNTIES=$counties BENCH_CASES=$cases make bench"
[[ $secs != 10 ]] && command="BENCH_SECONDS=$secs $command"
[[ $workers != 4 ]] && command="BENCH_WORKERS=$workers $command"
[[ ${BENCH_REUSE:-} == 1 ]] && command="BENCH_REUSE=1 $command"
export BENCH_R_RESULTS=$results BENCH_R_DOC=$doc BENCH_R_COUNTIES=$counties BENCH_R_CASES=$cases \
	BENCH_R_SIZE="$size" BENCH_R_GEN="$gen_line" BENCH_R_GEN_SECS=$gen_secs \
	BENCH_R_VACUUM_SECS=$vacuum_secs BENCH_R_DB_SIZE="$db_size" BENCH_R_COUNTS="$counts" \
	BENCH_R_RSS=$rss BENCH_R_RSS_LOGIN=$rss_login BENCH_R_COMMAND="$command" \
	BENCH_R_WORKERS=$workers BENCH_R_THREADS=$threads BENCH_R_SECS=$secs BENCH_R_CITY=$city \
	BENCH_R_COUNTY=$county BENCH_R_COMMITTEE_CASES=$committee_cases \
	BENCH_R_CITY_COUNTIES=$city_counties BENCH_R_ERRORS=$errors BENCH_R_LOAD="$load" \
	BENCH_R_SETTINGS="$(echo $settings)" \
	BENCH_R_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
	BENCH_R_CORES=$(nproc) BENCH_R_MEM="$(free -g | awk '/^Mem:/ {print $2}') GiB" \
	BENCH_R_PG="$(pgsql postgres -XAtq -c 'SHOW server_version' | cut -d' ' -f1)" \
	BENCH_R_WRK="$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)" \
	BENCH_R_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
python3 tools/bench_report.py
say "wrote $doc"
