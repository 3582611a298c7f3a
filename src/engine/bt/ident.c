/* Guest instructions the translator emits as host code of its own: the
 * integer instructions that dominate real code (ALU, MOV, LEA, shifts,
 * INC/DEC, TEST, IMUL, SETcc/CMOVcc, PUSH/POP, near CALL/RET/JMP/Jcc).
 *
 * Guest registers live in struct cpu, so a guest register operand is a
 * host memory operand [rbp + 4*r] (AH..BH at +1), and the guest's own
 * instruction runs on the host with its operands remapped: the host
 * computes the result and the flags exactly as the processor defines them,
 * undefined flags included (the interpreter runs the same host
 * instructions, so both engines agree with the host processor).
 *
 * A guest memory operand goes through an inline probe of the software
 * TLB: effective address, segment limit and type check, TLB tag compare,
 * host address = linear + addend. Anything the probe does not accept —
 * a miss, MMIO, a page-crossing or misaligned-under-AC access, a segment
 * fault — runs the interpreter's handler out of line (translate.c's slow
 * paths), which fills the TLB or raises the guest's fault precisely.
 */
#include "cpu/exec.h"
#include "engine/bt/tstate.h"

#include <stdint.h>

#include <Zydis/Mnemonic.h>

#define TLBE_OFF ((int32_t)offsetof(struct cpu, tlb.e))
#define SEG_OFF(s, f) ((int32_t)(offsetof(struct cpu, seg) + (size_t)(s) * sizeof(struct seg) + offsetof(struct seg, f)))
#define REG_OFF(n) ((int32_t)(offsetof(struct cpu, r) + 4 * (size_t)(n)))

enum kind {
	K_NONE, K_ALU, K_TEST, K_MOV, K_MOVX, K_INCDEC, K_NEG, K_NOT, K_SHIFT, K_IMUL,
	K_LEA, K_XCHG, K_SETCC, K_CMOVCC, K_NOP, K_PUSH, K_POP, K_JCC, K_JMP, K_CALL, K_RET,
	K_BT, K_MUL, K_DIV, K_PUSHM, K_LEAVE, K_STOS, K_LODS, K_MOVS, K_MOVSR, K_PUSHA, K_POPA,
	K_PUSHF, K_POPF, K_SAHF, K_PAUSE,
};

/* ---- which instructions, and their flags ---- */

static int alu_digit(int mnem)
{
	switch (mnem) {
	case ZYDIS_MNEMONIC_ADD: return 0;
	case ZYDIS_MNEMONIC_OR: return 1;
	case ZYDIS_MNEMONIC_ADC: return 2;
	case ZYDIS_MNEMONIC_SBB: return 3;
	case ZYDIS_MNEMONIC_AND: return 4;
	case ZYDIS_MNEMONIC_SUB: return 5;
	case ZYDIS_MNEMONIC_XOR: return 6;
	case ZYDIS_MNEMONIC_CMP: return 7;
	default: return -1;
	}
}

static int is_gpr_or_mem(const struct opnd *o)
{
	return o->kind == OPK_REG || o->kind == OPK_MEM;
}

static int has_mem(const struct insn *in)
{
	for (int i = 0; i < in->nop; i++)
		if (in->op[i].kind == OPK_MEM)
			return 1;
	return 0;
}

/* The count of a shift by immediate (C0/C1, D0/D1), or -1 for CL. */
static int shift_count(const struct insn *in)
{
	if (in->opcode == 0xd0 || in->opcode == 0xd1)
		return 1;
	if (in->opcode == 0xc0 || in->opcode == 0xc1)
		return (int)(in->imm & 0xff);
	return -1;
}

/* AH..BH: no host register names them once a REX prefix is in play
 * (R8-R15 hold the guest's registers), so their rare instructions are
 * callouts. */
static int has_high_byte(const struct insn *in)
{
	for (int i = 0; i < in->nop; i++)
		if (in->op[i].kind == OPK_REG && in->op[i].size == 1 && in->op[i].reg >= 4)
			return 1;
	return 0;
}

static enum kind kind_of_any(const struct insn *in);

/* AH..BH appear in ALU, TEST, MOV and MOVZX/MOVSX forms often enough
 * (compression and checksum loops) to be emitted, through temporaries
 * (emit_high_byte); in anything else they make a callout. */
static enum kind kind_of(const struct insn *in)
{
	enum kind k = kind_of_any(in);
	if (k != K_NONE && has_high_byte(in) && k != K_ALU && k != K_TEST && k != K_MOV && k != K_MOVX)
		return K_NONE;
	return k;
}

