/* The PIIX3 IDE controller with an ATA disk on an image file: the
 * signature and status of present and absent drives, IDENTIFY, PIO reads
 * and writes (LBA28, LBA48, CHS, several sectors, READ/WRITE MULTIPLE),
 * the interrupt and nIEN, out-of-range and read-only errors, aborted
 * commands, software reset, bus-master DMA both ways (PRD tables with
 * several entries, too short a table, memory outside RAM), BAR4 moving
 * with the PCI command register, reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DMA_MEM_SIZE 0x40000
#include "dev_dma.h"
#include "dev/ide.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct bus b;
static int irq14, irq15;

static void irq(void *o, int n, int l) { (void)o; if (n == 14) irq14 = l; else irq15 = l; }

static void outb(uint16_t p, uint8_t v) { bus_write(&b, p, 1, v); }
static uint8_t inb(uint16_t p) { return (uint8_t)bus_read(&b, p, 1); }
static uint16_t inw(uint16_t p) { return (uint16_t)bus_read(&b, p, 2); }
static void outw(uint16_t p, uint16_t v) { bus_write(&b, p, 2, v); }

/* Pattern byte i of sector s of the image. */
static uint8_t pat(uint64_t s, int i) { return (uint8_t)(s * 7 + (uint64_t)i * 13 + 1); }

static void lba28(uint32_t lba, uint8_t n)
{
	outb(0x1f6, (uint8_t)(0xe0 | (lba >> 24)));
	outb(0x1f2, n);
	outb(0x1f3, (uint8_t)lba);
	outb(0x1f4, (uint8_t)(lba >> 8));
	outb(0x1f5, (uint8_t)(lba >> 16));
}

/* Read n sectors of PIO data into buf; false if DRQ drops early. */
static int pio_in(uint8_t *buf, int sectors)
{
	for (int s = 0; s < sectors; s++) {
		if ((inb(0x3f6) & 0x89) != 0x08)
			return 0;
		for (int i = 0; i < 256; i++) {
			uint16_t w = inw(0x1f0);
			buf[s * 512 + 2 * i] = (uint8_t)w;
			buf[s * 512 + 2 * i + 1] = (uint8_t)(w >> 8);
		}
	}
	return 1;
}

static int sector_ok(const uint8_t *buf, uint64_t s)
{
	for (int i = 0; i < 512; i++)
		if (buf[i] != pat(s, i))
			return 0;
	return 1;
}

