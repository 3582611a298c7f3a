/* Boot loaders: valid multiboot (ELF and a.out kludge) and bzImage loads
 * land where the specs say, with the right info structures and entry
 * registers; malformed images fail with a message; and thousands of
 * mutated images (byte flips, field overflows, truncation; deterministic
 * PRNG) either load entirely inside RAM or fail cleanly. Run under ASan,
 * which catches any access outside the RAM buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"

static int failures;
#define CHECK(c)                                                                       \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
			failures++;                                                    \
		}                                                                      \
	} while (0)

static uint32_t r32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t r16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t r64(const uint8_t *p) { return r32(p) | (uint64_t)r32(p + 4) << 32; }
static void w32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

#define MB (1024u * 1024u)
#define HOLE_LO 0x9fc00u
#define HOLE_HI 0x100000u

/* Guest RAM with the reserved window pre-filled, so a loader write there
 * shows. */
static struct guest_ram mkram(uint32_t size)
{
	struct guest_ram g = {malloc(size), size, 0};
	memset(g.ram, 0xcc, size);
	if (size > HOLE_LO)
		memset(g.ram + HOLE_LO, 0xa5, (size < HOLE_HI ? size : HOLE_HI) - HOLE_LO);
	return g;
}
static int hole_intact(const struct guest_ram *g)
{
	uint32_t end = g->size < HOLE_HI ? g->size : HOLE_HI;
	for (uint32_t a = HOLE_LO; a < end; a++)
		if (g->ram[a] != 0xa5)
			return 0;
	return 1;
}

/* ---- image builders ---- */

#define MB_HDR_OFF 0x1000 /* multiboot header inside the ELF's first segment */
static void mb_header(uint8_t *h, uint32_t flags)
{
	w32(h, 0x1badb002u);
	w32(h + 4, flags);
	w32(h + 8, (uint32_t)-(0x1badb002u + flags));
}

/* ELF32, higher-half: two PT_LOAD segments at 0xC0100000/0xC0101000
 * virtual, 0x100000/0x101000 physical; the second has 0x2800 bytes bss. */
