/* Paging (SDM Vol. 3, ch. 4, 32-bit paging) as mem.c implements it:
 * #PF error codes and CR2, U/S and R/W with CR0.WP, accessed/dirty bits,
 * 4 MiB pages under CR4.PSE, global pages under CR4.PGE, TLB flushes by
 * MOV CR3 / INVLPG, page-crossing accesses, and self-modifying code
 * through an alias mapping.
 *
 * Most checks drive lin_read/lin_write (the path every instruction's
 * memory operand takes) directly with a local fault landing pad, so they
 * need no exception delivery; the TLB-flush and SMC checks run guest code.
 */
#include "paging_util.h"

#define PD 0x10000u   /* page directory */
#define PT0 0x11000u  /* page table for 0-4 MiB (identity) */
#define PT2 0x12000u  /* page table for 8-12 MiB */
#define PT3 0x13000u  /* page table for 12-16 MiB */
#define P 0x001u
#define W 0x002u
#define U 0x004u
#define A 0x020u
#define D 0x040u
#define PS 0x080u
#define G 0x100u

static struct harness h;
static int failures;

static void set_pde(uint32_t i, uint32_t v) { h_wr32(&h, PD + 4 * i, v); }
static void set_pte(uint32_t pt, uint32_t i, uint32_t v) { h_wr32(&h, pt + 4 * i, v); }

/* Fresh tables: 0-4 MiB identity-mapped, supervisor+user, writable. */
static void setup(uint32_t cr4, uint32_t cr0_extra)
{
	h_flat32(&h, 0x100000, 0x90000);
	memset(h.ram + PD, 0, 0x4000);
	set_pde(0, PT0 | P | W | U);
	for (uint32_t i = 0; i < 1024; i++)
		set_pte(PT0, i, (i << 12) | P | W | U);
	h.cpu.cr3 = PD;
	h.cpu.cr4 = cr4;
	h.cpu.cr0 |= CR0_PG | CR0_PE | cr0_extra;
	tlb_flush_all(&h.cpu, 0);
	cpu_update_mode(&h.cpu);
}

/* One access through the TLB (paging_util.h). */
static int access(uint32_t lin, int size, int write, int user, uint32_t *val)
{
	return pg_access(&h.cpu, lin, size, write ? ACC_W : ACC_R, user, val);
}

/* An instruction fetch (the decoder's path); same result convention. */
static int fetch(uint32_t lin, int user)
{
	uint32_t v;
	return pg_access(&h.cpu, lin, 4, ACC_X, user, &v);
}

static int rd(uint32_t lin, int user, uint32_t *v) { return access(lin, 4, 0, user, v); }
static int wr(uint32_t lin, int user, uint32_t v) { return access(lin, 4, 1, user, &v); }

static void test_not_present(void)
{
	uint32_t v = 0;
	setup(0, 0);
	/* PDE 2 (8-12 MiB) not present. */
	static const struct { int write, user; int err; } c[] = {
		{0, 0, 0}, {1, 0, 2}, {0, 1, 4}, {1, 1, 6},
	};
	for (int i = 0; i < 4; i++) {
		h.cpu.cr2 = 0;
		int e = access(0x00812345, 4, c[i].write, c[i].user, &v);
		CHECK(e == c[i].err, "PDE not present w=%d u=%d: err %d", c[i].write, c[i].user, e);
		CHECK(h.cpu.cr2 == 0x00812345, "CR2 %08x", h.cpu.cr2);
	}
	/* PTE not present under a present PDE. */
	set_pte(PT0, 0x55, 0);
	for (int i = 0; i < 4; i++) {
		h.cpu.cr2 = 0;
		int e = access(0x00055ffc, 4, c[i].write, c[i].user, &v);
		CHECK(e == c[i].err, "PTE not present w=%d u=%d: err %d", c[i].write, c[i].user, e);
		CHECK(h.cpu.cr2 == 0x00055ffc, "CR2 %08x", h.cpu.cr2);
	}
}

