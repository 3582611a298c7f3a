/* Guest RAM and ROM images (see ram.h). */
#include "machine/ram.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int ram_create(struct ram *r, uint64_t size, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (size < RAM_MIN || size > RAM_MAX) {
		snprintf(err, errlen, "memory size %llu bytes is out of range (2 MiB to 16 GiB)",
			 (unsigned long long)size);
		return -1;
	}
	if (size % RAM_PAGE) {
		snprintf(err, errlen, "memory size %llu bytes is not a multiple of 4 KiB",
			 (unsigned long long)size);
		return -1;
	}
	int fd = memfd_create("ringvm-ram", MFD_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "guest RAM: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		snprintf(err, errlen, "guest RAM: cannot size to %llu bytes: %s",
			 (unsigned long long)size, strerror(errno));
		close(fd);
		return -1;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "guest RAM: cannot map %llu bytes: %s",
			 (unsigned long long)size, strerror(errno));
		close(fd);
		return -1;
	}
	r->base = p;
	r->size = size;
	r->fd = fd;
	return 0;
}

void ram_free(struct ram *r)
{
	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->base = NULL;
	r->fd = -1;
	r->size = 0;
	free(r->dirty);
	r->dirty = NULL;
}

void ram_clear(struct ram *r)
{
	if (!r->base)
		return;
	/* Punching a hole frees the pages and reads back as zero; fall back
	 * to memset where the filesystem cannot. */
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, r->size) < 0)
		memset(r->base, 0, r->size);
}

int ram_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s;
	if (!s || !*s || !isdigit((unsigned char)*s)) {
		snprintf(err, errlen, "invalid memory size '%s': expected a number with an optional K, M or G suffix",
			 s ? s : "");
		return -1;
	}
	uint64_t v = 0;
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10) {
			snprintf(err, errlen, "invalid memory size '%s': too large", s);
			return -1;
		}
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	uint64_t mul = 1u << 20;
	if (*p) {
		switch (toupper((unsigned char)*p)) {
		case 'B': mul = 1; break;
		case 'K': mul = 1u << 10; break;
		case 'M': mul = 1u << 20; break;
		case 'G': mul = 1u << 30; break;
		default:
			snprintf(err, errlen, "invalid memory size '%s': unknown suffix '%s' (use K, M or G)", s, p);
			return -1;
		}
		p++;
		/* Accept "MB"/"MiB" spellings too. */
		if (mul != 1 && (strcmp(p, "B") == 0 || strcmp(p, "iB") == 0 || strcmp(p, "b") == 0))
			p += strlen(p);
		if (*p) {
			snprintf(err, errlen, "invalid memory size '%s': trailing characters '%s'", s, p);
			return -1;
		}
	}
	if (v > UINT64_MAX / mul) {
		snprintf(err, errlen, "invalid memory size '%s': too large", s);
		return -1;
	}
	*out = v * mul;
	return 0;
}

int rom_load(const char *path, uint8_t **img, uint32_t *size, char *err, size_t errlen)
{
	*img = NULL;
	*size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "BIOS '%s': %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "BIOS '%s': not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size != 64 * 1024 && st.st_size != 128 * 1024) {
		snprintf(err, errlen, "BIOS '%s': size %lld bytes; it must be exactly 64 KiB or 128 KiB",
			 path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	/* Page-aligned, so that an engine can map it into the guest (KVM
	 * memory slots must start on a page boundary). */
	uint8_t *b = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED) {
		snprintf(err, errlen, "BIOS '%s': out of memory", path);
		close(fd);
		return -1;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "BIOS '%s': read error: %s", path, n < 0 ? strerror(errno) : "short file");
			munmap(b, (size_t)st.st_size);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	*img = b;
	*size = (uint32_t)st.st_size;
	return 0;
}

void rom_free(uint8_t *img, uint32_t size)
{
	if (img)
		munmap(img, size);
}
