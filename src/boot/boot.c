/* Image detection and the memory map both loaders report. */
#include <stdarg.h>
#include <stdio.h>

#include "boot/boot.h"
#include "boot/bootutil.h"

int boot_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s: ", name ? name : "(image)");
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

/* Multiboot spec 3.1.1: the header is 32-bit aligned within the first
 * 8192 bytes, and magic + flags + checksum == 0 (mod 2^32). */
static int has_multiboot(const uint8_t *img, size_t len)
{
	size_t lim = len < 8192 ? len : 8192;
	for (size_t off = 0; off + 12 <= lim; off += 4)
		if (rd32(img + off) == 0x1badb002u &&
		    (uint32_t)(rd32(img + off) + rd32(img + off + 4) + rd32(img + off + 8)) == 0)
			return 1;
	return 0;
}

/* Linux boot protocol: boot_flag 0xAA55 at 0x1FE and "HdrS" at 0x202. */
static int has_bzimage(const uint8_t *img, size_t len)
{
	return len >= 0x206 && rd16(img + 0x1fe) == 0xaa55 && rd32(img + 0x202) == 0x53726448u;
}

int boot_detect(const uint8_t *img, size_t len)
{
	if (!img)
		return 0;
	if (has_multiboot(img, len))
		return 1;
	if (has_bzimage(img, len))
		return 2;
	return 0;
}

int boot_memmap(uint32_t ram_size, uint64_t ram_high, struct boot_mem_range *out, int max)
{
	struct boot_mem_range m[5];
	int n = 0;
	uint64_t low = ram_size < BOOT_LOW_END ? ram_size : BOOT_LOW_END;
	m[n++] = (struct boot_mem_range){0, low, 1};
	/* The top of conventional memory (as a BIOS's EBDA) and the system
	 * BIOS area are reserved; the VGA hole and option ROMs in between are
	 * not RAM at all and are left out, as PC firmware does. */
	m[n++] = (struct boot_mem_range){BOOT_LOW_END, 0xa0000 - BOOT_LOW_END, 2};
	m[n++] = (struct boot_mem_range){0xf0000, 0x10000, 2};
	if (ram_size > BOOT_HOLE_END)
		m[n++] = (struct boot_mem_range){BOOT_HOLE_END, ram_size - BOOT_HOLE_END, 1};
	if (ram_high) /* above the PCI hole */
		m[n++] = (struct boot_mem_range){0x100000000ull, ram_high, 1};
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++)
		out[i] = m[i];
	return n;
}
