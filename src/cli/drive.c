/* -drive, -hdX, -boot and --display (see drive.h). */
#include "cli/drive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next "key=value" of s at *pos: key and value copied out (",," in
 * a value is one comma). 1, 0 at the end, -1 if something is too long or
 * has no '='. */
static int next_pair(const char *s, size_t *pos, char *key, size_t klen, char *val, size_t vlen)
{
	size_t i = *pos, k = 0, v = 0;
	if (!s[i])
		return 0;
	while (s[i] && s[i] != '=' && s[i] != ',') {
		if (k + 1 >= klen)
			return -1;
		key[k++] = s[i++];
	}
	key[k] = 0;
	if (s[i] != '=')
		return -1;
	i++;
	for (;;) {
		if (s[i] == ',' && s[i + 1] == ',') {
			i += 2;
		} else if (!s[i] || s[i] == ',') {
			break;
		} else {
			i++;
			if (v + 1 >= vlen)
				return -1;
			val[v++] = s[i - 1];
			continue;
		}
		if (v + 1 >= vlen)
			return -1;
		val[v++] = ',';
	}
	val[v] = 0;
	if (s[i] == ',')
		i++;
	*pos = i;
	return 1;
}

static int on_off(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = false;
		return 0;
	}
	return -1;
}

static int copy_choice(char *dst, size_t n, const char *v, const char *const *ok)
{
	for (int i = 0; ok[i]; i++) {
		if (!strcmp(v, ok[i])) {
			snprintf(dst, n, "%s", v);
			return 0;
		}
	}
	return -1;
}

bool drive_for_virtio(const char *s)
{
	size_t pos = 0;
	char key[32], *val = malloc(DRIVE_VALUE_MAX);
	bool virtio = false;
	while (val && next_pair(s, &pos, key, sizeof(key), val, DRIVE_VALUE_MAX) > 0) {
		if (!strcmp(key, "if")) {
			virtio = !strcmp(val, "virtio") || !strcmp(val, "none");
			break;
		}
	}
	free(val);
	return virtio;
}

int drive_parse(const char *s, struct drive_spec *d, char *err, size_t errlen)
{
	static const char *const ifaces[] = { "ide", "virtio", "none", NULL };
	static const char *const medias[] = { "disk", "cdrom", NULL };
	static const char *const formats[] = { "raw", NULL };
	memset(d, 0, sizeof(*d));
	strcpy(d->iface, "ide");
	strcpy(d->media, "disk");
	strcpy(d->format, "raw");
	d->index = -1;
	size_t pos = 0;
	char key[32], *val = malloc(DRIVE_VALUE_MAX);
	if (!val) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int r, rc = -1;
	while ((r = next_pair(s, &pos, key, sizeof(key), val, DRIVE_VALUE_MAX)) > 0) {
		if (!strcmp(key, "file")) {
			snprintf(d->file, sizeof(d->file), "%s", val);
		} else if (!strcmp(key, "if")) {
			if (copy_choice(d->iface, sizeof(d->iface), val, ifaces) < 0) {
				snprintf(err, errlen, "-drive: if=%s is not supported (ide, virtio or none)", val);
				goto out;
			}
		} else if (!strcmp(key, "media")) {
			if (copy_choice(d->media, sizeof(d->media), val, medias) < 0) {
				snprintf(err, errlen, "-drive: media=%s: choose disk or cdrom", val);
				goto out;
			}
		} else if (!strcmp(key, "format")) {
			if (copy_choice(d->format, sizeof(d->format), val, formats) < 0) {
				snprintf(err, errlen, "-drive: format=%s is not supported (raw only)", val);
				goto out;
			}
		} else if (!strcmp(key, "index")) {
			char *end;
			long n = strtol(val, &end, 10);
			if (!*val || *end || n < 0 || n > 3) {
				snprintf(err, errlen, "-drive: index=%s: must be 0 to 3", val);
				goto out;
			}
			d->index = (int)n;
		} else if (!strcmp(key, "readonly")) {
			if (on_off(val, &d->readonly) < 0) {
				snprintf(err, errlen, "-drive: readonly=%s: say on or off", val);
				goto out;
			}
		} else {
			snprintf(err, errlen, "-drive: unknown key '%s'", key);
			goto out;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "-drive: cannot parse '%s' (want key=value,...)", s);
		goto out;
	}
	if (!d->file[0]) {
		snprintf(err, errlen, "-drive: no file= given");
		goto out;
	}
	rc = 0;
out:
	free(val);
	return rc;
}

int drive_add_ide(struct pc_config *cfg, const struct drive_spec *d, char *err, size_t errlen)
{
	if (strcmp(d->media, "disk")) {
		snprintf(err, errlen, "-drive %s: media=%s: the IDE controller has disks only (no ATAPI)", d->file,
			 d->media);
		return -1;
	}
	int slot = d->index;
	if (slot < 0)
		for (slot = 0; slot < PC_IDE_DRIVES && cfg->ide[slot].file; slot++)
			;
	if (slot >= PC_IDE_DRIVES) {
		snprintf(err, errlen, "-drive %s: all four IDE slots are taken", d->file);
		return -1;
	}
	if (cfg->ide[slot].file) {
		snprintf(err, errlen, "-drive %s: IDE index %d is already %s", d->file, slot, cfg->ide[slot].file);
		return -1;
	}
	cfg->ide[slot].file = strdup(d->file);
	if (!cfg->ide[slot].file) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg->ide[slot].readonly = d->readonly;
	return 0;
}

int boot_parse(const char *s, struct pc_config *cfg, char *err, size_t errlen)
{
	size_t pos = 0;
	char key[32], val[64];
	int r;
	while ((r = next_pair(s, &pos, key, sizeof(key), val, sizeof(val))) > 0) {
		if (!strcmp(key, "menu")) {
			if (on_off(val, &cfg->boot_menu) < 0) {
				snprintf(err, errlen, "-boot: menu=%s: say on or off", val);
				return -1;
			}
		} else if (!strcmp(key, "splash-time")) {
			char *end;
			long n = strtol(val, &end, 10);
			if (!*val || *end || n < 0 || n > 65535) {
				snprintf(err, errlen, "-boot: splash-time=%s: milliseconds, 0 to 65535", val);
				return -1;
			}
			cfg->splash_ms = (uint16_t)n;
		} else if (!strcmp(key, "order") || !strcmp(key, "once")) {
			/* Only disks can be booted: the order has nothing to choose. */
		} else {
			snprintf(err, errlen, "-boot: unknown key '%s' (menu, splash-time, order)", key);
			return -1;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "-boot: cannot parse '%s' (want menu=on,splash-time=MS)", s);
		return -1;
	}
	return 0;
}

int display_parse(const char *s, struct pc_config *cfg, char *err, size_t errlen)
{
	if (!strcmp(s, "text") || !strcmp(s, "curses")) {
		cfg->display_text = true;
		return 0;
	}
	if (!strcmp(s, "none")) {
		cfg->display_text = false;
		return 0;
	}
	snprintf(err, errlen, "--display %s: choose text or none", s);
	return -1;
}
