/* Linux x86 boot protocol 2.02+ loader, 32-bit entry
 * (Documentation/arch/x86/boot.rst and zero-page.rst in the kernel tree).
 *
 * Layout (docs/boot.md): boot_params (the "zero page") at BOOT_INFO_ADDR,
 * the command line at BOOT_CMDLINE_ADDR, the protected-mode kernel at
 * BOOT_KERNEL_ADDR (1 MiB), the initrd page-aligned as high as the kernel
 * allows. Everything is validated before RAM is written.
 */
#include <string.h>

#include "boot/boot.h"
#include "boot/bootutil.h"

#define PAGE 4096u

/* Setup header offsets, in the file and in boot_params alike. */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_CMDLINE_SIZE 0x238
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_LIMIT 0x290 /* boot_params keeps the header in [0x1f1, 0x290) */

#define LF_LOADED_HIGH 0x01
#define LF_KEEP_SEGMENTS 0x40
#define LF_CAN_USE_HEAP 0x80

/* zero-page.rst */
#define ZP_SIZE 4096u
#define ZP_EXT_MEM_K 0x002
#define ZP_VIDEO_MODE 0x006
#define ZP_VIDEO_COLS 0x007
#define ZP_VIDEO_LINES 0x00e
#define ZP_VIDEO_ISVGA 0x00f
#define ZP_VIDEO_POINTS 0x010
#define ZP_ALT_MEM_K 0x1e0
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0

/* Real-mode heap: boot.rst's example layout puts the heap end at
 * X + 0xE000 and the command line right after it; X is the zero page. */
#define HEAP_END 0xe000u
#define CMDLINE_MAX (0x20000u - BOOT_CMDLINE_ADDR - 1)

int linux_load(struct guest_ram *g, const char *name, const uint8_t *img, size_t len,
	       const char *cmdline, const char *initrd_name, const uint8_t *initrd, size_t initrd_len,
	       struct boot_entry *out, char *err, size_t errlen)
{
	if (!g || !g->ram || !img || !out)
		return boot_fail(err, errlen, name, "no image or no RAM");
	if (len < HDR_VERSION + 2)
		return boot_fail(err, errlen, name, "too short for a Linux setup header (%zu bytes)", len);
	if (rd16(img + HDR_BOOT_FLAG) != 0xaa55 || rd32(img + HDR_MAGIC) != 0x53726448u)
		return boot_fail(err, errlen, name, "not a Linux bzImage (no boot flag 0xAA55 / \"HdrS\")");
	unsigned version = rd16(img + HDR_VERSION);
	if (version < 0x0202)
		return boot_fail(err, errlen, name,
				 "boot protocol %u.%02u is older than 2.02, which has no 32-bit entry", version >> 8,
				 version & 0xff);
	/* The header ends at 0x202 + the byte at 0x201 (the jump offset). */
	size_t hdr_end = HDR_MAGIC + (size_t)img[HDR_JUMP + 1];
	if (hdr_end > HDR_LIMIT)
		hdr_end = HDR_LIMIT;
	/* The fields we read must be inside the header the version promises. */
	size_t need = version >= 0x020a ? HDR_INIT_SIZE + 4
		    : version >= 0x0206 ? HDR_CMDLINE_SIZE + 4
		    : version >= 0x0203 ? HDR_INITRD_ADDR_MAX + 4
					: HDR_CMD_LINE_PTR + 4;
	if (hdr_end < need)
		return boot_fail(err, errlen, name, "setup header too short (%zu bytes) for protocol %u.%02u",
				 hdr_end - HDR_START, version >> 8, version & 0xff);
	if (hdr_end > len)
		return boot_fail(err, errlen, name, "truncated: setup header needs %zu bytes, file has %zu", hdr_end, len);
	uint8_t lflags = img[HDR_LOADFLAGS];
	if (!(lflags & LF_LOADED_HIGH))
		return boot_fail(err, errlen, name, "zImage (not LOADED_HIGH) is not supported; use a bzImage");