static uint8_t *build_mb_elf(size_t *len)
{
	size_t n = 0x2800;
	uint8_t *p = calloc(1, n);
	for (size_t i = 0x1000; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	memcpy(p, "\177ELF", 4);
	p[4] = 1, p[5] = 1, p[6] = 1;
	w16(p + 16, 2), w16(p + 18, 3), w32(p + 20, 1);
	w32(p + 24, 0xc0100010u); /* e_entry */
	w32(p + 28, 52);           /* e_phoff */
	w16(p + 40, 52), w16(p + 42, 32), w16(p + 44, 2);
	uint8_t *ph = p + 52;
	w32(ph, 1), w32(ph + 4, 0x1000), w32(ph + 8, 0xc0100000u), w32(ph + 12, 0x100000);
	w32(ph + 16, 0x1000), w32(ph + 20, 0x1000), w32(ph + 24, 5);
	ph += 32;
	w32(ph, 1), w32(ph + 4, 0x2000), w32(ph + 8, 0xc0101000u), w32(ph + 12, 0x101000);
	w32(ph + 16, 0x800), w32(ph + 20, 0x3000), w32(ph + 24, 6);
	mb_header(p + MB_HDR_OFF, 3);
	*len = n;
	return p;
}

/* a.out kludge: header at 0x40 says load the file's first 0x1800 bytes at
 * 0x200000, bss up to 0x203000, entry 0x200080. */
#define AOUT_HDR_OFF 0x40
static uint8_t *build_mb_aout(size_t *len)
{
	size_t n = 0x2000;
	uint8_t *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	uint8_t *h = p + AOUT_HDR_OFF;
	mb_header(h, 0x10003);
	w32(h + 12, 0x200000 + AOUT_HDR_OFF);
	w32(h + 16, 0x200000);
	w32(h + 20, 0x201800);
	w32(h + 24, 0x203000);
	w32(h + 28, 0x200080);
	*len = n;
	return p;
}

/* A bzImage-shaped file: 4 setup sectors + boot sector, 64 KiB of
 * "protected-mode kernel", protocol 2.15, relocatable, pref_address
 * 16 MiB, init_size 8 MiB. */
#define BZ_PM 0x10000u
static uint8_t *build_bzimage(size_t *len)
{
	size_t setup = 5 * 512, n = setup + BZ_PM;
	uint8_t *p = calloc(1, n);
	for (size_t i = setup; i < n; i++)
		p[i] = (uint8_t)(i * 11 + 5);
	p[0x1f1] = 4;
	w32(p + 0x1f4, BZ_PM / 16);
	w16(p + 0x1fe, 0xaa55);
	p[0x200] = 0xeb, p[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(p + 0x202, "HdrS", 4);
	w16(p + 0x206, 0x020f);
	p[0x211] = 0x01; /* LOADED_HIGH */
	w32(p + 0x214, 0x100000);
	w32(p + 0x22c, 0x37ffffff);
	w32(p + 0x230, 0x200000);
	p[0x234] = 1;
	w32(p + 0x238, 2047);
	w64(p + 0x258, 0x1000000);
	w32(p + 0x260, 0x800000);
	*len = n;
	return p;
}

static int has_prefix(const char *err, const char *name) { return strncmp(err, name, strlen(name)) == 0; }

/* ---- valid loads ---- */

static void test_mb_elf(void)
{
	size_t n;
	uint8_t *img = build_mb_elf(&n);
	CHECK(boot_detect(img, n) == 1);
	struct guest_ram g = mkram(32 * MB);
	uint8_t m0[5000], m1[100];
	for (size_t i = 0; i < sizeof m0; i++) m0[i] = (uint8_t)(i ^ 0x5a);
	memset(m1, 0x77, sizeof m1);
	const char *names[] = {"mod0 arg=1", "mod1"};
	const uint8_t *mods[] = {m0, m1};
	size_t lens[] = {sizeof m0, sizeof m1};
	struct boot_entry e;
	char err[256] = "";
	int rc = multiboot_load(&g, "k.elf", img, n, "console=com1", names, mods, lens, 2, &e, err, sizeof err);
	CHECK(rc == 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	CHECK(e.mode == BOOT_FLAT32 && e.eip == 0x100010 && e.eax == 0x2badb002u && e.ebx == BOOT_INFO_ADDR);
	CHECK(memcmp(g.ram + 0x100000, img + 0x1000, 0x1000) == 0);
	CHECK(memcmp(g.ram + 0x101000, img + 0x2000, 0x800) == 0);
	int bss_zero = 1;
	for (uint32_t a = 0x101800; a < 0x104000; a++) bss_zero &= g.ram[a] == 0;
	CHECK(bss_zero);
	CHECK(g.ram[0x104000 - 1] == 0);
	const uint8_t *mbi = g.ram + e.ebx;
	uint32_t flags = r32(mbi);
	CHECK((flags & 0x24d) == 0x24d); /* mem, cmdline, mods, mmap, loader name */
	CHECK(r32(mbi + 4) == 639);
	CHECK(r32(mbi + 8) == (32 * MB - MB) / 1024);
	CHECK(strcmp((char *)g.ram + r32(mbi + 16), "k.elf console=com1") == 0);
	CHECK(strcmp((char *)g.ram + r32(mbi + 64), "ringvm") == 0);
	CHECK(r32(mbi + 20) == 2);
	const uint8_t *ml = g.ram + r32(mbi + 24);
	uint32_t s0 = r32(ml), e0 = r32(ml + 4), s1 = r32(ml + 16), e1 = r32(ml + 20);
	CHECK(s0 == 0x104000 && e0 == s0 + sizeof m0); /* page-aligned after the bss */
	CHECK(s1 == 0x106000 && e1 == s1 + sizeof m1);
	CHECK(memcmp(g.ram + s0, m0, sizeof m0) == 0 && memcmp(g.ram + s1, m1, sizeof m1) == 0);
	CHECK(strcmp((char *)g.ram + r32(ml + 8), "mod0 arg=1") == 0);
	CHECK(strcmp((char *)g.ram + r32(ml + 24), "mod1") == 0);
	uint32_t mlen = r32(mbi + 44), maddr = r32(mbi + 48);
	CHECK(mlen == 4 * 24);
	static const uint64_t want[4][3] = {
		{0, 0x9fc00, 1}, {0x9fc00, 0x400, 2}, {0xf0000, 0x10000, 2}, {0x100000, 31 * MB, 1}};
	for (int i = 0; i < 4 && mlen == 96; i++) {
		const uint8_t *me = g.ram + maddr + 24 * i;
		CHECK(r32(me) == 20 && r64(me + 4) == want[i][0] && r64(me + 12) == want[i][1] && r32(me + 20) == want[i][2]);
	}
	CHECK(hole_intact(&g));
out:
	free(g.ram);
	free(img);
}

static void test_mb_aout(void)
{
	size_t n;
	uint8_t *img = build_mb_aout(&n);
	CHECK(boot_detect(img, n) == 1);
	struct guest_ram g = mkram(8 * MB);
	struct boot_entry e;
	char err[256] = "";
	int rc = multiboot_load(&g, "aout", img, n, NULL, NULL, NULL, NULL, 0, &e, err, sizeof err);
	CHECK(rc == 0);
	if (rc == 0) {
		CHECK(e.eip == 0x200080 && e.eax == 0x2badb002u && e.ebx == BOOT_INFO_ADDR);
		CHECK(memcmp(g.ram + 0x200000, img, 0x1800) == 0);
		int z = 1;
		for (uint32_t a = 0x201800; a < 0x203000; a++) z &= g.ram[a] == 0;
		CHECK(z && g.ram[0x203000] == 0xcc);
		const uint8_t *mbi = g.ram + BOOT_INFO_ADDR;
		CHECK(!(r32(mbi) & 8) && r32(mbi + 20) == 0);
		CHECK(strcmp((char *)g.ram + r32(mbi + 16), "aout ") == 0); /* argv[0] only */
	} else {
		fprintf(stderr, "%s\n", err);
	}
	free(g.ram);
	free(img);
}

static void test_bzimage(void)
{
	size_t n;
	uint8_t *img = build_bzimage(&n);
	CHECK(boot_detect(img, n) == 2);
	struct guest_ram g = mkram(32 * MB);
	size_t rdn = 100 * 1024 + 7;
	uint8_t *rd = malloc(rdn);
	for (size_t i = 0; i < rdn; i++) rd[i] = (uint8_t)(i * 3);
	struct boot_entry e;
	char err[256] = "";
	const char *cl = "console=ttyS0 reboot=k";
	int rc = linux_load(&g, "bz", img, n, cl, "rd", rd, rdn, &e, err, sizeof err);
	CHECK(rc == 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	CHECK(e.mode == BOOT_FLAT32 && e.eip == 0x100000 && e.esi == BOOT_INFO_ADDR);
	CHECK(e.ebp == 0 && e.edi == 0 && e.ebx == 0);
	CHECK(memcmp(g.ram + 0x100000, img + 0xa00, BZ_PM) == 0);
	const uint8_t *zp = g.ram + e.esi;
	CHECK(memcmp(zp + 0x202, "HdrS", 4) == 0 && r16(zp + 0x206) == 0x020f && zp[0x1f1] == 4);
	CHECK(zp[0x210] == 0xff);
	CHECK(zp[0x211] == 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
	CHECK(r16(zp + 0x224) == 0xde00);
	CHECK(r32(zp + 0x214) == 0x100000);
	uint32_t clp = r32(zp + 0x228);
	CHECK(clp + strlen(cl) < 0xa0000 && strcmp((char *)g.ram + clp, cl) == 0);
	uint32_t ri = r32(zp + 0x218), rs = r32(zp + 0x21c);
	CHECK(rs == rdn && ri % 4096 == 0 && ri + rs <= 32 * MB && ri + rs > 32 * MB - 4096);
	CHECK(ri >= 0x1000000 + 0x800000); /* clear of pref_address + init_size */
	CHECK(memcmp(g.ram + ri, rd, rdn) == 0);
	CHECK(zp[0x0f] == 0 && zp[0x07] == 80 && zp[0x0e] == 25); /* no VGA, 80x25 */
	CHECK(r16(zp + 0x02) == 31 * 1024 && r32(zp + 0x1e0) == 31 * 1024);
	CHECK(zp[0x1e8] == 4);
	static const uint64_t want[4][3] = {
		{0, 0x9fc00, 1}, {0x9fc00, 0x400, 2}, {0xf0000, 0x10000, 2}, {0x100000, 31 * MB, 1}};
	for (int i = 0; i < 4; i++) {
		const uint8_t *ee = zp + 0x2d0 + 20 * i;
		CHECK(r64(ee) == want[i][0] && r64(ee + 8) == want[i][1] && r32(ee + 16) == want[i][2]);
	}
	CHECK(zp[0x1ef] == 0); /* sentinel */
	CHECK(r16(g.ram + 0x413) == 639 && r16(g.ram + 0x40e) == 0x9fc0); /* BIOS data area */
	CHECK(hole_intact(&g));
out:
	free(rd);
	free(g.ram);
	free(img);
}

/* ---- malformed images: each must fail, naming the file and reason ---- */

static char err[256]; /* the message of the last expected failure */
#define expect_fail(rc, name, word) expect_fail_at(__LINE__, (rc), (name), (word))
static void expect_fail_at(int line, int rc, const char *name, const char *word)
{
	CHECK(rc == -1);
	if (rc != -1 || !has_prefix(err, name) || !strstr(err, word)) {
		fprintf(stderr, "line %d: expected failure '%s: ...%s...', got rc=%d '%s'\n", line, name, word, rc, err);
		failures += rc == -1;
	}
}

static void test_bad_multiboot(void)
{
	size_t n;
	uint8_t *base = build_mb_elf(&n), *img = malloc(n);
	struct guest_ram g = mkram(8 * MB);
	struct boot_entry e;
#define MBLOAD(len) multiboot_load(&g, "bad.elf", img, (len), "", NULL, NULL, NULL, 0, &e, err, sizeof err)
	memcpy(img, base, n);
	expect_fail(MBLOAD(0x1100), "bad.elf", "truncated");
	memcpy(img, base, n), mb_header(img + MB_HDR_OFF, 7);
	expect_fail(MBLOAD(n), "bad.elf", "video");
	memcpy(img, base, n), mb_header(img + MB_HDR_OFF, 1 | 8);
	expect_fail(MBLOAD(n), "bad.elf", "unsupported");
	memcpy(img, base, n), w32(img + MB_HDR_OFF + 8, 0);
	expect_fail(MBLOAD(n), "bad.elf", "no multiboot header");
	memcpy(img, base, n), w32(img + 52 + 12, 0x7ff800);
	expect_fail(MBLOAD(n), "bad.elf", "outside usable RAM");
	memcpy(img, base, n), w32(img + 52 + 12, 0xa0000);
	expect_fail(MBLOAD(n), "bad.elf", "outside usable RAM");
	memcpy(img, base, n), w32(img + 52 + 12, 0x10000);
	expect_fail(MBLOAD(n), "bad.elf", "overlaps the loader");
	memcpy(img, base, n), w32(img + 52 + 16, 0x2000);
	expect_fail(MBLOAD(n), "bad.elf", "exceeds memory size");
	memcpy(img, base, n), w32(img + 24, 0x12345678);
	expect_fail(MBLOAD(n), "bad.elf", "entry point");
	memcpy(img, base, n), w16(img + 18, 62);
	expect_fail(MBLOAD(n), "bad.elf", "not an i386 ELF");
	memcpy(img, base, n), w16(img + 44, 0xffff);
	expect_fail(MBLOAD(n), "bad.elf", "program headers");
	/* A module larger than RAM. */
	memcpy(img, base, n);
	static uint8_t big[1];
	const uint8_t *mods[] = {big};
	size_t lens[] = {(size_t)9 * MB};
	const char *names[] = {"big.mod"};
	int rc = multiboot_load(&g, "bad.elf", img, n, "", names, mods, lens, 1, &e, err, sizeof err);
	expect_fail(rc, "bad.elf", "does not fit");
	CHECK(hole_intact(&g));
#undef MBLOAD
	free(g.ram);
	free(img);
	free(base);
}

static void test_bad_bzimage(void)
{
	size_t n;
	uint8_t *base = build_bzimage(&n), *img = malloc(n);
	struct guest_ram g = mkram(32 * MB);
	struct boot_entry e;
	static uint8_t rd[64];
#define LXLOAD(len, cl, rdlen) linux_load(&g, "vmlinuz", img, (len), (cl), "initrd.gz", rd, (rdlen), &e, err, sizeof err)
	memcpy(img, base, n), w16(img + 0x206, 0x0201);
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "older than 2.02");
	memcpy(img, base, n), img[0x211] = 0;
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "zImage");
	memcpy(img, base, n), w32(img + 0x238, 10);
	expect_fail(LXLOAD(n, "console=ttyS0 quiet", 0), "vmlinuz", "command line too long");
	memcpy(img, base, n);
	expect_fail(LXLOAD(n - 16, "", 0), "vmlinuz", "truncated");
	expect_fail(LXLOAD(0x300, "", 0), "vmlinuz", "truncated");
	expect_fail(LXLOAD(0x100, "", 0), "vmlinuz", "too short");
	memcpy(img, base, n), img[0x1f1] = 200;
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "truncated");
	memcpy(img, base, n), img[0x201] = 0x20;
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "setup header too short");
	memcpy(img, base, n), w16(img + 0x1fe, 0);
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "not a Linux bzImage");
	/* The initrd would have to go below pref_address + init_size. */
	memcpy(img, base, n);
	int rc = linux_load(&g, "vmlinuz", img, n, "", "initrd.gz", rd, (size_t)9 * MB, &e, err, sizeof err);
	expect_fail(rc, "initrd.gz", "initrd does not fit");
	/* initrd_addr_max below the kernel. */
	memcpy(img, base, n), w32(img + 0x22c, 0xfffff);
	expect_fail(LXLOAD(n, "", sizeof rd), "initrd.gz", "initrd does not fit");
	/* A relocatable kernel with pref_address 1 MiB and 4 MiB alignment
	 * decompresses at 4 MiB: the initrd must stay above 4 MiB + init_size. */
	memcpy(img, base, n), w64(img + 0x258, 0x100000), w32(img + 0x230, 0x400000);
	w32(img + 0x22c, 0xbfffff); /* initrd below 12 MiB */
	expect_fail(LXLOAD(n, "", sizeof rd), "initrd.gz", "initrd does not fit");
	w32(img + 0x22c, 0xc00fff);
	CHECK(LXLOAD(n, "", sizeof rd) == 0 && r32(g.ram + BOOT_INFO_ADDR + 0x218) == 0xc00000);
	/* pref_address + init_size past 2^64 must not wrap to a small end
	 * (the non-wrapping 4 GiB is refused too). */
	memcpy(img, base, n), w64(img + 0x258, 0xffffffffffff0000ull);
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "pref_address");
	memcpy(img, base, n), w64(img + 0x258, 0x100000000ull);
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "pref_address");
	/* Too little RAM for the kernel's init_size at 16 MiB. */
	free(g.ram);
	g = mkram(16 * MB);
	memcpy(img, base, n);
	expect_fail(LXLOAD(n, "", 0), "vmlinuz", "RAM");
	CHECK(hole_intact(&g));
