/* Moves, stack and near branches in 32-bit protected mode, for what a
 * native comparison cannot show: faults that must leave every register
 * and memory byte as they were (XCHG/CMPXCHG/XADD on a read-only page,
 * CMOVcc with a false condition, PUSHA/ENTER on a stack running into a
 * non-present page, CALL/RET/LOOP/Jcc to a target beyond the CS limit),
 * the write-back of a failed CMPXCHG, CMPXCHG8B, POP to [ESP+n], and
 * stack arithmetic on a 16-bit stack segment in 32-bit code. */
#include "fault_util.h"

static int failures;
static struct harness H;

#define SNIP(name, body)                                                              \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code32\n" body "\n.code64\n" #name \
		"_end:\n.popsection\n");                                                      \
	extern const unsigned char name##_start[], name##_end[];

#define CODE 0x100000u
#define GDT 0x800u
#define IDT 0x1000u
#define HANDLERS 0x3000u
#define PD 0x10000u
#define PT 0x11000u
#define RO_PAGE 0x205000u /* read-only under paging */
#define NP_PAGE 0x206000u /* not present under paging */


static void put_desc(uint32_t at, uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
	h_wr32(&H, at, (limit & 0xffff) | (base << 16));
	h_wr32(&H, at + 4, ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000u));
}

/* Flat ring 0 with a GDT, an IDT of halting handlers, and paging with
 * one read-only and one non-present page (CR0.WP set). */
static void env(void)
{
	h_flat32(&H, CODE, 0x90000);
	memset(H.ram + GDT, 0, 0x40);
	put_desc(GDT + 0x10, 0, 0xfffff, 0x9b, 0xc);
	put_desc(GDT + 0x18, 0, 0xfffff, 0x93, 0xc);
	H.cpu.gdtr.base = GDT;
	H.cpu.gdtr.limit = 0x3f;
	for (int v = 0; v < 32; v++) {
		uint32_t off = HANDLERS + (uint32_t)v * 16;
		h_wr32(&H, IDT + (uint32_t)v * 8, (off & 0xffff) | (0x10u << 16));
		h_wr32(&H, IDT + (uint32_t)v * 8 + 4, (off & 0xffff0000u) | 0x8e00u);
		H.ram[off] = 0xf4;
	}
	H.cpu.idtr.base = IDT;
	H.cpu.idtr.limit = 32 * 8 - 1;
	for (uint32_t i = 0; i < 1024; i++)
		h_wr32(&H, PT + i * 4, (i << 12) | 7);
	h_wr32(&H, PT + (RO_PAGE >> 12) * 4, RO_PAGE | 5);
	h_wr32(&H, PT + (NP_PAGE >> 12) * 4, NP_PAGE | 6);
	memset(H.ram + PD, 0, 4096);
	h_wr32(&H, PD, PT | 7);
	H.cpu.cr3 = PD;
	H.cpu.cr0 |= CR0_PG | CR0_WP;
	tlb_flush_all(&H.cpu, 0);
}

/* #PF error codes at CPL 0 (SDM Vol. 3, 4.7): P, W/R. */
#define PF_READ_NP 0u
#define PF_WRITE_NP 2u
#define PF_WRITE_RO 3u

static int faulted(enum cpu_stop st, int vec, uint32_t err, uint32_t eip)
{
	return h_delivered(&H, st, HANDLERS, vec, err, eip);
}

/* A #PF on a ring 0 stack cannot be delivered on that stack: pushing its
 * frame faults again (#DF), and so does the #DF's (SDM Vol. 3, 6.15,
 * "Interrupt 8"): a shutdown, with EIP still at the instruction. */
static int stack_pf_shutdown(enum cpu_stop st, uint32_t eip)
{
	if (st == CPU_STOP_SHUTDOWN && H.cpu.eip == eip)
		return 1;
	fprintf(stderr, "  want a shutdown at %#x: stop %d eip %#x\n", eip, st, H.cpu.eip);
	return 0;
}

/* Registers as the fault left them (a delivered fault moves ESP). */
static uint32_t saved[8];
static void save_regs(void) { memcpy(saved, H.cpu.r, sizeof(saved)); }
static int regs_kept(enum cpu_stop st)
{
	for (int r = 0; r < 8; r++)
		if (r != R_ESP && H.cpu.r[r] != saved[r])
			return 0;
	return st == CPU_STOP_HALT || H.cpu.r[R_ESP] == saved[R_ESP];
}

static void load(const unsigned char *s, const unsigned char *e) { h_load(&H, CODE, s, (size_t)(e - s)); }

