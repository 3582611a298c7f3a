/* The seccomp sandbox (machine/sandbox.c, docs/sandbox.md): in a child
 * process that entered it, every call the run loop needs still works,
 * and a forbidden one (opening a file, a socket, a process, a program,
 * executable memory, a terminal injection) stops the process with
 * SANDBOX_EXIT and the call's name on stderr. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "machine/sandbox.h"

static int failures;

enum act {
	A_ALLOWED, A_OPEN, A_SOCKET, A_FORK, A_EXEC, A_MMAP_X, A_MPROTECT_X, A_TIOCSTI, A_KILL_INIT,
	A_KVM_IOCTL,
};

/* What a sandboxed run loop does: none of it may trap. */
static void allowed_calls(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts = (struct timespec){0, 1000};
	nanosleep(&ts, NULL);
	int p[2];
	if (pipe2(p, O_NONBLOCK) == 0) {
		char b = 1;
		if (write(p[1], &b, 1) != 1 || read(p[0], &b, 1) != 1)
			_exit(3);
		close(p[0]);
		close(p[1]);
	}
	void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(4);
	memset(m, 1, 1 << 20);
	madvise(m, 1 << 20, MADV_DONTNEED);
	munmap(m, 1 << 20);
	free(malloc(10 << 20));
	struct termios t;
	tcgetattr(0, &t); /* may fail (not a terminal), must not trap */
	fcntl(1, F_GETFL);
	fprintf(stderr, "allowed calls done\n");
}

static void act(enum act a)
{
	switch (a) {
	case A_ALLOWED: allowed_calls(); break;
	case A_OPEN: open("/etc/passwd", O_RDONLY); break;
	case A_SOCKET: socket(AF_INET, SOCK_STREAM, 0); break;
	case A_FORK: fork(); break;
	case A_EXEC: execl("/bin/true", "true", (char *)NULL); break;
	case A_MMAP_X: mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); break;
	case A_MPROTECT_X: {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		mprotect(m, 4096, PROT_READ | PROT_EXEC);
		break;
	}
	case A_TIOCSTI: {
		char c = 'x';
		ioctl(0, TIOCSTI, &c);
		break;
	}
	case A_KILL_INIT: kill(1, 0); break;
	case A_KVM_IOCTL: ioctl(-1, KVM_GET_API_VERSION, 0); break;
	}
}

/* Runs a in a sandboxed child; returns its exit status (or 1000 + signal)
 * and its stderr in out. */
static int in_child(const struct sandbox_config *cfg, enum act a, char *out, size_t outlen)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		char err[256];
		if (sandbox_enter(cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			_exit(2);
		}
		act(a);
		_exit(0);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < outlen && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static void expect_stopped(const struct sandbox_config *cfg, enum act a, const char *name)
{
	char out[4096];
	int st = in_child(cfg, a, out, sizeof(out));
	char want[64];
	snprintf(want, sizeof(want), ": %s (", name);
	if (st != SANDBOX_EXIT || !strstr(out, want)) {
		fprintf(stderr, "engine %s: %s: status %d (want %d), stderr: %s\n", cfg->engine, name, st,
			SANDBOX_EXIT, out);
		failures++;
	}
}

static void expect_allowed(const struct sandbox_config *cfg, enum act a, const char *what)
{
	char out[4096];
	int st = in_child(cfg, a, out, sizeof(out));
	if (st != 0 || strstr(out, "sandbox:")) {
		fprintf(stderr, "engine %s: %s: status %d, stderr: %s\n", cfg->engine, what, st, out);
		failures++;
	}
}

int main(void)
{
	static const char *const engines[] = {"interp", "bt", "kvm"};
	for (int e = 0; e < 3; e++) {
		struct sandbox_config cfg = {.engine = engines[e], .ram_fd = -1};
		expect_allowed(&cfg, A_ALLOWED, "the run loop's calls");
		expect_stopped(&cfg, A_OPEN, "openat");
		expect_stopped(&cfg, A_SOCKET, "socket");
		expect_stopped(&cfg, A_FORK, "clone");
		expect_stopped(&cfg, A_EXEC, "execve");
		expect_stopped(&cfg, A_MMAP_X, "mmap");
		expect_stopped(&cfg, A_MPROTECT_X, "mprotect");
		expect_stopped(&cfg, A_TIOCSTI, "ioctl");
		expect_stopped(&cfg, A_KILL_INIT, "kill");
		if (e == 2)
			expect_allowed(&cfg, A_KVM_IOCTL, "a KVM ioctl under kvm");
		else
			expect_stopped(&cfg, A_KVM_IOCTL, "ioctl");
	}
	/* The gdb stub serves its connection, but still opens nothing. */
	struct sandbox_config gdb = {.engine = "bt", .gdb = true, .ram_fd = -1};
	expect_stopped(&gdb, A_SOCKET, "socket");
	expect_stopped(&gdb, A_OPEN, "openat");
	/* A NIC's backend may open IP sockets, nothing else. */
	struct sandbox_config net = {.engine = "bt", .net = true, .ram_fd = -1};
	expect_allowed(&net, A_SOCKET, "an IP socket with a NIC");
	expect_stopped(&net, A_OPEN, "openat");
	expect_stopped(&net, A_FORK, "clone");
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("sandbox: forbidden calls stopped, the run loop's allowed, per engine\n");
	return 0;
}
