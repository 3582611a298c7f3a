/* What an engine that caches translated code must get right, run on
 * $RINGVM_ENGINE (interp by default, bt for the translator):
 *
 *   - self-modifying code: a store that rewrites a later instruction of
 *     the same block, a block that rewrites another (a direct call on the
 *     same page, an indirect call to another page), and code straddling
 *     two pages where the store hits either page, through the code's own
 *     address or an alias mapping of the physical page. Each loop runs 200
 *     times, so a translation made once and reused stale gives a wrong sum;
 *   - a fault on each instruction of a long block: 40 loads (then 40
 *     stores) from 40 pages, run until warm, then page N is made absent:
 *     #PF at instruction N, with every register (and memory) as the N
 *     instructions before it left them;
 *   - interrupts in a tight loop: `jmp .` returns at the instruction
 *     budget and at the deadline, takes a pending interrupt with IF=1
 *     (and not with IF=0), and resumes after IRET.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "test_protect_util.h"

#define PD 0x00100000u
#define PT0 0x00101000u /* 0-4 MiB */
#define PT1 0x00102000u /* 4-8 MiB */
#define RAM_SIZE (8u << 20)
#define TOP0 0x80000u /* ring-0 stack top (ring_stack[0]) */

/* ---- the machine: protected mode, stubs that only halt ---- */

static void setup(int paging)
{
	pm_setup();
	/* a halting stub per vector keeps every register as the event left it */
	for (int v = 0; v < 256; v++)
		H.ram[STUBS + 16 * (uint32_t)v] = 0xf4;
	H.cpu.halted = 0;
	if (!paging)
		return;
	wr32(PD, PT0 | 3);
	wr32(PD + 4, PT1 | 3);
	for (uint32_t i = 0; i < 2048; i++) /* PT0 then PT1: identity, supervisor */
		wr32(PT0 + 4 * i, (i << 12) | 3);
	H.cpu.cr3 = PD;
	H.cpu.cr0 |= CR0_PG;
	tlb_flush_all(&H.cpu, 0);
}

static void map_page(uint32_t lin, uint32_t phys, uint32_t flags)
{
	wr32(PT0 + 4 * (lin >> 12), phys | flags);
	tlb_flush_page(&H.cpu, lin);
}

/* Run at ring 0 from eip; returns the vector whose stub halted the run,
 * -1 for a HLT elsewhere, -2 for any other stop. */
static int run0(uint32_t eip, uint64_t budget)
{
	pm_ring(0, eip, TOP0);
	H.cpu.halted = 0;
	if (H.eng->ops->sync_in)
		H.eng->ops->sync_in(H.eng);
	enum cpu_stop st = h_run(&H, budget);
	if (H.eng->ops->sync_out)
		H.eng->ops->sync_out(H.eng);
	if (st != CPU_STOP_HALT)
		return -2;
	uint32_t s = H.cpu.eip - 1 - STUBS;
	return s < 256 * 16 && s % 16 == 0 ? (int)(s / 16) : -1;
}

/* ---- self-modifying code ---- */

/* (a) Within one block: each pass stores the counter into the immediate
 * of a later MOV and flips a later ADD into SUB (01 <-> 29) and back. */
SNIP32(smc_a,
       "mov $200, %ecx\n xor %ebx, %ebx\n"
       "1: mov %ecx, 1(%edi)\n xorb $0x28, (%esi)\n"
       ".globl smc_a_mov\n smc_a_mov: mov $0, %eax\n"
       ".globl smc_a_op\n smc_a_op: add %eax, %ebx\n"
       "dec %ecx\n jnz 1b\n hlt\n")
extern const unsigned char smc_a_mov[], smc_a_op[];

static void test_within_block(void)
{
	setup(0);
	LOAD(smc_a, CODE);
	H.cpu.r[R_EDI] = CODE + (uint32_t)(smc_a_mov - smc_a_start);
	H.cpu.r[R_ESI] = CODE + (uint32_t)(smc_a_op - smc_a_start);
	uint32_t want = 0;
	int add = 1;
	for (uint32_t c = 200; c > 0; c--) {
		add = !add;
		want = add ? want + c : want - c;
	}
	int v = run0(CODE, 100000); /* pm_ring keeps the general registers */
	CHECK(v == -1 && H.cpu.r[R_EBX] == want, "store into a later instruction of the same block: stop %d, "
	      "ebx %#x, want %#x", v, H.cpu.r[R_EBX], want);
}

/* (b) Across blocks: the loop rewrites the immediate of a subroutine it
 * calls, on the same page (a direct call) or on another page (through a
 * register). */
