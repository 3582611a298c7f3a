/* Handlers: MMX, SSE and SSE2 (SDM Vol. 1 ch. 9-11; Vol. 2 the page of
 * each mnemonic and its exception class, ch. 2.4 / Tables 22-x).
 *
 * Computational and data-movement instructions run on the host's own
 * SSE/MMX unit (sse_host.c); this file does what the host cannot do for
 * the guest: the #UD/#NM/#MF checks at the start, the guest memory
 * operand (16-byte alignment, segment and page faults before anything is
 * written), #XM or #UD for an unmasked SIMD exception, the MMX registers'
 * aliasing onto the x87 registers, and the few instructions that are
 * simpler in C (shifts and shuffles by an immediate, masked stores,
 * MXCSR, fences, CLFLUSH). docs/sse.md. */
#include "cpu/cpumodel.h"
#include "cpu/exec.h"

/* ---- MMX registers: the x87 registers R0-R7 (SDM Vol. 1, 9.5) ---- */

static uint64_t mm_read(const struct cpu *cpu, int i)
{
	uint64_t v;
	memcpy(&v, &cpu->fpu.st[i], 8);
	return v;
}

/* A write sets the register's sign and exponent to all ones. */
static void mm_write(struct cpu *cpu, int i, uint64_t v)
{
	uint16_t se = 0xffff;
	memcpy(&cpu->fpu.st[i], &v, 8);
	memcpy((uint8_t *)&cpu->fpu.st[i] + 8, &se, 2);
}

/* Every MMX instruction but EMMS sets TOP to 0 and marks all registers
 * valid (SDM Vol. 1, 9.5.1); the full tag word FNSAVE stores is derived
 * from the contents, as for the x87. */
static void mmx_transition(struct cpu *cpu)
{
	struct fpu *f = &cpu->fpu;
	f->fsw &= (uint16_t)~FSW_TOP;
	uint16_t ftw = 0;
	for (int i = 0; i < 8; i++)
		ftw |= (uint16_t)(x87_classify((const uint8_t *)&f->st[i]) << (2 * i));
	f->ftw = ftw;
}

/* ---- instruction entry (SDM Vol. 3, 2.5 Table 2-2; 13.1) ---- */

/* #UD with CR0.EM, and for an instruction on XMM registers with
 * CR4.OSFXSR clear; #NM with CR0.TS; an MMX instruction takes a pending
 * x87 exception (#MF, or FERR#). Returns 0 if the instruction must wait
 * for FERR# to be answered (next_eip is then left at it). */
static int simd_begin(struct cpu *cpu, int mmx, int sse)
{
	if (cpu->cr0 & CR0_EM)
		raise_ud(cpu);
	if (sse && !(cpu->cr4 & CR4_OSFXSR))
		raise_ud(cpu);
	if (cpu->cr0 & CR0_TS)
		cpu_raise(cpu, EXC_NM, 0, 0);
	if (mmx && (cpu->fpu.fsw & FSW_ES))
		return x87_pending(cpu);
	return 1;
}

static void operand_kinds(const struct insn *in, int *mmx, int *sse, int *mem)
{
	*mmx = *sse = 0;
	*mem = -1;
	for (int i = 0; i < in->nop; i++) {
		*mmx |= in->op[i].kind == OPK_MM;
		*sse |= in->op[i].kind == OPK_XMM;
		if (in->op[i].kind == OPK_MEM)
			*mem = i;
	}
}

/* ---- memory operands ---- */

/* The linear address of the memory operand after the segment checks
 * (and #AC for operands up to 8 bytes); a 16-byte operand of an aligned
 * form must be 16-byte aligned: #GP(0) "regardless of segment". */
static uint32_t simd_lin(struct cpu *cpu, const struct insn *in, int size, int want, int aligned)
{
	uint32_t lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), size, want);
	if (aligned && size == 16 && (lin & 15))
		raise_gp(cpu, 0);
	return lin;
}

static int piece(int left) { return left >= 4 ? 4 : left >= 2 ? 2 : 1; }

