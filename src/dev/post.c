/* Port 0x80 (see post.h). */
#include "dev/post.h"
#include "machine/snap.h"

#include <stddef.h>

static uint32_t post_read(void *opaque, uint32_t off, int size)
{
	struct post *p = opaque;
	return p->last;
}

static void post_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct post *p = opaque;
	p->last = (uint8_t)v;
}

static const struct bus_ops post_ops = { post_read, post_write, 1, "post" };

int post_init(struct post *p, struct bus *pio)
{
	p->last = 0;
	return bus_add_pio(pio, 0x80, 1, &post_ops, p);
}

/* ---- the board's device table (dev/dev.h) ---- */

static void post_dev_save(void *dev, struct snap_w *w)
{
	struct post *p = dev;
	snap_u8(w, p->last);
}

static int post_dev_load(void *dev, struct snap_r *r)
{
	struct post *p = dev;
	p->last = snap_get_u8(r);
	return 0;
}

const struct dev_ops post_dev_ops = { "post", NULL, post_dev_save, post_dev_load };
