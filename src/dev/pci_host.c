/* PCI host bridge, configuration mechanism #1 (PCI Local Bus Specification
 * 2.1, 3.7.4.1; 82441FX identification from the Intel 440FX PMC
 * datasheet). */
#include "dev/pci_host.h"
#include "machine/snap.h"

#include <stddef.h>

#include <string.h>

#define ENABLE 0x80000000u

/* Bytes of the bridge's header the guest may not change: IDs, revision,
 * class, header type, the BARs and expansion ROM BAR (a host bridge has
 * none: sizing them reads back 0), subsystem IDs, capabilities pointer,
 * interrupt pin, MIN_GNT/MAX_LAT. The interrupt line (0x3c) is storage. */
static int read_only(unsigned off)
{
	return off < 0x04 || (off >= 0x08 && off < 0x0c) || off == 0x0e ||
	       (off >= 0x10 && off < 0x3c) || (off >= 0x3d && off < 0x40);
}

uint32_t pci_config_read(struct pci_host *p, uint32_t addr, int size)
{
	uint32_t bus = (addr >> 16) & 0xff, devfn = (addr >> 8) & 0xff, reg = addr & 0xff;
	if (bus != 0 || devfn != 0)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	uint32_t v = 0;
	for (int i = 0; i < size; i++)
		v |= (uint32_t)p->bridge[(reg + (uint32_t)i) & 0xff] << (8 * i);
	return v;
}

void pci_config_write(struct pci_host *p, uint32_t addr, int size, uint32_t v)
{
	uint32_t bus = (addr >> 16) & 0xff, devfn = (addr >> 8) & 0xff, reg = addr & 0xff;
	if (bus != 0 || devfn != 0)
		return;
	for (int i = 0; i < size; i++) {
		unsigned off = (reg + (unsigned)i) & 0xff;
		if (off == 0x06 || off == 0x07) {
			p->bridge[off] &= (uint8_t)~((v >> (8 * i)) & 0xff); /* status: write 1 to clear */
			continue;
		}
		if (!read_only(off))
			p->bridge[off] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t cf8_read(void *opaque, uint32_t off, int size)
{
	struct pci_host *p = opaque;
	if (off == 0 && size == 4)
		return p->addr;
	if (off == 1 && size == 1)
		return p->rcr;
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void cf8_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct pci_host *p = opaque;
	if (off == 0 && size == 4) {
		p->addr = v & 0x80fffffcu;
		return;
	}
	if (off == 1 && size == 1) {
		/* RCR: bit 2 starts a reset, bit 1 picks hard over soft; both
		 * are a full machine reset here. */
		p->rcr = (uint8_t)(v & 0x02);
		if ((v & 0x04) && p->board && p->board->reset)
			p->board->reset(p->board->opaque);
	}
	/* Other byte/word writes (e.g. mechanism #2 probes at 0xcf8/0xcfb)
	 * are ignored. */
}

static uint32_t cfc_read(void *opaque, uint32_t off, int size)
{
	struct pci_host *p = opaque;
	if (!(p->addr & ENABLE))
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return pci_config_read(p, (p->addr & 0x00fffffcu) | (off & 3), size);
}

static void cfc_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct pci_host *p = opaque;
	if (p->addr & ENABLE)
		pci_config_write(p, (p->addr & 0x00fffffcu) | (off & 3), size, v);
}

static const struct bus_ops cf8_ops = { cf8_read, cf8_write, 0, "pci-addr" };
static const struct bus_ops cfc_ops = { cfc_read, cfc_write, 0, "pci-data" };

void pci_host_reset(struct pci_host *p)
{
	p->addr = 0;
	p->rcr = 0;
	memset(p->bridge, 0, sizeof(p->bridge));
	uint8_t *b = p->bridge;
	b[0x00] = 0x86; b[0x01] = 0x80; /* Intel */
	b[0x02] = 0x37; b[0x03] = 0x12; /* 82441FX */
	b[0x04] = 0x06; /* memory space + bus master */
	b[0x06] = 0x80; b[0x07] = 0x02; /* fast back-to-back, medium DEVSEL */
	b[0x08] = 0x02; /* revision */
	b[0x0a] = 0x00; b[0x0b] = 0x06; /* class: host bridge */
	b[0x0e] = 0x00; /* header type 0, single function */
	/* Subsystem 1af4:1100, QEMU's: firmware such as SeaBIOS takes it as
	 * "an emulated i440FX" and reads the RAM size from the CMOS. */
	b[0x2c] = 0xf4; b[0x2d] = 0x1a;
	b[0x2e] = 0x00; b[0x2f] = 0x11;
}

int pci_host_init(struct pci_host *p, struct bus *pio, const struct board_req *board)
{
	memset(p, 0, sizeof(*p));
	p->board = board;
	pci_host_reset(p);
	if (bus_add_pio(pio, 0xcf8, 4, &cf8_ops, p) || bus_add_pio(pio, 0xcfc, 4, &cfc_ops, p))
		return -1;
	return 0;
}

/* ---- the board's device table (dev/dev.h) ---- */

static void pci_host_dev_reset(void *dev)
{
	pci_host_reset(dev);
}

static void pci_host_dev_save(void *dev, struct snap_w *w)
{
	struct pci_host *p = dev;
	snap_put(w, p, offsetof(struct pci_host, board));
}

static int pci_host_dev_load(void *dev, struct snap_r *r)
{
	struct pci_host *p = dev;
	snap_get(r, p, offsetof(struct pci_host, board));
	return 0;
}

const struct dev_ops pci_host_dev_ops = { "pci_host", pci_host_dev_reset, pci_host_dev_save, pci_host_dev_load };
