/* Differential test of the stack instructions against the host processor,
 * with the stack widths the main differential test (test_diff.c, flat
 * 32-bit only) cannot reach: a 16-bit stack segment (SS.B = 0, from the
 * LDT) in 32-bit code, a 32-bit stack in 16-bit code, and both of the
 * same width. The native side is tests/diff/stack_runner (gcc -m32), which
 * installs the same LDT segments with modify_ldt and runs each case at CPL
 * 3 in its own process; interp runs it in a guest with the host's
 * selectors in its GDT and the same LDT, CPL 3, paging mapping only what
 * the runner maps.
 *
 * Forms: PUSH/POP of registers, immediates, memory (also [ESP+d], whose
 * address uses the popped ESP), segment registers (POP SS to another stack
 * width, null and invalid selectors); PUSHA/POPA, PUSHF/POPF; near CALL
 * (rel, r/m) and RET (imm16); far CALL (ptr, m), RETF (imm16), IRET at the
 * same privilege; ENTER (nesting 0-31) and LEAVE; INT3, INTO, INT n; each
 * with 16- and 32-bit operand size, SP at 0/0xffff wrap points, ESP with
 * its upper half set, and stacks at the edges of the window (#PF), of a
 * small 16-bit segment (#SS) and of the 64 KiB wrap. Compared: registers,
 * EFLAGS, the five data segment selectors, every changed byte of the
 * 64 KiB window, the vector and EIP of a fault.
 *
 * docs/difftest.md describes it. RINGVM_LONG=1 runs 30 times as many
 * cases; RINGVM_DIFF_SEED sets the seed; RINGVM_DIFF_ONLY=substr runs
 * only forms whose name contains it; RINGVM_DIFF_VERBOSE=n prints the
 * first n mismatches (default 8).
 *
 * Exceptions in interp are caught before delivery (linked with
 * -Wl,--wrap=cpu_handle_exception), and INT3/INTO, which the host
 * delivers through DPL 3 gates to a ring-0 handler whose stack the test
 * cannot see, are caught at cpu_deliver (--wrap=cpu_deliver), as the
 * native side sees them: a trap after the instruction. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpu/block.h"
#include "diff/stackcase.h"
#include "harness.h"

/* ---- catching interp's exceptions and INT3/INTO ---- */

static int caught_vector = -1;

void __wrap_cpu_handle_exception(struct cpu *cpu);
void __wrap_cpu_handle_exception(struct cpu *cpu)
{
	caught_vector = cpu->exc_vector;
	cpu->shutdown = 1; /* interp_run returns CPU_STOP_SHUTDOWN */
}

void __real_cpu_deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error, uint32_t error,
			uint32_t ret_eip);
void __wrap_cpu_deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error, uint32_t error,
			uint32_t ret_eip);
void __wrap_cpu_deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error, uint32_t error,
			uint32_t ret_eip)
{
	if (kind == INTR_SOFT && (vector == EXC_BP || vector == EXC_OF)) {
		caught_vector = vector;
		cpu->stop_request = 1; /* ends the run at ret_eip, the next instruction */
		return;
	}
	__real_cpu_deliver(cpu, vector, kind, has_error, error, ret_eip);
}

/* ---- random values ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull); /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint32_t rn(uint32_t n) { return (uint32_t)(rnd() % n); }
static int chance(int pct) { return rn(100) < (uint32_t)pct; }

/* ---- the machine both sides build ---- */

static uint16_t host_cs, host_ds;

/* A descriptor both sides have: the host's flat code and data (GDT) and
 * the runner's LDT entries. */
struct seg_def {
	uint16_t sel;
	uint32_t base, limit; /* limit in bytes */
	uint16_t attr;        /* access byte | flags << 12, as struct seg */
};

static struct seg_def defs[5];
static int ndefs;

static void make_defs(void)
{
	ndefs = 0;
	defs[ndefs++] = (struct seg_def){host_cs, 0, 0xffffffffu, 0xc0fb};
	defs[ndefs++] = (struct seg_def){host_ds, 0, 0xffffffffu, 0xc0f3};
	defs[ndefs++] = (struct seg_def){STK_SEL16, STK_ADDR, 0xffff, 0x00f3};
	defs[ndefs++] = (struct seg_def){STK_SEL16_SMALL, STK_ADDR, STK_SMALL_LIMIT, 0x00f3};
	defs[ndefs++] = (struct seg_def){STK_SEL_CS16, STK_CODE_ADDR, 0xffff, 0x00fb};
}

static const struct seg_def *def_of(uint16_t sel)
{
	for (int i = 0; i < ndefs; i++)
		if ((defs[i].sel & ~3u) == (sel & ~3u))
			return &defs[i];
	return NULL;
}

