/* Nanobenchmarks after Adams and Agesen, "A Comparison of Software and
 * Hardware Techniques for x86 Virtualization" (ASPLOS 2006), Table 1:
 * the cost of the operations a VMM must intercept or emulate.
 *
 * IA-32 has no CR8, so "cr8wr" becomes a CR3 reload (the privileged
 * control register write a 32-bit kernel does most) and, separately, a
 * CLI/STI pair (what a 32-bit kernel does where a 64-bit one writes the
 * task priority register). "in" reads the master PIC's mask register
 * (port 0x21), which no device models with side effects. */
#include "ringos.h"

/* Iterations per row; a profiling build may raise it (-DBENCH_N=...). */
#ifndef BENCH_N
#define BENCH_N 2000
#endif
#define N BENCH_N
#define BENCH_VA (TEST_VA + 0x10000)

extern u32 u_bench_int80(u32 n), u_bench_sysenter(u32 n), u_bench_empty(u32 n);
extern u32 sysenter_user_if;
extern char bench_div_insn[];

static u32 tsc32(void) { return (u32)rdtsc(); }

static u32 *bench_pte;
static u32 bench_frame;

/* The kernel side of pgfault and divzero. */
static int bench_hook(struct frame *f)
{
	if (f->vec == 14 && read_cr2() == BENCH_VA) {
		*bench_pte = bench_frame | 3;
		return 1;
	}
	if (f->vec == 0 && f->eip == (u32)bench_div_insn) {
		f->eip += 2; /* skip DIV ECX (F7 F1) */
		return 1;
	}
	return 0;
}

static void row(const char *name, u32 total, u32 base, const char *what)
{
	u32 c = total > base ? total - base : 0;
	kprintf("%-10s %9u   %s\n", name, (c + N / 2) / N, what);
}

static u32 ring3(u32 (*fn)(u32))
{
	if (run_ring(3, (const void *)fn, N, 0) != VEC_DONE)
		return 0;
	return probe_out.f.eax;
}

void bench(void)
{
	u32 t, i, empty, base;
	volatile u32 *p = (volatile u32 *)BENCH_VA;

	kprintf("ringos bench: cycles per operation, RDTSC over %d iterations each\n", N);
	kprintf("(after Adams & Agesen, ASPLOS 2006, Table 1; loop overhead subtracted)\n");
	kprintf("%-10s %9s   %s\n", "name", "cycles/op", "what");

	empty = ring3(u_bench_empty);
	row("syscall", ring3(u_bench_int80), empty, "INT 0x80 + IRET round trip from ring 3, null call");
	if (cpu_has_sep()) {
		sysenter_user_if = 0;
		row("sysenter", ring3(u_bench_sysenter), empty, "SYSENTER + SYSEXIT round trip from ring 3");
		sysenter_user_if = 0x200;
	} else {
		kprintf("%-10s %9s   %s\n", "sysenter", "-", "CPUID.SEP=0: not measured");
	}

	t = tsc32();
	for (i = 0; i < N; i++)
		__asm__ volatile("" ::: "memory");
	base = tsc32() - t;

	t = tsc32();
	for (i = 0; i < N; i++)
		__asm__ volatile("inb $0x21, %%al" : : : "eax", "memory");
	row("in", tsc32() - t, base, "IN AL,0x21 (master PIC mask register) at ring 0");

	t = tsc32();
	for (i = 0; i < N; i++)
		__asm__ volatile("mov %%cr3, %%eax; mov %%eax, %%cr3" : : : "eax", "memory");
	row("cr3wr", tsc32() - t, base, "MOV CR3 reload (IA-32 has no CR8; read+write)");

	t = tsc32();
	for (i = 0; i < N; i++)
		__asm__ volatile("cli; sti" : : : "memory");
	row("cli/sti", tsc32() - t, base, "CLI; STI pair at ring 0");

	t = tsc32();
	for (i = 0; i < N; i++)
		__asm__ volatile("call 1f; jmp 2f; 1: ret; 2:" : : : "memory");
	row("call/ret", tsc32() - t, base, "near CALL + RET at ring 0");

	bench_pte = pte_of(kernel_pd, BENCH_VA);
	bench_frame = (u32)test_page(7);
	trap_hook = bench_hook;
	t = tsc32();
	for (i = 0; i < N; i++) {
		(void)*p; /* faults; the kernel maps the page */
		*bench_pte = 0;
		invlpg(BENCH_VA);
	}
	row("pgfault", tsc32() - t, base, "#PF, kernel maps the page (then PTE clear + INVLPG)");

	t = tsc32();
	for (i = 0; i < N; i++)
		__asm__ volatile("xor %%edx, %%edx; mov $1, %%eax; xor %%ecx, %%ecx\n"
				 "bench_div_insn: div %%ecx"
				 :
				 :
				 : "eax", "ecx", "edx", "memory");
	row("divzero", tsc32() - t, base, "#DE, kernel skips the DIV");
	trap_hook = 0;

	t = tsc32();
	for (i = 0; i < N; i++) {
		*bench_pte = (u32)test_page(6 + (i & 1)) | 3;
		invlpg(BENCH_VA);
		(void)*p;
	}
	row("ptemod", tsc32() - t, base, "PTE write + INVLPG + access");
	*bench_pte = 0;
	invlpg(BENCH_VA);
	kprintf("ringos: bench done, powering off\n");
}
