/* ringctl console and dmesg (ctl.h). Output is the domain's console
 * file, followed as it grows; input goes to its FIFO. On a terminal,
 * Ctrl-] detaches; otherwise stdin is copied in until it ends, and the
 * output until the domain ends, so a script can wait on a guest. */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define DETACH 0x1d /* Ctrl-] */

static int copy_new(int fd)
{
	char buf[65536];
	ssize_t n;
	int got = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		got = 1;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, (size_t)(n - off));
			if (w <= 0)
				return -1;
			off += w;
		}
	}
	return got;
}

int ctl_console(const char *name)
{
	char cpath[PATH_MAX], ipath[PATH_MAX];
	ctl_path(cpath, sizeof(cpath), name, "console");
	ctl_path(ipath, sizeof(ipath), name, "in");
	int out = open(cpath, O_RDONLY | O_CLOEXEC);
	if (out < 0)
		return ctl_err("domain %s: no console (%s)", name, strerror(errno));
	pid_t pid = ctl_pid(name);
	int in = pid ? open(ipath, O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1;
	bool tty = isatty(0);
	struct termios saved, raw;
	if (tty && tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		fprintf(stderr, "[ringctl: console of %s; Ctrl-] detaches]\r\n", name);
	}
	bool stdin_open = in >= 0;
	int rc = 0;
	for (;;) {
		if (copy_new(out) < 0)
			break;
		if (!pid || !ctl_pid(name)) {
			copy_new(out); /* what it wrote last */
			break;
		}
		struct pollfd p = { 0, POLLIN, 0 };
		if (poll(&p, stdin_open ? 1 : 0, 50) > 0) {
			char buf[256];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				stdin_open = false;
				continue;
			}
			if (tty && memchr(buf, DETACH, (size_t)n))
				break;
			if (write(in, buf, (size_t)n) < 0 && errno != EAGAIN)
				stdin_open = false;
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	if (in >= 0)
		close(in);
	close(out);
	return rc;
}

int cmd_console(int argc, char **argv)
{
	if (argc != 2)
		return ctl_err("usage: ringctl console NAME");
	char cpath[PATH_MAX];
	ctl_path(cpath, sizeof(cpath), argv[1], "console");
	if (!ctl_pid(argv[1]) && access(cpath, R_OK) < 0)
		return ctl_err("no domain %s", argv[1]);
	return ctl_console(argv[1]);
}

int cmd_dmesg(int argc, char **argv)
{
	if (argc != 2)
		return ctl_err("usage: ringctl dmesg NAME");
	char path[PATH_MAX];
	ctl_path(path, sizeof(path), argv[1], "log");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctl_err("no domain %s (%s)", argv[1], strerror(errno));
	copy_new(fd);
	close(fd);
	return 0;
}
