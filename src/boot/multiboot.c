/* Multiboot v1 loader (the Multiboot Specification 0.6.96).
 *
 * Kernels come as ELF32 (PT_LOAD segments by physical address) or with
 * the a.out kludge (header flag 16). The multiboot info structure, the
 * memory map, the command line, the module list and all strings live in
 * one block at BOOT_INFO_ADDR; modules go page-aligned after the kernel.
 * Everything is validated before the first byte of RAM is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/bootutil.h"

#define MB_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_MAX_SEGS 64
#define MB_MAX_MODS 256
#define PAGE 4096u

/* Header flags (spec 3.1.2). Bits 0-15 are requirements: a loader that
 * cannot meet one must refuse the kernel. */
#define MBH_PAGE_ALIGN (1u << 0)
#define MBH_MEMINFO (1u << 1)
#define MBH_VIDEO (1u << 2)
#define MBH_AOUT_KLUDGE (1u << 16)

/* Info flags (spec 3.3). */
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)
#define MBI_SIZE 128 /* 116 bytes defined, rounded up */

struct mb_seg {
	uint64_t pa, filesz, memsz;
	uint64_t off; /* in the file */
};

struct mb_kernel {
	struct mb_seg seg[MB_MAX_SEGS];
	int nseg;
	uint64_t entry;
};

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* Spec 3.1.1: a 32-bit aligned header in the first 8192 bytes. */
static long find_header(const uint8_t *img, size_t len)
{
	size_t lim = len < 8192 ? len : 8192;
	for (size_t off = 0; off + 12 <= lim; off += 4)
		if (rd32(img + off) == MB_MAGIC &&
		    (uint32_t)(rd32(img + off) + rd32(img + off + 4) + rd32(img + off + 8)) == 0)
			return (long)off;
	return -1;
}

/* Spec 3.1.3: the address fields of the a.out kludge. */
static int parse_aout(const char *name, const uint8_t *img, size_t len, size_t hoff,
		      struct mb_kernel *k, char *err, size_t errlen)
{
	if (hoff + 32 > len)
		return boot_fail(err, errlen, name, "truncated multiboot header (a.out kludge fields missing)");
	uint32_t header_addr = rd32(img + hoff + 12), load_addr = rd32(img + hoff + 16);
	uint32_t load_end = rd32(img + hoff + 20), bss_end = rd32(img + hoff + 24);
	uint32_t entry = rd32(img + hoff + 28);
	if (load_addr > header_addr)
		return boot_fail(err, errlen, name, "a.out kludge: load_addr 0x%x above header_addr 0x%x",
				 load_addr, header_addr);
	if (header_addr - load_addr > hoff)
		return boot_fail(err, errlen, name, "a.out kludge: load_addr 0x%x lies before the start of the file",
				 load_addr);
	uint64_t foff = hoff - (header_addr - load_addr);
	uint64_t size;
	if (load_end == 0) {
		size = len - foff; /* text and data fill the rest of the file */
	} else {
		if (load_end < load_addr)
			return boot_fail(err, errlen, name, "a.out kludge: load_end_addr 0x%x below load_addr 0x%x",
					 load_end, load_addr);
		size = load_end - load_addr;
		if (foff + size > len)
			return boot_fail(err, errlen, name,
					 "truncated: a.out kludge wants %llu bytes from offset %llu, file has %zu",
					 (unsigned long long)size, (unsigned long long)foff, len);
	}
	uint64_t memsz = size;
	if (bss_end) {
		if (bss_end < load_addr + size)
			return boot_fail(err, errlen, name, "a.out kludge: bss_end_addr 0x%x below the loaded image",
					 bss_end);
		memsz = bss_end - (uint64_t)load_addr;
	}
	if (entry < load_addr || entry >= load_addr + memsz)
		return boot_fail(err, errlen, name, "a.out kludge: entry_addr 0x%x outside the loaded image", entry);
	k->seg[0] = (struct mb_seg){load_addr, size, memsz, foff};
	k->nseg = 1;
	k->entry = entry;
	return 0;
}

