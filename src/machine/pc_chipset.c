/* The board's i440FX/PIIX3 side as QEMU's pc machine has it (see pc.h,
 * docs/board.md): the 440FX's PAM registers routing the BIOS area, the
 * PIIX3's ISA bridge at 00:01.0, and QEMU's fw_cfg with what SeaBIOS
 * reads from it. */
#include "machine/pc.h"

#include "boot/fwtables.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERCON_PORT 0x3f8

static int dma_read(void *opaque, uint32_t pa, void *dst, uint32_t len)
{
	struct pc *pc = opaque;
	return cpu_phys_read(pc_bsp(pc), pa, dst, len);
}

static int dma_write(void *opaque, uint32_t pa, const void *src, uint32_t len)
{
	struct pc *pc = opaque;
	return cpu_phys_write(pc_bsp(pc), pa, src, len);
}

/* 440FX PAM: 0x59's high nibble is 0xF0000-0xFFFFF (four 16 KiB
 * segments), then 0x5A-0x5F hold two 16 KiB segments each from 0xC0000
 * (low nibble first); bit 0 of a nibble enables reads, bit 1 writes. */
static void pam_changed(void *opaque, const uint8_t pam[7])
{
	struct pc *pc = opaque;
	for (int s = 12; s < 16; s++)
		for (int i = 0; i < pc->ncpus; i++)
			cpu_set_pam(&pc->vcpu[i].cpu, s, (uint8_t)(pam[0] >> 4));
	for (int s = 0; s < 12; s++)
		for (int i = 0; i < pc->ncpus; i++)
			cpu_set_pam(&pc->vcpu[i].cpu, s, (uint8_t)(pam[1 + s / 2] >> (4 * (s & 1))));
}

/* A Linux bzImage given with --bios goes to fw_cfg as QEMU splits it:
 * the real-mode setup sectors and the protected-mode kernel. */
static int add_kernel(struct pc *pc)
{
	const struct pc_config *c = &pc->cfg;
	struct fw_cfg *f = &pc->fw_cfg;
	uint32_t setup = 0;
	if (c->kernel_len >= 0x202 + 4 && !memcmp(c->kernel + 0x202, "HdrS", 4)) {
		uint32_t sects = c->kernel[0x1f1] ? c->kernel[0x1f1] : 4;
		setup = (sects + 1) * 512;
		if (setup > c->kernel_len)
			setup = 0;
	}
	int bad = 0;
	bad |= fw_cfg_add_i32(f, FW_CFG_KERNEL_ADDR, 0x100000);
	bad |= fw_cfg_add_i32(f, FW_CFG_KERNEL_SIZE, (uint32_t)(c->kernel_len - setup));
	bad |= fw_cfg_add(f, FW_CFG_KERNEL_DATA, c->kernel + setup, (uint32_t)(c->kernel_len - setup));
	bad |= fw_cfg_add_i32(f, FW_CFG_SETUP_ADDR, setup ? 0x10000 : 0);
	bad |= fw_cfg_add_i32(f, FW_CFG_SETUP_SIZE, setup);
	bad |= fw_cfg_add(f, FW_CFG_SETUP_DATA, c->kernel, setup);
	size_t cl = strlen(c->cmdline ? c->cmdline : "") + 1;
	bad |= fw_cfg_add_i32(f, FW_CFG_CMDLINE_ADDR, 0x20000);
	bad |= fw_cfg_add_i32(f, FW_CFG_CMDLINE_SIZE, (uint32_t)cl);
	bad |= fw_cfg_add(f, FW_CFG_CMDLINE_DATA, c->cmdline ? c->cmdline : "", (uint32_t)cl);
	if (c->initrd) {
		uint32_t at = (uint32_t)((pc->ram.size - c->initrd_len) & ~0xfffu);
		bad |= fw_cfg_add_i32(f, FW_CFG_INITRD_ADDR, at);
		bad |= fw_cfg_add_i32(f, FW_CFG_INITRD_SIZE, (uint32_t)c->initrd_len);
		bad |= fw_cfg_add(f, FW_CFG_INITRD_DATA, c->initrd, (uint32_t)c->initrd_len);
	}
	return bad;
}

/* QEMU's table loader ("etc/table-loader", hw/acpi/bios-linker-loader.c):
 * 128-byte commands telling the firmware to allocate files, patch
 * pointers between them and fix checksums. */
