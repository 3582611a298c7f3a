/* Sorted range tables for port I/O and MMIO (see bus.h). */
#include "machine/bus.h"

#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *b, uint64_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void bus_free(struct bus *b)
{
	free(b->r);
	b->r = NULL;
	b->n = b->cap = 0;
}

/* Index of the first range whose base is > addr. */
static int upper(const struct bus *b, uint32_t addr)
{
	int lo = 0, hi = b->n;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (b->r[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_add(struct bus *b, uint32_t base, uint32_t len, const struct bus_ops *ops, void *opaque)
{
	if (len == 0 || !ops || (uint64_t)base + len > b->limit)
		return -1;
	int i = upper(b, base);
	uint64_t end = (uint64_t)base + len;
	if (i > 0 && (uint64_t)b->r[i - 1].base + b->r[i - 1].len > base)
		return -1;
	if (i < b->n && b->r[i].base < end)
		return -1;
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *nr = realloc(b->r, (size_t)cap * sizeof(*nr));
		if (!nr)
			return -2;
		b->r = nr;
		b->cap = cap;
	}
	memmove(&b->r[i + 1], &b->r[i], (size_t)(b->n - i) * sizeof(*b->r));
	b->r[i] = (struct bus_range){ base, len, ops, opaque };
	b->n++;
	return 0;
}

int bus_del(struct bus *b, uint32_t base)
{
	int i = upper(b, base) - 1;
	if (i < 0 || b->r[i].base != base)
		return -1;
	memmove(&b->r[i], &b->r[i + 1], (size_t)(b->n - i - 1) * sizeof(*b->r));
	b->n--;
	return 0;
}

int bus_add_pio(struct bus *b, uint16_t base, uint32_t len, const struct bus_ops *ops, void *opaque)
{
	return bus_add(b, base, len, ops, opaque);
}

int bus_add_mmio(struct bus *b, uint32_t base, uint32_t len, const struct bus_ops *ops, void *opaque)
{
	return bus_add(b, base, len, ops, opaque);
}

const struct bus_range *bus_find(const struct bus *b, uint32_t addr)
{
	int i = upper(b, addr);
	if (i == 0)
		return NULL;
	const struct bus_range *r = &b->r[i - 1];
	return addr - r->base < r->len ? r : NULL;
}

static uint32_t ones(int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static int size_ok(int size)
{
	return size == 1 || size == 2 || size == 4;
}

uint32_t bus_read(const struct bus *b, uint32_t addr, int size)
{
	if (!size_ok(size))
		return 0xffffffffu;
	const struct bus_range *r = bus_find(b, addr);
	if (r && r->ops->read && (r->ops->access_size != 1 || size == 1))
		return r->ops->read(r->opaque, addr - r->base, size) & ones(size);
	if (!r || size == 1)
		return ones(size);
	/* Split into byte accesses, each to whatever claims that address. */
	uint32_t v = 0;
	for (int i = 0; i < size; i++) {
		uint32_t a = addr + (uint32_t)i;
		if ((uint64_t)addr + (uint64_t)i >= b->limit)
			a = (uint32_t)((uint64_t)addr + (uint64_t)i - b->limit);
		v |= bus_read(b, a, 1) << (8 * i);
	}
	return v;
}

void bus_write(const struct bus *b, uint32_t addr, int size, uint32_t val)
{
	if (!size_ok(size))
		return;
	const struct bus_range *r = bus_find(b, addr);
	if (r && (r->ops->access_size != 1 || size == 1)) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, size, val & ones(size));
		return;
	}
	if (!r || size == 1)
		return;
	for (int i = 0; i < size; i++) {
		uint32_t a = addr + (uint32_t)i;
		if ((uint64_t)addr + (uint64_t)i >= b->limit)
			a = (uint32_t)((uint64_t)addr + (uint64_t)i - b->limit);
		bus_write(b, a, 1, (val >> (8 * i)) & 0xff);
	}
}