static enum kind kind_of_any(const struct insn *in)
{
	const struct opnd *a = &in->op[0], *b = &in->op[1];
	if (in->lock || in->map > 1)
		return K_NONE;
	int osz = in->osize;
	switch (in->mnem) {
	case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_ADC: case ZYDIS_MNEMONIC_SBB:
	case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_SUB: case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_CMP:
		if (in->nop != 2 || !is_gpr_or_mem(a) || (b->kind != OPK_REG && b->kind != OPK_IMM && b->kind != OPK_MEM))
			return K_NONE;
		return K_ALU;
	case ZYDIS_MNEMONIC_TEST:
		if (in->nop != 2 || !is_gpr_or_mem(a) || (b->kind != OPK_REG && b->kind != OPK_IMM))
			return K_NONE;
		return K_TEST;
	case ZYDIS_MNEMONIC_MOV:
		/* MOV r16/r32, Sreg: the selector, zero-extended (as op_mov) */
		if (in->nop == 2 && a->kind == OPK_REG && b->kind == OPK_SREG && a->size != 1)
			return K_MOVSR;
		if (in->nop != 2 || !is_gpr_or_mem(a) || (b->kind != OPK_REG && b->kind != OPK_IMM && b->kind != OPK_MEM))
			return K_NONE;
		if (a->kind == OPK_MEM && b->kind == OPK_MEM)
			return K_NONE;
		return K_MOV;
	case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX:
		return in->nop == 2 && a->kind == OPK_REG && is_gpr_or_mem(b) ? K_MOVX : K_NONE;
	case ZYDIS_MNEMONIC_INC: case ZYDIS_MNEMONIC_DEC:
		return in->nop == 1 && is_gpr_or_mem(a) ? K_INCDEC : K_NONE;
	case ZYDIS_MNEMONIC_NEG:
		return in->nop == 1 && is_gpr_or_mem(a) ? K_NEG : K_NONE;
	case ZYDIS_MNEMONIC_NOT:
		return in->nop == 1 && is_gpr_or_mem(a) ? K_NOT : K_NONE;
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
		if (!is_gpr_or_mem(a) || in->map != 0 || (in->opcode < 0xc0 || in->opcode > 0xd3) ||
		    (in->opcode > 0xc1 && in->opcode < 0xd0))
			return K_NONE;
		return K_SHIFT;
	case ZYDIS_MNEMONIC_IMUL:
		if (in->nop < 2 || a->kind != OPK_REG || !is_gpr_or_mem(b) || osz == 1)
			return K_NONE;
		if (in->nop == 3 && in->op[2].kind != OPK_IMM)
			return K_NONE;
		return K_IMUL;
	case ZYDIS_MNEMONIC_LEA:
		return in->nop == 2 && a->kind == OPK_REG && b->kind == OPK_AGEN && osz != 1 ? K_LEA : K_NONE;
	case ZYDIS_MNEMONIC_XCHG:
		return in->nop == 2 && a->kind == OPK_REG && b->kind == OPK_REG ? K_XCHG : K_NONE;
	case ZYDIS_MNEMONIC_SETB: case ZYDIS_MNEMONIC_SETBE: case ZYDIS_MNEMONIC_SETL: case ZYDIS_MNEMONIC_SETLE:
	case ZYDIS_MNEMONIC_SETNB: case ZYDIS_MNEMONIC_SETNBE: case ZYDIS_MNEMONIC_SETNL: case ZYDIS_MNEMONIC_SETNLE:
	case ZYDIS_MNEMONIC_SETNO: case ZYDIS_MNEMONIC_SETNP: case ZYDIS_MNEMONIC_SETNS: case ZYDIS_MNEMONIC_SETNZ:
	case ZYDIS_MNEMONIC_SETO: case ZYDIS_MNEMONIC_SETP: case ZYDIS_MNEMONIC_SETS: case ZYDIS_MNEMONIC_SETZ:
		return in->nop == 1 && is_gpr_or_mem(a) && in->map == 1 ? K_SETCC : K_NONE;
	case ZYDIS_MNEMONIC_CMOVB: case ZYDIS_MNEMONIC_CMOVBE: case ZYDIS_MNEMONIC_CMOVL: case ZYDIS_MNEMONIC_CMOVLE:
	case ZYDIS_MNEMONIC_CMOVNB: case ZYDIS_MNEMONIC_CMOVNBE: case ZYDIS_MNEMONIC_CMOVNL: case ZYDIS_MNEMONIC_CMOVNLE:
	case ZYDIS_MNEMONIC_CMOVNO: case ZYDIS_MNEMONIC_CMOVNP: case ZYDIS_MNEMONIC_CMOVNS: case ZYDIS_MNEMONIC_CMOVNZ:
	case ZYDIS_MNEMONIC_CMOVO: case ZYDIS_MNEMONIC_CMOVP: case ZYDIS_MNEMONIC_CMOVS: case ZYDIS_MNEMONIC_CMOVZ:
		return in->nop == 2 && a->kind == OPK_REG && is_gpr_or_mem(b) && in->map == 1 ? K_CMOVCC : K_NONE;
	case ZYDIS_MNEMONIC_NOP:
		return K_NOP;
	case ZYDIS_MNEMONIC_PUSH:
		if (in->nop != 1 || osz == 1)
			return K_NONE;
		if (a->kind == OPK_MEM && a->size == osz)
			return K_PUSHM;
		return a->kind == OPK_REG || a->kind == OPK_IMM || a->kind == OPK_SREG ? K_PUSH : K_NONE;
	case ZYDIS_MNEMONIC_SAHF:
		return K_SAHF;
	case ZYDIS_MNEMONIC_PAUSE:
		return K_PAUSE;
	case ZYDIS_MNEMONIC_PUSHFD:
		return osz == 4 && in->map == 0 ? K_PUSHF : K_NONE;
	case ZYDIS_MNEMONIC_POPFD:
		return osz == 4 && in->map == 0 ? K_POPF : K_NONE;
	case ZYDIS_MNEMONIC_PUSHAD:
		return osz == 4 && in->map == 0 ? K_PUSHA : K_NONE;
	case ZYDIS_MNEMONIC_POPAD:
		return osz == 4 && in->map == 0 ? K_POPA : K_NONE;
	case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD:
	case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD:
		/* one iteration, 32-bit addressing: REP forms stay with the
		 * handler's own loop */
		if (in->rep || in->asize != 4 || in->map != 0)
			return K_NONE;
		if (in->opcode == 0xaa || in->opcode == 0xab)
			return K_STOS;
		if (in->opcode == 0xac || in->opcode == 0xad)
			return K_LODS;
		return in->opcode == 0xa4 || in->opcode == 0xa5 ? K_MOVS : K_NONE;
	case ZYDIS_MNEMONIC_LEAVE:
		return osz == 4 && in->map == 0 ? K_LEAVE : K_NONE;
	case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
		/* a memory operand with a register bit offset addresses a bit
		 * string beyond it: left to the handler */
		if (in->nop != 2 || osz == 1 || !is_gpr_or_mem(a) ||
		    (b->kind != OPK_IMM && (b->kind != OPK_REG || a->kind != OPK_REG)))
			return K_NONE;
		return K_BT;
	case ZYDIS_MNEMONIC_MUL:
		return in->nop == 1 && is_gpr_or_mem(a) && a->size == 4 ? K_MUL : K_NONE;
	case ZYDIS_MNEMONIC_DIV:
		return in->nop == 1 && is_gpr_or_mem(a) && a->size == 4 ? K_DIV : K_NONE;
	case ZYDIS_MNEMONIC_POP:
		return in->nop == 1 && a->kind == OPK_REG && osz != 1 ? K_POP : K_NONE;
	case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JLE:
	case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_JNBE: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JNLE:
	case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JNP: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_JZ:
		return in->nop == 1 && a->kind == OPK_REL ? K_JCC : K_NONE;
	case ZYDIS_MNEMONIC_JMP:
		if (in->nop != 1 || (a->kind != OPK_REL && a->kind != OPK_REG && a->kind != OPK_MEM))
			return K_NONE;
		if (a->kind == OPK_MEM && (a->size != 4 || osz != 4))
			return K_NONE; /* far (m16:32) or 16-bit */
		return K_JMP;
	case ZYDIS_MNEMONIC_CALL:
		if (in->nop != 1 || (a->kind != OPK_REL && a->kind != OPK_REG && a->kind != OPK_MEM) || osz != 4)
			return K_NONE;
		if (a->kind == OPK_MEM && a->size != 4)
			return K_NONE;
		return K_CALL;
	case ZYDIS_MNEMONIC_RET:
		if (in->map != 0 || (in->opcode != 0xc3 && in->opcode != 0xc2) || osz != 4)
			return K_NONE;
		return K_RET;
	default:
		return K_NONE;
	}
}

#define F_ALL FL_ARITH