enum { LD_ALLOCATE = 1, LD_ADD_POINTER = 2, LD_ADD_CHECKSUM = 3 };
#define LD_ZONE_HIGH 1
#define LD_ZONE_FSEG 2
#define LD_ENTRY 128
#define LD_FILE 56

static uint8_t *ld_entry(uint8_t *cmds, int *n, uint32_t cmd)
{
	uint8_t *e = cmds + LD_ENTRY * (*n)++;
	memset(e, 0, LD_ENTRY);
	for (int i = 0; i < 4; i++)
		e[i] = (uint8_t)(cmd >> (8 * i));
	return e;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void ld_alloc(uint8_t *cmds, int *n, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = ld_entry(cmds, n, LD_ALLOCATE);
	strcpy((char *)e + 4, file);
	put_le32(e + 4 + LD_FILE, align);
	e[8 + LD_FILE] = zone;
}

static void ld_pointer(uint8_t *cmds, int *n, const char *file, const char *to, uint32_t off)
{
	uint8_t *e = ld_entry(cmds, n, LD_ADD_POINTER);
	strcpy((char *)e + 4, file);
	strcpy((char *)e + 4 + LD_FILE, to);
	put_le32(e + 4 + 2 * LD_FILE, off);
	e[8 + 2 * LD_FILE] = 4;
}

static void ld_checksum(uint8_t *cmds, int *n, const char *file, uint32_t start, uint32_t len, uint32_t at)
{
	uint8_t *e = ld_entry(cmds, n, LD_ADD_CHECKSUM);
	strcpy((char *)e + 4, file);
	put_le32(e + 4 + LD_FILE, at);
	put_le32(e + 8 + LD_FILE, start);
	put_le32(e + 12 + LD_FILE, len);
}

/* The same ACPI tables as a direct boot gets, for SeaBIOS to place: the
 * RSDP in the BIOS area, the rest in high memory, pointers patched. */
static int add_acpi(struct pc *pc)
{
	static const char rsdp[] = "etc/acpi/rsdp", tables[] = "etc/acpi/tables";
	uint8_t buf[4096];
	struct acpi_layout l;
	memset(buf, 0, sizeof(buf));
	int len = pc_acpi_image(pc, buf, sizeof(buf), &l);
	if (len < 0)
		return -1;
	uint8_t cmds[LD_ENTRY * 10];
	int n = 0;
	ld_alloc(cmds, &n, rsdp, 16, LD_ZONE_FSEG);
	ld_alloc(cmds, &n, tables, 64, LD_ZONE_HIGH);
	ld_pointer(cmds, &n, rsdp, tables, 16);
	ld_checksum(cmds, &n, rsdp, 0, 20, 8);
	ld_pointer(cmds, &n, tables, tables, l.rsdt + 36);
	ld_pointer(cmds, &n, tables, tables, l.rsdt + 40);
	ld_checksum(cmds, &n, tables, l.rsdt, l.rsdt_len, l.rsdt + 9);
	ld_pointer(cmds, &n, tables, tables, l.fadt + 36);
	ld_pointer(cmds, &n, tables, tables, l.fadt + 40);
	ld_checksum(cmds, &n, tables, l.fadt, l.fadt_len, l.fadt + 9);
	/* The tables file holds the RSDP's bytes too (offsets stay the
	 * same); blank them so no stale RSDP lies in high memory. */
	uint8_t r[20];
	memcpy(r, buf, 20);
	memset(buf, 0, 32);
	int bad = 0;
	bad |= fw_cfg_add_file(&pc->fw_cfg, rsdp, r, 20);
	bad |= fw_cfg_add_file(&pc->fw_cfg, tables, buf, (uint32_t)len);
	bad |= fw_cfg_add_file(&pc->fw_cfg, "etc/table-loader", cmds, (uint32_t)(LD_ENTRY * n));
	return bad;
}

static int add_items(struct pc *pc)
{
	const struct pc_config *c = &pc->cfg;
	struct fw_cfg *f = &pc->fw_cfg;
	static const uint8_t uuid[16];
	int bad = 0;
	bad |= fw_cfg_add(f, FW_CFG_UUID, uuid, 16);
	bad |= fw_cfg_add_i64(f, FW_CFG_RAM_SIZE, pc->ram.size);
	bad |= fw_cfg_add_i16(f, FW_CFG_NOGRAPHIC, 1);
	bad |= fw_cfg_add_i16(f, FW_CFG_NB_CPUS, (uint16_t)pc->ncpus);
	bad |= fw_cfg_add_i16(f, FW_CFG_MAX_CPUS, (uint16_t)pc->ncpus);
	bad |= fw_cfg_add_i16(f, FW_CFG_BOOT_MENU, c->boot_menu ? 1 : 0);
	bad |= fw_cfg_add_i32(f, FW_CFG_IRQ0_OVERRIDE, 1);
	/* etc/e820: {le64 address, le64 length, le32 type}, RAM only; the
	 * BIOS reserves its own areas. */
	uint8_t e820[20] = { 0 };
	for (int i = 0; i < 8; i++)
		e820[8 + i] = (uint8_t)((uint64_t)pc->ram.size >> (8 * i));
	e820[16] = 1;
	bad |= fw_cfg_add_file(f, "etc/e820", e820, sizeof(e820));
	/* No VGA BIOS: SeaBIOS's serial console is its screen and keyboard. */
	uint8_t sercon[2] = { SERCON_PORT & 0xff, SERCON_PORT >> 8 };
	bad |= fw_cfg_add_file(f, "etc/sercon-port", sercon, 2);
	if (c->boot_menu && c->splash_ms) {
		uint8_t w[2] = { (uint8_t)c->splash_ms, (uint8_t)(c->splash_ms >> 8) };
		bad |= fw_cfg_add_file(f, "etc/boot-menu-wait", w, 2);
	}
	if (c->bootorder[0])
		bad |= fw_cfg_add_file(f, "bootorder", c->bootorder, (uint32_t)strlen(c->bootorder) + 1);
	if (c->rom && c->kernel)
		bad |= add_kernel(pc);
	if (c->rom && !c->no_acpi)
		bad |= add_acpi(pc);
	return bad;
}

static int open_disks(struct pc *pc, char *err, size_t errlen)
{
	for (int i = 0; i < PC_IDE_DRIVES; i++) {
		const struct pc_drive *d = &pc->cfg.ide[i];
		if (!d->file)
			continue;
		int fd = open(d->file, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			snprintf(err, errlen, "disk image '%s': %s", d->file, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		pc->ide_fd[i] = fd;
		char why[128];
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
			snprintf(err, errlen, "disk image '%s': not a file", d->file);
			return -1;
		}
		if (ide_attach(&pc->ide, i / 2, i % 2, fd, (uint64_t)st.st_size, d->readonly, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "disk image '%s': %s", d->file, why);
			return -1;
		}
	}
	/* SeaBIOS boots the first disk first (QEMU writes this path for a
	 * drive with bootindex=0). */
	if (pc->cfg.ide[0].file && !pc->cfg.bootorder[0])
		snprintf(pc->cfg.bootorder, sizeof(pc->cfg.bootorder), "/pci@i0cf8/ide@1,1/drive@0/disk@0");
	return 0;
}

int pc_chipset_init(struct pc *pc, const struct irq_line isa[16], char *err, size_t errlen)
{
	struct guest_dma dma = { pc, dma_read, dma_write };
	/* Without a BIOS the area is as one leaves it: shadow RAM, read-only. */
	pc->pci.pam_changed = pam_changed;
	pc->pci.pam_opaque = pc;
	pc->pci.pam_reset = pc->cfg.rom ? 0x00 : 0x11;
	pci_host_reset(&pc->pci);
	piix3_init(&pc->piix3, isa, pc->cfg.log);
	if (pci_host_add(&pc->pci, PCI_DEVFN(1, 0), &pc->piix3.fn) < 0 ||
	    ide_init(&pc->ide, &pc->pio, isa[14], isa[15], &dma, pc->cfg.log) < 0 ||
	    pci_host_add(&pc->pci, PCI_DEVFN(1, 1), &pc->ide.fn) < 0) {
		snprintf(err, errlen, "internal error: chipset devices overlap");
		return -1;
	}
	if (vga_init(&pc->vga, &pc->pio, &pc->mmio, pc->cfg.log) < 0) {
		snprintf(err, errlen, "internal error: VGA ports overlap");
		return -1;
	}
	if (open_disks(pc, err, errlen) < 0)
		return -1;
	pc_chipset_reset(pc);
	if (fw_cfg_init(&pc->fw_cfg, &pc->pio, &dma, pc->cfg.log) < 0) {
		snprintf(err, errlen, "internal error: fw_cfg ports overlap");
		return -1;
	}
	pc->fw_cfg_ok = true;
	if (add_items(pc) < 0) {
		snprintf(err, errlen, "out of memory (fw_cfg items)");
		return -1;
	}
	return 0;
}

void pc_chipset_reset(struct pc *pc)
{
	piix3_reset(&pc->piix3);
	/* The IDE ports decode from the start without a BIOS to enable them. */
	ide_reset(&pc->ide, pc->cfg.rom ? 0x0000 : 0x8000);
	fw_cfg_reset(&pc->fw_cfg);
	vga_reset(&pc->vga);
}

void pc_chipset_free(struct pc *pc)
{
	if (pc->fw_cfg_ok)
		fw_cfg_free(&pc->fw_cfg);
	for (int i = 0; i < PC_IDE_DRIVES; i++)
		if (pc->ide_fd[i] >= 0)
			close(pc->ide_fd[i]);
}

/* ---- the chipset in the device table (snapshots, migration) ---- */

/* One section for the PIIX3 (its configuration and PIRQ lines), the IDE
 * controller (configuration, task files, the transfer in progress, the
 * drives' settings), fw_cfg (selector and offset; its items come from the
 * configuration) and VGA (memory and registers). Host struct layout, as
 * every section (docs/domains.md). The disk images themselves are files
 * outside the snapshot: with an IDE disk attached the table holds
 * "ide-disks" instead, which cannot be saved, so a save is refused rather
 * than restore a domain whose disks may have moved on since. */
static void chipset_reset(void *dev)
{
	pc_chipset_reset(dev);
}

#define SPAN(type, from, to) (offsetof(type, to) - offsetof(type, from))

static void chipset_save(void *dev, struct snap_w *w)
{
	struct pc *pc = dev;
	snap_put(w, pc->piix3.fn.cfg, sizeof(pc->piix3.fn.cfg));
	snap_u8(w, pc->piix3.pirq_level);
	snap_put(w, pc->piix3.pirq_irq, sizeof(pc->piix3.pirq_irq));
	snap_put(w, pc->ide.fn.cfg, sizeof(pc->ide.fn.cfg));
	for (int c = 0; c < 2; c++) {
		struct ide_channel *ch = &pc->ide.ch[c];
		for (int u = 0; u < 2; u++)
			snap_put(w, &ch->drive[u].cur_heads, SPAN(struct ide_drive, cur_heads, model));
		snap_put(w, &ch->feature, SPAN(struct ide_channel, feature, irq));
	}
	snap_u32(w, pc->fw_cfg.sel);
	snap_u32(w, pc->fw_cfg.off);
	snap_u32(w, pc->fw_cfg.dma_hi);
	snap_put(w, pc->vga.mem, SPAN(struct vga, mem, log));
}

static int chipset_load(void *dev, struct snap_r *r)
{
	struct pc *pc = dev;
	snap_get(r, pc->piix3.fn.cfg, sizeof(pc->piix3.fn.cfg));
	pc->piix3.pirq_level = snap_get_u8(r);
	snap_get(r, pc->piix3.pirq_irq, sizeof(pc->piix3.pirq_irq));
	snap_get(r, pc->ide.fn.cfg, sizeof(pc->ide.fn.cfg));
	for (int c = 0; c < 2; c++) {
		struct ide_channel *ch = &pc->ide.ch[c];
		for (int u = 0; u < 2; u++)
			snap_get(r, &ch->drive[u].cur_heads, SPAN(struct ide_drive, cur_heads, model));
		snap_get(r, &ch->feature, SPAN(struct ide_channel, feature, irq));
	}
	pc->fw_cfg.sel = (uint16_t)snap_get_u32(r);
	pc->fw_cfg.off = snap_get_u32(r);
	pc->fw_cfg.dma_hi = snap_get_u32(r);
	snap_get(r, pc->vga.mem, SPAN(struct vga, mem, log));
	/* the bus-master ports follow the loaded BAR4 and command register */
	if (pc->ide.fn.written)
		pc->ide.fn.written(pc->ide.fn.opaque, PCI_COMMAND, 2);
	return 0;
}

static const struct dev_ops chipset_dev_ops = { "chipset", chipset_reset, chipset_save, chipset_load };
static const struct dev_ops chipset_disks_dev_ops = { "ide-disks", chipset_reset, NULL, NULL };

int pc_chipset_register(struct pc *pc)
{
	bool disks = false;
	for (int i = 0; i < PC_IDE_DRIVES; i++)
		disks |= pc->ide_fd[i] >= 0;
	return devtab_add(&pc->devs, disks ? &chipset_disks_dev_ops : &chipset_dev_ops, pc);
}
