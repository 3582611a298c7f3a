/* CLI, STI, CLD and STD as host code of the translator's own (see
 * tstate.h). CLD/STD only set or clear DF in cpu->eflags.
 *
 * Kernels run CLI ... STI around every short critical section; as
 * callouts each cost a trip through bt_call(), and an STI that set IF
 * also ended the block and had the run core interpret the instruction in
 * its shadow. Here both are emitted inline when they act on IF itself —
 * protected or real mode, not V86, CPL <= IOPL (SDM CLI/STI "Operation";
 * vme_if_is_real() then holds) — checked at run time, since the block
 * mode fixes neither CPL nor IOPL. Anything else (V86, CPL > IOPL: VIF
 * or #GP) takes the slow path, which is the interpreter's handler.
 *
 * The STI shadow stays exact without inhibit_irq: the instruction after
 * STI follows in the same block (iflag_inline() insists), and right
 * after it the block looks at the interrupt lines and, with one pending,
 * leaves through bt_next(), which hands it to the run core. Nothing
 * between STI and that check can leave the block except through a
 * handler (a fault, a callout or a slow path ending the block), and
 * those never chain past a pending interrupt.
 */
#include "engine/bt/tstate.h"

/* Is in a CLI, STI, CLD or STD that the translator emits itself? An STI only when
 * the next instruction is in this block and leaves it only through a
 * handler (not a branch: a chained jump would skip the check). */
int iflag_inline(const struct block *b, unsigned k)
{
	const struct insn *in = &b->insn[k];
	if (in->mnem == ZYDIS_MNEMONIC_CLI || in->mnem == ZYDIS_MNEMONIC_CLD || in->mnem == ZYDIS_MNEMONIC_STD)
		return 1;
	if (in->mnem != ZYDIS_MNEMONIC_STI)
		return 0;
	return k + 1 < b->n && !(b->insn[k + 1].flags & INSN_ENDS_BLOCK);
}

/* The guard clobbers the host flags: the guest's go to EDI. Returns 1
 * if they are there. */
static int flags_aside(struct tstate *ts)
{
	if (ts->fl == FL_BOTH)
		ts->fl = FL_MEM;
	if (ts->fl == FL_HOST) {
		ts_flags_save(ts->e);
		ts->fl = FL_SAVED;
	}
	return ts->fl == FL_SAVED;
}

void iflag_emit(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k)
{
	struct emit *e = ts->e;
	int pushed = flags_aside(ts);
	if (in->mnem == ZYDIS_MNEMONIC_CLD || in->mnem == ZYDIS_MNEMONIC_STD) {
		/* DF is only ever in cpu->eflags (never the host's) */
		int std = in->mnem == ZYDIS_MNEMONIC_STD;
		e_op_rm(e, 0x81, std ? 1 : 4, H_RBP, CPU_OFF(eflags));    /* or/and dword [eflags], imm */
		e32(e, std ? FL_DF : ~(uint32_t)FL_DF);
		return;
	}
	struct slow *sl = ts_slow_open(ts, in, off, k, pushed);
	e_load32(e, H_RAX, CPU_OFF(eflags));
	e8(e, 0xa9); e32(e, FL_VM);                                /* test eax, VM */
	ts_slow_jump(ts, sl, CC_NE);
	e8(e, 0x89); e8(e, 0xc1);                                  /* mov ecx, eax */
	e8(e, 0xc1); e8(e, 0xe9); e8(e, 12);                       /* shr ecx, 12 */
	e8(e, 0x83); e8(e, 0xe1); e8(e, 3);                        /* and ecx, 3: IOPL */
	e8(e, 0x0f); e_op_rm(e, 0xb6, H_RDX, H_RBP, CPU_OFF(cpl)); /* movzx edx, byte [cpl] */
	e8(e, 0x39); e8(e, 0xca);                                  /* cmp edx, ecx */
	ts_slow_jump(ts, sl, CC_A);                                /* CPL > IOPL */
	if (in->mnem == ZYDIS_MNEMONIC_CLI) {
		e8(e, 0x25); e32(e, ~(uint32_t)FL_IF);              /* and eax, ~IF */
		e_store32(e, H_RAX, CPU_OFF(eflags));
	} else {
		e8(e, 0x0d); e32(e, FL_IF);                         /* or eax, IF */
		e_store32(e, H_RAX, CPU_OFF(eflags));
		ts->irq_check_k = k + 2; /* after the next one */
	}
	sl->resume = e->p;
	sl->fl_after = ts->fl;
}

/* After the instruction in STI's shadow (k - 1 was the STI; off is the
 * EIP offset after k - 1's successor): with an interrupt or NMI pending,
 * leave through bt_next(), which gives it to the run core. No host flags
 * touched on the way on. */
void iflag_check(struct tstate *ts, uint32_t off, unsigned k)
{
	struct emit *e = ts->e;
	e8(e, 0x0f); e_op_rm(e, 0xb6, H_RCX, H_RBP, CPU_OFF(intr_line));   /* movzx ecx, byte [intr_line] */
	e8(e, 0x0f); e_op_rm(e, 0xb6, H_RAX, H_RBP, CPU_OFF(nmi_pending)); /* movzx eax, byte [nmi_pending] */
	e8(e, 0x8d); e8(e, 0x0c); e8(e, 0x01);                             /* lea ecx, [rcx+rax] */
	uint8_t *on = e->p + 1;
	e8(e, 0xe3); e8(e, 0);                                             /* jrcxz on */
	uint32_t eip_off = ts->eip_off;
	unsigned icount_k = ts->icount_k;
	int fl = ts->fl;
	ts_sync_eip(ts, off);
	ts_exit_next_abs(ts, k);
	ts->eip_off = eip_off;
	ts->icount_k = icount_k;
	ts->fl = fl;
	ptrdiff_t d = e->p - (on + 1);
	if (d > 127)
		e->unfit = 1;
	else if (!e->overflow)
		*on = (uint8_t)d;
}
