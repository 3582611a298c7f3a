/* A PCI function's configuration space (see pci_func.h). */
#include "dev/pci_func.h"

#include <string.h>

void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint8_t rev, uint32_t class_prog)
{
	memset(f->cfg, 0, sizeof(f->cfg));
	memset(f->wmask, 0, sizeof(f->wmask));
	f->cfg[0x00] = (uint8_t)vendor;
	f->cfg[0x01] = (uint8_t)(vendor >> 8);
	f->cfg[0x02] = (uint8_t)device;
	f->cfg[0x03] = (uint8_t)(device >> 8);
	f->cfg[0x08] = rev;
	f->cfg[0x09] = (uint8_t)class_prog;
	f->cfg[0x0a] = (uint8_t)(class_prog >> 8);
	f->cfg[0x0b] = (uint8_t)(class_prog >> 16);
	f->wmask[PCI_COMMAND] = PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER;
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

void pci_func_bar(struct pci_func *f, int n, uint32_t size, bool io)
{
	unsigned off = PCI_BAR0 + 4u * (unsigned)n;
	uint32_t mask = ~(size - 1) & (io ? ~3u : ~15u);
	for (int i = 0; i < 4; i++) {
		f->wmask[off + (unsigned)i] = (uint8_t)(mask >> (8 * i));
		f->cfg[off + (unsigned)i] = 0;
	}
	f->cfg[off] = io ? 1 : 0;
}

uint32_t pci_func_read(const struct pci_func *f, unsigned off, int size)
{
	uint32_t v = 0;
	for (int i = 0; i < size; i++)
		v |= (uint32_t)f->cfg[(off + (unsigned)i) & 0xff] << (8 * i);
	return v;
}

uint32_t pci_func_bar_addr(const struct pci_func *f, int n)
{
	uint32_t v = pci_func_read(f, PCI_BAR0 + 4u * (unsigned)n, 4);
	return v & ((v & 1) ? ~3u : ~15u);
}

uint16_t pci_func_word(const struct pci_func *f, unsigned off)
{
	return (uint16_t)pci_func_read(f, off, 2);
}

void pci_func_write(struct pci_func *f, unsigned off, int size, uint32_t v)
{
	off &= 0xff;
	if (size != 1 && size != 2 && size != 4)
		return;
	for (int i = 0; i < size; i++) {
		unsigned o = (off + (unsigned)i) & 0xff;
		uint8_t b = (uint8_t)(v >> (8 * i));
		if (o == 0x07) { /* status: the error bits are write 1 to clear */
			f->cfg[o] &= (uint8_t)~(b & 0xf9);
			continue;
		}
		f->cfg[o] = (uint8_t)((f->cfg[o] & ~f->wmask[o]) | (b & f->wmask[o]));
	}
	if (f->written)
		f->written(f->opaque, off, size);
}
