/* Port bus: sorted ranges, overlap errors, all-ones for unclaimed reads,
 * byte splitting for access_size = 1 devices. */
#include <stdio.h>
#include <string.h>

#include "machine/bus.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

struct dev { uint8_t reg[8]; int reads, writes; int last_size; };

static uint32_t d_read(void *o, uint32_t off, int size)
{
	struct dev *d = o;
	d->reads++;
	d->last_size = size;
	uint32_t v = 0;
	for (int i = 0; i < size; i++)
		v |= (uint32_t)d->reg[(off + (uint32_t)i) & 7] << (8 * i);
	return v;
}
static void d_write(void *o, uint32_t off, int size, uint32_t val)
{
	struct dev *d = o;
	d->writes++;
	d->last_size = size;
	for (int i = 0; i < size; i++)
		d->reg[(off + (uint32_t)i) & 7] = (uint8_t)(val >> (8 * i));
}
static const struct bus_ops wide = { d_read, d_write, 0, "wide" };
static const struct bus_ops narrow = { d_read, d_write, 1, "narrow" };

int main(void)
{
	struct bus b;
	bus_init(&b, 0x10000);
	struct dev a, c, e;
	memset(&a, 0, sizeof(a));
	memset(&c, 0, sizeof(c));
	memset(&e, 0, sizeof(e));

	CHECK(bus_add_pio(&b, 0x100, 8, &narrow, &a) == 0);
	CHECK(bus_add_pio(&b, 0x40, 4, &wide, &c) == 0);
	/* overlaps: inside, straddling either end, covering */
	CHECK(bus_add_pio(&b, 0x104, 1, &wide, &e) == -1);
	CHECK(bus_add_pio(&b, 0xfe, 4, &wide, &e) == -1);
	CHECK(bus_add_pio(&b, 0x107, 2, &wide, &e) == -1);
	CHECK(bus_add_pio(&b, 0x30, 0x100, &wide, &e) == -1);
	CHECK(bus_add_pio(&b, 0x43, 1, &wide, &e) == -1);
	/* empty and out-of-space ranges */
	CHECK(bus_add_pio(&b, 0x200, 0, &wide, &e) == -1);
	CHECK(bus_add_pio(&b, 0xffff, 2, &wide, &e) == -1);
	/* adjacent is fine */
	CHECK(bus_add_pio(&b, 0x108, 1, &wide, &e) == 0);
	CHECK(bus_add_pio(&b, 0x3d, 4, &wide, &e) == -1);
	CHECK(b.n == 3);
	for (int i = 1; i < b.n; i++)
		CHECK(b.r[i - 1].base + b.r[i - 1].len <= b.r[i].base);

	/* unclaimed: all ones of the access size; writes ignored */
	CHECK(bus_read(&b, 0x300, 1) == 0xff);
	CHECK(bus_read(&b, 0x300, 2) == 0xffff);
	CHECK(bus_read(&b, 0x300, 4) == 0xffffffffu);
	bus_write(&b, 0x300, 4, 0x12345678);
	CHECK(bus_read(&b, 0x300, 4) == 0xffffffffu);
	CHECK(bus_read(&b, 0x300, 3) == 0xffffffffu); /* bad size: no crash */

	/* a wide device gets the access whole */
	bus_write(&b, 0x40, 4, 0xa1b2c3d4);
	CHECK(c.writes == 1 && c.last_size == 4);
	CHECK(bus_read(&b, 0x40, 4) == 0xa1b2c3d4);
	CHECK(bus_read(&b, 0x42, 2) == 0xa1b2);

	/* a narrow device gets bytes; the part past its end is unclaimed
	 * (or another device's) */
	bus_write(&b, 0x100, 4, 0x11223344);
	CHECK(a.writes == 4 && a.last_size == 1);
	CHECK(a.reg[0] == 0x44 && a.reg[3] == 0x11);
	CHECK(bus_read(&b, 0x100, 2) == 0x3344);
	CHECK(bus_read(&b, 0x107, 2) == ((uint32_t)e.reg[1] << 8 | a.reg[7]));
	e.writes = 0;
	bus_write(&b, 0x108, 4, 0xcafef00d); /* e is wide: one access */
	CHECK(e.writes == 1 && bus_read(&b, 0x108, 4) == 0xcafef00d);

	/* find */
	CHECK(bus_find(&b, 0x0) == NULL);
	CHECK(bus_find(&b, 0x103)->opaque == &a);
	CHECK(bus_find(&b, 0x109) == NULL);

	/* MMIO-sized space */
	struct bus m;
	bus_init(&m, 0x100000000ull);
	CHECK(bus_add_mmio(&m, 0xfee00000u, 0x1000, &wide, &c) == 0);
	CHECK(bus_add_mmio(&m, 0xfffff000u, 0x1000, &wide, &c) == 0);
	CHECK(bus_add_mmio(&m, 0xfffff000u, 0x2000, &wide, &c) == -1);
	CHECK(bus_read(&m, 0xa0000, 1) == 0xff);
	bus_free(&m);
	bus_free(&b);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