/* ELF32 (System V ABI, i386 supplement): PT_LOAD segments at p_paddr. */
static int parse_elf(const char *name, const uint8_t *img, size_t len, struct mb_kernel *k, char *err,
		     size_t errlen)
{
	if (len < 52 || memcmp(img, "\177ELF", 4) != 0)
		return boot_fail(err, errlen, name, "not an ELF file and no a.out kludge in the multiboot header");
	if (img[4] != 1 || img[5] != 1)
		return boot_fail(err, errlen, name, "not a little-endian ELF32 file");
	if (rd16(img + 16) != 2 || rd16(img + 18) != 3)
		return boot_fail(err, errlen, name, "not an i386 ELF executable (type %u, machine %u)",
				 rd16(img + 16), rd16(img + 18));
	uint32_t e_entry = rd32(img + 24), phoff = rd32(img + 28);
	unsigned phentsize = rd16(img + 42), phnum = rd16(img + 44);
	if (phnum == 0)
		return boot_fail(err, errlen, name, "ELF file has no program headers");
	if (phentsize < 32)
		return boot_fail(err, errlen, name, "bad ELF program header size %u", phentsize);
	if ((uint64_t)phoff + (uint64_t)phnum * phentsize > len)
		return boot_fail(err, errlen, name, "truncated: ELF program headers run past the end of the file");
	k->nseg = 0;
	int have_entry = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = img + phoff + (size_t)i * phentsize;
		if (rd32(ph) != 1) /* PT_LOAD */
			continue;
		uint32_t off = rd32(ph + 4), vaddr = rd32(ph + 8), paddr = rd32(ph + 12);
		uint32_t filesz = rd32(ph + 16), memsz = rd32(ph + 20);
		if (filesz > memsz)
			return boot_fail(err, errlen, name, "ELF segment %u: file size 0x%x exceeds memory size 0x%x", i,
					 filesz, memsz);
		if (memsz == 0)
			continue;
		if ((uint64_t)off + filesz > len)
			return boot_fail(err, errlen, name, "truncated: ELF segment %u runs past the end of the file", i);
		if (k->nseg == MB_MAX_SEGS)
			return boot_fail(err, errlen, name, "more than %d loadable ELF segments", MB_MAX_SEGS);
		k->seg[k->nseg++] = (struct mb_seg){paddr, filesz, memsz, off};
		/* An entry inside a segment's virtual range is translated
		 * through it, as GRUB and QEMU do for higher-half kernels. */
		if (!have_entry && e_entry >= vaddr && (uint64_t)e_entry < (uint64_t)vaddr + memsz) {
			k->entry = (uint64_t)paddr + (e_entry - vaddr);
			have_entry = 1;
		}
	}
	if (k->nseg == 0)
		return boot_fail(err, errlen, name, "ELF file has no loadable segments");
	/* Otherwise it is taken as physical, as QEMU's -kernel takes it:
	 * kernels linked high but entered before paging (xv6 and many
	 * teaching kernels) give the physical address of their entry. We
	 * still ask that it land in what was loaded. */
	for (int i = 0; i < k->nseg && !have_entry; i++)
		if (e_entry >= k->seg[i].pa && e_entry < k->seg[i].pa + k->seg[i].memsz) {
			k->entry = e_entry;
			have_entry = 1;
		}
	if (!have_entry)
		return boot_fail(err, errlen, name,
				 "ELF entry point 0x%x is in no loadable segment (as a virtual or a physical address)",
				 e_entry);
	return 0;
}

/* Moves [*a, *a+len) up past every forbidden range it meets. */
static void place_clear(uint64_t *a, uint64_t len, const uint64_t (*forbid)[2], int nforbid)
{
	for (int moved = 1, guard = 0; moved && guard < 1000; guard++) {
		moved = 0;
		for (int i = 0; i < nforbid; i++)
			if (ranges_overlap(*a, len ? len : 1, forbid[i][0], forbid[i][1])) {
				*a = align_up(forbid[i][0] + forbid[i][1], PAGE);
				moved = 1;
			}
	}
}

/* Appends string s at *sp in the info block; returns its guest address. */
static uint32_t put_str(uint8_t *info, uint64_t *sp, uint64_t info_pa, const char *s)
{
	size_t n = strlen(s) + 1;
	uint64_t at = *sp;
	memcpy(info + at, s, n);
	*sp += n;
	return (uint32_t)(info_pa + at);
}

