# tests/fuzz/fuzz.mk - libFuzzer targets (clang, AddressSanitizer, UBSan),
# included by the Makefile. Every server source is built again, instrumented,
# under build/fuzz.
#
#   make fuzz          build every target, run each for FUZZ_SECONDS (default 60),
#                      or for FUZZ_RUNS executions when that is set
#   make fuzz-smoke    the same, each for 20000 runs or 5 seconds (make test runs it)
#
# Each run starts from a copy of the committed corpus (tests/fuzz/corpus/TARGET)
# in build/fuzz/run/TARGET, so the corpus never grows by itself. A crash, a
# leak or undefined behaviour stops the run; the input that caused it is kept
# as build/fuzz/artifacts/TARGET-crash-... and the report ends the target's log
# (build/fuzz/run/TARGET.log).

FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_TARGETS := router bodies crypt csv query
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?=
FUZZ_LIMIT   := $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c17 -D_GNU_SOURCE -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                -DTIAOJIE_VERSION='"$(VERSION)"' -Iserver/src -Itests/fuzz -I$(FUZZ_BUILD)/gen

FUZZ_OBJS := $(SRCS:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/gen/embedded.o \
             $(FUZZ_BUILD)/tests/fuzz/fuzz_server.o
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)

C_FILES += $(wildcard tests/fuzz/*.c tests/fuzz/*.h)

.PHONY: fuzz fuzz-smoke fuzz-build

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BINS): $(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_OBJS)
	@echo "  LD  $@"
	@$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS)

# Writes the seeds that need the fixed keys (see crypt_seeds.c); run by hand.
$(FUZZ_BUILD)/crypt-seeds: $(FUZZ_BUILD)/tests/fuzz/crypt_seeds.o $(FUZZ_BUILD)/server/src/crypt.o \
		$(FUZZ_BUILD)/server/src/errorf.o $(FUZZ_BUILD)/server/src/textfile.o
	@echo "  LD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/gen/embedded.c: server/embed.sh $(SPEC) $(MIGRATIONS)
	@mkdir -p $(dir $@)
	@echo "  GEN $@"
	@server/embed.sh $(SPEC) $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(FUZZ_BUILD)/gen/embedded.o: $(FUZZ_BUILD)/gen/embedded.c
	@echo "  CC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.d) \
	$(FUZZ_BUILD)/tests/fuzz/crypt_seeds.d

# Runs every target with libFuzzer's limits $(1), each on a fresh copy of its
# corpus; prints the final status line of each, or the report that stopped it.
define fuzz_run
	@set -e; mkdir -p $(FUZZ_BUILD)/artifacts; \
	for t in $(FUZZ_TARGETS); do \
		run=$(FUZZ_BUILD)/run/$$t; \
		rm -rf $$run; mkdir -p $$run; cp tests/fuzz/corpus/$$t/* $$run/; \
		if ! $(FUZZ_BUILD)/fuzz-$$t $(1) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- $$run >$$run.log 2>&1; then \
			tail -n 60 $$run.log; echo "fuzz: $$t failed; its log is $$run.log"; exit 1; \
		fi; \
		echo "fuzz $$t: $$(grep -a 'DONE ' $$run.log | tail -n 1)"; \
	done
endef

fuzz: fuzz-build
	@echo "== fuzz: each target with $(FUZZ_LIMIT)"
	$(call fuzz_run,$(FUZZ_LIMIT))

fuzz-smoke: fuzz-build
	@echo "== fuzz smoke: each target for 20000 runs or 5 s"
	$(call fuzz_run,-runs=20000 -max_total_time=5)