	unsigned setup_sects = img[HDR_SETUP_SECTS];
	if (setup_sects == 0)
		setup_sects = 4; /* boot.rst: 0 means 4 */
	size_t setup_size = (size_t)(setup_sects + 1) * 512;
	if (setup_size < hdr_end)
		return boot_fail(err, errlen, name, "setup_sects %u too small to hold the setup header",
				 img[HDR_SETUP_SECTS]);
	if (setup_size >= len)
		return boot_fail(err, errlen, name,
				 "truncated: no protected-mode kernel after %zu bytes of setup (file has %zu)",
				 setup_size, len);
	uint64_t pm_len = len - setup_size;
	/* syssize counts 16-byte paragraphs (a 32-bit field from 2.04). */
	uint64_t syssize = version >= 0x0204 ? rd32(img + HDR_SYSSIZE) : rd16(img + HDR_SYSSIZE);
	if (syssize * 16 > pm_len)
		return boot_fail(err, errlen, name,
				 "truncated: header says the kernel has %llu bytes, file has %llu after setup",
				 (unsigned long long)(syssize * 16), (unsigned long long)pm_len);

	uint32_t ram = g->size;
	uint64_t kstart = BOOT_KERNEL_ADDR, kend = kstart + pm_len;
	/* 2.10+: the kernel decompresses at its runtime address and needs
	 * init_size bytes there before it reads the memory map; keep the
	 * initrd out. The runtime address is pref_address, or for a
	 * relocatable kernel our load address rounded up to kernel_alignment
	 * if that is higher (arch/x86/boot/compressed/head_32.S). */
	if (version >= 0x020a) {
		uint64_t pref = rd64(img + HDR_PREF_ADDRESS);
		/* A 32-bit kernel runs below 4 GiB; refusing larger values
		 * here also keeps pref + init_size from wrapping 2^64. */
		if (pref > 0xffffffffu)
			return boot_fail(err, errlen, name, "pref_address 0x%llx is not below 4 GiB",
					 (unsigned long long)pref);
		uint64_t rt = kstart, align = rd32(img + HDR_KERNEL_ALIGNMENT);
		if (img[HDR_RELOCATABLE] && align && !(align & (align - 1)))
			rt = (kstart + align - 1) & ~(align - 1);
		if (pref > rt)
			rt = pref;
		uint64_t rt_end = rt + rd32(img + HDR_INIT_SIZE);
		if (rt_end > kend)
			kend = rt_end;
	}
	if (kend > ram)
		return boot_fail(err, errlen, name, "kernel needs %llu KiB of RAM up to 0x%llx, guest has %u KiB",
				 (unsigned long long)(kend / 1024), (unsigned long long)kend, ram / 1024);

	/* Command line: 255 bytes before 2.06, cmdline_size from then on
	 * (both exclude the terminating NUL); bounded by our window. */
	const char *cl = cmdline ? cmdline : "";
	size_t cl_len = strlen(cl);
	uint64_t cl_max = version >= 0x0206 ? rd32(img + HDR_CMDLINE_SIZE) : 255;
	if (cl_max > CMDLINE_MAX)
		cl_max = CMDLINE_MAX;
	if (cl_len > cl_max)
		return boot_fail(err, errlen, name, "command line too long (%zu bytes, at most %llu)", cl_len,
				 (unsigned long long)cl_max);

