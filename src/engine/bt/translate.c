/* Translation: a decoded block becomes x86-64 host code.
 *
 * Every guest instruction becomes either host code the translator emits
 * itself (ident.c) or a callout: a call of the interpreter's handler for
 * that instruction with the guest state written back first, so that its
 * behaviour is the interpreter's by construction.
 *
 * EIP and icount are kept lazily: while a block runs, cpu->eip holds the
 * EIP of some earlier instruction of the block (the translator knows
 * which, at every point), and is brought up to date only before a
 * callout or an exit. The same holds for icount. The guest's arithmetic
 * flags stay in the host's flags between emitted instructions and are
 * written back only where something reads them from struct cpu; a
 * backward liveness pass tells where they are needed at all.
 */
#include <string.h>
#include <time.h>

#include "engine/bt/bt.h"
#include "engine/bt/tstate.h"
#include "engine/bt/x86emit.h"

#define REG_OFF(n) ((int32_t)(offsetof(struct cpu, r) + 4 * (size_t)(n)))

/* Both without touching the host flags (MOV and LEA only): the guest's
 * may be there. Clobber RAX. */
void ts_sync_eip(struct tstate *ts, uint32_t off)
{
	if (off != ts->eip_off) {
		e_load32(ts->e, H_RAX, CPU_OFF(eip));
		e_lea_r(ts->e, H_RAX, H_RAX, (int32_t)(off - ts->eip_off));
		e_store32(ts->e, H_RAX, CPU_OFF(eip));
	}
	ts->eip_off = off;
}

void ts_sync_icount(struct tstate *ts, unsigned k)
{
	if (k == ts->icount_k)
		return;
	struct emit *e = ts->e;
	e8(e, 0x48); e_op_rm(e, 0x8b, H_RAX, H_RBP, CPU_OFF(icount));       /* mov rax, [icount] */
	e8(e, 0x48); e8(e, 0x8d); e8(e, 0x80);                               /* lea rax, [rax+d] */
	e32(e, (uint32_t)((int32_t)k - (int32_t)ts->icount_k));
	e8(e, 0x48); e_op_rm(e, 0x89, H_RAX, H_RBP, CPU_OFF(icount));       /* mov [icount], rax */
	ts->icount_k = k;
}

/* Host RFLAGS -> cpu->eflags (arithmetic bits). Clobbers RAX, RCX and
 * the host flags. */
void ts_flags_to_mem(struct tstate *ts)
{
	struct emit *e = ts->e;
	if (ts->fl == FL_SAVED) {
		ts_flags_restore(e);
		ts->fl = FL_HOST;
	}
	if (ts->fl != FL_HOST) {
		ts->fl = FL_MEM;
		return;
	}
	e8(e, 0x9c);                                  /* pushfq */
	e8(e, 0x58);                                  /* pop rax */
	e8(e, 0x25); e32(e, FL_ARITH);                /* and eax, FL_ARITH */
	e_load32(e, H_RCX, CPU_OFF(eflags));
	e8(e, 0x81); e8(e, 0xe1); e32(e, ~FL_ARITH);  /* and ecx, ~FL_ARITH */
	e8(e, 0x09); e8(e, 0xc1);                     /* or ecx, eax */
	e_store32(e, H_RCX, CPU_OFF(eflags));
	ts->fl = FL_MEM;
}

/* cpu->eflags (arithmetic bits) -> host RFLAGS. Clobbers RDX only (the
 * emitted instructions hold their operands in RAX, RCX and RSI when they
 * ask for this). Only the arithmetic bits reach the host: never TF, DF,
 * AC or IF. */
