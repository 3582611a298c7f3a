/* The 440FX PAM registers as the guest sees memory: on a board with a
 * 64 KiB ROM, each 16 KiB segment of 0xC0000-0xFFFFF reads the ROM (or
 * nothing) until RE routes reads to the shadow RAM, takes writes into
 * that RAM only with WE (also while reads still come from the ROM), and
 * the TLB follows every change; the ROM alias below 4 GiB stays the ROM.
 * Without a ROM the area starts as a BIOS leaves it: RAM, read-only.
 * Reads and writes go through the CPU's linear access path with paging
 * off, through the same TLB the engines use. */
#include <stdio.h>
#include <string.h>

#include "cpu/exec.h"
#include "machine/pc.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct pc *pc;
static uint8_t rd(uint32_t pa) { return (uint8_t)lin_read(&pc->vcpu[0].cpu, pa, 1, ACC_R); }
static void wr(uint32_t pa, uint8_t v) { lin_write(&pc->vcpu[0].cpu, pa, 1, v, 0); }
static void pam(int reg, uint8_t v)
{
	pc->vcpu[0].cbus.pio_write(pc->vcpu[0].cbus.opaque, 0xcf8, 4, 0x80000000u | (uint32_t)(reg & ~3));
	pc->vcpu[0].cbus.pio_write(pc->vcpu[0].cbus.opaque, (uint16_t)(0xcfc + (reg & 3)), 1, v);
}

static struct pc *board(const uint8_t *rom, FILE *null)
{
	struct pc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_size = 4u << 20;
	cfg.rom = rom;
	cfg.rom_size = rom ? 0x10000 : 0;
	cfg.debugcon = cfg.log = null;
	cfg.console_in = cfg.console_out = -1;
	char err[256];
	struct pc *p = pc_create(&cfg, err, sizeof(err));
	if (!p)
		printf("pc_create: %s\n", err);
	return p;
}

int main(void)
{
	static uint8_t rom[0x10000];
	for (size_t i = 0; i < sizeof(rom); i++)
		rom[i] = (uint8_t)(i * 3 + 1);
	FILE *null = fopen("/dev/null", "w");
	pc = board(rom, null);
	if (!pc)
		return 1;

	/* Reset: the ROM at 0xF0000, nothing at 0xC0000, writes dropped. */
	CHECK(rd(0xf0005) == rom[5]);
	CHECK(rd(0xc0000) == 0xff);
	wr(0xf0005, 0x42);
	CHECK(rd(0xf0005) == rom[5]);
	/* WE only: reads the ROM, writes the RAM under it (a BIOS copies
	 * itself this way). */
	pam(0x59, 0x20);
	CHECK(rd(0xf0005) == rom[5]);
	wr(0xf0005, 0x42);
	CHECK(rd(0xf0005) == rom[5]);
	/* RE+WE: the shadow RAM, readable and writable. */
	pam(0x59, 0x30);
	CHECK(rd(0xf0005) == 0x42);
	wr(0xf0006, 0x43);
	CHECK(rd(0xf0006) == 0x43);
	/* RE only: read-only shadow; the TLB must not keep the write. */
	pam(0x59, 0x10);
	wr(0xf0006, 0x99);
	CHECK(rd(0xf0006) == 0x43);
	/* The alias below 4 GiB stays the ROM. */
	CHECK(rd(0xffff0005u) == rom[5]);
	/* 0x5A low nibble: 0xC0000-0xC3FFF only. */
	pam(0x5a, 0x03);
	wr(0xc0010, 0x11);
	CHECK(rd(0xc0010) == 0x11);
	CHECK(rd(0xc4000) == 0xff);
	pam(0x5a, 0x30); /* now 0xC4000 instead */
	CHECK(rd(0xc0010) == 0xff);
	wr(0xc4001, 0x22);
	CHECK(rd(0xc4001) == 0x22);
	/* 0x5F high nibble: 0xEC000-0xEFFFF. */
	pam(0x5f, 0x30);
	wr(0xec000, 0x33);
	CHECK(rd(0xec000) == 0x33);
	/* Reserved bits read back 0. */
	pam(0x59, 0xff);
	pc->vcpu[0].cbus.pio_write(pc->vcpu[0].cbus.opaque, 0xcf8, 4, 0x80000058u);
	CHECK(pc->vcpu[0].cbus.pio_read(pc->vcpu[0].cbus.opaque, 0xcfd, 1) == 0x30);
	pc_destroy(pc);

	/* No ROM: RAM read-only, as a BIOS leaves it. */
	pc = board(NULL, null);
	if (!pc)
		return 1;
	pc->ram.base[0xf1234] = 0x5a;
	CHECK(rd(0xf1234) == 0x5a);
	wr(0xf1234, 0x00);
	CHECK(rd(0xf1234) == 0x5a);
	pc_destroy(pc);
	fclose(null);
	printf("test_dev_pam: %s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