SNIP32(smc_b,
       "mov $200, %ecx\n xor %ebx, %ebx\n"
       "1: mov %ecx, 1(%edi)\n call smc_b_sub\n add %eax, %ebx\n"
       "mov %ecx, 1(%esi)\n call *%esi\n add %eax, %ebx\n"
       "dec %ecx\n jnz 1b\n hlt\n"
       ".globl smc_b_sub\n smc_b_sub: mov $0, %eax\n ret\n")
extern const unsigned char smc_b_sub[];
SNIP32(smc_far, "mov $0, %eax\n shl $1, %eax\n ret\n")

static void test_across_blocks(void)
{
	setup(0);
	LOAD(smc_b, CODE);
	LOAD(smc_far, CODE + 0x3000);
	H.cpu.r[R_EDI] = CODE + (uint32_t)(smc_b_sub - smc_b_start);
	H.cpu.r[R_ESI] = CODE + 0x3000;
	int v = run0(CODE, 100000);
	CHECK(v == -1 && H.cpu.r[R_EBX] == 3 * 20100u, "store into another block (same page, other page): stop "
	      "%d, ebx %u, want %u", v, H.cpu.r[R_EBX], 3 * 20100u);
}

/* (c) Across a page boundary: MOV EAX, imm32 with its opcode on one page
 * and three immediate bytes on the next, the two pages mapped to
 * non-adjacent physical pages; the store goes to both pages, the first
 * only, or the second only through an alias of its physical page. */
SNIP32(smc_c,
       "mov $200, %ecx\n xor %ebx, %ebx\n"
       "1: cmp $1, %edx\n jb 2f\n je 3f\n mov %cl, (%esi)\n jmp 4f\n"
       "2: mov %ecx, 1(%edi)\n jmp 4f\n"
       "3: mov %cl, 1(%edi)\n"
       "4: nop\n"
       ".globl smc_c_mov\n smc_c_mov: mov $0, %eax\n"
       "add %eax, %ebx\n dec %ecx\n jnz 1b\n hlt\n")
extern const unsigned char smc_c_mov[];

#define C_LIN 0x00200000u  /* two linear pages */
#define C_PHYS1 0x00300000u
#define C_PHYS2 0x00350000u
#define C_ALIAS 0x00210000u /* another mapping of C_PHYS2 */

static void load_lin(uint32_t lin, const unsigned char *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint32_t l = lin + i, pa = (rd32(PT0 + 4 * (l >> 12)) & ~0xfffu) | (l & 0xfff);
		h_load(&H, pa, p + i, 1);
	}
}

static void test_page_boundary(void)
{
	static const char *const how[3] = {"both pages", "the first page", "the second page, through an alias"};
	uint32_t off = (uint32_t)(smc_c_mov - smc_c_start), len = (uint32_t)(smc_c_end - smc_c_start);
	for (uint32_t variant = 0; variant < 3; variant++) {
		setup(1);
		map_page(C_LIN, C_PHYS1, 3);
		map_page(C_LIN + 0x1000, C_PHYS2, 3);
		map_page(C_ALIAS, C_PHYS2, 3);
		uint32_t at = C_LIN + 0xffe - off; /* B8 at 0xffe: imm[0] on page 1, imm[1..3] on page 2 */
		load_lin(at, smc_c_start, len);
		pm_ring(0, at, TOP0);
		H.cpu.r[R_EDX] = variant;
		H.cpu.r[R_EDI] = C_LIN + 0xffe;
		H.cpu.r[R_ESI] = C_ALIAS; /* imm[1] */
		int v = run0(at, 100000);
		uint32_t want = variant == 2 ? 256u * 20100u : 20100u;
		CHECK(v == -1 && H.cpu.r[R_EBX] == want, "code across a page boundary, store into %s: stop %d, ebx "
		      "%u, want %u", how[variant], v, H.cpu.r[R_EBX], want);
		uint8_t b[2];
		cpu_phys_read(&H.cpu, C_PHYS1 + 0xfff, b, 1);
		cpu_phys_read(&H.cpu, C_PHYS2, b + 1, 1);
		CHECK(variant == 2 ? b[0] == 0 && b[1] == 1 : b[0] == 1, "the code bytes hold the last value");
	}
}

/* ---- a fault on each instruction of a long block ---- */

#define F_INSNS 40
#define F_DATA 0x00400000u /* page k at F_DATA + 4096 k, identity-mapped */
static const int f_reg[6] = {R_EAX, R_EBX, R_ECX, R_EDX, R_EBP, R_EDI};