static void test_user_supervisor(void)
{
	uint32_t v;
	setup(0, 0);
	set_pte(PT0, 0x60, 0x60000 | P | W); /* supervisor page */
	h_wr32(&h, 0x60000, 0x11223344);
	CHECK(rd(0x60000, 0, &v) == -1 && v == 0x11223344, "supervisor read of S page: %08x", v);
	CHECK(rd(0x60000, 1, &v) == 5, "user read of S page");
	CHECK(wr(0x60000, 1, 1) == 7, "user write of S page");
	CHECK(h_rd32(&h, 0x60000) == 0x11223344, "user write changed memory");
	CHECK(h.cpu.cr2 == 0x60000, "CR2 %08x", h.cpu.cr2);
	/* U/S is the AND of PDE and PTE (SDM 4.6): a user PTE under a
	 * supervisor PDE is a supervisor page. */
	setup(0, 0);
	set_pde(0, PT0 | P | W);
	tlb_flush_all(&h.cpu, 0);
	CHECK(rd(0x61000, 1, &v) == 5, "user read under S PDE");
	CHECK(rd(0x61000, 0, &v) == -1, "supervisor read under S PDE");
	/* An implicit supervisor access (ACC_SYS, e.g. a GDT read) from CPL 3
	 * is a supervisor access. */
	h.cpu.cpl = 3;
	jmp_buf jb;
	jmp_buf *saved = h.cpu.fault_jmp;
	h.cpu.fault_jmp = &jb;
	volatile int faulted = 0;
	if (setjmp(jb) == 0)
		(void)lin_read(&h.cpu, 0x62000, 4, ACC_R | ACC_SYS);
	else
		faulted = 1;
	h.cpu.fault_jmp = saved;
	h.cpu.cpl = 0;
	CHECK(!faulted, "ACC_SYS read at CPL 3 of a supervisor page faulted");
}

/* Fetches are reads for protection (no execute-disable on a P6): the
 * error code has no I/D bit. */
static void test_fetch(void)
{
	setup(0, CR0_WP);
	set_pte(PT0, 0x90, 0x90000 | P | W);     /* supervisor */
	set_pte(PT0, 0x91, 0x91000 | P | U);     /* user, read-only */
	set_pte(PT0, 0x92, 0);                   /* absent */
	CHECK(fetch(0x90000, 0) == -1, "supervisor fetch from S page");
	CHECK(fetch(0x90000, 1) == 5, "user fetch from S page");
	CHECK(fetch(0x91000, 1) == -1, "user fetch from read-only page");
	CHECK(fetch(0x92ffc, 1) == 4 && h.cpu.cr2 == 0x92ffc, "user fetch from absent page, CR2 %08x", h.cpu.cr2);
	CHECK(fetch(0x92000, 0) == 0, "supervisor fetch from absent page");
}

static void test_read_write(void)
{
	uint32_t v;
	setup(0, 0); /* WP = 0 */
	set_pte(PT0, 0x70, 0x70000 | P | U); /* read-only user page */
	h_wr32(&h, 0x70000, 1);
	CHECK(wr(0x70000, 0, 0xaaaa5555) == -1, "WP=0: supervisor write to R/O page faulted");
	CHECK(h_rd32(&h, 0x70000) == 0xaaaa5555, "WP=0: write did not land");
	CHECK(wr(0x70000, 1, 2) == 7, "WP=0: user write to R/O page");
	CHECK(h_rd32(&h, 0x70000) == 0xaaaa5555, "user write changed memory");
	/* WP=1: the cached writable entry must go when CR0.WP changes. */
	h.cpu.cr0 |= CR0_WP;
	tlb_flush_all(&h.cpu, 0);
	CHECK(wr(0x70000, 0, 3) == 3, "WP=1: supervisor write to R/O page");
	CHECK(h_rd32(&h, 0x70000) == 0xaaaa5555, "faulting write changed memory");
	CHECK(rd(0x70000, 0, &v) == -1 && v == 0xaaaa5555, "WP=1: supervisor read");
	CHECK(rd(0x70000, 1, &v) == -1, "WP=1: user read");
	/* R/W is the AND of PDE and PTE too. */
	setup(0, CR0_WP);
	set_pde(0, PT0 | P | U);
	tlb_flush_all(&h.cpu, 0);
	CHECK(wr(0x71000, 0, 1) == 3, "WP=1: write under R/O PDE");
	CHECK(wr(0x71000, 1, 1) == 7, "user write under R/O PDE");
}

