/* The uncommon operand kinds behind op_read()/op_write(). */
#include "cpu/exec.h"

uint32_t op_read_slow(struct cpu *cpu, const struct insn *in, int n)
{
	const struct opnd *o = &in->op[n];
	switch (o->kind) {
	case OPK_SREG: return cpu->seg[o->reg].sel;
	case OPK_AGEN: return insn_ea(cpu, in);
	case OPK_REL: return cpu->next_eip + in->imm;
	case OPK_PTR: return in->imm;
	case OPK_CR:
	case OPK_DR:
	case OPK_ST:
	default:
		/* Handlers for these read them explicitly; reaching here is a
		 * decode table mistake, reported to the guest as #UD. */
		raise_ud(cpu);
	}
}

void op_write_slow(struct cpu *cpu, const struct insn *in, int n, uint32_t v)
{
	const struct opnd *o = &in->op[n];
	switch (o->kind) {
	case OPK_SREG:
		if (o->reg == S_CS)
			raise_ud(cpu); /* MOV CS is #UD (SDM MOV) */
		seg_load(cpu, o->reg, (uint16_t)v);
		/* MOV SS shadows the next instruction (the run core's); any
		 * other load ends the block only if it changed the block's
		 * mode (seg_load does that) */
		if (o->reg == S_SS) {
			cpu->inhibit_irq = 1;
			cpu->block_break = 1;
		}
		break;
	default:
		raise_ud(cpu);
	}
}