/* Guest layout: page tables, GDT, LDT, IDT above the windows. */
#define PD_ADDR 0x700000u
#define PT0_ADDR 0x701000u
#define PT1_ADDR 0x702000u
#define GDT_ADDR 0x703000u
#define LDT_ADDR 0x704000u
#define IDT_ADDR 0x705000u
#define GDT_ENTRIES 512
#define LDT_ENTRIES 3 /* what the runner installs: the limit matters */


static void put_desc(struct harness *h, uint32_t at, uint32_t base, uint32_t limit, uint16_t attr)
{
	if (attr & 0x8000)
		limit >>= 12;
	uint32_t lo = (limit & 0xffff) | (base << 16);
	uint32_t hi = ((base >> 16) & 0xff) | ((uint32_t)(attr & 0xff) << 8) | (limit & 0xf0000) |
		      ((uint32_t)(attr >> 12) << 20) | (base & 0xff000000u);
	h_wr32(h, at, lo);
	h_wr32(h, at + 4, hi);
}

static void map_page(struct harness *h, uint32_t lin, int user)
{
	uint32_t pt = lin < 0x400000u ? PT0_ADDR : PT1_ADDR;
	h_wr32(h, pt + ((lin >> 12) & 1023) * 4, (lin & ~0xfffu) | (user ? 7u : 3u));
}

static int setup_machine(struct harness *h)
{
	struct cpu *cpu = &h->cpu;
	make_defs();
	/* a ring-0 code selector for the IDT's gates, clear of the host's */
	uint16_t k_cs = 0x08;
	while (k_cs == (host_cs & ~7u) || k_cs == (host_ds & ~7u))
		k_cs += 8;
	if ((host_cs >> 3) >= GDT_ENTRIES || (host_ds >> 3) >= GDT_ENTRIES || (host_cs & 4) || (host_ds & 4))
		return -1;
	memset(h->ram + PD_ADDR, 0, 0x6000);
	h_wr32(h, PD_ADDR, PT0_ADDR | 7u);
	h_wr32(h, PD_ADDR + 4, PT1_ADDR | 7u);
	map_page(h, STK_CODE_ADDR, 1);
	for (uint32_t a = STK_ADDR; a < STK_ADDR + STK_SIZE; a += 4096)
		map_page(h, a, 1);
	for (uint32_t a = GDT_ADDR; a <= IDT_ADDR; a += 4096)
		map_page(h, a, 0);
	for (int i = 0; i < 2; i++)
		put_desc(h, GDT_ADDR + (defs[i].sel & ~7u), defs[i].base, defs[i].limit, defs[i].attr);
	put_desc(h, GDT_ADDR + k_cs, 0, 0xffffffffu, 0xc09b);
	for (int i = 2; i < ndefs; i++)
		put_desc(h, LDT_ADDR + (defs[i].sel & ~7u), defs[i].base, defs[i].limit, defs[i].attr);
	for (uint32_t v = 0; v < 256; v++) {
		/* every gate DPL 0 (a user INT n is #GP), but #BP and #OF */
		uint32_t dpl3 = (v == EXC_BP || v == EXC_OF) ? 0x6000u : 0;
		h_wr32(h, IDT_ADDR + v * 8, ((uint32_t)k_cs << 16) | 0x1000u);
		h_wr32(h, IDT_ADDR + v * 8 + 4, 0x8e00u | dpl3);
	}
	cpu->gdtr.base = GDT_ADDR;
	cpu->gdtr.limit = GDT_ENTRIES * 8 - 1;
	cpu->idtr.base = IDT_ADDR;
	cpu->idtr.limit = 256 * 8 - 1;
	seg_set_cache(&cpu->ldtr, 0x50, LDT_ADDR, LDT_ENTRIES * 8 - 1, 0x82);
	cpu->cr3 = PD_ADDR;
	cpu->cr0 |= CR0_PG | CR0_PE;
	tlb_flush_all(cpu, 0);
	return 0;
}

static void load_cache(struct cpu *cpu, int s, uint16_t sel)
{
	const struct seg_def *d = def_of(sel);
	if (!d || (sel & ~3u) == 0)
		seg_set_cache(&cpu->seg[s], sel, 0, 0, 0);
	else
		seg_set_cache(&cpu->seg[s], sel, d->base, d->limit, d->attr);
}

/* ---- forms ---- */

enum stk { ST_32, ST_16, ST_16S }; /* flat, 16-bit, 16-bit with a small limit */
static const char *const stk_name[3] = {"stack32", "stack16", "stack16small"};

