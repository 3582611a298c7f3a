/* MSI-X (see pci_msix.h; PCI Local Bus Specification 3.0, 6.8.2). */
#include "dev/pci_msix.h"

#include <string.h>

#define CTL_HI 3            /* the message control's high byte, from cap */
#define CTL_ENABLE 0x80u    /* bit 15 */
#define CTL_FMASK 0x40u     /* bit 14: function mask */
#define ENTRY_MASKED 1u     /* vector control bit 0 */
#define CMD_MASTER 0x04u    /* command register: bus master */

static void put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

void pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned cap, unsigned next, int bar, int nvec)
{
	memset(m, 0, sizeof(*m));
	m->dev = d;
	m->cap = cap;
	m->nvec = nvec < 1 ? 1 : nvec > PCI_MSIX_MAX ? PCI_MSIX_MAX : nvec;
	uint8_t *c = d->cfg + cap;
	c[0] = 0x11; /* MSI-X */
	c[1] = (uint8_t)next;
	c[2] = (uint8_t)(m->nvec - 1); /* table size, N - 1 */
	c[3] = 0;
	put32(c + 4, (uint32_t)bar);                     /* table at 0 in the BAR */
	put32(c + 8, PCI_MSIX_PBA_OFF | (uint32_t)bar);  /* then the pending bits */
	d->bar_size[bar] = PCI_MSIX_BAR_SIZE;
	pci_msix_reset(m);
}

void pci_msix_reset(struct pci_msix *m)
{
	memset(m->table, 0, sizeof(m->table));
	for (int i = 0; i < PCI_MSIX_MAX; i++)
		m->table[i][3] = ENTRY_MASKED; /* 6.8.2.9: masked after reset */
	m->pending = 0;
}

bool pci_msix_enabled(const struct pci_msix *m)
{
	return m->dev->cfg[m->cap + CTL_HI] & CTL_ENABLE;
}

static bool masked(const struct pci_msix *m, unsigned vec)
{
	return (m->dev->cfg[m->cap + CTL_HI] & CTL_FMASK) || (m->table[vec][3] & ENTRY_MASKED);
}

/* An MSI is a memory write by the device: only while it may master the
 * bus (command bit 2), as any DMA. */
static void send(struct pci_msix *m, unsigned vec)
{
	if (!(m->dev->cfg[0x04] & CMD_MASTER))
		return;
	const uint32_t *e = m->table[vec];
	pci_send_msi(m->dev, (uint64_t)e[1] << 32 | e[0], e[2]);
}

void pci_msix_notify(struct pci_msix *m, unsigned vec)
{
	if (vec >= (unsigned)m->nvec || !pci_msix_enabled(m))
		return;
	if (masked(m, vec))
		m->pending |= 1u << vec;
	else
		send(m, vec);
}

/* Vectors pending and no longer masked are sent now (6.8.2.9). */
static void flush_pending(struct pci_msix *m)
{
	if (!pci_msix_enabled(m))
		return;
	for (unsigned v = 0; v < (unsigned)m->nvec; v++) {
		if ((m->pending & (1u << v)) && !masked(m, v)) {
			m->pending &= ~(1u << v);
			send(m, v);
		}
	}
}

void pci_msix_cfg_write(struct pci_msix *m, unsigned reg, int size, uint32_t v)
{
	for (int i = 0; i < size; i++) {
		if (((reg + (unsigned)i) & 0xff) == m->cap + CTL_HI)
			m->dev->cfg[m->cap + CTL_HI] = (uint8_t)((v >> (8 * i)) & (CTL_ENABLE | CTL_FMASK));
	}
	flush_pending(m);
}

uint32_t pci_msix_bar_read(struct pci_msix *m, uint32_t off, int size)
{
	uint32_t val = 0;
	for (int i = 0; i < size; i++) {
		uint32_t o = off + (uint32_t)i, b = 0;
		if (o < 16u * (uint32_t)m->nvec)
			b = m->table[o / 16][(o % 16) / 4] >> (8 * (o % 4));
		else if (o >= PCI_MSIX_PBA_OFF && o < PCI_MSIX_PBA_OFF + 8)
			b = (uint32_t)((uint64_t)m->pending >> (8 * (o - PCI_MSIX_PBA_OFF)));
		val |= (b & 0xff) << (8 * i);
	}
	return val;
}

void pci_msix_bar_write(struct pci_msix *m, uint32_t off, int size, uint32_t v)
{
	for (int i = 0; i < size; i++) {
		uint32_t o = off + (uint32_t)i;
		if (o >= 16u * (uint32_t)m->nvec)
			continue; /* the pending bits are read-only */
		uint32_t *word = &m->table[o / 16][(o % 16) / 4];
		unsigned sh = 8 * (o % 4);
		*word = (*word & ~(0xffu << sh)) | ((v >> (8 * i)) & 0xffu) << sh;
	}
	for (int e = 0; e < m->nvec; e++)
		m->table[e][3] &= ENTRY_MASKED; /* vector control: the other bits are reserved */
	flush_pending(m);
}
