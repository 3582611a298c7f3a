/* Bochs/QEMU-style shutdown port 0x8900: the bytes "Shutdown" written in
 * sequence power the machine off. */
#ifndef RINGVM_APM_SHUTDOWN_H
#define RINGVM_APM_SHUTDOWN_H

#include "dev/dev.h"
#include "machine/bus.h"

struct apm_shutdown {
	int matched; /* how many bytes of "Shutdown" have been seen */
	const struct board_req *board;
};

int apm_shutdown_init(struct apm_shutdown *a, struct bus *pio, const struct board_req *board);


extern const struct dev_ops apm_shutdown_dev_ops; /* reset, save, load */

#endif
