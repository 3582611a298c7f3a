/* isa-debug-exit (see debug_exit.h). */
#include "dev/debug_exit.h"

static void dexit_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	const struct board_req *b = opaque;
	if (b->exit)
		b->exit(b->opaque, (int)(((v << 1) | 1) & 0xff));
}

static const struct bus_ops dexit_ops = { NULL, dexit_write, 0, "debug-exit" };

int debug_exit_init(struct bus *pio, uint16_t port, const struct board_req *board)
{
	/* Claim four ports so that an outw/outl lands here whole. */
	return bus_add_pio(pio, port, 4, &dexit_ops, (void *)board);
}
