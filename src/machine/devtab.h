/* The board's table of devices: each registered with its dev_ops
 * (dev/dev.h), so that reset, save, load and migration reach every device
 * by construction, and errors name the device. */
#ifndef RINGVM_DEVTAB_H
#define RINGVM_DEVTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "dev/dev.h"
#include "machine/snap.h"

#define DEVTAB_MAX 48

struct devtab_entry {
	const char *name; /* the section's name: ops->name unless given */
	const struct dev_ops *ops;
	void *dev;
	bool loaded;      /* its section came in the stream being loaded */
};

struct devtab {
	struct devtab_entry e[DEVTAB_MAX];
	int n;
};

/* 0, or -1 if the table is full or the name is taken. */
int devtab_add(struct devtab *t, const struct dev_ops *ops, void *dev);
/* The same for a second instance of a device, under its own name. */
int devtab_add_named(struct devtab *t, const char *name, const struct dev_ops *ops, void *dev);
void devtab_reset(struct devtab *t);
/* The first device that cannot be saved (no save/load), or NULL. */
const char *devtab_unsaveable(const struct devtab *t);
/* Write one section per device: 0, or -1 (w->err says why). */
int devtab_save(struct devtab *t, struct snap_w *w);
/* Load section name into its device: 1 loaded, 0 no such device, -1 the
 * section does not fit the device (message in err). */
int devtab_load(struct devtab *t, const char *name, struct snap_r *r, char *err, size_t errlen);
/* After a whole stream: the first device no section was loaded into
 * (the stream lacks it), or NULL; clears the marks for the next load. */
const char *devtab_missing(struct devtab *t);

#endif
