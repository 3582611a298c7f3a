/* Multiboot loader conventions that real kernels rely on, as QEMU's
 * -kernel and GRUB follow them:
 * - ELF segments load at p_paddr; the entry point is translated through
 *   the segment whose virtual range holds it, and otherwise taken as a
 *   physical address (higher-half teaching kernels, xv6-style, link at
 *   0x80100000, load at 0x100000 and give a physical e_entry);
 * - an entry point in neither range is refused with a message;
 * - the command line starts with the kernel's path (argv[0]), then a
 *   space and the --append string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"

static int failures;
#define CHECK(c, ...)                                                                  \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c); \
			fprintf(stderr, __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                         \
			failures++;                                                    \
		}                                                                      \
	} while (0)

static uint32_t r32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void w32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

#define RAM (16u << 20)
#define FILE_SIZE 0x3000u

/* An ELF32 multiboot kernel with two PT_LOAD segments: text (file 0x1000,
 * 0x1000 bytes, r-x) and data (file 0x2000, 0x800 bytes + bss to 0x2000,
 * rw-), linked at vbase and vbase + 0x1000, loaded at 0x100000 and
 * 0x101000, with the given e_entry. The multiboot header opens the text. */
static uint8_t *build_elf(uint32_t vbase, uint32_t entry)
{
	uint8_t *p = calloc(1, FILE_SIZE);
	for (uint32_t i = 0x1000; i < FILE_SIZE; i++)
		p[i] = (uint8_t)(i * 5 + 1);
	memcpy(p, "\177ELF", 4);
	p[4] = 1, p[5] = 1, p[6] = 1;
	w16(p + 16, 2), w16(p + 18, 3), w32(p + 20, 1);
	w32(p + 24, entry);
	w32(p + 28, 52);
	w16(p + 40, 52), w16(p + 42, 32), w16(p + 44, 2);
	uint8_t *ph = p + 52;
	w32(ph, 1), w32(ph + 4, 0x1000), w32(ph + 8, vbase), w32(ph + 12, 0x100000);
	w32(ph + 16, 0x1000), w32(ph + 20, 0x1000), w32(ph + 24, 5);
	ph += 32;
	w32(ph, 1), w32(ph + 4, 0x2000), w32(ph + 8, vbase + 0x1000), w32(ph + 12, 0x101000);
	w32(ph + 16, 0x800), w32(ph + 20, 0x2000), w32(ph + 24, 6);
	uint8_t *h = p + 0x1000;
	w32(h, 0x1badb002u), w32(h + 4, 3), w32(h + 8, (uint32_t)-(0x1badb002u + 3));
	return p;
}

struct load {
	int rc;
	struct boot_entry e;
	char err[256];
	uint8_t *ram;
};

static struct load load(const char *name, uint32_t vbase, uint32_t entry, const char *cmdline)
{
	struct load l;
	memset(&l, 0, sizeof l);
	uint8_t *img = build_elf(vbase, entry);
	l.ram = malloc(RAM);
	memset(l.ram, 0xcc, RAM);
	struct guest_ram g = {l.ram, RAM, 0};
	l.rc = multiboot_load(&g, name, img, FILE_SIZE, cmdline, NULL, NULL, NULL, 0, &l.e, l.err, sizeof l.err);
	if (l.rc == 0) {
		CHECK(memcmp(l.ram + 0x100000, img + 0x1000, 0x1000) == 0, "%s: text not at its p_paddr", name);
		CHECK(memcmp(l.ram + 0x101000, img + 0x2000, 0x800) == 0, "%s: data not at its p_paddr", name);
		CHECK(l.ram[0x101800] == 0 && l.ram[0x102fff] == 0, "%s: bss not cleared", name);
	}
	free(img);
	return l;
}

static const char *cmdline_of(const struct load *l)
{
	uint32_t mbi = l->e.ebx;
	if (!(r32(l->ram + mbi) & 4))
		return "(no cmdline flag)";
	return (const char *)l->ram + r32(l->ram + mbi + 16);
}

