/* The board's virtio devices (docs/virtio.md): what the command line
 * asked for (struct vio_config), built on the PCI host bridge with INTA#
 * on ISA IRQs 10 and 11, DMA straight into guest RAM (outside the legacy
 * hole at 0xA0000-0xFFFFF), and the user-mode network's sockets polled
 * from the run loop. */
#ifndef RINGVM_PC_VIRTIO_H
#define RINGVM_PC_VIRTIO_H

#include <poll.h>
#include <stdbool.h>

#include "dev/virtio_blk.h"

#define VIO_MAX_DRIVES 4
#define VIO_MAX_NICS 2
#define VIO_MAX_FWD 8
#define PC_VIRTIO_MAX_FDS 128 /* host sockets watched at once */

struct vio_drive {
	const char *file;
	bool readonly;
	enum vblk_cache cache;
};

struct vio_nic {
	char *fwd[VIO_MAX_FWD]; /* hostfwd rules */
	int nfwd;
};

struct vio_config {
	struct vio_drive drive[VIO_MAX_DRIVES];
	int ndrives;
	struct vio_nic nic[VIO_MAX_NICS];
	int nnics;
	bool rng;
	bool console;
	const char *console_path; /* NULL: stdout */
};

struct pc;

/* Build the devices pc->cfg.virtio asks for: 0, or -1 with a message. */
int pc_virtio_init(struct pc *pc, char *err, size_t errlen);
void pc_virtio_reset(struct pc *pc);
/* The virtio devices in the device table: reset only. Their queues live
 * in guest RAM, but their backends (images, the user network) do not, so
 * a save is refused while any is configured. */
extern const struct dev_ops pc_virtio_dev_ops;
void pc_virtio_free(struct pc *pc);
/* The host sockets to watch while the guest idles (see net_slirp.h). */
int pc_virtio_fill(struct pc *pc, struct pollfd *pfd, int max, int *timeout_ms);
void pc_virtio_dispatch(struct pc *pc, struct pollfd *pfd, int n);
/* Look at the sockets without sleeping (between runs of the CPU). */
void pc_virtio_poll(struct pc *pc);

#endif