/* k: add disp32(%esi), %reg  or  mov %reg, disp32(%esi) */
static uint32_t emit_block(uint8_t *code, int stores)
{
	uint32_t n = 0;
	for (int k = 0; k < F_INSNS; k++) {
		code[n++] = stores ? 0x89 : 0x03;
		code[n++] = (uint8_t)(0x80 | (f_reg[k % 6] << 3) | R_ESI);
		uint32_t d = 4096u * (uint32_t)k;
		memcpy(code + n, &d, 4);
		n += 4;
	}
	code[n++] = 0xf4;
	return n;
}

static uint32_t f_value(int k) { return (1u << (k % 32)) ^ ((uint32_t)k << 24); }

static void f_state(int stores, int n_done, uint32_t *r)
{
	for (int i = 0; i < 8; i++)
		r[i] = 0x01010101u * (uint32_t)(i + 1);
	r[R_ESI] = F_DATA;
	r[R_ESP] = TOP0;
	if (!stores)
		for (int k = 0; k < n_done; k++)
			r[f_reg[k % 6]] += f_value(k);
}

static void f_reset_data(void)
{
	for (int k = 0; k < F_INSNS; k++)
		wr32(F_DATA + 4096u * (uint32_t)k, f_value(k));
}

static void test_fault_each(int stores)
{
	const char *what = stores ? "store" : "load";
	setup(1);
	for (uint32_t p = 0; p < F_INSNS; p++) /* PT1: 4-8 MiB */
		wr32(PT1 + 4 * p, (F_DATA + 4096 * p) | 3);
	uint8_t code[F_INSNS * 6 + 1];
	uint32_t len = emit_block(code, stores);
	h_load(&H, CODE, code, len);
	uint32_t r[8];
	for (int warm = 0; warm < 3; warm++) { /* let a translator translate it */
		f_reset_data();
		pm_ring(0, CODE, TOP0);
		f_state(stores, 0, H.cpu.r);
		int v = run0(CODE, 10000);
		f_state(stores, F_INSNS, r);
		CHECK(v == -1 && !memcmp(H.cpu.r, r, sizeof(r)), "40 %ss ran to the end (stop %d)", what, v);
	}
	for (int n = 0; n < F_INSNS; n++) {
		f_reset_data();
		uint32_t page = F_DATA + 4096u * (uint32_t)n;
		wr32(PT1 + 4 * (uint32_t)n, 0);
		tlb_flush_page(&H.cpu, page);
		pm_ring(0, CODE, TOP0);
		f_state(stores, 0, H.cpu.r);
		int v = run0(CODE, 10000);
		f_state(stores, n, r);
		uint32_t esp = H.cpu.r[R_ESP];
		r[R_ESP] = esp; /* the frame: error code, EIP, CS, EFLAGS */
		CHECK(v == EXC_PF && esp == TOP0 - 16, "%s %d: stop %d, esp %#x", what, n, v, esp);
		if (v == EXC_PF && esp == TOP0 - 16) {
			CHECK(rd32(esp + 4) == CODE + 6u * (uint32_t)n, "%s %d: fault EIP %#x, want %#x", what, n,
			      rd32(esp + 4), CODE + 6u * (uint32_t)n);
			CHECK(rd32(esp) == (stores ? 2u : 0u) && H.cpu.cr2 == page, "%s %d: error code %#x, cr2 %#x", what,
			      n, rd32(esp), H.cpu.cr2);
			CHECK(!memcmp(H.cpu.r, r, sizeof(r)), "%s %d: registers differ from the %d instructions before",
			      what, n, n);
		}
		for (int k = 0; stores && k < F_INSNS; k++) {
			if (k == n)
				continue;
			uint32_t want = k < n ? r[f_reg[k % 6]] : f_value(k);
			CHECK(rd32(F_DATA + 4096u * (uint32_t)k) == want, "store fault at %d: page %d holds %#x, want %#x", n,
			      k, rd32(F_DATA + 4096u * (uint32_t)k), want);
		}
		wr32(PT1 + 4 * (uint32_t)n, page | 3);
		tlb_flush_page(&H.cpu, page);
	}
}

/* ---- interrupts in a tight loop ---- */

#define VEC 0x30
SNIP32(loop_self, "1: jmp 1b\n")
/* the loop counts in EBX; the handler counts at 0x7000 and returns */
SNIP32(loop_count, "1: inc %ebx\n jmp 1b\n")
SNIP32(handler_iret, "incl 0x7000\n iret\n")

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "test_engine_smc: a guest loop never returned to the harness\n";
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(1);
	_exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void user_loop(const unsigned char *start, const unsigned char *end)
{
	setup(0);
	h_load(&H, CODE, start, (size_t)(end - start));
	set_idt(VEC, mkgate(K_CS, STUBS + 16 * VEC, 0xe, 0, 1, 0));
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.eflags = FL_1 | FL_IF;
	H.cpu.halted = 0;
}

