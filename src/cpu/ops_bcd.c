/* Handlers: decimal adjust (DAA DAS AAA AAS AAM AAD).
 *
 * These do not exist in 64-bit mode, so they are computed in C. The
 * defined results follow the SDM pseudo-code; the flags the SDM leaves
 * undefined are made to match what the host processor produces natively
 * in 32-bit mode, measured exhaustively (every AX, CF, AF; the other input
 * flags do not matter) with a -m32 program on an AMD EPYC host:
 *   DAA/DAS  OF = overflow of the one 8-bit add/sub that takes the old AL
 *            to the new one;
 *   AAA/AAS  SF, ZF, PF, OF = those of the 16-bit add/sub AX +/- 0x106
 *            (or +/- 0 when no adjustment is made), before AL is masked;
 *   AAM      OF = AF = CF = 0;
 *   AAD      OF, AF, CF = those of the 8-bit add AL + AH * imm.
 * tests/test_diff.c checks them against the host on every run.
 */
#include "cpu/exec.h"

static inline uint32_t szp8(uint32_t v)
{
	v &= 0xffu;
	return (v == 0 ? FL_ZF : 0) | (v & 0x80u ? FL_SF : 0) | (__builtin_parity(v) ? 0 : FL_PF);
}

static inline void set_arith(struct cpu *cpu, uint32_t f)
{
	cpu->eflags = (cpu->eflags & ~FL_ARITH) | f;
}

/* SDM DAA */
static void op_daa(struct cpu *cpu, const struct insn *in)
{
	uint32_t old = cpu->r[R_EAX] & 0xffu, al = old, f = 0;
	int old_cf = (cpu->eflags & FL_CF) != 0;
	if ((al & 0xf) > 9 || (cpu->eflags & FL_AF)) {
		al = (al + 6) & 0xffu;
		if (old_cf || old + 6 > 0xff)
			f |= FL_CF;
		f |= FL_AF;
	}
	if (old > 0x99 || old_cf) {
		al = (al + 0x60) & 0xffu;
		f |= FL_CF;
	} else {
		f &= ~FL_CF;
	}
	uint32_t add = (al - old) & 0xffu;
	if ((old ^ al) & (add ^ al) & 0x80u)
		f |= FL_OF;
	reg_write(cpu, R_EAX, 1, al);
	set_arith(cpu, f | szp8(al));
}

/* SDM DAS: unlike DAA, the second step never clears CF. */
static void op_das(struct cpu *cpu, const struct insn *in)
{
	uint32_t old = cpu->r[R_EAX] & 0xffu, al = old, f = 0;
	int old_cf = (cpu->eflags & FL_CF) != 0;
	if ((al & 0xf) > 9 || (cpu->eflags & FL_AF)) {
		if (old_cf || al < 6)
			f |= FL_CF;
		al = (al - 6) & 0xffu;
		f |= FL_AF;
	}
	if (old > 0x99 || old_cf) {
		al = (al - 0x60) & 0xffu;
		f |= FL_CF;
	}
	uint32_t sub = (old - al) & 0xffu;
	if ((old ^ sub) & (old ^ al) & 0x80u)
		f |= FL_OF;
	reg_write(cpu, R_EAX, 1, al);
	set_arith(cpu, f | szp8(al));
}

/* Flags of the 16-bit add/sub the host's AAA/AAS leave in SF/ZF/PF/OF. */
static inline uint32_t flags16(uint32_t r, int of)
{
	r &= 0xffffu;
	return (r == 0 ? FL_ZF : 0) | (r & 0x8000u ? FL_SF : 0) |
	       (__builtin_parity(r & 0xffu) ? 0 : FL_PF) | (of ? FL_OF : 0);
}

/* SDM AAA */
static void op_aaa(struct cpu *cpu, const struct insn *in)
{
	uint32_t ax = cpu->r[R_EAX] & 0xffffu;
	int adj = (ax & 0xf) > 9 || (cpu->eflags & FL_AF);
	uint32_t b = adj ? 0x106u : 0, r = (ax + b) & 0xffffu;
	uint32_t f = flags16(r, ((ax ^ r) & (b ^ r) & 0x8000u) != 0);
	if (adj)
		f |= FL_AF | FL_CF;
	reg_write(cpu, R_EAX, 2, r & 0xff0fu);
	set_arith(cpu, f);
}

/* SDM AAS */
static void op_aas(struct cpu *cpu, const struct insn *in)
{
	uint32_t ax = cpu->r[R_EAX] & 0xffffu;
	int adj = (ax & 0xf) > 9 || (cpu->eflags & FL_AF);
	uint32_t b = adj ? 0x106u : 0, r = (ax - b) & 0xffffu;
	uint32_t f = flags16(r, ((ax ^ b) & (ax ^ r) & 0x8000u) != 0);
	if (adj)
		f |= FL_AF | FL_CF;
	reg_write(cpu, R_EAX, 2, r & 0xff0fu);
	set_arith(cpu, f);
}

/* SDM AAM: imm8 0 is #DE. */
static void op_aam(struct cpu *cpu, const struct insn *in)
{
	uint32_t base = in->imm & 0xffu;
	if (base == 0)
		cpu_raise(cpu, EXC_DE, 0, 0);
	uint32_t al = cpu->r[R_EAX] & 0xffu;
	uint32_t q = al / base, r = al % base;
	reg_write(cpu, R_EAX, 2, (q << 8) | r);
	set_arith(cpu, szp8(r));
}

/* SDM AAD */
static void op_aad(struct cpu *cpu, const struct insn *in)
{
	uint32_t base = in->imm & 0xffu;
	uint32_t al = cpu->r[R_EAX] & 0xffu, ah = (cpu->r[R_EAX] >> 8) & 0xffu;
	uint32_t b = (ah * base) & 0xffu, sum = al + b, r = sum & 0xffu;
	uint32_t f = szp8(r);
	if (sum > 0xff)
		f |= FL_CF;
	if ((al ^ r) & (b ^ r) & 0x80u)
		f |= FL_OF;
	if ((al ^ b ^ r) & 0x10u)
		f |= FL_AF;
	reg_write(cpu, R_EAX, 2, r);
	set_arith(cpu, f);
}

const struct op_entry ops_bcd_table[] = {
	{ZYDIS_MNEMONIC_DAA, op_daa, 0, 0},
	{ZYDIS_MNEMONIC_DAS, op_das, 0, 0},
	{ZYDIS_MNEMONIC_AAA, op_aaa, 0, 0},
	{ZYDIS_MNEMONIC_AAS, op_aas, 0, 0},
	{ZYDIS_MNEMONIC_AAM, op_aam, 0, 0},
	{ZYDIS_MNEMONIC_AAD, op_aad, 0, 0},
	{0, 0, 0, 0},
};