static void test_accessed_dirty(void)
{
	uint32_t v;
	setup(0, 0);
	set_pde(0, PT0 | P | W | U); /* A clear */
	set_pte(PT0, 0x80, 0x80000 | P | W | U);
	tlb_flush_all(&h.cpu, 0);
	CHECK(rd(0x80010, 0, &v) == -1, "read");
	CHECK(h_rd32(&h, PD) & A, "PDE.A not set by a read");
	CHECK((h_rd32(&h, PT0 + 4 * 0x80) & (A | D)) == A, "PTE after read: %08x", h_rd32(&h, PT0 + 4 * 0x80));
	/* The write finds the clean entry cached for reads: it must still set D. */
	CHECK(wr(0x80010, 0, 5) == -1, "write");
	CHECK((h_rd32(&h, PT0 + 4 * 0x80) & (A | D)) == (A | D), "PTE after write: %08x", h_rd32(&h, PT0 + 4 * 0x80));
	CHECK(!(h_rd32(&h, PD) & D), "D set in a PDE that maps a page table");
	/* A write as the first access sets both. */
	set_pte(PT0, 0x81, 0x81000 | P | W | U);
	CHECK(wr(0x81000, 1, 5) == -1, "user write");
	CHECK((h_rd32(&h, PT0 + 4 * 0x81) & (A | D)) == (A | D), "PTE after first write: %08x", h_rd32(&h, PT0 + 4 * 0x81));
	/* A user write that faults on protection does not set D. */
	set_pte(PT0, 0x82, 0x82000 | P | W);
	CHECK(wr(0x82000, 1, 5) == 7, "user write to S page");
	CHECK(!(h_rd32(&h, PT0 + 4 * 0x82) & D), "D set by a faulting write");
}

static void test_large_pages(void)
{
	uint32_t v;
	/* PDE 3 (12-16 MiB) maps the 4 MiB frame at 4 MiB. */
	setup(CR4_PSE, 0);
	set_pde(3, 0x00400000 | P | W | U | PS);
	h_wr32(&h, 0x00401234, 0xcafef00d);
	CHECK(rd(0x00c01234, 0, &v) == -1 && v == 0xcafef00d, "4 MiB page read %08x", v);
	CHECK((h_rd32(&h, PD + 12) & (A | D)) == A, "4 MiB PDE after read %08x", h_rd32(&h, PD + 12));
	CHECK(wr(0x00fffffc, 1, 0x12345678) == -1, "4 MiB page user write");
	CHECK(h_rd32(&h, 0x007ffffc) == 0x12345678, "write through 4 MiB page");
	CHECK((h_rd32(&h, PD + 12) & (A | D)) == (A | D), "4 MiB PDE after write %08x", h_rd32(&h, PD + 12));
	/* The write that set D leaves a writable TLB entry (later writes take
	 * the fast path). */
	CHECK(h.cpu.tlb.e[1][0x3ff].tag_w == 0x00fff000, "4 MiB page: no write entry after the first write");
	/* Read-only supervisor 4 MiB page: user read faults with P set. */
	set_pde(3, 0x00400000 | P | PS);
	tlb_flush_all(&h.cpu, 0);
	CHECK(rd(0x00c00000, 1, &v) == 5, "user read of S 4 MiB page");

	/* Without CR4.PSE, PS is ignored: the PDE points to a page table. */
	setup(0, 0);
	set_pde(3, 0x00400000 | P | W | U | PS);
	set_pte(0x00400000, 1, 0x3000 | P | W | U); /* 0xc01000 -> 0x3000 */
	h_wr32(&h, 0x3234, 0x5a5a5a5a);
	CHECK(rd(0x00c01234, 0, &v) == -1 && v == 0x5a5a5a5a, "PS without PSE: %08x", v);
}

