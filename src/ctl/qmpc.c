/* A QMP client for ringctl (ctl.h). */
#include "ctl/ctl.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define QMPC_TIMEOUT_MS 30000

struct qmpc {
	int fd;
	char name[CTL_NAME_MAX];
	struct json_tokener *tok;
	char buf[65536];
	size_t len, off;
};

/* The next message, or NULL on EOF or timeout. */
static struct json_object *next_msg(struct qmpc *c, int timeout_ms)
{
	for (;;) {
		while (c->off < c->len) {
			while (c->off < c->len && strchr(" \r\n\t", c->buf[c->off]))
				c->off++;
			if (c->off == c->len)
				break;
			struct json_object *o = json_tokener_parse_ex(c->tok, c->buf + c->off, (int)(c->len - c->off));
			if (o) {
				c->off += json_tokener_get_parse_end(c->tok);
				json_tokener_reset(c->tok);
				return o;
			}
			if (json_tokener_get_error(c->tok) != json_tokener_continue)
				return NULL;
			c->off = c->len;
		}
		c->off = c->len = 0;
		struct pollfd p = { c->fd, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) <= 0)
			return NULL;
		ssize_t n = read(c->fd, c->buf, sizeof(c->buf));
		if (n <= 0)
			return NULL;
		c->len = (size_t)n;
	}
}

struct qmpc *qmpc_open(const char *name)
{
	char path[PATH_MAX];
	ctl_path(path, sizeof(path), name, "qmp");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		ctl_err("%s: path too long for a socket", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	struct qmpc *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->tok = json_tokener_new();
	/* One client at a time per domain: another ringctl may hold it for
	 * a moment, so a closed connection is tried again, for 5 s at most
	 * (a domain waiting for a migration answers nobody). */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 5)
			break;
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			struct json_object *g = next_msg(c, 2000);
			bool ok = g && json_object_object_get_ex(g, "QMP", NULL);
			json_object_put(g);
			if (ok) {
				struct json_object *r = qmpc_exec(c, "qmp_capabilities", NULL);
				if (r) {
					json_object_put(r);
					return c;
				}
			}
		}
		if (c->fd >= 0)
			close(c->fd);
		c->len = c->off = 0;
		json_tokener_reset(c->tok);
		usleep(100000);
	}
	ctl_err("domain %s: no answer on its control socket %s", name, path);
	json_tokener_free(c->tok);
	free(c);
	return NULL;
}

void qmpc_close(struct qmpc *c)
{
	if (!c)
		return;
	close(c->fd);
	json_tokener_free(c->tok);
	free(c);
}

struct json_object *qmpc_exec(struct qmpc *c, const char *cmd, struct json_object *args)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(m, "arguments", args);
	const char *s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);
	bool sent = send(c->fd, s, n, MSG_NOSIGNAL) == (ssize_t)n && send(c->fd, "\n", 1, MSG_NOSIGNAL) == 1;
	json_object_put(m);
	if (!sent) {
		ctl_err("domain %s: %s: the control socket closed", c->name, cmd);
		return NULL;
	}
	for (;;) {
		struct json_object *o = next_msg(c, QMPC_TIMEOUT_MS), *v;
		if (!o) {
			ctl_err("domain %s: %s: no reply", c->name, cmd);
			return NULL;
		}
		if (json_object_object_get_ex(o, "return", &v)) {
			json_object_get(v);
			json_object_put(o);
			return v;
		}
		if (json_object_object_get_ex(o, "error", &v)) {
			struct json_object *d;
			json_object_object_get_ex(v, "desc", &d);
			ctl_err("domain %s: %s: %s", c->name, cmd, d ? json_object_get_string(d) : "error");
			json_object_put(o);
			return NULL;
		}
		json_object_put(o); /* an event meanwhile */
	}
}

struct json_object *qmpc_event(struct qmpc *c, const char *name, int timeout_ms)
{
	for (;;) {
		struct json_object *o = next_msg(c, timeout_ms), *v, *d;
		if (!o)
			return NULL;
		if (json_object_object_get_ex(o, "event", &v) && !strcmp(json_object_get_string(v), name)) {
			if (!json_object_object_get_ex(o, "data", &d))
				d = json_object_new_object();
			else
				json_object_get(d);
			json_object_put(o);
			return d;
		}
		json_object_put(o);
	}
}
