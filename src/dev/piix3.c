/* PIIX3 PCI-to-ISA bridge (see piix3.h; 82371SB datasheet 2.2). */
#include "dev/piix3.h"

#include <string.h>

/* IRQs a PIRQ may not take: 0-2, 8 and 13 are reserved (82371SB PIRQRC). */
static int irq_ok(int irq)
{
	return irq >= 3 && irq <= 15 && irq != 8 && irq != 13;
}

int piix3_pirq_route(const struct piix3 *p, int n)
{
	if (n < 0 || n > 3)
		return -1;
	uint8_t r = p->fn.cfg[PIIX3_PIRQRC + n];
	if (r & 0x80)
		return -1;
	return irq_ok(r & 0x0f) ? (r & 0x0f) : -1;
}

/* Route changes move an asserted PIRQ from its old IRQ to its new one. */
static void update(struct piix3 *p)
{
	for (int n = 0; n < 4; n++) {
		int irq = piix3_pirq_route(p, n);
		int lvl = (p->pirq_level >> n) & 1;
		if (irq == p->pirq_irq[n])
			continue;
		if (p->pirq_irq[n] >= 0 && lvl)
			irq_set(&p->isa[p->pirq_irq[n]], 0);
		p->pirq_irq[n] = irq;
		if (irq >= 0 && lvl)
			irq_set(&p->isa[irq], 1);
	}
}

void piix3_set_pirq(struct piix3 *p, int n, int level)
{
	if (n < 0 || n > 3)
		return;
	p->pirq_level = (uint8_t)((p->pirq_level & ~(1u << n)) | ((level ? 1u : 0u) << n));
	if (p->pirq_irq[n] >= 0)
		irq_set(&p->isa[p->pirq_irq[n]], level);
}

static void written(void *opaque, unsigned off, int size)
{
	struct piix3 *p = opaque;
	for (unsigned o = off; o < off + (unsigned)size; o++) {
		if (o < PIIX3_PIRQRC || o >= PIIX3_PIRQRC + 4)
			continue;
		uint8_t r = p->fn.cfg[o];
		if (!(r & 0x80) && !irq_ok(r & 0x0f)) {
			/* A reserved IRQ: the route stays disabled. */
			dev_logf(p->log, &p->logged, "PIIX3", "PIRQ%c routed to reserved IRQ %d: left disabled",
				 'A' + (int)(o - PIIX3_PIRQRC), r & 0x0f);
		}
	}
	update(p);
}

void piix3_reset(struct piix3 *p)
{
	struct pci_func *f = &p->fn;
	pci_func_init(f, 0x8086, 0x7000, 0x00, 0x060100);
	f->opaque = p;
	f->written = written;
	f->cfg[PCI_COMMAND] = PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER;
	f->cfg[0x06] = 0x00; f->cfg[0x07] = 0x02; /* medium DEVSEL */
	f->cfg[0x0e] = 0x80; /* multi-function: IDE is function 1 */
	/* Subsystem 1af4:1100 as QEMU's; registers 0x40-0xFF are storage. */
	f->cfg[0x2c] = 0xf4; f->cfg[0x2d] = 0x1a;
	f->cfg[0x2e] = 0x00; f->cfg[0x2f] = 0x11;
	memset(&f->wmask[0x40], 0xff, 0xc0);
	f->cfg[0x4c] = 0x4d; /* ISA I/O recovery timer */
	f->cfg[0x4e] = 0x03; /* X-bus chip select */
	f->cfg[0x4f] = 0x00;
	for (int n = 0; n < 4; n++) {
		f->cfg[PIIX3_PIRQRC + n] = 0x80; /* routing disabled */
		f->wmask[PIIX3_PIRQRC + n] = 0x8f;
	}
	f->cfg[0x69] = 0x02; /* top of memory */
	f->cfg[0x70] = 0x80; /* motherboard IRQ 0 disabled */
	f->cfg[0x76] = 0x0c; f->cfg[0x77] = 0x0c; /* motherboard DMA */
	f->cfg[0x78] = 0x02; f->cfg[0x79] = 0x00;
	f->cfg[0xa0] = 0x08; /* SMI control */
	f->cfg[0xa8] = 0x0f; /* SMI enable timer */
	for (int n = 0; n < 4; n++) {
		if (p->pirq_irq[n] >= 0 && (p->pirq_level >> n & 1))
			irq_set(&p->isa[p->pirq_irq[n]], 0);
		p->pirq_irq[n] = -1;
	}
	p->pirq_level = 0;
}

void piix3_init(struct piix3 *p, const struct irq_line isa[16], FILE *log)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->isa, isa, sizeof(p->isa));
	p->log = log;
	for (int n = 0; n < 4; n++)
		p->pirq_irq[n] = -1;
	piix3_reset(p);
}
