/* The reference interpreter: runs decoded blocks instruction by
 * instruction; the loop around the blocks (interrupts, faults, debug
 * traps, budget) is the shared run core, cpu/run.c. */
#include <stdio.h>
#include <stdlib.h>

#include "cpu/block.h"
#include "cpu/run.h"
#include "engine/engine.h"

static struct engine *interp_create(struct cpu *cpu, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->ops = &interp_engine_ops;
	e->cpu = cpu;
	return e;
}

static void interp_destroy(struct engine *e)
{
	free(e);
}

static unsigned interp_block(struct cpu *cpu, struct block *b, unsigned max_blocks, void *opaque)
{
	(void)max_blocks;
	(void)opaque;
	run_interp_block(cpu, b, b->n);
	return 1;
}

static const struct run_engine interp_run_engine = { interp_block, NULL };

static enum cpu_stop interp_run(struct engine *e, uint64_t deadline_ns, uint64_t icount_limit)
{
	return cpu_run(e->cpu, deadline_ns, icount_limit, &interp_run_engine);
}

static void interp_sync(struct engine *e)
{
	(void)e; /* interp works on struct cpu directly */
}

const struct engine_ops interp_engine_ops = {
	.name = "interp",
	.create = interp_create,
	.destroy = interp_destroy,
	.run = interp_run,
	.sync_out = interp_sync,
	.sync_in = interp_sync,
};
