/* A minimal machine for CPU tests: RAM, a port bus that records output,
 * and the engine named by $RINGVM_ENGINE (interp when unset). Code under test is put straight into guest memory.
 *
 *   port 0xe9 (out): bytes appended to h->out (debug console)
 *   port 0xf4 (out): stop the run, h->exit_value = value
 *   any other port:  reads return h->port_in_value, writes are logged
 *
 * 32-bit (or 16-bit) guest code can be written inline with GNU as:
 *   __asm__(".pushsection .rodata\n t_start:\n .code32\n ... \n .code64\n t_end:\n .popsection");
 * and loaded with h_load(h, addr, t_start, t_end - t_start).
 */
#ifndef RINGVM_TEST_HARNESS_H
#define RINGVM_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/cpu.h"
#include "cpu/exec.h"
#include "engine/engine.h"

#define H_GUARD 4096u

struct harness {
	struct cpu cpu;
	struct engine *eng;
	struct cpu_bus bus;
	uint8_t *ram;
	uint64_t ram_size;
	char out[65536];
	int nout;
	int exit_value;
	uint32_t port_in_value;
	struct { uint16_t port; int size; uint32_t val; } io_log[256];
	int nio;
	int pending_vector; /* for intr_ack */
};

static uint32_t h_pio_read(void *o, uint16_t port, int size)
{
	struct harness *h = o;
	if (port == 0xe9)
		return 0xe9;
	return h->port_in_value & size_mask(size);
}

static void h_pio_write(void *o, uint16_t port, int size, uint32_t val)
{
	struct harness *h = o;
	if (port == 0xe9) {
		if (h->nout < (int)sizeof(h->out) - 1)
			h->out[h->nout++] = (char)val;
		h->out[h->nout] = 0;
		return;
	}
	if (port == 0xf4) {
		h->exit_value = (int)val;
		h->cpu.stop_request = 1;
		return;
	}
	if (h->nio < 256) {
		h->io_log[h->nio].port = port;
		h->io_log[h->nio].size = size;
		h->io_log[h->nio].val = val;
		h->nio++;
	}
}

static uint32_t h_mmio_read(void *o, uint32_t pa, int size) { (void)o; (void)pa; return size_mask(size); }
static void h_mmio_write(void *o, uint32_t pa, int size, uint32_t v) { (void)o; (void)pa; (void)size; (void)v; }
static int h_intr_ack(void *o)
{
	struct harness *h = o;
	h->cpu.intr_line = 0;
	return h->pending_vector;
}

/* The engine under test: $RINGVM_ENGINE, or interp. An engine this build
 * lacks is a failure, never a silent fall back to interp. */
static inline const struct engine_ops *h_engine_ops(void)
{
	const char *name = getenv(ENGINE_ENV);
	if (!name || !*name)
		name = "interp";
	const struct engine_ops *ops = engine_find(name);
	if (!ops) {
		fprintf(stderr, "%s=%s: no such engine in this build\n", ENGINE_ENV, name);
		exit(2);
	}
	return ops;
}

/* ram_size bytes of RAM, ram_low of them at physical 0 and the rest from
 * 4 GiB up (0: all low), and a BIOS ROM image (rom_size 64 or 128 KiB;
 * NULL: none), mapped as the board maps it: below 1 MiB and at the top of
 * 4 GiB, read-only. */
static inline void h_init_full(struct harness *h, uint64_t ram_size, uint32_t ram_low, uint8_t *rom,
			       uint32_t rom_size)
{
	memset(h, 0, sizeof(*h));
	h->ram_size = ram_size;
	/* Inaccessible pages on both sides: any host access just outside
	 * guest RAM faults at once (ASan does not watch mmap'd memory). */
	uint8_t *m = mmap(NULL, ram_size + 2 * H_GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + H_GUARD, ram_size, PROT_READ | PROT_WRITE) < 0) {
		perror("mmap");
		exit(1);
	}
	h->ram = m + H_GUARD;
	h->bus = (struct cpu_bus){h, h_pio_read, h_pio_write, h_mmio_read, h_mmio_write, h_intr_ack, NULL, NULL};
	struct cpu_memmap mm = {.ram = h->ram, .ram_size = ram_size, .ram_low = ram_low, .rom = rom,
				.rom_size = rom ? rom_size : 0, .a20 = true};
	if (cpu_init(&h->cpu, &mm, &h->bus) != 0) {
		fprintf(stderr, "cpu_init failed\n");
		exit(1);
	}
	/* The ROM's own segments of the BIOS area read the ROM, as the 440FX's
	 * PAM registers route them at reset; the rest stays read-only RAM. */
	for (uint32_t seg = 0; rom && seg < CPU_PAM_SEGS; seg++)
		if (0xc0000u + seg * 0x4000u >= 0x100000u - rom_size)
			cpu_set_pam(&h->cpu, (int)seg, 0);
	char err[200];
	h->eng = h_engine_ops()->create(&h->cpu, err, sizeof(err));
	if (!h->eng) {
		fprintf(stderr, "engine: %s\n", err);
		exit(1);
	}
}

