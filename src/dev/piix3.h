/* The PIIX3's PCI-to-ISA bridge function (Intel 82371SB datasheet,
 * function 0: 8086:7000), as QEMU's pc machine has it at 00:01.0: a
 * multi-function header (the IDE controller is function 1), the PIRQ
 * route control registers 0x60-0x63 that steer the four PCI interrupt
 * lines to ISA IRQs, and the rest of its configuration registers
 * (0x40-0xFF) as plain storage. Firmware (SeaBIOS) finds the board by this
 * function and programs the PIRQ routes and the ELCR. */
#ifndef RINGVM_PIIX3_H
#define RINGVM_PIIX3_H

#include <stdint.h>
#include <stdio.h>

#include "dev/dev.h"
#include "dev/pci_func.h"

#define PIIX3_PIRQRC 0x60

struct piix3 {
	struct pci_func fn;
	struct irq_line isa[16];     /* the ISA IRQ lines */
	uint8_t pirq_level;          /* PIRQ A-D inputs asserted (bits 0-3) */
	int pirq_irq[4];             /* the ISA IRQ each drives now, or -1 */
	FILE *log;
	unsigned logged;
};

void piix3_init(struct piix3 *p, const struct irq_line isa[16], FILE *log);
void piix3_reset(struct piix3 *p);
/* The ISA IRQ PIRQ n (0-3: A-D) is routed to, or -1 (disabled). */
int piix3_pirq_route(const struct piix3 *p, int n);
/* A PCI INTx line into PIRQ n (0-3) goes up or down. */
void piix3_set_pirq(struct piix3 *p, int n, int level);

#endif
