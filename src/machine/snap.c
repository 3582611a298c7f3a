/* The snapshot stream (snap.h). */
#include "machine/snap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CRC-32 (IEEE), table-driven: one lookup per byte keeps a 256 MiB RAM
 * image's checksum well under a second. */
uint32_t snap_crc32(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
			table[i] = c;
		}
	}
	const uint8_t *b = p;
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, b + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -1 : (int)(got ? 1 : 2); /* 1 short, 2 clean EOF */
		got += (size_t)k;
	}
	return 0;
}

void snap_w_init(struct snap_w *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
}

void snap_w_free(struct snap_w *w)
{
	free(w->buf);
	w->buf = NULL;
}

int snap_write_header(struct snap_w *w)
{
	uint8_t h[16];
	memcpy(h, SNAP_MAGIC, 8);
	uint32_t v = SNAP_VERSION, flags = 0;
	memcpy(h + 8, &v, 4);
	memcpy(h + 12, &flags, 4);
	if (write_all(w->fd, h, sizeof(h)) < 0) {
		w->err = errno ? errno : EIO;
		return -1;
	}
	w->bytes += sizeof(h);
	return 0;
}

void snap_begin(struct snap_w *w)
{
	w->len = 0;
}

void snap_put(struct snap_w *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *nb = realloc(w->buf, cap);
		if (!nb) {
			w->err = ENOMEM;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void snap_u8(struct snap_w *w, uint8_t v) { snap_put(w, &v, 1); }
void snap_u32(struct snap_w *w, uint32_t v) { snap_put(w, &v, 4); }
void snap_u64(struct snap_w *w, uint64_t v) { snap_put(w, &v, 8); }

void snap_timer(struct snap_w *w, const struct timer *t)
{
	snap_u8(w, t->armed);
	snap_u64(w, t->deadline);
}

int snap_end(struct snap_w *w, const char *name)
{
	if (w->err)
		return -1;
	uint8_t h[SNAP_NAME + 8];
	memset(h, 0, sizeof(h));
	strncpy((char *)h, name, SNAP_NAME);
	uint32_t len = (uint32_t)w->len, crc = snap_crc32(0, w->buf, w->len);
	memcpy(h + SNAP_NAME, &len, 4);
	memcpy(h + SNAP_NAME + 4, &crc, 4);
	if (write_all(w->fd, h, sizeof(h)) < 0 || write_all(w->fd, w->buf, w->len) < 0) {
		w->err = errno ? errno : EIO;
		return -1;
	}
	w->bytes += sizeof(h) + w->len;
	w->len = 0;
	return 0;
}

void snap_get(struct snap_r *r, void *p, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->p + r->off, n);
	r->off += n;
}

uint8_t snap_get_u8(struct snap_r *r) { uint8_t v; snap_get(r, &v, 1); return v; }
uint32_t snap_get_u32(struct snap_r *r) { uint32_t v; snap_get(r, &v, 4); return v; }
uint64_t snap_get_u64(struct snap_r *r) { uint64_t v; snap_get(r, &v, 8); return v; }

void snap_get_timer(struct snap_r *r, struct clock *c, struct timer *t)
{
	uint8_t armed = snap_get_u8(r);
	uint64_t deadline = snap_get_u64(r);
	if (armed && !r->bad)
		timer_mod(c, t, deadline);
	else
		timer_del(c, t);
}

void snap_in_init(struct snap_in *in, int fd)
{
	memset(in, 0, sizeof(*in));
	in->fd = fd;
}

void snap_in_free(struct snap_in *in)
{
	free(in->buf);
	in->buf = NULL;
}

int snap_read_header(struct snap_in *in, char *err, size_t errlen)
{
	uint8_t h[16];
	int r = read_all(in->fd, h, sizeof(h));
	if (r) {
		snprintf(err, errlen, "%s", r < 0 ? strerror(errno) : "not a ringvm snapshot (file too short)");
		return -1;
	}
	if (memcmp(h, SNAP_MAGIC, 8)) {
		snprintf(err, errlen, "not a ringvm snapshot (bad magic)");
		return -1;
	}
	uint32_t v;
	memcpy(&v, h + 8, 4);
	if (v != SNAP_VERSION) {
		snprintf(err, errlen, "snapshot format version %u, this ringvm reads version %u", v, SNAP_VERSION);
		return -1;
	}
	in->bytes += sizeof(h);
	return 0;
}

int snap_next(struct snap_in *in, char *err, size_t errlen)
{
	uint8_t h[SNAP_NAME + 8];
	int r = read_all(in->fd, h, sizeof(h));
	if (r) {
		snprintf(err, errlen, "%s", r < 0 ? strerror(errno) : "truncated (the stream ends before its end section)");
		return -1;
	}
	memcpy(in->name, h, SNAP_NAME);
	in->name[SNAP_NAME] = 0;
	uint32_t len, crc;
	memcpy(&len, h + SNAP_NAME, 4);
	memcpy(&crc, h + SNAP_NAME + 4, 4);
	for (int i = 0; in->name[i]; i++)
		if (in->name[i] < 0x20 || in->name[i] > 0x7e) {
			snprintf(err, errlen, "corrupted (bad section header)");
			return -1;
		}
	if (len > SNAP_MAX_SECTION) {
		snprintf(err, errlen, "corrupted (section '%s' claims %u bytes)", in->name, len);
		return -1;
	}
	if (len > in->cap) {
		uint8_t *nb = realloc(in->buf, len);
		if (!nb) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		in->buf = nb;
		in->cap = len;
	}
	r = read_all(in->fd, in->buf, len);
	if (r) {
		snprintf(err, errlen, "%s", r < 0 ? strerror(errno) : "truncated (inside a section)");
		return -1;
	}
	if (snap_crc32(0, in->buf, len) != crc) {
		snprintf(err, errlen, "corrupted (checksum mismatch in section '%s')", in->name);
		return -1;
	}
	in->r = (struct snap_r){ in->buf, len, 0, false };
	in->bytes += sizeof(h) + len;
	return 0;
}

/* ---- the config section ---- */

static void put_str(struct snap_w *w, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);
	snap_u32(w, n);
	snap_put(w, s, n);
}

