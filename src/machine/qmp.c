/* The QMP control socket (qmp.h). */
#include "machine/qmp.h"

#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "machine/migrate.h"
#include "machine/pc.h"

#define QMP_IN_MAX 65536

struct qmp {
	int lfd, cfd, epfd;
	char path[108];
	struct json_tokener *tok;
	bool negotiated;
	bool paused;
	bool quit;
	struct pc *pc;
	const struct snap_config *sc;
	struct migrate mig;
	char mig_status[16];  /* "none", "active", "completed", "failed" */
	char mig_error[512];
	uint64_t mig_bytes;
	uint64_t runs;        /* runs of the guest: the board's exits */
	uint64_t stop_at;     /* pause once icount reaches this (0: no) */
};

/* ---- output ---- */

static void send_obj(struct qmp *q, struct json_object *o)
{
	if (q->cfd >= 0) {
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		size_t n = strlen(s);
		/* A client that does not read loses its connection, never the
		 * domain its time. */
		if (send(q->cfd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n ||
		    send(q->cfd, "\r\n", 2, MSG_NOSIGNAL | MSG_DONTWAIT) != 2) {
			epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->cfd, NULL);
			close(q->cfd);
			q->cfd = -1;
		}
	}
	json_object_put(o);
}

static void send_event(struct qmp *q, const char *name, struct json_object *data)
{
	if (q->cfd < 0 || !q->negotiated) {
		json_object_put(data);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct json_object *o = json_object_new_object(), *t = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(name));
	json_object_object_add(t, "seconds", json_object_new_int64(ts.tv_sec));
	json_object_object_add(t, "microseconds", json_object_new_int64(ts.tv_nsec / 1000));
	json_object_object_add(o, "timestamp", t);
	json_object_object_add(o, "data", data ? data : json_object_new_object());
	send_obj(q, o);
}

static void reply(struct qmp *q, struct json_object *id, struct json_object *ret)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "return", ret ? ret : json_object_new_object());
	if (id)
		json_object_object_add(o, "id", json_object_get(id));
	send_obj(q, o);
}

static void reply_error(struct qmp *q, struct json_object *id, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void reply_error(struct qmp *q, struct json_object *id, const char *cls, const char *fmt, ...)
{
	char desc[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	json_object_object_add(e, "class", json_object_new_string(cls));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(o, "error", e);
	if (id)
		json_object_object_add(o, "id", json_object_get(id));
	send_obj(q, o);
}

static void greet(struct qmp *q)
{
	struct json_object *o = json_object_new_object(), *in = json_object_new_object(),
			   *ver = json_object_new_object(), *qv = json_object_new_object();
	json_object_object_add(qv, "major", json_object_new_int(0));
	json_object_object_add(qv, "minor", json_object_new_int(1));
	json_object_object_add(qv, "micro", json_object_new_int(0));
	json_object_object_add(ver, "qemu", qv);
	json_object_object_add(ver, "package", json_object_new_string("ringvm"));
	json_object_object_add(in, "version", ver);
	json_object_object_add(in, "capabilities", json_object_new_array());
	json_object_object_add(o, "QMP", in);
	send_obj(q, o);
}

/* ---- commands ---- */

static void set_paused(struct qmp *q, bool on)
{
	if (q->paused == on)
		return;
	q->paused = on;
	send_event(q, on ? "STOP" : "RESUME", NULL);
}

static const char *arg_str(struct json_object *args, const char *key)
{
	struct json_object *v;
	if (!args || !json_object_object_get_ex(args, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *status_obj(struct qmp *q)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "status", json_object_new_string(q->paused ? "paused" : "running"));
	json_object_object_add(r, "singlestep", json_object_new_boolean(0));
	json_object_object_add(r, "running", json_object_new_boolean(!q->paused));
	return r;
}

static struct json_object *stats_obj(struct qmp *q)
{
	struct pc *pc = q->pc;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		     ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "name", json_object_new_string(q->sc->name));
	json_object_object_add(r, "status", json_object_new_string(q->paused ? "paused" : "running"));
	json_object_object_add(r, "engine", json_object_new_string(pc_engine_name(pc)));
	json_object_object_add(r, "memory-mb", json_object_new_int64(pc->ram.size >> 20));
	json_object_object_add(r, "icount", json_object_new_int64((int64_t)pc_icount(pc)));
	json_object_object_add(r, "exits", json_object_new_int64((int64_t)q->runs));
	json_object_object_add(r, "cpu-seconds", json_object_new_double(cpu));
	json_object_object_add(r, "rss-kb", json_object_new_int64(ru.ru_maxrss));
	json_object_object_add(r, "host-ns", json_object_new_int64((int64_t)clock_host_ns()));
	return r;
}

/* pc_diag_dump()'s text: what the guest waits for. */
static struct json_object *diag_obj(struct qmp *q)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f) {
		pc_diag_dump(q->pc, f);
		fclose(f);
	}
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "text", json_object_new_string(text ? text : ""));
	free(text);
	return r;
}

