/* The PIIX3's IDE controller (function 00:01.1, 8086:7010) with ATA hard
 * disks on raw image files: two channels at the legacy ports (primary
 * 0x1F0-0x1F7 + 0x3F6 on IRQ 14, secondary 0x170-0x177 + 0x376 on IRQ 15),
 * each with a master and a slave, and the bus-master DMA registers
 * (SFF-8038i) at BAR4. Commands (ATA/ATAPI-6): IDENTIFY DEVICE, READ and
 * WRITE SECTORS / MULTIPLE / DMA with CHS, LBA28 and LBA48 addresses,
 * READ VERIFY, SET MULTIPLE MODE, SET FEATURES, INITIALIZE DEVICE
 * PARAMETERS, EXECUTE DEVICE DIAGNOSTIC, FLUSH CACHE, power management
 * commands (no effect), READ NATIVE MAX ADDRESS; anything else is
 * aborted. Transfers happen at once when the command is written (or the
 * bus master is started): the disk never reports busy. No ATAPI. */
#ifndef RINGVM_IDE_H
#define RINGVM_IDE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/dev.h"
#include "dev/pci_func.h"
#include "machine/bus.h"

#define IDE_MAX_MULT 16   /* sectors per DRQ block for READ/WRITE MULTIPLE */

struct ide_drive {
	bool present, readonly;
	int fd;
	uint64_t sectors;
	uint16_t cyls, heads, spt;         /* default geometry */
	uint16_t cur_heads, cur_spt;       /* INITIALIZE DEVICE PARAMETERS */
	uint8_t mult;                      /* SET MULTIPLE: sectors per block, 0 off */
	uint8_t xfer_mode;                 /* SET FEATURES 03h: the mode chosen */
	char model[41];
};

enum { IDE_XFER_NONE, IDE_XFER_PIO_IN, IDE_XFER_PIO_OUT, IDE_XFER_DMA_IN, IDE_XFER_DMA_OUT };

struct ide_channel {
	struct ide_drive drive[2];
	/* The task file: writes reach both drives; "hob" is the previous
	 * value of each register (LBA48's high-order bytes). */
	uint8_t feature, nsect, lbal, lbam, lbah, select;
	uint8_t hob_feature, hob_nsect, hob_lbal, hob_lbam, hob_lbah;
	uint8_t status, error, ctrl;
	bool intrq, irq_level;  /* the device's INTRQ; the line (INTRQ and not nIEN) */
	/* The command in progress. */
	int xfer;
	uint64_t lba;          /* next sector to transfer */
	uint32_t left;         /* sectors still to transfer */
	uint32_t block;        /* sectors per DRQ block (PIO) */
	uint8_t buf[IDE_MAX_MULT * 512];
	uint32_t pos, len;     /* PIO data buffer */
	/* Bus master. */
	uint8_t bm_cmd, bm_status;
	uint32_t bm_prd;
	struct irq_line irq;
};

struct ide {
	struct pci_func fn;
	struct ide_channel ch[2];
	struct bus *pio;
	uint32_t bm_base;      /* where BAR4 is decoded now (0: nowhere) */
	struct guest_dma dma;
	FILE *log;
	unsigned logged;
};

int ide_init(struct ide *d, struct bus *pio, struct irq_line irq14, struct irq_line irq15,
	     const struct guest_dma *dma, FILE *log);
/* Reset the controller and the drives (power on); idetim: the IDE timing
 * registers' value (0x8000 enables decoding, as a BIOS leaves it). */
void ide_reset(struct ide *d, uint16_t idetim);
/* Attach an image: channel 0/1, unit 0 (master) / 1 (slave). The fd is
 * the caller's to close. 0, or -1 with a message (bad slot, image smaller
 * than a sector). */
int ide_attach(struct ide *d, int ch, int unit, int fd, uint64_t bytes, bool readonly,
	       char *err, size_t errlen);

#endif