static void get_str(struct snap_r *r, char *s, size_t cap)
{
	uint32_t n = snap_get_u32(r);
	if (n >= cap) {
		r->bad = true;
		s[0] = 0;
		return;
	}
	snap_get(r, s, n);
	s[n] = 0;
}

void snap_config_put(struct snap_w *w, const struct snap_config *sc)
{
	snap_u64(w, sc->ram_size);
	snap_u8(w, sc->deterministic);
	snap_u8(w, sc->no_acpi);
	snap_u8(w, sc->no_reboot);
	put_str(w, sc->name);
	put_str(w, sc->engine);
	put_str(w, sc->cpu_model);
	put_str(w, sc->kernel);
	put_str(w, sc->initrd);
	put_str(w, sc->bios);
	put_str(w, sc->cmdline);
	snap_u8(w, sc->ncpus); /* last: older snapshots end before it */
}

int snap_config_get(struct snap_r *r, struct snap_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->ram_size = snap_get_u64(r);
	sc->deterministic = snap_get_u8(r);
	sc->no_acpi = snap_get_u8(r);
	sc->no_reboot = snap_get_u8(r);
	get_str(r, sc->name, sizeof(sc->name));
	get_str(r, sc->engine, sizeof(sc->engine));
	get_str(r, sc->cpu_model, sizeof(sc->cpu_model));
	get_str(r, sc->kernel, sizeof(sc->kernel));
	get_str(r, sc->initrd, sizeof(sc->initrd));
	get_str(r, sc->bios, sizeof(sc->bios));
	get_str(r, sc->cmdline, sizeof(sc->cmdline));
	sc->ncpus = r->off < r->len ? snap_get_u8(r) : 1;
	return r->bad || r->off != r->len ? -1 : 0;
}