/* ---- read-modify-write on a read-only page: nothing changes ---- */
SNIP(rmw_xchg, " xchg %eax, (%ebx)\n hlt\n")
SNIP(rmw_cmpxchg, " cmpxchg %ecx, (%ebx)\n hlt\n")
SNIP(rmw_xadd, " xadd %ecx, (%ebx)\n hlt\n")
SNIP(rmw_c8b, " cmpxchg8b (%ebx)\n hlt\n")

static void t_rmw_fault(void)
{
	static const struct {
		const char *what;
		const unsigned char *s, *e;
		uint32_t eax;
	} cases[] = {
		{"xchg", rmw_xchg_start, rmw_xchg_end, 1},
		{"cmpxchg (equal)", rmw_cmpxchg_start, rmw_cmpxchg_end, 0x11223344},
		{"cmpxchg (not equal: still written back)", rmw_cmpxchg_start, rmw_cmpxchg_end, 5},
		{"xadd", rmw_xadd_start, rmw_xadd_end, 1},
		{"cmpxchg8b (not equal)", rmw_c8b_start, rmw_c8b_end, 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env();
		load(cases[i].s, cases[i].e);
		h_wr32(&H, RO_PAGE + 0x10, 0x11223344);
		h_wr32(&H, RO_PAGE + 0x14, 0x55667788);
		H.cpu.r[R_EAX] = cases[i].eax;
		H.cpu.r[R_EBX] = RO_PAGE + 0x10;
		H.cpu.r[R_ECX] = 0x99;
		H.cpu.r[R_EDX] = 7;
		H.cpu.eflags = FL_1 | FL_CF;
		save_regs();
		enum cpu_stop st = h_run(&H, 1000);
		CHECK(faulted(st, EXC_PF, PF_WRITE_RO, CODE) && (H.cpu.cr2 == RO_PAGE + 0x10) && regs_kept(st) &&
			      h_rd32(&H, RO_PAGE + 0x10) == 0x11223344,
		      "%s on a read-only page: stop %d eip %x cr2 %x", cases[i].what, st, H.cpu.eip, H.cpu.cr2);
	}
}

/* ---- CMPXCHG/CMPXCHG8B/XADD results ---- */
SNIP(cx,
     " mov $0x2000, %ebx\n"
     " mov $5, %eax\n mov $9, %ecx\n cmpxchg %ecx, (%ebx)\n"  /* [ebx]=5 -> 9, ZF */
     " pushf\n pop %esi\n"
     " mov $1, %eax\n cmpxchg %ecx, (%ebx)\n"                  /* 9 != 1: eax = 9 */
     " pushf\n pop %edi\n mov %eax, 0x2010\n"
     " mov $0x10, %eax\n mov $0x20, %edx\n mov $0xaa, %ebx\n mov $0xbb, %ecx\n"
     " cmpxchg8b 0x2020\n"                                     /* equal: store ecx:ebx */
     " pushf\n pop %ebp\n mov %ebp, 0x2014\n"
     " mov $0, %eax\n mov $0, %edx\n cmpxchg8b 0x2020\n"       /* not equal: load */
     " mov %eax, 0x2030\n mov %edx, 0x2034\n"
     " mov $3, %eax\n xadd %eax, %eax\n mov %eax, 0x2038\n"
     " mov $0x12345678, %eax\n .byte 0x66, 0x0f, 0xc8\n mov %eax, 0x203c\n"   /* bswap ax */
     " hlt\n")

static void t_cmpxchg(void)
{
	env();
	load(cx_start, cx_end);
	h_wr32(&H, 0x2000, 5);
	h_wr32(&H, 0x2020, 0x10);
	h_wr32(&H, 0x2024, 0x20);
	enum cpu_stop st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(H.cpu.r[R_ESI] & FL_ZF, "cmpxchg equal: ZF");
	CHECK(!(H.cpu.r[R_EDI] & FL_ZF) && h_rd32(&H, 0x2010) == 9 && h_rd32(&H, 0x2000) == 9, "cmpxchg not equal: eax %x",
	      h_rd32(&H, 0x2010));
	CHECK((h_rd32(&H, 0x2014) & FL_ZF) && h_rd32(&H, 0x2020) == 0xaa && h_rd32(&H, 0x2024) == 0xbb, "cmpxchg8b equal");
	CHECK(h_rd32(&H, 0x2030) == 0xaa && h_rd32(&H, 0x2034) == 0xbb && !(H.cpu.eflags & FL_ZF), "cmpxchg8b not equal");
	CHECK(h_rd32(&H, 0x2038) == 6, "xadd eax, eax = %u", h_rd32(&H, 0x2038));
	CHECK(h_rd32(&H, 0x203c) == 0x12340000, "bswap ax = %08x", h_rd32(&H, 0x203c));
}

/* ---- CMOVcc reads its source even when it does not move ---- */
SNIP(cmov_np, " xor %eax, %eax\n cmovnz (%ebx), %ecx\n hlt\n")

static void t_cmov(void)
{
	env();
	load(cmov_np_start, cmov_np_end);
	H.cpu.r[R_EBX] = NP_PAGE + 8;
	H.cpu.r[R_ECX] = 0x5a5a;
	enum cpu_stop st = h_run(&H, 1000);
	CHECK(faulted(st, EXC_PF, PF_READ_NP, CODE + 2) && H.cpu.cr2 == NP_PAGE + 8 && H.cpu.r[R_ECX] == 0x5a5a,
	      "cmovnz with ZF=1 from a non-present page: stop %d eip %x cr2 %x", st, H.cpu.eip, H.cpu.cr2);
}

/* ---- POP to memory addressed by ESP; PUSH/POP ESP ---- */
SNIP(popesp,
     " mov $0x8000, %esp\n"
     " push $0x11\n push $0x22\n"
     " popl 4(%esp)\n"          /* pops 0x22, then writes it at new esp+4 = 0x8004 */
     " mov %esp, %eax\n"
     " push %esp\n pop %ebx\n"  /* pushes esp before the push */
     " push $0x4444\n pop %esp\n"
     " hlt\n")

static void t_popesp(void)
{
	env();
	load(popesp_start, popesp_end);
	h_wr32(&H, 0x8004, 0);
	enum cpu_stop st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(H.cpu.r[R_EAX] == 0x7ffc && h_rd32(&H, 0x8000) == 0x22 && h_rd32(&H, 0x7ffc) == 0x11,
	      "pop 4(%%esp): esp %x [8000]=%x", H.cpu.r[R_EAX], h_rd32(&H, 0x8000));
	CHECK(H.cpu.r[R_EBX] == 0x7ffc, "push esp pushed %x", H.cpu.r[R_EBX]);
	CHECK(H.cpu.r[R_ESP] == 0x4444, "pop esp %x", H.cpu.r[R_ESP]);
}

/* ---- multi-slot pushes into a non-present page: all or nothing ---- */
SNIP(pusha32, " pushal\n hlt\n")
SNIP(enter32, " enter $0x20, $3\n hlt\n")
SNIP(call_lim, " call .+0x1000\n hlt\n")
SNIP(pop_np, " popl (%ebx)\n hlt\n")

static void t_stack_faults(void)
{
	env();
	load(pusha32_start, pusha32_end);
	H.cpu.r[R_ESP] = NP_PAGE + 0x1000 + 8; /* 8 bytes on the good page, 24 below */
	h_wr32(&H, NP_PAGE + 0x1000, 0xabababab);
	save_regs();
	enum cpu_stop st = h_run(&H, 1000);
	CHECK(stack_pf_shutdown(st, CODE) && regs_kept(st) && h_rd32(&H, NP_PAGE + 0x1000) == 0xabababab,
	      "pushad across into a non-present page: stop %d eip %x [..]=%x", st, H.cpu.eip,
	      h_rd32(&H, NP_PAGE + 0x1000));

	env();
	load(enter32_start, enter32_end);
	H.cpu.r[R_ESP] = NP_PAGE + 0x1000 + 8; /* two of the four slots fit */
	H.cpu.r[R_EBP] = 0x9000;
	save_regs();
	st = h_run(&H, 1000);
	CHECK(stack_pf_shutdown(st, CODE) && regs_kept(st), "enter with frame into a non-present page: stop %d", st);

	/* ENTER's final ESP (after the allocation) is touched too */
	env();
	load(enter32_start, enter32_end);
	H.cpu.r[R_ESP] = NP_PAGE + 0x1000 + 12 + 4 + 0x1c; /* pushes fit, ESP - 0x20 lands in the hole */
	H.cpu.r[R_EBP] = 0x9000;
	save_regs();
	st = h_run(&H, 1000);
	CHECK(faulted(st, EXC_PF, PF_WRITE_NP, CODE) && regs_kept(st), "enter allocation into a non-present page: stop %d", st);

	/* ENTER level 3 result */
	env();
	load(enter32_start, enter32_end);
	H.cpu.r[R_ESP] = 0x8000;
	H.cpu.r[R_EBP] = 0x9000;
	h_wr32(&H, 0x9000 - 4, 0x111);
	h_wr32(&H, 0x9000 - 8, 0x222);
	st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_HALT && h_rd32(&H, 0x7ffc) == 0x9000 && h_rd32(&H, 0x7ff8) == 0x111 && h_rd32(&H, 0x7ff4) == 0x222 &&
		      h_rd32(&H, 0x7ff0) == 0x7ffc && H.cpu.r[R_EBP] == 0x7ffc && H.cpu.r[R_ESP] == 0x7ff0 - 0x20,
	      "enter $0x20, $3: ebp %x esp %x", H.cpu.r[R_EBP], H.cpu.r[R_ESP]);

	/* POP to a non-present page: ESP unchanged */
	env();
	load(pop_np_start, pop_np_end);
	H.cpu.r[R_ESP] = 0x8000;
	H.cpu.r[R_EBX] = NP_PAGE;
	save_regs();
	st = h_run(&H, 1000);
	CHECK(faulted(st, EXC_PF, PF_WRITE_NP, CODE) && regs_kept(st), "pop to a non-present page: stop %d esp %x", st,
	      H.cpu.r[R_ESP]);
}