static inline void h_init_split(struct harness *h, uint64_t ram_size, uint32_t ram_low)
{
	h_init_full(h, ram_size, ram_low, NULL, 0);
}

static inline void h_init_rom(struct harness *h, uint32_t ram_size, uint8_t *rom, uint32_t rom_size)
{
	h_init_full(h, ram_size, 0, rom, rom_size);
}

static inline void h_init(struct harness *h, uint32_t ram_size)
{
	h_init_full(h, ram_size, 0, NULL, 0);
}

static inline void h_free(struct harness *h)
{
	h->eng->ops->destroy(h->eng);
	cpu_free(&h->cpu);
	munmap(h->ram - H_GUARD, h->ram_size + 2 * H_GUARD);
}

static inline void h_load(struct harness *h, uint32_t pa, const void *p, size_t len)
{
	if (cpu_phys_write(&h->cpu, pa, p, (uint32_t)len) != 0) {
		fprintf(stderr, "h_load: %zu bytes at %#x do not fit\n", len, pa);
		exit(1);
	}
}

/* A little-endian dword of guest RAM below ram_low (page tables, stacks,
 * what a test's guest code stored). */
static inline uint32_t h_rd32(const struct harness *h, uint32_t pa)
{
	uint32_t v;
	memcpy(&v, h->ram + pa, 4);
	return v;
}

static inline void h_wr32(struct harness *h, uint32_t pa, uint32_t v)
{
	memcpy(h->ram + pa, &v, 4);
}

/* Run until HLT with IF=0, a stop, shutdown, or max_insns. */
static inline enum cpu_stop h_run(struct harness *h, uint64_t max_insns)
{
	h->cpu.stop_request = 0;
	return h->eng->ops->run(h->eng, ~0ull, h->cpu.icount + max_insns);
}

/* Real mode at seg:off with SS:SP just below 0x7000. */
static inline void h_real(struct harness *h, uint16_t cs, uint16_t ip)
{
	cpu_reset(&h->cpu);
	seg_load_real(&h->cpu, S_CS, cs);
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			seg_load_real(&h->cpu, s, 0);
	h->cpu.r[R_ESP] = 0x7000;
	h->cpu.eip = ip;
}

/* Flat 32-bit protected mode (no GDT in memory) at eip, ESP = esp. */
static inline void h_flat32(struct harness *h, uint32_t eip, uint32_t esp)
{
	cpu_reset(&h->cpu);
	cpu_set_flat32(&h->cpu);
	h->cpu.eip = eip;
	h->cpu.r[R_ESP] = esp;
}

/* 32-bit guest code as a named byte range in the test binary:
 * SNIP32(x, "...") gives x_start[] and x_end[]. */
#ifndef SNIP32
#define SNIP32(name, body)                                                            \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code32\n" body "\n.code64\n" #name \
		"_end:\n.popsection\n");                                                      \
	extern const unsigned char name##_start[], name##_end[];
#endif

/* A GDT at pa with cpu_set_flat32's selectors (0x10 flat code, 0x18
 * flat data) in memory, for tests that deliver interrupts. */
static inline void h_flat_gdt(struct harness *h, uint32_t pa)
{
	static const uint32_t d[8] = {0, 0, 0, 0, 0x0000ffff, 0x00cf9b00, 0x0000ffff, 0x00cf9300};
	memcpy(h->ram + pa, d, sizeof(d));
	h->cpu.gdtr = (struct dtr){pa, 0x1f};
}

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                      \
			fprintf(stderr, "\n");                             \
			failures++;                                        \
		}                                                          \
	} while (0)

#endif
