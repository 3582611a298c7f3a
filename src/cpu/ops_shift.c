/* Handlers: shifts and rotates (SHL/SAL SHR SAR ROL ROR RCL RCR SHLD SHRD).
 *
 * Each runs the host's own instruction with the guest's flags loaded and
 * the guest's count in CL, so everything the SDM leaves to the processor
 * comes out as the host does it: the count is masked to 5 bits, RCL/RCR on
 * 8/16-bit operands rotate modulo 9/17, a masked count of 0 changes no
 * flags, OF after a count other than 1 and AF after shifts, and SHLD/SHRD
 * with a 16-bit operand and a count above 16 (SDM SAL/SAR/SHL/SHR, RCL/RCR/
 * ROL/ROR, SHLD, SHRD).
 */
#include "cpu/exec.h"
#include "cpu/flags.h"

#define SH_ASM(sfx, mod, cons, op, a, cnt, ax)                                         \
	__asm__(FLAGS_ASM_IN op sfx " %%cl, %" mod "[va]" FLAGS_ASM_OUT                \
		: [va] "+" cons(a), "+a"(ax)                                           \
		: "c"(cnt)                                                             \
		: "cc")

#define SHIFT(name)                                                                    \
	static inline uint32_t sh_##name(struct cpu *cpu, int size, uint32_t a, uint32_t cnt) \
	{                                                                              \
		uint32_t ax = flags_host_in(cpu->eflags);                              \
		switch (size) {                                                        \
		case 1: SH_ASM("b", "b", "q", #name, a, cnt, ax); a &= 0xffu; break;   \
		case 2: SH_ASM("w", "w", "r", #name, a, cnt, ax); a &= 0xffffu; break; \
		default: SH_ASM("l", "k", "r", #name, a, cnt, ax); break;              \
		}                                                                      \
		cpu->eflags = flags_host_out(cpu->eflags, ax);                         \
		return a;                                                              \
	}                                                                              \
	static void op_##name(struct cpu *cpu, const struct insn *in)                  \
	{                                                                              \
		uint32_t old = cpu->eflags, lin = 0;                                   \
		uint32_t a = rmw_read(cpu, in, &lin);                                  \
		uint32_t cnt = op_read(cpu, in, 1) & 0xff;                             \
		rmw_write(cpu, in, lin, sh_##name(cpu, in->op[0].size, a, cnt), old);  \
	}                                                                              \
	static void op_##name##_r(struct cpu *cpu, const struct insn *in)              \
	{                                                                              \
		int sz = in->op[0].size;                                               \
		uint32_t a = reg_read(cpu, in->op[0].reg, sz);                         \
		uint32_t cnt = op_read(cpu, in, 1) & 0xff;                             \
		reg_write(cpu, in->op[0].reg, sz, sh_##name(cpu, sz, a, cnt));         \
	}                                                                              \
	static insn_fn sel_##name(const struct insn *in)                               \
	{                                                                              \
		return in->op[0].kind == OPK_REG ? op_##name##_r : op_##name;          \
	}

SHIFT(shl)
SHIFT(shr)
SHIFT(sar)
SHIFT(rol)
SHIFT(ror)
SHIFT(rcl)
SHIFT(rcr)

/* SHLD/SHRD dst, src, count: 16- and 32-bit only. */
#define DSH_ASM(sfx, mod, op, a, b, cnt, ax)                                           \
	__asm__(FLAGS_ASM_IN op sfx " %%cl, %" mod "[vb], %" mod "[va]" FLAGS_ASM_OUT  \
		: [va] "+r"(a), "+a"(ax)                                               \
		: [vb] "r"(b), "c"(cnt)                                                \
		: "cc")

#define DSHIFT(name)                                                                   \
	static void op_##name(struct cpu *cpu, const struct insn *in)                  \
	{                                                                              \
		uint32_t old = cpu->eflags, lin = 0;                                   \
		uint32_t a = rmw_read(cpu, in, &lin), b = op_read(cpu, in, 1);         \
		uint32_t cnt = op_read(cpu, in, 2) & 0xff;                             \
		uint32_t ax = flags_host_in(cpu->eflags);                              \
		if (in->op[0].size == 2) {                                             \
			DSH_ASM("w", "w", #name, a, b, cnt, ax);                       \
			a &= 0xffffu;                                                  \
		} else {                                                               \
			DSH_ASM("l", "k", #name, a, b, cnt, ax);                       \
		}                                                                      \
		cpu->eflags = flags_host_out(cpu->eflags, ax);                         \
		rmw_write(cpu, in, lin, a, old);                                       \
	}

DSHIFT(shld)
DSHIFT(shrd)

const struct op_entry ops_shift_table[] = {
	{ZYDIS_MNEMONIC_SHL, op_shl, 0, sel_shl},
	{ZYDIS_MNEMONIC_SHR, op_shr, 0, sel_shr},
	{ZYDIS_MNEMONIC_SAR, op_sar, 0, sel_sar},
	{ZYDIS_MNEMONIC_ROL, op_rol, 0, sel_rol},
	{ZYDIS_MNEMONIC_ROR, op_ror, 0, sel_ror},
	{ZYDIS_MNEMONIC_RCL, op_rcl, 0, sel_rcl},
	{ZYDIS_MNEMONIC_RCR, op_rcr, 0, sel_rcr},
	{ZYDIS_MNEMONIC_SHLD, op_shld, 0, 0},
	{ZYDIS_MNEMONIC_SHRD, op_shrd, 0, 0},
	{0, 0, 0, 0},
};
