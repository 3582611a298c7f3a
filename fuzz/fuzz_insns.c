/* libFuzzer target: random instruction bytes run in every processor mode
 * (real, 16/32-bit protected at ring 0 and 3, virtual-8086, each with
 * paging off or on) on interp and bt, with a small instruction budget.
 *
 * The monitor must survive whatever the bytes do (faults, mode switches,
 * page-table edits, I/O, string instructions over the RAM end), and ASan
 * checks that no access leaves guest RAM. The guest's RAM is 1 MiB +
 * 64 KiB, so the VGA hole, the read-only BIOS area, the RAM end and the
 * unbacked space above it are all a few bytes of register away.
 *
 * Input: [mode][flags][8 x 4 bytes GPRs][code...]; docs/fuzzing.md. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include "../tests/harness.h"
#include "cpu/block.h"

#define RAM_SIZE 0x110000u
#define GDT 0x800u
#define IDT 0x1000u
#define TSS 0x2000u
#define PD 0x4000u
#define PT 0x5000u
#define STACK0 0x9000u
#define CODE 0x10000u
#define CODE_MAX 0x4000u
#define BUDGET 1000
#define DEADLINE_NS 50000000u

static struct harness machines[2]; /* interp, bt */
static int ready;
/* A guest may legitimately keep the processor busy for long (a REP
 * with IF = 0 over its own code completes as fetched): like SIGTERM in
 * ringvm, a timer signal sets the stop request the CPU honours. */
static volatile int *stop_target;
static timer_t stop_timer;

static void on_stop_timer(int sig)
{
	(void)sig;
	if (stop_target)
		*stop_target = 1;
}

static void wr32(struct harness *h, uint32_t pa, uint32_t v) { memcpy(h->ram + pa, &v, 4); }

static void put_desc(struct harness *h, uint32_t at, uint32_t base, uint32_t limit, uint32_t access,
		     uint32_t flags)
{
	wr32(h, at, (limit & 0xffff) | (base << 16));
	wr32(h, at + 4, ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) |
				 (base & 0xff000000u));
}

/* GDT: 08/10 ring-0 code/data, 18/20 ring-3 code/data, 28 TSS, 30/38
 * 16-bit ring-0 code/data, 40 call gate to ring 0. IDT: every vector an
 * interrupt gate (DPL 3) into the fuzzed code at a place the input picks,
 * so handlers are fuzzed too. TSS: ring-0 stack and a half-open I/O map. */
static void tables(struct harness *h, uint8_t flags)
{
	put_desc(h, GDT + 0x08, 0, 0xfffff, 0x9b, 0xc);
	put_desc(h, GDT + 0x10, 0, 0xfffff, 0x93, 0xc);
	put_desc(h, GDT + 0x18, 0, 0xfffff, 0xfb, 0xc);
	put_desc(h, GDT + 0x20, 0, 0xfffff, 0xf3, 0xc);
	put_desc(h, GDT + 0x28, TSS, 0x68 + 0x400, 0x89, 0);
	put_desc(h, GDT + 0x30, 0, 0xffff, 0x9b, 0);
	put_desc(h, GDT + 0x38, 0, 0xffff, 0x93, 0);
	uint32_t gate = CODE + 0x100;
	wr32(h, GDT + 0x40, (gate & 0xffff) | (0x08u << 16));
	wr32(h, GDT + 0x44, (gate & 0xffff0000u) | 0xec00u | 1);
	h->cpu.gdtr = (struct dtr){GDT, 0x47};
	uint32_t handler = CODE + (uint32_t)(flags >> 4) * 0x40;
	for (uint32_t v = 0; v < 256; v++) {
		wr32(h, IDT + v * 8, (handler & 0xffff) | (0x08u << 16));
		wr32(h, IDT + v * 8 + 4, (handler & 0xffff0000u) | ((flags & 8) ? 0xef00u : 0xee00u));
	}
	h->cpu.idtr = (struct dtr){IDT, 0x7ff};
	wr32(h, TSS + 4, STACK0);
	wr32(h, TSS + 8, 0x10);
	h->ram[TSS + 0x66] = 0x68;
	memset(h->ram + TSS + 0x68 + 0x200, 0xff, 0x201); /* ports 0x1000 up shut */
	seg_set_cache(&h->cpu.tr, 0x28, TSS, 0x68 + 0x400, 0x8b);
}

/* Identity paging: the first 4 MiB by 4 KiB pages (the code pages' U/W
 * bits and one hole chosen by the input), the rest by 4 MiB pages when
 * PSE is on, so every physical address (ROM, MMIO, unbacked) is mapped. */
