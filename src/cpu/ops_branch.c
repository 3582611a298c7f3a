/* Handlers: near branches. */
#include "cpu/exec.h"

static void op_jmp(struct cpu *cpu, const struct insn *in)
{
	if (in->op[0].kind == OPK_REL)
		branch_near(cpu, cpu->next_eip + in->imm, in->osize);
	else if (in->op[0].kind == OPK_REG || in->op[0].kind == OPK_MEM)
		branch_near(cpu, op_read(cpu, in, 0), in->osize);
	else
		raise_ud(cpu); /* far forms: ops_far.c */
}

const struct op_entry ops_branch_table[] = {
	{ZYDIS_MNEMONIC_JMP, op_jmp, INSN_ENDS_BLOCK, 0},
	{0, 0, 0, 0},
};
