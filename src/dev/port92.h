/* System control port A (0x92, "fast A20 and reset" of PS/2 and later
 * chipsets): bit 1 is the A20 gate, a rising edge on bit 0 resets. */
#ifndef RINGVM_PORT92_H
#define RINGVM_PORT92_H

#include <stdint.h>

#include "dev/dev.h"
#include "machine/bus.h"

struct port92 {
	uint8_t val;
	const struct board_req *board;
};

int port92_init(struct port92 *p, struct bus *pio, const struct board_req *board);
void port92_reset(struct port92 *p);


extern const struct dev_ops port92_dev_ops; /* reset, save, load */

#endif
