/* PCI configuration mechanism #1 at 0xcf8 (address, 32-bit accesses
 * only) / 0xcfc-0xcff (data), plus the reset control register at 0xcf9
 * (byte accesses; bit 2 with bit 1 set does a hard reset) as PIIX has.
 *
 * Bus 0 holds one device: a host bridge at 00:00.0 that identifies as an
 * Intel 82441FX (440FX, 8086:1237), as real chipsets and QEMU's pc board
 * do (with QEMU's subsystem ID 1af4:1100), so that operating systems find
 * and use mechanism #1. It has no BARs; its PAM registers route the BIOS
 * area (pam_changed), its other configuration bytes are plain read/write
 * storage.
 *
 * Two kinds of function plug in. Chipset functions (the PIIX3's ISA
 * bridge and IDE) at a fixed devfn with pci_host_add(): they own their
 * configuration space (pci_func.h). Devices (the virtio functions) at
 * the next free slot from PCI_DEV_FIRST_SLOT with pci_host_add_dev():
 * function 0 only, 32-bit memory BARs that the host maps on the MMIO bus
 * while memory decoding is on, and INTA# routed to an ISA IRQ (the
 * "firmware" assignment, written to the interrupt line register) that is
 * the OR of every device on it. Every other device/function reads
 * 0xffffffff. */
#ifndef RINGVM_PCI_HOST_H
#define RINGVM_PCI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/dev.h"
#include "dev/pci_func.h"
#include "machine/bus.h"

#define PCI_MAX_DEVS 16
#define PCI_DEV_FIRST_SLOT 3 /* as QEMU's pc: 1 is the PIIX3, 2 the VGA */
#define PCI_BARS 6

/* A device function. The owner fills cfg (IDs, class, capabilities) and
 * bar_size/bar_ops before pci_host_add(); the host owns the command,
 * status, BAR and interrupt registers from then on. */
struct pci_dev {
	uint8_t cfg[256];
	uint8_t cfg_init[256];             /* cfg as at power on (reset) */
	uint32_t bar_size[PCI_BARS];       /* power of two >= 4096, 0: none */
	const struct bus_ops *bar_ops[PCI_BARS];
	void *opaque;                      /* for bar_ops */
	uint32_t bar_mapped[PCI_BARS];     /* base on the MMIO bus, 0: not */
	bool irq_level;
	int irq;                           /* ISA IRQ INTA# is routed to */
	struct pci_host *host;
	/* Configuration bytes from 0x40 (the capabilities) are read-only
	 * unless the device takes writes there (it stores what it keeps). */
	void (*cap_write)(void *opaque, unsigned reg, int size, uint32_t v);
};

struct pci_host {
	uint32_t addr;        /* CONFIG_ADDRESS */
	uint8_t rcr;          /* reset control register (0xcf9) */
	uint8_t bridge[256];  /* config space of 00:00.0 */
	const struct board_req *board;
	/* Devices: set mmio and intx before pci_host_add_dev(). */
	struct bus *mmio;
	void (*intx)(void *opaque, int irq, int level);
	void *intx_opaque;
	struct pci_dev *dev[PCI_MAX_DEVS]; /* by slot; [0] is the bridge */
	uint32_t next_bar;                 /* next firmware BAR address */
	struct pci_func *fn[256];  /* bus 0's other functions, by devfn */
	/* The PAM registers (0x59-0x5F) changed: 440FX layout, pam[0] is
	 * 0x59 (its high nibble: 0xF0000-0xFFFFF). NULL: storage only. */
	void (*pam_changed)(void *opaque, const uint8_t pam[7]);
	void *pam_opaque;
	uint8_t pam_reset;          /* PAM value at reset (0, or 0x11 as a BIOS leaves it) */
	/* A device's message-signalled interrupt (MSI-X): its memory write
	 * of data at addr, which the board hands to its local APICs. NULL:
	 * dropped. */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	void *msi_opaque;
};

#define PCI_DEVFN(dev, fn) ((dev) << 3 | (fn))
#define I440FX_PAM0 0x59

int pci_host_init(struct pci_host *p, struct bus *pio, const struct board_req *board);
void pci_host_reset(struct pci_host *p);
/* Put a function at bus 0, devfn: 0, or -1 if taken or devfn 0. */
int pci_host_add(struct pci_host *p, int devfn, struct pci_func *f);
/* Configuration read/write as the data port does it (tests). */
/* Plug d in at the next free slot (from PCI_DEV_FIRST_SLOT) with INTA# on ISA IRQ irq; its BARs
 * get firmware addresses from PCI_MMIO_BASE up and memory decoding on, as
 * a BIOS would leave them. Returns the slot, or -1 when the bus is full
 * or the MMIO window is used up. */
#define PCI_MMIO_BASE 0xfe000000u
#define PCI_MMIO_END 0xfec00000u
int pci_host_add_dev(struct pci_host *p, struct pci_dev *d, int irq);
/* Drive d's INTA# (level-triggered; the host ORs the devices sharing
 * an IRQ and honours the command register's interrupt disable). */
void pci_set_irq(struct pci_dev *d, bool level);
/* d sends a message-signalled interrupt (pci_msix.c). */
void pci_send_msi(struct pci_dev *d, uint64_t addr, uint32_t data);

uint32_t pci_config_read(struct pci_host *p, uint32_t addr, int size);
void pci_config_write(struct pci_host *p, uint32_t addr, int size, uint32_t v);


extern const struct dev_ops pci_host_dev_ops; /* reset, save, load */

#endif
