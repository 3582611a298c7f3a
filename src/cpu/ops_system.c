/* Handlers: system instructions. */
#include "cpu/exec.h"

static void op_hlt(struct cpu *cpu, const struct insn *in)
{
	if (cpu->cpl != 0)
		raise_gp(cpu, 0);
	cpu->halted = 1;
	cpu->block_break = 1;
}

const struct op_entry ops_system_table[] = {
	{ZYDIS_MNEMONIC_HLT, op_hlt, INSN_ENDS_BLOCK, 0},
	{0, 0, 0, 0},
};