static void t_entry(void)
{
	/* xv6-style: linked high, entry given as a physical address */
	struct load l = load("hh-phys", 0x80100000u, 0x10000cu, "");
	CHECK(l.rc == 0, "physical entry refused: %s", l.err);
	CHECK(l.rc != 0 || l.e.eip == 0x10000c, "eip %x", l.e.eip);
	free(l.ram);
	/* entry in the second segment, physically */
	l = load("hh-phys2", 0x80100000u, 0x101010u, "");
	CHECK(l.rc == 0 && l.e.eip == 0x101010, "rc %d eip %x: %s", l.rc, l.e.eip, l.err);
	free(l.ram);
	/* entry given virtually: translated through its segment */
	l = load("hh-virt", 0x80100000u, 0x80101020u, "");
	CHECK(l.rc == 0 && l.e.eip == 0x101020, "rc %d eip %x: %s", l.rc, l.e.eip, l.err);
	free(l.ram);
	/* identity-linked: virtual = physical */
	l = load("flat", 0x100000u, 0x100010u, "");
	CHECK(l.rc == 0 && l.e.eip == 0x100010, "rc %d eip %x: %s", l.rc, l.e.eip, l.err);
	free(l.ram);
	/* in no segment either way: refused, nothing written */
	l = load("nowhere", 0x80100000u, 0x500000u, "");
	CHECK(l.rc != 0 && strstr(l.err, "nowhere: ") && strstr(l.err, "0x500000"), "rc %d err '%s'", l.rc, l.err);
	CHECK(l.ram[0x100000] == 0xcc, "a refused kernel was written to RAM");
	free(l.ram);
	/* past the end of the physical image (in the bss): still inside */
	l = load("in-bss", 0x80100000u, 0x102ff0u, "");
	CHECK(l.rc == 0 && l.e.eip == 0x102ff0, "rc %d eip %x: %s", l.rc, l.e.eip, l.err);
	free(l.ram);
	l = load("past-bss", 0x80100000u, 0x103000u, "");
	CHECK(l.rc != 0, "entry just past the last segment accepted (eip %x)", l.e.eip);
	free(l.ram);
}

static void t_cmdline(void)
{
	struct load l = load("/tmp/kernels/hh.elf", 0x80100000u, 0x10000cu, "console=com1 -v  x");
	CHECK(l.rc == 0 && strcmp(cmdline_of(&l), "/tmp/kernels/hh.elf console=com1 -v  x") == 0, "cmdline '%s'",
	      l.rc ? l.err : cmdline_of(&l));
	free(l.ram);
	/* no --append: the path and a space, as QEMU's "%s %s" gives */
	l = load("k.elf", 0x100000u, 0x100010u, "");
	CHECK(l.rc == 0 && strcmp(cmdline_of(&l), "k.elf ") == 0, "cmdline '%s'", cmdline_of(&l));
	free(l.ram);
	l = load("k.elf", 0x100000u, 0x100010u, NULL);
	CHECK(l.rc == 0 && strcmp(cmdline_of(&l), "k.elf ") == 0, "NULL cmdline: '%s'", cmdline_of(&l));
	free(l.ram);
	/* a command line too long for the low-memory info block is refused */
	static char big[700000];
	memset(big, 'a', sizeof big - 1);
	l = load("k.elf", 0x100000u, 0x100010u, big);
	CHECK(l.rc != 0 && strstr(l.err, "too long"), "700 KB command line: rc %d '%s'", l.rc, l.err);
	free(l.ram);
}

/* RAM above the PCI hole (-m 6G: 3 GiB more at 4 GiB) is the memory
 * map's last entry, usable; mem_upper still counts only the low part. */
static void t_memmap_high(void)
{
	uint8_t *img = build_elf(0x100000u, 0x100010u);
	uint8_t *ram = calloc(1, RAM);
	struct guest_ram g = {ram, RAM, 3ull << 30};
	struct boot_entry e;
	char err[256];
	int rc = multiboot_load(&g, "k.elf", img, FILE_SIZE, "", NULL, NULL, NULL, 0, &e, err, sizeof err);
	CHECK(rc == 0, "load: %s", err);
	if (rc == 0) {
		const uint8_t *mbi = ram + e.ebx;
		uint32_t len = r32(mbi + 44), at = r32(mbi + 48), found = 0;
		CHECK(r32(mbi) & (1u << 6), "no memory map flag");
		for (uint32_t off = 0; off < len; off += r32(ram + at + off) + 4) {
			const uint8_t *m = ram + at + off;
			uint64_t base = r32(m + 4) | (uint64_t)r32(m + 8) << 32;
			uint64_t size = r32(m + 12) | (uint64_t)r32(m + 16) << 32;
			if (base == 0x100000000ull && size == (3ull << 30) && r32(m + 20) == 1)
				found = 1;
		}
		CHECK(found, "no usable 3 GiB range at 4 GiB in the memory map");
		CHECK(r32(mbi + 8) == (RAM - 0x100000) / 1024, "mem_upper %u KiB", r32(mbi + 8));
	}
	free(ram);
	free(img);
}

int main(void)
{
	t_entry();
	t_cmdline();
	t_memmap_high();
	if (failures)
		return 1;
	printf("multiboot conventions: ok\n");
	return 0;
}