int ident_flags(const struct insn *in, struct iflags *f)
{
	enum kind k = kind_of(in);
	*f = (struct iflags){ 0, 0, 0, 0 };
	switch (k) {
	case K_NONE:
		return 0;
	case K_PUSH: case K_POP: case K_JMP: case K_CALL: case K_RET: case K_PUSHM: case K_LEAVE:
	case K_STOS: case K_LODS: case K_MOVS: case K_PUSHA: case K_POPA:
		f->fault = 1;
		break;
	case K_PUSHF:
		f->fault = 1;
		f->read = F_ALL;
		break;
	case K_POPF:
		f->fault = 1;
		f->wdef = f->wmay = F_ALL;
		break;
	case K_SAHF:
		f->wdef = f->wmay = F_ALL & ~FL_OF;
		break;
	case K_PAUSE:
		f->fault = 1; /* its slow path may end the run: flags exact */
		break;
	case K_BT:
		/* CF is the bit; ZF is left alone on some processors and the
		 * others are undefined: whatever the host does */
		f->wdef = FL_CF;
		f->wmay = F_ALL;
		break;
	case K_MUL:
		f->wdef = FL_CF | FL_OF;
		f->wmay = F_ALL;
		break;
	case K_DIV:
		f->fault = 1;
		f->wmay = F_ALL;
		break;
	case K_ALU:
		f->wdef = f->wmay = F_ALL;
		if (in->mnem == ZYDIS_MNEMONIC_ADC || in->mnem == ZYDIS_MNEMONIC_SBB)
			f->read = FL_CF;
		break;
	case K_TEST:
	case K_NEG:
		f->wdef = f->wmay = F_ALL;
		break;
	case K_INCDEC:
		f->wdef = f->wmay = F_ALL & ~FL_CF;
		break;
	case K_SHIFT: {
		int digit = (in->modrm >> 3) & 7, n = shift_count(in);
		int rot = digit < 4, rc = digit == 2 || digit == 3;
		if (rc)
			f->read = FL_CF;
		if (n < 0) {
			/* by CL: a count of 0 leaves every flag alone */
			f->wmay = rot ? (FL_CF | FL_OF) : F_ALL;
		} else if ((n & 31) != 0) {
			/* the SDM's defined flags; AF (shifts) and OF (counts
			 * above 1) are whatever the host does, which the
			 * interpreter also gets from the host */
			f->wmay = rot ? (FL_CF | FL_OF) : F_ALL;
			f->wdef = rot ? (n == 1 ? FL_CF | FL_OF : FL_CF) : (F_ALL & ~FL_AF);
			if (n != 1 && !rot)
				f->wdef &= ~FL_OF;
		}
		break;
	}
	case K_IMUL:
		f->wdef = FL_CF | FL_OF;
		f->wmay = F_ALL;
		break;
	case K_JCC:
		f->fault = 1; /* the target's CS limit */
		f->read = F_ALL;
		break;
	case K_SETCC:
	case K_CMOVCC:
		f->read = F_ALL;
		break;
	default:
		break;
	}
	if (has_mem(in))
		f->fault = 1;
	return 1;
}

/* ---- operands ---- */

/* A guest operand as a host operand: a host register (reg >= 0: a cached
 * guest register R8-R15, or a temporary) or memory at [base + disp] (the
 * guest memory operand once probed, [rsi]; AH..BH in struct cpu). */
struct hop {
	int reg;
	int base;
	int32_t disp;
};

static struct hop hop_host(int r) { return (struct hop){ r, 0, 0 }; }

/* The guest memory operand, once the probe has put its host address in
 * RSI. */
static const struct hop HOP_MEM = { -1, H_RSI, 0 };

/* Guest register r (never AH..BH: see has_high_byte): its host
 * register, which a write updates in place. */
static struct hop hop_reg(int r)
{
	return hop_host(ts_greg(r));
}

static struct hop hop_of(const struct insn *in, int n)
{
	const struct opnd *o = &in->op[n];
	return o->kind == OPK_MEM ? HOP_MEM : hop_reg(o->reg);
}

static void pfx16(struct emit *e, int size)
{
	if (size == 2)
		e8(e, 0x66);
}

/* REX for ModRM.reg = r and the operand h (R8-R15 need it) */
static void rex_for(struct emit *e, int r, struct hop h)
{
	int rex = (r >= 8 ? 4 : 0) | (h.reg >= 8 ? 1 : 0);
	if (rex)
		e8(e, (uint8_t)(0x40 | rex));
}

static void modrm_for(struct emit *e, int r, struct hop h)
{
	if (h.reg >= 0)
		e8(e, (uint8_t)(0xc0 | ((r & 7) << 3) | (h.reg & 7)));
	else
		e_mem(e, r, h.base, h.disp);
}

/* A one-byte-opcode instruction whose byte form is op8 and whose
 * word/dword form is op8 + 1, on host operand h with ModRM.reg = r
 * (a register, R8-R15 included, or an opcode extension). Byte registers
 * are only ever AL, CL, BL or R8B-R11B here: never SPL..DIL. */
static void e_sized(struct emit *e, int size, uint8_t op8, int r, struct hop h)
{
	pfx16(e, size);
	rex_for(e, r, h);
	e8(e, size == 1 ? op8 : (uint8_t)(op8 + 1));
	modrm_for(e, r, h);
}

/* 0F op2 with ModRM (operand size from the prefix) */
static void e_0f(struct emit *e, int size, uint8_t op2, int r, struct hop h)
{
	pfx16(e, size);
	rex_for(e, r, h);
	e8(e, 0x0f);
	e8(e, op2);
	modrm_for(e, r, h);
}

static void e_imm(struct emit *e, int size, uint32_t v)
{
	if (size == 1)
		e8(e, (uint8_t)v);
	else if (size == 2) {
		e8(e, (uint8_t)v);
		e8(e, (uint8_t)(v >> 8));
	} else
		e32(e, v);
}

/* reg <- host operand / host operand <- reg, at the given size */
static void e_ld(struct emit *e, int size, int r, struct hop h) { e_sized(e, size, 0x8a, r, h); }
static void e_st(struct emit *e, int size, int r, struct hop h) { e_sized(e, size, 0x88, r, h); }

/* lea r32, [r64 + disp32] for the temporaries (RAX..RDI) */
static void e_lea_disp(struct emit *e, int dst, int src, int32_t disp)
{
	e8(e, 0x8d);
	e8(e, (uint8_t)(0x80 | (dst << 3) | src));
	e32(e, (uint32_t)disp);
}

/* ---- the inline memory probe ---- */

/* EAX = the effective address of in's memory operand, from the cached
 * guest registers. */
static void emit_ea(struct tstate *ts, const struct insn *in)
{
	struct emit *e = ts->e;
	int b = in->base, x = in->index;
	if (b != REG_NONE && x != REG_NONE) {
		e8(e, 0x43);                                       /* REX.X REX.B */
		e8(e, 0x8d); e8(e, 0x84);
		e8(e, (uint8_t)((in->scale << 6) | ((x & 7) << 3) | (b & 7)));
		e32(e, (uint32_t)in->disp);
	} else if (b != REG_NONE) {
		e_lea_r(e, H_RAX, ts_greg(b), in->disp);
	} else if (x != REG_NONE) {
		e8(e, 0x42);                                       /* REX.X */
		e8(e, 0x8d); e8(e, 0x04);
		e8(e, (uint8_t)((in->scale << 6) | ((x & 7) << 3) | 5));
		e32(e, (uint32_t)in->disp);
	} else {
		e_mov32_imm(e, H_RAX, (uint32_t)in->disp);
	}
	if (in->asize == 2)
		e_zext16(e, H_RAX);
}

/* EAX = offset in segment s -> EAX = linear address, or to the slow path.
 * Inline only for a segment whose limit spans 4 GiB (seg.fast, the flat
 * segments every 32-bit OS uses, whatever their base): the access is then
 * valid unless its offset wraps past 4 GiB, which with a zero base
 * (seg.fast0) the TLB check catches as a page crossing. Any other
 * segment is the handler's (limit and type faults); so is alignment
 * checking (tlb_set_off then names a TLB set that never hits). */
