/* Handlers: port I/O. */
#include "cpu/exec.h"

static void op_out(struct cpu *cpu, const struct insn *in)
{
	uint16_t port = (uint16_t)op_read(cpu, in, 0);
	cpu->bus->pio_write(cpu->bus->opaque, port, in->op[1].size, op_read(cpu, in, 1));
}

static void op_in(struct cpu *cpu, const struct insn *in)
{
	uint16_t port = (uint16_t)op_read(cpu, in, 1);
	op_write(cpu, in, 0, cpu->bus->pio_read(cpu->bus->opaque, port, in->op[0].size));
}

const struct op_entry ops_io_table[] = {
	{ZYDIS_MNEMONIC_OUT, op_out, 0, 0},
	{ZYDIS_MNEMONIC_IN, op_in, 0, 0},
	{0, 0, 0, 0},
};
