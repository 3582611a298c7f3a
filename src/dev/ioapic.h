/* The I/O APIC of a PIIX3 board (an 82093AA at 0xFEC00000): 24 input
 * pins, IOREGSEL at +0x00 and IOWIN at +0x10, ID / version /
 * arbitration registers and a redirection table entry per pin (vector,
 * delivery mode, destination mode and destination, polarity, edge or
 * level trigger, mask, remote IRR). Messages go to the board's local
 * APIC(s) through ioapic_board.deliver; level-triggered entries stay
 * blocked (remote IRR) until an EOI for their vector comes back. */
#ifndef RINGVM_IOAPIC_H
#define RINGVM_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/dev.h"
#include "machine/bus.h"

#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x11u /* 82093AA */

struct ioapic_board {
	void *opaque;
	/* Send an interrupt message; returns whether a local APIC took it. */
	bool (*deliver)(void *opaque, uint8_t dest, bool logical, int mode, uint8_t vector, bool level);
};

struct ioapic {
	uint8_t sel;               /* IOREGSEL */
	uint8_t id;                /* bits 27:24 of register 0 */
	uint8_t reset_id;          /* the ID the firmware tables give it */
	uint64_t redir[IOAPIC_PINS];
	uint32_t pins;             /* input levels (1: asserted) */
	struct ioapic_board board;
	FILE *log;                 /* guest programming errors (NULL: silent) */
	unsigned logged;
};

/* id: the APIC ID the board's firmware tables give it (set at reset, as
 * a BIOS programs it). */
int ioapic_init(struct ioapic *io, struct bus *mmio, uint32_t base, uint8_t id, const struct ioapic_board *board,
		FILE *log);
void ioapic_reset(struct ioapic *io);
/* Drive pin n (0..23); matches struct irq_line. Levels are logical (1 =
 * asserted): the polarity bit is kept for the guest to read but does not
 * invert the line, as on QEMU's board, whose sources are all active-high. */
void ioapic_set_irq(void *ioapic, int n, int level);
/* A local APIC's EOI for a level-triggered vector: clears remote IRR of
 * the entries with that vector and delivers again if the pin is still
 * asserted. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);


extern const struct dev_ops ioapic_dev_ops; /* reset, save, load */

#endif
