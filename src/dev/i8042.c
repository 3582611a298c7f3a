/* 8042 controller (IBM PC AT Technical Reference, "Keyboard controller";
 * the command set the Linux i8042 driver uses is in its i8042.h). */
#include "dev/i8042.h"
#include "machine/snap.h"

#include <stddef.h>

#include <string.h>

enum {
	STR_OBF = 0x01, STR_IBF = 0x02, STR_SYS = 0x04, STR_CMD = 0x08, STR_KEYLOCK = 0x10,
	STR_AUXDATA = 0x20, STR_TIMEOUT = 0x40, STR_PARITY = 0x80,
	CTR_KBDINT = 0x01, CTR_AUXINT = 0x02, CTR_SYS = 0x04, CTR_KBDDIS = 0x10, CTR_AUXDIS = 0x20,
	CTR_XLATE = 0x40,
};

/* Put the head of the queue into the output buffer and drive the IRQs:
 * IRQ1 for keyboard data, IRQ12 for aux data, each if enabled in the
 * command byte. */
static void update(struct i8042 *k)
{
	k->status &= (uint8_t)~(STR_OBF | STR_AUXDATA | STR_TIMEOUT);
	int irq1 = 0, irq12 = 0;
	if (k->q_count) {
		k->status |= STR_OBF;
		if (k->q_aux[k->q_head]) {
			k->status |= STR_AUXDATA;
			irq12 = (k->cmd_byte & CTR_AUXINT) != 0;
		} else {
			irq1 = (k->cmd_byte & CTR_KBDINT) != 0;
		}
		if (k->q_err[k->q_head])
			k->status |= STR_TIMEOUT;
	}
	irq_set(&k->irq1, irq1);
	irq_set(&k->irq12, irq12);
}

static void push(struct i8042 *k, uint8_t b, int aux, int err)
{
	if (k->q_count == KBD_QUEUE)
		return;
	int i = (k->q_head + k->q_count) % KBD_QUEUE;
	k->q[i] = b;
	k->q_aux[i] = (uint8_t)aux;
	k->q_err[i] = (uint8_t)err;
	k->q_count++;
	update(k);
}

static void set_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v;
	if (k->board && k->board->set_a20)
		k->board->set_a20(k->board->opaque, (v & 0x02) != 0);
	if (!(v & 0x01) && k->board && k->board->reset)
		k->board->reset(k->board->opaque); /* bit 0 is the CPU reset line */
}

/* A byte written to port 0x60 without a pending controller command goes
 * to the keyboard. */
static void kbd_write(struct i8042 *k, uint8_t v)
{
	if (k->kbd_pending) {
		uint8_t cmd = k->kbd_pending;
		k->kbd_pending = 0;
		push(k, 0xfa, 0, 0);
		if (cmd == 0xf0 && v == 0)
			push(k, 0x02, 0, 0); /* current scan code set */
		return;
	}
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf0: /* scan code set */
	case 0xf3: /* typematic rate */
		k->kbd_pending = v;
		push(k, 0xfa, 0, 0);
		break;
	case 0xee: /* echo */
		push(k, 0xee, 0, 0);
		break;
	case 0xf2: /* identify: an MF2 keyboard */
		push(k, 0xfa, 0, 0);
		push(k, 0xab, 0, 0);
		/* the controller translates the second ID byte too when it
		 * translates scan codes (set 2 0x83 -> set 1 0x41) */
		push(k, (k->cmd_byte & CTR_XLATE) ? 0x41 : 0x83, 0, 0);
		break;
	case 0xf4:
		k->kbd_enabled = 1;
		push(k, 0xfa, 0, 0);
		break;
	case 0xf5:
		k->kbd_enabled = 0;
		push(k, 0xfa, 0, 0);
		break;
	case 0xff: /* reset and self test */
		k->kbd_enabled = 1;
		push(k, 0xfa, 0, 0);
		push(k, 0xaa, 0, 0);
		break;
	default:
		push(k, 0xfa, 0, 0);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;
	k->pending_cmd = 0;
	k->status &= (uint8_t)~STR_CMD;
	switch (cmd) {
	case 0x60:
		k->cmd_byte = v;
		k->status = (uint8_t)((k->status & ~STR_SYS) | (v & CTR_SYS));
		update(k);
		break;
	case 0xd1:
		set_outport(k, v);
		break;
	case 0xd2: /* write keyboard output buffer */
		push(k, v, 0, 0);
		break;
	case 0xd3: /* write aux output buffer (loopback) */
		push(k, v, 1, 0);
		break;
	case 0xd4: /* to the aux device: none is attached, so it times out */
		push(k, 0xfe, 1, 1);
		break;
	default:
		kbd_write(k, v);
		break;
	}
}

