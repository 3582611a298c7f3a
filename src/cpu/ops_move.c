/* Handlers: data movement (SDM Vol. 2 instruction pages of each mnemonic):
 * MOV (incl. moffs and Sreg), MOVZX/MOVSX, XCHG, CMPXCHG, CMPXCHG8B, XADD,
 * BSWAP, CMOVcc, SETcc, LEA, XLAT, CBW/CWDE/CWD/CDQ, NOP, LAHF/SAHF.
 *
 * Read-modify-write memory operands (XCHG, CMPXCHG, CMPXCHG8B, XADD) are
 * probed for writing before they are read, so a fault comes before any
 * state changes and reports a write access, as the locked RMW cycle of
 * the processor does. */
#include "cpu/exec.h"
#include "cpu/flags.h"

/* MOV to/from control and debug registers shares the MOV mnemonic; the
 * system family implements them (ops_system.c, debug.c). */
void sys_mov_cr(struct cpu *cpu, const struct insn *in);
void sys_mov_dr(struct cpu *cpu, const struct insn *in);

/* ---- MOV ---- */

static void op_mov(struct cpu *cpu, const struct insn *in)
{
	uint32_t v = op_read(cpu, in, 1);
	/* MOV r32, Sreg: P6 and later zero-extend the selector (SDM MOV,
	 * "Operation" notes); op_read of an Sreg gives the 16-bit selector. */
	op_write(cpu, in, 0, v);
}

static void op_mov_rr(struct cpu *cpu, const struct insn *in)
{
	reg_write(cpu, in->op[0].reg, in->op[0].size, reg_read(cpu, in->op[1].reg, in->op[1].size));
}

static void op_mov_r32_imm(struct cpu *cpu, const struct insn *in)
{
	cpu->r[in->op[0].reg] = in->imm;
}

static void op_mov_r_m(struct cpu *cpu, const struct insn *in)
{
	reg_write(cpu, in->op[0].reg, in->op[0].size, mem_read(cpu, in->seg, insn_ea(cpu, in), in->op[1].size));
}

static void op_mov_m_r(struct cpu *cpu, const struct insn *in)
{
	mem_write(cpu, in->seg, insn_ea(cpu, in), in->op[0].size, reg_read(cpu, in->op[1].reg, in->op[1].size));
}

/* The 32-bit forms are the two hottest handlers under Linux (perf): with
 * the size a constant the size switches of reg_write/load_le fold away. */
static void op_mov_r32_m(struct cpu *cpu, const struct insn *in)
{
	cpu->r[in->op[0].reg] = mem_read(cpu, in->seg, insn_ea(cpu, in), 4);
}

static void op_mov_m_r32(struct cpu *cpu, const struct insn *in)
{
	mem_write(cpu, in->seg, insn_ea(cpu, in), 4, cpu->r[in->op[1].reg]);
}

static void op_mov_cr(struct cpu *cpu, const struct insn *in) { sys_mov_cr(cpu, in); }
static void op_mov_dr(struct cpu *cpu, const struct insn *in) { sys_mov_dr(cpu, in); }

static insn_fn sel_mov(const struct insn *in)
{
	uint8_t k0 = in->op[0].kind, k1 = in->op[1].kind;
	if (k0 == OPK_CR || k1 == OPK_CR)
		return op_mov_cr;
	if (k0 == OPK_DR || k1 == OPK_DR)
		return op_mov_dr;
	if (k0 == OPK_REG && k1 == OPK_REG)
		return op_mov_rr;
	if (k0 == OPK_REG && k1 == OPK_IMM && in->op[0].size == 4)
		return op_mov_r32_imm;
	if (k0 == OPK_REG && k1 == OPK_MEM)
		return in->op[0].size == 4 && in->op[1].size == 4 ? op_mov_r32_m : op_mov_r_m;
	if (k0 == OPK_MEM && k1 == OPK_REG)
		return in->op[0].size == 4 && in->op[1].size == 4 ? op_mov_m_r32 : op_mov_m_r;
	return op_mov;
}

/* ---- MOVZX / MOVSX ---- */

static void op_movzx(struct cpu *cpu, const struct insn *in)
{
	op_write(cpu, in, 0, op_read(cpu, in, 1));
}

static void op_movsx(struct cpu *cpu, const struct insn *in)
{
	uint32_t v = op_read(cpu, in, 1);
	v = in->op[1].size == 1 ? (uint32_t)(int32_t)(int8_t)v : (uint32_t)(int32_t)(int16_t)v;
	op_write(cpu, in, 0, v);
}

/* ---- exchanges ---- */

static void probe_rmw(struct cpu *cpu, const struct insn *in, int n)
{
	if (in->op[n].kind == OPK_MEM)
		mem_probe_write(cpu, in->seg, insn_ea(cpu, in), in->op[n].size);
}

/* XCHG: a memory operand makes it implicitly locked (no effect on one
 * CPU). The memory write comes first: the register is only written once
 * nothing can fault. */
