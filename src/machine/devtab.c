/* The board's device table (devtab.h). */
#include "machine/devtab.h"

#include <stdio.h>
#include <string.h>

int devtab_add_named(struct devtab *t, const char *name, const struct dev_ops *ops, void *dev)
{
	if (t->n >= DEVTAB_MAX || strlen(name) >= SNAP_NAME)
		return -1;
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].name, name))
			return -1;
	t->e[t->n++] = (struct devtab_entry){ name, ops, dev, false };
	return 0;
}

int devtab_add(struct devtab *t, const struct dev_ops *ops, void *dev)
{
	return devtab_add_named(t, ops->name, ops, dev);
}

void devtab_reset(struct devtab *t)
{
	for (int i = 0; i < t->n; i++)
		if (t->e[i].ops->reset)
			t->e[i].ops->reset(t->e[i].dev);
}

const char *devtab_unsaveable(const struct devtab *t)
{
	for (int i = 0; i < t->n; i++)
		if (!t->e[i].ops->save || !t->e[i].ops->load)
			return t->e[i].name;
	return NULL;
}

int devtab_save(struct devtab *t, struct snap_w *w)
{
	for (int i = 0; i < t->n; i++) {
		snap_begin(w);
		t->e[i].ops->save(t->e[i].dev, w);
		if (snap_end(w, t->e[i].name) < 0)
			return -1;
	}
	return 0;
}

int devtab_load(struct devtab *t, const char *name, struct snap_r *r, char *err, size_t errlen)
{
	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->e[i].name, name))
			continue;
		if (t->e[i].ops->load(t->e[i].dev, r) < 0 || r->bad || r->off != r->len) {
			snprintf(err, errlen, "device %s: its section (%zu bytes) does not fit this ringvm's %s", name, r->len,
				 name);
			return -1;
		}
		t->e[i].loaded = true;
		return 1;
	}
	return 0;
}

const char *devtab_missing(struct devtab *t)
{
	const char *missing = NULL;
	for (int i = 0; i < t->n; i++) {
		if (!t->e[i].loaded && !missing)
			missing = t->e[i].name;
		t->e[i].loaded = false;
	}
	return missing;
}
