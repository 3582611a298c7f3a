/* Handlers: near control transfers (SDM Vol. 2 JMP, Jcc, JCXZ/JECXZ,
 * LOOP/LOOPcc, CALL, RET). Far forms share the JMP/CALL/RET mnemonics:
 * they are decoded here and handed to far_jmp/far_call/far_ret of the
 * protection code (ops_far.c), which does the descriptor work.
 *
 * Every target goes through branch_near(), which truncates it to 16 bits
 * for a 16-bit operand size and raises #GP(0) beyond the CS limit, before
 * anything else (the stack) changes. */
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/seg.h"

/* RETF (CA/CB) in every mode: ops_far.c (JMP/CALL far are in seg.h). */
void far_ret(struct cpu *cpu, uint32_t pop_bytes, const struct insn *in);

/* An m16:16 / m16:32 far pointer: offset first, then the selector. */
static void read_far_ptr(struct cpu *cpu, const struct insn *in, uint16_t *sel, uint32_t *off)
{
	uint32_t ea = insn_ea(cpu, in);
	uint32_t ea2 = ea + in->osize;
	if (in->asize == 2)
		ea2 &= 0xffff;
	*off = mem_read(cpu, in->seg, ea, in->osize);
	*sel = (uint16_t)mem_read(cpu, in->seg, ea2, 2);
}

/* FF /3 (CALL m16:xx) and FF /5 (JMP m16:xx) */
static int is_far_mem(const struct insn *in)
{
	int r = (in->modrm >> 3) & 7;
	return in->opcode == 0xff && in->op[0].kind == OPK_MEM && (r == 3 || r == 5);
}

/* ---- JMP ---- */

static void op_jmp_rel(struct cpu *cpu, const struct insn *in)
{
	branch_near(cpu, cpu->next_eip + in->imm, in->osize);
}

static void op_jmp(struct cpu *cpu, const struct insn *in)
{
	uint16_t sel;
	uint32_t off;
	if (in->op[0].kind == OPK_PTR) {
		far_jmp(cpu, (uint16_t)in->imm2, in->imm, in);
	} else if (is_far_mem(in)) {
		read_far_ptr(cpu, in, &sel, &off);
		far_jmp(cpu, sel, off, in);
	} else {
		branch_near(cpu, op_read(cpu, in, 0), in->osize);
	}
}

static insn_fn sel_jmp(const struct insn *in)
{
	return in->op[0].kind == OPK_REL ? op_jmp_rel : op_jmp;
}

/* ---- Jcc, JCXZ/JECXZ, LOOP ---- */

static void op_jcc(struct cpu *cpu, const struct insn *in)
{
	if (cond_true(cpu->eflags, in->opcode & 0xf))
		branch_near(cpu, cpu->next_eip + in->imm, in->osize);
}

/* The address size picks CX or ECX (SDM JCXZ, LOOP). */
static uint32_t count_reg(const struct cpu *cpu, const struct insn *in)
{
	return in->asize == 2 ? (cpu->r[R_ECX] & 0xffff) : cpu->r[R_ECX];
}

static void op_jcxz(struct cpu *cpu, const struct insn *in)
{
	if (count_reg(cpu, in) == 0)
		branch_near(cpu, cpu->next_eip + in->imm, in->osize);
}

/* LOOP/LOOPE/LOOPNE: decrement the count (flags untouched), branch if
 * it is not zero (and ZF agrees). The target is checked before the count
 * is written, so a #GP leaves ECX as it was. */
static void op_loop(struct cpu *cpu, const struct insn *in)
{
	uint32_t c = (count_reg(cpu, in) - 1) & (in->asize == 2 ? 0xffffu : 0xffffffffu);
	int take = c != 0;
	if (in->opcode == 0xe1)
		take = take && (cpu->eflags & FL_ZF);
	else if (in->opcode == 0xe0)
		take = take && !(cpu->eflags & FL_ZF);
	if (take)
		branch_near(cpu, cpu->next_eip + in->imm, in->osize);
	reg_write(cpu, R_ECX, in->asize, c);
}

/* ---- CALL / RET ---- */

/* CALL near: the target is checked against the CS limit before the
 * return address is pushed (SDM CALL: "IF tempEIP is not within code
 * segment limit THEN #GP(0)" precedes the push). */
static void call_near(struct cpu *cpu, const struct insn *in, uint32_t target)
{
	uint32_t ret = cpu->next_eip;
	branch_near(cpu, target, in->osize);
	push(cpu, in->osize, ret);
}

static void op_call(struct cpu *cpu, const struct insn *in)
{
	uint16_t sel;
	uint32_t off;
	switch (in->op[0].kind) {
	case OPK_REL:
		call_near(cpu, in, cpu->next_eip + in->imm);
		break;
	case OPK_PTR:
		far_call(cpu, (uint16_t)in->imm2, in->imm, in);
		break;
	default:
		if (is_far_mem(in)) {
			read_far_ptr(cpu, in, &sel, &off);
			far_call(cpu, sel, off, in);
		} else {
			call_near(cpu, in, op_read(cpu, in, 0));
		}
		break;
	}
}

/* RET near [imm16]: pop the return address, then release imm16 more
 * bytes; the target is checked before ESP moves. C3/C2 near, CB/CA far. */
static void op_ret(struct cpu *cpu, const struct insn *in)
{
	uint32_t pop_bytes = in->nop ? (in->imm & 0xffff) : 0;
	if (in->opcode == 0xca || in->opcode == 0xcb) {
		far_ret(cpu, pop_bytes, in);
		return;
	}
	uint32_t target = stack_peek(cpu, in->osize, 0);
	branch_near(cpu, target, in->osize);
	set_sp(cpu, stack_ptr(cpu) + (uint32_t)in->osize + pop_bytes);
}

#define JCC_ROWS                                                                   \
	{ZYDIS_MNEMONIC_JO, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNO, op_jcc, 0, 0},     \
	{ZYDIS_MNEMONIC_JB, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNB, op_jcc, 0, 0},     \
	{ZYDIS_MNEMONIC_JZ, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNZ, op_jcc, 0, 0},     \
	{ZYDIS_MNEMONIC_JBE, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNBE, op_jcc, 0, 0},   \
	{ZYDIS_MNEMONIC_JS, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNS, op_jcc, 0, 0},     \
	{ZYDIS_MNEMONIC_JP, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNP, op_jcc, 0, 0},     \
	{ZYDIS_MNEMONIC_JL, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNL, op_jcc, 0, 0},     \
	{ZYDIS_MNEMONIC_JLE, op_jcc, 0, 0}, {ZYDIS_MNEMONIC_JNLE, op_jcc, 0, 0}

const struct op_entry ops_branch_table[] = {
	{ZYDIS_MNEMONIC_JMP, op_jmp, INSN_ENDS_BLOCK, sel_jmp},
	JCC_ROWS,
	{ZYDIS_MNEMONIC_JCXZ, op_jcxz, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_JECXZ, op_jcxz, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_LOOP, op_loop, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_LOOPE, op_loop, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_LOOPNE, op_loop, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_CALL, op_call, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_RET, op_ret, INSN_ENDS_BLOCK, 0},
	{0, 0, 0, 0},
};
