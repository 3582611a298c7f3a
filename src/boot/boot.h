/* Boot loaders: put a guest image into RAM and say how the CPU starts.
 *
 * Loaders know nothing of engines: they write guest RAM and fill a
 * struct boot_entry, which the board applies to the CPU.
 */
#ifndef RINGVM_BOOT_H
#define RINGVM_BOOT_H

#include <stddef.h>
#include <stdint.h>

enum boot_mode {
	BOOT_RESET,  /* real mode at the reset vector (a BIOS runs) */
	BOOT_FLAT32, /* flat 32-bit protected mode, paging off, IF=0 */
};

struct boot_entry {
	enum boot_mode mode;
	uint32_t eip;
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp, esp;
};

struct guest_ram {
	uint8_t *ram;
	uint32_t size; /* bytes from physical 0, where loaders put things */
	uint64_t high; /* bytes more from 4 GiB up (only reported) */
};

/* Each returns 0, or -1 with a message naming the file and the reason in
 * err. Nothing is written outside [ram, ram+size). A multiboot kernel's
 * command line is "NAME CMDLINE": name is its argv[0], as GRUB and QEMU
 * pass the kernel's path; Linux gets cmdline alone. */
int multiboot_load(struct guest_ram *g, const char *name, const uint8_t *img, size_t len,
		   const char *cmdline, const char *const *mod_names, const uint8_t *const *mods,
		   const size_t *mod_lens, int nmods, struct boot_entry *out, char *err, size_t errlen);
int linux_load(struct guest_ram *g, const char *name, const uint8_t *img, size_t len,
	       const char *cmdline, const char *initrd_name, const uint8_t *initrd, size_t initrd_len,
	       struct boot_entry *out, char *err, size_t errlen);
/* Recognise the image type: 1 multiboot, 2 Linux bzImage, 0 unknown. */
int boot_detect(const uint8_t *img, size_t len);

/* Where the loaders put their own structures (docs/boot.md). Guest images
 * must not load over them; they lie in the usable low 640 KiB. */
#define BOOT_INFO_ADDR 0x10000u    /* multiboot info / Linux boot_params */
#define BOOT_CMDLINE_ADDR 0x1e000u /* Linux command line (8 KiB window) */
#define BOOT_STACK_TOP 0x10000u    /* initial ESP (the guest sets its own) */
#define BOOT_KERNEL_ADDR 0x100000u /* Linux protected-mode kernel */

/* The board's physical memory map as the loaders report it (e820 types:
 * 1 usable RAM, 2 reserved). */
struct boot_mem_range {
	uint64_t base, len;
	uint32_t type;
};
/* Fills out[0..max) with the map for ram_size bytes of RAM; returns the
 * number of ranges (at most 4). */
int boot_memmap(uint32_t ram_size, uint64_t ram_high, struct boot_mem_range *out, int max);

#endif
