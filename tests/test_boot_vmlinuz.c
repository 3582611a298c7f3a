/* The Linux loader on the real Debian kernel of the Linux guest
 * (scripts/linux-guest.sh): detection, placement of the kernel, the
 * initrd above the kernel's decompression area, and the zero page. Skips
 * when the guest has not been built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = n > 0 ? malloc((size_t)n) : NULL;
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = p ? (size_t)n : 0;
	return p;
}

static uint32_t r32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* RINGVM_QEMU_SHIM=DIR (scripts/linux-guest.sh --qemu-loader): write what
 * this loader put in RAM, for QEMU to boot the kernel from exactly that
 * state, as a cross-check of the loader while our own CPU cannot yet:
 * low.bin = RAM [0, 0x20000) (BIOS data area, zero page, command line),
 * kernel.bin = the kernel at 0x100000, initrd.bin = the initrd, and
 * shim.elf, a multiboot kernel for QEMU at 0x7000000 that copies the three
 * modules into place and enters Linux as ringvm's board does. Its code,
 * assembled at 0x7000000 (GNU as, AT&T syntax):
 *
 *	.long 0x1badb002, 0, -0x1badb002   multiboot header (ELF kernel)
 *	_start: cli; cld; mov $stack_top, %esp
 *	mov 24(%ebx), %ebp                 mods_addr
 *	xor %edx, %edx
 *	2: mov 0(%ebp,%edx,8), %esi; mov 4(%ebp,%edx,8), %ecx; sub %esi, %ecx
 *	mov dests(,%edx,4), %edi; rep movsb
 *	add $2, %edx; cmp $6, %edx; jne 2b
 *	lgdt gdtr; ljmp $0x10, $1f
 *	1: mov $0x18, %eax; mov %eax, %ds/%es/%ss/%fs/%gs
 *	mov $0x10000, %esi; mov $0x10000, %esp
 *	xor %ebx, %ebx; xor %ebp, %ebp; xor %edi, %edi
 *	mov $0x100000, %eax; jmp *%eax
 *	.p2align 3
 *	dests: .long 0, 0, 0x100000, 0, <initrd address>, 0   (offset 0x68)
 *	gdt: .quad 0, 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
 *	gdtr: .word 31; .long gdt
 *	.p2align 4; .space 4096; stack_top:              (0x70010b0)
 */
#define SHIM_BASE 0x7000000u
#define SHIM_INITRD_SLOT 0x78
#define SHIM_MEMSZ 0x10b0u
static const uint8_t shim_code[] = {
	0x02, 0xb0, 0xad, 0x1b, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x4f, 0x52, 0xe4,
	0xfa, 0xfc, 0xbc, 0xb0, 0x10, 0x00, 0x07, 0x8b, 0x6b, 0x18, 0x31, 0xd2,
	0x8b, 0x74, 0xd5, 0x00, 0x8b, 0x4c, 0xd5, 0x04, 0x29, 0xf1, 0x8b, 0x3c,
	0x95, 0x68, 0x00, 0x00, 0x07, 0xf3, 0xa4, 0x83, 0xc2, 0x02, 0x83, 0xfa,
	0x06, 0x75, 0xe5, 0x0f, 0x01, 0x15, 0xa0, 0x00, 0x00, 0x07, 0xea, 0x41,
	0x00, 0x00, 0x07, 0x10, 0x00, 0xb8, 0x18, 0x00, 0x00, 0x00, 0x8e, 0xd8,
	0x8e, 0xc0, 0x8e, 0xd0, 0x8e, 0xe0, 0x8e, 0xe8, 0xbe, 0x00, 0x00, 0x01,
	0x00, 0xbc, 0x00, 0x00, 0x01, 0x00, 0x31, 0xdb, 0x31, 0xed, 0x31, 0xff,
	0xb8, 0x00, 0x00, 0x10, 0x00, 0xff, 0xe0, 0x90, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00,
	0x00, 0x92, 0xcf, 0x00, 0x1f, 0x00, 0x80, 0x00, 0x00, 0x07,
};

static void w32le(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }

