/* libFuzzer target: the boot loaders (multiboot ELF / a.out kludge, Linux
 * bzImage) and image detection, on guest RAM of several sizes with
 * inaccessible guard pages on both sides: a loader must either place the
 * image entirely inside RAM or fail with a message.
 *
 * Input: [loader+RAM size][cmdline length][initrd length, 2 bytes LE]
 * [cmdline][initrd][kernel image...]; docs/fuzzing.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/boot.h"

#define PAGE 4096u

static const uint32_t ram_sizes[8] = {
	64u << 10, 640u << 10, 1u << 20, (1u << 20) + PAGE, 2u << 20, 4u << 20, 16u << 20, 33u << 20,
};
static uint8_t *rams[8];

/* RAM between two PROT_NONE pages: any stray access faults at once. */
static uint8_t *guarded(uint32_t size)
{
	uint8_t *p = mmap(NULL, size + 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		__builtin_trap();
	mprotect(p, PAGE, PROT_NONE);
	mprotect(p + PAGE + size, PAGE, PROT_NONE);
	return p + PAGE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 4)
		return 0;
	int loader = data[0] & 3, sz = (data[0] >> 2) & 7;
	size_t cl = data[1], il = (size_t)(data[2] | data[3] << 8);
	data += 4, len -= 4;
	if (cl > len)
		cl = len;
	char cmdline[256];
	memcpy(cmdline, data, cl);
	cmdline[cl] = 0;
	data += cl, len -= cl;
	if (il > len)
		il = len;
	const uint8_t *initrd = il ? data : NULL;
	data += il, len -= il;

	if (!rams[sz])
		rams[sz] = guarded(ram_sizes[sz]);
	struct guest_ram g = {rams[sz], ram_sizes[sz], 0};
	struct boot_entry be;
	char err[512];
	if (loader == 0)
		loader = boot_detect(data, len);
	const char *names[1] = {"initrd"};
	const uint8_t *mods[1] = {initrd};
	size_t lens[1] = {il};
	int r = -1;
	if (loader == 1)
		r = multiboot_load(&g, "kernel", data, len, cmdline, names, mods, lens, initrd ? 1 : 0, &be, err,
				   sizeof(err));
	else if (loader == 2)
		r = linux_load(&g, "kernel", data, len, cmdline, "initrd", initrd, il, &be, err, sizeof(err));
	if (r < 0 && loader)
		(void)strlen(err); /* the message must be a terminated string */
	struct boot_mem_range map[4];
	boot_memmap(g.size, g.high, map, 4);
	return 0;
}