static struct json_object *migrate_obj(struct qmp *q)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "status", json_object_new_string(q->mig_status[0] ? q->mig_status : "none"));
	if (!strcmp(q->mig_status, "completed")) {
		json_object_object_add(r, "total-time-ms", json_object_new_double((double)q->mig.total_ns / 1e6));
		json_object_object_add(r, "downtime-ms", json_object_new_double((double)q->mig.downtime_ns / 1e6));
		json_object_object_add(r, "bytes", json_object_new_int64((int64_t)q->mig_bytes));
		json_object_object_add(r, "rounds", json_object_new_int(q->mig.round));
	}
	if (!strcmp(q->mig_status, "failed"))
		json_object_object_add(r, "error", json_object_new_string(q->mig_error));
	return r;
}

/* Ctrl-Alt-Del in scan code set 1, as the guest reads port 0x60. */
static int ctrl_alt_del(struct pc *pc)
{
	static const uint8_t cad[] = { 0x1d, 0x38, 0x53, 0xd3, 0xb8, 0x9d };
	return i8042_keys(&pc->kbd, cad, (int)sizeof(cad));
}

/* The graceful power-off: the ACPI power button when the guest listens
 * to it, else Ctrl-Alt-Del on the keyboard controller (which a Linux
 * guest takes as a reboot: the reply says which was pressed). NULL if
 * the guest listens to neither. */
static const char *powerdown(struct pc *pc)
{
	if (acpi_pm_power_button(&pc->acpi_pm) == 0)
		return "acpi";
	return ctrl_alt_del(pc) == 0 ? "ctrl-alt-del" : NULL;
}

static void execute(struct qmp *q, const char *cmd, struct json_object *args, struct json_object *id)
{
	char err[512];
	if (!strcmp(cmd, "qmp_capabilities")) {
		if (q->negotiated)
			return reply_error(q, id, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
		q->negotiated = true;
		return reply(q, id, NULL);
	}
	if (!q->negotiated)
		return reply_error(q, id, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
	if (!strcmp(cmd, "query-status"))
		return reply(q, id, status_obj(q));
	if (!strcmp(cmd, "query-name")) {
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "name", json_object_new_string(q->sc->name));
		return reply(q, id, r);
	}
	if (!strcmp(cmd, "stop")) {
		reply(q, id, NULL);
		return set_paused(q, true);
	}
	if (!strcmp(cmd, "cont")) {
		reply(q, id, NULL);
		return set_paused(q, false);
	}
	if (!strcmp(cmd, "system_reset")) {
		q->pc->req.reset(q->pc->req.opaque);
		return reply(q, id, NULL);
	}
	if (!strcmp(cmd, "system_powerdown")) {
		const char *how = powerdown(q->pc);
		if (!how)
			return reply_error(q, id, "GenericError", "the guest listens to neither the ACPI power button nor the keyboard");
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "method", json_object_new_string(how));
		return reply(q, id, r);
	}
	if (!strcmp(cmd, "ringvm-reboot")) { /* graceful: the guest's own reboot path */
		if (ctrl_alt_del(q->pc) < 0)
			return reply_error(q, id, "GenericError", "the guest does not read the keyboard");
		return reply(q, id, NULL);
	}
	if (!strcmp(cmd, "quit")) {
		q->quit = true;
		return reply(q, id, NULL);
	}
	if (!strcmp(cmd, "ringvm-stop-at")) {
		struct json_object *v;
		if (!args || !json_object_object_get_ex(args, "icount", &v) || !json_object_is_type(v, json_type_int))
			return reply_error(q, id, "GenericError", "Parameter 'icount' is missing");
		q->stop_at = (uint64_t)json_object_get_int64(v);
		return reply(q, id, NULL);
	}
	if (!strcmp(cmd, "ringvm-stats"))
		return reply(q, id, stats_obj(q));
	if (!strcmp(cmd, "ringvm-diag"))
		return reply(q, id, diag_obj(q));
	if (!strcmp(cmd, "ringvm-save") || !strcmp(cmd, "savevm")) {
		const char *file = arg_str(args, "file");
		if (!file)
			return reply_error(q, id, "GenericError", "Parameter 'file' is missing");
		if (pc_save(q->pc, q->sc, file, err, sizeof(err)) < 0)
			return reply_error(q, id, "GenericError", "%s", err);
		return reply(q, id, NULL);
	}
	if (!strcmp(cmd, "ringvm-migrate") || !strcmp(cmd, "migrate")) {
		const char *uri = arg_str(args, "uri");
		if (!uri)
			return reply_error(q, id, "GenericError", "Parameter 'uri' is missing");
		if (q->mig.active)
			return reply_error(q, id, "GenericError", "a migration is already running");
		if (migrate_start(&q->mig, q->pc, q->sc, uri, err, sizeof(err)) < 0) {
			snprintf(q->mig_status, sizeof(q->mig_status), "failed");
			snprintf(q->mig_error, sizeof(q->mig_error), "%s", err);
			return reply_error(q, id, "GenericError", "%s", err);
		}
		snprintf(q->mig_status, sizeof(q->mig_status), "active");
		return reply(q, id, NULL);
	}
	if (!strcmp(cmd, "query-migrate"))
		return reply(q, id, migrate_obj(q));
	reply_error(q, id, "CommandNotFound", "The command %s has not been found", cmd);
}

