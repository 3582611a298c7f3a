/* Port 0xe9 debug console (see debugcon.h). */
#include "dev/debugcon.h"
#include "dev/dev.h"

static uint32_t dcon_read(void *opaque, uint32_t off, int size)
{
	return 0xe9;
}

static void dcon_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct debugcon *d = opaque;
	if (!d->out)
		return;
	if (d->len == DEBUGCON_BUF)
		debugcon_flush(d);
	d->buf[d->len++] = (unsigned char)v;
}

void debugcon_flush(struct debugcon *d)
{
	if (!d->len)
		return;
	fwrite(d->buf, 1, d->len, d->out);
	fflush(d->out);
	d->len = 0;
}

static const struct bus_ops dcon_ops = { dcon_read, dcon_write, 1, "debugcon" };

int debugcon_init_port(struct debugcon *d, struct bus *pio, uint16_t port, FILE *out)
{
	d->out = out;
	d->len = 0;
	return bus_add_pio(pio, port, 1, &dcon_ops, d);
}

int debugcon_init(struct debugcon *d, struct bus *pio, FILE *out)
{
	return debugcon_init_port(d, pio, 0xe9, out);
}

/* ---- the board's device table (dev/dev.h) ---- */

/* Its only state is output not yet written: flushed, there is nothing
 * left to carry. */
static void debugcon_dev_save(void *dev, struct snap_w *w)
{
	debugcon_flush(dev);
}

static int debugcon_dev_load(void *dev, struct snap_r *r)
{
	return 0;
}

const struct dev_ops debugcon_dev_ops = { "debugcon", NULL, debugcon_dev_save, debugcon_dev_load };
