/* The seccomp allow-list (sandbox.h, docs/sandbox.md lists each call and
 * why it is there). */
#include "machine/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "machine/console.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#ifdef SANDBOX_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the trap: process-wide, as a signal handler must be ---- */

#define NAMES 512
static const char *syscall_names[NAMES]; /* resolved before the filter goes on */
static volatile sig_atomic_t sanitizer_reporting;

static void put(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));
	(void)r;
}

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	if (sanitizer_reporting) {
		/* A sanitizer is printing its report and tries to start its
		 * symbolizer: fail the call, so the report still comes out. */
		((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RAX] = -EPERM;
		return;
	}
	char num[16];
	int n = si->si_syscall, i = (int)sizeof(num) - 1;
	num[i] = 0;
	unsigned u = n < 0 ? 0u : (unsigned)n;
	do
		num[--i] = (char)('0' + u % 10);
	while ((u /= 10) && i > 0);
	put("ringvm: sandbox: the guest's monitor made a forbidden system call: ");
	put(n >= 0 && n < NAMES && syscall_names[n] ? syscall_names[n] : "?");
	put(" (");
	put(num + i);
	put("); stopping (run with --no-sandbox to allow it)\n");
	console_restore_tty();
	_exit(SANDBOX_EXIT);
}

#ifdef SANDBOX_ASAN
/* AddressSanitizer calls this before printing an error report. */
void __asan_on_error(void);
void __asan_on_error(void) { sanitizer_reporting = 1; }
#endif

static void resolve_names(void)
{
	for (int n = 0; n < NAMES; n++)
		if (!syscall_names[n])
			syscall_names[n] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, n);
}

/* ---- the allow-list ---- */

#define ALLOW(ctx, name, ...) seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), __VA_ARGS__)

/* libseccomp's SCMP_An() leave a field to the compiler, which clang
 * warns about: spell the comparisons out. */
static struct scmp_arg_cmp arg_eq(unsigned n, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){n, SCMP_CMP_EQ, v, 0};
}
static struct scmp_arg_cmp arg_masked(unsigned n, scmp_datum_t mask, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){n, SCMP_CMP_MASKED_EQ, mask, v};
}

/* Calls every configuration makes while the guest runs. */
static int allow_common(scmp_filter_ctx ctx)
{
	static const int plain[] = {
		/* console, debug console, log, self-pipe, timers */
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
		SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
		SCMP_SYS(pselect6), SCMP_SYS(pipe2),
		/* time */
		SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
		SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
		/* signals (pc_run installs its handlers; raise() for fatal ones) */
		SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall), SCMP_SYS(getpid), SCMP_SYS(gettid),
		/* memory: malloc, the translation cache settling (MADV_DONTNEED) */
		SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
		SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(getrandom),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
	/* No new executable memory: the translator maps its cache once,
	 * before the sandbox, writable and executable views apart. */
	rc |= ALLOW(ctx, mmap, 1, arg_masked(2, PROT_EXEC, 0));
	rc |= ALLOW(ctx, mprotect, 1, arg_masked(2, PROT_EXEC, 0));
	/* fstat() is newfstatat(fd, "", AT_EMPTY_PATH): on an open fd only. */
	rc |= ALLOW(ctx, newfstatat, 1, arg_masked(3, AT_EMPTY_PATH, AT_EMPTY_PATH));
	/* The console: terminal modes, non-blocking input. */
	static const unsigned long tty[] = { TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, FIONREAD, FIONBIO };
	for (size_t i = 0; i < sizeof(tty) / sizeof(tty[0]); i++)
		rc |= ALLOW(ctx, ioctl, 1, arg_eq(1, tty[i]));
	static const int fcmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
	for (size_t i = 0; i < sizeof(fcmds) / sizeof(fcmds[0]); i++)
		rc |= ALLOW(ctx, fcntl, 1, arg_eq(1, (scmp_datum_t)fcmds[i]));
	/* Signals to this process only (raise(), abort()). */
	rc |= ALLOW(ctx, tgkill, 1, arg_eq(0, (scmp_datum_t)getpid()));
	return rc;
}

