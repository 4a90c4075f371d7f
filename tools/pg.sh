#!/usr/bin/env bash
# Local PostgreSQL 15 clusters for development and tests.
#
# Usage: tools/pg.sh COMMAND DIR [DBNAME] [ARGS...]
#
#   start DIR [DBNAME]  create the cluster in DIR on first use, start it if it
#                       is not running, create database "tiaojie" (and DBNAME,
#                       if given) if missing; prints one line
#   stop DIR            fast shutdown; silent when not running
#   kill DIR            immediate shutdown (simulates a crash); silent when
#                       not running
#   status DIR          exit 0 when running, 3 when not
#   url DIR [DBNAME]    print a libpq URL (database DBNAME, default tiaojie)
#   psql DIR [DBNAME] [PSQL ARGS...]
#                       run psql on it; a third argument not starting with
#                       "-" is the database name
#
# Layout of DIR (which may be relative; it is made absolute):
#   DIR/data            the cluster (superuser "tiaojie", trust auth, UTF8, C.UTF-8)
#   DIR/postgresql.log  server log
#   DIR/run             socket directory, unless that path is longer than 80
#                       characters (socket paths are limited to 107 bytes):
#                       then /tmp/tiaojie-pg-<hash of DIR>
#   DIR/socketdir       the socket directory chosen, for the other commands
#
# The server listens on no TCP address at all and keeps its socket (mode
# 0700) in its own directory, so any number of clusters, and Debian's system
# cluster, run side by side without colliding. "port = 5432" only names the
# socket file.
#
# As root: initdb, pg_ctl and postgres refuse to run as root, so they run as
# the "postgres" system user (created by the postgresql-15 package) via
# runuser, and DIR is handed to that user (chown, mode 0700). When postgres
# cannot reach DIR because a parent directory is not traversable to it (a
# clone under /root with mode 0700, a subdirectory of a `mktemp -d`
# directory...), the cluster lives in /var/tmp/tiaojie-pg-<hash of DIR> and
# DIR is made a symlink to it; that directory records DIR in its "origin"
# file, and `start` deletes such directories (stopping their server) once
# the symlink pointing to them is gone, so throwaway clusters do not pile up.
# Parent directories are never chmod-ed. As any other user everything runs
# as that user.
set -euo pipefail

PROG=tools/pg.sh
die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
    echo "usage: $PROG start|stop|kill|status|url|psql DIR [DBNAME] [ARGS...]" >&2
    exit 2
}

