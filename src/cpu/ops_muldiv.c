/* Handlers: MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.
 *
 * The host's own instruction computes result and flags (SF/ZF/AF/PF after
 * multiply, all six after divide, are undefined in the SDM: they come out
 * as the host leaves them, from the guest's incoming flags). Divide errors
 * (divisor 0, quotient too large: SDM DIV/IDIV "#DE") are found in C before
 * the host instruction runs, so the host never faults.
 */
#include "cpu/exec.h"
#include "cpu/flags.h"

/* EDX:EAX (or DX:AX, AX) style one-operand forms: lo/hi in, lo/hi out.
 * The flags go in and out through AX, so the operands are moved into
 * EAX/EDX after SAHF (MOV changes no flags) and the result out before
 * LAHF. */
#define MD_ASM(op, lin, hin, src, lo, hi, ax)                                            \
	__asm__("mov %[fi], %%eax\n\taddb $1, %%al\n\tsahf\n\t"                          \
		"mov %[vh], %%edx\n\tmov %[vl], %%eax\n\t" op "\n\t"                      \
		"mov %%eax, %[vlo]" FLAGS_ASM_OUT                                         \
		: [vlo] "=&r"(lo), "=&a"(ax), "=&d"(hi)                                   \
		: [fi] "r"(ax), [vl] "r"(lin), [vh] "r"(hin), [vs] "q"(src)               \
		: "cc")

/* One-operand forms, as the host does them; returns EAX-side, *hi EDX-side
 * (for 8-bit: the whole AX in the return value). */
#define MD_FN(name, op)                                                                  \
	static inline uint32_t md_##name(struct cpu *cpu, int size, uint32_t lin, uint32_t hin, \
					 uint32_t src, uint32_t *hi)                      \
	{                                                                                \
		uint32_t ax = flags_host_in(cpu->eflags), lo, h;                         \
		switch (size) {                                                          \
		case 1: MD_ASM(op "b %b[vs]", lin, hin, src, lo, h, ax); break;           \
		case 2: MD_ASM(op "w %w[vs]", lin, hin, src, lo, h, ax); break;           \
		default: MD_ASM(op "l %k[vs]", lin, hin, src, lo, h, ax); break;          \
		}                                                                        \
		cpu->eflags = flags_host_out(cpu->eflags, ax);                           \
		*hi = h;                                                                 \
		return lo;                                                               \
	}

MD_FN(mul, "mul")
MD_FN(imul, "imul")
MD_FN(div, "div")
MD_FN(idiv, "idiv")

/* Store the one-operand result: AX for bytes, DX:AX, EDX:EAX. */
static inline void md_store(struct cpu *cpu, int size, uint32_t lo, uint32_t hi)
{
	if (size == 1) {
		reg_write(cpu, R_EAX, 2, lo);
	} else {
		reg_write(cpu, R_EAX, size, lo);
		reg_write(cpu, R_EDX, size, hi);
	}
}

static void op_mul(struct cpu *cpu, const struct insn *in)
{
	int sz = in->op[0].size;
	uint32_t src = op_read(cpu, in, 0), hi;
	uint32_t lo = md_mul(cpu, sz, cpu->r[R_EAX], cpu->r[R_EDX], src, &hi);
	md_store(cpu, sz, lo, hi);
}

/* IMUL: one operand (EDX:EAX = EAX * src), two (dst *= src) or three
 * (dst = src * imm); the 2/3-operand forms are 16/32-bit only. */
#define IMUL2_ASM(sfx, mod, a, b, ax)                                                    \
	__asm__(FLAGS_ASM_IN "imul" sfx " %" mod "[vb], %" mod "[va]" FLAGS_ASM_OUT      \
		: [va] "+r"(a), "+a"(ax)                                                  \
		: [vb] "r"(b)                                                             \
		: "cc")

static void op_imul(struct cpu *cpu, const struct insn *in)
{
	int sz = in->op[0].size;
	if (in->nop == 1) {
		uint32_t src = op_read(cpu, in, 0), hi;
		uint32_t lo = md_imul(cpu, sz, cpu->r[R_EAX], cpu->r[R_EDX], src, &hi);
		md_store(cpu, sz, lo, hi);
		return;
	}
	uint32_t a = op_read(cpu, in, in->nop == 3 ? 1 : 0);
	uint32_t b = op_read(cpu, in, in->nop == 3 ? 2 : 1);
	uint32_t ax = flags_host_in(cpu->eflags);
	if (sz == 2)
		IMUL2_ASM("w", "w", a, b, ax);
	else
		IMUL2_ASM("l", "k", a, b, ax);
	cpu->eflags = flags_host_out(cpu->eflags, ax);
	reg_write(cpu, in->op[0].reg, sz, a);
}

/* #DE checks (SDM DIV, IDIV): divisor 0, or the quotient does not fit. */
static void op_div(struct cpu *cpu, const struct insn *in)
{
	int sz = in->op[0].size;
	uint32_t src = op_read(cpu, in, 0) & size_mask(sz);
	if (src == 0)
		cpu_raise(cpu, EXC_DE, 0, 0);
	uint64_t dividend;
	if (sz == 1)
		dividend = cpu->r[R_EAX] & 0xffffu;
	else if (sz == 2)
		dividend = ((cpu->r[R_EDX] & 0xffffu) << 16) | (cpu->r[R_EAX] & 0xffffu);
	else
		dividend = ((uint64_t)cpu->r[R_EDX] << 32) | cpu->r[R_EAX];
	if (dividend / src > size_mask(sz))
		cpu_raise(cpu, EXC_DE, 0, 0);
	uint32_t hi, lo = md_div(cpu, sz, cpu->r[R_EAX], cpu->r[R_EDX], src, &hi);
	md_store(cpu, sz, lo, hi);
}

static inline int64_t sext(uint32_t v, int size)
{
	return size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : (int32_t)v;
}

static void op_idiv(struct cpu *cpu, const struct insn *in)
{
	int sz = in->op[0].size;
	int64_t src = sext(op_read(cpu, in, 0), sz);
	if (src == 0)
		cpu_raise(cpu, EXC_DE, 0, 0);
	int64_t dividend;
	if (sz == 1)
		dividend = (int16_t)cpu->r[R_EAX];
	else if (sz == 2)
		dividend = (int32_t)(((cpu->r[R_EDX] & 0xffffu) << 16) | (cpu->r[R_EAX] & 0xffffu));
	else
		dividend = (int64_t)(((uint64_t)cpu->r[R_EDX] << 32) | cpu->r[R_EAX]);
	/* INT64_MIN / -1 would overflow in C too: it is #DE in any case. */
	if (src == -1 && dividend == INT64_MIN)
		cpu_raise(cpu, EXC_DE, 0, 0);
	int64_t q = dividend / src;
	int64_t lim = (int64_t)1 << (sz * 8 - 1);
	if (q >= lim || q < -lim)
		cpu_raise(cpu, EXC_DE, 0, 0);
	uint32_t hi, lo = md_idiv(cpu, sz, cpu->r[R_EAX], cpu->r[R_EDX], (uint32_t)src, &hi);
	md_store(cpu, sz, lo, hi);
}

const struct op_entry ops_muldiv_table[] = {
	{ZYDIS_MNEMONIC_MUL, op_mul, 0, 0},
	{ZYDIS_MNEMONIC_IMUL, op_imul, 0, 0},
	{ZYDIS_MNEMONIC_DIV, op_div, 0, 0},
	{ZYDIS_MNEMONIC_IDIV, op_idiv, 0, 0},
	{0, 0, 0, 0},
};
