/* The bt engine: guest code translated to x86-64 host code just before
 * it first runs, kept in the translation cache, blocks chained through
 * the trampoline. The loop around the blocks is the shared run core
 * (cpu/run.c); what bt adds is its way to run a block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "cpu/run.h"
#include "engine/bt/bt.h"
#include "engine/engine.h"

#define TCACHE_BYTES (64u << 20)

/* Can this block run as translated code here? A 16-bit block whose IP
 * would wrap past 0xFFFF inside it is left to the interpreter, which
 * masks IP instruction by instruction. */
static inline int translatable(const struct cpu *cpu, const struct block *b)
{
	return b->code32 || (cpu->eip & 0xffffu) + b->size <= 0x10000u;
}

/* The block's host code, translating it now if needed. NULL if it
 * cannot run translated. */
static const void *host_code_of(struct bt *bt, struct block *b)
{
	if (b->host_code == BT_INTERP_ONLY)
		return NULL;
	if (b->host_code)
		return b->host_code;
	int full = 0;
	const void *code = bt_translate(bt, b, &full);
	if (!code && !full) {
		/* A block the translator cannot take (a limit of its own):
		 * the interpreter runs it, every time. */
		bt->untranslatable++;
		b->host_code = BT_INTERP_ONLY;
		return NULL;
	}
	if (!code) {
		/* The cache is full: start again with both caches empty.
		 * Safe here: no translated code is running below us that
		 * would return into the cache (bt_next is reached through
		 * the fixed trampoline, and its caller's block is never
		 * returned to). */
		block_flush_all(bt->cpu);
		tcache_reset(bt);
		return NULL;
	}
	b->host_code = (void *)(uintptr_t)code;
	return code;
}

const void *bt_call(struct cpu *cpu, const struct bt_call *d)
{
	const struct insn *in = d->in;
	uint32_t eip = cpu->eip + (uint32_t)d->eip_adv;
	cpu->eip = eip;
	cpu->icount += (uint64_t)(int64_t)d->icount_adv;
	uint32_t next = eip + in->len;
	if (!d->code32)
		next &= 0xffffu;
	cpu->next_eip = next;
	in->fn(cpu, in); /* may raise: the state is exact for the run core */
	cpu->eip = cpu->next_eip;
	cpu->icount++;
	if (d->ends)
		return cpu->bt->next_mem_rx;
	/* A handler that changed what the block depends on or branched (a
	 * REP string instruction resuming itself) ends the block, and so
	 * does a device that raised an interrupt or asked to stop: bt_next()
	 * hands an interrupt or a stop to the run core at once, as after an
	 * interpreted block, and else goes on at the next instruction. */
	if (cpu->block_break || cpu->next_eip != next || cpu->intr_line || cpu->stop_request)
		return cpu->bt->next_mem_rx;
	if (d->restore) {
		cpu->eip = eip - (uint32_t)d->eip_adv;
		cpu->icount -= (uint64_t)((int64_t)d->icount_adv + 1);
	}
	return NULL;
}

void bt_chain(struct bt *bt, uint32_t site, const void *target_body)
{
	const uint8_t *target = (const uint8_t *)target_body - BT_PROLOGUE;
	int32_t rel = (int32_t)(target - (bt->rx + site + 4));
	memcpy(bt->rw + site, &rel, 4);
}

void bt_unchain(struct bt *bt, const void *body)
{
	uint8_t *entry = bt->rw + ((const uint8_t *)body - BT_PROLOGUE - bt->rx);
	int32_t rel = (int32_t)(bt->exit_rx - (bt->rx + (entry - bt->rw) + 5));
	entry[0] = 0xe9; /* jmp exit: the run core looks the EIP up afresh */
	memcpy(entry + 1, &rel, 4);
}

static void jc_clear(struct bt *bt)
{
	for (size_t i = 0; i < (1u << BT_JC_BITS); i++)
		bt->jc[i] = (struct bt_jc){ 1, 0, NULL };
}

static void flush_hook(void *opaque)
{
	jc_clear(opaque);
}

