/* Shared by the protection tests (tests/test_protect_*.c): a protected-
 * mode machine built in guest RAM — GDT, LDT, IDT, TSSs — with flat
 * segments for every ring and an exception stub per vector, so a test
 * sets a CPU state, runs a few instructions and inspects the exact
 * vector, error code, registers and stack.
 *
 * Layout (physical = linear, no paging unless a test turns it on):
 *   0x1000 GDT (64 entries)    0x2000 IDT (256 gates)
 *   0x3000 main TSS  0x3100 TSS B  0x3200 TSS C  0x3800 LDT
 *   0x8000 exception stubs: vector v at 0x8000 + 16 v, ring 0:
 *          mov $(0x100 + v), %eax; out %eax, $0xf4  (stops the run)
 *   0x10000 test code; ring stacks top at 0x80000 (ring 0), 0x70000
 *   (ring 1), 0x60000 (ring 2), 0x50000 (ring 3).
 */
#ifndef TEST_PROTECT_UTIL_H
#define TEST_PROTECT_UTIL_H

#include "harness.h"

#define GDT 0x1000u
#define IDT 0x2000u
#define TSS_MAIN 0x3000u
#define TSS_B 0x3100u
#define TSS_C 0x3200u
#define LDT 0x3800u
#define STUBS 0x8000u
#define CODE 0x10000u

/* Selectors */
#define K_CS 0x08
#define K_DS 0x10
#define U_CS 0x1b
#define U_DS 0x23
#define R1_CS 0x29
#define R1_DS 0x31
#define R2_CS 0x3a
#define R2_DS 0x42
#define TSS_MAIN_SEL 0x48
#define TSS_B_SEL 0x50
#define TSS_C_SEL 0x58
#define LDT_SEL 0x60
#define FREE_SEL 0x68 /* 0x68.. for the tests' own descriptors */
#define DONE 0x40     /* a DPL 3 interrupt gate to a stub */

static const uint16_t ring_cs[4] = {K_CS, R1_CS, R2_CS, U_CS};
static const uint16_t ring_ds[4] = {K_DS, R1_DS, R2_DS, U_DS};
static const uint32_t ring_stack[4] = {0x80000, 0x70000, 0x60000, 0x50000};

static int failures;
static struct harness H;

#define SNIP32(name, body)                                                                   \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code32\n" body "\n.code64\n" #name     \
		"_end:\n.popsection\n");                                                        \
	extern const unsigned char name##_start[], name##_end[];
#define SNIP16(name, body)                                                                   \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code16\n" body "\n.code64\n" #name     \
		"_end:\n.popsection\n");                                                        \
	extern const unsigned char name##_start[], name##_end[];
#define LOAD(name, at) h_load(&H, at, name##_start, (size_t)(name##_end - name##_start))

static inline uint32_t rd32(uint32_t pa) { uint32_t v; memcpy(&v, H.ram + pa, 4); return v; }
static inline uint16_t rd16(uint32_t pa) { uint16_t v; memcpy(&v, H.ram + pa, 2); return v; }
static inline void wr32(uint32_t pa, uint32_t v) { memcpy(H.ram + pa, &v, 4); }
static inline void wr16(uint32_t pa, uint16_t v) { memcpy(H.ram + pa, &v, 2); }

/* Segment descriptor: type = 4-bit type, s = 1 code/data, flags = G/DB
 * nibble (0xc = 4 KiB granular, 32-bit). */