void ts_flags_to_host(struct tstate *ts)
{
	struct emit *e = ts->e;
	if (ts->fl == FL_SAVED) {
		ts_flags_restore(e);
		ts->fl = FL_HOST;
		return;
	}
	if (ts->fl != FL_MEM)
		return;
	e_load32(e, H_RDX, CPU_OFF(eflags));
	e8(e, 0x81); e8(e, 0xe2); e32(e, FL_ARITH);   /* and edx, FL_ARITH */
	e8(e, 0x52);                                  /* push rdx */
	e8(e, 0x9d);                                  /* popfq */
	ts->fl = FL_BOTH;
}

void ts_exit_next(struct tstate *ts, uint32_t eip_off, unsigned k)
{
	ts_exit_static(ts, eip_off, k, 0);
}

/* Blocks pass the guest's flags to each other in the host flags. */
static void exit_flags(struct tstate *ts)
{
	ts_flags_to_host(ts);
}

void ts_exit_next_abs(struct tstate *ts, unsigned k)
{
	exit_flags(ts);
	ts_sync_icount(ts, k);
	e_jmp_to(ts->e, ts_rx(ts), ts->bt->next_rx);
}

/* An indirect branch (RET, JMP/CALL through a register): the EIP is in
 * cpu->eip. Look it up inline in the indirect-branch cache and check it
 * as block_lookup()'s chained check would — the TLB still maps the page
 * for fetch, at this privilege, to the physical page the block came
 * from; a dropped block's entry leads back to the run core — then jump
 * to the block's chained entry. Else through bt_next(). */
void ts_exit_dynamic(struct tstate *ts, unsigned k)
{
	struct emit *e = ts->e;
	exit_flags(ts);
	ts_sync_icount(ts, k);
	if (!ts->b->code32) {
		e_jmp_to(e, ts_rx(ts), ts->bt->next_rx);
		return;
	}
	e8(e, 0x9f);                                               /* lahf: the guest's flags */
	e8(e, 0x0f); e8(e, 0x90); e8(e, 0xc0);                     /* seto al */
	e8(e, 0x89); e8(e, 0xc3);                                  /* mov ebx, eax */
	int32_t tlbe = (int32_t)offsetof(struct cpu, tlb.e);
	int32_t cs_base = (int32_t)(offsetof(struct cpu, seg) + S_CS * sizeof(struct seg) + offsetof(struct seg, base));
	e_load32(e, H_RAX, CPU_OFF(eip));
	e_op_rm(e, 0x03, H_RAX, H_RBP, cs_base);                   /* add eax, [cs.base] */
	e8(e, 0x89); e8(e, 0xc1);                                  /* mov ecx, eax */
	e8(e, 0xc1); e8(e, 0xe9); e8(e, 12);                       /* shr ecx, 12 */
	e8(e, 0x31); e8(e, 0xc1);                                  /* xor ecx, eax */
	e8(e, 0x81); e8(e, 0xe1); e32(e, (1u << BT_JC_BITS) - 1);   /* and ecx, mask: bt_jc_index() */
	e8(e, 0xc1); e8(e, 0xe1); e8(e, 4);                        /* shl ecx, 4 */
	e_mov64_imm(e, H_RDX, (uint64_t)(uintptr_t)ts->bt->jc);
	e8(e, 0x3b); e8(e, 0x04); e8(e, 0x0a);                     /* cmp eax, [rdx+rcx] */
	uint8_t *miss1 = e_jcc_fwd(e, CC_NE);
	e8(e, 0x89); e8(e, 0xc6);                                  /* mov esi, eax */
	e8(e, 0xc1); e8(e, 0xee); e8(e, 12 - 5);                   /* shr esi, 7 */
	e8(e, 0x81); e8(e, 0xe6); e32(e, (TLB_SIZE - 1) << 5);     /* and esi, index mask */
	tlbe += (int32_t)bmode_tlb_set_off(ts->b->mode);           /* the block's CPL's set */
	e8(e, 0x89); e8(e, 0xc7);                                  /* mov edi, eax */
	e8(e, 0x81); e8(e, 0xe7); e32(e, 0xfffff000u);             /* and edi, ~0xfff */
	e8(e, 0x3b); e8(e, 0xbc); e8(e, 0x35);                     /* cmp edi, [rbp+rsi+tag_x] */
	e32(e, (uint32_t)(tlbe + (int32_t)offsetof(struct tlb_entry, tag_x)));
	uint8_t *miss2 = e_jcc_fwd(e, CC_NE);
	e8(e, 0x48); e8(e, 0x8b); e8(e, 0xbc); e8(e, 0x35);        /* mov rdi, [rbp+rsi+ppage] */
	e32(e, (uint32_t)(tlbe + (int32_t)offsetof(struct tlb_entry, ppage)));
	e8(e, 0x48); e8(e, 0xc1); e8(e, 0xef); e8(e, 4);           /* shr rdi, 4: the page number << 8 */
	/* the entry names the page and the mode of its block: this one's */
	e8(e, 0x81); e8(e, 0xcf); e32(e, ts->b->mode);             /* or edi, mode */
	e8(e, 0x3b); e8(e, 0x7c); e8(e, 0x0a); e8(e, 4);           /* cmp edi, [rdx+rcx+4] */
	uint8_t *miss3 = e_jcc_fwd(e, CC_NE);
	e8(e, 0x48); e8(e, 0x8b); e8(e, 0x54); e8(e, 0x0a); e8(e, 8); /* mov rdx, [rdx+rcx+8] */
	e8(e, 0x89); e8(e, 0xd8);                                  /* mov eax, ebx */
	e8(e, 0x04); e8(e, 0x7f);                                  /* add al, 0x7f */
	e8(e, 0x9e);                                               /* sahf */
	e8(e, 0xff); e8(e, 0xe2);                                  /* jmp rdx */
	e_patch_here(e, miss1);
	e_patch_here(e, miss2);
	e_patch_here(e, miss3);
	e8(e, 0x89); e8(e, 0xd8);                                  /* mov eax, ebx */
	e8(e, 0x04); e8(e, 0x7f);                                  /* add al, 0x7f */
	e8(e, 0x9e);                                               /* sahf */
	e_jmp_to(e, ts_rx(ts), ts->bt->next_rx);
}

