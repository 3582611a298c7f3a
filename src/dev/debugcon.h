/* Bochs/QEMU debug console at port 0xe9: bytes written go to a file
 * (--debugcon) or stderr; a read returns 0xe9, which is how guests detect
 * the port. */
#ifndef RINGVM_DEBUGCON_H
#define RINGVM_DEBUGCON_H

#include <stdio.h>

#include "machine/bus.h"

struct debugcon {
	FILE *out;
};

int debugcon_init(struct debugcon *d, struct bus *pio, FILE *out);

#endif
