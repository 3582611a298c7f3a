/* Port 0x80 (see post.h). */
#include "dev/post.h"

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