/* Chaining (bt.h): a target on the block's own page keeps mapping to the
 * same physical page whenever the block runs, so a direct jump there
 * stays right; one on another page goes through bt_next() and its TLB
 * check every time. 16-bit code never chains: IP wraps at 64 KiB. */
void ts_exit_static(struct tstate *ts, uint32_t target_off, unsigned k, int eip_stored)
{
	struct emit *e = ts->e;
	exit_flags(ts);
	if (!eip_stored)
		ts_sync_eip(ts, target_off);
	ts_sync_icount(ts, k);
	uint32_t page_off = (ts->b->phys & 0xfff) + target_off;
	if (!ts->b->code32 || page_off >= 0x1000) {
		/* another page: the indirect-branch cache, which checks the
		 * page's mapping each time */
		ts_exit_dynamic(ts, k);
		return;
	}
	uint8_t *site = e_jmp_fwd(e);
	e_patch_here(e, site);
	/* the stub: mov dword [rbp+bt_patch], site; jmp next */
	e_op_rm(e, 0xc7, 0, H_RBP, CPU_OFF(bt_patch));
	e32(e, (uint32_t)(site - ts->bt->rw));
	e_jmp_to(e, ts_rx(ts), ts->bt->next_rx);
}

/* RINGVM_BT_STATS: count one more in counter[mnem] (flags are in
 * struct cpu here, so inc may clobber the host's). */
static void count(struct tstate *ts, uint64_t *counter, const struct insn *in)
{
	if (!counter)
		return;
	e_mov64_imm(ts->e, H_RAX, (uint64_t)(uintptr_t)&counter[in->mnem]);
	e8(ts->e, 0x48); e8(ts->e, 0xff); e8(ts->e, 0x00); /* inc qword [rax] */
}