enum fam {
	F_PUSH_R, F_POP_R, F_PUSH_IMM, F_PUSH_IMM8, F_PUSH_M, F_POP_M, F_PUSH_ESPM, F_POP_ESPM, F_PUSH_SREG,
	F_POP_SREG, F_PUSHA, F_POPA, F_PUSHF, F_POPF, F_CALL_REL, F_CALL_RM, F_RET, F_RET_IMM, F_CALLF_PTR,
	F_CALLF_M, F_RETF, F_RETF_IMM, F_IRET, F_ENTER, F_LEAVE, F_INT3, F_INTO, F_INTN, F_NFAM
};
static const char *const fam_name[F_NFAM] = {
	"push r", "pop r", "push imm", "push simm8", "push m", "pop m", "push [esp+d]", "pop [esp+d]",
	"push sreg", "pop sreg", "pusha", "popa", "pushf", "popf", "call rel", "call r/m", "ret", "ret imm16",
	"call far ptr", "call far m", "retf", "retf imm16", "iret", "enter", "leave", "int3", "into", "int n",
};

struct form {
	char name[64];
	int fam, code16, osize, stack;
};
#define MAXFORMS 512
static struct form forms[MAXFORMS];
static int nforms;

static void build_forms(void)
{
	for (int f = 0; f < F_NFAM; f++)
		for (int c16 = 0; c16 < 2; c16++)
			for (int os = 2; os <= 4; os += 2)
				for (int st = 0; st < 3; st++) {
					if ((f == F_INT3 || f == F_INTO || f == F_INTN) && os == 4 && !c16)
						continue; /* no operand size: one form per code size */
					if ((f == F_INT3 || f == F_INTO || f == F_INTN) && os == 2 && c16)
						continue;
					struct form *fm = &forms[nforms++];
					fm->fam = f;
					fm->code16 = c16;
					fm->osize = os;
					fm->stack = st;
					snprintf(fm->name, sizeof(fm->name), "%s/o%d in %s code, %s", fam_name[f], os * 8,
						 c16 ? "16-bit" : "32-bit", stk_name[st]);
				}
}

/* ---- making a case ---- */

struct emit {
	struct stk_case *c;
	int npatch;
};
static void put8(struct emit *e, uint32_t b) { e->c->code[e->c->len++] = (uint8_t)b; }
static void put(struct emit *e, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		put8(e, v >> (8 * i));
}
static void patch(struct emit *e, uint32_t off, uint32_t v, int len)
{
	if (e->npatch < STK_PATCHES)
		e->c->patch[e->npatch++] = (struct stk_patch){(uint16_t)off, (uint16_t)len, v};
}

/* The operand-size prefix when osize is not the code's default. */
static void osize_prefix(struct emit *e, const struct form *f)
{
	if ((f->osize == 2) != (f->code16 != 0))
		put8(e, 0x66);
}

/* 32-bit addressing for memory operands (an address in the window, flat
 * DS): 16-bit code needs the address-size prefix. */
static void asize_prefix(struct emit *e, const struct form *f)
{
	if (f->code16)
		put8(e, 0x67);
}

static uint32_t pick_sp(int stack)
{
	switch (stack) {
	case ST_16S:
		switch (rn(4)) {
		case 0: return STK_SMALL_LIMIT + 1 - rn(40);           /* at the limit */
		case 1: return rn(24);                                 /* near 0 */
		case 2: return STK_SMALL_LIMIT + 1 + rn(0x40);         /* past it */
		default: return rn(STK_SMALL_LIMIT + 1);
		}
	case ST_16:
		switch (rn(5)) {
		case 0: return rn(40);                                 /* wraps below 0 */
		case 1: return 0x10000u - rn(40);                      /* wraps above 0xffff */
		case 2: return 0;
		default: return rn(0x10000);
		}
	default:
		switch (rn(5)) {
		case 0: return rn(40);                                 /* #PF below */
		case 1: return STK_SIZE - rn(40);                      /* #PF above */
		default: return 0x100 + rn(STK_SIZE - 0x200);
		}
	}
}

/* ESP for a stack pointer sp in the window: flat, or SP with any upper half. */
static uint32_t make_esp(int stack, uint32_t sp)
{
	if (stack == ST_32)
		return STK_ADDR + sp;
	uint32_t hi;
	switch (rn(5)) {
	case 0: hi = 0; break;
	case 1: hi = 0xffff; break;
	case 2: hi = STK_ADDR >> 16; break; /* [esp] addressing reaches the window */
	default: hi = (uint32_t)rnd() & 0xffff; break;
	}
	return (hi << 16) | (sp & 0xffff);
}

static uint32_t flags_image(void)
{
	uint32_t v = (uint32_t)rnd() & (FL_ARITH | FL_DF);
	if (chance(30))
		v |= (uint32_t)rnd() & (FL_AC | FL_ID | FL_NT | FL_IOPL | FL_IF | FL_VM);
	return v | 2;
}