static void emit_seg_check(struct tstate *ts, struct slow *sl, int s, int size, int want)
{
	struct emit *e = ts->e;
	uint8_t *ok = NULL;
	if (ts->b->mode & bmode_flat_bit(s))
		return; /* flat in the block's mode: base 0, nothing to check */
	if (size > 1) {
		e_op_rm(e, 0xf6, 0, H_RBP, SEG_OFF(s, fast0));     /* test byte [fast0], want */
		e8(e, (uint8_t)want);
		ok = e_jcc_fwd(e, CC_NE);
	}
	e_op_rm(e, 0xf6, 0, H_RBP, SEG_OFF(s, fast));             /* test byte [fast], want */
	e8(e, (uint8_t)want);
	ts_slow_jump(ts, sl, CC_E);
	if (size > 1) {
		e_lea_disp(e, H_RCX, H_RAX, size - 1);            /* lea ecx, [rax+size-1] */
		e_cmp32_rr(e, H_RCX, H_RAX);                      /* cmp ecx, eax */
		ts_slow_jump(ts, sl, CC_B);
		e_patch_here(e, ok);
	}
	e_op_rm(e, 0x03, H_RAX, H_RBP, SEG_OFF(s, base));         /* add eax, [base] */
}

/* EAX = linear address -> RSI = host address, or to the slow path. The
 * tag compared is that of the access's last byte, looked up at its first
 * byte's slot: a page-crossing access misses (the slots differ), as
 * tlb_hit() requires. */
static void emit_tlb(struct tstate *ts, struct slow *sl, int size, int acc)
{
	struct emit *e = ts->e;
	int32_t tag = acc == ACC_W ? (int32_t)offsetof(struct tlb_entry, tag_w) : (int32_t)offsetof(struct tlb_entry, tag_r);
	e8(e, 0x89); e8(e, 0xc1);                                 /* mov ecx, eax */
	e8(e, 0xc1); e8(e, 0xe9); e8(e, 12 - 5);                  /* shr ecx, 7 */
	e8(e, 0x81); e8(e, 0xe1); e32(e, (TLB_SIZE - 1) << 5);    /* and ecx, index mask */
	int32_t set = (int32_t)bmode_tlb_set_off(ts->b->mode);  /* the block's CPL's set */
	e_lea_disp(e, H_RDX, H_RAX, size - 1);                    /* lea edx, [rax+size-1] */
	e8(e, 0x81); e8(e, 0xe2); e32(e, 0xfffff000u);            /* and edx, ~0xfff */
	e8(e, 0x3b); e8(e, 0x94); e8(e, 0x0d);                    /* cmp edx, [rbp+rcx+set+tag] */
	e32(e, (uint32_t)(TLBE_OFF + set + tag));
	ts_slow_jump(ts, sl, CC_NE);
	e8(e, 0x48); e8(e, 0x8b); e8(e, 0xb4); e8(e, 0x0d);       /* mov rsi, [rbp+rcx+set+addend] */
	e32(e, (uint32_t)(TLBE_OFF + set + (int32_t)offsetof(struct tlb_entry, addend)));
	e8(e, 0x48); e8(e, 0x01); e8(e, 0xc6);                    /* add rsi, rax */
}

/* Before a probe: the probe clobbers the host flags. If the guest's are
 * there, save them in EDI (LAHF and SETO: cheap, unlike POPF), where the
 * slow path and close_probe() find them. Returns 1 if saved. */
static int flags_before_probe(struct tstate *ts, const struct iflags *f, unsigned k)
{
	(void)f;
	(void)k;
	if (ts->fl == FL_BOTH)
		ts->fl = FL_MEM;
	if (ts->fl == FL_SAVED)
		return 1; /* saved by an earlier probe, still in EDI */
	if (ts->fl != FL_HOST)
		return 0;
	ts_flags_save(ts->e);
	ts->fl = FL_SAVED;
	return 1;
}

/* in's memory operand (size bytes, for acc) -> RSI = host address, or
 * to the slow path sl. */
static void probe_mem(struct tstate *ts, struct slow *sl, const struct insn *in, int size, int acc)
{
	emit_ea(ts, in);
	emit_seg_check(ts, sl, in->seg, size, acc == ACC_W ? SEG_OK_WRITE : SEG_OK_READ);
	emit_tlb(ts, sl, size, acc);
}

/* EAX = guest register r (32 bits) */
static void load_guest(struct tstate *ts, int dst, int r)
{
	e_ld(ts->e, 4, dst, hop_reg(r));
}

/* The stack slot at [EBP] (from_ebp), or for a push (at ESP - size) or a
 * pop (at ESP) -> RSI, or to the slow path sl. A 16-bit stack takes the
 * slow path. */
static void probe_stack(struct tstate *ts, struct slow *sl, int size, int push, int from_ebp)
{
	struct emit *e = ts->e;
	if (!(ts->b->mode & BMODE_STACK32)) {
		e_cmp8_mem_imm(e, CPU_OFF(stack32), 0); /* always equal: a 16-bit stack */
		ts_slow_jump(ts, sl, CC_E);
	}
	e_lea_r(e, H_RAX, ts_greg(from_ebp ? R_EBP : R_ESP), push ? -size : 0);
	emit_seg_check(ts, sl, S_SS, size, push ? SEG_OK_WRITE : SEG_OK_READ);
	emit_tlb(ts, sl, size, push ? ACC_W : ACC_R);
}

/* Open instruction k's slow path with the flags where it finds them. */
static struct slow *open_probe(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k,
			       const struct iflags *f, int *pushed)
{
	*pushed = flags_before_probe(ts, f, k);
	return ts_slow_open(ts, in, off, k, *pushed);
}

/* After the probe: the saved flags back into the host's if this
 * instruction reads them or leaves some of them that someone may still
 * look at; else they stay in EDI (FL_SAVED) until someone needs them —
 * a run of memory instructions saves them once. */
static void close_probe(struct tstate *ts, int saved, const struct iflags *f, unsigned k)
{
	if (saved && (f->read || (f->wmay && (ts->live_any[k] & ~f->wdef))))
		ts_flags_to_host(ts);
}

/* The probe for in's memory operand (size bytes, for acc). Leaves the
 * host address in RSI and returns the slow path, whose resume point the
 * caller sets when the instruction's fast path is complete. */
static struct slow *emit_probe(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k,
			       const struct iflags *f, int size, int acc)
{
	int pushed;
	struct slow *sl = open_probe(ts, in, off, k, f, &pushed);
	probe_mem(ts, sl, in, size, acc);
	close_probe(ts, pushed, f, k);
	return sl;
}

static struct slow *emit_stack_probe(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k,
				     const struct iflags *f, int size, int push)
{
	int pushed;
	struct slow *sl = open_probe(ts, in, off, k, f, &pushed);
	probe_stack(ts, sl, size, push, 0);
	close_probe(ts, pushed, f, k);
	return sl;
}

/* Probe seg:[reg] (a string operand) -> RSI, or to the slow path. */
static void probe_string(struct tstate *ts, struct slow *sl, int seg, int reg, int size, int acc)
{
	load_guest(ts, H_RAX, reg);
	emit_seg_check(ts, sl, seg, size, acc == ACC_W ? SEG_OK_WRITE : SEG_OK_READ);
	emit_tlb(ts, sl, size, acc);
}

