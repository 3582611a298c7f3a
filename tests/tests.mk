# Extra test artifacts (included by the top Makefile).

# The differential test's native side: a 32-bit program (gcc -m32, from
# gcc-multilib) that runs instruction bytes on the host processor.
DIFF_RUNNER := $(BUILD)/test/diff/runner
$(DIFF_RUNNER): tests/diff/runner.c tests/diff/diffcase.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	gcc -m32 -std=c11 -O1 -g -Wall -Wextra -Werror -fno-pie -no-pie -o $@ tests/diff/runner.c
TEST_EXTRA += $(DIFF_RUNNER)

# test_diff catches interp's exceptions before delivery (it wraps
# cpu_handle_exception), so it has its own link line.
$(BUILD)/test/bin/test_diff: $(BUILD)/test/tests/test_diff.o $(TEST_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) -Wl,--wrap=cpu_handle_exception -o $@ $^ $(LDLIBS)

# TEST_EXTRA is read by the top Makefile before this file is included, so
# name the runner as a prerequisite here too.
test test-long: $(DIFF_RUNNER)
$(BUILD)/test/bin/test_diff: | $(DIFF_RUNNER)

# The randomized block test's native side (tests/test_blocks.c,
# docs/difftest.md "The block test"): a 32-bit program that runs generated
# instruction sequences on the host processor.
BLOCK_RUNNER := $(BUILD)/test/diff/block_runner
$(BLOCK_RUNNER): tests/diff/block_runner.c tests/diff/blockcase.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	gcc -m32 -std=c11 -O1 -g -Wall -Wextra -Werror -fno-pie -no-pie -o $@ tests/diff/block_runner.c
TEST_EXTRA += $(BLOCK_RUNNER)
test test-long: $(BLOCK_RUNNER)
$(BUILD)/test/bin/test_blocks: | $(BLOCK_RUNNER)

# The stack differential test (test_diff_stack): its own native runner,
# which puts a 16-bit stack segment in the LDT (modify_ldt), and a link
# line that catches interp's exceptions and INT3/INTO before delivery.
STACK_RUNNER := $(BUILD)/test/diff/stack_runner
$(STACK_RUNNER): tests/diff/stack_runner.c tests/diff/stackcase.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	gcc -m32 -std=c11 -O1 -g -Wall -Wextra -Werror -fno-pie -no-pie -o $@ tests/diff/stack_runner.c
TEST_EXTRA += $(STACK_RUNNER)
$(BUILD)/test/bin/test_diff_stack: $(BUILD)/test/tests/test_diff_stack.o $(TEST_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) -Wl,--wrap=cpu_handle_exception,--wrap=cpu_deliver -o $@ $^ $(LDLIBS)
test test-long: $(STACK_RUNNER)
$(BUILD)/test/bin/test_diff_stack: | $(STACK_RUNNER)

# ringvm's kvm probe for the shell tests (tests/kvm_probe.sh): a kvm test
# skips only for a mode the probe says this host cannot run.
KVM_PROBE := $(BUILD)/test/kvm-probe
$(KVM_PROBE): $(BUILD)/test/tests/tools/kvm_probe.o $(TEST_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_LDFLAGS) -o $@ $^ $(LDLIBS)
TEST_EXTRA += $(KVM_PROBE)
test test-long: $(KVM_PROBE)
