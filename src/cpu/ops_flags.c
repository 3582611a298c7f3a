/* Handlers: flag instructions (SDM Vol. 2 CLC, STC, CMC, CLD, STD, CLI,
 * STI, and the undocumented SALC that P6 processors execute). */
#include "cpu/exec.h"
#include "cpu/vme.h"

static void op_clc(struct cpu *cpu, const struct insn *in) { cpu->eflags &= ~FL_CF; }
static void op_stc(struct cpu *cpu, const struct insn *in) { cpu->eflags |= FL_CF; }
static void op_cmc(struct cpu *cpu, const struct insn *in) { cpu->eflags ^= FL_CF; }
static void op_cld(struct cpu *cpu, const struct insn *in) { cpu->eflags &= ~FL_DF; }
static void op_std(struct cpu *cpu, const struct insn *in) { cpu->eflags |= FL_DF; }

/* CLI/STI change IF in real mode, in protected mode when CPL <= IOPL,
 * in V86 mode when IOPL = 3; VIF where CR4.VME (V86) or CR4.PVI (CPL 3)
 * lets them; else #GP(0) (vme.c, SDM CLI/STI "Operation").
 * Clearing IF never makes anything deliverable: the block goes on (no
 * block_break), which keeps bt's translated code running through the
 * CLI ... POPF/STI sections kernels are full of. */
static void op_cli(struct cpu *cpu, const struct insn *in)
{
	cpu->eflags &= vme_if_is_real(cpu) ? ~FL_IF : ~FL_VIF;
}

/* STI: interrupts stay blocked until after the next instruction, but only
 * when IF was clear (SDM STI: "If IF = 0, maskable hardware interrupts
 * remain inhibited on the instruction boundary following an execution of
 * STI"). */
static void op_sti(struct cpu *cpu, const struct insn *in)
{
	if (!vme_if_is_real(cpu)) {
		/* a virtual interrupt pending: the monitor delivers it */
		if (cpu->eflags & FL_VIP)
			raise_gp(cpu, 0);
		cpu->eflags |= FL_VIF;
		return;
	}
	if (cpu->eflags & FL_IF)
		return; /* already set: nothing changes, no shadow */
	cpu->inhibit_irq = 1;
	cpu->eflags |= FL_IF;
	/* a pending interrupt may now be taken, after the shadow: the run
	 * core must look */
	cpu->block_break = 1;
}

/* SALC (D6): AL = CF ? FF : 00, flags unchanged. */
static void op_salc(struct cpu *cpu, const struct insn *in)
{
	reg_write(cpu, R_EAX, 1, (cpu->eflags & FL_CF) ? 0xff : 0);
}

const struct op_entry ops_flags_table[] = {
	{ZYDIS_MNEMONIC_CLC, op_clc, 0, 0},
	{ZYDIS_MNEMONIC_STC, op_stc, 0, 0},
	{ZYDIS_MNEMONIC_CMC, op_cmc, 0, 0},
	{ZYDIS_MNEMONIC_CLD, op_cld, 0, 0},
	{ZYDIS_MNEMONIC_STD, op_std, 0, 0},
	{ZYDIS_MNEMONIC_CLI, op_cli, 0, 0},
	{ZYDIS_MNEMONIC_STI, op_sti, 0, 0},
	{ZYDIS_MNEMONIC_SALC, op_salc, 0, 0},
	{0, 0, 0, 0},
};
