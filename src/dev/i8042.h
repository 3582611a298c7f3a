/* The 8042 keyboard controller at 0x60 (data) / 0x64 (status/command):
 * enough of it for Linux's i8042 and atkbd probes — self test, interface
 * tests, the command byte, an AT keyboard that answers its commands, no
 * mouse (commands to the aux port time out). Output port bit 0 and
 * command 0xFE reset the machine; output port bit 1 is A20. */
#ifndef RINGVM_I8042_H
#define RINGVM_I8042_H

#include <stdint.h>

#include "dev/dev.h"
#include "machine/bus.h"

#define KBD_QUEUE 16

struct i8042 {
	uint8_t status;
	uint8_t cmd_byte;       /* "controller command byte" / CTR */
	uint8_t outport;
	uint8_t pending_cmd;    /* controller command waiting for its data */
	uint8_t kbd_pending;    /* keyboard command waiting for its argument */
	uint8_t kbd_enabled;    /* keyboard scanning (F4/F5) */
	uint8_t q[KBD_QUEUE];   /* output bytes, with their aux flag */
	uint8_t q_aux[KBD_QUEUE];
	uint8_t q_err[KBD_QUEUE];
	int q_head, q_count;
	struct irq_line irq1, irq12;
	const struct board_req *board;
};

int i8042_init(struct i8042 *k, struct bus *pio, struct irq_line irq1, struct irq_line irq12,
	       const struct board_req *board);
void i8042_reset(struct i8042 *k);
int i8042_keys(struct i8042 *k, const uint8_t *codes, int n); /* host key presses */


extern const struct dev_ops i8042_dev_ops; /* reset, save, load */

#endif