static enum cpu_stop run_for(uint64_t budget)
{
	if (H.eng->ops->sync_in)
		H.eng->ops->sync_in(H.eng);
	enum cpu_stop st = h_run(&H, budget);
	if (H.eng->ops->sync_out)
		H.eng->ops->sync_out(H.eng);
	return st;
}

static void test_interrupts(void)
{
	signal(SIGALRM, on_alarm);
	alarm(60);

	/* the budget ends a loop that never leaves its block */
	user_loop(loop_self_start, loop_self_end);
	uint64_t ic = H.cpu.icount;
	enum cpu_stop st = run_for(100000);
	CHECK(st == CPU_STOP_BUDGET && H.cpu.eip == CODE && H.cpu.icount - ic >= 100000,
	      "jmp . under a budget: stop %d at %#x after %llu instructions", st, H.cpu.eip,
	      (unsigned long long)(H.cpu.icount - ic));

	/* so does the deadline */
	uint64_t t0 = now_ns();
	st = H.eng->ops->run(H.eng, t0 + 20000000ull, ~0ull);
	uint64_t took = now_ns() - t0;
	CHECK(st == CPU_STOP_BUDGET && took < 5000000000ull, "jmp . with a 20 ms deadline: stop %d after %llu ms",
	      st, (unsigned long long)(took / 1000000));

	/* a pending interrupt is taken at once with IF=1 */
	H.cpu.intr_line = 1;
	H.pending_vector = VEC;
	st = run_for(100000);
	uint32_t esp = H.cpu.r[R_ESP];
	CHECK(st == CPU_STOP_HALT && H.cpu.eip == STUBS + 16 * VEC + 1 && esp == TOP0 - 20,
	      "interrupt in jmp .: stop %d at %#x, esp %#x", st, H.cpu.eip, esp);
	if (esp == TOP0 - 20)
		CHECK(rd32(esp) == CODE && rd32(esp + 4) == U_CS && (rd32(esp + 8) & FL_IF), "interrupt frame: eip %#x "
		      "cs %#x eflags %#x", rd32(esp), rd32(esp + 4), rd32(esp + 8));
	CHECK(!H.cpu.intr_line, "the interrupt was acknowledged");

	/* not with IF=0 (ring 0: CLI is allowed, the loop is the same) */
	user_loop(loop_self_start, loop_self_end);
	pm_ring(0, CODE, TOP0);
	H.cpu.eflags = FL_1;
	H.cpu.intr_line = 1;
	st = run_for(50000);
	CHECK(st == CPU_STOP_BUDGET && H.cpu.eip == CODE && H.cpu.intr_line, "IF=0: stop %d at %#x, line %d", st,
	      H.cpu.eip, H.cpu.intr_line);
	H.cpu.intr_line = 0;

	/* interrupts that return: the loop goes on, the handler ran each time */
	user_loop(loop_count_start, loop_count_end);
	LOAD(handler_iret, 0x9000);
	set_idt(VEC, mkgate(K_CS, 0x9000, 0xe, 0, 1, 0));
	wr32(0x7000, 0);
	H.cpu.r[R_EBX] = 0;
	uint32_t last = 0;
	for (int i = 0; i < 5; i++) {
		st = run_for(20000);
		CHECK(st == CPU_STOP_BUDGET && H.cpu.cpl == 3 && H.cpu.r[R_EBX] > last, "loop %d: stop %d, cpl %d, "
		      "ebx %u", i, st, H.cpu.cpl, H.cpu.r[R_EBX]);
		last = H.cpu.r[R_EBX];
		H.cpu.intr_line = 1;
		H.pending_vector = VEC;
	}
	st = run_for(20000);
	CHECK(rd32(0x7000) == 5 && H.cpu.r[R_EBX] > last && H.cpu.cpl == 3, "5 interrupts with IRET: handler "
	      "ran %u times, ebx %u", rd32(0x7000), H.cpu.r[R_EBX]);
	alarm(0);
}

int main(void)
{
	h_init(&H, RAM_SIZE);
	test_within_block();
	test_across_blocks();
	test_page_boundary();
	test_fault_each(0);
	test_fault_each(1);
	test_interrupts();
	return finish("test_engine_smc");
}
