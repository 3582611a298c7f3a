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
	struct guest_ram g = {calloc(1, 256u << 20), 256u << 20};
	struct boot_entry e;
	char err[256] = "";
	const char *cl = "console=ttyS0 reboot=k panic=-1 nokaslr tsc=reliable";
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
	} else {
		printf("%s\n", err);
	}
	/* The same kernel with too little RAM must be refused, not loaded. */
	struct guest_ram small = {calloc(1, 8u << 20), 8u << 20};
	CHECK(linux_load(&small, kp, k, kn, cl, rp, rd, rn, &e, err, sizeof err) == -1 && strstr(err, kp));
	free(small.ram);
	free(g.ram);
	free(k);
	free(rd);
	return bad ? 1 : 0;
}
