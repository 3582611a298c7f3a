/* Ring 3 programs: the two tour tasks and the ring 3 benchmark loops.
 *
 * Linked into the .user section (U/S=1 pages): this file may call only
 * itself and reach the kernel only through its gates: INT 0x80,
 * SYSENTER, and the call gate of the ring 2 service. */
#include "ringos.h"

u32 u_has_sep = 0;

static u32 u_int80(u32 nr, u32 a, u32 b)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : "b"(a), "c"(b) : "memory");
	return nr;
}

/* SYSENTER: the kernel returns with SYSEXIT to EDX with ESP = ECX. */
static u32 u_sysenter(u32 nr)
{
	__asm__ volatile("mov %%esp, %%ecx\n\tmov $1f, %%edx\n\tsysenter\n1:"
			 : "+a"(nr)
			 :
			 : "ecx", "edx", "memory");
	return nr;
}

/* The ring 2 service, through the call gate (2 parameters copied). */
static u32 u_svc(u32 op, u32 arg)
{
	u32 r;
	__asm__ volatile("pushl %2\n\tpushl %1\n\tlcall %3, $0"
			 : "=a"(r)
			 : "r"(op), "r"(arg), "i"(SEL_GATE_SVC | 3)
			 : "memory");
	return r;
}

static u32 u_ticks(void) { return u_has_sep ? u_sysenter(SYS_TICKS) : u_int80(SYS_TICKS, 0, 0); }

static char *u_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *u_num(char *p, u32 v)
{
	char t[10];
	int n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = t[--n];
	return p;
}

/* Each task writes its letter into its private page at TASK_VA (same
 * address in both tasks, different frames) and prints three lines
 * through ring 2 and ring 1, waiting two timer ticks between them so
 * that the PIT preempts it and the other task runs. */
void u_task(void)
{
	u32 pid = u_int80(SYS_GETPID, 0, 0);
	volatile char *mine = (volatile char *)TASK_VA;
	char line[100], *p;
	u32 r, t0;
	mine[0] = (char)('A' + pid - 1);
	for (r = 1; r <= 3; r++) {
		p = u_str(line, "  task ");
		*p++ = (char)('A' + pid - 1);
		p = u_str(p, " (ring 3, pid ");
		p = u_num(p, pid);
		p = u_str(p, "): round ");
		p = u_num(p, r);
		p = u_str(p, ", its page at 0x40000000 holds '");
		*p++ = mine[0];
		p = u_str(p, "'\n");
		*p = 0;
		u_svc(1, (u32)line);
		t0 = u_ticks();
		while (u_ticks() - t0 < 2)
			;
	}
	u_int80(SYS_EXIT, 0, 0);
}

static u32 u_rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo;
}

/* Benchmarks from ring 3: total cycles for n round trips. */
u32 u_bench_int80(u32 n)
{
	u32 t0 = u_rdtsc(), i;
	for (i = 0; i < n; i++)
		u_int80(SYS_NULL, 0, 0);
	return u_rdtsc() - t0;
}

u32 u_bench_sysenter(u32 n)
{
	u32 t0 = u_rdtsc(), i;
	for (i = 0; i < n; i++)
		u_sysenter(SYS_NULL);
	return u_rdtsc() - t0;
}

u32 u_bench_empty(u32 n)
{
	u32 t0 = u_rdtsc(), i;
	for (i = 0; i < n; i++)
		__asm__ volatile("" ::: "memory");
	return u_rdtsc() - t0;
}
