/* The translator's state while it emits one block (internal to bt/). */
#ifndef RINGVM_BT_TSTATE_H
#define RINGVM_BT_TSTATE_H

#include <stddef.h>

#include "engine/bt/bt.h"
#include "engine/bt/x86emit.h"

#define CPU_OFF(f) ((int32_t)offsetof(struct cpu, f))

/* Where the guest's arithmetic flags are at this point of the block. */
enum {
	FL_MEM,  /* in cpu->eflags; the host flags hold nothing */
	FL_HOST, /* in the host flags; cpu->eflags is stale */
	FL_BOTH, /* the same in both */
	FL_SAVED, /* in EDI (ts_flags_save); cpu->eflags is stale, the host
		   * flags hold nothing */
};

/* An out-of-line slow path: the instruction's interpreter handler, run
 * when the inline fast path cannot (TLB miss, MMIO, a segment or page
 * check that may fault, a page-crossing access). Emitted after the
 * block's body; jumps back to resume. */
#define SLOW_MAX_JUMPS 16
struct slow {
	uint8_t *jump[SLOW_MAX_JUMPS]; /* rel32 fields that branch here */
	int njump;
	const struct insn *in;
	uint32_t off;      /* the instruction's offset in the block */
	unsigned k;        /* and its index */
	uint32_t eip_off;  /* lazy EIP and icount where the fast path is */
	unsigned icount_k;
	int fl_before;     /* flags state when the fast path began */
	int pushed;        /* the fast path saved the host flags in EDI */
	int fl_after;      /* flags state the fast path ends in */
	uint8_t *resume;   /* where the fast path goes on (writable view) */
};

#define SLOW_MAX 64
#define BT_CALLS_MAX (BLOCK_MAX_INSNS + SLOW_MAX)

struct tstate {
	struct bt *bt;
	const struct block *b;
	struct emit *e;
	uint32_t eip_off;  /* cpu->eip = block's entry EIP + eip_off */
	unsigned icount_k; /* cpu->icount counts the first icount_k insns */
	int fl;            /* FL_* */
	int ended;         /* the block's exit has been emitted */
	unsigned irq_check_k; /* after insn irq_check_k - 1 (the one in an
			       * inline STI's shadow, an inline POPF) look
			       * for a pending interrupt; 0: nowhere */
	/* Liveness of the arithmetic flags after insn k: live_any, flags
	 * anything may observe (an emitted reader, a callout, the exit, the
	 * guest's exception frame if a later instruction faults); live_host,
	 * flags an emitted reader needs from the host flags before the next
	 * point where they are written back anyway. */
	const uint32_t *live_any;
	const uint32_t *live_host;
	struct slow slow[SLOW_MAX];
	int nslow;
	struct bt_call calls[BT_CALLS_MAX];
	uint8_t *call_at[BT_CALLS_MAX]; /* their lea displacements */
	int ncall;
};

/* The host register that holds guest general register r inside
 * translated code (the trampolines move them in and out of struct cpu) */
static inline int ts_greg(int r) { return 8 + r; }
void ts_sync_eip(struct tstate *ts, uint32_t off);
void ts_sync_icount(struct tstate *ts, unsigned k);
void ts_flags_to_mem(struct tstate *ts);    /* clobbers RAX, RCX */
void ts_flags_to_host(struct tstate *ts);   /* clobbers RAX (from EDI) or RDX */
/* Leave the block to the EIP at eip_off (lazily tracked) / to the EIP
 * already stored in cpu->eip, after k instructions. */
void ts_exit_next(struct tstate *ts, uint32_t eip_off, unsigned k);
void ts_exit_next_abs(struct tstate *ts, unsigned k);
/* The same for a target at a known offset from the block's start: the
 * exit is chainable when the target lies on the block's page. */
void ts_exit_static(struct tstate *ts, uint32_t target_off, unsigned k, int eip_stored);
/* The same for an indirect branch (EIP already in cpu->eip). */
void ts_exit_dynamic(struct tstate *ts, unsigned k);
/* The guest's arithmetic flags, from the host's, into EDI and back: LAHF
 * takes SF ZF AF PF CF, SETO the overflow flag; ADD AL, 0x7F gives OF
 * back, SAHF the rest. Clobber RAX. */
static inline void ts_flags_save(struct emit *e)
{
	e8(e, 0x9f);                                  /* lahf */
	e8(e, 0x0f); e8(e, 0x90); e8(e, 0xc0);        /* seto al */
	e8(e, 0x89); e8(e, 0xc7);                     /* mov edi, eax */
}

static inline void ts_flags_restore(struct emit *e)
{
	e8(e, 0x89); e8(e, 0xf8);                     /* mov eax, edi */
	e8(e, 0x04); e8(e, 0x7f);                     /* add al, 0x7f */
	e8(e, 0x9e);                                  /* sahf */
}

/* The executable address of the current emit position. */
static inline const uint8_t *ts_rx(const struct tstate *ts)
{
	return tcache_rx(ts->bt, ts->e->p);
}

/* The arithmetic flags (and their effect) of an instruction the
 * translator emits itself; see ident.c. */
struct iflags {
	uint32_t read;     /* flags it reads */
	uint32_t wdef;     /* flags it always writes */
	uint32_t wmay;     /* flags it may write (a superset of wdef) */
	int fault;         /* it may raise a guest exception */
};

/* ident.c: can instruction in be emitted by the translator itself, and
 * how does it use the flags? */
int ident_flags(const struct insn *in, struct iflags *f);
/* ident.c: emit instruction k (at offset off in the block) as host code
 * of the translator's own. Only called when ident_flags() said yes. */
void ident_emit(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k);

/* iflag.c: CLI and STI emitted inline (see there). */
int iflag_inline(const struct block *b, unsigned k);
void iflag_emit(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k);
void iflag_check(struct tstate *ts, uint32_t off, unsigned k);

/* translate.c: open a slow path for instruction (in, off, k) whose fast
 * path starts now; ts_slow_jump() adds a branch to it. */
struct slow *ts_slow_open(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k, int pushed);
void ts_slow_jump(struct tstate *ts, struct slow *s, int cc);

#endif
