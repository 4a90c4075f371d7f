#!/usr/bin/env bash
# Installs what building, running and testing Tiaojie needs on Debian 12:
# the Debian packages below (only those missing) and the pinned npm tools of
# tools/package-lock.json (only when tools/node_modules is missing or stale).
#
# Silent when everything is present; otherwise one line per thing installed.
# As root it installs directly; as another user through `sudo -n` when that
# works, else it prints the command to run and exits 1.
set -euo pipefail

# Debian packages:
#   build:    gcc make pkg-config and the -dev packages of the libraries used
#   database: postgresql-15 (server binaries for tools/pg.sh), postgresql-client-15 (psql)
#   tests:    check (C unit tests), python3 + python3-pytest (API tests), python3-yaml
#             (tests/api/test_malformed.py reads the API description), curl,
#             openssl (certificates for the HTTPS tests)
#   fuzzing:  clang, and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes),
#             which clang's packages only recommend
#   checks:   clang-format, cppcheck, nodejs + npm (API description tools),
#             valgrind (make memcheck)
#   deploy:   docker-compose (validating docker-compose.yml)
PACKAGES="gcc make pkg-config libmicrohttpd-dev libpq-dev libjansson-dev libsodium-dev
postgresql-15 postgresql-client-15 check python3 python3-pytest python3-yaml docker-compose
clang-format cppcheck valgrind nodejs npm curl openssl ca-certificates clang libclang-rt-14-dev"

# Note: installing postgresql-15 makes Debian create and start a "main" system
# cluster on port 5432. It is left alone: the development/test clusters of
# tools/pg.sh listen on no TCP port and keep their socket in their own
# directory, so they never collide with it.

TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A node >= 20 with its npm already on PATH (from any build, Debian's or
# another) is enough; asking apt for Debian's nodejs/npm then would only
# fight with that build.
node_usable() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
    local v
    v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
    [[ $v =~ ^[0-9]+$ ]] && ((v >= 20))
}

wanted=()
for p in $PACKAGES; do
    if [[ $p == nodejs || $p == npm ]] && node_usable; then
        continue
    fi
    wanted+=("$p")
done

# One dpkg-query call for all packages; unknown packages are simply absent
# from its output (it complains on stderr and exits 1 for them).
declare -A installed=()
while read -r name status; do
    [[ $status == "install ok installed" ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${wanted[@]}" 2>/dev/null || true)

missing=()
for p in "${wanted[@]}"; do
    [[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    install_cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
    if ((EUID == 0)); then
        as_root=(env DEBIAN_FRONTEND=noninteractive)
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
    else
        echo "deps: missing Debian packages: ${missing[*]}" >&2
        echo "deps: install them with:" >&2
        echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${install_cmd[*]}" >&2
        exit 1
    fi
    for p in "${missing[@]}"; do
        echo "deps: installing $p"
    done
    log=$(mktemp)
    if ! { "${as_root[@]}" apt-get update && "${as_root[@]}" "${install_cmd[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "deps: apt-get failed" >&2
        exit 1
    fi
    rm -f "$log"
fi

# npm tools, pinned by tools/package-lock.json (npm ci rewrites
# node_modules/.package-lock.json, so it is newer than the lock file after).
stamp=$TOOLS_DIR/node_modules/.package-lock.json
if [[ ! -e $stamp || $stamp -ot $TOOLS_DIR/package-lock.json ]]; then
    echo "deps: installing npm tools (npm ci in tools/)"
    log=$(mktemp)
    if ! npm ci --no-audit --no-fund --prefix "$TOOLS_DIR" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "deps: npm ci failed" >&2
        exit 1
    fi
    rm -f "$log"
fi
