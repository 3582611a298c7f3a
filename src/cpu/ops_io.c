/* Handlers: port I/O (SDM Vol. 2 IN, OUT) and the I/O permission check
 * that INS/OUTS share (io.h). */
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/io.h"

/* SDM Vol. 1, 19.5.1-19.5.2: in protected mode with CPL > IOPL, and
 * always in virtual-8086 mode, every bit of the TSS I/O permission bitmap
 * for port..port+size-1 must be clear. The bitmap lives in a 32-bit TSS
 * only (type 9 available / 11 busy); its offset is the word at TSS+0x66.
 * The processor reads the two bytes holding the bits; a byte beyond the
 * TSS limit counts as all ones. */
void io_check(struct cpu *cpu, uint16_t port, int size)
{
	int vm = (cpu->eflags & FL_VM) != 0;
	if (!(cpu->cr0 & CR0_PE))
		return;
	if (!vm && cpu->cpl <= ((cpu->eflags & FL_IOPL) >> FL_IOPL_SHIFT))
		return;
	const struct seg *tr = &cpu->tr;
	int type = tr->attr & SEGA_TYPE;
	if ((tr->attr & SEGA_S) || (type != 9 && type != 11) || tr->limit < 0x67)
		raise_gp(cpu, 0);
	uint32_t base = lin_read(cpu, tr->base + 0x66, 2, ACC_R | ACC_SYS);
	uint32_t off = base + (port >> 3);
	if (off + 1 > tr->limit)
		raise_gp(cpu, 0);
	uint32_t bits = lin_read(cpu, tr->base + off, 2, ACC_R | ACC_SYS);
	uint32_t want = ((1u << size) - 1) << (port & 7);
	if (bits & want)
		raise_gp(cpu, 0);
}

static uint16_t port_of(struct cpu *cpu, const struct insn *in, int n)
{
	/* imm8 form: the port is the zero-extended immediate; else DX */
	if (in->op[n].kind == OPK_IMM)
		return (uint16_t)(in->imm & 0xff);
	return (uint16_t)cpu->r[R_EDX];
}

static void op_in(struct cpu *cpu, const struct insn *in)
{
	int size = in->op[0].size;
	uint16_t port = port_of(cpu, in, 1);
	io_check(cpu, port, size);
	uint32_t v = cpu->bus->pio_read(cpu->bus->opaque, port, size);
	reg_write(cpu, R_EAX, size, v);
	debug_io_access(cpu, port, size); /* I/O breakpoints (CR4.DE) */
}

static void op_out(struct cpu *cpu, const struct insn *in)
{
	int size = in->op[1].size;
	uint16_t port = port_of(cpu, in, 0);
	io_check(cpu, port, size);
	cpu->bus->pio_write(cpu->bus->opaque, port, size, reg_read(cpu, R_EAX, size));
	debug_io_access(cpu, port, size);
}

const struct op_entry ops_io_table[] = {
	{ZYDIS_MNEMONIC_IN, op_in, 0, 0},
	{ZYDIS_MNEMONIC_OUT, op_out, 0, 0},
	{0, 0, 0, 0},
};
