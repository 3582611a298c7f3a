/* Handlers: miscellany (SDM Vol. 2 BOUND). */
#include "cpu/exec.h"

/* BOUND r, m16&16 / m32&32: #BR (a fault, no error code) unless
 * lower <= index <= upper, signed. Both bounds are read first. */
static void op_bound(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	if (in->op[1].kind != OPK_MEM)
		raise_ud(cpu);
	uint32_t ea = insn_ea(cpu, in);
	uint32_t ea2 = ea + (uint32_t)size;
	if (in->asize == 2)
		ea2 &= 0xffff;
	uint32_t lo = mem_read(cpu, in->seg, ea, size);
	uint32_t hi = mem_read(cpu, in->seg, ea2, size);
	uint32_t idx = reg_read(cpu, in->op[0].reg, size);
	int32_t l, h, i;
	if (size == 2) {
		l = (int16_t)lo;
		h = (int16_t)hi;
		i = (int16_t)idx;
	} else {
		l = (int32_t)lo;
		h = (int32_t)hi;
		i = (int32_t)idx;
	}
	if (i < l || i > h)
		cpu_raise(cpu, EXC_BR, 0, 0);
}

const struct op_entry ops_misc_table[] = {
	{ZYDIS_MNEMONIC_BOUND, op_bound, 0, 0},
	{0, 0, 0, 0},
};
