/* The snapshot stream: a header, then named sections each with its length
 * and CRC-32, then an "end" section. The same stream is a save file
 * (pc_save) and a migration (migrate.c). docs/domains.md gives the layout.
 *
 * A device writes its section with snap_put*() and reads it back with
 * snap_get*(); a reader that runs past the end of its section, or does
 * not use it all, makes the load fail naming the device. */
#ifndef RINGVM_SNAP_H
#define RINGVM_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/clock.h"

#define SNAP_MAGIC "RINGVMSN"
#define SNAP_VERSION 1u
#define SNAP_NAME 16          /* section name field, NUL padded */
#define SNAP_MAX_SECTION (64u << 20)

uint32_t snap_crc32(uint32_t crc, const void *p, size_t n);

/* Writer: sections are built in memory, then written whole to fd. */
struct snap_w {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	uint64_t bytes;   /* written to fd so far */
	int err;          /* errno of the first failure, 0 if none */
};

void snap_w_init(struct snap_w *w, int fd);
void snap_w_free(struct snap_w *w);
int snap_write_header(struct snap_w *w);
void snap_begin(struct snap_w *w);                   /* start a section */
int snap_end(struct snap_w *w, const char *name);    /* write it out */
void snap_put(struct snap_w *w, const void *p, size_t n);
void snap_u8(struct snap_w *w, uint8_t v);
void snap_u32(struct snap_w *w, uint32_t v);
void snap_u64(struct snap_w *w, uint64_t v);
void snap_timer(struct snap_w *w, const struct timer *t);

/* Reader over one section's payload. */
struct snap_r {
	const uint8_t *p;
	size_t len, off;
	bool bad;         /* read past the end */
};

void snap_get(struct snap_r *r, void *p, size_t n);
uint8_t snap_get_u8(struct snap_r *r);
uint32_t snap_get_u32(struct snap_r *r);
uint64_t snap_get_u64(struct snap_r *r);
/* Re-arm t as saved (or disarm it) on clock c. */
void snap_get_timer(struct snap_r *r, struct clock *c, struct timer *t);

/* Reading a stream from fd: the header, then one section at a time. */
struct snap_in {
	int fd;
	uint8_t *buf;
	size_t cap;
	char name[SNAP_NAME + 1];
	struct snap_r r;  /* the current section */
	uint64_t bytes;
};

void snap_in_init(struct snap_in *in, int fd);
void snap_in_free(struct snap_in *in);
/* 0, or -1 with a message (bad magic, other version, short file). */
int snap_read_header(struct snap_in *in, char *err, size_t errlen);
/* The next section into in->name / in->r: 0, or -1 with a message
 * (truncated, checksum mismatch, oversized). */
int snap_next(struct snap_in *in, char *err, size_t errlen);

#define SNAP_PATH 1024

/* How the domain was started: what a restore or a migration target needs
 * to build the same board before it loads the state. */
struct snap_config {
	uint64_t ram_size;
	uint8_t deterministic, no_acpi, no_reboot;
	uint8_t ncpus;           /* -smp (0 in snapshots from before it: 1) */
	char name[64];
	char engine[16];
	char cpu_model[32];
	char kernel[SNAP_PATH];  /* "" : the embedded guest */
	char initrd[SNAP_PATH];
	char bios[SNAP_PATH];
	char cmdline[4096];
};

void snap_config_put(struct snap_w *w, const struct snap_config *sc);
int snap_config_get(struct snap_r *r, struct snap_config *sc);

#endif
