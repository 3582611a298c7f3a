/* The xl-style domain config file (ctl.h): "key = value" lines, values
 * "quoted", 'quoted' or numbers, # comments. Every bad line is reported
 * as FILE:LINE: reason, and the file is refused. */
#include "ctl/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cfgline {
	const char *path;
	int line;
};

static int bad(const struct cfgline *at, const char *fmt, const char *a)
{
	fprintf(stderr, "%s:%d: ", at->path, at->line);
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n");
	return -1;
}

/* The value's text into out (quotes removed); *quoted says which kind. */
static int parse_value(const struct cfgline *at, char *v, char *out, size_t cap, bool *quoted)
{
	size_t n = strlen(v);
	*quoted = false;
	if (n && (v[0] == '"' || v[0] == '\'')) {
		if (n < 2 || v[n - 1] != v[0])
			return bad(at, "unterminated string %s", v);
		v[n - 1] = 0;
		v++;
		n -= 2;
		*quoted = true;
	} else if (n && v[0] == '[') {
		return bad(at, "lists are not supported here: %s", v);
	}
	if (n >= cap)
		return bad(at, "value too long: %s", v);
	memcpy(out, v, n + 1);
	return 0;
}

static int parse_uint(const struct cfgline *at, const char *key, const char *v, bool quoted, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (quoted || !v[0] || *end || errno || x > 1u << 20)
		return bad(at, "'%s' wants a number", key);
	*out = (unsigned)x;
	return 0;
}

static int set_action(const struct cfgline *at, const char *key, const char *v, char *out, size_t cap)
{
	static const char *const ok[] = { "destroy", "restart", "preserve", "coredump-destroy", "coredump-restart",
					  "rename-restart", NULL };
	for (int i = 0; ok[i]; i++)
		if (!strcmp(v, ok[i])) {
			snprintf(out, cap, "%s", v);
			return 0;
		}
	return bad(at, "unknown action '%s' (destroy, restart, preserve...)", v);
}

static int set_key(const struct cfgline *at, struct xlcfg *c, const char *key, char *raw)
{
	char v[2048];
	bool q;
	if (parse_value(at, raw, v, sizeof(v), &q) < 0)
		return -1;
	struct {
		const char *key;
		char *dst;
		size_t cap;
	} strs[] = {
		{ "kernel", c->kernel, sizeof(c->kernel) },   { "ramdisk", c->ramdisk, sizeof(c->ramdisk) },
		{ "bios", c->bios, sizeof(c->bios) },         { "extra", c->extra, sizeof(c->extra) },
		{ "cmdline", c->extra, sizeof(c->extra) },
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(key, strs[i].key))
			continue;
		if (!q)
			return bad(at, "'%s' wants a quoted string", key);
		if (strlen(v) >= strs[i].cap)
			return bad(at, "'%s' is too long", key);
		strcpy(strs[i].dst, v);
		return 0;
	}
	if (!strcmp(key, "name")) {
		if (!q || !ctl_valid_name(v))
			return bad(at, "bad name '%s' (quoted; letters, digits, - _ . only)", v);
		snprintf(c->name, sizeof(c->name), "%s", v);
		return 0;
	}
	if (!strcmp(key, "memory")) {
		if (parse_uint(at, key, v, q, &c->memory) < 0)
			return -1;
		if (c->memory < 2 || c->memory > 3072)
			return bad(at, "memory = %s: ringvm takes 2 to 3072 (MiB)", v);
		return 0;
	}
	if (!strcmp(key, "vcpus")) {
		if (parse_uint(at, key, v, q, &c->vcpus) < 0)
			return -1;
		if (c->vcpus < 1 || c->vcpus > 8)
			return bad(at, "vcpus = %s: ringvm takes 1 to 8 (engine bt or interp above 1)", v);
		return 0;
	}
	if (!strcmp(key, "deterministic")) {
		unsigned d;
		if (parse_uint(at, key, v, q, &d) < 0 || d > 1)
			return bad(at, "'%s' wants 0 or 1", key);
		c->deterministic = d;
		return 0;
	}
	if (!strcmp(key, "engine")) {
		if (strcmp(v, "interp") && strcmp(v, "bt") && strcmp(v, "kvm"))
			return bad(at, "unknown engine '%s' (interp, bt or kvm)", v);
		snprintf(c->engine, sizeof(c->engine), "%s", v);
		return 0;
	}
	if (!strcmp(key, "on_crash"))
		return set_action(at, key, v, c->on_crash, sizeof(c->on_crash));
	if (!strcmp(key, "on_reboot"))
		return set_action(at, key, v, c->on_reboot, sizeof(c->on_reboot));
	if (!strcmp(key, "on_poweroff"))
		return set_action(at, key, v, c->on_poweroff, sizeof(c->on_poweroff));
	return bad(at, "unknown setting '%s'", key);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

int xlcfg_load(const char *path, struct xlcfg *c)
{
	memset(c, 0, sizeof(*c));
	c->memory = 128;
	c->vcpus = 1;
	FILE *f = fopen(path, "r");
	if (!f)
		return ctl_err("%s: %s", path, strerror(errno)) ? -1 : -1;
	char line[4096];
	struct cfgline at = { path, 0 };
	int errors = 0;
	while (fgets(line, sizeof(line), f)) {
		at.line++;
		if (!strchr(line, '\n') && !feof(f)) {
			bad(&at, "line too long%s", "");
			errors++;
			break;
		}
		/* A # outside quotes starts a comment. */
		char quote = 0;
		for (char *p = line; *p; p++) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '"' || *p == '\''))
				quote = *p;
			else if (!quote && *p == '#') {
				*p = 0;
				break;
			}
		}
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			bad(&at, "expected 'key = value', got '%s'", s);
			errors++;
			continue;
		}
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		if (!*key || !*val) {
			bad(&at, "expected 'key = value'%s", "");
			errors++;
			continue;
		}
		if (set_key(&at, c, key, val) < 0)
			errors++;
	}
	fclose(f);
	if (!errors && !c->name[0]) {
		fprintf(stderr, "%s: no 'name = \"...\"' setting\n", path);
		errors++;
	}
	return errors ? -1 : 0;
}