static inline uint64_t mkseg(uint32_t base, uint32_t limit, int type, int dpl, int present, int flags)
{
	uint64_t d = (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16);
	d |= (uint64_t)(type | 0x10 | (dpl << 5) | (present ? 0x80 : 0)) << 40;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;
	d |= (uint64_t)(flags & 0xf) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

/* System segment (TSS, LDT): s = 0. */
static inline uint64_t mksys(uint32_t base, uint32_t limit, int type, int dpl, int present)
{
	uint64_t d = mkseg(base, limit, type, dpl, present, 0);
	return d & ~((uint64_t)0x10 << 40);
}

/* Gate (call, interrupt, trap, task): sel:off, count parameters. */
static inline uint64_t mkgate(uint16_t sel, uint32_t off, int type, int dpl, int present, int count)
{
	uint64_t d = (off & 0xffffu) | ((uint64_t)sel << 16);
	d |= (uint64_t)((count & 0x1f) | ((type | (dpl << 5) | (present ? 0x80 : 0)) << 8)) << 32;
	d |= (uint64_t)(off >> 16) << 48;
	return d;
}

static inline void set_gdt(uint16_t sel, uint64_t d) { memcpy(H.ram + GDT + (sel & ~7u), &d, 8); }
static inline void set_ldt(uint16_t sel, uint64_t d) { memcpy(H.ram + LDT + (sel & ~7u), &d, 8); }
static inline void set_idt(int vec, uint64_t d) { memcpy(H.ram + IDT + 8 * (uint32_t)vec, &d, 8); }
static inline uint64_t get_gdt(uint16_t sel) { uint64_t d; memcpy(&d, H.ram + GDT + (sel & ~7u), 8); return d; }
static inline int gdt_type(uint16_t sel) { return (int)(get_gdt(sel) >> 40) & 0xf; }

/* Load a segment register's cache straight from the GDT/LDT image, as
 * a boot loader would leave it (no checks: the tests set the scene). */
static inline void cache_load(int s, uint16_t sel)
{
	uint64_t d;
	memcpy(&d, H.ram + ((sel & 4) ? LDT : GDT) + (sel & ~7u), 8);
	uint32_t lo = (uint32_t)d, hi = (uint32_t)(d >> 32);
	uint32_t base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
	uint32_t limit = (lo & 0xffff) | (hi & 0xf0000);
	if (hi & 0x800000)
		limit = (limit << 12) | 0xfff;
	seg_set_cache(&H.cpu.seg[s], sel, base, limit, (uint16_t)((hi >> 8) & 0xf0ff));
}

static inline void tss32_init(uint32_t at, uint32_t eip, uint32_t esp, int ring)
{
	memset(H.ram + at, 0, 0x68);
	for (int r = 0; r < 3; r++) {
		wr32(at + 4 + 8 * (uint32_t)r, ring_stack[r]);
		wr32(at + 8 + 8 * (uint32_t)r, ring_ds[r]);
	}
	wr32(at + 0x20, eip);
	wr32(at + 0x24, 0x2);
	wr32(at + 0x38, esp);
	wr32(at + 0x48, ring_ds[ring]);
	wr32(at + 0x4c, ring_cs[ring]);
	wr32(at + 0x50, ring_ds[ring]);
	wr32(at + 0x54, ring_ds[ring]);
	wr32(at + 0x58, ring_ds[ring]);
	wr32(at + 0x5c, ring_ds[ring]);
	wr16(at + 0x66, 0x68);
}

/* The whole machine: descriptor tables, stubs, TR = main TSS, ring 0. */
static inline void pm_setup(void)
{
	cpu_reset(&H.cpu);
	memset(H.ram, 0, 0x90000);
	H.nout = 0;
	H.out[0] = 0;
	H.exit_value = -1;
	for (int r = 0; r < 4; r++) {
		set_gdt(ring_cs[r], mkseg(0, 0xfffff, 0xb, r, 1, 0xc)); /* code RX, accessed */
		set_gdt(ring_ds[r], mkseg(0, 0xfffff, 0x3, r, 1, 0xc)); /* data RW, accessed */
	}
	set_gdt(TSS_MAIN_SEL, mksys(TSS_MAIN, 0x67, 0xb, 0, 1)); /* busy: TR */
	set_gdt(TSS_B_SEL, mksys(TSS_B, 0x67, 0x9, 0, 1));
	set_gdt(TSS_C_SEL, mksys(TSS_C, 0x67, 0x9, 0, 1));
	set_gdt(LDT_SEL, mksys(LDT, 0x1f, 0x2, 0, 1));
	tss32_init(TSS_MAIN, 0, 0, 0);
	for (int v = 0; v < 256; v++) {
		uint32_t at = STUBS + 16 * (uint32_t)v;
		H.ram[at] = 0xb8; /* mov $imm32, %eax */
		wr32(at + 1, 0x100u + (uint32_t)v);
		H.ram[at + 5] = 0xe7; /* out %eax, $0xf4 */
		H.ram[at + 6] = 0xf4;
		H.ram[at + 7] = 0xf4; /* hlt */
		set_idt(v, mkgate(K_CS, at, 0xe, 0, 1, 0));
	}
	/* INT $DONE: how test code at any ring says "finished". */
	set_idt(DONE, mkgate(K_CS, STUBS + 16 * DONE, 0xe, 3, 1, 0));
	struct cpu *c = &H.cpu;
	c->gdtr = (struct dtr){GDT, 64 * 8 - 1};
	c->idtr = (struct dtr){IDT, 256 * 8 - 1};
	c->cr0 |= CR0_PE;
	seg_set_cache(&c->tr, TSS_MAIN_SEL, TSS_MAIN, 0x67, 0x8b);
	seg_set_cache(&c->ldtr, LDT_SEL, LDT, 0x1f, 0x82);
	tlb_flush_all(c, 0);
}

/* Put the CPU at ring r with flat segments, at eip with ESP = esp. */
static inline void pm_ring(int r, uint32_t eip, uint32_t esp)
{
	cache_load(S_CS, ring_cs[r]);
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			cache_load(s, ring_ds[r]);
	H.cpu.eflags = FL_1;
	H.cpu.eip = eip;
	H.cpu.r[R_ESP] = esp;
	cpu_update_mode(&H.cpu);
}

/* Run; returns the vector whose stub stopped it (-1: stopped otherwise). */
static inline int run(void)
{
	H.exit_value = -1;
	H.cpu.shutdown = 0;
	enum cpu_stop st = h_run(&H, 100000);
	if (st == CPU_STOP_SHUTDOWN)
		return -2;
	return H.exit_value >= 0x100 ? H.exit_value - 0x100 : -1;
}

/* The dword at SS:ESP + i*4 (flat stack segments). */
static inline uint32_t stk(int i) { return rd32(H.cpu.seg[S_SS].base + H.cpu.r[R_ESP] + 4 * (uint32_t)i); }

#define EXPECT_EXC(vec, err)                                                                  \
	do {                                                                                  \
		int v_ = run();                                                               \
		CHECK(v_ == (vec), "vector %d, expected %d (EIP %08x)", v_, (vec), H.cpu.eip);  \
		if (v_ == (vec) && (err) >= 0)                                                \
			CHECK(stk(0) == (uint32_t)(err), "error code %#x, expected %#x", stk(0), \
			      (uint32_t)(err));                                               \
	} while (0)

static inline int finish(const char *name)
{
	h_free(&H);
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", name, failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif
