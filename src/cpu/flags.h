/* Arithmetic flags: ALU operations computed by the host processor itself,
 * and condition-code evaluation.
 *
 * Each alu_* runs the host's own instruction (the host is x86-64, which has
 * every one of these), so the result and all six arithmetic flags —
 * including those the SDM leaves undefined — are exactly what a real
 * processor produces. The guest's incoming arithmetic flags are loaded into
 * the host first (OF through an 8-bit add that overflows or not, then
 * SF/ZF/AF/PF/CF through SAHF), so instructions that read flags (ADC, SBB)
 * or leave some unchanged (INC/DEC keep CF) see the guest's values. The
 * result flags are read back with LAHF + SETO; no PUSHF/POPF (they would
 * write below RSP, into the x86-64 red zone the compiler may be using).
 *
 * size is the operand size in bytes (1, 2, 4); results are masked to it.
 */
#ifndef RINGVM_FLAGS_H
#define RINGVM_FLAGS_H

#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/exec.h"

/* AX for the host: AH = guest flags low byte (for SAHF), AL = a byte that
 * "add $1" turns into OF = guest OF (0x7f + 1 overflows, 0 + 1 does not). */
static inline uint32_t flags_host_in(uint32_t eflags)
{
	return ((eflags & 0xffu) << 8) | ((eflags & FL_OF) ? 0x7fu : 0u);
}

/* Merge what LAHF (AH) and SETO (AL) left in AX into the guest EFLAGS. */
static inline uint32_t flags_host_out(uint32_t eflags, uint32_t ax)
{
	uint32_t f = ((ax >> 8) & (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)) | ((ax & 1u) ? FL_OF : 0u);
	return (eflags & ~FL_ARITH) | f;
}

/* The asm fragments that load the guest flags into the host and read them
 * back; AX ("+a") carries them in and out. */
#define FLAGS_ASM_IN "addb $1, %%al\n\tsahf\n\t"
#define FLAGS_ASM_OUT "\n\tlahf\n\tseto %%al"

#define ALU_ASM_BIN(sfx, mod, cons, op, a, b, ax)                                     \
	__asm__(FLAGS_ASM_IN op sfx " %" mod "[vb], %" mod "[va]" FLAGS_ASM_OUT       \
		: [va] "+" cons(a), "+a"(ax)                                          \
		: [vb] cons(b)                                                        \
		: "cc")

#define ALU_ASM_UN(sfx, mod, cons, op, a, ax)                                         \
	__asm__(FLAGS_ASM_IN op sfx " %" mod "[va]" FLAGS_ASM_OUT                     \
		: [va] "+" cons(a), "+a"(ax)                                          \
		:                                                                     \
		: "cc")

#define ALU_DEFINE_BIN(name, op)                                                      \
	static inline uint32_t alu_##name(struct cpu *cpu, int size, uint32_t a, uint32_t b) \
	{                                                                             \
		uint32_t ax = flags_host_in(cpu->eflags);                             \
		switch (size) {                                                       \
		case 1: ALU_ASM_BIN("b", "b", "q", op, a, b, ax); a &= 0xffu; break;  \
		case 2: ALU_ASM_BIN("w", "w", "r", op, a, b, ax); a &= 0xffffu; break; \
		default: ALU_ASM_BIN("l", "k", "r", op, a, b, ax); break;             \
		}                                                                     \
		cpu->eflags = flags_host_out(cpu->eflags, ax);                        \
		return a;                                                             \
	}

#define ALU_DEFINE_UN(name, op)                                                       \
	static inline uint32_t alu_##name(struct cpu *cpu, int size, uint32_t a, uint32_t b) \
	{                                                                             \
		uint32_t ax = flags_host_in(cpu->eflags);                             \
		(void)b;                                                              \
		switch (size) {                                                       \
		case 1: ALU_ASM_UN("b", "b", "q", op, a, ax); a &= 0xffu; break;      \
		case 2: ALU_ASM_UN("w", "w", "r", op, a, ax); a &= 0xffffu; break;    \
		default: ALU_ASM_UN("l", "k", "r", op, a, ax); break;                 \
		}                                                                     \
		cpu->eflags = flags_host_out(cpu->eflags, ax);                        \
		return a;                                                             \
	}

/* uint32_t alu_add(struct cpu *cpu, int size, uint32_t a, uint32_t b) etc.:
 * a op b, flags as the host sets them. */
ALU_DEFINE_BIN(add, "add")
ALU_DEFINE_BIN(adc, "adc")
ALU_DEFINE_BIN(sub, "sub")
ALU_DEFINE_BIN(sbb, "sbb")
ALU_DEFINE_BIN(and, "and")
ALU_DEFINE_BIN(or, "or")
ALU_DEFINE_BIN(xor, "xor")
/* b ignored */
ALU_DEFINE_UN(inc, "inc")
ALU_DEFINE_UN(dec, "dec")
ALU_DEFINE_UN(neg, "neg")

/* The linear address of a read-modify-write destination in memory,
 * checked for writing BEFORE it is read, as the processor does it: a code
 * or read-only segment faults #GP before any page is touched, and a page
 * that cannot be written faults as a write (W=1 in the #PF error code; a
 * read-only page then a not-present one: the first page's fault). The
 * host processor does so (test_diff compares error codes and CR2). */
static inline uint32_t rmw_lin(struct cpu *cpu, int seg, uint32_t off, int size)
{
	uint32_t lin = seg_lin(cpu, seg, off, size, SEG_OK_WRITE);
	if (!tlb_hit(cpu, lin, size, ACC_W))
		mem_probe_write(cpu, seg, off, size);
	return lin;
}

/* The destination (op[0]) of a read-modify-write instruction: a register,
 * or memory (rmw_lin). *lin receives the linear address for rmw_write. */
static inline uint32_t rmw_read(struct cpu *cpu, const struct insn *in, uint32_t *lin)
{
	const struct opnd *o = &in->op[0];
	if (o->kind == OPK_REG)
		return reg_read(cpu, o->reg, o->size);
	*lin = rmw_lin(cpu, in->seg, insn_ea(cpu, in), o->size);
	return lin_read(cpu, *lin, o->size, ACC_R);
}

/* Write the destination back, then commit the flags the alu_* call left in
 * cpu->eflags: if the write faults (#PF), EFLAGS is still old_flags. */
static inline void rmw_write(struct cpu *cpu, const struct insn *in, uint32_t lin, uint32_t v,
			     uint32_t old_flags)
{
	const struct opnd *o = &in->op[0];
	if (o->kind == OPK_REG) {
		reg_write(cpu, o->reg, o->size, v);
		return;
	}
	uint32_t nf = cpu->eflags;
	cpu->eflags = old_flags;
	lin_write(cpu, lin, o->size, v, ACC_W);
	cpu->eflags = nf;
}

/* Condition codes (SDM Vol. 1, Appendix B): cc is the low 4 bits of the
 * Jcc/SETcc/CMOVcc opcode. */
static inline int cond_true(uint32_t eflags, int cc)
{
	int r;
	switch ((cc >> 1) & 7) {
	case 0: r = (eflags & FL_OF) != 0; break;                        /* O */
	case 1: r = (eflags & FL_CF) != 0; break;                        /* B */
	case 2: r = (eflags & FL_ZF) != 0; break;                        /* E */
	case 3: r = (eflags & (FL_CF | FL_ZF)) != 0; break;              /* BE */
	case 4: r = (eflags & FL_SF) != 0; break;                        /* S */
	case 5: r = (eflags & FL_PF) != 0; break;                        /* P */
	case 6: r = !(eflags & FL_SF) != !(eflags & FL_OF); break;       /* L */
	default: r = (eflags & FL_ZF) || (!(eflags & FL_SF) != !(eflags & FL_OF)); break; /* LE */
	}
	return r ^ (cc & 1);
}

#endif
