/* Port-I/O and MMIO buses: sorted tables of address ranges, each with
 * read/write callbacks and an opaque pointer.
 *
 * Unclaimed reads return all-ones of the access size; unclaimed writes are
 * ignored. A device that sets access_size = 1 gets wider accesses split
 * into byte accesses (little-endian), each dispatched on its own. */
#ifndef RINGVM_BUS_H
#define RINGVM_BUS_H

#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* offset is relative to the range base; size is 1, 2 or 4. */
	uint32_t (*read)(void *opaque, uint32_t offset, int size);
	void (*write)(void *opaque, uint32_t offset, int size, uint32_t val);
	int access_size; /* 0: any size goes to the device; 1: split to bytes */
	const char *name;
};

struct bus_range {
	uint32_t base;
	uint32_t len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	struct bus_range *r; /* sorted by base, non-overlapping */
	int n, cap;
	uint64_t limit; /* one past the highest address: 0x10000 for ports */
};

void bus_init(struct bus *b, uint64_t limit);
void bus_free(struct bus *b);

/* 0 on success; -1 if the range is empty, leaves the address space or
 * overlaps a registered range; -2 on allocation failure. */
int bus_add(struct bus *b, uint32_t base, uint32_t len, const struct bus_ops *ops, void *opaque);
int bus_add_pio(struct bus *b, uint16_t base, uint32_t len, const struct bus_ops *ops, void *opaque);
int bus_add_mmio(struct bus *b, uint32_t base, uint32_t len, const struct bus_ops *ops, void *opaque);

/* Remove the range that starts at base (a relocated device): 0, or -1 if
 * no range starts there. */
int bus_del(struct bus *b, uint32_t base);

/* The range that holds addr, or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint32_t addr);

uint32_t bus_read(const struct bus *b, uint32_t addr, int size);
void bus_write(const struct bus *b, uint32_t addr, int size, uint32_t val);

#endif