/* ---- near branches beyond the CS limit: #GP(0) before any change ---- */
SNIP(br_call, " call .+0x1000\n hlt\n")
SNIP(br_ret, " ret $8\n hlt\n")
SNIP(br_loop, " loop .+0x80\n hlt\n")
SNIP(br_jcc, " jz .+0x1000\n hlt\n")
SNIP(br_jmp, " jmp *%eax\n hlt\n")

static void t_branch_limit(void)
{
	static const struct {
		const char *what;
		const unsigned char *s, *e;
	} cases[] = {
		{"call rel", br_call_start, br_call_end}, {"ret imm", br_ret_start, br_ret_end},
		{"loop", br_loop_start, br_loop_end},     {"jz", br_jcc_start, br_jcc_end},
		{"jmp r32", br_jmp_start, br_jmp_end},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env();
		load(cases[i].s, cases[i].e);
		/* CS limit just past the code */
		seg_set_cache(&H.cpu.seg[S_CS], 0x10, 0, CODE + 0x40, 0x409b);
		H.cpu.r[R_ESP] = 0x8000;
		H.cpu.r[R_ECX] = 5;
		H.cpu.r[R_EAX] = CODE + 0x41;
		h_wr32(&H, 0x8000, CODE + 0x100); /* RET's target */
		H.cpu.eflags = FL_1 | FL_ZF;
		save_regs();
		enum cpu_stop st = h_run(&H, 1000);
		CHECK(faulted(st, EXC_GP, 0, CODE) && regs_kept(st) && h_rd32(&H, 0x7ffc) != CODE + 5,
		      "%s beyond the CS limit: stop %d eip %x ecx %x", cases[i].what, st, H.cpu.eip,
		      H.cpu.r[R_ECX]);
	}
}

