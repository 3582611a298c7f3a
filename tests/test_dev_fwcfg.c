/* QEMU's fw_cfg: the signature and ID through the data port, numbered
 * items, the file directory, reads past an item's end, the DMA interface
 * (select, read, skip, zero fill past the end, the control word written
 * back, refused writes and control blocks outside RAM), reset. */
#include <stdio.h>
#include <string.h>

#define DMA_MEM_SIZE 0x10000
#include "dev_dma.h"
#include "dev/fw_cfg.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct bus b;


static void sel(uint16_t k) { bus_write(&b, 0x510, 2, k); }
static uint8_t inb(void) { return (uint8_t)bus_read(&b, 0x511, 1); }

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void put_be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static uint32_t bswap(uint32_t v) { return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24; }

/* A DMA control block at 0x100, run through the two address halves. */
static uint32_t dma(uint32_t ctl, uint32_t len, uint32_t addr)
{
	put_be32(mem + 0x100, ctl);
	put_be32(mem + 0x104, len);
	put_be32(mem + 0x108, 0);
	put_be32(mem + 0x10c, addr);
	bus_write(&b, 0x514, 4, bswap(0));
	bus_write(&b, 0x518, 4, bswap(0x100));
	return be32(mem + 0x100);
}

/* The directory entry for name: its selector, size in *size; -1 if absent. */
static int find_file(const char *name, uint32_t *size)
{
	sel(FW_CFG_FILE_DIR);
	uint8_t h[4];
	for (int i = 0; i < 4; i++)
		h[i] = inb();
	uint32_t n = be32(h);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t e[64];
		for (int k = 0; k < 64; k++)
			e[k] = inb();
		if (!strcmp((char *)e + 8, name)) {
			*size = be32(e);
			return e[4] << 8 | e[5];
		}
	}
	return -1;
}

int main(void)
{
	bus_init(&b, 0x10000);
	struct fw_cfg f;
	struct guest_dma gd = { NULL, dma_rd, dma_wr };
	unsigned logs = 0;
	FILE *log = tmpfile();
	CHECK(fw_cfg_init(&f, &b, &gd, log) == 0);

	/* Signature, then ID with the DMA bit; reads past the end give 0. */
	sel(FW_CFG_SIGNATURE);
	char sig[5] = { 0 };
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb();
	CHECK(!strcmp(sig, "QEMU"));
	CHECK(inb() == 0 && inb() == 0);
	sel(FW_CFG_ID);
	CHECK(inb() == (FW_CFG_ID_TRAD | FW_CFG_ID_DMA));
	/* Selecting again starts over; a wide read takes bytes in order. */
	sel(FW_CFG_SIGNATURE);
	CHECK(bus_read(&b, 0x511, 4) == 0x554d4551u);
	/* The DMA register reads "QEMU CFG". */
	CHECK(bus_read(&b, 0x514, 4) == 0x554d4551u);
	CHECK(bus_read(&b, 0x518, 4) == 0x47464320u);
	/* An item nobody added reads zeros. */
	sel(0x1234);
	CHECK(inb() == 0);

	CHECK(fw_cfg_add_i64(&f, FW_CFG_RAM_SIZE, 0x8000000) == 0);
	CHECK(fw_cfg_add_i16(&f, FW_CFG_NB_CPUS, 1) == 0);
	sel(FW_CFG_RAM_SIZE);
	uint64_t ram = 0;
	for (int i = 0; i < 8; i++)
		ram |= (uint64_t)inb() << (8 * i);
	CHECK(ram == 0x8000000);
	/* Data port writes are ignored. */
	sel(FW_CFG_NB_CPUS);
	bus_write(&b, 0x511, 1, 9);
	sel(FW_CFG_NB_CPUS);
	CHECK(inb() == 1);

	/* Files: the directory lists them in order from selector 0x20. */
	const char *e820 = "0123456789abcdefghij";
	CHECK(fw_cfg_add_file(&f, "etc/e820", e820, 20) == 0);
	CHECK(fw_cfg_add_file(&f, "etc/sercon-port", "\xf8\x03", 2) == 0);
	CHECK(fw_cfg_add_file(&f, "", "x", 1) < 0);
	char longname[80];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[79] = 0;
	CHECK(fw_cfg_add_file(&f, longname, "x", 1) < 0);
	uint32_t size = 0;
	CHECK(find_file("etc/e820", &size) == 0x20 && size == 20);
	CHECK(find_file("etc/sercon-port", &size) == 0x21 && size == 2);
	CHECK(find_file("bootorder", &size) == -1);
	/* Replacing a file keeps its selector. */
	CHECK(fw_cfg_add_file(&f, "etc/sercon-port", "\xf8\x02\x00", 3) == 0);
	CHECK(find_file("etc/sercon-port", &size) == 0x21 && size == 3);
	sel(0x21);
	CHECK(inb() == 0xf8 && inb() == 0x02);

	/* DMA: select + read. */
	memset(mem + 0x1000, 0xee, 64);
	CHECK(dma(0x20u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 8, 0x1000) == 0);
	CHECK(!memcmp(mem + 0x1000, "01234567", 8) && mem[0x1008] == 0xee);
	/* Skip, then read on from there; past the end comes zero fill. */
	CHECK(dma(FW_CFG_DMA_SKIP, 4, 0) == 0);
	CHECK(dma(FW_CFG_DMA_READ, 16, 0x1000) == 0);
	CHECK(!memcmp(mem + 0x1000, "cdefghij", 8));
	CHECK(mem[0x1008] == 0 && mem[0x100f] == 0 && mem[0x1010] == 0xee);
	/* Writes are refused: the error bit comes back. */
	CHECK(dma(0x20u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4, 0x1000) == FW_CFG_DMA_ERROR);
	/* A read into memory that is not RAM fails the same way. */
	CHECK(dma(0x20u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 8, 0xfff0000) == FW_CFG_DMA_ERROR);
	/* A control block outside RAM is logged and changes nothing. */
	bus_write(&b, 0x514, 4, bswap(1));
	bus_write(&b, 0x518, 4, bswap(0));
	bus_write(&b, 0x514, 4, bswap(0));
	bus_write(&b, 0x518, 4, bswap(0xfffff000u));
	CHECK(f.logged >= 3);
	(void)logs;
	/* Narrow writes to the DMA address are ignored. */
	bus_write(&b, 0x518, 1, 0);

	/* Reset: selector back to the signature. */
	sel(FW_CFG_NB_CPUS);
	fw_cfg_reset(&f);
	CHECK(inb() == 'Q');

	fw_cfg_free(&f);
	bus_free(&b);
	fclose(log);
	printf("test_dev_fwcfg: %s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