static void lin_read_bytes(struct cpu *cpu, uint32_t lin, uint8_t *buf, int len)
{
	for (int i = 0; i < len; i += piece(len - i))
		store_le(buf + i, piece(len - i), lin_read(cpu, lin + (uint32_t)i, piece(len - i), ACC_R));
}

static void lin_write_bytes(struct cpu *cpu, uint32_t lin, const uint8_t *buf, int len)
{
	for (int i = 0; i < len; i += piece(len - i))
		lin_write(cpu, lin + (uint32_t)i, piece(len - i), load_le(buf + i, piece(len - i)), ACC_W);
}

/* A store: every byte is checked (segment, alignment, pages) before the
 * first is written. */
static uint32_t store_check(struct cpu *cpu, const struct insn *in, int size, int aligned)
{
	uint32_t lin = simd_lin(cpu, in, size, SEG_OK_WRITE, aligned);
	mem_probe_write(cpu, in->seg, insn_ea(cpu, in), size);
	return lin;
}

/* Source operand n as bytes (size 8 or 16): a register or memory. */
static void src_read(struct cpu *cpu, const struct insn *in, int n, uint8_t *buf, int size)
{
	const struct opnd *o = &in->op[n];
	if (o->kind == OPK_XMM) {
		memcpy(buf, &cpu->sse.xmm[o->reg], (size_t)size);
	} else if (o->kind == OPK_MM) {
		uint64_t v = mm_read(cpu, o->reg);
		memcpy(buf, &v, 8);
	} else {
		lin_read_bytes(cpu, simd_lin(cpu, in, size, SEG_OK_READ, 1), buf, size);
	}
}

/* Destination register operand 0 (XMM or MM) from bytes. */
static void dst_write(struct cpu *cpu, const struct insn *in, const uint8_t *buf)
{
	if (in->op[0].kind == OPK_XMM) {
		memcpy(&cpu->sse.xmm[in->op[0].reg], buf, 16);
	} else {
		uint64_t v;
		memcpy(&v, buf, 8);
		mm_write(cpu, in->op[0].reg, v);
	}
}

static _Noreturn void simd_exception(struct cpu *cpu)
{
	/* SDM Vol. 3, 6.15 "Interrupt 19": #XM with CR4.OSXMMEXCPT, else #UD. */
	cpu_raise(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD, 0, 0);
}

/* ---- the host path ---- */

#define F_NODEST 1    /* EFLAGS is the result (COMISS and friends) */
#define F_UNALIGNED 2 /* a 16-byte memory operand may be misaligned */

static const uint8_t prefix_byte[4] = {0, 0x66, 0xf3, 0xf2};

static uint8_t insn_prefix(const struct insn *in)
{
	return prefix_byte[(in->flags & INSN_PFX_MASK) >> INSN_PFX_SHIFT];
}

/* Load every register class the stub might use from the guest registers
 * the ModRM fields name: host register 0 of each class from ModRM.reg,
 * register 1 from ModRM.rm. */
static void ctx_load(struct cpu *cpu, const struct insn *in, struct sse_ctx *ctx)
{
	int reg = (in->modrm >> 3) & 7, rm = in->modrm & 7;
	ctx->x[0] = cpu->sse.xmm[reg];
	ctx->x[1] = cpu->sse.xmm[rm];
	ctx->mm[0] = mm_read(cpu, reg);
	ctx->mm[1] = mm_read(cpu, rm);
	ctx->gpr[0] = cpu->r[reg];
	ctx->gpr[1] = cpu->r[rm];
	ctx->mxcsr = cpu->sse.mxcsr;
	memset(ctx->mem, 0, sizeof(ctx->mem));
}

