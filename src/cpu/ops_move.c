/* Handlers: data movement. */
#include "cpu/exec.h"

static void op_mov(struct cpu *cpu, const struct insn *in)
{
	op_write(cpu, in, 0, op_read(cpu, in, 1));
}

const struct op_entry ops_move_table[] = {
	{ZYDIS_MNEMONIC_MOV, op_mov, 0, 0},
	{0, 0, 0, 0},
};