/* reg += size, or -= size with EFLAGS.DF (clobbers the host flags). */
static void emit_string_step(struct tstate *ts, int reg, int size)
{
	struct emit *e = ts->e;
	e8(e, 0x0f); e8(e, 0xba);                                  /* bt dword [eflags], 10 */
	e_mem(e, 4, H_RBP, CPU_OFF(eflags));
	e8(e, 10);
	e8(e, 0x19); e8(e, 0xc0);                                  /* sbb eax, eax */
	e8(e, 0x83); e8(e, 0xe0); e8(e, (uint8_t)(-2 * size));     /* and eax, -2*size */
	e8(e, 0x83); e8(e, 0xc0); e8(e, (uint8_t)size);            /* add eax, size */
	e_sized(e, 4, 0x00, H_RAX, hop_reg(reg));           /* add reg, eax */
}

/* ESP += delta (no flags touched) */
static void emit_esp_add(struct tstate *ts, int32_t delta)
{
	e_lea_r(ts->e, ts_greg(R_ESP), ts_greg(R_ESP), delta);
}

/* ---- flags around an emitted instruction ---- */

/* Make the host flags hold what the instruction needs: the flags it
 * reads, and those it may leave unwritten that someone later sees. */
static void flags_for(struct tstate *ts, const struct iflags *f, unsigned k)
{
	uint32_t need = f->read;
	if (f->wmay)
		need |= ts->live_any[k] & ~f->wdef;
	if (need && (ts->fl == FL_MEM || ts->fl == FL_SAVED))
		ts_flags_to_host(ts);
}

static void flags_after(struct tstate *ts, const struct iflags *f)
{
	if (f->wmay)
		ts->fl = FL_HOST;
}

/* ---- branches ---- */

/* A branch target is inside any 4 GiB code segment: go on only when
 * CS.hi is 4G-1, else to the slow path, where the handler checks the
 * target and raises #GP(0) beyond the limit. No host flags touched (the
 * guest's may be there). Clobbers RCX. */
/* To the slow path sl unless ECX is 0, without touching the host flags */
static void emit_ecx_zero_or_slow(struct tstate *ts, struct slow *sl)
{
	struct emit *e = ts->e;
	e8(e, 0xe3); e8(e, 5);                                     /* jrcxz over */
	e8(e, 0xe9);                                               /* jmp slow */
	if (sl->njump == SLOW_MAX_JUMPS) {
		e->unfit = 1;
		e32(e, 0);
	} else {
		sl->jump[sl->njump++] = e->p;
		e32(e, 0);
	}
}

static void emit_cs_flat_check(struct tstate *ts, struct slow *sl)
{
	struct emit *e = ts->e;
	e_load32(e, H_RCX, SEG_OFF(S_CS, hi));
	e8(e, 0xf7); e8(e, 0xd1);                                  /* not ecx */
	emit_ecx_zero_or_slow(ts, sl);
}

/* EAX = target. Then leave the block for it, at static offset target_off
 * from the block's start (chainable) or, with TARGET_DYNAMIC, computed. */
#define TARGET_DYNAMIC INT32_MIN
static void emit_branch_exit(struct tstate *ts, struct slow *sl, unsigned k, int osize, int32_t target_off)
{
	struct emit *e = ts->e;
	if (osize == 2)
		e_zext16(e, H_RAX);
	emit_cs_flat_check(ts, sl);
	e_store32(e, H_RAX, CPU_OFF(eip));
	if (target_off == TARGET_DYNAMIC)
		ts_exit_dynamic(ts, k + 1);
	else if (osize == 2)
		ts_exit_next_abs(ts, k + 1);
	else
		ts_exit_static(ts, (uint32_t)target_off, k + 1, 1);
}

/* EAX = the block's entry EIP + rel_off (lazy EIP known at eip_off) */
static void emit_eip_plus(struct tstate *ts, int reg, uint32_t rel_off)
{
	e_load32(ts->e, reg, CPU_OFF(eip));
	e_lea_disp(ts->e, reg, reg, (int32_t)(rel_off - ts->eip_off));
}

static void emit_jcc(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k)
{
	struct emit *e = ts->e;
	int cc = in->opcode & 0xf;
	uint8_t *taken = e_jcc_fwd(e, cc);
	struct tstate save = *ts;
	ts_exit_next(ts, off + in->len, k + 1);
	e_patch_here(e, taken);
	ts->eip_off = save.eip_off;
	ts->icount_k = save.icount_k;
	ts->fl = save.fl;
	struct slow *sl = ts_slow_open(ts, in, off, k, 0);
	emit_eip_plus(ts, H_RAX, off + in->len + in->imm);
	emit_branch_exit(ts, sl, k, in->osize, (int32_t)(off + in->len + in->imm));
	sl->resume = e->p; /* never resumed: a CS-limit fault leaves the block */
}

/* ---- the instructions ---- */

/* The resume point of a slow path: here, with the state the fast path
 * has reached. */
static void end_probe(struct tstate *ts, struct slow *sl)
{
	if (sl) {
		sl->resume = ts->e->p;
		sl->fl_after = ts->fl;
	}
}

/* PUSHFD outside V86 mode (there vme.c may have it push VIF or fault):
 * EFLAGS with VM and RF read as 0. */
static void emit_pushf(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, const struct iflags *f)
{
	struct emit *e = ts->e;
	ts_flags_to_mem(ts);
	struct slow *sl = emit_stack_probe(ts, in, off, k, f, 4, 1);
	e_load32(e, H_RAX, CPU_OFF(eflags));
	e8(e, 0xa9); e32(e, FL_VM);                                /* test eax, VM */
	ts_slow_jump(ts, sl, CC_NE);
	e8(e, 0x25); e32(e, ~(uint32_t)(FL_VM | FL_RF));           /* and eax, ~(VM|RF) */
	e_st(e, 4, H_RAX, HOP_MEM);
	emit_esp_add(ts, -4);
	ts->fl = FL_MEM;
	end_probe(ts, sl);
}

/* POPFD at CPL 0 outside V86 mode (op_popf's first case: every flag but
 * VM, VIP and VIF; RF cleared) when it changes none of TF, RF, IOPL or
 * AC, which end the block; anything else is the handler's. It may set IF:
 * the translator then looks for a pending interrupt right after it (no
 * shadow after POPF). */
static void emit_popf(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, const struct iflags *f)
{
	struct emit *e = ts->e;
	/* cpu_set_eflags(): bits outside these never change */
	const uint32_t m = 0x003f7fd5u & ~(uint32_t)(FL_VM | FL_VIP | FL_VIF);
	struct slow *sl = emit_stack_probe(ts, in, off, k, f, 4, 0);
	e_load32(e, H_RCX, CPU_OFF(eflags));                       /* the IF..AC bits are current there */
	e8(e, 0xf7); e8(e, 0xc1); e32(e, FL_VM);                   /* test ecx, VM */
	ts_slow_jump(ts, sl, CC_NE);
	e_cmp8_mem_imm(e, CPU_OFF(cpl), 0);
	ts_slow_jump(ts, sl, CC_NE);
	e_ld(e, 4, H_RAX, HOP_MEM);                                /* the image */
	e8(e, 0x25); e32(e, m & ~(uint32_t)FL_RF);                 /* and eax, m & ~RF */
	e8(e, 0x89); e8(e, 0xca);                                  /* mov edx, ecx */
	e8(e, 0x81); e8(e, 0xe2); e32(e, ~m);                      /* and edx, ~m */
	e8(e, 0x09); e8(e, 0xd0);                                  /* or eax, edx */
	e8(e, 0x83); e8(e, 0xc8); e8(e, FL_1);                     /* or eax, 1 << 1 */
	e8(e, 0x31); e8(e, 0xc1);                                  /* xor ecx, eax */
	e8(e, 0xf7); e8(e, 0xc1); e32(e, FL_TF | FL_RF | FL_IOPL | FL_AC);  /* test ecx, ... */
	ts_slow_jump(ts, sl, CC_NE);
	e_store32(e, H_RAX, CPU_OFF(eflags));
	emit_esp_add(ts, 4);
	ts->fl = FL_MEM;
	end_probe(ts, sl);
	ts->irq_check_k = k + 1;
}