/* Call in's handler through bt_call() (bt.c) with a descriptor placed
 * after the block: EIP, next_eip and icount exact, as interp's loop
 * would have them. bt_call() returns where to go: on (RAX = 0) or out
 * of the block. On, cpu->eip and icount are those after the instruction
 * (a callout) or back at the lazy values (restore, a slow path). */
static void call_handler(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, uint64_t *counter,
			 int restore)
{
	struct emit *e = ts->e;
	ts_flags_to_mem(ts);
	count(ts, counter, in);
	if (ts->ncall == BT_CALLS_MAX) {
		e->unfit = 1;
		return;
	}
	struct bt_call *d = &ts->calls[ts->ncall];
	*d = (struct bt_call){ .in = in, .eip_adv = (int32_t)(off - ts->eip_off),
			       .icount_adv = (int32_t)k - (int32_t)ts->icount_k, .restore = (uint8_t)restore,
			       .ends = (in->flags & INSN_ENDS_BLOCK) ? 1 : 0, .code32 = ts->b->code32 };
	e8(e, 0x48); e8(e, 0x8d); e8(e, 0x35);        /* lea rsi, [rip + descriptor] */
	ts->call_at[ts->ncall++] = e->p;
	e32(e, 0);
	e8(e, 0xe8);                                  /* call the trampoline's call */
	e32(e, (uint32_t)rel_to(ts_rx(ts) + 4, ts->bt->call_rx));
	ts->fl = FL_MEM;
	if (!restore) {
		ts->eip_off = off + in->len;
		ts->icount_k = k + 1;
	}
}

static void emit_callout(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k)
{
	call_handler(ts, in, off, k, ts->bt->callouts, 0);
	if (in->flags & INSN_ENDS_BLOCK) {
		e8(ts->e, 0xcc); /* bt_call() left through next: not reached */
		ts->ended = 1;
	}
}

struct slow *ts_slow_open(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, int pushed)
{
	if (ts->nslow == SLOW_MAX) {
		ts->e->unfit = 1; /* cannot happen: blocks hold 64 insns */
		return &ts->slow[0];
	}
	struct slow *s = &ts->slow[ts->nslow++];
	*s = (struct slow){ .in = in, .off = off, .k = k, .eip_off = ts->eip_off,
			    .icount_k = ts->icount_k, .fl_before = ts->fl, .pushed = pushed };
	return s;
}

void ts_slow_jump(struct tstate *ts, struct slow *s, int cc)
{
	if (s->njump == SLOW_MAX_JUMPS) {
		ts->e->unfit = 1;
		return;
	}
	s->jump[s->njump++] = e_jcc_fwd(ts->e, cc);
}

/* The slow path: the handler runs the whole instruction (walking the
 * page tables, raising the guest's fault, reaching MMIO), then the lazy
 * EIP, icount and flags are put back to what the fast path leaves. */
static void emit_slow(struct tstate *ts, struct slow *s)
{
	struct emit *e = ts->e;
	for (int i = 0; i < s->njump; i++)
		e_patch_here(e, s->jump[i]);
	ts->eip_off = s->eip_off;
	ts->icount_k = s->icount_k;
	ts->fl = s->fl_before;
	if (s->pushed) {
		ts_flags_restore(e); /* the guest's flags, as they were */
		ts->fl = FL_HOST;
	}
	call_handler(ts, s->in, s->off, s->k, ts->bt->slows, 1);
	if (s->in->flags & INSN_ENDS_BLOCK) {
		e8(e, 0xcc); /* bt_call() left through next: not reached */
		return;
	}
	if (s->fl_after != FL_MEM)
		ts_flags_to_host(ts);
	if (s->fl_after == FL_SAVED)
		ts_flags_save(e);
	e8(e, 0xe9);
	e32(e, (uint32_t)(s->resume - (e->p + 4)));
}

/* Backward liveness of the arithmetic flags (see struct tstate). For
 * live_any the block's end, every callout and every instruction that
 * may fault read them all; for live_host emitted readers and the block's
 * end do. */
