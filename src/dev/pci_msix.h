/* An MSI-X capability (PCI Local Bus Specification 3.0, 6.8.2) for a
 * device function of pci_host: the capability in configuration space
 * (message control: enable, function mask, table size), a vector table
 * (address, data and a mask bit per vector) and a pending bit array,
 * both in a BAR the device forwards to pci_msix_bar_read/_write.
 *
 * A vector that fires while masked (by its own mask bit or the function
 * mask) sets its pending bit instead; unmasking sends the message and
 * clears the bit. Messages go through the host bridge (pci_send_msi), so
 * the device never knows what receives them. Whether MSI-X is enabled is
 * read from the configuration byte itself: a PCI reset (which restores
 * the configuration space) disables it without telling the device. */
#ifndef RINGVM_PCI_MSIX_H
#define RINGVM_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/pci_host.h"

#define PCI_MSIX_MAX 8          /* vectors per function, at most */
#define PCI_MSIX_CAP_LEN 12
#define PCI_MSIX_PBA_OFF 0x800u /* in the BAR, after the table */
#define PCI_MSIX_BAR_SIZE 0x1000u

struct pci_msix {
	struct pci_dev *dev;
	unsigned cap;      /* configuration offset of the capability */
	int nvec;
	uint32_t table[PCI_MSIX_MAX][4]; /* address low, high, data, vector control */
	uint32_t pending;  /* the pending bit array */
};

/* Write the capability at config offset cap (next: the next capability,
 * 0: the last) for nvec vectors in BAR bar: table at 0, pending bits at
 * PCI_MSIX_PBA_OFF. Call before pci_host_add_dev (it snapshots cfg). */
void pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned cap, unsigned next, int bar, int nvec);
/* Every vector masked, nothing pending (a PCI reset). */
void pci_msix_reset(struct pci_msix *m);
bool pci_msix_enabled(const struct pci_msix *m);
/* Signal vector vec: a message, or its pending bit while masked. A
 * vector beyond the table (0xffff: "no vector") does nothing. */
void pci_msix_notify(struct pci_msix *m, unsigned vec);
/* The driver wrote configuration bytes [reg, reg + size) at or above
 * 0x40 (pci_dev.cap_write): the message control's enable and mask. */
void pci_msix_cfg_write(struct pci_msix *m, unsigned reg, int size, uint32_t v);
/* The table and the pending bits (offsets within the BAR). */
uint32_t pci_msix_bar_read(struct pci_msix *m, uint32_t off, int size);
void pci_msix_bar_write(struct pci_msix *m, uint32_t off, int size, uint32_t v);

#endif