static void emit_alu(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, const struct iflags *f)
{
	struct emit *e = ts->e;
	int size = in->op[0].size, d = alu_digit(in->mnem);
	const struct opnd *src = &in->op[1];
	struct slow *sl = NULL;
	if (has_mem(in))
		sl = emit_probe(ts, in, off, k, f, size, in->op[0].kind == OPK_MEM && d != 7 ? ACC_W : ACC_R);
	struct hop dst = hop_of(in, 0);
	flags_for(ts, f, k);
	if (src->kind == OPK_MEM) {
		e_sized(e, size, (uint8_t)((d << 3) | 2), dst.reg, HOP_MEM); /* reg op= [rsi] */
	} else if (src->kind == OPK_IMM) {
		e_sized(e, size, 0x80, d, dst);
		e_imm(e, size, in->imm);
	} else {
		e_sized(e, size, (uint8_t)(d << 3), hop_of(in, 1).reg, dst);
	}
	flags_after(ts, f);
	end_probe(ts, sl);
}

/* Instructions of one memory or register operand (plus an immediate or
 * a register source): the probe if needed, then the body, then the slow
 * path's resume point. */
static struct slow *maybe_probe(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k,
				const struct iflags *f, int acc)
{
	for (int i = 0; i < in->nop; i++)
		if (in->op[i].kind == OPK_MEM)
			return emit_probe(ts, in, off, k, f, in->op[i].size, acc);
	return NULL;
}

/* An ALU, TEST, MOV or MOVZX/MOVSX with AH..BH: its register operands
 * are copied to RAX (operand 0's register) and RBX (operand 1's, if
 * another), where AH and BH have encodings without a REX prefix, the
 * instruction runs there, and the written register is copied back. */
static void emit_high_byte(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, const struct iflags *f)
{
	struct emit *e = ts->e;
	enum kind kd = kind_of(in);
	int size = in->op[0].size, d = alu_digit(in->mnem);
	struct slow *sl = NULL;
	int fam[2] = { -1, -1 }, tmp[2] = { H_RAX, H_RBX };
	struct hop h[2];
	int writes = kd == K_MOV || kd == K_MOVX || (kd == K_ALU && d != 7);
	if (has_mem(in))
		sl = emit_probe(ts, in, off, k, f, in->op[0].kind == OPK_MEM ? in->op[0].size : in->op[1].size,
				in->op[0].kind == OPK_MEM && writes ? ACC_W : ACC_R);
	if (kd == K_ALU || kd == K_TEST)
		flags_for(ts, f, k); /* before the copies: it uses RDX only */
	for (int i = 0; i < 2; i++) {
		const struct opnd *o = &in->op[i];
		if (o->kind == OPK_MEM) {
			h[i] = HOP_MEM;
			continue;
		}
		if (o->kind != OPK_REG) {
			h[i] = (struct hop){ -1, 0, 0 };
			continue;
		}
		int g = o->size == 1 ? (o->reg & 3) : o->reg;
		int t = i == 1 && fam[0] == g ? 0 : i;
		if (fam[t] != g) {
			fam[t] = g;
			e_ld(e, 4, tmp[t], hop_host(ts_greg(g)));      /* mov tmp, guest reg */
		}
		h[i] = hop_host(tmp[t] + (o->size == 1 && o->reg >= 4 ? 4 : 0));
	}
	switch (kd) {
	case K_ALU:
		if (in->op[1].kind == OPK_IMM) {
			e_sized(e, size, 0x80, d, h[0]);
			e_imm(e, size, in->imm);
		} else if (in->op[1].kind == OPK_MEM) {
			e_sized(e, size, (uint8_t)((d << 3) | 2), h[0].reg, HOP_MEM);
		} else {
			e_sized(e, size, (uint8_t)(d << 3), h[1].reg, h[0]);
		}
		break;
	case K_TEST:
		if (in->op[1].kind == OPK_IMM) {
			e_sized(e, size, 0xf6, 0, h[0]);
			e_imm(e, size, in->imm);
		} else {
			e_sized(e, size, 0x84, h[1].reg, h[0]);
		}
		break;
	case K_MOV:
		if (in->op[1].kind == OPK_IMM) {
			e_sized(e, size, 0xc6, 0, h[0]);
			e_imm(e, size, in->imm);
		} else if (in->op[1].kind == OPK_MEM) {
			e_ld(e, size, h[0].reg, HOP_MEM);
		} else {
			e_st(e, size, h[1].reg, h[0]);
		}
		break;
	default: /* K_MOVX: the source is AH..BH */
		e_0f(e, in->op[0].size == 2 ? 2 : 4,
		     (uint8_t)((in->mnem == ZYDIS_MNEMONIC_MOVSX ? 0xbe : 0xb6)), h[0].reg, h[1]);
		break;
	}
	if (writes && in->op[0].kind == OPK_REG)
		e_st(e, 4, tmp[0], hop_host(ts_greg(fam[0])));     /* mov guest reg, tmp */
	flags_after(ts, f);
	end_probe(ts, sl);
}

