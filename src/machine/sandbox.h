/* The VMM process's seccomp sandbox (docs/sandbox.md).
 *
 * Once the guest is loaded and about to run, ringvm keeps only the system
 * calls its run loop needs: an allow-list filter built with libseccomp,
 * per engine and per configured backend. Any other call (open, socket,
 * fork, execve, ...) is trapped: the process prints the call's name and
 * exits with status SANDBOX_EXIT. The filter cannot be lifted. */
#ifndef RINGVM_SANDBOX_H
#define RINGVM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#define SANDBOX_EXIT 159 /* 128 + SIGSYS, as for a signal (docs/board.md) */

struct sandbox_config {
	const char *engine; /* "interp", "bt" or "kvm" */
	bool gdb;           /* the gdb stub accepts and serves connections */
	bool net;           /* a NIC with a host network backend (slirp sockets) */
	bool disks;         /* disk images (IDE, virtio-blk): positioned I/O, flush, discard */
	bool control;       /* a control plane that names files and peers at run
			     * time: QMP (save, migrate), --screendump */
	int ram_fd;         /* guest RAM's memfd (a reboot punches it), or -1 */
};

/* Install the filter for the whole process. 0, or -1 with a message. */
int sandbox_enter(const struct sandbox_config *cfg, char *err, size_t errlen);

#endif
