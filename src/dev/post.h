/* Port 0x80, the POST diagnostic port: writes are kept (the last value is
 * handy when a guest dies early), reads return it. Guests also use it as
 * an I/O delay. */
#ifndef RINGVM_POST_H
#define RINGVM_POST_H

#include <stdint.h>

#include "dev/dev.h"
#include "machine/bus.h"

struct post {
	uint8_t last;
};

int post_init(struct post *p, struct bus *pio);


extern const struct dev_ops post_dev_ops; /* reset, save, load */

#endif