static void simd_host(struct cpu *cpu, const struct insn *in, int how)
{
	int mmx, sse, mem;
	operand_kinds(in, &mmx, &sse, &mem);
	if (!simd_begin(cpu, mmx, sse))
		return;
	struct sse_ctx ctx;
	ctx_load(cpu, in, &ctx);
	int store = mem == 0 && !(how & F_NODEST);
	int size = mem >= 0 ? in->op[mem].size : 0;
	uint32_t lin = 0;
	if (store)
		lin = store_check(cpu, in, size, !(how & F_UNALIGNED));
	else if (mem >= 0)
		lin_read_bytes(cpu, simd_lin(cpu, in, size, SEG_OK_READ, !(how & F_UNALIGNED)), ctx.mem, size);
	int imm = in->opcode == 0xc2 ? (int)(in->imm & 0xff) : -1;
	sse_host_run(&ctx, sse_stub_index(insn_prefix(in), in->opcode, mem >= 0, imm));
	cpu->sse.mxcsr = ctx.mxcsr;
	if (ctx.trapped) {
		/* The x87-to-MMX transition has happened (as the host shows). */
		if (mmx)
			mmx_transition(cpu);
		simd_exception(cpu);
	}
	const struct opnd *d = &in->op[0];
	if (how & F_NODEST)
		cpu->eflags = (cpu->eflags & ~FL_ARITH) | (ctx.rflags & FL_ARITH);
	else if (store)
		lin_write_bytes(cpu, lin, ctx.mem, size);
	else if (d->kind == OPK_XMM)
		cpu->sse.xmm[d->reg] = ctx.x[d->imm_idx];
	else if (d->kind == OPK_MM)
		mm_write(cpu, d->reg, ctx.mm[d->imm_idx]);
	else if (d->kind == OPK_REG)
		cpu->r[d->reg] = ctx.gpr[d->imm_idx];
	if (mmx)
		mmx_transition(cpu);
}

static void op_simd(struct cpu *cpu, const struct insn *in) { simd_host(cpu, in, 0); }
static void op_simd_flags(struct cpu *cpu, const struct insn *in) { simd_host(cpu, in, F_NODEST); }
static void op_simd_unaligned(struct cpu *cpu, const struct insn *in) { simd_host(cpu, in, F_UNALIGNED); }

/* ---- shifts by an immediate (0F 71-73) ---- */

/* The count forms (0F D1.. F3) do the same with the count in a register:
 * run those on the host with the immediate as the count. */
static void shift_imm(struct cpu *cpu, const struct insn *in)
{
	int mmx = in->op[0].kind == OPK_MM;
	if (!simd_begin(cpu, mmx, !mmx))
		return;
	int ext = (in->modrm >> 3) & 7, rm = in->modrm & 7;
	uint8_t count = (uint8_t)in->imm;
	if (in->opcode == 0x73 && (ext == 3 || ext == 7)) { /* PSRLDQ / PSLLDQ: bytes */
		union xmm v = cpu->sse.xmm[rm], r = {{0}};
		int k = count > 16 ? 16 : count;
		for (int i = 0; i < 16; i++) {
			int from = ext == 3 ? i + k : i - k;
			r.b[i] = from >= 0 && from < 16 ? v.b[from] : 0;
		}
		cpu->sse.xmm[rm] = r;
		return;
	}
	static const uint8_t kind_op[8] = {0, 0, 0xd0, 0, 0xe0, 0, 0xf0, 0}; /* /2 SRL, /4 SRA, /6 SLL */
	struct sse_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.x[0] = cpu->sse.xmm[rm];
	ctx.x[1].q[0] = count;
	ctx.mm[0] = mm_read(cpu, rm);
	ctx.mm[1] = count;
	ctx.mxcsr = cpu->sse.mxcsr;
	uint8_t op = (uint8_t)(kind_op[ext] | (in->opcode - 0x70)); /* 71 -> D1/E1/F1, ... */
	sse_host_run(&ctx, sse_stub_index(insn_prefix(in), op, 0, -1));
	if (mmx) {
		mm_write(cpu, rm, ctx.mm[0]);
		mmx_transition(cpu);
	} else {
		cpu->sse.xmm[rm] = ctx.x[0];
	}
}

/* ---- shuffles, inserts, extracts by an immediate ---- */

static int begin_op(struct cpu *cpu, const struct insn *in, int *mmx)
{
	int sse, mem;
	operand_kinds(in, mmx, &sse, &mem);
	return simd_begin(cpu, *mmx, sse);
}

