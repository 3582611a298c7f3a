/* virtio over PCI against a hostile driver (no CPU: the test is the
 * driver, poking the BAR and guest RAM directly). A well-formed
 * virtio-blk read, write and flush work; then each rule the virtqueue
 * enforces is broken once — a descriptor outside RAM or in the BIOS
 * hole, a chain that loops, a length of 4 GiB, rings outside RAM or in
 * the BIOS area, an avail index that runs ahead, a head out of range, an
 * indirect descriptor, readable after writable, a queue size that is not
 * a power of two — and each must leave the device broken
 * (DEVICE_NEEDS_RESET, a configuration interrupt, no used entry) and the
 * host untouched: guest RAM sits between canary pages and PROT_NONE
 * guards, and the canaries are checked at the end (under ASan). After a
 * reset the device works again. Read-only drives refuse writes with
 * IOERR and leave the image as it was; requests past the end of the
 * image get IOERR; virtio-rng fills buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dev/pci_host.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_rng.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

#define RAM_SIZE (2u << 20)
#define CANARY 0x10000u
#define GUARD 0x1000u
#define CANARY_BYTE 0xa5

static struct bus mmio, pio;
static struct pci_host pci;
static uint8_t *ram;
static int irq_level[16];

static void intx(void *o, int n, int level) { (void)o; irq_level[n & 15] = level; }

/* MSI-X messages the devices sent (the board's pc_msi). */
static int msi_count;
static uint64_t msi_addr;
static uint32_t msi_data;
static void msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o;
	msi_count++;
	msi_addr = addr;
	msi_data = data;
}

static const struct board_req req = { 0 };

/* ---- the driver's side ---- */

struct drv {
	uint32_t bar;
	int irq;
	uint32_t desc, avail, used; /* queue 0's rings */
	uint16_t avail_idx, used_seen;
	int qsize;
};

static void w(struct drv *d, uint32_t off, int size, uint32_t v) { bus_write(&mmio, d->bar + off, size, v); }
static uint32_t r(struct drv *d, uint32_t off, int size) { return bus_read(&mmio, d->bar + off, size); }
static uint8_t status(struct drv *d) { return (uint8_t)r(d, 0x14, 1); }

static void put16(uint32_t pa, uint16_t v) { memcpy(ram + pa, &v, 2); }
static uint16_t get16(uint32_t pa) { uint16_t v; memcpy(&v, ram + pa, 2); return v; }
static uint32_t get32(uint32_t pa) { uint32_t v; memcpy(&v, ram + pa, 4); return v; }

