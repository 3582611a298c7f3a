/* Handlers: the x87 FPU (SDM Vol. 1 ch. 8; Vol. 2 the F* instructions).
 *
 * Computational instructions run on the host's x87 unit (x87_host.c); this
 * file does what the host cannot do for the guest: the #NM and pending
 * #MF / FERR# checks at the start of an instruction, the guest memory
 * operand, the last-instruction pointers, and the control instructions
 * whose memory layouts depend on the guest's mode (x87_env.c). */
#include "cpu/exec.h"

/* ---- instruction entry: #NM, pending exceptions ---- */

void x87_sync_ferr(struct cpu *cpu)
{
	struct fpu *f = &cpu->fpu;
	if (f->fsw & FSW_ES)
		return;
	f->ignne = 0;
	if (f->ferr) {
		f->ferr = 0;
		if (cpu->ferr)
			cpu->ferr(cpu->bus ? cpu->bus->opaque : NULL, 0);
	}
}

/* A waiting instruction found an unmasked exception pending (ES=1).
 * CR0.NE=1: #MF, a fault on this instruction (SDM Vol. 3, 6.15 "Interrupt
 * 16"). CR0.NE=0 (MS-DOS compatibility, SDM Vol. 1, 8.7 and App. D): the
 * processor asserts FERR#, which the board turns into IRQ 13, and freezes
 * at this instruction until the handler clears the exception or the board
 * asserts IGNNE# (a write to port 0xF0). Returns 1 if the instruction may
 * go on, 0 if it must be retried (next_eip is left at it). */
int x87_pending(struct cpu *cpu)
{
	if (cpu->cr0 & CR0_NE)
		cpu_raise(cpu, EXC_MF, 0, 0);
	if (!cpu->ferr || cpu->fpu.ignne)
		return 1; /* nothing wired: behave as with IGNNE# asserted */
	if (!cpu->fpu.ferr) {
		cpu->fpu.ferr = 1;
		cpu->ferr(cpu->bus ? cpu->bus->opaque : NULL, 1);
	}
	cpu->next_eip = cpu->eip;
	cpu->block_break = 1;
	return 0;
}

/* SDM Vol. 3, 2.5, Table 2-2 "Action Taken By x87 FPU Instructions for
 * Different Combinations of EM, MP, and TS": any ESC instruction faults
 * #NM when EM or TS is set. */
static int x87_begin(struct cpu *cpu, int waiting)
{
	if (cpu->cr0 & (CR0_EM | CR0_TS))
		cpu_raise(cpu, EXC_NM, 0, 0);
	if (waiting && (cpu->fpu.fsw & FSW_ES))
		return x87_pending(cpu);
	return 1;
}

/* ---- memory operands ---- */

/* Operand bytes of each memory form, by escape byte and ModRM.reg: > 0 a
 * load of that many bytes, < 0 a store, 0 handled elsewhere. */
static const int8_t mem_size[8][8] = {
	{4, 4, 4, 4, 4, 4, 4, 4},           /* D8: m32fp arithmetic */
	{4, 0, -4, -4, 0, 2, 0, 0},         /* D9: FLD/FST/FSTP m32, FLDCW */
	{4, 4, 4, 4, 4, 4, 4, 4},           /* DA: m32int arithmetic */
	{4, 0, -4, -4, 0, 10, 0, -10},      /* DB: FILD/FIST/FISTP m32, m80 */
	{8, 8, 8, 8, 8, 8, 8, 8},           /* DC: m64fp arithmetic */
	{8, 0, -8, -8, 0, 0, 0, 0},         /* DD: FLD/FST/FSTP m64 */
	{2, 2, 2, 2, 2, 2, 2, 2},           /* DE: m16int arithmetic */
	{2, 0, -2, -2, 10, 8, -10, -8},     /* DF: m16int, FBLD, m64int, FBSTP */
};

static void read_operand(struct cpu *cpu, int seg, uint32_t ea, uint8_t *buf, int len)
{
	for (int i = 0; i < len;) {
		int n = len - i >= 4 ? 4 : 2;
		store_le(buf + i, n, mem_read(cpu, seg, ea + (uint32_t)i, n));
		i += n;
	}
}

static void write_operand(struct cpu *cpu, int seg, uint32_t ea, const uint8_t *buf, int len)
{
	for (int i = 0; i < len;) {
		int n = len - i >= 4 ? 4 : 2;
		mem_write(cpu, seg, ea + (uint32_t)i, n, load_le(buf + i, n));
		i += n;
	}
}

/* ---- computational instructions: on the host ---- */

#define X87_CTRL 1  /* a control instruction: FIP/FDP/FOP are kept */
#define X87_FLAGS 2 /* sets EFLAGS (FCOMI family) */

