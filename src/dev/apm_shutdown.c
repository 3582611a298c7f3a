/* Port 0x8900 "Shutdown" sequence (see apm_shutdown.h). */
#include "dev/apm_shutdown.h"
#include "machine/snap.h"

#include <stddef.h>

static const char magic[] = "Shutdown";

static void apm_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct apm_shutdown *a = opaque;
	char c = (char)(v & 0xff);
	if (c == magic[a->matched])
		a->matched++;
	else
		a->matched = c == magic[0];
	if (a->matched == (int)sizeof(magic) - 1) {
		a->matched = 0;
		if (a->board->poweroff)
			a->board->poweroff(a->board->opaque);
	}
}

static const struct bus_ops apm_ops = { NULL, apm_write, 1, "apm-shutdown" };

int apm_shutdown_init(struct apm_shutdown *a, struct bus *pio, const struct board_req *board)
{
	a->matched = 0;
	a->board = board;
	return bus_add_pio(pio, 0x8900, 1, &apm_ops, a);
}

/* ---- the board's device table (dev/dev.h) ---- */

static void apm_shutdown_dev_save(void *dev, struct snap_w *w)
{
	struct apm_shutdown *a = dev;
	snap_u32(w, (uint32_t)a->matched);
}

static int apm_shutdown_dev_load(void *dev, struct snap_r *r)
{
	struct apm_shutdown *a = dev;
	a->matched = (int)snap_get_u32(r);
	return 0;
}

const struct dev_ops apm_shutdown_dev_ops = { "apm_shutdown", NULL, apm_shutdown_dev_save, apm_shutdown_dev_load };
