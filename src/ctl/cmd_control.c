/* ringctl pause, unpause, shutdown, reboot, destroy, save, migrate: one
 * QMP conversation each (ctl.h). */
#include "ctl/ctl.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define END_WAIT_MS 10000

/* Wait up to ms for the domain's process to end: 0 if it did. */
static int wait_end(const char *name, pid_t pid, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		if (!ctl_alive(pid))
			return 0;
		usleep(20000);
	}
	return -1;
}

static int simple(struct qmpc *c, const char *cmd, struct json_object *args)
{
	struct json_object *r = qmpc_exec(c, cmd, args);
	if (!r)
		return 1;
	json_object_put(r);
	return 0;
}

/* quit over QMP; a domain that does not answer is killed. */
static int destroy(const char *name, pid_t pid, struct qmpc *c)
{
	if (c)
		simple(c, "quit", NULL);
	if (wait_end(name, pid, c ? END_WAIT_MS : 0) < 0) {
		kill(pid, SIGKILL);
		wait_end(name, pid, END_WAIT_MS);
	}
	ctl_forget(name);
	return 0;
}

static int migrate(struct qmpc *c, const char *name, pid_t pid, const char *dest)
{
	char uri[300];
	snprintf(uri, sizeof(uri), "tcp:%s", dest);
	struct json_object *a = json_object_new_object();
	json_object_object_add(a, "uri", json_object_new_string(uri));
	if (simple(c, "ringvm-migrate", a))
		return 1;
	struct json_object *d = qmpc_event(c, "MIGRATION", 600000), *v;
	if (!d)
		return ctl_err("migrate %s: no result from the domain", name);
	int rc = 0;
	if (json_object_object_get_ex(d, "status", &v) && !strcmp(json_object_get_string(v), "completed")) {
		struct json_object *t, *dt, *b;
		json_object_object_get_ex(d, "total-time-ms", &t);
		json_object_object_get_ex(d, "downtime-ms", &dt);
		json_object_object_get_ex(d, "bytes", &b);
		printf("migrated %s to %s: total %.1f ms, downtime %.1f ms, %.1f MiB sent\n", name, dest,
		       json_object_get_double(t), json_object_get_double(dt), (double)json_object_get_int64(b) / 1048576.0);
		wait_end(name, pid, END_WAIT_MS);
		ctl_forget(name);
	} else {
		json_object_object_get_ex(d, "error", &v);
		rc = ctl_err("migrate %s: failed, the domain runs on here: %s", name, v ? json_object_get_string(v) : "?");
	}
	json_object_put(d);
	return rc;
}

int cmd_control(const char *verb, int argc, char **argv)
{
	int want = !strcmp(verb, "save") || !strcmp(verb, "migrate") ? 3 : 2;
	bool wait = false, keep = false;
	int k = 1;
	for (; k < argc && argv[k][0] == '-'; k++) {
		if (!strcmp(argv[k], "-w"))
			wait = true; /* shutdown/reboot -w: wait for the domain to end */
		else if (!strcmp(argv[k], "-c"))
			keep = true; /* save -c: the domain keeps running */
		else
			return ctl_err("%s: unknown option '%s'", verb, argv[k]);
	}
	if (argc - k + 1 != want)
		return ctl_err("usage: ringctl %s %s", verb,
			       want == 3 ? (!strcmp(verb, "save") ? "[-c] NAME FILE" : "NAME HOST:PORT") : "NAME");
	const char *name = argv[k];
	pid_t pid = ctl_pid(name);
	if (!pid)
		return ctl_err("no domain %s", name);
	struct qmpc *c = qmpc_open(name);
	if (!strcmp(verb, "destroy")) {
		destroy(name, pid, c);
		qmpc_close(c);
		return 0;
	}
	if (!c)
		return 1;
	int rc;
	if (!strcmp(verb, "pause")) {
		rc = simple(c, "stop", NULL);
	} else if (!strcmp(verb, "unpause")) {
		rc = simple(c, "cont", NULL);
	} else if (!strcmp(verb, "shutdown") || !strcmp(verb, "reboot")) {
		struct json_object *r = qmpc_exec(c, !strcmp(verb, "shutdown") ? "system_powerdown" : "ringvm-reboot", NULL), *m;
		rc = !r;
		if (r && json_object_object_get_ex(r, "method", &m) && !strcmp(json_object_get_string(m), "ctrl-alt-del"))
			fprintf(stderr, "ringctl: %s does not listen to the ACPI power button: sent Ctrl-Alt-Del "
					"(a Linux guest reboots on it; on_reboot = \"destroy\" ends the domain then)\n", name);
		json_object_put(r);
		/* Let go of the socket: others may talk to the domain meanwhile. */
		qmpc_close(c);
		c = NULL;
		if (!rc && wait && wait_end(name, pid, 600000) < 0)
			rc = ctl_err("%s: the domain did not end", name);
	} else if (!strcmp(verb, "save")) {
		char abs[PATH_MAX];
		const char *file = argv[k + 1];
		/* ringvm runs elsewhere: give it an absolute path. */
		if (file[0] != '/' && getcwd(abs, sizeof(abs)))
			snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "/%s", file);
		else
			snprintf(abs, sizeof(abs), "%s", file);
		struct json_object *a = json_object_new_object();
		json_object_object_add(a, "file", json_object_new_string(abs));
		/* Stopped first, as xl save does: the file is the last state. */
		rc = simple(c, "stop", NULL) || simple(c, "ringvm-save", a);
		if (!rc && !keep) {
			rc = destroy(name, pid, c);
			printf("Domain %s saved to %s and destroyed\n", name, file);
		} else {
			simple(c, "cont", NULL);
			if (!rc)
				printf("Domain %s saved to %s\n", name, file);
		}
	} else if (!strcmp(verb, "migrate")) {
		rc = migrate(c, name, pid, argv[k + 1]);
	} else {
		rc = ctl_err("unknown verb %s", verb);
	}
	qmpc_close(c);
	return rc;
}