/* PSHUFW, PSHUFD, PSHUFLW, PSHUFHW */
static void op_pshuf(struct cpu *cpu, const struct insn *in)
{
	int mmx;
	if (!begin_op(cpu, in, &mmx))
		return;
	union xmm s = {{0}}, r;
	uint8_t imm = (uint8_t)in->imm;
	src_read(cpu, in, 1, s.b, mmx ? 8 : 16);
	r = s;
	switch (insn_prefix(in)) {
	case 0: /* PSHUFW mm: words */
	case 0xf2: /* PSHUFLW: low four words */
		for (int i = 0; i < 4; i++)
			r.w[i] = s.w[(imm >> (2 * i)) & 3];
		break;
	case 0xf3: /* PSHUFHW: high four words */
		for (int i = 0; i < 4; i++)
			r.w[4 + i] = s.w[4 + ((imm >> (2 * i)) & 3)];
		break;
	default: /* PSHUFD */
		for (int i = 0; i < 4; i++)
			r.d[i] = s.d[(imm >> (2 * i)) & 3];
		break;
	}
	dst_write(cpu, in, r.b);
	if (mmx)
		mmx_transition(cpu);
}

/* SHUFPS / SHUFPD: low half from the destination, high half from the
 * source. No SIMD floating-point exceptions. */
static void op_shufp(struct cpu *cpu, const struct insn *in)
{
	int mmx;
	begin_op(cpu, in, &mmx);
	union xmm d = cpu->sse.xmm[in->op[0].reg], s, r;
	uint8_t imm = (uint8_t)in->imm;
	src_read(cpu, in, 1, s.b, 16);
	if (in->mnem == ZYDIS_MNEMONIC_SHUFPS) {
		r.d[0] = d.d[imm & 3];
		r.d[1] = d.d[(imm >> 2) & 3];
		r.d[2] = s.d[(imm >> 4) & 3];
		r.d[3] = s.d[(imm >> 6) & 3];
	} else {
		r.q[0] = d.q[imm & 1];
		r.q[1] = s.q[(imm >> 1) & 1];
	}
	cpu->sse.xmm[in->op[0].reg] = r;
}

/* PINSRW xmm/mm, r32/m16, imm8 */
static void op_pinsrw(struct cpu *cpu, const struct insn *in)
{
	int mmx;
	if (!begin_op(cpu, in, &mmx))
		return;
	uint16_t w;
	if (in->op[1].kind == OPK_MEM)
		w = (uint16_t)lin_read(cpu, simd_lin(cpu, in, 2, SEG_OK_READ, 0), 2, ACC_R);
	else
		w = (uint16_t)cpu->r[in->op[1].reg];
	union xmm v;
	if (mmx) {
		v.q[0] = mm_read(cpu, in->op[0].reg);
		v.w[in->imm & 3] = w;
	} else {
		v = cpu->sse.xmm[in->op[0].reg];
		v.w[in->imm & 7] = w;
	}
	dst_write(cpu, in, v.b);
	if (mmx)
		mmx_transition(cpu);
}

/* PEXTRW r32, xmm/mm, imm8: the word, zero-extended. */
static void op_pextrw(struct cpu *cpu, const struct insn *in)
{
	int mmx;
	if (!begin_op(cpu, in, &mmx))
		return;
	union xmm v;
	src_read(cpu, in, 1, v.b, mmx ? 8 : 16);
	cpu->r[in->op[0].reg] = v.w[in->imm & (mmx ? 3 : 7)];
	if (mmx)
		mmx_transition(cpu);
}

/* ---- masked and non-temporal stores ---- */

/* MASKMOVQ / MASKMOVDQU: the bytes whose mask byte has its top bit set go
 * to DS:(E)DI (segment overridable). The whole area is checked first, so
 * a fault leaves memory unchanged. */
static void op_maskmov(struct cpu *cpu, const struct insn *in)
{
	int mmx;
	if (!begin_op(cpu, in, &mmx))
		return;
	int n = mmx ? 8 : 16;
	union xmm data, mask;
	src_read(cpu, in, 0, data.b, n);
	src_read(cpu, in, 1, mask.b, n);
	uint32_t ea = in->asize == 2 ? cpu->r[R_EDI] & 0xffff : cpu->r[R_EDI];
	uint32_t lin = seg_lin(cpu, in->seg, ea, n, SEG_OK_WRITE);
	mem_probe_write(cpu, in->seg, ea, n);
	for (int i = 0; i < n; i++)
		if (mask.b[i] & 0x80)
			lin_write(cpu, lin + (uint32_t)i, 1, data.b[i], ACC_W);
	if (mmx)
		mmx_transition(cpu);
}

