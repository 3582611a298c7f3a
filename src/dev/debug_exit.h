/* QEMU's isa-debug-exit convention at port 0xf4: a write of v ends ringvm
 * with exit status (v << 1) | 1 (so it is always odd, never 0). */
#ifndef RINGVM_DEBUG_EXIT_H
#define RINGVM_DEBUG_EXIT_H

#include "dev/dev.h"
#include "machine/bus.h"

int debug_exit_init(struct bus *pio, uint16_t port, const struct board_req *board);

#endif
