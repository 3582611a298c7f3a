# Benchmarks: never part of `make test`. docs/bench.md says what they
# measure; bench/RESULTS.md keeps the last full run.
BENCH_RUNS ?= 3

$(BUILD)/bench/ips: bench/ips.c $(REL_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/tschz: bench/tschz.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $<

# bench/ips.c's loops as a multiboot guest, for ringvm and QEMU alike
# (always gcc -m32 and GNU ld, as the embedded guest).
$(BUILD)/bench/ipsguest.elf: bench/ipsguest.S bench/bench.mk
	@mkdir -p $(dir $@)
	gcc -m32 -fno-pic -fno-pie -c $< -o $(BUILD)/bench/ipsguest.o
	ld -m elf_i386 -nostdlib -N --no-warn-rwx-segments -Ttext=0x100000 -e _start -o $@ $(BUILD)/bench/ipsguest.o

# The guest's random 4 KiB I/O program for bench/virtio_io.sh: an i386
# static ELF without libc (gcc -m32 alone, as the embedded guest).
$(BUILD)/bench/randio: bench/randio.c bench/bench.mk
	@mkdir -p $(dir $@)
	gcc -m32 -static -nostdlib -ffreestanding -fno-pic -no-pie -O2 -fno-stack-protector \
		-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -Wall -Wextra -Werror \
		-s -Wl,--build-id=none -o $@ $<

.PHONY: bench bench-ips
# Guest instructions per second on CPU-bound loops, each software engine.
bench-ips: deps $(BUILD)/bench/ips
	./$(BUILD)/bench/ips

# The whole suite: ringvm's engines against QEMU-TCG and native, one table.
# BENCH_RUNS=N runs of each; see docs/bench.md for the other knobs.
bench: deps $(BUILD)/ringvm $(BUILD)/bench/ips $(BUILD)/bench/tschz $(BUILD)/bench/ipsguest.elf $(BUILD)/bench/randio \
		$(GUEST_ELF)
	@BUILD=$(BUILD) BENCH_RUNS=$(BENCH_RUNS) GUEST_ELF=$(GUEST_ELF) \
		LINUX_GUEST_DIR=$(or $(LINUX_GUEST_DIR),guest-linux) \
		BENCH_CMD="make bench$(if $(filter-out build,$(BUILD)), BUILD=$(BUILD)) BENCH_RUNS=$(BENCH_RUNS)" \
		sh bench/run.sh

# Virtio disk and network throughput in the Linux guest, ringvm beside
# QEMU-TCG (bench/virtio_io.sh, docs/virtio.md): `make bench`'s last
# table, alone. BENCH_VIRTIO_MIB=N scales it (default 64).
.PHONY: bench-virtio
bench-virtio: deps $(BUILD)/ringvm $(BUILD)/bench/randio
	BUILD=$(BUILD) sh bench/virtio_io.sh