/* MOVNTI m32, r32: an ordinary store here (no cache to bypass). */
static void op_movnti(struct cpu *cpu, const struct insn *in)
{
	op_write(cpu, in, 0, cpu->r[in->op[1].reg]);
}

/* ---- state ---- */

/* EMMS: every x87 register empty. */
static void op_emms(struct cpu *cpu, const struct insn *in)
{
	if (simd_begin(cpu, 1, 0))
		cpu->fpu.ftw = 0xffff;
}

static void op_ldmxcsr(struct cpu *cpu, const struct insn *in)
{
	simd_begin(cpu, 0, 1);
	uint32_t v = lin_read(cpu, simd_lin(cpu, in, 4, SEG_OK_READ, 0), 4, ACC_R);
	if (v & ~cpu->model->mxcsr_mask)
		raise_gp(cpu, 0); /* reserved bits (SDM Vol. 2, LDMXCSR) */
	cpu->sse.mxcsr = v;
}

static void op_stmxcsr(struct cpu *cpu, const struct insn *in)
{
	simd_begin(cpu, 0, 1);
	lin_write(cpu, simd_lin(cpu, in, 4, SEG_OK_WRITE, 0), 4, cpu->sse.mxcsr, ACC_W);
}

/* ---- ordering and cache control ---- */

/* SFENCE/LFENCE/MFENCE, PREFETCHh: one processor, no cache: nothing to
 * order or fetch. PREFETCH never faults (SDM Vol. 2, PREFETCHh). */
static void op_nothing(struct cpu *cpu, const struct insn *in) {}

/* CLFLUSH m8: the permission checks and faults of a byte load, also
 * allowed on an execute-only segment (SDM Vol. 2, CLFLUSH); there is no
 * cache, so nothing else. */
static void op_clflush(struct cpu *cpu, const struct insn *in)
{
	uint32_t lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), 1, SEG_OK_READ | SEG_OK_EXEC);
	mmu_translate(cpu, lin, ACC_R);
}

#define H(m) {ZYDIS_MNEMONIC_##m, op_simd, 0, 0}
#define X(m, fn) {ZYDIS_MNEMONIC_##m, fn, 0, 0}

