/* x87 instructions done without the FRSTOR/FNSAVE round trip of the whole
 * FPU (x87_host.c), which costs ~180 ns on the development machines.
 *
 * Register moves in C: FXCH, FLD ST(i), FST/FSTP ST(i), FCHS, FABS, FLD1,
 * FLDZ, FINCSTP, FDECSTP, FNOP. They are pure data movement (no rounding,
 * no exception for NaNs or denormals in the 80-bit format: SDM Vol. 2,
 * FLD/FST "does not occur if the source operand is in double
 * extended-precision format") and common in compiled x87 code.
 *
 * Memory forms that involve only ST(0) and the operand (loads, stores,
 * arithmetic and comparisons with m16/m32/m64/m80/BCD) on a small host
 * stub: FNINIT, FLDCW (guest's), FLDT ST(0), the guest's instruction on
 * (%rsi), FNSTSW AX, FNCLEX, FSTPT of the new ST(0) if any, FNINIT. The
 * arithmetic, rounding, masked responses and exception flags come from
 * the host as in x87_host.c; TOP, tags and the push/pop are done here,
 * with the rule the hardware follows: an unmasked #I, #D, #Z, #O or #U
 * leaves the stack and a memory destination as they were (SDM Vol. 1,
 * 8.5).
 *
 * Only the cases without a stack fault come here; anything else (an
 * empty operand, a full stack) takes the full round trip. C1 comes from
 * the host (0 when the manual says "cleared"); C0, C2, C3, undefined for
 * all but the comparisons, are left as they are, which is what the host
 * does too. The differential test (tests/test_x87_diff.c) holds all of
 * this to the host. */
#include <string.h>

#include "cpu/exec.h"

enum { TAG_VALID = 0, TAG_ZERO = 1, TAG_EMPTY = 3 };

static int tag(const struct fpu *f, int r) { return (f->ftw >> (2 * r)) & 3; }

static void set_tag(struct fpu *f, int r, int t)
{
	f->ftw = (uint16_t)((f->ftw & ~(3u << (2 * r))) | (unsigned)t << (2 * r));
}

static void set_top(struct fpu *f, int top)
{
	f->fsw = (uint16_t)((f->fsw & ~FSW_TOP) | (unsigned)(top & 7) << FSW_TOP_SHIFT);
}

static void copy_reg(struct fpu *f, int dst, int src)
{
	if (dst != src)
		memcpy(&f->st[dst], &f->st[src], 10);
	set_tag(f, dst, tag(f, src));
}

static void push_const(struct fpu *f, int rn, uint64_t m, uint16_t se, int t)
{
	memcpy(&f->st[rn], &m, 8);
	memcpy((uint8_t *)&f->st[rn] + 8, &se, 2);
	set_tag(f, rn, t);
	set_top(f, rn);
}

static int fast_arith_reg(struct fpu *f, uint8_t esc, uint8_t modrm);