static void x87_exec(struct cpu *cpu, const struct insn *in, int how)
{
	if (!x87_begin(cpu, 1))
		return;
	uint8_t esc = in->opcode, modrm = in->modrm;
	uint8_t buf[16] = {0};
	int memform = (modrm >> 6) != 3;
	int size = 0;
	uint32_t ea = 0;
	if (memform) {
		size = mem_size[esc & 7][(modrm >> 3) & 7];
		ea = insn_ea(cpu, in);
		if (size > 0)
			read_operand(cpu, in->seg, ea, buf, size);
		else if (size < 0)
			mem_probe_write(cpu, in->seg, ea, -size);
		else
			raise_ud(cpu);
	}
	uint16_t raised = 0;
	uint32_t fl = 0;
	int done = memform ? !(how & X87_CTRL) && x87_fast_mem(&cpu->fpu, esc, modrm, buf, &raised)
			   : !(how & X87_FLAGS) && x87_fast_reg(&cpu->fpu, esc, modrm);
	if (!done)
		fl = x87_host_op(&cpu->fpu, esc, modrm, memform ? buf : NULL, cpu->eflags, &raised);
	/* An unmasked invalid-operation, denormal, zero-divide, overflow or
	 * underflow exception leaves a memory destination unchanged (SDM
	 * Vol. 1, 4.9.2 and 8.5: the masked response is not applied). */
	if (size < 0 && !(raised & ~cpu->fpu.fcw & (FSW_EXC & ~FSW_PE)))
		write_operand(cpu, in->seg, ea, buf, -size);
	if (how & X87_FLAGS)
		cpu->eflags = (cpu->eflags & ~FL_ARITH) | (fl & FL_ARITH);
	if (!(how & X87_CTRL)) {
		/* SDM Vol. 1, 8.1.8: the last non-control instruction. */
		struct fpu *f = &cpu->fpu;
		f->fip = cpu->eip;
		f->fcs = cpu->seg[S_CS].sel;
		f->fop = (uint16_t)(((esc & 7u) << 8) | modrm);
		if (memform) {
			f->fdp = ea;
			f->fds = cpu->seg[in->seg].sel;
		}
	}
	x87_sync_ferr(cpu);
}

static void op_x87(struct cpu *cpu, const struct insn *in) { x87_exec(cpu, in, 0); }
static void op_x87_flags(struct cpu *cpu, const struct insn *in) { x87_exec(cpu, in, X87_FLAGS); }
static void op_fldcw(struct cpu *cpu, const struct insn *in) { x87_exec(cpu, in, X87_CTRL); }

/* FNENI/FNDISI/FNSETPM: 8087/287 controls, ignored from the 387 on. */
static void op_fnop_legacy(struct cpu *cpu, const struct insn *in)
{
	x87_begin(cpu, 0);
}

/* ---- control instructions ---- */

static void op_fnstsw(struct cpu *cpu, const struct insn *in)
{
	x87_begin(cpu, 0);
	if (in->op[0].kind == OPK_REG)
		reg_write(cpu, R_EAX, 2, cpu->fpu.fsw);
	else
		mem_write(cpu, in->seg, insn_ea(cpu, in), 2, cpu->fpu.fsw);
}

static void op_fnstcw(struct cpu *cpu, const struct insn *in)
{
	x87_begin(cpu, 0);
	mem_write(cpu, in->seg, insn_ea(cpu, in), 2, cpu->fpu.fcw);
}

static void op_fnclex(struct cpu *cpu, const struct insn *in)
{
	x87_begin(cpu, 0);
	cpu->fpu.fsw &= ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
	x87_sync_ferr(cpu);
}

static void op_fninit(struct cpu *cpu, const struct insn *in)
{
	x87_begin(cpu, 0);
	x87_init_state(&cpu->fpu);
	x87_sync_ferr(cpu);
}

static void op_fnstenv(struct cpu *cpu, const struct insn *in)
{
	x87_begin(cpu, 0);
	x87_fstenv(cpu, in->seg, insn_ea(cpu, in), in->osize);
}

static void op_fldenv(struct cpu *cpu, const struct insn *in)
{
	if (x87_begin(cpu, 1))
		x87_fldenv(cpu, in->seg, insn_ea(cpu, in), in->osize);
}

static void op_fnsave(struct cpu *cpu, const struct insn *in)
{
	x87_begin(cpu, 0);
	x87_fsave(cpu, in->seg, insn_ea(cpu, in), in->osize);
}

static void op_frstor(struct cpu *cpu, const struct insn *in)
{
	if (x87_begin(cpu, 1))
		x87_frstor(cpu, in->seg, insn_ea(cpu, in), in->osize);
}

/* FXSAVE/FXRSTOR: #UD if CR0.EM, #NM if CR0.TS; they do not check for
 * pending x87 exceptions (SDM Vol. 2, FXSAVE "Protected Mode
 * Exceptions"). */