static uint16_t pick_sel(int for_ss, uint16_t cur_ss)
{
	switch (rn(for_ss ? 10 : 9)) {
	case 0: return host_ds;
	case 1: return STK_SEL16;
	case 2: return STK_SEL16_SMALL;
	case 3: return host_cs;                          /* readable code: DS yes, SS #GP */
	case 4: return STK_SEL_CS16;
	case 5: return (uint16_t)rn(4);                  /* null, any RPL */
	case 6: return (uint16_t)(STK_SEL16 & ~3u);      /* RPL 0 */
	case 7: return (uint16_t)(0x18u | 7u);           /* past the LDT's limit */
	case 8: return cur_ss;
	default: return cur_ss;
	}
}

/* A selector for a far return or call: the current code segment, or one
 * that faults. Never the other code segment: the bytes after a case
 * differ between the sides (the runner's jump back, interp's HLT), so a
 * switch of code size there would compare the harnesses. */
static uint16_t pick_code_sel(uint16_t cs)
{
	static const uint16_t bad[] = {0, 3, 0x18 | 7, STK_SEL16};
	if (chance(90))
		return cs;
	switch (rn(3)) {
	case 0: return host_ds;                 /* data: #GP */
	case 1: return (uint16_t)(cs & ~3u);    /* RPL 0 < CPL: #GP */
	default: return bad[rn(4)];
	}
}