static void drop_hook(void *opaque, struct block *b)
{
	struct bt *bt = opaque;
	const uint8_t *code = b->host_code;
	/* Only translations of the cache's current generation are live. */
	if (code >= bt->rx + bt->fixed && code < bt->rx + bt->used)
		bt_unchain(bt, code);
}

/* Chained jumps skip the CS limit check of the block they reach, so they
 * are made and followed only with a flat code segment (the limit is then
 * 4 GiB and no block can pass it). */
static inline int cs_flat(const struct cpu *cpu)
{
	return cpu->seg[S_CS].lo == 0 && cpu->seg[S_CS].hi == 0xffffffffu;
}

const void *bt_next(struct cpu *cpu)
{
	uint32_t site = cpu->bt_patch;
	cpu->bt_patch = 0;
	if (cpu->bt_countdown <= 0 || !cpu_run_may_chain(cpu))
		return NULL;
	/* A handler that changed what blocks depend on (a far transfer, a
	 * mode or paging change, a code write) ended its block; what the run
	 * core would look at next is what cpu_run_may_chain() checks, and
	 * the lookup below finds the next block for the new mode, so the
	 * chain goes on — unless the code segment stopped being flat: the
	 * countdown was granted for chaining, which needs a flat one. */
	if (cpu->block_break) {
		if (!cs_flat(cpu))
			return NULL;
		cpu->block_break = 0;
	}
	struct bt *bt = cpu->bt;
	if (!site && cpu->code32 && cs_flat(cpu)) {
		/* The indirect-branch cache first, checked as translated code
		 * checks it (ts_exit_dynamic): the far transfers and handlers
		 * that end here return to the same few places. Its entry is the
		 * chained one, which counts the block and leads a dropped
		 * block's caller back to the run core. */
		uint32_t lin = cpu->seg[S_CS].base + cpu->eip;
		const struct bt_jc *j = &bt->jc[bt_jc_index(lin)];
		const struct tlb_entry *te = (const struct tlb_entry *)((const uint8_t *)cpu->tlb.e[0] + cpu->tlb_set_off) +
					     ((lin >> 12) & (TLB_SIZE - 1));
		if (j->lin == lin && te->tag_x == (lin & ~0xfffu) &&
		    ((uint32_t)(te->ppage >> 12) << 8 | cpu_block_mode(cpu)) == j->key)
			return j->entry;
	}
	cpu->bt_countdown--;
	/* May raise (#PF or #GP on the fetch): the state is exact, the run
	 * core delivers it at the new EIP as interp would. */
	struct block *b = block_lookup(cpu);
	if (!translatable(cpu, b))
		return NULL;
	size_t gen = bt->flushes;
	const void *code = host_code_of(bt, b);
	if (code && gen == bt->flushes && b->phys2 == PHYS_NONE && cs_flat(cpu)) {
		if (site)
			bt_chain(bt, site, code);
		if (cpu->code32) {
			uint32_t lin = cpu->seg[S_CS].base + cpu->eip;
			bt->jc[bt_jc_index(lin)] = (struct bt_jc){
				lin, (uint32_t)(b->phys >> 12) << 8 | b->mode, (const uint8_t *)code - BT_PROLOGUE };
		}
	}
	return code;
}

static unsigned bt_run_block(struct cpu *cpu, struct block *b, unsigned max_blocks, void *opaque)
{
	struct bt *bt = opaque;
	const void *code = translatable(cpu, b) ? host_code_of(bt, b) : NULL;
	if (!code) {
		run_interp_block(cpu, b, b->n);
		return 1;
	}
	cpu->block_break = 0;
	cpu->bt_patch = 0;
	cpu->bt_countdown = cs_flat(cpu) ? (int32_t)max_blocks - 1 : 0;
	bt->enter(cpu, code);
	int32_t left = cpu->bt_countdown < 0 ? 0 : cpu->bt_countdown;
	return max_blocks - (unsigned)left;
}

