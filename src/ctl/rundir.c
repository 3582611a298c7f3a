/* The runtime directory and the domains' files in it (ctl.h). */
#include "ctl/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ctl_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ringctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return 1;
}

const char *ctl_rundir(void)
{
	static char dir[PATH_MAX];
	if (dir[0])
		return dir;
	const char *env = getenv("RINGVM_RUNDIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	if (env && env[0])
		snprintf(dir, sizeof(dir), "%s", env);
	else if (xdg && xdg[0])
		snprintf(dir, sizeof(dir), "%s/ringvm", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/ringvm-%u", (unsigned)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ctl_err("runtime directory %s: %s", dir, strerror(errno));
		exit(1);
	}
	struct stat st;
	/* Sockets and consoles are the owner's only: a directory someone
	 * else owns or can enter is refused. */
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 0077)) {
		ctl_err("runtime directory %s must be a directory of yours with mode 0700", dir);
		exit(1);
	}
	return dir;
}

void ctl_path(char *buf, size_t cap, const char *name, const char *ext)
{
	int n = snprintf(buf, cap, "%s/%s.%s", ctl_rundir(), name, ext);
	if (n < 0 || (size_t)n >= cap)
		buf[0] = 0; /* never a truncated name that might be another file */
}

int ctl_valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= CTL_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* A process that ended but whose parent (init, once ringctl is gone) has
 * not reaped it yet still answers kill(pid, 0): its state says Z. */
bool ctl_alive(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *end = strrchr(buf, ')');
	return !(end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X'));
}

pid_t ctl_pid(const char *name)
{
	char path[PATH_MAX];
	ctl_path(path, sizeof(path), name, "pid");
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long pid = 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || !ctl_alive((pid_t)pid))
		return 0;
	/* A pid that was reused by something else is not the domain. */
	char exe[64], comm[64] = "";
	snprintf(exe, sizeof(exe), "/proc/%ld/comm", pid);
	FILE *c = fopen(exe, "r");
	if (c) {
		if (!fgets(comm, sizeof(comm), c))
			comm[0] = 0;
		fclose(c);
		if (strncmp(comm, "ringvm", 6))
			return 0;
	}
	return (pid_t)pid;
}

void ctl_forget(const char *name)
{
	static const char *const ext[] = { "pid", "qmp", "in" };
	char path[PATH_MAX];
	for (int i = 0; i < 3; i++) {
		ctl_path(path, sizeof(path), name, ext[i]);
		unlink(path);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int ctl_names(char names[][CTL_NAME_MAX], int max)
{
	DIR *d = opendir(ctl_rundir());
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		if (len < 5 || len - 4 >= CTL_NAME_MAX || strcmp(e->d_name + len - 4, ".pid"))
			continue;
		memcpy(names[n], e->d_name, len - 4);
		names[n][len - 4] = 0;
		if (ctl_pid(names[n]))
			n++;
		else
			ctl_forget(names[n]); /* it ended: only its console and log stay */
	}
	closedir(d);
	qsort(names, (size_t)n, CTL_NAME_MAX, by_name);
	return n;
}

const char *ctl_ringvm(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("RINGVM");
	if (env && env[0])
		return env;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 8);
	if (n <= 0)
		return "ringvm";
	path[n] = 0;
	char *slash = strrchr(path, '/');
	snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "ringvm");
	return path;
}