static void test_crossing(void)
{
	uint32_t v = 0;
	setup(0, CR0_WP);
	set_pte(PT0, 0x31, 0); /* 0x31000 not present, 0x30000 present */
	h_wr32(&h, 0x30ffc, 0x01020304);
	CHECK(wr(0x30ffe, 0, 0xdeadbeef) == 2, "crossing write into absent page");
	CHECK(h.cpu.cr2 == 0x31000, "CR2 %08x, want the second page", h.cpu.cr2);
	CHECK(h_rd32(&h, 0x30ffc) == 0x01020304, "first page written: %08x", h_rd32(&h, 0x30ffc));
	CHECK(rd(0x30ffd, 1, &v) == 4, "crossing user read");
	CHECK(h.cpu.cr2 == 0x31000, "CR2 %08x", h.cpu.cr2);
	set_pte(PT0, 0x31, 0x31000 | P | U); /* present, read-only */
	CHECK(wr(0x30fff, 0, 0xdeadbeef) == 3, "crossing write into R/O page");
	CHECK(h.cpu.cr2 == 0x31000, "CR2 %08x", h.cpu.cr2);
	CHECK(h_rd32(&h, 0x30ffc) == 0x01020304, "first page written: %08x", h_rd32(&h, 0x30ffc));
	set_pte(PT0, 0x31, 0x31000 | P | W | U);
	tlb_flush_page(&h.cpu, 0x31000);
	CHECK(wr(0x30ffe, 0, 0xdeadbeef) == -1, "crossing write");
	CHECK(h_rd32(&h, 0x30ffc) == 0xbeef0304 && (h_rd32(&h, 0x31000) & 0xffff) == 0xdead, "crossing write data");
	CHECK(rd(0x30ffe, 0, &v) == -1 && v == 0xdeadbeef, "crossing read %08x", v);
}

/* ---- guest code: MOV CR3, MOV CR4, INVLPG, SMC ---- */

/* Each snippet reads [ebx] into EAX, reports it on port 0x80 and halts;
 * the preamble does the flush under test. */
__asm__(".pushsection .rodata\n.code32\n"
	"g_read:\n mov (%ebx), %eax\n out %eax, $0x80\n hlt\n"
	"g_cr3:\n mov %cr3, %ecx\n mov %ecx, %cr3\n mov (%ebx), %eax\n out %eax, $0x80\n hlt\n"
	"g_pge_off:\n mov %cr4, %ecx\n and $~0x80, %ecx\n mov %ecx, %cr4\n mov (%ebx), %eax\n out %eax, $0x80\n hlt\n"
	"g_invlpg:\n invlpg (%esi)\n mov (%ebx), %eax\n out %eax, $0x80\n hlt\n"
	/* SMC: the routine at 1: is run, patched through the alias at
	 * 8 MiB, and run again. */
	"g_smc:\n call 1f\n movb $0x42, 0x800000 + (1f - g_read) + 1\n call 1f\n hlt\n"
	"1: mov $0x41, %al\n out %al, $0xe9\n ret\n"
	"g_end:\n"
	".code64\n.popsection\n");
extern const unsigned char g_read[], g_cr3[], g_pge_off[], g_invlpg[], g_smc[], g_end[];

#define CODE 0x100000u

/* Run the snippet at CODE + off with EBX = addr; returns the value
 * reported on port 0x80 (or 0xbad0bad0). */
static uint32_t run_snippet(const unsigned char *snip, uint32_t ebx, uint32_t esi)
{
	h.nio = 0;
	h.cpu.eip = CODE + (uint32_t)(snip - g_read);
	h.cpu.r[R_EBX] = ebx;
	h.cpu.r[R_ESI] = esi;
	h.cpu.halted = 0;
	enum cpu_stop st = h_run(&h, 100);
	if (st != CPU_STOP_HALT || h.nio != 1 || h.io_log[0].port != 0x80)
		return 0xbad0bad0;
	return h.io_log[0].val;
}

static void guest_setup(uint32_t cr4)
{
	setup(cr4, 0);
	h_load(&h, CODE, g_read, (size_t)(g_end - g_read));
	h_wr32(&h, 0x20000, 0x20000);
	h_wr32(&h, 0x21000, 0x21000);
	h_wr32(&h, 0x22000, 0x22000);
}

/* The control of each flush check: after the PTE changed and before the
 * flush, the old translation is still used. The architecture permits a
 * stale entry but does not require one (SDM Vol. 3, 4.10.4.2-3); ringvm's
 * TLB caches translations and is documented to (docs/cpu-system.md), so
 * this asserts ringvm's behaviour: without it a TLB that never cached
 * anything would pass every flush check below. */
static void stale_until_flush(uint32_t addr, uint32_t old)
{
	CHECK(run_snippet(g_read, addr, 0) == old, "%#x: the PTE's change was seen before any flush", addr);
}