static void op_xchg(struct cpu *cpu, const struct insn *in)
{
	probe_rmw(cpu, in, 0);
	probe_rmw(cpu, in, 1);
	uint32_t a = op_read(cpu, in, 0);
	uint32_t b = op_read(cpu, in, 1);
	if (in->op[0].kind == OPK_MEM) {
		op_write(cpu, in, 0, b);
		op_write(cpu, in, 1, a);
	} else {
		op_write(cpu, in, 1, a);
		op_write(cpu, in, 0, b);
	}
}

/* CMPXCHG (SDM CMPXCHG): the destination is always written (with its own
 * value when the comparison fails), so a read-only destination faults
 * either way; flags as CMP accumulator, destination. */
static void op_cmpxchg(struct cpu *cpu, const struct insn *in)
{
	int size = in->op[0].size;
	probe_rmw(cpu, in, 0);
	uint32_t dst = op_read(cpu, in, 0);
	uint32_t acc = reg_read(cpu, R_EAX, size);
	uint32_t src = op_read(cpu, in, 1);
	if (dst == acc) {
		op_write(cpu, in, 0, src);
	} else {
		if (in->op[0].kind == OPK_MEM)
			op_write(cpu, in, 0, dst);
		reg_write(cpu, R_EAX, size, dst);
	}
	alu_sub(cpu, size, acc, dst);
}

/* CMPXCHG8B m64 (SDM CMPXCHG8B): EDX:EAX vs m64; ZF only. The register
 * form is #UD (Zydis already rejects it). */
static void op_cmpxchg8b(struct cpu *cpu, const struct insn *in)
{
	if (in->op[0].kind != OPK_MEM)
		raise_ud(cpu);
	uint32_t ea = insn_ea(cpu, in);
	mem_probe_write(cpu, in->seg, ea, 8);
	uint32_t lin = seg_lin(cpu, in->seg, ea, 8, SEG_OK_WRITE);
	uint32_t lo = lin_read(cpu, lin, 4, ACC_R);
	uint32_t hi = lin_read(cpu, lin + 4, 4, ACC_R);
	if (lo == cpu->r[R_EAX] && hi == cpu->r[R_EDX]) {
		lin_write(cpu, lin, 4, cpu->r[R_EBX], ACC_W);
		lin_write(cpu, lin + 4, 4, cpu->r[R_ECX], ACC_W);
		cpu->eflags |= FL_ZF;
	} else {
		lin_write(cpu, lin, 4, lo, ACC_W);
		lin_write(cpu, lin + 4, 4, hi, ACC_W);
		cpu->r[R_EAX] = lo;
		cpu->r[R_EDX] = hi;
		cpu->eflags &= ~FL_ZF;
	}
}

/* XADD (SDM XADD): TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. */
static void op_xadd(struct cpu *cpu, const struct insn *in)
{
	int size = in->op[0].size;
	probe_rmw(cpu, in, 0);
	uint32_t dst = op_read(cpu, in, 0);
	uint32_t src = op_read(cpu, in, 1);
	uint32_t saved = cpu->eflags;
	uint32_t sum = alu_add(cpu, size, src, dst);
	uint32_t flags = cpu->eflags;
	cpu->eflags = saved;
	op_write(cpu, in, 1, dst);
	op_write(cpu, in, 0, sum);
	cpu->eflags = flags;
}

/* BSWAP r32; with a 16-bit operand the SDM says "undefined": Intel and
 * AMD processors both leave the high half and zero the low half. */
static void op_bswap(struct cpu *cpu, const struct insn *in)
{
	int r = in->op[0].reg;
	if (in->op[0].size == 2)
		cpu->r[r] &= 0xffff0000u;
	else
		cpu->r[r] = __builtin_bswap32(cpu->r[r]);
}

/* ---- conditional moves and sets ---- */

/* CMOVcc: the source is read (and may fault) whatever the condition. */
static void op_cmov(struct cpu *cpu, const struct insn *in)
{
	uint32_t v = op_read(cpu, in, 1);
	if (cond_true(cpu->eflags, in->opcode & 0xf))
		op_write(cpu, in, 0, v);
}

static void op_setcc(struct cpu *cpu, const struct insn *in)
{
	op_write(cpu, in, 0, (uint32_t)cond_true(cpu->eflags, in->opcode & 0xf));
}

/* ---- address and table lookups ---- */

/* LEA: the effective address (already truncated to the address size),
 * then truncated to the operand size by the register write. */
static void op_lea(struct cpu *cpu, const struct insn *in)
{
	if (in->op[1].kind != OPK_AGEN)
		raise_ud(cpu);
	reg_write(cpu, in->op[0].reg, in->op[0].size, insn_ea(cpu, in));
}

/* XLAT: AL = seg:[(E)BX + AL] (the segment may be overridden). */
static void op_xlat(struct cpu *cpu, const struct insn *in)
{
	uint32_t off = cpu->r[R_EBX] + (cpu->r[R_EAX] & 0xff);
	if (in->asize == 2)
		off &= 0xffff;
	reg_write(cpu, R_EAX, 1, mem_read(cpu, in->seg, off, 1));
}

