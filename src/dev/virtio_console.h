/* virtio-console (OASIS virtio v1.0, 5.3) with one port and no
 * multiport or size features: a second console whose output (the
 * transmit queue) goes to a host fd. Nothing is sent to the guest: its
 * receive queue stays empty. */
#ifndef RINGVM_VIRTIO_CONSOLE_H
#define RINGVM_VIRTIO_CONSOLE_H

#include "dev/virtio_pci.h"

struct vcon {
	struct virtio_pci vio;
	int out_fd;
};

/* out_fd stays the caller's (it closes it). */
void vcon_init(struct vcon *c, int out_fd, const struct vq_mem *mem, FILE *log);

#endif