	/* Initrd: page-aligned, as high as possible below
	 * min(RAM, initrd_addr_max + 1), above everything the kernel uses. */
	uint64_t rd_addr = 0;
	if (initrd_len) {
		const char *rn = initrd_name ? initrd_name : "initrd";
		if (!initrd)
			return boot_fail(err, errlen, rn, "initrd has no data");
		uint64_t max = version >= 0x0203 ? rd32(img + HDR_INITRD_ADDR_MAX) : 0x37ffffffu;
		uint64_t top = max + 1 < ram ? max + 1 : ram;
		uint64_t floor = (kend + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		if ((uint64_t)initrd_len > top || ((top - initrd_len) & ~(uint64_t)(PAGE - 1)) < floor)
			return boot_fail(err, errlen, rn,
					 "initrd does not fit: %zu bytes between the kernel's end 0x%llx and 0x%llx",
					 initrd_len, (unsigned long long)floor, (unsigned long long)top);
		rd_addr = (top - initrd_len) & ~(uint64_t)(PAGE - 1);
	}

	/* All checks passed: write RAM. */
	uint8_t *zp = g->ram + BOOT_INFO_ADDR;
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + HDR_START, img + HDR_START, hdr_end - HDR_START);
	/* screen_info: an 80x25 text mode that is not VGA, so the kernel
	 * neither trusts a VGA BIOS nor finds a frame buffer. */
	zp[ZP_VIDEO_MODE] = 3;
	zp[ZP_VIDEO_COLS] = 80;
	zp[ZP_VIDEO_LINES] = 25;
	zp[ZP_VIDEO_ISVGA] = 0;
	wr16(zp + ZP_VIDEO_POINTS, 16);
	uint32_t ext_k = ram > BOOT_HOLE_END ? (ram - BOOT_HOLE_END) / 1024 : 0;
	wr16(zp + ZP_EXT_MEM_K, (uint16_t)(ext_k > 0xfc00 ? 0xfc00 : ext_k)); /* INT 15h AH=88h caps at 63 MiB */
	wr32(zp + ZP_ALT_MEM_K, ext_k);
	struct boot_mem_range mm[5];
	int nmm = boot_memmap(ram, g->high, mm, 5);
	zp[ZP_E820_ENTRIES] = (uint8_t)nmm;
	for (int i = 0; i < nmm; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;
		wr64(e, mm[i].base);
		wr64(e + 8, mm[i].len);
		wr32(e + 16, mm[i].type);
	}
	/* Header fields the loader writes (boot.rst, "Details of header fields"). */
	zp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined loader */
	zp[HDR_LOADFLAGS] = (uint8_t)((lflags | LF_CAN_USE_HEAP) & ~LF_KEEP_SEGMENTS);
	wr16(zp + HDR_HEAP_END_PTR, HEAP_END - 0x200);
	wr32(zp + HDR_CODE32_START, (uint32_t)kstart);
	wr32(zp + HDR_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
	wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)rd_addr);
	wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
	if (hdr_end >= HDR_SETUP_DATA + 8)
		wr64(zp + HDR_SETUP_DATA, 0);
	/* The BIOS data area words a PC BIOS leaves and Linux reads when it
	 * reserves the EBDA and scans for MP tables: base memory in KiB
	 * (0x413) and the EBDA segment (0x40E), matching the e820 map. */
	wr16(g->ram + 0x413, BOOT_LOW_END / 1024);
	wr16(g->ram + 0x40e, BOOT_LOW_END >> 4);
	memcpy(g->ram + BOOT_CMDLINE_ADDR, cl, cl_len + 1);
	memcpy(g->ram + kstart, img + setup_size, (size_t)pm_len);
	if (initrd_len)
		memcpy(g->ram + rd_addr, initrd, initrd_len);

	/* boot.rst, "32-bit boot protocol": flat segments (__BOOT_CS 0x10,
	 * __BOOT_DS 0x18, set by the board), IF=0, ESI = boot_params,
	 * EBP = EDI = EBX = 0, jump to the 32-bit entry. */
	memset(out, 0, sizeof *out);
	out->mode = BOOT_FLAT32;
	out->eip = (uint32_t)kstart;
	out->esi = BOOT_INFO_ADDR;
	out->esp = BOOT_STACK_TOP;
	return 0;
}
