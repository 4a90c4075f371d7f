# Tiaojie - one Makefile for the server, its tests and the local set-up.
#
#   make run              install what is missing, build, start the local
#                         PostgreSQL under .local/, migrate, serve on :8080
#   make test             the same set-up, then every check and test
#   make test SANITIZE=1  the same under AddressSanitizer and UBSan
#   make fuzz             libFuzzer on every target for FUZZ_SECONDS each
#                         (tests/fuzz/fuzz.mk; make test runs a short form)
#   make bench            measure the server against a minimal baseline on demo
#                         data (tools/bench.sh; writes docs/BENCHMARKS.md)

SANITIZE ?= 0
PKGS     := libmicrohttpd libpq jansson libsodium
VERSION  := 0.1.0
PGDIR    := .local/pg

ifeq ($(SANITIZE),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD    := build/rel
SANFLAGS :=
endif

CC       ?= cc
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wconversion -Wformat=2 -Wvla \
            -Wno-sign-conversion
CFLAGS   := -std=c17 -D_GNU_SOURCE -O2 -g $(WARN) $(SANFLAGS) \
            -DTIAOJIE_VERSION='"$(VERSION)"' -Iserver/src -I$(BUILD)/gen
LDFLAGS  := $(SANFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread

# Every source file, listed: nothing is built by accident.
SRCS := \
	server/src/api_audit.c \
	server/src/api_case_flow.c \
	server/src/api_case_parties.c \
	server/src/api_case_records.c \
	server/src/api_cases.c \
	server/src/api_committees.c \
	server/src/api_coverage.c \
	server/src/api_dashboard.c \
	server/src/api_experts.c \
	server/src/api_import.c \
	server/src/api_mediators.c \
	server/src/api_ops.c \
	server/src/api_referrals.c \
	server/src/api_regions.c \
	server/src/api_sessions.c \
	server/src/api_targets.c \
	server/src/api_users.c \
	server/src/arena.c \
	server/src/audit.c \
	server/src/case_duplicates.c \
	server/src/auth.c \
	server/src/config.c \
	server/src/crypt.c \
	server/src/csv.c \
	server/src/datakey.c \
	server/src/demo.c \
	server/src/db.c \
	server/src/errorf.c \
	server/src/fields.c \
	server/src/http.c \
	server/src/keyholder.c \
	server/src/log.c \
	server/src/metrics.c \
	server/src/migrate.c \
	server/src/reply.c \
	server/src/router.c \
	server/src/roster.c \
	server/src/routes.c \
	server/src/textfile.c \
	server/src/tls.c \
	server/src/validate.c
MAIN := server/src/main.c
UNIT_SRCS := \
	tests/unit/fake_env.c \
	tests/unit/main.c \
	tests/unit/test_arena.c \
	tests/unit/test_auth.c \
	tests/unit/test_config.c \
	tests/unit/test_crypt.c \
	tests/unit/test_csv.c \
	tests/unit/test_reply.c \
	tests/unit/test_roster.c \
	tests/unit/test_router.c \
	tests/unit/test_validate.c

MIGRATIONS := $(sort $(wildcard migrations/[0-9][0-9][0-9][0-9]_*.sql))
SPEC       := api-spec/openapi.yaml

OBJS      := $(SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/embedded.o
MAIN_OBJ  := $(MAIN:%.c=$(BUILD)/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
BIN       := $(BUILD)/tiaojie
UNIT_BIN  := $(BUILD)/unit-tests
PROBE_BIN := $(BUILD)/crypt-probe

.PHONY: all build deps run test unit api lint format spec-lint compose-check \
	db-start db-stop psql clean bench memcheck

all: build
build: $(BIN)

$(BIN): $(OBJS) $(MAIN_OBJ)
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(UNIT_BIN): $(OBJS) $(UNIT_OBJS)
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs check)

$(PROBE_BIN): $(OBJS) $(BUILD)/tests/tools/crypt_probe.o
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -Wno-conversion $(PKG_CFLAGS) $(shell pkg-config --cflags check) -MMD -MP -c -o $@ $<

$(BUILD)/gen/embedded.c: server/embed.sh $(SPEC) $(MIGRATIONS)
	@mkdir -p $(dir $@)
	@echo "  GEN $@"
	@server/embed.sh $(SPEC) $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/embedded.o: $(BUILD)/gen/embedded.c
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

-include $(OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d) $(BUILD)/tests/tools/crypt_probe.d

# --- set-up ---------------------------------------------------------------

deps:
	@tools/deps.sh

run: deps
	@$(MAKE) -s --no-print-directory build
	@tools/run.sh $(BIN)

db-start:
	@tools/pg.sh start $(PGDIR)

db-stop:
	@tools/pg.sh stop $(PGDIR)

psql:
	@tools/pg.sh psql $(PGDIR)

# --- checks and tests -------------------------------------------------------

test: deps
	@$(MAKE) -s --no-print-directory build $(UNIT_BIN) $(PROBE_BIN)
	@$(MAKE) --no-print-directory lint spec-lint compose-check
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory api

unit: $(UNIT_BIN)
	@echo "== unit tests"
	@$(UNIT_BIN)

api: $(BIN) $(PROBE_BIN)
	@echo "== API tests ($(BIN))"
	@tools/test-api.sh $(BIN)

C_FILES := $(SRCS) $(MAIN) $(UNIT_SRCS) tests/tools/crypt_probe.c bench/baseline.c \
	$(wildcard server/src/*.h tests/unit/*.h)

lint:
	@echo "== lint: clang-format, cppcheck"
	@clang-format --dry-run -Werror $(C_FILES)
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -Iserver/src $(SRCS) $(MAIN) \
		bench/baseline.c

format:
	clang-format -i $(C_FILES)

spec-lint:
	@echo "== spec: redocly lint"
	@tools/node_modules/.bin/redocly lint --format=stylish $(SPEC)

compose-check:
	@echo "== docker-compose config"
	@docker-compose -f docker-compose.yml config -q

# --- memcheck (not part of `make test`: about 15 minutes on 2 cores) -------
#
#   make memcheck  the API tests with every server under Valgrind's memcheck;
#                  any error or leak (definite or indirect) fails the test that
#                  stopped that server. MEMCHECK_TESTS narrows the run.

MEMCHECK_TESTS ?= tests/api
VALGRIND_CMD := valgrind --tool=memcheck --leak-check=full \
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	--num-callers=30 --suppressions=tests/valgrind.supp

memcheck: deps
	@$(MAKE) -s --no-print-directory build $(PROBE_BIN) SANITIZE=0
	@echo "== API tests under memcheck ($(MEMCHECK_TESTS))"
	@TIAOJIE_VALGRIND="$(VALGRIND_CMD)" TIAOJIE_TIME_SCALE=20 \
		tools/test-api.sh build/rel/tiaojie $(MEMCHECK_TESTS)

# --- benchmarks (not part of `make test`) -----------------------------------
#
#   make bench     the release build and a minimal baseline server, then
#                  tools/bench.sh: its own PostgreSQL in .local/bench-pg, demo
#                  data (BENCH_COUNTIES, BENCH_CASES), wrk on loopback for
#                  BENCH_SECONDS a scenario; writes docs/BENCHMARKS.md

BASELINE_PKGS := libmicrohttpd libpq libsodium
BASELINE_BIN  := build/rel/bench-baseline

bench: deps
	@$(MAKE) -s --no-print-directory build SANITIZE=0
	@$(MAKE) -s --no-print-directory $(BASELINE_BIN) SANITIZE=0
	@tools/bench.sh build/rel/tiaojie $(BASELINE_BIN)

$(BASELINE_BIN): bench/baseline.c server/src/sql.h server/src/sql_cases.h \
		server/src/sql_referrals.h server/src/sql_stats.h
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) -std=c17 -D_GNU_SOURCE -O2 -g $(WARN) -Iserver/src \
		$(shell pkg-config --cflags $(BASELINE_PKGS)) -o $@ $< \
		$(shell pkg-config --libs $(BASELINE_PKGS)) -lpthread

clean:
	rm -rf build

include tests/fuzz/fuzz.mk
