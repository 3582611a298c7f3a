/* Helpers shared by the boot loaders (internal to src/boot/). */
#ifndef RINGVM_BOOTUTIL_H
#define RINGVM_BOOTUTIL_H

#include <stdint.h>
#include <stddef.h>

/* The board's fixed holes (docs/boot.md): the EBDA-style reserved tail of
 * low memory, the VGA MMIO hole and the read-only ROM window. */
#define BOOT_LOW_END 0x9fc00u
#define BOOT_HOLE_END 0x100000u

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

/* Writes "name: reason" to err and returns -1. */
int boot_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* True if [a, a+alen) and [b, b+blen) share a byte (64-bit: no wrap). */
static inline int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* True if [pa, pa+len) lies in usable RAM: inside [0, ram_size) and clear
 * of the reserved window [BOOT_LOW_END, BOOT_HOLE_END). */
static inline int boot_usable(uint32_t ram_size, uint64_t pa, uint64_t len)
{
	return pa + len <= ram_size && !ranges_overlap(pa, len, BOOT_LOW_END, BOOT_HOLE_END - BOOT_LOW_END);
}

#endif