(($# >= 2)) || usage
CMD=$1
DIR_ARG=$2
shift 2
[[ -n $DIR_ARG ]] || usage

# Connection settings from the environment must not redirect our own
# connections (the URLs below name host, user and database explicitly).
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSSLMODE PGREQUIRESSL \
    PGGSSENCMODE PGTARGETSESSIONATTRS PGDATA

BINDIR=/usr/lib/postgresql/15/bin
if [[ ! -x $BINDIR/pg_ctl ]] && command -v pg_config >/dev/null 2>&1 &&
    [[ $(pg_config --version 2>/dev/null) == "PostgreSQL 15"* ]]; then
    BINDIR=$(pg_config --bindir)
fi
[[ -x $BINDIR/pg_ctl ]] || die "PostgreSQL 15 server binaries not found (run tools/deps.sh)"

# Absolute DIR: parents resolved, DIR itself kept when it is a symlink.
p=$(realpath -m -s -- "$DIR_ARG")
if [[ -L $p ]]; then
    DIR=$(realpath -m -- "$(dirname -- "$p")")/$(basename -- "$p")
else
    DIR=$(realpath -m -- "$p")
fi
HASH=$(printf '%s' "$DIR" | sha256sum | cut -c1-12)
FALLBACK=/var/tmp/tiaojie-pg-$HASH
LONG_SOCKDIR=/tmp/tiaojie-pg-$HASH

if ((EUID == 0)); then
    OWNER=postgres
    id -u "$OWNER" >/dev/null 2>&1 ||
        die "user postgres does not exist (install postgresql-15: tools/deps.sh)"
    as_owner() { (cd / && runuser -u "$OWNER" -- "$@" 8<&- 9<&-); }
else
    OWNER=$(id -un)
    as_owner() { "$@" 8<&- 9<&-; }
fi

# REAL: where the cluster files are (DIR, or the target of the DIR symlink).
if [[ -L $DIR ]]; then
    REAL=$(readlink -m -- "$DIR")
else
    REAL=$DIR
fi
DATA=$REAL/data

running() {
    [[ -f $DATA/PG_VERSION ]] && as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

sockdir() {
    if [[ -f $REAL/socketdir ]]; then
        cat -- "$REAL/socketdir"
    elif ((${#REAL} + 4 > 80)); then
        echo "$LONG_SOCKDIR"
    else
        echo "$REAL/run"
    fi
}

# Percent-encodes what is not safe in a URL query value ("/" is kept).
urlencode() {
    local LC_ALL=C s=$1 out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9/._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

url() { # DBNAME
    printf 'postgresql:///%s?host=%s&user=tiaojie' "$(urlencode "$1")" "$(urlencode "$(sockdir)")"
}

# Serializes commands changing the same cluster. The lock lives as long as
# fd 9 is open: as_owner closes it, so that the server does not inherit it.
lock() {
    exec 9<"$REAL"
    flock 9
}

# Root only: a directory created by us for the owner, refusing foreign ones.
owned_dir() { # PATH MODE
    if [[ -L $1 ]] || { [[ -e $1 ]] && [[ ! -d $1 ]]; }; then
        die "$1 exists and is not a directory"
    fi
    if [[ -d $1 ]]; then
        local o
        o=$(stat -c %U -- "$1")
        [[ $o == "$OWNER" || $o == root ]] || die "$1 belongs to $o"
    else
        mkdir -m "$2" -- "$1"
    fi
    chown "$OWNER": -- "$1"
    chmod "$2" -- "$1"
}

# Root only: delete fallback clusters whose DIR symlink no longer exists.
collect_orphans() {
    local d o s
    shopt -s nullglob
    for d in /var/tmp/tiaojie-pg-*; do
        [[ -d $d && ! -L $d && -f $d/origin ]] || continue
        o=$(<"$d/origin")
        [[ $(readlink -- "$o" 2>/dev/null) == "$d" ]] && continue
        if [[ -f $d/data/postmaster.pid ]]; then
            as_owner "$BINDIR/pg_ctl" stop -D "$d/data" -m immediate -s >/dev/null 2>&1 || true
        fi
        if [[ -f $d/socketdir ]]; then
            s=$(<"$d/socketdir")
            [[ $s == /tmp/tiaojie-pg-* && -d $s && ! -L $s ]] && rm -rf -- "$s"
        fi
        rm -rf -- "$d"
    done
    shopt -u nullglob
}

# Creates DIR (or the symlink and its target) and hands it to the owner.
prepare() {
    local parent
    parent=$(dirname -- "$DIR")
    (umask 022 && mkdir -p -- "$parent")
    if ((EUID != 0)); then
        mkdir -p -- "$DIR"
        REAL=$DIR
        return
    fi
    if [[ -L $DIR ]]; then
        REAL=$(readlink -m -- "$DIR")
        [[ $REAL == /var/tmp/tiaojie-pg-* ]] || die "$DIR is a symlink not made by $PROG"
        owned_dir "$REAL" 700
        [[ -f $REAL/origin ]] || printf '%s\n' "$DIR" >"$REAL/origin"
    elif runuser -u "$OWNER" -- test -x "$parent"; then
        REAL=$DIR
        if [[ -d $DIR ]]; then
            if [[ -e $DIR/data && $(stat -c %U -- "$DIR/data") != "$OWNER" ]]; then
                chown -R "$OWNER": -- "$DIR"
            fi
            chown "$OWNER": -- "$DIR"
            chmod 700 -- "$DIR"
        else
            owned_dir "$DIR" 700
        fi
    else
        # postgres cannot traverse a parent of DIR: keep the cluster in /var/tmp.
        if [[ -e $DIR ]]; then
            rmdir -- "$DIR" 2>/dev/null ||
                die "$DIR is not reachable by user postgres and is not an empty directory"
        fi
        REAL=$FALLBACK
        owned_dir "$REAL" 700
        ln -s -- "$REAL" "$DIR"
        printf '%s\n' "$DIR" >"$REAL/origin"
    fi
    DATA=$REAL/data
}

cmd_start() {
    local db=${1:-tiaojie} s log conf
    ((EUID == 0)) && collect_orphans
    # Concurrent first starts of one DIR: serialize its creation on the parent.
    (umask 022 && mkdir -p -- "$(dirname -- "$DIR")")
    if exec 8<"$(dirname -- "$DIR")"; then flock 8; fi 2>/dev/null
    prepare
    exec 8<&-
    lock

    s=$(sockdir)
    # Recompute unless recorded (first start), then record it.
    [[ -f $REAL/socketdir ]] || {
        printf '%s\n' "$s" >"$REAL/socketdir"
        ((EUID == 0)) && chown "$OWNER": -- "$REAL/socketdir"
    }
    if ((EUID == 0)); then
        owned_dir "$s" 700
    else
        [[ -d $s ]] || mkdir -m 700 -- "$s"
        [[ -O $s && ! -L $s ]] || die "$s is not a directory of $OWNER"
    fi

    if [[ ! -f $DATA/PG_VERSION ]]; then
        if [[ -e $DATA ]] && [[ -n $(ls -A -- "$DATA" 2>/dev/null) ]]; then
            die "$DATA exists but holds no cluster; remove it"
        fi
        log=$(mktemp)
        if ! as_owner "$BINDIR/initdb" -D "$DATA" -U tiaojie -E UTF8 --locale=C.UTF-8 \
            --auth=trust >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            die "initdb failed"
        fi
        rm -f "$log"
        conf="
# tools/pg.sh: no TCP, socket in the cluster's own directory
listen_addresses = ''
port = 5432
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 128MB
include_if_exists = 'pg_sh_socket.conf'"
        printf '%s\n' "$conf" | as_owner tee -a "$DATA/postgresql.conf" >/dev/null
    fi
    # Socket directory, rewritten at each start.
    printf "unix_socket_directories = '%s'\n" "${s//\'/\'\'}" |
        as_owner tee "$DATA/pg_sh_socket.conf" >/dev/null

    if ! running; then
        if ! as_owner "$BINDIR/pg_ctl" start -w -s -D "$DATA" -l "$REAL/postgresql.log" >/dev/null; then
            tail -n 20 -- "$REAL/postgresql.log" >&2 || true
            die "could not start the cluster in $DIR (log: $DIR/postgresql.log)"
        fi
    fi

    local d exists
    for d in tiaojie "$db"; do
        exists=$("$BINDIR/psql" -X -q -t -A -d "$(url postgres)" -v ON_ERROR_STOP=1 \
            -c "select 1 from pg_database where datname = '${d//\'/\'\'}'" 2>&1 | head -n 1) ||
            die "cannot connect: $exists"
        if [[ $exists != 1 ]]; then
            "$BINDIR/createdb" -h "$s" -p 5432 -U tiaojie -- "$d" ||
                die "could not create database $d"
        fi
    done
    echo "postgresql: running, socket in $s"
}

cmd_stop() { # MODE
    [[ -d $REAL ]] || return 0
    lock
    running || return 0
    as_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m "$1" -s -w >/dev/null
}

case $CMD in
start) cmd_start "$@" ;;
stop) cmd_stop fast ;;
kill) cmd_stop immediate ;;
status) running && exit 0 || exit 3 ;;
url)
    url "${1:-tiaojie}"
    echo
    ;;
psql)
    db=tiaojie
    if (($#)) && [[ $1 != -* ]]; then
        db=$1
        shift
    fi
    exec "$BINDIR/psql" "$(url "$db")" "$@"
    ;;
*) usage ;;
esac