/* ---- sign extensions of the accumulator ---- */

static void op_cbw(struct cpu *cpu, const struct insn *in)
{
	reg_write(cpu, R_EAX, 2, (uint32_t)(int32_t)(int8_t)cpu->r[R_EAX]);
}

static void op_cwde(struct cpu *cpu, const struct insn *in)
{
	cpu->r[R_EAX] = (uint32_t)(int32_t)(int16_t)cpu->r[R_EAX];
}

static void op_cwd(struct cpu *cpu, const struct insn *in)
{
	reg_write(cpu, R_EDX, 2, (cpu->r[R_EAX] & 0x8000u) ? 0xffffu : 0);
}

static void op_cdq(struct cpu *cpu, const struct insn *in)
{
	cpu->r[R_EDX] = (cpu->r[R_EAX] & 0x80000000u) ? 0xffffffffu : 0;
}

/* ---- NOP, LAHF/SAHF ---- */

/* NOP, XCHG (E)AX,(E)AX and the 0F 1F /0 multi-byte NOP (no memory access). */
static void op_nop(struct cpu *cpu, const struct insn *in)
{
}

/* PAUSE (REP NOP): a NOP to the architecture, and the sign of a spin-wait
 * loop. When several CPUs take turns on one host thread, the value this
 * one waits for can only change once another runs: end its turn (the
 * pause-loop exiting of VT-x, for the same reason). */
static void op_pause(struct cpu *cpu, const struct insn *in)
{
	if (cpu->pause_exit) {
		cpu->stop_request = 1;
		cpu->block_break = 1;
	}
}

/* LAHF: AH = SF:ZF:0:AF:0:PF:1:CF (SDM LAHF). */
static void op_lahf(struct cpu *cpu, const struct insn *in)
{
	uint32_t f = (cpu->eflags & (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)) | FL_1;
	reg_write(cpu, 4 /* AH */, 1, f);
}

/* SAHF: SF ZF AF PF CF from AH (SDM SAHF). */
static void op_sahf(struct cpu *cpu, const struct insn *in)
{
	uint32_t m = FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF;
	cpu->eflags = (cpu->eflags & ~m) | (((cpu->r[R_EAX] >> 8) & m));
}

#define CC_ROWS(prefix, fn)                                                        \
	{ZYDIS_MNEMONIC_##prefix##O, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NO, fn, 0, 0}, \
	{ZYDIS_MNEMONIC_##prefix##B, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NB, fn, 0, 0}, \
	{ZYDIS_MNEMONIC_##prefix##Z, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NZ, fn, 0, 0}, \
	{ZYDIS_MNEMONIC_##prefix##BE, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NBE, fn, 0, 0}, \
	{ZYDIS_MNEMONIC_##prefix##S, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NS, fn, 0, 0}, \
	{ZYDIS_MNEMONIC_##prefix##P, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NP, fn, 0, 0}, \
	{ZYDIS_MNEMONIC_##prefix##L, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NL, fn, 0, 0}, \
	{ZYDIS_MNEMONIC_##prefix##LE, fn, 0, 0}, {ZYDIS_MNEMONIC_##prefix##NLE, fn, 0, 0}

const struct op_entry ops_move_table[] = {
	{ZYDIS_MNEMONIC_MOV, op_mov, 0, sel_mov},
	{ZYDIS_MNEMONIC_MOVZX, op_movzx, 0, 0},
	{ZYDIS_MNEMONIC_MOVSX, op_movsx, 0, 0},
	{ZYDIS_MNEMONIC_XCHG, op_xchg, 0, 0},
	{ZYDIS_MNEMONIC_CMPXCHG, op_cmpxchg, 0, 0},
	{ZYDIS_MNEMONIC_CMPXCHG8B, op_cmpxchg8b, 0, 0},
	{ZYDIS_MNEMONIC_XADD, op_xadd, 0, 0},
	{ZYDIS_MNEMONIC_BSWAP, op_bswap, 0, 0},
	CC_ROWS(CMOV, op_cmov),
	CC_ROWS(SET, op_setcc),
	{ZYDIS_MNEMONIC_LEA, op_lea, 0, 0},
	{ZYDIS_MNEMONIC_XLAT, op_xlat, 0, 0},
	{ZYDIS_MNEMONIC_CBW, op_cbw, 0, 0},
	{ZYDIS_MNEMONIC_CWDE, op_cwde, 0, 0},
	{ZYDIS_MNEMONIC_CWD, op_cwd, 0, 0},
	{ZYDIS_MNEMONIC_CDQ, op_cdq, 0, 0},
	{ZYDIS_MNEMONIC_NOP, op_nop, 0, 0},
	{ZYDIS_MNEMONIC_PAUSE, op_pause, 0, 0},
	{ZYDIS_MNEMONIC_LAHF, op_lahf, 0, 0},
	{ZYDIS_MNEMONIC_SAHF, op_sahf, 0, 0},
	{0, 0, 0, 0},
};
