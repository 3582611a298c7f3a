/* Handlers: the stack (SDM Vol. 2 PUSH, POP, PUSHA/PUSHAD, POPA/POPAD,
 * PUSHF/PUSHFD, POPF/POPFD, ENTER, LEAVE).
 *
 * push()/pop() in exec.h use SP or ESP as SS.B says, and the operand size
 * gives the width of each slot. Instructions that write several slots
 * check every one before writing any, so a #SS/#PF leaves the guest as it
 * was. */
#include "cpu/exec.h"
#include "cpu/vme.h"

/* ---- PUSH / POP ---- */

static void op_push(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	uint32_t v;
	switch (in->op[0].kind) {
	case OPK_IMM:
		v = in->imm & size_mask(size); /* imm8 arrives sign-extended */
		break;
	case OPK_SREG:
		/* A selector pushed with a 32-bit operand size is zero-extended
		 * (P6, and the AMD host the differential test runs on). */
		v = cpu->seg[in->op[0].reg].sel;
		break;
	default:
		/* PUSH ESP pushes the value before the push (SDM PUSH). */
		v = op_read(cpu, in, 0);
		break;
	}
	push(cpu, size, v);
}

static void op_pop(struct cpu *cpu, const struct insn *in);

/* Common forms, picked at decode time. */
static void op_push_r(struct cpu *cpu, const struct insn *in)
{
	push(cpu, in->osize, reg_read(cpu, in->op[0].reg, in->osize));
}

static void op_pop_r(struct cpu *cpu, const struct insn *in)
{
	uint32_t v = pop(cpu, in->osize);
	reg_write(cpu, in->op[0].reg, in->osize, v); /* POP ESP: the popped value wins */
}

static insn_fn sel_push(const struct insn *in)
{
	return in->op[0].kind == OPK_REG && in->op[0].size == in->osize ? op_push_r : op_push;
}

static insn_fn sel_pop(const struct insn *in)
{
	return in->op[0].kind == OPK_REG && in->op[0].size == in->osize ? op_pop_r : op_pop;
}

/* The effective address of POP's memory operand with ESP replaced by the
 * value it has after the pop (SDM POP: "If the ESP register is used as a
 * base register ... computes the effective address after it increments
 * the ESP register"). */
static uint32_t ea_with_esp(const struct cpu *cpu, const struct insn *in, uint32_t esp)
{
	uint32_t ea = (uint32_t)in->disp;
	if (in->base != REG_NONE)
		ea += in->base == R_ESP ? esp : cpu->r[in->base];
	if (in->index != REG_NONE)
		ea += (in->index == R_ESP ? esp : cpu->r[in->index]) << in->scale;
	return in->asize == 2 ? (ea & 0xffff) : ea;
}

static void op_pop(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	const struct opnd *o = &in->op[0];
	uint32_t v = stack_peek(cpu, size, 0);
	uint32_t nsp = (stack_ptr(cpu) + (uint32_t)size) & sp_mask(cpu);
	uint32_t nesp = cpu->stack32 ? nsp : ((cpu->r[R_ESP] & 0xffff0000u) | nsp);
	switch (o->kind) {
	case OPK_REG:
		set_sp(cpu, nsp);
		reg_write(cpu, o->reg, size, v); /* POP ESP: the popped value wins */
		break;
	case OPK_MEM:
		mem_write(cpu, in->seg, ea_with_esp(cpu, in, nesp), size, v);
		set_sp(cpu, nsp);
		break;
	case OPK_SREG:
		/* POP CS does not exist (0F is the two-byte escape). The load
		 * checks come before ESP moves (seg_load faults first). */
		if (o->reg == S_CS)
			raise_ud(cpu);
		seg_load(cpu, o->reg, (uint16_t)v);
		cpu->r[R_ESP] = nesp; /* the old SS.B sized the increment */
		if (o->reg == S_SS) {
			cpu->inhibit_irq = 1; /* POP SS shadows the next instruction */
			cpu->block_break = 1;
		}
		break;
	default:
		raise_ud(cpu);
	}
}

/* ---- PUSHA / POPA ---- */

/* Check every slot of an n-slot push before writing any. */
static void probe_pushes(struct cpu *cpu, int size, int n)
{
	uint32_t sp = stack_ptr(cpu);
	for (int i = 1; i <= n; i++)
		mem_probe_write(cpu, S_SS, (sp - (uint32_t)(i * size)) & sp_mask(cpu), size);
}

static void op_pusha(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	probe_pushes(cpu, size, 8);
	uint32_t old_esp = cpu->r[R_ESP];
	for (int r = R_EAX; r <= R_EDI; r++)
		push(cpu, size, r == R_ESP ? old_esp : cpu->r[r]);
}

/* POPA: EDI, ESI, EBP, (ESP skipped), EBX, EDX, ECX, EAX. */
static void op_popa(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	uint32_t v[8];
	for (int i = 0; i < 8; i++)
		v[i] = stack_peek(cpu, size, (uint32_t)(i * size));
	for (int i = 0; i < 8; i++)
		if (R_EDI - i != R_ESP)
			reg_write(cpu, R_EDI - i, size, v[i]);
	set_sp(cpu, stack_ptr(cpu) + (uint32_t)(8 * size));
}

/* ---- PUSHF / POPF ---- */

static int iopl(const struct cpu *cpu)
{
	return (int)((cpu->eflags & FL_IOPL) >> FL_IOPL_SHIFT);
}

/* PUSHF/PUSHFD (SDM PUSHF): VM and RF read as 0 in the image; in V86 mode
 * with IOPL < 3 the VIF image under CR4.VME, else #GP(0) (vme.c). */
