/* Handlers: two-operand and one-operand integer arithmetic and logic
 * (ADD ADC SUB SBB AND OR XOR CMP TEST INC DEC NEG NOT).
 *
 * Results and flags come from the host's own instructions (flags.h).
 * Memory destinations are read, computed, written (rmw_read/rmw_write in
 * flags.h): the segment is checked for writing before the read, and the
 * write may still fault (#PF), so the new flags are committed only after
 * it succeeded.
 * LOCK is legal on the memory forms; the decoder rejects it elsewhere
 * (#UD), and one virtual CPU needs nothing more for atomicity.
 */
#include "cpu/exec.h"
#include "cpu/flags.h"

/* dst = dst op src */
#define ALU_BINARY(name)                                                            \
	static void op_##name(struct cpu *cpu, const struct insn *in)               \
	{                                                                           \
		uint32_t old = cpu->eflags, lin = 0;                                \
		uint32_t a = rmw_read(cpu, in, &lin), b = op_read(cpu, in, 1);      \
		rmw_write(cpu, in, lin, alu_##name(cpu, in->op[0].size, a, b), old); \
	}                                                                           \
	static void op_##name##_rr(struct cpu *cpu, const struct insn *in)          \
	{                                                                           \
		int sz = in->op[0].size;                                            \
		uint32_t a = reg_read(cpu, in->op[0].reg, sz);                      \
		uint32_t b = reg_read(cpu, in->op[1].reg, sz);                      \
		reg_write(cpu, in->op[0].reg, sz, alu_##name(cpu, sz, a, b));       \
	}                                                                           \
	static void op_##name##_ri(struct cpu *cpu, const struct insn *in)          \
	{                                                                           \
		int sz = in->op[0].size;                                            \
		uint32_t a = reg_read(cpu, in->op[0].reg, sz);                      \
		reg_write(cpu, in->op[0].reg, sz, alu_##name(cpu, sz, a, in->imm)); \
	}                                                                           \
	/* the common 32-bit register forms, without size dispatch */            \
	static void op_##name##_rr32(struct cpu *cpu, const struct insn *in)        \
	{                                                                           \
		uint32_t *d = &cpu->r[in->op[0].reg];                               \
		*d = alu_##name(cpu, 4, *d, cpu->r[in->op[1].reg]);                 \
	}                                                                           \
	static void op_##name##_ri32(struct cpu *cpu, const struct insn *in)        \
	{                                                                           \
		uint32_t *d = &cpu->r[in->op[0].reg];                               \
		*d = alu_##name(cpu, 4, *d, in->imm);                               \
	}                                                                           \
	static insn_fn sel_##name(const struct insn *in)                            \
	{                                                                           \
		int r32 = in->op[0].kind == OPK_REG && in->op[0].size == 4;         \
		if (in->op[0].kind == OPK_REG && in->op[1].kind == OPK_REG)         \
			return r32 ? op_##name##_rr32 : op_##name##_rr;             \
		if (in->op[0].kind == OPK_REG && in->op[1].kind == OPK_IMM)         \
			return r32 ? op_##name##_ri32 : op_##name##_ri;             \
		return op_##name;                                                   \
	}

ALU_BINARY(add)
ALU_BINARY(adc)
ALU_BINARY(sub)
ALU_BINARY(sbb)
ALU_BINARY(and)
ALU_BINARY(or)
ALU_BINARY(xor)

/* CMP and TEST: flags only, no write, so no ordering concern. */
static void op_cmp(struct cpu *cpu, const struct insn *in)
{
	alu_sub(cpu, in->op[0].size, op_read(cpu, in, 0), op_read(cpu, in, 1));
}

static void op_test(struct cpu *cpu, const struct insn *in)
{
	alu_and(cpu, in->op[0].size, op_read(cpu, in, 0), op_read(cpu, in, 1));
}

static void op_cmp_rr32(struct cpu *cpu, const struct insn *in)
{
	alu_sub(cpu, 4, cpu->r[in->op[0].reg], cpu->r[in->op[1].reg]);
}

static void op_cmp_ri32(struct cpu *cpu, const struct insn *in)
{
	alu_sub(cpu, 4, cpu->r[in->op[0].reg], in->imm);
}

static void op_test_rr32(struct cpu *cpu, const struct insn *in)
{
	alu_and(cpu, 4, cpu->r[in->op[0].reg], cpu->r[in->op[1].reg]);
}

static insn_fn sel_cmp(const struct insn *in)
{
	if (in->op[0].kind != OPK_REG || in->op[0].size != 4)
		return op_cmp;
	return in->op[1].kind == OPK_REG ? op_cmp_rr32 : in->op[1].kind == OPK_IMM ? op_cmp_ri32 : op_cmp;
}

static insn_fn sel_test(const struct insn *in)
{
	if (in->op[0].kind == OPK_REG && in->op[0].size == 4 && in->op[1].kind == OPK_REG)
		return op_test_rr32;
	return op_test;
}

#define ALU_UNARY(name)                                                             \
	static void op_##name(struct cpu *cpu, const struct insn *in)               \
	{                                                                           \
		uint32_t old = cpu->eflags, lin = 0;                                \
		uint32_t a = rmw_read(cpu, in, &lin);                               \
		rmw_write(cpu, in, lin, alu_##name(cpu, in->op[0].size, a, 0), old); \
	}

ALU_UNARY(inc)
ALU_UNARY(dec)
ALU_UNARY(neg)

static void op_inc_r32(struct cpu *cpu, const struct insn *in)
{
	uint32_t *d = &cpu->r[in->op[0].reg];
	*d = alu_inc(cpu, 4, *d, 0);
}

static void op_dec_r32(struct cpu *cpu, const struct insn *in)
{
	uint32_t *d = &cpu->r[in->op[0].reg];
	*d = alu_dec(cpu, 4, *d, 0);
}

static insn_fn sel_inc(const struct insn *in)
{
	return in->op[0].kind == OPK_REG && in->op[0].size == 4 ? op_inc_r32 : op_inc;
}

static insn_fn sel_dec(const struct insn *in)
{
	return in->op[0].kind == OPK_REG && in->op[0].size == 4 ? op_dec_r32 : op_dec;
}

/* NOT changes no flags (SDM NOT). */
static void op_not(struct cpu *cpu, const struct insn *in)
{
	uint32_t lin = 0;
	uint32_t a = rmw_read(cpu, in, &lin);
	rmw_write(cpu, in, lin, ~a, cpu->eflags);
}

const struct op_entry ops_alu_table[] = {
	{ZYDIS_MNEMONIC_ADD, op_add, 0, sel_add},
	{ZYDIS_MNEMONIC_ADC, op_adc, 0, sel_adc},
	{ZYDIS_MNEMONIC_SUB, op_sub, 0, sel_sub},
	{ZYDIS_MNEMONIC_SBB, op_sbb, 0, sel_sbb},
	{ZYDIS_MNEMONIC_AND, op_and, 0, sel_and},
	{ZYDIS_MNEMONIC_OR, op_or, 0, sel_or},
	{ZYDIS_MNEMONIC_XOR, op_xor, 0, sel_xor},
	{ZYDIS_MNEMONIC_CMP, op_cmp, 0, sel_cmp},
	{ZYDIS_MNEMONIC_TEST, op_test, 0, sel_test},
	{ZYDIS_MNEMONIC_INC, op_inc, 0, sel_inc},
	{ZYDIS_MNEMONIC_DEC, op_dec, 0, sel_dec},
	{ZYDIS_MNEMONIC_NEG, op_neg, 0, 0},
	{ZYDIS_MNEMONIC_NOT, op_not, 0, 0},
	{0, 0, 0, 0},
};