static int put_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;
	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static int write_shim(const char *dir, const struct guest_ram *g, uint32_t kernel_len, uint32_t rd, uint32_t rd_len)
{
	/* ELF32 header, one PT_LOAD at SHIM_BASE, the code at file offset 0x100. */
	uint8_t elf[0x100 + sizeof shim_code] = {0x7f, 'E', 'L', 'F', 1, 1, 1};
	elf[16] = 2, elf[18] = 3, elf[20] = 1;
	w32le(elf + 24, SHIM_BASE + 12); /* _start */
	w32le(elf + 28, 52);
	elf[40] = 52, elf[42] = 32, elf[44] = 1;
	uint8_t *ph = elf + 52;
	w32le(ph, 1), w32le(ph + 4, 0x100), w32le(ph + 8, SHIM_BASE), w32le(ph + 12, SHIM_BASE);
	w32le(ph + 16, sizeof shim_code), w32le(ph + 20, SHIM_MEMSZ), w32le(ph + 24, 7), w32le(ph + 28, 16);
	memcpy(elf + 0x100, shim_code, sizeof shim_code);
	w32le(elf + 0x100 + SHIM_INITRD_SLOT, rd);
	if (put_file(dir, "shim.elf", elf, sizeof elf) || put_file(dir, "low.bin", g->ram, 0x20000) ||
	    put_file(dir, "kernel.bin", g->ram + 0x100000, kernel_len) ||
	    put_file(dir, "initrd.bin", g->ram + rd, rd_len))
		return -1;
	printf("wrote the QEMU cross-check to %s\n", dir);
	return 0;
}

int main(void)
{
	const char *dir = getenv("LINUX_GUEST_DIR") ? getenv("LINUX_GUEST_DIR") : "guest-linux";
	char kp[512], rp[512];
	snprintf(kp, sizeof kp, "%s/vmlinuz", dir);
	snprintf(rp, sizeof rp, "%s/initrd.gz", dir);
	size_t kn, rn;
	uint8_t *k = slurp(kp, &kn), *rd = slurp(rp, &rn);
	if (!k || !rd) {
		printf("skip: %s or %s missing (make linux-guest builds them)\n", kp, rp);
		return 77;
	}
	int bad = 0;
#define CHECK(c) do { if (!(c)) { printf("CHECK failed: %s\n", #c); bad++; } } while (0)
	CHECK(boot_detect(k, kn) == 2);
	struct guest_ram g = {calloc(1, 256u << 20), 256u << 20, 0};
	struct boot_entry e;
	char err[256] = "";
	const char *cl = getenv("RINGVM_APPEND") ? getenv("RINGVM_APPEND") : "console=ttyS0 reboot=k panic=-1 nokaslr tsc=reliable";
	int rc = linux_load(&g, kp, k, kn, cl, rp, rd, rn, &e, err, sizeof err);
	CHECK(rc == 0);
	if (rc == 0) {
		const uint8_t *zp = g.ram + e.esi;
		unsigned ver = zp[0x206] | zp[0x207] << 8;
		unsigned sects = zp[0x1f1] ? zp[0x1f1] : 4;
		uint32_t ri = r32(zp + 0x218), rs = r32(zp + 0x21c);
		uint32_t pref = r32(zp + 0x258), init = r32(zp + 0x260);
		printf("%s: protocol %u.%02u, setup_sects %u, pm kernel %zu bytes, pref_address 0x%x, init_size 0x%x\n",
		       kp, ver >> 8, ver & 0xff, sects, kn - (sects + 1) * 512, pref, init);
		printf("initrd %u bytes at 0x%x, cmdline at 0x%x, entry 0x%x esi 0x%x\n", rs, ri, r32(zp + 0x228), e.eip,
		       e.esi);
		CHECK(ver >= 0x020a && e.eip == 0x100000);
		CHECK(memcmp(g.ram + 0x100000, k + (sects + 1) * 512, kn - (sects + 1) * 512) == 0);
		CHECK(rs == rn && memcmp(g.ram + ri, rd, rn) == 0);
		CHECK(ri >= (pref > 0x100000 ? pref : 0x100000) + init && ri + rs <= g.size);
		CHECK(strcmp((char *)g.ram + r32(zp + 0x228), cl) == 0);
		const char *shim = getenv("RINGVM_QEMU_SHIM");
		if (shim && write_shim(shim, &g, (uint32_t)(kn - (sects + 1) * 512), ri, rs) < 0) {
			printf("cannot write the QEMU cross-check to %s\n", shim);
			bad++;
		}
	} else {
		printf("%s\n", err);
	}
	/* The same kernel with too little RAM must be refused, not loaded. */
	struct guest_ram small = {calloc(1, 8u << 20), 8u << 20, 0};
	CHECK(linux_load(&small, kp, k, kn, cl, rp, rd, rn, &e, err, sizeof err) == -1 && strstr(err, kp));
	free(small.ram);
	free(g.ram);
	free(k);
	free(rd);
	return bad ? 1 : 0;
}