/* ---- a 16-bit stack (SS.B = 0) under 32-bit code ---- */
SNIP(stack16,
     " push $0x12345678\n"      /* 4 bytes at SS:SP-4, SP wraps within 64K */
     " pop %eax\n"
     " call 1f\n1: pop %ebx\n"
     " pushw $0x77\n popw %cx\n"
     " hlt\n")

static void t_stack16(void)
{
	env();
	load(stack16_start, stack16_end);
	seg_set_cache(&H.cpu.seg[S_SS], 0x18, 0x30000, 0xffff, 0x0093);
	cpu_update_mode(&H.cpu);
	H.cpu.r[R_ESP] = 0xabcd0000; /* SP = 0: the push wraps to 0xfffc */
	enum cpu_stop st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(H.cpu.r[R_EAX] == 0x12345678 && h_rd32(&H, 0x30000 + 0xfffc) == (0x770000u | ((CODE + 11) & 0xffff)),
	      "push/pop on a 16-bit stack at SP=0: eax %x", H.cpu.r[R_EAX]);
	CHECK(H.cpu.r[R_EBX] == CODE + 5 + 1 + 5, "call on a 16-bit stack: %x", H.cpu.r[R_EBX]);
	CHECK(H.cpu.r[R_ESP] == 0xabcd0000 && (H.cpu.r[R_ECX] & 0xffff) == 0x77, "esp %x", H.cpu.r[R_ESP]);
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_rmw_fault();
	t_cmpxchg();
	t_cmov();
	t_popesp();
	t_stack_faults();
	t_branch_limit();
	t_stack16();
	h_free(&H);
	if (failures) {
		printf("ops move: %d failures\n", failures);
		return 1;
	}
	printf("ops move: ok\n");
	return 0;
}
