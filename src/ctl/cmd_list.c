/* ringctl list and top (ctl.h). */
#include "ctl/ctl.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DOMAINS 256

static int64_t get_int(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static double get_double(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : 0;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "?";
}

static struct json_object *stats(const char *name)
{
	struct qmpc *c = qmpc_open(name);
	if (!c)
		return NULL;
	struct json_object *r = qmpc_exec(c, "ringvm-stats", NULL);
	qmpc_close(c);
	return r;
}

int cmd_list(int argc, char **argv)
{
	static char names[MAX_DOMAINS][CTL_NAME_MAX];
	int n = ctl_names(names, MAX_DOMAINS);
	printf("%-20s %7s %-8s %7s %-7s %9s\n", "Name", "ID", "State", "Mem", "Engine", "Time(s)");
	for (int i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], names[i]))
			continue;
		struct json_object *s = stats(names[i]);
		if (!s) {
			printf("%-20s %7ld %-8s\n", names[i], (long)ctl_pid(names[i]), "no-ctl");
			continue;
		}
		printf("%-20s %7ld %-8s %7lld %-7s %9.1f\n", names[i], (long)ctl_pid(names[i]), get_str(s, "status"),
		       (long long)get_int(s, "memory-mb"), get_str(s, "engine"), get_double(s, "cpu-seconds"));
		json_object_put(s);
	}
	return 0;
}

/* Every second: each domain's guest instructions and exits per second
 * since the last sample. "top -n N" stops after N screens (scripts). */
int cmd_top(int argc, char **argv)
{
	static char names[MAX_DOMAINS][CTL_NAME_MAX];
	static int64_t last_icount[MAX_DOMAINS], last_exits[MAX_DOMAINS], last_ns[MAX_DOMAINS];
	static char last_name[MAX_DOMAINS][CTL_NAME_MAX];
	int screens = argc > 2 && !strcmp(argv[1], "-n") ? atoi(argv[2]) : -1;
	bool tty = isatty(1);
	for (int k = 0; screens < 0 || k < screens; k++) {
		int n = ctl_names(names, MAX_DOMAINS);
		if (tty)
			printf("\033[H\033[2J");
		printf("%-20s %7s %-8s %-7s %12s %10s %9s\n", "Name", "ID", "State", "Engine", "Minsn/s", "Exits/s",
		       "Time(s)");
		for (int i = 0; i < n; i++) {
			struct json_object *s = stats(names[i]);
			if (!s)
				continue;
			int64_t ic = get_int(s, "icount"), ex = get_int(s, "exits"), ns = get_int(s, "host-ns");
			double ips = 0, eps = 0;
			if (!strcmp(last_name[i], names[i]) && ns > last_ns[i]) {
				double dt = (double)(ns - last_ns[i]) / 1e9;
				ips = (double)(ic - last_icount[i]) / dt / 1e6;
				eps = (double)(ex - last_exits[i]) / dt;
			}
			snprintf(last_name[i], CTL_NAME_MAX, "%s", names[i]);
			last_icount[i] = ic;
			last_exits[i] = ex;
			last_ns[i] = ns;
			printf("%-20s %7ld %-8s %-7s %12.1f %10.0f %9.1f\n", names[i], (long)ctl_pid(names[i]),
			       get_str(s, "status"), get_str(s, "engine"), ips, eps, get_double(s, "cpu-seconds"));
			json_object_put(s);
		}
		fflush(stdout);
		if (screens < 0 || k + 1 < screens)
			sleep(1);
	}
	return 0;
}