static void paging(struct harness *h, uint8_t flags)
{
	wr32(h, PD, PT | 7);
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t pte = (i << 12) | 7;
		if (i >= 0x10 && i < 0x14) {
			if (flags & 1)
				pte &= ~4u;
			if (flags & 2)
				pte &= ~2u;
		}
		if (flags & 4 && i == 0x15)
			pte = 0;
		wr32(h, PT + i * 4, pte);
	}
	for (uint32_t i = 1; i < 1024; i++)
		wr32(h, PD + i * 4, (i << 22) | 0x87 | ((flags & 0x20) ? 0x100 : 0));
	h->cpu.cr3 = PD;
	h->cpu.cr4 |= CR4_PSE | ((flags & 0x20) ? CR4_PGE : 0);
	h->cpu.cr0 |= CR0_PG | ((flags & 0x40) ? CR0_WP : 0);
}

static void set_mode(struct harness *h, uint8_t mode, uint8_t flags)
{
	h_flat32(h, CODE, 0x8000);
	tables(h, flags);
	if (mode & 4)
		paging(h, flags);
	uint32_t iopl = (uint32_t)(flags & 0x80 ? 3 : 0) << FL_IOPL_SHIFT;
	switch (mode & 3) {
	case 0: /* real mode (paging needs PE: off) */
		h->cpu.cr0 &= ~(CR0_PE | CR0_PG);
		h->cpu.eflags = FL_1;
		cpu_update_mode(&h->cpu);
		for (int s = 0; s < S_NSEG; s++)
			seg_load_real(&h->cpu, s, s == S_CS ? CODE >> 4 : 0);
		h->cpu.eip = 0;
		break;
	case 1: /* 32-bit, ring 0 or 3, or 16-bit ring 0 */
		if (flags & 0x10) {
			seg_set_cache(&h->cpu.seg[S_CS], 0x30, 0, 0xffff, 0x9b);
			for (int s = 0; s < S_NSEG; s++)
				if (s != S_CS)
					seg_set_cache(&h->cpu.seg[s], 0x38, 0, 0xffff, 0x93);
			h->cpu.eip = CODE & 0xffff;
			seg_set_cache(&h->cpu.seg[S_CS], 0x30, CODE & ~0xffffu, 0xffff, 0x9b);
		}
		h->cpu.eflags = FL_1 | iopl;
		break;
	case 2:
		seg_set_cache(&h->cpu.seg[S_CS], 0x1b, 0, 0xffffffffu, 0xc0fb);
		for (int s = 0; s < S_NSEG; s++)
			if (s != S_CS)
				seg_set_cache(&h->cpu.seg[s], 0x23, 0, 0xffffffffu, 0xc0f3);
		h->cpu.eflags = FL_1 | iopl;
		break;
	case 3: /* virtual-8086 */
		h->cpu.eflags = FL_1 | FL_VM | iopl;
		cpu_update_mode(&h->cpu);
		for (int s = 0; s < S_NSEG; s++)
			seg_load_real(&h->cpu, s, s == S_CS ? CODE >> 4 : 0);
		h->cpu.eip = 0;
		break;
	}
	cpu_update_mode(&h->cpu);
	tlb_flush_all(&h->cpu, 0);
}

static void setup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_timer;
	sigaction(SIGUSR1, &sa, NULL);
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	if (timer_create(CLOCK_MONOTONIC, &sev, &stop_timer) < 0)
		__builtin_trap();
	setenv(ENGINE_ENV, "interp", 1);
	h_init(&machines[0], RAM_SIZE);
	setenv(ENGINE_ENV, "bt", 1);
	h_init(&machines[1], RAM_SIZE);
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!ready)
		setup();
	if (len < 2 + 32)
		return 0;
	uint8_t mode = data[0], flags = data[1];
	struct harness *h = &machines[(mode >> 3) & 1];
	/* Forget the last input entirely: no block, translation or TLB
	 * entry survives, and RAM reads back as zeros. */
	block_flush_all(&h->cpu);
	madvise(h->ram, RAM_SIZE, MADV_DONTNEED);
	set_mode(h, mode, flags);
	for (int i = 0; i < 8; i++)
		memcpy(&h->cpu.r[i], data + 2 + 4 * i, 4);
	if ((mode & 3) != 2 && !(mode & 0x10))
		h->cpu.r[R_ESP] &= 0xffff; /* keep a usable stack most of the time */
	size_t n = len - 34 > CODE_MAX ? CODE_MAX : len - 34;
	memcpy(h->ram + CODE, data + 34, n);
	h->nio = 0;
	h->nout = 0;
	/* Instructions, and host time: a REP over unbacked space counts one
	 * instruction per 4096 iterations, each a trip through the bus. */
	h->cpu.stop_request = 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	struct itimerspec its = {.it_value = {0, 2 * DEADLINE_NS}};
	stop_target = &h->cpu.stop_request;
	timer_settime(stop_timer, 0, &its, NULL);
	h->eng->ops->run(h->eng, now + DEADLINE_NS, h->cpu.icount + BUDGET);
	its.it_value.tv_nsec = 0;
	timer_settime(stop_timer, 0, &its, NULL);
	stop_target = NULL;
	/* The monitor's own view must still be consistent enough to dump. */
	if (h->cpu.cpl > 3)
		__builtin_trap();
	return 0;
}
