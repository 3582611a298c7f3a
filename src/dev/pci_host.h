/* PCI configuration mechanism #1 at 0xcf8 (address, 32-bit accesses
 * only) / 0xcfc-0xcff (data), plus the reset control register at 0xcf9
 * (byte accesses; bit 2 with bit 1 set does a hard reset) as PIIX has.
 *
 * Bus 0 holds one device: a host bridge at 00:00.0 that identifies as an
 * Intel 82441FX (440FX, 8086:1237), as real chipsets and QEMU's pc board
 * do (with QEMU's subsystem ID 1af4:1100), so that operating systems find
 * and use mechanism #1. It has no BARs;
 * its other configuration bytes are plain read/write storage. Every other
 * device/function reads 0xffffffff. */
#ifndef RINGVM_PCI_HOST_H
#define RINGVM_PCI_HOST_H

#include <stdint.h>

#include "dev/dev.h"
#include "machine/bus.h"

struct pci_host {
	uint32_t addr;        /* CONFIG_ADDRESS */
	uint8_t rcr;          /* reset control register (0xcf9) */
	uint8_t bridge[256];  /* config space of 00:00.0 */
	const struct board_req *board;
};

int pci_host_init(struct pci_host *p, struct bus *pio, const struct board_req *board);
void pci_host_reset(struct pci_host *p);
/* Configuration read/write as the data port does it (tests). */
uint32_t pci_config_read(struct pci_host *p, uint32_t addr, int size);
void pci_config_write(struct pci_host *p, uint32_t addr, int size, uint32_t v);


extern const struct dev_ops pci_host_dev_ops; /* reset, save, load */

#endif