int x87_fast_reg(struct fpu *f, uint8_t esc, uint8_t modrm)
{
	int top = fpu_top(f);
	int r0 = top, ri = (top + (modrm & 7)) & 7, rn = (top - 1) & 7;
	switch ((esc << 8) | (modrm & 0xf8)) {
	case 0xd9c8: case 0xddc8: { /* FXCH (and its DD alias) */
		if (tag(f, r0) == TAG_EMPTY || tag(f, ri) == TAG_EMPTY)
			return 0;
		uint8_t t[10];
		int t0 = tag(f, r0);
		memcpy(t, &f->st[r0], 10);
		memcpy(&f->st[r0], &f->st[ri], 10);
		memcpy(&f->st[ri], t, 10);
		set_tag(f, r0, tag(f, ri));
		set_tag(f, ri, t0);
		break;
	}
	case 0xd9c0: /* FLD ST(i) */
		if (tag(f, ri) == TAG_EMPTY || tag(f, rn) != TAG_EMPTY)
			return 0;
		copy_reg(f, rn, ri);
		set_top(f, rn);
		break;
	case 0xddd0: /* FST ST(i) */
		if (tag(f, r0) == TAG_EMPTY)
			return 0;
		copy_reg(f, ri, r0);
		break;
	case 0xddd8: case 0xd9d8: case 0xdfd0: case 0xdfd8: /* FSTP ST(i), aliases */
		if (tag(f, r0) == TAG_EMPTY)
			return 0;
		copy_reg(f, ri, r0);
		set_tag(f, r0, TAG_EMPTY);
		set_top(f, top + 1);
		break;
	case 0xd9e0: case 0xd9e8: case 0xd9f0: case 0xd9d0:
		switch (modrm) {
		case 0xe0: /* FCHS */
		case 0xe1: /* FABS */
			if (tag(f, r0) == TAG_EMPTY)
				return 0;
			if (modrm == 0xe0)
				((uint8_t *)&f->st[r0])[9] ^= 0x80;
			else
				((uint8_t *)&f->st[r0])[9] &= 0x7f;
			break;
		case 0xe8: /* FLD1 */
		case 0xee: /* FLDZ */
			if (tag(f, rn) != TAG_EMPTY)
				return 0;
			if (modrm == 0xe8)
				push_const(f, rn, 1ull << 63, 0x3fff, TAG_VALID);
			else
				push_const(f, rn, 0, 0, TAG_ZERO);
			break;
		case 0xf6: /* FDECSTP */
			set_top(f, top - 1);
			break;
		case 0xf7: /* FINCSTP */
			set_top(f, top + 1);
			break;
		case 0xd0: /* FNOP */
			return 1;
		default:
			return 0;
		}
		break;
	default:
		return fast_arith_reg(f, esc, modrm);
	}
	f->fsw &= ~FSW_C1;
	return 1;
}

/* ---- memory forms on a small host stub ---- */

enum { MC_NONE, MC_ARITH, MC_COM, MC_LOAD, MC_ST, MC_STP };

/* By escape byte and ModRM.reg. */
static const uint8_t mem_class[8][8] = {
	{MC_ARITH, MC_ARITH, MC_COM, MC_COM, MC_ARITH, MC_ARITH, MC_ARITH, MC_ARITH}, /* D8 m32fp */
	{MC_LOAD, 0, MC_ST, MC_STP, 0, 0, 0, 0},                                     /* D9 */
	{MC_ARITH, MC_ARITH, MC_COM, MC_COM, MC_ARITH, MC_ARITH, MC_ARITH, MC_ARITH}, /* DA m32int */
	{MC_LOAD, 0, MC_ST, MC_STP, 0, MC_LOAD, 0, MC_STP},                          /* DB */
	{MC_ARITH, MC_ARITH, MC_COM, MC_COM, MC_ARITH, MC_ARITH, MC_ARITH, MC_ARITH}, /* DC m64fp */
	{MC_LOAD, 0, MC_ST, MC_STP, 0, 0, 0, 0},                                     /* DD */
	{MC_ARITH, MC_ARITH, MC_COM, MC_COM, MC_ARITH, MC_ARITH, MC_ARITH, MC_ARITH}, /* DE m16int */
	{MC_LOAD, 0, MC_ST, MC_STP, MC_LOAD, MC_LOAD, MC_STP, MC_STP},               /* DF */
};

/* The frame of every stub, without FNINIT (~40 ns each on the
 * development machines, twice per instruction) or an unconditional FNCLEX
 * (~18 ns): the x87 stack is empty at a call (the ABI), so the stub only
 * clears exception flags something left set, saves the host's control
 * word (callee-saved) at 2(%rdx) and loads the guest's from (%rdx); after
 * the instruction it clears a pending unmasked exception before the next
 * waiting instruction could trap on it, and at the end frees the (at most
 * two) registers it left and puts the host's control word back. The
 * exception flags a masked exception left stay set (the status word is
 * caller-saved); the next stub's prologue clears them. */