#undef LXLOAD
	free(g.ram);
	free(img);
	free(base);
}

/* ---- mutation fuzzing ---- */

static const uint32_t interesting[] = {0,          1,          0x7fffffff, 0x80000000u, 0xffffffffu, 0xfffffff0u,
				       0x1000,     0x9fc00,    0xa0000,    0x100000,    0x10000,     0x1e000,
				       0x7ff000,   0x800000,   0x1000000,  0x2000000,   0x0202,      0x020a};

static void mutate(uint8_t *p, size_t *len, size_t hot_lo, size_t hot_hi)
{
	int k = 1 + (int)(rnd() % 4);
	for (int i = 0; i < k && *len > 0; i++) {
		size_t lo = hot_lo < *len ? hot_lo : 0, hi = hot_hi < *len ? hot_hi : *len;
		int hot = rnd() % 4 != 0 && hi > lo;
		size_t off = hot ? lo + rnd() % (hi - lo) : rnd() % *len;
		switch (rnd() % 5) {
		case 0: p[off] ^= (uint8_t)(1u << (rnd() % 8)); break;
		case 1: p[off] = (uint8_t)rnd(); break;
		case 2:
			off &= ~(size_t)3;
			if (off + 4 <= *len)
				w32(p + off, interesting[rnd() % (sizeof interesting / sizeof *interesting)] + (uint32_t)(rnd() % 3) - 1);
			break;
		case 3:
			if (off + 2 <= *len)
				w16(p + off, (uint16_t)rnd());
			break;
		case 4:
			if (rnd() % 3 == 0)
				*len = rnd() % (*len + 1);
			break;
		}
	}
}