static void command(struct i8042 *k, uint8_t v)
{
	k->status |= STR_CMD;
	switch (v) {
	case 0x20:
		push(k, k->cmd_byte, 0, 0);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		k->pending_cmd = v;
		break;
	case 0xa7:
		k->cmd_byte |= CTR_AUXDIS;
		break;
	case 0xa8:
		k->cmd_byte &= (uint8_t)~CTR_AUXDIS;
		break;
	case 0xa9: /* aux interface test: OK */
	case 0xab: /* keyboard interface test: OK */
		push(k, 0x00, 0, 0);
		break;
	case 0xaa: /* controller self test */
		k->status |= STR_SYS;
		push(k, 0x55, 0, 0);
		break;
	case 0xad:
		k->cmd_byte |= CTR_KBDDIS;
		break;
	case 0xae:
		k->cmd_byte &= (uint8_t)~CTR_KBDDIS;
		break;
	case 0xc0: /* input port: keyboard not inhibited */
		push(k, 0x80, 0, 0);
		break;
	case 0xd0:
		push(k, k->outport, 0, 0);
		break;
	case 0xdd: /* disable A20 (HP Vectra style) */
		set_outport(k, k->outport & (uint8_t)~0x02);
		break;
	case 0xdf:
		set_outport(k, k->outport | 0x02);
		break;
	default:
		if (v >= 0xf0) {
			/* Pulse output port bits 0-3 low for those bits that are
			 * zero in the command; bit 0 is reset. */
			if (!(v & 0x01) && k->board && k->board->reset)
				k->board->reset(k->board->opaque);
		}
		break;
	}
	update(k);
}

static uint32_t status_read(void *opaque, uint32_t off, int size)
{
	struct i8042 *k = opaque;
	return k->status;
}

static void command_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	command(opaque, (uint8_t)v);
}

static uint32_t data_read(void *opaque, uint32_t off, int size)
{
	struct i8042 *k = opaque;
	if (!k->q_count)
		return k->q[(k->q_head + KBD_QUEUE - 1) % KBD_QUEUE]; /* last byte again */
	uint8_t v = k->q[k->q_head];
	k->q_head = (k->q_head + 1) % KBD_QUEUE;
	k->q_count--;
	/* Taking the byte drops the IRQ line; the next queued byte raises it
	 * again, so an edge-triggered PIC sees every byte. */
	irq_set(&k->irq1, 0);
	irq_set(&k->irq12, 0);
	update(k);
	return v;
}

static void data_port_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	data_write(opaque, (uint8_t)v);
}

static const struct bus_ops data_ops = { data_read, data_port_write, 1, "i8042-data" };
static const struct bus_ops cmd_ops = { status_read, command_write, 1, "i8042-cmd" };

void i8042_reset(struct i8042 *k)
{
	k->status = STR_KEYLOCK;
	k->cmd_byte = CTR_KBDINT | CTR_SYS | CTR_XLATE;
	k->outport = 0x03; /* reset line inactive, A20 on (set by the board) */
	k->pending_cmd = 0;
	k->kbd_pending = 0;
	k->kbd_enabled = 1;
	k->q_head = k->q_count = 0;
	update(k);
}

int i8042_init(struct i8042 *k, struct bus *pio, struct irq_line irq1, struct irq_line irq12,
	       const struct board_req *board)
{
	memset(k, 0, sizeof(*k));
	k->irq1 = irq1;
	k->irq12 = irq12;
	k->board = board;
	i8042_reset(k);
	/* Ports 0x60 and 0x64; 0x61 (PIT/speaker) sits between them. */
	if (bus_add_pio(pio, 0x60, 1, &data_ops, k) || bus_add_pio(pio, 0x64, 1, &cmd_ops, k))
		return -1;
	return 0;
}

/* Keys pressed on the host's behalf (Ctrl-Alt-Del for a reboot):
 * scan codes as port 0x60 gives them. 0, or -1 if the guest does not
 * scan the keyboard or the queue has no room. */
int i8042_keys(struct i8042 *k, const uint8_t *codes, int n)
{
	if (!k->kbd_enabled || k->q_count + n > KBD_QUEUE)
		return -1;
	for (int i = 0; i < n; i++)
		push(k, codes[i], 0, 0);
	return 0;
}

/* ---- the board's device table (dev/dev.h) ---- */

static void i8042_dev_reset(void *dev)
{
	i8042_reset(dev);
}

static void i8042_dev_save(void *dev, struct snap_w *w)
{
	struct i8042 *k = dev;
	snap_put(w, k, offsetof(struct i8042, irq1));
}

static int i8042_dev_load(void *dev, struct snap_r *r)
{
	struct i8042 *k = dev;
	snap_get(r, k, offsetof(struct i8042, irq1));
	if (k->q_head < 0 || k->q_head >= KBD_QUEUE || k->q_count < 0 || k->q_count > KBD_QUEUE)
		return -1;
	return 0;
}

const struct dev_ops i8042_dev_ops = { "i8042", i8042_dev_reset, i8042_dev_save, i8042_dev_load };