__asm__(".macro x87_stub_enter\n"
	".byte 0xdf, 0xe0, 0xa8, 0x3f, 0x74, 0x02, 0xdb, 0xe2\n" /* fnstsw %ax; test $0x3f, %al; jz 1f; fnclex; 1: */
	".byte 0xd9, 0x7a, 0x02, 0xd9, 0x2a\n"                   /* fnstcw 2(%rdx); fldcw (%rdx) */
	".endm\n"
	".macro x87_stub_status\n"
	".byte 0xdf, 0xe0, 0xa8, 0x80, 0x74, 0x02, 0xdb, 0xe2\n" /* fnstsw %ax; test $0x80, %al; jz 1f; fnclex; 1: */
	".endm\n"
	".macro x87_stub_leave\n"
	".byte 0xdd, 0xc0, 0xdd, 0xc1\n"                         /* ffree %st(0); ffree %st(1) */
	".byte 0xd9, 0x6a, 0x02, 0xc3\n"                         /* fldcw 2(%rdx); ret */
	".endm\n");

/* 64 stubs of 64 bytes, by escape byte and ModRM.reg: uint16_t fn(st0 in
 * and new ST(0) out at rdi, operand at rsi, control words at rdx: the
 * guest's, then room for the host's) returns the host's status word. The
 * ones that leave a new ST(0) (arithmetic, loads) store it back with
 * FSTPT. */
__asm__(".pushsection .text\n"
	".balign 64\n"
	".globl x87_mini_stubs\n"
	".hidden x87_mini_stubs\n"
	".type x87_mini_stubs, @function\n"
	"x87_mini_stubs:\n"
	".irp esc, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	".set x87_r, 0\n"
	".rept 8\n"
	".set x87_top, (\\esc == 0xd8 || \\esc == 0xda || \\esc == 0xdc || \\esc == 0xde) && x87_r != 2 && x87_r != 3\n"
	".set x87_top, x87_top || (x87_r == 0 && \\esc != 0xd8 && \\esc != 0xda && \\esc != 0xdc && \\esc != 0xde)\n"
	".set x87_top, x87_top || (\\esc == 0xdb && x87_r == 5) || (\\esc == 0xdf && (x87_r == 4 || x87_r == 5))\n"
	"x87_stub_enter\n"
	".byte 0xdb, 0x2f\n"                                   /* fldt (%rdi) */
	".byte \\esc, (x87_r << 3) | 6\n"                       /* the instruction on (%rsi) */
	"x87_stub_status\n"
	".if x87_top\n"
	".byte 0xdb, 0x3f\n"                                   /* fstpt (%rdi) */
	".endif\n"
	"x87_stub_leave\n"
	".balign 64, 0xcc\n"
	".set x87_r, x87_r + 1\n"
	".endr\n"
	".endr\n"
	".size x87_mini_stubs, . - x87_mini_stubs\n"
	".popsection\n");

void x87_mini_stubs(void);
typedef uint16_t (*x87_mini_fn)(void *st0, void *mem, uint16_t cw[2]);

/* The tag FNSAVE derives from a register's contents (SDM Vol. 1, 8.1.7):
 * zero, valid (normal), or special (NaN, infinity, denormal, and the
 * unsupported encodings). */
int x87_classify(const uint8_t *r)
{
	uint64_t m;
	uint16_t se;
	memcpy(&m, r, 8);
	memcpy(&se, r + 8, 2);
	int e = se & 0x7fff;
	if (e == 0)
		return m ? 2 : TAG_ZERO;
	if (e == 0x7fff || !(m >> 63))
		return 2;
	return TAG_VALID;
}

/* FLD m32fp/m64fp of a normal number or zero, and FST/FSTP m32fp/m64fp
 * of a value the format holds exactly (a zero, or a normal whose
 * exponent fits and whose low mantissa bits are zero): the conversion is
 * then exact and raises nothing (SDM Vol. 1, 4.8.3; FLD: "#D if the
 * source is a denormal", "#IA if an SNaN"; FST: #P, #O, #U only when the
 * value must be rounded), so it is done here in C, the stub's C1 = 0
 * included. Anything else — denormals, NaNs, infinities, rounding —
 * returns 0 for the host stub. */