const struct op_entry ops_sse_table[] = {
	/* SSE/SSE2 floating point */
	H(ADDPS), H(ADDSS), H(ADDPD), H(ADDSD), H(SUBPS), H(SUBSS), H(SUBPD), H(SUBSD),
	H(MULPS), H(MULSS), H(MULPD), H(MULSD), H(DIVPS), H(DIVSS), H(DIVPD), H(DIVSD),
	H(MINPS), H(MINSS), H(MINPD), H(MINSD), H(MAXPS), H(MAXSS), H(MAXPD), H(MAXSD),
	H(SQRTPS), H(SQRTSS), H(SQRTPD), H(SQRTSD), H(RCPPS), H(RCPSS), H(RSQRTPS), H(RSQRTSS),
	H(CMPPS), H(CMPSS), H(CMPPD),
	X(COMISS, op_simd_flags), X(UCOMISS, op_simd_flags), X(COMISD, op_simd_flags),
	X(UCOMISD, op_simd_flags),
	H(ANDPS), H(ANDNPS), H(ORPS), H(XORPS), H(ANDPD), H(ANDNPD), H(ORPD), H(XORPD),
	H(UNPCKLPS), H(UNPCKHPS), H(UNPCKLPD), H(UNPCKHPD), X(SHUFPS, op_shufp), X(SHUFPD, op_shufp),
	/* conversions */
	H(CVTPI2PS), H(CVTPS2PI), H(CVTTPS2PI), H(CVTSI2SS), H(CVTSS2SI), H(CVTTSS2SI),
	H(CVTPI2PD), H(CVTPD2PI), H(CVTTPD2PI), H(CVTSI2SD), H(CVTSD2SI), H(CVTTSD2SI),
	H(CVTPS2PD), H(CVTPD2PS), H(CVTSS2SD), H(CVTSD2SS), H(CVTDQ2PS), H(CVTPS2DQ),
	H(CVTTPS2DQ), H(CVTDQ2PD), H(CVTPD2DQ), H(CVTTPD2DQ),
	/* moves */
	H(MOVAPS), X(MOVUPS, op_simd_unaligned), H(MOVSS), H(MOVLPS), H(MOVHPS), H(MOVLHPS),
	H(MOVHLPS), H(MOVAPD), X(MOVUPD, op_simd_unaligned), H(MOVLPD), H(MOVHPD), H(MOVMSKPS),
	H(MOVMSKPD), H(MOVD), H(MOVQ), H(MOVDQA), X(MOVDQU, op_simd_unaligned), H(MOVQ2DQ),
	H(MOVDQ2Q), H(MOVNTPS), H(MOVNTPD), H(MOVNTDQ), H(MOVNTQ), X(MOVNTI, op_movnti),
	X(MASKMOVQ, op_maskmov), X(MASKMOVDQU, op_maskmov),
	/* integer, on MMX and XMM registers */
	H(PADDB), H(PADDW), H(PADDD), H(PADDQ), H(PADDSB), H(PADDSW), H(PADDUSB), H(PADDUSW),
	H(PSUBB), H(PSUBW), H(PSUBD), H(PSUBQ), H(PSUBSB), H(PSUBSW), H(PSUBUSB), H(PSUBUSW),
	H(PMULLW), H(PMULHW), H(PMULHUW), H(PMULUDQ), H(PMADDWD),
	H(PCMPEQB), H(PCMPEQW), H(PCMPEQD), H(PCMPGTB), H(PCMPGTW), H(PCMPGTD),
	H(PAND), H(PANDN), H(POR), H(PXOR), H(PACKSSWB), H(PACKSSDW), H(PACKUSWB),
	H(PUNPCKLBW), H(PUNPCKLWD), H(PUNPCKLDQ), H(PUNPCKHBW), H(PUNPCKHWD), H(PUNPCKHDQ),
	H(PUNPCKLQDQ), H(PUNPCKHQDQ), H(PAVGB), H(PAVGW), H(PMAXSW), H(PMAXUB), H(PMINSW),
	H(PMINUB), H(PSADBW), H(PMOVMSKB),
	X(PSHUFW, op_pshuf), X(PSHUFD, op_pshuf), X(PSHUFLW, op_pshuf), X(PSHUFHW, op_pshuf),
	X(PINSRW, op_pinsrw), X(PEXTRW, op_pextrw),
	X(PSLLDQ, shift_imm), X(PSRLDQ, shift_imm),
	/* state, ordering, cache */
	X(EMMS, op_emms), X(LDMXCSR, op_ldmxcsr), X(STMXCSR, op_stmxcsr),
	X(SFENCE, op_nothing), X(LFENCE, op_nothing), X(MFENCE, op_nothing),
	X(PREFETCHNTA, op_nothing), X(PREFETCHT0, op_nothing), X(PREFETCHT1, op_nothing),
	X(PREFETCHT2, op_nothing), X(CLFLUSH, op_clflush),
	{0, 0, 0, 0},
};

/* The shifts: count in a register or memory (host), or an immediate. */
static insn_fn select_shift(const struct insn *in)
{
	return in->opcode >= 0x71 && in->opcode <= 0x73 ? shift_imm : op_simd;
}

#define S(m) {ZYDIS_MNEMONIC_##m, NULL, 0, select_shift}

const struct op_entry ops_sse_shift_table[] = {
	S(PSLLW), S(PSLLD), S(PSLLQ), S(PSRLW), S(PSRLD), S(PSRLQ), S(PSRAW), S(PSRAD),
	{0, 0, 0, 0},
};

/* CMPSD and MOVSD are also the string instructions' mnemonics: decode.c
 * takes these entries for their 0F-map (SSE2) forms. */
const struct op_entry ops_sse_alias_table[] = {
	H(CMPSD), H(MOVSD),
	{0, 0, 0, 0},
};
