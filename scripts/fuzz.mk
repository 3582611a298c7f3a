# libFuzzer targets (fuzz/, docs/fuzzing.md), built with clang under
# ASan+UBSan. `make fuzz` runs each for FUZZ_SECS seconds (one at a
# time, at low priority); `make test` runs each briefly (tests/t_fuzz.sh).
FUZZ_CC ?= clang
FUZZ_SECS ?= 600
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/bin/fuzz_%)

$(BUILD)/fuzz/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/fuzz/bin/fuzz_%: $(BUILD)/fuzz/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz: deps $(FUZZ_BINS)
	@BUILD=$(BUILD) FUZZ_SECS=$(FUZZ_SECS) sh scripts/fuzz.sh $(FUZZ_TARGETS)

# TEST_EXTRA is read before this file is included (see tests/tests.mk).
test test-long: $(FUZZ_BINS)

-include $(wildcard $(BUILD)/fuzz/src/*/*.d $(BUILD)/fuzz/src/*/*/*.d $(BUILD)/fuzz/fuzz/*.d)