static int allow_kvm(scmp_filter_ctx ctx)
{
	/* Every KVM ioctl (type 0xAE) on the VM and vCPU fds it opened
	 * before; its deadline timer. */
	int rc = ALLOW(ctx, ioctl, 1, arg_masked(1, 0xff00, KVMIO << 8));
	rc |= ALLOW(ctx, timer_settime, 0);
	rc |= ALLOW(ctx, timer_gettime, 0);
	rc |= ALLOW(ctx, timer_delete, 0); /* the engine's teardown at exit */
	return rc;
}

static int allow_gdb(scmp_filter_ctx ctx)
{
	/* Connections on the socket listening since before the sandbox. */
	int rc = ALLOW(ctx, accept4, 0);
	rc |= ALLOW(ctx, accept, 0);
	rc |= ALLOW(ctx, recvfrom, 0);
	rc |= ALLOW(ctx, sendto, 0);
	rc |= ALLOW(ctx, shutdown, 0);
	rc |= ALLOW(ctx, setsockopt, 0);
	return rc;
}

static int allow_net(scmp_filter_ctx ctx)
{
	/* A user-mode network stack opens host sockets for the guest's
	 * connections: IPv4 and IPv6 only (no netlink, no packet sockets). */
	int rc = ALLOW(ctx, socket, 1, arg_eq(0, AF_INET));
	rc |= ALLOW(ctx, socket, 1, arg_eq(0, AF_INET6));
	static const int calls[] = {
		SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept4), SCMP_SYS(accept),
		SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
		SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
		SCMP_SYS(shutdown),
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	return rc;
}

/* Disk images are opened before the filter; their requests need
 * positioned I/O, flushes (the guest's FLUSH reaches the disk) and hole
 * punching (virtio-blk's discard). */
static int allow_disks(scmp_filter_ctx ctx)
{
	static const int calls[] = {
		SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
		SCMP_SYS(fdatasync), SCMP_SYS(fsync), SCMP_SYS(fallocate),
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	return rc;
}

/* The control plane names its files and peers while the guest runs: QMP's
 * save writes a new snapshot file (then renames it into place), migrate
 * connects to a TCP peer, --screendump writes its file. Asking for one of
 * them (--qmp, --screendump) widens the filter by exactly these calls;
 * without them the filter stays closed (docs/sandbox.md). */
static int allow_control(scmp_filter_ctx ctx)
{
	static const int calls[] = {
		SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
		SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
		SCMP_SYS(connect), SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
		SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
		SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown), SCMP_SYS(epoll_wait),
		SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_create1), SCMP_SYS(getrusage),
	};
	int rc = ALLOW(ctx, socket, 1, arg_eq(0, AF_UNIX));
	rc |= ALLOW(ctx, socket, 1, arg_eq(0, AF_INET));
	rc |= ALLOW(ctx, socket, 1, arg_eq(0, AF_INET6));
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	return rc;
}

int sandbox_enter(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	resolve_names();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(err, errlen, "sandbox: sigaction(SIGSYS): %s", strerror(errno));
		return -1;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "sandbox: seccomp_init failed");
		return -1;
	}
	int rc = allow_common(ctx);
	if (cfg->ram_fd >= 0) /* a reboot empties guest RAM by punching its memfd */
		rc |= ALLOW(ctx, fallocate, 1, arg_eq(0, (scmp_datum_t)cfg->ram_fd));
	if (cfg->engine && !strcmp(cfg->engine, "kvm"))
		rc |= allow_kvm(ctx);
	if (cfg->gdb)
		rc |= allow_gdb(ctx);
	if (cfg->net)
		rc |= allow_net(ctx);
	if (cfg->disks)
		rc |= allow_disks(ctx);
	if (cfg->control)
		rc |= allow_control(ctx);
	/* Threads (none today) get the filter too. */
	rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc) {
		seccomp_release(ctx);
		snprintf(err, errlen, "sandbox: cannot build the seccomp filter");
		return -1;
	}
#ifdef SANDBOX_ASAN
	/* LeakSanitizer's exit check stops the world with clone() and
	 * ptrace(), which the filter forbids: check now instead. */
	__lsan_do_leak_check();
#endif
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "sandbox: cannot load the seccomp filter: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