static void dispatch(struct qmp *q, struct json_object *o)
{
	struct json_object *id = NULL, *cmd, *args = NULL;
	if (!json_object_is_type(o, json_type_object))
		return reply_error(q, NULL, "GenericError", "QMP input must be a JSON object");
	json_object_object_get_ex(o, "id", &id);
	if (!json_object_object_get_ex(o, "execute", &cmd) || !json_object_is_type(cmd, json_type_string))
		return reply_error(q, id, "GenericError", "QMP input lacks member 'execute'");
	if (json_object_object_get_ex(o, "arguments", &args) && !json_object_is_type(args, json_type_object))
		return reply_error(q, id, "GenericError", "QMP input member 'arguments' must be an object");
	execute(q, json_object_get_string(cmd), args, id);
}

/* ---- the socket ---- */

static void drop_client(struct qmp *q)
{
	if (q->cfd < 0)
		return;
	epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->cfd, NULL);
	close(q->cfd);
	q->cfd = -1;
}

static void accept_client(struct qmp *q)
{
	int fd = accept4(q->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (q->cfd >= 0) { /* one client at a time, as a QEMU monitor */
		close(fd);
		return;
	}
	q->cfd = fd;
	q->negotiated = false;
	json_tokener_reset(q->tok);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev);
	greet(q);
}

/* Parse what arrived; a malformed object costs an error reply and the
 * rest of that read, never the connection. */
static void read_client(struct qmp *q)
{
	char buf[4096];
	ssize_t n = recv(q->cfd, buf, sizeof(buf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		drop_client(q);
		return;
	}
	if (n < 0)
		return;
	size_t off = 0;
	while (off < (size_t)n && q->cfd >= 0) {
		while (off < (size_t)n && (buf[off] == ' ' || buf[off] == '\r' || buf[off] == '\n' || buf[off] == '\t'))
			off++;
		if (off == (size_t)n)
			break;
		struct json_object *o = json_tokener_parse_ex(q->tok, buf + off, (int)((size_t)n - off));
		enum json_tokener_error e = json_tokener_get_error(q->tok);
		if (o) {
			off += json_tokener_get_parse_end(q->tok);
			json_tokener_reset(q->tok);
			dispatch(q, o);
			json_object_put(o);
		} else if (e == json_tokener_continue) {
			break;
		} else {
			json_tokener_reset(q->tok);
			reply_error(q, NULL, "GenericError", "JSON parse error, %s", json_tokener_error_desc(e));
			break;
		}
	}
}

static void poll_socket(struct qmp *q, int timeout_ms)
{
	struct epoll_event ev[4];
	int n = epoll_wait(q->epfd, ev, 4, timeout_ms);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == q->lfd)
			accept_client(q);
		else if (ev[i].data.fd == q->cfd)
			read_client(q);
	}
}