int multiboot_load(struct guest_ram *g, const char *name, const uint8_t *img, size_t len,
		   const char *cmdline, const char *const *mod_names, const uint8_t *const *mods,
		   const size_t *mod_lens, int nmods, struct boot_entry *out, char *err, size_t errlen)
{
	if (!g || !g->ram || !img || !out)
		return boot_fail(err, errlen, name, "no image or no RAM");
	long h = find_header(img, len);
	if (h < 0)
		return boot_fail(err, errlen, name, "no multiboot header in the first 8 KiB");
	size_t hoff = (size_t)h;
	uint32_t flags = rd32(img + hoff + 4);
	if (flags & MBH_VIDEO)
		return boot_fail(err, errlen, name,
				 "requires a video mode (multiboot header flag 2), which ringvm does not provide");
	if (flags & 0xffffu & ~(MBH_PAGE_ALIGN | MBH_MEMINFO))
		return boot_fail(err, errlen, name, "requires unsupported multiboot features (header flags 0x%x)",
				 flags & 0xffffu);
	if (nmods < 0 || nmods > MB_MAX_MODS || (nmods > 0 && (!mods || !mod_lens)))
		return boot_fail(err, errlen, name, "bad module list (%d modules, at most %d)", nmods, MB_MAX_MODS);

	struct mb_kernel *k = calloc(1, sizeof *k);
	if (!k)
		return boot_fail(err, errlen, name, "out of memory");
	int rc = -1;
	uint8_t *info = NULL;
	char *cl = NULL;
	uint64_t *mod_at = NULL;
	if ((flags & MBH_AOUT_KLUDGE ? parse_aout(name, img, len, hoff, k, err, errlen)
				     : parse_elf(name, img, len, k, err, errlen)) < 0)
		goto out;

	uint32_t ram = g->size;
	uint64_t kend = 0;
	for (int i = 0; i < k->nseg; i++) {
		const struct mb_seg *s = &k->seg[i];
		if (!boot_usable(ram, s->pa, s->memsz)) {
			boot_fail(err, errlen, name, "segment at 0x%llx (+0x%llx) is outside usable RAM (%u KiB)",
				  (unsigned long long)s->pa, (unsigned long long)s->memsz, ram / 1024);
			goto out;
		}
		if (s->pa + s->memsz > kend)
			kend = s->pa + s->memsz;
	}

	/* The command line starts with the kernel's path, as GRUB and
	 * QEMU's -kernel give it ("PATH APPEND"): kernels read it as argv[0]. */
	const char *append = cmdline ? cmdline : "";
	const char *argv0 = name ? name : "kernel";
	size_t cl_len = strlen(argv0) + 1 + strlen(append);
	cl = malloc(cl_len + 1);
	if (!cl) {
		boot_fail(err, errlen, name, "out of memory");
		goto out;
	}
	snprintf(cl, cl_len + 1, "%s %s", argv0, append);

	/* The info block: header, memory map, module list, then strings. */
	static const char loader[] = "ringvm";
	struct boot_mem_range mm[5];
	int nmm = boot_memmap(ram, g->high, mm, 5);
	uint64_t mmap_off = MBI_SIZE, mods_off = mmap_off + 24u * (unsigned)nmm;
	uint64_t str_off = mods_off + 16u * (unsigned)nmods;
	uint64_t size = str_off + sizeof loader + strlen(cl) + 1;
	for (int i = 0; i < nmods; i++)
		size += (mod_names && mod_names[i] ? strlen(mod_names[i]) : 0) + 1;
	uint64_t info_pa = BOOT_INFO_ADDR;
	if (!boot_usable(ram, info_pa, size) || info_pa + size > BOOT_LOW_END) {
		boot_fail(err, errlen, name, "command line and module names too long (%llu bytes of boot information)",
			  (unsigned long long)size);
		goto out;
	}
	for (int i = 0; i < k->nseg; i++)
		if (ranges_overlap(k->seg[i].pa, k->seg[i].memsz, info_pa, size)) {
			boot_fail(err, errlen, name,
				  "segment at 0x%llx overlaps the loader's boot information at 0x%llx-0x%llx",
				  (unsigned long long)k->seg[i].pa, (unsigned long long)info_pa,
				  (unsigned long long)(info_pa + size));
			goto out;
		}

	/* Modules: page-aligned after the kernel, clear of the info block,
	 * the low-memory hole and every kernel segment. Page alignment is
	 * what header flag 0 asks for, and harmless when it does not. */
	uint64_t (*forbid)[2] = NULL;
	int nforbid = 0;
	forbid = calloc((size_t)k->nseg + 2, sizeof *forbid);
	mod_at = calloc((size_t)nmods + 1, sizeof *mod_at);
	if (!forbid || !mod_at) {
		free(forbid);
		boot_fail(err, errlen, name, "out of memory");
		goto out;
	}
	forbid[nforbid][0] = info_pa, forbid[nforbid++][1] = size;
	forbid[nforbid][0] = BOOT_LOW_END, forbid[nforbid++][1] = BOOT_HOLE_END - BOOT_LOW_END;
	for (int i = 0; i < k->nseg; i++)
		forbid[nforbid][0] = k->seg[i].pa, forbid[nforbid++][1] = k->seg[i].memsz;
	uint64_t cursor = align_up(kend, PAGE);
	for (int i = 0; i < nmods; i++) {
		uint64_t ml = mod_lens[i], a = cursor;
		if (ml && !mods[i]) {
			free(forbid);
			boot_fail(err, errlen, name, "module %d has no data", i);
			goto out;
		}
		place_clear(&a, ml, (const uint64_t(*)[2])forbid, nforbid);
		if (a + ml > ram || ml > UINT32_MAX) {
			free(forbid);
			boot_fail(err, errlen, name, "module %s (%llu bytes) does not fit in RAM (%u KiB)",
				  mod_names && mod_names[i] ? mod_names[i] : "?", (unsigned long long)ml, ram / 1024);
			goto out;
		}
		mod_at[i] = a;
		cursor = align_up(a + ml, PAGE);
	}
	free(forbid);

	/* Build the info block. */
	info = calloc(1, size);
	if (!info) {
		boot_fail(err, errlen, name, "out of memory");
		goto out;
	}
	uint64_t sp = str_off;
	uint32_t name_pa = put_str(info, &sp, info_pa, loader);
	uint32_t cl_pa = put_str(info, &sp, info_pa, cl);
	for (int i = 0; i < nmods; i++) {
		uint8_t *m = info + mods_off + 16u * (unsigned)i;
		wr32(m, (uint32_t)mod_at[i]);
		wr32(m + 4, (uint32_t)(mod_at[i] + mod_lens[i]));
		wr32(m + 8, put_str(info, &sp, info_pa, mod_names && mod_names[i] ? mod_names[i] : ""));
	}
	for (int i = 0; i < nmm; i++) {
		uint8_t *e = info + mmap_off + 24u * (unsigned)i;
		wr32(e, 20); /* size of the entry, not counting this field */
		wr64(e + 4, mm[i].base);
		wr64(e + 12, mm[i].len);
		wr32(e + 20, mm[i].type);
	}
	uint32_t iflags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME | (nmods ? MBI_MODS : 0);
	wr32(info + 0, iflags);
	wr32(info + 4, (ram < BOOT_LOW_END ? ram : BOOT_LOW_END) / 1024); /* mem_lower, KiB from 0 */
	wr32(info + 8, ram > BOOT_HOLE_END ? (ram - BOOT_HOLE_END) / 1024 : 0); /* mem_upper, KiB from 1 MiB */
	wr32(info + 16, cl_pa);
	wr32(info + 20, (uint32_t)nmods);
	wr32(info + 24, nmods ? (uint32_t)(info_pa + mods_off) : 0);
	wr32(info + 44, 24u * (unsigned)nmm);
	wr32(info + 48, (uint32_t)(info_pa + mmap_off));
	wr32(info + 64, name_pa);

	/* All checks passed: write RAM. */
	for (int i = 0; i < k->nseg; i++) {
		const struct mb_seg *s = &k->seg[i];
		memcpy(g->ram + s->pa, img + s->off, (size_t)s->filesz);
		memset(g->ram + s->pa + s->filesz, 0, (size_t)(s->memsz - s->filesz));
	}
	for (int i = 0; i < nmods; i++)
		if (mod_lens[i])
			memcpy(g->ram + mod_at[i], mods[i], mod_lens[i]);
	memcpy(g->ram + info_pa, info, (size_t)size);

	/* Spec 3.2: machine state on entry. */
	memset(out, 0, sizeof *out);
	out->mode = BOOT_FLAT32;
	out->eip = (uint32_t)k->entry;
	out->eax = MB_BOOT_MAGIC;
	out->ebx = (uint32_t)info_pa;
	out->esp = BOOT_STACK_TOP;
	rc = 0;
out:
	free(cl);
	free(info);
	free(mod_at);
	free(k);
	return rc;
}