void ident_emit(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k)
{
	struct emit *e = ts->e;
	struct iflags f;
	ident_flags(in, &f);
	int size = in->op[0].size;
	struct slow *sl = NULL;
	if (has_high_byte(in)) {
		emit_high_byte(ts, in, off, k, &f);
		return;
	}
	switch (kind_of(in)) {
	case K_ALU:
		emit_alu(ts, in, off, k, &f);
		return;
	case K_TEST:
		sl = maybe_probe(ts, in, off, k, &f, ACC_R);
		if (in->op[1].kind == OPK_IMM) {
			struct hop h = hop_of(in, 0);
			flags_for(ts, &f, k);
			e_sized(e, size, 0xf6, 0, h);
			e_imm(e, size, in->imm);
		} else {
			int r = hop_of(in, 1).reg;
			struct hop h = hop_of(in, 0);
			flags_for(ts, &f, k);
			e_sized(e, size, 0x84, r, h);
		}
		break;
	case K_MOV: {
		sl = maybe_probe(ts, in, off, k, &f, in->op[0].kind == OPK_MEM ? ACC_W : ACC_R);
		if (in->op[1].kind == OPK_IMM) {
			e_sized(e, size, 0xc6, 0, hop_of(in, 0));
			e_imm(e, size, in->imm);
		} else if (in->op[1].kind == OPK_MEM) {
			e_ld(e, size, hop_of(in, 0).reg, HOP_MEM);
		} else {
			e_st(e, size, hop_of(in, 1).reg, hop_of(in, 0));
		}
		break;
	}
	case K_MOVX: {
		sl = maybe_probe(ts, in, off, k, &f, ACC_R);
		int ssz = in->op[1].size, sx = in->mnem == ZYDIS_MNEMONIC_MOVSX;
		struct hop s = hop_of(in, 1);
		struct hop d = hop_of(in, 0);
		/* into EAX, then the destination at its size (a 16-bit one
		 * keeps its upper half) */
		e_0f(e, 4, (uint8_t)((sx ? 0xbe : 0xb6) + (ssz == 2)), H_RAX, s);
		e_st(e, size, H_RAX, d);
		break;
	}
	case K_INCDEC:
	case K_NEG:
	case K_NOT: {
		sl = maybe_probe(ts, in, off, k, &f, ACC_W);
		struct hop h = hop_of(in, 0);
		flags_for(ts, &f, k);
		int digit = in->mnem == ZYDIS_MNEMONIC_INC ? 0 : in->mnem == ZYDIS_MNEMONIC_DEC ? 1
			    : in->mnem == ZYDIS_MNEMONIC_NOT ? 2 : 3;
		e_sized(e, size, digit < 2 ? 0xfe : 0xf6, digit, h);
		break;
	}
	case K_SHIFT: {
		sl = maybe_probe(ts, in, off, k, &f, ACC_W);
		int n = shift_count(in), digit = (in->modrm >> 3) & 7;
		if (n < 0)
			load_guest(ts, H_RCX, R_ECX);                     /* CL: the guest's */
		struct hop h = hop_of(in, 0);
		flags_for(ts, &f, k);
		e_sized(e, size, n < 0 ? 0xd2 : 0xc0, digit, h);
		if (n >= 0)
			e8(e, (uint8_t)n);
		break;
	}
	case K_IMUL: {
		sl = maybe_probe(ts, in, off, k, &f, ACC_R);
		struct hop src = hop_of(in, 1), dst = hop_of(in, 0);
		flags_for(ts, &f, k);
		if (in->nop == 2) {
			e_0f(e, size, 0xaf, dst.reg, src);
		} else {
			pfx16(e, size);
			rex_for(e, dst.reg, src);
			e8(e, 0x69);
			modrm_for(e, dst.reg, src);
			e_imm(e, size, in->imm);
		}
		break;
	}
	case K_LEA:
		emit_ea(ts, in);
		e_st(e, size, H_RAX, hop_of(in, 0));
		break;
	case K_XCHG: {
		struct hop a = hop_of(in, 0), b = hop_of(in, 1);
		e_ld(e, size, H_RAX, a);
		e_ld(e, size, H_RCX, b);
		e_st(e, size, H_RCX, a);
		e_st(e, size, H_RAX, b);
		break;
	}
	case K_SETCC: {
		sl = maybe_probe(ts, in, off, k, &f, ACC_W);
		struct hop h = hop_of(in, 0);
		flags_for(ts, &f, k);
		e_0f(e, 4, (uint8_t)(0x90 | (in->opcode & 0xf)), 0, h);
		break;
	}
	case K_CMOVCC: {
		sl = maybe_probe(ts, in, off, k, &f, ACC_R);
		struct hop src = hop_of(in, 1), dst = hop_of(in, 0);
		flags_for(ts, &f, k);
		e_0f(e, size, (uint8_t)(0x40 | (in->opcode & 0xf)), dst.reg, src);
		break;
	}
	case K_NOP:
		break;
	case K_BT: {
		static const uint8_t rr[4] = { 0xa3, 0xab, 0xb3, 0xbb }; /* BT BTS BTR BTC r/m, r */
		int which = in->mnem == ZYDIS_MNEMONIC_BT ? 0 : in->mnem == ZYDIS_MNEMONIC_BTS ? 1
			    : in->mnem == ZYDIS_MNEMONIC_BTR ? 2 : 3;
		sl = maybe_probe(ts, in, off, k, &f, which ? ACC_W : ACC_R);
		struct hop h = hop_of(in, 0);
		if (in->op[1].kind == OPK_IMM) {
			flags_for(ts, &f, k);
			e_0f(e, size, 0xba, 4 + which, h);
			e8(e, (uint8_t)in->imm);
		} else {
			/* both registers: the register form masks the offset to
			 * the operand, as the guest's does */
			struct hop b = hop_of(in, 1);
			flags_for(ts, &f, k);
			e_0f(e, size, rr[which], b.reg, h);
		}
		break;
	}
	case K_MUL: {
		sl = maybe_probe(ts, in, off, k, &f, ACC_R);
		struct hop h = hop_of(in, 0);
		flags_for(ts, &f, k); /* first: it may use RAX and RDX */
		load_guest(ts, H_RAX, R_EAX);
		e_sized(e, 4, 0xf6, 4, h);                                 /* mul dword h */
		e_st(e, 4, H_RAX, hop_reg(R_EAX));
		e_st(e, 4, H_RDX, hop_reg(R_EDX));
		break;
	}
	case K_DIV: {
		/* #DE (a zero divisor, a quotient past 32 bits: EDX >= the
		 * divisor) is the handler's: the slow path */
		ts_flags_to_mem(ts);
		sl = maybe_probe(ts, in, off, k, &f, ACC_R);
		if (!sl)
			sl = ts_slow_open(ts, in, off, k, 0);
		e_ld(e, 4, H_RCX, hop_of(in, 0));
		load_guest(ts, H_RDX, R_EDX);
		e_cmp32_rr(e, H_RDX, H_RCX);
		ts_slow_jump(ts, sl, CC_AE);
		ts->fl = FL_MEM;
		flags_for(ts, &f, k); /* the guest's flags in, as interp runs DIV */
		load_guest(ts, H_RAX, R_EAX);
		load_guest(ts, H_RDX, R_EDX);                              /* flags_for used RDX */
		e8(e, 0xf7); e8(e, 0xf1);                                  /* div ecx */
		e_st(e, 4, H_RAX, hop_reg(R_EAX));
		e_st(e, 4, H_RDX, hop_reg(R_EDX));
		break;
	}
	case K_PUSH: {
		int n = in->osize;
		sl = emit_stack_probe(ts, in, off, k, &f, n, 1);
		if (in->op[0].kind == OPK_IMM)
			e_mov32_imm(e, H_RCX, in->imm);
		else if (in->op[0].kind == OPK_SREG) /* zero-extended, as op_push */
			e_0f(e, 4, 0xb7, H_RCX, (struct hop){ -1, H_RBP, SEG_OFF(in->op[0].reg, sel) });
		else
			e_ld(e, n, H_RCX, hop_reg(in->op[0].reg));
		e_st(e, n, H_RCX, HOP_MEM);
		emit_esp_add(ts, -n);
		break;
	}
	case K_MOVSR:
		e_0f(e, 4, 0xb7, H_RCX, (struct hop){ -1, H_RBP, SEG_OFF(in->op[1].reg, sel) }); /* movzx ecx, sel */
		e_st(e, in->op[0].size, H_RCX, hop_reg(in->op[0].reg));
		break;
	case K_PUSHA:
		/* EAX, ECX, EDX, EBX, the ESP before, EBP, ESI, EDI: one probe
		 * of the 32 bytes (a page crossing takes the slow path) */
		sl = emit_stack_probe(ts, in, off, k, &f, 32, 1);
		for (int r = R_EAX; r <= R_EDI; r++)
			e_st(e, 4, ts_greg(r), (struct hop){ -1, H_RSI, 28 - 4 * r });
		emit_esp_add(ts, -32);
		break;
	case K_PUSHF:
		emit_pushf(ts, in, off, k, &f);
		return;
	case K_PAUSE: {
		/* a NOP, unless the board wants PAUSE to end the run (-smp:
		 * a spinning CPU lets the others go): then the handler */
		sl = ts_slow_open(ts, in, off, k, 0);
		e8(e, 0x0f); e_op_rm(e, 0xb6, H_RCX, H_RBP, CPU_OFF(pause_exit)); /* movzx ecx, byte [pause_exit] */
		emit_ecx_zero_or_slow(ts, sl);
		break;
	}
	case K_SAHF:
		/* the host's SAHF on the guest's AH (bits 8-15 of R8) */
		flags_for(ts, &f, k);
		e8(e, 0x44); e8(e, 0x89); e8(e, 0xc0);           /* mov eax, r8d */
		e8(e, 0x9e);                                     /* sahf */
		break;
	case K_POPF:
		emit_popf(ts, in, off, k, &f);
		return;
	case K_POPA:
		/* the same order back, the ESP image skipped */
		sl = emit_stack_probe(ts, in, off, k, &f, 32, 0);
		for (int r = R_EAX; r <= R_EDI; r++)
			if (r != R_ESP)
				e_ld(e, 4, ts_greg(r), (struct hop){ -1, H_RSI, 28 - 4 * r });
		emit_esp_add(ts, 32);
		break;
	case K_POP: {
		int n = in->osize;
		sl = emit_stack_probe(ts, in, off, k, &f, n, 0);
		e_ld(e, n, H_RCX, HOP_MEM);
		emit_esp_add(ts, n);
		e_st(e, n, H_RCX, hop_reg(in->op[0].reg));
		break;
	}
	case K_JCC:
		flags_for(ts, &f, k);
		emit_jcc(ts, in, off, k);
		return;
	case K_JMP:
		if (in->op[0].kind == OPK_MEM) {
			int pushed;
			sl = open_probe(ts, in, off, k, &f, &pushed);
			probe_mem(ts, sl, in, 4, ACC_R);
			e_ld(e, 4, H_RBX, HOP_MEM);
			emit_cs_flat_check(ts, sl);
			close_probe(ts, pushed, &f, k);
			e_store32(e, H_RBX, CPU_OFF(eip));
			ts_exit_dynamic(ts, k + 1);
			sl->resume = e->p;
			ts->ended = 1;
			return;
		}
		sl = ts_slow_open(ts, in, off, k, 0);
		if (in->op[0].kind == OPK_REL)
			emit_eip_plus(ts, H_RAX, off + in->len + in->imm);
		else
			load_guest(ts, H_RAX, in->op[0].reg);
		emit_branch_exit(ts, sl, k, in->osize,
				 in->op[0].kind == OPK_REL ? (int32_t)(off + in->len + in->imm) : TARGET_DYNAMIC);
		sl->resume = e->p;
		ts->ended = 1;
		return;
	case K_CALL: {
		/* the target's limit, then the push (one slow path for both) */
		int pushed;
		sl = open_probe(ts, in, off, k, &f, &pushed);
		if (in->op[0].kind == OPK_REL) {
			emit_eip_plus(ts, H_RBX, off + in->len + in->imm);
		} else if (in->op[0].kind == OPK_MEM) {
			probe_mem(ts, sl, in, 4, ACC_R);
			e_ld(e, 4, H_RBX, HOP_MEM);
		} else {
			e_ld(e, 4, H_RBX, hop_reg(in->op[0].reg));
		}
		emit_cs_flat_check(ts, sl);
		probe_stack(ts, sl, 4, 1, 0);
		emit_eip_plus(ts, H_RCX, off + in->len);
		e_st(e, 4, H_RCX, HOP_MEM);
		emit_esp_add(ts, -4);
		close_probe(ts, pushed, &f, k);
		e_store32(e, H_RBX, CPU_OFF(eip));
		if (in->op[0].kind == OPK_REL)
			ts_exit_static(ts, off + in->len + in->imm, k + 1, 1);
		else
			ts_exit_dynamic(ts, k + 1);
		sl->resume = e->p;
		ts->ended = 1;
		return;
	}
	case K_RET: {
		int pushed;
		sl = open_probe(ts, in, off, k, &f, &pushed);
		probe_stack(ts, sl, 4, 0, 0);
		e_ld(e, 4, H_RBX, HOP_MEM);
		emit_cs_flat_check(ts, sl);
		emit_esp_add(ts, 4 + (in->opcode == 0xc2 ? (int32_t)(in->imm & 0xffff) : 0));
		close_probe(ts, pushed, &f, k);
		e_store32(e, H_RBX, CPU_OFF(eip));
		ts_exit_dynamic(ts, k + 1);
		sl->resume = e->p;
		ts->ended = 1;
		return;
	}
	case K_STOS:
	case K_LODS:
	case K_MOVS: {
		int pushed, kd = kind_of(in);
		int n = (in->opcode & 1) ? in->osize : 1;
		sl = open_probe(ts, in, off, k, &f, &pushed);
		if (kd == K_STOS) {
			probe_string(ts, sl, S_ES, R_EDI, n, ACC_W);
			e_ld(e, n, H_RCX, hop_reg(R_EAX));
			e_st(e, n, H_RCX, HOP_MEM);
		} else if (kd == K_LODS) {
			probe_string(ts, sl, in->seg, R_ESI, n, ACC_R);
			e_ld(e, n, H_RCX, HOP_MEM);
			e_st(e, n, H_RCX, hop_reg(R_EAX));
		} else {
			probe_string(ts, sl, in->seg, R_ESI, n, ACC_R);
			e_ld(e, n, H_RBX, HOP_MEM);
			probe_string(ts, sl, S_ES, R_EDI, n, ACC_W);
			e_st(e, n, H_RBX, HOP_MEM);
		}
		/* the pushed flags go back after the DF arithmetic; without a
		 * push they are in struct cpu already (flags_before_probe) */
		if (kd != K_LODS)
			emit_string_step(ts, R_EDI, n);
		if (kd != K_STOS)
			emit_string_step(ts, R_ESI, n);
		close_probe(ts, pushed, &f, k);
		if (!pushed)
			ts->fl = FL_MEM; /* the host flags were clobbered */
		break;
	}
	case K_PUSHM: {
		int n = in->osize, pushed;
		sl = open_probe(ts, in, off, k, &f, &pushed);
		probe_mem(ts, sl, in, n, ACC_R);
		e_ld(e, n, H_RBX, HOP_MEM);
		probe_stack(ts, sl, n, 1, 0);
		e_st(e, n, H_RBX, HOP_MEM);
		emit_esp_add(ts, -n);
		close_probe(ts, pushed, &f, k);
		break;
	}
	case K_LEAVE: {
		int pushed;
		sl = open_probe(ts, in, off, k, &f, &pushed);
		probe_stack(ts, sl, 4, 0, 1);
		e_ld(e, 4, H_RCX, HOP_MEM);
		e_lea_r(e, ts_greg(R_ESP), ts_greg(R_EBP), 4);
		e_st(e, 4, H_RCX, hop_reg(R_EBP));
		close_probe(ts, pushed, &f, k);
		break;
	}
	case K_NONE:
		return;
	}
	flags_after(ts, &f);
	end_probe(ts, sl);
}