static void fx_begin(struct cpu *cpu)
{
	if (cpu->cr0 & CR0_EM)
		raise_ud(cpu);
	if (cpu->cr0 & CR0_TS)
		cpu_raise(cpu, EXC_NM, 0, 0);
}

static void op_fxsave(struct cpu *cpu, const struct insn *in)
{
	fx_begin(cpu);
	x87_fxsave(cpu, in->seg, insn_ea(cpu, in));
}

static void op_fxrstor(struct cpu *cpu, const struct insn *in)
{
	fx_begin(cpu);
	x87_fxrstor(cpu, in->seg, insn_ea(cpu, in));
}

/* WAIT/FWAIT: #NM only if CR0.MP and CR0.TS (SDM Vol. 3, Table 2-2),
 * then the pending-exception check. */
static void op_fwait(struct cpu *cpu, const struct insn *in)
{
	if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		cpu_raise(cpu, EXC_NM, 0, 0);
	if (cpu->fpu.fsw & FSW_ES)
		x87_pending(cpu);
}

#define X(m, fn) {ZYDIS_MNEMONIC_##m, fn, 0, 0}

const struct op_entry ops_x87_table[] = {
	/* loads, stores, exchanges */
	X(FLD, op_x87), X(FST, op_x87), X(FSTP, op_x87), X(FSTPNCE, op_x87),
	X(FILD, op_x87), X(FIST, op_x87), X(FISTP, op_x87),
	X(FBLD, op_x87), X(FBSTP, op_x87), X(FXCH, op_x87),
	X(FCMOVB, op_x87), X(FCMOVBE, op_x87), X(FCMOVE, op_x87), X(FCMOVU, op_x87),
	X(FCMOVNB, op_x87), X(FCMOVNBE, op_x87), X(FCMOVNE, op_x87), X(FCMOVNU, op_x87),
	/* constants */
	X(FLD1, op_x87), X(FLDZ, op_x87), X(FLDPI, op_x87), X(FLDL2E, op_x87),
	X(FLDL2T, op_x87), X(FLDLG2, op_x87), X(FLDLN2, op_x87),
	/* arithmetic */
	X(FADD, op_x87), X(FADDP, op_x87), X(FIADD, op_x87),
	X(FSUB, op_x87), X(FSUBP, op_x87), X(FISUB, op_x87),
	X(FSUBR, op_x87), X(FSUBRP, op_x87), X(FISUBR, op_x87),
	X(FMUL, op_x87), X(FMULP, op_x87), X(FIMUL, op_x87),
	X(FDIV, op_x87), X(FDIVP, op_x87), X(FIDIV, op_x87),
	X(FDIVR, op_x87), X(FDIVRP, op_x87), X(FIDIVR, op_x87),
	X(FPREM, op_x87), X(FPREM1, op_x87), X(FABS, op_x87), X(FCHS, op_x87),
	X(FRNDINT, op_x87), X(FSCALE, op_x87), X(FSQRT, op_x87), X(FXTRACT, op_x87),
	/* transcendental */
	X(FSIN, op_x87), X(FCOS, op_x87), X(FSINCOS, op_x87), X(FPTAN, op_x87),
	X(FPATAN, op_x87), X(F2XM1, op_x87), X(FYL2X, op_x87), X(FYL2XP1, op_x87),
	/* comparison */
	X(FCOM, op_x87), X(FCOMP, op_x87), X(FCOMPP, op_x87),
	X(FUCOM, op_x87), X(FUCOMP, op_x87), X(FUCOMPP, op_x87),
	X(FICOM, op_x87), X(FICOMP, op_x87), X(FTST, op_x87), X(FXAM, op_x87),
	X(FCOMI, op_x87_flags), X(FCOMIP, op_x87_flags),
	X(FUCOMI, op_x87_flags), X(FUCOMIP, op_x87_flags),
	/* stack and control */
	X(FFREE, op_x87), X(FFREEP, op_x87), X(FINCSTP, op_x87), X(FDECSTP, op_x87),
	X(FNOP, op_x87), X(FLDCW, op_fldcw), X(FNSTCW, op_fnstcw), X(FNSTSW, op_fnstsw),
	X(FNCLEX, op_fnclex), X(FNINIT, op_fninit),
	X(FLDENV, op_fldenv), X(FNSTENV, op_fnstenv), X(FRSTOR, op_frstor), X(FNSAVE, op_fnsave),
	X(FXSAVE, op_fxsave), X(FXRSTOR, op_fxrstor), X(FWAIT, op_fwait),
	X(FENI8087_NOP, op_fnop_legacy), X(FDISI8087_NOP, op_fnop_legacy),
	X(FSETPM287_NOP, op_fnop_legacy),
	{0, 0, 0, 0},
};
