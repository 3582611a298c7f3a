/* Bochs/QEMU debug console at port 0xe9: bytes written go to a file
 * (--debugcon) or stderr; a read returns 0xe9, which is how guests detect
 * the port. SeaBIOS's log port 0x402 is the same device. */
#ifndef RINGVM_DEBUGCON_H
#define RINGVM_DEBUGCON_H

#include <stdio.h>

#include "machine/bus.h"

struct debugcon {
	FILE *out;
};

int debugcon_init(struct debugcon *d, struct bus *pio, FILE *out);
/* The same device at another port (SeaBIOS logs to 0x402). */
int debugcon_init_port(struct debugcon *d, struct bus *pio, uint16_t port, FILE *out);

#endif
