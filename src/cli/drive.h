/* QEMU's disk and boot options as ringvm takes them: -drive's key=value
 * list (",," is a comma inside a value), -hda..-hdd, -boot and --display. */
#ifndef RINGVM_CLI_DRIVE_H
#define RINGVM_CLI_DRIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "machine/pc.h"

#define DRIVE_VALUE_MAX 4096

/* One -drive: the keys ringvm knows; parsing refuses the others. */
struct drive_spec {
	char file[DRIVE_VALUE_MAX];
	char iface[16];   /* "ide" (default), "virtio", ... */
	char media[8];    /* "disk" (default) or "cdrom" */
	char format[8];   /* "raw" (default) */
	int index;        /* -1: the first free slot */
	bool readonly;
};

/* Parse "file=IMG,if=ide,index=1,format=raw,media=disk,readonly=on".
 * 0, or -1 with a message naming the bad key or value. */
int drive_parse(const char *s, struct drive_spec *d, char *err, size_t errlen);
/* -drive with if=virtio or if=none: virtio-blk's, whose keys devopts.c
 * parses (the rest is drive_parse()'s, for IDE). */
bool drive_for_virtio(const char *s);

/* Put an if=ide drive into cfg's IDE slots (index: channel * 2 + unit).
 * 0, or -1 with a message. */
int drive_add_ide(struct pc_config *cfg, const struct drive_spec *d, char *err, size_t errlen);

/* -boot menu=on|off,splash-time=MS[,order=...]: 0, or -1 with a message. */
int boot_parse(const char *s, struct pc_config *cfg, char *err, size_t errlen);

/* --display text|none (QEMU's "curses" is taken for text): 0, or -1. */
int display_parse(const char *s, struct pc_config *cfg, char *err, size_t errlen);

#endif
