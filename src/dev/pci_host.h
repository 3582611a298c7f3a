/* PCI configuration mechanism #1 at 0xcf8 (address, 32-bit accesses
 * only) / 0xcfc-0xcff (data), plus the reset control register at 0xcf9
 * (byte accesses; bit 2 with bit 1 set does a hard reset) as PIIX has.
 *
 * Bus 0 holds one device: a host bridge at 00:00.0 that identifies as an
 * Intel 82441FX (440FX, 8086:1237), as real chipsets and QEMU's pc board
 * do (with QEMU's subsystem ID 1af4:1100), so that operating systems find
 * and use mechanism #1. It has no BARs; its PAM registers route the BIOS
 * area (pam_changed), its other configuration bytes are plain read/write
 * storage. Other functions on bus 0 are added with pci_host_add(); every
 * other device/function reads 0xffffffff. */
#ifndef RINGVM_PCI_HOST_H
#define RINGVM_PCI_HOST_H

#include <stdint.h>

#include "dev/dev.h"
#include "dev/pci_func.h"
#include "machine/bus.h"

struct pci_host {
	uint32_t addr;        /* CONFIG_ADDRESS */
	uint8_t rcr;          /* reset control register (0xcf9) */
	uint8_t bridge[256];  /* config space of 00:00.0 */
	const struct board_req *board;
	struct pci_func *fn[256];  /* bus 0's other functions, by devfn */
	/* The PAM registers (0x59-0x5F) changed: 440FX layout, pam[0] is
	 * 0x59 (its high nibble: 0xF0000-0xFFFFF). NULL: storage only. */
	void (*pam_changed)(void *opaque, const uint8_t pam[7]);
	void *pam_opaque;
	uint8_t pam_reset;          /* PAM value at reset (0, or 0x11 as a BIOS leaves it) */
};

#define PCI_DEVFN(dev, fn) ((dev) << 3 | (fn))
#define I440FX_PAM0 0x59

int pci_host_init(struct pci_host *p, struct bus *pio, const struct board_req *board);
void pci_host_reset(struct pci_host *p);
/* Put a function at bus 0, devfn: 0, or -1 if taken or devfn 0. */
int pci_host_add(struct pci_host *p, int devfn, struct pci_func *f);
/* Configuration read/write as the data port does it (tests). */
uint32_t pci_config_read(struct pci_host *p, uint32_t addr, int size);
void pci_config_write(struct pci_host *p, uint32_t addr, int size, uint32_t v);

#endif
