/* Bochs/QEMU debug console at port 0xe9: bytes written go to a file
 * (--debugcon) or stderr; a read returns 0xe9, which is how guests detect
 * the port. SeaBIOS's log port 0x402 is the same device.
 *
 * Output is buffered here (stderr is unbuffered: one write call per byte
 * made 100 MB take minutes); the board calls debugcon_flush() between
 * runs of the CPU, when the guest idles and at exit. */
#ifndef RINGVM_DEBUGCON_H
#define RINGVM_DEBUGCON_H

#include <stdio.h>

#include "machine/bus.h"

#define DEBUGCON_BUF 4096

struct debugcon {
	FILE *out;
	unsigned len;
	unsigned char buf[DEBUGCON_BUF];
};

int debugcon_init(struct debugcon *d, struct bus *pio, FILE *out);
/* The same device at another port (SeaBIOS logs to 0x402). */
int debugcon_init_port(struct debugcon *d, struct bus *pio, uint16_t port, FILE *out);
/* Hand what the guest wrote to the output file. */
void debugcon_flush(struct debugcon *d);


extern const struct dev_ops debugcon_dev_ops; /* save, load */

#endif