static void make_case(const struct form *f, struct stk_case *c)
{
	memset(c, 0, sizeof(*c));
	struct emit e = {c, 0};
	for (int i = 0; i < 8; i++)
		c->r[i] = (uint32_t)rnd();
	c->eflags = (uint32_t)rnd() & (FL_ARITH | FL_DF | FL_ID);
	c->flags = f->code16 ? STK_CODE16 : 0;
	c->fill_seed = (uint32_t)rnd();
	c->seg[SR_DS] = host_ds;
	c->seg[SR_ES] = chance(80) ? host_ds : STK_SEL16;
	c->seg[SR_FS] = chance(50) ? 0 : STK_SEL16_SMALL;
	c->seg[SR_GS] = chance(50) ? host_ds : STK_SEL_CS16;
	c->seg[SR_SS] = f->stack == ST_32 ? host_ds : f->stack == ST_16 ? STK_SEL16 : STK_SEL16_SMALL;
	uint32_t sp = pick_sp(f->stack);
	c->r[R_ESP] = make_esp(f->stack, sp);
	uint32_t top = sp & 0xffff; /* window offset of the stack top */
	int os = f->osize;
	uint32_t cs_sel = f->code16 ? STK_SEL_CS16 : host_cs;
	uint32_t base_off = f->code16 ? 0 : STK_CODE_ADDR;
	/* a window address for memory operands, from DS (flat) */
	uint32_t maddr = STK_ADDR + rn(STK_SIZE - 8);
	if (chance(5))
		maddr = STK_ADDR + STK_SIZE - rn(4); /* runs into the guard page */

	switch (f->fam) {
	case F_PUSH_R:
	case F_POP_R:
		osize_prefix(&e, f);
		put8(&e, (f->fam == F_PUSH_R ? 0x50 : 0x58) + rn(8));
		break;
	case F_PUSH_IMM:
		osize_prefix(&e, f);
		put8(&e, 0x68);
		put(&e, (uint32_t)rnd(), os);
		break;
	case F_PUSH_IMM8:
		osize_prefix(&e, f);
		put8(&e, 0x6a);
		put8(&e, rn(256));
		break;
	case F_PUSH_M:
	case F_POP_M:
		osize_prefix(&e, f);
		asize_prefix(&e, f);
		put8(&e, f->fam == F_PUSH_M ? 0xff : 0x8f);
		put8(&e, f->fam == F_PUSH_M ? 0x35 : 0x05); /* /6 or /0, [disp32] */
		put(&e, maddr, 4);
		break;
	case F_PUSH_ESPM:
	case F_POP_ESPM: {
		/* [esp+d8]: the address uses ESP (all 32 bits); POP uses the
		 * value after the increment. Flat ESP, or SP with the upper
		 * half at the window, reaches the window. */
		osize_prefix(&e, f);
		asize_prefix(&e, f);
		put8(&e, f->fam == F_PUSH_ESPM ? 0xff : 0x8f);
		put8(&e, f->fam == F_PUSH_ESPM ? 0x74 : 0x44);
		put8(&e, 0x24);
		put8(&e, rn(256));
		break;
	}
	case F_PUSH_SREG: {
		static const uint8_t op[6][2] = {{0x06, 0}, {0x0e, 0}, {0x16, 0}, {0x1e, 0}, {0x0f, 0xa0}, {0x0f, 0xa8}};
		int k = (int)rn(6);
		osize_prefix(&e, f);
		put8(&e, op[k][0]);
		if (op[k][1])
			put8(&e, op[k][1]);
		break;
	}
	case F_POP_SREG: {
		static const uint8_t op[5][2] = {{0x07, 0}, {0x17, 0}, {0x1f, 0}, {0x0f, 0xa1}, {0x0f, 0xa9}};
		int k = (int)rn(5);
		osize_prefix(&e, f);
		put8(&e, op[k][0]);
		if (op[k][1])
			put8(&e, op[k][1]);
		uint32_t v = pick_sel(k == 1, c->seg[SR_SS]);
		if (os == 4)
			v |= (uint32_t)rnd() & 0xffff0000u; /* the upper half is ignored */
		patch(&e, top, v, os);
		break;
	}
	case F_PUSHA:
	case F_POPA:
		osize_prefix(&e, f);
		put8(&e, f->fam == F_PUSHA ? 0x60 : 0x61);
		break;
	case F_PUSHF:
		osize_prefix(&e, f);
		put8(&e, 0x9c);
		break;
	case F_POPF:
		osize_prefix(&e, f);
		put8(&e, 0x9d);
		patch(&e, top, flags_image(), os);
		break;
	case F_CALL_REL: {
		osize_prefix(&e, f);
		put8(&e, 0xe8);
		put(&e, 0, os); /* to the next instruction: the end */
		break;
	}
	case F_CALL_RM: {
		osize_prefix(&e, f);
		int r = (int)rn(7);
		r = r >= R_ESP ? r + 1 : r;
		put8(&e, 0xff);
		put8(&e, 0xd0 | (uint32_t)r); /* call r */
		uint32_t end = base_off + c->len;
		c->r[r] = chance(90) ? end : end + 0x10000u;
		break;
	}
	case F_RET:
	case F_RET_IMM: {
		osize_prefix(&e, f);
		put8(&e, f->fam == F_RET ? 0xc3 : 0xc2);
		if (f->fam == F_RET_IMM)
			put(&e, chance(70) ? rn(24) : (uint32_t)rnd() & 0xffff, 2);
		uint32_t end = base_off + c->len;
		patch(&e, top, chance(90) ? end : end + 0x10000u, os);
		break;
	}
	case F_CALLF_PTR: {
		osize_prefix(&e, f);
		put8(&e, 0x9a);
		uint32_t end = base_off + c->len + (uint32_t)os + 2;
		put(&e, end, os);
		put(&e, cs_sel, 2);
		break;
	}
	case F_CALLF_M: {
		osize_prefix(&e, f);
		asize_prefix(&e, f);
		put8(&e, 0xff);
		put8(&e, 0x1d); /* /3 [disp32] */
		put(&e, maddr, 4);
		uint32_t end = base_off + c->len;
		patch(&e, maddr - STK_ADDR, end, os);
		patch(&e, maddr - STK_ADDR + (uint32_t)os, pick_code_sel((uint16_t)cs_sel), 2);
		break;
	}
	case F_RETF:
	case F_RETF_IMM:
	case F_IRET: {
		osize_prefix(&e, f);
		put8(&e, f->fam == F_RETF ? 0xcb : f->fam == F_RETF_IMM ? 0xca : 0xcf);
		if (f->fam == F_RETF_IMM)
			put(&e, chance(70) ? rn(24) : (uint32_t)rnd() & 0xffff, 2);
		uint32_t end = base_off + c->len;
		patch(&e, top, end, os);
		patch(&e, top + (uint32_t)os, pick_code_sel((uint16_t)cs_sel) | ((uint32_t)rnd() & 0xffff0000u), os);
		if (f->fam == F_IRET)
			patch(&e, top + 2u * (uint32_t)os, flags_image(), os);
		break;
	}
	case F_ENTER: {
		osize_prefix(&e, f);
		put8(&e, 0xc8);
		put(&e, chance(70) ? rn(32) : (uint32_t)rnd() & 0xffff, 2);
		static const uint8_t lv[] = {0, 1, 2, 2, 3, 4, 5, 8, 31, 32, 33};
		put8(&e, chance(70) ? lv[rn(sizeof(lv))] : rn(256));
		uint32_t bp = chance(70) ? (top + rn(256) - 64) & 0xffff : pick_sp(f->stack);
		c->r[R_EBP] = f->stack == ST_32 ? STK_ADDR + bp : make_esp(f->stack, bp);
		break;
	}
	case F_LEAVE: {
		osize_prefix(&e, f);
		put8(&e, 0xc9);
		uint32_t bp = pick_sp(f->stack);
		c->r[R_EBP] = f->stack == ST_32 ? STK_ADDR + bp : make_esp(f->stack, bp);
		break;
	}
	case F_INT3:
		put8(&e, 0xcc);
		break;
	case F_INTO:
		put8(&e, 0xce);
		if (chance(70))
			c->eflags |= FL_OF;
		break;
	case F_INTN: {
		uint32_t n;
		do
			n = chance(30) ? 3 + rn(2) : rn(256);
		while (n == 0x80); /* the host's system call */
		put8(&e, 0xcd);
		put8(&e, n);
		break;
	}
	}
}