static int fast_move(struct fpu *f, int esc, int reg, uint8_t *mem, int top)
{
	int dbl = (esc & 7) == 5, r0 = top, rn = (top - 1) & 7;
	const int fb = dbl ? 52 : 23, eb = dbl ? 11 : 8, bias = dbl ? 1023 : 127;
	const uint32_t emax = (1u << eb) - 1;
	if (reg == 0) { /* FLD */
		uint64_t v = 0;
		memcpy(&v, mem, dbl ? 8 : 4);
		uint64_t frac = v & ((1ull << fb) - 1);
		uint32_t e = (uint32_t)(v >> fb) & emax;
		uint16_t sign = (uint16_t)((v >> (fb + eb)) & 1) << 15;
		if (e == emax || (e == 0 && frac))
			return 0;
		if (e == 0)
			push_const(f, rn, 0, sign, TAG_ZERO);
		else
			push_const(f, rn, 1ull << 63 | frac << (63 - fb), (uint16_t)(sign | (e - (uint32_t)bias + 16383)),
				   TAG_VALID);
	} else { /* FST, FSTP */
		uint64_t m;
		uint16_t se;
		memcpy(&m, &f->st[r0], 8);
		memcpy(&se, (uint8_t *)&f->st[r0] + 8, 2);
		int t = tag(f, r0);
		uint64_t sign = (uint64_t)(se >> 15) << (fb + eb), v;
		if (t == TAG_ZERO && (se & 0x7fff) == 0 && m == 0) {
			v = sign;
		} else if (t == TAG_VALID && (m >> 63) && !(m & ((1ull << (63 - fb)) - 1))) {
			int32_t e = (int32_t)(se & 0x7fff) - 16383 + bias;
			if (e < 1 || e >= (int32_t)emax)
				return 0;
			v = sign | (uint64_t)e << fb | ((m >> (63 - fb)) & ((1ull << fb) - 1));
		} else {
			return 0;
		}
		memcpy(mem, &v, dbl ? 8 : 4);
		if (reg == 3) {
			set_tag(f, r0, TAG_EMPTY);
			set_top(f, top + 1);
		}
	}
	f->fsw &= ~FSW_C1;
	return 1;
}

int x87_fast_mem(struct fpu *f, uint8_t esc, uint8_t modrm, uint8_t *mem, uint16_t *raised)
{
	int reg = (modrm >> 3) & 7, cls = mem_class[esc & 7][reg];
	int top = fpu_top(f), r0 = top, rn = (top - 1) & 7;
	if (cls == MC_NONE)
		return 0;
	if (cls == MC_LOAD ? tag(f, rn) != TAG_EMPTY : tag(f, r0) == TAG_EMPTY)
		return 0;
	if (((esc & 7) == 1 || (esc & 7) == 5) && (reg == 0 || reg == 2 || reg == 3) && fast_move(f, esc, reg, mem, top)) {
		*raised = 0;
		x87_update_es(f);
		return 1;
	}
	uint8_t st[16] = {0};
	memcpy(st, &f->st[r0], 10);
	uint16_t cw[2] = { f->fcw, 0 };
	uintptr_t at = (uintptr_t)&x87_mini_stubs + ((((uintptr_t)esc & 7) << 3) | (uintptr_t)reg) * 64;
	uint16_t sw = ((x87_mini_fn)at)(st, mem, cw);

	uint16_t fresh = sw & FSW_EXC;
	int held = (fresh & ~f->fcw & (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE)) != 0;
	*raised = fresh;
	uint16_t cc = cls == MC_COM ? (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3) : FSW_C1;
	f->fsw = (uint16_t)((f->fsw & ~cc) | (sw & cc) | fresh);
	switch (cls) {
	case MC_ARITH: /* unmasked: the host left ST(0) as it was, or rebiased it */
		memcpy(&f->st[r0], st, 10);
		set_tag(f, r0, x87_classify(st));
		break;
	case MC_LOAD:
		/* an unmasked #D on a load still loads (as the host shows);
		 * only an unmasked #IA (SNaN source) holds it back */
		if (!(fresh & ~f->fcw & FSW_IE)) {
			memcpy(&f->st[rn], st, 10);
			set_tag(f, rn, x87_classify(st));
			set_top(f, rn);
		}
		break;
	case MC_COM:
		if (reg == 3 && !held) {
			set_tag(f, r0, TAG_EMPTY);
			set_top(f, top + 1);
		}
		break;
	case MC_STP:
		if (!held) {
			set_tag(f, r0, TAG_EMPTY);
			set_top(f, top + 1);
		}
		break;
	default:
		break;
	}
	x87_update_es(f);
	return 1;
}

