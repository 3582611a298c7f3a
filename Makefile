# ringvm build. `make` builds build/ringvm; `make run` boots the embedded
# guest; `make test` builds under ASan+UBSan and runs every test.
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
BUILD ?= build
# Build on every core by default (the tests themselves run one at a time).
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wvla
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I$(BUILD)/gen -fno-strict-aliasing
REL_CFLAGS := $(BASE_CFLAGS) -O2 -g
TEST_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
LDLIBS := -lZydis -lslirp -lm -lpthread -ljson-c -lseccomp
TEST_LDFLAGS := -fsanitize=address,undefined

LIB_SRC := $(sort $(wildcard src/cpu/*.c src/engine/*.c src/engine/*/*.c src/machine/*.c src/dev/*.c src/boot/*.c src/debug/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
CTL_SRC := $(sort $(wildcard src/ctl/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))

REL_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/rel/%.o)
REL_CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/rel/%.o)
TEST_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/test/%.o)
TEST_CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/test/%.o)
TEST_BINS := $(TEST_SRC:tests/%.c=$(BUILD)/test/bin/%)

.PHONY: all deps run test test-long bench clean guest linux-guest
# Keep intermediate objects (test .o files) so a rebuild is incremental.
.SECONDARY:
all: deps $(BUILD)/ringvm $(BUILD)/ringctl

DEPS_STAMP := $(BUILD)/.deps
deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@sh scripts/deps.sh
	@touch $@

-include guest/guest.mk
GUEST_ELF ?=

$(BUILD)/rel/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/test/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

# The embedded default guest, linked into the binary as a blob.
$(BUILD)/rel/guest_blob.o $(BUILD)/test/guest_blob.o: src/cli/guest_blob.S $(GUEST_ELF)
	@mkdir -p $(dir $@)
	$(CC) -c -DGUEST_ELF='"$(abspath $(GUEST_ELF))"' $< -o $@

$(BUILD)/ringvm: $(REL_LIB_OBJ) $(REL_CLI_OBJ) $(BUILD)/rel/guest_blob.o
	$(CC) -o $@ $^ $(LDLIBS)
# The toolstack (src/ctl): a client of ringvm's QMP socket only.
$(BUILD)/ringctl: $(CTL_SRC:%.c=$(BUILD)/rel/%.o)
	$(CC) -o $@ $^ -ljson-c
$(BUILD)/ringvm-asan: $(TEST_LIB_OBJ) $(TEST_CLI_OBJ) $(BUILD)/test/guest_blob.o
	$(CC) $(TEST_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test/bin/%: $(BUILD)/test/tests/%.o $(TEST_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) -o $@ $^ $(LDLIBS)

run: all
	./$(BUILD)/ringvm

test: deps $(BUILD)/ringvm $(BUILD)/ringctl $(BUILD)/ringvm-asan $(TEST_BINS) $(TEST_EXTRA)
	@BUILD=$(BUILD) sh tests/run.sh

test-long: deps $(BUILD)/ringvm $(BUILD)/ringvm-asan $(TEST_BINS) $(TEST_EXTRA)
	@BUILD=$(BUILD) RINGVM_LONG=1 sh tests/run.sh

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/rel/src/*/*.d $(BUILD)/rel/src/*/*/*.d $(BUILD)/test/src/*/*.d $(BUILD)/test/src/*/*/*.d $(BUILD)/test/tests/*.d)
-include tests/tests.mk
-include bench/bench.mk
-include $(wildcard scripts/*.mk)

# Mutation check of the tests (scripts/mutants.sh, docs/testing.md): each
# deliberate bug in a scratch copy must make the tests listed for it fail.
# Slow, and not part of `make test`.
.PHONY: mutants
mutants: deps $(BUILD)/ringvm $(BUILD)/ringvm-asan
	@BUILD=$(BUILD) sh scripts/mutants.sh