int main(void)
{
	bus_init(&b, 0x10000);
	char path[] = "/tmp/ringvm-ide-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	const uint64_t nsec = 4096; /* 2 MiB */
	for (uint64_t s = 0; s < nsec; s++) {
		uint8_t sec[512];
		for (int i = 0; i < 512; i++)
			sec[i] = pat(s, i);
		CHECK(pwrite(fd, sec, 512, (off_t)(s * 512)) == 512);
	}
	FILE *log = tmpfile();
	struct ide d;
	struct guest_dma gd = { NULL, dma_rd, dma_wr };
	struct irq_line l14 = { irq, NULL, 14 }, l15 = { irq, NULL, 15 };
	CHECK(ide_init(&d, &b, l14, l15, &gd, log) == 0);
	char err[128];
	CHECK(ide_attach(&d, 0, 0, fd, nsec * 512, false, err, sizeof(err)) == 0);
	CHECK(ide_attach(&d, 0, 0, fd, nsec * 512, false, err, sizeof(err)) < 0);
	CHECK(ide_attach(&d, 2, 0, fd, nsec * 512, false, err, sizeof(err)) < 0);
	CHECK(ide_attach(&d, 1, 0, fd, 100, false, err, sizeof(err)) < 0);
	ide_reset(&d, 0x8000);
	uint8_t *buf = calloc(1, 65536 * 2);

	/* Identification: class, IDETIM, signature; absent drives. */
	CHECK(d.fn.cfg[0] == 0x86 && d.fn.cfg[2] == 0x10 && d.fn.cfg[3] == 0x70);
	CHECK(d.fn.cfg[0x09] == 0x80 && d.fn.cfg[0x0a] == 0x01);
	CHECK(d.fn.cfg[0x41] == 0x80);
	CHECK(inb(0x1f2) == 1 && inb(0x1f3) == 1 && inb(0x1f4) == 0 && inb(0x1f5) == 0);
	CHECK(inb(0x1f7) == 0x50);
	outb(0x1f6, 0xb0); /* the slave: absent */
	CHECK(inb(0x1f7) == 0);
	outb(0x1f7, 0xec);
	CHECK(inb(0x1f7) == 0 && !irq14);
	CHECK(inb(0x177) == 0 && inb(0x376) == 0); /* empty channel */

	/* IDENTIFY. */
	outb(0x1f6, 0xa0);
	outb(0x1f7, 0xec);
	CHECK(irq14);
	CHECK(inb(0x1f7) == 0x58 && !irq14); /* status read acknowledges */
	CHECK(pio_in(buf, 1));
	uint16_t *w = (uint16_t *)buf;
	CHECK(w[0] == 0x0040 && (w[49] & 0x0300) == 0x0300);
	CHECK((w[60] | (uint32_t)w[61] << 16) == nsec);
	CHECK(w[100] == nsec && w[101] == 0 && (w[83] & (1u << 10)));
	CHECK(!memcmp(buf + 54, "IRGNMVH RADDSI K", 16)); /* "RINGVM HARDDISK" byte-swapped */
	CHECK(inb(0x1f7) == 0x50);

	/* LBA28 read of 3 sectors: one interrupt per sector. */
	lba28(10, 3);
	outb(0x1f7, 0x20);
	CHECK(irq14);
	CHECK(pio_in(buf, 3));
	CHECK(sector_ok(buf, 10) && sector_ok(buf + 512, 11) && sector_ok(buf + 1024, 12));
	CHECK(inb(0x1f7) == 0x50);
	/* 32-bit data reads work too. */
	lba28(5, 1);
	outb(0x1f7, 0x20);
	uint32_t dw = bus_read(&b, 0x1f0, 4);
	CHECK(dw == ((uint32_t)pat(5, 0) | (uint32_t)pat(5, 1) << 8 | (uint32_t)pat(5, 2) << 16 | (uint32_t)pat(5, 3) << 24));
	for (int i = 0; i < 127; i++)
		bus_read(&b, 0x1f0, 4);
	CHECK(inb(0x1f7) == 0x50);

	/* LBA48: sector 0x100 + 2 sectors with high bytes through HOB. */
	outb(0x1f6, 0x40);
	outb(0x1f2, 0); outb(0x1f2, 2);
	outb(0x1f3, 0); outb(0x1f3, 0x00);
	outb(0x1f4, 0); outb(0x1f4, 0x01);
	outb(0x1f5, 0); outb(0x1f5, 0x00);
	outb(0x3f6, 0x80); /* HOB: the previous values */
	CHECK(inb(0x1f2) == 0);
	outb(0x3f6, 0x00);
	outb(0x1f7, 0x24);
	CHECK(pio_in(buf, 2) && sector_ok(buf, 0x100) && sector_ok(buf + 512, 0x101));
	/* Past the end: IDNF. */
	lba28((uint32_t)nsec - 1, 2);
	outb(0x1f7, 0x20);
	CHECK(inb(0x1f7) == 0x51 && inb(0x1f1) == 0x10);

	/* CHS: cylinder 1, head 2, sector 3 with 16 heads, 63 sectors. */
	outb(0x1f6, 0xa2);
	outb(0x1f2, 1);
	outb(0x1f3, 3);
	outb(0x1f4, 1);
	outb(0x1f5, 0);
	outb(0x1f7, 0x20);
	CHECK(pio_in(buf, 1) && sector_ok(buf, (1 * 16 + 2) * 63 + 2));
	outb(0x1f3, 0); /* sector 0 does not exist */
	outb(0x1f7, 0x20);
	CHECK(inb(0x1f7) & 0x01);

	/* PIO write of 2 sectors, read back from the file. */
	lba28(200, 2);
	outb(0x1f7, 0x30);
	CHECK(inb(0x3f6) == 0x58 && !irq14); /* first block: DRQ, no interrupt */
	for (int i = 0; i < 256; i++)
		outw(0x1f0, (uint16_t)(0xab00 + i));
	CHECK(irq14 && (inb(0x1f7) & 0x08));
	for (int i = 0; i < 256; i++)
		outw(0x1f0, 0x1234);
	CHECK(inb(0x1f7) == 0x50);
	uint8_t sec[512];
	CHECK(pread(fd, sec, 512, 200 * 512) == 512 && sec[0] == 0x00 && sec[1] == 0xab && sec[2] == 0x01);
	CHECK(pread(fd, sec, 512, 201 * 512) == 512 && sec[0] == 0x34 && sec[1] == 0x12);

	/* READ MULTIPLE needs SET MULTIPLE first; then 8 sectors a block. */
	lba28(20, 16);
	outb(0x1f7, 0xc4);
	CHECK(inb(0x1f7) == 0x51 && inb(0x1f1) == 0x04);
	outb(0x1f2, 3); /* not a power of two */
	outb(0x1f7, 0xc6);
	CHECK(inb(0x1f7) & 0x01);
	outb(0x1f2, 8);
	outb(0x1f7, 0xc6);
	CHECK(inb(0x1f7) == 0x50);
	lba28(20, 16);
	irq14 = 0;
	outb(0x1f7, 0xc4);
	CHECK(irq14);
	inb(0x1f7);
	CHECK(pio_in(buf, 8));
	CHECK(pio_in(buf + 8 * 512, 8));
	CHECK(sector_ok(buf, 20) && sector_ok(buf + 15 * 512, 35));

	/* nIEN keeps the line low. */
	outb(0x3f6, 0x02);
	inb(0x1f7);
	lba28(1, 1);
	outb(0x1f7, 0x20);
	CHECK(!irq14);
	outb(0x3f6, 0x00); /* the pending interrupt shows once enabled */
	CHECK(irq14);
	pio_in(buf, 1);
	inb(0x1f7);

	/* Unknown commands and features abort; the device carries on. */
	outb(0x1f7, 0x01);
	CHECK(inb(0x1f7) == 0x51 && inb(0x1f1) == 0x04);
	outb(0x1f1, 0x77);
	outb(0x1f7, 0xef);
	CHECK(inb(0x1f7) & 0x01);
	outb(0x1f1, 0x03);
	outb(0x1f2, 0x22); /* multiword DMA 2 */
	outb(0x1f7, 0xef);
	CHECK(inb(0x1f7) == 0x50);
	outb(0x1f7, 0xa1); /* IDENTIFY PACKET: not ATAPI */
	CHECK((inb(0x1f7) & 0x01) && inb(0x1f4) == 0 && inb(0x1f5) == 0);
	outb(0x1f7, 0xe7); /* FLUSH CACHE */
	CHECK(inb(0x1f7) == 0x50);

	/* Software reset: busy while SRST, then the signature. */
	outb(0x1f3, 0x55);
	outb(0x3f6, 0x04);
	CHECK(inb(0x3f6) & 0x80);
	outb(0x3f6, 0x00);
	CHECK(inb(0x1f7) == 0x50 && inb(0x1f3) == 1 && inb(0x1f1) == 1);

	/* Bus master: BAR4 decodes once I/O is on. */
	pci_func_write(&d.fn, 0x20, 4, 0xffffffff);
	CHECK(pci_func_read(&d.fn, 0x20, 4) == 0xfffffff1u);
	pci_func_write(&d.fn, 0x20, 4, 0xc000);
	CHECK(inb(0xc002) == 0xff); /* I/O decoding off */
	pci_func_write(&d.fn, 0x04, 2, 0x0005);
	CHECK((inb(0xc002) & 0x60) == 0x20); /* drive 0 DMA capable */
	/* READ DMA of 20 sectors into two PRD entries (4 KiB + the rest). */
	memset(mem, 0, sizeof(mem));
	uint8_t prd[16] = { 0x00, 0x10, 0, 0, 0x00, 0x10, 0, 0,  /* 0x1000, 4096 */
			    0x00, 0x80, 0, 0, 0x00, 0x18, 0, 0x80 }; /* 0x8000, 6144, EOT */
	memcpy(mem + 0x100, prd, 16);
	bus_write(&b, 0xc004, 4, 0x100);
	outb(0xc002, 0x06);
	lba28(300, 20);
	outb(0x1f7, 0xc8);
	CHECK(!irq14 && (inb(0x3f6) & 0x08)); /* waits for the start bit */
	outb(0xc000, 0x09);
	CHECK(irq14 && (inb(0xc002) & 0x07) == 0x04); /* interrupt, not active */
	outb(0xc000, 0x00);
	CHECK(inb(0x1f7) == 0x50);
	int ok = 1;
	for (int s = 0; s < 8; s++)
		ok &= sector_ok(mem + 0x1000 + s * 512, 300 + (uint64_t)s);
	for (int s = 8; s < 20; s++)
		ok &= sector_ok(mem + 0x8000 + (s - 8) * 512, 300 + (uint64_t)s);
	CHECK(ok);
	/* WRITE DMA of 1 sector from memory. */
	memset(mem + 0x2000, 0x5a, 512);
	uint8_t prd1[8] = { 0x00, 0x20, 0, 0, 0x00, 0x02, 0, 0x80 };
	memcpy(mem + 0x100, prd1, 8);
	outb(0xc002, 0x06);
	lba28(400, 1);
	outb(0x1f7, 0xca);
	outb(0xc000, 0x01);
	CHECK(inb(0x1f7) == 0x50);
	CHECK(pread(fd, sec, 512, 400 * 512) == 512 && sec[0] == 0x5a && sec[511] == 0x5a);
	outb(0xc000, 0x00);
	/* The wrong direction, too short a table, memory that is not RAM. */
	outb(0xc002, 0x06);
	lba28(400, 1);
	outb(0x1f7, 0xca);
	outb(0xc000, 0x09);
	CHECK((inb(0xc002) & 0x02) && (inb(0x1f7) & 0x01));
	outb(0xc000, 0x00);
	outb(0xc002, 0x06);
	lba28(400, 2);
	outb(0x1f7, 0xc8);
	outb(0xc000, 0x09);
	CHECK((inb(0xc002) & 0x02) && (inb(0x1f7) & 0x01));
	outb(0xc000, 0x00);
	uint8_t prdbad[8] = { 0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0, 0x80 }; /* 0x10000000 */
	memcpy(mem + 0x100, prdbad, 8);
	outb(0xc002, 0x06);
	lba28(400, 1);
	outb(0x1f7, 0xc8);
	outb(0xc000, 0x09);
	CHECK((inb(0xc002) & 0x02) && (inb(0x1f7) & 0x01));
	outb(0xc000, 0x00);
	bus_write(&b, 0xc004, 4, 0x3fffc); /* the table itself off the end */
	outb(0xc002, 0x06);
	lba28(400, 1);
	outb(0x1f7, 0xc8);
	outb(0xc000, 0x09);
	CHECK(inb(0xc002) & 0x02);
	outb(0xc000, 0x00);
	CHECK(d.logged >= 3);

	/* BAR4 moves; off again when I/O decoding is turned off. */
	pci_func_write(&d.fn, 0x20, 4, 0xd000);
	CHECK(inb(0xc002) == 0xff && inb(0xd002) != 0xff);
	pci_func_write(&d.fn, 0x04, 2, 0x0000);
	CHECK(inb(0xd002) == 0xff);

	/* A read-only disk refuses writes. */
	struct ide r;
	struct bus b2;
	bus_init(&b2, 0x10000);
	CHECK(ide_init(&r, &b2, l14, l15, &gd, log) == 0);
	CHECK(ide_attach(&r, 1, 1, fd, nsec * 512, true, err, sizeof(err)) == 0);
	bus_write(&b2, 0x176, 1, 0xf0);
	bus_write(&b2, 0x172, 1, 1);
	bus_write(&b2, 0x177, 1, 0x30);
	CHECK((bus_read(&b2, 0x177, 1) & 0x01) && bus_read(&b2, 0x171, 1) == 0x04);
	bus_free(&b2);

	/* Reset: the drive's multiple mode is forgotten, BAR4 unmapped. */
	ide_reset(&d, 0);
	CHECK(d.fn.cfg[0x41] == 0 && d.ch[0].drive[0].mult == 0 && d.bm_base == 0);
	CHECK(inb(0x1f7) == 0x50 && !irq14);

	free(buf);
	close(fd);
	fclose(log);
	bus_free(&b);
	printf("test_dev_ide: %s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