/* ---- the native runner ---- */

static pid_t runner_pid = -1;
static int to_runner = -1, from_runner = -1;
#define BATCH_MAX 512
static int batch_max = 64;

static int xfer(int fd, void *p, size_t n, int wr)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = wr ? write(fd, (char *)p + done, n - done) : read(fd, (char *)p + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

static int start_runner(const char *path)
{
	int in[2], out[2];
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	runner_pid = fork();
	if (runner_pid < 0)
		return -1;
	if (runner_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_runner = in[1];
	from_runner = out[0];
	signal(SIGPIPE, SIG_IGN);
	/* The runner answers while we are still writing: a whole batch of
	 * answers must fit in the pipe. */
	int cap = fcntl(from_runner, F_SETPIPE_SZ, 1 << 20);
	if (cap < 0)
		cap = fcntl(from_runner, F_GETPIPE_SZ);
	if (cap > 0)
		batch_max = cap / (int)sizeof(struct stk_result) - 1;
	if (batch_max > BATCH_MAX)
		batch_max = BATCH_MAX;
	if (batch_max < 1)
		batch_max = 1;
	return 0;
}

/* The runner's exit status once it has stopped: 127 could not exec, 3
 * no environment, else -1. */
static int runner_status(void)
{
	int wst = 0;
	close(to_runner);
	waitpid(runner_pid, &wst, 0);
	return WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
}

/* ---- running a case in interp ---- */

#define VEC_NOSTOP (-2)
#define EFL_CMP (FL_ARITH | FL_DF | FL_IF | FL_IOPL | FL_TF | FL_NT | FL_AC | FL_ID | FL_VM)

static void run_interp(struct harness *h, const struct stk_case *c, struct stk_result *res)
{
	struct cpu *cpu = &h->cpu;
	static uint8_t scratch[STK_SIZE];
	uint8_t code[STK_CODE_MAX + 1];
	memcpy(code, c->code, c->len);
	code[c->len] = 0xf4; /* HLT: #GP at CPL 3, which ends the case */
	h_load(h, STK_CODE_ADDR, code, c->len + 1);
	stk_prepare(h->ram + STK_ADDR, c);
	memcpy(cpu->r, c->r, sizeof(c->r));
	cpu->eflags = (c->eflags & 0x00240ed5u) | 0x202u;
	int c16 = (c->flags & STK_CODE16) != 0;
	load_cache(cpu, S_CS, c16 ? STK_SEL_CS16 : host_cs);
	static const int sreg[SR_N] = {S_DS, S_ES, S_FS, S_GS, S_SS};
	for (int s = 0; s < SR_N; s++)
		load_cache(cpu, sreg[s], c->seg[s]);
	cpu_update_mode(cpu);
	uint32_t base_off = c16 ? 0 : STK_CODE_ADDR;
	cpu->eip = base_off;
	cpu->halted = 0;
	cpu->shutdown = 0;
	cpu->inhibit_irq = 0;
	cpu->first_exc = -1;
	cpu->in_exception = 0;
	caught_vector = -1;
	enum cpu_stop st = h_run(h, 64);
	res->eip = cpu->eip;
	if ((st != CPU_STOP_SHUTDOWN && st != CPU_STOP_REQUEST) || caught_vector < 0)
		res->vector = VEC_NOSTOP;
	else if (st == CPU_STOP_SHUTDOWN && caught_vector == EXC_GP && cpu->eip == base_off + c->len)
		res->vector = -1; /* reached the HLT */
	else
		res->vector = caught_vector;
	memcpy(res->r, cpu->r, sizeof(res->r));
	res->eflags = cpu->eflags;
	for (int s = 0; s < SR_N; s++)
		res->seg[s] = cpu->seg[sreg[s]].sel;
	stk_changes(h->ram + STK_ADDR, c, scratch, res);
}

/* ---- comparing ---- */

/* Instructions that write several stack slots: when one faults, the host
 * has already written the slots before it, while interp checks every slot
 * first and writes none (docs/difftest.md). The SDM leaves the memory
 * below a faulting stack undefined, so for these only the registers, the
 * vector and EIP are compared when they fault. */
static int multi_write(const struct form *f)
{
	return f->fam == F_PUSHA || f->fam == F_ENTER || f->fam == F_CALLF_PTR || f->fam == F_CALLF_M;
}

static int host_is_amd;

/* Where an AMD host departs from the SDM, which interp follows (both
 * documented in docs/difftest.md):
 * - a faulting POPA has already loaded some registers (SDM 6.5: a fault
 *   restores the state before the instruction);
 * - a near CALL whose target is past the CS limit and whose push faults
 *   reports the stack fault (SDM CALL: the #GP(0) of the target first);
 * - a RETF or IRET popping a CS selector whose RPL is not the CPL (null
 *   included) reads the outer SS:ESP first and reports its stack fault
 *   (SDM RET, IRET: the selector's #GP comes before the outer stack is
 *   read). */
static int amd_known(const struct form *f, const struct stk_result *n, const struct stk_result *i)
{
	if (!host_is_amd || n->vector < 0 || n->eip != i->eip)
		return 0;
	if (f->fam == F_POPA && n->vector == i->vector)
		return n->r[R_ESP] == i->r[R_ESP];
	if ((f->fam == F_CALL_RM || f->fam == F_CALL_REL) && i->vector == EXC_GP &&
	    (n->vector == EXC_SS || n->vector == EXC_PF))
		return memcmp(n->r, i->r, sizeof(n->r)) == 0;
	if ((f->fam == F_RETF || f->fam == F_RETF_IMM || f->fam == F_IRET) && i->vector == EXC_GP &&
	    (n->vector == EXC_SS || n->vector == EXC_PF))
		return memcmp(n->r, i->r, sizeof(n->r)) == 0;
	return 0;
}

static int results_differ(const struct form *f, const struct stk_result *n, const struct stk_result *i)
{
	if (amd_known(f, n, i))
		return 0;
	if (n->vector != i->vector || n->eip != i->eip || memcmp(n->r, i->r, sizeof(n->r)) != 0)
		return 1;
	if ((n->eflags & EFL_CMP) != (i->eflags & EFL_CMP) || memcmp(n->seg, i->seg, sizeof(n->seg)) != 0)
		return 1;
	if (n->vector >= 0 && multi_write(f))
		return 0;
	return n->nchanged != i->nchanged || memcmp(n->ch, i->ch, sizeof(n->ch)) != 0;
}

static const char *const rname[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

static void print_state(const char *tag, const uint32_t *r, uint32_t fl, const uint16_t *seg, int vec, uint32_t eip)
{
	fprintf(stderr, "  %-6s", tag);
	for (int i = 0; i < 8; i++)
		fprintf(stderr, " %s=%08x", rname[i], r[i]);
	fprintf(stderr, " fl=%08x ds/es/fs/gs/ss=%04x/%04x/%04x/%04x/%04x", fl, seg[0], seg[1], seg[2], seg[3],
		seg[4]);
	if (vec == VEC_NOSTOP)
		fprintf(stderr, " (did not stop, eip=%08x)", eip);
	else if (vec >= 0)
		fprintf(stderr, " vector %d at %08x", vec, eip);
	else
		fprintf(stderr, " eip=%08x", eip);
	fprintf(stderr, "\n");
}

static void print_changes(const char *tag, const struct stk_result *r)
{
	fprintf(stderr, "  %-6s %u bytes changed:", tag, r->nchanged);
	for (uint32_t k = 0; k < r->nchanged && k < 24; k++)
		fprintf(stderr, " %04x=%02x", r->ch[k].off, r->ch[k].val);
	fprintf(stderr, "\n");
}

static void print_mismatch(const struct form *f, const struct stk_case *c, const struct stk_result *n,
			   const struct stk_result *i)
{
	char dis[128];
	int c16 = (c->flags & STK_CODE16) != 0;
	decode_format(c->code, (int)c->len, !c16, c16 ? 0 : STK_CODE_ADDR, dis, sizeof(dis));
	fprintf(stderr, "MISMATCH %s: ", f->name);
	for (uint32_t k = 0; k < c->len; k++)
		fprintf(stderr, "%02x ", c->code[k]);
	fprintf(stderr, " %s\n", dis);
	print_state("in", c->r, (c->eflags & 0x240ed5u) | 0x202u, c->seg, -1, c16 ? 0 : STK_CODE_ADDR);
	for (int k = 0; k < STK_PATCHES && c->patch[k].len; k++)
		fprintf(stderr, "  patch  [%04x] = %0*x\n", c->patch[k].off, c->patch[k].len * 2, c->patch[k].val);
	print_state("native", n->r, n->eflags, n->seg, n->vector, n->eip);
	print_state("interp", i->r, i->eflags, i->seg, i->vector, i->eip);
	print_changes("native", n);
	print_changes("interp", i);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	(void)argc;
	char path[4096];
	const char *rp = getenv("RINGVM_DIFF_STACK_RUNNER");
	if (rp) {
		snprintf(path, sizeof(path), "%s", rp);
	} else {
		/* $BUILD/test/bin/test_diff_stack -> $BUILD/test/diff/stack_runner */
		snprintf(path, sizeof(path), "%s", argv[0]);
		char *slash = strrchr(path, '/');
		if (slash)
			snprintf(slash, sizeof(path) - (size_t)(slash - path), "/../diff/stack_runner");
		else
			snprintf(path, sizeof(path), "../diff/stack_runner");
	}
	if (access(path, X_OK) != 0) {
		printf("skip: no native runner at %s (needs gcc -m32: gcc-multilib)\n", path);
		return 77;
	}
	if (start_runner(path) != 0) {
		printf("skip: cannot start the native runner\n");
		return 77;
	}
	struct stk_hello hello;
	if (xfer(from_runner, &hello, sizeof(hello), 0) != 0 || hello.magic != STK_HELLO) {
		int st = runner_status();
		if (st == 127 || st == 3) {
			printf("skip: the native stack runner cannot run here (status %d)\n", st);
			return 77;
		}
		fprintf(stderr, "native stack runner failed to start (status %d)\n", st);
		return 1;
	}
	uint32_t va = 0, vb_, vc, vd;
	__asm__ volatile("cpuid" : "+a"(va), "=b"(vb_), "=c"(vc), "=d"(vd));
	host_is_amd = vb_ == 0x68747541u; /* "Auth"enticAMD */
	host_cs = hello.cs;
	host_ds = hello.ds;
	const char *seed = getenv("RINGVM_DIFF_SEED");
	uint64_t seed0 = seed ? strtoull(seed, NULL, 0) : 0x5eed57acull;
	rng_state = seed0;
	const char *only = getenv("RINGVM_DIFF_ONLY");
	const char *vb = getenv("RINGVM_DIFF_VERBOSE");
	int verbose = vb ? atoi(vb) : 8;
	int longmode = getenv("RINGVM_LONG") && atoi(getenv("RINGVM_LONG")) > 0;

	build_forms();
	int active = 0;
	for (int k = 0; k < nforms; k++)
		if (!only || strstr(forms[k].name, only))
			active++;
	if (active == 0) {
		printf("no form matches RINGVM_DIFF_ONLY\n");
		return 1;
	}
	long total_target = longmode ? 180000 : 6000;
	long per_form = (total_target + active - 1) / active;

	static struct harness h;
	h_init(&h, 8 << 20);
	h_flat32(&h, STK_CODE_ADDR, STK_ADDR);
	if (setup_machine(&h) != 0) {
		printf("skip: the host's selectors (cs %#x, ds %#x) do not fit this test's GDT\n", host_cs, host_ds);
		return 77;
	}

	static struct stk_case cs[BATCH_MAX];
	static struct stk_result nr[BATCH_MAX];
	static int cf[BATCH_MAX];
	static long form_bad[MAXFORMS];
	long total = 0, bad = 0, changed = 0, vec_count[33] = {0};
	int printed = 0, nb = 0;
	for (int k = 0; k <= nforms; k++) {
		const struct form *f = k < nforms ? &forms[k] : NULL;
		long count = f && (!only || strstr(f->name, only)) ? per_form : 0;
		for (long j = 0; j < count || (!f && nb > 0 && j == 0); j++) {
			if (f) {
				make_case(f, &cs[nb]);
				cf[nb++] = k;
				if (nb < batch_max)
					continue;
			}
			if (xfer(to_runner, cs, sizeof(cs[0]) * (size_t)nb, 1) != 0 ||
			    xfer(from_runner, nr, sizeof(nr[0]) * (size_t)nb, 0) != 0) {
				fprintf(stderr, "native stack runner failed (status %d)\n", runner_status());
				return 1;
			}
			for (int b = 0; b < nb; b++) {
				struct stk_result ir;
				run_interp(&h, &cs[b], &ir);
				total++;
				vec_count[nr[b].vector < 0 ? 32 : nr[b].vector & 31]++;
				changed += nr[b].nchanged > 0;
				if (results_differ(&forms[cf[b]], &nr[b], &ir)) {
					bad++;
					form_bad[cf[b]]++;
					if (printed++ < verbose)
						print_mismatch(&forms[cf[b]], &cs[b], &nr[b], &ir);
				}
			}
			nb = 0;
		}
	}
	int st = runner_status();
	if (st != 0)
		fprintf(stderr, "native stack runner exited with status %d\n", st);

	int listed = 0;
	for (int k = 0; k < nforms; k++)
		if (form_bad[k] && listed++ < 60)
			fprintf(stderr, "  mismatching form: %s: %ld of %ld\n", forms[k].name, form_bad[k], per_form);
	printf("native outcomes: %ld completed", vec_count[32]);
	for (int v = 0; v < 32; v++)
		if (vec_count[v])
			printf(", %ld vector %d", vec_count[v], v);
	printf("; %ld wrote the stack window\n", changed);
	printf("diff stack: %d forms, %ld cases, %ld mismatches (seed %#llx%s)\n", active, total, bad,
	       (unsigned long long)seed0, longmode ? ", long" : "");
	h_free(&h);
	return bad || st != 0 ? 1 : 0;
}