/* ---- arithmetic and comparisons between ST(0) and ST(i) ---- */

/* 24 stubs of 64 bytes, for D8, DC, DE and ModRM.reg: the host stack is
 * ST(0) = guest ST(0) (at rdi), ST(1) = guest ST(i) (at rdi+16), and the
 * instruction runs with i = 1. The result goes back to rdi (D8: ST(0))
 * or rdi+16 (DC: ST(i), DE: ST(i) then pop). */
__asm__(".pushsection .text\n"
	".balign 64\n"
	".globl x87_reg_stubs\n"
	".hidden x87_reg_stubs\n"
	".type x87_reg_stubs, @function\n"
	"x87_reg_stubs:\n"
	".irp esc, 0xd8, 0xdc, 0xde\n"
	".set x87_r, 0\n"
	".rept 8\n"
	"x87_stub_enter\n"
	".byte 0xdb, 0x6f, 0x10, 0xdb, 0x2f\n"       /* fldt 16(%rdi); fldt (%rdi) */
	".byte \\esc, 0xc1 | (x87_r << 3)\n"          /* the instruction, on ST(1) */
	"x87_stub_status\n"
	".if x87_r != 2 && x87_r != 3\n"
	".if \\esc == 0xd8\n"
	".byte 0xdb, 0x3f\n"                         /* fstpt (%rdi) */
	".elseif \\esc == 0xdc\n"
	".byte 0xdb, 0x3f, 0xdb, 0x7f, 0x10\n"       /* fstpt (%rdi); fstpt 16(%rdi) */
	".else\n"
	".byte 0xdb, 0x7f, 0x10\n"                   /* fstpt 16(%rdi) */
	".endif\n"
	".endif\n"
	"x87_stub_leave\n"
	".balign 64, 0xcc\n"
	".set x87_r, x87_r + 1\n"
	".endr\n"
	".endr\n"
	".size x87_reg_stubs, . - x87_reg_stubs\n"
	".popsection\n");

void x87_reg_stubs(void);

static int fast_arith_reg(struct fpu *f, uint8_t esc, uint8_t modrm)
{
	int e = esc == 0xd8 ? 0 : esc == 0xdc ? 1 : esc == 0xde ? 2 : -1;
	int reg = (modrm >> 3) & 7, i = modrm & 7;
	if (e < 0 || (e == 2 && reg == 3 && i != 1))
		return 0;
	int com = reg == 2 || reg == 3;
	int pops = e == 2 ? (reg == 3 ? 2 : 1) : reg == 3;
	int top = fpu_top(f), r0 = top, ri = (top + i) & 7;
	if ((pops && i == 0) || tag(f, r0) == TAG_EMPTY || tag(f, ri) == TAG_EMPTY)
		return 0;
	uint8_t st[32] = {0};
	memcpy(st, &f->st[r0], 10);
	memcpy(st + 16, &f->st[ri], 10);
	uint16_t cw[2] = { f->fcw, 0 };
	uintptr_t at = (uintptr_t)&x87_reg_stubs + (uintptr_t)(e * 8 + reg) * 64;
	uint16_t sw = ((x87_mini_fn)at)(st, NULL, cw);
	uint16_t fresh = sw & FSW_EXC;
	/* an unmasked exception: let the full round trip do what the
	 * hardware does with the stack (nothing has changed yet) */
	if (fresh & ~f->fcw & (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE))
		return 0;
	uint16_t cc = com ? (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3) : FSW_C1;
	f->fsw = (uint16_t)((f->fsw & ~cc) | (sw & cc) | fresh);
	if (!com) {
		const uint8_t *res = e == 0 ? st : st + 16;
		int dst = e == 0 ? r0 : ri;
		memcpy(&f->st[dst], res, 10);
		set_tag(f, dst, x87_classify(res));
	}
	for (int k = 0; k < pops; k++)
		set_tag(f, (top + k) & 7, TAG_EMPTY);
	set_top(f, top + pops);
	x87_update_es(f);
	return 1;
}
