/* PCI host bridge, configuration mechanism #1 (PCI Local Bus Specification
 * 2.1, 3.7.4.1; 82441FX identification from the Intel 440FX PMC
 * datasheet). */
#include "dev/pci_host.h"
#include "machine/snap.h"

#include <stddef.h>

#include <stdbool.h>
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

#define CMD_MEM 0x0002u
#define CMD_INTX_OFF 0x0400u
#define CMD_WRITABLE 0x0507u /* I/O, memory, bus master, SERR#, INTx disable */
#define STATUS_INTX 0x08u    /* status bit 3 (in byte 0x06) */

static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t rd32(const uint8_t *b) { return rd16(b) | (uint32_t)rd16(b + 2) << 16; }
static void wr32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* The device at bus/devfn, NULL for the bridge and for empty slots. */
/* A slot holding a function added with pci_host_add(). */
static bool slot_has_func(const struct pci_host *p, int slot)
{
	for (int f = 0; f < 8; f++)
		if (p->fn[PCI_DEVFN(slot, f)])
			return true;
	return false;
}

static struct pci_dev *dev_at(struct pci_host *p, uint32_t addr)
{
	uint32_t bus = (addr >> 16) & 0xff, devfn = (addr >> 8) & 0xff;
	if (bus != 0 || (devfn & 7) || devfn == 0 || (devfn >> 3) >= PCI_MAX_DEVS)
		return NULL;
	return p->dev[devfn >> 3];
}

/* INTA# of every device on d's IRQ, ORed: the line as the IRQ router
 * drives it. */
static void update_irq(struct pci_dev *d)
{
	struct pci_host *p = d->host;
	if (!p)
		return; /* not plugged in yet */
	bool level = false;
	for (int i = 1; i < PCI_MAX_DEVS; i++) {
		struct pci_dev *o = p->dev[i];
		if (o && o->irq == d->irq && o->irq_level && !(rd16(o->cfg + 0x04) & CMD_INTX_OFF))
			level = true;
	}
	if (p->intx)
		p->intx(p->intx_opaque, d->irq, level);
}

void pci_set_irq(struct pci_dev *d, bool level)
{
	d->irq_level = level;
	if (level)
		d->cfg[0x06] |= STATUS_INTX;
	else
		d->cfg[0x06] &= (uint8_t)~STATUS_INTX;
	update_irq(d);
}

void pci_send_msi(struct pci_dev *d, uint64_t addr, uint32_t data)
{
	if (d->host && d->host->msi)
		d->host->msi(d->host->msi_opaque, addr, data);
}

/* Put each BAR on the MMIO bus where its register says, while memory
 * decoding is on; a BAR that would overlap another range stays off. */
static void remap(struct pci_dev *d)
{
	bool mem = rd16(d->cfg + 0x04) & CMD_MEM;
	for (int i = 0; i < PCI_BARS; i++) {
		if (!d->bar_size[i])
			continue;
		uint32_t want = mem ? rd32(d->cfg + 0x10 + 4 * i) & ~(d->bar_size[i] - 1) : 0;
		if (want == d->bar_mapped[i])
			continue;
		if (d->bar_mapped[i])
			bus_del(d->host->mmio, d->bar_mapped[i]);
		d->bar_mapped[i] = 0;
		if (want && bus_add_mmio(d->host->mmio, want, d->bar_size[i], d->bar_ops[i], d->opaque) == 0)
			d->bar_mapped[i] = want;
	}
}

static void dev_write(struct pci_dev *d, unsigned reg, int size, uint32_t v)
{
	for (int i = 0; i < size; i++) {
		unsigned off = (reg + (unsigned)i) & 0xff;
		uint8_t b = (uint8_t)(v >> (8 * i));
		if (off == 0x04 || off == 0x05)
			d->cfg[off] = (uint8_t)((d->cfg[off] & ~(CMD_WRITABLE >> (8 * (off - 4)))) |
						(b & (CMD_WRITABLE >> (8 * (off - 4)))));
		else if (off == 0x07)
			d->cfg[off] &= (uint8_t)~(b & 0xf9); /* error bits: write 1 to clear */
		else if ((off >= 0x10 && off < 0x28) || off == 0x3c)
			d->cfg[off] = b;
	}
	/* A BAR reads back its size mask: the low bits are zero (32-bit
	 * memory, not prefetchable); BARs that do not exist stay zero. */
	for (int i = 0; i < PCI_BARS; i++)
		wr32(d->cfg + 0x10 + 4 * i, rd32(d->cfg + 0x10 + 4 * i) & ~(d->bar_size[i] - 1) &
						   (d->bar_size[i] ? ~0u : 0u));
	if (d->cap_write && reg + (unsigned)size > 0x40)
		d->cap_write(d->opaque, reg, size, v);
	remap(d);
	update_irq(d);
}

