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
};

struct tstate {
	struct bt *bt;
	const struct block *b;
	struct emit *e;
	uint32_t eip_off;  /* cpu->eip = block's entry EIP + eip_off */
	unsigned icount_k; /* cpu->icount counts the first icount_k insns */
	int fl;            /* FL_* */
	int ended;         /* the block's exit has been emitted */
};

void ts_sync_eip(struct tstate *ts, uint32_t off);
void ts_sync_icount(struct tstate *ts, unsigned k);
void ts_flags_to_mem(struct tstate *ts);
void ts_flags_to_host(struct tstate *ts);
void ts_exit_next(struct tstate *ts, uint32_t eip_off, unsigned k);

/* ident.c: emit instruction k (at offset off in the block) as host code
 * of the translator's own. Returns 0 if it cannot (the caller emits a
 * callout), having emitted nothing. */
int ident_emit(struct tstate *ts, const struct insn *in, uint32_t off, unsigned k);

#endif
