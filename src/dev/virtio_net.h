/* virtio-net (OASIS virtio v1.0, 5.1): a MAC address and a receive and a
 * transmit queue, no offloads (no checksum, GSO or mergeable buffers), so
 * every frame is one whole Ethernet frame behind a 12-byte header. The
 * backend (the user-mode network, machine/net_slirp.c) takes transmitted
 * frames and hands received ones to vnet_receive(); frames that arrive
 * while the driver has no receive buffer wait in a small queue. */
#ifndef RINGVM_VIRTIO_NET_H
#define RINGVM_VIRTIO_NET_H

#include <stddef.h>

#include "dev/virtio_pci.h"

#define VNET_RX_BACKLOG 128
#define VNET_MAX_FRAME 65536u

struct vnet_backend {
	void *opaque;
	void (*send)(void *opaque, const uint8_t *frame, size_t len);
};

struct vnet {
	struct virtio_pci vio;
	uint8_t mac[6];
	struct vnet_backend be;
	uint8_t *backlog[VNET_RX_BACKLOG];
	size_t backlog_len[VNET_RX_BACKLOG];
	int bl_head, bl_n;
	uint8_t frame[VNET_MAX_FRAME];  /* transmit staging */
};

void vnet_init(struct vnet *n, const uint8_t mac[6], const struct vnet_backend *be, const struct vq_mem *mem,
	       FILE *log);
void vnet_free(struct vnet *n);
/* A frame for the guest. */
void vnet_receive(struct vnet *n, const uint8_t *frame, size_t len);

#endif
