/* Breakpoints, single-step and the debug registers (SDM Vol. 3, 17.2-17.3).
 * See debug.h for how the engine and mem.c call in. */
#include "cpu/debug.h"
#include "cpu/exec.h"

/* cpu->db_pending bit: the previous instruction was MOV SS / POP SS, so
 * debug exceptions wait one more instruction (SDM Vol. 3, 6.8.3). */
#define DB_SHADOW 0x80000000u

static inline int bp_enabled(const struct cpu *cpu, int n) { return (cpu->dr[7] >> (2 * n)) & 3; }
static inline int bp_rw(const struct cpu *cpu, int n) { return (cpu->dr[7] >> (16 + 4 * n)) & 3; }

/* LEN field (SDM 17.2.5): 00 one byte, 01 two, 11 four; 10 is undefined
 * on a P6 and means eight bytes on later processors, which we follow. */
static inline uint32_t bp_len(const struct cpu *cpu, int n)
{
	static const uint32_t len[4] = {1, 2, 8, 4};
	return len[(cpu->dr[7] >> (18 + 4 * n)) & 3];
}

enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RDWR = 3 };

static void recompute(struct cpu *cpu)
{
	cpu->debug_active = (uint8_t)(((cpu->dr[7] & DR7_ENABLES) ? 1 : 0) | (cpu->db_pending ? 2 : 0));
}

void debug_update(struct cpu *cpu)
{
	recompute(cpu);
	/* Data breakpoints work by keeping their pages out of the TLB. */
	tlb_flush_all(cpu, 0);
	cpu->block_break = 1;
}

void debug_reset(struct cpu *cpu)
{
	cpu->db_pending = 0;
	recompute(cpu);
}

/* Report a debug exception: DR6 gets the new B0-B3 hits (older hits are
 * replaced) and the sticky BD/BS/BT bits; GD is cleared so the handler
 * may use the debug registers (SDM 17.2.4). Never returns. */
_Noreturn static void raise_db(struct cpu *cpu, uint32_t bits)
{
	cpu->dr[6] = ((cpu->dr[6] & ~0xfu) | bits) | DR6_FIXED1;
	cpu->dr[7] &= ~DR7_GD;
	cpu->db_pending = 0;
	recompute(cpu);
	cpu_raise(cpu, EXC_DB, 0, 0);
}

uint32_t debug_before(struct cpu *cpu)
{
	uint32_t before = cpu->eflags;
	int shadow = (cpu->db_pending & DB_SHADOW) != 0;
	/* Traps found during an instruction that then faulted are lost;
	 * those deferred by MOV SS are kept for the instruction after it. */
	cpu->db_pending = shadow ? (cpu->db_pending & ~DB_SHADOW) : 0;
	recompute(cpu);
	/* Instruction breakpoints are faults checked before the fetch, unless
	 * RF says the instruction is being restarted (SDM 17.3.1.1). */
	if (!(cpu->eflags & FL_RF) && !shadow && (cpu->dr[7] & DR7_ENABLES)) {
		uint32_t lin = cpu->seg[S_CS].base + cpu->eip;
		uint32_t hits = 0;
		for (int n = 0; n < 4; n++)
			if (bp_enabled(cpu, n) && bp_rw(cpu, n) == RW_EXEC && cpu->dr[n] == lin)
				hits |= DR6_B0 << n;
		if (hits)
			raise_db(cpu, hits); /* pushed RF stays 0: the handler sets it */
	}
	/* "The RF flag is cleared at the start of the instruction after the
	 * check for code breakpoint" (SDM 17.3.1.1). */
	cpu->eflags &= ~FL_RF;
	return before;
}

static int is_ss_load(const struct insn *in)
{
	return (in->mnem == ZYDIS_MNEMONIC_MOV || in->mnem == ZYDIS_MNEMONIC_POP) &&
	       in->op[0].kind == OPK_SREG && in->op[0].reg == S_SS;
}

/* INT n, INT3, INT1 and a taken INTO enter their handler with TF clear:
 * the single-step trap comes after the instruction the handler returns
 * to, not after the INT (SDM 17.3.1.4). */
static int enters_handler(const struct insn *in, uint32_t before)
{
	switch (in->mnem) {
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INT1:
		return 1;
	case ZYDIS_MNEMONIC_INTO:
		return (before & FL_OF) != 0;
	default:
		return 0;
	}
}

