/* ringctl create, restore and receive: start a detached ringvm (ctl.h). */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPAWN_WAIT_MS 20000
#define MAX_ARGS 40

static void show_log(const char *name)
{
	char path[PATH_MAX], line[512];
	ctl_path(path, sizeof(path), name, "log");
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

static int open_out(const char *name, const char *ext)
{
	char path[PATH_MAX];
	ctl_path(path, sizeof(path), name, ext);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

int ctl_spawn(const char *name, char *const args[], int nargs)
{
	char pidp[PATH_MAX], qmp[PATH_MAX], in[PATH_MAX], qspec[PATH_MAX + 32];
	if (ctl_pid(name))
		return ctl_err("domain %s already exists", name) ? -1 : -1;
	ctl_forget(name);
	ctl_path(pidp, sizeof(pidp), name, "pid");
	ctl_path(qmp, sizeof(qmp), name, "qmp");
	ctl_path(in, sizeof(in), name, "in");
	if (mkfifo(in, 0600) < 0)
		return ctl_err("%s: %s", in, strerror(errno)) ? -1 : -1;
	/* Read-write: the FIFO never reads EOF, whoever attaches or leaves. */
	int in_fd = open(in, O_RDWR | O_CLOEXEC);
	int con_fd = open_out(name, "console"), log_fd = open_out(name, "log");
	if (in_fd < 0 || con_fd < 0 || log_fd < 0)
		return ctl_err("domain %s: cannot make its console files: %s", name, strerror(errno)) ? -1 : -1;
	snprintf(qspec, sizeof(qspec), "unix:%s,server=on,wait=off", qmp);
	const char *argv[MAX_ARGS + 8];
	int n = 0;
	argv[n++] = ctl_ringvm();
	argv[n++] = "--name";
	argv[n++] = name;
	argv[n++] = "--qmp";
	argv[n++] = qspec;
	for (int i = 0; i < nargs && i < MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return ctl_err("fork: %s", strerror(errno)) ? -1 : -1;
	if (pid == 0) {
		/* The domain: its own session (no terminal, no signals from
		 * ours), console on the FIFO and the console file. */
		setsid();
		dup2(in_fd, 0);
		dup2(con_fd, 1);
		dup2(log_fd, 2);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "ringctl: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in_fd);
	close(con_fd);
	close(log_fd);
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", pidp);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%ld\n", (long)pid) < 0 || fclose(f) != 0 || rename(tmp, pidp) < 0)
		return ctl_err("%s: %s", pidp, strerror(errno)) ? -1 : -1;
	/* Ready when its control socket is. */
	for (int waited = 0; waited < SPAWN_WAIT_MS; waited += 20) {
		struct stat st;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			ctl_forget(name);
			show_log(name);
			return ctl_err("domain %s ended at once (status %d)", name,
				       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) ? -1 : -1;
		}
		if (stat(qmp, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		usleep(20000);
	}
	return ctl_err("domain %s: no control socket after %d s", name, SPAWN_WAIT_MS / 1000) ? -1 : -1;
}

int cmd_create(int argc, char **argv)
{
	const char *path = NULL;
	int attach = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c"))
			attach = 1;
		else if (!path)
			path = argv[i];
		else
			return ctl_err("create: unexpected argument '%s'", argv[i]);
	}
	if (!path)
		return ctl_err("usage: ringctl create CONFIG [-c]");
	struct xlcfg c;
	if (xlcfg_load(path, &c) < 0)
		return 1;
	/* ringvm has one switch for both: a reset or a crash ends it. */
	bool reboot_ends = !strcmp(c.on_reboot, "destroy"), crash_ends = !strcmp(c.on_crash, "destroy");
	if (c.on_reboot[0] && c.on_crash[0] && reboot_ends != crash_ends)
		return ctl_err("%s: on_reboot and on_crash must agree in ringvm (both destroy or both restart)", path);
	if (c.on_poweroff[0] && strcmp(c.on_poweroff, "destroy"))
		return ctl_err("%s: on_poweroff = \"%s\": ringvm's domains end at power-off (destroy)", path, c.on_poweroff);
	char mem[16], cpus[16];
	snprintf(mem, sizeof(mem), "%u", c.memory);
	snprintf(cpus, sizeof(cpus), "%u", c.vcpus);
	char *args[MAX_ARGS];
	int n = 0;
	args[n++] = "-m";
	args[n++] = mem;
	args[n++] = "-smp";
	args[n++] = cpus;
	const struct {
		const char *opt, *val;
	} pass[] = { { "--kernel", c.kernel }, { "--initrd", c.ramdisk }, { "--append", c.extra },
		     { "--bios", c.bios }, { "--accel", c.engine } };
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		if (pass[i].val[0]) {
			args[n++] = (char *)pass[i].opt;
			args[n++] = (char *)pass[i].val;
		}
	}
	if (c.deterministic)
		args[n++] = "--deterministic";
	if (reboot_ends || crash_ends)
		args[n++] = "--no-reboot";
	if (ctl_spawn(c.name, args, n) < 0)
		return 1;
	printf("Domain %s created (id %ld)\n", c.name, (long)ctl_pid(c.name));
	fflush(stdout);
	return attach ? ctl_console(c.name) : 0;
}

/* The name a snapshot was saved under: from its config section, read
 * by ringvm itself would need a process; the file layout is simple
 * enough to read here (docs/domains.md). */
static int snapshot_name(const char *file, char *name, size_t cap)
{
	FILE *f = fopen(file, "rb");
	if (!f)
		return ctl_err("%s: %s", file, strerror(errno)) ? -1 : -1;
	uint8_t h[16 + 24 + 8 + 3 + 4];
	uint32_t len = 0;
	int ok = fread(h, 1, sizeof(h), f) == sizeof(h) && !memcmp(h, "RINGVMSN", 8) && !strcmp((char *)h + 16, "config");
	if (ok) {
		memcpy(&len, h + 51, 4);
		ok = len > 0 && len < cap;
	}
	if (ok)
		ok = fread(name, 1, len, f) == len;
	fclose(f);
	if (!ok)
		return ctl_err("%s: not a ringvm snapshot (ringvm --restore says more)", file) ? -1 : -1;
	name[len] = 0;
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		return ctl_err("usage: ringctl restore FILE [NAME]");
	char name[CTL_NAME_MAX], abs[PATH_MAX];
	if (argc == 3)
		snprintf(name, sizeof(name), "%s", argv[2]);
	else if (snapshot_name(argv[1], name, sizeof(name)) < 0)
		return 1;
	if (!ctl_valid_name(name))
		return ctl_err("bad domain name '%s'", name);
	if (!realpath(argv[1], abs))
		return ctl_err("%s: %s", argv[1], strerror(errno));
	char *args[] = { "--restore", abs };
	if (ctl_spawn(name, args, 2) < 0)
		return 1;
	printf("Domain %s restored (id %ld)\n", name, (long)ctl_pid(name));
	return 0;
}

int cmd_receive(int argc, char **argv)
{
	if (argc != 3 || !ctl_valid_name(argv[1]))
		return ctl_err("usage: ringctl receive NAME [HOST:]PORT");
	char uri[300];
	snprintf(uri, sizeof(uri), "tcp:%s%s", strchr(argv[2], ':') ? "" : "127.0.0.1:", argv[2]);
	char *args[] = { "--incoming", uri };
	if (ctl_spawn(argv[1], args, 2) < 0)
		return 1;
	printf("Domain %s waits for a migration on %s\n", argv[1], uri + 4);
	return 0;
}
