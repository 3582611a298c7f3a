/* Translation: a decoded block becomes x86-64 host code.
 *
 * Every guest instruction becomes either host code the translator emits
 * itself (see ident.c) or a callout: a call of the interpreter's handler
 * for that instruction with the guest state written back first, so that
 * its behaviour is the interpreter's by construction.
 *
 * EIP and icount are kept lazily: while a block runs, cpu->eip holds the
 * EIP of some earlier instruction of the block (the translator knows
 * which, at every point), and is brought up to date only before a
 * callout or an exit. The same holds for icount. So state is exact
 * wherever anything can look at it.
 */
#include <time.h>

#include "engine/bt/bt.h"
#include "engine/bt/tstate.h"
#include "engine/bt/x86emit.h"

void ts_sync_eip(struct tstate *ts, uint32_t off)
{
	if (off != ts->eip_off)
		e_add32_mem_imm(ts->e, CPU_OFF(eip), (int32_t)(off - ts->eip_off));
	ts->eip_off = off;
}

void ts_sync_icount(struct tstate *ts, unsigned k)
{
	while (k != ts->icount_k) {
		unsigned d = k - ts->icount_k;
		if (d > 127)
			d = 127;
		e_add64_mem_imm8(ts->e, CPU_OFF(icount), (int8_t)d);
		ts->icount_k += d;
	}
}

/* Host RFLAGS -> cpu->eflags (arithmetic bits). Clobbers RAX, RCX and
 * the host flags. */
void ts_flags_to_mem(struct tstate *ts)
{
	struct emit *e = ts->e;
	if (ts->fl != FL_HOST)
		return;
	e8(e, 0x9c);                                  /* pushfq */
	e8(e, 0x58);                                  /* pop rax */
	e8(e, 0x25); e32(e, FL_ARITH);                /* and eax, FL_ARITH */
	e_load32(e, H_RCX, CPU_OFF(eflags));
	e8(e, 0x81); e8(e, 0xe1); e32(e, ~FL_ARITH);  /* and ecx, ~FL_ARITH */
	e8(e, 0x09); e8(e, 0xc1);                     /* or ecx, eax */
	e_store32(e, H_RCX, CPU_OFF(eflags));
	ts->fl = FL_MEM;
}

/* cpu->eflags (arithmetic bits) -> host RFLAGS. Clobbers RAX. Only the
 * arithmetic bits reach the host: never TF, DF, AC or IF. */
void ts_flags_to_host(struct tstate *ts)
{
	struct emit *e = ts->e;
	if (ts->fl != FL_MEM)
		return;
	e_load32(e, H_RAX, CPU_OFF(eflags));
	e8(e, 0x25); e32(e, FL_ARITH);                /* and eax, FL_ARITH */
	e8(e, 0x50);                                  /* push rax */
	e8(e, 0x9d);                                  /* popfq */
	ts->fl = FL_BOTH;
}

/* Leave the block: everything is written back, then on to the next
 * block through the trampoline (which returns to the run core when it
 * must). */
void ts_exit_next(struct tstate *ts, uint32_t eip_off, unsigned k)
{
	ts_flags_to_mem(ts);
	ts_sync_eip(ts, eip_off);
	ts_sync_icount(ts, k);
	e_jmp_to(ts->e, tcache_rx(ts->bt, ts->e->p), ts->bt->next_rx);
}

/* The callout: the interpreter's handler runs the instruction on the
 * written-back state, exactly as interp would run it. */
static void emit_callout(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, int last)
{
	struct emit *e = ts->e;
	ts_flags_to_mem(ts);
	ts_sync_eip(ts, off);
	ts_sync_icount(ts, k);
	/* next_eip = eip + len (masked to IP in 16-bit code); RBX keeps it
	 * across the call to see whether the handler branched. */
	e_load32(e, H_RAX, CPU_OFF(eip));
	e_add32_imm(e, H_RAX, in->len);
	if (!ts->b->code32)
		e_zext16(e, H_RAX);
	e_store32(e, H_RAX, CPU_OFF(next_eip));
	e8(e, 0x89); e8(e, 0xc3);                     /* mov ebx, eax */
	e_mov64_rr(e, H_RDI, H_RBP);
	e_mov64_imm(e, H_RSI, (uint64_t)(uintptr_t)in);
	e_mov64_imm(e, H_RAX, (uint64_t)(uintptr_t)in->fn);
	e_call_rax(e);
	/* retired: eip = next_eip, icount + 1 */
	e_load32(e, H_RAX, CPU_OFF(next_eip));
	e_store32(e, H_RAX, CPU_OFF(eip));
	e_add64_mem_imm8(e, CPU_OFF(icount), 1);
	ts->eip_off = off + in->len;
	ts->icount_k = k + 1;
	ts->fl = FL_MEM;
	if (last || (in->flags & INSN_ENDS_BLOCK)) {
		e_jmp_to(e, tcache_rx(ts->bt, e->p), ts->bt->next_rx);
		ts->ended = 1;
		return;
	}
	/* A handler that changed what the block depends on, or branched
	 * (a REP string instruction resuming itself), ends the block: the
	 * state is already exact, so the run core takes over. */
	e_cmp8_mem_imm(e, CPU_OFF(block_break), 0);
	e_jcc_to(e, CC_NE, tcache_rx(ts->bt, e->p), ts->bt->exit_rx);
	e_cmp32_rr(e, H_RAX, H_RBX);
	e_jcc_to(e, CC_NE, tcache_rx(ts->bt, e->p), ts->bt->exit_rx);
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

const void *bt_translate(struct bt *bt, struct block *b)
{
	uint64_t t0 = now_ns();
	struct emit e = { bt->rw + bt->used, bt->rw + bt->size, 0 };
	uint8_t *start = e.p;
	struct tstate ts = { .bt = bt, .b = b, .e = &e, .fl = FL_MEM };
	uint32_t off = 0;
	for (unsigned k = 0; k < b->n && !ts.ended; k++) {
		const struct insn *in = &b->insn[k];
		if (!ident_emit(&ts, in, off, k))
			emit_callout(&ts, in, off, k, k + 1 == b->n);
		off += in->len;
	}
	if (!ts.ended)
		ts_exit_next(&ts, off, b->n);
	if (e.overflow)
		return NULL;
	bt->used = (size_t)(e.p - bt->rw + 15) & ~(size_t)15;
	bt->blocks_translated++;
	bt->guest_insns_translated += b->n;
	bt->translate_ns += now_ns() - t0;
	return tcache_rx(bt, start);
}