static void op_pushf(struct cpu *cpu, const struct insn *in)
{
	if (vme_pushf(cpu, in->osize))
		return;
	push(cpu, in->osize, cpu->eflags & ~(FL_VM | FL_RF));
}

/* POPF/POPFD (SDM POPF "Operation"):
 * - VM = 0, CPL = 0: every flag but VM/VIP/VIF (32-bit); all 16 low bits.
 * - VM = 0, CPL > 0: IOPL kept; IF kept too (silently) when CPL > IOPL.
 * - VM = 1, IOPL = 3: IOPL kept; VM = 1, IOPL < 3: VIF under CR4.VME
 *   (16-bit only), else #GP(0) (vme.c).
 * A 32-bit POPF clears RF; VM, VIP and VIF never change. */
static void op_popf(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	int vm = (cpu->eflags & FL_VM) != 0;
	if (vme_popf(cpu, size))
		return;
	uint32_t v = stack_peek(cpu, size, 0);
	uint32_t mask = size == 4 ? ~(FL_VM | FL_VIP | FL_VIF) : 0xffffu;
	if (vm || cpu->cpl > 0)
		mask &= ~FL_IOPL;
	if (!vm && cpu->cpl > iopl(cpu))
		mask &= ~FL_IF;
	if (size == 4)
		v &= ~FL_RF; /* RF is cleared */
	set_sp(cpu, stack_ptr(cpu) + (uint32_t)size);
	cpu_set_eflags(cpu, v, mask); /* ends the block if TF, IF... changed */
}

/* ---- ENTER / LEAVE ---- */

/* ENTER imm16, imm8 (SDM ENTER "Operation"): push (E)BP, copy level-1
 * outer frame pointers from [(E)BP - k*size], push the new frame pointer
 * FrameTemp, then (E)BP = FrameTemp, (E)SP -= imm16. The stack width
 * (SS.B) picks SP or ESP for the pushes and the copies' addresses; the
 * operand size the slot width and the frame pointer's: FrameTemp is ESP
 * after the first push, all 32 bits of it even on a 16-bit stack (its
 * upper half is ESP's, untouched by the 16-bit pushes), and a 32-bit
 * ENTER pushes it and loads EBP with it whole; a 16-bit one uses its low
 * half (the host processor, tests/test_diff_stack.c). Every read and
 * write, and the final stack pointer (#SS if outside the segment, as the
 * processor touches it), is checked before anything changes. */
static void op_enter(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	uint32_t alloc = in->imm & 0xffff;
	int level = (int)(in->imm2 & 31);
	uint32_t m = sp_mask(cpu);
	uint32_t sp = stack_ptr(cpu);
	uint32_t ebp = cpu->r[R_EBP] & m;
	uint32_t frame = ((sp - (uint32_t)size) & m) | (cpu->r[R_ESP] & ~m);
	int npush = 1;
	if (level > 0) {
		/* a trial read of every outer frame pointer (may fault) */
		for (int k = 1; k < level; k++)
			(void)mem_read(cpu, S_SS, (ebp - (uint32_t)(k * size)) & m, size);
		npush += level; /* level-1 copies and the frame pointer */
	}
	probe_pushes(cpu, size, npush);
	uint32_t final_sp = (sp - (uint32_t)(npush * size) - alloc) & m;
	mem_probe_write(cpu, S_SS, final_sp, size);

	push(cpu, size, cpu->r[R_EBP]);
	if (level > 0) {
		/* Read each copy only now: when (E)BP points into the area the
		 * pushes cover, the processor copies what it has just pushed. */
		for (int k = 1; k < level; k++)
			push(cpu, size, mem_read(cpu, S_SS, (ebp - (uint32_t)(k * size)) & m, size));
		push(cpu, size, frame);
	}
	reg_write(cpu, R_EBP, size, frame);
	set_sp(cpu, final_sp);
}

/* LEAVE: (E)SP = (E)BP, then pop (E)BP (SDM LEAVE); the pop is read
 * before either register changes. */
static void op_leave(struct cpu *cpu, const struct insn *in)
{
	int size = in->osize;
	uint32_t m = sp_mask(cpu);
	uint32_t bp = cpu->r[R_EBP] & m;
	uint32_t v = mem_read(cpu, S_SS, bp, size);
	set_sp(cpu, (bp + (uint32_t)size) & m);
	reg_write(cpu, R_EBP, size, v);
}

const struct op_entry ops_stack_table[] = {
	{ZYDIS_MNEMONIC_PUSH, op_push, 0, sel_push},
	{ZYDIS_MNEMONIC_POP, op_pop, 0, sel_pop},
	{ZYDIS_MNEMONIC_PUSHA, op_pusha, 0, 0},
	{ZYDIS_MNEMONIC_PUSHAD, op_pusha, 0, 0},
	{ZYDIS_MNEMONIC_POPA, op_popa, 0, 0},
	{ZYDIS_MNEMONIC_POPAD, op_popa, 0, 0},
	{ZYDIS_MNEMONIC_PUSHF, op_pushf, 0, 0},
	{ZYDIS_MNEMONIC_PUSHFD, op_pushf, 0, 0},
	{ZYDIS_MNEMONIC_POPF, op_popf, 0, 0},
	{ZYDIS_MNEMONIC_POPFD, op_popf, 0, 0},
	{ZYDIS_MNEMONIC_ENTER, op_enter, 0, 0},
	{ZYDIS_MNEMONIC_LEAVE, op_leave, 0, 0},
	{0, 0, 0, 0},
};