static void step_migration(struct qmp *q)
{
	char err[512];
	uint64_t before = q->mig.w.bytes;
	int r = migrate_step(&q->mig, q->pc, err, sizeof(err));
	if (r == 0)
		return;
	(void)before;
	struct json_object *d = json_object_new_object();
	if (r > 0) {
		q->mig_bytes = q->mig.w.bytes;
		snprintf(q->mig_status, sizeof(q->mig_status), "completed");
		json_object_object_add(d, "status", json_object_new_string("completed"));
		json_object_object_add(d, "total-time-ms", json_object_new_double((double)q->mig.total_ns / 1e6));
		json_object_object_add(d, "downtime-ms", json_object_new_double((double)q->mig.downtime_ns / 1e6));
		json_object_object_add(d, "bytes", json_object_new_int64((int64_t)q->mig_bytes));
		fprintf(q->pc->cfg.log, "ringvm: migrated in %.1f ms (downtime %.1f ms, %llu bytes, %d rounds)\n",
			(double)q->mig.total_ns / 1e6, (double)q->mig.downtime_ns / 1e6, (unsigned long long)q->mig_bytes,
			q->mig.round);
		q->quit = true; /* the guest lives on the target now */
	} else {
		snprintf(q->mig_status, sizeof(q->mig_status), "failed");
		snprintf(q->mig_error, sizeof(q->mig_error), "%s", err);
		json_object_object_add(d, "status", json_object_new_string("failed"));
		json_object_object_add(d, "error", json_object_new_string(err));
		fprintf(q->pc->cfg.log, "ringvm: migration failed, the domain runs on here: %s\n", err);
	}
	send_event(q, "MIGRATION", d);
}

static int ctl_service(void *opaque)
{
	struct qmp *q = opaque;
	q->runs++;
	poll_socket(q, 0);
	/* The first stop at or after the instruction asked for: with the
	 * deterministic clock, the same instruction every run. */
	if (q->stop_at && pc_icount(q->pc) >= q->stop_at) {
		q->stop_at = 0;
		set_paused(q, true);
	}
	/* Paused: hold the guest here (a migration goes on meanwhile), but
	 * wake for a signal. */
	for (;;) {
		if (q->mig.active)
			step_migration(q);
		if (!q->paused || q->quit)
			break;
		struct pollfd p[2] = { { q->epfd, POLLIN, 0 }, { q->pc->sig_pipe[0], POLLIN, 0 } };
		poll(p, q->pc->sig_pipe[0] >= 0 ? 2 : 1, q->mig.active ? 0 : -1);
		if (p[1].revents)
			return PC_DBG_AGAIN;
		poll_socket(q, 0);
	}
	return q->quit ? PC_DBG_KILL : PC_DBG_RUN;
}

static int ctl_wait_fd(void *opaque)
{
	struct qmp *q = opaque;
	return q->mig.active ? -1 : q->epfd;
}

static void ctl_ended(void *opaque, int status)
{
	struct qmp *q = opaque;
	migrate_cancel(&q->mig, q->pc);
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "guest", json_object_new_boolean(!q->quit));
	json_object_object_add(d, "reason", json_object_new_string(q->quit ? "host-qmp-quit" : "guest-shutdown"));
	json_object_object_add(d, "status", json_object_new_int(status));
	send_event(q, "SHUTDOWN", d);
}

static void ctl_reset(void *opaque)
{
	struct qmp *q = opaque;
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "guest", json_object_new_boolean(1));
	send_event(q, "RESET", d);
}

/* ---- setup ---- */

struct qmp *qmp_open(const char *spec, char *err, size_t errlen)
{
	const char *path = spec;
	if (!strncmp(path, "unix:", 5))
		path += 5;
	size_t n = strcspn(path, ",");
	struct qmp *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->lfd = q->cfd = q->epfd = -1;
	if (n == 0 || n >= sizeof(q->path)) {
		snprintf(err, errlen, "--qmp '%s': expected unix:PATH[,server=on,wait=off] (a path under 108 bytes)", spec);
		free(q);
		return NULL;
	}
	memcpy(q->path, path, n);
	q->path[n] = 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, q->path, n + 1);
	q->tok = json_tokener_new();
	q->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	unlink(q->path); /* a socket left by a domain that died */
	mode_t old = umask(0077); /* the owner's only */
	int r = q->lfd < 0 || q->epfd < 0 || !q->tok ? -1 : bind(q->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(q->lfd, 4) < 0) {
		snprintf(err, errlen, "--qmp '%s': %s", q->path, strerror(errno));
		qmp_close(q);
		return NULL;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = q->lfd };
	epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->lfd, &ev);
	return q;
}

void qmp_attach(struct qmp *q, struct pc *pc, const struct snap_config *sc, bool paused)
{
	q->paused = paused;
	q->pc = pc;
	q->sc = sc;
	pc->ctl = (struct pc_debugger){ q, ctl_service, ctl_wait_fd, ctl_ended, ctl_reset, NULL };
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	drop_client(q);
	if (q->lfd >= 0) {
		close(q->lfd);
		unlink(q->path);
	}
	if (q->epfd >= 0)
		close(q->epfd);
	if (q->tok)
		json_tokener_free(q->tok);
	free(q);
}
