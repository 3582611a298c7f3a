/* One PCI function's configuration space (PCI Local Bus Specification
 * 2.1, chapter 6), as the host bridge (pci_host.c) serves it: 256 bytes
 * of header, a mask of the bits the guest may write, the status register
 * written 1-to-clear, and BARs sized by their write mask. A device fills
 * one in, registers it with pci_host_add(), and hears about writes
 * through written() (to move its BARs, for instance). */
#ifndef RINGVM_PCI_FUNC_H
#define RINGVM_PCI_FUNC_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_COMMAND 0x04
#define PCI_CMD_IO 0x0001
#define PCI_CMD_MEM 0x0002
#define PCI_CMD_MASTER 0x0004
#define PCI_BAR0 0x10
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

struct pci_func {
	uint8_t cfg[256];
	uint8_t wmask[256];   /* 1 bits: the guest may change them */
	void *opaque;
	/* After the guest wrote bytes [off, off + size) (may be NULL). */
	void (*written)(void *opaque, unsigned off, int size);
};

/* Header type 0 with the IDs and class (class << 8 | prog-if); the
 * command register's I/O, memory and bus-master bits, the interrupt line
 * and BARs set with pci_func_bar() are writable, nothing else. */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint8_t rev, uint32_t class_prog);
/* BAR n decodes size bytes (a power of two, >= 4 for I/O, >= 16 for
 * memory) of I/O or memory space; it reads 0 until the guest moves it. */
void pci_func_bar(struct pci_func *f, int n, uint32_t size, bool io);
/* BAR n's address (type bits cleared). */
uint32_t pci_func_bar_addr(const struct pci_func *f, int n);
uint16_t pci_func_word(const struct pci_func *f, unsigned off);

/* Config accesses as the host bridge does them (also for tests). */
uint32_t pci_func_read(const struct pci_func *f, unsigned off, int size);
void pci_func_write(struct pci_func *f, unsigned off, int size, uint32_t v);

#endif