static void test_tlb_flushes(void)
{
	/* CR3 reload drops a non-global entry. */
	guest_setup(0);
	set_pte(PT0, 0x20, 0x20000 | P | W);
	CHECK(run_snippet(g_read, 0x20000, 0) == 0x20000, "first read");
	set_pte(PT0, 0x20, 0x21000 | P | W);
	stale_until_flush(0x20000, 0x20000);
	CHECK(run_snippet(g_cr3, 0x20000, 0) == 0x21000, "MOV CR3 kept a non-global entry");

	/* Global entry with PGE: survives the CR3 reload, goes with PGE off. */
	guest_setup(CR4_PGE);
	set_pte(PT0, 0x20, 0x20000 | P | W | G);
	CHECK(run_snippet(g_read, 0x20000, 0) == 0x20000, "first read");
	set_pte(PT0, 0x20, 0x21000 | P | W | G);
	stale_until_flush(0x20000, 0x20000);
	CHECK(run_snippet(g_cr3, 0x20000, 0) == 0x20000, "MOV CR3 dropped a global entry");
	CHECK(run_snippet(g_pge_off, 0x20000, 0) == 0x21000, "clearing CR4.PGE kept a global entry");

	/* G without CR4.PGE is not global. */
	guest_setup(0);
	set_pte(PT0, 0x20, 0x20000 | P | W | G);
	CHECK(run_snippet(g_read, 0x20000, 0) == 0x20000, "first read");
	set_pte(PT0, 0x20, 0x21000 | P | W | G);
	stale_until_flush(0x20000, 0x20000);
	CHECK(run_snippet(g_cr3, 0x20000, 0) == 0x21000, "G page without PGE survived MOV CR3");

	/* INVLPG makes the new mapping visible, for a global page too. */
	guest_setup(CR4_PGE);
	set_pte(PT0, 0x20, 0x20000 | P | W | G);
	CHECK(run_snippet(g_read, 0x20000, 0) == 0x20000, "first read");
	set_pte(PT0, 0x20, 0x22000 | P | W | G);
	stale_until_flush(0x20000, 0x20000);
	CHECK(run_snippet(g_invlpg, 0x20000, 0x20000) == 0x22000, "INVLPG did not drop the entry");

	/* INVLPG of one address of a 4 MiB page drops all of it. */
	guest_setup(CR4_PSE);
	set_pde(3, 0x00400000 | P | W | PS);
	h_wr32(&h, 0x00400000, 0x400000);
	h_wr32(&h, 0x00405000, 0x405000);
	h_wr32(&h, 0x00000000, 0);
	h_wr32(&h, 0x00005000, 0x5000);
	CHECK(run_snippet(g_read, 0x00c00000, 0) == 0x400000, "4 MiB first read");
	CHECK(run_snippet(g_read, 0x00c05000, 0) == 0x405000, "4 MiB second read");
	set_pde(3, 0x00000000 | P | W | PS);
	stale_until_flush(0x00c05000, 0x405000);
	CHECK(run_snippet(g_invlpg, 0x00c05000, 0x00c00000) == 0x5000,
	      "INVLPG left another part of the 4 MiB page cached");
}

static void test_smc_alias(void)
{
	guest_setup(0);
	/* 8 MiB -> the code page, writable, a second linear view of it. */
	set_pde(2, PT2 | P | W);
	set_pte(PT2, 0, CODE | P | W);
	h.nout = 0;
	h.out[0] = 0;
	h.cpu.r[R_ESP] = 0x90000;
	h.cpu.eip = CODE + (uint32_t)(g_smc - g_read);
	enum cpu_stop st = h_run(&h, 100);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(strcmp(h.out, "AB") == 0, "SMC through an alias: out '%s'", h.out);
}

int main(void)
{
	h_init(&h, 8 << 20);
	test_not_present();
	test_user_supervisor();
	test_read_write();
	test_fetch();
	test_accessed_dirty();
	test_large_pages();
	test_crossing();
	test_tlb_flushes();
	test_smc_alias();
	h_free(&h);
	if (failures) {
		printf("paging: %d failures\n", failures);
		return 1;
	}
	printf("paging: ok\n");
	return 0;
}