/* After a successful load, every structure the guest will read lies in
 * RAM. */
static void check_mb_ok(const struct guest_ram *g, const struct boot_entry *e)
{
	CHECK(e->mode == BOOT_FLAT32 && e->eip < g->size && e->eax == 0x2badb002u);
	CHECK(e->ebx + 128 <= g->size);
	const uint8_t *mbi = g->ram + e->ebx;
	uint32_t cnt = r32(mbi + 20), ma = r32(mbi + 24);
	CHECK((uint64_t)ma + 16ull * cnt <= g->size);
	for (uint32_t i = 0; i < cnt && (uint64_t)ma + 16ull * cnt <= g->size; i++) {
		uint32_t s = r32(g->ram + ma + 16 * i), en = r32(g->ram + ma + 16 * i + 4);
		CHECK(s <= en && en <= g->size && (s % 4096) == 0);
		CHECK(!(s < HOLE_HI && en > HOLE_LO));
	}
	CHECK((uint64_t)r32(mbi + 48) + r32(mbi + 44) <= g->size);
	CHECK(r32(mbi + 16) < g->size && memchr(g->ram + r32(mbi + 16), 0, g->size - r32(mbi + 16)));
}

static void check_lx_ok(const struct guest_ram *g, const struct boot_entry *e, size_t len)
{
	CHECK(e->mode == BOOT_FLAT32 && e->eip == 0x100000 && e->esi == BOOT_INFO_ADDR);
	const uint8_t *zp = g->ram + e->esi;
	uint32_t ri = r32(zp + 0x218), rs = r32(zp + 0x21c), clp = r32(zp + 0x228);
	CHECK((uint64_t)ri + rs <= g->size);
	CHECK(rs == 0 || ri >= 0x100000 + len - 512); /* above the loaded kernel */
	CHECK(clp < 0xa0000 && memchr(g->ram + clp, 0, 0xa0000 - clp));
	CHECK(zp[0x210] == 0xff);
}

