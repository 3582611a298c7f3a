/* Handlers: bit test and scan (BT BTS BTR BTC BSF BSR).
 *
 * The host's instructions compute the flags (CF = the bit; OF/SF/AF/PF are
 * undefined in the SDM and come out as the host sets them) and BSF/BSR's
 * destination for a zero source (left unchanged, as Intel and AMD hardware
 * do it). A register bit offset with a memory operand addresses memory by
 * the signed offset (SDM BT: "bit base" + offset DIV size), an immediate
 * offset is taken modulo the operand size.
 */
#include "cpu/exec.h"
#include "cpu/flags.h"

#define BT_ASM(op, sfx, mod, a, bit, ax)                                                 \
	__asm__(FLAGS_ASM_IN op sfx " %" mod "[vb], %" mod "[va]" FLAGS_ASM_OUT          \
		: [va] "+r"(a), "+a"(ax)                                                  \
		: [vb] "r"(bit)                                                           \
		: "cc")

#define BT_HOST(name)                                                                    \
	static inline uint32_t bt_##name(struct cpu *cpu, int size, uint32_t a, uint32_t bit) \
	{                                                                                \
		uint32_t ax = flags_host_in(cpu->eflags);                                \
		if (size == 2) {                                                         \
			BT_ASM(#name, "w", "w", a, bit, ax);                             \
			a &= 0xffffu;                                                    \
		} else {                                                                 \
			BT_ASM(#name, "l", "k", a, bit, ax);                             \
		}                                                                        \
		cpu->eflags = flags_host_out(cpu->eflags, ax);                           \
		return a;                                                                \
	}

BT_HOST(bt)
BT_HOST(bts)
BT_HOST(btr)
BT_HOST(btc)

/* Where a memory bit string operand lives: the operand-sized unit that
 * holds the bit, and the bit's number inside it. */
static inline uint32_t bt_mem_addr(struct cpu *cpu, const struct insn *in, uint32_t *bit)
{
	int sz = in->op[0].size;
	uint32_t ea = insn_ea(cpu, in);
	if (in->op[1].kind == OPK_IMM) {
		*bit = in->imm & (uint32_t)(sz * 8 - 1);
		return ea;
	}
	int32_t off = sz == 2 ? (int16_t)reg_read(cpu, in->op[1].reg, 2) : (int32_t)cpu->r[in->op[1].reg];
	int shift = sz == 2 ? 4 : 5;
	/* arithmetic shift: floor division for negative offsets */
	int32_t unit = off >> shift;
	*bit = (uint32_t)off & (uint32_t)(sz * 8 - 1);
	ea += (uint32_t)unit * (uint32_t)sz;
	return in->asize == 2 ? (ea & 0xffff) : ea;
}

static void op_bt(struct cpu *cpu, const struct insn *in)
{
	int sz = in->op[0].size;
	uint32_t a, bit;
	if (in->op[0].kind == OPK_REG) {
		a = reg_read(cpu, in->op[0].reg, sz);
		bit = op_read(cpu, in, 1);
	} else {
		uint32_t addr = bt_mem_addr(cpu, in, &bit);
		a = mem_read(cpu, in->seg, addr, sz);
	}
	bt_bt(cpu, sz, a, bit);
}

#define BT_MODIFY(name)                                                                  \
	static void op_##name(struct cpu *cpu, const struct insn *in)                    \
	{                                                                                \
		int sz = in->op[0].size;                                                 \
		uint32_t bit;                                                            \
		if (in->op[0].kind == OPK_REG) {                                         \
			uint32_t a = reg_read(cpu, in->op[0].reg, sz);                   \
			bit = op_read(cpu, in, 1);                                       \
			reg_write(cpu, in->op[0].reg, sz, bt_##name(cpu, sz, a, bit));   \
			return;                                                          \
		}                                                                        \
		uint32_t addr = bt_mem_addr(cpu, in, &bit);                              \
		/* checked for writing before the read (rmw_lin) */                      \
		uint32_t lin = rmw_lin(cpu, in->seg, addr, sz);                          \
		uint32_t a = lin_read(cpu, lin, sz, ACC_R);                              \
		uint32_t old = cpu->eflags;                                              \
		uint32_t r = bt_##name(cpu, sz, a, bit);                                 \
		uint32_t nf = cpu->eflags;                                               \
		cpu->eflags = old; /* the write may fault: flags after it */             \
		lin_write(cpu, lin, sz, r, ACC_W);                                       \
		cpu->eflags = nf;                                                        \
	}

BT_MODIFY(bts)
BT_MODIFY(btr)
BT_MODIFY(btc)

#define BS_ASM(op, sfx, mod, d, s, ax)                                                   \
	__asm__(FLAGS_ASM_IN op sfx " %" mod "[vs], %" mod "[vd]" FLAGS_ASM_OUT          \
		: [vd] "+r"(d), "+a"(ax)                                                  \
		: [vs] "r"(s)                                                             \
		: "cc")

#define BIT_SCAN(name)                                                                   \
	static void op_##name(struct cpu *cpu, const struct insn *in)                    \
	{                                                                                \
		int sz = in->op[0].size;                                                 \
		uint32_t s = op_read(cpu, in, 1);                                        \
		uint32_t d = reg_read(cpu, in->op[0].reg, sz);                           \
		uint32_t ax = flags_host_in(cpu->eflags);                                \
		if (sz == 2)                                                             \
			BS_ASM(#name, "w", "w", d, s, ax);                               \
		else                                                                     \
			BS_ASM(#name, "l", "k", d, s, ax);                               \
		cpu->eflags = flags_host_out(cpu->eflags, ax);                           \
		reg_write(cpu, in->op[0].reg, sz, d);                                    \
	}

BIT_SCAN(bsf)
BIT_SCAN(bsr)

const struct op_entry ops_bit_table[] = {
	{ZYDIS_MNEMONIC_BT, op_bt, 0, 0},
	{ZYDIS_MNEMONIC_BTS, op_bts, 0, 0},
	{ZYDIS_MNEMONIC_BTR, op_btr, 0, 0},
	{ZYDIS_MNEMONIC_BTC, op_btc, 0, 0},
	{ZYDIS_MNEMONIC_BSF, op_bsf, 0, 0},
	{ZYDIS_MNEMONIC_BSR, op_bsr, 0, 0},
	{0, 0, 0, 0},
};
