/* The binary translator's parts (internal to engine/bt/).
 *
 * tcache.c  the translation cache: one memfd mapped twice, writable for
 *           the translator and executable for the CPU (never both at one
 *           address), with the fixed trampolines at its start;
 * translate.c  a decoded block -> x86-64 host code;
 * bt.c      the engine: runs translated blocks under the shared run core.
 *
 * Translated code runs with RBP = struct cpu *, the guest's general
 * registers, EIP, EFLAGS and icount in struct cpu (so every callout into
 * an interpreter handler sees the exact guest state), and the guest's
 * arithmetic flags in the host's RFLAGS between instructions that the
 * translator emits itself.
 */
#ifndef RINGVM_BT_H
#define RINGVM_BT_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/block.h"
#include "cpu/cpu.h"

struct bt {
	struct cpu *cpu;
	int fd;
	uint8_t *rw, *rx;  /* the two views of the cache */
	size_t size;       /* bytes */
	size_t fixed;      /* trampolines: [0, fixed) survive a flush */
	size_t used;
	size_t settled;    /* [fixed, settled) of the writable view is unmapped */
	/* trampoline entry points (executable view) */
	void (*enter)(struct cpu *cpu, const void *code);
	const uint8_t *exit_rx;     /* back to bt_run_block's caller */
	const uint8_t *exit_mem_rx; /* the same, registers and flags already out */
	const uint8_t *next_rx;     /* bt_next(), then the block it returns */
	const uint8_t *next_fm_rx;  /* the same, the flags already out */
	const uint8_t *next_mem_rx; /* the same, registers and flags already out */
	const uint8_t *call_rx;     /* bt_call() with the CPU and RSI's descriptor */
	/* The indirect-branch cache: linear EIP -> chained entry, for RET
	 * and indirect JMP/CALL (see ts_exit_dynamic). */
	struct bt_jc *jc;
	/* statistics: printed at exit with RINGVM_BT_STATS=1 */
	uint64_t blocks_translated, guest_insns_translated, flushes;
	uint64_t translate_ns, host_bytes, untranslatable;
	/* with RINGVM_BT_STATS=1: callouts and slow paths run, by mnemonic
	 * (counted by the translated code itself) */
	uint64_t *callouts, *slows;
};

#define BT_JC_BITS 14
/* The slot of linear EIP lin. The page number is folded in: indexed by
 * the page offset alone, every page's code at the same offset shares a
 * slot (the Linux guest's boot missed 7.4 M times in 8 M that way).
 * ts_exit_dynamic() emits the same computation. */
static inline uint32_t bt_jc_index(uint32_t lin)
{
	return (lin ^ (lin >> 12)) & ((1u << BT_JC_BITS) - 1);
}
struct bt_jc {
	uint32_t lin;        /* linear EIP, or 1 (never a block's: empty) */
	uint32_t key;        /* physical page number it was translated from << 8
			      * | its block mode (36-bit addresses: it fits) */
	const void *entry;   /* the block's chained entry */
};

/* tcache.c */
int tcache_init(struct bt *bt, size_t size, char *err, size_t errlen);
void tcache_free(struct bt *bt);
/* Forget every translation (the blocks that held them are dropped by
 * the caller with block_flush_all()). */
void tcache_reset(struct bt *bt);
/* After a translation: let go of the writable view's pages the
 * translator has finished with (see tcache.c). */
void tcache_settle(struct bt *bt);
static inline const uint8_t *tcache_rx(const struct bt *bt, const uint8_t *rw)
{
	return bt->rx + (rw - bt->rw);
}

/* translate.c: host code for b at the end of the cache, or NULL when the
 * cache is full. Returns the executable address of the block's body,
 * which BT_PROLOGUE bytes of chained entry precede: chained jumps from
 * other blocks land there, and it returns to the run core when the
 * block allowance is spent. */
const void *bt_translate(struct bt *bt, struct block *b, int *full);
#define BT_PROLOGUE 28
/* block.host_code of a block the translator could not take (it sets
 * *full = 0 and returns NULL): the interpreter runs it. */
#define BT_INTERP_ONLY ((void *)(uintptr_t)1)

/* Chaining: a block exit whose target is on the same guest page jumps,
 * the first time, to a stub that records where its jump is
 * (cpu->bt_patch, an offset into the cache) and goes through bt_next();
 * bt_next() then points that jump straight at the next block's entry.
 * A dropped block's entry is overwritten with a jump back to the run
 * core, which unchains it from everything. */
void bt_chain(struct bt *bt, uint32_t site, const void *target_body);
void bt_unchain(struct bt *bt, const void *body);

/* bt.c: the trampoline's way on from one block to the next: host code
 * of the block at CS:EIP, or NULL to return to the run core. */
const void *bt_next(struct cpu *cpu);

/* A callout or slow path: run the interpreter's handler for in, with
 * the lazy EIP and icount advanced to it. */
struct bt_call {
	const struct insn *in;
	int32_t eip_adv;    /* the instruction's EIP - cpu->eip (lazy) */
	int32_t icount_adv; /* its index - what cpu->icount counts */
	uint8_t restore;    /* a slow path: put the lazy values back after */
	uint8_t ends;       /* it ends the block: leave through bt_next */
	uint8_t code32;
};
/* Returns NULL to go on in the block, else the trampoline to leave by
 * (the state is exact then). */
const void *bt_call(struct cpu *cpu, const struct bt_call *d);

#endif
