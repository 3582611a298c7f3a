/* Port 0x92 (see port92.h). */
#include "dev/port92.h"
#include "machine/snap.h"

#include <stddef.h>

static uint32_t p92_read(void *opaque, uint32_t off, int size)
{
	struct port92 *p = opaque;
	return p->val & 0x02;
}

static void p92_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct port92 *p = opaque;
	uint8_t old = p->val;
	p->val = (uint8_t)(v & 0x03);
	/* Every write drives the A20 line (the last of port 0x92 and the
	 * i8042 output port to be written wins, as on QEMU's pc). */
	if (p->board->set_a20)
		p->board->set_a20(p->board->opaque, (v & 0x02) != 0);
	if (!(old & 0x01) && (v & 0x01)) {
		p->val &= 0x02; /* bit 0 reads back 0 once the reset is done */
		if (p->board->reset)
			p->board->reset(p->board->opaque);
	}
}

static const struct bus_ops p92_ops = { p92_read, p92_write, 1, "port92" };

void port92_reset(struct port92 *p)
{
	p->val = 0;
}

int port92_init(struct port92 *p, struct bus *pio, const struct board_req *board)
{
	p->val = 0;
	p->board = board;
	return bus_add_pio(pio, 0x92, 1, &p92_ops, p);
}

/* ---- the board's device table (dev/dev.h) ---- */

static void port92_dev_reset(void *dev)
{
	port92_reset(dev);
}

static void port92_dev_save(void *dev, struct snap_w *w)
{
	struct port92 *p = dev;
	snap_u8(w, p->val);
}

static int port92_dev_load(void *dev, struct snap_r *r)
{
	struct port92 *p = dev;
	p->val = snap_get_u8(r);
	return 0;
}

const struct dev_ops port92_dev_ops = { "port92", port92_dev_reset, port92_dev_save, port92_dev_load };