static void fuzz(int iters)
{
	size_t nb[3];
	uint8_t *base[3] = {build_mb_elf(&nb[0]), build_mb_aout(&nb[1]), build_bzimage(&nb[2])};
	static const uint32_t ram_sizes[] = {2 * MB, 4 * MB, 24 * MB + 64 * 1024, 32 * MB};
	struct guest_ram rams[4];
	for (int i = 0; i < 4; i++) rams[i] = mkram(ram_sizes[i]);
	size_t modbuf_len = 3 * MB;
	uint8_t *modbuf = calloc(1, modbuf_len);
	char *cl = malloc(4200);
	memset(cl, 'x', 4200);
	uint8_t *img = malloc(0x20000);
	int ok[3] = {0}, bad[3] = {0};
	for (int it = 0; it < iters; it++) {
		int kind = it % 3;
		size_t len = nb[kind];
		memcpy(img, base[kind], len);
		size_t hot_lo = kind == 0 ? 0 : kind == 1 ? AOUT_HDR_OFF : 0x1f0;
		size_t hot_hi = kind == 0 ? 0x74 : kind == 1 ? AOUT_HDR_OFF + 32 : 0x270;
		if (kind == 0 && rnd() % 3 == 0)
			hot_lo = MB_HDR_OFF, hot_hi = MB_HDR_OFF + 12;
		mutate(img, &len, hot_lo, hot_hi);
		/* Keep the multiboot checksum valid half the time, so mutated
		 * headers reach the deeper checks. */
		size_t ho = kind == 0 ? MB_HDR_OFF : kind == 1 ? AOUT_HDR_OFF : 0;
		if (kind < 2 && rnd() % 2 && ho + 12 <= len && r32(img + ho) == 0x1badb002u)
			w32(img + ho + 8, (uint32_t)-(0x1badb002u + r32(img + ho + 4)));
		struct guest_ram *g = &rams[rnd() % 4];
		size_t cl_len = rnd() % 4 == 0 ? rnd() % 4200 : rnd() % 64;
		char save = cl[cl_len];
		cl[cl_len] = 0;
		struct boot_entry e;
		char msg[256] = "";
		int rc;
		const char *name = kind == 2 ? "fuzz.bz" : "fuzz.mb";
		if (kind < 2) {
			int nm = (int)(rnd() % 4);
			const uint8_t *mods[3] = {modbuf, modbuf, modbuf};
			size_t lens[3];
			const char *names[3] = {"m0", NULL, "module number two"};
			for (int i = 0; i < nm; i++) {
				uint64_t r = rnd() % 8;
				lens[i] = r == 0 ? modbuf_len : r == 1 ? 0 : rnd() % 70000;
			}
			if (nm && rnd() % 16 == 0) {
				mods[nm - 1] = NULL; /* never read: huge length fails first */
				lens[nm - 1] = (size_t)1 << 33;
			}
			rc = multiboot_load(g, name, img, len, cl, names, mods, lens, nm, &e, msg, sizeof msg);
			if (rc == 0)
				check_mb_ok(g, &e);
		} else {
			uint64_t r = rnd() % 6;
			size_t rdl = r == 0 ? 0 : r == 1 ? modbuf_len : r == 2 ? ((size_t)1 << 33) : rnd() % 300000;
			rc = linux_load(g, name, img, len, cl, "fuzz.rd", r == 2 ? NULL : modbuf, rdl, &e, msg, sizeof msg);
			if (rc == 0)
				check_lx_ok(g, &e, len);
		}
		cl[cl_len] = save;
		if (rc == 0) {
			ok[kind]++;
		} else {
			bad[kind]++;
			CHECK(rc == -1 && has_prefix(msg, "fuzz.") && strlen(msg) > 9);
		}
		if (!hole_intact(g)) {
			fprintf(stderr, "iteration %d wrote into the reserved window\n", it);
			failures++;
			memset(g->ram + HOLE_LO, 0xa5, HOLE_HI - HOLE_LO);
		}
	}
	printf("fuzz: %d iterations; loaded/rejected: elf %d/%d, a.out %d/%d, bzImage %d/%d\n", iters, ok[0], bad[0],
	       ok[1], bad[1], ok[2], bad[2]);
	/* The fuzzer must reach both outcomes for each kind of image. */
	for (int k = 0; k < 3; k++) CHECK(ok[k] > iters / 50 && bad[k] > iters / 50);
	for (int i = 0; i < 4; i++) free(rams[i].ram);
	for (int i = 0; i < 3; i++) free(base[i]);
	free(modbuf);
	free(cl);
	free(img);
}

int main(void)
{
	test_mb_elf();
	test_mb_aout();
	test_bzimage();
	test_bad_multiboot();
	test_bad_bzimage();
	uint8_t junk[600] = {0};
	CHECK(boot_detect(junk, sizeof junk) == 0);
	CHECK(boot_detect(junk, 3) == 0);
	fuzz(getenv("RINGVM_LONG") ? 120000 : 6000); /* make test-long: 20x */
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	printf("boot loaders: all checks passed\n");
	return 0;
}