static struct engine *bt_create(struct cpu *cpu, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct bt *bt = calloc(1, sizeof(*bt));
	if (!e || !bt) {
		free(e);
		free(bt);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (tcache_init(bt, TCACHE_BYTES, err, errlen) < 0) {
		free(e);
		free(bt);
		return NULL;
	}
	bt->cpu = cpu;
	cpu->bt = bt;
	const char *st = getenv("RINGVM_BT_STATS");
	if (st && *st && strcmp(st, "0")) {
		bt->callouts = calloc(ZYDIS_MNEMONIC_MAX_VALUE + 1, sizeof(uint64_t));
		bt->slows = calloc(ZYDIS_MNEMONIC_MAX_VALUE + 1, sizeof(uint64_t));
	}
	bt->jc = malloc(sizeof(*bt->jc) << BT_JC_BITS);
	if (!bt->jc) {
		tcache_free(bt);
		free(e);
		free(bt);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	jc_clear(bt);
	block_set_hooks(cpu, drop_hook, flush_hook, bt);
	/* Blocks decoded before (by another engine) have no host code. */
	block_flush_all(cpu);
	e->ops = &bt_engine_ops;
	e->cpu = cpu;
	e->priv = bt;
	return e;
}

/* The top n of a per-mnemonic count, one line. */
static void print_top(const char *what, const uint64_t *c, int n)
{
	fprintf(stderr, "bt: %s:", what);
	uint64_t last = UINT64_MAX;
	for (int i = 0; i < n; i++) {
		int best = -1;
		for (int m = 0; m <= ZYDIS_MNEMONIC_MAX_VALUE; m++)
			if (c[m] < last && (best < 0 || c[m] > c[best]))
				best = m;
		if (best < 0 || !c[best])
			break;
		fprintf(stderr, " %s %llu", ZydisMnemonicGetString((ZydisMnemonic)best), (unsigned long long)c[best]);
		last = c[best];
	}
	fprintf(stderr, "\n");
}

static void print_stats(const struct bt *bt)
{
	fprintf(stderr, "bt: %llu blocks (%llu guest instructions) translated in %.3f s, %llu KiB of host code, "
		"%llu cache flushes, %llu blocks left to interp\n", (unsigned long long)bt->blocks_translated,
		(unsigned long long)bt->guest_insns_translated, (double)bt->translate_ns / 1e9,
		(unsigned long long)(bt->host_bytes >> 10), (unsigned long long)bt->flushes,
		(unsigned long long)bt->untranslatable);
	if (bt->callouts) {
		print_top("callouts run", bt->callouts, 25);
		print_top("slow paths run", bt->slows, 25);
	}
}

/* RINGVM_BT_DUMP=FILE: the translation cache as it is at exit, for
 * objdump -D -b binary -mi386:x86-64 (offsets are those perf reports for
 * the memfd mapping). */
static void dump_cache(const struct bt *bt)
{
	const char *path = getenv("RINGVM_BT_DUMP");
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(bt->rw, 1, bt->used, f) != bt->used)
		fprintf(stderr, "bt: cannot write %s\n", path);
	if (f)
		fclose(f);
}

static void bt_destroy(struct engine *e)
{
	struct bt *bt = e->priv;
	dump_cache(bt);
	if (bt->callouts)
		print_stats(bt);
	free(bt->callouts);
	free(bt->slows);
	if (e->cpu->bt == bt)
		e->cpu->bt = NULL;
	block_set_hooks(e->cpu, NULL, NULL, NULL);
	block_flush_all(e->cpu);
	tcache_free(bt);
	free(bt->jc);
	free(bt);
	free(e);
}

static enum cpu_stop bt_run(struct engine *e, uint64_t deadline_ns, uint64_t icount_limit)
{
	const struct run_engine re = { bt_run_block, e->priv };
	return cpu_run(e->cpu, deadline_ns, icount_limit, &re);
}

static void bt_sync(struct engine *e)
{
	(void)e; /* bt keeps no guest state outside struct cpu between runs */
}

const struct engine_ops bt_engine_ops = {
	.name = "bt",
	.create = bt_create,
	.destroy = bt_destroy,
	.run = bt_run,
	.sync_out = bt_sync,
	.sync_in = bt_sync,
};
