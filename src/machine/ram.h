/* Guest RAM: one memfd-backed shared mapping, so snapshots and clones can
 * share it later. Size limits: a page multiple, 2 MiB .. 16 GiB. The
 * first 3 GiB sit at physical 0; the rest starts at 4 GiB (QEMU's pc
 * layout), since 3-4 GiB is the PCI hole: MMIO and the BIOS alias. Only
 * PAE paging reaches RAM above 4 GiB. */
#ifndef RINGVM_RAM_H
#define RINGVM_RAM_H

#include <stddef.h>
#include <stdint.h>

#define RAM_MIN (2u << 20)
#define RAM_MAX (16ull << 30)
#define RAM_LOW_MAX (3u << 30)
#define RAM_PAGE 4096u

struct ram {
	uint8_t *base;
	uint64_t size;
	int fd;
	uint64_t *dirty; /* dirty-page log while migrating (cpu_memmap.dirty), or NULL */
};

/* The part of size bytes of RAM that lies below 4 GiB. */
static inline uint32_t ram_low_size(uint64_t size)
{
	return size < RAM_LOW_MAX ? (uint32_t)size : RAM_LOW_MAX;
}

/* 0, or -1 with a message in err. */
int ram_create(struct ram *r, uint64_t size, char *err, size_t errlen);
void ram_free(struct ram *r);
/* Give every byte back as zero (power cycle). */
void ram_clear(struct ram *r);

/* Parse a size as -m takes it: a number with an optional K/M/G suffix
 * (no suffix: MiB, as QEMU). Returns 0 and sets *out, or -1 with a message
 * naming the problem. Does not check the RAM limits. */
int ram_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);

/* The BIOS ROM image: exactly 64 or 128 KiB, page-aligned. */
int rom_load(const char *path, uint8_t **img, uint32_t *size, char *err, size_t errlen);
void rom_free(uint8_t *img, uint32_t size);

#endif