uint32_t pci_config_read(struct pci_host *p, uint32_t addr, int size)
{
	uint32_t bus = (addr >> 16) & 0xff, devfn = (addr >> 8) & 0xff, reg = addr & 0xff;
	if (bus == 0 && devfn != 0 && p->fn[devfn])
		return pci_func_read(p->fn[devfn], reg, size);
	struct pci_dev *d = dev_at(p, addr);
	if (!d && (bus != 0 || devfn != 0))
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	const uint8_t *cfg = d ? d->cfg : p->bridge;
	uint32_t v = 0;
	for (int i = 0; i < size; i++)
		v |= (uint32_t)cfg[(reg + (uint32_t)i) & 0xff] << (8 * i);
	return v;
}

void pci_config_write(struct pci_host *p, uint32_t addr, int size, uint32_t v)
{
	uint32_t bus = (addr >> 16) & 0xff, devfn = (addr >> 8) & 0xff, reg = addr & 0xff;
	if (bus == 0 && devfn != 0 && p->fn[devfn]) {
		pci_func_write(p->fn[devfn], reg, size, v);
		return;
	}
	struct pci_dev *d = dev_at(p, addr);
	if (d) {
		dev_write(d, reg, size, v);
		return;
	}
	if (bus != 0 || devfn != 0)
		return;
	bool pam = false;
	for (int i = 0; i < size; i++) {
		unsigned off = (reg + (unsigned)i) & 0xff;
		if (off == 0x06 || off == 0x07) {
			p->bridge[off] &= (uint8_t)~((v >> (8 * i)) & 0xff); /* status: write 1 to clear */
			continue;
		}
		if (!read_only(off))
			p->bridge[off] = (uint8_t)(v >> (8 * i));
		if (off >= I440FX_PAM0 && off < I440FX_PAM0 + 7)
			pam = true;
	}
	if (pam) {
		p->bridge[I440FX_PAM0] &= 0x30; /* its low nibble is reserved */
		for (int i = 1; i < 7; i++)
			p->bridge[I440FX_PAM0 + i] &= 0x33;
		if (p->pam_changed)
			p->pam_changed(p->pam_opaque, &p->bridge[I440FX_PAM0]);
	}
}

int pci_host_add(struct pci_host *p, int devfn, struct pci_func *f)
{
	if (devfn <= 0 || devfn > 255 || p->fn[devfn] || ((devfn >> 3) < PCI_MAX_DEVS && p->dev[devfn >> 3]))
		return -1;
	p->fn[devfn] = f;
	return 0;
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
	b[I440FX_PAM0] = p->pam_reset & 0x30;
	for (int i = 1; i < 7; i++)
		b[I440FX_PAM0 + i] = p->pam_reset & 0x33;
	if (p->pam_changed)
		p->pam_changed(p->pam_opaque, &p->bridge[I440FX_PAM0]);
	for (int i = 1; i < PCI_MAX_DEVS; i++) {
		struct pci_dev *d = p->dev[i];
		if (!d)
			continue;
		memcpy(d->cfg, d->cfg_init, sizeof(d->cfg));
		d->irq_level = false;
		remap(d);
		update_irq(d);
	}
}

int pci_host_add_dev(struct pci_host *p, struct pci_dev *d, int irq)
{
	int slot = PCI_DEV_FIRST_SLOT;
	while (slot < PCI_MAX_DEVS && (p->dev[slot] || slot_has_func(p, slot)))
		slot++;
	if (slot == PCI_MAX_DEVS || !p->mmio)
		return -1;
	d->host = p;
	d->irq = irq;
	for (int i = 0; i < PCI_BARS; i++) {
		uint32_t sz = d->bar_size[i];
		if (!sz)
			continue;
		uint32_t base = (p->next_bar + sz - 1) & ~(sz - 1);
		if (base < PCI_MMIO_BASE || (uint64_t)base + sz > PCI_MMIO_END)
			return -1;
		wr32(d->cfg + 0x10 + 4 * i, base);
		p->next_bar = base + sz;
	}
	d->cfg[0x04] = CMD_MEM;
	d->cfg[0x3c] = (uint8_t)irq;
	d->cfg[0x3d] = 1; /* INTA# */
	memcpy(d->cfg_init, d->cfg, sizeof(d->cfg));
	p->dev[slot] = d;
	remap(d);
	return slot;
}

int pci_host_init(struct pci_host *p, struct bus *pio, const struct board_req *board)
{
	memset(p, 0, sizeof(*p));
	p->board = board;
	p->next_bar = PCI_MMIO_BASE;
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
	if (p->pam_changed) /* the BIOS area as the loaded PAM bytes route it */
		p->pam_changed(p->pam_opaque, &p->bridge[I440FX_PAM0]);
	return 0;
}

const struct dev_ops pci_host_dev_ops = { "pci_host", pci_host_dev_reset, pci_host_dev_save, pci_host_dev_load };