static void set_desc(struct drv *d, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = ram + d->desc + 16 * i;
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Reset, negotiate VERSION_1, set up queue 0 with the given rings. Returns
 * whether the device accepted it (no NEEDS_RESET). */
static int bring_up(struct drv *d, uint32_t desc, uint32_t avail, uint32_t used, int qsize)
{
	d->desc = desc;
	d->avail = avail;
	d->used = used;
	d->qsize = qsize;
	d->avail_idx = d->used_seen = 0;
	w(d, 0x14, 1, 0);
	CHECK(status(d) == 0);
	CHECK(!irq_level[d->irq]);
	w(d, 0x14, 1, 1 | 2);
	w(d, 0x00, 4, 1);
	CHECK(r(d, 0x04, 4) & 1); /* VERSION_1 offered */
	w(d, 0x08, 4, 1);
	w(d, 0x0c, 4, 1);
	w(d, 0x14, 1, 1 | 2 | 8);
	CHECK(status(d) & 8);
	w(d, 0x16, 2, 0);
	w(d, 0x18, 2, (uint32_t)qsize);
	w(d, 0x20, 4, desc);
	w(d, 0x24, 4, 0);
	w(d, 0x28, 4, avail);
	w(d, 0x2c, 4, 0);
	w(d, 0x30, 4, used);
	w(d, 0x34, 4, 0);
	if ((uint64_t)avail + 4 <= RAM_SIZE)
		memset(ram + avail, 0, 4);
	if ((uint64_t)used + 4 <= RAM_SIZE)
		memset(ram + used, 0, 4);
	w(d, 0x1c, 2, 1);
	w(d, 0x14, 1, 1 | 2 | 8 | 4);
	return !(status(d) & 0x40);
}

static void submit(struct drv *d, uint16_t head)
{
	put16(d->avail + 4 + 2 * (d->avail_idx % d->qsize), head);
	d->avail_idx++;
	put16(d->avail + 2, d->avail_idx);
	w(d, 0x3000, 2, 0);
}

/* The device marked itself broken, told the driver, and used nothing. */
static void expect_broken(struct drv *d, const char *what)
{
	int ok = (status(d) & 0x40) && irq_level[d->irq] && get16(d->used + 2) == d->used_seen;
	if (!ok)
		printf("FAIL: %s: status %#x irq %d used idx %u\n", what, status(d), irq_level[d->irq],
		       get16(d->used + 2));
	fails += !ok;
	CHECK(r(d, 0x1000, 1) & 2); /* ISR: configuration change; reading clears */
	CHECK(!irq_level[d->irq]);
	/* Broken stays broken: a good request now is not processed. */
	uint16_t before = get16(d->used + 2);
	w(d, 0x3000, 2, 0);
	CHECK(get16(d->used + 2) == before);
}

/* A virtio-blk request: header at 0x20000, data at 0x21000 (len),
 * status at 0x30000. Returns the status byte, or -1 if no used entry. */
#define HDR_PA 0x20000u
#define DATA_PA 0x21000u
#define STATUS_PA 0x30000u
static int blk_req(struct drv *d, uint32_t type, uint64_t sector, uint32_t len)
{
	uint8_t hdr[16] = { 0 };
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memcpy(ram + HDR_PA, hdr, 16);
	ram[STATUS_PA] = 0xee;
	int n = 0;
	set_desc(d, n, HDR_PA, 16, 1, (uint16_t)(n + 1));
	n++;
	if (len) {
		set_desc(d, n, DATA_PA, len, (uint16_t)(1 | (type == 0 ? 2 : 0)), (uint16_t)(n + 1));
		n++;
	}
	set_desc(d, n, STATUS_PA, 1, 2, 0);
	submit(d, 0);
	uint16_t used = get16(d->used + 2);
	if (used == d->used_seen)
		return -1;
	d->used_seen = used;
	return ram[STATUS_PA];
}

static struct drv plug(struct virtio_pci *v, int irq)
{
	int slot = pci_host_add_dev(&pci, &v->pci, irq);
	CHECK(slot > 0);
	struct drv d;
	memset(&d, 0, sizeof(d));
	d.bar = pci_config_read(&pci, (uint32_t)slot << 11 | 0x10, 4) & ~0xfu;
	d.irq = pci_config_read(&pci, (uint32_t)slot << 11 | 0x3c, 1);
	CHECK(pci_config_read(&pci, (uint32_t)slot << 11, 2) == 0x1af4);
	CHECK(d.bar >= PCI_MMIO_BASE && d.irq == irq);
	return d;
}

static uint32_t cfg_rd(int slot, unsigned reg, int size) { return pci_config_read(&pci, (uint32_t)slot << 11 | reg, size); }
static void cfg_wr(int slot, unsigned reg, int size, uint32_t v) { pci_config_write(&pci, (uint32_t)slot << 11 | reg, size, v); }

/* The MSI-X capability's config offset, 0 if none. */
static unsigned find_msix(int slot)
{
	for (unsigned at = cfg_rd(slot, 0x34, 1), n = 0; at && n < 48; at = cfg_rd(slot, at + 1, 1), n++)
		if (cfg_rd(slot, at, 1) == 0x11)
			return at;
	return 0;
}

/* MSI-X (virtio 1.0 4.1.4.7, 4.1.5.1.2; PCI 3.0 6.8.2) on a working
 * blk device d in slot: the capability and table; vectors as the common
 * configuration maps them; masked vectors become pending bits and are
 * sent on unmasking; NO_VECTOR sends nothing; INTx only while MSI-X is
 * off; a PCI reset turns it off and masks the table. */
static void msix_checks(struct drv *d, int slot)
{
	unsigned cap = find_msix(slot);
	CHECK(cap != 0);
	if (!cap)
		return;
	uint32_t ctl = cfg_rd(slot, cap + 2, 2);
	CHECK((ctl & 0x7ff) == 1); /* blk: one queue, so 2 vectors (config + queue) */
	CHECK(cfg_rd(slot, cap + 4, 4) == 1);          /* table: BAR 1 offset 0 */
	CHECK(cfg_rd(slot, cap + 8, 4) == (0x800 | 1)); /* pending bits: BAR 1 0x800 */
	cfg_wr(slot, 0x14, 4, 0xffffffffu);
	CHECK(cfg_rd(slot, 0x14, 4) == ~0xfffu); /* a 4 KiB BAR */
	cfg_wr(slot, 0x14, 4, 0xfe100000u);
	uint32_t tab = 0xfe100000u, pba = tab + 0x800;
	cfg_wr(slot, 0x04, 2, 0x0006); /* memory and bus master */

	/* After reset every vector is masked and nothing is pending. */
	CHECK(bus_read(&mmio, tab + 12, 4) == 1 && bus_read(&mmio, tab + 28, 4) == 1);
	CHECK(bus_read(&mmio, pba, 4) == 0);
	/* Vectors: those the table has, else NO_VECTOR reads back. */
	CHECK(bring_up(d, 0x10000, 0x11000, 0x12000, 8));
	CHECK(r(d, 0x10, 2) == 0xffff && r(d, 0x1a, 2) == 0xffff);
	w(d, 0x10, 2, 0);
	w(d, 0x16, 2, 0);
	w(d, 0x1a, 2, 1);
	CHECK(r(d, 0x10, 2) == 0 && r(d, 0x1a, 2) == 1);
	w(d, 0x1a, 2, 2);
	CHECK(r(d, 0x1a, 2) == 0xffff); /* beyond the table: mapping refused */
	w(d, 0x1a, 2, 1);
	for (int i = 0; i < 2; i++) {
		bus_write(&mmio, tab + 16 * i, 4, 0xfee00000u | (uint32_t)i << 12);
		bus_write(&mmio, tab + 16 * i + 4, 4, 0);
		bus_write(&mmio, tab + 16 * i + 8, 4, 0x40u + (uint32_t)i);
	}
	CHECK(bus_read(&mmio, tab + 24, 4) == 0x41);

	/* MSI-X off: INTx, as before. */
	msi_count = 0;
	CHECK(blk_req(d, 0, 5, 512) == 0);
	CHECK(irq_level[d->irq] && msi_count == 0);
	CHECK(r(d, 0x1000, 1) == 1 && !irq_level[d->irq]);

	/* On, vector 1 still masked: pending, no message, no INTx. */
	cfg_wr(slot, cap + 2, 2, 0x8000);
	CHECK(cfg_rd(slot, cap + 2, 2) == 0x8001);
	CHECK(blk_req(d, 0, 5, 512) == 0);
	CHECK(msi_count == 0 && !irq_level[d->irq]);
	CHECK(bus_read(&mmio, pba, 4) == 2);
	/* Unmasking sends it and clears the pending bit. */
	bus_write(&mmio, tab + 28, 4, 0);
	CHECK(msi_count == 1 && msi_addr == 0xfee01000u && msi_data == 0x41);
	CHECK(bus_read(&mmio, pba, 4) == 0);
	CHECK(blk_req(d, 0, 5, 512) == 0);
	CHECK(msi_count == 2 && msi_data == 0x41 && !irq_level[d->irq]);
	/* The function mask holds every vector; clearing it sends. */
	cfg_wr(slot, cap + 2, 2, 0xc000);
	CHECK(blk_req(d, 0, 5, 512) == 0);
	CHECK(msi_count == 2 && bus_read(&mmio, pba, 4) == 2);
	cfg_wr(slot, cap + 3, 1, 0x80);
	CHECK(msi_count == 3 && bus_read(&mmio, pba, 4) == 0);
	/* No bus mastering, no message (an MSI is a memory write). */
	cfg_wr(slot, 0x04, 2, 0x0002);
	CHECK(blk_req(d, 0, 5, 512) == 0);
	CHECK(msi_count == 3);
	cfg_wr(slot, 0x04, 2, 0x0006);
	/* The pending bits and reserved control bits are read-only. */
	bus_write(&mmio, pba, 4, 0xffffffffu);
	bus_write(&mmio, tab + 12, 4, 0xfffffffeu);
	CHECK(bus_read(&mmio, pba, 4) == 0 && bus_read(&mmio, tab + 12, 4) == 0);
	/* NO_VECTOR: the request completes, nobody is interrupted. */
	w(d, 0x1a, 2, 0xffff);
	CHECK(blk_req(d, 0, 5, 512) == 0);
	CHECK(msi_count == 3 && !irq_level[d->irq] && bus_read(&mmio, pba, 4) == 0);
	w(d, 0x1a, 2, 1);
	/* A broken device signals the configuration vector (0). */
	submit(d, 8);
	CHECK((status(d) & 0x40) && msi_count == 4 && msi_addr == 0xfee00000u && msi_data == 0x40);
	CHECK(!irq_level[d->irq]);
	/* A device reset unmaps the vectors; the table stays. */
	CHECK(bring_up(d, 0x10000, 0x11000, 0x12000, 8));
	CHECK(r(d, 0x10, 2) == 0xffff && bus_read(&mmio, tab + 24, 4) == 0x41);
	/* MSI-X off again: INTx again. */
	w(d, 0x16, 2, 0);
	w(d, 0x1a, 2, 1);
	cfg_wr(slot, cap + 2, 2, 0);
	CHECK(blk_req(d, 0, 5, 512) == 0);
	CHECK(msi_count == 4 && irq_level[d->irq]);
	CHECK(r(d, 0x1000, 1) == 1 && !irq_level[d->irq]);
	/* A PCI reset: MSI-X off, and (with the device's) the table masked. */
	cfg_wr(slot, cap + 2, 2, 0x8000);
	pci_host_reset(&pci);
	CHECK(cfg_rd(slot, cap + 2, 2) == 1);
}

static int canaries_ok(const uint8_t *p)
{
	for (uint32_t i = 0; i < CANARY; i++)
		if (p[i] != CANARY_BYTE)
			return 0;
	return 1;
}

static char *make_image(uint8_t fill, size_t size)
{
	static char names[2][64];
	static int k;
	char *name = names[k++ % 2];
	snprintf(name, 64, "/tmp/ringvm-vblk-%d-%d.img", (int)getpid(), k);
	FILE *f = fopen(name, "wb");
	if (!f)
		return NULL;
	for (size_t i = 0; i < size; i++)
		fputc((int)(uint8_t)(fill + i / 512), f);
	fclose(f);
	return name;
}

int main(void)
{
	/* guard | canary | RAM | canary | guard */
	size_t total = 2 * GUARD + 2 * CANARY + RAM_SIZE;
	uint8_t *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return 1;
	mprotect(map, GUARD, PROT_NONE);
	mprotect(map + total - GUARD, GUARD, PROT_NONE);
	uint8_t *lo = map + GUARD, *hi = map + GUARD + CANARY + RAM_SIZE;
	memset(lo, CANARY_BYTE, CANARY);
	memset(hi, CANARY_BYTE, CANARY);
	ram = lo + CANARY;
	memset(ram, 0, RAM_SIZE);

	bus_init(&pio, 0x10000);
	bus_init(&mmio, 0x100000000ull);
	CHECK(pci_host_init(&pci, &pio, &req) == 0);
	pci.mmio = &mmio;
	pci.intx = intx;
	pci.msi = msi;
	struct vq_mem mem = { ram, RAM_SIZE, 0xa0000, 0x100000, NULL, NULL };
	char err[256];

	char *img = make_image(0x40, 64 * 1024);
	struct vblk blk;
	CHECK(img && vblk_init(&blk, img, false, VBLK_WRITEBACK, &mem, NULL, err, sizeof(err)) == 0);
	struct drv d = plug(&blk.vio, 10);
	CHECK(r(&d, 0x2000, 4) == 128); /* capacity: 64 KiB in sectors */

	/* Well-formed requests work. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	CHECK(blk_req(&d, 0, 3, 1024) == 0);
	CHECK(ram[DATA_PA] == 0x43 && ram[DATA_PA + 1023] == 0x44);
	CHECK(get32(d.used + 8) == 1025); /* used length: data + status */
	CHECK(irq_level[10]);
	CHECK(r(&d, 0x1000, 1) == 1 && !irq_level[10]);
	memset(ram + DATA_PA, 0x77, 512);
	CHECK(blk_req(&d, 1, 5, 512) == 0);
	CHECK(blk_req(&d, 4, 0, 0) == 0); /* flush */
	CHECK(blk_req(&d, 0, 5, 512) == 0 && ram[DATA_PA + 100] == 0x77);
	CHECK(blk_req(&d, 0, 127, 1024) == 1); /* past the end: IOERR */
	CHECK(blk_req(&d, 0, ~0ull / 2, 512) == 1);
	CHECK(blk_req(&d, 0, 0, 100) == 1);    /* not whole sectors */
	CHECK(blk_req(&d, 99, 0, 0) == 2);     /* unknown type: UNSUPP */
	msix_checks(&d, PCI_DEV_FIRST_SLOT);
	virtio_pci_reset(&blk.vio);
	d.bar = cfg_rd(PCI_DEV_FIRST_SLOT, 0x10, 4) & ~0xfu;

	/* Each hostile request breaks the device; a reset mends it. */
	struct { const char *what; uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; } bad_desc[] = {
		{ "descriptor past the end of RAM", RAM_SIZE - 256, 512, 2, 0 },
		{ "descriptor far outside RAM", 0xfe000000u, 512, 2, 0 },
		{ "descriptor above 4 GiB", 0x100000000ull, 512, 2, 0 },
		{ "length of 4 GiB", DATA_PA, 0xffffffffu, 2, 0 },
		{ "descriptor in the BIOS area", 0xf0000, 512, 2, 0 },
		{ "indirect descriptor", DATA_PA, 16, 4, 0 },
		{ "next index out of range", DATA_PA, 512, 1 | 2, 200 },
	};
	for (unsigned i = 0; i < sizeof(bad_desc) / sizeof(bad_desc[0]); i++) {
		CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
		set_desc(&d, 0, HDR_PA, 16, 1, 1);
		set_desc(&d, 1, bad_desc[i].addr, bad_desc[i].len, (uint16_t)(bad_desc[i].flags | 1), 2);
		set_desc(&d, 2, STATUS_PA, 1, 2, 0);
		if (bad_desc[i].flags & 1) /* the bad link is the last descriptor's */
			set_desc(&d, 2, STATUS_PA, 1, 3, bad_desc[i].next);
		submit(&d, 0);
		expect_broken(&d, bad_desc[i].what);
	}
	/* A chain that loops: 0 -> 1 -> 0. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	set_desc(&d, 0, HDR_PA, 16, 1, 1);
	set_desc(&d, 1, DATA_PA, 512, 1, 0);
	submit(&d, 0);
	expect_broken(&d, "looping chain");
	/* A chain of every descriptor pointing at itself. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	set_desc(&d, 3, DATA_PA, 512, 1, 3);
	submit(&d, 3);
	expect_broken(&d, "self loop");
	/* Readable after writable. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	set_desc(&d, 0, STATUS_PA, 1, 1 | 2, 1);
	set_desc(&d, 1, HDR_PA, 16, 0, 0);
	submit(&d, 0);
	expect_broken(&d, "readable after writable");
	/* Head index out of range. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	submit(&d, 8);
	expect_broken(&d, "head out of range");
	/* The avail index runs more than a ring ahead. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	put16(d.avail + 2, 9);
	w(&d, 0x3000, 2, 0);
	expect_broken(&d, "avail index ahead");
	/* A request without a status byte. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	set_desc(&d, 0, HDR_PA, 16, 0, 0);
	submit(&d, 0);
	expect_broken(&d, "no status byte");

	/* Rings: outside RAM, in the BIOS area, straddling the end,
	 * misaligned, a size that is not a power of two. */
	struct { const char *what; uint32_t desc, avail, used; int size; } bad_ring[] = {
		{ "used ring outside RAM", 0x10000, 0x11000, 0xfffff000u, 8 },
		{ "used ring in the BIOS area", 0x10000, 0x11000, 0xf0000, 8 },
		{ "descriptor table across the end of RAM", RAM_SIZE - 64, 0x11000, 0x12000, 8 },
		{ "avail ring outside RAM", 0x10000, RAM_SIZE, 0x12000, 8 },
		{ "misaligned used ring", 0x10000, 0x11000, 0x12002, 8 },
		{ "queue size 6", 0x10000, 0x11000, 0x12000, 6 },
		{ "queue size 0", 0x10000, 0x11000, 0x12000, 0 },
		{ "queue size 512", 0x10000, 0x11000, 0x12000, 512 },
	};
	for (unsigned i = 0; i < sizeof(bad_ring) / sizeof(bad_ring[0]); i++) {
		int ok = bring_up(&d, bad_ring[i].desc, bad_ring[i].avail, bad_ring[i].used, bad_ring[i].size);
		if (ok)
			printf("FAIL: %s accepted\n", bad_ring[i].what);
		fails += ok;
		CHECK(irq_level[10]);
		CHECK(r(&d, 0x1000, 1) & 2);
	}

	/* Mended by a reset; FEATURES_OK is refused for features not offered. */
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	CHECK(blk_req(&d, 0, 5, 512) == 0 && ram[DATA_PA] == 0x77);
	w(&d, 0x14, 1, 0);
	w(&d, 0x14, 1, 3);
	w(&d, 0x08, 4, 0);
	w(&d, 0x0c, 4, 1u << 31);
	w(&d, 0x08, 4, 1);
	w(&d, 0x0c, 4, 1);
	w(&d, 0x14, 1, 3 | 8);
	CHECK(!(status(&d) & 8));
	/* Junk everywhere in the BAR and the config space: nothing breaks. */
	for (uint32_t off = 0; off < VIRTIO_BAR_SIZE; off += 2) {
		w(&d, off, 2, 0xffff);
		r(&d, off, 4);
	}
	uint32_t bar1 = cfg_rd(PCI_DEV_FIRST_SLOT, 0x14, 4);
	for (uint32_t off = 0; off < 0x1000; off += 2) {
		bus_write(&mmio, bar1 + off, 2, 0xffff);
		bus_read(&mmio, bar1 + off, 4);
	}
	for (uint32_t reg = 0; reg < 256; reg += 4)
		pci_config_write(&pci, (uint32_t)PCI_DEV_FIRST_SLOT << 11 | reg, 4, 0xffffffffu);
	CHECK(pci_config_read(&pci, (uint32_t)PCI_DEV_FIRST_SLOT << 11 | 0x10, 4) == ~(uint32_t)(VIRTIO_BAR_SIZE - 1)); /* BAR sizing */
	pci_host_reset(&pci);
	virtio_pci_reset(&blk.vio);
	CHECK(bring_up(&d, 0x10000, 0x11000, 0x12000, 8));
	CHECK(blk_req(&d, 0, 5, 512) == 0 && ram[DATA_PA] == 0x77);
	vblk_free(&blk);

	/* A read-only drive: writes and discards fail, the image is kept. */
	char *roimg = make_image(0x10, 8192);
	struct vblk ro;
	CHECK(roimg && vblk_init(&ro, roimg, true, VBLK_WRITEBACK, &mem, NULL, err, sizeof(err)) == 0);
	struct drv dr = plug(&ro.vio, 11);
	CHECK(bring_up(&dr, 0x40000, 0x41000, 0x42000, 16));
	w(&dr, 0x00, 4, 0);
	CHECK(r(&dr, 0x04, 4) & (1u << 5)); /* VIRTIO_BLK_F_RO */
	memset(ram + DATA_PA, 0x99, 512);
	CHECK(blk_req(&dr, 1, 0, 512) == 1);
	CHECK(blk_req(&dr, 11, 0, 16) == 1);
	CHECK(blk_req(&dr, 0, 0, 512) == 0 && ram[DATA_PA] == 0x10);
	vblk_free(&ro);
	FILE *f = fopen(roimg, "rb");
	int c0 = f ? fgetc(f) : -1;
	if (f)
		fclose(f);
	CHECK(c0 == 0x10);

	/* virtio-rng fills what it is given. */
	struct vrng rng;
	vrng_init(&rng, &mem, NULL);
	struct drv dg = plug(&rng.vio, 5);
	CHECK(bring_up(&dg, 0x50000, 0x51000, 0x52000, 8));
	memset(ram + DATA_PA, 0, 64);
	set_desc(&dg, 0, DATA_PA, 64, 2, 0);
	submit(&dg, 0);
	CHECK(get16(dg.used + 2) == 1 && get32(dg.used + 8) == 64);
	dg.used_seen = 1;
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero += ram[DATA_PA + i] != 0;
	CHECK(nonzero > 32);
	set_desc(&dg, 0, 0x1ff000, 0x2000, 2, 0); /* past the end of RAM */
	submit(&dg, 0);
	expect_broken(&dg, "rng buffer past RAM");

	CHECK(canaries_ok(lo) && canaries_ok(hi));
	unlink(img);
	unlink(roimg);
	bus_free(&pio);
	bus_free(&mmio);
	munmap(map, total);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
