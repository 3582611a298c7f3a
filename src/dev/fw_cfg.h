/* QEMU's firmware configuration device (QEMU's docs/specs/fw_cfg.rst),
 * the x86 I/O port variant: a 16-bit selector at 0x510, a byte-wide data
 * port at 0x511 that reads the selected item from its start, and the DMA
 * interface at 0x514 (the 64-bit big-endian address of a control block
 * {be32 control, be32 length, be64 address}; writing its low half at
 * 0x518 runs it; reading 0x514 gives the signature "QEMU CFG").
 *
 * The board adds numbered items (signature, ID, RAM size, CPUs, kernel,
 * ...) and named files (listed in the directory at 0x19, selectors from
 * 0x20 on). Items are read-only: guest writes through DMA set the error
 * bit, as QEMU does for a read-only item. */
#ifndef RINGVM_FW_CFG_H
#define RINGVM_FW_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/dev.h"
#include "machine/bus.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DMA 0x514

/* Numbered items (QEMU's include/standard-headers/linux/qemu_fw_cfg.h). */
enum {
	FW_CFG_SIGNATURE = 0x00,
	FW_CFG_ID = 0x01,
	FW_CFG_UUID = 0x02,
	FW_CFG_RAM_SIZE = 0x03,
	FW_CFG_NOGRAPHIC = 0x04,
	FW_CFG_NB_CPUS = 0x05,
	FW_CFG_KERNEL_ADDR = 0x07,
	FW_CFG_KERNEL_SIZE = 0x08,
	FW_CFG_KERNEL_CMDLINE = 0x09,
	FW_CFG_INITRD_ADDR = 0x0a,
	FW_CFG_INITRD_SIZE = 0x0b,
	FW_CFG_BOOT_DEVICE = 0x0c,
	FW_CFG_BOOT_MENU = 0x0e,
	FW_CFG_MAX_CPUS = 0x0f,
	FW_CFG_KERNEL_ENTRY = 0x10,
	FW_CFG_KERNEL_DATA = 0x11,
	FW_CFG_INITRD_DATA = 0x12,
	FW_CFG_CMDLINE_ADDR = 0x13,
	FW_CFG_CMDLINE_SIZE = 0x14,
	FW_CFG_CMDLINE_DATA = 0x15,
	FW_CFG_SETUP_ADDR = 0x16,
	FW_CFG_SETUP_SIZE = 0x17,
	FW_CFG_SETUP_DATA = 0x18,
	FW_CFG_FILE_DIR = 0x19,
	FW_CFG_FILE_FIRST = 0x20,
	FW_CFG_IRQ0_OVERRIDE = 0x8002, /* x86: IRQ 0 is on IOAPIC pin 2 */
};

#define FW_CFG_ID_TRAD 1
#define FW_CFG_ID_DMA 2
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10

#define FW_CFG_MAX_ITEMS 64
#define FW_CFG_NAME_LEN 56

struct fw_cfg_item {
	uint16_t key;
	char name[FW_CFG_NAME_LEN];   /* files only */
	uint8_t *data;                /* owned copy */
	uint32_t len;
};

struct fw_cfg {
	struct fw_cfg_item item[FW_CFG_MAX_ITEMS];
	int n;
	uint16_t nfiles;
	uint8_t *dir;                 /* the file directory, rebuilt on each add */
	uint32_t dir_len;
	/* state */
	uint16_t sel;
	uint32_t off;
	uint32_t dma_hi;              /* high half of the DMA address */
	struct guest_dma dma;
	FILE *log;
	unsigned logged;
};

int fw_cfg_init(struct fw_cfg *f, struct bus *pio, const struct guest_dma *dma, FILE *log);
void fw_cfg_free(struct fw_cfg *f);
void fw_cfg_reset(struct fw_cfg *f);
/* Add (or replace) a numbered item or a named file; the data is copied.
 * 0, or -1 (out of memory, table full, name too long). */
int fw_cfg_add(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len);
int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t v);
int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t v);
int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t v);
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len);

#endif