static void flags_liveness(const struct block *b, uint32_t *any, uint32_t *host)
{
	uint32_t la = FL_ARITH, lh = FL_ARITH; /* the next block finds them in the host flags */
	for (int k = b->n - 1; k >= 0; k--) {
		any[k] = la;
		host[k] = lh;
		struct iflags f;
		if (ident_flags(&b->insn[k], &f)) {
			la = f.read | (la & ~f.wdef) | (f.fault ? FL_ARITH : 0);
			lh = f.read | (lh & ~f.wdef);
		} else {
			la = FL_ARITH;
			lh = 0;
		}
	}
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

const void *bt_translate(struct bt *bt, struct block *b, int *full)
{
	uint64_t t0 = now_ns();
	struct emit e = { bt->rw + bt->used, bt->rw + bt->size, 0, 0 };
	/* chained entry: leave when the countdown is spent, else count one
	 * more block; no host flags touched (the guest's are there) */
	e_load32(&e, H_RCX, CPU_OFF(bt_countdown));
	e8(&e, 0xe3); e8(&e, 0);                      /* jrcxz exit */
	uint8_t *jr = e.p;
	e_lea_r(&e, H_RCX, H_RCX, -1);
	e_store32(&e, H_RCX, CPU_OFF(bt_countdown));
	e8(&e, 0xeb); e8(&e, 5);                      /* jmp body */
	if (!e.overflow)
		jr[-1] = (uint8_t)(e.p - jr);
	e_jmp_to(&e, tcache_rx(bt, e.p), bt->exit_rx);
	uint8_t *start = e.p;
	if (e.overflow || start - (bt->rw + bt->used) != BT_PROLOGUE) {
		*full = 1;
		return NULL;
	}
	uint32_t live_any[BLOCK_MAX_INSNS], live_host[BLOCK_MAX_INSNS];
	flags_liveness(b, live_any, live_host);
	struct tstate ts = { .bt = bt, .b = b, .e = &e, .fl = FL_HOST, .live_any = live_any, .live_host = live_host };
	uint32_t off = 0;
	for (unsigned k = 0; k < b->n && !ts.ended; k++) {
		const struct insn *in = &b->insn[k];
		struct iflags f;
		if (ident_flags(in, &f))
			ident_emit(&ts, in, off, k);
		else if (iflag_inline(b, k))
			iflag_emit(&ts, in, off, k);
		else
			emit_callout(&ts, in, off, k);
		off += in->len;
		if (ts.irq_check_k == k + 1 && !ts.ended)
			iflag_check(&ts, off, k + 1);
	}
	if (!ts.ended)
		ts_exit_next(&ts, off, b->n);
	for (int i = 0; i < ts.nslow; i++)
		emit_slow(&ts, &ts.slow[i]);
	/* the call descriptors, read by bt_call() through the executable view */
	while ((uintptr_t)e.p & 7)
		e8(&e, 0xcc);
	for (int i = 0; i < ts.ncall && !e.overflow; i++) {
		if (e.p + sizeof(struct bt_call) > e.end) {
			e.overflow = 1;
			break;
		}
		int32_t rel = (int32_t)(e.p - (ts.call_at[i] + 4));
		memcpy(ts.call_at[i], &rel, 4);
		memcpy(e.p, &ts.calls[i], sizeof(struct bt_call));
		e.p += sizeof(struct bt_call);
	}
	if (e.overflow || e.unfit) {
		*full = e.overflow;
		return NULL;
	}
	bt->used = (size_t)(e.p - bt->rw + 15) & ~(size_t)15;
	tcache_settle(bt);
	bt->host_bytes += (size_t)(e.p - start) + BT_PROLOGUE;
	bt->blocks_translated++;
	bt->guest_insns_translated += b->n;
	bt->translate_ns += now_ns() - t0;
	return tcache_rx(bt, start);
}
