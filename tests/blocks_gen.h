/* The generator of tests/test_blocks.c: random sequences of user-mode
 * 32-bit instructions that stay inside the buffers of diff/blockcase.h,
 * with short forward branches, CALL/RET, string instructions and at most
 * one planned fault. docs/difftest.md ("The block test") describes it.
 *
 * The generator does not simulate the code. It knows only what it can be
 * sure of without running it: the value of a register it loaded with
 * MOV r, imm32 and that nothing has written since (so memory operands can
 * use it as a base or index), ESP (every stack operation is counted, and
 * none sits where a branch could skip it), and DF (CLD/STD). At a branch
 * target it keeps only what both paths agree on.
 *
 * A sequence is a list of groups; a group is one instruction or a few
 * that belong together (the MOVs that set up a string instruction's
 * registers, then the instruction). Branches skip whole groups, so no
 * branch lands between a setup and its use. */
#ifndef TEST_BLOCKS_GEN_H
#define TEST_BLOCKS_GEN_H

#include <stdint.h>
#include <string.h>

#include "cpu/cpu.h"
#include "diff/blockcase.h"

/* ---- random values (splitmix64) ---- */

static uint64_t gen_rng;
static uint64_t rnd(void)
{
	uint64_t z = (gen_rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint32_t rn(uint32_t n) { return (uint32_t)(rnd() % n); }
static int chance(int pct) { return rn(100) < (uint32_t)pct; }
static uint32_t mask_of(int size) { return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }

/* A value at an interesting edge of size bytes, random above it. */
static uint32_t edge(int size)
{
	static const uint32_t e[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
				     0x80000000, 0xffffffff, 0xfffffffe, 0x10, 0x0f};
	uint32_t m = mask_of(size), hi = (uint32_t)rnd() & ~m;
	switch (rn(4)) {
	case 0: return hi | (e[rn(sizeof(e) / 4)] & m);
	case 1: return hi | (rn(16) & m);
	case 2: return hi | ((uint32_t)-(int32_t)rn(16) & m);
	default: return (uint32_t)rnd();
	}
}

/* ---- what a sequence covers ---- */

enum {
	T_ALU, T_ADCSBB, T_BYTEHI, T_OP16, T_INCDEC, T_NEGNOT, T_SHIFT_IMM, T_SHIFT_CL, T_SHIFT0, T_RCLRCR,
	T_SHXD, T_MUL, T_DIV, T_JCC, T_JMP, T_SETCC, T_CMOV, T_PUSHF, T_POPF, T_LAHF, T_SAHF, T_PUSH, T_POP,
	T_CALLNEXT, T_CALL, T_RET, T_LEA, T_XCHG, T_MOVX, T_BSWAP, T_BT, T_MOV, T_LOAD, T_STORE, T_MOVS,
	T_STOS, T_LODS, T_CMPS, T_SCAS, T_REP, T_DF1, T_FLAGOP, T_CVT, T_LOCK, T_SEGPFX, T_SIB, T_NTAGS
};
static const char *const tag_name[T_NTAGS] = {
	"alu", "adc/sbb", "ah/bh/ch/dh", "16-bit operand", "inc/dec", "neg/not", "shift imm", "shift cl",
	"shift count 0", "rcl/rcr", "shld/shrd", "mul/imul", "div/idiv", "jcc", "jmp", "setcc", "cmovcc",
	"pushf", "popf", "lahf", "sahf", "push", "pop", "call next", "call", "ret", "lea", "xchg",
	"movzx/movsx", "bswap", "bt*", "mov", "load", "store", "movs", "stos", "lods", "cmps", "scas", "rep",
	"string df=1", "clc/stc/cmc/cld/std", "cbw/cwd", "lock", "segment prefix", "sib",
};
#define TG(t) (1ull << (t))

/* Planned faults: each sequence has at most one. */
enum { F_NONE, F_PF_LOAD, F_PF_STORE, F_PF_RO, F_PF_POP, F_PF_PUSH, F_PF_REP, F_BP, F_UD, F_DE, F_NKINDS };
static const char *const fault_name[F_NKINDS] = {
	"none", "#PF load", "#PF store/split", "#PF read-only", "#PF pop/ret", "#PF push/call",
	"#PF mid-REP", "#BP int3", "#UD ud2", "#DE div by 0",
};
static const int fault_vector[F_NKINDS] = {-1, 14, 14, 14, 14, 14, 14, 3, 6, 0};

/* ---- the generator's state ---- */

#define GEN_MAX_INSNS 40
#define GEN_MAX_PEND 8

struct gen_ins {
	uint16_t off;     /* from the sequence start */
	uint8_t shadow;   /* a branch may skip it */
	uint8_t nocount;  /* not counted as run (the JMP over a CALL target) */
	uint64_t tags;
};

/* A forward branch whose target is not placed yet. */
struct gen_pend {
	int target;        /* the group it lands on */
	uint16_t disp_pos, next_off;
	uint8_t disp8;
	uint8_t known;
	uint32_t kval[8];
	int8_t df;
};

struct gen {
	uint32_t base;     /* code address */
	uint8_t code[BLK_CODE_MAX];
	uint32_t n;
	struct gen_ins ins[GEN_MAX_INSNS + 24];
	int nins, ngrp;
	uint8_t known;     /* registers whose value kval[] holds (never ESP) */
	uint32_t kval[8];
	int df;            /* -1: unknown */
	uint32_t esp;
	struct gen_pend pend[GEN_MAX_PEND];
	int npend;
	int in_body;       /* inside CALL/RET or PUSHF/POPF: the stack buffer holds a return address */
	int paging;
	int fault_kind, fault_at, fault_done;
	uint32_t fault_off; /* the faulting instruction */
	int bad;           /* the generator broke its own rules (a test failure) */
};

static void b(struct gen *g, uint32_t v)
{
	if (g->n < BLK_CODE_MAX)
		g->code[g->n] = (uint8_t)v;
	g->n++;
}
static void imm(struct gen *g, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		b(g, v >> (8 * i));
}
static void begin(struct gen *g, uint64_t tags)
{
	if (g->nins < (int)(sizeof(g->ins) / sizeof(g->ins[0])))
		g->ins[g->nins] = (struct gen_ins){(uint16_t)g->n, g->npend > 0, 0, tags};
	g->nins++;
}
static void clob(struct gen *g, int r) { g->known &= (uint8_t)~(1u << r); }
static uint64_t hi8(int enc) { return enc >= 4 ? TG(T_BYTEHI) : 0; }

/* A destination register of 16/32 bits: never ESP, which the generator
 * keeps pointing into the stack buffer. */
static int dreg(void)
{
	static const int r[7] = {0, 1, 2, 3, 5, 6, 7};
	return r[rn(7)];
}
static int rsize(void) { return chance(30) ? 1 : chance(30) ? 2 : 4; }
static int rsize16(void) { return chance(30) ? 2 : 4; }

static void setreg(struct gen *g, int r, uint32_t v)
{
	begin(g, TG(T_MOV));
	b(g, 0xb8 + (uint32_t)r);
	imm(g, v, 4);
	g->known |= (uint8_t)(1u << r);
	g->kval[r] = v;
}

/* Start an instruction: segment override, operand size. */
static void start(struct gen *g, uint64_t tags, int seg, int size)
{
	begin(g, tags | (size == 2 ? TG(T_OP16) : 0) | (seg ? TG(T_SEGPFX) : 0));
	if (seg)
		b(g, (uint32_t)seg);
	if (size == 2)
		b(g, 0x66);
}

/* ---- memory operands ---- */

struct memop {
	int base, index, scale;  /* -1: none */
	uint32_t disp;
	int abs;                 /* [disp32] */
	int seg;                 /* override prefix or 0 */
};

/* Plan a memory operand that addresses addr. Registers it has to load are
 * loaded now (before the instruction), never one in avoid; esp_now is ESP
 * as the instruction computes the address. */
static void plan_mem(struct gen *g, struct memop *m, uint32_t addr, unsigned avoid, uint32_t esp_now, int write)
{
	memset(m, 0, sizeof(*m));
	m->base = m->index = -1;
	if (chance(6)) {
		static const uint8_t segs[4] = {0x3e, 0x26, 0x36, 0x2e};
		m->seg = segs[rn(write ? 3 : 4)]; /* all flat; CS is not writable */
	}
	int mode = (int)rn(10);
	if (mode < 2) {
		m->abs = 1;
		m->disp = addr;
		return;
	}
	uint32_t free = 0xef & ~avoid & ~g->known; /* loadable: not ESP, not avoided */
	uint32_t idxv = 0;
	if (mode >= 6) {
		/* an index: a known register, or a small value loaded now */
		uint32_t k = g->known & 0xef;
		if (k && chance(50)) {
			do
				m->index = (int)rn(8);
			while (!(k & (1u << m->index)));
			idxv = g->kval[m->index];
		} else if (free) {
			do
				m->index = (int)rn(8);
			while (!(free & (1u << m->index)));
			idxv = (uint32_t)((int32_t)rn(33) - 16);
			setreg(g, m->index, idxv);
			free &= ~(1u << m->index);
		}
		m->scale = (int)rn(4);
	}
	uint32_t bval;
	int32_t d8 = (int32_t)rn(256) - 128;
	uint32_t off = addr - (m->index >= 0 ? idxv << m->scale : 0);
	if (mode == 2 || (mode == 9 && m->index >= 0)) {
		if (mode == 9) { /* [index*scale + disp32], no base */
			m->disp = off;
			return;
		}
		m->base = R_ESP;
		bval = esp_now;
	} else if ((g->known & 0xef) && chance(50)) {
		uint32_t k = g->known & 0xef;
		do
			m->base = (int)rn(8);
		while (!(k & (1u << m->base)));
		bval = g->kval[m->base];
	} else if (free) {
		do
			m->base = (int)rn(8);
		while (!(free & (1u << m->base)));
		bval = off - (uint32_t)(chance(70) ? d8 : (int32_t)rnd());
		setreg(g, m->base, bval);
	} else {
		m->index = -1;
		m->abs = 1;
		m->disp = addr;
		return;
	}
	m->disp = off - bval;
}

static void put_mem(struct gen *g, int regfield, const struct memop *m)
{
	uint32_t rf = (uint32_t)regfield << 3;
	if (m->abs) {
		if (chance(15)) { /* the SIB spelling of [disp32] */
			b(g, rf | 4);
			b(g, 0x25);
		} else {
			b(g, rf | 5);
		}
		imm(g, m->disp, 4);
		return;
	}
	int32_t d = (int32_t)m->disp;
	int mod = d == 0 && m->base != R_EBP && chance(70) ? 0 : d >= -128 && d <= 127 ? 1 : 2;
	if (m->base < 0) { /* [index*scale + disp32] */
		b(g, rf | 4);
		b(g, (uint32_t)(m->scale << 6) | (uint32_t)(m->index << 3) | 5);
		imm(g, m->disp, 4);
		g->ins[g->nins - 1].tags |= TG(T_SIB);
		return;
	}
	if (m->index >= 0 || m->base == R_ESP) {
		b(g, (uint32_t)(mod << 6) | rf | 4);
		b(g, (uint32_t)(m->scale << 6) | (uint32_t)((m->index >= 0 ? m->index : 4) << 3) | (uint32_t)m->base);
		g->ins[g->nins - 1].tags |= TG(T_SIB);
	} else {
		b(g, (uint32_t)(mod << 6) | rf | (uint32_t)m->base);
	}
	imm(g, m->disp, mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

/* An address for an ordinary access: the data buffer mostly, the stack
 * buffer (not while it holds a return address), the read-only page for
 * reads. margin keeps room around it (BT with a register offset). */
static uint32_t pick_addr(struct gen *g, int size, int write, uint32_t margin)
{
	int a = (int)rn(100);
	if (!write && !margin && a < 10)
		return BLK_RO_PAGE + rn(4096 - (uint32_t)size + 1);
	if (a < 25 && !g->in_body && !margin)
		return BLK_STACK_ADDR + rn(BLK_STACK_SIZE - (uint32_t)size + 1);
	return BLK_DATA_ADDR + margin + rn(BLK_DATA_SIZE - (uint32_t)size - 2 * margin + 1);
}

/* An r/m operand: a register or a planned memory operand. */
struct rmop {
	int mem, reg;
	struct memop m;
};

static void pick_rm(struct gen *g, struct rmop *o, int size, int write, unsigned avoid, int pct_mem)
{
	o->mem = chance(pct_mem);
	o->reg = size == 1 || !write ? (int)rn(8) : dreg();
	if (o->mem)
		plan_mem(g, &o->m, pick_addr(g, size, write, 0), avoid, g->esp, write);
}

static uint64_t rm_tags(const struct rmop *o, int size, int write)
{
	if (!o->mem)
		return size == 1 ? hi8(o->reg) : 0;
	return TG(T_LOAD) | (write ? TG(T_STORE) : 0);
}

static void start_rm(struct gen *g, uint64_t tags, const struct rmop *o, int size, int write)
{
	start(g, tags | rm_tags(o, size, write), o->mem ? o->m.seg : 0, size);
}

static void put_rm(struct gen *g, int regfield, const struct rmop *o)
{
	if (o->mem)
		put_mem(g, regfield, &o->m);
	else
		b(g, 0xc0u | (uint32_t)(regfield << 3) | (uint32_t)o->reg);
}

static void clob_rm(struct gen *g, const struct rmop *o, int size)
{
	if (!o->mem)
		clob(g, size == 1 ? o->reg & 3 : o->reg);
}
static void clob_reg(struct gen *g, int r, int size) { clob(g, size == 1 ? r & 3 : r); }

/* ---- instruction groups ---- */

static void g_alu(struct gen *g)
{
	int op = (int)rn(9), size = rsize(), w = size != 1; /* 0-7: ADD..CMP, 8: TEST */
	int writes = op != 7 && op != 8;
	uint64_t t = TG(T_ALU) | (op == 2 || op == 3 ? TG(T_ADCSBB) : 0);
	int form = (int)rn(7); /* 0,1: rm,r  2: r,rm  3,4: rm,imm  5: acc,imm  6: like 0 */
	if (form == 2 && op == 8)
		form = 0;
	if (form == 5) {
		start(g, t, 0, size);
		b(g, op == 8 ? 0xa8u + (uint32_t)w : (uint32_t)op * 8 + 4 + (uint32_t)w);
		imm(g, edge(size), size);
		if (writes)
			clob(g, R_EAX);
		return;
	}
	struct rmop o;
	int rmw = writes && form != 2;
	pick_rm(g, &o, size, rmw, 0, 45);
	int r = size == 1 || (form != 2 || !writes) ? (int)rn(8) : dreg();
	int lock = o.mem && rmw && chance(8);
	start_rm(g, t | (lock ? TG(T_LOCK) : 0) | (form != 3 && form != 4 && size == 1 ? hi8(r) : 0), &o, size, rmw);
	if (lock)
		b(g, 0xf0);
	if (form == 3 || form == 4) {
		if (op == 8) {
			b(g, 0xf6u + (uint32_t)w);
			put_rm(g, 0, &o);
			imm(g, edge(size), size);
		} else if (size == 1) {
			b(g, chance(10) ? 0x82 : 0x80);
			put_rm(g, op, &o);
			imm(g, edge(1), 1);
		} else if (chance(50)) {
			b(g, 0x83);
			put_rm(g, op, &o);
			imm(g, edge(1), 1);
		} else {
			b(g, 0x81);
			put_rm(g, op, &o);
			imm(g, edge(size), size);
		}
	} else if (form == 2) {
		b(g, (uint32_t)op * 8 + 2 + (uint32_t)w);
		put_rm(g, r, &o);
		if (writes)
			clob_reg(g, r, size);
		return;
	} else {
		b(g, op == 8 ? 0x84u + (uint32_t)w : (uint32_t)op * 8 + (uint32_t)w);
		put_rm(g, r, &o);
	}
	if (rmw)
		clob_rm(g, &o, size);
}

static void g_unary(struct gen *g)
{
	int k = (int)rn(4), size = rsize(); /* INC DEC NOT NEG */
	uint64_t t = k < 2 ? TG(T_INCDEC) : TG(T_NEGNOT);
	if (k < 2 && size != 1 && chance(40)) {
		int r = dreg();
		start(g, t, 0, size);
		b(g, (k ? 0x48u : 0x40u) + (uint32_t)r);
		clob(g, r);
		return;
	}
	struct rmop o;
	pick_rm(g, &o, size, 1, 0, 40);
	int lock = o.mem && chance(8);
	start_rm(g, t | (lock ? TG(T_LOCK) : 0), &o, size, 1);
	if (lock)
		b(g, 0xf0);
	b(g, (k < 2 ? 0xfeu : 0xf6u) + (size != 1));
	put_rm(g, k, &o); /* FE/FF /0 /1, F6/F7 /2 /3 */
	clob_rm(g, &o, size);
}

static uint32_t shift_count(void)
{
	static const uint8_t e[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 0xff};
	return chance(75) ? e[rn(sizeof(e))] : rn(256);
}

static void g_shift(struct gen *g)
{
	int size = rsize(), k = (int)rn(8), form = (int)rn(3); /* imm, by 1, by CL */
	int shxd = size != 1 && chance(15);
	uint32_t cnt = shift_count();
	uint64_t t = 0;
	if (form == 2) {
		t |= TG(T_SHIFT_CL);
		if (chance(60)) {
			begin(g, TG(T_MOV));
			b(g, 0xb1); /* mov cl, imm8 */
			b(g, cnt);
			clob(g, R_ECX);
			if ((cnt & 31) == 0)
				t |= TG(T_SHIFT0);
		}
	} else {
		t |= TG(T_SHIFT_IMM);
		if (form == 0 && (cnt & 31) == 0)
			t |= TG(T_SHIFT0);
	}
	struct rmop o;
	pick_rm(g, &o, size, 1, 1u << R_ECX, 40);
	if (shxd) {
		int r = (int)rn(8);
		start_rm(g, t | TG(T_SHXD), &o, size, 1);
		b(g, 0x0f);
		b(g, (chance(50) ? 0xa4u : 0xacu) + (form == 2));
		put_rm(g, r, &o);
		if (form != 2)
			b(g, cnt);
		clob_rm(g, &o, size);
		return;
	}
	if (k == 2 || k == 3)
		t |= TG(T_RCLRCR);
	start_rm(g, t, &o, size, 1);
	b(g, (form == 0 ? 0xc0u : form == 1 ? 0xd0u : 0xd2u) + (size != 1));
	put_rm(g, k, &o);
	if (form == 0)
		b(g, cnt);
	clob_rm(g, &o, size);
}

static void g_mul(struct gen *g)
{
	int form = (int)rn(4);
	struct rmop o;
	if (form == 0) {
		int size = rsize();
		pick_rm(g, &o, size, 0, 0, 40);
		start_rm(g, TG(T_MUL), &o, size, 0);
		b(g, 0xf6u + (size != 1));
		put_rm(g, 4 + (int)rn(2), &o);
		clob(g, R_EAX);
		if (size != 1)
			clob(g, R_EDX);
		return;
	}
	int size = rsize16(), r = dreg();
	pick_rm(g, &o, size, 0, 0, 40);
	start_rm(g, TG(T_MUL), &o, size, 0);
	if (form == 1) {
		b(g, 0x0f);
		b(g, 0xaf);
		put_rm(g, r, &o);
	} else {
		b(g, form == 2 ? 0x69 : 0x6b);
		put_rm(g, r, &o);
		imm(g, edge(size), form == 2 ? size : 1);
	}
	clob(g, r);
}

static void plan_fault(struct gen *g, int kind)
{
	g->fault_done = 1;
	g->fault_kind = kind;
	g->fault_off = g->n;
}

/* DIV/IDIV with a divisor that cannot overflow the quotient, or zero. */
static void g_div_zero(struct gen *g, int zero)
{
	int size = rsize(), sgn = chance(50);
	uint32_t m = mask_of(size), d;
	if (zero)
		d = 0;
	else if (sgn)
		do
			d = edge(size) & m;
		while (d == 0 || d == m); /* not 0, not -1 */
	else
		d = chance(50) ? 1 + rn(16) : ((uint32_t)rnd() & m) | 1;
	/* the dividend's high half: below the divisor, or the sign of the low half */
	if (sgn) {
		begin(g, TG(T_CVT));
		if (size != 4)
			b(g, 0x66);
		b(g, size == 1 ? 0x98 : 0x99); /* cbw / cwd / cdq */
		clob(g, size == 1 ? R_EAX : R_EDX);
	} else if (size == 1) {
		begin(g, TG(T_MOV) | TG(T_BYTEHI));
		b(g, 0xb4); /* mov ah, imm8 */
		b(g, d ? rn(d) : rn(256));
		clob(g, R_EAX);
	} else {
		uint32_t hi = d ? (uint32_t)(rnd() % d) : (uint32_t)rnd() & m;
		setreg(g, R_EDX, ((uint32_t)rnd() & ~m) | hi);
	}
	struct rmop o;
	o.mem = chance(40);
	if (o.mem) {
		plan_mem(g, &o.m, pick_addr(g, size, 1, 0) , (1u << R_EAX) | (1u << R_EDX), g->esp, 1);
		struct rmop st = o;
		start_rm(g, TG(T_MOV), &st, size, 1);
		b(g, size == 1 ? 0xc6 : 0xc7);
		put_rm(g, 0, &st);
		imm(g, d, size);
	} else {
		static const int e8[6] = {1, 2, 3, 5, 6, 7}; /* not AL, AH */
		static const int e32[5] = {R_ECX, R_EBX, R_EBP, R_ESI, R_EDI};
		o.reg = size == 1 ? e8[rn(6)] : e32[rn(5)];
		int full = size == 1 ? o.reg & 3 : o.reg, sh = size == 1 && o.reg >= 4 ? 8 : 0;
		setreg(g, full, ((uint32_t)rnd() & ~(m << sh)) | (d << sh));
	}
	if (zero)
		plan_fault(g, F_DE);
	start_rm(g, TG(T_DIV), &o, size, 0);
	b(g, 0xf6u + (size != 1));
	put_rm(g, 6 + sgn, &o);
	clob(g, R_EAX);
	if (size != 1)
		clob(g, R_EDX);
}
static void g_div(struct gen *g) { g_div_zero(g, 0); }

static void g_jcc(struct gen *g)
{
	if (g->npend >= GEN_MAX_PEND)
		return;
	int kind = (int)rn(20), cc = (int)rn(16), d8 = 1;
	uint64_t t = kind < 15 ? TG(T_JCC) : TG(T_JMP);
	begin(g, t);
	if (kind < 11) {
		b(g, 0x70u + (uint32_t)cc);
	} else if (kind < 14) {
		b(g, 0x0f);
		b(g, 0x80u + (uint32_t)cc);
		d8 = 0;
	} else if (kind == 14) {
		b(g, 0xe3); /* jecxz */
	} else if (kind < 19) {
		b(g, 0xeb);
	} else {
		b(g, 0xe9);
		d8 = 0;
	}
	struct gen_pend *p = &g->pend[g->npend++];
	p->target = g->ngrp + 1 + (chance(10) ? 0 : 1 + (int)rn(4));
	p->disp_pos = (uint16_t)g->n;
	p->disp8 = (uint8_t)d8;
	imm(g, 0, d8 ? 1 : 4);
	p->next_off = (uint16_t)g->n;
	p->known = g->known;
	memcpy(p->kval, g->kval, sizeof(p->kval));
	p->df = (int8_t)g->df;
}

static void g_setcc(struct gen *g)
{
	struct rmop o;
	pick_rm(g, &o, 1, 1, 0, 35);
	start_rm(g, TG(T_SETCC), &o, 1, 1);
	b(g, 0x0f);
	b(g, 0x90 + rn(16));
	put_rm(g, 0, &o);
	clob_rm(g, &o, 1);
}

static void g_cmov(struct gen *g)
{
	int size = rsize16(), r = dreg();
	struct rmop o;
	pick_rm(g, &o, size, 0, 0, 40);
	start_rm(g, TG(T_CMOV), &o, size, 0);
	b(g, 0x0f);
	b(g, 0x40 + rn(16));
	put_rm(g, r, &o);
	clob(g, r);
}

static void g_flags(struct gen *g)
{
	static const uint8_t ops[7] = {0xf8, 0xf9, 0xf5, 0xfc, 0xfd, 0x9f, 0x9e}; /* clc stc cmc cld std lahf sahf */
	int k = (int)rn(7);
	begin(g, k == 5 ? TG(T_LAHF) : k == 6 ? TG(T_SAHF) : TG(T_FLAGOP));
	b(g, ops[k]);
	if (k == 3 || k == 4)
		g->df = k == 4;
	if (k == 5)
		clob(g, R_EAX);
}

static void g_cvt(struct gen *g)
{
	int k = (int)rn(4);
	begin(g, TG(T_CVT) | (k & 1 ? TG(T_OP16) : 0));
	if (k & 1)
		b(g, 0x66);
	b(g, k < 2 ? 0x98 : 0x99);
	clob(g, k < 2 ? R_EAX : R_EDX);
}

/* LEA with any addressing and any registers: nothing is accessed. */
static void g_lea(struct gen *g)
{
	int size = rsize16(), r = dreg(), a16 = chance(20);
	start(g, TG(T_LEA), 0, size);
	if (a16)
		b(g, 0x67);
	b(g, 0x8d);
	int mod = (int)rn(3), rm = (int)rn(8);
	b(g, (uint32_t)(mod << 6) | (uint32_t)(r << 3) | (uint32_t)rm);
	int disp;
	if (a16) {
		disp = mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
	} else {
		int sibbase = -1;
		if (rm == 4) {
			uint32_t sib = (uint32_t)rnd() & 0xff;
			b(g, sib);
			sibbase = (int)(sib & 7);
			g->ins[g->nins - 1].tags |= TG(T_SIB);
		}
		disp = mod == 1 ? 1 : mod == 2 || (mod == 0 && (rm == 5 || sibbase == 5)) ? 4 : 0;
	}
	imm(g, (uint32_t)rnd(), disp);
	clob(g, r);
}

static void g_xchg(struct gen *g)
{
	int size = rsize();
	if (size != 1 && chance(25)) {
		int r = dreg();
		start(g, TG(T_XCHG), 0, size);
		b(g, 0x90u + (uint32_t)r);
		clob(g, R_EAX);
		clob(g, r);
		return;
	}
	struct rmop o;
	pick_rm(g, &o, size, 1, 0, 45);
	int r = size == 1 ? (int)rn(8) : dreg();
	start_rm(g, TG(T_XCHG) | (size == 1 ? hi8(r) : 0), &o, size, 1);
	b(g, 0x86u + (size != 1));
	put_rm(g, r, &o);
	clob_rm(g, &o, size);
	clob_reg(g, r, size);
}

static void g_movx(struct gen *g)
{
	int src = chance(60) ? 1 : 2, size = src == 2 ? 4 : rsize16(), r = dreg();
	struct rmop o;
	pick_rm(g, &o, src, 0, 0, 45);
	start(g, TG(T_MOVX) | rm_tags(&o, src, 0), o.mem ? o.m.seg : 0, size);
	b(g, 0x0f);
	b(g, (chance(50) ? 0xb6u : 0xbeu) + (src == 2));
	put_rm(g, r, &o);
	clob(g, r);
}

static void g_bswap(struct gen *g)
{
	int r = dreg();
	begin(g, TG(T_BSWAP));
	b(g, 0x0f);
	b(g, 0xc8u + (uint32_t)r);
	clob(g, r);
}

static void g_bt(struct gen *g)
{
	int size = rsize16(), k = (int)rn(4); /* BT BTS BTR BTC */
	int write = k != 0;
	struct rmop o;
	if (chance(50)) { /* imm8 */
		pick_rm(g, &o, size, write, 0, 45);
		start_rm(g, TG(T_BT), &o, size, write);
		b(g, 0x0f);
		b(g, 0xba);
		put_rm(g, 4 + k, &o);
		b(g, rn(256));
	} else {
		/* a register offset: with memory, the offset (loaded now, signed,
		 * within +-64 bits) moves the accessed unit */
		int r = dreg();
		o.mem = chance(50);
		o.reg = dreg();
		if (o.mem) {
			setreg(g, r, (uint32_t)((int32_t)rn(128) - 64));
			plan_mem(g, &o.m, pick_addr(g, size, write, 16), 1u << r, g->esp, write);
		}
		start_rm(g, TG(T_BT), &o, size, write);
		b(g, 0x0f);
		b(g, 0xa3u + 8 * (uint32_t)k);
		put_rm(g, r, &o);
	}
	if (write)
		clob_rm(g, &o, size);
}

static void g_mov(struct gen *g)
{
	int size = rsize(), form = (int)rn(6), w = size != 1;
	struct rmop o;
	if (form == 0) { /* B0+r / B8+r */
		int r = size == 1 ? (int)rn(8) : dreg();
		uint32_t v = edge(size);
		if (size == 4) {
			setreg(g, r, v);
			return;
		}
		start(g, TG(T_MOV) | (size == 1 ? hi8(r) : 0), 0, size);
		b(g, (size == 1 ? 0xb0u : 0xb8u) + (uint32_t)r);
		imm(g, v, size);
		clob_reg(g, r, size);
		return;
	}
	if (form == 1) { /* moffs */
		int store = chance(50);
		uint32_t a = pick_addr(g, size, store, 0);
		start(g, TG(T_MOV) | (store ? TG(T_STORE) : TG(T_LOAD)), 0, size);
		b(g, (store ? 0xa2u : 0xa0u) + (uint32_t)w);
		imm(g, a, 4);
		if (!store)
			clob(g, R_EAX);
		return;
	}
	int store = form == 2 || form == 3 || form == 5;
	pick_rm(g, &o, size, store, 0, 70);
	if (form == 5) { /* C6/C7 */
		start_rm(g, TG(T_MOV), &o, size, 1);
		b(g, 0xc6u + (uint32_t)w);
		put_rm(g, 0, &o);
		imm(g, edge(size), size);
		clob_rm(g, &o, size);
		return;
	}
	int r = store || size == 1 ? (int)rn(8) : dreg();
	start_rm(g, TG(T_MOV) | (size == 1 ? hi8(r) : 0), &o, size, store);
	b(g, (store ? 0x88u : 0x8au) + (uint32_t)w);
	put_rm(g, r, &o);
	if (store)
		clob_rm(g, &o, size);
	else
		clob_reg(g, r, size);
}

/* A string region start for count elements of size bytes in [lo, hi). */
static uint32_t str_start(int df, uint32_t count, int size, uint32_t lo, uint32_t hi)
{
	uint32_t span = (count ? count : 1) * (uint32_t)size;
	uint32_t room = hi - lo - span + 1;
	uint32_t s = lo + rn(room);
	return df ? s + span - (uint32_t)size : s;
}

static void set_df(struct gen *g, int df)
{
	begin(g, TG(T_FLAGOP));
	b(g, df ? 0xfd : 0xfc);
	g->df = df;
}

static void g_string(struct gen *g)
{
	static const uint8_t ops[5] = {0xa4, 0xa6, 0xaa, 0xac, 0xae}; /* movs cmps stos lods scas */
	static const int tags[5] = {T_MOVS, T_CMPS, T_STOS, T_LODS, T_SCAS};
	int k = (int)rn(5), size = rsize(), cmp = k == 1 || k == 4;
	int rep = chance(60) ? (cmp && chance(50) ? 2 : 1) : 0;
	int src = k == 0 || k == 1 || k == 3, dst = k != 3;
	uint32_t count = rep ? (chance(10) ? 0 : 1 + rn(8)) : 1;
	if (g->df < 0 || chance(25))
		set_df(g, chance(40));
	uint32_t d = 0;
	if (dst) {
		d = str_start(g->df, count, size, BLK_DATA_ADDR, BLK_DATA_END);
		setreg(g, R_EDI, d);
	}
	if (src) {
		uint32_t s;
		if (k == 1 && chance(30))
			s = d; /* compare a region with itself: REPE runs to the end */
		else if (chance(30))
			s = str_start(g->df, count, size, BLK_RO_PAGE, BLK_RO_PAGE + 4096);
		else
			s = str_start(g->df, count, size, BLK_DATA_ADDR, BLK_DATA_END);
		setreg(g, R_ESI, s);
	}
	if (rep)
		setreg(g, R_ECX, count);
	int seg = src && chance(10) ? (chance(50) ? 0x26 : 0x36) : 0;
	start(g, TG(tags[k]) | (rep ? TG(T_REP) : 0) | (g->df ? TG(T_DF1) : 0) | (dst && !cmp ? TG(T_STORE) : 0),
	      seg, size);
	if (rep)
		b(g, rep == 1 ? 0xf3 : 0xf2);
	b(g, ops[k] + (size != 1));
	clob(g, R_ESI);
	clob(g, R_EDI);
	if (rep)
		clob(g, R_ECX);
	if (k == 3)
		clob(g, R_EAX);
}

/* ---- stack groups ---- */

static int room_push(const struct gen *g, int size) { return g->esp - (uint32_t)size >= BLK_STACK_ADDR + 8; }
static int room_pop(const struct gen *g, int size) { return g->esp + (uint32_t)size <= BLK_STACK_END; }

static void g_push(struct gen *g)
{
	int size = chance(15) ? 2 : 4, form = (int)rn(4);
	if (!room_push(g, size))
		return;
	if (form == 3) {
		struct rmop o;
		pick_rm(g, &o, size, 0, 0, 100);
		start_rm(g, TG(T_PUSH), &o, size, 0);
		b(g, 0xff);
		put_rm(g, 6, &o);
	} else if (form == 2) {
		start(g, TG(T_PUSH), 0, size);
		int s8 = chance(50);
		b(g, s8 ? 0x6a : 0x68);
		imm(g, edge(size), s8 ? 1 : size);
	} else {
		start(g, TG(T_PUSH), 0, size);
		b(g, 0x50 + rn(8)); /* ESP too: the value before the push */
	}
	g->esp -= (uint32_t)size;
}

static void g_pop(struct gen *g)
{
	int size = chance(15) ? 2 : 4;
	if (!room_pop(g, size))
		return;
	if (chance(30)) {
		/* POP m: an ESP base is ESP after the pop (SDM POP) */
		struct rmop o = {.mem = 1};
		plan_mem(g, &o.m, pick_addr(g, size, 1, 0), 0, g->esp + (uint32_t)size, 1);
		start_rm(g, TG(T_POP), &o, size, 1);
		b(g, 0x8f);
		put_rm(g, 0, &o);
	} else {
		int r = dreg();
		start(g, TG(T_POP), 0, size);
		b(g, 0x58u + (uint32_t)r);
		clob(g, r);
	}
	g->esp += (uint32_t)size;
}

static void g_pushf(struct gen *g)
{
	int size = chance(15) ? 2 : 4;
	if (!room_push(g, size))
		return;
	start(g, TG(T_PUSHF), 0, size);
	b(g, 0x9c);
	g->esp -= (uint32_t)size;
}

static void g_callnext(struct gen *g)
{
	if (!room_push(g, 4))
		return;
	begin(g, TG(T_CALLNEXT));
	b(g, 0xe8);
	imm(g, 0, 4);
	g->esp -= 4;
}

/* Groups that leave ESP as it was (a branch may skip them). */
static void g_pushf_pop(struct gen *g)
{
	if (!room_push(g, 4))
		return;
	int r = dreg();
	begin(g, TG(T_PUSHF));
	b(g, 0x9c);
	begin(g, TG(T_POP));
	b(g, 0x58u + (uint32_t)r);
	clob(g, r);
}

static void g_callpop(struct gen *g)
{
	if (!room_push(g, 4))
		return;
	int r = dreg();
	begin(g, TG(T_CALLNEXT));
	b(g, 0xe8);
	imm(g, 0, 4);
	begin(g, TG(T_POP));
	b(g, 0x58u + (uint32_t)r);
	g->known |= (uint8_t)(1u << r); /* the return address: known */
	g->kval[r] = g->base + g->n - 1;
}

/* ---- faults ---- */

/* An address whose access of size bytes faults: in an absent page, or
 * across the end of the data buffer into one (nothing may be written). */
static uint32_t bad_addr(int size)
{
	if (size > 1 && chance(60))
		return BLK_DATA_END - 1 - rn((uint32_t)size - 1);
	static const uint32_t pages[2] = {0x00201000u, 0x0020f000u};
	return pages[rn(2)] + rn(4096 - (uint32_t)size + 1);
}

static void g_fault_mem(struct gen *g, int kind)
{
	int size = rsize(), w = size != 1;
	struct rmop o = {.mem = 1};
	uint32_t a = kind == F_PF_RO ? BLK_RO_PAGE + rn(4096 - (uint32_t)size + 1) : bad_addr(size);
	int store = kind != F_PF_LOAD;
	plan_mem(g, &o.m, a, 0, g->esp, store);
	int form = (int)rn(4), r = size == 1 ? (int)rn(8) : dreg();
	plan_fault(g, kind);
	start_rm(g, TG(T_MOV), &o, size, store);
	if (!store) {
		static const uint8_t ld[4] = {0x8a, 0x02, 0x3a, 0x22}; /* mov add cmp and r,rm */
		b(g, ld[form] + (uint32_t)w);
		put_rm(g, r, &o);
		clob_reg(g, r, size);
		return;
	}
	switch (form) {
	case 0: b(g, 0x88u + (uint32_t)w); put_rm(g, r, &o); break;              /* mov */
	case 1: b(g, 0x00u + (uint32_t)w); put_rm(g, r, &o); break;              /* add (rmw) */
	case 2: b(g, 0xfeu + (uint32_t)w); put_rm(g, 0, &o); break;              /* inc */
	default: b(g, 0x86u + (uint32_t)w); put_rm(g, r, &o); clob_reg(g, r, size); break; /* xchg */
	}
}

static void g_fault_stack(struct gen *g, int kind)
{
	int size = chance(20) ? 2 : 4;
	if (kind == F_PF_POP) {
		/* ESP at (or just below) the end of the stack page */
		g->esp = BLK_STACK_END - rn((uint32_t)size);
		begin(g, TG(T_MOV));
		b(g, 0xbc);
		imm(g, g->esp, 4);
		plan_fault(g, kind);
		int form = (int)rn(4);
		if (form == 3) {
			begin(g, TG(T_RET));
			b(g, 0xc3);
			return;
		}
		start(g, form == 2 ? TG(T_POPF) : TG(T_POP), 0, size);
		b(g, form == 2 ? 0x9d : 0x58u + (uint32_t)dreg());
		return;
	}
	/* ESP just above the start of the stack page: the push crosses into
	 * the absent page below and must write nothing */
	g->esp = BLK_STACK_PAGE + rn((uint32_t)size);
	begin(g, TG(T_MOV));
	b(g, 0xbc);
	imm(g, g->esp, 4);
	plan_fault(g, kind);
	int form = (int)rn(4);
	if (form == 3) {
		begin(g, TG(T_CALLNEXT));
		b(g, 0xe8);
		imm(g, 0, 4);
		return;
	}
	start(g, form == 2 ? TG(T_PUSHF) : TG(T_PUSH), 0, size);
	b(g, form == 2 ? 0x9c : form == 1 ? 0x6a : 0x50 + rn(8));
	if (form == 1)
		b(g, rn(256));
}

/* A REP string instruction that runs into an absent page after some
 * iterations: ECX, ESI and EDI must show the completed ones. */
static void g_fault_rep(struct gen *g)
{
	static const uint8_t ops[4] = {0xa4, 0xaa, 0xac, 0xae}; /* movs stos lods scas */
	int k = (int)rn(4), size = rsize(), df = chance(30);
	uint32_t count = 2 + rn(7), done = rn(count), skew = size > 1 && chance(30) ? 1 + rn((uint32_t)size - 1) : 0;
	/* upward into the guard page after the data buffer, or downward
	 * into the one below the stack page */
	uint32_t edge_ptr = df ? BLK_STACK_PAGE + done * (uint32_t)size - (skew ? skew : (uint32_t)size)
			       : BLK_DATA_END - done * (uint32_t)size - skew;
	set_df(g, df);
	uint32_t other = df ? BLK_DATA_END - (uint32_t)size : BLK_DATA_ADDR;
	int src_faults = k == 2 || (k == 0 && chance(50));
	if (k != 2)
		setreg(g, R_EDI, src_faults ? other : edge_ptr);
	if (k == 0 || k == 2)
		setreg(g, R_ESI, src_faults ? edge_ptr : other);
	setreg(g, R_ECX, count);
	plan_fault(g, F_PF_REP);
	start(g, TG(T_REP) | (df ? TG(T_DF1) : 0), 0, size);
	b(g, k == 3 ? (chance(50) ? 0xf2 : 0xf3) : 0xf3);
	b(g, ops[k] + (size != 1));
	clob(g, R_ESI);
	clob(g, R_EDI);
	clob(g, R_ECX);
	if (k == 2)
		clob(g, R_EAX);
}

static void g_fault(struct gen *g)
{
	switch (g->fault_kind) {
	case F_PF_LOAD: case F_PF_STORE: case F_PF_RO: g_fault_mem(g, g->fault_kind); break;
	case F_PF_POP: case F_PF_PUSH: g_fault_stack(g, g->fault_kind); break;
	case F_PF_REP: g_fault_rep(g); break;
	case F_BP: plan_fault(g, F_BP); begin(g, 0); b(g, 0xcc); break;
	case F_UD: plan_fault(g, F_UD); begin(g, 0); b(g, 0x0f); b(g, 0x0b); break;
	default: g_div_zero(g, 1); break;
	}
}

/* ---- choosing groups ---- */

enum { G_ANY = 0, G_STACK = 1, G_NOBODY = 2, G_BIG = 4 };
/* The longest group: a DIV through memory with its setup (37 bytes); a
 * CALL/RET or PUSHF/POPF with two groups inside is at most 90. */
#define GEN_GROUP_MAX 40
#define GEN_BIG_MAX 90
struct gen_kind {
	void (*fn)(struct gen *g);
	int weight, where;
};

static void g_body(struct gen *g);

/* CALL to a subroutine placed after a JMP that skips it:
 *   call L1; jmp L2; L1: body; ret; L2: */
static void g_callret(struct gen *g)
{
	if (!room_push(g, 12))
		return;
	begin(g, TG(T_CALL));
	b(g, 0xe8);
	imm(g, 5, 4);
	begin(g, TG(T_JMP));
	g->ins[g->nins - 1].nocount = 1;
	b(g, 0xe9);
	uint32_t at = g->n;
	imm(g, 0, 4);
	g->esp -= 4;
	g->in_body = 1;
	for (int i = 0, k = 1 + (int)rn(2); i < k; i++)
		g_body(g);
	g->in_body = 0;
	g->esp += 4;
	begin(g, TG(T_RET));
	b(g, 0xc3);
	uint32_t d = g->n - at - 4;
	memcpy(&g->code[at], &d, 4);
}

static void g_pushf_popf(struct gen *g)
{
	if (!room_push(g, 12))
		return;
	int df = g->df;
	begin(g, TG(T_PUSHF));
	b(g, 0x9c);
	g->esp -= 4;
	g->in_body = 1;
	for (int i = 0, k = 1 + (int)rn(2); i < k; i++)
		g_body(g);
	g->in_body = 0;
	g->esp += 4;
	begin(g, TG(T_POPF));
	b(g, 0x9d);
	g->df = df;
}

static const struct gen_kind gen_kinds[] = {
	{g_alu, 22, G_ANY},       {g_unary, 5, G_ANY},      {g_shift, 9, G_ANY},      {g_mul, 3, G_ANY},
	{g_div, 3, G_ANY},        {g_jcc, 10, G_NOBODY},    {g_setcc, 3, G_ANY},      {g_cmov, 3, G_ANY},
	{g_flags, 4, G_ANY},      {g_cvt, 1, G_ANY},        {g_lea, 4, G_ANY},        {g_xchg, 3, G_ANY},
	{g_movx, 3, G_ANY},       {g_bswap, 1, G_ANY},      {g_bt, 3, G_ANY},         {g_mov, 9, G_ANY},
	{g_string, 6, G_ANY},     {g_pushf_pop, 2, G_ANY},  {g_callpop, 1, G_ANY},    {g_push, 4, G_STACK},
	{g_pop, 4, G_STACK},      {g_pushf, 1, G_STACK},    {g_callnext, 1, G_STACK}, {g_callret, 2, G_NOBODY | G_BIG},
	{g_pushf_popf, 2, G_NOBODY | G_BIG},
};

/* Bytes the next group may take before an open rel8 branch is out of reach. */
static int rel8_reach(const struct gen *g)
{
	int reach = 1 << 20;
	for (int i = 0; i < g->npend; i++)
		if (g->pend[i].disp8 && 127 - (int)(g->n - g->pend[i].next_off) < reach)
			reach = 127 - (int)(g->n - g->pend[i].next_off);
	return reach;
}

static int fault_is_stack(int kind) { return kind == F_PF_POP || kind == F_PF_PUSH; }

static int fault_due(const struct gen *g)
{
	if (g->fault_kind == F_NONE || g->fault_done || g->nins < g->fault_at)
		return 0;
	return !fault_is_stack(g->fault_kind) || (g->npend == 0 && !g->in_body);
}

static void g_pick(struct gen *g, int in_body)
{
	if (fault_due(g)) {
		g_fault(g);
		return;
	}
	int total = 0;
	for (size_t i = 0; i < sizeof(gen_kinds) / sizeof(gen_kinds[0]); i++)
		total += gen_kinds[i].weight;
	for (;;) {
		int x = (int)rn((uint32_t)total);
		size_t i = 0;
		while (x >= gen_kinds[i].weight)
			x -= gen_kinds[i++].weight;
		int w = gen_kinds[i].where;
		if ((w & G_NOBODY) && in_body)
			continue;
		if ((w & G_STACK) && (in_body || g->npend))
			continue;
		if ((w & G_BIG) && rel8_reach(g) < GEN_BIG_MAX)
			continue;
		int before = g->nins;
		gen_kinds[i].fn(g);
		if (g->nins != before)
			return;
	}
}

static void g_body(struct gen *g) { g_pick(g, 1); }

/* Land pending branches on the group about to start: the ones aimed at
 * it, and rel8 ones that the next group could put out of reach. */
static void land_branches(struct gen *g)
{
	for (int i = 0; i < g->npend;) {
		struct gen_pend *p = &g->pend[i];
		if (p->target > g->ngrp && !(p->disp8 && g->n + GEN_GROUP_MAX - p->next_off > 127)) {
			i++;
			continue;
		}
		uint32_t d = g->n - p->next_off;
		if (p->disp8 && d > 127)
			g->bad = 1;
		if (p->disp8)
			g->code[p->disp_pos] = (uint8_t)d;
		else
			memcpy(&g->code[p->disp_pos], &d, 4);
		uint8_t same = 0;
		for (int r = 0; r < 8; r++)
			if (g->kval[r] == p->kval[r])
				same |= (uint8_t)(1u << r);
		g->known &= p->known & same;
		if (g->df != p->df)
			g->df = -1;
		g->pend[i] = g->pend[--g->npend];
	}
}

/* Fill case c (registers, flags, buffers, code) and g (what the code is). */
static void gen_sequence(struct gen *g, struct blk_case *c, uint32_t seq)
{
	memset(c, 0, sizeof(*c));
	memset(g, 0, sizeof(*g));
	c->seq = seq;
	for (int r = 0; r < 8; r++)
		c->r[r] = edge(chance(50) ? 4 : chance(50) ? 2 : 1);
	g->esp = BLK_STACK_ADDR + 0x60 + 4 * rn(24) + (chance(5) ? 2 : 0);
	c->r[R_ESP] = g->esp;
	c->eflags = (uint32_t)rnd() & 0xcd5u;
	g->df = (c->eflags & 0x400) != 0;
	for (uint32_t i = 0; i < BLK_DATA_SIZE; i += 4) {
		uint32_t v = edge(4);
		memcpy(c->data + i, &v, 4);
	}
	for (uint32_t i = 0; i < BLK_STACK_SIZE; i += 4) {
		uint32_t v = edge(4);
		memcpy(c->stack + i, &v, 4);
	}
	/* often near the boundary of the two code pages, so blocks straddle it */
	uint32_t room = 4096 * BLK_CODE_PAGES - 700;
	g->base = BLK_CODE_ADDR + (chance(35) ? 4096 - rn(400) : rn(room));
	g->paging = !chance(20);
	if (!g->paging)
		c->flags |= BLK_NOPAGING;
	int target = 5 + (int)rn(GEN_MAX_INSNS - 8);
	if (chance(45)) {
		/* paging off: no page faults */
		g->fault_kind = g->paging ? 1 + (int)rn(F_NKINDS - 1) : F_BP + (int)rn(3);
		g->fault_at = (int)rn((uint32_t)target);
	}
	while (g->nins < target) {
		land_branches(g);
		static struct gen save;
		int near_end = g->nins > GEN_MAX_INSNS - 18;
		if (near_end)
			save = *g;
		g_pick(g, 0);
		if (g->nins > GEN_MAX_INSNS) {
			*g = save;
			break;
		}
		g->ngrp++;
	}
	g->ngrp = 1 << 30;
	land_branches(g);
	if (g->n > BLK_CODE_MAX || g->base + g->n + BLK_CODE_TAIL > BLK_CODE_ADDR + 4096 * BLK_CODE_PAGES)
		g->bad = 1;
	c->code_addr = g->base;
	c->len = g->n < BLK_CODE_MAX ? g->n : BLK_CODE_MAX;
	memcpy(c->code, g->code, c->len);
}

#endif