void debug_after(struct cpu *cpu, const struct insn *in, uint32_t before)
{
	uint32_t bits = cpu->db_pending & ~DB_SHADOW;
	/* Single-step: TF at the start of the instruction, so the instruction
	 * that sets TF does not trap and the one that clears it does. */
	if ((before & FL_TF) && !enters_handler(in, before))
		bits |= DR6_BS;
	if (is_ss_load(in)) {
		cpu->db_pending = bits | DB_SHADOW;
		recompute(cpu);
		cpu->block_break = 1;
		return;
	}
	cpu->db_pending = 0;
	recompute(cpu);
	if (!bits)
		return;
	cpu->halted = 0; /* a trap after HLT resumes after it */
	raise_db(cpu, bits);
}

int debug_page_watched(const struct cpu *cpu, uint32_t lpage)
{
	for (int n = 0; n < 4; n++) {
		int rw = bp_rw(cpu, n);
		if (!bp_enabled(cpu, n) || (rw != RW_WRITE && rw != RW_RDWR))
			continue;
		uint32_t len = bp_len(cpu, n);
		if (((cpu->dr[n] & ~(len - 1)) & ~0xfffu) == lpage)
			return 1;
	}
	return 0;
}

static int overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

/* Data breakpoints are traps: remember the hit, report it when the
 * instruction completes (SDM 17.3.1.2). The address is aligned down to
 * the breakpoint's length, as the comparison hardware does. */
void debug_data_access(struct cpu *cpu, uint32_t lin, int size, int write)
{
	for (int n = 0; n < 4; n++) {
		int rw = bp_rw(cpu, n);
		if (!bp_enabled(cpu, n) || !(rw == RW_RDWR || (rw == RW_WRITE && write)))
			continue;
		uint32_t len = bp_len(cpu, n);
		if (overlaps(lin, (uint32_t)size, cpu->dr[n] & ~(len - 1), len)) {
			cpu->db_pending |= DR6_B0 << n;
			cpu->debug_active |= 2;
			cpu->block_break = 1;
		}
	}
}

void debug_io_access(struct cpu *cpu, uint16_t port, int size)
{
	if (!(cpu->cr4 & CR4_DE) || !(cpu->dr[7] & DR7_ENABLES))
		return;
	for (int n = 0; n < 4; n++) {
		if (!bp_enabled(cpu, n) || bp_rw(cpu, n) != RW_IO)
			continue;
		uint32_t len = bp_len(cpu, n);
		if (overlaps(port, (uint32_t)size, (cpu->dr[n] & 0xffff) & ~(len - 1), len)) {
			cpu->db_pending |= DR6_B0 << n;
			cpu->debug_active |= 2;
			cpu->block_break = 1;
		}
	}
}

/* MOV to/from DR0-DR7 (SDM Vol. 2, MOV-Move to/from Debug Registers;
 * Vol. 3, 17.2). */
void sys_mov_dr(struct cpu *cpu, const struct insn *in)
{
	int to_dr = in->op[0].kind == OPK_DR;
	int n = to_dr ? in->op[0].reg : in->op[1].reg;
	int gpr = to_dr ? in->op[1].reg : in->op[0].reg;
	if (cpu->cpl != 0)
		raise_gp(cpu, 0); /* includes virtual-8086 mode */
	if (n > 7)
		raise_ud(cpu);
	if (n == 4 || n == 5) {
		/* DR4/DR5 alias DR6/DR7 unless debugging extensions are on. */
		if (cpu->cr4 & CR4_DE)
			raise_ud(cpu);
		n += 2;
	}
	if (cpu->dr[7] & DR7_GD) {
		/* General detect: a fault before the access; RF=1 in the
		 * pushed image as for every fault but code breakpoints. */
		cpu->eflags |= FL_RF;
		raise_db(cpu, (cpu->dr[6] & 0xfu) | DR6_BD);
	}
	if (!to_dr) {
		cpu->r[gpr] = cpu->dr[n];
		return;
	}
	uint32_t v = cpu->r[gpr];
	switch (n) {
	case 6:
		cpu->dr[6] = (v & 0xe00fu) | DR6_FIXED1;
		break;
	case 7:
		cpu->dr[7] = (v & DR7_WRITABLE) | DR7_FIXED1;
		debug_update(cpu);
		break;
	default:
		cpu->dr[n] = v;
		debug_update(cpu);
		break;
	}
}
